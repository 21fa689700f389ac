"""Job filter rules (gnt-filter): which queued jobs may start.

A rule has a priority (lower first), predicates and an action.  A rule
matches a job when all its predicates do:

  ["jobid", F]   F holds for the field "id" (the name "watermark" in F
                 stands for the rule's watermark: the last job id when the
                 rule was added)
  ["opcode", F]  F holds for some opcode of the job, its parameters as fields
  ["reason", F]  F holds for some entry of some opcode's reason trail, with
                 the fields "source", "reason" and "timestamp"

The first matching rule decides: ACCEPT runs the job, PAUSE keeps it queued,
REJECT cancels it, CONTINUE goes on to the next rule and [RATE_LIMIT, n]
runs the job only while fewer than n jobs it matched are running.
"""

import threading
import uuid as uuidlib
from typing import Any, Callable, Optional

from ganeti import constants
from ganeti import errors
from ganeti import objects
from ganeti.query import common as qcommon
from ganeti.query import qfilter

_PREDICATE_KINDS = (constants.JOBQUEUE_FILTER_PREDICATE_JOBID,
                    constants.JOBQUEUE_FILTER_PREDICATE_OPCODE,
                    constants.JOBQUEUE_FILTER_PREDICATE_REASON)
_SIMPLE_ACTIONS = (constants.JOBQUEUE_FILTER_ACTION_ACCEPT,
                   constants.JOBQUEUE_FILTER_ACTION_PAUSE,
                   constants.JOBQUEUE_FILTER_ACTION_REJECT,
                   constants.JOBQUEUE_FILTER_ACTION_CONTINUE)


def _field_set(names: list[str]) -> qcommon.FieldSet:
  """Fields reading the keys of a dict item."""
  return qcommon.FieldSet("filter-predicate", [
    qcommon.FieldDef(name, name, constants.QFT_OTHER, name,
                     lambda ctx, item, key=name: item.get(key)) for name in names])


_JOB_FIELDS = _field_set(["id"])
_REASON_FIELDS = _field_set(["source", "reason", "timestamp"])


def _replace_watermark(qfilter_value: Any, watermark: int) -> Any:
  if isinstance(qfilter_value, list):
    return [_replace_watermark(item, watermark) for item in qfilter_value]
  return watermark if qfilter_value == "watermark" else qfilter_value


def CheckRule(predicates: Any, action: Any) -> None:
  """Refuses malformed predicates or actions with Ganeti's error classes."""
  for predicate in predicates:
    if not (isinstance(predicate, list) and len(predicate) == 2
            and predicate[0] in _PREDICATE_KINDS):
      raise errors.OpPrereqError("Invalid filter predicate %r" % (predicate,), errors.ECODE_INVAL)
    qfilter.DecodeFilter(_replace_watermark(predicate[1], 0))
  rate_limit = (isinstance(action, list) and len(action) == 2
                and action[0] == constants.JOBQUEUE_FILTER_ACTION_RATE_LIMIT
                and isinstance(action[1], int) and action[1] >= 0)
  if action not in _SIMPLE_ACTIONS and not rate_limit:
    raise errors.OpPrereqError("Invalid filter action %r" % (action,), errors.ECODE_INVAL)


def _predicate_matches(kind: str, qfilter_value: Any, job: Any, watermark: int) -> bool:
  decoded = qfilter.DecodeFilter(_replace_watermark(qfilter_value, watermark))
  if kind == constants.JOBQUEUE_FILTER_PREDICATE_JOBID:
    return qfilter.Compile(decoded, _JOB_FIELDS)(None, {"id": job.id})
  if kind == constants.JOBQUEUE_FILTER_PREDICATE_OPCODE:
    for op in job.ops:
      data = op.input.__getstate__()
      if qfilter.Compile(decoded, _field_set(list(data)))(None, data):
        return True
    return False
  for op in job.ops:
    for source, reason, timestamp in getattr(op.input, "reason", None) or []:
      if qfilter.Compile(decoded, _REASON_FIELDS)(None, {"source": source, "reason": reason,
                                                         "timestamp": timestamp}):
        return True
  return False


class JobFilters:
  """The filter rules of the cluster (kept in the config) and their verdicts."""

  def __init__(self, cfg: Any) -> None:
    self._cfg = cfg
    self._lock = threading.Lock()
    self._rate_limited: dict[str, set[int]] = {}  # rule uuid -> running job ids
    self.on_change: Optional[Callable[[], None]] = None

  def Replace(self, rule_uuid: Optional[str], priority: int, predicates: list, action: Any,
              reason: list, watermark: int) -> str:
    CheckRule(predicates, action)
    rule = objects.Filter(uuid=rule_uuid or str(uuidlib.uuid4()), watermark=watermark,
                          priority=priority, predicates=predicates, action=action,
                          reason_trail=reason)
    self._cfg.AddFilter(rule, replace=True)
    self._changed()
    return rule.uuid

  def Delete(self, rule_uuid: str) -> None:
    if self._cfg.GetFilter(rule_uuid) is None:
      raise errors.OpPrereqError("Filter %s not found" % rule_uuid, errors.ECODE_NOENT)
    self._cfg.RemoveFilter(rule_uuid)
    self._changed()

  def _changed(self) -> None:
    if self.on_change is not None:
      self.on_change()

  def JobFinished(self, job_id: int) -> None:
    """Frees a rate-limit slot (the queue reschedules paused jobs then)."""
    with self._lock:
      freed = any(job_id in running for running in self._rate_limited.values())
      for running in self._rate_limited.values():
        running.discard(job_id)
    if freed:
      self._changed()

  def Action(self, job: Any) -> str:
    """ACCEPT, PAUSE or REJECT for a job about to start."""
    rules = sorted(self._cfg.GetFilters(), key=lambda rule: (rule.priority, rule.uuid))
    for rule in rules:
      if not all(_predicate_matches(kind, value, job, rule.watermark)
                 for kind, value in rule.predicates):
        continue
      action = rule.action
      if action == constants.JOBQUEUE_FILTER_ACTION_CONTINUE:
        continue
      if isinstance(action, list):
        with self._lock:
          running = self._rate_limited.setdefault(rule.uuid, set())
          if len(running) >= action[1]:
            return constants.JOBQUEUE_FILTER_ACTION_PAUSE
          running.add(job.id)
        return constants.JOBQUEUE_FILTER_ACTION_ACCEPT
      return action
    return constants.JOBQUEUE_FILTER_ACTION_ACCEPT
