"""DRBD minors, secrets and ports in the configuration writer."""

import os
import shutil

import pytest

from ganeti import config
from ganeti import errors
from ganeti import objects
from ganeti.config import verify

REAL_CONFIG = os.path.join(os.path.dirname(__file__), "..", "data", "ganeti-3.0", "config.data")
NODE1 = "07c9feed-129f-454f-b4e8-91a9084aeed4"
NODE2 = "e003c93b-a99c-4938-8887-9371adf9ea5d"


@pytest.fixture(name="cfg")
def fixture_cfg(tmp_path) -> config.ConfigWriter:
  if not os.path.exists(REAL_CONFIG):
    pytest.skip("facts not available")
  path = str(tmp_path / "config.data")
  shutil.copy(REAL_CONFIG, path)
  return config.ConfigWriter(path)


def _DrbdDisk(cfg, ec_id, pnode=NODE1, snode=NODE2) -> objects.Disk:
  """A DRBD disk the way instance creation builds one (minors reserved)."""
  uuid = cfg.GenerateUniqueID(ec_id)
  pminor, sminor = cfg.AllocateDRBDMinor([pnode, snode], uuid, ec_id)
  port = cfg.AllocatePort()
  secret = cfg.GenerateDRBDSecret(ec_id)
  children = [objects.Disk(dev_type="plain", size=size, logical_id=["xenvg", name],
                           nodes=[pnode, snode], params={})
              for size, name in ((128, uuid + "_data"), (128, uuid + "_meta"))]
  return objects.Disk(uuid=uuid, dev_type="drbd", size=128, mode="rw", iv_name="disk/0",
                      logical_id=[pnode, snode, port, pminor, sminor, secret],
                      children=children, nodes=[pnode, snode], params={})


def _AddInstance(cfg, name, mac, disks, ec_id):
  inst = objects.Instance(name=name, primary_node=NODE1, os="lab+default", hypervisor="fake",
                          nics=[objects.NIC(mac=mac, nicparams={})], disks=disks)
  cfg.AddInstance(inst, ec_id)
  return inst.uuid


def test_lowest_free_minor_per_node_with_reservations(cfg):
  first = _DrbdDisk(cfg, "job1")
  assert first.logical_id[3:5] == [0, 0]
  # a concurrent job sees job1's reservations before the disk is configured
  assert cfg.AllocateDRBDMinor([NODE1, NODE2], "other-disk", "job2") == [1, 1]
  assert cfg.ComputeDRBDMap() == {NODE1: {0: first.uuid, 1: "other-disk"},
                                  NODE2: {0: first.uuid, 1: "other-disk"}}
  cfg.DropECReservations("job2")
  assert cfg.ComputeDRBDMap()[NODE1] == {0: first.uuid}
  # a node given twice gets two minors; releasing one disk's minors frees them
  assert cfg.AllocateDRBDMinor([NODE2, NODE2], "self-mirror", "job3") == [1, 2]
  cfg.ReleaseDRBDMinors("self-mirror")
  assert cfg.ComputeDRBDMap()[NODE2] == {0: first.uuid}
  with pytest.raises(errors.ConfigurationError):
    cfg.AllocateDRBDMinor(["no-such-node"], "x", "job4")


def test_configured_minors_outlive_reservations_and_holes_are_reused(cfg):
  disk_a = _DrbdDisk(cfg, "job1")
  inst_a = _AddInstance(cfg, "inst-a", "aa:00:00:00:00:01", [disk_a], "job1")
  disk_b = _DrbdDisk(cfg, "job1")
  _AddInstance(cfg, "inst-b", "aa:00:00:00:00:02", [disk_b], "job1")
  cfg.DropECReservations("job1")
  assert cfg.ComputeDRBDMap()[NODE1] == {0: disk_a.uuid, 1: disk_b.uuid}
  assert verify.VerifyConfigData(cfg._config_data) == []  # pylint: disable=protected-access
  # removing the first instance frees minor 0 and returns the port to the pool
  port_a = disk_a.logical_id[2]
  cfg.RemoveInstance(inst_a)
  assert cfg.GetClusterInfo().tcpudp_port_pool == [port_a]
  assert cfg.AllocateDRBDMinor([NODE2, NODE1], "disk-c", "job2") == [0, 0]
  assert cfg.AllocatePort() == port_a
  assert cfg.GetClusterInfo().tcpudp_port_pool == []


def test_ports_and_secrets_are_unique(cfg):
  disks = [_DrbdDisk(cfg, "job1") for _ in range(3)]
  ports = [disk.logical_id[2] for disk in disks]
  assert ports == [11000, 11001, 11002]
  secrets = {disk.logical_id[5] for disk in disks}
  assert len(secrets) == 3
  assert all(len(secret) == 40 and int(secret, 16) >= 0 for secret in secrets)


def test_verify_reports_minor_and_port_conflicts(cfg):
  disk_a = _DrbdDisk(cfg, "job1")
  _AddInstance(cfg, "inst-a", "aa:00:00:00:00:01", [disk_a], "job1")
  cfg.DropECReservations("job1")
  # a second disk claiming disk_a's minor on node2 and its port
  disk_b = _DrbdDisk(cfg, "job2")
  disk_b.logical_id = [NODE1, NODE2, disk_a.logical_id[2], 1, 0, "ab" * 20]
  _AddInstance(cfg, "inst-b", "aa:00:00:00:00:02", [disk_b], "job2")
  cfg.DropECReservations("job2")
  problems = verify.VerifyConfigData(cfg._config_data)  # pylint: disable=protected-access
  assert "duplicate network port %d" % disk_a.logical_id[2] in problems
  assert ("DRBD minor 0 on node node2.gnt.test is assigned twice to disks %s and %s" %
          (disk_a.uuid, disk_b.uuid)) in problems
  with pytest.raises(errors.ConfigurationError) as err:
    cfg.ComputeDRBDMap()
  assert str(err.value).startswith("Duplicate DRBD ports detected")
