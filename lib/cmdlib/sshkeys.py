"""Root SSH keys of the cluster, master side: who records and who trusts whose key.

Every node keeps the cluster's public key list (pathutils.SSH_PUB_KEYS) with
the keys of the potential master candidates (master capable nodes), and lets
the master candidates in as root (authorized_keys).  Each node edits its own
files when asked over RPC (backend.sshkeys); these helpers decide who is told
what.  Nothing here is fatal: a failure is a warning, and cluster verify
reports the node left behind.  All of it only when the cluster manages SSH
(modify_ssh_setup).
"""

from typing import Any, Iterable

from ganeti import objects
from ganeti import pathutils


def _Managed(lu: Any) -> bool:
  return bool(lu.cfg.GetClusterInfo().modify_ssh_setup)


def _PotentialCandidates(lu: Any) -> list[str]:
  return sorted(node.name for node in lu.cfg.GetAllNodesInfo().values()
                if node.master_capable)


def _Candidates(lu: Any) -> list[str]:
  return sorted(uuid for uuid, node in lu.cfg.GetAllNodesInfo().items()
                if node.master_candidate)


def _Online(lu: Any, exclude: Iterable[str] = ()) -> list[str]:
  exclude = set(exclude)
  return [uuid for uuid, node in lu.cfg.GetAllNodesInfo().items()
          if not node.offline and uuid not in exclude]


def _Warn(lu: Any, results: dict, what: str) -> bool:
  """Logs the failed answers; returns whether every contacted node succeeded."""
  ok = True
  for node, result in results.items():
    if result.fail_msg and not result.offline:
      lu.LogWarning("%s failed on node %s: %s", what, lu.cfg.GetNodeName(node) or node,
                    result.fail_msg)
      ok = False
  return ok


def _UploadPublicKeys(lu: Any, node_uuids: list[str]) -> None:
  """Copies the master's public key list to the given nodes."""
  if node_uuids:
    _Warn(lu, lu.rpc.call_upload_file(node_uuids, pathutils.SSH_PUB_KEYS),
          "Copying the SSH public key list")


def _TrustKey(lu: Any, node: objects.Node, node_uuids: list[str]) -> None:
  """Lets a master candidate in as root on the given nodes (found in their lists)."""
  if node_uuids:
    _Warn(lu, lu.rpc.call_node_ssh_key_add(node_uuids, node.uuid, node.name,
                                           _PotentialCandidates(lu), True, False, False),
          "Authorizing the SSH key of node %s" % node.name)


def _RecordKey(lu: Any, node: objects.Node, readd: bool) -> bool:
  """The master records the node's key (read over SSH) and hands out its list."""
  master = lu.cfg.GetMasterNode()
  if readd:
    # the node may come back with a new key: read it afresh
    _Warn(lu, lu.rpc.call_node_ssh_key_remove([master], node.uuid, node.name,
                                              _Candidates(lu), None,
                                              False, True, False, False, False),
          "Forgetting the old SSH key of node %s" % node.name)
  ok = _Warn(lu, lu.rpc.call_node_ssh_key_add([master], node.uuid, node.name,
                                              _PotentialCandidates(lu), False, True, True),
             "Reading the SSH key of node %s" % node.name)
  _UploadPublicKeys(lu, _Online(lu, [master]))
  return ok


def AddNodeKeys(lu: Any, node: objects.Node, readd: bool = False) -> None:
  """A node joined: its key goes to every list (and authorized_keys if it is a
  candidate); it gets the list and trusts the master candidates."""
  if not _Managed(lu):
    return
  if node.master_capable:
    if not _RecordKey(lu, node, readd):
      return
  else:
    _UploadPublicKeys(lu, [node.uuid])
  if node.master_candidate:
    _TrustKey(lu, node, _Online(lu))
  for candidate in lu.cfg.GetAllNodesInfo().values():
    if candidate.master_candidate and candidate.uuid != node.uuid:
      _TrustKey(lu, candidate, [node.uuid])


def _RemoveKey(lu: Any, node: objects.Node, targets: list[str], what: str,
               from_authorized: bool, from_list: bool) -> None:
  """Has the target nodes drop node's key from authorized_keys and/or the key list."""
  _Warn(lu, lu.rpc.call_node_ssh_key_remove(targets, node.uuid, node.name, _Candidates(lu),
                                            _PotentialCandidates(lu), from_authorized,
                                            from_list, False, False, False),
        what % node.name)


def RemoveNodeKeys(lu: Any, node: objects.Node) -> None:
  """A node left (already out of the configuration): every node forgets its key."""
  if not _Managed(lu):
    return
  _RemoveKey(lu, node, _Online(lu, [node.uuid]), "Removing the SSH key of node %s",
             from_authorized=True, from_list=True)


def PromoteNodeKey(lu: Any, node: objects.Node) -> None:
  """A node became master candidate: every node lets it in as root."""
  if _Managed(lu):
    _TrustKey(lu, node, _Online(lu))


def DemoteNodeKey(lu: Any, node: objects.Node) -> None:
  """A node stopped being master candidate: the others no longer let it in."""
  if not _Managed(lu):
    return
  _RemoveKey(lu, node, _Online(lu, [node.uuid]), "Revoking the SSH key of node %s",
             from_authorized=True, from_list=False)


def SetMasterCapableKey(lu: Any, node: objects.Node) -> None:
  """The node's master_capable flag changed: its key joins or leaves the lists."""
  if not _Managed(lu):
    return
  if node.master_capable:
    _RecordKey(lu, node, False)
  else:
    _RemoveKey(lu, node, _Online(lu), "Removing the SSH key of node %s from the key list",
               from_authorized=False, from_list=True)


def _RenewNodeKey(lu: Any, node: objects.Node, old_type: str, new_type: str,
                  new_bits: Any) -> None:
  """One node gets a new key pair; every other node swaps its old key for it."""
  master = lu.cfg.GetMasterNode()
  results = lu.rpc.call_node_ssh_keys_renew([node.uuid], [node.uuid], [node.name],
                                            _Candidates(lu), _PotentialCandidates(lu),
                                            old_type, new_type, new_bits)
  results[node.uuid].Raise("Could not renew the SSH key of node %s" % node.name)
  others = _Online(lu, [node.uuid])
  # the others find the old key in their (not yet updated) lists
  _RemoveKey(lu, node, others, "Removing the old SSH key of node %s",
             from_authorized=node.master_candidate, from_list=True)
  if node.master_capable and node.uuid != master:
    # the master still reaches the node with its own (old) key to read the new one
    _Warn(lu, lu.rpc.call_node_ssh_key_add([master], node.uuid, node.name,
                                           _PotentialCandidates(lu), False, True, True),
          "Reading the new SSH key of node %s" % node.name)
  _UploadPublicKeys(lu, _Online(lu, [master]))
  if node.master_candidate:
    _TrustKey(lu, node, others)


def RenewAllKeys(lu: Any, new_type: str, new_bits: Any, feedback_fn: Any) -> None:
  """Gives every online node a new root key pair, the master's last: until
  then its old key opens the other nodes for reading their new ones."""
  cfg = lu.cfg
  master = cfg.GetMasterNode()
  old_type = cfg.GetClusterInfo().ssh_key_type
  nodes = sorted((cfg.GetNodeInfo(uuid) for uuid in _Online(lu)),
                 key=lambda node: (node.uuid == master, node.name))
  for node in nodes:
    feedback_fn("Renewing the SSH key of node %s" % node.name)
    _RenewNodeKey(lu, node, old_type, new_type, new_bits)
