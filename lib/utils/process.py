"""Running programs without a shell: the result of a finished command, and
the runner every node-side caller shares (it never raises because a program
could not start or timed out; the result says so)."""

import subprocess
from typing import Optional, Sequence

from ganeti.utils import cmdtrace
from ganeti.utils import io


class CommandResult:
  """Exit status and output of a finished command."""

  def __init__(self, argv: Sequence[str], exit_code: Optional[int], stdout: str,
               stderr: str, fail_reason: Optional[str] = None) -> None:
    self.argv = list(argv)
    self.exit_code = exit_code
    self.stdout = stdout
    self.stderr = stderr
    self.fail_reason = fail_reason

  @property
  def failed(self) -> bool:
    return self.exit_code != 0

  @property
  def output(self) -> str:
    return self.stdout + self.stderr

  def Describe(self) -> str:
    """Why the command failed, with its output, for error messages."""
    reason = self.fail_reason or "exited with status %s" % self.exit_code
    text = self.output.strip()
    return "%s %s%s" % (self.argv[0], reason, "; output: " + text if text else "")


def RunCommand(argv: Sequence[str], env: Optional[dict[str, str]] = None,
               timeout: Optional[float] = None, cwd: str = "/",
               input_text: Optional[str] = None) -> CommandResult:
  """Runs a command without a shell; never raises for failures to start it."""
  with cmdtrace.Span("cmd", list(argv)) as traced:
    result = _Run(argv, env, timeout, cwd, input_text)
    traced.ok = not result.failed
  return result


def _Run(argv: Sequence[str], env: Optional[dict[str, str]], timeout: Optional[float],
         cwd: str, input_text: Optional[str]) -> CommandResult:
  try:
    proc = subprocess.run(list(argv), env=env, cwd=cwd, input=input_text,
                          stdin=None if input_text is not None else subprocess.DEVNULL,
                          capture_output=True, text=True, errors="replace",
                          timeout=timeout, check=False)
  except subprocess.TimeoutExpired as err:
    return CommandResult(argv, None, _text(err.stdout), _text(err.stderr),
                         "timed out after %s seconds" % timeout)
  except OSError as err:
    return CommandResult(argv, None, "", "", "could not be run: %s" % err)
  return CommandResult(argv, proc.returncode, proc.stdout, proc.stderr)


def _text(data) -> str:
  if data is None:
    return ""
  return data.decode("utf-8", "replace") if isinstance(data, bytes) else data


def StatFields(pid: int) -> Optional[list[str]]:
  """The fields of /proc/PID/stat after the command name (the first is the
  state letter, Z for a zombie); None once the process is gone."""
  text = io.TryReadFile("/proc/%d/stat" % pid)
  return None if text is None else text.rpartition(")")[2].split()


def HasExited(pid: int) -> bool:
  """Whether the process is gone or a zombie (exited, not yet reaped)."""
  return (StatFields(pid) or ["Z"])[0] == "Z"
