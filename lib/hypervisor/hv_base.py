"""The interface every hypervisor implements, and what they share.

A hypervisor object acts on the node it runs on (start, stop, list, migrate
instances); its classmethods (parameter syntax, console) are used by the master
without touching any node.
"""

import os
from typing import Any, Callable, NamedTuple, Optional, Sequence

from ganeti import errors
from ganeti import objects
from ganeti import paramdefs
from ganeti import vcluster
from ganeti.utils import io
from ganeti.constants import CONS_ALL, CONS_MESSAGE, CONS_SPICE, CONS_SSH, CONS_VNC
# still read here by instance_migration (moving to ganeti.constants)
from ganeti.constants import (  # pylint: disable=unused-import
  HV_MIGRATION_ACTIVE, HV_MIGRATION_FAILED_STATUSES)

MEMINFO_FILE = "/proc/meminfo"
CPUINFO_FILE = "/proc/cpuinfo"

# Migration states (constants HV_MIGRATION_*)

# Hotplug (constants HOTPLUG_*)

# Console kinds (constants CONS_*)


class HvInstanceState:
  """The "state" a hypervisor reports for an instance it knows."""
  RUNNING = 0
  SHUTDOWN = 1  # stopped from inside (user shutdown), still known to the hypervisor

  @staticmethod
  def IsRunning(state: int) -> bool:
    return state == HvInstanceState.RUNNING

  @staticmethod
  def IsShutdown(state: int) -> bool:
    return state == HvInstanceState.SHUTDOWN


class InstanceInfo(NamedTuple):
  """One running instance as a hypervisor lists it."""
  name: str
  id: str
  memory: int  # MiB
  vcpus: int
  state: int  # HvInstanceState
  time: float  # CPU seconds used


class InstanceConsole(objects.ConfigObject):
  """How to reach an instance's console (kind is one of CONS_ALL)."""
  FIELDS = ("instance", "kind", "message", "host", "port", "user", "command", "display")
  __slots__ = FIELDS

  # kind -> fields that must be set
  _REQUIRED = {
    CONS_MESSAGE: ("message",),
    CONS_SSH: ("host", "user", "command"),
    CONS_VNC: ("host", "port", "display"),
    CONS_SPICE: ("host", "port"),
  }

  def Validate(self) -> None:
    """Raises ProgrammerError unless the console description is complete."""
    if self.kind not in CONS_ALL:
      raise errors.ProgrammerError("Unknown console kind %r" % self.kind)
    missing = [name for name in ("instance",) + self._REQUIRED[self.kind]
               if getattr(self, name) is None]
    if missing:
      raise errors.ProgrammerError("Console of kind %s lacks %s" %
                                   (self.kind, ", ".join(missing)))


# --- parameter checks ----------------------------------------------------------

class ParamCheck(NamedTuple):
  """How one hypervisor parameter is checked.

  required: the value may not be empty; syntax: (predicate, message) checked on
  the master, or None; node: (predicate, message) checked on the node that
  will run instances, or None.
  """
  required: bool = False
  syntax: Optional[tuple[Callable[[Any], bool], str]] = None
  node: Optional[tuple[Callable[[Any], bool], str]] = None


def OneOf(values: Sequence[Any],
          message: Optional[str] = None) -> tuple[Callable[[Any], bool], str]:
  """A syntax check that the value is one of values (listed in the message)."""
  allowed = frozenset(values)
  return (lambda value: value in allowed,
          message or "The value must be one of: %s" % ", ".join(map(str, values)))


def _IsAbsPath(value: Any) -> bool:
  return isinstance(value, str) and os.path.isabs(value) and os.path.normpath(value) == value


def _IsPort(value: Any) -> bool:
  return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536


def _IsNonNegativeInt(value: Any) -> bool:
  return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# Checks and their messages as Ganeti words them
ABS_PATH_CHECK = (_IsAbsPath, "must be an absolute normalized path")
NET_PORT_CHECK = (_IsPort, "invalid port number")
NON_NEGATIVE_INT_CHECK = (_IsNonNegativeInt, "cannot be negative")
MIGRATION_MODE_CHECK = OneOf(sorted(paramdefs.HT_MIGRATION_MODES), "invalid migration mode")


def _IsUnspecified(value: Any) -> bool:
  return value is None or value == ""


def CheckParameters(parameters: dict[str, ParamCheck], hvparams: dict,
                    where: str) -> None:
  """Applies the where ("syntax" or "node") checks of a parameter table."""
  for name in hvparams:
    if name not in parameters:
      raise errors.HypervisorError("Parameter '%s' is not supported" % name)
  for name, spec in parameters.items():
    if where == "syntax" and name not in hvparams:
      raise errors.HypervisorError("Parameter '%s' is missing" % name)
    value = hvparams.get(name)
    if _IsUnspecified(value):
      if where == "syntax" and spec.required:
        raise errors.HypervisorError("Parameter '%s' is required but is currently"
                                     " not defined" % name)
      continue
    check = getattr(spec, where)
    if check is not None and not check[0](value):
      raise errors.HypervisorError("Parameter '%s' fails %s check: %s (current value:"
                                   " '%s')" % (name, "syntax" if where == "syntax"
                                               else "validation", check[1], value))


# --- the node's resources --------------------------------------------------------

def _ReadMeminfo() -> dict[str, int]:
  """/proc/meminfo in MiB per field."""
  values = {}
  for line in io.ReadFile(MEMINFO_FILE).splitlines():
    key, _, rest = line.partition(":")
    fields = rest.split()
    if fields and fields[0].isdigit():
      values[key] = int(fields[0]) // 1024  # kB
  return values


def _CpuSockets() -> int:
  """Distinct physical packages listed in /proc/cpuinfo (at least one)."""
  ids = set()
  for line in (io.TryReadFile(CPUINFO_FILE) or "").splitlines():
    key, _, value = line.partition(":")
    if key.strip() == "physical id":
      ids.add(value.strip())
  return max(1, len(ids))


def HostNodeInfo() -> dict[str, int]:
  """Memory (MiB) and CPUs of the machine, as a hypervisor without dom0 reports them."""
  try:
    mem = _ReadMeminfo()
  except OSError as err:
    raise errors.HypervisorError("Failed to list node info: %s" % err) from None
  total = mem.get("MemTotal", 0)
  free = mem.get("MemAvailable",
                 mem.get("MemFree", 0) + mem.get("Buffers", 0) + mem.get("Cached", 0))
  cpus = os.cpu_count() or 1
  return {
    "memory_total": total,
    "memory_free": free,
    "memory_dom0": total - free,
    "cpu_total": cpus,
    "cpu_nodes": 1,
    "cpu_sockets": _CpuSockets(),
    "cpu_dom0": cpus,
  }


# --- the interface -------------------------------------------------------------------

class BaseHypervisor:
  """What every hypervisor implements; node-side methods act on this node."""

  NAME: str = ""
  # parameter name -> ParamCheck; the names are those of paramdefs.HVC_DEFAULTS
  PARAMETERS: dict[str, ParamCheck] = {}
  CAN_MIGRATE = False
  # files the hypervisor needs on every node (copied by the master), and the
  # subset of them that may be missing
  ANCILLARY_FILES: list[str] = []
  ANCILLARY_FILES_OPT: list[str] = []

  # --- lifecycle (node) ---

  def StartInstance(self, instance: objects.Instance, block_devices: list,
                    startup_paused: bool) -> None:
    """Starts an instance; block_devices: (disk, link path, uri) per disk."""
    raise NotImplementedError

  def StopInstance(self, instance: objects.Instance, force: bool = False,
                   retry: bool = False, name: Optional[str] = None,
                   timeout: Optional[int] = None) -> None:
    """Stops an instance (name overrides instance.name for cleanups)."""
    raise NotImplementedError

  def CleanupInstance(self, instance_name: str) -> None:
    """Removes what a stopped instance left behind."""

  def RebootInstance(self, instance: objects.Instance) -> None:
    """Reboots an instance from inside (soft reboot)."""
    raise NotImplementedError

  def BalloonInstanceMemory(self, instance: objects.Instance, mem: int) -> None:
    """Changes a running instance's memory to mem MiB."""
    raise NotImplementedError

  # --- inventory (node) ---

  def ListInstances(self, hvparams: Optional[dict] = None) -> list[str]:
    raise NotImplementedError

  def GetInstanceInfo(self, instance_name: str,
                      hvparams: Optional[dict] = None) -> Optional[InstanceInfo]:
    """The instance's InstanceInfo, or None when it does not run here."""
    raise NotImplementedError

  def GetAllInstancesInfo(self, hvparams: Optional[dict] = None) -> list[InstanceInfo]:
    raise NotImplementedError

  def GetNodeInfo(self, hvparams: Optional[dict] = None) -> dict:
    """Memory and CPU figures: memory_total, memory_free, memory_dom0, cpu_*."""
    raise NotImplementedError

  def Verify(self, hvparams: Optional[dict] = None) -> Optional[str]:
    """None when the hypervisor is usable on this node, else the problem."""
    return None

  def VerifyInstance(self, instance: objects.Instance) -> bool:
    """Whether a running instance is in a consistent state."""
    return True

  def PowercycleNode(self, hvparams: Optional[dict] = None) -> None:
    """Power-cycles the node; a node sharing its machine never does."""
    if vcluster.IsVirtualCluster():
      raise errors.HypervisorError("Refusing to power-cycle a node of a virtual"
                                   " cluster (it shares the machine)")
    with open("/proc/sysrq-trigger", "w") as trigger:
      trigger.write("b")

  # --- migration (node) ---

  def MigrationInfo(self, instance: objects.Instance) -> str:
    """Opaque data the source gives the target (accept and finalize)."""
    return ""

  def AcceptInstance(self, instance: objects.Instance, info: str, target: str) -> None:
    """Prepares the target node to receive the instance."""

  def FinalizeMigrationDst(self, instance: objects.Instance, info: str,
                           success: bool) -> None:
    """Completes (success) or undoes the reception on the target node."""

  def MigrateInstance(self, cluster_name: str, instance: objects.Instance,
                      target: str, live: bool) -> None:
    """Sends the instance to the target node (address)."""
    raise NotImplementedError

  def FinalizeMigrationSource(self, instance: objects.Instance, success: bool,
                              live: bool) -> None:
    """Cleans up (success) or resumes the instance on the source node."""

  def GetMigrationStatus(self, instance: objects.Instance) -> objects.MigrationStatus:
    raise NotImplementedError

  @classmethod
  def VersionsSafeForMigration(cls, src: list, target: list) -> bool:
    """Whether an instance may migrate between these hypervisor versions."""
    return True

  # --- hotplug (node) ---

  def HotplugSupported(self, instance: objects.Instance) -> None:
    """Raises HotplugError unless the running instance supports hotplug."""
    raise errors.HotplugError("Hotplug is not supported by this hypervisor")

  def VerifyHotplugSupport(self, instance: objects.Instance, action: str,
                           dev_type: str) -> None:
    """Raises HotplugError unless action on dev_type devices can be hotplugged."""
    raise errors.HotplugError("Hotplug is not supported.")

  def HotAddDevice(self, instance: objects.Instance, dev_type: str, device: Any,
                   extra: Any, seq: int) -> Any:
    raise errors.HotplugError("Hotplug is not supported.")

  def HotDelDevice(self, instance: objects.Instance, dev_type: str, device: Any,
                   extra: Any, seq: int) -> Any:
    raise errors.HotplugError("Hotplug is not supported.")

  def HotModDevice(self, instance: objects.Instance, dev_type: str, device: Any,
                   extra: Any, seq: int) -> Any:
    raise errors.HotplugError("Hotplug is not supported.")

  # --- master side ---

  @classmethod
  def CheckParameterSyntax(cls, hvparams: dict) -> None:
    """Checks a full parameter set without touching any node (on the master)."""
    CheckParameters(cls.PARAMETERS, hvparams, "syntax")

  def ValidateParameters(self, hvparams: dict) -> None:
    """Checks a full parameter set against this node (files exist, ...)."""
    CheckParameters(self.PARAMETERS, hvparams, "node")

  @classmethod
  def GetInstanceConsole(cls, instance: objects.Instance, primary_node: Any,
                         node_group: Any, hvparams: dict,
                         beparams: dict) -> InstanceConsole:
    raise NotImplementedError

  @classmethod
  def GetAncillaryFiles(cls) -> tuple[list[str], list[str]]:
    """(files every node needs, the subset that may be missing)."""
    return list(cls.ANCILLARY_FILES), list(cls.ANCILLARY_FILES_OPT)

  # --- helpers for implementations ---

  @staticmethod
  def StartupMemory(instance: objects.Instance, free_memory: int) -> int:
    """The memory an instance starts with: its maximum if the node has it,
    else what the node has, but never below its minimum."""
    beparams = instance.beparams or {}
    maxmem = beparams[paramdefs.BE_MAXMEM]
    minmem = beparams.get(paramdefs.BE_MINMEM, maxmem)
    return min(maxmem, max(minmem, free_memory))


def ParametersFromDefaults(hv_name: str,
                           checks: Optional[dict[str, ParamCheck]] = None
                           ) -> dict[str, ParamCheck]:
  """A parameter table for every parameter paramdefs gives hv_name, with
  checks for some of them; the others only need to be present."""
  checks = checks or {}
  unknown = set(checks) - set(paramdefs.HVC_DEFAULTS[hv_name])
  if unknown:
    raise errors.ProgrammerError("Checks for unknown %s parameters: %s" %
                                 (hv_name, ", ".join(sorted(unknown))))
  return {name: checks.get(name, ParamCheck())
          for name in sorted(paramdefs.HVC_DEFAULTS[hv_name])}


def ConsoleMessage(instance: objects.Instance, message: str) -> InstanceConsole:
  return InstanceConsole(instance=instance.name, kind=CONS_MESSAGE, message=message)
