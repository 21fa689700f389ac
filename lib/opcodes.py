"""Opcodes: the operations a job is made of.

The classes are generated from the table in ganeti.opcodes_defs: OP_TEST_DELAY
becomes OpTestDelay, and so on. An opcode holds only the parameters it was
given until Validate(set_defaults=True) fills in the rest; its wire form is a
plain dictionary of those parameters plus "OP_ID".
"""

from __future__ import annotations

from ganeti import errors
from ganeti import ht
from ganeti import opcodes_defs
from ganeti.utils.text import FormatDouble

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Any, Callable, Iterator, Optional
  Param = tuple[str, Any, ht.Check, str]

_MISSING = object()

# Opcode families abbreviated in TinySummary (as in Ganeti's job logs)
_TINY_PREFIXES = (("CLUSTER_", "C_"), ("GROUP_", "G_"), ("INSTANCE_", "I_"), ("NODE_", "N_"))

# How luxid names tag kinds in job summaries
_TAG_KIND_NAMES = {"cluster": "TagKindCluster", "instance": "TagKindInstance",
                   "node": "TagKindNode", "nodegroup": "TagKindGroup",
                   "network": "TagKindNetwork"}


def _FormatSummaryValue(value: Any) -> str:
  if isinstance(value, float):
    return FormatDouble(value)
  if isinstance(value, (list, tuple)):
    return ",".join(str(v) for v in value)
  return str(value)


def _FormatDuration(value: Any) -> str:
  if isinstance(value, (int, float)) and not isinstance(value, bool):
    return FormatDouble(value)
  return _FormatSummaryValue(value)


def _FormatTagKind(value: Any) -> str:
  return _TAG_KIND_NAMES.get(value, _FormatSummaryValue(value))


# Summary formatting that differs from the generic one
_DSC_FORMATTERS: dict[str, Callable[[Any], str]] = {
  "OP_TEST_DELAY": _FormatDuration,
  "OP_TAGS_GET": _FormatTagKind,
}


def _FreshDefault(default: Any) -> Any:
  return default() if callable(default) else default


class OpCode:
  """Base of all opcodes; holds the parameters common to every one of them."""

  OP_ID = "OP_CODE"
  OP_PARAMS: list[Param] = list(opcodes_defs.COMMON_PARAMS)
  OP_DSC_FIELD: str | None = None
  OP_DSC_FORMATTER: Callable[[Any], str] | None = None
  OP_RESULT: ht.Check | None = None
  WITH_LU = True
  # names of the parameters that must be given, and of all accepted ones
  _REQUIRED: frozenset[str] = frozenset()
  _NAMES: frozenset[str] = frozenset(p[0] for p in OP_PARAMS)

  __slots__ = tuple(p[0] for p in OP_PARAMS)

  def __init__(self, **kwargs: Any):
    names = self._NAMES
    for name, value in kwargs.items():
      if name not in names:
        raise TypeError("Object %s doesn't support the parameter '%s'"
                        % (type(self).__name__, name))
      setattr(self, name, value)

  @classmethod
  def GetAllParams(cls) -> list[Param]:
    """(name, default, check, doc) of every parameter, common ones last."""
    return cls.OP_PARAMS

  @classmethod
  def GetAllSlots(cls) -> list[str]:
    return [p[0] for p in cls.OP_PARAMS]

  def __getstate__(self) -> dict[str, Any]:
    """The wire form: the parameters that are set, plus OP_ID."""
    state = {}
    for name, _, _, _ in self.OP_PARAMS:
      value = getattr(self, name, _MISSING)
      if value is not _MISSING:
        state[name] = value
    state["OP_ID"] = self.OP_ID
    return state

  ToDict = __getstate__

  def __setstate__(self, state: dict[str, Any]) -> None:
    if not isinstance(state, dict):
      raise ValueError("Invalid data to __setstate__: expected dict, got %s" % type(state))
    names = self._NAMES
    for name, value in state.items():
      if name == "OP_ID":
        continue
      if name not in names:
        raise ValueError("Object %s doesn't support the parameter '%s'"
                         % (type(self).__name__, name))
      setattr(self, name, value)

  @staticmethod
  def LoadOpCode(data: Any) -> "OpCode":
    """Rebuilds an opcode from its wire form (see __getstate__)."""
    if not isinstance(data, dict):
      raise ValueError("Invalid data to LoadOpCode (%s)" % type(data))
    if "OP_ID" not in data:
      raise ValueError("Invalid data to LoadOpcode, missing OP_ID")
    op_id = data["OP_ID"]
    cls = OP_MAPPING.get(op_id) if isinstance(op_id, str) else None
    if cls is None:
      raise ValueError("Invalid data to LoadOpCode: OP_ID %s unsupported" % op_id)
    op = cls.__new__(cls)
    op.__setstate__(data)
    return op

  def Validate(self, set_defaults: bool) -> None:
    """Checks every parameter's type, filling unset ones with defaults if asked.

    Raises OpPrereqError for a missing required parameter or a wrong value.
    """
    required = self._REQUIRED
    for name, default, check, _ in self.OP_PARAMS:
      value = getattr(self, name, _MISSING)
      if value is _MISSING:
        if set_defaults:
          value = _FreshDefault(default)
          setattr(self, name, value)
        elif name in required:
          value = None
        else:
          continue
      if not check.test(value):
        raise errors.OpPrereqError("Parameter '%s.%s' fails validation" % (self.OP_ID, name),
                                   errors.ECODE_INVAL)

  def Summary(self) -> str:
    """One-line description as job listings show it, e.g. "NODE_ADD(node2)"."""
    text = self.OP_ID[3:]
    field = self.OP_DSC_FIELD
    if field is None:
      return text
    value = getattr(self, field, None)
    formatter = self.OP_DSC_FORMATTER or _FormatSummaryValue
    return "%s(%s)" % (text, formatter(value))

  def TinySummary(self) -> str:
    """The opcode's name with its family abbreviated, e.g. "I_STARTUP"."""
    text = self.OP_ID[3:]
    for prefix, short in _TINY_PREFIXES:
      if text.startswith(prefix):
        return short + text[len(prefix):]
    return text

  def __repr__(self) -> str:
    args = ", ".join("%s=%r" % item for item in self.__getstate__().items() if item[0] != "OP_ID")
    return "%s(%s)" % (type(self).__name__, args)


# luxid insists on a well-formed reason trail: [[source, reason, timestamp], ...]
_WIRE_REASON = ht.TListOf(ht.TTupleOf(ht.TString, ht.TString, ht.TInt))
_COMMON_NAMES = tuple(p[0] for p in opcodes_defs.COMMON_PARAMS)


def _WireKeys(names: Any) -> str:
  import json
  return json.dumps(list(names), separators=(",", ":"))


def _WireRequired(default: Any, check: ht.Check) -> bool:
  return default is None and (check is ht.TAny or not check.test(None))


def ParseSubmittedOpCode(data: Any) -> OpCode:
  """Checks an opcode submitted over LUXI the way luxid does, and builds it.

  Raises ValueError carrying luxid's explanation; luxid answers such a request
  with "Failed to parse request: SubmitJob: " followed by it. Defaults are not
  filled in: call Validate(True) on the result for that.
  """
  if not isinstance(data, dict):
    raise ValueError("Unable to read JSObject")

  def check_value(name: str, check: ht.Check) -> None:
    value = data[name]
    if not check.test(value):
      raise ValueError("Can't parse value for '%s': %s" % (name, check.Why(value)))

  def missing(name: str) -> ValueError:
    return ValueError("key '%s' not found, object contains only %s" % (name, _WireKeys(data)))

  for name, _, check, _ in opcodes_defs.COMMON_PARAMS:
    if name == "reason":
      if name not in data:
        raise missing(name)
      check = _WIRE_REASON
    if name in data:
      check_value(name, check)
  if "OP_ID" not in data:
    raise missing("OP_ID")
  op_id = data["OP_ID"]
  if not isinstance(op_id, str):
    raise ValueError("key 'OP_ID': Unable to read String")
  cls = OP_MAPPING.get(op_id)
  if cls is None:
    raise ValueError("Unknown opcode %s" % op_id)
  for name, default, check, _ in cls.OP_PARAMS:
    if name in _COMMON_NAMES:
      continue
    if name in data:
      check_value(name, check)
    elif _WireRequired(default, check):
      raise missing(name)
  extra = set(data) - cls._NAMES - {"OP_ID"}
  if extra:
    raise ValueError("Superfluous dictionary keys: %s, but only %s allowed."
                     % (_WireKeys(sorted(extra)), _WireKeys(sorted(cls._NAMES | {"OP_ID"}))))
  op = cls.__new__(cls)
  op.__setstate__(data)
  return op


def _ClassName(op_id: str) -> str:
  return "Op" + "".join(part.capitalize() for part in op_id[3:].split("_"))


def _ResolveParam(entry: "str | Param") -> Param:
  if isinstance(entry, str):
    default, check, doc = opcodes_defs.PARAMS[entry]
    return (entry, default, check, doc)
  return entry


def _MakeOpCodeClass(op_id: str, dsc_field: str | None, result: ht.Check,
                     entries: list) -> type:
  own = [_ResolveParam(e) for e in entries]
  params = own + OpCode.OP_PARAMS
  required = frozenset(name for name, default, check, _ in params
                       if default is None and not check.test(None))
  formatter = _DSC_FORMATTERS.get(op_id)
  attrs = {
    "OP_ID": op_id,
    "OP_PARAMS": params,
    "OP_DSC_FIELD": dsc_field,
    "OP_DSC_FORMATTER": staticmethod(formatter) if formatter else None,
    "OP_RESULT": result,
    "WITH_LU": op_id not in opcodes_defs.WITHOUT_LU,
    "_REQUIRED": required,
    "_NAMES": frozenset(p[0] for p in params),
    "__slots__": tuple(p[0] for p in own),
    "__doc__": "The %s opcode." % op_id,
  }
  return type(_ClassName(op_id), (OpCode,), attrs)


class _OpCodeClasses:
  """OP_ID -> opcode class, each class made when first asked for: making all
  of them took 35-50 ms of every command's start on a slow node, where a
  command needs one or two.  (A mapping without collections.abc's Mapping,
  whose import costs a command another 20 ms there.)"""

  def __init__(self) -> None:
    self._made: dict[str, type] = {}

  def __getitem__(self, op_id: str) -> type:
    cls = self._made.get(op_id)
    if cls is None:
      dsc_field, result, entries = opcodes_defs.OPCODES[op_id]
      made = _MakeOpCodeClass(op_id, dsc_field, result, entries)
      made.__module__ = __name__
      # two threads may make one at once: both use the first one stored
      cls = self._made.setdefault(op_id, made)
      globals()[cls.__name__] = cls
    return cls

  def __iter__(self) -> Iterator[str]:
    return iter(opcodes_defs.OPCODES)

  def __len__(self) -> int:
    return len(opcodes_defs.OPCODES)

  def __contains__(self, op_id: object) -> bool:
    return op_id in opcodes_defs.OPCODES

  def get(self, op_id: str, default: Optional[type] = None) -> Optional[type]:
    return self[op_id] if op_id in opcodes_defs.OPCODES else default

  def keys(self) -> Iterator[str]:
    return iter(self)

  def values(self) -> Iterator[type]:
    return (self[op_id] for op_id in self)

  def items(self) -> Iterator[tuple[str, type]]:
    return ((op_id, self[op_id]) for op_id in self)


OP_MAPPING = _OpCodeClasses()
_OP_IDS_BY_CLASS_NAME = {_ClassName(op_id): op_id for op_id in opcodes_defs.OPCODES}


def __getattr__(name: str) -> type:
  """The opcode classes as module attributes (OpTestDelay, ...), made on first use."""
  op_id = _OP_IDS_BY_CLASS_NAME.get(name)
  if op_id is None:
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
  return OP_MAPPING[op_id]


def __dir__() -> list[str]:
  return sorted(set(globals()) | set(_OP_IDS_BY_CLASS_NAME))
