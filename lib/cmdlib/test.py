"""Logical units for testing the job machinery: delays and job queue probes."""

import os
import socket
import tempfile
import time
from typing import Any

from ganeti import constants
from ganeti import errors
from ganeti import locking
from ganeti.utils import io
from ganeti.cmdlib.base import NoHooksLU, CheckNodeUuidsExist

# A client of OpTestJqueue must connect within this time.
_JQUEUE_NOTIFY_TIMEOUT = 60.0


class LUTestDelay(NoHooksLU):
  """Sleeps on the master (and, through RPC, on nodes)."""

  REQ_BGL = False

  def CheckArguments(self) -> None:
    if self.op.duration < 0:
      raise errors.OpPrereqError("Duration must be non-negative", errors.ECODE_INVAL)

  def ExpandNames(self) -> None:
    self.needed_locks = {}
    self.op.on_node_uuids = CheckNodeUuidsExist(self.cfg, list(self.op.on_nodes or []))
    if self.op.on_node_uuids and not self.op.no_locks:
      self.needed_locks[locking.LEVEL_NODE] = list(self.op.on_node_uuids)
      self.share_locks[locking.LEVEL_NODE] = 1

  def _sleep(self) -> None:
    if not self.op.interruptible:
      time.sleep(self.op.duration)
      return
    # an interruptible delay stops early when its job is cancelled
    deadline = time.monotonic() + self.op.duration
    while (remaining := deadline - time.monotonic()) > 0:
      self.proc.CheckCanceled()
      time.sleep(min(remaining, 0.1))

  def _delay_once(self) -> None:
    if self.op.on_master:
      self._sleep()
    if self.op.on_node_uuids:
      results = self.rpc.call_test_delay(self.op.on_node_uuids, self.op.duration)
      for node_uuid, result in results.items():
        result.Raise("Failure during rpc call to node %s" % node_uuid)

  def Exec(self, feedback_fn: Any) -> None:
    if self.op.repeat == 0:
      self._delay_once()
      return
    for index in range(self.op.repeat):
      self.LogInfo("Test delay iteration %d/%d", index, self.op.repeat - 1)
      self._delay_once()


class LUTestJqueue(NoHooksLU):
  """Lets a client observe the job's progress through the job log."""

  REQ_BGL = False

  def ExpandNames(self) -> None:
    self.needed_locks = {}
    self.LogInfo("Expanding names")
    if self.op.notify_waitlock:
      self._notify(constants.JQT_EXPANDNAMES, None)

  def _notify(self, test: str, arg: Any) -> None:
    """Logs a jqueue-test entry naming a socket and waits for the client to connect."""
    directory = tempfile.mkdtemp(prefix="jqueue-test-")
    path = os.path.join(directory, "socket")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
      server.bind(path)
      server.listen(1)
      server.settimeout(_JQUEUE_NOTIFY_TIMEOUT)
      self.proc.SendFeedback(constants.ELOG_JQUEUE_TEST, (path, test, arg))
      try:
        conn, _ = server.accept()
      except socket.timeout as err:
        raise errors.OpExecError("Client did not connect to %s within %s seconds" %
                                 (path, _JQUEUE_NOTIFY_TIMEOUT)) from err
      conn.settimeout(_JQUEUE_NOTIFY_TIMEOUT)
      try:
        conn.recv(1)  # the client closes the connection when it is done
      except socket.timeout:
        pass
      conn.close()
    finally:
      server.close()
      io.RemoveFile(path)
      os.rmdir(directory)

  def Exec(self, feedback_fn: Any) -> bool:
    if self.op.notify_exec:
      self._notify(constants.JQT_EXEC, None)
    self.LogInfo("Executing")
    if self.op.log_messages:
      self._notify(constants.JQT_STARTMSG, len(self.op.log_messages))
      for index, message in enumerate(self.op.log_messages):
        self.LogInfo("Sending log message %s", index + 1)
        feedback_fn(constants.JQT_MSGPREFIX + message)
        self._notify(constants.JQT_LOGMSG, index + 1)  # messages sent so far
    if self.op.fail:
      raise errors.OpExecError("Opcode failure was requested")
    return True


class LUTestDummy(NoHooksLU):
  """Returns what it is told, logs messages, optionally fails."""

  REQ_BGL = False

  def Exec(self, feedback_fn: Any) -> Any:
    for message in self.op.messages or []:
      self.LogInfo(message)
    if self.op.fail:
      raise errors.OpExecError("Opcode failure was requested")
    if self.op.submit_jobs:
      return self.context.SubmitManyJobsFromLU(self.op.submit_jobs)
    return self.op.result
