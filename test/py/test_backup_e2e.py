"""Backups on a real 2-node virtual cluster: a file instance of node1 exported
to node2 (disk data through the transfer processes and the minimal OS's
export script), listed, imported back as a new instance on node1 (the ext4
image checked with debugfs), removed; an export written by real Ganeti
imported; refusals.

The tests run in file order against one cluster.
"""

import configparser
import json
import os
import shutil
import subprocess
import sys

import pytest

from vcluster_harness import VirtualCluster

SOURCE = "bk1"
COPY = "bk2"
REAL_EXPORT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "backup", "obs1")
EXPORT_DIR = "/srv/ganeti/export"
_BUILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")
# submits opcodes as the master: per opcode its result or error and feedback
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
""" % _BUILD
_QUERY_EXPORTS = """
import sys, json
sys.path.insert(0, %r)
from ganeti import cli
print(json.dumps(cli.GetClient().Query("export", ["node", "export"], None)))
""" % _BUILD


@pytest.fixture(scope="module")
def cluster():
  vc = VirtualCluster(nodes=2, ssh=True)
  try:
    vc.init()
    vc.add_node(2)
    created = _op(vc, "OpInstanceCreate", instance_name=SOURCE, disk_template="file",
                  os_type="minimal+default", pnode="node1", name_check=False, ip_check=False,
                  mode="create", nics=[{"ip": "192.0.2.10"}], disks=[{"size": 16}],
                  beparams={"maxmem": 128, "minmem": 64}, ignore_ipolicy=True)
    assert "error" not in created, created
    yield vc
  finally:
    vc.destroy()


def _op(vc, name, **kw):
  proc = vc.run(sys.executable, "-c", _SUBMIT, json.dumps([[name, kw]]))
  return json.loads(proc.stdout.strip().splitlines()[-1])[0]


def _config(vc):
  with open(vc.path("/var/lib/ganeti/config.data")) as handle:
    return json.load(handle)


def _instance(vc, name):
  data = _config(vc)
  inst = next((i for i in data["instances"].values() if i["name"] == name), None)
  if inst is None:
    return None, []
  return inst, [data["disks"][uuid] for uuid in inst["disks"]]


def _debugfs_cat(path, inner):
  proc = subprocess.run(["debugfs", "-R", "cat " + inner, path], capture_output=True,
                        text=True, check=True)
  return proc.stdout


def _exports(vc):
  result = json.loads(vc.run(sys.executable, "-c", _QUERY_EXPORTS).stdout)
  return [[field[1] for field in row] for row in result["data"]]


def _no_transfers_left(vc):
  for node in (1, 2):
    directory = vc.path("/var/run/ganeti/import-export", node)
    assert not os.path.isdir(directory) or os.listdir(directory) == []


def test_export_refusals(cluster):
  result = _op(cluster, "OpBackupExport", instance_name=SOURCE, target_node="node2",
               shutdown=False, remove_instance=True)
  assert result["error"] == "OpPrereqError"
  assert result["args"][0] == "Can not remove instance without shutting it down before"
  result = _op(cluster, "OpBackupExport", instance_name=SOURCE, target_node="nodeX")
  assert result["args"][0] == "Node 'nodeX' not known"
  result = _op(cluster, "OpBackupExport", instance_name=SOURCE, target_node="node2",
               compress="bogus", long_sleep=True)
  assert result["args"][0] == ("Compression tool not allowed, tools allowed are"
                               " [gzip, gzip-fast, gzip-slow]")
  # file disks take no snapshots: the instance must stay down for the copy
  result = _op(cluster, "OpBackupExport", instance_name=SOURCE, target_node="node2")
  assert result["error"] == "OpExecError"
  assert "--long-sleep option; aborting" in result["args"][0]
  inst, _ = _instance(cluster, SOURCE)
  assert inst["admin_state"] == "up"
  assert os.listdir(cluster.path(EXPORT_DIR, 2)) == []


def test_export_to_other_node(cluster):
  result = _op(cluster, "OpBackupExport", instance_name=SOURCE, target_node="node2",
               long_sleep=True, compress="gzip")
  assert result.get("result") == [True, [True]], result
  feedback = result["feedback"]
  assert feedback[:3] == ["Shutting down instance %s" % SOURCE,
                          "Exporting disk/0 from node1 to node2",
                          "disk/0 is now listening, starting export"]
  # how far the copy got at each poll depends on the machine's speed: the
  # "sending" line shows only if a poll saw the exporter connected before it
  # ended, and either side may be seen finishing first
  transfer = feedback[3:-3]
  assert sorted(set(transfer) - {"disk/0 is sending data on node1"}) == [
    "disk/0 finished receiving data", "disk/0 finished sending data"]
  assert len(transfer) == len(set(transfer))
  assert feedback[-3:] == ["Finalizing export on node2", "Starting instance %s" % SOURCE,
                           "Removing old exports for instance %s" % SOURCE]
  inst, disks = _instance(cluster, SOURCE)
  directory = cluster.path(os.path.join(EXPORT_DIR, SOURCE), 2)
  assert sorted(os.listdir(directory)) == sorted(["config.ini", disks[0]["uuid"]])
  config = configparser.ConfigParser(interpolation=None)
  config.read(os.path.join(directory, "config.ini"))
  assert config["export"]["os"] == "minimal+default"
  assert config["export"]["source"] == inst["primary_node"]
  assert config["instance"]["name"] == SOURCE
  assert config["instance"]["disk0_dump"] == disks[0]["uuid"]
  assert config["instance"]["disk0_size"] == "16"
  assert config["instance"]["nic0_ip"] == "192.0.2.10"
  assert config["backend"]["minmem"] == "64"
  # the dump is the disk's image, byte for byte
  with open(os.path.join(directory, disks[0]["uuid"]), "rb") as dump, \
       open(cluster.path(disks[0]["logical_id"][1], 1), "rb") as disk:
    assert dump.read() == disk.read()
  assert inst["admin_state"] == "up"
  _no_transfers_left(cluster)


def test_list_exports(cluster):
  assert _exports(cluster) == [["node2", SOURCE]]
  assert cluster.run("gnt-backup", "list").stdout == "Node  Export\nnode2 %s\n" % SOURCE
  assert cluster.run("gnt-backup", "list", "--no-headers", "-o", "export",
                     "--node", "node1").stdout == ""
  assert cluster.run("gnt-backup", "list-fields").stdout.splitlines()[1:] == [
    "export Text Export Export name", "node   Text Node   Node name"]
  # a node without export directory cannot tell: no data for it
  os.rmdir(cluster.path(EXPORT_DIR, 1))
  assert _exports(cluster) == [["node1", None], ["node2", SOURCE]]


def test_import_as_new_instance(cluster):
  result = _op(cluster, "OpInstanceCreate", instance_name=COPY, mode="import",
               pnode="node1", src_node="node2", src_path=SOURCE, name_check=False, disks=[],
               ip_check=False, nics=[{"mac": "generate", "ip": "192.0.2.11"}], start=False,
               ignore_ipolicy=True)
  assert "error" not in result, result
  feedback = result["feedback"]
  assert "* running the instance OS import scripts..." in feedback
  assert "Exporting disk/0 from node2 to node1" in feedback
  assert feedback[-1] == "Running rename script for %s" % COPY
  source, source_disks = _instance(cluster, SOURCE)
  inst, disks = _instance(cluster, COPY)
  # what the opcode left out came from the export
  assert inst["os"] == "minimal+default" and inst["hypervisor"] == "fake"
  assert inst["beparams"]["minmem"] == 64 and inst["beparams"]["maxmem"] == 128
  assert [d["size"] for d in disks] == [16] and disks[0]["dev_type"] == "file"
  assert inst["nics"][0]["mac"] != source["nics"][0]["mac"]
  image = cluster.path(disks[0]["logical_id"][1], 1)
  # the data arrived: the minimal OS's files, renamed by its rename script
  assert _debugfs_cat(image, "/etc/hostname").strip() == COPY
  assert "OS=minimal+default" in _debugfs_cat(image, "/etc/ganeti-instance")
  source_image = cluster.path(source_disks[0]["logical_id"][1], 1)
  assert _debugfs_cat(source_image, "/etc/hostname").strip() == SOURCE
  _no_transfers_left(cluster)


def test_import_refusals(cluster):
  result = _op(cluster, "OpInstanceCreate", instance_name="bk9", mode="import",
               pnode="node1", src_path="nosuch", name_check=False, ip_check=False,
               disks=[], nics=[])
  assert result["args"][0] == "No export found for relative path nosuch"
  result = _op(cluster, "OpInstanceCreate", instance_name="bk9", mode="import",
               pnode="node1", src_node="node2", name_check=False, ip_check=False,
               disks=[], nics=[])
  assert result["error"] == "OpExecError"
  assert result["args"][0].startswith(
    "No export or invalid export found in dir %s/bk9: " % EXPORT_DIR)
  assert _instance(cluster, "bk9")[0] is None


def test_import_export_of_real_ganeti(cluster):
  """config.ini and (empty) dump as real Ganeti 3.0 wrote them; its OS and
  bridge do not exist here, so those are given."""
  shutil.copytree(REAL_EXPORT, cluster.path(os.path.join(EXPORT_DIR, "obs1"), 2))
  assert ["node2", "obs1"] in _exports(cluster)
  result = _op(cluster, "OpInstanceCreate", instance_name="obs9", mode="import",
               pnode="node1", src_node="node2", src_path="obs1", name_check=False, disks=[],
               ip_check=False, os_type="minimal+blank",
               nics=[{"mode": "routed", "link": "", "ip": "192.0.2.12"}], start=False)
  assert "error" not in result, result
  inst, disks = _instance(cluster, "obs9")
  assert inst["nics"][0]["mac"] == "aa:00:00:71:36:fe"
  assert inst["beparams"]["maxmem"] == 128 and inst["beparams"]["auto_balance"] is True
  assert [d["size"] for d in disks] == [1024]


def test_remove_export(cluster):
  cluster.run("gnt-backup", "remove", SOURCE)
  assert not os.path.exists(cluster.path(os.path.join(EXPORT_DIR, SOURCE), 2))
  result = _op(cluster, "OpBackupRemove", instance_name="nosuch")
  assert result["feedback"][-1].startswith("Export not found.")
  assert any("Failed to query node node1 (continuing)" in text for text in result["feedback"])
