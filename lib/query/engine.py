"""The Query object: requested fields plus filter, applied to items."""

from typing import Any, Callable, Iterable, Optional

from ganeti import constants
from ganeti import errors
from ganeti.query.qfilter import Compile, DecodeFilter, ExtractNames, FilterFields
from ganeti.query.common import UNAVAIL, FieldDef, FieldSet, ResultStatus

_RS_NORMAL = constants.RS_NORMAL


def _Cell(result: Any) -> list:
  """The [status, value] pair of a getter's result."""
  if result.__class__ is ResultStatus:
    return [result.code, None]
  return [_RS_NORMAL, result]


def _PlainValue(result: Any) -> Any:
  return None if result.__class__ is ResultStatus else result


class MissingItem:
  """Stands for a requested name that has no item (e.g. an unknown job ID).

  Its row has the name in the name field and "unavailable" elsewhere.
  """

  __slots__ = ("name",)

  def __init__(self, name: Any) -> None:
    self.name = name


class Query:
  """A query of fields of one resource, with an optional filter.

  @param fieldset: the resource's fields
  @param fields: names of the fields to return, in order
  @param qfilter: filter in list form, or None
  @param namefield: field whose equality conditions name the items wanted
      (default: the field set's)
  @raise FilterDecodeError: for a malformed filter
  @raise errors.ParameterError: for a filter on an unknown field

  """

  def __init__(self, fieldset: FieldSet, fields: list[str], qfilter: Any = None,
               namefield: Optional[str] = None) -> None:
    self.fieldset = fieldset
    self.fields = [fieldset.Get(name) for name in fields]
    self.namefield = namefield or fieldset.namefield
    self._decoded = DecodeFilter(qfilter)
    self._predicate = Compile(self._decoded, fieldset)
    self._names = ExtractNames(self._decoded, self.namefield)

  def RequestedNames(self) -> Optional[list]:
    """The names the filter asks for, if it only selects by name; else None."""
    return self._names

  def RequestedData(self) -> frozenset[str]:
    """The kinds of data (DATA_*) the fields and the filter need."""
    fields = self.fields + [self.fieldset.fields[name]
                            for name in FilterFields(self._decoded)]
    return frozenset(field.data for field in fields if field.data)

  def GetFields(self) -> list[dict]:
    """Definitions of the requested fields, in the wire format."""
    return [field.ToDict() for field in self.fields]

  def UnknownFields(self) -> list[str]:
    return [field.name for field in self.fields if field.kind == constants.QFT_UNKNOWN]

  def _MissingGetter(self, field: FieldDef) -> Any:
    if field.name == self.namefield:
      return lambda ctx, item: item.name
    return lambda ctx, item: UNAVAIL

  def _Rows(self, ctx: Any, items: Iterable[Any], name_matches: Optional[Iterable[Any]],
            cell: Callable[[Any], Any]) -> list[list]:
    """cell(result) of each field of the items passing the filter.

    result is what the field's getter returns (a value or a status marker).
    With name_matches, an item passes if its name field is one of them (used
    once requested names have been expanded to full names).
    """
    getters = [field.getter for field in self.fields]
    predicate = self._predicate
    if name_matches is not None:
      wanted = frozenset(name_matches)
      get_name = self.fieldset.fields[self.namefield].getter
      predicate = lambda ctx, item: get_name(ctx, item) in wanted  # noqa: E731
    rows = []
    missing_getters: Optional[list] = None
    missing_predicate: Optional[Callable] = None
    for item in items:
      if item.__class__ is MissingItem:
        if missing_getters is None:
          missing_getters = [self._MissingGetter(field) for field in self.fields]
          missing_predicate = Compile(self._decoded, self.fieldset, self._MissingGetter)
        if missing_predicate is None or missing_predicate(ctx, item):
          rows.append([cell(get(ctx, item)) for get in missing_getters])
      elif predicate is None or predicate(ctx, item):
        rows.append([cell(get(ctx, item)) for get in getters])
    return rows

  def Query(self, ctx: Any, items: Iterable[Any],
            name_matches: Optional[Iterable[Any]] = None) -> list[list]:
    """Rows of [status, value] pairs for the items passing the filter."""
    return self._Rows(ctx, items, name_matches, _Cell)

  def OldStyleQuery(self, ctx: Any, items: Iterable[Any],
                    name_matches: Optional[Iterable[Any]] = None) -> list[list]:
    """Rows of plain values (None where there is no value), as the legacy
    LUXI calls (QueryJobs, QueryNodes, ...) return them.

    @raise errors.OpPrereqError: if unknown fields were requested

    """
    unknown = self.UnknownFields()
    if unknown:
      raise errors.OpPrereqError("Unknown output fields selected: %s" % ", ".join(unknown),
                                 errors.ECODE_INVAL)
    return self._Rows(ctx, items, name_matches, _PlainValue)

  def Result(self, ctx: Any, items: Iterable[Any],
             name_matches: Optional[Iterable[Any]] = None) -> dict:
    """The reply to a Query request: {"fields": [...], "data": [...]}."""
    return {"fields": self.GetFields(), "data": self.Query(ctx, items, name_matches)}


def QueryFields(fieldset: FieldSet, fields: Optional[list[str]]) -> dict:
  """The reply to QueryFields: the given fields, or all of them sorted by name."""
  definitions = ([fieldset.Get(name) for name in fields] if fields
                 else fieldset.AllFields())
  return {"fields": [field.ToDict() for field in definitions]}
