"""Root SSH keys and the cluster certificate in a 3-node virtual cluster
joined over real SSH.

gnt-cluster init lists the master's key in ganeti_pub_keys; gnt-node add
spreads each new node's key to every node's list and (being master
candidates) to every node's authorized_keys; renew-crypto replaces every
key, and the cluster certificate with all node certificates; gnt-node
remove takes a key back.
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
  """The data of the node's root public key (whatever its type)."""
  ssh_dir = vc.path("/root/.ssh", node)
  (public,) = [name for name in os.listdir(ssh_dir)
               if name.startswith("id_") and name.endswith(".pub")]
  return _read(vc, "/root/.ssh/" + public, node).split()[1]


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


def test_renew_ssh_keys_replaces_every_key(cluster):
  old = {node: _root_key(cluster, node) for node in (1, 2, 3)}
  proc = cluster.run("gnt-cluster", "renew-crypto", "--new-ssh-keys", "--ssh-key-type=ecdsa",
                     "--ssh-key-bits=256", "-f")
  for node in (1, 2, 3):
    assert "Renewing the SSH key of node node%d" % node in proc.stdout
  new = {node: _root_key(cluster, node) for node in (1, 2, 3)}
  uuids = _uuids(cluster)
  for node in (1, 2, 3):
    assert _read(cluster, "/root/.ssh/id_ecdsa.pub", node).startswith("ecdsa-sha2-nistp256 ")
    assert not os.path.exists(cluster.path("/root/.ssh/id_rsa", node))
    assert _listed(cluster, node) == {uuids["node%d" % other]: [new[other]]
                                      for other in (1, 2, 3)}
    authorized = _read(cluster, AUTHORIZED_KEYS, node)
    for other in (1, 2, 3):
      assert new[other] in authorized and old[other] not in authorized
  config = json.loads(_read(cluster, "/var/lib/ganeti/config.data", 1))
  assert (config["cluster"]["ssh_key_type"], config["cluster"]["ssh_key_bits"]) == ("ecdsa", 256)
  # the new keys open every node
  proc = cluster.run("gnt-cluster", "command", "true")
  assert proc.stdout.count("return code = 0") == 3
  proc = cluster.run("gnt-cluster", "verify", check=False)
  assert "ENODESSH" not in proc.stdout and proc.returncode == 0, proc.stdout


def test_renew_ssh_keys_refuses_impossible_sizes(cluster):
  proc = cluster.run("gnt-cluster", "renew-crypto", "--new-ssh-keys", "--ssh-key-type=ecdsa",
                     "--ssh-key-bits=2048", "-f", check=False)
  assert proc.returncode == 1
  assert "SSH keys of type ecdsa can only have 256 or 384 or 521 bits, not 2048" in proc.stderr


def _certificates(cluster, node):
  """(server.pem digest, whether client.pem is signed by server.pem, client.pem digest)."""
  from cryptography import x509 as crypto_x509  # pylint: disable=import-outside-toplevel
  from ganeti.utils import x509  # pylint: disable=import-outside-toplevel
  server = _read(cluster, "/var/lib/ganeti/server.pem", node)
  client = _read(cluster, "/var/lib/ganeti/client.pem", node)
  server_cert = crypto_x509.load_pem_x509_certificate(server.encode())
  client_cert = crypto_x509.load_pem_x509_certificate(client.encode())
  try:
    client_cert.verify_directly_issued_by(server_cert)
    signed = True
  except Exception:  # pylint: disable=broad-except
    signed = False
  return x509.GetCertificateDigest(server), signed, x509.GetCertificateDigest(client)


def test_renew_cluster_certificate(cluster):
  from ganeti.utils import x509  # pylint: disable=import-outside-toplevel
  old_server = x509.GetCertificateDigest(cluster.path("/var/lib/ganeti/server.pem", 1))
  proc = cluster.run("gnt-cluster", "renew-crypto", "--new-cluster-certificate", "-f")
  lines = proc.stdout.splitlines()
  assert lines.index("Stopping master daemons") < lines.index(
    "Updating the cluster SSL certificate.") < lines.index("Starting daemons on node1")
  assert "Copying /var/lib/ganeti/server.pem to node2:2222" in lines, proc.stdout
  new_server = x509.GetCertificateDigest(cluster.path("/var/lib/ganeti/server.pem", 1))
  assert new_server != old_server
  uuids = _uuids(cluster)
  certs = json.loads(_read(cluster, "/var/lib/ganeti/config.data", 1))["cluster"][
    "candidate_certs"]
  for node in (1, 2, 3):
    server_digest, signed, client_digest = _certificates(cluster, node)
    assert server_digest == new_server and signed, "node%d" % node
    assert certs[uuids["node%d" % node]] == client_digest
  # node RPC works again everywhere, and verify finds nothing to complain about
  proc = cluster.run("gnt-node", "list", "--no-headers", "-o", "name,mtotal")
  assert all(line.split()[1] != "?" for line in proc.stdout.splitlines()), proc.stdout
  proc = cluster.run("gnt-cluster", "verify", check=False)
  assert proc.returncode == 0, proc.stdout


def test_node_remove_takes_the_key_back(cluster):
  uuid3 = _uuids(cluster)["node3"]
  key3 = _root_key(cluster, 3)
  cluster.run("gnt-node", "remove", "node3")
  for node in (1, 2):
    assert uuid3 not in _listed(cluster, node)
    assert key3 not in _read(cluster, AUTHORIZED_KEYS, node)
    assert _root_key(cluster, 1) in _read(cluster, AUTHORIZED_KEYS, node)
  assert set(_listed(cluster, 1)) == set(_listed(cluster, 2)) == set(_uuids(cluster).values())
