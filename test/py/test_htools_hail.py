"""hail: answers validated by the master's own answer parser, placements
checked against capacity and against a brute-force search over every spot,
compared with Debian's Haskell hail, and used by gnt-instance add -I hail on
a virtual cluster."""

import copy
import json
import os
import re
import shutil
import subprocess

import pytest

from ganeti import _autoconf
from ganeti.cmdlib import iallocator as master_side
from ganeti.htools import generator
from ganeti.htools import iallocator
from ganeti.htools import loader
from ganeti.htools import model
from ganeti.htools import score

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUR_HAIL = os.path.join(TOP, "build", "iallocators", "hail")
HAIL = "/usr/lib/ganeti/iallocators/hail"


def _Cluster(**params):
  params = dict(dict(nodes=10, instances=40, seed=1, fill=0.05, skew=0.3), **params)
  return generator.Generate(**params)


def _AllocRequest(name="new1", template="drbd", memory=1024, disk=10240, vcpus=1):
  total = master_side.DiskSpaceTotal(template, [disk])
  return {"type": "allocate", "name": name, "disk_template": template, "memory": memory,
          "vcpus": vcpus, "disks": [{"size": disk, "mode": "rw"}], "disk_space_total": total,
          "nics": [{"mac": "aa:00:00:00:00:01", "ip": None}], "tags": [],
          "required_nodes": master_side.RequiredNodes(template), "spindle_use": 1,
          "os": "debian", "hypervisor": "kvm"}


def _Ask(data):
  """Our answer, run through the master's parser (which raises on bad shapes)."""
  answer = iallocator.Answer(copy.deepcopy(data))
  text = json.dumps(answer)
  success, info, result = master_side.ParseAnswer(data["request"]["type"], text)
  return success, info, result


def _ScoreWith(data, name, nodes):
  """The cluster score once the requested instance sits on nodes."""
  cluster = loader.FromIAllocator(data)
  inst = iallocator._NewInstance(data["request"])
  indices = [cluster.FindNode(n) for n in nodes] + [model.NO_NODE]
  cluster.AddInstance(inst, indices[0], indices[1])
  group = cluster.nodes[indices[0]].group
  return score.Score(cluster, cluster.GroupNodes(group)), cluster, inst


@pytest.mark.parametrize("template", ["drbd", "diskless"])
def test_allocate_picks_the_best_valid_spot(template):
  base = _Cluster(nodes=7, instances=25, seed=2)
  data = iallocator.BuildInput(base, _AllocRequest(template=template, memory=2048))
  success, _, result = _Ask(data)
  assert success and len(result) == (2 if template == "drbd" else 1)
  chosen, cluster, inst = _ScoreWith(data, "new1", result)
  for idx in (inst.pnode, inst.snode):
    if idx != model.NO_NODE:
      node = cluster.nodes[idx]
      assert not node.offline and node.f_dsk >= 0
  primary = cluster.nodes[inst.pnode]
  assert primary.f_mem > 0 and primary.f_mem - primary.down_mem > 0
  if inst.snode != model.NO_NODE:
    secondary = cluster.nodes[inst.snode]
    assert inst.failover_mem < secondary.f_mem - secondary.down_mem
  # brute force: no valid spot scores better
  names = [n.name for n in base.nodes]
  spots = [[p, s] for p in names for s in names if p != s] if template == "drbd" else \
    [[p] for p in names]
  for spot in spots:
    value, trial, placed = _ScoreWith(data, "new1", spot)
    primary = trial.nodes[placed.pnode]
    valid = primary.f_mem >= 0 and (primary.f_mem > primary.r_mem or primary.FailsN1())
    if placed.snode != model.NO_NODE:
      secondary = trial.nodes[placed.snode]
      valid = valid and secondary.f_dsk >= 0 and secondary.f_mem > secondary.r_mem
    if valid:
      assert chosen <= value + 1e-9, (spot, value, result, chosen)


def test_allocate_fails_cleanly_when_nothing_fits():
  data = iallocator.BuildInput(_Cluster(nodes=4, instances=10), _AllocRequest(memory=10 ** 7))
  success, info, result = _Ask(data)
  assert not success and info.startswith("Request failed") and result == []
  bad = iallocator.BuildInput(_Cluster(nodes=4, instances=10), {"type": "unknown"})
  assert iallocator.Answer(bad)["success"] is False


def test_multi_allocate_places_each_once():
  base = _Cluster(nodes=8, instances=20, seed=3)
  requests = [dict(_AllocRequest("m%d" % pos), type="allocate") for pos in range(5)]
  requests.append(dict(_AllocRequest("huge", memory=10 ** 7)))
  data = iallocator.BuildInput(base, {"type": "multi-allocate", "instances": requests})
  success, _, (placed, failed) = _Ask(data)
  assert success and failed == ["huge"]
  assert [name for name, _ in placed] == ["m%d" % pos for pos in range(5)]
  cluster = loader.FromIAllocator(data)
  for name, nodes in placed:
    inst = iallocator._NewInstance(dict(_AllocRequest(name)))
    cluster.AddInstance(inst, cluster.FindNode(nodes[0]), cluster.FindNode(nodes[1]))
  assert all(n.f_mem >= 0 and n.f_dsk >= 0 for n in cluster.nodes)


def test_relocate_and_allocate_secondary():
  base = _Cluster(nodes=8, instances=30, seed=4)
  inst = next(i for i in base.instances if i.template == "drbd")
  old_s = base.nodes[inst.snode].name
  request = {"type": "relocate", "name": inst.name, "relocate_from": [old_s],
             "required_nodes": 1, "disk_space_total": inst.dsk}
  success, _, result = _Ask(iallocator.BuildInput(base, request))
  assert success and len(result) == 1
  assert result[0] not in (old_s, base.nodes[inst.pnode].name)
  request = {"type": "allocate-secondary", "name": inst.name}
  success, _, result = _Ask(iallocator.BuildInput(base, request))
  assert success and result != base.nodes[inst.pnode].name


@pytest.mark.parametrize("mode", ["primary-only", "secondary-only", "all"])
def test_node_evacuate_moves_off_the_node(mode):
  base = _Cluster(nodes=8, instances=30, seed=5)
  node = base.nodes[0]
  names = [i.name for i in base.instances if node.idx in (i.pnode, i.snode)]
  request = {"type": "node-evacuate", "instances": names, "evac_mode": mode}
  success, _, (moved, failed, jobs) = _Ask(iallocator.BuildInput(base, request))
  assert success and len(moved) + len(failed) == len(names) and len(jobs) == len(moved)
  for (name, _, nodes), ops in zip(moved, jobs):
    inst = base.instances[base.FindInstance(name)]
    was_primary = inst.pnode == node.idx
    if mode == "all" or (mode == "primary-only" and was_primary):
      assert nodes[0] != node.name
    if mode == "all" or (mode == "secondary-only" and not was_primary):
      assert node.name not in nodes[1:]
    assert ops and all(op["OP_ID"].startswith("OP_INSTANCE_") for op in ops)


def test_change_group_moves_into_the_target_group():
  base = _Cluster(nodes=12, instances=30, seed=6, groups=2)
  names = [i.name for i in base.instances if i.template == "drbd"
           and base.nodes[i.pnode].group == 0][:3]
  request = {"type": "change-group", "instances": names,
             "target_groups": [base.groups[1].uuid]}
  success, _, (moved, failed, _) = _Ask(iallocator.BuildInput(base, request))
  assert success and not failed
  group_nodes = {n.name for n in base.GroupNodes(1)}
  assert all(group == base.groups[1].name and set(nodes) <= group_nodes
             for _, group, nodes in moved)


def test_hail_program(tmp_path):
  path = tmp_path / "in.json"
  path.write_text(json.dumps(iallocator.BuildInput(_Cluster(), _AllocRequest())))
  proc = subprocess.run([OUR_HAIL, str(path)], capture_output=True, text=True, timeout=60)
  assert proc.returncode == 0, proc.stderr
  answer = json.loads(proc.stdout)
  assert answer["success"] and len(answer["result"]) == 2


@pytest.mark.skipif(not os.access(HAIL, os.X_OK), reason="Debian's hail not installed")
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_placement_no_worse_than_haskell_hail(tmp_path, seed):
  base = _Cluster(nodes=12, instances=50, seed=seed)
  data = iallocator.BuildInput(base, _AllocRequest(memory=2048))
  path = tmp_path / "in.json"
  path.write_text(json.dumps(data))
  theirs = json.loads(subprocess.run([HAIL, str(path)], capture_output=True, text=True,
                                     timeout=600).stdout)
  success, _, ours = _Ask(data)
  assert success
  if theirs["success"]:
    assert _ScoreWith(data, "new1", ours)[0] <= \
      _ScoreWith(data, "new1", theirs["result"])[0] + 1e-9


@pytest.fixture(scope="module")
def vcluster():
  from vcluster_harness import VirtualCluster   # pylint: disable=import-outside-toplevel
  vc = VirtualCluster(nodes=2, ssh=True)
  try:
    vc.init("--enabled-disk-templates=diskless,file,sharedfile")
    vc.add_node(2)
    directory = vc.root(1) + _autoconf.PKGLIBDIR + "/iallocators"
    os.makedirs(directory, exist_ok=True)
    shutil.copy(OUR_HAIL, os.path.join(directory, "hail"))
    yield vc
  finally:
    vc.destroy()


def test_gnt_instance_add_with_hail(vcluster):
  proc = vcluster.run("gnt-instance", "add", "-I", "hail", "-t", "diskless", "-o",
                      "minimal+default", "--no-name-check", "--no-ip-check", "--no-start",
                      "-B", "maxmem=128", "--net", "0:ip=192.0.2.41", "hx1")
  assert "via iallocator hail:" in proc.stdout, proc.stdout + proc.stderr
  out = vcluster.run("gnt-instance", "list", "--no-headers", "-o", "pnode", "hx1").stdout
  assert out.strip() in ("node1", "node2")


def test_hbal_reads_the_cluster_over_luxi(vcluster):
  proc = vcluster.run("hbal", "-L", check=False)
  assert proc.returncode == 0, proc.stdout + proc.stderr
  assert "Loaded 2 nodes, " in proc.stdout and "Initial score:" in proc.stdout


def test_hbal_executes_its_moves_as_jobs(vcluster):
  # on shared storage: hbal, like Ganeti's, leaves diskless instances alone
  for pos in range(4):
    vcluster.run("gnt-instance", "add", "-n", "node1", "-t", "sharedfile", "--disk", "0:size=1g",
                 "-o", "minimal+default",
                 "--no-name-check", "--no-ip-check", "--no-start", "-B", "maxmem=128",
                 "--net", "0:ip=192.0.2.%d" % (50 + pos), "hb%d" % pos)
  before = vcluster.run("gnt-instance", "list", "--no-headers", "-o", "name,pnode").stdout
  assert before.count("node1") >= 4
  proc = vcluster.run("hbal", "-L", "-X", "-C", check=False, timeout=600)
  assert proc.returncode == 0, proc.stdout + proc.stderr
  assert "Got job IDs" in proc.stdout and "gnt-instance failover -f -n node2" in proc.stdout
  after = dict(line.split() for line in vcluster.run(
    "gnt-instance", "list", "--no-headers", "-o", "name,pnode").stdout.splitlines())
  counts = [list(after.values()).count(node) for node in ("node1", "node2")]
  assert abs(counts[0] - counts[1]) <= 1, after
  again = vcluster.run("hbal", "-L").stdout
  final = float(re.search(r"improved from [\d.]+ to ([\d.]+)", proc.stdout).group(1))
  assert float(re.search(r"Initial score: ([\d.]+)", again).group(1)) == pytest.approx(final,
                                                                                        abs=1e-6)
