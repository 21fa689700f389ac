"""Builds the hooks environment of a logical unit and runs its hooks.

Every hook sees GANETI_* variables: the hooks version and phase, the opcode,
the cluster and master names, the object type, plus the logical unit's own
variables (prefixed GANETI_, and GANETI_POST_ in the post phase).  Hooks run
on the nodes the logical unit names; a failed pre hook aborts the opcode,
failed post hooks are reported as warnings.
"""

from typing import Any, Optional

from ganeti import constants
from ganeti import errors
from ganeti import pathutils


class HooksMaster:
  """Runs the pre and post hooks of one logical unit."""

  def __init__(self, lu: Any) -> None:
    self.lu = lu
    self._pre_env: dict[str, str] = {}

  def _base_env(self, phase: str) -> dict[str, str]:
    lu = self.lu
    cfg = lu.cfg
    env = {
      "PATH": constants.HOOKS_PATH,
      "GANETI_HOOKS_VERSION": str(constants.HOOKS_VERSION),
      "GANETI_HOOKS_PHASE": phase,
      "GANETI_HOOKS_PATH": lu.HPATH,
      "GANETI_OP_CODE": lu.op.OP_ID,
      "GANETI_DATA_DIR": pathutils.DATA_DIR,
      "GANETI_CLUSTER": cfg.GetClusterName(),
      "GANETI_MASTER": cfg.GetMasterNodeName(),
    }
    if lu.HTYPE:
      env["GANETI_OBJECT_TYPE"] = lu.HTYPE
    return env

  def _lu_env(self, prefix: str) -> dict[str, str]:
    env = {}
    for key, value in (self.lu.BuildHooksEnv() or {}).items():
      env["%s%s" % (prefix, key)] = "" if value is None else str(value)
    return env

  def RunPhase(self, phase: str) -> Optional[dict[str, Any]]:
    """Runs one phase's hooks; returns node name -> results (or error text),
    None when the LU has no hooks."""
    lu = self.lu
    if not lu.HPATH:
      return None
    pre_nodes, post_nodes = lu.BuildHooksNodes()
    # a node named twice (the master is often one of the instance's) runs its
    # hooks once
    nodes = list(dict.fromkeys(pre_nodes if phase == constants.HOOKS_PHASE_PRE else post_nodes))
    if not nodes:
      return {}
    env = self._base_env(phase)
    if phase == constants.HOOKS_PHASE_PRE:
      self._pre_env = self._lu_env("GANETI_")
      env.update(self._pre_env)
    else:
      env.update(self._pre_env)
      env.update(self._lu_env("GANETI_POST_"))
    results = lu.context.run_hooks(nodes, lu.HPATH, phase, env)
    failures = []
    for node, node_result in results.items():
      if isinstance(node_result, str):
        lu.proc.LogWarning("Communication failure running hooks on %s: %s", node, node_result)
        continue
      for script, status, output in node_result:
        if status == constants.HKR_FAIL:
          failures.append((node, script, output))
    if not failures:
      return results
    if phase == constants.HOOKS_PHASE_PRE:
      lines = ["%s: script %s failed, output: %s" % item for item in failures]
      raise errors.HooksAbort("Hook failure\n" + "\n".join(lines))
    for node, script, output in failures:
      lu.proc.LogWarning("Post hook %s failed on %s: %s", script, node, output.strip())
    return results
