"""An opcode's first change waits for its start to be durable (firstchange),
and the opcode processor holds it back from the end of the pre hooks on."""

import threading

import pytest

from ganeti import cmdlib
from ganeti import errors
from ganeti import firstchange
from ganeti import locking
from ganeti import mcpu
from ganeti.cmdlib.base import NoHooksLU


@pytest.fixture(autouse=True)
def _nothing_held():
  firstchange.Drop()
  yield
  firstchange.Drop()


def test_only_the_first_change_waits():
  waits = []
  firstchange.HoldUntil(lambda: waits.append("waited"))
  firstchange.BeforeChange()
  firstchange.BeforeChange()
  assert waits == ["waited"]


def test_nothing_is_held_without_hold_or_after_drop():
  waits = []
  firstchange.BeforeChange()
  firstchange.HoldUntil(lambda: waits.append("waited"))
  firstchange.Drop()
  firstchange.BeforeChange()
  assert waits == []


def test_a_failed_wait_holds_back_every_later_change():
  def fail():
    raise errors.JobQueueError("Cannot write job files: disk full")
  firstchange.HoldUntil(fail)
  for _ in range(2):
    with pytest.raises(errors.JobQueueError):
      firstchange.BeforeChange()


def test_other_threads_are_not_held_back():
  waits = []
  firstchange.HoldUntil(lambda: waits.append("waited"))
  thread = threading.Thread(target=firstchange.BeforeChange)
  thread.start()
  thread.join(10)
  assert waits == []
  firstchange.BeforeChange()
  assert waits == ["waited"]


# --- the opcode processor ---------------------------------------------------

class _Callbacks:
  """The job queue's side, recording the order of events."""

  def __init__(self, events: list) -> None:
    self.events = events

  def NotifyStart(self) -> None:
    self.events.append("notify start")

  def ConfirmStart(self) -> None:
    self.events.append("start durable")

  def Feedback(self, log_type, message) -> None:
    pass

  def CheckCanceled(self) -> None:
    pass

  def CurrentPriority(self) -> int:
    return 0


class _Config:
  """Holds no reservations."""

  def CommitTemporaryIps(self, ec_id) -> None:
    pass

  def DropECReservations(self, ec_id) -> None:
    pass


class _Context:
  def __init__(self) -> None:
    self.cfg = _Config()
    self.rpc = None
    self.glm = locking.GanetiLockManager(nodes=[], nodegroups=[])


class _Op:
  OP_ID = "OP_TEST_FIRST_CHANGE"

  def __init__(self, changes: int, fail: bool = False) -> None:
    self.changes = changes
    self.fail = fail


class _LUFirstChange(NoHooksLU):
  """Looks, then makes op.changes changes, recording each step."""
  REQ_BGL = False
  events: list = []

  def CheckPrereq(self) -> None:
    self.events.append("check prerequisites")

  def Exec(self, feedback_fn):
    self.events.append("look")
    for index in range(self.op.changes):
      firstchange.BeforeChange()
      self.events.append("change %d" % index)
    if self.op.fail:
      raise errors.OpExecError("failed on purpose")
    return True


@pytest.fixture
def run(monkeypatch):
  monkeypatch.setitem(cmdlib.LU_FOR_OPCODE, _Op.OP_ID, _LUFirstChange)
  events: list = []
  monkeypatch.setattr(_LUFirstChange, "events", events)

  def _run(op: _Op) -> list:
    processor = mcpu.Processor(_Context(), _Callbacks(events), job_id=1)
    try:
      processor.ExecOpCode(op)
    finally:
      # the processor dropped the hold: a change after the opcode waits not
      firstchange.BeforeChange()
    return events
  return _run


def test_the_opcode_looks_before_its_start_is_durable(run):
  assert run(_Op(changes=2)) == ["notify start", "check prerequisites", "look",
                                 "start durable", "change 0", "change 1"]


def test_an_opcode_that_only_looks_never_waits(run):
  assert run(_Op(changes=0)) == ["notify start", "check prerequisites", "look"]


def test_a_failed_opcode_leaves_nothing_held(run):
  with pytest.raises(errors.OpExecError):
    run(_Op(changes=1, fail=True))
  assert _LUFirstChange.events[-2:] == ["start durable", "change 0"]
