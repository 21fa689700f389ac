"""Tests for finding LVs through device-mapper (ganeti.storage.devmapper) and
for the LVM commands the LogicalVolume device runs, or no longer runs.

This host has no device-mapper: a fake sysfs tree stands for the kernel's,
and a fake LVM (below) keeps it in step with the LVs it creates, activates,
renames and removes, recording every command so that tests see which LVM
tools an operation needed.
"""

import os
import shutil

import pytest

from ganeti import errors
from ganeti.constants import LDS_FAULTY, LDS_OKAY
from ganeti.storage import devmapper
from ganeti.storage import lvm
from ganeti.storage import lvm_report
from ganeti.storage import runner

MIB = 1024 * 1024
_SECTORS_PER_MIB = MIB // devmapper.SECTOR_SIZE


class FakeSysfs:
  """A sysfs tree with device-mapper devices under block/dm-N."""

  def __init__(self, root):
    self.root = str(root)
    self.count = 0
    os.makedirs(os.path.join(self.root, "block"))

  def Add(self, name, uuid, size_mib, major=253, slaves=()):
    minor, self.count = self.count, self.count + 1
    directory = os.path.join(self.root, "block", "dm-%d" % minor)
    os.makedirs(os.path.join(directory, "dm"))
    os.makedirs(os.path.join(directory, "slaves"))
    for slave in slaves:  # links to the devices below, as the kernel makes them
      target = os.path.basename(self.Find(slave))
      os.symlink(os.path.join("..", "..", target), os.path.join(directory, "slaves", target))
    for relative, text in (("dm/name", name), ("dm/uuid", uuid),
                           ("dev", "%d:%d" % (major, minor)),
                           ("size", str(size_mib * _SECTORS_PER_MIB))):
      with open(os.path.join(directory, relative), "w") as handle:
        handle.write(text + "\n")
    return minor

  def Find(self, name):
    block = os.path.join(self.root, "block")
    for entry in os.listdir(block):
      with open(os.path.join(block, entry, "dm", "name")) as handle:
        if handle.read().strip() == name:
          return os.path.join(block, entry)
    return None

  def Remove(self, name):
    shutil.rmtree(self.Find(name))

  def Rename(self, old, new):
    with open(os.path.join(self.Find(old), "dm", "name"), "w") as handle:
      handle.write(new + "\n")


class FakeLvm(runner.ToolRunner):
  """One volume group on two PVs; active LVs appear in the fake sysfs as LVM
  would make them.  Records each command ("lvs"/"pvs" by name only)."""

  def __init__(self, sysfs, vg="xenvg", pv_free=(100, 60)):
    super().__init__()
    self.sysfs, self.vg = sysfs, vg
    self.pv_free = {"/dev/vd%s" % "bc"[index]: free for index, free in enumerate(pv_free)}
    self.lvs = {}  # name -> {"size", "active", "tags", "attr", "origin"}
    self.busy = set()  # LVs lvremove refuses (open)
    self.commands = []

  def AddVolume(self, name, size, active=True, tags=(), attr=None, origin=None):
    self.lvs[name] = {"size": size, "active": False, "tags": list(tags), "attr": attr,
                      "origin": origin}
    if active:
      self._Activate(name)

  def _DmName(self, name):
    return devmapper.VolumeDeviceName(self.vg, name)

  def _Activate(self, name):
    volume = self.lvs[name]
    if volume["active"]:
      return
    volume["active"] = True
    origin = volume.get("origin")
    if origin is None:
      self.sysfs.Add(self._DmName(name), "LVM-vguuid" + name, volume["size"])
      return
    # a snapshot reads as big as its origin; its own size is the copy-on-write store's
    cow = self._DmName(name) + "-cow"
    self.sysfs.Add(cow, "LVM-vguuid%s-cow" % name, volume["size"])
    self.sysfs.Add(self._DmName(name), "LVM-vguuid" + name, self.lvs[origin]["size"],
                   slaves=[cow, self._DmName(origin)])

  def _Row(self, name, volume):
    attr = volume["attr"] or ("-wi-a-----" if volume["active"] else "-wi-------")
    directory = self.sysfs.Find(self._DmName(name)) if volume["active"] else None
    minor = directory.rsplit("-", 1)[1] if directory else "-1"  # block/dm-<minor>
    return "  %s|%s|%d.00|%s|1|/dev/vdb(0)|%s|%s|%s\n" % (
      self.vg, name, volume["size"], attr, "253" if directory else "-1", minor,
      ",".join(volume["tags"]))

  def Run(self, argv, env=None, cwd="/"):
    argv = list(argv)
    self.commands.append(argv[0] if argv[0] in runner.REPORT_TOOLS else " ".join(argv))
    if argv[0] not in runner.REPORT_TOOLS:
      super().Run(["true"])  # counted as a change, as the real command would be
    handlers = {"lvs": self._Lvs, "pvs": self._Pvs, "vgs": self._Vgs,
                "lvcreate": self._Lvcreate, "lvchange": self._Lvchange,
                "lvremove": self._Lvremove, "lvrename": self._Lvrename,
                "lvextend": self._Lvextend}
    return handlers[argv[0]](argv) or runner.ToolResult(argv, 0, "", "")

  def _Fail(self, argv, message):
    return runner.ToolResult(argv, 5, "", "  %s\n" % message)

  def _Lvs(self, argv):
    target = argv[-1]
    rows = [self._Row(name, volume) for name, volume in sorted(self.lvs.items())
            if target in (self.vg, "%s/%s" % (self.vg, name))]
    if not rows and target != self.vg:
      return self._Fail(argv, "Failed to find logical volume \"%s\"" % target)
    return runner.ToolResult(argv, 0, "".join(rows), "")

  def _Pvs(self, argv):
    rows = ["  %s|%s|100.00|%d.00|a--|\n" % (name, self.vg, free)
            for name, free in sorted(self.pv_free.items())]
    return runner.ToolResult(argv, 0, "".join(rows), "")

  def _Vgs(self, argv):
    return runner.ToolResult(argv, 0, "  %s|%d.00|%d.00|4.00|%d\n" % (
      self.vg, 100 * len(self.pv_free), sum(self.pv_free.values()), len(self.pv_free)), "")

  def _Lvcreate(self, argv):
    values, positional, args = {}, [], iter(argv[1:])
    for arg in args:
      if arg in ("-n", "-i", "--addtag"):
        values[arg] = next(args)
      elif arg.startswith("-L"):
        values["-L"] = int(arg[2:-1])
      elif not arg.startswith("-"):
        positional.append(arg)
    name, size = values["-n"], values["-L"]
    origin = None
    if "-s" in argv:  # a snapshot of the LV named last
      origin = positional[0].split("/", 1)[1]
      positional = [self.vg]
    if positional[0] != self.vg:
      return self._Fail(argv, "Volume group \"%s\" not found" % positional[0])
    if name in self.lvs:
      return self._Fail(argv, "Logical Volume \"%s\" already exists" % name)
    usable = positional[1:] or sorted(self.pv_free, key=lambda pv: -self.pv_free[pv])
    if sum(self.pv_free[pv] for pv in usable) < size:
      return self._Fail(argv, "Volume group \"%s\" has insufficient free space" % self.vg)
    left = size
    for pv in usable:
      taken = min(left, self.pv_free[pv])
      self.pv_free[pv] -= taken
      left -= taken
    self.AddVolume(name, size, tags=[values["--addtag"]] if "--addtag" in values else [],
                   origin=origin)
    return None

  def _Lvchange(self, argv):
    name = argv[-1].split("/", 1)[1]
    if argv[1] == "-ay":
      self._Activate(name)
    for option, value in zip(argv[1:-1], argv[2:-1]):
      if option == "--deltag":
        self.lvs[name]["tags"].remove(value)
      elif option == "--addtag":
        self.lvs[name]["tags"].append(value)

  def _Lvremove(self, argv):
    name = argv[-1].split("/", 1)[1]
    if name not in self.lvs:
      return self._Fail(argv, "Failed to find logical volume \"%s\"" % argv[-1])
    if name in self.busy:
      return self._Fail(argv, "Logical volume %s in use." % argv[-1])
    if self.lvs.pop(name)["active"]:
      self.sysfs.Remove(self._DmName(name))

  def _Lvrename(self, argv):
    old, new = argv[2], argv[3]
    self.lvs[new] = self.lvs.pop(old)
    if self.lvs[new]["active"]:
      self.sysfs.Rename(self._DmName(old), self._DmName(new))

  def _Lvextend(self, argv):
    if "--test" in argv:
      return
    name = [arg for arg in argv if arg.startswith(self.vg + "/")][0].split("/", 1)[1]
    amount = int([arg for arg in argv if arg.startswith("-L+")][0][3:-1])
    volume = self.lvs[name]
    volume["size"] += amount
    if volume["active"]:  # the kernel's device grows with it
      with open(os.path.join(self.sysfs.Find(self._DmName(name)), "size"), "w") as handle:
        handle.write("%d\n" % (volume["size"] * _SECTORS_PER_MIB))


@pytest.fixture
def sysfs(tmp_path, monkeypatch):
  tree = FakeSysfs(tmp_path / "sys")
  monkeypatch.setattr(devmapper, "SYSFS_ROOT", tree.root)
  # no device-mapper to ask for tables (tests that have one set ReadTable)
  monkeypatch.setattr(devmapper, "CONTROL_PATH", str(tmp_path / "no-control"))
  return tree


@pytest.fixture
def fake_lvm(sysfs, monkeypatch):
  fake = FakeLvm(sysfs)
  monkeypatch.setattr(runner, "RUNNER", fake)
  monkeypatch.setattr(lvm_report, "_status_listings", {})
  return fake


# --- device-mapper names and the sysfs scan --------------------------------------

@pytest.mark.parametrize("vg, lv, name", [
  ("xenvg", "d0", "xenvg-d0"),
  ("my-vg", "a-b", "my--vg-a--b"),
  ("vg", "x--y", "vg-x----y"),
])
def test_device_mapper_names_double_the_dashes(vg, lv, name):
  assert devmapper.VolumeDeviceName(vg, lv) == name


def test_scan_reads_lvm_devices_only(sysfs):
  sysfs.Add("xenvg-d0", "LVM-abc", 64, major=254)
  sysfs.Add("xenvg-d1", "CRYPT-LUKS2-abc-xenvg-d1", 8)  # not LVM's
  sysfs.Add("mpatha", "mpath-3600a0b8", 8)
  os.makedirs(os.path.join(sysfs.root, "block", "loop0"))  # not device-mapper
  assert devmapper.ScanLvmDevices() == {
    "xenvg-d0": devmapper.MappedDevice("xenvg-d0", "LVM-abc", 254, 0, 64 * MIB)}


def test_scan_without_sysfs_finds_nothing(monkeypatch, tmp_path):
  monkeypatch.setattr(devmapper, "SYSFS_ROOT", str(tmp_path / "absent"))
  assert devmapper.ScanLvmDevices() == {}


# --- finding LVs ----------------------------------------------------------------

def test_active_volume_is_found_and_assembled_without_lvm_tools(fake_lvm):
  fake_lvm.AddVolume("d0", 64)
  fake_lvm.sysfs.Add("xenvg-d1", "LVM-other", 8)
  device = lvm.LogicalVolume(("xenvg", "d0"), [], 64, {}, {})
  device.Assemble()
  assert device.attached and (device.major, device.minor) == (253, 0)
  assert device.GetActualSize() == 64 * MIB
  assert fake_lvm.commands == []


def test_names_with_dashes_are_found(sysfs):
  fake = FakeLvm(sysfs, vg="my-vg")
  fake.AddVolume("inst-1.disk0", 16)
  previous = runner.SetRunner(fake)
  try:
    device = lvm.LogicalVolume(("my-vg", "inst-1.disk0"), [], 16, {}, {})
    assert device.attached and device.minor == 0 and fake.commands == []
    # "my-vg-inst-1.disk0" would be VG "my", LV "vg-inst-1.disk0" written without
    # doubling: no such device, so lvs is asked (and knows no such group)
    other = lvm.LogicalVolume(("my", "vg-inst-1.disk0"), [], 16, {}, {})
  finally:
    runner.SetRunner(previous)
  assert not other.attached and fake.commands == ["lvs"]


def test_device_mapper_devices_of_others_are_ignored(fake_lvm):
  fake_lvm.sysfs.Add("xenvg-d0", "CRYPT-LUKS2-0123-xenvg-d0", 64)
  device = lvm.LogicalVolume(("xenvg", "d0"), [], 64, {}, {})
  assert not device.attached and fake_lvm.commands == ["lvs"]


def test_inactive_volume_is_found_by_lvs_and_activated(fake_lvm):
  fake_lvm.AddVolume("d0", 32, active=False)
  device = lvm.LogicalVolume(("xenvg", "d0"), [], 32, {}, {})
  assert device.attached and device.major is None and device.volume is not None
  device.Assemble()
  # once active, the device-mapper lookup finds it: no second lvs
  assert fake_lvm.commands == ["lvs", "lvchange -ay xenvg/d0"]
  assert (device.major, device.minor) == (253, 0) and device.GetActualSize() == 32 * MIB


def test_missing_volume_is_asked_of_lvs_and_refused(fake_lvm):
  device = lvm.LogicalVolume(("xenvg", "absent"), [], 4, {}, {})
  assert not device.attached
  with pytest.raises(errors.BlockDeviceError,
                     match="Can't get the size of xenvg/absent: logical volume not found"):
    device.GetActualSize()
  device.Remove()  # absent is fine
  assert fake_lvm.commands == ["lvs", "lvs", "lvs"]


# --- what still needs lvs ----------------------------------------------------------

@pytest.mark.parametrize("attr, degraded, ldisk", [
  (None, False, LDS_OKAY),
  ("-wi-a---p-", True, LDS_FAULTY),  # partial: a PV is missing
  ("vwi-a-----", True, LDS_FAULTY),  # virtual
])
def test_status_of_an_active_volume_consults_lvs(fake_lvm, attr, degraded, ldisk):
  """(without a device-mapper to ask for the volume's table)"""
  fake_lvm.AddVolume("d0", 64, attr=attr)
  device = lvm.LogicalVolume(("xenvg", "d0"), [], 64, {}, {})
  assert fake_lvm.commands == []
  status = device.GetSyncStatus()
  assert (status.is_degraded, status.ldisk_status) == (degraded, ldisk)
  assert (status.major, status.minor) == (253, 0)
  device.GetSyncStatus()
  assert fake_lvm.commands == ["lvs"]


def _KernelAnswer(targets, size=4096, flags=0):
  """A DM_TABLE_STATUS answer as the kernel writes it: the header, then each
  target's spec and parameters, every spec 8-byte aligned."""
  answer = bytearray(size)
  offset = 0
  for kind, params in targets:
    spec_at = devmapper._DM_IOCTL.size + offset
    text = params.encode() + b"\0"
    following = offset + devmapper._DM_TARGET.size + len(text)
    following += -following % 8
    devmapper._DM_TARGET.pack_into(answer, spec_at, 0, 2048, 0, following, kind.encode())
    answer[spec_at + devmapper._DM_TARGET.size:spec_at + devmapper._DM_TARGET.size +
           len(text)] = text
    offset = following
  devmapper._DM_IOCTL.pack_into(answer, 0, 4, 41, 0, size, devmapper._DM_IOCTL.size,
                                len(targets), 0, flags, 0, 0, 0, b"xenvg-d0", b"", b"")
  return bytes(answer)


def test_tables_are_read_from_the_kernels_answer(monkeypatch, tmp_path):
  assert devmapper.ParseTable(_KernelAnswer([
    ("linear", "254:16 2048"), ("striped", "2 128 8:16 0 8:32 0"), ("error", "")])) == [
      ("linear", "254:16 2048"), ("striped", "2 128 8:16 0 8:32 0"), ("error", "")]
  # too big for the buffer: asked again with a bigger one
  assert devmapper.ParseTable(_KernelAnswer([], flags=1 << 8)) is None
  monkeypatch.setattr(devmapper, "CONTROL_PATH", str(tmp_path / "absent"))
  assert devmapper.ReadTable("xenvg-d0") is None


@pytest.mark.parametrize("table, lacks", [
  ([("linear", "254:16 2048")], False),
  ([("striped", "2 128 254:16 0 254:32 0")], False),
  ([("linear", "254:16 2048"), ("error", "")], True),  # partial: a PV is missing
  ([("zero", "")], True),  # virtual
  ([("linear", "254:48 2048")], True),  # the device below went away
])
def test_status_of_an_active_volume_reads_its_table_not_lvs(fake_lvm, monkeypatch, table,
                                                             lacks):
  for number in ("254:16", "254:32"):
    os.makedirs(os.path.join(fake_lvm.sysfs.root, "dev", "block", number))
  fake_lvm.AddVolume("d0", 64)
  asked = []
  monkeypatch.setattr(devmapper, "ReadTable", lambda name: asked.append(name) or table)
  status = lvm.LogicalVolume(("xenvg", "d0"), [], 64, {}, {}).GetSyncStatus()
  assert (status.is_degraded, status.ldisk_status) == (lacks, LDS_FAULTY if lacks else LDS_OKAY)
  assert asked == ["xenvg-d0"] and fake_lvm.commands == []


def test_status_polls_in_a_row_share_one_listing(fake_lvm, monkeypatch):
  """Sync progress is polled every fraction of a second: an LV's listing
  serves the polls of the next few seconds, unless storage changed here."""
  fake_lvm.AddVolume("d0", 64, attr="-wi-a---p-")
  clock = [1000.0]
  monkeypatch.setattr(lvm_report.time, "monotonic", lambda: clock[0])

  def Poll():
    return lvm.LogicalVolume(("xenvg", "d0"), [], 64, {}, {}).GetSyncStatus().is_degraded

  assert Poll() and Poll()
  clock[0] += lvm_report.STATUS_LISTING_TTL - 0.5
  assert Poll()
  assert fake_lvm.commands == ["lvs"]
  clock[0] += 1  # too old
  assert Poll()
  assert fake_lvm.commands == ["lvs", "lvs"]
  monkeypatch.setattr(runner, "_changes", runner.Changes() + 1)  # a command changed storage
  fake_lvm.lvs["d0"]["attr"] = "-wi-a-----"
  assert not Poll()
  assert fake_lvm.commands == ["lvs", "lvs", "lvs"]


def test_spindles_and_exclusive_growth_list_the_volume(fake_lvm):
  fake_lvm.AddVolume("d0", 20)
  device = lvm.LogicalVolume(("xenvg", "d0"), [], 20, {}, {})
  device.Grow(4, False, True, False)
  assert fake_lvm.commands == ["lvextend -L+4m xenvg/d0"]
  assert device.GetActualSize() == 24 * MIB  # the kernel's new size
  assert device.GetActualDimensions() == (24 * MIB, 1)
  device.Grow(4, False, True, True)  # exclusive storage: only on its own PVs
  assert fake_lvm.commands == ["lvextend -L+4m xenvg/d0", "lvs",
                               "lvextend -L+4m xenvg/d0 /dev/vdb"]


def test_rename_and_remove_of_an_active_volume_run_only_their_command(fake_lvm):
  fake_lvm.AddVolume("d0", 8)
  device = lvm.LogicalVolume(("xenvg", "d0"), [], 8, {}, {})
  device.Rename(("xenvg", "d0.new"))
  assert device.attached and device.mapped.name == "xenvg-d0.new"
  device.Remove()
  assert not device.attached and fake_lvm.lvs == {}
  assert fake_lvm.commands == ["lvrename xenvg d0 d0.new", "lvremove -f xenvg/d0.new"]


def test_remove_of_a_mapping_lvm_left_behind_finds_no_volume(fake_lvm):
  fake_lvm.sysfs.Add("xenvg-gone", "LVM-vguuidgone", 8)  # in the kernel, not in LVM
  device = lvm.LogicalVolume(("xenvg", "gone"), [], 8, {}, {})
  assert device.attached
  device.Remove()
  assert not device.attached
  assert fake_lvm.commands == ["lvremove -f xenvg/gone", "lvs"]


def test_remove_of_a_volume_in_use_fails(fake_lvm):
  fake_lvm.AddVolume("d0", 8)
  fake_lvm.busy.add("d0")
  device = lvm.LogicalVolume(("xenvg", "d0"), [], 8, {}, {})
  with pytest.raises(errors.BlockDeviceError, match="^Removing logical volume xenvg/d0 failed"
                                                    " \\(lvremove: exited with code 5;"
                                                    " Logical volume xenvg/d0 in use.\\)$"):
    device.Remove()
  assert device.attached and fake_lvm.commands == ["lvremove -f xenvg/d0", "lvs"]


def test_snapshot_size_comes_from_the_kernel(fake_lvm):
  fake_lvm.AddVolume("d0", 12)
  device = lvm.LogicalVolume(("xenvg", "d0"), [], 12, {}, {})
  assert device.Snapshot(None, None) == ("xenvg", "d0.snap")
  assert fake_lvm.lvs["d0.snap"]["size"] == 12
  assert fake_lvm.commands == ["vgs", "lvcreate -L12m -s -n d0.snap xenvg/d0"]


def test_snapshot_volume_has_its_own_size_from_lvs(fake_lvm):
  fake_lvm.AddVolume("d0", 64)
  lvm.LogicalVolume(("xenvg", "d0"), [], 64, {}, {}).Snapshot("d0.snap", 8)
  snapshot = lvm.LogicalVolume(("xenvg", "d0.snap"), [], 8, {}, {})
  assert snapshot.mapped.snapshot and snapshot.mapped.size == 64 * MIB
  assert snapshot.GetActualSize() == 8 * MIB
  assert fake_lvm.commands[-1] == "lvs"


def test_set_info_after_create_knows_the_tags(fake_lvm):
  device = lvm.LogicalVolume.Create(("xenvg", "d0"), [], 8, None, {}, False, {},
                                    info="originstname+inst1")
  device.SetInfo("originstname+inst1")  # as lvcreate tagged it: nothing to do
  device.SetInfo("originstname+inst2")
  assert fake_lvm.commands == [
    "lvcreate --yes -Wn -L8m -n d0 --addtag originstname+inst1 xenvg",
    "lvchange --deltag originstname+inst1 --addtag originstname+inst2 xenvg/d0"]
  assert fake_lvm.lvs["d0"]["tags"] == ["originstname+inst2"]


def test_set_info_of_a_found_volume_reads_its_tags(fake_lvm):
  fake_lvm.AddVolume("d0", 8, tags=["old"])
  device = lvm.LogicalVolume(("xenvg", "d0"), [], 8, {}, {})
  device.SetInfo("new")
  device.SetInfo("new")
  assert fake_lvm.commands == ["lvs", "lvchange --deltag old --addtag new xenvg/d0"]


# --- one scan per node call --------------------------------------------------------

def test_cached_lookups_share_one_scan_until_something_changes(fake_lvm):
  fake_lvm.AddVolume("d0", 8)
  with lvm_report.CachedLookups():
    assert lvm_report.FindActiveVolume("xenvg", "d0").minor == 0
    # made behind the runner's back: the scan made for this call doesn't see it
    fake_lvm.sysfs.Add("xenvg-d1", "LVM-d1", 8)
    assert lvm_report.FindActiveVolume("xenvg", "d1") is None
    found = lvm_report.FindActiveVolume("xenvg", "d0")
    found.size = 0  # callers may change what they get
    assert lvm_report.FindActiveVolume("xenvg", "d0").size == 8 * MIB
    fake_lvm.Run(["lvchange", "-ay", "xenvg/d0"])  # may change storage: scanned again
    assert lvm_report.FindActiveVolume("xenvg", "d1").minor == 1
    fake_lvm.sysfs.Remove("xenvg-d1")
    assert lvm_report.FindActiveVolume("xenvg", "d1") is not None
  # outside a call every lookup scans
  assert lvm_report.FindActiveVolume("xenvg", "d1") is None


# --- creating without pvs --------------------------------------------------------

def _Create(name, size, stripes=1, spindles=None, excl_stor=False, vg="xenvg"):
  return lvm.LogicalVolume.Create((vg, name), [], size, spindles, {"stripes": stripes},
                                  excl_stor, {})


def test_plain_volume_is_created_by_lvm_alone(fake_lvm):
  device = _Create("d0", 120)
  assert device.attached and device.GetActualSize() == 120 * MIB
  assert fake_lvm.commands == ["lvcreate --yes -Wn -L120m -n d0 xenvg"]


def test_striped_and_exclusive_volumes_are_placed_on_listed_pvs(fake_lvm):
  _Create("s", 40, stripes=2)
  fake_lvm.pv_free["/dev/vdd"] = 100
  _Create("x", 30, spindles=1, excl_stor=True)
  assert fake_lvm.commands == ["pvs", "lvcreate --yes -Wn -L40m -n s -i 2 xenvg /dev/vdb"
                               " /dev/vdc", "pvs", "lvcreate --yes -Wn -L30m -n x xenvg"
                               " /dev/vdd"]


def test_failed_create_explains_missing_space(fake_lvm):
  with pytest.raises(errors.BlockDeviceError,
                     match="^Not enough free space: required 500 MiB, available 160 MiB$"):
    _Create("big", 500)
  fake_lvm.pv_free = {"/dev/vdb": 0}
  with pytest.raises(errors.BlockDeviceError, match="^Not enough PVs with free space for 1"
                                                    " stripes: available 0$"):
    _Create("d", 4)
  assert fake_lvm.commands == ["lvcreate --yes -Wn -L500m -n big xenvg", "pvs",
                               "lvcreate --yes -Wn -L4m -n d xenvg", "pvs"]


def test_failed_create_of_a_missing_group_names_it(fake_lvm):
  fake_lvm.pv_free = {}
  with pytest.raises(errors.BlockDeviceError, match="^Can't create novg/d: volume group"
                                                    " 'novg' not found or without physical"
                                                    " volumes$"):
    _Create("d", 4, vg="novg")


def test_failed_create_with_space_reports_lvcreate(fake_lvm):
  _Create("d", 8)
  with pytest.raises(errors.BlockDeviceError,
                     match="^Creating logical volume xenvg/d failed \\(lvcreate: exited"
                           " with code 5; Logical Volume \"d\" already exists\\)$"):
    _Create("d", 8)
  assert fake_lvm.commands[1:] == ["lvcreate --yes -Wn -L8m -n d xenvg", "pvs"]


# --- a DRBD disk's node calls --------------------------------------------------------

def test_drbd_disk_node_calls_run_lvm_tools_only_to_change_or_report(fake_lvm, tmp_path,
                                                                      monkeypatch):
  """Creating, assembling and removing a DRBD disk over two active LVs through
  the node's RPC handlers: LVM runs only the commands that change storage,
  and lvs once for the mirror status (partial or virtual LVs are faulty); a
  DRBD device's own status (blockdev_find) needs no LV data."""
  import test_storage_drbd
  import test_storage_lvm
  from ganeti import backend
  from ganeti import pathutils
  from ganeti.storage import drbd
  fake_lvm.pv_free = {"/dev/vdb": 1000}
  kernel = test_storage_drbd._FakeKernel(str(tmp_path / "drbd"), others=fake_lvm)
  monkeypatch.setattr(drbd.DRBD8, "proc_path", kernel.proc_path)
  monkeypatch.setattr(pathutils, "DISK_LINKS_DIR", str(tmp_path / "links"))
  children = [test_storage_lvm.PlainDisk("xenvg", "x.disk0_data", 32),
              test_storage_lvm.PlainDisk("xenvg", "x.disk0_meta", 128)]
  disk = test_storage_drbd._DrbdDisk()
  disk.size, disk.children = 32, children
  data = disk.ToDict()
  calls = [
    ("blockdev_create", (children[0].ToDict(), 32, "x", True, "originstname+x", False)),
    ("blockdev_create", (children[1].ToDict(), 128, "x", True, "originstname+x", False)),
    ("blockdev_create", (data, 32, "x", True, "originstname+x", False)),
    ("blockdev_assemble", (data, {"name": "x", "hypervisor": "kvm"}, True, 0)),
    ("blockdev_getmirrorstatus", ([data],)),
    ("blockdev_find", (data,)),
    ("blockdev_shutdown", (data,)),
    ("blockdev_remove", (data,)),
  ]
  previous = runner.SetRunner(kernel)
  try:
    commands = []
    for name, args in calls:
      del fake_lvm.commands[:]
      backend.HANDLERS[name](*args)
      commands.append(list(fake_lvm.commands))
  finally:
    runner.SetRunner(previous)
  assert commands == [
    ["lvcreate --yes -Wn -L32m -n x.disk0_data --addtag originstname+x xenvg"],
    ["lvcreate --yes -Wn -L128m -n x.disk0_meta --addtag originstname+x xenvg"],
    [], [], ["lvs"], [], [],
    ["lvremove -f xenvg/x.disk0_data", "lvremove -f xenvg/x.disk0_meta"]]
  assert fake_lvm.lvs == {} and kernel.minors == {}
