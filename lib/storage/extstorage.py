"""ExtStorage disks (template ext): volumes of an external storage provider.

The logical id is (provider, volume name).  A provider is a directory named
after it on the ExtStorage search path, holding the programs of
ganeti-extstorage-interface(7); every action runs one of them with the
volume described in environment variables (VOL_NAME, VOL_SIZE, EXTP_<param>
for each of the disk's provider parameters...).  "attach" prints the device
path on its first line and userspace URIs ("<hypervisor>:<uri>") on the next.
"""

import os
from typing import Any, Optional, Sequence

from ganeti import errors
from ganeti import pathutils
from ganeti.storage import base
from ganeti.storage import runner

# disk parameters that are Ganeti's own, not the provider's
_OWN_PARAMS = frozenset(["provider", "access"])


def FindProvider(name: str) -> str:
  """The directory of a provider on the search path; BlockDeviceError if none."""
  if not name or "/" in name or name in (".", ".."):
    raise errors.BlockDeviceError("Invalid ExtStorage provider name '%s'" % name)
  for top in pathutils.ES_SEARCH_PATH:
    directory = os.path.join(top, name)
    if os.path.isdir(directory):
      return directory
  raise errors.BlockDeviceError("ExtStorage provider '%s' not found in any of the"
                                " search paths (%s)" % (name, ", ".join(pathutils.ES_SEARCH_PATH)))


def ProviderEnvironment(unique_id: Sequence[Any], params: dict, size: Optional[int] = None,
                        name: Optional[str] = None, uuid: Optional[str] = None) -> dict[str, str]:
  """The environment every action of a volume gets."""
  env = {"VOL_NAME": str(unique_id[1])}
  if size is not None:
    env["VOL_SIZE"] = str(size)
  if name:
    env["VOL_CNAME"] = name
  if uuid:
    env["VOL_UUID"] = uuid
  for key, value in params.items():
    if key not in _OWN_PARAMS:
      env["EXTP_%s" % key.upper()] = str(value)
  return env


def _Run(unique_id: Sequence[Any], params: dict, size: int, dyn_params: dict, action: str,
         **extra: Any) -> runner.ToolResult:
  """Runs one program of a volume's provider; BlockDeviceError if it fails."""
  provider, vol_name = unique_id
  directory = FindProvider(provider)
  program = os.path.join(directory, action)
  if not os.access(program, os.X_OK):
    raise errors.BlockDeviceError("ExtStorage provider '%s' has no executable '%s'" %
                                  (provider, action))
  env = ProviderEnvironment(unique_id, params, size, dyn_params.get("name"),
                            dyn_params.get("uuid"))
  env.update({key: str(value) for key, value in extra.items()})
  return runner.RUNNER.RunOrFail([program], "ExtStorage %s of volume %s (provider %s)" %
                                 (action, vol_name, provider), env, directory)


class ExtStorageDevice(base.BlockDev):
  """A volume of an ExtStorage provider, mapped to a device on this node by attach."""

  def __init__(self, unique_id: Sequence[Any], children: Sequence[Any], size: int,
               params: Optional[dict], dyn_params: Optional[dict]) -> None:
    base.CheckPairId(unique_id)
    super().__init__(unique_id, children, size, params, dyn_params)
    self.provider, self.vol_name = self.unique_id
    self.uris: list[str] = []
    self._attach_error: Optional[errors.BlockDeviceError] = None
    self.Attach()

  def _Action(self, action: str, **extra: Any) -> runner.ToolResult:
    return _Run(self.unique_id, self.params, self.size, self.dyn_params, action, **extra)

  @classmethod
  def Create(cls, unique_id: Sequence[Any], children: Sequence[base.BlockDev], size: int,
             spindles: Optional[int], params: dict, excl_stor: bool,
             dyn_params: dict, info: str = "") -> "ExtStorageDevice":
    if excl_stor:
      raise errors.BlockDeviceError("Exclusive storage is not supported by ExtStorage disks")
    _Run(unique_id, params, size, dyn_params, "create")
    return cls(unique_id, children, size, params, dyn_params)

  def Attach(self) -> bool:
    """Maps the volume (attach is idempotent) and learns its path and URIs."""
    try:
      result = self._Action("attach")
    except errors.BlockDeviceError as err:
      self._attach_error = err
      self.attached = False
      return False
    lines = result.stdout.splitlines()
    self.dev_path = lines[0].strip() if lines and lines[0].strip() else None
    self.uris = [line.strip() for line in lines[1:] if line.strip()]
    self.attached = bool(self.dev_path or self.uris)
    if not self.attached:
      self._attach_error = errors.BlockDeviceError(
        "ExtStorage attach of volume %s printed neither a device path nor a URI" %
        self.vol_name)
    return self.attached

  def Assemble(self) -> None:
    if not self.attached and not self.Attach():
      raise self._attach_error

  def Shutdown(self) -> None:
    self._Action("detach")
    self.attached = False

  def Remove(self) -> None:
    # finding the volume mapped it; the provider removes unmapped volumes
    self._Action("detach")
    self._Action("remove")
    self.attached = False

  def Rename(self, new_id: Sequence[Any]) -> None:
    raise errors.BlockDeviceError("Renaming is not supported by ExtStorage disks")

  def Open(self, force: bool = False, exclusive: bool = True) -> None:
    if self._HasProgram("open"):
      self._Action("open", VOL_OPEN_EXCLUSIVE=exclusive)

  def Close(self) -> None:
    if self._HasProgram("close"):
      self._Action("close")

  def _HasProgram(self, action: str) -> bool:
    return os.path.exists(os.path.join(FindProvider(self.provider), action))

  def Grow(self, amount: int, dryrun: bool, backingstore: bool, excl_stor: bool) -> None:
    # the provider's volume is the backing store; a dry run has nothing to check here
    if not backingstore or dryrun:
      return
    if amount < 0:
      raise errors.BlockDeviceError("Can't shrink ExtStorage volume %s" % self.vol_name)
    self._Action("grow", VOL_NEW_SIZE=self.size + amount)
    self.size += amount

  def SetInfo(self, text: str) -> None:
    self._Action("setinfo", VOL_METADATA=text)

  def Snapshot(self, snap_name: Optional[str], snap_size: Optional[int]) -> Any:
    if not self._HasProgram("snapshot"):
      raise errors.BlockDeviceError("ExtStorage provider '%s' does not support snapshots" %
                                    self.provider)
    name = snap_name or "%s.snap" % self.vol_name
    self._Action("snapshot", VOL_SNAPSHOT_NAME=name,
                 VOL_SNAPSHOT_SIZE=snap_size if snap_size is not None else self.size)
    return [self.provider, name]

  def GetUserspaceAccessUri(self, hypervisor: str) -> str:
    prefix = "%s:" % hypervisor
    for uri in self.uris:
      if uri.startswith(prefix):
        return uri[len(prefix):]
    raise errors.BlockDeviceError("ExtStorage volume %s offers no userspace access for"
                                  " hypervisor %s" % (self.vol_name, hypervisor))

  def GetActualSize(self) -> int:
    if not self.dev_path:
      raise errors.BlockDeviceError("ExtStorage volume %s has no local device" %
                                    self.vol_name)
    return runner.DeviceSize(self.dev_path)
