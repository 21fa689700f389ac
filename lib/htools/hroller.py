"""hroller: groups of nodes that can be rebooted at the same time (see man
hroller).

Two nodes conflict when an instance has its primary on one and its
secondary on the other: rebooting both would stop it.  Reboot groups are a
greedy colouring of that conflict graph (busiest nodes first); the master
node goes last.  Non-redundant instances of a group are moved to nodes
outside it for the reboot (shown by --print-moves).
"""

import copy
import sys
from typing import Optional

from ganeti.htools import balance
from ganeti.htools import cli
from ganeti.htools import model

PROGRAM = "hroller"
OPTION_KEYS = cli.BACKEND_OPTIONS + cli.COMMON_OPTIONS + [
  "offline", "group", "force", "node_tags", "full_evacuation", "skip_non_redundant",
  "ignore_non_redundant", "one_step_only", "print_moves", "exclusion_tags", "ignore_dynu"]


def Conflicts(cluster: model.Cluster, nodes: set[int]) -> dict[int, set[int]]:
  graph: dict[int, set[int]] = {idx: set() for idx in nodes}
  for inst in cluster.instances:
    if inst.pnode in nodes and inst.snode in nodes:
      graph[inst.pnode].add(inst.snode)
      graph[inst.snode].add(inst.pnode)
  return graph


def RebootGroups(cluster: model.Cluster, nodes: set[int]) -> list[list[int]]:
  graph = Conflicts(cluster, nodes)
  order = sorted(nodes, key=lambda idx: (-len(graph[idx]), cluster.nodes[idx].name))
  groups: list[list[int]] = []
  for idx in order:
    for group in groups:
      if not graph[idx] & set(group):
        group.append(idx)
        break
    else:
      groups.append([idx])
  masters = [g for g in groups if any(cluster.nodes[idx].master for idx in g)]
  groups = [g for g in groups if g not in masters] + masters
  for group in groups:
    group.sort(key=lambda idx: (cluster.nodes[idx].master, cluster.nodes[idx].name))
  return groups


def NonRedundant(cluster: model.Cluster, node: int) -> list[model.Instance]:
  return [cluster.instances[idx] for idx in cluster.nodes[node].pri
          if cluster.instances[idx].mirror != model.MIRROR_INTERNAL]


def Moves(cluster: model.Cluster, group: list[int]) -> Optional[list[tuple[str, str]]]:
  """Where the group's non-redundant instances go meanwhile (None: nowhere)."""
  work = copy.deepcopy(cluster)
  moves = []
  for node in group:
    for inst in NonRedundant(work, node):
      inst = work.instances[inst.idx]
      home = work.nodes[inst.pnode].group
      balancer = balance.Balancer(work, home, balance.Options())
      old = inst.pnode
      work.Place(inst, model.NO_NODE, model.NO_NODE)
      balancer.Refresh([old])
      found, _, _ = balancer.BestPlacement(inst, frozenset(group))
      if found is None:
        return None
      work.Place(inst, found[1], model.NO_NODE)
      moves.append((inst.name, work.nodes[found[1]].name))
  return moves


def Main(argv: Optional[list[str]] = None) -> int:
  options, args = cli.ParseOptions(PROGRAM, OPTION_KEYS, sys.argv[1:] if argv is None else argv)
  if args:
    cli.Die("This program doesn't take any arguments.")
  cluster = cli.LoadCluster(options)
  if not options.force and not any(node.master for node in cluster.nodes):
    cli.Die("Cannot find the master node. Use --force to continue anyway.")
  wanted_tags = set(filter(None, (options.node_tags or "").split(",")))
  group = cluster.FindGroup(options.group) if options.group else None
  nodes = {node.idx for node in cluster.nodes
           if not node.offline and (group is None or node.group == group)
           and (not wanted_tags or wanted_tags & set(node.tags))}
  if options.skip_non_redundant:
    nodes = {idx for idx in nodes if not NonRedundant(cluster, idx)}
  groups = RebootGroups(cluster, nodes)
  if options.one_step_only:
    print("\n".join(cluster.nodes[idx].name for idx in (groups[0] if groups else [])))
    return 0
  print("'Node Reboot Groups'")
  for members in groups:
    print(",".join(cluster.nodes[idx].name for idx in members))
    if options.print_moves and not options.ignore_non_redundant:
      moves = Moves(cluster, members)
      if moves is None:
        print("  (non-redundant instances cannot be moved away)")
      else:
        for move in moves:
          print("  %s %s" % move)
  return 0
