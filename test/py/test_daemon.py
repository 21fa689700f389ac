"""Tests for ganeti.daemon (the daemon runner) and daemon-util.

Every daemon here runs as a node of a virtual cluster below a temporary
directory, started through real launchers, so forks happen outside pytest.
"""

import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import BUILD

# A daemon program for the tests; it takes its daemon name from its file name.
DUMMY_DAEMON = textwrap.dedent("""\
  import logging, os, sys
  sys.path.insert(0, %(build)r)
  from ganeti import daemon

  def Setup(parser):
    parser.add_argument("--fail-with", type=int)
    parser.add_argument("--not-master", action="store_true")
    parser.add_argument("--ignore-term", action="store_true")
    parser.add_argument("--tick", action="store_true")
    parser.add_argument("--greeting", default="")

  def Check(options):
    if options.not_master:
      raise daemon.DaemonError("not the master", daemon.EXIT_NOTMASTER)

  def Prepare(ctx):
    if ctx.options.fail_with:
      raise daemon.DaemonError("cannot bind the socket", ctx.options.fail_with)
    if ctx.options.ignore_term:
      import signal
      signal.signal(signal.SIGTERM, signal.SIG_IGN)
    ctx.AddStopCallback(lambda: logging.info("stop callback ran"))
    return "prepared-value"

  def Main(ctx):
    logging.info("greeting=%%s prepared=%%s", ctx.options.greeting, ctx.prepared)
    logging.debug("debug line")
    while not ctx.stop_event.wait(0.05):
      if ctx.options.tick:
        logging.info("tick")
    return 0

  sys.exit(daemon.RunDaemon(os.path.basename(sys.argv[0]), Main, Setup, Check, Prepare))
  """)

DAEMON_UTIL_LAUNCHER = textwrap.dedent("""\
  import os, sys
  sys.path.insert(0, %(build)r)
  from ganeti import _autoconf
  # only this test's programs: never an installation's (e.g. /usr/local/sbin)
  _autoconf.SBINDIR = os.path.dirname(os.path.abspath(sys.argv[0]))
  from ganeti.tools.daemon_util import Main
  sys.exit(Main())
  """)

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}: (?P<prog>\S+) pid=(?P<pid>\d+) "
                      r"(?:(?P<where>\S+:\d+) )?(?P<level>[A-Z]+) (?P<msg>.*)$")


def _WriteProgram(path, body):
  with open(path, "w") as handle:
    handle.write("#!%s\n" % sys.executable + body % {"build": BUILD})
  os.chmod(path, 0o755)


class Node:
  """A virtual node below tmp_path with a sbin of test launchers."""

  def __init__(self, tmp_path, daemons=("ganeti-noded",)):
    self.root = str(tmp_path / "node1")
    self.sbin = str(tmp_path / "sbin")
    os.makedirs(self.root)
    os.makedirs(self.sbin)
    _WriteProgram(os.path.join(self.sbin, "daemon-util"), DAEMON_UTIL_LAUNCHER)
    for name in daemons:
      _WriteProgram(os.path.join(self.sbin, name), DUMMY_DAEMON)
    self.env = dict(os.environ, GANETI_ROOTDIR=self.root, GANETI_HOSTNAME="node1")

  def Run(self, *args, timeout=20):
    return subprocess.run(list(args), env=self.env, capture_output=True, text=True,
                          timeout=timeout)

  def Start(self, name="ganeti-noded", *args):
    return self.Run(os.path.join(self.sbin, name), *args)

  def DaemonUtil(self, *args):
    return self.Run(os.path.join(self.sbin, "daemon-util"), *args)

  def Python(self, code):
    result = self.Run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()

  def Path(self, expression):
    return self.Python("from ganeti import pathutils; print(pathutils.%s)" % expression)

  def PidFile(self, name="ganeti-noded"):
    return self.Path("GetPidFile(%r)" % name)

  def LogFile(self, name="ganeti-noded"):
    return self.Path("GetLogFilename(%r)" % name)

  def Pid(self, name="ganeti-noded"):
    with open(self.PidFile(name)) as handle:
      return int(handle.read())

  def KillAll(self):
    run_dir = self.Path("RUN_DIR")
    for entry in os.listdir(run_dir) if os.path.isdir(run_dir) else []:
      if entry.endswith(".pid"):
        try:
          with open(os.path.join(run_dir, entry)) as handle:
            os.kill(int(handle.read()), signal.SIGKILL)
        except (ValueError, OSError):
          pass


@pytest.fixture
def node(tmp_path):
  node = Node(tmp_path, daemons=("ganeti-noded", "ganeti-masterd"))
  yield node
  node.KillAll()


def _WaitFor(predicate, timeout=10.0):
  deadline = time.monotonic() + timeout
  while not predicate():
    if time.monotonic() > deadline:
      raise AssertionError("timed out waiting")
    time.sleep(0.02)


def _Alive(pid):
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  with open("/proc/%d/stat" % pid) as handle:  # a zombie has exited
    return handle.read().rsplit(")", 1)[1].split()[0] != "Z"


def _LogLines(node, name="ganeti-noded"):
  with open(node.LogFile(name)) as handle:
    return handle.read().splitlines()


def test_daemonizes_after_startup_and_locks_pidfile(node):
  result = node.Start("ganeti-noded", "--greeting", "hi")
  assert result.returncode == 0, result.stderr
  assert result.stdout == result.stderr == ""
  pid = node.Pid()
  assert pid != os.getpid() and _Alive(pid)
  assert os.stat(node.PidFile()).st_mode & 0o777 == 0o600
  # a daemon: in a new session that it does not lead (so no terminal can be acquired)
  with open("/proc/%d/stat" % pid) as handle:
    session = int(handle.read().rsplit(")", 1)[1].split()[3])
  assert session not in (pid, os.getsid(0))
  _WaitFor(lambda: any("greeting=hi" in line for line in _LogLines(node)))
  assert os.readlink("/proc/%d/fd/0" % pid) == os.devnull
  assert os.readlink("/proc/%d/fd/2" % pid) == node.LogFile()


def test_log_line_format(node):
  assert node.Start().returncode == 0
  pid = node.Pid()
  _WaitFor(lambda: any("greeting=" in line for line in _LogLines(node)))
  parsed = [LOG_LINE.match(line) for line in _LogLines(node)]
  assert all(parsed), _LogLines(node)
  assert parsed[0].group("msg") == "ganeti-noded daemon startup"
  assert {(m.group("prog"), int(m.group("pid")), m.group("where")) for m in parsed} == \
      {("ganeti-noded", pid, None)}
  assert [m.group("level") for m in parsed] == ["INFO", "INFO"]  # no debug lines
  assert parsed[1].group("msg") == "greeting= prepared=prepared-value"
  assert os.stat(node.LogFile()).st_mode & 0o777 == 0o600


def test_debug_adds_source_location(node):
  assert node.Start("ganeti-noded", "-d").returncode == 0
  _WaitFor(lambda: any("debug line" in line for line in _LogLines(node)))
  debug = [LOG_LINE.match(line) for line in _LogLines(node) if "debug line" in line][0]
  assert debug.group("level") == "DEBUG"
  assert re.fullmatch(r"ganeti-noded:\d+", debug.group("where"))


def test_second_instance_is_refused(node):
  assert node.Start().returncode == 0
  pid = node.Pid()
  second = node.Start()
  assert second.returncode == 1
  assert "already running (pid %d)" % pid in second.stderr
  assert second.stderr.startswith("ganeti-noded: ")
  assert node.Pid() == pid and _Alive(pid)  # the pid file was left alone


def test_sigterm_stops_in_order(node):
  assert node.Start().returncode == 0
  pid = node.Pid()
  os.kill(pid, signal.SIGTERM)
  _WaitFor(lambda: not _Alive(pid))
  assert not os.path.exists(node.PidFile())
  messages = [LOG_LINE.match(line).group("msg") for line in _LogLines(node)]
  assert "stop callback ran" in messages
  assert messages[-1] == "ganeti-noded daemon shutdown"


def test_startup_failure_reaches_the_starter(node):
  result = node.Start("ganeti-noded", "--fail-with", "7")
  assert result.returncode == 7
  assert result.stderr == "ganeti-noded: cannot bind the socket\n"
  assert not os.path.exists(node.PidFile())
  assert node.DaemonUtil("check", "ganeti-noded").returncode == 1


def test_check_refusal_exit_code(node):
  result = node.Start("ganeti-noded", "--not-master")
  assert (result.returncode, result.stderr) == (11, "ganeti-noded: not the master\n")
  assert not os.path.exists(node.PidFile())


def test_bad_option_is_a_usage_error(node):
  result = node.Start("ganeti-noded", "--no-such-option")
  assert result.returncode == 2 and "usage: ganeti-noded" in result.stderr


def test_sighup_reopens_the_log(node):
  assert node.Start("ganeti-noded", "--tick").returncode == 0
  logfile = node.LogFile()
  _WaitFor(lambda: any(line.endswith(" tick") for line in _LogLines(node)))
  os.rename(logfile, logfile + ".1")
  os.kill(node.Pid(), signal.SIGHUP)
  _WaitFor(lambda: os.path.exists(logfile) and
           any(line.endswith(" tick") for line in _LogLines(node)))
  assert os.readlink("/proc/%d/fd/2" % node.Pid()) == logfile


def test_foreground_logs_to_stderr_and_stops_on_sigint(node):
  process = subprocess.Popen([os.path.join(node.sbin, "ganeti-noded"), "-f"], env=node.env,
                             stderr=subprocess.PIPE, text=True)
  try:
    _WaitFor(lambda: os.path.exists(node.PidFile()) and
             any("greeting=" in line for line in _LogLines(node)))
    assert node.Pid() == process.pid
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 0
  finally:
    process.kill()
  stderr = process.stderr.read()
  assert "ganeti-noded daemon startup" in stderr and "daemon shutdown" in stderr
  assert not os.path.exists(node.PidFile())


def test_creates_node_directories_with_modes(node):
  assert node.Start().returncode == 0
  for expression, mode in (("RUN_DIR", 0o775), ("SOCKET_DIR", 0o770), ("LOG_DIR", 0o770),
                           ("QUEUE_DIR", 0o750), ("JOB_QUEUE_ARCHIVE_DIR", 0o750),
                           ("CRYPTO_KEYS_DIR", 0o700), ("DATA_DIR", 0o755)):
    path = node.Path(expression)
    assert path.startswith(node.root + "/")
    assert os.stat(path).st_mode & 0o7777 == mode, expression


# --- daemon-util -----------------------------------------------------------

def test_daemon_util_start_check_stop(node):
  assert node.DaemonUtil("check", "ganeti-noded").returncode == 1
  assert node.DaemonUtil("start", "ganeti-noded").returncode == 0
  assert node.DaemonUtil("check", "ganeti-noded").returncode == 0
  pid = node.Pid()
  # starting a running daemon is a no-op that succeeds
  assert node.DaemonUtil("start", "ganeti-noded").returncode == 0
  assert node.DaemonUtil("check-and-start", "ganeti-noded").returncode == 0
  assert node.Pid() == pid
  assert node.DaemonUtil("stop", "ganeti-noded").returncode == 0
  assert not _Alive(pid)
  assert node.DaemonUtil("check", "ganeti-noded").returncode == 1
  assert not os.path.exists(node.PidFile())
  assert node.DaemonUtil("stop", "ganeti-noded").returncode == 0  # stopped already
  assert node.DaemonUtil("check-and-start", "ganeti-noded").returncode == 0
  assert node.DaemonUtil("check", "ganeti-noded").returncode == 0


def test_daemon_util_stale_pidfile(node):
  dead = subprocess.Popen(["true"])
  dead.wait()
  os.makedirs(os.path.dirname(node.PidFile()), exist_ok=True)
  with open(node.PidFile(), "w") as handle:
    handle.write("%d\n" % dead.pid)
  assert node.DaemonUtil("check", "ganeti-noded").returncode == 1
  assert node.DaemonUtil("stop", "ganeti-noded").returncode == 0
  assert not os.path.exists(node.PidFile())
  with open(node.PidFile(), "w") as handle:
    handle.write("%d\n" % dead.pid)
  assert node.DaemonUtil("start", "ganeti-noded").returncode == 0  # takes over the file
  assert _Alive(node.Pid())


def test_daemon_util_passes_environment_file_args(node):
  env_file = node.Python("from ganeti.tools import daemon_util; print(daemon_util.DAEMON_ENV_FILE)")
  assert env_file == node.root + "/etc/default/ganeti"
  os.makedirs(os.path.dirname(env_file))
  with open(env_file, "w") as handle:
    handle.write('# comment\nNODED_ARGS="--greeting from-env"\nRAPI_ARGS="-b 127.0.0.1"\n')
  assert node.DaemonUtil("start", "ganeti-noded", "-d").returncode == 0
  _WaitFor(lambda: any("greeting=from-env" in line for line in _LogLines(node)))
  assert any(" DEBUG debug line" in line for line in _LogLines(node))  # extra args too


def test_daemon_util_start_failure_exit_code(node):
  result = node.DaemonUtil("start", "ganeti-noded", "--fail-with", "5")
  assert result.returncode == 5 and "cannot bind the socket" in result.stderr


def test_stop_kills_a_daemon_ignoring_sigterm(node):
  assert node.DaemonUtil("start", "ganeti-noded", "--ignore-term").returncode == 0
  pid = node.Pid()
  result = node.Run(sys.executable, "-c",
                    "from ganeti.tools import daemon_util;"
                    "raise SystemExit(daemon_util.StopDaemon('ganeti-noded', timeout=0.3))")
  assert result.returncode == 0, result.stderr
  assert "did not stop within 0.3s, killing it" in result.stderr
  assert not _Alive(pid)
  assert not os.path.exists(node.PidFile())


def _WriteMaster(node, name):
  prefix = node.Path("SSCONF_PREFIX")
  os.makedirs(os.path.dirname(prefix), exist_ok=True)
  with open(prefix + "master_node", "w") as handle:
    handle.write(name + "\n")


def test_start_all_skips_missing_programs_and_non_master(node):
  _WriteMaster(node, "node2")
  result = node.DaemonUtil("start-all")
  assert result.returncode == 0, result.stderr
  assert "Note: not starting ganeti-confd: not installed" in result.stderr
  assert "Note: not starting ganeti-rapi: not installed" in result.stderr
  assert ("Note: not starting ganeti-masterd: this node (node1) is not the master (node2)"
          in result.stderr)
  assert node.DaemonUtil("check", "ganeti-noded").returncode == 0
  assert node.DaemonUtil("check", "ganeti-masterd").returncode == 1

  _WriteMaster(node, "node1")
  assert node.DaemonUtil("start-all").returncode == 0
  pids = [node.Pid("ganeti-noded"), node.Pid("ganeti-masterd")]
  assert node.DaemonUtil("check", "ganeti-masterd").returncode == 0
  assert node.DaemonUtil("stop-all").returncode == 0
  assert not any(_Alive(pid) for pid in pids)
  for name in ("ganeti-noded", "ganeti-masterd"):
    assert node.DaemonUtil("check", name).returncode == 1


def test_start_all_stops_at_first_failure(node):
  env_file = node.root + "/etc/default/ganeti"
  os.makedirs(os.path.dirname(env_file))
  with open(env_file, "w") as handle:
    handle.write("NODED_ARGS='--fail-with 3'\n")
  _WriteMaster(node, "node1")
  result = node.DaemonUtil("start-all")
  assert result.returncode == 3
  assert "Starting ganeti-noded failed (exit code 3)" in result.stderr
  assert node.DaemonUtil("check", "ganeti-masterd").returncode == 1


def test_daemon_util_command_line(node):
  listing = node.DaemonUtil("list-start-daemons")
  assert listing.stdout.split() == ["ganeti-noded", "ganeti-confd", "ganeti-masterd",
                                    "ganeti-rapi"]
  assert node.DaemonUtil("list-stop-daemons").stdout.split() == listing.stdout.split()[::-1]
  assert node.DaemonUtil("is-daemon-name", "ganeti-rapi").returncode == 0
  unknown = node.DaemonUtil("is-daemon-name", "foo")
  assert (unknown.returncode, unknown.stderr) == (1, "Unknown daemon name 'foo'\n")
  assert node.DaemonUtil("check", "foo").returncode == 1
  missing = node.DaemonUtil("start")
  assert (missing.returncode, missing.stderr) == (1, "Missing daemon name.\n")
  bad = node.DaemonUtil("frobnicate")
  assert (bad.returncode, bad.stderr) == (1, "Unknown command: frobnicate\n")
  usage = node.DaemonUtil()
  assert usage.returncode == 1 and usage.stderr.startswith("Usage: daemon-util <action>")
