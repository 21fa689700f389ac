"""The block device abstraction: one class per storage kind (dev_type).

A BlockDev stands for the device of one disk (or of one of its children) on
this node.  It is built from the disk's logical id and the devices of its
children, and learns in its constructor whether the device exists (Attach).
Operations that a kind does not support raise errors.BlockDeviceError; so do
failures, with a message naming the device.  Paths here are this node's own
(local) paths; the RPC layer translates them.
"""

import os
from typing import Any, Optional, Sequence

from ganeti import errors
from ganeti import objects
from ganeti.constants import DT_DRBD8, DT_EXT, DT_PLAIN, LDS_OKAY

# Local disk status (Ganeti's LDS_*), worst last

# Kinds whose devices can be snapshotted (for exports)
DTS_SNAPSHOT_CAPABLE = frozenset([DT_DRBD8, DT_EXT, DT_PLAIN])

MIB = 1024 * 1024
_COPY_CHUNK = MIB


class BlockDev:
  """A block device of one kind; subclasses implement the operations."""

  def __init__(self, unique_id: Sequence[Any], children: Sequence[Optional["BlockDev"]],
               size: int, params: Optional[dict], dyn_params: Optional[dict]) -> None:
    self.unique_id = tuple(unique_id)
    self.children = list(children)
    self.size = size
    self.params = params or {}
    self.dyn_params = dyn_params or {}
    self.dev_path: Optional[str] = None
    self.major: Optional[int] = None
    self.minor: Optional[int] = None
    self.attached = False

  def __repr__(self) -> str:
    return "<%s: unique_id=%r, dev_path=%r, attached=%s>" % (
      type(self).__name__, self.unique_id, self.dev_path, self.attached)

  # --- life cycle ---------------------------------------------------------

  @classmethod
  def Create(cls, unique_id: Sequence[Any], children: Sequence["BlockDev"], size: int,
             spindles: Optional[int], params: dict, excl_stor: bool,
             dyn_params: dict, info: str = "") -> "BlockDev":
    """Creates the device (size in MiB) and returns it, attached.  Kinds that
    can record the info text (SetInfo) at creation may do so at once."""
    raise NotImplementedError

  def Attach(self) -> bool:
    """Looks for the device on this node; sets and returns self.attached."""
    raise NotImplementedError

  def Assemble(self) -> None:
    """Makes the device usable (activates it); fails if it does not exist."""
    raise NotImplementedError

  def Shutdown(self) -> None:
    """Deactivates the device; its data is kept."""
    raise NotImplementedError

  def Remove(self) -> None:
    """Destroys the device and its data; an absent device is fine."""
    raise NotImplementedError

  def Rename(self, new_id: Sequence[Any]) -> None:
    """Gives the device a new logical id."""
    raise NotImplementedError

  def Open(self, force: bool = False, exclusive: bool = True) -> None:
    """Makes the device ready for its instance's I/O (e.g. DRBD primary)."""

  def Close(self) -> None:
    """Ends what Open started."""

  def Grow(self, amount: int, dryrun: bool, backingstore: bool, excl_stor: bool) -> None:
    """Grows the device by amount MiB (backingstore: the data-holding layer)."""
    raise errors.BlockDeviceError("Growing is not supported by %s devices" %
                                  type(self).__name__)

  def SetInfo(self, text: str) -> None:
    """Records free text (the owning instance) on the device where it can."""

  def Snapshot(self, snap_name: Optional[str], snap_size: Optional[int]) -> Any:
    """Takes a snapshot and returns its logical id."""
    raise errors.BlockDeviceError("Snapshots are not supported by %s devices" %
                                  type(self).__name__)

  def AddChildren(self, devices: Sequence["BlockDev"]) -> None:
    raise errors.BlockDeviceError("%s devices have no children to add" % type(self).__name__)

  def RemoveChildren(self, devices: Sequence["BlockDev"]) -> None:
    raise errors.BlockDeviceError("%s devices have no children to remove" %
                                  type(self).__name__)

  def PauseResumeSync(self, pause: bool) -> bool:
    """Pauses or resumes resynchronization; whether that succeeded everywhere."""
    return all(child.PauseResumeSync(pause) for child in self.children if child)

  def GetUserspaceAccessUri(self, hypervisor: str) -> str:
    raise errors.BlockDeviceError("Userspace access is not supported by %s devices" %
                                  type(self).__name__)

  # --- state and size -----------------------------------------------------

  def GetSyncStatus(self) -> objects.BlockDevStatus:
    """This device's own status; devices without resync are always in sync."""
    return objects.BlockDevStatus(dev_path=self.dev_path, major=self.major, minor=self.minor,
                                  sync_percent=None, estimated_time=None,
                                  is_degraded=False, ldisk_status=LDS_OKAY)

  def CombinedSyncStatus(self) -> objects.BlockDevStatus:
    """The status of the device and its children: slowest resync, worst health."""
    status = self.GetSyncStatus()
    for child in self.children:
      if child is None:
        continue
      other = child.CombinedSyncStatus()
      if other.sync_percent is not None and (status.sync_percent is None or
                                             other.sync_percent < status.sync_percent):
        status.sync_percent = other.sync_percent
      if other.estimated_time is not None and (status.estimated_time is None or
                                               other.estimated_time > status.estimated_time):
        status.estimated_time = other.estimated_time
      status.is_degraded = bool(status.is_degraded or other.is_degraded)
      status.ldisk_status = max(status.ldisk_status, other.ldisk_status)
    return status

  def GetActualSize(self) -> int:
    """The device's real size in bytes."""
    raise NotImplementedError

  def GetActualSpindles(self) -> Optional[int]:
    """Spindles the device occupies (None: the kind does not count them)."""
    return None

  def GetActualDimensions(self) -> tuple[int, Optional[int]]:
    return self.GetActualSize(), self.GetActualSpindles()


def CheckPairId(unique_id: Any) -> None:
  """Refuses a logical id that is not the (driver or owner, name) pair most kinds use."""
  if not isinstance(unique_id, (tuple, list)) or len(unique_id) != 2:
    raise ValueError("Invalid configuration data %s" % (unique_id,))


def DescribeDisk(disk: objects.Disk) -> str:
  """A disk as Ganeti names it in messages."""
  children = ", ".join(DescribeDisk(child) for child in disk.children or ())
  visible = ("visible as /dev/%s" % disk.iv_name) if disk.iv_name else "not visible"
  return "<Disk(type=%s, logical_id=%s, children=[%s], %s, size=%sm)>" % (
    disk.dev_type, tuple(disk.logical_id or ()), children, visible, disk.size)


# --- data movement on device paths -------------------------------------------

def WriteZeros(path: str, offset: int, size: int) -> None:
  """Overwrites size MiB at offset MiB of a device (or file) with zeros."""
  zeros = bytes(_COPY_CHUNK)
  try:
    with open(path, "r+b") as handle:
      handle.seek(offset * MIB)
      for _ in range(size * MIB // _COPY_CHUNK):
        handle.write(zeros)
      handle.flush()
      os.fsync(handle.fileno())
  except OSError as err:
    raise errors.BlockDeviceError("Wiping %s failed: %s" % (path, err)) from err


def CopyData(source: str, target: str, limit: Optional[int] = None) -> int:
  """Copies a file or device onto the start of another, at most limit bytes.

  The target keeps its size (nothing is truncated); returns the bytes copied.
  """
  copied = 0
  try:
    with open(source, "rb") as src, open(target, "r+b") as dst:
      while limit is None or copied < limit:
        want = _COPY_CHUNK if limit is None else min(_COPY_CHUNK, limit - copied)
        block = src.read(want)
        if not block:
          break
        dst.write(block)
        copied += len(block)
      dst.flush()
      os.fsync(dst.fileno())
  except OSError as err:
    raise errors.BlockDeviceError("Copying %s to %s failed: %s" % (source, target, err)) from err
  return copied
