"""LVM logical volumes (template plain, and the children of DRBD disks).

The logical id is (volume group, LV name); the device is /dev/VG/LV.  New
volumes go on the VG's physical volumes with free space (LVM's own choice
unless striped); under exclusive storage each LV gets whole, empty PVs of its
own (its spindles), striped across all of them.  The owning instance is
recorded in LV tags.
"""

import re
from typing import Any, Optional, Sequence

from ganeti import errors
from ganeti import objects
from ganeti import paramdefs
from ganeti.constants import LDS_FAULTY, LDS_OKAY
from ganeti.storage import base
from ganeti.storage import devmapper
from ganeti.storage import lvm_report
from ganeti.storage import runner

_VALID_NAME = re.compile(r"^[a-zA-Z0-9+_.-]+$")
# LVM keeps these for its own internal volumes
_RESERVED_NAMES = frozenset([".", "..", "snapshot", "pvmove"])
_RESERVED_SUBSTRINGS = ("_mlog", "_mimage", "_rimage", "_rmeta", "_tdata", "_tmeta")
# Characters LVM accepts in tags; others are replaced
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_+.\-/=!:&#]")
_MAX_TAG_LENGTH = 128


def CheckName(name: str, what: str = "logical volume") -> None:
  """Refuses a VG or LV name that LVM would reject or treat specially."""
  if (not isinstance(name, str) or not _VALID_NAME.match(name) or name.startswith("-")
      or name in _RESERVED_NAMES or any(part in name for part in _RESERVED_SUBSTRINGS)):
    raise errors.BlockDeviceError("Invalid %s name '%s'" % (what, name))


def _LogicalId(unique_id: Sequence[Any]) -> tuple[str, str]:
  if not isinstance(unique_id, (tuple, list)) or len(unique_id) != 2:
    raise ValueError("Invalid configuration data %s" % (unique_id,))
  vg_name, lv_name = unique_id
  CheckName(vg_name, "volume group")
  CheckName(lv_name)
  return vg_name, lv_name


def TagFromInfo(text: str) -> str:
  """An LV tag carrying free text (LVM tags allow few characters)."""
  tag = _TAG_UNSAFE.sub("_", text)[:_MAX_TAG_LENGTH]
  return "_" + tag[1:] if tag.startswith("-") else tag


# --- placement on physical volumes --------------------------------------------

def ChoosePhysicalVolumes(pvs: Sequence[lvm_report.PhysicalVolume], size: int, stripes: int,
                          spindles: Optional[int], excl_stor: bool) -> list[str]:
  """The PVs an LV of size MiB goes on; BlockDeviceError if they don't suffice."""
  usable = sorted((pv for pv in pvs if pv.allocatable and pv.free > 0),
                  key=lambda pv: (-pv.free, pv.name))
  if excl_stor:
    if spindles is None:
      raise errors.BlockDeviceError("Exclusive storage needs the number of spindles")
    if spindles < stripes:
      raise errors.BlockDeviceError("Can't use %d stripes on only %d spindles" %
                                    (stripes, spindles))
    empty = [pv for pv in usable if pv.empty]
    if len(empty) < spindles:
      raise errors.BlockDeviceError("Not enough empty PVs (spindles): required %d,"
                                    " available %d" % (spindles, len(empty)))
    chosen = empty[:spindles]
  else:
    if len(usable) < stripes:
      raise errors.BlockDeviceError("Not enough PVs with free space for %d stripes:"
                                    " available %d" % (stripes, len(usable)))
    chosen = usable
  available = sum(pv.free for pv in chosen)
  if available < size:
    raise errors.BlockDeviceError("Not enough free space: required %s MiB, available %s MiB" %
                                  (size, int(available)))
  return [pv.name for pv in chosen]


def CreateArgv(vg_name: str, lv_name: str, size: int, stripes: int,
               pv_names: Sequence[str], tag: str = "") -> list[str]:
  # -Wn: no signature wiping prompts; the caller wipes disks when it wants to
  argv = ["lvcreate", "--yes", "-Wn", "-L%dm" % size, "-n", lv_name]
  if stripes > 1:
    argv += ["-i", str(stripes)]
  if tag:
    argv += ["--addtag", tag]
  return argv + [vg_name] + list(pv_names)


def GrowArgv(vg_name: str, lv_name: str, amount: int, dryrun: bool,
             pv_names: Sequence[str]) -> list[str]:
  argv = ["lvextend"] + (["--test"] if dryrun else []) + ["-L+%dm" % amount,
                                                          "%s/%s" % (vg_name, lv_name)]
  return argv + list(pv_names)


# --- the device ------------------------------------------------------------------

def _PlaceOrFail(vg_name: str, lv_name: str, size: int, stripes: int,
                 spindles: Optional[int], excl_stor: bool) -> list[str]:
  """The PVs a new LV goes on (listed with pvs); BlockDeviceError saying why
  there are none."""
  pvs = lvm_report.ListPhysicalVolumes(vg_name)
  if not pvs:
    raise errors.BlockDeviceError("Can't create %s/%s: volume group '%s' not found or"
                                  " without physical volumes" % (vg_name, lv_name, vg_name))
  return ChoosePhysicalVolumes(pvs, size, stripes, spindles, excl_stor)


class LogicalVolume(base.BlockDev):
  """An LVM logical volume.

  An active LV is found through device-mapper (mapped) without running any
  LVM tool; the lvs data (volume: attributes, tags, PVs) is listed only for
  inactive LVs and for the operations that need it.
  """

  def __init__(self, unique_id: Sequence[Any], children: Sequence[Any], size: int,
               params: Optional[dict], dyn_params: Optional[dict]) -> None:
    vg_name, lv_name = _LogicalId(unique_id)
    super().__init__((vg_name, lv_name), children, size, params, dyn_params)
    self.vg_name, self.lv_name = vg_name, lv_name
    self.dev_path = "/dev/%s/%s" % (vg_name, lv_name)
    self.mapped: Optional[devmapper.MappedDevice] = None
    self.volume: Optional[lvm_report.LogicalVolume] = None
    # the tags when known without lvs (Create set them)
    self.known_tags: Optional[list[str]] = None
    self.Attach()

  @property
  def full_name(self) -> str:
    return "%s/%s" % (self.vg_name, self.lv_name)

  @classmethod
  def Create(cls, unique_id: Sequence[Any], children: Sequence[base.BlockDev], size: int,
             spindles: Optional[int], params: dict, excl_stor: bool,
             dyn_params: dict, info: str = "") -> "LogicalVolume":
    vg_name, lv_name = _LogicalId(unique_id)
    stripes = max(1, int(params.get(paramdefs.LV_STRIPES, 1)))
    # tagged as it is made: SetInfo with the same text then has nothing to do
    tag = TagFromInfo(info) if info else ""
    what = "Creating logical volume %s/%s" % (vg_name, lv_name)
    if excl_stor or stripes > 1:
      chosen = _PlaceOrFail(vg_name, lv_name, size, stripes, spindles, excl_stor)
      if excl_stor:
        stripes = len(chosen)  # the LV spans all its spindles
      runner.RUNNER.RunOrFail(CreateArgv(vg_name, lv_name, size, stripes, chosen, tag), what)
    else:
      # LVM's own allocation takes any allocatable PV with space, as the choice
      # here would: the PVs are only listed to explain a failure
      result = runner.RUNNER.Run(CreateArgv(vg_name, lv_name, size, 1, [], tag))
      if result.failed:
        _PlaceOrFail(vg_name, lv_name, size, 1, spindles, False)
        raise result.Error(what)
    device = cls(unique_id, children, size, params, dyn_params)
    if not device.attached:
      raise errors.BlockDeviceError("Logical volume %s was created but can't be found" %
                                    device.full_name)
    device.known_tags = [tag] if tag else []
    return device

  def Attach(self) -> bool:
    self.mapped = lvm_report.FindActiveVolume(self.vg_name, self.lv_name)
    if self.mapped is not None:
      self.volume = None  # listed again if an operation needs it
      self.major, self.minor = self.mapped.major, self.mapped.minor
    else:
      # inactive or missing: only lvs tells
      self.volume = lvm_report.FindLogicalVolume(self.vg_name, self.lv_name)
      if self.volume is not None:
        self.major, self.minor = self.volume.major, self.volume.minor
    self.attached = self.mapped is not None or self.volume is not None
    return self.attached

  def _Require(self, action: str) -> None:
    if not self.attached and not self.Attach():
      raise errors.BlockDeviceError("Can't %s %s: logical volume not found" %
                                    (action, self.full_name))

  def _Volume(self, action: str) -> lvm_report.LogicalVolume:
    """The LV's lvs data, listed when first needed."""
    self._Require(action)
    if self.volume is None:
      self.volume = lvm_report.FindLogicalVolume(self.vg_name, self.lv_name)
      if self.volume is None:  # removed since it was found
        raise errors.BlockDeviceError("Can't %s %s: logical volume not found" %
                                      (action, self.full_name))
    return self.volume

  def Assemble(self) -> None:
    # the lookup just made says whether it is active: lvcreate activates,
    # and an LVM command costs a noticeable fraction of a second
    self._Require("activate")
    if self.mapped is not None or self._Volume("activate").active:
      return
    runner.RUNNER.RunOrFail(["lvchange", "-ay", self.full_name],
                            "Activating logical volume %s" % self.full_name)
    self.Attach()

  def Shutdown(self) -> None:
    """LVs stay active: other disks (DRBD) may sit on them."""

  def Remove(self) -> None:
    if not self.Attach():
      return
    result = runner.RUNNER.Run(["lvremove", "-f", self.full_name])
    if result.failed:
      # a device-mapper device that LVM left behind is no LV: absent, as lvs says
      stale = (self.volume is None and result.exit_code is not None and
               lvm_report.FindLogicalVolume(self.vg_name, self.lv_name) is None)
      if not stale:
        raise result.Error("Removing logical volume %s" % self.full_name)
    self.attached, self.mapped, self.volume = False, None, None

  def Rename(self, new_id: Sequence[Any]) -> None:
    try:
      new_vg, new_lv = _LogicalId(new_id)
    except ValueError as err:
      raise errors.BlockDeviceError(str(err)) from err
    if new_vg != self.vg_name:
      raise errors.BlockDeviceError("Can't move logical volume %s to another volume group"
                                    " (%s)" % (self.full_name, new_vg))
    self._Require("rename")
    runner.RUNNER.RunOrFail(["lvrename", self.vg_name, self.lv_name, new_lv],
                            "Renaming logical volume %s to %s" % (self.full_name, new_lv))
    self.unique_id = (new_vg, new_lv)
    self.lv_name = new_lv
    self.dev_path = "/dev/%s/%s" % (new_vg, new_lv)
    # lvrename renames the device-mapper device too
    self.Attach()

  def Grow(self, amount: int, dryrun: bool, backingstore: bool, excl_stor: bool) -> None:
    if not backingstore:
      return
    if amount < 0:
      raise errors.BlockDeviceError("Can't shrink logical volume %s by %s MiB" %
                                    (self.full_name, -amount))
    self._Require("grow")
    # under exclusive storage an LV only grows within its own spindles
    pv_names = self._Volume("grow").pv_names if excl_stor else []
    runner.RUNNER.RunOrFail(GrowArgv(self.vg_name, self.lv_name, amount, dryrun, pv_names),
                            "Growing logical volume %s by %s MiB" % (self.full_name, amount))
    if not dryrun:
      self.Attach()

  def SetInfo(self, text: str) -> None:
    if self.volume is None and self.known_tags is not None:
      self._Require("set the info of")
      old_tags = self.known_tags
    else:
      old_tags = self._Volume("set the info of").tags
    tag = TagFromInfo(text)
    new_tags = [tag] if tag else []
    if old_tags == new_tags:
      return
    argv = ["lvchange"]
    for old_tag in old_tags:
      argv += ["--deltag", old_tag]
    if tag:  # LVM refuses empty tags: no text just clears the old one
      argv += ["--addtag", tag]
    argv.append(self.full_name)
    runner.RUNNER.RunOrFail(argv, "Tagging logical volume %s" % self.full_name)
    # the tags are all that changed: no second lookup
    self.known_tags = list(new_tags)
    if self.volume is not None:
      self.volume.tags = list(new_tags)

  def _SizeBytes(self, action: str) -> int:
    self._Require(action)
    if self.mapped is not None and not self.mapped.snapshot:
      return self.mapped.size
    # LV sizes are whole extents (at least 1 KiB each), exact in MiB with decimals
    return int(round(self._Volume(action).size * base.MIB))

  def Snapshot(self, snap_name: Optional[str], snap_size: Optional[int]) -> Any:
    self._Require("snapshot")
    name = snap_name or self.lv_name + ".snap"
    CheckName(name)
    size = snap_size if snap_size is not None else self._SizeBytes("snapshot") // base.MIB
    groups = lvm_report.ListVolumeGroups(self.vg_name)
    free = groups[0].free if groups else 0
    if free < size:
      raise errors.BlockDeviceError("Not enough free space for a snapshot of %s: required"
                                    " %s MiB, available %s MiB" % (self.full_name, size,
                                                                   int(free)))
    runner.RUNNER.RunOrFail(["lvcreate", "-L%dm" % size, "-s", "-n", name, self.full_name],
                            "Snapshotting logical volume %s" % self.full_name)
    return (self.vg_name, name)

  def GetSyncStatus(self) -> objects.BlockDevStatus:
    status = super().GetSyncStatus()
    if self._LacksData():
      status.is_degraded = True
      status.ldisk_status = LDS_FAULTY
    else:
      status.ldisk_status = LDS_OKAY
    return status

  def _LacksData(self) -> bool:
    """Partial or virtual: an active LV's device-mapper table tells, else lvs
    (one listing per node call, and polls in a row share one)."""
    if self.volume is None and self.mapped is not None:
      lacks = devmapper.LacksData(self.mapped)
      if lacks is not None:
        return lacks
    volume = self.volume
    if volume is None and self.attached:
      volume = self.volume = lvm_report.RecentLogicalVolume(self.vg_name, self.lv_name)
    return volume is not None and (volume.virtual or volume.partial)

  def GetActualSize(self) -> int:
    return self._SizeBytes("get the size of")

  def GetActualSpindles(self) -> Optional[int]:
    return len(self._Volume("count the spindles of").pv_names)
