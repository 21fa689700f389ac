"""Query2: fields of every resource, filtering and the query replies.

The parts:
  common   field definitions (FieldDef), field sets, result status markers
  qfilter  filters received in list form: decoding, compilation, evaluation
  engine   Query (fields + filter applied to items) and QueryFields
  context  ConfigContext, what config-derived getters read
  jobs, nodes, groups, instances, networks, small (lock, filter, cluster,
  export, os)  the field sets
  oses     the items of OS queries, merged from the nodes' diagnoses

This module ties them to the master daemon: RunQuery, QueryFields and the
legacy calls (QueryJobs, QueryNodes, ...) read the master context's job
queue, lock manager and configuration.

Reply format of Query: {"fields": [{"name", "title", "kind", "doc"}, ...],
"data": [[[status, value], ...] per item]}, status RS_* (value None unless
RS_NORMAL).  A field name nobody knows gets kind "unknown" and RS_UNKNOWN.
"""

from typing import Any, Callable, Iterable, Optional

from ganeti import constants
from ganeti import errors
from ganeti import jstore
from ganeti.query import groups, instances, jobs, live, networks, nodes, oses, small
from ganeti.query.common import (DATA_CONFIG, DATA_CONSOLE, DATA_LIVE, NODATA, OFFLINE,
                                 UNAVAIL, FieldDef, FieldSet, NiceSortKey)
from ganeti.query.context import ConfigContext
from ganeti.query.engine import MissingItem, Query
from ganeti.query.engine import QueryFields as _QueryFieldsOf
from ganeti.query.qfilter import DecodeFilter, FilterDecodeError

__all__ = ["ConfigContext", "DATA_CONFIG", "DATA_CONSOLE", "DATA_LIVE", "FIELDSETS",
           "FieldDef", "FieldSet", "FilterDecodeError", "MissingItem", "NODATA", "OFFLINE",
           "Query", "UNAVAIL", "CheckLuxiResource", "CheckRequest", "GetFieldSet",
           "JobRows", "JobValues", "LegacyRows", "QueryFields", "RunQuery"]

FIELDSETS: dict[str, FieldSet] = {
  constants.QR_JOB: jobs.FIELDS,
  constants.QR_NODE: nodes.FIELDS,
  constants.QR_INSTANCE: instances.FIELDS,
  constants.QR_GROUP: groups.FIELDS,
  constants.QR_NETWORK: networks.FIELDS,
  constants.QR_LOCK: small.LOCK_FIELDS,
  constants.QR_FILTER: small.FILTER_FIELDS,
  constants.QR_CLUSTER: small.CLUSTER_FIELDS,
  constants.QR_EXPORT: small.EXPORT_FIELDS,
  constants.QR_OS: small.OS_FIELDS,
}

# How the query daemon names the resources it only answers through opcodes
_OPCODE_RESOURCE_NAMES = {constants.QR_CLUSTER: "QRCluster", constants.QR_OS: "QROs"}

# What "not found" messages call the resources looked up by name
_KIND_TITLES = {
  constants.QR_NODE: "Node",
  constants.QR_INSTANCE: "Instance",
  constants.QR_GROUP: "NodeGroup",
  constants.QR_NETWORK: "Network",
}

_LOCK_COLUMNS = ["name", "mode", "owner", "pending"]


def GetFieldSet(what: str) -> FieldSet:
  """The fields of a resource (constants.QR_*)."""
  fieldset = FIELDSETS.get(what)
  if fieldset is None:
    raise errors.ParameterError("Unknown query resource '%s'" % what)
  return fieldset


def CheckRequest(what: Any, qfilter: Any = None) -> None:
  """Checks the resource and filter of a Query or QueryFields request.

  @raise FilterDecodeError: with the detail the daemon reports; the LUXI
      server answers "Failed to parse request: Cannot convert value
      '<args>', error: <detail>"

  """
  if what not in FIELDSETS:
    raise FilterDecodeError("Can't parse value '%s' as neitherQueryTypeLuxi nor"
                            " QueryTypeOp" % what)
  DecodeFilter(qfilter)


def CheckLuxiResource(method: str, what: str) -> None:
  """Refuses, as Ganeti's query daemon does, resources only opcodes query.

  @param method: "Query" or "QueryFields"
  @raise errors.GenericError: for "cluster" and "os"

  """
  if what in _OPCODE_RESOURCE_NAMES:
    raise errors.GenericError("%s 'ItemTypeOpCode %s' not supported" %
                              (method, _OPCODE_RESOURCE_NAMES[what]))


def QueryFields(what: str, fields: Optional[list[str]]) -> dict:
  """The reply to QueryFields: definitions of fields (all if none given)."""
  return _QueryFieldsOf(GetFieldSet(what), fields)


# ---- item selection -------------------------------------------------------------

def _JobItems(queue: Any, names: Optional[list]) -> list:
  """Jobs of the queue, or the named ones (archived too; MissingItem if unknown)."""
  if names is None:
    return queue.GetJobs()
  job_ids = list(dict.fromkeys(jobs.ParseJobId(name) for name in names))
  found = queue.GetJobs(job_ids, include_archived=True)
  return [job if job is not None else MissingItem(job_id)
          for job_id, job in zip(job_ids, found)]


def _NameLookup(objects: dict) -> Callable[[str], Optional[tuple[Any, str]]]:
  """A function finding (object, full name) by a name, its first components or a uuid.

  A uuid finds the object but is no name of it, so it selects no row.
  """
  by_name = {obj.name: obj for obj in objects.values()}
  by_prefix: dict[str, list[str]] = {}  # leading components -> full names

  def lookup(name: str) -> Optional[tuple[Any, str]]:
    if name in by_name:
      return by_name[name], name
    if name in objects:
      return objects[name], name
    if not by_prefix:
      for full in by_name:
        labels = full.split(".")
        for count in range(1, len(labels)):
          by_prefix.setdefault(".".join(labels[:count]), []).append(full)
    matches = by_prefix.get(name, [])
    if len(matches) == 1:
      return by_name[matches[0]], matches[0]
    return None
  return lookup


def _SortedByName(objects: Iterable[Any]) -> list:
  return sorted(objects, key=lambda obj: NiceSortKey(obj.name))


def _ConfigItems(what: str, query: Query, objects: dict) -> tuple[list, Optional[list]]:
  """(items, name matches) of a query on config objects.

  Named items come in the order asked, each name once; names that match
  nothing are an error.
  """
  names = query.RequestedNames()
  if names is None or not all(isinstance(name, str) for name in names):
    return _SortedByName(objects.values()), None
  lookup = _NameLookup(objects)
  items, matches = [], []
  for name in names:
    found = lookup(name)
    if found is None:
      raise errors.OpPrereqError("%s name %s not found" % (_KIND_TITLES[what], name),
                                 errors.ECODE_NOENT)
    items.append(found[0])
    matches.append(found[1])
  return items, matches


def _ConfigObjects(what: str, ctx: ConfigContext) -> dict:
  return {
    constants.QR_NODE: ctx.nodes,
    constants.QR_INSTANCE: ctx.instances,
    constants.QR_GROUP: ctx.groups,
    constants.QR_NETWORK: ctx.networks,
  }[what]


def _ClusterItem(context: Any) -> small.ClusterItem:
  cfg = context.cfg
  return small.ClusterItem(cfg.GetClusterInfo(), cfg.GetMasterNodeName(),
                           jstore.IsDrained(), context.GetWatcherPause())


def RunQuery(context: Any, what: str, fields: list[str], qfilter: Any) -> dict:
  """The reply to a Query request, from the master daemon's context.

  context provides cfg (config.ConfigWriter), queue (jqueue.JobQueue), glm
  (the lock manager), GetWatcherPause() and rpc (node RPC, for live fields;
  without it live fields report RS_NODATA).
  """
  query = Query(GetFieldSet(what), fields, qfilter)
  ctx: Any = None
  name_matches = None
  if what == constants.QR_JOB:
    items = _JobItems(context.queue, query.RequestedNames())
  elif what == constants.QR_LOCK:
    items = [tuple(row) for row in context.glm.GetLockInfo(_LOCK_COLUMNS)]
  elif what == constants.QR_FILTER:
    items = sorted(context.cfg.GetAllFiltersInfo().values(), key=lambda rule: rule.uuid)
  elif what == constants.QR_CLUSTER:
    items = [_ClusterItem(context)]
  elif what == constants.QR_EXPORT:
    items = _ExportItems(context)
  elif what == constants.QR_OS:
    rpc = getattr(context, "rpc", None)
    items = [] if rpc is None else oses.OsItems(context.cfg, rpc, query.RequestedNames())
  else:
    ctx = ConfigContext.FromConfig(context.cfg)
    items, name_matches = _ConfigItems(what, query, _ConfigObjects(what, ctx))
    _AddLiveData(context, what, query, ctx, items)
  return query.Result(ctx, items, name_matches)


def _ExportItems(context: Any) -> list[tuple[str, Optional[str]]]:
  """(node name, export name) per export of every node; (node name, None) for
  a node that could not tell (no RPC, offline, no export directory)."""
  nodes = _SortedByName(context.cfg.GetAllNodesInfo().values())
  rpc = getattr(context, "rpc", None)
  if rpc is None:
    return [(node.name, None) for node in nodes]
  answers = rpc.call_export_list([node.uuid for node in nodes])
  items: list[tuple[str, Optional[str]]] = []
  for node in nodes:
    result = answers[node.uuid]
    if result.fail_msg:
      items.append((node.name, None))
    else:
      items.extend((node.name, name) for name in sorted(result.payload))
  return items


def _AddLiveData(context: Any, what: str, query: Query, ctx: ConfigContext,
                 items: list) -> None:
  """Adds to ctx the live data of the selected items, collected only when a
  field needs it (one RPC per node at most)."""
  rpc = getattr(context, "rpc", None)
  requested = query.RequestedData()
  # a console exists only for an instance running on its primary node
  wanted = DATA_LIVE in requested or (what == constants.QR_INSTANCE
                                      and DATA_CONSOLE in requested)
  if rpc is None or not wanted:
    return
  if what == constants.QR_NODE:
    ctx.live_nodes = live.NodeLiveData(context.cfg, rpc, context.cfg.GetNodeList())
  elif what == constants.QR_INSTANCE:
    data = live.InstanceLiveData(context.cfg, rpc, items)
    ctx.live_instances = data["live_instances"]
    ctx.bad_nodes = frozenset(data["bad_nodes"])
    if DATA_CONSOLE in requested:
      ctx.consoles = live.InstanceConsoles(context.cfg, items, ctx.live_instances)


def JobRows(queue: Any, job_ids: Optional[list], fields: list[str]) -> list[list]:
  """The reply to QueryJobs: value rows of the jobs (all live jobs if no IDs).

  An unknown job's row has its ID in the "id" field and None elsewhere.
  """
  query = Query(jobs.FIELDS, fields)
  return query.OldStyleQuery(None, _JobItems(queue, job_ids or None))


def JobValues(job: Any, fields: list[str]) -> list:
  """The values of fields of one job (WaitForJobChange)."""
  return Query(jobs.FIELDS, fields).OldStyleQuery(None, [job])[0]


def LegacyRows(context: Any, what: str, names: Optional[list], fields: list[str]) -> list:
  """The reply to QueryNodes, QueryInstances, QueryGroups, QueryNetworks and
  QueryFilters: value rows sorted by name; names nothing matches are skipped.
  """
  query = Query(GetFieldSet(what), fields)
  if what == constants.QR_FILTER:
    rules = context.cfg.GetAllFiltersInfo()
    wanted = rules.keys() & set(names) if names else rules.keys()
    return query.OldStyleQuery(None, [rules[uuid] for uuid in sorted(wanted)])
  ctx = ConfigContext.FromConfig(context.cfg)
  objects = _ConfigObjects(what, ctx)
  if names:
    found = map(_NameLookup(objects), names)
    selected = {id(match[0]): match[0] for match in found if match is not None}
    items = _SortedByName(selected.values())
  else:
    items = _SortedByName(objects.values())
  _AddLiveData(context, what, query, ctx, items)
  return query.OldStyleQuery(ctx, items)
