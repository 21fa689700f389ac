"""hspace: how many more instances fit (see man hspace).

Two runs on copies of the cluster: tiered allocation starts from the
policy's maximum spec and shrinks the resource that ran out each time no
node takes the current spec; standard allocation places the standard spec
until nothing fits.  Each instance goes where the cluster score is lowest,
as hail would place it.
"""

import collections
import copy
import sys
from typing import Any, Optional

from ganeti.htools import balance
from ganeti.htools import cli
from ganeti.htools import loader
from ganeti.htools import model
from ganeti.htools import score
from ganeti.htools import textfmt

PROGRAM = "hspace"
OPTION_KEYS = cli.BACKEND_OPTIONS + cli.COMMON_OPTIONS + [
  "print_nodes", "offline", "save", "machine_readable", "standard_alloc", "tiered_alloc",
  "disk_template", "spindle_use", "independent_groups", "accept_existing", "max_cpu",
  "min_disk", "ignore_dynu", "util_file", "mond", "exclusion_tags"]

FAIL_REASONS = ("FailMem", "FailDisk", "FailCPU", "FailN1")
# how far a tiered spec shrinks at least, per resource
_TIER_STEP = {"mem": 64, "dsk": 256, "cpu": 1}
# Haskell's machine-readable names of the failure counters, in its order
_MR_REASONS = ("FAILCPU", "FAILMEM", "FAILDISK", "FAILN1", "FAILTAGS", "FAILMIG",
               "FAILDISKCOUNT", "FAILSPINDLES", "FAILINTERNAL")


class Spec:
  __slots__ = ("mem", "dsk", "cpu", "spn")

  def __init__(self, mem: int, dsk: int, cpu: int, spn: int) -> None:
    self.mem, self.dsk, self.cpu, self.spn = mem, dsk, cpu, spn

  def Key(self) -> tuple:
    return (self.mem, self.dsk, self.cpu, self.spn)

  def Text(self) -> str:
    return "MEM %d, DSK %d, CPU %d" % (self.mem, self.dsk, self.cpu)


def _ParseSpec(text: str) -> Spec:
  parts = text.split(",")
  if len(parts) not in (3, 4):
    cli.Die("Invalid instance specification '%s', expected disk,ram,cpu[,spindles]" % text)
  return Spec(loader.ParseUnit(parts[1]), loader.ParseUnit(parts[0]), int(parts[2]),
              int(parts[3]) if len(parts) == 4 else 1)


class Allocator:
  """Places instances of a spec one by one on a working copy of the cluster."""

  def __init__(self, cluster: model.Cluster, template: str, options: Any) -> None:
    self.cluster = copy.deepcopy(cluster)
    self.template = template
    self.groups = [g.idx for g in self.cluster.groups if g.alloc_policy != "unallocable"]
    algorithm = balance.Options(max_cpu=getattr(options, "max_cpu", None),
                                min_disk=getattr(options, "min_disk", 0.0) or 0.0)
    self.balancers = {g: balance.Balancer(self.cluster, g, algorithm) for g in self.groups}
    self.placed: list[tuple[model.Instance, tuple]] = []
    self.reasons: collections.Counter = collections.Counter()

  def _Instance(self, spec: Spec) -> model.Instance:
    dsk = spec.dsk if self.template in model.LOCAL_STORAGE_TEMPLATES else 0
    return model.Instance("new-%d" % len(self.placed), spec.mem, dsk, spec.cpu, "running",
                          True, template=self.template, spindle_use=spec.spn,
                          disks=[spec.dsk])

  def _Reason(self, inst: model.Instance, group: int) -> str:
    """Why no node of the group takes the instance (the most common cause)."""
    if self.balancers[group].GroupFailsN1():
      return "FailN1"
    causes: collections.Counter = collections.Counter()
    ratio = self.balancers[group].max_cpu
    for node in self.cluster.GroupNodes(group):
      if node.offline:
        continue
      if node.f_mem < inst.mem:
        causes["FailMem"] += 1
      elif node.f_dsk < inst.local_disk:
        causes["FailDisk"] += 1
      elif (node.u_cpu + node.n_cpu + inst.vcpus) / max(node.t_cpu, 1) > ratio:
        causes["FailCPU"] += 1
      else:
        causes["FailN1"] += 1
    return causes.most_common(1)[0][0] if causes else "FailN1"

  def Place(self, spec: Spec) -> Optional[str]:
    """Places one instance of spec; None on success, else the failure reason."""
    inst = self._Instance(spec)
    best = None
    for group in self.groups:
      found, _, _ = self.balancers[group].BestPlacement(inst)
      if found is not None and (best is None or found[0] < best[0][0]):
        best = (found, group)
    if best is None:
      reason = self._Reason(inst, self.groups[0]) if self.groups else "FailN1"
      self.reasons[reason] += 1
      return reason
    (_, pnode, snode), group = best
    self.cluster.AddInstance(inst, pnode, snode)
    self.balancers[group].Refresh([pnode, snode])
    self.placed.append((inst, spec.Key()))
    return None


def _Totals(cluster: model.Cluster) -> dict:
  nodes = [n for n in cluster.nodes if not n.offline]
  ratio = cluster.ipolicy.vcpu_ratio
  inst_mem = sum(n.i_mem for n in nodes)
  return {
    "MEM": sum(n.t_mem for n in nodes), "DSK": sum(n.t_dsk for n in nodes),
    "CPU": sum(n.t_cpu for n in nodes), "VCPU": int(sum(n.t_cpu for n in nodes) * ratio),
    "SPN": sum(n.spindles for n in nodes), "NODES": len(nodes),
    "INST_MEM": inst_mem, "INST_DSK": sum(n.t_dsk - n.f_dsk for n in nodes),
    "INST_CPU": sum(n.u_cpu + n.n_cpu for n in nodes),
    "MEM_FREE": sum(n.f_mem for n in nodes), "DSK_FREE": sum(n.f_dsk for n in nodes),
    "MEM_RESVD": sum(n.r_mem for n in nodes),
  }


def _Efficiencies(cluster: model.Cluster) -> tuple[float, float, float]:
  totals = _Totals(cluster)
  return (totals["INST_MEM"] / totals["MEM"] if totals["MEM"] else 0.0,
          totals["INST_DSK"] / totals["DSK"] if totals["DSK"] else 0.0,
          totals["INST_CPU"] / totals["VCPU"] if totals["VCPU"] else 0.0)


def _Score(cluster: model.Cluster) -> float:
  return sum(score.Score(cluster, cluster.GroupNodes(g.idx)) for g in cluster.groups)


def Tiered(cluster: model.Cluster, template: str, spec: Spec, minimum: Spec,
           options: Any) -> Allocator:
  alloc = Allocator(cluster, template, options)
  current = Spec(*spec.Key())
  for _ in range(100000):   # bounded: every failure shrinks the spec
    reason = alloc.Place(current)
    if reason is None:
      continue
    field = {"FailMem": "mem", "FailDisk": "dsk", "FailCPU": "cpu"}.get(reason, "mem")
    value = getattr(current, field) - _TIER_STEP[field]
    value -= value % _TIER_STEP[field]
    if value < getattr(minimum, field):
      break
    setattr(current, field, value)
  return alloc


def Standard(cluster: model.Cluster, template: str, spec: Spec, options: Any) -> Allocator:
  alloc = Allocator(cluster, template, options)
  limit = sum(n.t_mem for n in cluster.nodes) // max(spec.mem, 1) + 1
  for _ in range(limit):
    if alloc.Place(spec) is not None:
      break
  return alloc


def _ResultLines(title: str, cluster: model.Cluster, alloc: Allocator, tiered: bool) -> list:
  lines = [title]
  if tiered:
    counts = collections.Counter(key for _, key in alloc.placed)
    if not counts:
      lines.append("  - no instances allocated")
    for key in sorted(counts, reverse=True):
      lines.append("  - %3d instances of spec %s" % (counts[key], Spec(*key).Text()))
  else:
    lines.append("  - %3d instances allocated" % len(alloc.placed))
  reason = alloc.reasons.most_common(1)[0][0] if alloc.reasons else "FailN1"
  mem, dsk, cpu = _Efficiencies(alloc.cluster)
  lines += ["  - most likely failure reason: %s" % reason,
            "  - initial cluster score: %.8f" % _Score(cluster),
            "  -   final cluster score: %.8f" % _Score(alloc.cluster),
            "  - memory usage efficiency: %5.2f%%" % (mem * 100),
            "  -   disk usage efficiency: %5.2f%%" % (dsk * 100),
            "  -   vcpu usage efficiency: %5.2f%%" % (cpu * 100)]
  return lines


def _MachineLines(prefix: str, cluster: model.Cluster) -> list:
  totals = _Totals(cluster)
  mem, dsk, cpu = _Efficiencies(cluster)
  return ["HTS_%s_SCORE=%.8f" % (prefix, _Score(cluster)),
          "HTS_%s_INST_CNT=%d" % (prefix, len(cluster.instances)),
          "HTS_%s_MEM_FREE=%d" % (prefix, totals["MEM_FREE"]),
          "HTS_%s_MEM_RESVD=%d" % (prefix, totals["MEM_RESVD"]),
          "HTS_%s_MEM_INST=%d" % (prefix, totals["INST_MEM"]),
          "HTS_%s_MEM_EFF=%.8f" % (prefix, mem),
          "HTS_%s_DSK_FREE=%d" % (prefix, totals["DSK_FREE"]),
          "HTS_%s_DSK_INST=%d" % (prefix, totals["INST_DSK"]),
          "HTS_%s_DSK_EFF=%.8f" % (prefix, dsk),
          "HTS_%s_CPU_INST=%d" % (prefix, totals["INST_CPU"]),
          "HTS_%s_CPU_EFF=%.8f" % (prefix, cpu)]


def Main(argv: Optional[list[str]] = None) -> int:
  options, args = cli.ParseOptions(PROGRAM, OPTION_KEYS, sys.argv[1:] if argv is None else argv)
  if args:
    cli.Die("This program doesn't take any arguments.")
  cluster = cli.LoadCluster(options)
  policy = cluster.ipolicy
  template = options.disk_template or (policy.disk_templates[0] if policy.disk_templates
                                       else "drbd")
  if template not in model.DISK_TEMPLATES:
    cli.Die("Unknown disk template '%s'" % template)
  std = policy.std
  standard = (_ParseSpec(options.standard_alloc) if options.standard_alloc else
              Spec(std.mem, std.disk, std.cpu, options.spindle_use or std.spindle_use))
  high, low = (policy.minmax[-1][1], policy.minmax[0][0]) if policy.minmax else (std, std)
  tiered_spec = (_ParseSpec(options.tiered_alloc) if options.tiered_alloc else
                 Spec(high.mem, high.disk, high.cpu, options.spindle_use or high.spindle_use))
  minimum = Spec(low.mem, low.disk, low.cpu, low.spindle_use)
  tiered = Tiered(cluster, template, tiered_spec, minimum, options)
  normal = Standard(cluster, template, standard, options)
  if options.save:
    textfmt.Save(tiered.cluster, options.save + ".tiered")
    textfmt.Save(normal.cluster, options.save + ".standard")
    print("The cluster state after tiered allocation has been written to file '%s.tiered'"
          % options.save)
    print("The cluster state after standard allocation has been written to file '%s.standard'"
          % options.save)
  machine = options.machine_readable is not None and options.machine_readable != "no"
  totals = _Totals(cluster)
  if machine:
    lines = ["HTS_CLUSTER_%s=%d" % (key, totals[key])
             for key in ("MEM", "DSK", "CPU", "VCPU", "SPN", "NODES")]
    lines += _MachineLines("INI", cluster)
    lines += ["HTS_TSPEC_INI_MEM=%d" % tiered_spec.mem, "HTS_TSPEC_INI_DSK=%d" % tiered_spec.dsk,
              "HTS_TSPEC_INI_CPU=%d" % tiered_spec.cpu, "HTS_TSPEC_INI_SPN=%d" % tiered_spec.spn,
              "HTS_TSPEC_INI_DISK_TEMPLATE=%s" % template]
    lines += _MachineLines("TRL", tiered.cluster)
    counts = collections.Counter(key for _, key in tiered.placed)
    lines.append("HTS_TSPEC='%s'" % " ".join(
      "%d,%d,%d,%d=%d" % (key + (counts[key],)) for key in sorted(counts, reverse=True)))
    lines += ["HTS_SPEC_MEM=%d" % standard.mem, "HTS_SPEC_DSK=%d" % standard.dsk,
              "HTS_SPEC_CPU=%d" % standard.cpu, "HTS_SPEC_SPN=%d" % standard.spn,
              "HTS_SPEC_DISK_TEMPLATE=%s" % template]
    lines += _MachineLines("FIN", normal.cluster)
    reason = normal.reasons.most_common(1)[0][0] if normal.reasons else "FailN1"
    lines += ["HTS_ALLOC_INSTANCES=%d" % len(normal.placed),
              "HTS_ALLOC_FAIL_REASON=%s" % reason.upper()]
    lines += ["HTS_ALLOC_%s_CNT=%d" % (name, sum(count for key, count in normal.reasons.items()
                                                  if key.upper() == name))
              for name in _MR_REASONS]
    lines.append("HTS_OK=1")
    print("\n".join(lines))
    return 0
  print("The cluster has %d nodes and the following resources:" % totals["NODES"])
  print("  MEM %d, DSK %d, CPU %d, VCPU %d." % (totals["MEM"], totals["DSK"], totals["CPU"],
                                                totals["VCPU"]))
  if cluster.instances:
    print("There are %d initial instances on the cluster." % len(cluster.instances))
  else:
    print("There are no initial instances on the cluster.")
  print("Tiered (initial size) instance spec is:")
  print("  %s, using disk template '%s'." % (tiered_spec.Text(), template))
  print("\n".join(_ResultLines("Tiered allocation results:", cluster, tiered, True)))
  print("Standard (fixed-size) instance spec is:")
  print("  %s, using disk template '%s'." % (standard.Text(), template))
  print("\n".join(_ResultLines("Normal (fixed-size) allocation results:", cluster, normal,
                               False)))
  return 0
