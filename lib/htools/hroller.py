"""hroller: groups of nodes that can be rebooted at the same time (see man
hroller).

Two nodes conflict when rebooting both at once would stop an instance or
overload a node: an instance has its primary on one and its secondary on
the other, or (unless the instances are shut down for an offline
maintenance) both are primaries of instances sharing a secondary, which
could not take the memory of both at once.  Reboot groups are a colouring of
that conflict graph: several heuristics are tried and the one with the
fewest groups wins.  Larger groups come first, the master node's group last
(the master last within it).  Non-redundant instances of a group are moved
to nodes outside it for the reboot (shown by --print-moves).
"""

import copy
import sys
from typing import Callable, Iterable, Optional

from ganeti.htools import balance
from ganeti.htools import cli
from ganeti.htools import model

PROGRAM = "hroller"
OPTION_KEYS = cli.BACKEND_OPTIONS + cli.COMMON_OPTIONS + [
  "offline", "group", "force", "node_tags", "full_evacuation", "skip_non_redundant",
  "ignore_non_redundant", "one_step_only", "print_moves", "exclusion_tags", "ignore_dynu",
  "offline_maintenance"]

Graph = dict[int, set[int]]


def Conflicts(cluster: model.Cluster, nodes: set[int], online: bool = True) -> Graph:
  """The conflict graph over these nodes (online: with the shared-secondary edges)."""
  graph: Graph = {idx: set() for idx in nodes}
  primaries_by_secondary: dict[int, set[int]] = {}
  for inst in cluster.instances:
    if inst.pnode == model.NO_NODE or inst.snode == model.NO_NODE:
      continue
    if inst.pnode in nodes and inst.snode in nodes:
      graph[inst.pnode].add(inst.snode)
      graph[inst.snode].add(inst.pnode)
    if inst.pnode in nodes:
      primaries_by_secondary.setdefault(inst.snode, set()).add(inst.pnode)
  if online:
    for primaries in primaries_by_secondary.values():
      for idx in primaries:
        graph[idx] |= primaries - {idx}
  return graph


def _Greedy(graph: Graph, order: Iterable[int]) -> list[set[int]]:
  """Colours the nodes in order, each with the first colour its neighbours lack."""
  classes: list[set[int]] = []
  for idx in order:
    for members in classes:
      if not graph[idx] & members:
        members.add(idx)
        break
    else:
      classes.append({idx})
  return classes


def _LargestFirst(graph: Graph) -> list[set[int]]:
  """Greedy colouring, nodes by falling degree."""
  return _Greedy(graph, sorted(graph, key=lambda idx: (-len(graph[idx]), -idx)))


def _Saturation(graph: Graph) -> list[set[int]]:
  """DSatur: next the node with the most distinct colours among its
  neighbours (then the highest degree), given the lowest colour free."""
  colour: dict[int, int] = {}
  seen: dict[int, set[int]] = {idx: set() for idx in graph}
  while len(colour) < len(graph):
    idx = max((idx for idx in graph if idx not in colour),
              key=lambda idx: (len(seen[idx]), len(graph[idx]), -idx))
    chosen = next(value for value in range(len(graph)) if value not in seen[idx])
    colour[idx] = chosen
    for other in graph[idx]:
      seen[other].add(chosen)
  classes: list[set[int]] = [set() for _ in range(max(colour.values(), default=-1) + 1)]
  for idx, value in colour.items():
    classes[value].add(idx)
  return classes


def _SmallestLast(graph: Graph) -> list[set[int]]:
  """Greedy colouring in smallest-last order (a node of least remaining
  degree is taken off the graph repeatedly; colouring goes backwards)."""
  degree = {idx: len(neighbours) for idx, neighbours in graph.items()}
  removed: list[int] = []
  left = set(graph)
  while left:
    idx = min(left, key=lambda idx: (degree[idx], idx))
    left.discard(idx)
    removed.append(idx)
    for other in graph[idx] & left:
      degree[other] -= 1
  return _Greedy(graph, reversed(removed))


# tried in this order; the first with the fewest colours wins
COLOURINGS: tuple[Callable[[Graph], list[set[int]]], ...] = (
  _LargestFirst, _Saturation, _SmallestLast)


def RebootGroups(cluster: model.Cluster, nodes: set[int], online: bool = True) -> list[list[int]]:
  graph = Conflicts(cluster, nodes, online)
  classes = min((colouring(graph) for colouring in COLOURINGS), key=len)
  masters = [members for members in classes if any(cluster.nodes[idx].master for idx in members)]
  others = sorted((members for members in classes if members not in masters), key=len,
                  reverse=True)
  return [sorted(members, key=lambda idx: (cluster.nodes[idx].master, cluster.nodes[idx].name))
          for members in others + masters]


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
  groups = RebootGroups(cluster, nodes, online=not options.offline_maintenance)
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
