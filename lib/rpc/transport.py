"""HTTPS requests to node daemons, many at once, over kept-alive connections.

A request is a POST of a JSON body to one node; all requests of one call go
out together through a pycurl multi handle.  Finished sessions (a multi
handle with its connection cache and its easy handles) return to a pool, so
the next call to the same nodes reuses their TLS connections.  A session is
used by one thread at a time; concurrent callers get separate sessions.
"""

import collections
import dataclasses
import io
import os
import socket
import threading
from typing import Any, Optional

from ganeti import pathutils
from ganeti import serializer
from ganeti.rpc import defs
from ganeti.utils import thirdparty

_JSON_HEADERS = ["Content-Type: application/json", "Accept: application/json",
                 "Expect:"]  # no "100 continue" round trip for big bodies
_SELECT_TIMEOUT = 1.0
# requests to one daemon whose bodies are larger than this together go alone
_MAX_BATCH_BODY = 8 * 1024 * 1024
# sessions kept for reuse beyond that are closed: bounds idle connections
_MAX_IDLE_SESSIONS = 8
# A node that died while its connection sat in the pool never acknowledges
# the next request on it; without a bound the call would wait for its whole
# RPC timeout (up to hours) instead of failing like a fresh connection to a
# dead node does.  Data unacknowledged this long, or keepalive probes
# unanswered, end the connection; a slow node still acknowledges at once.
DEAD_PEER_TIMEOUT = 20
_KEEPALIVE_IDLE = 10
_KEEPALIVE_INTERVAL = 5
# Kept connections idle up to this long are used again: curl's default
# drops them after 118 s, and a new TLS handshake costs a tenth of a second
# or more on a slow node, where calls a few minutes apart are common.  It
# stays below the node daemon's own limit (its IDLE_TIMEOUT, 300 s).
_MAX_IDLE_REUSE = 240
# curl's errors when a kept connection's daemon has gone (stopped or
# restarted): it could not connect again, nothing answered, sending or
# receiving failed.  With GnuTLS, curl either fails with the receive error of
# the dead connection or, after its own reconnection attempt was refused,
# reports "couldn't connect" with that receive error's text.
_STALE_CONNECTION_ERRORS = frozenset([7, 52, 55, 56])


@dataclasses.dataclass
class Request:
  """One POST to a node daemon and, once done, its outcome."""
  address: str
  port: int
  path: str
  body: bytes
  timeout: float
  connect_timeout: float
  # outcome
  http_code: int = 0
  response: bytes = b""
  error: Optional[str] = None


def _Url(address: str, port: int, path: str) -> str:
  host = "[%s]" % address if ":" in address else address
  return "https://%s:%d/%s" % (host, port, path.lstrip("/"))


def _TuneSocket(fd: int, _purpose: int) -> int:
  """pycurl's SOCKOPTFUNCTION: dead peers are noticed within DEAD_PEER_TIMEOUT."""
  with socket.socket(fileno=os.dup(fd)) as sock:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, _KEEPALIVE_IDLE)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, _KEEPALIVE_INTERVAL)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, DEAD_PEER_TIMEOUT * 1000)
  return 0  # CURL_SOCKOPT_OK


def _Batched(requests: list[Request]) -> tuple[list[Request], list[tuple[Request, list[Request]]]]:
  """The requests as they go out: those to a daemon asked more than once
  become one batch request (unless their bodies are large: they stay well
  below the daemon's limit on one body); with (batch, its parts) for each
  batch."""
  by_peer: dict[tuple[str, int], list[Request]] = {}
  for request in requests:
    by_peer.setdefault((request.address, request.port), []).append(request)
  wire, batches = [], []
  for (address, port), parts in by_peer.items():
    if len(parts) == 1 or sum(len(part.body) for part in parts) > _MAX_BATCH_BODY:
      wire.extend(parts)
      continue
    body = serializer.DumpJson([[part.path.strip("/"), part.body.decode("utf-8")]
                                for part in parts]).encode("utf-8")
    batch = Request(address=address, port=port, path=defs.BATCH_CALL, body=body,
                    timeout=sum(part.timeout for part in parts),
                    connect_timeout=max(part.connect_timeout for part in parts))
    wire.append(batch)
    batches.append((batch, parts))
  return wire, batches


def _Unbatched(batch: Request, parts: list[Request]) -> list[Request]:
  """Gives each part its outcome from the batch's; returns the parts still
  to be sent on their own (the daemon does not know batches)."""
  if batch.error is None and batch.http_code == 404:
    return parts
  answers = None
  if batch.error is None and batch.http_code == 200:
    try:
      answers = serializer.LoadJson(batch.response.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
      pass
    if not (isinstance(answers, list) and len(answers) == len(parts) and
            all(isinstance(answer, list) and len(answer) == 2 and isinstance(answer[0], int)
                and isinstance(answer[1], str) for answer in answers)):
      batch.error = "invalid answer to a batch of %d calls" % len(parts)
      answers = None
  if answers is None:
    # the daemon was not reached, or refused the whole batch (e.g. 403)
    for part in parts:
      part.error, part.http_code, part.response = batch.error, batch.http_code, batch.response
  else:
    for part, (code, text) in zip(parts, answers):
      part.http_code, part.response = code, text.encode("utf-8")
  return []


class _Session:
  """A multi handle with its connection cache and reusable easy handles."""

  def __init__(self, pycurl: Any, credentials: tuple) -> None:
    self._pycurl = pycurl
    self.multi = pycurl.CurlMulti()
    self._idle: list = []
    # (address, port) of the daemons it has kept connections to, as far as known
    self.peers: set[tuple[str, int]] = set()
    # the certificate files' identity when the connections were opened
    self.credentials = credentials

  def _Handle(self, request: Request, buf: io.BytesIO, client_cert: str, ca_cert: str) -> Any:
    pycurl = self._pycurl
    curl = self._idle.pop() if self._idle else pycurl.Curl()
    curl.reset()  # options go, connections and TLS sessions stay
    curl.setopt(pycurl.URL, _Url(request.address, request.port, request.path))
    curl.setopt(pycurl.POST, 1)
    curl.setopt(pycurl.POSTFIELDS, request.body)
    curl.setopt(pycurl.HTTPHEADER, _JSON_HEADERS)
    curl.setopt(pycurl.WRITEDATA, buf)
    curl.setopt(pycurl.NOSIGNAL, 1)
    curl.setopt(pycurl.SOCKOPTFUNCTION, _TuneSocket)
    curl.setopt(pycurl.CONNECTTIMEOUT_MS, int(request.connect_timeout * 1000))
    curl.setopt(pycurl.MAXAGE_CONN, _MAX_IDLE_REUSE)
    curl.setopt(pycurl.TIMEOUT_MS, int(request.timeout * 1000))
    curl.setopt(pycurl.SSLCERTTYPE, "PEM")
    curl.setopt(pycurl.SSLCERT, client_cert)
    curl.setopt(pycurl.SSLKEYTYPE, "PEM")
    curl.setopt(pycurl.SSLKEY, client_cert)
    curl.setopt(pycurl.CAINFO, ca_cert)
    curl.setopt(pycurl.SSL_VERIFYPEER, 1)
    # certificates carry the cluster's name, not the node's
    curl.setopt(pycurl.SSL_VERIFYHOST, 0)
    return curl

  def Run(self, requests: list[Request], client_cert: str, ca_cert: str) -> None:
    """Runs the requests; a daemon asked several things gets them in one
    batch, which it runs in order: no round trip between them (a daemon
    that knows no batches gets them one after the other)."""
    wire, batches = _Batched(requests)
    self._RunWire(wire, client_cert, ca_cert)
    alone = [part for batch, parts in batches for part in _Unbatched(batch, parts)]
    if alone:
      self._RunWire(alone, client_cert, ca_cert)

  def _RunWire(self, requests: list[Request], client_cert: str, ca_cert: str) -> None:
    stale = self._RunTogether(requests, client_cert, ca_cert, fresh=False)
    if stale:
      # the request never reached a daemon on a connection it had closed: once
      # more on a new one, which fails (or succeeds) as the node is now
      for request in stale:
        request.error = None
      self._RunTogether(stale, client_cert, ca_cert, fresh=True)
    for request in requests:
      peer = (request.address, request.port)
      if request.error is None:
        self.peers.add(peer)
      else:
        self.peers.discard(peer)

  def _RunTogether(self, requests: list[Request], client_cert: str, ca_cert: str,
                fresh: bool) -> list[Request]:
    """Runs the requests together, one at a time per daemon; returns those
    that failed on a stale kept connection.

    A second request to a daemon waits for the first and goes out on its
    connection: that costs the first one's duration, where a second
    connection would cost a TLS handshake (a tenth of a second on a slow
    node), longer than most calls take to run.
    """
    queues: dict[tuple[str, int], collections.deque] = {}
    for request in requests:
      queues.setdefault((request.address, request.port), collections.deque()).append(request)
    active: dict[int, tuple[Any, Request, io.BytesIO, bool]] = {}
    stale: list[Request] = []
    try:
      for peer in queues:
        self._Start(active, queues[peer].popleft(), client_cert, ca_cert, fresh)
      while active:
        while True:
          status, _ = self.multi.perform()
          if status != self._pycurl.E_CALL_MULTI_PERFORM:
            break
        finished = self._Collect(active)
        for request, was_stale in finished:
          queue = queues[(request.address, request.port)]
          if was_stale:
            # the rest follow it on a new connection, in their order
            stale.append(request)
            stale.extend(queue)
            queue.clear()
          elif request.error is not None:
            # no daemon answered there: the others would only wait as long
            for waiting in queue:
              waiting.error = request.error
            queue.clear()
          else:
            self.peers.add((request.address, request.port))
            if queue:
              self._Start(active, queue.popleft(), client_cert, ca_cert, fresh)
        if active and not finished:
          self.multi.select(_SELECT_TIMEOUT)
    finally:
      for curl, _, _, _ in active.values():
        self._idle.append(curl)
    return stale

  def _Start(self, active: dict, request: Request, client_cert: str, ca_cert: str,
             fresh: bool) -> None:
    buf = io.BytesIO()
    curl = self._Handle(request, buf, client_cert, ca_cert)
    if fresh:
      curl.setopt(self._pycurl.FRESH_CONNECT, 1)
    kept = not fresh and (request.address, request.port) in self.peers
    active[id(curl)] = (curl, request, buf, kept)
    self.multi.add_handle(curl)

  def _Collect(self, active: dict) -> list[tuple[Request, bool]]:
    """Takes the finished transfers off the multi handle; their requests,
    each with whether it failed on a stale kept connection."""
    finished = []
    while True:
      queued, ok_list, err_list = self.multi.info_read()
      for curl in ok_list:
        _, request, buf, _ = active.pop(id(curl))
        request.http_code = curl.getinfo(self._pycurl.RESPONSE_CODE)
        request.response = buf.getvalue()
        finished.append((curl, request, False))
      for curl, code, message in err_list:
        _, request, _, kept = active.pop(id(curl))
        request.error = message
        # it went out where a kept connection was, and not a byte came back:
        # no daemon took the request
        was_stale = (kept and code in _STALE_CONNECTION_ERRORS and
                     not curl.getinfo(self._pycurl.HEADER_SIZE))
        finished.append((curl, request, was_stale))
      if not queued:
        break
    for curl, _, _ in finished:
      self.multi.remove_handle(curl)
      self._idle.append(curl)
    return [(request, was_stale) for _, request, was_stale in finished]

  def Close(self) -> None:
    for curl in self._idle:
      curl.close()
    self.multi.close()


class Pool:
  """Sessions for repeated calls; safe to share between threads."""

  def __init__(self, client_cert: Optional[str] = None, ca_cert: Optional[str] = None) -> None:
    self.client_cert = client_cert or pathutils.NODED_CLIENT_CERT_FILE
    self.ca_cert = ca_cert or pathutils.NODED_CERT_FILE
    self._lock = threading.Lock()
    self._sessions: list[_Session] = []

  def _Credentials(self) -> tuple:
    stamps = []
    for path in (self.client_cert, self.ca_cert):
      try:
        st = os.stat(path)
        stamps.append((st.st_ino, st.st_size, st.st_mtime_ns))
      except OSError:
        stamps.append(None)
    return tuple(stamps)

  def _TakeSession(self, wanted: set[tuple[str, int]]) -> Optional["_Session"]:
    """The idle session with kept connections to most of the wanted daemons
    (a new TLS connection costs a tenth of a second on a slow node), the
    latest returned among equals; None if there is none."""
    if not self._sessions:
      return None
    best = max(range(len(self._sessions)),
               key=lambda index: (len(self._sessions[index].peers & wanted), index))
    return self._sessions.pop(best)

  def Send(self, requests: list[Request]) -> None:
    """Sends all requests in parallel; fills in their outcome.

    Kept-alive connections go when a certificate file is replaced: they
    would keep presenting the old client certificate, which nodes stop
    trusting during a renewal.
    """
    if not requests:
      return
    credentials = self._Credentials()
    wanted = {(request.address, request.port) for request in requests}
    with self._lock:
      session = self._TakeSession(wanted)
      if session is not None and session.credentials != credentials:
        stale = [session] + self._sessions
        self._sessions, session = [], None
      else:
        stale = []
    for old in stale:
      old.Close()
    if session is None:
      session = _Session(thirdparty.Import("pycurl"), credentials)
    try:
      session.Run(requests, self.client_cert, self.ca_cert)
    except Exception:
      session.Close()  # in an unknown state: never reuse it
      raise
    with self._lock:
      if len(self._sessions) < _MAX_IDLE_SESSIONS:
        self._sessions.append(session)
        session = None
    if session is not None:
      session.Close()
