"""KVM hypervisor parameters: value sets, per-parameter checks and the
checks that relate parameters to each other, with Ganeti's messages.

Everything here runs on the master (syntax) except NODE_CHECKS, which need
the node that will run the instance (files exist, binary runs).
"""

import ipaddress
import os
import pwd
import re
from typing import Any, Optional

from ganeti import constants
from ganeti import errors
from ganeti.hypervisor import hv_base
from ganeti.hypervisor.hv_base import (
  ABS_PATH_CHECK, MIGRATION_MODE_CHECK, NET_PORT_CHECK, NON_NEGATIVE_INT_CHECK,
  OneOf, ParamCheck)

# Value sets (constants HT_KVM_* and friends)
REBOOT_BEHAVIORS = ("reboot", "exit")
BOOT_ORDERS = ("cdrom", "disk", "floppy", "network")
DISK_TYPES = ("ide", "mtd", "paravirtual", "pflash", "scsi", "scsi-block", "scsi-cd",
              "scsi-generic", "scsi-hd", "sd")
NIC_TYPES = ("e1000", "i82551", "i82557b", "i82559er", "ne2k_isa", "ne2k_pci", "paravirtual",
             "pcnet", "rtl8139")
SECURITY_MODELS = ("none", "pool", "user")
SM_NONE, SM_POOL, SM_USER = "none", "pool", "user"
AIO_TYPES = ("native", "threads")
SCSI_CONTROLLER_TYPES = ("lsi", "megasas", "virtio-scsi-pci")
KVM_FLAG_VALUES = ("enabled", "disabled")
MOUSE_TYPES = ("mouse", "tablet")
CACHE_TYPES = ("default", "none", "writeback", "writethrough")
DISCARD_TYPES = ("default", "ignore", "unmap")
SPICE_IMAGE_COMPRESSIONS = ("auto_glz", "auto_lz", "glz", "lz", "off", "quic")
SPICE_WAN_COMPRESSIONS = ("always", "auto", "never")
SPICE_VIDEO_STREAMING = ("all", "filter", "off")
SERIAL_SPEEDS = (75, 110, 300, 600, 1200, 1800, 2400, 4800, 9600, 14400, 19200, 28800,
                 38400, 57600, 115200, 230400, 345600, 460800)
MAX_PCI_SLOTS = 32
MAX_NET_QUEUES = 8
# migration capabilities qemu knows (migration_caps is a colon-separated list)
MIGRATION_CAPABILITIES = ("auto-converge", "compress", "postcopy-ram", "rdma-pin-all",
                          "release-ram", "return-path", "x-colo", "xbzrle", "zero-blocks",
                          "events", "late-block-activate", "multifd", "dirty-bitmaps",
                          "pause-before-switchover", "validate-uuid",
                          "background-snapshot", "zero-copy-send")

_CPU_RANGE = re.compile(r"^\d+(-\d+)?$")


def _IsCpuMask(text: str) -> bool:
  """One CPU list: "all", or comma-separated numbers and ranges."""
  if text == "all":
    return True
  for item in text.split(","):
    if not _CPU_RANGE.match(item):
      return False
    if "-" in item:
      low, high = item.split("-")
      if int(low) > int(high):
        return False
  return True


def _IsMultiCpuMask(value: Any) -> bool:
  return isinstance(value, str) and all(_IsCpuMask(part) for part in value.split(":"))


def ParseCpuMask(text: str) -> Optional[list[int]]:
  """The CPUs of one CPU list; None for "all"."""
  if text == "all":
    return None
  cpus: list[int] = []
  for item in text.split(","):
    low, _, high = item.partition("-")
    cpus.extend(range(int(low), int(high or low) + 1))
  return cpus


def _IsSpiceIpVersion(value: Any) -> bool:
  return value in (0, 4, 6)


def _IsQueueCount(value: Any) -> bool:
  return isinstance(value, int) and 0 < value <= MAX_NET_QUEUES


def _IsPciReservation(value: Any) -> bool:
  return isinstance(value, int) and 0 <= value <= MAX_PCI_SLOTS


def _IsExecutableFile(path: str) -> bool:
  return os.path.isfile(path) and os.access(path, os.X_OK)


_FILE_NODE_CHECK = (os.path.isfile, "not found or not a file")
_DIR_NODE_CHECK = (os.path.isdir, "not found or not a directory")


def _PathParam(required: bool = False, node: Any = _FILE_NODE_CHECK) -> ParamCheck:
  return ParamCheck(required, ABS_PATH_CHECK, node)


CHECKS = {
  "migration_mode": ParamCheck(True, MIGRATION_MODE_CHECK),
  "migration_port": ParamCheck(True, NET_PORT_CHECK),
  "migration_bandwidth": ParamCheck(True, NON_NEGATIVE_INT_CHECK),
  "migration_downtime": ParamCheck(True, NON_NEGATIVE_INT_CHECK),
  "reboot_behavior": ParamCheck(True, OneOf(REBOOT_BEHAVIORS)),
  "boot_order": ParamCheck(True, OneOf(BOOT_ORDERS)),
  "disk_type": ParamCheck(True, OneOf(DISK_TYPES)),
  "cdrom_disk_type": ParamCheck(False, OneOf(DISK_TYPES)),
  "nic_type": ParamCheck(True, OneOf(NIC_TYPES)),
  "security_model": ParamCheck(True, OneOf(SECURITY_MODELS)),
  "disk_cache": ParamCheck(True, OneOf(CACHE_TYPES)),
  "disk_aio": ParamCheck(False, OneOf(AIO_TYPES)),
  "disk_discard": ParamCheck(False, OneOf(DISCARD_TYPES)),
  "scsi_controller_type": ParamCheck(False, OneOf(SCSI_CONTROLLER_TYPES)),
  "kvm_flag": ParamCheck(False, OneOf(KVM_FLAG_VALUES)),
  "usb_mouse": ParamCheck(False, OneOf(MOUSE_TYPES)),
  "spice_image_compression": ParamCheck(False, OneOf(SPICE_IMAGE_COMPRESSIONS)),
  "spice_jpeg_wan_compression": ParamCheck(False, OneOf(SPICE_WAN_COMPRESSIONS)),
  "spice_zlib_glz_wan_compression": ParamCheck(False, OneOf(SPICE_WAN_COMPRESSIONS)),
  "spice_streaming_video": ParamCheck(False, OneOf(SPICE_VIDEO_STREAMING)),
  "spice_ip_version": ParamCheck(False, (_IsSpiceIpVersion,
                                         "The SPICE IP version should be 4 or 6")),
  "kvm_path": ParamCheck(True, ABS_PATH_CHECK,
                         (_IsExecutableFile, "not found or not an executable file")),
  "kernel_path": _PathParam(),
  "initrd_path": _PathParam(),
  "cdrom_image_path": _PathParam(),
  "cdrom2_image_path": _PathParam(),
  "floppy_image_path": _PathParam(),
  "mem_path": _PathParam(node=_DIR_NODE_CHECK),
  "vnc_password_file": _PathParam(),
  "vnc_x509_path": _PathParam(node=_DIR_NODE_CHECK),
  "spice_password_file": _PathParam(),
  "cpu_mask": ParamCheck(False, (_IsMultiCpuMask,
                                 "Multiple CPU mask definition is not well-formed")),
  "cpu_cores": ParamCheck(False, NON_NEGATIVE_INT_CHECK),
  "cpu_sockets": ParamCheck(False, NON_NEGATIVE_INT_CHECK),
  "cpu_threads": ParamCheck(False, NON_NEGATIVE_INT_CHECK),
  "serial_speed": ParamCheck(False, NON_NEGATIVE_INT_CHECK),
  "kvm_pci_reservations": ParamCheck(False, (_IsPciReservation, "The number of PCI slots"
                                             " managed by QEMU (max: %d)" % MAX_PCI_SLOTS)),
  "virtio_net_queues": ParamCheck(False, (_IsQueueCount, "invalid number of queues")),
}

PARAMETERS = hv_base.ParametersFromDefaults(constants.HT_KVM, CHECKS)

# parameters that mean nothing without a SPICE bind address
_SPICE_DEPENDENT = ("spice_ip_version", "spice_password_file", "spice_use_tls",
                    "spice_image_compression", "spice_jpeg_wan_compression",
                    "spice_zlib_glz_wan_compression", "spice_streaming_video")


def _Fail(message: str) -> None:
  raise errors.HypervisorError(message)


def _IpVersion(address: str) -> Optional[int]:
  try:
    return ipaddress.ip_address(address).version
  except ValueError:
    return None


def CheckSyntax(hvparams: dict) -> None:
  """Ganeti's syntax checks: each parameter, then the combinations."""
  hv_base.CheckParameters(PARAMETERS, hvparams, "syntax")
  if hvparams["boot_order"] == "cdrom" and not hvparams.get("cdrom_image_path"):
    _Fail("Cannot boot from cdrom without an ISO path")
  if hvparams.get("serial_console") and hvparams.get("serial_speed") not in SERIAL_SPEEDS:
    _Fail("Invalid serial console speed, must be one of: %s" %
          ", ".join(map(str, SERIAL_SPEEDS)))
  model = hvparams["security_model"]
  if model == SM_USER and not hvparams.get("security_domain"):
    _Fail("A security domain (user to run kvm as) must be specified")
  if model != SM_USER and hvparams.get("security_domain"):
    _Fail("Cannot have a security domain when the security model is 'none' or 'pool'")
  if hvparams.get("vnc_x509_verify") and not hvparams.get("vnc_x509_path"):
    _Fail("vnc_x509_path must be defined, if vnc_x509_verify is")
  _CheckSpiceSyntax(hvparams)
  caps = hvparams.get("migration_caps") or ""
  unknown = [cap for cap in caps.split(":") if cap and cap not in MIGRATION_CAPABILITIES]
  if unknown:
    _Fail("Unknown migration capabilities: %s" % ", ".join(unknown))


def _CheckSpiceSyntax(hvparams: dict) -> None:
  bind = hvparams.get("spice_bind")
  if not bind:
    for name in _SPICE_DEPENDENT:
      if hvparams.get(name):
        _Fail("SPICE: %s requires %s to be set" % (name, "spice_bind"))
    return
  version = _IpVersion(bind)
  wanted = hvparams.get("spice_ip_version")
  if version and wanted and version != wanted:
    _Fail("SPICE: Got an IPv%d address (%s), but the specified IP version is %d" %
          (version, bind, wanted))


def CheckCpuMaskAgainstVcpus(cpu_mask: str, vcpus: int) -> None:
  """A multi-CPU mask gives one list per vCPU."""
  parts = cpu_mask.split(":")
  if len(parts) > 1 and len(parts) != vcpus:
    _Fail("Number of vCPUs (%d) doesn't match the number of CPU masks (%d)" %
          (vcpus, len(parts)))


def CheckNode(hvparams: dict) -> None:
  """What the node must offer: files, directories, the security domain."""
  hv_base.CheckParameters(PARAMETERS, hvparams, "node")
  if hvparams["security_model"] == SM_USER:
    try:
      pwd.getpwnam(hvparams["security_domain"])
    except KeyError:
      _Fail("Unknown security domain user %s" % hvparams["security_domain"])
  if hvparams.get("vhost_net") and not os.path.exists("/dev/vhost-net"):
    _Fail("vhost_net is enabled but /dev/vhost-net is missing on this node")
