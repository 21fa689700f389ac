"""Backends that build the cluster model: text file (-t), simulation specs
(--simulate), the master daemon over LUXI (-L), its RAPI daemon (-m) and an
iallocator request (-I).  Each returns a model.Cluster; Load picks one from
the options.
"""

import re
from typing import Any, Optional

from ganeti import constants
from ganeti import luxi
from ganeti import pathutils
from ganeti import serializer
from ganeti.htools import model
from ganeti.htools import textfmt

# ipolicy keys of Ganeti's config, in ISpec field order
ISPEC_KEYS = ("memory-size", "cpu-count", "disk-size", "disk-count", "nic-count", "spindle-use")


class LoadError(Exception):
  pass


# lower-case m/g/t and mib/gib/tib are binary; upper-case M/G/T and MB/GB/TB are SI
_BINARY_UNITS = {"": 1, "m": 1, "mib": 1, "g": 1024, "gib": 1024, "t": 1024 ** 2, "tib": 1024 ** 2}
_SI_UNITS = {"M": 1000 ** 2, "MB": 1000 ** 2, "G": 1000 ** 3, "GB": 1000 ** 3,
             "T": 1000 ** 4, "TB": 1000 ** 4}


def ParseUnit(text: str) -> int:
  """MiB in a size with an optional unit."""
  match = re.match(r"^\s*([0-9.]+)\s*([a-zA-Z]*)\s*$", text)
  if not match:
    raise LoadError("Invalid unit value '%s'" % text)
  number, unit = float(match.group(1)), match.group(2)
  if unit in ("", "m", "g", "t") or unit.lower() in ("mib", "gib", "tib"):
    return int(number * _BINARY_UNITS[unit.lower()])
  if unit in ("M", "G", "T") or unit.upper() in ("MB", "GB", "TB"):
    return int(number * _SI_UNITS[unit.upper()] / 1024 ** 2)
  raise LoadError("Unknown unit '%s'" % unit)


_POLICY_SHORT = {"p": "preferred", "a": "last_resort", "u": "unallocable"}


def Simulate(specs: list[str]) -> model.Cluster:
  """An empty cluster from --simulate specs: policy,count,disk,memory,cpus[,spindles]."""
  groups, nodes = [], []
  for number, spec in enumerate(specs, start=1):
    parts = spec.split(",")
    if len(parts) not in (5, 6):
      raise LoadError("Invalid cluster specification, expected 5 or 6 comma-separated"
                      " values, got '%s'" % spec)
    policy = _POLICY_SHORT.get(parts[0], parts[0])
    if policy not in model.ALLOC_POLICIES:
      raise LoadError("Invalid alloc_policy value '%s'" % parts[0])
    count = int(parts[1])
    disk, mem = ParseUnit(parts[2]), ParseUnit(parts[3])
    cpus = int(parts[4])
    spindles = int(parts[5]) if len(parts) == 6 else 1
    group = len(groups)
    groups.append(model.Group("group-%02d" % number, "fake-uuid-%02d" % number, policy))
    for pos in range(1, count + 1):
      nodes.append(model.Node("node-%02d-%03d" % (number, pos), mem, 0, mem, disk, disk, cpus,
                              group=group, spindles=spindles, master=not nodes, n_cpu=1))
  return model.Cluster(groups, nodes, [])


def _IPolicy(data: dict) -> model.IPolicy:
  def _Spec(values: dict) -> model.ISpec:
    return model.ISpec(*[int(values.get(key, 0)) for key in ISPEC_KEYS])
  minmax = [(_Spec(entry["min"]), _Spec(entry["max"])) for entry in data.get("minmax", [])]
  return model.IPolicy(minmax, _Spec(data.get("std", {})), list(data.get("disk-templates", [])),
                       float(data.get("vcpu-ratio", 4.0)), float(data.get("spindle-ratio", 32.0)))


def _DiskTotal(template: str, sizes: list[int]) -> int:
  if template in ("diskless", "sharedfile", "blockdev", "gluster", "rbd", "ext", "file"):
    return sum(sizes) if template == "file" else 0
  return sum(sizes) + (128 * len(sizes) if template == "drbd" else 0)


def FromIAllocator(data: dict) -> model.Cluster:
  """The cluster an iallocator request describes (the request itself is left to hail)."""
  groups = []
  group_pos = {}
  for uuid, info in data.get("nodegroups", {}).items():
    group_pos[uuid] = len(groups)
    groups.append(model.Group(info["name"], uuid, info.get("alloc_policy", "preferred"),
                              info.get("tags", []), info.get("networks", []),
                              _IPolicy(info["ipolicy"]) if info.get("ipolicy") else None))
  nodes = []
  node_pos = {}
  for name, info in sorted(data.get("nodes", {}).items()):
    offline = bool(info.get("offline") or info.get("drained") or not info.get("vm_capable", True))
    if "total_memory" not in info:
      offline = True
    ndparams = info.get("ndparams", {})
    # memory of instances marked down counts as used: they may start any time
    down_memory = int(info.get("i_pri_memory", 0)) - int(info.get("i_pri_up_memory", 0))
    node = model.Node(
      name, int(info.get("total_memory", 0)), int(info.get("reserved_memory", 0)),
      int(info.get("free_memory", 0)) - down_memory, int(info.get("total_disk", 0)),
      int(info.get("free_disk", 0)), int(info.get("total_cpus", 0)), offline=offline,
      group=group_pos.get(info.get("group"), 0),
      spindles=int(info.get("total_spindles") or ndparams.get("spindle_count", 1) or 1),
      tags=list(info.get("tags", [])), excl_stor=bool(ndparams.get("exclusive_storage", False)),
      free_spindles=int(info.get("free_spindles", 0) or 0),
      n_cpu=int(info.get("reserved_cpus", 1) or 1),
      cpu_speed=float(ndparams.get("cpu_speed", 1.0)))
    node_pos[name] = len(nodes)
    nodes.append(node)
  instances = []
  for name, info in sorted(data.get("instances", {}).items()):
    placed = [node_pos[n] for n in info.get("nodes", []) if n in node_pos]
    template = info.get("disk_template", "drbd")
    sizes = [int(disk["size"]) for disk in info.get("disks", [])]
    # down instances hold their memory here (see the nodes above)
    status = "ADMIN_offline" if info.get("admin_state") == "offline" else "running"
    dsk = int(info.get("disk_space_total", _DiskTotal(template, sizes)))
    instances.append(model.Instance(
      name, int(info["memory"]), dsk, int(info["vcpus"]), status, True,
      placed[0] if placed else model.NO_NODE, placed[1] if len(placed) > 1 else model.NO_NODE,
      template, list(info.get("tags", [])), int(info.get("spindle_use", 1)),
      disks=sizes, nics=len(info.get("nics", []))))
  ipolicy = _IPolicy(data["ipolicy"]) if data.get("ipolicy") else None
  return model.Cluster(groups, nodes, instances, data.get("cluster_tags", []), ipolicy)


def LoadIAllocatorFile(path: str) -> tuple[model.Cluster, dict]:
  with open(path, encoding="utf-8") as handle:
    data = serializer.LoadJson(handle.read())
  return FromIAllocator(data), data


_NODE_FIELDS = ["name", "mtotal", "mnode", "mfree", "dtotal", "dfree", "ctotal", "offline",
                "drained", "vm_capable", "ndp/spindle_count", "group.uuid", "tags",
                "ndp/exclusive_storage", "sptotal", "spfree", "ndp/cpu_speed", "master"]
_INSTANCE_FIELDS = ["name", "be/maxmem", "disk_usage", "be/vcpus", "status", "be/auto_balance",
                    "pnode", "snodes", "disk_template", "tags", "be/spindle_use",
                    "disk.spindles", "disk.sizes", "nic.count"]
_GROUP_FIELDS = ["uuid", "name", "alloc_policy", "ipolicy", "tags"]
# groups have no networks field: each network lists the groups it is
# connected to, as (group name, NIC mode, NIC link)
_NETWORK_FIELDS = ["uuid", "group_list"]


def _Values(answer: dict) -> list[list[Any]]:
  return [[value for _, value in row] for row in answer["data"]]


def FromLuxi(path: Optional[str] = None) -> model.Cluster:
  """The cluster as the master daemon reports it."""
  client = luxi.Client(address=path or pathutils.MASTER_SOCKET)
  try:
    group_rows = _Values(client.Query("group", _GROUP_FIELDS, None))
    network_rows = _Values(client.Query("network", _NETWORK_FIELDS, None))
    node_rows = _Values(client.Query("node", _NODE_FIELDS, None))
    inst_rows = _Values(client.Query("instance", _INSTANCE_FIELDS, None))
    info = client.QueryClusterInfo()
    tags = client.QueryTags("cluster", "")
  finally:
    client.Close()
  return _Build(group_rows, network_rows, node_rows, inst_rows, info, tags)


def _Build(group_rows: list[list[Any]], network_rows: list[list[Any]],
           node_rows: list[list[Any]], inst_rows: list[list[Any]], info: dict,
           tags: list[str]) -> model.Cluster:
  """The model from query rows in the order of _GROUP_FIELDS,
  _NETWORK_FIELDS, _NODE_FIELDS and _INSTANCE_FIELDS, the cluster info and
  the cluster tags."""
  connected: dict[str, list[str]] = {}
  for network_uuid, group_list in network_rows:
    for entry in group_list or []:
      connected.setdefault(entry[0], []).append(network_uuid)
  groups, group_pos = [], {}
  for uuid, name, policy, ipolicy, group_tags in group_rows:
    group_pos[uuid] = len(groups)
    groups.append(model.Group(name, uuid, policy, group_tags or [], connected.get(name, []),
                              _IPolicy(ipolicy) if ipolicy else None))
  nodes, node_pos = [], {}
  for row in node_rows:
    (name, mtotal, mnode, mfree, dtotal, dfree, ctotal, offline, drained, vm_capable, spindles,
     group, node_tags, excl, sptotal, spfree, cpu_speed, master) = row
    unknown = any(value is None for value in (mtotal, mnode, mfree, dtotal, dfree, ctotal))
    node_pos[name] = len(nodes)
    nodes.append(model.Node(
      name, int(mtotal or 0), int(mnode or 0), int(mfree or 0), int(dtotal or 0),
      int(dfree or 0), int(ctotal or 0), offline=bool(offline or drained or unknown or not vm_capable),
      group=group_pos.get(group, 0), spindles=int(spindles or 1), tags=node_tags or [],
      master=bool(master), excl_stor=bool(excl), free_spindles=int(spfree or 0),
      cpu_speed=float(cpu_speed or 1.0)))
  instances = []
  for row in inst_rows:
    (name, mem, dsk, vcpus, status, auto_balance, pnode, snodes, template, inst_tags, spindle_use,
     spindles, sizes, nics) = row
    instances.append(model.Instance(
      name, int(mem or 0), int(dsk or 0), int(vcpus or 1), status or "ADMIN_down",
      bool(auto_balance), node_pos.get(pnode, model.NO_NODE),
      node_pos[snodes[0]] if snodes and snodes[0] in node_pos else model.NO_NODE,
      template or "diskless", inst_tags or [], int(spindle_use or 1),
      disks=[int(size) for size in sizes or []], nics=int(nics or 0)))
  ipolicy = _IPolicy(info["ipolicy"]) if info.get("ipolicy") else None
  return model.Cluster(groups, nodes, instances, tags, ipolicy)


def _RapiAddress(cluster: str) -> tuple[str, int]:
  """(host, port) of a -m argument: a host name or address, with an optional
  https:// and :port (5080 by default)."""
  address = re.sub(r"^https://", "", cluster).rstrip("/")
  match = re.match(r"^\[(.+)\](?::(\d+))?$", address) or re.match(r"^([^:]+)(?::(\d+))?$", address)
  if match is None:
    return address, constants.DEFAULT_RAPI_PORT   # a bare IPv6 address
  return match.group(1), int(match.group(2) or constants.DEFAULT_RAPI_PORT)


def FromRapi(cluster: str) -> model.Cluster:
  """The cluster as its RAPI daemon reports it (bulk reads, no credentials
  needed).  Rows are mapped to the LUXI backend's field order so that both
  build the same model."""
  from ganeti.rapi import client as rapi_client  # pylint: disable=import-outside-toplevel
  host, port = _RapiAddress(cluster)
  client = rapi_client.GanetiRapiClient(host, port)
  try:
    groups = client.GetGroups(bulk=True)
    nodes = client.GetNodes(bulk=True)
    instances = client.GetInstances(bulk=True)
    networks = client.GetNetworks(bulk=True)
    info = client.GetInfo()
    tags = client.GetClusterTags()
  except rapi_client.Error as err:
    raise LoadError("failed to load data, aborting: RAPI at %s: %s" % (cluster, err)) from None
  group_rows = [[group["uuid"], group["name"], group["alloc_policy"], group["ipolicy"],
                 group.get("tags", [])] for group in groups]
  network_rows = [[network["uuid"], network.get("group_list")] for network in networks]
  node_rows = []
  for node in nodes:
    ndparams = node.get("ndparams") or {}
    node_rows.append([
      node["name"], node.get("mtotal"), node.get("mnode"), node.get("mfree"), node.get("dtotal"),
      node.get("dfree"), node.get("ctotal"), node.get("offline"), node.get("drained"),
      node.get("vm_capable", True), ndparams.get("spindle_count"), node.get("group.uuid"),
      node.get("tags", []), ndparams.get("exclusive_storage"), node.get("sptotal"),
      node.get("spfree"), ndparams.get("cpu_speed"), node["name"] == info.get("master")])
  inst_rows = []
  for inst in instances:
    beparams = inst.get("beparams") or {}
    inst_rows.append([
      inst["name"], beparams.get("maxmem"), inst.get("disk_usage"), beparams.get("vcpus"),
      inst.get("status"), beparams.get("auto_balance"), inst.get("pnode"), inst.get("snodes"),
      inst.get("disk_template"), inst.get("tags", []), beparams.get("spindle_use"),
      inst.get("disk.spindles"), inst.get("disk.sizes"), len(inst.get("nic.macs") or [])])
  return _Build(group_rows, network_rows, node_rows, inst_rows, info, tags)


def Load(options: Any) -> model.Cluster:
  """The cluster from whichever backend the options name (exactly one)."""
  chosen = [name for name in ("rapi", "luxi", "data_file", "ialloc_src")
            if getattr(options, name, None) is not None]
  simulate = getattr(options, "simulate", None)
  if len(chosen) > 1 or (chosen and simulate):
    raise LoadError("Only one of the rapi, luxi, and data files options should be given.")
  if simulate:
    return Simulate(simulate)
  if not chosen:
    raise LoadError("No backend selected! Exiting.")
  if options.data_file is not None:
    try:
      return textfmt.Load(options.data_file)
    except OSError as err:
      raise LoadError("Cannot read %s: %s" % (options.data_file, err.strerror)) from None
    except (textfmt.FormatError, ValueError) as err:
      raise LoadError(str(err)) from None
  if options.luxi is not None:
    return FromLuxi(options.luxi or None)
  if options.ialloc_src is not None:
    return LoadIAllocatorFile(options.ialloc_src)[0]
  return FromRapi(options.rapi)
