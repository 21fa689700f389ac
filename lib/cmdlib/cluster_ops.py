"""Logical units acting on the whole cluster's nodes: pushing the
configuration out again, renaming the cluster, switching the master IP,
renewing the node certificates and correcting recorded disk sizes."""

import os
import time
from typing import Any

from ganeti import constants
from ganeti.constants import (
  CRYPTO_ACTION_CREATE,
  CRYPTO_OPTION_CERT_FILE,
  CRYPTO_OPTION_SERIAL_NO,
  CRYPTO_TYPE_SSL_DIGEST)
from ganeti import errors
from ganeti import locking
from ganeti import masterfailover
from ganeti import netutils
from ganeti import pathutils
from ganeti import vcluster
from ganeti import paramdefs
from ganeti.cmdlib import instance_utils
from ganeti.cmdlib import sshkeys
from ganeti.cmdlib.base import LogicalUnit, NoHooksLU
from ganeti.cmdlib.distribution import RedistributeAncillaryFiles, UploadSsconf
from ganeti.utils import io

# Where the master's new client certificate waits until every node knows it
NODED_CLIENT_CERT_FILE_TMP = pathutils.NODED_CLIENT_CERT_FILE + ".tmp"
# candidate_certs key of the master's previous certificate during a renewal
_OLD_MASTER_CERT_SUFFIX = "-OLDMASTER"

# key sizes for a key type the cluster did not use before, and the only
# sizes ssh-keygen accepts for some types
_DEFAULT_KEY_BITS = {paramdefs.SSHK_RSA: 2048, paramdefs.SSHK_DSA: 1024,
                     paramdefs.SSHK_ECDSA: 384}
_ALLOWED_KEY_BITS = {paramdefs.SSHK_DSA: (1024,), paramdefs.SSHK_ECDSA: (256, 384, 521)}


def _AllNodesLocked(lu: LogicalUnit) -> None:
  lu.needed_locks = {locking.LEVEL_NODE: locking.ALL_SET}
  lu.ShareAll()


def _OnlineNodesButMaster(cfg: Any) -> list[str]:
  master = cfg.GetMasterNode()
  return [uuid for uuid in cfg.GetOnlineNodeList() if uuid != master]


class LUClusterRedistConf(NoHooksLU):
  """Pushes the configuration, ssconf and cluster files to all nodes."""

  REQ_BGL = False

  def ExpandNames(self) -> None:
    _AllNodesLocked(self)

  def Exec(self, feedback_fn: Any) -> None:
    # saving the unchanged cluster writes config.data and ssconf anew
    self.cfg.Update(self.cfg.GetClusterInfo(), feedback_fn)
    UploadSsconf(self, _OnlineNodesButMaster(self.cfg))
    RedistributeAncillaryFiles(self)


def _RenameInKnownHosts(old_name: str, new_name: str) -> None:
  """Makes the cluster's host key entry in known_hosts use the new name."""
  text = io.TryReadFile(pathutils.SSH_KNOWN_HOSTS_FILE)
  if text is None:
    return
  lines = []
  for line in text.splitlines():
    host, sep, rest = line.partition(" ")
    names = host.split(",")
    if old_name in names:
      host = ",".join(new_name if name == old_name else name for name in names)
    lines.append(host + sep + rest)
  io.WriteFile(pathutils.SSH_KNOWN_HOSTS_FILE, "\n".join(lines) + "\n", mode=0o644)


class LUClusterRename(LogicalUnit):
  """Gives the cluster a new name and the master IP that name resolves to."""

  HPATH = "cluster-rename"
  HTYPE = constants.HTYPE_CLUSTER

  def ExpandNames(self) -> None:
    self.needed_locks = {}

  def BuildHooksEnv(self) -> dict:
    return {"OP_TARGET": self.cfg.GetClusterName(), "NEW_NAME": self.op.name}

  def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
    return [self.cfg.GetMasterNode()], self.cfg.GetNodeList()

  def CheckPrereq(self) -> None:
    self.new_name, self.new_ip = netutils.ResolveHostname(self.op.name)
    old_name, old_ip = self.cfg.GetClusterName(), self.cfg.GetMasterIP()
    if self.new_name == old_name and self.new_ip == old_ip:
      raise errors.OpPrereqError("Neither the name nor the IP address of the cluster"
                                 " has changed", errors.ECODE_INVAL)
    # every address of a virtual cluster is local and answers: no test there
    if (self.new_ip != old_ip and not vcluster.IsVirtualCluster() and
        masterfailover.IpAnswers(self.new_ip)):
      raise errors.OpPrereqError("The given cluster IP address (%s) is reachable from my"
                                 " machine" % self.new_ip, errors.ECODE_NOTUNIQUE)

  def Exec(self, feedback_fn: Any) -> str:
    rpc = self.context.rpc
    master = self.cfg.GetMasterNode()
    ems = self.cfg.GetUseExternalMipScript()
    params = masterfailover.MasterNetworkParameters(self.cfg)
    rpc.call_node_deactivate_master_ip(master, params, ems).Raise(
      "Could not disable the master role")
    try:
      cluster = self.cfg.GetClusterInfo()
      old_name = cluster.cluster_name
      cluster.cluster_name = self.new_name
      cluster.master_ip = self.new_ip
      self.cfg.Update(cluster, feedback_fn)
      _RenameInKnownHosts(old_name, self.new_name)
      nodes = _OnlineNodesButMaster(self.cfg)
      if nodes:
        for node, result in rpc.call_upload_file(nodes,
                                                 pathutils.SSH_KNOWN_HOSTS_FILE).items():
          if result.fail_msg and not result.offline:
            self.LogWarning("Copy of file %s to node %s failed: %s",
                            pathutils.SSH_KNOWN_HOSTS_FILE, self.cfg.GetNodeName(node),
                            result.fail_msg)
    finally:
      params["ip"] = self.cfg.GetMasterIP()
      rpc.call_node_activate_master_ip(master, params, ems).Warn(
        "Could not re-enable the master role on the master, please restart manually",
        self.LogWarning)
    return self.new_name


class _LUMasterIp(NoHooksLU):
  """Switches the master IP on the master node through its node daemon."""

  REQ_BGL = False
  RPC_CALL = ""
  FAILURE = ""

  def ExpandNames(self) -> None:
    self.needed_locks = {}

  def Exec(self, feedback_fn: Any) -> None:
    params = masterfailover.MasterNetworkParameters(self.cfg)
    call = getattr(self.context.rpc, self.RPC_CALL)
    call(params["uuid"], params, self.cfg.GetUseExternalMipScript()).Raise(self.FAILURE)


class LUClusterActivateMasterIp(_LUMasterIp):
  RPC_CALL = "call_node_activate_master_ip"
  FAILURE = "Could not activate the master IP"


class LUClusterDeactivateMasterIp(_LUMasterIp):
  RPC_CALL = "call_node_deactivate_master_ip"
  FAILURE = "Could not deactivate the master IP"


def _NewDigest(result: Any, node_name: str) -> str:
  """The digest in a node_crypto_tokens answer to one SSL create request."""
  result.Raise("Could not renew the certificate of node %s" % node_name)
  for token_type, value in result.payload:
    if token_type == CRYPTO_TYPE_SSL_DIGEST:
      return value
  raise errors.OpExecError("Node %s did not return a certificate digest" % node_name)


class LUClusterRenewCrypto(NoHooksLU):
  """Renews the node certificates (the client certificates of all nodes)."""

  REQ_BGL = False

  def ExpandNames(self) -> None:
    _AllNodesLocked(self)

  def CheckPrereq(self) -> None:
    cluster = self.cfg.GetClusterInfo()
    if self.op.renew_ssh_keys and not cluster.modify_ssh_setup:
      raise errors.OpPrereqError("The cluster does not manage the nodes' SSH setup"
                                 " (modify_ssh_setup is off): its SSH keys cannot be"
                                 " renewed", errors.ECODE_INVAL)
    self.new_key_type = self.op.ssh_key_type or cluster.ssh_key_type
    if self.op.ssh_key_bits:
      self.new_key_bits = self.op.ssh_key_bits
    elif self.new_key_type == cluster.ssh_key_type:
      self.new_key_bits = cluster.ssh_key_bits
    else:
      self.new_key_bits = _DEFAULT_KEY_BITS[self.new_key_type]
    allowed = _ALLOWED_KEY_BITS.get(self.new_key_type)
    if self.op.renew_ssh_keys and allowed and self.new_key_bits not in allowed:
      raise errors.OpPrereqError("SSH keys of type %s can only have %s bits, not %s" %
                                 (self.new_key_type, " or ".join(map(str, allowed)),
                                  self.new_key_bits), errors.ECODE_INVAL)

  def _Create(self, node_uuid: str, options: dict) -> str:
    request = [[CRYPTO_TYPE_SSL_DIGEST, CRYPTO_ACTION_CREATE, options]]
    result = self.context.rpc.call_node_crypto_tokens(node_uuid, request)
    return _NewDigest(result, self.cfg.GetNodeName(node_uuid))

  def _SaveCandidateCerts(self, certs: dict[str, str], feedback_fn: Any) -> None:
    cluster = self.cfg.GetClusterInfo()
    cluster.candidate_certs = certs
    self.cfg.Update(cluster, feedback_fn)
    # nodes check callers against their ssconf: it must be there before the
    # master changes certificates
    UploadSsconf(self, _OnlineNodesButMaster(self.cfg))

  def _RenewNodeCertificates(self, feedback_fn: Any) -> None:
    cfg = self.cfg
    master = cfg.GetMasterNode()
    serial = {CRYPTO_OPTION_SERIAL_NO: int(time.time())}
    # the master keeps using its old certificate until every node trusts the new one
    master_digest = self._Create(master, dict(
      serial, **{CRYPTO_OPTION_CERT_FILE: vcluster.MakeVirtualPath(NODED_CLIENT_CERT_FILE_TMP)}))
    certs = {master: master_digest}
    for uuid in _OnlineNodesButMaster(cfg):
      node = cfg.GetNodeInfo(uuid)
      try:
        digest = self._Create(uuid, dict(serial))
      except errors.OpExecError as err:
        self.LogWarning("%s", err)
        digest = cfg.GetCandidateCerts().get(uuid)
      if node.master_candidate and digest:
        certs[uuid] = digest
    old_master_digest = cfg.GetCandidateCerts().get(master)
    if old_master_digest:
      self._SaveCandidateCerts(dict(certs, **{master + _OLD_MASTER_CERT_SUFFIX:
                                              old_master_digest}), feedback_fn)
    os.replace(NODED_CLIENT_CERT_FILE_TMP, pathutils.NODED_CLIENT_CERT_FILE)
    self._SaveCandidateCerts(certs, feedback_fn)

  def Exec(self, feedback_fn: Any) -> None:
    if self.op.node_certificates:
      feedback_fn("Renewing the node certificates")
      self._RenewNodeCertificates(feedback_fn)
    if self.op.renew_ssh_keys:
      sshkeys.RenewAllKeys(self, self.new_key_type, self.new_key_bits, feedback_fn)
      cluster = self.cfg.GetClusterInfo()
      cluster.ssh_key_type = self.new_key_type
      cluster.ssh_key_bits = self.new_key_bits
      self.cfg.Update(cluster, feedback_fn)


class LUClusterRepairDiskSizes(NoHooksLU):
  """Corrects the recorded sizes (and spindles) of disks that differ from
  what their primary nodes find; returns (instance, disk index, field, new
  value) for each correction."""

  REQ_BGL = False

  def ExpandNames(self) -> None:
    if self.op.instances:
      self.wanted = [instance_utils.ExpandInstanceName(self.cfg, name)
                     for name in self.op.instances]
      self.needed_locks = {locking.LEVEL_INSTANCE: list(self.wanted),
                           locking.LEVEL_NODE_RES: []}
    else:
      self.wanted = None
      self.needed_locks = {locking.LEVEL_INSTANCE: locking.ALL_SET,
                           locking.LEVEL_NODE_RES: locking.ALL_SET}
    self.ShareAll()

  def DeclareLocks(self, level: int) -> None:
    if level == locking.LEVEL_NODE_RES and self.wanted is not None:
      self.needed_locks[level] = sorted({
        self.cfg.GetInstanceInfoByName(name).primary_node
        for name in self.glm.list_owned(locking.LEVEL_INSTANCE)
        if self.cfg.GetInstanceInfoByName(name) is not None})

  def CheckPrereq(self) -> None:
    names = self.glm.list_owned(locking.LEVEL_INSTANCE)
    self.instances = [inst for inst in (self.cfg.GetInstanceInfoByName(name) for name in names)
                      if inst is not None and (self.wanted is None or inst.name in self.wanted)]

  def _Check(self, inst: Any, index: int, disk: Any,
             dimensions: Any) -> list[tuple[str, int, str, int]]:
    """The corrections one disk needs (made in the configuration)."""
    if not isinstance(dimensions, (list, tuple)) or len(dimensions) != 2:
      self.LogWarning("Disk %d of instance %s did not return valid size information,"
                      " ignoring", index, inst.name)
      return []
    size_bytes, spindles = dimensions
    changes = []
    size = size_bytes >> 20
    if size != disk.size:
      self.LogInfo("Disk %d of instance %s has mismatched size, correcting: recorded %d,"
                   " actual %d", index, inst.name, disk.size, size)
      disk.size = size
      changes.append((inst.name, index, "size", size))
    exclusive = self.cfg.GetNdParams(self.cfg.GetNodeInfo(inst.primary_node)).get(
      paramdefs.ND_EXCLUSIVE_STORAGE)
    if exclusive and spindles is not None and spindles != disk.spindles:
      self.LogInfo("Disk %d of instance %s has mismatched spindles, correcting: recorded"
                   " %s, actual %s", index, inst.name, disk.spindles, spindles)
      disk.spindles = spindles
      changes.append((inst.name, index, "spindles", spindles))
    if self._EnsureChildSizes(disk) and not changes:
      changes.append((inst.name, index, "size", disk.size))
    if changes:
      self.cfg.Update(disk, self.LogInfo)
    return changes

  def _EnsureChildSizes(self, disk: Any) -> bool:
    """Gives a DRBD disk's data device (down its data chain) at least the disk's
    size; whether something changed."""
    if disk.dev_type != constants.DT_DRBD8 or not disk.children:
      return False
    data = disk.children[0]
    mismatch = data.size < disk.size
    if mismatch:
      self.LogInfo("Child disk has size %d, parent %d, fixing", data.size, disk.size)
      data.size = disk.size
    return self._EnsureChildSizes(data) or mismatch

  def Exec(self, feedback_fn: Any) -> list[tuple[str, int, str, int]]:
    by_node: dict[str, list[tuple[Any, int, Any]]] = {}
    for inst in self.instances:
      for index, disk in enumerate(self.cfg.GetInstanceDisks(inst.uuid)):
        by_node.setdefault(inst.primary_node, []).append((inst, index, disk))
    changed = []
    for node_uuid, entries in sorted(by_node.items()):
      if self.cfg.GetNodeInfo(node_uuid).offline:
        continue
      result = self.rpc.call_blockdev_getdimensions(
        node_uuid, [(disk, inst) for inst, _, disk in entries])
      if result.fail_msg:
        self.LogWarning("Failure in blockdev_getdimensions call to node %s, ignoring: %s",
                        self.cfg.GetNodeName(node_uuid), result.fail_msg)
        continue
      if not isinstance(result.payload, list) or len(result.payload) != len(entries):
        self.LogWarning("Invalid result from node %s, ignoring node results",
                        self.cfg.GetNodeName(node_uuid))
        continue
      for (inst, index, disk), dimensions in zip(entries, result.payload):
        if dimensions is None:
          self.LogWarning("Disk %d of instance %s did not return size information,"
                          " ignoring", index, inst.name)
          continue
        changed.extend(self._Check(inst, index, disk, dimensions))
    return changed
