"""Converting a stopped instance's disks between the plain and drbd templates
("gnt-instance modify -t").

plain -> drbd: the existing LVs become the DRBD data devices on the primary
(renamed to the new disks' data LV names), metadata LVs are added there,
both LVs are made on the new secondary, and DRBD devices over them start a
full resync from the primary.  drbd -> plain: the data LVs on the primary
become the disks; the secondary's devices and the primary's metadata go.
"""

from typing import Any

from ganeti import constants
from ganeti import errors
from ganeti import objects
from ganeti.cmdlib import instance_disks
from ganeti.cmdlib import instance_utils as iu


def CheckConversionToDrbd(lu: Any, inst: objects.Instance, snode_uuid: str) -> None:
  """The new secondary must differ from the primary, be usable and have room."""
  if snode_uuid == inst.primary_node:
    raise errors.OpPrereqError("Given new secondary node %s is the same as the primary"
                               " node of the instance" % lu.cfg.GetNodeName(snode_uuid),
                               errors.ECODE_STATE)
  iu.CheckNodeOnline(lu, snode_uuid)
  iu.CheckNodeNotDrained(lu, snode_uuid)
  iu.CheckNodeVmCapable(lu, snode_uuid)
  specs = _Specs(lu.cfg.GetInstanceDisks(inst.uuid))
  instance_disks.FillVolumeGroups(lu.cfg, specs)
  instance_disks.CheckFreeSpace(lu, [snode_uuid], instance_disks.SpacePerVolumeGroup(
    constants.DT_DRBD8, specs))


def _Specs(disks: list[objects.Disk]) -> list[dict]:
  """Disk specs of plain disks, keeping their volume group."""
  return [{"size": disk.size, "mode": disk.mode, "name": disk.name,
           "spindles": disk.spindles, "vg": disk.logical_id[0], "metavg": None}
          for disk in disks]


def _Create(lu: Any, inst: objects.Instance, node_uuid: str, device: objects.Disk,
            on_primary: bool, created: list[tuple[str, objects.Disk]]) -> None:
  result = instance_disks.CreateDevice(lu, inst, node_uuid, device, on_primary)
  result.Raise("Can't create block device %s on node %s for instance %s" %
               (device.iv_name or device.logical_id[1], lu.cfg.GetNodeName(node_uuid),
                inst.name))
  created.append((node_uuid, device))


def _ReplaceDisks(lu: Any, inst: objects.Instance, old: list[objects.Disk],
                  new: list[objects.Disk]) -> None:
  for disk in old:
    lu.cfg.RemoveInstanceDisk(inst.uuid, disk.uuid)
  for idx, disk in enumerate(new):
    lu.cfg.AddInstanceDisk(inst.uuid, disk, idx=idx, ec_id=lu.proc.GetECId())


def ConvertPlainToDrbd(lu: Any, inst: objects.Instance, snode_uuid: str,
                       feedback_fn: Any) -> None:
  """Mirrors the instance's plain disks onto snode_uuid; on failure the
  original LVs get their names back and every new device is removed."""
  pnode_uuid = inst.primary_node
  old_disks = lu.cfg.GetInstanceDisks(inst.uuid)
  specs = _Specs(old_disks)
  instance_disks.FillVolumeGroups(lu.cfg, specs)
  new_disks = instance_disks.GenerateDisks(lu, constants.DT_DRBD8, specs, pnode_uuid,
                                           snode_uuid)
  instance_disks.AllocatePorts(lu, new_disks)
  created: list[tuple[str, objects.Disk]] = []
  renamed = False
  try:
    feedback_fn("Creating additional volumes...")
    for disk in new_disks:
      _Create(lu, inst, pnode_uuid, disk.children[1], True, created)
      for child in disk.children:
        _Create(lu, inst, snode_uuid, child, False, created)
    feedback_fn("Renaming original volumes...")
    result = lu.rpc.call_blockdev_rename(pnode_uuid, [
      (old, list(new.children[0].logical_id)) for old, new in zip(old_disks, new_disks)])
    result.Raise("Failed to rename original LVs")
    renamed = True
    feedback_fn("Initializing DRBD devices...")
    for disk in new_disks:
      _Create(lu, inst, pnode_uuid, disk, True, created)
      _Create(lu, inst, snode_uuid, disk, False, created)
  except errors.OpExecError:
    if renamed:
      feedback_fn("Initializing of DRBD devices failed; renaming back original volumes...")
    _UndoPlainToDrbd(lu, inst, old_disks, new_disks, created, renamed)
    raise
  _ReplaceDisks(lu, inst, old_disks, new_disks)
  inst = lu.cfg.GetInstanceInfo(inst.uuid)
  in_sync = instance_disks.WaitForSync(lu, inst, oneshot=not lu.op.wait_for_sync)
  iu.ShutdownInstanceDisks(lu, inst)
  if not in_sync:
    raise errors.OpExecError("There are some degraded disks for this instance, please"
                             " cleanup manually")


def _UndoPlainToDrbd(lu: Any, inst: objects.Instance, old_disks: list[objects.Disk],
                     new_disks: list[objects.Disk], created: list[tuple[str, objects.Disk]],
                     renamed: bool) -> None:
  # the DRBD devices and new LVs go first: the renamed data LV is in use by them
  instance_disks.UndoCreation(lu, inst, created)
  if renamed:
    result = lu.rpc.call_blockdev_rename(inst.primary_node, [
      (new.children[0], list(old.logical_id)) for old, new in zip(old_disks, new_disks)])
    if result.fail_msg:
      lu.LogWarning("Failed to rename LVs back: %s", result.fail_msg)
  instance_disks.ReleaseDisks(lu, new_disks)


def ConvertDrbdToPlain(lu: Any, inst: objects.Instance, feedback_fn: Any) -> None:
  """Keeps the primary's data LVs as the instance's disks."""
  pnode_uuid = inst.primary_node
  snode_uuid, = lu.cfg.GetInstanceSecondaryNodes(inst.uuid)
  feedback_fn("Converting disk template from 'drbd' to 'plain'")
  old_disks = lu.cfg.GetInstanceDisks(inst.uuid)
  iu.ShutdownInstanceDisks(lu, inst)
  new_disks = []
  for disk in old_disks:
    data = disk.children[0].Copy()
    data.size, data.mode, data.name = disk.size, disk.mode, disk.name
    data.iv_name = disk.iv_name
    data.nodes = [pnode_uuid]
    new_disks.append(data)
  # the DRBD disks' ports go back to the pool with them
  _ReplaceDisks(lu, inst, old_disks, new_disks)
  inst = lu.cfg.GetInstanceInfo(inst.uuid)
  feedback_fn("Removing volumes on the secondary node...")
  for disk in old_disks:
    result = lu.rpc.call_blockdev_remove(snode_uuid, (disk, inst))
    if result.fail_msg:
      lu.LogWarning("Could not remove block device %s on node %s, continuing anyway: %s",
                    disk.iv_name, lu.cfg.GetNodeName(snode_uuid), result.fail_msg)
  feedback_fn("Removing unneeded volumes on the primary node...")
  for disk in old_disks:
    result = lu.rpc.call_blockdev_remove(pnode_uuid, (disk.children[1], inst))
    if result.fail_msg:
      lu.LogWarning("Could not remove metadata block device %s on node %s, continuing"
                    " anyway: %s", disk.iv_name, lu.cfg.GetNodeName(pnode_uuid),
                    result.fail_msg)
