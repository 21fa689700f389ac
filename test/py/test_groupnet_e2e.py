"""Node groups and networks on a real one-node virtual cluster: the commands
go through LUXI, the job queue and the logical units to config.data."""

import json

import pytest

from vcluster_harness import VirtualCluster


@pytest.fixture(scope="module")
def cluster():
  vc = VirtualCluster(nodes=1)
  try:
    vc.init()
    yield vc
  finally:
    vc.destroy()


def _Config(vc):
  with open(vc.path("/var/lib/ganeti/config.data")) as handle:
    return json.load(handle)


def test_group_and_network_lifecycle(cluster):
  run = cluster.run
  run("gnt-group", "add", "--alloc-policy=last_resort", "--node-parameters=spindle_count=2",
      "gx1")
  run("gnt-group", "assign-nodes", "gx1", "node1")
  run("gnt-network", "add", "--network=10.9.0.0/28", "--gateway=10.9.0.1",
      "--add-reserved-ips=10.9.0.5", "--tags=t1", "nx1")
  run("gnt-network", "connect", "-N", "mode=bridged,link=br9", "nx1", "gx1")

  out = run("gnt-group", "list", "--no-headers", "-o", "name,node_cnt,alloc_policy,"
            "ndp/spindle_count").stdout
  assert [line.split() for line in out.splitlines()] == [
    ["default", "0", "preferred", "1"], ["gx1", "1", "last_resort", "2"]]
  out = run("gnt-network", "list", "--no-headers", "--separator=|").stdout
  assert out == "nx1|10.9.0.0/28|10.9.0.1|-|gx1 (bridged, br9, )|t1\n"
  info = run("gnt-network", "info", "nx1").stdout
  assert "  Free: 12 (75.00%)\n" in info and "    gx1 (mode:bridged link:br9 vlan:)\n" in info

  data = _Config(cluster)
  (net_uuid, net), = data["networks"].items()
  assert net["ext_reservations"] == "1100010000000001"
  groups = {group["name"]: group for group in data["nodegroups"].values()}
  assert groups["gx1"]["networks"] == {net_uuid: {"mode": "bridged", "link": "br9",
                                                  "vlan": ""}}
  (node,) = data["nodes"].values()
  assert node["group"] == groups["gx1"]["uuid"]

  # Ganeti's refusals reach the command line
  proc = run("gnt-network", "remove", "nx1", check=False)
  assert proc.returncode == 1 and "Network still connected" in proc.stderr
  proc = run("gnt-group", "remove", "gx1", check=False)
  assert proc.returncode == 1 and "Group 'gx1' not empty" in proc.stderr

  run("gnt-network", "modify", "--remove-reserved-ips=10.9.0.5", "nx1")
  run("gnt-network", "disconnect", "nx1", "gx1")
  run("gnt-network", "remove", "nx1")
  run("gnt-group", "assign-nodes", "default", "node1")
  run("gnt-group", "rename", "gx1", "gx2")
  run("gnt-group", "remove", "gx2")
  assert run("gnt-group", "list", "--no-headers", "-o", "name").stdout == "default\n"
  assert run("gnt-network", "list", "--no-headers").stdout == ""
