"""Reading DRBD 8.4's state: /proc/drbd and `drbdsetup show`.

/proc/drbd has a version line, then per minor a state line
("<minor>: cs:<connection> ro:<role>/<peer role> ds:<disk>/<peer disk> ...")
followed by counters and, while resynchronizing, a progress line ("sync'ed:
<percent>% ...") and a "finish: h:mm:ss speed: ..." line.
`drbdsetup show` prints the minor's configuration in drbd.conf syntax:
nested `name args { ... }` sections and `key value...;` statements.
"""

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from ganeti import errors

PROC_DRBD = "/proc/drbd"

_VERSION_RE = re.compile(r"^version: (\d+)\.(\d+)\.(\d+)(?:\S*) \(api:(\d+)/proto:([\d-]+)\)")
_MINOR_RE = re.compile(r"^\s*(\d+): cs:(\S+)(.*)$")
_SYNC_RE = re.compile(r"sync'ed:\s*([\d.]+)%")
_FINISH_RE = re.compile(r"finish: (\d+):(\d+):(\d+)\s+speed:\s*([\d,]+)\s*\(([\d,]+)\)"
                        r"(?:\s*want:\s*([\d,]+))?\s*K/sec")

# Connection states of a resync, running or being set up
_RESYNC_STATES = frozenset(["SyncSource", "SyncTarget", "PausedSyncS", "PausedSyncT",
                            "StartingSyncS", "StartingSyncT", "WFBitMapS", "WFBitMapT",
                            "WFSyncUUID"])
_WAITING_STATES = frozenset(["StandAlone", "WFConnection", "WFReportParams", "Disconnecting",
                             "Unconnected", "Timeout", "BrokenPipe", "NetworkFailure",
                             "ProtocolError", "TearDown"])


@dataclass
class DrbdVersion:
  major: int
  minor: int
  point: int
  api: int
  proto: str


@dataclass
class MinorStatus:
  """One minor's line(s) in /proc/drbd."""
  minor: int
  connection: str
  role: Optional[str] = None
  peer_role: Optional[str] = None
  disk: Optional[str] = None
  peer_disk: Optional[str] = None
  sync_percent: Optional[float] = None
  est_seconds: Optional[int] = None
  speed_kib: Optional[int] = None
  want_speed_kib: Optional[int] = None

  @property
  def configured(self) -> bool:
    return self.connection != "Unconfigured"

  @property
  def connected(self) -> bool:
    return self.connection == "Connected"

  @property
  def standalone(self) -> bool:
    return self.connection == "StandAlone"

  @property
  def waiting_for_peer(self) -> bool:
    return self.connection in _WAITING_STATES

  @property
  def resyncing(self) -> bool:
    return self.connection in _RESYNC_STATES

  @property
  def with_peer(self) -> bool:
    """In touch with its peer: connected, or resyncing with it."""
    return self.connected or self.resyncing

  @property
  def primary(self) -> bool:
    return self.role == "Primary"

  @property
  def diskless(self) -> bool:
    return self.disk == "Diskless"

  @property
  def disk_uptodate(self) -> bool:
    return self.disk == "UpToDate"


@dataclass
class ProcStatus:
  version: Optional[DrbdVersion]
  minors: dict[int, MinorStatus] = field(default_factory=dict)

  def UsedMinors(self) -> list[int]:
    """Minors that have a configuration (the others can be given out)."""
    return sorted(number for number, status in self.minors.items() if status.configured)


def _Int(text: str) -> int:
  return int(text.replace(",", ""))


def _ParseStateWords(status: MinorStatus, words: list[str]) -> None:
  for word in words:
    key, _, value = word.partition(":")
    if key == "ro" and "/" in value:
      status.role, status.peer_role = value.split("/", 1)
    elif key == "ds" and "/" in value:
      status.disk, status.peer_disk = value.split("/", 1)


def ParseProcDrbd(text: str) -> ProcStatus:
  """Everything /proc/drbd tells; BlockDeviceError if it is not DRBD's format."""
  lines = text.splitlines()
  version = None
  for line in lines:
    match = _VERSION_RE.match(line)
    if match:
      version = DrbdVersion(int(match.group(1)), int(match.group(2)), int(match.group(3)),
                            int(match.group(4)), match.group(5))
      break
  if version is None:
    raise errors.BlockDeviceError("Can't parse %s: no DRBD version line" % PROC_DRBD)
  result = ProcStatus(version)
  current: Optional[MinorStatus] = None
  for line in lines:
    match = _MINOR_RE.match(line)
    if match:
      current = MinorStatus(int(match.group(1)), match.group(2))
      _ParseStateWords(current, match.group(3).split())
      result.minors[current.minor] = current
      continue
    if current is None:
      continue
    sync = _SYNC_RE.search(line)
    if sync:
      current.sync_percent = float(sync.group(1))
    finish = _FINISH_RE.search(line)
    if finish:
      hours, minutes, seconds = (int(finish.group(i)) for i in (1, 2, 3))
      current.est_seconds = hours * 3600 + minutes * 60 + seconds
      current.speed_kib = _Int(finish.group(4))
      if finish.group(6):
        current.want_speed_kib = _Int(finish.group(6))
  return result


def ReadProcDrbd(path: str = PROC_DRBD) -> ProcStatus:
  try:
    with open(path) as handle:
      text = handle.read()
  except OSError as err:
    raise errors.BlockDeviceError("Can't read %s (is the drbd module loaded?): %s" %
                                  (path, err)) from err
  return ParseProcDrbd(text)


# --- drbdsetup show --------------------------------------------------------------------

_TOKEN_RE = re.compile(r'\s*(?:#[^\n]*|("(?:[^"\\]|\\.)*")|([{};])|([^\s{};"#]+))')


def _Tokens(text: str) -> list[str]:
  tokens = []
  position = 0
  while position < len(text):
    match = _TOKEN_RE.match(text, position)
    if match is None or match.end() == position:
      if text[position:].strip():
        raise errors.BlockDeviceError("Can't parse drbdsetup show output near %r" %
                                      text[position:position + 30])
      break
    position = match.end()
    quoted, punct, word = match.groups()
    if quoted is not None:
      tokens.append(quoted[1:-1].replace('\\"', '"'))
    elif punct is not None or word is not None:
      tokens.append(punct or word)
  return tokens


def ParseShowTree(text: str) -> list[tuple[list[str], Any]]:
  """The configuration as a tree: [(words, value)], where value is a subtree for
  a section ("words {...}") and None for a statement ("words;")."""
  tokens = _Tokens(text)
  position = 0

  def _Block(nested: bool) -> list[tuple[list[str], Any]]:
    nonlocal position
    items: list[tuple[list[str], Any]] = []
    words: list[str] = []
    while position < len(tokens):
      token = tokens[position]
      position += 1
      if token == "{":
        items.append((words, _Block(True)))
        words = []
      elif token == "}":
        if not nested or words:
          raise errors.BlockDeviceError("Can't parse drbdsetup show output: unexpected '}'")
        return items
      elif token == ";":
        items.append((words, None))
        words = []
      else:
        words.append(token)
    if nested or words:
      raise errors.BlockDeviceError("Can't parse drbdsetup show output: a section or"
                                    " statement is not closed")
    return items

  return _Block(False)


@dataclass
class ShowInfo:
  """What matters of a minor's configuration (None: not configured)."""
  local_dev: Optional[str] = None
  meta_dev: Optional[str] = None
  meta_index: Optional[str] = None
  local_addr: Optional[tuple[str, int]] = None
  remote_addr: Optional[tuple[str, int]] = None
  protocol: Optional[str] = None
  options: dict[str, str] = field(default_factory=dict)


def _Endpoint(words: list[str]) -> tuple[str, int]:
  # "address ipv4 192.0.2.1:11000" or "address ipv6 [2001:db8::1]:11000"
  endpoint = words[-1]
  host, _, port = endpoint.rpartition(":")
  try:
    return host.strip("[]"), int(port)
  except ValueError:
    raise errors.BlockDeviceError("Invalid DRBD address '%s'" % endpoint) from None


def _Collect(info: ShowInfo, items: list[tuple[list[str], Any]], remote: bool) -> None:
  for words, value in items:
    if not words:
      continue
    name = words[0]
    if value is not None:
      _Collect(info, value, remote or name == "_remote_host")
    elif name == "address":
      if remote:
        info.remote_addr = _Endpoint(words)
      else:
        info.local_addr = _Endpoint(words)
    elif name == "disk" and len(words) > 1:
      info.local_dev = words[1]
    elif name == "meta-disk" and len(words) > 1:
      info.meta_dev = words[1]
      # external metadata reads: meta-disk "/dev/x" [ 0 ];
      info.meta_index = words[3] if len(words) > 3 and words[2] == "[" else None
    elif name == "protocol" and len(words) > 1:
      info.protocol = words[1]
    elif len(words) > 1:
      info.options[name] = words[1]


def ParseShow(text: str) -> ShowInfo:
  """The devices, endpoints and options of a minor from `drbdsetup show` output."""
  info = ShowInfo()
  _Collect(info, ParseShowTree(text), False)
  return info
