"""The confd server: answers signed UDP requests from the node's config.data.

The configuration is held in memory and reloaded when the file changes
(checked at most every CONFIG_RELOAD_RATELIMIT seconds).  Like the real
server, a node whose config.data is missing or unreadable still answers,
with an error reply to every request, and recovers on the next good file.
Datagrams that are not valid signed requests are dropped and logged at
debug level; nothing a peer sends stops the server.
"""

import logging
import os
import socket
import threading
import time
from typing import Callable, Optional, Union

from ganeti import config
from ganeti import confd
from ganeti import errors
from ganeti import pathutils
from ganeti.confd import querylib

# How often the serving loop wakes up to look at its stop event
_POLL_INTERVAL = 0.5


class ConfigCache:
  """The latest loaded configuration, or the error that prevented loading it."""

  def __init__(self, cfg_file: Optional[str] = None,
               ratelimit: float = confd.CONFIG_RELOAD_RATELIMIT,
               clock: Callable[[], float] = time.monotonic) -> None:
    self._cfg_file = cfg_file or pathutils.CLUSTER_CONF_FILE
    self._ratelimit = ratelimit
    self._clock = clock
    self._lock = threading.Lock()
    self._identity: Optional[tuple] = None
    self._checked_at: Optional[float] = None
    self._current: Union[querylib.ConfigView, str] = "configuration not loaded yet"

  def _FileIdentity(self) -> tuple:
    st = os.stat(self._cfg_file)
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns

  def _Load(self) -> None:
    try:
      identity = self._FileIdentity()
    except OSError as err:
      if self._identity != err.errno:
        logging.error("Cannot read configuration %s: %s", self._cfg_file, err.strerror)
      self._identity = err.errno
      self._current = ("Failure during configuration update: %s: %s" %
                       (self._cfg_file, err.strerror))
      return
    if identity == self._identity:
      return
    self._identity = identity
    try:
      view = querylib.ConfigView(config.ConfigWriter(self._cfg_file, offline=True))
    except (errors.GenericError, ValueError, KeyError, TypeError, AttributeError) as err:
      # a half-written or foreign file: answer errors until the next change
      logging.error("Failed to load config: %s", err)
      self._current = "Cannot load configuration from %s: %s" % (self._cfg_file, err)
      return
    logging.info("Loaded new config, serial %s", view.raw.get("serial_no"))
    self._current = view

  def Get(self) -> Union[querylib.ConfigView, str]:
    """The current view (reloaded if the file changed), or an error text."""
    with self._lock:
      now = self._clock()
      if self._checked_at is None or now - self._checked_at >= self._ratelimit:
        self._checked_at = now
        self._Load()
      return self._current


class ConfdProcessor:
  """Turns request datagrams into reply datagrams (None: drop the request)."""

  def __init__(self, hmac_key: bytes, cache: ConfigCache,
               clock: Callable[[], float] = time.time) -> None:
    self._key = hmac_key
    self._cache = cache
    self._clock = clock

  def Process(self, datagram: bytes, peer: str = "?") -> Optional[bytes]:
    if len(datagram) > confd.MAX_DATAGRAM:
      logging.debug("Dropping %d-byte datagram from %s: too large", len(datagram), peer)
      return None
    try:
      msg, salt = confd.Unpack(self._key, datagram)
      confd.CheckTimeSalt(salt, self._clock())
      request = confd.ParseRequest(msg)
    except (errors.ConfdMagicError, confd.ConfdMessageError) as err:
      logging.debug("Dropping datagram from %s: %s", peer, err)
      return None
    logging.debug("Processing request from %s: %s", peer, msg)
    view = self._cache.Get()
    if isinstance(view, str):
      status, answer, serial = confd.REPL_STATUS_ERROR, view, 0
    else:
      status, answer, serial = querylib.Answer(view, request["type"], request["query"])
    return confd.Pack(self._key, confd.MakeReply(status, answer, serial), request["rsalt"])


def MakeSocket(address: str, port: int) -> socket.socket:
  """A UDP socket bound to (address, port), IPv6 when address is one."""
  family = socket.AF_INET6 if ":" in address else socket.AF_INET
  sock = socket.socket(family, socket.SOCK_DGRAM)
  try:
    sock.bind((address, port))
  except OSError:
    sock.close()
    raise
  sock.settimeout(_POLL_INTERVAL)
  return sock


def Serve(sock: socket.socket, processor: ConfdProcessor, stop_event: threading.Event) -> None:
  """Answers requests on sock until stop_event is set."""
  while not stop_event.is_set():
    try:
      datagram, address = sock.recvfrom(65536)
    except socket.timeout:
      continue
    except OSError as err:  # e.g. ICMP errors reported for earlier replies
      logging.debug("Receive error: %s", err)
      continue
    try:
      reply = processor.Process(datagram, address[0])
      if reply is not None:
        sock.sendto(reply, address)
    except Exception:  # pylint: disable=broad-except
      # one bad request must never stop the daemon
      logging.exception("Error while answering a request from %s", address[0])
