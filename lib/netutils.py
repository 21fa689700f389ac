"""Host names and addresses.

Name lookups consult the node's own hosts file first (in a virtual cluster it
lives below the node's root, so nodes resolve each other without touching
the machine's /etc/hosts), then the system resolver.
"""

import ipaddress
import os
import socket
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
