"""Instances on this node: start, stop, reboot, migrate, balloon, hotplug.

Instances arrive as dicts (hvparams and beparams filled, "disks_info" holding
the disks); the hypervisor named by the instance does the work.  Start,
shutdown and reboot record their reason trail, extended by this daemon, in
the instance's reason file.
"""

import json
import logging
import os
import time
from typing import Any, Optional

from ganeti import constants
from ganeti import errors
from ganeti import hypervisor
from ganeti import objects
from ganeti import paramdefs
from ganeti import pathutils
from ganeti import storage
from ganeti.backend import blockdev
from ganeti.backend.common import Fail, LocalDisk, LocalPath
from ganeti.hypervisor import hv_base
from ganeti.storage import base as storage_base
from ganeti.utils import io

REBOOT_SOFT = "soft"
REBOOT_HARD = "hard"
REASON_SOURCE_NODED = "gnt:daemon:noded"
DISK_PARAM_ACCESS = "access"  # the disk parameter saying how the hypervisor reaches it
# Instance metadata handed to the node (there is no metadata daemon yet)
METADATA_DIR = os.path.join(pathutils.RUN_DIR, "instance-metadata")


def _Instance(data: Any) -> objects.Instance:
  try:
    instance = objects.Instance.FromDict(data)
  except errors.GenericError as err:
    Fail("Invalid instance: %s", err)
  # the name becomes a file name in several directories of this node
  if not isinstance(instance.name, str) or not instance.name or \
      "/" in instance.name or instance.name.startswith("."):
    Fail("Invalid instance name %r", instance.name)
  return instance


def _Hypervisor(name: str) -> hv_base.BaseHypervisor:
  try:
    return hypervisor.GetHypervisor(name)
  except errors.HypervisorError as err:
    Fail(str(err))


def _IsRunning(hyper: hv_base.BaseHypervisor, instance: objects.Instance) -> bool:
  try:
    return instance.name in hyper.ListInstances(instance.hvparams)
  except errors.HypervisorError as err:
    Fail("Error checking node %s: %s", instance.primary_node, err)


# --- reason trail ------------------------------------------------------------

def _ExtendReason(reason: Optional[list], action: str) -> list:
  """The trail as received plus this daemon's entry (nanoseconds)."""
  return list(reason or []) + [["%s:%s" % (REASON_SOURCE_NODED, action), "",
                                time.time_ns()]]


def _StoreReason(instance_name: str, trail: list) -> None:
  io.WriteFile(os.path.join(pathutils.INSTANCE_REASON_DIR, instance_name),
               json.dumps(trail), mode=0o600, mkdir=True)


# --- block device links ---------------------------------------------------------

def _FindDevice(disk: objects.Disk) -> Optional[storage_base.BlockDev]:
  children = [_FindDevice(child) for child in disk.children or ()]
  return storage.FindDevice(disk, children)


def _LinkBlockDevices(instance: objects.Instance) -> list[tuple]:
  """(disk, link, userspace uri or None) per disk; links point at the devices."""
  result = []
  for index, disk in enumerate(instance.disks_info or ()):
    try:
      device = _FindDevice(LocalDisk(disk))
      if device is None:
        Fail("Cannot find block device %s", storage_base.DescribeDisk(disk))
      uri = None
      if (disk.params or {}).get(DISK_PARAM_ACCESS) == paramdefs.DISK_USERSPACE:
        uri = device.GetUserspaceAccessUri(instance.hypervisor)
    except errors.BlockDeviceError as err:
      Fail("Cannot find block device %s: %s", storage_base.DescribeDisk(disk), err)
    link = blockdev.DiskLinkPath(instance.name, index)
    try:
      os.makedirs(pathutils.DISK_LINKS_DIR, exist_ok=True)
      if os.path.lexists(link) and not (os.path.islink(link) and
                                        os.readlink(link) == device.dev_path):
        os.remove(link)
      if not os.path.lexists(link):
        os.symlink(device.dev_path, link)
    except OSError as err:
      Fail("Cannot create block device symlink %s: %s", link, err)
    result.append((disk, link, uri))
  return result


def _RemoveBlockDeviceLinks(instance: objects.Instance) -> None:
  for index in range(len(instance.disks_info or ())):
    link = blockdev.DiskLinkPath(instance.name, index)
    if os.path.islink(link):
      try:
        os.unlink(link)
      except OSError as err:
        logging.warning("Can't remove block device symlink %s: %s", link, err)


# --- lifecycle -----------------------------------------------------------------

def _Start(instance: objects.Instance, startup_paused: bool) -> None:
  hyper = _Hypervisor(instance.hypervisor)
  if _IsRunning(hyper, instance):
    logging.info("Instance %s already running, not starting", instance.name)
    return
  block_devices = _LinkBlockDevices(instance)
  try:
    hyper.StartInstance(instance, block_devices, startup_paused)
  except errors.HypervisorError as err:
    _RemoveBlockDeviceLinks(instance)
    Fail("Hypervisor error: %s", err)


def _Shutdown(instance: objects.Instance, timeout: int) -> None:
  hyper = _Hypervisor(instance.hypervisor)
  if _IsRunning(hyper, instance):
    try:
      hyper.StopInstance(instance, timeout=timeout)
    except errors.HypervisorError as err:
      # a graceful stop failed: force it
      logging.warning("Failed to stop instance %s: %s", instance.name, err)
      try:
        hyper.StopInstance(instance, force=True)
      except errors.HypervisorError as err2:
        Fail("Failed to force stop instance %s: %s", instance.name, err2)
    if _IsRunning(hyper, instance):
      Fail("Could not shutdown instance %s even by destroy", instance.name)
  try:
    hyper.CleanupInstance(instance.name)
  except errors.HypervisorError as err:
    logging.warning("Failed to clean up after instance %s: %s", instance.name, err)
  _RemoveBlockDeviceLinks(instance)


def StartInstance(instance_hvp_bep: dict, startup_paused: bool,
                  reason: Optional[list]) -> None:
  """Starts the instance unless it already runs here."""
  instance = _Instance(instance_hvp_bep)
  _Start(instance, startup_paused)
  _StoreReason(instance.name, _ExtendReason(reason, "start"))


def InstanceShutdown(instance: dict, timeout: int, reason: Optional[list]) -> None:
  """Stops the instance (success when it does not run here)."""
  inst = _Instance(instance)
  _Shutdown(inst, timeout)
  _StoreReason(inst.name, _ExtendReason(reason, "shutdown"))


def InstanceReboot(inst: dict, reboot_type: str, shutdown_timeout: int,
                   reason: Optional[list]) -> None:
  """Reboots a running instance: soft (from inside) or hard (stop and start)."""
  instance = _Instance(inst)
  hyper = _Hypervisor(instance.hypervisor)
  if not _IsRunning(hyper, instance):
    Fail("Cannot reboot instance '%s' that is not running", instance.name)
  if reboot_type == REBOOT_SOFT:
    try:
      hyper.RebootInstance(instance)
    except errors.HypervisorError as err:
      Fail("Failed to soft reboot instance '%s': %s", instance.name, err)
  elif reboot_type == REBOOT_HARD:
    try:
      _Shutdown(instance, shutdown_timeout)
      _Start(instance, False)
    except Exception as err:  # pylint: disable=broad-except
      Fail("Failed to hard reboot instance '%s': %s", instance.name, err)
  else:
    Fail("Invalid reboot_type received: '%s'", reboot_type)
  _StoreReason(instance.name, _ExtendReason(reason, "reboot"))


def InstanceBalloonMemory(instance: dict, memory: int) -> None:
  """Sets a running instance's memory; nothing to do when it does not run."""
  inst = _Instance(instance)
  hyper = _Hypervisor(inst.hypervisor)
  if not _IsRunning(hyper, inst):
    logging.info("Instance %s is not running, cannot balloon", inst.name)
    return
  try:
    hyper.BalloonInstanceMemory(inst, memory)
  except errors.HypervisorError as err:
    Fail("Failed to balloon instance memory: %s", err)


def GetInstanceInfo(instance: str, hname: str, hvparams: Optional[dict]) -> dict:
  """{memory, vcpus, state, time} of a running instance, {} when not running."""
  try:
    info = _Hypervisor(hname).GetInstanceInfo(instance, hvparams)
  except errors.HypervisorError as err:
    Fail("Error getting information for instance %s: %s", instance, err)
  if info is None:
    return {}
  return {"memory": info.memory, "vcpus": info.vcpus, "state": info.state,
          "time": info.time}


def GetInstanceMigratable(instance: dict) -> None:
  """Refuses unless the instance runs here; warns about missing disk links."""
  inst = _Instance(instance)
  if not _IsRunning(_Hypervisor(inst.hypervisor), inst):
    Fail("Instance %s is not running", inst.name)
  for index in range(len(inst.disks_info or ())):
    link = blockdev.DiskLinkPath(inst.name, index)
    if not os.path.islink(link):
      logging.warning("Instance %s is missing symlink %s for disk %d",
                      inst.name, link, index)


# --- migration ---------------------------------------------------------------

def _MigrationStep(what: str, method: str, instance: dict, *args: Any) -> Any:
  inst = _Instance(instance)
  try:
    return getattr(_Hypervisor(inst.hypervisor), method)(inst, *args)
  except errors.HypervisorError as err:
    Fail("%s: %s", what, err)


def MigrationInfo(instance: dict) -> str:
  """On the source: what the target needs to accept the instance."""
  return _MigrationStep("Failed to fetch migration information", "MigrationInfo",
                        instance)


def AcceptInstance(instance: dict, info: str, target: str) -> None:
  """On the target: links the disks and prepares to receive the instance."""
  inst = _Instance(instance)
  _LinkBlockDevices(inst)
  try:
    _Hypervisor(inst.hypervisor).AcceptInstance(inst, info, target)
  except errors.HypervisorError as err:
    _RemoveBlockDeviceLinks(inst)
    Fail("Failed to accept instance: %s", err)


def FinalizeMigrationDst(instance: dict, info: str, success: bool) -> None:
  """On the target: the instance arrived (success) or the reception is undone."""
  _MigrationStep("Failed to finalize migration on the target node",
                 "FinalizeMigrationDst", instance, info, success)
  if not success:
    _RemoveBlockDeviceLinks(_Instance(instance))


def MigrateInstance(cluster_name: str, instance: dict, target: str, live: bool) -> None:
  """On the source: sends the instance to the target node."""
  inst = _Instance(instance)
  try:
    _Hypervisor(inst.hypervisor).MigrateInstance(cluster_name, inst, target, live)
  except errors.HypervisorError as err:
    Fail("Failed to migrate instance: %s", err)


def FinalizeMigrationSource(instance: dict, success: bool, live: bool) -> None:
  """On the source: forgets the instance (success) or lets it run on."""
  _MigrationStep("Failed to finalize the migration on the source node",
                 "FinalizeMigrationSource", instance, success, live)
  if success:
    _RemoveBlockDeviceLinks(_Instance(instance))


def GetMigrationStatus(instance: dict) -> dict:
  """The MigrationStatus (as a dict) of the instance's migration from here."""
  status = _MigrationStep("Failed to get migration status", "GetMigrationStatus",
                          instance)
  return status.ToDict()


# --- hotplug and metadata --------------------------------------------------------

_HOTPLUG_METHODS = {
  constants.HOTPLUG_ACTION_ADD: "HotAddDevice",
  constants.HOTPLUG_ACTION_REMOVE: "HotDelDevice",
  constants.HOTPLUG_ACTION_MODIFY: "HotModDevice",
}
_HOTPLUG_DEVICES = {
  constants.HOTPLUG_TARGET_DISK: objects.Disk,
  constants.HOTPLUG_TARGET_NIC: objects.NIC,
}


def HotplugSupported(instance: dict) -> None:
  """Refuses unless the running instance supports hotplug."""
  inst = _Instance(instance)
  try:
    _Hypervisor(inst.hypervisor).HotplugSupported(inst)
  except errors.HotplugError as err:
    Fail("Hotplug is not supported: %s", err)


def HotplugDevice(instance: dict, action: str, dev_type: str, device: dict,
                  extra: Any, seq: int) -> Any:
  """Adds, removes or modifies a disk or NIC of a running instance."""
  inst = _Instance(instance)
  hyper = _Hypervisor(inst.hypervisor)
  try:
    hyper.VerifyHotplugSupport(inst, action, dev_type)
  except errors.HotplugError as err:
    Fail("Hotplug is not supported: %s", err)
  method = _HOTPLUG_METHODS.get(action)
  device_class = _HOTPLUG_DEVICES.get(dev_type)
  if method is None or device_class is None:
    Fail("Invalid hotplug action '%s' for device type '%s'", action, dev_type)
  if dev_type == constants.HOTPLUG_TARGET_DISK and extra:
    # a new disk's (link, uri) from blockdev_assemble, the link as the
    # configuration writes paths
    link, uri = extra
    extra = (LocalPath(link) if link else link, uri)
  try:
    return getattr(hyper, method)(inst, dev_type, device_class.FromDict(device),
                                  extra, seq)
  except errors.GenericError as err:
    Fail("Hotplug failed: %s", err)


def ModifyInstanceMetadata(metadata: dict) -> None:
  """Keeps the metadata the master gives for an instance (by its "name")."""
  if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
    Fail("Could not get instance parameters: Could not find instance name")
  name = metadata["name"]
  if not name or "/" in name or name.startswith("."):
    Fail("Invalid instance name %r", name)
  io.WriteFile(os.path.join(METADATA_DIR, name), json.dumps(metadata), mode=0o600,
               mkdir=True)


CALLS = {
  "instance_start": StartInstance,
  "instance_shutdown": InstanceShutdown,
  "instance_reboot": InstanceReboot,
  "instance_balloon_memory": InstanceBalloonMemory,
  "instance_info": GetInstanceInfo,
  "instance_migratable": GetInstanceMigratable,
  "migration_info": MigrationInfo,
  "accept_instance": AcceptInstance,
  "instance_finalize_migration_dst": FinalizeMigrationDst,
  "instance_migrate": MigrateInstance,
  "instance_finalize_migration_src": FinalizeMigrationSource,
  "instance_get_migration_status": GetMigrationStatus,
  "hotplug_supported": HotplugSupported,
  "hotplug_device": HotplugDevice,
  "instance_metadata_modify": ModifyInstanceMetadata,
}
