"""gnt-node against a fake master daemon: requests sent and output printed
(expected texts as Debian's Ganeti 3.0 gnt-node prints them)."""

import pytest

from ganeti import errors
from ganeti import luxi
from ganeti.client import gnt_node
from ganeti.cmdlib import node as node_lu

from cli_fakeluxi import RunCommand, fake_luxi  # noqa: F401  (fixture)


def _Node(*args):
  return RunCommand(gnt_node.Main, "gnt-node", list(args))


def _Ops(fake):
  """The opcodes submitted, without their reason trails (which hold times)."""
  ops = []
  for (job,) in fake.Requests(luxi.REQ_SUBMIT_JOB):
    for op in job:
      op = dict(op)
      op.pop("reason")
      ops.append(op)
  return ops


@pytest.fixture
def joined(monkeypatch):
  """Hosts resolve; joins over SSH are recorded instead of made."""
  joins = []

  def resolve(name):
    if not name.startswith("node"):
      raise errors.ResolverError(name, -2, "Name or service not known")
    return name + ".example.com", "192.0.2.9"
  monkeypatch.setattr(node_lu.netutils, "ResolveHostname", resolve)
  monkeypatch.setattr(gnt_node, "_JoinNode", lambda node, port, opts: joins.append(
    (node, port, opts.ssh_key_check)))
  return joins


def _AddHandlers(fake, nodes, ssh_setup=True):
  fake.handlers[luxi.REQ_QUERY_GROUPS] = lambda args: [[2222]]
  fake.handlers[luxi.REQ_QUERY_NODES] = lambda args: nodes
  fake.handlers[luxi.REQ_QUERY_CONFIG_VALUES] = lambda args: [ssh_setup]


def test_add(fake_luxi, joined, capsys):
  _AddHandlers(fake_luxi, [])
  assert _Node("add", "--no-ssh-key-check", "-s", "10.0.0.9", "--master-capable=no",
               "--node-parameters=spindle_count=2", "--disk-state=lvm-vg:xenvg:disk_total=10",
               "node9") == 0
  assert joined == [("node9.example.com", 2222, False)]
  (op,) = _Ops(fake_luxi)
  assert op["OP_ID"] == "OP_NODE_ADD"
  assert (op["node_name"], op["secondary_ip"], op["readd"], op["master_capable"],
          op["vm_capable"], op["ndparams"], op["disk_state"], op["hv_state"],
          op["node_setup"]) == ("node9", "10.0.0.9", False, False, None,
                                {"spindle_count": "2"}, {"lvm-vg": {"xenvg:disk_total": "10"}},
                                {}, True)
  assert fake_luxi.Requests(luxi.REQ_QUERY_NODES)[0] == [
    ["node9.example.com"], ["name", "sip", "master", "ndp/ssh_port"], False]
  err = capsys.readouterr().err
  assert err.startswith("-- WARNING -- \nAdding this node changes SSH")
  assert "the new node (node9.example.com) gets a fresh SSH key pair" in err


def test_add_refusals(fake_luxi, joined, capsys):
  _AddHandlers(fake_luxi, [["node2.example.com", "10.0.0.2", False, 22]])
  assert _Node("add", "node2") == 1
  assert capsys.readouterr().err == ("Node node2.example.com already in the cluster (as"
                                     " node2.example.com) - please retry with '--readd'\n")
  _AddHandlers(fake_luxi, [])
  assert _Node("add", "--readd", "node2") == 1
  assert capsys.readouterr().err == ("Node node2.example.com not in the cluster - please retry"
                                     " without '--readd'\n")
  _AddHandlers(fake_luxi, [["node1.example.com", "10.0.0.1", True, 22]])
  assert _Node("add", "--readd", "node1") == 1
  assert capsys.readouterr().err == "Node node1.example.com is the master, cannot readd\n"
  assert _Node("add", "other") == 1
  assert capsys.readouterr().err == (
    "Failure: prerequisites not met for this operation:\nerror type: resolver_error, error"
    " details:\nThe given name (other) does not resolve: Name or service not known\n")
  assert joined == [] and not fake_luxi.Requests(luxi.REQ_SUBMIT_JOB)


def test_readd_keeps_secondary_ip(fake_luxi, joined, capsys):
  _AddHandlers(fake_luxi, [["node2.example.com", "10.0.0.2", False, 2022]], ssh_setup=False)
  assert _Node("add", "--readd", "--no-node-setup", "node2") == 0
  (op,) = _Ops(fake_luxi)
  assert (op["readd"], op["secondary_ip"], op["node_setup"]) == (True, "10.0.0.2", False)
  assert joined == [("node2.example.com", 2022, True)]
  captured = capsys.readouterr()
  assert captured.out.startswith("-- WARNING -- \n--no-node-setup has no effect any more")
  assert captured.err == ""


def test_modify(fake_luxi, capsys):
  fake_luxi.job_outcomes.append({"op_results": [[["master_candidate", "False"],
                                                 ["offline", "True"]]]})
  assert _Node("modify", "-O", "yes", "--auto-promote", "node2") == 0
  (op,) = _Ops(fake_luxi)
  assert (op["OP_ID"], op["offline"], op["auto_promote"], op["master_candidate"],
          op["powered"]) == ("OP_NODE_SET_PARAMS", True, True, None, None)
  assert capsys.readouterr().out == ("Modified node node2\n - master_candidate -> False\n"
                                     " - offline -> True\n")
  assert _Node("modify", "--node-powered=yes", "node2") == 1
  assert capsys.readouterr().err == "Please give at least one of the parameters.\n"
  assert _Node("modify", "-C", "maybe", "node2") == 1
  assert "Invalid boolean value 'maybe'" in capsys.readouterr().err


def test_info(fake_luxi, capsys):
  row = ["node1", "192.0.2.1", "192.0.2.1", ["b", "a"], [], True, False, False, True, True,
         None, {"spindle_count": 1, "ssh_port": 2222}, {"ssh_port": 2222}]
  fake_luxi.handlers[luxi.REQ_QUERY_NODES] = lambda args: [row]
  assert _Node("info", "node1") == 0
  assert capsys.readouterr().out == (
    "- Node name: node1\n"
    "  primary ip: 192.0.2.1\n"
    "  secondary ip: 192.0.2.1\n"
    "  master candidate: True\n"
    "  drained: False\n"
    "  offline: False\n"
    "  master_capable: True\n"
    "  vm_capable: True\n"
    "  primary for instances: \n"
    "    - a\n"
    "    - b\n"
    "  secondary for instances: \n"
    "  node parameters: \n"
    "    spindle_count: default (1)\n"
    "    ssh_port: 2222\n")


def test_volumes_and_storage(fake_luxi, capsys):
  fake_luxi.job_outcomes.append({"op_results": [[
    ["node1", "/dev/sda1", "xenvg", "inst1.example.com-disk0", "1024", "inst1"],
    ["node1", "/dev/sdb1", "xenvg", "lv2", "30", "-"]]]})
  assert _Node("volumes") == 0
  assert capsys.readouterr().out == (
    "Node  PhysDev   VG    Name                    Size Instance\n"
    "node1 /dev/sda1 xenvg inst1.example.com-disk0 1.0G inst1\n"
    "node1 /dev/sdb1 xenvg lv2                      30M -\n")
  fake_luxi.job_outcomes.append({"op_results": [[
    ["node1", "lvm-vg", "xenvg", 102400, 2048, 100352, True],
    ["node1", "lvm-vg", "xvg2", 10, 0, 10, False]]]})
  assert _Node("list-storage", "--storage-type=lvm-vg") == 0
  assert capsys.readouterr().out == (
    "Node  Type   Name    Size Used  Free Allocatable\n"
    "node1 lvm-vg xenvg 100.0G 2.0G 98.0G Y\n"
    "node1 lvm-vg xvg2     10M   0M   10M N\n")
  ops = _Ops(fake_luxi)
  assert ops[0]["output_fields"] == ["node", "phys", "vg", "name", "size", "instance"]
  assert (ops[1]["OP_ID"], ops[1]["storage_type"]) == ("OP_NODE_QUERY_STORAGE", "lvm-vg")


def test_storage_changes(fake_luxi, capsys):
  assert _Node("modify-storage", "node1", "lvm-pv", "/dev/sda1") == 0
  assert capsys.readouterr().err == "No changes to perform, exiting.\n"
  assert _Node("modify-storage", "--allocatable=no", "node1", "bogus", "/dev/sda1") == 1
  assert capsys.readouterr().err == ("Failure: prerequisites not met for this operation:\n"
                                     "error type: wrong_input, error details:\n"
                                     "Unknown storage type: bogus\n")
  assert _Node("modify-storage", "--allocatable=no", "node1", "lvm-pv", "/dev/sda1") == 0
  assert _Node("repair-storage", "--ignore-consistency", "node1", "lvm-vg", "xenvg") == 0
  modify, repair = _Ops(fake_luxi)
  assert (modify["OP_ID"], modify["changes"]) == ("OP_NODE_MODIFY_STORAGE",
                                                  {"allocatable": False})
  assert (repair["OP_ID"], repair["ignore_consistency"]) == ("OP_REPAIR_NODE_STORAGE", True)


def test_powercycle_and_remove(fake_luxi, capsys):
  # without a terminal the confirmation is refused
  assert _Node("powercycle", "node2") == 2
  fake_luxi.job_outcomes.append({"op_results": ["Reboot scheduled in 5 seconds"]})
  assert _Node("powercycle", "--yes", "-f", "node2") == 0
  assert capsys.readouterr().err == "Reboot scheduled in 5 seconds\n"
  assert _Node("remove", "node2") == 0
  power, remove = _Ops(fake_luxi)
  assert (power["OP_ID"], power["force"]) == ("OP_NODE_POWERCYCLE", True)
  assert (remove["OP_ID"], remove["node_name"]) == ("OP_NODE_REMOVE", "node2")


def test_list_tags(fake_luxi, capsys):
  fake_luxi.handlers[luxi.REQ_QUERY_TAGS] = lambda args: ["b", "a"]
  assert _Node("list-tags", "node1") == 0
  assert fake_luxi.Requests(luxi.REQ_QUERY_TAGS) == [["node", "node1"]]
  assert capsys.readouterr().out == "a\nb\n"
  assert _Node("add-tags", "node1", "x") == 0
  (op,) = _Ops(fake_luxi)
  assert (op["OP_ID"], op["kind"], op["name"], op["tags"]) == ("OP_TAGS_SET", "node", "node1",
                                                               ["x"])
