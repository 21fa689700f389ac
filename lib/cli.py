"""The framework of the gnt-* command line tools.

A tool is a table of commands (name -> (function, argument specification,
options, usage, description)) handed to GenericMain, which parses the command
line, runs the function and turns Ganeti errors into messages and exit codes.
This module also submits jobs and follows them, and lists query results.
Options live in ganeti.cli_opts, text formatting in ganeti.cli_output; both
are re-exported here so that tools need only "from ganeti.cli import *".
"""

from __future__ import annotations

import io
import os
import sys
import time

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Any, Callable, Iterable, Optional, Sequence

from ganeti import cli_parse
from ganeti import constants
from ganeti import errors
from ganeti import luxi
from ganeti import pathutils
from ganeti.cli_opts import *  # pylint: disable=wildcard-import,unused-wildcard-import
from ganeti.cli_output import *  # pylint: disable=wildcard-import,unused-wildcard-import
from ganeti.cli_output import EXIT_FAILURE, EXIT_SUCCESS, EXIT_UNKNOWN_FIELD

# How long WaitForJobChange may block in the master daemon, in seconds
_WFJC_TIMEOUT = 60
# How long to keep trying to reach a master daemon that should be running
_CONNECT_RETRY_TIMEOUT = 30.0
_CONNECT_RETRY_INTERVAL = 1.0
# Environment variable choosing the LUXI socket: "master", "query" or a path
LUXI_OVERRIDE_ENV = "FORCE_LUXI_SOCKET"

_USAGE_WIDTH = 80


class JobCanceled(errors.GenericError):
  """A job the command waited for was cancelled."""


# Argument specifications: how many arguments of which kind a command takes


class _Argument:
  def __init__(self, min: int = 0, max: Optional[int] = None) -> None:  # pylint: disable=redefined-builtin
    self.min = min
    self.max = max


class ArgSuggest(_Argument):
  """An argument with suggested values (used for shell completion)."""

  def __init__(self, min: int = 0, max: Optional[int] = None,  # pylint: disable=redefined-builtin
               choices: Optional[list[str]] = None) -> None:
    super().__init__(min=min, max=max)
    self.choices = choices or []


class ArgChoice(ArgSuggest):
  """An argument that should be one of choices (checked by the command)."""


class ArgUnknown(_Argument):
  pass


class ArgInstance(_Argument):
  pass


class ArgNode(_Argument):
  pass


class ArgNetwork(_Argument):
  pass


class ArgGroup(_Argument):
  pass


class ArgJobId(_Argument):
  pass


class ArgFile(_Argument):
  pass


class ArgCommand(_Argument):
  pass


class ArgHost(_Argument):
  pass


class ArgOs(_Argument):
  pass


class ArgExtStorage(_Argument):
  pass


class ArgFilter(_Argument):
  pass


ARGS_NONE: list[_Argument] = []
# ARGS_MANY_<KIND> (any number of names) and ARGS_ONE_<KIND> (exactly one)
for _kind, _arg in (("INSTANCES", ArgInstance), ("NODES", ArgNode), ("GROUPS", ArgGroup),
                    ("NETWORKS", ArgNetwork), ("FILTERS", ArgFilter)):
  globals()["ARGS_MANY_" + _kind] = [_arg()]
  globals()["ARGS_ONE_" + _kind[:-1]] = [_arg(min=1, max=1)]
ARGS_ONE_OS = [ArgOs(min=1, max=1)]


def _ArgumentBounds(argspec: Sequence[_Argument]) -> tuple[int, Optional[int]]:
  low = sum(arg.min for arg in argspec)
  high: Optional[int] = 0
  for arg in argspec:
    high = None if high is None or arg.max is None else high + arg.max
  return low, high


def _CheckArguments(cmd: str, argspec: Sequence[_Argument], args: list[str]) -> bool:
  """Whether args fit argspec; prints Ganeti's complaint if not."""
  low, high = _ArgumentBounds(argspec)
  if low == high and len(args) != low:
    if low == 0:
      ToStderr("Error: Command %s expects no arguments", cmd)
    else:
      ToStderr("Error: Command %s expects %d argument(s)", cmd, low)
    return False
  if len(args) < low:
    ToStderr("Error: Command %s expects at least %d argument(s)", cmd, low)
    return False
  if high is not None and len(args) > high:
    if high == 0:
      ToStderr("Error: Command %s expects no arguments", cmd)
    else:
      ToStderr("Error: Command %s expects only %d argument(s)", cmd, high)
    return False
  return True


# Command line parsing


def _FormatCommandList(binary: str, commands: dict) -> list[str]:
  import textwrap  # pylint: disable=import-outside-toplevel
  lines = ["Usage: %s {command} [options...] [argument...]" % binary,
           "%s <command> --help to see details, or man %s" % (binary, binary),
           "", "Commands:"]
  width = max(len(name) for name in commands)
  for name in sorted(commands):
    prefix = " %-*s - " % (width, name)
    description = commands[name][4]
    wrapped = textwrap.wrap(description, _USAGE_WIDTH - len(prefix)) or [""]
    lines.append(prefix + wrapped[0])
    lines.extend(" " * len(prefix) + line for line in wrapped[1:])
  lines.append("")
  return lines


def EpochNano() -> int:
  """The current time in nanoseconds, as reason trails carry it."""
  return int(time.time() * 1000000000)


def _ParseArgs(binary: str, argv: list[str], commands: dict,
               aliases: dict) -> Optional[tuple[Callable, Any, list[str]]]:
  """(function, options, arguments) of a command line, or None after a usage error.

  Prints the command list for --help and the version for --version (raising
  SystemExit with code 0).
  """
  if len(argv) > 1 and argv[1] == "--version":
    ToStdout("%s (ganeti %s) %s", binary, constants.PACKAGE_VERSION, constants.RELEASE_VERSION)
    raise SystemExit(EXIT_SUCCESS)
  cmd = argv[1] if len(argv) > 1 else None
  if cmd in aliases:
    cmd = aliases[cmd]
  if cmd not in commands:
    for line in _FormatCommandList(binary, commands):
      ToStdout(line)
    if cmd in ("--help", "-h"):
      raise SystemExit(EXIT_SUCCESS)
    return None
  entry = commands[cmd]
  func, argspec, cmd_options, usage, description = entry
  options, args = cli_parse.Parse(list(cmd_options) + COMMON_OPTS, argv[2:],
                                  usage="%s %s %s" % (binary, cmd, usage),
                                  description=description, prog=binary)
  if not _CheckArguments(cmd, argspec, args):
    return None
  options.reason = ([(constants.OPCODE_REASON_SRC_USER, options.reason, EpochNano())]
                    if options.reason else [])
  options.reason_client = ("%s:%s" % (constants.OPCODE_REASON_SRC_CLIENT, binary), cmd)
  return func, options, args


def _SetupLogging(binary: str, cmd: str, debug: int) -> None:
  """With --debug, log to standard error (logging is imported only then)."""
  if not debug:
    return
  import logging  # pylint: disable=import-outside-toplevel
  logging.basicConfig(
    level=logging.DEBUG, stream=sys.stderr,
    format="%%(asctime)s: %s %s pid=%%(process)d %%(module)s:%%(lineno)s"
           " %%(levelname)s %%(message)s" % (binary, cmd))


def GenericMain(commands: dict, override: Optional[dict] = None,
                aliases: Optional[dict] = None) -> int:
  """Runs the command named on the command line; returns the exit code."""
  binary = os.path.basename(sys.argv[0])
  aliases = aliases or {}
  try:
    parsed = _ParseArgs(binary, sys.argv, commands, aliases)
  except errors.GenericError as err:
    code, message = FormatError(err)
    ToStderr(message)
    return code
  if parsed is None:
    return EXIT_FAILURE
  func, options, args = parsed
  for name, value in (override or {}).items():
    setattr(options, name, value)
  _SetupLogging(binary, options.reason_client[1], options.debug)
  try:
    result = func(options, args)
  except (errors.GenericError, errors.JobSubmittedException) as err:
    result, message = FormatError(err)
    if options.debug:
      import logging  # pylint: disable=import-outside-toplevel
      logging.debug("Error during command processing", exc_info=True)
    ToStderr(message)
  except KeyboardInterrupt:
    result = EXIT_FAILURE
    ToStderr("Aborted. Note that if the operation created any jobs, they might have been"
             " submitted and will continue to run in the background.")
  return EXIT_SUCCESS if result is None else result


def Exit(code: int) -> None:
  """Ends a command-line tool with code: output flushed and logs closed, then
  the process goes without the interpreter's teardown, which takes tens of
  milliseconds on a slow node and would be paid by every command."""
  logging_module = sys.modules.get("logging")
  if logging_module is not None:
    logging_module.shutdown()
  for stream in (sys.stdout, sys.stderr):
    try:
      stream.flush()
    except (OSError, ValueError):
      pass  # the reader went away: nothing more can reach it
  os._exit(code if isinstance(code, int) else EXIT_FAILURE)  # pylint: disable=protected-access


# Errors


def _FormatPrereqError(err: errors.OpPrereqError) -> str:
  text = "Failure: prerequisites not met for this operation:"
  if len(err.args) == 2:
    return "%s\nerror type: %s, error details:\n%s" % (text, err.args[1], err.args[0])
  if len(err.args) == 1:
    return "%s\n%s" % (text, err.args[0])
  if not err.args:
    return text
  return "%s\n%s" % (text, err.args)


def _FormatNoMaster(err: luxi.NoMasterError) -> str:
  address = err.args[0] if err.args else None
  if address == pathutils.MASTER_SOCKET:
    daemon = "the master daemon"
  elif address == pathutils.QUERY_SOCKET:
    daemon = "the config daemon"
  else:
    daemon = "socket '%s'" % address
  return ("Cannot communicate with %s.\nIs the process running and listening for"
          " connections?" % daemon)


def _Message(err: BaseException) -> str:
  return str(err.args[0]) if len(err.args) == 1 else str(err.args)


def FormatError(err: BaseException) -> tuple[int, str]:
  """(exit code, message) for an error ending a command."""
  # pylint: disable=too-many-return-statements
  if isinstance(err, errors.ConfigurationError):
    return 2, "Corrupt configuration file: %s\nAborting." % _Message(err)
  if isinstance(err, errors.HooksAbort):
    lines = ["Failure: hooks execution failed:"]
    lines.extend("  node: %s, script: %s, output: %s" % tuple(entry) for entry in err.args[0])
    return EXIT_FAILURE, "\n".join(lines)
  if isinstance(err, errors.HooksFailure):
    return EXIT_FAILURE, "Failure: hooks general failure: %s" % _Message(err)
  if isinstance(err, errors.ResolverError):
    return EXIT_FAILURE, "Failure: can't resolve hostname '%s'" % err.args[0]
  if isinstance(err, errors.OpPrereqError):
    return EXIT_FAILURE, _FormatPrereqError(err)
  if isinstance(err, errors.OpExecError):
    return EXIT_FAILURE, "Failure: command execution error:\n%s" % _Message(err)
  if isinstance(err, errors.TagError):
    return EXIT_FAILURE, "Failure: invalid tag(s) given:\n%s" % _Message(err)
  if isinstance(err, errors.JobQueueDrainError):
    return EXIT_FAILURE, ("Failure: the job queue is marked for drain and doesn't accept"
                          " new requests")
  if isinstance(err, errors.JobQueueFull):
    return EXIT_FAILURE, ("Failure: the job queue is full and doesn't accept new job"
                          " submissions until old jobs are archived")
  if isinstance(err, errors.TypeEnforcementError):
    return EXIT_FAILURE, "Parameter Error: %s" % _Message(err)
  if isinstance(err, errors.ParameterError):
    return EXIT_FAILURE, "Failure: unknown/wrong parameter name '%s'" % _Message(err)
  if isinstance(err, errors.JobLost):
    return EXIT_FAILURE, "Error checking job status: %s" % _Message(err)
  if isinstance(err, errors.QueryFilterParseError):
    return EXIT_FAILURE, ("Error while parsing query filter: %s\n%s"
                          % (err.args[0], "\n".join(err.GetDetails())))
  if isinstance(err, luxi.NoMasterError):
    return EXIT_FAILURE, _FormatNoMaster(err)
  if isinstance(err, luxi.TimeoutError):
    return EXIT_FAILURE, ("Timeout while talking to the master daemon. Jobs might have been"
                          " submitted and will continue to run even if the call timed out."
                          " Useful commands in this situation are \"gnt-job list\","
                          " \"gnt-job cancel\" and \"gnt-job watch\". Error:\n%s"
                          % _Message(err))
  if isinstance(err, luxi.PermissionError):
    return EXIT_FAILURE, ("It seems you don't have permissions to connect to the master"
                          " daemon.\nPlease retry as a different user.")
  if isinstance(err, luxi.ProtocolError):
    return EXIT_FAILURE, ("Unhandled protocol error while talking to the master daemon:\n%s"
                          % _Message(err))
  if isinstance(err, errors.JobSubmittedException):
    return EXIT_SUCCESS, "JobID: %s" % err.args[0]
  if isinstance(err, errors.GenericError):
    return EXIT_FAILURE, "Unhandled Ganeti error: %s" % _Message(err)
  return EXIT_FAILURE, "Unhandled exception: %s" % (_Message(err) if err.args else "")


# The master daemon


def _LuxiAddress() -> str:
  override = os.environ.get(LUXI_OVERRIDE_ENV)
  if override == "master":
    return pathutils.MASTER_SOCKET
  if override in (None, "", "query"):
    return pathutils.QUERY_SOCKET
  return override


def _CheckIsMaster() -> None:
  """Explains why the master daemon is not reachable on this node."""
  from ganeti import ssconf  # pylint: disable=import-outside-toplevel
  try:
    master, myself = ssconf.GetMasterAndMyself()
  except errors.ConfigurationError:
    raise errors.OpPrereqError("Cluster not initialized or this machine is not part of a"
                               " cluster", errors.ECODE_INVAL) from None
  if master != myself:
    raise errors.OpPrereqError("This is not the master node, please connect to node '%s'"
                               " and rerun the command" % master, errors.ECODE_INVAL)


def GetClient() -> luxi.Client:
  """A LUXI client connected to the master daemon.

  When nobody answers, the node is checked to be the master (as ssconf
  says), then the connection is retried for a while.
  """
  client = luxi.Client(address=_LuxiAddress())
  try:
    client.Connect()
    return client
  except luxi.NoMasterError:
    _CheckIsMaster()
  deadline = time.monotonic() + _CONNECT_RETRY_TIMEOUT
  while True:
    time.sleep(_CONNECT_RETRY_INTERVAL)
    try:
      client.Connect()
      return client
    except luxi.NoMasterError:
      if time.monotonic() >= deadline:
        raise luxi.TimeoutError("Connect timed out") from None


# Jobs


def FillOpDefaults(op: Any) -> Any:
  """Sets every parameter op was not given to its default; returns op.

  Ganeti's tools send opcodes with all their parameters; opcodes loaded
  from a file are sent as they are.
  """
  for name, default, _, _ in op.GetAllParams():
    if not hasattr(op, name):
      setattr(op, name, default() if callable(default) else default)
  return op


def MakeOpCode(op_class: type, **kwargs: Any) -> Any:
  """A new opcode with kwargs and defaults for everything else."""
  return FillOpDefaults(op_class(**kwargs))


def SetGenericOpcodeOpts(opcode_list: Iterable[Any], options: Any) -> None:
  """Copies the generic options (debug, dry run, priority, reason) into opcodes."""
  if not options:
    return
  generic = {"debug_level": options.debug}
  if hasattr(options, "dry_run"):
    generic["dry_run"] = options.dry_run
  if getattr(options, "priority", None) is not None:
    generic["priority"] = options.priority
  # the reason trail ends with this command, stamped once for the whole job
  source, command = options.reason_client
  trail = list(options.reason) + [(source, command, EpochNano())]
  for op in opcode_list:
    for name, value in generic.items():
      setattr(op, name, value)
    op.reason = list(trail)


def SendJob(ops: list[Any], cl: Optional[luxi.Client] = None) -> int:
  """Submits a job; returns its ID."""
  if cl is None:
    cl = GetClient()
  return cl.SubmitJob(ops)


def FormatLogMessage(log_type: str, log_msg: Any) -> str:
  if log_type != constants.ELOG_MESSAGE:
    log_msg = str(log_msg)
  return log_msg


class JobPollReportCb:
  """What to do with a job's log messages while following it."""

  def ReportLogMessage(self, job_id: Any, serial: int, timestamp: Sequence[int],
                       log_type: str, log_msg: Any) -> None:
    raise NotImplementedError()

  def ReportNotChanged(self, job_id: Any, status: Optional[str]) -> None:
    """The job did not change within the wait time (nothing to say)."""


class StdioJobPollReportCb(JobPollReportCb):
  """Prints log messages as "<ctime> <message>", and once why a job does not start."""

  def __init__(self) -> None:
    self.notified_queued = False
    self.notified_waitlock = False

  def ReportNotChanged(self, job_id: Any, status: Optional[str]) -> None:
    if status == constants.JOB_STATUS_QUEUED and not self.notified_queued:
      ToStderr("Job %s is waiting in queue", job_id)
      self.notified_queued = True
    elif status == constants.JOB_STATUS_WAITING and not self.notified_waitlock:
      ToStderr("Job %s is trying to acquire all necessary locks", job_id)
      self.notified_waitlock = True

  def ReportLogMessage(self, job_id: Any, serial: int, timestamp: Sequence[int],
                       log_type: str, log_msg: Any) -> None:
    ToStdout("%s %s", time.ctime(MergeTime(timestamp)), FormatLogMessage(log_type, log_msg))


class FeedbackFnJobPollReportCb(JobPollReportCb):
  """Hands (timestamp, type, message) of each log message to a function."""

  def __init__(self, feedback_fn: Callable[[tuple], None]) -> None:
    self.feedback_fn = feedback_fn

  def ReportLogMessage(self, job_id: Any, serial: int, timestamp: Sequence[int],
                       log_type: str, log_msg: Any) -> None:
    self.feedback_fn((timestamp, log_type, log_msg))


# what a followed job's changes show: its state, and once it ended, its results
_POLL_FIELDS = ["status", "opstatus", "opresult"]


def WaitForJobChangeOnce(cl: luxi.Client, job_id: Any, fields: list[str],
                         prev_job_info: Any, prev_log_serial: Any) -> Any:
  """One WaitForJobChange call as Ganeti's tools make it."""
  return cl.CallMethod(luxi.REQ_WAIT_FOR_JOB_CHANGE,
                       [job_id, fields, prev_job_info, prev_log_serial, _WFJC_TIMEOUT],
                       timeout=constants.LUXI_DEF_RWTO + _WFJC_TIMEOUT)


def _RaiseJobFailure(status: str, op_statuses: list, op_results: list) -> None:
  if status in (constants.JOB_STATUS_CANCELING, constants.JOB_STATUS_CANCELED):
    raise JobCanceled("Job was canceled")
  some_succeeded = False
  for index, (op_status, result) in enumerate(zip(op_statuses, op_results)):
    if op_status == constants.OP_STATUS_SUCCESS:
      some_succeeded = True
    elif op_status == constants.OP_STATUS_ERROR:
      errors.MaybeRaise(result)
      if some_succeeded:
        raise errors.OpExecError("partial failure (opcode %d): %s" % (index, result))
      raise errors.OpExecError(str(result))
  raise errors.OpExecError(op_results)


def GenericPollJob(job_id: Any, cl: luxi.Client, reporter: JobPollReportCb) -> list:
  """Follows a job to its end, reporting its log; returns its opcodes' results.

  Raises the error of the first failed opcode, or JobCanceled.  The answer
  that shows the job ended carries its last log entries and its results too:
  no further request is needed.
  """
  prev_job_info = None
  prev_log_serial = None
  status = None
  while True:
    result = WaitForJobChangeOnce(cl, job_id, _POLL_FIELDS, prev_job_info, prev_log_serial)
    if not result:
      raise errors.JobLost("Job with id %s lost" % job_id)
    if result == luxi.JOB_NOTCHANGED:
      reporter.ReportNotChanged(job_id, status)
      continue
    job_info, log_entries = result
    status = job_info[0]
    for serial, timestamp, log_type, message in log_entries or ():
      reporter.ReportLogMessage(job_id, serial, timestamp, log_type, message)
      prev_log_serial = max(prev_log_serial or 0, serial)
    if status in constants.JOBS_FINALIZED:
      break
    prev_job_info = job_info
  _, op_statuses, op_results = job_info
  if status == constants.JOB_STATUS_SUCCESS:
    return op_results
  _RaiseJobFailure(status, op_statuses, op_results)
  return []  # not reached


def PollJob(job_id: Any, cl: Optional[luxi.Client] = None,
            feedback_fn: Optional[Callable[[tuple], None]] = None,
            reporter: Optional[JobPollReportCb] = None) -> list:
  """Follows a job, printing its log (or passing it to feedback_fn)."""
  if cl is None:
    cl = GetClient()
  if reporter is None:
    reporter = (FeedbackFnJobPollReportCb(feedback_fn) if feedback_fn
                else StdioJobPollReportCb())
  return GenericPollJob(job_id, cl, reporter)


def SubmitOpCode(op: Any, cl: Optional[luxi.Client] = None,
                 feedback_fn: Optional[Callable[[tuple], None]] = None,
                 opts: Any = None, reporter: Optional[JobPollReportCb] = None) -> Any:
  """Runs one opcode as a job and waits for it; returns its result."""
  if cl is None:
    cl = GetClient()
  SetGenericOpcodeOpts([op], opts)
  job_id = SendJob([op], cl=cl)
  if getattr(opts, "print_jobid", False):
    ToStdout("%d", job_id)
  return PollJob(job_id, cl=cl, feedback_fn=feedback_fn, reporter=reporter)[0]


def SubmitOrSend(op: Any, opts: Any, cl: Optional[luxi.Client] = None,
                 feedback_fn: Optional[Callable[[tuple], None]] = None) -> Any:
  """SubmitOpCode, or with --submit only submission (raising JobSubmittedException)."""
  if opts and getattr(opts, "submit_only", False):
    SetGenericOpcodeOpts([op], opts)
    job_id = SendJob([op], cl=cl)
    if getattr(opts, "print_jobid", False):
      ToStdout("%d", job_id)
    raise errors.JobSubmittedException(job_id)
  return SubmitOpCode(op, cl=cl, feedback_fn=feedback_fn, opts=opts)


class JobExecutor:
  """Submits several jobs at once and waits for all of them."""

  def __init__(self, cl: Optional[luxi.Client] = None, verbose: bool = True,
               opts: Any = None, feedback_fn: Optional[Callable] = None) -> None:
    self.queue: list[tuple[int, Optional[str], list]] = []
    self.jobs: list[tuple[int, bool, Any, Optional[str]]] = []
    self.cl = cl or GetClient()
    self.verbose = verbose
    self.opts = opts
    self.feedback_fn = feedback_fn

  def QueueJob(self, name: Optional[str], *ops: Any) -> None:
    SetGenericOpcodeOpts(ops, self.opts)
    self.queue.append((len(self.queue), name, list(ops)))

  def AddJobId(self, name: Optional[str], status: bool, job_id: Any) -> None:
    """Adds a job submitted by someone else (e.g. by an opcode)."""
    self.jobs.append((len(self.jobs), status, job_id, name))

  def SubmitPending(self, each: bool = False) -> None:
    if each:
      results = [(True, self.cl.SubmitJob(ops)) for _, _, ops in self.queue]
    else:
      results = self.cl.SubmitManyJobs([ops for _, _, ops in self.queue])
    for (index, name, _), (status, data) in zip(self.queue, results):
      self.jobs.append((index, status, data, name))

  def _ChooseJob(self) -> tuple:
    """The next job to wait for: the first one already started, else the first."""
    ids = [job_id for _, _, job_id, _ in self.jobs]
    statuses = self.cl.QueryJobs(ids, ["status"])
    for job, status in zip(self.jobs, statuses):
      if status and status[0] not in (constants.JOB_STATUS_QUEUED, constants.JOB_STATUS_WAITING):
        self.jobs.remove(job)
        return job
    return self.jobs.pop(0)

  def GetResults(self) -> list[tuple[bool, Any]]:
    """Waits for every job; returns (success, result or message) per job."""
    if not self.jobs:
      self.SubmitPending()
    results = []
    if self.verbose:
      submitted = [str(job_id) for _, status, job_id, _ in self.jobs if status]
      if submitted:
        ToStdout("Submitted jobs %s", ", ".join(submitted))
    for index, status, data, name in list(self.jobs):
      if not status:
        ToStderr("Failed to submit job%s: %s", " for %s" % name if name else "", data)
        self.jobs.remove((index, status, data, name))
        results.append((index, False, data))
    while self.jobs:
      index, _, job_id, name = self._ChooseJob()
      label = "%s for %s" % (job_id, name) if name else str(job_id)
      ToStdout("Waiting for job %s ...", label)
      try:
        job_result = PollJob(job_id, cl=self.cl, feedback_fn=self.feedback_fn)
        success = True
      except errors.JobLost as err:
        _, job_result = FormatError(err)
        ToStderr("Job %s has been archived, cannot check its result", label)
        success = False
      except (errors.GenericError, luxi.ProtocolError) as err:
        _, job_result = FormatError(err)
        success = False
        ToStderr("Job %s has failed: %s", label, job_result)
      results.append((index, success, job_result))
    results.sort()
    return [(success, result) for _, success, result in results]

  def WaitOrShow(self, wait: bool) -> Any:
    """Waits for the jobs, or (wait=False) only prints their IDs."""
    if wait:
      return self.GetResults()
    if not self.jobs:
      self.SubmitPending()
    shown = []
    for _, submitted, job_id_or_error, name in self.jobs:
      if not submitted:
        ToStderr("Failure for %s: %s", name, job_id_or_error)
      else:
        ToStdout("%s: %s", job_id_or_error, name)
      shown.append([submitted, job_id_or_error])
    return shown


# Confirmation questions


def AskUser(text: str, choices: Optional[list[tuple[str, Any, str]]] = None) -> Any:
  """Asks a question on the terminal; returns the chosen value.

  choices are (answer, value, help); the last one is the default, the
  answer when there is no terminal or it is closed.  "?" lists the choices;
  anything else asks again.
  """
  if choices is None:
    choices = [("y", True, "Perform the operation"), ("n", False, "Do not perform the operation")]
  default = choices[-1][1]
  answers = "/".join([c[0] for c in choices[:-1]] + ["[%s]" % choices[-1][0], "?"])
  values = {c[0]: c[1] for c in choices}
  try:
    # unbuffered binary read/write: a terminal cannot seek, which "r+" text mode needs
    raw = open("/dev/tty", "r+b", buffering=0)  # pylint: disable=consider-using-with
  except OSError:
    return default
  import textwrap  # pylint: disable=import-outside-toplevel
  with raw:
    tty = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    while True:
      # each line is wrapped on its own: questions may list names one per line
      question = "\n".join(textwrap.fill(line, 70) for line in text.splitlines())
      tty.write(question + "\n" + answers + ": ")
      tty.flush()
      line = tty.readline()
      if not line:
        return default
      answer = line.strip().lower()
      if answer in values:
        return values[answer]
      if answer == "?":
        tty.write("".join(" %s - %s\n" % (c[0], c[2]) for c in choices) + "\n")


# Tags


def GetOnlineNodes(cl: luxi.Client, names: list[str], nodegroup: Optional[str],
                   fields: list[str]) -> list[dict]:
  """Rows (field -> value; fields must include name, offline, group and
  group.uuid) of the online nodes named (all without names), in the node group
  if one is given; offline ones are left out with a note, as Ganeti does."""
  rows = [dict(zip(fields, row)) for row in cl.QueryNodes(names, fields, False)]
  if nodegroup:
    rows = [row for row in rows if nodegroup in (row["group"], row["group.uuid"])]
  offline = [row["name"] for row in rows if row["offline"]]
  if offline:
    ToStderr("Note: skipping offline node(s): %s", ", ".join(offline))
  return [row for row in rows if not row["offline"]]


# questions about more objects than this offer to show the list first
_MAX_LISTED_IN_QUESTION = 20


def ConfirmOperation(names: list[str], kind: str, operation: str, extra: str = "") -> bool:
  """Asks whether to run operation on several objects of a kind ("instances",
  "nodes")."""
  question = ("The %s will operate on %d %s.\n%sDo you want to continue?"
              % (operation, len(names), kind, extra))
  affected = "\nAffected %s:\n" % kind + "\n".join("  %s" % name for name in names)
  choices = [("y", True, "Yes, execute the %s" % operation),
             ("n", False, "No, abort the %s" % operation)]
  if len(names) <= _MAX_LISTED_IN_QUESTION:
    return bool(AskUser(question + affected, choices))
  answer = AskUser(question, choices[:1] + [("v", "v", "View the list of affected %s" % kind)]
                   + choices[1:])
  if answer == "v":
    answer = AskUser(question + affected, choices)
  return bool(answer)


def _TagTarget(opts: Any, args: list[str]) -> tuple[str, str]:
  """(kind, name) of the object whose tags a command changes; pops the name."""
  kind = opts.tag_type
  if kind == constants.TAG_CLUSTER:
    return kind, ""
  if not args:
    raise errors.OpPrereqError("no arguments passed to the command", errors.ECODE_INVAL)
  return kind, args.pop(0)


def _ExtendTags(opts: Any, args: list[str]) -> None:
  """Adds the tags of the --from file ("-" for standard input) to args."""
  source = getattr(opts, "tags_source", None)
  if source is None:
    return
  if source == "-":
    text = sys.stdin.read()
  else:
    with open(source, encoding="utf-8") as handle:
      text = handle.read()
  args.extend(line.strip() for line in text.splitlines())


def ListTags(opts: Any, args: list[str]) -> int:
  kind, name = _TagTarget(opts, args)
  for tag in sorted(GetClient().QueryTags(kind, name)):
    ToStdout(tag)
  return EXIT_SUCCESS


def _ChangeTags(opts: Any, args: list[str], op_name: str, nothing_message: str) -> int:
  from ganeti import opcodes  # pylint: disable=import-outside-toplevel
  kind, name = _TagTarget(opts, args)
  _ExtendTags(opts, args)
  if not args:
    raise errors.OpPrereqError(nothing_message, errors.ECODE_INVAL)
  op_class = getattr(opcodes, op_name)
  SubmitOrSend(MakeOpCode(op_class, kind=kind, name=name, tags=args), opts)
  return EXIT_SUCCESS


def AddTags(opts: Any, args: list[str]) -> int:
  return _ChangeTags(opts, args, "OpTagsSet", "No tags to be added")


def RemoveTags(opts: Any, args: list[str]) -> int:
  return _ChangeTags(opts, args, "OpTagsDel", "No tags to be removed")


# Query listings


def _MakeFilter(args: list[str], force_filter: bool, namefield: Optional[str],
                isnumeric: bool) -> Any:
  if not args and not force_filter:
    return None
  from ganeti import qlang  # pylint: disable=import-outside-toplevel
  return qlang.MakeFilter(args, force_filter, namefield=namefield, isnumeric=isnumeric)


def GenericList(resource: str, fields: list[str], names: list[str], unit: Optional[str],
                separator: Optional[str], header: bool, cl: Optional[luxi.Client] = None,
                format_override: Optional[dict] = None, verbose: bool = False,
                force_filter: bool = False, namefield: Optional[str] = None,
                qfilter: Any = None, isnumeric: bool = False) -> int:
  """Prints a table of the objects of resource (one Query call).

  names select objects by namefield, or form a filter expression; an
  explicit qfilter is and-ed with that.  Returns EXIT_UNKNOWN_FIELD when a
  field is unknown.
  """
  name_filter = _MakeFilter(names, force_filter, namefield, isnumeric)
  if qfilter is None:
    qfilter = name_filter
  elif name_filter is not None:
    qfilter = ["&", name_filter, qfilter]
  if cl is None:
    cl = GetClient()
  response = cl.Query(resource, fields, qfilter)
  code, unknown, lines = FormatQueryResult(response, unit=unit, format_override=format_override,
                                           separator=separator, header=header,
                                           verbose=verbose)
  WarnUnknownFields(unknown)
  for line in lines:
    ToStdout(line)
  return code


def GenericListFields(resource: str, fields: list[str], separator: Optional[str],
                      header: bool, cl: Optional[luxi.Client] = None) -> int:
  """Prints the definitions of resource's fields (all, or those named)."""
  if cl is None:
    cl = GetClient()
  response = cl.QueryFields(resource, fields or None)
  fielddefs = response["fields"]
  unknown = [f["name"] for f in fielddefs if f["kind"] == constants.QFT_UNKNOWN]
  WarnUnknownFields(unknown)
  for line in FormatFieldDefinitions(fielddefs, header, separator):
    ToStdout(line)
  return EXIT_UNKNOWN_FIELD if unknown else EXIT_SUCCESS
