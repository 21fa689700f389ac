"""Choosing nodes for an instance when the user names an iallocator.

PickNode/PickNodes ask the named allocator through the iallocator protocol
(ganeti.cmdlib.iallocator) with an allocate request describing the instance:
the one being created (the LU's disk_specs, nic_specs and disk_template) or,
for moves, the LU's existing instance.  When no script of that name is
installed (e.g. "hail" on a cluster without htools) the built-in choice
answers: the usable node with the most free memory that can hold the
instance.
"""

from typing import Any, Iterable

from ganeti import objects
from ganeti import paramdefs as pd
from ganeti.cmdlib import iallocator as ia


def _DisksAndNics(lu: Any) -> tuple[str, list[dict], list[dict], str, list[str]]:
  """(disk template, disks, nics, os, tags) of the instance the LU places."""
  cfg = lu.cfg
  cluster = cfg.GetClusterInfo()
  inst = getattr(lu, "instance", None)
  if inst is not None:
    disks = [{"size": disk.size, "mode": disk.mode, "spindles": disk.spindles}
             for disk in cfg.GetInstanceDisks(inst.uuid)]
    nics = [ia.NicData(cluster, nic) for nic in inst.nics]
    return (cfg.GetInstanceDiskTemplate(inst.uuid), disks, nics, inst.os,
            list(inst.GetTags()))
  disks = [{"size": spec["size"], "mode": spec["mode"], "spindles": spec.get("spindles")}
           for spec in getattr(lu, "disk_specs", [])]
  nics = [ia.NicData(cluster, objects.NIC(mac=spec["mac"], ip=spec["ip"],
                                          nicparams=spec["nicparams"]))
          for spec in getattr(lu, "nic_specs", [])]
  template = getattr(lu, "disk_template", None) or cluster.enabled_disk_templates[0]
  return template, disks, nics, lu.op.os_type, list(lu.op.tags or [])


def PickNodes(lu: Any, iallocator: str, be_full: dict, hvname: str,
              exclude: Iterable[str] = ()) -> list[str]:
  """The node uuids (primary first; two for DRBD) the allocator chooses for
  lu.op.instance_name, none of them in exclude; logs the choice as Ganeti does."""
  cfg = lu.cfg
  template, disks, nics, os_name, tags = _DisksAndNics(lu)
  request = ia.AllocateRequest(lu.op.instance_name, template, be_full[pd.BE_MAXMEM],
                               be_full[pd.BE_VCPUS], be_full[pd.BE_SPINDLE_USE], disks,
                               nics, os_name, tags, hvname)
  uuids, names = ia.ChooseNodes(cfg, lu.rpc, iallocator, request,
                                exclude=cfg.GetNodeNames(list(exclude)))
  lu.LogInfo("Selected nodes for instance %s via iallocator %s: %s",
             lu.op.instance_name, iallocator, ", ".join(names))
  return uuids


def PickNode(lu: Any, iallocator: str, be_full: dict, hvname: str,
             exclude: Iterable[str] = ()) -> str:
  """The primary node the allocator chooses (see PickNodes)."""
  return PickNodes(lu, iallocator, be_full, hvname, exclude)[0]
