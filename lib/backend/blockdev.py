"""The blockdev_* calls: disks' block devices on this node.

Disks arrive as dicts (with their template's parameters filled) and are
rebuilt as objects.Disk; the devices come from ganeti.storage.  Paths of file
disks travel in the configuration's form: on a virtual cluster they are
mapped below this node's root on the way in and back on the way out, and
must lie inside the node's allowed file storage paths.
"""

import os
import time
import urllib.error
import urllib.request
from typing import Any, Callable, Optional

from ganeti import constants
from ganeti import errors
from ganeti import objects
from ganeti import pathutils
from ganeti import storage
from ganeti import vcluster
from ganeti.backend import files
from ganeti.backend.common import Fail, IsBelowDir, LocalPath, RPCFail
from ganeti.storage import base
from ganeti.storage import filestorage
from ganeti.storage import persistent
from ganeti.utils import cmdtrace

_URL_SCHEMES = ("http://", "https://", "ftp://")
# pauses go through here so that tests can count them instead of waiting
Sleep = time.sleep
_DOWNLOAD_TIMEOUT = 60


# --- paths: configuration form <-> this node's form --------------------------

def _Wire(path: Optional[str]) -> Optional[str]:
  """A local path in the form the configuration uses (the node root removed)."""
  if path and vcluster.IsVirtualCluster() and IsBelowDir(vcluster.ROOTDIR, path):
    return path[len(vcluster.ROOTDIR):]
  return path


def _WireText(text: str) -> str:
  """A message with this node's root removed from the paths it names."""
  if vcluster.IsVirtualCluster():
    return text.replace(vcluster.ROOTDIR + "/", "/")
  return text


def _FailWith(prefix: str, err: Exception) -> None:
  Fail("%s: %s", prefix, _WireText(str(err)))


def _AllowedRoots() -> list[str]:
  roots = [pathutils.DEFAULT_FILE_STORAGE_DIR, pathutils.DEFAULT_SHARED_FILE_STORAGE_DIR]
  roots += files.AllowedFileStoragePaths()
  return [_Wire(LocalPath(root)) for root in roots]


def _AcceptedLocalPath(path: Any) -> str:
  """The local form of a disk file's path; FileStoragePathError if not allowed."""
  if not isinstance(path, str) or not path:
    raise errors.FileStoragePathError("Path '%s' is not acceptable for file storage" % path)
  local = LocalPath(path)
  filestorage.CheckFileStoragePathAcceptance(_Wire(local), _AllowedRoots())
  return local


def _AdoptedLocalPath(path: Any) -> str:
  """The local form of an adopted device's path; BlockDeviceError if not adoptable."""
  persistent.CheckAdoptable(path)
  return LocalPath(path)


# kinds whose logical id is (driver, path on this node): how a path is accepted
_PATH_ID_CHECKS = dict.fromkeys(storage.FILE_PATH_DEV_TYPES, _AcceptedLocalPath)
_PATH_ID_CHECKS[constants.DT_BLOCK] = _AdoptedLocalPath


def _LocalizeIds(disk: objects.Disk) -> None:
  accept = _PATH_ID_CHECKS.get(disk.dev_type)
  if accept is not None:
    logical_id = disk.logical_id
    if isinstance(logical_id, (list, tuple)) and len(logical_id) == 2:
      disk.logical_id = [logical_id[0], accept(logical_id[1])]
  for child in disk.children or ():
    _LocalizeIds(child)


def _WireId(dev_type: str, unique_id: tuple) -> list:
  if dev_type in _PATH_ID_CHECKS:
    return [unique_id[0], _Wire(unique_id[1])]
  return list(unique_id)


def _StatusDict(status: objects.BlockDevStatus) -> dict:
  status.dev_path = _Wire(status.dev_path)
  return status.ToDict()


# --- disks and devices -------------------------------------------------------

class _Disk:
  """A disk as received (for messages) and in this node's form (for devices)."""

  def __init__(self, data: Any) -> None:
    if not isinstance(data, dict):
      Fail("Invalid disk %r", data)
    try:
      self.wire = objects.Disk.FromDict(objects.CopyValue(data))
    except errors.ConfigurationError as err:
      Fail("Invalid disk: %s", err)
    self.local = self.wire.Copy()
    _LocalizeIds(self.local)

  def __str__(self) -> str:
    return base.DescribeDisk(self.wire)


def _Find(disk: objects.Disk) -> Optional[base.BlockDev]:
  """The device of a (local) disk, children first; None if it does not exist."""
  children = [_Find(child) for child in disk.children or ()]
  try:
    return storage.FindDevice(disk, children)
  except errors.BlockDeviceError as err:
    _FailWith("Can't find device", err)


def _Assemble(disk: objects.Disk) -> base.BlockDev:
  """Activates a (local) disk's device tree; BlockDeviceError on failure."""
  children = [_Assemble(child) for child in disk.children or ()]
  return storage.AssembleDevice(disk, children)


def _FindOrFail(disk: _Disk, message: str) -> base.BlockDev:
  device = _Find(disk.local)
  if device is None:
    Fail(message, disk)
  return device


def DiskLinkPath(instance_name: str, index: int) -> str:
  """The symlink through which an instance's disk index is reached on its node."""
  return "%s/%s:%d" % (pathutils.DISK_LINKS_DIR, instance_name, index)


def _LinkDisk(instance_name: str, index: int, dev_path: str) -> str:
  link = DiskLinkPath(instance_name, index)
  try:
    os.makedirs(pathutils.DISK_LINKS_DIR, exist_ok=True)
    if os.path.islink(link) and os.readlink(link) == dev_path:
      return link
    if os.path.lexists(link):
      os.remove(link)
    os.symlink(dev_path, link)
  except OSError as err:
    Fail("Cannot create symlink %s for disk %d of instance %s: %s", _Wire(link), index,
         instance_name, err)
  return link


def RemoveDiskLinks(instance_name: str) -> None:
  """Removes the disk symlinks of an instance (when it stops on this node)."""
  prefix = instance_name + ":"
  try:
    names = os.listdir(pathutils.DISK_LINKS_DIR)
  except FileNotFoundError:
    return
  for name in names:
    if name.startswith(prefix) and name[len(prefix):].isdigit():
      try:
        os.remove(os.path.join(pathutils.DISK_LINKS_DIR, name))
      except FileNotFoundError:
        pass


# --- the calls -----------------------------------------------------------------

def BlockdevCreate(bdev: dict, size: int, owner: str, on_primary: bool, info: str,
                   exclusive_storage: bool) -> list:
  """Creates a disk's device (its children must exist); returns its logical id.

  The device gets the disk's own size; on the primary node it is also
  activated and opened.
  """
  disk = _Disk(bdev)
  try:
    children = [_Assemble(child) for child in disk.local.children or ()]
  except errors.BlockDeviceError as err:
    _FailWith("Can't assemble device %s" % disk, err)
  try:
    device = storage.CreateDevice(disk.local, children, bool(exclusive_storage), info)
  except errors.BlockDeviceError as err:
    _FailWith("Can't create block device", err)
  try:
    if on_primary or disk.local.dev_type in storage.ASSEMBLE_ON_SECONDARY:
      device.Assemble()
    if on_primary:
      device.Open(force=True)
    device.SetInfo(info)
  except errors.BlockDeviceError as err:
    _FailWith("Can't assemble device after creation, unusual event", err)
  return _WireId(disk.local.dev_type, device.unique_id)


def BlockdevRemove(bdev: dict) -> None:
  """Removes a disk's device and its children's; absent devices are fine."""
  _Remove(_Disk(bdev).local)


def _Remove(disk: objects.Disk) -> None:
  messages = []
  device = _Find(disk)
  if device is not None:
    try:
      device.Remove()
    except errors.BlockDeviceError as err:
      messages.append(_WireText(str(err)))
  for child in disk.children or ():
    try:
      _Remove(child)
    except RPCFail as err:
      messages.append(str(err))
  if messages:
    Fail("Can't remove block device: %s", "; ".join(messages))


def BlockdevAssemble(disk: dict, instance: dict, on_primary: bool, idx: int) -> list:
  """Activates a disk; on the primary node opens it and links it for the instance.

  Returns (device path, link path, userspace URI or None) on the primary.
  """
  target = _Disk(disk)
  try:
    device = _Assemble(target.local)
    if not on_primary:
      return [True, True]
    device.Open()
    uri = None
    if (target.local.params or {}).get("access") == "userspace":
      uri = device.GetUserspaceAccessUri(instance.get("hypervisor"))
  except errors.BlockDeviceError as err:
    _FailWith("Error while assembling disk", err)
  link = _LinkDisk(instance["name"], idx, device.dev_path)
  return [_Wire(device.dev_path), _Wire(link), uri]


def BlockdevShutdown(disk: dict) -> None:
  """Deactivates a disk's device and its children's; absent devices are fine."""
  _Shutdown(_Disk(disk).local)


def _Shutdown(disk: objects.Disk) -> None:
  device = _Find(disk)
  if device is not None:
    try:
      device.Shutdown()
    except errors.BlockDeviceError as err:
      _FailWith("Cannot shutdown block device", err)
  for child in disk.children or ():
    _Shutdown(child)


def BlockdevGrow(cf_bdev: dict, amount: int, dryrun: bool, backingstore: bool,
                 es_flag: bool) -> None:
  """Grows a disk's device by amount MiB (dryrun: only checks that it could)."""
  disk = _Disk(cf_bdev)
  device = _FindOrFail(disk, "Cannot find block device %s")
  try:
    device.Grow(amount, bool(dryrun), bool(backingstore), bool(es_flag))
  except errors.BlockDeviceError as err:
    _FailWith("Failed to grow block device", err)


def BlockdevRename(devlist: list) -> None:
  """Gives devices new logical ids: [(disk, new logical id)]."""
  messages = []
  for data, new_id in devlist:
    disk = _Disk(data)
    device = _Find(disk.local)
    if device is None:
      messages.append("Can't find device %s in rename" % disk)
      continue
    try:
      local_id = list(new_id)
      if disk.local.dev_type in storage.FILE_PATH_DEV_TYPES and len(local_id) == 2:
        local_id[1] = _AcceptedLocalPath(local_id[1])
      device.Rename(local_id)
    except (errors.BlockDeviceError, errors.FileStoragePathError, TypeError) as err:
      messages.append("Can't rename device '%s' to '%s': %s" %
                      (disk, new_id, _WireText(str(err))))
  if messages:
    Fail("; ".join(messages))


def BlockdevFind(disk: dict) -> Optional[dict]:
  """A disk's device status (BlockDevStatus), None if it does not exist here."""
  device = _Find(_Disk(disk).local)
  if device is None:
    return None
  return _StatusDict(device.GetSyncStatus())


def BlockdevGetMirrorStatus(disks: list) -> list[dict]:
  """The combined status of each disk's device tree; fails if one is missing."""
  return BlockdevWaitMirrorSync(disks, 0)


# how often a status that waits for the end of a resync looks again: often
# when DRBD expects the end soon, less often for a long resync.  DRBD's
# estimate drops the fraction of a second ("1" is one to two seconds
# left), so from 1 on it looks as often as it can: a look is one read of
# /proc/drbd
_SYNC_END_POLL_MIN = 0.05
_SYNC_END_POLL_MAX = 1.0
# (while DRBD has no estimate yet)
_SYNC_END_POLL_UNKNOWN = 0.25
# and how long it waits at most (the master's longest pause between looks)
_SYNC_END_WAIT_MAX = 60.0


def _SyncEndPause(estimates: list[Optional[float]]) -> float:
  """The pause before looking at resyncing mirrors again, by DRBD's estimates
  of the seconds each has left."""
  if any(seconds is None for seconds in estimates):
    return _SYNC_END_POLL_UNKNOWN
  return max(_SYNC_END_POLL_MIN, min(_SYNC_END_POLL_MAX, (max(estimates) - 1) / 4))


def BlockdevWaitMirrorSync(disks: list, timeout: float) -> list[dict]:
  """blockdev_getmirrorstatus's answer once no disk resyncs any more, or after
  timeout seconds: the master, which looks again after a pause to report the
  progress, learns of a resync's end when it happens (the wait is traced
  apart from the daemon's work, as "mirror-sync")."""
  devices = [_FindOrFail(_Disk(data), "Can't find device %s") for data in disks]
  deadline = time.monotonic() + min(max(float(timeout), 0.0), _SYNC_END_WAIT_MAX)

  def resyncing() -> list[objects.BlockDevStatus]:
    return [status for status in statuses if status.sync_percent is not None]

  statuses = [device.CombinedSyncStatus() for device in devices]
  if resyncing() and time.monotonic() < deadline:
    with cmdtrace.Span("wait", ["mirror-sync", [device.dev_path for device in devices]]):
      while resyncing() and time.monotonic() < deadline:
        pause = _SyncEndPause([status.estimated_time for status in resyncing()])
        Sleep(max(0.0, min(deadline - time.monotonic(), pause)))
        statuses = [device.CombinedSyncStatus() for device in devices]
  return [_StatusDict(status) for status in statuses]


def BlockdevGetMirrorStatusMulti(node_disks: list) -> list[list]:
  """Like blockdev_getmirrorstatus, one (success, status or message) per disk."""
  result = []
  for data in node_disks:
    try:
      device = _FindOrFail(_Disk(data), "Can't find device %s")
      result.append([True, _StatusDict(device.CombinedSyncStatus())])
    except RPCFail as err:
      result.append([False, str(err)])
    except errors.GenericError as err:
      result.append([False, _WireText(str(err))])
  return result


def BlockdevGetDimensions(disks: list) -> list[Optional[list]]:
  """(size in bytes, spindles) of each disk's device, None where it is missing."""
  result: list[Optional[list]] = []
  for data in disks:
    device = _Find(_Disk(data).local)
    if device is None:
      result.append(None)
      continue
    try:
      result.append(list(device.GetActualDimensions()))
    except errors.BlockDeviceError as err:
      _FailWith("Can't get the size of block device", err)
  return result


def BlockdevSetInfo(disk: dict, info: str) -> None:
  """Records the owner text on a disk's device."""
  target = _Disk(disk)
  device = _FindOrFail(target, "Cannot find block device %s")
  try:
    device.SetInfo(info)
  except errors.BlockDeviceError as err:
    _FailWith("Cannot set information on block device", err)


def BlockdevSnapshot(cf_bdev: dict, snap_name: Optional[str], snap_size: Optional[int]) -> Any:
  """Snapshots a disk's device (for exports); returns the snapshot's logical id."""
  disk = _Disk(cf_bdev)
  if disk.wire.dev_type not in base.DTS_SNAPSHOT_CAPABLE:
    Fail("Cannot snapshot block device '%s' of type '%s'",
         tuple(disk.wire.logical_id or ()), disk.wire.dev_type)
  device = _FindOrFail(disk, "Cannot find block device %s")
  try:
    return device.Snapshot(snap_name, snap_size)
  except errors.BlockDeviceError as err:
    _FailWith("Cannot snapshot block device", err)


def BlockdevWipe(bdev: dict, offset: int, size: int) -> None:
  """Overwrites size MiB at offset MiB of a disk's device with zeros."""
  disk = _Disk(bdev)
  device = _Find(disk.local)
  if device is None:
    Fail("Cannot wipe device %s: device not found", disk.wire.iv_name)
  if offset < 0:
    Fail("Negative offset")
  if size < 0:
    Fail("Negative size")
  if offset + size > disk.wire.size:
    Fail("Wipe offset and size are bigger than device size")
  try:
    base.WriteZeros(device.dev_path, offset, size)
  except errors.BlockDeviceError as err:
    _FailWith("Cannot wipe device %s" % disk.wire.iv_name, err)


def BlockdevImage(bdev: dict, image: str, size: int) -> None:
  """Writes an image (a node path or an http/https/ftp URL) onto a disk's device."""
  disk = _Disk(bdev)
  device = _Find(disk.local)
  if device is None:
    Fail("Cannot image device %s: device not found", disk.wire.iv_name)
  limit = size * base.MIB
  if image.startswith(_URL_SCHEMES):
    _Download(image, device.dev_path, limit)
    return
  local = LocalPath(image)
  if not os.path.isfile(local):
    Fail("Image '%s' not found", image)
  if os.path.getsize(local) > limit:
    Fail("Image '%s' is bigger than the device (%s MiB)", image, size)
  try:
    base.CopyData(local, device.dev_path)
  except errors.BlockDeviceError as err:
    _FailWith("Cannot image device %s" % disk.wire.iv_name, err)


def _Download(url: str, dev_path: str, limit: int) -> None:
  written = 0
  try:
    with urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT) as response, \
         open(dev_path, "r+b") as target:
      while True:
        block = response.read(base.MIB)
        if not block:
          break
        written += len(block)
        if written > limit:
          Fail("Image '%s' is bigger than the device (%s MiB)", url, limit // base.MIB)
        target.write(block)
      target.flush()
      os.fsync(target.fileno())
  except (urllib.error.URLError, OSError, ValueError) as err:
    Fail("Cannot download image '%s': %s", url, err)


def BlockdevConvert(bdev_src: dict, bdev_dest: dict) -> None:
  """Copies the data of one disk's device onto another's (template conversion)."""
  source, dest = _Disk(bdev_src), _Disk(bdev_dest)
  source_dev = _Find(source.local)
  if source_dev is None:
    Fail("Cannot copy from device '%s': device not found", source.wire.uuid)
  dest_dev = _Find(dest.local)
  if dest_dev is None:
    Fail("Cannot copy to device '%s': device not found", dest.wire.uuid)
  try:
    base.CopyData(source_dev.dev_path, dest_dev.dev_path)
  except errors.BlockDeviceError as err:
    _FailWith("Cannot copy device '%s' to '%s'" % (source.wire.uuid, dest.wire.uuid), err)


def _FindAll(disks: list, message: str) -> list[base.BlockDev]:
  devices = []
  for data in disks:
    devices.append(_FindOrFail(_Disk(data), message))
  return devices


def BlockdevOpen(instance_name: str, disks: list, exclusive: bool) -> None:
  """Opens an instance's disks (e.g. before migrating it)."""
  for device in _FindAll(disks, "Can't find device %s"):
    try:
      device.Open(exclusive=bool(exclusive))
    except errors.BlockDeviceError as err:
      _FailWith("Can't open devices of instance %s" % instance_name, err)


def BlockdevClose(instance_name: str, disks: list) -> None:
  """Closes an instance's disks."""
  for device in _FindAll(disks, "Can't find device %s"):
    try:
      device.Close()
    except errors.BlockDeviceError as err:
      _FailWith("Can't close devices of instance %s" % instance_name, err)


def BlockdevPauseResumeSync(disks: list, pause: bool) -> list[list]:
  """Pauses or resumes resynchronization: (success, message) per disk."""
  result = []
  for data in disks:
    disk = _Disk(data)
    device = _Find(disk.local)
    if device is None:
      result.append([False, "Cannot change sync for device %s: device not found" %
                     disk.wire.iv_name])
      continue
    try:
      result.append([bool(device.PauseResumeSync(bool(pause))), None])
    except errors.BlockDeviceError as err:
      result.append([False, "Cannot change sync for device %s: %s" %
                     (disk.wire.iv_name, _WireText(str(err)))])
  return result


def BlockdevAddChildren(bdev: dict, ndevs: list) -> None:
  """Adds devices as children of a disk's device (mirror repair)."""
  parent = _Disk(bdev)
  parent_dev = _FindOrFail(parent, "Can't find parent device %s")
  new_disks = [_Disk(data) for data in ndevs]
  new_devs = [_Find(disk.local) for disk in new_disks]
  if any(device is None for device in new_devs):
    Fail("Can't find new device(s) to add: %s:%s",
         [_Wire(device.dev_path) if device else None for device in new_devs],
         [str(disk) for disk in new_disks])
  try:
    parent_dev.AddChildren(new_devs)
  except errors.BlockDeviceError as err:
    _FailWith("Can't add children to %s" % parent, err)


def BlockdevRemoveChildren(bdev: dict, ndevs: list) -> None:
  """Removes children from a disk's device."""
  parent = _Disk(bdev)
  parent_dev = _FindOrFail(parent, "Can't find device %s")
  devices = _FindAll(ndevs, "Can't find device %s while removing children")
  try:
    parent_dev.RemoveChildren(devices)
  except errors.BlockDeviceError as err:
    _FailWith("Can't remove children from %s" % parent, err)


# --- DRBD networking (mirror reconfiguration for migrations and repairs) ----------

# how long (seconds) a minor may take to find its peer, and how often its
# state (a read of /proc/drbd, no command) is looked at meanwhile: peers
# usually connect within a fraction of a second, which a 1 s poll rounded up
_DRBD_CONNECT_WAIT = 15
_DRBD_CONNECT_POLL = 0.1
# A resync found just after the handshake is mostly the few blocks written
# while the peers were apart, over in a moment: waiting this long for it here
# saves the master a pause and another call.
_RESYNC_SETTLE = 0.3
_RESYNC_SETTLE_POLL = 0.02


def _DrbdDevices(disks: list) -> list[base.BlockDev]:
  return _FindAll(disks, "Can't find device %s")


def _WaitForState(device: base.BlockDev, what: str, reached: Callable[[Any], bool],
                  seconds: float, poll: float, status: Any = None) -> Any:
  """The minor's state once reached(state) holds, or after seconds as it is
  (status: the state just read, if any).  The wait is DRBD's own (a
  handshake, a resync): it is traced apart from the daemon's work."""
  if status is None:
    status = device.GetProcStatus()
  if reached(status):
    return status
  with cmdtrace.Span("wait", [what, device.dev_path]) as traced:
    for _ in range(round(seconds / poll)):
      Sleep(poll)
      status = device.GetProcStatus()
      if reached(status):
        break
    traced.ok = reached(status)
  return status


def _WaitConnected(device: base.BlockDev, multimaster: bool, status: Any = None) -> Any:
  """The minor's state once it talks to its peer (or after the wait, as is)."""
  return _WaitForState(
    device, "drbd-connect",
    lambda status: status.with_peer or (not multimaster and status.waiting_for_peer),
    _DRBD_CONNECT_WAIT, _DRBD_CONNECT_POLL, status)


def DrbdDisconnectNet(disks: list) -> None:
  """Takes a disk's DRBD devices off the network (standalone)."""
  for device in _DrbdDevices(disks):
    try:
      device.DisconnectNet()
    except errors.BlockDeviceError as err:
      _FailWith("Can't change network configuration to standalone mode", err)


def DrbdAttachNet(disks: list, multimaster: bool) -> bool:
  """Connects DRBD devices to their peers; with multimaster both nodes may be
  primary, and this node becomes one (for a live migration).  True when
  every device kept its connection (then no resync follows).

  A device connected already keeps its connection: only its dual-primary
  setting changes (a net option DRBD 8.4 changes live, and passes on to the
  peer over the connection), which saves the two handshakes of a disconnect
  and reconnect; so one node of a connected pair is asked.  Devices that are
  not connected must both allow two primaries before either becomes the
  second one: their nodes are asked one after the other, the primary's
  first.  A standalone device connects (one half-way to its peer starts
  again); one to be made primary then waits until its peer connected (or it
  would start a data generation of its own), one that is primary already
  only starts connecting: so the peer, asked next, finds it listening.
  Asked at the same moment, both could start connecting at once, miss each
  other, and wait DRBD's whole connect interval (ten seconds, seen in a
  migration).
  """
  devices = _DrbdDevices(disks)
  states = [device.GetProcStatus() for device in devices]
  for device, status in zip(devices, states):
    try:
      if status.with_peer:
        device.SetDualPrimary(bool(multimaster))
        continue
      if not status.standalone:
        device.DisconnectNet()
      device.AttachNet(bool(multimaster))
    except errors.BlockDeviceError as err:
      _FailWith("Can't change network configuration", err)
  for device, status in zip(devices, states):
    # (made dual-master, a primary only listens: its peer, asked next, connects)
    if status.with_peer or (multimaster and status.primary):
      continue
    status = _WaitConnected(device, bool(multimaster))
    if multimaster and not status.with_peer:
      Fail("Timeout in disk reconnecting")
  promoted = [device for device, status in zip(devices, states)
              if multimaster and not status.primary]
  for device in promoted:
    try:
      device.Open()
    except errors.BlockDeviceError as err:
      _FailWith("Can't change to primary mode", err)
  return all(status.connected for status in states)


def DrbdWaitSync(disks: list) -> list:
  """(all resyncs finished, lowest resync percentage) of the DRBD devices."""
  all_done, lowest = True, 100.0
  for device in _DrbdDevices(disks):
    status = device.GetProcStatus()
    if not status.standalone:  # (a standalone minor does not look for its peer)
      status = _WaitConnected(device, True, status)
    if not status.with_peer:
      Fail("DRBD device %s is not in sync: state %s", _Wire(device.dev_path),
           status.connection)
    status = _WaitForState(device, "drbd-resync", lambda status: not status.resyncing,
                           _RESYNC_SETTLE, _RESYNC_SETTLE_POLL, status)
    all_done = all_done and not status.resyncing
    if status.sync_percent is not None:
      lowest = min(lowest, status.sync_percent)
  return [all_done, lowest]


def DrbdNeedsActivation(disks: list) -> list[str]:
  """Uuids of the DRBD disks whose device here is missing, without local
  storage or off the network (activate-disks would repair them)."""
  faulty = []
  for data in disks:
    disk = _Disk(data)
    device = _Find(disk.local)
    if device is None:
      faulty.append(disk.wire.uuid)
      continue
    status = device.GetProcStatus()
    if status.standalone or status.diskless:
      faulty.append(disk.wire.uuid)
  return faulty


CALLS = {
  "drbd_needs_activation": DrbdNeedsActivation,
  "drbd_disconnect_net": DrbdDisconnectNet,
  "drbd_attach_net": DrbdAttachNet,
  "drbd_wait_sync": DrbdWaitSync,
  "blockdev_create": BlockdevCreate,
  "blockdev_remove": BlockdevRemove,
  "blockdev_assemble": BlockdevAssemble,
  "blockdev_shutdown": BlockdevShutdown,
  "blockdev_grow": BlockdevGrow,
  "blockdev_rename": BlockdevRename,
  "blockdev_find": BlockdevFind,
  "blockdev_getmirrorstatus": BlockdevGetMirrorStatus,
  "blockdev_getmirrorstatus_multi": BlockdevGetMirrorStatusMulti,
  "blockdev_wait_mirror_sync": BlockdevWaitMirrorSync,
  "blockdev_getdimensions": BlockdevGetDimensions,
  "blockdev_setinfo": BlockdevSetInfo,
  "blockdev_snapshot": BlockdevSnapshot,
  "blockdev_wipe": BlockdevWipe,
  "blockdev_image": BlockdevImage,
  "blockdev_convert": BlockdevConvert,
  "blockdev_open": BlockdevOpen,
  "blockdev_close": BlockdevClose,
  "blockdev_pause_resume_sync": BlockdevPauseResumeSync,
  "blockdev_addchildren": BlockdevAddChildren,
  "blockdev_removechildren": BlockdevRemoveChildren,
}
