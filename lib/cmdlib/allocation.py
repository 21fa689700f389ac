"""Choosing nodes for instances when the user names an iallocator.

Until the iallocator protocol runs allocator scripts, every name gets the
same built-in choice: the vm-capable, online, undrained node with the most
free memory that can hold the instance.
"""

from typing import Any

from ganeti import errors
from ganeti import paramdefs as pd


def _FreeMemory(lu: Any, node_uuids: list[str], hvname: str) -> dict[str, int]:
  cluster = lu.cfg.GetClusterInfo()
  results = lu.rpc.call_node_info(node_uuids, [],
                                  [(hvname, cluster.hvparams.get(hvname, {}))])
  free = {}
  for uuid, result in results.items():
    if result.fail_msg:
      continue
    _, _, hv_info = result.payload
    if hv_info and isinstance(hv_info[0].get("memory_free"), int):
      free[uuid] = hv_info[0]["memory_free"]
  return free


def PickNode(lu: Any, iallocator: str, be_full: dict, hvname: str,
             exclude: tuple[str, ...] = ()) -> str:
  """The node for a new (or moving) instance; logs the choice as Ganeti does."""
  candidates = [node.uuid for node in lu.cfg.GetAllNodesInfo().values()
                if node.vm_capable and not node.offline and not node.drained
                and node.uuid not in exclude]
  free = _FreeMemory(lu, candidates, hvname)
  needed = be_full[pd.BE_MAXMEM]
  fitting = [uuid for uuid in candidates if free.get(uuid, -1) >= needed]
  if not fitting:
    raise errors.OpPrereqError("Can't compute nodes using iallocator '%s': no node"
                               " has %s MiB of free memory" % (iallocator, needed),
                               errors.ECODE_NORES)
  chosen = max(fitting, key=lambda uuid: (free[uuid], lu.cfg.GetNodeName(uuid)))
  lu.LogInfo("Selected nodes for instance %s via iallocator %s: %s",
             lu.op.instance_name, iallocator, lu.cfg.GetNodeName(chosen))
  return chosen
