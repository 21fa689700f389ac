"""File-backed disks (templates file and sharedfile): one regular file per disk.

The logical id is (driver, path).  A disk file is created sparse with the
disk's size, lives in its instance's directory below a file storage
directory, and must lie inside one of the node's allowed file storage paths.
The master names new disk files with FileDiskPath (pure, no I/O).
"""

import os
import posixpath
from typing import Any, Iterable, Optional, Sequence

from ganeti import errors
from ganeti.constants import DT_FILE
from ganeti.storage import base

# File drivers (how the hypervisor reaches the file; Ganeti's FD_*)
FD_LOOP = "loop"
FD_BLKTAP = "blktap"
FD_BLKTAP2 = "blktap2"
FD_DEFAULT = FD_LOOP
FILE_DRIVERS = frozenset([FD_LOOP, FD_BLKTAP, FD_BLKTAP2])

# A disk file is readable and writable by its owner only, like Ganeti's
_DISK_FILE_MODE = 0o700


# --- naming (master side) ----------------------------------------------------

def InstanceFileStorageDir(storage_dir: str, instance_name: str,
                           subdir: Optional[str] = None) -> str:
  """The directory holding an instance's disk files.

  storage_dir is the cluster's (shared) file storage directory; subdir is the
  optional relative directory given at creation (--file-storage-dir).
  """
  if subdir:
    if posixpath.isabs(subdir) or ".." in subdir.split("/"):
      raise errors.OpPrereqError("File storage directory '%s' must be a relative path"
                                 " below the cluster's file storage directory" % subdir,
                                 errors.ECODE_INVAL)
    return posixpath.normpath(posixpath.join(storage_dir, subdir, instance_name))
  return posixpath.normpath(posixpath.join(storage_dir, instance_name))


def FileDiskPath(instance_dir: str, unique_name: str, disk_index: int,
                 dev_type: str = DT_FILE) -> str:
  """A disk file's path: <instance dir>/<unique name>.<dev type>.disk<index>.

  unique_name is a freshly generated id (not the disk's uuid).
  """
  return "%s/%s.%s.disk%d" % (instance_dir, unique_name, dev_type, disk_index)


def FileLogicalId(driver: Optional[str], path: str) -> list[str]:
  """The logical id of a file disk."""
  return [driver or FD_DEFAULT, path]


def DiskFileDir(logical_id: Sequence[Any]) -> str:
  """The instance directory a file disk lives in (from its logical id)."""
  return posixpath.dirname(logical_id[1])


# --- the allow-list (node side) ---------------------------------------------

def CheckFileStoragePathAcceptance(path: str, allowed: Iterable[str]) -> None:
  """Refuses a disk path that is not strictly inside one of the allowed dirs.

  Both are compared in normalized form, so '..' cannot escape.
  """
  normalized = os.path.normpath(path)
  for root in allowed:
    root = os.path.normpath(root)
    if os.path.isabs(normalized) and normalized.startswith(root.rstrip("/") + "/"):
      return
  raise errors.FileStoragePathError("Path '%s' is not acceptable for file storage" % path)


# --- the device ----------------------------------------------------------------

class FileStorage(base.BlockDev):
  """A disk stored in a regular file; the path is the device."""

  def __init__(self, unique_id: Sequence[Any], children: Sequence[Any], size: int,
               params: Optional[dict], dyn_params: Optional[dict]) -> None:
    base.CheckPairId(unique_id)
    super().__init__(unique_id, children, size, params, dyn_params)
    self.driver, self.path = self.unique_id
    self.dev_path = self.path
    self.Attach()

  @classmethod
  def Create(cls, unique_id: Sequence[Any], children: Sequence[base.BlockDev], size: int,
             spindles: Optional[int], params: dict, excl_stor: bool,
             dyn_params: dict, info: str = "") -> "FileStorage":
    if excl_stor:
      raise errors.BlockDeviceError("Exclusive storage is not supported by file disks")
    path = unique_id[1]
    try:
      fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, _DISK_FILE_MODE)
    except OSError as err:
      raise errors.BlockDeviceError("%s: can't create: %s" % (path, err)) from err
    try:
      try:
        os.ftruncate(fd, size * base.MIB)  # sparse: no data written
      finally:
        os.close(fd)
    except OSError as err:
      _RemoveQuietly(path)
      raise errors.BlockDeviceError("%s: can't create: %s" % (path, err)) from err
    return cls(unique_id, children, size, params, dyn_params)

  def Attach(self) -> bool:
    self.attached = os.path.isfile(self.path)
    return self.attached

  def Assemble(self) -> None:
    if not os.path.isfile(self.path):
      raise errors.BlockDeviceError("%s: No such file" % self.path)
    self.attached = True

  def Shutdown(self) -> None:
    """Files need no deactivation."""

  def Remove(self) -> None:
    try:
      os.remove(self.path)
    except FileNotFoundError:
      pass
    except OSError as err:
      raise errors.BlockDeviceError("%s: can't remove: %s" % (self.path, err)) from err
    self.attached = False

  def Rename(self, new_id: Sequence[Any]) -> None:
    if not isinstance(new_id, (tuple, list)) or len(new_id) != 2:
      raise errors.BlockDeviceError("Invalid new logical id %s" % (new_id,))
    new_path = new_id[1]
    if os.path.exists(new_path):
      raise errors.BlockDeviceError("%s: can't rename to %s: target exists" %
                                    (self.path, new_path))
    try:
      os.rename(self.path, new_path)
    except OSError as err:
      raise errors.BlockDeviceError("%s: can't rename to %s: %s" %
                                    (self.path, new_path, err)) from err
    self.unique_id = tuple(new_id)
    self.driver, self.path = self.unique_id
    self.dev_path = self.path

  def Grow(self, amount: int, dryrun: bool, backingstore: bool, excl_stor: bool) -> None:
    # the file is its own backing store: only that layer's growth applies
    if not backingstore:
      return
    if amount < 0:
      raise errors.BlockDeviceError("%s: can't shrink by %s MiB" % (self.path, -amount))
    current = self.GetActualSize()
    if dryrun:
      return
    try:
      os.truncate(self.path, current + amount * base.MIB)
    except OSError as err:
      raise errors.BlockDeviceError("%s: can't grow: %s" % (self.path, err)) from err

  def GetActualSize(self) -> int:
    try:
      return os.stat(self.path).st_size
    except OSError as err:
      raise errors.BlockDeviceError("%s: can't stat: %s" % (self.path, err)) from err


def _RemoveQuietly(path: str) -> None:
  try:
    os.remove(path)
  except OSError:
    pass
