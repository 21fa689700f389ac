"""Root SSH keys in a 3-node virtual cluster joined over real SSH.

gnt-cluster init lists the master's key in ganeti_pub_keys; gnt-node add
spreads each new node's key to every node's list and (being master
candidates) to every node's authorized_keys; gnt-node remove takes it back.
"""

import json
import os

import pytest

from test_ssh import SSHD
from vcluster_harness import VirtualCluster

pytestmark = pytest.mark.skipif(not os.path.exists(SSHD) or os.geteuid() != 0,
                                reason="needs OpenSSH's sshd and root")

PUB_KEYS = "/var/lib/ganeti/ganeti_pub_keys"
AUTHORIZED_KEYS = "/root/.ssh/authorized_keys"


def _read(vc, relative, node):
  with open(vc.path(relative, node)) as handle:
    return handle.read()


def _listed(vc, node):
  """{uuid: [key data, ...]} of a node's ganeti_pub_keys."""
  listed = {}
  for line in _read(vc, PUB_KEYS, node).splitlines():
    uuid, key = line.split(" ", 1)
    listed.setdefault(uuid, []).append(key.split()[1])
  return listed


def _root_key(vc, node):
  return _read(vc, "/root/.ssh/id_rsa.pub", node).split()[1]


def _uuids(vc):
  config = json.loads(_read(vc, "/var/lib/ganeti/config.data", 1))
  return {node["name"]: uuid for uuid, node in config["nodes"].items()}


@pytest.fixture(scope="module")
def cluster():
  vc = VirtualCluster(nodes=3, ssh=True)
  try:
    vc.init()
    yield vc
  finally:
    vc.destroy()


def test_init_lists_the_master_key(cluster):
  assert _listed(cluster, 1) == {_uuids(cluster)["node1"]: [_root_key(cluster, 1)]}


def test_node_add_spreads_the_keys(cluster):
  for node in (2, 3):
    cluster.add_node(node)
  uuids = _uuids(cluster)
  expected = {uuids["node%d" % node]: [_root_key(cluster, node)] for node in (1, 2, 3)}
  for node in (1, 2, 3):
    assert _listed(cluster, node) == expected, "node%d" % node
  # all three are master candidates: everyone lets everyone in
  for node in (1, 2, 3):
    authorized = _read(cluster, AUTHORIZED_KEYS, node)
    for other in (1, 2, 3):
      assert _root_key(cluster, other) in authorized, "node%d on node%d" % (other, node)
  proc = cluster.run("gnt-cluster", "verify", check=False)
  assert "public key file" not in proc.stdout + proc.stderr
  assert "ENODESSH" not in proc.stdout


def test_demotion_and_promotion_change_authorized_keys(cluster):
  key3 = _root_key(cluster, 3)
  cluster.run("gnt-node", "modify", "-C", "no", "node3")
  for node in (1, 2):
    assert key3 not in _read(cluster, AUTHORIZED_KEYS, node)
  assert _uuids(cluster)["node3"] in _listed(cluster, 2)  # still a potential candidate
  cluster.run("gnt-node", "modify", "-C", "yes", "node3")
  for node in (1, 2):
    assert key3 in _read(cluster, AUTHORIZED_KEYS, node)


def test_node_remove_takes_the_key_back(cluster):
  uuid3 = _uuids(cluster)["node3"]
  key3 = _root_key(cluster, 3)
  cluster.run("gnt-node", "remove", "node3")
  for node in (1, 2):
    assert uuid3 not in _listed(cluster, node)
    assert key3 not in _read(cluster, AUTHORIZED_KEYS, node)
    assert _root_key(cluster, 1) in _read(cluster, AUTHORIZED_KEYS, node)
  assert set(_listed(cluster, 1)) == set(_listed(cluster, 2)) == set(_uuids(cluster).values())
