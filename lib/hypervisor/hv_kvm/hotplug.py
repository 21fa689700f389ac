"""NIC and disk hotplug on a running KVM instance, over QMP.

A new NIC is a tap whose file descriptors are handed to qemu (getfd), a tap
backend on them (netdev_add) and the NIC device (device_add); a new disk is
a drive with the options a cold-plugged one gets (drive_add) and its
device.  Each goes to the PCI slot the runtime records for it.  Removal is
device_del, which the guest acknowledges (ACPI) before the backend goes.
"""

import time
from typing import Optional

from ganeti import constants
from ganeti import errors
from ganeti.hypervisor.hv_kvm import cmdline
from ganeti.hypervisor.hv_kvm import params
from ganeti.hypervisor.hv_kvm import qmp

# how long the guest may take to release a device
RELEASE_TIMEOUT = 30.0

# (action, device kind) -> why it cannot be done
_UNSUPPORTED = {
  (constants.HOTPLUG_ACTION_MODIFY, constants.HOTPLUG_TARGET_DISK):
    "Disk modification is not supported by hotplug",
}


def CheckSupport(hvp: dict, action: str, dev_type: str) -> None:
  """Raises HotplugError unless action on a dev_type device can be done
  on a running instance with these hvparams."""
  reason = _UNSUPPORTED.get((action, dev_type))
  if reason:
    raise errors.HotplugError(reason)
  if not cmdline.IsPciDevice(hvp, dev_type):
    kind = hvp["nic_type"] if dev_type == constants.HOTPLUG_TARGET_NIC else hvp["disk_type"]
    raise errors.HotplugError("Hotplug of %s devices of type %s is not supported" %
                              (dev_type, kind))
  # qemu opens a new disk itself: from a chroot or as another user the
  # node's path may not be reachable
  if (dev_type == constants.HOTPLUG_TARGET_DISK and action == constants.HOTPLUG_ACTION_ADD
      and (hvp.get("use_chroot") or hvp.get("security_model") != params.SM_NONE)):
    raise errors.HotplugError("Disk hotplug is not supported in case of chroot or a"
                              " security model other than none")


def AddNic(conn: qmp.QmpConnection, hvp: dict, nic: dict, fds: list[int]) -> None:
  """Plugs the NIC (its runtime entry, hvinfo set) on the tap fds."""
  nic_id = nic["hvinfo"]["id"]
  names = []
  for number, fd in enumerate(fds):
    name = "fd%s-%d" % (nic_id, number)
    conn.PassFd(fd, name)
    names.append(name)
  try:
    conn.Execute("netdev_add", cmdline.NicNetdev(hvp, nic_id, names))
  except errors.HypervisorError:
    for name in names:
      _Quietly(conn, "closefd", {"fdname": name})
    raise
  try:
    conn.Execute("device_add", _DeviceArguments(cmdline.NicDevice(hvp, nic, nic_id)))
  except errors.HypervisorError:
    _Quietly(conn, "netdev_del", {"id": "net" + nic_id})
    raise


def RemoveNic(conn: qmp.QmpConnection, nic: dict) -> None:
  nic_id = nic["hvinfo"]["id"]
  _Unplug(conn, nic_id)
  _Quietly(conn, "netdev_del", {"id": "net" + nic_id})


def AddDisk(conn: qmp.QmpConnection, hvp: dict, disk: dict, path: str) -> None:
  """Plugs the disk (its runtime entry, hvinfo set) on the node's path."""
  drive_id = disk["hvinfo"]["id"]
  _Hmp(conn, "drive_add dummy %s" % cmdline.DiskDriveOptions(hvp, disk, path, drive_id))
  try:
    conn.Execute("device_add", _DeviceArguments(cmdline.DiskDevice(hvp, disk, drive_id)))
  except errors.HypervisorError:
    _DeleteDrive(conn, drive_id)
    raise


def RemoveDisk(conn: qmp.QmpConnection, disk: dict) -> None:
  drive_id = disk["hvinfo"]["id"]
  _Unplug(conn, drive_id + "-dev")
  _DeleteDrive(conn, drive_id)


def _DeviceArguments(options: str) -> dict:
  """device_add's arguments from -device's "driver,key=value,..."."""
  driver, *pairs = options.split(",")
  arguments = {"driver": driver}
  for pair in pairs:
    key, _, value = pair.partition("=")
    arguments[key] = value
  return arguments


def _Unplug(conn: qmp.QmpConnection, device_id: str) -> None:
  """device_del, then waits for the guest to let the device go."""
  conn.Execute("device_del", {"id": device_id})
  deadline = time.monotonic() + RELEASE_TIMEOUT
  while True:
    event = conn.WaitEvent("DEVICE_DELETED", max(0.0, deadline - time.monotonic()))
    if event is None:
      raise errors.HotplugError("The guest did not release device %s within %d seconds" %
                                (device_id, RELEASE_TIMEOUT))
    if event.get("data", {}).get("device") == device_id:
      return


def _DeleteDrive(conn: qmp.QmpConnection, drive_id: str) -> None:
  """Removes a drive unless qemu did so with its device."""
  if any(block.get("device") == drive_id for block in conn.Execute("query-block")):
    _Hmp(conn, "drive_del %s" % drive_id)


def _Hmp(conn: qmp.QmpConnection, command: str) -> str:
  """A human monitor command; its output must not report an error."""
  output = conn.Execute("human-monitor-command", {"command-line": command}) or ""
  if output.strip() not in ("", "OK"):
    raise errors.HotplugError("%s failed: %s" % (command.split()[0], output.strip()))
  return output


def _Quietly(conn: qmp.QmpConnection, command: str, arguments: Optional[dict]) -> None:
  try:
    conn.Execute(command, arguments)
  except errors.HypervisorError:
    pass
