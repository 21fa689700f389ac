"""gnt-storage: the ExtStorage providers of the cluster's nodes."""

from __future__ import annotations

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Any

from ganeti.cli import *  # pylint: disable=wildcard-import,unused-wildcard-import
from ganeti.cli import EXIT_FAILURE, EXIT_SUCCESS

_DIAGNOSE_FIELDS = ["name", "node_status", "nodegroup_status"]
_INFO_FIELDS = ["name", "nodegroup_status", "parameters"]


def _Diagnose(opts: Any, fields: list[str], names: list[str]) -> list[list]:
  from ganeti import opcodes  # pylint: disable=import-outside-toplevel
  return SubmitOpCode(MakeOpCode(opcodes.OpExtStorageDiagnose, output_fields=fields,
                                 names=names), opts=opts)


def _Validity(valid: bool) -> str:
  return "valid" if valid else "invalid"


def _DescribeNodeEntry(entry: list) -> str:
  """One node's first directory of a provider: usable or why not, path and
  parameter names."""
  path, valid, diagnose, parameters = entry
  status = "valid" if valid else "invalid - %s" % diagnose
  params = ("[parameters: %s]" % ", ".join(name for name, _ in parameters) if parameters
            else "[no parameters]")
  return "%s (path: %s) %s" % (status, path, params)


def DiagnoseExtStorage(opts: Any, args: list[str]) -> int:
  """Every provider, node by node and judged per node group."""
  rows = _Diagnose(opts, _DIAGNOSE_FIELDS, [])
  if not rows:
    ToStderr("Can't get the list of ExtStorage providers")
    return EXIT_FAILURE
  for name, node_status, group_status in rows:
    ToStdout("Provider: %s", name)
    ToStdout("---")
    for node, entries in node_status.items():
      if entries:
        ToStdout("  Node: %s, status: %s", node, _DescribeNodeEntry(entries[0]))
      else:
        ToStdout("  Node: %s, status: invalid - ExtStorage provider not found", node)
    ToStdout("  --")
    for group, valid in sorted(group_status.items()):
      ToStdout("  For nodegroup: %s --> %s", group, _Validity(valid))
    ToStdout("")
  return EXIT_SUCCESS


def ShowExtStorageInfo(opts: Any, args: list[str]) -> int:
  """The node groups a provider is usable in and its parameters."""
  rows = {row[0]: row for row in _Diagnose(opts, _INFO_FIELDS, [])}
  for name in args or sorted(rows):
    if name not in rows:
      ToStdout("%s: Not Found", name)
      ToStdout("")
      continue
    _, group_status, parameters = rows[name]
    ToStdout("%s:", name)
    valid_groups = sorted(group for group, valid in group_status.items() if valid)
    if not valid_groups:
      ToStdout("  - Invalid for all nodegroups")
    else:
      ToStdout("  - Valid for nodegroups:")
      for group in valid_groups:
        ToStdout("      %s", group)
      if parameters:
        ToStdout("  - Supported parameters:")
        for param, description in parameters:
          ToStdout("      %s: %s", param, description)
    ToStdout("")
  return EXIT_SUCCESS


commands = {
  "diagnose": (
    DiagnoseExtStorage, ARGS_NONE, [PRIORITY_OPT], "",
    "Shows every ExtStorage provider's state on every node and in every node group"),
  "info": (
    ShowExtStorageInfo, [ArgExtStorage()], [PRIORITY_OPT], "[<provider>...]",
    "Shows the node groups an ExtStorage provider is usable in, and its parameters"),
}


def Main() -> int:
  return GenericMain(commands)
