"""Storage on a node: LVM volume groups, physical and logical volumes, file
storage directories, block device sizes and the DRBD helper.

LVM is asked through the storage layer's reports (storage.lvm_report) and
tools (pvchange, vgreduce) run by its tool runner; when they are missing or
fail, the call fails with their error text.  Sizes are MiB.
"""

import logging
import os
import stat
from typing import Any, Callable, Optional

from ganeti.constants import (
  SF_ALLOCATABLE,
  SF_FREE,
  SF_NAME,
  SF_SIZE,
  SF_USED,
  SO_FIX_CONSISTENCY,
  ST_FILE,
  ST_GLUSTER,
  ST_LVM_PV,
  ST_LVM_VG,
  ST_SHARED_FILE)
from ganeti import errors
from ganeti.backend import files
from ganeti.backend.common import Fail, LocalPath, RPCFail
from ganeti.storage import lvm_report
from ganeti.storage import runner
from ganeti.utils import io

UNIT_FIELDS = frozenset([SF_NAME, SF_SIZE, SF_USED, SF_FREE, SF_ALLOCATABLE])
DRBD_USERMODE_HELPER_FILE = "/sys/module/drbd/parameters/usermode_helper"
_MIB = 1024 * 1024


def _Lvm(report: Callable[..., list], *args: Any) -> list:
  """A report of the storage layer's LVM listings; the tool's error fails the call."""
  try:
    return report(*args)
  except errors.BlockDeviceError as err:
    Fail("%s", err)


def ListVolumeGroups() -> dict[str, int]:
  """vg_list: volume group name -> size."""
  return {vg.name: int(round(vg.size)) for vg in _Lvm(lvm_report.ListVolumeGroups)}


def ListLogicalVolumes(vg_name: str) -> dict[str, tuple[float, bool, bool]]:
  """lv_list: "vg/lv" -> (size, inactive, online) of a volume group's LVs."""
  volumes = {}
  for lv in _Lvm(lvm_report.ListLogicalVolumes, vg_name):
    if len(lv.attributes) < 6 or lv.virtual:  # virtual volumes hold no data
      continue
    volumes["%s/%s" % (lv.vg_name, lv.name)] = (lv.size, lv.attributes[4] == "-",
                                                 lv.attributes[5] == "o")
  return volumes


def NodeVolumes() -> list[dict[str, Any]]:
  """node_volumes: every logical volume with the physical device it lives on."""
  return [{"name": lv.name, "size": lv.size, "vg": lv.vg_name, "dev": pv_name}
          for lv in _Lvm(lvm_report.ListLogicalVolumes) for pv_name in lv.pv_names]


def BlockDeviceSizes(devices: list[str]) -> dict[str, int]:
  """bdev_sizes: size of each given block device below /dev (others are left out)."""
  sizes = {}
  for device in devices:
    real = os.path.realpath(LocalPath(device))
    if not real.startswith("/dev/"):
      continue
    try:
      if not stat.S_ISBLK(os.stat(real).st_mode):
        continue
    except OSError:
      continue
    result = runner.RUNNER.Run(["blockdev", "--getsize64", real])
    if result.failed:
      Fail("Cannot get the size of %s: %s", device, result.Describe())
    try:
      sizes[device] = int(result.stdout.strip()) // _MIB
    except ValueError:
      Fail("Invalid size of %s: %r", device, result.stdout)
  return sizes


def GetDrbdUsermodeHelper() -> str:
  try:
    return io.ReadFile(DRBD_USERMODE_HELPER_FILE).strip()
  except OSError as err:
    Fail("Can't read the DRBD usermode helper (is the DRBD module loaded?): %s", err)


# --- units: listing, modifying, executing -----------------------------------

def _FileUnitRows(su_args: list, name: Optional[str]) -> list[dict[str, Any]]:
  if not su_args:
    Fail("File storage needs a directory as argument")
  path = files.CheckFileStoragePath(su_args[0])
  if name is not None and name not in (su_args[0], path):
    return []
  try:
    fs = os.statvfs(path)
  except OSError as err:
    Fail("Can't get the space of file storage directory '%s': %s", su_args[0], err)
  used = 0
  for directory, _, names in os.walk(path):
    for entry in names:
      try:
        used += os.lstat(os.path.join(directory, entry)).st_size
      except OSError:
        continue
  return [{SF_NAME: su_args[0], SF_SIZE: fs.f_blocks * fs.f_frsize // _MIB,
           SF_USED: used // _MIB, SF_FREE: fs.f_bavail * fs.f_frsize // _MIB,
           SF_ALLOCATABLE: True}]


def _VgRows(_su_args: list, name: Optional[str]) -> list[dict[str, Any]]:
  return [{SF_NAME: vg.name, SF_SIZE: vg.size, SF_FREE: vg.free, SF_USED: vg.size - vg.free,
           SF_ALLOCATABLE: True} for vg in _Lvm(lvm_report.ListVolumeGroups, name)]


def _PvRows(_su_args: list, name: Optional[str]) -> list[dict[str, Any]]:
  return [{SF_NAME: pv.name, SF_SIZE: pv.size, SF_USED: pv.size - pv.free, SF_FREE: pv.free,
           SF_ALLOCATABLE: pv.allocatable, "vg": pv.vg_name}
          for pv in _Lvm(lvm_report.ListPhysicalVolumes)
          if name is None or pv.name == name]


_UNIT_ROWS: dict[str, Callable[[list, Optional[str]], list[dict[str, Any]]]] = {
  ST_FILE: _FileUnitRows,
  ST_SHARED_FILE: _FileUnitRows,
  ST_GLUSTER: _FileUnitRows,
  ST_LVM_VG: _VgRows,
  ST_LVM_PV: _PvRows,
}


def _Rows(su_name: str, su_args: list, name: Optional[str]) -> list[dict[str, Any]]:
  function = _UNIT_ROWS.get(su_name)
  if function is None:
    Fail("Storage type '%s' is not supported for listing", su_name)
  return function(su_args or [], name)


def ListStorage(su_name: str, su_args: list, name: Optional[str],
                fields: list[str]) -> list[list[Any]]:
  """storage_list: one row of the requested fields per unit, by name."""
  unknown = [field for field in fields if field not in UNIT_FIELDS]
  if unknown:
    Fail("Unknown field(s) for storage type '%s': %s", su_name, ", ".join(unknown))
  rows = _Rows(su_name, su_args, name)
  rows.sort(key=lambda row: row[SF_NAME])
  return [[row[field] for field in fields] for row in rows]


def ModifyStorage(su_name: str, su_args: list, name: str, changes: dict) -> None:
  """storage_modify: only a physical volume's allocatable flag can change."""
  modifiable = {ST_LVM_PV: {SF_ALLOCATABLE}}.get(su_name, set())
  refused = sorted(set(changes) - modifiable)
  if refused:
    Fail("Modifying %s of storage type '%s' is not supported", ", ".join(refused), su_name)
  if SF_ALLOCATABLE in changes:
    result = runner.RUNNER.Run(["pvchange", "--allocatable",
                                "y" if changes[SF_ALLOCATABLE] else "n", name])
    if result.failed:
      Fail("Failed to modify physical volume %s: %s", name, result.Describe())


def ExecuteStorageOp(su_name: str, su_args: list, name: str, op: str) -> None:
  """storage_execute: repairs (fix-consistency of a volume group)."""
  if (su_name, op) != (ST_LVM_VG, SO_FIX_CONSISTENCY):
    Fail("Operation '%s' is not supported for storage type '%s'", op, su_name)
  result = runner.RUNNER.Run(["vgreduce", "--removemissing", name])
  if result.failed:
    Fail("Failed to remove missing volumes from volume group %s: %s", name,
         result.Describe())
  # vgreduce may succeed while the group still is inconsistent
  _Lvm(lvm_report.ListVolumeGroups, name)


# --- space for node_info ------------------------------------------------------

def _LvmSpace(su_type: str, vg_name: str) -> dict[str, Optional[int]]:
  if su_type == ST_LVM_VG:
    rows = _VgRows([], vg_name)
    if not rows:
      return {}
    return {"storage_free": int(rows[0][SF_FREE]), "storage_size": int(rows[0][SF_SIZE])}
  # exclusive storage: a disk lives on one PV, so the best single PV is free
  pvs = [row for row in _PvRows([], None) if row["vg"] == vg_name]
  if not pvs:
    return {}
  return {"storage_free": int(max(row[SF_FREE] for row in pvs)),
          "storage_size": int(sum(row[SF_SIZE] for row in pvs))}


def StorageSpaceInfo(su_type: str, su_key: Optional[str], su_params: list) -> dict:
  """Free and total space of one storage unit, as node_info reports it."""
  info = {"type": su_type, "name": su_key, "storage_free": None, "storage_size": None}
  if su_type in (ST_FILE, ST_SHARED_FILE, ST_GLUSTER):
    path = files.CheckFileStoragePath(su_key)
    try:
      fs = os.statvfs(path)
    except OSError as err:
      Fail("Can't get the space of '%s': %s", su_key, err)
    info.update(storage_free=fs.f_bavail * fs.f_frsize // _MIB,
                storage_size=fs.f_blocks * fs.f_frsize // _MIB)
  elif su_type in (ST_LVM_VG, ST_LVM_PV):
    # exclusive storage (the unit's flag) counts whole PVs, like lvm-pv
    exclusive = su_type == ST_LVM_PV or bool(su_params and su_params[0])
    # a missing group leaves the space unknown rather than failing the node
    try:
      info.update(_LvmSpace(ST_LVM_PV if exclusive else ST_LVM_VG, su_key))
    except RPCFail as err:
      logging.warning("No space information for %s %s: %s", su_type, su_key, err)
  else:
    Fail("Storage type '%s' does not report its space", su_type)
  return info


CALLS = {
  "vg_list": ListVolumeGroups,
  "lv_list": ListLogicalVolumes,
  "node_volumes": NodeVolumes,
  "bdev_sizes": BlockDeviceSizes,
  "drbd_helper": GetDrbdUsermodeHelper,
  "storage_list": ListStorage,
  "storage_modify": ModifyStorage,
  "storage_execute": ExecuteStorageOp,
}
