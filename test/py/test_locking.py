"""Tests for ganeti.locking."""

import random
import threading
import time

import pytest

from ganeti import constants
from ganeti import errors
from ganeti import locking

FIELDS = ["name", "mode", "owner", "pending"]


def _WaitFor(predicate, timeout=5.0):
  deadline = time.monotonic() + timeout
  while not predicate():
    assert time.monotonic() < deadline, "condition not reached"
    time.sleep(0.002)


class _Runner:
  """Runs functions in named threads and records their results."""

  def __init__(self):
    self.threads = []
    self.results = {}
    self.order = []
    self._mutex = threading.Lock()

  def start(self, name, fn, *args, **kwargs):
    def run():
      locking.SetOwnerName(name)
      try:
        result = fn(*args, **kwargs)
      except Exception as err:  # recorded for the test to inspect
        result = err
      with self._mutex:
        self.results[name] = result
        self.order.append(name)
    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    self.threads.append(thread)
    return thread

  def join(self, timeout=5.0):
    for thread in self.threads:
      thread.join(timeout)
      assert not thread.is_alive(), "thread %s hung" % thread.name


def _Pending(lock):
  return len(lock.info()[2])


def _HoldThenRelease(lock, shared, event):
  """Acquires lock, records it, keeps it until event is set."""
  assert lock.acquire(shared=shared)
  event.wait()
  lock.release()
  return True


# SharedLock

def test_shared_owners_coexist_exclusive_excludes():
  lock = locking.SharedLock("l")
  done = threading.Event()
  runner = _Runner()
  runner.start("1", _HoldThenRelease, lock, True, done)
  runner.start("2", _HoldThenRelease, lock, True, done)
  _WaitFor(lambda: len(lock.info()[1]) == 2)
  assert lock.info() == ("shared", ["1", "2"], [])
  assert lock.acquire(shared=True, timeout=0)
  lock.release()
  assert not lock.acquire(shared=False, timeout=0)
  started = time.monotonic()
  assert not lock.acquire(shared=False, timeout=0.1)
  assert time.monotonic() - started >= 0.09
  assert _Pending(lock) == 0
  done.set()
  runner.join()
  assert lock.acquire(timeout=0)
  assert lock.is_owned(shared=0) and not lock.is_owned(shared=1)
  assert lock.info() == ("exclusive", [threading.current_thread().name], [])
  lock.release()
  assert not lock.is_owned()


def test_reentrance_and_release_errors():
  lock = locking.SharedLock("l")
  lock.acquire(shared=True)
  with pytest.raises(errors.ProgrammerError):
    lock.acquire(shared=True)
  with pytest.raises(errors.ProgrammerError):
    lock.acquire(shared=False, timeout=0)
  lock.release()
  with pytest.raises(errors.ProgrammerError):
    lock.release()
  with pytest.raises(errors.ProgrammerError):
    lock.downgrade()
  with pytest.raises(errors.ProgrammerError):
    lock.acquire(priority=constants.OP_PRIO_LOWEST + 1)


def test_waiters_served_by_priority_then_fifo():
  lock = locking.SharedLock("l")
  lock.acquire()
  runner = _Runner()
  for name, priority in [("low", constants.OP_PRIO_LOW), ("n1", 0),
                         ("high", constants.OP_PRIO_HIGH), ("n2", 0),
                         ("top", constants.OP_PRIO_HIGHEST)]:
    runner.start(name, lambda p=priority: lock.acquire(priority=p) and
                 lock.release())
    _WaitFor(lambda n=len(runner.threads): _Pending(lock) == n)
  assert [p[1][0] for p in lock.info()[2]] == ["top", "high", "n1", "n2", "low"]
  lock.release()
  runner.join()
  assert runner.order == ["top", "high", "n1", "n2", "low"]


def test_exclusive_waiter_not_starved_by_shared():
  lock = locking.SharedLock("l")
  done, early_done = threading.Event(), threading.Event()
  runner = _Runner()
  runner.start("reader", _HoldThenRelease, lock, True, done)
  runner.start("early", _HoldThenRelease, lock, True, early_done)
  _WaitFor(lambda: lock.info()[1] == ["early", "reader"])
  runner.start("writer", lambda: lock.acquire() and lock.release() is None)
  _WaitFor(lambda: _Pending(lock) == 1)
  # A new reader of the same priority queues behind the writer...
  assert not lock.acquire(shared=True, timeout=0.05)
  runner.start("reader2", lambda: lock.acquire(shared=True) and
               lock.release() is None)
  _WaitFor(lambda: _Pending(lock) == 2)
  # ...and stays there when another reader leaves
  early_done.set()
  _WaitFor(lambda: lock.info()[1] == ["reader"])
  time.sleep(0.02)
  assert lock.info() == ("shared", ["reader"], [
    ["exclusive", ["writer"]], ["shared", ["reader2"]]])
  # One of higher priority is served before the writer
  assert lock.acquire(shared=True, timeout=0, priority=constants.OP_PRIO_HIGH)
  lock.release()
  done.set()
  runner.join()
  assert set(runner.results.values()) == {True}
  assert runner.order[-2:] == ["writer", "reader2"]


def test_timed_out_head_unblocks_followers():
  lock = locking.SharedLock("l")
  done = threading.Event()
  runner = _Runner()
  runner.start("reader", _HoldThenRelease, lock, True, done)
  _WaitFor(lambda: lock.info()[1] == ["reader"])
  runner.start("writer", lock.acquire, timeout=0.2)
  _WaitFor(lambda: _Pending(lock) == 1)
  runner.start("reader2", lambda: lock.acquire(shared=True) and
               lock.release() is None)
  _WaitFor(lambda: _Pending(lock) == 2)
  assert lock.info()[2] == [["exclusive", ["writer"]], ["shared", ["reader2"]]]
  runner.threads[1].join(5)
  runner.threads[2].join(5)
  assert runner.results == {"writer": False, "reader2": True}
  done.set()
  runner.join()


def test_downgrade_admits_shared_waiters():
  lock = locking.SharedLock("l")
  lock.acquire()
  runner = _Runner()
  runner.start("r1", lambda: lock.acquire(shared=True) and
               lock.release() is None)
  runner.start("w", lambda: lock.acquire() and lock.release() is None)
  _WaitFor(lambda: _Pending(lock) == 2)
  lock.downgrade()
  runner.threads[0].join(5)
  assert runner.results == {"r1": True}
  assert lock.is_owned(shared=1)
  assert lock.info()[2] == [["exclusive", ["w"]]]
  lock.release()
  runner.join()
  assert runner.results["w"] is True


def test_delete_with_waiters():
  lock = locking.SharedLock("l")
  lock.acquire(shared=True)
  with pytest.raises(errors.ProgrammerError):
    lock.delete()
  lock.release()
  lock.acquire()
  runner = _Runner()
  runner.start("a", lock.acquire)
  runner.start("b", lock.acquire, shared=True, timeout=10)
  _WaitFor(lambda: _Pending(lock) == 2)
  assert lock.delete()
  runner.join()
  assert all(isinstance(r, errors.LockError) for r in runner.results.values())
  with pytest.raises(errors.LockError):
    lock.acquire(timeout=0)


def test_delete_acquires_first():
  lock = locking.SharedLock("l")
  done = threading.Event()
  runner = _Runner()
  runner.start("holder", _HoldThenRelease, lock, True, done)
  _WaitFor(lambda: lock.info()[1] == ["holder"])
  assert not lock.delete(timeout=0.05)
  done.set()
  runner.join()
  assert lock.delete(timeout=5)


# LockSet

def test_lockset_all_or_nothing_on_timeout():
  lockset = locking.LockSet(["a", "b", "c"], "instance")
  done = threading.Event()
  runner = _Runner()
  runner.start("holder", lambda: lockset.acquire(["b"]) and done.wait() and
               lockset.release() is None)
  _WaitFor(lambda: any(r[0] == "instance/b" for r in lockset.info_rows()))
  assert lockset.acquire(["c", "a", "b"], timeout=0.05) is None
  assert not lockset.is_owned()
  assert lockset.acquire(["c", "a"], timeout=0) == {"a", "c"}
  assert lockset.list_owned() == {"a", "c"}
  assert lockset.check_owned(["a"], shared=0)
  assert not lockset.check_owned(["a", "b"])
  with pytest.raises(errors.ProgrammerError):
    lockset.acquire(["b"])
  lockset.release(["a"])
  assert lockset.list_owned() == {"c"}
  lockset.release()
  with pytest.raises(errors.LockError):
    lockset.acquire(["nosuch"])
  done.set()
  runner.join()


def test_all_set_against_members():
  lockset = locking.LockSet(["a", "b"], "node")
  lockset.acquire(locking.ALL_SET, shared=True)
  assert lockset.owning_all() and lockset.list_owned() == {"a", "b"}
  result = {}
  def other():
    result["shared"] = lockset.acquire(["a"], shared=True, timeout=0)
    lockset.release()
    result["exclusive"] = lockset.acquire(["a"], timeout=0.05)
    result["whole"] = lockset.acquire(locking.ALL_SET, timeout=0)
  thread = threading.Thread(target=other)
  thread.start()
  thread.join(5)
  assert result == {"shared": {"a"}, "exclusive": None, "whole": None}
  lockset.release()

  lockset.acquire(["b"])
  thread = threading.Thread(
    target=lambda: result.update(s=lockset.acquire(None, True, timeout=0.05)))
  thread.start()
  thread.join(5)
  assert result["s"] is None
  lockset.release()


def test_add_waits_for_whole_set_owner():
  lockset = locking.LockSet(["a"], "instance")
  lockset.acquire(locking.ALL_SET, shared=True)
  runner = _Runner()
  runner.start("adder", lockset.add, ["b"], acquired=True)
  _WaitFor(lambda: ["exclusive", ["adder"]] in dict(
    (r[0], r[3]) for r in lockset.info_rows()).get("instance/b", []))
  assert lockset.names() == ["a"]
  assert lockset.list_owned() == {"a"}
  lockset.release()
  runner.join()
  assert sorted(lockset.names()) == ["a", "b"]
  # The adder still owns "b" (its thread ended without releasing)
  assert lockset.acquire(["b"], timeout=0) is None
  with pytest.raises(errors.LockError):
    lockset.add(["a"])
  assert not lockset.is_owned()


def test_whole_set_owner_adds_and_removes():
  lockset = locking.LockSet(["a", "b"], "instance")
  lockset.acquire(locking.ALL_SET)
  lockset.add(["c"], acquired=True)
  assert lockset.list_owned() == {"a", "b", "c"}
  assert lockset.remove(["a", "nosuch"]) == ["a"]
  assert lockset.list_owned() == {"b", "c"}
  lockset.release(["b"])
  assert lockset.list_owned() == {"c"} and not lockset.owning_all()
  result = {}
  def other():
    result["c"] = lockset.acquire(["c"], timeout=0)
    result["b"] = lockset.acquire(["b"], timeout=0)
    lockset.release()
  thread = threading.Thread(target=other)
  thread.start()
  thread.join(5)
  assert result == {"b": {"b"}, "c": None}
  lockset.release()


def test_remove_needs_exclusive_and_fails_waiters():
  lockset = locking.LockSet(["a", "b"], "instance")
  lockset.acquire(["a"], shared=True)
  with pytest.raises(errors.ProgrammerError):
    lockset.remove(["a"])
  lockset.release()
  lockset.acquire(["a", "b"])
  runner = _Runner()
  runner.start("waiter", lockset.acquire, ["a"], shared=True)
  _WaitFor(lambda: dict((r[0], r[3]) for r in lockset.info_rows())
           .get("instance/a") == [["shared", ["waiter"]]])
  assert lockset.remove("a") == ["a"]
  runner.join()
  assert isinstance(runner.results["waiter"], errors.LockError)
  assert lockset.names() == ["b"] and lockset.list_owned() == {"b"}
  lockset.release()
  assert lockset.acquire(locking.ALL_SET, timeout=0) == {"b"}
  lockset.release()


def test_lockset_downgrade():
  lockset = locking.LockSet(["a", "b"], "node")
  lockset.acquire(["a", "b"])
  lockset.downgrade(["a"])
  assert lockset.check_owned("a", shared=1) and lockset.check_owned("b", 0)
  result = {}
  def other():
    result["a"] = lockset.acquire(["a"], shared=True, timeout=0)
    lockset.release()
  thread = threading.Thread(target=other)
  thread.start()
  thread.join(5)
  assert result["a"] == {"a"}
  lockset.release()
  lockset.acquire(locking.ALL_SET)
  lockset.downgrade()
  assert lockset.owning_all() and lockset.check_owned(["a", "b"], shared=1)
  lockset.release()


# GanetiLockManager

def _Manager():
  return locking.GanetiLockManager(nodes=["n1", "n2"], nodegroups=["g1"],
                                   instances=["i1", "i2"], networks=["net1"])


def test_manager_level_order_and_bgl():
  glm = _Manager()
  with pytest.raises(errors.ProgrammerError):
    glm.acquire(locking.LEVEL_NODE, ["n1"])
  assert glm.acquire(locking.LEVEL_CLUSTER, locking.BGL, shared=True) == {"BGL"}
  assert glm.acquire(locking.LEVEL_NODE, ["n1"]) == {"n1"}
  with pytest.raises(errors.ProgrammerError):
    glm.acquire(locking.LEVEL_INSTANCE, ["i1"])
  with pytest.raises(errors.ProgrammerError):
    glm.add(locking.LEVEL_INSTANCE, ["i3"])
  with pytest.raises(errors.ProgrammerError):
    glm.acquire(locking.LEVEL_NODE, ["n2"])
  with pytest.raises(errors.ProgrammerError):
    glm.release(locking.LEVEL_CLUSTER)
  with pytest.raises(errors.ProgrammerError):
    glm.add(locking.LEVEL_CLUSTER, ["other"])
  with pytest.raises(errors.ProgrammerError):
    glm.acquire(99, ["x"])
  assert glm.acquire(locking.LEVEL_NETWORK, locking.ALL_SET) == {"net1"}
  assert glm.list_owned(locking.LEVEL_NODE) == {"n1"}
  assert glm.check_owned(locking.LEVEL_CLUSTER, locking.BGL, shared=1)
  assert glm.owning_all(locking.LEVEL_NETWORK)
  assert not glm.is_owned(locking.LEVEL_NODE_RES)
  glm.release(locking.LEVEL_NETWORK)
  glm.release(locking.LEVEL_NODE)
  glm.add(locking.LEVEL_INSTANCE, ["i3"], acquired=True)
  assert glm.list_owned(locking.LEVEL_INSTANCE) == {"i3"}
  assert glm.remove(locking.LEVEL_INSTANCE, ["i3"]) == ["i3"]
  assert not glm.is_owned(locking.LEVEL_INSTANCE)
  assert glm.names(locking.LEVEL_INSTANCE) == ["i1", "i2"]
  glm.release(locking.LEVEL_CLUSTER)
  assert not glm.is_owned(locking.LEVEL_CLUSTER)


def test_lock_info_shapes():
  glm = _Manager()
  runner = _Runner()
  gates = {name: threading.Event() for name in ("25", "26", "27")}

  def job(name, steps):
    glm.acquire(locking.LEVEL_CLUSTER, locking.BGL, shared=True)
    for level, names, shared in steps:
      glm.acquire(level, names, shared=shared)
    gates[name].wait()
    for level in sorted({level for level, _, _ in steps}, reverse=True):
      glm.release(level)
    glm.release(locking.LEVEL_CLUSTER)
    return True

  runner.start("25", job, "25", [(locking.LEVEL_NODE, ["n1"], False)])
  _WaitFor(lambda: glm.GetLockInfo(["name"]) == [
    ["cluster/BGL"], ["cluster/[lockset]"], ["node/[lockset]"], ["node/n1"]])
  runner.start("26", job, "26", [(locking.LEVEL_NODE, ["n1"], False)])
  runner.start("27", job, "27", [(locking.LEVEL_INSTANCE, None, True),
                                 (locking.LEVEL_NODE, None, True)])
  expected = [
    ["cluster/BGL", "shared", ["25", "26", "27"], []],
    ["cluster/[lockset]", None, [], []],
    ["instance/[lockset]", "shared", ["27"], []],
    ["node/[lockset]", None, [], [["shared", ["27"]]]],
    ["node/n1", "exclusive", ["25"], [["exclusive", ["26"]]]],
  ]
  _WaitFor(lambda: glm.GetLockInfo(FIELDS) == expected)
  result = glm.QueryLocks(["name", "bogus"])
  assert result["fields"] == [
    {"name": "name", "title": "Name", "kind": "other", "doc": "Lock name"},
    {"name": "bogus", "title": "bogus", "kind": "unknown",
     "doc": "Unknown field 'bogus'"}]
  assert result["data"][0] == [[0, "cluster/BGL"], [1, None]]
  for name in ("25", "26", "27"):
    gates[name].set()
  runner.join()
  assert glm.GetLockInfo(FIELDS) == []


def test_intent_waiter_shown_on_members():
  glm = _Manager()
  glm.acquire(locking.LEVEL_CLUSTER, locking.BGL, shared=True)
  glm.acquire(locking.LEVEL_INSTANCE, locking.ALL_SET, shared=True)
  runner = _Runner()

  def job():
    glm.acquire(locking.LEVEL_CLUSTER, locking.BGL, shared=True)
    glm.acquire(locking.LEVEL_INSTANCE, ["i2", "i1"])
    glm.release(locking.LEVEL_INSTANCE)
    glm.release(locking.LEVEL_CLUSTER)

  runner.start("job/12", job)
  rows = lambda: {row[0]: row[1:] for row in glm.GetLockInfo(FIELDS)}
  _WaitFor(lambda: "instance/i1" in rows())
  info = rows()
  assert info["instance/i1"] == [None, [], [["exclusive", ["job/12"]]]]
  assert info["instance/i2"] == info["instance/i1"]
  assert info["instance/[lockset]"][:2] == ["shared", ["MainThread"]]
  glm.release(locking.LEVEL_INSTANCE)
  glm.release(locking.LEVEL_CLUSTER)
  runner.join()


def test_random_stress_is_deadlock_free():
  """Many threads take random lock sets; all finish and exclusion holds."""
  nodes = ["node%d" % i for i in range(6)]
  instances = ["inst%d" % i for i in range(10)]
  glm = locking.GanetiLockManager(nodes=nodes, nodegroups=["g1", "g2"],
                                  instances=instances, networks=["net1"])
  holders = {}  # (level, name) -> [exclusive count, shared count]
  holders_mutex = threading.Lock()
  violations = []

  def track(level, names, shared, delta):
    with holders_mutex:
      for name in names:
        counts = holders.setdefault((level, name), [0, 0])
        counts[1 if shared else 0] += delta
        if counts[0] > 1 or (counts[0] and counts[1]):
          violations.append((level, name, list(counts)))

  def worker(seed):
    rnd = random.Random(seed)
    created = []
    for step in range(40):
      glm.acquire(locking.LEVEL_CLUSTER, locking.BGL,
                  shared=rnd.random() < 0.95)
      taken = []
      try:
        if rnd.random() < 0.1:
          name = "t%d-%d" % (seed, step)
          glm.add(locking.LEVEL_INSTANCE, [name], acquired=True)
          created.append(name)
          track(locking.LEVEL_INSTANCE, [name], False, 1)
          taken.append((locking.LEVEL_INSTANCE, [name], False))
        for level in locking.LEVELS[1:]:
          if taken and taken[-1][0] == level or rnd.random() < 0.5:
            continue
          if rnd.random() < 0.15:
            names = locking.ALL_SET
          else:
            pool = glm.names(level)
            names = rnd.sample(pool, min(len(pool), rnd.randint(1, 3)))
          shared = rnd.random() < 0.5
          try:
            got = glm.acquire(level, names, shared=shared,
                              timeout=rnd.choice([None, None, 0.01]),
                              priority=rnd.randint(-20, 19))
          except errors.LockError:
            continue  # a lock was removed while we waited for it
          if got is not None:
            track(level, got, shared, 1)
            taken.append((level, got, shared))
        # Hold the locks a moment so that threads really interleave
        time.sleep(rnd.random() * 0.002)
        if created and rnd.random() < 0.3 and not taken:
          victim = created.pop()
          if glm.acquire(locking.LEVEL_INSTANCE, [victim]) is not None:
            assert glm.remove(locking.LEVEL_INSTANCE, [victim]) == [victim]
            glm.release(locking.LEVEL_INSTANCE)
      finally:
        for level, names, shared in reversed(taken):
          track(level, names, shared, -1)
          glm.release(level)
        glm.release(locking.LEVEL_CLUSTER)

  failures = []

  def guarded(seed):
    try:
      worker(seed)
    except Exception as err:  # reported by the assertion below
      failures.append(repr(err))

  threads = [threading.Thread(target=guarded, args=(seed,), daemon=True)
             for seed in range(40)]
  deadline = time.monotonic() + 20
  for thread in threads:
    thread.start()
  for thread in threads:
    thread.join(max(0.0, deadline - time.monotonic()))
  assert not [t for t in threads if t.is_alive()], "deadlock or livelock"
  assert failures == []
  assert violations == []
  assert glm.GetLockInfo(FIELDS) == []
