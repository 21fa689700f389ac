"""What every backend module shares: the failure exception and small helpers."""

import errno
import logging
import os
import stat
from typing import Optional, Sequence

from ganeti import objects
from ganeti import pathutils
from ganeti import storage
from ganeti.utils.process import CommandResult, RunCommand  # noqa: F401 (used by backends)
from ganeti import vcluster


class RPCFail(Exception):
  """A handler's refusal or failure; the node daemon answers [False, message]."""


def Fail(message: str, *args, log: bool = True) -> None:
  """Logs (unless told not to) and raises RPCFail with the formatted message."""
  if args:
    message = message % args
  if log:
    logging.error(message)
  raise RPCFail(message)


def IsBelowDir(root: str, path: str) -> bool:
  """Whether the normalized absolute path lies strictly inside root."""
  root = os.path.normpath(root)
  path = os.path.normpath(path)
  return os.path.isabs(path) and path.startswith(root.rstrip("/") + "/")


def LocalPath(path: str) -> str:
  """The normalized local form of a path received over RPC.

  Virtual paths are mapped below this node's root; in a virtual cluster a plain
  path from the configuration (e.g. a file storage directory) is too, so that
  no node ever touches the host's own files.
  """
  local = vcluster.LocalizeVirtualPath(path)
  if (vcluster.IsVirtualCluster() and os.path.isabs(local) and
      not IsBelowDir(vcluster.ROOTDIR, local)):
    local = vcluster.AddNodePrefix(local)
  return os.path.normpath(local)


def LocalPathBelow(path: str, root: str, what: str) -> str:
  """The local form of a path received over RPC, refused unless inside root."""
  if not isinstance(path, str) or not path:
    Fail("Invalid %s path %r", what, path)
  local = LocalPath(path)
  if not IsBelowDir(root, local):
    Fail("Passed %s path '%s' does not belong to the directory '%s'", what, path, root)
  return local


def ErrnoName(err: OSError) -> str:
  """The symbolic name of an OS error's errno (ENOENT), as diagnoses show it."""
  return errno.errorcode.get(err.errno, str(err.errno))


def CheckDefinitionFile(directory: str, name: str, required: bool, executable: bool,
                        error: type) -> Optional[str]:
  """The path of a file of an OS definition or ExtStorage provider directory;
  None for a missing optional file.  Raises error (with the text Ganeti shows
  in diagnoses) for a missing required file, or one that is not a regular
  file or, if it must be, not executable."""
  path = os.path.join(directory, name)
  try:
    info = os.stat(path)
  except OSError as err:
    if not required:
      return None
    raise error("File '%s' under path '%s' is missing (%s)" %
                (name, directory, ErrnoName(err))) from None
  if not stat.S_ISREG(info.st_mode):
    raise error("File '%s' under path '%s' is not a regular file" % (name, directory))
  if executable and not info.st_mode & stat.S_IXUSR:
    raise error("File '%s' under path '%s' is not executable" % (name, directory))
  return path


def DaemonUtil(*args: str) -> CommandResult:
  """Runs Ganeti's daemon-util (start/stop/check daemons) with this environment."""
  return RunCommand([pathutils.DaemonUtilPath()] + list(args), env=dict(os.environ))


def MissingBridges(names: Sequence[str]) -> list[str]:
  """The named bridges this node lacks; a virtual node with its own network
  namespace has its bridges there."""
  namespace = vcluster.NetworkNamespace()
  if not namespace:
    return [name for name in names if not os.path.isdir("/sys/class/net/%s/bridge" % name)]
  result = RunCommand(["ip", "-n", namespace, "-o", "link", "show", "type", "bridge"])
  if result.failed:
    Fail("Cannot list the bridges of network namespace %s: %s", namespace, result.Describe())
  present = {line.split(":")[1].strip().split("@")[0] for line in result.stdout.splitlines()
             if line.count(":") >= 2}
  return [name for name in names if name not in present]


def LocalDisk(disk: objects.Disk) -> objects.Disk:
  """A copy of a disk (and its children) whose device paths are this node's."""
  local = disk.Copy()
  pending = [local]
  while pending:
    item = pending.pop()
    if item.dev_type in storage.PATH_ID_DEV_TYPES and len(item.logical_id or ()) == 2:
      item.logical_id = [item.logical_id[0], LocalPath(item.logical_id[1])]
    pending.extend(item.children or ())
  return local
