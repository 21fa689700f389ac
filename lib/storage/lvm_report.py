"""LVM reports: listing volume groups, physical and logical volumes.

The report tools (vgs, pvs, lvs) are asked for fixed columns, sizes in MiB
without suffix, one row per line with '|' between fields.  Parsing is kept
apart from running so that captured output can be checked on its own.
Active LVs can also be found through device-mapper (FindActiveVolume), which
runs no tool at all.
"""

import contextlib
import copy
import threading
import time
from dataclasses import dataclass, field
from typing import Iterator, Optional, Sequence

from ganeti import errors
from ganeti.storage import devmapper
from ganeti.storage import runner

SEPARATOR = "|"

VG_COLUMNS = ("vg_name", "vg_size", "vg_free", "vg_extent_size", "pv_count")
PV_COLUMNS = ("pv_name", "vg_name", "pv_size", "pv_free", "pv_attr", "pv_tags")
# lvs gives one row per segment when segment columns (stripes, devices) are asked
LV_COLUMNS = ("vg_name", "lv_name", "lv_size", "lv_attr", "stripes", "devices",
              "lv_kernel_major", "lv_kernel_minor", "lv_tags")


@dataclass
class VolumeGroup:
  name: str
  size: float
  free: float
  extent_size: float
  pv_count: int


@dataclass
class PhysicalVolume:
  name: str
  vg_name: str
  size: float
  free: float
  attributes: str
  tags: list[str]

  @property
  def allocatable(self) -> bool:
    return self.attributes[:1] == "a"

  @property
  def empty(self) -> bool:
    """Nothing allocated on it (exclusive storage gives whole PVs to one LV)."""
    return self.free >= self.size


@dataclass
class LogicalVolume:
  vg_name: str
  name: str
  size: float
  attributes: str
  stripes: int
  pv_names: list[str] = field(default_factory=list)
  major: Optional[int] = None
  minor: Optional[int] = None
  tags: list[str] = field(default_factory=list)

  @property
  def virtual(self) -> bool:
    """A volume with no data of its own (e.g. a missing PV replaced its segments)."""
    return self.attributes[:1] == "v"

  @property
  def partial(self) -> bool:
    """Some of its physical volumes are missing."""
    return len(self.attributes) > 8 and self.attributes[8] == "p"

  @property
  def active(self) -> bool:
    """Its device-mapper device exists (state "a" in lv_attr)."""
    return len(self.attributes) > 4 and self.attributes[4] == "a"


def ReportArgv(tool: str, columns: Sequence[str], *args: str) -> list[str]:
  return [tool, "--noheadings", "--units", "m", "--nosuffix", "--separator", SEPARATOR,
          "-o", ",".join(columns)] + list(args)


def ParseRows(text: str, columns: Sequence[str], tool: str) -> list[dict[str, str]]:
  """Rows of a report as column -> text; BlockDeviceError on a malformed line."""
  rows = []
  for line in text.splitlines():
    if not line.strip():
      continue
    fields = [value.strip() for value in line.strip().split(SEPARATOR)]
    if len(fields) != len(columns):
      raise errors.BlockDeviceError("Can't parse %s output: expected %d fields, got %d in %r" %
                                    (tool, len(columns), len(fields), line.strip()))
    rows.append(dict(zip(columns, fields)))
  return rows


def _Number(text: str, column: str, kind: type = float):
  try:
    return kind(float(text)) if kind is int else kind(text)
  except ValueError:
    raise errors.BlockDeviceError("Invalid %s '%s' in LVM output" % (column, text)) from None


def _DeviceNumber(text: str) -> Optional[int]:
  number = _Number(text, "kernel device number", int) if text else -1
  return None if number < 0 else number


def _Tags(text: str) -> list[str]:
  return [tag for tag in text.split(",") if tag]


def ParseVolumeGroups(text: str) -> list[VolumeGroup]:
  return [VolumeGroup(row["vg_name"], _Number(row["vg_size"], "vg_size"),
                      _Number(row["vg_free"], "vg_free"),
                      _Number(row["vg_extent_size"], "vg_extent_size"),
                      _Number(row["pv_count"], "pv_count", int))
          for row in ParseRows(text, VG_COLUMNS, "vgs")]


def ParsePhysicalVolumes(text: str) -> list[PhysicalVolume]:
  return [PhysicalVolume(row["pv_name"], row["vg_name"], _Number(row["pv_size"], "pv_size"),
                         _Number(row["pv_free"], "pv_free"), row["pv_attr"],
                         _Tags(row["pv_tags"]))
          for row in ParseRows(text, PV_COLUMNS, "pvs")]


def ParseLogicalVolumes(text: str) -> list[LogicalVolume]:
  """Logical volumes with their segments merged (all PVs, the most stripes)."""
  volumes: dict[tuple[str, str], LogicalVolume] = {}
  for row in ParseRows(text, LV_COLUMNS, "lvs"):
    key = (row["vg_name"], row["lv_name"])
    volume = volumes.get(key)
    if volume is None:
      volume = volumes[key] = LogicalVolume(
        row["vg_name"], row["lv_name"], _Number(row["lv_size"], "lv_size"), row["lv_attr"],
        0, [], _DeviceNumber(row["lv_kernel_major"]), _DeviceNumber(row["lv_kernel_minor"]),
        _Tags(row["lv_tags"]))
    volume.stripes = max(volume.stripes, _Number(row["stripes"] or "0", "stripes", int))
    # devices reads "/dev/sdb(0),/dev/sdc(12)": PV name and first extent
    for device in _Tags(row["devices"]):
      pv_name = device.split("(", 1)[0]
      if pv_name not in volume.pv_names:
        volume.pv_names.append(pv_name)
  return list(volumes.values())


def _Report(tool: str, columns: Sequence[str], *args: str) -> str:
  return runner.RUNNER.RunOrFail(ReportArgv(tool, columns, *args),
                                 "Listing LVM %s" % tool).stdout


def ListVolumeGroups(vg_name: Optional[str] = None) -> list[VolumeGroup]:
  return ParseVolumeGroups(_Report("vgs", VG_COLUMNS, *([vg_name] if vg_name else [])))


def ListPhysicalVolumes(vg_name: Optional[str] = None) -> list[PhysicalVolume]:
  """The PVs on this node, or those of one volume group."""
  pvs = ParsePhysicalVolumes(_Report("pvs", PV_COLUMNS))
  return [pv for pv in pvs if vg_name is None or pv.vg_name == vg_name]


def ListLogicalVolumes(vg_name: Optional[str] = None) -> list[LogicalVolume]:
  return ParseLogicalVolumes(_Report("lvs", LV_COLUMNS, *([vg_name] if vg_name else [])))


class _Lookups(threading.local):
  """Per thread: how deep in CachedLookups, the volume groups' LVs as last
  listed there (by group: the change count when listed, LVs by name), and the
  device-mapper devices as last scanned (the change count, devices by name)."""

  def __init__(self) -> None:
    self.depth = 0
    self.groups: dict[str, tuple[int, dict[str, LogicalVolume]]] = {}
    self.mapped: Optional[tuple[int, dict[str, devmapper.MappedDevice]]] = None


_lookups = _Lookups()


@contextlib.contextmanager
def CachedLookups() -> Iterator[None]:
  """LV lookups in the block share one lvs listing per volume group (and one
  device-mapper scan), made again after any command that may change storage.
  Each LVM command costs a good fraction of a second on a slow node, and one
  call looks the same LVs up many times (each device object looks up its own)."""
  _lookups.depth += 1
  try:
    yield
  finally:
    _lookups.depth -= 1
    if not _lookups.depth:
      _lookups.groups.clear()
      _lookups.mapped = None


def FindActiveVolume(vg_name: str, lv_name: str) -> Optional[devmapper.MappedDevice]:
  """The device-mapper device of an active LV; None if it is not active (or
  does not exist): only lvs can tell those apart."""
  if not _lookups.depth:
    devices = devmapper.ScanLvmDevices()
  else:
    changes = runner.Changes()
    if _lookups.mapped is None or _lookups.mapped[0] != changes:
      _lookups.mapped = (changes, devmapper.ScanLvmDevices())
    devices = _lookups.mapped[1]
  device = devices.get(devmapper.VolumeDeviceName(vg_name, lv_name))
  # callers keep and change what they get
  return copy.copy(device) if device is not None else None


def FindLogicalVolume(vg_name: str, lv_name: str) -> Optional[LogicalVolume]:
  """One LV, or None if it (or its VG) does not exist."""
  if _lookups.depth:
    return _FindListed(vg_name, lv_name)
  result = runner.RUNNER.Run(ReportArgv("lvs", LV_COLUMNS, "%s/%s" % (vg_name, lv_name)))
  if result.exit_code is None:  # the tool itself could not run
    raise errors.BlockDeviceError("Looking up %s/%s failed (%s)" %
                                  (vg_name, lv_name, result.Describe()))
  if result.failed:
    return None
  volumes = ParseLogicalVolumes(result.stdout)
  return volumes[0] if volumes else None


# How long an LV's listing answers status polls (sync progress is asked for
# every fraction of a second, and each lvs costs a good fraction of a second
# on a slow node); a storage command run here meanwhile ends it sooner.
STATUS_LISTING_TTL = 5.0
_status_listings: dict[tuple[str, str], tuple[float, int, Optional[LogicalVolume]]] = {}
_status_lock = threading.Lock()


def RecentLogicalVolume(vg_name: str, lv_name: str) -> Optional[LogicalVolume]:
  """FindLogicalVolume for status reports: a listing made at most
  STATUS_LISTING_TTL seconds ago serves again if no storage command ran on
  this node since."""
  key = (vg_name, lv_name)
  now, changes = time.monotonic(), runner.Changes()
  with _status_lock:
    listed = _status_listings.get(key)
  if listed is not None and listed[1] == changes and now - listed[0] < STATUS_LISTING_TTL:
    return copy.deepcopy(listed[2])
  volume = FindLogicalVolume(vg_name, lv_name)
  with _status_lock:
    for old in [k for k, (when, _, _) in _status_listings.items()
                if now - when >= STATUS_LISTING_TTL]:
      del _status_listings[old]
    _status_listings[key] = (now, changes, copy.deepcopy(volume))
  return volume


def _FindListed(vg_name: str, lv_name: str) -> Optional[LogicalVolume]:
  """FindLogicalVolume through the listing of the whole group (CachedLookups)."""
  changes = runner.Changes()
  listed = _lookups.groups.get(vg_name)
  if listed is None or listed[0] != changes:
    result = runner.RUNNER.Run(ReportArgv("lvs", LV_COLUMNS, vg_name))
    if result.exit_code is None:
      raise errors.BlockDeviceError("Looking up %s/%s failed (%s)" %
                                    (vg_name, lv_name, result.Describe()))
    volumes = [] if result.failed else ParseLogicalVolumes(result.stdout)
    listed = _lookups.groups[vg_name] = (changes, {lv.name: lv for lv in volumes})
  volume = listed[1].get(lv_name)
  # callers keep and change what they get
  return copy.deepcopy(volume) if volume is not None else None
