"""hcheck: cluster health checks, before and after a simulated rebalance
(see man hcheck)."""

import copy
import sys
from typing import Optional

from ganeti.htools import balance
from ganeti.htools import cli
from ganeti.htools import iallocator
from ganeti.htools import model
from ganeti.htools import score

PROGRAM = "hcheck"
OPTION_KEYS = cli.BACKEND_OPTIONS + cli.COMMON_OPTIONS + [
  "offline", "machine_readable", "no_simulation", "exclusion_tags", "ignore_dynu",
  "max_length", "min_score", "min_gain", "min_gain_limit", "no_disk_moves",
  "no_instance_moves", "max_cpu", "min_disk", "ignore_soft_errors"]

# (label, machine-readable key) of each statistic, in output order
STATISTICS = (
  ("Nodes not N+1 happy", "N1_FAIL"),
  ("Nodes with conflicting instances", "CONFLICT_TAGS"),
  ("Instances having the primary node offline", "OFFLINE_PRI"),
  ("Instances having a secondary node offline", "OFFLINE_SEC"),
  ("Nodes not directly evacuateable", "GN1_FAIL"),
)


def Evacuable(cluster: model.Cluster, node: model.Node) -> bool:
  """Whether all instances of the node can leave it (primaries by fail-over,
  secondaries to another node), simulated on a copy."""
  if node.offline or not (node.pri or node.sec):
    return True
  work = copy.deepcopy(cluster)
  for mode, indices in (("primary-only", list(node.pri)), ("secondary-only", list(node.sec))):
    # only mirrored instances take part: the others cannot leave their node
    names = [work.instances[idx].name for idx in indices
             if work.instances[idx].mirror == model.MIRROR_INTERNAL]
    _, (_, failed, _) = iallocator.EvacuateAll(work, names, mode, None)
    if failed:
      return False
  return True


def GroupStatistics(cluster: model.Cluster, group: int) -> list[int]:
  nodes = cluster.GroupNodes(group)
  online = [n for n in nodes if not n.offline]
  instances = cluster.GroupInstances(group)
  return [
    sum(1 for n in online if n.FailsN1()),
    sum(1 for n in online if n.ConflictingPrimaries()),
    sum(1 for i in instances if cluster.nodes[i.pnode].offline),
    sum(1 for i in instances if i.snode != model.NO_NODE and cluster.nodes[i.snode].offline),
    sum(1 for n in online if not Evacuable(cluster, n)),
  ]


def _Report(cluster: model.Cluster, when: str, machine: bool, unhealthy: bool) -> list[str]:
  lines = []
  totals = [0] * len(STATISTICS)
  for group in cluster.groups:
    stats = GroupStatistics(cluster, group.idx)
    totals = [a + b for a, b in zip(totals, stats)]
    group_score = score.Score(cluster, cluster.GroupNodes(group.idx))
    if machine:
      prefix = "HCHECK_%s_GROUP_%d_" % (when.upper(), group.idx)
      lines += ["%s%s=%d" % (prefix, key, value) for (_, key), value in zip(STATISTICS, stats)]
      lines.append("%sSCORE=%.8f" % (prefix, group_score))
    else:
      lines += ["", "Statistics for group %s %s" % (group.name, when)]
      lines += ["    %s: %d" % (label, value) for (label, _), value in zip(STATISTICS, stats)]
      lines.append("    Group score: %.8f" % group_score)
  if machine:
    prefix = "HCHECK_%s_CLUSTER_" % when.upper()
    lines += ["%s%s=%d" % (prefix, key, value) for (_, key), value in zip(STATISTICS, totals)]
    lines.append("%sNEED_REBALANCE=%d" % (prefix, int(unhealthy)))
  else:
    lines += ["", "Cluster statistics %s" % when]
    lines += ["    %s: %d" % (label, value) for (label, _), value in zip(STATISTICS, totals)]
    lines.append("    Cluster is not healthy: %s" % unhealthy)
  return lines


def Main(argv: Optional[list[str]] = None) -> int:
  options, args = cli.ParseOptions(PROGRAM, OPTION_KEYS, sys.argv[1:] if argv is None else argv)
  if args:
    cli.Die("This program doesn't take any arguments.")
  cluster = cli.LoadCluster(options)
  machine = options.machine_readable is not None and options.machine_readable != "no"
  unhealthy = any(any(GroupStatistics(cluster, g.idx)[:4]) for g in cluster.groups)
  lines = []
  if machine:
    lines += ["HCHECK_GROUP_UUID_%d='%s'" % (g.idx, g.uuid) for g in cluster.groups]
  else:
    lines.append("Cluster needs rebalancing." if unhealthy else
                 "No need to rebalance cluster, no problems found.")
  lines += _Report(cluster, "initially", machine, unhealthy)
  if unhealthy and not options.no_simulation:
    algorithm = balance.Options(
      max_length=options.max_length, min_score=options.min_score, min_gain=options.min_gain,
      min_gain_limit=options.min_gain_limit, disk_moves=not options.no_disk_moves,
      instance_moves=not options.no_instance_moves, max_cpu=options.max_cpu,
      min_disk=options.min_disk, ignore_soft_errors=options.ignore_soft_errors)
    for group in cluster.groups:
      balance.Balancer(cluster, group.idx, algorithm).Run()
    lines += _Report(cluster, "after rebalancing" if not machine else "final", machine, unhealthy)
  if machine:
    lines = [line.replace("HCHECK_INITIALLY_", "HCHECK_INIT_") for line in lines]
    lines.append("HCHECK_OK=1")
  print("\n".join(lines))
  return 0
