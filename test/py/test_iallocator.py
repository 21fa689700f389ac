"""The iallocator protocol: the input document built from a configuration and
the nodes' live data, answer validation, the built-in choice, the runner on
the node side and OP_TEST_ALLOCATOR through the real opcode processor."""

import json
import os
import stat

import pytest

from ganeti import config
from ganeti import errors
from ganeti import mcpu
from ganeti import objects
from ganeti import opcodes
from ganeti import pathutils
from ganeti.backend import common as backend_common
from ganeti.backend import iallocator as backend_ialloc
from ganeti.cmdlib import allocation
from ganeti.cmdlib import builtin_allocator
from ganeti.cmdlib import iallocator as ia

from test_cmdlib_node import Callbacks, Context, FakeRpc

# Keys of Ganeti 3.0's allocator input (gnt-debug allocator --dir in on a real cluster)
_TOP_KEYS = ["version", "cluster_name", "cluster_tags", "enabled_hypervisors", "ipolicy",
             "nodegroups", "nodes", "instances", "request"]
_GROUP_KEYS = {"name", "alloc_policy", "networks", "ipolicy", "tags"}
_NODE_KEYS = {"total_memory", "reserved_memory", "free_memory", "total_disk", "free_disk",
              "total_spindles", "free_spindles", "total_cpus", "reserved_cpus",
              "i_pri_memory", "i_pri_up_memory", "tags", "primary_ip", "secondary_ip",
              "offline", "drained", "master_candidate", "group", "master_capable",
              "vm_capable", "ndparams"}
_INSTANCE_KEYS = {"tags", "admin_state", "vcpus", "memory", "spindle_use", "os", "nodes",
                  "nics", "disks", "disk_template", "disks_active", "hypervisor",
                  "disk_space_total"}
_ALLOC_KEYS = ["name", "disk_template", "group_name", "tags", "os", "vcpus", "memory",
               "spindle_use", "disks", "disk_space_total", "nics", "required_nodes",
               "hypervisor", "type"]

_HV_INFO = {"memory_total": 4096, "memory_dom0": 300, "cpu_total": 4, "cpu_dom0": 1,
            "cpu_nodes": 1, "cpu_sockets": 1}


class IallocRpc(FakeRpc):
  """node_info with per-node free memory; the runner is the real node side."""

  def __init__(self, cfg, free) -> None:
    super().__init__()
    self.answers["node_info"] = lambda node, units, hv: (
      "boot", [{"type": "file", "storage_free": 50000, "storage_size": 90000}],
      [dict(_HV_INFO, memory_free=free[cfg.GetNodeName(node)])])
    self.answers["all_instances_info"] = lambda node, hvs, params: {
      name: {"memory": 128, "vcpus": 1, "state": "running", "time": 1}
      for name in self.running.get(cfg.GetNodeName(node), [])}
    self.answers["iallocator_runner"] = lambda node, *args: backend_ialloc.RunIAllocator(*args)
    self.running = {}


@pytest.fixture
def env(tmp_path, monkeypatch):
  monkeypatch.setattr(pathutils, "IALLOCATOR_SEARCH_PATH", [str(tmp_path / "iallocators")])
  os.mkdir(tmp_path / "iallocators")
  config.InitConfig(str(tmp_path / "config.data"), cluster_name="cluster",
                    master_name="node1", primary_ip="192.0.2.1", master_ip="192.0.2.100",
                    master_netdev="eth0", enabled_hypervisors=["fake"],
                    enabled_disk_templates=["file", "diskless", "drbd"],
                    modify_etc_hosts=False)
  cfg = config.ConfigWriter(str(tmp_path / "config.data"))
  for index in (2, 3):
    cfg.AddNode(objects.Node(name="node%d" % index, primary_ip="192.0.2.%d" % index,
                             secondary_ip="192.0.2.%d" % index, master_candidate=False,
                             offline=False, drained=False, ndparams={}))
  free = {"node1": 3000, "node2": 2000, "node3": 1000}
  ctx = Context(cfg, IallocRpc(cfg, free))
  ctx.free = free
  ctx.script_dir = tmp_path / "iallocators"
  return ctx


def _Uuid(ctx, name):
  return ctx.cfg.GetNodeInfoByName(name).uuid


def _AddInstance(ctx, name, template, node_names, admin_state="up", memory=512):
  nodes = [_Uuid(ctx, node) for node in node_names]
  disks = [] if template == "diskless" else [
    objects.Disk(dev_type=template, size=1024, mode="rw", iv_name="disk/0",
                 logical_id=["x", name], nodes=nodes)]
  inst = objects.Instance(name=name, primary_node=nodes[0], os="lab+default",
                          hypervisor="fake", admin_state=admin_state,
                          beparams={"maxmem": memory, "minmem": memory},
                          nics=[objects.NIC(mac="aa:00:00:00:00:%02x" % (
                                              len(ctx.cfg.GetInstanceList()) + 1),
                                            ip=None,
                                            nicparams={})], disks=disks, tags=["t1"])
  ctx.cfg.AddInstance(inst)
  return inst


def _SetCluster(ctx, **values):
  cluster = ctx.cfg.GetClusterInfo()
  for name, value in values.items():
    setattr(cluster, name, value)
  ctx.cfg.Update(cluster, None)


def _Run(ctx, op_class, **params):
  op = getattr(opcodes, op_class)(**params)
  for name, default, _, _ in op.GetAllParams():
    if not hasattr(op, name):
      setattr(op, name, default() if callable(default) else default)
  return mcpu.Processor(ctx, Callbacks()).ExecOpCode(op)


def _TestAlloc(ctx, **params):
  defaults = dict(direction="in", mode="allocate", name="new1", memory=256, vcpus=1,
                  os="lab", disk_template="file", tags=[], hypervisor=None,
                  disks=[{"size": 1024, "mode": "rw"}, {"size": 512, "mode": "rw"}],
                  nics=[{"mac": "00:11:22:33:44:55", "ip": None, "bridge": None}])
  defaults.update(params)
  return _Run(ctx, "OpTestAllocator", **defaults)


def _Script(ctx, name, body):
  """Installs an allocator script; it records its input and arguments in name.in."""
  path = ctx.script_dir / name
  record = str(path) + ".in"
  path.write_text("#!/usr/bin/env python3\nimport json, sys\n"
                  "record = [open(sys.argv[1]).read(), sys.argv[2:], sys.argv[1]]\n"
                  "open(%r, 'w').write(json.dumps(record))\n"
                  "%s\n" % (record, body))
  path.chmod(path.stat().st_mode | stat.S_IXUSR)
  return record


# --- the input document -----------------------------------------------------------

def test_allocate_input_has_ganeti_shape(env):
  _AddInstance(env, "inst1", "file", ["node1"])
  data = json.loads(_TestAlloc(env))
  assert list(data) == _TOP_KEYS
  assert data["version"] == 2 and data["cluster_name"] == "cluster"
  assert data["enabled_hypervisors"] == ["fake"]
  assert set(data["ipolicy"]) >= {"minmax", "std", "disk-templates", "vcpu-ratio"}
  (group_uuid, group), = data["nodegroups"].items()
  assert set(group) == _GROUP_KEYS and group["name"] == "default"
  assert group_uuid == env.cfg.GetNodeInfo(_Uuid(env, "node1")).group
  assert set(data["nodes"]) == {"node1", "node2", "node3"}
  assert all(set(node) == _NODE_KEYS for node in data["nodes"].values())
  assert set(data["instances"]["inst1"]) == _INSTANCE_KEYS
  request = data["request"]
  assert list(request) == _ALLOC_KEYS
  assert request["type"] == "allocate" and request["required_nodes"] == 1
  assert request["disk_space_total"] == 1536 and request["hypervisor"] == "fake"
  assert request["nics"] == [{"mac": "00:11:22:33:44:55", "ip": None, "bridge": None}]


def test_node_figures_account_for_instances(env):
  # inst1 is up and runs with 128 of its 512 MiB: the rest still counts as taken
  _AddInstance(env, "inst1", "file", ["node1"])
  _AddInstance(env, "inst2", "file", ["node1"], admin_state="down", memory=256)
  env.rpc.running = {"node1": ["inst1"]}
  node1 = json.loads(_TestAlloc(env))["nodes"]["node1"]
  assert node1["free_memory"] == 3000 - (512 - 128)
  assert node1["i_pri_memory"] == 512 + 256 and node1["i_pri_up_memory"] == 512
  assert (node1["total_memory"], node1["reserved_memory"]) == (4096, 300)
  assert (node1["total_disk"], node1["free_disk"]) == (90000, 50000)
  assert (node1["total_cpus"], node1["reserved_cpus"]) == (4, 1)
  assert node1["ndparams"]["spindle_count"] == 1 and node1["group"]


def test_offline_node_has_only_static_data(env):
  node = env.cfg.GetNodeInfo(_Uuid(env, "node3"))
  node.offline = True
  env.cfg.Update(node, None)
  data = json.loads(_TestAlloc(env))
  assert "free_memory" not in data["nodes"]["node3"]
  assert data["nodes"]["node3"]["offline"] is True
  assert all(call[0] != "node_info" or _Uuid(env, "node3") not in call[1]
             for call in env.rpc.calls)


def test_instance_entry(env):
  _AddInstance(env, "inst1", "drbd", ["node1", "node2"])
  inst = json.loads(_TestAlloc(env))["instances"]["inst1"]
  assert inst["nodes"] == ["node1", "node2"] and inst["memory"] == 512
  assert inst["disk_template"] == "drbd" and inst["disk_space_total"] == 1024 + 128
  assert inst["disks"] == [{"dev_type": "drbd", "size": 1024, "mode": "rw", "spindles": None}]
  nic, = inst["nics"]
  assert nic["mac"] == "aa:00:00:00:00:01" and nic["mode"] == "bridged"
  assert nic["bridge"] == nic["link"]
  assert inst["tags"] == ["t1"] and inst["os"] == "lab+default"


def test_other_requests(env):
  _AddInstance(env, "inst1", "drbd", ["node1", "node2"])
  _AddInstance(env, "inst2", "file", ["node1"])
  multi = json.loads(_TestAlloc(env, mode="multi-allocate", count=2))["request"]
  assert multi["type"] == "multi-allocate"
  assert [entry["name"] for entry in multi["instances"]] == ["new10", "new11"]
  assert all("type" not in entry for entry in multi["instances"])
  reloc = json.loads(_TestAlloc(env, mode="relocate", name="inst1"))["request"]
  assert reloc == {"name": "inst1", "disk_space_total": 1152, "required_nodes": 1,
                   "relocate_from": ["node2"], "type": "relocate"}
  evac = json.loads(_TestAlloc(env, mode="node-evacuate", instances=["inst2"],
                               evac_mode="all"))["request"]
  assert evac == {"instances": ["inst2"], "evac_mode": "all", "type": "node-evacuate"}
  chg = json.loads(_TestAlloc(env, mode="change-group", instances=["inst2"],
                              target_groups=["default"]))["request"]
  assert chg == {"instances": ["inst2"], "target_groups": ["default"], "type": "change-group"}


@pytest.mark.parametrize("params, message", [
  (dict(mode="allocate-secondary"), "Invalid test allocator mode 'allocate-secondary'"),
  (dict(memory=None), "Missing attribute 'memory' on opcode input"),
  (dict(disks=[{"size": "big", "mode": "rw"}]), "Invalid contents of the 'disks' parameter"),
  (dict(mode="relocate", name="nosuch"), "Instance 'nosuch' not known"),
  (dict(mode="relocate", name="inst2"), "Can't relocate non-mirrored instances"),
  (dict(direction="out"), "Missing allocator name"),
])
def test_test_allocator_refusals(env, params, message):
  _AddInstance(env, "inst2", "file", ["node1"])
  with pytest.raises(errors.OpPrereqError) as err:
    _TestAlloc(env, **params)
  assert err.value.args[0] == message


# --- answers ---------------------------------------------------------------------

@pytest.mark.parametrize("mode, text, message", [
  ("allocate", "not json", "Can't parse iallocator results: "),
  ("allocate", "[1]", "Can't parse iallocator results: not a dictionary"),
  ("allocate", '{"success": true, "info": ""}', "missing key 'result'"),
  ("allocate", '{"success": "yes", "info": "", "result": []}', "'success' is not a boolean"),
  ("allocate", '{"success": true, "info": "", "result": "node1"}',
   "Iallocator returned invalid result for mode 'allocate', expected a list of node names"),
  ("multi-allocate", '{"success": true, "info": "", "result": [["node1"], []]}',
   "invalid result for mode 'multi-allocate'"),
  ("node-evacuate", '{"success": true, "info": "", "result": [[], []]}',
   "invalid result for mode 'node-evacuate'"),
  ("change-group", '{"success": true, "info": "", "result": [[["i", "g", "n"]], [], []]}',
   "invalid result for mode 'change-group'"),
])
def test_invalid_answers(mode, text, message):
  with pytest.raises(errors.OpExecError) as err:
    ia.ParseAnswer(mode, text)
  assert message in err.value.args[0]


def test_valid_answers():
  assert ia.ParseAnswer("allocate", '{"success": true, "info": "ok", "result": ["n1"]}') == \
    (True, "ok", ["n1"])
  # the answer's key before version 2, and failures with any result
  assert ia.ParseAnswer("relocate", '{"success": true, "info": "", "nodes": ["n2"]}')[2] == ["n2"]
  assert ia.ParseAnswer("allocate", '{"success": false, "info": "full", "result": null}') == \
    (False, "full", None)
  evac = [[["i1", "default", ["n1"]]], [["i2", "no space"]], [[{"OP_ID": "OP_X"}]]]
  assert ia.ParseAnswer("node-evacuate", json.dumps(
    {"success": True, "info": "", "result": evac}))[2] == evac
  multi = [[["x0", ["n1"]], ["x1", ["n2"]]], []]
  assert ia.ParseAnswer("multi-allocate", json.dumps(
    {"success": True, "info": "", "result": multi}))[2] == multi


# --- the built-in choice ------------------------------------------------------------

def _Input(env, **request):
  return json.loads(_TestAlloc(env, **request))


def test_builtin_prefers_most_free_memory_and_skips_unusable_nodes(env):
  data = _Input(env)
  assert builtin_allocator.Answer(data)["result"] == ["node1"]
  assert builtin_allocator.Answer(data, exclude=["node1"])["result"] == ["node2"]
  data["nodes"]["node1"]["drained"] = True
  data["nodes"]["node2"]["offline"] = True
  assert builtin_allocator.Answer(data)["result"] == ["node3"]
  data["request"]["memory"] = 1500
  answer = builtin_allocator.Answer(data)
  assert answer == {"success": False, "result": [],
                    "info": "no node has 1500 MiB of free memory and 1536 MiB of free disk"}


def test_builtin_two_nodes_and_batches(env):
  data = _Input(env, disk_template="drbd")
  assert builtin_allocator.Answer(data)["result"] == ["node1", "node2"]
  data = _Input(env, mode="multi-allocate", count=3, memory=1800)
  placed, failed = builtin_allocator.Answer(data)["result"]
  # node1 takes the first (3000 -> 1200 free), node2 the second; the third finds no room
  assert placed == [["new10", ["node1"]], ["new11", ["node2"]]] and failed == ["new12"]
  answer = builtin_allocator.Answer(dict(data, request={"type": "node-evacuate",
                                                        "instances": [], "evac_mode": "all"}))
  assert answer["success"] is False and "node-evacuate" in answer["info"]


def test_builtin_relocate(env):
  _AddInstance(env, "inst1", "drbd", ["node1", "node2"])
  data = _Input(env, mode="relocate", name="inst1")
  assert builtin_allocator.Answer(data)["result"] == ["node3"]


# --- running allocators -----------------------------------------------------------

class _FakeLU:
  def __init__(self, ctx, instance_name="new1") -> None:
    self.cfg, self.rpc = ctx.cfg, ctx.rpc
    self.op = opcodes.OpInstanceCreate(instance_name=instance_name, os_type="lab", tags=[])
    self.disk_specs = [{"size": 1024, "mode": "rw", "spindles": None}]
    self.nic_specs = [{"mac": "auto", "ip": None, "nicparams": {}}]
    self.disk_template = "file"
    self.logged = []

  def LogInfo(self, message, *args):
    self.logged.append(message % args)


_BE = {"maxmem": 256, "vcpus": 2, "spindle_use": 1}


def test_pick_node_runs_the_script(env):
  record = _Script(env, "fixed", 'print(json.dumps({"success": True, "info": "ok",'
                                 ' "result": ["node3"]}))')
  _SetCluster(env, default_iallocator_params={"opt": "v"})
  lu = _FakeLU(env)
  assert allocation.PickNode(lu, "fixed", _BE, "fake") == _Uuid(env, "node3")
  assert lu.logged == ["Selected nodes for instance new1 via iallocator fixed: node3"]
  text, args, _ = json.load(open(record))
  request = json.loads(text)["request"]
  assert request["name"] == "new1" and request["memory"] == 256 and request["vcpus"] == 2
  assert request["disks"] == [{"size": 1024, "mode": "rw", "spindles": None}]
  assert request["nics"][0]["mac"] == "auto" and request["nics"][0]["mode"] == "bridged"
  assert args == ["--opt=v"]


@pytest.mark.parametrize("result, message", [
  ('{"success": false, "info": "cluster full", "result": []}',
   "Can't compute nodes using iallocator 'fixed': cluster full"),
  ('{"success": true, "info": "", "result": ["node9"]}',
   "Iallocator 'fixed' returned unknown node 'node9'"),
  ('{"success": true, "info": "", "result": ["node1", "node2"]}',
   "iallocator 'fixed' returned invalid number of nodes (2), required 1"),
  ('{"success": true, "info": "", "result": ["node2"]}',
   "Iallocator 'fixed' returned node 'node2', which cannot be used here"),
])
def test_pick_node_refuses_bad_answers(env, result, message):
  _Script(env, "fixed", "print(%r)" % result)
  with pytest.raises(errors.OpPrereqError) as err:
    allocation.PickNode(_FakeLU(env), "fixed", _BE, "fake", exclude=(_Uuid(env, "node2"),))
  assert err.value.args[0] == message


def test_pick_node_without_script_uses_builtin_choice(env):
  lu = _FakeLU(env)
  assert allocation.PickNode(lu, "hail", _BE, "fake") == _Uuid(env, "node1")
  assert allocation.PickNode(lu, "hail", _BE, "fake",
                             exclude=(_Uuid(env, "node1"),)) == _Uuid(env, "node2")
  assert not any(call[0] == "iallocator_runner" for call in env.rpc.calls)


def test_test_allocator_out_returns_raw_output(env):
  _Script(env, "raw", 'print("anything at all")')
  assert _TestAlloc(env, direction="out", iallocator="raw") == "anything at all\n"
  builtin = json.loads(_TestAlloc(env, direction="out", iallocator="hail"))
  assert builtin["success"] is True and builtin["result"] == ["node1"]


def test_resolve_name(env):
  with pytest.raises(errors.OpPrereqError):
    ia.ResolveName(env.cfg, None)
  _SetCluster(env, default_iallocator="hail")
  assert ia.ResolveName(env.cfg, ".") == "hail" and ia.ResolveName(env.cfg, None) == "hail"
  assert ia.ResolveName(env.cfg, "mine") == "mine"


# --- the node side ---------------------------------------------------------------

def test_runner_node_side(env):
  with pytest.raises(backend_common.RPCFail) as err:
    backend_ialloc.RunIAllocator("absent", "{}", {})
  assert err.value.args[0] == "iallocator module 'absent' not found in the search path"
  with pytest.raises(backend_common.RPCFail):
    backend_ialloc.RunIAllocator("../iallocators/x", "{}", {})
  _Script(env, "broken", "sys.exit(3)")
  with pytest.raises(backend_common.RPCFail) as err:
    backend_ialloc.RunIAllocator("broken", "{}", {})
  assert "exited with status 3" in err.value.args[0]
  record = _Script(env, "echo", "print(open(sys.argv[1]).read().upper())")
  assert backend_ialloc.RunIAllocator("echo", '{"a": 1}', {"x": 1, "b": "c"}) == '{"A": 1}\n'
  _, args, input_file = json.load(open(record))
  assert args == ["--b=c", "--x=1"]
  assert not os.path.exists(input_file)  # the input file is removed afterwards
