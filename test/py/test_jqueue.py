"""Job queue: execution, persistence, dependencies, cancel, archive, recovery."""

import json
import os
import threading
import time

import pytest

from ganeti import constants
from ganeti import errors
from ganeti import jqueue
from ganeti import jstore
from ganeti import opcodes
from ganeti import pathutils


@pytest.fixture
def queue_dir(tmp_path, monkeypatch):
  qdir = str(tmp_path / "queue")
  for name, value in (("QUEUE_DIR", qdir),
                      ("JOB_QUEUE_ARCHIVE_DIR", qdir + "/archive"),
                      ("JOB_QUEUE_SERIAL_FILE", qdir + "/serial"),
                      ("JOB_QUEUE_VERSION_FILE", qdir + "/version"),
                      ("JOB_QUEUE_DRAIN_FILE", qdir + "/drain")):
    monkeypatch.setattr(pathutils, name, value)
  jstore.InitQueueFiles()
  return qdir


def _delay(duration=0.0, **kw):
  return opcodes.OpTestDelay(duration=duration, reason=[], **kw)


class Runner:
  """Stands in for the opcode processor: records order, can block or fail."""

  def __init__(self):
    self.order = []
    self.gate = threading.Event()
    self.gate.set()

  def __call__(self, job, index, callbacks):
    op = job.ops[index].input
    callbacks.NotifyStart()
    callbacks.ConfirmStart()
    callbacks.Feedback(constants.ELOG_MESSAGE, "running %s" % job.id)
    self.order.append(job.id)
    if op.comment == "block":
      self.gate.wait(10)
    if op.comment == "fail":
      raise errors.OpExecError("requested failure")
    return {"job": job.id}


def _wait(queue, job_id, timeout=10):
  deadline = time.monotonic() + timeout
  while time.monotonic() < deadline:
    job = queue.GetJob(job_id)
    if job.IsFinalized():
      return job
    time.sleep(0.01)
  raise AssertionError("job %s did not finish" % job_id)


def test_submit_run_and_persist(queue_dir):
  queue = jqueue.JobQueue(Runner(), workers=2)
  try:
    job_id = queue.SubmitJob([_delay()])
    job = _wait(queue, job_id)
    assert job.CalcStatus() == constants.JOB_STATUS_SUCCESS
    assert job.ops[0].result == {"job": job_id}
    queue.Flush()
    with open(os.path.join(queue_dir, "job-%d" % job_id)) as handle:
      data = json.load(handle)
    assert data["id"] == job_id
    assert data["ops"][0]["status"] == "success"
    assert data["ops"][0]["input"]["OP_ID"] == "OP_TEST_DELAY"
    assert data["ops"][0]["log"][0][2:] == ["message", "running %d" % job_id]
    # the master adds its own entry to the reason trail
    assert data["ops"][0]["input"]["reason"][-1][0] == "gnt:opcode:test_delay"
    assert open(os.path.join(queue_dir, "serial")).read().strip() == str(job_id)
  finally:
    queue.Stop()


def test_failure_marks_following_opcodes(queue_dir):
  queue = jqueue.JobQueue(Runner(), workers=1)
  try:
    job_id = queue.SubmitJob([_delay(comment="fail"), _delay()])
    job = _wait(queue, job_id)
    assert [op.status for op in job.ops] == ["error", "error"]
    assert job.ops[0].result == ["OpExecError", ["requested failure"]]
    assert job.CalcStatus() == constants.JOB_STATUS_ERROR
  finally:
    queue.Stop()


def test_priority_order(queue_dir):
  runner = Runner()
  runner.gate.clear()
  queue = jqueue.JobQueue(runner, workers=1)
  try:
    blocker = queue.SubmitJob([_delay(comment="block")])
    time.sleep(0.1)
    low = queue.SubmitJob([_delay(priority=constants.OP_PRIO_LOW)])
    high = queue.SubmitJob([_delay(priority=constants.OP_PRIO_HIGH)])
    runner.gate.set()
    _wait(queue, low)
    assert runner.order == [blocker, high, low]
  finally:
    queue.Stop()


def test_dependencies(queue_dir):
  runner = Runner()
  runner.gate.clear()
  queue = jqueue.JobQueue(runner, workers=3)
  try:
    results = queue.SubmitManyJobs([[_delay(comment="block")],
                                    [_delay(depends=[[-1, ["success"]]])],
                                    [_delay(depends=[[-2, ["error"]]])]])
    first, second, third = [job_id for _, job_id in results]
    time.sleep(0.2)
    assert queue.GetJob(second).CalcStatus() == constants.JOB_STATUS_QUEUED
    runner.gate.set()
    assert _wait(queue, second).CalcStatus() == constants.JOB_STATUS_SUCCESS
    failed = _wait(queue, third)
    assert failed.CalcStatus() == constants.JOB_STATUS_ERROR
    assert "Dependency %d" % first in failed.ops[0].result[1][0]
  finally:
    queue.Stop()


def test_cancel_queued_and_wait_for_change(queue_dir):
  runner = Runner()
  runner.gate.clear()
  queue = jqueue.JobQueue(runner, workers=1)
  try:
    blocker = queue.SubmitJob([_delay(comment="block")])
    queued = queue.SubmitJob([_delay()])
    status = lambda job: [job.CalcStatus()]
    info = queue.WaitForJobChange(queued, status, None, None, 1)
    assert info == [["queued"], []]
    assert queue.WaitForJobChange(queued, status, ["queued"], None, 0.2) == "nochange"
    assert queue.CancelJob(queued) == [True, "Dequeued job %d" % queued]
    assert queue.GetJob(queued).CalcStatus() == constants.JOB_STATUS_CANCELED
    assert queue.CancelJob(queued)[0] is False
    assert queue.CancelJob(99999) == [False, "Job 99999 not found in queue"]
    runner.gate.set()
    # a waiter is woken by the change, not by its timeout
    start = time.monotonic()
    result = queue.WaitForJobChange(blocker, status, ["running"], 1, 20)
    assert time.monotonic() - start < 5
    assert result[0] == ["success"]
  finally:
    queue.Stop()


def test_drain_archive_and_lost_jobs(queue_dir):
  queue = jqueue.JobQueue(Runner(), workers=1)
  try:
    jstore.SetDrained(True)
    with pytest.raises(errors.GenericError, match="Queue drained"):
      queue.SubmitJob([_delay()])
    assert queue.SubmitJob([_delay()], drained_ok=True)
    jstore.SetDrained(False)
    job_id = queue.SubmitJob([_delay()])
    _wait(queue, job_id)
    assert queue.ArchiveJob(job_id) is True
    assert not os.path.exists(os.path.join(queue_dir, "job-%d" % job_id))
    archived = queue.GetJob(job_id)
    assert archived.archived and archived.CalcStatus() == "success"
    with pytest.raises(errors.JobLost):
      queue.WaitForJobChange(424242, lambda job: [], None, None, 0)
  finally:
    queue.Stop()


def test_restart_recovers_every_job(queue_dir):
  runner = Runner()
  runner.gate.clear()
  queue = jqueue.JobQueue(runner, workers=1)
  running = queue.SubmitJob([_delay(comment="block")])
  time.sleep(0.2)
  waiting = [queue.SubmitJob([_delay()]) for _ in range(3)]
  queue.Flush()
  # simulate a crash: a new queue reads the files while the old one is stuck
  runner2 = Runner()
  queue2 = jqueue.JobQueue(runner2, workers=2)
  try:
    crashed = queue2.GetJob(running)
    assert crashed.CalcStatus() == constants.JOB_STATUS_ERROR
    assert crashed.ops[0].result == ["OpExecError", ["Unclean master daemon shutdown"]]
    for job_id in waiting:
      assert _wait(queue2, job_id).CalcStatus() == constants.JOB_STATUS_SUCCESS
    assert queue2.SubmitJob([_delay()]) == waiting[-1] + 1
  finally:
    runner.gate.set()
    queue.Stop()
    queue2.Stop()


def test_lazy_updates_reach_the_disk(queue_dir):
  runner = Runner()
  runner.gate.clear()
  queue = jqueue.JobQueue(runner, workers=1)
  try:
    job_id = queue.SubmitJob([_delay(comment="block")])
    # the log message is a lazy update: on disk within LAZY_DELAY, unprompted
    deadline = time.monotonic() + jstore.LAZY_DELAY * 4
    while time.monotonic() < deadline:
      data = jstore.LoadJobData(job_id)
      if data["ops"][0]["log"]:
        break
      time.sleep(0.05)
    assert data["ops"][0]["log"][0][3] == "running %d" % job_id
  finally:
    runner.gate.set()
    queue.Stop()


class RecordingReplicator:
  """Stands in for server.replication.Replicator: what candidates would get."""

  def __init__(self):
    self.sent = []

  def QueueWritten(self, writes):
    self.sent.append([(os.path.basename(path), text) for path, text in writes])


def test_log_messages_reach_candidates_with_the_next_state_change(queue_dir):
  """Submission and "running" go to the candidates; the log message alone is
  written on the master only, and travels with the job's final state."""
  replicator = RecordingReplicator()
  runner = Runner()
  runner.gate.clear()
  queue = jqueue.JobQueue(runner, workers=1, replicator=replicator)
  job_file = constants.JOB_FILE_PREFIX + "1"
  try:
    job_id = queue.SubmitJob([_delay(comment="block")])
    deadline = time.monotonic() + jstore.LAZY_DELAY * 4
    while not jstore.LoadJobData(job_id)["ops"][0]["log"] and time.monotonic() < deadline:
      time.sleep(0.05)
    assert jstore.LoadJobData(job_id)["ops"][0]["log"], "the log message was not written"
    states = [json.loads(text)["ops"][0] for batch in replicator.sent
              for name, text in batch if name == job_file]
    # (submission and start may share a batch)
    assert states[-1]["status"] == "running"
    assert not any(op["log"] for op in states)
    assert ("serial", "1\n") in replicator.sent[0]
    runner.gate.set()
    _wait(queue, job_id)
    queue.Flush()
    last = [json.loads(text) for name, text in replicator.sent[-1] if name == job_file][0]
    assert last["ops"][0]["status"] == "success"
    assert last["ops"][0]["log"][0][3] == "running 1"
  finally:
    runner.gate.set()
    queue.Stop()


class HeldReplicator(RecordingReplicator):
  """Holds back the copies of a job in the given status until released."""

  def __init__(self, status):
    super().__init__()
    self.status = status
    self.holding = threading.Event()
    self.release = threading.Event()

  def QueueWritten(self, writes):
    if any(json.loads(text)["ops"][0]["status"] == self.status
           for path, text in writes
           if os.path.basename(path).startswith(constants.JOB_FILE_PREFIX)):
      self.holding.set()
      self.release.wait(10)
    super().QueueWritten(writes)


def test_end_is_told_once_on_disk_while_its_copies_travel(queue_dir):
  """A waiter learns a job's end only when the master's file has it, and
  need not wait for the candidates' copies (as with Ganeti)."""
  replicator = HeldReplicator("success")
  runner = Runner()
  runner.gate.clear()
  queue = jqueue.JobQueue(runner, workers=1, replicator=replicator)
  try:
    job_id = queue.SubmitJob([_delay(comment="block")])
    status = lambda job: [job.CalcStatus()]
    while queue.GetJob(job_id).ops[0].log == []:
      time.sleep(0.01)
    seen_on_disk = []

    def waiter():
      result = queue.WaitForJobChange(job_id, status, ["running"], 1, 20)
      seen_on_disk.append((result[0], jstore.LoadJobData(job_id)["ops"][0]["status"]))

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.3)  # the waiter is waiting
    runner.gate.set()
    thread.join(20)
    assert seen_on_disk == [(["success"], "success")]
    assert replicator.holding.wait(5) and not replicator.release.is_set()
    replicator.release.set()
    queue.Flush()
    last = [json.loads(text) for name, text in replicator.sent[-1]
            if name == constants.JOB_FILE_PREFIX + str(job_id)][0]
    assert last["ops"][0]["status"] == "success"
  finally:
    replicator.release.set()
    runner.gate.set()
    queue.Stop()


def test_a_late_waiter_learns_the_end_once_it_is_on_disk(queue_dir, monkeypatch):
  """A request that comes while the end is being written (the job's state
  in memory already final) waits for the write too."""
  writing, proceed = threading.Event(), threading.Event()
  write_temp = jstore._write_temp  # pylint: disable=protected-access

  def held_end(path, text, sync=True):
    if '"status":"success"' in text and not writing.is_set():
      writing.set()
      proceed.wait(10)
    return write_temp(path, text, sync)

  monkeypatch.setattr(jstore, "_write_temp", held_end)
  queue = jqueue.JobQueue(Runner(), workers=1)
  try:
    job_id = queue.SubmitJob([_delay()])
    assert writing.wait(10)
    assert queue.GetJob(job_id).IsFinalized()
    seen = []

    def waiter():
      result = queue.WaitForJobChange(job_id, lambda job: [job.CalcStatus()], None, None, 20)
      seen.append((result[0], jstore.LoadJobData(job_id)["ops"][0]["status"]))

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.3)
    assert seen == []
    proceed.set()
    thread.join(20)
    assert seen == [(["success"], "success")]
  finally:
    proceed.set()
    queue.Stop()


def test_running_state_is_written_while_prerequisites_are_checked(queue_dir):
  """NotifyStart (all locks held) returns while "running" travels to the
  disk and the candidates; ConfirmStart, before the opcode changes anything,
  returns once the candidates have it."""
  replicator = HeldReplicator("running")
  submitted = threading.Event()
  steps = []

  def runner(job, index, callbacks):
    submitted.wait(10)  # the submission's copies went out
    callbacks.NotifyStart()
    steps.append("started")
    callbacks.ConfirmStart()
    steps.append("confirmed with %d copies" % len(replicator.sent))

  queue = jqueue.JobQueue(runner, workers=1, replicator=replicator)
  try:
    job_id = queue.SubmitJob([_delay()])
    submitted.set()
    assert replicator.holding.wait(10)
    deadline = time.monotonic() + 5
    while not steps and time.monotonic() < deadline:
      time.sleep(0.01)
    time.sleep(0.1)
    assert steps == ["started"]
    assert jstore.LoadJobData(job_id)["ops"][0]["status"] == "running"
    copies = len(replicator.sent)
    replicator.release.set()
    job = _wait(queue, job_id)
    assert job.CalcStatus() == constants.JOB_STATUS_SUCCESS
    assert steps == ["started", "confirmed with %d copies" % (copies + 1)]
  finally:
    replicator.release.set()
    queue.Stop()


def test_states_marked_during_a_write_travel_with_it(queue_dir, monkeypatch):
  """A job started while its submission is being written: both states are
  on the disk before the candidates get one copy, the later state."""
  states = {1: "queued"}
  sent = []
  writing, proceed = threading.Event(), threading.Event()
  write_temp = jstore._write_temp  # pylint: disable=protected-access

  def slow_first_write(path, text, sync=True):
    if not writing.is_set():
      writing.set()
      proceed.wait(10)
    return write_temp(path, text, sync)

  monkeypatch.setattr(jstore, "_write_temp", slow_first_write)
  committer = jstore.GroupCommitter(lambda ids: [(i, {"status": states[i]}) for i in ids],
                                    lambda: 1, sent.append)
  try:
    submission = threading.Thread(target=committer.Mark, args=([1],))
    submission.start()
    assert writing.wait(10)
    states[1] = "running"
    start = committer.Mark([1], wait=False)
    proceed.set()
    committer.WaitFor(start)
    submission.join(10)
    assert not submission.is_alive()
    assert sent == [[(jstore.JobFileName(1), '{"status":"running"}'),
                     (pathutils.JOB_QUEUE_SERIAL_FILE, "1\n")]]
    assert jstore.LoadJobData(1) == {"status": "running"}
  finally:
    proceed.set()
    committer.Stop()


def test_failed_write_refuses_submission(queue_dir, monkeypatch):
  queue = jqueue.JobQueue(Runner(), workers=1)
  try:
    def no_space(path, text, sync=True):
      raise errors.JobQueueError("No space left on the device holding the job queue")
    write_temp = jstore._write_temp  # pylint: disable=protected-access
    monkeypatch.setattr(jstore, "_write_temp", no_space)
    with pytest.raises(errors.JobQueueError, match="No space left"):
      queue.SubmitJob([_delay()])
    assert queue.GetJobs() == []
    monkeypatch.setattr(jstore, "_write_temp", write_temp)
    job_id = queue.SubmitJob([_delay()])
    assert _wait(queue, job_id).CalcStatus() == constants.JOB_STATUS_SUCCESS
    # the final state is in memory before its write lands; wait for the write
    queue.Flush()
    assert not [name for name in os.listdir(queue_dir) if name.endswith(".new")]
  finally:
    queue.Stop()
