"""Simple configuration files (ssconf): small per-key files on every node.

The master derives them from the configuration (ComputeSsconfValues) and
every node keeps a copy in its data directory, named ssconf_<key>.  A file
holds one value per line and ends with a newline unless empty; programs that
run on any node (and Ganeti's own clients) read them instead of config.data.
"""

import errno
import fcntl
import os
import socket
from typing import Iterable, Optional

from ganeti import constants
from ganeti import errors
from ganeti import pathutils
from ganeti import vcluster
from ganeti.utils import io
from ganeti.utils.text import NiceSort, NiceSortKey

# Every ssconf file is DATA_DIR/ssconf_<key>.  The keys are named once here;
# each also gets a module constant SS_<KEY> for the code that reads it.
_PLAIN_KEYS = (
  "cluster_name", "cluster_tags", "file_storage_dir", "shared_file_storage_dir",
  "gluster_storage_dir", "master_candidates", "master_candidates_ips",
  "master_candidates_certs", "master_ip", "master_netdev", "master_netmask",
  "master_node", "node_list", "node_primary_ips", "node_secondary_ips",
  "node_vm_capable", "offline_nodes", "online_nodes", "primary_ip_family",
  "instance_list", "release_version", "hypervisor_list", "maintain_node_health",
  "uid_pool", "nodegroups", "networks", "enabled_user_shutdown", "ssh_ports",
)
globals().update({"SS_" + _key.upper(): _key for _key in _PLAIN_KEYS})
SS_HVPARAMS_PREF = "hvparams_"
SS_HVPARAMS_KEYS = frozenset(SS_HVPARAMS_PREF + hv for hv in constants.HYPER_TYPES)
VALID_SS_KEYS = frozenset(_PLAIN_KEYS) | SS_HVPARAMS_KEYS

SS_FILE_PERMS = 0o444
# No ssconf file is legitimately larger; refuse to read garbage.
_MAX_SIZE = 128 * 1024


def FormatUidPool(uid_pool: Iterable, separator: str = ", ") -> str:
  """Formats uid ranges [(lower, upper), ...] as "lower-upper" or "uid"."""
  return separator.join(str(lower) if lower == upper else "%d-%d" % (lower, upper)
                        for lower, upper in uid_pool)


def _Lines(items: Iterable) -> str:
  return "\n".join(str(item) for item in items)


def ComputeSsconfValues(config_data) -> dict[str, str]:
  """The ssconf values (key -> file content without final newline).

  config_data is an objects.ConfigData; nodes and instances are listed in
  natural name order, groups and networks in uuid order.
  """
  cluster = config_data.cluster
  nodes = sorted(config_data.nodes.values(), key=lambda node: NiceSortKey(node.name))
  candidates = [node for node in nodes if node.master_candidate]
  groups = config_data.nodegroups

  def _SshPort(node) -> int:
    group = groups.get(node.group)
    filled = cluster.FillND(node, group) if group else cluster.SimpleFillND(node.ndparams)
    return filled.get("ssh_port")

  master = config_data.nodes.get(cluster.master_node)
  values = {
    SS_CLUSTER_NAME: cluster.cluster_name,
    SS_CLUSTER_TAGS: _Lines(sorted(cluster.tags or ())),
    SS_FILE_STORAGE_DIR: cluster.file_storage_dir or "",
    SS_SHARED_FILE_STORAGE_DIR: cluster.shared_file_storage_dir or "",
    SS_GLUSTER_STORAGE_DIR: cluster.gluster_storage_dir or "",
    SS_MASTER_CANDIDATES: _Lines(node.name for node in candidates),
    SS_MASTER_CANDIDATES_IPS: _Lines(node.primary_ip for node in candidates),
    SS_MASTER_CANDIDATES_CERTS: _Lines("%s=%s" % item for item in
                                       sorted((cluster.candidate_certs or {}).items())),
    SS_MASTER_IP: cluster.master_ip,
    SS_MASTER_NETDEV: cluster.master_netdev,
    SS_MASTER_NETMASK: str(cluster.master_netmask),
    SS_MASTER_NODE: master.name if master else "",
    SS_NODE_LIST: _Lines(node.name for node in nodes),
    SS_NODE_PRIMARY_IPS: _Lines("%s %s" % (node.name, node.primary_ip) for node in nodes),
    SS_NODE_SECONDARY_IPS: _Lines("%s %s" % (node.name, node.secondary_ip)
                                  for node in nodes),
    SS_NODE_VM_CAPABLE: _Lines("%s=%s" % (node.name, bool(node.vm_capable))
                               for node in nodes),
    SS_OFFLINE_NODES: _Lines(node.name for node in nodes if node.offline),
    SS_ONLINE_NODES: _Lines(node.name for node in nodes if not node.offline),
    SS_PRIMARY_IP_FAMILY: str(cluster.primary_ip_family),
    SS_INSTANCE_LIST: _Lines(NiceSort(inst.name for inst in
                                      config_data.instances.values())),
    SS_RELEASE_VERSION: constants.RELEASE_VERSION,
    SS_HYPERVISOR_LIST: _Lines(cluster.enabled_hypervisors),
    SS_MAINTAIN_NODE_HEALTH: str(bool(cluster.maintain_node_health)),
    SS_UID_POOL: FormatUidPool(cluster.uid_pool or (), separator="\n"),
    SS_NODEGROUPS: _Lines("%s %s" % (uuid, groups[uuid].name) for uuid in sorted(groups)),
    SS_NETWORKS: _Lines("%s %s" % (uuid, config_data.networks[uuid].name)
                        for uuid in sorted(config_data.networks)),
    SS_ENABLED_USER_SHUTDOWN: str(bool(cluster.enabled_user_shutdown)),
    SS_SSH_PORTS: _Lines("%s=%s" % (node.name, _SshPort(node)) for node in nodes),
  }
  for hv_name in constants.HYPER_TYPES:
    params = cluster.hvparams.get(hv_name, {})
    values[SS_HVPARAMS_PREF + hv_name] = _Lines("%s=%s" % (key, params[key])
                                                for key in sorted(params))
  return values


def _ParseKeyValueLines(text: str, separator: str = "=") -> dict[str, str]:
  result = {}
  for line in text.splitlines():
    key, _, value = line.partition(separator)
    result[key] = value
  return result


class SimpleStore:
  """Reads and writes the ssconf files of one directory.

  cfg_location defaults to the node's data directory; the lock file then is
  Ganeti's ssconf lock, otherwise a file inside cfg_location.
  """

  def __init__(self, cfg_location: Optional[str] = None,
               _lockfile: Optional[str] = None) -> None:
    if cfg_location is None:
      self._prefix = pathutils.SSCONF_PREFIX
      self._lockfile = _lockfile or pathutils.SSCONF_LOCK_FILE
    else:
      self._prefix = os.path.join(cfg_location, constants.SSCONF_FILEPREFIX)
      self._lockfile = _lockfile or os.path.join(cfg_location, ".ssconf.lock")

  def KeyToFilename(self, key: str) -> str:
    if key not in VALID_SS_KEYS:
      raise errors.ProgrammerError("Invalid key requested from SSConf: '%s'" % key)
    return self._prefix + key

  def GetFileList(self) -> list[str]:
    """The paths of all ssconf files (existing or not)."""
    return [self.KeyToFilename(key) for key in sorted(VALID_SS_KEYS)]

  def _ReadFile(self, key: str, default: Optional[str] = None) -> str:
    """The value of key, without the final newline."""
    filename = self.KeyToFilename(key)
    try:
      with open(filename, encoding="utf-8") as handle:
        data = handle.read(_MAX_SIZE + 1)
    except EnvironmentError as err:
      if err.errno == errno.ENOENT and default is not None:
        return default
      raise errors.ConfigurationError("Can't read ssconf file %s: %s" %
                                      (filename, str(err))) from None
    if len(data) > _MAX_SIZE:
      raise errors.ConfigurationError("Ssconf file %s is larger than %d bytes" %
                                      (filename, _MAX_SIZE))
    return data.rstrip("\n")

  def _ReadLines(self, key: str) -> list[str]:
    return [line for line in self._ReadFile(key).splitlines() if line]

  def _ReadInt(self, key: str) -> int:
    value = self._ReadFile(key)
    try:
      return int(value)
    except ValueError:
      raise errors.ConfigurationError("Invalid integer in ssconf file %s: %r" %
                                      (self.KeyToFilename(key), value)) from None

  def ReadAll(self) -> dict[str, str]:
    """The values of all existing ssconf files."""
    values = {}
    for key in VALID_SS_KEYS:
      try:
        values[key] = self._ReadFile(key)
      except errors.ConfigurationError:
        continue
    return values

  def WriteFiles(self, values: dict[str, str], dry_run: bool = False) -> None:
    """Writes the given keys, each file atomically, under the ssconf lock.
    Files that already hold their value are left alone: a configuration
    change touches one or two of them, and every write is flushed to disk."""
    for key in values:
      self.KeyToFilename(key)
    if dry_run:
      return
    os.makedirs(os.path.dirname(self._lockfile), exist_ok=True)
    with open(self._lockfile, "a") as lock:
      fcntl.flock(lock, fcntl.LOCK_EX)
      for key, value in values.items():
        if value and not value.endswith("\n"):
          value += "\n"
        path = self.KeyToFilename(key)
        if _Holds(path, value):
          continue
        io.WriteFile(path, value, mode=SS_FILE_PERMS)

  # Getters

  def GetClusterName(self) -> str:
    return self._ReadFile(SS_CLUSTER_NAME)

  def GetClusterTags(self) -> list[str]:
    return self._ReadLines(SS_CLUSTER_TAGS)

  def GetFileStorageDir(self) -> str:
    return self._ReadFile(SS_FILE_STORAGE_DIR)

  def GetSharedFileStorageDir(self) -> str:
    return self._ReadFile(SS_SHARED_FILE_STORAGE_DIR)

  def GetGlusterStorageDir(self) -> str:
    return self._ReadFile(SS_GLUSTER_STORAGE_DIR)

  def GetMasterCandidates(self) -> list[str]:
    return self._ReadLines(SS_MASTER_CANDIDATES)

  def GetMasterCandidatesIPList(self) -> list[str]:
    return self._ReadLines(SS_MASTER_CANDIDATES_IPS)

  def GetMasterCandidatesCertMap(self) -> dict[str, str]:
    """Node uuid -> digest of its client certificate."""
    return _ParseKeyValueLines(self._ReadFile(SS_MASTER_CANDIDATES_CERTS))

  def GetMasterIP(self) -> str:
    return self._ReadFile(SS_MASTER_IP)

  def GetMasterNetdev(self) -> str:
    return self._ReadFile(SS_MASTER_NETDEV)

  def GetMasterNetmask(self) -> int:
    return self._ReadInt(SS_MASTER_NETMASK)

  def GetMasterNode(self) -> str:
    return self._ReadFile(SS_MASTER_NODE)

  def GetNodeList(self) -> list[str]:
    return self._ReadLines(SS_NODE_LIST)

  def GetNodePrimaryIPList(self) -> list[str]:
    """Lines "name ip"."""
    return self._ReadLines(SS_NODE_PRIMARY_IPS)

  def GetNodeSecondaryIPList(self) -> list[str]:
    return self._ReadLines(SS_NODE_SECONDARY_IPS)

  def GetNodesVmCapable(self) -> dict[str, bool]:
    return {name: value == "True" for name, value in
            _ParseKeyValueLines(self._ReadFile(SS_NODE_VM_CAPABLE)).items()}

  def GetOnlineNodeList(self) -> list[str]:
    return self._ReadLines(SS_ONLINE_NODES)

  def GetOfflineNodeList(self) -> list[str]:
    return self._ReadLines(SS_OFFLINE_NODES)

  def GetNodegroupList(self) -> list[str]:
    """Lines "uuid name"."""
    return self._ReadLines(SS_NODEGROUPS)

  def GetNetworkList(self) -> list[str]:
    """Lines "uuid name"."""
    return self._ReadLines(SS_NETWORKS)

  def GetInstanceList(self) -> list[str]:
    return self._ReadLines(SS_INSTANCE_LIST)

  def GetHypervisorList(self) -> list[str]:
    return self._ReadLines(SS_HYPERVISOR_LIST)

  def GetHvparamsForHypervisor(self, hvname: str) -> dict[str, str]:
    """The cluster's parameters of one hypervisor (values as text)."""
    return _ParseKeyValueLines(self._ReadFile(SS_HVPARAMS_PREF + hvname))

  def GetHvparams(self) -> dict[str, dict[str, str]]:
    return {hv: self.GetHvparamsForHypervisor(hv) for hv in constants.HYPER_TYPES}

  def GetMaintainNodeHealth(self) -> bool:
    return self._ReadFile(SS_MAINTAIN_NODE_HEALTH) == "True"

  def GetEnabledUserShutdown(self) -> bool:
    return self._ReadFile(SS_ENABLED_USER_SHUTDOWN) == "True"

  def GetUidPool(self) -> str:
    """The user-id pool as stored: one "uid" or "lower-upper" per line."""
    return self._ReadFile(SS_UID_POOL)

  def GetPrimaryIPFamily(self) -> int:
    return self._ReadInt(SS_PRIMARY_IP_FAMILY)

  def GetReleaseVersion(self) -> str:
    return self._ReadFile(SS_RELEASE_VERSION)

  def GetSshPortMap(self) -> dict[str, int]:
    return {name: int(port) for name, port in
            _ParseKeyValueLines(self._ReadFile(SS_SSH_PORTS)).items()}


def _Holds(path: str, value: str) -> bool:
  """Whether the file exists with exactly this content and ssconf's mode."""
  try:
    with open(path, encoding="utf-8") as handle:
      if (os.fstat(handle.fileno()).st_mode & 0o7777) != SS_FILE_PERMS:
        return False
      return handle.read() == value
  except (OSError, UnicodeDecodeError):
    return False


def WriteSsconfFiles(values: dict[str, str], dry_run: bool = False,
                     cfg_location: Optional[str] = None) -> None:
  """Writes ssconf files of this node (as received from the master)."""
  SimpleStore(cfg_location=cfg_location).WriteFiles(values, dry_run=dry_run)


def GetMasterAndMyself(ss: Optional[SimpleStore] = None) -> tuple[str, str]:
  """The master's name (from ssconf) and this node's name."""
  ss = ss or SimpleStore()
  return ss.GetMasterNode(), vcluster.HOSTNAME or socket.getfqdn()
