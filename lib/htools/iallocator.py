"""hail's side of the iallocator protocol (version 2): requests in, answers out.

The input document describes the cluster (loaded by loader.FromIAllocator)
and one request; every answer is {"success", "info", "result"} with the
result shaped by the request type (see lib/cmdlib/iallocator.py, the
master's side).  Placements are chosen by the cluster score: each candidate
is scored with the balancer's vectorised evaluation, so one allocation costs
one vector evaluation per primary candidate.
"""

from typing import Any, Callable, Optional

from ganeti.htools import balance
from ganeti.htools import loader
from ganeti.htools import model

# Groups are tried in this order of allocation policy; unallocable never
_POLICY_ORDER = {"preferred": 0, "last_resort": 1}


class AllocError(Exception):
  """No valid placement; the message says why."""


def _NewInstance(request: dict) -> model.Instance:
  template = request.get("disk_template", "drbd")
  sizes = [int(disk["size"]) for disk in request.get("disks", [])]
  dsk = int(request.get("disk_space_total", sum(sizes)))
  return model.Instance(request["name"], int(request["memory"]), dsk, int(request["vcpus"]),
                        "running", True, template=template, tags=list(request.get("tags", [])),
                        spindle_use=int(request.get("spindle_use", 1)), disks=sizes,
                        nics=len(request.get("nics", [])))


def _CheckPolicy(cluster: model.Cluster, group: int, inst: model.Instance) -> Optional[str]:
  policy = cluster.GroupIPolicy(group)
  bad = policy.SpecViolations(inst.mem, inst.vcpus, sum(inst.disks) if inst.disks else inst.dsk,
                              len(inst.disks), inst.nics, inst.spindle_use, inst.template)
  bad = [name for name in bad if name != "nic_count"]   # hail does not check NICs
  return ("instance spec violates the policy of group %s (%s)" %
          (cluster.groups[group].name, ", ".join(bad))) if bad else None


def _Groups(cluster: model.Cluster, wanted: Optional[list[str]] = None) -> list[int]:
  """Groups to try, best allocation policy first, then by name."""
  groups = [g for g in cluster.groups if g.alloc_policy in _POLICY_ORDER
            and (wanted is None or g.uuid in wanted or g.name in wanted)]
  groups.sort(key=lambda g: (_POLICY_ORDER[g.alloc_policy], g.name))
  return [g.idx for g in groups]


def BestPlacement(cluster: model.Cluster, inst: model.Instance, groups: list[int],
                  exclude: frozenset = frozenset(),
                  fixed_primary: Optional[int] = None) -> tuple[float, int, int, int, str]:
  """(score, group, primary, secondary, summary) of the best placement of an
  unplaced instance among these groups; AllocError when there is none."""
  best: Optional[tuple[float, int, int, int, str]] = None
  reasons = []
  for group in groups:
    # a group of a worse allocation policy only when the better ones failed
    if best is not None and cluster.groups[group].alloc_policy != \
        cluster.groups[best[1]].alloc_policy:
      break
    reason = _CheckPolicy(cluster, group, inst)
    if reason:
      reasons.append(reason)
      continue
    balancer = balance.Balancer(cluster, group, balance.Options())
    found, valid, tried = balancer.BestPlacement(inst, exclude, fixed_primary)
    name = "Group %s (%s)" % (cluster.groups[group].name, cluster.groups[group].alloc_policy)
    if found is None:
      why = " (the group is not N+1 happy)" if balancer.GroupFailsN1() else ""
      reasons.append("%s: No valid allocation solutions, %d placements tried%s" %
                     (name, tried, why))
      continue
    summary = "%s: score: %.8f, successes %d, failures %d () for node(s) %s" % (
      name, found[0], valid, tried - valid, "/".join(_Names(cluster, found[1], found[2])))
    if best is None or found[0] < best[0]:
      best = (found[0], group, found[1], found[2], summary)
  if best is None:
    raise AllocError("Request failed: " + ("; ".join(reasons) or "no usable node group"))
  return best


def _Names(cluster: model.Cluster, *indices: int) -> list[str]:
  return [cluster.nodes[idx].name for idx in indices if idx != model.NO_NODE]


def Allocate(cluster: model.Cluster, request: dict) -> tuple[str, Any]:
  inst = _NewInstance(request)
  wanted = [request["group_name"]] if request.get("group_name") else None
  groups = _Groups(cluster, wanted)
  if not groups:
    raise AllocError("No suitable node group found")
  required = int(request.get("required_nodes", 2 if inst.mirror == model.MIRROR_INTERNAL else 1))
  if required == 2 and inst.mirror != model.MIRROR_INTERNAL:
    raise AllocError("Two nodes requested for a disk template without a secondary")
  _, group, pnode, snode, summary = BestPlacement(cluster, inst, groups)
  cluster.AddInstance(inst, pnode, snode)
  info = "Request successful: Selected group: %s, %s" % (cluster.groups[group].name, summary)
  return info, _Names(cluster, pnode, snode)


def MultiAllocate(cluster: model.Cluster, request: dict) -> tuple[str, Any]:
  placed, failed = [], []
  for entry in request["instances"]:
    try:
      _, nodes = Allocate(cluster, entry)
      placed.append([entry["name"], nodes])
    except AllocError:
      failed.append(entry["name"])
  return "Allocated %d, failed %d" % (len(placed), len(failed)), [placed, failed]


def _Existing(cluster: model.Cluster, name: str) -> model.Instance:
  try:
    return cluster.instances[cluster.FindInstance(name)]
  except KeyError:
    raise AllocError("Unknown instance '%s'" % name) from None


def AllocateSecondary(cluster: model.Cluster, request: dict) -> tuple[str, Any]:
  inst = _Existing(cluster, request["name"])
  if inst.pnode == model.NO_NODE:
    raise AllocError("Instance %s has no primary node" % inst.name)
  group = cluster.nodes[inst.pnode].group
  pnode = inst.pnode
  cluster.Place(inst, model.NO_NODE, model.NO_NODE)
  inst.template = "drbd"
  _, _, _, snode, summary = BestPlacement(cluster, inst, [group], fixed_primary=pnode)
  cluster.Place(inst, pnode, snode)
  return "Request successful: %s" % summary, cluster.nodes[snode].name


def Relocate(cluster: model.Cluster, request: dict) -> tuple[str, Any]:
  inst = _Existing(cluster, request["name"])
  if inst.mirror != model.MIRROR_INTERNAL or inst.snode == model.NO_NODE:
    raise AllocError("Instance %s has no secondary to relocate" % inst.name)
  sources = {cluster.FindNode(name) for name in request.get("relocate_from", [])}
  group = cluster.nodes[inst.pnode].group
  pnode = inst.pnode
  cluster.Place(inst, model.NO_NODE, model.NO_NODE)
  _, _, _, snode, summary = BestPlacement(cluster, inst, [group], frozenset(sources),
                                          fixed_primary=pnode)
  cluster.Place(inst, pnode, snode)
  return "Request successful: success", [cluster.nodes[snode].name]


def _Op(op_id: str, inst: str, **params: Any) -> dict:
  return dict({"OP_ID": op_id, "instance_name": inst}, **params)


def _Failover(inst: model.Instance, target: Optional[str] = None) -> dict:
  extra = {"target_node": target} if target else {}
  if inst.uses_memory:
    return _Op("OP_INSTANCE_MIGRATE", inst.name, cleanup=False, allow_failover=True, **extra)
  return _Op("OP_INSTANCE_FAILOVER", inst.name, ignore_consistency=False, **extra)


def _ReplaceSecondary(inst: model.Instance, node: str) -> dict:
  return _Op("OP_INSTANCE_REPLACE_DISKS", inst.name, mode="replace_new_secondary",
             remote_node=node, disks=[], early_release=False)


def _Evacuate(cluster: model.Cluster, inst: model.Instance, mode: str,
              groups: Optional[list[int]]) -> tuple[list[str], list[dict]]:
  """New nodes and the opcodes moving one instance off its nodes (per mode)
  or into other groups (groups given)."""
  old_p, old_s = inst.pnode, inst.snode
  home = cluster.nodes[old_p].group
  if inst.mirror == model.MIRROR_NONE:
    raise AllocError("Instance with disk template %s cannot be moved" % inst.template)
  if inst.mirror == model.MIRROR_EXTERNAL:
    if mode == "secondary-only":
      raise AllocError("Instance has no secondary node")
    cluster.Place(inst, model.NO_NODE, model.NO_NODE)
    try:
      _, _, pnode, _, _ = BestPlacement(cluster, inst, groups or [home], frozenset([old_p]))
    except AllocError:
      cluster.Place(inst, old_p, old_s)
      raise
    cluster.Place(inst, pnode, model.NO_NODE)
    name = cluster.nodes[pnode].name
    return [name], [_Failover(inst, name)]
  if mode == "secondary-only" and groups is None:
    cluster.Place(inst, model.NO_NODE, model.NO_NODE)
    try:
      _, _, _, snode, _ = BestPlacement(cluster, inst, [home], frozenset([old_s]),
                                     fixed_primary=old_p)
    except AllocError:
      cluster.Place(inst, old_p, old_s)
      raise
    cluster.Place(inst, old_p, snode)
    name = cluster.nodes[snode].name
    return _Names(cluster, old_p, snode), [_ReplaceSecondary(inst, name)]
  if mode == "primary-only" and groups is None:
    # a fail-over to the secondary, which must be able to run it
    cluster.Place(inst, model.NO_NODE, model.NO_NODE)
    try:
      BestPlacement(cluster, inst, [home], fixed_primary=old_s, exclude=frozenset(
        node.idx for node in cluster.nodes if node.idx != old_p))
    except AllocError:
      cluster.Place(inst, old_p, old_s)
      raise
    cluster.Place(inst, old_s, old_p)
    return _Names(cluster, old_s, old_p), [_Failover(inst)]
  # both nodes change (mode "all" or a change of group)
  cluster.Place(inst, model.NO_NODE, model.NO_NODE)
  try:
    _, _, pnode, snode, _ = BestPlacement(cluster, inst, groups or [home],
                                          frozenset([old_p, old_s]))
  except AllocError:
    cluster.Place(inst, old_p, old_s)
    raise
  cluster.Place(inst, pnode, snode)
  pname, sname = _Names(cluster, pnode, snode)
  return [pname, sname], [_ReplaceSecondary(inst, pname), _Failover(inst),
                          _ReplaceSecondary(inst, sname)]


def EvacuateAll(cluster: model.Cluster, names: list[str], mode: str,
                 groups: Optional[list[int]]) -> tuple[str, Any]:
  moved, failed, jobs = [], [], []
  for name in names:
    try:
      inst = _Existing(cluster, name)
      nodes, ops = _Evacuate(cluster, inst, mode, groups)
    except AllocError as err:
      failed.append([name, str(err)])
      continue
    moved.append([name, cluster.groups[cluster.nodes[inst.pnode].group].name, nodes])
    jobs.append(ops)
  return ("Request successful: %d instances failed to move and %d were moved successfully" %
          (len(failed), len(moved)), [moved, failed, jobs])


def NodeEvacuate(cluster: model.Cluster, request: dict) -> tuple[str, Any]:
  return EvacuateAll(cluster, list(request["instances"]), request.get("evac_mode", "all"), None)


def ChangeGroup(cluster: model.Cluster, request: dict) -> tuple[str, Any]:
  names = list(request["instances"])
  homes = {cluster.nodes[_Existing(cluster, name).pnode].group for name in names}
  targets = request.get("target_groups") or []
  groups = [idx for idx in _Groups(cluster, targets or None) if idx not in homes or targets]
  if not groups:
    raise AllocError("No target node group available")
  return EvacuateAll(cluster, names, "all", groups)


HANDLERS: dict[str, Callable[[model.Cluster, dict], tuple[str, Any]]] = {
  "allocate": Allocate,
  "multi-allocate": MultiAllocate,
  "allocate-secondary": AllocateSecondary,
  "relocate": Relocate,
  "node-evacuate": NodeEvacuate,
  "change-group": ChangeGroup,
}


def Answer(data: dict) -> dict:
  """The answer document for an allocator input document."""
  request = data.get("request", {})
  handler = HANDLERS.get(request.get("type"))
  if handler is None:
    return {"success": False, "info": "Unknown request type '%s'" % request.get("type"),
            "result": []}
  try:
    cluster = loader.FromIAllocator(data)
    info, result = handler(cluster, request)
  except AllocError as err:
    return {"success": False, "info": str(err), "result": []}
  except (KeyError, ValueError, TypeError) as err:
    return {"success": False, "info": "Invalid request: %s" % err, "result": []}
  return {"success": True, "info": info, "result": result}


def _IPolicyDict(policy: model.IPolicy) -> dict:
  def _Spec(spec: model.ISpec) -> dict:
    return dict(zip(loader.ISPEC_KEYS, spec.Values()))
  return {"minmax": [{"min": _Spec(low), "max": _Spec(high)} for low, high in policy.minmax],
          "std": _Spec(policy.std), "disk-templates": list(policy.disk_templates),
          "vcpu-ratio": policy.vcpu_ratio, "spindle-ratio": policy.spindle_ratio}


def BuildInput(cluster: model.Cluster, request: dict) -> dict:
  """An allocator input document describing a model cluster (tests, benchmarks)."""
  groups = {g.uuid: {"name": g.name, "alloc_policy": g.alloc_policy, "networks": g.networks,
                     "tags": g.tags, "ipolicy": _IPolicyDict(cluster.GroupIPolicy(g.idx))}
            for g in cluster.groups}
  nodes = {}
  for node in cluster.nodes:
    nodes[node.name] = {
      "total_memory": node.t_mem, "reserved_memory": node.n_mem, "free_memory": node.f_mem,
      "total_disk": node.t_dsk, "free_disk": node.f_dsk, "total_cpus": node.t_cpu,
      "reserved_cpus": node.n_cpu, "total_spindles": node.spindles,
      "free_spindles": node.free_spindles, "i_pri_memory": node.i_mem + node.down_mem,
      "i_pri_up_memory": node.i_mem, "tags": node.tags, "primary_ip": "192.0.2.%d" % node.idx,
      "secondary_ip": "192.0.2.%d" % node.idx, "offline": node.offline, "drained": False,
      "master_candidate": node.master, "group": cluster.groups[node.group].uuid,
      "master_capable": True, "vm_capable": True,
      "ndparams": {"spindle_count": node.spindles, "exclusive_storage": node.excl_stor,
                   "cpu_speed": node.cpu_speed}}
  instances = {}
  for inst in cluster.instances:
    instances[inst.name] = {
      "tags": inst.tags, "admin_state": "up" if inst.uses_memory else "down",
      "vcpus": inst.vcpus, "memory": inst.mem, "spindle_use": inst.spindle_use, "os": "debian",
      "nodes": _Names(cluster, inst.pnode, inst.snode), "nics": [],
      "disks": [{"size": size, "mode": "rw", "spindles": None} for size in inst.disks],
      "disk_template": inst.template, "disks_active": True, "hypervisor": "kvm",
      "disk_space_total": inst.dsk}
  return {"version": 2, "cluster_name": "cluster", "cluster_tags": cluster.tags,
          "enabled_hypervisors": ["kvm"], "ipolicy": _IPolicyDict(cluster.ipolicy),
          "nodegroups": groups, "nodes": nodes, "instances": instances, "request": request}
