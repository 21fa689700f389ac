"""The fake hypervisor: instances are state files, nothing runs.

A running instance is a file named after it in the node's fake-hypervisor run
directory, holding its id, memory (MiB) and vCPU count one per line.  Node
memory is accounted from these files.  Migration hands the state file's
content from the source to the target node.  Nothing outside the node's own
directories is ever touched.
"""

import os
from typing import Callable, Optional

from ganeti import constants
from ganeti import errors
from ganeti import objects
from ganeti import paramdefs
from ganeti import pathutils
from ganeti.hypervisor import hv_base
from ganeti.utils import io

STATE_DIR_NAME = "fake-hypervisor"
_INSTANCE_ID = "0"  # every fake instance has the same id
CONSOLE_MESSAGE = "Console not available for fake hypervisor"


def DefaultStateDir() -> str:
  return os.path.join(pathutils.RUN_DIR, STATE_DIR_NAME)


class FakeHypervisor(hv_base.BaseHypervisor):
  """Instances as state files under the node's run directory."""

  NAME = "fake"
  PARAMETERS = hv_base.ParametersFromDefaults("fake", {
    paramdefs.HV_MIGRATION_MODE: hv_base.ParamCheck(True, hv_base.MIGRATION_MODE_CHECK),
  })
  CAN_MIGRATE = True

  def __init__(self, state_dir: Optional[str] = None,
               host_info: Optional[Callable[[], dict]] = None) -> None:
    """state_dir and host_info (the machine's figures) default to this node's."""
    self._dir = state_dir or DefaultStateDir()
    self._host_info = host_info

  # --- state files ---

  def _Path(self, name: str) -> str:
    if not name or "/" in name or name.startswith("."):
      raise errors.HypervisorError("Invalid instance name %r" % name)
    return os.path.join(self._dir, name)

  def _IsAlive(self, name: str) -> bool:
    return os.path.isfile(self._Path(name))

  def _Write(self, name: str, memory: int, vcpus: int) -> None:
    os.makedirs(self._dir, mode=0o775, exist_ok=True)
    io.WriteFile(self._Path(name), "%s\n%d\n%d\n" % (_INSTANCE_ID, memory, vcpus),
                 mode=0o600)

  @staticmethod
  def _Parse(name: str, text: str) -> hv_base.InstanceInfo:
    try:
      inst_id, memory, vcpus = text.split()[:3]
      return hv_base.InstanceInfo(name, inst_id, int(memory), int(vcpus),
                                  hv_base.HvInstanceState.RUNNING, 0)
    except ValueError:
      raise errors.HypervisorError("Invalid state of instance %s: %r" %
                                   (name, text)) from None

  def _Read(self, name: str) -> Optional[hv_base.InstanceInfo]:
    try:
      text = io.ReadFile(self._Path(name))
    except FileNotFoundError:
      return None
    except OSError as err:
      raise errors.HypervisorError("Failed to read state of instance %s: %s" %
                                   (name, err)) from None
    return self._Parse(name, text)

  # --- inventory ---

  def ListInstances(self, hvparams: Optional[dict] = None) -> list[str]:
    try:
      names = os.listdir(self._dir)
    except FileNotFoundError:
      return []
    except OSError as err:
      raise errors.HypervisorError("Failed to list instances: %s" % err) from None
    return sorted(name for name in names if not name.startswith("."))

  def GetInstanceInfo(self, instance_name: str,
                      hvparams: Optional[dict] = None) -> Optional[hv_base.InstanceInfo]:
    return self._Read(instance_name)

  def GetAllInstancesInfo(self, hvparams: Optional[dict] = None
                          ) -> list[hv_base.InstanceInfo]:
    infos = (self._Read(name) for name in self.ListInstances())
    return [info for info in infos if info is not None]

  def GetNodeInfo(self, hvparams: Optional[dict] = None) -> dict:
    """The machine's figures, less the memory of the instances running here."""
    result = dict((self._host_info or hv_base.HostNodeInfo)())
    used = sum(info.memory for info in self.GetAllInstancesInfo())
    result["memory_free"] = max(0, result["memory_free"] - used)
    return result

  def Verify(self, hvparams: Optional[dict] = None) -> Optional[str]:
    if os.path.exists(self._dir) and not os.access(self._dir, os.W_OK | os.X_OK):
      return "The required directory '%s' is not writable" % self._dir
    return None

  # --- lifecycle ---

  def StartInstance(self, instance: objects.Instance, block_devices: list,
                    startup_paused: bool) -> None:
    if self._IsAlive(instance.name):
      raise errors.HypervisorError("Failed to start instance %s: already running" %
                                   instance.name)
    free = self.GetNodeInfo()["memory_free"]
    self._Write(instance.name, self.StartupMemory(instance, free),
                instance.beparams[paramdefs.BE_VCPUS])

  def StopInstance(self, instance: objects.Instance, force: bool = False,
                   retry: bool = False, name: Optional[str] = None,
                   timeout: Optional[int] = None) -> None:
    name = name or instance.name
    if not self._IsAlive(name):
      raise errors.HypervisorError("Failed to stop instance %s: not running" % name)
    io.RemoveFile(self._Path(name))

  def RebootInstance(self, instance: objects.Instance) -> None:
    if not self._IsAlive(instance.name):
      raise errors.HypervisorError("Failed to reboot instance %s: not running" %
                                   instance.name)

  def BalloonInstanceMemory(self, instance: objects.Instance, mem: int) -> None:
    info = self._Read(instance.name)
    if info is None:
      raise errors.HypervisorError("Failed to balloon memory of instance %s: not"
                                   " running" % instance.name)
    self._Write(instance.name, mem, info.vcpus)

  # --- migration: the state file's content travels as the migration info ---

  def MigrationInfo(self, instance: objects.Instance) -> str:
    try:
      return io.ReadFile(self._Path(instance.name))
    except FileNotFoundError:
      raise errors.HypervisorError("Instance %s is not running" % instance.name) from None

  def AcceptInstance(self, instance: objects.Instance, info: str, target: str) -> None:
    if self._IsAlive(instance.name):
      raise errors.HypervisorError("Failed to accept instance %s: already running" %
                                   instance.name)
    if info:
      self._Parse(instance.name, info)

  def FinalizeMigrationDst(self, instance: objects.Instance, info: str,
                           success: bool) -> None:
    if not success:
      io.RemoveFile(self._Path(instance.name))
      return
    if info:
      state = self._Parse(instance.name, info)
      self._Write(instance.name, state.memory, state.vcpus)
    else:
      self._Write(instance.name, instance.beparams[paramdefs.BE_MAXMEM],
                  instance.beparams[paramdefs.BE_VCPUS])

  def MigrateInstance(self, cluster_name: str, instance: objects.Instance,
                      target: str, live: bool) -> None:
    if not self._IsAlive(instance.name):
      raise errors.HypervisorError("Failed to migrate instance %s: not running" %
                                   instance.name)

  def FinalizeMigrationSource(self, instance: objects.Instance, success: bool,
                              live: bool) -> None:
    # on failure the instance simply keeps running here
    if success:
      io.RemoveFile(self._Path(instance.name))

  def GetMigrationStatus(self, instance: objects.Instance) -> objects.MigrationStatus:
    return objects.MigrationStatus(status=constants.HV_MIGRATION_COMPLETED)

  # --- master side ---

  @classmethod
  def GetInstanceConsole(cls, instance: objects.Instance, primary_node: object,
                         node_group: object, hvparams: dict,
                         beparams: dict) -> hv_base.InstanceConsole:
    return hv_base.ConsoleMessage(instance, CONSOLE_MESSAGE)
