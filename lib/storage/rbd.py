"""RBD disks (template rbd): images in a Ceph RADOS pool, through the rbd tool.

The logical id is ("rbd", image name); the pool comes from the disk's
parameters (diskparams "pool").  With kernel access the image is mapped to
a /dev/rbdN device on the node that uses it; with userspace access qemu
reaches it itself as rbd:POOL/IMAGE.
"""

import json
import os
from typing import Any, Optional, Sequence

from ganeti import errors
from ganeti import paramdefs
from ganeti.storage import base
from ganeti.storage import runner

RBD_TOOL = "rbd"


# --- the rbd command lines ---------------------------------------------------------

def CreateArgv(pool: str, name: str, size: int) -> list[str]:
  return [RBD_TOOL, "create", "-p", pool, "--size", str(size), name]


def MapArgv(pool: str, name: str) -> list[str]:
  return [RBD_TOOL, "map", "-p", pool, name]


def ShowMappedArgv(pool: str) -> list[str]:
  return [RBD_TOOL, "showmapped", "-p", pool, "--format", "json"]


def UnmapArgv(device: str) -> list[str]:
  return [RBD_TOOL, "unmap", device]


def RemoveArgv(pool: str, name: str) -> list[str]:
  return [RBD_TOOL, "rm", "-p", pool, name]


def ResizeArgv(pool: str, name: str, new_size: int) -> list[str]:
  return [RBD_TOOL, "resize", "-p", pool, "--size", str(new_size), name]


def ParseShowMapped(text: str) -> list[dict[str, str]]:
  """The mappings "rbd showmapped --format json" lists: dicts with pool, name,
  snap and device.  Ceph before Nautilus prints an object keyed by mapping
  id, later ones a list."""
  if not text.strip():
    return []
  try:
    data = json.loads(text)
  except ValueError:
    raise errors.BlockDeviceError("Unparseable output of rbd showmapped: %r" %
                                  text[:200]) from None
  rows = list(data.values()) if isinstance(data, dict) else data
  if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
    raise errors.BlockDeviceError("Unexpected output of rbd showmapped: %r" % text[:200])
  return [{key: str(row.get(key, "")) for key in ("pool", "name", "snap", "device")}
          for row in rows]


def MappedDevice(mappings: Sequence[dict[str, str]], pool: str, name: str) -> Optional[str]:
  """The device an image (not a snapshot of it) is mapped to; None if unmapped.
  An image mapped twice is refused: which device the instance uses is unclear."""
  devices = [row["device"] for row in mappings
             if row["pool"] == pool and row["name"] == name and row["snap"] in ("", "-")]
  if len(devices) > 1:
    raise errors.BlockDeviceError("RBD image %s/%s is mapped more than once: %s" %
                                  (pool, name, ", ".join(devices)))
  return devices[0] if devices else None


# --- the device ---------------------------------------------------------------------

class RADOSBlockDevice(base.BlockDev):
  """An RBD image; with kernel access its device is the /dev/rbdN it is mapped to."""

  def __init__(self, unique_id: Sequence[Any], children: Sequence[Any], size: int,
               params: Optional[dict], dyn_params: Optional[dict]) -> None:
    base.CheckPairId(unique_id)
    super().__init__(unique_id, children, size, params, dyn_params)
    self.driver, self.name = self.unique_id
    self.pool = self.params.get(paramdefs.RBD_POOL) or "rbd"
    self.Attach()

  def _Run(self, argv: list[str], what: str) -> runner.ToolResult:
    return runner.RUNNER.RunOrFail(argv, "%s RBD image %s/%s" % (what, self.pool, self.name))

  def _Mapped(self) -> Optional[str]:
    result = self._Run(ShowMappedArgv(self.pool), "Listing the mappings of")
    return MappedDevice(ParseShowMapped(result.stdout), self.pool, self.name)

  @classmethod
  def Create(cls, unique_id: Sequence[Any], children: Sequence[base.BlockDev], size: int,
             spindles: Optional[int], params: dict, excl_stor: bool,
             dyn_params: dict, info: str = "") -> "RADOSBlockDevice":
    if excl_stor:
      raise errors.BlockDeviceError("Exclusive storage is not supported by RBD disks")
    pool = (params or {}).get(paramdefs.RBD_POOL) or "rbd"
    runner.RUNNER.RunOrFail(CreateArgv(pool, unique_id[1], size),
                            "Creating RBD image %s/%s" % (pool, unique_id[1]))
    return cls(unique_id, children, size, params, dyn_params)

  def Attach(self) -> bool:
    """Whether the image is mapped here (learning its device)."""
    try:
      self.dev_path = self._Mapped()
    except errors.BlockDeviceError:
      self.dev_path = None
    self.attached = self.dev_path is not None
    if self.attached:
      stat = os.stat(self.dev_path) if os.path.exists(self.dev_path) else None
      if stat is not None:
        self.major, self.minor = os.major(stat.st_rdev), os.minor(stat.st_rdev)
    return self.attached

  def Assemble(self) -> None:
    if self.Attach():
      return
    self._Run(MapArgv(self.pool, self.name), "Mapping")
    if not self.Attach():
      raise errors.BlockDeviceError("RBD image %s/%s was mapped but its device can't be"
                                    " found" % (self.pool, self.name))

  def Shutdown(self) -> None:
    device = self._Mapped()
    if device is not None:
      self._Run(UnmapArgv(device), "Unmapping")
    self.attached = False
    self.dev_path = None

  def Remove(self) -> None:
    self.Shutdown()
    self._Run(RemoveArgv(self.pool, self.name), "Removing")

  def Rename(self, new_id: Sequence[Any]) -> None:
    raise errors.BlockDeviceError("Renaming is not supported by RBD disks")

  def Grow(self, amount: int, dryrun: bool, backingstore: bool, excl_stor: bool) -> None:
    # the image is the backing store; the pool's space is not known here for a dry run
    if not backingstore or dryrun:
      return
    if amount < 0:
      raise errors.BlockDeviceError("Can't shrink RBD image %s/%s" % (self.pool, self.name))
    self._Run(ResizeArgv(self.pool, self.name, self.size + amount), "Resizing")
    self.size += amount

  def GetUserspaceAccessUri(self, hypervisor: str) -> str:
    if hypervisor != "kvm":
      raise errors.BlockDeviceError("Hypervisor %s has no userspace access to RBD" %
                                    hypervisor)
    return "rbd:%s/%s" % (self.pool, self.name)

  def GetActualSize(self) -> int:
    if not self.dev_path:
      raise errors.BlockDeviceError("RBD image %s/%s is not mapped" % (self.pool, self.name))
    return runner.DeviceSize(self.dev_path)
