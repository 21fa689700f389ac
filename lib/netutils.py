"""Host names and addresses.

Name lookups consult the node's own hosts file first (in a virtual cluster it
lives below the node's root, so nodes resolve each other without touching
the machine's /etc/hosts), then the system resolver.
"""

import ipaddress
import os
import socket
import sys
from typing import Optional

from ganeti import errors
from ganeti import pathutils
from ganeti import vcluster


def GetHostname() -> str:
  """This node's name (GANETI_HOSTNAME in a virtual cluster)."""
  return vcluster.HOSTNAME or socket.getfqdn()


def _hosts_file_lookup(name: str, path: str) -> Optional[str]:
  try:
    with open(path, encoding="utf-8") as handle:
      for line in handle:
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and name in fields[1:]:
          return fields[0]
  except FileNotFoundError:
    return None
  return None


def ResolveHostname(name: str) -> tuple[str, str]:
  """(name, IP address) of a host; raises errors.ResolverError."""
  for path in dict.fromkeys([pathutils.ETC_HOSTS, "/etc/hosts"]):
    address = _hosts_file_lookup(name, path)
    if address:
      return name, address
  try:
    return name, socket.gethostbyname(name)
  except OSError as err:
    raise errors.ResolverError(name, getattr(err, "errno", None), str(err)) from err


def ResolveNodeName(name: str) -> tuple[str, str]:
  """(name, primary IP) of a host, refused as Ganeti refuses an unknown one."""
  try:
    return ResolveHostname(name)
  except errors.ResolverError as err:
    reason = err.args[2] if len(err.args) > 2 else err
    raise errors.OpPrereqError("The given name (%s) does not resolve: %s" % (name, reason),
                               errors.ECODE_RESOLVER) from None


def IsValidIP4(address: str) -> bool:
  try:
    ipaddress.IPv4Address(address)
    return True
  except ValueError:
    return False


def IsValidIP6(address: str) -> bool:
  try:
    ipaddress.IPv6Address(address)
    return True
  except ValueError:
    return False


def InterfaceExists(name: str) -> bool:
  return os.path.exists(os.path.join("/sys/class/net", name))


def TcpPing(address: str, port: int, timeout: float = 5.0,
            listening: bool = False) -> bool:
  """Whether something at address accepts TCP connections on port; unless
  listening is asked for, a refused connection also counts (it proves the
  address is in use)."""
  family = socket.AF_INET6 if IsValidIP6(address) else socket.AF_INET
  with socket.socket(family, socket.SOCK_STREAM) as sock:
    sock.settimeout(timeout)
    try:
      sock.connect((address, port))
      return True
    except ConnectionRefusedError:
      return not listening
    except OSError:
      return False


# /proc/net/tcp{,6}: the kernel's TCP sockets, kernel sockets (DRBD's) too
PROC_NET = "/proc/net"
_TCP_ESTABLISHED = "01"
_TCP_TABLES = (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6))

# (address as inet_ntop writes it, port)
Endpoint = tuple[str, int]


def _TableEndpoint(text: str, family: int) -> Endpoint:
  """An "ADDRESS:PORT" of a TCP table: the address in hex, each 32-bit word
  in the kernel's byte order; the port in hex."""
  address, port = text.split(":")
  raw = bytes.fromhex(address)
  if sys.byteorder == "little":
    raw = b"".join(raw[start:start + 4][::-1] for start in range(0, len(raw), 4))
  return socket.inet_ntop(family, raw), int(port, 16)


def ParseEstablishedTcp(text: str, family: int) -> set[tuple[Endpoint, Endpoint]]:
  """The (local, remote) endpoints of the established connections in the
  text of /proc/net/tcp (family AF_INET) or tcp6 (AF_INET6)."""
  connections = set()
  for line in text.splitlines()[1:]:
    fields = line.split()
    if len(fields) < 4 or fields[3] != _TCP_ESTABLISHED:
      continue
    try:
      connections.add((_TableEndpoint(fields[1], family), _TableEndpoint(fields[2], family)))
    except (ValueError, OSError):
      continue  # not a line of the table's format
  return connections


def EstablishedTcp(proc_net: str = PROC_NET) -> set[tuple[Endpoint, Endpoint]]:
  """The (local, remote) endpoints of the node's established TCP connections
  (a table the kernel does not offer counts as empty)."""
  connections: set[tuple[Endpoint, Endpoint]] = set()
  for name, family in _TCP_TABLES:
    try:
      with open(os.path.join(proc_net, name)) as table:
        connections |= ParseEstablishedTcp(table.read(), family)
    except OSError:
      continue
  return connections


def NormalizeAddress(address: str) -> str:
  """The address as inet_ntop writes it (IPv6 compressed); as given when it is
  not an address."""
  try:
    return str(ipaddress.ip_address(address))
  except ValueError:
    return address
