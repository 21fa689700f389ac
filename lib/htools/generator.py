"""Synthetic clusters in the htools text format, for tests and benchmarks.

Nodes come in two memory sizes; instances (mostly DRBD, some plain and
diskless) are placed with a skew: node k is chosen with weight
1 / (k + 1) ** skew among the nodes that still have room, so the first
nodes are crowded and the last ones nearly empty, which is what gives
hbal work to do.  The output is deterministic for a given seed.
"""

import argparse
import random
import sys
from typing import Optional

from ganeti.htools import model
from ganeti.htools import textfmt

MEM_SIZES = (512, 1024, 2048, 4096)
DISK_SIZES = (10240, 20480, 40960)
VCPUS = (1, 1, 2, 4)
# (template, share of instances)
TEMPLATE_MIX = (("drbd", 0.85), ("plain", 0.1), ("diskless", 0.05))


def Generate(nodes: int, instances: int, seed: int = 1, skew: float = 1.0, groups: int = 1,
             offline: int = 0, exclusion_tags: int = 0, locations: int = 0,
             fill: float = 0.55) -> model.Cluster:
  """A cluster of this many nodes and instances, placed with a skew.

  fill is the share of the cluster's memory the instances take on average;
  exclusion_tags and locations give that many distinct tag values (0: none).
  """
  rng = random.Random(seed)
  avg_mem = sum(MEM_SIZES) / len(MEM_SIZES)
  per_node_mem = max(8192, int(instances * avg_mem / nodes / fill / 1024 + 1) * 1024)
  avg_disk = sum(DISK_SIZES) / len(DISK_SIZES) * 1.9
  per_node_disk = max(102400, int(instances * avg_disk / nodes / fill / 1024 + 1) * 1024)
  cluster_tags = []
  if exclusion_tags:
    cluster_tags.append("htools:iextags:service")
  if locations:
    cluster_tags.append("htools:nlocation:power")
  group_list = [model.Group("group-%02d" % (pos + 1), "uuid-group-%02d" % (pos + 1))
                for pos in range(groups)]
  node_list = []
  for pos in range(nodes):
    big = pos % 3 != 2
    t_mem = per_node_mem if big else per_node_mem // 2
    tags = ["power:%d" % (pos % locations)] if locations else []
    node_list.append(model.Node(
      "node%04d" % (pos + 1), t_mem, 1024, t_mem - 1024, per_node_disk, per_node_disk,
      32 if big else 16, offline=pos >= nodes - offline, group=pos * groups // nodes,
      spindles=4, tags=tags, master=pos == 0, n_cpu=1))
  cluster = model.Cluster(group_list, node_list, [], cluster_tags)
  by_group: list[list[model.Node]] = [[] for _ in range(groups)]
  for node in node_list:
    by_group[node.group].append(node)
  templates = [name for name, _ in TEMPLATE_MIX]
  shares = [share for _, share in TEMPLATE_MIX]
  for pos in range(instances):
    members = by_group[pos % groups]
    template = rng.choices(templates, shares)[0]
    mem, vcpus = rng.choice(MEM_SIZES), rng.choice(VCPUS)
    dsk = 0 if template == "diskless" else rng.choice(DISK_SIZES)
    status = "running" if rng.random() > 0.05 else "ADMIN_down"
    tags = ["service:%d" % rng.randrange(exclusion_tags)] if exclusion_tags and rng.random() < 0.3 else []
    inst = model.Instance("inst%05d" % (pos + 1), mem, dsk, vcpus, status,
                          auto_balance=rng.random() > 0.1, template=template, tags=tags)
    primary = _Pick(rng, members, inst, skew, exclude=None)
    if primary is None:
      continue
    secondary = model.NO_NODE
    if template == "drbd":
      target = _Pick(rng, members, inst, 0.0, exclude=primary)
      if target is None:
        continue
      secondary = target.idx
    cluster.AddInstance(inst, primary.idx, secondary)
  cluster.RecomputeAccounting()   # as if loaded: no node counts as changed
  return cluster


def _Pick(rng: random.Random, members: list[model.Node], inst: model.Instance, skew: float,
          exclude: Optional[model.Node]) -> Optional[model.Node]:
  """A node with room for the instance, drawn with weight 1/(rank+1)**skew."""
  need_mem = inst.mem if exclude is None else 0
  fits = [node for node in members
          if node is not exclude and node.f_mem - need_mem >= 0 and node.f_dsk >= inst.local_disk]
  if not fits:
    return None
  weights = [1.0 / (rank + 1) ** skew for rank in range(len(fits))]
  return rng.choices(fits, weights)[0]


def Main(argv: Optional[list[str]] = None) -> int:
  parser = argparse.ArgumentParser(description="Writes a synthetic cluster in htools text format")
  parser.add_argument("--nodes", type=int, required=True)
  parser.add_argument("--instances", type=int, required=True)
  parser.add_argument("--seed", type=int, default=1)
  parser.add_argument("--skew", type=float, default=1.0)
  parser.add_argument("--groups", type=int, default=1)
  parser.add_argument("--offline", type=int, default=0)
  parser.add_argument("--exclusion-tags", type=int, default=0)
  parser.add_argument("--locations", type=int, default=0)
  parser.add_argument("--fill", type=float, default=0.55)
  parser.add_argument("-o", "--output", default="-")
  args = parser.parse_args(argv)
  cluster = Generate(args.nodes, args.instances, args.seed, args.skew, args.groups,
                     args.offline, args.exclusion_tags, args.locations, args.fill)
  text = textfmt.Serialize(cluster)
  if args.output == "-":
    sys.stdout.write(text)
  else:
    with open(args.output, "w", encoding="utf-8") as handle:
      handle.write(text)
  return 0
