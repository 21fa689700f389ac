"""The cluster's user-id pool, as a node hands its uids out.

Processes that must run as a user of their own (KVM instances with
security_model=pool) get a uid of the pool (gnt-cluster modify --uid-pool,
--add-uids, --remove-uids; ssconf's uid_pool).  A uid is taken by locking
its file below /var/run/ganeti/uid-pool and making sure no process runs as
it; once the new process runs as that uid, that process is what marks it as
used, so the lock is dropped, and the file goes when the uid is released.
"""

import fcntl
import os
import random
from typing import Iterable, Optional

from ganeti import errors
from ganeti import pathutils
from ganeti import ssconf
from ganeti.utils import io


def ParsePool(text: str) -> list[tuple[int, int]]:
  """Ranges (lower, upper) from ssconf's form: one "uid" or "lower-upper"
  per line."""
  ranges = []
  for line in text.split("\n"):
    line = line.strip()
    if line:
      lower, _, upper = line.partition("-")
      ranges.append((int(lower), int(upper or lower)))
  return ranges


def ExpandPool(ranges: Iterable[tuple[int, int]]) -> list[int]:
  return sorted({uid for lower, upper in ranges for uid in range(lower, upper + 1)})


def NodePool() -> list[int]:
  """The uids of the cluster's pool, as this node's ssconf has them."""
  try:
    return ExpandPool(ParsePool(ssconf.SimpleStore().GetUidPool()))
  except (errors.ConfigurationError, OSError, ValueError):
    return []


def IsUidUsed(uid: int) -> bool:
  """Whether a process runs with uid as any of its user ids."""
  for entry in os.listdir("/proc"):
    if not entry.isdigit():
      continue
    try:
      with open("/proc/%s/status" % entry) as handle:
        for line in handle:
          if line.startswith("Uid:"):
            if str(uid) in line.split()[1:]:
              return True
            break
    except OSError:
      continue  # the process is gone
  return False


class LockedUid:
  """A uid taken from the pool; Unlock once a process runs as it."""

  def __init__(self, uid: int, fd: int) -> None:
    self.uid = uid
    self._fd: Optional[int] = fd

  def Unlock(self) -> None:
    if self._fd is not None:
      os.close(self._fd)
      self._fd = None


def _LockFile(uid: int, lock_dir: str) -> str:
  return os.path.join(lock_dir, str(uid))


def RequestUnusedUid(uids: list[int],
                     lock_dir: str = pathutils.UIDPOOL_LOCKDIR) -> LockedUid:
  """A uid of uids that no process uses and no other starter holds."""
  if not uids:
    raise errors.HypervisorError("The cluster's uid pool is empty (gnt-cluster modify"
                                 " --uid-pool)")
  io.EnsureDirs([(lock_dir, 0o755)])
  candidates = list(uids)
  random.shuffle(candidates)
  for uid in candidates:
    fd = os.open(_LockFile(uid, lock_dir), os.O_RDWR | os.O_CREAT, 0o644)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
      os.close(fd)
      continue
    if IsUidUsed(uid):
      os.close(fd)
      continue
    return LockedUid(uid, fd)
  raise errors.HypervisorError("No free uids found in the cluster's uid pool")


def ReleaseUid(uid: int, lock_dir: str = pathutils.UIDPOOL_LOCKDIR) -> None:
  io.RemoveFile(_LockFile(uid, lock_dir))
