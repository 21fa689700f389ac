"""daemon-util: start, stop and check this node's Ganeti daemons.

Daemon programs are looked up next to daemon-util's own launcher first (the
sbin directory of a built tree), then in the installed sbin directory; a
daemon whose program is in neither place is skipped by start-all, so the set
of daemons grows as programs get built.  Extra options per daemon come from
the environment file (/etc/default/ganeti below the node's root), e.g.
NODED_ARGS="-b 192.0.2.11".
"""

import os
import shlex
import signal
import subprocess
import sys
import time
from typing import Callable, Optional, Sequence

from ganeti import _autoconf
from ganeti import constants
from ganeti import daemon
from ganeti import pathutils
from ganeti.utils import io

START_ORDER = (constants.NODED, constants.CONFD, constants.MASTERD, constants.RAPI)
STOP_ORDER = tuple(reversed(START_ORDER))
# Started by start-all only where ssconf names this node as the master.
MASTER_DAEMONS = frozenset([constants.MASTERD, constants.RAPI])

DAEMON_ENV_FILE = pathutils.SYSCONFDIR + "/default/ganeti"
STOP_TIMEOUT = 30.0  # seconds between SIGTERM and SIGKILL
KILL_TIMEOUT = 5.0
_POLL_INTERVAL = 0.05


def _Note(message: str) -> None:
  sys.stderr.write(message + "\n")


def ArgsVariable(name: str) -> str:
  """The environment file variable with a daemon's extra options (NODED_ARGS)."""
  return name.removeprefix("ganeti-").upper().replace("-", "_") + "_ARGS"


def ReadEnvFile(path: str = DAEMON_ENV_FILE) -> dict[str, str]:
  """Reads shell-style NAME=value assignments; a missing file is empty."""
  values = {}
  for line in (io.TryReadFile(path) or "").splitlines():
    line = line.strip()
    if not line or line.startswith("#"):
      continue
    key, sep, value = line.removeprefix("export ").partition("=")
    if not sep or not key.strip().isidentifier():
      continue
    try:
      values[key.strip()] = " ".join(shlex.split(value, comments=True))
    except ValueError:
      _Note("Ignoring malformed line in %s: %s" % (path, line))
  return values


def DaemonArgs(name: str) -> list[str]:
  """A daemon's extra options from the environment file."""
  return shlex.split(ReadEnvFile().get(ArgsVariable(name), ""))


def ProgramDirs() -> list[str]:
  """Where daemon programs are looked for, in order."""
  dirs = []
  if sys.argv and sys.argv[0]:
    dirs.append(os.path.dirname(os.path.abspath(sys.argv[0])))
  dirs.append(_autoconf.SBINDIR)
  return list(dict.fromkeys(dirs))


def FindProgram(name: str) -> Optional[str]:
  for directory in ProgramDirs():
    candidate = os.path.join(directory, name)
    if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
      return candidate
  return None


def IsRunning(name: str) -> bool:
  return daemon.GetDaemonPid(name)[0]


def StartDaemon(name: str, extra_args: Sequence[str] = ()) -> int:
  """Starts a daemon unless it runs; returns the daemon's start-up exit code."""
  if IsRunning(name):
    return daemon.EXIT_SUCCESS
  program = FindProgram(name)
  if program is None:
    _Note("Cannot start %s: program not found in %s" % (name, ", ".join(ProgramDirs())))
    return daemon.EXIT_FAILURE
  try:
    return subprocess.call([program] + DaemonArgs(name) + list(extra_args))
  except OSError as err:
    _Note("Cannot run %s: %s" % (program, err))
    return daemon.EXIT_FAILURE


def _WaitForExit(name: str, timeout: float) -> bool:
  deadline = time.monotonic() + timeout
  while IsRunning(name):
    if time.monotonic() >= deadline:
      return False
    time.sleep(_POLL_INTERVAL)
  return True


def StopDaemon(name: str, timeout: float = STOP_TIMEOUT) -> int:
  """SIGTERM, then SIGKILL after timeout; removes stale pid files."""
  pidfile = pathutils.GetPidFile(name)
  running, pid = daemon.GetDaemonPid(name)
  if running:
    if pid is None:
      _Note("Cannot stop %s: %s is locked but holds no pid" % (name, pidfile))
      return daemon.EXIT_FAILURE
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, KILL_TIMEOUT)):
      try:
        os.kill(pid, sig)
      except ProcessLookupError:
        pass
      if _WaitForExit(name, wait):
        break
      if sig == signal.SIGTERM:
        _Note("%s (pid %d) did not stop within %gs, killing it" % (name, pid, timeout))
    else:
      _Note("Cannot stop %s (pid %d)" % (name, pid))
      return daemon.EXIT_FAILURE
  # Left behind by a daemon that was killed or crashed.
  if not IsRunning(name):
    io.RemoveFile(pidfile)
  return daemon.EXIT_SUCCESS


def _StartReason(name: str) -> Optional[str]:
  """Why start-all leaves a daemon alone on this node, if it does."""
  if FindProgram(name) is None:
    return "not installed"
  if name in MASTER_DAEMONS and not daemon.IsMasterNode():
    return "this node (%s) is not the master (%s)" % (
      daemon.GetHostname(), daemon.GetMasterNode() or "no cluster")
  return None


def StartAll() -> int:
  """Starts every daemon this node should run; stops at the first failure."""
  for name in START_ORDER:
    reason = _StartReason(name)
    if reason is not None:
      _Note("Note: not starting %s: %s" % (name, reason))
      continue
    code = StartDaemon(name)
    if code == daemon.EXIT_NOTMASTER:
      _Note("Note: %s did not start: not the master node" % name)
    elif code != daemon.EXIT_SUCCESS:
      _Note("Starting %s failed (exit code %d)" % (name, code))
      return code
  return daemon.EXIT_SUCCESS


def StopAll() -> int:
  failed = [name for name in STOP_ORDER if StopDaemon(name) != daemon.EXIT_SUCCESS]
  return daemon.EXIT_FAILURE if failed else daemon.EXIT_SUCCESS


def _PrintNames(names: Sequence[str]) -> int:
  for name in names:
    print(name)
  return daemon.EXIT_SUCCESS


def _CheckAndStart(name: str, extra_args: Sequence[str]) -> int:
  return daemon.EXIT_SUCCESS if IsRunning(name) else StartDaemon(name, extra_args)


# command -> (function, whether it takes a daemon name and its extra arguments)
_COMMANDS: dict[str, tuple[Callable[..., int], bool]] = {
  "check": (lambda name, _: daemon.EXIT_SUCCESS if IsRunning(name) else daemon.EXIT_FAILURE,
            True),
  "start": (StartDaemon, True),
  "stop": (lambda name, _: StopDaemon(name), True),
  "check-and-start": (_CheckAndStart, True),
  "start-all": (StartAll, False),
  "stop-all": (StopAll, False),
  "list-start-daemons": (lambda: _PrintNames(START_ORDER), False),
  "list-stop-daemons": (lambda: _PrintNames(STOP_ORDER), False),
}


def _IsDaemonName(name: str) -> bool:
  if name in START_ORDER:
    return True
  _Note("Unknown daemon name '%s'" % name)
  return False


def Main(argv: Optional[list[str]] = None) -> int:
  args = sys.argv[1:] if argv is None else argv
  if not args:
    _Note("Usage: %s <action>\nActions: %s" % (
      os.path.basename(sys.argv[0]) or "daemon-util",
      " ".join(sorted(list(_COMMANDS) + ["is-daemon-name"]))))
    return daemon.EXIT_FAILURE
  command, rest = args[0], args[1:]
  if command == "is-daemon-name":
    if not rest:
      _Note("Missing daemon name.")
      return daemon.EXIT_FAILURE
    return daemon.EXIT_SUCCESS if _IsDaemonName(rest[0]) else daemon.EXIT_FAILURE
  if command not in _COMMANDS:
    _Note("Unknown command: %s" % command)
    return daemon.EXIT_FAILURE
  function, takes_name = _COMMANDS[command]
  if not takes_name:
    return function()
  if not rest:
    _Note("Missing daemon name.")
    return daemon.EXIT_FAILURE
  if not _IsDaemonName(rest[0]):
    return daemon.EXIT_FAILURE
  return function(rest[0], rest[1:])
