"""Logical units for tags on the cluster, node groups, nodes, instances and
networks."""

import re
from typing import Any

from ganeti import constants
from ganeti import errors
from ganeti import locking
from ganeti.cmdlib.base import NoHooksLU


def TagTarget(cfg: Any, kind: str, name: str) -> tuple[Any, int | None, str | None]:
  """The object that carries the tags, its lock level and lock name."""
  if kind == constants.TAG_CLUSTER:
    return cfg.GetClusterInfo(), None, None
  lookups = {
    constants.TAG_NODE: (cfg.GetNodeInfoByName, locking.LEVEL_NODE, "Node"),
    constants.TAG_INSTANCE: (cfg.GetInstanceInfoByName, locking.LEVEL_INSTANCE, "Instance"),
    constants.TAG_NODEGROUP: (cfg.LookupNodeGroupInfo, locking.LEVEL_NODEGROUP, "Node group"),
    constants.TAG_NETWORK: (cfg.LookupNetworkInfo, locking.LEVEL_NETWORK, "Network"),
  }
  if kind not in lookups:
    raise errors.ProgrammerError("Unhandled tag type '%s'" % kind)
  lookup, level, title = lookups[kind]
  obj = lookup(name) if name else None
  if obj is None:
    raise errors.OpPrereqError("%s '%s' not known" % (title, name), errors.ECODE_NOENT)
  lock_name = obj.name if kind == constants.TAG_INSTANCE else obj.uuid
  return obj, level, lock_name


class _TagsLU(NoHooksLU):
  REQ_BGL = False

  def ExpandNames(self) -> None:
    self.needed_locks = {}
    _, level, lock_name = TagTarget(self.cfg, self.op.kind, getattr(self.op, "name", None))
    if level is not None:
      self.needed_locks[level] = [lock_name]

  def CheckPrereq(self) -> None:
    self.target, _, _ = TagTarget(self.cfg, self.op.kind, getattr(self.op, "name", None))


class LUTagsGet(_TagsLU):
  def ExpandNames(self) -> None:
    super().ExpandNames()
    if not self.op.use_locking:
      self.needed_locks = {}
    self.ShareAll()

  def Exec(self, feedback_fn: Any) -> list[str]:
    return sorted(self.target.GetTags())


class LUTagsSet(_TagsLU):
  def CheckPrereq(self) -> None:
    super().CheckPrereq()
    for tag in self.op.tags:
      self.target.ValidateTag(tag)
    if len(set(self.target.GetTags()) | set(self.op.tags)) > constants.MAX_TAGS_PER_OBJ:
      raise errors.OpPrereqError("Too many tags", errors.ECODE_INVAL)

  def Exec(self, feedback_fn: Any) -> None:
    for tag in self.op.tags:
      self.target.AddTag(tag)
    self.cfg.Update(self.target, feedback_fn)


class LUTagsDel(_TagsLU):
  def CheckPrereq(self) -> None:
    super().CheckPrereq()
    for tag in self.op.tags:
      self.target.ValidateTag(tag)
    missing = sorted(set(self.op.tags) - set(self.target.GetTags()))
    if missing:
      raise errors.OpPrereqError("Tag(s) %s not found" % ", ".join("'%s'" % t for t in missing),
                                 errors.ECODE_NOENT)

  def Exec(self, feedback_fn: Any) -> None:
    for tag in self.op.tags:
      self.target.RemoveTag(tag)
    self.cfg.Update(self.target, feedback_fn)


class LUTagsSearch(NoHooksLU):
  REQ_BGL = False

  def ExpandNames(self) -> None:
    self.needed_locks = {}

  def CheckPrereq(self) -> None:
    try:
      self.regex = re.compile(self.op.pattern)
    except re.error as err:
      raise errors.OpPrereqError("Invalid search pattern '%s': %s" % (self.op.pattern, err),
                                 errors.ECODE_INVAL) from err

  def Exec(self, feedback_fn: Any) -> list[tuple[str, str]]:
    cfg = self.cfg
    targets = [("/cluster", cfg.GetClusterInfo())]
    targets += [("/instances/%s" % i.name, i) for i in cfg.GetAllInstancesInfo().values()]
    targets += [("/nodes/%s" % n.name, n) for n in cfg.GetAllNodesInfo().values()]
    targets += [("/nodegroup/%s" % g.name, g) for g in cfg.GetAllNodeGroupsInfo().values()]
    targets += [("/networks/%s" % n.name, n) for n in cfg.GetAllNetworksInfo().values()]
    return [(path, tag) for path, obj in targets for tag in sorted(obj.GetTags())
            if self.regex.search(tag)]
