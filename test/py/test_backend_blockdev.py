"""Tests for ganeti.backend.blockdev: the blockdev_* calls on file disks, run
through the node daemon's dispatcher as node 1 of a virtual cluster; payloads
and messages as real Ganeti 3.0's node daemon answers them."""

import json
import os
import subprocess
import sys

import pytest

import vcluster_harness
from ganeti import objects
from ganeti.rpc import client as rpc_client
from ganeti.rpc import defs

MIB = 1024 * 1024
BASE = "/srv/ganeti/file-storage"

_RUNNER = r"""
import json, sys
from ganeti import backend
from ganeti.server import noded
dispatch = noded.Dispatcher(backend.HANDLERS)
print(json.dumps([dispatch(name, json.dumps(args).encode())[1]
                  for name, args in json.loads(sys.stdin.read())]))
"""


class Node:
  """Node 1 of a virtual cluster answering calls as its node daemon would."""

  def __init__(self, cluster):
    self.cluster = cluster

  def path(self, path):
    return self.cluster.path(path, 1)

  def calls(self, *calls):
    proc = subprocess.run([sys.executable, "-c", _RUNNER],
                          input=json.dumps([[call[0], list(call[1:])] for call in calls]),
                          env=self.cluster.env(1), capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)

  def call(self, name, *args):
    return self.calls((name,) + args)[0]

  def ok(self, name, *args):
    success, payload = self.call(name, *args)
    assert success is True, payload
    return payload


@pytest.fixture(scope="module")
def node():
  cluster = vcluster_harness.VirtualCluster(nodes=1)
  try:
    yield Node(cluster)
  finally:
    cluster.destroy()


def _Disk(path, size=10, index=0, uuid="11111111-1111-1111-1111-111111111111",
          dev_type="file"):
  return objects.Disk(logical_id=["loop", path], dev_type=dev_type, children=[],
                      iv_name="disk/%d" % index, size=size, mode="rw", params={},
                      uuid=uuid).ToDict()


def _Describe(path, size=10, index=0):
  return ("<Disk(type=file, logical_id=('loop', '%s'), children=[], visible as"
          " /dev/disk/%d, size=%dm)>" % (path, index, size))


INSTANCE = {"name": "inst1", "uuid": "22222222-2222-2222-2222-222222222222",
            "hypervisor": "fake", "os": "minimal+default", "hvparams": {}, "beparams": {},
            "osparams": {}, "nics": [], "disks": []}


def test_life_cycle_of_a_file_disk(node):
  path = BASE + "/inst1/a.file.disk0"
  disk = _Disk(path)
  local = node.path(path)
  assert node.ok("blockdev_find", disk) is None
  assert node.ok("blockdev_getdimensions", [disk]) == [None]
  results = node.calls(("file_storage_dir_create", BASE + "/inst1"),
                       ("blockdev_create", disk, 3, "inst1", True, "originstname+inst1", False))
  # the disk's own size counts, not the size argument
  assert results[1] == [True, ["loop", path]]
  info = os.stat(local)
  assert info.st_size == 10 * MIB and info.st_blocks * 512 < MIB
  status = {"dev_path": path, "is_degraded": False, "ldisk_status": 1}
  assert node.ok("blockdev_find", disk) == status
  assert node.ok("blockdev_getmirrorstatus", [disk]) == [status]
  assert node.ok("blockdev_getmirrorstatus_multi", [disk]) == [[True, status]]
  assert node.ok("blockdev_getdimensions", [disk]) == [[10 * MIB, None]]

  assert node.ok("blockdev_assemble", disk, INSTANCE, True, 0) == [
    path, "/var/run/ganeti/instance-disks/inst1:0", None]
  link = node.path("/var/run/ganeti/instance-disks/inst1:0")
  assert os.readlink(link) == local
  assert node.ok("blockdev_assemble", disk, INSTANCE, False, 0) == [True, True]
  for call in (("blockdev_setinfo", disk, "originstname+inst1"),
               ("blockdev_open", "inst1", [disk], True),
               ("blockdev_close", "inst1", [disk]),
               ("blockdev_shutdown", disk)):
    assert node.call(*call) == [True, None], call
  assert os.path.exists(local)
  assert node.ok("blockdev_pause_resume_sync", [disk], True) == [[True, None]]

  assert node.call("blockdev_remove", disk) == [True, None]
  assert not os.path.exists(local)
  assert node.call("blockdev_remove", disk) == [True, None]
  assert node.ok("blockdev_find", disk) is None


def test_post_processing_builds_status_objects(node):
  path = BASE + "/inst2/a.file.disk0"
  disk = _Disk(path)
  node.calls(("file_storage_dir_create", BASE + "/inst2"),
             ("blockdev_create", disk, 10, "inst2", True, "", False))
  payload = node.ok("blockdev_find", disk)
  status = rpc_client._PostProcess(defs.CALLS["blockdev_find"].post, payload)
  assert isinstance(status, objects.BlockDevStatus)
  assert (status.dev_path, status.major, status.is_degraded) == (path, None, False)
  multi = node.ok("blockdev_getmirrorstatus_multi", [disk, _Disk(BASE + "/inst2/none")])
  processed = rpc_client._PostProcess(defs.CALLS["blockdev_getmirrorstatus_multi"].post, multi)
  assert processed[0][0] is True and processed[0][1].ldisk_status == 1
  assert tuple(processed[1]) == (False, "Can't find device %s" % _Describe(BASE + "/inst2/none"))


def test_missing_devices(node):
  path = BASE + "/nodir/b.file.disk1"
  disk = _Disk(path, size=20, index=1)
  described = _Describe(path, size=20, index=1)
  assert node.call("blockdev_create", disk, 20, "i", True, "", False) == [
    False, "Can't create block device: %s: can't create: [Errno 2] No such file or"
    " directory: '%s'" % (path, path)]
  expected = [
    (("blockdev_assemble", disk, INSTANCE, True, 1),
     "Error while assembling disk: %s: No such file" % path),
    (("blockdev_getmirrorstatus", [disk]), "Can't find device %s" % described),
    (("blockdev_setinfo", disk, "x"), "Cannot find block device %s" % described),
    (("blockdev_grow", disk, 5, False, True, False), "Cannot find block device %s" % described),
    (("blockdev_open", "i", [disk], True), "Can't find device %s" % described),
    (("blockdev_close", "i", [disk]), "Can't find device %s" % described),
    (("blockdev_wipe", disk, 0, 1), "Cannot wipe device disk/1: device not found"),
    (("blockdev_convert", _Disk(path, uuid="src-uuid"), disk),
     "Cannot copy from device 'src-uuid': device not found"),
    (("blockdev_removechildren", disk, [disk]), "Can't find device %s" % described),
  ]
  answers = node.calls(*(call for call, _ in expected))
  for (call, message), answer in zip(expected, answers):
    assert answer == [False, message], call[0]
  assert node.ok("blockdev_getmirrorstatus_multi", [disk]) == [
    [False, "Can't find device %s" % described]]
  assert node.ok("blockdev_pause_resume_sync", [disk], False) == [
    [False, "Cannot change sync for device disk/1: device not found"]]
  assert node.call("blockdev_shutdown", disk) == [True, None]
  assert node.call("blockdev_snapshot", disk, "snap", 5) == [
    False, "Cannot snapshot block device '('loop', '%s')' of type 'file'" % path]


def test_allowed_file_storage_paths(node):
  outside = _Disk("/data/vms/i/x.file.disk0")
  for call in (("blockdev_create", outside, 10, "i", True, "", False),
               ("blockdev_find", outside), ("blockdev_remove", outside)):
    assert node.call(*call) == [False, "Error while executing backend function: Path"
                                " '/data/vms/i/x.file.disk0' is not acceptable for file"
                                " storage"], call[0]
  escape = _Disk(BASE + "/../../../etc/x")
  assert "not acceptable" in node.call("blockdev_find", escape)[1]
  # an administrator's path is accepted once listed; shared file storage always is
  with open(node.path("/etc/ganeti/file-storage-paths"), "a") as handle:
    handle.write("/data/vms\n")
  shared = _Disk("/srv/ganeti/shared-file-storage/i/s.sharedfile.disk0", dev_type="sharedfile")
  results = node.calls(("file_storage_dir_create", "/data/vms/i"),
                       ("blockdev_create", outside, 10, "i", True, "", False),
                       ("file_storage_dir_create", "/srv/ganeti/shared-file-storage/i"),
                       ("blockdev_create", shared, 10, "i", False, "", False))
  assert results[1] == [True, ["loop", "/data/vms/i/x.file.disk0"]]
  assert results[3] == [True, ["loop", "/srv/ganeti/shared-file-storage/i/s.sharedfile.disk0"]]
  assert os.path.getsize(node.path("/data/vms/i/x.file.disk0")) == 10 * MIB
  assert not os.path.exists("/data/vms/i/x.file.disk0")  # the host is untouched


def test_grow_rename_and_data_operations(node):
  directory = BASE + "/inst3"
  first, second = directory + "/a.file.disk0", directory + "/b.file.disk1"
  disk = _Disk(first, size=4)
  node.calls(("file_storage_dir_create", directory),
             ("blockdev_create", disk, 4, "inst3", True, "", False))
  local = node.path(first)
  node.ok("blockdev_grow", disk, 2, False, False, False)
  node.ok("blockdev_grow", disk, 2, True, True, False)
  assert os.path.getsize(local) == 4 * MIB
  node.ok("blockdev_grow", disk, 2, False, True, False)
  assert os.path.getsize(local) == 6 * MIB

  with open(local, "r+b") as handle:
    handle.write(b"\xff" * (2 * MIB))
  assert node.call("blockdev_wipe", disk, -1, 1) == [False, "Negative offset"]
  assert node.call("blockdev_wipe", disk, 3, 2) == [
    False, "Wipe offset and size are bigger than device size"]
  node.ok("blockdev_wipe", disk, 0, 1)
  data = open(local, "rb").read()
  assert len(data) == 6 * MIB and data[:MIB] == bytes(MIB) and data[MIB] == 0xff

  image = node.path("/tmp/image")
  os.makedirs(os.path.dirname(image), exist_ok=True)
  open(image, "wb").write(b"hello\n")
  assert node.call("blockdev_image", disk, "/tmp/missing", 4) == [
    False, "Image '/tmp/missing' not found"]
  node.ok("blockdev_image", disk, "/tmp/image", 4)
  assert open(local, "rb").read(8) == b"hello\n\0\0"

  target = _Disk(second, size=8, index=1, uuid="dest-uuid")
  assert node.call("blockdev_convert", disk, target) == [
    False, "Cannot copy to device 'dest-uuid': device not found"]
  node.ok("blockdev_create", target, 8, "inst3", True, "", False)
  node.ok("blockdev_convert", disk, target)
  copied = open(node.path(second), "rb").read()
  assert len(copied) == 8 * MIB and copied[:6] == b"hello\n"

  assert node.call("blockdev_addchildren", disk, [target])[0] is False
  assert node.call("blockdev_removechildren", disk, [target])[0] is False

  renamed = directory + "/c.file.disk0"
  node.ok("blockdev_rename", [[disk, ["loop", renamed]]])
  assert os.path.exists(node.path(renamed)) and not os.path.exists(local)
  success, message = node.call("blockdev_rename", [[disk, ["loop", renamed]]])
  assert success is False and message == "Can't find device %s in rename" % _Describe(first, 4)
  success, message = node.call("blockdev_rename", [[_Disk(renamed), ["loop", "/tmp/out"]]])
  assert success is False and "is not acceptable for file storage" in message
  assert os.path.exists(node.path(renamed))


def test_link_names_and_removal(tmp_path, monkeypatch):
  from ganeti import pathutils
  from ganeti.backend import blockdev
  monkeypatch.setattr(pathutils, "DISK_LINKS_DIR", str(tmp_path))
  assert blockdev.DiskLinkPath("inst1", 2) == str(tmp_path / "inst1:2")
  for name in ("inst1:0", "inst1:1", "inst10:0", "inst1:x"):
    os.symlink("/nowhere", tmp_path / name)
  blockdev.RemoveDiskLinks("inst1")
  assert sorted(os.listdir(tmp_path)) == ["inst10:0", "inst1:x"]
