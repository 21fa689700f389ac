"""ganeti-noded: answers the master's RPC calls on every node.

HTTPS with client certificates: a peer must present a certificate signed by
the cluster certificate (server.pem) whose SHA1 digest is one of the master
candidates' (ssconf master_candidates_certs); anyone else gets 403.  Each
connection is served by its own thread and stays open (HTTP/1.1 keep-alive)
for further calls.

A call is `POST /<name>` with a JSON list of arguments; the answer is the
JSON list [success, payload] of backend.HANDLERS[name](*args).  Bad
requests get a 4xx answer; nothing a peer sends stops the daemon.
"""

import argparse
import http.server
import inspect
import logging
import os
import socket
import socketserver
import ssl
import threading
from typing import Any, Callable, Optional

from ganeti import constants
from ganeti import daemon
from ganeti import errors
from ganeti import pathutils
from ganeti import serializer
from ganeti.utils import cmdtrace
from ganeti.utils import x509

# Larger bodies are refused (413): config.data and job files stay far below.
MAX_BODY_SIZE = 64 * 1024 * 1024
HANDSHAKE_TIMEOUT = 10.0
# an idle kept-alive connection is closed after this many seconds
IDLE_TIMEOUT = 300.0
BACKEND_ERROR_PREFIX = "Error while executing backend function"
_QUIT_DELAY = 0.5


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

  def __call__(self, name: str, body: bytes) -> tuple[int, Any]:
    handler = self._handlers.get(name)
    if handler is None:
      return 404, [False, "Unknown RPC call '%s'" % name[:100]]
    try:
      args = serializer.LoadJson(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
      return 400, [False, "Invalid JSON body for call %s: %s" % (name, err)]
    if not isinstance(args, list):
      return 400, [False, "Arguments of call %s must be a JSON list" % name]
    try:
      inspect.signature(handler).bind(*args)
    except TypeError as err:
      return 400, [False, "Invalid arguments for call %s: %s" % (name, err)]
    except ValueError:
      pass  # no signature to check (builtin); the call itself will tell
    with cmdtrace.Span("rpc", name) as traced:
      status, answer = self._Call(name, handler, args)
      traced.ok = answer[0] is True
    return status, answer

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


class _RequestHandler(http.server.BaseHTTPRequestHandler):
  """One client connection; may carry many requests."""
  protocol_version = "HTTP/1.1"
  server_version = "ganeti-noded/%s" % constants.RELEASE_VERSION
  timeout = IDLE_TIMEOUT
  server: "NodeHttpServer"

  def log_message(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
    logging.debug("%s: %s", self.address_string(), format % args)

  def _Reply(self, status: int, answer: Any, close: bool = False) -> None:
    try:
      data = serializer.DumpJson(answer).encode("utf-8")
    except (TypeError, ValueError) as err:
      status, close = 200, False
      data = serializer.DumpJson([False, "%s: result cannot be encoded: %s" %
                                  (BACKEND_ERROR_PREFIX, err)]).encode("utf-8")
    self.send_response(status)
    self.send_header("Content-Type", "application/json")
    self.send_header("Content-Length", str(len(data)))
    if close:
      self.send_header("Connection", "close")
      self.close_connection = True
    self.end_headers()
    self.wfile.write(data)

  def _Refuse(self, status: int, message: str) -> None:
    """Answers an error and ends the connection (the body may be unread)."""
    self._Reply(status, [False, message], close=True)

  def _Authorized(self) -> bool:
    der = self.connection.getpeercert(binary_form=True)
    if der is None:
      return False
    digest = x509.DigestOfDer(der)
    if self.server.candidate_certs.Allows(digest):
      return True
    logging.warning("Refused %s: client certificate %s is not a master candidate's",
                    self.address_string(), digest)
    return False

  def _ReadBody(self) -> Optional[bytes]:
    if self.headers.get("Transfer-Encoding", "").lower() not in ("", "identity"):
      self._Refuse(411, "Chunked bodies are not supported; send Content-Length")
      return None
    length_text = self.headers.get("Content-Length")
    try:
      length = int(length_text) if length_text is not None else 0
    except ValueError:
      length = -1
    if length < 0:
      self._Refuse(400, "Invalid Content-Length %r" % length_text)
      return None
    if length > MAX_BODY_SIZE:
      self._Refuse(413, "Request body too large (%d bytes, limit %d)" %
                   (length, MAX_BODY_SIZE))
      return None
    body = self.rfile.read(length)
    if len(body) != length:
      self.close_connection = True
      return None
    return body

  def do_POST(self) -> None:  # pylint: disable=invalid-name
    if not self._Authorized():
      self._Refuse(403, "Client certificate not accepted")
      return
    body = self._ReadBody()
    if body is None:
      return
    name = self.path.split("?", 1)[0].strip("/")
    status, answer = self.server.dispatch(name, body)
    self._Reply(status, answer)

  def _NotAllowed(self) -> None:
    self._Refuse(405, "Only POST /<call> is supported")

  do_GET = do_PUT = do_DELETE = do_OPTIONS = _NotAllowed


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
    super().__init__(address, _RequestHandler)

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
      self.RequestHandlerClass(tls, client_address, self)
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
  cmdtrace.Enable(ctx.options.command_trace)
  try:
    return NodeHttpServer((ctx.options.bind, ctx.options.port), context,
                          Dispatcher(backend.HANDLERS, ctx.RequestStop), CandidateCerts())
  except OSError as err:
    raise daemon.DaemonError("Cannot listen on %s:%s: %s" %
                             (ctx.options.bind, ctx.options.port, err)) from err


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
