"""Tests of the live instance fields of queries: the status computation, how
the runtime data is collected (one RPC per primary node) and how fast a
large instance list is answered."""

import copy
import json
import os
import time

import pytest

from ganeti import config
from ganeti import constants
from ganeti import query
from ganeti.query import live
from ganeti.rpc.client import RpcResult

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "ganeti-3.0")
_RUNNING, _SHUTDOWN = 0, 1  # hypervisor instance states


def _RawConfig(count, nodes=2):
  """The real 2-node fixture with `count` diskless instances spread over its nodes."""
  with open(os.path.join(DATA, "config.data")) as handle:
    raw = json.load(handle)
  node_uuids = sorted(raw["nodes"], key=lambda uuid: raw["nodes"][uuid]["name"])[:nodes]
  raw["instances"] = {}
  for index in range(count):
    uuid = "inst-%05d" % index
    raw["instances"][uuid] = {
      "name": "i%05d.gnt.test" % index, "uuid": uuid, "os": "lab+default",
      "primary_node": node_uuids[index % len(node_uuids)], "hypervisor": "fake",
      "admin_state": "up", "admin_state_source": "admin", "disks": [],
      "beparams": {}, "hvparams": {}, "osparams": {}, "ctime": 1, "mtime": 2, "serial_no": 1,
      "nics": [{"mac": "aa:00:00:%02x:%02x:%02x" % (index >> 16, (index >> 8) & 255,
                                                   index & 255), "uuid": "n%d" % index,
                "nicparams": {}}]}
  return raw


def _Writer(tmp_path, raw):
  path = tmp_path / "config.data"
  path.write_text(json.dumps(raw))
  return config.ConfigWriter(cfg_file=str(path), offline=True)


class FakeRpc:
  """all_instances_info answers per node: a payload, an error text, or missing."""

  def __init__(self, answers):
    self.answers = answers
    self.calls = []

  def call_all_instances_info(self, nodes, hypervisors, hvparams):
    self.calls.append((list(nodes), list(hypervisors), dict(hvparams)))
    results = {}
    for node in nodes:
      answer = self.answers.get(node)
      if isinstance(answer, str):
        results[node] = RpcResult(failed=True, error=answer, node=node)
      else:
        results[node] = RpcResult(data=[True, copy.deepcopy(answer or {})], node=node)
    return results


class FakeMaster:
  def __init__(self, cfg, rpc):
    self.cfg = cfg
    self.rpc = rpc


def _Running(memory=128, vcpus=1, state=_RUNNING):
  return {"memory": memory, "vcpus": vcpus, "state": state, "time": 1.0}


@pytest.fixture(name="small")
def fixture_small(tmp_path):
  cfg = _Writer(tmp_path, _RawConfig(4))
  nodes = sorted(cfg.GetAllNodesInfo().values(), key=lambda node: node.name)
  return cfg, [node.uuid for node in nodes]


# ---- the status computation ---------------------------------------------------------

def _Ctx(cfg, live_instances, bad_nodes=(), offline=(), **cluster_changes):
  ctx = query.ConfigContext.FromConfig(cfg, live_instances=live_instances,
                                       bad_nodes=bad_nodes)
  ctx.nodes = {uuid: copy.copy(node) for uuid, node in ctx.nodes.items()}
  for uuid in offline:
    ctx.nodes[uuid].offline = True
  ctx.cluster = copy.copy(ctx.cluster)
  for name, value in cluster_changes.items():
    setattr(ctx.cluster, name, value)
  return ctx


def _Inst(cfg, index=0, **changes):
  inst = copy.copy(cfg.GetInstanceInfo("inst-%05d" % index))
  for name, value in changes.items():
    setattr(inst, name, value)
  return inst


def _Row(ctx, inst, fields=("status", "oper_state", "oper_ram", "oper_vcpus")):
  return query.Query(query.GetFieldSet("instance"), list(fields)).OldStyleQuery(ctx, [inst])[0]


@pytest.mark.parametrize("admin_state,source,running,expected", [
  ("up", "admin", _Running(), "running"),
  ("down", "admin", _Running(), "ERROR_up"),
  ("offline", "admin", _Running(), "ERROR_up"),
  ("up", "admin", None, "ERROR_down"),
  ("down", "admin", None, "ADMIN_down"),
  ("down", "user", None, "USER_down"),
  ("offline", "admin", None, "ADMIN_offline"),
  # shut down from inside: restarted (ERROR_down) when it should run
  ("up", "admin", _Running(state=_SHUTDOWN), "ERROR_down"),
  ("down", "admin", _Running(state=_SHUTDOWN), "USER_down"),
])
def test_status_from_admin_and_runtime_state(small, admin_state, source, running, expected):
  cfg, _ = small
  inst = _Inst(cfg, admin_state=admin_state, admin_state_source=source)
  live_instances = {}
  if running is not None:
    live_instances[inst.uuid] = dict(running, node=inst.primary_node)
  assert _Row(_Ctx(cfg, live_instances), inst)[0] == expected


def test_kvm_user_shutdown_keeps_instance_down(small):
  cfg, _ = small
  inst = _Inst(cfg, hypervisor=constants.HT_KVM, hvparams={"user_shutdown": True})
  ctx = _Ctx(cfg, {inst.uuid: dict(_Running(state=_SHUTDOWN), node=inst.primary_node)})
  assert _Row(ctx, inst)[0] == "USER_down"
  inst.hvparams = {"user_shutdown": False}
  ctx = _Ctx(cfg, {inst.uuid: dict(_Running(state=_SHUTDOWN), node=inst.primary_node)})
  assert _Row(ctx, inst)[0] == "ERROR_down"


def test_live_values_and_node_problems(small):
  cfg, (node1, node2) = small
  inst = _Inst(cfg, 0)  # primary node1
  assert inst.primary_node == node1
  running = {inst.uuid: dict(_Running(memory=512, vcpus=3), node=node1)}
  assert _Row(_Ctx(cfg, running), inst) == ["running", True, 512, 3]
  assert _Row(_Ctx(cfg, {}), inst) == ["ERROR_down", False, None, None]
  # running elsewhere than on its primary node
  assert _Row(_Ctx(cfg, {inst.uuid: dict(_Running(), node=node2)}), inst)[0] == \
    "ERROR_wrongnode"
  # primary node did not answer: no runtime data
  assert _Row(_Ctx(cfg, {}, bad_nodes=[node1]), inst) == ["ERROR_nodedown", None, None, None]
  # primary node offline: never asked
  assert _Row(_Ctx(cfg, {}, offline=[node1]), inst) == \
    ["ERROR_nodeoffline", None, None, None]
  # live data not collected at all
  ctx = query.ConfigContext.FromConfig(cfg)
  result = query.Query(query.GetFieldSet("instance"),
                       ["status", "oper_state"]).Query(ctx, [inst])
  assert result == [[[constants.RS_NODATA, None], [constants.RS_NODATA, None]]]
  ctx = _Ctx(cfg, {}, offline=[node1])
  result = query.Query(query.GetFieldSet("instance"),
                       ["status", "oper_state", "oper_ram"]).Query(ctx, [inst])
  assert result == [[[constants.RS_NORMAL, "ERROR_nodeoffline"], [constants.RS_OFFLINE, None],
                     [constants.RS_OFFLINE, None]]]


# ---- collecting the runtime data ---------------------------------------------------

def test_live_data_one_call_for_the_primary_nodes(small):
  cfg, (node1, node2) = small
  rpc = FakeRpc({node1: {"i00000.gnt.test": _Running(256, 2), "stranger": _Running()},
                 node2: {"i00001.gnt.test": _Running(), "i00000.gnt.test": _Running(64)}})
  data = live.InstanceLiveData(cfg, rpc, cfg.GetAllInstancesInfo().values())
  assert len(rpc.calls) == 1
  nodes, hypervisors, hvparams = rpc.calls[0]
  assert sorted(nodes) == sorted([node1, node2])
  assert hypervisors == cfg.GetClusterInfo().enabled_hypervisors
  assert set(hvparams) == set(hypervisors)
  # the primary node's answer counts for an instance reported twice
  assert data["live_instances"] == {
    "inst-00000": dict(_Running(256, 2), node=node1),
    "inst-00001": dict(_Running(), node=node2)}
  assert list(data["bad_nodes"]) == []


def test_live_data_skips_offline_and_reports_failed_nodes(small):
  cfg, (node1, node2) = small
  cfg.GetAllNodesInfo()[node2].offline = True  # shared object: the writer's view
  rpc = FakeRpc({node1: "Connection refused"})
  data = live.InstanceLiveData(cfg, rpc, cfg.GetAllInstancesInfo().values())
  assert rpc.calls[0][0] == [node1]
  assert data == {"live_instances": {}, "bad_nodes": [node1]}
  # only the selected instances' nodes are asked; none at all when all are offline
  rpc = FakeRpc({})
  only_node2 = [inst for inst in cfg.GetAllInstancesInfo().values()
                if inst.primary_node == node2]
  assert live.InstanceLiveData(cfg, rpc, only_node2) == {"live_instances": {},
                                                         "bad_nodes": ()}
  assert rpc.calls == []


def test_query_asks_nodes_only_for_live_fields(small):
  cfg, (node1, node2) = small
  rpc = FakeRpc({node1: {"i00000.gnt.test": _Running()}, node2: "Connection refused"})
  master = FakeMaster(cfg, rpc)
  rows = query.LegacyRows(master, constants.QR_INSTANCE, [], ["name", "os"])
  assert len(rows) == 4 and rpc.calls == []
  reply = query.RunQuery(master, constants.QR_INSTANCE, ["name", "status", "oper_ram"], None)
  assert len(rpc.calls) == 1
  assert [[cell[1] for cell in row] for row in reply["data"]] == [
    ["i00000.gnt.test", "running", 128], ["i00001.gnt.test", "ERROR_nodedown", None],
    ["i00002.gnt.test", "ERROR_down", None], ["i00003.gnt.test", "ERROR_nodedown", None]]
  # a name selects the nodes asked; a filter on a live field needs live data too
  rpc.calls.clear()
  query.LegacyRows(master, constants.QR_INSTANCE, ["i00002.gnt.test"], ["name", "status"])
  assert rpc.calls[0][0] == [node1]
  reply = query.RunQuery(master, constants.QR_INSTANCE, ["name"],
                         ["==", "status", "running"])
  assert [row[0][1] for row in reply["data"]] == ["i00000.gnt.test"]


# ---- speed ------------------------------------------------------------------------------

@pytest.mark.parametrize("count,limit", [(1000, 0.15), (10000, 1.0)])
def test_list_speed(tmp_path, count, limit):
  """gnt-instance list's default fields, all instances running."""
  cfg = _Writer(tmp_path, _RawConfig(count))
  answers = {}
  for inst in cfg.GetAllInstancesInfo().values():
    answers.setdefault(inst.primary_node, {})[inst.name] = _Running()
  master = FakeMaster(cfg, FakeRpc(answers))
  fields = ["name", "hypervisor", "os", "pnode", "status", "oper_ram"]
  best = None
  for _ in range(3):
    start = time.perf_counter()
    rows = query.LegacyRows(master, constants.QR_INSTANCE, [], fields)
    elapsed = time.perf_counter() - start
    best = elapsed if best is None else min(best, elapsed)
  assert len(rows) == count and {row[4] for row in rows} == {"running"}
  # the fake RPC's copying of the answers is part of the measured time
  assert best < limit / 2, best
