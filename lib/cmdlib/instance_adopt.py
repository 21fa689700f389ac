"""Adopting existing volumes as a new instance's disks (templates plain and blockdev).

An adopted disk keeps its data and no OS is installed on it.  Logical
volumes of the primary node's volume group are renamed to Ganeti's names
("<uuid>.disk<N>") when the instance is created, and renamed back if the
creation fails.  Block devices below /dev/disk are used under their own
names, and Ganeti never removes them.
"""

import os
from typing import Any

from ganeti import constants
from ganeti import errors
from ganeti import objects
from ganeti.cmdlib import instance_disks
from ganeti.storage import persistent

ADOPTABLE_TEMPLATES = frozenset([constants.DT_PLAIN, constants.DT_BLOCK])
# templates whose disks can only be adopted
_MUST_ADOPT = frozenset([constants.DT_BLOCK])


def CheckSpecs(template: str, specs: list[dict], op: Any) -> bool:
  """Checks the adoption part of a creation request; whether it adopts."""
  adopted = [spec for spec in specs if spec.get("adopt")]
  if not adopted:
    if template in _MUST_ADOPT:
      raise errors.OpPrereqError("Disk template %s requires disk adoption, but no 'adopt'"
                                 " parameter given" % template, errors.ECODE_INVAL)
    return False
  if len(adopted) != len(specs):
    raise errors.OpPrereqError("Either all disks are adopted or none is", errors.ECODE_INVAL)
  if template not in ADOPTABLE_TEMPLATES:
    raise errors.OpPrereqError("Disk adoption is not supported for the '%s' disk template" %
                               template, errors.ECODE_INVAL)
  if op.iallocator is not None:
    raise errors.OpPrereqError("Disk adoption not allowed with an iallocator script",
                               errors.ECODE_INVAL)
  if op.mode == constants.INSTANCE_IMPORT:
    raise errors.OpPrereqError("Disk adoption not allowed for instance import",
                               errors.ECODE_INVAL)
  names = [spec["adopt"] for spec in specs]
  if len(set(names)) != len(names):
    raise errors.OpPrereqError("Duplicate disk names given for adoption", errors.ECODE_INVAL)
  return True


def CheckVolumes(lu: Any, template: str, pnode_uuid: str, specs: list[dict]) -> None:
  """Checks that the volumes exist on the primary node and are free to take;
  sets each spec's size to its volume's."""
  if template == constants.DT_PLAIN:
    _CheckLogicalVolumes(lu, pnode_uuid, specs)
  else:
    _CheckBlockDevices(lu, pnode_uuid, specs)


def _CheckLogicalVolumes(lu: Any, pnode_uuid: str, specs: list[dict]) -> None:
  wanted = ["%s/%s" % (spec["vg"], spec["adopt"]) for spec in specs]
  in_use = {"%s/%s" % tuple(lv.logical_id) for inst in lu.cfg.GetAllInstancesInfo().values()
            for disk in lu.cfg.GetInstanceDisks(inst.uuid) for lv in _Volumes(disk)}
  taken = sorted(set(wanted) & in_use)
  if taken:
    raise errors.OpPrereqError("LV named %s used by another instance" % taken[0],
                               errors.ECODE_NOTUNIQUE)
  volumes: dict[str, Any] = {}
  for vg in sorted({spec["vg"] for spec in specs}):
    result = lu.rpc.call_lv_list([pnode_uuid], vg)[pnode_uuid]
    result.Raise("Cannot get the list of volumes of volume group %s on node %s" %
                 (vg, lu.cfg.GetNodeName(pnode_uuid)))
    volumes.update(result.payload or {})
  missing = [name for name in wanted if name not in volumes]
  if missing:
    raise errors.OpPrereqError("Missing logical volume(s): %s" % ", ".join(missing),
                               errors.ECODE_INVAL)
  online = [name for name in wanted if volumes[name][2]]
  if online:
    raise errors.OpPrereqError("Online logical volumes found, cannot adopt: %s" %
                               ", ".join(online), errors.ECODE_STATE)
  for spec, name in zip(specs, wanted):
    spec["size"] = int(float(volumes[name][0]))


def _Volumes(disk: objects.Disk) -> list[objects.Disk]:
  if disk.dev_type == constants.DT_PLAIN:
    return [disk]
  return [lv for child in disk.children or () for lv in _Volumes(child)]


def _CheckBlockDevices(lu: Any, pnode_uuid: str, specs: list[dict]) -> None:
  for spec in specs:
    spec["adopt"] = os.path.normpath(spec["adopt"])
  outside = [spec["adopt"] for spec in specs
             if not spec["adopt"].startswith(persistent.ADOPTABLE_ROOT)]
  if outside:
    raise errors.OpPrereqError("Device node(s) %s lie outside %s and cannot be adopted" %
                               (", ".join(outside), persistent.ADOPTABLE_ROOT),
                               errors.ECODE_INVAL)
  in_use = {disk.logical_id[1] for disk in lu.cfg.GetAllDisksInfo().values()
            if disk.dev_type == constants.DT_BLOCK}
  taken = sorted({spec["adopt"] for spec in specs} & in_use)
  if taken:
    raise errors.OpPrereqError("Block device %s is already used by another instance" %
                               taken[0], errors.ECODE_NOTUNIQUE)
  result = lu.rpc.call_bdev_sizes([pnode_uuid], [spec["adopt"] for spec in specs])[pnode_uuid]
  result.Raise("Cannot get block device information from node %s" %
               lu.cfg.GetNodeName(pnode_uuid))
  sizes = result.payload or {}
  missing = [spec["adopt"] for spec in specs if spec["adopt"] not in sizes]
  if missing:
    raise errors.OpPrereqError("Missing block device(s): %s" % ", ".join(missing),
                               errors.ECODE_INVAL)
  for spec in specs:
    spec["size"] = int(sizes[spec["adopt"]])


def BuildDisks(lu: Any, template: str, specs: list[dict], pnode_uuid: str) -> list[objects.Disk]:
  """The configuration objects of the adopted disks."""
  if template == constants.DT_PLAIN:
    return instance_disks.GenerateDisks(lu, template, specs, pnode_uuid, None)
  ec_id = lu.proc.GetECId()
  return [objects.Disk(dev_type=constants.DT_BLOCK, size=spec["size"], mode=spec["mode"],
                       name=spec.get("name"), iv_name="disk/%d" % idx, params={},
                       logical_id=[persistent.DRIVER_MANUAL, spec["adopt"]],
                       nodes=[pnode_uuid], uuid=lu.cfg.GenerateUniqueID(ec_id))
          for idx, spec in enumerate(specs)]


def _Renames(disks: list[objects.Disk], specs: list[dict],
             forward: bool) -> list[tuple[objects.Disk, list[str]]]:
  """(LV as it is now, its next logical id) for each adopted LV."""
  renames = []
  for disk, spec in zip(disks, specs):
    ganeti_id = list(disk.logical_id)
    own_id = [ganeti_id[0], spec["adopt"]]
    current, target = (own_id, ganeti_id) if forward else (ganeti_id, own_id)
    source = disk.Copy()
    source.logical_id = current
    renames.append((source, target))
  return renames


def TakeOver(lu: Any, inst: objects.Instance, disks: list[objects.Disk],
             specs: list[dict]) -> None:
  """Gives adopted LVs Ganeti's names (block devices keep theirs)."""
  if not disks or disks[0].dev_type != constants.DT_PLAIN:
    return
  result = lu.rpc.call_blockdev_rename(inst.primary_node, _Renames(disks, specs, True))
  result.Raise("Failed to rename adopted LVs")


def GiveBack(lu: Any, inst: objects.Instance, disks: list[objects.Disk],
             specs: list[dict]) -> None:
  """Undoes TakeOver after a failed creation: the LVs get their names back."""
  if not disks or disks[0].dev_type != constants.DT_PLAIN:
    return
  result = lu.rpc.call_blockdev_rename(inst.primary_node, _Renames(disks, specs, False))
  if result.fail_msg:
    lu.LogWarning("Could not give the adopted LVs their names back: %s", result.fail_msg)
