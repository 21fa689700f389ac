"""hbal's search: greedy steps, each the single instance move that lowers the
cluster score most.

A move changes one of an instance's nodes (Ganeti's move kinds, see MOVES).
Scoring every candidate from scratch costs O(nodes) per candidate; instead
the balancer keeps, per node, the values of the standard-deviation metrics
(a metrics x nodes matrix) and their sums and sums of squares.  For one
instance it "lifts" the instance off its nodes once, then evaluates every
target node of a move kind at once as NumPy vectors: only the instance's
fixed node and the target column change, so each candidate's score follows
from the sums in O(1).  Counting metrics (N+1 failures, offline instances,
tags, locations) are kept as sums the same way.
"""

import heapq
import math
from typing import Any, Callable, Iterable, Optional

import numpy as np

from ganeti.htools import model
from ganeti.htools import score

NO_NODE = model.NO_NODE

# Move kinds: name -> (new primary, new secondary) as a function of
# (primary, secondary, target), and the letters hbal prints for it.
FAILOVER = "failover"
REPLACE_SECONDARY = "replace-secondary"
REPLACE_PRIMARY = "replace-primary"
REPLACE_AND_FAILOVER = "replace-and-failover"
FAILOVER_AND_REPLACE = "failover-and-replace"
FAILOVER_TO_ANY = "failover-to-any"

# Standard-deviation metrics the balancer tracks, with their summed weights
# (the *_forth metrics equal their plain ones when nothing is forthcoming,
# and the three primary-count loads are the same values).
_ROW_FREE_MEM, _ROW_FREE_DSK, _ROW_RES_MEM, _ROW_VCPU, _ROW_PRI, _ROW_ALL, _ROW_SPINDLES, \
  _ROW_FREE_MEM_FORTH = range(8)
_ROW_WEIGHTS = np.array([0.5, 1.0, 1.0, 1.0, 3.0, 1.0, 1.0, 0.5])
_W_N1 = 1.0
_W_RTOTAL = 0.25
_W_OFF_ALL = 4.0
_W_OFF_PRI = 16.0
_W_TAGS = 2.0
_W_LOCATION = 1.0
_W_LOC_EXCL = 1.0
# bound on two-move escapes from local minima per run
_MAX_ESCAPES = 50
# how fast the lazy search forgets the largest gain drift it saw (per step)
_DRIFT_DECAY = 0.9
# the margin for drift is at most this share of the best gain seen (in long
# tails of small gains the drift seen would otherwise make every step a
# nearly full one)
_MARGIN_SHARE = 0.5
# lazy steps at least between two full ones (see _NextMove)
_FULL_EVERY = 64
# ... and at least this many times as many lazy evaluations as a full step
# makes (full steps cost at most a quarter of the search)
_FULL_SHARE = 3
# scores closer than this are equal (they differ only by rounding)
_TIE = 1e-10
# score.METRICS by how they combine over the nodes' rows
_METRIC_STDDEV = np.array([combination == score.STDDEV for _, _, combination, _ in score.METRICS])
_METRIC_ONLINE = np.array([online for _, _, _, online in score.METRICS])
_METRIC_WEIGHTS = np.array(score.WEIGHTS)
_METRIC_LOC_EXCL = score.METRIC_NAMES.index("location_exclusion_score")


def MigrationMatrix(cluster: model.Cluster, nodes: list[model.Node]) -> Optional[np.ndarray]:
  """[source, target] -> whether instances may migrate between these nodes
  under the cluster's migration tags (None when it has none).

  Cluster tags htools:migration:PREFIX make node tags PREFIX:* migration
  tags; a migration needs every migration tag of the source on the target,
  where htools:allowmigration:X::Y lets a node tagged Y stand for X.
  """
  prefixes = model.TagSuffixes(cluster.tags, "htools:migration:")
  if not prefixes:
    return None
  stands_for: dict[str, set[str]] = {}
  for rule in model.TagSuffixes(cluster.tags, "htools:allowmigration:"):
    source, sep, target = rule.partition("::")
    if sep:
      stands_for.setdefault(target, set()).add(source)
  tags = []
  for node in nodes:
    own = {tag for tag in node.tags if any(tag.startswith(p + ":") for p in prefixes)}
    tags.append((own, own.union(*(stands_for.get(tag, set()) for tag in own))))
  return np.array([[source <= accepted for _, accepted in tags] for source, _ in tags],
                  dtype=bool)


class Move:
  """One balancing step: an instance goes from (old) to (new) nodes."""
  __slots__ = ("inst", "kind", "old_p", "old_s", "new_p", "new_s", "score")

  def __init__(self, inst: int, kind: str, old_p: int, old_s: int, new_p: int, new_s: int,
               score_after: float) -> None:
    self.inst = inst
    self.kind = kind
    self.old_p = old_p
    self.old_s = old_s
    self.new_p = new_p
    self.new_s = new_s
    self.score = score_after

  def Nodes(self) -> set[int]:
    return {idx for idx in (self.old_p, self.old_s, self.new_p, self.new_s) if idx != NO_NODE}

  def Actions(self, node_name: Callable[[int], str]) -> list[tuple[str, str]]:
    """The Ganeti operations in order: ("f", "") failover/migrate, ("r", node)
    replace secondary, ("m", node) migrate to a node."""
    if self.kind == FAILOVER:
      return [("f", "")]
    if self.kind == REPLACE_SECONDARY:
      return [("r", node_name(self.new_s))]
    if self.kind == REPLACE_PRIMARY:
      return [("f", ""), ("r", node_name(self.new_p)), ("f", "")]
    if self.kind == REPLACE_AND_FAILOVER:
      return [("r", node_name(self.new_p)), ("f", "")]
    if self.kind == FAILOVER_AND_REPLACE:
      return [("f", ""), ("r", node_name(self.new_s))]
    return [("m", node_name(self.new_p))]


class Options:
  """What the search may do (hbal's algorithm options)."""

  def __init__(self, max_length: int = -1, min_score: float = 1e-9, min_gain: float = 0.01,
               min_gain_limit: float = 0.1, disk_moves: bool = True, instance_moves: bool = True,
               excluded: Iterable[str] = (), selected: Optional[Iterable[str]] = None,
               evac_mode: bool = False, restricted_migration: bool = False,
               max_cpu: Optional[float] = None, min_disk: float = 0.0,
               ignore_soft_errors: bool = False, lookahead: int = 10,
               lazy_from: int = 400) -> None:
    self.max_length = max_length
    self.min_score = min_score
    self.min_gain = min_gain
    self.min_gain_limit = min_gain_limit
    self.disk_moves = disk_moves
    self.instance_moves = instance_moves
    self.excluded = set(excluded)
    self.selected = set(selected) if selected is not None else None
    self.evac_mode = evac_mode
    self.restricted_migration = restricted_migration
    self.max_cpu = max_cpu
    self.min_disk = min_disk
    self.ignore_soft_errors = ignore_soft_errors
    self.lookahead = lookahead   # first moves tried when stuck (0: plain greedy)
    # groups with at least this many movable instances are searched lazily
    self.lazy_from = lazy_from


class Balancer:
  """The vectorised search state for one node group of a cluster."""

  def __init__(self, cluster: model.Cluster, group: int, options: Options) -> None:
    self.cluster = cluster
    self.options = options
    self.nodes = [node for node in cluster.nodes if node.group == group]
    self.pos = {node.idx: pos for pos, node in enumerate(self.nodes)}
    count = len(self.nodes)
    self.count = count
    nodes = self.nodes
    ipolicy = cluster.GroupIPolicy(group)
    self.max_cpu = options.max_cpu if options.max_cpu is not None else ipolicy.vcpu_ratio
    self.offline = np.array([node.offline for node in nodes], dtype=bool)
    self.online_count = int(count - self.offline.sum())
    self.row_weights = _ROW_WEIGHTS.copy()
    if not cluster.instance_loads:
      self.row_weights[[_ROW_PRI, _ROW_ALL]] = 0.0
    self.inv_tmem = np.array([1.0 / node.t_mem if node.t_mem else 0.0 for node in nodes])
    self.inv_tdsk = np.array([1.0 / node.t_dsk if node.t_dsk else 0.0 for node in nodes])
    self.inv_tcpu = np.array([1.0 / node.t_cpu if node.t_cpu else 0.0 for node in nodes])
    self.inv_spin = np.array([1.0 / node.HiSpindles(ipolicy.spindle_ratio)
                              if node.HiSpindles(ipolicy.spindle_ratio) else 0.0 for node in nodes])
    self.t_cpu = np.array([float(node.t_cpu) for node in nodes])
    self.lo_dsk = np.array([math.floor(options.min_disk * node.t_dsk) for node in nodes], dtype=float)
    self.f_mem = np.zeros(count)
    self.f_dsk = np.zeros(count)
    self.u_cpu = np.zeros(count)      # includes the node's own CPUs
    self.r_mem = np.zeros(count)
    self.n_pri = np.zeros(count)
    self.n_sec = np.zeros(count)
    self.spin = np.zeros(count)
    self.down = np.zeros(count)
    self.changed = np.zeros(count, dtype=bool)
    self.peers = np.zeros((count, count))   # [secondary, primary] -> failover memory
    self.tag_counts: dict[str, np.ndarray] = {}
    self.loc_share = np.zeros((count, count), dtype=bool)
    # every node's score.NodeValues, kept with the node's state: the score
    # of a state combines them without visiting every node again
    self._rows = np.zeros((count, len(score.METRICS)))
    self.has_locations = any(node.locations for node in nodes)
    self.migration = MigrationMatrix(cluster, nodes)
    self._no_misses = np.zeros(count)
    if self.has_locations:
      for a, node_a in enumerate(nodes):
        for b, node_b in enumerate(nodes):
          self.loc_share[a, b] = bool(node_a.locations & node_b.locations)
    for pos in range(count):
      self._LoadNode(pos)
    self.values = np.zeros((8, count))
    self._RefreshValues(range(count))
    # allocation never leaves a node failing N+1; balancing may keep one failing
    self._strict = False
    # lazy search state: each instance's best move as last evaluated, the
    # state version it was evaluated in, and a max-heap of their gains
    self._version = 0
    self._cache: dict[int, tuple[int, Optional[Move]]] = {}
    self._queue: list[tuple[float, int, int]] = []
    self._dirty: set[int] = set()
    self._need_full = True
    self._lazy = False   # whether Run searches lazily
    # lazy steps since the last full one, and the instances they evaluated
    self._lazy_steps = self._lazy_evaluations = 0
    self._evaluations = 0
    self._drift = 0.0
    self._scored = (-1, 0.0)

  # --- state kept from the model --------------------------------------------------------------

  def _LoadNode(self, pos: int) -> None:
    node = self.nodes[pos]
    self._rows[pos] = score.NodeValues(self.cluster, node)
    self.f_mem[pos] = node.f_mem
    self.f_dsk[pos] = node.f_dsk
    self.u_cpu[pos] = node.u_cpu + node.n_cpu
    self.r_mem[pos] = node.r_mem
    self.n_pri[pos] = len(node.pri)
    self.n_sec[pos] = len(node.sec)
    self.spin[pos] = node.pri_spindles + node.sec_spindles
    self.down[pos] = node.down_mem
    self.changed[pos] = node.changed
    row = self.peers[pos]
    row[:] = 0.0
    for peer, amount in node.peers.items():
      if peer in self.pos:
        row[self.pos[peer]] = amount
    for tag, vector in self.tag_counts.items():
      vector[pos] = node.pri_tags.get(tag, 0)
    for tag, amount in node.pri_tags.items():
      if tag not in self.tag_counts:
        self.tag_counts[tag] = np.zeros(self.count)
        self.tag_counts[tag][pos] = amount

  def _Columns(self, pos, f_mem, f_dsk, u_cpu, r_mem, n_pri, n_sec, spin, down) -> list:
    return [f_mem * self.inv_tmem[pos], f_dsk * self.inv_tdsk[pos], r_mem * self.inv_tmem[pos],
            u_cpu * self.inv_tcpu[pos], n_pri, n_pri + n_sec, spin * self.inv_spin[pos],
            (f_mem - down) * self.inv_tmem[pos]]

  def _RefreshValues(self, positions: Iterable[int]) -> None:
    for pos in positions:
      if self.offline[pos]:
        self.values[:, pos] = 0.0
      else:
        self.values[:, pos] = self._Columns(pos, self.f_mem[pos], self.f_dsk[pos], self.u_cpu[pos],
                                            self.r_mem[pos], self.n_pri[pos], self.n_sec[pos],
                                            self.spin[pos], self.down[pos])

  def Score(self) -> float:
    """The group's score, computed once per state version."""
    if self._scored[0] != self._version:
      rows = self._rows
      online = rows[~self.offline]
      values = np.where(_METRIC_STDDEV, online.std(axis=0) if len(online) else 0.0,
                        np.where(_METRIC_ONLINE, online.sum(axis=0), rows.sum(axis=0)))
      values[_METRIC_LOC_EXCL] = (score.LocationExclusionScore(self.cluster, self.nodes)
                                  if self.has_locations else 0.0)
      self._scored = (self._version, float(values @ _METRIC_WEIGHTS))
    return self._scored[1]

  # --- candidate evaluation ----------------------------------------------------------------

  def _Stddev(self, sums: np.ndarray, squares: np.ndarray) -> np.ndarray:
    """Weighted sum of the standard deviations, for sums of shape (8,) or (8, n)."""
    count = self.online_count or 1
    mean = sums / count
    variance = np.maximum(squares / count - mean * mean, 0.0)
    return np.sqrt(variance).T @ self.row_weights

  @staticmethod
  def _N1(f_mem, r_mem, n_pri, n_sec):
    """N+1 failure count of a node whose placement changes (see Node.FailsN1)."""
    return (n_pri + n_sec) * (f_mem <= r_mem)

  def _FailsNow(self, pos):
    """Whether nodes fail N+1 in the current state (pos: index or slice)."""
    f_mem, r_mem = self.f_mem[pos], self.r_mem[pos]
    return (f_mem < r_mem) | (self.changed[pos] & (f_mem == r_mem))

  def _Candidates(self, inst: model.Instance):
    """(kind, fixed primary or None, fixed secondary or None) move families."""
    p = self.pos[inst.pnode]
    opts = self.options
    if inst.template == "diskless":
      return   # Ganeti's hbal leaves diskless instances where they are
    if inst.mirror == model.MIRROR_EXTERNAL:
      if opts.instance_moves:
        yield FAILOVER_TO_ANY, None, NO_NODE
      return
    if inst.mirror != model.MIRROR_INTERNAL or inst.snode not in self.pos:
      return
    s = self.pos[inst.snode]
    if opts.instance_moves:
      yield FAILOVER, s, p
    if opts.disk_moves:
      yield REPLACE_SECONDARY, p, None
    if opts.disk_moves and opts.instance_moves:
      p_drained = self.offline[p]
      if not opts.restricted_migration:
        yield REPLACE_PRIMARY, None, s
      if not opts.restricted_migration or p_drained:
        yield REPLACE_AND_FAILOVER, None, p
      yield FAILOVER_AND_REPLACE, s, None

  def BestMove(self, inst: model.Instance, current: float) -> Optional[Move]:
    """The instance's best move if it scores at most current, else None."""
    p = self.pos[inst.pnode]
    s = self.pos.get(inst.snode, NO_NODE) if inst.snode != NO_NODE else NO_NODE
    mem_used = inst.mem if inst.uses_memory else 0
    down = 0 if inst.uses_memory else inst.mem
    dsk = inst.local_disk
    spin = inst.disk_spindle_use
    fo_mem = inst.failover_mem
    vcpus = inst.vcpus
    excl = inst.excl_tags
    values = self.values
    # lifted state of p and s
    lift = {}
    lift[p] = [self.f_mem[p] + mem_used, self.f_dsk[p] + dsk, self.u_cpu[p] - vcpus,
               self.r_mem[p], self.n_pri[p] - 1, self.n_sec[p], self.spin[p] - spin,
               self.down[p] - down]
    if s != NO_NODE:
      row = self.peers[s].copy()
      row[p] -= fo_mem
      lift[s] = [self.f_mem[s], self.f_dsk[s] + dsk, self.u_cpu[s], float(row.max()),
                 self.n_pri[s], self.n_sec[s] - 1, self.spin[s] - spin, self.down[s]]
    lifted_values = values.copy()
    sums_base = self._sums.copy()
    squares_base = self._squares.copy()
    other_sum = self._base_sums
    for pos, state in lift.items():
      if self.offline[pos]:
        continue
      old_col = values[:, pos]
      other_sum -= self._NodeSumsNow(pos)
      new_col = np.array(self._Columns(pos, *state))
      lifted_values[:, pos] = new_col
      sums_base += new_col - old_col
      squares_base += new_col * new_col - old_col * old_col
      other_sum += self._NodeSums(pos, state[0], state[3], state[4], state[5])
    # offline counts and tag/location scores without the lifted instance
    off_all = self._off_all - (self.offline[p] + (s != NO_NODE and self.offline[s]))
    off_pri = self._off_pri - self.offline[p]
    inst_tag_conflict = sum(1 for tag in excl if self.tag_counts.get(tag) is not None
                            and self.tag_counts[tag][p] >= 2)
    loc_before = int(s != NO_NODE and self.loc_share[p, s])
    lifted_loc_excl = self._LocExclLifted(inst)
    if self.offline[p]:
      # an offline node's tags and locations do not count in the score
      inst_tag_conflict = loc_before = 0
      loc_excl_before = 0.0
    else:
      loc_excl_before = self._LocExclAdd(inst, p, lifted_loc_excl)
    desired = self._DesiredMisses(inst)
    lifted_other = (other_sum + _W_OFF_ALL * off_all + _W_OFF_PRI * off_pri
                    - _W_TAGS * inst_tag_conflict - _W_LOCATION * loc_before
                    - loc_excl_before + self._sum_extra - _W_LOCATION * desired[p])

    def _State(pos: int) -> list:
      return lift[pos] if pos in lift else [self.f_mem[pos], self.f_dsk[pos], self.u_cpu[pos],
                                            self.r_mem[pos], self.n_pri[pos], self.n_sec[pos],
                                            self.spin[pos], self.down[pos]]

    pre_sums = sums_base[:, None] - lifted_values
    pre_squares = squares_base[:, None] - lifted_values * lifted_values
    targets = ~self.offline.copy()
    targets[p] = False
    if s != NO_NODE:
      targets[s] = False
    best: Optional[Move] = None
    best_score = current
    for kind, fixed_p, fixed_s in self._Candidates(inst):
      if kind == REPLACE_PRIMARY and self._AddPrimaryScalar(
          s, lift[s], mem_used, down, dsk, spin, vcpus, excl) is None:
        continue   # the instance passes through its secondary as primary
      kind_targets = targets
      if self.migration is not None:
        kind_targets = self._MigrationTargets(kind, p, s, targets)
        if kind_targets is None:
          continue
      if fixed_p is not None and fixed_s is not None:
        result = self._EvalPair(fixed_p, fixed_s, _State, lifted_values, sums_base, squares_base,
                                inst, mem_used, down, dsk, spin, fo_mem, vcpus, excl)
        if result is None:
          continue
        cand = (lifted_other + result + self._LocExclAdd(inst, fixed_p, lifted_loc_excl)
                + _W_LOCATION * desired[fixed_p])
        if cand < best_score:
          best_score = cand
          best = Move(inst.idx, kind, inst.pnode, inst.snode, self.nodes[fixed_p].idx,
                      self.nodes[fixed_s].idx, cand)
        continue
      scores = self._EvalVector(kind, fixed_p, fixed_s, _State, pre_sums, pre_squares,
                                inst, mem_used, down, dsk, spin, fo_mem, vcpus, excl,
                                kind_targets)
      if scores is None:
        continue
      scores = scores + lifted_other + _W_LOCATION * (desired if fixed_p is None
                                                      else desired[fixed_p])
      if kind == REPLACE_SECONDARY:
        # the instance stays on its primary with the tag conflicts it has there
        scores = scores + _W_TAGS * inst_tag_conflict
      if self.has_locations and excl:
        if fixed_p is None:
          scores = scores + np.array([self._LocExclAdd(inst, t, lifted_loc_excl)
                                      for t in range(self.count)])
        else:
          scores = scores + self._LocExclAdd(inst, fixed_p, lifted_loc_excl)
      t = int(np.argmin(scores))
      cand = float(scores[t])
      if cand < best_score:
        best_score = cand
        new_p = self.nodes[t if fixed_p is None else fixed_p].idx
        new_s = NO_NODE if fixed_s == NO_NODE else self.nodes[t if fixed_s is None else fixed_s].idx
        best = Move(inst.idx, kind, inst.pnode, inst.snode, new_p, new_s, cand)
    return best

  def _MigrationTargets(self, kind: str, p: int, s: int,
                        targets: np.ndarray) -> Optional[np.ndarray]:
    """The targets of a move kind whose migrations the migration tags allow
    (None if none): each live migration in the move's operations, from the
    node running the instance to the next one, must be allowed."""
    allowed = self.migration
    if kind in (FAILOVER, FAILOVER_AND_REPLACE):
      return targets if allowed[p, s] else None
    if kind == REPLACE_PRIMARY:
      return targets & allowed[s] if allowed[p, s] else None
    if kind in (REPLACE_AND_FAILOVER, FAILOVER_TO_ANY):
      return targets & allowed[p]
    return targets

  def _EvalPair(self, np_, ns, state_of, lifted_values, sums_base, squares_base, inst, mem_used,
                down, dsk, spin, fo_mem, vcpus, excl) -> Optional[float]:
    """Score (without the constant parts) of placing the lifted instance on (np_, ns)."""
    sp = state_of(np_)
    ss = state_of(ns)
    if self.offline[np_]:
      return None
    new_p = self._AddPrimaryScalar(np_, sp, mem_used, down, dsk, spin, vcpus, excl)
    if new_p is None:
      return None
    peer = self.peers[ns, np_] - (fo_mem if (self.nodes[ns].idx == inst.snode
                                             and self.nodes[np_].idx == inst.pnode) else 0)
    new_s = self._AddSecondaryScalar(ns, ss, dsk, spin, fo_mem, peer + fo_mem)
    if new_s is None:
      return None
    sums = sums_base.copy()
    squares = squares_base.copy()
    extra = 0.0
    for pos, old, new in ((np_, sp, new_p), (ns, ss, new_s)):
      extra += self._NodeSums(pos, new[0], new[3], new[4], new[5]) - \
        self._NodeSums(pos, old[0], old[3], old[4], old[5])
      if self.offline[pos]:
        continue
      col_old = lifted_values[:, pos]
      col_new = np.array(self._Columns(pos, *new))
      sums += col_new - col_old
      squares += col_new * col_new - col_old * col_old
    if self.offline[ns]:
      extra += _W_OFF_ALL
    extra += _W_LOCATION * self.loc_share[np_, ns]
    return float(self._Stddev(sums, squares)) + extra

  def _AddPrimaryScalar(self, pos, st, mem_used, down, dsk, spin, vcpus, excl,
                        forced: bool = False) -> Optional[list]:
    """The node's state with the lifted instance as primary (None if it may
    not go there).  forced: only free memory and disk must stay positive
    (the instance stays on this primary, hbal adds it back unchecked)."""
    f_mem = st[0] - mem_used
    f_dsk = st[1] - dsk
    u_cpu = st[2] + vcpus
    if forced:
      if f_mem <= 0 or (dsk and f_dsk <= 0):
        return None
      return [f_mem, f_dsk, u_cpu, st[3], st[4] + 1, st[5], st[6] + spin, st[7] + down]
    # free memory must stay positive, also with the stopped primaries started
    if f_mem <= 0 or st[0] - st[7] - mem_used - down <= 0 or f_dsk < self.lo_dsk[pos]:
      return None
    if f_mem <= st[3] and (self._strict or not st[0] <= st[3]):
      return None
    if not self.options.ignore_soft_errors and u_cpu * self.inv_tcpu[pos] > self.max_cpu:
      return None
    for tag in excl:
      vector = self.tag_counts.get(tag)
      if vector is not None and vector[pos] >= 1:
        return None
    return [f_mem, f_dsk, u_cpu, st[3], st[4] + 1, st[5], st[6] + spin, st[7] + down]

  def _AddSecondaryScalar(self, pos, st, dsk, spin, fo_mem, peer_amount) -> Optional[list]:
    f_dsk = st[1] - dsk
    r_mem = max(st[3], peer_amount)
    if f_dsk < self.lo_dsk[pos] or fo_mem >= st[0] - st[7]:
      return None
    if st[0] <= r_mem and (self._strict or not st[0] <= st[3]):
      return None
    return [st[0], f_dsk, st[2], r_mem, st[4], st[5] + 1, st[6] + spin, st[7]]

  def _EvalVector(self, kind, fixed_p, fixed_s, state_of, pre_sums, pre_squares, inst,
                  mem_used, down, dsk, spin, fo_mem, vcpus, excl, targets) -> Optional[np.ndarray]:
    """Scores over all target nodes (inf where invalid), one side of the move fixed."""
    fm, fd, uc, rm = self.f_mem, self.f_dsk, self.u_cpu, self.r_mem
    valid = targets.copy()
    if fixed_p is not None:
      # primary fixed, secondary = every target
      if self.offline[fixed_p]:
        return None
      sp = state_of(fixed_p)
      # a new secondary leaves the primary as it is: hbal adds it back forced
      new_p = self._AddPrimaryScalar(fixed_p, sp, mem_used, down, dsk, spin, vcpus, excl,
                                     forced=kind == REPLACE_SECONDARY)
      if new_p is None:
        return None
      t_fdsk = fd - dsk
      t_rmem = np.maximum(rm, self.peers[:, fixed_p] + fo_mem)
      valid &= (t_fdsk >= self.lo_dsk) & (fo_mem < fm - self.down)
      fails_now = self._fails_now
      valid &= ~((fm <= t_rmem) & (self._strict | ~fails_now))
      cols_new = np.array(self._Columns(slice(None), fm, t_fdsk, uc, t_rmem, self.n_pri,
                                        self.n_sec + 1, self.spin + spin, self.down))
      t_extra = (self._N1(fm, t_rmem, self.n_pri, self.n_sec + 1) -
                 self._n1_now)
      t_extra = t_extra * _W_N1 + _W_RTOTAL * (t_rmem - rm) * self.inv_tmem
      if self.has_locations:
        t_extra = t_extra + _W_LOCATION * self.loc_share[fixed_p]
      fixed_pos, fixed_old, fixed_new = fixed_p, sp, new_p
      fixed_new_cols = np.array(self._Columns(fixed_p, *new_p))[:, None]
      fixed_extra = self._NodeSums(fixed_p, new_p[0], new_p[3], new_p[4], new_p[5]) - \
        self._NodeSums(fixed_p, sp[0], sp[3], sp[4], sp[5])
    else:
      # secondary fixed (or none), primary = every target
      if fixed_s != NO_NODE and inst.mirror != model.MIRROR_INTERNAL:
        return None
      t_fmem = fm - mem_used
      t_fdsk = fd - dsk
      t_ucpu = uc + vcpus
      valid &= (t_fmem > 0) & (t_fmem - self.down - down > 0) & (t_fdsk >= self.lo_dsk)
      fails_now = self._fails_now
      valid &= ~((t_fmem <= rm) & (self._strict | ~fails_now))
      if not self.options.ignore_soft_errors:
        valid &= t_ucpu * self.inv_tcpu <= self.max_cpu
      for tag in excl:
        vector = self.tag_counts.get(tag)
        if vector is not None:
          valid &= vector < 1
      cols_new = np.array(self._Columns(slice(None), t_fmem, t_fdsk, t_ucpu, rm, self.n_pri + 1,
                                        self.n_sec, self.spin + spin, self.down + down))
      t_extra = _W_N1 * (self._N1(t_fmem, rm, self.n_pri + 1, self.n_sec) -
                         self._n1_now)
      if fixed_s == NO_NODE:
        fixed_pos = None
        fixed_extra = 0.0
      else:
        ss = state_of(fixed_s)
        if self.offline[fixed_s]:
          return None
        f_dsk_s = ss[1] - dsk
        if f_dsk_s < self.lo_dsk[fixed_s] or fo_mem >= ss[0] - ss[7]:
          return None
        # the fixed secondary's reserve depends on which target becomes its peer
        s_peers = self.peers[fixed_s].copy()
        if inst.snode == self.nodes[fixed_s].idx:
          s_peers[self.pos[inst.pnode]] -= fo_mem
        s_rmem = np.maximum(s_peers.max(), s_peers + fo_mem)
        newly_failing = (ss[0] <= s_rmem) & (self._strict | ~(ss[0] <= ss[3]))
        if kind == REPLACE_AND_FAILOVER:
          # the old primary keeps the instance's disks as its secondary; its
          # N+1 check counts it as failing if it fails while still running
          # the instance, as in hbal
          newly_failing = (ss[0] <= s_rmem) & ~self._FailsNow(fixed_s)
        valid &= ~newly_failing
        # only the reserve depends on the target; the other rows are one value
        s_cols = np.repeat(np.array(self._Columns(
          fixed_s, ss[0], f_dsk_s, ss[2], ss[3], ss[4], ss[5] + 1, ss[6] + spin, ss[7]))[:, None],
          self.count, axis=1)
        s_cols[_ROW_RES_MEM] = s_rmem * self.inv_tmem[fixed_s]
        fixed_pos = fixed_s
        fixed_new_cols = s_cols
        fixed_old = ss
        fixed_extra = (_W_N1 * (self._N1(ss[0], s_rmem, ss[4], ss[5] + 1) -
                                self._N1(ss[0], ss[3], ss[4], ss[5]))
                       + _W_RTOTAL * (s_rmem - ss[3]) * self.inv_tmem[fixed_s])
        if self.has_locations:
          t_extra = t_extra + _W_LOCATION * self.loc_share[:, fixed_s]
    if not valid.any():
      return None
    # pre_sums/pre_squares: the sums without each target's own column
    sums = pre_sums + cols_new
    squares = pre_squares + cols_new * cols_new
    if fixed_pos is not None:
      old_col = np.array(self._Columns(fixed_pos, *fixed_old))[:, None]
      sums += fixed_new_cols - old_col
      squares += fixed_new_cols * fixed_new_cols - old_col * old_col
    result = self._Stddev(sums, squares) + t_extra + fixed_extra
    return np.where(valid, result, np.inf)

  # --- counting metrics --------------------------------------------------------------------

  def _NodeSums(self, pos, f_mem, r_mem, n_pri, n_sec) -> float:
    """Weighted counting metrics of one online node that depend on its placement."""
    if self.offline[pos]:
      return 0.0
    return _W_N1 * self._N1(f_mem, r_mem, n_pri, n_sec) + _W_RTOTAL * r_mem * self.inv_tmem[pos]

  def _NodeSumsNow(self, pos: int) -> float:
    """_NodeSums of a node in its current state."""
    if self.offline[pos]:
      return 0.0
    return (_W_N1 * (self.n_pri[pos] + self.n_sec[pos]) * self._FailsNow(pos)
            + _W_RTOTAL * self.r_mem[pos] * self.inv_tmem[pos])

  def _BaseSums(self) -> float:
    online = ~self.offline
    n1 = ((self.n_pri + self.n_sec) * self._FailsNow(slice(None)))[online].sum()
    return float(_W_N1 * n1 + _W_RTOTAL * (self.r_mem * self.inv_tmem)[online].sum())

  def _OfflineInstances(self) -> float:
    return float((self.n_pri + self.n_sec)[self.offline].sum())

  def _OfflinePrimaries(self) -> float:
    return float(self.n_pri[self.offline].sum())

  def _DesiredMisses(self, inst: model.Instance) -> np.ndarray:
    """Per node, the desired location tags of the instance it lacks (0 on
    offline nodes, whose primaries do not count)."""
    if not inst.desired:
      return self._no_misses
    return np.array([0 if self.offline[pos] else score.DesiredMisses(inst, node)
                     for pos, node in enumerate(self.nodes)], dtype=float)

  def _LocExclLifted(self, inst: model.Instance) -> dict:
    """Location/tag counts without this instance (only when both exist)."""
    if not (self.has_locations and inst.excl_tags):
      return {}
    counts: dict = {}
    for node in self.nodes:
      if node.offline:
        continue
      for tag, count in node.pri_tags.items():
        if node.idx == inst.pnode and tag in inst.excl_tags:
          count -= 1
        for location in node.locations:
          counts[(location, tag)] = counts.get((location, tag), 0) + count
    return counts

  def _LocExclAdd(self, inst: model.Instance, pos: int, counts: dict) -> float:
    if not counts:
      return 0.0
    node = self.nodes[pos]
    return _W_LOC_EXCL * sum(1 for tag in inst.excl_tags for location in node.locations
                             if counts.get((location, tag), 0) >= 1)

  # --- the search --------------------------------------------------------------------------

  def _PrepareStep(self) -> None:
    """Constant score parts of the current state not covered elsewhere."""
    total = self.Score()
    self._sums = self.values.sum(axis=1)
    self._squares = (self.values * self.values).sum(axis=1)
    self._fails_now = self._FailsNow(slice(None))
    self._n1_now = (self.n_pri + self.n_sec) * self._fails_now
    self._base_sums = self._BaseSums()
    self._off_all = self._OfflineInstances()
    self._off_pri = self._OfflinePrimaries()
    known = (float(self._Stddev(self._sums, self._squares)) + self._base_sums
             + _W_OFF_ALL * self._off_all + _W_OFF_PRI * self._off_pri)
    # what remains are the tag conflict and location scores of every instance
    self._sum_extra = total - known
    self._current = total

  def Candidates(self) -> list[model.Instance]:
    opts = self.options
    result = []
    for inst in self.cluster.instances:
      # instances without auto_balance stay where they are, as in hbal
      if inst.pnode not in self.pos or inst.name in opts.excluded or not inst.auto_balance:
        continue
      if opts.selected is not None and inst.name not in opts.selected:
        continue
      if opts.evac_mode and not (self.nodes[self.pos[inst.pnode]].offline or
                                 (inst.snode in self.pos and self.nodes[self.pos[inst.snode]].offline)):
        continue
      result.append(inst)
    return result

  def Step(self) -> Optional[Move]:
    """Finds the best move from the current state (without applying it),
    evaluating every instance (and remembering each one's best move)."""
    self._PrepareStep()
    best: Optional[Move] = None
    best_score = self._current - _TIE
    self._queue = []
    self._dirty.clear()
    for inst in self.Candidates():
      move = self._Evaluate(inst)
      # a tie (scores equal but for rounding) goes to the earlier instance, as in hbal
      if move is not None and move.score < best_score - _TIE:
        best, best_score = move, move.score
    self._need_full = False
    return best

  def _Evaluate(self, inst: model.Instance) -> Optional[Move]:
    """The instance's best move in the current state, cached and queued by gain."""
    self._evaluations += 1
    move = self.BestMove(inst, math.inf)
    gain = self._current - move.score if move is not None else -math.inf
    self._cache[inst.idx] = (self._version, move)
    heapq.heappush(self._queue, (-gain, -inst.idx, self._version))
    return move

  def _LazyStep(self) -> Optional[Move]:
    """The best move by lazy evaluation, or None if none is seen to improve.

    One move changes the state of at most four nodes: the instances on them
    are evaluated again; every other instance keeps its cached gain, which
    drifts only slightly as the cluster means move.  The cached gains are
    taken as estimates: instances are evaluated again, highest estimate
    first, until no estimate (plus the largest drift seen lately) reaches
    the best gain evaluated in the current state.  The move returned is
    exact and valid; it can only miss an instance whose gain grew more.
    """
    self._PrepareStep()
    instances = self.cluster.instances
    for idx in sorted(self._dirty):
      self._Evaluate(instances[idx])
    self._dirty.clear()
    self._drift *= _DRIFT_DECAY
    queue = self._queue
    best: Optional[tuple[float, int, Optional[Move]]] = None
    fresh = []
    while queue:
      neg_gain, neg_idx, version = queue[0]
      gain, idx = -neg_gain, -neg_idx
      if best is not None and gain + min(self._drift, _MARGIN_SHARE * best[0]) < best[0]:
        break
      heapq.heappop(queue)
      cached_version, move = self._cache[idx]
      if version != cached_version:
        continue   # superseded by a later evaluation
      if version == self._version:
        fresh.append((neg_gain, neg_idx, version))
        # ties go to the earlier instance, as in a full step
        if best is None or gain > best[0] + _TIE or (gain > best[0] - _TIE and idx < best[1]):
          best = (gain, idx, move)
        continue
      move = self._Evaluate(instances[idx])
      if move is not None and math.isfinite(gain):
        self._drift = max(self._drift, self._current - move.score - gain)
    for entry in fresh:
      heapq.heappush(queue, entry)
    return best[2] if best is not None and best[0] > 2 * _TIE else None

  def _NextMove(self, lazy: bool) -> Optional[Move]:
    """The next greedy move: exact (every instance evaluated) on small groups,
    for the first step, once there were _FULL_EVERY lazy steps since the
    last full one and they evaluated _FULL_SHARE times as many instances as
    it does (which bounds the cost of the full steps by that of the lazy
    ones), and
    whenever the lazy search finds no move that lets the search go on, so
    the search ends exactly where a full evaluation finds nothing better."""
    if lazy and not self._need_full and (self._lazy_steps < _FULL_EVERY or
                                         self._lazy_evaluations < _FULL_SHARE * len(self._cache)):
      self._lazy_steps += 1
      before = self._evaluations
      move = self._LazyStep()
      self._lazy_evaluations += self._evaluations - before
      if move is not None and not self._Stops(self._current, move):
        return move
    self._lazy_evaluations = self._lazy_steps = 0
    return self.Step()

  def BestPlacement(self, inst: model.Instance, exclude: frozenset = frozenset(),
                    fixed_primary: Optional[int] = None) -> tuple[Optional[tuple], int, int]:
    """((score, primary, secondary) or None, valid spots, spots tried) for an
    unplaced instance (cluster node indices; secondary NO_NODE without mirroring).
    Unlike a move, a new instance may not leave any node failing N+1: in a
    group that already has such a node, as with Ganeti's hail, nothing fits."""
    self._strict = True
    try:
      return self._BestPlacement(inst, exclude, fixed_primary)
    finally:
      self._strict = False

  def GroupFailsN1(self) -> bool:
    return bool((self._FailsNow(slice(None)) & ~self.offline).any())

  def _BestPlacement(self, inst: model.Instance, exclude: frozenset,
                     fixed_primary: Optional[int]) -> tuple[Optional[tuple], int, int]:
    if self.GroupFailsN1():
      return None, 0, int((~self.offline).sum())
    self._PrepareStep()
    mem_used = inst.mem if inst.uses_memory else 0
    down = 0 if inst.uses_memory else inst.mem
    args = (mem_used, down, inst.local_disk, inst.disk_spindle_use, inst.failover_mem,
            inst.vcpus, inst.excl_tags)
    base = (self._base_sums + _W_OFF_ALL * self._off_all + _W_OFF_PRI * self._off_pri
            + self._sum_extra)
    loc_counts = self._LocExclLifted(inst)
    desired = self._DesiredMisses(inst)
    targets = ~self.offline
    for idx in exclude:
      if idx in self.pos:
        targets[self.pos[idx]] = False

    def _State(pos: int) -> list:
      return [self.f_mem[pos], self.f_dsk[pos], self.u_cpu[pos], self.r_mem[pos],
              self.n_pri[pos], self.n_sec[pos], self.spin[pos], self.down[pos]]

    def _LocExcl(positions) -> Any:
      if not loc_counts:
        return 0.0
      return np.array([self._LocExclAdd(inst, t, loc_counts) for t in positions])

    pre_sums = self._sums[:, None] - self.values
    pre_squares = self._squares[:, None] - self.values * self.values
    best: Optional[tuple[float, int, int]] = None
    valid = tried = 0
    if inst.mirror == model.MIRROR_INTERNAL:
      if fixed_primary is not None:
        primaries = [self.pos[fixed_primary]] if fixed_primary in self.pos else []
      else:
        primaries = [pos for pos in range(self.count) if targets[pos]]
      for p in primaries:
        secondaries = targets.copy()
        secondaries[p] = False
        tried += int(secondaries.sum())
        scores = self._EvalVector("allocate", p, None, _State, pre_sums, pre_squares, inst,
                                  *args, secondaries)
        if scores is None:
          continue
        scores = scores + base + _LocExcl([p]) + _W_LOCATION * desired[p]
        valid += int(np.isfinite(scores).sum())
        t = int(np.argmin(scores))
        if np.isfinite(scores[t]) and (best is None or scores[t] < best[0]):
          best = (float(scores[t]), self.nodes[p].idx, self.nodes[t].idx)
      return best, valid, tried
    tried = int(targets.sum())
    scores = self._EvalVector("allocate", None, NO_NODE, _State, pre_sums, pre_squares, inst,
                              *args, targets)
    if scores is None:
      return None, 0, tried
    scores = scores + base + _LocExcl(range(self.count)) + _W_LOCATION * desired
    t = int(np.argmin(scores))
    if not np.isfinite(scores[t]):
      return None, 0, tried
    return (float(scores[t]), self.nodes[t].idx, NO_NODE), int(np.isfinite(scores).sum()), tried

  def TopMoves(self, count: int) -> list[Move]:
    """The best move of each instance, best first, even if none improves
    (taken from the cache when every instance was evaluated in this state)."""
    self._PrepareStep()
    if self._cache and all(version == self._version for version, _ in self._cache.values()):
      moves = [move for _, move in self._cache.values() if move is not None]
    else:
      moves = [move for move in (self.BestMove(inst, math.inf) for inst in self.Candidates())
               if move is not None]
    moves.sort(key=lambda move: move.score)
    return moves[:count]

  def _Undo(self, move: Move) -> None:
    self.Apply(Move(move.inst, move.kind, move.new_p, move.new_s, move.old_p, move.old_s, 0.0))

  def Escape(self, current: float) -> Optional[list[Move]]:
    """Two moves that together lower the score where no single move does.

    Greedy search stops in local minima; trying the few best (worsening)
    first moves with the best follow-up each often finds a way out.
    """
    for first in self.TopMoves(self.options.lookahead):
      self.Apply(first)
      first.score = self.Score()
      # on large groups the follow-up is searched lazily: it mostly involves
      # the instances on the nodes the first move changed
      second = self._LazyStep() if self._lazy else self.Step()
      if second is not None and second.score < current - self.options.min_gain:
        self.Apply(second)
        second.score = self.Score()
        return [first, second]
      self._Undo(first)
    return None

  def Refresh(self, node_indices: Iterable[int]) -> None:
    """Reloads nodes whose placement changed in the model (cluster indices)."""
    positions = [self.pos[idx] for idx in node_indices if idx in self.pos]
    for pos in positions:
      self._LoadNode(pos)
    self._RefreshValues(positions)
    self._version += 1

  def Apply(self, move: Move) -> None:
    inst = self.cluster.instances[move.inst]
    self.cluster.Place(inst, move.new_p, move.new_s)
    touched = [self.pos[idx] for idx in move.Nodes()]
    for pos in touched:
      self._LoadNode(pos)
    self._RefreshValues(touched)
    # the instances on the changed nodes are evaluated again in the next step
    for pos in touched:
      node = self.nodes[pos]
      self._dirty.update(idx for idx in node.pri + node.sec if idx in self._cache)
    self._version += 1

  def _Stops(self, current: float, move: Optional[Move]) -> bool:
    """Whether the search would end (or try an escape) at this next move."""
    opts = self.options
    if move is None or move.score >= current:
      return True
    return current - move.score < opts.min_gain and current < opts.min_gain_limit

  def Run(self, report: Optional[Callable[[Move], None]] = None) -> tuple[float, float, list[Move]]:
    """Balances greedily; returns (initial score, final score, moves)."""
    opts = self.options
    initial = self.Score()
    current = initial
    moves: list[Move] = []
    escapes = 0
    lazy = self._lazy = len(self.Candidates()) >= opts.lazy_from
    self._need_full = True
    while opts.max_length < 0 or len(moves) < opts.max_length:
      if current <= opts.min_score:
        break
      move = self._NextMove(lazy)
      if current - (move.score if move else current) < opts.min_gain and \
          current < opts.min_gain_limit:
        break
      if move is None or move.score >= current:
        if opts.lookahead <= 0 or escapes >= _MAX_ESCAPES:
          break
        if opts.max_length >= 0 and len(moves) + 2 > opts.max_length:
          break
        pair = self.Escape(current)
        if pair is None:
          break
        escapes += 1
        self._need_full = True   # the cache saw the states tried on the way
        for step in pair:
          moves.append(step)
          if report is not None:
            report(step)
        current = self.Score()
        continue
      self.Apply(move)
      current = self.Score()
      move.score = current
      moves.append(move)
      if report is not None:
        report(move)
    return initial, current, moves
