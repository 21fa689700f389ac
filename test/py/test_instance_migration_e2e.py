"""Failover, migration, move and node evacuation on a real 3-node virtual
cluster (SSH-joined, fake hypervisor, OS "minimal").

The tests run in file order against one cluster holding "mig1" (diskless,
running) and "file1" (file disk, stopped); where mig1 runs is checked through
the fake hypervisor's state files on the nodes. The virtual nodes share their
shared file storage directory, as real nodes share it over NFS.
"""

import os
import re

import pytest

from vcluster_harness import VirtualCluster


_MIGRATION_STEPS = [
  "Migrating instance mig1",
  "* checking disk consistency between source and target",
  "* closing instance disks on node {dst}",
  "* opening instance disks on node {src} in shared mode",
  "* opening instance disks on node {dst} in shared mode",
  "* preparing {dst} to accept the instance",
  "* migrating instance to {dst}",
  "* starting memory transfer",
  "* memory transfer complete",
  "* closing instance disks on node {src}",
  "* opening instance disks on node {dst} in exclusive mode",
  "* done",
]
_FAILOVER_STEPS = [
  "Failover instance mig1",
  "* checking disk consistency between source and target",
  "* shutting down instance on source node",
  "* closing instance disks on node {src}",
  "* deactivating the instance's disks on source node",
  "* activating the instance's disks on target node {dst}",
  "* starting the instance on the target node {dst}",
]


@pytest.fixture(scope="module")
def cluster():
  vc = VirtualCluster(nodes=3, ssh=True)
  try:
    vc.init("--default-iallocator=hail", "--enabled-disk-templates=diskless,file,sharedfile")
    vc.add_node(2)
    vc.add_node(3)
    common = dict(os_type="minimal+default", name_check=False, ip_check=False,
                  mode="create", nics=[{"ip": "192.0.2.50"}], beparams={"memory": 128})
    for result in _Ops(vc, ("OpInstanceCreate", dict(common, instance_name="mig1",
                                                     pnode="node1", disk_template="diskless",
                                                     disks=[])),
                       ("OpInstanceCreate", dict(common, instance_name="file1",
                                                 pnode="node2", disk_template="file",
                                                 disks=[{"size": 1024}], start=False))):
      assert result[0] == "ok", result
    yield vc
  finally:
    vc.destroy()


def _Ops(vc, *ops):
  return vc.submit(*ops)


def _Op(vc, name, **kw):
  return _Ops(vc, (name, kw))[0]


def _Ok(vc, name, **kw):
  result = _Op(vc, name, **kw)
  assert result[0] == "ok", result
  return result[2]


def _Refused(vc, name, **kw):
  result = _Op(vc, name, **kw)
  assert result[0] == "error", result
  return result[1], result[2]


def _RunningOn(vc, name):
  """The nodes whose fake hypervisor runs the instance."""
  return [node for node in (1, 2, 3)
          if os.path.exists(vc.path("/var/run/ganeti/fake-hypervisor/%s" % name, node))]


def _Primary(vc, name):
  out = vc.run("gnt-instance", "list", "--no-headers", "-o", "pnode", name).stdout
  return out.strip()


def _Steps(template, src, dst):
  return [line.format(src=src, dst=dst) for line in template]


def _Messages(feedback):
  return [msg for msg in feedback if not msg.startswith(" - INFO: Selected nodes")]


def test_migrate_live_to_target_node(cluster):
  feedback = _Ok(cluster, "OpInstanceMigrate", instance_name="mig1", target_node="node2")
  assert feedback == _Steps(_MIGRATION_STEPS, "node1", "node2")
  assert _RunningOn(cluster, "mig1") == [2]
  assert _Primary(cluster, "mig1") == "node2"


def test_migrate_non_live_via_default_iallocator(cluster):
  feedback = _Ok(cluster, "OpInstanceMigrate", instance_name="mig1", mode="non-live")
  chosen = re.fullmatch(r" - INFO: Selected nodes for instance mig1 via iallocator hail:"
                        r" (node[13])", feedback[0])
  assert chosen, feedback
  dst = chosen.group(1)
  assert _Messages(feedback) == _Steps(_MIGRATION_STEPS, "node2", dst)
  assert _RunningOn(cluster, "mig1") == [int(dst[-1])]
  # back to node1 for the following tests
  if dst != "node1":
    _Ok(cluster, "OpInstanceMigrate", instance_name="mig1", target_node="node1")
  assert _Primary(cluster, "mig1") == "node1"


def test_migrate_cleanup_confirms_primary(cluster):
  feedback = _Ok(cluster, "OpInstanceMigrate", instance_name="mig1", cleanup=True,
                 target_node="node2")
  assert feedback == [
    " - INFO: Not checking memory on the secondary node as instance will not be started",
    "Migrating instance mig1",
    "* checking where the instance actually runs (if this hangs, the hypervisor might be"
    " in a bad state)",
    "* instance running on: node1",
    "* instance confirmed to be running on its primary node (node1)",
    "* closing instance disks on node node2",
    "* opening instance disks on node node1 in exclusive mode",
    "* done"]
  assert _Primary(cluster, "mig1") == "node1"


def test_failover_to_target_node(cluster):
  feedback = _Ok(cluster, "OpInstanceFailover", instance_name="mig1", target_node="node3")
  assert feedback == _Steps(_FAILOVER_STEPS, "node1", "node3")
  assert _RunningOn(cluster, "mig1") == [3]
  assert _Primary(cluster, "mig1") == "node3"


def test_refusals(cluster):
  assert _Refused(cluster, "OpInstanceMigrate", instance_name="file1") == (
    "OpPrereqError", str(("Instance's disk layout 'file' does not allow migrations",
                          "wrong_state")))
  assert _Refused(cluster, "OpInstanceFailover", instance_name="file1") == (
    "OpPrereqError", str(("Instance's disk layout 'file' does not allow failovers",
                          "wrong_state")))
  assert _Refused(cluster, "OpInstanceMigrate", instance_name="mig1",
                  target_node="nonode") == (
    "OpPrereqError", str(("Node 'nonode' not known", "unknown_entity")))
  assert _Refused(cluster, "OpInstanceMigrate", instance_name="mig1",
                  target_node="node3") == (
    "OpPrereqError", str(("Cannot migrate instance mig1 to its primary (node3)",
                          "wrong_state")))
  assert _Refused(cluster, "OpInstanceMigrate", instance_name="mig1", target_node="node1",
                  iallocator="hail")[1] == str(("Do not specify both, iallocator and node",
                                                "wrong_input"))
  assert _Refused(cluster, "OpInstanceMigrate", instance_name="mig1", target_node="node1",
                  live=True, mode="live")[1] == str((
                    "Only one of the 'live' and 'mode' parameters are accepted",
                    "wrong_input"))
  assert _Refused(cluster, "OpInstanceMove", instance_name="file1", target_node="node1")[0] \
    == "OpPrereqError"
  assert _RunningOn(cluster, "mig1") == [3]


def test_move_diskless(cluster):
  feedback = _Ok(cluster, "OpInstanceMove", instance_name="mig1", target_node="node1")
  assert feedback == [" - INFO: Shutting down instance mig1 on source node node3",
                      " - INFO: Removing the disks on the original node",
                      " - INFO: Starting instance mig1 on node node1"]
  assert _RunningOn(cluster, "mig1") == [1]
  assert _Refused(cluster, "OpInstanceMove", instance_name="mig1", target_node="node1") == (
    "OpPrereqError", str(("Instance mig1 is already on the node node1", "wrong_state")))


def test_gnt_node_migrate(cluster):
  proc = cluster.run("gnt-node", "migrate", "-f", "-n", "node2", "node1")
  lines = proc.stdout.splitlines()
  assert re.fullmatch(r"Submitted jobs \d+", lines[0]), lines
  assert re.fullmatch(r"Waiting for job \d+ \.\.\.", lines[1]), lines
  steps = [re.sub(r"^\S+ \S+ +\d+ [\d:]+ \d+ ", "", line) for line in lines[2:-1]]
  assert steps == _Steps(_MIGRATION_STEPS, "node1", "node2")
  assert lines[-1] == "All instances migrated successfully."
  assert _RunningOn(cluster, "mig1") == [2]
  proc = cluster.run("gnt-node", "migrate", "-f", "node3")
  assert proc.stdout == "No primary instances on node node3, exiting.\n"


def test_gnt_node_evacuate(cluster):
  # node2 holds mig1 (movable) and file1 (file disks cannot be relocated)
  proc = cluster.run("gnt-node", "evacuate", "-f", "-p", "node2", check=False)
  assert proc.returncode == 1
  assert "Unable to evacuate instances file1 (Instances of type file cannot be relocated)" \
    in proc.stderr
  assert _RunningOn(cluster, "mig1") == [2]
  _Ok(cluster, "OpInstanceMigrate", instance_name="mig1", target_node="node3")
  proc = cluster.run("gnt-node", "evacuate", "-f", "-I", "hail", "node3")
  lines = [re.sub(r"^\S+ \S+ +\d+ [\d:]+ \d+ ", "", line) for line in proc.stdout.splitlines()]
  dst = re.fullmatch(r" - INFO: Instances to be moved: mig1 \(to (node[12])\)", lines[1])
  assert lines[0] == " - INFO: Evacuating instances from node 'node3': mig1"
  assert dst, lines
  assert lines[2:4] == ["Submitted jobs %s" % lines[3].split()[3], lines[3]]
  assert lines[4:-1] == _Steps(_MIGRATION_STEPS, "node3", dst.group(1))
  assert lines[-1] == "All instances evacuated successfully."
  assert _RunningOn(cluster, "mig1") == [int(dst.group(1)[-1])]
  proc = cluster.run("gnt-node", "evacuate", "-f", "-s", "node3")
  assert proc.stderr == "No instances to evacuate on node(s) node3, exiting.\n"


def test_gnt_node_failover(cluster):
  src = _Primary(cluster, "mig1")
  proc = cluster.run("gnt-node", "failover", "-f", src, check=False)
  # file1 (node2) cannot fail over; mig1 can
  lines = proc.stdout.splitlines()
  if src == "node2":
    assert proc.returncode == 1
    assert lines[-2:] == ["There were errors during the failover:",
                          "1 error(s) out of 2 instance(s)."]
  else:
    assert proc.returncode == 0
    assert lines[-1] == "All 1 instance(s) failed over successfully."
  assert _Primary(cluster, "mig1") != src


def test_sharedfile_disk_follows_the_instance(cluster):
  _Ok(cluster, "OpInstanceCreate", instance_name="shared1", os_type="minimal+default",
      name_check=False, ip_check=False, mode="create", nics=[{"ip": "192.0.2.51"}],
      beparams={"memory": 128}, pnode="node1", disk_template="sharedfile",
      disks=[{"size": 1024}])
  directory = "/srv/ganeti/shared-file-storage/shared1"
  (disk_file,) = os.listdir(cluster.path(directory, 1))
  disk_path = os.path.join(directory, disk_file)
  marker = b"written on node1 before the moves"
  with open(cluster.path(disk_path, 1), "r+b") as disk:
    disk.seek(512 * 1024 * 1024)
    disk.write(marker)
  _Ok(cluster, "OpInstanceMigrate", instance_name="shared1", target_node="node2")
  assert _RunningOn(cluster, "shared1") == [2] and _Primary(cluster, "shared1") == "node2"
  _Ok(cluster, "OpInstanceFailover", instance_name="shared1", target_node="node3")
  assert _RunningOn(cluster, "shared1") == [3] and _Primary(cluster, "shared1") == "node3"
  with open(cluster.path(disk_path, 3), "rb") as disk:
    assert os.fstat(disk.fileno()).st_size == 1024 * 1024 * 1024
    disk.seek(512 * 1024 * 1024)
    assert disk.read(len(marker)) == marker
  verify = cluster.run("gnt-cluster", "verify", check=False)
  assert verify.returncode == 0 and "ERROR" not in verify.stdout, verify.stdout
  _Ok(cluster, "OpInstanceRemove", instance_name="shared1")
  assert not any(os.path.exists(cluster.path(directory, node)) for node in (1, 2, 3))


def test_offline_target_refused_and_failover_from_offline_node(cluster):
  if _Primary(cluster, "mig1") != "node3":
    _Ok(cluster, "OpInstanceMigrate", instance_name="mig1", target_node="node3")
  _Ok(cluster, "OpNodeSetParams", node_name="node2", offline=True, force=True)
  for op in ("OpInstanceMigrate", "OpInstanceFailover"):
    kind, message = _Refused(cluster, op, instance_name="mig1", target_node="node2")
    assert kind == "OpPrereqError" and "offline node" in message and "node2" in message
  _Ok(cluster, "OpNodeSetParams", node_name="node2", offline=False, force=True)
  # node3 dies: the instance goes to node2 without the node answering
  _Ok(cluster, "OpNodeSetParams", node_name="node3", offline=True, force=True)
  feedback = _Ok(cluster, "OpInstanceFailover", instance_name="mig1", target_node="node2",
                 ignore_consistency=True)
  assert feedback[0:3] == ["Failover instance mig1",
                           "* checking disk consistency between source and target",
                           "* shutting down instance on source node"]
  assert feedback[3].startswith(" - WARNING: Could not shutdown instance mig1 on node node3,"
                                " proceeding anyway; please make sure node node3 is down;")
  assert feedback[-2:] == ["* activating the instance's disks on target node node2",
                           "* starting the instance on the target node node2"]
  assert _Primary(cluster, "mig1") == "node2"
  assert 2 in _RunningOn(cluster, "mig1")
