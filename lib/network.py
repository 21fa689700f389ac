"""IPv4 address pools of networks.

A network keeps two strings in config.data, one character per address of
its subnet ("1" = taken): "reservations" for addresses instances use and
"ext_reservations" for addresses kept away from instances (the network and
broadcast addresses, the gateway, and addresses the administrator reserves).
AddressPool works on them as bit arrays and writes them back to the network
object it was made from; saving the object is the caller's business.
"""

import ipaddress
from typing import Any, Iterator, Optional

from ganeti import errors
from ganeti import objects
from ganeti.utils import thirdparty

# Subnets smaller than this leave no address for instances once the network
# and broadcast addresses are taken; bigger ones make unwieldy maps
MIN_PREFIXLEN_HOSTS = 4       # a /30
MAX_PREFIXLEN_HOSTS = 1 << 16  # a /16


def bitarray(value: Any = "") -> Any:  # pylint: disable=invalid-name
  """bitarray.bitarray, imported when first needed (commands run without site-packages)."""
  return thirdparty.Import("bitarray").bitarray(value)


def _Bits(text: Optional[str], size: int) -> Any:
  bits = bitarray(text or "")
  if len(bits) < size:
    bits.extend([False] * (size - len(bits)))
  return bits[:size]


class AddressPool:
  """The address pool of one network (objects.Network)."""

  def __init__(self, network: objects.Network) -> None:
    self.net = network
    try:
      self.network = ipaddress.IPv4Network(network.network)
    except ValueError as err:
      raise errors.AddressPoolError(str(err)) from None
    size = self.network.num_addresses
    if size > MAX_PREFIXLEN_HOSTS:
      raise errors.AddressPoolError("A big network with %d host(s) is currently not"
                                    " supported. please specify at most a /16 network"
                                    % size)
    if size < MIN_PREFIXLEN_HOSTS:
      raise errors.AddressPoolError("A network with only %d host(s) is too small, please"
                                    " specify at least a /30 network" % size)
    self.gateway = ipaddress.IPv4Address(network.gateway) if network.gateway else None
    if self.gateway is not None and self.gateway not in self.network:
      raise errors.AddressPoolError("%s does not contain %s" % (self.network, self.gateway))
    if network.network6:
      network6 = ipaddress.IPv6Network(network.network6)
      if network.gateway6:
        gateway6 = ipaddress.IPv6Address(network.gateway6)
        # a link-local gateway is reachable from any subnet
        if gateway6 not in network6 and not gateway6.is_link_local:
          raise errors.AddressPoolError("%s does not contain %s" % (network6, gateway6))
    self.reservations = _Bits(network.reservations, size)
    self.ext_reservations = _Bits(network.ext_reservations, size)

  @classmethod
  def InitializeNetwork(cls, network: objects.Network) -> "AddressPool":
    """A pool for a new network: network, broadcast and gateway addresses taken."""
    network.reservations = network.ext_reservations = None
    pool = cls(network)
    pool.Reserve(pool.network.network_address, external=True)
    pool.Reserve(pool.network.broadcast_address, external=True)
    if pool.gateway is not None:
      pool.Reserve(pool.gateway, external=True)
    pool.Save()
    return pool

  def Save(self) -> None:
    """Writes the bit arrays back to the network object."""
    self.net.reservations = self.reservations.to01()
    self.net.ext_reservations = self.ext_reservations.to01()

  def _Index(self, address: object) -> int:
    try:
      addr = ipaddress.IPv4Address(str(address))
    except ValueError as err:
      raise errors.AddressPoolError(str(err)) from None
    if addr not in self.network:
      raise errors.AddressPoolError("%s does not contain %s" % (self.network, addr))
    return int(addr) - int(self.network.network_address)

  def Contains(self, address: object) -> bool:
    try:
      self._Index(address)
    except errors.AddressPoolError:
      return False
    return True

  @property
  def all_reservations(self) -> Any:
    return self.reservations | self.ext_reservations

  def IsReserved(self, address: object, external: bool = False) -> bool:
    """Whether the address is taken (external: by an external reservation only)."""
    index = self._Index(address)
    bits = self.ext_reservations if external else self.all_reservations
    return bool(bits[index])

  def Reserve(self, address: object, external: bool = False) -> None:
    """Takes an address for an instance (or externally); refuses a taken one."""
    index = self._Index(address)
    if self.all_reservations[index]:
      kind = "externally reserved" if self.ext_reservations[index] else "reserved"
      raise errors.AddressPoolError("IP %s is already %s" % (address, kind))
    (self.ext_reservations if external else self.reservations)[index] = True
    self.Save()

  def Release(self, address: object, external: bool = False) -> None:
    """Gives back an address taken the same way (external or not)."""
    index = self._Index(address)
    bits = self.ext_reservations if external else self.reservations
    if not bits[index]:
      kind = "externally reserved" if external else "reserved"
      raise errors.AddressPoolError("IP %s is not %s" % (address, kind))
    bits[index] = False
    self.Save()

  def GetFreeCount(self) -> int:
    return self.all_reservations.count(False)

  def GetReservedCount(self) -> int:
    return self.all_reservations.count(True)

  def IsFull(self) -> bool:
    return self.all_reservations.all()

  def GetMap(self) -> str:
    """One character per address: "X" taken, "." free."""
    return self.all_reservations.to01().replace("1", "X").replace("0", ".")

  def _Addresses(self, bits: Any) -> Iterator[ipaddress.IPv4Address]:
    base = self.network.network_address
    return (base + index for index in bits.search(bitarray("1")))

  def GetExternalReservations(self) -> list[str]:
    return [str(addr) for addr in self._Addresses(self.ext_reservations)]

  def GetReservedIps(self) -> list[str]:
    """Addresses reserved for instances."""
    return [str(addr) for addr in self._Addresses(self.reservations)]

  def GenerateFree(self, skip: frozenset = frozenset()) -> str:
    """The first free address not in skip (addresses as strings); not reserved."""
    base = self.network.network_address
    for index in self.all_reservations.search(bitarray("0")):
      address = str(base + index)
      if address not in skip:
        return address
    raise errors.AddressPoolError("Cannot generate IP. Network is full")
