"""Cluster score: the weighted sum of Ganeti's htools metrics.

Each metric is a per-node value combined over the nodes either as a
population standard deviation (balance metrics, online nodes only) or as a
sum (counts).  The table below is the single definition: name, weight,
combination and whether offline nodes take part; NodeValues computes the
per-node values in the same order.  Lower is better; a perfectly balanced
cluster scores only its reserved memory total.
"""

import math
from typing import Iterable, Sequence

from ganeti.htools import model

STDDEV = "stddev"
SUM = "sum"

# (name, weight, combination, online nodes only)
METRICS = (
  ("free_mem_cv", 0.5, STDDEV, True),
  ("free_disk_cv", 0.5, STDDEV, True),
  ("n1_cnt", 1.0, SUM, True),
  ("reserved_mem_cv", 1.0, STDDEV, True),
  ("offline_all_cnt", 4.0, SUM, False),
  ("offline_pri_cnt", 16.0, SUM, False),
  ("vcpu_ratio_cv", 0.5, STDDEV, True),
  ("cpu_load_cv", 1.0, STDDEV, True),
  ("mem_load_cv", 1.0, STDDEV, True),
  ("disk_load_cv", 1.0, STDDEV, True),
  ("net_load_cv", 1.0, STDDEV, True),
  ("pri_tags_score", 2.0, SUM, True),
  ("spindles_cv", 0.5, STDDEV, True),
  ("free_mem_cv_forth", 0.5, STDDEV, True),
  ("free_disk_cv_forth", 0.5, STDDEV, True),
  ("vcpu_ratio_cv_forth", 0.5, STDDEV, True),
  ("spindles_cv_forth", 0.5, STDDEV, True),
  ("location_score", 1.0, SUM, True),
  ("location_exclusion_score", 1.0, SUM, True),
  ("reserved_mem_rtotal", 0.25, SUM, True),
)
METRIC_NAMES = tuple(metric[0] for metric in METRICS)
WEIGHTS = tuple(metric[1] for metric in METRICS)


def _Ratio(part: float, whole: float) -> float:
  return part / whole if whole else 0.0


def NodeValues(cluster: model.Cluster, node: model.Node) -> tuple:
  """The per-node value of every metric, in METRICS order.

  The location exclusion score is not per node (see LocationExclusionScore).
  """
  if node.offline:
    return (0.0, 0.0, 0, 0.0, len(node.pri) + len(node.sec), len(node.pri), 0.0, 0, 0, 0, 0,
            0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0, 0.0)
  ratio = cluster.GroupIPolicy(node.group).spindle_ratio
  free_mem = _Ratio(node.f_mem, node.t_mem)
  free_disk = _Ratio(node.f_dsk, node.t_dsk)
  vcpu = _Ratio(node.u_cpu + node.n_cpu, node.t_cpu)
  spindles = _Ratio(node.pri_spindles + node.sec_spindles, node.HiSpindles(ratio))
  n_pri = len(node.pri) if cluster.instance_loads else 0
  n_all = n_pri + len(node.sec) if cluster.instance_loads else 0
  reserved = _Ratio(node.r_mem, node.t_mem)
  n1_failures = len(node.pri) + len(node.sec) if node.FailsN1() else 0
  return (free_mem, free_disk, n1_failures, reserved, 0, 0, vcpu, n_pri, n_pri,
          n_all, n_pri, node.ConflictingPrimaries(), spindles,
          _Ratio(node.f_mem - node.down_mem, node.t_mem), free_disk, vcpu, spindles,
          LocationScore(cluster, node), 0, reserved)


def LocationScore(cluster: model.Cluster, node: model.Node) -> int:
  """Primaries of this node whose secondary shares a failure domain with it,
  plus the desired location tags of its primaries that it lacks."""
  instances = [cluster.instances[idx] for idx in node.pri]
  misses = sum(DesiredMisses(inst, node) for inst in instances if inst.desired)
  if not node.locations:
    return misses
  nodes = cluster.nodes
  return misses + sum(1 for inst in instances
                      if inst.snode != model.NO_NODE
                      and node.locations & nodes[inst.snode].locations)


def DesiredMisses(inst: model.Instance, node: model.Node) -> int:
  """Desired location tags of the instance that the node does not carry."""
  return sum(1 for tag in inst.desired if tag not in node.tags)


def LocationExclusionScore(cluster: model.Cluster, nodes: Iterable[model.Node]) -> int:
  """Primaries sharing an exclusion tag within one failure domain, beyond the first."""
  counts: dict[tuple[str, str], int] = {}
  for node in nodes:
    if node.offline or not node.locations:
      continue
    for tag, count in node.pri_tags.items():
      for location in node.locations:
        counts[(location, tag)] = counts.get((location, tag), 0) + count
  return sum(count - 1 for count in counts.values())


def StdDev(values: Sequence[float]) -> float:
  count = len(values)
  if not count:
    return 0.0
  mean = sum(values) / count
  return math.sqrt(sum((value - mean) ** 2 for value in values) / count)


def Coefficients(cluster: model.Cluster, nodes: Iterable[model.Node]) -> list[float]:
  """The value of every metric over these nodes, in METRICS order."""
  nodes = list(nodes)
  rows = [(node.offline, NodeValues(cluster, node)) for node in nodes]
  result = []
  for pos, (_, _, combination, online_only) in enumerate(METRICS):
    values = [row[pos] for offline, row in rows if not (online_only and offline)]
    result.append(StdDev(values) if combination == STDDEV else float(sum(values)))
  result[METRIC_NAMES.index("location_exclusion_score")] = float(
    LocationExclusionScore(cluster, nodes))
  return result


def Score(cluster: model.Cluster, nodes: Iterable[model.Node]) -> float:
  return sum(weight * value for weight, value in zip(WEIGHTS, Coefficients(cluster, nodes)))


def FormatCoefficients(values: Sequence[float]) -> list[str]:
  """The coefficient table as hbal, hcheck and hinfo print it (columns as
  wide as their widest cell)."""
  rows = [(name, "%.8f" % value, "x%.2f" % weight)
          for name, weight, value in zip(METRIC_NAMES, WEIGHTS, values)]
  widths = [max(len(cell) for cell in column) for column in zip(("Field", "Value", "Weight"),
                                                                *rows)]
  return ["   %s %s %s" % (name.ljust(widths[0]), value.rjust(widths[1]), weight.rjust(widths[2]))
          for name, value, weight in [("Field", "Value", "Weight")] + rows]
