"""ganeti-noded: answers the master's RPC calls on every node.

HTTPS with client certificates: a peer must present a certificate signed by
the cluster certificate (server.pem) whose SHA1 digest is one of the master
candidates' (ssconf master_candidates_certs); anyone else gets 403.  Each
connection is served by its own thread and stays open (HTTP/1.1 keep-alive)
for further calls.

A call is `POST /<name>` with a JSON list of arguments; the answer is the
JSON list [success, payload] of backend.HANDLERS[name](*args).  `POST
/batch` (rpc.defs.BATCH_CALL) carries several calls, run in order, and
answers each as it would alone.  Bad requests get a 4xx answer; nothing a
peer sends stops the daemon.
"""

import argparse
import http
import inspect
import logging
import os
import socket
import socketserver
import ssl
import threading
import time
from typing import Any, Callable, Optional

from ganeti import constants
from ganeti import daemon
from ganeti import errors
from ganeti import pathutils
from ganeti import serializer
from ganeti.rpc import defs
from ganeti.utils import cmdtrace
from ganeti.utils import x509

# Larger bodies are refused (413): config.data and job files stay far below.
MAX_BODY_SIZE = 64 * 1024 * 1024
HANDSHAKE_TIMEOUT = 10.0
# an idle kept-alive connection is closed after this many seconds
IDLE_TIMEOUT = 300.0
BACKEND_ERROR_PREFIX = "Error while executing backend function"
_QUIT_DELAY = 0.5
_MAX_LINE = 65536
_MAX_HEADERS = 100
_SERVER_VERSION = "ganeti-noded/%s" % constants.RELEASE_VERSION


def _RpcFailClass() -> Optional[type]:
  """backend.common.RPCFail, looked up when first needed."""
  try:
    from ganeti.backend import common  # pylint: disable=import-outside-toplevel
  except ImportError:
    return None
  return common.RPCFail


class CandidateCerts:
  """The digests of the master candidates' client certificates, from ssconf.

  The file is read again whenever it changed; a missing or unreadable file
  allows nobody.
  """

  def __init__(self, path: Optional[str] = None) -> None:
    self._path = path or pathutils.SSCONF_PREFIX + "master_candidates_certs"
    self._lock = threading.Lock()
    self._stamp: Any = None
    self._digests: frozenset[str] = frozenset()

  def _Load(self) -> frozenset[str]:
    try:
      st = os.stat(self._path)
    except OSError:
      return frozenset()
    stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
    if stamp != self._stamp:
      try:
        with open(self._path, encoding="utf-8") as handle:
          text = handle.read(1024 * 1024)
      except OSError:
        return frozenset()
      self._digests = frozenset(line.partition("=")[2].strip().upper()
                                for line in text.splitlines() if "=" in line)
      self._stamp = stamp
    return self._digests

  def Allows(self, digest: str) -> bool:
    with self._lock:
      return digest.upper() in self._Load()


class Dispatcher:
  """Runs a call's handler and turns its outcome into (HTTP status, answer)."""

  def __init__(self, handlers: dict[str, Callable[..., Any]],
               quit_fn: Optional[Callable[[], None]] = None) -> None:
    """quit_fn stops the daemon; a handler asks for it by raising
    errors.QuitGanetiException (e.g. when the node leaves the cluster)."""
    self._handlers = handlers
    self._quit_fn = quit_fn
    # handler name -> its signature (None: it has none to check against)
    self._signatures: dict[str, Optional[inspect.Signature]] = {}

  def _Signature(self, name: str, handler: Callable[..., Any]) -> Optional[inspect.Signature]:
    if name not in self._signatures:
      try:
        self._signatures[name] = inspect.signature(handler)
      except ValueError:
        self._signatures[name] = None  # a builtin: the call itself will tell
    return self._signatures[name]

  def __call__(self, name: str, body: bytes) -> tuple[int, Any]:
    if name == defs.BATCH_CALL:
      return self._Batch(body)
    handler = self._handlers.get(name)
    if handler is None:
      return 404, [False, "Unknown RPC call '%s'" % name[:100]]
    try:
      args = serializer.LoadJson(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
      return 400, [False, "Invalid JSON body for call %s: %s" % (name, err)]
    if not isinstance(args, list):
      return 400, [False, "Arguments of call %s must be a JSON list" % name]
    signature = self._Signature(name, handler)
    if signature is not None:
      try:
        signature.bind(*args)
      except TypeError as err:
        return 400, [False, "Invalid arguments for call %s: %s" % (name, err)]
    with cmdtrace.Span("rpc", name) as traced:
      status, answer = self._Call(name, handler, args)
      traced.ok = answer[0] is True
    return status, answer

  def _Batch(self, body: bytes) -> tuple[int, Any]:
    """The calls of a batch, one after the other; each answer as JSON text
    (for the caller to hand on as if it had come alone)."""
    try:
      calls = serializer.LoadJson(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
      return 400, [False, "Invalid JSON body for a batch: %s" % err]
    if not (isinstance(calls, list) and
            all(isinstance(call, list) and len(call) == 2 and isinstance(call[0], str) and
                isinstance(call[1], str) and call[0] != defs.BATCH_CALL for call in calls)):
      return 400, [False, "A batch must be a JSON list of [call name, body text]"]
    answers = []
    for name, text in calls:
      status, answer = self(name, text.encode("utf-8"))
      answers.append([status, EncodeAnswer(answer)])
    return 200, answers

  def _Call(self, name: str, handler: Callable[..., Any], args: list) -> tuple[int, Any]:
    rpc_fail = _RpcFailClass()
    try:
      return 200, [True, handler(*args)]
    except errors.QuitGanetiException as err:
      logging.info("Call %s asks the node daemon to stop: %s", name, err.args)
      if self._quit_fn is not None:
        # after a moment, so that the answer still reaches the caller
        threading.Timer(_QUIT_DELAY, self._quit_fn).start()
      return 200, list(err.args)
    except Exception as err:  # every failure goes back to the caller
      if rpc_fail is not None and isinstance(err, rpc_fail):
        logging.debug("Call %s failed: %s", name, err)
        return 200, [False, str(err)]
      logging.exception("Error in RPC call %s", name)
      return 200, [False, "%s: %s" % (BACKEND_ERROR_PREFIX, err)]


def EncodeAnswer(answer: Any) -> str:
  """The answer as JSON text; a result JSON cannot carry becomes a failure."""
  try:
    return serializer.DumpJson(answer)
  except (TypeError, ValueError) as err:
    return serializer.DumpJson([False, "%s: result cannot be encoded: %s" %
                                (BACKEND_ERROR_PREFIX, err)])


class _BadRequest(Exception):
  """A request that cannot be served; the connection ends after the answer."""

  def __init__(self, status: int, message: str) -> None:
    super().__init__(message)
    self.status = status


def _HttpDate() -> str:
  return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())


class _Connection:
  """One client's TLS connection, serving its requests in turn.

  A small HTTP/1.1 reader of its own rather than http.server's: that one
  parses headers with the email package and writes headers and body as two
  TLS records, several milliseconds per call on a slow node, where the master
  makes dozens of calls per operation.
  """

  def __init__(self, tls: Any, client_address: Any, server: "NodeHttpServer") -> None:
    self._tls = tls
    self._peer = client_address[0]
    self._server = server
    self._rfile = tls.makefile("rb")
    # a connection's client certificate cannot change: its digest is taken once
    self._digest: Optional[str] = None

  def Serve(self) -> None:
    self._tls.settimeout(IDLE_TIMEOUT)
    try:
      while self._ServeOne():
        pass
    except _BadRequest as err:
      self._Refuse(err.status, str(err))
    except OSError as err:  # idle timeout, reset, TLS error: the peer is gone
      logging.debug("Connection from %s ended: %s", self._peer, err)
    finally:
      self._rfile.close()

  def _ServeOne(self) -> bool:
    """Answers one request; False when the connection is to end."""
    line = self._rfile.readline(_MAX_LINE + 1)
    if not line:
      return False
    if len(line) > _MAX_LINE:
      raise _BadRequest(414, "Request line too long")
    parts = line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
      raise _BadRequest(400, "Invalid request line")
    method, target, version = parts
    if version not in ("HTTP/1.0", "HTTP/1.1"):
      raise _BadRequest(505, "HTTP version %s not supported" % version[:20])
    headers = self._ReadHeaders()
    connection = headers.get("connection", "").lower()
    keep_alive = connection == "keep-alive" if version == "HTTP/1.0" else connection != "close"
    if method != "POST":
      raise _BadRequest(405, "Only POST /<call> is supported")
    if not self._Authorized():
      raise _BadRequest(403, "Client certificate not accepted")
    length = self._BodyLength(headers)
    if headers.get("expect", "").lower() == "100-continue":
      self._tls.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    body = self._rfile.read(length)
    if len(body) != length:
      return False  # the peer went away mid-body
    name = target.split("?", 1)[0].strip("/")
    status, answer = self._server.dispatch(name, body)
    self._Reply(status, answer, close=not keep_alive)
    logging.debug("%s: POST /%s %d", self._peer, name[:100], status)
    return keep_alive

  def _ReadHeaders(self) -> dict[str, str]:
    headers: dict[str, str] = {}
    for _ in range(_MAX_HEADERS + 1):
      line = self._rfile.readline(_MAX_LINE + 1)
      if len(line) > _MAX_LINE:
        raise _BadRequest(431, "Header line too long")
      if line in (b"\r\n", b"\n", b""):
        return headers
      name, sep, value = line.decode("latin-1").partition(":")
      if not sep or not name.strip():
        raise _BadRequest(400, "Invalid header line")
      headers[name.strip().lower()] = value.strip()
    raise _BadRequest(431, "More than %d headers" % _MAX_HEADERS)

  @staticmethod
  def _BodyLength(headers: dict[str, str]) -> int:
    if headers.get("transfer-encoding", "").lower() not in ("", "identity"):
      raise _BadRequest(411, "Chunked bodies are not supported; send Content-Length")
    text = headers.get("content-length", "0")
    try:
      length = int(text)
    except ValueError:
      length = -1
    if length < 0:
      raise _BadRequest(400, "Invalid Content-Length %r" % text[:40])
    if length > MAX_BODY_SIZE:
      raise _BadRequest(413, "Request body too large (%d bytes, limit %d)" %
                        (length, MAX_BODY_SIZE))
    return length

  def _Authorized(self) -> bool:
    if self._digest is None:
      der = self._tls.getpeercert(binary_form=True)
      if der is None:
        return False
      self._digest = x509.DigestOfDer(der)
    if self._server.candidate_certs.Allows(self._digest):
      return True
    logging.warning("Refused %s: client certificate %s is not a master candidate's",
                    self._peer, self._digest)
    return False

  def _Reply(self, status: int, answer: Any, close: bool = False) -> None:
    """Sends the answer, headers and body in one write."""
    data = EncodeAnswer(answer).encode("utf-8")
    head = ("HTTP/1.1 %d %s\r\nServer: %s\r\nDate: %s\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n%s\r\n" %
            (status, http.HTTPStatus(status).phrase, _SERVER_VERSION, _HttpDate(),
             len(data), "Connection: close\r\n" if close else ""))
    self._tls.sendall(head.encode("latin-1") + data)

  def _Refuse(self, status: int, message: str) -> None:
    """Answers an error; the connection ends after it (the body may be unread)."""
    logging.debug("%s: refused with %d: %s", self._peer, status, message)
    try:
      self._Reply(status, [False, message], close=True)
    except OSError:
      pass


class NodeHttpServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
  """TLS on accepted connections, in each connection's own thread."""
  daemon_threads = True
  allow_reuse_address = True
  request_queue_size = 128

  def __init__(self, address: tuple[str, int], context: ssl.SSLContext,
               dispatch: Callable[[str, bytes], tuple[int, Any]],
               candidate_certs: CandidateCerts) -> None:
    self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    self.ssl_context = context
    self.dispatch = dispatch
    self.candidate_certs = candidate_certs
    super().__init__(address, None)

  def finish_request(self, request: Any, client_address: Any) -> None:
    # the handshake runs here, in the connection's thread, not in the accept loop
    request.settimeout(HANDSHAKE_TIMEOUT)
    # an answer is written as headers, then body: without this, Nagle's
    # algorithm and the peer's delayed ACK hold the body back ~40 ms
    request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
      tls = self.ssl_context.wrap_socket(request, server_side=True)
    except (ssl.SSLError, OSError) as err:
      logging.info("TLS handshake with %s failed: %s", client_address[0], err)
      return
    try:
      _Connection(tls, client_address, self).Serve()
    finally:
      try:
        tls.close()
      except OSError:
        pass

  def handle_error(self, request: Any, client_address: Any) -> None:
    logging.debug("Connection from %s ended with an error", client_address[0],
                  exc_info=True)


def MakeSslContext(cert_file: str) -> ssl.SSLContext:
  """Server side: present cert_file, require peers signed by it."""
  context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
  context.minimum_version = ssl.TLSVersion.TLSv1_2
  context.load_cert_chain(cert_file)
  context.load_verify_locations(cafile=cert_file)
  context.verify_mode = ssl.CERT_REQUIRED
  return context


def _prepare(ctx: daemon.DaemonContext) -> NodeHttpServer:
  if not os.path.exists(pathutils.NODED_CERT_FILE):
    raise daemon.DaemonError("Cluster certificate %s not found; is this node part of a"
                             " cluster?" % pathutils.NODED_CERT_FILE)
  try:
    context = MakeSslContext(pathutils.NODED_CERT_FILE)
  except (ssl.SSLError, OSError) as err:
    raise daemon.DaemonError("Cannot load the cluster certificate %s: %s" %
                             (pathutils.NODED_CERT_FILE, err)) from err
  from ganeti import backend  # pylint: disable=import-outside-toplevel
  _LoadHypervisors()
  cmdtrace.Enable(ctx.options.command_trace)
  try:
    return NodeHttpServer((ctx.options.bind, ctx.options.port), context,
                          Dispatcher(backend.HANDLERS, ctx.RequestStop), CandidateCerts())
  except OSError as err:
    raise daemon.DaemonError("Cannot listen on %s:%s: %s" %
                             (ctx.options.bind, ctx.options.port, err)) from err


def _LoadHypervisors() -> None:
  """Loads the code of the cluster's hypervisors at the start, not in the
  first call that needs it: that call (a migration's memory check, say)
  would wait for the import, a tenth of a second on a slow node."""
  from ganeti import hypervisor  # pylint: disable=import-outside-toplevel
  from ganeti import ssconf  # pylint: disable=import-outside-toplevel
  try:
    names = ssconf.SimpleStore().GetHypervisorList()
  except errors.GenericError:
    return  # not in a cluster yet
  for name in names:
    try:
      hypervisor.GetHypervisorClass(name)
    except errors.HypervisorError as err:
      logging.warning("Cannot load the code of hypervisor %s: %s", name, err)


def _serve(ctx: daemon.DaemonContext) -> int:
  server = ctx.prepared
  ctx.AddStopCallback(server.shutdown)
  logging.info("Node daemon listening on %s:%s", ctx.options.bind, ctx.options.port)
  try:
    server.serve_forever(poll_interval=0.5)
  finally:
    server.server_close()
  return 0


def _AddOptions(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("--command-trace", metavar="FILE", type=os.path.abspath,
                      help="append every command, QMP request and call the daemon runs,"
                           " with its duration, to FILE (JSON lines)")


def Main() -> int:
  return daemon.RunDaemon(constants.NODED, _serve, parser_setup=_AddOptions,
                          prepare_fn=_prepare)
