"""Instance modification on a real 2-node virtual cluster: parameters, disks
(file sizes checked on the node), NICs, offline/online, grow-disk,
recreate-disks, replace-disks and change-group refusals.

The tests run in file order against one cluster and one file instance.
"""

import json
import os
import sys

import pytest

from vcluster_harness import VirtualCluster

INST = "im1"
# submits opcodes as the master and prints, per opcode, its result or error
# and the feedback it produced
_SUBMIT = """
import sys, json
sys.path.insert(0, %r)
from ganeti import cli, opcodes, errors
out = []
for name, kw in json.loads(sys.argv[1]):
  fb = []
  op = cli.MakeOpCode(getattr(opcodes, name), **kw)
  try:
    res = cli.SubmitOpCode(op, feedback_fn=lambda m: fb.append(
      m[2] if isinstance(m, (tuple, list)) else m))
    out.append({"result": res, "feedback": fb})
  except errors.GenericError as err:
    out.append({"error": type(err).__name__, "args": [str(a) for a in err.args], "feedback": fb})
print(json.dumps(out))
""" % os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")


@pytest.fixture(scope="module")
def cluster():
  vc = VirtualCluster(nodes=2, ssh=True)
  try:
    vc.init()
    vc.add_node(2)
    created = _op(vc, "OpInstanceCreate", instance_name=INST, disk_template="file",
                  os_type="minimal+default", pnode="node2", name_check=False, ip_check=False,
                  mode="create", nics=[{"ip": "192.0.2.10"}], disks=[{"size": 1024}],
                  beparams={"maxmem": 128, "minmem": 128}, start=False)
    assert "error" not in created, created
    yield vc
  finally:
    vc.destroy()


def _ops(vc, *pairs):
  proc = vc.run(sys.executable, "-c", _SUBMIT, json.dumps(pairs))
  return json.loads(proc.stdout.strip().splitlines()[-1])


def _op(vc, name, **kw):
  return _ops(vc, [name, kw])[0]


def _modify(vc, **kw):
  return _op(vc, "OpInstanceSetParams", instance_name=INST, **kw)


def _config(vc):
  with open(vc.path("/var/lib/ganeti/config.data")) as handle:
    return json.load(handle)


def _instance(vc):
  data = _config(vc)
  inst = next(i for i in data["instances"].values() if i["name"] == INST)
  return inst, [data["disks"][uuid] for uuid in inst["disks"]]


def _file_size_mib(vc, disk, node=2):
  return os.path.getsize(vc.path(disk["logical_id"][1], node)) // (1024 * 1024)


def _refused(vc, expected, **kw):
  """A modification refused with a message containing expected; the
  instance's configuration is left as it was."""
  before = _instance(vc)
  result = _modify(vc, **kw)
  assert "error" in result, result
  assert expected in result["args"][0], result
  assert _instance(vc) == before
  return result


def test_beparams_and_result_pairs(cluster):
  result = _modify(cluster, beparams={"maxmem": 256, "minmem": 192})
  assert result["result"] == [["be/maxmem", 256], ["be/minmem", 192]]
  inst, _ = _instance(cluster)
  assert inst["beparams"] == {"maxmem": 256, "minmem": 192}
  # "default" takes the parameter back to the cluster's value
  result = _modify(cluster, beparams={"minmem": "default"})
  assert result["result"] == [["be/minmem", "default"]]
  assert _instance(cluster)[0]["beparams"] == {"maxmem": 256}


def test_hvparams_globals_and_unknown_refused(cluster):
  _refused(cluster, "The following hypervisor parameters are global and cannot be customized"
           " at instance level, please modify them at cluster level: migration_mode",
           hvparams={"migration_mode": "non-live"})
  _refused(cluster, "Unknown parameter 'nosuch'", hvparams={"nosuch": "1"})


def test_memory_and_policy_refusals(cluster):
  result = _refused(cluster, "This change will prevent the instance from starting, due to",
                    beparams={"maxmem": 900000})
  assert result["error"] == "OpPrereqError" and result["args"][1] == "insufficient_resources"
  # --force skips the memory check, the policy still applies...
  _refused(cluster, "violates policy: memory-size value 900000 is not in range [128, 32768]",
           beparams={"maxmem": 900000}, force=True)
  # ...unless ignored
  result = _modify(cluster, beparams={"maxmem": 40000}, force=True, ignore_ipolicy=True)
  assert result["result"] == [["be/maxmem", 40000]]
  assert any("violates policy" in line for line in result["feedback"])
  assert _modify(cluster, beparams={"maxmem": 256})["result"] == [["be/maxmem", 256]]


def test_osparams_validated_on_node(cluster):
  result = _refused(cluster, "OS Parameters validation failed on node node2",
                    osparams={"nosuch": "x"})
  assert result["error"] == "OpExecError"


def test_disk_add_creates_file(cluster):
  result = _modify(cluster, disks=[["add", -1, {"size": 2048, "name": "data"}]])
  assert result["result"] == [["disk/1", "add:size=2048,mode=rw"]]
  assert "* disk 1, size 2.0G" in result["feedback"]
  _, disks = _instance(cluster)
  assert [(d["size"], d["iv_name"], d.get("name")) for d in disks] == \
    [(1024, "disk/0", None), (2048, "disk/1", "data")]
  assert _file_size_mib(cluster, disks[1]) == 2048
  # a name in use, too small a disk, a size change: refused
  _refused(cluster, "disk name 'data' already used",
           disks=[["add", -1, {"size": 1024, "name": "data"}]])
  _refused(cluster, "violates policy: disk-size/2 value 100 is not in range [1024, 1048576]",
           disks=[["add", -1, {"size": 100}]])
  _refused(cluster, "Disk size change not possible, use grow-disk",
           disks=[["modify", 1, {"size": 4096}]])


def test_disk_modify_by_name_and_unknown_index(cluster):
  result = _modify(cluster, disks=[["modify", "data", {"mode": "ro"}]])
  assert result["result"] == [["disk.mode/1", "ro"]]
  assert _instance(cluster)[1][1]["mode"] == "ro"
  result = _refused(cluster, "Got disk index 5, but there are only 2",
                    disks=[["remove", 5, {}]])
  assert result["error"] == "OpExecError"
  _refused(cluster, "Lookup of disk 'nosuch' failed", disks=[["modify", "nosuch", {}]])


def test_grow_disk(cluster):
  _, disks = _instance(cluster)
  result = _op(cluster, "OpInstanceGrowDisk", instance_name=INST, disk=0, amount=1024)
  assert "error" not in result, result
  assert "Growing disk 0 of instance 'im1' by 1.0G to 2.0G" in result["feedback"]
  _, disks = _instance(cluster)
  assert disks[0]["size"] == 2048 and _file_size_mib(cluster, disks[0]) == 2048
  result = _op(cluster, "OpInstanceGrowDisk", instance_name=INST, disk=0, amount=3072,
               absolute=True)
  assert "Growing disk 0 of instance 'im1' by 1.0G to 3.0G" in result["feedback"]
  assert _file_size_mib(cluster, _instance(cluster)[1][0]) == 3072
  for kw, message in (
      (dict(disk=0, amount=1024, absolute=True),
       "Requested size (1.0G) is smaller than current disk size (3.0G)"),
      (dict(disk=3, amount=1024), "Invalid disk index: 3 (instace has disks 0 to 1"),
      (dict(disk=0, amount=2000 * 1024),
       "Growing disk 0 violates policy: disk-size/0 value 2051072 is not in range")):
    result = _op(cluster, "OpInstanceGrowDisk", instance_name=INST, **kw)
    assert message in result["args"][0], result
  assert _instance(cluster)[1][0]["size"] == 3072


def test_disk_remove_deletes_file(cluster):
  _, disks = _instance(cluster)
  path = cluster.path(disks[0]["logical_id"][1], 2)
  result = _modify(cluster, disks=[["remove", 0, {}]])
  assert result["result"] == [["disk/0", "remove"]]
  _, after = _instance(cluster)
  # the remaining disk moved up to index 0
  assert [(d["uuid"], d["iv_name"]) for d in after] == [(disks[1]["uuid"], "disk/0")]
  assert not os.path.exists(path)
  assert disks[0]["uuid"] not in _config(cluster)["disks"]


def test_nic_add_modify_remove(cluster):
  result = _modify(cluster, nics=[["add", -1, {"ip": "192.0.2.11", "name": "second"}]])
  [[key, value]] = result["result"]
  assert key == "nic.1" and value.startswith("add:mac=aa:00:00:")
  assert value.endswith(",ip=192.0.2.11,mode=routed,link=,network=None")
  inst, _ = _instance(cluster)
  first_mac, second_mac = [nic["mac"] for nic in inst["nics"]]
  # a new MAC for the NIC named "second"
  result = _modify(cluster, nics=[["modify", "second", {"mac": "generate"}]])
  pairs = dict(result["result"])
  assert pairs["nic.mode/1"] == "routed" and pairs["nic.mac/1"] != second_mac
  assert _instance(cluster)[0]["nics"][1]["mac"] == pairs["nic.mac/1"]
  # a MAC in use, a bad MAC, "auto" on an existing NIC, a routed NIC without IP
  _refused(cluster, "MAC address '%s' already in use in cluster" % first_mac,
           nics=[["modify", 1, {"mac": first_mac}]])
  _refused(cluster, "Invalid MAC address 'zz'", nics=[["add", -1, {"mac": "zz"}]])
  _refused(cluster, "'auto' is not a valid MAC address when modifying an existing NIC",
           nics=[["modify", 0, {"mac": "auto"}]])
  _refused(cluster, "Cannot set the NIC IP address to None on a routed NIC",
           nics=[["modify", 0, {"ip": "none"}]])
  _refused(cluster, "Got NIC index 4, but there are only 2", nics=[["remove", 4, {}]])
  result = _modify(cluster, nics=[["remove", -1, {}]])
  assert result["result"] == [["NIC/1", "remove"]]
  assert [nic["mac"] for nic in _instance(cluster)[0]["nics"]] == [first_mac]


def test_nic_changes_in_the_old_two_item_form(cluster):
  result = _modify(cluster, nics=[["add", {"ip": "192.0.2.12"}]])
  assert result["result"][0][0] == "nic.1"
  result = _modify(cluster, nics=[[1, {"name": "old-form"}]])
  assert ["nic.name/1", "old-form"] in result["result"]
  assert _modify(cluster, nics=[["remove", {}]])["result"] == [["NIC/1", "remove"]]
  assert len(_instance(cluster)[0]["nics"]) == 1


def test_offline_and_online(cluster):
  assert _modify(cluster, offline=True)["result"] == [["admin_state", "offline"]]
  assert _instance(cluster)[0]["admin_state"] == "offline"
  assert _modify(cluster, offline=False)["result"] == [["admin_state", "down"]]
  assert _instance(cluster)[0]["admin_state"] == "down"


def test_disk_template_conversion_refused(cluster):
  _refused(cluster, "Instance already has disk template file", disk_template="file")
  _refused(cluster, "Conversion to the 'diskless' disk template is not supported",
           disk_template="diskless")
  _refused(cluster, "Disk template 'plain' is not enabled for this cluster (enabled"
           " templates: diskless, file)", disk_template="plain")


def test_replace_and_recreate_disks(cluster):
  result = _op(cluster, "OpInstanceReplaceDisks", instance_name=INST, mode="replace_auto")
  assert result["args"] == ["The instance has a strange layout, expected one secondary but"
                            " found 0", "internal_error"]
  result = _op(cluster, "OpInstanceRecreateDisks", instance_name=INST, disks=[5])
  assert result["args"][0] == "Invalid disk index '5'"
  # move the (stopped) instance's disk to node1, created there empty
  result = _op(cluster, "OpInstanceRecreateDisks", instance_name=INST, nodes=["node1"])
  assert "error" not in result, result
  inst, disks = _instance(cluster)
  node1 = [uuid for uuid, node in _config(cluster)["nodes"].items()
           if node["name"] == "node1"]
  assert inst["primary_node"] == node1[0] and disks[0]["nodes"] == node1
  assert _file_size_mib(cluster, disks[0], node=1) == 2048


def test_change_group_refusals(cluster):
  result = _op(cluster, "OpInstanceChangeGroup", instance_name=INST)
  assert result["args"] == ["There are no possible target groups", "wrong_input"]
  result = _op(cluster, "OpInstanceChangeGroup", instance_name=INST,
               target_groups=["default"])
  assert result["args"][0].startswith("Can't use group(s) '")
  assert result["args"][0].endswith("' as targets, they are used by the instance 'im1'")


def test_running_instance(cluster):
  result = _op(cluster, "OpInstanceStartup", instance_name=INST)
  assert "error" not in result, result
  _refused(cluster, "Instance 'im1' is marked to be up, can't change to offline without"
           " being down first", offline=True)
  _refused(cluster, "Instance 'im1' is marked to be up, can't remove volume from a running"
           " instance without using hotplug", disks=[["remove", 0, {}]])
  _refused(cluster, "Hotplug is not possible: ", disks=[["remove", 0, {}]], hotplug=True)
  # a disk added to a running instance is created (and activated) right away
  result = _modify(cluster, disks=[["add", -1, {"size": 1024}]])
  assert result["result"] == [["disk/1", "add:size=1024,mode=rw"]]
  assert _file_size_mib(cluster, _instance(cluster)[1][1], node=1) == 1024
  result = _op(cluster, "OpInstanceRecreateDisks", instance_name=INST)
  assert result["args"] == ["Instance 'im1' is marked to be up, cannot recreate disks",
                            "wrong_state"]
  # runtime memory within [minmem, maxmem] goes to the hypervisor
  assert _modify(cluster, runtime_mem=200)["result"] == [["runtime_memory", 200]]
  _refused(cluster, "Instance im1 must have memory between 128 and 256 of memory unless"
           " --force is given", runtime_mem=512)
  result = _op(cluster, "OpInstanceShutdown", instance_name=INST)
  assert "error" not in result, result
  _refused(cluster, "Instance im1 is not running", runtime_mem=128)


def test_change_group_submits_move(cluster):
  results = _ops(cluster, ["OpGroupAdd", {"group_name": "other"}],
                 ["OpGroupAssignNodes", {"group_name": "other", "nodes": ["node2"]}],
                 ["OpInstanceChangeGroup", {"instance_name": INST}])
  assert all("error" not in result for result in results), results
  [[submitted, job_id]] = results[2]["result"]["jobs"]
  assert submitted is True
  proc = cluster.run("gnt-job", "info", str(job_id))
  assert "OP_INSTANCE_MOVE" in proc.stdout and "target_node: node2" in proc.stdout
