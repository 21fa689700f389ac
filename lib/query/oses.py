"""Items of OS queries: the OS diagnoses of the nodes, merged per OS.

Every online vm-capable node reports the OS definitions on its search path
(RPC os_diagnose).  An OS is valid if every node that answered has it and
its first definition there (earliest search path directory) is valid; its
variants, parameters and API versions are those all nodes share.  The
cluster configuration adds hidden/blacklisted and the per-variant
hypervisor and OS parameters.
"""

import logging
from typing import Any, Optional

# Fields of one node's entry in node_status, as os_diagnose reports them
# after the name: path, status, diagnose, variants, parameters, api versions,
# trusted
_STATUS, _VARIANTS, _PARAMETERS, _API_VERSIONS, _TRUSTED = 1, 3, 4, 5, 6


def CollectDiagnoses(cfg: Any, diagnose_call: Any, what: str) -> dict[str, dict[str, list]]:
  """{name: {node uuid: [entry, ...]}} of the definitions (OSes, ExtStorage
  providers) the online vm-capable nodes report through diagnose_call (an RPC
  call answering rows of name and entry fields); what names them in warnings.

  Every node that answered has a (possibly empty) list for every name, in node
  name order.
  """
  nodes = sorted((node for node in cfg.GetAllNodesInfo().values()
                  if not node.offline and node.vm_capable), key=lambda node: node.name)
  if not nodes:
    return {}
  results = diagnose_call([node.uuid for node in nodes])
  answered = []
  per_name: dict[str, dict[str, list]] = {}
  for node in nodes:
    result = results.get(node.uuid)
    if result is None or result.fail_msg:
      logging.warning("Cannot get the %s of node %s: %s", what, node.name,
                      result.fail_msg if result is not None else "no answer")
      continue
    answered.append(node.uuid)
    for name, *entry in result.payload or []:
      per_name.setdefault(name, {}).setdefault(node.uuid, []).append(entry)
  return {name: {uuid: by_node.get(uuid, []) for uuid in answered}
          for name, by_node in per_name.items()}


def Common(lists: list[list]) -> list:
  """The members all lists share, sorted."""
  shared = {_Hashable(item) for item in lists[0]}
  for other in lists[1:]:
    shared &= {_Hashable(item) for item in other}
  return sorted([list(item) if isinstance(item, tuple) else item for item in shared])


def _Hashable(item: Any) -> Any:
  return tuple(item) if isinstance(item, list) else item


def _VariantParams(cluster_params: dict, name: str, variants: list[str]) -> dict:
  """The cluster's parameters of the OS's variants, keyed by "os+variant"."""
  return {key: cluster_params[key] for key in ("%s+%s" % (name, variant)
                                               for variant in variants)
          if key in cluster_params}


def MergeOs(name: str, node_status: dict[str, list], cluster: Any) -> dict[str, Any]:
  """The query item (field name -> value) of one OS."""
  firsts = [entries[0] if entries else None for entries in node_status.values()]
  valid = bool(firsts) and all(first is not None and first[_STATUS] for first in firsts)
  item: dict[str, Any] = {
    "name": name,
    "valid": valid,
    "hidden": name in cluster.hidden_os,
    "blacklisted": name in cluster.blacklisted_os,
    "node_status": node_status,
    "variants": [],
    "parameters": [],
    "api_versions": [],
    "trusted": True,
  }
  if valid:
    item["variants"] = Common([first[_VARIANTS] for first in firsts])
    item["parameters"] = Common([first[_PARAMETERS] for first in firsts])
    item["api_versions"] = Common([first[_API_VERSIONS] for first in firsts])
    item["trusted"] = all(first[_TRUSTED] for first in firsts)
  item["os_hvp"] = _VariantParams(cluster.os_hvp, name, item["variants"])
  item["osparams"] = _VariantParams(cluster.osparams, name, item["variants"])
  return item


def OsItems(cfg: Any, rpc: Any, names: Optional[list] = None) -> list[dict[str, Any]]:
  """Query items of the OSes the nodes know (only the named ones if given), by name."""
  cluster = cfg.GetClusterInfo()
  diagnoses = CollectDiagnoses(cfg, rpc.call_os_diagnose, "OS list")
  wanted = sorted(diagnoses) if names is None else [name for name in dict.fromkeys(names)
                                                    if name in diagnoses]
  return [MergeOs(name, diagnoses[name], cluster) for name in sorted(wanted)]
