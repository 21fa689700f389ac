"""gnt-filter: the job filter rules of the job queue."""

from __future__ import annotations

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Any

from ganeti import constants
from ganeti.cli import *  # pylint: disable=wildcard-import,unused-wildcard-import
from ganeti.cli import EXIT_SUCCESS

_LIST_DEF_FIELDS = ["uuid", "watermark", "priority", "predicates", "action", "reason_trail"]

# (field, title) of "gnt-filter info", after the UUID line
_INFO_FIELDS = [
  ("watermark", "Watermark"),
  ("priority", "Priority"),
  ("predicates", "Predicates"),
  ("action", "Action"),
  ("reason_trail", "Reason trail"),
]

FILTER_PRIORITY_OPT = CliOption("--priority", dest="priority", type="int", default=0,
                                help="Order of the rule among the filters (lower first)")
FILTER_PREDICATES_OPT = CliOption("--predicates", dest="predicates", type="json", default=[],
                                  help="Predicates the jobs must match, as a JSON list of"
                                       " query language expressions")
FILTER_ACTION_OPT = CliOption("--action", dest="action", type="filteraction",
                              default=constants.JOBQUEUE_FILTER_ACTION_CONTINUE,
                              help="What happens to matching jobs: ACCEPT, PAUSE, REJECT,"
                                   " CONTINUE or \"RATE_LIMIT n\" (n a positive integer)")

_RULE_OPTS = [FILTER_PRIORITY_OPT, FILTER_PREDICATES_OPT, FILTER_ACTION_OPT]


def ListFilters(opts: Any, args: list[str]) -> int:
  fields = ParseFields(opts.output, _LIST_DEF_FIELDS)
  return GenericList(constants.QR_FILTER, fields, args, None, opts.separator,
                     not opts.no_headers, verbose=opts.verbose, namefield="uuid")


def ListFilterFields(opts: Any, args: list[str]) -> int:
  return GenericListFields(constants.QR_FILTER, args, opts.separator, not opts.no_headers)


def _ReplaceFilter(opts: Any, uuid: Any) -> int:
  result = GetClient().ReplaceFilter(uuid, opts.priority, opts.predicates, opts.action,
                                     opts.reason)
  ToStdout(result)
  return EXIT_SUCCESS


def AddFilter(opts: Any, args: list[str]) -> int:
  return _ReplaceFilter(opts, None)


def ReplaceFilter(opts: Any, args: list[str]) -> int:
  return _ReplaceFilter(opts, args[0])


def ShowFilter(opts: Any, args: list[str]) -> int:
  fields = ["uuid"] + [field for field, _ in _INFO_FIELDS]
  for row in GetClient().QueryFilters(args, fields):
    ToStdout("UUID: %s", row[0])
    for (_, title), value in zip(_INFO_FIELDS, row[1:]):
      ToStdout("  %s: %s", title, value)
  return EXIT_SUCCESS


def DeleteFilter(opts: Any, args: list[str]) -> int:
  GetClient().DeleteFilter(args[0])
  return EXIT_SUCCESS


commands = {
  "add": (
    AddFilter, ARGS_NONE, _RULE_OPTS, "", "Adds a filter rule"),
  "list": (
    ListFilters, ARGS_MANY_FILTERS, [NOHDR_OPT, SEP_OPT, FIELDS_OPT, VERBOSE_OPT],
    "[<filter-uuid>...]",
    "Lists the filter rules (\"list-fields\" shows the fields that can be selected;"
    " the default ones are %s)" % ", ".join(_LIST_DEF_FIELDS)),
  "list-fields": (
    ListFilterFields, [ArgUnknown()], [NOHDR_OPT, SEP_OPT], "[<fields>...]",
    "Lists the fields available for filter rules"),
  "info": (
    ShowFilter, ARGS_MANY_FILTERS, [], "[<filter-uuid>...]",
    "Shows the given filter rules (all without arguments)"),
  "replace": (
    ReplaceFilter, ARGS_ONE_FILTER, _RULE_OPTS, "<filter-uuid>",
    "Replaces a filter rule (or adds it under the given UUID)"),
  "delete": (
    DeleteFilter, ARGS_ONE_FILTER, [], "<filter-uuid>", "Deletes a filter rule"),
}


def Main() -> int:
  return GenericMain(commands)
