"""Block devices of disks on a node: the registry of device kinds.

Each disk type (objects.Disk.dev_type) maps to a storage.base.BlockDev
subclass.  Diskless instances have no devices at all.
"""

from typing import Optional, Sequence

from ganeti import errors
from ganeti import objects
from ganeti.constants import (DT_BLOCK, DT_DRBD8, DT_EXT, DT_FILE, DT_PLAIN, DT_RBD,
                               DT_SHARED_FILE)
from ganeti.storage import base
from ganeti.storage import drbd
from ganeti.storage import extstorage
from ganeti.storage import filestorage
from ganeti.storage import lvm
from ganeti.storage import persistent
from ganeti.storage import rbd

DEV_MAP: dict[str, type[base.BlockDev]] = {
  DT_FILE: filestorage.FileStorage,
  DT_SHARED_FILE: filestorage.FileStorage,
  DT_PLAIN: lvm.LogicalVolume,
  DT_DRBD8: drbd.DRBD8,
  DT_BLOCK: persistent.PersistentBlockDevice,
  DT_RBD: rbd.RADOSBlockDevice,
  DT_EXT: extstorage.ExtStorageDevice,
}

# Kinds that are also activated on their secondary node when created (mirrors)
ASSEMBLE_ON_SECONDARY = frozenset([DT_DRBD8])

# Kinds whose logical id is (driver, path of a file on this node)
FILE_PATH_DEV_TYPES = frozenset([DT_FILE, DT_SHARED_FILE])
# Kinds whose logical id is (driver, path on this node): files and adopted devices
PATH_ID_DEV_TYPES = FILE_PATH_DEV_TYPES | frozenset([DT_BLOCK])

# ExtStorage programs also learn the disk's name and uuid (VOL_CNAME, VOL_UUID)
_NAMED_DEV_TYPES = frozenset([DT_EXT])


def GetDeviceClass(dev_type: str) -> type[base.BlockDev]:
  cls = DEV_MAP.get(dev_type)
  if cls is None:
    raise errors.BlockDeviceError("Unsupported device type '%s'" % dev_type)
  return cls


def _DynamicParams(disk: objects.Disk) -> dict:
  params = dict(disk.dynamic_params or {})
  if disk.dev_type in _NAMED_DEV_TYPES:
    params.update(name=disk.name, uuid=disk.uuid)
  return params


def _Make(disk: objects.Disk, children: Sequence[Optional[base.BlockDev]]) -> base.BlockDev:
  return GetDeviceClass(disk.dev_type)(disk.logical_id, children, disk.size, disk.params,
                                       _DynamicParams(disk))


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
                 excl_stor: bool, info: str = "") -> base.BlockDev:
  """Creates the disk's device with the disk's size (MiB); info as for SetInfo."""
  return GetDeviceClass(disk.dev_type).Create(disk.logical_id, children, disk.size,
                                              disk.spindles, disk.params or {}, excl_stor,
                                              _DynamicParams(disk), info=info)
