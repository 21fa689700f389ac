"""Fields of the "job" resource.

Job objects are read through these attributes (the job queue's QueuedJob
provides them):

  job.id                  int
  job.ops                 list of opcode entries (below)
  job.received_timestamp  [seconds, microseconds] or None; likewise
  job.start_timestamp     job.end_timestamp
  job.archived            bool
  job.CalcStatus()        the job status (constants.JOB_STATUS_*)
  job.CalcPriority()      the current priority

  op.input                the opcode: op.input.__getstate__() is its dict,
                          op.input.Summary() its one-line summary
  op.status  op.result  op.priority
  op.log                  list of [serial, [s, us], type, message]
  op.start_timestamp  op.exec_timestamp  op.end_timestamp   ([s, us] or None)
"""

import re
from typing import Any

from ganeti import constants
from ganeti import errors
from ganeti.query.common import UNAVAIL, FieldDef, FieldSet, Fields

_TS_DOC = " (tuple containing seconds and microseconds)"


def _Timestamp(attr: str) -> tuple:
  """Getters of a job timestamp: shown as [s, us], compared by its seconds."""
  def shown(ctx: Any, job: Any) -> Any:
    value = getattr(job, attr)
    return UNAVAIL if value is None else value

  def compared(ctx: Any, job: Any) -> Any:
    value = getattr(job, attr)
    return UNAVAIL if value is None else value[0]
  return shown, compared


def _PerOpcode(attr: str) -> Any:
  return lambda ctx, job: [getattr(op, attr) for op in job.ops]


def _TimestampField(name: str, title: str, doc: str, attr: str) -> FieldDef:
  shown, compared = _Timestamp(attr)
  return FieldDef(name, title, constants.QFT_OTHER, doc + _TS_DOC, shown,
                  filter_getter=compared)


FIELDS = FieldSet(constants.QR_JOB, Fields([
  ("id", "ID", constants.QFT_NUMBER, "Job ID", lambda ctx, job: job.id),
  ("status", "Status", constants.QFT_TEXT, "Job status",
   lambda ctx, job: job.CalcStatus()),
  ("priority", "Priority", constants.QFT_NUMBER, "Current job priority (19 to -20)",
   lambda ctx, job: job.CalcPriority()),
  ("archived", "Archived", constants.QFT_BOOL, "Whether job is archived",
   lambda ctx, job: job.archived),
  ("ops", "OpCodes", constants.QFT_OTHER, "List of all opcodes",
   lambda ctx, job: [op.input.__getstate__() for op in job.ops]),
  ("opresult", "OpCode_result", constants.QFT_OTHER, "List of opcodes results",
   _PerOpcode("result")),
  ("opstatus", "OpCode_status", constants.QFT_OTHER, "List of opcodes status",
   _PerOpcode("status")),
  ("oplog", "OpCode_log", constants.QFT_OTHER, "List of opcode output logs",
   _PerOpcode("log")),
  ("opstart", "OpCode_start", constants.QFT_OTHER,
   "List of opcode start timestamps (before acquiring locks)",
   _PerOpcode("start_timestamp")),
  ("opexec", "OpCode_exec", constants.QFT_OTHER,
   "List of opcode execution start timestamps (after acquiring locks)",
   _PerOpcode("exec_timestamp")),
  ("opend", "OpCode_end", constants.QFT_OTHER, "List of opcode execution end timestamps",
   _PerOpcode("end_timestamp")),
  ("oppriority", "OpCode_prio", constants.QFT_OTHER, "List of opcode priorities",
   _PerOpcode("priority")),
  ("summary", "Summary", constants.QFT_OTHER, "List of per-opcode summaries",
   lambda ctx, job: [op.input.Summary() for op in job.ops]),
]) + [
  _TimestampField("received_ts", "Received", "Timestamp of when job was received",
                  "received_timestamp"),
  _TimestampField("start_ts", "Start", "Timestamp of job start", "start_timestamp"),
  _TimestampField("end_ts", "End", "Timestamp of job end", "end_timestamp"),
], namefield="id")


def ParseJobId(value: Any) -> int:
  """A job ID from a filter or request value (number or string of digits).

  @raise errors.GenericError: with the daemon's wording for bad IDs

  """
  if isinstance(value, str):
    if not re.fullmatch(r"-?\d+", value):
      raise errors.GenericError("parsing job id: cannot parse string '%s'" % value)
    value = int(value)
  if value < 0:
    raise errors.GenericError("Invalid value for job ID ' %d'" % value)
  return value
