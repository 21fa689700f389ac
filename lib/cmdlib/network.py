"""Logical units of networks: add, remove, change, connect to and disconnect
from node groups."""

import ipaddress
import re
from typing import Any, Callable, Optional

from ganeti import constants
from ganeti import errors
from ganeti import locking
from ganeti import network
from ganeti import objects
from ganeti import paramdefs
from ganeti.cmdlib.base import LogicalUnit

_MAC_PREFIX_RE = re.compile(r"^[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$")


def CheckMacPrefix(prefix: str) -> str:
  """The prefix in lower case; refused unless it has the form xx:xx:xx."""
  if not _MAC_PREFIX_RE.match(prefix.lower()):
    raise errors.OpPrereqError("Invalid MAC address prefix '%s'" % prefix,
                               errors.ECODE_INVAL)
  return prefix.lower()


def _PoolFor(net: objects.Network, action: str) -> network.AddressPool:
  try:
    return network.AddressPool(net)
  except errors.AddressPoolError as err:
    raise errors.OpExecError("Cannot %s IP address pool for network '%s': %s" %
                             (action, net.name, err)) from None


def NetworkHooksEnv(net: objects.Network) -> dict[str, Any]:
  return {
    "NETWORK_NAME": net.name,
    "NETWORK_SUBNET": net.network,
    "NETWORK_GATEWAY": net.gateway,
    "NETWORK_SUBNET6": net.network6,
    "NETWORK_GATEWAY6": net.gateway6,
    "NETWORK_MAC_PREFIX": net.mac_prefix,
    "NETWORK_TAGS": " ".join(sorted(net.GetTags())),
  }


class LUNetworkAdd(LogicalUnit):
  """Creates a network with its address pool."""

  HPATH = "network-add"
  HTYPE = constants.HTYPE_NETWORK
  REQ_BGL = False

  def CheckArguments(self) -> None:
    if self.op.mac_prefix:
      self.op.mac_prefix = CheckMacPrefix(self.op.mac_prefix)

  def ExpandNames(self) -> None:
    self.needed_locks = {}

  def CheckPrereq(self) -> None:
    existing = self.cfg.LookupNetworkInfo(self.op.network_name)
    if existing is not None:
      raise errors.OpPrereqError("Desired network name '%s' already exists as a network"
                                 " (UUID: %s)" % (self.op.network_name, existing.uuid),
                                 errors.ECODE_EXISTS)
    for tag in self.op.tags or []:
      objects.Network.ValidateTag(tag)

  def _NewNetwork(self) -> objects.Network:
    op = self.op
    return objects.Network(name=op.network_name, network=op.network, gateway=op.gateway,
                           network6=op.network6, gateway6=op.gateway6,
                           mac_prefix=op.mac_prefix, tags=list(op.tags or []))

  def BuildHooksEnv(self) -> dict:
    return NetworkHooksEnv(self._NewNetwork())

  def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
    return self.MasterNodeHooks()

  def _ReserveClusterAddresses(self, pool: network.AddressPool) -> None:
    """Keeps the nodes' and the master's addresses away from instances.

    Like Ganeti, a node whose primary and secondary address are the same
    is tried twice (and warned about the second time).
    """
    for node in self.cfg.GetAllNodesInfo().values():
      for address in (node.primary_ip, node.secondary_ip):
        if not pool.Contains(address):
          continue
        try:
          pool.Reserve(address, external=True)
          self.LogInfo("Reserved IP address of node '%s' (%s)", node.name, address)
        except errors.AddressPoolError as err:
          self.LogWarning("Cannot reserve IP address '%s' of node '%s': %s", address,
                          node.name, err)
    master_ip = self.cfg.GetMasterIP()
    if pool.Contains(master_ip):
      try:
        pool.Reserve(master_ip, external=True)
        self.LogInfo("Reserved cluster master IP address (%s)", master_ip)
      except errors.AddressPoolError as err:
        self.LogWarning("Cannot reserve cluster master IP address (%s): %s", master_ip, err)

  def Exec(self, feedback_fn: Any) -> None:
    net = self._NewNetwork()
    try:
      ipaddress.IPv4Network(net.network)
    except ValueError as err:
      raise errors.OpExecError(str(err)) from None
    try:
      pool = network.AddressPool.InitializeNetwork(net)
    except errors.AddressPoolError as err:
      raise errors.OpExecError("Cannot create IP address pool for network '%s': %s" %
                               (net.name, err)) from None
    for address in self.op.add_reserved_ips or []:
      try:
        pool.Reserve(address, external=True)
      except errors.AddressPoolError as err:
        raise errors.OpExecError("Cannot reserve IP address '%s': %s" %
                                 (address, err)) from None
    if self.op.conflicts_check:
      self._ReserveClusterAddresses(pool)
    net.uuid = self.cfg.GenerateUniqueID(self.proc.job_id)
    self.cfg.AddNetwork(net, self.proc.job_id, check_uuid=False)
    self.glm.add(locking.LEVEL_NETWORK, [net.uuid])


class _NetworkLU(LogicalUnit):
  """An LU working on the network named by the opcode's network_name."""

  HTYPE = constants.HTYPE_NETWORK
  REQ_BGL = False

  def ExpandNames(self) -> None:
    self.network_uuid = self.cfg.LookupNetwork(self.op.network_name)
    self.needed_locks = {locking.LEVEL_NETWORK: [self.network_uuid]}

  def BuildHooksEnv(self) -> dict:
    return NetworkHooksEnv(self.cfg.GetNetwork(self.network_uuid))

  def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
    return self.MasterNodeHooks()


class LUNetworkRemove(_NetworkLU):
  """Removes a network that no node group is connected to."""

  HPATH = "network-remove"

  def BuildHooksEnv(self) -> dict:
    return {"NETWORK_NAME": self.op.network_name}

  def ExpandNames(self) -> None:
    super().ExpandNames()
    self.needed_locks[locking.LEVEL_NODEGROUP] = locking.ALL_SET
    self.share_locks[locking.LEVEL_NODEGROUP] = 1

  def CheckPrereq(self) -> None:
    groups = [group.name for group in self.cfg.GetAllNodeGroupsInfo().values()
              if self.network_uuid in (group.networks or {})]
    if groups:
      self.LogWarning("Network '%s' is connected to the following node groups: %s",
                      self.op.network_name, ", ".join(sorted(groups)))
      raise errors.OpPrereqError("Network still connected", errors.ECODE_STATE)

  def Exec(self, feedback_fn: Any) -> None:
    self.cfg.RemoveNetwork(self.network_uuid)
    self.glm.remove(locking.LEVEL_NETWORK, [self.network_uuid])


def _MaybeNone(value: Optional[str]) -> Optional[str]:
  """A user value, with "none" meaning no value."""
  return None if value == paramdefs.VALUE_NONE else value


class LUNetworkSetParams(_NetworkLU):
  """Changes a network's gateway, IPv6 settings, MAC prefix and reservations."""

  HPATH = "network-modify"

  def CheckArguments(self) -> None:
    op = self.op
    changes = [op.gateway, op.network6, op.gateway6, op.mac_prefix, op.add_reserved_ips,
               op.remove_reserved_ips]
    if changes.count(None) == len(changes):
      raise errors.OpPrereqError("Please pass at least one modification", errors.ECODE_INVAL)
    if op.mac_prefix and op.mac_prefix != paramdefs.VALUE_NONE:
      op.mac_prefix = CheckMacPrefix(op.mac_prefix)

  def CheckPrereq(self) -> None:
    self.network = self.cfg.GetNetwork(self.network_uuid)
    self.pool = _PoolFor(self.network, "use")

  def Exec(self, feedback_fn: Any) -> None:
    op, net, pool = self.op, self.network, self.pool
    if op.gateway:
      new_gateway = _MaybeNone(op.gateway)
      if new_gateway is not None:
        # first: a refused address leaves the network as it was
        pool.Reserve(new_gateway, external=True)
      if net.gateway:
        pool.Release(net.gateway, external=True)
      net.gateway = new_gateway
    for address in op.add_reserved_ips or []:
      try:
        pool.Reserve(address, external=True)
      except errors.AddressPoolError as err:
        self.LogWarning("Cannot reserve IP address %s: %s", address, err)
    for address in op.remove_reserved_ips or []:
      if address == net.gateway:
        self.LogWarning("Cannot unreserve Gateway's IP")
        continue
      try:
        pool.Release(address, external=True)
      except errors.AddressPoolError as err:
        self.LogWarning("Cannot release IP address %s: %s", address, err)
    if op.mac_prefix:
      net.mac_prefix = _MaybeNone(op.mac_prefix)
    if op.network6:
      net.network6 = _MaybeNone(op.network6)
    if op.gateway6:
      net.gateway6 = _MaybeNone(op.gateway6)
    self.cfg.Update(net, feedback_fn)


def _NicConflicts(cfg: Any, group_uuid: str, uses_network: Callable[[Any], bool]
                  ) -> list[tuple[str, list[tuple[int, str]]]]:
  """Instances of the group with NICs for which uses_network(nic) holds:
  [(instance name, [(NIC index, IP address), ...]), ...]."""
  members = set(cfg.GetNodeGroup(group_uuid).members)
  conflicts = []
  for inst in sorted(cfg.GetAllInstancesInfo().values(), key=lambda inst: inst.name):
    if inst.primary_node not in members:
      continue
    nics = [(index, nic.ip) for index, nic in enumerate(inst.nics) if uses_network(nic)]
    if nics:
      conflicts.append((inst.name, nics))
  return conflicts


def _CheckNoConflicts(lu: LogicalUnit, action: str, group_name: str,
                      conflicts: list[tuple[str, list[tuple[int, str]]]]) -> None:
  if not conflicts:
    return
  details = ", ".join("%s: %s" % (name, ", ".join("nic%s/%s" % nic for nic in nics))
                      for name, nics in conflicts)
  lu.LogWarning("IP addresses from network '%s', which is about to %s node group '%s',"
                " are in use: %s", lu.op.network_name, action, group_name, details)
  raise errors.OpPrereqError("Conflicting IP addresses found;  Remove/modify the"
                             " corresponding network interfaces", errors.ECODE_STATE)


class _ConnectionLU(_NetworkLU):
  """Connecting or disconnecting a network and a node group."""

  def ExpandNames(self) -> None:
    super().ExpandNames()
    self.group_uuid = self.cfg.LookupNodeGroup(self.op.group_name)
    self.needed_locks[locking.LEVEL_NODEGROUP] = [self.group_uuid]
    self.share_locks[locking.LEVEL_NETWORK] = 1

  def BuildHooksEnv(self) -> dict:
    env = super().BuildHooksEnv()
    env["GROUP_NAME"] = self.op.group_name
    return env

  def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
    nodes = self.cfg.GetNodeGroup(self.group_uuid).members
    return nodes, nodes


class LUNetworkConnect(_ConnectionLU):
  """Makes a network available to a node group, with the NIC mode and link
  its instances use on it."""

  HPATH = "network-connect"

  def CheckArguments(self) -> None:
    self.netparams = {paramdefs.NIC_MODE: self.op.network_mode,
                      paramdefs.NIC_LINK: self.op.network_link,
                      paramdefs.NIC_VLAN: self.op.network_vlan or ""}
    try:
      objects.NIC.CheckParameterSyntax(self.netparams)
    except errors.ConfigurationError as err:
      raise errors.OpPrereqError(str(err), errors.ECODE_INVAL) from None

  def BuildHooksEnv(self) -> dict:
    env = super().BuildHooksEnv()
    env.update({"GROUP_NETWORK_MODE": self.op.network_mode,
                "GROUP_NETWORK_LINK": self.op.network_link,
                "GROUP_NETWORK_VLAN": self.op.network_vlan})
    return env

  def CheckPrereq(self) -> None:
    group = self.cfg.GetNodeGroup(self.group_uuid)
    self.connected = self.network_uuid in (group.networks or {})
    if self.connected:
      self.LogWarning("Network '%s' is already mapped to group '%s'",
                      self.op.network_name, self.op.group_name)
      return
    if self.op.conflicts_check:
      pool = _PoolFor(self.cfg.GetNetwork(self.network_uuid), "use")
      conflicts = _NicConflicts(self.cfg, self.group_uuid,
                                lambda nic: bool(nic.ip) and pool.Contains(nic.ip))
      _CheckNoConflicts(self, "connect to", self.op.group_name, conflicts)

  def Exec(self, feedback_fn: Any) -> None:
    if self.connected:
      return
    group = self.cfg.GetNodeGroup(self.group_uuid)
    group.networks[self.network_uuid] = dict(self.netparams)
    self.cfg.Update(group, feedback_fn)


class LUNetworkDisconnect(_ConnectionLU):
  """Takes a network away from a node group whose instances do not use it."""

  HPATH = "network-disconnect"

  def CheckPrereq(self) -> None:
    group = self.cfg.GetNodeGroup(self.group_uuid)
    self.connected = self.network_uuid in (group.networks or {})
    if not self.connected:
      self.LogWarning("Network '%s' is not mapped to group '%s'",
                      self.op.network_name, self.op.group_name)
      return
    conflicts = _NicConflicts(self.cfg, self.group_uuid,
                              lambda nic: nic.network == self.network_uuid)
    _CheckNoConflicts(self, "disconnect from", self.op.group_name, conflicts)

  def Exec(self, feedback_fn: Any) -> None:
    if not self.connected:
      return
    group = self.cfg.GetNodeGroup(self.group_uuid)
    del group.networks[self.network_uuid]
    self.cfg.Update(group, feedback_fn)
