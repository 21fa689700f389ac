"""Helpers shared by the parts of the configuration writer."""

import functools
import re
from typing import Any, Callable, Iterable, Optional

from ganeti import firstchange
from ganeti import objects

DT_MIXED = "mixed"  # GetInstanceDiskTemplate of disks of different types


def Locked(method: Callable) -> Callable:
  """Runs a ConfigWriter method under the writer's lock."""
  @functools.wraps(method)
  def wrapper(self, *args, **kwargs):
    with self._lock:  # pylint: disable=protected-access
      return method(self, *args, **kwargs)
  return wrapper


def Writes(method: Callable) -> Callable:
  """Runs a ConfigWriter method that saves the configuration under the
  writer's lock, as an opcode's change (see firstchange): the wait for the
  opcode's start happens before the lock is taken, since the job queue's
  writer reads the configuration."""
  locked = Locked(method)

  @functools.wraps(method)
  def wrapper(self, *args, **kwargs):
    firstchange.BeforeChange()
    return locked(self, *args, **kwargs)
  wrapper.writes = True
  return wrapper


def CopyOrNone(obj: Optional[objects.ConfigObject]) -> Any:
  return obj.Copy() if obj is not None else None


def MatchNameComponent(key: str, names: Iterable[str]) -> Optional[str]:
  """The one name that key abbreviates, or None.

  "node1" matches "node1.example.com" (whole leading components, compared
  without regard to case); an exact match always wins, and among several
  candidates a single case-sensitive one is chosen.
  """
  names = list(names)
  if key in names:
    return key
  pattern = re.compile(r"%s(\..*)?" % re.escape(key), re.IGNORECASE)
  matches = [name for name in names if pattern.fullmatch(name)]
  if len(matches) == 1:
    return matches[0]
  narrowed = [name for name in matches
              if name.lower() == key.lower() or name.startswith(key + ".")]
  return narrowed[0] if len(narrowed) == 1 else None
