"""Tests for ganeti.backend.node (and hooks_runner), called as a virtual node."""

import os
import time

import pytest

from ganeti import constants
from ganeti import vcluster
from test_backend_common import FreshNode


@pytest.fixture
def node():
  with FreshNode() as fresh:
    yield fresh


V = vcluster.VIRTUAL_PATH_PREFIX
NO_FAIL_DELAY = "from ganeti.backend import node; node.RESTRICTED_COMMAND_FAIL_DELAY = 0"


def _Write(path, text, mode=0o644):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w") as handle:
    handle.write(text)
  os.chmod(path, mode)


def test_version_and_delay(node):
  results = node.calls(("version",), ("test_delay", 0.01), ("test_delay", -1))
  assert results[0] == [True, constants.PROTOCOL_VERSION]
  assert results[1] == [True, None]
  assert results[2][0] is False and "duration" in results[2][1]


def test_node_info_shape(node):
  bootid, storage, hvs = node.ok("node_info",
                                 [["file", "/srv/ganeti/file-storage", []],
                                  ["lvm-vg", "no-such-vg", [False]]],
                                 [["fake", {}]])
  assert bootid == open("/proc/sys/kernel/random/boot_id").read().strip()
  assert storage[0]["type"] == "file" and storage[0]["name"] == "/srv/ganeti/file-storage"
  assert 0 <= storage[0]["storage_free"] <= storage[0]["storage_size"]
  assert storage[1] == {"type": "lvm-vg", "name": "no-such-vg", "storage_free": None,
                        "storage_size": None}
  (fake,) = hvs
  assert fake["cpu_total"] == os.cpu_count()
  assert 0 < fake["memory_free"] <= fake["memory_total"]
  assert fake["memory_dom0"] == fake["memory_total"] - fake["memory_free"]
  for key in ("cpu_nodes", "cpu_sockets", "cpu_dom0"):
    assert fake[key] >= 1
  success, message = node.call("node_info", [], [["xen-pvm", {}]])
  assert success is False and "xen-pvm" in message
  success, message = node.call("node_info", [["diskless", None, []]], [])
  assert success is False


def test_no_instances_without_hypervisors(node):
  results = node.calls(("instance_list", ["fake"], {"fake": {}}),
                       ("all_instances_info", ["fake"], {"fake": {}}))
  assert results == [[True, []], [True, {}]]


def test_hypervisor_params(node):
  results = node.calls(("hypervisor_validate_params", "fake", {"migration_mode": "live"}),
                       ("hypervisor_validate_params", "fake", {"bogus": 1}),
                       ("hypervisor_validate_params", "nohv", {}))
  assert results[0] == [True, None]
  assert results[1][0] is False and "bogus" in results[1][1]
  assert results[2][0] is False


def test_powercycle_refused_in_virtual_cluster(node):
  success, message = node.call("node_powercycle", "fake", {})
  assert success is False and "virtual cluster" in message


def test_etc_hosts_modify(node):
  hosts = node.path("/etc/hosts")
  before = open(hosts).read()
  results = node.calls(("etc_hosts_modify", "add", "node9.example.com", "127.0.2.99"),
                       ("etc_hosts_modify", "add", "node9.example.com", "127.0.2.98"))
  assert results == [[True, None], [True, None]]
  lines = open(hosts).read().splitlines()
  assert [line.split() for line in lines if "node9" in line] == \
    [["127.0.2.98", "node9.example.com", "node9"]]
  assert node.call("etc_hosts_modify", "remove", "node9.example.com", None) == [True, None]
  assert open(hosts).read() == before
  for args in (("add", "x", None), ("frobnicate", "x", "1.2.3.4"), ("add", "a b", "1.2.3.4")):
    assert node.call("etc_hosts_modify", *args)[0] is False, args


def test_node_has_ip_address(node):
  own = node.cluster.prefix + ".11"
  other = node.cluster.prefix + ".12"
  results = node.calls(("node_has_ip_address", own), ("node_has_ip_address", other),
                       ("node_has_ip_address", "not-an-ip"))
  assert results[:2] == [[True, True], [True, False]]
  assert results[2][0] is False
  # a secondary address known from ssconf belongs to the node too
  node.ok("write_ssconf_files", {"node_secondary_ips": "node1 10.9.9.1\nnode2 10.9.9.2"})
  assert node.calls(("node_has_ip_address", "10.9.9.1"),
                    ("node_has_ip_address", "10.9.9.2")) == [[True, True], [True, False]]


def test_watcher_pause(node):
  until = int(time.time()) + 3600
  results = node.calls(("get_watcher_pause",), ("set_watcher_pause", until),
                       ("get_watcher_pause",))
  assert results == [[True, None], [True, None], [True, until]]
  assert open(node.path("/var/lib/ganeti/watcher.pause")).read() == "%d\n" % until
  results = node.calls(("set_watcher_pause", 1000), ("get_watcher_pause",),
                       ("set_watcher_pause", None), ("get_watcher_pause",),
                       ("set_watcher_pause", "soon"))
  assert results[:4] == [[True, None], [True, None], [True, None], [True, None]]
  assert results[4][0] is False
  assert not os.path.exists(node.path("/var/lib/ganeti/watcher.pause"))


def test_export_list(node):
  os.makedirs(node.path("/srv/ganeti/export/inst2.example.com"))
  os.makedirs(node.path("/srv/ganeti/export/inst1.example.com"))
  os.makedirs(node.path("/srv/ganeti/export/.hidden"))
  assert node.ok("export_list") == ["inst1.example.com", "inst2.example.com"]


def test_restricted_commands(node):
  directory = node.path("/etc/ganeti/restricted-commands")
  os.makedirs(directory, mode=0o755)
  _Write(os.path.join(directory, "hello"), "#!/bin/sh\necho hello world\n", 0o755)
  _Write(os.path.join(directory, "failing"), "#!/bin/sh\necho secret; exit 1\n", 0o755)
  _Write(os.path.join(directory, "writable"), "#!/bin/sh\necho hi\n", 0o757)
  results = node.calls(("restricted_command", "hello"),
                       ("restricted_command", "failing"),
                       ("restricted_command", "writable"),
                       ("restricted_command", "../../../bin/true"),
                       ("restricted_command", "absent"), prelude=NO_FAIL_DELAY)
  assert results[0] == [True, "hello world\n"]
  for (success, message), cmd in zip(results[1:], ("failing", "writable",
                                                   "../../../bin/true", "absent")):
    # no details for the caller
    assert success is False and message == "Executing command '%s' failed" % cmd


def test_run_oob(node):
  program = node.path("/oob")
  _Write(program, "#!/bin/sh\n[ \"$1\" = power-status ] || { echo bad >&2; exit 2; }\n"
         "echo '{\"powered\": true}'\n", 0o755)
  results = node.calls(("run_oob", program, "power-status", "node2", 10),
                       ("run_oob", program, "power-on", "node2", 10))
  assert results[0] == [True, "{\"powered\": true}\n"]
  assert results[1][0] is False and "bad" in results[1][1]


def test_demote_and_leave(node):
  config = node.path("/var/lib/ganeti/config.data")
  _Write(config, "{}")
  node.ok("write_ssconf_files", {"master_node": "node1"})
  success, message = node.call("node_demote_from_mc")
  assert success is False and "master" in message
  assert os.path.exists(config)
  node.ok("write_ssconf_files", {"master_node": "node2"})
  assert node.call("node_demote_from_mc") == [True, None]
  assert not os.path.exists(config)
  assert any(name.startswith("config.data.backup-")
             for name in os.listdir(node.path("/var/lib/ganeti")))
  _Write(node.path("/var/lib/ganeti/server.pem"), "cert")
  _Write(node.path("/var/lib/ganeti/queue/job-3"), "{}")
  own_key, other_key = "ssh-rsa AAAAB3Nzaown node1", "ssh-rsa AAAAB3Nzaother node2"
  _Write(node.path("/root/.ssh/id_rsa"), "private", 0o600)
  _Write(node.path("/root/.ssh/id_rsa.pub"), own_key + "\n")
  _Write(node.path("/root/.ssh/authorized_keys"), own_key + "\n" + other_key + "\n", 0o600)
  assert node.call("node_leave_cluster", True) == ["quit", [True, "Shutdown scheduled"]]
  assert open(node.path("/root/.ssh/authorized_keys")).read() == other_key + "\n"
  assert not os.path.exists(node.path("/root/.ssh/id_rsa"))
  assert not os.path.exists(node.path("/root/.ssh/id_rsa.pub"))
  assert [name for name in os.listdir(node.path("/var/lib/ganeti"))
          if os.path.isfile(node.path("/var/lib/ganeti/" + name))] == []
  assert not os.path.exists(node.path("/var/lib/ganeti/queue/job-3"))


def test_crypto_tokens(node):
  from ganeti.utils import x509
  server = node.path("/var/lib/ganeti/server.pem")
  client = node.path("/var/lib/ganeti/client.pem")
  _Write(server, x509.GenerateSelfSignedPem("cluster"), 0o600)
  _Write(client, x509.GenerateSignedPem(open(server).read(), "node1"), 0o600)
  old = x509.GetCertificateDigest(client)
  assert node.ok("node_crypto_tokens", [["ssl", "get", None]]) == [["ssl", old]]
  ((kind, new),) = node.ok("node_crypto_tokens", [["ssl", "create", {"serial_no": 5}]])
  assert kind == "ssl" and new != old and new == x509.GetCertificateDigest(client)
  for request in ([["ssh", "get", None]], [["ssl", "delete", None]],
                  [["ssl", "get", {"cert_file": V + "/etc/passwd"}]]):
    assert node.call("node_crypto_tokens", request)[0] is False, request


def test_x509_certificates(node):
  name, cert = node.ok("x509_cert_create", 3600)
  assert cert.startswith("-----BEGIN CERTIFICATE-----") and "PRIVATE" not in cert
  directory = node.path("/var/run/ganeti/crypto/" + name)
  assert sorted(os.listdir(directory)) == ["cert", "key"]
  assert node.call("x509_cert_remove", name) == [True, None]
  assert not os.path.exists(directory)
  assert node.call("x509_cert_remove", "../../lib")[0] is False


def test_bridges_and_daemons(node):
  results = node.calls(("bridges_exist", []), ("bridges_exist", ["no-such-br0"]),
                       ("node_ensure_daemon", "ganeti-noded", False))
  assert results[0] == [True, None]
  assert results[1][0] is False and "no-such-br0" in results[1][1]
  assert results[2][0] is False and "cannot be ensured" in results[2][1]


def test_hooks_runner(node):
  hooks = node.path("/etc/ganeti/hooks/cluster-verify-post.d")
  _Write(os.path.join(hooks, "10-ok"), "#!/bin/sh\necho \"ok $GANETI_FOO\"\n", 0o755)
  _Write(os.path.join(hooks, "20-fail"), "#!/bin/sh\necho no; exit 1\n", 0o755)
  _Write(os.path.join(hooks, "30-notexec"), "#!/bin/sh\n", 0o644)
  result = node.ok("hooks_runner", "cluster-verify", "post", {"GANETI_FOO": "bar"})
  assert result == [["cluster-verify-post.d/10-ok", constants.HKR_SUCCESS, "ok bar\n"],
                    ["cluster-verify-post.d/20-fail", constants.HKR_FAIL, "no\n"],
                    ["cluster-verify-post.d/30-notexec", constants.HKR_SKIP, ""]]
  assert node.ok("hooks_runner", "node-add", "pre", {}) == []
  assert node.call("hooks_runner", "../x", "pre", {})[0] is False
  assert node.call("hooks_runner", "node-add", "middle", {})[0] is False
