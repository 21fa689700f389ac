"""Replacing the storage of DRBD disks ("gnt-instance replace-disks").

On the primary or the secondary (-p/-s, or -a for whichever has faulty
storage) the DRBD device gets new local LVs: new ones are made, the device
lets go of the old ones, the old LVs are renamed out of the way, the new
ones take their names and the device takes them; DRBD resynchronizes them
from the peer, then the old LVs are removed.  With a new secondary node
(-n/-I) the mirror half moves: new LVs and a DRBD device on the new node,
the primary disconnects from the old secondary and connects to the new one,
and after the resync the old secondary's devices are removed.
"""

import time
from typing import Any, Optional

from ganeti import constants
from ganeti import errors
from ganeti import locking
from ganeti import objects
from ganeti.cmdlib import iallocator as ia
from ganeti.cmdlib import instance_disks
from ganeti.cmdlib import instance_utils as iu
from ganeti.cmdlib.instance_ops import _InstanceLU
from ganeti.cmdlib.node import ExpandNode
from ganeti.storage.drbd import META_SIZE as DRBD_META_SIZE

REPLACE_AUTO = "replace_auto"
REPLACE_ON_SECONDARY = "replace_on_secondary"
REPLACE_ON_PRIMARY = "replace_on_primary"
REPLACE_NEW_SECONDARY = "replace_new_secondary"

_STEPS_TOTAL = 6


def RelocationTarget(lu: Any, inst: objects.Instance, iallocator: Optional[str]) -> str:
  """The new secondary node the allocator picks for a DRBD instance (never
  one of its current nodes)."""
  cfg = lu.cfg
  name = ia.ResolveName(cfg, iallocator)
  current = list(cfg.GetInstanceNodes(inst.uuid))
  request = ia.RelocateRequest(cfg, inst.uuid, current[1:])
  (uuid,), _ = ia.ChooseNodes(cfg, lu.rpc, name, request,
                               exclude=cfg.GetNodeNames(current))
  return uuid


class _Replacement:
  """One disk being replaced: the disk, its old LVs and the new ones."""

  def __init__(self, disk: objects.Disk, old_lvs: list[objects.Disk],
               new_lvs: list[objects.Disk]) -> None:
    self.disk = disk
    self.old_lvs = old_lvs
    self.new_lvs = new_lvs


class LUInstanceReplaceDisks(_InstanceLU):
  """Replaces the storage of a DRBD instance's disks on one of its nodes, or
  moves their secondary half to a new node."""

  HPATH = "mirrors-replace"
  NODE_LEVELS = (locking.LEVEL_NODE, locking.LEVEL_NODE_RES)

  def CheckArguments(self) -> None:
    op = self.op
    if op.mode == REPLACE_NEW_SECONDARY:
      if op.remote_node and op.iallocator:
        raise errors.OpPrereqError("Give either the iallocator or the new secondary,"
                                   " not both", errors.ECODE_INVAL)
      if not (op.remote_node or op.iallocator):
        raise errors.OpPrereqError("When changing the secondary either an iallocator"
                                   " script must be used or the new node given",
                                   errors.ECODE_INVAL)
    elif op.remote_node or op.iallocator:
      raise errors.OpPrereqError("The iallocator and new node options can only be used"
                                 " when changing the secondary node", errors.ECODE_INVAL)

  def ExpandNames(self) -> None:
    super().ExpandNames()
    self.new_node_uuid: Optional[str] = None
    if self.op.remote_node:
      self.new_node_uuid, self.op.remote_node = ExpandNode(self.cfg, self.op.remote_node,
                                                           self.op.remote_node_uuid)
      self.op.remote_node_uuid = self.new_node_uuid

  def DeclareLocks(self, level: int) -> None:
    if level not in self.NODE_LEVELS:
      return
    if self.op.iallocator:
      # the new secondary is only known once the allocator answered
      self.needed_locks[level] = locking.ALL_SET
      return
    iu.DeclareInstanceNodeLocks(self, level)
    if self.new_node_uuid:
      self.needed_locks[level] = sorted(set(self.needed_locks[level]) |
                                        {self.new_node_uuid})

  # --- checks ----------------------------------------------------------------------

  def CheckPrereq(self) -> None:
    super().CheckPrereq()
    inst = self.instance
    cfg = self.cfg
    secondaries = cfg.GetInstanceSecondaryNodes(inst.uuid)
    if len(secondaries) != 1:
      raise errors.OpPrereqError("The instance has a strange layout, expected one secondary"
                                 " but found %d" % len(secondaries), errors.ECODE_FAULT)
    if cfg.GetInstanceDiskTemplate(inst.uuid) != constants.DT_DRBD8:
      raise errors.OpPrereqError("Can only run replace disks for DRBD8-based instances",
                                 errors.ECODE_INVAL)
    self.old_secondary = secondaries[0]
    disk_count = len(cfg.GetInstanceDisks(inst.uuid))
    for idx in self.op.disks or ():
      if not 0 <= idx < disk_count:
        raise errors.OpPrereqError("Disk index %s out of range (instance has %d disks)" %
                                   (idx, disk_count), errors.ECODE_INVAL)
    self.indices = sorted(set(self.op.disks or range(disk_count)))
    mode = self.op.mode
    if mode == REPLACE_NEW_SECONDARY:
      self._CheckNewSecondary()
      self.target_uuid, self.other_uuid = self.old_secondary, inst.primary_node
    elif mode == REPLACE_ON_PRIMARY:
      self.target_uuid, self.other_uuid = inst.primary_node, self.old_secondary
    elif mode == REPLACE_ON_SECONDARY:
      self.target_uuid, self.other_uuid = self.old_secondary, inst.primary_node
    else:
      self._ChooseFaultyNode()
    # a new secondary replaces the old one, which may be gone for good (offline)
    if mode == REPLACE_NEW_SECONDARY:
      touched = (self.other_uuid, self.new_node_uuid)
    else:
      touched = (self.target_uuid, self.other_uuid)
    for node_uuid in touched:
      if node_uuid is not None and self.indices:
        iu.CheckNodeOnline(self, node_uuid)

  def _CheckNewSecondary(self) -> None:
    inst = self.instance
    if self.op.iallocator:
      self.new_node_uuid = self._RelocationTarget()
      self.op.remote_node = self.cfg.GetNodeName(self.new_node_uuid)
    if self.new_node_uuid == inst.primary_node:
      raise errors.OpPrereqError("The specified node is the primary node of the instance",
                                 errors.ECODE_INVAL)
    if self.new_node_uuid == self.old_secondary:
      raise errors.OpPrereqError("The specified node is already the secondary node of the"
                                 " instance", errors.ECODE_INVAL)
    iu.CheckNodeNotDrained(self, self.new_node_uuid)
    iu.CheckNodeVmCapable(self, self.new_node_uuid)

  def _RelocationTarget(self) -> str:
    uuid = RelocationTarget(self, self.instance, self.op.iallocator)
    self.LogInfo("Selected new secondary for instance '%s': %s", self.instance.name,
                 self.cfg.GetNodeName(uuid))
    return uuid

  def _FaultyDisks(self, node_uuid: str) -> list[int]:
    """Indices of the disks whose local storage on the node is faulty."""
    if self.cfg.GetNodeInfo(node_uuid).offline:
      return []
    return instance_disks.FaultyDisks(self, self.instance, node_uuid)

  def _ChooseFaultyNode(self) -> None:
    """-a: replaces the faulty disks of whichever node has some."""
    inst = self.instance
    on_primary = self._FaultyDisks(inst.primary_node)
    on_secondary = self._FaultyDisks(self.old_secondary)
    if on_primary and on_secondary:
      raise errors.OpPrereqError("Instance %s has faulty disks on more than one node;"
                                 " need to manually fix" % inst.name, errors.ECODE_STATE)
    self.target_uuid, self.other_uuid = inst.primary_node, self.old_secondary
    if on_primary:
      self.indices = on_primary
      self.op.mode = REPLACE_ON_PRIMARY
    elif on_secondary:
      self.indices = on_secondary
      self.target_uuid, self.other_uuid = self.other_uuid, self.target_uuid
      self.op.mode = REPLACE_ON_SECONDARY
    else:
      self.indices = []

  def HookOverrides(self) -> dict[str, Any]:
    return {"MODE": self.op.mode, "NEW_SECONDARY": self.op.remote_node or "",
            "OLD_SECONDARY": self.cfg.GetNodeName(self.old_secondary)}

  def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
    nodes = list(self.hook_nodes[0])
    if self.new_node_uuid and self.new_node_uuid not in nodes:
      nodes.append(self.new_node_uuid)
    return nodes, nodes

  # --- helpers ---------------------------------------------------------------------

  def _Disks(self) -> list[tuple[int, objects.Disk]]:
    disks = self.cfg.GetInstanceDisks(self.instance.uuid)
    return [(idx, disks[idx]) for idx in self.indices]

  def _NodeName(self, node_uuid: str) -> str:
    return self.cfg.GetNodeName(node_uuid)

  def _CheckStorage(self, disk_nodes: list[str], vg_nodes: list[str]) -> None:
    """The instance's disks exist on disk_nodes, its volume groups on
    vg_nodes; all nodes are asked at once."""
    finds = [(idx, disk, node_uuid) for idx, disk in self._Disks() for node_uuid in disk_nodes]
    for idx, _, node_uuid in finds:
      self.LogInfo("Checking disk/%d on %s", idx, self._NodeName(node_uuid))
    *found, answers = self.rpc.CallTogether(
      [("blockdev_find", node_uuid, ((disk, self.instance),)) for _, disk, node_uuid in finds] +
      [("vg_list", vg_nodes, ())])
    for (idx, _, node_uuid), result in zip(finds, found):
      if not result.fail_msg and result.payload:
        continue
      hint = ("" if self.instance.disks_active else
              "\nDisks seem to be not properly activated. Try running activate-disks on"
              " the instance before using replace-disks.")
      raise errors.OpExecError("Can't find disk/%d on node %s: %s%s" %
                               (idx, self._NodeName(node_uuid),
                                result.fail_msg or "disk not found", hint))
    needed = sorted({lv.logical_id[0] for _, disk in self._Disks() for lv in disk.children})
    for node_uuid in vg_nodes:
      result = answers[node_uuid]
      result.Raise("Error checking node %s" % self._NodeName(node_uuid))
      for vg in needed:
        if vg not in (result.payload or {}):
          raise errors.OpExecError("Volume group '%s' not found on node %s" %
                                   (vg, self._NodeName(node_uuid)))

  def _CheckPeerConsistent(self, node_uuid: str, on_primary: bool, ldisk: bool) -> None:
    for idx, disk in self._Disks():
      self.LogInfo("Checking disk/%d consistency on node %s", idx, self._NodeName(node_uuid))
      if not instance_disks.DiskConsistent(self, self.instance, disk, node_uuid, on_primary,
                                           ldisk=ldisk):
        raise errors.OpExecError("Node %s has degraded storage, unsafe to replace disks for"
                                 " instance %s" % (self._NodeName(node_uuid),
                                                   self.instance.name))

  def _CheckMirrorsHealthy(self, replacements: list[_Replacement]) -> None:
    """After the resync: every replaced disk is present and not degraded."""
    for item in replacements:
      result = self.rpc.call_blockdev_find(self.instance.primary_node,
                                           (item.disk, self.instance))
      if result.fail_msg or not result.payload:
        raise errors.OpExecError("Can't find DRBD device %s: %s" %
                                 (item.disk.iv_name, result.fail_msg or "disk not found"))
      if result.payload.is_degraded:
        raise errors.OpExecError("DRBD device %s is degraded!" % item.disk.iv_name)

  def _RemoveOldStorage(self, node_uuid: str, replacements: list[_Replacement]) -> None:
    for item in replacements:
      self.LogInfo("Remove logical volumes for %s", item.disk.iv_name)
    old_lvs = [lv for item in replacements for lv in item.old_lvs]
    results = self.rpc.CallTogether([("blockdev_remove", node_uuid, ((lv, self.instance),))
                                     for lv in old_lvs])
    for result in results:
      if result.fail_msg:
        self.LogWarning("Can't remove old LV: %s", result.fail_msg,
                        hint="remove unused LVs manually")

  def _SyncAndCleanUp(self, old_node: str, replacements: list[_Replacement],
                      step: int) -> None:
    """The last steps: resync, check, remove the old storage (before the resync
    with --early-release)."""
    if self.op.early_release:
      self.LogStep(step, _STEPS_TOTAL, "Removing old storage")
      self._RemoveOldStorage(old_node, replacements)
      step += 1
    self.LogStep(step, _STEPS_TOTAL, "Sync devices")
    instance_disks.WaitForSync(self, self.instance)
    self._CheckMirrorsHealthy(replacements)
    if not self.op.early_release:
      self.LogStep(step + 1, _STEPS_TOTAL, "Removing old storage")
      self._RemoveOldStorage(old_node, replacements)

  # --- execution -------------------------------------------------------------------

  def Exec(self, feedback_fn: Any) -> None:
    inst = self.instance
    if not self.indices:
      feedback_fn("No disks need replacement for instance '%s'" % inst.name)
      return
    feedback_fn("Replacing disk(s) %s for instance '%s'" %
                (", ".join(str(idx) for idx in self.indices), inst.name))
    feedback_fn("Current primary node: %s" % self._NodeName(inst.primary_node))
    feedback_fn("Current secondary node: %s" % self._NodeName(self.old_secondary))
    if self.new_node_uuid:
      feedback_fn("New secondary node: %s" % self._NodeName(self.new_node_uuid))
    activated = not inst.disks_active
    if activated:
      iu.StartInstanceDisks(self, inst, force=True)
      self.instance = inst = self.cfg.GetInstanceInfo(inst.uuid)
    try:
      if self.new_node_uuid:
        self._ReplaceSecondaryNode()
      else:
        self._ReplaceLocalStorage()
    finally:
      if activated:
        iu.ShutdownInstanceDisks(self, self.cfg.GetInstanceInfo(inst.uuid))

  def _NewLvs(self, node_uuid: str, idx: int, disk: objects.Disk) -> list[objects.Disk]:
    data, meta = disk.children
    prefix, = instance_disks.UniqueLvPrefixes(self, [idx])
    nodes = list(disk.nodes)
    return [instance_disks.NewLv(self, data.logical_id[0], prefix + "_data", disk.size,
                                 nodes, data.spindles),
            instance_disks.NewLv(self, meta.logical_id[0], prefix + "_meta", DRBD_META_SIZE,
                                 nodes)]

  def _ReplaceLocalStorage(self) -> None:
    """-p/-s/-a: new LVs under the DRBD devices of the target node."""
    target, other = self.target_uuid, self.other_uuid
    inst = self.instance
    target_name = self._NodeName(target)
    self.LogStep(1, _STEPS_TOTAL, "Check device existence")
    self._CheckStorage([other, target], [target, other])
    self.LogStep(2, _STEPS_TOTAL, "Check peer consistency")
    self._CheckPeerConsistent(other, other == inst.primary_node, False)
    self.LogStep(3, _STEPS_TOTAL, "Allocate new storage")
    replacements = []
    for idx, disk in self._Disks():
      self.LogInfo("Adding storage on %s for disk/%d", target_name, idx)
      new_lvs = self._NewLvs(target, idx, disk)
      instance_disks.CreateDevicesOn(self, inst, target, new_lvs)
      replacements.append(_Replacement(disk, [lv.Copy() for lv in disk.children], new_lvs))
    self.LogStep(4, _STEPS_TOTAL, "Changing drbd configuration")
    for item in replacements:
      self._SwapLocalStorage(target, item)
    self._SyncAndCleanUp(target, replacements, 5)

  def _SwapLocalStorage(self, node_uuid: str, item: _Replacement) -> None:
    """Detaches the old LVs, gives the new LVs their names and attaches them."""
    inst = self.instance
    node_name = self._NodeName(node_uuid)
    disk = item.disk
    self.LogInfo("Detaching %s drbd from local storage", disk.iv_name)
    # which of the old LVs are there is asked right after the detach
    detach = ("blockdev_removechildren", node_uuid, ((disk, inst), (item.old_lvs, inst)))
    present, (result,) = instance_disks.PresentDevices(self, inst, node_uuid, item.old_lvs,
                                                       before=(detach,))
    result.Raise("Can't detach drbd from local storage on node %s for device %s" %
                 (node_name, disk.iv_name))
    suffix = "_replaced-%d" % int(time.time())
    self.LogInfo("Renaming the old LVs on the target node")
    result = self.rpc.call_blockdev_rename(node_uuid, [
      (lv, [lv.logical_id[0], lv.logical_id[1] + suffix]) for lv in present])
    result.Raise("Can't rename old LVs on node %s" % node_name)
    self.LogInfo("Renaming the new LVs on the target node")
    result = self.rpc.call_blockdev_rename(node_uuid, [
      (new, list(old.logical_id)) for old, new in zip(item.old_lvs, item.new_lvs)])
    result.Raise("Can't rename new LVs on node %s" % node_name)
    for old, new in zip(item.old_lvs, item.new_lvs):
      new.logical_id = list(old.logical_id)
      old.logical_id = [old.logical_id[0], old.logical_id[1] + suffix]
    self.LogInfo("Adding new mirror component on %s", node_name)
    result = self.rpc.call_blockdev_addchildren(node_uuid, (disk, inst), (item.new_lvs, inst))
    if result.fail_msg:
      for lv in item.new_lvs:
        undo = self.rpc.call_blockdev_remove(node_uuid, (lv, inst))
        if undo.fail_msg:
          self.LogWarning("Can't rollback device %s: %s", disk.iv_name, undo.fail_msg,
                          hint="cleanup manually the unused logical volumes")
      raise errors.OpExecError("Can't add local storage to drbd: %s" % result.fail_msg)

  def _ReplaceSecondaryNode(self) -> None:
    """-n/-I: the DRBD disks get their secondary half on the new node."""
    inst = self.instance
    pnode, new_node, old_node = inst.primary_node, self.new_node_uuid, self.old_secondary
    new_name = self._NodeName(new_node)
    self.LogStep(1, _STEPS_TOTAL, "Check device existence")
    self._CheckStorage([pnode], [new_node])
    self.LogStep(2, _STEPS_TOTAL, "Check peer consistency")
    self._CheckPeerConsistent(pnode, True, True)
    self.LogStep(3, _STEPS_TOTAL, "Allocate new storage")
    created: list[tuple[str, objects.Disk]] = []
    replacements = []
    try:
      for idx, disk in self._Disks():
        self.LogInfo("Adding new local storage on %s for disk/%d", new_name, idx)
        instance_disks.CreateDevicesOn(self, inst, new_node, list(disk.children))
        created.extend((new_node, lv) for lv in disk.children)
      self.LogStep(4, _STEPS_TOTAL, "Changing drbd configuration")
      for idx, disk in self._Disks():
        replacements.append(self._NewSecondaryDevice(idx, disk, created))
      self._DetachOldSecondary(replacements)
    except errors.OpExecError:
      instance_disks.UndoCreation(self, inst, created)
      for item in replacements:
        self.cfg.ReleaseDRBDMinors(item.disk.uuid, self.proc.GetECId())
      raise
    self._SwitchConfiguration(replacements)
    self.LogInfo("Attaching primary drbds to new secondary (standalone => connected)")
    disks = self.cfg.GetInstanceDisks(inst.uuid)
    # one node after the other: see instance_migration's reconnection
    for node_uuid in (pnode, new_node):
      result = self.rpc.call_drbd_attach_net([node_uuid], (disks, inst), False)[node_uuid]
      if result.fail_msg:
        self.LogWarning("Can't attach drbd disks on node %s: %s", self._NodeName(node_uuid),
                        result.fail_msg,
                        hint="please do a gnt-instance info to see the status of disks")
    self._SyncAndCleanUp(old_node, replacements, 5)

  def _NewSecondaryDevice(self, idx: int, disk: objects.Disk,
                          created: list[tuple[str, objects.Disk]]) -> _Replacement:
    """Sets up a DRBD device without network on the new node, over its new LVs;
    the returned replacement carries the disk as it will be configured."""
    inst = self.instance
    new_node = self.new_node_uuid
    minor, = self.cfg.AllocateDRBDMinor([new_node], disk.uuid, self.proc.GetECId())
    node1, _, port, minor1, minor2, secret = disk.logical_id
    primary_minor = minor1 if node1 == inst.primary_node else minor2
    self.LogInfo("activating a new drbd on %s for disk/%d", self._NodeName(new_node), idx)
    standalone = objects.Disk(dev_type=constants.DT_DRBD8, size=disk.size, params={},
                              logical_id=[inst.primary_node, new_node, None, primary_minor,
                                          minor, secret],
                              children=disk.children, nodes=[inst.primary_node, new_node],
                              iv_name=disk.iv_name, uuid=disk.uuid)
    instance_disks.CreateDevicesOn(self, inst, new_node, [standalone])
    created.append((new_node, standalone))
    moved = disk.Copy()
    moved.logical_id = [inst.primary_node, new_node, port, primary_minor, minor, secret]
    moved.nodes = [inst.primary_node, new_node]
    for child in moved.children:
      child.nodes = list(moved.nodes)
    return _Replacement(moved, [lv.Copy() for lv in disk.children], [])

  def _DetachOldSecondary(self, replacements: list[_Replacement]) -> None:
    """Shuts the old secondary's devices down and takes the primary's off the
    network."""
    inst = self.instance
    for item in replacements:
      self.LogInfo("Shutting down drbd for %s on old node", item.disk.iv_name)
    self.LogInfo("Detaching primary drbds from the network (=> standalone)")
    # both ends at once: either order ends with the primary alone
    disks = self.cfg.GetInstanceDisks(inst.uuid)
    *shutdowns, detached = self.rpc.CallTogether(
      [("blockdev_shutdown", self.old_secondary, ((self.cfg.GetDiskInfo(item.disk.uuid), inst),))
       for item in replacements] +
      [("drbd_disconnect_net", [inst.primary_node], ((disks, inst),))])
    for item, result in zip(replacements, shutdowns):
      if result.fail_msg:
        self.LogWarning("Failed to shutdown drbd for %s on old node: %s", item.disk.iv_name,
                        result.fail_msg,
                        hint="Please cleanup this device manually as soon as possible")
    result = detached[inst.primary_node]
    if result.fail_msg:
      raise errors.OpExecError("Can't detach the disks from the network on old node: %s" %
                               result.fail_msg)

  def _SwitchConfiguration(self, replacements: list[_Replacement]) -> None:
    """Points the disks at the new secondary; their old LVs (same names) stay
    on the old secondary until removed."""
    self.LogInfo("Updating instance configuration")
    for item in replacements:
      current = self.cfg.GetDiskInfo(item.disk.uuid)
      current.logical_id = item.disk.logical_id
      current.nodes = item.disk.nodes
      current.children = item.disk.children
      self.cfg.Update(current)
      item.disk = current
    self.instance = self.cfg.GetInstanceInfo(self.instance.uuid)
