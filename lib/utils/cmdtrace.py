"""A trace of what a node daemon runs: commands, QMP requests and RPC calls.

Off unless a daemon is started with --command-trace FILE.  Each finished
item appends one JSON line to FILE: {"kind": "cmd" | "qmp" | "wait" | "rpc",
"what": argv list, QMP command and arguments, what was waited for (a DRBD
device reaching its peer, an instance's qemu ending), or the RPC call's
name, "start": wall clock seconds, "seconds": how long it took, "ok":
whether it succeeded}.
Benchmarks read it to know the exact command sequence behind an operation
and how long each command took (the floor an operation cannot beat).
"""

import contextlib
import json
import os
import subprocess
import time
from typing import Any, Iterator, Optional

_path: Optional[str] = None


def Enable(path: Optional[str]) -> None:
  """Starts tracing to path (None: stops)."""
  global _path
  _path = path


def Enabled() -> bool:
  return _path is not None


def Record(kind: str, what: Any, start: float, seconds: float, ok: bool) -> None:
  """Appends one finished item; one write per line, so concurrent callers
  (threads of the daemon) never interleave within a line."""
  if _path is None:
    return
  line = json.dumps({"kind": kind, "what": what, "start": round(start, 6),
                     "seconds": round(seconds, 6), "ok": ok}) + "\n"
  try:
    fd = os.open(_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
  except OSError:
    return  # a trace must never make the traced work fail
  try:
    os.write(fd, line.encode())
  finally:
    os.close(fd)


class _Outcome:
  """What the traced block reports about itself (failed by default on errors)."""

  def __init__(self) -> None:
    self.ok = True


@contextlib.contextmanager
def Span(kind: str, what: Any) -> Iterator[_Outcome]:
  """Traces the block's duration; set outcome.ok = False for a failure that
  does not raise."""
  outcome = _Outcome()
  if _path is None:
    yield outcome
    return
  wall, start = time.time(), time.monotonic()
  try:
    yield outcome
  except BaseException:
    outcome.ok = False
    raise
  finally:
    Record(kind, what, wall, time.monotonic() - start, outcome.ok)


def RunProcess(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess:
  """subprocess.run(argv, check=False, **kwargs) traced as a command that
  succeeded if it exited with 0 (exceptions propagate, traced as failures)."""
  with Span("cmd", list(argv)) as traced:
    proc = subprocess.run(list(argv), check=False, **kwargs)
    traced.ok = proc.returncode == 0
  return proc


def Load(text: str) -> list[dict]:
  """The items of a trace file's text, skipping a torn last line."""
  items = []
  for line in text.splitlines():
    try:
      items.append(json.loads(line))
    except ValueError:
      continue
  return items
