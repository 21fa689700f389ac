"""Ganeti's exception classes.

Class names are part of the wire protocol: LUXI and RAPI send a failure as
[ClassName, [args...]] and clients re-raise the class of the same name.
"""

from __future__ import annotations

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Any

# Error codes carried as the last argument of OpPrereqError and friends.
_ERROR_CODES = {
  "RESOLVER": "resolver_error",            # a name does not resolve
  "NORES": "insufficient_resources",       # not enough memory, disk, ...
  "TEMP_NORES": "temp_insufficient_resources",
  "INVAL": "wrong_input",                  # bad arguments
  "STATE": "wrong_state",                  # the object is in the wrong state
  "NOENT": "unknown_entity",
  "EXISTS": "already_exists",
  "NOTUNIQUE": "resource_not_unique",
  "FAULT": "internal_error",
  "ENVIRON": "environment_error",          # the node's environment is wrong
}
globals().update({"ECODE_" + _name: _code for _name, _code in _ERROR_CODES.items()})
ECODE_ALL = frozenset(_ERROR_CODES.values())


class GenericError(Exception):
  """Root of all Ganeti errors."""


class LVMError(GenericError):
  pass


class LockError(GenericError):
  pass


class PidFileLockError(LockError):
  pass


class HypervisorError(GenericError):
  pass


class HotplugError(HypervisorError):
  pass


class ProgrammerError(GenericError):
  """A bug: something that should never happen did."""


class BlockDeviceError(GenericError):
  pass


class CertificateError(GenericError):
  pass


class ConfigurationError(GenericError):
  pass


class ConfigVersionMismatch(ConfigurationError):
  pass


class AddressPoolError(GenericError):
  pass


class ReservationError(GenericError):
  pass


class RemoteError(GenericError):
  pass


class SignatureError(GenericError):
  pass


class ParameterError(GenericError):
  """A parameter has a wrong value; args[0] names the parameter."""


class ResultValidationError(GenericError):
  pass


class OpPrereqError(GenericError):
  """A prerequisite of an operation is not met; args are (message, error code)."""


class OpExecError(GenericError):
  pass


class OpResultError(GenericError):
  pass


class OpCodeUnknown(GenericError):
  pass


class JobLost(GenericError):
  pass


class JobFileCorrupted(GenericError):
  pass


class ResolverError(GenericError):
  """Name resolution failed: args are (name, errno, message)."""


class HooksFailure(GenericError):
  pass


class HooksAbort(HooksFailure):
  pass


class UnitParseError(GenericError):
  pass


class ParseError(GenericError):
  pass


class TypeEnforcementError(GenericError):
  pass


class X509CertError(GenericError):
  pass


class TagError(GenericError):
  pass


class CommandError(GenericError):
  pass


class StorageError(GenericError):
  pass


class InotifyError(GenericError):
  pass


class QuitGanetiException(Exception):
  """Ends a daemon or program in an orderly way; args are (is_error, message)."""


class JobQueueError(GenericError):
  pass


class JobQueueDrainError(JobQueueError):
  pass


class JobQueueFull(JobQueueError):
  pass


class ConfdMagicError(GenericError):
  pass


class ConfdClientError(GenericError):
  pass


class UdpDataSizeError(GenericError):
  pass


class NoCtypesError(GenericError):
  pass


class IPAddressError(GenericError):
  pass


class LuxiError(GenericError):
  pass


class QueryFilterParseError(ParseError):
  """A query filter could not be parsed; args[1] may hold the parser detail."""

  def GetDetails(self) -> list[str]:
    """Lines explaining the error beyond its message."""
    return [str(detail) for detail in self.args[1:] if detail]


class FileStoragePathError(GenericError):
  pass


class SshUpdateError(GenericError):
  pass


class JobSubmittedException(Exception):
  """Raised by CLI code paths once a job was submitted with --submit; args[0] is its id."""


def _all_classes() -> dict[str, type]:
  found = {}
  for name, value in globals().items():
    if isinstance(value, type) and issubclass(value, Exception) and not name.startswith("_"):
      found[name] = value
  return found


_CLASSES = _all_classes()


def GetErrorClass(name: str) -> type | None:
  """The error class called name, or None."""
  return _CLASSES.get(name)


def EncodeException(err: BaseException) -> list:
  """The wire form of an exception: [class name, [arguments]]."""
  if isinstance(err, GenericError) or type(err).__name__ in _CLASSES:
    name = type(err).__name__
  else:
    name = "OpExecError"
  return [name, [_jsonable(a) for a in err.args]]


def _jsonable(value: Any) -> Any:
  if value is None or isinstance(value, (str, int, float, bool)):
    return value
  if isinstance(value, (list, tuple)):
    return [_jsonable(v) for v in value]
  if isinstance(value, dict):
    return {str(k): _jsonable(v) for k, v in value.items()}
  return str(value)


def DecodeException(data: Any) -> Exception | None:
  """Rebuilds an exception from its wire form, or None if data is not one."""
  if not (isinstance(data, (list, tuple)) and len(data) == 2
          and isinstance(data[0], str) and isinstance(data[1], (list, tuple))):
    return None
  cls = _CLASSES.get(data[0])
  if cls is None:
    return None
  return cls(*data[1])


def MaybeRaise(result: Any) -> None:
  """Raises the exception encoded in result, if it encodes one."""
  err = DecodeException(result)
  if err is not None:
    raise err
