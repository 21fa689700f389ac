"""The iallocator protocol on a real 2-node virtual cluster: an allocator
script installed in the master's iallocator directory gets the cluster's
description and places instances; the cluster default allocator serves
requests naming none; a missing allocator falls back to the built-in choice.
"""

import json
import os
import sys

import pytest

from ganeti import _autoconf
from vcluster_harness import VirtualCluster

# Answers with the node named in <script>.target; keeps its input in <script>.in
_SCRIPT = """#!%s
import json, shutil, sys
here = sys.argv[0]
shutil.copy(sys.argv[1], here + ".in")
node = open(here + ".target").read().strip()
print(json.dumps({"success": True, "info": "pinned", "result": [node]}))
""" % sys.executable

_SUBMIT = """
import sys, json
sys.path.insert(0, %r)
from ganeti import cli, opcodes, errors
name, kw = json.loads(sys.argv[1])
fb = []
try:
  feedback = lambda m: fb.append(m[2] if isinstance(m, (tuple, list)) else m)
  res = cli.SubmitOpCode(cli.MakeOpCode(getattr(opcodes, name), **kw), feedback_fn=feedback)
  print(json.dumps({"result": res, "feedback": fb}))
except errors.GenericError as err:
  print(json.dumps({"error": type(err).__name__, "args": [str(a) for a in err.args]}))
""" % os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")


@pytest.fixture(scope="module")
def cluster():
  vc = VirtualCluster(nodes=2, ssh=True)
  try:
    vc.init()
    vc.add_node(2)
    directory = vc.root(1) + _autoconf.PKGLIBDIR + "/iallocators"
    os.makedirs(directory, exist_ok=True)
    script = os.path.join(directory, "pin")
    with open(script, "w") as stream:
      stream.write(_SCRIPT)
    os.chmod(script, 0o755)
    vc.script = script
    yield vc
  finally:
    vc.destroy()


def _Target(vc, node):
  with open(vc.script + ".target", "w") as stream:
    stream.write(node)


def _Op(vc, name, **kw):
  proc = vc.run(sys.executable, "-c", _SUBMIT, json.dumps([name, kw]))
  return json.loads(proc.stdout.strip().splitlines()[-1])


def _Pnode(vc, instance):
  out = vc.run("gnt-instance", "list", "--no-headers", "-o", "pnode", instance).stdout
  return out.strip()


_CREATE = dict(disk_template="diskless", os_type="minimal+default", name_check=False,
               ip_check=False, mode="create", disks=[], start=False,
               beparams={"maxmem": 128, "minmem": 128})


def test_gnt_instance_add_uses_the_script(cluster):
  _Target(cluster, "node2")
  proc = cluster.run("gnt-instance", "add", "-I", "pin", "-t", "diskless", "-o",
                     "minimal+default", "--no-name-check", "--no-ip-check", "--no-start",
                     "-B", "maxmem=128", "--net", "0:ip=192.0.2.31", "ia1")
  assert "Selected nodes for instance ia1 via iallocator pin: node2" in proc.stdout
  assert _Pnode(cluster, "ia1") == "node2"
  data = json.load(open(cluster.script + ".in"))
  assert data["version"] == 2 and set(data["nodes"]) == {"node1", "node2"}
  request = data["request"]
  assert (request["type"], request["name"], request["memory"]) == ("allocate", "ia1", 128)
  assert request["disk_template"] == "diskless" and request["required_nodes"] == 1
  node = data["nodes"]["node1"]
  assert node["free_memory"] > 0 and node["total_memory"] >= node["free_memory"]
  assert node["group"] in data["nodegroups"]


def test_cluster_default_allocator(cluster):
  assert "error" not in _Op(cluster, "OpClusterSetParams", default_iallocator="pin")
  _Target(cluster, "node1")
  result = _Op(cluster, "OpInstanceCreate", instance_name="ia2",
               nics=[{"ip": "192.0.2.32"}], **_CREATE)
  assert "error" not in result, result
  assert _Pnode(cluster, "ia2") == "node1"
  data = json.load(open(cluster.script + ".in"))
  assert data["request"]["name"] == "ia2" and "ia1" in data["instances"]
  assert data["instances"]["ia1"]["nodes"] == ["node2"]


def test_unknown_answer_is_refused(cluster):
  _Target(cluster, "node7")
  result = _Op(cluster, "OpInstanceCreate", instance_name="ia3", iallocator="pin",
               nics=[{"ip": "192.0.2.33"}], **_CREATE)
  assert result["error"] == "OpPrereqError"
  assert result["args"][0] == "Iallocator 'pin' returned unknown node 'node7'"


def test_missing_allocator_uses_builtin_choice(cluster):
  result = _Op(cluster, "OpInstanceCreate", instance_name="ia4", iallocator="hail",
               nics=[{"ip": "192.0.2.34"}], **_CREATE)
  assert "error" not in result, result
  assert any("via iallocator hail" in line for line in result["feedback"])


def test_gnt_debug_iallocator(cluster):
  proc = cluster.run("gnt-debug", "iallocator", "--dir", "in", "--mode", "allocate",
                     "--mem", "128", "--disks", "1024", "-t", "file", "-o", "minimal", "x")
  data = json.loads(proc.stdout)
  assert list(data) == ["version", "cluster_name", "cluster_tags", "enabled_hypervisors",
                        "ipolicy", "nodegroups", "nodes", "instances", "request"]
  assert data["request"]["disks"] == [{"size": 1024, "mode": "rw"}]
  assert data["request"]["disk_space_total"] == 1024
  _Target(cluster, "node2")
  proc = cluster.run("gnt-debug", "iallocator", "--dir", "out", "-I", "pin", "--mode",
                     "allocate", "--mem", "128", "--disks", "1024", "-t", "file", "-o",
                     "minimal", "x")
  assert json.loads(proc.stdout) == {"success": True, "info": "pinned", "result": ["node2"]}
