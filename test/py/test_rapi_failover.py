"""ganeti-rapi follows the master role: in a virtual cluster it binds the
master node's address, and after a master failover the new master serves
the API while the old one no longer does."""

import http.client
import json
import socket
import ssl

import pytest

from rapi_harness import PORT

from vcluster_harness import JoinedCluster


@pytest.fixture(scope="module")
def cluster():
  with JoinedCluster(2) as vc:
    yield vc


def _Info(address: str) -> dict:
  context = ssl.create_default_context()
  context.check_hostname = False
  context.verify_mode = ssl.CERT_NONE
  conn = http.client.HTTPSConnection(address, PORT, timeout=30, context=context)
  try:
    conn.request("GET", "/2/info")
    response = conn.getresponse()
    assert response.status == 200
    return json.loads(response.read())
  finally:
    conn.close()


def _Serves(address: str) -> bool:
  try:
    with socket.create_connection((address, PORT), timeout=5):
      return True
  except OSError:
    return False


def test_rapi_moves_with_the_master(cluster):
  node1, node2 = cluster.prefix + ".11", cluster.prefix + ".12"
  assert _Info(node1)["master"] == "node1"
  assert not _Serves(node2)
  cluster.run("gnt-cluster", "master-failover", node=2, timeout=300)
  assert _Info(node2)["master"] == "node2"
  assert not _Serves(node1)
