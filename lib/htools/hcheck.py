"""hcheck: cluster health checks, before and after a simulated rebalance
(see man hcheck)."""

import sys
from typing import Optional

from ganeti.htools import balance
from ganeti.htools import cli
from ganeti.htools import model
from ganeti.htools import score

PROGRAM = "hcheck"
OPTION_KEYS = cli.BACKEND_OPTIONS + cli.COMMON_OPTIONS + [
  "offline", "machine_readable", "no_simulation", "exclusion_tags", "ignore_dynu",
  "max_length", "min_score", "min_gain", "min_gain_limit", "no_disk_moves",
  "no_instance_moves", "max_cpu", "min_disk", "ignore_soft_errors", "no_capacity_checks"]

# (label, machine-readable key) of each statistic, in output order
STATISTICS = (
  ("Nodes not N+1 happy", "N1_FAIL"),
  ("Nodes with conflicting instances", "CONFLICT_TAGS"),
  ("Instances having the primary node offline", "OFFLINE_PRI"),
  ("Instances having a secondary node offline", "OFFLINE_SEC"),
  ("Nodes not directly evacuateable", "GN1_FAIL"),
)
# the last statistic is the global N+1 (capacity) check
CAPACITY_STATISTIC = len(STATISTICS) - 1


def Evacuable(cluster: model.Cluster, node: model.Node) -> bool:
  """Whether the node's instances could restart elsewhere were it to fail.

  Its running DRBD primaries fail over to their secondaries, each of which
  must keep some free memory and free disk; then each running primary on
  shared storage must find another online node with more free memory than
  it needs (the one with the most is taken).  Instances on local storage
  cannot leave and do not count.  (Rule found by comparing with Ganeti's
  hcheck on generated clusters.)
  """
  if node.offline:
    return True
  free_mem = {other.idx: other.f_mem for other in cluster.nodes}
  primaries = [cluster.instances[idx] for idx in node.pri]
  for inst in primaries:
    if inst.mirror != model.MIRROR_INTERNAL or inst.snode == model.NO_NODE:
      continue
    target = cluster.nodes[inst.snode]
    if inst.uses_memory:
      free_mem[target.idx] -= inst.mem
    if free_mem[target.idx] <= 0 or (inst.local_disk and target.f_dsk <= 0):
      return False
  for inst in primaries:
    if inst.mirror != model.MIRROR_EXTERNAL:
      continue
    need = inst.mem if inst.uses_memory else 0
    targets = [other.idx for other in cluster.nodes
               if other is not node and not other.offline and free_mem[other.idx] > need]
    if not targets:
      return False
    free_mem[max(targets, key=free_mem.__getitem__)] -= need
  return True


def GroupStatistics(cluster: model.Cluster, group: int, capacity: bool = True) -> list[int]:
  """The STATISTICS of a group (without the last one unless capacity)."""
  nodes = cluster.GroupNodes(group)
  online = [n for n in nodes if not n.offline]
  instances = cluster.GroupInstances(group)
  values = [
    sum(1 for n in online if n.FailsN1()),
    sum(1 for n in online if n.ConflictingPrimaries()),
    sum(1 for i in instances if cluster.nodes[i.pnode].offline),
    sum(1 for i in instances if i.snode != model.NO_NODE and cluster.nodes[i.snode].offline),
  ]
  if capacity:
    values.append(sum(1 for n in online if not Evacuable(cluster, n)))
  return values


def _Report(cluster: model.Cluster, when: str, machine: bool, unhealthy: bool,
            capacity: bool) -> list[str]:
  statistics = STATISTICS if capacity else STATISTICS[:CAPACITY_STATISTIC]
  lines = []
  totals = [0] * len(statistics)
  for group in cluster.groups:
    stats = GroupStatistics(cluster, group.idx, capacity)
    totals = [a + b for a, b in zip(totals, stats)]
    group_score = score.Score(cluster, cluster.GroupNodes(group.idx))
    if machine:
      prefix = "HCHECK_%s_GROUP_%d_" % (when, group.idx)
      lines += ["%s%s=%d" % (prefix, key, value) for (_, key), value in zip(statistics, stats)]
      lines.append("%sSCORE=%.8f" % (prefix, group_score))
    else:
      lines += ["", "Statistics for group %s %s" % (group.name, when)]
      lines += ["    %s: %d" % (label, value) for (label, _), value in zip(statistics, stats)]
      lines.append("    Group score: %.8f" % group_score)
  if machine:
    prefix = "HCHECK_%s_CLUSTER_" % when
    lines += ["%s%s=%d" % (prefix, key, value) for (_, key), value in zip(statistics, totals)]
    lines.append("%sNEED_REBALANCE=%d" % (prefix, int(unhealthy)))
  else:
    lines += ["", "Cluster statistics %s" % when]
    lines += ["    %s: %d" % (label, value) for (label, _), value in zip(statistics, totals)]
    lines.append("    Cluster is not healthy: %s" % unhealthy)
  return lines


def Main(argv: Optional[list[str]] = None) -> int:
  options, args = cli.ParseOptions(PROGRAM, OPTION_KEYS, sys.argv[1:] if argv is None else argv)
  if args:
    cli.Die("This program doesn't take any arguments.")
  cluster = cli.LoadCluster(options)
  machine = options.machine_readable is not None and options.machine_readable != "no"
  capacity = not options.no_capacity_checks
  unhealthy = any(any(GroupStatistics(cluster, g.idx, False)) for g in cluster.groups)
  simulate = unhealthy and not options.no_simulation
  lines = []
  if machine:
    lines += ["HCHECK_GROUP_UUID_%d='%s'" % (g.idx, g.uuid) for g in cluster.groups]
  elif options.no_simulation:
    lines.append("Running in no-simulation mode.")
  else:
    lines.append("Cluster needs rebalancing." if unhealthy else
                 "No need to rebalance cluster, no problems found.")
  lines += _Report(cluster, "INIT" if machine else "initially", machine, unhealthy, capacity)
  if simulate:
    algorithm = balance.Options(
      max_length=options.max_length, min_score=options.min_score, min_gain=options.min_gain,
      min_gain_limit=options.min_gain_limit, disk_moves=not options.no_disk_moves,
      instance_moves=not options.no_instance_moves, max_cpu=options.max_cpu,
      min_disk=options.min_disk, ignore_soft_errors=options.ignore_soft_errors)
    for group in cluster.groups:
      balance.Balancer(cluster, group.idx, algorithm).Run()
  # machine-readable output always has the final state (the initial one
  # when nothing was simulated); the human one only after a simulation
  if machine or simulate:
    lines += _Report(cluster, "FINAL" if machine else "after rebalancing", machine, unhealthy,
                     capacity)
  if machine:
    lines.append("HCHECK_OK=1")
  print("\n".join(lines))
  return 0
