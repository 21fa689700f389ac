"""The node side of cluster verification (node_verify, node_verify_light).

The master sends a dict of NV_* keys, each with the arguments of one check;
the node answers a dict with one result per key it knows.  Each check is a
small function in _CHECKS; a key the node does not know stays unanswered,
which the master reports as missing data.
"""

import errno
import hashlib
import os
import socket
import stat
import subprocess
import time
from typing import Any, Callable, Optional

from ganeti.constants import (
  NV_ACCEPTED_STORAGE_PATHS,
  NV_BRIDGES,
  NV_CLIENT_CERT,
  NV_DRBDHELPER,
  NV_DRBDLIST,
  NV_DRBDVERSION,
  NV_EXCLUSIVEPVS,
  NV_FILELIST,
  NV_FILE_STORAGE_PATH,
  NV_GLUSTER_STORAGE_PATH,
  NV_HVINFO,
  NV_HVPARAMS,
  NV_HYPERVISOR,
  NV_INSTANCELIST,
  NV_LVLIST,
  NV_MASTERIP,
  NV_NODELIST,
  NV_NODENETTEST,
  NV_NODESETUP,
  NV_OOB_PATHS,
  NV_OSLIST,
  NV_PVLIST,
  NV_SHARED_FILE_STORAGE_PATH,
  NV_SSH_CLUTTER,
  NV_SSH_SETUP,
  NV_TIME,
  NV_USERSCRIPTS,
  NV_VERSION,
  NV_VGLIST)
from ganeti import constants
from ganeti import errors
from ganeti import netutils
from ganeti import pathutils
from ganeti import vcluster
from ganeti.backend import common
from ganeti.utils import x509

# The node-verify keys (Ganeti's constants.NV_*)

# Severities of a certificate check, as the master reports them

# A TCP probe must not hold the verification up for long
_TCP_PING_TIMEOUT = 5.0
_LVM_TIMEOUT = 30.0

# Hypervisors this node can answer for (their modules arrive later)


def _NodedPort() -> int:
  try:
    return socket.getservbyname(constants.NODED, "tcp")
  except OSError:
    return constants.DEFAULT_NODED_PORT


class _Request:
  """What every check may need besides its own argument."""

  def __init__(self, cluster_name: str, hvparams: Any) -> None:
    self.cluster_name = cluster_name
    self.hvparams = hvparams or {}
    self.my_name = netutils.GetHostname()


# ---- network --------------------------------------------------------------

def TcpPing(target: str, port: int, timeout: float = _TCP_PING_TIMEOUT,
            source: Optional[str] = None, live_port_needed: bool = False) -> bool:
  """Whether target answers on port; a refused connection proves the host is
  up unless live_port_needed."""
  family = socket.AF_INET6 if netutils.IsValidIP6(target) else socket.AF_INET
  sock = socket.socket(family, socket.SOCK_STREAM)
  try:
    sock.settimeout(timeout)
    if source is not None:
      try:
        sock.bind((source, 0))
      except OSError as err:
        if err.errno == errno.EADDRNOTAVAIL:
          return False
        raise
    sock.connect((target, port))
    return True
  except ConnectionRefusedError:
    return not live_port_needed
  except OSError:
    return False
  finally:
    sock.close()


def _check_nodelist(arg: Any, req: _Request) -> dict[str, str]:
  """Node names (or Ganeti's (nodes, nodes by name[, candidates])) whose node
  daemon port cannot be reached: {name: reason}."""
  if isinstance(arg, (list, tuple)) and len(arg) in (2, 3) and isinstance(arg[1], dict):
    names = list(arg[0]) + list(arg[1].get(req.my_name, []))
  else:
    names = list(arg or [])
  port = _NodedPort()
  failures = {}
  for name in names:
    if name == req.my_name:
      continue
    try:
      _, address = netutils.ResolveHostname(name)
    except errors.ResolverError:
      failures[name] = "Cannot resolve node name %s" % name
      continue
    if not TcpPing(address, port, live_port_needed=True):
      failures[name] = "Cannot connect to %s:%d (node daemon not reachable)" % (address, port)
  return failures


def _check_node_net(arg: Any, req: _Request) -> dict[str, str]:
  """[(name, primary ip, secondary ip)]: nodes this node cannot reach from its
  own primary/secondary address."""
  mine = [(pip, sip) for name, pip, sip in arg if name == req.my_name]
  if not mine:
    return {req.my_name: "Can't find my own primary/secondary IP in the node list"}
  my_pip, my_sip = mine[0]
  port = _NodedPort()
  failures = {}
  for name, pip, sip in arg:
    failed = []
    if not TcpPing(pip, port, source=my_pip):
      failed.append("primary")
    if sip != pip and not TcpPing(sip, port, source=my_sip):
      failed.append("secondary")
    if failed:
      failures[name] = "failure using the %s interface(s)" % " and ".join(failed)
  return failures


def _check_master_ip(arg: Any, req: _Request) -> bool:
  """(master name, master ip): whether the master IP answers (the master
  itself probes from localhost, the address being its own)."""
  master_name, master_ip = arg
  source = constants.IP4_ADDRESS_LOCALHOST if master_name == req.my_name else None
  if source and netutils.IsValidIP6(master_ip):
    source = "::1"
  return TcpPing(master_ip, _NodedPort(), source=source)


# ---- files and system -----------------------------------------------------

def FingerprintFiles(paths: list[str]) -> dict[str, str]:
  """SHA1 hex digest of each existing regular file."""
  result = {}
  for path in paths:
    digest = hashlib.sha1()
    try:
      with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(65536), b""):
          digest.update(block)
    except OSError:
      continue
    result[path] = digest.hexdigest()
  return result


def _check_filelist(arg: Any, _req: _Request) -> dict[str, str]:
  """Checksums of the listed files, keyed by their node-neutral path."""
  local = {vcluster.LocalizeVirtualPath(path): path for path in arg}
  return {local[path]: digest for path, digest in FingerprintFiles(list(local)).items()}


def _check_nodesetup(_arg: Any, _req: _Request) -> list[str]:
  if vcluster.IsVirtualCluster():
    # virtual nodes share the host's kernel: its /proc and /sys are not theirs to check
    return []
  problems = []
  if not (os.path.isdir("/sys/block") and os.path.isdir("/sys/class/net")):
    problems.append("The sysfs filesytem doesn't seem to be mounted under /sys, missing"
                    " required directories /sys/block and /sys/class/net")
  if not (os.path.isdir("/proc/sys") and os.path.isfile("/proc/sysrq-trigger")):
    problems.append("The procfs filesystem doesn't seem to be mounted under /proc, missing"
                    " required directory /proc/sys and the file /proc/sysrq-trigger")
  return problems


def _check_time(_arg: Any, _req: _Request) -> list[int]:
  now = time.time()
  seconds = int(now)
  return [seconds, int((now - seconds) * 1000000)]


def _check_user_scripts(arg: Any, _req: _Request) -> list[str]:
  """The listed scripts that are missing or not executable."""
  return [path for path in arg
          if not _is_executable_file(vcluster.LocalizeVirtualPath(path))]


def _is_executable_file(path: str) -> bool:
  return os.path.isfile(path) and os.access(path, os.X_OK)


def _check_oob_paths(arg: Any, _req: _Request) -> list[Optional[str]]:
  """One entry per out-of-band helper: None when usable, else the problem."""
  results: list[Optional[str]] = []
  for path in arg:
    try:
      mode = os.stat(vcluster.LocalizeVirtualPath(path)).st_mode
    except OSError as err:
      results.append("error stating out of band helper: %s" % err)
      continue
    if not stat.S_ISREG(mode):
      results.append("out of band helper %s is not a file" % path)
    elif not stat.S_IMODE(mode) & stat.S_IXUSR:
      results.append("out of band helper %s is not executable" % path)
    else:
      results.append(None)
  return results


def _check_bridges(arg: Any, _req: _Request) -> list[str]:
  """The listed bridges that do not exist on this node."""
  return common.MissingBridges(arg)


def _check_client_cert(_arg: Any, _req: _Request) -> tuple[Optional[str], str]:
  """(None, digest) for a usable client certificate, else (severity, problem)."""
  return VerifyClientCertificate(pathutils.NODED_CLIENT_CERT_FILE)


def VerifyClientCertificate(path: str) -> tuple[Optional[str], str]:
  if not os.path.exists(path):
    return (x509.CERT_ERROR, "The client certificate does not exist. Run 'gnt-cluster"
            " renew-crypto --new-node-certificates' to create client certificates for all"
            " nodes.")
  severity, message = x509.VerifyCertificate(path)
  if severity is not None:
    return severity, message
  try:
    return None, x509.GetCertificateDigest(path)
  except Exception as err:  # pylint: disable=broad-except
    return x509.CERT_ERROR, "Unable to read client certificate %s: %s" % (path, err)


# ---- hypervisors ----------------------------------------------------------

def _Hypervisor(name: str) -> Any:
  from ganeti import hypervisor  # pylint: disable=import-outside-toplevel
  return hypervisor.GetHypervisor(name)


def _check_hypervisor(arg: Any, _req: _Request) -> dict[str, Optional[str]]:
  """{hypervisor: None when usable, else the problem}."""
  problems = {}
  for name in arg:
    try:
      problems[name] = _Hypervisor(name).Verify()
    except errors.HypervisorError as err:
      problems[name] = str(err)
  return problems


def _check_hvparams(arg: Any, _req: _Request) -> list:
  """[(source, hypervisor, problem)] of the parameter sets this node refuses."""
  problems = []
  for source, name, hvparams in arg:
    try:
      _Hypervisor(name).ValidateParameters(hvparams)
    except errors.HypervisorError as err:
      problems.append((source, name, str(err)))
  return problems


def _check_hvinfo(arg: Any, _req: _Request) -> Any:
  """Memory and CPUs of this node as its hypervisor sees them (or the problem)."""
  try:
    return _Hypervisor(arg).GetNodeInfo()
  except errors.HypervisorError as err:
    return str(err)


def _check_instancelist(arg: Any, _req: _Request) -> Any:
  """Names of the instances running here, or why they cannot be listed."""
  names = []
  for name in arg:
    try:
      names.extend(_Hypervisor(name).ListInstances())
    except errors.HypervisorError as err:
      return "Error enumerating instances (hypervisor %s): %s" % (name, err)
  return names


# ---- storage --------------------------------------------------------------

def _run_lvm(argv: list[str]) -> tuple[bool, str]:
  try:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=_LVM_TIMEOUT,
                          check=False, stdin=subprocess.DEVNULL)
  except (OSError, subprocess.TimeoutExpired) as err:
    return False, "Failed to run %s: %s" % (argv[0], err)
  if proc.returncode != 0:
    return False, "%s failed (exit code %s): %s" % (argv[0], proc.returncode,
                                                   (proc.stdout + proc.stderr).strip())
  return True, proc.stdout


def _check_vglist(_arg: Any, _req: _Request) -> Any:
  """{volume group: size in MiB}, or the error text when LVM is unusable."""
  ok, output = _run_lvm(["vgs", "--noheadings", "--nosuffix", "--units=m", "--separator=|",
                         "-o", "vg_name,vg_size"])
  if not ok:
    return output
  groups = {}
  for line in output.splitlines():
    fields = line.strip().split("|")
    if len(fields) == 2:
      groups[fields[0]] = int(float(fields[1]))
  return groups


def _check_lvlist(arg: Any, _req: _Request) -> Any:
  """{vg/lv: (size MiB, inactive, online)} of volume group arg, or the error text."""
  ok, output = _run_lvm(["lvs", "--noheadings", "--nosuffix", "--units=m", "--separator=|",
                         "-o", "lv_name,lv_size,lv_attr", arg])
  if not ok:
    return output
  volumes = {}
  for line in output.splitlines():
    fields = line.strip().split("|")
    if len(fields) == 3 and len(fields[2]) >= 6:
      attr = fields[2]
      volumes["%s/%s" % (arg, fields[0])] = (float(fields[1]), attr[4] != "a", attr[5] == "o")
  return volumes


def _check_pvlist(arg: Any, _req: _Request) -> Any:
  """[{name, vg_name, size, free}] of the physical volumes of the given VGs,
  or None when LVM is unusable."""
  ok, output = _run_lvm(["pvs", "--noheadings", "--nosuffix", "--units=m", "--separator=|",
                         "-o", "pv_name,vg_name,pv_size,pv_free"])
  if not ok:
    return None
  volumes = []
  for line in output.splitlines():
    fields = line.strip().split("|")
    if len(fields) == 4 and (not arg or fields[1] in arg):
      volumes.append({"name": fields[0], "vg_name": fields[1],
                      "size": float(fields[2]), "free": float(fields[3])})
  return volumes


def _allowed_storage_paths() -> list[str]:
  """The entries of the node's file-storage-paths file."""
  try:
    with open(pathutils.FILE_STORAGE_PATHS_FILE, encoding="utf-8") as handle:
      lines = [line.strip() for line in handle]
  except OSError:
    return []
  return [os.path.normpath(line) for line in lines if line and not line.startswith("#")]


def _is_at_or_below(path: str, root: str) -> bool:
  return path == root or path.startswith(root.rstrip("/") + "/")


def _forbidden_storage_paths() -> frozenset[str]:
  """System directories that must not be file storage roots."""
  paths = {"/boot", "/dev", "/etc", "/home", "/proc", "/root", "/sys"}
  for prefix in ("", "/usr", "/usr/local"):
    paths.update("%s/%s" % (prefix, name) for name in ("bin", "lib", "lib32", "lib64", "sbin"))
  return frozenset(paths)


def _check_accepted_storage_paths(arg: Any, req: _Request) -> Optional[list[str]]:
  """Entries of the file-storage-paths file naming system directories;
  only the node named by arg (the master) answers."""
  if arg != req.my_name:
    return None
  forbidden = _forbidden_storage_paths()
  return [path for path in _allowed_storage_paths() if path in forbidden]


def CheckFileStoragePath(path: str) -> Optional[str]:
  """None when path is an allowed, writable storage directory, else why not."""
  local = common.LocalPath(path)
  allowed = _allowed_storage_paths()
  # entries name node paths; in a virtual cluster they live below the node's root
  if not any(_is_at_or_below(local, root) or _is_at_or_below(local, vcluster.AddNodePrefix(root))
             for root in allowed if os.path.isabs(root)):
    return "Path '%s' is not acceptable for file storage" % path
  if not os.path.isdir(local):
    return "Path '%s' is not existing or not a directory." % path
  probe = os.path.join(local, ".ganeti-verify-%d" % os.getpid())
  try:
    with open(probe, "w", encoding="ascii"):
      pass
    os.unlink(probe)
  except OSError as err:
    return "Path '%s' is not writable: %s" % (path, err)
  return None


def _check_storage_path(arg: Any, _req: _Request) -> Optional[str]:
  return CheckFileStoragePath(arg) if arg else None


def _check_drbd_absent(_arg: Any, _req: _Request) -> list:
  return []


def _check_drbd_minors(_arg: Any, _req: _Request) -> list | str:
  """The minors configured in the kernel; the error text if DRBD can't be read."""
  from ganeti.storage import drbd_info  # pylint: disable=import-outside-toplevel
  try:
    return drbd_info.ReadProcDrbd(drbd_info.PROC_DRBD).UsedMinors()
  except errors.BlockDeviceError as err:
    return str(err)


def _check_drbd_helper(_arg: Any, _req: _Request) -> Optional[str]:
  return None


# ---- OS definitions --------------------------------------------------------

_OS_SCRIPTS = ("create", "export", "import", "rename")


def _read_lines(path: str) -> Optional[list[str]]:
  try:
    with open(path, encoding="utf-8") as handle:
      return [line.strip() for line in handle if line.strip()]
  except OSError:
    return None


def _diagnose_os(path: str) -> tuple[bool, str, list[int]]:
  versions_text = _read_lines(os.path.join(path, "ganeti_api_version"))
  if versions_text is None:
    return False, "API version file not found", []
  try:
    versions = sorted(int(v) for v in versions_text)
  except ValueError:
    return False, "API version file has invalid content", []
  if not set(versions) & set(constants.OS_API_VERSIONS):
    return False, "API version %s not supported" % versions, versions
  for script in _OS_SCRIPTS:
    if not _is_executable_file(os.path.join(path, script)):
      return False, "script '%s' is missing or not executable" % script, versions
  return True, "", versions


def _check_oslist(_arg: Any, _req: _Request) -> list[list]:
  """[name, path, status, diagnose, variants, parameters, api versions, trusted]
  for every OS definition found in the search path."""
  result = []
  for directory in pathutils.OS_SEARCH_PATH:
    try:
      names = sorted(os.listdir(directory))
    except OSError:
      continue
    for name in names:
      path = os.path.join(directory, name)
      if not os.path.isdir(path):
        continue
      status, diagnose, versions = _diagnose_os(path)
      variants = _read_lines(os.path.join(path, "variants.list")) or []
      parameters = [line.split(None, 1) + [""] * (2 - len(line.split(None, 1)))
                    for line in _read_lines(os.path.join(path, "parameters.list")) or []]
      result.append([name, vcluster.MakeVirtualPath(path), status, diagnose, variants,
                     parameters, versions, True])
  return result


# ---- SSH ------------------------------------------------------------------

def _check_ssh_setup(_arg: Any, _req: _Request) -> list[str]:
  """Problems of this node's SSH setup for Ganeti (the public key list)."""
  if not os.path.exists(pathutils.SSH_PUB_KEYS):
    return ["The public key file '%s' does not exist." % pathutils.SSH_PUB_KEYS]
  return []


def _check_ssh_clutter(_arg: Any, _req: _Request) -> list[str]:
  return []


_CHECKS: dict[str, Callable[[Any, _Request], Any]] = {
  NV_VERSION: lambda _arg, _req: [constants.PROTOCOL_VERSION, constants.RELEASE_VERSION],
  NV_FILELIST: _check_filelist,
  NV_NODELIST: _check_nodelist,
  NV_NODENETTEST: _check_node_net,
  NV_MASTERIP: _check_master_ip,
  NV_TIME: _check_time,
  NV_NODESETUP: _check_nodesetup,
  NV_HYPERVISOR: _check_hypervisor,
  NV_HVPARAMS: _check_hvparams,
  NV_HVINFO: _check_hvinfo,
  NV_INSTANCELIST: _check_instancelist,
  NV_VGLIST: _check_vglist,
  NV_LVLIST: _check_lvlist,
  NV_PVLIST: _check_pvlist,
  NV_EXCLUSIVEPVS: lambda _arg, _req: None,
  NV_OSLIST: _check_oslist,
  NV_BRIDGES: _check_bridges,
  NV_DRBDLIST: _check_drbd_minors,
  NV_DRBDVERSION: _check_drbd_absent,
  NV_DRBDHELPER: _check_drbd_helper,
  NV_USERSCRIPTS: _check_user_scripts,
  NV_OOB_PATHS: _check_oob_paths,
  NV_ACCEPTED_STORAGE_PATHS: _check_accepted_storage_paths,
  NV_FILE_STORAGE_PATH: _check_storage_path,
  NV_SHARED_FILE_STORAGE_PATH: _check_storage_path,
  NV_GLUSTER_STORAGE_PATH: _check_storage_path,
  NV_CLIENT_CERT: _check_client_cert,
  NV_SSH_SETUP: _check_ssh_setup,
  NV_SSH_CLUTTER: _check_ssh_clutter,
}

# Checks that answer only when they have something to say (as Ganeti's do)
_ONLY_PROBLEMS = frozenset([NV_ACCEPTED_STORAGE_PATHS, NV_FILE_STORAGE_PATH,
                            NV_SHARED_FILE_STORAGE_PATH, NV_GLUSTER_STORAGE_PATH])

# What node_verify_light answers: checks needing no cluster membership
_LIGHT_CHECKS = frozenset([NV_VERSION, NV_NODELIST, NV_NODENETTEST, NV_MASTERIP, NV_TIME,
                           NV_FILELIST, NV_HYPERVISOR, NV_HVPARAMS, NV_NODESETUP,
                           NV_USERSCRIPTS, NV_OOB_PATHS, NV_BRIDGES, NV_OSLIST,
                           NV_FILE_STORAGE_PATH, NV_SHARED_FILE_STORAGE_PATH,
                           NV_GLUSTER_STORAGE_PATH, NV_CLIENT_CERT])


def _run_checks(what: dict, cluster_name: str, hvparams: Any, allowed: frozenset) -> dict:
  req = _Request(cluster_name, hvparams)
  result = {}
  for key, arg in what.items():
    check = _CHECKS.get(key)
    if check is None or key not in allowed:
      continue
    value = check(arg, req)
    if key in _ONLY_PROBLEMS and value is None:
      continue
    result[key] = value
  return result


def NodeVerify(what: dict, cluster_name: str, all_hvparams: Any) -> dict:
  """The node_verify RPC: answers every known NV_* key of what."""
  return _run_checks(what, cluster_name, all_hvparams, frozenset(_CHECKS))


def NodeVerifyLight(what: dict, cluster_name: str, hvparams: Any) -> dict:
  """The node_verify_light RPC (for nodes not in the cluster yet): only the
  checks that need no cluster membership."""
  return _run_checks(what, cluster_name, hvparams, _LIGHT_CHECKS)


CALLS = {
  "node_verify": NodeVerify,
  "node_verify_light": NodeVerifyLight,
}
