"""Tests for the cluster-wide logical units and the cluster file distribution."""

import os
import shutil
import types

import pytest

from ganeti import config
from ganeti import constants
from ganeti import errors
from ganeti import netutils
from ganeti import opcodes
from ganeti import pathutils
from ganeti.utils import process
from ganeti.cmdlib import cluster_ops
from ganeti.cmdlib import distribution

REAL_CONFIG = os.path.join(os.path.dirname(__file__), "..", "data", "ganeti-3.0", "config.data")
MASTER = "07c9feed-129f-454f-b4e8-91a9084aeed4"
NODE2 = "e003c93b-a99c-4938-8887-9371adf9ea5d"


class Result:
  def __init__(self, payload=None, fail_msg=None):
    self.payload, self.fail_msg, self.offline = payload, fail_msg, False

  def Raise(self, msg):
    if self.fail_msg:
      raise errors.OpExecError("%s: %s" % (msg, self.fail_msg))

  def Warn(self, msg, feedback_fn):
    if self.fail_msg:
      feedback_fn("%s: %s" % (msg, self.fail_msg))


class FakeRpc:
  """Records calls; fail names the calls (or (call, node)) that fail."""

  def __init__(self, fail=()):
    self.calls = []
    self.fail = set(fail)
    self.digests = {}

  def _Result(self, name, node, payload=True):
    failed = name in self.fail or (name, node) in self.fail
    return Result(fail_msg="boom") if failed else Result(payload)

  def call_upload_file(self, nodes, path):
    self.calls.append(("upload_file", list(nodes), path))
    return {node: self._Result("upload_file", node) for node in nodes}

  def call_write_ssconf_files(self, nodes, values):
    self.calls.append(("write_ssconf_files", list(nodes), dict(values)))
    return {node: self._Result("write_ssconf_files", node) for node in nodes}

  def call_node_activate_master_ip(self, node, params, ems):
    self.calls.append(("activate", node, dict(params), ems))
    return self._Result("activate", node)

  def call_node_deactivate_master_ip(self, node, params, ems):
    self.calls.append(("deactivate", node, dict(params), ems))
    return self._Result("deactivate", node)

  def call_node_crypto_tokens(self, node, request):
    self.calls.append(("crypto_tokens", node, request))
    (token_type, action, options), = request
    assert (token_type, action) == ("ssl", "create")
    digest = "NEW:%s:%d" % (node[:4], len(self.digests))
    self.digests[node] = digest
    if "cert_file" in options:
      # the master's node daemon writes the new certificate where asked
      with open(cluster_ops.NODED_CLIENT_CERT_FILE_TMP, "w") as handle:
        handle.write(digest)
    return self._Result("crypto_tokens", node, [["ssl", digest]])


class Processor:
  def __init__(self):
    self.warnings = []
    self.LogInfo = self.LogStep = lambda *args: None

  def LogWarning(self, message, *args, **_):
    self.warnings.append(message % args if args else message)


@pytest.fixture(name="cfg")
def fixture_cfg(tmp_path):
  if not os.path.exists(REAL_CONFIG):
    pytest.skip("facts not available")
  path = str(tmp_path / "config.data")
  shutil.copy(REAL_CONFIG, path)
  return config.ConfigWriter(path, offline=True)


def _Run(lu_class, op, cfg, rpc):
  op.Validate(True)  # as the job queue does: unset parameters get their defaults
  proc = Processor()
  context = types.SimpleNamespace(cfg=cfg, glm=None, rpc=rpc)
  lu = lu_class(proc, op, context)
  lu.ExpandNames()
  lu.CheckPrereq()
  feedback = []
  return lu.Exec(feedback.append), proc, feedback


# --- the file sets ---------------------------------------------------------------

def test_ancillary_files(cfg):
  files_all, files_opt, files_mc, files_vm = distribution.AncillaryFiles(cfg)
  assert {pathutils.NODED_CERT_FILE, pathutils.SSH_KNOWN_HOSTS_FILE, pathutils.CONFD_HMAC_KEY,
          pathutils.CLUSTER_DOMAIN_SECRET_FILE, pathutils.RAPI_CERT_FILE} <= files_all
  # each node has its own client certificate; config.data is for candidates
  assert pathutils.NODED_CLIENT_CERT_FILE not in files_all | files_mc | files_vm
  assert pathutils.CLUSTER_CONF_FILE in files_mc - files_all
  assert pathutils.ETC_HOSTS not in files_all  # the real cluster runs --no-etc-hosts
  assert files_vm == set()  # the fake hypervisor has no files
  assert files_opt <= files_all | files_mc | files_vm
  assert pathutils.RAPI_USERS_FILE in files_opt

  cluster = cfg.GetClusterInfo()
  cluster.modify_etc_hosts = True
  cluster.enabled_hypervisors = [constants.HT_KVM]
  cfg.Update(cluster)
  files_all, files_opt, _, files_vm = distribution.AncillaryFiles(cfg)
  assert pathutils.ETC_HOSTS in files_all
  assert files_vm == {pathutils.VNC_PASSWORD_FILE} and files_vm <= files_opt


def test_redistribution_skips_the_master_and_offline_nodes(cfg):
  rpc = FakeRpc(fail=[("upload_file", NODE2)])
  lu = types.SimpleNamespace(cfg=cfg, context=types.SimpleNamespace(rpc=rpc),
                             LogWarning=Processor().LogWarning)
  distribution.RedistributeAncillaryFiles(lu)
  targets = {path: nodes for _, nodes, path in rpc.calls}
  files_all, files_opt, _, _ = distribution.AncillaryFiles(cfg)
  for path in files_all - files_opt:
    assert targets[path] == [NODE2]
  assert targets[pathutils.CLUSTER_CONF_FILE] == [NODE2]
  for path in files_opt:
    assert (path in targets) == os.path.exists(path)

  # node2 offline: nobody left to send to; a new node gets everything
  node = cfg.GetNodeInfo(NODE2)
  node.offline = True
  node.master_candidate = False
  cfg.Update(node)
  rpc = FakeRpc()
  lu.context.rpc = rpc
  distribution.RedistributeAncillaryFiles(lu)
  assert rpc.calls == []
  distribution.RedistributeAncillaryFiles(lu, additional_nodes=["new-node-uuid"])
  assert {path for _, _, path in rpc.calls} >= files_all - files_opt
  assert pathutils.CLUSTER_CONF_FILE not in {path for _, _, path in rpc.calls}


# --- the logical units -------------------------------------------------------------

def test_redist_conf_pushes_config_ssconf_and_files(cfg):
  serial = cfg.GetConfigSerialNo()
  rpc = FakeRpc(fail=["write_ssconf_files"])
  _, proc, _ = _Run(cluster_ops.LUClusterRedistConf, opcodes.OpClusterRedistConf(), cfg, rpc)
  assert cfg.GetConfigSerialNo() == serial + 1
  ssconf_calls = [call for call in rpc.calls if call[0] == "write_ssconf_files"]
  assert len(ssconf_calls) == 1 and ssconf_calls[0][1] == [NODE2]
  assert ssconf_calls[0][2]["master_node"] == "node1.gnt.test"
  assert ("upload_file", [NODE2], pathutils.CLUSTER_CONF_FILE) in rpc.calls
  assert proc.warnings == ["Writing the ssconf files on node node2.gnt.test failed: boom"]


def test_master_ip_switches(cfg):
  params = {"uuid": MASTER, "ip": "198.51.100.100", "netmask": 24, "netdev": "gl1",
            "ip_family": 2}
  rpc = FakeRpc()
  _Run(cluster_ops.LUClusterActivateMasterIp, opcodes.OpClusterActivateMasterIp(), cfg, rpc)
  _Run(cluster_ops.LUClusterDeactivateMasterIp, opcodes.OpClusterDeactivateMasterIp(), cfg,
       rpc)
  assert rpc.calls == [("activate", MASTER, params, False),
                       ("deactivate", MASTER, params, False)]
  with pytest.raises(errors.OpExecError, match="^Could not deactivate the master IP: boom$"):
    _Run(cluster_ops.LUClusterDeactivateMasterIp, opcodes.OpClusterDeactivateMasterIp(),
         cfg, FakeRpc(fail=["deactivate"]))


def test_rename(cfg, tmp_path, monkeypatch):
  known_hosts = tmp_path / "known_hosts"
  known_hosts.write_text("cluster.gnt.test ssh-rsa AAAA\nother,cluster.gnt.test ssh-ed25519 BBBB\n")
  monkeypatch.setattr(pathutils, "SSH_KNOWN_HOSTS_FILE", str(known_hosts))
  addresses = {"cluster.gnt.test": "198.51.100.100", "new.gnt.test": "198.51.100.100",
               "moved.gnt.test": "198.51.100.200"}
  monkeypatch.setattr(netutils, "ResolveHostname", lambda name: (name, addresses[name]))
  monkeypatch.setattr(cluster_ops.masterfailover, "IpAnswers", lambda ip: False)

  with pytest.raises(errors.OpPrereqError) as err:
    _Run(cluster_ops.LUClusterRename, opcodes.OpClusterRename(name="cluster.gnt.test"), cfg,
         FakeRpc())
  assert err.value.args == ("Neither the name nor the IP address of the cluster has changed",
                            errors.ECODE_INVAL)

  rpc = FakeRpc()
  result, _, _ = _Run(cluster_ops.LUClusterRename, opcodes.OpClusterRename(name="new.gnt.test"),
                      cfg, rpc)
  assert result == "new.gnt.test" and cfg.GetClusterName() == "new.gnt.test"
  assert known_hosts.read_text() == ("new.gnt.test ssh-rsa AAAA\n"
                                     "other,new.gnt.test ssh-ed25519 BBBB\n")
  assert [call[0] for call in rpc.calls] == ["deactivate", "upload_file", "activate"]
  assert rpc.calls[1][1:] == ([NODE2], str(known_hosts))

  # a new address: the master IP goes down with the old and comes up with the new one
  rpc = FakeRpc(fail=["upload_file"])
  _, proc, _ = _Run(cluster_ops.LUClusterRename,
                    opcodes.OpClusterRename(name="moved.gnt.test"), cfg, rpc)
  assert cfg.GetMasterIP() == "198.51.100.200"
  assert rpc.calls[0][2]["ip"] == "198.51.100.100" and rpc.calls[-1][2]["ip"] == "198.51.100.200"
  assert len(proc.warnings) == 1 and "node2.gnt.test failed: boom" in proc.warnings[0]

  monkeypatch.setattr(cluster_ops.masterfailover, "IpAnswers", lambda ip: True)
  with pytest.raises(errors.OpPrereqError, match=r"\(198.51.100.100\) is reachable"):
    _Run(cluster_ops.LUClusterRename, opcodes.OpClusterRename(name="cluster.gnt.test"), cfg,
         FakeRpc())


def test_rename_brings_the_master_ip_back_after_a_failure(cfg, monkeypatch):
  monkeypatch.setattr(netutils, "ResolveHostname", lambda name: (name, "198.51.100.100"))
  rpc = FakeRpc(fail=["deactivate"])
  with pytest.raises(errors.OpExecError, match="Could not disable the master role"):
    _Run(cluster_ops.LUClusterRename, opcodes.OpClusterRename(name="x.gnt.test"), cfg, rpc)
  assert cfg.GetClusterName() == "cluster.gnt.test"


def test_renew_node_certificates(cfg, tmp_path, monkeypatch):
  client_pem = tmp_path / "client.pem"
  client_pem.write_text("old")
  monkeypatch.setattr(pathutils, "NODED_CLIENT_CERT_FILE", str(client_pem))
  monkeypatch.setattr(cluster_ops, "NODED_CLIENT_CERT_FILE_TMP", str(tmp_path / "client.tmp"))
  old_certs = cfg.GetCandidateCerts()
  rpc = FakeRpc()
  _Run(cluster_ops.LUClusterRenewCrypto, opcodes.OpClusterRenewCrypto(node_certificates=True),
       cfg, rpc)
  assert cfg.GetCandidateCerts() == rpc.digests and set(rpc.digests) == {MASTER, NODE2}
  assert client_pem.read_text() == rpc.digests[MASTER]
  # the master's new certificate went to a side file first
  master_request = [call for call in rpc.calls if call[0] == "crypto_tokens"][0]
  assert master_request[1] == MASTER and "cert_file" in master_request[2][0][2]
  # node2 trusted both master certificates while the master switched
  pushed = [call[2]["master_candidates_certs"] for call in rpc.calls
            if call[0] == "write_ssconf_files"]
  assert len(pushed) == 2
  assert "%s-OLDMASTER=%s" % (MASTER, old_certs[MASTER]) in pushed[0].splitlines()
  assert "%s=%s" % (MASTER, rpc.digests[MASTER]) in pushed[0].splitlines()
  assert "OLDMASTER" not in pushed[1]


def test_renew_ssh_keys_needs_a_managed_ssh_setup(cfg):
  cluster = cfg.GetClusterInfo()
  cluster.modify_ssh_setup = False
  cfg.Update(cluster)
  with pytest.raises(errors.OpPrereqError, match="does not manage the nodes' SSH setup"):
    _Run(cluster_ops.LUClusterRenewCrypto, opcodes.OpClusterRenewCrypto(renew_ssh_keys=True),
         cfg, FakeRpc())


# --- gnt-cluster command / copyfile (SSH replaced by a recorder) ----------------------

from ganeti import luxi  # noqa: E402
from ganeti import ssh  # noqa: E402
from ganeti.client import gnt_cluster  # noqa: E402

from cli_fakeluxi import RunCommand, fake_luxi  # noqa: E402,F401  (fixture)

_NODE_ROWS = {
  "node10": [False, "10.0.0.10", "default", "g1", {"ssh_port": 22}],
  "node2": [False, "10.0.0.2", "default", "g1", {"ssh_port": 2222}],
  "node1": [False, "10.0.0.1", "default", "g1", {"ssh_port": 22}],
  "node3": [True, "10.0.0.3", "default", "g1", {"ssh_port": 22}],
  "node4": [False, "10.0.0.4", "other", "g2", {"ssh_port": 22}],
}


class FakeSsh:
  runs = []

  def __init__(self, cluster_name):
    self.cluster_name = cluster_name

  def Run(self, hostname, port, command):
    FakeSsh.runs.append((self.cluster_name, hostname, port, command))
    code = 1 if hostname == "node10" else 0
    return process.CommandResult([command], code, "out of %s\nline 2\n" % hostname, "")

  def CopyFileToNode(self, hostname, port, path):
    FakeSsh.runs.append((self.cluster_name, hostname, port, path))
    return hostname != "10.0.0.4"


@pytest.fixture(name="cluster_luxi")
def fixture_cluster_luxi(fake_luxi, monkeypatch):
  FakeSsh.runs = []
  monkeypatch.setattr(ssh, "SshRunner", FakeSsh)
  fake_luxi.handlers[luxi.REQ_QUERY_CONFIG_VALUES] = lambda args: ["cl.example", "node2"]
  fake_luxi.handlers[luxi.REQ_QUERY_NODES] = lambda args: [
    [name] + values for name, values in _NODE_ROWS.items()
    if not args[0] or name in args[0]]
  return fake_luxi


def test_command_output_and_order(cluster_luxi, capsys):
  assert RunCommand(gnt_cluster.Main, "gnt-cluster", ["command", "-g", "default", "ls",
                                                      "-l"]) == 0
  # natural order, the master (node2) last, offline node3 skipped
  assert [run[1:] for run in FakeSsh.runs] == [
    ("node1", 22, "ls -l"), ("node10", 22, "ls -l"), ("node2", 2222, "ls -l")]
  out, err = capsys.readouterr()
  assert out.startswith("------------------------------------------------\nnode: node1\n"
                        "out of node1\nline 2\n\nreturn code = 0\n")
  assert "node: node10\nout of node10\nline 2\n\nreturn code = 1\n" in out
  assert err == "Note: skipping offline node(s): node3\n"

  FakeSsh.runs = []
  RunCommand(gnt_cluster.Main, "gnt-cluster", ["command", "-M", "--failure-only",
                                               "-n", "node10", "-n", "node1", "true"])
  out, _ = capsys.readouterr()
  assert out == ("------------------------------------------------\n"
                 "node10: out of node10\nnode10: line 2\nreturn code = 1\n")


def test_copyfile(cluster_luxi, tmp_path, capsys):
  source = tmp_path / "file"
  source.write_text("x")
  assert RunCommand(gnt_cluster.Main, "gnt-cluster",
                    ["copyfile", "--use-replication-network", str(source)]) == 0
  # every online node but the master, over the secondary addresses
  assert sorted(run[1] for run in FakeSsh.runs) == ["10.0.0.1", "10.0.0.10", "10.0.0.4"]
  assert capsys.readouterr().err.endswith(
    "Copy of file %s to node 10.0.0.4 failed\n" % source)
  assert RunCommand(gnt_cluster.Main, "gnt-cluster",
                    ["copyfile", str(tmp_path / "missing")]) == 1
  assert "No such filename '%s'" % (tmp_path / "missing") in capsys.readouterr().err
