"""Cluster verification: gnt-cluster verify and verify-disks.

OpClusterVerify only submits jobs: one OpClusterVerifyConfig (the
configuration, certificates, parameters) and, depending on it, one
OpClusterVerifyGroup per node group (the nodes asked through the node_verify
RPC, compared with each other and with the configuration).  Problems are
reported through the job's feedback as "  - ERROR: node node2: ..." lines
(or "ERROR:ECODE:node:node2:..." with error_codes) and make the result False.
"""

import os
import re
import time
from typing import Any, Callable, Iterable, Optional

from ganeti import constants
from ganeti import errors
from ganeti import locking
from ganeti import objects
from ganeti import opcodes
from ganeti import paramdefs
from ganeti import pathutils
from ganeti import vcluster
from ganeti.utils import x509
from ganeti.cmdlib.base import LogicalUnit, NoHooksLU, ResultWithJobs

ETYPE_ERROR = "ERROR"
ETYPE_WARNING = "WARNING"

# Verify error codes (Ganeti's constants.CV_*): (item type, code, description)
CV_ECLUSTERCERT = ("cluster", "ECLUSTERCERT", "Cluster certificate files verification failure")
CV_ECLUSTERCFG = ("cluster", "ECLUSTERCFG", "Cluster configuration verification failure")
CV_ECLUSTERCLIENTCERT = ("cluster", "ECLUSTERCLIENTCERT",
                         "Cluster client certificate files verification failure")
CV_ECLUSTERDANGLINGINST = ("node", "ECLUSTERDANGLINGINST",
                           "Some instances have a non-existing primary node")
CV_ECLUSTERDANGLINGNODES = ("node", "ECLUSTERDANGLINGNODES",
                            "Some nodes belong to non-existing groups")
CV_ECLUSTERFILECHECK = ("cluster", "ECLUSTERFILECHECK",
                        "Cluster configuration verification failure")
CV_EINSTANCEBADNODE = ("instance", "EINSTANCEBADNODE",
                       "Instance marked as running lives on an offline node")
CV_EINSTANCEDOWN = ("instance", "EINSTANCEDOWN", "Instance not running on its primary node")
CV_EINSTANCELAYOUT = ("instance", "EINSTANCELAYOUT", "Instance has multiple secondary nodes")
CV_EINSTANCEWRONGNODE = ("instance", "EINSTANCEWRONGNODE", "Instance running on the wrong node")
CV_ENODEFILECHECK = ("node", "ENODEFILECHECK", "Error retrieving the checksum of the node files")
CV_ENODEFILESTORAGEPATHS = ("node", "ENODEFILESTORAGEPATHS", "Detected bad file storage paths")
CV_ENODEFILESTORAGEPATHUNUSABLE = ("node", "ENODEFILESTORAGEPATHUNUSABLE",
                                   "File storage path unusable")
CV_ENODESHAREDFILESTORAGEPATHUNUSABLE = ("node", "ENODESHAREDFILESTORAGEPATHUNUSABLE",
                                         "Shared file storage path unusable")
CV_ENODEGLUSTERSTORAGEPATHUNUSABLE = ("node", "ENODEGLUSTERSTORAGEPATHUNUSABLE",
                                      "Gluster storage path unusable")
CV_ENODEDRBD = ("node", "ENODEDRBD", "Error parsing the DRBD status file")
CV_ENODEHOOKS = ("node", "ENODEHOOKS", "Communication failure in hooks execution")
CV_ENODEHV = ("node", "ENODEHV", "Hypervisor parameters verification failure")
CV_ENODELVM = ("node", "ENODELVM", "LVM-related node error")
CV_ENODEN1 = ("node", "ENODEN1", "Not enough memory to accommodate instance failovers")
CV_ENODENET = ("node", "ENODENET", "Network-related node error")
CV_ENODEOOBPATH = ("node", "ENODEOOBPATH", "Invalid Out Of Band path")
CV_ENODEORPHANINSTANCE = ("node", "ENODEORPHANINSTANCE", "Unknown intance running on a node")
CV_ENODEORPHANLV = ("node", "ENODEORPHANLV", "Unknown LVM logical volume")
CV_ENODEOS = ("node", "ENODEOS", "OS-related node error")
CV_ENODERPC = ("node", "ENODERPC", "Error during connection to the primary node of an instance")
CV_ENODESETUP = ("node", "ENODESETUP", "Node setup error")
CV_ENODESSH = ("node", "ENODESSH", "SSH-related node error")
CV_ENODETIME = ("node", "ENODETIME", "Node returned invalid time")
CV_ENODEUSERSCRIPTS = ("node", "ENODEUSERSCRIPTS", "User scripts not present or not executable")
CV_ENODEVERSION = ("node", "ENODEVERSION",
                   "Protocol version mismatch or Ganeti version mismatch")


# The certificates whose validity the configuration check looks at
_CERT_FILES = (pathutils.RAPI_CERT_FILE, pathutils.NODED_CERT_FILE, pathutils.SPICE_CERT_FILE,
               pathutils.SPICE_CACERT_FILE)
_MASTERD_USER = "gnt-masterd"

# Disk templates whose instances survive the loss of their primary node
_DTS_MIRRORED = frozenset([constants.DT_DRBD8, constants.DT_SHARED_FILE, constants.DT_BLOCK,
                           constants.DT_RBD, constants.DT_EXT, constants.DT_GLUSTER])

# (disk template, node-verify key, error code) of the file-based storage paths
_STORAGE_PATH_CHECKS = (
  (constants.DT_FILE, constants.NV_FILE_STORAGE_PATH, CV_ENODEFILESTORAGEPATHUNUSABLE,
   "file_storage_dir"),
  (constants.DT_SHARED_FILE, constants.NV_SHARED_FILE_STORAGE_PATH,
   CV_ENODESHAREDFILESTORAGEPATHUNUSABLE, "shared_file_storage_dir"),
  (constants.DT_GLUSTER, constants.NV_GLUSTER_STORAGE_PATH, CV_ENODEGLUSTERSTORAGEPATHUNUSABLE,
   "gluster_storage_dir"),
)

_HOOKS_INDENT_RE = re.compile("^", re.M)


def _CommaJoin(names: Iterable[Any]) -> str:
  return ", ".join(str(name) for name in names)


def _Leaves(disk: objects.Disk) -> list[objects.Disk]:
  """The disk itself, or the devices at the bottom of its tree."""
  if not disk.children:
    return [disk]
  return [leaf for child in disk.children for leaf in _Leaves(child)]

class _VerifyErrors:
  """Reporting of verification problems in Ganeti's format."""

  op: Any
  bad = False
  _feedback_fn: Callable[[str], None]

  def _Error(self, ecode: tuple, item: Optional[str], msg: str, *args: Any,
             code: Optional[str] = ETYPE_ERROR) -> None:
    itype, etxt, _ = ecode
    if code == ETYPE_ERROR and etxt in (self.op.ignore_errors or []):
      code = ETYPE_WARNING
    if args:
      msg = msg % args
    if self.op.error_codes:
      text = "%s:%s:%s:%s:%s" % (code, etxt, itype, item, msg)
    else:
      text = "%s: %s %s: %s" % (code, itype, item or "", msg)
    self._feedback_fn("  - %s" % text)
    if code == ETYPE_ERROR:
      self.bad = True

  def _ErrorIf(self, cond: Any, ecode: tuple, item: Optional[str], msg: str, *args: Any,
               code: Optional[str] = ETYPE_ERROR) -> None:
    """Reports when cond holds (always, when simulating errors)."""
    if bool(cond) or self.op.debug_simulate_errors:
      self._Error(ecode, item, msg, *args, code=code)


def _HypervisorParameters(cfg: Any) -> list[tuple[str, str, dict]]:
  """(source, hypervisor, filled parameters) for the cluster, OSes and instances."""
  cluster = cfg.GetClusterInfo()
  result = []
  for hv_name in cluster.enabled_hypervisors:
    base = cluster.hvparams.get(hv_name, {})
    result.append(("cluster", hv_name, dict(base)))
    for os_name, os_hvp in sorted(cluster.os_hvp.items()):
      if hv_name in os_hvp:
        result.append(("os %s" % os_name, hv_name, objects.FillDict(base, os_hvp[hv_name])))
  for inst in cfg.GetAllInstancesInfo().values():
    if inst.hvparams:
      base = cluster.hvparams.get(inst.hypervisor, {})
      result.append(("instance %s" % inst.name, inst.hypervisor,
                     objects.FillDict(base, inst.hvparams)))
  return result


class LUClusterVerify(NoHooksLU):
  """Submits the configuration check and one check per node group."""

  REQ_BGL = False

  def ExpandNames(self) -> None:
    self.needed_locks = {}
    if self.op.group_name:
      self.cfg.LookupNodeGroup(self.op.group_name)  # refuses unknown groups

  def _CommonParams(self) -> dict[str, Any]:
    return dict(debug_simulate_errors=self.op.debug_simulate_errors,
                error_codes=self.op.error_codes, ignore_errors=list(self.op.ignore_errors or []),
                verbose=self.op.verbose)

  def Exec(self, feedback_fn: Any) -> ResultWithJobs:
    jobs: list[list[opcodes.OpCode]] = []
    if self.op.group_name:
      groups = [self.op.group_name]
    else:
      jobs.append([opcodes.OpClusterVerifyConfig(**self._CommonParams())])
      groups = self.cfg.GetNodeGroupList()
    for group in groups:
      # a group check runs after the configuration check, whatever its outcome
      depends = [[-len(jobs), []]] if not self.op.group_name else None
      jobs.append([opcodes.OpClusterVerifyGroup(
        group_name=group, skip_checks=list(self.op.skip_checks or []),
        verify_clutter=self.op.verify_clutter, depends=depends, **self._CommonParams())])
    return ResultWithJobs(jobs)


class LUClusterVerifyConfig(NoHooksLU, _VerifyErrors):
  """Checks the configuration itself: consistency, certificates, parameters,
  nodes and instances pointing at missing groups or nodes."""

  REQ_BGL = False

  def ExpandNames(self) -> None:
    self.needed_locks = {}
    self.share_locks = dict.fromkeys(locking.LEVELS, 1)

  def _VerifyCertificates(self) -> None:
    for path in _CERT_FILES:
      severity, message = x509.VerifyCertificate(path)
      self._ErrorIf(severity, CV_ECLUSTERCERT, None, message, code=severity)
    readable = os.access(pathutils.NODED_CERT_FILE, os.R_OK)
    self._ErrorIf(not readable, CV_ECLUSTERCERT, None,
                  pathutils.NODED_CERT_FILE + " must be accessible by the " + _MASTERD_USER +
                  " user")

  def _VerifyHypervisorParameters(self) -> None:
    for source, hv_name, params in _HypervisorParameters(self.cfg):
      try:
        paramdefs.CheckParams("hvparams/%s" % hv_name, params)
      except errors.GenericError as err:
        self._ErrorIf(True, CV_ECLUSTERCFG, None,
                      "hypervisor %s parameters syntax check (source %s): %s",
                      hv_name, source, err)

  def _VerifyDangling(self) -> None:
    nodes = self.cfg.GetAllNodesInfo()
    groups = self.cfg.GetAllNodeGroupsInfo()
    instances = self.cfg.GetAllInstancesInfo().values()
    dangling_nodes = [node for node in nodes.values() if node.group not in groups]
    dangling_uuids = {node.uuid for node in dangling_nodes}
    by_node: dict[str, list[str]] = {}
    homeless = []
    for inst in instances:
      if inst.primary_node in dangling_uuids:
        by_node.setdefault(inst.primary_node, []).append(inst.name)
      elif inst.primary_node not in nodes:
        homeless.append(inst.name)
    pretty = ["%s (%s)" % (node.name, _CommaJoin(by_node.get(node.uuid, [])))
              for node in dangling_nodes]
    self._ErrorIf(dangling_nodes, CV_ECLUSTERDANGLINGNODES, None,
                  "the following nodes (and their instances) belong to a non existing"
                  " group: %s", _CommaJoin(pretty))
    self._ErrorIf(homeless, CV_ECLUSTERDANGLINGINST, None,
                  "the following instances have a non-existing primary-node: %s",
                  _CommaJoin(homeless))

  def Exec(self, feedback_fn: Any) -> bool:
    self.bad = False
    self._feedback_fn = feedback_fn
    feedback_fn("* Verifying cluster config")
    for message in self.cfg.VerifyConfig():
      self._ErrorIf(True, CV_ECLUSTERCFG, None, message)
    feedback_fn("* Verifying cluster certificate files")
    self._VerifyCertificates()
    feedback_fn("* Verifying hypervisor parameters")
    self._VerifyHypervisorParameters()
    feedback_fn("* Verifying all nodes belong to an existing group")
    self._VerifyDangling()
    return not self.bad


class _NodeImage:
  """What verification learnt about one node."""

  def __init__(self, node: objects.Node) -> None:
    self.node = node
    self.rpc_fail = False
    self.instances: list[str] = []
    self.mfree = 0
    self.os_data: Optional[dict[str, list]] = None
    self.volumes: Optional[dict] = None
    # secondaries by primary: primary node uuid -> instance uuids
    self.sbp: dict[str, list[str]] = {}


class LUClusterVerifyGroup(LogicalUnit, _VerifyErrors):
  """Asks the nodes of one group to check themselves and compares the answers."""

  HPATH = "cluster-verify"
  HTYPE = constants.HTYPE_CLUSTER
  REQ_BGL = False

  def ExpandNames(self) -> None:
    self.group_uuid = self.cfg.LookupNodeGroup(self.op.group_name)
    members = list(self.cfg.GetNodeGroup(self.group_uuid).members)
    self.needed_locks = {locking.LEVEL_NODEGROUP: [self.group_uuid],
                         locking.LEVEL_NODE: members}
    self.share_locks = dict.fromkeys(locking.LEVELS, 1)

  def CheckPrereq(self) -> None:
    self.group = self.cfg.GetNodeGroup(self.group_uuid)
    self.all_nodes = self.cfg.GetAllNodesInfo()
    self.nodes = sorted((self.all_nodes[uuid] for uuid in self.group.members
                         if uuid in self.all_nodes), key=lambda node: node.name)
    self.instances = sorted((inst for inst in self.cfg.GetAllInstancesInfo().values()
                             if inst.primary_node in self.group.members),
                            key=lambda inst: inst.name)
    self.master_uuid = self.cfg.GetMasterNode()

  def BuildHooksEnv(self) -> dict:
    env = {"CLUSTER_TAGS": " ".join(self.cfg.GetClusterInfo().GetTags())}
    for node in self.nodes:
      env["NODE_TAGS_%s" % node.name] = " ".join(node.GetTags())
    return env

  def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
    return [], [node.uuid for node in self.nodes if not node.offline]

  # ---- what to ask -------------------------------------------------------

  def _Files(self) -> tuple[set, set, set, set]:
    try:
      from ganeti.cmdlib import distribution  # pylint: disable=import-outside-toplevel
    except ImportError:
      return set(), set(), set(), set()
    return distribution.AncillaryFiles(self.cfg)

  def _Bridges(self, cluster: objects.Cluster) -> list[str]:
    default = cluster.nicparams.get(constants.PP_DEFAULT, {})
    bridges = set()
    for params in [default] + [objects.FillDict(default, nic.nicparams or {})
                               for inst in self.instances for nic in inst.nics]:
      if params.get("mode") == "bridged" and params.get("link"):
        bridges.add(params["link"])
    return sorted(bridges)

  def _CheckDict(self, files: Iterable[str]) -> dict[str, Any]:
    cfg = self.cfg
    cluster = cfg.GetClusterInfo()
    online = [node for node in self.nodes if not node.offline]
    master = cfg.GetMasterNodeInfo()
    what: dict[str, Any] = {
      constants.NV_FILELIST: [vcluster.MakeVirtualPath(path) for path in sorted(files)],
      constants.NV_NODELIST: [[node.name for node in online], {}],
      constants.NV_HYPERVISOR: list(cluster.enabled_hypervisors),
      constants.NV_HVPARAMS: _HypervisorParameters(cfg),
      constants.NV_NODENETTEST: [[node.name, node.primary_ip, node.secondary_ip] for node in online],
      constants.NV_INSTANCELIST: list(cluster.enabled_hypervisors),
      constants.NV_VERSION: None,
      constants.NV_HVINFO: cfg.GetHypervisorType(),
      constants.NV_NODESETUP: None,
      constants.NV_TIME: None,
      constants.NV_MASTERIP: [master.name, cfg.GetMasterIP()],
      constants.NV_OSLIST: None,
      constants.NV_NONVMNODES: cfg.GetNodeNames(cfg.GetNonVmCapableNodeList()),
      constants.NV_USERSCRIPTS: ([pathutils.EXTERNAL_MASTER_SETUP_SCRIPT]
                          if cluster.use_external_mip_script else []),
      constants.NV_CLIENT_CERT: None,
      constants.NV_BRIDGES: self._Bridges(cluster),
      constants.NV_ACCEPTED_STORAGE_PATHS: master.name,
    }
    if cluster.modify_ssh_setup:
      what[constants.NV_SSH_SETUP] = None
      if self.op.verify_clutter:
        what[constants.NV_SSH_CLUTTER] = None
    if cluster.volume_group_name:
      what[constants.NV_VGLIST] = None
      what[constants.NV_LVLIST] = cluster.volume_group_name
      what[constants.NV_PVLIST] = [cluster.volume_group_name]
    if constants.DT_DRBD8 in cluster.enabled_disk_templates:
      what[constants.NV_DRBDLIST] = None
      what[constants.NV_DRBDVERSION] = None
      what[constants.NV_DRBDHELPER] = cluster.drbd_usermode_helper
    for template, key, _, attr in _STORAGE_PATH_CHECKS:
      if template in cluster.enabled_disk_templates:
        what[key] = getattr(cluster, attr)
    return what

  # ---- file consistency ----------------------------------------------------

  def _VerifyFiles(self, results: dict, files: tuple[set, set, set, set]) -> None:
    files_all, files_opt, files_mc, files_vm = files
    online = [node for node in self.nodes if not node.offline]
    expected: dict[str, set[str]] = {}
    for paths, wanted in ((files_all, online),
                          (files_mc, [n for n in online if n.master_candidate]),
                          (files_vm, [n for n in online if n.vm_capable])):
      for path in paths:
        expected.setdefault(path, set()).update(node.uuid for node in wanted)
    ignored: set[str] = {node.uuid for node in self.nodes if node.offline}
    # path -> checksum -> node uuids having that content
    seen: dict[str, dict[str, set[str]]] = {path: {} for path in expected}
    for node in online:
      result = results.get(node.uuid)
      node_files = None
      if result is not None and not result.fail_msg and result.payload:
        node_files = {vcluster.LocalizeVirtualPath(path): digest for path, digest in
                      result.payload.get(constants.NV_FILELIST, {}).items()}
      unusable = not (node_files and isinstance(node_files, dict))
      self._ErrorIf(unusable, CV_ENODEFILECHECK, node.name,
                    "Node did not return file checksum data")
      if unusable:
        ignored.add(node.uuid)
        continue
      for path, digest in node_files.items():
        if path in seen:
          seen[path].setdefault(digest, set()).add(node.uuid)
    names = self.cfg.GetNodeName
    def _names(uuids: Iterable[str]) -> str:
      return _CommaJoin(sorted(names(uuid) for uuid in uuids))
    for path in sorted(seen):
      checksums = seen[path]
      having = set().union(*checksums.values()) - ignored if checksums else set()
      wanted = expected[path] - ignored
      missing = wanted - having
      if path in files_opt:
        self._ErrorIf(missing and missing != wanted, CV_ECLUSTERFILECHECK, None,
                      "File %s is optional, but it must exist on all or no nodes (not"
                      " found on %s)", path, _names(missing))
      else:
        self._ErrorIf(missing, CV_ECLUSTERFILECHECK, None,
                      "File %s is missing from node(s) %s", path, _names(missing))
        self._ErrorIf(having - wanted, CV_ECLUSTERFILECHECK, None,
                      "File %s should not exist on node(s) %s", path, _names(having - wanted))
      variants = ["variant %s on %s" % (index + 1, _names(uuids))
                  for index, (_, uuids) in enumerate(sorted(checksums.items()))]
      self._ErrorIf(len(checksums) > 1, CV_ECLUSTERFILECHECK, None,
                    "File %s found with %s different checksums (%s)", path, len(checksums),
                    "; ".join(variants) if len(checksums) > 1 else "")

  def _VerifyClientCertificates(self, results: dict) -> None:
    candidate_certs = self.cfg.GetClusterInfo().candidate_certs or {}
    if not candidate_certs:
      self._ErrorIf(True, CV_ECLUSTERCLIENTCERT, None,
                    "The cluster's list of master candidate certificates is empty. If you"
                    " just updated the cluster, please run 'gnt-cluster renew-crypto"
                    " --new-node-certificates'.")
      return
    self._ErrorIf(len(candidate_certs) != len(set(candidate_certs.values())),
                  CV_ECLUSTERCLIENTCERT, None,
                  "There are at least two master candidates configured to use the same"
                  " certificate.")
    failed = False
    for node in self.nodes:
      result = results.get(node.uuid)
      if node.offline or result is None or result.fail_msg or not result.payload:
        continue
      errcode, digest = result.payload.get(constants.NV_CLIENT_CERT, (ETYPE_ERROR, "no data"))
      if errcode is not None:
        problems = [("Client certificate of node '%s' failed validation: %s (code '%s')",
                     (node.uuid, digest, errcode))]
      else:
        problems = self._CandidateCertProblems(node, digest, candidate_certs)
      for message, args in problems:
        self._Error(CV_ECLUSTERCLIENTCERT, None, message, *args)
        failed = True
    if failed:
      self._Error(CV_ECLUSTERCLIENTCERT, None, "To rebuild node certificates, please run"
                  " 'gnt-cluster renew-crypto --new-node-certificates'.")

  @staticmethod
  def _CandidateCertProblems(node: objects.Node, digest: str,
                             candidate_certs: dict[str, str]) -> list[tuple[str, tuple]]:
    """(message, args) of each mismatch between a node's client certificate
    and the cluster's map of master candidate certificates."""
    known = node.uuid in candidate_certs
    used_by_other = digest in (value for uuid, value in candidate_certs.items()
                               if uuid != node.uuid)
    if node.master_candidate and known:
      checks = [(digest != candidate_certs[node.uuid],
                 "Client certificate digest of master candidate '%s' does not match its entry"
                 " in the cluster's map of master candidate certificates. Expected: %s Got:"
                 " %s", (node.uuid, digest, candidate_certs[node.uuid]))]
    elif node.master_candidate:
      checks = [(True, "The master candidate '%s' does not have an entry in the map of"
                 " candidate certificates.", (node.uuid,)),
                (used_by_other, "Master candidate '%s' is using a certificate of another"
                 " node.", (node.uuid,))]
    else:
      checks = [(known, "Node '%s' is not a master candidate, but still listed in the map of"
                 " master candidate certificates.", (node.uuid,)),
                (not known and used_by_other, "Node '%s' is not a master candidate and is"
                 " incorrectly using a certificate of another node which is master"
                 " candidate.", (node.uuid,))]
    return [(message, args) for cond, message, args in checks if cond]

  def _VerifySshSetup(self, results: dict) -> None:
    if not self.cfg.GetClusterInfo().modify_ssh_setup:
      return
    for node in self.nodes:
      result = results.get(node.uuid)
      if node.offline or result is None:
        continue
      if result.fail_msg or not result.payload:
        self._Error(CV_ENODESSH, node.name, "Could not verify the SSH setup of this node.")
        continue
      for message in result.payload.get(constants.NV_SSH_SETUP) or []:
        self._Error(CV_ENODESSH, node.name, message)
      for message in result.payload.get(constants.NV_SSH_CLUTTER) or []:
        self._Error(CV_ENODESSH, node.name, message, code=ETYPE_WARNING)

  # ---- one node's answers --------------------------------------------------

  def _VerifyVersion(self, node: objects.Node, nres: Any) -> bool:
    """Checks the answer's shape and versions; False stops the node's checks."""
    name = node.name
    unusable = not nres or not isinstance(nres, dict)
    self._ErrorIf(unusable, CV_ENODERPC, name, "unable to verify node: no data returned")
    if unusable:
      return False
    remote = nres.get(constants.NV_VERSION)
    invalid = not (remote and isinstance(remote, (list, tuple)) and len(remote) == 2)
    self._ErrorIf(invalid, CV_ENODERPC, name, "connection to node returned invalid data")
    if invalid:
      return False
    incompatible = remote[0] != constants.PROTOCOL_VERSION
    self._ErrorIf(incompatible, CV_ENODEVERSION, name,
                  "incompatible protocol versions: master %s, node %s",
                  constants.PROTOCOL_VERSION, remote[0])
    if incompatible:
      return False
    self._ErrorIf(remote[1] != constants.RELEASE_VERSION, CV_ENODEVERSION, name,
                  "software version mismatch: master %s, node %s",
                  constants.RELEASE_VERSION, remote[1], code=ETYPE_WARNING)
    return True

  def _VerifyHypervisors(self, node: objects.Node, nres: dict) -> None:
    if not node.vm_capable:
      return
    hv_result = nres.get(constants.NV_HYPERVISOR)
    if isinstance(hv_result, dict):
      for hv_name, problem in sorted(hv_result.items()):
        self._ErrorIf(problem is not None, CV_ENODEHV, node.name,
                      "hypervisor %s verify failure: '%s'", hv_name, problem)
    hvp_result = nres.get(constants.NV_HVPARAMS)
    if isinstance(hvp_result, list):
      for source, hv_name, problem in hvp_result:
        self._Error(CV_ENODEHV, node.name,
                    "hypervisor %s parameter verify failure (source %s): %s",
                    hv_name, source, problem)

  def _VerifyNodeSetup(self, node: objects.Node, nres: dict) -> None:
    problems = nres.get(constants.NV_NODESETUP, ["Missing NODESETUP results"])
    self._ErrorIf(problems, CV_ENODESETUP, node.name, "node setup error: %s",
                  "; ".join(problems or []))

  def _VerifyTime(self, node: objects.Node, nres: dict) -> None:
    try:
      seconds, micros = nres.get(constants.NV_TIME)
      node_time = float(seconds) + float(micros) / 1000000
    except (TypeError, ValueError):
      self._Error(CV_ENODETIME, node.name, "Node returned invalid time")
      return
    diff = None
    if node_time < self._rpc_start - constants.NODE_MAX_CLOCK_SKEW:
      diff = "%.01fs" % abs(self._rpc_start - node_time)
    elif node_time > self._rpc_end + constants.NODE_MAX_CLOCK_SKEW:
      diff = "%.01fs" % abs(node_time - self._rpc_end)
    self._ErrorIf(diff is not None, CV_ENODETIME, node.name,
                  "Node time diverges by at least %s from master node time", diff)

  def _VerifyNetwork(self, node: objects.Node, nres: dict) -> None:
    name = node.name
    missing = constants.NV_NODELIST not in nres
    self._ErrorIf(missing, CV_ENODESSH, name, "node hasn't returned node ssh connectivity data")
    for other, message in sorted((nres.get(constants.NV_NODELIST) or {}).items()):
      self._Error(CV_ENODESSH, name, "ssh communication with node '%s': %s", other, message)
    if constants.NV_NODENETTEST not in nres:
      self._Error(CV_ENODENET, name, "node hasn't returned node tcp connectivity data")
    for other, message in sorted((nres.get(constants.NV_NODENETTEST) or {}).items()):
      self._Error(CV_ENODENET, name, "tcp communication with node '%s': %s", other, message)
    if constants.NV_MASTERIP not in nres:
      self._Error(CV_ENODENET, name, "node hasn't returned node master IP reachability data")
    elif not nres[constants.NV_MASTERIP]:
      self._Error(CV_ENODENET, name,
                  "the master node cannot reach the master IP (not configured?)"
                  if node.uuid == self.master_uuid else "cannot reach the master IP")

  def _VerifyScriptsAndPaths(self, node: objects.Node, nres: dict) -> None:
    name = node.name
    missing = constants.NV_USERSCRIPTS not in nres
    self._ErrorIf(missing, CV_ENODEUSERSCRIPTS, name,
                  "did not return user scripts information")
    if not missing:
      broken = nres[constants.NV_USERSCRIPTS]
      self._ErrorIf(broken, CV_ENODEUSERSCRIPTS, name,
                    "user scripts not present or not executable: %s",
                    _CommaJoin(sorted(broken or [])))
    for problem in nres.get(constants.NV_OOB_PATHS) or []:
      self._ErrorIf(problem, CV_ENODEOOBPATH, name, "%s", problem)
    forbidden = nres.get(constants.NV_ACCEPTED_STORAGE_PATHS)
    if node.uuid == self.master_uuid:
      self._ErrorIf(forbidden, CV_ENODEFILESTORAGEPATHS, name,
                    "Found forbidden file storage paths: %s", _CommaJoin(forbidden or []))
    else:
      self._ErrorIf(constants.NV_ACCEPTED_STORAGE_PATHS in nres, CV_ENODEFILESTORAGEPATHS, name,
                    "Node should not have returned forbidden file storage paths")
    enabled = self.cfg.GetClusterInfo().enabled_disk_templates
    for template, key, ecode, _ in _STORAGE_PATH_CHECKS:
      if template in enabled:
        self._ErrorIf(key in nres, ecode, name,
                      "The configured %s storage path is unusable: %s", template, nres.get(key))

  def _VerifyLvm(self, node: objects.Node, nres: dict, image: _NodeImage) -> None:
    vg_name = self.cfg.GetVGName()
    if not vg_name:
      return
    name = node.name
    vglist = nres.get(constants.NV_VGLIST)
    unusable = not isinstance(vglist, dict) or not vglist
    self._ErrorIf(unusable, CV_ENODELVM, name, "unable to check volume groups")
    if not unusable:
      if vg_name not in vglist:
        self._Error(CV_ENODELVM, name, "volume group '%s' missing", vg_name)
      elif vglist[vg_name] < constants.MIN_VG_SIZE:
        self._Error(CV_ENODELVM, name, "volume group '%s' too small (%s MiB required, %d MiB"
                    " found)", vg_name, constants.MIN_VG_SIZE, vglist[vg_name])
    lvdata = nres.get(constants.NV_LVLIST)
    if isinstance(lvdata, str):
      self._Error(CV_ENODELVM, name, "LVM problem on node: %s", lvdata)
    elif isinstance(lvdata, dict):
      image.volumes = lvdata
    self._ErrorIf(nres.get(constants.NV_PVLIST) is None, CV_ENODELVM, name,
                  "Can't get PV list from node")

  def _VerifyDrbd(self, node: objects.Node, nres: dict) -> None:
    """The minors the configuration gives the node against those in use there:
    an active instance's minor must be set up, and nothing else may be."""
    used = nres.get(constants.NV_DRBDLIST)
    if constants.NV_DRBDLIST not in self._what or not node.vm_capable:
      return
    if not isinstance(used, list):
      self._Error(CV_ENODEDRBD, node.name, "cannot parse drbd status file: %s", used)
      return
    allocated = self.drbd_map.get(node.uuid, {})
    for minor, disk_uuid in sorted(allocated.items()):
      inst = self.disk_owners.get(disk_uuid)
      if inst is None:
        self._Error(CV_ENODEDRBD, node.name, "ghost disk '%s' in temporary DRBD map",
                    disk_uuid)
        continue
      self._ErrorIf(inst.disks_active and minor not in used, CV_ENODEDRBD, node.name,
                    "drbd minor %d of disk %s (attached in instance '%s') is not active",
                    minor, disk_uuid, inst.name)
    for minor in used:
      self._ErrorIf(minor not in allocated, CV_ENODEDRBD, node.name,
                    "unallocated drbd minor %d is in use", minor)

  def _VerifyInstanceList(self, node: objects.Node, nres: dict, image: _NodeImage) -> None:
    idata = nres.get(constants.NV_INSTANCELIST)
    if not isinstance(idata, list):
      self._Error(CV_ENODEHV, node.name, "rpc call to node failed (instancelist): %s", idata)
      image.rpc_fail = True
      return
    image.instances = list(idata)
    known = {inst.name for inst in self.cfg.GetAllInstancesInfo().values()}
    for inst_name in sorted(set(idata) - known):
      self._Error(CV_ENODEORPHANINSTANCE, node.name, "instance %s on node %s should not exist",
                  inst_name, node.name)

  def _VerifyHvInfo(self, node: objects.Node, nres: dict, image: _NodeImage) -> None:
    if not node.vm_capable:
      return
    hv_info = nres.get(constants.NV_HVINFO)
    unusable = not isinstance(hv_info, dict) or "memory_free" not in hv_info
    self._ErrorIf(unusable, CV_ENODEHV, node.name, "rpc call to node failed (hvinfo)")
    if unusable:
      return
    try:
      image.mfree = int(hv_info["memory_free"])
    except (TypeError, ValueError):
      self._Error(CV_ENODERPC, node.name, "node returned invalid nodeinfo, check hypervisor")

  def _VerifyOs(self, node: objects.Node, nres: dict, image: _NodeImage) -> None:
    name = node.name
    oslist = nres.get(constants.NV_OSLIST)
    if not isinstance(oslist, list) or not all(isinstance(v, list) and len(v) == 8
                                               for v in oslist):
      self._Error(CV_ENODEOS, name, "node hasn't returned valid OS data")
      return
    by_name: dict[str, list] = {}
    for entry in oslist:
      by_name.setdefault(entry[0], []).append(entry)
    image.os_data = {}
    for os_name, entries in sorted(by_name.items()):
      _, path, status, diagnose, variants, params, api, trusted = entries[0]
      self._ErrorIf(not status, CV_ENODEOS, name, "Invalid OS %s (located at %s): %s",
                    os_name, vcluster.LocalizeVirtualPath(path), diagnose)
      self._ErrorIf(len(entries) > 1, CV_ENODEOS, name,
                    "OS '%s' has multiple entries (first one shadows the rest): %s", os_name,
                    _CommaJoin(vcluster.LocalizeVirtualPath(e[1]) for e in entries[1:]))
      if status:
        image.os_data[os_name] = [sorted(api), sorted(variants),
                                  sorted("%s: %s" % tuple(p) for p in params), trusted]
    reference = self._os_reference
    if reference is None:
      self._os_reference = (name, image.os_data)
      return
    ref_name, ref_data = reference
    for os_name, data in sorted(image.os_data.items()):
      if os_name not in ref_data:
        self._Error(CV_ENODEOS, name, "Extra OS %s not present on reference node (%s)",
                    os_name, ref_name)
        continue
      for index, what in enumerate(("OS API version", "OS variants list", "OS parameters")):
        mine, theirs = data[index], ref_data[os_name][index]
        self._ErrorIf(mine != theirs, CV_ENODEOS, name,
                      "%s for %s differs from reference node %s: [%s] vs. [%s]",
                      what, os_name, ref_name, _CommaJoin(mine), _CommaJoin(theirs))
      self._ErrorIf(data[3] != ref_data[os_name][3], CV_ENODEOS, name,
                    "OS trusted for %s differs from reference node %s: %s vs. %s",
                    os_name, ref_name, data[3], ref_data[os_name][3])
    missing = sorted(set(ref_data) - set(image.os_data))
    self._ErrorIf(missing, CV_ENODEOS, name,
                  "OSes present on reference node %s but missing on this node: %s",
                  ref_name, _CommaJoin(missing))

  def _VerifyBridges(self, node: objects.Node, nres: dict) -> None:
    if constants.NV_BRIDGES not in self._what or not self._what[constants.NV_BRIDGES]:
      return
    missing = nres.get(constants.NV_BRIDGES)
    if not isinstance(missing, list):
      self._Error(CV_ENODENET, node.name, "did not return valid bridge information")
      return
    self._ErrorIf(missing, CV_ENODENET, node.name, "missing bridges: %s",
                  _CommaJoin(sorted(missing)))

  def _PrepareDrbdMap(self) -> None:
    """The DRBD minors per node and the instance owning each disk."""
    self.disk_owners = {disk_uuid: inst for inst in self.cfg.GetAllInstancesInfo().values()
                        for disk_uuid in inst.disks}
    try:
      self.drbd_map = self.cfg.ComputeDRBDMap()
    except errors.ConfigurationError as err:
      self._Error(CV_ECLUSTERCFG, None, str(err))
      self.drbd_map = {}

  def _VerifyNode(self, node: objects.Node, nres: Any, image: _NodeImage) -> None:
    if not self._VerifyVersion(node, nres):
      return
    self._VerifyHypervisors(node, nres)
    self._VerifyNodeSetup(node, nres)
    self._VerifyTime(node, nres)
    self._VerifyNetwork(node, nres)
    self._VerifyScriptsAndPaths(node, nres)
    self._VerifyLvm(node, nres, image)
    self._VerifyDrbd(node, nres)
    self._VerifyInstanceList(node, nres, image)
    self._VerifyHvInfo(node, nres, image)
    self._VerifyOs(node, nres, image)
    self._VerifyBridges(node, nres)

  def _NodeType(self, node: objects.Node) -> str:
    if node.uuid == self.master_uuid:
      return "master"
    if node.master_candidate:
      return "master candidate"
    if node.drained:
      return "drained"
    return "regular"

  # ---- instances -----------------------------------------------------------

  def _VerifyInstances(self, images: dict[str, _NodeImage]) -> None:
    names = self.cfg.GetNodeName
    for inst in self.instances:
      if self.op.verbose:
        self._feedback_fn("* Verifying instance %s" % inst.name)
      pnode = inst.primary_node
      image = images.get(pnode)
      node = self.all_nodes.get(pnode)
      if node is None:
        self._Error(CV_ENODERPC, inst.name, "instance lives on ghost node %s", pnode)
        continue
      if inst.admin_state == constants.ADMINST_UP and image is not None:
        if node.offline:
          self._Error(CV_EINSTANCEBADNODE, inst.name,
                      "instance is marked as running and lives on offline node %s", node.name)
        elif not image.rpc_fail:
          self._ErrorIf(inst.name not in image.instances, CV_EINSTANCEDOWN, inst.name,
                        "instance not running on its primary node %s", node.name)
      self._ErrorIf(not node.vm_capable, CV_EINSTANCEBADNODE, inst.name,
                    "instance lives on non-vm_capable node %s", node.name)
      secondaries = self.cfg.GetInstanceSecondaryNodes(inst.uuid)
      self._ErrorIf(len(secondaries) > 1, CV_EINSTANCELAYOUT, inst.name,
                    "instance has multiple secondary nodes: %s",
                    _CommaJoin(names(uuid) for uuid in secondaries), code=ETYPE_WARNING)
      for snode in secondaries:
        if snode in images:
          images[snode].sbp.setdefault(pnode, []).append(inst.uuid)
      for uuid, other in images.items():
        if uuid != pnode and inst.name in other.instances:
          self._Error(CV_EINSTANCEWRONGNODE, inst.name, "instance should not run on node %s",
                      names(uuid))

  def _VerifyOrphanVolumes(self, images: dict[str, _NodeImage]) -> None:
    reserved = [re.compile(pattern) for pattern in
                self.cfg.GetClusterInfo().reserved_lvs or []]
    # per node: a DRBD disk's LVs (its children) exist on both of its nodes,
    # under the same names; a copy left on any other node is an orphan
    expected: dict[str, set[str]] = {}
    for disk in self.cfg.GetAllDisksInfo().values():
      volumes = ["%s/%s" % tuple(lv.logical_id) for lv in _Leaves(disk)
                 if lv.dev_type == constants.DT_PLAIN and len(lv.logical_id or []) == 2]
      for node_uuid in disk.nodes or []:
        expected.setdefault(node_uuid, set()).update(volumes)
    for uuid, image in sorted(images.items(), key=lambda item: item[1].node.name):
      for volume in sorted(image.volumes or {}):
        if (volume in expected.get(uuid, ()) or
            any(pattern.match(volume) for pattern in reserved)):
          continue
        self._Error(CV_ENODEORPHANLV, image.node.name, "volume %s is unknown", volume)

  def _VerifyNPlusOneMemory(self, images: dict[str, _NodeImage]) -> None:
    cluster = self.cfg.GetClusterInfo()
    defaults = cluster.beparams.get(constants.PP_DEFAULT, {})
    for uuid, image in sorted(images.items(), key=lambda item: item[1].node.name):
      if image.node.offline or image.rpc_fail:
        continue
      for primary, inst_uuids in sorted(image.sbp.items()):
        needed = 0
        for inst_uuid in inst_uuids:
          beparams = objects.FillDict(defaults, self.cfg.GetInstanceInfo(inst_uuid).beparams)
          if beparams.get("auto_balance", True):
            needed += int(beparams.get("minmem", beparams.get("memory", 0)))
        self._ErrorIf(image.mfree < needed, CV_ENODEN1, image.node.name,
                      "not enough memory to accomodate instance failovers should node %s"
                      " fail (%dMiB needed, %dMiB available)",
                      self.cfg.GetNodeName(primary), needed, image.mfree)

  def _OtherNotes(self, offline_nodes: int, drained_nodes: int) -> None:
    defaults = self.cfg.GetClusterInfo().beparams.get(constants.PP_DEFAULT, {})
    non_redundant = [inst for inst in self.instances
                     if self.cfg.GetInstanceDiskTemplate(inst.uuid) not in _DTS_MIRRORED]
    non_balanced = [inst for inst in self.instances
                    if not objects.FillDict(defaults, inst.beparams).get("auto_balance", True)]
    offline_instances = [inst for inst in self.instances
                         if inst.admin_state == constants.ADMINST_OFFLINE]
    for count, what in ((len(non_redundant), "non-redundant instance(s)"),
                        (len(non_balanced), "non-auto-balanced instance(s)"),
                        (len(offline_instances), "offline instance(s)"),
                        (offline_nodes, "offline node(s)"),
                        (drained_nodes, "drained node(s)")):
      if count:
        self._feedback_fn("  - NOTICE: %d %s found." % (count, what))

  # ---- the run -------------------------------------------------------------

  def Exec(self, feedback_fn: Any) -> bool:
    self.bad = False
    self._feedback_fn = feedback_fn
    self._os_reference: Optional[tuple[str, dict]] = None
    feedback_fn("* Verifying group '%s'" % self.group.name)
    if not self.nodes:
      feedback_fn("* Empty node group, skipping verification")
      return True
    cluster_name = self.cfg.GetClusterName()
    files = self._Files()
    self._what = self._CheckDict(set().union(*files))
    online = [node.uuid for node in self.nodes if not node.offline]
    replicator = getattr(self.context, "replicator", None)
    if replicator is not None:
      # the candidates' config.data is compared with the master's below
      replicator.FlushConfig()
    feedback_fn("* Gathering data (%d nodes)" % len(self.nodes))
    self._rpc_start = time.time()
    results = self.context.rpc.call_node_verify(online, self._what, cluster_name,
                                                self.cfg.GetClusterInfo().hvparams)
    self._rpc_end = time.time()
    feedback_fn("* Gathering information about nodes (%d nodes)" % len(self.nodes))
    feedback_fn("* Gathering disk information (%d nodes)" % len(self.nodes))
    feedback_fn("* Verifying configuration file consistency")
    self._VerifyClientCertificates(results)
    self._VerifySshSetup(results)
    self._VerifyFiles(results, files)
    feedback_fn("* Verifying node status")
    self._PrepareDrbdMap()
    images: dict[str, _NodeImage] = {}
    offline_nodes = drained_nodes = 0
    for node in self.nodes:
      image = images[node.uuid] = _NodeImage(node)
      if node.offline:
        if self.op.verbose:
          feedback_fn("* Skipping offline node %s" % node.name)
        offline_nodes += 1
        continue
      drained_nodes += int(bool(node.drained) and node.uuid != self.master_uuid
                           and not node.master_candidate)
      if self.op.verbose:
        feedback_fn("* Verifying node %s (%s)" % (node.name, self._NodeType(node)))
      result = results.get(node.uuid)
      fail_msg = result.fail_msg if result is not None else "no answer"
      self._ErrorIf(fail_msg, CV_ENODERPC, node.name, "while contacting node: %s", fail_msg)
      if fail_msg:
        image.rpc_fail = True
        continue
      self._VerifyNode(node, result.payload, image)
    feedback_fn("* Verifying instance status")
    self._VerifyInstances(images)
    feedback_fn("* Verifying orphan volumes")
    self._VerifyOrphanVolumes(images)
    if constants.VERIFY_NPLUSONE_MEM not in (self.op.skip_checks or []):
      feedback_fn("* Verifying N+1 Memory redundancy")
      self._VerifyNPlusOneMemory(images)
    feedback_fn("* Other Notes")
    self._OtherNotes(offline_nodes, drained_nodes)
    return not self.bad

  def HooksCallBack(self, phase: str, hooks_results: dict, feedback_fn: Any,
                    lu_result: bool) -> bool:
    """Reports the post hooks' outcome as verification errors; a failed hook
    makes the verification fail.  hooks_results: {node: error text |
    [(script, HKR_*, output)]}."""
    if phase != constants.HOOKS_PHASE_POST:
      return lu_result
    self._feedback_fn = feedback_fn
    feedback_fn("* Hooks Results")
    for node_name, node_result in hooks_results.items():
      if isinstance(node_result, str):
        self._Error(CV_ENODEHOOKS, node_name,
                    "Communication failure in hooks execution: %s", node_result)
        lu_result = False
        continue
      for script, status, output in node_result:
        if status == constants.HKR_FAIL:
          self._Error(CV_ENODEHOOKS, node_name, "Script %s failed, output:", script)
          feedback_fn(_HOOKS_INDENT_RE.sub("      ", output))
          lu_result = False
    return lu_result
