"""Block devices of disks on a node: the registry of device kinds.

Each disk type (objects.Disk.dev_type) maps to a storage.base.BlockDev
subclass; rbd, ext and blockdev plug in here as they arrive.
Diskless instances have no devices at all.
"""

from typing import Optional, Sequence

from ganeti import errors
from ganeti import objects
from ganeti.constants import DT_DRBD8, DT_FILE, DT_PLAIN, DT_SHARED_FILE
from ganeti.storage import base
from ganeti.storage import drbd
from ganeti.storage import filestorage
from ganeti.storage import lvm

DEV_MAP: dict[str, type[base.BlockDev]] = {
  DT_FILE: filestorage.FileStorage,
  DT_SHARED_FILE: filestorage.FileStorage,
  DT_PLAIN: lvm.LogicalVolume,
  DT_DRBD8: drbd.DRBD8,
}

# Kinds that are also activated on their secondary node when created (mirrors)
ASSEMBLE_ON_SECONDARY = frozenset([DT_DRBD8])

# Kinds whose logical id is (driver, path of a file on this node)
FILE_PATH_DEV_TYPES = frozenset([DT_FILE, DT_SHARED_FILE])


def GetDeviceClass(dev_type: str) -> type[base.BlockDev]:
  cls = DEV_MAP.get(dev_type)
  if cls is None:
    raise errors.BlockDeviceError("Unsupported device type '%s'" % dev_type)
  return cls


def _Make(disk: objects.Disk, children: Sequence[Optional[base.BlockDev]]) -> base.BlockDev:
  return GetDeviceClass(disk.dev_type)(disk.logical_id, children, disk.size, disk.params,
                                       disk.dynamic_params)


def FindDevice(disk: objects.Disk,
               children: Sequence[Optional[base.BlockDev]]) -> Optional[base.BlockDev]:
  """The disk's device if it exists on this node, else None."""
  device = _Make(disk, children)
  return device if device.attached else None


def AssembleDevice(disk: objects.Disk,
                   children: Sequence[Optional[base.BlockDev]]) -> base.BlockDev:
  """The disk's device, activated."""
  device = _Make(disk, children)
  device.Assemble()
  return device


def CreateDevice(disk: objects.Disk, children: Sequence[base.BlockDev],
                 excl_stor: bool) -> base.BlockDev:
  """Creates the disk's device with the disk's size (MiB)."""
  return GetDeviceClass(disk.dev_type).Create(disk.logical_id, children, disk.size,
                                              disk.spindles, disk.params or {}, excl_stor,
                                              disk.dynamic_params or {})
