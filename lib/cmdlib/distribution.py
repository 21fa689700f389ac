"""Which cluster files every node keeps, and pushing them from the master.

The master holds the reference copy of the cluster-wide files (certificates,
secrets, known_hosts, the configuration, ...).  AncillaryFiles says which
files belong on which nodes; cluster verify compares their checksums, and
RedistributeAncillaryFiles uploads the master's copies to the other nodes.
"""

import os
from typing import Any, Iterable

from ganeti import constants
from ganeti import pathutils

# Files the master uploads to every online node
_FILES_ALL = (
  pathutils.SSH_KNOWN_HOSTS_FILE,
  pathutils.NODED_CERT_FILE,
  pathutils.RAPI_CERT_FILE,
  pathutils.RAPI_USERS_FILE,
  pathutils.SPICE_CERT_FILE,
  pathutils.SPICE_CACERT_FILE,
  pathutils.CONFD_HMAC_KEY,
  pathutils.CLUSTER_DOMAIN_SECRET_FILE,
)

# Files a cluster may lack: RAPI users only exist once an administrator adds
# some, SPICE certificates only matter for KVM, the public key list only
# exists when Ganeti manages SSH
_FILES_OPTIONAL = (
  pathutils.RAPI_USERS_FILE,
  pathutils.SPICE_CERT_FILE,
  pathutils.SPICE_CACERT_FILE,
  pathutils.SSH_PUB_KEYS,
)

# Files of enabled hypervisors, on vm-capable nodes: hypervisor -> (files,
# the optional ones among them)
_HYPERVISOR_FILES = {
  constants.HT_XEN_HVM: ((pathutils.VNC_PASSWORD_FILE,), (pathutils.VNC_PASSWORD_FILE,)),
  constants.HT_KVM: ((pathutils.VNC_PASSWORD_FILE,), (pathutils.VNC_PASSWORD_FILE,)),
}


def AncillaryFiles(cfg: Any) -> tuple[set[str], set[str], set[str], set[str]]:
  """(files_all, files_opt, files_mc, files_vm) of the cluster.

  files_all go to every node, files_mc to master candidates only,
  files_vm to vm-capable nodes; files_opt (a subset of the others) may be
  missing on all nodes at once, but must then be missing everywhere.
  """
  cluster = cfg.GetClusterInfo()
  files_all = set(_FILES_ALL)
  files_opt = set(_FILES_OPTIONAL)
  if cluster.modify_etc_hosts:
    files_all.add(pathutils.ETC_HOSTS)
  # the configuration is the master candidates' business; so are the public
  # SSH keys they need to take over the master role
  files_mc = {pathutils.CLUSTER_CONF_FILE}
  if cluster.modify_ssh_setup:
    files_mc.add(pathutils.SSH_PUB_KEYS)
  files_vm: set[str] = set()
  for hv_name in cluster.enabled_hypervisors:
    files, optional = _HYPERVISOR_FILES.get(hv_name, ((), ()))
    files_vm.update(files)
    files_opt.update(optional)
  files_opt &= files_all | files_mc | files_vm
  return files_all, files_opt, files_mc, files_vm


def _Upload(lu: Any, node_uuids: Iterable[str], files: Iterable[str],
            optional: set[str]) -> None:
  """Uploads the master's copy of each file; failures are warnings."""
  node_uuids = list(node_uuids)
  if not node_uuids:
    return
  for path in sorted(files):
    if path in optional and not os.path.exists(path):
      continue
    results = lu.context.rpc.call_upload_file(node_uuids, path)
    for node, result in results.items():
      if result.fail_msg and not result.offline:
        lu.LogWarning("Copy of file %s to node %s failed: %s",
                      path, lu.cfg.GetNodeName(node) or node, result.fail_msg)


def RedistributeAncillaryFiles(lu: Any, additional_nodes: Iterable[str] = (),
                               additional_vm: bool = True) -> None:
  """Uploads the cluster files from the master to the other online nodes.

  additional_nodes (node uuids, e.g. a node being added) get them too;
  additional_vm says whether they also get the hypervisor files.
  """
  cfg = lu.cfg
  master = cfg.GetMasterNode()
  additional = [uuid for uuid in additional_nodes if uuid != master]
  nodes = cfg.GetAllNodesInfo()
  online = [uuid for uuid, node in nodes.items()
            if not node.offline and uuid != master and uuid not in additional]
  candidates = [uuid for uuid in online + additional
                if uuid in nodes and nodes[uuid].master_candidate]
  vm_nodes = [uuid for uuid in online if nodes[uuid].vm_capable]
  files_all, files_opt, files_mc, files_vm = AncillaryFiles(cfg)
  _Upload(lu, online + additional, files_all, files_opt)
  _Upload(lu, candidates, files_mc, files_opt)
  _Upload(lu, vm_nodes + (additional if additional_vm else []), files_vm, files_opt)


def UploadSsconf(lu: Any, node_uuids: Iterable[str]) -> None:
  """Writes the current ssconf files on the given nodes."""
  node_uuids = list(node_uuids)
  if not node_uuids:
    return
  results = lu.context.rpc.call_write_ssconf_files(node_uuids, lu.cfg.GetSsconfValues())
  for node, result in results.items():
    if result.fail_msg and not result.offline:
      lu.LogWarning("Writing the ssconf files on node %s failed: %s",
                    lu.cfg.GetNodeName(node) or node, result.fail_msg)
