"""gnt-node: add, remove, inspect and change the nodes of the cluster."""

from __future__ import annotations

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Any

from ganeti import constants
from ganeti import errors
from ganeti import paramdefs
from ganeti.cli import *  # pylint: disable=wildcard-import,unused-wildcard-import
from ganeti.cli import EXIT_FAILURE, EXIT_SUCCESS
from ganeti.opcodes_defs import EVAC_MODES

_EVAC_PRI, _EVAC_SEC, _EVAC_ALL = EVAC_MODES

_LIST_DEF_FIELDS = ["name", "dtotal", "dfree", "mtotal", "mnode", "mfree", "pinst_cnt",
                    "sinst_cnt"]
_LIST_FORMAT = dict.fromkeys(["pinst_list", "sinst_list", "tags"], (",".join, False))

_VOLUME_HEADERS = {"node": "Node", "phys": "PhysDev", "vg": "VG", "name": "Name",
                   "size": "Size", "instance": "Instance"}
_LIST_VOL_DEF_FIELDS = list(_VOLUME_HEADERS)
_STORAGE_HEADERS = {"node": "Node", "type": "Type", "name": "Name", "size": "Size",
                    "used": "Used", "free": "Free", "allocatable": "Allocatable"}
_LIST_STOR_DEF_FIELDS = list(_STORAGE_HEADERS)
# list-drbd: confd's rows, always these columns
_DRBD_HEADERS = {"node": "Node", "minor": "Minor", "instance": "Instance", "disk": "Disk",
                 "role": "Role", "peer": "PeerNode"}
_STORAGE_SIZE_FIELDS = ["size", "used", "free"]
# Storage types the user may name (those whose units nodes can list)
_USER_STORAGE_TYPES = ["file", "lvm-pv", "lvm-vg", "sharedfile", "gluster"]

# Fields "gnt-node info" shows, in the order _NodeInfo takes them
_INFO_FIELDS = ["name", "pip", "sip", "pinst_list", "sinst_list", "master_candidate",
                "drained", "offline", "master_capable", "vm_capable", "powered", "ndparams",
                "custom_ndparams"]

# What adding a node does to SSH, told before it happens (as gnt-node add warns)
_ADD_SSH_CHANGES = (
  "the new node (%s) gets a fresh SSH key pair for root",
  "the new node authorizes the root keys of every master candidate",
  "if the new node becomes a master candidate, every other node"
  " authorizes its new key",
)
_NO_NODE_SETUP_NOTE = ("--no-node-setup has no effect any more: the cluster setting"
                       " 'modify_ssh_setup' decides whether adding a node changes its SSH"
                       " setup.")


def _Warning(*lines: str) -> str:
  return "\n".join(["-- WARNING -- ", *lines]) + "\n"


def _YesNo(*names: str, dest: str, help: str) -> CliOption:  # pylint: disable=redefined-builtin
  return CliOption(*names, dest=dest, type="bool", default=None, metavar="yes|no", help=help)


READD_OPT = CliOption("--readd", dest="readd", action="store_true", default=False,
                      help="Re-add a node that is already in the configuration")
NOSSH_KEYCHECK_OPT = CliOption("--no-ssh-key-check", dest="ssh_key_check", action="store_false",
                               default=True, help="Do not check the node's SSH host key")
FORCE_JOIN_OPT = CliOption("--force-join", dest="force_join", action="store_true",
                           default=False, help="Join the node even if it seems to belong"
                                               " to another cluster")
NONODE_SETUP_OPT = CliOption("--no-node-setup", dest="node_setup", action="store_false",
                             default=True, help="Obsolete: the cluster's modify_ssh_setup"
                                                " decides about the SSH setup")
NODE_VERBOSE_OPT = CliOption("-v", "--verbose", dest="verbose", action="store_true",
                             default=False, help="Report more of what the join does")
MC_OPT = _YesNo("-C", "--master-candidate", dest="master_candidate",
                help="Make the node a master candidate (yes) or demote it (no)")
DRAINED_OPT = _YesNo("-D", "--drained", dest="drained",
                     help="Drain the node (no new instances) or undrain it")
OFFLINE_OPT = _YesNo("-O", "--offline", dest="offline",
                     help="Mark the node offline (never contacted) or online")
MC_CAPABLE_OPT = _YesNo("--master-capable", dest="master_capable",
                        help="Whether the node may become a master candidate")
VM_CAPABLE_OPT = _YesNo("--vm-capable", dest="vm_capable",
                        help="Whether the node may host instances")
NODE_POWERED_OPT = _YesNo("--node-powered", dest="node_powered",
                          help="Record whether the node is powered (out-of-band nodes)")
AUTO_PROMOTE_OPT = CliOption("--auto-promote", dest="auto_promote", action="store_true",
                             default=False, help="Lock all nodes and promote others to master"
                                                 " candidate as needed")
IGNORE_STATUS_OPT = CliOption("--ignore-status", dest="ignore_status", action="store_true",
                              default=False, help="Power off nodes that are not marked"
                                                  " offline (potentially dangerous)")
NODE_PARAMS_OPT = CliOption("--node-parameters", dest="ndparams", type="keyval", default=None,
                            help="Node parameters, as name=value,...")
STORAGE_TYPE_OPT = CliOption("-t", "--storage-type", dest="user_storage_type", type="choice",
                             choices=_USER_STORAGE_TYPES, default=None,
                             help="Type of the storage units to list")
ALLOCATABLE_OPT = _YesNo("--allocatable", dest="allocatable",
                         help="Whether new volumes may be placed on the unit")
IGNORE_CONSIST_OPT = CliOption("--ignore-consistency", dest="ignore_consistency",
                               action="store_true", default=False,
                               help="Go on even if disks on other nodes are faulty")

NEW_SECONDARY_OPT = CliOption("-n", "--new-secondary", dest="dst_node", metavar="NODE",
                              help="Specifies the new secondary node")
PRIMARY_ONLY_OPT = CliOption("-p", "--primary-only", dest="primary_only",
                             action="store_true", default=False,
                             help="Evacuate primary instances only")
SECONDARY_ONLY_OPT = CliOption("-s", "--secondary-only", dest="secondary_only",
                               action="store_true", default=False,
                               help="Evacuate secondary instances only (applies only to"
                                    " internally mirrored disk templates, e.g. drbd)")
IGNORE_SOFT_ERRORS_OPT = CliOption("--ignore-soft-errors", dest="ignore_soft_errors",
                                   action="store_true", default=False,
                                   help="Let the allocator ignore soft errors such as N+1"
                                        " violations")


def _Opcodes() -> Any:
  from ganeti import opcodes  # pylint: disable=import-outside-toplevel
  return opcodes


def _DiskState(opts: Any) -> dict:
  """--disk-state "type:ident:key=value" options as {type: {"ident:key": value}}."""
  return {kind: dict(values) for kind, values in (opts.disk_state or [])}


def _ResolveName(name: str) -> str:
  from ganeti import netutils  # pylint: disable=import-outside-toplevel
  return netutils.ResolveNodeName(name)[0]


def _JoinNode(node: str, ssh_port: int, opts: Any) -> None:
  from ganeti import nodejoin  # pylint: disable=import-outside-toplevel
  nodejoin.JoinNode(node, ssh_port, opts.ssh_key_check, debug=bool(opts.debug),
                    verbose=opts.verbose)


def AddNode(opts: Any, args: list[str]) -> int:
  """Joins a node over SSH, then adds it to the configuration."""
  cl = GetClient()
  node = _ResolveName(args[0])
  from ganeti import paramdefs  # pylint: disable=import-outside-toplevel
  ssh_port = paramdefs.NDC_DEFAULTS[paramdefs.ND_SSH_PORT]
  groups = cl.QueryGroups([opts.nodegroup] if opts.nodegroup else [], ["ndp/ssh_port"], False)
  if groups and groups[0][0] is not None:
    ssh_port = groups[0][0]
  known = cl.QueryNodes([node], ["name", "sip", "master", "ndp/ssh_port"], False)
  sip = opts.secondary_ip
  if opts.readd:
    if not known:
      ToStderr("Node %s not in the cluster - please retry without '--readd'", node)
      return EXIT_FAILURE
    _, sip, is_master, ssh_port = known[0]
    if is_master:
      ToStderr("Node %s is the master, cannot readd", node)
      return EXIT_FAILURE
  elif known:
    ToStderr("Node %s already in the cluster (as %s) - please retry with '--readd'", node,
             known[0][0])
    return EXIT_FAILURE
  if not opts.node_setup:
    ToStdout("%s", _Warning(_NO_NODE_SETUP_NOTE))
  (modify_ssh_setup,) = cl.QueryConfigValues(["modify_ssh_setup"])
  if modify_ssh_setup:
    ToStderr("%s", _Warning("Adding this node changes SSH on it and on the cluster's nodes:",
                            *["* " + change for change in _ADD_SSH_CHANGES]) % node)
  _JoinNode(node, ssh_port, opts)
  op = MakeOpCode(_Opcodes().OpNodeAdd, node_name=args[0], secondary_ip=sip,
                  readd=opts.readd, group=opts.nodegroup, vm_capable=opts.vm_capable,
                  ndparams=opts.ndparams, master_capable=opts.master_capable,
                  disk_state=_DiskState(opts), hv_state=dict(opts.hv_state),
                  node_setup=bool(modify_ssh_setup))
  SubmitOpCode(op, cl=cl, opts=opts)
  return EXIT_SUCCESS


def RemoveNode(opts: Any, args: list[str]) -> int:
  SubmitOpCode(MakeOpCode(_Opcodes().OpNodeRemove, node_name=args[0]), opts=opts)
  return EXIT_SUCCESS


def ListNodes(opts: Any, args: list[str]) -> int:
  fields = ParseFields(opts.output, _LIST_DEF_FIELDS)
  return GenericList(constants.QR_NODE, fields, args, opts.units, opts.separator,
                     not opts.no_headers, format_override=_LIST_FORMAT, verbose=opts.verbose,
                     force_filter=opts.force_filter)


def ListNodeFields(opts: Any, args: list[str]) -> int:
  return GenericListFields(constants.QR_NODE, args, opts.separator, not opts.no_headers)


def FormatParamsDictInfo(custom: dict, actual: dict) -> list:
  """Parameters as (name, value) rows; inherited ones as "default (value)"."""
  rows = []
  for key in sorted(actual):
    value = actual[key]
    if isinstance(value, dict):
      rows.append((key, FormatParamsDictInfo(custom.get(key) or {}, value)))
    elif key in custom:
      rows.append((key, str(custom[key])))
    else:
      rows.append((key, "default (%s)" % (value,)))
  return rows


def _NodeInfo(values: list) -> list:
  (name, primary_ip, secondary_ip, pinst, sinst, is_mc, drained, offline, master_capable,
   vm_capable, powered, ndparams, custom_ndparams) = values
  info = [("Node name", name), ("primary ip", primary_ip), ("secondary ip", secondary_ip),
          ("master candidate", is_mc), ("drained", drained), ("offline", offline)]
  if powered is not None:
    info.append(("powered", powered))
  info.extend([("master_capable", master_capable), ("vm_capable", vm_capable)])
  if vm_capable:
    info.extend([("primary for instances", sorted(pinst or [])),
                 ("secondary for instances", sorted(sinst or []))])
  info.append(("node parameters", FormatParamsDictInfo(custom_ndparams or {}, ndparams or {})))
  return info


def ShowNodeConfig(opts: Any, args: list[str]) -> int:
  PrintGenericInfo([_NodeInfo(row) for row in GetClient().QueryNodes(args, _INFO_FIELDS,
                                                                     False)])
  return EXIT_SUCCESS


def SetNodeParams(opts: Any, args: list[str]) -> int:
  changes = [opts.master_candidate, opts.drained, opts.offline, opts.master_capable,
             opts.vm_capable, opts.secondary_ip, opts.ndparams]
  if changes.count(None) == len(changes) and not (opts.hv_state or opts.disk_state):
    ToStderr("Please give at least one of the parameters.")
    return EXIT_FAILURE
  op = MakeOpCode(_Opcodes().OpNodeSetParams, node_name=args[0],
                  master_candidate=opts.master_candidate, offline=opts.offline,
                  drained=opts.drained, master_capable=opts.master_capable,
                  vm_capable=opts.vm_capable, secondary_ip=opts.secondary_ip,
                  force=opts.force, ndparams=opts.ndparams, auto_promote=opts.auto_promote,
                  powered=opts.node_powered, hv_state=dict(opts.hv_state),
                  disk_state=_DiskState(opts))
  result = SubmitOrSend(op, opts)
  if result:
    ToStdout("Modified node %s", args[0])
    for param, value in result:
      ToStdout(" - %-5s -> %s", param, value)
  return EXIT_SUCCESS


def PowercycleNode(opts: Any, args: list[str]) -> int:
  node = args[0]
  if not opts.confirm and not AskUser("Are you sure you want to hard powercycle node %s?"
                                      % node):
    return 2
  result = SubmitOrSend(MakeOpCode(_Opcodes().OpNodePowercycle, node_name=node,
                                   force=opts.force), opts)
  if result:
    ToStderr(result)
  return EXIT_SUCCESS


# gnt-node power's subcommands -> out-of-band commands
_POWER_COMMANDS = {"on": constants.OOB_POWER_ON, "off": constants.OOB_POWER_OFF,
                   "cycle": constants.OOB_POWER_CYCLE, "status": constants.OOB_POWER_STATUS}
# the ones that take machines down: only for nodes named, and confirmed
_POWER_DOWN = frozenset([constants.OOB_POWER_OFF, constants.OOB_POWER_CYCLE])
_OOB_HEADERS = {"node": "Node", "status": "Status"}


def _OobRows(result: list, describe: Any) -> tuple[list[list[str]], int]:
  """Table rows (node, status lines) of an out-of-band command's result and the
  number of nodes without an answer; describe(answer) gives an answer's lines."""
  rows, failures = [], 0
  for (_, node_name), (status, answer) in result:
    if status == constants.RS_NORMAL:
      lines = describe(answer) or [""]
    else:
      failures += 1
      lines = [FormatResultError(status, True)]
    rows.append([node_name, lines[0]])
    rows.extend(["", line] for line in lines[1:])
  return rows, failures


def _PrintOobTable(opts: Any, rows: list[list[str]], failures: int) -> int:
  for line in GenerateTable(None if opts.no_headers else _OOB_HEADERS, ["node", "status"],
                            opts.separator, rows):
    ToStdout(line)
  return EXIT_FAILURE if failures else EXIT_SUCCESS


def PowerNode(opts: Any, args: list[str]) -> int:
  subcommand, nodes = args[0], args[1:]
  command = _POWER_COMMANDS.get(subcommand)
  if command is None:
    ToStderr("power subcommand %s not supported." % subcommand)
    return EXIT_FAILURE
  if command in _POWER_DOWN:
    if not nodes:
      ToStderr("Please provide at least one node for this command")
      return EXIT_FAILURE
    if not opts.force and not ConfirmOperation(nodes, "nodes", "power %s" % subcommand):
      return EXIT_FAILURE
  opcodes = _Opcodes()
  ops = []
  if command == constants.OOB_POWER_OFF and not opts.ignore_status:
    # a node about to lose power is marked offline first, in the same job
    ops.extend(MakeOpCode(opcodes.OpNodeSetParams, node_name=node, offline=True,
                          auto_promote=opts.auto_promote) for node in nodes)
  ops.append(MakeOpCode(opcodes.OpOobCommand, node_names=nodes, command=command,
                        ignore_status=opts.ignore_status, timeout=opts.oob_timeout,
                        power_delay=opts.power_delay))
  SetGenericOpcodeOpts(ops, opts)
  job_id = SendJob(ops)
  if opts.print_jobid:
    ToStdout("%d", job_id)
  if opts.submit_only:
    raise errors.JobSubmittedException(job_id)
  result = PollJob(job_id)[-1]
  if command == constants.OOB_POWER_STATUS:
    describe = lambda answer: ["powered" if answer[constants.OOB_POWER_STATUS_POWERED]
                               else "unpowered"]
  else:
    describe = lambda _: ["invoked"]  # the program ran; it reports nothing more
  return _PrintOobTable(opts, *_OobRows(result, describe))


def NodeHealth(opts: Any, args: list[str]) -> int:
  op = MakeOpCode(_Opcodes().OpOobCommand, node_names=args, command=constants.OOB_HEALTH,
                  timeout=opts.oob_timeout)
  result = SubmitOpCode(op, opts=opts)
  return _PrintOobTable(opts, *_OobRows(
    result, lambda items: ["%s=%s" % (item, status) for item, status in items]))


def RunRestrictedCommand(opts: Any, args: list[str]) -> int:
  command, names = args[0], args[1:]
  if not names and not opts.nodegroup:
    raise errors.OpPrereqError("Node group or node names must be given", errors.ECODE_INVAL)
  cl = GetClient()
  nodes = [row["name"] for row in
           GetOnlineNodes(cl, names, opts.nodegroup, ["name", "offline", "group", "group.uuid"])]
  op = MakeOpCode(_Opcodes().OpRestrictedCommand, command=command, nodes=nodes,
                  use_locking=opts.do_locking)
  results = SubmitOrSend(op, opts, cl=cl)
  exit_code = EXIT_SUCCESS
  for node, (success, text) in zip(nodes, results):
    ToStdout("-" * 48)
    if not success:
      exit_code = EXIT_FAILURE
      ToStdout(text)
    elif opts.show_machine_names:
      for line in text.splitlines():
        ToStdout("%s: %s", node, line)
    else:
      ToStdout("Node: %s", node)
      ToStdout(text)
  return exit_code


def _PrintTable(opts: Any, headers: dict, fields: list[str], rows: list,
                size_fields: list[str]) -> None:
  for line in GenerateTable(None if opts.no_headers else headers, fields, opts.separator,
                            rows, numfields=size_fields, unitfields=size_fields,
                            units=opts.units):
    ToStdout(line)


def ListVolumes(opts: Any, args: list[str]) -> int:
  fields = ParseFields(opts.output, _LIST_VOL_DEF_FIELDS)
  rows = SubmitOpCode(MakeOpCode(_Opcodes().OpNodeQueryvols, nodes=args, output_fields=fields),
                      opts=opts)
  _PrintTable(opts, _VOLUME_HEADERS, fields, rows, ["size"])
  return EXIT_SUCCESS


def ListDrbd(opts: Any, args: list[str]) -> int:
  """The DRBD minors the configuration gives a node, asked of confd."""
  from ganeti import confd  # pylint: disable=import-outside-toplevel
  from ganeti.confd import client  # pylint: disable=import-outside-toplevel
  try:
    reply = client.ConfdClient().Query(confd.REQ_NODE_DRBD, args[0])
  except (errors.ConfdClientError, OSError) as err:
    ToStderr("Can't get a response from confd: %s", err)
    return EXIT_FAILURE
  if not reply.ok:
    ToStderr("Error while querying the DRBD minors of node %s: %s", args[0], reply.answer)
    return EXIT_FAILURE
  for line in GenerateTable(None if opts.no_headers else _DRBD_HEADERS, list(_DRBD_HEADERS),
                            opts.separator, reply.answer, numfields=["minor"]):
    ToStdout(line)
  return EXIT_SUCCESS


def ListStorage(opts: Any, args: list[str]) -> int:
  fields = ParseFields(opts.output, _LIST_STOR_DEF_FIELDS)
  op = MakeOpCode(_Opcodes().OpNodeQueryStorage, nodes=args,
                  storage_type=opts.user_storage_type, output_fields=fields)
  rows = SubmitOpCode(op, opts=opts)
  shown = [[("Y" if value else "N") if field == "allocatable" else str(value)
            for field, value in zip(fields, row)] for row in rows]
  _PrintTable(opts, _STORAGE_HEADERS, fields, shown, _STORAGE_SIZE_FIELDS)
  return EXIT_SUCCESS


def _StorageType(user_storage_type: str) -> str:
  if user_storage_type not in _USER_STORAGE_TYPES:
    raise errors.OpPrereqError("Unknown storage type: %s" % user_storage_type,
                               errors.ECODE_INVAL)
  return user_storage_type


def ModifyStorage(opts: Any, args: list[str]) -> int:
  node, user_storage_type, volume = args
  storage_type = _StorageType(user_storage_type)
  changes = {}
  if opts.allocatable is not None:
    changes["allocatable"] = opts.allocatable
  if not changes:
    ToStderr("No changes to perform, exiting.")
    return EXIT_SUCCESS
  SubmitOrSend(MakeOpCode(_Opcodes().OpNodeModifyStorage, node_name=node,
                          storage_type=storage_type, name=volume, changes=changes), opts)
  return EXIT_SUCCESS


def RepairStorage(opts: Any, args: list[str]) -> int:
  node, user_storage_type, volume = args
  SubmitOrSend(MakeOpCode(_Opcodes().OpRepairNodeStorage, node_name=node,
                          storage_type=_StorageType(user_storage_type), name=volume,
                          ignore_consistency=opts.ignore_consistency), opts)
  return EXIT_SUCCESS


# Moving instances off a node: one job per instance, then a summary line


def _NodeInstances(cl: Any, node: str) -> tuple[list[str], list[str]]:
  """(primary, secondary) instance names of a node."""
  ((primary, secondary),) = cl.QueryNodes([node], ["pinst_list", "sinst_list"], False)
  return sorted(primary), sorted(secondary)


def _WaitForJobs(cl: Any, opts: Any, submitted: list, done: str, failed: str) -> int:
  """Waits for the jobs an opcode submitted ([success, job id or error]) and
  prints done, or failed with the number of failed jobs."""
  executor = JobExecutor(cl=cl, opts=opts)
  for status, job_id in submitted:
    executor.AddJobId(None, status, job_id)
  bad = sum(1 for success, _ in executor.GetResults() if not success)
  if bad:
    ToStdout(failed, bad)
    return EXIT_FAILURE
  ToStdout(done)
  return EXIT_SUCCESS


def MigrateNode(opts: Any, args: list[str]) -> int:
  """Migrates the primary instances of a node away (one job each)."""
  node = args[0]
  cl = GetClient()
  primary, _ = _NodeInstances(cl, node)
  if not primary:
    ToStdout("No primary instances on node %s, exiting.", node)
    return EXIT_SUCCESS
  if not opts.force and not AskUser("Migrate instance(s) %s?" % ", ".join(primary)):
    return 2
  if not opts.live and opts.migration_mode is not None:
    raise errors.OpPrereqError("Only one of the --non-live and --migration-mode options"
                               " can be passed", errors.ECODE_INVAL)
  mode = paramdefs.HT_MIGRATION_NONLIVE if not opts.live else opts.migration_mode
  op = MakeOpCode(_Opcodes().OpNodeMigrate, node_name=node, mode=mode,
                  iallocator=opts.iallocator, target_node=opts.dst_node,
                  allow_runtime_changes=opts.allow_runtime_chgs,
                  ignore_ipolicy=opts.ignore_ipolicy)
  result = SubmitOrSend(op, opts, cl=cl)
  return _WaitForJobs(cl, opts, result["jobs"], "All instances migrated successfully.",
                      "There were %s errors during the node migration.")


def FailoverNode(opts: Any, args: list[str]) -> int:
  """Fails the primary instances of a node over to other nodes (one job each)."""
  node = args[0]
  cl = GetClient()
  primary, _ = _NodeInstances(cl, node)
  if not primary:
    ToStdout("No primary instances on node %s, exiting.", node)
    return EXIT_SUCCESS
  if not opts.force and not AskUser("Fail over instance(s) %s?" %
                                    ",".join("'%s'" % name for name in primary)):
    return 2
  executor = JobExecutor(cl=cl, opts=opts)
  for name in primary:
    executor.QueueJob(name, MakeOpCode(_Opcodes().OpInstanceFailover, instance_name=name,
                                       ignore_consistency=opts.ignore_consistency,
                                       iallocator=opts.iallocator))
  results = executor.GetResults()
  bad = sum(1 for success, _ in results if not success)
  if bad:
    ToStdout("There were errors during the failover:\n%d error(s) out of %d instance(s).",
             bad, len(results))
    return EXIT_FAILURE
  ToStdout("All %d instance(s) failed over successfully.", len(results))
  return EXIT_SUCCESS


def EvacuateNode(opts: Any, args: list[str]) -> int:
  """Relocates the primary and/or secondary instances of a node."""
  node = args[0]
  if opts.primary_only and opts.secondary_only:
    raise errors.OpPrereqError("Only one of the --primary-only and --secondary-only options"
                               " can be passed", errors.ECODE_INVAL)
  iallocator = opts.iallocator
  if opts.dst_node is not None:
    # a single new node can only take over DRBD secondaries
    ToStderr("New secondary node given (disabling iallocator), hence evacuating"
             " secondary instances only.")
    mode, iallocator = _EVAC_SEC, None
  elif opts.primary_only:
    mode = _EVAC_PRI
  elif opts.secondary_only:
    mode = _EVAC_SEC
  else:
    mode = _EVAC_ALL
  cl = GetClient()
  primary, secondary = _NodeInstances(cl, node)
  instances = {_EVAC_PRI: primary, _EVAC_SEC: secondary,
               _EVAC_ALL: sorted(primary + secondary)}[mode]
  if not instances:
    ToStderr("No instances to evacuate on node(s) %s, exiting.", node)
    return EXIT_SUCCESS
  if not opts.force and not AskUser("Relocate instance(s) %s from node(s) %s?" %
                                    (", ".join(instances), node)):
    return 2
  op = MakeOpCode(_Opcodes().OpNodeEvacuate, node_name=node, remote_node=opts.dst_node,
                  iallocator=iallocator, mode=mode, early_release=opts.early_release,
                  ignore_soft_errors=opts.ignore_soft_errors)
  result = SubmitOrSend(op, opts, cl=cl)
  return _WaitForJobs(cl, opts, result["jobs"], "All instances evacuated successfully.",
                      "There were %s errors during the evacuation.")


_LIST_OPTS = [NOHDR_OPT, SEP_OPT, UNITS_OPT, FIELDS_OPT]
_TAG_OPTS = [TAG_SRC_OPT, PRIORITY_OPT] + SUBMIT_OPTS
_STORAGE_ARGS = [ArgNode(min=1, max=1), ArgChoice(min=1, max=1, choices=_USER_STORAGE_TYPES),
                 ArgFile(min=1, max=1)]

commands = {
  "add": (
    AddNode, [ArgHost(min=1, max=1)],
    [SECONDARY_IP_OPT, READD_OPT, NOSSH_KEYCHECK_OPT, FORCE_JOIN_OPT, NONODE_SETUP_OPT,
     NODE_VERBOSE_OPT, NODEGROUP_OPT, PRIORITY_OPT, MC_CAPABLE_OPT, VM_CAPABLE_OPT,
     NODE_PARAMS_OPT, HV_STATE_OPT, DISK_STATE_OPT],
    "[-s ip] [--readd] [--no-ssh-key-check] [--force-join] <node-name>",
    "Adds a node to the cluster"),
  "remove": (
    RemoveNode, ARGS_ONE_NODE, [DRY_RUN_OPT, PRIORITY_OPT], "<node-name>",
    "Removes a node from the cluster"),
  "info": (
    ShowNodeConfig, ARGS_MANY_NODES, [], "[<node-name>...]",
    "Shows the configuration of nodes (all without arguments)"),
  "list": (
    ListNodes, ARGS_MANY_NODES, _LIST_OPTS + [VERBOSE_OPT, FILTER_OPT], "[<node-name>...]",
    "Lists the nodes (\"list-fields\" shows the fields that can be selected; the default"
    " ones are %s)" % ", ".join(_LIST_DEF_FIELDS)),
  "list-fields": (
    ListNodeFields, [ArgUnknown()], [NOHDR_OPT, SEP_OPT], "[<fields>...]",
    "Lists the fields available for nodes"),
  "modify": (
    SetNodeParams, ARGS_ONE_NODE,
    [FORCE_OPT] + SUBMIT_OPTS + [MC_OPT, DRAINED_OPT, OFFLINE_OPT, MC_CAPABLE_OPT,
                                 VM_CAPABLE_OPT, SECONDARY_IP_OPT, AUTO_PROMOTE_OPT,
                                 DRY_RUN_OPT, PRIORITY_OPT, NODE_PARAMS_OPT,
                                 NODE_POWERED_OPT, HV_STATE_OPT, DISK_STATE_OPT],
    "<node-name>", "Changes the role, flags and parameters of a node"),
  "powercycle": (
    PowercycleNode, ARGS_ONE_NODE,
    [FORCE_OPT, CONFIRM_OPT, DRY_RUN_OPT, PRIORITY_OPT] + SUBMIT_OPTS, "<node-name>",
    "Hard-reboots a node through its node daemon"),
  "power": (
    PowerNode, [ArgChoice(min=1, max=1, choices=list(_POWER_COMMANDS)), ArgNode()],
    SUBMIT_OPTS + [AUTO_PROMOTE_OPT, PRIORITY_OPT, IGNORE_STATUS_OPT, FORCE_OPT, NOHDR_OPT,
                   SEP_OPT, OOB_TIMEOUT_OPT, POWER_DELAY_OPT],
    "on|off|cycle|status [<node-name>...]",
    "Changes or shows the power state of nodes through their out-of-band program"),
  "restricted-command": (
    RunRestrictedCommand, [ArgUnknown(min=1, max=1), ArgNode()],
    [SYNC_OPT, PRIORITY_OPT] + SUBMIT_OPTS + [SHOW_MACHINE_OPT, NODEGROUP_OPT],
    "<command> <node-name>...", "Runs a restricted command on nodes"),
  "health": (
    NodeHealth, ARGS_MANY_NODES, [NOHDR_OPT, SEP_OPT, PRIORITY_OPT, OOB_TIMEOUT_OPT],
    "[<node-name>...]", "Shows the health of nodes as their out-of-band program reports it"),
  "migrate": (
    MigrateNode, ARGS_ONE_NODE,
    [FORCE_OPT, NONLIVE_OPT, MIGRATION_MODE_OPT, DST_NODE_OPT, IALLOCATOR_OPT,
     PRIORITY_OPT, IGNORE_IPOLICY_OPT, NORUNTIME_CHGS_OPT] + SUBMIT_OPTS,
    "[-f] <node>",
    "Migrate all the primary instance on a node away from it (only for instances of"
    " type drbd)"),
  "failover": (
    FailoverNode, ARGS_ONE_NODE, [FORCE_OPT, IGNORE_CONSIST_OPT, IALLOCATOR_OPT,
                                  PRIORITY_OPT],
    "[-f] <node>",
    "Stops the primary instances on a node and start them on their secondary node"
    " (only for instances with drbd disk template)"),
  "evacuate": (
    EvacuateNode, ARGS_ONE_NODE,
    [FORCE_OPT, IALLOCATOR_OPT, IGNORE_SOFT_ERRORS_OPT, NEW_SECONDARY_OPT,
     EARLY_RELEASE_OPT, PRIORITY_OPT, PRIMARY_ONLY_OPT, SECONDARY_ONLY_OPT] + SUBMIT_OPTS,
    "[-f] {-I <iallocator> | -n <dst>} [-p | -s] [options...] <node>",
    "Relocate the primary and/or secondary instances from a node"),
  "volumes": (
    ListVolumes, ARGS_MANY_NODES, _LIST_OPTS + [PRIORITY_OPT], "[<node-name>...]",
    "Lists the logical volumes of nodes"),
  "list-drbd": (
    ListDrbd, ARGS_ONE_NODE, [NOHDR_OPT, SEP_OPT], "[--no-headers] [--separator=SEP] <node>",
    "Lists the DRBD minors the configuration gives a node"),
  "list-storage": (
    ListStorage, ARGS_MANY_NODES, _LIST_OPTS + [STORAGE_TYPE_OPT, PRIORITY_OPT],
    "[<node-name>...]",
    "Lists the storage units of nodes (fields: %s)" % ", ".join(_LIST_STOR_DEF_FIELDS)),
  "modify-storage": (
    ModifyStorage, _STORAGE_ARGS, [ALLOCATABLE_OPT, DRY_RUN_OPT, PRIORITY_OPT] + SUBMIT_OPTS,
    "<node-name> <storage-type> <volume-name>", "Changes a storage unit of a node"),
  "repair-storage": (
    RepairStorage, _STORAGE_ARGS,
    [IGNORE_CONSIST_OPT, DRY_RUN_OPT, PRIORITY_OPT] + SUBMIT_OPTS,
    "<node-name> <storage-type> <volume-name>", "Repairs a storage unit of a node"),
  "list-tags": (
    ListTags, ARGS_ONE_NODE, [], "<node-name>", "Lists the tags of a node"),
  "add-tags": (
    AddTags, [ArgNode(min=1, max=1), ArgUnknown()], _TAG_OPTS, "<node-name> <tag>...",
    "Adds tags to a node"),
  "remove-tags": (
    RemoveTags, [ArgNode(min=1, max=1), ArgUnknown()], _TAG_OPTS, "<node-name> <tag>...",
    "Removes tags from a node"),
}


def Main() -> int:
  return GenericMain(commands, override={"tag_type": constants.TAG_NODE})
