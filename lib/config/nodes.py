"""Nodes and node groups in the configuration writer."""

import time
from typing import Any, Iterable, Optional

from ganeti import errors
from ganeti import objects
from ganeti.config.common import CopyOrNone, Locked, MatchNameComponent, Writes


class NodeMixin:
  """ConfigWriter methods about nodes, node groups and master candidates."""

  # Nodes

  @Locked
  def GetNodeInfo(self, node_uuid: str) -> Optional[objects.Node]:
    return CopyOrNone(self._config_data.nodes.get(node_uuid))

  def _NodeByName(self, name: str) -> Optional[objects.Node]:
    for node in self._config_data.nodes.values():
      if node.name == name:
        return node
    return None

  @Locked
  def GetNodeInfoByName(self, node_name: str) -> Optional[objects.Node]:
    return CopyOrNone(self._NodeByName(node_name))

  @Locked
  def GetNodeName(self, node_uuid: str) -> Optional[str]:
    node = self._config_data.nodes.get(node_uuid)
    return node.name if node else None

  @Locked
  def GetNodeNames(self, node_uuids: Iterable[str]) -> list[str]:
    """Names of the given nodes; an unknown uuid stays as it is."""
    nodes = self._config_data.nodes
    return [nodes[uuid].name if uuid in nodes else uuid for uuid in node_uuids]

  @Locked
  def GetNodeList(self) -> list[str]:
    return list(self._config_data.nodes)

  @Locked
  def GetAllNodesInfo(self) -> dict[str, objects.Node]:
    """All nodes by uuid (shared objects: read-only)."""
    return dict(self._config_data.nodes)

  @Locked
  def GetMultiNodeInfo(self, node_uuids: Iterable[str]) -> list[tuple[str, Optional[objects.Node]]]:
    nodes = self._config_data.nodes
    return [(uuid, CopyOrNone(nodes.get(uuid))) for uuid in node_uuids]

  @Locked
  def GetOnlineNodeList(self) -> list[str]:
    return [uuid for uuid, node in self._config_data.nodes.items() if not node.offline]

  @Locked
  def GetVmCapableNodeList(self) -> list[str]:
    return [uuid for uuid, node in self._config_data.nodes.items() if node.vm_capable]

  @Locked
  def GetNonVmCapableNodeList(self) -> list[str]:
    return [uuid for uuid, node in self._config_data.nodes.items()
            if not node.vm_capable]

  @Locked
  def GetMasterCandidateUuids(self) -> list[str]:
    return [uuid for uuid, node in self._config_data.nodes.items()
            if node.master_candidate]

  @Locked
  def ExpandNodeName(self, short_name: str) -> Optional[str]:
    """The full name of the node short_name abbreviates, or None."""
    return MatchNameComponent(short_name,
                              [node.name for node in self._config_data.nodes.values()])

  def _MasterCandidateStats(self, exceptions: Iterable[str]) -> tuple[int, int, int]:
    exceptions = set(exceptions or ())
    mc_now = mc_max = 0
    for uuid, node in self._config_data.nodes.items():
      if uuid in exceptions or node.offline or node.drained or not node.master_capable:
        continue
      mc_max += 1
      if node.master_candidate:
        mc_now += 1
    mc_should = min(mc_max, self._config_data.cluster.candidate_pool_size)
    return mc_now, mc_should, mc_max

  @Locked
  def GetMasterCandidateStats(self, exceptions: Optional[Iterable[str]] = None
                              ) -> tuple[int, int, int]:
    """(current, desired, possible) numbers of master candidates.

    Nodes in exceptions (uuids), offline, drained or not master capable do
    not count.
    """
    return self._MasterCandidateStats(exceptions or ())

  @Writes
  def MaintainCandidatePool(self, exception_node_uuids: Iterable[str] = ()
                            ) -> list[objects.Node]:
    """Promotes nodes until the candidate pool is full; returns them (copies)."""
    exceptions = set(exception_node_uuids)
    mc_now, mc_should, _ = self._MasterCandidateStats(exceptions)
    promoted = []
    now = time.time()
    for uuid, node in list(self._config_data.nodes.items()):
      if mc_now >= mc_should:
        break
      if (node.master_candidate or uuid in exceptions or node.offline or
          node.drained or not node.master_capable):
        continue
      node = self._Writable("nodes", uuid)
      node.master_candidate = True
      node.serial_no += 1
      node.mtime = now
      mc_now += 1
      promoted.append(node.Copy())
    if promoted:
      self._WriteConfig()
    return promoted

  @Writes
  def AddNode(self, node: objects.Node, ec_id: Any = None) -> None:
    """Adds a node; its group (uuid or name, None for the default) must exist."""
    node.group = self._LookupNodeGroup(node.group)
    self._AddNamed(node, self._config_data.nodes, "node", ec_id)
    RebuildGroupMembers(self._config_data)
    self._WriteConfig()

  @Writes
  def RemoveNode(self, node_uuid: str) -> None:
    if self._config_data.nodes.pop(node_uuid, None) is None:
      raise errors.ConfigurationError("Unknown node %s" % node_uuid)
    if node_uuid in self._config_data.cluster.candidate_certs:
      del self._WritableCluster().candidate_certs[node_uuid]
    RebuildGroupMembers(self._config_data)
    self._WriteConfig()

  @Writes
  def AssignGroupNodes(self, mods: Iterable[tuple[str, str]]) -> None:
    """Moves nodes to groups: mods is [(node_uuid, new_group_uuid), ...]."""
    now = time.time()
    data = self._config_data
    for node_uuid, group_uuid in mods:
      if node_uuid not in data.nodes:
        raise errors.ConfigurationError("Unknown node %s" % node_uuid)
      if group_uuid not in data.nodegroups:
        raise errors.ConfigurationError("Unknown node group %s" % group_uuid)
    for node_uuid, group_uuid in mods:
      node = self._Writable("nodes", node_uuid)
      changed_groups = [uuid for uuid in (node.group, group_uuid) if uuid in data.nodegroups]
      node.group = group_uuid
      node.serial_no += 1
      node.mtime = now
      for uuid in changed_groups:
        group = self._Writable("nodegroups", uuid)
        group.serial_no += 1
        group.mtime = now
    RebuildGroupMembers(data)
    self._WriteConfig()

  # Node groups

  @Locked
  def GetNodeGroup(self, group_uuid: str) -> Optional[objects.NodeGroup]:
    return CopyOrNone(self._config_data.nodegroups.get(group_uuid))

  @Locked
  def GetAllNodeGroupsInfo(self) -> dict[str, objects.NodeGroup]:
    """All node groups by uuid (shared objects: read-only)."""
    return dict(self._config_data.nodegroups)

  @Locked
  def GetNodeGroupList(self) -> list[str]:
    return list(self._config_data.nodegroups)

  @Locked
  def GetMultiNodeGroupInfo(self, group_uuids: Iterable[str]
                            ) -> list[tuple[str, Optional[objects.NodeGroup]]]:
    groups = self._config_data.nodegroups
    return [(uuid, CopyOrNone(groups.get(uuid))) for uuid in group_uuids]

  def _LookupNodeGroup(self, target: Optional[str]) -> str:
    groups = self._config_data.nodegroups
    if target is None:
      if len(groups) != 1:
        raise errors.OpPrereqError("More than one node group exists. Target"
                                   " group must be specified explicitly.",
                                   errors.ECODE_INVAL)
      return next(iter(groups))
    if target in groups:
      return target
    for uuid, group in groups.items():
      if group.name == target:
        return uuid
    raise errors.OpPrereqError("Node group '%s' not found" % target,
                               errors.ECODE_NOENT)

  @Locked
  def LookupNodeGroup(self, target: Optional[str]) -> str:
    """The uuid of the group named or identified by target.

    With target None, the only group (refused when there are several).
    """
    return self._LookupNodeGroup(target)

  @Locked
  def LookupNodeGroupInfo(self, target: str) -> Optional[objects.NodeGroup]:
    """The node group named or identified by target (a copy), or None."""
    groups = self._config_data.nodegroups
    group = groups.get(target) or next(
      (group for group in groups.values() if group.name == target), None)
    return CopyOrNone(group)

  @Locked
  def GetNodeGroupsFromNodes(self, node_uuids: Iterable[str]) -> frozenset[str]:
    nodes = self._config_data.nodes
    return frozenset(nodes[uuid].group for uuid in node_uuids)

  @Writes
  def AddNodeGroup(self, group: objects.NodeGroup, ec_id: Any = None,
                   check_uuid: bool = True) -> None:
    group.members = []
    self._AddNamed(group, self._config_data.nodegroups, "node group", ec_id,
                   check_uuid)
    self._WriteConfig()

  @Writes
  def RemoveNodeGroup(self, group_uuid: str) -> None:
    group = self._config_data.nodegroups.get(group_uuid)
    if group is None:
      raise errors.ConfigurationError("Unknown node group %s" % group_uuid)
    if group.members:
      raise errors.ConfigurationError("Node group '%s' still has nodes" % group.name)
    del self._config_data.nodegroups[group_uuid]
    self._WriteConfig()


def RebuildGroupMembers(data: objects.ConfigData) -> None:
  """Recomputes each node group's member list from the nodes' groups.

  A group whose members change is replaced by a new object, like every
  change of a stored object.
  """
  members: dict[str, list[str]] = {uuid: [] for uuid in data.nodegroups}
  for node_uuid, node in data.nodes.items():
    if node.group in members:
      members[node.group].append(node_uuid)
  for uuid, group in list(data.nodegroups.items()):
    if group.members != members[uuid]:
      group = group.Copy()
      group.members = members[uuid]
      data.nodegroups[uuid] = group
