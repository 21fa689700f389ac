"""The qemu command line of a KVM instance, built from its runtime (hvparams,
memory, vCPUs, NICs, disks) and this node's files.

The same runtime gives the same devices in the same order on every node,
which is what lets a migration target receive the machine.
"""

import logging
import os
import shlex
from typing import Optional

from ganeti import errors
from ganeti.hypervisor.hv_kvm import params
from ganeti.hypervisor.hv_kvm.runtime import InstanceFiles

KVM_DEVICE = "/dev/kvm"
PVM_MODULE = "/sys/module/kvm_pvm"
VNC_BASE_PORT = 5900
ACCEL_KVM, ACCEL_TCG = "kvm", "tcg"
# A live migration under TCG loses guest writes when qemu (7.2) takes the
# fast path of its dirty-page sync, which it does for a RAM block that is a
# whole number of 64-page bitmap words: that path clears the migration's
# dirty bits but leaves the vCPU's TLB entries that had already seen a write
# unarmed, so later writes through them are not tracked and the target runs
# on stale pages (the guest stalls with a corrupted timer tree, or panics).
# An emulated guest gets this much RAM more than asked, so that qemu syncs
# page by page, re-arming the TLB as it goes.
TCG_RAM_PAD_KIB = 8

_BOOT_DEVICES = {"disk": "c", "cdrom": "d", "network": "n", "floppy": "a"}
# nic_type -> qemu device
_NIC_DEVICES = {"paravirtual": "virtio-net-pci", "e1000": "e1000", "i82551": "i82551",
                "i82557b": "i82557b", "i82559er": "i82559er", "ne2k_isa": "ne2k_isa",
                "ne2k_pci": "ne2k_pci", "pcnet": "pcnet", "rtl8139": "rtl8139"}
# disk_type -> qemu device behind -device (others use -drive if=TYPE)
_DISK_DEVICES = {"paravirtual": "virtio-blk-pci", "ide": "ide-hd", "scsi": "scsi-hd",
                 "scsi-hd": "scsi-hd", "scsi-block": "scsi-block",
                 "scsi-generic": "scsi-generic", "scsi-cd": "scsi-cd"}
_SCSI_DISK_TYPES = frozenset(["scsi", "scsi-hd", "scsi-block", "scsi-generic", "scsi-cd"])
PCI_BUS = "pci.0"
_PCI_SLOTS = 32
KIND_NIC, KIND_DISK = "nic", "disk"


def KvmUsable() -> bool:
  """Whether hardware virtualization can run stock guest kernels here: a
  paravirtual KVM (kvm_pvm) cannot, so it counts as absent."""
  return os.path.exists(KVM_DEVICE) and not os.path.exists(PVM_MODULE)


def ChooseAccelerator(kvm_flag: str, kvm_usable: Optional[bool] = None) -> str:
  """kvm unless disabled or unusable on this node (then TCG, logged)."""
  if kvm_flag == "disabled":
    return ACCEL_TCG
  usable = KvmUsable() if kvm_usable is None else kvm_usable
  if not usable:
    logging.info("KVM is not usable on this node (no %s or a paravirtual KVM), using"
                 " TCG emulation", KVM_DEVICE)
    return ACCEL_TCG
  return ACCEL_KVM


def _OnOff(value: bool) -> str:
  return "on" if value else "off"


def _Machine(hvp: dict, accel: str) -> list[str]:
  options = [hvp["machine_version"]] if hvp.get("machine_version") else []
  if not hvp.get("acpi", True):
    options.append("acpi=off")
  machine = ["-machine", ",".join(options)] if options else []
  return machine + ["-accel", accel]


def _Memory(memory_mib: int, accel: str) -> str:
  if accel == ACCEL_TCG:
    return "%dK" % (memory_mib * 1024 + TCG_RAM_PAD_KIB)
  return str(memory_mib)


def _Smp(hvp: dict, vcpus: int) -> list[str]:
  smp = [str(vcpus)]
  for name, key in (("cpu_sockets", "sockets"), ("cpu_cores", "cores"),
                    ("cpu_threads", "threads")):
    if hvp.get(name):
      smp.append("%s=%d" % (key, hvp[name]))
  return ["-smp", ",".join(smp)]


def _Boot(hvp: dict, serial: bool) -> list[str]:
  argv = []
  if hvp.get("kernel_path"):
    argv += ["-kernel", hvp["kernel_path"]]
    if hvp.get("initrd_path"):
      argv += ["-initrd", hvp["initrd_path"]]
    append = []
    if hvp.get("root_path"):
      append.append("root=%s" % hvp["root_path"])
    if hvp.get("kernel_args"):
      append.append(hvp["kernel_args"])
    if serial:
      append.append("console=ttyS0,%d" % hvp["serial_speed"])
    argv += ["-append", " ".join(append)]
  else:
    argv += ["-boot", _BOOT_DEVICES[hvp["boot_order"]]]
  return argv


def _DriveOptions(hvp: dict, path: str, node_id: str, readonly: bool = False) -> str:
  options = ["file=%s" % path, "format=raw", "if=none", "id=%s" % node_id]
  cache = hvp.get("disk_cache") or "default"
  if cache != "default":
    options.append("cache=%s" % cache)
  aio = hvp.get("disk_aio") or "threads"
  if aio == "native":
    # qemu accepts native aio only without the host page cache
    options += ["aio=native", "cache.direct=on"]
  else:
    options.append("aio=%s" % aio)
  discard = hvp.get("disk_discard") or "default"
  if discard != "default":
    options.append("discard=%s" % discard)
  if readonly:
    options.append("readonly=on")
  return ",".join(options)


def IsPciDevice(hvp: dict, kind: str) -> bool:
  """Whether the instance's NICs or disks (kind) are PCI devices."""
  if kind == KIND_NIC:
    return hvp["nic_type"] != "ne2k_isa"
  return hvp["disk_type"] == "paravirtual"


def DeviceNumber(item: dict) -> int:
  """N of a NIC's or disk's qemu id "nic-N"/"disk-N"."""
  return int(item["hvinfo"]["id"].rsplit("-", 1)[1])


def _UsedPciSlots(runtime: dict) -> set[int]:
  items = runtime.get("nics", []) + [disk for disk, _, _ in runtime.get("disks", [])]
  return {item["hvinfo"]["addr"] for item in items
          if "addr" in (item.get("hvinfo") or {})}


def _FreePciSlot(runtime: dict) -> Optional[int]:
  """The lowest slot above those qemu places its own devices in
  (kvm_pci_reservations) that no NIC or disk uses."""
  used = _UsedPciSlots(runtime)
  first = runtime["hvparams"]["kvm_pci_reservations"]
  return next((slot for slot in range(first, _PCI_SLOTS) if slot not in used), None)


def NewDeviceInfo(runtime: dict, kind: str) -> dict:
  """A qemu id (and a PCI slot for PCI devices) for a new NIC or disk."""
  items = runtime.get("nics", []) if kind == KIND_NIC else \
    [disk for disk, _, _ in runtime.get("disks", [])]
  numbers = {DeviceNumber(item) for item in items if item.get("hvinfo")}
  info: dict = {"id": "%s-%d" % (kind, next(n for n in range(len(numbers) + 1)
                                           if n not in numbers))}
  if IsPciDevice(runtime["hvparams"], kind):
    slot = _FreePciSlot(runtime)
    if slot is None:
      raise errors.HypervisorError("No free PCI slot for a new %s" % kind)
    info["addr"] = slot
  return info


def AssignDevices(runtime: dict) -> None:
  """Gives every NIC and disk of a new machine its qemu id and PCI slot,
  kept in the runtime: a migration target, a reboot and hotplug then find
  each device where qemu put it, whatever was added or removed since.  A
  machine that already ran (it has a command line) keeps its devices as
  they were, even one started before ids and slots were recorded."""
  if "argv" in runtime:
    return
  for kind, items in ((KIND_NIC, runtime.get("nics", [])),
                      (KIND_DISK, [disk for disk, _, _ in runtime.get("disks", [])])):
    for item in items:
      if not item.get("hvinfo"):
        item["hvinfo"] = NewDeviceInfo(runtime, kind)


def HasDeviceSlots(runtime: dict) -> bool:
  """Whether every NIC and disk has its recorded id (and slot)."""
  return all(item.get("hvinfo") for item in
             runtime.get("nics", []) + [disk for disk, _, _ in runtime.get("disks", [])])


def _Id(item: dict, kind: str, index: int) -> str:
  return (item.get("hvinfo") or {}).get("id") or "%s-%d" % (kind, index)


def _PciAddress(item: dict) -> str:
  info = item.get("hvinfo") or {}
  return ",bus=%s,addr=0x%x" % (PCI_BUS, info["addr"]) if "addr" in info else ""


def DiskDriveOptions(hvp: dict, disk: dict, path: str, drive_id: str) -> str:
  return _DriveOptions(hvp, path, drive_id, disk.get("mode") == "ro")


def DiskDevice(hvp: dict, disk: dict, drive_id: str) -> str:
  """The -device (or device_add) options of a disk behind drive drive_id."""
  disk_type = hvp["disk_type"]
  device = "%s,drive=%s,id=%s-dev" % (_DISK_DEVICES[disk_type], drive_id, drive_id)
  if disk_type in _SCSI_DISK_TYPES:
    device += ",bus=scsi.0"
  return device + _PciAddress(disk)


def _Disks(hvp: dict, disks: list) -> list[str]:
  argv: list[str] = []
  disk_type = hvp["disk_type"]
  if disk_type in _SCSI_DISK_TYPES and disks:
    argv += ["-device", "%s,id=scsi" % hvp.get("scsi_controller_type", "lsi")]
  for index, (disk, link, uri) in enumerate(disks):
    disk = disk or {}
    node_id = _Id(disk, KIND_DISK, index)
    if disk_type in _DISK_DEVICES:
      argv += ["-drive", DiskDriveOptions(hvp, disk, uri or link, node_id)]
      device = DiskDevice(hvp, disk, node_id)
      if index == 0 and hvp["boot_order"] == "disk" and not hvp.get("kernel_path"):
        device += ",bootindex=1"
      argv += ["-device", device]
    else:
      drive = DiskDriveOptions(hvp, disk, uri or link, node_id)
      argv += ["-drive", drive.replace("if=none", "if=%s" % disk_type)]
  return argv


def _Removables(hvp: dict) -> list[str]:
  argv = []
  cdrom_type = hvp.get("cdrom_disk_type") or "ide"
  for index, name in enumerate(("cdrom_image_path", "cdrom2_image_path")):
    if hvp.get(name):
      node_id = "cdrom-%d" % index
      argv += ["-drive", _DriveOptions(hvp, hvp[name], node_id, readonly=True)]
      device = "virtio-blk-pci" if cdrom_type == "paravirtual" else "ide-cd"
      extra = ",bootindex=1" if index == 0 and hvp["boot_order"] == "cdrom" else ""
      argv += ["-device", "%s,drive=%s,id=%s-dev%s" % (device, node_id, node_id, extra)]
  if hvp.get("floppy_image_path"):
    argv += ["-drive", "file=%s,format=raw,if=floppy" % hvp["floppy_image_path"]]
  return argv


def NicNetdev(hvp: dict, nic_id: str, fds: list[str]) -> dict:
  """The tap backend of a NIC (as netdev_add arguments) on file descriptors
  given by number or by the name they were passed to qemu under."""
  netdev = {"type": "tap", "id": "net" + nic_id}
  if len(fds) > 1:
    netdev["fds"] = ":".join(fds)
  else:
    netdev["fd"] = fds[0]
  if hvp.get("vhost_net"):
    netdev["vhost"] = "on"
  return netdev


def NicDevice(hvp: dict, nic: dict, nic_id: str) -> str:
  """The -device (or device_add) options of a NIC."""
  device_type = _NIC_DEVICES[hvp["nic_type"]]
  queues = hvp.get("virtio_net_queues") or 1
  device = "%s,netdev=net%s,id=%s,mac=%s" % (device_type, nic_id, nic_id, nic.get("mac"))
  if device_type == "virtio-net-pci" and queues > 1:
    device += ",mq=on,vectors=%d" % (2 * queues + 2)
  return device + _PciAddress(nic)


def _Nics(hvp: dict, nics: list, tap_fds: list[list[int]]) -> list[str]:
  argv: list[str] = []
  for index, (nic, fds) in enumerate(zip(nics, tap_fds)):
    nic_id = _Id(nic, KIND_NIC, index)
    netdev = NicNetdev(hvp, nic_id, [str(fd) for fd in fds])
    argv += ["-netdev", ",".join(["tap"] + ["%s=%s" % item for item in netdev.items()
                                            if item[0] != "type"]),
             "-device", NicDevice(hvp, nic, nic_id)]
  return argv


def _Vnc(hvp: dict, network_port: Optional[int]) -> list[str]:
  bind = hvp.get("vnc_bind_address")
  if not bind:
    return []
  argv = []
  if bind.startswith("/"):
    target = "unix:%s" % bind
  else:
    display = (network_port or VNC_BASE_PORT) - VNC_BASE_PORT
    host = "[%s]" % bind if ":" in bind else bind
    target = "%s:%d" % (host, display)
  options = [target]
  if hvp.get("vnc_tls"):
    creds = ["tls-creds-x509", "id=vnctls0", "endpoint=server"]
    if hvp.get("vnc_x509_path"):
      creds.append("dir=%s" % hvp["vnc_x509_path"])
    creds.append("verify-peer=%s" % _OnOff(hvp.get("vnc_x509_verify", False)))
    argv += ["-object", ",".join(creds)]
    options.append("tls-creds=vnctls0")
  if hvp.get("vnc_password_file"):
    options.append("password=on")
  return argv + ["-vnc", ",".join(options)]


def _Spice(hvp: dict, network_port: Optional[int]) -> list[str]:
  bind = hvp.get("spice_bind")
  if not bind:
    return []
  options = ["addr=%s" % bind]
  if hvp.get("spice_ip_version") == 6:
    options.append("ipv6=on")
  elif hvp.get("spice_ip_version") == 4:
    options.append("ipv4=on")
  if hvp.get("spice_use_tls"):
    options += ["tls-port=%d" % (network_port or 0), "tls-ciphers=%s" %
                hvp.get("spice_tls_ciphers", "")]
  else:
    options.append("port=%d" % (network_port or 0))
  if not hvp.get("spice_password_file"):
    options.append("disable-ticketing=on")
  for name, option in (("spice_image_compression", "image-compression"),
                       ("spice_jpeg_wan_compression", "jpeg-wan-compression"),
                       ("spice_zlib_glz_wan_compression", "zlib-glz-wan-compression"),
                       ("spice_streaming_video", "streaming-video")):
    if hvp.get(name):
      options.append("%s=%s" % (option, hvp[name]))
  options.append("playback-compression=%s" %
                 _OnOff(hvp.get("spice_playback_compression", True)))
  argv = ["-spice", ",".join(options)]
  if hvp.get("spice_use_vdagent"):
    argv += ["-device", "virtio-serial-pci,id=spice-serial",
             "-chardev", "spicevmc,id=vdagent,name=vdagent",
             "-device", "virtserialport,chardev=vdagent,name=com.redhat.spice.0"]
  return argv


def _Usb(hvp: dict) -> list[str]:
  devices = []
  if hvp.get("usb_mouse"):
    devices.append("usb-%s" % hvp["usb_mouse"])
  for item in (hvp.get("usb_devices") or "").split(","):
    item = item.strip()
    if item:
      vendor, _, product = item.partition(":")
      devices.append("usb-host,vendorid=0x%s,productid=0x%s" % (vendor, product)
                     if product else item)
  if not devices:
    return []
  argv = ["-usb"]
  for device in devices:
    argv += ["-device", device]
  return argv


def BuildCommand(runtime: dict, files: InstanceFiles, accel: str,
                 tap_fds: list[list[int]], incoming: Optional[str] = None,
                 pool_uid: Optional[int] = None) -> list[str]:
  """The full qemu argv (pool_uid: the uid from the cluster's pool that
  security_model=pool runs it as); the machine starts paused (-S) and is continued
  over QMP once its NICs are up (a migration target waits for its state)."""
  hvp = runtime["hvparams"]
  serial = bool(hvp.get("serial_console"))
  argv = [hvp["kvm_path"], "-name", runtime["name"], "-uuid", runtime["uuid"],
          "-nodefaults", "-no-user-config", "-daemonize", "-pidfile", files.pid,
          *_Machine(hvp, accel), "-m", _Memory(runtime["memory"], accel),
          *_Smp(hvp, runtime["vcpus"])]
  if hvp.get("cpu_type"):
    argv += ["-cpu", hvp["cpu_type"]]
  if hvp.get("mem_path"):
    argv += ["-mem-path", hvp["mem_path"]]
  argv += ["-chardev", "socket,id=qmp,path=%s,server=on,wait=off" % files.qmp,
           "-mon", "chardev=qmp,mode=control"]
  if serial:
    argv += ["-chardev", "socket,id=serial0,path=%s,server=on,wait=off" % files.serial,
             "-serial", "chardev:serial0"]
  argv += ["-device", "virtio-balloon-pci,id=balloon"]
  argv += _Boot(hvp, serial)
  argv += _Disks(hvp, runtime.get("disks", []))
  argv += _Removables(hvp)
  argv += _Nics(hvp, runtime.get("nics", []), tap_fds)
  graphics = _Vnc(hvp, runtime.get("network_port")) + _Spice(hvp,
                                                            runtime.get("network_port"))
  if graphics:
    argv += ["-vga", hvp.get("vga") or "std"] + graphics
  else:
    argv += ["-display", "none"]
    if hvp.get("vga"):
      argv += ["-vga", hvp["vga"]]
  if hvp.get("keymap"):
    argv += ["-k", hvp["keymap"]]
  argv += _Usb(hvp)
  if hvp.get("soundhw"):
    argv += ["-device", hvp["soundhw"]]
  if hvp.get("use_localtime"):
    argv += ["-rtc", "base=localtime"]
  if hvp.get("user_shutdown"):
    argv.append("-no-shutdown")
  if hvp.get("reboot_behavior") == "exit":
    argv.append("-no-reboot")
  if hvp.get("use_chroot"):
    argv += ["-chroot", files.chroot]
  if hvp["security_model"] == params.SM_USER:
    argv += ["-runas", hvp["security_domain"]]
  elif hvp["security_model"] == params.SM_POOL and pool_uid is not None:
    argv += ["-runas", "%d:%d" % (pool_uid, pool_uid)]
  # a migration target starts when the incoming state says the guest runs
  argv += ["-incoming", incoming] if incoming else ["-S"]
  if hvp.get("kvm_extra"):
    argv += shlex.split(hvp["kvm_extra"])
  return argv
