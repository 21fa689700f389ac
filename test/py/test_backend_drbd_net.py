"""The node's drbd_* calls that rewire DRBD mirrors (migrations, repairs),
over devices whose /proc/drbd state the test scripts."""

import pytest

from ganeti import errors
from ganeti import objects
from ganeti.backend import HANDLERS
from ganeti.backend import blockdev
from ganeti.backend.common import RPCFail
from ganeti.storage import drbd_info
from ganeti.utils import cmdtrace


class _Minor:
  """A DRBD device: records what it is told, reports scripted states."""

  def __init__(self, minor, states, fail=(), role="Secondary"):
    self.dev_path = "/dev/drbd%d" % minor
    self.minor = minor
    self.states = list(states)
    self.fail = set(fail)
    self.actions = []
    self.role = role

  def _Do(self, action):
    self.actions.append(action)
    if action[0] in self.fail:
      raise errors.BlockDeviceError("drbdsetup %s failed" % action[0])

  def AttachNet(self, multimaster):
    self._Do(("connect", multimaster))

  def DisconnectNet(self):
    self._Do(("disconnect",))

  def SetDualPrimary(self, allowed):
    self._Do(("net-options", allowed))

  def Open(self, force=False, exclusive=True):
    self._Do(("primary",))

  def GetProcStatus(self):
    connection, percent = self.states.pop(0) if len(self.states) > 1 else self.states[0]
    return drbd_info.MinorStatus(self.minor, connection, role=self.role,
                                 sync_percent=percent)


class _Found(list):
  """The devices the call finds, and the pauses it made."""
  pauses: list


@pytest.fixture(name="devices")
def fixture_devices(monkeypatch):
  found = _Found()
  monkeypatch.setattr(blockdev, "_FindAll", lambda disks, message: found)
  found.pauses = []
  monkeypatch.setattr(blockdev, "Sleep", found.pauses.append)
  return found


def test_calls_are_registered():
  assert HANDLERS["drbd_attach_net"].__wrapped__ is blockdev.DrbdAttachNet
  assert HANDLERS["drbd_disconnect_net"].__wrapped__ is blockdev.DrbdDisconnectNet
  assert HANDLERS["drbd_wait_sync"].__wrapped__ is blockdev.DrbdWaitSync


def test_dual_master_waits_for_the_peer_then_makes_every_minor_primary(devices):
  # (each first state is the look at its role, before connecting)
  devices.extend([_Minor(0, [("StandAlone", None), ("WFConnection", None),
                             ("Connected", None)]),
                  _Minor(1, [("StandAlone", None), ("SyncSource", 12.5)])])
  blockdev.DrbdAttachNet([{}, {}], True)
  assert [dev.actions for dev in devices] == [[("connect", True), ("primary",)],
                                              [("connect", True), ("primary",)]]
  assert devices.pauses == [blockdev._DRBD_CONNECT_POLL]


def test_dual_master_on_the_primary_only_starts_connecting(devices):
  """The migration's source, primary already, is asked first: it neither
  waits for its peer (asked next) nor is made primary again."""
  devices.extend([_Minor(0, [("StandAlone", None), ("WFConnection", None)], role="Primary"),
                  _Minor(1, [("StandAlone", None), ("WFConnection", None)], role="Primary")])
  blockdev.DrbdAttachNet([{}, {}], True)
  assert [dev.actions for dev in devices] == [[("connect", True)], [("connect", True)]]
  assert devices.pauses == []


def test_handshake_waits_are_traced_apart_from_the_daemons_work(devices, tmp_path):
  trace = str(tmp_path / "trace.jsonl")
  cmdtrace.Enable(trace)
  try:
    devices.extend([_Minor(0, [("WFConnection", None), ("Connected", None)]),
                    _Minor(1, [("Connected", None)])])
    blockdev.DrbdWaitSync([{}, {}])
    devices[:] = [_Minor(2, [("WFConnection", None)])]
    with pytest.raises(RPCFail):
      blockdev.DrbdWaitSync([{}])
  finally:
    cmdtrace.Enable(None)
  with open(trace) as handle:
    items = cmdtrace.Load(handle.read())
  # only a minor that was not there yet waited; one that never got there failed
  assert [(item["kind"], item["what"], item["ok"]) for item in items] == [
    ("wait", ["drbd-connect", "/dev/drbd0"], True),
    ("wait", ["drbd-connect", "/dev/drbd2"], False)]


def test_single_master_does_not_wait_for_an_absent_peer(devices):
  devices.append(_Minor(0, [("StandAlone", None), ("WFConnection", None)]))
  assert blockdev.DrbdAttachNet([{}], False) is False
  assert devices[0].actions == [("connect", False)] and devices.pauses == []


def test_connected_mirrors_change_the_setting_in_place(devices):
  """A live migration's mirrors stay connected: no disconnect, no connect and
  no handshake to wait for; the secondary is made primary at once."""
  devices.extend([_Minor(0, [("Connected", None)]), _Minor(1, [("SyncSource", 80.0)])])
  # (a resync under way goes on: the answer does not say "kept, in sync")
  assert blockdev.DrbdAttachNet([{}, {}], True) is False
  assert [dev.actions for dev in devices] == [[("net-options", True), ("primary",)],
                                              [("net-options", True), ("primary",)]]
  devices[:] = [_Minor(0, [("Connected", None)], role="Primary")]
  assert blockdev.DrbdAttachNet([{}], False) is True
  assert devices[0].actions == [("net-options", False)]
  assert devices.pauses == []


def test_a_minor_half_way_to_its_peer_starts_again(devices):
  devices.append(_Minor(0, [("WFConnection", None)]))
  blockdev.DrbdAttachNet([{}], False)
  assert devices[0].actions == [("disconnect",), ("connect", False)]


def test_dual_master_gives_up_on_a_missing_peer(devices):
  devices.append(_Minor(0, [("StandAlone", None), ("WFConnection", None)]))
  with pytest.raises(RPCFail, match="Timeout in disk reconnecting"):
    blockdev.DrbdAttachNet([{}], True)
  # short polls, for as long as the wait allows
  assert set(devices.pauses) == {blockdev._DRBD_CONNECT_POLL} and len(devices.pauses) > 1
  assert sum(devices.pauses) == pytest.approx(blockdev._DRBD_CONNECT_WAIT)
  assert devices[0].actions == [("connect", True)]


def test_network_errors_name_the_step(devices):
  devices.append(_Minor(0, [("Connected", None)],
                       fail=["disconnect", "connect", "net-options"]))
  with pytest.raises(RPCFail, match="Can't change network configuration to standalone"
                                    " mode: drbdsetup disconnect failed"):
    blockdev.DrbdDisconnectNet([{}])
  with pytest.raises(RPCFail, match="Can't change network configuration: drbdsetup"
                                    " net-options failed"):
    blockdev.DrbdAttachNet([{}], True)
  devices[0].states = [("StandAlone", None)]
  with pytest.raises(RPCFail, match="Can't change network configuration: drbdsetup"
                                    " connect failed"):
    blockdev.DrbdAttachNet([{}], False)


def test_wait_sync_reports_lowest_progress(devices):
  devices.extend([_Minor(0, [("Connected", None)]), _Minor(1, [("SyncTarget", 40.0)]),
                  _Minor(2, [("SyncSource", 75.5)])])
  assert blockdev.DrbdWaitSync([{}] * 3) == [False, 40.0]
  devices[1:] = []
  assert blockdev.DrbdWaitSync([{}]) == [True, 100.0]
  devices[0] = _Minor(0, [("StandAlone", None)])
  devices.pauses.clear()
  with pytest.raises(RPCFail, match="DRBD device /dev/drbd0 is not in sync: state"
                                    " StandAlone"):
    blockdev.DrbdWaitSync([{}])
  # off the network it never finds its peer by itself: no wait for it
  assert devices.pauses == []


def test_wait_sync_lets_a_short_resync_end_before_answering(devices):
  """A resync found right after the handshake (the blocks written while the
  peers were apart) is waited for briefly on the node: the master need not
  pause and ask again.  A long one is reported as it stands."""
  devices.append(_Minor(0, [("SyncTarget", 90.0), ("SyncTarget", 99.0), ("Connected", None)]))
  assert blockdev.DrbdWaitSync([{}]) == [True, 100.0]
  assert devices.pauses == [blockdev._RESYNC_SETTLE_POLL] * 2
  devices[:] = [_Minor(1, [("SyncSource", 40.0)])]
  del devices.pauses[:]
  assert blockdev.DrbdWaitSync([{}]) == [False, 40.0]
  assert sum(devices.pauses) == pytest.approx(blockdev._RESYNC_SETTLE)


def test_needs_activation_lists_missing_standalone_and_diskless_minors(monkeypatch):
  from ganeti import objects
  states = {"ok": _Minor(0, [("Connected", None)]), "alone": _Minor(1, [("StandAlone", None)]),
            "missing": None}
  diskless = _Minor(2, [("Connected", None)])
  diskless.GetProcStatus = lambda: drbd_info.MinorStatus(2, "Connected", disk="Diskless")
  states["diskless"] = diskless
  monkeypatch.setattr(blockdev, "_Find", lambda disk: states[disk.uuid])
  disks = [objects.Disk(uuid=uuid, dev_type="drbd", size=128, params={}, children=[],
                        logical_id=["n1", "n2", 11000, 0, 0, "secret"]).ToDict()
           for uuid in ("ok", "alone", "missing", "diskless")]
  assert blockdev.DrbdNeedsActivation(disks) == ["alone", "missing", "diskless"]
  assert HANDLERS["drbd_needs_activation"].__wrapped__ is blockdev.DrbdNeedsActivation


class _Mirror:
  """A disk's device tree whose combined status follows a script of
  (sync percent, estimated seconds) pairs, the last one repeated."""

  def __init__(self, script):
    self.script = list(script)
    self.dev_path = "/dev/drbd9"
    self.looks = 0

  def CombinedSyncStatus(self):
    self.looks += 1
    percent, seconds = self.script.pop(0) if len(self.script) > 1 else self.script[0]
    return objects.BlockDevStatus(dev_path=self.dev_path, sync_percent=percent,
                                  estimated_time=seconds, is_degraded=percent is not None,
                                  ldisk_status=1)


@pytest.fixture(name="mirrors")
def fixture_mirrors(monkeypatch):
  found = _Found()
  monkeypatch.setattr(blockdev, "_FindOrFail", lambda disk, message: found.pop(0))
  monkeypatch.setattr(blockdev, "_Disk", lambda data: data)
  found.pauses = []
  monkeypatch.setattr(blockdev, "Sleep", found.pauses.append)
  return found


def test_a_mirror_status_waits_for_the_end_of_the_resync(mirrors):
  """Looks often when DRBD expects the end soon, answers at the end."""
  first = _Mirror([(40.0, 8), (90.0, 0.1), (None, None)])
  second = _Mirror([(None, None)])
  mirrors.extend([first, second])
  answer = blockdev.BlockdevWaitMirrorSync(["disk0", "disk1"], 30)
  assert [status.get("sync_percent") for status in answer] == [None, None]
  assert mirrors.pauses == [1.0, blockdev._SYNC_END_POLL_MIN]  # pylint: disable=protected-access
  assert first.looks == second.looks == 3


def test_a_mirror_status_without_resync_or_wait_answers_at_once(mirrors):
  mirrors.extend([_Mirror([(None, None)]), _Mirror([(55.0, 3)])])
  answer = blockdev.BlockdevWaitMirrorSync(["disk0", "disk1"], 0)
  assert [status.get("sync_percent") for status in answer] == [None, 55.0]
  assert mirrors.pauses == []


def test_a_resync_near_its_end_is_looked_at_as_often_as_possible():
  """DRBD's estimate drops the fraction: "1" may mean almost two seconds, or
  the end at any moment; with no estimate yet the pause is a middling one."""
  # pylint: disable=protected-access
  pause = blockdev._SyncEndPause
  assert pause([1]) == pause([0]) == blockdev._SYNC_END_POLL_MIN
  assert pause([2]) == 0.25
  assert pause([3, 30]) == blockdev._SYNC_END_POLL_MAX
  assert pause([None, 1]) == blockdev._SYNC_END_POLL_UNKNOWN
