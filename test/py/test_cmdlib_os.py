"""OS queries on the master (merging the nodes' diagnoses), OpOsDiagnose,
the per-OS cluster settings, and gnt-os against a real virtual cluster."""

import json

import pytest

from ganeti import constants
from ganeti import objects
from ganeti import query
from ganeti.cmdlib import os as os_lu
from ganeti.query import oses
from ganeti.rpc.client import RpcResult
from vcluster_harness import VirtualCluster

LAB = ["lab", "/srv/ganeti/os/lab", True, "", ["default", "alt"], [["greeting", "hi"]], [20],
       True]
LAB_OLD = ["lab", "/srv/ganeti/os/lab", True, "", ["default"], [["greeting", "hi"]],
           [20, 15], False]
BROKEN = ["broken", "/srv/ganeti/os/broken", False, "File 'export' is missing", [], [], [],
          True]


class _FakeCfg:
  def __init__(self, nodes, cluster):
    self.nodes = {node.uuid: node for node in nodes}
    self.cluster = cluster

  def GetAllNodesInfo(self):
    return self.nodes

  def GetClusterInfo(self):
    return self.cluster


class _FakeRpc:
  def __init__(self, answers):
    self.answers = answers
    self.asked = None

  def call_os_diagnose(self, node_uuids):
    self.asked = list(node_uuids)
    return {uuid: self.answers[uuid] for uuid in node_uuids}


def _Node(uuid, name, offline=False, vm_capable=True):
  return objects.Node(uuid=uuid, name=name, offline=offline, vm_capable=vm_capable)


def _Cluster(**kwargs):
  values = dict(hidden_os=[], blacklisted_os=[], os_hvp={}, osparams={})
  values.update(kwargs)
  return objects.Cluster(**values)


def _Setup(answers, cluster=None):
  nodes = [_Node("u2", "node2"), _Node("u1", "node1"), _Node("u3", "node3", offline=True),
           _Node("u4", "node4", vm_capable=False)]
  return _FakeCfg(nodes, cluster or _Cluster()), _FakeRpc(answers)


def test_merge_over_nodes():
  cluster = _Cluster(hidden_os=["lab+alt", "broken"], blacklisted_os=["broken"],
                     os_hvp={"lab": {"fake": {"a": 1}}, "lab+default": {"fake": {"b": 2}}},
                     osparams={"lab+default": {"greeting": "x"}, "lab+zzz": {"g": "y"}})
  cfg, rpc = _Setup({"u1": RpcResult([True, [LAB, BROKEN]]),
                     "u2": RpcResult([True, [LAB_OLD, list(LAB)]])}, cluster)
  items = {item["name"]: item for item in oses.OsItems(cfg, rpc)}
  # only online vm-capable nodes are asked, in name order
  assert rpc.asked == ["u1", "u2"]
  lab = items["lab"]
  assert list(lab["node_status"]) == ["u1", "u2"]
  assert len(lab["node_status"]["u2"]) == 2
  assert lab["valid"] is True and lab["hidden"] is False and lab["blacklisted"] is False
  assert lab["variants"] == ["default"] and lab["api_versions"] == [20]
  assert lab["parameters"] == [["greeting", "hi"]] and lab["trusted"] is False
  assert lab["os_hvp"] == {"lab+default": {"fake": {"b": 2}}}
  assert lab["osparams"] == {"lab+default": {"greeting": "x"}}
  broken = items["broken"]
  # missing on node2: an empty entry list, and the OS invalid
  assert broken["node_status"] == {"u1": [BROKEN[1:]], "u2": []}
  assert broken["valid"] is False and broken["hidden"] is True and broken["blacklisted"]
  assert broken["variants"] == broken["api_versions"] == [] and broken["trusted"] is True


def test_failed_nodes_are_left_out():
  cfg, rpc = _Setup({"u1": RpcResult([True, [LAB]]),
                     "u2": RpcResult(failed=True, error="connection refused")})
  (lab,) = oses.OsItems(cfg, rpc)
  assert lab["valid"] is True and list(lab["node_status"]) == ["u1"]
  assert lab["variants"] == ["alt", "default"]
  assert oses.OsItems(cfg, rpc, ["nosuch", "lab"])[0]["name"] == "lab"


def _Diagnose(items, fields, names=None):
  osquery = query.Query(query.GetFieldSet(constants.QR_OS), fields,
                        os_lu.DiagnoseFilter(fields, names))
  return osquery.OldStyleQuery(None, items)


def test_diagnose_filter_hides_like_ganeti():
  cluster = _Cluster(hidden_os=["hid"], blacklisted_os=["blk"])
  status = {"u1": [LAB[1:]]}
  items = [oses.MergeOs(name, status, cluster) for name in ("blk", "hid", "lab")]
  items.append(oses.MergeOs("broken", {"u1": [BROKEN[1:]]}, cluster))
  assert _Diagnose(items, ["name"]) == [["lab"]]
  assert _Diagnose(items, ["name", "hidden"]) == [["hid", True], ["lab", False]]
  assert [row[0] for row in _Diagnose(items, ["name", "valid", "hidden", "blacklisted"])] == \
    ["blk", "hid", "lab", "broken"]
  assert _Diagnose(items, ["name", "valid"], names=["broken", "lab"]) == [["lab", True],
                                                                         ["broken", False]]


def test_updated_os_params():
  current = {"lab": {"a": "1", "b": "2"}, "other": {"c": "3"}}
  assert os_lu.UpdatedOsParams(current, {"lab": {"a": "default", "d": "4"},
                                         "other": {"c": None}, "new": {"e": "5"}}) == \
    {"lab": {"b": "2", "d": "4"}, "new": {"e": "5"}}
  assert current == {"lab": {"a": "1", "b": "2"}, "other": {"c": "3"}}
  hvp = {"lab": {"fake": {"migration_mode": "live"}}}
  assert os_lu.UpdatedOsHvp(hvp, {"lab": {"fake": {"x": 1}}, "new": {"kvm": {"y": 2}}}) == \
    {"lab": {"fake": {"migration_mode": "live", "x": 1}}, "new": {"kvm": {"y": 2}}}
  assert os_lu.UpdatedOsHvp(hvp, {"lab": {"fake": None}}) == {}


def test_change_os_list():
  messages = []
  result = os_lu.ChangeOsList(["a"], [["add", "a"], ["add", "b"], ["remove", "c"],
                                      ["remove", "a"]], "hidden OS list", messages.append)
  assert result == ["b"]
  assert messages == ["OS a already in hidden OS list, ignoring",
                      "OS c not found in hidden OS list, ignoring"]


@pytest.fixture(scope="module")
def cluster():
  vc = VirtualCluster(nodes=1)
  try:
    vc.init()
    yield vc
  finally:
    vc.destroy()


def test_gnt_os_on_a_cluster(cluster):
  assert cluster.run("gnt-os", "list").stdout == ("Name           \n"
                                                  "minimal+blank\nminimal+default\n")
  diagnose = cluster.run("gnt-os", "diagnose").stdout
  assert diagnose.startswith("OS: minimal [global status: valid]\n"
                             "  Variants: [blank, default]\n  Node: ")
  assert "[API versions: 20] [variants: default, blank] [parameters: label, motd]" in diagnose
  info = cluster.run("gnt-os", "info", "minimal").stdout
  assert info.startswith("minimal:\n  - valid: True\n")

  bad = cluster.run("gnt-os", "modify", "-O", "nosuch=1", "minimal+default", check=False)
  assert bad.returncode == 1
  assert ("OS Parameters validation failed on node node1: The following parameters are not"
          " supported by the OS minimal: nosuch") in bad.stderr
  cluster.run("gnt-os", "modify", "-O", "motd=hello", "-H", "fake:migration_mode=non-live",
              "minimal+default")
  skipped = cluster.run("gnt-os", "modify", "-O", "x=1", "unknown+v").stdout
  assert "OS unknown+v not found on node node1, validation skipped" in skipped
  cluster.run("gnt-os", "modify", "--hidden=yes", "minimal")
  again = cluster.run("gnt-os", "modify", "--hidden=yes", "minimal").stdout
  assert "OS minimal already in hidden OS list, ignoring" in again
  assert cluster.run("gnt-os", "list", "--no-headers").stdout == ""
  with open(cluster.path("/var/lib/ganeti/config.data")) as handle:
    config = json.load(handle)["cluster"]
  assert config["osparams"] == {"minimal+default": {"motd": "hello"}, "unknown+v": {"x": "1"}}
  assert config["os_hvp"] == {"minimal+default": {"fake": {"migration_mode": "non-live"}}}
  assert config["hidden_os"] == ["minimal"]
  variant = cluster.run("gnt-os", "info", "minimal+default").stdout
  assert variant == ("minimal+default: \n"
                     "  OS-specific hypervisor parameters: \n"
                     "    fake: \n"
                     "      migration_mode: non-live\n"
                     "  OS parameters: \n"
                     "    motd: hello\n\n")
  cluster.run("gnt-os", "modify", "-O", "motd=default", "minimal+default")
  cluster.run("gnt-os", "modify", "--hidden=no", "minimal")
  assert cluster.run("gnt-os", "list", "--no-headers").stdout == \
    "minimal+blank\nminimal+default\n"
  with open(cluster.path("/var/lib/ganeti/config.data")) as handle:
    assert json.load(handle)["cluster"]["osparams"] == {"unknown+v": {"x": "1"}}
