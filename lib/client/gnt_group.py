"""gnt-group: create, change, list and remove node groups, move nodes
between them."""

from __future__ import annotations

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Any, Optional

from ganeti import constants
from ganeti.cli import *  # pylint: disable=wildcard-import,unused-wildcard-import
from ganeti.cli import EXIT_FAILURE, EXIT_SUCCESS
from ganeti.client.gnt_cluster import CreateIPolicyFromOpts

_LIST_DEF_FIELDS = ["name", "node_cnt", "pinst_cnt", "alloc_policy", "ndparams"]


def _FormatDict(params: dict) -> str:
  return ", ".join("%s=%s" % item for item in params.items())


_LIST_FORMAT = {
  "node_list": (",".join, False),
  "pinst_list": (",".join, False),
  "ndparams": (_FormatDict, False),
}

# The order "gnt-group info" and "show-ispecs-cmd" show instance specs in
_MINMAX_SHOWN = ("max", "min")
_MINMAX_CMDLINE = ("min", "max")
_RATIOS = ("vcpu-ratio", "spindle-ratio")

ALLOC_POLICY_OPT = CliOption("--alloc-policy", dest="alloc_policy", metavar="POLICY",
                             default=None,
                             help="Allocation policy of the group (%s)" %
                                  ", ".join(("preferred", "last_resort", "unallocable")))
GROUP_NDPARAMS_OPT = CliOption("--node-parameters", dest="ndparams", type="keyval",
                               default=None, help="Node parameters of the group's nodes")
TO_GROUP_OPT = CliOption("--to", dest="to", metavar="<group>", action="append", default=None,
                         help="A group to move the instances to (name or uuid); may be"
                              " repeated")
IALLOCATOR_OPT = CliOption("-I", "--iallocator", dest="iallocator", metavar="<NAME>",
                           default=None, help="The allocator plugin that places instances")
EARLY_RELEASE_OPT = CliOption("--early-release", dest="early_release", action="store_true",
                              default=False,
                              help="Release the secondary nodes' locks as soon as possible")
SEQUENTIAL_OPT = CliOption("--sequential", dest="sequential", action="store_true",
                           default=False, help="Run the resulting jobs one after the other")
FORCE_FAILOVER_OPT = CliOption("--force-failover", dest="force_failover",
                               action="store_true", default=False,
                               help="Never migrate instances, fail them over")
INCLUDE_DEFAULTS_OPT = CliOption("--include-defaults", dest="include_defaults",
                                 action="store_true", default=False,
                                 help="Show the inherited specs too")


def _Opcodes() -> Any:
  from ganeti import opcodes  # pylint: disable=import-outside-toplevel
  return opcodes


def _NestedByPath(entries: list[tuple[str, dict]]) -> dict:
  """"--disk-state storage/unit:name=value" options as {storage: {unit: {...}}}."""
  result: dict = {}
  for key, values in entries:
    target = result
    *parents, last = key.split("/")
    for part in parents:
      target = target.setdefault(part, {})
    target[last] = dict(values)
  return result


def _GroupParams(opts: Any) -> dict:
  """Opcode parameters common to add and modify."""
  return {
    "alloc_policy": opts.alloc_policy,
    "ndparams": opts.ndparams,
    "diskparams": dict(opts.diskparams),
    "hv_state": dict(opts.hv_state),
    "disk_state": _NestedByPath(opts.disk_state),
    "ipolicy": CreateIPolicyFromOpts(opts),
  }


def AddGroup(opts: Any, args: list[str]) -> int:
  op = MakeOpCode(_Opcodes().OpGroupAdd, group_name=args[0], **_GroupParams(opts))
  SubmitOrSend(op, opts)
  return EXIT_SUCCESS


def AssignNodes(opts: Any, args: list[str]) -> int:
  group, *nodes = args
  SubmitOrSend(MakeOpCode(_Opcodes().OpGroupAssignNodes, group_name=group, nodes=nodes,
                          force=opts.force), opts)
  return EXIT_SUCCESS


def SetGroupParams(opts: Any, args: list[str]) -> int:
  op = MakeOpCode(_Opcodes().OpGroupSetParams, group_name=args[0], **_GroupParams(opts))
  result = SubmitOrSend(op, opts)
  if result:
    ToStdout("Modified node group %s", args[0])
    for param, value in result:
      ToStdout(" - %-5s -> %s", param, value)
  return EXIT_SUCCESS


def RemoveGroup(opts: Any, args: list[str]) -> int:
  SubmitOrSend(MakeOpCode(_Opcodes().OpGroupRemove, group_name=args[0]), opts)
  return EXIT_SUCCESS


def RenameGroup(opts: Any, args: list[str]) -> int:
  old_name, new_name = args
  SubmitOrSend(MakeOpCode(_Opcodes().OpGroupRename, group_name=old_name, new_name=new_name),
               opts)
  return EXIT_SUCCESS


def EvacuateGroup(opts: Any, args: list[str]) -> int:
  """Evacuates a group; waits for the jobs the master submits for it."""
  cl = GetClient()
  op = MakeOpCode(_Opcodes().OpGroupEvacuate, group_name=args[0],
                  iallocator=opts.iallocator, target_groups=opts.to,
                  early_release=opts.early_release, sequential=opts.sequential,
                  force_failover=opts.force_failover)
  result = SubmitOrSend(op, opts, cl=cl)
  jobs = result["jobs"]
  failures = 0
  if jobs:
    executor = JobExecutor(cl=cl, opts=opts)
    for status, job_id in jobs:
      executor.AddJobId(None, status, job_id)
    failures = sum(1 for success, _ in executor.GetResults() if not success)
  if failures:
    ToStdout("There were %s errors during the evacuation.", failures)
    return EXIT_FAILURE
  ToStdout("All instances evacuated successfully.")
  return EXIT_SUCCESS


def ListGroups(opts: Any, args: list[str]) -> int:
  fields = ParseFields(opts.output, _LIST_DEF_FIELDS)
  return GenericList(constants.QR_GROUP, fields, args, None, opts.separator,
                     not opts.no_headers, format_override=_LIST_FORMAT, verbose=opts.verbose,
                     force_filter=opts.force_filter)


def ListGroupFields(opts: Any, args: list[str]) -> int:
  return GenericListFields(constants.QR_GROUP, args, opts.separator, not opts.no_headers)


def _Inherited(value: Any) -> str:
  if isinstance(value, list):
    value = ", ".join(str(item) for item in value)
  return "default (%s)" % (value,)


def FormatParamsInfo(custom: Optional[dict], actual: dict) -> list:
  """(name, value) rows of parameters; inherited values as "default (value)"."""
  custom = custom or {}
  rows = []
  for key in sorted(actual):
    value = actual[key]
    if isinstance(value, dict) and value:
      rows.append((key, FormatParamsInfo(custom.get(key), value)))
    elif key in custom:
      rows.append((key, str(custom[key])))
    else:
      rows.append((key, _Inherited(value)))
  return rows


def _IPolicyInfo(custom: dict, actual: dict) -> list:
  custom_bounds = custom.get("minmax")
  bounds = [[("%s/%d" % (kind, index),
              FormatParamsInfo(custom_bounds[index][kind] if custom_bounds else None,
                               minmax[kind]))
             for kind in _MINMAX_SHOWN]
            for index, minmax in enumerate(actual.get("minmax", []))]
  templates = custom.get("disk-templates")
  rows = [("bounds specs", bounds),
          ("allowed disk templates", ", ".join(templates) if templates is not None
           else _Inherited(actual.get("disk-templates", [])))]
  for ratio in _RATIOS:
    rows.append((ratio, str(custom[ratio]) if ratio in custom else _Inherited(actual[ratio])))
  return rows


_INFO_FIELDS = ["name", "ndparams", "custom_ndparams", "diskparams", "custom_diskparams",
                "ipolicy", "custom_ipolicy"]


def ShowGroupInfo(opts: Any, args: list[str]) -> int:
  rows = GetClient().QueryGroups(args, _INFO_FIELDS, False)
  PrintGenericInfo([[
    ("Node group", name),
    ("Node parameters", FormatParamsInfo(custom_nd, ndparams)),
    ("Disk parameters", FormatParamsInfo(custom_dp, diskparams)),
    ("Instance policy", _IPolicyInfo(custom_ip or {}, ipolicy)),
  ] for name, ndparams, custom_nd, diskparams, custom_dp, ipolicy, custom_ip in rows])
  return EXIT_SUCCESS


def _FormatSpec(spec: dict) -> str:
  return ",".join("%s=%s" % (key, spec[key]) for key in sorted(spec))


def ShowIspecsCmd(opts: Any, args: list[str]) -> int:
  """Prints, per group, the gnt-group add command giving it its instance specs."""
  field = "ipolicy" if opts.include_defaults else "custom_ipolicy"
  for name, ipolicy in GetClient().QueryGroups(args, ["name", field], False):
    parts = ["gnt-group add"]
    if ipolicy.get("minmax"):
      parts.append("--ipolicy-bounds-specs %s" % "//".join(
        "/".join("%s:%s" % (kind, _FormatSpec(minmax[kind])) for kind in _MINMAX_CMDLINE)
        for minmax in ipolicy["minmax"]))
    parts.append(name)
    ToStdout(" ".join(parts))
  return EXIT_SUCCESS


_LIST_OPTS = [NOHDR_OPT, SEP_OPT, FIELDS_OPT, VERBOSE_OPT, FILTER_OPT]
_PARAM_OPTS = [ALLOC_POLICY_OPT, GROUP_NDPARAMS_OPT, DISK_PARAMS_OPT, HV_STATE_OPT,
               DISK_STATE_OPT, IPOLICY_BOUNDS_SPECS_OPT, IPOLICY_DISK_TEMPLATES,
               IPOLICY_VCPU_RATIO, IPOLICY_SPINDLE_RATIO]
_TAG_OPTS = [TAG_SRC_OPT, PRIORITY_OPT] + SUBMIT_OPTS

commands = {
  "add": (
    AddGroup, ARGS_ONE_GROUP, [DRY_RUN_OPT, PRIORITY_OPT] + SUBMIT_OPTS + _PARAM_OPTS,
    "<group-name>", "Creates a node group"),
  "assign-nodes": (
    AssignNodes, [ArgGroup(min=1, max=1), ArgNode(min=1)],
    [DRY_RUN_OPT, FORCE_OPT, PRIORITY_OPT] + SUBMIT_OPTS, "<group-name> <node-name>...",
    "Moves nodes into a group"),
  "evacuate": (
    EvacuateGroup, ARGS_ONE_GROUP,
    [TO_GROUP_OPT, IALLOCATOR_OPT, EARLY_RELEASE_OPT, SEQUENTIAL_OPT, FORCE_FAILOVER_OPT]
    + SUBMIT_OPTS, "[-I <iallocator>] [--to <group>] <source-group>",
    "Moves all instances of a group to other groups"),
  "info": (
    ShowGroupInfo, ARGS_MANY_GROUPS, [], "[<group>...]",
    "Shows the parameters of groups (all without arguments)"),
  "list": (
    ListGroups, ARGS_MANY_GROUPS, _LIST_OPTS, "[<group-name>...]",
    "Lists the node groups (\"list-fields\" shows the fields that can be selected; the"
    " default ones are %s)" % ", ".join(_LIST_DEF_FIELDS)),
  "list-fields": (
    ListGroupFields, [ArgUnknown()], [NOHDR_OPT, SEP_OPT], "[fields...]",
    "Lists the fields available for node groups"),
  "modify": (
    SetGroupParams, ARGS_ONE_GROUP, [DRY_RUN_OPT, PRIORITY_OPT] + SUBMIT_OPTS + _PARAM_OPTS,
    "<group>", "Changes the parameters of a node group"),
  "remove": (
    RemoveGroup, ARGS_ONE_GROUP, [DRY_RUN_OPT, PRIORITY_OPT] + SUBMIT_OPTS,
    "[--dry-run] <group>", "Removes a node group without nodes"),
  "rename": (
    RenameGroup, [ArgGroup(min=1, max=1), ArgUnknown(min=1, max=1)],
    [DRY_RUN_OPT, PRIORITY_OPT] + SUBMIT_OPTS, "[--dry-run] <old-name> <new-name>",
    "Gives a node group a new name"),
  "show-ispecs-cmd": (
    ShowIspecsCmd, ARGS_MANY_GROUPS, [INCLUDE_DEFAULTS_OPT],
    "[--include-defaults] [<group>...]",
    "Prints the command line that recreates groups' instance specs"),
  "list-tags": (
    ListTags, ARGS_ONE_GROUP, [], "<group>", "Lists the tags of a group"),
  "add-tags": (
    AddTags, [ArgGroup(min=1, max=1), ArgUnknown()], _TAG_OPTS, "<group> <tag>...",
    "Adds tags to a group"),
  "remove-tags": (
    RemoveTags, [ArgGroup(min=1, max=1), ArgUnknown()], _TAG_OPTS, "<group> <tag>...",
    "Removes tags from a group"),
}


def Main() -> int:
  return GenericMain(commands, override={"tag_type": constants.TAG_NODEGROUP})
