"""The logical-unit framework.

A logical unit (LU) implements one opcode in steps the processor drives:
CheckArguments (in the constructor), ExpandNames (set needed_locks per
level), DeclareLocks (refine a level just before it is acquired), CheckPrereq
(with the locks held), hooks, Exec.
"""

from typing import Any, Optional

from ganeti import errors
from ganeti import locking


class LogicalUnit:
  """Base of all logical units."""

  HPATH: Optional[str] = None   # hooks directory prefix; None = no hooks
  HTYPE: Optional[str] = None   # GANETI_OBJECT_TYPE for hooks
  REQ_BGL = True                # whether the BGL is taken exclusively

  def __init__(self, processor: Any, op: Any, context: Any) -> None:
    self.proc = processor
    self.op = op
    self.context = context
    self.cfg = context.cfg
    self.glm = context.glm
    self.rpc = context.rpc
    self.needed_locks: Optional[dict[int, Any]] = None
    self.share_locks: dict[int, int] = dict.fromkeys(locking.LEVELS, 0)
    # level -> names of locks to create (owned exclusively) for new objects,
    # and to delete once Exec succeeded for removed ones
    self.add_locks: dict[int, list[str]] = {}
    self.remove_locks: dict[int, list[str]] = {}
    self.dry_run_result: Any = None
    self.LogInfo = processor.LogInfo
    self.LogWarning = processor.LogWarning
    self.LogStep = processor.LogStep
    self.CheckArguments()

  def CheckArguments(self) -> None:
    """Checks the opcode's arguments before any lock is taken."""

  def ExpandNames(self) -> None:
    """Resolves names and fills needed_locks; the default needs no locks."""
    self.needed_locks = {}

  def DeclareLocks(self, level: int) -> None:
    """Adjusts needed_locks[level] once the levels before it are held."""

  def CheckPrereq(self) -> None:
    """Verifies that the operation can run, with its locks held."""

  def BuildHooksEnv(self) -> dict[str, Any]:
    return {}

  def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
    """(pre-phase nodes, post-phase nodes), as node uuids."""
    return [], []

  def Exec(self, feedback_fn: Any) -> Any:
    raise NotImplementedError

  def HooksCallBack(self, phase: str, hooks_results: dict, feedback_fn: Any,
                    lu_result: Any) -> Any:
    """Sees a hooks phase's results (node name -> results or error text);
    returns the opcode's result (by default unchanged)."""
    del phase, hooks_results, feedback_fn
    return lu_result

  def ShareAll(self) -> None:
    self.share_locks = dict.fromkeys(locking.LEVELS, 1)

  def MasterNodeHooks(self) -> tuple[list[str], list[str]]:
    master = self.cfg.GetMasterNode()
    return [master], [master]


class ResultWithJobs:
  """What an LU returns to have more jobs submitted on its behalf.

  jobs is a list of jobs, each a list of opcodes; the opcode's result becomes
  {"jobs": [[success, job id or error], ...], **other}.
  """

  def __init__(self, jobs: list[list[Any]], **other: Any) -> None:
    self.jobs = jobs
    self.other = other


class NoHooksLU(LogicalUnit):
  """A logical unit that runs no hooks."""

  HPATH = None
  HTYPE = None


def CheckNodeUuidsExist(cfg: Any, names: list[str]) -> list[str]:
  """Node uuids for node names (or uuids); unknown ones are refused."""
  uuids = []
  for name in names:
    node = cfg.GetNodeInfoByName(name) or cfg.GetNodeInfo(name)
    if node is None:
      raise errors.OpPrereqError("Node '%s' not known" % name, errors.ECODE_NOENT)
    uuids.append(node.uuid)
  return uuids
