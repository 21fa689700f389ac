"""Failover and migration of drbd instances, run by the real opcode processor
on a real configuration; the RPC runner records the calls and answers from
canned functions (see test_cmdlib_instance_lvm)."""

import pytest

from ganeti import constants
from ganeti import errors
from ganeti import objects
from test_cmdlib_instance_lvm import _Calls, _Create, _InstanceDisks, _Uuid
from test_cmdlib_instance_lvm import fixture_env  # pylint: disable=unused-import
from test_cmdlib_node import _Run


def _RunningDrbdInstance(env, pnode="node1", snode="node2"):
  _Create(env, "drbd", pnode=pnode, snode=snode)
  env.cfg.MarkInstanceUp(env.cfg.GetInstanceInfoByName("inst1").uuid)
  env.rpc.calls.clear()
  env.rpc.together_calls.clear()


def _Move(env, op_class, **params):
  """Fails over or migrates inst1 (the test instances have no NIC, against the policy)."""
  return _Run(env, op_class, instance_name="inst1", ignore_ipolicy=True, **params)


def _MirrorHealth(env, degraded):
  env.rpc.answers["blockdev_find"] = lambda node, disk_inst: objects.BlockDevStatus(
    is_degraded=degraded, ldisk_status=constants.LDS_OKAY)


def _Primary(env):
  return env.cfg.GetNodeName(env.cfg.GetInstanceInfoByName("inst1").primary_node)


def test_failover_drbd_goes_to_the_secondary(env):
  """Healthy connected mirrors only change roles: the source's become
  secondary in the shutdown's send, then the target's primary (while the
  move is recorded), with no teardown and no new handshake."""
  _RunningDrbdInstance(env)
  _MirrorHealth(env, degraded=False)
  node1, node2 = _Uuid(env, "node1"), _Uuid(env, "node2")
  _, messages = _Move(env, "OpInstanceFailover")
  assert _Primary(env) == "node2"
  assert "* checking disk consistency between source and target" in messages
  assert "* switching node node1 to secondary mode" in messages
  assert "* making the instance's disks primary on target node node2" in messages
  # the mirror is checked on the target (asked with the target's memory,
  # before the pre-hooks; looked at after)
  assert env.rpc.together_calls[0] == [("blockdev_find", node2), ("node_info", [node2])]
  assert [(nodes, args[2]) for nodes, args in _Calls(env, "blockdev_assemble")] == [
    (node2, True)]
  assert _Calls(env, "blockdev_shutdown") == []
  assert [("instance_shutdown", node1), ("blockdev_close", node1)] in env.rpc.together_calls
  names = env.rpc.Names()
  assert names.index("blockdev_close") < names.index("blockdev_assemble") < \
    names.index("instance_start")
  assert [nodes for nodes, _ in _Calls(env, "instance_start")] == [node2]
  assert env.cfg.GetInstanceInfoByName("inst1").disks_active
  # the DRBD disk keeps its logical id: minors stay with their nodes
  disk, = _InstanceDisks(env)
  assert disk.logical_id[:2] == [node1, node2]


def test_failover_drbd_whose_source_stays_primary_is_set_up_again(env):
  """A source whose devices cannot become secondary (still held open) has
  its mirrors taken down and set up again: secondary first (beside the new
  primary's local half), then the new primary."""
  _RunningDrbdInstance(env)
  _MirrorHealth(env, degraded=False)
  node1, node2 = _Uuid(env, "node1"), _Uuid(env, "node2")
  env.rpc.failing[("blockdev_close", node1)] = "device held open"
  _, messages = _Move(env, "OpInstanceFailover")
  assert _Primary(env) == "node2"
  assert "* deactivating the instance's disks on source node" in messages
  assert sorted((nodes, args[2]) for nodes, args in _Calls(env, "blockdev_assemble")) == sorted([
    (node1, False), (node2, False), (node2, True)])
  assert _Calls(env, "blockdev_assemble")[-1][0] == node2
  assert [nodes for nodes, _ in _Calls(env, "instance_start")] == [node2]


def test_disks_deactivated_go_secondary_before_going_down(env):
  """The primary's device stops being primary before any goes down: a
  primary cut from its peer would start a new data generation, a split
  brain at the next connection; then both nodes shut down at once."""
  _RunningDrbdInstance(env)
  node1, node2 = _Uuid(env, "node1"), _Uuid(env, "node2")
  for old_primary in (node1, node2):
    env.rpc.together_calls.clear()
    env.rpc.calls.clear()
    _Run(env, "OpInstanceDeactivateDisks", instance_name="inst1", force=True)
    names = env.rpc.Names()
    assert names.index("blockdev_close") < names.index("blockdev_shutdown")
    assert _Calls(env, "blockdev_close")[0][0] == old_primary
    assert [sorted(calls) for calls in env.rpc.together_calls
            if ("blockdev_shutdown", node1) in calls] == [sorted(
              [("blockdev_shutdown", node1), ("blockdev_shutdown", node2)])]
    if old_primary == node1:
      _Run(env, "OpInstanceActivateDisks", instance_name="inst1")
      _MirrorHealth(env, degraded=False)
      _Move(env, "OpInstanceFailover")


def test_shutdown_of_a_mirror_not_made_secondary_goes_primary_first(env):
  """A primary whose devices can't stop being primary (one missing, or in
  use) is shut down before its peers, as far as it goes."""
  _RunningDrbdInstance(env)
  node1, node2 = _Uuid(env, "node1"), _Uuid(env, "node2")
  env.rpc.failing[("blockdev_close", node1)] = "Can't find device <DRBD8(...)>"
  _Run(env, "OpInstanceDeactivateDisks", instance_name="inst1", force=True)
  assert [nodes for nodes, _ in _Calls(env, "blockdev_shutdown")] == [node1, node2]
  assert not any(name == "blockdev_shutdown" for calls in env.rpc.together_calls
                 for name, _ in calls)


def test_failover_drbd_refuses_degraded_mirror_unless_told(env):
  _RunningDrbdInstance(env)
  _MirrorHealth(env, degraded=True)
  with pytest.raises(errors.OpExecError) as err:
    _Move(env, "OpInstanceFailover")
  assert err.value.args[0] == "Disk disk/0 is degraded on target node, aborting failover"
  assert _Primary(env) == "node1" and _Calls(env, "instance_shutdown") == []
  _Move(env, "OpInstanceFailover", ignore_consistency=True)
  assert _Primary(env) == "node2"


def test_failover_drbd_from_offline_primary(env):
  _RunningDrbdInstance(env, pnode="node2", snode="node3")
  _MirrorHealth(env, degraded=True)
  _Run(env, "OpNodeSetParams", node_name="node2", offline=True, auto_promote=True)
  _, messages = _Move(env, "OpInstanceFailover", ignore_consistency=True)
  assert "Node node2 is offline, ignoring degraded disk disk/0 on target node node3" in \
    messages
  assert _Primary(env) == "node3"


def test_drbd_moves_only_to_its_secondary(env):
  _RunningDrbdInstance(env)
  for op_class, verb in (("OpInstanceFailover", "failed over"),
                         ("OpInstanceMigrate", "migrated")):
    with pytest.raises(errors.OpPrereqError) as err:
      _Move(env, op_class, target_node="node3")
    assert err.value.args[0] == (
      "Instances with disk template drbd cannot be %s to arbitrary nodes (neither an"
      " iallocator nor a target node can be passed)" % verb)
  _MirrorHealth(env, degraded=False)
  _Move(env, "OpInstanceFailover", target_node="node2")
  assert _Primary(env) == "node2"


def _MigrationAnswers(env, migrate_error=None):
  _MirrorHealth(env, degraded=False)
  answers = env.rpc.answers
  answers["instance_info"] = lambda node, *args: {"memory": 128, "state": "running"}
  answers["migration_info"] = lambda node, inst: "migration-info"
  answers["instance_get_migration_status"] = lambda node, inst: objects.MigrationStatus(
    status=constants.HV_MIGRATION_COMPLETED)
  env.sync_answers = [[False, 40.0]]
  answers["drbd_wait_sync"] = lambda node, disks: (
    env.sync_answers.pop(0) if env.sync_answers and node == _Uuid(env, "node2") else
    [True, 100.0])
  if migrate_error:
    env.rpc.failing[("instance_migrate", _Uuid(env, "node1"))] = migrate_error


_DISK_STEPS = ("blockdev_close", "drbd_disconnect_net", "drbd_attach_net", "drbd_wait_sync",
               "accept_instance", "instance_migrate", "instance_finalize_migration_src",
               "instance_finalize_migration_dst")


def _NodeNames(env, nodes):
  return tuple(sorted(env.cfg.GetNodeName(uuid) for uuid in
                      (nodes if isinstance(nodes, list) else [nodes])))


def _DiskSteps(env):
  """The migration's disk and hand-over calls: (call, node names, multimaster)."""
  return [(call, _NodeNames(env, nodes)) + ((args[1],) if call == "drbd_attach_net" else ())
          for call, nodes, args in env.rpc.calls if call in _DISK_STEPS]


def _Sends(env):
  """The calls sent together, as (call, node names) each."""
  return [[(call, _NodeNames(env, nodes)) for call, nodes in calls]
          for calls in env.rpc.together_calls]


def test_migrate_drbd_through_dual_master(env):
  _RunningDrbdInstance(env)
  _MigrationAnswers(env)
  _, messages = _Move(env, "OpInstanceMigrate")
  assert _Primary(env) == "node2"
  both = ("node1", "node2")
  assert _DiskSteps(env) == [
    ("blockdev_close", ("node2",)),
    # dual-master, on the live connection (the mirrors were found healthy):
    # the target alone, as DRBD passes the setting on to the source, and it
    # becomes primary too
    ("drbd_attach_net", ("node2",), True),
    ("drbd_wait_sync", both), ("drbd_wait_sync", both),
    ("accept_instance", ("node2",)), ("instance_migrate", ("node1",)),
    ("instance_finalize_migration_src", ("node1",)),
    ("instance_finalize_migration_dst", ("node2",)),
    # the source, secondary again, goes back to single-master for both
    ("blockdev_close", ("node1",)), ("drbd_attach_net", ("node1",), False),
    ("drbd_wait_sync", both)]
  # the source's state and migration data, the target's memory and its
  # mirrors' health are asked at once, before the pre-hooks
  assert env.rpc.together_calls[0] == [
    ("instance_migratable", _Uuid(env, "node1")), ("instance_info", _Uuid(env, "node1")),
    ("node_info", [_Uuid(env, "node2")]), ("migration_info", _Uuid(env, "node1")),
    ("blockdev_find", _Uuid(env, "node2"))]
  assert env.rpc.Names().count("migration_info") == 1
  # calls that need not wait for each other's outcome go out in one send
  sends = _Sends(env)
  for together in ([("blockdev_close", ("node2",)), ("drbd_attach_net", ("node2",))],
                   # the hand-over: the source's disks become secondary once
                   # its hypervisor let go of them, then it allows one primary
                   # again (in order on that node), and the first look at the
                   # resync follows on each node
                   [("instance_finalize_migration_src", ("node1",)),
                    ("instance_finalize_migration_dst", ("node2",)),
                    ("blockdev_close", ("node1",)), ("drbd_attach_net", ("node1",)),
                    ("drbd_wait_sync", both)]):
    assert together in sends
  assert "* changing disks into dual-master mode" in messages
  assert "   - progress: 40.0%" in messages
  assert "* changing disks into single-master mode" in messages
  # one look again at the resync after a tenth of a second, not whole seconds later
  assert env.pauses == [0.1]
  assert messages[-1] == "* done"


def test_migration_hand_over_reports_a_failed_switch_after_the_move_is_recorded(env):
  """The source's disks are made secondary in the hand-over's send, after
  its finalization; a failed switch fails the migration, with the instance
  recorded on the target, where it runs."""
  _RunningDrbdInstance(env)
  _MigrationAnswers(env)
  node1 = _Uuid(env, "node1")
  env.rpc.failing[("blockdev_close", node1)] = lambda name, disks: (
    "device held open" if _Calls(env, "instance_finalize_migration_src") else None)
  with pytest.raises(errors.OpExecError) as err:
    _Move(env, "OpInstanceMigrate")
  assert err.value.args[0] == ("Cannot change disk to secondary on node node1, error"
                               " device held open")
  assert _Primary(env) == "node2"
  assert env.rpc.Names()[-1] == "drbd_wait_sync"  # the hand-over's last call


def test_migration_reports_a_failed_finalization_on_the_source_first(env):
  _RunningDrbdInstance(env)
  _MigrationAnswers(env)
  node1 = _Uuid(env, "node1")
  env.rpc.failing[("blockdev_close", node1)] = lambda name, disks: (
    "device held open" if _Calls(env, "instance_finalize_migration_src") else None)
  env.rpc.failing[("instance_finalize_migration_src", node1)] = "qemu did not quit"
  with pytest.raises(errors.OpExecError) as err:
    _Move(env, "OpInstanceMigrate")
  assert err.value.args[0] == ("Instance migration succeeded, but finalization failed on"
                               " the source node: qemu did not quit")
  assert _Primary(env) == "node2"


def test_migration_shrinking_the_instance_checks_the_mirrors_first(env):
  """An instance that must shrink to fit the target is ballooned only once
  its mirrors are known good, and its migration data is asked again
  afterwards (the data asked with the checks predates the shrinking)."""
  _RunningDrbdInstance(env)
  _MigrationAnswers(env)
  env.rpc.answers["instance_info"] = lambda node, *args: {"memory": 8192, "state": "running"}
  env.rpc.answers["instance_balloon_memory"] = lambda node, inst, memory: None
  _, messages = _Move(env, "OpInstanceMigrate", allow_runtime_changes=True)
  assert "* setting instance memory to 4096" in messages
  names = env.rpc.Names()
  assert names.index("blockdev_find") < names.index("instance_balloon_memory") < \
    len(names) - 1 - names[::-1].index("migration_info")
  assert names.count("migration_info") == 2
  assert _Primary(env) == "node2"


def test_mirrors_that_keep_their_connection_need_no_resync_wait(env):
  """Nodes whose mirrors changed the dual-primary setting in place (the
  answer True) have nothing to resync: only the look at the resync in the
  hand-over, which must find them connected, is made."""
  _RunningDrbdInstance(env)
  _MigrationAnswers(env)
  env.sync_answers = []
  env.rpc.answers["drbd_attach_net"] = lambda node, disks, multimaster: True
  _, messages = _Move(env, "OpInstanceMigrate")
  both = ("node1", "node2")
  assert [step for step in _DiskSteps(env) if step[0].startswith("drbd")] == [
    ("drbd_attach_net", ("node2",), True),
    ("drbd_attach_net", ("node1",), False), ("drbd_wait_sync", both)]
  assert messages.count("* wait until resync is done") == 1


def test_failed_drbd_migration_returns_to_single_master_on_source(env):
  _RunningDrbdInstance(env)
  _MigrationAnswers(env, migrate_error="migration refused")
  with pytest.raises(errors.OpExecError) as err:
    _Move(env, "OpInstanceMigrate")
  assert err.value.args[0] == "Could not migrate instance inst1: migration refused"
  assert _Primary(env) == "node1"
  steps = _DiskSteps(env)
  failed_at = steps.index(("instance_migrate", ("node1",)))
  both = ("node1", "node2")
  assert steps[failed_at + 1:] == [
    ("instance_finalize_migration_dst", ("node2",)),
    ("instance_finalize_migration_src", ("node1",)),
    ("blockdev_close", ("node2",)), ("drbd_attach_net", ("node2",), False),
    ("drbd_wait_sync", both)]


def test_cleanup_of_unsynced_mirrors_reconnects_one_node_after_the_other(env):
  """migrate --cleanup after a migration broke off: mirrors that are not in
  sync may be off the network, and connecting both ends at the same moment
  can miss the peer for DRBD's connect interval."""
  _RunningDrbdInstance(env)
  _MigrationAnswers(env)
  env.rpc.answers["instance_list"] = lambda node, *args: (
    ["inst1"] if node == _Uuid(env, "node1") else [])
  env.sync_answers = []
  failures = ["DRBD device /dev/drbd0 is not in sync: state StandAlone"]
  env.rpc.failing[("drbd_wait_sync", _Uuid(env, "node2"))] = (
    lambda *args: failures.pop() if failures else None)
  _, messages = _Move(env, "OpInstanceMigrate", cleanup=True)
  assert messages[-1] == "* done"
  both = ("node1", "node2")
  assert _DiskSteps(env) == [
    ("blockdev_close", ("node2",)), ("drbd_wait_sync", both),
    ("drbd_attach_net", ("node1",), False), ("drbd_attach_net", ("node2",), False),
    ("drbd_wait_sync", both)]


def test_migrate_drbd_refuses_unsynced_target(env):
  _RunningDrbdInstance(env)
  _MigrationAnswers(env)
  _MirrorHealth(env, degraded=True)
  with pytest.raises(errors.OpExecError) as err:
    _Move(env, "OpInstanceMigrate")
  assert err.value.args[0] == ("Disk disk/0 is degraded or not fully synchronized on target"
                               " node, aborting migration")
  assert _DiskSteps(env) == []


def test_migration_resync_wait_is_bounded(env):
  _RunningDrbdInstance(env)
  _MigrationAnswers(env)
  env.rpc.answers["drbd_wait_sync"] = lambda node, disks: [False, 40.0]
  with pytest.raises(errors.OpExecError) as err:
    _Move(env, "OpInstanceMigrate")
  assert err.value.args[0] == "Cannot resync disks: no progress in 1800 seconds"
  # the pauses double from a tenth of a second up to half a second
  assert env.pauses[:5] == [0.1, 0.2, 0.4, 0.5, 0.5] and set(env.pauses[3:]) == {0.5}
  assert _Primary(env) == "node1" and _Calls(env, "instance_migrate") == []


def test_failover_of_a_stopped_drbd_instance(env):
  _Create(env, "drbd")
  env.rpc.calls.clear()
  _, messages = _Move(env, "OpInstanceFailover")
  assert _Primary(env) == "node2"
  assert "* not checking disk consistency as instance is not running" in messages
  assert _Calls(env, "blockdev_find") == [] and _Calls(env, "instance_start") == []
  assert _Calls(env, "blockdev_assemble") == []
