"""hspace, hinfo, hcheck and hroller: outputs checked against invariants of
the cluster they describe, and against Debian's Haskell tools when present."""

import os
import re
import subprocess

import pytest

from ganeti.htools import generator
from ganeti.htools import model
from ganeti.htools import score
from ganeti.htools import textfmt

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SBIN = os.path.join(TOP, "build", "sbin")


def _Ours(program, *args):
  proc = subprocess.run([os.path.join(SBIN, program)] + list(args), capture_output=True,
                        text=True, timeout=600)
  assert proc.returncode == 0, proc.stdout + proc.stderr
  return proc.stdout


def _Theirs(program, *args):
  path = "/usr/bin/" + program
  if not os.access(path, os.X_OK):
    pytest.skip("Debian's %s not installed" % program)
  return subprocess.run([path] + list(args), capture_output=True, text=True, timeout=600).stdout


@pytest.fixture
def light(tmp_path):
  cluster = generator.Generate(nodes=8, instances=30, seed=2, fill=0.1, skew=0.5)
  path = str(tmp_path / "light.txt")
  textfmt.Save(cluster, path)
  return cluster, path


@pytest.fixture
def crowded(tmp_path):
  cluster = generator.Generate(nodes=6, instances=30, seed=1)
  path = str(tmp_path / "crowded.txt")
  textfmt.Save(cluster, path)
  return cluster, path


def test_hspace_allocations_keep_the_cluster_valid(light, tmp_path):
  cluster, path = light
  prefix = str(tmp_path / "state")
  out = _Ours("hspace", "-t", path, "--disk-template", "drbd", "-S", prefix)
  placed = int(re.search(r"-\s+(\d+) instances allocated", out).group(1))
  tiered = sum(int(n) for n in re.findall(r"-\s+(\d+) instances of spec", out))
  assert placed > 0 and tiered > 0
  for suffix, count in (("standard", placed), ("tiered", tiered)):
    after = textfmt.Load("%s.%s" % (prefix, suffix))
    assert len(after.instances) == len(cluster.instances) + count
    for node in after.nodes:
      assert node.f_mem >= 0 and node.f_dsk >= 0
      assert not node.FailsN1()
  final = float(re.findall(r"final cluster score: ([\d.]+)", out)[-1])
  standard = textfmt.Load(prefix + ".standard")
  assert final == pytest.approx(score.Score(standard, standard.nodes), abs=1e-6)


def test_hspace_standard_allocation_matches_haskell_on_empty_cluster():
  spec = "p,4,100g,16g,4,2"
  ours = _Ours("hspace", "--simulate", spec)
  theirs = _Theirs("hspace", "--simulate", spec)
  pick = lambda text: text.split("Normal (fixed-size) allocation results:")[1]  # noqa: E731
  assert pick(ours) == pick(theirs)
  mr = _Ours("hspace", "--simulate", spec, "--machine-readable")
  assert mr.strip().endswith("HTS_OK=1") and "HTS_ALLOC_INSTANCES=60" in mr


def test_hspace_against_haskell_on_an_n1_happy_cluster(tmp_path):
  """Standard allocation gives Haskell's very output; tiered allocation packs
  at least as much memory."""
  cluster = generator.Generate(nodes=8, instances=40, seed=1, fill=0.05, skew=0.3)
  path = str(tmp_path / "c.txt")
  textfmt.Save(cluster, path)
  ours, theirs = _Ours("hspace", "-t", path), _Theirs("hspace", "-t", path)
  standard = lambda text: text.split("Standard (fixed-size) instance spec is:")[1]  # noqa: E731
  assert standard(ours) == standard(theirs)
  memory = lambda text: float(re.search(  # noqa: E731
    r"Tiered allocation results:.*?memory usage efficiency:\s+([\d.]+)%", text, re.S).group(1))
  assert memory(ours) >= memory(theirs)


def test_hspace_places_nothing_while_a_node_fails_n1(crowded):
  _, path = crowded
  out = _Ours("hspace", "-t", path)
  assert "  - no instances allocated" in out and "-   0 instances allocated" in out
  assert "most likely failure reason: FailN1" in out


def test_hinfo_matches_the_score(crowded):
  cluster, path = crowded
  out = _Ours("hinfo", "-t", path, "-v")
  assert "Cluster is N+1 unhappy" in out
  value = float(re.search(r"Cluster score: ([\d.]+)", out).group(1))
  assert value == pytest.approx(score.Score(cluster, cluster.nodes), abs=1e-8)


def test_hinfo_output_equals_haskell(crowded):
  _, path = crowded
  assert _Ours("hinfo", "-t", path, "-v") == _Theirs("hinfo", "-t", path, "-v")


def test_hcheck_statistics(crowded):
  cluster, path = crowded
  out = _Ours("hcheck", "-t", path, "--machine-readable")
  values = dict(line.split("=", 1) for line in out.splitlines())
  assert values["HCHECK_INIT_CLUSTER_N1_FAIL"] == str(sum(n.FailsN1() for n in cluster.nodes))
  assert values["HCHECK_INIT_CLUSTER_NEED_REBALANCE"] == "1"
  assert float(values["HCHECK_FINAL_GROUP_0_SCORE"]) < float(values["HCHECK_INIT_GROUP_0_SCORE"])
  theirs = dict(line.split("=", 1) for line in
                _Theirs("hcheck", "-t", path, "--machine-readable").splitlines())
  for key in ("HCHECK_INIT_CLUSTER_N1_FAIL", "HCHECK_INIT_GROUP_0_SCORE",
              "HCHECK_INIT_CLUSTER_OFFLINE_PRI", "HCHECK_INIT_CLUSTER_NEED_REBALANCE"):
    assert values[key] == theirs[key], key
  text = _Ours("hcheck", "-t", path)
  assert text.startswith("Cluster needs rebalancing.\n")


def test_hcheck_evacuable_follows_the_failover_memory():
  """A node is evacuable exactly when every secondary of its running DRBD
  primaries keeps free memory (and disk) after taking them all over."""
  from ganeti.htools import hcheck  # pylint: disable=import-outside-toplevel
  cluster = generator.Generate(nodes=10, instances=60, seed=3)
  verdicts = set()
  for node in cluster.nodes:
    left = {other.idx: other.f_mem for other in cluster.nodes}
    for idx in node.pri:
      inst = cluster.instances[idx]
      if inst.template == "drbd" and inst.uses_memory:
        left[inst.snode] -= inst.mem
    takers = {cluster.instances[idx].snode for idx in node.pri
              if cluster.instances[idx].template == "drbd"}
    expected = all(left[idx] > 0 and cluster.nodes[idx].f_dsk > 0 for idx in takers)
    if not any(cluster.instances[idx].template == "diskless" for idx in node.pri):
      assert hcheck.Evacuable(cluster, node) == expected, node.name
      verdicts.add(expected)
  assert verdicts == {True, False}


@pytest.mark.parametrize("seed", [1, 4, 9])
def test_hcheck_without_simulation_equals_haskell(tmp_path, seed):
  cluster = generator.Generate(nodes=10 + seed % 5, instances=50 + 5 * seed, seed=seed,
                               fill=0.4 + 0.05 * (seed % 6))
  path = str(tmp_path / "c.txt")
  textfmt.Save(cluster, path)
  for extra in ([], ["--machine-readable"], ["--no-capacity-checks"],
                ["--no-capacity-checks", "--machine-readable"]):
    args = ["-t", path, "--no-simulation"] + extra
    assert _Ours("hcheck", *args) == _Theirs("hcheck", *args), extra


def test_hroller_groups_never_hold_both_nodes_of_an_instance(light):
  cluster, path = light
  out = _Ours("hroller", "-t", path).splitlines()
  assert out[0] == "'Node Reboot Groups'"
  groups = [line.split(",") for line in out[1:]]
  names = [name for group in groups for name in group]
  assert sorted(names) == sorted(n.name for n in cluster.nodes if not n.offline)
  for inst in cluster.instances:
    if inst.snode != model.NO_NODE:
      pair = {cluster.nodes[inst.pnode].name, cluster.nodes[inst.snode].name}
      assert not any(pair <= set(group) for group in groups), inst.name
  master = next(n.name for n in cluster.nodes if n.master)
  assert groups[-1][-1] == master
  first = _Ours("hroller", "-t", path, "--one-step-only").split()
  assert first == groups[0]


def _RebootGroups(path, *args):
  return [line.split(",") for line in _Ours("hroller", "-t", path, *args).splitlines()[1:]]


@pytest.mark.parametrize("seed", [1, 3, 5])
def test_hroller_online_groups_spare_shared_secondaries(tmp_path, seed):
  """Online, no two nodes of a group have primaries sharing a secondary
  (it would take both nodes' instances at once); offline maintenance only
  keeps an instance's two nodes apart, so it needs no more groups.  Neither
  needs more groups than Ganeti's hroller."""
  cluster = generator.Generate(nodes=10 + seed * 5, instances=30 + seed * 20, seed=seed, fill=0.3)
  path = str(tmp_path / "c.txt")
  textfmt.Save(cluster, path)
  online = _RebootGroups(path)
  offline = _RebootGroups(path, "--offline-maintenance")
  name = lambda idx: cluster.nodes[idx].name  # noqa: E731
  for groups in (online, offline):
    for inst in cluster.instances:
      if inst.snode != model.NO_NODE:
        assert not any({name(inst.pnode), name(inst.snode)} <= set(g) for g in groups)
    sizes = [len(g) for g in groups[:-1]]
    assert sizes == sorted(sizes, reverse=True)
  for inst in cluster.instances:
    for other in cluster.instances:
      if inst.snode != model.NO_NODE and other.snode == inst.snode and \
          other.pnode != inst.pnode:
        pair = {name(inst.pnode), name(other.pnode)}
        assert not any(pair <= set(g) for g in online), (inst.name, other.name)
  assert len(offline) <= len(online)
  theirs = _Theirs("hroller", "-t", path).splitlines()[1:]
  theirs_offline = _Theirs("hroller", "-t", path, "--offline-maintenance").splitlines()[1:]
  assert len(online) <= len(theirs) and len(offline) <= len(theirs_offline)
