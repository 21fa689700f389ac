"""Composable type predicates for opcode parameters and results.

Every predicate is a `Check`: calling it with a value answers True or False,
str() gives a readable description ("None or (List of NonEmptyString)"), and
Why(value) explains a failure in the words luxid uses when it rejects a
submitted opcode ("Unable to read Bool", ...).

Descriptions wrap a part in parentheses when it contains a space, so nested
types read unambiguously. Tests are plain closures over the parts' own test
functions, which keeps a check cheap: they run on every submitted opcode.
"""

from __future__ import annotations

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Any, Callable, Iterable
  Test = Callable[[Any], bool]


class Check:
  """A named predicate; see the module docstring."""

  __slots__ = ("test", "desc", "_why")

  def __init__(self, test: Test, desc: str, why: "str | Callable[[Any], str]" = "Invalid value"):
    self.test = test
    self.desc = desc
    self._why = why

  def __call__(self, value: Any) -> bool:
    return self.test(value)

  def Why(self, value: Any) -> str:
    """Why value fails this check (only meaningful when it does)."""
    why = self._why
    return why if isinstance(why, str) else why(value)

  def __str__(self) -> str:
    return self.desc

  def __repr__(self) -> str:
    return "<Check %s>" % self.desc


def _Paren(check: Check) -> str:
  desc = check.desc
  return "(%s)" % desc if " " in desc else desc


def IsInt(value: Any) -> bool:
  """An integer that is not a bool (JSON keeps them apart)."""
  return isinstance(value, int) and not isinstance(value, bool)


def _IsNumber(value: Any) -> bool:
  return isinstance(value, (int, float)) and not isinstance(value, bool)


def QuoteValue(value: Any) -> str:
  """A value as luxid quotes it in messages: strings in double quotes."""
  if isinstance(value, str):
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')
  return str(value)


# Basic types

TAny = Check(lambda _: True, "Anything")
TNone = Check(lambda v: v is None, "None", "Expected null")
TBool = Check(lambda v: isinstance(v, bool), "Boolean", "Unable to read Bool")
TInt = Check(IsInt, "Integer", "Unable to read Int")
# luxid reads any JSON number as a Double, so an integral duration is fine too.
TFloat = Check(_IsNumber, "Float", "Unable to read Double")
TNumber = Check(_IsNumber, "Number", "Unable to read Double")
TString = Check(lambda v: isinstance(v, str), "String", "Unable to read String")
TNonEmptyString = Check(
  lambda v: isinstance(v, str) and v != "", "NonEmptyString",
  lambda v: "Received empty value for non-empty list" if v == "" else "Unable to read String")
TList = Check(lambda v: isinstance(v, list), "List", "Unable to read list")
TTuple = Check(lambda v: isinstance(v, tuple), "Tuple", "Unable to read list")
TDict = Check(lambda v: isinstance(v, dict), "Dictionary", "Unable to read JSObject")


# Combinators

def TOr(*checks: Check) -> Check:
  """Any of the checks holds; a failure is explained by the first non-None alternative."""
  tests = tuple(c.test for c in checks)
  explainer = next((c for c in checks if c is not TNone), checks[0])
  return Check(lambda v: any(t(v) for t in tests),
               " or ".join(_Paren(c) for c in checks), explainer.Why)


def TAnd(*checks: Check) -> Check:
  """All of the checks hold; a failure is explained by the first failing one."""
  tests = tuple(c.test for c in checks)

  def why(value: Any) -> str:
    return next(c.Why(value) for c in checks if not c.test(value))
  return Check(lambda v: all(t(v) for t in tests), " and ".join(_Paren(c) for c in checks), why)


def TMaybe(check: Check) -> Check:
  return TOr(TNone, check)


def TComment(check: Check, comment: str) -> Check:
  """The same check, its description annotated with a remark."""
  return Check(check.test, "%s [%s]" % (check.desc, comment), check.Why)


def TExplained(check: Check, why: "str | Callable[[Any], str]") -> Check:
  """The same check with a dedicated failure explanation."""
  return Check(check.test, check.desc, why)


def _FirstWhy(check: Check, items: Iterable[Any], default: str) -> str:
  return next((check.Why(i) for i in items if not check.test(i)), default)


def TListOf(check: Check) -> Check:
  test = check.test

  def why(value: Any) -> str:
    if not isinstance(value, list):
      return "Unable to read list"
    return _FirstWhy(check, value, "Invalid list element")
  return Check(lambda v: isinstance(v, list) and all(map(test, v)), "List of " + _Paren(check), why)


_SET_TYPES = (list, tuple, set, frozenset)


def TSetOf(check: Check) -> Check:
  """A collection (given as a JSON list) of distinct-meaning elements."""
  test = check.test

  def why(value: Any) -> str:
    if not isinstance(value, _SET_TYPES):
      return "readJSON{Set}: unable to parse array value"
    return _FirstWhy(check, value, "Invalid set element")
  return Check(lambda v: isinstance(v, _SET_TYPES) and all(map(test, v)),
               "Set of " + _Paren(check), why)


def TDictOf(key_check: Check, value_check: Check) -> Check:
  ktest, vtest = key_check.test, value_check.test

  def test(value: Any) -> bool:
    return isinstance(value, dict) and all(map(ktest, value)) and all(map(vtest, value.values()))

  def why(value: Any) -> str:
    if not isinstance(value, dict):
      return "Unable to read JSObject"
    return (_FirstWhy(key_check, value, "")
            or _FirstWhy(value_check, value.values(), "Invalid dictionary"))
  return Check(test, "Dictionary with keys of %s and values of %s"
               % (_Paren(key_check), _Paren(value_check)), why)


def TElemOf(values: Iterable[Any], type_name: str = "Value") -> Check:
  """One of the given values; type_name is how luxid names the enumeration."""
  ordered = tuple(values)
  allowed = frozenset(ordered)
  want_int = all(IsInt(v) for v in ordered)

  def test(value: Any) -> bool:
    try:
      return value in allowed
    except TypeError:  # unhashable
      return False

  def why(value: Any) -> str:
    if want_int and not _IsNumber(value):
      return "Can't parse value for '%s': Unable to read Int" % type_name
    if not want_int and not isinstance(value, str):
      return "Unable to read String"
    return "Invalid string value for type %s: %s" % (type_name, QuoteValue(value))
  return Check(test, "OneOf " + ", ".join(str(v) for v in ordered), why)


def TNonNegative(check: Check) -> Check:
  test = check.test
  return Check(lambda v: test(v) and v >= 0, "EqualOrGreaterThanZero",
               lambda v: ("Invalid value for non-negative type '%s'" % v
                          if test(v) else check.Why(v)))


def TPositive(check: Check) -> Check:
  test = check.test
  return Check(lambda v: test(v) and v > 0, "GreaterThanZero",
               lambda v: ("Invalid value for positive type '%s'" % v
                          if test(v) else check.Why(v)))


TNonNegativeInt = TNonNegative(TInt)
TPositiveInt = TPositive(TInt)


def TLessThan(limit: int) -> Check:
  return Check(lambda v: _IsNumber(v) and v < limit, "Less than %s" % limit,
               lambda v: "Value must be less than %s" % limit)


_SEQUENCE_NAMES = {2: "Pair", 3: "Triple"}


def TIsLength(length: int) -> Check:
  """A list or tuple of exactly this many items."""
  return Check(lambda v: isinstance(v, (list, tuple)) and len(v) == length,
               "Length %d" % length,
               "Unable to read %s" % _SEQUENCE_NAMES.get(length, "sequence of length %d" % length))


def TItems(checks: list[Check]) -> Check:
  """Item i of a sequence satisfies checks[i] (extra items are not looked at)."""
  tests = tuple(c.test for c in checks)
  count = len(tests)

  def test(value: Any) -> bool:
    if not isinstance(value, (list, tuple)) or len(value) < count:
      return False
    return all(t(i) for t, i in zip(tests, value))

  def why(value: Any) -> str:
    if not isinstance(value, (list, tuple)) or len(value) < count:
      return "Unable to read %s" % _SEQUENCE_NAMES.get(count, "sequence")
    return next(c.Why(i) for c, i in zip(checks, value) if not c.test(i))
  parts = ["item %d is %s" % (n, _Paren(c)) for n, c in enumerate(checks)]
  return Check(test, ("I" + ", ".join(parts)[1:]) if parts else "", why)


def TTupleOf(*checks: Check) -> Check:
  """A list or tuple with exactly one item per check."""
  items = TItems(list(checks))
  size = len(checks)
  return Check(lambda v: isinstance(v, (list, tuple)) and len(v) == size and items.test(v),
               "Tuple of (%s)" % ", ".join(c.desc for c in checks),
               lambda v: (items.Why(v) if isinstance(v, (list, tuple)) and len(v) == size
                          else "Unable to read %s" % _SEQUENCE_NAMES.get(size, "tuple")))


def TStrictDict(items: list[tuple[str, Check]]) -> Check:
  """A dictionary with exactly these keys, each value satisfying its check."""
  keys = frozenset(k for k, _ in items)
  pairs = tuple((k, c.test) for k, c in items)

  def test(value: Any) -> bool:
    return (isinstance(value, dict) and value.keys() == keys
            and all(t(value[k]) for k, t in pairs))

  def why(value: Any) -> str:
    if not isinstance(value, dict):
      return "Unable to read JSObject"
    missing = [k for k, _ in items if k not in value]
    if missing:
      return "key '%s' not found" % missing[0]
    return next((c.Why(value[k]) for k, c in items if not c.test(value[k])),
                "Superfluous dictionary keys")
  noun = "key" if len(items) == 1 else "keys"
  described = ", ".join('"%s" (value %s)' % (k, c.desc) for k, c in items)
  return Check(test, "Dictionary containing none but the required %s %s" % (noun, described), why)


def TPrivate(check: Check) -> Check:
  """A value kept out of logs; checked on its content (a wrapper's Get() if any)."""
  test = check.test

  def unwrap(value: Any) -> Any:
    getter = getattr(value, "Get", None)
    return getter() if callable(getter) else value
  return Check(lambda v: test(unwrap(v)), "Private " + _Paren(check),
               lambda v: check.Why(unwrap(v)))


# Job identifiers and dependencies

def _IsJobId(value: Any) -> bool:
  if isinstance(value, str):
    return value.isdigit() and value.isascii()
  return IsInt(value) and value >= 0


TJobId = Check(_IsJobId, "JobId",
               lambda v: ("parsing job id: cannot parse string '%s'" % v
                          if isinstance(v, str) else "Unable to read Int"))
TRelativeJobId = Check(lambda v: IsInt(v) and v < 0, "RelativeJobId",
                       "Relative job IDs must be negative")

# Conditions a job can wait for, in the order Ganeti lists them
JOB_DEP_STATUSES_ORDERED = ("error", "canceled", "success")


def TJobDependency(statuses: Iterable[str] = JOB_DEP_STATUSES_ORDERED) -> Check:
  """One [job id, [statuses]] pair; a relative id counts back from the new job."""
  return TAnd(TExplained(TOr(TListOf(TAny), TTuple), "Unable to read Pair"), TIsLength(2),
              TItems([TOr(TJobId, TRelativeJobId),
                      TListOf(TElemOf(statuses, "FinalizedJobStatus"))]))


TJobDependencies = TMaybe(TListOf(TJobDependency()))


# Instance modifications: [(action, index, params), ...] or the old [(action|index, params)]

DDM_VALUES_ORDERED = ("modify", "attach", "add", "detach", "remove")
DDM_SIMPLE_ORDERED = ("attach", "detach", "add", "remove")


def TSetParamsMods(params: Check) -> Check:
  """The nics/disks modification list of an instance modify opcode."""
  index = TComment(TOr(TInt, TString), "Device index, can be negative, e.g. -1 for last disk")
  recommended = TListOf(TAnd(TIsLength(3),
                             TItems([TElemOf(DDM_VALUES_ORDERED, "DdmFull"), index, params])))
  deprecated = TListOf(TAnd(TIsLength(2),
                            TItems([TOr(TElemOf(DDM_SIMPLE_ORDERED, "DdmSimple"), TNonNegativeInt),
                                    params])))
  return TOr(TComment(recommended, "Recommended"), TComment(deprecated, "Deprecated"))


# Network addresses (the ipaddress module is imported on first use: it is slow to load)

def _AddressTest(kind: str) -> Test:
  def test(value: Any) -> bool:
    if not isinstance(value, str):
      return False
    import ipaddress
    try:
      getattr(ipaddress, kind)(value)
    except ValueError:
      return False
    return True
  return test


TIPv4Address = Check(_AddressTest("IPv4Address"), "IPv4 address", "Invalid IPv4 address")
TIPv6Address = Check(_AddressTest("IPv6Address"), "IPv6 address", "Invalid IPv6 address")
TIPv4Network = Check(_AddressTest("IPv4Network"), "IPv4 network", "Invalid IPv4 network")
TIPv6Network = Check(_AddressTest("IPv6Network"), "IPv6 network", "Invalid IPv6 network")
