"""The RAPI daemon's HTTP(S) server: HTTP/1.1 with keep-alive, bounded threads.

The accepting thread only queues connections; a fixed number of worker
threads do the TLS handshake and serve the requests of a connection until
it closes or idles.  When every worker is busy and the queue is full, new
connections are closed at once rather than piling up.  Slow peers are cut
off by timeouts on the handshake, on each read and on the whole request
body; bodies above a size limit are refused (413) without being read.
"""

import contextlib
import dataclasses
import http.server
import logging
import os
import queue
import socket
import socketserver
import ssl
import threading
import time
from typing import Any, Callable, Iterator, Optional

from ganeti import constants
from ganeti.rapi import dispatch

DEFAULT_WORKERS = 16
DEFAULT_QUEUE = 64
SERVER_NAME = "Ganeti %s" % constants.RELEASE_VERSION
# what is read and dropped from a peer after an error answer, at most
_DRAIN_SECONDS = 2.0
_DRAIN_BYTES = 8 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Limits:
  """What a peer may take: seconds for each stage, bytes of a body."""
  body_size: int = 1024 * 1024  # RAPI requests are small; Ganeti's largest are a few KiB
  handshake: float = 10.0
  read: float = 10.0  # per read, for request lines, headers and body
  body: float = 30.0  # for the whole body
  idle: float = 15.0  # a kept-alive connection waiting for its next request
  head: float = 20.0  # request line and headers, once the first byte came


class Watchdog:
  """Cuts off connections that overrun a deadline: a thread shuts their socket
  down, which ends the read the serving thread is blocked in."""

  def __init__(self, interval: float = 0.25) -> None:
    self._lock = threading.Lock()
    self._deadlines: dict[int, tuple[float, socket.socket]] = {}
    self._interval = interval
    threading.Thread(target=self._Run, name="rapi-watchdog", daemon=True).start()

  @contextlib.contextmanager
  def Deadline(self, sock: socket.socket, seconds: float) -> Iterator[None]:
    key = id(sock)
    with self._lock:
      self._deadlines[key] = (time.monotonic() + seconds, sock)
    try:
      yield
    finally:
      with self._lock:
        self._deadlines.pop(key, None)

  def _Run(self) -> None:
    while True:
      time.sleep(self._interval)
      now = time.monotonic()
      with self._lock:
        expired = [key for key, (deadline, _) in self._deadlines.items() if deadline < now]
        socks = [self._deadlines.pop(key)[1] for key in expired]
      for sock in socks:
        try:
          # the plain socket's shutdown, also under TLS: the TLS object stays intact
          socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
          pass


class _Handler(http.server.BaseHTTPRequestHandler):
  """The requests of one connection."""
  protocol_version = "HTTP/1.1"
  # answers to unparsable requests still get status line and headers
  default_request_version = "HTTP/1.1"
  server: "RapiHttpServer"

  def version_string(self) -> str:
    return SERVER_NAME

  def log_message(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
    logging.debug("%s: %s", self.address_string(), format % args)

  def log_request(self, code: Any = "-", size: Any = "-") -> None:
    # one line per request, as Ganeti's daemon writes it
    logging.info("%s:%s %s %s", self.client_address[0], self.client_address[1],
                 self.requestline or None, int(code))

  def handle_one_request(self) -> None:
    limits = self.server.limits
    # a peer trickling its request line or headers is cut off as a whole
    with self.server.watchdog.Deadline(self.connection, limits.idle + limits.head):
      # waiting for the next request of a kept-alive connection has its own limit
      self.connection.settimeout(limits.idle)
      try:
        self.raw_requestline = self.rfile.readline(65537)
      except (TimeoutError, socket.timeout, OSError, ssl.SSLError):
        self.close_connection = True
        return
      self.connection.settimeout(limits.read)
      if not self.raw_requestline:
        self.close_connection = True
        return
      if len(self.raw_requestline) > 65536:
        self.requestline = self.request_version = self.command = ""
        self.send_error(414)
        return
      if not self.parse_request():
        return
    self._Serve()
    try:
      self.wfile.flush()
    except OSError:
      self.close_connection = True

  def send_error(self, code: int, message: Optional[str] = None,
                 explain: Optional[str] = None) -> None:
    """Protocol-level errors (bad request line, headers, body) in RAPI's JSON form.

    The connection closes after the answer; whatever the peer still sends is
    read and dropped for a moment first, so that a client busy sending a
    refused body gets to read the answer instead of a reset.
    """
    response = dispatch.ErrorResponse(dispatch.HttpError(code, message))
    self.close_connection = True
    self._Send(response)
    self._Drain()

  def _Drain(self) -> None:
    deadline = time.monotonic() + _DRAIN_SECONDS
    try:
      self.connection.shutdown(socket.SHUT_WR)
      self.connection.settimeout(_DRAIN_SECONDS)
      drained = 0
      while drained < _DRAIN_BYTES and time.monotonic() < deadline:
        chunk = self.connection.recv(65536)
        if not chunk:
          break
        drained += len(chunk)
    except (OSError, ValueError):
      pass

  def _Send(self, response: "dispatch.Response") -> None:
    try:
      self.send_response(response.status)
      self.send_header("Content-Type", dispatch.JSON_TYPE)
      for name, value in response.headers.items():
        self.send_header(name, value)
      if self.close_connection:
        self.send_header("Connection", "close")
      self.send_header("Content-Length", str(len(response.body)))
      # headers and body in one write: one TLS record, one packet for small answers
      self._headers_buffer.append(b"\r\n")
      self._headers_buffer.append(response.body)
      self.wfile.write(b"".join(self._headers_buffer))
      self._headers_buffer = []
    except OSError:
      self.close_connection = True

  def handle_expect_100(self) -> bool:
    # a body that would be refused is refused before the peer sends it
    length = self.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > self.server.limits.body_size:
      self.send_error(413, "Request body larger than %d bytes" % self.server.limits.body_size)
      return False
    return super().handle_expect_100()

  def _ReadBody(self) -> Optional[bytes]:
    """The request body, or None after answering an error."""
    if self.headers.get("Transfer-Encoding", "").lower() not in ("", "identity"):
      self.send_error(411, "Send a Content-Length instead of a chunked body")
      return None
    text = self.headers.get("Content-Length")
    try:
      length = int(text) if text is not None else 0
    except ValueError:
      length = -1
    if length < 0:
      self.send_error(400, "Invalid Content-Length")
      return None
    if length > self.server.limits.body_size:
      self.send_error(413, "Request body larger than %d bytes" % self.server.limits.body_size)
      return None
    deadline = time.monotonic() + self.server.limits.body
    chunks, remaining = [], length
    while remaining:
      if time.monotonic() > deadline:
        self.send_error(408, "Request body not received in time")
        return None
      try:
        chunk = self.rfile.read1(min(remaining, 65536))
      except (TimeoutError, socket.timeout):
        self.send_error(408, "Request body not received in time")
        return None
      if not chunk:
        self.close_connection = True
        return None
      chunks.append(chunk)
      remaining -= len(chunk)
    return b"".join(chunks)

  def _Serve(self) -> None:
    body = self._ReadBody()
    if body is None:
      return
    request = dispatch.Request(self.command, self.path, self.headers, body,
                               self.client_address[0])
    self._Send(self.server.app(request))


class RapiHttpServer(socketserver.TCPServer):
  """Listens on address; TLS with the context tls() gives for each connection
  (see CertificateFiles), plain HTTP when tls is None."""
  allow_reuse_address = True
  request_queue_size = 128

  def __init__(self, address: tuple[str, int], tls: Optional[Callable[[], ssl.SSLContext]],
               app: Callable[["dispatch.Request"], "dispatch.Response"],
               workers: int = DEFAULT_WORKERS, max_queue: int = DEFAULT_QUEUE,
               limits: Optional[Limits] = None) -> None:
    self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    self.tls = tls
    self.app = app
    self.limits = limits or Limits()
    self.watchdog = Watchdog()
    self._connections: "queue.Queue[Any]" = queue.Queue(max_queue)
    super().__init__(address, _Handler)
    self._workers = [threading.Thread(target=self._Work, name="rapi-worker-%d" % index,
                                      daemon=True) for index in range(workers)]
    for worker in self._workers:
      worker.start()

  def process_request(self, request: Any, client_address: Any) -> None:
    try:
      self._connections.put_nowait((request, client_address))
    except queue.Full:
      logging.warning("All RAPI workers busy; closing the connection from %s",
                      client_address[0])
      self.shutdown_request(request)

  def _Work(self) -> None:
    while True:
      item = self._connections.get()
      if item is None:
        return
      request, client_address = item
      try:
        self._ServeConnection(request, client_address)
      except Exception:  # one connection's failure must not end the worker
        logging.debug("Connection from %s failed", client_address[0], exc_info=True)
      finally:
        self.shutdown_request(request)

  def _ServeConnection(self, request: socket.socket, client_address: Any) -> None:
    request.settimeout(self.limits.handshake)
    # headers and body are separate writes: without this, Nagle's algorithm
    # and the peer's delayed ACK hold the body back ~40 ms
    request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if self.tls is None:
      _Handler(request, client_address, self)
      return
    try:
      tls = self.tls().wrap_socket(request, server_side=True)
    except (ssl.SSLError, OSError) as err:
      logging.info("TLS handshake with %s failed: %s", client_address[0], err)
      return
    try:
      _Handler(tls, client_address, self)
    finally:
      try:
        tls.close()
      except OSError:
        pass

  def server_close(self) -> None:
    super().server_close()
    for _ in self._workers:
      try:
        self._connections.put_nowait(None)
      except queue.Full:
        break



class CertificateFiles:
  """The TLS context for a certificate and key, made again when either file
  changes (gnt-cluster renew-crypto), checked at most once a second."""

  def __init__(self, cert_file: str, key_file: str) -> None:
    self._files = (cert_file, key_file)
    self._lock = threading.Lock()
    self._stamp: Any = None
    self._checked = 0.0
    self._context: Optional[ssl.SSLContext] = None
    self()  # fail now, at start-up, if the files are unusable

  def _Stamp(self) -> tuple:
    return tuple((st.st_ino, st.st_size, st.st_mtime_ns)
                 for st in (os.stat(path) for path in self._files))

  def __call__(self) -> ssl.SSLContext:
    with self._lock:
      now = time.monotonic()
      if self._context is not None and now - self._checked < 1.0:
        return self._context
      self._checked = now
      try:
        stamp = self._Stamp()
      except OSError as err:
        if self._context is None:
          raise
        logging.warning("Cannot check the RAPI certificate: %s", err)
        return self._context
      if stamp != self._stamp:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
          context.load_cert_chain(*self._files)
        except (ssl.SSLError, OSError) as err:
          if self._context is None:
            raise
          logging.error("Keeping the previous RAPI certificate: %s", err)
          return self._context
        if self._context is not None:
          logging.info("RAPI certificate %s changed, now in use", self._files[0])
        self._context, self._stamp = context, stamp
      return self._context
