"""Where a KVM instance lives on its node: the directories below
/var/run/ganeti/kvm-hypervisor/ (node root), the per-instance files in them,
the runtime file describing the machine, and the qemu process.

The runtime file holds what is needed to build the same machine again on
this node or on a migration target: hvparams, memory, vCPUs, NICs, disks
(block device links in node-neutral form) and the command line last used.
"""

import json
import os
import signal
from typing import NamedTuple, Optional

from ganeti import errors
from ganeti import pathutils
from ganeti import uidpool
from ganeti import vcluster
from ganeti.utils import io
from ganeti.utils import process

ROOT_DIR_NAME = "kvm-hypervisor"
# sub-directory -> mode
_SUBDIRS = {"pid": 0o755, "ctrl": 0o755, "conf": 0o700, "nic": 0o755, "chroot": 0o755,
            "keymap": 0o755, "uid": 0o755}
RUNTIME_VERSION = 1


def RootDir() -> str:
  return os.path.join(pathutils.RUN_DIR, ROOT_DIR_NAME)


def EnsureDirs() -> None:
  io.EnsureDirs([(RootDir(), 0o755)] +
                [(os.path.join(RootDir(), sub), mode) for sub, mode in _SUBDIRS.items()])


def CheckName(name: str) -> str:
  if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
    raise errors.HypervisorError("Invalid instance name %r" % name)
  return name


class InstanceFiles(NamedTuple):
  """The files of one instance on this node."""
  pid: str
  qmp: str
  serial: str
  runtime: str
  nic_dir: str
  chroot: str
  keymap: str
  uid: str

  @classmethod
  def For(cls, name: str, root: Optional[str] = None) -> "InstanceFiles":
    root = root or RootDir()
    CheckName(name)
    return cls(pid=os.path.join(root, "pid", name),
               qmp=os.path.join(root, "ctrl", name + ".qmp"),
               serial=os.path.join(root, "ctrl", name + ".serial"),
               runtime=os.path.join(root, "conf", name + ".runtime"),
               nic_dir=os.path.join(root, "nic", name),
               chroot=os.path.join(root, "chroot", name),
               keymap=os.path.join(root, "keymap", name),
               uid=os.path.join(root, "uid", name))

  def Remove(self) -> None:
    """Removes every file of the instance (the chroot only when empty) and
    gives back the uid it had from the pool."""
    uid = io.TryReadFile(self.uid)
    if uid and uid.strip().isdigit():
      uidpool.ReleaseUid(int(uid))
    for path in (self.pid, self.qmp, self.serial, self.runtime, self.keymap, self.uid):
      io.RemoveFile(path)
    if os.path.isdir(self.nic_dir):
      for entry in os.listdir(self.nic_dir):
        io.RemoveFile(os.path.join(self.nic_dir, entry))
      os.rmdir(self.nic_dir)
    try:
      os.rmdir(self.chroot)
    except OSError:
      pass


def SerialPathOnNode(name: str, node_name: str) -> str:
  """The serial socket of an instance as its primary node sees it (for
  commands run there); in a virtual cluster below that node's root."""
  path = InstanceFiles.For(name, os.path.join(vcluster.RemoveNodePrefix(pathutils.RUN_DIR),
                                              ROOT_DIR_NAME)).serial
  if vcluster.IsVirtualCluster():
    return os.path.join(os.path.dirname(vcluster.ROOTDIR), node_name) + path
  return path


# --- the runtime file -------------------------------------------------------------

def SaveRuntime(files: InstanceFiles, runtime: dict) -> None:
  io.WriteFile(files.runtime, Serialize(runtime), mode=0o600, mkdir=True)


def Serialize(runtime: dict) -> str:
  """The runtime as text for another node: block device links node-neutral."""
  data = dict(runtime, version=RUNTIME_VERSION)
  data["disks"] = [[disk, vcluster.MakeVirtualPath(link), uri]
                   for disk, link, uri in runtime.get("disks", ())]
  return json.dumps(data, sort_keys=True)


def Deserialize(text: str) -> dict:
  """A runtime received from Serialize, with this node's paths."""
  try:
    data = json.loads(text)
  except ValueError as err:
    raise errors.HypervisorError("Invalid KVM runtime data: %s" % err) from None
  if not isinstance(data, dict) or data.get("version") != RUNTIME_VERSION:
    raise errors.HypervisorError("Unsupported KVM runtime data (version %r)" %
                                 (data.get("version") if isinstance(data, dict) else None))
  data["disks"] = [[disk, vcluster.LocalizeVirtualPath(link), uri]
                   for disk, link, uri in data.get("disks", ())]
  return data


def LoadRuntime(files: InstanceFiles) -> Optional[dict]:
  text = io.TryReadFile(files.runtime)
  return None if text is None else Deserialize(text)


# --- the qemu process ---------------------------------------------------------------

def ReadPid(files: InstanceFiles) -> Optional[int]:
  text = io.TryReadFile(files.pid)
  try:
    return int(text.strip()) if text else None
  except ValueError:
    return None


def _CommandLine(pid: int) -> list[str]:
  try:
    with open("/proc/%d/cmdline" % pid, "rb") as handle:
      return handle.read().decode(errors="replace").split("\0")
  except OSError:
    return []


def _NamesInstance(argv: list[str], name: str) -> bool:
  """Whether a qemu command line is instance name's."""
  return any(word == "-name" and argv[index + 1].split(",")[0] == name
             for index, word in enumerate(argv[:-1]))


def IsOurProcess(pid: Optional[int], name: str) -> bool:
  """Whether pid is alive and the qemu of instance name (pids get reused)."""
  if not pid:
    return False
  return _NamesInstance(_CommandLine(pid), name) and not process.HasExited(pid)


def HasEnded(pid: int, name: str) -> bool:
  """Whether the instance's qemu, known to have had pid, has ended: gone or a
  zombie.  On its way out it shows no command line any more, but still
  holds its memory and files (the instance's disks) while it releases them."""
  if process.HasExited(pid):
    return True
  argv = _CommandLine(pid)
  return argv not in ([], [""]) and not _NamesInstance(argv, name)


def LivePid(name: str, files: Optional[InstanceFiles] = None) -> Optional[int]:
  """The pid of the instance's running qemu on this node, or None."""
  files = files or InstanceFiles.For(name)
  pid = ReadPid(files)
  return pid if IsOurProcess(pid, name) else None


def CpuSeconds(pid: int) -> float:
  """User plus system CPU time of a process."""
  fields = process.StatFields(pid) or []
  try:
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
  except (IndexError, ValueError):
    return 0.0


def Kill(pid: int, sig: int = signal.SIGKILL) -> None:
  try:
    os.kill(pid, sig)
  except ProcessLookupError:
    pass


def ListNames() -> list[str]:
  """Instances with a pid file here (alive or not)."""
  try:
    return sorted(os.listdir(os.path.join(RootDir(), "pid")))
  except FileNotFoundError:
    return []

