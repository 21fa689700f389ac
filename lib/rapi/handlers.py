"""What the RAPI methods do: one function per handler name of the table.

A handler gets a Call (the matched resource and method, the path variables,
the parsed query arguments and body, a LUXI client) and returns the value
to answer as JSON, or raises HttpError.  Mutations build opcodes and submit
them as jobs; reads use LUXI queries.
"""

import dataclasses
import http
import time
from typing import Any, Callable, Optional

from ganeti import constants
from ganeti import errors
from ganeti import luxi
from ganeti import opcodes
from ganeti.rapi import resources

# Seconds one /2/jobs/[job_id]/wait request waits for a change
JOB_WAIT_TIMEOUT = 10
# Seconds to wait for the jobs a read answers from (OS list, console)
READ_JOB_TIMEOUT = 300


class HttpError(Exception):
  """An error answer: status code and message (the explanation follows the code)."""

  def __init__(self, code: int, message: Optional[str] = None,
               headers: Optional[dict[str, str]] = None) -> None:
    super().__init__(message)
    self.code = code
    self.message = message if message is not None else http.HTTPStatus(code).phrase
    self.headers = headers or {}


def BadRequest(message: str) -> HttpError:
  return HttpError(400, message)


@dataclasses.dataclass
class Call:
  resource: resources.Resource
  method: resources.Method
  variables: dict[str, str]
  args: dict[str, Any]  # the declared query arguments that were given, parsed
  raw_args: dict[str, list[str]]
  body: Any  # decoded JSON, None without a body
  client: luxi.Client

  def ReasonTrail(self) -> list:
    """The reason trail RAPI jobs start with: the user's reason, then this resource."""
    now = time.time_ns()
    trail = []
    reason = self.raw_args.get("reason")
    if reason:
      trail.append([constants.OPCODE_REASON_SRC_USER, reason[0], now])
    trail.append(["%s:%s" % (constants.OPCODE_REASON_SRC_RLIB2, self.resource.name), "", now])
    return trail


# --- opcodes and jobs ------------------------------------------------------

def _BodyDict(call: Call) -> dict:
  if call.body is None:
    return {}
  if not isinstance(call.body, dict):
    raise BadRequest("Invalid body parameters: a JSON object is expected")
  return call.body


def _CheckRequired(call: Call) -> None:
  for name in call.method.options.get("required", ()):
    if name not in call.args:
      raise BadRequest("Missing the required '%s' parameter" % name)


def OpcodeParams(call: Call, body: Optional[dict] = None) -> dict:
  """The opcode parameters of a call: body, then fixed values, path and arguments."""
  method = call.method
  params = {}
  if method.body == "params":
    for key, value in (_BodyDict(call) if body is None else body).items():
      name = method.aliases.get(key, key)
      if name in method.exclude:
        raise BadRequest("Invalid body parameters: '%s' is not accepted here" % key)
      params[name] = value
  given = dict(method.fixed)
  for variable, field in method.path.items():
    value: Any = call.variables[variable]
    if variable in resources.NUMERIC_VARIABLES:
      value = int(value)
    if field.endswith("[]"):
      field, value = field[:-2], [value]
    given[field] = value
  for arg in method.args:
    if arg.field is None:
      continue
    if arg.name in call.args:
      given[arg.field] = call.args[arg.name]
    elif arg.has_default and arg.field not in params:
      given[arg.field] = arg.default
  for name, value in given.items():
    if name in params and params[name] != value:
      raise BadRequest("Invalid body parameters: '%s' differs from the value in the URL" % name)
    params[name] = value
  return params


def ErrorText(err: Exception) -> str:
  """An error's message as Ganeti's RAPI shows it (its arguments' tuple if several)."""
  return str(err.args[0]) if len(err.args) == 1 else str(err.args)


def MakeOpcode(call: Call, op_id: str, params: dict) -> dict:
  """A checked opcode in its wire form, with the call's reason trail."""
  try:
    op = opcodes.OpCode.LoadOpCode(dict(params, OP_ID=op_id))
    op.Validate(False)
  except (ValueError, TypeError, errors.OpPrereqError) as err:
    raise BadRequest("Invalid body parameters: %s" % ErrorText(err)) from err
  op.reason = call.ReasonTrail()
  return op.__getstate__()


def _Submit(call: Call, ops: list[dict]) -> int:
  return call.client.SubmitJob(ops)


def _RunJob(call: Call, op: dict) -> Any:
  """Submits a one-opcode job, waits for it and returns its result."""
  job_id = _Submit(call, [op])
  status, _, results = luxi.WaitForJobCompletion(call.client, job_id, READ_JOB_TIMEOUT)
  if status != constants.JOB_STATUS_SUCCESS:
    raise HttpError(502, "Job %s failed: %s" % (job_id, results[0] if results else status))
  return results[0]


def Opcode(call: Call) -> int:
  """The common mutation: one opcode from the call, submitted; answers the job id."""
  _CheckRequired(call)
  return _Submit(call, [MakeOpcode(call, call.method.opcode, OpcodeParams(call))])


def InstanceInfo(call: Call) -> int:
  # live data needs the locks; static data does not
  params = dict(OpcodeParams(call), use_locking=not call.args.get("static", False))
  return _Submit(call, [MakeOpcode(call, call.method.opcode, params)])


def InstanceCreate(call: Call) -> int:
  body = dict(_BodyDict(call))
  version = body.pop("__version__", 0)
  if version == 0:
    raise BadRequest("Instance creation request version 0 is no longer supported")
  if version != 1:
    raise BadRequest("Unsupported request data version %s" % version)
  return _Submit(call, [MakeOpcode(call, call.method.opcode, OpcodeParams(call, body))])


def MultiAlloc(call: Call) -> int:
  body = dict(_BodyDict(call))
  instances = body.pop("instances", None)
  if not isinstance(instances, list):
    raise BadRequest("Request is missing required parameter 'instances'")
  create = dataclasses.replace(call, method=dataclasses.replace(
    call.method, aliases={"name": "instance_name", "os": "os_type"}, args=(), path={}))
  ops = []
  for spec in instances:
    if not isinstance(spec, dict):
      raise BadRequest("Invalid body parameters: each instance must be a JSON object")
    spec = {key: value for key, value in spec.items() if key != "__version__"}
    op = MakeOpcode(create, "OP_INSTANCE_CREATE", OpcodeParams(create, spec))
    del op["reason"]
    ops.append(op)
  body["instances"] = ops
  return _Submit(call, [MakeOpcode(call, call.method.opcode, OpcodeParams(call, body))])


def Reinstall(call: Call) -> int:
  """Shutdown, reinstall and (unless told not to) startup, in one job."""
  body = _BodyDict(call)
  if body:
    unknown = set(body) - {"os", "start", "osparams"}
    if unknown:
      raise BadRequest("Invalid body parameters: unknown %s" % ", ".join(sorted(unknown)))
    os_name, start, osparams = body.get("os"), body.get("start", True), body.get("osparams")
  else:
    os_name, start, osparams = call.args.get("os"), not call.args.get("nostartup", False), None
  name = call.variables["instance_name"]
  common = {"instance_name": name}
  ops = [MakeOpcode(call, "OP_INSTANCE_SHUTDOWN", common),
         MakeOpcode(call, "OP_INSTANCE_REINSTALL",
                    dict(common, os_type=os_name, osparams=osparams))]
  if start:
    ops.append(MakeOpcode(call, "OP_INSTANCE_STARTUP", dict(common, force=False)))
  return _Submit(call, ops)


def _DiskIndices(value: Any) -> list:
  items = value.split(",") if isinstance(value, str) else value
  if not isinstance(items, list):
    raise BadRequest("Invalid disk indices %r" % (value,))
  try:
    return [int(item) for item in items if item != ""]
  except (TypeError, ValueError) as err:
    raise BadRequest("Invalid disk indices %r" % (value,)) from err


def ReplaceDisks(call: Call) -> int:
  params = OpcodeParams(call)
  disks = params.get("disks", call.args.get("disks"))
  if disks is not None:
    params["disks"] = _DiskIndices(disks)
  return _Submit(call, [MakeOpcode(call, call.method.opcode, params)])


def NodeSetRole(call: Call) -> int:
  role = call.body
  flags = {
    "master-candidate": {"master_candidate": True, "offline": False, "drained": False},
    "regular": {"master_candidate": False, "offline": False, "drained": False},
    "drained": {"drained": True},
    "offline": {"offline": True},
  }.get(role) if isinstance(role, str) else None
  if flags is None:
    raise BadRequest("Can't set '%s' role" % (role,))
  params = OpcodeParams(call)
  params.setdefault("auto_promote", False)
  params.update(flags)
  return _Submit(call, [MakeOpcode(call, call.method.opcode, params)])


def StorageModify(call: Call) -> int:
  _CheckRequired(call)
  params = OpcodeParams(call)
  params["changes"] = ({"allocatable": call.args["allocatable"]}
                       if "allocatable" in call.args else {})
  return _Submit(call, [MakeOpcode(call, call.method.opcode, params)])


# --- reads -----------------------------------------------------------------

def Constant(call: Call) -> Any:
  return call.method.options["value"]


def OpenApi(call: Call) -> dict:
  from ganeti.rapi import openapi  # pylint: disable=import-outside-toplevel
  return openapi.Document()


def ClusterInfo(call: Call) -> dict:
  return call.client.QueryClusterInfo()


def OsList(call: Call) -> list[str]:
  rows = _RunJob(call, MakeOpcode(call, "OP_OS_DIAGNOSE",
                                  {"output_fields": ["name", "variants"], "names": []}))
  names = []
  for name, variants in rows:
    names.extend(["%s+%s" % (name, variant) for variant in variants] if variants else [name])
  return names


# The LUXI requests answering plain value rows (unavailable values are None);
# cheaper for the master and for us than Query's [status, value] cells
_ROW_REQUESTS = {
  constants.QR_INSTANCE: luxi.REQ_QUERY_INSTANCES,
  constants.QR_NODE: luxi.REQ_QUERY_NODES,
  constants.QR_GROUP: luxi.REQ_QUERY_GROUPS,
  constants.QR_NETWORK: luxi.REQ_QUERY_NETWORKS,
}


def _Rows(call: Call, what: str, fields: list[str], names: Optional[list[str]] = None
          ) -> list[dict]:
  """The objects (all, or those named) as field -> value dictionaries."""
  rows = call.client.CallMethod(_ROW_REQUESTS[what], [names or [], fields, False])
  return [dict(zip(fields, row)) for row in rows]


def Collection(call: Call) -> list[dict]:
  options = call.method.options
  if call.args.get("bulk"):
    return _Rows(call, options["what"], list(options["fields"]))
  base = call.resource.path
  return [{options["key"]: row["name"], "uri": "%s/%s" % (base, row["name"])}
          for row in _Rows(call, options["what"], ["name"])]


def _One(call: Call, what: str, name: str, fields: list[str]) -> dict:
  rows = _Rows(call, what, fields, [name])
  if not rows:
    raise HttpError(404)
  return rows[0]


def Item(call: Call) -> dict:
  options = call.method.options
  return _One(call, options["what"], call.variables[options["variable"]],
              list(options["fields"]))


def Tags(call: Call) -> list[str]:
  kind = call.method.options["kind"]
  # the object's name is the path's only variable; the cluster has none
  name = next(iter(call.variables.values()), "")
  return call.client.QueryTags(kind, name)


def NodeRole(call: Call) -> str:
  role = _One(call, constants.QR_NODE, call.variables["node_name"], ["role"])["role"]
  return resources.NODE_ROLES.get(role, role)


def Console(call: Call) -> dict:
  name = call.variables["instance_name"]
  if not _One(call, constants.QR_INSTANCE, name, ["oper_state"])["oper_state"]:
    raise HttpError(503, "Instance console unavailable")
  return _RunJob(call, MakeOpcode(call, call.method.opcode, {"instance_name": name}))


def JobList(call: Call) -> list[dict]:
  if call.args.get("bulk"):
    fields = list(resources.JOB_FIELDS_BULK)
    return [dict(zip(fields, row)) for row in call.client.QueryJobs(None, fields) if row]
  ids = sorted(row[0] for row in call.client.QueryJobs(None, ["id"]) if row)
  return [{"id": job_id, "uri": "/2/jobs/%s" % job_id} for job_id in ids]


def JobInfo(call: Call) -> dict:
  job_id = int(call.variables["job_id"])
  fields = list(resources.JOB_FIELDS)
  row = call.client.QueryJobs([job_id], fields)[0]
  # an unknown job answers its id with everything else null, as Ganeti does
  return dict(zip(fields, row)) if row else dict.fromkeys(fields, None) | {"id": job_id}


def JobCancel(call: Call) -> list:
  return call.client.CancelJob(int(call.variables["job_id"]))


def JobWait(call: Call) -> Optional[dict]:
  body = call.body
  if not isinstance(body, dict) or not isinstance(body.get("fields"), list) \
      or not all(isinstance(field, str) for field in body["fields"]):
    raise BadRequest("The body must be a JSON object with a list of 'fields'")
  prev_info = body.get("previous_job_info")
  prev_serial = body.get("previous_log_serial")
  if prev_info is not None and not isinstance(prev_info, list):
    raise BadRequest("'previous_job_info' must be a list or null")
  if prev_serial is not None and (not isinstance(prev_serial, int)
                                  or isinstance(prev_serial, bool)):
    raise BadRequest("'previous_log_serial' must be a number or null")
  result = call.client.WaitForJobChangeOnce(int(call.variables["job_id"]), body["fields"],
                                            prev_info, prev_serial, timeout=JOB_WAIT_TIMEOUT)
  if not result:
    raise HttpError(404, "Job not found")
  if result == luxi.JOB_NOTCHANGED:
    return None
  return {"job_info": result[0], "log_entries": result[1]}


def _QueryFields(call: Call, body: dict) -> list[str]:
  fields = body.get("fields", call.args.get("fields"))
  if fields is None:
    raise BadRequest("Missing 'fields' query argument")
  if not isinstance(fields, list) or not all(isinstance(f, str) and f for f in fields):
    raise BadRequest("'fields' must be a list of field names")
  return fields


def Query(call: Call) -> dict:
  body = _BodyDict(call) if call.method.body == "other" else {}
  # Ganeti's client sends the filter as both "qfilter" and "filter"
  qfilter = body.get("qfilter", body.get("filter"))
  if qfilter is not None and not isinstance(qfilter, list):
    raise BadRequest("'filter' must be a list or null")
  answer = call.client.Query(call.variables["resource"], _QueryFields(call, body), qfilter)
  return {"data": answer["data"], "fields": answer["fields"]}  # Ganeti's key order


def QueryFields(call: Call) -> dict:
  return call.client.QueryFields(call.variables["resource"], call.args.get("fields"))


def FilterList(call: Call) -> list[dict]:
  if call.args.get("bulk"):
    fields = list(resources.FILTER_FIELDS)
    return [dict(zip(fields, row)) for row in call.client.QueryFilters(None, fields) if row]
  return [{"uuid": row[0], "uri": "/2/filters/%s" % row[0]}
          for row in call.client.QueryFilters(None, ["uuid"]) if row]


def FilterInfo(call: Call) -> dict:
  fields = list(resources.FILTER_FIELDS)
  rows = [row for row in call.client.QueryFilters([call.variables["filter_uuid"]], fields)
          if row]
  if not rows:
    raise HttpError(404)
  return dict(zip(fields, rows[0]))


_FILTER_BODY = {"priority": (int, 0), "predicates": (list, []), "action": ((str, list), "CONTINUE"),
                "reason": (list, []), "uuid": (str, None)}


def FilterReplace(call: Call) -> str:
  body = _BodyDict(call)
  unknown = set(body) - set(_FILTER_BODY)
  if unknown:
    raise BadRequest("Invalid body parameters: unknown %s" % ", ".join(sorted(unknown)))
  values = {}
  for key, (kind, default) in _FILTER_BODY.items():
    value = body.get(key, default)
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
      raise BadRequest("Invalid value for the filter's '%s'" % key)
    values[key] = value
  if values["priority"] < 0:
    raise BadRequest("The filter's priority must not be negative")
  uuid = call.variables.get("filter_uuid", values["uuid"])
  return call.client.ReplaceFilter(uuid, values["priority"], values["predicates"],
                                   values["action"], values["reason"])


def FilterDelete(call: Call) -> None:
  return call.client.DeleteFilter(call.variables["filter_uuid"])


HANDLERS: dict[str, Callable[[Call], Any]] = {
  "opcode": Opcode,
  "instance_create": InstanceCreate,
  "instance_info": InstanceInfo,
  "multi_alloc": MultiAlloc,
  "reinstall": Reinstall,
  "replace_disks": ReplaceDisks,
  "node_set_role": NodeSetRole,
  "storage_modify": StorageModify,
  "constant": Constant,
  "cluster_info": ClusterInfo,
  "openapi": OpenApi,
  "os_list": OsList,
  "collection": Collection,
  "item": Item,
  "tags": Tags,
  "node_role": NodeRole,
  "console": Console,
  "job_list": JobList,
  "job_info": JobInfo,
  "job_cancel": JobCancel,
  "job_wait": JobWait,
  "query": Query,
  "query_fields": QueryFields,
  "filter_list": FilterList,
  "filter_info": FilterInfo,
  "filter_replace": FilterReplace,
  "filter_delete": FilterDelete,
}
