"""Node side of backups: disk transfers between nodes and the export directory.

import_start/export_start start a transfer process (ganeti.impexp.daemon) in
a directory of its own below pathutils.IMPORT_EXPORT_DIR and answer its name;
impexp_status/abort/cleanup act on it by that name.  A transfer's local end is
(kind, arguments), kind one of:
  file    [path]            a file below the export directory
  raw     [disk]            the disk's block device, as it is
  script  [disk, index]     the instance OS's export or import script for that disk
finalize_export, export_info, export_remove handle the exports themselves.
"""

import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Optional

import ganeti
from ganeti import constants
from ganeti import errors
from ganeti import impexp
from ganeti import objects
from ganeti import pathutils
from ganeti import netutils
from ganeti import serializer
from ganeti import storage
from ganeti.backend import os as backend_os
from ganeti.backend.common import Fail, LocalDisk, LocalPathBelow
from ganeti.impexp import exportinfo
from ganeti.utils import io
from ganeti.utils import process
from ganeti.constants import (
  IEIO_FILE, IEIO_RAW_DISK, IEIO_SCRIPT)

IE_MAGIC_RE = re.compile(r"^[-_.a-zA-Z0-9]{5,100}$")
DISK_TRANSFER_CONNECT_TIMEOUT = 60
CHILD_LINGER_TIMEOUT = 5.0
_NAME_RE = re.compile(r"^(import|export)-[-_.a-zA-Z0-9]+$")
_LOGFILE_KEY = "os_logfile"


# --- the local end of a transfer -------------------------------------------------

def _ExportPath(path: Any) -> str:
  return LocalPathBelow(path, pathutils.EXPORT_DIR, "export file")


def _FindDevice(disk: objects.Disk) -> Any:
  children = [_FindDevice(child) for child in disk.children or ()]
  return storage.FindDevice(disk, children)


def _DeviceIo(disk_data: Any) -> dict:
  if not isinstance(disk_data, dict):
    Fail("Invalid disk %r", disk_data)
  try:
    device = _FindDevice(LocalDisk(objects.Disk.FromDict(objects.CopyValue(disk_data))))
  except errors.GenericError as err:
    Fail("Cannot find block device: %s", err)
  if device is None or not device.dev_path:
    Fail("Cannot find block device %s", tuple(disk_data.get("logical_id") or ()))
  return {"kind": impexp.IO_PATH, "path": device.dev_path}


def _ScriptIo(script: str, instance: dict, args: list) -> tuple[dict, Optional[str]]:
  """The OS script for disk args[1]; the transferred disk (args[0]) replaces
  the instance's so that a snapshot is what the script sees."""
  disk_data, index = args[0], args[1]
  instance = dict(instance)
  disks = list(instance.get("disks_info") or [])
  if isinstance(index, int) and 0 <= index < len(disks) and isinstance(disk_data, dict):
    disks[index] = disk_data
    instance["disks_info"] = disks
  command = backend_os.DiskScriptCommand(script, instance, index)
  return ({"kind": impexp.IO_COMMAND, "argv": command.argv, "env": command.env,
           "cwd": command.cwd, "size_fd": script == constants.OS_SCRIPT_EXPORT},
          command.logfile)


def _LocalIo(mode: str, instance: dict, ieio: Any) -> tuple[dict, Optional[str], Optional[int]]:
  """(io request, OS log file, size in bytes if known) of a transfer's local end."""
  if not isinstance(ieio, (list, tuple)) or len(ieio) != 2 or not isinstance(ieio[1], list):
    Fail("Invalid import/export I/O %r", ieio)
  kind, args = ieio
  reading = mode == impexp.MODE_EXPORT
  if kind == IEIO_FILE and len(args) == 1:
    path = _ExportPath(args[0])
    size = os.path.getsize(path) if reading and os.path.exists(path) else None
    return {"kind": impexp.IO_PATH, "path": path, "create": not reading}, None, size
  if kind == IEIO_RAW_DISK and len(args) == 1:
    request = _DeviceIo(args[0])
    return request, None, _DeviceSize(request["path"]) if reading else None
  if kind == IEIO_SCRIPT and len(args) == 2:
    script = constants.OS_SCRIPT_EXPORT if reading else constants.OS_SCRIPT_IMPORT
    request, logfile = _ScriptIo(script, instance, args)
    return request, logfile, None
  Fail("Invalid import/export I/O %r", ieio)
  raise AssertionError  # not reached


def _DeviceSize(path: str) -> Optional[int]:
  try:
    with open(path, "rb") as handle:
      return handle.seek(0, os.SEEK_END)
  except OSError:
    return None


# --- starting and watching transfers ------------------------------------------------

def _Certificates(opts: objects.ImportExportOptions, directory: str) -> dict:
  """Own key and certificate, and the CA the peer must be signed by: the
  cluster certificate unless the options name an X509 key and a CA."""
  cert = key = ca = pathutils.NODED_CERT_FILE
  if opts.key_name:
    key_dir = os.path.join(pathutils.CRYPTO_KEYS_DIR, os.path.basename(opts.key_name))
    key, cert = os.path.join(key_dir, "key"), os.path.join(key_dir, "cert")
    if not os.path.exists(key):
      Fail("X509 key '%s' not found", opts.key_name)
  if opts.ca_pem:
    ca = os.path.join(directory, impexp.CA_FILE)
    io.WriteFile(ca, opts.ca_pem, mode=0o400)
  return {"cert": cert, "key": key, "ca": ca}


def _Options(data: Any) -> objects.ImportExportOptions:
  if not isinstance(data, dict):
    Fail("Invalid import/export options %r", data)
  opts = objects.ImportExportOptions.FromDict(dict(data))
  compress = opts.compress or impexp.COMPRESS_NONE
  if compress != impexp.COMPRESS_NONE and compress not in impexp.COMPRESSION_LEVELS:
    Fail("Compression '%s' is not supported by this node", compress)
  opts.compress = compress
  if opts.magic is not None and not IE_MAGIC_RE.match(opts.magic):
    Fail("Invalid magic value %r", opts.magic)
  return opts


def _OwnAddress(ipv6: bool) -> str:
  """Where an import listens: this node's address, else every address."""
  try:
    return netutils.ResolveHostname(netutils.GetHostname())[1]
  except Exception:  # pylint: disable=broad-except
    return "::" if ipv6 else "0.0.0.0"


def _Start(mode: str, opts_data: Any, instance: Any, component: Any, ieio: Any,
           host: Optional[str] = None, port: Optional[int] = None) -> str:
  opts = _Options(opts_data)
  if not isinstance(instance, dict) or "name" not in instance:
    Fail("Invalid instance %r", instance)
  local_io, logfile, size = _LocalIo(mode, instance, ieio)
  os.makedirs(pathutils.IMPORT_EXPORT_DIR, mode=0o750, exist_ok=True)
  prefix = "%s-%s-%s-" % (mode, re.sub(r"[^-_.a-zA-Z0-9]", "_", str(component)),
                          re.sub(r"[^-_.a-zA-Z0-9]", "_", instance["name"]))
  directory = tempfile.mkdtemp(prefix=prefix, dir=pathutils.IMPORT_EXPORT_DIR)
  request = {
    "mode": mode, "compress": opts.compress, "magic": opts.magic or impexp.DEFAULT_MAGIC,
    "connect_timeout": opts.connect_timeout or DISK_TRANSFER_CONNECT_TIMEOUT,
    "io": local_io, "size": size, _LOGFILE_KEY: logfile,
  }
  request.update(_Certificates(opts, directory))
  if mode == impexp.MODE_IMPORT:
    request["bind"] = _OwnAddress(bool(opts.ipv6))
  else:
    request.update(host=host, port=port)
  io.WriteFile(os.path.join(directory, impexp.REQUEST_FILE), serializer.DumpJson(request),
               mode=0o600)
  _Spawn(directory)
  return os.path.basename(directory)


def _Spawn(directory: str) -> None:
  env = dict(os.environ)
  package_parent = os.path.dirname(os.path.dirname(os.path.abspath(ganeti.__file__)))
  env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
  with open(os.path.join(directory, "daemon.log"), "ab") as log:
    try:
      proc = subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, "-m", "ganeti.impexp.daemon", directory], env=env, cwd="/",
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    except OSError as err:
      Fail("Cannot start the import/export process: %s", err)
  io.WriteFile(os.path.join(directory, impexp.PID_FILE), "%d\n" % proc.pid)
  # reaps the process when it ends (the node daemon lives on)
  threading.Thread(target=proc.wait, daemon=True).start()


def StartImport(opts: dict, instance: dict, component: str, dest: list) -> str:
  """Starts receiving one disk's data into dest; answers the transfer's name."""
  return _Start(impexp.MODE_IMPORT, opts, instance, component, dest)


def StartExport(opts: dict, host: str, port: int, instance: dict, component: str,
                source: list) -> str:
  """Starts sending source's data to an import listening at host:port."""
  if not isinstance(host, str) or not isinstance(port, int) or isinstance(port, bool):
    Fail("Invalid destination %r:%r", host, port)
  return _Start(impexp.MODE_EXPORT, opts, instance, component, source, host, port)


def _Directory(name: Any) -> str:
  if not isinstance(name, str) or not _NAME_RE.match(name):
    Fail("Invalid import/export name %r", name)
  return os.path.join(pathutils.IMPORT_EXPORT_DIR, name)


def _Pid(directory: str) -> Optional[int]:
  text = io.TryReadFile(os.path.join(directory, impexp.PID_FILE))
  return int(text) if text and text.strip().isdigit() else None


def _Alive(pid: Optional[int]) -> bool:
  if pid is None:
    return False
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:
    return True
  # a finished child not yet reaped is no longer running
  return not process.HasExited(pid)


def _Status(name: str) -> Optional[dict]:
  directory = _Directory(name)
  text = io.TryReadFile(os.path.join(directory, impexp.STATUS_FILE))
  if text is None:
    return None if not os.path.isdir(directory) else {"exit_status": None, "connected": False}
  status = serializer.LoadJson(text)
  if status.get("exit_status") is None and not _Alive(_Pid(directory)):
    status.update(exit_status=-1, error_message="Import/export process ended unexpectedly")
  return status


def GetStatus(names: list) -> list[Optional[dict]]:
  """Per name, the transfer's ImportExportStatus dict (None if unknown)."""
  if not isinstance(names, list):
    Fail("Invalid names %r", names)
  return [_Status(name) for name in names]


def Abort(name: str) -> None:
  """Asks a running transfer to stop; its status then reports the failure."""
  pid = _Pid(_Directory(name))
  if _Alive(pid):
    os.kill(pid, signal.SIGTERM)


def Cleanup(name: str) -> None:
  """Stops the transfer if it still runs and removes its directory; an
  OS script's messages go to the OS log directory."""
  directory = _Directory(name)
  pid = _Pid(directory)
  if _Alive(pid):
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + CHILD_LINGER_TIMEOUT
    while _Alive(pid) and time.time() < deadline:
      time.sleep(0.1)
    if _Alive(pid):
      os.kill(pid, signal.SIGKILL)
  _KeepScriptOutput(directory)
  shutil.rmtree(directory, ignore_errors=True)


def _KeepScriptOutput(directory: str) -> None:
  text = io.TryReadFile(os.path.join(directory, impexp.REQUEST_FILE))
  output = os.path.join(directory, impexp.OUTPUT_FILE)
  logfile = serializer.LoadJson(text).get(_LOGFILE_KEY) if text else None
  if logfile and os.path.exists(output):
    try:
      os.makedirs(os.path.dirname(logfile), exist_ok=True)
      shutil.copyfile(output, logfile)
    except OSError as err:
      logging.warning("Cannot keep the script output in %s: %s", logfile, err)


# --- exports ----------------------------------------------------------------------

def FinalizeExport(instance: dict, snap_disks: list) -> None:
  """Writes the export's config.ini beside the dumps (in <name>.new) and makes
  it the instance's export, replacing an older one."""
  if not isinstance(instance, dict) or not isinstance(snap_disks, list):
    Fail("Invalid export description")
  name = instance.get("name")
  if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
    Fail("Invalid instance name %r", name)
  final = os.path.join(pathutils.EXPORT_DIR, name)
  staging = final + ".new"
  disks = [disk if isinstance(disk, dict) else None for disk in snap_disks]
  for disk in disks:
    if disk and not os.path.exists(os.path.join(staging, str(disk.get("uuid")))):
      Fail("Disk dump %s of export %s is missing", disk.get("uuid"), name)
  text = exportinfo.BuildConfig(instance, disks)
  os.makedirs(staging, mode=0o700, exist_ok=True)
  io.WriteFile(os.path.join(staging, exportinfo.CONFIG_FILE), text, mode=0o600)
  shutil.rmtree(final, ignore_errors=True)
  os.rename(staging, final)


def ExportInfo(path: str) -> str:
  """The config.ini text of the export in path (a directory below the export dir)."""
  directory = LocalPathBelow(path, pathutils.EXPORT_DIR, "export")
  text = io.TryReadFile(os.path.join(directory, exportinfo.CONFIG_FILE))
  try:
    exportinfo.ExportInfo(text or "")
  except Exception as err:  # pylint: disable=broad-except
    Fail(str(err))
  return text


def RemoveExport(export: str) -> None:
  if not isinstance(export, str) or not export or "/" in export or export.startswith("."):
    Fail("Invalid export name %r", export)
  target = os.path.join(pathutils.EXPORT_DIR, export)
  if not os.path.isdir(target):
    Fail("Export '%s' not found on this node", export)
  try:
    shutil.rmtree(target)
  except OSError as err:
    Fail("Error while removing the export: %s", err)


CALLS = {
  "import_start": StartImport,
  "export_start": StartExport,
  "impexp_status": GetStatus,
  "impexp_abort": Abort,
  "impexp_cleanup": Cleanup,
  "finalize_export": FinalizeExport,
  "export_info": ExportInfo,
  "export_remove": RemoveExport,
}
