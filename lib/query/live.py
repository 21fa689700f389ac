"""Runtime data of nodes for queries, asked from the node daemons.

The master asks every online node for its memory, CPUs and the free space
of the cluster's default storage unit (RPC node_info) only when a query
needs a live field; a node that cannot answer leaves its fields RS_NODATA.
"""

import logging
from typing import Any

from ganeti import constants

# node_info hypervisor answer key -> node query field
_HV_FIELDS = {
  "memory_total": "mtotal",
  "memory_dom0": "mnode",
  "memory_free": "mfree",
  "cpu_total": "ctotal",
  "cpu_dom0": "cnos",
  "cpu_nodes": "cnodes",
  "cpu_sockets": "csockets",
}
_STORAGE_FIELDS = {"storage_size": "dtotal", "storage_free": "dfree"}
_SPINDLE_FIELDS = {"spindles_total": "sptotal", "spindles_free": "spfree"}


def _DefaultStorageUnit(cfg: Any) -> list:
  """The storage unit whose space the dtotal/dfree fields report."""
  cluster = cfg.GetClusterInfo()
  vg_name = cfg.GetVGName()
  if vg_name:
    return [constants.ST_LVM_VG, vg_name, [cluster.ndparams.get("exclusive_storage", False)]]
  return [constants.ST_FILE, cfg.GetFileStorageDir(), []]


def NodeLiveData(cfg: Any, rpc: Any, node_uuids: list[str]) -> dict[str, dict[str, Any]]:
  """{node uuid: {live field name: value}} for the online nodes that answered."""
  online = [uuid for uuid in node_uuids if not cfg.GetNodeInfo(uuid).offline]
  if not online:
    return {}
  hypervisor = cfg.GetHypervisorType()
  hv_specs = [[hypervisor, cfg.GetClusterInfo().hvparams.get(hypervisor, {})]]
  results = rpc.call_node_info(online, [_DefaultStorageUnit(cfg)], hv_specs)
  live: dict[str, dict[str, Any]] = {}
  for uuid, result in results.items():
    if result.fail_msg:
      logging.warning("Cannot get live data of node %s: %s", uuid, result.fail_msg)
      continue
    bootid, storage, hv_info = result.payload
    values: dict[str, Any] = {"bootid": bootid}
    for source, names in ((hv_info[0] if hv_info else {}, _HV_FIELDS),
                          (storage[0] if storage else {}, _STORAGE_FIELDS),
                          (storage[0] if storage else {}, _SPINDLE_FIELDS)):
      values.update({field: source[key] for key, field in names.items()
                     if source.get(key) is not None})
    live[uuid] = values
  return live
