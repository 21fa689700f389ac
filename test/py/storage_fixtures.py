"""Storage for tests: a working ExtStorage provider whose volumes are sparse
files in one store directory (the "external storage" every node reaches),
logging every call with the VOL_* and EXTP_* variables it got; and loop
devices over files, to adopt."""

import contextlib
import os
import subprocess
from typing import Iterator

import pytest

_COMMON = """#!/bin/sh
STORE=%(store)s
VOL="$STORE/$VOL_NAME"
echo "$(basename "$0") $(env | grep -E '^(VOL|EXTP)_' | sort | tr '\\n' ' ')" >> "$STORE/calls.log"
"""

_ACTIONS = {
  "create": 'test ! -e "$VOL" || { echo "volume $VOL_NAME exists" >&2; exit 1; }\n'
            'truncate -s "${VOL_SIZE}M" "$VOL"\n',
  "attach": 'test -e "$VOL" || { echo "no volume $VOL_NAME" >&2; exit 1; }\n'
            'echo "$VOL"\necho "kvm:file:$VOL"\n',
  "detach": "exit 0\n",
  "remove": 'rm -f "$VOL" "$VOL.info"\n',
  "grow": 'test "$VOL_NEW_SIZE" -gt "$VOL_SIZE" || exit 1\ntruncate -s "${VOL_NEW_SIZE}M" "$VOL"\n',
  "setinfo": 'echo "$VOL_METADATA" > "$VOL.info"\n',
  "verify": "exit 0\n",
  "snapshot": 'cp --sparse=always "$VOL" "$STORE/$VOL_SNAPSHOT_NAME"\n',
  "open": "exit 0\n",
  "close": "exit 0\n",
}


def WriteProvider(directory: str, store: str, fail: tuple = ()) -> None:
  """Writes the provider's programs into directory; actions in fail exit 1."""
  os.makedirs(directory, exist_ok=True)
  os.makedirs(store, exist_ok=True)
  for action, body in _ACTIONS.items():
    if action in fail:
      body = 'echo "%s refused by the test" >&2\nexit 1\n' % action
    path = os.path.join(directory, action)
    with open(path, "w") as handle:
      handle.write(_COMMON % {"store": store} + body)
    os.chmod(path, 0o755)
  with open(os.path.join(directory, "parameters.list"), "w") as handle:
    handle.write("tier storage tier of the volume\n")


def Calls(store: str) -> list[str]:
  """The logged calls, one line each ("action VAR=value ...")."""
  try:
    with open(os.path.join(store, "calls.log")) as handle:
      return handle.read().splitlines()
  except FileNotFoundError:
    return []


@contextlib.contextmanager
def LoopDevice(backing: str, content: bytes, size: int) -> Iterator[str]:
  """A loop device over a new file of size bytes starting with content;
  skips the test where no loop device can be set up."""
  with open(backing, "wb") as handle:
    handle.write(content)
    handle.truncate(size)
  proc = subprocess.run(["losetup", "--find", "--show", backing], capture_output=True,
                        text=True, check=False)
  if proc.returncode != 0:
    pytest.skip("no loop device: %s" % proc.stderr.strip())
  device = proc.stdout.strip()
  try:
    yield device
  finally:
    subprocess.run(["losetup", "-d", device], check=False)
