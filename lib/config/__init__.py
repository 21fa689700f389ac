"""The configuration writer: the master's view of the cluster configuration.

ConfigWriter loads config.data, answers the questions logical units and
queries ask about it, and saves every change atomically.  After each save
the ssconf files are regenerated and the registered save callbacks run
(the master uses one to distribute the configuration).

Objects and copies: the single-object getters (GetNodeInfo, GetInstanceInfo,
GetClusterInfo, ...) return private copies that the caller may change and
then commit with Update(); GetAll*Info return the stored objects themselves,
which are shared and must be treated as read-only.  Stored objects are
never changed in place (a change stores a new object), so such a snapshot
stays consistent.  Objects given to Add* and Update become the stored ones:
do not change them afterwards.  Update() refuses an object whose serial
number shows it was changed by someone else after it was read, so re-read
an object after calling a method (like MarkInstanceUp) that changes it.
"""

import logging
import os
import random
import threading
import time
from typing import Any, Callable, Optional

from ganeti import constants
from ganeti import errors
from ganeti import objects
from ganeti import paramdefs
from ganeti import pathutils
from ganeti import serializer
from ganeti import ssconf
from ganeti.config import temporary
from ganeti.config.common import DT_MIXED, CopyOrNone, Locked, MatchNameComponent, Writes
from ganeti.config.drbd import DrbdMixin
from ganeti.config.initial import MakeInitialConfig
from ganeti.config.instances import InstanceMixin
from ganeti.config.nodes import NodeMixin, RebuildGroupMembers
from ganeti.config.verify import VerifyConfigData
from ganeti.utils import io

CONFIG_FILE_MODE = 0o640

# Called after each save with the saved text and the ssconf values
SaveCallback = Callable[[str, dict[str, str]], None]

# What a job does with an address of a network (see ReserveIp and ReleaseIp)
_IP_RESERVE = "reserve"
_IP_RELEASE = "release"

# Where each kind of object is kept in ConfigData
_CONTAINERS = {
  objects.Node: "nodes",
  objects.NodeGroup: "nodegroups",
  objects.Instance: "instances",
  objects.Network: "networks",
  objects.Disk: "disks",
  objects.Filter: "filters",
}


class ConfigWriter(NodeMixin, InstanceMixin, DrbdMixin):
  """The cluster configuration held in memory and saved to cfg_file.

  ssconf files are written to ssconf_dir, by default the directory of
  cfg_file.  With offline=True the save callbacks are not run.
  """

  def __init__(self, cfg_file: Optional[str] = None, offline: bool = False,
               ssconf_dir: Optional[str] = None) -> None:
    self._lock = threading.RLock()
    self._cfg_file = cfg_file or pathutils.CLUSTER_CONF_FILE
    self._offline = offline
    location = ssconf_dir or os.path.dirname(self._cfg_file)
    self._ssconf = ssconf.SimpleStore(
      None if location == pathutils.DATA_DIR else location)
    self._save_callbacks: list[SaveCallback] = []
    self._reservations = temporary.TemporaryReservations()
    self._last_ssconf: dict[str, str] = {}
    self._last_saved = ""
    self.last_save_seconds: Optional[float] = None
    self._config_data = self._Load()

  # Loading and saving

  def _Load(self) -> objects.ConfigData:
    try:
      text = io.ReadFile(self._cfg_file)
    except EnvironmentError as err:
      raise errors.ConfigurationError("Cannot read configuration file %s: %s" %
                                      (self._cfg_file, err)) from None
    data = self._Parse(text)
    self._last_saved = text
    return data

  @staticmethod
  def _Parse(text: str) -> objects.ConfigData:
    try:
      raw = serializer.LoadJson(text)
    except ValueError as err:
      raise errors.ConfigurationError("Cannot parse configuration: %s" % err) from None
    if not isinstance(raw, dict):
      raise errors.ConfigurationError("Configuration is not a JSON object")
    version = raw.get("version")
    if version != constants.CONFIG_VERSION:
      raise errors.ConfigVersionMismatch(constants.CONFIG_VERSION, version)
    data = objects.ConfigData.FromDict(raw)
    data.UpgradeConfig()
    if data.cluster.master_node not in data.nodes:
      raise errors.ConfigurationError("Incomplete configuration (master node %s"
                                      " is not a node)" % data.cluster.master_node)
    RebuildGroupMembers(data)
    return data

  @Locked
  def Reload(self) -> None:
    """Re-reads the configuration file, dropping the in-memory state."""
    self._config_data = self._Load()

  def _WriteConfig(self, feedback_fn: Optional[Callable[[str], None]] = None) -> None:
    """Saves the configuration; on failure, memory returns to the last save."""
    start = time.monotonic()
    data = self._config_data
    data.serial_no += 1
    data.mtime = time.time()
    try:
      text = serializer.DumpJson(data.ToDict())
      io.WriteFile(self._cfg_file, text, mode=CONFIG_FILE_MODE)
    except BaseException:
      self._config_data = self._Parse(self._last_saved)
      raise
    self._last_saved = text
    values = self._WriteSsconf()
    self.last_save_seconds = time.monotonic() - start
    if not self._offline:
      self._RunCallbacks(text, values, feedback_fn)

  def _WriteSsconf(self, force: bool = False) -> dict[str, str]:
    """Writes the ssconf files whose content changed; returns all values."""
    values = ssconf.ComputeSsconfValues(self._config_data)
    changed = {key: value for key, value in values.items()
               if force or self._last_ssconf.get(key) != value}
    if changed:
      try:
        self._ssconf.WriteFiles(changed)
      except EnvironmentError:
        logging.exception("Can't write ssconf files")
        self._last_ssconf = {}
        return values
    self._last_ssconf = values
    return values

  def _RunCallbacks(self, text: str, values: dict[str, str],
                    feedback_fn: Optional[Callable[[str], None]]) -> None:
    for callback in list(self._save_callbacks):
      try:
        callback(text, values)
      except Exception as err:  # pylint: disable=broad-except
        logging.exception("Configuration save callback failed")
        if feedback_fn:
          feedback_fn("Distributing the configuration failed: %s" % err)

  @Locked
  def WriteSsconf(self, force: bool = True) -> None:
    """Rewrites the ssconf files (all of them unless force is False)."""
    self._WriteSsconf(force=force)

  @Locked
  def GetSsconfValues(self) -> dict[str, str]:
    """The ssconf values (key -> content) for the current configuration."""
    return ssconf.ComputeSsconfValues(self._config_data)

  @Locked
  def AddSaveCallback(self, callback: SaveCallback) -> None:
    """Registers callback(saved_text, ssconf_values), run after each save.

    It runs with the configuration locked, so saves are seen in order.
    """
    self._save_callbacks.append(callback)

  @Locked
  def RemoveSaveCallback(self, callback: SaveCallback) -> None:
    self._save_callbacks.remove(callback)

  @Locked
  def GetSerializedConfig(self) -> str:
    """The text of config.data as last saved."""
    return self._last_saved

  @Locked
  def GetConfigSerialNo(self) -> int:
    return self._config_data.serial_no

  @Locked
  def VerifyConfig(self) -> list[str]:
    """Problems found in the configuration (empty when consistent)."""
    return VerifyConfigData(self._config_data)

  # Changing objects

  def _Container(self, obj: objects.ConfigObject) -> dict:
    name = _CONTAINERS.get(type(obj))
    if name is None:
      raise errors.ProgrammerError("Object of unknown type %s" % type(obj).__name__)
    return getattr(self._config_data, name)

  def _Writable(self, container_name: str, uuid: str) -> Any:
    """Replaces a stored object by a copy and returns the copy to change.

    Stored objects are never changed in place, so whoever holds one (from
    GetAll*Info) keeps a consistent snapshot.
    """
    container = getattr(self._config_data, container_name)
    obj = container[uuid].Copy()
    container[uuid] = obj
    return obj

  def _WritableCluster(self) -> objects.Cluster:
    """Like _Writable, for the cluster; records the change in its serial."""
    cluster = self._config_data.cluster.Copy()
    cluster.serial_no += 1
    cluster.mtime = time.time()
    self._config_data.cluster = cluster
    return cluster

  @Writes
  def Update(self, target: objects.ConfigObject,
             feedback_fn: Optional[Callable[[str], None]] = None,
             ec_id: Any = None) -> None:
    """Saves a changed object: the cluster, a node, group, instance, network,
    disk or filter (bumping its serial number and modification time).
    """
    del ec_id  # reservations are committed by the Add* methods
    now = time.time()
    if isinstance(target, objects.Cluster):
      current = self._config_data.cluster
    else:
      container = self._Container(target)
      current = container.get(target.uuid)
    if current is None:
      raise errors.ConfigurationError("Configuration updated since object has"
                                      " been read or unknown object")
    if "serial_no" in target._FIELD_SET:  # pylint: disable=protected-access
      if current is not target and current.serial_no != target.serial_no:
        raise errors.ConfigurationError(
          "Configuration object updated since it has been read: %s != %s" %
          (current.serial_no, target.serial_no))
      target.serial_no = (target.serial_no or 0) + 1
      target.mtime = now
    if isinstance(target, objects.Cluster):
      self._config_data.cluster = target
    else:
      container[target.uuid] = target
      target.UpgradeConfig()
    if isinstance(target, (objects.Node, objects.NodeGroup)):
      RebuildGroupMembers(self._config_data)
    self._WriteConfig(feedback_fn)

  def _EnsureUuid(self, item: objects.ConfigObject, ec_id: Any, container: dict,
                  check_uuid: bool = True) -> None:
    if not item.uuid:
      item.uuid = self._GenerateUniqueID(ec_id)
    elif check_uuid and (item.uuid in container or
                         item.uuid in self._AllUuids()):
      raise errors.ConfigurationError("Can't add '%s': UUID %s already in use" %
                                      (getattr(item, "name", ""), item.uuid))

  @staticmethod
  def _Stamp(item: objects.ConfigObject, now: float) -> None:
    item.serial_no = 1
    item.ctime = item.mtime = now

  def _AddNamed(self, item: objects.ConfigObject, container: dict, kind: str,
                ec_id: Any, check_uuid: bool = True) -> float:
    """Common part of adding a named object; returns the time stamp used."""
    if any(other.name == item.name for other in container.values()):
      raise errors.ConfigurationError("Can't add %s '%s': name already in use" %
                                      (kind, item.name))
    self._EnsureUuid(item, ec_id, container, check_uuid)
    now = time.time()
    self._Stamp(item, now)
    item.UpgradeConfig()
    container[item.uuid] = item
    return now

  # Unique values

  def _AllUuids(self) -> set[str]:
    data = self._config_data
    uuids = {data.cluster.uuid}
    for container in (data.nodes, data.nodegroups, data.instances, data.networks,
                      data.disks, data.filters):
      uuids.update(container)
    for inst in data.instances.values():
      uuids.update(nic.uuid for nic in inst.nics if nic.uuid)
    return uuids

  def _GenerateUniqueID(self, ec_id: Any) -> str:
    existing = self._AllUuids()
    return self._reservations.Generate(temporary.UUID, ec_id,
                                       existing.__contains__, objects.NewUuid)

  @Locked
  def GenerateUniqueID(self, ec_id: Any) -> str:
    """A new uuid, reserved for the execution context ec_id."""
    return self._GenerateUniqueID(ec_id)

  def _AllMacs(self) -> set[str]:
    return {nic.mac for inst in self._config_data.instances.values()
            for nic in inst.nics if nic.mac}

  @Locked
  def GenerateMAC(self, net_uuid: Optional[str], ec_id: Any) -> str:
    """A new MAC address (with the network's or the cluster's prefix)."""
    prefix = self._config_data.cluster.mac_prefix
    network = self._config_data.networks.get(net_uuid) if net_uuid else None
    if network is not None and network.mac_prefix:
      prefix = network.mac_prefix
    macs = self._AllMacs()

    def _Random() -> str:
      return "%s:%02x:%02x:%02x" % (prefix, random.randrange(256),
                                    random.randrange(256), random.randrange(256))
    return self._reservations.Generate(temporary.MAC, ec_id, macs.__contains__,
                                       _Random)

  @Locked
  def ReserveMAC(self, mac: str, ec_id: Any) -> None:
    """Reserves a user-given MAC address; refuses one already in use."""
    if mac in self._AllMacs():
      raise errors.ReservationError("mac already in use")
    self._reservations.Reserve(temporary.MAC, ec_id, mac)

  @Locked
  def DropECReservations(self, ec_id: Any) -> None:
    """Ends the temporary reservations of one job."""
    self._reservations.Drop(ec_id)

  @Writes
  def AllocatePort(self) -> int:
    """A TCP/UDP port for an instance (network console, DRBD)."""
    current = self._config_data.cluster
    if not current.tcpudp_port_pool and current.highest_used_port >= paramdefs.LAST_DRBD_PORT:
      raise errors.ConfigurationError("The highest used port is greater"
                                      " than %s. Aborting." % paramdefs.LAST_DRBD_PORT)
    cluster = self._WritableCluster()
    if cluster.tcpudp_port_pool:
      port = cluster.tcpudp_port_pool.pop(0)
    else:
      port = cluster.highest_used_port = cluster.highest_used_port + 1
    self._WriteConfig()
    return port

  @Writes
  def AddTcpUdpPort(self, port: int) -> None:
    """Returns a port no longer used to the cluster's pool."""
    self._ReturnPorts([port])
    self._WriteConfig()

  # Cluster

  @Locked
  def GetClusterInfo(self) -> objects.Cluster:
    return self._config_data.cluster.Copy()

  @Locked
  def GetClusterName(self) -> str:
    return self._config_data.cluster.cluster_name

  @Locked
  def GetMasterNode(self) -> str:
    """The uuid of the master node."""
    return self._config_data.cluster.master_node

  @Locked
  def GetMasterNodeName(self) -> str:
    return self._config_data.nodes[self._config_data.cluster.master_node].name

  @Locked
  def GetMasterNodeInfo(self) -> objects.Node:
    return self._config_data.nodes[self._config_data.cluster.master_node].Copy()

  @Locked
  def GetMasterIP(self) -> str:
    return self._config_data.cluster.master_ip

  @Locked
  def GetMasterNetdev(self) -> str:
    return self._config_data.cluster.master_netdev

  @Locked
  def GetMasterNetmask(self) -> int:
    return self._config_data.cluster.master_netmask

  @Locked
  def GetUseExternalMipScript(self) -> bool:
    return self._config_data.cluster.use_external_mip_script

  @Locked
  def GetFileStorageDir(self) -> str:
    return self._config_data.cluster.file_storage_dir

  @Locked
  def GetSharedFileStorageDir(self) -> str:
    return self._config_data.cluster.shared_file_storage_dir

  @Locked
  def GetGlusterStorageDir(self) -> str:
    return self._config_data.cluster.gluster_storage_dir

  @Locked
  def GetHypervisorType(self) -> str:
    """The default hypervisor (the first enabled one)."""
    return self._config_data.cluster.GetDefaultHypervisor()

  @Locked
  def GetVGName(self) -> Optional[str]:
    return self._config_data.cluster.volume_group_name

  @Locked
  def GetDRBDHelper(self) -> Optional[str]:
    return self._config_data.cluster.drbd_usermode_helper

  @Locked
  def GetMACPrefix(self) -> str:
    return self._config_data.cluster.mac_prefix

  @Locked
  def GetDefaultIAllocator(self) -> str:
    return self._config_data.cluster.default_iallocator

  @Locked
  def GetDefaultIAllocatorParameters(self) -> dict:
    return objects.CopyValue(self._config_data.cluster.default_iallocator_params)

  @Locked
  def GetPrimaryIPFamily(self) -> int:
    return self._config_data.cluster.primary_ip_family

  @Locked
  def GetCandidateCerts(self) -> dict[str, str]:
    return dict(self._config_data.cluster.candidate_certs)

  @Writes
  def AddNodeToCandidateCerts(self, node_uuid: str, digest: str) -> None:
    self._WritableCluster().candidate_certs[node_uuid] = digest
    self._WriteConfig()

  @Writes
  def RemoveNodeFromCandidateCerts(self, node_uuid: str) -> None:
    if node_uuid in self._config_data.cluster.candidate_certs:
      del self._WritableCluster().candidate_certs[node_uuid]
      self._WriteConfig()

  # Parameters filled by inheritance

  @Locked
  def GetNdParams(self, node: objects.Node) -> dict:
    """The node's effective parameters (cluster -> group -> node)."""
    group = self._config_data.nodegroups[node.group]
    return self._config_data.cluster.FillND(node, group)

  @Locked
  def GetNdGroupParams(self, group: objects.NodeGroup) -> dict:
    return self._config_data.cluster.SimpleFillND(group.ndparams)

  @Locked
  def GetGroupDiskParams(self, group: objects.NodeGroup) -> dict:
    return self._config_data.cluster.FillDP(group)

  @Locked
  def GetGroupIPolicy(self, group: objects.NodeGroup) -> dict:
    return self._config_data.cluster.FillIPolicy(group)

  @Locked
  def GetInstanceDiskParams(self, instance: objects.Instance) -> dict:
    """The disk parameters of the group of the instance's primary node."""
    node = self._config_data.nodes[instance.primary_node]
    return self._config_data.cluster.FillDP(self._config_data.nodegroups[node.group])

  # Networks

  @Locked
  def GetNetwork(self, net_uuid: str) -> Optional[objects.Network]:
    return CopyOrNone(self._config_data.networks.get(net_uuid))

  @Locked
  def GetNetworkList(self) -> list[str]:
    return list(self._config_data.networks)

  @Locked
  def GetAllNetworksInfo(self) -> dict[str, objects.Network]:
    """All networks by uuid (shared objects: read-only)."""
    return dict(self._config_data.networks)

  @Locked
  def GetNetworkNames(self) -> list[str]:
    return [net.name for net in self._config_data.networks.values()]

  @Locked
  def LookupNetwork(self, target: str) -> str:
    """The uuid of the network named or identified by target."""
    networks = self._config_data.networks
    if target in networks:
      return target
    for uuid, net in networks.items():
      if net.name == target:
        return uuid
    raise errors.OpPrereqError("Network '%s' not found" % target, errors.ECODE_NOENT)

  @Locked
  def LookupNetworkInfo(self, target: str) -> Optional[objects.Network]:
    """The network named or identified by target (a copy), or None."""
    networks = self._config_data.networks
    net = networks.get(target) or next(
      (net for net in networks.values() if net.name == target), None)
    return CopyOrNone(net)

  @Writes
  def AddNetwork(self, net: objects.Network, ec_id: Any = None,
                 check_uuid: bool = True) -> None:
    self._AddNamed(net, self._config_data.networks, "network", ec_id, check_uuid)
    self._WriteConfig()

  @Writes
  def RemoveNetwork(self, net_uuid: str) -> None:
    """Removes a network and its connections to node groups."""
    if self._config_data.networks.pop(net_uuid, None) is None:
      raise errors.ConfigurationError("Unknown network %s" % net_uuid)
    now = time.time()
    for group_uuid, group in self._config_data.nodegroups.items():
      if net_uuid in group.networks:
        group = self._Writable("nodegroups", group_uuid)
        del group.networks[net_uuid]
        group.serial_no += 1
        group.mtime = now
    self._WriteConfig()

  # Addresses of networks taken by instances: reserved for a job first, and
  # written to the network's pool only when the job commits them

  def _AddressPool(self, net_uuid: str) -> Any:
    from ganeti import network  # pylint: disable=import-outside-toplevel
    if net_uuid not in self._config_data.networks:
      raise errors.ConfigurationError("Unknown network %s" % net_uuid)
    return network.AddressPool(self._config_data.networks[net_uuid].Copy())

  def _PendingIps(self, net_uuid: str) -> set[str]:
    """Addresses of a network that some job reserved and has not committed."""
    return {address for action, uuid, address in self._reservations.Held(temporary.IP)
            if action == _IP_RESERVE and uuid == net_uuid}

  @Locked
  def ReserveIp(self, net_uuid: str, address: str, ec_id: Any, check: bool = True) -> None:
    """Reserves an address of a network for the job ec_id.

    With check, an address already taken in the pool is refused.
    """
    pool = self._AddressPool(net_uuid)
    if check:
      try:
        taken = pool.IsReserved(address)
      except errors.AddressPoolError as err:
        raise errors.ReservationError(str(err)) from None
      if taken:
        raise errors.ReservationError("IP address already in use")
    self._reservations.Reserve(temporary.IP, ec_id, (_IP_RESERVE, net_uuid, address))

  @Locked
  def GenerateIp(self, net_uuid: str, ec_id: Any) -> str:
    """A free address of a network, reserved for the job ec_id."""
    pool = self._AddressPool(net_uuid)
    try:
      address = pool.GenerateFree(frozenset(self._PendingIps(net_uuid)))
    except errors.AddressPoolError:
      raise errors.ReservationError("Cannot generate IP. Network is full") from None
    self._reservations.Reserve(temporary.IP, ec_id, (_IP_RESERVE, net_uuid, address))
    return address

  @Locked
  def ReleaseIp(self, net_uuid: str, address: str, ec_id: Any) -> None:
    """Gives an address back to its network when the job ec_id commits."""
    self._reservations.Reserve(temporary.IP, ec_id, (_IP_RELEASE, net_uuid, address))

  @Writes
  def CommitTemporaryIps(self, ec_id: Any) -> None:
    """Writes the address reservations and releases of job ec_id to the pools."""
    held = self._reservations.Held(temporary.IP, ec_id)
    if not held:
      return
    from ganeti import network  # pylint: disable=import-outside-toplevel
    pools = {}
    for action, net_uuid, address in sorted(held, key=lambda item: item[0] != _IP_RELEASE):
      if net_uuid not in self._config_data.networks:
        continue  # the network went away meanwhile
      if net_uuid not in pools:
        pools[net_uuid] = network.AddressPool(self._Writable("networks", net_uuid))
      pool = pools[net_uuid]
      try:
        if action == _IP_RELEASE:
          pool.Release(address)
        else:
          pool.Reserve(address)
      except errors.AddressPoolError as err:
        logging.warning("Address %s of network %s: %s", address, net_uuid, err)
    now = time.time()
    for pool in pools.values():
      pool.net.serial_no += 1
      pool.net.mtime = now
    self._reservations.Drop(ec_id, temporary.IP)
    self._WriteConfig()

  @Locked
  def CheckIPInNodeGroup(self, address: str, node_uuid: str
                         ) -> tuple[Optional[str], Optional[str]]:
    """(name, uuid) of the network of the node's group containing address."""
    from ganeti import network  # pylint: disable=import-outside-toplevel
    node = self._config_data.nodes[node_uuid]
    group = self._config_data.nodegroups[node.group]
    for net_uuid in group.networks:
      net = self._config_data.networks.get(net_uuid)
      if net is not None and network.AddressPool(net.Copy()).Contains(address):
        return net.name, net_uuid
    return None, None

  # Job filters

  @Locked
  def GetFilters(self) -> list[objects.Filter]:
    """All job filter rules (shared objects: read-only)."""
    return list(self._config_data.filters.values())

  @Locked
  def GetAllFiltersInfo(self) -> dict[str, objects.Filter]:
    return dict(self._config_data.filters)

  @Locked
  def GetFilter(self, filter_uuid: str) -> Optional[objects.Filter]:
    return CopyOrNone(self._config_data.filters.get(filter_uuid))

  @Writes
  def AddFilter(self, filter_rule: objects.Filter, replace: bool = False,
                ec_id: Any = None) -> str:
    """Adds a filter rule, or with replace=True replaces the one of its uuid.

    Returns the rule's uuid (generated when missing).
    """
    filters = self._config_data.filters
    if not filter_rule.uuid:
      filter_rule.uuid = self._GenerateUniqueID(ec_id)
    elif filter_rule.uuid in filters and not replace:
      raise errors.ConfigurationError("Filter %s already exists" % filter_rule.uuid)
    filter_rule.UpgradeConfig()
    filters[filter_rule.uuid] = filter_rule
    self._WriteConfig()
    return filter_rule.uuid

  @Writes
  def RemoveFilter(self, filter_uuid: str) -> None:
    if self._config_data.filters.pop(filter_uuid, None) is None:
      raise errors.ConfigurationError("Unknown filter %s" % filter_uuid)
    self._WriteConfig()


def WriteConfigData(data: objects.ConfigData, cfg_file: Optional[str] = None) -> None:
  """Writes a configuration document atomically (no ssconf, no checks)."""
  io.WriteFile(cfg_file or pathutils.CLUSTER_CONF_FILE,
               serializer.DumpJson(data.ToDict()), mode=CONFIG_FILE_MODE, mkdir=True)


def WriteInitialConfig(data: objects.ConfigData, cfg_file: Optional[str] = None,
                       ssconf_dir: Optional[str] = None) -> ConfigWriter:
  """Writes a new cluster's configuration and ssconf files; returns its writer."""
  WriteConfigData(data, cfg_file)
  writer = ConfigWriter(cfg_file, offline=True, ssconf_dir=ssconf_dir)
  writer.WriteSsconf()
  return writer


def InitConfig(cfg_file: Optional[str] = None, ssconf_dir: Optional[str] = None,
               **kwargs: Any) -> ConfigWriter:
  """Creates the configuration of a new cluster ("gnt-cluster init").

  kwargs are those of MakeInitialConfig (cluster_name, master_name,
  primary_ip, master_ip, master_netdev, ... and cluster settings by their
  attribute names).  Returns an offline writer for the new configuration.
  """
  return WriteInitialConfig(MakeInitialConfig(**kwargs), cfg_file, ssconf_dir)


__all__ = ["ConfigWriter", "InitConfig", "MakeInitialConfig", "WriteInitialConfig",
           "WriteConfigData", "MatchNameComponent", "CONFIG_FILE_MODE", "DT_MIXED"]
