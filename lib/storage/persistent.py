"""Adopted block devices (template blockdev): devices the administrator made.

The logical id is ("manual", path).  Ganeti never creates, grows or
destroys such a device: "creating" a disk adopts an existing device below
/dev/disk (whose names stay stable across reboots), and removing the disk
leaves the device and its data alone.
"""

import os
import stat
from typing import Any, Optional, Sequence

from ganeti import errors
from ganeti.storage import base
from ganeti.storage import runner

DRIVER_MANUAL = "manual"
# only stable names may be adopted
ADOPTABLE_ROOT = "/dev/disk/"


def CheckAdoptable(path: str) -> None:
  """Refuses a path outside ADOPTABLE_ROOT (in the configuration's form)."""
  if not isinstance(path, str) or not os.path.normpath(path).startswith(ADOPTABLE_ROOT):
    raise errors.BlockDeviceError("Device node %s lies outside %s and cannot be adopted" %
                                  (path, ADOPTABLE_ROOT))


class PersistentBlockDevice(base.BlockDev):
  """An existing block device used as it is."""

  def __init__(self, unique_id: Sequence[Any], children: Sequence[Any], size: int,
               params: Optional[dict], dyn_params: Optional[dict]) -> None:
    base.CheckPairId(unique_id)
    if unique_id[0] != DRIVER_MANUAL:
      raise ValueError("Invalid configuration data %s" % (unique_id,))
    super().__init__(unique_id, children, size, params, dyn_params)
    self.dev_path = self.unique_id[1]
    self.Attach()

  @classmethod
  def Create(cls, unique_id: Sequence[Any], children: Sequence[base.BlockDev], size: int,
             spindles: Optional[int], params: dict, excl_stor: bool,
             dyn_params: dict, info: str = "") -> "PersistentBlockDevice":
    if excl_stor:
      raise errors.BlockDeviceError("Exclusive storage is not supported by adopted block"
                                    " devices")
    device = cls(unique_id, children, size, params, dyn_params)
    if not device.attached:
      raise errors.BlockDeviceError("Can't adopt %s: not an existing block device" %
                                    device.dev_path)
    return device

  def Attach(self) -> bool:
    try:
      info = os.stat(self.dev_path)
    except OSError:
      self.attached = False
      return False
    self.attached = stat.S_ISBLK(info.st_mode)
    if self.attached:
      self.major, self.minor = os.major(info.st_rdev), os.minor(info.st_rdev)
    return self.attached

  def Assemble(self) -> None:
    if not self.Attach():
      raise errors.BlockDeviceError("Block device %s not found" % self.dev_path)

  def Shutdown(self) -> None:
    """The device stays as the administrator left it."""

  def Remove(self) -> None:
    """The device and its data belong to the administrator: nothing to do."""

  def Rename(self, new_id: Sequence[Any]) -> None:
    raise errors.BlockDeviceError("Renaming is not supported by adopted block devices")

  def GetActualSize(self) -> int:
    return runner.DeviceSize(self.dev_path)
