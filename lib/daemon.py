"""Runner for Ganeti daemons: options, daemonizing, pid file, logging, signals.

A daemon's module calls RunDaemon() from its Main().  The runner parses the
options every Ganeti daemon shares, checks that the daemon may start, detaches
from the terminal and only then lets the starting process exit, with the
daemon's own verdict: the starting process returns 0 once the daemon reported
that it is ready, or the daemon's error message and exit code otherwise.

A running daemon holds a POSIX lock on its pid file for its whole life; the
lock, not the pid, tells whether the daemon runs (pids get reused, locks die
with their process).
"""

import argparse
import ctypes
import dataclasses
import errno
import fcntl
import logging
import logging.handlers
import os
import signal
import socket
import sys
import threading
from typing import Any, Callable, Optional

from ganeti import constants
from ganeti import errors
from ganeti import netutils
from ganeti import pathutils
from ganeti import vcluster
from ganeti.utils import io

EXIT_SUCCESS = 0
EXIT_FAILURE = 1
EXIT_NOTMASTER = 11  # Ganeti's exit code of a master daemon on another node

# glibc gives every thread that allocates its own malloc arena (up to 8 per
# core); a daemon's many short-lived threads (LUXI connections, jobs, RPC)
# then leave memory scattered over them.  Two arenas cut the master's peak
# on a 50-node cluster from about 100 to 70 MB (test/bench/bench_verify.py).
_M_ARENA_MAX = -8
_DAEMON_MALLOC_ARENAS = 2

# Network daemons get -b/-p options; (protocol, default port) per daemon.
DAEMON_PORTS = {
  constants.NODED: ("tcp", constants.DEFAULT_NODED_PORT),
  constants.CONFD: ("udp", constants.DEFAULT_CONFD_PORT),
  constants.RAPI: ("tcp", constants.DEFAULT_RAPI_PORT),
}
DEFAULT_BIND_ADDRESS = "0.0.0.0"
SYSLOG_SOCKET = "/dev/log"

# Directories a node needs for its daemons, with Ganeti's modes.  Existing
# directories are never changed: outside a virtual cluster LOCK_DIR is the
# system's /var/lock.
DAEMON_DIRS = (
  (pathutils.RUN_DIR, 0o775),
  (pathutils.SOCKET_DIR, 0o770),
  (pathutils.BDEV_CACHE_DIR, 0o755),
  (pathutils.DISK_LINKS_DIR, 0o755),
  (pathutils.CRYPTO_KEYS_DIR, 0o700),
  (pathutils.IMPORT_EXPORT_DIR, 0o755),
  (pathutils.INSTANCE_REASON_DIR, 0o755),
  (pathutils.LIVELOCK_DIR, 0o750),
  (pathutils.LOG_DIR, 0o770),
  (pathutils.LOG_OS_DIR, 0o750),
  (pathutils.LOCK_DIR, 0o755),
  (pathutils.CONF_DIR, 0o755),
  (pathutils.DATA_DIR, 0o755),
  (pathutils.RAPI_DATA_DIR, 0o750),
  (pathutils.QUEUE_DIR, 0o750),
  (pathutils.JOB_QUEUE_ARCHIVE_DIR, 0o750),
  # without it a node answers "No exports directory" to gnt-backup list
  (pathutils.EXPORT_DIR, 0o750),
)

_LOG_FORMAT = "%(asctime)s: {program} pid=%(process)d {where}%(levelname)s %(message)s"
_SYSLOG_FORMAT = "{program} pid=%(process)d %(levelname)s %(message)s"


class DaemonError(errors.GenericError):
  """A daemon cannot start; carries the exit code the starter should see."""

  def __init__(self, message: str, exit_code: int = EXIT_FAILURE):
    super().__init__(message)
    self.exit_code = exit_code


@dataclasses.dataclass
class DaemonContext:
  """What a running daemon's functions get: its options and its stop signal.

  stop_event is set on SIGTERM/SIGINT (or RequestStop()); functions added
  with AddStopCallback run then, in a helper thread, so they may wait for a
  main loop that blocks the main thread (e.g. a socketserver's shutdown()).
  """
  name: str
  options: argparse.Namespace
  stop_event: threading.Event = dataclasses.field(default_factory=threading.Event)
  prepared: Any = None  # what prepare_fn returned
  _stop_callbacks: list = dataclasses.field(default_factory=list, init=False, repr=False)
  _stop_once: threading.Lock = dataclasses.field(default_factory=threading.Lock, init=False,
                                                 repr=False)

  def AddStopCallback(self, callback: Callable[[], None]) -> None:
    self._stop_callbacks.append(callback)

  def RequestStop(self) -> None:
    """Starts an orderly stop; safe to call from signal handlers, repeatedly."""
    if not self._stop_once.acquire(blocking=False):
      return
    logging.info("Stop requested")
    self.stop_event.set()
    if self._stop_callbacks:
      threading.Thread(target=self._RunStopCallbacks, name="stop", daemon=True).start()

  def _RunStopCallbacks(self) -> None:
    for callback in self._stop_callbacks:
      try:
        callback()
      except Exception:  # one failing callback must not keep the others from running
        logging.exception("Error in stop callback %r", callback)


# --- directories, host and master node -----------------------------------

# This node's name: the virtual node's, or the host's full name
GetHostname = netutils.GetHostname


def GetMasterNode() -> Optional[str]:
  """The master node named by ssconf, or None on a node without cluster."""
  content = io.TryReadFile(pathutils.SSCONF_PREFIX + "master_node")
  return (content or "").strip() or None


def IsMasterNode() -> bool:
  """Whether ssconf names this node as the master."""
  master = GetMasterNode()
  if master is None:
    return False
  names = {GetHostname()}
  if not vcluster.IsVirtualCluster():
    names.add(socket.gethostname())
  return master.lower() in {name.lower() for name in names}


# --- pid files -------------------------------------------------------------

def _ReadPid(fd: int) -> Optional[int]:
  os.lseek(fd, 0, os.SEEK_SET)
  text = os.read(fd, 64).decode("ascii", "replace").strip()
  return int(text) if text.isdigit() else None


def _LockPidFile(name: str) -> int:
  """Locks and fills the daemon's pid file; the fd must stay open."""
  path = pathutils.GetPidFile(name)
  fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
  try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
  except OSError as err:
    holder = _ReadPid(fd)
    os.close(fd)
    if err.errno not in (errno.EACCES, errno.EAGAIN):
      raise
    raise errors.PidFileLockError(
      "already running (pid %s), its pid file %s is locked"
      % (holder if holder is not None else "unknown", path)) from None
  os.ftruncate(fd, 0)
  os.write(fd, b"%d\n" % os.getpid())
  return fd


def _ReleasePidFile(name: str, fd: int) -> None:
  # Unlink while still holding the lock, so nobody reads our pid as stale.
  io.RemoveFile(pathutils.GetPidFile(name))
  os.close(fd)


def GetDaemonPid(name: str) -> tuple[bool, Optional[int]]:
  """(running, pid) of a daemon, judged by the lock on its pid file.

  pid is None when there is no pid file or it is unreadable.  Must not be
  called by the daemon itself: closing any descriptor of a file drops the
  process's POSIX locks on it.
  """
  try:
    fd = os.open(pathutils.GetPidFile(name), os.O_RDONLY | os.O_CLOEXEC)
  except FileNotFoundError:
    return False, None
  try:
    pid = _ReadPid(fd)
    try:
      fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as err:
      if err.errno in (errno.EACCES, errno.EAGAIN):
        return True, pid
      raise
    return False, pid
  finally:
    os.close(fd)


# --- logging ---------------------------------------------------------------

class _ReopenableFileHandler(logging.FileHandler):
  """A log file that can be reopened after rotation (SIGHUP)."""

  def Reopen(self) -> None:
    with self.lock:
      if self.stream is not None:
        self.stream.close()
      self.stream = self._open()


def _Formatter(template: str, program: str, debug: bool) -> logging.Formatter:
  where = "%(module)s:%(lineno)s " if debug else ""
  return logging.Formatter(template.format(program=program.replace("%", "%%"), where=where))


def SetupLogging(logfile: Optional[str], program: str, debug: bool = False,
                 stderr_logging: bool = False, syslog: bool = False) -> Callable[[], None]:
  """Sends the root logger to Ganeti's log line format; returns a reopen function.

  Lines look like "2026-11-25 03:41:01,722: ganeti-noded pid=6838 INFO text";
  in debug mode the source module and line come before the level.
  """
  root = logging.getLogger()
  for handler in list(root.handlers):
    root.removeHandler(handler)
    handler.close()
  root.setLevel(logging.DEBUG if debug else logging.INFO)
  formatter = _Formatter(_LOG_FORMAT, program, debug)
  file_handler = None
  if logfile:
    file_handler = _ReopenableFileHandler(logfile, encoding="utf-8")
    os.chmod(logfile, 0o600)
    file_handler.setFormatter(formatter)
    root.addHandler(file_handler)
  if stderr_logging:
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(formatter)
    root.addHandler(console)
  if syslog and os.path.exists(SYSLOG_SOCKET):
    sys_handler = logging.handlers.SysLogHandler(address=SYSLOG_SOCKET)
    sys_handler.setFormatter(_Formatter(_SYSLOG_FORMAT, program, debug))
    root.addHandler(sys_handler)

  def Reopen() -> None:
    if file_handler is not None:
      file_handler.Reopen()
  return Reopen


# --- option parsing --------------------------------------------------------

def _DefaultPort(name: str, protocol: str, default: int) -> int:
  """The port from the services database, like Ganeti, else the default."""
  try:
    return socket.getservbyname(name, protocol)
  except OSError:
    return default


def BuildParser(name: str) -> argparse.ArgumentParser:
  """The parser with the options every Ganeti daemon accepts."""
  parser = argparse.ArgumentParser(prog=name, description="Ganeti daemon %s" % name)
  parser.add_argument("-f", "--foreground", action="store_true",
                      help="stay in the foreground and log to stderr as well")
  parser.add_argument("-d", "--debug", action="store_true", help="log debug messages")
  parser.add_argument("--syslog", action="store_true", help="log to syslog as well")
  parser.add_argument("--no-user-checks", dest="no_user_checks", action="store_true",
                      help="accepted for compatibility; users are never checked")
  if name in DAEMON_PORTS:
    protocol, default_port = DAEMON_PORTS[name]
    parser.add_argument("-p", "--port", type=int,
                        default=_DefaultPort(name, protocol, default_port),
                        help="%s port to listen on (default: %%(default)s)" % protocol.upper())
    parser.add_argument("-b", "--bind", default=DEFAULT_BIND_ADDRESS, metavar="ADDRESS",
                        help="address to bind to (default: %(default)s)")
  return parser


# --- start-up reporting and daemonizing -----------------------------------

class _StartupReport:
  """Tells the process that started the daemon how start-up went (a pipe)."""

  def __init__(self, fd: Optional[int]):
    self._fd = fd

  def _Send(self, text: str) -> None:
    if self._fd is None:
      return
    try:
      os.write(self._fd, text.encode("utf-8"))
    except OSError:
      pass  # the starter is gone; nobody to tell
    os.close(self._fd)
    self._fd = None

  def Started(self) -> None:
    self._Send("%d\n" % EXIT_SUCCESS)

  def Failed(self, exit_code: int, message: str) -> None:
    self._Send("%d\n%s" % (exit_code, message))


def _AwaitStartup(name: str, read_fd: int) -> int:
  with os.fdopen(read_fd, "rb") as pipe:
    answer = pipe.read().decode("utf-8", "replace")
  code_line, _, message = answer.partition("\n")
  if not code_line.strip().isdigit():
    sys.stderr.write("%s: daemon exited during start-up, see %s\n"
                     % (name, pathutils.GetLogFilename(name)))
    return EXIT_FAILURE
  if message:
    sys.stderr.write("%s: %s\n" % (name, message))
  return int(code_line)


def _RedirectStdio(logfile: str) -> None:
  null_fd = os.open(os.devnull, os.O_RDONLY)
  log_fd = os.open(logfile, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
  os.dup2(null_fd, 0)
  os.dup2(log_fd, 1)
  os.dup2(log_fd, 2)
  os.close(null_fd)
  os.close(log_fd)


def _LimitMallocArenas() -> None:
  """Caps glibc's malloc arenas before the daemon starts threads."""
  try:
    ctypes.CDLL(None).mallopt(_M_ARENA_MAX, _DAEMON_MALLOC_ARENAS)
  except (OSError, AttributeError):  # not glibc: nothing to tune
    pass


def _Serve(ctx: DaemonContext, main_fn: Callable[[DaemonContext], Optional[int]],
           prepare_fn: Optional[Callable[[DaemonContext], Any]],
           report: _StartupReport, daemonized: bool) -> int:
  """Runs a daemon in this process: pid file, logging, signals, prepare, main."""
  _LimitMallocArenas()
  name, options = ctx.name, ctx.options
  logfile = pathutils.GetLogFilename(name)
  reopen_log = SetupLogging(logfile, name, debug=options.debug,
                            stderr_logging=not daemonized, syslog=options.syslog)

  def Reopen(*_) -> None:
    reopen_log()
    if daemonized:
      _RedirectStdio(logfile)  # stray output follows the log to its new file

  try:
    pid_fd = _LockPidFile(name)
  except (errors.PidFileLockError, OSError) as err:
    logging.error("%s", err)
    report.Failed(EXIT_FAILURE, str(err))
    return EXIT_FAILURE
  try:
    signal.signal(signal.SIGTERM, lambda *_: ctx.RequestStop())
    signal.signal(signal.SIGINT, lambda *_: ctx.RequestStop())
    signal.signal(signal.SIGHUP, Reopen)
    logging.info("%s daemon startup", name)
    try:
      if prepare_fn is not None:
        ctx.prepared = prepare_fn(ctx)
    except DaemonError as err:
      logging.error("Start-up failed: %s", err)
      report.Failed(err.exit_code, str(err))
      return err.exit_code
    except Exception as err:
      logging.exception("Start-up failed")
      report.Failed(EXIT_FAILURE, "start-up failed: %s" % err)
      return EXIT_FAILURE
    report.Started()
    try:
      return main_fn(ctx) or EXIT_SUCCESS
    except Exception:
      logging.exception("Unhandled error, stopping")
      return EXIT_FAILURE
  finally:
    logging.info("%s daemon shutdown", name)
    _ReleasePidFile(name, pid_fd)


def _Daemonize(ctx: DaemonContext, run: Callable[[_StartupReport], int]) -> int:
  """Detaches run() into a daemon; returns the daemon's start-up verdict."""
  read_fd, write_fd = os.pipe()
  first_child = os.fork()
  if first_child:
    os.close(write_fd)
    os.waitpid(first_child, 0)
    return _AwaitStartup(ctx.name, read_fd)
  # Intermediate child: new session, then fork so the daemon can never
  # reacquire a controlling terminal.
  code = EXIT_FAILURE
  try:
    os.close(read_fd)
    os.setsid()
    if os.fork():
      os._exit(EXIT_SUCCESS)
    os.chdir("/")
    os.umask(0o077)
    _RedirectStdio(pathutils.GetLogFilename(ctx.name))
    code = run(_StartupReport(write_fd))
  except BaseException:  # a child must never return into the caller's code
    logging.exception("Daemon process failed")
  finally:
    logging.shutdown()
    os._exit(code)


def RunDaemon(name: str, main_fn: Callable[[DaemonContext], Optional[int]],
              parser_setup: Optional[Callable[[argparse.ArgumentParser], None]] = None,
              check_fn: Optional[Callable[[argparse.Namespace], None]] = None,
              prepare_fn: Optional[Callable[[DaemonContext], Any]] = None,
              argv: Optional[list[str]] = None) -> int:
  """Parses options, checks, daemonizes and runs a daemon; returns an exit code.

  parser_setup(parser) adds daemon-specific options.  check_fn(options) runs
  in the starting process before anything else and refuses the start by
  raising DaemonError (e.g. with EXIT_NOTMASTER).  prepare_fn(ctx) runs in
  the daemon after the pid file is locked and logging is set up; its errors
  reach the starting process, its result is ctx.prepared.  main_fn(ctx) then
  runs until ctx.stop_event is set and returns the exit code (None for 0).
  """
  parser = BuildParser(name)
  if parser_setup is not None:
    parser_setup(parser)
  options = parser.parse_args(argv)
  try:
    if check_fn is not None:
      check_fn(options)
    io.EnsureDirs(DAEMON_DIRS)
  except DaemonError as err:
    sys.stderr.write("%s: %s\n" % (name, err))
    return err.exit_code
  except OSError as err:
    sys.stderr.write("%s: cannot create directories: %s\n" % (name, err))
    return EXIT_FAILURE
  ctx = DaemonContext(name=name, options=options)
  if options.foreground:
    return _Serve(ctx, main_fn, prepare_fn, _StartupReport(None), daemonized=False)
  return _Daemonize(ctx, lambda report: _Serve(ctx, main_fn, prepare_fn, report,
                                               daemonized=True))
