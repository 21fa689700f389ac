"""Logical units of node groups: add, assign nodes, change, remove, rename,
evacuate."""

from typing import Any, Optional

from ganeti import constants
from ganeti import errors
from ganeti import locking
from ganeti import objects
from ganeti import paramdefs
from ganeti.cmdlib.base import LogicalUnit, NoHooksLU, ResultWithJobs
from ganeti.cmdlib.node import ExpandNode


def ExpandGroup(cfg: Any, name: str) -> str:
  """The uuid of a node group given by name or uuid."""
  return cfg.LookupNodeGroup(name)


def UpdateParams(current: Optional[dict], changes: dict) -> dict:
  """current with changes applied; a change to "default" (or None) drops the key."""
  result = dict(current or {})
  for key, value in changes.items():
    if value is None or value == paramdefs.VALUE_DEFAULT:
      result.pop(key, None)
    else:
      result[key] = value
  return result


def _Checked(family: str, params: dict) -> dict:
  """params of one family converted to their types (refusing unknown names)."""
  params = dict(params)
  paramdefs.CheckParams(family, params)
  return params


def MergeNdParams(current: Optional[dict], changes: dict) -> dict:
  return _Checked("ndparams", UpdateParams(current, changes))


def MergeDiskParams(current: Optional[dict], changes: dict) -> dict:
  """Per disk template: the current parameters with the changes applied."""
  result = objects.CopyValue(current or {})
  for template, values in changes.items():
    merged = UpdateParams(result.get(template), values)
    result[template] = _Checked("diskparams/%s" % template, merged)
  return result


def MergeHvState(current: Optional[dict], changes: dict) -> dict:
  """Per hypervisor: the static resource state with the changes applied."""
  unknown = sorted(set(changes) - constants.HYPER_TYPES)
  if unknown:
    raise errors.OpPrereqError("Invalid hypervisor(s) in hypervisor state: %s" %
                               ", ".join(unknown), errors.ECODE_INVAL)
  result = objects.CopyValue(current or {})
  for hv_name, values in changes.items():
    result[hv_name] = _Checked("hv_state", UpdateParams(result.get(hv_name), values))
  return result


def MergeDiskState(current: Optional[dict], changes: dict) -> dict:
  """Per storage type and unit: the static disk state with the changes applied."""
  unknown = sorted(set(changes) - paramdefs.DS_VALID_TYPES)
  if unknown:
    raise errors.OpPrereqError("Invalid storage type(s) in disk state: %s" %
                               ", ".join(unknown), errors.ECODE_INVAL)
  result = objects.CopyValue(current or {})
  for storage_type, units in changes.items():
    per_type = result.setdefault(storage_type, {})
    for unit, values in units.items():
      per_type[unit] = _Checked("disk_state", UpdateParams(per_type.get(unit), values))
  return result


def _CheckSpecs(specs: Any, name: str) -> dict:
  if not isinstance(specs, dict):
    raise errors.OpPrereqError("Invalid instance specs %s: %s" % (name, specs),
                               errors.ECODE_INVAL)
  return _Checked("ispecs", specs)


def MergeGroupIPolicy(current: Optional[dict], changes: dict) -> dict:
  """A group's custom instance policy with the changes applied ("default"
  returns a key to the cluster's value)."""
  result = objects.CopyValue(current or {})
  for key, value in changes.items():
    if key not in paramdefs.IPOLICY_ALL_KEYS:
      raise errors.OpPrereqError("Invalid key in new ipolicy: %s" % key, errors.ECODE_INVAL)
    if value is None or value == paramdefs.VALUE_DEFAULT:
      result.pop(key, None)
    elif key == paramdefs.ISPECS_MINMAX:
      result[key] = [_CheckMinMax(entry) for entry in value]
    elif key == paramdefs.ISPECS_STD:
      result[key] = _CheckSpecs(value, key)
    elif key == paramdefs.IPOLICY_DTS:
      bad = sorted(set(value) - constants.DISK_TEMPLATES)
      if bad:
        raise errors.OpPrereqError("Invalid disk template(s) in ipolicy: %s" %
                                   ", ".join(bad), errors.ECODE_INVAL)
      result[key] = list(value)
    else:
      result[key] = paramdefs.ConvertValue(key, value,
                                           paramdefs.IPOLICY_PARAMETER_TYPES[key])
  return result


def _CheckMinMax(entry: Any) -> dict:
  if not isinstance(entry, dict) or set(entry) != paramdefs.ISPECS_MINMAX_KEYS:
    raise errors.OpPrereqError("Invalid instance specs bounds: %s" % (entry,),
                               errors.ECODE_INVAL)
  checked = {kind: _CheckSpecs(entry[kind], kind) for kind in sorted(entry)}
  for kind in checked:
    missing = sorted(paramdefs.ISPECS_PARAMETERS - set(checked[kind]))
    if missing:
      raise errors.OpPrereqError("Missing instance specification parameters for %s: %s" %
                                 (kind, ", ".join(missing)), errors.ECODE_INVAL)
  low, high = checked[paramdefs.ISPECS_MIN], checked[paramdefs.ISPECS_MAX]
  for param in sorted(paramdefs.ISPECS_PARAMETERS):
    if low[param] > high[param]:
      raise errors.OpPrereqError("Invalid instance specs: %s min value (%s) is greater than"
                                 " max value (%s)" % (param, low[param], high[param]),
                                 errors.ECODE_INVAL)
  return checked


def CheckIPolicyTemplates(cfg: Any, group_ipolicy: dict) -> None:
  """The templates a filled group policy allows must be enabled on the cluster."""
  cluster = cfg.GetClusterInfo()
  filled = cluster.SimpleFillIPolicy(group_ipolicy)
  disabled = [template for template in filled.get(paramdefs.IPOLICY_DTS, [])
              if template not in cluster.enabled_disk_templates]
  if disabled:
    raise errors.OpPrereqError("The following disk templates are allowed by the ipolicy,"
                               " but not enabled on the cluster: %s" % ", ".join(disabled),
                               errors.ECODE_INVAL)


def _GroupParams(lu: LogicalUnit, group: Optional[objects.NodeGroup]) -> dict:
  """The group's new parameters from the opcode (only those it changes)."""
  op = lu.op
  current = group or objects.NodeGroup(ndparams={}, diskparams={}, ipolicy={})
  changes: dict[str, Any] = {}
  if op.ndparams:
    changes["ndparams"] = MergeNdParams(current.ndparams, op.ndparams)
  if op.diskparams:
    changes["diskparams"] = MergeDiskParams(current.diskparams, op.diskparams)
  if op.hv_state:
    changes["hv_state_static"] = MergeHvState(current.hv_state_static, op.hv_state)
  if op.disk_state:
    changes["disk_state_static"] = MergeDiskState(current.disk_state_static, op.disk_state)
  if op.ipolicy:
    changes["ipolicy"] = MergeGroupIPolicy(current.ipolicy, op.ipolicy)
    CheckIPolicyTemplates(lu.cfg, changes["ipolicy"])
  return changes


class LUGroupAdd(LogicalUnit):
  """Creates a node group."""

  HPATH = "group-add"
  HTYPE = constants.HTYPE_GROUP
  REQ_BGL = False

  def ExpandNames(self) -> None:
    self.needed_locks = {}

  def CheckPrereq(self) -> None:
    existing = self.cfg.LookupNodeGroupInfo(self.op.group_name)
    if existing is not None:
      raise errors.OpPrereqError("Desired group name '%s' already exists as a node group"
                                 " (UUID: %s)" % (self.op.group_name, existing.uuid),
                                 errors.ECODE_EXISTS)
    self.params = _GroupParams(self, None)

  def BuildHooksEnv(self) -> dict:
    return {"GROUP_NAME": self.op.group_name}

  def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
    return self.MasterNodeHooks()

  def Exec(self, feedback_fn: Any) -> None:
    attrs = {"ndparams": {}, "diskparams": {}, "ipolicy": {}, **self.params}
    group = objects.NodeGroup(name=self.op.group_name, members=[], networks={},
                              alloc_policy=self.op.alloc_policy, **attrs)
    group.uuid = self.cfg.GenerateUniqueID(self.proc.job_id)
    self.cfg.AddNodeGroup(group, self.proc.job_id, check_uuid=False)
    self.glm.add(locking.LEVEL_NODEGROUP, [group.uuid])


def SplitInstances(cfg: Any, node_groups: dict[str, str]) -> tuple[list[str], list[str]]:
  """Instances whose nodes would span groups once nodes move.

  node_groups maps moving node uuids to their new group; returns (names of
  instances newly split, names of instances that stay split).
  """
  nodes = cfg.GetAllNodesInfo()

  def _Split(inst_uuid: str, moved: bool) -> bool:
    groups = {node_groups.get(node, nodes[node].group) if moved else nodes[node].group
              for node in cfg.GetInstanceNodes(inst_uuid) if node in nodes}
    return len(groups) > 1

  new_splits, still_split = [], []
  for inst in cfg.GetAllInstancesInfo().values():
    if _Split(inst.uuid, True):
      (still_split if _Split(inst.uuid, False) else new_splits).append(inst.name)
  return sorted(new_splits), sorted(still_split)


class LUGroupAssignNodes(NoHooksLU):
  """Moves nodes into a node group."""

  REQ_BGL = False

  def ExpandNames(self) -> None:
    self.group_uuid = ExpandGroup(self.cfg, self.op.group_name)
    self.op.node_uuids = [ExpandNode(self.cfg, name)[0] for name in self.op.nodes]
    self.needed_locks = {locking.LEVEL_NODEGROUP: [], locking.LEVEL_NODE: self.op.node_uuids}

  def DeclareLocks(self, level: int) -> None:
    if level == locking.LEVEL_NODEGROUP:
      # the groups the nodes leave too; CheckPrereq sees whether they moved meanwhile
      groups = self.cfg.GetNodeGroupsFromNodes(self.op.node_uuids)
      self.needed_locks[level] = sorted(groups | {self.group_uuid})

  def CheckPrereq(self) -> None:
    owned = self.glm.list_owned(locking.LEVEL_NODEGROUP)
    moved = self.cfg.GetNodeGroupsFromNodes(self.op.node_uuids) - set(owned)
    if moved:
      raise errors.OpPrereqError("Nodes changed groups since the locks were computed,"
                                 " please retry", errors.ECODE_STATE)
    new_splits, still_split = SplitInstances(
      self.cfg, dict.fromkeys(self.op.node_uuids, self.group_uuid))
    if new_splits:
      if not self.op.force:
        raise errors.OpExecError("The following instances get split by this change and"
                                 " --force was not given: %s" % ", ".join(new_splits))
      self.LogWarning("This operation will split the following instances: %s",
                      ", ".join(new_splits))
      if still_split:
        self.LogWarning("In addition, these already-split instances continue to be split"
                        " across groups: %s", ", ".join(still_split))

  def Exec(self, feedback_fn: Any) -> None:
    self.cfg.AssignGroupNodes([(node, self.group_uuid) for node in self.op.node_uuids])


class _GroupLU(LogicalUnit):
  """An LU working on the one group named by the opcode's group_name."""

  REQ_BGL = False

  def ExpandNames(self) -> None:
    self.group_uuid = ExpandGroup(self.cfg, self.op.group_name)
    self.needed_locks = {locking.LEVEL_NODEGROUP: [self.group_uuid]}

  def BuildHooksEnv(self) -> dict:
    return {"GROUP_NAME": self.op.group_name}

  def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
    return self.MasterNodeHooks()


class LUGroupSetParams(_GroupLU):
  """Changes a node group's parameters and allocation policy."""

  HPATH = "group-modify"
  HTYPE = constants.HTYPE_GROUP

  def CheckArguments(self) -> None:
    op = self.op
    changes = [op.ndparams, op.diskparams, op.alloc_policy, op.hv_state, op.disk_state,
               op.ipolicy]
    if changes.count(None) == len(changes):
      raise errors.OpPrereqError("Please pass at least one modification", errors.ECODE_INVAL)

  def BuildHooksEnv(self) -> dict:
    return {"GROUP_NAME": self.op.group_name, "NEW_ALLOC_POLICY": self.op.alloc_policy}

  def CheckPrereq(self) -> None:
    self.group = self.cfg.GetNodeGroup(self.group_uuid)
    self.params = _GroupParams(self, self.group)

  def Exec(self, feedback_fn: Any) -> list[tuple[str, str]]:
    group = self.group
    for attr, value in self.params.items():
      setattr(group, attr, value)
    if self.op.alloc_policy:
      group.alloc_policy = self.op.alloc_policy
    self.cfg.Update(group, feedback_fn)
    # as Ganeti reports them: only node and disk parameters
    return [(attr, str(self.params[attr])) for attr in ("ndparams", "diskparams")
            if attr in self.params]


class LUGroupRemove(_GroupLU):
  """Removes an empty node group (never the last one)."""

  HPATH = "group-remove"
  HTYPE = constants.HTYPE_GROUP

  def CheckPrereq(self) -> None:
    group = self.cfg.GetNodeGroup(self.group_uuid)
    members = [uuid for uuid, node in self.cfg.GetAllNodesInfo().items()
               if node.group == self.group_uuid]
    if members:
      raise errors.OpPrereqError("Group '%s' not empty, has the following nodes: %s" %
                                 (group.name, ", ".join(members)), errors.ECODE_STATE)
    if len(self.cfg.GetNodeGroupList()) == 1:
      raise errors.OpPrereqError("Group '%s' is the only group, cannot be removed" %
                                 group.name, errors.ECODE_STATE)

  def Exec(self, feedback_fn: Any) -> None:
    self.cfg.RemoveNodeGroup(self.group_uuid)
    self.glm.remove(locking.LEVEL_NODEGROUP, [self.group_uuid])


class LUGroupRename(_GroupLU):
  """Gives a node group a new name; returns the new name."""

  HPATH = "group-rename"
  HTYPE = constants.HTYPE_GROUP

  def BuildHooksEnv(self) -> dict:
    return {"OLD_NAME": self.op.group_name, "NEW_NAME": self.op.new_name}

  def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
    members = self.cfg.GetNodeGroup(self.group_uuid).members
    nodes = [self.cfg.GetMasterNode()] + [uuid for uuid in members
                                          if uuid != self.cfg.GetMasterNode()]
    return nodes, nodes

  def CheckPrereq(self) -> None:
    clash = self.cfg.LookupNodeGroupInfo(self.op.new_name)
    if clash is not None:
      raise errors.OpPrereqError("Desired new name '%s' clashes with existing node group"
                                 " (UUID: %s)" % (self.op.new_name, clash.uuid),
                                 errors.ECODE_EXISTS)

  def Exec(self, feedback_fn: Any) -> str:
    group = self.cfg.GetNodeGroup(self.group_uuid)
    group.name = self.op.new_name
    self.cfg.Update(group, feedback_fn)
    return self.op.new_name


class LUGroupEvacuate(_GroupLU):
  """Moves all instances of a group to other groups.

  Placing instances needs an instance allocator, which this master does
  not have yet: a group without instances evacuates to nothing, any other
  is refused.
  """

  HPATH = "group-evacuate"
  HTYPE = constants.HTYPE_GROUP

  def ExpandNames(self) -> None:
    super().ExpandNames()
    self.target_uuids = [ExpandGroup(self.cfg, name) for name in self.op.target_groups or []]
    if self.group_uuid in self.target_uuids:
      raise errors.OpPrereqError("Group to be evacuated (%s) can not be used as a target"
                                 " group (targets are %s)" %
                                 (self.group_uuid, ", ".join(self.target_uuids)),
                                 errors.ECODE_INVAL)
    self.needed_locks[locking.LEVEL_NODEGROUP] += self.target_uuids
    self.ShareAll()

  def BuildHooksEnv(self) -> dict:
    return {"GROUP_NAME": self.op.group_name,
            "TARGET_GROUPS": " ".join(self.op.target_groups or [])}

  def CheckPrereq(self) -> None:
    targets = self.target_uuids or [uuid for uuid in self.cfg.GetNodeGroupList()
                                    if uuid != self.group_uuid]
    if not targets:
      raise errors.OpPrereqError("There are no possible target groups", errors.ECODE_INVAL)
    members = set(self.cfg.GetNodeGroup(self.group_uuid).members)
    self.instances = sorted(inst.name for inst in self.cfg.GetAllInstancesInfo().values()
                            if members & set(self.cfg.GetInstanceNodes(inst.uuid)))
    if self.instances:
      raise errors.OpPrereqError("Cannot evacuate group '%s': placing its instances (%s)"
                                 " needs an instance allocator, which is not available" %
                                 (self.op.group_name, ", ".join(self.instances)),
                                 errors.ECODE_ENVIRON)

  def Exec(self, feedback_fn: Any) -> ResultWithJobs:
    return ResultWithJobs([])
