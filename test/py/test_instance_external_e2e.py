"""Instances on ext (an ExtStorage provider of real programs over a store
both nodes reach) and blockdev (an adopted loop device) disks, on a 2-node
virtual cluster with the fake hypervisor."""

import os
import re

import pytest

from test_ssh import SSHD
from vcluster_harness import JoinedCluster
from storage_fixtures import Calls, LoopDevice, WriteProvider

pytestmark = pytest.mark.skipif(not os.path.exists(SSHD) or os.geteuid() != 0,
                                reason="needs OpenSSH's sshd and root")

MIB = 1024 * 1024
ADOPTED = "/dev/disk/by-id/gnt-test-adopted"


@pytest.fixture(scope="module")
def cluster():
  with JoinedCluster(2, "--enabled-disk-templates=ext,blockdev,diskless") as vc:
    # small volumes and no NICs
    vc.run("gnt-cluster", "modify", "--ipolicy-bounds-specs",
           "min:disk-size=1,memory-size=128,cpu-count=1,disk-count=1,nic-count=0,spindle-use=1"
           "/max:disk-size=1048576,memory-size=32768,cpu-count=8,disk-count=16,nic-count=8,"
           "spindle-use=12")
    vc.store = os.path.join(vc.dir, "ext-store")
    for node in (1, 2):
      WriteProvider(vc.path("/srv/ganeti/extstorage/filestore", node), vc.store)
    yield vc


def _Create(vc, name, template, disks, **extra):
  op = dict(instance_name=name, os_type="minimal+default", name_check=False, ip_check=False,
            mode="create", nics=[], beparams={"memory": 128}, pnode="node1",
            disk_template=template, disks=disks)
  op.update(extra)
  return vc.submit(("OpInstanceCreate", op))[0]


def _Ok(vc, name, **params):
  result = vc.submit((name, params))[0]
  assert result[0] == "ok", result
  return result


def _Volumes(vc):
  return sorted(name for name in os.listdir(vc.store) if re.search(r"\.ext\.disk\d+$", name))


def test_ext_instance_add_grow_move_remove(cluster):
  proc = cluster.run("gnt-instance", "add", "-t", "ext", "--disk",
                     "0:size=64M,provider=filestore,tier=gold", "--disk",
                     "1:size=32M,provider=filestore", "-o", "minimal+default", "-n", "node1",
                     "--no-name-check", "--no-ip-check", "--no-nics", "ext1")
  assert proc.returncode == 0
  volumes = _Volumes(cluster)
  assert len(volumes) == 2 and all(".ext.disk" in name for name in volumes)
  sizes = sorted(os.path.getsize(os.path.join(cluster.store, name)) for name in volumes)
  assert sizes == [32 * MIB, 64 * MIB]
  created = [line for line in Calls(cluster.store) if line.startswith("create ")]
  assert any("EXTP_TIER=gold" in line for line in created)
  assert any("VOL_SIZE=64 " in line for line in created)
  info = [line for line in Calls(cluster.store) if line.startswith("setinfo ")]
  assert all("VOL_METADATA=originstname+ext1" in line for line in info) and len(info) == 2
  listed = cluster.run("gnt-instance", "list", "--no-headers", "-o",
                       "name,disk_template,status,disk.sizes", "ext1").stdout.split()
  assert listed == ["ext1", "ext", "running", "64,32"]
  cluster.run("gnt-instance", "grow-disk", "ext1", "0", "64M")
  disk0 = next(name for name in volumes if name.endswith("disk0"))
  assert os.path.getsize(os.path.join(cluster.store, disk0)) == 128 * MIB
  # reachable from every node: failover and migration to any node
  cluster.run("gnt-instance", "failover", "-f", "-n", "node2", "ext1")
  assert cluster.run("gnt-instance", "list", "--no-headers", "-o", "pnode",
                     "ext1").stdout.strip() == "node2"
  cluster.run("gnt-instance", "migrate", "-f", "-n", "node1", "ext1")
  assert cluster.run("gnt-instance", "list", "--no-headers", "-o", "pnode,status",
                     "ext1").stdout.split() == ["node1", "running"]
  verify = cluster.run("gnt-cluster", "verify", check=False)
  assert verify.returncode == 0 and "ERROR" not in verify.stdout, verify.stdout
  # a third disk, of the provider's with its own parameter
  cluster.run("gnt-instance", "modify", "--disk", "add:size=16M,provider=filestore,tier=iron",
              "ext1")
  assert len(_Volumes(cluster)) == 3
  added = [line for line in Calls(cluster.store) if line.startswith("create ")][-1]
  assert "EXTP_TIER=iron" in added and "VOL_SIZE=16 " in added
  refused = cluster.run("gnt-instance", "modify", "--disk", "add:size=16M", "ext1", check=False)
  assert refused.returncode != 0 and "Missing provider for template 'ext'" in refused.stderr
  cluster.run("gnt-instance", "remove", "-f", "ext1")
  assert _Volumes(cluster) == []


def test_ext_requests_refused_with_gantis_errors(cluster):
  result = _Create(cluster, "ext2", "ext", [{"size": 64}])
  assert result[:2] == ["error", "OpPrereqError"]
  assert "Missing provider for template 'ext'" in str(result[2])
  result = _Create(cluster, "ext3", "blockdev", [{"size": 64, "provider": "filestore"}])
  assert "The 'provider' option is only valid for the ext disk template, not blockdev" in \
    str(result[2])
  result = _Create(cluster, "ext3", "ext", [{"size": 64, "provider": "nosuch"}])
  assert result[0] == "error" and "provider 'nosuch' not found" in str(result[2])
  assert cluster.run("gnt-instance", "list", "--no-headers", "-o", "name").stdout == ""
  assert _Volumes(cluster) == []


@pytest.fixture
def adopted(cluster, tmp_path):
  with LoopDevice(str(tmp_path / "adopted.img"), b"the administrator's data",
                  16 * MIB) as device:
    link = cluster.path(ADOPTED, 1)
    os.makedirs(os.path.dirname(link), exist_ok=True)
    os.symlink(device, link)
    yield device
    os.unlink(link)


def test_blockdev_adoption_keeps_the_device(cluster, adopted):
  proc = cluster.run("gnt-instance", "add", "-t", "blockdev", "--disk", "0:adopt=" + ADOPTED,
                     "-o", "minimal+default", "-n", "node1", "--no-name-check",
                     "--no-ip-check", "--no-nics", "block1")
  assert proc.returncode == 0
  listed = cluster.run("gnt-instance", "list", "--no-headers", "-o",
                       "disk_template,status,disk.sizes", "block1").stdout.split()
  assert listed == ["blockdev", "running", "16"]
  # no OS was installed: the device still starts with the administrator's data
  cluster.run("gnt-instance", "remove", "-f", "block1")
  with open(adopted, "rb") as handle:
    assert handle.read(24) == b"the administrator's data"


def test_adoption_refusals(cluster, adopted):
  cases = [
    ("blockdev", [{"size": 64}], "Disk template blockdev requires disk adoption"),
    ("blockdev", [{"adopt": "/dev/sda"}], "lie outside /dev/disk/ and cannot be adopted"),
    ("blockdev", [{"adopt": "/dev/disk/by-id/nosuch"}],
     "Missing block device(s): /dev/disk/by-id/nosuch"),
    ("blockdev", [{"adopt": ADOPTED}, {"size": 64}], "Either all disks are adopted or none is"),
    ("ext", [{"adopt": ADOPTED, "provider": "filestore"}],
     "Disk adoption is not supported for the 'ext' disk template"),
  ]
  for template, disks, message in cases:
    result = _Create(cluster, "block2", template, disks)
    assert result[:2] == ["error", "OpPrereqError"], result
    assert message in str(result[2]), result
  assert cluster.run("gnt-instance", "list", "--no-headers", "-o", "name").stdout == ""


def test_list_drbd_asks_confd(cluster):
  # no DRBD disk here: the header alone (rows are checked in the QA cluster)
  proc = cluster.run("gnt-node", "list-drbd", "node1")
  assert proc.stdout.split() == ["Node", "Minor", "Instance", "Disk", "Role", "PeerNode"]
  proc = cluster.run("gnt-node", "list-drbd", "--no-headers", "nosuch", check=False)
  assert proc.returncode == 1 and "Node name nosuch not found" in proc.stderr


def test_ext_export_from_a_snapshot_while_running(cluster):
  cluster.run("gnt-instance", "add", "-t", "ext", "--disk", "0:size=32M,provider=filestore",
              "-o", "minimal+default", "-n", "node1", "--no-name-check", "--no-ip-check",
              "--no-nics", "exp1")
  (volume,) = _Volumes(cluster)
  marker = b"written before the export"
  with open(os.path.join(cluster.store, volume), "r+b") as handle:
    handle.seek(20 * MIB)
    handle.write(marker)
  # no --long-sleep: the instance is down only while the snapshot is taken
  proc = cluster.run("gnt-backup", "export", "-n", "node2", "exp1")
  steps = [re.sub(r"^\w+ \w+ +\d+ [\d:]+ \d+ ", "", line) for line in proc.stdout.splitlines()]
  order = ["Shutting down instance exp1", "Creating a snapshot of disk/0 on node node1",
           "Starting instance exp1", "Exporting disk/0 from node1 to node2",
           "Finalizing export on node2", "Removing snapshot of disk/0 on node node1"]
  assert [step for step in steps if step in order] == order, proc.stdout
  snapshots = [line for line in Calls(cluster.store) if line.startswith("snapshot ")]
  assert len(snapshots) == 1 and "VOL_SNAPSHOT_NAME=%s.snap" % volume in snapshots[0]
  assert not os.path.exists(os.path.join(cluster.store, volume + ".snap"))
  assert cluster.run("gnt-instance", "list", "--no-headers", "-o", "status",
                     "exp1").stdout.strip() == "running"
  cluster.run("gnt-backup", "import", "-t", "ext", "--disk", "0:size=32M,provider=filestore",
              "-n", "node1", "--src-node=node2", "--src-dir=/srv/ganeti/export/exp1",
              "--no-name-check", "--no-ip-check", "--no-nics", "imp1")
  (copy,) = [name for name in _Volumes(cluster) if name != volume]
  with open(os.path.join(cluster.store, copy), "rb") as handle:
    handle.seek(20 * MIB)
    assert handle.read(len(marker)) == marker
  for name in ("exp1", "imp1"):
    cluster.run("gnt-instance", "remove", "-f", name)
  cluster.run("gnt-backup", "remove", "exp1")
  assert _Volumes(cluster) == []
