"""The OpenAPI 3 description of the remote API, made from the resource table.

Served at /2/openapi.json and kept in doc/rapi-openapi.json (rewrite it with
"make openapi-doc" or "python3 -m ganeti.rapi.openapi"); a test checks that
the file equals what the table makes, so the two cannot drift apart.

Body schemas of opcode-backed methods list the opcode's parameters with the
JSON types their checks accept (found by probing each check with a sample of
every JSON type); deeper structure is left to the server's own checks.
"""

import json
import sys
from typing import Any

from ganeti import constants
from ganeti import opcodes
from ganeti.rapi import resources

OPENAPI_VERSION = "3.0.3"

_PROBES = (("boolean", True), ("integer", 7), ("number", 1.5), ("string", "x"),
           ("array", []), ("object", {}))

_ARG_SCHEMAS = {
  "bool": {"type": "integer", "enum": [0, 1]},
  "int": {"type": "integer"},
  "str": {"type": "string"},
  "csv": {"type": "string", "description": "comma-separated list"},
  "list": {"type": "array", "items": {"type": "string"}},
}

_RESULT_SCHEMAS = {
  "job": {"type": "integer", "description": "the id of the submitted job"},
  "collection": {"type": "array", "items": {"type": "object"}},
  "object": {"type": "object"},
  "strings": {"type": "array", "items": {"type": "string"}},
  "string": {"type": "string"},
  "integer": {"type": "integer"},
  "array": {"type": "array"},
  "null": {"nullable": True},
}

# Bodies of the methods whose handler reads the body itself
_OTHER_BODIES = {
  "reinstall": {"type": "object", "additionalProperties": False, "properties": {
    "os": {"type": "string"}, "start": {"type": "boolean"}, "osparams": {"type": "object"}}},
  "node_set_role": {"type": "string",
                    "enum": ["master-candidate", "regular", "drained", "offline"]},
  "job_wait": {"type": "object", "required": ["fields"], "properties": {
    "fields": {"type": "array", "items": {"type": "string"}},
    "previous_job_info": {"type": "array", "nullable": True},
    "previous_log_serial": {"type": "integer", "nullable": True}}},
  "query": {"type": "object", "properties": {
    "fields": {"type": "array", "items": {"type": "string"}},
    "filter": {"type": "array", "nullable": True},
    "qfilter": {"type": "array", "nullable": True}}},
  "filter_replace": {"type": "object", "additionalProperties": False, "properties": {
    "priority": {"type": "integer", "minimum": 0},
    "predicates": {"type": "array"},
    "action": {"anyOf": [{"type": "string"}, {"type": "array"}]},
    "reason": {"type": "array"},
    "uuid": {"type": "string"}}},
}

_ERROR_SCHEMA = {
  "type": "object", "required": ["code", "message", "explain"],
  "properties": {"code": {"type": "integer"}, "message": {"type": "string"},
                 "explain": {"type": "string"}}}


def _CheckSchema(check: Any) -> dict:
  """The JSON types a value check accepts, as a schema."""
  types = [name for name, sample in _PROBES if check.test(sample)]
  if "integer" in types and "number" in types:
    types.remove("integer")
  schema: dict = {}
  if len(types) == 1:
    schema["type"] = types[0]
  elif 1 < len(types) < len(_PROBES) - 1:
    schema["anyOf"] = [{"type": name} for name in types]
  if check.test(None):
    schema["nullable"] = True
  return schema


def _FilledElsewhere(method: resources.Method) -> set[str]:
  """Opcode parameters the path, the fixed values or the arguments set."""
  names = set(method.fixed)
  names.update(field.rstrip("[]") for field in method.path.values())
  return names


def _OpcodeBody(method: resources.Method) -> dict:
  cls = opcodes.OP_MAPPING[method.opcode]
  skip = _FilledElsewhere(method) | set(method.exclude) | {"reason", "depends"}
  aliases = {target: alias for alias, target in method.aliases.items()}
  properties = {}
  for name, _, check, doc in cls.GetAllParams():
    if name in skip:
      continue
    properties[aliases.get(name, name)] = dict(_CheckSchema(check), description=doc)
  schema = {"type": "object", "additionalProperties": False, "properties": properties}
  if method.handler == "instance_create":
    properties["__version__"] = {"type": "integer", "enum": [1],
                                 "description": "version of the request format"}
    schema["required"] = ["__version__"]
  if method.handler == "multi_alloc":
    properties["instances"] = {"type": "array", "items": {"type": "object"},
                               "description": "instance creation parameters, one per instance"}
    schema["required"] = ["instances"]
  return schema


def _Parameters(resource: resources.Resource, method: resources.Method) -> list[dict]:
  params = []
  for name in resource.variables:
    schema = ({"type": "integer", "minimum": 0} if name in resources.NUMERIC_VARIABLES
              else {"type": "string", "pattern": "^[^/]+$"})
    params.append({"name": name, "in": "path", "required": True, "schema": schema})
  for arg in method.args:
    param = {"name": arg.name, "in": "query", "required": False,
             "schema": dict(_ARG_SCHEMAS[arg.kind]), "description": arg.doc}
    if arg.kind == "list":
      param.update(style="form", explode=True)
    params.append(param)
  return params


def _Operation(resource: resources.Resource, verb: str, method: resources.Method) -> dict:
  operation: dict = {
    "operationId": "%s_%s" % (verb.lower(), resource.name),
    "summary": method.doc,
    "parameters": _Parameters(resource, method),
    "responses": {
      "200": {"description": "success",
              "content": {"application/json": {"schema": _RESULT_SCHEMAS[method.result]}}},
      "default": {"description": "error",
                  "content": {"application/json": {"schema": {"$ref":
                                                              "#/components/schemas/Error"}}}},
    },
    "security": ([{"basic": []}] if method.access else [{}, {"basic": []}]),
  }
  if method.access:
    operation["x-ganeti-access"] = list(method.access)
  if method.opcode:
    operation["x-ganeti-opcode"] = method.opcode
  body = None
  if method.body == "params":
    body = _OpcodeBody(method)
  elif method.body == "other":
    body = _OTHER_BODIES[method.handler]
  if body is not None:
    operation["requestBody"] = {"required": method.handler in ("node_set_role", "job_wait"),
                                "content": {"application/json": {"schema": body}}}
  return operation


def _OpenApiPath(path: str) -> str:
  return path.replace("[", "{").replace("]", "}")


def Document() -> dict:
  """The whole OpenAPI document."""
  paths = {}
  for resource in resources.RESOURCES:
    paths[_OpenApiPath(resource.path)] = {
      verb.lower(): _Operation(resource, verb, method)
      for verb, method in resource.methods.items()}
  return {
    "openapi": OPENAPI_VERSION,
    "info": {"title": "Ganeti remote API", "version": str(constants.RAPI_VERSION),
             "description": "RAPI version 2 as served by ganeti-rapi %s"
                            % constants.RELEASE_VERSION},
    "paths": paths,
    "components": {
      "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
      "schemas": {"Error": _ERROR_SCHEMA},
    },
  }


def DocumentText() -> str:
  """The document as written to doc/: stable key order, indented."""
  return json.dumps(Document(), indent=1, sort_keys=True) + "\n"


def main() -> int:
  sys.stdout.write(DocumentText())
  return 0


if __name__ == "__main__":
  sys.exit(main())
