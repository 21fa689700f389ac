"""The node itself: version, resources, membership, crypto tokens, OS
definitions, and small utilities the master asks of every node."""

import errno
import logging
import os
import re
import secrets
import shutil
import socket
import stat
import time
from typing import Callable, Optional

from ganeti.constants import (
  CRYPTO_ACTION_CREATE,
  CRYPTO_ACTION_GET,
  CRYPTO_OPTION_CERT_FILE,
  CRYPTO_TYPE_SSL_DIGEST,
  ETC_HOSTS_ADD,
  ETC_HOSTS_REMOVE)
from ganeti import constants
from ganeti import errors
from ganeti import netutils
from ganeti import paramdefs
from ganeti import pathutils
from ganeti import ssh
from ganeti import ssconf
from ganeti import vcluster
from ganeti.backend import files
from ganeti.backend import master
from ganeti.backend import storage
from ganeti.backend.common import DaemonUtil, Fail, LocalPathBelow, RunCommand
from ganeti.utils import io
from ganeti.utils import x509

# Interface names missing from ganeti.constants (values as in Ganeti)
OS_SCRIPT_CREATE = "create"
OS_SCRIPT_CREATE_UNTRUSTED = "create_untrusted"
OS_SCRIPT_EXPORT = "export"
OS_SCRIPT_IMPORT = "import"
OS_SCRIPT_RENAME = "rename"
OS_SCRIPT_VERIFY = "verify"
OS_SCRIPTS = frozenset([OS_SCRIPT_CREATE, OS_SCRIPT_CREATE_UNTRUSTED, OS_SCRIPT_EXPORT,
                        OS_SCRIPT_IMPORT, OS_SCRIPT_RENAME, OS_SCRIPT_VERIFY])
OS_API_FILE = "ganeti_api_version"
OS_VARIANTS_FILE = "variants.list"
OS_PARAMETERS_FILE = "parameters.list"

BOOT_ID_FILE = "/proc/sys/kernel/random/boot_id"
MEMINFO_FILE = "/proc/meminfo"
CPUINFO_FILE = "/proc/cpuinfo"
POWERCYCLE_DELAY = 5  # seconds, so that the RPC answer still gets out
RESTRICTED_COMMAND_TIMEOUT = 3600
# A refused restricted command answers only after this, to slow down probing
RESTRICTED_COMMAND_FAIL_DELAY = 5
_RESTRICTED_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
# Daemons the master may switch on and off per node (node_ensure_daemon)
ENSURABLE_DAEMONS = frozenset(["ganeti-mond", "ganeti-kvmd"])
SSH_LOGIN_USER = "root"
X509_NAME_PREFIX = "x509-"
X509_CERT_CN = "ganeti.example.com"
_X509_NAME = re.compile(r"^x509-[0-9]+-[0-9a-f]+$")


def GetVersion() -> int:
  return constants.PROTOCOL_VERSION


def TestDelay(duration: float) -> None:
  """Sleeps (gnt-debug delay on the nodes)."""
  if not isinstance(duration, (int, float)) or duration < 0:
    Fail("Invalid sleep duration %r", duration)
  time.sleep(duration)


# --- resources ---------------------------------------------------------------

def _BootId() -> str:
  try:
    return io.ReadFile(BOOT_ID_FILE).strip()
  except OSError as err:
    Fail("Error reading boot id: %s", err)


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


def HostNodeInfo(_hvparams: Optional[dict] = None) -> dict[str, int]:
  """Memory (MiB) and CPUs of the machine, as a hypervisor without dom0 reports them."""
  mem = _ReadMeminfo()
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


# hypervisor name -> function(hvparams) returning its node information; the
# hypervisor modules register theirs here
HYPERVISOR_NODE_INFO: dict[str, Callable[[dict], dict]] = {
  constants.HT_FAKE: HostNodeInfo,
}
# hypervisor name -> function(hvparams) listing the names of running instances
HYPERVISOR_INSTANCE_LIST: dict[str, Callable[[dict], list[str]]] = {}
# hypervisor name -> function(hvparams) -> {name: (id, memory, vcpus, state, time)}
HYPERVISOR_INSTANCES_INFO: dict[str, Callable[[dict], dict]] = {}


def _HypervisorNodeInfo(hvname: str, hvparams: dict) -> dict:
  function = HYPERVISOR_NODE_INFO.get(hvname)
  if function is None:
    Fail("Hypervisor '%s' is not supported on this node", hvname)
  return function(hvparams or {})


def GetNodeInfo(storage_units: list, hv_specs: list) -> tuple[str, list, list]:
  """(boot id, storage space per unit, hypervisor information per spec)."""
  storage_info = [storage.StorageSpaceInfo(su_type, su_key, su_params or [])
                  for su_type, su_key, su_params in storage_units or []]
  hv_info = [_HypervisorNodeInfo(hvname, hvparams) for hvname, hvparams in hv_specs or []]
  return _BootId(), storage_info, hv_info


def GetInstanceList(hypervisor_list: list[str], hvparams: dict) -> list[str]:
  """Names of the instances running on this node under the given hypervisors."""
  names = []
  for hvname in hypervisor_list:
    function = HYPERVISOR_INSTANCE_LIST.get(hvname)
    if function is not None:
      names.extend(function((hvparams or {}).get(hvname, {})))
  return sorted(names)


def GetAllInstancesInfo(hypervisor_list: list[str], all_hvparams: dict) -> dict:
  """name -> {memory, vcpus, state, time} for every running instance."""
  result = {}
  for hvname in hypervisor_list:
    function = HYPERVISOR_INSTANCES_INFO.get(hvname)
    if function is None:
      continue
    for name, (_, memory, vcpus, state, cpu_time) in \
        function((all_hvparams or {}).get(hvname, {})).items():
      if name in result:
        Fail("Instance %s is running twice with different parameters", name)
      result[name] = {"memory": memory, "vcpus": vcpus, "state": state, "time": cpu_time}
  return result


def ValidateHypervisorParams(hvname: str, hvfull: dict) -> None:
  """Checks that a hypervisor's full parameter set only has parameters it knows."""
  defaults = paramdefs.HVC_DEFAULTS.get(hvname)
  if defaults is None:
    Fail("Unknown hypervisor '%s'", hvname)
  unknown = sorted(set(hvfull or {}) - set(defaults))
  if unknown:
    Fail("Unknown parameters for hypervisor %s: %s", hvname, ", ".join(unknown))


# --- addresses and names -----------------------------------------------------

def _VirtualNodeAddresses() -> set[str]:
  """The addresses a virtual node owns: its own, from ssconf, and the master IP."""
  own = set()
  hostname = netutils.GetHostname()
  try:
    own.add(netutils.ResolveHostname(hostname)[1])
  except errors.ResolverError:
    pass
  store = ssconf.SimpleStore()
  for reader in (store.GetNodePrimaryIPList, store.GetNodeSecondaryIPList):
    try:
      lines = reader()
    except errors.ConfigurationError:
      continue
    own.update(fields[1] for fields in (line.split() for line in lines)
               if len(fields) == 2 and fields[0] == hostname)
  active = master.ReadVirtualMasterIp()
  if active:
    own.add(active[0])
  return own


def _CanBind(address: str) -> bool:
  family = socket.AF_INET6 if netutils.IsValidIP6(address) else socket.AF_INET
  with socket.socket(family, socket.SOCK_DGRAM) as sock:
    try:
      sock.bind((address, 0))
    except OSError as err:
      if err.errno == errno.EADDRNOTAVAIL:
        return False
      raise
  return True


def NodeHasIpAddress(address: str) -> bool:
  """Whether this node owns the address."""
  if not (netutils.IsValidIP4(address) or netutils.IsValidIP6(address)):
    Fail("Invalid IP address '%s'", address)
  if vcluster.IsVirtualCluster():
    # every 127/8 address binds on the machine; only the node's own count
    return address in _VirtualNodeAddresses()
  return _CanBind(address)


def _WithoutName(line: str, names: set[str]) -> Optional[str]:
  """A hosts file line without the given names; None when nothing remains."""
  body, hash_mark, comment = line.partition("#")
  fields = body.split()
  if len(fields) < 2 or not names.intersection(fields[1:]):
    return line
  kept = [name for name in fields[1:] if name not in names]
  if not kept:
    return None
  return "\t".join([fields[0]] + kept) + (" " + hash_mark + comment if hash_mark else "")


def EtcHostsModify(mode: str, name: str, ip: Optional[str]) -> None:
  """Adds or removes a host name (and its short form) in the node's hosts file."""
  if not isinstance(name, str) or not name or any(ch.isspace() for ch in name):
    Fail("Invalid host name %r", name)
  names = {name, name.split(".")[0]}
  if mode == ETC_HOSTS_ADD:
    if not ip or not (netutils.IsValidIP4(ip) or netutils.IsValidIP6(ip)):
      Fail("Mode 'add' needs a valid 'ip' parameter, got %r", ip)
  elif mode != ETC_HOSTS_REMOVE:
    Fail("Mode '%s' is unknown", mode)
  path = pathutils.ETC_HOSTS
  try:
    old = io.TryReadFile(path) or ""
    perms = stat.S_IMODE(os.stat(path).st_mode) if os.path.exists(path) else 0o644
  except OSError as err:
    Fail("Can't read %s: %s", path, err)
  lines = [kept for kept in (_WithoutName(line, names) for line in old.splitlines())
           if kept is not None]
  if mode == ETC_HOSTS_ADD:
    lines.append("\t".join([ip] + sorted(names, key=len, reverse=True)))
  io.WriteFile(path, "\n".join(lines) + "\n", mode=perms)


def BridgesExist(bridges_list: list[str]) -> None:
  missing = [bridge for bridge in bridges_list
             if not os.path.isdir("/sys/class/net/%s/bridge" % bridge)]
  if missing:
    Fail("Missing bridges %s", ", ".join(missing))


# --- membership ----------------------------------------------------------------

def PowercycleNode(hypervisor: str, hvparams: dict) -> str:
  """Reboots the machine hard after a short delay (not in a virtual cluster)."""
  if vcluster.IsVirtualCluster():
    Fail("Refusing to power-cycle a node of a virtual cluster (it shares the machine)")
  pid = os.fork()
  if pid:
    return "Reboot scheduled in %d seconds" % POWERCYCLE_DELAY
  # the child: never returns into the daemon
  try:
    time.sleep(POWERCYCLE_DELAY)
    with open("/proc/sysrq-trigger", "w") as trigger:
      trigger.write("b")
  finally:
    os._exit(1)


def _MasterDaemonRunning() -> bool:
  return not DaemonUtil("check", constants.MASTERD).failed


def DemoteFromMasterCandidate() -> None:
  """Drops this node's copy of the configuration (no longer a candidate)."""
  master_name, myself = ssconf.GetMasterAndMyself()
  if master_name == myself:
    Fail("ssconf status shows I'm the master node, will not demote")
  if _MasterDaemonRunning():
    Fail("The master daemon is running, will not demote")
  config = pathutils.CLUSTER_CONF_FILE
  if not os.path.isfile(config):
    return
  backup = "%s.backup-%s" % (config, time.strftime("%Y-%m-%d_%H_%M_%S"))
  try:
    shutil.copy2(config, backup)
  except OSError as err:
    Fail("Error while backing up cluster file: %s", err)
  io.RemoveFile(config)


def _RemoveFilesIn(directory: str) -> None:
  try:
    names = os.listdir(directory)
  except FileNotFoundError:
    return
  for name in names:
    path = os.path.join(directory, name)
    if os.path.isfile(path) and not os.path.islink(path):
      io.RemoveFile(path)


def _ForgetOwnSshKeys() -> None:
  """Removes the node's own root SSH keys and their authorized_keys entries."""
  try:
    authorized, key_files = ssh.GetAllUserFiles(SSH_LOGIN_USER)
    for private, public in key_files.values():
      key = io.TryReadFile(public)
      if key:
        ssh.RemoveAuthorizedKeys(authorized, [key])
      io.RemoveFile(private)
      io.RemoveFile(public)
  except (OSError, errors.GenericError) as err:
    logging.error("Error while processing the user's SSH files: %s", err)


def LeaveCluster(modify_ssh_setup: bool) -> None:
  """Forgets the cluster: its files, its job queue copy, its daemons but noded.

  The node daemon answers and then shuts down (QuitGanetiException).
  """
  _RemoveFilesIn(pathutils.DATA_DIR)
  files.JobQueuePurge()
  for path in (pathutils.RAPI_USERS_FILE, pathutils.VNC_PASSWORD_FILE,
               master.MASTER_IP_STATE_FILE):
    io.RemoveFile(path)
  if modify_ssh_setup:
    _ForgetOwnSshKeys()
  for name in (constants.RAPI, constants.MASTERD, constants.CONFD):
    result = DaemonUtil("stop", name)
    if result.failed:
      logging.warning("Could not stop %s: %s", name, result.Describe())
  raise errors.QuitGanetiException(True, "Shutdown scheduled")


def EnsureDaemon(daemon: str, run: bool) -> None:
  """Starts or stops one of the optional daemons (mond, kvmd)."""
  if daemon not in ENSURABLE_DAEMONS:
    Fail("Daemon '%s' cannot be ensured", daemon)
  result = DaemonUtil("check-and-start" if run else "stop", daemon)
  if result.failed:
    Fail("Failed to %s daemon %s: %s", "start" if run else "stop", daemon,
         result.Describe())


# --- crypto --------------------------------------------------------------------

def _SslDigestToken(action: str, options: Optional[dict]) -> str:
  options = options or {}
  cert_file = pathutils.NODED_CLIENT_CERT_FILE
  if options.get(CRYPTO_OPTION_CERT_FILE):
    cert_file = LocalPathBelow(options[CRYPTO_OPTION_CERT_FILE],
                               pathutils.DATA_DIR, "certificate")
  if action == CRYPTO_ACTION_CREATE:
    # a new client certificate signed by the cluster certificate's key; its
    # serial number (CRYPTO_OPTION_SERIAL_NO) is chosen at random instead
    try:
      return x509.WriteSignedPem(cert_file, pathutils.NODED_CERT_FILE,
                                 netutils.GetHostname())
    except (OSError, ValueError) as err:
      Fail("Cannot create a new client certificate: %s", err)
  if action != CRYPTO_ACTION_GET:
    Fail("Action '%s' is not supported for token type '%s'", action,
         CRYPTO_TYPE_SSL_DIGEST)
  try:
    return x509.GetCertificateDigest(cert_file)
  except (OSError, ValueError) as err:
    Fail("Cannot read the certificate %s: %s", cert_file, err)


def GetCryptoTokens(token_request: list) -> list[tuple[str, str]]:
  """Answers [token type, action, options] requests with (type, value)."""
  tokens = []
  for token_type, action, options in token_request:
    if token_type != CRYPTO_TYPE_SSL_DIGEST:
      Fail("Token type '%s' not supported", token_type)
    tokens.append((token_type, _SslDigestToken(action, options)))
  return tokens


def CreateX509Certificate(validity: int) -> tuple[str, str]:
  """A new key and self-signed certificate kept on this node: (name, cert PEM)."""
  name = "%s%d-%s" % (X509_NAME_PREFIX, int(time.time()), secrets.token_hex(8))
  directory = os.path.join(pathutils.CRYPTO_KEYS_DIR, name)
  days = max(1, -(-int(validity) // 86400))
  pem = x509.GenerateSelfSignedPem(X509_CERT_CN, validity_days=days)
  os.makedirs(directory, mode=0o700)
  io.WriteFile(os.path.join(directory, "key"), pem, mode=0o400)
  cert = pem[pem.index("-----BEGIN CERTIFICATE-----"):]
  io.WriteFile(os.path.join(directory, "cert"), cert, mode=0o400)
  return name, cert


def RemoveX509Certificate(name: str) -> None:
  if not isinstance(name, str) or not _X509_NAME.match(name):
    Fail("Invalid certificate name %r", name)
  directory = os.path.join(pathutils.CRYPTO_KEYS_DIR, name)
  try:
    shutil.rmtree(directory)
  except OSError as err:
    Fail("Cannot remove certificate directory '%s': %s", directory, err)


# --- commands --------------------------------------------------------------------

def _RestrictedCommandPath(cmd: str) -> Optional[str]:
  """The program of a restricted command, or None if it may not run.

  The directory and the program must belong to us (root) and be writable by
  nobody else, or anybody could make the node run anything.
  """
  if not isinstance(cmd, str) or not _RESTRICTED_NAME.match(cmd):
    return None
  directory = pathutils.RESTRICTED_COMMANDS_DIR
  path = os.path.join(directory, cmd)
  for item, check in ((directory, stat.S_ISDIR), (path, stat.S_ISREG)):
    try:
      info = os.stat(item)
    except OSError:
      return None
    if (not check(info.st_mode) or info.st_uid != os.geteuid() or
        info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
      return None
  return path if os.access(path, os.X_OK) else None


def RunRestrictedCommand(cmd: str) -> str:
  """Runs one of the administrator's commands from the restricted directory."""
  path = _RestrictedCommandPath(cmd)
  result = None
  if path is not None:
    result = RunCommand([path], env={"PATH": constants.HOOKS_PATH},
                        timeout=RESTRICTED_COMMAND_TIMEOUT)
    if not result.failed:
      return result.stdout
  logging.error("Restricted command '%s' failed: %s", cmd,
                result.Describe() if result else "not allowed or not found")
  # the caller learns nothing about why, and only slowly
  time.sleep(RESTRICTED_COMMAND_FAIL_DELAY)
  Fail("Executing command '%s' failed", cmd, log=False)


def RunOob(oob_program: str, command: str, remote_node: str, timeout: int) -> str:
  """Runs the node's out-of-band program for another node; returns its output."""
  result = RunCommand([oob_program, command, remote_node], timeout=timeout)
  if result.failed:
    Fail("'%s' failed with reason '%s'; output: %s", " ".join(result.argv),
         result.fail_reason or "exited with status %s" % result.exit_code,
         result.output.strip())
  return result.stdout


# --- watcher pause and exports -------------------------------------------------

def GetWatcherPause() -> Optional[int]:
  """Until when the watcher is paused (seconds since the epoch), or None."""
  text = io.TryReadFile(pathutils.WATCHER_PAUSEFILE)
  try:
    until = int(float(text.strip())) if text else None
  except ValueError:
    logging.warning("Unparsable watcher pause file %s", pathutils.WATCHER_PAUSEFILE)
    return None
  return until if until is not None and until >= time.time() else None


def SetWatcherPause(until: Optional[float]) -> None:
  if until is None:
    io.RemoveFile(pathutils.WATCHER_PAUSEFILE)
    return
  if isinstance(until, bool) or not isinstance(until, (int, float)):
    Fail("Duration must be numeric")
  io.WriteFile(pathutils.WATCHER_PAUSEFILE, "%d\n" % until, mode=0o644)


def ListExports() -> list[str]:
  if not os.path.isdir(pathutils.EXPORT_DIR):
    Fail("No exports directory")
  return sorted(name for name in os.listdir(pathutils.EXPORT_DIR)
                if not name.startswith("."))


# --- OS definitions ----------------------------------------------------------

# OS files: name -> (first API version needing it, required from then on)
_OS_FILES = {
  OS_SCRIPT_CREATE: (constants.OS_API_V10, False),
  OS_SCRIPT_CREATE_UNTRUSTED: (constants.OS_API_V20, False),
  OS_SCRIPT_EXPORT: (constants.OS_API_V10, True),
  OS_SCRIPT_IMPORT: (constants.OS_API_V10, True),
  OS_SCRIPT_RENAME: (constants.OS_API_V10, True),
  OS_SCRIPT_VERIFY: (constants.OS_API_V15, False),
  OS_VARIANTS_FILE: (constants.OS_API_V15, False),
  OS_PARAMETERS_FILE: (constants.OS_API_V20, True),
}


class _OsError(Exception):
  """Why a directory is not a usable OS definition."""


def _ReadOsApiVersions(os_dir: str) -> list[int]:
  path = os.path.join(os_dir, OS_API_FILE)
  try:
    text = io.ReadFile(path)
  except OSError as err:
    raise _OsError("Required file '%s' not found under path %s: %s" %
                   (OS_API_FILE, os_dir, err.strerror)) from None
  try:
    versions = sorted({int(line) for line in text.split()})
  except ValueError:
    raise _OsError("API version(s) can't be converted to integer: %s" %
                   text.strip()) from None
  if not set(versions) & constants.OS_API_VERSIONS:
    raise _OsError("API version mismatch for path '%s': found %s, want %s." %
                   (os_dir, versions, sorted(constants.OS_API_VERSIONS)))
  return versions


def _LoadOs(os_dir: str) -> tuple[list[str], list[list[str]], list[int], bool]:
  """(variants, parameters [name, doc], api versions, trusted) of an OS dir."""
  versions = _ReadOsApiVersions(os_dir)
  newest = max(versions)
  present = {}
  for name, (since, required) in _OS_FILES.items():
    if newest < since:
      continue
    path = os.path.join(os_dir, name)
    try:
      info = os.stat(path)
    except OSError:
      if required:
        raise _OsError("File '%s' under path '%s' is missing" % (name, os_dir)) from None
      continue
    if not stat.S_ISREG(info.st_mode):
      raise _OsError("File '%s' under path '%s' is not a regular file" % (name, os_dir))
    if name in OS_SCRIPTS and not info.st_mode & stat.S_IXUSR:
      raise _OsError("File '%s' under path '%s' is not executable" % (name, os_dir))
    present[name] = path
  if not {OS_SCRIPT_CREATE, OS_SCRIPT_CREATE_UNTRUSTED} & set(present):
    raise _OsError("A create script (trusted or untrusted) is missing under path '%s'" %
                   os_dir)
  variants = []
  if OS_VARIANTS_FILE in present:
    variants = [line.strip() for line in
                io.ReadFile(present[OS_VARIANTS_FILE]).splitlines() if line.strip()]
    if not variants:
      raise _OsError("No supported os variant found")
  parameters = []
  if OS_PARAMETERS_FILE in present:
    for line in io.ReadFile(present[OS_PARAMETERS_FILE]).splitlines():
      if line.strip():
        name, _, doc = line.strip().partition(" ")
        parameters.append([name, doc.strip()])
  trusted = OS_SCRIPT_CREATE_UNTRUSTED not in present
  return variants, parameters, versions, trusted


def DiagnoseOS() -> list[tuple]:
  """Every OS definition found on the search path:
  (name, path, status, diagnose, variants, parameters, api versions, trusted)."""
  result = []
  for top in pathutils.OS_SEARCH_PATH:
    try:
      names = sorted(name for name in os.listdir(top) if not name.startswith("."))
    except OSError:
      continue
    for name in names:
      os_dir = os.path.join(top, name)
      try:
        variants, parameters, versions, trusted = _LoadOs(os_dir)
      except (_OsError, OSError) as err:
        result.append((name, os_dir, False, str(err), [], [], [], True))
        continue
      result.append((name, os_dir, True, "", variants, parameters, versions, trusted))
  return result


CALLS = {
  "version": GetVersion,
  "test_delay": TestDelay,
  "node_info": GetNodeInfo,
  "instance_list": GetInstanceList,
  "all_instances_info": GetAllInstancesInfo,
  "hypervisor_validate_params": ValidateHypervisorParams,
  "node_has_ip_address": NodeHasIpAddress,
  "etc_hosts_modify": EtcHostsModify,
  "bridges_exist": BridgesExist,
  "node_powercycle": PowercycleNode,
  "node_demote_from_mc": DemoteFromMasterCandidate,
  "node_leave_cluster": LeaveCluster,
  "node_ensure_daemon": EnsureDaemon,
  "node_crypto_tokens": GetCryptoTokens,
  "x509_cert_create": CreateX509Certificate,
  "x509_cert_remove": RemoveX509Certificate,
  "restricted_command": RunRestrictedCommand,
  "run_oob": RunOob,
  "get_watcher_pause": GetWatcherPause,
  "set_watcher_pause": SetWatcherPause,
  "export_list": ListExports,
  "os_diagnose": DiagnoseOS,
}
