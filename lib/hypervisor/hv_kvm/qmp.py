"""A QMP (QEMU Machine Protocol) client over an instance's control socket.

One JSON object per line; the server greets, the client negotiates
capabilities, then each command gets a "return" or an "error" while
asynchronous events may arrive in between (kept, not lost).
"""

import json
import socket
import time
from typing import Any, Optional

from ganeti import errors
from ganeti.utils import cmdtrace

DEFAULT_TIMEOUT = 10.0


class QmpError(errors.HypervisorError):
  """qemu answered a command with an error."""


class QmpConnection:
  """A connected, negotiated QMP session; use as a context manager."""

  def __init__(self, path: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    self.path = path
    self.events: list[dict] = []
    self._timeout = timeout
    self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    self._sock.settimeout(timeout)
    self._buffer = b""
    try:
      self._sock.connect(path)
      greeting = self._Receive()
      # qemu may first hand on events it had for the previous client (seen:
      # RESUME on a migration's target); they are not this session's
      while "event" in greeting:
        greeting = self._Receive()
      if "QMP" not in greeting:
        raise errors.HypervisorError("Invalid QMP greeting on %s: %r" % (path, greeting))
      self.Execute("qmp_capabilities")
    except OSError as err:
      self.Close()
      raise errors.HypervisorError("Cannot talk to qemu's QMP socket %s: %s" %
                                   (path, err)) from None
    except errors.HypervisorError:
      self.Close()
      raise

  def __enter__(self) -> "QmpConnection":
    return self

  def __exit__(self, *_exc: Any) -> None:
    self.Close()

  def Close(self) -> None:
    self._sock.close()

  def _Receive(self) -> dict:
    while b"\n" not in self._buffer:
      chunk = self._sock.recv(65536)
      if not chunk:
        raise errors.HypervisorError("qemu closed the QMP connection %s" % self.path)
      self._buffer += chunk
    line, self._buffer = self._buffer.split(b"\n", 1)
    try:
      return json.loads(line)
    except ValueError:
      raise errors.HypervisorError("Invalid QMP message: %r" % line[:200]) from None

  def Execute(self, command: str, arguments: Optional[dict] = None) -> Any:
    """Runs a command; its "return" value, QmpError on an "error" answer."""
    request: dict[str, Any] = {"execute": command}
    if arguments:
      request["arguments"] = arguments
    with cmdtrace.Span("qmp", [self.path, command, _Traceable(arguments)]):
      try:
        self._sock.sendall(json.dumps(request).encode() + b"\n")
      except OSError as err:
        raise errors.HypervisorError("QMP command %s on %s failed: %s" %
                                     (command, self.path, err)) from None
      return self._Answer(command)

  def _Answer(self, command: str) -> Any:
    """The answer to the command just sent (events on the way are kept)."""
    try:
      while True:
        message = self._Receive()
        if "event" in message:
          self.events.append(message)
          continue
        if "error" in message:
          raise QmpError("QMP command %s failed: %s" %
                         (command, message["error"].get("desc", message["error"])))
        if "return" in message:
          return message["return"]
    except OSError as err:
      raise errors.HypervisorError("QMP command %s on %s failed: %s" %
                                   (command, self.path, err)) from None

  def PassFd(self, fd: int, name: str) -> None:
    """Hands a file descriptor to qemu (getfd), to be used by name."""
    request = {"execute": "getfd", "arguments": {"fdname": name}}
    try:
      socket.send_fds(self._sock, [json.dumps(request).encode() + b"\n"], [fd])
    except OSError as err:
      raise errors.HypervisorError("QMP command getfd on %s failed: %s" %
                                   (self.path, err)) from None
    self._Answer("getfd")

  def WaitEvent(self, name: str, timeout: float) -> Optional[dict]:
    """The first event called name (already received or arriving within
    timeout seconds), or None."""
    deadline = time.monotonic() + timeout
    while True:
      for event in self.events:
        if event.get("event") == name:
          self.events.remove(event)
          return event
      remaining = deadline - time.monotonic()
      if remaining <= 0:
        return None
      # (the commands after the wait get the connection's own timeout again)
      self._sock.settimeout(remaining)
      try:
        message = self._Receive()
      except (socket.timeout, TimeoutError):
        return None
      finally:
        self._sock.settimeout(self._timeout)
      if "event" in message:
        self.events.append(message)


def _Traceable(arguments: Optional[dict]) -> Optional[dict]:
  """A QMP command's arguments as the command trace keeps them (no secrets)."""
  if not arguments:
    return arguments
  return {key: "<hidden>" if "password" in key else value
          for key, value in arguments.items()}


def Execute(path: str, command: str, arguments: Optional[dict] = None,
            timeout: float = DEFAULT_TIMEOUT) -> Any:
  """One command on a fresh connection."""
  with QmpConnection(path, timeout) as conn:
    return conn.Execute(command, arguments)
