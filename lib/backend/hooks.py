"""Running hook scripts on a node.

Hooks live in <hooks dir>/<path>-<phase>.d/; every executable file whose name
is made of letters, digits, "_" and "-" runs in name order, with the
environment the master built, and its status and output are reported back.
"""

import os
import re
import subprocess

from ganeti import constants
from ganeti import pathutils
from ganeti.backend.common import Fail
from ganeti.utils import cmdtrace

_VALID_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
HOOK_TIMEOUT = 3600


def RunHooks(hpath: str, phase: str, env: dict[str, str],
             base_dir: str | None = None) -> list[tuple[str, int, str]]:
  """Runs the hooks of one path and phase; returns (script, HKR_*, output)."""
  directory = os.path.join(base_dir or pathutils.HOOKS_BASE_DIR, "%s-%s.d" % (hpath, phase))
  try:
    names = sorted(os.listdir(directory))
  except FileNotFoundError:
    return []
  results = []
  for name in names:
    path = os.path.join(directory, name)
    relname = "%s/%s" % (os.path.basename(directory), name)
    if not (_VALID_NAME.match(name) and os.path.isfile(path) and os.access(path, os.X_OK)):
      results.append((relname, constants.HKR_SKIP, ""))
      continue
    try:
      proc = cmdtrace.RunProcess([path], env=env, cwd="/", stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 timeout=HOOK_TIMEOUT)
      status = constants.HKR_SUCCESS if proc.returncode == 0 else constants.HKR_FAIL
      output = proc.stdout.decode("utf-8", "replace")
    except (OSError, subprocess.TimeoutExpired) as err:
      status, output = constants.HKR_FAIL, str(err)
    results.append((relname, status, output))
  return results


def HooksRunner(hpath: str, phase: str, env: dict[str, str]) -> list[tuple[str, int, str]]:
  """The hooks_runner call: runs this node's hooks of one path and phase."""
  if phase not in (constants.HOOKS_PHASE_PRE, constants.HOOKS_PHASE_POST):
    Fail("Unknown hooks phase '%s'", phase)
  if not isinstance(hpath, str) or not _VALID_NAME.match(hpath):
    Fail("Invalid hooks path '%s'", hpath)
  if not isinstance(env, dict):
    Fail("Invalid hooks environment")
  return RunHooks(hpath, phase, {str(key): str(value) for key, value in env.items()})


CALLS = {
  "hooks_runner": HooksRunner,
}
