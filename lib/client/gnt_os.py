"""gnt-os: the OS definitions of the cluster's nodes and their settings."""

from __future__ import annotations

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Any, Optional

from ganeti.cli import *  # pylint: disable=wildcard-import,unused-wildcard-import
from ganeti.cli import EXIT_FAILURE, EXIT_SUCCESS

# Actions on the hidden/blacklisted OS lists
_LIST_ADD = "add"
_LIST_REMOVE = "remove"

# Fields each command asks OpOsDiagnose for; without "valid", "hidden" and
# "blacklisted" the master leaves out invalid, hidden and blacklisted OSes
_LIST_FIELDS = ["name", "variants"]
_INFO_FIELDS = ["name", "valid", "variants", "parameters", "api_versions", "blacklisted",
                "hidden", "os_hvp", "osparams", "trusted"]
_DIAGNOSE_FIELDS = ["name", "valid", "variants", "node_status", "hidden", "blacklisted"]

HVOPTS_OPT = CliOption("-H", "--hypervisor-parameters", dest="hvparams", type="identkeyval",
                       default=None,
                       help="Hypervisor and hypervisor options, in the format"
                            " hypervisor:option=value,option=value,...")
OSPARAMS_OPT = CliOption("-O", "--os-parameters", dest="osparams", type="keyval",
                         help="OS parameters")
OSPARAMS_PRIVATE_OPT = CliOption("--os-parameters-private", dest="osparams_private",
                                 type="keyprivateval", help="Private OS parameters"
                                                            " (won't be logged)")
HID_OS_OPT = CliOption("--hidden", dest="hidden", type="bool", metavar="yes|no",
                       help="Sets the hidden flag on the OS")
BLK_OS_OPT = CliOption("--blacklisted", dest="blacklisted", type="bool", metavar="yes|no",
                       help="Sets the blacklisted flag on the OS")


def _Opcodes() -> Any:
  from ganeti import opcodes  # pylint: disable=import-outside-toplevel
  return opcodes


def _Diagnose(opts: Any, fields: list[str]) -> list[list]:
  op = MakeOpCode(_Opcodes().OpOsDiagnose, output_fields=fields, names=[])
  return SubmitOpCode(op, opts=opts)


def _WithVariants(name: str, variants: list[str]) -> list[str]:
  """"os+variant" for every variant, or the bare name of an OS without any."""
  if not variants:
    return [name]
  return ["%s+%s" % (name, variant) for variant in variants]


def ListOS(opts: Any, args: list[str]) -> int:
  names = [full for name, variants in _Diagnose(opts, _LIST_FIELDS)
           for full in _WithVariants(name, variants)]
  # one column: the header is padded to the column's width, the names are not
  if not opts.no_headers:
    header = "Name"
    ToStdout("%-*s", max([len(header)] + [len(name) for name in names]), header)
  for name in names:
    ToStdout(name)
  return EXIT_SUCCESS


def _ShowOs(name: str, valid: bool, variants: list, parameters: list, api_versions: list,
            blacklisted: bool, hidden: bool, trusted: bool) -> None:
  ToStdout("%s:", name)
  ToStdout("  - valid: %s", valid)
  ToStdout("  - hidden: %s", hidden)
  ToStdout("  - blacklisted: %s", blacklisted)
  for title, values in (("API versions", api_versions), ("variants", variants)):
    if values:
      ToStdout("  - %s:", title)
      for value in values:
        ToStdout("    - %s", value)
  if parameters:
    ToStdout("  - parameters:")
    for pname, pdoc in parameters:
      ToStdout("    - %s: %s", pname, pdoc)
  ToStdout("  - trusted: %s", trusted)
  ToStdout("")


def _ShowVariantSettings(name: str, os_hvp: dict, osparams: dict) -> None:
  """What the cluster sets for an "os+variant" (or any name that is no OS)."""
  ToStdout("%s: ", name)
  for title, values in (("OS-specific hypervisor parameters", os_hvp.get(name)),
                        ("OS parameters", osparams.get(name))):
    if values:
      ToStdout("  %s: ", title)
      for line in FormatGenericInfo(values, 4):
        ToStdout(line)
  ToStdout("")


def ShowOSInfo(opts: Any, args: list[str]) -> int:
  """Details of the OSes (all, or the named ones); other names are taken
  as variants whose cluster settings are shown."""
  wanted = set(args)
  shown = set()
  all_hvp: dict = {}
  all_osparams: dict = {}
  for (name, valid, variants, parameters, api_versions, blacklisted, hidden, os_hvp,
       osparams, trusted) in _Diagnose(opts, _INFO_FIELDS):
    all_hvp.update(os_hvp or {})
    all_osparams.update(osparams or {})
    if args and name not in wanted:
      continue
    shown.add(name)
    _ShowOs(name, valid, variants, parameters, api_versions, blacklisted, hidden, trusted)
  for name in dict.fromkeys(args):
    if name not in shown:
      _ShowVariantSettings(name, all_hvp, all_osparams)
  return EXIT_SUCCESS


def _NodeEntryStatus(status: bool, message: str) -> str:
  return "valid" if status else "invalid - %s" % message


def _DescribeNodeEntry(entry: list) -> str:
  """One node's view of an OS: its first definition's status and details."""
  path, status, message, variants, parameters, api_versions, trusted = entry
  text = "%s (path: %s)" % (_NodeEntryStatus(status, message), path)
  newest = max(api_versions) if api_versions else 0
  if api_versions:
    text += " [API versions: %s]" % ", ".join(str(version) for version in api_versions)
  else:
    text += " [no API versions declared]"
  if newest >= 15:
    text += " [variants: %s]" % ", ".join(variants) if variants else " [no variants]"
  if newest >= 20:
    text += (" [parameters: %s]" % ", ".join(param[0] for param in parameters)
             if parameters else " [no parameters]")
  text += " [trusted]" if trusted else " [untrusted]"
  return text


def _GlobalStatus(node_status: dict) -> str:
  valid = sum(1 for entries in node_status.values() if entries and entries[0][1])
  if node_status and valid == len(node_status):
    return "valid"
  return "partial valid" if valid else "invalid"


def DiagnoseOS(opts: Any, args: list[str]) -> int:
  """Every OS with its status on every node; fails if any is not valid everywhere."""
  all_valid = True
  for name, _, variants, node_status, hidden, blacklisted in \
      _Diagnose(opts, _DIAGNOSE_FIELDS):
    status = _GlobalStatus(node_status)
    all_valid = all_valid and status == "valid"
    flags = "".join(flag for flag, value in ((" [hidden]", hidden),
                                             (" [blacklisted]", blacklisted)) if value)
    ToStdout("OS: %s [global status: %s]%s", name, status, flags)
    if variants:
      ToStdout("  Variants: [%s]", ", ".join(variants))
    for node, entries in node_status.items():
      if not entries:
        ToStdout("  Node: %s, status: OS not found", node)
        continue
      ToStdout("  Node: %s, status: %s", node, _DescribeNodeEntry(entries[0]))
      for later in entries[1:]:
        ToStdout("    [hidden] path: %s, status: %s", later[0],
                 _NodeEntryStatus(later[1], later[2]))
    ToStdout("")
  return EXIT_SUCCESS if all_valid else EXIT_FAILURE


def _ListChange(value: Optional[bool], os_name: str) -> Optional[list]:
  if value is None:
    return None
  return [(_LIST_ADD if value else _LIST_REMOVE, os_name)]


def ModifyOS(opts: Any, args: list[str]) -> int:
  """Sets the cluster's parameters and flags of an OS (which need not exist)."""
  os_name = args[0]
  os_hvp = None
  if opts.hvparams:
    hv_name, params = opts.hvparams
    os_hvp = {os_name: {hv_name: params}}
  osparams = {os_name: opts.osparams} if opts.osparams else None
  private = {os_name: opts.osparams_private} if opts.osparams_private else None
  hidden = _ListChange(opts.hidden, os_name)
  blacklisted = _ListChange(opts.blacklisted, os_name)
  if not (os_hvp or osparams or private or hidden or blacklisted):
    ToStderr("At least one of OS parameters or hypervisor parameters must be passed")
    return EXIT_FAILURE
  op = MakeOpCode(_Opcodes().OpClusterSetParams, os_hvp=os_hvp, osparams=osparams,
                  osparams_private_cluster=private, hidden_os=hidden,
                  blacklisted_os=blacklisted)
  SubmitOrSend(op, opts)
  return EXIT_SUCCESS


commands = {
  "list": (
    ListOS, ARGS_NONE, [NOHDR_OPT, PRIORITY_OPT], "",
    "Lists all valid operating systems on the cluster"),
  "diagnose": (
    DiagnoseOS, ARGS_NONE, [PRIORITY_OPT], "", "Diagnose all operating systems"),
  "info": (
    ShowOSInfo, [ArgOs()], [PRIORITY_OPT], "",
    "Show detailed information about operating systems"),
  "modify": (
    ModifyOS, ARGS_ONE_OS,
    [HVOPTS_OPT, OSPARAMS_OPT, OSPARAMS_PRIVATE_OPT, DRY_RUN_OPT, PRIORITY_OPT,
     HID_OS_OPT, BLK_OS_OPT, SUBMIT_OPT, PRINT_JOBID_OPT],
    "", "Modify the OS parameters"),
}


def Main() -> int:
  return GenericMain(commands)
