"""Tests for ganeti.storage.lvm and lvm_report: LV placement, command lines,
report parsing, and the LogicalVolume device against the real lvm2 tools.

This host has no device-mapper (and the tests hide any a host may have), so
the real tools run in metadata-only mode (activation disabled) on physical
volumes made of loop devices over sparse files, confined to those devices by
a --config filter: creating, listing, tagging, renaming, growing and removing
LVs is real; activation and snapshots (which need the kernel) are checked to
fail cleanly.
"""

import os
import shutil
import subprocess

import pytest

from ganeti import errors
from ganeti import objects
from ganeti import storage
from ganeti.constants import LDS_FAULTY, LDS_OKAY
from ganeti.storage import devmapper
from ganeti.storage import lvm
from ganeti.storage import lvm_report
from ganeti.storage import runner
from ganeti.utils import process

MIB = 1024 * 1024
_LVM_TOOLS = ("pvcreate", "vgcreate", "lvcreate", "lvs", "pvs", "vgs", "lvchange",
              "lvremove", "lvrename", "lvextend", "vgremove", "pvremove")


@pytest.fixture(autouse=True)
def no_device_mapper(tmp_path, monkeypatch):
  """As on this host: no LV is found active through device-mapper (the tests
  with device-mapper devices are in test_storage_lvm_devmapper)."""
  monkeypatch.setattr(devmapper, "SYSFS_ROOT", str(tmp_path / "no-sysfs"))


def _Pv(name, size, free, attr="a--", vg="xenvg"):
  return lvm_report.PhysicalVolume(name, vg, size, free, attr, [])


# --- placement and command lines ---------------------------------------------

def test_placement_uses_pvs_with_free_space_most_free_first():
  pvs = [_Pv("/dev/sda", 100, 10), _Pv("/dev/sdb", 100, 90), _Pv("/dev/sdc", 100, 0),
         _Pv("/dev/sdd", 100, 50, attr="---")]  # not allocatable
  assert lvm.ChoosePhysicalVolumes(pvs, 80, 1, None, False) == ["/dev/sdb", "/dev/sda"]


def test_placement_refuses_too_large_and_too_many_stripes():
  pvs = [_Pv("/dev/sda", 100, 10), _Pv("/dev/sdb", 100, 20)]
  with pytest.raises(errors.BlockDeviceError, match="required 40 MiB, available 30 MiB"):
    lvm.ChoosePhysicalVolumes(pvs, 40, 1, None, False)
  with pytest.raises(errors.BlockDeviceError, match="for 3 stripes: available 2"):
    lvm.ChoosePhysicalVolumes(pvs, 10, 3, None, False)


def test_exclusive_storage_takes_whole_empty_pvs():
  pvs = [_Pv("/dev/sda", 100, 100), _Pv("/dev/sdb", 100, 60), _Pv("/dev/sdc", 100, 100),
         _Pv("/dev/sdd", 100, 100)]
  assert lvm.ChoosePhysicalVolumes(pvs, 150, 1, 2, True) == ["/dev/sda", "/dev/sdc"]
  with pytest.raises(errors.BlockDeviceError, match="required 4, available 3"):
    lvm.ChoosePhysicalVolumes(pvs, 10, 1, 4, True)
  with pytest.raises(errors.BlockDeviceError, match="number of spindles"):
    lvm.ChoosePhysicalVolumes(pvs, 10, 1, None, True)
  with pytest.raises(errors.BlockDeviceError, match="2 stripes on only 1 spindles"):
    lvm.ChoosePhysicalVolumes(pvs, 10, 2, 1, True)
  with pytest.raises(errors.BlockDeviceError, match="required 250 MiB, available 200 MiB"):
    lvm.ChoosePhysicalVolumes(pvs, 250, 1, 2, True)


@pytest.mark.parametrize("stripes, pvs, expected", [
  (1, [], ["lvcreate", "--yes", "-Wn", "-L128m", "-n", "d0", "xenvg"]),
  (1, ["/dev/sdb"], ["lvcreate", "--yes", "-Wn", "-L128m", "-n", "d0", "xenvg", "/dev/sdb"]),
  (2, ["/dev/sdb", "/dev/sdc"], ["lvcreate", "--yes", "-Wn", "-L128m", "-n", "d0", "-i", "2",
                                 "xenvg", "/dev/sdb", "/dev/sdc"]),
])
def test_create_argv(stripes, pvs, expected):
  assert lvm.CreateArgv("xenvg", "d0", 128, stripes, pvs) == expected


def test_grow_argv():
  assert lvm.GrowArgv("xenvg", "d0", 64, False, []) == ["lvextend", "-L+64m", "xenvg/d0"]
  assert lvm.GrowArgv("xenvg", "d0", 64, True, ["/dev/sdb"]) == [
    "lvextend", "--test", "-L+64m", "xenvg/d0", "/dev/sdb"]


@pytest.mark.parametrize("name", ["", "a/b", "-x", "..", "snapshot", "d_mimage_0", "a b"])
def test_invalid_names_are_refused(name):
  with pytest.raises(errors.BlockDeviceError, match="Invalid logical volume name"):
    lvm.CheckName(name)


def test_info_tags_are_sanitized():
  assert lvm.TagFromInfo("originstname+inst1.example.com") == "originstname+inst1.example.com"
  assert lvm.TagFromInfo("-a b(c)") == "_a_b_c_"
  assert len(lvm.TagFromInfo("x" * 300)) == 128


# --- report parsing ------------------------------------------------------------

_LVS_SAMPLE = """\
  xenvg|4f0a.disk0_data|1024.00|-wi-ao----|1|/dev/sdb(0)|254|3|originstname+web1
  xenvg|4f0a.disk0_meta|128.00|-wi-ao----|1|/dev/sdb(256)|254|4|
  xenvg|big|3072.00|-wi-a-----|2|/dev/sdb(288),/dev/sdc(0)|254|5|
  xenvg|big|3072.00|-wi-a-----|1|/dev/sdd(0)|254|5|
  xenvg|lost|512.00|vwi-a---p-|1||-1|-1|
"""


def test_lvs_segments_are_merged():
  volumes = {v.name: v for v in lvm_report.ParseLogicalVolumes(_LVS_SAMPLE)}
  assert set(volumes) == {"4f0a.disk0_data", "4f0a.disk0_meta", "big", "lost"}
  data = volumes["4f0a.disk0_data"]
  assert (data.size, data.major, data.minor, data.tags) == (1024.0, 254, 3,
                                                            ["originstname+web1"])
  big = volumes["big"]
  assert big.pv_names == ["/dev/sdb", "/dev/sdc", "/dev/sdd"] and big.stripes == 2
  lost = volumes["lost"]
  assert lost.virtual and lost.partial and lost.major is None and lost.pv_names == []


def test_vgs_and_pvs_parsing():
  groups = lvm_report.ParseVolumeGroups("  xenvg|20476.00|10236.00|4.00|2\n")
  assert groups == [lvm_report.VolumeGroup("xenvg", 20476.0, 10236.0, 4.0, 2)]
  pvs = lvm_report.ParsePhysicalVolumes("  /dev/sdb|xenvg|10238.00|0|a--|\n"
                                        "  /dev/sdc|xenvg|10238.00|10238.00|a--|ssd,fast\n"
                                        "  /dev/sdd||100.00|100.00|---|\n")
  assert [(pv.name, pv.allocatable, pv.empty, pv.tags) for pv in pvs] == [
    ("/dev/sdb", True, False, []), ("/dev/sdc", True, True, ["ssd", "fast"]),
    ("/dev/sdd", False, True, [])]


def test_malformed_reports_raise_clear_errors():
  with pytest.raises(errors.BlockDeviceError, match="expected 5 fields, got 2"):
    lvm_report.ParseVolumeGroups("xenvg|12\n")
  with pytest.raises(errors.BlockDeviceError, match="Invalid vg_size 'many'"):
    lvm_report.ParseVolumeGroups("xenvg|many|1|4|1\n")


def test_missing_tool_is_a_clear_error():
  previous = runner.SetRunner(runner.ToolRunner(env={"PATH": "/nonexistent"}))
  try:
    with pytest.raises(errors.BlockDeviceError, match="Listing LVM vgs failed.*could not"):
      lvm_report.ListVolumeGroups()
    with pytest.raises(errors.BlockDeviceError, match="Looking up xenvg/d0 failed"):
      lvm.LogicalVolume(("xenvg", "d0"), [], 10, {}, {})
  finally:
    runner.SetRunner(previous)


# --- the real lvm2 tools, metadata only ------------------------------------------

class LoopVg:
  """A volume group on loop devices, visible only to runners made by Runner()."""

  def __init__(self, tmp_path, name, sizes_mib):
    self.name = name
    self.system_dir = str(tmp_path / "lvm")
    os.makedirs(self.system_dir)
    self.loops = []
    for index, size in enumerate(sizes_mib):
      image = tmp_path / ("pv%d.img" % index)
      with open(image, "wb") as handle:
        handle.truncate(size * MIB)
      result = subprocess.run(["losetup", "-f", "--show", str(image)], capture_output=True,
                              text=True, check=False)
      if result.returncode != 0:
        self.Remove()
        pytest.skip("no loop devices: %s" % result.stderr.strip())
      self.loops.append(result.stdout.strip())
    accept = ", ".join('"a|^%s$|"' % loop for loop in self.loops)
    self.config = ("global { activation = 0 } activation { udev_sync = 0 udev_rules = 0 }"
                   " devices { use_devicesfile = 0 obtain_device_list_from_udev = 0"
                   " filter = [ %s, \"r|.*|\" ] }" % accept)
    self.runner = runner.ToolRunner({tool: ["--config", self.config] for tool in _LVM_TOOLS},
                                    env={"LVM_SYSTEM_DIR": self.system_dir})
    self.runner.RunOrFail(["pvcreate", "-q"] + self.loops, "pvcreate")
    self.runner.RunOrFail(["vgcreate", "-q", name] + self.loops, "vgcreate")

  def Remove(self):
    if hasattr(self, "runner"):
      self.runner.Run(["vgremove", "-f", self.name])
      self.runner.Run(["pvremove", "-q"] + self.loops)
    for loop in self.loops:
      subprocess.run(["losetup", "-d", loop], check=False)


def HaveLvmTools():
  return shutil.which("lvcreate") is not None and shutil.which("losetup") is not None


@pytest.fixture
def loop_vg(tmp_path):
  if not HaveLvmTools():
    pytest.skip("lvm2 or losetup missing")
  vg = LoopVg(tmp_path, "tvg%d" % os.getpid(), [64, 64, 64])
  previous = runner.SetRunner(vg.runner)
  try:
    yield vg
  finally:
    runner.SetRunner(previous)
    vg.Remove()


def PlainDisk(vg, lv, size, stripes=1, spindles=None):
  return objects.Disk(dev_type="plain", logical_id=[vg, lv], children=[], size=size,
                      spindles=spindles, params={"stripes": stripes}, iv_name="disk/0")


def test_real_create_find_tag_rename_grow_remove(loop_vg):
  vg = loop_vg.name
  disk = PlainDisk(vg, "d0", 20)
  device = storage.CreateDevice(disk, [], False)
  assert isinstance(device, lvm.LogicalVolume) and device.attached
  assert device.dev_path == "/dev/%s/d0" % vg
  assert device.GetActualDimensions() == (20 * MIB, 1)
  assert device.CombinedSyncStatus().ldisk_status == LDS_OKAY

  device.SetInfo("originstname+inst1")
  device.SetInfo("originstname+inst2")  # replaces the old tag
  found = storage.FindDevice(disk, [])
  assert found.volume.tags == ["originstname+inst2"]
  found.SetInfo("")
  assert storage.FindDevice(disk, []).volume.tags == []

  device.Rename((vg, "d0.renamed"))
  assert storage.FindDevice(disk, []) is None
  assert lvm_report.FindLogicalVolume(vg, "d0.renamed").size == 20.0

  device.Grow(8, True, True, False)  # dry run changes nothing
  assert device.GetActualSize() == 20 * MIB
  device.Grow(8, False, True, False)
  device.Grow(100, False, False, False)  # not the backing store: nothing to do
  assert device.GetActualSize() == 28 * MIB

  device.Remove()
  assert not device.attached
  assert lvm_report.ListLogicalVolumes(vg) == []
  device.Remove()  # absent is fine


def test_real_listing_of_groups_and_pvs(loop_vg):
  storage.CreateDevice(PlainDisk(loop_vg.name, "d1", 12), [], False)
  groups = lvm_report.ListVolumeGroups(loop_vg.name)
  assert [(g.name, g.pv_count, g.extent_size) for g in groups] == [(loop_vg.name, 3, 4.0)]
  assert groups[0].size - groups[0].free == 12
  pvs = lvm_report.ListPhysicalVolumes(loop_vg.name)
  assert sorted(pv.name for pv in pvs) == sorted(loop_vg.loops)
  assert sum(1 for pv in pvs if not pv.empty) == 1


def test_real_striped_and_exclusive_storage(loop_vg):
  vg = loop_vg.name
  striped = storage.CreateDevice(PlainDisk(vg, "s", 40, stripes=2), [], False)
  assert striped.volume.stripes == 2 and striped.GetActualSpindles() == 2
  exclusive = storage.CreateDevice(PlainDisk(vg, "x", 16, spindles=1), [], True)
  (pv_name,) = exclusive.volume.pv_names
  assert pv_name not in striped.volume.pv_names  # a PV of its own
  with pytest.raises(errors.BlockDeviceError, match="Not enough empty PVs"):
    storage.CreateDevice(PlainDisk(vg, "y", 16, spindles=1), [], True)
  exclusive.Grow(8, False, True, True)
  assert exclusive.volume.pv_names == [pv_name] and exclusive.GetActualSize() == 24 * MIB


def test_real_errors_leave_nothing_behind(loop_vg):
  vg = loop_vg.name
  with pytest.raises(errors.BlockDeviceError, match="Not enough free space"):
    storage.CreateDevice(PlainDisk(vg, "huge", 4096), [], False)
  with pytest.raises(errors.BlockDeviceError, match="volume group 'novg' not found"):
    storage.CreateDevice(PlainDisk("novg", "d", 4), [], False)
  device = storage.CreateDevice(PlainDisk(vg, "d", 8), [], False)
  with pytest.raises(errors.BlockDeviceError, match="Creating logical volume .*/d failed"):
    storage.CreateDevice(PlainDisk(vg, "d", 8), [], False)  # the name is taken
  # without device-mapper the kernel side fails, with the tool's reason
  with pytest.raises(errors.BlockDeviceError, match="Snapshotting logical volume.*lvcreate"):
    device.Snapshot("d.snap", 4)
  with pytest.raises(errors.BlockDeviceError, match="another volume group"):
    device.Rename(("othervg", "d"))
  assert [v.name for v in lvm_report.ListLogicalVolumes(vg)] == ["d"]


def test_real_status_of_missing_volume(loop_vg):
  device = lvm.LogicalVolume((loop_vg.name, "absent"), [], 4, {}, {})
  assert not device.attached
  with pytest.raises(errors.BlockDeviceError, match="Can't grow .*/absent: logical volume"
                                                    " not found"):
    device.Grow(4, False, True, False)
  with pytest.raises(errors.BlockDeviceError, match="Can't activate"):
    device.Assemble()


class _ReportRunner(runner.ToolRunner):
  """Answers lvs with a fixed report (an LV state the loop VG can't show)."""

  def __init__(self, report):
    super().__init__()
    self.report = report

  def Run(self, argv, env=None, cwd="/"):
    return runner.ToolResult(argv, 0, self.report, "")


def test_faulty_volume_status():
  lost_row = _LVS_SAMPLE.splitlines()[-1] + "\n"
  previous = runner.SetRunner(_ReportRunner(lost_row))
  try:
    device = lvm.LogicalVolume(("xenvg", "lost"), [], 512, {}, {})
  finally:
    runner.SetRunner(previous)
  status = device.GetSyncStatus()
  assert device.attached and device.GetActualSpindles() == 0
  assert status.is_degraded and status.ldisk_status == LDS_FAULTY


def test_real_backend_calls_reach_plain_disks(loop_vg):
  from ganeti.backend import blockdev as backend_blockdev
  from ganeti.backend.common import RPCFail
  disk = PlainDisk(loop_vg.name, "viarpc", 8).ToDict()
  assert backend_blockdev.BlockdevCreate(disk, 8, "inst1", True, "originstname+inst1",
                                         False) == [loop_vg.name, "viarpc"]
  assert backend_blockdev.BlockdevGetDimensions([disk]) == [[8 * MIB, 1]]
  backend_blockdev.BlockdevGrow(disk, 4, False, True, False)
  assert backend_blockdev.BlockdevGetDimensions([disk]) == [[12 * MIB, 1]]
  assert lvm_report.FindLogicalVolume(loop_vg.name, "viarpc").tags == ["originstname+inst1"]
  assert lvm.CreateArgv(loop_vg.name, "x", 8, 1, [], "originstname+inst1")[-3:] == [
    "--addtag", "originstname+inst1", loop_vg.name]
  backend_blockdev.BlockdevRemove(disk)
  assert backend_blockdev.BlockdevGetDimensions([disk]) == [None]
  with pytest.raises(RPCFail, match="Can't create block device: Not enough free space"):
    backend_blockdev.BlockdevCreate(PlainDisk(loop_vg.name, "big", 999).ToDict(), 999,
                                    "inst1", True, "", False)


def test_real_lvcreate_without_device_mapper_fails_clearly(loop_vg):
  """With activation on, this host's missing device-mapper makes lvcreate fail:
  the error carries lvm2's reason and no LV is left in the metadata."""
  config = loop_vg.config.replace("global { activation = 0 } ", "")
  active = runner.ToolRunner({tool: ["--config", config] for tool in _LVM_TOOLS},
                             env={"LVM_SYSTEM_DIR": loop_vg.system_dir})
  if not active.Run(["lvcreate", "--yes", "-Wn", "-L4m", "-n", "probe", loop_vg.name]).failed:
    active.Run(["lvremove", "-f", "%s/probe" % loop_vg.name])
    pytest.skip("this host has device-mapper")
  runner.SetRunner(active)
  with pytest.raises(errors.BlockDeviceError, match="Creating logical volume .*/d failed"
                                                    " \\(lvcreate: exited with code"):
    storage.CreateDevice(PlainDisk(loop_vg.name, "d", 8), [], False)
  assert lvm_report.ListLogicalVolumes(loop_vg.name) == []


class _RecordingRunner(runner.ToolRunner):
  """Answers lvs with one LV in the given lv_attr state (flipped to active by
  lvchange -ay) and records every command."""

  def __init__(self, attr):
    super().__init__()
    self.attr = attr
    self.commands = []

  def Run(self, argv, env=None, cwd="/"):
    self.commands.append(argv[0] if argv[0] == "lvs" else " ".join(argv))
    if argv[:2] == ["lvchange", "-ay"]:
      self.attr = self.attr[:4] + "a" + self.attr[5:]
    row = "  xenvg|d0|64.00|%s|1|/dev/vdb(0)|254|1|old\n" % self.attr
    return runner.ToolResult(argv, 0, row if argv[0] == "lvs" else "", "")


@pytest.mark.parametrize("attr, expected", [
  ("-wi-a-----", ["lvs"]),  # active already (as lvcreate leaves it): nothing to run
  ("-wi-------", ["lvs", "lvchange -ay xenvg/d0", "lvs"]),
])
def test_assemble_activates_only_inactive_volumes(attr, expected):
  recorder = _RecordingRunner(attr)
  previous = runner.SetRunner(recorder)
  try:
    device = lvm.LogicalVolume(("xenvg", "d0"), [], 64, {}, {})
    device.Assemble()
  finally:
    runner.SetRunner(previous)
  assert recorder.commands == expected
  assert device.volume.active


def test_set_info_tags_without_a_second_lookup():
  recorder = _RecordingRunner("-wi-a-----")
  previous = runner.SetRunner(recorder)
  try:
    device = lvm.LogicalVolume(("xenvg", "d0"), [], 64, {}, {})
    device.SetInfo("originstname+inst1")
    device.SetInfo("")
  finally:
    runner.SetRunner(previous)
  # each change removes the tag the device knows of: the first run's result was kept
  assert recorder.commands == ["lvs", "lvchange --deltag old --addtag originstname+inst1"
                               " xenvg/d0", "lvchange --deltag originstname+inst1 xenvg/d0"]
  assert device.volume.tags == []


def test_set_info_with_the_tag_already_there_runs_nothing():
  recorder = _RecordingRunner("-wi-a-----")
  previous = runner.SetRunner(recorder)
  try:
    device = lvm.LogicalVolume(("xenvg", "d0"), [], 64, {}, {})
    device.SetInfo("old")  # as lvcreate --addtag left it
  finally:
    runner.SetRunner(previous)
  assert recorder.commands == ["lvs"]


class _ListingRunner(runner.ToolRunner):
  """Answers lvs with the sample report and records what ran (lvs with its target)."""

  def __init__(self):
    super().__init__()
    self.commands = []

  def Run(self, argv, env=None, cwd="/"):
    self.commands.append(argv[0] + " " + argv[-1])
    if argv[0] == "lvs":
      # runner.Changes() counts through the real Run; lvs leaves it alone
      return runner.ToolResult(argv, 0, _LVS_SAMPLE, "")
    return super().Run(["true"])


def test_a_changing_command_counts_before_and_after_it_runs(monkeypatch):
  """A listing made while a command ran (by another thread) is out of date
  once the command is done: the count moves again at its end."""
  seen = []

  def FakeRunCommand(argv, **_):
    seen.append(runner.Changes())
    return process.CommandResult(argv, 0, "", "", None)

  monkeypatch.setattr(runner.process, "RunCommand", FakeRunCommand)
  before = runner.Changes()
  runner.ToolRunner().Run(["lvcreate", "-L4m", "-n", "x", "vg"])
  assert seen == [before + 1] and runner.Changes() == before + 2
  runner.ToolRunner().Run(["lvs", "vg"])  # a report changes nothing
  assert runner.Changes() == before + 2


def test_cached_lookups_share_one_listing_until_something_changes():
  recorder = _ListingRunner()
  previous = runner.SetRunner(recorder)
  try:
    with lvm_report.CachedLookups():
      data = lvm_report.FindLogicalVolume("xenvg", "4f0a.disk0_data")
      meta = lvm_report.FindLogicalVolume("xenvg", "4f0a.disk0_meta")
      assert lvm_report.FindLogicalVolume("xenvg", "absent") is None
      data.tags.append("changed by the caller")
      assert lvm_report.FindLogicalVolume("xenvg", "4f0a.disk0_data").tags == [
        "originstname+web1"]
      recorder.Run(["lvchange", "-an", "xenvg/big"])  # may change what lvs shows
      assert lvm_report.FindLogicalVolume("xenvg", "big").stripes == 2
    assert (data.major, meta.minor) == (254, 4)
    lvm_report.FindLogicalVolume("xenvg", "big")  # outside: a lookup of its own
  finally:
    runner.SetRunner(previous)
  assert recorder.commands == ["lvs xenvg", "lvchange xenvg/big", "lvs xenvg",
                               "lvs xenvg/big"]


def test_node_calls_run_with_cached_lookups(monkeypatch):
  from ganeti import backend
  seen = []
  monkeypatch.setattr(lvm_report, "CachedLookups", lambda: _Scope(seen))
  wrapped = backend._WithCachedLookups(lambda a, b: seen.append(("call", a, b)) or a + b)
  assert wrapped(1, 2) == 3
  assert seen == ["enter", ("call", 1, 2), "exit"]


class _Scope:
  def __init__(self, seen):
    self.seen = seen

  def __enter__(self):
    self.seen.append("enter")

  def __exit__(self, *_):
    self.seen.append("exit")
