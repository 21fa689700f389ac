"""gnt-cluster: create, inspect, change, verify and destroy the cluster."""

from __future__ import annotations

import time

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Any, Callable, Optional

from ganeti import _autoconf
from ganeti import constants
from ganeti import errors
from ganeti.cli import *  # pylint: disable=wildcard-import,unused-wildcard-import
from ganeti.cli import EXIT_FAILURE, EXIT_SUCCESS
from ganeti.client import cluster_epo
from ganeti.client import cluster_ssh

_NPLUSONE_MEM = "nplusone_mem"  # the check --no-nplus1-mem skips
_ISPEC_KINDS = ("min", "max", "std")
_MINMAX_KEYS = ("min", "max")
# --specs-* options: (option dest, ipolicy parameter)
_ISPECS_OPTIONS = [
  ("ispecs_cpu_count", "cpu-count"),
  ("ispecs_disk_count", "disk-count"),
  ("ispecs_disk_size", "disk-size"),
  ("ispecs_mem_size", "memory-size"),
  ("ispecs_nic_count", "nic-count"),
]
_SIZE_ISPECS = frozenset(["disk-size", "memory-size"])


def _Opcodes() -> Any:
  from ganeti import opcodes  # pylint: disable=import-outside-toplevel
  return opcodes


def _ParamDefs() -> Any:
  from ganeti import paramdefs  # pylint: disable=import-outside-toplevel
  return paramdefs


# Parsing of parameter options shared by init and modify


def _SplitList(value: Optional[str]) -> Optional[list[str]]:
  """A comma list option; None when not given, [] when given empty."""
  if value is None:
    return None
  return [item for item in value.split(",") if item]


def ParseUidPool(value: Optional[str]) -> Optional[list[tuple[int, int]]]:
  """Parses "100-200,300" into [(100, 200), (300, 300)]."""
  if value is None:
    return None
  ranges = []
  for part in value.split(","):
    part = part.strip()
    if not part:
      continue
    lower, _, upper = part.partition("-")
    bounds = []
    for boundary, text in (("lower", lower), ("upper", upper or lower)):
      try:
        bounds.append(int(text))
      except ValueError as err:
        raise errors.OpPrereqError("Invalid user-id value for %s boundary of user-id range: %s"
                                   % (boundary, err), errors.ECODE_INVAL) from None
    if bounds[0] > bounds[1]:
      raise errors.OpPrereqError("Lower user-id range boundary value (%s) is larger than"
                                 " upper boundary value (%s)" % tuple(bounds),
                                 errors.ECODE_INVAL)
    ranges.append((bounds[0], bounds[1]))
  return ranges


def _CheckSpec(spec: dict, name: str, complete: bool) -> dict:
  paramdefs = _ParamDefs()
  spec = dict(spec)
  for key in _SIZE_ISPECS.intersection(spec):
    if isinstance(spec[key], str):
      spec[key] = paramdefs.ParseUnit(spec[key])
  paramdefs.ForceDictType(spec, paramdefs.ISPECS_PARAMETER_TYPES)
  missing = sorted(set(paramdefs.ISPECS_PARAMETER_TYPES) - set(spec))
  if complete and missing:
    raise errors.OpPrereqError("Missing parameters in ipolicy spec %s: %s"
                               % (name, ", ".join(missing)), errors.ECODE_INVAL)
  return spec


def CreateIPolicyFromOpts(opts: Any) -> dict:
  """The (partial) instance policy the ipolicy options describe."""
  ipolicy: dict[str, Any] = {}
  old_specs: dict[str, dict] = {}
  for dest, param in _ISPECS_OPTIONS:
    for kind, value in (getattr(opts, dest, None) or {}).items():
      if kind not in _ISPEC_KINDS:
        raise errors.OpPrereqError("Invalid key in instance specifications: %s" % kind,
                                   errors.ECODE_INVAL)
      old_specs.setdefault(kind, {})[param] = value
  if old_specs:
    if "min" in old_specs or "max" in old_specs:
      ipolicy["minmax"] = [{kind: _CheckSpec(old_specs.get(kind, {}), kind, False)
                            for kind in _MINMAX_KEYS}]
    if "std" in old_specs:
      ipolicy["std"] = _CheckSpec(old_specs["std"], "std", False)
  bounds = getattr(opts, "ipolicy_bounds_specs", None)
  if bounds is not None:
    minmax = []
    for entry in bounds:
      for key in entry:
        if key not in _MINMAX_KEYS:
          raise errors.OpPrereqError("Invalid key in bounds instance specifications: %s" % key,
                                     errors.ECODE_INVAL)
      minmax.append({key: _CheckSpec(entry.get(key, {}), key, True) for key in _MINMAX_KEYS})
    ipolicy["minmax"] = minmax
  if getattr(opts, "ipolicy_std_specs", None) is not None:
    ipolicy["std"] = _CheckSpec(opts.ipolicy_std_specs, "std", False)
  if getattr(opts, "ipolicy_disk_templates", None) is not None:
    ipolicy["disk-templates"] = list(opts.ipolicy_disk_templates)
  if getattr(opts, "ipolicy_vcpu_ratio", None) is not None:
    ipolicy["vcpu-ratio"] = opts.ipolicy_vcpu_ratio
  if getattr(opts, "ipolicy_spindle_ratio", None) is not None:
    ipolicy["spindle-ratio"] = opts.ipolicy_spindle_ratio
  return ipolicy


def _TypedFamilies(families: dict, types_name: str) -> dict:
  """Per-hypervisor or per-template parameters, converted to their types."""
  paramdefs = _ParamDefs()
  families = dict(families)
  for params in families.values():
    if params:
      paramdefs.ForceDictType(params, getattr(paramdefs, types_name))
  return families


def _HvParams(opts: Any) -> dict:
  return _TypedFamilies(opts.hvparams, "HVS_PARAMETER_TYPES")


def _DiskParams(opts: Any) -> dict:
  return _TypedFamilies(opts.diskparams, "DISK_DT_TYPES")


def _CheckedParams(params: Optional[dict], types_name: str) -> Optional[dict]:
  if params:
    paramdefs = _ParamDefs()
    paramdefs.ForceDictType(params, getattr(paramdefs, types_name))
  return params


def _DiskState(opts: Any) -> dict:
  """"storage/id:a=b" options as {storage: {id: {a: b}}}."""
  state: dict[str, dict] = {}
  for ident, params in opts.disk_state:
    storage, _, name = ident.partition("/")
    state.setdefault(storage, {})[name] = params
  return state


def _DataCollectors(opts: Any) -> Optional[tuple[dict, dict]]:
  """(enabled flags, intervals in microseconds) of the data collector options.

  None (after a message) when an interval is not a number.
  """
  enabled = {name: ParseBool(value) if isinstance(value, str) else value
             for name, value in opts.enabled_data_collectors.items()}
  unknown = sorted(set(enabled) - set(_ParamDefs().DATA_COLLECTOR_NAMES))
  if unknown:
    ToStderr("Data collector names not recognized: %s", ", ".join(unknown))
  intervals = {}
  try:
    for name, seconds in opts.data_collector_interval.items():
      intervals[name] = int(float(seconds) * 1000000)
  except (TypeError, ValueError):
    ToStderr("Can't transform all values to integers: %s", opts.data_collector_interval)
    return None
  if any(value <= 0 for value in intervals.values()):
    raise errors.OpPrereqError("Can't set non-positive collection intervals",
                               errors.ECODE_INVAL)
  return enabled, intervals


# Commands


def InitCluster(opts: Any, args: list[str]) -> int:
  """Creates a cluster with this node as its master (runs locally)."""
  from ganeti import bootstrap  # pylint: disable=import-outside-toplevel
  enabled_hvs = _SplitList(opts.enabled_hypervisors) or [constants.HT_XEN_PVM]
  hvparams = _HvParams(opts)
  for hv in hvparams:
    if hv not in enabled_hvs:
      raise errors.OpPrereqError("Hypervisor %s is not enabled but has parameters" % hv,
                                 errors.ECODE_INVAL)
  if opts.primary_ip_version not in (4, 6):
    raise errors.OpPrereqError("Invalid primary ip version %s" % opts.primary_ip_version,
                               errors.ECODE_INVAL)
  settings = {
    "secondary_ip": opts.secondary_ip,
    "master_netmask": opts.master_netmask,
    "enabled_hypervisors": enabled_hvs,
    "enabled_disk_templates": _SplitList(opts.enabled_disk_templates),
    "hvparams": hvparams,
    "beparams": _CheckedParams(opts.beparams, "BES_PARAMETER_COMPAT"),
    "nicparams": _CheckedParams(opts.nicparams, "NICS_PARAMETER_TYPES"),
    "ndparams": _CheckedParams(opts.ndparams, "NDS_PARAMETER_TYPES"),
    "diskparams": _DiskParams(opts),
    "ipolicy": CreateIPolicyFromOpts(opts),
    "hv_state": dict(opts.hv_state),
    "disk_state": _DiskState(opts),
    "mac_prefix": opts.mac_prefix,
    "volume_group_name": opts.vg_name,
    "drbd_usermode_helper": opts.drbd_helper,
    "file_storage_dir": opts.file_storage_dir,
    "shared_file_storage_dir": opts.shared_file_storage_dir,
    "gluster_storage_dir": opts.gluster_storage_dir,
    "candidate_pool_size": opts.candidate_pool_size,
    "modify_etc_hosts": opts.modify_etc_hosts,
    "modify_ssh_setup": opts.modify_ssh_setup,
    "maintain_node_health": opts.maintain_node_health,
    "uid_pool": ParseUidPool(opts.uid_pool),
    "default_iallocator": opts.default_iallocator,
    "default_iallocator_params": opts.default_iallocator_params,
    "primary_ip_family": (constants.IP6_FAMILY if opts.primary_ip_version == 6
                          else constants.IP4_FAMILY),
    "prealloc_wipe_disks": opts.prealloc_wipe_disks,
    "use_external_mip_script": opts.use_external_mip_script,
    "install_image": opts.install_image,
    "zeroing_image": opts.zeroing_image,
    "compression_tools": opts.compression_tools,
    "enabled_user_shutdown": opts.enabled_user_shutdown,
    "ssh_key_type": opts.ssh_key_type,
    "ssh_key_bits": opts.ssh_key_bits,
  }
  bootstrap.InitCluster(cluster_name=args[0],
                        master_netdev=opts.master_netdev or constants.DEFAULT_BRIDGE,
                        **{name: value for name, value in settings.items()
                           if value is not None})
  return EXIT_SUCCESS


def DestroyCluster(opts: Any, args: list[str]) -> int:
  if not opts.yes_do_it:
    ToStderr("Destroying a cluster is irreversible. If you really want destroy this cluster,"
             " supply the --yes-do-it option.")
    return EXIT_FAILURE
  from ganeti import bootstrap  # pylint: disable=import-outside-toplevel
  master_uuid = SubmitOpCode(MakeOpCode(_Opcodes().OpClusterDestroy), opts=opts)
  bootstrap.FinalizeClusterDestroy(master_uuid)
  return EXIT_SUCCESS


def RenameCluster(opts: Any, args: list[str]) -> int:
  new_name = args[0]
  old_name = GetClient().QueryConfigValues(["cluster_name"])[0]
  if not opts.force:
    question = ("This will rename the cluster from '%s' to '%s'. If you are connected over"
                " the network to the cluster name, the operation is very dangerous as the IP"
                " address will be removed from the node and the change may not go through."
                " Continue?" % (old_name, new_name))
    if not AskUser(question):
      return EXIT_FAILURE
  result = SubmitOrSend(MakeOpCode(_Opcodes().OpClusterRename, name=new_name), opts)
  if result:
    ToStdout("Cluster renamed from '%s' to '%s'", old_name, new_name)
  return EXIT_SUCCESS


def ActivateMasterIp(opts: Any, args: list[str]) -> int:
  SubmitOpCode(MakeOpCode(_Opcodes().OpClusterActivateMasterIp))
  return EXIT_SUCCESS


def DeactivateMasterIp(opts: Any, args: list[str]) -> int:
  if not opts.confirm:
    question = ("This will disable the master IP. All the open connections to the master IP"
                " will be closed. To reach the master you will need to use its node IP."
                " Continue?")
    if not AskUser(question):
      return EXIT_FAILURE
  SubmitOpCode(MakeOpCode(_Opcodes().OpClusterDeactivateMasterIp))
  return EXIT_SUCCESS


def RedistributeConfig(opts: Any, args: list[str]) -> int:
  op = MakeOpCode(_Opcodes().OpClusterRedistConf)
  if opts.yes_do_it:
    # as in Ganeti, this path ignores the generic options (--submit, --dry-run, ...)
    cl = GetClient()
    PollJob(cl.SubmitJobToDrainedQueue([op]), cl=cl)
  else:
    SubmitOrSend(op, opts)
  return EXIT_SUCCESS


def ShowClusterVersion(opts: Any, args: list[str]) -> int:
  info = GetClient().QueryClusterInfo()
  for title, key in (("Software version", "software_version"),
                     ("Internode protocol", "protocol_version"),
                     ("Configuration format", "config_version"),
                     ("OS api version", "os_api_version"),
                     ("Export interface", "export_version"),
                     ("VCS version", "vcs_version")):
    ToStdout("%s: %s", title, info[key])
  return EXIT_SUCCESS


def ShowClusterMaster(opts: Any, args: list[str]) -> int:
  from ganeti import ssconf  # pylint: disable=import-outside-toplevel
  ToStdout("%s", ssconf.SimpleStore().GetMasterNode())
  return EXIT_SUCCESS


def MasterPing(opts: Any, args: list[str]) -> int:
  """Exit code 0 when the master daemon answers, 1 otherwise (silently)."""
  try:
    GetClient().QueryClusterInfo()
  except Exception:  # pylint: disable=broad-except
    return EXIT_FAILURE
  return EXIT_SUCCESS


def MasterFailover(opts: Any, args: list[str]) -> int:
  """Makes this node (a master candidate) the master; runs without a master daemon."""
  from ganeti import masterfailover  # pylint: disable=import-outside-toplevel
  if opts.no_voting and not opts.yes_do_it:
    question = ("This will perform the failover even if most other nodes are down, or if"
                " this node is outdated. This is dangerous as it can lead to a non-consistent"
                " cluster. Check the gnt-cluster(8) man page before proceeding. Continue?")
    if not AskUser(question):
      return EXIT_FAILURE
  ignore_offline = bool(opts.ignore_offline_nodes)
  if not opts.no_voting:
    healthy, unhealthy = masterfailover.MajorityHealthy(ignore_offline)
    if not healthy:
      ToStderr("Master-failover with voting is only possible if the majority of nodes are"
               " still healthy; use the --no-voting option after ensuring by other means"
               " that you won't end up in a dual-master scenario. Unhealthy nodes: %s",
               unhealthy)
      return EXIT_FAILURE
  rcode, warnings = masterfailover.MasterFailover(no_voting=opts.no_voting,
                                                  ignore_offline_nodes=ignore_offline)
  for warning in warnings:
    ToStderr(warning)
  return rcode


def _IPolicyInfo(ipolicy: dict) -> list:
  bounds = [[("%s/%d" % (key, index), minmax[key]) for key in _MINMAX_KEYS]
            for index, minmax in enumerate(ipolicy.get("minmax", []))]
  return [
    ("bounds specs", bounds),
    ("std", ipolicy.get("std", {})),
    ("allowed disk templates", ", ".join(ipolicy.get("disk-templates", []))),
    ("vcpu-ratio", ipolicy.get("vcpu-ratio")),
    ("spindle-ratio", ipolicy.get("spindle-ratio")),
  ]


def _Joined(key: str) -> Callable[[dict], str]:
  return lambda info: ", ".join(info[key])


def _UidPool(info: dict) -> str:
  from ganeti import ssconf  # pylint: disable=import-outside-toplevel
  return ssconf.FormatUidPool(info["uid_pool"])


# "Cluster parameters" of gnt-cluster info, in order: (label, key of the
# QueryClusterInfo answer or a function of the answer)
_CLUSTER_PARAMETER_ROWS = (
  ("candidate pool size", "candidate_pool_size"),
  ("maximal number of jobs running simultaneously", "max_running_jobs"),
  ("maximal number of jobs simultaneously tracked by the scheduler", "max_tracked_jobs"),
  ("mac prefix", "mac_prefix"),
  ("master netdev", "master_netdev"),
  ("master netmask", "master_netmask"),
  ("use external master IP address setup script", "use_external_mip_script"),
  ("lvm volume group", "volume_group_name"),
  ("lvm reserved volumes", lambda info: ", ".join(info["reserved_lvs"]) or "(none)"),
  ("drbd usermode helper", "drbd_usermode_helper"),
  ("file storage path", "file_storage_dir"),
  ("shared file storage path", "shared_file_storage_dir"),
  ("gluster storage path", "gluster_storage_dir"),
  ("maintenance of node health", "maintain_node_health"),
  ("uid pool", _UidPool),
  ("default instance allocator", "default_iallocator"),
  ("default instance allocator parameters", "default_iallocator_params"),
  ("primary ip version", "primary_ip_version"),
  ("preallocation wipe disks", "prealloc_wipe_disks"),
  # the configured paths, as on a real node (not below a virtual node's root)
  ("OS search path", lambda info: ", ".join(_autoconf.OS_SEARCH_PATH)),
  ("ExtStorage Providers search path", lambda info: ", ".join(_autoconf.ES_SEARCH_PATH)),
  ("enabled disk templates", _Joined("enabled_disk_templates")),
  ("install image", "install_image"),
  ("instance communication network", "instance_communication_network"),
  ("zeroing image", "zeroing_image"),
  ("compression tools", "compression_tools"),
  ("enabled user shutdown", "enabled_user_shutdown"),
  ("modify ssh setup", "modify_ssh_setup"),
  ("ssh_key_type", "ssh_key_type"),
  ("ssh_key_bits", "ssh_key_bits"),
)


def _ClusterParameters(info: dict) -> list:
  return [(label, info[source] if isinstance(source, str) else source(info))
          for label, source in _CLUSTER_PARAMETER_ROWS]


def ShowClusterConfig(opts: Any, args: list[str]) -> int:
  """Prints the cluster configuration (--roman is accepted; numbers stay decimal)."""
  info = GetClient().QueryClusterInfo()
  collectors = {name: [("active", active),
                       ("interval", "%.3fs" % (info["data_collector_interval"][name] / 1e6))]
                for name, active in info["enabled_data_collectors"].items()}
  PrintGenericInfo([
    ("Cluster name", info["name"]),
    ("Cluster UUID", info["uuid"]),
    ("Creation time", FormatTime(info["ctime"])),
    ("Modification time", FormatTime(info["mtime"])),
    ("Master node", info["master"]),
    ("Architecture (this node)", "%s (%s)" % tuple(info["architecture"])),
    ("Tags", ", ".join(sorted(info["tags"])) or "(none)"),
    ("Default hypervisor", info["default_hypervisor"]),
    ("Enabled hypervisors", ", ".join(info["enabled_hypervisors"])),
    ("Hypervisor parameters", [(hv, info["hvparams"][hv])
                               for hv in info["enabled_hypervisors"]]),
    ("OS-specific hypervisor parameters", info["os_hvp"]),
    ("OS parameters", info["osparams"]),
    ("Hidden OSes", ", ".join(info["hidden_os"])),
    ("Blacklisted OSes", ", ".join(info["blacklisted_os"])),
    ("Cluster parameters", _ClusterParameters(info)),
    ("Default node parameters", info["ndparams"]),
    ("Default instance parameters", info["beparams"]),
    ("Default nic parameters", info["nicparams"]),
    ("Default disk parameters", info["diskparams"]),
    ("Instance policy - limits for instances", _IPolicyInfo(info["ipolicy"])),
    ("Data collectors", collectors),
  ])
  return EXIT_SUCCESS


def _FormatSpec(spec: dict) -> str:
  return ",".join("%s=%s" % (key, spec[key]) for key in sorted(spec))


def ShowCreateCommand(opts: Any, args: list[str]) -> int:
  """Prints the gnt-cluster init command line recreating the instance policy."""
  info = GetClient().QueryClusterInfo()
  ipolicy = info["ipolicy"]
  parts = ["gnt-cluster init"]
  if "std" in ipolicy:
    parts.append("--ipolicy-std-specs %s" % _FormatSpec(ipolicy["std"]))
  if ipolicy.get("minmax"):
    parts.append("--ipolicy-bounds-specs %s" % "//".join(
      "/".join("%s:%s" % (key, _FormatSpec(minmax[key])) for key in _MINMAX_KEYS)
      for minmax in ipolicy["minmax"]))
  parts.append(info["name"])
  ToStdout(" ".join(parts))
  return EXIT_SUCCESS


def SearchTags(opts: Any, args: list[str]) -> int:
  result = SubmitOpCode(MakeOpCode(_Opcodes().OpTagsSearch, pattern=args[0]), opts=opts)
  if not result:
    return EXIT_FAILURE
  for path, tag in sorted(result):
    ToStdout("%s %s", path, tag)
  return EXIT_SUCCESS


def _QueueInfo(cl: Any) -> None:
  drained = cl.QueryConfigValues(["drain_flag"])[0]
  ToStdout("The drain flag is %s", "set" if drained else "unset")


def QueueOps(opts: Any, args: list[str]) -> int:
  command = args[0]
  cl = GetClient()
  if command in ("drain", "undrain"):
    cl.SetDrainFlag(command == "drain")
  elif command == "info":
    _QueueInfo(cl)
  else:
    raise errors.OpPrereqError("Command '%s' is not valid." % command, errors.ECODE_INVAL)
  return EXIT_SUCCESS


def _ShowWatcherPause(until: Optional[float]) -> None:
  if until is None or until < time.time():
    ToStdout("The watcher is not paused.")
  else:
    ToStdout("The watcher is paused until %s.", time.ctime(until))


def _WatcherContinue(cl: Any, args: list[str]) -> None:
  cl.SetWatcherPause(None)
  ToStdout("The watcher is no longer paused.")


def _WatcherPause(cl: Any, args: list[str]) -> None:
  if len(args) < 2:
    raise errors.OpPrereqError("Missing pause duration", errors.ECODE_INVAL)
  _ShowWatcherPause(cl.SetWatcherPause(time.time() + ParseTimespec(args[1])))


_WATCHER_COMMANDS = {
  "continue": _WatcherContinue,
  "pause": _WatcherPause,
  "info": lambda cl, args: _ShowWatcherPause(cl.QueryConfigValues(["watcher_pause"])[0]),
}


def WatcherOps(opts: Any, args: list[str]) -> int:
  handler = _WATCHER_COMMANDS.get(args[0])
  if handler is None:
    raise errors.OpPrereqError("Command '%s' is not valid." % args[0], errors.ECODE_INVAL)
  handler(GetClient(), args)
  return EXIT_SUCCESS


def _RunSubmittedJobs(cl: Any, jobs: list) -> list:
  executor = JobExecutor(cl=cl)
  for status, job_id in jobs:
    executor.AddJobId(None, status, job_id)
  return executor.GetResults()


def VerifyCluster(opts: Any, args: list[str]) -> int:
  skip_checks = [_NPLUSONE_MEM] if opts.skip_nplusone_mem else []
  op = MakeOpCode(_Opcodes().OpClusterVerify, verbose=bool(opts.verbose),
                  error_codes=opts.error_codes,
                  debug_simulate_errors=opts.simulate_errors, skip_checks=skip_checks,
                  ignore_errors=opts.ignore_errors, group_name=opts.nodegroup,
                  verify_clutter=opts.verify_clutter)
  cl = GetClient()
  result = SubmitOpCode(op, cl=cl, opts=opts)
  results = _RunSubmittedJobs(cl, result["jobs"])
  bad_jobs = sum(1 for success, _ in results if not success)
  bad_results = sum(1 for success, value in results if success and not (value and value[0]))
  if bad_jobs:
    ToStdout("%s job(s) failed while verifying the cluster.", bad_jobs)
  return EXIT_FAILURE if bad_jobs or bad_results else EXIT_SUCCESS


def _ActivateDisks(cl: Any, opts: Any, instances: list[str]) -> int:
  retcode = EXIT_SUCCESS
  for name in instances:
    ToStdout("Activating disks for instance '%s'", name)
    try:
      SubmitOpCode(MakeOpCode(_Opcodes().OpInstanceActivateDisks, instance_name=name),
                   cl=cl, opts=opts)
    except errors.GenericError as err:
      code, message = FormatError(err)
      retcode |= code
      ToStderr("Error activating disks for instance %s: %s", name, message)
  return retcode


def _ReportMissingVolumes(missing: dict, bad_nodes: dict) -> None:
  for name, volumes in missing.items():
    if all(node in bad_nodes for node, _ in volumes):
      ToStdout("Instance %s cannot be verified as it lives on broken nodes", name)
      continue
    ToStdout("Instance %s has missing logical volumes:", name)
    for node, volume in sorted(volumes):
      if node in bad_nodes:
        ToStdout("\tbroken node %s /dev/%s", node, volume)
      else:
        ToStdout("\t%s /dev/%s", node, volume)
  ToStdout("You need to replace or recreate disks for all the above instances if this message"
           " persists after fixing broken nodes.")


def VerifyDisks(opts: Any, args: list[str]) -> int:
  """Runs the per-group disk checks, activates disks and reports missing volumes."""
  cl = GetClient()
  op = MakeOpCode(_Opcodes().OpClusterVerifyDisks, group_name=opts.nodegroup)
  result = SubmitOpCode(op, cl=cl, opts=opts)
  retcode = EXIT_SUCCESS
  for success, job_result in _RunSubmittedJobs(cl, result["jobs"]):
    if not success:
      # reported only: as in Ganeti, a failed check does not change the exit code
      ToStdout("Job failed: %s", job_result)
      continue
    bad_nodes, instances, missing = job_result[0]
    for node, message in bad_nodes.items():
      ToStdout("Error gathering data on node %s: %s", node, message)
      retcode = EXIT_FAILURE
    if bad_nodes:
      ToStdout("You need to fix these nodes first before fixing instances")
    retcode |= _ActivateDisks(cl, opts, instances)
    if missing:
      _ReportMissingVolumes(missing, bad_nodes)
      retcode = EXIT_FAILURE
  return retcode


def RepairDiskSizes(opts: Any, args: list[str]) -> int:
  SubmitOpCode(MakeOpCode(_Opcodes().OpClusterRepairDiskSizes, instances=args), opts=opts)
  return EXIT_SUCCESS


_MODIFY_PARAMS = [
  "vg_name", "enabled_hypervisors", "candidate_pool_size", "max_running_jobs",
  "max_tracked_jobs", "uid_pool", "add_uids", "remove_uids", "maintain_node_health",
  "prealloc_wipe_disks", "ndparams", "drbd_helper", "default_iallocator",
  "default_iallocator_params", "mac_prefix", "master_netdev", "master_netmask",
  "reserved_lvs", "use_external_mip_script", "enabled_disk_templates", "modify_etc_hosts",
  "file_storage_dir", "shared_file_storage_dir", "install_image",
  "instance_communication_network", "zeroing_image", "compression_tools",
  "enabled_user_shutdown",
]


# gnt-cluster modify options passed to OpClusterSetParams as they are
_MODIFY_PLAIN_OPTIONS = (
  "force",
  "vg_name",
  "candidate_pool_size",
  "max_running_jobs",
  "max_tracked_jobs",
  "maintain_node_health",
  "prealloc_wipe_disks",
  "drbd_helper",
  "default_iallocator",
  "default_iallocator_params",
  "mac_prefix",
  "master_netdev",
  "master_netmask",
  "use_external_mip_script",
  "modify_etc_hosts",
  "file_storage_dir",
  "shared_file_storage_dir",
  "install_image",
  "instance_communication_network",
  "zeroing_image",
  "compression_tools",
  "enabled_user_shutdown",
)


def SetClusterParams(opts: Any, args: list[str]) -> int:
  given = [name for name in _MODIFY_PARAMS if getattr(opts, name) is not None]
  families = [opts.hvparams, opts.beparams, opts.nicparams, opts.diskparams, opts.hv_state,
              opts.disk_state, opts.enabled_data_collectors, opts.data_collector_interval]
  ipolicy = CreateIPolicyFromOpts(opts)
  if not (given or any(families) or ipolicy):
    ToStderr("Please give at least one of the parameters.")
    return EXIT_FAILURE
  collectors = _DataCollectors(opts)
  if collectors is None:
    return EXIT_FAILURE
  enabled_data_collectors, data_collector_interval = collectors
  params = {name: getattr(opts, name) for name in _MODIFY_PLAIN_OPTIONS}
  params.update(
    hv_state=dict(opts.hv_state),
    disk_state=_DiskState(opts),
    enabled_hypervisors=_SplitList(opts.enabled_hypervisors),
    enabled_disk_templates=_SplitList(opts.enabled_disk_templates),
    reserved_lvs=_SplitList(opts.reserved_lvs),
    hvparams=_HvParams(opts),
    beparams=_CheckedParams(opts.beparams, "BES_PARAMETER_COMPAT"),
    nicparams=_CheckedParams(opts.nicparams, "NICS_PARAMETER_TYPES"),
    ndparams=_CheckedParams(opts.ndparams, "NDS_PARAMETER_TYPES"),
    diskparams=_DiskParams(opts),
    uid_pool=ParseUidPool(opts.uid_pool),
    add_uids=ParseUidPool(opts.add_uids),
    remove_uids=ParseUidPool(opts.remove_uids),
    ipolicy=ipolicy,
    enabled_data_collectors=enabled_data_collectors,
    data_collector_interval=data_collector_interval)
  op = MakeOpCode(_Opcodes().OpClusterSetParams, **params)
  SubmitOrSend(op, opts)
  return EXIT_SUCCESS


# Options only gnt-cluster uses

VERIFY_OPTS = [
  VERBOSE_OPT,
  CliOption("--debug-simulate-errors", dest="simulate_errors", action="store_true",
            default=False, help="Make the checks report errors (for testing)"),
  CliOption("--error-codes", dest="error_codes", action="store_true", default=False,
            help="Print errors in a machine-readable format"),
  CliOption("--no-nplus1-mem", dest="skip_nplusone_mem", action="store_true", default=False,
            help="Skip the N+1 memory redundancy check"),
  DRY_RUN_OPT, PRIORITY_OPT, NODEGROUP_OPT,
  CliOption("-I", "--ignore-errors", dest="ignore_errors", action="append", default=[],
            help="Error code to treat as a warning (may be repeated)"),
  CliOption("--verify-ssh-clutter", dest="verify_clutter", action="store_true", default=False,
            help="Also check the SSH authorized_keys files for leftovers"),
]
_MASTER_FAILOVER_OPTS = [
  CliOption("--no-voting", dest="no_voting", action="store_true", default=False,
            help="Do not ask the other nodes to agree on the master (dangerous)"),
  CliOption("--yes-do-it", dest="yes_do_it", action="store_true", default=False,
            help="Skip the confirmation question of --no-voting"),
  # a value option, as in Ganeti 3.0 (any value given turns it on)
  CliOption("--ignore-offline-nodes", dest="ignore_offline_nodes", default=False,
            help="Leave offline nodes out of the master vote"),
]
_TAG_SUBMIT_OPTS = [TAG_SRC_OPT, PRIORITY_OPT] + SUBMIT_OPTS
_INIT_OPTS = [
  BACKEND_OPT, CP_SIZE_OPT, ENABLED_HV_OPT, GLOBAL_FILEDIR_OPT, HVLIST_OPT, MAC_PREFIX_OPT,
  MASTER_NETDEV_OPT, MASTER_NETMASK_OPT, NIC_PARAMS_OPT, NOETCHOSTS_OPT,
  NOSSH_KEYCHECK_INIT_OPT, SECONDARY_IP_OPT, VG_NAME_OPT, MAINTAIN_NODE_HEALTH_OPT,
  UIDPOOL_OPT, DRBD_HELPER_OPT, DEFAULT_IALLOCATOR_OPT, DEFAULT_IALLOCATOR_PARAMS_OPT,
  PRIMARY_IP_VERSION_OPT, PREALLOC_WIPE_DISKS_OPT, NODE_PARAMS_OPT, GLOBAL_SHARED_FILEDIR_OPT,
  USE_EXTERNAL_MIP_SCRIPT, DISK_PARAMS_OPT, HV_STATE_OPT, DISK_STATE_OPT,
  ENABLED_DISK_TEMPLATES_OPT, IPOLICY_STD_SPECS_OPT, GLOBAL_GLUSTER_FILEDIR_OPT,
  INSTALL_IMAGE_OPT, ZEROING_IMAGE_OPT, COMPRESSION_TOOLS_OPT, ENABLED_USER_SHUTDOWN_OPT,
  SSH_KEY_BITS_OPT, SSH_KEY_TYPE_OPT, IPOLICY_BOUNDS_SPECS_OPT, IPOLICY_DISK_TEMPLATES,
  IPOLICY_VCPU_RATIO, IPOLICY_SPINDLE_RATIO, SPECS_CPU_COUNT_OPT, SPECS_DISK_COUNT_OPT,
  SPECS_DISK_SIZE_OPT, SPECS_MEM_SIZE_OPT, SPECS_NIC_COUNT_OPT,
]
_MODIFY_OPTS = [
  FORCE_OPT, BACKEND_OPT, CP_SIZE_OPT, MAX_RUNNING_JOBS_OPT, MAX_TRACKED_JOBS_OPT,
  INSTALL_IMAGE_OPT, INSTANCE_COMMUNICATION_NETWORK_OPT, ENABLED_HV_OPT, HVLIST_OPT,
  MAC_PREFIX_OPT, MASTER_NETDEV_OPT, MASTER_NETMASK_OPT, NIC_PARAMS_OPT, VG_NAME_OPT,
  MAINTAIN_NODE_HEALTH_OPT, UIDPOOL_OPT, ADD_UIDS_OPT, REMOVE_UIDS_OPT, DRBD_HELPER_OPT,
  DEFAULT_IALLOCATOR_OPT, DEFAULT_IALLOCATOR_PARAMS_OPT, RESERVED_LVS_OPT, DRY_RUN_OPT,
  PRIORITY_OPT, PREALLOC_WIPE_DISKS_OPT, NODE_PARAMS_OPT, USE_EXTERNAL_MIP_SCRIPT,
  DISK_PARAMS_OPT, HV_STATE_OPT, DISK_STATE_OPT] + SUBMIT_OPTS + [
  ENABLED_DISK_TEMPLATES_OPT, IPOLICY_STD_SPECS_OPT, MODIFY_ETCHOSTS_OPT,
  ENABLED_USER_SHUTDOWN_OPT, IPOLICY_BOUNDS_SPECS_OPT, IPOLICY_DISK_TEMPLATES,
  IPOLICY_VCPU_RATIO, IPOLICY_SPINDLE_RATIO, GLOBAL_FILEDIR_OPT, GLOBAL_SHARED_FILEDIR_OPT,
  ZEROING_IMAGE_OPT, COMPRESSION_TOOLS_OPT, ENABLED_DATA_COLLECTORS_OPT,
  DATA_COLLECTOR_INTERVAL_OPT,
]

commands = {
  "init": (
    InitCluster, [ArgHost(min=1, max=1)], _INIT_OPTS, "[<opts>...] <cluster-name>",
    "Creates a new cluster with this node as its master"),
  "destroy": (
    DestroyCluster, ARGS_NONE, [YesDoItOption("Really destroy the cluster")], "",
    "Destroys the cluster"),
  "rename": (
    RenameCluster, [ArgHost(min=1, max=1)], [FORCE_OPT, DRY_RUN_OPT], "<new-name>",
    "Gives the cluster a new name"),
  "redist-conf": (
    RedistributeConfig, ARGS_NONE,
    SUBMIT_OPTS + [DRY_RUN_OPT, PRIORITY_OPT,
                   YesDoItOption("Distribute the configuration even when the queue is"
                                 " drained", also_ya_rly=False)],
    "", "Pushes the configuration and ssconf files to all nodes again"),
  "verify": (
    VerifyCluster, ARGS_NONE, VERIFY_OPTS, "", "Checks the cluster for problems"),
  "verify-disks": (
    VerifyDisks, ARGS_NONE, [PRIORITY_OPT, NODEGROUP_OPT], "",
    "Checks the disks of the instances and activates those that need it"),
  "repair-disk-sizes": (
    RepairDiskSizes, ARGS_MANY_INSTANCES, [DRY_RUN_OPT, PRIORITY_OPT], "[<instance-name>...]",
    "Corrects the recorded disk sizes that differ from the real ones"),
  "epo": (
    cluster_epo.Epo, [ArgUnknown()], cluster_epo.EPO_OPTS, "[<opts>...] [args]",
    "Performs an emergency power-off of nodes (or recovers from one with --on)"),
  "master-failover": (
    MasterFailover, ARGS_NONE, _MASTER_FAILOVER_OPTS, "", "Makes this node the master"),
  "command": (
    cluster_ssh.RunClusterCommand, [ArgCommand(min=1)], cluster_ssh.COMMAND_OPTS, "[-n <node-name>...] <command>",
    "Runs a shell command on all nodes (or the given ones)"),
  "copyfile": (
    cluster_ssh.ClusterCopyFile, [ArgFile(min=1, max=1)], cluster_ssh.COPYFILE_OPTS, "[-n <node-name>...] <filename>",
    "Copies a file to all nodes (or the given ones)"),
  "master-ping": (
    MasterPing, ARGS_NONE, [], "", "Checks whether the master daemon answers"),
  "version": (
    ShowClusterVersion, ARGS_NONE, [], "", "Shows the versions of the cluster software"),
  "getmaster": (
    ShowClusterMaster, ARGS_NONE, [], "", "Shows the name of the master node"),
  "info": (
    ShowClusterConfig, ARGS_NONE, [ROMAN_OPT], "[--roman]", "Shows the cluster configuration"),
  "list-tags": (
    ListTags, ARGS_NONE, [], "", "Lists the cluster's tags"),
  "add-tags": (
    AddTags, [ArgUnknown()], _TAG_SUBMIT_OPTS, "<tag>...", "Adds tags to the cluster"),
  "remove-tags": (
    RemoveTags, [ArgUnknown()], _TAG_SUBMIT_OPTS, "<tag>...", "Removes tags from the cluster"),
  "search-tags": (
    SearchTags, [ArgUnknown(min=1, max=1)], [PRIORITY_OPT], "",
    "Finds the tags of all objects that match a regular expression"),
  "queue": (
    QueueOps, [ArgChoice(min=1, max=1, choices=["drain", "undrain", "info"])], [],
    "drain|undrain|info", "Drains, undrains or shows the job queue"),
  "watcher": (
    WatcherOps, [ArgChoice(min=1, max=1, choices=["pause", "continue", "info"]),
                 ArgSuggest(min=0, max=1, choices=["30m", "1h", "4h"])], [],
    "{pause <timespec>|continue|info}", "Pauses, resumes or shows the watcher"),
  "modify": (
    SetClusterParams, ARGS_NONE, _MODIFY_OPTS, "[<opts>...]",
    "Changes the cluster parameters"),
  "renew-crypto": (
    cluster_ssh.RenewCrypto, ARGS_NONE, cluster_ssh.RENEW_CRYPTO_OPTS, "[<opts>...]",
    "Replaces the cluster's certificates, keys and secrets"),
  "activate-master-ip": (
    ActivateMasterIp, ARGS_NONE, [], "", "Brings up the master IP address"),
  "deactivate-master-ip": (
    DeactivateMasterIp, ARGS_NONE, [CONFIRM_OPT], "", "Takes down the master IP address"),
  "show-ispecs-cmd": (
    ShowCreateCommand, ARGS_NONE, [], "",
    "Prints the init command line that recreates the instance policy"),
}


def Main() -> int:
  return GenericMain(commands, override={"tag_type": constants.TAG_CLUSTER})
