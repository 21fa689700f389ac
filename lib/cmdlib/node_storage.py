"""Logical units of node storage: logical volumes, storage units and their
modification and repair."""

from typing import Any

from ganeti import constants
from ganeti.constants import (
  SF_ALLOCATABLE,
  SF_FREE,
  SF_NAME,
  SF_NODE,
  SF_SIZE,
  SF_TYPE,
  SF_USED,
  SO_FIX_CONSISTENCY,
  ST_FILE,
  ST_GLUSTER,
  ST_LVM_PV,
  ST_LVM_VG,
  ST_SHARED_FILE)
from ganeti import errors
from ganeti import locking
from ganeti.cmdlib import instance_disks
from ganeti.cmdlib.base import NoHooksLU
from ganeti.cmdlib.node import ExpandNode

# Storage unit types and the fields of their listings (Ganeti's names)
VALID_STORAGE_FIELDS = frozenset([SF_NODE, SF_TYPE, SF_NAME, SF_SIZE, SF_USED, SF_FREE,
                                  SF_ALLOCATABLE])
# Storage types whose units nodes can list
STS_REPORT_NODE_STORAGE = (ST_FILE, ST_GLUSTER, ST_LVM_PV, ST_LVM_VG, ST_SHARED_FILE)
MODIFIABLE_STORAGE_FIELDS = {ST_LVM_PV: frozenset([SF_ALLOCATABLE])}
VALID_STORAGE_OPERATIONS = {ST_LVM_VG: frozenset([SO_FIX_CONSISTENCY])}
DISK_TEMPLATE_STORAGE_TYPE = {
  constants.DT_BLOCK: "blockdev", constants.DT_DISKLESS: "diskless",
  constants.DT_DRBD8: ST_LVM_VG, constants.DT_EXT: "ext", constants.DT_FILE: ST_FILE,
  constants.DT_GLUSTER: ST_GLUSTER, constants.DT_PLAIN: ST_LVM_VG,
  constants.DT_RBD: "rados", constants.DT_SHARED_FILE: ST_SHARED_FILE,
}

# Fields of a logical volume listing; "dev" is the node's key for the device
VF_NODE, VF_PHYS, VF_VG, VF_NAME, VF_SIZE, VF_INSTANCE = (
  "node", "phys", "vg", "name", "size", "instance")
VF_DEV = "dev"
VOLUME_FIELDS = frozenset([VF_NODE, VF_PHYS, VF_VG, VF_NAME, VF_SIZE, VF_INSTANCE])


def CheckOutputFields(valid: frozenset, selected: list[str]) -> None:
  unknown = [field for field in selected if field not in valid]
  if unknown:
    raise errors.OpPrereqError("Unknown output fields selected: %s" % ",".join(unknown),
                               errors.ECODE_INVAL)


def CheckStorageTypeEnabled(cluster: Any, storage_type: str) -> None:
  """Refuses a storage type that no enabled disk template uses."""
  if storage_type == ST_LVM_PV:
    storage_type = ST_LVM_VG
  if not any(DISK_TEMPLATE_STORAGE_TYPE.get(template) == storage_type
             for template in cluster.enabled_disk_templates):
    raise errors.OpPrereqError("No disk template of storage type '%s' is enabled in this"
                               " cluster." % storage_type, errors.ECODE_INVAL)


def StorageTypeArgs(cfg: Any, storage_type: str) -> list:
  """The extra arguments a node needs to find units of storage_type."""
  directories = {ST_FILE: cfg.GetFileStorageDir, ST_SHARED_FILE: cfg.GetSharedFileStorageDir,
                 ST_GLUSTER: cfg.GetGlusterStorageDir}
  if storage_type in directories:
    return [[directories[storage_type]()]]
  return []


def _NodeLocks(lu: Any) -> None:
  lu.ShareAll()
  if lu.op.nodes:
    uuids = [ExpandNode(lu.cfg, name)[0] for name in lu.op.nodes]
    lu.needed_locks = {locking.LEVEL_NODE: uuids}
  else:
    lu.needed_locks = {locking.LEVEL_NODE: locking.ALL_SET}


def _LockedNodes(lu: Any) -> list[str]:
  owned = lu.glm.list_owned(locking.LEVEL_NODE)
  return sorted((uuid for uuid in owned if lu.cfg.GetNodeName(uuid)),
                key=lu.cfg.GetNodeName)


def _InstanceVolumes(cfg: Any) -> dict[tuple[str, str], str]:
  """(node uuid, "vg/lv") -> instance name for the LVM volumes of all disks."""
  volumes = {}

  def visit(disk: Any, node_uuids: list[str], inst_name: str) -> None:
    if disk.dev_type == constants.DT_PLAIN and disk.logical_id:
      for node_uuid in node_uuids:
        volumes[(node_uuid, "/".join(disk.logical_id))] = inst_name
    for child in disk.children or ():
      visit(child, node_uuids, inst_name)

  for inst in cfg.GetAllInstancesInfo().values():
    nodes = list(cfg.GetInstanceNodes(inst.uuid))
    for disk in cfg.GetInstanceDisks(inst.uuid):
      visit(disk, list(disk.nodes or nodes), inst.name)
  return volumes


class LUNodeQueryvols(NoHooksLU):
  """Lists the logical volumes of nodes (gnt-node volumes)."""

  REQ_BGL = False

  def CheckArguments(self) -> None:
    CheckOutputFields(VOLUME_FIELDS, self.op.output_fields)

  def ExpandNames(self) -> None:
    _NodeLocks(self)

  def Exec(self, feedback_fn: Any) -> list[list[str]]:
    node_uuids = _LockedNodes(self)
    answers = self.rpc.call_node_volumes(node_uuids)
    owners = _InstanceVolumes(self.cfg)
    output = []
    for node_uuid in node_uuids:
      result = answers[node_uuid]
      if result.offline:
        continue
      node_name = self.cfg.GetNodeName(node_uuid)
      if result.fail_msg:
        self.LogWarning("Can't compute volume data on node %s: %s", node_name,
                        result.fail_msg)
        continue
      for vol in sorted(result.payload, key=lambda vol: vol[VF_DEV]):
        inst = owners.get((node_uuid, "%s/%s" % (vol[VF_VG], vol[VF_NAME])), "-")
        values = {VF_NODE: node_name, VF_PHYS: vol[VF_DEV], VF_VG: vol[VF_VG],
                  VF_NAME: vol[VF_NAME], VF_SIZE: int(float(vol[VF_SIZE])),
                  VF_INSTANCE: inst}
        output.append([str(values[field]) for field in self.op.output_fields])
    return output


class LUNodeQueryStorage(NoHooksLU):
  """Lists the storage units of one type on nodes (gnt-node list-storage)."""

  REQ_BGL = False

  def CheckArguments(self) -> None:
    CheckOutputFields(VALID_STORAGE_FIELDS, self.op.output_fields)

  def ExpandNames(self) -> None:
    _NodeLocks(self)

  def CheckPrereq(self) -> None:
    cluster = self.cfg.GetClusterInfo()
    if self.op.storage_type:
      CheckStorageTypeEnabled(cluster, self.op.storage_type)
      self.storage_type = self.op.storage_type
      return
    self.storage_type = DISK_TEMPLATE_STORAGE_TYPE[cluster.enabled_disk_templates[0]]
    if self.storage_type not in STS_REPORT_NODE_STORAGE:
      raise errors.OpPrereqError(
        "Storage reporting for storage type '%s' is not supported. Please use the"
        " --storage-type option to specify one of the supported storage types (%s) or set"
        " the default disk template to one that supports storage reporting." %
        (self.storage_type, ", ".join(STS_REPORT_NODE_STORAGE)), errors.ECODE_INVAL)

  def Exec(self, feedback_fn: Any) -> list[list[Any]]:
    # the node answers the unit fields; it knows neither its name nor the type
    fields = [field for field in self.op.output_fields if field not in (SF_NODE, SF_TYPE)]
    if SF_NAME not in fields:
      fields.insert(0, SF_NAME)
    fields = list(dict.fromkeys(fields))
    index = {field: idx for idx, field in enumerate(fields)}
    node_uuids = _LockedNodes(self)
    answers = self.rpc.call_storage_list(node_uuids, self.storage_type,
                                         StorageTypeArgs(self.cfg, self.storage_type),
                                         self.op.name, fields)
    output = []
    for node_uuid in node_uuids:
      result = answers[node_uuid]
      if result.offline:
        continue
      node_name = self.cfg.GetNodeName(node_uuid)
      if result.fail_msg:
        self.LogWarning("Can't get storage data from node %s: %s", node_name, result.fail_msg)
        continue
      rows = {row[index[SF_NAME]]: row for row in result.payload}
      for name in sorted(rows):
        row = rows[name]
        extra = {SF_NODE: node_name, SF_TYPE: self.storage_type}
        output.append([extra[field] if field in extra else row[index[field]]
                       for field in self.op.output_fields])
    return output


class _OneNodeStorageLU(NoHooksLU):
  REQ_BGL = False

  def CheckArguments(self) -> None:
    self.op.node_uuid, self.op.node_name = ExpandNode(self.cfg, self.op.node_name,
                                                      self.op.node_uuid)

  def ExpandNames(self) -> None:
    self.needed_locks = {locking.LEVEL_NODE: [self.op.node_uuid]}

  def CheckPrereq(self) -> None:
    CheckStorageTypeEnabled(self.cfg.GetClusterInfo(), self.op.storage_type)


class LUNodeModifyStorage(_OneNodeStorageLU):
  """Changes a storage unit (only the allocatable flag of LVM PVs)."""

  def CheckArguments(self) -> None:
    super().CheckArguments()
    storage_type = self.op.storage_type
    modifiable = MODIFIABLE_STORAGE_FIELDS.get(storage_type)
    if modifiable is None:
      raise errors.OpPrereqError("Storage units of type '%s' can not be modified" %
                                 storage_type, errors.ECODE_INVAL)
    refused = [field for field in self.op.changes if field not in modifiable]
    if refused:
      raise errors.OpPrereqError("The following fields can not be modified for storage units"
                                 " of type '%s': %r" % (storage_type, refused),
                                 errors.ECODE_INVAL)

  def Exec(self, feedback_fn: Any) -> None:
    result = self.rpc.call_storage_modify(
      self.op.node_uuid, self.op.storage_type,
      StorageTypeArgs(self.cfg, self.op.storage_type), self.op.name, self.op.changes)
    result.Raise("Failed to modify storage unit '%s' on %s" % (self.op.name,
                                                               self.op.node_name))


class LURepairNodeStorage(_OneNodeStorageLU):
  """Repairs a storage unit (vgreduce --removemissing for LVM VGs)."""

  def CheckArguments(self) -> None:
    super().CheckArguments()
    if SO_FIX_CONSISTENCY not in VALID_STORAGE_OPERATIONS.get(self.op.storage_type, ()):
      raise errors.OpPrereqError("Storage units of type '%s' can not be repaired" %
                                 self.op.storage_type, errors.ECODE_INVAL)

  def CheckPrereq(self) -> None:
    """Refuses (or, ignoring consistency, warns) while an active instance of
    the node has faulty disks on another node: its data may live only here."""
    super().CheckPrereq()
    node_uuid = self.op.node_uuid
    primary, secondary = self.cfg.GetNodeInstances(node_uuid)
    for _, inst in self.cfg.GetMultiInstanceInfo(primary + secondary):
      if inst is None or not inst.disks_active:
        continue
      for other in self.cfg.GetInstanceNodes(inst.uuid):
        if other == node_uuid:
          continue
        try:
          if instance_disks.FaultyDisks(self, inst, other):
            raise errors.OpPrereqError("Instance '%s' has faulty disks on node '%s'" %
                                       (inst.name, self.cfg.GetNodeName(other)),
                                       errors.ECODE_STATE)
        except errors.OpPrereqError as err:
          if not self.op.ignore_consistency:
            raise
          self.LogWarning(str(err.args[0]))

  def Exec(self, feedback_fn: Any) -> Any:
    feedback_fn("Repairing storage unit '%s' on %s ..." % (self.op.name, self.op.node_name))
    result = self.rpc.call_storage_execute(
      self.op.node_uuid, self.op.storage_type,
      StorageTypeArgs(self.cfg, self.op.storage_type), self.op.name, SO_FIX_CONSISTENCY)
    result.Raise("Failed to repair storage unit '%s' on %s" % (self.op.name,
                                                               self.op.node_name))
    return result.payload
