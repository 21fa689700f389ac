"""DRBD 8.4 disks (template drbd): a device mirrored between two nodes.

The logical id is (primary node, secondary node, port, primary minor,
secondary minor, shared secret); each node learns its own and its peer's
address and minor from the disk's dynamic parameters.  The two children
are the local data and metadata devices (LVs).  A device is "attached" when
its minor is configured on this node; assembling sets up the resource,
attaches the local disks and connects to the peer.
"""

import os
from typing import Any, Optional, Sequence

from ganeti import errors
from ganeti import netutils
from ganeti import objects
from ganeti.constants import (
  DDP_LOCAL_IP, DDP_LOCAL_MINOR, DDP_REMOTE_IP, DDP_REMOTE_MINOR, LDS_FAULTY, LDS_OKAY,
  LDS_SYNC, LDS_UNKNOWN)
from ganeti.storage import base
from ganeti.storage import drbd_cmd
from ganeti.storage import drbd_info
from ganeti.storage import runner

# DRBD's external metadata for up to 4 TiB of data fits in 128 MiB
META_SIZE = 128
DRBD_MAJOR = 147
SUPPORTED_VERSION = (8, 4)
_MAX_MINOR = 1048575


def _Minor(value: Any, what: str) -> int:
  if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_MINOR:
    raise ValueError("Invalid %s DRBD minor %r" % (what, value))
  return value


def _Endpoint(address: Optional[tuple[str, int]]) -> str:
  return "%s:%d" % address if address else "no address"


def ReadSupportedProcDrbd(path: str) -> drbd_info.ProcStatus:
  """The DRBD state; BlockDeviceError unless the kernel speaks DRBD 8.4."""
  status = drbd_info.ReadProcDrbd(path)
  version = status.version
  if (version.major, version.minor) != SUPPORTED_VERSION:
    raise errors.BlockDeviceError("Unsupported DRBD version %d.%d.%d (need %d.%d)" %
                                  ((version.major, version.minor, version.point) +
                                   SUPPORTED_VERSION))
  return status


class DRBD8(base.BlockDev):
  """A DRBD 8.4 minor over two local devices (data, metadata)."""

  # where /proc/drbd, the kernel's block devices and its TCP tables are read from
  # (tests point them at samples)
  proc_path = drbd_info.PROC_DRBD
  sysfs_block = "/sys/block"
  proc_net = netutils.PROC_NET

  def __init__(self, unique_id: Sequence[Any], children: Sequence[Optional[base.BlockDev]],
               size: int, params: Optional[dict], dyn_params: Optional[dict]) -> None:
    if not isinstance(unique_id, (tuple, list)) or len(unique_id) != 6:
      raise ValueError("Invalid configuration data %s" % (unique_id,))
    if children and len(children) != 2:
      raise ValueError("Invalid configuration data: DRBD needs 2 children, got %d" %
                       len(children))
    super().__init__(unique_id, children, size, params, dyn_params)
    port, secret = self.unique_id[2], self.unique_id[5]
    dyn = self.dyn_params
    self._minor = _Minor(dyn.get(DDP_LOCAL_MINOR), "local")
    self._peer_minor = _Minor(dyn.get(DDP_REMOTE_MINOR), "remote")
    self._local = (dyn.get(DDP_LOCAL_IP), port)
    self._remote = (dyn.get(DDP_REMOTE_IP), port)
    self._secret = secret or None
    # set while the metadata was created by this object and never attached
    self.fresh_metadata = False
    self.dev_path = drbd_cmd.DevicePath(self._minor)
    self.Attach()

  def _Status(self) -> drbd_info.MinorStatus:
    status = ReadSupportedProcDrbd(self.proc_path).minors.get(self._minor)
    return status or drbd_info.MinorStatus(self._minor, "Unconfigured")

  def _CheckOwnership(self, status: drbd_info.MinorStatus) -> None:
    """Refuses a configured minor that serves other disks or another peer.

    Whether its disks are this device's, the kernel's list of the devices
    it holds tells without running drbdsetup (a tenth of a second on a slow
    node).  A minor off the network has no peer to compare; one in touch
    with its peer is this device's peer's when the kernel's TCP table joins
    this device's address and port to the peer's address (ports are unique
    per node).  drbdsetup show decides the rest, and names what it finds.
    """
    if status.standalone or (status.with_peer and self._TalksToPeer()):
      holds_own = self._HoldsOwnDisks()
    else:
      holds_own = None
    if holds_own is not None:
      if not holds_own:
        raise errors.BlockDeviceError("DRBD minor %d is in use by other devices" % self._minor)
      return
    result = runner.RUNNER.RunOrFail(drbd_cmd.ShowArgv(self._minor),
                                     "Reading the configuration of %s" % self.dev_path)
    shown = drbd_info.ParseShow(result.stdout)
    mine = [child.dev_path for child in self.children if child is not None]
    if shown.local_dev and len(mine) == 2 and [shown.local_dev, shown.meta_dev] != mine:
      raise errors.BlockDeviceError("DRBD minor %d is in use by other devices (%s, %s)" %
                                    (self._minor, shown.local_dev, shown.meta_dev))
    if (shown.remote_addr and self._HasNetwork() and
        (shown.local_addr, shown.remote_addr) != (self._local, self._remote)):
      raise errors.BlockDeviceError("DRBD minor %d is connected elsewhere (%s to %s)" %
                                    (self._minor, _Endpoint(shown.local_addr),
                                     _Endpoint(shown.remote_addr)))

  def _HoldsOwnDisks(self) -> Optional[bool]:
    """Whether the minor holds this device's data and metadata devices or
    none (diskless); None if the kernel does not say or the children's
    device numbers are unknown."""
    children = [child for child in self.children if child is not None]
    if len(children) != 2:
      return True  # no disks of its own to tell apart
    numbers = {(child.major, child.minor) for child in children}
    if any(None in number for number in numbers):
      return None
    slaves_dir = os.path.join(self.sysfs_block, "drbd%d" % self._minor, "slaves")
    try:
      held = set()
      for name in os.listdir(slaves_dir):
        with open(os.path.join(self.sysfs_block, name, "dev")) as dev:
          major, minor = dev.read().strip().split(":")
        held.add((int(major), int(minor)))
    except (OSError, ValueError):
      return None
    return not held or held == numbers

  def _TalksToPeer(self) -> bool:
    """Whether an established TCP connection joins this device's address to
    its peer's, on this device's port at either end (DRBD connects both
    ways: one socket per direction)."""
    if not self._HasNetwork():
      return False
    local, remote = (netutils.NormalizeAddress(self._local[0]),
                     netutils.NormalizeAddress(self._remote[0]))
    port = self._local[1]
    return any(ours[0] == local and theirs[0] == remote and port in (ours[1], theirs[1])
               for ours, theirs in netutils.EstablishedTcp(self.proc_net))

  def _Run(self, argv: list[str], what: str) -> None:
    runner.RUNNER.RunOrFail(argv, "%s of %s" % (what, self.dev_path))

  def _HasNetwork(self) -> bool:
    return bool(self._local[0] and self._remote[0] and self._local[1])

  def _RequireNetwork(self) -> None:
    if not self._HasNetwork():
      raise errors.BlockDeviceError("%s: no network information (local or peer address)" %
                                    self.dev_path)

  def _LocalDevices(self) -> tuple[str, str]:
    data, meta = self.children if len(self.children) == 2 else (None, None)
    if data is None or meta is None or not data.dev_path or not meta.dev_path:
      raise errors.BlockDeviceError("%s: local data or metadata device missing" %
                                    self.dev_path)
    return data.dev_path, meta.dev_path

  # --- life cycle ---------------------------------------------------------------

  @classmethod
  def Create(cls, unique_id: Sequence[Any], children: Sequence[base.BlockDev], size: int,
             spindles: Optional[int], params: dict, excl_stor: bool,
             dyn_params: dict, info: str = "") -> "DRBD8":
    if excl_stor:
      raise errors.BlockDeviceError("Exclusive storage is not supported by DRBD disks"
                                    " directly (their LVs honour it)")
    if len(children) != 2 or any(child is None for child in children):
      raise errors.BlockDeviceError("DRBD needs its data and metadata devices, got %d" %
                                    len([child for child in children if child]))
    minor = _Minor(dyn_params.get(DDP_LOCAL_MINOR), "local")
    # listed at all means the kernel has the minor: DRBD 8.4 shows a minor
    # with neither disk nor network (someone else's) as "cs:Unconfigured"
    status = ReadSupportedProcDrbd(cls.proc_path)
    if minor in status.minors:
      raise errors.BlockDeviceError("DRBD minor %d already in use at Create() time" % minor)
    meta = children[1]
    meta_size = meta.GetActualSize() // base.MIB
    if meta_size < META_SIZE:
      raise errors.BlockDeviceError("Metadata device %s too small: %d MiB, need %d MiB" %
                                    (meta.dev_path, meta_size, META_SIZE))
    runner.RUNNER.RunOrFail(drbd_cmd.CreateMetadataArgv(minor, meta.dev_path),
                            "Creating DRBD metadata on %s" % meta.dev_path)
    device = cls(unique_id, children, size, params, dyn_params)
    device.fresh_metadata = True
    return device

  def Attach(self) -> bool:
    self.attached = self._Status().configured
    self.major, self.minor = (DRBD_MAJOR, self._minor) if self.attached else (None, None)
    return self.attached

  def Assemble(self) -> None:
    """Sets up the minor: the resource, the local disks, the connection to the peer."""
    status = self._Status()
    created_here = not status.configured
    try:
      if created_here:
        self._Run(drbd_cmd.NewResourceArgv(self._minor), "Creating the resource")
        self._Run(drbd_cmd.NewMinorArgv(self._minor), "Creating the minor")
        # a new minor (diskless, standalone) still reads "Unconfigured" in
        # /proc/drbd, so its state says nothing yet: set it all up
        needs_disk = needs_net = True
      else:
        self._CheckOwnership(status)
        needs_disk, needs_net = status.diskless, status.standalone
      if needs_disk and self.children and all(self.children):
        self._AttachLocal()
      if self._HasNetwork() and needs_net:
        self.AttachNet(False)
    except errors.BlockDeviceError:
      if created_here:  # leave no half-configured minor behind
        runner.RUNNER.Run(drbd_cmd.DownArgv(self._minor))
      raise
    self.Attach()

  def _AttachLocal(self) -> None:
    data, meta = self._LocalDevices()
    if not self.fresh_metadata:  # metadata just created has a clean activity log
      self._Run(drbd_cmd.ApplyActivityLogArgv(self._minor, meta), "Applying the activity log")
    self.fresh_metadata = False
    self._Run(drbd_cmd.AttachArgv(self._minor, data, meta, self.size, self.params),
              "Attaching the local disks")

  def AttachNet(self, multimaster: bool) -> None:
    """Connects to the peer (multimaster: both may be primary, for live migration)."""
    self._RequireNetwork()
    self._Run(drbd_cmd.ConnectArgv(self._minor, self._local, self._remote, self.params,
                                   self._secret, multimaster), "Connecting to the peer")

  def SetDualPrimary(self, allowed: bool) -> None:
    """Allows (or forbids again) a second primary on the live connection."""
    self._RequireNetwork()
    self._Run(drbd_cmd.DualPrimaryArgv(self._local, self._remote, allowed),
              "Changing the dual-primary setting")

  def DisconnectNet(self) -> None:
    self._RequireNetwork()
    self._Run(drbd_cmd.DisconnectArgv(self._local, self._remote), "Disconnecting")

  def Shutdown(self) -> None:
    status = self._Status()
    if not status.configured:
      return
    if status.primary:
      # a primary that loses its peer starts a new data generation, and the
      # peer made primary next (a failover) then meets it as a split brain
      self._Run(drbd_cmd.SecondaryArgv(self._minor), "Making secondary")
    self._Run(drbd_cmd.DownArgv(self._minor), "Shutting down")
    self.attached, self.major, self.minor = False, None, None

  def Remove(self) -> None:
    self.Shutdown()

  def Rename(self, new_id: Sequence[Any]) -> None:
    if self.attached:
      raise errors.BlockDeviceError("Can't rename %s while it is active" % self.dev_path)
    if not isinstance(new_id, (tuple, list)) or len(new_id) != 6:
      raise errors.BlockDeviceError("Invalid new logical id %s" % (new_id,))
    self.unique_id = tuple(new_id)

  def Open(self, force: bool = False, exclusive: bool = True) -> None:
    """Makes this node the primary (force: even with outdated local data)."""
    self._Require("make primary")
    self._Run(drbd_cmd.PrimaryArgv(self._minor, force), "Making primary")

  def Close(self) -> None:
    # (a migration's target is made sure to be secondary: mostly it is)
    if self._Require("make secondary").primary:
      self._Run(drbd_cmd.SecondaryArgv(self._minor), "Making secondary")

  def GetProcStatus(self) -> drbd_info.MinorStatus:
    """The minor's state as /proc/drbd shows it now."""
    return self._Status()

  def _Require(self, action: str) -> drbd_info.MinorStatus:
    status = self._Status()
    if not status.configured:
      raise errors.BlockDeviceError("Can't %s %s: DRBD minor not configured" %
                                    (action, self.dev_path))
    return status

  # --- children, size and sync -----------------------------------------------------

  def AddChildren(self, devices: Sequence[base.BlockDev]) -> None:
    if not self._Require("add local disks to").diskless:
      raise errors.BlockDeviceError("%s already has local disks" % self.dev_path)
    if len(devices) != 2:
      raise errors.BlockDeviceError("DRBD needs 2 local devices, got %d" % len(devices))
    self.children = list(devices)
    # new local disks (replace-disks) start with fresh metadata and resync
    # from the peer
    _, meta = self._LocalDevices()
    self._Run(drbd_cmd.CreateMetadataArgv(self._minor, meta), "Creating the metadata")
    self.fresh_metadata = True
    self._AttachLocal()

  def RemoveChildren(self, devices: Sequence[base.BlockDev]) -> None:
    if self._Require("remove local disks from").diskless:
      return
    self._Run(drbd_cmd.DetachArgv(self._minor), "Detaching the local disks")
    self.children = []

  def Grow(self, amount: int, dryrun: bool, backingstore: bool, excl_stor: bool) -> None:
    if not self.children or self.children[0] is None:
      raise errors.BlockDeviceError("Can't grow %s: no local data device" % self.dev_path)
    if backingstore:
      self.children[0].Grow(amount, dryrun, backingstore, excl_stor)
      return
    if dryrun:
      return
    self._Require("grow")
    self._Run(drbd_cmd.ResizeArgv(self._minor, self.size + amount), "Resizing")

  def SetSyncParams(self, params: dict) -> None:
    self.params = dict(self.params, **params)
    self._Require("set the sync parameters of")
    self._Run(drbd_cmd.DiskOptionsArgv(self._minor, self.params), "Setting sync parameters")

  def PauseResumeSync(self, pause: bool) -> bool:
    children_ok = super().PauseResumeSync(pause)
    if not self._Status().configured:
      return False
    result = runner.RUNNER.Run(drbd_cmd.PauseSyncArgv(self._minor, pause))
    return children_ok and not result.failed

  def Snapshot(self, snap_name: Optional[str], snap_size: Optional[int]) -> Any:
    if not self.children or self.children[0] is None:
      raise errors.BlockDeviceError("Can't snapshot %s: no local data device" % self.dev_path)
    return self.children[0].Snapshot(snap_name, snap_size)

  def GetSyncStatus(self) -> objects.BlockDevStatus:
    status = self._Require("get the sync status of")
    if status.diskless:
      ldisk = LDS_FAULTY
    elif status.resyncing and not status.disk_uptodate:
      ldisk = LDS_SYNC
    elif status.disk_uptodate:
      ldisk = LDS_OKAY
    else:
      ldisk = LDS_UNKNOWN
    return objects.BlockDevStatus(
      dev_path=self.dev_path, major=DRBD_MAJOR, minor=self._minor,
      sync_percent=status.sync_percent, estimated_time=status.est_seconds,
      is_degraded=not (status.connected and status.disk_uptodate and
                       status.peer_disk == "UpToDate"),
      ldisk_status=ldisk)

  def GetActualSize(self) -> int:
    self._Require("get the size of")
    return runner.DeviceSize(self.dev_path)

  def GetActualSpindles(self) -> Optional[int]:
    if not self.children or self.children[0] is None:
      return None
    return self.children[0].GetActualSpindles()
