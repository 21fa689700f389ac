"""gnt-instance replace-disks on DRBD instances, run by the real opcode
processor on a real configuration with the RPC runner recording calls."""

import pytest

from ganeti import constants
from ganeti import errors
from ganeti import locking
from ganeti import objects
from test_cmdlib_instance_lvm import _Calls, _Create, _InstanceDisks, _Uuid, fixture_env
from test_cmdlib_node import _Run

assert fixture_env  # the "env" fixture


@pytest.fixture(name="drbd")
def fixture_drbd(env):
  """env with a running DRBD instance inst1 (node1 primary, node2 secondary)."""
  _Create(env, "drbd", disks=[{"size": 1024}, {"size": 512}])
  env.cfg.MarkInstanceUp(env.cfg.GetInstanceInfoByName("inst1").uuid)
  env.health = {}
  env.rpc.answers["blockdev_find"] = lambda node, disk_inst: env.health.get(
    node, objects.BlockDevStatus(is_degraded=False, ldisk_status=constants.LDS_OKAY))
  env.rpc.answers["blockdev_getmirrorstatus_multi"] = lambda node, node_disks: [
    (True, env.rpc.answers["blockdev_find"](node, disk_inst)) for disk_inst in node_disks[node]]
  env.rpc.answers["vg_list"] = lambda node: {"xenvg": 100000}
  env.rpc.calls.clear()
  return env


def _Replace(env, mode, **params):
  return _Run(env, "OpInstanceReplaceDisks", instance_name="inst1", mode=mode, **params)


def _Refusal(env, mode, exc_class=errors.OpPrereqError, **params):
  with pytest.raises(exc_class) as err:
    _Replace(env, mode, **params)
  return err.value.args[0]


def _Names(disks):
  return [disk.logical_id[1] for disk in disks]


def test_replace_on_secondary_swaps_in_new_lvs_under_the_old_names(drbd):
  before = _InstanceDisks(drbd)
  node1, node2 = _Uuid(drbd, "node1"), _Uuid(drbd, "node2")
  _, messages = _Replace(drbd, "replace_on_secondary", disks=[1])
  assert "Replacing disk(s) 1 for instance 'inst1'" in messages
  assert [line for line in messages if line.startswith("STEP")] == [
    "STEP 1/6 Check device existence", "STEP 2/6 Check peer consistency",
    "STEP 3/6 Allocate new storage", "STEP 4/6 Changing drbd configuration",
    "STEP 5/6 Sync devices", "STEP 6/6 Removing old storage"]
  old_names = _Names(before[1].children)
  created = [(nodes, args[0][0]) for nodes, args in _Calls(drbd, "blockdev_create")]
  assert [nodes for nodes, _ in created] == [node2, node2]
  new_names = [lv.logical_id[1] for _, lv in created]
  assert new_names[0].endswith(".disk1_data") and new_names[1].endswith(".disk1_meta")
  assert [lv.size for _, lv in created] == [512, 128]
  (nodes, (drbd_dev, (detached, _))), = _Calls(drbd, "blockdev_removechildren")
  assert nodes == node2 and drbd_dev[0].uuid == before[1].uuid
  assert _Names(detached) == old_names
  old_away, new_in = [args[0] for _, args in _Calls(drbd, "blockdev_rename")]
  stamp = old_away[0][1][1][len(old_names[0]):]
  assert stamp.startswith("_replaced-")
  assert [(lv.logical_id[1], new_id[1]) for lv, new_id in old_away] == [
    (name, name + stamp) for name in old_names]
  assert [(lv.logical_id[1], new_id[1]) for lv, new_id in new_in] == \
    list(zip(new_names, old_names))
  (nodes, (_, (attached, _))), = _Calls(drbd, "blockdev_addchildren")
  assert nodes == node2 and _Names(attached) == old_names
  removed = [(nodes, args[0][0].logical_id[1]) for nodes, args in
             _Calls(drbd, "blockdev_remove")]
  assert removed == [(node2, name + stamp) for name in old_names]
  # the new LVs are made in one send, the old ones removed in one
  assert [("blockdev_create", node2)] * 2 in drbd.rpc.together_calls
  assert [("blockdev_remove", node2)] * 2 in drbd.rpc.together_calls
  # which old LVs are there is asked right after the detach, in its send
  assert [("blockdev_removechildren", node2),
          ("blockdev_getmirrorstatus_multi", [node2])] in drbd.rpc.together_calls
  # the configuration keeps its names; disk 0 was left alone
  assert [_Names(disk.children) for disk in _InstanceDisks(drbd)] == \
    [_Names(disk.children) for disk in before]
  assert node1 in [nodes for nodes, _ in _Calls(drbd, "blockdev_find")]
  # step 1 asks both nodes for the disk and for their volume groups at once
  assert [("blockdev_find", node1), ("blockdev_find", node2),
          ("vg_list", [node2, node1])] in drbd.rpc.together_calls


def test_replace_on_primary_with_early_release(drbd):
  node1 = _Uuid(drbd, "node1")
  _, messages = _Replace(drbd, "replace_on_primary", early_release=True)
  assert "Replacing disk(s) 0, 1 for instance 'inst1'" in messages
  steps = [line for line in messages if line.startswith("STEP")]
  assert steps[4:] == ["STEP 5/6 Removing old storage", "STEP 6/6 Sync devices"]
  assert {nodes for nodes, _ in _Calls(drbd, "blockdev_create")} == {node1}
  assert len(_Calls(drbd, "blockdev_remove")) == 4
  # removal came before the resync
  names = drbd.rpc.Names()
  assert names.index("blockdev_remove") < names.index("blockdev_wait_mirror_sync")


def test_refuses_to_replace_against_degraded_peer(drbd):
  drbd.health[_Uuid(drbd, "node1")] = objects.BlockDevStatus(
    is_degraded=True, ldisk_status=constants.LDS_OKAY)
  assert _Refusal(drbd, "replace_on_secondary", errors.OpExecError) == (
    "Node node1 has degraded storage, unsafe to replace disks for instance inst1")
  assert _Calls(drbd, "blockdev_create") == []


def test_peer_consistency_asks_each_device_tree_once(drbd):
  node1 = _Uuid(drbd, "node1")
  _Replace(drbd, "replace_on_secondary", disks=[0])
  # disk 0's DRBD device and both its LVs: one call on the primary
  (nodes, (node_disks,)), = [call for call in _Calls(drbd, "blockdev_getmirrorstatus_multi")
                             if call[0] == [node1]]
  (disk, _), = node_disks[node1]
  assert disk.dev_type == constants.DT_DRBD8 and len(disk.children) == 2
  drbd.rpc.calls.clear()
  # a faulty LV under a healthy DRBD device makes the combined status faulty
  drbd.rpc.answers["blockdev_getmirrorstatus_multi"] = lambda node, node_disks: [
    (True, objects.BlockDevStatus(is_degraded=node == node1,
                                  ldisk_status=constants.LDS_FAULTY if node == node1
                                  else constants.LDS_OKAY)) for _ in node_disks[node]]
  assert _Refusal(drbd, "replace_on_secondary", errors.OpExecError) == (
    "Node node1 has degraded storage, unsafe to replace disks for instance inst1")
  assert _Calls(drbd, "blockdev_create") == []


def test_only_old_lvs_still_there_are_renamed_away(drbd):
  node2 = _Uuid(drbd, "node2")
  old_data, _ = _InstanceDisks(drbd)[0].children
  healthy = drbd.rpc.answers["blockdev_getmirrorstatus_multi"]
  # the old data LV is gone from node2 (the node lost it)
  drbd.rpc.answers["blockdev_getmirrorstatus_multi"] = lambda node, node_disks: [
    (False, "Can't find device") if node == node2 and disk.logical_id == old_data.logical_id
    else answer for (disk, _), answer in zip(node_disks[node], healthy(node, node_disks))]
  _Replace(drbd, "replace_on_secondary", disks=[0])
  old_away, _ = [args[0] for _, args in _Calls(drbd, "blockdev_rename")]
  assert [lv.logical_id[1] for lv, _ in old_away] == [
    _InstanceDisks(drbd)[0].children[1].logical_id[1]]


def test_missing_volume_group_and_device(drbd):
  drbd.rpc.answers["vg_list"] = lambda node: {"othervg": 1}
  assert _Refusal(drbd, "replace_on_secondary", errors.OpExecError) == \
    "Volume group 'xenvg' not found on node node2"
  drbd.health[_Uuid(drbd, "node2")] = None
  assert _Refusal(drbd, "replace_on_secondary", errors.OpExecError) == \
    "Can't find disk/0 on node node2: disk not found"


def test_failed_detach_renames_nothing(drbd):
  """The presence of the old LVs is asked in the detach's send, but a failed
  detach stops the replacement before any rename."""
  node2 = _Uuid(drbd, "node2")
  drbd.rpc.failing[("blockdev_removechildren", node2)] = "device busy"
  assert _Refusal(drbd, "replace_on_secondary", errors.OpExecError, disks=[0]) == (
    "Can't detach drbd from local storage on node node2 for device disk/0: device busy")
  assert _Calls(drbd, "blockdev_rename") == []


def test_failed_addchildren_removes_the_new_lvs(drbd):
  node2 = _Uuid(drbd, "node2")
  drbd.rpc.failing[("blockdev_addchildren", node2)] = "drbdsetup attach failed"
  assert _Refusal(drbd, "replace_on_secondary", errors.OpExecError, disks=[0]) == \
    "Can't add local storage to drbd: drbdsetup attach failed"
  assert len(_Calls(drbd, "blockdev_remove")) == 2


def test_new_secondary_moves_the_mirror_half(drbd):
  node1, node2, node3 = (_Uuid(drbd, name) for name in ("node1", "node2", "node3"))
  before = _InstanceDisks(drbd)
  _, messages = _Replace(drbd, "replace_new_secondary", remote_node="node3")
  assert "New secondary node: node3" in messages
  creates = [(nodes, args[0][0]) for nodes, args in _Calls(drbd, "blockdev_create")]
  assert all(nodes == node3 for nodes, _ in creates)
  assert [dev.dev_type for _, dev in creates] == ["plain", "plain", "plain", "plain", "drbd",
                                                 "drbd"]
  # the new DRBD devices start without network: no port yet
  standalone = [dev.logical_id for _, dev in creates if dev.dev_type == "drbd"]
  assert [lid[:5] for lid in standalone] == [[node1, node3, None, 0, 0],
                                             [node1, node3, None, 1, 1]]
  assert {nodes for nodes, _ in _Calls(drbd, "blockdev_shutdown")} == {node2}
  assert [nodes for nodes, _ in _Calls(drbd, "drbd_disconnect_net")] == [[node1]]
  # the old secondary goes down while the primary leaves the network
  assert [("blockdev_shutdown", node2)] * 2 + [("drbd_disconnect_net", [node1])] in \
    drbd.rpc.together_calls
  # one node after the other, the primary first (see the migration's reconnection)
  attaches = _Calls(drbd, "drbd_attach_net")
  assert [nodes for nodes, _ in attaches] == [[node1], [node3]]
  assert all(multimaster is False for _, (_, multimaster) in attaches)
  after = _InstanceDisks(drbd)
  for old, new in zip(before, after):
    assert new.logical_id == [node1, node3, old.logical_id[2], old.logical_id[3],
                              old.logical_id[4], old.logical_id[5]]
    assert new.nodes == [node1, node3] and all(lv.nodes == [node1, node3]
                                               for lv in new.children)
  assert {nodes for nodes, _ in _Calls(drbd, "blockdev_remove")} == {node2}
  assert drbd.cfg.ComputeDRBDMap()[node2] == {}
  assert sorted(drbd.cfg.ComputeDRBDMap()[node3]) == [0, 1]
  assert drbd.cfg.GetInstanceSecondaryNodes(drbd.cfg.GetInstanceList()[0]) == (node3,)


def test_new_secondary_replaces_an_offline_secondary(drbd):
  # the old secondary died and was marked offline: -n (gnt-node evacuate -s)
  # gives the instance its redundancy back without it
  node1, node2, node3 = (_Uuid(drbd, name) for name in ("node1", "node2", "node3"))
  _Run(drbd, "OpNodeSetParams", node_name="node2", offline=True, auto_promote=True)
  drbd.rpc.offline.add(node2)
  drbd.rpc.calls.clear()
  _Replace(drbd, "replace_new_secondary", remote_node="node3")
  assert drbd.cfg.GetInstanceSecondaryNodes(drbd.cfg.GetInstanceList()[0]) == (node3,)
  assert {nodes for nodes, _ in _Calls(drbd, "blockdev_create")} == {node3}
  assert [nodes for nodes, _ in _Calls(drbd, "drbd_attach_net")] == [[node1], [node3]]
  # the old secondary may be offline, the new one may not
  assert _Refusal(drbd, "replace_new_secondary", remote_node="node2") == \
    "Can't use offline node: node2"


def test_failed_new_secondary_leaves_config_and_new_node_clean(drbd):
  node2, node3 = _Uuid(drbd, "node2"), _Uuid(drbd, "node3")
  before = _InstanceDisks(drbd)
  drbd.rpc.failing[("drbd_disconnect_net", _Uuid(drbd, "node1"))] = "device busy"
  assert _Refusal(drbd, "replace_new_secondary", errors.OpExecError,
                  remote_node="node3") == \
    "Can't detach the disks from the network on old node: device busy"
  created = [args[0][0].uuid for nodes, args in _Calls(drbd, "blockdev_create")]
  removed = [args[0][0].uuid for nodes, args in _Calls(drbd, "blockdev_remove")]
  assert removed == list(reversed(created))
  assert {nodes for nodes, _ in _Calls(drbd, "blockdev_remove")} == {node3}
  assert [disk.ToDict() for disk in _InstanceDisks(drbd)] == [disk.ToDict() for disk in before]
  assert drbd.cfg.ComputeDRBDMap()[node3] == {}
  assert sorted(drbd.cfg.ComputeDRBDMap()[node2]) == [0, 1]


def test_new_secondary_refusals(drbd):
  assert _Refusal(drbd, "replace_new_secondary", remote_node="node1") == \
    "The specified node is the primary node of the instance"
  assert _Refusal(drbd, "replace_new_secondary", remote_node="node2") == \
    "The specified node is already the secondary node of the instance"
  assert _Refusal(drbd, "replace_new_secondary") == (
    "When changing the secondary either an iallocator script must be used or the new"
    " node given")
  assert _Refusal(drbd, "replace_on_primary", remote_node="node3") == (
    "The iallocator and new node options can only be used when changing the secondary"
    " node")
  assert _Refusal(drbd, "replace_on_primary", disks=[2]) == \
    "Disk index 2 out of range (instance has 2 disks)"


def test_auto_replaces_the_faulty_side(drbd):
  node2 = _Uuid(drbd, "node2")
  healthy = objects.BlockDevStatus(is_degraded=False, ldisk_status=constants.LDS_OKAY)
  faulty = objects.BlockDevStatus(is_degraded=True, ldisk_status=constants.LDS_FAULTY)
  drbd.rpc.answers["blockdev_getmirrorstatus"] = lambda node, disks_inst: (
    [healthy, faulty] if node == node2 else [healthy, healthy])
  _, messages = _Replace(drbd, "replace_auto")
  assert "Replacing disk(s) 1 for instance 'inst1'" in messages
  assert {nodes for nodes, _ in _Calls(drbd, "blockdev_create")} == {node2}
  drbd.rpc.answers["blockdev_getmirrorstatus"] = lambda node, disks_inst: [healthy, faulty]
  assert _Refusal(drbd, "replace_auto") == (
    "Instance inst1 has faulty disks on more than one node; need to manually fix")
  drbd.rpc.answers["blockdev_getmirrorstatus"] = lambda node, disks_inst: [healthy, healthy]
  _, messages = _Replace(drbd, "replace_auto")
  assert messages[-1] == "No disks need replacement for instance 'inst1'"


def test_inactive_disks_are_activated_for_the_replacement(drbd):
  drbd.cfg.MarkInstanceDown(drbd.cfg.GetInstanceList()[0])
  drbd.cfg.MarkInstanceDisksInactive(drbd.cfg.GetInstanceList()[0])
  _Replace(drbd, "replace_on_secondary", disks=[0])
  names = drbd.rpc.Names()
  assert names.index("blockdev_assemble") < names.index("blockdev_create")
  assert names.index("blockdev_shutdown") > names.index("blockdev_remove")
  assert not drbd.cfg.GetInstanceInfoByName("inst1").disks_active


def test_new_secondary_from_the_allocator(drbd):
  node3 = _Uuid(drbd, "node3")
  drbd.rpc.answers["all_instances_info"] = lambda node, *args: {}
  # no script of that name: the built-in choice answers, never the current nodes
  _, messages = _Replace(drbd, "replace_new_secondary", iallocator="no-such-allocator")
  assert " - INFO: Selected new secondary for instance 'inst1': node3" in messages
  assert drbd.cfg.GetInstanceSecondaryNodes(drbd.cfg.GetInstanceList()[0]) == (node3,)


# --- gnt-node evacuate ---------------------------------------------------------------------

def _Evacuate(env, node, mode, **params):
  submitted = []
  env.SubmitManyJobsFromLU = lambda jobs: submitted.extend(jobs) or [
    [True, idx] for idx in range(len(jobs))]
  env.rpc.answers["all_instances_info"] = lambda node, *args: {}
  _, messages = _Run(env, "OpNodeEvacuate", node_name=node, mode=mode, **params)
  return [[(op["OP_ID"], op.get("remote_node"), op.get("mode")) for op in job]
          for job in submitted], messages


def test_evacuate_secondary_to_given_node(drbd):
  jobs, _ = _Evacuate(drbd, "node2", "secondary-only", remote_node="node3")
  assert jobs == [[("OP_INSTANCE_REPLACE_DISKS", "node3", "replace_new_secondary")]]


def test_evacuate_drbd_primary_moves_to_secondary_then_replaces_it(drbd):
  jobs, messages = _Evacuate(drbd, "node1", "all", iallocator="no-such-allocator")
  # node3 is the only node that is neither primary nor secondary
  assert jobs == [[("OP_INSTANCE_MIGRATE", None, None),
                   ("OP_INSTANCE_REPLACE_DISKS", "node3", "replace_new_secondary")]]
  assert " - INFO: Instances to be moved: inst1 (to node3)" in messages
  jobs, _ = _Evacuate(drbd, "node2", "secondary-only", iallocator="no-such-allocator")
  assert jobs == [[("OP_INSTANCE_REPLACE_DISKS", "node3", "replace_new_secondary")]]


def test_evacuate_without_room_for_a_new_secondary(drbd):
  drbd.rpc.free_space[_Uuid(drbd, "node3")] = 10
  with pytest.raises(errors.OpExecError) as err:
    _Evacuate(drbd, "node2", "secondary-only", iallocator="no-such-allocator")
  assert err.value.args[0].startswith("Unable to evacuate instances inst1 (Can't compute"
                                      " nodes using iallocator 'no-such-allocator'")


# --- gnt-node repair-storage ----------------------------------------------------------------

def test_repair_storage_refuses_while_the_peer_is_faulty(drbd):
  faulty = objects.BlockDevStatus(is_degraded=True, ldisk_status=constants.LDS_FAULTY)
  healthy = objects.BlockDevStatus(is_degraded=False, ldisk_status=constants.LDS_OKAY)
  node1 = _Uuid(drbd, "node1")
  drbd.rpc.answers["blockdev_getmirrorstatus"] = lambda node, disks_inst: (
    [faulty, healthy] if node == node1 else [healthy, healthy])
  params = dict(node_name="node2", storage_type="lvm-vg", name="xenvg")
  with pytest.raises(errors.OpPrereqError) as err:
    _Run(drbd, "OpRepairNodeStorage", **params)
  assert err.value.args[0] == "Instance 'inst1' has faulty disks on node 'node1'"
  assert _Calls(drbd, "storage_execute") == []
  _, messages = _Run(drbd, "OpRepairNodeStorage", ignore_consistency=True, **params)
  assert " - WARNING: Instance 'inst1' has faulty disks on node 'node1'" in messages
  (nodes, args), = _Calls(drbd, "storage_execute")
  assert nodes == _Uuid(drbd, "node2") and args[-1] == "fix-consistency"
  # the primary's own storage may be repaired when the secondary is fine
  _Run(drbd, "OpRepairNodeStorage", node_name="node1", storage_type="lvm-vg", name="xenvg")


# --- gnt-instance change-group -------------------------------------------------------------

def test_change_group_of_a_drbd_instance(drbd):
  drbd.cfg.AddNodeGroup(objects.NodeGroup(name="g2", ndparams={}))
  for idx in (4, 5):
    drbd.cfg.AddNode(objects.Node(name="node%d" % idx, primary_ip="192.0.2.%d" % idx,
                                  secondary_ip="198.51.100.%d" % idx, group="g2"))
  drbd.glm = locking.GanetiLockManager(nodes=drbd.cfg.GetNodeList(),
                                       nodegroups=drbd.cfg.GetNodeGroupList(),
                                       instances=["inst1"])
  submitted = []
  drbd.SubmitManyJobsFromLU = lambda jobs: submitted.extend(jobs) or [[True, 1]]
  drbd.rpc.answers["all_instances_info"] = lambda node, *args: {}
  _Run(drbd, "OpInstanceChangeGroup", instance_name="inst1", target_groups=["g2"],
       iallocator="no-such-allocator")
  (job,) = submitted
  steps = [(op["OP_ID"], op.get("remote_node")) for op in job]
  assert [op_id for op_id, _ in steps] == ["OP_INSTANCE_REPLACE_DISKS", "OP_INSTANCE_MIGRATE",
                                           "OP_INSTANCE_REPLACE_DISKS"]
  # the first new secondary becomes the primary, the second the new secondary
  assert {steps[0][1], steps[2][1]} == {"node4", "node5"}
