"""Active LVM volumes as the kernel's device-mapper shows them in sysfs.

Every active logical volume is a device-mapper device whose name joins the
volume group and LV names with "-" (each "-" inside those names doubled) and
whose uuid starts with "LVM-".  sysfs gives its name, uuid, device number and
size as small text files: reading them takes microseconds where asking lvs
takes a good fraction of a second on a slow node.  A snapshot's device has
its origin's size, not the snapshot's own (lvs's): it sits on a copy-on-write
device whose uuid ends in "-cow".
"""

import os
from dataclasses import dataclass
from typing import Optional

# Where sysfs is mounted; tests point it at a tree of their own
SYSFS_ROOT = "/sys"
LVM_UUID_PREFIX = "LVM-"
_COW_UUID_SUFFIX = "-cow"
SECTOR_SIZE = 512


@dataclass
class MappedDevice:
  """One device-mapper device: names, device number, size in bytes."""
  name: str
  uuid: str
  major: int
  minor: int
  size: int
  snapshot: bool = False


def VolumeDeviceName(vg_name: str, lv_name: str) -> str:
  """The device-mapper name LVM gives an active LV."""
  return "%s-%s" % (vg_name.replace("-", "--"), lv_name.replace("-", "--"))


def _ReadAttribute(path: str) -> Optional[str]:
  try:
    with open(path) as handle:
      return handle.read().strip()
  except OSError:  # the device went away while listed
    return None


def _OnCopyOnWrite(block_dir: str) -> bool:
  """Whether the device sits on a snapshot's copy-on-write store."""
  slaves_dir = os.path.join(block_dir, "slaves")
  try:
    slaves = os.listdir(slaves_dir)
  except OSError:
    return False
  for slave in slaves:
    uuid = _ReadAttribute(os.path.join(slaves_dir, slave, "dm", "uuid"))
    if uuid is not None and uuid.startswith(LVM_UUID_PREFIX) and uuid.endswith(_COW_UUID_SUFFIX):
      return True
  return False


def _ReadDevice(block_dir: str) -> Optional[MappedDevice]:
  name = _ReadAttribute(os.path.join(block_dir, "dm", "name"))
  uuid = _ReadAttribute(os.path.join(block_dir, "dm", "uuid"))
  number = _ReadAttribute(os.path.join(block_dir, "dev"))
  sectors = _ReadAttribute(os.path.join(block_dir, "size"))
  if name is None or uuid is None or number is None or sectors is None:
    return None
  major, _, minor = number.partition(":")
  try:
    return MappedDevice(name, uuid, int(major), int(minor), int(sectors) * SECTOR_SIZE,
                        _OnCopyOnWrite(block_dir))
  except ValueError:
    return None


def ScanLvmDevices() -> dict[str, MappedDevice]:
  """The device-mapper devices LVM made, by device-mapper name."""
  block_root = os.path.join(SYSFS_ROOT, "block")
  try:
    entries = os.listdir(block_root)
  except OSError:
    return {}
  devices = {}
  for entry in entries:
    if not entry.startswith("dm-"):
      continue
    device = _ReadDevice(os.path.join(block_root, entry))
    if device is not None and device.uuid.startswith(LVM_UUID_PREFIX):
      devices[device.name] = device
  return devices
