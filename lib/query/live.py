"""Runtime data of nodes and instances for queries, asked from the node daemons.

Only when a query needs a live field, the master asks every online node for
its memory, CPUs and the free space of the cluster's default storage unit
(RPC node_info), or the instances' primary nodes for what runs there (RPC
all_instances_info, one call per node); a node that cannot answer leaves its
fields RS_NODATA.  Offline nodes are never asked.
"""

import logging
from typing import Any, Iterable, Optional

from ganeti import constants
from ganeti import hypervisor

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


def InstanceLiveData(cfg: Any, rpc: Any, instances: Iterable[Any]) -> dict[str, Any]:
  """ConfigContext's live_instances and bad_nodes for the given instances.

  Asks the instances' online primary nodes what runs on them; an instance
  found on several of them counts where its primary node reports it.
  """
  instances = list(instances)
  nodes = cfg.GetAllNodesInfo()
  asked = sorted({inst.primary_node for inst in instances
                  if inst.primary_node in nodes and not nodes[inst.primary_node].offline})
  if not asked:
    return {"live_instances": {}, "bad_nodes": ()}
  cluster = cfg.GetClusterInfo()
  hypervisors = list(cluster.enabled_hypervisors)
  hvparams = {name: cluster.hvparams.get(name, {}) for name in hypervisors}
  results = rpc.call_all_instances_info(asked, hypervisors, hvparams)
  uuid_of = {inst.name: inst.uuid for inst in instances}
  primary_of = {inst.uuid: inst.primary_node for inst in instances}
  live: dict[str, dict[str, Any]] = {}
  bad_nodes = []
  for node_uuid, result in results.items():
    if result.fail_msg:
      logging.warning("Cannot get instances of node %s: %s", node_uuid, result.fail_msg)
      bad_nodes.append(node_uuid)
      continue
    for name, values in (result.payload or {}).items():
      inst_uuid = uuid_of.get(name)
      if inst_uuid is None:
        continue
      known = live.get(inst_uuid)
      if known is None or (known["node"] != primary_of[inst_uuid]
                           and node_uuid == primary_of[inst_uuid]):
        values["node"] = node_uuid  # the payload is ours to annotate
        live[inst_uuid] = values
  return {"live_instances": live, "bad_nodes": bad_nodes}


def InstanceConsoles(cfg: Any, instances: Iterable[Any],
                     live_instances: dict[str, Any]) -> dict[str, Optional[dict]]:
  """{instance uuid: console description} for the instances running on their
  primary node; None for the others."""
  cluster = cfg.GetClusterInfo()
  consoles: dict[str, Optional[dict]] = {}
  for inst in instances:
    running = live_instances.get(inst.uuid)
    if not running or running.get("node") != inst.primary_node:
      consoles[inst.uuid] = None
      continue
    pnode = cfg.GetNodeInfo(inst.primary_node)
    hv_class = hypervisor.GetHypervisorClass(inst.hypervisor)
    console = hv_class.GetInstanceConsole(inst, pnode, cfg.GetNodeGroup(pnode.group),
                                          cluster.FillHV(inst), cluster.FillBE(inst))
    console.Validate()
    consoles[inst.uuid] = console.ToDict()
  return consoles
