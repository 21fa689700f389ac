"""ganeti-watcher: daemon restarts and job archiving on a virtual cluster with a
real master daemon; instance restarts, disk activation and state files
against a fake LUXI client."""

import fcntl
import json
import logging
import os
import signal
import sys
import time

import pytest

from ganeti import constants
from ganeti import luxi
from ganeti import pathutils
from ganeti import watcher
from ganeti.watcher import state as wstate

from vcluster_harness import SBIN, TOP, VirtualCluster

GROUP = {"uuid": "uuid-default", "name": "default"}
OTHER_GROUP = {"uuid": "uuid-other", "name": "other"}


# --- fake master -----------------------------------------------------------

class FakeClient:
  """Answers the watcher's LUXI calls from a cluster description; records jobs."""

  def __init__(self, groups, nodes, instances, verify_result=None):
    self.items = {constants.QR_GROUP: groups, constants.QR_NODE: nodes,
                  constants.QR_INSTANCE: instances}
    self.verify_result = verify_result or [{}, [], {}]
    self.jobs = {}  # id -> list of opcode dicts
    self.archived = []
    self.archive_ages = []

  def Query(self, what, fields, qfilter):
    assert qfilter is None
    return {"fields": [{"name": name} for name in fields],
            "data": [[(constants.RS_NORMAL, item[name]) if item.get(name) is not None
                      else (constants.RS_UNAVAIL, None) for name in fields]
                     for item in self.items[what]]}

  def SubmitJob(self, ops):
    job_id = len(self.jobs) + 1
    self.jobs[job_id] = [op.__getstate__() for op in ops]
    return job_id

  def WaitForJobChangeOnce(self, job_id, fields, prev_job_info, prev_log_serial):
    return [[constants.JOB_STATUS_SUCCESS], []]

  def QueryJobs(self, job_ids, fields):
    results = []
    for job_id in job_ids:
      op_ids = [op["OP_ID"] for op in self.jobs[job_id]]
      results.append([constants.JOB_STATUS_SUCCESS, ["success"] * len(op_ids),
                      [self.verify_result if op_id == "OP_GROUP_VERIFY_DISKS" else None
                       for op_id in op_ids]])
    return results

  def ArchiveJob(self, job_id):
    self.archived.append(job_id)
    return True

  def AutoArchiveJobs(self, age):
    self.archive_ages.append(age)
    return [0, 0]

  def Submitted(self, op_id):
    """(job id, opcode) of the submitted opcodes with this OP_ID."""
    return [(job_id, op) for job_id, ops in self.jobs.items() for op in ops
            if op["OP_ID"] == op_id]


def _Node(name, group=GROUP, offline=False, bootid="boot-1"):
  return {"name": name, "group.uuid": group["uuid"], "offline": offline, "bootid": bootid}


def _Instance(name, status, pnode="node1", snodes=(), group=GROUP, disks_active=True):
  admin = {"ADMIN_down": "down", "ADMIN_offline": "offline"}.get(status, "up")
  return {"name": name, "status": status, "admin_state": admin, "pnode": pnode,
          "snodes": list(snodes), "pnode.group.uuid": group["uuid"],
          "disks_active": disks_active}


def _Options(*args):
  return watcher.BuildParser().parse_args(list(args))


@pytest.fixture
def files(tmp_path, monkeypatch):
  """The watcher's state and status files below tmp_path."""
  monkeypatch.setattr(pathutils, "WATCHER_GROUP_STATE_FILE", str(tmp_path / "watcher.%s.data"))
  monkeypatch.setattr(pathutils, "WATCHER_GROUP_INSTANCE_STATUS_FILE",
                      str(tmp_path / "watcher.%s.instance-status"))
  monkeypatch.setattr(pathutils, "INSTANCE_STATUS_FILE", str(tmp_path / "run" / "instance-status"))
  return tmp_path


def _State(files, group=GROUP):
  with open(files / ("watcher.%s.data" % group["uuid"])) as handle:
    return json.load(handle)


def _RunMaster(client, *args):
  watcher.MasterWatcher(client, _Options(*args)).Run()


# --- instance restarts -----------------------------------------------------

def test_restart_attempts_counted_then_given_up(files, caplog):
  caplog.set_level(logging.DEBUG)
  nodes = [_Node("node1")]
  client = FakeClient([GROUP], nodes, [_Instance("inst1", "ERROR_down"),
                                       _Instance("inst2", "running")])
  for attempt in range(1, watcher.MAXTRIES + 1):
    _RunMaster(client, "--no-verify-disks")
    starts = client.Submitted("OP_INSTANCE_STARTUP")
    assert len(starts) == attempt
    assert starts[-1][1]["instance_name"] == "inst1"
    assert starts[-1][1]["reason"][0][0] == "gnt:watcher"
    assert _State(files)["instance"]["inst1"]["restart_count"] == attempt
    assert "inst2" not in _State(files)["instance"]
  caplog.clear()
  _RunMaster(client, "--no-verify-disks")
  assert len(client.Submitted("OP_INSTANCE_STARTUP")) == watcher.MAXTRIES
  assert "Could not restart instance 'inst1' after 5 attempts, giving up" in caplog.text
  caplog.clear()
  _RunMaster(client, "--no-verify-disks")
  assert len(client.Submitted("OP_INSTANCE_STARTUP")) == watcher.MAXTRIES
  assert "retries exhausted" in caplog.text and "giving up" not in caplog.text

  # once it runs again (started by hand), its counter starts afresh
  client.items[constants.QR_INSTANCE][0]["status"] = "running"
  caplog.clear()
  _RunMaster(client, "--no-verify-disks")
  assert "Restart of instance 'inst1' succeeded" in caplog.text
  assert _State(files)["instance"] == {}
  client.items[constants.QR_INSTANCE][0]["status"] = "ERROR_down"
  _RunMaster(client, "--no-verify-disks")
  assert len(client.Submitted("OP_INSTANCE_STARTUP")) == watcher.MAXTRIES + 1
  assert _State(files)["instance"]["inst1"]["restart_count"] == 1


def test_no_restart_when_down_on_purpose_or_helpless(files):
  nodes = [_Node("node1"), _Node("node2", offline=True, bootid=None)]
  instances = [_Instance("admin-down", "ADMIN_down"),
               _Instance("admin-offline", "ADMIN_offline"),
               _Instance("user-down", "USER_down"),
               _Instance("node-down", "ERROR_nodedown"),
               _Instance("on-offline", "ERROR_nodeoffline", pnode="node2"),
               _Instance("offline-secondary", "ERROR_down", snodes=["node2"]),
               _Instance("runs", "running"),
               _Instance("should-run", "ERROR_down")]
  client = FakeClient([GROUP], nodes, instances)
  _RunMaster(client, "--no-verify-disks")
  assert [op["instance_name"] for _, op in client.Submitted("OP_INSTANCE_STARTUP")] == \
    ["should-run"]
  assert list(_State(files)["instance"]) == ["should-run"]


def test_counters_of_vanished_instances_dropped(files):
  client = FakeClient([GROUP], [_Node("node1")], [_Instance("gone", "ERROR_down")])
  _RunMaster(client, "--no-verify-disks")
  assert "gone" in _State(files)["instance"]
  client.items[constants.QR_INSTANCE] = []
  _RunMaster(client, "--no-verify-disks")
  assert _State(files)["instance"] == {}


def test_damaged_state_file_starts_afresh(files):
  (files / "watcher.uuid-default.data").write_text("{not json")
  client = FakeClient([GROUP], [_Node("node1")], [_Instance("inst1", "ERROR_down")])
  _RunMaster(client, "--no-verify-disks")
  assert _State(files)["instance"]["inst1"]["restart_count"] == 1


# --- groups and status files ----------------------------------------------

def test_groups_have_own_state_and_status_files(files):
  nodes = [_Node("node1"), _Node("node2", group=OTHER_GROUP)]
  instances = [_Instance("a1", "ERROR_down"), _Instance("a2", "running"),
               _Instance("b1", "ERROR_down", pnode="node2", group=OTHER_GROUP)]
  client = FakeClient([GROUP, OTHER_GROUP], nodes, instances)
  _RunMaster(client, "--no-verify-disks")
  assert set(_State(files)["instance"]) == {"a1"}
  assert set(_State(files, OTHER_GROUP)["instance"]) == {"b1"}
  assert set(_State(files, OTHER_GROUP)["node"]) == {"node2"}
  assert (files / "watcher.uuid-default.instance-status").read_text() == \
    "a1 ERROR_down\na2 running\n"
  assert (files / "watcher.uuid-other.instance-status").read_text() == "b1 ERROR_down\n"
  assert (files / "run" / "instance-status").read_text() == \
    "a1 ERROR_down\na2 running\nb1 ERROR_down\n"

  # -g watches one group only
  _RunMaster(client, "--no-verify-disks", "-g", "other")
  assert _State(files)["instance"]["a1"]["restart_count"] == 1
  assert _State(files, OTHER_GROUP)["instance"]["b1"]["restart_count"] == 2


def test_merge_prefers_newest_group_file(files):
  wstate.WriteGroupInstanceStatus("g1", [("moved", "running"), ("x", "ERROR_down")])
  wstate.WriteGroupInstanceStatus("g2", [("moved", "ADMIN_down")])
  now = time.time()
  os.utime(files / "watcher.g1.instance-status", (now - 100, now - 100))
  wstate.MergeInstanceStatus(["g1", "g2", "missing"])
  assert wstate.ParseInstanceStatus((files / "run" / "instance-status").read_text()) == \
    {"moved": "ADMIN_down", "x": "ERROR_down"}


# --- disks -----------------------------------------------------------------

def test_rebooted_secondary_activates_disks(files):
  nodes = [_Node("node1"), _Node("node2", bootid="boot-A")]
  instances = [_Instance("drbd1", "running", snodes=["node2"]),
               _Instance("inactive", "running", snodes=["node2"], disks_active=False),
               _Instance("plain", "running")]
  client = FakeClient([GROUP], nodes, instances)

  def Activated():
    return [op["instance_name"] for _, op in client.Submitted("OP_INSTANCE_ACTIVATE_DISKS")]

  # without state every node counts as freshly booted
  _RunMaster(client, "--no-verify-disks")
  assert Activated() == ["drbd1"]
  assert _State(files)["node"] == {"node1": {"bootid": "boot-1"},
                                   "node2": {"bootid": "boot-A"}}
  _RunMaster(client, "--no-verify-disks")
  assert Activated() == ["drbd1"]
  nodes[1]["bootid"] = "boot-B"
  _RunMaster(client, "--no-verify-disks")
  assert Activated() == ["drbd1", "drbd1"]
  # a primary's reboot does not concern secondaries' disks
  nodes[0]["bootid"] = "boot-2"
  _RunMaster(client, "--no-verify-disks")
  assert Activated() == ["drbd1", "drbd1"]


def test_verify_disks_per_group_activates_offline_disks(files):
  nodes = [_Node("node1"), _Node("node2")]
  instances = [_Instance("degraded", "running", snodes=["node2"]),
               _Instance("fine", "running", snodes=["node2"])]
  client = FakeClient([GROUP], nodes, instances, verify_result=[{}, ["degraded", "unknown"], {}])
  _RunMaster(client)  # first run: nodes count as rebooted, both instances activated
  client.jobs.clear()
  client.archived.clear()
  _RunMaster(client, "-A", "2h")
  (verify_id, verify_op), = client.Submitted("OP_GROUP_VERIFY_DISKS")
  assert verify_op["group_name"] == GROUP["uuid"]
  assert verify_op["priority"] == constants.OP_PRIO_LOW
  assert client.archived == [verify_id]
  assert [op["instance_name"] for _, op in client.Submitted("OP_INSTANCE_ACTIVATE_DISKS")] == \
    ["degraded"]
  assert client.archive_ages == [watcher.DEFAULT_JOB_AGE, 7200]

  client.jobs.clear()
  _RunMaster(client, "--no-verify-disks")
  assert client.jobs == {}


# --- node part, options, pause --------------------------------------------

def test_wanted_daemons_by_role():
  assert watcher.WantedDaemons(False, False) == [constants.NODED]
  assert watcher.WantedDaemons(False, True) == [constants.NODED, constants.CONFD]
  assert watcher.WantedDaemons(True, True) == [constants.NODED, constants.CONFD,
                                               constants.MASTERD, constants.RAPI]


def test_ensure_daemon_skips_missing_programs(monkeypatch):
  started = []
  monkeypatch.setattr(watcher.daemon_util, "FindProgram", lambda name: None)
  assert watcher.EnsureDaemon("ganeti-noded", start_fn=started.append) is None
  assert started == []


def test_watcher_hooks_run_in_order(tmp_path, caplog):
  out = tmp_path / "out"
  scripts = {"10-first": "echo first >> %s" % out, "20-fails": "echo broken; exit 3",
             "30-last": "echo last >> %s" % out, "skipped.sh": "echo dotted >> %s" % out}
  for name, body in scripts.items():
    path = tmp_path / name
    path.write_text("#!/bin/sh\n%s\n" % body)
    path.chmod(0o755)
  (tmp_path / "40-not-executable").write_text("#!/bin/sh\necho no >> %s\n" % out)
  assert watcher.RunWatcherHooks(str(tmp_path)) == {"10-first": 0, "20-fails": 3, "30-last": 0}
  assert out.read_text() == "first\nlast\n"
  assert "20-fails failed (exit code 3): broken" in caplog.text
  assert watcher.RunWatcherHooks(str(tmp_path / "missing")) == {}


def test_options():
  options = _Options()
  assert options.job_age == 6 * 3600 and options.verify_disks and not options.ignore_pause
  options = _Options("-d", "--job-age=90m", "--ignore-pause", "--wait-children",
                     "--rapi-ip=192.0.2.1", "--no-verify-disks")
  assert (options.debug, options.job_age, options.ignore_pause, options.wait_children,
          options.rapi_ip, options.verify_disks) == (True, 5400, True, True, "192.0.2.1", False)
  assert _Options("--no-wait-children").wait_children is False
  with pytest.raises(SystemExit):
    _Options("--job-age=soon")


def test_paused_until(tmp_path, monkeypatch):
  pause = tmp_path / "watcher.pause"
  monkeypatch.setattr(pathutils, "WATCHER_PAUSEFILE", str(pause))
  assert watcher.PausedUntil() is None
  pause.write_text("%d\n" % (time.time() + 60))
  assert watcher.PausedUntil() == pytest.approx(time.time() + 60, abs=2)
  pause.write_text("%d\n" % (time.time() - 1))
  assert watcher.PausedUntil() is None
  pause.write_text("garbage")
  assert watcher.PausedUntil() is None


# --- a real cluster ---------------------------------------------------------

@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
  vc = VirtualCluster(nodes=1)
  try:
    vc.init()
    vc.watcher = _WatcherLauncher(str(tmp_path_factory.mktemp("sbin")))
    yield vc
  finally:
    vc.destroy()


def _WatcherLauncher(directory):
  """The ganeti-watcher program, beside the other programs of the tree."""
  built = os.path.join(SBIN, "ganeti-watcher")
  if os.path.exists(built):
    return built
  # Not built yet: a launcher in a directory that links the built programs,
  # so that daemon-util and the daemons are found beside it as usual.
  for name in os.listdir(SBIN):
    os.symlink(os.path.join(SBIN, name), os.path.join(directory, name))
  path = os.path.join(directory, "ganeti-watcher")
  with open(path, "w") as handle:
    handle.write("#!%s\nimport sys\nsys.path.insert(0, %r)\n"
                 "from ganeti.watcher import Main\nsys.exit(Main())\n"
                 % (sys.executable, os.path.join(TOP, "build")))
  os.chmod(path, 0o755)
  return path


def _WatcherLog(vc):
  try:
    with open(vc.path("/var/log/ganeti/watcher.log")) as handle:
      return handle.read()
  except FileNotFoundError:
    return ""


def _KillMasterd(vc):
  pid = vc.masterd_pid()
  os.kill(pid, signal.SIGKILL)
  deadline = time.monotonic() + 10
  while time.monotonic() < deadline:
    try:
      os.kill(pid, 0)
    except ProcessLookupError:
      return pid
    # the daemon is not our child: it vanishes once its parent (init) reaps it
    time.sleep(0.02)
  raise AssertionError("ganeti-masterd (pid %d) did not die" % pid)


def _MasterAnswers(vc) -> bool:
  client = luxi.Client(vc.path("/var/run/ganeti/socket/ganeti-query"), timeouts=(2, 10))
  try:
    return client.QueryConfigValues(["cluster_name"]) == ["cluster"]
  except luxi.ProtocolError:
    return False
  finally:
    client.Close()


def test_watcher_pause_then_restart_killed_masterd(cluster):
  cluster.run("gnt-cluster", "watcher", "pause", "1h")
  try:
    old_pid = _KillMasterd(cluster)
    assert not _MasterAnswers(cluster)
    before = _WatcherLog(cluster)
    cluster.run(cluster.watcher, timeout=60)
    assert "Watcher is paused" in _WatcherLog(cluster)[len(before):]
    assert not _MasterAnswers(cluster)

    # --ignore-pause: one run brings the master daemon back
    cluster.run(cluster.watcher, "--ignore-pause", timeout=60)
    log = _WatcherLog(cluster)
    assert "ganeti-masterd is not running" in log and "Restarted ganeti-masterd" in log
    assert cluster.masterd_pid() not in (None, old_pid)
    assert _MasterAnswers(cluster)
  finally:
    cluster.run("gnt-cluster", "watcher", "continue")
  # not paused any more: the next kill is repaired by a plain run
  _KillMasterd(cluster)
  cluster.run(cluster.watcher, timeout=60)
  assert _MasterAnswers(cluster)


def test_watcher_archives_old_jobs(cluster):
  cluster.run("gnt-debug", "delay", "0.01")
  job_id = cluster.run("gnt-job", "list", "--no-headers", "-o", "id").stdout.split()[-1]
  archive = cluster.path("/var/lib/ganeti/queue/archive")

  def Archived():
    return any(os.path.exists(os.path.join(archive, sub, "job-%s" % job_id))
               for sub in os.listdir(archive))

  # default age (6 hours): a fresh job stays
  cluster.run(cluster.watcher, timeout=60)
  assert not Archived()
  cluster.run(cluster.watcher, "--job-age=0", timeout=60)
  assert Archived()
  listed = cluster.run("gnt-job", "list", "--no-headers", "-o", "id").stdout.split()
  assert job_id not in listed


def test_watcher_lock_prevents_overlap(cluster):
  lock_path = cluster.path("/var/lock/ganeti-watcher.lock")
  before = _WatcherLog(cluster)
  with open(lock_path, "a") as handle:
    fcntl.flock(handle, fcntl.LOCK_EX)
    _KillMasterd(cluster)
    cluster.run(cluster.watcher, timeout=60)
    assert "Another watcher run holds" in _WatcherLog(cluster)[len(before):]
    assert not _MasterAnswers(cluster)
  cluster.run(cluster.watcher, timeout=60)
  assert _MasterAnswers(cluster)


def test_watcher_writes_state_files(cluster):
  cluster.run(cluster.watcher, "--no-verify-disks", timeout=60)
  data_dir = cluster.path("/var/lib/ganeti")
  states = [name for name in os.listdir(data_dir)
            if name.startswith("watcher.") and name.endswith(".data")]
  assert len(states) == 1
  with open(os.path.join(data_dir, states[0])) as handle:
    state = json.load(handle)
  assert state["instance"] == {}
  assert os.path.exists(cluster.path("/var/run/ganeti/instance-status"))
