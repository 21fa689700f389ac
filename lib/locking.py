"""The master daemon's lock manager.

Every running job is a thread of the master process; a thread owns the locks
it acquired. Locks are grouped in levels that are always acquired in
increasing order, and within a level in sorted name order, so that waiting
never forms a cycle.

Each level is a LockSet: named member locks plus one "set lock" (shown as
"[lockset]") standing for the whole level. Owning the set lock shared or
exclusive means owning every member, present or future, in that mode; this
is how ALL_SET is granted in one step however many members the level has.
Owners of single members hold the set lock in an intent mode (intent-shared
or intent-exclusive), which keeps whole-level owners out while they work.
Adding members needs intent-exclusive, so it waits while someone owns the
whole level.

Waiters queue per lock, ordered by opcode priority (lower number first) and
arrival; the queue head blocks everyone behind it, so exclusive waiters are
not starved. Each blocked waiter sleeps on its own condition variable bound
to its lock's mutex and is woken only when it is granted the lock.
"""

import bisect
import itertools
import threading
import time
from typing import Iterable, Optional, Union

from ganeti import constants
from ganeti import errors

LEVEL_CLUSTER = 0
LEVEL_INSTANCE = 1
LEVEL_NODEGROUP = 2
LEVEL_NODE = 3
LEVEL_NODE_RES = 4
LEVEL_NETWORK = 5

LEVELS = (LEVEL_CLUSTER, LEVEL_INSTANCE, LEVEL_NODEGROUP, LEVEL_NODE,
          LEVEL_NODE_RES, LEVEL_NETWORK)
# Levels whose members change at runtime
LEVELS_MOD = frozenset(LEVELS) - {LEVEL_CLUSTER}

# Lock names in queries are "<level name>/<lock name>"
LEVEL_NAMES = dict(zip(LEVELS, ("cluster", "instance", "nodegroup", "node", "node-res",
                                "network")))

BGL = "BGL"
# Passed instead of a list of names: the whole level
ALL_SET = None
# How the set lock of a level is named in lock queries
LOCKSET_NAME = "[lockset]"

MODE_SHARED = "shared"
MODE_EXCLUSIVE = "exclusive"

# Lock query fields: name -> (title, kind, doc), as the real Query returns them
LOCK_FIELDS = {
  "name": ("Name", constants.QFT_OTHER, "Lock name"),
  "mode": ("Mode", constants.QFT_OTHER,
           "Mode in which the lock is currently acquired"
           " (exclusive or shared)"),
  "owner": ("Owner", constants.QFT_OTHER, "Current lock owner(s)"),
  "pending": ("Pending", constants.QFT_OTHER, "Jobs waiting for the lock"),
}

# Internal lock modes; the intent modes are only used by set locks.
_IS, _IX, _S, _X = range(4)
_CONFLICTS = {
  _IS: (_X,),
  _IX: (_S, _X),
  _S: (_IX, _X),
  _X: (_IS, _IX, _S, _X),
}
_MODE_NAMES = {_S: MODE_SHARED, _X: MODE_EXCLUSIVE,
               _IS: MODE_SHARED, _IX: MODE_EXCLUSIVE}
# An owner upgrading its intent jumps the queue: waiters ahead of it may be
# waiting for locks it holds.
_UPGRADE_PRIORITY = constants.OP_PRIO_HIGHEST - 1

_OWNER_NAME_ATTR = "_ganeti_lock_owner_name"

Names = Union[None, str, Iterable[str]]


def SetOwnerName(name: Optional[str]) -> None:
  """Sets how the current thread appears as lock owner (e.g. its job ID)."""
  setattr(threading.current_thread(), _OWNER_NAME_ATTR, name)


def OwnerName(owner: threading.Thread) -> str:
  """The display name of a lock owner: its job ID, or else its thread name."""
  return getattr(owner, _OWNER_NAME_ATTR, None) or owner.name


def _OwnerSortKey(name: str) -> tuple:
  # Job IDs sort numerically, other names after them
  return (0, int(name), "") if name.isdigit() else (1, 0, name)


def _CheckPriority(priority: int) -> None:
  if not constants.OP_PRIO_HIGHEST <= priority <= constants.OP_PRIO_LOWEST:
    raise errors.ProgrammerError("Invalid lock priority %r" % (priority,))


class _Waiter:
  """A thread blocked on one lock until granted, timed out or deleted."""
  __slots__ = ("owner", "mode", "cond", "state", "targets")

  def __init__(self, owner, mode, cond, targets):
    self.owner = owner
    self.mode = mode
    self.cond = cond
    self.state = None  # None: waiting, True: granted, False: lock deleted
    self.targets = targets  # member names an intent waiter is after


class SharedLock:
  """A lock owned shared or exclusively by threads, with a priority queue."""

  def __init__(self, name: str) -> None:
    self.name = name
    self._mutex = threading.Lock()
    self._owners: dict = {}  # thread -> internal mode
    self._counts = [0, 0, 0, 0]  # owners per internal mode
    self._queue: list = []  # sorted (priority, sequence, _Waiter)
    self._sequence = itertools.count()
    self._deleted = False

  def __repr__(self) -> str:
    return "<SharedLock %s>" % self.name

  # Public interface, for the current thread

  def acquire(self, shared: bool = False, timeout: Optional[float] = None,
              priority: int = constants.OP_PRIO_DEFAULT) -> bool:
    """Acquires the lock; False if the timeout (None: none) expired."""
    _CheckPriority(priority)
    return self._Acquire(threading.current_thread(), _S if shared else _X,
                         timeout, priority)

  def release(self) -> None:
    """Releases the lock owned by the current thread."""
    self._Release(threading.current_thread())

  def downgrade(self) -> None:
    """Turns the current thread's exclusive ownership into a shared one."""
    owner = threading.current_thread()
    with self._mutex:
      mode = self._owners.get(owner)
      if mode is None:
        raise errors.ProgrammerError("Lock %s not owned" % self.name)
      if mode == _X:
        self._SetModeLocked(owner, _S)

  def delete(self, timeout: Optional[float] = None,
             priority: int = constants.OP_PRIO_DEFAULT) -> bool:
    """Deletes the lock, acquiring it exclusively first unless owned so.

    Waiters and later acquirers get errors.LockError. False on timeout.

    """
    _CheckPriority(priority)
    owner = threading.current_thread()
    mode = self._owners.get(owner)
    if mode == _S:
      raise errors.ProgrammerError("Cannot delete lock %s owned shared" %
                                   self.name)
    if mode is None and not self._Acquire(owner, _X, timeout, priority):
      return False
    self._DeleteOwned()
    return True

  def is_owned(self, shared: int = -1) -> bool:
    """Whether the current thread owns the lock (in the given mode if 0/1)."""
    mode = self._owners.get(threading.current_thread())
    if mode is None:
      return False
    return shared < 0 or (mode == _S) == bool(shared)

  def info(self) -> tuple:
    """(mode or None, owner names, pending [mode, [owner]] pairs)."""
    owners, pending = self._Snapshot()
    return _Describe(owners, pending)

  # Internal interface, used by LockSet

  def _Acquire(self, owner, mode: int, timeout: Optional[float],
               priority: int, targets=None, upgrade: bool = False) -> bool:
    with self._mutex:
      if self._deleted:
        raise errors.LockError("Lock %s has been deleted" % self.name)
      if (owner in self._owners) != upgrade:
        if upgrade:
          raise errors.ProgrammerError("Upgrading lock %s not owned" %
                                       self.name)
        raise errors.ProgrammerError("Lock %s already acquired by %s" %
                                     (self.name, OwnerName(owner)))
      if upgrade:
        priority = _UPGRADE_PRIORITY
      queue = self._queue
      if (not queue or queue[0][0] > priority) and self._Compatible(mode):
        self._GrantLocked(owner, mode)
        return True
      if timeout is not None and timeout <= 0:
        return False
      waiter = _Waiter(owner, mode, threading.Condition(self._mutex), targets)
      entry = (priority, next(self._sequence), waiter)
      bisect.insort(queue, entry)
      if timeout is None:
        while waiter.state is None:
          waiter.cond.wait()
      else:
        deadline = time.monotonic() + timeout
        while waiter.state is None:
          remaining = deadline - time.monotonic()
          if remaining <= 0:
            break
          waiter.cond.wait(remaining)
      if waiter.state is None:
        # Timed out; whoever queued behind us may be able to go now
        queue.remove(entry)
        self._GrantWaitersLocked()
        return False
      if not waiter.state:
        raise errors.LockError("Lock %s has been deleted" % self.name)
      return True

  def _Release(self, owner) -> None:
    with self._mutex:
      mode = self._owners.pop(owner, None)
      if mode is None:
        raise errors.ProgrammerError("Lock %s not owned by %s" %
                                     (self.name, OwnerName(owner)))
      self._counts[mode] -= 1
      if self._queue:
        self._GrantWaitersLocked()

  def _SetMode(self, owner, mode: int) -> None:
    """Changes an owner's mode to a weaker one."""
    with self._mutex:
      self._SetModeLocked(owner, mode)

  def _ForceGrant(self, owner, mode: int) -> None:
    """Grants the lock to an owner who holds it implicitly already."""
    with self._mutex:
      assert owner not in self._owners and self._Compatible(mode)
      self._GrantLocked(owner, mode)

  def _DeleteOwned(self) -> None:
    """Deletes the lock, which the caller owns exclusively."""
    with self._mutex:
      self._deleted = True
      for _, _, waiter in self._queue:
        waiter.state = False
        waiter.cond.notify()
      self._queue.clear()
      self._owners.clear()
      self._counts = [0, 0, 0, 0]

  def _IsIdle(self) -> bool:
    # Unlocked read; good enough to skip idle locks in a query
    return not (self._owners or self._queue)

  def _Snapshot(self) -> tuple:
    """(owner -> mode, [(mode, owner, targets)] in queue order)."""
    with self._mutex:
      return (dict(self._owners),
              [(w.mode, w.owner, w.targets) for _, _, w in self._queue])

  # Helpers; the caller holds the mutex

  def _Compatible(self, mode: int) -> bool:
    counts = self._counts
    for other in _CONFLICTS[mode]:
      if counts[other]:
        return False
    return True

  def _GrantLocked(self, owner, mode: int) -> None:
    old = self._owners.get(owner)
    if old is not None:
      self._counts[old] -= 1
    self._owners[owner] = mode
    self._counts[mode] += 1

  def _SetModeLocked(self, owner, mode: int) -> None:
    self._GrantLocked(owner, mode)
    if self._queue:
      self._GrantWaitersLocked()

  def _GrantWaitersLocked(self) -> None:
    queue = self._queue
    granted = 0
    for _, _, waiter in queue:
      if not self._Compatible(waiter.mode):
        break
      self._GrantLocked(waiter.owner, waiter.mode)
      waiter.state = True
      waiter.cond.notify()
      granted += 1
    if granted:
      del queue[:granted]


def _Describe(owners: dict, pending: list) -> tuple:
  """Query values of a lock: (mode, owner names, pending [mode, [owner]]).

  Intent owners and waiters of a set lock are left out; queries show them
  on the members they are after.

  """
  names = sorted((OwnerName(o) for o, m in owners.items() if m in (_S, _X)),
                 key=_OwnerSortKey)
  if _X in owners.values():
    mode = MODE_EXCLUSIVE
  elif names:
    mode = MODE_SHARED
  else:
    mode = None
  return (mode, names, [[_MODE_NAMES[m], [OwnerName(o)]]
                        for m, o, _ in pending if m in (_S, _X)])


class _OwnerState:
  """What one thread owns in one LockSet."""
  __slots__ = ("set_mode", "members")

  def __init__(self):
    self.set_mode = None  # the thread's mode on the set lock
    self.members = {}  # name -> SharedLock owned individually


class LockSet:
  """Named locks of one level plus the set lock covering all of them."""

  def __init__(self, members: Iterable[str], name: str) -> None:
    self.name = name
    self._set_lock = SharedLock("%s/%s" % (name, LOCKSET_NAME))
    self._members = {member: SharedLock("%s/%s" % (name, member))
                     for member in members}
    self._mutex = threading.Lock()  # guards changes to _members
    self._local = threading.local()

  def _State(self) -> _OwnerState:
    try:
      return self._local.state
    except AttributeError:
      state = self._local.state = _OwnerState()
      return state

  # Ownership of the current thread

  def is_owned(self) -> bool:
    """Whether the current thread owns anything in this set."""
    return self._State().set_mode is not None

  def owning_all(self) -> bool:
    """Whether the current thread owns the whole set."""
    return self._State().set_mode in (_S, _X)

  def list_owned(self) -> set:
    """Names of the members the current thread owns."""
    state = self._State()
    if state.set_mode in (_S, _X):
      return set(self.names())
    return set(state.members)

  def check_owned(self, names: Names, shared: int = -1) -> bool:
    """Whether the current thread owns all names (in the given mode if 0/1)."""
    state = self._State()
    names = _NameList(names)
    if state.set_mode in (_S, _X):
      members = self._members
      return (all(name in members for name in names) and
              (shared < 0 or (state.set_mode == _S) == bool(shared)))
    owner = threading.current_thread()
    for name in names:
      lock = state.members.get(name)
      if lock is None:
        return False
      if shared >= 0 and (lock._owners.get(owner) == _S) != bool(shared):
        return False
    return True

  def names(self) -> list:
    """All member names."""
    with self._mutex:
      return list(self._members)

  # Acquiring and releasing

  def acquire(self, names: Names, shared: bool = False,
              timeout: Optional[float] = None,
              priority: int = constants.OP_PRIO_DEFAULT) -> Optional[set]:
    """Acquires names (or ALL_SET) all or nothing; None on timeout."""
    _CheckPriority(priority)
    state = self._State()
    if state.set_mode is not None:
      raise errors.ProgrammerError("Locks of set %s acquired twice" %
                                   self.name)
    owner = threading.current_thread()
    if names is ALL_SET:
      mode = _S if shared else _X
      if not self._set_lock._Acquire(owner, mode, timeout, priority):
        return None
      state.set_mode = mode
      return set(self.names())

    names = sorted(set(_NameList(names)))
    if not names:
      return set()
    locks = [self._members.get(name) for name in names]
    missing = [name for name, lock in zip(names, locks) if lock is None]
    if missing:
      raise errors.LockError("Non-existing locks in set %s: %s" %
                             (self.name, ", ".join(missing)))
    deadline = None if timeout is None else time.monotonic() + timeout
    intent = _IS if shared else _IX
    if not self._set_lock._Acquire(owner, intent, timeout, priority,
                                   targets=names):
      return None
    state.set_mode = intent
    mode = _S if shared else _X
    try:
      for name, lock in zip(names, locks):
        remaining = None if deadline is None else deadline - time.monotonic()
        if not lock._Acquire(owner, mode, remaining, priority):
          self.release()
          return None
        state.members[name] = lock
    except errors.LockError:
      self.release()
      raise
    return set(names)

  def release(self, names: Names = None) -> None:
    """Releases names, or everything the current thread owns in the set.

    Releasing everything when nothing is owned does nothing, as the owner
    may have removed all the locks it had.

    """
    state = self._State()
    owner = threading.current_thread()
    if names is None:
      for lock in state.members.values():
        lock._Release(owner)
      state.members.clear()
      if state.set_mode is not None:
        state.set_mode = None
        self._set_lock._Release(owner)
      return
    names = set(_NameList(names))
    if state.set_mode in (_S, _X):
      self._SplitWholeSet(state)
    not_owned = names.difference(state.members)
    if not_owned:
      raise errors.ProgrammerError("Releasing locks of set %s not owned: %s" %
                                   (self.name, ", ".join(sorted(not_owned))))
    for name in names:
      state.members.pop(name)._Release(owner)
    self._SettleIntent(state)

  def downgrade(self, names: Names = None) -> None:
    """Turns exclusive ownership of names (None: all owned) into shared."""
    state = self._State()
    if state.set_mode is None:
      raise errors.ProgrammerError("Nothing owned in set %s" % self.name)
    owner = threading.current_thread()
    if names is None and state.set_mode in (_S, _X):
      self._set_lock._SetMode(owner, _S)
      state.set_mode = _S
      return
    if state.set_mode in (_S, _X):
      self._SplitWholeSet(state)
    names = state.members if names is None else set(_NameList(names))
    for name in names:
      lock = state.members.get(name)
      if lock is None:
        raise errors.ProgrammerError("Downgrading lock %s/%s not owned" %
                                     (self.name, name))
      if lock._owners.get(owner) == _X:
        lock._SetMode(owner, _S)
    self._SettleIntent(state)

  def add(self, names: Names, acquired: bool = False, shared: bool = False,
          priority: int = constants.OP_PRIO_DEFAULT) -> None:
    """Adds new members, waiting while others own the whole set.

    With acquired, the current thread owns the new locks afterwards.

    """
    _CheckPriority(priority)
    names = list(dict.fromkeys(_NameList(names)))
    state = self._State()
    owner = threading.current_thread()
    if state.set_mode == _S:
      raise errors.ProgrammerError("Cannot add to set %s owned shared" %
                                   self.name)
    if state.set_mode == _IS:
      self._set_lock._Acquire(owner, _IX, None, priority, upgrade=True)
      state.set_mode = _IX
    elif state.set_mode is None:
      self._set_lock._Acquire(owner, _IX, None, priority, targets=names)
      state.set_mode = _IX
    try:
      with self._mutex:
        existing = [name for name in names if name in self._members]
        if existing:
          raise errors.LockError("Locks already in set %s: %s" %
                                 (self.name, ", ".join(existing)))
        for name in names:
          lock = SharedLock("%s/%s" % (self.name, name))
          if acquired and state.set_mode != _X:
            lock._ForceGrant(owner, _S if shared else _X)
            state.members[name] = lock
          self._members[name] = lock
    finally:
      self._SettleIntent(state)

  def remove(self, names: Names) -> list:
    """Removes members the current thread owns exclusively.

    Names not in the set are ignored; returns the names removed. Threads
    waiting for a removed lock get errors.LockError.

    """
    state = self._State()
    owner = threading.current_thread()
    with self._mutex:
      doomed = [(name, self._members[name]) for name in _NameList(names)
                if name in self._members]
      if state.set_mode != _X:
        not_owned = [name for name, lock in doomed
                     if state.members.get(name) is not lock or
                     lock._owners.get(owner) != _X]
        if not_owned:
          raise errors.ProgrammerError(
            "Removing locks of set %s not owned exclusively: %s" %
            (self.name, ", ".join(not_owned)))
      for name, lock in doomed:
        if state.set_mode != _X:
          state.members.pop(name)
        lock._DeleteOwned()
        del self._members[name]
    self._SettleIntent(state)
    return [name for name, _ in doomed]

  def _SplitWholeSet(self, state: _OwnerState) -> None:
    """Replaces ownership of the whole set by ownership of each member.

    Nobody else can own or wait for a member in a conflicting mode while
    the whole set is owned, so the members are granted without waiting.

    """
    owner = threading.current_thread()
    whole = state.set_mode
    with self._mutex:
      for name, lock in self._members.items():
        lock._ForceGrant(owner, whole)
        state.members[name] = lock
    state.set_mode = _IS if whole == _S else _IX
    self._set_lock._SetMode(owner, state.set_mode)

  def _SettleIntent(self, state: _OwnerState) -> None:
    """Weakens or drops the set lock's intent to what the members need."""
    if state.set_mode in (_S, _X, None):
      return
    owner = threading.current_thread()
    if not state.members:
      needed = None
    elif any(lock._owners.get(owner) == _X for lock in state.members.values()):
      needed = _IX
    else:
      needed = _IS
    if needed == state.set_mode:
      return
    state.set_mode = needed
    if needed is None:
      self._set_lock._Release(owner)
    else:
      self._set_lock._SetMode(owner, needed)

  def info_rows(self) -> list:
    """(name, mode, owners, pending) of every lock held or waited for."""
    with self._mutex:
      members = list(self._members.items())
    rows = {}
    for name, lock in members:
      if not lock._IsIdle():
        rows[name] = list(_Describe(*lock._Snapshot()))
    set_owners, set_pending = self._set_lock._Snapshot()
    # Intent waiters are shown waiting for the members they asked for
    for mode, owner, targets in set_pending:
      for target in targets or ():
        row = rows.setdefault(target, [None, [], []])
        row[2].append([_MODE_NAMES[mode], [OwnerName(owner)]])
    set_row = _Describe(set_owners, set_pending)
    if rows or set_row[1] or set_row[2]:
      rows[LOCKSET_NAME] = list(set_row)
    return [("%s/%s" % (self.name, name), mode, owners, pending)
            for name, (mode, owners, pending) in rows.items()]


def _NameList(names: Names) -> list:
  if isinstance(names, str):
    return [names]
  return list(names)


class GanetiLockManager:
  """All lock levels of the cluster, acquired in level order."""

  def __init__(self, nodes: Iterable[str] = (),
               nodegroups: Iterable[str] = (), instances: Iterable[str] = (),
               networks: Iterable[str] = ()) -> None:
    nodes = list(nodes)
    members = {
      LEVEL_CLUSTER: [BGL],
      LEVEL_INSTANCE: instances,
      LEVEL_NODEGROUP: nodegroups,
      LEVEL_NODE: nodes,
      LEVEL_NODE_RES: nodes,
      LEVEL_NETWORK: networks,
    }
    self._sets = {level: LockSet(members[level], LEVEL_NAMES[level])
                  for level in LEVELS}

  def _Set(self, level: int) -> LockSet:
    try:
      return self._sets[level]
    except KeyError:
      raise errors.ProgrammerError("Invalid lock level %r" % (level,))

  def _CheckOrder(self, level: int) -> None:
    if level != LEVEL_CLUSTER and not self._sets[LEVEL_CLUSTER].is_owned():
      raise errors.ProgrammerError("Locks at level %s need the %s" %
                                   (LEVEL_NAMES[level], BGL))
    higher = [LEVEL_NAMES[other] for other in LEVELS
              if other > level and self._sets[other].is_owned()]
    if higher:
      raise errors.ProgrammerError(
        "Cannot lock level %s while owning locks at level(s) %s" %
        (LEVEL_NAMES[level], ", ".join(higher)))

  def acquire(self, level: int, names: Names, shared: bool = False,
              timeout: Optional[float] = None,
              priority: int = constants.OP_PRIO_DEFAULT) -> Optional[set]:
    """Acquires names (or ALL_SET) at a level; the names or None on timeout."""
    lockset = self._Set(level)
    self._CheckOrder(level)
    return lockset.acquire(names, shared=shared, timeout=timeout,
                           priority=priority)

  def release(self, level: int, names: Names = None) -> None:
    """Releases names (None: everything) owned at a level."""
    lockset = self._Set(level)
    if level == LEVEL_CLUSTER:
      others = [LEVEL_NAMES[other] for other in LEVELS_MOD
                if self._sets[other].is_owned()]
      if others:
        raise errors.ProgrammerError(
          "Cannot release the %s while owning locks at level(s) %s" %
          (BGL, ", ".join(others)))
    lockset.release(names)

  def downgrade(self, level: int, names: Names = None) -> None:
    """Turns exclusive ownership at a level into shared."""
    self._Set(level).downgrade(names)

  def add(self, level: int, names: Names, acquired: bool = False,
          shared: bool = False,
          priority: int = constants.OP_PRIO_DEFAULT) -> None:
    """Adds locks to a level, waiting while others own the whole level."""
    if level not in LEVELS_MOD:
      raise errors.ProgrammerError("Cannot add locks at level %r" % (level,))
    self._CheckOrder(level)
    self._sets[level].add(names, acquired=acquired, shared=shared,
                          priority=priority)

  def remove(self, level: int, names: Names) -> list:
    """Removes locks owned exclusively from a level; the names removed."""
    if level not in LEVELS_MOD:
      raise errors.ProgrammerError("Cannot remove locks at level %r" %
                                   (level,))
    return self._sets[level].remove(names)

  def is_owned(self, level: int) -> bool:
    """Whether the current thread owns anything at a level."""
    return self._Set(level).is_owned()

  def owning_all(self, level: int) -> bool:
    """Whether the current thread owns a whole level."""
    return self._Set(level).owning_all()

  def list_owned(self, level: int) -> set:
    """Names the current thread owns at a level."""
    return self._Set(level).list_owned()

  def check_owned(self, level: int, names: Names, shared: int = -1) -> bool:
    """Whether the current thread owns names at a level (mode if 0/1)."""
    return self._Set(level).check_owned(names, shared=shared)

  def names(self, level: int) -> list:
    """All lock names of a level."""
    return self._Set(level).names()

  def GetLockInfo(self, fields: Iterable[str]) -> list:
    """Rows of lock query values for fields, sorted by lock name.

    Only locks someone owns or waits for are listed, together with the set
    lock of their level. Unknown fields give None.

    """
    fields = list(fields)
    rows = []
    for lockset in self._sets.values():
      rows.extend(lockset.info_rows())
    rows.sort()
    columns = {"name": 0, "mode": 1, "owner": 2, "pending": 3}
    return [[row[columns[field]] if field in columns else None
             for field in fields] for row in rows]

  def QueryLocks(self, fields: Iterable[str]) -> dict:
    """The unfiltered result of a "lock" Query: field definitions and data."""
    fields = list(fields)
    definitions = []
    for field in fields:
      if field in LOCK_FIELDS:
        title, kind, doc = LOCK_FIELDS[field]
      else:
        title, kind, doc = field, constants.QFT_UNKNOWN, \
          "Unknown field '%s'" % field
      definitions.append({"name": field, "title": title, "kind": kind,
                          "doc": doc})
    data = [[[constants.RS_NORMAL, value] if field in LOCK_FIELDS else
             [constants.RS_UNKNOWN, None]
             for field, value in zip(fields, row)]
            for row in self.GetLockInfo(fields)]
    return {"fields": definitions, "data": data}
