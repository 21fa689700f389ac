"""The htools cluster model: groups, nodes, instances and instance policies.

Nodes and instances are addressed by their index in Cluster.nodes and
Cluster.instances; an instance's primary and secondary are node indices
(NO_NODE when absent).  Node accounting (free memory and disk, reserved
memory for N+1, used CPUs, peers) is kept up to date by the Add*/Remove*
methods, which every placement change goes through.
"""

from typing import Iterable, Optional

NO_NODE = -1

# Disk templates by how their data follows a move (Ganeti's mirror types)
MIRROR_INTERNAL = "internal"   # DRBD: a primary and one secondary
MIRROR_EXTERNAL = "external"   # shared storage: any node can run it
MIRROR_NONE = "none"           # local data: the instance cannot move
TEMPLATE_MIRROR = {
  "drbd": MIRROR_INTERNAL,
  "diskless": MIRROR_EXTERNAL,
  "sharedfile": MIRROR_EXTERNAL,
  "rbd": MIRROR_EXTERNAL,
  "ext": MIRROR_EXTERNAL,
  "gluster": MIRROR_EXTERNAL,
  "blockdev": MIRROR_EXTERNAL,
  "plain": MIRROR_NONE,
  "file": MIRROR_NONE,
}
DISK_TEMPLATES = ("diskless", "file", "sharedfile", "plain", "blockdev", "drbd",
                  "rbd", "ext", "gluster")
# Templates whose data lives in the node's volume group (counted in f_dsk)
LOCAL_STORAGE_TEMPLATES = frozenset(["plain", "drbd"])

# Instance states in which an instance holds its memory on the primary
MEMORY_STATES = frozenset(["running", "ERROR_up", "ERROR_wrongnode",
                           "ERROR_nodedown", "ERROR_nodeoffline"])
# Instance states that count as running for hroller and hcheck
RUNNING_STATES = frozenset(["running", "ERROR_up"])

ALLOC_POLICIES = ("preferred", "last_resort", "unallocable")


class ISpec:
  """One instance specification (the members of an ipolicy)."""
  __slots__ = ("mem", "cpu", "disk", "disk_count", "nic_count", "spindle_use")
  FIELDS = __slots__

  def __init__(self, mem: int = 0, cpu: int = 0, disk: int = 0, disk_count: int = 0,
               nic_count: int = 0, spindle_use: int = 0) -> None:
    self.mem = mem
    self.cpu = cpu
    self.disk = disk
    self.disk_count = disk_count
    self.nic_count = nic_count
    self.spindle_use = spindle_use

  def Values(self) -> list[int]:
    return [getattr(self, name) for name in self.FIELDS]

  def __repr__(self) -> str:
    return "ISpec(%s)" % ", ".join("%s=%s" % (name, getattr(self, name)) for name in self.FIELDS)


class IPolicy:
  """An instance policy: allowed spec ranges, standard spec, templates, ratios."""
  __slots__ = ("minmax", "std", "disk_templates", "vcpu_ratio", "spindle_ratio")

  def __init__(self, minmax: list[tuple[ISpec, ISpec]], std: ISpec, disk_templates: list[str],
               vcpu_ratio: float, spindle_ratio: float) -> None:
    self.minmax = minmax
    self.std = std
    self.disk_templates = disk_templates
    self.vcpu_ratio = vcpu_ratio
    self.spindle_ratio = spindle_ratio

  def SpecViolations(self, mem: int, cpu: int, disk: int, disk_count: int, nic_count: int,
                     spindle_use: int, template: str) -> list[str]:
    """Names of the spec fields out of every min/max range (empty if fine)."""
    if template not in self.disk_templates:
      return ["disk-template"]
    values = (mem, cpu, disk, disk_count, nic_count, spindle_use)
    best: Optional[list[str]] = None
    for low, high in self.minmax:
      bad = [name for name, value, lo, hi in zip(ISpec.FIELDS, values, low.Values(), high.Values())
             if not lo <= value <= hi
             and not (name in ("disk", "disk_count") and template == "diskless")]
      if best is None or len(bad) < len(best):
        best = bad
    return best or []


def DefaultIPolicy() -> IPolicy:
  """Ganeti's default cluster instance policy."""
  return IPolicy([(ISpec(128, 1, 1024, 1, 1, 1), ISpec(32768, 8, 1024 * 1024, 16, 8, 12))],
                 ISpec(128, 1, 1024, 1, 1, 1), list(DISK_TEMPLATES), 4.0, 32.0)


class Group:
  __slots__ = ("name", "uuid", "alloc_policy", "tags", "networks", "ipolicy", "idx")

  def __init__(self, name: str, uuid: str, alloc_policy: str = "preferred",
               tags: Optional[list[str]] = None, networks: Optional[list[str]] = None,
               ipolicy: Optional[IPolicy] = None) -> None:
    self.name = name
    self.uuid = uuid
    self.alloc_policy = alloc_policy
    self.tags = tags or []
    self.networks = networks or []
    self.ipolicy = ipolicy
    self.idx = 0


class Node:
  """A node's capacity and what its instances use of it."""
  __slots__ = ("name", "t_mem", "n_mem", "f_mem", "t_dsk", "f_dsk", "t_cpu", "n_cpu",
               "offline", "master", "group", "spindles", "tags", "excl_stor",
               "free_spindles", "cpu_speed", "idx", "f_mem_loaded", "changed",
               # derived accounting
               "pri", "sec", "peers", "r_mem", "u_cpu", "down_mem", "i_mem",
               "pri_spindles", "sec_spindles", "pri_tags", "locations")

  def __init__(self, name: str, t_mem: int, n_mem: int, f_mem: int, t_dsk: int, f_dsk: int,
               t_cpu: int, offline: bool = False, group: int = 0, spindles: int = 1,
               tags: Optional[list[str]] = None, master: bool = False, excl_stor: bool = False,
               free_spindles: int = 0, n_cpu: int = 1, cpu_speed: float = 1.0) -> None:
    self.name = name
    self.t_mem = t_mem
    self.n_mem = n_mem
    self.f_mem = f_mem
    self.f_mem_loaded = f_mem   # as reported, before any simulated move
    self.changed = False        # placement changed since loading (see FailsN1)
    self.t_dsk = t_dsk
    self.f_dsk = f_dsk
    self.t_cpu = t_cpu
    self.n_cpu = n_cpu
    self.offline = offline
    self.master = master
    self.group = group
    self.spindles = spindles
    self.tags = tags or []
    self.excl_stor = excl_stor
    self.free_spindles = free_spindles
    self.cpu_speed = cpu_speed
    self.idx = 0
    self.pri: list[int] = []
    self.sec: list[int] = []
    self.peers: dict[int, int] = {}   # primary node -> memory it would fail over here
    self.r_mem = 0
    self.u_cpu = 0
    self.down_mem = 0     # memory of primaries not running (not in f_mem)
    self.i_mem = 0        # memory of running primaries
    self.pri_spindles = 0
    self.sec_spindles = 0
    self.pri_tags: dict[str, int] = {}  # exclusion tag -> primaries carrying it
    self.locations: frozenset = frozenset()

  def FailsN1(self) -> bool:
    """Whether the node lacks memory to take over its secondaries' primaries.

    As in Ganeti's htools, a node whose placement changed also fails when
    its free memory equals its reserve exactly; a node as loaded does not.
    """
    return self.f_mem < self.r_mem or (self.changed and self.f_mem == self.r_mem)

  def ConflictingPrimaries(self) -> int:
    return sum(count - 1 for count in self.pri_tags.values())

  def HiSpindles(self, spindle_ratio: float) -> float:
    return self.spindles if self.excl_stor else self.spindles * spindle_ratio

  def PeerMaxAfter(self, changes: dict[int, int]) -> int:
    """r_mem once the peer amounts change by the given deltas."""
    best = 0
    for peer, amount in self.peers.items():
      amount += changes.get(peer, 0)
      if amount > best:
        best = amount
    for peer, delta in changes.items():
      if peer not in self.peers and delta > best:
        best = delta
    return best


class Instance:
  __slots__ = ("name", "mem", "dsk", "vcpus", "status", "auto_balance", "pnode", "snode",
               "template", "tags", "spindle_use", "spindles", "forthcoming", "disks", "nics",
               "excl_tags", "desired", "idx", "movable")

  def __init__(self, name: str, mem: int, dsk: int, vcpus: int, status: str = "running",
               auto_balance: bool = True, pnode: int = NO_NODE, snode: int = NO_NODE,
               template: str = "drbd", tags: Optional[list[str]] = None, spindle_use: int = 1,
               spindles: Optional[int] = None, forthcoming: bool = False,
               disks: Optional[list[int]] = None, nics: int = 1) -> None:
    self.name = name
    self.mem = mem
    self.dsk = dsk
    self.vcpus = vcpus
    self.status = status
    self.auto_balance = auto_balance
    self.pnode = pnode
    self.snode = snode
    self.template = template
    self.tags = tags or []
    self.spindle_use = spindle_use
    self.spindles = spindles
    self.forthcoming = forthcoming
    self.disks = disks if disks is not None else [dsk]
    self.nics = nics
    self.excl_tags: list[str] = []
    self.desired: list[str] = []   # desired location tags (see Cluster)
    self.idx = 0
    self.movable = True

  @property
  def uses_memory(self) -> bool:
    return self.status in MEMORY_STATES

  @property
  def mirror(self) -> str:
    return TEMPLATE_MIRROR.get(self.template, MIRROR_NONE)

  @property
  def local_disk(self) -> int:
    """Disk the instance takes from its nodes' volume group."""
    return self.dsk if self.template in LOCAL_STORAGE_TEMPLATES else 0

  @property
  def disk_spindle_use(self) -> int:
    """Spindles it loads on each of its nodes (diskless instances load none)."""
    return 0 if self.template == "diskless" else self.spindle_use

  @property
  def failover_mem(self) -> int:
    """Memory its secondary must keep free to take it over (N+1)."""
    return self.mem if self.auto_balance else 0


class Cluster:
  """Groups, nodes, instances, cluster tags and instance policy."""

  def __init__(self, groups: list[Group], nodes: list[Node], instances: list[Instance],
               tags: Optional[list[str]] = None, ipolicy: Optional[IPolicy] = None) -> None:
    self.groups = groups
    self.nodes = nodes
    self.instances = instances
    self.tags = tags or []
    self.ipolicy = ipolicy or DefaultIPolicy()
    # each instance loads its nodes' CPU, memory, disk and network by one
    # unit (no utilisation data); --ignore-dynu makes every load zero
    self.instance_loads = True
    for idx, group in enumerate(groups):
      group.idx = idx
    for idx, node in enumerate(nodes):
      node.idx = idx
    for idx, inst in enumerate(instances):
      inst.idx = idx
    self.exclusion_prefixes = TagSuffixes(self.tags, "htools:iextags:")
    self.location_prefixes = TagSuffixes(self.tags, "htools:nlocation:")
    # instance tags PREFIX:* for a cluster tag htools:desiredlocation:PREFIX
    # name node tags the instance's primary should carry
    self.desired_prefixes = TagSuffixes(self.tags, "htools:desiredlocation:")
    for node in nodes:
      node.locations = frozenset(tag for tag in node.tags
                                 if any(tag.startswith(p + ":") for p in self.location_prefixes))
    self.SetExclusionTags(self.exclusion_prefixes)

  def SetExclusionTags(self, prefixes: Iterable[str]) -> None:
    """Recomputes instance exclusion tags and node accounting for these prefixes."""
    self.exclusion_prefixes = list(prefixes)
    for inst in self.instances:
      self._SetInstanceTags(inst)
    self.RecomputeAccounting()

  def _SetInstanceTags(self, inst: "Instance") -> None:
    inst.excl_tags = [tag for tag in inst.tags
                      if any(tag.startswith(p + ":") for p in self.exclusion_prefixes)]
    inst.desired = [tag for tag in inst.tags
                    if any(tag.startswith(p + ":") for p in self.desired_prefixes)]

  def RecomputeAccounting(self) -> None:
    """Rebuilds every node's derived accounting from the instance placement."""
    for node in self.nodes:
      node.pri, node.sec, node.peers, node.pri_tags = [], [], {}, {}
      node.r_mem = node.u_cpu = node.down_mem = node.i_mem = 0
      node.pri_spindles = node.sec_spindles = 0
    for inst in self.instances:
      if inst.pnode != NO_NODE:
        self._AccountPrimary(inst, 1)
      if inst.snode != NO_NODE:
        self._AccountSecondary(inst, 1)
    for node in self.nodes:
      node.changed = False

  def GroupIPolicy(self, group_idx: int) -> IPolicy:
    group = self.groups[group_idx] if self.groups else None
    return group.ipolicy if group is not None and group.ipolicy is not None else self.ipolicy

  def FindNode(self, name: str) -> int:
    for node in self.nodes:
      if node.name == name:
        return node.idx
    raise KeyError(name)

  def FindInstance(self, name: str) -> int:
    for inst in self.instances:
      if inst.name == name:
        return inst.idx
    raise KeyError(name)

  def FindGroup(self, name_or_uuid: str) -> int:
    for group in self.groups:
      if name_or_uuid in (group.name, group.uuid):
        return group.idx
    raise KeyError(name_or_uuid)

  # Accounting primitives; sign is +1 to add, -1 to remove.
  def _AccountPrimary(self, inst: Instance, sign: int) -> None:
    node = self.nodes[inst.pnode]
    node.changed = True
    if sign > 0:
      node.pri.append(inst.idx)
    else:
      node.pri.remove(inst.idx)
    if inst.uses_memory:
      node.i_mem += sign * inst.mem
    else:
      node.down_mem += sign * inst.mem
    node.u_cpu += sign * inst.vcpus
    node.pri_spindles += sign * inst.disk_spindle_use
    for tag in inst.excl_tags:
      count = node.pri_tags.get(tag, 0) + sign
      if count:
        node.pri_tags[tag] = count
      else:
        del node.pri_tags[tag]

  def _AccountSecondary(self, inst: Instance, sign: int) -> None:
    node = self.nodes[inst.snode]
    node.changed = True
    if sign > 0:
      node.sec.append(inst.idx)
    else:
      node.sec.remove(inst.idx)
    node.sec_spindles += sign * inst.disk_spindle_use
    if inst.pnode != NO_NODE:
      amount = node.peers.get(inst.pnode, 0) + sign * inst.failover_mem
      if amount:
        node.peers[inst.pnode] = amount
      else:
        node.peers.pop(inst.pnode, None)
      node.r_mem = max(node.peers.values(), default=0)

  def AddPrimary(self, inst: Instance, node_idx: int) -> None:
    inst.pnode = node_idx
    node = self.nodes[node_idx]
    node.f_dsk -= inst.local_disk
    if inst.uses_memory:
      node.f_mem -= inst.mem
    self._AccountPrimary(inst, 1)

  def RemovePrimary(self, inst: Instance) -> None:
    node = self.nodes[inst.pnode]
    node.f_dsk += inst.local_disk
    if inst.uses_memory:
      node.f_mem += inst.mem
    self._AccountPrimary(inst, -1)
    inst.pnode = NO_NODE

  def AddSecondary(self, inst: Instance, node_idx: int) -> None:
    inst.snode = node_idx
    self.nodes[node_idx].f_dsk -= inst.local_disk
    self._AccountSecondary(inst, 1)

  def RemoveSecondary(self, inst: Instance) -> None:
    self.nodes[inst.snode].f_dsk += inst.local_disk
    self._AccountSecondary(inst, -1)
    inst.snode = NO_NODE

  def Place(self, inst: Instance, pnode: int, snode: int) -> None:
    """Moves an instance to a new primary and secondary (either may stay)."""
    if inst.snode != NO_NODE:
      self.RemoveSecondary(inst)
    if inst.pnode != NO_NODE:
      self.RemovePrimary(inst)
    if pnode != NO_NODE:
      self.AddPrimary(inst, pnode)
    if snode != NO_NODE:
      self.AddSecondary(inst, snode)

  def AddInstance(self, inst: Instance, pnode: int, snode: int = NO_NODE) -> None:
    inst.idx = len(self.instances)
    self._SetInstanceTags(inst)
    inst.pnode = inst.snode = NO_NODE
    self.instances.append(inst)
    self.Place(inst, pnode, snode)

  def GroupNodes(self, group_idx: int) -> list[Node]:
    return [node for node in self.nodes if node.group == group_idx]

  def GroupInstances(self, group_idx: int) -> list[Instance]:
    return [inst for inst in self.instances
            if inst.pnode != NO_NODE and self.nodes[inst.pnode].group == group_idx]


def TagSuffixes(tags: Iterable[str], prefix: str) -> list[str]:
  return [tag[len(prefix):] for tag in tags if tag.startswith(prefix)]
