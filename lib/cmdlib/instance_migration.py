"""Moving instances between nodes: failover, live migration, move, and the
node-wide evacuations built on them.

Externally mirrored disk templates (diskless, sharedfile, ...) reach the
same storage from every node: a failover or migration hands the running
instance over and re-opens its disks on the other side.  DRBD disks move
only to their secondary node; a live migration makes both nodes DRBD
primaries while the memory moves (dual-master, set on the live connection),
then the old primary becomes the secondary again.
"""

import time
from typing import Any, Optional

from ganeti import constants
from ganeti import errors
from ganeti import locking
from ganeti import objects
from ganeti import opcodes
from ganeti import paramdefs as pd
from ganeti.cmdlib import allocation
from ganeti.cmdlib import instance_disks
from ganeti.cmdlib import instance_replace_disks
from ganeti.cmdlib import instance_utils as iu
from ganeti.cmdlib import ipolicy
from ganeti.cmdlib.base import LogicalUnit, ResultWithJobs
from ganeti.cmdlib.instance_ops import _InstanceLU
from ganeti.cmdlib.node import ExpandNode
from ganeti.hypervisor import hv_base
from ganeti.opcodes_defs import EVAC_MODES

NODE_EVAC_PRI, NODE_EVAC_SEC, NODE_EVAC_ALL = EVAC_MODES

# how often the source node is asked how far a memory transfer got: soon at
# first (a small guest moves in well under a second), then five times a
# second, so that the end of the transfer is seen quickly; progress is
# reported at most once a second
_MIGRATION_POLL_FIRST = 0.05
_MIGRATION_POLL_INTERVAL = 0.2
_MIGRATION_FEEDBACK_INTERVAL = 1.0
_BOTH_GIVEN = "Do not specify both, iallocator and node"
# seconds between questions about a DRBD resync during a migration: doubling
# from the first up to the longest (the resync after going back to
# single-master is usually over in a fraction of a second); seconds without
# progress that end the wait
_DRBD_SYNC_FIRST_POLL = 0.1
_DRBD_SYNC_POLL = 0.5
_DRBD_SYNC_MAX_STALL = 1800


# --- shared checks ----------------------------------------------------------------

def _CheckIallocatorOrNode(iallocator: Optional[str], node: Optional[str]) -> None:
  if iallocator and node:
    raise errors.OpPrereqError(_BOTH_GIVEN, errors.ECODE_INVAL)


def _IallocatorName(lu: Any, iallocator: Optional[str]) -> str:
  """The allocator to use: the one given ("." or nothing: the cluster default)."""
  if iallocator and iallocator != ".":
    return iallocator
  default = lu.cfg.GetDefaultIAllocator()
  if not default:
    raise errors.OpPrereqError("No iallocator or node given and no cluster-wide default"
                               " iallocator found; please specify either an iallocator"
                               " or a node, or set a cluster-wide default iallocator",
                               errors.ECODE_INVAL)
  return default


def _CheckTargetNode(lu: Any, node_uuid: str) -> None:
  iu.CheckNodeOnline(lu, node_uuid)
  iu.CheckNodeNotDrained(lu, node_uuid)
  iu.CheckNodeVmCapable(lu, node_uuid)


def _CheckTargetPolicy(lu: Any, inst: objects.Instance, node_uuid: str,
                       ignore: bool) -> None:
  """Refuses (or warns, with ignore) when the instance breaks the policy of the
  target node's group."""
  cluster = lu.cfg.GetClusterInfo()
  group = lu.cfg.GetNodeGroup(lu.cfg.GetNodeInfo(node_uuid).group)
  bep = cluster.FillBE(inst)
  disks = lu.cfg.GetInstanceDisks(inst.uuid)
  spec = ipolicy.InstanceSpec(bep[pd.BE_MAXMEM], bep[pd.BE_VCPUS],
                              [disk.size for disk in disks], len(inst.nics),
                              bep[pd.BE_SPINDLE_USE])
  ipolicy.CheckSpec(group, cluster.FillIPolicy(group), spec,
                    lu.cfg.GetInstanceDiskTemplate(inst.uuid), ignore, lu.LogWarning)


def _MovedTo(inst: objects.Instance, node_uuid: str) -> objects.Instance:
  """A copy of the instance with node_uuid as its primary, for the calls that
  go out while the move is recorded."""
  moved = inst.Copy()
  moved.primary_node = node_uuid
  return moved


def _SetPrimaryNode(lu: Any, inst: objects.Instance, node_uuid: str) -> objects.Instance:
  """Records the new primary node; disks that lived only on the old primary
  (externally mirrored ones) follow it.  Returns the updated instance."""
  old = inst.primary_node
  lu.cfg.SetInstancePrimaryNode(inst.uuid, node_uuid)
  for disk in lu.cfg.GetInstanceDisks(inst.uuid):
    if list(disk.nodes or ()) == [old]:
      disk.nodes = [node_uuid]
      lu.cfg.Update(disk)
  return lu.cfg.GetInstanceInfo(inst.uuid)


# --- failover and migration ---------------------------------------------------------

class _MigrationLU(_InstanceLU):
  """Failover and migration: the instance goes to op.target_node, or to the
  node the iallocator picks (the cluster default when neither is given)."""

  NODE_LEVELS = (locking.LEVEL_NODE, locking.LEVEL_NODE_RES)
  FAILOVER = False

  def CheckArguments(self) -> None:
    _CheckIallocatorOrNode(self.op.iallocator, self.op.target_node)

  def ExpandNames(self) -> None:
    super().ExpandNames()
    self.target_uuid: Optional[str] = None
    if self.op.target_node:
      self.target_uuid, self.op.target_node = ExpandNode(self.cfg, self.op.target_node,
                                                         self.op.target_node_uuid)
      self.op.target_node_uuid = self.target_uuid

  def DeclareLocks(self, level: int) -> None:
    if level not in self.NODE_LEVELS:
      return
    if self.target_uuid is None:
      # the allocator may pick any node
      self.needed_locks[level] = locking.ALL_SET
      return
    iu.DeclareInstanceNodeLocks(self, level)
    self.needed_locks[level] = sorted(set(self.needed_locks[level]) | {self.target_uuid})

  def CheckPrereq(self) -> None:
    super().CheckPrereq()
    inst = self.instance
    self.failover = self.FAILOVER
    self.cleanup = bool(self.op.cleanup)
    template = self.cfg.GetInstanceDiskTemplate(inst.uuid)
    self.internal_mirror = template in constants.DTS_INT_MIRROR
    if template not in constants.DTS_EXT_MIRROR and not self.internal_mirror:
      raise errors.OpPrereqError("Instance's disk layout '%s' does not allow %s" %
                                 (template, "failovers" if self.failover else "migrations"),
                                 errors.ECODE_STATE)
    if not self.failover and not self.cleanup and self.op.allow_failover and \
        inst.admin_state != constants.ADMINST_UP:
      self.LogInfo("Instance is marked down or offline, fallback allowed, going into"
                   " failover mode")
      self.failover = True
    self.source_uuid = inst.primary_node
    self.target_uuid = self._ChooseTarget(inst)
    _CheckTargetNode(self, self.target_uuid)
    _CheckTargetPolicy(self, inst, self.target_uuid, self.op.ignore_ipolicy)
    self._CheckMemoryAndState(inst)
    nodes = self.hook_nodes[0] + [self.target_uuid]
    self.hook_nodes = (nodes, nodes)

  def _ChooseTarget(self, inst: objects.Instance) -> str:
    if self.internal_mirror:
      return self._MirrorTarget(inst)
    if self.target_uuid is None:
      be_full = self.cfg.GetClusterInfo().FillBE(inst)
      return allocation.PickNode(self, _IallocatorName(self, self.op.iallocator), be_full,
                                 inst.hypervisor, exclude=(inst.primary_node,))
    if self.target_uuid == inst.primary_node:
      raise errors.OpPrereqError("Cannot migrate instance %s to its primary (%s)" %
                                 (inst.name, self.cfg.GetNodeName(inst.primary_node)),
                                 errors.ECODE_STATE)
    return self.target_uuid

  def _MirrorTarget(self, inst: objects.Instance) -> str:
    """A DRBD instance can only move to its secondary node."""
    secondaries = self.cfg.GetInstanceSecondaryNodes(inst.uuid)
    if not secondaries:
      raise errors.ConfigurationError("No secondary node but using %s disk template" %
                                      self.cfg.GetInstanceDiskTemplate(inst.uuid))
    if self.op.iallocator or (self.target_uuid and self.target_uuid != secondaries[0]):
      raise errors.OpPrereqError("Instances with disk template %s cannot be %s to arbitrary"
                                 " nodes (neither an iallocator nor a target node can be"
                                 " passed)" % (self.cfg.GetInstanceDiskTemplate(inst.uuid),
                                               "failed over" if self.failover else
                                               "migrated"), errors.ECODE_INVAL)
    return secondaries[0]

  def _CheckMemoryAndState(self, inst: objects.Instance) -> None:
    """Checks the target's memory and the source's state; the health of the
    target's mirrors (and, for a migration, the source's migration data) is
    asked in the same send, to be looked at once the operation runs."""
    bep = self.cfg.GetClusterInfo().FillBE(inst)
    self.target_mirrors: list[Any] = []
    self.source_info: Any = None
    if self.failover:
      # (only active disks are looked at: see _Failover)
      mirror_calls = self._MirrorCalls(self.target_uuid) if inst.disks_active else []
      starts = inst.admin_state == constants.ADMINST_UP
      memory_calls = [iu.NodeMemoryCall(self, self.target_uuid, inst.hypervisor)] if starts else []
      results = self.rpc.CallTogether(mirror_calls + memory_calls)
      self.target_mirrors = results[:len(mirror_calls)]
      if starts:
        iu.CheckNodeFreeMemory(self, self.target_uuid, "failing over instance %s" %
                               inst.name, bep[pd.BE_MAXMEM], inst.hypervisor,
                               results=results[-1])
      else:
        self.LogInfo("Not checking memory on the secondary node as instance will not"
                     " be started")
      return
    if self.cleanup or not self.op.allow_failover:
      iu.CheckNodeOnline(self, self.source_uuid)
    if self.cleanup:
      self.LogInfo("Not checking memory on the secondary node as instance will not"
                   " be started")
      return
    # the questions go out together; an offline source answers nothing:
    # with failover allowed, that is the fallback
    results = self.rpc.CallTogether([
      ("instance_migratable", self.source_uuid, (inst,)),
      iu.RunningInfoCall(self, inst, self.source_uuid),
      iu.NodeMemoryCall(self, self.target_uuid, inst.hypervisor),
      ("migration_info", self.source_uuid, (inst,))] + self._MirrorCalls(self.target_uuid))
    result, running, memory, self.source_info = results[:4]
    self.target_mirrors = results[4:]
    if result.fail_msg:
      if not self.op.allow_failover:
        raise errors.OpPrereqError("Can't migrate, please use failover: %s" %
                                   result.fail_msg, errors.ECODE_STATE)
      self.LogInfo("Can't migrate, instance offline, fallback to failover")
      self.failover = True
      self._CheckMemoryAndState(inst)
      return
    running = iu.RunningInfo(self, inst, result=running) or {}
    current = int(running.get("memory", bep[pd.BE_MAXMEM]))
    # with runtime changes allowed the instance may shrink to fit the target
    needed = min(current, bep[pd.BE_MINMEM]) if self.op.allow_runtime_changes else current
    free = iu.CheckNodeFreeMemory(self, self.target_uuid, "migrating instance %s" %
                                  inst.name, needed, inst.hypervisor, results=memory)
    self.balloon_to = free if free < current else None

  def _Live(self) -> bool:
    if self.op.mode:
      return self.op.mode == pd.HT_MIGRATION_LIVE
    if self.op.live is not None:
      return self.op.live
    hvp = self.cfg.GetClusterInfo().FillHV(self.instance)
    return hvp.get(pd.HV_MIGRATION_MODE, pd.HT_MIGRATION_LIVE) == pd.HT_MIGRATION_LIVE

  def _NodeName(self, node_uuid: str) -> str:
    return self.cfg.GetNodeName(node_uuid)

  def _NodeAddress(self, node_uuid: str) -> str:
    return self.cfg.GetNodeInfo(node_uuid).secondary_ip

  # disks shared by both nodes are open on one node (exclusive) or, during a
  # live migration, on both (shared)

  def _CloseDisks(self, node_uuid: str, tolerate: bool = False) -> None:
    self.feedback("* closing instance disks on node %s" % self._NodeName(node_uuid))
    result = self.rpc.call_blockdev_close(node_uuid, self.instance.name, self._Disks())
    if not result.fail_msg:
      return
    if result.offline or tolerate:
      self.LogWarning("Could not close instance disks on node %s, proceeding anyway",
                      self._NodeName(node_uuid))
      return
    raise errors.OpExecError("Cannot close instance disks on node %s: %s" %
                             (self._NodeName(node_uuid), result.fail_msg))

  def _OpenDisks(self, node_uuid: str, exclusive: bool) -> None:
    self.feedback("* opening instance disks on node %s in %s mode" %
                  (self._NodeName(node_uuid), "exclusive" if exclusive else "shared"))
    result = self.rpc.call_blockdev_open(node_uuid, self.instance.name, self._Disks(),
                                         exclusive)
    result.Raise("Cannot open instance disks on node %s" % self._NodeName(node_uuid))

  # DRBD disks: one primary normally, both during a live migration; calls
  # that do not depend on each other's outcome go out together

  def _Mirrors(self) -> list[objects.Disk]:
    return [disk for disk in self.cfg.GetInstanceDisks(self.instance.uuid)
            if disk.dev_type in constants.DTS_INT_MIRROR]

  def _MirrorCalls(self, node_uuid: str) -> list[tuple]:
    """The questions about the instance's DRBD mirrors on node_uuid (see
    _Degraded)."""
    return [("blockdev_find", node_uuid, ((disk, self.instance),)) for disk in self._Mirrors()]

  def _Degraded(self, node_uuid: str, results: list[Any]) -> list[objects.Disk]:
    """The DRBD disks whose mirror on node_uuid is degraded, from the answers
    to _MirrorCalls."""
    return [disk for disk, result in zip(self._Mirrors(), results)
            if not instance_disks.FoundConsistent(self, result, node_uuid)]

  def _Disks(self) -> tuple[list[objects.Disk], objects.Instance]:
    """The instance's disks, as disk calls take them."""
    return self.cfg.GetInstanceDisks(self.instance.uuid), self.instance

  def _Together(self, steps: list[tuple[tuple, str]]) -> list[Any]:
    """Calls, each (name, nodes, arguments) with its error message (given the
    node's name and the error), sent at once; the first failure, in order,
    raises OpExecError."""
    return self._Checked(steps, self.rpc.CallTogether([call for call, _ in steps]))

  def _Checked(self, steps: list[tuple[tuple, str]], results: list[Any]) -> list[Any]:
    """The results of the steps, unless one failed: then the first failure,
    in order, raises OpExecError."""
    for ((_, nodes, _), message), result in zip(steps, results):
      by_node = result.items() if isinstance(nodes, list) else [(nodes, result)]
      for node_uuid, one in by_node:
        if one.fail_msg:
          raise errors.OpExecError(message % (self._NodeName(node_uuid), one.fail_msg))
    return results

  def _SecondaryStep(self, node_uuid: str) -> tuple[tuple, str]:
    """Closing the disks on node_uuid, which makes its DRBD devices secondary."""
    self.feedback("* switching node %s to secondary mode" % self._NodeName(node_uuid))
    return (("blockdev_close", node_uuid, (self.instance.name, self._Disks())),
            "Cannot change disk to secondary on node %s, error %s")

  def _DualMasterStep(self, multimaster: bool, node_uuids: list[str]) -> tuple[tuple, str]:
    """Allowing two primaries (multimaster: and making node_uuids primary)
    or one, on node_uuids."""
    return (("drbd_attach_net", node_uuids, (self._Disks(), multimaster)),
            "Cannot change disks config on node %s, error: %s")

  def _SetDualMaster(self, multimaster: bool, via: Optional[str] = None,
                     along: tuple = ()) -> None:
    """Allows two primaries (multimaster) or one, then waits for the resync a
    reconnection brings.  With via, the mirrors are connected: they change in
    place (see DrbdAttachNet) on that node alone, as DRBD 8.4 hands a
    connected device's new net options on to its peer; via is the node to
    become the second primary, or one that is secondary.  Otherwise both
    nodes are asked, one after the other, the source (primary) first.  The
    steps along go out with the first question."""
    self.feedback("* changing disks into %s mode" %
                  ("dual-master" if multimaster else "single-master"))
    groups = [[via]] if via is not None else [[self.source_uuid], [self.target_uuid]]
    kept = True
    for group in groups:
      results = self._Together(list(along) + [self._DualMasterStep(multimaster, group)])[-1]
      along = ()
      kept = kept and all(results[uuid].payload is True for uuid in group)
    if not kept:
      self._WaitUntilSync()

  def _SyncStep(self) -> tuple[tuple, str]:
    """A look at both nodes' DRBD resync (which waits a little for its end)."""
    return (("drbd_wait_sync", [self.source_uuid, self.target_uuid], (self._Disks(),)),
            "Cannot resync disks on node %s: %s")

  def _WaitUntilSync(self, along: tuple = (), first: Optional[dict] = None) -> None:
    """Waits (reporting progress) until both nodes' DRBD devices are in sync;
    the steps along go out with the first question, unless its (checked)
    answers are given as first."""
    self.feedback("* wait until resync is done")
    best, stalled_for, pause = -1.0, 0.0, _DRBD_SYNC_FIRST_POLL
    nodes = [self.source_uuid, self.target_uuid]
    while True:
      results = first or self._Together(list(along) + [self._SyncStep()])[-1]
      along, first = (), None
      answers = [results[uuid].payload for uuid in nodes]
      if all(done for done, _ in answers):
        return
      lowest = min(percent for _, percent in answers if percent is not None)
      if lowest < 100:
        self.feedback("   - progress: %.1f%%" % lowest)
      best, stalled_for = (lowest, 0.0) if lowest > best else (best, stalled_for + pause)
      if stalled_for >= _DRBD_SYNC_MAX_STALL:
        raise errors.OpExecError("Cannot resync disks: no progress in %d seconds" %
                                 stalled_for)
      instance_disks.Sleep(pause)
      pause = min(_DRBD_SYNC_POLL, pause * 2)

  def _SharedDisks(self) -> None:
    """Makes the disks usable on both nodes for the memory transfer."""
    if self.internal_mirror:
      # the target is normally secondary already: that is made sure of
      # first; its mirrors are connected (it was checked for degraded disks)
      self._SetDualMaster(True, via=self.target_uuid,
                          along=(self._SecondaryStep(self.target_uuid),))
    else:
      self._CloseDisks(self.target_uuid)
      self._OpenDisks(self.source_uuid, exclusive=False)
      self._OpenDisks(self.target_uuid, exclusive=False)

  def _ExclusiveSteps(self, other_uuid: str) -> list[tuple[tuple, str]]:
    """other_uuid's DRBD devices made secondary, two primaries no longer
    allowed (through other_uuid: see _SetDualMaster), and a first look at
    the resync."""
    secondary = self._SecondaryStep(other_uuid)
    self.feedback("* changing disks into single-master mode")
    return [secondary, self._DualMasterStep(False, [other_uuid]), self._SyncStep()]

  def _ExclusiveDisks(self, node_uuid: str, other_uuid: str,
                      tolerate_unsynced: bool = False,
                      switched: Optional[dict] = None) -> None:
    """Leaves the disks open on node_uuid alone (DRBD: the only primary).
    switched: the last answers to _ExclusiveSteps(other_uuid), when these
    were sent already."""
    if not self.internal_mirror:
      self._CloseDisks(other_uuid)
      self._OpenDisks(node_uuid, exclusive=True)
      return
    if not tolerate_unsynced:
      if switched is None:
        switched = self._Together(self._ExclusiveSteps(other_uuid))[-1]
      self._WaitUntilSync(first=switched)
      return
    # a failed switch fails, but a resync that does not end is gone on from
    self._Together([self._SecondaryStep(other_uuid)])
    try:
      self._WaitUntilSync()
      via: Optional[str] = other_uuid
    except errors.OpExecError:
      via = None
    self._SetDualMaster(False, via)

  def Exec(self, feedback_fn: Any) -> None:
    self.feedback = feedback_fn
    if self.failover:
      feedback_fn("Failover instance %s" % self.instance.name)
      self._Failover()
      return
    feedback_fn("Migrating instance %s" % self.instance.name)
    if self.cleanup:
      self._Cleanup()
    else:
      self._Migrate()

  def _Failover(self) -> None:
    inst, source, target = self.instance, self.source_uuid, self.target_uuid
    source_offline = self.cfg.GetNodeInfo(source).offline
    tolerant = getattr(self.op, "ignore_consistency", False) or source_offline
    if inst.disks_active:
      # externally mirrored disks are the same storage on both nodes: only
      # DRBD has a second copy that could lag behind
      self.feedback("* checking disk consistency between source and target")
      for disk in self._Degraded(target, self.target_mirrors):
        if source_offline:
          self.feedback("Node %s is offline, ignoring degraded disk %s on target node %s" %
                        (self._NodeName(source), disk.iv_name, self._NodeName(target)))
        elif not getattr(self.op, "ignore_consistency", False):
          raise errors.OpExecError("Disk %s is degraded on target node, aborting failover" %
                                   disk.iv_name)
    else:
      self.feedback("* not checking disk consistency as instance is not running")
    self.feedback("* shutting down instance on source node")
    # a migration falling back to failover has no timeout of its own
    timeout = getattr(self.op, "shutdown_timeout", constants.DEFAULT_SHUTDOWN_TIMEOUT)
    shutdown = ("instance_shutdown", source, (inst, timeout, self.op.reason))
    # healthy connected mirrors of a running instance only change roles: the
    # source's become secondary right after the shutdown (in the same send)
    # and the target's primary, with no teardown and no new handshake
    switch = (self.internal_mirror and inst.disks_active and not tolerant and
              inst.admin_state == constants.ADMINST_UP)
    result, *closed = self.rpc.CallTogether(
      [shutdown] + ([self._SecondaryStep(source)[0]] if switch else []))
    if result.fail_msg:
      if not tolerant:
        raise errors.OpExecError("Could not shutdown instance %s on node %s: %s" %
                                 (inst.name, self._NodeName(source), result.fail_msg))
      self.LogWarning("Could not shutdown instance %s on node %s, proceeding anyway;"
                      " please make sure node %s is down; error details: %s", inst.name,
                      self._NodeName(source), self._NodeName(source), result.fail_msg)
    if switch and not closed[0].fail_msg:
      self._SwitchRoles(inst, target)
      return
    if not self.internal_mirror:
      # DRBD devices stop being primary when they are shut down just below
      self._CloseDisks(source, tolerate=tolerant)
    self.feedback("* deactivating the instance's disks on source node")
    if not iu.ShutdownInstanceDisks(self, inst, ignore_primary=True):
      raise errors.OpExecError("Can't shut down the instance's disks")
    inst = self.instance = _SetPrimaryNode(self, inst, target)
    if inst.admin_state != constants.ADMINST_UP:
      return
    self.feedback("* activating the instance's disks on target node %s" %
                  self._NodeName(target))
    ok, _ = iu.AssembleInstanceDisks(self, inst, ignore_secondaries=True)
    if not ok:
      iu.ShutdownInstanceDisks(self, inst)
      raise errors.OpExecError("Can't activate the instance's disks")
    self._StartOnTarget(inst, target)

  def _SwitchRoles(self, inst: objects.Instance, target: str) -> None:
    """The failover of a running instance whose DRBD mirrors are connected
    and in sync, its source's made secondary: the target's become primary
    while the move is recorded, and the instance starts there."""
    self.feedback("* making the instance's disks primary on target node %s" %
                  self._NodeName(target))
    moved = _MovedTo(inst, target)
    disks = self.cfg.GetInstanceDisks(inst.uuid)
    results, inst = self.rpc.CallWhile(
      [("blockdev_assemble", target, ((disk, moved), moved, True, idx))
       for idx, disk in enumerate(disks)], lambda: _SetPrimaryNode(self, inst, target))
    self.instance = inst
    failed = [(disk, result) for disk, result in zip(disks, results) if result.fail_msg]
    for disk, result in failed:
      self.LogWarning("Could not make disk %s primary on node %s: %s", disk.iv_name,
                      self._NodeName(target), result.fail_msg)
    if failed:
      iu.ShutdownInstanceDisks(self, inst)
      raise errors.OpExecError("Can't activate the instance's disks")
    self._StartOnTarget(inst, target)

  def _StartOnTarget(self, inst: objects.Instance, target: str) -> None:
    self.feedback("* starting the instance on the target node %s" % self._NodeName(target))
    result = self.rpc.call_instance_start(target, (inst, None, None), False, self.op.reason)
    if result.fail_msg:
      iu.ShutdownInstanceDisks(self, inst)
      raise errors.OpExecError("Could not start instance %s on node %s: %s" %
                               (inst.name, self._NodeName(target), result.fail_msg))

  def _Cleanup(self) -> None:
    """After an interrupted migration: finds where the instance runs and makes
    the configuration and the disks agree with it."""
    inst, source, target = self.instance, self.source_uuid, self.target_uuid
    self.feedback("* checking where the instance actually runs (if this hangs, the"
                  " hypervisor might be in a bad state)")
    hvparams = self.cfg.GetClusterInfo().hvparams.get(inst.hypervisor, {})
    results = self.rpc.call_instance_list([source, target], [inst.hypervisor],
                                          {inst.hypervisor: hvparams})
    running_on = []
    for node_uuid in (source, target):
      results[node_uuid].Raise("Can't contact node %s" % self._NodeName(node_uuid))
      if inst.name in (results[node_uuid].payload or ()):
        running_on.append(node_uuid)
    self.feedback("* instance running on: %s" %
                  ", ".join(self._NodeName(uuid) for uuid in running_on))
    if len(running_on) == 2:
      raise errors.OpExecError("Instance seems to be running on two nodes, manual"
                               " intervention required")
    if not running_on:
      raise errors.OpExecError("Instance does not seem to be running at all; in this case"
                               " it's safer to repair by running 'gnt-instance stop' to"
                               " ensure disk shutdown, and then restarting it")
    if running_on == [target]:
      self.feedback("* instance running on secondary node (%s), updating config" %
                    self._NodeName(target))
      self.instance = _SetPrimaryNode(self, inst, target)
      self._ExclusiveDisks(target, source, tolerate_unsynced=True)
    else:
      self.feedback("* instance confirmed to be running on its primary node (%s)" %
                    self._NodeName(source))
      self._ExclusiveDisks(source, target, tolerate_unsynced=True)
    self.feedback("* done")

  def _Abort(self, info: str, live: bool) -> None:
    """Undoes a failed migration: the target forgets it, the source keeps the
    instance, and the disks are open on the source alone again."""
    inst, source, target = self.instance, self.source_uuid, self.target_uuid
    result = self.rpc.call_instance_finalize_migration_dst(target, inst, info, False)
    if result.fail_msg:
      self.LogWarning("Target node %s failed to abort the migration: %s",
                      self._NodeName(target), result.fail_msg)
    result = self.rpc.call_instance_finalize_migration_src(source, inst, False, live)
    if result.fail_msg:
      self.LogWarning("Source node %s failed to abort the migration: %s",
                      self._NodeName(source), result.fail_msg)
    try:
      self._ExclusiveDisks(source, target)
    except errors.OpExecError as err:
      self.LogWarning("Migration failed and I can't reconnect the drives, please try to"
                      " recover the instance manually: %s", err)

  def _Migrate(self) -> None:
    inst, source, target = self.instance, self.source_uuid, self.target_uuid
    live = self._Live()
    self.feedback("* checking disk consistency between source and target")
    degraded = self._Degraded(target, self.target_mirrors)
    if degraded:
      raise errors.OpExecError("Disk %s is degraded or not fully synchronized on target"
                               " node, aborting migration" % degraded[0].iv_name)
    result = self.source_info
    if self.balloon_to is not None:
      self.feedback("* setting instance memory to %s" % self.balloon_to)
      balloon = self.rpc.call_instance_balloon_memory(source, inst, self.balloon_to)
      balloon.Raise("Cannot modify instance runtime memory")
      # what the target is to start with changed
      result = self.rpc.call_migration_info(source, inst)
    result.Raise("Failed fetching source migration information from %s" %
                 self._NodeName(source))
    info = result.payload
    self._SharedDisks()
    self.feedback("* preparing %s to accept the instance" % self._NodeName(target))
    result = self.rpc.call_accept_instance(target, inst, info, self._NodeAddress(target))
    if result.fail_msg:
      self.LogWarning("Instance pre-migration failed, trying to revert disk status: %s",
                      result.fail_msg)
      self._Abort(info, live)
      raise errors.OpExecError("Could not pre-migrate instance %s: %s" %
                               (inst.name, result.fail_msg))
    self.feedback("* migrating instance to %s" % self._NodeName(target))
    result = self.rpc.call_instance_migrate(source, self.cfg.GetClusterName(), inst,
                                            self._NodeAddress(target), live)
    if result.fail_msg:
      self.LogWarning("Instance migration failed, trying to revert disk status: %s",
                      result.fail_msg)
      self._Abort(info, live)
      raise errors.OpExecError("Could not migrate instance %s: %s" %
                               (inst.name, result.fail_msg))
    self._WaitForMemoryTransfer(info, live)
    # the memory is on the target now: the source lets go of the instance
    # and the target takes it over while the move is recorded, which stands
    # whatever the nodes answer; a DRBD source's disks become secondary as
    # soon as its hypervisor let go of them, and the resync is looked at
    moved = _MovedTo(inst, target)
    handover = [("instance_finalize_migration_src", source, (inst, True, live)),
                ("instance_finalize_migration_dst", target, (moved, info, True))]
    disk_steps = self._ExclusiveSteps(source) if self.internal_mirror else []
    results, self.instance = self.rpc.CallWhile(
      handover + [call for call, _ in disk_steps], lambda: _SetPrimaryNode(self, inst, target))
    source_result, target_result = results[:2]
    source_result.Raise("Instance migration succeeded, but finalization failed on the"
                        " source node")
    target_result.Raise("Could not finalize instance migration")
    switched = self._Checked(disk_steps, results[2:])[-1] if disk_steps else None
    self._ExclusiveDisks(target, source, switched=switched)
    self.feedback("* done")

  def _WaitForMemoryTransfer(self, info: str, live: bool) -> None:
    self.feedback("* starting memory transfer")
    pause = _MIGRATION_POLL_FIRST
    last_feedback = None
    while True:
      asked = time.monotonic()
      result = self.rpc.call_instance_get_migration_status(self.source_uuid, self.instance)
      status = None if result.fail_msg else result.payload
      state = getattr(status, "status", None)
      if state is None or state in hv_base.HV_MIGRATION_FAILED_STATUSES:
        reason = result.fail_msg or "migration status is '%s'" % state
        self.LogWarning("Instance migration failed, trying to revert disk status: %s",
                        reason)
        self._Abort(info, live)
        raise errors.OpExecError("Could not migrate instance %s: %s" %
                                 (self.instance.name, reason))
      if state != hv_base.HV_MIGRATION_ACTIVE:
        break
      now = time.monotonic()
      if status.total_ram and (last_feedback is None or
                               now - last_feedback >= _MIGRATION_FEEDBACK_INTERVAL):
        last_feedback = now
        self.feedback("* memory transfer progress: %.2f %%" %
                      (100.0 * (status.transferred_ram or 0) / status.total_ram))
      # (a node that waited for the end itself has paused already)
      time.sleep(max(0.0, pause - (time.monotonic() - asked)))
      pause = min(2 * pause, _MIGRATION_POLL_INTERVAL)
    self.feedback("* memory transfer complete")


class LUInstanceFailover(_MigrationLU):
  HPATH = "instance-failover"
  FAILOVER = True

  def HookOverrides(self) -> dict[str, Any]:
    return {"IGNORE_CONSISTENCY": self.op.ignore_consistency,
            "SHUTDOWN_TIMEOUT": self.op.shutdown_timeout,
            "OLD_PRIMARY": self._NodeName(self.source_uuid),
            "NEW_PRIMARY": self._NodeName(self.target_uuid),
            "FAILOVER_CLEANUP": self.op.cleanup}


class LUInstanceMigrate(_MigrationLU):
  HPATH = "instance-migrate"

  def CheckArguments(self) -> None:
    super().CheckArguments()
    if self.op.live is not None and self.op.mode is not None:
      raise errors.OpPrereqError("Only one of the 'live' and 'mode' parameters are"
                                 " accepted", errors.ECODE_INVAL)

  def HookOverrides(self) -> dict[str, Any]:
    return {"MIGRATE_LIVE": self._Live(), "MIGRATE_CLEANUP": self.op.cleanup,
            "OLD_PRIMARY": self._NodeName(self.source_uuid),
            "NEW_PRIMARY": self._NodeName(self.target_uuid),
            "ALLOW_RUNTIME_CHANGES": self.op.allow_runtime_changes}


# --- move ---------------------------------------------------------------------

class LUInstanceMove(_InstanceLU):
  """Stops the instance, brings its disks to the target node and starts it
  there.  Disks holding data need a node-to-node copy (Ganeti's
  import/export daemons), which this cluster does not offer yet: only
  instances without disks can move."""

  HPATH = "instance-move"
  NODE_LEVELS = (locking.LEVEL_NODE, locking.LEVEL_NODE_RES)

  def ExpandNames(self) -> None:
    super().ExpandNames()
    self.target_uuid, self.op.target_node = ExpandNode(self.cfg, self.op.target_node,
                                                       self.op.target_node_uuid)
    self.op.target_node_uuid = self.target_uuid

  def DeclareLocks(self, level: int) -> None:
    if level in self.NODE_LEVELS:
      iu.DeclareInstanceNodeLocks(self, level)
      self.needed_locks[level] = sorted(set(self.needed_locks[level]) | {self.target_uuid})

  def CheckPrereq(self) -> None:
    super().CheckPrereq()
    inst = self.instance
    if inst.primary_node == self.target_uuid:
      raise errors.OpPrereqError("Instance %s is already on the node %s" %
                                 (inst.name, self.op.target_node), errors.ECODE_STATE)
    disks = self.cfg.GetInstanceDisks(inst.uuid)
    if disks:
      raise errors.OpPrereqError("Instance disk 0 has disk type %s and cannot be copied:"
                                 " this cluster has no node-to-node disk transfer yet" %
                                 disks[0].dev_type, errors.ECODE_STATE)
    _CheckTargetNode(self, self.target_uuid)
    _CheckTargetPolicy(self, inst, self.target_uuid, self.op.ignore_ipolicy)
    if inst.admin_state == constants.ADMINST_UP:
      bep = self.cfg.GetClusterInfo().FillBE(inst)
      iu.CheckNodeFreeMemory(self, self.target_uuid, "failing over instance %s" % inst.name,
                             bep[pd.BE_MAXMEM], inst.hypervisor)
    else:
      self.LogInfo("Not checking memory on the secondary node as instance will not be"
                   " started")
    nodes = self.hook_nodes[0] + [self.target_uuid]
    self.hook_nodes = (nodes, nodes)

  def HookOverrides(self) -> dict[str, Any]:
    return {"TARGET_NODE": self.op.target_node, "SHUTDOWN_TIMEOUT": self.op.shutdown_timeout}

  def Exec(self, feedback_fn: Any) -> None:
    inst = self.instance
    source = inst.primary_node
    source_name = self.cfg.GetNodeName(source)
    self.LogInfo("Shutting down instance %s on source node %s", inst.name, source_name)
    result = self.rpc.call_instance_shutdown(source, inst, self.op.shutdown_timeout,
                                             self.op.reason)
    if result.fail_msg:
      if not self.op.ignore_consistency:
        raise errors.OpExecError("Could not shutdown instance %s on node %s: %s" %
                                 (inst.name, source_name, result.fail_msg))
      self.LogWarning("Could not shutdown instance %s on node %s. Proceeding anyway."
                      " Please make sure node %s is down. Error details: %s", inst.name,
                      source_name, source_name, result.fail_msg)
    iu.ShutdownInstanceDisks(self, inst, ignore_primary=self.op.ignore_consistency)
    self.LogInfo("Removing the disks on the original node")
    if not iu.RemoveDisks(self, inst, ignore_failures=self.op.ignore_consistency):
      raise errors.OpExecError("Can't remove the instance's disks on node %s" % source_name)
    inst = self.instance = _SetPrimaryNode(self, inst, self.target_uuid)
    if inst.admin_state != constants.ADMINST_UP:
      return
    self.LogInfo("Starting instance %s on node %s", inst.name, self.op.target_node)
    ok, _ = iu.AssembleInstanceDisks(self, inst)
    if not ok:
      iu.ShutdownInstanceDisks(self, inst)
      raise errors.OpExecError("Can't activate the instance's disks")
    result = self.rpc.call_instance_start(self.target_uuid, (inst, None, None), False,
                                          self.op.reason)
    if result.fail_msg:
      iu.ShutdownInstanceDisks(self, inst)
      raise errors.OpExecError("Could not start instance %s on node %s: %s" %
                               (inst.name, self.op.target_node, result.fail_msg))


# --- whole nodes ------------------------------------------------------------------

class _NodeLU(LogicalUnit):
  """An LU acting on the instances of op.node_name; it only reads, then
  submits one job per instance."""

  HTYPE = constants.HTYPE_NODE
  REQ_BGL = False

  def ExpandNames(self) -> None:
    self.node_uuid, self.op.node_name = ExpandNode(self.cfg, self.op.node_name,
                                                   self.op.node_uuid)
    self.op.node_uuid = self.node_uuid
    self.ShareAll()
    self.needed_locks = {locking.LEVEL_NODE: [self.node_uuid]}

  def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
    return self.MasterNodeHooks()

  def _Primaries(self) -> list[objects.Instance]:
    primary, _ = self.cfg.GetNodeInstances(self.node_uuid)
    return sorted((inst for _, inst in self.cfg.GetMultiInstanceInfo(primary) if inst),
                  key=lambda inst: inst.name)

  def _Job(self, op_class: type, **params: Any) -> list:
    return [op_class(comment="Submitted by %s" % self.op.OP_ID, **params)]


class LUNodeMigrate(_NodeLU):
  HPATH = "node-migrate"

  def CheckArguments(self) -> None:
    _CheckIallocatorOrNode(self.op.iallocator, self.op.target_node)

  def ExpandNames(self) -> None:
    super().ExpandNames()
    if self.op.target_node:
      _, self.op.target_node = ExpandNode(self.cfg, self.op.target_node,
                                          self.op.target_node_uuid)

  def BuildHooksEnv(self) -> dict[str, Any]:
    return {"NODE_NAME": self.op.node_name,
            "ALLOW_RUNTIME_CHANGES": self.op.allow_runtime_changes}

  def Exec(self, feedback_fn: Any) -> ResultWithJobs:
    return ResultWithJobs([
      self._Job(opcodes.OpInstanceMigrate, instance_name=inst.name, mode=self.op.mode,
                live=self.op.live, iallocator=self.op.iallocator,
                target_node=self.op.target_node,
                allow_runtime_changes=self.op.allow_runtime_changes,
                ignore_ipolicy=self.op.ignore_ipolicy)
      for inst in self._Primaries()])


class LUNodeEvacuate(_NodeLU):
  """Moves the primary and/or secondary instances off a node.  Primary
  instances of externally mirrored templates migrate (falling back to
  failover) to nodes the allocator picks.  A DRBD instance whose primary is
  the node moves to its secondary, then gets a new secondary; one whose
  secondary is the node gets a new secondary (the given node or the
  allocator's choice)."""

  HPATH = "node-evacuate"

  def CheckArguments(self) -> None:
    _CheckIallocatorOrNode(self.op.iallocator, self.op.remote_node)
    if self.op.remote_node and self.op.mode != NODE_EVAC_SEC:
      raise errors.OpPrereqError("Without the use of an iallocator only secondary"
                                 " instances can be evacuated", errors.ECODE_INVAL)

  def ExpandNames(self) -> None:
    super().ExpandNames()
    self.remote_uuid = None
    if self.op.remote_node:
      self.remote_uuid, self.op.remote_node = ExpandNode(self.cfg, self.op.remote_node,
                                                         self.op.remote_node_uuid)
      self.op.remote_node_uuid = self.remote_uuid
      if self.remote_uuid == self.node_uuid:
        raise errors.OpPrereqError("Can not use evacuated node as a new secondary node",
                                   errors.ECODE_INVAL)
    # placing instances needs the free memory of every node
    self.needed_locks[locking.LEVEL_NODE] = locking.ALL_SET

  def CheckPrereq(self) -> None:
    if not self.op.remote_node:
      _IallocatorName(self, self.op.iallocator)  # refuses when there is none

  def BuildHooksEnv(self) -> dict[str, Any]:
    return {"NODE_NAME": self.op.node_name, "MODE": self.op.mode}

  def _Instances(self) -> list[objects.Instance]:
    primary, secondary = self.cfg.GetNodeInstances(self.node_uuid)
    chosen = {NODE_EVAC_PRI: primary, NODE_EVAC_SEC: secondary,
              NODE_EVAC_ALL: primary + secondary}[self.op.mode]
    return sorted((inst for _, inst in self.cfg.GetMultiInstanceInfo(chosen) if inst),
                  key=lambda inst: inst.name)

  def _FreeMemory(self, hvname: str) -> dict[str, int]:
    """Free memory of the nodes an evacuated instance may go to."""
    candidates = [node.uuid for node in self.cfg.GetAllNodesInfo().values()
                  if node.vm_capable and not node.offline and not node.drained
                  and node.uuid != self.node_uuid]
    hvparams = self.cfg.GetClusterInfo().hvparams.get(hvname, {})
    free = {}
    for uuid, result in self.rpc.call_node_info(candidates, [],
                                                [(hvname, hvparams)]).items():
      if not result.fail_msg and result.payload[2]:
        memory = result.payload[2][0].get("memory_free")
        if isinstance(memory, int):
          free[uuid] = memory
    return free

  def _MirrorMove(self, inst: objects.Instance) -> tuple[objects.Instance, str, list]:
    """(instance, new node uuid, opcodes) evacuating a DRBD instance."""
    replace = dict(mode=instance_replace_disks.REPLACE_NEW_SECONDARY,
                   early_release=self.op.early_release, instance_name=inst.name)
    if inst.primary_node != self.node_uuid and self.remote_uuid:
      return inst, self.remote_uuid, self._Job(opcodes.OpInstanceReplaceDisks,
                                               remote_node=self.op.remote_node, **replace)
    iallocator = _IallocatorName(self, self.op.iallocator)
    target = instance_replace_disks.RelocationTarget(self, inst, iallocator)
    ops = self._Job(opcodes.OpInstanceReplaceDisks, remote_node=self.cfg.GetNodeName(target),
                    **replace)
    if inst.primary_node == self.node_uuid:
      # the secondary takes over; the new secondary then replaces this node
      ops = self._Job(opcodes.OpInstanceMigrate, instance_name=inst.name,
                      allow_failover=True, allow_runtime_changes=False,
                      ignore_hvversions=True) + ops
    return inst, target, ops

  def _Place(self, instances: list[objects.Instance]
             ) -> tuple[list[tuple[objects.Instance, str, list]], list[tuple[str, str]]]:
    """(instance, target node uuid, opcodes) for each movable instance, and
    (name, reason) for the others.  Each placement of an externally mirrored
    instance uses up the target's memory."""
    moves, failed = [], []
    free_by_hv: dict[str, dict[str, int]] = {}
    cluster = self.cfg.GetClusterInfo()
    for inst in instances:
      template = self.cfg.GetInstanceDiskTemplate(inst.uuid)
      if template in constants.DTS_INT_MIRROR:
        try:
          moves.append(self._MirrorMove(inst))
        except errors.OpPrereqError as err:
          failed.append((inst.name, err.args[0]))
        continue
      if inst.primary_node != self.node_uuid or template not in constants.DTS_EXT_MIRROR:
        failed.append((inst.name, "Instances of type %s cannot be relocated" % template))
        continue
      free = free_by_hv.setdefault(inst.hypervisor, self._FreeMemory(inst.hypervisor))
      memory = cluster.FillBE(inst)[pd.BE_MAXMEM]
      # an instance that is not running needs no memory to move
      needed = memory if inst.admin_state == constants.ADMINST_UP else 0
      fitting = [uuid for uuid, amount in free.items() if amount >= needed]
      if not fitting:
        failed.append((inst.name, "No node has %s MiB of free memory" % needed))
        continue
      target = max(fitting, key=lambda uuid: (free[uuid], self.cfg.GetNodeName(uuid)))
      free[target] -= needed
      moves.append((inst, target, self._Job(
        opcodes.OpInstanceMigrate, instance_name=inst.name,
        target_node=self.cfg.GetNodeName(target), allow_failover=True,
        allow_runtime_changes=False, ignore_hvversions=True)))
    return moves, failed

  def Exec(self, feedback_fn: Any) -> ResultWithJobs:
    instances = self._Instances()
    if not instances:
      self.LogInfo("No instances to evacuate from node '%s'", self.op.node_name)
      return ResultWithJobs([])
    self.LogInfo("Evacuating instances from node '%s': %s", self.op.node_name,
                 ", ".join(inst.name for inst in instances))
    moves, failed = self._Place(instances)
    if failed:
      message = ("Unable to evacuate instances %s" %
                 ", ".join("%s (%s)" % item for item in failed))
      self.LogWarning(message)
      raise errors.OpExecError(message)
    self.LogInfo("Instances to be moved: %s",
                 ", ".join("%s (to %s)" % (inst.name, self.cfg.GetNodeName(target))
                           for inst, target, _ in moves))
    return ResultWithJobs([ops for _, _, ops in moves])
