"""Active LVM volumes as the kernel's device-mapper shows them (sysfs, and
its control device for tables).

Every active logical volume is a device-mapper device whose name joins the
volume group and LV names with "-" (each "-" inside those names doubled) and
whose uuid starts with "LVM-".  sysfs gives its name, uuid, device number and
size as small text files: reading them takes microseconds where asking lvs
takes a good fraction of a second on a slow node.  A snapshot's device has
its origin's size, not the snapshot's own (lvs's): it sits on a copy-on-write
device whose uuid ends in "-cow".  The device's table, asked of the control
device with an ioctl, tells whether a volume lacks data (what lvs shows as
partial or virtual) with no LVM tool either.
"""

import fcntl
import os
import re
import struct
from dataclasses import dataclass
from typing import Optional

# Where sysfs is mounted; tests point it at a tree of their own
SYSFS_ROOT = "/sys"
LVM_UUID_PREFIX = "LVM-"
_COW_UUID_SUFFIX = "-cow"
SECTOR_SIZE = 512
# The kernel's device-mapper control device, asked for a device's table
CONTROL_PATH = "/dev/mapper/control"
# DM_TABLE_STATUS, _IOWR(0xfd, 12, struct dm_ioctl): struct dm_ioctl (version,
# data size and start, target count, open count, flags, event number,
# padding, device number, name, uuid, padding) is 312 bytes, and each target
# of the answer a struct dm_target_spec (start, length, status, offset of the
# next, type name) followed by its parameters
_DM_TABLE_STATUS = 0xC138FD0C
_DM_IOCTL = struct.Struct("=3IIIIiIIIQ128s129s7s")
_DM_TARGET = struct.Struct("=QQiI16s")
_DM_VERSION = (4, 0, 0)
_DM_STATUS_TABLE_FLAG = 1 << 4
_DM_BUFFER_FULL_FLAG = 1 << 8
_DM_BUFFER_SIZES = (16384, 262144)
# targets that stand for data the volume does not have: LVM maps a missing
# PV's segments to "error" and a virtual volume to "zero"
_NO_DATA_TARGETS = frozenset(["error", "zero"])
_DEVICE_NUMBER = re.compile(r"^\d+:\d+$")


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


def ParseTable(answer: bytes) -> Optional[list[tuple[str, str]]]:
  """(target type, parameters) of each target in a DM_TABLE_STATUS answer;
  None when the answer did not fit in its buffer."""
  fields = _DM_IOCTL.unpack_from(answer)
  data_start, target_count, flags = fields[4], fields[5], fields[7]
  if flags & _DM_BUFFER_FULL_FLAG:
    return None
  targets, offset = [], data_start
  for _ in range(target_count):
    _, _, _, following, kind = _DM_TARGET.unpack_from(answer, offset)
    params_start = offset + _DM_TARGET.size
    params_end = answer.index(b"\0", params_start)
    targets.append((kind.split(b"\0", 1)[0].decode("ascii", "replace"),
                    answer[params_start:params_end].decode("ascii", "replace")))
    offset = data_start + following
  return targets


def ReadTable(name: str) -> Optional[list[tuple[str, str]]]:
  """The device's table as the kernel has it loaded (see ParseTable); None
  when the kernel can't be asked (no device-mapper, no such device, not
  allowed)."""
  for size in _DM_BUFFER_SIZES:
    request = bytearray(size)
    _DM_IOCTL.pack_into(request, 0, *_DM_VERSION, size, _DM_IOCTL.size, 0, 0,
                        _DM_STATUS_TABLE_FLAG, 0, 0, 0, name.encode(), b"", b"")
    try:
      control = os.open(CONTROL_PATH, os.O_RDWR)
      try:
        fcntl.ioctl(control, _DM_TABLE_STATUS, request, True)
      finally:
        os.close(control)
    except OSError:
      return None
    table = ParseTable(bytes(request))
    if table is not None:
      return table
  return None


def LacksData(device: MappedDevice) -> Optional[bool]:
  """Whether part of an active volume's data is not there: a segment mapped
  to no data (a missing PV's, or a virtual volume's), or a device below it
  that went away.  None when the kernel can't tell (then only lvs can)."""
  table = ReadTable(device.name)
  if table is None:
    return None
  for kind, params in table:
    if kind in _NO_DATA_TARGETS:
      return True
    for word in params.split():
      if _DEVICE_NUMBER.match(word) and not os.path.exists(
          os.path.join(SYSFS_ROOT, "dev", "block", word)):
        return True
  return False
