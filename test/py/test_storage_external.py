"""Disks whose storage lives outside the node's LVM: ExtStorage providers
(real provider programs), RBD images (the rbd tool scripted: no Ceph cluster
runs here) and adopted block devices (a real loop device where one can be
set up)."""

import json
import os

import pytest

from ganeti import errors
from ganeti import objects
from ganeti import pathutils
from ganeti import storage
from ganeti.storage import extstorage
from ganeti.storage import persistent
from ganeti.storage import rbd
from ganeti.storage import runner

from storage_fixtures import Calls, LoopDevice, WriteProvider

MIB = 1024 * 1024


# --- ExtStorage ----------------------------------------------------------------------

@pytest.fixture
def provider(tmp_path, monkeypatch):
  search = tmp_path / "es"
  store = tmp_path / "store"
  WriteProvider(str(search / "filestore"), str(store))
  monkeypatch.setattr(pathutils, "ES_SEARCH_PATH", [str(tmp_path / "empty"), str(search)])
  return store


def _ext_disk(size=64, **params):
  return objects.Disk(dev_type="ext", size=size, logical_id=["filestore", "u1.ext.disk0"],
                      params=dict({"provider": "filestore", "access": "kernelspace"}, **params),
                      name="data", uuid="disk-uuid-1")


def _vars(line):
  return dict(word.split("=", 1) for word in line.split()[1:])


def test_ext_volume_life_cycle(provider):
  disk = _ext_disk(tier="gold")
  device = storage.CreateDevice(disk, [], False)
  volume = provider / "u1.ext.disk0"
  assert device.attached and device.dev_path == str(volume)
  assert os.path.getsize(volume) == 64 * MIB == device.GetActualSize()
  created = Calls(str(provider))[0]
  assert created.startswith("create ")
  # provider parameters are EXTP_<NAME>; Ganeti's own (provider, access) are not
  assert _vars(created) == {"VOL_NAME": "u1.ext.disk0", "VOL_SIZE": "64",
                            "VOL_CNAME": "data", "VOL_UUID": "disk-uuid-1",
                            "EXTP_TIER": "gold"}
  device.SetInfo("originstname+inst1")
  assert (provider / "u1.ext.disk0.info").read_text() == "originstname+inst1\n"
  device.Grow(32, dryrun=True, backingstore=True, excl_stor=False)
  device.Grow(32, dryrun=False, backingstore=False, excl_stor=False)
  assert os.path.getsize(volume) == 64 * MIB
  device.Grow(32, dryrun=False, backingstore=True, excl_stor=False)
  assert os.path.getsize(volume) == 96 * MIB
  grow = [line for line in Calls(str(provider)) if line.startswith("grow ")]
  assert len(grow) == 1 and _vars(grow[0])["VOL_NEW_SIZE"] == "96"
  assert device.GetUserspaceAccessUri("kvm") == "file:%s" % volume
  with pytest.raises(errors.BlockDeviceError, match="no userspace access for hypervisor xen"):
    device.GetUserspaceAccessUri("xen")
  device.Open(exclusive=False)
  assert _vars(Calls(str(provider))[-1])["VOL_OPEN_EXCLUSIVE"] == "False"
  snap = device.Snapshot(None, None)
  assert snap == ["filestore", "u1.ext.disk0.snap"]
  assert os.path.getsize(provider / "u1.ext.disk0.snap") == 96 * MIB
  device.Shutdown()
  assert Calls(str(provider))[-1].startswith("detach ")
  storage.FindDevice(disk, []).Remove()
  assert not volume.exists()
  assert storage.FindDevice(disk, []) is None


def test_ext_failures_carry_the_providers_words(provider, tmp_path, monkeypatch):
  WriteProvider(str(tmp_path / "es" / "picky"), str(provider), fail=("create",))
  disk = _ext_disk()
  disk.logical_id = ["picky", "u2.ext.disk0"]
  with pytest.raises(errors.BlockDeviceError, match="create refused by the test"):
    storage.CreateDevice(disk, [], False)
  disk.logical_id = ["nosuch", "u2.ext.disk0"]
  with pytest.raises(errors.BlockDeviceError, match="provider 'nosuch' not found"):
    storage.CreateDevice(disk, [], False)
  with pytest.raises(errors.BlockDeviceError, match="Exclusive storage"):
    storage.CreateDevice(_ext_disk(), [], True)
  # a volume that attach cannot map is not there; assembling it says why
  missing = _ext_disk()
  missing.logical_id = ["filestore", "gone.ext.disk0"]
  assert storage.FindDevice(missing, []) is None
  with pytest.raises(errors.BlockDeviceError, match="no volume gone.ext.disk0"):
    storage.AssembleDevice(missing, [])
  with pytest.raises(errors.BlockDeviceError, match="Invalid ExtStorage provider name"):
    extstorage.FindProvider("../filestore")


# --- RBD -------------------------------------------------------------------------------

class _FakeRbd(runner.ToolRunner):
  """The rbd tool against an imaginary pool: images and their mappings."""

  def __init__(self, tmp_path):
    super().__init__()
    self.tmp_path = tmp_path
    self.images = {}
    self.mapped = {}
    self.calls = []

  def Run(self, argv, env=None, cwd="/"):
    self.calls.append(list(argv))
    if argv[0] != "rbd":
      return super().Run(argv, env, cwd)
    verb, pool, name = argv[1], None, argv[-1]
    if "-p" in argv:
      pool = argv[argv.index("-p") + 1]
    if verb == "create":
      self.images[(pool, name)] = int(argv[argv.index("--size") + 1])
    elif verb == "map":
      if (pool, name) not in self.images:
        return runner.ToolResult(argv, 2, "", "rbd: error opening image %s: No such file" % name)
      device = self.tmp_path / ("rbd%d" % len(self.mapped))
      device.write_bytes(b"\0" * 1024)
      self.mapped[(pool, name)] = str(device)
    elif verb == "showmapped":
      rows = [{"id": str(i), "pool": p, "namespace": "", "name": n, "snap": "-", "device": d}
              for i, ((p, n), d) in enumerate(self.mapped.items()) if p == pool]
      return runner.ToolResult(argv, 0, json.dumps(rows), "")
    elif verb == "unmap":
      self.mapped = {key: dev for key, dev in self.mapped.items() if dev != argv[2]}
    elif verb == "rm":
      del self.images[(pool, name)]
    elif verb == "resize":
      self.images[(pool, name)] = int(argv[argv.index("--size") + 1])
    return runner.ToolResult(argv, 0, "", "")


@pytest.fixture
def fake_rbd(tmp_path):
  fake = _FakeRbd(tmp_path)
  previous = runner.SetRunner(fake)
  yield fake
  runner.SetRunner(previous)


def test_rbd_image_life_cycle(fake_rbd):
  disk = objects.Disk(dev_type="rbd", size=256, logical_id=["rbd", "u3.rbd.disk0"],
                      params={"pool": "vms", "access": "kernelspace"})
  device = storage.CreateDevice(disk, [], False)
  assert fake_rbd.calls[0] == ["rbd", "create", "-p", "vms", "--size", "256", "u3.rbd.disk0"]
  assert fake_rbd.images == {("vms", "u3.rbd.disk0"): 256}
  assert not device.attached  # created, not mapped
  device = storage.AssembleDevice(disk, [])
  assert ["rbd", "map", "-p", "vms", "u3.rbd.disk0"] in fake_rbd.calls
  assert device.attached and device.dev_path == fake_rbd.mapped[("vms", "u3.rbd.disk0")]
  calls = len(fake_rbd.calls)
  storage.AssembleDevice(disk, [])  # already mapped: no second map
  assert not any(call[1] == "map" for call in fake_rbd.calls[calls:])
  device.Grow(128, dryrun=False, backingstore=True, excl_stor=False)
  assert fake_rbd.images[("vms", "u3.rbd.disk0")] == 384
  assert device.GetUserspaceAccessUri("kvm") == "rbd:vms/u3.rbd.disk0"
  device.Shutdown()
  assert fake_rbd.mapped == {}
  device = storage.AssembleDevice(disk, [])
  device.Remove()
  assert fake_rbd.images == {} and fake_rbd.mapped == {}
  with pytest.raises(errors.BlockDeviceError, match="error opening image"):
    storage.AssembleDevice(disk, [])


def test_rbd_showmapped_formats():
  # Ceph before Nautilus: an object keyed by mapping id
  old = json.dumps({"0": {"pool": "rbd", "name": "a", "snap": "-", "device": "/dev/rbd0"},
                    "1": {"pool": "rbd", "name": "b", "snap": "s1", "device": "/dev/rbd1"}})
  new = json.dumps([{"id": "0", "pool": "rbd", "namespace": "", "name": "a", "snap": "-",
                     "device": "/dev/rbd0"}])
  assert rbd.MappedDevice(rbd.ParseShowMapped(old), "rbd", "a") == "/dev/rbd0"
  assert rbd.MappedDevice(rbd.ParseShowMapped(old), "rbd", "b") is None  # a snapshot
  assert rbd.MappedDevice(rbd.ParseShowMapped(new), "rbd", "a") == "/dev/rbd0"
  assert rbd.ParseShowMapped("") == []
  twice = json.dumps([{"pool": "rbd", "name": "a", "snap": "-", "device": "/dev/rbd%d" % i}
                      for i in range(2)])
  with pytest.raises(errors.BlockDeviceError, match="mapped more than once"):
    rbd.MappedDevice(rbd.ParseShowMapped(twice), "rbd", "a")
  with pytest.raises(errors.BlockDeviceError, match="Unparseable"):
    rbd.ParseShowMapped("id pool image snap device")


# --- adopted block devices --------------------------------------------------------------

@pytest.fixture
def loop_device(tmp_path):
  with LoopDevice(str(tmp_path / "backing"), b"adopted data", 8 * MIB) as device:
    yield device


def test_adopted_block_device(loop_device, tmp_path):
  disk = objects.Disk(dev_type="blockdev", size=8, logical_id=["manual", loop_device])
  device = storage.CreateDevice(disk, [], False)
  assert device.attached and device.major == 7
  assert device.GetActualSize() == 8 * MIB
  device.Assemble()
  device.Shutdown()
  device.Remove()  # the administrator's device stays, with its data
  with open(loop_device, "rb") as handle:
    assert handle.read(12) == b"adopted data"
  with pytest.raises(errors.BlockDeviceError, match="Renaming is not supported"):
    device.Rename(["manual", "/dev/disk/by-id/other"])
  plain_file = objects.Disk(dev_type="blockdev", size=8,
                            logical_id=["manual", str(tmp_path / "backing")])
  with pytest.raises(errors.BlockDeviceError, match="not an existing block device"):
    storage.CreateDevice(plain_file, [], False)


def test_only_stable_device_names_are_adoptable():
  persistent.CheckAdoptable("/dev/disk/by-id/wwn-0x5000")
  for path in ("/dev/sda", "/dev/disk/../sda", "relative/dev/disk/x", None):
    with pytest.raises(errors.BlockDeviceError, match="cannot be adopted"):
      persistent.CheckAdoptable(path)
