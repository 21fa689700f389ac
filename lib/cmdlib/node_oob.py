"""Out-of-band management of nodes (gnt-node power and health).

A node whose oob_program parameter is set can be powered on, off or cycled
and asked for its power state and health by that program, which runs on the
master (`PROGRAM COMMAND NODE-NAME`) and answers in JSON on its standard
output.  The master itself is never powered off or cycled this way: it
would take the cluster's only copy of the running job with it.
"""

import logging
import time
from typing import Any, Optional

from ganeti import constants
from ganeti import errors
from ganeti import locking
from ganeti import paramdefs
from ganeti import serializer
from ganeti.cmdlib.base import NoHooksLU
from ganeti.cmdlib.node import ExpandNode
from ganeti.utils.text import NiceSortKey

# commands that would take the master down with them
_NOT_ON_MASTER = frozenset([constants.OOB_POWER_OFF, constants.OOB_POWER_CYCLE])


def OobProgram(cfg: Any, node: Any) -> Optional[str]:
  """The node's out-of-band program, None where it has none."""
  return cfg.GetNdParams(node).get(paramdefs.ND_OOB_PROGRAM) or None


def _IsHealthList(payload: Any) -> bool:
  return isinstance(payload, list) and all(
    isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)
    and entry[1] in constants.OOB_STATUSES for entry in payload)


def CheckPayload(command: str, payload: Any) -> None:
  """Refuses an answer of an out-of-band program that its command does not
  allow (OpExecError naming what was wrong)."""
  if command == constants.OOB_POWER_STATUS:
    if not (isinstance(payload, dict)
            and isinstance(payload.get(constants.OOB_POWER_STATUS_POWERED), bool)):
      raise errors.OpExecError("power-status is expected to return a dict with the boolean"
                               " key '%s', got %r" % (constants.OOB_POWER_STATUS_POWERED,
                                                      payload))
  elif command == constants.OOB_HEALTH:
    if not _IsHealthList(payload):
      raise errors.OpExecError("health is expected to return a list of [item, status]"
                               " pairs with a status of %s, got %r" %
                               (", ".join(sorted(constants.OOB_STATUSES)), payload))
  elif payload is not None:
    raise errors.OpExecError("%s is expected to return nothing, got %r" % (command, payload))


class LUOobCommand(NoHooksLU):
  """Runs an out-of-band command for nodes; per node [(status, name), (status, answer)]."""

  REQ_BGL = False

  def ExpandNames(self) -> None:
    master_uuid = self.cfg.GetMasterNode()
    if self.op.node_names:
      self.op.node_uuids = [ExpandNode(self.cfg, name)[0] for name in self.op.node_names]
      if self.op.command in _NOT_ON_MASTER and master_uuid in self.op.node_uuids:
        master = self.cfg.GetNodeInfo(master_uuid)
        program = OobProgram(self.cfg, master)
        if program:
          hint = ("run '%s %s %s' if you want to operate on the master regardless" %
                  (program, self.op.command, master.name))
        else:
          hint = "it does not support out-of-band operations"
        raise errors.OpPrereqError("Operating on the master node %s is not allowed for %s;"
                                   " %s" % (master.name, self.op.command, hint),
                                   errors.ECODE_INVAL)
    else:
      self.op.node_uuids = [uuid for uuid in self.cfg.GetNodeList()
                            if not (self.op.command in _NOT_ON_MASTER
                                    and uuid == master_uuid)]
    lock_exclusively = self.op.command != constants.OOB_HEALTH
    self.needed_locks = {locking.LEVEL_NODE: list(self.op.node_uuids)}
    self.share_locks[locking.LEVEL_NODE] = 0 if lock_exclusively else 1

  def CheckPrereq(self) -> None:
    self.nodes = sorted((self.cfg.GetNodeInfo(uuid) for uuid in self.op.node_uuids),
                        key=lambda node: NiceSortKey(node.name))
    if self.op.command == constants.OOB_POWER_OFF and not self.op.ignore_status:
      for node in self.nodes:
        if not node.offline:
          raise errors.OpPrereqError("Cannot power off node %s because it is not marked"
                                     " offline" % node.name, errors.ECODE_STATE)

  def _Run(self, node: Any, program: str) -> tuple[bool, Any]:
    """(whether the program answered well, its answer) for node; a failure is
    logged as a warning."""
    result = self.rpc.call_run_oob(self.cfg.GetMasterNode(), program, self.op.command,
                                   node.name, self.op.timeout)
    if result.fail_msg:
      self.LogWarning("Out-of-band RPC failed on node '%s': %s", node.name, result.fail_msg)
      return False, None
    try:
      payload = serializer.LoadJson(result.payload) if result.payload.strip() else None
      CheckPayload(self.op.command, payload)
    except (ValueError, errors.OpExecError) as err:
      self.LogWarning("Payload returned by node '%s' is not valid: %s", node.name, err)
      return False, None
    return True, payload

  def _Record(self, node: Any, payload: Any, feedback_fn: Any) -> None:
    """Notes what the answer says about the node: its power state, its health."""
    command = self.op.command
    if command == constants.OOB_HEALTH:
      for item, status in payload:
        if status in (constants.OOB_STATUS_WARNING, constants.OOB_STATUS_CRITICAL):
          self.LogWarning("Item '%s' on node '%s' has status '%s'", item, node.name, status)
      return
    if command == constants.OOB_POWER_STATUS:
      powered = payload[constants.OOB_POWER_STATUS_POWERED]
    elif command in (constants.OOB_POWER_ON, constants.OOB_POWER_OFF):
      powered = command == constants.OOB_POWER_ON
    else:
      return
    if node.powered != powered:
      if command == constants.OOB_POWER_STATUS:
        logging.warning("Node %s was recorded as %spowered, its out-of-band program"
                        " says otherwise", node.name, "" if node.powered else "not ")
      node.powered = powered
      self.cfg.Update(node, feedback_fn)

  def Exec(self, feedback_fn: Any) -> list:
    rows = []
    for index, node in enumerate(self.nodes):
      row: list = [(constants.RS_NORMAL, node.name)]
      rows.append(row)
      program = OobProgram(self.cfg, node)
      if program is None:
        row.append((constants.RS_UNAVAIL, None))
        continue
      logging.info("Running out-of-band command '%s' for node %s", self.op.command,
                   node.name)
      answered, payload = self._Run(node, program)
      if not answered:
        row.append((constants.RS_NODATA, None))
        continue
      self._Record(node, payload, feedback_fn)
      row.append((constants.RS_NORMAL, payload))
      if self.op.command == constants.OOB_POWER_ON and index < len(self.nodes) - 1:
        # power supplies do not like every machine starting at once
        time.sleep(self.op.power_delay)
    return rows
