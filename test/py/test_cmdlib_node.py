"""Node logical units run by the real opcode processor on a real configuration,
with a fake RPC runner answering canned results."""

import copy

import pytest

from ganeti import config
from ganeti import errors
from ganeti import locking
from ganeti import mcpu
from ganeti import opcodes
from ganeti.cmdlib import node as node_lu
from ganeti.cmdlib import node_storage
from ganeti.rpc.client import RpcResult

_LU_FOR = {
  "OP_NODE_ADD": node_lu.LUNodeAdd,
  "OP_NODE_REMOVE": node_lu.LUNodeRemove,
  "OP_NODE_SET_PARAMS": node_lu.LUNodeSetParams,
  "OP_NODE_POWERCYCLE": node_lu.LUNodePowercycle,
  "OP_NODE_QUERYVOLS": node_storage.LUNodeQueryvols,
  "OP_NODE_QUERY_STORAGE": node_storage.LUNodeQueryStorage,
  "OP_NODE_MODIFY_STORAGE": node_storage.LUNodeModifyStorage,
  "OP_REPAIR_NODE_STORAGE": node_storage.LURepairNodeStorage,
}
_DIGEST = "AB:CD:EF"


class FakeRpc:
  """Records calls; answers from per-call functions (node, *args) -> payload.
  failing[(call, node)] is an error message, or a function of the call's
  arguments giving one (or None to answer normally).  Nodes in offline are
  not contacted: their results are the runner's offline ones."""

  def __init__(self) -> None:
    self.calls = []
    self.answers = {
      "version": lambda node: 3000000,
      "node_crypto_tokens": lambda node, req: [["ssl", _DIGEST + ":" + node[:4]]],
      "node_verify": lambda node, *args: {"nodelist": {}},
      "node_verify_light": lambda node, *args: {},
    }
    self.failing = {}
    self.offline = set()
    self.together_calls = []

  def __getattr__(self, name):
    if not name.startswith("call_"):
      raise AttributeError(name)
    call = name[5:]

    def method(nodes, *args):
      # as sent: later changes to the objects passed are not part of the call
      self.calls.append((call, nodes, copy.deepcopy(args)))

      def one(node):
        node = node[0] if isinstance(node, tuple) else node  # (name, address): by name
        if node in self.offline:
          return RpcResult(offline=True, call=call, node=node)
        failure = self.failing.get((call, node))
        if callable(failure):  # fails only for some arguments
          failure = failure(*args)
        if failure:
          return RpcResult(data=[False, failure], call=call, node=node)
        answer = self.answers.get(call, lambda *_: None)
        return RpcResult(data=[True, answer(node, *args)], call=call, node=node)
      if isinstance(nodes, list):
        return {(node[0] if isinstance(node, tuple) else node): one(node) for node in nodes}
      return one(nodes)
    return method

  def CallTogether(self, calls):
    """As the runner's: each call recorded on its own, in order, and the calls
    made together in together_calls."""
    self.together_calls.append([(name, nodes) for name, nodes, _ in calls])
    return [getattr(self, "call_" + name)(nodes, *args) for name, nodes, args in calls]

  def CallWhile(self, calls, work):
    """As the runner's: the calls are made (and recorded) at once, then work
    runs."""
    results = self.CallTogether(calls)
    return results, work()

  def Names(self):
    return [call for call, _, _ in self.calls]


class Context:
  def __init__(self, cfg, rpc) -> None:
    self.cfg = cfg
    self.rpc = rpc
    self.glm = locking.GanetiLockManager(nodes=cfg.GetNodeList(),
                                         nodegroups=cfg.GetNodeGroupList())
    self.hooks = []

  def run_hooks(self, nodes, hpath, phase, env):
    self.hooks.append((hpath, phase, list(nodes), env))
    return {}


class Callbacks:
  def __init__(self) -> None:
    self.messages = []

  def Feedback(self, log_type, message):
    self.messages.append(message)

  def NotifyStart(self):
    pass

  def ConfirmStart(self):
    pass

  def CheckCanceled(self):
    pass

  def CurrentPriority(self):
    return 0


@pytest.fixture
def env(tmp_path, monkeypatch):
  monkeypatch.setattr(mcpu, "_lu_class_for", lambda op: _LU_FOR[op.OP_ID])
  hosts = {"node1": "192.0.2.1", "node2": "192.0.2.2", "node3": "192.0.2.3",
           "node4": "192.0.2.4"}

  def resolve(name):
    if name not in hosts:
      raise errors.ResolverError(name, -2, "Name or service not known")
    return name, hosts[name]
  monkeypatch.setattr(node_lu.netutils, "ResolveHostname", resolve)
  monkeypatch.setattr(node_lu, "TcpPing", lambda *args, **kwargs: True)
  rpc = FakeRpc()
  monkeypatch.setattr(node_lu, "DnsOnlyRunner", lambda: rpc)
  monkeypatch.setattr(node_lu.distribution, "RedistributeAncillaryFiles",
                      lambda lu, additional_nodes=(): rpc.calls.append(
                        ("redistribute", list(additional_nodes), ())))
  config.InitConfig(str(tmp_path / "config.data"), cluster_name="cluster",
                    master_name="node1", primary_ip="192.0.2.1", master_ip="192.0.2.100",
                    master_netdev="eth0", enabled_hypervisors=["fake"],
                    enabled_disk_templates=["file", "plain"], candidate_pool_size=2,
                    modify_etc_hosts=False)
  cfg = config.ConfigWriter(str(tmp_path / "config.data"))
  return Context(cfg, rpc)


def _Run(ctx, op_class, **params):
  cbs = Callbacks()
  op = getattr(opcodes, op_class)(**params)
  for name, default, _, _ in op.GetAllParams():
    if not hasattr(op, name):
      setattr(op, name, default() if callable(default) else default)
  result = mcpu.Processor(ctx, cbs).ExecOpCode(op)
  return result, cbs.messages


def _Node(ctx, name):
  return ctx.cfg.GetNodeInfoByName(name)


def _Prereq(ctx, op_class, **params):
  with pytest.raises(errors.OpPrereqError) as err:
    _Run(ctx, op_class, **params)
  return err.value.args[0]


def test_add_promotes_until_pool_is_full(env):
  _, messages = _Run(env, "OpNodeAdd", node_name="node2")
  node2 = _Node(env, "node2")
  assert node2.master_candidate and node2.primary_ip == node2.secondary_ip == "192.0.2.2"
  assert " - INFO: Node will be a master candidate" in messages
  assert env.cfg.GetCandidateCerts()[node2.uuid] == _DIGEST + ":" + node2.uuid[:4]
  assert ("redistribute", [node2.uuid], ()) in env.rpc.calls
  assert env.rpc.Names()[:2] == ["version", "node_verify"]
  # the pool (2) is full: the third node stays a regular node without RPC rights
  _Run(env, "OpNodeAdd", node_name="node3", master_capable=True, vm_capable=False,
       ndparams={"spindle_count": "3"})
  node3 = _Node(env, "node3")
  assert not node3.master_candidate and not node3.vm_capable
  assert node3.ndparams == {"spindle_count": 3}
  assert node3.uuid not in env.cfg.GetCandidateCerts()
  assert node3.uuid in env.glm._Set(locking.LEVEL_NODE).names()  # pylint: disable=protected-access
  hooks = [(path, phase) for path, phase, _, _ in env.hooks]
  assert ("node-add", "post") in hooks


def test_add_refusals(env):
  _Run(env, "OpNodeAdd", node_name="node2")
  assert _Prereq(env, "OpNodeAdd", node_name="node2") == \
    "Node node2 is already in the configuration"
  assert _Prereq(env, "OpNodeAdd", node_name="node3", readd=True) == \
    "Node node3 is not in the configuration"
  assert _Prereq(env, "OpNodeAdd", node_name="node1", readd=True) == \
    "Cannot readd the master node"
  assert _Prereq(env, "OpNodeAdd", node_name="nodeX") == \
    "The given name (nodeX) does not resolve: Name or service not known"
  assert _Prereq(env, "OpNodeAdd", node_name="node3", secondary_ip="192.0.2.2") == \
    "New node ip address(es) conflict with existing node node2"
  assert _Prereq(env, "OpNodeAdd", node_name="node3", secondary_ip="10.0.0.3") == \
    "The master has no secondary ip but the new node has one"
  assert _Prereq(env, "OpNodeAdd", node_name="node3", secondary_ip="bad") == \
    "Secondary IP (bad) needs to be a valid IPv4 address"
  assert _Prereq(env, "OpNodeAdd", node_name="node3",
                 ndparams={"exclusive_storage": True}).startswith(
    "The following node parameters are global")
  env.rpc.answers["version"] = lambda node: 2160000
  assert _Prereq(env, "OpNodeAdd", node_name="node3") == \
    "Version mismatch master version 3000000, node version 2160000"
  env.rpc.failing[("version", "node3")] = "Connection refused"
  assert _Prereq(env, "OpNodeAdd", node_name="node3") == \
    "Can't get version information from node node3: Connection refused"
  assert _Node(env, "node3") is None


def test_readd_resets_flags(env):
  _Run(env, "OpNodeAdd", node_name="node2")
  _Run(env, "OpNodeSetParams", node_name="node2", offline=True, auto_promote=True)
  assert _Node(env, "node2").offline
  _, messages = _Run(env, "OpNodeAdd", node_name="node2", readd=True)
  node2 = _Node(env, "node2")
  assert not node2.offline and node2.master_candidate
  assert " - INFO: Readding a node, the offline/drained flags were reset" in messages


def test_remove(env):
  assert _Prereq(env, "OpNodeRemove", node_name="node1") == \
    "Node is the master node, failover to another node is required"
  assert _Prereq(env, "OpNodeRemove", node_name="nodeX") == "Node 'nodeX' not known"
  _Run(env, "OpNodeAdd", node_name="node2")
  _Run(env, "OpNodeAdd", node_name="node3")
  node2 = _Node(env, "node2")
  assert node2.master_candidate and not _Node(env, "node3").master_candidate
  _, messages = _Run(env, "OpNodeRemove", node_name="node2")
  assert _Node(env, "node2") is None
  # node3 took the free seat, with its certificate
  node3 = _Node(env, "node3")
  assert node3.master_candidate and node3.uuid in env.cfg.GetCandidateCerts()
  assert node2.uuid not in env.cfg.GetCandidateCerts()
  assert " - INFO: Promoted nodes to master candidate role: node3" in messages
  assert ("node_leave_cluster", "node2", (True,)) in env.rpc.calls


def test_set_params_roles(env):
  _Run(env, "OpNodeAdd", node_name="node2")
  _Run(env, "OpNodeAdd", node_name="node3")
  assert _Prereq(env, "OpNodeSetParams", node_name="node1", master_candidate=False) == \
    "The master role can be changed only via master-failover"
  assert _Prereq(env, "OpNodeSetParams", node_name="node2") == \
    "Please pass at least one modification"
  assert _Prereq(env, "OpNodeSetParams", node_name="node2", offline=True, drained=True) == \
    "Can't set the node into more than one state at the same time"
  assert _Prereq(env, "OpNodeSetParams", node_name="node2", master_candidate=False) == (
    "Not enough master candidates, please pass auto promote option to allow promotion"
    " (--auto-promote or RAPI auto_promote=True)")
  result, messages = _Run(env, "OpNodeSetParams", node_name="node2", master_candidate=False,
                          auto_promote=True)
  assert result == [("master_candidate", "False")]
  assert ("node_demote_from_mc", _Node(env, "node2").uuid, ()) in env.rpc.calls
  assert _Node(env, "node3").master_candidate
  assert " - INFO: Promoted nodes to master candidate role: node3" in messages
  result, _ = _Run(env, "OpNodeSetParams", node_name="node2", drained=True)
  assert result == [("drained", "True")]
  result, messages = _Run(env, "OpNodeSetParams", node_name="node2", drained=False,
                          offline=False)
  assert result == [("drained", "False")]
  assert " - INFO: Ignoring request to unset flag offline, already unset" in messages
  result, _ = _Run(env, "OpNodeSetParams", node_name="node2", master_capable=False,
                   vm_capable=False)
  assert result == [("master_capable", "False"), ("vm_capable", "False")]
  assert _Prereq(env, "OpNodeSetParams", node_name="node2", master_candidate=True) == \
    "Node node2 is not master capable, cannot make it a master candidate"
  assert _Prereq(env, "OpNodeSetParams", node_name="node2", powered=False) == (
    "Unable to change powered state for node node2 as it does not support out-of-band"
    " handling")


def test_set_params_offline_and_back(env):
  _Run(env, "OpNodeAdd", node_name="node2")
  node2 = _Node(env, "node2")
  result, _ = _Run(env, "OpNodeSetParams", node_name="node2", offline=True, auto_promote=True)
  assert result == [("master_candidate", "False"), ("offline", "True")]
  # an offline node is not asked to demote itself, and loses its RPC rights
  assert ("node_demote_from_mc", node2.uuid, ()) not in env.rpc.calls
  assert node2.uuid not in env.cfg.GetCandidateCerts()
  env.rpc.failing[("version", node2.name)] = "unreachable"
  assert _Prereq(env, "OpNodeSetParams", node_name="node2", offline=False) == \
    "Node node2 is being de-offlined but fails to report its version: unreachable"
  del env.rpc.failing[("version", node2.name)]
  result, messages = _Run(env, "OpNodeSetParams", node_name="node2", offline=False)
  assert result == [("master_candidate", "True"), ("offline", "False")]
  assert " - INFO: Auto-promoting node to master candidate" in messages
  assert any("without using re-add" in message for message in messages)
  assert node2.uuid in env.cfg.GetCandidateCerts()


def test_set_params_secondary_ip_and_ndparams(env):
  _Run(env, "OpNodeAdd", node_name="node2")
  assert _Prereq(env, "OpNodeSetParams", node_name="node2", secondary_ip="10.0.0.2") == (
    "Changing the secondary ip on a single-homed cluster requires the --force option to be"
    " passed, and the target node to be the master")
  result, _ = _Run(env, "OpNodeSetParams", node_name="node2", ndparams={"ssh_port": "2222"})
  assert result == [] and _Node(env, "node2").ndparams == {"ssh_port": 2222}
  _Run(env, "OpNodeSetParams", node_name="node2", ndparams={"ssh_port": "default"})
  assert _Node(env, "node2").ndparams == {}


def test_powercycle(env):
  assert _Prereq(env, "OpNodePowercycle", node_name="node1") == \
    "The node is the master and the force parameter was not set"
  env.rpc.answers["node_powercycle"] = lambda node, hv, hvp: "Reboot scheduled in 5 seconds"
  result, _ = _Run(env, "OpNodePowercycle", node_name="node1", force=True)
  assert result == "Reboot scheduled in 5 seconds"
  assert env.rpc.calls[-1][0] == "node_powercycle" and env.rpc.calls[-1][2][0] == "fake"


def test_volumes_and_storage(env):
  _Run(env, "OpNodeAdd", node_name="node2")
  master = env.cfg.GetMasterNode()
  node2 = _Node(env, "node2").uuid
  env.rpc.answers["node_volumes"] = lambda node: [
    {"dev": "/dev/sdb1", "vg": "xenvg", "name": "lv-b", "size": "30.50"},
    {"dev": "/dev/sda1", "vg": "xenvg", "name": "lv-a", "size": "1024"}]
  env.rpc.failing[("node_volumes", node2)] = "lvs failed"
  rows, messages = _Run(env, "OpNodeQueryvols", output_fields=["node", "phys", "name", "size",
                                                               "instance"])
  assert rows == [["node1", "/dev/sda1", "lv-a", "1024", "-"],
                  ["node1", "/dev/sdb1", "lv-b", "30", "-"]]
  assert " - WARNING: Can't compute volume data on node node2: lvs failed" in messages
  assert _Prereq(env, "OpNodeQueryvols", output_fields=["node", "bogus"]) == \
    "Unknown output fields selected: bogus"
  env.rpc.answers["storage_list"] = lambda node, st, args, name, fields: [
    ["/srv/b", 100, 10][:len(fields)], ["/srv/a", 200, 20][:len(fields)]]
  rows, _ = _Run(env, "OpNodeQueryStorage", nodes=["node1"],
                 output_fields=["node", "type", "name", "size", "used"])
  assert rows == [["node1", "file", "/srv/a", 200, 20], ["node1", "file", "/srv/b", 100, 10]]
  call, nodes, args = env.rpc.calls[-1]
  assert (call, nodes) == ("storage_list", [master])
  assert args[0] == "file" and args[3] == ["name", "size", "used"]
  assert _Prereq(env, "OpNodeQueryStorage", output_fields=["name"], storage_type="gluster") == \
    "No disk template of storage type 'gluster' is enabled in this cluster."
  assert _Prereq(env, "OpNodeModifyStorage", node_name="node1", storage_type="lvm-vg",
                 name="xenvg", changes={"allocatable": False}) == \
    "Storage units of type 'lvm-vg' can not be modified"
  _Run(env, "OpNodeModifyStorage", node_name="node1", storage_type="lvm-pv", name="/dev/sda1",
       changes={"allocatable": False})
  assert env.rpc.calls[-1] == ("storage_modify", master,
                               ("lvm-pv", [], "/dev/sda1", {"allocatable": False}))
  assert _Prereq(env, "OpRepairNodeStorage", node_name="node1", storage_type="file",
                 name="x") == "Storage units of type 'file' can not be repaired"
  _, messages = _Run(env, "OpRepairNodeStorage", node_name="node1", storage_type="lvm-vg",
                     name="xenvg")
  assert env.rpc.calls[-1][2] == ("lvm-vg", [], "xenvg", "fix-consistency")
  assert "Repairing storage unit 'xenvg' on node1 ..." in messages
