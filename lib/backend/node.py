"""The node itself: version, resources, membership, crypto tokens, and small
utilities the master asks of every node."""

import errno
import logging
import os
import re
import secrets
import shutil
import socket
import stat
import time
from typing import Optional

from ganeti.constants import (
  CRYPTO_ACTION_CREATE,
  CRYPTO_ACTION_GET,
  CRYPTO_OPTION_CERT_FILE,
  CRYPTO_TYPE_SSL_DIGEST,
  ETC_HOSTS_ADD,
  ETC_HOSTS_REMOVE)
from ganeti import constants
from ganeti import errors
from ganeti import hypervisor
from ganeti import netutils
from ganeti import pathutils
from ganeti import ssh
from ganeti import ssconf
from ganeti import vcluster
from ganeti.backend import files
from ganeti.backend import master
from ganeti.backend import storage
from ganeti.backend.common import (DaemonUtil, Fail, LocalPathBelow, MissingBridges,
                                   RunCommand)
from ganeti.hypervisor import hv_base
from ganeti.utils import io
from ganeti.utils import x509

BOOT_ID_FILE = "/proc/sys/kernel/random/boot_id"
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


def _NodeHypervisor(hvname: str) -> hv_base.BaseHypervisor:
  try:
    return hypervisor.GetHypervisor(hvname)
  except errors.HypervisorError as err:
    Fail(str(err))


def _HypervisorNodeInfo(hvname: str, hvparams: Optional[dict]) -> dict:
  try:
    return _NodeHypervisor(hvname).GetNodeInfo(hvparams or {})
  except errors.HypervisorError as err:
    Fail("Error getting node information from hypervisor %s: %s", hvname, err)


def GetNodeInfo(storage_units: list, hv_specs: list) -> tuple[str, list, list]:
  """(boot id, storage space per unit, hypervisor information per spec)."""
  storage_info = [storage.StorageSpaceInfo(su_type, su_key, su_params or [])
                  for su_type, su_key, su_params in storage_units or []]
  hv_info = [_HypervisorNodeInfo(hvname, hvparams) for hvname, hvparams in hv_specs or []]
  return _BootId(), storage_info, hv_info


def _RunningInstances(hvname: str, hvparams: Optional[dict]) -> list[hv_base.InstanceInfo]:
  try:
    return _NodeHypervisor(hvname).GetAllInstancesInfo(hvparams or {})
  except errors.HypervisorError as err:
    Fail("Error enumerating instances (hypervisor %s): %s", hvname, err)


def GetInstanceList(hypervisor_list: list[str], hvparams: Optional[dict]) -> list[str]:
  """Names of the instances running on this node under the given hypervisors."""
  names = []
  for hvname in hypervisor_list:
    try:
      names.extend(_NodeHypervisor(hvname).ListInstances((hvparams or {}).get(hvname)))
    except errors.HypervisorError as err:
      Fail("Error enumerating instances (hypervisor %s): %s", hvname, err)
  return names


def GetAllInstancesInfo(hypervisor_list: list[str], all_hvparams: Optional[dict]) -> dict:
  """name -> {memory, vcpus, state, time} for every running instance."""
  result: dict[str, dict] = {}
  for hvname in hypervisor_list:
    for info in _RunningInstances(hvname, (all_hvparams or {}).get(hvname)):
      values = {"memory": info.memory, "vcpus": info.vcpus, "state": info.state,
                "time": info.time}
      if info.name in result and result[info.name] != values:
        Fail("Instance %s is running twice with different parameters", info.name)
      result[info.name] = values
  return result


def ValidateHypervisorParams(hvname: str, hvfull: dict) -> None:
  """Checks a hypervisor's full parameter set against this node."""
  hyper = _NodeHypervisor(hvname)
  try:
    hyper.ValidateParameters(hvfull or {})
  except errors.HypervisorError as err:
    Fail("Hypervisor parameter validation failed: %s", err)


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
  missing = MissingBridges(bridges_list)
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
}
