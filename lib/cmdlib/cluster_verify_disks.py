"""gnt-cluster verify-disks: per node group, the instances whose disks should
be active are checked on their nodes (LVs present and open, DRBD devices
connected to their storage and peer)."""

from typing import Any

from ganeti import constants
from ganeti import locking
from ganeti import objects
from ganeti import opcodes
from ganeti.cmdlib.base import NoHooksLU, ResultWithJobs


class LUClusterVerifyDisks(NoHooksLU):
  """Submits one disk check (OpGroupVerifyDisks) per node group with instances."""

  REQ_BGL = False

  def ExpandNames(self) -> None:
    self.needed_locks = {}
    self.share_locks = dict.fromkeys(locking.LEVELS, 1)
    if self.op.group_name:
      self.groups = [self.cfg.LookupNodeGroup(self.op.group_name)]
    else:
      self.groups = self.cfg.GetNodeGroupList()

  def Exec(self, feedback_fn: Any) -> ResultWithJobs:
    return ResultWithJobs([[opcodes.OpGroupVerifyDisks(group_name=group)]
                           for group in self.groups if self.cfg.GetNodeGroupInstances(group)])


class LUGroupVerifyDisks(NoHooksLU):
  """Finds a group's instances whose disks need activating.

  Answers ({node name: error} for nodes that could not be asked, names of
  instances needing activate-disks, {instance name: [[node name, "vg/lv"]]}
  of missing volumes).  Only instances whose disks should be active count:
  their LVs must exist and be open, their DRBD devices must be connected
  to their local storage and peer.
  """

  REQ_BGL = False

  def ExpandNames(self) -> None:
    self.group_uuid = self.cfg.LookupNodeGroup(self.op.group_name)
    self.share_locks = dict.fromkeys(locking.LEVELS, 1)
    self.needed_locks = {locking.LEVEL_NODEGROUP: [self.group_uuid]}

  def _ActiveInstances(self) -> list[objects.Instance]:
    instances = self.cfg.GetAllInstancesInfo()
    return sorted((instances[uuid] for uuid in self.cfg.GetNodeGroupInstances(self.group_uuid)
                   if instances[uuid].disks_active), key=lambda inst: inst.name)

  def _ExpectedVolumes(self, instances: list[objects.Instance]
                       ) -> dict[tuple[str, str], str]:
    """(node uuid, "vg/lv") -> instance name for every LV of the instances."""
    expected = {}

    def collect(disk: objects.Disk, inst: objects.Instance) -> None:
      if disk.dev_type == constants.DT_PLAIN:
        for node_uuid in disk.nodes or [inst.primary_node]:
          expected[(node_uuid, "%s/%s" % tuple(disk.logical_id))] = inst.name
      for child in disk.children or ():
        collect(child, inst)
    for inst in instances:
      for disk in self.cfg.GetInstanceDisks(inst.uuid):
        collect(disk, inst)
    return expected

  def _VerifyVolumes(self, instances: list[objects.Instance], node_errors: dict,
                     to_activate: set, missing: dict) -> None:
    expected = self._ExpectedVolumes(instances)
    names = self.cfg.GetNodeName
    for vg in sorted({volume.split("/")[0] for _, volume in expected}):
      node_uuids = sorted({node_uuid for node_uuid, volume in expected
                           if volume.startswith(vg + "/")})
      for node_uuid, result in self.rpc.call_lv_list(node_uuids, vg).items():
        if result.offline:
          continue
        if result.fail_msg:
          node_errors[names(node_uuid)] = result.fail_msg
          continue
        for volume, (_, _, online) in (result.payload or {}).items():
          inst_name = expected.pop((node_uuid, volume), None)
          if inst_name is not None and not online:
            to_activate.add(inst_name)
    for (node_uuid, volume), inst_name in sorted(expected.items()):
      missing.setdefault(inst_name, []).append([names(node_uuid), volume])

  def _VerifyDrbd(self, instances: list[objects.Instance], node_errors: dict,
                  to_activate: set) -> None:
    by_node: dict[str, list[tuple[objects.Disk, objects.Instance]]] = {}
    for inst in instances:
      for disk in self.cfg.GetInstanceDisks(inst.uuid):
        if disk.dev_type == constants.DT_DRBD8:
          for node_uuid in disk.nodes:
            by_node.setdefault(node_uuid, []).append((disk, inst))
    for node_uuid, pairs in sorted(by_node.items()):
      result = self.rpc.call_drbd_needs_activation(node_uuid, pairs)
      if result.offline:
        continue
      if result.fail_msg:
        node_errors[self.cfg.GetNodeName(node_uuid)] = result.fail_msg
        continue
      faulty = set(result.payload or ())
      to_activate.update(inst.name for disk, inst in pairs if disk.uuid in faulty)

  def Exec(self, feedback_fn: Any) -> tuple[dict, list, dict]:
    instances = self._ActiveInstances()
    node_errors: dict[str, str] = {}
    to_activate: set[str] = set()
    missing: dict[str, list] = {}
    self._VerifyVolumes(instances, node_errors, to_activate, missing)
    self._VerifyDrbd(instances, node_errors, to_activate)
    return node_errors, sorted(to_activate), missing
