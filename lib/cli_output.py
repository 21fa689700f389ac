"""Text output of the command line tools: tables, units, times, nested info.

Everything here is pure formatting (no master daemon access), so it is cheap
to import and easy to test.
"""

from __future__ import annotations

import sys
import time

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Any, Callable, Iterable, Optional, Sequence

from ganeti import constants
from ganeti import errors
from ganeti.utils.text import FormatUnit

# Exit codes of the command line tools
EXIT_SUCCESS = 0
EXIT_FAILURE = 1
EXIT_NOTCLUSTER = 5
EXIT_NOTMASTER = 11
EXIT_NODESETUP_ERROR = 12
EXIT_CONFIRMATION = 13
EXIT_UNKNOWN_FIELD = 14

# Query field kinds as "list-fields" names them
QFT_NAMES = dict(zip(
  (constants.QFT_UNKNOWN, constants.QFT_TEXT, constants.QFT_BOOL, constants.QFT_NUMBER,
   constants.QFT_NUMBER_FLOAT, constants.QFT_UNIT, constants.QFT_TIMESTAMP, constants.QFT_OTHER),
  ("Unknown", "Text", "Boolean", "Number", "Floating-point number", "Storage size",
   "Timestamp", "Custom")))

# Result statuses other than RS_NORMAL: (text with -v, short text)
RSS_DESCRIPTION = {
  constants.RS_UNKNOWN: ("(unknown)", "??"),
  constants.RS_NODATA: ("(nodata)", "?"),
  constants.RS_OFFLINE: ("(offline)", "*"),
  constants.RS_UNAVAIL: ("(unavail)", "-"),
}

# Kinds whose columns are right-aligned
_NUMERIC_KINDS = frozenset([constants.QFT_NUMBER, constants.QFT_NUMBER_FLOAT, constants.QFT_UNIT])

# Seconds per suffix of a time specification ("1d", "12h", ...)
_TIMESPEC_SUFFIXES = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def ToStream(stream: Any, txt: str, *args: Any) -> None:
  """Writes one line (txt % args) to stream, ignoring a closed pipe."""
  try:
    stream.write((txt % args if args else txt) + "\n")
    stream.flush()
  except BrokenPipeError:
    pass


def ToStdout(txt: str, *args: Any) -> None:
  ToStream(sys.stdout, txt, *args)


def ToStderr(txt: str, *args: Any) -> None:
  ToStream(sys.stderr, txt, *args)


def ParseUnit(value: str) -> int:
  """A size given by the user ("512", "1.5g", "2T") in MiB."""
  from ganeti import paramdefs  # pylint: disable=import-outside-toplevel
  return paramdefs.ParseUnit(value)


def MergeTime(timestamp: Sequence[int]) -> float:
  """A (seconds, microseconds) pair as a float."""
  seconds, microseconds = timestamp
  return seconds + microseconds / 1000000.0


def FormatTime(value: Optional[float]) -> str:
  """A timestamp as "YYYY-MM-DD HH:MM:SS" (local time), or "N/A"."""
  if value is None:
    return "N/A"
  return time.strftime("%F %T", time.localtime(value))


def FormatTimestamp(timestamp: Any) -> str:
  """A (seconds, microseconds) pair with its microseconds, or "?"."""
  if not isinstance(timestamp, (list, tuple)) or len(timestamp) != 2:
    return "?"
  seconds, microseconds = timestamp
  return "%s.%06d" % (FormatTime(seconds), microseconds)


def ParseTimespec(value: str) -> int:
  """Seconds in a time specification: a number with an s/m/h/d/w suffix."""
  value = str(value)
  if not value:
    raise errors.OpPrereqError("Empty time specification passed", errors.ECODE_INVAL)
  multiplier = _TIMESPEC_SUFFIXES.get(value[-1])
  number = value[:-1] if multiplier else value
  try:
    return int(number) * (multiplier or 1)
  except (ValueError, TypeError):
    raise errors.OpPrereqError("Invalid time specification '%s'" % number,
                               errors.ECODE_INVAL) from None


def ParseFields(selected: Optional[str], default: list[str]) -> list[str]:
  """The fields of "-o": a comma list, or "+a,b" appended to the defaults."""
  if selected is None:
    return default
  if selected.startswith("+"):
    return default + selected[1:].split(",")
  return selected.split(",")


def _FormatColumn(value: Any, width: int, right: bool, last: bool) -> str:
  if right:
    return "%*s" % (width, value)
  return str(value) if last else "%-*s" % (width, value)


def FormatTable(rows: list[list[Any]], right_aligned: Sequence[bool],
                headers: Optional[list[str]], separator: Optional[str]) -> list[str]:
  """Lines of a table; without separator, columns are padded to a common width.

  Numeric columns are right-aligned; a text column at the end is not padded.
  A cell may hold a list: it is printed as such, and (as in Ganeti) only
  its length counts for the column width.
  """
  all_rows = ([headers] if headers else []) + rows
  if separator is not None:
    return [separator.join(str(value) for value in row) for row in all_rows]
  widths = [max([len(row[i]) for row in all_rows] or [0]) for i in range(len(right_aligned))]
  last = len(right_aligned) - 1
  return [" ".join(_FormatColumn(value, widths[i], right_aligned[i], i == last)
                   for i, value in enumerate(row))
          for row in all_rows]


def GenerateTable(headers: Optional[dict[str, str]], fields: list[str],
                  separator: Optional[str], data: Iterable[Sequence[Any]],
                  numfields: Iterable[str] = (), unitfields: Iterable[str] = (),
                  units: Optional[str] = None) -> list[str]:
  """Lines of a table of plain rows; headers maps field names to titles."""
  if units is None:
    units = "h" if separator is None else "m"
  numfields = frozenset(numfields)
  unitfields = frozenset(unitfields)
  rows = []
  for row in data:
    line = []
    for field, value in zip(fields, row):
      if field in unitfields:
        try:
          value = FormatUnit(float(value), units)
        except (TypeError, ValueError):
          pass
      line.append(str(value))
    rows.append(line)
  right = [f in numfields or f in unitfields for f in fields]
  header_row = [headers.get(f, f) for f in fields] if headers else None
  return FormatTable(rows, right, header_row, separator)


# Query results ("Query" LUXI call) as tables


class ColumnFormatter:
  """How to print one query column: a value formatter and its alignment."""

  def __init__(self, fn: Callable[[Any], str], right: bool) -> None:
    self.fn = fn
    self.right = right


def _ColumnFor(kind: str, unit: str, override: Optional[tuple]) -> ColumnFormatter:
  if override is not None:
    fn, right = override
    return ColumnFormatter(fn, bool(right))
  if kind == constants.QFT_BOOL:
    return ColumnFormatter(lambda v: "Y" if v else "N", False)
  if kind == constants.QFT_UNIT:
    return ColumnFormatter(lambda v: FormatUnit(v, unit), True)
  if kind == constants.QFT_TIMESTAMP:
    return ColumnFormatter(FormatTime, False)
  return ColumnFormatter(str, kind in _NUMERIC_KINDS)


def FormatResultError(status: int, verbose: bool) -> str:
  """The text shown instead of a value that has status (RS_*)."""
  try:
    verbose_text, short_text = RSS_DESCRIPTION[status]
  except KeyError:
    raise NotImplementedError("Unknown status %s" % status) from None
  return verbose_text if verbose else short_text


def FormatQueryResult(result: dict, unit: Optional[str] = None,
                      format_override: Optional[dict] = None,
                      separator: Optional[str] = None, header: bool = False,
                      verbose: bool = False) -> tuple[int, list[str], list[str]]:
  """Formats a Query answer {"fields": [...], "data": [...]} as table lines.

  Returns (exit code, unknown field names, lines); the exit code is
  EXIT_UNKNOWN_FIELD when a field was unknown.
  """
  if unit is None:
    unit = "h" if separator is None else "m"
  format_override = format_override or {}
  fields = result["fields"]
  columns = [_ColumnFor(f["kind"], unit, format_override.get(f["name"])) for f in fields]
  rows = []
  for row in result["data"]:
    line = []
    for column, (status, value) in zip(columns, row):
      if status == constants.RS_NORMAL:
        line.append(column.fn(value))
      else:
        line.append(FormatResultError(status, verbose))
    rows.append(line)
  unknown = [f["name"] for f in fields if f["kind"] == constants.QFT_UNKNOWN]
  headers = [f["title"] for f in fields] if header else None
  lines = FormatTable(rows, [c.right for c in columns], headers, separator)
  return (EXIT_UNKNOWN_FIELD if unknown else EXIT_SUCCESS), unknown, lines


def WarnUnknownFields(unknown: list[str]) -> None:
  if unknown:
    ToStderr("Warning: Queried for unknown fields %s", ", ".join(unknown))


def FormatFieldDefinitions(fielddefs: list[dict], header: bool,
                           separator: Optional[str]) -> list[str]:
  """The "list-fields" table: name, kind, title and description."""
  rows = [[f["name"], QFT_NAMES.get(f["kind"], f["kind"]), f["title"], f["doc"]]
          for f in fielddefs]
  headers = ["Name", "Type", "Title", "Description"] if header else None
  return FormatTable(rows, [False] * 4, headers, separator)


# Nested "key: value" listings (gnt-cluster info, gnt-job info, ...)


def _IsMapping(data: Any) -> bool:
  """dicts and lists of (key, value) tuples print as "key: value" lines."""
  if isinstance(data, dict):
    return True
  return (isinstance(data, list) and bool(data)
          and all(isinstance(item, tuple) and len(item) == 2 for item in data))


def _MappingItems(data: Any) -> list:
  if isinstance(data, dict):
    return sorted(data.items(), key=lambda item: str(item[0]))
  return data


def _IsNested(value: Any) -> bool:
  return isinstance(value, (dict, list, tuple))


def FormatGenericInfo(data: Any, indent: int = 0) -> list[str]:
  """Lines of a nested listing, YAML-like.

  Mappings (dicts, sorted by key, or lists of 2-tuples, in order) become
  "key: value" lines, other lists "- item" lines; nested values go below
  their key, indented by two spaces.
  """
  prefix = " " * indent
  lines = []
  if _IsMapping(data):
    for key, value in _MappingItems(data):
      if _IsNested(value):
        lines.append("%s%s: " % (prefix, key))
        lines.extend(FormatGenericInfo(value, indent + 2))
      else:
        lines.append("%s%s: %s" % (prefix, key, value))
  elif isinstance(data, (list, tuple)):
    for item in data:
      if _IsNested(item):
        sub = FormatGenericInfo(item, indent + 2)
        if sub:
          sub[0] = prefix + "- " + sub[0][indent + 2:]
          lines.extend(sub)
        else:
          lines.append(prefix + "- ")
      else:
        lines.append("%s- %s" % (prefix, item))
  else:
    lines.append("%s%s" % (prefix, data))
  return lines


def PrintGenericInfo(data: Any) -> None:
  for line in FormatGenericInfo(data):
    ToStdout(line)
