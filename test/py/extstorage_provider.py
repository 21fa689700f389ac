"""A working ExtStorage provider for tests: volumes are sparse files in one
store directory (the "external storage" every node reaches), and every call
is logged with the VOL_* and EXTP_* variables it got."""

import os

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
