"""OS definitions on a node: loading them from the OS search path, diagnosing
and validating them, and running their scripts (create, rename, verify,
export/import) with the environment of the guest OS interface (API 10, 15
and 20, see ganeti-os-interface(7)).

Scripts run with a clean environment in the OS directory; create and rename
write their output to a log file under the OS log directory.
"""

import dataclasses
import logging
import os
import subprocess
import tarfile
import tempfile
import time
from typing import Any, Optional

from ganeti import constants
from ganeti import errors
from ganeti import objects
from ganeti import paramdefs
from ganeti import pathutils
from ganeti import storage
from ganeti import vcluster
from ganeti.backend.common import CheckDefinitionFile, ErrnoName, Fail, LocalDisk
from ganeti.storage import base as storage_base
from ganeti.utils import cmdtrace
from ganeti.utils import io
from ganeti.constants import (
  OS_SCRIPT_CREATE, OS_SCRIPT_CREATE_UNTRUSTED, OS_SCRIPT_EXPORT, OS_SCRIPT_IMPORT,
  OS_SCRIPT_RENAME, OS_SCRIPT_VERIFY, OS_SCRIPTS, OS_API_FILE, OS_VARIANTS_FILE,
  OS_PARAMETERS_FILE, OS_VALIDATE_PARAMETERS, OS_VALIDATE_CALLS)

# Interface names missing from ganeti.constants (values as in Ganeti)
OS_VARIANT_SEPARATOR = "+"

# Log files of OS scripts: <kind>-<os>-<instance>[-<component>]-<timestamp>.log
OS_LOG_ADD = "add"
OS_LOG_RENAME = "rename"
OS_LOG_TIMESTAMP = "%Y-%m-%d_%H_%M_%S"
OS_LOG_TAIL_LINES = 20
OS_LOG_MODE = 0o600

# hypervisor parameters that name the device types guests see
HV_DISK_TYPE = "disk_type"
HV_NIC_TYPE = "nic_type"

# Files of an OS definition, in the order they are checked:
# (name, first API version having it, required from that version on)
_OS_FILES = (
  (OS_SCRIPT_EXPORT, constants.OS_API_V10, True),
  (OS_SCRIPT_IMPORT, constants.OS_API_V10, True),
  (OS_SCRIPT_RENAME, constants.OS_API_V10, True),
  (OS_SCRIPT_VERIFY, constants.OS_API_V20, True),
  (OS_SCRIPT_CREATE, constants.OS_API_V10, False),
  (OS_SCRIPT_CREATE_UNTRUSTED, constants.OS_API_V20, False),
  (OS_VARIANTS_FILE, constants.OS_API_V15, False),
  (OS_PARAMETERS_FILE, constants.OS_API_V20, True),
)


class OsError(Exception):
  """Why a directory is not a usable OS definition."""


@dataclasses.dataclass(frozen=True)
class OsDefinition:
  """A valid OS definition found on this node."""
  name: str
  path: str
  api_versions: list[int]         # as the API file lists them
  variants: list[str]             # as variants.list lists them
  parameters: list[list[str]]     # [name, documentation]
  files: dict[str, str]           # file name -> path, for the files present

  @property
  def trusted(self) -> bool:
    """Only an OS with just an untrusted create script needs an install helper."""
    return OS_SCRIPT_CREATE_UNTRUSTED not in self.files

  @property
  def api_version(self) -> int:
    """The newest API version both sides speak."""
    return max(constants.OS_API_VERSIONS.intersection(self.api_versions))

  def Script(self, script: str) -> Optional[str]:
    return self.files.get(script)


def SplitOsName(name: str) -> tuple[str, str]:
  """(OS name, variant or "") of "os+variant"."""
  base, _, variant = name.partition(OS_VARIANT_SEPARATOR)
  return base, variant


def _ListFile(path: str) -> list[str]:
  """Lines of a list file, without empty lines and comments."""
  return [line.strip() for line in io.ReadFile(path).splitlines()
          if line.strip() and not line.strip().startswith("#")]


def _ReadApiVersions(os_dir: str) -> list[int]:
  path = os.path.join(os_dir, OS_API_FILE)
  try:
    text = io.ReadFile(path)
  except OSError as err:
    raise OsError("Required file '%s' not found under path %s: %s" %
                  (OS_API_FILE, os_dir, ErrnoName(err))) from None
  try:
    versions = [int(word) for word in text.split()]
  except ValueError:
    raise OsError("API version(s) can't be converted to integer: %s" % text.strip()) from None
  if not constants.OS_API_VERSIONS.intersection(versions):
    raise OsError("API version mismatch for path '%s': found %s, want %s." %
                  (os_dir, versions, sorted(constants.OS_API_VERSIONS)))
  return versions


def _FindFiles(os_dir: str, newest: int) -> dict[str, str]:
  """The OS files present, checking that the required ones are there and usable."""
  present = {}
  for name, since, required in _OS_FILES:
    if newest < since:
      continue
    path = CheckDefinitionFile(os_dir, name, required, name in OS_SCRIPTS, OsError)
    if path is not None:
      present[name] = path
  if OS_SCRIPT_CREATE not in present and OS_SCRIPT_CREATE_UNTRUSTED not in present:
    raise OsError("A create script (trusted or untrusted) under path '%s' must exist" %
                  os_dir)
  return present


def LoadOs(name: str, os_dir: str) -> OsDefinition:
  """The OS definition in os_dir; OsError says why it is unusable."""
  versions = _ReadApiVersions(os_dir)
  present = _FindFiles(os_dir, max(versions))
  try:
    variants = (_ListFile(present[OS_VARIANTS_FILE]) if OS_VARIANTS_FILE in present
                else [])
    parameters = []
    if OS_PARAMETERS_FILE in present:
      for line in _ListFile(present[OS_PARAMETERS_FILE]):
        pname, *doc = line.split(None, 1)
        parameters.append([pname, doc[0] if doc else ""])
  except OSError as err:
    raise OsError("Error while reading the OS files under path '%s': %s" %
                  (os_dir, err)) from None
  return OsDefinition(name, os_dir, versions, variants, parameters, present)


def FindOs(name: str) -> OsDefinition:
  """The OS definition of an OS name (a variant suffix is ignored)."""
  base, _ = SplitOsName(name)
  for top in pathutils.OS_SEARCH_PATH:
    os_dir = os.path.join(top, base)
    if os.path.isdir(os_dir):
      return LoadOs(base, os_dir)
  raise OsError("Directory for OS %s not found in search path" % base)


def _FindOsOrFail(name: str) -> OsDefinition:
  try:
    return FindOs(name)
  except OsError as err:
    Fail(str(err))


def CheckVariant(definition: OsDefinition, name: str) -> None:
  """Fails unless the name's variant is one the OS supports (if it has any)."""
  if not definition.variants:
    return
  _, variant = SplitOsName(name)
  if not variant:
    Fail("OS name '%s' must include a variant", name, log=False)
  if variant not in definition.variants:
    Fail("OS '%s' does not support variant '%s'", definition.name, variant, log=False)


def DiagnoseOS() -> list[tuple]:
  """Every OS definition found on the search path: (name, path, status,
  diagnose, variants, parameters, api versions, trusted)."""
  result = []
  for top in pathutils.OS_SEARCH_PATH:
    try:
      names = sorted(os.listdir(top))
    except OSError:
      continue
    for name in names:
      os_dir = os.path.join(top, name)
      try:
        found = LoadOs(name, os_dir)
      except OsError as err:
        result.append((name, os_dir, False, str(err), [], [], [], True))
        continue
      result.append((name, os_dir, True, "", found.variants, found.parameters,
                     found.api_versions, found.trusted))
  return result


# --- the script environment ----------------------------------------------------

def OsCoreEnv(name: str, definition: OsDefinition, osparams: Optional[dict],
              debug: int = 0) -> dict[str, str]:
  """The variables every script of an OS gets, instance or not."""
  api = definition.api_version
  env = {
    "OS_API_VERSION": str(api),
    "OS_NAME": definition.name,
    "DEBUG_LEVEL": str(debug),
    "PATH": constants.HOOKS_PATH,
  }
  if api >= constants.OS_API_V15:
    _, variant = SplitOsName(name)
    if not variant and definition.variants:
      variant = definition.variants[0]
    env["OS_VARIANT"] = variant
  if api >= constants.OS_API_V20:
    for pname, value in (osparams or {}).items():
      env["OSP_%s" % pname.upper().replace("-", "_")] = str(value)
  return env


def _FindDevice(disk: objects.Disk) -> Optional[Any]:
  """The disk's block device on this node (children first), or None."""
  children = [_FindDevice(child) for child in disk.children or ()]
  try:
    return storage.FindDevice(disk, children)
  except errors.BlockDeviceError:
    return None


def _DevicePath(disk: objects.Disk) -> str:
  """Where this node sees the data of a disk, opened for use by the scripts."""
  device = _FindDevice(LocalDisk(disk))
  if device is None or not device.dev_path:
    Fail("Block device '%s' is not set up", storage_base.DescribeDisk(disk))
  device.Open()
  return device.dev_path


def _DiskEnv(index: int, disk: objects.Disk, hvparams: dict) -> dict[str, str]:
  prefix = "DISK_%d_" % index
  env = {
    prefix + "PATH": _DevicePath(disk),
    prefix + "ACCESS": disk.mode or objects.DISK_RDWR,
    prefix + "SIZE": str(disk.size),
  }
  if disk.uuid:
    env[prefix + "UUID"] = disk.uuid
  if disk.name:
    env[prefix + "NAME"] = disk.name
  if disk.dev_type in (constants.DT_FILE, constants.DT_SHARED_FILE):
    env[prefix + "BACKEND_TYPE"] = "file:%s" % disk.logical_id[0]
  else:
    env[prefix + "BACKEND_TYPE"] = "block"
  if hvparams.get(HV_DISK_TYPE):
    env[prefix + "FRONTEND_TYPE"] = hvparams[HV_DISK_TYPE]
  return env


# network attribute -> variable suffix, for NICs on a network
_NETWORK_VARIABLES = (
  ("name", "NETWORK_NAME"),
  ("uuid", "NETWORK_UUID"),
  ("network", "NETWORK_SUBNET"),
  ("gateway", "NETWORK_GATEWAY"),
  ("network6", "NETWORK_SUBNET6"),
  ("gateway6", "NETWORK_GATEWAY6"),
  ("mac_prefix", "NETWORK_MAC_PREFIX"),
)


def _NicEnv(index: int, nic: objects.NIC, hvparams: dict) -> dict[str, str]:
  prefix = "NIC_%d_" % index
  params = nic.nicparams or {}
  env = {prefix + "MAC": nic.mac or "", prefix + "UUID": nic.uuid or ""}
  if nic.name:
    env[prefix + "NAME"] = nic.name
  if nic.ip:
    env[prefix + "IP"] = nic.ip
  mode = params.get(paramdefs.NIC_MODE, "")
  env[prefix + "MODE"] = mode
  env[prefix + "LINK"] = params.get(paramdefs.NIC_LINK, "")
  if mode == paramdefs.NIC_MODE_BRIDGED:
    env[prefix + "BRIDGE"] = params.get(paramdefs.NIC_LINK, "")
  if params.get(paramdefs.NIC_VLAN):
    env[prefix + "VLAN"] = params[paramdefs.NIC_VLAN]
  if nic.netinfo:
    for key, suffix in _NETWORK_VARIABLES:
      if nic.netinfo.get(key):
        env[prefix + suffix] = str(nic.netinfo[key])
    env[prefix + "NETWORK_FAMILY"] = "6" if nic.netinfo.get("network6") and \
      not nic.netinfo.get("network") else "4"
    if nic.netinfo.get("tags"):
      env[prefix + "NETWORK_TAGS"] = " ".join(nic.netinfo["tags"])
  if hvparams.get(HV_NIC_TYPE):
    env[prefix + "FRONTEND_TYPE"] = hvparams[HV_NIC_TYPE]
  return env


def OsEnvironment(instance: objects.Instance, definition: OsDefinition,
                  debug: int = 0) -> dict[str, str]:
  """The environment of an OS script working on an instance."""
  osparams = dict(instance.osparams or {})
  osparams.update(instance.osparams_private or {})
  env = OsCoreEnv(instance.os, definition, osparams, debug)
  disks = instance.disks_info or []
  secondaries = sorted({node for disk in disks for node in disk.nodes or ()} -
                       {instance.primary_node})
  env.update({
    "INSTANCE_NAME": instance.name,
    "INSTANCE_OS": instance.os,
    "INSTANCE_UUID": instance.uuid,
    "INSTANCE_CTIME": str(instance.ctime),
    "INSTANCE_MTIME": str(instance.mtime),
    "INSTANCE_PRIMARY_NODE": instance.primary_node,
    "INSTANCE_SECONDARY_NODES": " ".join(secondaries),
    "HYPERVISOR": instance.hypervisor,
    "DISK_COUNT": str(len(disks)),
    "NIC_COUNT": str(len(instance.nics)),
  })
  hvparams = instance.hvparams or {}
  for index, disk in enumerate(disks):
    env.update(_DiskEnv(index, disk, hvparams))
  for index, nic in enumerate(instance.nics):
    env.update(_NicEnv(index, nic, hvparams))
  for family, params in (("HV", hvparams), ("BE", instance.beparams or {})):
    for pname, value in params.items():
      env["INSTANCE_%s_%s" % (family, pname)] = str(value)
  return env


# --- running scripts -------------------------------------------------------------

def InstanceLogName(kind: str, os_name: str, instance: str,
                    component: Optional[str] = None) -> str:
  """A new log file for an OS script run on an instance."""
  base = "%s-%s-%s%s-%s.log" % (kind, os_name, instance,
                                "-%s" % component if component is not None else "",
                                time.strftime(OS_LOG_TIMESTAMP))
  return os.path.join(pathutils.LOG_OS_DIR, base)


def _FailReason(returncode: int) -> str:
  if returncode < 0:
    return "terminated by signal %d" % -returncode
  return "exited with exit code %d" % returncode


def _TailFile(path: str, lines: int = OS_LOG_TAIL_LINES) -> str:
  text = io.TryReadFile(path) or ""
  return "\n".join(text.splitlines()[-lines:])


def _RunLogged(argv: list[str], env: dict[str, str], cwd: str, logfile: str) -> Optional[str]:
  """Runs a script, its output going to logfile; None, or why it failed."""
  os.makedirs(os.path.dirname(logfile), mode=0o750, exist_ok=True)
  fd = os.open(logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, OS_LOG_MODE)
  with os.fdopen(fd, "w") as log:
    try:
      proc = cmdtrace.RunProcess(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
                                 stderr=subprocess.STDOUT)
    except OSError as err:
      return "could not be run: %s" % err
  return None if proc.returncode == 0 else _FailReason(proc.returncode)


def _InstanceFromDict(data: Any) -> objects.Instance:
  if not isinstance(data, dict):
    Fail("Invalid instance description %r", data)
  return objects.Instance.FromDict(data)


def InstanceOsAdd(instance_data: dict, reinstall: bool, debug: int) -> None:
  """Runs the OS create script of an instance (install or reinstall)."""
  instance = _InstanceFromDict(instance_data)
  definition = _FindOsOrFail(instance.os)
  script = definition.Script(OS_SCRIPT_CREATE)
  if script is None:
    Fail("OS '%s' has only an untrusted create script; it can only be installed"
         " with an install image", definition.name)
  env = OsEnvironment(instance, definition, debug)
  if reinstall:
    env["INSTANCE_REINSTALL"] = "1"
  logfile = InstanceLogName(OS_LOG_ADD, instance.os, instance.name)
  reason = _RunLogged([script], env, definition.path, logfile)
  if reason is not None:
    logging.error("OS create script failed (%s) for instance %s, log file %s", reason,
                  instance.name, logfile)
    Fail("OS create script failed (%s), last lines in the log file:\n%s", reason,
         _TailFile(logfile), log=False)


def InstanceRunRename(instance_data: dict, old_name: str, debug: int) -> None:
  """Runs the OS rename script after the instance got its new name."""
  instance = _InstanceFromDict(instance_data)
  definition = _FindOsOrFail(instance.os)
  env = OsEnvironment(instance, definition, debug)
  env["OLD_INSTANCE_NAME"] = old_name
  logfile = InstanceLogName(OS_LOG_RENAME, instance.os,
                            "%s-%s" % (old_name, instance.name))
  reason = _RunLogged([definition.files[OS_SCRIPT_RENAME]], env, definition.path, logfile)
  if reason is not None:
    logging.error("OS rename script failed (%s) for instance %s, log file %s", reason,
                  instance.name, logfile)
    Fail("OS rename script failed (%s), last lines in the log file:\n%s", reason,
         _TailFile(logfile), log=False)


def ValidateOS(required: bool, name: str, checks: list[str], params: dict,
               force_variant: bool) -> bool:
  """Checks an OS (variant, parameters, its verify script) on this node.

  Returns False if the OS is not here and not required, True once validated.
  """
  try:
    definition = FindOs(name)
  except OsError as err:
    if required:
      Fail(str(err), log=False)
    return False
  if not force_variant:
    CheckVariant(definition, name)
  if definition.api_version < constants.OS_API_V20:
    return True
  unknown_checks = sorted(set(checks or []) - OS_VALIDATE_CALLS)
  if unknown_checks:
    Fail("Unknown checks required for OS %s: %s", name, ", ".join(unknown_checks))
  params = params or {}
  if OS_VALIDATE_PARAMETERS in (checks or []):
    known = {pname for pname, _ in definition.parameters}
    unknown = sorted(set(params) - known)
    if unknown:
      Fail("The following parameters are not supported by the OS %s: %s",
           definition.name, ", ".join(unknown), log=False)
  env = OsCoreEnv(name, definition, params)
  argv = [definition.files[OS_SCRIPT_VERIFY]] + list(checks or [])
  try:
    proc = cmdtrace.RunProcess(argv, env=env, cwd=definition.path, stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, errors="replace")
  except OSError as err:
    Fail("OS validation script failed (could not be run: %s), output: ", err)
  if proc.returncode != 0:
    logging.error("OS validation script of %s failed: %s", name, proc.stdout + proc.stderr)
    Fail("OS validation script failed (%s), output: %s", _FailReason(proc.returncode),
         proc.stdout + proc.stderr, log=False)
  return True


# --- export and import ---------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DiskScript:
  """How to run an OS export or import script for one disk of an instance."""
  argv: list[str]
  env: dict[str, str]
  cwd: str
  logfile: str


def DiskScriptCommand(kind: str, instance_data: dict, disk_index: int,
                      debug: int = 0) -> DiskScript:
  """The export (disk image to stdout) or import (from stdin) script of a disk.

  For the backups' import/export daemon: the script reads or writes the
  disk's data, the daemon moves it between nodes.
  """
  if kind not in (OS_SCRIPT_EXPORT, OS_SCRIPT_IMPORT):
    Fail("Unknown OS disk script '%s'", kind)
  instance = _InstanceFromDict(instance_data)
  definition = _FindOsOrFail(instance.os)
  env = OsEnvironment(instance, definition, debug)
  disks = instance.disks_info or []
  if not 0 <= disk_index < len(disks):
    Fail("Instance %s has no disk %s", instance.name, disk_index)
  prefix = kind.upper()
  path = env["DISK_%d_PATH" % disk_index]
  env.update({prefix + "_INDEX": str(disk_index), prefix + "_DISK_PATH": path,
              prefix + "_DEVICE": path})
  return DiskScript([definition.files[kind]], env, definition.path,
                    InstanceLogName(kind, instance.os, instance.name, str(disk_index)))


OS_PACKAGE_ENV_FILE = "environment"
OS_PACKAGE_OS_DIR = "os"


def ExportOS(instance_data: dict, override_env: Optional[dict]) -> str:
  """Packs the instance's OS definition and its script environment.

  The package (gzipped tar: the OS directory as "os/", the variables in
  "environment") is for installing the OS from outside the node (helper VMs);
  returns its path.
  """
  instance = _InstanceFromDict(instance_data)
  definition = _FindOsOrFail(instance.os)
  env = OsEnvironment(instance, definition)
  env.update(override_env or {})
  text = "".join("%s=%s\n" % item for item in sorted(env.items()))
  fd, package = tempfile.mkstemp(suffix=".tgz", dir=pathutils.RUN_DIR)
  os.close(fd)
  try:
    with tarfile.open(package, "w:gz", dereference=True) as tar:
      tar.add(definition.path, arcname=OS_PACKAGE_OS_DIR)
      with tempfile.NamedTemporaryFile("w", dir=pathutils.RUN_DIR) as env_file:
        env_file.write(text)
        env_file.flush()
        tar.add(env_file.name, arcname=OS_PACKAGE_ENV_FILE)
  except OSError as err:
    io.RemoveFile(package)
    Fail("Cannot create the OS package of instance %s: %s", instance.name, err)
  return vcluster.MakeVirtualPath(package)


CALLS = {
  "os_diagnose": DiagnoseOS,
  "os_validate": ValidateOS,
  "instance_os_add": InstanceOsAdd,
  "instance_run_rename": InstanceRunRename,
  "os_export": ExportOS,
}
