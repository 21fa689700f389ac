"""Tests for ganeti.masterfailover: the vote, the checks and the procedure."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from ganeti import config
from ganeti import errors
from ganeti import masterfailover
from ganeti import ssconf

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "..", "..", "build")
REAL_CONFIG = os.path.join(HERE, "..", "data", "ganeti-3.0", "config.data")
NODE1 = "07c9feed-129f-454f-b4e8-91a9084aeed4"
NODE2 = "e003c93b-a99c-4938-8887-9371adf9ea5d"


class FakeResult:
  def __init__(self, payload=None, fail_msg=None):
    self.payload = payload
    self.fail_msg = fail_msg
    self.offline = False


class VoteRunner:
  """Answers master_node_name from a list of rounds: {node: name or None}."""

  def __init__(self, *rounds):
    self.rounds = list(rounds)
    self.asked = []

  def call_master_node_name(self, nodes):
    self.asked.append(list(nodes))
    answers = self.rounds[min(len(self.asked), len(self.rounds)) - 1]
    return {node: (FakeResult(fail_msg="Connection refused") if answers.get(node) is None
                   else FakeResult(answers[node])) for node in nodes}


NODES = ["node1", "node2", "node3", "node4", "node5"]


def test_votes_are_counted_most_first():
  runner = VoteRunner({"node1": "node1", "node2": "node1", "node3": "node3",
                       "node4": None, "node5": "node1"})
  assert masterfailover.GatherMasterVotes(NODES, runner) == [
    ("node1", 3), ("node3", 1), (None, 1)]
  assert masterfailover.GatherMasterVotes([], runner) == []


def test_majority_for_the_old_master_passes_without_retry():
  runner = VoteRunner({"node1": "node1", "node2": "node1", "node3": "node1",
                       "node4": None, "node5": None})
  sleeps = []
  votes = masterfailover.CheckMasterVotes("node1", NODES, runner, sleep_fn=sleeps.append)
  assert votes[0] == ("node1", 3)
  assert not sleeps and len(runner.asked) == 1


def test_split_vote_is_refused_at_once():
  runner = VoteRunner({"node1": "node1", "node2": "node1", "node3": "node3",
                       "node4": "node3", "node5": None})
  with pytest.raises(errors.OpPrereqError) as err:
    masterfailover.CheckMasterVotes("node1", NODES, runner, sleep_fn=lambda _: None)
  assert err.value.args == (
    "I have a wrong configuration, I believe the master is node1 but the other nodes voted"
    " node3. Please resync the configuration of this node.", errors.ECODE_STATE)
  assert len(runner.asked) == 1


def test_no_answers_are_retried_then_refused():
  runner = VoteRunner({"node1": "node1"})
  sleeps = []
  with pytest.raises(errors.OpPrereqError) as err:
    masterfailover.CheckMasterVotes("node1", NODES, runner, retries=4, interval=2.5,
                                    sleep_fn=sleeps.append)
  assert err.value.args == ("Cluster is inconsistent, most nodes did not respond.",
                            errors.ECODE_ENVIRON)
  assert len(runner.asked) == 4 and sleeps == [2.5, 2.5, 2.5]


def test_late_answers_make_a_majority():
  runner = VoteRunner({}, {"node1": "node1"},
                      {"node1": "node1", "node2": "node1", "node3": "node1"})
  sleeps = []
  masterfailover.CheckMasterVotes("node1", NODES, runner, sleep_fn=sleeps.append)
  assert len(runner.asked) == 3
  assert sleeps == [masterfailover.MASTER_VOTING_RETRY_INTERVALL] * 2


def test_two_nodes_with_the_old_master_dead_need_no_voting():
  # one answer out of two is no strict majority
  runner = VoteRunner({"node2": "node1"})
  with pytest.raises(errors.OpPrereqError):
    masterfailover.CheckMasterVotes("node1", ["node1", "node2"], runner, retries=2,
                                    sleep_fn=lambda _: None)


class VersionRunner:
  def __init__(self, down):
    self.down = set(down)
    self.asked = None

  def call_version(self, nodes):
    self.asked = list(nodes)
    return {node: FakeResult(fail_msg="down") if node in self.down else FakeResult(3000000)
            for node in nodes}


@pytest.fixture(name="store")
def fixture_store(tmp_path):
  store = ssconf.SimpleStore(str(tmp_path))
  store.WriteFiles({"node_list": "node1\nnode2\nnode3", "offline_nodes": "node3"})
  return store


def test_majority_healthy(store):
  runner = VersionRunner(["node1", "node3"])
  assert masterfailover.MajorityHealthy(runner=runner, store=store) == (False, ["node1", "node3"])
  assert runner.asked == ["node1", "node2", "node3"]
  assert masterfailover.MajorityHealthy(runner=VersionRunner(["node3"]), store=store) == (
    True, ["node3"])
  # offline nodes left out: one of two is not a majority either
  assert masterfailover.MajorityHealthy(True, runner=runner, store=store) == (False, ["node1"])
  assert masterfailover.MajorityHealthy(True, runner=VersionRunner([]), store=store) == (
    True, [])


def test_voting_nodes(store):
  assert masterfailover.VotingNodes(store) == ["node1", "node2", "node3"]
  assert masterfailover.VotingNodes(store, ignore_offline_nodes=True) == ["node1", "node2"]


def test_master_network_parameters(tmp_path):
  if not os.path.exists(REAL_CONFIG):
    pytest.skip("facts not available")
  path = str(tmp_path / "config.data")
  shutil.copy(REAL_CONFIG, path)
  cfg = config.ConfigWriter(path, offline=True)
  assert masterfailover.MasterNetworkParameters(cfg) == {
    "uuid": NODE1, "ip": "198.51.100.100", "netmask": 24, "netdev": "gl1", "ip_family": 2}
  assert masterfailover.MasterNetworkParameters(cfg, NODE2)["uuid"] == NODE2


# The whole procedure runs in a child process acting as node2 of a virtual
# cluster (paths are fixed at import), with a fake bootstrap RPC runner.
_PROCEDURE = textwrap.dedent("""
  import json, sys
  from ganeti import masterfailover

  class Result:
    def __init__(self, payload=None, fail_msg=None):
      self.payload, self.fail_msg, self.offline = payload, fail_msg, False

  class Runner:
    def __init__(self, old_master_dead):
      self.calls = []
      self.dead = old_master_dead
    def _one(self, name, node, *args):
      self.calls.append([name, node] + list(args))
      if self.dead and node == "node1.gnt.test":
        return Result(fail_msg="Connection refused")
      return Result(True)
    def call_master_node_name(self, nodes):
      self.calls.append(["master_node_name", nodes])
      return {n: Result("node1.gnt.test") for n in nodes}
    def call_node_deactivate_master_ip(self, node, params, ems):
      return self._one("deactivate", node, params, ems)
    def call_node_stop_master(self, node):
      return self._one("stop_master", node)
    def call_node_activate_master_ip(self, node, params, ems):
      return self._one("activate", node, params, ems)
    def call_upload_file(self, nodes, path):
      return {n: self._one("upload", n, path) for n in nodes}
    def call_write_ssconf_files(self, nodes, values):
      return {n: self._one("ssconf", n, values["master_node"]) for n in nodes}

  runner = Runner(sys.argv[1] == "dead")
  started = []
  try:
    rcode, warnings = masterfailover.MasterFailover(
      no_voting=sys.argv[2] == "novote", runner=runner, retries=1,
      start_master_fn=lambda: started.append(True))
    print(json.dumps({"rcode": rcode, "warnings": warnings, "calls": runner.calls,
                      "started": started}))
  except Exception as err:
    print(json.dumps({"error": [type(err).__name__] + list(err.args)}))
""")


def _RunProcedure(tmp_path, hostname, *args):
  root = tmp_path / "node2"
  data_dir = root / "var" / "lib" / "ganeti"
  if not data_dir.exists():
    data_dir.mkdir(parents=True)
    shutil.copy(REAL_CONFIG, data_dir / "config.data")
    config.ConfigWriter(str(data_dir / "config.data"), offline=True).WriteSsconf()
  env = dict(os.environ, GANETI_ROOTDIR=str(root), GANETI_HOSTNAME=hostname,
             PYTHONPATH=os.path.abspath(BUILD))
  out = subprocess.run([sys.executable, "-c", _PROCEDURE, *args], env=env, check=True,
                       capture_output=True, text=True).stdout
  return json.loads(out.splitlines()[-1]), data_dir


@pytest.mark.parametrize("old_master", ["alive", "dead"])
def test_failover_procedure(tmp_path, old_master):
  if not os.path.exists(REAL_CONFIG):
    pytest.skip("facts not available")
  result, data_dir = _RunProcedure(tmp_path, "node2.gnt.test", old_master, "vote")
  saved = json.loads((data_dir / "config.data").read_text())
  assert saved["cluster"]["master_node"] == NODE2
  assert saved["serial_no"] == 13  # the real configuration was at 12
  assert (data_dir / "ssconf_master_node").read_text() == "node2.gnt.test\n"
  calls = result["calls"]
  assert calls[0] == ["master_node_name", ["node1.gnt.test", "node2.gnt.test"]]
  old_params = {"uuid": NODE1, "ip": "198.51.100.100", "netmask": 24, "netdev": "gl1",
                "ip_family": 2}
  assert calls[1:] == [
    ["deactivate", "node1.gnt.test", old_params, False],
    ["stop_master", "node1.gnt.test"],
    ["upload", "node1.gnt.test", str(data_dir / "config.data")],
    ["ssconf", "node1.gnt.test", "node2.gnt.test"],
    ["activate", "node2.gnt.test", dict(old_params, uuid=NODE2), False],
  ]
  assert result["started"] == [True] and result["rcode"] == 0
  if old_master == "dead":
    assert result["warnings"] == [
      "Could not disable the master IP: Connection refused",
      "Could not disable the master role on the old master node1.gnt.test, please disable"
      " manually: Connection refused",
      "Could not distribute the configuration to node node1.gnt.test: Connection refused",
      "Could not distribute the configuration to node node1.gnt.test: Connection refused"]
  else:
    assert result["warnings"] == []


def test_failover_refused_on_the_master_and_non_candidates(tmp_path):
  if not os.path.exists(REAL_CONFIG):
    pytest.skip("facts not available")
  result, _ = _RunProcedure(tmp_path, "node1.gnt.test", "alive", "novote")
  assert result["error"] == [
    "OpPrereqError", "This commands must be run on the node where you want the new master"
    " to be. node1.gnt.test is already the master", errors.ECODE_INVAL]
  result, data_dir = _RunProcedure(tmp_path, "node3.gnt.test", "alive", "novote")
  assert result["error"] == [
    "OpPrereqError", "This node is not among the nodes marked as master candidates. Only"
    " these nodes can become masters. Current list of master candidates is:\n"
    "node2.gnt.test", errors.ECODE_STATE]
  # nothing changed
  assert json.loads((data_dir / "config.data").read_text())["serial_no"] == 12


def test_client_refuses_without_a_healthy_majority(monkeypatch, capsys):
  from cli_fakeluxi import RunCommand  # pylint: disable=import-outside-toplevel
  from ganeti.client import gnt_cluster  # pylint: disable=import-outside-toplevel
  monkeypatch.setattr(masterfailover, "MajorityHealthy",
                      lambda ignore_offline: (False, ["node1.gnt.test"]))
  monkeypatch.setattr(masterfailover, "MasterFailover", lambda **_: pytest.fail("ran"))
  assert RunCommand(gnt_cluster.Main, "gnt-cluster", ["master-failover"]) == 1
  assert capsys.readouterr().err == (
    "Master-failover with voting is only possible if the majority of nodes are still healthy;"
    " use the --no-voting option after ensuring by other means that you won't end up in a"
    " dual-master scenario. Unhealthy nodes: ['node1.gnt.test']\n")
  # --no-voting --yes-do-it: no health check, the warnings go to stderr
  monkeypatch.setattr(masterfailover, "MasterFailover",
                      lambda **kwargs: (0, ["warned %s" % sorted(kwargs.items())]))
  assert RunCommand(gnt_cluster.Main, "gnt-cluster",
                    ["master-failover", "--no-voting", "--yes-do-it"]) == 0
  assert capsys.readouterr().err == (
    "warned [('ignore_offline_nodes', False), ('no_voting', True)]\n")
