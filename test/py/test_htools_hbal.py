"""hbal: plans checked against invariants (capacity, N+1, CPU ratio, tags,
group, options), incremental scores against recomputation, the command line
report, and the quality compared with Debian's Haskell hbal when installed."""

import copy
import os
import re
import subprocess

import pytest

from ganeti.htools import balance
from ganeti.htools import generator
from ganeti.htools import model
from ganeti.htools import score
from ganeti.htools import textfmt

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUR_HBAL = os.path.join(TOP, "build", "sbin", "hbal")
HBAL = "/usr/bin/hbal"
needs_hbal = pytest.mark.skipif(not os.access(HBAL, os.X_OK), reason="Debian's hbal not installed")
STEP = re.compile(r"^\s+(\d+)\. (\S+)\s+(\S+)\s+=> (\S+)\s+([\d.]+) a=(.*)$")


def _CheckMove(cluster: model.Cluster, move: balance.Move, group: int) -> None:
  """Applies one move to cluster, asserting it keeps the placement valid."""
  inst = cluster.instances[move.inst]
  assert (inst.pnode, inst.snode) == (move.old_p, move.old_s)
  assert inst.auto_balance and inst.mirror != model.MIRROR_NONE and inst.template != "diskless"
  new_nodes = [idx for idx in (move.new_p, move.new_s) if idx != model.NO_NODE]
  assert len(set(new_nodes)) == len(new_nodes)
  before_ok = {n.idx: not n.FailsN1() for n in cluster.nodes}
  target = cluster.nodes[move.new_p]
  tags_before = dict(target.pri_tags) if move.new_p != move.old_p else {}
  cluster.Place(inst, move.new_p, move.new_s)
  policy = cluster.GroupIPolicy(group)
  for idx in new_nodes:
    node = cluster.nodes[idx]
    assert node.group == group and node.f_dsk >= 0
    assert not node.offline or (idx == move.old_p or idx == move.old_s)
  # memory stays free on a new primary, also once its stopped instances
  # start (and on a primary that only gets a new secondary, as it is); a new
  # secondary keeps more than the instance's memory free besides its stopped
  # primaries (hbal refuses exactly enough)
  assert target.f_mem > 0
  if move.new_p != move.old_p:
    assert target.f_mem - target.down_mem > 0
  if move.new_s != model.NO_NODE and (move.new_s, move.new_p) != (move.old_s, move.old_p):
    secondary = cluster.nodes[move.new_s]
    assert inst.failover_mem < secondary.f_mem - secondary.down_mem, \
      "%s cannot keep %s's memory free" % (secondary.name, inst.name)
  if move.new_p not in (move.old_p, move.old_s):
    assert (target.u_cpu + target.n_cpu) / target.t_cpu <= policy.vcpu_ratio + 1e-9
  for tag in inst.excl_tags:
    assert tags_before.get(tag, 0) == 0, "exclusion tag %s doubled on %s" % (tag, target.name)
  for idx in move.Nodes():
    node = cluster.nodes[idx]
    if before_ok[idx] and not node.offline:
      assert node.f_mem >= node.r_mem, "%s no longer N+1 happy" % node.name


@pytest.mark.parametrize("params", [
  dict(nodes=8, instances=40, seed=1),
  dict(nodes=15, instances=120, seed=2, skew=2.0),
  dict(nodes=12, instances=80, seed=3, offline=2, exclusion_tags=3, locations=3),
])
def test_plan_is_valid_and_scores_are_exact(params):
  cluster = generator.Generate(**params)
  replay = copy.deepcopy(cluster)
  balancer = balance.Balancer(cluster, 0, balance.Options())
  initial = balancer.Score()
  current = initial
  moves = []
  for _ in range(200):
    move = balancer.Step()
    if move is None or move.score >= current:
      break
    predicted = move.score
    balancer.Apply(move)
    current = balancer.Score()
    # the vectorised evaluation predicts exactly the recomputed score
    assert current == pytest.approx(predicted, abs=1e-9)
    moves.append(move)
  assert moves and current < initial
  for move in moves:
    _CheckMove(replay, move, 0)
  assert score.Score(replay, replay.nodes) == pytest.approx(current, abs=1e-9)
  if params.get("offline"):
    offline = [n for n in replay.nodes if n.offline]
    assert sum(len(n.pri) for n in offline) < sum(
      len(n.pri) for n in generator.Generate(**params).nodes if n.offline)


@pytest.mark.parametrize("params", [
  dict(nodes=30, instances=300, seed=5),
  dict(nodes=20, instances=200, seed=7, offline=2, exclusion_tags=3, locations=3),
])
def test_lazy_search_is_valid_and_ends_in_a_full_local_minimum(params):
  """The lazy search (cached gains, re-evaluated on demand) makes valid moves
  with exact scores, evaluates far fewer instances than a full evaluation
  per step would, and stops only where a full evaluation finds no move."""
  cluster = generator.Generate(**params)
  replay = copy.deepcopy(cluster)
  options = balance.Options(lazy_from=0, lookahead=0)
  balancer = balance.Balancer(cluster, 0, options)
  reported = []
  initial, final, moves = balancer.Run(reported.append)
  assert moves and final < initial
  candidates = len(balancer.Candidates())
  assert balancer._evaluations < len(moves) * candidates / 2  # pylint: disable=protected-access
  for move in moves:
    before = score.Score(replay, replay.nodes)
    _CheckMove(replay, move, 0)
    assert score.Score(replay, replay.nodes) == pytest.approx(move.score, abs=1e-9)
    assert move.score < before
  last = balancer.Step()
  assert last is None or (final - last.score < options.min_gain and final < options.min_gain_limit)


def test_escapes_apply_both_moves():
  """A two-move escape from a local minimum applies both moves: replaying the
  whole plan (each move from where the previous left the instance) ends in
  the final state and score Run reports."""
  params = dict(nodes=9, instances=50, seed=1)
  cluster = generator.Generate(**params)
  replay = copy.deepcopy(cluster)
  balancer = balance.Balancer(cluster, 0, balance.Options())
  escapes = []
  original_escape = balancer.Escape
  balancer.Escape = lambda current: escapes.append(original_escape(current)) or escapes[-1]
  _, final, moves = balancer.Run()
  assert any(pair is not None for pair in escapes)
  for move in moves:
    _CheckMove(replay, move, 0)
  assert score.Score(replay, replay.nodes) == pytest.approx(final, abs=1e-9)
  assert [(i.pnode, i.snode) for i in replay.instances] == \
    [(i.pnode, i.snode) for i in cluster.instances]


def _Migrations(move: balance.Move) -> list[tuple[int, int]]:
  """(source, target) of each live migration in a move's operations."""
  running, other = move.old_p, move.old_s
  steps = []
  for action, _ in move.Actions(str):
    if action == "f":
      steps.append((running, other))
      running, other = other, running
    elif action == "r":
      other = move.new_s if move.kind == balance.FAILOVER_AND_REPLACE or \
        move.kind == balance.REPLACE_SECONDARY else move.new_p
    elif action == "m":
      steps.append((running, move.new_p))
      running = move.new_p
  assert running == move.new_p
  return steps


def _TagMigrations(cluster: model.Cluster) -> None:
  """Half the nodes run a new hypervisor: instances may migrate from old to
  new nodes, not back."""
  cluster.tags += ["htools:migration:hv", "htools:allowmigration:hv:old::hv:new"]
  for node in cluster.nodes:
    node.tags = ["hv:new" if node.idx % 2 else "hv:old"]


def test_migration_tags_restrict_the_moves(tmp_path):
  free = generator.Generate(nodes=10, instances=70, seed=3)
  _TagMigrations(free)
  forbidden = lambda a, b: free.nodes[a].tags == ["hv:new"] and \
    free.nodes[b].tags == ["hv:old"]  # noqa: E731
  unrestricted = copy.deepcopy(free)
  unrestricted.tags = []
  _, _, moves = balance.Balancer(unrestricted, 0, balance.Options()).Run()
  assert any(forbidden(*step) for move in moves for step in _Migrations(move))
  replay = copy.deepcopy(free)
  path = str(tmp_path / "tagged.txt")
  textfmt.Save(free, path)
  _, _, moves = balance.Balancer(free, 0, balance.Options()).Run()
  assert moves
  for move in moves:
    assert not any(forbidden(*step) for step in _Migrations(move)), move.kind
    _CheckMove(replay, move, 0)
  # the tags survive the text format: the command line plans the same
  ours = _RunOurs("-t", path).stdout
  assert len(_Steps(ours)) == len(moves)


def _WithDesiredLocations(params: dict) -> model.Cluster:
  """A generated cluster with locations where every third instance wants
  its primary in one of them (htools:desiredlocation)."""
  cluster = generator.Generate(**params)
  cluster.tags.append("htools:desiredlocation:power")
  for inst in cluster.instances[::3]:
    inst.tags = inst.tags + ["power:%d" % (inst.idx % params["locations"])]
  return textfmt.Parse(textfmt.Serialize(cluster))


def _Misses(cluster: model.Cluster) -> int:
  return sum(score.DesiredMisses(inst, cluster.nodes[inst.pnode])
             for inst in cluster.instances if inst.desired)


def test_desired_locations_count_and_are_balanced_for(tmp_path):
  params = dict(nodes=12, instances=80, seed=5, locations=3)
  cluster = _WithDesiredLocations(params)
  assert _Misses(cluster) > 0
  if os.access(HBAL, os.X_OK):
    path = str(tmp_path / "desired.txt")
    textfmt.Save(cluster, path)
    theirs = subprocess.run([HBAL, "-t", path, "-l", "0"], capture_output=True, text=True,
                            timeout=600).stdout
    assert float(re.search(r"Initial score: ([\d.]+)", theirs).group(1)) == pytest.approx(
      score.Score(cluster, cluster.nodes), abs=1e-8)
  before = _Misses(cluster)
  balancer = balance.Balancer(cluster, 0, balance.Options())
  current = balancer.Score()
  for _ in range(200):
    move = balancer.Step()
    if move is None or move.score >= current:
      break
    balancer.Apply(move)
    current = balancer.Score()
    assert current == pytest.approx(move.score, abs=1e-9)
  assert _Misses(cluster) < before


def test_run_respects_options():
  cluster = generator.Generate(nodes=10, instances=60, seed=4)
  names = [inst.name for inst in cluster.instances[:20]]
  options = balance.Options(max_length=5, excluded=names)
  _, _, moves = balance.Balancer(cluster, 0, options).Run()
  assert 0 < len(moves) <= 5
  assert not {cluster.instances[m.inst].name for m in moves} & set(names)
  cluster = generator.Generate(nodes=10, instances=60, seed=4)
  _, _, moves = balance.Balancer(cluster, 0, balance.Options(disk_moves=False)).Run()
  assert moves and all(m.kind in (balance.FAILOVER, balance.FAILOVER_TO_ANY) for m in moves)
  cluster = generator.Generate(nodes=10, instances=60, seed=4)
  _, _, moves = balance.Balancer(cluster, 0, balance.Options(instance_moves=False)).Run()
  assert moves and all(m.kind == balance.REPLACE_SECONDARY for m in moves)
  cluster = generator.Generate(nodes=10, instances=60, seed=4, offline=2)
  offline = {n.idx for n in cluster.nodes if n.offline}
  _, _, moves = balance.Balancer(cluster, 0, balance.Options(evac_mode=True)).Run()
  assert moves and all(m.Nodes() & offline for m in moves)


def test_group_selection_keeps_other_groups_untouched():
  cluster = generator.Generate(nodes=12, instances=80, seed=6, groups=2)
  other = [(i.pnode, i.snode) for i in cluster.instances if cluster.nodes[i.pnode].group == 0]
  _, _, moves = balance.Balancer(cluster, 1, balance.Options()).Run()
  assert moves
  assert all(cluster.nodes[idx].group == 1 for m in moves for idx in m.Nodes())
  assert other == [(i.pnode, i.snode) for i in cluster.instances
                   if cluster.nodes[i.pnode].group == 0]


def _RunOurs(*args):
  return subprocess.run([OUR_HBAL] + list(args), capture_output=True, text=True, timeout=600)


def _Steps(output):
  return [STEP.match(line) for line in output.splitlines() if STEP.match(line)]


def test_command_line_report_and_commands(tmp_path):
  cluster = generator.Generate(nodes=8, instances=40, seed=7)
  path = str(tmp_path / "c.txt")
  textfmt.Save(cluster, path)
  proc = _RunOurs("-t", path, "-C", "-S", str(tmp_path / "state"))
  assert proc.returncode == 0, proc.stderr
  out = proc.stdout
  assert out.startswith("Loaded 8 nodes, %d instances\n" % len(cluster.instances))
  initial = float(re.search(r"Initial score: ([\d.]+)", out).group(1))
  assert initial == pytest.approx(score.Score(cluster, cluster.nodes), abs=1e-8)
  steps = _Steps(out)
  length = int(re.search(r"Solution length=(\d+)", out).group(1))
  assert length == len(steps) > 0
  assert [int(m.group(1)) for m in steps] == list(range(1, length + 1))
  scores = [float(m.group(5)) for m in steps]
  assert scores == sorted(scores, reverse=True) or length > 1
  final = float(re.search(r"improved from [\d.]+ to ([\d.]+)", out).group(1))
  assert final == scores[-1]
  balanced = textfmt.Load(str(tmp_path / "state.balanced"))
  assert score.Score(balanced, balanced.nodes) == pytest.approx(final, abs=1e-6)
  commands = out.split("Commands to run to reach the above solution:\n")[1].splitlines()
  instances = [line.split()[-1] for line in commands if line.strip().startswith("gnt-instance")]
  # every step's instance appears, in order, in the commands
  assert [m.group(2) for m in steps] == [name for pos, name in enumerate(instances)
                                         if pos == 0 or instances[pos - 1] != name] or \
    set(m.group(2) for m in steps) == set(instances)
  jobsets = [line for line in commands if "echo jobset" in line]
  assert 1 <= len(jobsets) <= length


def test_command_line_errors(tmp_path):
  cluster = generator.Generate(nodes=8, instances=40, seed=8, groups=2)
  path = str(tmp_path / "c.txt")
  textfmt.Save(cluster, path)
  proc = _RunOurs("-t", path)
  assert proc.returncode == 1
  assert "Found multiple node groups:" in proc.stderr and "Error: Aborting." in proc.stderr
  proc = _RunOurs("-t", path, "-G", "nosuchgroup")
  assert proc.returncode == 1 and "Node group nosuchgroup not found" in proc.stderr
  proc = _RunOurs("-t", path, "-G", "group-02", "-l", "2")
  assert proc.returncode == 0 and len(_Steps(proc.stdout)) <= 2
  proc = _RunOurs("-t", path, "-L")
  assert proc.returncode == 1 and "Only one of the rapi, luxi, and data files" in proc.stderr


@needs_hbal
@pytest.mark.parametrize("params", [
  dict(nodes=8, instances=40, seed=2),
  dict(nodes=8, instances=40, seed=4),
  dict(nodes=12, instances=100, seed=1),
  # skewed clusters where a move kind's checks differed from hbal's
  dict(nodes=9, instances=63, seed=4, skew=1.5),
  dict(nodes=9, instances=63, seed=2, skew=1.5),
  dict(nodes=16, instances=112, seed=8, skew=1.5),
])
def test_quality_against_haskell_hbal(tmp_path, params):
  """Our final score is no worse than Haskell's; we reach its final score in
  no more moves than it used."""
  cluster = generator.Generate(**params)
  path = str(tmp_path / "c.txt")
  textfmt.Save(cluster, path)
  theirs = subprocess.run([HBAL, "-t", path], capture_output=True, text=True, timeout=600).stdout
  ours = _RunOurs("-t", path).stdout
  assert re.search(r"Initial score: ([\d.]+)", ours).group(1) == \
    re.search(r"Initial score: ([\d.]+)", theirs).group(1)
  their_scores = [float(m.group(5)) for m in _Steps(theirs)]
  our_scores = [float(m.group(5)) for m in _Steps(ours)]
  assert their_scores and our_scores
  assert our_scores[-1] <= their_scores[-1] + 1e-8
  reached = next(pos for pos, value in enumerate(our_scores) if value <= their_scores[-1] + 1e-8)
  assert reached + 1 <= len(their_scores) or our_scores[-1] < their_scores[-1] - 1e-8


def test_ignore_dynu_drops_the_load_metrics(tmp_path):
  """--ignore-dynu zeroes the four load metrics (and only them), in the
  printed coefficients and in the balancer's incremental scores."""
  cluster = generator.Generate(nodes=10, instances=60, seed=4)
  path = str(tmp_path / "c.txt")
  textfmt.Save(cluster, path)
  coefficients = {}
  for args in ((), ("--ignore-dynu",)):
    out = _RunOurs("-t", path, "-v", "-v", "-v", "-l", "0", *args).stdout
    coefficients[args] = dict(re.findall(r"^\s+(\w+)\s+([\d.]+)\s+x", out, re.M))
  plain, ignored = coefficients[()], coefficients[("--ignore-dynu",)]
  loads = {"cpu_load_cv", "mem_load_cv", "disk_load_cv", "net_load_cv"}
  assert all(float(plain[name]) > 0 and float(ignored[name]) == 0 for name in loads)
  assert all(plain[name] == ignored[name] for name in plain if name not in loads)
  cluster.instance_loads = False
  replay = copy.deepcopy(cluster)
  balancer = balance.Balancer(cluster, 0, balance.Options(max_length=10))
  _, final, moves = balancer.Run()
  for move in moves:
    _CheckMove(replay, move, 0)
  assert moves and score.Score(replay, replay.nodes) == pytest.approx(final, abs=1e-9)
