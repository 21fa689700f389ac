"""LUXI: the master daemon's JSON protocol over a unix socket.

A message is UTF-8 JSON followed by the byte 0x03.  A request is
{"method": NAME, "args": [...], "version": LUXI_VERSION}; the answer is
{"success": bool, "result": ...}, where a failed request carries either an
encoded exception [ClassName, [args]] or, for requests that could not be
parsed at all, a plain message.  Connections are persistent.
"""

from __future__ import annotations

import _socket  # socket.py's wrapper classes bring selectors and enum along
import errno
import math
import select
import time

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Any, Iterable, Optional

from ganeti import constants
from ganeti import errors
from ganeti import pathutils
from ganeti import serializer

EOM = constants.LUXI_EOM
JOB_NOTCHANGED = "nochange"

# Every request method, in Ganeti 3.0's spelling.
REQ_SUBMIT_JOB = "SubmitJob"
REQ_SUBMIT_JOB_TO_DRAINED_QUEUE = "SubmitJobToDrainedQueue"
REQ_SUBMIT_MANY_JOBS = "SubmitManyJobs"
REQ_PICKUP_JOB = "PickupJob"
REQ_WAIT_FOR_JOB_CHANGE = "WaitForJobChange"
REQ_CANCEL_JOB = "CancelJob"
REQ_CHANGE_JOB_PRIORITY = "ChangeJobPriority"
REQ_ARCHIVE_JOB = "ArchiveJob"
REQ_AUTO_ARCHIVE_JOBS = "AutoArchiveJobs"
REQ_QUERY = "Query"
REQ_QUERY_FIELDS = "QueryFields"
REQ_QUERY_JOBS = "QueryJobs"
REQ_QUERY_INSTANCES = "QueryInstances"
REQ_QUERY_NODES = "QueryNodes"
REQ_QUERY_GROUPS = "QueryGroups"
REQ_QUERY_NETWORKS = "QueryNetworks"
REQ_QUERY_EXPORTS = "QueryExports"
REQ_QUERY_CONFIG_VALUES = "QueryConfigValues"
REQ_QUERY_CLUSTER_INFO = "QueryClusterInfo"
REQ_QUERY_TAGS = "QueryTags"
REQ_SET_DRAIN_FLAG = "SetDrainFlag"
REQ_SET_WATCHER_PAUSE = "SetWatcherPause"
REQ_QUERY_FILTERS = "QueryFilters"
REQ_REPLACE_FILTER = "ReplaceFilter"
REQ_DELETE_FILTER = "DeleteFilter"


class ProtocolError(errors.LuxiError):
  """The other side broke the framing or the message format."""


class ConnectionClosedError(ProtocolError):
  pass


class TimeoutError(ProtocolError):  # pylint: disable=redefined-builtin
  pass


class RequestError(ProtocolError):
  """The master refused a request it could not parse."""


class NoMasterError(ProtocolError):
  """No master daemon answers on the socket."""


class PermissionError(ProtocolError):  # pylint: disable=redefined-builtin
  pass


class MessageReader:
  """Splits a byte stream into 0x03-terminated messages."""

  def __init__(self, max_size: int = constants.LUXI_MAX_MESSAGE) -> None:
    self._buffer = bytearray()
    self._max_size = max_size

  def feed(self, data: bytes) -> list[bytes]:
    """Adds received bytes; returns the messages completed by them."""
    self._buffer += data
    if EOM not in data:
      if len(self._buffer) > self._max_size:
        raise ProtocolError("Message exceeds %d bytes" % self._max_size)
      return []
    *complete, rest = bytes(self._buffer).split(EOM)
    self._buffer = bytearray(rest)
    return complete


def FormatRequest(method: str, args: Any, version: Optional[int] = constants.LUXI_VERSION) -> bytes:
  request = {constants.LUXI_KEY_METHOD: method, constants.LUXI_KEY_ARGS: args}
  if version is not None:
    request[constants.LUXI_KEY_VERSION] = version
  return serializer.DumpJson(request).encode("utf-8") + EOM


def FormatResponse(success: bool, result: Any) -> bytes:
  return serializer.DumpJson({constants.LUXI_KEY_SUCCESS: success,
                              constants.LUXI_KEY_RESULT: result}).encode("utf-8") + EOM


def ParseResponse(message: bytes) -> Any:
  """The result of a successful answer; raises the error a failed one carries."""
  try:
    data = serializer.LoadJson(message)
  except ValueError as err:
    raise ProtocolError("Invalid LUXI answer: %s" % err) from err
  if not (isinstance(data, dict) and constants.LUXI_KEY_SUCCESS in data
          and constants.LUXI_KEY_RESULT in data):
    raise ProtocolError("Invalid LUXI answer (missing keys): %r" % (data,))
  result = data[constants.LUXI_KEY_RESULT]
  if data[constants.LUXI_KEY_SUCCESS]:
    return result
  errors.MaybeRaise(result)
  raise RequestError(result)


def _op_to_dict(op: Any) -> dict:
  return op if isinstance(op, dict) else op.__getstate__()


class Client:
  """A persistent LUXI connection to the master daemon."""

  def __init__(self, address: Optional[str] = None,
               timeouts: tuple[float, float] = (constants.LUXI_DEF_CTMO, constants.LUXI_DEF_RWTO)) -> None:
    self.address = address or pathutils.QUERY_SOCKET
    self._connect_timeout, self._rw_timeout = timeouts
    self._sock: Optional[_socket.socket] = None
    self._reader = MessageReader()
    self._pending: list[bytes] = []

  def _connect(self) -> _socket.socket:
    deadline = time.monotonic() + self._connect_timeout
    while True:
      sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
      sock.settimeout(self._connect_timeout)
      try:
        sock.connect(self.address)
        break
      except BlockingIOError as err:
        # the listener's backlog is full (a busy master): try again shortly
        sock.close()
        if time.monotonic() > deadline:
          raise TimeoutError("Connection to %s timed out" % self.address) from err
        time.sleep(0.01)
      except (FileNotFoundError, ConnectionRefusedError) as err:
        sock.close()
        raise NoMasterError(self.address) from err
      except OSError as err:
        sock.close()
        if isinstance(err, _socket.timeout):
          raise TimeoutError("Connection to %s timed out" % self.address) from err
        if err.errno == errno.EACCES:
          raise PermissionError(self.address) from err
        raise
    sock.settimeout(self._rw_timeout)
    return sock

  def Connect(self) -> None:
    """Connects now rather than at the first request."""
    if self._sock is None:
      self._sock = self._connect()

  def Close(self) -> None:
    if self._sock is not None:
      self._sock.close()
      self._sock = None
    self._reader = MessageReader()
    self._pending = []

  close = Close

  def DropIfClosed(self) -> None:
    """Forgets an idle connection the master has closed meanwhile (a restart),
    so that the next request connects again instead of failing."""
    if self._sock is not None and not self._pending \
        and select.select([self._sock], [], [], 0)[0]:
      self.Close()

  def __enter__(self) -> "Client":
    return self

  def __exit__(self, *_: Any) -> None:
    self.Close()

  def _exchange(self, request: bytes, timeout: float) -> bytes:
    if self._sock is None:
      self._sock = self._connect()
    sock = self._sock
    sock.settimeout(timeout)
    sock.sendall(request)
    while not self._pending:
      data = sock.recv(65536)
      if not data:
        raise ConnectionClosedError("Connection closed by the master daemon")
      self._pending.extend(self._reader.feed(data))
    return self._pending.pop(0)

  def CallMethod(self, method: str, args: Any, timeout: Optional[float] = None) -> Any:
    """Sends one request and returns its result (raising its error)."""
    request = FormatRequest(method, args)
    try:
      answer = self._exchange(request, timeout or self._rw_timeout)
    except _socket.timeout as err:
      self.Close()
      raise TimeoutError("No answer to %s within the timeout" % method) from err
    except (BrokenPipeError, ConnectionResetError) as err:
      self.Close()
      raise ConnectionClosedError(str(err)) from err
    except ProtocolError:
      self.Close()
      raise
    return ParseResponse(answer)

  # Jobs
  def SubmitJob(self, ops: Iterable[Any]) -> int:
    return self.CallMethod(REQ_SUBMIT_JOB, [[_op_to_dict(op) for op in ops]])

  def SubmitJobToDrainedQueue(self, ops: Iterable[Any]) -> int:
    return self.CallMethod(REQ_SUBMIT_JOB_TO_DRAINED_QUEUE, [[_op_to_dict(op) for op in ops]])

  def SubmitManyJobs(self, jobs: Iterable[Iterable[Any]]) -> list:
    return self.CallMethod(REQ_SUBMIT_MANY_JOBS,
                           [[[_op_to_dict(op) for op in ops] for ops in jobs]])

  def PickupJob(self, job_id: int) -> Any:
    return self.CallMethod(REQ_PICKUP_JOB, [job_id])

  def CancelJob(self, job_id: int, kill: bool = False) -> list:
    return self.CallMethod(REQ_CANCEL_JOB, [job_id, kill])

  def ChangeJobPriority(self, job_id: int, priority: int) -> list:
    return self.CallMethod(REQ_CHANGE_JOB_PRIORITY, [job_id, priority])

  def ArchiveJob(self, job_id: int) -> bool:
    return self.CallMethod(REQ_ARCHIVE_JOB, [job_id])

  def AutoArchiveJobs(self, age: int, timeout: Optional[float] = None) -> list:
    if timeout is None:
      # the master stops archiving after this long; the answer may take as long
      timeout = math.ceil((self._rw_timeout - 1) * 1.5)
    return self.CallMethod(REQ_AUTO_ARCHIVE_JOBS, [age, int(timeout)],
                           timeout=self._rw_timeout + timeout)

  def WaitForJobChangeOnce(self, job_id: int, fields: list[str], prev_job_info: Any,
                           prev_log_serial: Any,
                           timeout: int = constants.LUXI_WFJC_TIMEOUT) -> Any:
    """One long-poll: the new job info and log entries, or JOB_NOTCHANGED."""
    timeout = min(timeout, constants.LUXI_WFJC_TIMEOUT)
    return self.CallMethod(REQ_WAIT_FOR_JOB_CHANGE,
                           [job_id, fields, prev_job_info, prev_log_serial, timeout],
                           timeout=self._rw_timeout + timeout)

  # Queries
  def Query(self, what: str, fields: list[str], qfilter: Any) -> dict:
    return self.CallMethod(REQ_QUERY, [what, fields, qfilter])

  def QueryFields(self, what: str, fields: Optional[list[str]]) -> dict:
    return self.CallMethod(REQ_QUERY_FIELDS, [what, fields])

  def QueryJobs(self, job_ids: Optional[list], fields: list[str]) -> list:
    return self.CallMethod(REQ_QUERY_JOBS, [job_ids, fields])

  def QueryInstances(self, names: list[str], fields: list[str], use_locking: bool) -> list:
    return self.CallMethod(REQ_QUERY_INSTANCES, [names, fields, use_locking])

  def QueryNodes(self, names: list[str], fields: list[str], use_locking: bool) -> list:
    return self.CallMethod(REQ_QUERY_NODES, [names, fields, use_locking])

  def QueryGroups(self, names: list[str], fields: list[str], use_locking: bool) -> list:
    return self.CallMethod(REQ_QUERY_GROUPS, [names, fields, use_locking])

  def QueryNetworks(self, names: list[str], fields: list[str], use_locking: bool) -> list:
    return self.CallMethod(REQ_QUERY_NETWORKS, [names, fields, use_locking])

  def QueryExports(self, nodes: list[str], use_locking: bool) -> dict:
    return self.CallMethod(REQ_QUERY_EXPORTS, [nodes, use_locking])

  def QueryClusterInfo(self) -> dict:
    return self.CallMethod(REQ_QUERY_CLUSTER_INFO, [])

  def QueryConfigValues(self, fields: list[str]) -> list:
    return self.CallMethod(REQ_QUERY_CONFIG_VALUES, [fields])

  def QueryTags(self, kind: str, name: str) -> list[str]:
    return self.CallMethod(REQ_QUERY_TAGS, [kind, name])

  # Cluster-wide switches
  def SetDrainFlag(self, drain_flag: bool) -> bool:
    return self.CallMethod(REQ_SET_DRAIN_FLAG, [drain_flag])

  def SetWatcherPause(self, until: Optional[float]) -> Optional[float]:
    return self.CallMethod(REQ_SET_WATCHER_PAUSE, [until])

  # Job filters
  def QueryFilters(self, uuids: Optional[list[str]], fields: list[str]) -> list:
    return self.CallMethod(REQ_QUERY_FILTERS, [uuids, fields])

  def ReplaceFilter(self, uuid: Optional[str], priority: int, predicates: list,
                    action: Any, reason: list) -> str:
    return self.CallMethod(REQ_REPLACE_FILTER, [uuid, priority, predicates, action, reason])

  def DeleteFilter(self, uuid: str) -> None:
    return self.CallMethod(REQ_DELETE_FILTER, [uuid])


def WaitForJobCompletion(client: Client, job_id: int, poll_timeout: float = 3600) -> list:
  """Waits until a job ends; returns QueryJobs' [status, opstatus, opresult] row."""
  deadline = time.monotonic() + poll_timeout
  prev = None
  while time.monotonic() < deadline:
    result = client.WaitForJobChangeOnce(job_id, ["status"], prev, None)
    if result is None:
      raise errors.JobLost("Job %s not found" % job_id)
    if result != JOB_NOTCHANGED:
      prev = result[0]
      if prev[0] in constants.JOBS_FINALIZED:
        break
  return client.QueryJobs([job_id], ["status", "opstatus", "opresult"])[0]
