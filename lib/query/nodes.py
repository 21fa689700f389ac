"""Fields of the "node" resource (items: objects.Node, context: ConfigContext)."""

from typing import Any

from ganeti import constants
from ganeti import paramdefs
from ganeti.query import params
from ganeti.query.common import (DATA_LIVE, NODATA, OFFLINE, UNAVAIL, Attr, FieldSet,
                                 Fields, SerialField, TagsField, TimestampFields, UuidField)


def _Role(ctx: Any, node: Any) -> str:
  if node.uuid == ctx.cluster.master_node:
    return constants.NR_MASTER
  if node.master_candidate:
    return constants.NR_MCANDIDATE
  if node.drained:
    return constants.NR_DRAINED
  if node.offline:
    return constants.NR_OFFLINE
  return constants.NR_REGULAR


def _Group(ctx: Any, node: Any) -> Any:
  group = ctx.groups.get(node.group)
  return group.name if group else UNAVAIL


def _Powered(ctx: Any, node: Any) -> Any:
  """Known only where an out-of-band program reports it."""
  if not ctx.FilledND(node).get(paramdefs.ND_OOB_PROGRAM):
    return UNAVAIL
  return node.powered


def _Live(name: str) -> Any:
  def getter(ctx: Any, node: Any) -> Any:
    if node.offline:
      return OFFLINE
    if ctx.live_nodes is None:
      return NODATA
    values = ctx.live_nodes.get(node.uuid)
    return NODATA if values is None else values.get(name, NODATA)
  return getter


_LIVE_FIELDS = [
  ("mtotal", "MTotal", constants.QFT_UNIT, "Total amount of memory of physical machine"),
  ("mnode", "MNode", constants.QFT_UNIT, "Amount of memory used by node (dom0 for Xen)"),
  ("mfree", "MFree", constants.QFT_UNIT, "Memory available for instance allocations"),
  ("dtotal", "DTotal", constants.QFT_UNIT,
   "Total storage space on storage unit for instance disk allocation"),
  ("dfree", "DFree", constants.QFT_UNIT, "Available storage space on storage unit"),
  ("sptotal", "SpTotal", constants.QFT_NUMBER,
   "Total spindles in volume group (exclusive storage only)"),
  ("spfree", "SpFree", constants.QFT_NUMBER,
   "Available spindles in volume group (exclusive storage only)"),
  ("ctotal", "CTotal", constants.QFT_NUMBER, "Number of logical processors"),
  ("cnos", "CNOs", constants.QFT_NUMBER,
   "Number of logical processors used by the node OS (dom0 for Xen)"),
  ("cnodes", "CNodes", constants.QFT_NUMBER,
   "Number of NUMA domains on node (if exported by hypervisor)"),
  ("csockets", "CSockets", constants.QFT_NUMBER,
   "Number of physical CPU sockets (if exported by hypervisor)"),
  ("bootid", "BootID", constants.QFT_TEXT,
   "Random UUID renewed for each system reboot, can be used for detecting reboots by"
   " tracking changes"),
]

FIELDS = FieldSet(constants.QR_NODE, Fields([
  ("name", "Node", constants.QFT_TEXT, "Node name", Attr("name")),
  ("pip", "PrimaryIP", constants.QFT_TEXT, "Primary IP address", Attr("primary_ip")),
  ("sip", "SecondaryIP", constants.QFT_TEXT, "Secondary IP address", Attr("secondary_ip")),
  ("master", "IsMaster", constants.QFT_BOOL, "Whether node is master",
   lambda ctx, node: node.uuid == ctx.cluster.master_node),
  ("master_candidate", "MasterC", constants.QFT_BOOL, "Whether node is a master candidate",
   Attr("master_candidate")),
  ("master_capable", "MasterCapable", constants.QFT_BOOL,
   "Whether node can become a master candidate", Attr("master_capable")),
  ("vm_capable", "VMCapable", constants.QFT_BOOL, "Whether node can host instances",
   Attr("vm_capable")),
  ("offline", "Offline", constants.QFT_BOOL, "Whether node is marked offline",
   Attr("offline")),
  ("drained", "Drained", constants.QFT_BOOL, "Whether node is drained", Attr("drained")),
  ("role", "Role", constants.QFT_TEXT,
   'Node role; "M" for master, "C" for master candidate, "R" for regular, "D" for'
   ' drained, "O" for offline', _Role),
  ("group", "Group", constants.QFT_TEXT, "Node group", _Group),
  ("group.uuid", "GroupUUID", constants.QFT_TEXT, "UUID of node group", Attr("group")),
  ("ndparams", "NodeParameters", constants.QFT_OTHER, "Merged node parameters",
   lambda ctx, node: ctx.FilledND(node)),
  ("custom_ndparams", "CustomNodeParameters", constants.QFT_OTHER, "Custom node parameters",
   lambda ctx, node: node.ndparams or {}),
  ("pinst_cnt", "Pinst", constants.QFT_NUMBER,
   "Number of instances with this node as primary",
   lambda ctx, node: len(ctx.PrimaryInstances(node.uuid))),
  ("pinst_list", "PriInstances", constants.QFT_OTHER,
   "List of instances with this node as primary",
   lambda ctx, node: ctx.PrimaryInstances(node.uuid)),
  ("sinst_cnt", "Sinst", constants.QFT_NUMBER,
   "Number of instances with this node as secondary",
   lambda ctx, node: len(ctx.SecondaryInstances(node.uuid))),
  ("sinst_list", "SecInstances", constants.QFT_OTHER,
   "List of instances with this node as secondary",
   lambda ctx, node: ctx.SecondaryInstances(node.uuid)),
  ("powered", "Powered", constants.QFT_BOOL, "Whether node is thought to be powered on",
   _Powered),
  # Ganeti 3.0's query daemon does not report these
  ("hv_state", "HypervisorState", constants.QFT_OTHER, "Hypervisor state",
   lambda ctx, node: UNAVAIL),
  ("disk_state", "DiskState", constants.QFT_OTHER, "Disk state", lambda ctx, node: UNAVAIL),
]) + Fields(row + (_Live(row[0]), DATA_LIVE) for row in _LIVE_FIELDS)
  + params.NodeParamFields(lambda ctx, node: ctx.NodeLayers(node))
  + TimestampFields() + [SerialField("Node"), TagsField(), UuidField("Node")],
  namefield="name")
