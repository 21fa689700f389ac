"""An opcode's first change waits until its start is durable.

A job's "running" state must be on the master's disk and on the candidates'
before its opcode changes anything: a master that found the job still queued
after a crash (or a failover) would run it a second time.  Writing that state
takes a few round trips, so it is not waited for when the opcode starts:
checking prerequisites, the pre hooks and whatever the opcode only looks at
(replace-disks checks every disk and volume group first) overlap it.  The
layers an opcode changes things through (node calls other than queries,
configuration saves, jobs submitted for it) call BeforeChange first; only
the first call in the opcode's thread waits.  (The one file a logical unit
writes on the master itself, known_hosts in a cluster rename, is written
after a configuration save.)
"""

import threading
from typing import Callable

_held = threading.local()


def HoldUntil(wait: Callable[[], None]) -> None:
  """From now on, the first change made by this thread calls wait() first."""
  _held.wait = wait


def Drop() -> None:
  """This thread's changes are held back no more (its opcode is over)."""
  _held.wait = None


def BeforeChange() -> None:
  """Waits, if this thread's first change is held back; raises what the wait
  raises (the change must then not happen, nor any later one)."""
  wait = getattr(_held, "wait", None)
  if wait is not None:
    wait()
    _held.wait = None
