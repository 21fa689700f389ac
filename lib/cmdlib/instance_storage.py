"""An instance's storage: growing and re-creating disks, and moving the
instance to another node group (replacing mirrors: instance_replace_disks)."""

from typing import Any

from ganeti import constants
from ganeti import errors
from ganeti import locking
from ganeti import objects
from ganeti import opcodes
from ganeti import paramdefs as pd
from ganeti.utils.text import FormatUnit
from ganeti.cmdlib import allocation
from ganeti.cmdlib import instance_disks
from ganeti.cmdlib import instance_replace_disks
from ganeti.cmdlib import instance_utils as iu
from ganeti.cmdlib import ipolicy
from ganeti.cmdlib.base import CheckNodeUuidsExist, ResultWithJobs
from ganeti.cmdlib.instance_ops import _InstanceLU
from ganeti.cmdlib.instance_set_params import TypedParams
from ganeti.storage import filestorage

# disk parameters "recreate-disks --disk N:..." may change
_RECREATE_PARAMS = frozenset([pd.IDISK_SIZE, pd.IDISK_MODE, pd.IDISK_SPINDLES,
                              pd.IDISK_VG, pd.IDISK_METAVG, pd.IDISK_PROVIDER])
_GROWABLE = frozenset([constants.DT_PLAIN, constants.DT_DRBD8, constants.DT_FILE,
                       constants.DT_SHARED_FILE, constants.DT_GLUSTER, constants.DT_RBD,
                       constants.DT_EXT])


class LUInstanceGrowDisk(_InstanceLU):
  """Grows one disk of an instance by an amount (or to an absolute size)."""

  HPATH = "disk-grow"
  NODE_LEVELS = (locking.LEVEL_NODE, locking.LEVEL_NODE_RES)

  def CheckPrereq(self) -> None:
    super().CheckPrereq()
    inst = self.instance
    op = self.op
    disks = self.cfg.GetInstanceDisks(inst.uuid)
    if not 0 <= op.disk < len(disks):
      raise errors.OpPrereqError("Invalid disk index: %s (instace has disks 0 to %d" %
                                 (op.disk, len(disks) - 1), errors.ECODE_INVAL)
    self.disk = disk = disks[op.disk]
    for node_uuid in disk.nodes or [inst.primary_node]:
      iu.CheckNodeOnline(self, node_uuid)
    if disk.dev_type not in _GROWABLE:
      raise errors.OpPrereqError("Instance's disk layout does not support growing",
                                 errors.ECODE_INVAL)
    if op.absolute:
      self.target = op.amount
      self.delta = op.amount - disk.size
      if self.delta < 0:
        raise errors.OpPrereqError("Requested size (%s) is smaller than current disk size"
                                   " (%s)" % (FormatUnit(op.amount, "h"),
                                              FormatUnit(disk.size, "h")),
                                   errors.ECODE_STATE)
    else:
      self.delta = op.amount
      self.target = disk.size + op.amount
    self._CheckPolicy([self.target if idx == op.disk else other.size
                       for idx, other in enumerate(disks)])
    if disk.dev_type in instance_disks.LVM_TEMPLATES and self.delta:
      data_lv = disk.children[0] if disk.dev_type == constants.DT_DRBD8 else disk
      instance_disks.CheckFreeSpace(self, list(disk.nodes),
                                    {data_lv.logical_id[0]: self.delta})

  def _CheckPolicy(self, sizes: list[int]) -> None:
    group = self.cfg.GetNodeGroup(self.cfg.GetNodeInfo(self.instance.primary_node).group)
    policy = self.cfg.GetClusterInfo().FillIPolicy(group)
    violations = ipolicy.SpecViolations(policy, {pd.ISPEC_DISK_SIZE: sizes}, None)
    if not violations:
      return
    message = "Growing disk %s violates policy: %s" % (self.op.disk, "; ".join(violations))
    if self.op.ignore_ipolicy:
      self.LogWarning(message)
    else:
      raise errors.OpPrereqError(message, errors.ECODE_INVAL)

  def HookOverrides(self) -> dict[str, Any]:
    return {"DISK": self.op.disk, "AMOUNT": self.op.amount, "ABSOLUTE": self.op.absolute}

  def _Grow(self, dryrun: bool) -> None:
    """One pass of the grow protocol: every node's backing store, then the
    primary's logical device."""
    inst = self.instance
    disk = self.disk
    nodes = list(disk.nodes or [inst.primary_node])
    what = "Dry-run grow request" if dryrun else "Grow request"
    for node_uuid, backingstore in ([(uuid, True) for uuid in nodes] +
                                    [(inst.primary_node, False)]):
      result = self.rpc.call_blockdev_grow(node_uuid, (disk, inst), self.delta, dryrun,
                                           backingstore, False)
      result.Raise("%s failed to node %s" % (what, self.cfg.GetNodeName(node_uuid)))

  def Exec(self, feedback_fn: Any) -> None:
    inst = self.instance
    feedback_fn("Growing disk %s of instance '%s' by %s to %s" %
                (self.op.disk, inst.name, FormatUnit(self.delta, "h"),
                 FormatUnit(self.target, "h")))
    was_active = inst.disks_active
    if not was_active:
      ok, _ = iu.AssembleInstanceDisks(self, inst)
      if not ok:
        raise errors.OpExecError("Cannot activate block device to grow")
    try:
      self._Grow(True)
      self._Grow(False)
      disk = self.cfg.GetDiskInfo(self.disk.uuid).Copy()
      disk.RecordGrow(self.delta)
      self.cfg.Update(disk, feedback_fn)
      # a mirror resyncs the added space while its devices are still active
      if self.op.wait_for_sync and not instance_disks.WaitForSync(
          self, self.cfg.GetInstanceInfo(inst.uuid), [self.cfg.GetDiskInfo(disk.uuid)]):
        self.LogWarning("Disk syncing has not returned a good status; check the instance")
    finally:
      if not was_active:
        iu.ShutdownInstanceDisks(self, self.cfg.GetInstanceInfo(inst.uuid))


class LUInstanceRecreateDisks(_InstanceLU):
  """Creates an instance's disks again (optionally resized or on other nodes)."""

  HPATH = "instance-recreate-disks"
  NODE_LEVELS = (locking.LEVEL_NODE, locking.LEVEL_NODE_RES)

  def CheckArguments(self) -> None:
    op = self.op
    if op.nodes and op.iallocator:
      raise errors.OpPrereqError("Give either the iallocator or the new nodes, not both",
                                 errors.ECODE_INVAL)
    self.disk_changes: dict[int, dict] = {}
    for item in op.disks or []:
      idx, params = (item, {}) if isinstance(item, int) else item
      params = TypedParams(params, pd.IDISK_PARAMS_TYPES)
      unsupported = sorted(set(params) - _RECREATE_PARAMS)
      if unsupported:
        raise errors.OpPrereqError("Parameters for disk %s try to change unmodifiable"
                                   " parameter(s): %s" % (idx, ", ".join(unsupported)),
                                   errors.ECODE_INVAL)
      if idx in self.disk_changes:
        raise errors.OpPrereqError("Disk %s specified more than once" % idx,
                                   errors.ECODE_INVAL)
      self.disk_changes[idx] = params

  def ExpandNames(self) -> None:
    super().ExpandNames()
    if self.op.nodes or self.op.iallocator:
      # the new nodes are only known after the iallocator ran
      self.needed_locks[locking.LEVEL_NODE] = locking.ALL_SET
      self.needed_locks[locking.LEVEL_NODE_RES] = locking.ALL_SET

  def CheckPrereq(self) -> None:
    super().CheckPrereq()
    inst = self.instance
    op = self.op
    disks = self.cfg.GetInstanceDisks(inst.uuid)
    if not disks:
      raise errors.OpPrereqError("Instance '%s' has no disks" % inst.name,
                                 errors.ECODE_INVAL)
    old_nodes = list(self.cfg.GetInstanceNodes(inst.uuid))
    self.new_nodes = None
    if op.nodes:
      self.new_nodes = CheckNodeUuidsExist(self.cfg, op.nodes)
      if len(self.new_nodes) != len(old_nodes):
        raise errors.OpPrereqError("Instance %s currently has %d nodes, but %d replacement"
                                   " nodes were specified" %
                                   (inst.name, len(old_nodes), len(self.new_nodes)),
                                   errors.ECODE_INVAL)
    if (self.new_nodes or op.iallocator) and self.disk_changes:
      raise errors.OpPrereqError("Can't recreate disks partially and change the nodes at"
                                 " the same time", errors.ECODE_INVAL)
    if inst.admin_state == constants.ADMINST_UP:
      raise errors.OpPrereqError("Instance '%s' is marked to be up, cannot recreate disks" %
                                 inst.name, errors.ECODE_STATE)
    for idx in self.disk_changes:
      if not 0 <= idx < len(disks):
        raise errors.OpPrereqError("Invalid disk index '%s'" % idx, errors.ECODE_INVAL)
    if op.iallocator:
      cluster = self.cfg.GetClusterInfo()
      self.new_nodes = allocation.PickNodes(self, op.iallocator, cluster.FillBE(inst),
                                            inst.hypervisor)
    for node_uuid in self.new_nodes or old_nodes:
      iu.CheckNodeOnline(self, node_uuid)
    if self.new_nodes == old_nodes:
      self.new_nodes = None
    self.indices = sorted(self.disk_changes) or list(range(len(disks)))

  def Exec(self, feedback_fn: Any) -> None:
    inst = self.instance
    if self.new_nodes is not None:
      self.LogWarning("Changing the instance's nodes, you will have to remove any disks"
                      " left on the older nodes manually")
      self.cfg.SetInstancePrimaryNode(inst.uuid, self.new_nodes[0])
    for idx in self.indices:
      disk = self.cfg.GetInstanceDisks(inst.uuid)[idx].Copy()
      _ApplyRecreateChanges(disk, self.disk_changes.get(idx, {}))
      if self.new_nodes is not None:
        self._MoveDisk(disk)
      self.cfg.Update(disk, feedback_fn)
    inst = self.cfg.GetInstanceInfo(inst.uuid)
    disks = self.cfg.GetInstanceDisks(inst.uuid)
    for idx in self.indices:
      disk = disks[idx]
      if disk.dev_type in instance_disks.LVM_TEMPLATES:
        instance_disks.CreateDisks(self, inst, [disk])
        continue
      for node_uuid in disk.nodes or [inst.primary_node]:
        node_name = self.cfg.GetNodeName(node_uuid)
        if disk.dev_type in (constants.DT_FILE, constants.DT_SHARED_FILE):
          directory = filestorage.DiskFileDir(disk.logical_id)
          result = self.rpc.call_file_storage_dir_create(node_uuid, directory)
          result.Raise("Failed to create directory '%s' on node %s" % (directory, node_name))
        result = self.rpc.call_blockdev_create(node_uuid, (disk, inst), disk.size, inst.name,
                                               node_uuid == inst.primary_node,
                                               "originstname+%s" % inst.name, False)
        result.Raise("Can't create block device %s on node %s for instance %s" %
                     (disk.iv_name, node_name, inst.name))

  def _MoveDisk(self, disk: objects.Disk) -> None:
    """Puts a disk (and its LVs) on the new nodes; a DRBD disk gets minors there."""
    nodes = list(self.new_nodes)
    disk.nodes = nodes
    for child in disk.children or ():
      child.nodes = list(nodes)
    if disk.dev_type == constants.DT_DRBD8:
      minors = self.cfg.AllocateDRBDMinor(nodes, disk.uuid, self.proc.GetECId())
      _, _, port, _, _, secret = disk.logical_id
      disk.logical_id = [nodes[0], nodes[1], port, minors[0], minors[1], secret]


def _ApplyRecreateChanges(disk: objects.Disk, changes: dict) -> None:
  """Sets recreate-disks' new disk parameters; volume groups change the LVs'
  logical ids (a DRBD disk's data and metadata LVs)."""
  data = disk.children[0] if disk.dev_type == constants.DT_DRBD8 else disk
  for key, value in changes.items():
    if key == pd.IDISK_VG:
      data.logical_id = [value, data.logical_id[1]]
    elif key == pd.IDISK_METAVG and disk.dev_type == constants.DT_DRBD8:
      meta = disk.children[1]
      meta.logical_id = [value, meta.logical_id[1]]
    elif key in objects.Disk.FIELDS:
      setattr(disk, key, value)
  if pd.IDISK_SIZE in changes and data is not disk:
    data.size = changes[pd.IDISK_SIZE]


class LUInstanceChangeGroup(_InstanceLU):
  """Moves an instance to a node of another group, by submitting the jobs
  that do it."""

  HPATH = "instance-change-group"
  NODE_LEVELS = ()

  def ExpandNames(self) -> None:
    super().ExpandNames()
    self.ShareAll()

  def CheckPrereq(self) -> None:
    super().CheckPrereq()
    inst = self.instance
    own_groups = self.cfg.GetInstanceNodeGroups(inst.uuid)
    if self.op.target_groups:
      targets = [self.cfg.LookupNodeGroup(name) for name in self.op.target_groups]
      conflicting = sorted(own_groups & set(targets))
      if conflicting:
        raise errors.OpPrereqError("Can't use group(s) '%s' as targets, they are used by"
                                   " the instance '%s'" % (", ".join(conflicting),
                                                           inst.name), errors.ECODE_INVAL)
    else:
      targets = [uuid for uuid in self.cfg.GetNodeGroupList() if uuid not in own_groups]
    if not targets:
      raise errors.OpPrereqError("There are no possible target groups", errors.ECODE_INVAL)
    self.target_groups = set(targets)

  def Exec(self, feedback_fn: Any) -> ResultWithJobs:
    inst = self.instance
    cluster = self.cfg.GetClusterInfo()
    iallocator = self.op.iallocator or cluster.default_iallocator
    outside = tuple(node.uuid for node in self.cfg.GetAllNodesInfo().values()
                    if node.group not in self.target_groups)
    template = self.cfg.GetInstanceDiskTemplate(inst.uuid)
    if template in constants.DTS_INT_MIRROR:
      return ResultWithJobs([self._MirrorJob(iallocator, outside)])
    try:
      target = allocation.PickNode(self, iallocator, cluster.FillBE(inst), inst.hypervisor,
                                   exclude=outside)
    except errors.OpPrereqError as err:
      raise errors.OpPrereqError("Can't compute solution for changing group of instance"
                                 " '%s' using iallocator '%s': %s" %
                                 (inst.name, iallocator, err.args[0]),
                                 errors.ECODE_NORES) from None
    node_name = self.cfg.GetNodeName(target)
    if template in constants.DTS_EXT_MIRROR:
      op = opcodes.OpInstanceMigrate(instance_name=inst.name, target_node=node_name,
                                     allow_failover=True)
    else:
      op = opcodes.OpInstanceMove(instance_name=inst.name, target_node=node_name)
    return ResultWithJobs([[op]])

  def _MirrorJob(self, iallocator: str, outside: tuple[str, ...]) -> list:
    """A DRBD instance reaches the target groups in three steps: a secondary
    there (the allocator's new primary), a move onto it, and the allocator's
    new secondary."""
    inst = self.instance
    cluster = self.cfg.GetClusterInfo()
    try:
      primary, secondary = allocation.PickNodes(self, iallocator, cluster.FillBE(inst),
                                                inst.hypervisor, exclude=outside)
    except errors.OpPrereqError as err:
      raise errors.OpPrereqError("Can't compute solution for changing group of instance"
                                 " '%s' using iallocator '%s': %s" %
                                 (inst.name, iallocator, err.args[0]),
                                 errors.ECODE_NORES) from None
    replace = dict(instance_name=inst.name,
                   mode=instance_replace_disks.REPLACE_NEW_SECONDARY)
    return [opcodes.OpInstanceReplaceDisks(remote_node=self.cfg.GetNodeName(primary),
                                           **replace),
            opcodes.OpInstanceMigrate(instance_name=inst.name, allow_failover=True),
            opcodes.OpInstanceReplaceDisks(remote_node=self.cfg.GetNodeName(secondary),
                                           **replace)]
