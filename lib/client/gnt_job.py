"""gnt-job: list, inspect, follow, cancel and archive jobs."""

from __future__ import annotations

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Any, Optional

from ganeti import constants
from ganeti import errors
from ganeti import luxi
from ganeti.cli import *  # pylint: disable=wildcard-import,unused-wildcard-import
from ganeti.cli import EXIT_CONFIRMATION, EXIT_FAILURE, EXIT_SUCCESS

_LIST_DEF_FIELDS = ["id", "status", "summary"]

# Fields "gnt-job info" shows
_INFO_FIELDS = ["id", "status", "ops", "opresult", "opstatus", "oplog", "opstart", "opexec",
                "opend", "received_ts", "start_ts", "end_ts"]

# The AutoArchiveJobs time budget of the master daemon, in seconds
_AUTOARCHIVE_TIMEOUT = 89

# Opcode parameters whose values are private: shown as "<name>" only
_PRIVATE_PARAMETERS = frozenset(["osparams_private", "osparams_secret",
                                 "osparams_private_cluster"])

RUNNING_OPT = CliOption("--running", dest="status_filter", action="store_const",
                        const=frozenset([constants.JOB_STATUS_RUNNING]),
                        help="Only running jobs")
ERROR_OPT = CliOption("--error", dest="status_filter", action="store_const",
                      const=frozenset([constants.JOB_STATUS_ERROR]),
                      help="Only failed jobs")
FINISHED_OPT = CliOption("--finished", dest="status_filter", action="store_const",
                         const=constants.JOBS_FINALIZED, help="Only jobs that have ended")
ARCHIVED_OPT = CliOption("--archived", dest="archived", action="store_true", default=False,
                         help="Also list archived jobs (slow)")
KILL_OPT = CliOption("--kill", dest="kill", action="store_true", default=False,
                     help="Kill running jobs with SIGKILL")


def _FormatOpTimestamps(values: list) -> list[str]:
  return [FormatTimestamp(value) for value in values]


_LIST_FORMAT = {
  "summary": (lambda ops: ",".join(str(op) for op in ops), False),
  "ops": (lambda ops: str([_HidePrivate(op) for op in ops]), False),
  "opstart": (_FormatOpTimestamps, False),
  "opexec": (_FormatOpTimestamps, False),
  "opend": (_FormatOpTimestamps, False),
}


def _StatusFilter(statuses: Optional[frozenset]) -> Optional[list]:
  if not statuses:
    return None
  return ["|"] + [["==", "status", status] for status in sorted(statuses)]


def ListJobs(opts: Any, args: list[str]) -> int:
  fields = ParseFields(opts.output, _LIST_DEF_FIELDS)
  if opts.archived and "archived" not in fields:
    fields.append("archived")
  return GenericList(constants.QR_JOB, fields, args, None, opts.separator,
                     not opts.no_headers, format_override=_LIST_FORMAT, verbose=opts.verbose,
                     force_filter=opts.force_filter, namefield="id",
                     qfilter=_StatusFilter(opts.status_filter), isnumeric=True)


def ListJobFields(opts: Any, args: list[str]) -> int:
  return GenericListFields(constants.QR_JOB, args, opts.separator, not opts.no_headers)


def _ParseJobId(value: str) -> int:
  try:
    return int(value)
  except (TypeError, ValueError) as err:
    raise errors.OpPrereqError("Invalid job ID passed: %s" % err, errors.ECODE_INVAL) from None


def _LuxiJobId(method: str, value: str) -> int:
  """A job ID for a LUXI call, refused like Ganeti's client refuses it."""
  try:
    return int(value)
  except (TypeError, ValueError):
    raise luxi.ProtocolError("Invalid parameter passed to %s as job id: "
                             " expected integer, got value %s" % (method, value)) from None


def _Timestamp(value: Any) -> str:
  return FormatTimestamp(value) if value else "N/A"


def _Seconds(timestamp: Any) -> float:
  return MergeTime(timestamp)


def _LogContent(serial: int, log_type: str, message: Any) -> str:
  return "[%s, %s, %s]" % (serial, log_type, FormatLogMessage(log_type, message))


class _PrivateValue:
  """Stands for a private parameter value, printed the way Ganeti prints one."""

  def __init__(self, name: str) -> None:
    self.name = name

  def __str__(self) -> str:
    return "<%s>" % self.name

  def __repr__(self) -> str:
    return "Private(?, descr=%r)" % self.name


def _HidePrivate(op: dict) -> dict:
  """A copy of an opcode's parameters with the private values hidden."""
  fields = dict(op)
  for name in _PRIVATE_PARAMETERS.intersection(fields):
    if isinstance(fields[name], dict):
      fields[name] = {key: _PrivateValue(key) for key in fields[name]}
  return fields


def _OpcodeInfo(op: dict, status: str, result: Any, log: list, start: Any, exec_start: Any,
                end: Any) -> list:
  return [
    ("Opcode", op.get("OP_ID")),
    ("Status", status),
    ("Processing start", _Timestamp(start)),
    ("Execution start", " " + _Timestamp(exec_start)),
    ("Processing end", "  " + _Timestamp(end)),
    ("Input fields", _HidePrivate(op)),
    ("Result", result),
    ("Execution log", [[("Time", FormatTimestamp(timestamp)),
                        ("Content", _LogContent(serial, log_type, message))]
                       for serial, timestamp, log_type, message in log]),
  ]


def _JobInfo(values: list) -> list:
  (job_id, status, ops, op_results, op_statuses, op_logs, op_starts, op_execs, op_ends,
   received, started, ended) = values
  info = [("Job ID", job_id), ("Status", status)]
  info.append(("Received", " " * 8 + (FormatTimestamp(received) if received
                                      else "unknown (None)")))
  if started:
    text = FormatTimestamp(started)
    if received:
      text += " (delta %.6fs)" % (_Seconds(started) - _Seconds(received))
  else:
    text = "unknown (None)"
  info.append(("Processing start", text))
  if ended:
    text = FormatTimestamp(ended)
    if started:
      text += " (delta %.6fs)" % (_Seconds(ended) - _Seconds(started))
  else:
    text = "unknown (None)"
  info.append(("Processing end", "  " + text))
  if ended and received:
    total = "%.6f seconds" % (_Seconds(ended) - _Seconds(received))
  else:
    total = "N/A"
  info.append(("Total processing time", total))
  opcodes = [_OpcodeInfo(*entry)
             for entry in zip(ops or [], op_statuses or [], op_results or [], op_logs or [],
                              op_starts or [], op_execs or [], op_ends or [])]
  info.append(("Opcodes", opcodes))
  return info


def ShowJobs(opts: Any, args: list[str]) -> int:
  job_ids = [_ParseJobId(arg) for arg in args]
  qfilter = ["|"] + [["==", "id", job_id] for job_id in job_ids]
  response = GetClient().Query(constants.QR_JOB, _INFO_FIELDS, qfilter)
  listing = []
  for row in response["data"]:
    values = [value if status == constants.RS_NORMAL else None for status, value in row]
    if values[1] is None:
      listing.append("Job ID %s not found" % values[0])
    else:
      listing.append(_JobInfo(values))
  PrintGenericInfo(listing)
  return EXIT_SUCCESS


class _SilentReporter(JobPollReportCb):
  def ReportLogMessage(self, *args: Any) -> None:
    pass


def _FollowJob(job_id: str, reporter: JobPollReportCb) -> int:
  try:
    PollJob(job_id, reporter=reporter)
  except errors.GenericError as err:
    _, message = FormatError(err)
    ToStderr("Job %s failed: %s", job_id, message)
    return EXIT_FAILURE
  return EXIT_SUCCESS


def WatchJob(opts: Any, args: list[str]) -> int:
  job_id = args[0]
  header = "Output from job %s follows" % job_id
  ToStdout(header)
  ToStdout("-" * len(header))
  return _FollowJob(job_id, StdioJobPollReportCb())


def WaitJob(opts: Any, args: list[str]) -> int:
  return _FollowJob(args[0], _SilentReporter())


def _MultiJobAction(opts: Any, args: list[str], question: str, method: str,
                    action: Any) -> int:
  """Applies action(client, job_id) to the jobs named or selected by status.

  Jobs selected by status are listed and confirmed unless --force is given.
  """
  if bool(args) == (opts.status_filter is not None):
    raise errors.OpPrereqError("Either a status filter or job ID(s) must be specified and"
                               " never both", errors.ECODE_INVAL)
  cl = GetClient()
  if opts.status_filter is None:
    job_ids = [_LuxiJobId(method, arg) for arg in args]
  else:
    response = cl.Query(constants.QR_JOB, _LIST_DEF_FIELDS, _StatusFilter(opts.status_filter))
    job_ids = [row[0][1] for row in response["data"]]
    if not job_ids:
      raise errors.OpPrereqError("No jobs with the requested status have been found",
                                 errors.ECODE_STATE)
    if not opts.force:
      _, _, lines = FormatQueryResult(response, format_override=_LIST_FORMAT, header=True)
      for line in lines:
        ToStdout(line)
      if not AskUser(question):
        return EXIT_CONFIRMATION
  result = EXIT_SUCCESS
  for job_id in job_ids:
    success, message = action(cl, job_id)
    if not success:
      result = EXIT_FAILURE
    ToStdout(message)
  return result


def CancelJobs(opts: Any, args: list[str]) -> int:
  if opts.kill and not opts.yes_do_it:
    raise errors.OpPrereqError("The --kill option must be confirmed with --yes-do-it",
                               errors.ECODE_INVAL)
  return _MultiJobAction(opts, args, "Cancel job(s) listed above?", luxi.REQ_CANCEL_JOB,
                         lambda cl, job_id: cl.CancelJob(job_id, kill=opts.kill))


def ChangePriority(opts: Any, args: list[str]) -> int:
  if opts.priority is None:
    ToStderr("--priority option must be given.")
    return EXIT_FAILURE
  return _MultiJobAction(opts, args, "Change priority of job(s) listed above?",
                         luxi.REQ_CHANGE_JOB_PRIORITY,
                         lambda cl, job_id: cl.ChangeJobPriority(job_id, opts.priority))


def ArchiveJobs(opts: Any, args: list[str]) -> int:
  cl = GetClient()
  result = EXIT_SUCCESS
  for arg in args:
    if not cl.ArchiveJob(_LuxiJobId(luxi.REQ_ARCHIVE_JOB, arg)):
      ToStderr("Failed to archive job with ID '%s'", arg)
      result = EXIT_FAILURE
  return result


def AutoArchiveJobs(opts: Any, args: list[str]) -> int:
  age = -1 if args[0] == "all" else ParseTimespec(args[0])
  archived, left = GetClient().AutoArchiveJobs(age, timeout=_AUTOARCHIVE_TIMEOUT)
  ToStdout("Archived %s jobs, %s unchecked left", archived, left)
  return EXIT_SUCCESS


_SELECT_OPTS = [PENDING_OPT, QUEUED_OPT, WAITING_OPT]

commands = {
  "list": (
    ListJobs, [ArgJobId()],
    [NOHDR_OPT, SEP_OPT, FIELDS_OPT, VERBOSE_OPT, FILTER_OPT, PENDING_OPT, RUNNING_OPT,
     ERROR_OPT, FINISHED_OPT, ARCHIVED_OPT],
    "[<job-id>...]",
    "Lists jobs and their status (\"list-fields\" shows the fields that can be"
    " selected; the default ones are %s)" % ", ".join(_LIST_DEF_FIELDS)),
  "list-fields": (
    ListJobFields, [ArgUnknown()], [NOHDR_OPT, SEP_OPT], "[<fields>...]",
    "Lists the fields available for jobs"),
  "archive": (
    ArchiveJobs, [ArgJobId(min=1)], [], "<job-id> [<job-id>...]",
    "Moves the given jobs to the archive"),
  "autoarchive": (
    AutoArchiveJobs, [ArgSuggest(min=1, max=1, choices=["1d", "1w", "4w", "all"])], [],
    "<age>", "Archives the jobs older than the given age"),
  "cancel": (
    CancelJobs, [ArgJobId()],
    [FORCE_OPT, KILL_OPT] + _SELECT_OPTS + [YesDoItOption("Confirms --kill")],
    "{[--force] [--kill --yes-do-it] {--pending | --queued | --waiting} |"
    " <job-id> [<job-id>...]}",
    "Cancels jobs"),
  "info": (
    ShowJobs, [ArgJobId(min=1)], [], "<job-id> [<job-id>...]",
    "Shows everything known about the given jobs"),
  "wait": (
    WaitJob, [ArgJobId(min=1, max=1)], [], "<job-id>", "Waits until a job ends"),
  "watch": (
    WatchJob, [ArgJobId(min=1, max=1)], [], "<job-id>",
    "Follows a job, printing its log as it is written"),
  "change-priority": (
    ChangePriority, [ArgJobId()], [PRIORITY_OPT, FORCE_OPT] + _SELECT_OPTS,
    "--priority <priority> {[--force] {--pending | --queued | --waiting} |"
    " <job-id> [<job-id>...]}",
    "Changes the priority of jobs"),
}


def Main() -> int:
  return GenericMain(commands)
