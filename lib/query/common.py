"""Field definitions, field sets and the helpers every resource shares.

A field is data: name, title, kind (QFT_*), doc, a getter and the kind of
data the getter needs.  A getter is called as getter(ctx, item) and returns
the value, or one of the status markers NODATA, UNAVAIL, OFFLINE when there
is no value (the row then carries [status, None]).
"""

import dataclasses
import json
from typing import Any, Callable, Iterable, Optional

from ganeti import constants
from ganeti.utils.text import FormatDouble, NiceSortKey  # noqa: F401 (re-exported)

Getter = Callable[[Any, Any], Any]

# Kinds of data a getter reads; a caller gathers only what a query needs
DATA_CONFIG = "config"   # the configuration (or the item itself)
DATA_LIVE = "live"       # runtime state collected from nodes
DATA_CONSOLE = "console"  # instance console information


class ResultStatus:
  """Marker a getter returns instead of a value."""

  __slots__ = ("code",)

  def __init__(self, code: int) -> None:
    self.code = code

  def __repr__(self) -> str:
    return "<ResultStatus %d>" % self.code


UNKNOWN = ResultStatus(constants.RS_UNKNOWN)
NODATA = ResultStatus(constants.RS_NODATA)
UNAVAIL = ResultStatus(constants.RS_UNAVAIL)
OFFLINE = ResultStatus(constants.RS_OFFLINE)


@dataclasses.dataclass(frozen=True, slots=True)
class FieldDef:
  """One query field."""
  name: str
  title: str
  kind: str
  doc: str
  getter: Getter
  data: Optional[str] = DATA_CONFIG
  # What filters compare when it differs from the value shown
  filter_getter: Optional[Getter] = None

  def ToDict(self) -> dict:
    return {"name": self.name, "title": self.title, "kind": self.kind, "doc": self.doc}


def UnknownField(name: str) -> FieldDef:
  """The definition Ganeti reports for a field name it does not know."""
  return FieldDef(name, name, constants.QFT_UNKNOWN, "Unknown field '%s'" % name,
                  lambda ctx, item: UNKNOWN, None)


class FieldSet:
  """The fields of one resource."""

  def __init__(self, resource: str, fields: Iterable[FieldDef],
               namefield: Optional[str] = None) -> None:
    self.resource = resource
    self.namefield = namefield
    self.fields: dict[str, FieldDef] = {}
    for field in fields:
      assert field.name not in self.fields, "duplicate field %s" % field.name
      self.fields[field.name] = field

  def Get(self, name: str) -> FieldDef:
    return self.fields.get(name) or UnknownField(name)

  def AllFields(self) -> list[FieldDef]:
    return [self.fields[name] for name in sorted(self.fields, key=NiceSortKey)]


# ---- getter builders --------------------------------------------------------

def Attr(name: str) -> Getter:
  """The item's attribute name."""
  def getter(ctx: Any, item: Any) -> Any:
    return getattr(item, name)
  return getter


def OptionalAttr(name: str) -> Getter:
  """The item's attribute name; unavailable when None."""
  def getter(ctx: Any, item: Any) -> Any:
    value = getattr(item, name, None)
    return UNAVAIL if value is None else value
  return getter


def Fields(table: Iterable[tuple]) -> list[FieldDef]:
  """FieldDefs from (name, title, kind, doc, getter[, data]) tuples."""
  return [FieldDef(*row) for row in table]


def TimestampFields() -> list[FieldDef]:
  return Fields([
    ("ctime", "CTime", constants.QFT_TIMESTAMP, "Creation timestamp", Attr("ctime")),
    ("mtime", "MTime", constants.QFT_TIMESTAMP, "Modification timestamp", Attr("mtime")),
  ])


def SerialField(kind: str) -> FieldDef:
  return FieldDef("serial_no", "SerialNo", constants.QFT_NUMBER,
                  "%s object serial number, incremented on each modification" % kind,
                  Attr("serial_no"))


def TagsField() -> FieldDef:
  return FieldDef("tags", "Tags", constants.QFT_OTHER, "Tags",
                  lambda ctx, item: list(item.tags or []))


def UuidField(kind: str) -> FieldDef:
  return FieldDef("uuid", "UUID", constants.QFT_TEXT, "%s UUID" % kind, Attr("uuid"))


def Ordinal(number: int) -> str:
  """1st, 2nd, 3rd, 4th, ... 11th, 12th, 13th, 21st."""
  if 10 <= number % 100 <= 20:
    suffix = "th"
  else:
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
  return "%d%s" % (number, suffix)


# ---- rendering of values in messages ------------------------------------------

def ShowValue(value: Any) -> str:
  """JSON text of a value as Ganeti's error messages quote it."""
  if value is None:
    return "null"
  if isinstance(value, bool):
    return "true" if value else "false"
  if isinstance(value, int):
    return str(value)
  if isinstance(value, float):
    return FormatDouble(value)
  if isinstance(value, str):
    return json.dumps(value)
  if isinstance(value, dict):
    return "{%s}" % ", ".join("%s: %s" % (json.dumps(str(key)), ShowValue(item))
                              for key, item in value.items())
  if isinstance(value, (list, tuple)):
    return "[%s]" % ", ".join(ShowValue(item) for item in value)
  return json.dumps(str(value))
