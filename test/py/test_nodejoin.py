"""Tests for ganeti.nodejoin and tools/prepare-node-join: joining node2 over real SSH."""

import os
import subprocess

import pytest

from conftest import BUILD
from test_ssh import PORT, SSHD, SshCluster

pytestmark = pytest.mark.skipif(not os.path.exists(SSHD) or os.geteuid() != 0,
                                reason="needs OpenSSH's sshd and root")

MASTER_SETUP = """
  from ganeti import pathutils, ssconf, ssh
  from ganeti.utils import x509
  x509.WriteSelfSignedPem(pathutils.NODED_CERT_FILE, "cluster")
  digest = x509.WriteSignedPem(pathutils.NODED_CLIENT_CERT_FILE, pathutils.NODED_CERT_FILE,
                               "node1")
  ssconf.WriteSsconfFiles({"cluster_name": "cluster", "master_node": "node1",
                           "master_candidates": "node1",
                           "master_candidates_certs": "node1-uuid=" + digest})
  ssh.InitSSHSetup("rsa", 2048)
"""

JOIN = """
  import json
  from ganeti import errors, nodejoin
  try:
    result = nodejoin.JoinNode("node2", %d, %r, **%r)
    print(json.dumps(["ok", result]))
  except errors.OpExecError as err:
    print(json.dumps(["error", str(err)]))
"""


@pytest.fixture(scope="module")
def cluster():
  vc = SshCluster(2)
  try:
    vc.start()
    vc.python(1, MASTER_SETUP)
    yield vc
  finally:
    vc.destroy()


@pytest.fixture
def vc(cluster):
  """The cluster before node2 joined: no files of the cluster on node2.

  Root of the master may log into node2 already: that is the prerequisite
  of gnt-node add (an administrator's task).
  """
  for relative in ("/var/lib/ganeti/server.pem", "/var/lib/ganeti/client.pem",
                   "/var/lib/ganeti/ssconf_cluster_name", "/root/.ssh/authorized_keys",
                   "/root/.ssh/id_rsa", "/root/.ssh/id_rsa.pub", "/root/.ssh/id_ecdsa",
                   "/root/.ssh/id_ecdsa.pub"):
    try:
      os.unlink(cluster.path(relative, 2))
    except FileNotFoundError:
      pass
  try:
    os.unlink(cluster.calls)
  except FileNotFoundError:
    pass
  cluster.authorize(1, 2)
  known = cluster.path("/var/lib/ganeti/known_hosts", 1)
  with open(known) as handle:
    lines = [line for line in handle if not line.startswith("node2 ")]
  with open(known, "w") as handle:
    handle.writelines(lines)
  return cluster


def _Join(vc, key_check=False, port=PORT, **kwargs):
  env = dict(os.environ, GANETI_PREPARE_NODE_JOIN=vc.join_tool)
  return vc.result(1, JOIN % (port, key_check, kwargs), env=env)


def _Read(vc, relative, node):
  with open(vc.path(relative, node)) as handle:
    return handle.read()


def _Calls(vc):
  try:
    with open(vc.calls) as handle:
      return handle.read().splitlines()
  except FileNotFoundError:
    return []


def test_join_installs_files_keys_and_starts_noded(vc):
  status, public_key = _Join(vc, key_check=False, ssh_key_type="ecdsa", ssh_key_bits=256)
  assert status == "ok", public_key
  # the node answered with its own new root key (the requested type)
  assert public_key == _Read(vc, "/root/.ssh/id_ecdsa.pub", 2).strip()
  assert public_key.startswith("ecdsa-sha2-nistp256 ")
  # the cluster certificate, and a client certificate of its own signed by the cluster
  server = vc.path("/var/lib/ganeti/server.pem", 2)
  assert _Read(vc, "/var/lib/ganeti/server.pem", 2) == _Read(vc, "/var/lib/ganeti/server.pem", 1)
  assert os.stat(server).st_mode & 0o777 == 0o600
  check = vc.python(2, """
    from cryptography import x509
    from ganeti import pathutils
    from ganeti.utils import io
    cert = x509.load_pem_x509_certificate(io.ReadFile(pathutils.NODED_CLIENT_CERT_FILE).encode())
    ca = x509.load_pem_x509_certificate(io.ReadFile(pathutils.NODED_CERT_FILE).encode())
    cert.verify_directly_issued_by(ca)
    print(cert.subject.rfc4514_string())
  """)
  assert check.stdout.strip() == "CN=node2"
  assert "PRIVATE KEY" in _Read(vc, "/var/lib/ganeti/client.pem", 2)
  # ssconf: whom to trust
  for key in ("cluster_name", "master_node", "master_candidates_certs"):
    assert _Read(vc, "/var/lib/ganeti/ssconf_" + key, 2) == \
      _Read(vc, "/var/lib/ganeti/ssconf_" + key, 1)
  # the master's root key may log in; the node daemon was restarted as node2
  master_key = _Read(vc, "/root/.ssh/id_rsa.pub", 1).strip()
  assert _Read(vc, "/root/.ssh/authorized_keys", 2).splitlines() == [master_key]
  assert _Calls(vc) == ["node2 stop ganeti-noded", "node2 start ganeti-noded"]
  # the host key was recorded: from now on the strict check passes
  assert "node2 " + vc.host_key(2) in _Read(vc, "/var/lib/ganeti/known_hosts", 1).splitlines()
  status, again = _Join(vc, key_check=True, ssh_key_type="ecdsa")
  assert (status, again) == ("ok", public_key)
  assert _Read(vc, "/root/.ssh/authorized_keys", 2).splitlines() == [master_key]


def test_join_without_ssh_setup(vc):
  assert _Join(vc)[0] == "ok"
  os.unlink(vc.path("/root/.ssh/id_rsa", 2))
  os.unlink(vc.path("/root/.ssh/id_rsa.pub", 2))
  assert _Join(vc, key_check=True, modify_ssh_setup=False) == ["ok", None]
  assert not os.path.exists(vc.path("/root/.ssh/id_rsa", 2))


def test_unknown_host_key_refused(vc):
  status, message = _Join(vc, key_check=True)
  assert status == "error"
  assert "Cannot connect to node node2 over SSH" in message
  assert "Host key verification failed for node2" in message
  assert not os.path.exists(vc.path("/var/lib/ganeti/server.pem", 2))


def test_connection_refused(vc):
  status, message = _Join(vc, port=1)
  assert status == "error" and "connect to host node2" in message and "port 1" in message


def test_unknown_node_name(vc):
  env = dict(os.environ, GANETI_PREPARE_NODE_JOIN=vc.join_tool)
  status, message = vc.result(1, JOIN.replace('"node2"', '"node7"') % (PORT, False, {}), env=env)
  assert status == "error" and "Could not resolve hostname node7" in message


def test_auth_failure(vc):
  os.unlink(vc.path("/root/.ssh/authorized_keys", 2))
  status, message = _Join(vc, modify_ssh_setup=False)
  assert status == "error" and "Permission denied (publickey)" in message


def test_tool_failure_reports_its_output(vc):
  with open(vc.path("/var/lib/ganeti/ssconf_cluster_name", 2), "w") as handle:
    handle.write("othercluster\n")
  status, message = _Join(vc)
  assert status == "error"
  assert "failed on node node2" in message
  assert "already belongs to cluster 'othercluster'" in message
  assert _Calls(vc) == []


def test_daemon_start_failure(vc):
  daemon_util = os.path.join(vc.sbin, "daemon-util")
  with open(daemon_util) as handle:
    recorder = handle.read()
  try:
    with open(daemon_util, "w") as handle:
      handle.write('#!/bin/sh\n[ "$1" = start ] && { echo "noded exploded"; exit 1; }\nexit 0\n')
    status, message = _Join(vc)
  finally:
    with open(daemon_util, "w") as handle:
      handle.write(recorder)
  assert status == "error" and "noded exploded" in message and "start ganeti-noded" in message


@pytest.mark.parametrize("data, message", [
  ("not json", "not valid JSON"),
  ("[]", "must be a JSON object"),
  ('{"cluster_name": "cluster"}', "'node_daemon_certificate' must be a str"),
])
def test_tool_rejects_bad_data(vc, data, message):
  proc = subprocess.run([os.path.join(vc.root(2), "cmd"), vc.join_tool], input=data,
                        capture_output=True, text=True, timeout=30)
  assert proc.returncode == 1 and message in proc.stderr and proc.stdout == ""
  assert _Calls(vc) == []


def test_join_data_of_a_non_cluster_node(vc):
  proc = vc.python(2, """
    from ganeti import errors, nodejoin
    try:
      nodejoin.BuildJoinData("node3")
    except errors.OpExecError as err:
      print(err)
  """)
  assert "not part of a cluster" in proc.stdout


def test_real_node_daemon_starts(vc):
  sbin = os.path.join(BUILD, "sbin")
  if not os.path.exists(os.path.join(sbin, "ganeti-noded")):
    pytest.skip("ganeti-noded is not built yet")
  daemon_util = os.path.join(vc.sbin, "daemon-util")
  with open(daemon_util) as handle:
    recorder = handle.read()
  try:
    # the node runs the tree's daemon-util, which finds the tree's noded beside itself
    with open(daemon_util, "w") as handle:
      handle.write('#!/bin/sh\nexec %s "$@"\n' % os.path.join(sbin, "daemon-util"))
    assert _Join(vc)[0] == "ok"
    pid = vc.result(2, """
      import json
      from ganeti import daemon
      print(json.dumps(daemon.GetDaemonPid("ganeti-noded")))
    """)
    assert pid[0] is True
    # the installed certificates and ssconf let the master's RPC in
    answer = vc.result(1, """
      import json
      from ganeti import constants
      from ganeti.rpc.client import DnsOnlyRunner
      result = DnsOnlyRunner().call_version(["node2"])["node2"]
      print(json.dumps([result.fail_msg, result.payload, constants.PROTOCOL_VERSION]))
    """)
    assert answer[0] is None and answer[1] == answer[2]
  finally:
    subprocess.run([os.path.join(vc.root(2), "cmd"), os.path.join(sbin, "daemon-util"), "stop",
                    "ganeti-noded"], timeout=60, check=False, capture_output=True)
    with open(daemon_util, "w") as handle:
      handle.write(recorder)
