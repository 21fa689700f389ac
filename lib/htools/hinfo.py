"""hinfo: the cluster's state and score (see man hinfo)."""

import sys
from typing import Optional

from ganeti.htools import cli
from ganeti.htools import hbal
from ganeti.htools import model
from ganeti.htools import score

PROGRAM = "hinfo"
OPTION_KEYS = cli.BACKEND_OPTIONS + cli.COMMON_OPTIONS + [
  "print_nodes", "print_instances", "offline", "exclusion_tags", "ignore_dynu"]


def SplitInstances(cluster: model.Cluster) -> list[model.Instance]:
  """Instances whose primary and secondary are in different node groups."""
  return [inst for inst in cluster.instances
          if inst.pnode != model.NO_NODE and inst.snode != model.NO_NODE
          and cluster.nodes[inst.pnode].group != cluster.nodes[inst.snode].group]


def GroupTable(cluster: model.Cluster) -> list[str]:
  rows = []
  for group in cluster.groups:
    nodes = cluster.GroupNodes(group.idx)
    bad_nodes, bad_instances = hbal.BadCounts(cluster, nodes)
    happy = not any(n.FailsN1() for n in nodes if not n.offline)
    rows.append([group.name, "%d" % len(nodes), "%d" % len(cluster.GroupInstances(group.idx)),
                 "%d" % bad_nodes, "%d" % bad_instances, str(happy),
                 "%.8f" % score.Score(cluster, nodes)])
  return ["  " + line for line in cli.FormatTable(
    ["Group", "Nodes", "Instances", "Bad_Nodes", "Bad_Instances", "N+1", "Score"], rows, [0, 5])]


def Main(argv: Optional[list[str]] = None) -> int:
  options, args = cli.ParseOptions(PROGRAM, OPTION_KEYS, sys.argv[1:] if argv is None else argv)
  if args:
    cli.Die("This program doesn't take any arguments.")
  cluster = cli.LoadCluster(options)
  print("Loaded cluster tags: %s" % ",".join(cluster.tags))
  print("Loaded %d nodes, %d instances, %d node group%s" % (
    len(cluster.nodes), len(cluster.instances), len(cluster.groups),
    "" if len(cluster.groups) == 1 else "s"))
  if options.verbose > 1:
    split = SplitInstances(cluster)
    if split:
      print("Found %d split instances:" % len(split))
      print("\n".join("  " + inst.name for inst in split))
    else:
      print("No split instances found")
    print("Node group information:")
    print("\n".join(GroupTable(cluster)))
  if options.print_nodes is not None:
    print()
    print("\n".join(cli.FormatNodes(cluster, cluster.nodes, options.print_nodes)))
  if options.print_instances:
    print("\n".join(cli.FormatInstances(cluster, cluster.instances)))
  happy = not any(n.FailsN1() for n in cluster.nodes if not n.offline)
  print("Cluster is N+1 %s" % ("happy" if happy else "unhappy"))
  values = score.Coefficients(cluster, cluster.nodes)
  print("Cluster coefficients:")
  print("\n".join(score.FormatCoefficients(values)))
  print("Cluster score: %.8f" % sum(w * v for w, v in zip(score.WEIGHTS, values)))
  return 0
