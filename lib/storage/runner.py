"""Running the storage tools (lvm2, drbd-utils) of a node.

Every storage command goes through a ToolRunner, so one place decides the
environment the tools see.  A runner can add fixed arguments after the
tool's name (tests give lvm2 a --config that confines it to their own
physical volumes and disables activation).
"""

import os
from typing import Optional, Sequence

from ganeti import errors
from ganeti.utils import process

_TOOL_ENV = {"PATH": "/sbin:/bin:/usr/sbin:/usr/bin", "LC_ALL": "C",
             "LVM_SUPPRESS_FD_WARNINGS": "1"}
_TIMEOUT = 300
# tools that only report; every other command may change what they report
REPORT_TOOLS = frozenset(["lvs", "vgs", "pvs"])
_changes = 0


def Changes() -> int:
  """How many commands that may change storage state have run so far."""
  return _changes


class ToolResult(process.CommandResult):
  """How a storage command ended (exit code None: it did not run)."""

  def Describe(self) -> str:
    """Why the command failed, with the tool's own words."""
    reason = self.fail_reason or "exited with code %s" % self.exit_code
    lines = (self.stderr.strip() or self.stdout.strip()).splitlines()
    output = "; ".join(line.strip() for line in lines if line.strip())
    return "%s: %s%s" % (self.argv[0], reason, ("; " + output) if output else "")

  def Error(self, what: str) -> errors.BlockDeviceError:
    """The error for a failed command, naming what was attempted."""
    return errors.BlockDeviceError("%s failed (%s)" % (what, self.Describe()))


class ToolRunner:
  """Runs storage tools; extra_args[tool] is inserted right after the tool's name."""

  def __init__(self, extra_args: Optional[dict[str, Sequence[str]]] = None,
               env: Optional[dict[str, str]] = None) -> None:
    self.extra_args = dict(extra_args or {})
    self.env = dict(_TOOL_ENV, **(env or {}))

  def Run(self, argv: Sequence[str], env: Optional[dict[str, str]] = None,
          cwd: str = "/") -> ToolResult:
    """Runs a tool; env adds to the tools' environment (it does not replace it)."""
    global _changes
    changing = argv[0] not in REPORT_TOOLS
    if changing:
      _changes += 1
    full = [argv[0]] + list(self.extra_args.get(argv[0], ())) + list(argv[1:])
    result = process.RunCommand(full, env=dict(self.env, **(env or {})), timeout=_TIMEOUT,
                                cwd=cwd)
    if changing:
      # and again once it is done: a listing another thread made meanwhile
      # may not show what it changed
      _changes += 1
    # reported under the command as the storage code wrote it
    return ToolResult(argv, result.exit_code, result.stdout, result.stderr,
                      result.fail_reason)

  def RunOrFail(self, argv: Sequence[str], what: str, env: Optional[dict[str, str]] = None,
                cwd: str = "/") -> ToolResult:
    """Runs a command; BlockDeviceError naming what was attempted if it fails."""
    result = self.Run(argv, env, cwd)
    if result.failed:
      raise result.Error(what)
    return result


# The runner the storage classes use; tests replace it
RUNNER = ToolRunner()


def SetRunner(runner: ToolRunner) -> ToolRunner:
  """Makes runner the one in use; returns the previous one."""
  global RUNNER
  previous, RUNNER = RUNNER, runner
  return previous


def DeviceSize(path: str) -> int:
  """The size in bytes of a block device (or of a regular file standing in for one)."""
  if os.path.isfile(path):
    return os.stat(path).st_size
  result = RUNNER.RunOrFail(["blockdev", "--getsize64", path], "Reading the size of %s" % path)
  try:
    return int(result.stdout.strip())
  except ValueError:
    raise errors.BlockDeviceError("Invalid size %r of %s" % (result.stdout.strip(),
                                                             path)) from None
