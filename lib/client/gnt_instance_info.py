"""The text of "gnt-instance info": one instance's OpInstanceQueryData answer.

The master daemon answers with plain data (a dict per instance); the tool
turns it into the nested "key: value" listing Ganeti prints.
"""

from __future__ import annotations

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Any, Optional

from ganeti import constants
from ganeti.cli_output import FormatTime, FormatUnit
from ganeti.client.gnt_node import FormatParamsDictInfo
from ganeti.constants import LDS_FAULTY, LDS_UNKNOWN

# Local disk states of a block device status (BlockDevStatus.ldisk_status)
_LDISK_TEXTS = {LDS_FAULTY: " *MISSING DISK*", LDS_UNKNOWN: " *UNCERTAIN STATE*"}

# VNC displays count from this port
_VNC_BASE_PORT = 5900
_IP4_ADDRESS_ANY = "0.0.0.0"


def _FormatDevStatus(status: Optional[list]) -> str:
  """A block device's status on one node: path (major:minor) and sync state."""
  if not status:
    return "not active"
  path, major, minor, sync_percent, estimated_time, is_degraded, ldisk_status = status[:7]
  text = "%s (%s:%s)" % (path, "N/A" if major is None else major,
                         "N/A" if minor is None else minor)
  if sync_percent is None:
    return text
  if sync_percent < 100:
    eta = "ETA %ss" % estimated_time if estimated_time is not None else "ETA unknown"
    sync_text = "resyncing (%.2f%%, %s)" % (sync_percent, eta)
  else:
    sync_text = "in sync"
  degraded = "*DEGRADED*" if is_degraded else "ok"
  return "%s %s, status %s%s" % (text, sync_text, degraded, _LDISK_TEXTS.get(ldisk_status, ""))


def _FormatLogicalId(dev: dict) -> list:
  """The (key, value) rows describing where a disk's data lives."""
  logical_id = dev.get("logical_id")
  if logical_id is None:
    return []
  drbd = dev.get("drbd_info")
  if dev["dev_type"] == constants.DT_DRBD8 and drbd:
    return [("nodeA", "%s, minor=%s" % (drbd["primary_node"], drbd["primary_minor"])),
            ("nodeB", "%s, minor=%s" % (drbd["secondary_node"], drbd["secondary_minor"])),
            ("port", str(drbd["port"])),
            ("auth key", str(drbd["secret"]))]
  if dev["dev_type"] == constants.DT_PLAIN and len(logical_id) == 2:
    return [("logical_id", "%s/%s" % tuple(logical_id))]
  return [("logical_id", str(logical_id))]


def _FormatDisk(dev: dict, title: str, static: bool) -> list:
  rows = [(title, "%s, size %s" % (dev["dev_type"], FormatUnit(dev["size"], "h")))]
  if dev.get("spindles") is not None:
    rows.append(("spindles", dev["spindles"]))
  rows.append(("access mode", dev.get("mode")))
  rows.extend(_FormatLogicalId(dev))
  if not static:
    rows.append(("on primary", _FormatDevStatus(dev.get("pstatus"))))
    if dev.get("sstatus"):
      rows.append(("on secondary", _FormatDevStatus(dev["sstatus"])))
  rows.append(("name", dev.get("name")))
  rows.append(("UUID", dev.get("uuid")))
  children = dev.get("children") or []
  if children:
    rows.append(("child devices", [_FormatDisk(child, "child %d" % index, static)
                                   for index, child in enumerate(children)]))
  return rows


def _FormatNic(index: int, nic: list) -> list:
  name, uuid, ip, mac, mode, link, vlan, network, netinfo = (list(nic) + [None] * 9)[:9]
  network_name = netinfo["name"] if netinfo else network
  return [("nic/%d" % index, ""), ("MAC", str(mac)), ("IP", str(ip)), ("mode", str(mode)),
          ("link", str(link)), ("vlan", str(vlan)), ("network", str(network_name)),
          ("UUID", str(uuid)), ("name", str(name))]


def _FormatVncConsole(instance: dict) -> Optional[str]:
  """Where the instance's VNC console listens, for hypervisors that have one."""
  port = instance.get("network_port")
  bind_address = (instance.get("hv_actual") or {}).get("vnc_bind_address")
  if port is None or not bind_address:
    return None
  display = int(port) - _VNC_BASE_PORT
  if display > 0 and bind_address == _IP4_ADDRESS_ANY:
    return "vnc to %s:%s (display %s)" % (instance["pnode"], port, display)
  if display > 0 and bind_address.count(".") == 3:
    return "vnc to %s:%s (node %s) (display %s)" % (bind_address, port, instance["pnode"],
                                                    display)
  return "vnc to %s:%s" % (instance["pnode"], bind_address)


def _StateText(instance: dict) -> str:
  text = "configured to be %s" % instance["config_state"]
  if instance.get("run_state") is not None:
    text += ", actual state is %s" % instance["run_state"]
  return text


def FormatInstanceInfo(instance: dict, static: bool) -> list:
  """The (key, value) rows "gnt-instance info" prints for one instance."""
  secondaries = ["%s (group %s, group UUID %s)" % entry
                 for entry in zip(instance.get("snodes", []),
                                  instance.get("snodes_group_names", []),
                                  instance.get("snodes_group_uuids", []))]
  nodes = [[("primary", instance["pnode"]),
            ("group", "%s (UUID %s)" % (instance.get("pnode_group_name"),
                                        instance.get("pnode_group_uuid")))],
           [("secondaries", secondaries)]]
  be_actual = dict(instance.get("be_actual") or {})
  if "maxmem" in be_actual:
    # the pre-2.6 name is still shown, always as inherited from maxmem
    be_actual["memory"] = be_actual["maxmem"]
  rows = [("Instance name", instance["name"]),
          ("UUID", instance.get("uuid")),
          ("Serial number", str(instance.get("serial_no"))),
          ("Creation time", FormatTime(instance.get("ctime"))),
          ("Modification time", FormatTime(instance.get("mtime"))),
          ("State", _StateText(instance)),
          ("Nodes", nodes),
          ("Operating system", instance.get("os")),
          ("Operating system parameters",
           FormatParamsDictInfo(instance.get("os_instance") or {},
                                instance.get("os_actual") or {})),
          ("Allocated network port", str(instance.get("network_port")))]
  vnc = _FormatVncConsole(instance)
  if vnc:
    rows.append(("  - console connection", vnc))
  rows.extend([
    ("Hypervisor", instance.get("hypervisor")),
    ("Hypervisor parameters", FormatParamsDictInfo(instance.get("hv_instance") or {},
                                                   instance.get("hv_actual") or {})),
    ("Back-end parameters", FormatParamsDictInfo(instance.get("be_instance") or {},
                                                 be_actual)),
    ("NICs", [_FormatNic(index, nic) for index, nic in enumerate(instance.get("nics", []))]),
    ("Disk template", instance.get("disk_template")),
    ("Disks", [_FormatDisk(dev, dev.get("iv_name") or "disk/%d" % index, static)
               for index, dev in enumerate(instance.get("disks", []))]),
  ])
  return rows


def InfoRows(result: Any, static: bool) -> list:
  """One listing per instance, in the order of the answer."""
  return [FormatInstanceInfo(instance, static) for instance in result.values()]
