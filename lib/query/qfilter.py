"""Query filters on the server side: decoding, compilation, evaluation.

DecodeFilter checks the structure of a filter received in list form and
normalises it (legacy "=" becomes "==", regular expressions are compiled);
its errors are request-level ("Failed to parse request").  Compile turns a
decoded filter into a predicate over (ctx, item) for the fields of a field
set; unknown fields are refused there.  Type errors show up while a filter
is evaluated, with the messages of Ganeti 3.0.

Evaluation rules: a condition on a field without a value (no data,
unavailable, offline) holds; "&" and "|" stop at the first deciding operand.
"""

import fractions
import operator
import re
from typing import Any, Callable, Optional

from ganeti import errors
from ganeti import qlang
from ganeti.query.common import FieldDef, FieldSet, ResultStatus, ShowValue

Predicate = Callable[[Any, Any], bool]

_COMPARATORS = {
  qlang.OP_EQUAL: operator.eq,
  qlang.OP_NOT_EQUAL: operator.ne,
  qlang.OP_LT: operator.lt,
  qlang.OP_LE: operator.le,
  qlang.OP_GT: operator.gt,
  qlang.OP_GE: operator.ge,
}
_BINARY = frozenset(_COMPARATORS) | frozenset([qlang.OP_EQUAL_LEGACY, qlang.OP_REGEXP,
                                               qlang.OP_CONTAINS])


class FilterDecodeError(errors.ParameterError):
  """A filter is not well-formed.

  The LUXI server answers these as unparsable requests:
  "Failed to parse request: Cannot convert value '<args>', error: <detail>".
  """

  @property
  def detail(self) -> str:
    return self.args[0]


# ---- decoding ---------------------------------------------------------------

def _ReadString(value: Any) -> str:
  """A string, as the daemon's JSON reader accepts it (lists of chars too)."""
  if isinstance(value, str):
    return value
  if isinstance(value, list):
    if all(isinstance(char, str) and len(char) == 1 for char in value):
      return "".join(value)
    raise FilterDecodeError("Unable to read Char")
  raise FilterDecodeError("Unable to read String")


def _ReadValue(value: Any) -> Any:
  """A filter value: string or integer (integral floats count as integers)."""
  if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
    return value
  if isinstance(value, float):
    if value.is_integer():
      return int(value)
    ratio = fractions.Fraction(value)
    raise FilterDecodeError("Cannot deserialise numeric filter value, expecting integral"
                            " but got a fractional value: %d %% %d" %
                            (ratio.numerator, ratio.denominator))
  raise FilterDecodeError("Cannot deserialise filter value, expecting string or integer,"
                          " got %s" % ShowValue(value))


def _CompileRegexp(pattern: str) -> re.Pattern:
  try:
    return re.compile(pattern)
  except re.error as err:
    raise FilterDecodeError('(%d,"%s")' % ((err.pos or 0) + 1, err.msg)) from None


def DecodeFilter(qfilter: Any) -> Optional[list]:
  """The checked and normalised form of a filter (None for no filter).

  @raise FilterDecodeError: if the filter is malformed

  """
  if qfilter is None:
    return None
  if not (isinstance(qfilter, list) and qfilter and isinstance(qfilter[0], str)):
    raise FilterDecodeError("Cannot deserialise filter: expected array [string, args],"
                            " got %s" % ShowValue(qfilter))
  op, args = qfilter[0], qfilter[1:]
  if op in (qlang.OP_AND, qlang.OP_OR):
    return [op] + [DecodeFilter(arg) for arg in args]
  if op == qlang.OP_NOT:
    if len(args) != 1:
      raise FilterDecodeError("Cannot deserialise field, expected [filter] but got %s" %
                              ShowValue(args))
    return [op, DecodeFilter(args[0])]
  if op == qlang.OP_TRUE:
    if len(args) != 1:
      raise FilterDecodeError("Cannot deserialise field, expected [fieldname] but got %s" %
                              ShowValue(args))
    return [op, _ReadString(args[0])]
  if op not in _BINARY:
    raise FilterDecodeError("Unknown filter operand '%s'" % op)
  if len(args) != 2:
    raise FilterDecodeError("Cannot deserialise field/value pair, expected [fieldname,"
                            " value] but got %s" % ShowValue(args))
  field = _ReadString(args[0])
  if op == qlang.OP_REGEXP:
    return [op, field, _CompileRegexp(_ReadString(args[1]))]
  if op == qlang.OP_EQUAL_LEGACY:
    op = qlang.OP_EQUAL
  return [op, field, _ReadValue(args[1])]


# ---- names ------------------------------------------------------------------

def ExtractNames(decoded: Optional[list], namefield: Optional[str]) -> Optional[list]:
  """The values a filter asks namefield to equal, if that is all it does.

  True for [==, namefield, v] and for "|" of such filters (nested too); the
  names come once each, in the order given.  None for any other filter.
  """
  if decoded is None or namefield is None:
    return None
  names: list = []

  def collect(node: list) -> bool:
    if node[0] == qlang.OP_EQUAL and node[1] == namefield:
      if node[2] not in names:
        names.append(node[2])
      return True
    return node[0] == qlang.OP_OR and all(collect(sub) for sub in node[1:])

  return names if collect(decoded) else None


def FilterFields(decoded: Optional[list]) -> list[str]:
  """Names of the fields a decoded filter refers to."""
  if decoded is None:
    return []
  if decoded[0] in (qlang.OP_AND, qlang.OP_OR, qlang.OP_NOT):
    return [name for sub in decoded[1:] for name in FilterFields(sub)]
  return [decoded[1]]


# ---- evaluation ---------------------------------------------------------------

def _ShowFilterValue(value: Any) -> str:
  if isinstance(value, str):
    return "QuotedString %s" % ShowValue(value)
  return "NumericValue %s" % (value if value >= 0 else "(%d)" % value)


def _IsNumber(value: Any) -> bool:
  return isinstance(value, (int, float)) and not isinstance(value, bool)


def _Comparison(op: str, wanted: Any) -> Callable[[Any], bool]:
  compare = _COMPARATORS[op]
  if isinstance(wanted, str):
    def test(value: Any) -> bool:
      if value.__class__ is str:
        return compare(value, wanted)
      raise _TypeMismatch(value, wanted)
  else:
    def test(value: Any) -> bool:
      if _IsNumber(value):
        return compare(value, wanted)
      raise _TypeMismatch(value, wanted)
  return test


def _TypeMismatch(value: Any, wanted: Any) -> errors.ParameterError:
  return errors.ParameterError("Invalid types in comparison, trying to compare %s with '%s'" %
                               (ShowValue(value), _ShowFilterValue(wanted)))


def _Regexp(regexp: re.Pattern) -> Callable[[Any], bool]:
  search = regexp.search

  def test(value: Any) -> bool:
    if value.__class__ is not str:
      raise errors.ParameterError("Invalid field value used in regexp matching, expecting"
                                  " string but got '%s'" % ShowValue(value))
    return search(value) is not None
  return test


def _Contains(wanted: Any) -> Callable[[Any], bool]:
  def check_elements(value: list) -> None:
    for element in value:
      if isinstance(wanted, str):
        if not isinstance(element, str):
          raise _Unreadable(value, "Char" if isinstance(element, list) and element
                            else "String")
      elif not (isinstance(element, int) and not isinstance(element, bool)):
        raise _Unreadable(value, "Integer")

  def test(value: Any) -> bool:
    if not isinstance(value, list):
      raise _Unreadable(value, "list")
    check_elements(value)
    return wanted in value
  return test


def _Unreadable(value: Any, what: str) -> errors.GenericError:
  return errors.GenericError("Cannot convert value '%s', error: Unable to read %s" %
                             (ShowValue(value), what))


def _Truth(value: Any) -> bool:
  if isinstance(value, bool):
    return value
  raise errors.ParameterError("Unexpected value '%s' in boolean context" % ShowValue(value))


def _Condition(get: Callable[[Any, Any], Any], test: Callable[[Any], bool]) -> Predicate:
  def predicate(ctx: Any, item: Any) -> bool:
    value = get(ctx, item)
    # A field without a value does not exclude the item
    if value.__class__ is ResultStatus:
      return True
    return test(value)
  return predicate


def Compile(decoded: Optional[list], fieldset: FieldSet,
            getter_of: Optional[Callable[[FieldDef], Callable]] = None) -> Optional[Predicate]:
  """A predicate(ctx, item) for a decoded filter; None for no filter.

  getter_of gives the function reading a field (default: its filter getter).

  @raise errors.ParameterError: for a field the field set does not have

  """
  if decoded is None:
    return None
  if getter_of is None:
    getter_of = lambda field: field.filter_getter or field.getter  # noqa: E731
  op = decoded[0]
  if op in (qlang.OP_AND, qlang.OP_OR):
    parts = tuple(Compile(sub, fieldset, getter_of) for sub in decoded[1:])
    # "&" stops at the first false operand, "|" at the first true one
    deciding = op == qlang.OP_OR

    def combined(ctx: Any, item: Any) -> bool:
      for part in parts:
        if part(ctx, item) is deciding:
          return deciding
      return not deciding
    return combined
  if op == qlang.OP_NOT:
    inner = Compile(decoded[1], fieldset, getter_of)
    return lambda ctx, item: not inner(ctx, item)
  field = fieldset.fields.get(decoded[1])
  if field is None:
    raise errors.ParameterError("Can't find field named '%s'" % decoded[1])
  if op == qlang.OP_TRUE:
    test = _Truth
  elif op == qlang.OP_REGEXP:
    test = _Regexp(decoded[2])
  elif op == qlang.OP_CONTAINS:
    test = _Contains(decoded[2])
  else:
    test = _Comparison(op, decoded[2])
  return _Condition(getter_of(field), test)
