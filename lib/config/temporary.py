"""Values reserved by running jobs before they reach the configuration.

A job (identified by its execution context id, "ec_id") that generates a
uuid or a MAC for an object it has not added yet reserves it here, so that
concurrent jobs never pick the same value.  Reservations end when the job
drops them (normally when it finishes).
"""

from typing import Any, Callable, Hashable, Optional

from ganeti import errors

# Kinds of reserved values
UUID = "uuid"
MAC = "mac"
IP = "ip"  # values: (action, network uuid, address), action "reserve" or "release"

# Attempts at generating an unused random value before giving up
_GENERATE_ATTEMPTS = 64


class TemporaryReservations:
  """Reserved values per kind and execution context; not thread-safe itself."""

  def __init__(self) -> None:
    self._reserved: dict[str, dict[Hashable, set]] = {}

  def IsReserved(self, kind: str, value: Any) -> bool:
    return any(value in values for values in self._reserved.get(kind, {}).values())

  def Reserve(self, kind: str, ec_id: Hashable, value: Any) -> None:
    """Reserves value for ec_id; a value held by any job is refused."""
    if self.IsReserved(kind, value):
      raise errors.ReservationError("Duplicate reservation for %s '%s'" % (kind, value))
    self._reserved.setdefault(kind, {}).setdefault(ec_id, set()).add(value)

  def Generate(self, kind: str, ec_id: Hashable, in_use: Callable[[Any], bool],
               generator: Callable[[], Any]) -> Any:
    """Generates and reserves a value that is neither in use nor reserved."""
    for _ in range(_GENERATE_ATTEMPTS):
      value = generator()
      if not in_use(value) and not self.IsReserved(kind, value):
        self.Reserve(kind, ec_id, value)
        return value
    raise errors.ConfigurationError("Can't generate a unique %s" % kind)

  def Held(self, kind: str, ec_id: Optional[Hashable] = None) -> set:
    """The values of one kind that ec_id (or, with None, any job) holds."""
    by_ec = self._reserved.get(kind, {})
    if ec_id is not None:
      return set(by_ec.get(ec_id, ()))
    return set().union(*by_ec.values())

  def HeldByContext(self, kind: str) -> dict[Hashable, set]:
    """The values of one kind per execution context holding them."""
    return {ec_id: set(values) for ec_id, values in self._reserved.get(kind, {}).items()}

  def Release(self, kind: str, ec_id: Hashable, value: Any) -> None:
    """Ends one reservation before its job ends (absent ones are fine)."""
    self._reserved.get(kind, {}).get(ec_id, set()).discard(value)

  def Drop(self, ec_id: Hashable, kind: Optional[str] = None) -> None:
    """Ends the reservations of one execution context (of one kind or all)."""
    for reserved_kind, by_ec in self._reserved.items():
      if kind is None or kind == reserved_kind:
        by_ec.pop(ec_id, None)
