"""gnt-debug: test and debugging commands (delays, raw jobs, job queue tests)."""

from __future__ import annotations

import time

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Any, Optional

from ganeti import constants
from ganeti import errors
from ganeti.cli import *  # pylint: disable=wildcard-import,unused-wildcard-import
from ganeti.cli import EXIT_SUCCESS

_LIST_LOCKS_DEF_FIELDS = ["name", "mode", "owner", "pending"]

# Values gnt-debug iallocator uses for what is not given
_IALLOC_DIR_IN = "in"  # show the allocator input rather than run it
_IALLOC_DEFAULT_DISKS = [4096, 4096]
_IALLOC_DEFAULT_NIC = {"mac": "00:11:22:33:44:55", "ip": None, "bridge": None}
_IALLOC_MODES = ["relocate", "multi-allocate", "allocate-secondary", "change-group", "allocate",
                 "node-evacuate"]
_EVAC_MODES = ["all", "secondary-only", "primary-only"]

# The messages test-jobqueue asks the job to log
_TEST_LOG_MESSAGES = ["Hello World", "A", "", "B", "Foo|bar|baz"]


def _Opt(*names: str, **kwargs: Any) -> CliOption:
  return CliOption(*names, **kwargs)


# delay
NO_MASTER_OPT = _Opt("--no-master", dest="on_master", action="store_false", default=True,
                     help="Do not sleep in the master daemon")
ON_NODES_OPT = _Opt("-n", dest="on_nodes", action="append", default=[],
                    help="Also sleep on this node (may be repeated)")
REPEAT_OPT = _Opt("-r", "--repeat", dest="repeat", type="int", default=0,
                  help="How many more times to sleep")
INTERRUPTIBLE_OPT = _Opt("-i", "--interruptible", dest="interruptible", action="store_true",
                         default=False,
                         help="Allow interrupting the sleep through a unix socket")
NO_LOCKS_OPT = _Opt("-l", "--no-locks", dest="no_locks", action="store_true", default=False,
                    help="Sleep without holding any lock")
# submit-job
OP_REPEAT_OPT = _Opt("--op-repeat", dest="rep_op", type="int", default=1, metavar="REP_OP",
                     help="Put the opcodes this many times into each job")
JOB_REPEAT_OPT = _Opt("--job-repeat", dest="rep_job", type="int", default=1, metavar="REP_JOB",
                      help="Submit each job this many times")
TIMING_STATS_OPT = _Opt("--timing-stats", dest="timing_stats", action="store_true",
                        default=False, help="Print how long submission and execution took")
EACH_OPT = _Opt("--each", dest="each", action="store_true", default=False,
                help="Submit the jobs one by one rather than in one request")
# iallocator
DIRECTION_OPT = _Opt("--dir", dest="direction", default=_IALLOC_DIR_IN,
                     metavar="DIRECTION",
                     help="Show the allocator's input (in) or run it (out)")
IALLOCATOR_OPT = _Opt("-I", "--iallocator", dest="iallocator", metavar="<NAME>",
                      help="Allocator plugin to run")
MODE_OPT = _Opt("-m", "--mode", dest="mode", default="relocate",
                help="Request mode (%s)" % ", ".join(_IALLOC_MODES))
MEMORY_OPT = _Opt("--memory", dest="memory", type="unit", default=128,
                  help="Memory of the instance (MiB or with a unit)")
DISKS_OPT = _Opt("--disks", dest="disks",
                 help="Disk sizes of the instance (MiB or with a unit), comma-separated")
DISK_TEMPLATE_OPT = _Opt("-t", "--disk-template", dest="disk_template", metavar="TEMPL",
                         help="Disk template of the instance (%s)"
                              % ", ".join(sorted(constants.DISK_TEMPLATES)))
NICS_OPT = _Opt("--nics", dest="nics",
                help="NICs of the instance, comma-separated, each as mac/ip/bridge"
                     " (missing parts are left empty)")
OS_OPT = _Opt("-o", "--os-type", dest="os", metavar="<os>", help="OS of the instance")
VCPUS_OPT = _Opt("-p", "--vcpus", dest="vcpus", type="int", default=1,
                 help="Number of virtual CPUs of the instance")
TAGS_OPT = _Opt("--tags", dest="tags", type="list", default=[],
                help="Tags of the instance, comma-separated")
EVAC_MODE_OPT = _Opt("--evac-mode", dest="evac_mode", default="all",
                     help="Node evacuation mode (%s)" % ", ".join(_EVAC_MODES))
TARGET_GROUPS_OPT = _Opt("--target-groups", dest="target_groups", type="list", default=[],
                         help="Groups to move instances to")
SPINDLE_USE_OPT = _Opt("--spindle-use", dest="spindle_use", type="int", default=1,
                       help="Spindles the instance uses")
COUNT_OPT = _Opt("--count", dest="count", type="int", default=2,
                 help="Number of instances to allocate")
# test-osparams
OSPARAMS_SECRET_OPT = _Opt("--os-parameters-secret", dest="osparams_secret",
                           type="keyprivateval", default={},
                           help="Secret OS parameters (neither logged nor stored)")


def _Opcodes() -> Any:
  from ganeti import opcodes  # pylint: disable=import-outside-toplevel
  return opcodes


def Delay(opts: Any, args: list[str]) -> int:
  op = MakeOpCode(_Opcodes().OpTestDelay, duration=float(args[0]), on_master=opts.on_master,
                  on_nodes=opts.on_nodes, repeat=opts.repeat,
                  interruptible=opts.interruptible, no_locks=opts.no_locks)
  SubmitOrSend(op, opts)
  return EXIT_SUCCESS


def GenericOpCodes(opts: Any, args: list[str]) -> int:
  """Submits the opcodes of JSON files as jobs and waits for them."""
  from ganeti import serializer  # pylint: disable=import-outside-toplevel
  opcodes = _Opcodes()
  executor = JobExecutor(verbose=opts.verbose, opts=opts)
  job_count = op_count = 0
  if opts.timing_stats:
    ToStdout("Loading...")
  for job_index in range(opts.rep_job):
    for filename in args:
      with open(filename, encoding="utf-8") as handle:
        data = serializer.LoadJson(handle.read())
      ops = [opcodes.OpCode.LoadOpCode(entry) for entry in data] * opts.rep_op
      executor.QueueJob("file %s/%d" % (filename, job_index), *ops)
      op_count += len(ops)
      job_count += 1
  start = time.time()
  if opts.timing_stats:
    ToStdout("Submitting...")
  executor.SubmitPending(each=opts.each)
  submitted = time.time()
  if opts.timing_stats:
    ToStdout("Executing...")
  executor.GetResults()
  if opts.timing_stats:
    done = time.time()
    ToStdout("C:op     %4d", op_count)
    ToStdout("C:job    %4d", job_count)
    ToStdout("T:submit %4.4f", submitted - start)
    ToStdout("T:exec   %4.4f", done - submitted)
    ToStdout("T:total  %4.4f", done - start)
  return EXIT_SUCCESS


def _ParseNics(text: Optional[str]) -> list[dict]:
  if not text:
    return [dict(_IALLOC_DEFAULT_NIC)]
  nics = []
  for nic in text.split(","):
    parts = [part or None for part in nic.split("/")[:3]]
    parts += [None] * (3 - len(parts))
    nics.append(dict(zip(("mac", "ip", "bridge"), parts)))
  return nics


def TestAllocator(opts: Any, args: list[str]) -> int:
  sizes = ([ParseUnit(size) for size in opts.disks.split(",")] if opts.disks
           else _IALLOC_DEFAULT_DISKS)
  name = args[0]
  op = MakeOpCode(_Opcodes().OpTestAllocator, direction=opts.direction, mode=opts.mode,
                  name=name, nics=_ParseNics(opts.nics),
                  disks=[{"size": size, "mode": "rw"} for size in sizes],
                  hypervisor=None, iallocator=opts.iallocator, tags=opts.tags,
                  memory=opts.memory, vcpus=opts.vcpus, os=opts.os,
                  disk_template=opts.disk_template, instances=[name],
                  evac_mode=opts.evac_mode, target_groups=opts.target_groups,
                  spindle_use=opts.spindle_use, count=opts.count)
  result = SubmitOpCode(op, opts=opts)
  ToStdout("%s", result)
  return EXIT_SUCCESS


def TestOsParams(opts: Any, args: list[str]) -> int:
  op = MakeOpCode(_Opcodes().OpTestOsParams, osparams_secret=opts.osparams_secret)
  SubmitOrSend(op, opts)
  return EXIT_SUCCESS


def _DashIfEmpty(fn: Any) -> Any:
  return lambda value: fn(value) if value else "-"


_LOCKS_FORMAT = {
  "mode": (_DashIfEmpty(str), False),
  "owner": (_DashIfEmpty(",".join), False),
  "pending": (_DashIfEmpty(lambda pending: ", ".join("%s:%s" % (mode, ",".join(owners))
                                                      for mode, owners in pending)), False),
}


def ListLocks(opts: Any, args: list[str]) -> int:
  fields = ParseFields(opts.output, _LIST_LOCKS_DEF_FIELDS)
  cl = GetClient()
  while True:
    result = GenericList(constants.QR_LOCK, fields, [], None, opts.separator,
                         not opts.no_headers, cl=cl, format_override=_LOCKS_FORMAT,
                         verbose=opts.verbose)
    if result != EXIT_SUCCESS or not opts.interval:
      return result
    ToStdout("")
    time.sleep(opts.interval)


# test-jobqueue


def _ExpectRefused(submit: Any, what: str) -> None:
  """Runs submit(client) on a new connection; it must be refused."""
  try:
    submit(GetClient())
  except (errors.GenericError, errors.JobSubmittedException):
    return
  raise errors.OpExecError("Submitting %s was accepted but should have been refused" % what)


def _DelayOp(**kwargs: Any) -> Any:
  return MakeOpCode(_Opcodes().OpTestDelay, on_master=True, no_locks=True, **kwargs)


def _InvalidPriorities() -> list[tuple[int, list[tuple[int, int]]]]:
  """(priority, [(opcodes before, opcodes after)]) of the refused submissions.

  The extremes are valid priorities but not for submitting; their neighbours
  and those of the submittable ones are no priorities at all.
  """
  layouts = [(0, 0), (3, 0), (0, 3), (4, 2)]
  extremes = [(prio, [(0, 0)]) for prio in (constants.OP_PRIO_LOWEST, constants.OP_PRIO_HIGHEST)]
  bases = [constants.OP_PRIO_NORMAL, constants.OP_PRIO_LOWEST, constants.OP_PRIO_HIGH,
           constants.OP_PRIO_LOW, constants.OP_PRIO_HIGHEST]
  return extremes + [(base + delta, layouts) for base in bases for delta in (-1, 1)]


def _TestJobSubmission() -> None:
  ToStdout("Testing job submission")
  for prio, layouts in _InvalidPriorities():
    for before, after in layouts:
      ops = ([_DelayOp(duration=0) for _ in range(before)] + [_DelayOp(duration=0, priority=prio)]
             + [_DelayOp(duration=0) for _ in range(after)])
      valid_job = [_DelayOp(duration=0), _DelayOp(duration=0, dry_run=False),
                   _DelayOp(duration=0, dry_run=True)]
      what = "a job with priority %s" % prio
      _ExpectRefused(lambda cl: cl.SubmitJob(ops), what)
      _ExpectRefused(lambda cl: cl.SubmitManyJobs([valid_job, ops]), what)
  ToStdout("Job submission tests were successful")


def _TestJobDependency() -> None:
  ToStdout("Testing job dependencies")
  _ExpectRefused(lambda cl: cl.SubmitJob([_DelayOp(duration=0, depends=[(-1, None)])]),
                 "a job with an invalid dependency")
  # (dependencies, [(job index, index of the job it waits for)])
  dependencies = [None, [(-1, [])], [(-2, [constants.JOB_STATUS_SUCCESS])], [],
                  [(-2, [constants.JOB_STATUS_SUCCESS])]]
  ordering = [(1, 0), (2, 0), (4, 2)]
  executor = JobExecutor(cl=GetClient(), opts=None)
  for depends in dependencies:
    executor.QueueJob(None, _DelayOp(duration=1, depends=depends))
  executor.SubmitPending()
  job_ids = [job_id for _, _, job_id, _ in executor.jobs]
  for success, result in executor.GetResults():
    if not success:
      raise errors.OpExecError("Job of the dependency test failed: %s" % result)
  rows = executor.cl.QueryJobs(job_ids, ["id", "opexec", "ops"])
  starts = [MergeTime(opexec[0]) for _, opexec, _ in rows]
  for later, earlier in ordering:
    if starts[later] < starts[earlier]:
      raise errors.OpExecError("Job %s started before job %s it depends on"
                               % (job_ids[later], job_ids[earlier]))
  ToStdout("Job dependency tests were successful")


class _JqueueTestReporter(JobPollReportCb):
  """Follows an OpTestJqueue job: answers its notifications and checks them."""

  def __init__(self, cl: Any) -> None:
    self.cl = cl
    self.test_messages: list[str] = []
    self.expected_count: Optional[int] = None

  def _CheckStatus(self, job_id: Any, expected: str) -> None:
    status = self.cl.QueryJobs([job_id], ["status"])[0][0]
    if status != expected:
      raise errors.OpExecError("Job %s has status %s instead of %s" % (job_id, status, expected))

  def _Check(self, job_id: Any, test: str, arg: Any) -> None:
    if test == constants.JQT_EXPANDNAMES:
      self._CheckStatus(job_id, constants.JOB_STATUS_WAITING)
    elif test == constants.JQT_EXEC:
      self._CheckStatus(job_id, constants.JOB_STATUS_RUNNING)
    elif test == constants.JQT_STARTMSG:
      self._CheckStatus(job_id, constants.JOB_STATUS_RUNNING)
      self.test_messages = []
      self.expected_count = arg
    elif test == constants.JQT_LOGMSG:
      self._CheckStatus(job_id, constants.JOB_STATUS_RUNNING)
      if len(self.test_messages) != arg:
        raise errors.OpExecError("Job %s sent %d test messages, announced %d"
                                 % (job_id, len(self.test_messages), arg))

  def ReportLogMessage(self, job_id: Any, serial: int, timestamp: Any, log_type: str,
                       log_msg: Any) -> None:
    if log_type == constants.ELOG_JQUEUE_TEST:
      import socket  # pylint: disable=import-outside-toplevel
      sockname, test, arg = log_msg
      # the job waits while we are connected: check its state before letting go
      with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(constants.LUXI_DEF_CTMO)
        sock.connect(sockname)
        self._Check(job_id, test, arg)
    elif log_type == constants.ELOG_MESSAGE and str(log_msg).startswith(constants.JQT_MSGPREFIX):
      self.test_messages.append(log_msg[len(constants.JQT_MSGPREFIX):])
    else:
      StdioJobPollReportCb().ReportLogMessage(job_id, serial, timestamp, log_type, log_msg)


# (title, failure flag of each opcode)
_EXECUTION_TESTS = [
  ("Testing job success", [False]),
  ("Testing multiple successful opcodes", [False, False]),
  ("Testing job failure", [True]),
  ("Testing partial job failure", [False, False, True, False]),
]


def _TestJobExecution(opts: Any) -> None:
  opcodes = _Opcodes()
  cl = GetClient()
  priority = constants.OP_PRIO_DEFAULT if opts.priority is None else opts.priority
  source, command = opts.reason_client
  for mode, (title, failures) in enumerate(_EXECUTION_TESTS):
    ToStdout(title)
    messages = (["Testing mode %d" % mode] + _TEST_LOG_MESSAGES
                + [time.strftime("%Y-%m-%d_%H_%M_%S")])
    ops = []
    for fail in failures:
      op = opcodes.OpTestJqueue(notify_waitlock=True, notify_exec=True,
                                log_messages=messages, fail=fail)
      op.priority = priority
      op.reason = list(opts.reason) + [(source, command, EpochNano())]
      ops.append(op)
    job_id = cl.SubmitJob(ops)
    reporter = _JqueueTestReporter(cl)
    try:
      PollJob(job_id, cl=cl, reporter=reporter)
    except errors.OpExecError as err:
      if not any(failures):
        raise
      ToStdout("Ignoring error for 'job fail' test: %s", err)
    if reporter.test_messages != messages[:reporter.expected_count]:
      raise errors.OpExecError("Job %s logged %r instead of %r"
                               % (job_id, reporter.test_messages, messages))
    status, op_statuses = cl.QueryJobs([job_id], ["status", "opstatus"])[0]
    expected = constants.JOB_STATUS_ERROR if any(failures) else constants.JOB_STATUS_SUCCESS
    if status != expected:
      raise errors.OpExecError("Job %s ended with status %s instead of %s"
                               % (job_id, status, expected))
    failed_at = failures.index(True) if any(failures) else len(failures)
    wanted = ([constants.OP_STATUS_SUCCESS] * failed_at
              + [constants.OP_STATUS_ERROR] * (len(failures) - failed_at))
    if op_statuses != wanted:
      raise errors.OpExecError("Job %s has opcode statuses %s instead of %s"
                               % (job_id, op_statuses, wanted))


def TestJobqueue(opts: Any, args: list[str]) -> int:
  """Checks submission, dependencies and execution of jobs in the job queue."""
  _TestJobSubmission()
  _TestJobDependency()
  _TestJobExecution(opts)
  ToStdout("Job queue test successful")
  return EXIT_SUCCESS


commands = {
  "delay": (
    Delay, [ArgUnknown(min=1, max=1)],
    [NO_MASTER_OPT, ON_NODES_OPT, REPEAT_OPT, INTERRUPTIBLE_OPT, NO_LOCKS_OPT, DRY_RUN_OPT,
     PRIORITY_OPT] + SUBMIT_OPTS,
    "[<opts>...] <duration>", "Runs a test delay job (OpTestDelay)"),
  "submit-job": (
    GenericOpCodes, [ArgFile(min=1)],
    [VERBOSE_OPT, OP_REPEAT_OPT, JOB_REPEAT_OPT, TIMING_STATS_OPT, EACH_OPT, DRY_RUN_OPT,
     PRIORITY_OPT],
    "<op-list-file>...", "Submits jobs made of the opcodes in JSON files (one list each)"),
  "iallocator": (
    TestAllocator, [ArgUnknown(min=1, max=1)],
    [DIRECTION_OPT, IALLOCATOR_OPT, MODE_OPT, MEMORY_OPT, DISKS_OPT, DISK_TEMPLATE_OPT,
     NICS_OPT, OS_OPT, VCPUS_OPT, TAGS_OPT, EVAC_MODE_OPT, TARGET_GROUPS_OPT,
     SPINDLE_USE_OPT, COUNT_OPT, DRY_RUN_OPT, PRIORITY_OPT],
    "{<opts>...} <instance-name>", "Runs an allocator test job (OpTestAllocator)"),
  "test-jobqueue": (
    TestJobqueue, ARGS_NONE, [PRIORITY_OPT], "",
    "Checks how the job queue handles submissions, dependencies and failures"),
  "test-osparams": (
    TestOsParams, ARGS_NONE, [OSPARAMS_SECRET_OPT] + SUBMIT_OPTS,
    "[--os-parameters-secret <params>]",
    "Checks that secret OS parameters reach the master daemon"),
  "locks": (
    ListLocks, ARGS_NONE, [NOHDR_OPT, SEP_OPT, FIELDS_OPT, INTERVAL_OPT, VERBOSE_OPT],
    "[--interval N]", "Lists the locks of the master daemon"),
}


def Main() -> int:
  return GenericMain(commands)
