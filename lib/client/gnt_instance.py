"""gnt-instance: create, control, inspect, change and move the instances of the cluster."""

from __future__ import annotations

import os

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Any, Callable, Optional

from ganeti import constants
from ganeti import errors
from ganeti import pathutils
from ganeti.cli import *  # pylint: disable=wildcard-import,unused-wildcard-import
from ganeti.cli import EXIT_FAILURE, EXIT_SUCCESS
from ganeti.client.gnt_instance_opts import *  # pylint: disable=wildcard-import,unused-wildcard-import

_LIST_DEF_FIELDS = ["name", "hypervisor", "os", "pnode", "status", "oper_ram"]
# list-valued fields "list" prints comma-separated
_LIST_FORMAT = dict.fromkeys(
  ["tags", "disk.sizes", "nic.macs", "nic.ips", "nic.modes", "nic.links", "nic.networks",
   "nic.bridges", "snodes", "snodes.group", "snodes.group.uuid"],
  (lambda values: ",".join(str(value) for value in values), False))

# node-based modes: (select by tags, take primaries, take secondaries)
_NODE_MODES = {
  EXPAND_NODES_BOTH: (False, True, True),
  EXPAND_NODES_PRI: (False, True, False),
  EXPAND_NODES_SEC: (False, False, True),
  EXPAND_NODES_BOTH_BY_TAGS: (True, True, True),
  EXPAND_NODES_PRI_BY_TAGS: (True, True, False),
  EXPAND_NODES_SEC_BY_TAGS: (True, False, True),
}

# Above this many instances the confirmation question offers the list instead of showing it

# Disk and NIC modifications ("--disk 1:remove", "--net add:mac=...")
_DDM_ACTIONS = (constants.DDM_ADD, constants.DDM_ATTACH, constants.DDM_MODIFY,
                constants.DDM_REMOVE, constants.DDM_DETACH)
# actions that take no parameters
_DDM_BARE = frozenset([constants.DDM_REMOVE, constants.DDM_DETACH])

_REPLACE_PRI = "replace_on_primary"
_REPLACE_SEC = "replace_on_secondary"
_REPLACE_CHG = "replace_new_secondary"
_REPLACE_AUTO = "replace_auto"

# The key of the job list in the answers of job-creating opcodes
_JOB_IDS_KEY = "jobs"

_OPTIONS_NOT_FOR_BATCH = frozenset(["iallocator"])


def _Opcodes() -> Any:
  from ganeti import opcodes  # pylint: disable=import-outside-toplevel
  return opcodes


def _ParamDefs() -> Any:
  from ganeti import paramdefs  # pylint: disable=import-outside-toplevel
  return paramdefs


def _Invalid(message: str) -> errors.OpPrereqError:
  return errors.OpPrereqError(message, errors.ECODE_INVAL)


def _Op(name: str, **kwargs: Any) -> Any:
  return MakeOpCode(getattr(_Opcodes(), name), **kwargs)


# Instance selection


def _InstancesOfNodes(cl: Any, mode: str, names: list[str]) -> list[str]:
  by_tags, primaries, secondaries = _NODE_MODES[mode]
  if not names:
    raise _Invalid("No node tags passed" if by_tags else "No node names passed")
  if by_tags:
    wanted = set(names)
    rows = [row for row in cl.QueryNodes([], ["name", "pinst_list", "sinst_list", "tags"], False)
            if wanted.intersection(row[3])]
  else:
    rows = cl.QueryNodes(names, ["name", "pinst_list", "sinst_list"], False)
  selected = []
  for row in rows:
    selected.extend((row[1] if primaries else []) + (row[2] if secondaries else []))
  # an instance may be primary on one selected node and secondary on another
  return list(dict.fromkeys(selected))


def _ExpandMultiNames(mode: str, names: list[str], cl: Any) -> list[str]:
  """The instances a selection mode and its arguments name."""
  if mode == EXPAND_CLUSTER:
    if names:
      raise _Invalid("Cluster filter mode takes no arguments")
    selected = [row[0] for row in cl.QueryInstances([], ["name"], False)]
  elif mode in _NODE_MODES:
    selected = _InstancesOfNodes(cl, mode, names)
  elif mode == EXPAND_INSTANCES:
    if not names:
      raise _Invalid("No instance names passed")
    selected = [row[0] for row in cl.QueryInstances(names, ["name"], False)]
  elif mode == EXPAND_INSTANCES_BY_TAGS:
    if not names:
      raise _Invalid("No instance tags passed")
    wanted = set(names)
    selected = [name for name, tags in cl.QueryInstances([], ["name", "tags"], False)
                if wanted.intersection(tags)]
  else:
    raise _Invalid("Unknown mode '%s'" % mode)
  if not selected:
    raise _Invalid("Selection filter does not match any instances")
  return selected


def _EnsureInstancesExist(cl: Any, names: list[str]) -> None:
  """Refuses names answered without a name.

  The master daemon leaves unknown instances out of its answer instead, so
  (as with Ganeti 3.0) an unknown name gets to the question and then to the
  job, which refuses it.
  """
  for name, row in zip(names, cl.QueryInstances(names, ["name"], False)):
    if row[0] is None:
      raise errors.OpPrereqError("Instance '%s' does not exist" % name, errors.ECODE_NOENT)


def _RunPerInstance(opts: Any, cl: Any, names: list[str], multi: bool,
                    make_op: Callable[[str], Any]) -> int:
  """One job per instance; waits for them (or, with --submit, shows their IDs)."""
  executor = JobExecutor(cl=cl, verbose=multi, opts=opts)
  for name in names:
    executor.QueueJob(name, make_op(name))
  results = executor.WaitOrShow(not opts.submit_only)
  return EXIT_SUCCESS if all(row[0] for row in results) else EXIT_FAILURE


def _ManyInstancesCommand(operation: str,
                          make_op: Callable[[str, Any], Any]) -> Callable[[Any, list], int]:
  """A command running one opcode per selected instance (startup, shutdown, reboot)."""

  def run(opts: Any, args: list[str]) -> int:
    cl = GetClient()
    names = _ExpandMultiNames(opts.multi_mode, args, cl)
    multi = opts.multi_mode != EXPAND_INSTANCES or len(names) > 1
    if multi and not opts.force_multi and not ConfirmOperation(names, "instances", operation):
      return EXIT_FAILURE
    return _RunPerInstance(opts, cl, names, multi, lambda name: make_op(name, opts))

  run.__doc__ = "Runs the %s of the selected instances." % operation
  return run


def _StartupOp(name: str, opts: Any) -> Any:
  return _Op("OpInstanceStartup", instance_name=name, force=opts.force,
             ignore_offline_nodes=opts.ignore_offline, no_remember=opts.no_remember,
             startup_paused=opts.startup_paused, hvparams=opts.hvparams,
             beparams=opts.beparams)


def _ShutdownOp(name: str, opts: Any) -> Any:
  return _Op("OpInstanceShutdown", instance_name=name, force=opts.force, timeout=opts.timeout,
             ignore_offline_nodes=opts.ignore_offline, no_remember=opts.no_remember)


def _RebootOp(name: str, opts: Any) -> Any:
  return _Op("OpInstanceReboot", instance_name=name, reboot_type=opts.reboot_type,
             ignore_secondaries=opts.ignore_secondaries,
             shutdown_timeout=opts.shutdown_timeout)


StartupInstance = _ManyInstancesCommand("startup", _StartupOp)
ShutdownInstance = _ManyInstancesCommand("shutdown", _ShutdownOp)
RebootInstance = _ManyInstancesCommand("reboot", _RebootOp)


# Creation


def SplitNodeOption(value: Optional[str]) -> tuple[Optional[str], Optional[str]]:
  """"pnode[:snode]" as (pnode, snode)."""
  if value and ":" in value:
    primary, secondary = value.split(":", 1)
    return primary, secondary
  return value, None


def _ParseIndex(index: Any, what: str) -> int:
  try:
    return int(index)
  except (TypeError, ValueError) as err:
    raise _Invalid("Invalid %s index passed: %s" % (what, err)) from None


def _CheckedDict(kind: str, index: int, params: Any) -> dict:
  if not isinstance(params, dict):
    raise _Invalid("Invalid %s/%d value: expected dict, got %s" % (kind, index, params))
  return params


def _ParseNics(specs: list) -> list[dict]:
  """--net N:... options as the NIC list (a gap is a NIC with default parameters)."""
  nics: list[dict] = [{}] * (max(_ParseIndex(index, "NIC") for index, _ in specs) + 1)
  for index, params in specs:
    position = int(index)
    params = _CheckedDict("nic", position, params)
    _ParamDefs().ForceDictType(params, _ParamDefs().INIC_PARAMS_TYPES)
    nics[position] = params
  return nics


def _ParseCreateDisk(position: int, params: dict, mode: str) -> dict:
  if "size" in params:
    if "adopt" in params:
      raise _Invalid("Only one of 'size' and 'adopt' allowed (disk %d)" % position)
    params["size"] = ParseUnit(params["size"])
  elif "adopt" in params:
    if "spindles" in params:
      raise _Invalid("spindles is not a valid option when adopting a disk")
    if mode == constants.INSTANCE_IMPORT:
      raise _Invalid("Disk adoption not allowed for instance import")
    params["size"] = 0
  else:
    raise _Invalid("Missing size or adoption source for disk %d" % position)
  if "spindles" in params:
    params["spindles"] = int(params["spindles"])
  return params


def _ParseDisks(opts: Any, mode: str) -> list[dict]:
  """The disk list of a new instance from --disk or -s."""
  if opts.disk_template == constants.DT_DISKLESS:
    if opts.disks or opts.sd_size is not None:
      raise _Invalid("Diskless instance but disk information passed")
    return []
  if not opts.disks and not opts.sd_size and mode == constants.INSTANCE_CREATE:
    raise _Invalid("No disk information specified")
  if opts.disks and opts.sd_size is not None:
    raise _Invalid("Please use either the '--disk' or '-s' option")
  specs = opts.disks or ([("0", {"size": opts.sd_size})] if opts.sd_size is not None else [])
  if not specs:
    return []
  disks: list[dict] = [{}] * (max(_ParseIndex(index, "disk") for index, _ in specs) + 1)
  for index, params in specs:
    position = int(index)
    disks[position] = _ParseCreateDisk(position, _CheckedDict("disk", position, params), mode)
  return disks


def _CreateNics(opts: Any, mode: str) -> list[dict]:
  if opts.nics:
    return _ParseNics(opts.nics)
  if opts.no_nics or mode != constants.INSTANCE_CREATE:
    return []
  return [{}]


def GenericInstanceCreate(mode: str, opts: Any, args: list[str]) -> int:
  """Creates (mode "create") or imports (mode "import") an instance.

  Shared with gnt-backup import, whose options are a superset of add's.
  """
  forthcoming = getattr(opts, "forthcoming", False)
  commit = getattr(opts, "commit", False)
  if forthcoming and commit:
    raise _Invalid("Creating an instance only forthcoming and commiting it are mutally"
                   " exclusive")
  pnode, snode = SplitNodeOption(opts.node)
  hypervisor, hvparams = opts.hypervisor if opts.hypervisor else (None, {})
  nics = _CreateNics(opts, mode)
  disks = _ParseDisks(opts, mode)
  tags = opts.tags.split(",") if opts.tags is not None else []
  paramdefs = _ParamDefs()
  paramdefs.ForceDictType(opts.beparams, paramdefs.BES_PARAMETER_COMPAT)
  paramdefs.ForceDictType(hvparams, paramdefs.HVS_PARAMETER_TYPES)
  if mode == constants.INSTANCE_CREATE:
    specific = {"start": opts.start and not opts.no_install, "os_type": opts.os,
                "force_variant": opts.force_variant, "no_install": opts.no_install,
                "identify_defaults": False, "compress": "none"}
  else:
    specific = {"start": opts.start, "os_type": opts.os, "force_variant": opts.force_variant,
                "src_node": opts.src_node, "src_path": opts.src_dir,
                "no_install": getattr(opts, "no_install", None),
                "identify_defaults": opts.identify_defaults, "compress": opts.compress}
  op = _Op("OpInstanceCreate", instance_name=args[0], disks=disks,
           disk_template=opts.disk_template, group_name=opts.nodegroup, nics=nics,
           conflicts_check=opts.conflicts_check, pnode=pnode, snode=snode,
           ip_check=opts.ip_check, name_check=opts.name_check,
           wait_for_sync=opts.wait_for_sync, file_storage_dir=opts.file_storage_dir,
           file_driver=opts.file_driver, iallocator=opts.iallocator, hypervisor=hypervisor,
           hvparams=hvparams, beparams=opts.beparams, osparams=opts.osparams,
           osparams_private=opts.osparams_private, osparams_secret=opts.osparams_secret,
           mode=mode, opportunistic_locking=opts.opportunistic_locking, tags=tags,
           ignore_ipolicy=opts.ignore_ipolicy,
           instance_communication=bool(opts.instance_communication),
           helper_startup_timeout=opts.helper_startup_timeout,
           helper_shutdown_timeout=opts.helper_shutdown_timeout,
           forthcoming=forthcoming, commit=commit, **specific)
  SubmitOrSend(op, opts)
  return EXIT_SUCCESS


def AddInstance(opts: Any, args: list[str]) -> int:
  return GenericInstanceCreate(constants.INSTANCE_CREATE, opts, args)


def BatchCreate(opts: Any, args: list[str]) -> int:
  """Creates the instances a JSON file describes, in one multi-allocation job."""
  from ganeti import serializer  # pylint: disable=import-outside-toplevel
  try:
    with open(args[0], encoding="utf-8") as handle:
      instances = serializer.LoadJson(handle.read())
  except (OSError, ValueError) as err:
    ToStderr("Can't parse the instance definition file: %s", err)
    return EXIT_FAILURE
  if not (isinstance(instances, list) and all(isinstance(i, dict) for i in instances)):
    ToStderr("The instance definition file is not List of Dictionary")
    return EXIT_FAILURE
  op_class = _Opcodes().OpInstanceCreate
  allowed = set(op_class.GetAllSlots()) - _OPTIONS_NOT_FOR_BATCH
  ops = []
  for index, definition in enumerate(instances):
    unknown = sorted(set(definition) - allowed)
    if unknown:
      raise _Invalid("Unknown fields in definition %s: %s" % (index, ", ".join(unknown)))
    op = MakeOpCode(op_class, **definition)
    op.Validate(False)
    ops.append(op)
  cl = GetClient()
  result = SubmitOrSend(_Op("OpInstanceMultiAlloc", iallocator=opts.iallocator,
                           instances=[op.__getstate__() for op in ops]), opts, cl=cl)
  executor = JobExecutor(cl=cl, opts=opts)
  for status, job_id in result[_JOB_IDS_KEY]:
    executor.AddJobId(None, status, job_id)
  failures = len([row for row in executor.GetResults() if not row[0]])
  unplaced = result.get("failed") or []
  if unplaced:
    ToStdout("The iallocator could not place: %s", ", ".join(unplaced))
    failures += len(unplaced)
  if failures:
    ToStdout("There were %s errors during the creation.", failures)
    return EXIT_FAILURE
  ToStdout("All instances created successfully.")
  return EXIT_SUCCESS


# Removal, renaming, reinstallation


def RemoveInstance(opts: Any, args: list[str]) -> int:
  name = args[0]
  cl = GetClient()
  if not opts.force:
    _EnsureInstancesExist(cl, [name])
    if not AskUser("This will remove the volumes of the instance %s (including mirrors), thus"
                   " removing all the data of the instance. Continue?" % name):
      return EXIT_FAILURE
  SubmitOrSend(_Op("OpInstanceRemove", instance_name=name, ignore_failures=opts.ignore_failures,
                   shutdown_timeout=opts.shutdown_timeout), opts, cl=cl)
  return EXIT_SUCCESS


def RenameInstance(opts: Any, args: list[str]) -> int:
  old_name, new_name = args
  if not opts.name_check and not opts.force:
    if not AskUser("As you disabled the check of the DNS entry, please verify that '%s' is a"
                   " FQDN. Continue?" % new_name):
      return EXIT_FAILURE
  result = SubmitOrSend(_Op("OpInstanceRename", instance_name=old_name, new_name=new_name,
                            ip_check=opts.ip_check, name_check=opts.name_check), opts)
  if result:
    ToStdout("Instance '%s' renamed to '%s'", old_name, result)
  return EXIT_SUCCESS


def _SelectOs(opts: Any) -> Optional[str]:
  """Lets the user pick an OS from the cluster's; None when aborted."""
  oses = SubmitOpCode(_Op("OpOsDiagnose", output_fields=["name", "variants"], names=[]),
                      opts=opts)
  if not oses:
    ToStdout("Can't get the OS list")
    return None
  ToStdout("Available OS templates:")
  choices = []
  for name, variants in oses:
    for entry in (["%s+%s" % (name, variant) for variant in variants] if variants else [name]):
      ToStdout("%3s: %s", len(choices), entry)
      choices.append(("%s" % len(choices), entry, entry))
  choices.append(("x", "exit", "Exit gnt-instance reinstall"))
  selected = AskUser("Enter OS template number (or x to abort):", choices)
  if selected == "exit":
    ToStderr("User aborted reinstall, exiting")
    return None
  return selected


def ReinstallInstance(opts: Any, args: list[str]) -> int:
  cl = GetClient()
  names = _ExpandMultiNames(opts.multi_mode, args, cl)
  if opts.select_os:
    os_name = _SelectOs(opts)
    if os_name is None:
      return EXIT_FAILURE
  else:
    os_name = opts.os
  os_text = "change the OS to '%s'" % os_name if os_name is not None else "keep the same OS"
  multi = opts.multi_mode != EXPAND_INSTANCES or len(names) > 1
  if multi:
    warning = ("Note: this will remove *all* data for the below instances! It will %s.\n"
               % os_text)
    if not opts.force_multi and not ConfirmOperation(names, "instances", "reinstall", extra=warning):
      return EXIT_FAILURE
  elif not (opts.force or opts.force_multi):
    if not AskUser("This will reinstall the instance '%s' (and %s) which removes all data."
                   " Continue?" % (names[0], os_text)):
      return EXIT_FAILURE
  return _RunPerInstance(opts, cl, names, multi, lambda name: _Op(
    "OpInstanceReinstall", instance_name=name, os_type=os_name,
    force_variant=opts.force_variant, osparams=opts.osparams,
    osparams_private=opts.osparams_private, osparams_secret=opts.osparams_secret))


# Queries


def ListInstances(opts: Any, args: list[str]) -> int:
  fields = ParseFields(opts.output, _LIST_DEF_FIELDS)
  return GenericList(constants.QR_INSTANCE, fields, args, opts.units, opts.separator,
                     not opts.no_headers, format_override=_LIST_FORMAT, verbose=opts.verbose,
                     force_filter=opts.force_filter)


def ListInstanceFields(opts: Any, args: list[str]) -> int:
  return GenericListFields(constants.QR_INSTANCE, args, opts.separator, not opts.no_headers)


def ShowInstanceConfig(opts: Any, args: list[str]) -> int:
  if not args and not opts.show_all:
    ToStderr("No instance selected. Please pass in --all if you want to query all instances.\n"
             "Note that this can take a long time on a big cluster.")
    return EXIT_FAILURE
  if args and opts.show_all:
    ToStderr("Cannot use --all if you specify instance names.")
    return EXIT_FAILURE
  result = SubmitOpCode(_Op("OpInstanceQueryData", instances=args, static=opts.static,
                            use_locking=not opts.static), opts=opts)
  if not result:
    ToStdout("No instances.")
    return EXIT_FAILURE
  from ganeti.client import gnt_instance_info  # pylint: disable=import-outside-toplevel
  PrintGenericInfo(gnt_instance_info.InfoRows(result, opts.static))
  return EXIT_SUCCESS


# Changes


def _ModificationAction(identifier: str, params: dict) -> tuple[str, Any]:
  """(action, identifier) of one --disk/--net modification; removes action keys from params."""
  if identifier in _DDM_ACTIONS and identifier != constants.DDM_MODIFY:
    return identifier, -1
  given = [action for action in _DDM_ACTIONS if params.pop(action, None) is not None]
  if len(given) > 1:
    if constants.DDM_MODIFY in given:
      raise _Invalid("Cannot modify and add/remove at the same time")
    raise _Invalid("Cannot %s at the same time" % " and ".join(given))
  return (given[0] if given else constants.DDM_MODIFY), identifier


def _ConvertModifications(specs: list) -> list[tuple[str, Any, dict]]:
  result = []
  for identifier, params in specs:
    if not isinstance(params, dict):
      raise _Invalid("Invalid modification of %s: expected parameters, got %s"
                     % (identifier, params))
    params = dict(params)
    action, identifier = _ModificationAction(identifier, params)
    if action in _DDM_BARE and params:
      raise _Invalid("Not accepting parameters on removal/detach")
    result.append((action, identifier, params))
  return result


def _ParseDiskChanges(changes: list[tuple[str, Any, dict]]) -> list[tuple[str, Any, dict]]:
  for action, _, params in changes:
    if "spindles" in params:
      params["spindles"] = int(params["spindles"])
    if "size" in params:
      params["size"] = ParseUnit(params["size"])
    elif action == constants.DDM_ADD and "provider" not in params:
      raise _Invalid("Missing required parameter 'size'")
  return changes


def _TypedParams(params: dict, types_name: str) -> dict:
  """User parameters converted to their types; "default" resets one to the inherited value."""
  paramdefs = _ParamDefs()
  for key, value in params.items():
    if isinstance(value, str) and value.lower() == paramdefs.VALUE_DEFAULT:
      params[key] = paramdefs.VALUE_DEFAULT
  paramdefs.ForceDictType(params, getattr(paramdefs, types_name),
                          allowed_values=[paramdefs.VALUE_DEFAULT])
  return params


def _HasModifyChanges(opts: Any) -> bool:
  return bool(opts.nics or opts.disks or opts.disk_template or opts.hvparams
              or opts.beparams or opts.os or opts.osparams or opts.osparams_private
              or opts.offline_inst or opts.online_inst or opts.runtime_mem
              or opts.new_primary_node or opts.instance_communication is not None)


def SetInstanceParams(opts: Any, args: list[str]) -> int:
  if not _HasModifyChanges(opts):
    ToStderr("Please give at least one of the parameters.")
    return EXIT_FAILURE
  beparams = _TypedParams(opts.beparams, "BES_PARAMETER_COMPAT")
  hvparams = _TypedParams(opts.hvparams, "HVS_PARAMETER_TYPES")
  nics = _ConvertModifications(opts.nics)
  if opts.hotplug and not opts.force and any(action == constants.DDM_MODIFY for action, _, _ in nics):
    if not AskUser("You are about to hot-modify a NIC. This will be done by removing the"
                   " existing NIC and then adding a new one. Network connection might be"
                   " lost. Continue?"):
      return EXIT_FAILURE
  disks = _ParseDiskChanges(_ConvertModifications(opts.disks))
  if (opts.disk_template and opts.disk_template in constants.DTS_INT_MIRROR
      and not opts.node):
    ToStderr("Changing the disk template to a mirrored one requires specifying a secondary"
             " node")
    return EXIT_FAILURE
  if opts.ext_params and opts.disk_template != constants.DT_EXT:
    ToStderr("Specifying ExtStorage parameters requires converting to the '%s' disk"
             " template" % constants.DT_EXT)
    return EXIT_FAILURE
  offline = True if opts.offline_inst else (False if opts.online_inst else None)
  op = _Op("OpInstanceSetParams", instance_name=args[0], nics=nics, disks=disks,
           hotplug=opts.hotplug, hotplug_if_possible=opts.hotplug_if_possible,
           disk_template=opts.disk_template, ext_params=opts.ext_params,
           file_driver=opts.file_driver, file_storage_dir=opts.file_storage_dir,
           remote_node=opts.node, iallocator=opts.iallocator, pnode=opts.new_primary_node,
           hvparams=hvparams, beparams=beparams, runtime_mem=opts.runtime_mem,
           os_name=opts.os, osparams=opts.osparams, osparams_private=opts.osparams_private,
           force_variant=opts.force_variant, force=opts.force,
           wait_for_sync=opts.wait_for_sync, offline=offline,
           conflicts_check=opts.conflicts_check, ignore_ipolicy=opts.ignore_ipolicy,
           instance_communication=opts.instance_communication)
  result = SubmitOrSend(op, opts)
  if result:
    ToStdout("Modified instance %s", args[0])
    for param, value in result:
      ToStdout(" - %-5s -> %s", param, value)
    ToStdout("Please don't forget that most parameters take effect only at the next (re)start"
             " of the instance initiated by ganeti; restarting from within the instance will"
             " not be enough.")
    if opts.hvparams:
      ToStdout("Note that changing hypervisor parameters without performing a restart might"
               " lead to a crash while performing a live migration. This will be addressed in"
               " future Ganeti versions.")
  return EXIT_SUCCESS


# Moves


def _CheckTarget(opts: Any) -> None:
  if opts.iallocator and opts.dst_node:
    raise _Invalid("Specify either an iallocator (-I), or a target node (-n) but not both")


def FailoverInstance(opts: Any, args: list[str]) -> int:
  name = args[0]
  cl = GetClient()
  _CheckTarget(opts)
  if not opts.force:
    _EnsureInstancesExist(cl, [name])
    if not AskUser("Failover will happen to image %s. This requires a shutdown of the"
                   " instance. Continue?" % name):
      return EXIT_FAILURE
  if opts.ignore_consistency:
    if not AskUser("To failover instance %s, the source node must be marked offline first."
                   " Is this already the case?" % name):
      return EXIT_FAILURE
  # Ganeti's failover accepts --cleanup but leaves it out of the opcode
  SubmitOrSend(_Op("OpInstanceFailover", instance_name=name,
                   ignore_consistency=opts.ignore_consistency,
                   shutdown_timeout=opts.shutdown_timeout, iallocator=opts.iallocator,
                   target_node=opts.dst_node, ignore_ipolicy=opts.ignore_ipolicy),
               opts, cl=cl)
  return EXIT_SUCCESS


def MigrateInstance(opts: Any, args: list[str]) -> int:
  name = args[0]
  cl = GetClient()
  _CheckTarget(opts)
  if not opts.force:
    _EnsureInstancesExist(cl, [name])
    if opts.cleanup:
      question = ("Instance %s will be recovered from a failed migration. Note that the"
                  " migration procedure (including cleanup) might impact the instance if"
                  " anything goes wrong (e.g. due to bugs in the hypervisor). Continue?" % name)
    else:
      question = ("Instance %s will be migrated. Note that migration might impact the"
                  " instance if anything goes wrong (e.g. due to bugs in the hypervisor)."
                  " Continue?" % name)
    if not AskUser(question):
      return EXIT_FAILURE
  if not opts.live and opts.migration_mode is not None:
    raise _Invalid("Only one of the --non-live and --migration-mode options can be passed")
  mode = "non-live" if not opts.live else opts.migration_mode
  SubmitOrSend(_Op("OpInstanceMigrate", instance_name=name, mode=mode, cleanup=opts.cleanup,
                   iallocator=opts.iallocator, target_node=opts.dst_node,
                   allow_failover=opts.allow_failover,
                   allow_runtime_changes=opts.allow_runtime_chgs,
                   ignore_ipolicy=opts.ignore_ipolicy,
                   ignore_hvversions=opts.ignore_hvversions), opts, cl=cl)
  return EXIT_SUCCESS


def MoveInstance(opts: Any, args: list[str]) -> int:
  name = args[0]
  if not opts.force:
    if not AskUser("Instance %s will be moved. This requires a shutdown of the instance."
                   " Continue?" % name):
      return EXIT_FAILURE
  SubmitOrSend(_Op("OpInstanceMove", instance_name=name, target_node=opts.node,
                   compress=opts.compress, shutdown_timeout=opts.shutdown_timeout,
                   ignore_consistency=opts.ignore_consistency,
                   ignore_ipolicy=opts.ignore_ipolicy), opts)
  return EXIT_SUCCESS


def ChangeGroup(opts: Any, args: list[str]) -> int:
  name = args[0]
  cl = GetClient()
  result = SubmitOrSend(_Op("OpInstanceChangeGroup", instance_name=name,
                            target_groups=opts.to or None, iallocator=opts.iallocator,
                            early_release=opts.early_release), opts, cl=cl)
  executor = JobExecutor(cl=cl, opts=opts)
  for status, job_id in result[_JOB_IDS_KEY]:
    executor.AddJobId(None, status, job_id)
  failures = len([row for row in executor.GetResults() if not row[0]])
  unplaced = result.get("failed") or []
  if unplaced:
    ToStdout("The iallocator could not place: %s", ", ".join(unplaced))
    failures += len(unplaced)
  if failures:
    ToStdout("There were %s errors while changing group of instance '%s'.", failures, name)
    return EXIT_FAILURE
  ToStdout("Instance '%s' changed group successfully.", name)
  return EXIT_SUCCESS


# Disks


def ActivateDisks(opts: Any, args: list[str]) -> int:
  devices = SubmitOrSend(_Op("OpInstanceActivateDisks", instance_name=args[0],
                             ignore_size=opts.ignore_size,
                             wait_for_sync=opts.wait_for_sync), opts)
  for node, disk, path in devices:
    ToStdout("%s:%s:%s", node, disk, path)
  return EXIT_SUCCESS


def DeactivateDisks(opts: Any, args: list[str]) -> int:
  SubmitOrSend(_Op("OpInstanceDeactivateDisks", instance_name=args[0], force=opts.force), opts)
  return EXIT_SUCCESS


def RecreateDisks(opts: Any, args: list[str]) -> int:
  disks = []
  for index, params in opts.disks:
    position = _ParseIndex(index, "disk")
    params = dict(_CheckedDict("disk", position, params))
    if "size" in params:
      params["size"] = ParseUnit(params["size"])
    if "spindles" in params:
      params["spindles"] = int(params["spindles"])
    disks.append((position, params))
  nodes: list[str] = []
  if opts.node:
    if opts.iallocator:
      raise _Invalid("At most one of either --nodes or --iallocator can be passed")
    nodes = [node for node in SplitNodeOption(opts.node) if node is not None]
  SubmitOrSend(_Op("OpInstanceRecreateDisks", instance_name=args[0], disks=disks,
                   nodes=nodes, iallocator=opts.iallocator), opts)
  return EXIT_SUCCESS


def GrowDisk(opts: Any, args: list[str]) -> int:
  name, disk, amount = args
  try:
    disk_index = int(disk)
  except (TypeError, ValueError) as err:
    raise _Invalid("Invalid disk index: %s" % err) from None
  try:
    size = ParseUnit(amount)
  except errors.UnitParseError:
    raise _Invalid("Can't parse the given amount '%s'" % amount) from None
  SubmitOrSend(_Op("OpInstanceGrowDisk", instance_name=name, disk=disk_index, amount=size,
                   wait_for_sync=opts.wait_for_sync, absolute=opts.absolute,
                   ignore_ipolicy=opts.ignore_ipolicy), opts)
  return EXIT_SUCCESS


def ReplaceDisks(opts: Any, args: list[str]) -> int:
  disks = []
  if opts.disks:
    try:
      disks = [int(index) for index in opts.disks.split(",")]
    except (TypeError, ValueError) as err:
      raise _Invalid("Invalid disk index passed: %s" % err) from None
  modes = [(opts.on_primary, _REPLACE_PRI), (opts.on_secondary, _REPLACE_SEC),
           (opts.auto, _REPLACE_AUTO), (opts.dst_node is not None, _REPLACE_CHG),
           (opts.iallocator is not None, _REPLACE_CHG)]
  chosen = [mode for given, mode in modes if given]
  if len(chosen) != 1:
    raise _Invalid("One and only one of the -p, -s, -a, -n and -I options must be passed")
  if chosen[0] == _REPLACE_AUTO and disks:
    raise _Invalid("Cannot specify disks when using automatic mode")
  SubmitOrSend(_Op("OpInstanceReplaceDisks", instance_name=args[0], disks=disks,
                   remote_node=opts.dst_node, mode=chosen[0], iallocator=opts.iallocator,
                   early_release=opts.early_release, ignore_ipolicy=opts.ignore_ipolicy), opts)
  return EXIT_SUCCESS


# Console


def _SshConsoleCommand(console: dict, cluster_name: str) -> list[str]:
  """The ssh command line that opens the console on the instance's node."""
  import shlex  # pylint: disable=import-outside-toplevel
  command = console.get("command") or []
  remote = command if isinstance(command, str) else shlex.join(command)
  cmd = ["ssh", "-oEscapeChar=none", "-oBatchMode=yes", "-oHashKnownHosts=no",
         "-oGlobalKnownHostsFile=%s" % pathutils.SSH_KNOWN_HOSTS_FILE,
         "-oUserKnownHostsFile=/dev/null", "-oCheckHostIp=no",
         "-oHostKeyAlias=%s" % cluster_name, "-oStrictHostKeyChecking=yes", "-q", "-t"]
  if console.get("port"):
    cmd.extend(["-p", str(console["port"])])
  if console.get("user"):
    cmd.extend(["-l", console["user"]])
  return cmd + [console["host"], remote]


def _DoConsole(console: dict, show_command: bool, cluster_name: str) -> int:
  kind = console.get("kind")
  if kind == constants.CONS_MESSAGE:
    ToStdout("%s", console.get("message"))
  elif kind == constants.CONS_VNC:
    ToStdout("Instance %s has VNC listening on %s:%s (display %s), please use a VNC client"
             " to connect", console["instance"], console["host"], console["port"],
             console["display"])
  elif kind == constants.CONS_SPICE:
    ToStdout("Instance %s has SPICE listening on %s:%s", console["instance"], console["host"],
             console["port"])
  elif kind == constants.CONS_SSH:
    cmd = _SshConsoleCommand(console, cluster_name)
    if show_command:
      import shlex  # pylint: disable=import-outside-toplevel
      ToStdout("%s", shlex.join(cmd))
    else:
      os.execvp(cmd[0], cmd)
  else:
    raise errors.GenericError("Unknown console type '%s'" % kind)
  return EXIT_SUCCESS


def ConnectToInstanceConsole(opts: Any, args: list[str]) -> int:
  name = args[0]
  cl = GetClient()
  (cluster_name,) = cl.QueryConfigValues(["cluster_name"])
  rows = cl.QueryInstances([name], ["console", "oper_state"], False)
  if not rows:
    raise errors.OpPrereqError("Instance '%s' does not exist" % name, errors.ECODE_NOENT)
  ((console, running),) = rows
  if not console:
    if running:
      raise errors.OpExecError("Console information for instance %s is unavailable" % name)
    raise errors.OpExecError("Instance %s is not running, can't get console" % name)
  return _DoConsole(console, opts.show_command, cluster_name)


_ADD_OPTS = [
  BACKEND_OPT, DISK_OPT, DISK_TEMPLATE_OPT, FILESTORE_DIR_OPT, FILESTORE_DRIVER_OPT,
  HYPERVISOR_OPT, IALLOCATOR_OPT, NET_OPT, NODE_PLACEMENT_OPT, NODEGROUP_OPT, NOIPCHECK_OPT,
  NOCONFLICTSCHECK_OPT, NONAMECHECK_OPT, NONICS_OPT, NWSYNC_OPT, OSPARAMS_OPT,
  OSPARAMS_PRIVATE_OPT, OSPARAMS_SECRET_OPT, OS_SIZE_OPT, OPPORTUNISTIC_LOCKING_OPT,
  SUBMIT_OPT, PRINT_JOBID_OPT, TAG_ADD_OPT, DRY_RUN_OPT, PRIORITY_OPT, FORTHCOMING_OPT,
  COMMIT_OPT, NOSTART_OPT, OS_OPT, FORCE_VARIANT_OPT, NO_INSTALL_OPT, IGNORE_IPOLICY_OPT,
  INSTANCE_COMMUNICATION_OPT, HELPER_STARTUP_TIMEOUT_OPT, HELPER_SHUTDOWN_TIMEOUT_OPT]
_JOB_OPTS = [DRY_RUN_OPT, PRIORITY_OPT] + SUBMIT_OPTS
_TAG_OPTS = [TAG_SRC_OPT, PRIORITY_OPT] + SUBMIT_OPTS
_ONE_INSTANCE = "<instance-name>"

commands = {
  "add": (
    AddInstance, [ArgHost(min=1, max=1)], _ADD_OPTS,
    "[...] -t disk-type -n node[:secondary-node] -o os-type <instance-name>",
    "Creates and adds a new instance to the cluster"),
  "batch-create": (
    BatchCreate, [ArgFile(min=1, max=1)], [IALLOCATOR_OPT] + _JOB_OPTS, "<instances.json>",
    "Creates the instances described in a JSON file (a list of creation parameters)"),
  "remove": (
    RemoveInstance, ARGS_ONE_INSTANCE,
    [FORCE_OPT, SHUTDOWN_TIMEOUT_OPT, IGNORE_FAILURES_OPT] + _JOB_OPTS,
    "[-f] <instance-name>", "Shuts down the instance and removes it"),
  "startup": (
    StartupInstance, ARGS_MANY_INSTANCES,
    [FORCE_OPT, m_force_multi] + SELECTION_OPTS
    + [HVOPTS_OPT, BACKEND_OPT, IGNORE_OFFLINE_OPT, NO_REMEMBER_OPT, STARTUP_PAUSED_OPT]
    + _JOB_OPTS, "<instance>", "Starts instances"),
  "shutdown": (
    ShutdownInstance, ARGS_MANY_INSTANCES,
    [FORCE_OPT, m_force_multi] + SELECTION_OPTS
    + [TIMEOUT_OPT, IGNORE_OFFLINE_OPT, NO_REMEMBER_OPT] + _JOB_OPTS,
    "<instance>", "Stops instances"),
  "reboot": (
    RebootInstance, ARGS_MANY_INSTANCES,
    [m_force_multi, REBOOT_TYPE_OPT, IGNORE_SECONDARIES_OPT, SHUTDOWN_TIMEOUT_OPT]
    + SELECTION_OPTS + _JOB_OPTS, "<instance>", "Reboots instances"),
  "reinstall": (
    ReinstallInstance, [ArgInstance()],
    [FORCE_OPT, OS_OPT, FORCE_VARIANT_OPT, m_force_multi] + SELECTION_OPTS
    + [SELECT_OS_OPT, OSPARAMS_OPT, OSPARAMS_PRIVATE_OPT, OSPARAMS_SECRET_OPT] + _JOB_OPTS,
    "[-f] <instance>", "Reinstalls the OS of stopped instances (all their data is lost)"),
  "rename": (
    RenameInstance, [ArgInstance(min=1, max=1), ArgHost(min=1, max=1)],
    [FORCE_OPT, NOIPCHECK_OPT, NONAMECHECK_OPT] + _JOB_OPTS, "<old-name> <new-name>",
    "Renames an instance"),
  "info": (
    ShowInstanceConfig, ARGS_MANY_INSTANCES, [STATIC_OPT, ALL_OPT, ROMAN_OPT, PRIORITY_OPT],
    "[-s] {--all | <instance-name>...}", "Shows the details of instances"),
  "list": (
    ListInstances, ARGS_MANY_INSTANCES,
    [NOHDR_OPT, SEP_OPT, UNITS_OPT, FIELDS_OPT, VERBOSE_OPT, FILTER_OPT],
    "[<instance-name>...]",
    "Lists the instances and their status (\"list-fields\" shows the fields that can be"
    " selected; the default ones are %s)" % ", ".join(_LIST_DEF_FIELDS)),
  "list-fields": (
    ListInstanceFields, [ArgUnknown()], [NOHDR_OPT, SEP_OPT], "[fields...]",
    "Lists the fields available for instances"),
  "modify": (
    SetInstanceParams, ARGS_ONE_INSTANCE,
    [BACKEND_OPT, DISK_OPT, FORCE_OPT, HVOPTS_OPT, NET_OPT] + SUBMIT_OPTS
    + [DISK_TEMPLATE_OPT, SINGLE_NODE_OPT, IALLOCATOR_OPT, OS_OPT, FORCE_VARIANT_OPT,
       OSPARAMS_OPT, OSPARAMS_PRIVATE_OPT, DRY_RUN_OPT, PRIORITY_OPT, NWSYNC_OPT,
       OFFLINE_INST_OPT, ONLINE_INST_OPT, IGNORE_IPOLICY_OPT, RUNTIME_MEM_OPT,
       NOCONFLICTSCHECK_OPT, NEW_PRIMARY_OPT, HOTPLUG_OPT, HOTPLUG_IF_POSSIBLE_OPT,
       INSTANCE_COMMUNICATION_OPT, EXT_PARAMS_OPT, FILESTORE_DRIVER_OPT, FILESTORE_DIR_OPT],
    _ONE_INSTANCE, "Changes the parameters, disks and NICs of an instance"),
  "console": (
    ConnectToInstanceConsole, ARGS_ONE_INSTANCE, [SHOWCMD_OPT, PRIORITY_OPT],
    "[--show-cmd] <instance-name>", "Opens the console of an instance"),
  "migrate": (
    MigrateInstance, ARGS_ONE_INSTANCE,
    [FORCE_OPT, NONLIVE_OPT, MIGRATION_MODE_OPT, CLEANUP_OPT, DRY_RUN_OPT, PRIORITY_OPT,
     DST_NODE_OPT, IALLOCATOR_OPT, ALLOW_FAILOVER_OPT, IGNORE_IPOLICY_OPT,
     IGNORE_HVVERSIONS_OPT, NORUNTIME_CHGS_OPT] + SUBMIT_OPTS,
    "[-f] <instance-name>", "Moves a running instance to another node without stopping it"),
  "failover": (
    FailoverInstance, ARGS_ONE_INSTANCE,
    [FORCE_OPT, IGNORE_CONSIST_OPT] + SUBMIT_OPTS
    + [SHUTDOWN_TIMEOUT_OPT, DRY_RUN_OPT, PRIORITY_OPT, DST_NODE_OPT, IALLOCATOR_OPT,
       IGNORE_IPOLICY_OPT, CLEANUP_OPT],
    "[-f] <instance-name>",
    "Stops an instance, moves it to another node (the secondary, for mirrored disks) and"
    " starts it there if it was running"),
  "move": (
    MoveInstance, ARGS_ONE_INSTANCE,
    [FORCE_OPT] + SUBMIT_OPTS
    + [SINGLE_NODE_OPT, COMPRESS_OPT, SHUTDOWN_TIMEOUT_OPT, DRY_RUN_OPT, PRIORITY_OPT,
       IGNORE_CONSIST_OPT, IGNORE_IPOLICY_OPT],
    "[-f] <instance-name>", "Copies an instance to another node (file and plain disks)"),
  "replace-disks": (
    ReplaceDisks, ARGS_ONE_INSTANCE,
    [AUTO_REPLACE_OPT, REPLACE_DISKS_OPT, IALLOCATOR_OPT, EARLY_RELEASE_OPT,
     NEW_SECONDARY_OPT, ON_PRIMARY_OPT, ON_SECONDARY_OPT] + _JOB_OPTS + [IGNORE_IPOLICY_OPT],
    "[-s|-p|-a|-n NODE|-I NAME] <instance-name>", "Replaces the disks of an instance"),
  "activate-disks": (
    ActivateDisks, ARGS_ONE_INSTANCE,
    SUBMIT_OPTS + [IGNORE_SIZE_OPT, PRIORITY_OPT, WFSYNC_OPT], _ONE_INSTANCE,
    "Activates the disks of an instance"),
  "deactivate-disks": (
    DeactivateDisks, ARGS_ONE_INSTANCE, [FORCE_OPT] + _JOB_OPTS, "[-f] <instance-name>",
    "Deactivates the disks of an instance"),
  "recreate-disks": (
    RecreateDisks, ARGS_ONE_INSTANCE,
    SUBMIT_OPTS + [RECREATE_DISKS_OPT, NODE_PLACEMENT_OPT, DRY_RUN_OPT, PRIORITY_OPT,
                   IALLOCATOR_OPT], _ONE_INSTANCE, "Recreates the disks of an instance"),
  "grow-disk": (
    GrowDisk, [ArgInstance(min=1, max=1), ArgUnknown(min=1, max=1), ArgUnknown(min=1, max=1)],
    SUBMIT_OPTS + [NWSYNC_OPT, DRY_RUN_OPT, PRIORITY_OPT, ABSOLUTE_OPT, IGNORE_IPOLICY_OPT],
    "<instance-name> <disk> <size>", "Grows a disk of an instance"),
  "change-group": (
    ChangeGroup, ARGS_ONE_INSTANCE,
    [TO_GROUP_OPT, IALLOCATOR_OPT, EARLY_RELEASE_OPT, PRIORITY_OPT] + SUBMIT_OPTS,
    "[-I <iallocator>] [--to <group>] <instance-name>",
    "Moves an instance to another node group"),
  "list-tags": (
    ListTags, ARGS_ONE_INSTANCE, [], "<instance-name>", "Lists the tags of an instance"),
  "add-tags": (
    AddTags, [ArgInstance(min=1, max=1), ArgUnknown()], _TAG_OPTS, "<instance-name> <tag>...",
    "Adds tags to an instance"),
  "remove-tags": (
    RemoveTags, [ArgInstance(min=1, max=1), ArgUnknown()], _TAG_OPTS,
    "<instance-name> <tag>...", "Removes tags from an instance"),
}

aliases = {
  "start": "startup",
  "stop": "shutdown",
  "show": "info",
}


def Main() -> int:
  return GenericMain(commands, aliases=aliases,
                     override={"tag_type": constants.TAG_INSTANCE})
