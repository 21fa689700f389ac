"""File helpers: atomic, durable writes and tolerant reads."""

import os
import tempfile
from typing import Iterable, Optional


def FsyncDir(path: str) -> None:
  """Makes a rename or creation inside directory path durable."""
  fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
  try:
    os.fsync(fd)
  finally:
    os.close(fd)


def WriteFile(path: str, data: str | bytes, mode: int = 0o644,
              fsync: bool = True, mkdir: bool = False) -> None:
  """Replaces path atomically: a temporary file beside it, fsync, rename.

  Readers see either the old or the new content, never a part; after a crash
  the file is one or the other.
  """
  if isinstance(data, str):
    data = data.encode("utf-8")
  directory = os.path.dirname(path) or "."
  if mkdir:
    os.makedirs(directory, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".",
                             suffix=".new")
  try:
    os.fchmod(fd, mode)
    view = memoryview(data)
    while view:
      view = view[os.write(fd, view):]
    if fsync:
      os.fsync(fd)
    os.close(fd)
    fd = -1
    os.rename(tmp, path)
  except BaseException:
    if fd >= 0:
      os.close(fd)
    try:
      os.unlink(tmp)
    except OSError:
      pass
    raise
  if fsync:
    FsyncDir(directory)


def ReadFile(path: str) -> str:
  with open(path, encoding="utf-8") as handle:
    return handle.read()


def TryReadFile(path: str) -> Optional[str]:
  """The file's content; None when it is not there (a /proc file of a process
  that went away while it was read fails with ESRCH)."""
  try:
    return ReadFile(path)
  except (FileNotFoundError, ProcessLookupError):
    return None


def RemoveFile(path: str) -> None:
  """Removes a file, ignoring that it is already gone."""
  try:
    os.unlink(path)
  except FileNotFoundError:
    pass


def EnsureDirs(dirs: Iterable[tuple[str, int]]) -> None:
  """Creates missing directories (and their parents) with exactly their mode.

  Existing directories are left as they are (outside a virtual cluster some,
  like /var/lock, belong to the system).
  """
  for path, mode in dirs:
    if os.path.isdir(path):
      continue
    parent = os.path.dirname(path)
    if parent and not os.path.isdir(parent):
      os.makedirs(parent, mode=0o755, exist_ok=True)
    try:
      os.mkdir(path, mode)
    except FileExistsError:
      continue
    os.chmod(path, mode)  # the umask must not weaken or strengthen the mode
