"""ganeti-watcher: the cluster's periodic self-repair, run from cron.

On every node it runs the watcher hooks and starts the node's daemons that
died.  On the master it also archives old jobs and, per node group, restarts
instances that should run but do not (a limited number of times, counted in
the group's state file), reactivates disks after node reboots, runs
verify-disks and writes the instance status files.  Changes are submitted as
jobs; the watcher does not wait for them, except for verify-disks whose
result it needs.
"""

import argparse
import errno
import fcntl
import logging
import os
import re
import subprocess
import sys
import time
from typing import Any, Callable, Iterable, Optional

from ganeti import bootstrap
from ganeti import constants
from ganeti import daemon
from ganeti import errors
from ganeti import luxi
from ganeti import opcodes
from ganeti import pathutils
from ganeti import ssconf
from ganeti.cli_output import ParseTimespec
from ganeti.tools import daemon_util
from ganeti.utils import io
from ganeti.watcher import state as wstate

PROGRAM = "ganeti-watcher"
MAXTRIES = 5  # restart attempts per instance before the watcher gives up
DEFAULT_JOB_AGE = 6 * 3600
MASTER_CONNECT_TIMEOUT = 30.0  # a just restarted master daemon needs a moment
VERIFY_DISKS_TIMEOUT = 240.0  # stays below cron's 5 minute period
HOOK_TIMEOUT = 60.0

# Not (yet) in ganeti.constants; values as in Ganeti
OPCODE_REASON_SRC_WATCHER = "gnt:watcher"
INSTST_RUNNING = "running"
INSTST_ERRORDOWN = "ERROR_down"
INSTST_NODEDOWN = "ERROR_nodedown"
INSTST_NODEOFFLINE = "ERROR_nodeoffline"

# Instances in these states should run and a start may help; in the helpless
# ones the primary node is down or offline, so a start cannot work.
BAD_STATES = frozenset([INSTST_ERRORDOWN])
HELPLESS_STATES = frozenset([INSTST_NODEDOWN, INSTST_NODEOFFLINE])

# Where each daemon belongs; listed in daemon-util's start order.
ROLE_NODE, ROLE_CANDIDATE, ROLE_MASTER = "node", "candidate", "master"
DAEMON_ROLES = {
  constants.NODED: ROLE_NODE,
  constants.CONFD: ROLE_CANDIDATE,
  constants.MASTERD: ROLE_MASTER,
  constants.RAPI: ROLE_MASTER,
}

# Hook scripts run like run-parts does: only plain names
_HOOK_NAME_RE = re.compile(r"^[A-Za-z0-9_-]+$")

GROUP_FIELDS = ["uuid", "name"]
NODE_FIELDS = ["name", "group.uuid", "offline", "bootid"]
INSTANCE_FIELDS = ["name", "status", "admin_state", "pnode", "snodes", "pnode.group.uuid",
                   "disks_active"]


# --- options ---------------------------------------------------------------

def BuildParser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(prog=PROGRAM, description="Ganeti cluster watcher")
  parser.add_argument("-d", "--debug", action="store_true",
                      help="log debug messages, to standard error as well")
  parser.add_argument("-g", "--node-group", dest="nodegroup", metavar="NODEGROUP",
                      help="watch only this node group (name or UUID)")
  parser.add_argument("-A", "--job-age", dest="job_age", type=_JobAge, default=DEFAULT_JOB_AGE,
                      metavar="AGE",
                      help="archive jobs that ended longer than this ago (default 6 hours)")
  parser.add_argument("--ignore-pause", dest="ignore_pause", action="store_true",
                      help="run even while the watcher is paused")
  parser.add_argument("--wait-children", dest="wait_children", action="store_true",
                      default=False, help="accepted; node groups are watched in this process")
  parser.add_argument("--no-wait-children", dest="wait_children", action="store_false",
                      help="accepted; node groups are watched in this process")
  parser.add_argument("--no-verify-disks", dest="verify_disks", action="store_false",
                      default=True, help="do not run verify-disks")
  parser.add_argument("--rapi-ip", dest="rapi_ip", default=constants.IP4_ADDRESS_LOCALHOST,
                      help="address the RAPI daemon listens on (accepted)")
  return parser


def _JobAge(value: str) -> int:
  try:
    return ParseTimespec(value)
  except errors.OpPrereqError as err:
    raise argparse.ArgumentTypeError(str(err)) from None


# --- pause and lock --------------------------------------------------------

def PausedUntil(now: Optional[float] = None) -> Optional[float]:
  """The end of the watcher pause, or None when the watcher is not paused."""
  text = io.TryReadFile(pathutils.WATCHER_PAUSEFILE)
  try:
    until = float(text.strip()) if text else None
  except ValueError:
    logging.warning("Ignoring invalid watcher pause file %s", pathutils.WATCHER_PAUSEFILE)
    return None
  if until is None or until <= (time.time() if now is None else now):
    return None
  return until


def TakeWatcherLock() -> Optional[int]:
  """Locks the watcher lock file; None if another run holds it.

  The descriptor must stay open for the whole run: closing it frees the lock.
  """
  fd = os.open(pathutils.WATCHER_LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
  try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
  except OSError as err:
    os.close(fd)
    if err.errno in (errno.EAGAIN, errno.EACCES):
      return None
    raise
  return fd


# --- node part -------------------------------------------------------------

def _IsThisNode(name: str) -> bool:
  return name.lower() == daemon.GetHostname().lower()


def WantedDaemons(is_master: bool, is_candidate: bool) -> list[str]:
  """The daemons this node should run, in start order."""
  roles = {ROLE_NODE}
  if is_candidate or is_master:
    roles.add(ROLE_CANDIDATE)
  if is_master:
    roles.add(ROLE_MASTER)
  return [name for name in daemon_util.START_ORDER if DAEMON_ROLES.get(name) in roles]


def StartDaemon(name: str) -> None:
  """Starts a daemon through daemon-util (which also applies its options file)."""
  bootstrap.RunDaemonUtil("start", name)


def EnsureDaemon(name: str, start_fn: Callable[[str], None] = StartDaemon) -> Optional[bool]:
  """Starts a daemon that should run but does not.

  Returns None if its program is not installed, else whether it runs now.
  """
  if daemon_util.FindProgram(name) is None:
    logging.debug("Not checking %s: not installed", name)
    return None
  running, pid = daemon.GetDaemonPid(name)
  if running:
    return True
  logging.warning("%s is not running%s, starting it", name,
                  " (stale pid %d)" % pid if pid is not None else "")
  try:
    start_fn(name)
  except errors.GenericError as err:
    logging.error("Could not start %s: %s", name, err)
    return False
  logging.info("Restarted %s", name)
  return True


def EnsureNodeDaemons() -> dict[str, Optional[bool]]:
  """Restarts this node's dead daemons; returns {daemon: EnsureDaemon result}."""
  is_candidate = False
  try:
    is_candidate = any(_IsThisNode(name) for name in ssconf.SimpleStore().GetMasterCandidates())
  except errors.ConfigurationError as err:
    logging.warning("Cannot read the master candidates from ssconf: %s", err)
  return {name: EnsureDaemon(name)
          for name in WantedDaemons(daemon.IsMasterNode(), is_candidate)}


def RunWatcherHooks(hooks_dir: Optional[str] = None) -> dict[str, int]:
  """Runs the executables of the watcher hooks directory; returns exit codes.

  A failing hook is logged and does not stop the others.
  """
  hooks_dir = hooks_dir or os.path.join(pathutils.HOOKS_BASE_DIR, constants.HOOKS_NAME_WATCHER)
  try:
    names = sorted(os.listdir(hooks_dir))
  except FileNotFoundError:
    logging.debug("No watcher hooks directory %s", hooks_dir)
    return {}
  results = {}
  for name in names:
    path = os.path.join(hooks_dir, name)
    if not (_HOOK_NAME_RE.match(name) and os.path.isfile(path) and os.access(path, os.X_OK)):
      continue
    try:
      proc = subprocess.run([path], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, timeout=HOOK_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
      logging.error("Watcher hook %s failed: %s", path, err)
      results[name] = -1
      continue
    results[name] = proc.returncode
    if proc.returncode:
      logging.error("Watcher hook %s failed (exit code %d): %s", path, proc.returncode,
                    proc.stdout.decode("utf-8", "replace").strip())
    else:
      logging.debug("Watcher hook %s succeeded", path)
  return results


# --- master part -----------------------------------------------------------

def _Reason(text: str) -> list:
  return [[OPCODE_REASON_SRC_WATCHER, text, time.time_ns()]]


def QueryItems(client: Any, what: str, fields: list[str]) -> list[dict[str, Any]]:
  """A Query as dicts; values the master could not get are None."""
  reply = client.Query(what, fields, None)
  return [{field: value if status == constants.RS_NORMAL else None
           for field, (status, value) in zip(fields, row)}
          for row in reply["data"]]


class GroupWatcher:
  """One node group's checks, with its state file."""

  def __init__(self, client: Any, group: dict, nodes: list[dict], instances: list[dict],
               verify_disks: bool = True) -> None:
    self.client = client
    self.uuid = group["uuid"]
    self.name = group["name"]
    self.nodes = {node["name"]: node for node in nodes if node["group.uuid"] == self.uuid}
    self.offline_nodes = {node["name"] for node in nodes if node["offline"]}
    self.all_instances = {inst["name"]: inst for inst in instances}
    # an instance belongs to the group of its primary node
    self.instances = [inst for inst in instances if inst["pnode.group.uuid"] == self.uuid]
    self.verify_disks = verify_disks
    self.state = wstate.GroupState(self.uuid)

  def Run(self) -> None:
    wstate.WriteGroupInstanceStatus(
      self.uuid, [(inst["name"], inst["status"]) for inst in self.instances
                  if inst["status"] is not None])
    try:
      self.CheckInstances()
      self.CheckRebootedNodes()
      if self.verify_disks:
        self.VerifyDisks()
    finally:
      self.state.Save()

  def _Submit(self, ops: list) -> Optional[int]:
    try:
      return self.client.SubmitJob(ops)
    except errors.GenericError as err:
      logging.error("Could not submit %s: %s", ", ".join(op.OP_ID for op in ops), err)
      return None

  def _HasOfflineNodes(self, inst: dict) -> bool:
    return bool(self.offline_nodes.intersection([inst["pnode"]] + list(inst["snodes"] or [])))

  def CheckInstances(self) -> None:
    """Restarts instances that should run, at most MAXTRIES times each."""
    self.state.KeepOnlyInstances(inst["name"] for inst in self.instances)
    for inst in self.instances:
      name, status = inst["name"], inst["status"]
      attempts = self.state.RestartAttempts(name)
      if status in BAD_STATES and not self._HasOfflineNodes(inst):
        if attempts > MAXTRIES:
          logging.warning("Not restarting instance '%s', retries exhausted", name)
          continue
        if attempts == MAXTRIES:
          logging.error("Could not restart instance '%s' after %d attempts, giving up",
                        name, MAXTRIES)
        else:
          logging.info("Restarting instance '%s' (attempt #%d)", name, attempts + 1)
          self._Submit([opcodes.OpInstanceStartup(
            instance_name=name, reason=_Reason("Restarting instance %s" % name))])
        # a failed submission counts too: the limit must hold whatever goes wrong
        self.state.RecordRestartAttempt(name)
      elif attempts and status is not None and status not in BAD_STATES:
        self.state.ForgetInstance(name)
        if status not in HELPLESS_STATES:
          logging.info("Restart of instance '%s' succeeded", name)

  def _ActivateDisks(self, names: Iterable[str], why: str) -> bool:
    """Submits disk activation for usable instances; False if a submission failed."""
    ok = True
    for name in sorted(set(names)):
      inst = self.all_instances.get(name)
      if inst is None:
        logging.info("Cannot find instance '%s', not activating its disks", name)
        continue
      if (inst["status"] in HELPLESS_STATES or self._HasOfflineNodes(inst)
          or not inst["disks_active"]):
        logging.info("Not activating disks of instance '%s': helpless state, offline node"
                     " or inactive disks", name)
        continue
      logging.info("Activating disks of instance '%s' (%s)", name, why)
      if self._Submit([opcodes.OpInstanceActivateDisks(
          instance_name=name, reason=_Reason("Activating disks of %s" % name))]) is None:
        ok = False
    return ok

  def CheckRebootedNodes(self) -> None:
    """Reactivates disks of instances with a secondary on a rebooted node."""
    boot_ids = {name: node["bootid"] for name, node in self.nodes.items()
                if not node["offline"] and node["bootid"]}
    rebooted = {name for name, boot_id in boot_ids.items()
                if self.state.BootId(name) != boot_id}
    if rebooted:
      logging.info("Rebooted nodes in group %s: %s", self.name, ", ".join(sorted(rebooted)))
      affected = [inst["name"] for inst in self.all_instances.values()
                  if rebooted.intersection(inst["snodes"] or [])]
      if not self._ActivateDisks(affected, "a secondary node rebooted"):
        return  # keep the old boot ids, so the next run tries again
    for name, boot_id in boot_ids.items():
      self.state.SetBootId(name, boot_id)

  def VerifyDisks(self) -> None:
    """Runs the group's verify-disks and activates the disks it finds offline."""
    job_id = self._Submit([opcodes.OpGroupVerifyDisks(
      group_name=self.uuid, priority=constants.OP_PRIO_LOW,
      reason=_Reason("Verifying disks of group %s" % self.name))])
    if job_id is None:
      return
    status, _, results = luxi.WaitForJobCompletion(self.client, job_id,
                                                   poll_timeout=VERIFY_DISKS_TIMEOUT)
    if status != constants.JOB_STATUS_SUCCESS:
      logging.error("Verify-disks of group %s (job %s) ended with status %s: %s",
                    self.name, job_id, status, results)
      return
    self.client.ArchiveJob(job_id)
    offline_disk_instances = results[0][1]
    if not offline_disk_instances:
      logging.debug("Verify-disks reported no offline disks in group %s", self.name)
      return
    self._ActivateDisks(offline_disk_instances, "verify-disks found offline disks")


class MasterWatcher:
  """The master's part: job archiving, then every (or one) node group."""

  def __init__(self, client: Any, options: argparse.Namespace) -> None:
    self.client = client
    self.options = options

  def ArchiveJobs(self) -> None:
    archived, left = self.client.AutoArchiveJobs(self.options.job_age)
    logging.debug("Archived %s jobs, left %s", archived, left)

  def _SelectedGroups(self, groups: list[dict]) -> list[dict]:
    wanted = self.options.nodegroup
    if wanted is None:
      return groups
    selected = [group for group in groups if wanted in (group["uuid"], group["name"])]
    if not selected:
      logging.error("Node group '%s' not found", wanted)
    return selected

  def Run(self) -> None:
    self.ArchiveJobs()
    groups = QueryItems(self.client, constants.QR_GROUP, GROUP_FIELDS)
    nodes = QueryItems(self.client, constants.QR_NODE, NODE_FIELDS)
    instances = QueryItems(self.client, constants.QR_INSTANCE, INSTANCE_FIELDS)
    for group in self._SelectedGroups(groups):
      try:
        GroupWatcher(self.client, group, nodes, instances,
                     verify_disks=self.options.verify_disks).Run()
      except (errors.GenericError, OSError):
        # one group's trouble must not keep the others unwatched
        logging.exception("Error while watching node group %s", group["name"])
    wstate.MergeInstanceStatus(group["uuid"] for group in groups)


def ConnectMaster(timeout: float = MASTER_CONNECT_TIMEOUT) -> luxi.Client:
  """A LUXI client that got an answer; waits for a master daemon just started."""
  deadline = time.monotonic() + timeout
  while True:
    client = luxi.Client()
    try:
      client.QueryConfigValues(["cluster_name"])
      return client
    except (luxi.NoMasterError, luxi.ConnectionClosedError, luxi.TimeoutError):
      client.Close()
      if time.monotonic() > deadline:
        raise
      time.sleep(0.1)


# --- entry point -----------------------------------------------------------

def RunWatcher(options: argparse.Namespace,
               connect_fn: Callable[[], Any] = ConnectMaster) -> int:
  """One watcher run, once the pause was checked and the lock taken."""
  if daemon.GetMasterNode() is None:
    logging.info("This node is not part of a cluster, nothing to watch")
    return daemon.EXIT_SUCCESS
  RunWatcherHooks()
  EnsureNodeDaemons()
  if not daemon.IsMasterNode():
    return daemon.EXIT_SUCCESS
  try:
    client = connect_fn()
  except errors.GenericError as err:
    logging.error("Cannot talk to the master daemon: %s", err)
    return daemon.EXIT_FAILURE
  try:
    MasterWatcher(client, options).Run()
  finally:
    close = getattr(client, "Close", None)
    if close is not None:
      close()
  return daemon.EXIT_SUCCESS


def Main(argv: Optional[list[str]] = None) -> int:
  """The ganeti-watcher command."""
  options = BuildParser().parse_args(sys.argv[1:] if argv is None else argv)
  io.EnsureDirs([(pathutils.LOG_DIR, 0o770), (pathutils.LOCK_DIR, 0o755)])
  daemon.SetupLogging(pathutils.LOG_WATCHER, PROGRAM, debug=options.debug,
                      stderr_logging=options.debug)
  if not options.ignore_pause and PausedUntil() is not None:
    logging.info("Watcher is paused")
    return daemon.EXIT_SUCCESS
  lock_fd = TakeWatcherLock()
  if lock_fd is None:
    logging.info("Another watcher run holds %s, exiting", pathutils.WATCHER_LOCK_FILE)
    return daemon.EXIT_SUCCESS
  try:
    return RunWatcher(options)
  except Exception:  # cron shows no traceback; the log must have it
    logging.exception("Unhandled error in the watcher")
    return daemon.EXIT_FAILURE
  finally:
    os.close(lock_fd)
