"""Tests for ganeti.backend.instance (and the hypervisor part of
ganeti.backend.node): the node-side instance calls on the fake hypervisor,
called as nodes of a two-node virtual cluster with real files in each root."""

import json
import os

import pytest

import vcluster_harness
from ganeti import objects
from test_backend_common import BackendNode

# Fixed machine figures, so that memory accounting can be checked exactly
HOST_PRELUDE = ("from ganeti.hypervisor import hv_base\n"
                "hv_base.HostNodeInfo = lambda: {'memory_total': 8192, 'memory_free': 6000,"
                " 'memory_dom0': 2192, 'cpu_total': 4, 'cpu_nodes': 1, 'cpu_sockets': 1,"
                " 'cpu_dom0': 4}")
FAKE = [["fake", {"migration_mode": "live"}]]
REASON = [["gnt:client:gnt-instance", "startup", 1], ["gnt:opcode:instance_startup", "", 2]]


@pytest.fixture(scope="module")
def cluster():
  vc = vcluster_harness.VirtualCluster(nodes=2)
  try:
    yield vc
  finally:
    vc.destroy()


@pytest.fixture
def nodes(cluster):
  """Both nodes, with no instance running on either before and after a test."""
  pair = (BackendNode(cluster, 1), BackendNode(cluster, 2))
  yield pair
  for node in pair:
    state_dir = node.path("/var/run/ganeti/fake-hypervisor")
    for name in os.listdir(state_dir) if os.path.isdir(state_dir) else ():
      os.unlink(os.path.join(state_dir, name))


def _Inst(name="inst1", maxmem=512, vcpus=2, disks=None):
  """An instance as the master sends it (parameters filled, disks included)."""
  return objects.Instance(
    name=name, uuid="uuid-" + name, hypervisor="fake", primary_node="uuid-node1",
    os="minimal+default", hvparams={"migration_mode": "live"},
    beparams={"maxmem": maxmem, "minmem": 128, "vcpus": vcpus, "auto_balance": True,
              "always_failover": False, "spindle_use": 1},
    osparams={}, nics=[], disks=[disk["uuid"] for disk in disks or []],
    admin_state="up", disks_info=[objects.Disk.FromDict(disk) for disk in disks or []],
  ).ToDict()


def _FileDisk(path, uuid="disk-1"):
  return {"dev_type": "file", "logical_id": ["loop", path], "size": 64, "mode": "rw",
          "iv_name": "disk/0", "uuid": uuid, "params": {}}


def _MemoryFree(node):
  _, _, (info,) = node.ok("node_info", [], FAKE, prelude=HOST_PRELUDE)
  return info["memory_free"]


def _Reason(node, name):
  with open(node.path("/var/run/ganeti/instance-reason/" + name)) as handle:
    return json.load(handle)


def test_start_list_info_and_memory(nodes):
  node1, _ = nodes
  inst = _Inst()
  assert _MemoryFree(node1) == 6000
  assert node1.ok("instance_start", inst, False, REASON) is None
  with open(node1.path("/var/run/ganeti/fake-hypervisor/inst1")) as handle:
    assert handle.read() == "0\n512\n2\n"
  assert _MemoryFree(node1) == 6000 - 512
  trail = _Reason(node1, "inst1")
  assert trail[:2] == REASON and trail[2][:2] == ["gnt:daemon:noded:start", ""]
  assert isinstance(trail[2][2], int) and trail[2][2] > 10 ** 18  # nanoseconds
  # starting a running instance is not an error
  assert node1.ok("instance_start", inst, False, REASON) is None
  assert node1.ok("instance_list", ["fake"], {"fake": {}}) == ["inst1"]
  running = {"memory": 512, "vcpus": 2, "state": 0, "time": 0}
  assert node1.ok("all_instances_info", ["fake"], {"fake": {}}) == {"inst1": running}
  assert node1.ok("instance_info", "inst1", "fake", {}) == running
  assert node1.ok("instance_info", "other", "fake", {}) == {}
  assert node1.call("instance_info", "inst1", "xen", {}) == \
    [False, "Unknown hypervisor type 'xen'"]
  assert node1.ok("instance_list", ["fake", "kvm"], {}) == ["inst1"]
  assert node1.ok("instance_migratable", inst) is None


def test_shutdown_and_reboot(nodes):
  node1, _ = nodes
  inst = _Inst()
  assert node1.call("instance_reboot", inst, "soft", 10, REASON) == \
    [False, "Cannot reboot instance 'inst1' that is not running"]
  assert node1.call("instance_migratable", inst) == [False, "Instance inst1 is not running"]
  node1.ok("instance_start", inst, False, REASON)
  for reboot_type in ("soft", "hard"):
    assert node1.ok("instance_reboot", inst, reboot_type, 10, REASON) is None
    assert _Reason(node1, "inst1")[-1][0] == "gnt:daemon:noded:reboot"
  assert node1.ok("instance_list", ["fake"], {}) == ["inst1"]
  assert node1.call("instance_reboot", inst, "full", 10, REASON) == \
    [False, "Invalid reboot_type received: 'full'"]
  assert node1.ok("instance_shutdown", inst, 10, REASON) is None
  assert node1.ok("instance_list", ["fake"], {}) == []
  assert _Reason(node1, "inst1")[-1][0] == "gnt:daemon:noded:shutdown"
  # stopping a stopped instance succeeds
  assert node1.ok("instance_shutdown", inst, 10, REASON) is None
  assert node1.call("instance_shutdown", _Inst("../escape"), 10, REASON) == \
    [False, "Invalid instance name '../escape'"]
  assert not os.path.exists(node1.path("/var/run/ganeti/escape"))


def test_balloon(nodes):
  node1, _ = nodes
  inst = _Inst()
  assert node1.ok("instance_balloon_memory", inst, 256) is None  # not running: nothing
  node1.ok("instance_start", inst, False, REASON)
  node1.ok("instance_balloon_memory", inst, 256)
  assert node1.ok("instance_info", "inst1", "fake", {})["memory"] == 256
  assert _MemoryFree(node1) == 6000 - 256


def test_file_disks_are_linked_while_running(nodes):
  node1, _ = nodes
  disk_path = "/srv/ganeti/file-storage/inst1/disk0"
  local = node1.path(disk_path)
  inst = _Inst(disks=[_FileDisk(disk_path)])
  success, message = node1.call("instance_start", inst, False, REASON)
  assert success is False and message.startswith("Cannot find block device <Disk(type=file")
  assert node1.ok("instance_list", ["fake"], {}) == []
  os.makedirs(os.path.dirname(local), exist_ok=True)
  with open(local, "wb") as handle:
    handle.truncate(64 * 1024 * 1024)
  node1.ok("instance_start", inst, False, REASON)
  link = node1.path("/var/run/ganeti/instance-disks/inst1:0")
  assert os.readlink(link) == local
  node1.ok("instance_shutdown", inst, 10, REASON)
  assert not os.path.lexists(link)


def test_live_migration_between_two_nodes(nodes):
  node1, node2 = nodes
  inst = _Inst(maxmem=1024)
  node1.ok("instance_start", inst, False, REASON)
  node1.ok("instance_balloon_memory", inst, 768)
  info = node1.ok("migration_info", inst)
  assert node2.ok("accept_instance", inst, info, "127.0.0.2") is None
  assert node1.ok("instance_migrate", "cluster", inst, "127.0.0.2", True) is None
  assert node1.ok("instance_get_migration_status", inst) == {"status": "completed"}
  assert node2.ok("instance_finalize_migration_dst", inst, info, True) is None
  assert node1.ok("instance_finalize_migration_src", inst, True, True) is None
  assert node1.ok("instance_list", ["fake"], {}) == []
  assert node2.ok("all_instances_info", ["fake"], {}) == \
    {"inst1": {"memory": 768, "vcpus": 2, "state": 0, "time": 0}}
  assert _MemoryFree(node1) == 6000 and _MemoryFree(node2) == 6000 - 768
  # and back again, refused while it still runs on the target
  success, message = node2.call("accept_instance", inst, info, "127.0.0.2")
  assert success is False and message == \
    "Failed to accept instance: Failed to accept instance inst1: already running"


def test_failed_migration_keeps_the_instance_on_the_source(nodes):
  node1, node2 = nodes
  inst = _Inst()
  success, message = node1.call("instance_migrate", "cluster", inst, "127.0.0.2", True)
  assert success is False and message.startswith("Failed to migrate instance: ")
  node1.ok("instance_start", inst, False, REASON)
  info = node1.ok("migration_info", inst)
  node2.ok("accept_instance", inst, info, "127.0.0.2")
  node2.ok("instance_finalize_migration_dst", inst, info, False)
  node1.ok("instance_finalize_migration_src", inst, False, True)
  assert node2.ok("instance_list", ["fake"], {}) == []
  assert node1.ok("instance_list", ["fake"], {}) == ["inst1"]


def test_hotplug_and_parameters(nodes):
  node1, _ = nodes
  inst = _Inst()
  assert node1.call("hotplug_supported", inst) == \
    [False, "Hotplug is not supported: Hotplug is not supported by this hypervisor"]
  assert node1.call("hotplug_device", inst, "hotadd", "disk", _FileDisk("/x"), None, 0) == \
    [False, "Hotplug is not supported: Hotplug is not supported."]
  assert node1.ok("hypervisor_validate_params", "fake", {"migration_mode": "live"}) is None
  success, message = node1.call("hypervisor_validate_params", "fake", {"bogus": 1})
  assert success is False and "'bogus' is not supported" in message
  assert node1.call("hypervisor_validate_params", "nohv", {}) == \
    [False, "Unknown hypervisor type 'nohv'"]
  success, message = node1.call("node_info", [], [["xen-pvm", {}]])
  assert success is False and "xen-pvm is not supported by this node" in message


def test_instance_metadata(nodes):
  node1, _ = nodes
  metadata = {"name": "inst1", "nics": [], "os": "minimal+default"}
  assert node1.ok("instance_metadata_modify", metadata) is None
  with open(node1.path("/var/run/ganeti/instance-metadata/inst1")) as handle:
    assert json.load(handle) == metadata
  assert node1.call("instance_metadata_modify", {"nics": []}) == \
    [False, "Could not get instance parameters: Could not find instance name"]
