"""Tests for ganeti.storage: the device registry, file-backed devices and the
naming of disk files."""

import os

import pytest

from ganeti import constants
from ganeti import errors
from ganeti import objects
from ganeti import storage
from ganeti.storage import base
from ganeti.storage import filestorage

MIB = 1024 * 1024


def _FileDisk(path, size=4, dev_type="file", iv_name="disk/0"):
  return objects.Disk(dev_type=dev_type, logical_id=["loop", path], children=[], size=size,
                      iv_name=iv_name, params={}, uuid="uuid-" + os.path.basename(path))


@pytest.mark.parametrize("dev_type", ["file", "sharedfile"])
def test_create_sparse_file_of_disk_size(tmp_path, dev_type):
  path = str(tmp_path / "x.disk0")
  device = storage.CreateDevice(_FileDisk(path, size=64, dev_type=dev_type), [], False)
  info = os.stat(path)
  assert info.st_size == 64 * MIB
  assert info.st_blocks * 512 < MIB  # sparse: nothing was written
  assert info.st_mode & 0o777 == 0o700
  assert device.attached and device.dev_path == path
  assert device.unique_id == ("loop", path)
  assert device.GetActualDimensions() == (64 * MIB, None)


def test_create_refuses_existing_file_and_missing_dir(tmp_path):
  path = str(tmp_path / "x.disk0")
  storage.CreateDevice(_FileDisk(path), [], False)
  with pytest.raises(errors.BlockDeviceError, match="can't create: .*File exists"):
    storage.CreateDevice(_FileDisk(path), [], False)
  missing = str(tmp_path / "nodir" / "x.disk0")
  with pytest.raises(errors.BlockDeviceError, match="can't create: .*No such file"):
    storage.CreateDevice(_FileDisk(missing), [], False)
  with pytest.raises(errors.BlockDeviceError, match="Exclusive storage"):
    storage.CreateDevice(_FileDisk(str(tmp_path / "y")), [], True)
  assert not os.path.exists(tmp_path / "y")


def test_find_assemble_status_and_remove(tmp_path):
  path = str(tmp_path / "x.disk0")
  disk = _FileDisk(path)
  assert storage.FindDevice(disk, []) is None
  with pytest.raises(errors.BlockDeviceError, match="No such file"):
    storage.AssembleDevice(disk, [])
  storage.CreateDevice(disk, [], False)
  device = storage.FindDevice(disk, [])
  status = device.CombinedSyncStatus()
  assert status.ToDict() == {"dev_path": path, "is_degraded": False,
                             "ldisk_status": constants.LDS_OKAY}
  assert storage.AssembleDevice(disk, []).dev_path == path
  device.Shutdown()
  assert os.path.exists(path)  # shutting down keeps the data
  device.Remove()
  assert not os.path.exists(path)
  device.Remove()  # absent is fine


def test_grow_only_backing_store_and_not_on_dry_run(tmp_path):
  path = str(tmp_path / "x.disk0")
  device = storage.CreateDevice(_FileDisk(path, size=4), [], False)
  device.Grow(2, dryrun=False, backingstore=False, excl_stor=False)
  device.Grow(2, dryrun=True, backingstore=True, excl_stor=False)
  assert os.path.getsize(path) == 4 * MIB
  device.Grow(2, dryrun=False, backingstore=True, excl_stor=False)
  assert os.path.getsize(path) == 6 * MIB
  with pytest.raises(errors.BlockDeviceError, match="shrink"):
    device.Grow(-1, dryrun=False, backingstore=True, excl_stor=False)


def test_rename(tmp_path):
  old, new = str(tmp_path / "a"), str(tmp_path / "b")
  device = storage.CreateDevice(_FileDisk(old), [], False)
  device.Rename(["loop", new])
  assert device.dev_path == new and device.unique_id == ("loop", new)
  assert os.path.exists(new) and not os.path.exists(old)
  storage.CreateDevice(_FileDisk(old), [], False)
  with pytest.raises(errors.BlockDeviceError, match="target exists"):
    storage.FindDevice(_FileDisk(old), []).Rename(["loop", new])


def test_unsupported_operations_and_types(tmp_path):
  device = storage.CreateDevice(_FileDisk(str(tmp_path / "a")), [], False)
  for call in (lambda: device.Snapshot("s", 1), lambda: device.AddChildren([]),
               lambda: device.RemoveChildren([]), lambda: device.GetUserspaceAccessUri("kvm")):
    with pytest.raises(errors.BlockDeviceError):
      call()
  assert device.PauseResumeSync(True) is True
  with pytest.raises(errors.BlockDeviceError, match="Unsupported device type 'gluster'"):
    storage.FindDevice(objects.Disk(dev_type="gluster", logical_id=["gluster", "img"], size=1), [])
  with pytest.raises(ValueError):
    filestorage.FileStorage(["only-one"], [], 1, {}, {})


def test_combined_status_takes_the_worst_child():
  class Fake(base.BlockDev):
    def __init__(self, percent, degraded, ldisk, children=()):
      super().__init__(("fake",), children, 1, {}, {})
      self.status = (percent, degraded, ldisk)

    def GetSyncStatus(self):
      percent, degraded, ldisk = self.status
      return objects.BlockDevStatus(dev_path="/dev/fake", sync_percent=percent,
                                    estimated_time=percent and 100 - percent,
                                    is_degraded=degraded, ldisk_status=ldisk)

  parent = Fake(None, False, constants.LDS_OKAY,
                [Fake(40.0, False, constants.LDS_SYNC), Fake(70.0, True, constants.LDS_OKAY), None])
  status = parent.CombinedSyncStatus()
  assert (status.sync_percent, status.estimated_time) == (40.0, 60.0)
  assert status.is_degraded is True and status.ldisk_status == constants.LDS_SYNC


def test_describe_disk_as_ganeti_does():
  disk = _FileDisk("/srv/ganeti/file-storage/i/a.file.disk0", size=10)
  assert base.DescribeDisk(disk) == (
    "<Disk(type=file, logical_id=('loop', '/srv/ganeti/file-storage/i/a.file.disk0'),"
    " children=[], visible as /dev/disk/0, size=10m)>")


def test_data_helpers_keep_the_target_size(tmp_path):
  source, target = tmp_path / "src", tmp_path / "dst"
  source.write_bytes(b"abc" + bytes(10))
  target.write_bytes(b"\xff" * (3 * MIB))
  assert base.CopyData(str(source), str(target)) == 13
  data = target.read_bytes()
  assert len(data) == 3 * MIB and data[:4] == b"abc\0" and data[13:14] == b"\xff"
  base.WriteZeros(str(target), 1, 1)
  data = target.read_bytes()
  assert len(data) == 3 * MIB
  assert data[MIB - 1:MIB] == b"\xff" and data[MIB:2 * MIB] == bytes(MIB)
  assert data[2 * MIB:2 * MIB + 1] == b"\xff"


def test_disk_file_naming():
  # as real Ganeti 3.0 lays them out: <dir>[/<subdir>]/<instance>/<id>.<type>.disk<N>
  directory = filestorage.InstanceFileStorageDir("/srv/ganeti/file-storage", "inst-f")
  assert directory == "/srv/ganeti/file-storage/inst-f"
  assert filestorage.InstanceFileStorageDir("/srv/ganeti/file-storage", "inst-g",
                                            "sub/x") == "/srv/ganeti/file-storage/sub/x/inst-g"
  path = filestorage.FileDiskPath(directory, "1373017e-7d33", 0)
  assert path == "/srv/ganeti/file-storage/inst-f/1373017e-7d33.file.disk0"
  assert filestorage.FileDiskPath("/s/i", "u", 2, "sharedfile") == "/s/i/u.sharedfile.disk2"
  assert filestorage.FileLogicalId(None, path) == ["loop", path]
  assert filestorage.FileLogicalId("blktap", path) == ["blktap", path]
  assert filestorage.DiskFileDir(["loop", path]) == directory
  for bad in ("/abs", "../up", "a/../../b"):
    with pytest.raises(errors.OpPrereqError):
      filestorage.InstanceFileStorageDir("/srv/ganeti/file-storage", "i", bad)


def test_path_acceptance():
  allowed = ["/srv/ganeti/file-storage", "/data/vms/"]
  filestorage.CheckFileStoragePathAcceptance("/srv/ganeti/file-storage/i/d", allowed)
  filestorage.CheckFileStoragePathAcceptance("/data/vms/d", allowed)
  for bad in ("/srv/ganeti/file-storage", "/srv/ganeti/file-storage-x/d", "/tmp/d",
              "/srv/ganeti/file-storage/../../../etc/passwd", "relative/d"):
    with pytest.raises(errors.FileStoragePathError,
                       match="Path '.*' is not acceptable for file storage"):
      filestorage.CheckFileStoragePathAcceptance(bad, allowed)
