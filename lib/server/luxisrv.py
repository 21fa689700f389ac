"""The LUXI server of the master daemon.

Each connection is served by its own thread and may carry any number of
requests.  Requests are checked against the method table (argument count and
shapes) before anything runs; a request that cannot be parsed gets Ganeti's
"Failed to parse request: ..." answer and the connection stays usable.
"""

import logging
import os
import socket
import threading
from typing import Any, Callable

from ganeti import constants
from ganeti import errors
from ganeti import luxi
from ganeti import opcodes
from ganeti import query
from ganeti import serializer


class RequestParseError(Exception):
  """The request does not match its method's signature."""


def _is_int(value: Any) -> bool:
  return isinstance(value, int) and not isinstance(value, bool)


def _job_id(value: Any) -> int:
  """Job ids arrive as numbers or as strings of digits (gnt-job watch sends "1")."""
  if _is_int(value):
    return value
  if isinstance(value, str) and value.isdigit():
    return int(value)
  raise RequestParseError("Invalid job id %r" % (value,))


def _expect(condition: bool, message: str) -> None:
  if not condition:
    raise RequestParseError(message)


def _list_or_none(value: Any) -> bool:
  return value is None or isinstance(value, list)


_ArgCheck = Callable[[list], None]


def _check_submit(args: list) -> None:
  _expect(isinstance(args[0], list) and all(isinstance(op, dict) for op in args[0]),
          "expected a list of opcodes")


def _check_submit_many(args: list) -> None:
  _expect(isinstance(args[0], list) and all(isinstance(ops, list) for ops in args[0]),
          "expected a list of jobs")


def _check_query(args: list) -> None:
  _expect(isinstance(args[0], str), "resource must be a string")
  _expect(isinstance(args[1], list) and all(isinstance(f, str) for f in args[1]),
          "fields must be a list of strings")
  _expect(_list_or_none(args[2]), "filter must be a list or null")


def _check_query_fields(args: list) -> None:
  _expect(isinstance(args[0], str), "resource must be a string")
  _expect(_list_or_none(args[1]), "fields must be a list or null")


def _check_names_fields_locking(args: list) -> None:
  _expect(_list_or_none(args[0]) and isinstance(args[1], list), "Unable to read Pair")
  _expect(isinstance(args[2], bool), "use_locking must be a boolean")


def _check_nothing(args: list) -> None:
  pass


def _check_job_id(args: list) -> None:
  _job_id(args[0])


def _check_wait(args: list) -> None:
  _job_id(args[0])
  _expect(isinstance(args[1], list), "fields must be a list")
  _expect(args[3] is None or _is_int(args[3]), "log serial must be a number or null")
  _expect(isinstance(args[4], (int, float)), "timeout must be a number")


def _check_cancel(args: list) -> None:
  _job_id(args[0])
  _expect(isinstance(args[1], bool), "kill must be a boolean")


def _check_priority(args: list) -> None:
  _job_id(args[0])
  _expect(_is_int(args[1]), "priority must be a number")


def _check_autoarchive(args: list) -> None:
  _expect(all(isinstance(a, (int, float)) for a in args), "age and timeout must be numbers")


def _check_ids_fields(args: list) -> None:
  _expect(_list_or_none(args[0]) and isinstance(args[1], list), "Unable to read Pair")


def _check_exports(args: list) -> None:
  _expect(isinstance(args[0], list) and isinstance(args[1], bool), "Unable to read Pair")


def _check_fields(args: list) -> None:
  _expect(isinstance(args[0], list) and all(isinstance(f, str) for f in args[0]),
          "fields must be a list of strings")


def _check_tags(args: list) -> None:
  _expect(isinstance(args[0], str) and isinstance(args[1], str), "kind and name must be strings")


def _check_bool(args: list) -> None:
  _expect(isinstance(args[0], bool), "expected a boolean")


def _check_pause(args: list) -> None:
  _expect(args[0] is None or isinstance(args[0], (int, float)), "until must be a number or null")


def _check_filter_rule(args: list) -> None:
  uuid, priority, predicates, _, reason = args
  _expect((uuid is None or isinstance(uuid, str)) and _is_int(priority)
          and isinstance(predicates, list) and isinstance(reason, list), "invalid filter rule")


def _check_uuid(args: list) -> None:
  _expect(isinstance(args[0], str), "expected a uuid string")


# method -> (number of arguments, checker of the argument list)
METHODS: dict[str, tuple[int, _ArgCheck]] = {
  luxi.REQ_SUBMIT_JOB: (1, _check_submit),
  luxi.REQ_SUBMIT_JOB_TO_DRAINED_QUEUE: (1, _check_submit),
  luxi.REQ_SUBMIT_MANY_JOBS: (1, _check_submit_many),
  luxi.REQ_PICKUP_JOB: (1, _check_job_id),
  luxi.REQ_WAIT_FOR_JOB_CHANGE: (5, _check_wait),
  luxi.REQ_CANCEL_JOB: (2, _check_cancel),
  luxi.REQ_CHANGE_JOB_PRIORITY: (2, _check_priority),
  luxi.REQ_ARCHIVE_JOB: (1, _check_job_id),
  luxi.REQ_AUTO_ARCHIVE_JOBS: (2, _check_autoarchive),
  luxi.REQ_QUERY: (3, _check_query),
  luxi.REQ_QUERY_FIELDS: (2, _check_query_fields),
  luxi.REQ_QUERY_JOBS: (2, _check_ids_fields),
  luxi.REQ_QUERY_INSTANCES: (3, _check_names_fields_locking),
  luxi.REQ_QUERY_NODES: (3, _check_names_fields_locking),
  luxi.REQ_QUERY_GROUPS: (3, _check_names_fields_locking),
  luxi.REQ_QUERY_NETWORKS: (3, _check_names_fields_locking),
  luxi.REQ_QUERY_EXPORTS: (2, _check_exports),
  luxi.REQ_QUERY_CONFIG_VALUES: (1, _check_fields),
  luxi.REQ_QUERY_CLUSTER_INFO: (0, _check_nothing),
  luxi.REQ_QUERY_TAGS: (2, _check_tags),
  luxi.REQ_SET_DRAIN_FLAG: (1, _check_bool),
  luxi.REQ_SET_WATCHER_PAUSE: (1, _check_pause),
  luxi.REQ_QUERY_FILTERS: (2, _check_ids_fields),
  luxi.REQ_REPLACE_FILTER: (5, _check_filter_rule),
  luxi.REQ_DELETE_FILTER: (1, _check_uuid),
}


def _check_query_request(method: str, args: list) -> None:
  try:
    query.CheckRequest(args[0], args[2] if method == luxi.REQ_QUERY else None)
  except query.FilterDecodeError as err:
    # as Ganeti's, this answer names no method
    raise RequestParseError("Cannot convert value '%s', error: %s" %
                                (serializer.DumpJson(args), err.detail)) from err


def ParseRequest(message: bytes) -> tuple[str, list]:
  """(method, args) of a request; raises RequestParseError with Ganeti's texts."""
  try:
    request = serializer.LoadJson(message)
  except (ValueError, UnicodeDecodeError) as err:
    raise RequestParseError("parsing top-level JSON message: Invalid JSON: %s" % err) from err
  if not isinstance(request, dict):
    raise RequestParseError("parsing top-level JSON message: not a JSON object")
  method = request.get(constants.LUXI_KEY_METHOD)
  if method not in METHODS:
    raise RequestParseError("Unable to parse LUXI request method: Invalid string value for "
                            "type LuxiReq: %s" % serializer.DumpJson(method))
  args = request.get(constants.LUXI_KEY_ARGS, [])
  count, check = METHODS[method]
  # one-argument methods are sent by some clients without the enclosing list
  if count == 1 and not (isinstance(args, list) and len(args) == 1):
    args = [args]
  if not isinstance(args, list) or len(args) != count:
    raise RequestParseError("%s: expected %d arguments, got %s" %
                            (method, count, serializer.DumpJson(args)[:200]))
  if method in (luxi.REQ_QUERY, luxi.REQ_QUERY_FIELDS):
    _check_query_request(method, args)
  try:
    check(args)
    if method in _SUBMIT_METHODS:
      args = [_parse_jobs(method, args[0])]
  except (RequestParseError, ValueError) as err:
    raise RequestParseError("%s: %s" % (method, err)) from err
  return method, args


_SUBMIT_METHODS = frozenset([luxi.REQ_SUBMIT_JOB, luxi.REQ_SUBMIT_JOB_TO_DRAINED_QUEUE,
                             luxi.REQ_SUBMIT_MANY_JOBS])


def _parse_jobs(method: str, jobs: list) -> list:
  """Opcodes are parsed with the request, as luxid does: one bad opcode
  refuses the whole request."""
  if method == luxi.REQ_SUBMIT_MANY_JOBS:
    return [[opcodes.ParseSubmittedOpCode(op) for op in ops] for ops in jobs]
  return [opcodes.ParseSubmittedOpCode(op) for op in jobs]


class LuxiServer:
  """Accepts LUXI connections on unix sockets and dispatches requests."""

  def __init__(self, paths: list[str], handler: Callable[[str, list], Any]) -> None:
    self._handler = handler
    self._sockets = []
    self._stopping = threading.Event()
    for path in paths:
      if os.path.exists(path):
        os.unlink(path)
      sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
      sock.bind(path)
      os.chmod(path, 0o660)
      sock.listen(128)
      self._sockets.append(sock)
    self._threads = [threading.Thread(target=self._accept_loop, args=(sock,),
                                      name="LuxiAccept", daemon=True)
                     for sock in self._sockets]

  def Start(self) -> None:
    for thread in self._threads:
      thread.start()

  def Stop(self) -> None:
    self._stopping.set()
    for sock in self._sockets:
      try:
        sock.shutdown(socket.SHUT_RDWR)
      except OSError:
        pass
      sock.close()

  def _accept_loop(self, sock: socket.socket) -> None:
    while not self._stopping.is_set():
      try:
        conn, _ = sock.accept()
      except OSError:
        if self._stopping.is_set():
          return
        continue
      threading.Thread(target=self._serve, args=(conn,), name="LuxiConn", daemon=True).start()

  def _serve(self, conn: socket.socket) -> None:
    reader = luxi.MessageReader()
    try:
      while not self._stopping.is_set():
        try:
          data = conn.recv(65536)
        except OSError:
          return
        if not data:
          return
        try:
          messages = reader.feed(data)
        except luxi.ProtocolError as err:
          conn.sendall(luxi.FormatResponse(False, "Failed to parse request: %s" % err))
          return  # the rest of an oversized message cannot be resynchronised
        for message in messages:
          conn.sendall(self._answer(message))
    except OSError:
      pass
    finally:
      conn.close()

  def _answer(self, message: bytes) -> bytes:
    try:
      method, args = ParseRequest(message)
    except RequestParseError as err:
      return luxi.FormatResponse(False, "Failed to parse request: %s" % err)
    try:
      result = self._handler(method, args)
    except errors.GenericError as err:
      return luxi.FormatResponse(False, list(errors.EncodeException(err)))
    except Exception as err:  # pylint: disable=broad-except
      logging.exception("Unexpected error while handling LUXI %s", method)
      return luxi.FormatResponse(False, list(errors.EncodeException(
        errors.GenericError("Internal error: %s" % err))))
    return luxi.FormatResponse(True, result)
