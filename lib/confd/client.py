"""A synchronous confd client: ask several peers, keep the freshest answer.

    client = ConfdClient()  # this node's hmac.key and master candidates
    reply = client.Query(confd.REQ_CLUSTER_MASTER)
    reply.answer, reply.serial

A request goes to up to `coverage` peers (chosen at random) at once; replies
are collected until every asked peer answered or the timeout passed.
Replies must carry the request's salt and a valid signature; anything else
is ignored.  The reply with the highest serial wins (error replies have
serial 0, so any good answer beats them).
"""

import dataclasses
import logging
import random
import select
import socket
import time
import uuid
from typing import Any, Optional

from ganeti import confd
from ganeti import constants
from ganeti import errors
from ganeti import pathutils
from ganeti import ssconf

DEFAULT_QUERY_TIMEOUT = 5.0  # seconds


@dataclasses.dataclass(frozen=True)
class ConfdReply:
  status: int
  answer: Any
  serial: int
  peer: str

  @property
  def ok(self) -> bool:
    return self.status == confd.REPL_STATUS_OK


def ReadHmacKey(path: Optional[str] = None) -> bytes:
  """The cluster's confd key: the file's bytes as they are (newline included)."""
  with open(path or pathutils.CONFD_HMAC_KEY, "rb") as handle:
    return handle.read()


class ConfdClient:
  """Sends requests to confd peers (by default this node's master candidates)."""

  def __init__(self, hmac_key: Optional[bytes] = None, peers: Optional[list[str]] = None,
               port: int = constants.DEFAULT_CONFD_PORT,
               coverage: int = confd.DEFAULT_REQ_COVERAGE) -> None:
    self._key = ReadHmacKey() if hmac_key is None else hmac_key
    self._peers = list(peers) if peers is not None else \
      ssconf.SimpleStore().GetMasterCandidatesIPList()
    if not self._peers:
      raise errors.ConfdClientError("No confd peers to ask")
    self._port = port
    self._coverage = max(1, coverage)

  def _Send(self, peers: list[str], datagram: bytes) -> dict[socket.socket, list[str]]:
    """Sends datagram to each peer; the sockets used, with their peers."""
    sockets: dict[int, socket.socket] = {}
    used: dict[socket.socket, list[str]] = {}
    for peer in peers:
      family = socket.AF_INET6 if ":" in peer else socket.AF_INET
      if family not in sockets:
        sockets[family] = socket.socket(family, socket.SOCK_DGRAM)
      sock = sockets[family]
      try:
        sock.sendto(datagram, (peer, self._port))
      except OSError as err:
        logging.debug("Cannot send confd request to %s: %s", peer, err)
        continue
      used.setdefault(sock, []).append(peer)
    for sock in sockets.values():
      if sock not in used:
        sock.close()
    return used

  def _Decode(self, data: bytes, rsalt: str, peer: str) -> Optional[ConfdReply]:
    try:
      msg, salt = confd.Unpack(self._key, data)
      if salt != rsalt:
        raise confd.ConfdMessageError("reply to another request")
      reply = confd.ParseReply(msg)
    except (errors.ConfdMagicError, confd.ConfdMessageError) as err:
      logging.debug("Ignoring confd reply from %s: %s", peer, err)
      return None
    return ConfdReply(reply["status"], reply["answer"], reply["serial"], peer)

  def QueryAll(self, req_type: int, query: Any = None,
               timeout: float = DEFAULT_QUERY_TIMEOUT) -> list[ConfdReply]:
    """The valid replies of the asked peers (at most one per peer)."""
    rsalt = uuid.uuid4().hex
    datagram = confd.Pack(self._key, confd.MakeRequest(req_type, query, rsalt),
                          str(int(time.time())))
    asked = random.sample(self._peers, min(self._coverage, len(self._peers)))
    used = self._Send(asked, datagram)
    pending = {peer for peers in used.values() for peer in peers}
    replies: dict[str, ConfdReply] = {}
    deadline = time.monotonic() + timeout
    try:
      while pending:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
          break
        readable, _, _ = select.select(list(used), [], [], remaining)
        for sock in readable:
          try:
            data, address = sock.recvfrom(65536)
          except OSError:  # e.g. port unreachable reported for a peer
            continue
          peer = address[0]
          if peer not in pending:
            continue
          reply = self._Decode(data, rsalt, peer)
          if reply is not None:
            replies[peer] = reply
            pending.discard(peer)
    finally:
      for sock in used:
        sock.close()
    return list(replies.values())

  def Query(self, req_type: int, query: Any = None,
            timeout: float = DEFAULT_QUERY_TIMEOUT) -> ConfdReply:
    """The freshest reply (highest serial); ConfdClientError if none came."""
    replies = self.QueryAll(req_type, query, timeout)
    if not replies:
      raise errors.ConfdClientError("No answer from confd peers %s within %s seconds"
                                    % (", ".join(self._peers), timeout))
    return max(replies, key=lambda reply: reply.serial)
