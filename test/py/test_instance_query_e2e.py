"""Instance information, list status, console, rename and reinstall on a real
2-node virtual cluster (SSH-joined, fake hypervisor, OS "minimal").

The tests run in file order against one cluster: "run1" (diskless, running,
node1) and "file1" (file disk, stopped, node2).
"""

import os
import subprocess

import pytest

from vcluster_harness import VirtualCluster



@pytest.fixture(scope="module")
def cluster():
  vc = VirtualCluster(nodes=2, ssh=True)
  try:
    vc.init()
    vc.add_node(2)
    common = dict(os_type="minimal+default", name_check=False, ip_check=False,
                  mode="create", nics=[{"ip": "192.0.2.60"}], beparams={"memory": 128})
    created = _Ops(vc, ("OpInstanceCreate", dict(common, instance_name="run1", pnode="node1",
                                                 disk_template="diskless", disks=[])),
                   ("OpInstanceCreate", dict(common, instance_name="file1", pnode="node2",
                                             disk_template="file", disks=[{"size": 1024}],
                                             start=False)))
    assert [result[0] for result in created] == ["ok", "ok"], created
    yield vc
  finally:
    vc.destroy()


def _Ops(vc, *ops):
  return vc.submit(*ops)


def _Op(vc, name, **kw):
  return _Ops(vc, (name, kw))[0]


def _Ok(vc, name, **kw):
  result = _Op(vc, name, **kw)
  assert result[0] == "ok", result
  return result[1]


def _Statuses(vc, fields=("name", "status", "oper_state", "oper_ram")):
  status, reply = _Op(vc, "Query", what="instance", fields=list(fields))
  assert status == "ok"
  return {row[0][1]: [cell[1] for cell in row[1:]] for row in reply["data"]}


def _StateFile(vc, name, node):
  return vc.path("/var/run/ganeti/fake-hypervisor/%s" % name, node)


def test_info_values(cluster):
  status, info, messages = _Op(cluster, "OpInstanceQueryData", instances=["run1", "file1"])
  assert status == "ok"
  assert messages == [" - WARNING: Non-static data requested, locks need to be acquired"]
  run1, file1 = info["run1"], info["file1"]
  assert sorted(run1) == sorted([
    "be_actual", "be_instance", "config_state", "ctime", "disk_template", "disks",
    "hv_actual", "hv_instance", "hypervisor", "mtime", "name", "network_port", "nics", "os",
    "os_actual", "os_instance", "pnode", "pnode_group_name", "pnode_group_uuid", "run_state",
    "serial_no", "snodes", "snodes_group_names", "snodes_group_uuids", "uuid"])
  assert (run1["pnode"], run1["config_state"], run1["run_state"]) == ("node1", "up", "up")
  assert (file1["pnode"], file1["config_state"], file1["run_state"]) == ("node2", "down",
                                                                         "down")
  assert run1["disk_template"] == "diskless" and run1["disks"] == []
  assert run1["be_instance"] == {"maxmem": 128, "minmem": 128}
  assert run1["be_actual"]["maxmem"] == 128 and run1["be_actual"]["vcpus"] == 1
  assert run1["os"] == "minimal+default" and run1["hypervisor"] == "fake"
  assert run1["pnode_group_name"] == "default" and run1["snodes"] == []
  name, uuid, ip, mac, mode, link, vlan, network, netinfo = run1["nics"][0]
  assert (name, ip, network, netinfo, vlan) == (None, "192.0.2.60", None, None, "")
  assert mac.startswith("aa:00:00:") and uuid and mode in ("bridged", "routed", "openvswitch")
  disk = file1["disks"][0]
  assert (disk["dev_type"], disk["iv_name"], disk["size"], disk["mode"]) == \
    ("file", "disk/0", 1024, "rw")
  path = disk["logical_id"][1]
  assert path.startswith("/srv/ganeti/file-storage/file1/")
  # the device status from the primary node: path, no numbers, not degraded, ldisk okay
  assert disk["pstatus"] == [path, None, None, None, None, False, 1]
  assert disk["sstatus"] is None and disk["children"] == [] and disk["drbd_info"] is None
  assert os.path.exists(cluster.path(path, 2))


def test_info_static_and_errors(cluster):
  status, info, messages = _Op(cluster, "OpInstanceQueryData", instances=["file1"],
                               static=True)
  assert (status, messages) == ("ok", [])
  assert info["file1"]["run_state"] is None
  assert info["file1"]["disks"][0]["pstatus"] is None
  everything = _Ok(cluster, "OpInstanceQueryData", use_locking=True)
  assert sorted(everything) == ["file1", "run1"]
  assert _Op(cluster, "OpInstanceQueryData", instances=["nosuch"]) == \
    ["error", "OpPrereqError", "(\"Instance 'nosuch' not known\", 'unknown_entity')"]


def test_list_statuses(cluster):
  assert _Statuses(cluster) == {"run1": ["running", True, 128],
                                "file1": ["ADMIN_down", False, None]}
  # started without recording it: runs against the admin state
  _Ok(cluster, "OpInstanceStartup", instance_name="file1", no_remember=True)
  assert _Statuses(cluster)["file1"] == ["ERROR_up", True, 128]
  _Ok(cluster, "OpInstanceShutdown", instance_name="file1")
  # gone from the hypervisor behind Ganeti's back
  os.remove(_StateFile(cluster, "run1", 1))
  assert _Statuses(cluster)["run1"] == ["ERROR_down", False, None]
  _Ok(cluster, "OpInstanceStartup", instance_name="run1")
  assert _Statuses(cluster)["run1"] == ["running", True, 128]


def test_list_status_of_unreachable_node(cluster):
  env = cluster.env(2)
  subprocess.run(["daemon-util", "stop", "ganeti-noded"], env=env, check=True, timeout=60,
                 capture_output=True)
  try:
    statuses = _Statuses(cluster)
  finally:
    subprocess.run(["daemon-util", "start", "ganeti-noded"], env=env, check=True,
                   timeout=60, capture_output=True)
  assert statuses == {"run1": ["running", True, 128], "file1": ["ERROR_nodedown", None, None]}


def test_console(cluster):
  assert _Ok(cluster, "OpInstanceConsole", instance_name="run1") == {
    "instance": "run1", "kind": "msg", "message": "Console not available for fake hypervisor"}
  assert _Op(cluster, "OpInstanceConsole", instance_name="file1") == \
    ["error", "OpExecError", "Instance file1 is not running (state ADMIN_down)"]


def test_rename(cluster):
  refused = _Op(cluster, "OpInstanceRename", instance_name="run1", new_name="run2",
                name_check=False, ip_check=False)
  assert refused[:2] == ["error", "OpPrereqError"]
  assert "Instance 'run1' is marked to be up, cannot rename" in refused[2]
  taken = _Op(cluster, "OpInstanceRename", instance_name="file1", new_name="run1",
              name_check=False, ip_check=False)
  assert "Instance 'run1' is already in the cluster" in taken[2]
  no_name_check = _Op(cluster, "OpInstanceRename", instance_name="file1", new_name="x",
                      name_check=False)
  assert "IP address check requires a name check" in no_name_check[2]

  old_path = _Ok(cluster, "OpInstanceQueryData", instances=["file1"],
                 static=True)["file1"]["disks"][0]["logical_id"][1]
  assert _Ok(cluster, "OpInstanceRename", instance_name="file1", new_name="file2",
             name_check=False, ip_check=False) == "file2"
  info = _Ok(cluster, "OpInstanceQueryData", instances=["file2"])["file2"]
  new_path = info["disks"][0]["logical_id"][1]
  assert new_path == old_path.replace("/file1/", "/file2/")
  assert os.path.exists(cluster.path(new_path, 2))
  assert not os.path.exists(os.path.dirname(cluster.path(old_path, 2)))
  assert info["disks"][0]["pstatus"][0] == new_path
  # the OS rename script wrote the new name into the disk's filesystem
  hostname = subprocess.run(["debugfs", "-R", "cat /etc/hostname", cluster.path(new_path, 2)],
                            capture_output=True, text=True, check=False).stdout.strip()
  assert hostname == "file2"
  assert _Op(cluster, "OpInstanceQueryData", instances=["file1"])[0] == "error"
  # the locks follow: the new name can be started and stopped, the old one reused
  _Ok(cluster, "OpInstanceStartup", instance_name="file2")
  _Ok(cluster, "OpInstanceShutdown", instance_name="file2")
  _Ok(cluster, "OpInstanceCreate", instance_name="file1", pnode="node1",
      disk_template="diskless", disks=[], os_type="minimal+default", name_check=False,
      ip_check=False, mode="create", nics=[{"ip": "192.0.2.61"}], beparams={"memory": 128}, start=False)
  _Ok(cluster, "OpInstanceRemove", instance_name="file1")


def test_reinstall(cluster):
  diskless = _Op(cluster, "OpInstanceReinstall", instance_name="run1")
  assert diskless == ["error", "OpPrereqError", "(\"Instance 'run1' has no disks\", "
                      "'wrong_input')"]
  _Ok(cluster, "OpInstanceStartup", instance_name="file2")
  running = _Op(cluster, "OpInstanceReinstall", instance_name="file2")
  assert "Instance 'file2' is marked to be up, cannot reinstall" in running[2]
  _Ok(cluster, "OpInstanceShutdown", instance_name="file2")
  unknown_os = _Op(cluster, "OpInstanceReinstall", instance_name="file2", os_type="nope+x")
  assert unknown_os[:2] == ["error", "OpExecError"]
  assert "OS Parameters validation failed on node node2" in unknown_os[2]

  status, result, messages = _Op(cluster, "OpInstanceReinstall", instance_name="file2",
                                 os_type="minimal+blank")
  assert (status, result) == ("ok", None)
  assert messages == ["Changing OS scripts to 'minimal+blank'...",
                      " - INFO: Running instance OS create scripts..."]
  info = _Ok(cluster, "OpInstanceQueryData", instances=["file2"], static=True)["file2"]
  assert info["os"] == "minimal+blank" and info["config_state"] == "down"
  logs = os.listdir(cluster.path("/var/log/ganeti/os", 2))
  assert any(name.startswith("add-minimal+blank-file2-") for name in logs), logs
  assert _Statuses(cluster)["file2"] == ["ADMIN_down", False, None]
