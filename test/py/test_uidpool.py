"""The node side of the cluster's uid pool (lib/uidpool.py)."""

import os
import subprocess

import pytest

from ganeti import errors
from ganeti import uidpool

# uids far above any that this machine's processes run as
FREE = list(range(3900000, 3900004))


def test_parse_and_expand():
  ranges = uidpool.ParsePool("3900000-3900002\n3900010\n\n")
  assert ranges == [(3900000, 3900002), (3900010, 3900010)]
  assert uidpool.ExpandPool(ranges + [(3900001, 3900001)]) == [3900000, 3900001, 3900002,
                                                                3900010]


def test_used_uids():
  assert uidpool.IsUidUsed(os.getuid())
  assert not uidpool.IsUidUsed(FREE[0])


def test_request_lock_release(tmp_path):
  lock_dir = str(tmp_path / "uid-pool")
  first = uidpool.RequestUnusedUid(FREE[:2], lock_dir)
  # a locked uid is not handed out again
  second = uidpool.RequestUnusedUid(FREE[:2], lock_dir)
  assert {first.uid, second.uid} == set(FREE[:2])
  with pytest.raises(errors.HypervisorError, match="No free uids found"):
    uidpool.RequestUnusedUid(FREE[:2], lock_dir)
  # unlocked, a uid stays taken while a process runs as it
  first.Unlock()
  proc = subprocess.Popen(["sleep", "30"], user=first.uid)
  try:
    with pytest.raises(errors.HypervisorError, match="No free uids found"):
      uidpool.RequestUnusedUid(FREE[:2], lock_dir)
  finally:
    proc.kill()
    proc.wait()
  assert uidpool.RequestUnusedUid(FREE[:2], lock_dir).uid == first.uid
  uidpool.ReleaseUid(first.uid, lock_dir)
  assert not os.path.exists(os.path.join(lock_dir, str(first.uid)))
  with pytest.raises(errors.HypervisorError, match="uid pool is empty"):
    uidpool.RequestUnusedUid([], lock_dir)
