"""NICs of KVM instances: tap devices and the node's ifup step.

The hypervisor opens each tap itself (so qemu gets a ready file descriptor)
and then brings it into the network: by the administrator's
kvm-ifup-custom script in the cluster configuration directory when there
is one (same environment as Ganeti's), else by the built-in steps of the
NIC's mode: bridged (tap joins the bridge), routed (a host route to the
NIC's IP, proxy ARP) or openvswitch (ovs-vsctl add-port).  A virtual
node with its own network namespace gets its taps moved there.
"""

import fcntl
import os
import struct
import subprocess
from typing import Optional

from ganeti import errors
from ganeti import objects
from ganeti import pathutils
from ganeti import vcluster
from ganeti.utils import cmdtrace

TUNSETIFF = 0x400454ca
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
IFF_MULTI_QUEUE = 0x0100
TUN_DEVICE = "/dev/net/tun"
IFUP_CUSTOM = "kvm-ifup-custom"
IFUP_TIMEOUT = 30

NIC_MODE_BRIDGED = "bridged"
NIC_MODE_ROUTED = "routed"
NIC_MODE_OVS = "openvswitch"


def OpenTap(vnet_hdr: bool = True, queues: int = 1,
            name: str = "") -> tuple[str, list[int]]:
  """Creates a tap device; (its name, one file descriptor per queue)."""
  flags = IFF_TAP | IFF_NO_PI
  if vnet_hdr:
    flags |= IFF_VNET_HDR
  if queues > 1:
    flags |= IFF_MULTI_QUEUE
  fds: list[int] = []
  try:
    for _ in range(queues):
      fd = os.open(TUN_DEVICE, os.O_RDWR)
      fds.append(fd)
      request = struct.pack("16sH22x", (name or "tap%d").encode(), flags)
      answer = fcntl.ioctl(fd, TUNSETIFF, request)
      name = answer[:16].rstrip(b"\0").decode()
  except OSError as err:
    for fd in fds:
      os.close(fd)
    raise errors.HypervisorError("Failed to allocate a new TAP device: %s" % err) from None
  return name, fds


def TapName(instance_uuid: str, number: int) -> str:
  """The name to ask for a NIC's tap: empty (the kernel picks "tapN") unless
  this node keeps its NICs in a network namespace of its own. Taps are made
  in the host's namespace and moved; a kernel-picked name is free there but
  may already be taken in the node's namespace, so those get a name of the
  instance and the NIC's device number (unique among its NICs) instead."""
  if not vcluster.NetworkNamespace():
    return ""
  return "gt%s.%d" % (instance_uuid.replace("-", "")[:10], number)


def IfupEnvironment(instance: objects.Instance, index: int, nic: objects.NIC,
                    tap: str) -> dict[str, str]:
  """What the ifup script gets to know about the NIC (Ganeti's names)."""
  params = nic.nicparams or {}
  env = {
    "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
    "INSTANCE": instance.name,
    "MAC": nic.mac or "",
    "MODE": params.get("mode", ""),
    "LINK": params.get("link", ""),
    "VLAN": params.get("vlan", ""),
    "INTERFACE": tap,
    "INTERFACE_INDEX": str(index),
    "INTERFACE_UUID": nic.uuid or "",
    "INTERFACE_NAME": nic.name or "",
    "TAGS": " ".join(sorted(instance.tags or ())),
  }
  if nic.ip:
    env["IP"] = nic.ip
  for key, value in (nic.netinfo or {}).items():
    if value is not None and key in ("name", "network", "gateway", "network6",
                                     "gateway6", "mac_prefix", "tags"):
      env["NETWORK_%s" % key.upper()] = (" ".join(value) if isinstance(value, list)
                                         else str(value))
  for variable in ("GANETI_ROOTDIR", "GANETI_HOSTNAME"):
    if variable in os.environ:
      env[variable] = os.environ[variable]
  return env


def _OvsVlanOptions(vlan: str) -> list[str]:
  """ovs-vsctl options for Ganeti's vlan syntax (".5" access, ":5:6" trunk)."""
  if not vlan:
    return []
  if vlan.startswith("."):
    return ["tag=%s" % vlan[1:]]
  trunks = [item for item in vlan.split(":") if item]
  if vlan.startswith(":"):
    return ["trunks=%s" % ",".join(trunks)]
  return ["tag=%s" % trunks[0]] + (["trunks=%s" % ",".join(trunks[1:])]
                                   if trunks[1:] else [])


def BuiltinIfupCommands(env: dict[str, str],
                        namespace: Optional[str] = None) -> list[list[str]]:
  """The commands the built-in ifup runs for a NIC, by its mode; with a
  namespace (a virtual node's network) the tap moves there first."""
  tap, link, mode = env["INTERFACE"], env["LINK"], env["MODE"]
  ip_cmd = ["ip", "-n", namespace] if namespace else ["ip"]
  commands = [["ip", "link", "set", "dev", tap, "netns", namespace]] if namespace else []
  commands.append(ip_cmd + ["link", "set", "dev", tap, "up"])
  if mode == NIC_MODE_BRIDGED:
    if not link:
      raise errors.HypervisorError("NIC %s is bridged but has no bridge (link)" %
                                   env["INTERFACE_INDEX"])
    commands.append(ip_cmd + ["link", "set", "dev", tap, "master", link])
  elif mode == NIC_MODE_ROUTED:
    if env.get("IP"):
      route = ip_cmd + ["route", "replace", env["IP"] + "/32", "dev", tap]
      commands.append(route + (["table", link] if link else []))
    sysctl = ["sysctl", "-q", "-w", "net.ipv4.conf.%s.proxy_arp=1" % tap]
    commands.append((["ip", "netns", "exec", namespace] if namespace else []) + sysctl)
  elif mode == NIC_MODE_OVS:
    commands.append(["ovs-vsctl", "--may-exist", "add-port", link or "br0", tap] +
                    _OvsVlanOptions(env.get("VLAN", "")))
  else:
    raise errors.HypervisorError("Unknown NIC mode '%s'" % mode)
  return commands


def CustomIfupScript() -> Optional[str]:
  path = os.path.join(pathutils.CONF_DIR, IFUP_CUSTOM)
  return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


def _Run(argv: list[str], env: dict[str, str], script: Optional[str] = None) -> None:
  try:
    proc = cmdtrace.RunProcess(argv, env=env, input=script, capture_output=True,
                               stdin=subprocess.DEVNULL if script is None else None,
                               text=True, timeout=IFUP_TIMEOUT)
  except (OSError, subprocess.TimeoutExpired) as err:
    raise errors.HypervisorError("Failed to configure interface %s: %s" %
                                 (env["INTERFACE"], err)) from None
  if proc.returncode != 0:
    raise errors.HypervisorError("Failed to configure interface %s: %s (%s)" %
                                 (env["INTERFACE"], " ".join(argv),
                                  (proc.stderr or proc.stdout).strip()))


def Ifup(env: dict[str, str]) -> None:
  """Brings a tap into the network (custom script, else the built-in steps)."""
  script = CustomIfupScript()
  if script:
    _Run([script], env)
    return
  # consecutive "ip" commands with the same options share one "ip -batch"
  groups: list[tuple[list[str], list[list[str]]]] = []
  for argv in BuiltinIfupCommands(env, vcluster.NetworkNamespace()):
    prefix = _IpPrefix(argv)
    if prefix and groups and groups[-1][0] == prefix:
      groups[-1][1].append(argv)
    else:
      groups.append((prefix, [argv]))
  for prefix, commands in groups:
    if len(commands) == 1:
      _Run(commands[0], env)
    else:
      script = "".join(" ".join(argv[len(prefix):]) + "\n" for argv in commands)
      _Run(prefix + ["-batch", "-"], env, script)


def _IpPrefix(argv: list[str]) -> list[str]:
  """The program and global options of an "ip" command ([] for others)."""
  if argv[:1] != ["ip"] or argv[1:3] == ["netns", "exec"]:
    return []
  return argv[:3] if argv[1:2] == ["-n"] else argv[:1]
