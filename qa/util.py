"""Small helpers the QA cluster modules share: commands, timing, bounded waits."""

import subprocess
import sys
import time
from typing import Callable, Optional, Sequence


class QAError(Exception):
  """A QA cluster operation failed; the message says what and why."""


def Log(message: str) -> None:
  print("[qa %s] %s" % (time.strftime("%H:%M:%S"), message), file=sys.stderr, flush=True)


def Run(argv: Sequence[str], stdin: Optional[bytes] = None, env: Optional[dict] = None,
        timeout: float = 600, check: bool = True,
        cwd: Optional[str] = None) -> subprocess.CompletedProcess:
  """Runs a host command; QAError with its output when it fails and check is set."""
  try:
    result = subprocess.run(list(argv), input=stdin, capture_output=True, env=env,
                            timeout=timeout, cwd=cwd)
  except subprocess.TimeoutExpired as err:
    raise QAError("%s: no answer within %ds" % (" ".join(argv), timeout)) from err
  if check:
    CheckResult(argv, result)
  return result


def CheckResult(argv: Sequence[str], result: subprocess.CompletedProcess) -> None:
  """QAError with the command's output when it failed."""
  if result.returncode != 0:
    output = (result.stderr or result.stdout).decode(errors="replace").strip()
    raise QAError("%s failed (exit %d): %s" % (" ".join(argv), result.returncode,
                                              output[-2000:]))


def WaitFor(what: str, probe: Callable[[], bool], timeout: float,
            interval: float = 1.0) -> float:
  """Calls probe until it returns True; the seconds waited, QAError after timeout."""
  start = time.monotonic()
  while True:
    if probe():
      return time.monotonic() - start
    if time.monotonic() - start > timeout:
      raise QAError("%s: not ready after %ds" % (what, timeout))
    time.sleep(interval)


class Timer:
  """Named durations in the order they were measured (the run's timing table)."""

  def __init__(self) -> None:
    self.entries: list[tuple[str, float]] = []

  def Measure(self, name: str, func: Callable, *args, **kwargs):
    start = time.monotonic()
    try:
      return func(*args, **kwargs)
    finally:
      self.entries.append((name, time.monotonic() - start))

  def Table(self) -> str:
    width = max([len(name) for name, _ in self.entries] + [4])
    return "\n".join("%-*s %8.1f s" % (width, name, seconds)
                     for name, seconds in self.entries)
