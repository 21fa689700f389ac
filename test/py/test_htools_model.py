"""htools model, text format and score: round trips, accounting, and the
score compared with Debian's Haskell hbal (when installed) metric by metric."""

import os
import re
import subprocess

import pytest

from ganeti.htools import generator
from ganeti.htools import loader
from ganeti.htools import score
from ganeti.htools import textfmt

HBAL = "/usr/bin/hbal"
HSPACE = "/usr/bin/hspace"
needs_hbal = pytest.mark.skipif(not os.access(HBAL, os.X_OK), reason="Debian's hbal not installed")

GENERATED = [
  dict(nodes=6, instances=30, seed=1),
  dict(nodes=20, instances=300, seed=2, skew=1.5),
  dict(nodes=12, instances=80, seed=3, offline=2, exclusion_tags=3, locations=3),
  dict(nodes=30, instances=200, seed=4, groups=2),
]


def _Write(tmp_path, cluster, name="cluster.txt"):
  path = tmp_path / name
  textfmt.Save(cluster, str(path))
  return str(path)


@pytest.mark.parametrize("params", GENERATED)
def test_text_round_trip(params):
  cluster = generator.Generate(**params)
  text = textfmt.Serialize(cluster)
  again = textfmt.Parse(text)
  assert textfmt.Serialize(again) == text
  assert [n.name for n in again.nodes] == [n.name for n in cluster.nodes]
  for ours, theirs in zip(cluster.instances, again.instances):
    assert (ours.name, ours.pnode, ours.snode, ours.mem, ours.template) == \
      (theirs.name, theirs.pnode, theirs.snode, theirs.mem, theirs.template)
  assert score.Score(again, again.nodes) == pytest.approx(score.Score(cluster, cluster.nodes))


@pytest.mark.skipif(not os.access(HSPACE, os.X_OK), reason="Debian's hspace not installed")
def test_reads_and_rewrites_files_written_by_hspace(tmp_path):
  prefix = str(tmp_path / "sim")
  subprocess.run([HSPACE, "--simulate", "p,4,100g,16g,4,2", "-S", prefix], check=True,
                 capture_output=True)
  with open(prefix + ".standard") as handle:
    text = handle.read()
  cluster = textfmt.Parse(text)
  assert len(cluster.nodes) == 4 and cluster.instances
  assert cluster.nodes[0].master and cluster.ipolicy.vcpu_ratio == 4.0
  assert textfmt.Serialize(cluster) == text


def test_accounting_follows_placement():
  cluster = generator.Generate(nodes=8, instances=40, seed=5)
  for inst in cluster.instances:
    if inst.template == "drbd" and inst.uses_memory and inst.auto_balance:
      break
  before = [(n.f_mem, n.f_dsk, n.r_mem, len(n.pri), len(n.sec)) for n in cluster.nodes]
  old_p, old_s = inst.pnode, inst.snode
  target = next(n.idx for n in cluster.nodes if n.idx not in (old_p, old_s))
  cluster.Place(inst, target, old_p)
  assert cluster.nodes[target].f_mem == before[target][0] - inst.mem
  assert cluster.nodes[old_p].f_mem == before[old_p][0] + inst.mem
  assert cluster.nodes[old_s].f_dsk == before[old_s][1] + inst.dsk
  assert cluster.nodes[old_p].peers.get(target) >= inst.mem
  cluster.Place(inst, old_p, old_s)
  assert [(n.f_mem, n.f_dsk, n.r_mem, len(n.pri), len(n.sec)) for n in cluster.nodes] == before


def test_n1_failure_counts_the_node_instances():
  cluster = generator.Generate(nodes=6, instances=30, seed=1)
  failing = [n for n in cluster.nodes if n.f_mem < n.r_mem]
  values = score.Coefficients(cluster, cluster.nodes)
  assert values[score.METRIC_NAMES.index("n1_cnt")] == \
    sum(len(n.pri) + len(n.sec) for n in failing)


def test_simulate_and_units():
  assert loader.ParseUnit("16g") == 16384
  assert loader.ParseUnit("1T") == 1000 ** 4 // 1024 ** 2
  assert loader.ParseUnit("512") == 512
  cluster = loader.Simulate(["p,3,100g,16g,4,2", "a,2,50g,8g,2"])
  assert [len(cluster.GroupNodes(g)) for g in (0, 1)] == [3, 2]
  assert cluster.nodes[0].t_mem == 16384 and cluster.nodes[3].t_dsk == 51200
  assert cluster.groups[1].alloc_policy == "last_resort"
  with pytest.raises(loader.LoadError):
    loader.Simulate(["x,3,100g,16g,4"])


def _HaskellCoefficients(path, group=None):
  args = [HBAL, "-t", path, "-v", "-v", "-v", "-l", "0"] + (["-G", group] if group else [])
  out = subprocess.run(args, capture_output=True, text=True, timeout=300).stdout
  values = {}
  for line in out.splitlines():
    match = re.match(r"\s+(\w+)\s+([-\d.]+)\s+x[\d.]+$", line)
    if match and match.group(1) not in values:
      values[match.group(1)] = float(match.group(2))
  return values


@needs_hbal
@pytest.mark.parametrize("params", GENERATED)
def test_score_equals_haskell_hbal(tmp_path, params):
  cluster = generator.Generate(**params)
  path = _Write(tmp_path, cluster)
  group = cluster.groups[0].name if len(cluster.groups) > 1 else None
  nodes = cluster.GroupNodes(0)
  theirs = _HaskellCoefficients(path, group)
  ours = dict(zip(score.METRIC_NAMES, score.Coefficients(cluster, nodes)))
  assert set(theirs) <= set(ours)
  for name, value in theirs.items():
    assert ours[name] == pytest.approx(value, abs=1e-7), name
