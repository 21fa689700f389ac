"""Fields of the "instance" resource (items: objects.Instance, context: ConfigContext)."""

from typing import Any, Callable, Optional

from ganeti import constants
from ganeti import objects
from ganeti import paramdefs
from ganeti.hypervisor import hv_base
from ganeti.query import params
from ganeti.query.common import (DATA_CONSOLE, DATA_LIVE, NODATA, OFFLINE, UNAVAIL, Attr, FieldDef,
                                 FieldSet, Fields, OptionalAttr, Ordinal, SerialField,
                                 TagsField, TimestampFields, UuidField)

_DRBD_META_SIZE = 128  # MiB of DRBD metadata per disk

# ---- disks -------------------------------------------------------------------

# name, title prefix, kind, doc pattern, value of a disk object
_DISK_PROPERTIES = [
  ("size", "Disk", constants.QFT_UNIT, "Disk size of %s disk", lambda disk: disk.size),
  ("spindles", "DiskSpindles", constants.QFT_NUMBER, "Spindles of %s disk",
   lambda disk: disk.spindles),
  ("name", "DiskName", constants.QFT_TEXT, "Name of %s disk", lambda disk: disk.name),
  ("uuid", "DiskUUID", constants.QFT_TEXT, "UUID of %s disk", lambda disk: disk.uuid),
]


def _DiskUsage(ctx: Any, inst: Any) -> int:
  """Space the disks take on a node: DRBD adds its metadata, block devices none."""
  total = 0
  for disk in ctx.InstanceDisks(inst):
    if disk.dev_type == constants.DT_DRBD8:
      total += disk.size + _DRBD_META_SIZE
    elif disk.dev_type != constants.DT_BLOCK:
      total += disk.size
  return total


def _DiskFields() -> list[FieldDef]:
  def indexed(value: Callable, index: int) -> Callable:
    def getter(ctx: Any, inst: Any) -> Any:
      disks = ctx.InstanceDisks(inst)
      result = value(disks[index]) if index < len(disks) else None
      return UNAVAIL if result is None else result
    return getter

  def listed(value: Callable) -> Callable:
    return lambda ctx, inst: [value(disk) for disk in ctx.InstanceDisks(inst)]

  fields = []
  for name, title, kind, doc, value in _DISK_PROPERTIES:
    for index in range(paramdefs.MAX_DISKS):
      fields.append(FieldDef("disk.%s/%d" % (name, index), "%s/%d" % (title, index), kind,
                             doc % Ordinal(index + 1), indexed(value, index)))
  values = {name: value for name, _, _, _, value in _DISK_PROPERTIES}
  # Old names of the first two disks' sizes
  for alias, index in (("sda_size", 0), ("sdb_size", 1)):
    fields.append(FieldDef(alias, "Disk/%d" % index, constants.QFT_UNIT,
                           "Disk size of %s disk" % Ordinal(index + 1),
                           indexed(values["size"], index)))
  return fields + Fields([
    ("disk.count", "Disks", constants.QFT_NUMBER, "Number of disks",
     lambda ctx, inst: len(ctx.InstanceDisks(inst))),
    ("disk.sizes", "Disk_sizes", constants.QFT_OTHER, "List of disk sizes",
     listed(values["size"])),
    ("disk.spindles", "Disk_spindles", constants.QFT_OTHER, "List of disk spindles",
     listed(values["spindles"])),
    ("disk.names", "Disk_names", constants.QFT_OTHER, "List of disk names",
     listed(values["name"])),
    ("disk.uuids", "Disk_UUIDs", constants.QFT_OTHER, "List of disk UUIDs",
     listed(values["uuid"])),
    ("disk_template", "Disk_template", constants.QFT_TEXT, "Instance disk template",
     lambda ctx, inst: ctx.DiskTemplate(inst)),
    ("disk_usage", "DiskUsage", constants.QFT_UNIT,
     "Total disk space used by instance on each of its nodes; this is not the disk size"
     " visible to the instance, but the usage on the node", _DiskUsage),
  ])

# ---- network interfaces -----------------------------------------------------------

NicValue = Callable[[Any, Any], Optional[Any]]  # (ctx, nic) -> value or None


def _NicParam(name: str) -> NicValue:
  return lambda ctx, nic: ctx.NicParam(nic, name)


def _Bridge(ctx: Any, nic: Any) -> Optional[str]:
  if ctx.NicParam(nic, paramdefs.NIC_MODE) == paramdefs.NIC_MODE_BRIDGED:
    return ctx.NicParam(nic, paramdefs.NIC_LINK)
  return None


# name, title prefix, doc pattern, list field (name, title, doc), value
_NIC_PROPERTIES: list[tuple[str, str, str, Optional[tuple], NicValue]] = [
  ("ip", "NicIP", "IP address of %s network interface",
   ("nic.ips", "NIC_IPs", "List containing each network interface's IP address"),
   lambda ctx, nic: nic.ip),
  ("mac", "NicMAC", "MAC address of %s network interface",
   ("nic.macs", "NIC_MACs", "List containing each network interface's MAC address"),
   lambda ctx, nic: nic.mac),
  ("mode", "NicMode", "Mode of %s network interface",
   ("nic.modes", "NIC_modes", "List containing each network interface's mode"),
   _NicParam(paramdefs.NIC_MODE)),
  ("link", "NicLink", "Link of %s network interface",
   ("nic.links", "NIC_links", "List containing each network interface's link"),
   _NicParam(paramdefs.NIC_LINK)),
  ("vlan", "NicVLAN", "VLAN of %s network interface",
   ("nic.vlans", "NIC_VLANs", "List containing each network interface's VLAN"),
   lambda ctx, nic: ctx.NicParam(nic, paramdefs.NIC_VLAN) or None),
  ("bridge", "NicBridge", "Bridge of %s network interface",
   ("nic.bridges", "NIC_bridges", "List containing each network interface's bridge"),
   _Bridge),
  ("network", "NicNetwork", "Network of %s network interface",
   ("nic.networks", "NIC_networks", "List containing each interface's network"),
   lambda ctx, nic: nic.network),
  ("network.name", "NicNetworkName", "Network name of %s network interface",
   ("nic.networks.names", "NIC_networks_names",
    "List containing the name of each interface's network"),
   lambda ctx, nic: ctx.NetworkName(nic.network)),
  ("name", "NicName", "Name address of %s network interface",
   ("nic.names", "NIC_Names", "List containing each network interface's name"),
   lambda ctx, nic: nic.name),
  ("uuid", "NicUUID", "UUID address of %s network interface",
   ("nic.uuids", "NIC_UUIDs", "List containing each network interface's UUID"),
   lambda ctx, nic: nic.uuid),
]
# Old names of the first interface's fields
_NIC_ALIASES = {"ip": "ip", "mac": "mac", "bridge": "bridge", "mode": "nic_mode",
                "link": "nic_link", "network": "nic_network"}


def _NicFields() -> list[FieldDef]:
  def indexed(value: NicValue, index: int) -> Callable:
    def getter(ctx: Any, inst: Any) -> Any:
      if index >= len(inst.nics):
        return UNAVAIL
      result = value(ctx, inst.nics[index])
      return UNAVAIL if result is None else result
    return getter

  def listed(value: NicValue) -> Callable:
    return lambda ctx, inst: [value(ctx, nic) for nic in inst.nics]

  fields = []
  for name, title, doc, (list_name, list_title, list_doc), value in _NIC_PROPERTIES:
    for index in range(paramdefs.MAX_NICS):
      fields.append(FieldDef("nic.%s/%d" % (name, index), "%s/%d" % (title, index),
                             constants.QFT_TEXT, doc % Ordinal(index + 1),
                             indexed(value, index)))
    if name in _NIC_ALIASES:
      fields.append(FieldDef(_NIC_ALIASES[name], "%s/0" % title, constants.QFT_TEXT,
                             doc % Ordinal(1), indexed(value, 0)))
    fields.append(FieldDef(list_name, list_title, constants.QFT_OTHER, list_doc,
                           listed(value)))
  return fields + Fields([
    ("nic.count", "NICs", constants.QFT_NUMBER, "Number of network interfaces",
     lambda ctx, inst: len(inst.nics)),
    ("custom_nicparams", "CustomNicParameters", constants.QFT_OTHER,
     "Custom network interface parameters",
     lambda ctx, inst: [nic.nicparams or {} for nic in inst.nics]),
  ])

# ---- nodes ---------------------------------------------------------------------


def _PrimaryGroup(ctx: Any, inst: Any) -> Any:
  return ctx.NodeGroup(inst.primary_node) or UNAVAIL


def _SecondaryGroups(attr: str) -> Callable:
  def getter(ctx: Any, inst: Any) -> list:
    groups = [ctx.NodeGroup(uuid) for uuid in ctx.SecondaryNodes(inst)]
    return [getattr(group, attr) if group else None for group in groups]
  return getter

# ---- runtime state ---------------------------------------------------------------

_KVM_USER_SHUTDOWN = "user_shutdown"  # KVM parameter

# Values of the "status" field
STATUS_RUNNING = "running"
STATUS_ADMIN_DOWN = "ADMIN_down"
STATUS_ADMIN_OFFLINE = "ADMIN_offline"
STATUS_USER_DOWN = "USER_down"
STATUS_ERROR_UP = "ERROR_up"
STATUS_ERROR_DOWN = "ERROR_down"
STATUS_WRONG_NODE = "ERROR_wrongnode"
STATUS_NODE_DOWN = "ERROR_nodedown"
STATUS_NODE_OFFLINE = "ERROR_nodeoffline"


def _LiveInfo(ctx: Any, inst: Any) -> Any:
  """The instance's runtime entry (see ConfigContext.live_instances), None if
  it runs on none of the asked nodes, or why nothing is known: NODATA (not
  collected, or the primary node did not answer), OFFLINE (primary offline)."""
  if ctx.live_instances is None:
    return NODATA
  info = ctx.live_instances.get(inst.uuid)
  if info is not None:
    return info
  node = ctx.nodes.get(inst.primary_node)
  if node is not None and node.offline:
    return OFFLINE
  return NODATA if inst.primary_node in ctx.bad_nodes else None


def _OperState(ctx: Any, inst: Any) -> Any:
  info = _LiveInfo(ctx, inst)
  return info if info is NODATA or info is OFFLINE else info is not None


def _OperValue(key: str) -> Callable:
  def getter(ctx: Any, inst: Any) -> Any:
    info = _LiveInfo(ctx, inst)
    if info is NODATA or info is OFFLINE:
      return info
    return UNAVAIL if info is None else info.get(key, UNAVAIL)
  return getter


def _RestartsWhenShutDown(ctx: Any, inst: Any) -> bool:
  """Whether an instance that shut itself down is to be started again (not
  when KVM lets users shut instances down)."""
  if inst.hypervisor != constants.HT_KVM:
    return True
  return not ctx.FilledHV(inst).get(_KVM_USER_SHUTDOWN)


def InstanceStatus(ctx: Any, inst: Any) -> Any:
  """The "status" field: the admin state compared with the runtime state."""
  node = ctx.nodes.get(inst.primary_node)
  if node is not None and node.offline:
    return STATUS_NODE_OFFLINE
  info = _LiveInfo(ctx, inst)
  if info is NODATA:
    return NODATA if ctx.live_instances is None else STATUS_NODE_DOWN
  admin_up = inst.admin_state == constants.ADMINST_UP
  if info is not None:
    if info["node"] != inst.primary_node:
      return STATUS_WRONG_NODE
    if hv_base.HvInstanceState.IsShutdown(info.get("state")):
      return (STATUS_ERROR_DOWN if admin_up and _RestartsWhenShutDown(ctx, inst)
              else STATUS_USER_DOWN)
    return STATUS_RUNNING if admin_up else STATUS_ERROR_UP
  if admin_up:
    return STATUS_ERROR_DOWN
  if inst.admin_state == constants.ADMINST_DOWN:
    return (STATUS_USER_DOWN if inst.admin_state_source == objects.USER_SOURCE
            else STATUS_ADMIN_DOWN)
  return STATUS_ADMIN_OFFLINE


def _Console(ctx: Any, inst: Any) -> Any:
  return NODATA if ctx.consoles is None else ctx.consoles.get(inst.uuid, NODATA)


_STATUS_DOC = (
  'Instance status; "running" if instance is set to be running and actually is,'
  ' "ADMIN_down" if instance is stopped and is not running, "ERROR_wrongnode" if instance'
  ' running, but not on its designated primary node, "ERROR_up" if instance should be'
  ' stopped, but is actually running, "ERROR_down" if instance should run, but doesn\'t,'
  ' "ERROR_nodedown" if instance\'s primary node is down, "ERROR_nodeoffline" if'
  ' instance\'s primary node is marked offline, "ADMIN_offline" if instance is offline'
  ' and does not use dynamic resources')

FIELDS = FieldSet(constants.QR_INSTANCE, Fields([
  ("name", "Instance", constants.QFT_TEXT, "Instance name", Attr("name")),
  ("os", "OS", constants.QFT_TEXT, "Operating system", Attr("os")),
  ("hypervisor", "Hypervisor", constants.QFT_TEXT, "Hypervisor name", Attr("hypervisor")),
  ("pnode", "Primary_node", constants.QFT_TEXT, "Primary node",
   lambda ctx, inst: ctx.NodeName(inst.primary_node) or UNAVAIL),
  ("pnode.group", "PrimaryNodeGroup", constants.QFT_TEXT, "Primary node's group",
   lambda ctx, inst: getattr(_PrimaryGroup(ctx, inst), "name", UNAVAIL)),
  ("pnode.group.uuid", "PrimaryNodeGroupUUID", constants.QFT_TEXT,
   "Primary node's group UUID",
   lambda ctx, inst: getattr(_PrimaryGroup(ctx, inst), "uuid", UNAVAIL)),
  ("snodes", "Secondary_Nodes", constants.QFT_OTHER,
   "Secondary nodes; usually this will just be one node",
   lambda ctx, inst: [ctx.NodeName(uuid) for uuid in ctx.SecondaryNodes(inst)]),
  ("snodes.group", "SecondaryNodesGroups", constants.QFT_OTHER,
   "Node groups of secondary nodes", _SecondaryGroups("name")),
  ("snodes.group.uuid", "SecondaryNodesGroupsUUID", constants.QFT_OTHER,
   "Node group UUIDs of secondary nodes", _SecondaryGroups("uuid")),
  ("admin_state", "InstanceState", constants.QFT_TEXT, "Desired state of instance",
   Attr("admin_state")),
  ("admin_state_source", "InstanceStateSource", constants.QFT_TEXT,
   "Who last changed the desired state of the instance", Attr("admin_state_source")),
  ("admin_up", "Autostart", constants.QFT_BOOL, "Desired state of instance",
   lambda ctx, inst: inst.admin_state == constants.ADMINST_UP),
  ("disks_active", "DisksActive", constants.QFT_BOOL, "Desired state of instance disks",
   lambda ctx, inst: bool(inst.disks_active)),
  ("forthcoming", "Forthcoming", constants.QFT_BOOL, "whether the Instance is forthcoming",
   lambda ctx, inst: bool(inst.forthcoming)),
  ("network_port", "Network_port", constants.QFT_OTHER,
   "Instance network port if available (e.g. for VNC console)",
   OptionalAttr("network_port")),
  ("beparams", "BackendParameters", constants.QFT_OTHER, "Backend parameters (merged)",
   lambda ctx, inst: ctx.FilledBE(inst)),
  ("custom_beparams", "CustomBackendParameters", constants.QFT_OTHER,
   "Custom backend parameters", lambda ctx, inst: inst.beparams or {}),
  ("hvparams", "HypervisorParameters", constants.QFT_OTHER,
   "Hypervisor parameters (merged)", lambda ctx, inst: ctx.FilledHV(inst)),
  ("custom_hvparams", "CustomHypervisorParameters", constants.QFT_OTHER,
   "Custom hypervisor parameters", lambda ctx, inst: inst.hvparams or {}),
  ("osparams", "OpSysParameters", constants.QFT_OTHER,
   "Operating system parameters (merged)", lambda ctx, inst: ctx.FilledOS(inst)),
  ("custom_osparams", "CustomOpSysParameters", constants.QFT_OTHER,
   "Custom operating system parameters", lambda ctx, inst: inst.osparams or {}),
  ("vcpus", "ConfigVCPUs", constants.QFT_NUMBER,
   'The "%s" backend parameter' % paramdefs.BE_VCPUS,
   params.ParamGetter(paramdefs.BE_VCPUS, lambda ctx, inst: ctx.BackendLayers(inst))),
  ("oper_state", "Running", constants.QFT_BOOL, "Actual state of instance", _OperState,
   DATA_LIVE),
  ("oper_ram", "Memory", constants.QFT_UNIT, "Actual memory usage as seen by hypervisor",
   _OperValue("memory"), DATA_LIVE),
  ("oper_vcpus", "VCPUs", constants.QFT_NUMBER,
   "Actual number of VCPUs as seen by hypervisor", _OperValue("vcpus"), DATA_LIVE),
  ("status", "Status", constants.QFT_TEXT, _STATUS_DOC, InstanceStatus, DATA_LIVE),
  ("console", "Console", constants.QFT_OTHER, "Instance console information", _Console,
   DATA_CONSOLE),
]) + _DiskFields() + _NicFields()
  + params.BackendFields(lambda ctx, inst: ctx.BackendLayers(inst))
  + params.HypervisorFields(lambda ctx, inst: ctx.HypervisorLayers(inst))
  + TimestampFields() + [SerialField("Instance"), TagsField(), UuidField("Instance")],
  namefield="name")
