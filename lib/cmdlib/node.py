"""Logical units of nodes: add (and re-add), remove, change flags and
parameters, powercycle.  Storage and volume listings are in node_storage."""

import logging
import socket
from typing import Any, Iterable, Optional

from ganeti.constants import (
  CRYPTO_ACTION_GET,
  CRYPTO_TYPE_SSL_DIGEST,
  ETC_HOSTS_ADD,
  ETC_HOSTS_REMOVE,
  NV_NODELIST,
  NV_PVLIST)
from ganeti import constants
from ganeti import errors
from ganeti import locking
from ganeti import netutils
from ganeti import objects
from ganeti import paramdefs
from ganeti.cmdlib import distribution
from ganeti.cmdlib import sshkeys
from ganeti.cmdlib.base import LogicalUnit, NoHooksLU

# Node-verify key asking a node to check SSH/hostname reachability of others,
# and the crypto token request answered by node_crypto_tokens
# A node parameter given as this value returns to the inherited one
VALUE_DEFAULT = "default"

# How long the reachability probe of a new node's daemon port may take
_TCP_PING_TIMEOUT = 10.0


def DnsOnlyRunner() -> Any:
  """An RPC runner for nodes named by host name (not in the config yet)."""
  from ganeti.rpc import client  # pylint: disable=import-outside-toplevel
  return client.DnsOnlyRunner()


def NodedPort() -> int:
  from ganeti.rpc import client  # pylint: disable=import-outside-toplevel
  return client.GetNodedPort()


def TcpPing(address: str, port: int, source: Optional[str] = None,
            timeout: float = _TCP_PING_TIMEOUT) -> bool:
  """Whether a TCP connection to address:port succeeds (from source if given)."""
  try:
    with socket.create_connection((address, port), timeout=timeout,
                                  source_address=(source, 0) if source else None):
      return True
  except OSError:
    return False


def ExpandNode(cfg: Any, name: Optional[str], uuid: Optional[str] = None) -> tuple[str, str]:
  """(uuid, full name) of a node given by name (possibly short) or uuid."""
  node = cfg.GetNodeInfo(uuid) if uuid else None
  if node is None and name:
    node = cfg.GetNodeInfoByName(name)
    if node is None:
      full_name = cfg.ExpandNodeName(name)
      node = cfg.GetNodeInfoByName(full_name) if full_name else None
  if node is None:
    raise errors.OpPrereqError("Node '%s' not known" % (name or uuid), errors.ECODE_NOENT)
  if name and uuid and node.uuid != uuid:
    raise errors.OpPrereqError("Node name '%s' and uuid '%s' do not match" % (name, uuid),
                               errors.ECODE_INVAL)
  return node.uuid, node.name


def DecideSelfPromotion(cfg: Any, exceptions: Iterable[str] = ()) -> bool:
  """Whether one more (master capable) node should become a master candidate."""
  pool_size = cfg.GetClusterInfo().candidate_pool_size
  mc_now, mc_should, _ = cfg.GetMasterCandidateStats(list(exceptions))
  return mc_now < min(mc_should + 1, pool_size)


def GetClientCertDigest(lu: Any, node: str) -> str:
  """The SHA1 digest of a node's client certificate, asked over RPC."""
  result = lu.rpc.call_node_crypto_tokens(
    node, [[CRYPTO_TYPE_SSL_DIGEST, CRYPTO_ACTION_GET, None]])
  result.Raise("Could not fetch the node's (uuid %s) SSL client certificate." % node)
  ((crypto_type, digest),) = result.payload
  if crypto_type != CRYPTO_TYPE_SSL_DIGEST:
    raise errors.OpExecError("Node %s answered a crypto token of type %s" % (node, crypto_type))
  return digest


def AddNodeCertToCandidateCerts(lu: Any, node_uuid: str) -> None:
  lu.cfg.AddNodeToCandidateCerts(node_uuid, GetClientCertDigest(lu, node_uuid))


def AdjustCandidatePool(lu: Any, exceptions: Iterable[str]) -> None:
  """Promotes nodes until the candidate pool is full, granting them RPC and SSH rights."""
  exceptions = list(exceptions)
  promoted = lu.cfg.MaintainCandidatePool(exceptions)
  if promoted:
    lu.LogInfo("Promoted nodes to master candidate role: %s",
               ", ".join(node.name for node in promoted))
    for node in promoted:
      AddNodeCertToCandidateCerts(lu, node.uuid)
      sshkeys.PromoteNodeKey(lu, node)
  mc_now, mc_max, _ = lu.cfg.GetMasterCandidateStats(exceptions)
  if mc_now > mc_max:
    lu.LogInfo("Note: more nodes are candidates (%d) than desired (%d)" % (mc_now, mc_max))


def CheckNdParams(ndparams: dict) -> None:
  """Checks node parameters given for one node (no cluster-wide ones)."""
  try:
    paramdefs.CheckParams("ndparams", ndparams)
  except errors.TypeEnforcementError as err:
    raise errors.OpPrereqError(str(err), errors.ECODE_INVAL) from None
  global_params = sorted(paramdefs.NDC_GLOBALS.intersection(ndparams))
  if global_params:
    raise errors.OpPrereqError("The following node parameters are global, they cannot be"
                               " changed at node level (modify them at cluster or group"
                               " level): %s" % ", ".join(global_params), errors.ECODE_INVAL)


def _CheckSecondaryIP(value: str) -> None:
  if not netutils.IsValidIP4(value):
    raise errors.OpPrereqError("Secondary IP (%s) needs to be a valid IPv4 address" % value,
                               errors.ECODE_INVAL)


def _AddNodeLocks(lu: Any, node_uuid: str) -> None:
  for level in (locking.LEVEL_NODE, locking.LEVEL_NODE_RES):
    lu.glm.add(level, [node_uuid])


def _RemoveNodeLocks(lu: Any, node_uuid: str) -> None:
  for level in (locking.LEVEL_NODE_RES, locking.LEVEL_NODE):
    if node_uuid in lu.glm.list_owned(level):
      lu.glm.remove(level, [node_uuid])


class LUNodeAdd(LogicalUnit):
  """Adds a node to the cluster, or re-adds one that is already known."""

  HPATH = "node-add"
  HTYPE = constants.HTYPE_NODE
  _NFLAGS = ("master_capable", "vm_capable")

  def CheckArguments(self) -> None:
    self.hostname, self.primary_ip = netutils.ResolveNodeName(self.op.node_name)
    self.op.node_name = self.hostname
    if self.op.readd and self.op.node_name == self.cfg.GetMasterNodeName():
      raise errors.OpPrereqError("Cannot readd the master node", errors.ECODE_STATE)
    if self.op.readd and self.op.group:
      raise errors.OpPrereqError("Cannot pass a node group when a node is being readded",
                                 errors.ECODE_INVAL)

  def BuildHooksEnv(self) -> dict:
    return {"OP_TARGET": self.op.node_name, "NODE_NAME": self.op.node_name,
            "NODE_PIP": self.op.primary_ip, "NODE_SIP": self.op.secondary_ip,
            "MASTER_CAPABLE": str(self.op.master_capable),
            "VM_CAPABLE": str(self.op.vm_capable)}

  def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
    others = [uuid for uuid in self.cfg.GetNodeList() if uuid != self.new_node.uuid]
    post = others + ([self.new_node.uuid] if self.new_node.uuid else [])
    return others, post

  def _CheckIpConflicts(self, existing: Optional[objects.Node]) -> None:
    primary, secondary = self.op.primary_ip, self.op.secondary_ip
    self.changed_primary_ip = False
    for node in self.cfg.GetAllNodesInfo().values():
      if existing is not None and node.uuid == existing.uuid:
        if node.secondary_ip != secondary:
          raise errors.OpPrereqError("Readded node doesn't have the same IP address"
                                     " configuration as before", errors.ECODE_INVAL)
        self.changed_primary_ip = node.primary_ip != primary
        continue
      if {node.primary_ip, node.secondary_ip} & {primary, secondary}:
        raise errors.OpPrereqError("New node ip address(es) conflict with existing node %s"
                                   % node.name, errors.ECODE_NOTUNIQUE)

  def _CheckHoming(self) -> None:
    """The new node must be single- or dual-homed like the master."""
    master = self.cfg.GetMasterNodeInfo()
    master_single = master.secondary_ip == master.primary_ip
    newbie_single = self.op.secondary_ip == self.op.primary_ip
    if master_single and not newbie_single:
      raise errors.OpPrereqError("The master has no secondary ip but the new node has one",
                                 errors.ECODE_INVAL)
    if newbie_single and not master_single:
      raise errors.OpPrereqError("The master has a secondary ip but the new node doesn't"
                                 " have one", errors.ECODE_INVAL)
    if not TcpPing(self.op.primary_ip, NodedPort()):
      raise errors.OpPrereqError("Node not reachable by ping", errors.ECODE_ENVIRON)
    if not newbie_single and not TcpPing(self.op.secondary_ip, NodedPort(),
                                         source=master.secondary_ip):
      raise errors.OpPrereqError("Node secondary ip not reachable by TCP based ping to node"
                                 " daemon port", errors.ECODE_ENVIRON)

  def _CheckNodeDaemon(self) -> None:
    """The node's daemon answers and speaks our protocol version."""
    name = self.op.node_name
    runner = DnsOnlyRunner()
    result = runner.call_version([name])[name]
    result.Raise("Can't get version information from node %s" % name, prereq=True,
                 ecode=errors.ECODE_ENVIRON)
    if result.payload != constants.PROTOCOL_VERSION:
      raise errors.OpPrereqError("Version mismatch master version %s, node version %s" %
                                 (constants.PROTOCOL_VERSION, result.payload),
                                 errors.ECODE_ENVIRON)
    logging.info("Communication to node %s fine, sw version %s match", name, result.payload)
    vg_name = self.cfg.GetVGName()
    if vg_name:
      cluster = self.cfg.GetClusterInfo()
      result = runner.call_node_verify_light(
        [name], {NV_PVLIST: [vg_name]}, cluster.cluster_name,
        cluster.hvparams)[name]
      result.Raise("Checks on node PVs failed", prereq=True, ecode=errors.ECODE_ENVIRON)

  def CheckPrereq(self) -> None:
    op = self.op
    op.primary_ip = self.primary_ip
    if op.secondary_ip is None:
      if self.cfg.GetPrimaryIPFamily() == constants.IP6_FAMILY:
        raise errors.OpPrereqError("When using a IPv6 primary address, a valid IPv4 address"
                                   " must be given as secondary", errors.ECODE_INVAL)
      op.secondary_ip = op.primary_ip
    _CheckSecondaryIP(op.secondary_ip)
    existing = self.cfg.GetNodeInfoByName(op.node_name)
    if not op.readd and existing is not None:
      raise errors.OpPrereqError("Node %s is already in the configuration" % op.node_name,
                                 errors.ECODE_EXISTS)
    if op.readd and existing is None:
      raise errors.OpPrereqError("Node %s is not in the configuration" % op.node_name,
                                 errors.ECODE_NOENT)
    self._CheckIpConflicts(existing if op.readd else None)
    for attr in self._NFLAGS:
      if getattr(op, attr) is None:
        setattr(op, attr, getattr(existing, attr) if op.readd else True)
    if op.readd and not op.vm_capable:
      primary, secondary = self.cfg.GetNodeInstances(existing.uuid)
      if primary or secondary:
        raise errors.OpPrereqError("Node %s being re-added with vm_capable flag set to false,"
                                   " but it already holds instances" % op.node_name,
                                   errors.ECODE_STATE)
    self._CheckHoming()
    exceptions = [existing.uuid] if op.readd else []
    self.master_candidate = bool(op.master_capable and
                                 DecideSelfPromotion(self.cfg, exceptions))
    if op.readd:
      self.new_node = existing
    else:
      self.new_node = objects.Node(name=op.node_name, primary_ip=op.primary_ip,
                                   secondary_ip=op.secondary_ip,
                                   master_candidate=self.master_candidate, offline=False,
                                   drained=False, group=self.cfg.LookupNodeGroup(op.group),
                                   ndparams={})
    if op.ndparams:
      CheckNdParams(op.ndparams)
    self._CheckNodeDaemon()

  def _PrepareNode(self) -> None:
    node = self.new_node
    node.powered = True
    if self.op.readd:
      # cleared before any RPC: an offline node would not be contacted
      node.offline = node.drained = False
      self.LogInfo("Readding a node, the offline/drained flags were reset")
      node.master_candidate = self.master_candidate
      if self.changed_primary_ip:
        node.primary_ip = self.op.primary_ip
    for attr in self._NFLAGS:
      setattr(node, attr, getattr(self.op, attr))
    if node.master_candidate:
      self.LogInfo("Node will be a master candidate")
    node.ndparams = dict(self.op.ndparams or {})
    if self.op.hv_state:
      node.hv_state_static = self.op.hv_state
    if self.op.disk_state:
      node.disk_state_static = self.op.disk_state

  def _VerifyFromMaster(self) -> None:
    master = self.cfg.GetMasterNode()
    cluster = self.cfg.GetClusterInfo()
    result = self.rpc.call_node_verify(
      [master], {NV_NODELIST: ([self.new_node.name], {}, [])}, cluster.cluster_name,
      cluster.hvparams)[master]
    result.Raise("Cannot communicate with node %s" % self.cfg.GetNodeName(master))
    failures = (result.payload or {}).get(NV_NODELIST) or {}
    if failures:
      for failed, message in failures.items():
        self.proc.Log("ssh/hostname verification failed (checking from %s): %s" %
                      (self.cfg.GetNodeName(master), message))
        logging.warning("Node add: %s unreachable: %s", failed, message)
      raise errors.OpExecError("ssh/hostname verification failed")

  def Exec(self, feedback_fn: Any) -> None:
    self._PrepareNode()
    node = self.new_node
    if self.cfg.GetClusterInfo().modify_etc_hosts:
      self.rpc.call_etc_hosts_modify(self.cfg.GetMasterNode(), ETC_HOSTS_ADD, node.name,
                                     self.op.primary_ip).Raise(
        "Can't update hosts file with new host data")
    self._VerifyFromMaster()
    if self.op.readd:
      self.cfg.Update(node, feedback_fn)
      distribution.RedistributeAncillaryFiles(self)
      if not node.master_candidate:
        self.rpc.call_node_demote_from_mc(node.uuid).Warn(
          "Node failed to demote itself from master candidate status", self.LogWarning)
    else:
      self.cfg.AddNode(node, getattr(self.proc, "job_id", None))
      _AddNodeLocks(self, node.uuid)
      distribution.RedistributeAncillaryFiles(self, additional_nodes=[node.uuid])
    # the node's certificate is fetched again even on re-add: it may be new
    digest = GetClientCertDigest(self, node.uuid)
    if node.master_candidate:
      self.cfg.AddNodeToCandidateCerts(node.uuid, digest)
    else:
      self.cfg.RemoveNodeFromCandidateCerts(node.uuid)
    sshkeys.AddNodeKeys(self, node, readd=self.op.readd)


class LUNodeRemove(LogicalUnit):
  """Removes a node; the master and nodes with instances are refused."""

  HPATH = "node-remove"
  HTYPE = constants.HTYPE_NODE

  def CheckArguments(self) -> None:
    self.op.node_uuid, self.op.node_name = ExpandNode(self.cfg, self.op.node_name,
                                                      self.op.node_uuid)

  def ExpandNames(self) -> None:
    # exclusively, as the node's locks disappear with it
    self.needed_locks = {locking.LEVEL_NODE: [self.op.node_uuid],
                         locking.LEVEL_NODE_RES: [self.op.node_uuid]}

  def BuildHooksEnv(self) -> dict:
    return {"OP_TARGET": self.op.node_name, "NODE_NAME": self.op.node_name}

  def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
    others = [uuid for uuid in self.cfg.GetNodeList() if uuid != self.op.node_uuid]
    return others, others

  def CheckPrereq(self) -> None:
    node = self.cfg.GetNodeInfo(self.op.node_uuid)
    if node.uuid == self.cfg.GetMasterNode():
      raise errors.OpPrereqError("Node is the master node, failover to another node is"
                                 " required", errors.ECODE_INVAL)
    for inst in self.cfg.GetAllInstancesInfo().values():
      if node.uuid in self.cfg.GetInstanceNodes(inst.uuid):
        raise errors.OpPrereqError("Instance %s is still running on the node, please remove"
                                   " first" % inst.name, errors.ECODE_INVAL)
    self.node = node

  def Exec(self, feedback_fn: Any) -> None:
    node = self.node
    logging.info("Stopping the node daemon and removing configs from node %s", node.name)
    cluster = self.cfg.GetClusterInfo()
    AdjustCandidatePool(self, [node.uuid])
    self.cfg.RemoveNode(node.uuid)
    _RemoveNodeLocks(self, node.uuid)
    sshkeys.RemoveNodeKeys(self, node)
    # by name: the node is gone from the configuration
    result = DnsOnlyRunner().call_node_leave_cluster(node.name, cluster.modify_ssh_setup)
    if result.fail_msg:
      self.LogWarning("Errors encountered on the remote node while leaving the cluster: %s",
                      result.fail_msg)
    if cluster.modify_etc_hosts:
      self.rpc.call_etc_hosts_modify(self.cfg.GetMasterNode(), ETC_HOSTS_REMOVE, node.name,
                                     None).Raise("Can't update hosts file with new host data")
      distribution.RedistributeAncillaryFiles(self)


# Roles a node's (master_candidate, drained, offline) flags stand for
_ROLE_CANDIDATE, _ROLE_DRAINED, _ROLE_OFFLINE, _ROLE_REGULAR = "candidate", "drained", \
  "offline", "regular"
_FLAGS = ("master_candidate", "drained", "offline")
_ROLE_FLAGS = {
  _ROLE_CANDIDATE: (True, False, False),
  _ROLE_DRAINED: (False, True, False),
  _ROLE_OFFLINE: (False, False, True),
  _ROLE_REGULAR: (False, False, False),
}
_FLAGS_ROLE = {flags: role for role, flags in _ROLE_FLAGS.items()}


class LUNodeSetParams(LogicalUnit):
  """Changes a node's role flags, capabilities, secondary IP and parameters."""

  HPATH = "node-modify"
  HTYPE = constants.HTYPE_NODE
  REQ_BGL = False

  def CheckArguments(self) -> None:
    op = self.op
    op.node_uuid, op.node_name = ExpandNode(self.cfg, op.node_name, op.node_uuid)
    changes = [op.offline, op.master_candidate, op.drained, op.master_capable,
               op.vm_capable, op.secondary_ip, op.ndparams, op.hv_state, op.disk_state]
    if changes.count(None) == len(changes) and op.powered is None:
      raise errors.OpPrereqError("Please pass at least one modification", errors.ECODE_INVAL)
    if changes.count(True) > 1:
      raise errors.OpPrereqError("Can't set the node into more than one state at the same"
                                 " time", errors.ECODE_INVAL)
    self.might_demote = (op.master_candidate is False or op.offline is True or
                         op.drained is True or op.master_capable is False)
    if op.secondary_ip:
      _CheckSecondaryIP(op.secondary_ip)
    self.lock_all = bool(op.auto_promote and self.might_demote)

  def ExpandNames(self) -> None:
    nodes = locking.ALL_SET if self.lock_all else [self.op.node_uuid]
    self.needed_locks = {locking.LEVEL_NODE: nodes}

  def BuildHooksEnv(self) -> dict:
    op = self.op
    return {"OP_TARGET": op.node_name, "MASTER_CANDIDATE": str(op.master_candidate),
            "OFFLINE": str(op.offline), "DRAINED": str(op.drained),
            "MASTER_CAPABLE": str(op.master_capable), "VM_CAPABLE": str(op.vm_capable)}

  def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
    nodes = [self.cfg.GetMasterNode(), self.op.node_uuid]
    return nodes, nodes

  def _CheckSecondaryIpChange(self, node: objects.Node) -> None:
    op = self.op
    master = self.cfg.GetMasterNodeInfo()
    master_single = master.secondary_ip == master.primary_ip
    if master_single and op.secondary_ip != node.primary_ip:
      if not (op.force and node.uuid == master.uuid):
        raise errors.OpPrereqError("Changing the secondary ip on a single-homed cluster"
                                   " requires the --force option to be passed, and the"
                                   " target node to be the master", errors.ECODE_INVAL)
      self.LogWarning("Transitioning from single-homed to multi-homed cluster; all nodes"
                      " will require a secondary IP address")
    elif not master_single and op.secondary_ip == node.primary_ip:
      if not (op.force and node.uuid == master.uuid):
        raise errors.OpPrereqError("Cannot set the secondary IP to be the same as the"
                                   " primary IP on a multi-homed cluster, unless the --force"
                                   " option is passed, and the target node is the master",
                                   errors.ECODE_INVAL)
      self.LogWarning("Transitioning from multi-homed to single-homed cluster; secondary IP"
                      " addresses will have to be removed")
    primary, secondary = self.cfg.GetNodeInstances(node.uuid)
    instances = self.cfg.GetInstanceNames(primary + secondary)
    if node.offline:
      if instances:
        raise errors.OpPrereqError("Cannot change secondary IP address: offline node has"
                                   " instances (%s) configured to use it" %
                                   ", ".join(instances), errors.ECODE_STATE)
    elif node.uuid != master.uuid and not TcpPing(op.secondary_ip, NodedPort(),
                                                  source=master.secondary_ip):
      raise errors.OpPrereqError("Node secondary ip not reachable by TCP based ping to node"
                                 " daemon port", errors.ECODE_ENVIRON)

  def _CheckRoleChange(self, node: objects.Node) -> None:
    op = self.op
    if (op.master_candidate is not None or op.drained is not None or
        op.offline is not None) and node.uuid == self.cfg.GetMasterNode():
      raise errors.OpPrereqError("The master role can be changed only via master-failover",
                                 errors.ECODE_INVAL)
    if op.master_candidate and not node.master_capable:
      raise errors.OpPrereqError("Node %s is not master capable, cannot make it a master"
                                 " candidate" % node.name, errors.ECODE_STATE)
    if op.vm_capable is False:
      primary, secondary = self.cfg.GetNodeInstances(node.uuid)
      if primary or secondary:
        raise errors.OpPrereqError("Node %s hosts instances, cannot unset the vm_capable"
                                   " flag" % node.name, errors.ECODE_STATE)
    if node.master_candidate and self.might_demote and not self.lock_all:
      mc_remaining, mc_should, _ = self.cfg.GetMasterCandidateStats([node.uuid])
      if mc_remaining < mc_should:
        raise errors.OpPrereqError("Not enough master candidates, please pass auto promote"
                                   " option to allow promotion (--auto-promote or RAPI"
                                   " auto_promote=True)", errors.ECODE_STATE)

  def _NewRole(self, node: objects.Node) -> str:
    op = self.op
    for attr in _FLAGS:
      if getattr(op, attr) is False and getattr(node, attr) is False:
        self.LogInfo("Ignoring request to unset flag %s, already unset", attr)
        setattr(op, attr, None)
    oob = bool(self.cfg.GetNdParams(node).get(paramdefs.ND_OOB_PROGRAM))
    if oob:
      if op.offline is False and not (node.powered or op.powered):
        raise errors.OpPrereqError("Node %s needs to be turned on before its offline status"
                                   " can be reset" % op.node_name, errors.ECODE_STATE)
    elif op.powered is not None:
      raise errors.OpPrereqError("Unable to change powered state for node %s as it does not"
                                 " support out-of-band handling" % op.node_name,
                                 errors.ECODE_STATE)
    # a node coming back (or becoming master capable) may take a free candidate seat
    if (op.drained is False or op.offline is False or
        (op.master_capable and not node.master_capable)):
      if DecideSelfPromotion(self.cfg):
        op.master_candidate = True
        self.LogInfo("Auto-promoting node to master candidate")
    if op.master_capable is False and node.master_candidate:
      if node.uuid == self.cfg.GetMasterNode():
        raise errors.OpPrereqError("Master must remain master capable", errors.ECODE_STATE)
      self.LogInfo("Demoting from master candidate")
      op.master_candidate = False
    if op.master_candidate:
      return _ROLE_CANDIDATE
    if op.drained:
      return _ROLE_DRAINED
    if op.offline:
      return _ROLE_OFFLINE
    if False in (op.master_candidate, op.drained, op.offline):
      return _ROLE_REGULAR
    return self.old_role

  def CheckPrereq(self) -> None:
    op = self.op
    node = self.cfg.GetNodeInfo(op.node_uuid)
    self._CheckRoleChange(node)
    self.old_role = _FLAGS_ROLE[(node.master_candidate, node.drained, node.offline)]
    self.old_master_capable = node.master_capable
    self.new_role = self._NewRole(node)
    if self.old_role == _ROLE_OFFLINE and self.new_role != _ROLE_OFFLINE:
      # still marked offline, so the node is named by its address to be asked
      result = self.rpc.call_version([(node.name, node.primary_ip)])[node.name]
      if result.fail_msg:
        raise errors.OpPrereqError("Node %s is being de-offlined but fails to report its"
                                   " version: %s" % (node.name, result.fail_msg),
                                   errors.ECODE_STATE)
      self.LogWarning("Transitioning node from offline to online state without using"
                      " re-add. Please make sure the node is healthy!")
    if op.secondary_ip:
      self._CheckSecondaryIpChange(node)
    if op.ndparams:
      new_ndparams = dict(node.ndparams)
      for key, value in op.ndparams.items():
        if value in (VALUE_DEFAULT, None):
          new_ndparams.pop(key, None)
        else:
          new_ndparams[key] = value
      CheckNdParams(new_ndparams)
      self.new_ndparams = new_ndparams

  def Exec(self, feedback_fn: Any) -> list[tuple[str, str]]:
    op = self.op
    node = self.cfg.GetNodeInfo(op.node_uuid)
    changes: list[tuple[str, str]] = []
    if op.ndparams:
      node.ndparams = self.new_ndparams
    if op.powered is not None:
      node.powered = op.powered
    if op.hv_state:
      node.hv_state_static = op.hv_state
    if op.disk_state:
      node.disk_state_static = op.disk_state
    for attr in ("master_capable", "vm_capable"):
      value = getattr(op, attr)
      if value is not None:
        setattr(node, attr, value)
        changes.append((attr, str(value)))
    if op.secondary_ip:
      node.secondary_ip = op.secondary_ip
      changes.append(("secondary_ip", op.secondary_ip))
    if self.new_role != self.old_role:
      new_flags = _ROLE_FLAGS[self.new_role]
      old_flags = _ROLE_FLAGS[self.old_role]
      changes.extend((name, str(new)) for name, old, new in zip(_FLAGS, old_flags, new_flags)
                     if old != new)
      node.master_candidate, node.drained, node.offline = new_flags
    self.cfg.Update(node, feedback_fn)
    capability_changed = op.master_capable not in (None, self.old_master_capable)
    # a key is listed before anyone is asked to trust it, and unlisted only
    # after the demotion looked it up
    if capability_changed and node.master_capable:
      sshkeys.SetMasterCapableKey(self, node)
    if self.new_role != self.old_role:
      self._ApplyRoleChange(node)
    if capability_changed and not node.master_capable:
      sshkeys.SetMasterCapableKey(self, node)
    return changes

  def _ApplyRoleChange(self, node: objects.Node) -> None:
    # only now: the node must not get configuration updates once demoted
    if self.old_role == _ROLE_CANDIDATE and self.new_role != _ROLE_OFFLINE:
      msg = self.rpc.call_node_demote_from_mc(node.uuid).fail_msg
      if msg:
        self.LogWarning("Node failed to demote itself: %s", msg)
    if self.lock_all:
      AdjustCandidatePool(self, [node.uuid])
    if self.new_role == _ROLE_CANDIDATE:
      AddNodeCertToCandidateCerts(self, node.uuid)
      sshkeys.PromoteNodeKey(self, node)
    if self.old_role == _ROLE_CANDIDATE:
      self.cfg.RemoveNodeFromCandidateCerts(node.uuid)
      sshkeys.DemoteNodeKey(self, node)


class LUNodePowercycle(NoHooksLU):
  """Asks a node's daemon to hard-reboot the machine."""

  REQ_BGL = False

  def CheckArguments(self) -> None:
    self.op.node_uuid, self.op.node_name = ExpandNode(self.cfg, self.op.node_name,
                                                      self.op.node_uuid)
    if self.op.node_uuid == self.cfg.GetMasterNode() and not self.op.force:
      raise errors.OpPrereqError("The node is the master and the force parameter was not"
                                 " set", errors.ECODE_INVAL)

  def ExpandNames(self) -> None:
    self.needed_locks = {}

  def Exec(self, feedback_fn: Any) -> Any:
    cluster = self.cfg.GetClusterInfo()
    hypervisor = cluster.enabled_hypervisors[0]
    result = self.rpc.call_node_powercycle(self.op.node_uuid, hypervisor,
                                           cluster.hvparams.get(hypervisor, {}))
    result.Raise("Failed to schedule the reboot")
    return result.payload


class LURestrictedCommand(NoHooksLU):
  """Runs one of the administrator's restricted commands on nodes; per node
  (success, output or error text), in the order the nodes were given."""

  REQ_BGL = False

  def ExpandNames(self) -> None:
    self.op.node_uuids = [ExpandNode(self.cfg, name)[0] for name in self.op.nodes]
    self.needed_locks = {}
    if self.op.use_locking:
      self.needed_locks[locking.LEVEL_NODE] = list(self.op.node_uuids)
      self.share_locks[locking.LEVEL_NODE] = 1

  def Exec(self, feedback_fn: Any) -> list[tuple[bool, str]]:
    results = self.rpc.call_restricted_command(self.op.node_uuids, self.op.command)
    answers = []
    for uuid in self.op.node_uuids:
      result = results[uuid]
      if result.fail_msg:
        answers.append((False, "Command '%s' on node '%s' failed: %s" %
                        (self.op.command, self.cfg.GetNodeName(uuid), result.fail_msg)))
      else:
        answers.append((True, result.payload))
    return answers
