"""A fake master daemon for command line tests: canned LUXI answers on a unix socket.

FakeLuxi records every request as (method, args) and answers from a table of
handlers (method -> function(args) returning the result, or raising an
exception that is sent back encoded).  A small job model answers SubmitJob,
WaitForJobChange and QueryJobs for tests of job submission and polling.
Commands run in-process with the socket forced by FORCE_LUXI_SOCKET.
"""

import os
import socket
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Optional

import pytest

from ganeti import constants
from ganeti import errors
from ganeti import luxi
from ganeti import serializer


class FakeJob:
  """A job that ends with status, after sending log (serial, ts, type, message) entries."""

  def __init__(self, ops: list, status: str = constants.JOB_STATUS_SUCCESS,
               op_results: Optional[list] = None, log: Optional[list] = None) -> None:
    self.ops = ops
    self.status = status
    count = len(ops)
    self.op_results = op_results if op_results is not None else [None] * count
    if status == constants.JOB_STATUS_SUCCESS:
      self.op_statuses = [constants.OP_STATUS_SUCCESS] * count
    elif status == constants.JOB_STATUS_CANCELED:
      self.op_statuses = [constants.OP_STATUS_CANCELED] * count
    else:
      # opcodes succeed up to the first one whose result is an encoded error
      failed = [errors.DecodeException(result) is not None for result in self.op_results]
      first = failed.index(True) if True in failed else 0
      self.op_statuses = ([constants.OP_STATUS_SUCCESS] * first
                          + [constants.OP_STATUS_ERROR] * (count - first))
    self.log = log or []
    self.polls = 0


class FakeLuxi:
  def __init__(self) -> None:
    self.dir = tempfile.mkdtemp(prefix="fakeluxi-")
    self.path = os.path.join(self.dir, "sock")
    self.requests: list[tuple[str, Any]] = []
    self.handlers: dict[str, Callable[[Any], Any]] = {
      luxi.REQ_SUBMIT_JOB: self._SubmitJob,
      luxi.REQ_SUBMIT_MANY_JOBS: self._SubmitManyJobs,
      luxi.REQ_WAIT_FOR_JOB_CHANGE: self._WaitForJobChange,
      luxi.REQ_QUERY_JOBS: self._QueryJobs,
    }
    self.jobs: dict[int, FakeJob] = {}
    self.next_job_id = 100
    # how the next submitted jobs end: FakeJob keyword arguments, used in order
    self.job_outcomes: list[dict] = []
    self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    self._sock.bind(self.path)
    self._sock.listen(16)
    self._thread = threading.Thread(target=self._Serve, daemon=True)
    self._thread.start()

  def Close(self) -> None:
    self._sock.close()
    try:
      os.unlink(self.path)
      os.rmdir(self.dir)
    except OSError:
      pass

  def Methods(self) -> list[str]:
    return [method for method, _ in self.requests]

  def Requests(self, method: str) -> list:
    return [args for name, args in self.requests if name == method]

  # serving

  def _Serve(self) -> None:
    while True:
      try:
        conn, _ = self._sock.accept()
      except OSError:
        return
      threading.Thread(target=self._Handle, args=(conn,), daemon=True).start()

  def _Handle(self, conn: socket.socket) -> None:
    reader = luxi.MessageReader()
    with conn:
      while True:
        data = conn.recv(65536)
        if not data:
          return
        for message in reader.feed(data):
          request = serializer.LoadJson(message)
          method, args = request["method"], request["args"]
          self.requests.append((method, args))
          try:
            answer = luxi.FormatResponse(True, self.handlers[method](args))
          except Exception as err:  # pylint: disable=broad-except
            answer = luxi.FormatResponse(False, errors.EncodeException(err))
          conn.sendall(answer)

  # the job model

  def _NewJob(self, ops: list) -> int:
    job_id = self.next_job_id
    self.next_job_id += 1
    outcome = self.job_outcomes.pop(0) if self.job_outcomes else {}
    self.jobs[job_id] = FakeJob(ops, **outcome)
    return job_id

  def _SubmitJob(self, args: Any) -> int:
    return self._NewJob(args[0])

  def _SubmitManyJobs(self, args: Any) -> list:
    return [[True, self._NewJob(ops)] for ops in args[0]]

  def _WaitForJobChange(self, args: Any) -> Any:
    job_id, fields, prev_info, prev_serial, _ = args
    job = self.jobs.get(int(job_id))
    if job is None:
      raise errors.JobLost("Can't load job file")
    job.polls += 1
    if prev_info is None:
      return [self._Row(int(job_id), job, fields, status=constants.JOB_STATUS_QUEUED), []]
    new_log = [entry for entry in job.log if prev_serial is None or entry[0] > prev_serial]
    return [self._Row(int(job_id), job, fields), new_log]

  def _QueryJobs(self, args: Any) -> list:
    job_ids, fields = args
    return [None if self.jobs.get(int(job_id)) is None
            else self._Row(int(job_id), self.jobs[int(job_id)], fields)
            for job_id in job_ids]

  @staticmethod
  def _Row(job_id: int, job: "FakeJob", fields: list[str],
           status: Optional[str] = None) -> list:
    values = {"id": job_id, "status": status or job.status, "opstatus": job.op_statuses,
              "opresult": job.op_results, "ops": job.ops}
    return [values[field] for field in fields]


def RunCommand(main: Callable[[], int], binary: str, args: list[str]) -> int:
  """Runs a tool's Main() with argv [binary] + args; returns its exit code."""
  old_argv = sys.argv
  sys.argv = [binary] + list(args)
  try:
    return main()
  except SystemExit as err:
    return err.code
  finally:
    sys.argv = old_argv


@pytest.fixture
def fake_luxi(monkeypatch: pytest.MonkeyPatch):
  """A FakeLuxi the tools talk to (through FORCE_LUXI_SOCKET); times print in UTC."""
  server = FakeLuxi()
  monkeypatch.setenv("FORCE_LUXI_SOCKET", server.path)
  monkeypatch.setenv("TZ", "UTC")
  time.tzset()
  yield server
  server.Close()
  monkeypatch.undo()
  time.tzset()
