"""The opcode processor: runs one opcode through its logical unit.

For an opcode it finds the logical unit, lets it check its arguments and
name the locks it needs, acquires them level by level (waiting in slices so
that a cancelled job stops waiting), checks prerequisites, runs the pre hooks,
executes, runs the post hooks, and releases every lock.
"""

import logging
import time
from typing import Any, Callable, Optional

from ganeti import constants
from ganeti import errors
from ganeti import firstchange
from ganeti import hooksmaster
from ganeti import locking

# How long one lock attempt may block before the job checks for cancellation.
_LOCK_WAIT_SLICE = 1.0


def _lu_class_for(op: Any) -> type:
  from ganeti import cmdlib  # pylint: disable=import-outside-toplevel
  cls = cmdlib.LU_FOR_OPCODE.get(op.OP_ID)
  if cls is None:
    raise errors.OpCodeUnknown("Opcode %s is not implemented by this master yet" % op.OP_ID)
  return cls


class Processor:
  """Runs the opcodes of one job (one instance per running opcode)."""

  def __init__(self, context: Any, callbacks: Any, job_id: Optional[int] = None) -> None:
    """context gives cfg (ConfigWriter), glm (lock manager) and queue access;
    callbacks is the job queue's per-opcode interface (NotifyStart,
    ConfirmStart, Feedback, CheckCanceled, CurrentPriority)."""
    self.context = context
    self.cfg = context.cfg
    self.glm: locking.GanetiLockManager = context.glm
    self._cbs = callbacks
    self.job_id = job_id

  # ---- feedback for logical units ----------------------------------------

  def Log(self, *args: Any) -> None:
    """Adds a message to the job log (format string and arguments)."""
    message = args[0] % args[1:] if len(args) > 1 else (args[0] if args else "")
    logging.info("Job %s: %s", self.job_id, message)
    if self._cbs is not None:
      self._cbs.Feedback(constants.ELOG_MESSAGE, message)

  def LogStep(self, current: int, total: int, message: str) -> None:
    self.Log("STEP %d/%d %s" % (current, total, message))

  def LogWarning(self, message: str, *args: Any, hint: Optional[str] = None) -> None:
    text = message % args if args else message
    self.Log(" - WARNING: %s" % text)
    if hint:
      self.Log("      Hint: %s" % hint)

  def LogInfo(self, message: str, *args: Any) -> None:
    self.Log(" - INFO: %s" % (message % args if args else message))

  def SendFeedback(self, log_type: str, message: Any) -> None:
    if self._cbs is not None:
      self._cbs.Feedback(log_type, message)

  def CheckCanceled(self) -> None:
    if self._cbs is not None:
      self._cbs.CheckCanceled()

  def GetECId(self) -> Any:
    """The execution context of the running opcode: what it reserves in the
    configuration (uuids, MACs, IPs) is held for it until the opcode ends."""
    return ("job", self.job_id) if self.job_id is not None else ("processor", id(self))

  # ---- execution ---------------------------------------------------------

  def ExecOpCode(self, op: Any) -> Any:
    lu_class = _lu_class_for(op)
    priority = self._cbs.CurrentPriority() if self._cbs else constants.OP_PRIO_DEFAULT
    # locks of objects the opcode creates: removed again unless it succeeds
    added: list[tuple[int, Any]] = []
    try:
      self._acquire(locking.LEVEL_CLUSTER, [locking.BGL], shared=not lu_class.REQ_BGL,
                    priority=priority)
      lu = lu_class(self, op, self.context)
      lu.ExpandNames()
      for level in locking.LEVELS[1:]:
        lu.DeclareLocks(level)
        if lu.needed_locks and level in lu.needed_locks:
          self._acquire(level, lu.needed_locks[level],
                        shared=bool(lu.share_locks.get(level)), priority=priority)
        if lu.add_locks.get(level):
          self.glm.add(level, lu.add_locks[level], acquired=True)
          added.append((level, lu.add_locks[level]))
      # all locks held: the opcode runs, and its state is written while it
      # checks its prerequisites and (see firstchange) until its first change
      if self._cbs is not None:
        self._cbs.NotifyStart()
      lu.CheckPrereq()
      hooks = hooksmaster.HooksMaster(lu)
      hooks.RunPhase(constants.HOOKS_PHASE_PRE)
      if self._cbs is not None:
        firstchange.HoldUntil(self._cbs.ConfirmStart)
      if getattr(op, "dry_run", False):
        return lu.dry_run_result
      result = lu.Exec(self.Log)
      # addresses the opcode took from or gave back to network pools
      self.cfg.CommitTemporaryIps(self.GetECId())
      added = []  # the new objects exist: their locks stay
      for level, names in lu.remove_locks.items():
        self.glm.remove(level, names)
      post_results = hooks.RunPhase(constants.HOOKS_PHASE_POST)
      if post_results is not None:
        result = lu.HooksCallBack(constants.HOOKS_PHASE_POST, post_results, self.Log, result)
      return self._submit_follow_up(result)
    finally:
      firstchange.Drop()
      for level, names in added:
        self.glm.remove(level, names)
      self.cfg.DropECReservations(self.GetECId())
      self._release_all()

  def _submit_follow_up(self, result: Any) -> Any:
    """Submits the jobs an LU asked for (cmdlib.base.ResultWithJobs)."""
    from ganeti.cmdlib import base  # pylint: disable=import-outside-toplevel
    if not isinstance(result, base.ResultWithJobs):
      return result
    submitted = self.context.SubmitManyJobsFromLU(
      [[op.__getstate__() if hasattr(op, "__getstate__") else op for op in job]
       for job in result.jobs])
    return dict(result.other, jobs=submitted)

  def _release_all(self) -> None:
    for level in reversed(locking.LEVELS):
      if self.glm.is_owned(level):
        self.glm.release(level)

  def _acquire(self, level: int, names: Any, shared: bool, priority: int) -> None:
    """Acquires locks (names or locking.ALL_SET), waiting in slices so that
    cancellation is noticed.  Each new attempt asks with a higher priority,
    so a job that waited long is not overtaken by ever newer ones."""
    if isinstance(names, str):
      names = [names]
    start = time.monotonic()
    while True:
      self.CheckCanceled()
      got = self.glm.acquire(level, names, shared=shared, timeout=_LOCK_WAIT_SLICE,
                             priority=priority)
      if got is not None:
        return
      if time.monotonic() - start > constants.LOCK_ATTEMPTS_TIMEOUT:
        raise errors.LockError("Could not acquire %s locks within %s seconds" %
                               (locking.LEVEL_NAMES[level], constants.LOCK_ATTEMPTS_TIMEOUT))
      priority = max(constants.OP_PRIO_HIGHEST, priority - 1)


def MakeOpcodeRunner(context: Any) -> Callable:
  """The function the job queue calls to execute an opcode of a job."""
  def run(job: Any, index: int, callbacks: Any) -> Any:
    locking.SetOwnerName(str(job.id))  # shown as the owner in lock queries
    return Processor(context, callbacks, job.id).ExecOpCode(job.ops[index].input)
  return run
