"""RAPI users: the users file and HTTP Basic authentication.

Each line of the users file is "NAME PASSWORD [OPTIONS]"; "#" starts a
comment.  A password is clear text, "{cleartext}TEXT" or "{HA1}HEX" where
HEX is the MD5 of "NAME:Ganeti Remote API:PASSWORD" (scheme names are case
insensitive).  OPTIONS is a comma-separated list of rights ("read",
"write"); write implies read.  The file is read again whenever it changes.
"""

import base64
import binascii
import dataclasses
import hashlib
import hmac
import logging
import os
import threading
from typing import Any, Optional

from ganeti import rapi

_SCHEME_CLEARTEXT = "{cleartext}"
_SCHEME_HA1 = "{ha1}"
MAX_USERS_FILE_SIZE = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class User:
  name: str
  password: str  # as written in the file, scheme prefix included
  options: frozenset[str]

  @property
  def rights(self) -> frozenset[str]:
    """The user's rights with what they imply."""
    if rapi.ACCESS_WRITE in self.options:
      return self.options | {rapi.ACCESS_READ}
    return self.options


def ParseUsers(text: str) -> dict[str, User]:
  """The users of a users file's text, by name; malformed lines are skipped."""
  users = {}
  for number, line in enumerate(text.splitlines(), 1):
    line = line.strip()
    if not line or line.startswith("#"):
      continue
    parts = line.split()
    if len(parts) not in (2, 3):
      logging.warning("Ignoring line %d of the RAPI users file: expected 2 or 3 fields", number)
      continue
    options = frozenset(opt for opt in (parts[2].split(",") if len(parts) == 3 else []) if opt)
    unknown = options - rapi.ALL_ACCESS
    if unknown:
      logging.warning("Unknown options for RAPI user %s: %s", parts[0], ", ".join(sorted(unknown)))
    users[parts[0]] = User(parts[0], parts[1], options & rapi.ALL_ACCESS)
  return users


def _Ha1(name: str, password: str) -> str:
  return hashlib.md5(("%s:%s:%s" % (name, rapi.AUTH_REALM, password)).encode("utf-8")).hexdigest()


def CheckPassword(user: User, password: str) -> bool:
  """Whether password is user's, in constant time for equal lengths."""
  stored = user.password
  lowered = stored.lower()
  if lowered.startswith(_SCHEME_HA1):
    expected, given = stored[len(_SCHEME_HA1):].lower(), _Ha1(user.name, password)
  elif lowered.startswith(_SCHEME_CLEARTEXT):
    expected, given = stored[len(_SCHEME_CLEARTEXT):], password
  elif stored.startswith("{"):
    logging.warning("Unknown password scheme for RAPI user %s", user.name)
    return False
  else:
    expected, given = stored, password
  return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def ParseBasicAuth(header: Optional[str]) -> Optional[tuple[str, str]]:
  """(user, password) of an "Authorization: Basic ..." header, else None."""
  if not header:
    return None
  scheme, _, value = header.strip().partition(" ")
  if scheme.lower() != "basic":
    return None
  try:
    decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
  except (binascii.Error, ValueError):
    return None
  name, sep, password = decoded.partition(":")
  if not sep:
    return None
  return name, password


class UsersFile:
  """The users file, read again when its size, inode or mtime changed.

  A missing or unreadable file means no users (only anonymous access).
  """

  def __init__(self, path: str) -> None:
    self._path = path
    self._lock = threading.Lock()
    self._stamp: Any = None
    self._users: dict[str, User] = {}

  def Users(self) -> dict[str, User]:
    with self._lock:
      try:
        st = os.stat(self._path)
      except OSError:
        if self._stamp is not None:
          logging.info("RAPI users file %s is gone", self._path)
        self._stamp, self._users = None, {}
        return self._users
      stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
      if stamp != self._stamp:
        try:
          with open(self._path, encoding="utf-8", errors="replace") as handle:
            text = handle.read(MAX_USERS_FILE_SIZE)
        except OSError as err:
          logging.error("Cannot read the RAPI users file %s: %s", self._path, err)
          return self._users
        self._users = ParseUsers(text)
        self._stamp = stamp
        logging.info("Loaded %d RAPI user(s) from %s", len(self._users), self._path)
      return self._users

  def Authenticate(self, header: Optional[str]) -> Optional[User]:
    """The user an Authorization header proves, or None."""
    credentials = ParseBasicAuth(header)
    if credentials is None:
      return None
    user = self.Users().get(credentials[0])
    if user is None or not CheckPassword(user, credentials[1]):
      return None
    return user
