"""An export's description (config.ini in the export's directory), in Ganeti's format.

Sections: [export] (version, timestamp, source node uuid, os, compression),
[instance] (name, memory, vcpus, disk template, hypervisor, tags, nicN_*,
diskN_*, counts), then the instance's hypervisor, backend, OS and private OS
parameters.  Nodes write it (finalize_export); the master reads it for
imports (export_info).
"""

import configparser
import io
import time
from typing import Any, Optional

from ganeti import constants
from ganeti import errors

CONFIG_FILE = "config.ini"
SECT_EXPORT = "export"
SECT_INSTANCE = "instance"
SECT_HYPERVISOR = "hypervisor"
SECT_BACKEND = "backend"
SECT_OS = "os"
SECT_OS_PRIVATE = "os_private"
_PARAM_SECTIONS = ((SECT_HYPERVISOR, "hvparams"), (SECT_BACKEND, "beparams"),
                   (SECT_OS, "osparams"), (SECT_OS_PRIVATE, "osparams_private"))
# nicN_<key> entries: key -> where its value comes from in a NIC dict
_NIC_KEYS = (("mac", ("mac",)), ("ip", ("ip",)), ("network", ("network",)),
             ("name", ("name",)), ("link", ("nicparams", "link")),
             ("mode", ("nicparams", "mode")), ("vlan", ("nicparams", "vlan")))
_DISK_KEYS = ("ivname", "dump", "size", "name")


def _Parser() -> configparser.ConfigParser:
  parser = configparser.ConfigParser(interpolation=None)
  parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
  return parser


def _Text(value: Any) -> str:
  return str(value)


def _Dig(data: dict, path: tuple[str, ...]) -> Any:
  for key in path:
    data = (data or {}).get(key)
  return "" if data is None and path[0] == "nicparams" else data


def _DiskTemplate(instance: dict) -> str:
  """The instance's disk template: its disks' kind (diskless without disks)."""
  disks = instance.get("disks_info") or []
  if instance.get("disk_template"):
    return instance["disk_template"]
  return disks[0]["dev_type"] if disks else constants.DT_DISKLESS


def BuildConfig(instance: dict, disks: list[Optional[dict]], compression: str = "none",
                timestamp: Optional[int] = None) -> str:
  """The config.ini text of an export of instance (a dict with filled
  parameters); disks: per instance disk the exported disk dict or None."""
  parser = _Parser()
  beparams = instance.get("beparams") or {}
  parser[SECT_EXPORT] = {
    "version": _Text(constants.EXPORT_VERSION),
    "timestamp": _Text(int(time.time()) if timestamp is None else timestamp),
    "source": _Text(instance.get("primary_node")),
    "os": _Text(instance.get("os")),
    "compression": compression,
  }
  section = {
    "name": _Text(instance["name"]),
    "maxmem": _Text(beparams.get("maxmem")),
    "minmem": _Text(beparams.get("minmem")),
    "memory": _Text(beparams.get("maxmem")),
    "vcpus": _Text(beparams.get("vcpus")),
    "disk_template": _Text(_DiskTemplate(instance)),
    "hypervisor": _Text(instance.get("hypervisor")),
    "tags": " ".join(instance.get("tags") or []),
  }
  nics = instance.get("nics") or []
  for idx, nic in enumerate(nics):
    for key, path in _NIC_KEYS:
      section["nic%d_%s" % (idx, key)] = _Text(_Dig(nic, path))
  section["nic_count"] = _Text(len(nics))
  count = 0
  for idx, disk in enumerate(disks):
    if not disk:
      continue
    count += 1
    section["disk%d_ivname" % idx] = _Text(disk.get("iv_name"))
    section["disk%d_dump" % idx] = _Text(disk.get("uuid"))
    section["disk%d_size" % idx] = _Text(disk.get("size"))
    section["disk%d_name" % idx] = _Text(disk.get("name"))
  section["disk_count"] = _Text(count)
  parser[SECT_INSTANCE] = section
  for name, field in _PARAM_SECTIONS:
    parser[name] = {key: _Text(value) for key, value in (instance.get(field) or {}).items()}
  out = io.StringIO()
  parser.write(out)
  return out.getvalue()


class ExportInfo:
  """A parsed config.ini, with what an import takes from it."""

  def __init__(self, text: str) -> None:
    self._parser = _Parser()
    try:
      self._parser.read_string(text)
    except configparser.Error as err:
      raise errors.OpPrereqError("Invalid export info: %s" % err, errors.ECODE_INVAL) from None
    if not (self._parser.has_section(SECT_EXPORT) and
            self._parser.has_section(SECT_INSTANCE)):
      raise errors.OpPrereqError("Export info file doesn't have the required fields",
                                 errors.ECODE_ENVIRON)

  def Get(self, section: str, key: str, default: Optional[str] = None) -> Optional[str]:
    return self._parser.get(section, key, fallback=default)

  def Section(self, section: str) -> dict[str, str]:
    if not self._parser.has_section(section):
      return {}
    return dict(self._parser.items(section))

  @property
  def version(self) -> int:
    return int(self.Get(SECT_EXPORT, "version", "-1") or -1)

  @property
  def os(self) -> Optional[str]:
    return self.Get(SECT_EXPORT, "os")

  @property
  def compression(self) -> str:
    return self.Get(SECT_EXPORT, "compression") or "none"

  def Instance(self, key: str) -> Optional[str]:
    return self.Get(SECT_INSTANCE, key)

  def Disks(self) -> list[dict]:
    """The exported disks: {index, size (MiB), dump (file name), name, ivname}."""
    disks = []
    count = int(self.Instance("disk_count") or 0)
    for idx in range(count):
      dump = self.Instance("disk%d_dump" % idx)
      if dump is None:
        continue
      disks.append({"index": idx, "dump": dump,
                    "size": int(self.Instance("disk%d_size" % idx) or 0),
                    "name": _NoneText(self.Instance("disk%d_name" % idx)),
                    "ivname": self.Instance("disk%d_ivname" % idx)})
    return disks

  def Nics(self) -> list[dict]:
    """The exported NICs as NIC specifications (mac, ip, network, name, link, mode, vlan)."""
    nics = []
    for idx in range(int(self.Instance("nic_count") or 0)):
      nic = {}
      for key, _ in _NIC_KEYS:
        value = _NoneText(self.Instance("nic%d_%s" % (idx, key)))
        if value not in (None, ""):
          nic[key] = value
      nics.append(nic)
    return nics


def _NoneText(value: Optional[str]) -> Optional[str]:
  """Values written from None read back as None."""
  return None if value in (None, "None") else value
