"""Answers to confd requests, computed from a loaded configuration.

ConfigView indexes one loaded config.data; HANDLERS maps each request type
to its handler and to the query shapes it accepts.  A handler returns
(status, answer, serial).  Answers, error texts and serials follow what the
real Ganeti 3.0 confd sends: most serials are the cluster's serial_no, the
per-node and per-instance answers carry that object's serial_no, errors 0.
"""

import dataclasses
import json
from typing import Any, Callable, Optional

from ganeti import config
from ganeti import confd
from ganeti import constants
from ganeti import paramdefs
from ganeti import serializer

Result = tuple[int, Any, int]

_XEN_HYPERVISORS = frozenset([constants.HT_XEN_PVM, constants.HT_XEN_HVM])
# A data collector that only runs where a Xen hypervisor is enabled
_XEN_ONLY_COLLECTOR = "inst-status-xen"

# Constructor names of the master fields, as the real server shows them
_FIELD_SHOW = {
  confd.REQFIELD_NAME: "ReqFieldName",
  confd.REQFIELD_IP: "ReqFieldIp",
  confd.REQFIELD_MNODE_PIP: "ReqFieldMNodePip",
}


def _ShowStr(text: Optional[str]) -> str:
  return "Nothing" if text is None else "Just %s" % json.dumps(text)


def ShowQuery(query: Any) -> str:
  """The query as the real server names it in "Invalid query type" answers."""
  if query is None:
    return "EmptyQuery"
  if isinstance(query, str):
    return "PlainQuery %s" % json.dumps(query)
  return ("DictQuery (ConfdReqQ {confdReqQIp = %s, confdReqQIpList = [%s],"
          " confdReqQLink = %s, confdReqQFields = [%s]})" %
          (_ShowStr(query.get(confd.REQQ_IP)),
           ",".join(json.dumps(ip) for ip in query.get(confd.REQQ_IPLIST, [])),
           _ShowStr(query.get(confd.REQQ_LINK)),
           ",".join(_FIELD_SHOW[field] for field in query.get(confd.REQQ_FIELDS, []))))


def _Error(answer: Any) -> Result:
  return confd.REPL_STATUS_ERROR, answer, 0


def _FindByName(objs: dict, name: str) -> Optional[Any]:
  """The object named name or, failing that, the one name abbreviates.

  The real server compares case-sensitively and takes "node1" for
  "node1.example.com" only (whole leading components).
  """
  matches = [obj for obj in objs.values()
             if obj.name == name or obj.name.startswith(name + ".")]
  exact = [obj for obj in matches if obj.name == name]
  if exact:
    return exact[0]
  return matches[0] if len(matches) == 1 else None


class ConfigView:
  """One loaded configuration, indexed for the requests."""

  def __init__(self, writer: config.ConfigWriter) -> None:
    self.raw = serializer.LoadJson(writer.GetSerializedConfig())
    self.cluster = writer.GetClusterInfo()
    self.serial = self.cluster.serial_no or 0
    self.nodes = writer.GetAllNodesInfo()
    self.instances = writer.GetAllInstancesInfo()
    self.disks = writer.GetAllDisksInfo()
    self.master = self.nodes[writer.GetMasterNode()]
    self.default_link = self.cluster.SimpleFillNIC({}).get(paramdefs.NIC_LINK, "")
    # the real server lists nodes in reverse uuid order, instances in uuid order
    self.nodes_desc = [self.nodes[uuid] for uuid in sorted(self.nodes, reverse=True)]
    self.instances_asc = [self.instances[uuid] for uuid in sorted(self.instances)]
    self.links: dict[str, dict[str, str]] = {}  # link -> instance IP -> primary node IP
    for inst in self.instances_asc:
      node = self.nodes.get(inst.primary_node)
      for nic in inst.nics:
        if nic.ip and node is not None:
          link = self.cluster.SimpleFillNIC(nic.nicparams).get(paramdefs.NIC_LINK, "")
          self.links.setdefault(link, {}).setdefault(nic.ip, node.primary_ip)

  def FindNode(self, name: str) -> Optional[Any]:
    return _FindByName(self.nodes, name)

  def FindInstance(self, name: str) -> Optional[Any]:
    return _FindByName(self.instances, name)

  def Ok(self, answer: Any, serial: Optional[int] = None) -> Result:
    return confd.REPL_STATUS_OK, answer, self.serial if serial is None else serial


def _Ping(view: ConfigView, _query: Any) -> Result:
  return confd.REPL_STATUS_OK, constants.CONFIG_VERSION, 0


def _NodeRole(view: ConfigView, name: str) -> Result:
  node = view.FindNode(name)
  if node is None:
    return _Error("Failure: prerequisites not met for this operation:\n"
                  "error type: ECodeNoEnt, error details:\nNode name %s not found" % name)
  # the master is recognised by the name as asked, not by the node found;
  # the first matching flag decides
  flags = ((name == view.master.name, confd.NODE_ROLE_MASTER),
           (node.drained, confd.NODE_ROLE_DRAINED),
           (node.offline, confd.NODE_ROLE_OFFLINE),
           (node.master_candidate, confd.NODE_ROLE_CANDIDATE))
  return view.Ok(next((role for flag, role in flags if flag), confd.NODE_ROLE_REGULAR))


def _NodePipByInstanceIp(view: ConfigView, query: dict) -> Result:
  ips = view.links.get(query.get(confd.REQQ_LINK) or view.default_link, {})
  single = query.get(confd.REQQ_IP)
  if single is not None:
    if single in ips:
      return view.Ok(ips[single])
    return _Error(confd.ERROR_UNKNOWN_ENTRY)
  return view.Ok([[confd.REPL_STATUS_OK, ips[ip], view.serial] if ip in ips else
                  [confd.REPL_STATUS_ERROR, confd.ERROR_UNKNOWN_ENTRY, 0]
                  for ip in query.get(confd.REQQ_IPLIST, [])])


_MASTER_FIELDS: dict[int, Callable[[ConfigView], str]] = {
  confd.REQFIELD_NAME: lambda view: view.master.name,
  confd.REQFIELD_IP: lambda view: view.cluster.master_ip,
  confd.REQFIELD_MNODE_PIP: lambda view: view.master.primary_ip,
}


def _ClusterMaster(view: ConfigView, query: Optional[dict]) -> Result:
  if query is None:
    return view.Ok(view.master.name)
  return view.Ok([_MASTER_FIELDS[field](view) for field in query.get(confd.REQQ_FIELDS, [])])


def _NodePipList(view: ConfigView, _query: Any) -> Result:
  return view.Ok([node.primary_ip for node in view.nodes_desc])


def _McPipList(view: ConfigView, _query: Any) -> Result:
  return view.Ok([node.primary_ip for node in view.nodes_desc if node.master_candidate])


def _InstancesIpsList(view: ConfigView, link: Optional[str]) -> Result:
  return view.Ok(sorted(view.links.get(link or view.default_link, {})))


def _NodeDrbd(view: ConfigView, name: str) -> Result:
  node = view.FindNode(name)
  if node is None:
    return _Error("OpPrereqError %s ECodeNoEnt" % json.dumps("Node name %s not found" % name))
  minors = []
  for inst in view.instances_asc:
    for disk in (view.disks.get(uuid) for uuid in inst.disks):
      if disk is None or disk.dev_type != constants.DT_DRBD8:
        continue
      node_a, node_b, _, minor_a, minor_b = disk.logical_id[:5]
      if node.uuid not in (node_a, node_b):
        continue
      minor, peer = (minor_a, node_b) if node.uuid == node_a else (minor_b, node_a)
      role = "primary" if node.uuid == inst.primary_node else "secondary"
      peer_node = view.nodes.get(peer)
      minors.append([node.name, minor, inst.name, disk.iv_name or "", role,
                     peer_node.name if peer_node else peer])
  return view.Ok(minors, node.serial_no)


def _NodeInstances(view: ConfigView, name: str) -> Result:
  node = view.FindNode(name)
  if node is None:
    return _Error("Node not found in the configuration: OpPrereqError %s ECodeNoEnt"
                  % json.dumps("Node name %s not found" % name))
  primary, secondary = [], []
  for inst in view.instances_asc:
    if inst.primary_node == node.uuid:
      primary.append(view.raw["instances"][inst.uuid])
    elif any(node.uuid in (view.disks[uuid].nodes or ())
             for uuid in inst.disks if uuid in view.disks):
      secondary.append(view.raw["instances"][inst.uuid])
  return view.Ok([primary, secondary], node.serial_no)


def _InstanceDisks(view: ConfigView, name: str) -> Result:
  inst = view.FindInstance(name)
  if inst is None:
    return _Error("Instance not found in the configuration: OpPrereqError %s ECodeNoEnt"
                  % json.dumps("Instance name %s not found" % name))
  raw_disks = view.raw.get("disks", {})
  return view.Ok([raw_disks[uuid] for uuid in inst.disks if uuid in raw_disks],
                 inst.serial_no)


def _ConfigQuery(view: ConfigView, path: str) -> Result:
  """The value at a "/key/key/index" path of config.data."""
  parts = path.split("/")[1:]
  if not path.startswith("/") or not all(parts):
    return _Error(confd.ERROR_ARGUMENT)
  value = view.raw
  for part in parts:
    if isinstance(value, dict) and part in value:
      value = value[part]
    elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
      value = value[int(part)]
    else:
      return _Error(confd.ERROR_ARGUMENT)
  return view.Ok(value)


def _DataCollectors(view: ConfigView, _query: Any) -> Result:
  xen = bool(_XEN_HYPERVISORS.intersection(view.cluster.enabled_hypervisors or ()))
  collectors = {}
  for name, settings in sorted((view.cluster.data_collectors or {}).items()):
    collectors[name] = dict(settings)
    if name == _XEN_ONLY_COLLECTOR and not xen:
      collectors[name]["active"] = False
  return view.Ok(collectors)


# Query shapes
EMPTY, PLAIN, DICT = "empty", "plain", "dict"
ANY = frozenset([EMPTY, PLAIN, DICT])

# How a handler refuses a query of the wrong shape
REJECT_SHOW = "show"        # "Invalid query type <the query>"
REJECT_BARE = "bare"        # "Invalid query type"
REJECT_ARGUMENT = "argument"  # the numeric ERROR_ARGUMENT


@dataclasses.dataclass(frozen=True)
class Handler:
  fn: Callable[[ConfigView, Any], Result]
  accepts: frozenset = ANY
  reject: str = REJECT_SHOW


HANDLERS: dict[int, Handler] = {
  confd.REQ_PING: Handler(_Ping),
  confd.REQ_NODE_ROLE_BYNAME: Handler(_NodeRole, frozenset([PLAIN])),
  confd.REQ_NODE_PIP_BY_INSTANCE_IP: Handler(_NodePipByInstanceIp, frozenset([DICT]),
                                             REJECT_ARGUMENT),
  confd.REQ_CLUSTER_MASTER: Handler(_ClusterMaster, frozenset([EMPTY, DICT]),
                                    REJECT_ARGUMENT),
  confd.REQ_NODE_PIP_LIST: Handler(_NodePipList),
  confd.REQ_MC_PIP_LIST: Handler(_McPipList),
  confd.REQ_INSTANCES_IPS_LIST: Handler(_InstancesIpsList, frozenset([EMPTY, PLAIN]),
                                        REJECT_BARE),
  confd.REQ_NODE_DRBD: Handler(_NodeDrbd, frozenset([PLAIN])),
  confd.REQ_NODE_INSTANCES: Handler(_NodeInstances, frozenset([PLAIN])),
  confd.REQ_INSTANCE_DISKS: Handler(_InstanceDisks, frozenset([PLAIN])),
  confd.REQ_CONFIG_QUERY: Handler(_ConfigQuery, frozenset([PLAIN])),
  confd.REQ_DATA_COLLECTORS: Handler(_DataCollectors),
}


def _Shape(query: Any) -> str:
  if query is None:
    return EMPTY
  return PLAIN if isinstance(query, str) else DICT


def Answer(view: ConfigView, req_type: int, query: Any) -> Result:
  """(status, answer, serial) for a parsed request."""
  handler = HANDLERS[req_type]
  if _Shape(query) in handler.accepts:
    return handler.fn(view, query)
  if handler.reject == REJECT_ARGUMENT:
    return _Error(confd.ERROR_ARGUMENT)
  if handler.reject == REJECT_BARE:
    return _Error("Invalid query type")
  return _Error("Invalid query type %s" % ShowQuery(query))
