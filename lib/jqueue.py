"""The job queue of the master daemon.

Jobs are lists of opcodes.  They are kept in memory while live, written to
queue/job-N on every state change that matters (see jstore.GroupCommitter),
run by a pool of worker threads in priority order, may depend on other jobs,
can be watched (WaitForJobChange), cancelled and archived.  After a restart
every job is found where it was; jobs that were running are marked failed.
"""

import heapq
import itertools
import logging
import threading
import time
from typing import Any, Callable, Optional

from ganeti import constants
from ganeti import errors
from ganeti import jstore
from ganeti import opcodes
from ganeti import serializer

_UNCLEAN_SHUTDOWN = "Unclean master daemon shutdown"
_CANCELED_BY_REQUEST = "Job canceled by request"


def TimeStampNow() -> list[int]:
  """[seconds, microseconds], the timestamp format of job files."""
  now = time.time()
  seconds = int(now)
  return [seconds, int((now - seconds) * 1000000)]


class QueuedOpCode:
  """One opcode of a job with its state, result and log."""

  __slots__ = ("input", "status", "result", "log", "start_timestamp",
               "exec_timestamp", "end_timestamp", "priority")

  def __init__(self, op: opcodes.OpCode) -> None:
    self.input = op
    self.status = constants.OP_STATUS_QUEUED
    self.result: Any = None
    self.log: list[list] = []
    self.start_timestamp: Optional[list[int]] = None
    self.exec_timestamp: Optional[list[int]] = None
    self.end_timestamp: Optional[list[int]] = None
    self.priority = getattr(op, "priority", constants.OP_PRIO_DEFAULT)

  def Serialize(self) -> dict:
    return {"input": self.input.__getstate__(), "status": self.status,
            "result": self.result, "log": self.log,
            "start_timestamp": self.start_timestamp,
            "exec_timestamp": self.exec_timestamp,
            "end_timestamp": self.end_timestamp, "priority": self.priority}

  @classmethod
  def Restore(cls, data: dict) -> "QueuedOpCode":
    obj = cls(opcodes.OpCode.LoadOpCode(data["input"]))
    obj.status = data["status"]
    obj.result = data.get("result")
    obj.log = data.get("log") or []
    obj.start_timestamp = data.get("start_timestamp")
    obj.exec_timestamp = data.get("exec_timestamp")
    obj.end_timestamp = data.get("end_timestamp")
    obj.priority = data.get("priority", obj.priority)
    return obj


class QueuedJob:
  """A job: its opcodes, timestamps and bookkeeping for waiters."""

  def __init__(self, job_id: int, ops: list[opcodes.OpCode], lock: threading.Lock) -> None:
    self.id = job_id
    self.ops = [QueuedOpCode(op) for op in ops]
    self.received_timestamp: Optional[list[int]] = None
    self.start_timestamp: Optional[list[int]] = None
    self.end_timestamp: Optional[list[int]] = None
    self.archived = False
    self.log_serial = 0
    self.cancel_requested = False
    # whether the last write of the job carried its end, and whether that
    # write is over: waiters learn of the end only then
    self.end_serialized = False
    self.end_written = False
    # one condition per job, on the queue's lock: waiters of one job are not
    # woken by changes to others
    self.change = threading.Condition(lock)

  def CalcStatus(self) -> str:
    """The job's status, derived from its opcodes' as Ganeti does."""
    status = constants.JOB_STATUS_QUEUED
    all_success = True
    for op in self.ops:
      if op.status == constants.OP_STATUS_SUCCESS:
        continue
      all_success = False
      if op.status in (constants.OP_STATUS_WAITING, constants.OP_STATUS_RUNNING):
        status = op.status
      elif op.status in (constants.OP_STATUS_CANCELING, constants.OP_STATUS_ERROR,
                         constants.OP_STATUS_CANCELED):
        return op.status
    return constants.JOB_STATUS_SUCCESS if all_success else status

  def CalcPriority(self) -> int:
    pending = [op.priority for op in self.ops if op.status not in constants.OPS_FINALIZED]
    return min(pending) if pending else constants.OP_PRIO_DEFAULT

  def IsFinalized(self) -> bool:
    return self.CalcStatus() in constants.JOBS_FINALIZED

  def Serialize(self) -> dict:
    return {"id": self.id, "ops": [op.Serialize() for op in self.ops],
            "start_timestamp": self.start_timestamp,
            "end_timestamp": self.end_timestamp,
            "received_timestamp": self.received_timestamp}

  @classmethod
  def Restore(cls, data: dict, lock: threading.Lock) -> "QueuedJob":
    job = cls(int(data["id"]), [], lock)
    job.ops = [QueuedOpCode.Restore(op) for op in data["ops"]]
    job.received_timestamp = data.get("received_timestamp")
    job.start_timestamp = data.get("start_timestamp")
    job.end_timestamp = data.get("end_timestamp")
    job.log_serial = max([entry[0] for op in job.ops for entry in op.log] or [0])
    job.end_written = True  # as far as it got: read from the disk
    return job

  def AddLog(self, op_index: int, log_type: str, message: Any) -> None:
    self.log_serial += 1
    self.ops[op_index].log.append([self.log_serial, TimeStampNow(), log_type, message])

  def LogEntriesAfter(self, serial: Optional[int]) -> list[list]:
    serial = serial or 0
    entries = [entry for op in self.ops for entry in op.log if entry[0] > serial]
    entries.sort(key=lambda entry: entry[0])
    return entries

  def Dependencies(self) -> list[tuple[int, list[str]]]:
    deps = getattr(self.ops[0].input, "depends", None) if self.ops else None
    return [(int(dep_id), list(statuses)) for dep_id, statuses in (deps or [])]

  def Finalize(self, status: str, result: Any, from_index: int = 0) -> None:
    """Ends every opcode from from_index on with status and result."""
    now = TimeStampNow()
    for op in self.ops[from_index:]:
      if op.status in constants.OPS_FINALIZED:
        continue
      op.status = status
      op.result = result
      op.end_timestamp = now
    self.end_timestamp = now


class _JobCanceled(Exception):
  """Raised inside a worker when its job was cancelled while waiting."""


# Jobs archived (and renamed on the master candidates) per step of auto-archiving.
_ARCHIVE_BATCH = 100


class JobQueue:
  """The queue: submission, execution, watching, cancelling, archiving."""

  def __init__(self, run_opcode_fn: Callable, filters: Optional[Any] = None,
               workers: int = 25, replicator: Optional[Any] = None) -> None:
    """run_opcode_fn(job, op_index, callbacks) executes one opcode and returns
    its result; filters (jobfilters.JobFilters) decide whether a job may start
    (Action(job)) and learn when it ended (JobFinished(job_id)); replicator
    (server.replication.Replicator) copies queue files to master candidates."""
    self._run_opcode_fn = run_opcode_fn
    self._filters = filters
    self._replicator = replicator
    self._lock = threading.Lock()
    self._jobs: dict[int, QueuedJob] = {}
    self._runnable: list[tuple[int, int, int]] = []  # heap of (priority, seq, job id)
    self._seq = itertools.count()
    self._dependents: dict[int, set[int]] = {}
    self._wakeup = threading.Condition(self._lock)
    self._stopping = False
    self._last_serial = 0
    self._processing: set[int] = set()  # jobs a worker has taken
    jstore.EnsureQueueDirs()
    jstore.CheckQueueVersion()
    self._committer = jstore.GroupCommitter(
      self._serialize_jobs, lambda: self._last_serial,
      replicator.QueueWritten if replicator is not None else None, self._written)
    self._recover()
    self._workers = [threading.Thread(target=self._worker, name="JobWorker%d" % i, daemon=True)
                     for i in range(workers)]
    for thread in self._workers:
      thread.start()

  # ---- persistence ----------------------------------------------------

  def _serialize_jobs(self, job_ids: list[int]) -> list[tuple[int, dict]]:
    with self._lock:
      jobs = [self._jobs[job_id] for job_id in job_ids if job_id in self._jobs]
      for job in jobs:
        job.end_serialized = job.IsFinalized()
      return [(job.id, job.Serialize()) for job in jobs]

  def _written(self, job_ids: list[int]) -> None:
    """The committer's write of the jobs is over (done or failed): waiters
    of those whose end it carried learn of the end now."""
    with self._lock:
      for job_id in job_ids:
        job = self._jobs.get(job_id)
        if job is not None and job.end_serialized and not job.end_written:
          job.end_written = True
          job.change.notify_all()

  def _save(self, jobs: list[QueuedJob], wait: bool = True) -> None:
    self._committer.Mark([job.id for job in jobs], wait=wait)

  def _recover(self) -> None:
    """Loads the live jobs after a (re)start and repairs interrupted ones."""
    serial = jstore.ReadSerial()
    repaired = []
    for job_id, path in jstore.IterJobFiles():
      serial = max(serial, job_id)
      try:
        job = QueuedJob.Restore(jstore.LoadJobData(job_id), self._lock)
      except (errors.GenericError, ValueError, KeyError, TypeError) as err:
        logging.error("Ignoring unreadable job file %s: %s", path, err)
        continue
      status = job.CalcStatus()
      if status == constants.JOB_STATUS_RUNNING:
        index = next(i for i, op in enumerate(job.ops) if op.status == constants.OP_STATUS_RUNNING)
        job.Finalize(constants.OP_STATUS_ERROR,
                     errors.EncodeException(errors.OpExecError(_UNCLEAN_SHUTDOWN)), index)
        repaired.append(job)
      elif status == constants.JOB_STATUS_CANCELING:
        job.Finalize(constants.OP_STATUS_CANCELED, _CANCELED_BY_REQUEST)
        repaired.append(job)
      elif status == constants.JOB_STATUS_WAITING:
        for op in job.ops:
          if op.status == constants.OP_STATUS_WAITING:
            op.status = constants.OP_STATUS_QUEUED
        repaired.append(job)
      self._jobs[job.id] = job
    self._last_serial = serial
    with self._lock:
      for job in self._jobs.values():
        if not job.IsFinalized():
          self._schedule(job)
    if repaired:
      logging.info("Repaired %d interrupted jobs after restart", len(repaired))
      self._save(repaired)

  # ---- submission -----------------------------------------------------

  def _check_submittable(self, count: int, drained_ok: bool) -> None:
    if not drained_ok and jstore.IsDrained():
      raise errors.GenericError("Queue drained")
    live = sum(1 for job in self._jobs.values() if not job.IsFinalized())
    if live + count > constants.JOB_QUEUE_SIZE_HARD_LIMIT:
      raise errors.JobQueueFull()

  @staticmethod
  def _load_ops(ops_data: Any) -> list[opcodes.OpCode]:
    """Opcodes of a job (objects, or dicts from logical units), defaults filled."""
    if not isinstance(ops_data, list):
      raise errors.OpPrereqError("A job is a list of opcodes", errors.ECODE_INVAL)
    ops = []
    for data in ops_data:
      op = opcodes.OpCode.LoadOpCode(data) if isinstance(data, dict) else data
      op.Validate(True)
      ops.append(op)
    return ops

  def SubmitManyJobs(self, jobs_data: list, drained_ok: bool = False) -> list[list]:
    """Submits jobs; returns [[True, job id] | [False, message]] per job."""
    prepared: list[Any] = []
    for ops_data in jobs_data:
      try:
        prepared.append(self._load_ops(ops_data))
      except (errors.GenericError, ValueError, TypeError, KeyError) as err:
        prepared.append(err)
    with self._lock:
      self._check_submittable(sum(1 for p in prepared if isinstance(p, list)), drained_ok)
      results: list[list] = []
      new_jobs = []
      ids_so_far: list[Optional[int]] = []
      for ops in prepared:
        if not isinstance(ops, list):
          results.append([False, str(ops)])
          ids_so_far.append(None)
          continue
        self._last_serial += 1
        job = QueuedJob(self._last_serial, ops, self._lock)
        try:
          self._resolve_dependencies(job, ids_so_far)
        except errors.GenericError as err:
          self._last_serial -= 1
          results.append([False, str(err)])
          ids_so_far.append(None)
          continue
        job.received_timestamp = TimeStampNow()
        self._add_reason(job)
        self._jobs[job.id] = job
        new_jobs.append(job)
        results.append([True, job.id])
        ids_so_far.append(job.id)
        self._schedule(job)
    self._save_submitted(new_jobs)
    return results

  def SubmitJob(self, ops_data: list, drained_ok: bool = False) -> int:
    ops = self._load_ops(ops_data)
    with self._lock:
      self._check_submittable(1, drained_ok)
      self._last_serial += 1
      job = QueuedJob(self._last_serial, ops, self._lock)
      self._resolve_dependencies(job, [])
      job.received_timestamp = TimeStampNow()
      self._add_reason(job)
      self._jobs[job.id] = job
      # the job may start while its file is being written: it changes
      # nothing before its "running" state (written after this) is durable
      self._schedule(job)
    self._save_submitted([job])
    return job.id

  def _save_submitted(self, jobs: list[QueuedJob]) -> None:
    """Makes new jobs durable; if that fails (e.g. a full disk), they are
    forgotten again and the submitter gets the error."""
    try:
      self._save(jobs)
    except errors.JobQueueError:
      with self._lock:
        for job in jobs:
          job.cancel_requested = True
          self._jobs.pop(job.id, None)
      raise

  @staticmethod
  def _add_reason(job: QueuedJob) -> None:
    now_ns = time.time_ns()
    for index, op in enumerate(job.ops):
      trail = list(getattr(op.input, "reason", None) or [])
      trail.append(["%s:%s" % (constants.OPCODE_REASON_SRC_OPCODE, op.input.OP_ID[3:].lower()),
                    "job=%d;index=%d" % (job.id, index), now_ns])
      op.input.reason = trail

  @staticmethod
  def _resolve_dependencies(job: QueuedJob, earlier_ids: list[Optional[int]]) -> None:
    """Turns relative dependencies (negative ids in SubmitManyJobs) into job ids."""
    for op in job.ops:
      deps = getattr(op.input, "depends", None)
      if not deps:
        continue
      resolved = []
      for dep_id, statuses in deps:
        if isinstance(dep_id, str):
          dep_id = int(dep_id)
        if dep_id < 0:
          position = len(earlier_ids) + dep_id
          if position < 0 or earlier_ids[position] is None:
            raise errors.GenericError("Job %s depends on a job that was not submitted" % job.id)
          dep_id = earlier_ids[position]
        resolved.append([dep_id, statuses])
      op.input.depends = resolved

  # ---- scheduling and execution ----------------------------------------

  def _schedule(self, job: QueuedJob) -> None:
    """Makes a job runnable (lock held)."""
    heapq.heappush(self._runnable, (job.CalcPriority(), next(self._seq), job.id))
    self._wakeup.notify()

  def _worker(self) -> None:
    while True:
      with self._lock:
        while not self._runnable and not self._stopping:
          self._wakeup.wait()
        if self._stopping:
          return
        _, _, job_id = heapq.heappop(self._runnable)
        job = self._jobs.get(job_id)
        if job is None or job.IsFinalized() or job_id in self._processing:
          continue
        if not self._dependencies_met(job):
          continue
        self._processing.add(job_id)
      try:
        self._process(job)
      except Exception:  # pylint: disable=broad-except
        logging.exception("Unhandled error while processing job %s", job.id)
      finally:
        with self._lock:
          self._processing.discard(job_id)

  def _dependencies_met(self, job: QueuedJob) -> bool:
    """Whether a job may start now; parks it or fails it otherwise (lock held)."""
    for dep_id, statuses in job.Dependencies():
      dep = self._jobs.get(dep_id)
      if dep is None:
        data = jstore.LoadJobData(dep_id, archived=True) if dep_id <= self._last_serial else None
        dep_status = (QueuedJob.Restore(data, self._lock).CalcStatus() if data
                      else None)
      else:
        dep_status = dep.CalcStatus()
      if dep_status is None:
        self._fail_locked(job, "Dependency %s does not exist" % dep_id)
        return False
      if dep_status not in constants.JOBS_FINALIZED:
        # stays "queued" (as in Ganeti 3.0) until the dependency ends
        self._dependents.setdefault(dep_id, set()).add(job.id)
        return False
      if statuses and dep_status not in statuses:
        self._fail_locked(job, "Dependency %s finished with status '%s', not one of '%s'" %
                          (dep_id, dep_status, "', '".join(statuses)))
        return False
    return True

  def _fail_locked(self, job: QueuedJob, message: str) -> None:
    job.Finalize(constants.OP_STATUS_ERROR, errors.EncodeException(errors.OpExecError(message)))
    job.change.notify_all()
    self._committer.Mark([job.id], wait=False)
    self._release_dependents_locked(job.id)

  def _release_dependents_locked(self, job_id: int) -> None:
    for dependent_id in self._dependents.pop(job_id, ()):
      dependent = self._jobs.get(dependent_id)
      if dependent is not None and not dependent.IsFinalized():
        self._schedule(dependent)

  def _process(self, job: QueuedJob) -> None:
    if self._filters is not None:
      action = self._filters.Action(job)
      if action == constants.JOBQUEUE_FILTER_ACTION_REJECT:
        with self._lock:
          job.Finalize(constants.OP_STATUS_CANCELED, "Job rejected by a job filter")
          job.change.notify_all()
        self._finish(job)
        return
      if action == constants.JOBQUEUE_FILTER_ACTION_PAUSE:
        return  # stays queued; filter changes reschedule it
    with self._lock:
      if job.start_timestamp is None:
        job.start_timestamp = TimeStampNow()
    for index, op in enumerate(job.ops):
      if op.status in constants.OPS_FINALIZED:
        continue
      with self._lock:
        if job.cancel_requested:
          break
        op.status = constants.OP_STATUS_WAITING
        op.start_timestamp = TimeStampNow()
        job.change.notify_all()
      self._committer.Mark([job.id], wait=False, lazy=True)
      callbacks = _OpCallbacks(self, job, index)
      # the job's end wakes no waiter here: _finish tells it once it is on disk
      try:
        result = self._run_opcode_fn(job, index, callbacks)
      except _JobCanceled:
        with self._lock:
          job.Finalize(constants.OP_STATUS_CANCELED, _CANCELED_BY_REQUEST, index)
        break
      except Exception as err:  # pylint: disable=broad-except
        if not isinstance(err, errors.GenericError):
          logging.exception("Opcode %s of job %s failed", op.input.OP_ID, job.id)
        with self._lock:
          op.status = constants.OP_STATUS_ERROR
          op.result = errors.EncodeException(err)
          op.end_timestamp = TimeStampNow()
          job.Finalize(constants.OP_STATUS_ERROR, errors.EncodeException(
            errors.OpExecError("Preceding opcode failed")), index + 1)
        break
      with self._lock:
        op.status = constants.OP_STATUS_SUCCESS
        op.result = _as_stored(result)
        op.end_timestamp = TimeStampNow()
        if index + 1 < len(job.ops):
          job.change.notify_all()
    else:
      with self._lock:
        job.end_timestamp = TimeStampNow()
    with self._lock:
      if job.cancel_requested and not job.IsFinalized():
        job.Finalize(constants.OP_STATUS_CANCELED, _CANCELED_BY_REQUEST)
      if job.end_timestamp is None:
        job.end_timestamp = TimeStampNow()
    self._finish(job)

  def _finish(self, job: QueuedJob) -> None:
    # Waiters are told of the end once it is on the master's disk, while the
    # copies for the candidates are on their way (Ganeti too tells them after
    # its local write): a master failing meanwhile leaves the job "running"
    # on a candidate taking over, which fails it.
    self._committer.Mark([job.id], wait=True, replicated=False)
    with self._lock:
      job.change.notify_all()
      self._release_dependents_locked(job.id)
    if self._filters is not None:
      self._filters.JobFinished(job.id)

  def RescheduleQueued(self) -> None:
    """Gives queued jobs another chance (e.g. after job filters changed)."""
    with self._lock:
      waiting = {job_id for _, _, job_id in self._runnable} | self._processing
      for job in self._jobs.values():
        if job.CalcStatus() == constants.JOB_STATUS_QUEUED and job.id not in waiting:
          self._schedule(job)

  # ---- callbacks from running opcodes -----------------------------------

  def _notify_start(self, job: QueuedJob, index: int) -> int:
    """The opcode runs; its new state goes to disk (and the candidates) while
    it checks its prerequisites.  Returns the write's batch."""
    with self._lock:
      if job.cancel_requested:
        raise _JobCanceled()
      op = job.ops[index]
      op.status = constants.OP_STATUS_RUNNING
      op.exec_timestamp = TimeStampNow()
      job.change.notify_all()
    return self._committer.Mark([job.id], wait=False)

  def _confirm_start(self, batch: int) -> None:
    # the opcode changes the cluster from now on: "running" must survive a
    # crash, or a restarted (or new) master would run it once more
    self._committer.WaitFor(batch)

  def _feedback(self, job: QueuedJob, index: int, log_type: str, message: Any) -> None:
    with self._lock:
      job.AddLog(index, log_type, message)
      job.change.notify_all()
    self._committer.Mark([job.id], wait=False, lazy=True)

  def _check_canceled(self, job: QueuedJob) -> None:
    with self._lock:
      if job.cancel_requested:
        raise _JobCanceled()

  # ---- queries and watching ---------------------------------------------

  def GetJob(self, job_id: int, include_archived: bool = True) -> Optional[QueuedJob]:
    with self._lock:
      job = self._jobs.get(job_id)
    if job is None and include_archived:
      data = jstore.LoadJobData(job_id, archived=True)
      if data is not None:
        job = QueuedJob.Restore(data, threading.Lock())
        job.archived = True
    return job

  def GetJobs(self, job_ids: Optional[list[int]] = None,
              include_archived: bool = False) -> list[Optional[QueuedJob]]:
    """Jobs by id (None where unknown), or all live jobs in id order."""
    if job_ids is None:
      with self._lock:
        return [self._jobs[job_id] for job_id in sorted(self._jobs)]
    return [self.GetJob(int(job_id), include_archived) for job_id in job_ids]

  def WaitForJobChange(self, job_id: int, get_info: Callable[[QueuedJob], list],
                       prev_job_info: Any, prev_log_serial: Optional[int],
                       timeout: float) -> Any:
    job = self.GetJob(job_id)
    if job is None:
      raise errors.JobLost("Can't load job file")
    deadline = time.monotonic() + max(0.0, min(timeout, constants.LUXI_WFJC_TIMEOUT))
    with job.change:
      while True:
        info = get_info(job)
        logs = job.LogEntriesAfter(prev_log_serial)
        # an end is told once it is on the disk (see _written)
        tellable = job.end_written or not job.IsFinalized()
        if tellable and (info != prev_job_info or logs or job.IsFinalized() or job.archived):
          return [info, logs]
        remaining = deadline - time.monotonic()
        if remaining <= 0:
          return "nochange"
        job.change.wait(remaining)

  # ---- cancel, priority, archive ----------------------------------------

  def CancelJob(self, job_id: int, kill: bool = False) -> list:
    with self._lock:
      job = self._jobs.get(job_id)
      if job is None:
        return [False, "Job %s not found in queue" % job_id]
      status = job.CalcStatus()
      if status == constants.JOB_STATUS_QUEUED:
        job.Finalize(constants.OP_STATUS_CANCELED, None)
        answer = [True, "Dequeued job %s" % job_id]
      elif status == constants.JOB_STATUS_WAITING:
        # waiting for locks: the worker notices at its next lock attempt
        job.cancel_requested = True
        for op in job.ops:
          if op.status == constants.OP_STATUS_WAITING:
            op.status = constants.OP_STATUS_CANCELING
        answer = [True, "Job successfully cancelled"]
      elif status == constants.JOB_STATUS_RUNNING:
        if kill:
          job.cancel_requested = True
        answer = [False, "Job %s is running and can no longer be canceled%s" %
                  (job_id, "; it stops at its next cancellation point" if kill else "")]
      else:
        return [False, "Job %s is no longer waiting in the queue" % job_id]
      job.change.notify_all()
      finalized = job.IsFinalized()
    self._save([job])
    if finalized:
      with self._lock:
        self._release_dependents_locked(job.id)
    return answer

  def ChangeJobPriority(self, job_id: int, priority: int) -> list:
    if priority not in constants.OP_PRIO_SUBMIT_VALID and not (
        constants.OP_PRIO_HIGHEST <= priority <= constants.OP_PRIO_LOWEST):
      raise errors.GenericError("Invalid priority %s" % priority)
    with self._lock:
      job = self._jobs.get(job_id)
      if job is None:
        return [False, "Job %s not found in queue" % job_id]
      if job.IsFinalized():
        return [False, "Job %s is finished" % job_id]
      changed = False
      for op in job.ops:
        if op.status in (constants.OP_STATUS_QUEUED, constants.OP_STATUS_WAITING):
          op.priority = priority
          changed = True
      if not changed:
        return [False, "Job %s had no pending opcodes to change" % job_id]
      job.change.notify_all()
    self._save([job])
    return [True, "Priorities of pending opcodes for job %s have been changed to %s" %
            (job_id, priority)]

  def ArchiveJob(self, job_id: int) -> bool:
    with self._lock:
      job = self._jobs.get(job_id)
      if job is None or not job.IsFinalized():
        return False
    return self._archive([job]) == 1

  def _archive(self, jobs: list[QueuedJob]) -> int:
    self._committer.Flush()
    renamed = []
    for job in jobs:
      try:
        jstore.ArchiveJobFile(job.id)
      except OSError as err:
        logging.error("Cannot archive job %s: %s", job.id, err)
        continue
      with self._lock:
        self._jobs.pop(job.id, None)
        job.archived = True
        job.change.notify_all()
      renamed.append((jstore.JobFileName(job.id), jstore.ArchivedJobFileName(job.id)))
    if renamed and self._replicator is not None:
      self._replicator.QueueRenamed(renamed)
    return len(renamed)

  def AutoArchiveJobs(self, age: float, timeout: float) -> list[int]:
    """Archives finished jobs older than age seconds (all if age < 0).

    Returns [archived, left over when the timeout struck]."""
    deadline = time.monotonic() + timeout
    now = time.time()
    with self._lock:
      finished = [job for job in self._jobs.values() if job.IsFinalized()]
    old = [job for job in finished
           if age < 0 or now - (job.end_timestamp or job.received_timestamp or [0, 0])[0] >= age]
    archived = 0
    for start in range(0, len(old), _ARCHIVE_BATCH):
      if time.monotonic() > deadline:
        return [archived, len(old) - start]
      archived += self._archive(old[start:start + _ARCHIVE_BATCH])
    return [archived, 0]

  def LastJobId(self) -> int:
    with self._lock:
      return self._last_serial

  def Stop(self) -> None:
    with self._lock:
      self._stopping = True
      self._wakeup.notify_all()
    self._committer.Stop()

  def Flush(self) -> None:
    self._committer.Flush()


class _OpCallbacks:
  """What a running opcode may tell the queue about itself."""
  # pylint: disable=protected-access

  def __init__(self, queue: JobQueue, job: QueuedJob, index: int) -> None:
    self._queue = queue
    self.job = job
    self.index = index
    self._start_batch = 0

  def NotifyStart(self) -> None:
    """Locks are held: the opcode runs (it checks its prerequisites first)."""
    self._start_batch = self._queue._notify_start(self.job, self.index)

  def ConfirmStart(self) -> None:
    """Returns once the running state is durable: the opcode starts
    changing things now."""
    self._queue._confirm_start(self._start_batch)

  def Feedback(self, log_type: str, message: Any) -> None:
    self._queue._feedback(self.job, self.index, log_type, message)

  def CheckCanceled(self) -> None:
    """Raises if the job was cancelled (used while waiting for locks)."""
    self._queue._check_canceled(self.job)

  def CurrentPriority(self) -> int:
    return self.job.ops[self.index].priority


def _as_stored(result: Any) -> Any:
  """The result as it reads back from a job file (tuples become lists, ...),
  so that answers do not change across a master restart."""
  return serializer.LoadJson(serializer.DumpJson(result))
