"""The confd protocol: signed JSON datagrams between confd clients and servers.

A datagram is the magic b"plj0" followed by a JSON object {"msg": <JSON text
of the request or reply>, "salt": <salt>, "hmac": <hex HMAC-SHA1 with the
cluster's hmac.key over salt + msg>}.  A request's salt is the sender's clock
(whole seconds, as text) and is refused outside CONFD_MAX_CLOCK_SKEW; a reply
is salted with the request's "rsalt", which ties it to its request.  The key
is the content of hmac.key as it is, trailing newline included.
"""

import hashlib
import hmac
import json
import re
import time
from typing import Any, Optional

from ganeti import errors

MAGIC = b"plj0"
PROTOCOL_VERSION = 1
MAX_CLOCK_SKEW = 300  # seconds
DEFAULT_REQ_COVERAGE = 6  # peers a client asks at once
CONFIG_RELOAD_RATELIMIT = 0.25  # seconds between two checks of config.data
MAX_DATAGRAM = 4096  # larger requests are dropped (the real server's buffer)

# Request types
REQ_PING = 0
REQ_NODE_ROLE_BYNAME = 1
REQ_NODE_PIP_BY_INSTANCE_IP = 2
REQ_CLUSTER_MASTER = 3
REQ_NODE_PIP_LIST = 4
REQ_MC_PIP_LIST = 5
REQ_INSTANCES_IPS_LIST = 6
REQ_NODE_DRBD = 7
REQ_NODE_INSTANCES = 8
REQ_INSTANCE_DISKS = 9
REQ_CONFIG_QUERY = 10
REQ_DATA_COLLECTORS = 11
REQS = frozenset(range(REQ_PING, REQ_DATA_COLLECTORS + 1))

# Reply statuses
REPL_STATUS_OK = 0
REPL_STATUS_ERROR = 1
REPL_STATUS_NOTIMPLEMENTED = 2

# Error answers (numeric answers of REPL_STATUS_ERROR replies)
ERROR_UNKNOWN_ENTRY = 0
ERROR_INTERNAL = 1
ERROR_ARGUMENT = 2

# Answers of REQ_NODE_ROLE_BYNAME
NODE_ROLE_MASTER = 0
NODE_ROLE_CANDIDATE = 1
NODE_ROLE_OFFLINE = 2
NODE_ROLE_DRAINED = 3
NODE_ROLE_REGULAR = 4

# Keys of a dict query
REQQ_LINK = "0"
REQQ_IP = "1"
REQQ_IPLIST = "2"
REQQ_FIELDS = "3"

# Fields of REQ_CLUSTER_MASTER's dict query
REQFIELD_NAME = 0
REQFIELD_IP = 1
REQFIELD_MNODE_PIP = 2
REQFIELDS = frozenset([REQFIELD_NAME, REQFIELD_IP, REQFIELD_MNODE_PIP])

_TIME_SALT = re.compile(r"-?[0-9]+")
_REQUEST_KEYS = frozenset(["protocol", "type", "query", "rsalt"])
_REPLY_KEYS = ("protocol", "status", "answer", "serial")


class ConfdMessageError(errors.GenericError):
  """A datagram that is not a valid confd message (dropped by the receiver)."""


def Dump(value: Any) -> str:
  """Compact JSON, as the real server writes it."""
  return json.dumps(value, separators=(",", ":"))


def Sign(key: bytes, salt: str, msg: str) -> str:
  return hmac.new(key, (salt + msg).encode("utf-8"), hashlib.sha1).hexdigest()


def Pack(key: bytes, msg: str, salt: str) -> bytes:
  """The signed datagram carrying msg."""
  envelope = {"hmac": Sign(key, salt, msg), "msg": msg, "salt": salt}
  return MAGIC + Dump(envelope).encode("utf-8")


def Unpack(key: bytes, datagram: bytes) -> tuple[str, str]:
  """(msg, salt) of a datagram whose signature is valid.

  Raises errors.ConfdMagicError without the magic, ConfdMessageError for
  anything else that is wrong.
  """
  if not datagram.startswith(MAGIC):
    raise errors.ConfdMagicError("Invalid magic code")
  try:
    envelope = json.loads(datagram[len(MAGIC):])
  except (ValueError, UnicodeDecodeError) as err:
    raise ConfdMessageError("Invalid signed message: %s" % err) from None
  if not isinstance(envelope, dict):
    raise ConfdMessageError("Signed message is not an object")
  msg, salt, digest = (envelope.get(name) for name in ("msg", "salt", "hmac"))
  if not all(isinstance(value, str) for value in (msg, salt, digest)):
    raise ConfdMessageError("Signed message lacks msg, salt or hmac")
  if not hmac.compare_digest(Sign(key, salt, msg), digest.lower()):
    raise ConfdMessageError("HMAC verification failed")
  return msg, salt


def CheckTimeSalt(salt: str, now: Optional[float] = None,
                  skew: int = MAX_CLOCK_SKEW) -> None:
  """Refuses a request salt that is not a time within skew seconds of now."""
  if not _TIME_SALT.fullmatch(salt):
    raise ConfdMessageError("Parsing timestamp: cannot parse string %r" % salt)
  now = time.time() if now is None else now
  if abs(now - int(salt)) > skew:
    raise ConfdMessageError("Too old/too new timestamp or clock skew")


def _IsStrOrNone(value: Any) -> bool:
  return value is None or isinstance(value, str)


def _IsStrList(value: Any) -> bool:
  return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _IsFieldList(value: Any) -> bool:
  return isinstance(value, list) and all(type(item) is int and item in REQFIELDS
                                         for item in value)


# Dict query key -> check of its value
_DICT_QUERY_CHECKS = {
  REQQ_LINK: _IsStrOrNone,
  REQQ_IP: _IsStrOrNone,
  REQQ_IPLIST: _IsStrList,
  REQQ_FIELDS: _IsFieldList,
}


def _CheckQuery(query: Any) -> None:
  if query is None or isinstance(query, str):
    return
  if not isinstance(query, dict):
    raise ConfdMessageError("Invalid query %r" % (query,))
  for key, value in query.items():
    check = _DICT_QUERY_CHECKS.get(key)
    if check is None or not check(value):
      raise ConfdMessageError("Invalid value for query key %r: %r" % (key, value))


def ParseRequest(msg: str) -> dict:
  """The request in msg, checked like the real server does; else ConfdMessageError."""
  try:
    request = json.loads(msg)
  except ValueError as err:
    raise ConfdMessageError("Malformed JSON: %s" % err) from None
  if not isinstance(request, dict):
    raise ConfdMessageError("Request is not an object")
  extra = set(request) - _REQUEST_KEYS
  if extra:
    raise ConfdMessageError("Superfluous keys %s" % sorted(extra))
  missing = _REQUEST_KEYS - {"query"} - set(request)
  if missing:
    raise ConfdMessageError("Missing keys %s" % sorted(missing))
  if type(request["protocol"]) is not int:
    raise ConfdMessageError("Invalid protocol %r" % (request["protocol"],))
  if type(request["type"]) is not int or request["type"] not in REQS:
    raise ConfdMessageError("Invalid request type %r" % (request["type"],))
  if not isinstance(request["rsalt"], str):
    raise ConfdMessageError("Invalid rsalt %r" % (request["rsalt"],))
  request.setdefault("query", None)
  _CheckQuery(request["query"])
  return request


def MakeRequest(req_type: int, query: Any, rsalt: str) -> str:
  """The msg text of a request."""
  return Dump({"protocol": PROTOCOL_VERSION, "type": req_type, "query": query,
               "rsalt": rsalt})


def MakeReply(status: int, answer: Any, serial: int) -> str:
  """The msg text of a reply."""
  return Dump(dict(zip(_REPLY_KEYS, (PROTOCOL_VERSION, status, answer, serial))))


def ParseReply(msg: str) -> dict:
  """The reply in msg (keys protocol, status, answer, serial); else ConfdMessageError."""
  try:
    reply = json.loads(msg)
  except ValueError as err:
    raise ConfdMessageError("Malformed JSON: %s" % err) from None
  if not isinstance(reply, dict) or set(reply) != set(_REPLY_KEYS):
    raise ConfdMessageError("Invalid reply %r" % (reply,))
  if type(reply["status"]) is not int or type(reply["serial"]) is not int:
    raise ConfdMessageError("Invalid reply status or serial")
  return reply
