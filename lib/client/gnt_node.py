"""gnt-node: add, remove, inspect and change the nodes of the cluster."""

from typing import Any

from ganeti import constants
from ganeti import errors
from ganeti.cli import *  # pylint: disable=wildcard-import,unused-wildcard-import
from ganeti.cli import EXIT_FAILURE, EXIT_SUCCESS

_LIST_DEF_FIELDS = ["name", "dtotal", "dfree", "mtotal", "mnode", "mfree", "pinst_cnt",
                    "sinst_cnt"]
_LIST_FORMAT = dict.fromkeys(["pinst_list", "sinst_list", "tags"], (",".join, False))

_VOLUME_HEADERS = {"node": "Node", "phys": "PhysDev", "vg": "VG", "name": "Name",
                   "size": "Size", "instance": "Instance"}
_LIST_VOL_DEF_FIELDS = list(_VOLUME_HEADERS)
_STORAGE_HEADERS = {"node": "Node", "type": "Type", "name": "Name", "size": "Size",
                    "used": "Used", "free": "Free", "allocatable": "Allocatable"}
_LIST_STOR_DEF_FIELDS = list(_STORAGE_HEADERS)
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
  "volumes": (
    ListVolumes, ARGS_MANY_NODES, _LIST_OPTS + [PRIORITY_OPT], "[<node-name>...]",
    "Lists the logical volumes of nodes"),
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
