"""The iallocator protocol (version 2): asking an allocator where instances go.

The master describes the cluster (configuration plus the nodes' live memory,
disk and CPU figures from node_info) and one request in a JSON document, runs
the named allocator script on itself (RPC iallocator_runner; the script is
looked up in pathutils.IALLOCATOR_SEARCH_PATH) and reads back a JSON answer
{"success": bool, "info": str, "result": ...} whose result shape depends on
the request's mode:

- allocate: the node names for a new instance (one, two for DRBD);
- relocate: the new secondary node of a DRBD instance, as a one-name list;
- multi-allocate: [[[instance, [nodes]], ...], [instances not placed]];
- change-group, node-evacuate: [[[instance, group, [nodes]], ...],
  [[instance, reason], ...], [[opcode dict, ...], ...] (jobs to submit)].

When no script of that name is installed (for example "hail" while the
cluster has no htools), the built-in choice (ganeti.cmdlib.builtin_allocator)
answers the same request instead.
"""

import dataclasses
import logging
from typing import Any, Callable, Iterable, Optional

from ganeti import constants
from ganeti import errors
from ganeti import paramdefs as pd
from ganeti import pathutils
from ganeti import serializer
from ganeti.cmdlib import builtin_allocator
from ganeti.cmdlib.base import NoHooksLU

IALLOCATOR_VERSION = 2

MODE_ALLOC = "allocate"
MODE_ALLOCATE_SECONDARY = "allocate-secondary"
MODE_RELOC = "relocate"
MODE_CHG_GROUP = "change-group"
MODE_NODE_EVAC = "node-evacuate"
MODE_MULTI_ALLOC = "multi-allocate"
VALID_MODES = (MODE_CHG_GROUP, MODE_MULTI_ALLOC, MODE_ALLOC, MODE_ALLOCATE_SECONDARY,
               MODE_RELOC, MODE_NODE_EVAC)

DIR_IN = "in"
DIR_OUT = "out"

# gnt-instance ... -I . means the cluster's default allocator
DEFAULT_IALLOCATOR_SHORTCUT = "."

NODE_EVAC_PRI = "primary-only"
NODE_EVAC_SEC = "secondary-only"
NODE_EVAC_ALL = "all"

# DRBD keeps its metadata (this many MiB per disk) next to the data
DRBD_META_SIZE = 128
# Templates whose disks take no space from the nodes' local storage
_NO_LOCAL_SPACE = frozenset([constants.DT_DISKLESS, constants.DT_BLOCK,
                             constants.DT_SHARED_FILE, constants.DT_GLUSTER])
# Storage unit whose space a template's disks use, as node_info's storage_units entry
_STORAGE_UNIT_OF = {
  constants.DT_PLAIN: lambda cfg: [constants.ST_LVM_VG, cfg.GetVGName(), [False]],
  constants.DT_DRBD8: lambda cfg: [constants.ST_LVM_VG, cfg.GetVGName(), [False]],
  constants.DT_FILE: lambda cfg: [constants.ST_FILE, cfg.GetFileStorageDir(), []],
  constants.DT_SHARED_FILE: lambda cfg: [constants.ST_SHARED_FILE,
                                         cfg.GetSharedFileStorageDir(), []],
}


# --- requests -----------------------------------------------------------------

def DiskSpaceTotal(disk_template: str, disk_sizes: Iterable[int]) -> int:
  """MiB of node-local storage the disks of a template take."""
  if disk_template in _NO_LOCAL_SPACE:
    return 0
  sizes = list(disk_sizes)
  extra = DRBD_META_SIZE if disk_template == constants.DT_DRBD8 else 0
  return sum(size + extra for size in sizes)


def RequiredNodes(disk_template: str) -> int:
  return 2 if disk_template in constants.DTS_INT_MIRROR else 1


def AllocateRequest(name: str, disk_template: str, memory: int, vcpus: int,
                    spindle_use: int, disks: list[dict], nics: list[dict], os_name: str,
                    tags: Iterable[str], hypervisor: str,
                    group_name: Optional[str] = None) -> dict:
  """An allocate request for a new instance (disks: dicts with size and mode)."""
  return {
    "name": name,
    "disk_template": disk_template,
    "group_name": group_name,
    "tags": list(tags),
    "os": os_name,
    "vcpus": vcpus,
    "memory": memory,
    "spindle_use": spindle_use,
    "disks": disks,
    "disk_space_total": DiskSpaceTotal(disk_template, [disk["size"] for disk in disks]),
    "nics": nics,
    "required_nodes": RequiredNodes(disk_template),
    "hypervisor": hypervisor,
    "type": MODE_ALLOC,
  }


def MultiAllocateRequest(allocations: list[dict]) -> dict:
  """Several allocate requests answered together."""
  instances = [{key: value for key, value in request.items() if key != "type"}
               for request in allocations]
  return {"instances": instances, "type": MODE_MULTI_ALLOC}


def RelocateRequest(cfg: Any, inst_uuid: str, relocate_from: list[str]) -> dict:
  """A new secondary node for an internally mirrored (DRBD) instance."""
  inst = cfg.GetInstanceInfo(inst_uuid)
  template = cfg.GetInstanceDiskTemplate(inst_uuid)
  if template not in constants.DTS_MIRRORED:
    raise errors.OpPrereqError("Can't relocate non-mirrored instances", errors.ECODE_INVAL)
  if template in constants.DTS_INT_MIRROR and len(cfg.GetInstanceSecondaryNodes(inst_uuid)) != 1:
    raise errors.OpPrereqError("Instance has not exactly one secondary node",
                               errors.ECODE_STATE)
  sizes = [disk.size for disk in cfg.GetInstanceDisks(inst_uuid)]
  return {
    "name": inst.name,
    "disk_space_total": DiskSpaceTotal(template, sizes),
    "required_nodes": 1,
    "relocate_from": cfg.GetNodeNames(relocate_from),
    "type": MODE_RELOC,
  }


def NodeEvacuateRequest(instance_names: list[str], evac_mode: str) -> dict:
  return {"instances": list(instance_names), "evac_mode": evac_mode, "type": MODE_NODE_EVAC}


def ChangeGroupRequest(instance_names: list[str], target_groups: list[str]) -> dict:
  """Moves instances to one of the target groups (by uuid; all others when empty)."""
  return {"instances": list(instance_names), "target_groups": list(target_groups),
          "type": MODE_CHG_GROUP}


# --- the cluster description -------------------------------------------------

def _GroupData(cfg: Any) -> dict:
  cluster = cfg.GetClusterInfo()
  return {
    uuid: {
      "name": group.name,
      "alloc_policy": group.alloc_policy,
      "networks": list(group.networks or {}),
      "ipolicy": cluster.FillIPolicy(group),
      "tags": list(group.GetTags()),
    }
    for uuid, group in cfg.GetAllNodeGroupsInfo().items()
  }


def _StaticNodeData(cfg: Any, node: Any) -> dict:
  cluster = cfg.GetClusterInfo()
  return {
    "tags": list(node.GetTags()),
    "primary_ip": node.primary_ip,
    "secondary_ip": node.secondary_ip,
    "offline": node.offline,
    "drained": node.drained,
    "master_candidate": node.master_candidate,
    "group": node.group,
    "master_capable": node.master_capable,
    "vm_capable": node.vm_capable,
    "ndparams": cluster.FillND(node, cfg.GetNodeGroup(node.group)),
  }


def _LiveNodeInfo(cfg: Any, rpc: Any, node_uuids: list[str], hvname: str,
                  disk_template: str) -> tuple[dict, dict]:
  """({node uuid: (storage info, hv info)}, {node uuid: {instance: live info}});
  the storage figures are those of the storage disk_template's disks use."""
  cluster = cfg.GetClusterInfo()
  unit = _STORAGE_UNIT_OF.get(disk_template)
  storage_units = [unit(cfg)] if unit else []
  hvparams = cluster.hvparams.get(hvname, {})
  infos = rpc.call_node_info(node_uuids, storage_units, [(hvname, hvparams)])
  running = rpc.call_all_instances_info(node_uuids, [hvname], {hvname: hvparams})
  node_info, node_instances = {}, {}
  for uuid in node_uuids:
    result = infos[uuid]
    if result.fail_msg:
      raise errors.OpPrereqError("Can't get data for node %s: %s" %
                                 (cfg.GetNodeName(uuid), result.fail_msg),
                                 errors.ECODE_ENVIRON)
    _, storage, hv_info = result.payload
    node_info[uuid] = (storage[0] if storage else {}, hv_info[0] if hv_info else {})
    answer = running[uuid]
    node_instances[uuid] = {} if answer.fail_msg else (answer.payload or {})
  return node_info, node_instances


def _DynamicNodeData(cfg: Any, node_uuid: str, storage: dict, hv_info: dict,
                     running: dict) -> dict:
  """Memory, disk and CPU figures of one node; memory that an instance marked
  up may still claim (up to its maximum) does not count as free."""
  cluster = cfg.GetClusterInfo()
  free_memory = hv_info.get("memory_free", 0)
  pri_memory = pri_up_memory = 0
  for inst in cfg.GetAllInstancesInfo().values():
    if inst.primary_node != node_uuid:
      continue
    maxmem = cluster.FillBE(inst)[pd.BE_MAXMEM]
    pri_memory += maxmem
    if inst.admin_state == constants.ADMINST_UP:
      pri_up_memory += maxmem
      used = running.get(inst.name, {}).get("memory", 0)
      free_memory -= max(0, maxmem - used)
  return {
    "total_memory": hv_info.get("memory_total", 0),
    "reserved_memory": hv_info.get("memory_dom0", 0),
    "free_memory": max(0, free_memory),
    "total_disk": storage.get("storage_size") or 0,
    "free_disk": storage.get("storage_free") or 0,
    "total_spindles": storage.get("spindles_total") or 0,
    "free_spindles": storage.get("spindles_free") or 0,
    "total_cpus": hv_info.get("cpu_total", 0),
    "reserved_cpus": hv_info.get("cpu_dom0", 0),
    "i_pri_memory": pri_memory,
    "i_pri_up_memory": pri_up_memory,
  }


def _NodeData(cfg: Any, rpc: Any, hvname: str, disk_template: str) -> dict:
  """Every node by name; online vm-capable nodes with their live figures."""
  nodes = cfg.GetAllNodesInfo()
  live = [uuid for uuid, node in nodes.items() if not node.offline and node.vm_capable]
  node_info, node_instances = (_LiveNodeInfo(cfg, rpc, live, hvname, disk_template) if live
                               else ({}, {}))
  data = {}
  for uuid, node in nodes.items():
    entry = {}
    if uuid in node_info:
      storage, hv_info = node_info[uuid]
      entry.update(_DynamicNodeData(cfg, uuid, storage, hv_info, node_instances[uuid]))
    entry.update(_StaticNodeData(cfg, node))
    data[node.name] = entry
  return data


def NicData(cluster: Any, nic: Any) -> dict:
  """A NIC as the allocator input describes it (its filled mode and link)."""
  params = cluster.FillNIC(nic)
  entry = {"mac": nic.mac, "ip": nic.ip, "mode": params.get(pd.NIC_MODE),
           "link": params.get(pd.NIC_LINK)}
  if entry["mode"] == pd.NIC_MODE_BRIDGED:
    entry["bridge"] = entry["link"]
  return entry


def _InstanceData(cfg: Any) -> dict:
  cluster = cfg.GetClusterInfo()
  data = {}
  for uuid, inst in cfg.GetAllInstancesInfo().items():
    beparams = cluster.FillBE(inst)
    disks = cfg.GetInstanceDisks(uuid)
    template = cfg.GetInstanceDiskTemplate(uuid)
    data[inst.name] = {
      "tags": list(inst.GetTags()),
      "admin_state": inst.admin_state,
      "vcpus": beparams[pd.BE_VCPUS],
      "memory": beparams[pd.BE_MAXMEM],
      "spindle_use": beparams[pd.BE_SPINDLE_USE],
      "os": inst.os,
      "nodes": list(cfg.GetNodeNames(cfg.GetInstanceNodes(uuid))),
      "nics": [NicData(cluster, nic) for nic in inst.nics],
      "disks": [{"dev_type": disk.dev_type, "size": disk.size, "mode": disk.mode,
                 "spindles": disk.spindles} for disk in disks],
      "disk_template": template,
      "disks_active": inst.disks_active,
      "hypervisor": inst.hypervisor,
      "disk_space_total": DiskSpaceTotal(template, [disk.size for disk in disks]),
    }
  return data


def _RequestDiskTemplate(cfg: Any, request: dict) -> str:
  """The disk template whose storage the nodes' disk figures describe: the
  request's (or its first instance's), else the cluster's default one."""
  entries = [request] + [entry for entry in request.get("instances", [])
                         if isinstance(entry, dict)]
  for entry in entries:
    if entry.get("disk_template"):
      return entry["disk_template"]
  names = ([request["name"]] if "name" in request else
           [name for name in request.get("instances", []) if isinstance(name, str)])
  for name in names:
    inst = cfg.GetInstanceInfoByName(name)
    if inst is not None:
      return cfg.GetInstanceDiskTemplate(inst.uuid)
  templates = cfg.GetClusterInfo().enabled_disk_templates
  return templates[0] if templates else constants.DT_DISKLESS


def BuildInput(cfg: Any, rpc: Any, request: dict) -> dict:
  """The whole allocator input: the cluster, its groups, nodes and instances
  and the request."""
  cluster = cfg.GetClusterInfo()
  hvname = request.get("hypervisor") or cluster.enabled_hypervisors[0]
  return {
    "version": IALLOCATOR_VERSION,
    "cluster_name": cfg.GetClusterName(),
    "cluster_tags": list(cluster.GetTags()),
    "enabled_hypervisors": list(cluster.enabled_hypervisors),
    "ipolicy": cluster.ipolicy,
    "nodegroups": _GroupData(cfg),
    "nodes": _NodeData(cfg, rpc, hvname, _RequestDiskTemplate(cfg, request)),
    "instances": _InstanceData(cfg),
    "request": request,
  }


# --- answers -------------------------------------------------------------------

def _IsStrList(value: Any) -> bool:
  return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _IsMultiAllocResult(value: Any) -> bool:
  return (isinstance(value, list) and len(value) == 2 and isinstance(value[0], list)
          and all(isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)
                  and _IsStrList(entry[1]) for entry in value[0])
          and _IsStrList(value[1]))


def _IsEvacResult(value: Any) -> bool:
  """[moved: [instance, group, [nodes]], failed: [instance, reason], jobs]."""
  if not (isinstance(value, list) and len(value) == 3
          and all(isinstance(part, list) for part in value)):
    return False
  moved, failed, jobs = value
  return (all(isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], str)
              and isinstance(entry[1], str) and _IsStrList(entry[2]) for entry in moved)
          and all(isinstance(entry, list) and len(entry) == 2
                  and all(isinstance(item, str) for item in entry) for entry in failed)
          and all(isinstance(job, list) and all(isinstance(op, dict) for op in job)
                  for job in jobs))


# mode -> (what the result must be, for messages; its check)
_RESULT_SHAPES: dict[str, tuple[str, Callable[[Any], bool]]] = {
  MODE_ALLOC: ("a list of node names", _IsStrList),
  MODE_RELOC: ("a list of node names", _IsStrList),
  MODE_ALLOCATE_SECONDARY: ("a node name", lambda value: isinstance(value, str)),
  MODE_MULTI_ALLOC: ("[[[instance, [nodes]], ...], [instances]]", _IsMultiAllocResult),
  MODE_CHG_GROUP: ("[moved, failed, jobs]", _IsEvacResult),
  MODE_NODE_EVAC: ("[moved, failed, jobs]", _IsEvacResult),
}


@dataclasses.dataclass
class Answer:
  """An allocator's validated answer, with the texts exchanged."""
  success: bool
  info: str
  result: Any
  in_text: str
  out_text: str
  builtin: bool = False


def ParseAnswer(mode: str, out_text: str) -> tuple[bool, str, Any]:
  """(success, info, result) of an allocator's output; OpExecError when the
  output is not a well-formed answer for mode."""
  try:
    answer = serializer.LoadJson(out_text)
  except Exception as err:  # pylint: disable=broad-except
    raise errors.OpExecError("Can't parse iallocator results: %s" % err) from None
  if not isinstance(answer, dict):
    raise errors.OpExecError("Can't parse iallocator results: not a dictionary")
  if "result" not in answer and "nodes" in answer:
    answer["result"] = answer["nodes"]  # the key's name before protocol version 2
  for key in ("success", "info", "result"):
    if key not in answer:
      raise errors.OpExecError("Can't parse iallocator results: missing key '%s'" % key)
  if not isinstance(answer["success"], bool):
    raise errors.OpExecError("Can't parse iallocator results: 'success' is not a boolean")
  if answer["success"]:
    what, check = _RESULT_SHAPES[mode]
    if not check(answer["result"]):
      raise errors.OpExecError("Iallocator returned invalid result for mode '%s',"
                               " expected %s, got %s" % (mode, what, answer["result"]))
  return answer["success"], str(answer["info"]), answer["result"]


def IsInstalled(name: str) -> bool:
  """Whether an allocator script called name is installed on this (the master)
  node, where iallocator_runner runs it."""
  return pathutils.IAllocatorScript(name) is not None


def Run(cfg: Any, rpc: Any, name: str, request: dict, validate: bool = True,
        exclude: Iterable[str] = ()) -> Answer:
  """Asks the allocator called name: its script when installed, else the
  built-in choice.  exclude names nodes the answer may not use; the built-in
  choice avoids them and a script's answer naming one is refused by callers."""
  data = BuildInput(cfg, rpc, request)
  in_text = serializer.DumpJson(data)
  if IsInstalled(name):
    result = rpc.call_iallocator_runner(cfg.GetMasterNode(), name, in_text,
                                        cfg.GetDefaultIAllocatorParameters())
    result.Raise("Failure while running the iallocator script")
    out_text, builtin = result.payload, False
  else:
    logging.info("No allocator script '%s' installed; the built-in choice answers", name)
    out_text = serializer.DumpJson(builtin_allocator.Answer(data, exclude=exclude))
    builtin = True
  if not validate:
    return Answer(True, "", None, in_text, out_text, builtin)
  success, info, result = ParseAnswer(request["type"], out_text)
  return Answer(success, info, result, in_text, out_text, builtin)


def ResolveName(cfg: Any, iallocator: Optional[str]) -> str:
  """The allocator to use: the one named, or the cluster default for none or "."."""
  if iallocator and iallocator != DEFAULT_IALLOCATOR_SHORTCUT:
    return iallocator
  default = cfg.GetDefaultIAllocator()
  if not default:
    raise errors.OpPrereqError("No iallocator or node given and no cluster-wide default"
                               " iallocator found; please specify either an iallocator"
                               " or a node, or set a cluster-wide default iallocator",
                               errors.ECODE_INVAL)
  return default


def NodeUuidsOf(cfg: Any, name: str, node_names: list[str],
                exclude: Iterable[str] = ()) -> list[str]:
  """The uuids of the nodes an answer names; OpPrereqError for an unknown or
  excluded one."""
  uuids = []
  for node_name in node_names:
    node = cfg.GetNodeInfoByName(node_name)
    if node is None:
      raise errors.OpPrereqError("Iallocator '%s' returned unknown node '%s'" %
                                 (name, node_name), errors.ECODE_NORES)
    if node_name in exclude:
      raise errors.OpPrereqError("Iallocator '%s' returned node '%s', which cannot be"
                                 " used here" % (name, node_name), errors.ECODE_NORES)
    uuids.append(node.uuid)
  return uuids


def ChooseNodes(cfg: Any, rpc: Any, name: str, request: dict,
                exclude: Iterable[str] = ()) -> tuple[list[str], list[str]]:
  """Runs an allocate or relocate request: (uuids, names) of the nodes the
  allocator chose, none in exclude (node names); OpPrereqError for a failed
  request or an answer of the wrong size."""
  answer = Run(cfg, rpc, name, request, exclude=exclude)
  if not answer.success:
    raise errors.OpPrereqError("Can't compute nodes using iallocator '%s': %s" %
                               (name, answer.info), errors.ECODE_NORES)
  if len(answer.result) != request["required_nodes"]:
    raise errors.OpPrereqError("iallocator '%s' returned invalid number of nodes (%s),"
                               " required %s" % (name, len(answer.result),
                                                 request["required_nodes"]),
                               errors.ECODE_FAULT)
  return NodeUuidsOf(cfg, name, answer.result, exclude=exclude), list(answer.result)


# --- gnt-debug allocator --------------------------------------------------------

_TEST_MODES = (MODE_ALLOC, MODE_MULTI_ALLOC, MODE_RELOC, MODE_CHG_GROUP, MODE_NODE_EVAC)
# Attributes an allocation test needs in the opcode
_ALLOC_ATTRS = ("memory", "disks", "disk_template", "os", "tags", "nics", "vcpus")


def _ValidDisk(disk: Any) -> bool:
  return (isinstance(disk, dict) and isinstance(disk.get("size"), int)
          and disk.get("mode") in ("rw", "ro"))


class LUTestAllocator(NoHooksLU):
  """Shows an allocator's input for a request (direction "in") or runs the
  allocator on it and returns its unchecked output (direction "out")."""

  REQ_BGL = False

  def ExpandNames(self) -> None:
    self.needed_locks = {}

  def CheckPrereq(self) -> None:
    op = self.op
    if op.mode not in _TEST_MODES:
      raise errors.OpPrereqError("Invalid test allocator mode '%s'" % op.mode,
                                 errors.ECODE_INVAL)
    if op.mode in (MODE_ALLOC, MODE_MULTI_ALLOC):
      for attr in _ALLOC_ATTRS:
        if getattr(op, attr, None) is None:
          raise errors.OpPrereqError("Missing attribute '%s' on opcode input" % attr,
                                     errors.ECODE_INVAL)
      if not all(_ValidDisk(disk) for disk in op.disks):
        raise errors.OpPrereqError("Invalid contents of the 'disks' parameter",
                                   errors.ECODE_INVAL)
      if op.hypervisor is None:
        op.hypervisor = self.cfg.GetClusterInfo().enabled_hypervisors[0]
    elif op.mode == MODE_RELOC:
      self.inst_uuid = self._InstanceUuid(op.name)
    else:
      if not op.instances:
        raise errors.OpPrereqError("Missing attribute 'instances' on opcode input",
                                   errors.ECODE_INVAL)
      op.instances = [self.cfg.GetInstanceName(self._InstanceUuid(name))
                      for name in op.instances]
    if op.direction == DIR_OUT and not op.iallocator:
      raise errors.OpPrereqError("Missing allocator name", errors.ECODE_INVAL)

  def _InstanceUuid(self, name: str) -> str:
    full = self.cfg.ExpandInstanceName(name)
    if full is None:
      raise errors.OpPrereqError("Instance '%s' not known" % name, errors.ECODE_NOENT)
    return self.cfg.GetInstanceInfoByName(full).uuid

  def _AllocateRequest(self, name: str) -> dict:
    op = self.op
    return AllocateRequest(name, op.disk_template, op.memory, op.vcpus, op.spindle_use,
                           op.disks, op.nics, op.os, op.tags, op.hypervisor,
                           group_name=op.group_name)

  def _Request(self) -> dict:
    op = self.op
    if op.mode == MODE_ALLOC:
      return self._AllocateRequest(op.name)
    if op.mode == MODE_MULTI_ALLOC:
      return MultiAllocateRequest([self._AllocateRequest("%s%d" % (op.name, index))
                                   for index in range(op.count)])
    if op.mode == MODE_RELOC:
      return RelocateRequest(self.cfg, self.inst_uuid,
                             list(self.cfg.GetInstanceSecondaryNodes(self.inst_uuid)))
    if op.mode == MODE_CHG_GROUP:
      return ChangeGroupRequest(op.instances, op.target_groups or [])
    return NodeEvacuateRequest(op.instances, op.evac_mode)

  def Exec(self, feedback_fn: Any) -> str:
    request = self._Request()
    if self.op.direction == DIR_IN:
      return serializer.DumpJson(BuildInput(self.cfg, self.rpc, request))
    return Run(self.cfg, self.rpc, self.op.iallocator, request, validate=False).out_text
