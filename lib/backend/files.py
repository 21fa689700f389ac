"""Files the master pushes to nodes: cluster files, ssconf, the job queue copy,
and the file storage directories."""

import grp
import hashlib
import logging
import os
import pwd
import shutil
from typing import Any, Optional

from ganeti import constants
from ganeti import jstore
from ganeti import pathutils
from ganeti import ssconf
from ganeti import vcluster
from ganeti.backend.common import Fail, IsBelowDir, LocalPath, LocalPathBelow
from ganeti.rpc import encoding
from ganeti.utils import io


# Hypervisor-specific ancillary files (added by the hypervisor modules).
EXTRA_UPLOAD_TARGETS: set[str] = set()


def _UploadTargets() -> frozenset[str]:
  """The only files upload_file may replace (node-local paths)."""
  return frozenset([
    pathutils.CLUSTER_CONF_FILE,
    pathutils.ETC_HOSTS,
    pathutils.SSH_KNOWN_HOSTS_FILE,
    pathutils.SSH_PUB_KEYS,
    pathutils.VNC_PASSWORD_FILE,
    pathutils.NODED_CERT_FILE,
    pathutils.RAPI_CERT_FILE,
    pathutils.SPICE_CERT_FILE,
    pathutils.SPICE_CACERT_FILE,
    pathutils.RAPI_USERS_FILE,
    pathutils.CONFD_HMAC_KEY,
    pathutils.CLUSTER_DOMAIN_SECRET_FILE,
  ]) | frozenset(EXTRA_UPLOAD_TARGETS)


def _OwnerId(name: Any, lookup, what: str) -> int:
  """The numeric id of a user or group name; -1 (keep as is) when unknown."""
  if isinstance(name, int):
    return name
  try:
    return getattr(lookup(name), what)
  except (KeyError, TypeError):
    logging.warning("Unknown owner %r of an uploaded file, leaving it unchanged", name)
    return -1


def UploadFile(file_name: str, content: list, mode: int, uid: Any, gid: Any,
               atime: float, mtime: float) -> None:
  """Replaces one of the cluster files with the master's copy."""
  if not isinstance(file_name, str) or not os.path.isabs(file_name):
    Fail("Filename passed to UploadFile is not absolute: '%s'", file_name)
  local = LocalPath(file_name)
  if local not in _UploadTargets():
    Fail("Filename passed to UploadFile not in allowed upload targets: '%s'", file_name)
  data = encoding.Decompress(content)
  io.WriteFile(local, data, mode=mode, mkdir=True)
  user_id = _OwnerId(uid, pwd.getpwnam, "pw_uid")
  group_id = _OwnerId(gid, grp.getgrnam, "gr_gid")
  # only root may give files away; a virtual cluster runs unprivileged
  if os.geteuid() == 0 and (user_id, group_id) != (-1, -1):
    os.chown(local, user_id, group_id)
  if atime is not None and mtime is not None:
    os.utime(local, (atime, mtime))


def WriteSsconfFiles(values: dict[str, str]) -> None:
  """Replaces this node's ssconf files by the master's values."""
  if not isinstance(values, dict):
    Fail("Invalid ssconf values: %r", values)
  unknown = sorted(set(values) - ssconf.VALID_SS_KEYS)
  if unknown:
    Fail("Invalid ssconf keys: %s", ", ".join(unknown))
  ssconf.WriteSsconfFiles(values)


def _QueueFile(file_name: str) -> str:
  return LocalPathBelow(file_name, pathutils.QUEUE_DIR, "job queue file")


def JobQueueUpdate(file_name: str, content: list) -> None:
  """Writes one file of the job queue copy (a job, the serial, ...) atomically."""
  local = _QueueFile(file_name)
  io.WriteFile(local, encoding.Decompress(content), mode=constants.JOB_QUEUE_FILES_PERMS,
               mkdir=True)


def JobQueueRename(renames: list) -> None:
  """Moves job files, e.g. into the archive; every path stays inside the queue."""
  checked = [(_QueueFile(old), _QueueFile(new)) for old, new in renames]
  for old, new in checked:
    os.makedirs(os.path.dirname(new), exist_ok=True)
    os.rename(old, new)


def _RemoveFilesIn(directory: str, keep: frozenset[str] = frozenset()) -> None:
  try:
    names = os.listdir(directory)
  except FileNotFoundError:
    return
  for name in names:
    path = os.path.join(directory, name)
    if path not in keep and os.path.isfile(path) and not os.path.islink(path):
      io.RemoveFile(path)


def JobQueuePurge() -> None:
  """Empties this node's queue copy (a node leaving the master candidates)."""
  _RemoveFilesIn(pathutils.QUEUE_DIR, keep=frozenset([pathutils.JOB_QUEUE_LOCK_FILE]))
  _RemoveFilesIn(pathutils.JOB_QUEUE_ARCHIVE_DIR)


def JobQueueSetDrainFlag(flag: bool) -> None:
  """Sets or clears the job queue's drain flag on this node."""
  jstore.SetDrained(bool(flag))


def GetFileInfo(file_path: str) -> Optional[dict]:
  """Size, modification time and SHA1 checksum of a file; None if absent."""
  local = LocalPath(file_path)
  try:
    with open(local, "rb") as handle:
      stat = os.fstat(handle.fileno())
      checksum = hashlib.sha1()
      for block in iter(lambda: handle.read(1 << 16), b""):
        checksum.update(block)
  except FileNotFoundError:
    return None
  except OSError as err:
    Fail("Can't read file '%s': %s", file_path, err)
  return {"size": stat.st_size, "mtime": stat.st_mtime, "checksum": checksum.hexdigest()}


def AllowedFileStoragePaths() -> list[str]:
  """The node's allowed file storage roots (one absolute path per line)."""
  text = io.TryReadFile(pathutils.FILE_STORAGE_PATHS_FILE) or ""
  paths = []
  for line in text.splitlines():
    line = line.strip()
    if line and not line.startswith("#") and os.path.isabs(line):
      paths.append(os.path.normpath(line))
  return paths


def _StorageRoots() -> list[str]:
  """Where file storage directories may be: the allow-list and the defaults."""
  roots = [pathutils.DEFAULT_FILE_STORAGE_DIR, pathutils.DEFAULT_SHARED_FILE_STORAGE_DIR]
  return roots + [LocalPath(path) for path in AllowedFileStoragePaths()]


def CheckFileStoragePath(path: str) -> str:
  """The local form of a file storage path; refused outside the allowed roots."""
  if not isinstance(path, str) or not os.path.isabs(vcluster.LocalizeVirtualPath(path)):
    Fail("File storage directory '%s' is not an absolute path", path)
  local = LocalPath(path)
  roots = [os.path.normpath(root) for root in _StorageRoots()]
  if not any(local == root or IsBelowDir(root, local) for root in roots):
    Fail("File storage directory '%s' is not inside an allowed file storage path (%s)",
         path, ", ".join(roots))
  return local


def FileStorageDirCreate(file_storage_dir: str) -> None:
  local = CheckFileStoragePath(file_storage_dir)
  if os.path.exists(local) and not os.path.isdir(local):
    Fail("Specified storage dir '%s' is not a directory", file_storage_dir)
  try:
    os.makedirs(local, mode=0o750, exist_ok=True)
  except OSError as err:
    Fail("Cannot create file storage directory '%s': %s", file_storage_dir, err)


def FileStorageDirRemove(file_storage_dir: str) -> None:
  """Removes an empty file storage directory (absent is fine)."""
  local = CheckFileStoragePath(file_storage_dir)
  if not os.path.exists(local):
    return
  if not os.path.isdir(local):
    Fail("Specified Storage directory '%s' is not a directory", file_storage_dir)
  try:
    os.rmdir(local)
  except OSError as err:
    Fail("Cannot remove file storage directory '%s': %s", file_storage_dir, err)


def FileStorageDirRename(old_file_storage_dir: str, new_file_storage_dir: str) -> None:
  old = CheckFileStoragePath(old_file_storage_dir)
  new = CheckFileStoragePath(new_file_storage_dir)
  if os.path.exists(new):
    if os.path.isdir(old):
      Fail("Cannot rename '%s' to '%s': both locations exist",
           old_file_storage_dir, new_file_storage_dir)
    return
  if not os.path.isdir(old):
    Fail("Specified storage dir '%s' is not a directory", old_file_storage_dir)
  try:
    shutil.move(old, new)
  except OSError as err:
    Fail("Cannot rename '%s' to '%s': %s", old_file_storage_dir, new_file_storage_dir, err)


CALLS = {
  "upload_file": UploadFile,
  "upload_file_single": UploadFile,
  "write_ssconf_files": WriteSsconfFiles,
  "jobqueue_update": JobQueueUpdate,
  "jobqueue_rename": JobQueueRename,
  "jobqueue_purge": JobQueuePurge,
  "jobqueue_set_drain_flag": JobQueueSetDrainFlag,
  "get_file_info": GetFileInfo,
  "file_storage_dir_create": FileStorageDirCreate,
  "file_storage_dir_remove": FileStorageDirRemove,
  "file_storage_dir_rename": FileStorageDirRename,
}
