"""The context getters of config-derived resources read.

ConfigContext holds the configuration objects (as ganeti.objects defines
them: node.name, node.group (uuid), instance.primary_node (uuid),
instance.disks (disk uuids), instance.nics, ...), optional live data, and
relations between objects computed once per query, on first use.

Live data, when collected (None means "not collected": live fields then
have no data):

  live_nodes      {node uuid: {field name: value}} for the node fields
                  mtotal, mnode, mfree, dtotal, dfree, sptotal, spfree,
                  ctotal, cnos, cnodes, csockets, bootid; a node without an
                  entry (RPC failed) or a missing key has no data
  live_instances  {instance uuid: {"node": node uuid, "memory": MiB,
                  "vcpus": n}} for every instance found running
  bad_nodes       uuids of nodes whose live data could not be fetched
  consoles        {instance uuid: console description}
"""

import functools
from typing import Any, Callable, Iterable, Optional

from ganeti import paramdefs
from ganeti.query.common import NiceSortKey

_DT_MIXED = "mixed"  # disk template of an instance with disks of several types


def _SortedNames(names: Iterable[str]) -> list[str]:
  return sorted(names, key=NiceSortKey)


class ConfigContext:
  """Configuration objects by uuid, live data and derived relations."""

  def __init__(self, cluster: Any, nodes: dict, groups: dict, instances: dict,
               disks: dict, networks: dict, *,
               live_nodes: Optional[dict] = None, live_instances: Optional[dict] = None,
               bad_nodes: Iterable[str] = (), consoles: Optional[dict] = None) -> None:
    self.cluster = cluster
    self.nodes = nodes
    self.groups = groups
    self.instances = instances
    self.disks = disks
    self.networks = networks
    self.live_nodes = live_nodes
    self.live_instances = live_instances
    self.bad_nodes = frozenset(bad_nodes)
    self.consoles = consoles
    self._filled: dict[str, dict] = {}

  @classmethod
  def FromConfig(cls, cfg: Any, **live: Any) -> "ConfigContext":
    """A context over a config.ConfigWriter's current objects."""
    return cls(cfg.GetClusterInfo(), cfg.GetAllNodesInfo(), cfg.GetAllNodeGroupsInfo(),
               cfg.GetAllInstancesInfo(), cfg.GetAllDisksInfo(), cfg.GetAllNetworksInfo(),
               **live)

  # ---- names ----------------------------------------------------------------

  def NodeName(self, uuid: str) -> Optional[str]:
    node = self.nodes.get(uuid)
    return node.name if node else None

  def NodeGroup(self, node_uuid: str) -> Any:
    node = self.nodes.get(node_uuid)
    return self.groups.get(node.group) if node else None

  def NetworkName(self, uuid: Optional[str]) -> Optional[str]:
    network = self.networks.get(uuid) if uuid else None
    return network.name if network else None

  # ---- instances and their nodes and disks ------------------------------------

  def InstanceDisks(self, inst: Any) -> list:
    return [self.disks[uuid] for uuid in inst.disks if uuid in self.disks]

  def SecondaryNodes(self, inst: Any) -> list[str]:
    """Uuids of the nodes of the instance's disks other than the primary."""
    result: list[str] = []
    for disk in self.InstanceDisks(inst):
      for node_uuid in disk.nodes or ():
        if node_uuid != inst.primary_node and node_uuid not in result:
          result.append(node_uuid)
    return result

  def DiskTemplate(self, inst: Any) -> str:
    types = {disk.dev_type for disk in self.InstanceDisks(inst)}
    if not types:
      return "diskless"
    return types.pop() if len(types) == 1 else _DT_MIXED

  @functools.cached_property
  def _NodeInstances(self) -> tuple[dict, dict]:
    primary: dict[str, list[str]] = {}
    secondary: dict[str, list[str]] = {}
    for inst in self.instances.values():
      primary.setdefault(inst.primary_node, []).append(inst.name)
      for node_uuid in self.SecondaryNodes(inst):
        secondary.setdefault(node_uuid, []).append(inst.name)
    return ({uuid: _SortedNames(names) for uuid, names in primary.items()},
            {uuid: _SortedNames(names) for uuid, names in secondary.items()})

  def PrimaryInstances(self, node_uuid: str) -> list[str]:
    return self._NodeInstances[0].get(node_uuid, [])

  def SecondaryInstances(self, node_uuid: str) -> list[str]:
    return self._NodeInstances[1].get(node_uuid, [])

  # ---- groups -----------------------------------------------------------------

  @functools.cached_property
  def _GroupMembers(self) -> tuple[dict, dict]:
    nodes: dict[str, list[str]] = {}
    instances: dict[str, list[str]] = {}
    for node in self.nodes.values():
      nodes.setdefault(node.group, []).append(node.name)
    for inst in self.instances.values():
      node = self.nodes.get(inst.primary_node)
      if node is not None:
        instances.setdefault(node.group, []).append(inst.name)
    return ({uuid: _SortedNames(names) for uuid, names in nodes.items()},
            {uuid: _SortedNames(names) for uuid, names in instances.items()})

  def GroupNodes(self, group_uuid: str) -> list[str]:
    return self._GroupMembers[0].get(group_uuid, [])

  def GroupInstances(self, group_uuid: str) -> list[str]:
    return self._GroupMembers[1].get(group_uuid, [])

  # ---- networks -----------------------------------------------------------------

  @functools.cached_property
  def _NetworkInstances(self) -> dict[str, list[str]]:
    result: dict[str, set[str]] = {}
    for inst in self.instances.values():
      for nic in inst.nics:
        if nic.network:
          result.setdefault(nic.network, set()).add(inst.name)
    return {uuid: _SortedNames(names) for uuid, names in result.items()}

  def NetworkInstances(self, net_uuid: str) -> list[str]:
    return self._NetworkInstances.get(net_uuid, [])

  def NetworkGroups(self, net_uuid: str) -> list[list[str]]:
    """[group name, NIC mode, NIC link, VLAN] of the groups the network is connected to."""
    result = []
    for group in self.groups.values():
      params = (group.networks or {}).get(net_uuid)
      if params is not None:
        result.append([group.name, params.get("mode"), params.get("link"),
                       params.get("vlan", "")])
    return sorted(result, key=lambda entry: NiceSortKey(entry[0]))

  # ---- effective parameters, computed once per object ------------------------------

  def _Memo(self, kind: str, obj: Any, compute: Callable[[Any], Any]) -> Any:
    cache = self._filled.setdefault(kind, {})
    value = cache.get(obj.uuid)
    if value is None:
      value = cache[obj.uuid] = compute(obj)
    return value

  def FilledBE(self, inst: Any) -> dict:
    return self._Memo("be", inst, self.cluster.FillBE)

  def FilledHV(self, inst: Any) -> dict:
    return self._Memo("hv", inst, lambda obj: self.cluster.FillHV(obj, skip_globals=True))

  def FilledOS(self, inst: Any) -> dict:
    def compute(obj: Any) -> dict:
      result: dict = {}
      os_name = obj.os or ""
      for name in dict.fromkeys([os_name.split("+", 1)[0], os_name]):
        result.update(self.cluster.osparams.get(name, {}))
      result.update(obj.osparams or {})
      return result
    return self._Memo("os", inst, compute)

  def FilledND(self, node: Any) -> dict:
    def compute(obj: Any) -> dict:
      group = self.groups.get(obj.group)
      return (self.cluster.FillND(obj, group) if group is not None
              else self.cluster.SimpleFillND(obj.ndparams))
    return self._Memo("nd", node, compute)

  def FilledGroupND(self, group: Any) -> dict:
    return self._Memo("group-nd", group, lambda obj: self.cluster.SimpleFillND(obj.ndparams))

  # ---- single parameters, looked up without filling whole dicts --------------------
  # Each gives the dicts a parameter is looked up in, most specific first.

  def BackendLayers(self, inst: Any) -> tuple[dict, ...]:
    return (inst.beparams or {}, self.cluster.beparams.get(paramdefs.PP_DEFAULT, {}))

  def HypervisorLayers(self, inst: Any) -> tuple[dict, ...]:
    os_params = self.cluster.os_hvp.get(inst.os, {}).get(inst.hypervisor, {})
    return (inst.hvparams or {}, os_params, self.cluster.hvparams.get(inst.hypervisor, {}))

  def NodeLayers(self, node: Any) -> tuple[dict, ...]:
    group = self.groups.get(node.group)
    return (node.ndparams or {}, group.ndparams if group else {}, self.cluster.ndparams)

  def GroupNodeLayers(self, group: Any) -> tuple[dict, ...]:
    return (group.ndparams or {}, self.cluster.ndparams)

  def NicParam(self, nic: Any, name: str) -> Any:
    """A NIC's effective parameter (its own, else the cluster's), or None."""
    params = nic.nicparams or {}
    if name in params:
      return params[name]
    return self.cluster.nicparams.get(paramdefs.PP_DEFAULT, {}).get(name)
