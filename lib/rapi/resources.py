"""The RAPI version 2 resources as data.

Each resource is a path with [variables] and, per HTTP method, what the
method needs (rights), what it reads (query-string arguments, a body) and
what it does: a handler from ganeti.rapi.handlers, usually "opcode", which
builds one opcode from the path, the query string and the body and submits
it as a job.  The daemon, the OpenAPI document and the tests all read this
table; nothing else says what the API is.

Paths, methods, argument names, rights and opcode mappings are those of
Ganeti 3.0's RAPI.
"""

import dataclasses
import re
from typing import Any, Optional

from ganeti import rapi

_W = (rapi.ACCESS_WRITE,)
_R = (rapi.ACCESS_READ,)

# Fields of the bulk answers, in the order Ganeti 3.0 gives them
INSTANCE_FIELDS = (
  "name", "admin_state", "os", "pnode", "snodes", "disk_template", "nic.ips", "nic.macs",
  "nic.modes", "nic.uuids", "nic.names", "nic.links", "nic.networks", "nic.networks.names",
  "nic.bridges", "network_port", "disk.sizes", "disk.spindles", "disk_usage", "disk.uuids",
  "disk.names", "beparams", "hvparams", "oper_state", "oper_ram", "oper_vcpus", "status",
  "custom_hvparams", "custom_beparams", "custom_nicparams", "ctime", "mtime", "uuid",
  "serial_no", "tags")
NODE_FIELDS = (
  "name", "offline", "master_candidate", "drained", "dtotal", "dfree", "sptotal", "spfree",
  "mtotal", "mnode", "mfree", "pinst_cnt", "sinst_cnt", "ctotal", "cnos", "cnodes",
  "csockets", "pip", "sip", "role", "pinst_list", "sinst_list", "master_capable",
  "vm_capable", "ndparams", "group.uuid", "ctime", "mtime", "uuid", "serial_no", "tags")
GROUP_FIELDS = (
  "alloc_policy", "name", "node_cnt", "node_list", "ipolicy", "custom_ipolicy", "diskparams",
  "custom_diskparams", "ndparams", "custom_ndparams", "ctime", "mtime", "uuid", "serial_no",
  "tags")
NETWORK_FIELDS = (
  "name", "network", "gateway", "network6", "gateway6", "mac_prefix", "free_count",
  "reserved_count", "map", "group_list", "inst_list", "external_reservations", "ctime",
  "mtime", "uuid", "serial_no", "tags")
FILTER_FIELDS = ("watermark", "priority", "predicates", "action", "reason_trail", "uuid")
JOB_FIELDS_BULK = ("id", "ops", "status", "summary", "opstatus", "received_ts", "start_ts",
                   "end_ts")
JOB_FIELDS = JOB_FIELDS_BULK + ("oplog", "opresult")

FEATURES = ("node-migrate-reqv1", "instance-create-reqv1", "instance-reinstall-reqv1",
            "node-evac-res1")

# What /2/nodes/[node_name]/role answers for each query role letter, and back
NODE_ROLES = {"M": "master", "C": "master-candidate", "R": "regular", "D": "drained",
              "O": "offline"}

_UNSET = object()


@dataclasses.dataclass(frozen=True)
class Arg:
  """A query-string argument.  kind: bool (0/1), int, str, csv (comma
  list), list (repeated argument)."""
  name: str
  kind: str = "bool"
  field: Optional[str] = None  # the opcode parameter it sets; None: the handler reads it
  doc: str = ""
  default: Any = _UNSET  # set on the opcode when the argument is absent

  @property
  def has_default(self) -> bool:
    return self.default is not _UNSET


DRY_RUN = Arg("dry-run", "bool", "dry_run", "Only check whether the operation would succeed",
              default=False)
REASON = Arg("reason", "str", None, "Why the change is made (recorded in the reason trail)")
BULK = Arg("bulk", "bool", None, "Give every object's details instead of names and URIs")
FORCE = Arg("force", "bool", "force", "Go ahead despite warnings")
TAG = Arg("tag", "list", "tags", "A tag (repeat for several)")


@dataclasses.dataclass(frozen=True)
class Method:
  doc: str
  handler: str = "opcode"
  access: tuple = ()  # rights of which the user needs one; () lets anybody read
  opcode: Optional[str] = None
  args: tuple = ()
  path: dict = dataclasses.field(default_factory=dict)  # path variable -> opcode parameter
  fixed: dict = dataclasses.field(default_factory=dict)  # opcode parameter -> value
  body: str = "none"  # none | params (opcode parameters) | other (read by the handler)
  exclude: tuple = ()  # opcode parameters a body may not set
  aliases: dict = dataclasses.field(default_factory=dict)  # body key -> opcode parameter
  result: str = "job"  # what the answer is, for the OpenAPI document
  options: dict = dataclasses.field(default_factory=dict)  # handler settings


@dataclasses.dataclass(frozen=True)
class Resource:
  path: str
  name: str  # Ganeti's handler name, used in the reason trail
  doc: str
  methods: dict

  @property
  def variables(self) -> list[str]:
    return re.findall(r"\[(\w+)\]", self.path)


def _Job(doc: str, opcode: str, dry_run: bool = False, **kwargs: Any) -> Method:
  """A mutation: needs write access, accepts reason and, where Ganeti's does,
  dry-run (then always set on the opcode, false by default, as Ganeti does)."""
  args = ((DRY_RUN,) if dry_run else ()) + (REASON,) + tuple(kwargs.pop("args", ()))
  return Method(doc, opcode=opcode, access=_W, args=args, **kwargs)


def _Tags(kind: str, variable: Optional[str]) -> dict:
  path = {variable: "name"} if variable else {}
  return {
    "GET": Method("The object's tags", "tags", options={"kind": kind}, result="strings"),
    "PUT": _Job("Adds the tags given as tag arguments", "OP_TAGS_SET", dry_run=True, args=(TAG,), path=path,
                fixed={"kind": kind}),
    "DELETE": _Job("Removes the tags given as tag arguments", "OP_TAGS_DEL", dry_run=True, args=(TAG,),
                   path=path, fixed={"kind": kind}),
  }


def _Collection(what: str, list_key: str, fields: tuple, doc: str) -> Method:
  return Method(doc, "collection", args=(BULK,), result="collection",
                options={"what": what, "key": list_key, "fields": fields})


def _Item(what: str, variable: str, fields: tuple, doc: str) -> Method:
  return Method(doc, "item", result="object",
                options={"what": what, "variable": variable, "fields": fields})


_INST = {"instance_name": "instance_name"}
_NODE = {"node_name": "node_name"}
_GROUP = {"group_name": "group_name"}
_NET = {"network_name": "network_name"}

RESOURCES = (
  Resource("/", "root", "Root; answers null", {
    "GET": Method("Nothing (kept for old clients)", "constant", result="null",
                  options={"value": None})}),
  Resource("/version", "version", "The RAPI version", {
    "GET": Method("The RAPI version, 2", "constant", result="integer",
                  options={"value": 2})}),
  Resource("/2", "2", "Root of version 2; answers null", {
    "GET": Method("Nothing (kept for old clients)", "constant", result="null",
                  options={"value": None})}),
  Resource("/2/info", "info", "Cluster information", {
    "GET": Method("The cluster's configuration and versions", "cluster_info",
                  result="object")}),
  Resource("/2/features", "features", "Optional features of this server", {
    "GET": Method("Feature names", "constant", result="strings",
                  options={"value": list(FEATURES)})}),
  Resource("/2/openapi.json", "openapi", "This API's OpenAPI 3 description (not in Ganeti)", {
    "GET": Method("The OpenAPI document, made from this table", "openapi",
                  result="object")}),
  Resource("/2/os", "os", "Operating system definitions", {
    "GET": Method("Names of the usable OSes with their variants (os+variant)", "os_list",
                  result="strings")}),
  Resource("/2/modify", "cluster_modify", "Cluster parameters", {
    "PUT": _Job("Changes cluster parameters", "OP_CLUSTER_SET_PARAMS", body="params")}),
  Resource("/2/redistribute-config", "redist_config", "Configuration distribution", {
    "PUT": _Job("Copies the configuration to all nodes again", "OP_CLUSTER_REDIST_CONF")}),
  Resource("/2/tags", "tags", "Cluster tags", _Tags("cluster", None)),

  Resource("/2/instances", "instances", "Instances", {
    "GET": _Collection("instance", "id", INSTANCE_FIELDS, "All instances"),
    "POST": _Job("Creates an instance (request version 1)", "OP_INSTANCE_CREATE", dry_run=True,
                 handler="instance_create", body="params",
                 aliases={"name": "instance_name", "os": "os_type"}),
  }),
  Resource("/2/instances-multi-alloc", "instances_multi_alloc", "Allocation of instances", {
    "POST": _Job("Creates several instances, placed by an allocator",
                 "OP_INSTANCE_MULTI_ALLOC", handler="multi_alloc", body="params", dry_run=True),
  }),
  Resource("/2/instances/[instance_name]", "instances_name", "An instance", {
    "GET": _Item("instance", "instance_name", INSTANCE_FIELDS, "The instance's details"),
    "DELETE": _Job("Removes the instance", "OP_INSTANCE_REMOVE", path=_INST, body="params",
                   dry_run=True),
  }),
  Resource("/2/instances/[instance_name]/info", "instances_name_info", "Instance data", {
    "GET": Method("Submits a job collecting the instance's configuration and live state",
                  "instance_info", opcode="OP_INSTANCE_QUERY_DATA",
                  args=(Arg("static", "bool", "static", "Configuration data only",
                            default=False), REASON),
                  path={"instance_name": "instances[]"}),
  }),
  Resource("/2/instances/[instance_name]/reboot", "instances_name_reboot", "Reboot", {
    "POST": _Job("Reboots the instance", "OP_INSTANCE_REBOOT", path=_INST, body="params",
                 dry_run=True,
                 args=(Arg("type", "str", "reboot_type", "soft, hard or full",
                           default="hard"),
                       Arg("ignore_secondaries", "bool", "ignore_secondaries",
                           "Start even if secondary disks fail"))),
  }),
  Resource("/2/instances/[instance_name]/shutdown", "instances_name_shutdown", "Shutdown", {
    "PUT": _Job("Shuts the instance down", "OP_INSTANCE_SHUTDOWN", path=_INST, body="params",
                dry_run=True,
                args=(Arg("no_remember", "bool", "no_remember",
                          "Do not record the new state"),)),
  }),
  Resource("/2/instances/[instance_name]/startup", "instances_name_startup", "Startup", {
    "PUT": _Job("Starts the instance", "OP_INSTANCE_STARTUP", path=_INST, dry_run=True,
                args=(Arg("force", "bool", "force", "Start even if secondary disks fail",
                          default=False),
                      Arg("no_remember", "bool", "no_remember", "Do not record the new state",
                          default=False))),
  }),
  Resource("/2/instances/[instance_name]/reinstall", "instances_name_reinstall", "Reinstall", {
    "POST": _Job("Installs the OS again: shutdown, reinstall and (start) startup in one job",
                 "OP_INSTANCE_REINSTALL", handler="reinstall", path=_INST, body="other",
                 args=(Arg("os", "str", None, "OS to install (old style)"),
                       Arg("nostartup", "bool", None, "Leave the instance down (old style)"))),
  }),
  Resource("/2/instances/[instance_name]/replace-disks", "instances_name_replace_disks",
           "Disk replacement", {
    "POST": _Job("Replaces the instance's disks", "OP_INSTANCE_REPLACE_DISKS", path=_INST,
                 body="params", handler="replace_disks",
                 args=(Arg("mode", "str", "mode", "Which disks to replace (old style)"),
                       Arg("remote_node", "str", "remote_node", "New secondary (old style)"),
                       Arg("iallocator", "str", "iallocator", "Allocator (old style)"),
                       Arg("disks", "csv", None, "Disk indices (old style)"))),
  }),
  Resource("/2/instances/[instance_name]/activate-disks", "instances_name_activate_disks",
           "Disk activation", {
    "PUT": _Job("Activates the instance's disks", "OP_INSTANCE_ACTIVATE_DISKS", path=_INST,
                args=(Arg("ignore_size", "bool", "ignore_size", "Ignore recorded sizes"),)),
  }),
  Resource("/2/instances/[instance_name]/deactivate-disks", "instances_name_deactivate_disks",
           "Disk deactivation", {
    "PUT": _Job("Deactivates the instance's disks", "OP_INSTANCE_DEACTIVATE_DISKS",
                path=_INST, args=(FORCE,)),
  }),
  Resource("/2/instances/[instance_name]/recreate-disks", "instances_name_recreate_disks",
           "Disk re-creation", {
    "POST": _Job("Creates the instance's disks again", "OP_INSTANCE_RECREATE_DISKS",
                 path=_INST, body="params"),
  }),
  Resource("/2/instances/[instance_name]/disk/[disk_index]/grow", "instances_name_disk_grow",
           "Disk growth", {
    "POST": _Job("Grows one disk", "OP_INSTANCE_GROW_DISK", body="params",
                 path={"instance_name": "instance_name", "disk_index": "disk"}),
  }),
  Resource("/2/instances/[instance_name]/prepare-export", "instances_name_prepare_export",
           "Export preparation", {
    "PUT": _Job("Prepares an export to another cluster", "OP_BACKUP_PREPARE", path=_INST,
                args=(Arg("mode", "str", "mode", "Export mode (local or remote)"),)),
  }),
  Resource("/2/instances/[instance_name]/export", "instances_name_export", "Export", {
    "PUT": _Job("Exports the instance", "OP_BACKUP_EXPORT", path=_INST, body="params",
                aliases={"destination": "target_node"}),
  }),
  Resource("/2/instances/[instance_name]/migrate", "instances_name_migrate", "Migration", {
    "PUT": _Job("Migrates the instance", "OP_INSTANCE_MIGRATE", path=_INST, body="params",
                exclude=("live",)),
  }),
  Resource("/2/instances/[instance_name]/failover", "instances_name_failover", "Failover", {
    "PUT": _Job("Fails the instance over", "OP_INSTANCE_FAILOVER", path=_INST,
                body="params"),
  }),
  Resource("/2/instances/[instance_name]/rename", "instances_name_rename", "Renaming", {
    "PUT": _Job("Renames the instance", "OP_INSTANCE_RENAME", path=_INST, body="params"),
  }),
  Resource("/2/instances/[instance_name]/modify", "instances_name_modify", "Modification", {
    "PUT": _Job("Changes the instance's parameters", "OP_INSTANCE_SET_PARAMS", path=_INST,
                body="params"),
  }),
  Resource("/2/instances/[instance_name]/console", "instances_name_console", "Console", {
    "GET": Method("How to reach the instance's console", "console", access=_W,
                  opcode="OP_INSTANCE_CONSOLE", path=_INST, result="object"),
  }),
  Resource("/2/instances/[instance_name]/tags", "instances_name_tags", "Instance tags",
           _Tags("instance", "instance_name")),

  Resource("/2/nodes", "nodes", "Nodes", {
    "GET": _Collection("node", "id", NODE_FIELDS, "All nodes"),
  }),
  Resource("/2/nodes/[node_name]", "nodes_name", "A node", {
    "GET": _Item("node", "node_name", NODE_FIELDS, "The node's details"),
  }),
  Resource("/2/nodes/[node_name]/powercycle", "nodes_name_powercycle", "Power cycle", {
    "POST": _Job("Power-cycles the node", "OP_NODE_POWERCYCLE", path=_NODE, args=(FORCE,)),
  }),
  Resource("/2/nodes/[node_name]/evacuate", "nodes_name_evacuate", "Evacuation", {
    "POST": _Job("Moves instances off the node", "OP_NODE_EVACUATE", path=_NODE, dry_run=True,
                 body="params", exclude=("nodes",)),
  }),
  Resource("/2/nodes/[node_name]/migrate", "nodes_name_migrate", "Migration", {
    "POST": _Job("Migrates the node's primary instances", "OP_NODE_MIGRATE", path=_NODE,
                 body="params",
                 args=(Arg("mode", "str", "mode", "Migration mode (old style)"),
                       Arg("live", "bool", "live", "Live migration (old style)"))),
  }),
  Resource("/2/nodes/[node_name]/role", "nodes_name_role", "Node role", {
    "GET": Method("master, master-candidate, regular, drained or offline", "node_role",
                  result="string"),
    "PUT": _Job("Sets the node's role (a JSON string body)", "OP_NODE_SET_PARAMS",
                handler="node_set_role", path=_NODE, body="other",
                args=(Arg("force", "bool", "force", "Go ahead despite warnings",
                          default=False),
                      Arg("auto-promote", "bool", "auto_promote",
                          "Promote other nodes to master candidates if needed"))),
  }),
  Resource("/2/nodes/[node_name]/modify", "nodes_name_modify", "Node modification", {
    "POST": _Job("Changes the node's parameters", "OP_NODE_SET_PARAMS", path=_NODE,
                 body="params"),
  }),
  Resource("/2/nodes/[node_name]/storage", "nodes_name_storage", "Storage units", {
    "GET": Method("Submits a job listing the node's storage units", access=_W,
                  opcode="OP_NODE_QUERY_STORAGE", path={"node_name": "nodes[]"},
                  args=(Arg("storage_type", "str", "storage_type", "Kind of storage"),
                        Arg("output_fields", "csv", "output_fields", "Fields to list"),
                        REASON),
                  options={"required": ("output_fields",)}),
  }),
  Resource("/2/nodes/[node_name]/storage/modify", "nodes_name_storage_modify",
           "Storage unit modification", {
    "PUT": _Job("Changes a storage unit", "OP_NODE_MODIFY_STORAGE", handler="storage_modify",
                path=_NODE,
                args=(Arg("storage_type", "str", "storage_type", "Kind of storage"),
                      Arg("name", "str", "name", "Storage unit"),
                      Arg("allocatable", "bool", None, "Whether new disks may go there")),
                options={"required": ("storage_type", "name")}),
  }),
  Resource("/2/nodes/[node_name]/storage/repair", "nodes_name_storage_repair",
           "Storage unit repair", {
    "PUT": _Job("Repairs a storage unit", "OP_REPAIR_NODE_STORAGE", path=_NODE,
                args=(Arg("storage_type", "str", "storage_type", "Kind of storage"),
                      Arg("name", "str", "name", "Storage unit"),
                      Arg("ignore_consistency", "bool", "ignore_consistency",
                          "Ignore disk consistency")),
                options={"required": ("storage_type", "name")}),
  }),
  Resource("/2/nodes/[node_name]/tags", "nodes_name_tags", "Node tags",
           _Tags("node", "node_name")),

  Resource("/2/groups", "groups", "Node groups", {
    "GET": _Collection("group", "name", GROUP_FIELDS, "All node groups"),
    "POST": _Job("Creates a node group", "OP_GROUP_ADD", body="params", dry_run=True,
                 aliases={"name": "group_name"}),
  }),
  Resource("/2/groups/[group_name]", "groups_name", "A node group", {
    "GET": _Item("group", "group_name", GROUP_FIELDS, "The group's details"),
    "DELETE": _Job("Removes the group", "OP_GROUP_REMOVE", path=_GROUP, dry_run=True),
  }),
  Resource("/2/groups/[group_name]/modify", "groups_name_modify", "Group modification", {
    "PUT": _Job("Changes the group's parameters", "OP_GROUP_SET_PARAMS", path=_GROUP,
                body="params"),
  }),
  Resource("/2/groups/[group_name]/rename", "groups_name_rename", "Group renaming", {
    "PUT": _Job("Renames the group", "OP_GROUP_RENAME", path=_GROUP, body="params",
                dry_run=True),
  }),
  Resource("/2/groups/[group_name]/assign-nodes", "groups_name_assign_nodes",
           "Node assignment", {
    "PUT": _Job("Moves nodes into the group", "OP_GROUP_ASSIGN_NODES", path=_GROUP, dry_run=True,
                body="params", args=(FORCE,), exclude=("force", "dry_run")),
  }),
  Resource("/2/groups/[group_name]/tags", "groups_name_tags", "Group tags",
           _Tags("nodegroup", "group_name")),

  Resource("/2/networks", "networks", "Networks", {
    "GET": _Collection("network", "name", NETWORK_FIELDS, "All networks"),
    "POST": _Job("Creates a network", "OP_NETWORK_ADD", body="params", dry_run=True),
  }),
  Resource("/2/networks/[network_name]", "networks_name", "A network", {
    "GET": _Item("network", "network_name", NETWORK_FIELDS, "The network's details"),
    "DELETE": _Job("Removes the network", "OP_NETWORK_REMOVE", path=_NET, dry_run=True),
  }),
  Resource("/2/networks/[network_name]/modify", "networks_name_modify",
           "Network modification", {
    "PUT": _Job("Changes the network's parameters", "OP_NETWORK_SET_PARAMS", path=_NET,
                body="params"),
  }),
  Resource("/2/networks/[network_name]/connect", "networks_name_connect",
           "Network connection", {
    "PUT": _Job("Connects the network to a node group", "OP_NETWORK_CONNECT", path=_NET,
                dry_run=True,
                body="params"),
  }),
  Resource("/2/networks/[network_name]/disconnect", "networks_name_disconnect",
           "Network disconnection", {
    "PUT": _Job("Disconnects the network from a node group", "OP_NETWORK_DISCONNECT",
                dry_run=True,
                path=_NET, body="params"),
  }),
  Resource("/2/networks/[network_name]/tags", "networks_name_tags", "Network tags",
           _Tags("network", "network_name")),

  Resource("/2/jobs", "jobs", "Jobs", {
    "GET": Method("All jobs", "job_list", args=(BULK,), result="collection"),
  }),
  Resource("/2/jobs/[job_id]", "jobs_id", "A job", {
    "GET": Method("The job's details", "job_info", result="object"),
    "DELETE": Method("Cancels the job; answers [success, message]", "job_cancel",
                     access=_W, result="array"),
  }),
  Resource("/2/jobs/[job_id]/wait", "jobs_id_wait", "Waiting for job changes", {
    "GET": Method("Waits for a change of the given job fields or new log entries (JSON"
                  " body: fields, previous_job_info, previous_log_serial)", "job_wait",
                  access=_W, body="other", result="object"),
  }),

  Resource("/2/query/[resource]", "query", "Queries", {
    "GET": Method("Query without filter", "query", access=_R,
                  args=(Arg("fields", "csv", None, "Fields to return"),), result="object"),
    "PUT": Method("Query with an optional filter (JSON body: fields, filter)", "query",
                  access=_R, body="other",
                  args=(Arg("fields", "csv", None, "Fields to return"),), result="object"),
  }),
  Resource("/2/query/[resource]/fields", "query_fields", "Query fields", {
    "GET": Method("Descriptions of a resource's fields", "query_fields",
                  args=(Arg("fields", "csv", None, "Fields to describe"),), result="object"),
  }),

  Resource("/2/filters", "filters", "Job filters", {
    "GET": Method("All job filter rules", "filter_list", args=(BULK,), result="collection"),
    "POST": Method("Adds a filter rule; answers its UUID", "filter_replace", access=_W,
                   body="other", result="string"),
  }),
  Resource("/2/filters/[filter_uuid]", "filters_uuid", "A job filter rule", {
    "GET": Method("The rule's details", "filter_info", result="object"),
    "PUT": Method("Replaces (or creates) the rule; answers its UUID", "filter_replace",
                  access=_W, body="other", result="string"),
    "DELETE": Method("Removes the rule", "filter_delete", access=_W, result="null"),
  }),
)

# Path variables that only match numbers
NUMERIC_VARIABLES = frozenset(["job_id", "disk_index"])


def _Pattern(path: str) -> "re.Pattern[str]":
  regex = ""
  for part in re.split(r"(\[\w+\])", path):
    if part.startswith("["):
      name = part[1:-1]
      regex += "(?P<%s>%s)" % (name, r"\d+" if name in NUMERIC_VARIABLES else "[^/]+")
    else:
      regex += re.escape(part)
  return re.compile(regex + "$")


_PATTERNS = [(_Pattern(res.path), res) for res in RESOURCES]


def Match(path: str) -> Optional[tuple[Resource, dict[str, str]]]:
  """The resource a (decoded) path names, with its variables, or None."""
  for pattern, resource in _PATTERNS:
    match = pattern.match(path)
    if match:
      return resource, match.groupdict()
  return None
