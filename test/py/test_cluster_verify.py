"""Tests for cluster verification: the logical units (with canned node
answers) and the node-side checks."""

import json
import os
import re
import shutil
import socket
import time
import types

import pytest

from ganeti import config
from ganeti import constants
from ganeti.utils import x509
from ganeti import mcpu
from ganeti import objects
from ganeti import opcodes
from ganeti import vcluster
from ganeti.backend import HANDLERS
from ganeti.backend import verify as nv
from ganeti.cmdlib import cluster_verify as cv
from ganeti.cmdlib import cluster_verify_disks as cvd
from ganeti.rpc.client import RpcResult

REAL_CONFIG = os.path.join(os.path.dirname(__file__), "..", "data", "ganeti-3.0", "config.data")
MASTER = "07c9feed-129f-454f-b4e8-91a9084aeed4"
NODE2 = "e003c93b-a99c-4938-8887-9371adf9ea5d"
GROUP = "00623d44-88f2-4d1d-858e-dbf384963790"
CERTS = {MASTER: "B6:F9:5B:65:CF:49:0B:06:42:7C:B5:D3:36:98:0E:1F:B1:BA:93:59",
         NODE2: "59:D7:EA:20:22:6B:14:1E:B8:8F:7E:F8:E2:80:4B:2E:C0:7C:C6:76"}


# ---- fixtures and fakes ------------------------------------------------------

def _config(tmp_path, change=None) -> config.ConfigWriter:
  if not os.path.exists(REAL_CONFIG):
    pytest.skip("facts not available")
  path = str(tmp_path / "config.data")
  shutil.copy(REAL_CONFIG, path)
  if change is not None:
    with open(path, encoding="utf-8") as handle:
      data = json.load(handle)
    change(data)
    with open(path, "w", encoding="utf-8") as handle:
      json.dump(data, handle)
  return config.ConfigWriter(path, offline=True)


class FakeRpc:
  """call_node_verify answering from canned per-node results."""

  def __init__(self, answers: dict) -> None:
    self.answers = answers
    self.calls: list = []

  def call_node_verify(self, node_uuids, checkdict, cluster_name, hvparams):
    self.calls.append((list(node_uuids), checkdict, cluster_name))
    return {uuid: self.answers[uuid] for uuid in node_uuids}


class FakeProc:
  def __init__(self) -> None:
    self.LogInfo = self.LogWarning = self.LogStep = lambda *args, **kwargs: None


def _run(lu_class, op, cfg, rpc=None, submitted=None):
  """Runs a logical unit's steps as the processor does (submitting the jobs
  of a ResultWithJobs); returns (result, feedback lines, lu)."""
  lines: list[str] = []
  def submit(jobs):
    submitted.extend([opcodes.OpCode.LoadOpCode(op) for op in job] for job in jobs)
    return [[True, 100 + index] for index in range(len(jobs))]
  context = types.SimpleNamespace(cfg=cfg, glm=None, rpc=rpc, SubmitManyJobsFromLU=submit)
  op.Validate(True)
  lu = lu_class(FakeProc(), op, context)
  lu.ExpandNames()
  lu.CheckPrereq()
  processor = mcpu.Processor(context, None)
  return processor._submit_follow_up(lu.Exec(lines.append)), lines, lu


def _files(cfg):
  from ganeti.cmdlib import distribution
  files_all, _, files_mc, files_vm = distribution.AncillaryFiles(cfg)
  return files_all | files_mc | files_vm


def _healthy(cfg, uuid, **changes) -> dict:
  payload = {
    constants.NV_VERSION: [constants.PROTOCOL_VERSION, constants.RELEASE_VERSION],
    constants.NV_FILELIST: {path: "a" * 40 for path in _files(cfg)},
    constants.NV_HYPERVISOR: {"fake": None},
    constants.NV_HVPARAMS: [],
    constants.NV_NODESETUP: [],
    constants.NV_TIME: nv._check_time(None, None),
    constants.NV_NODELIST: {},
    constants.NV_NODENETTEST: {},
    constants.NV_MASTERIP: True,
    constants.NV_USERSCRIPTS: [],
    constants.NV_INSTANCELIST: [],
    constants.NV_HVINFO: {"memory_free": 4096, "memory_total": 8192},
    constants.NV_OSLIST: [["lab", "/srv/ganeti/os/lab", True, "", ["default"], [], [20], True]],
    constants.NV_BRIDGES: [],
    constants.NV_CLIENT_CERT: [None, CERTS[uuid]],
    constants.NV_SSH_SETUP: [],
  }
  if uuid == MASTER:
    payload[constants.NV_ACCEPTED_STORAGE_PATHS] = []
  payload.update(changes)
  return payload


def _answers(cfg, node2=None, master=None, node2_result=None):
  return {MASTER: RpcResult([True, _healthy(cfg, MASTER, **(master or {}))]),
          NODE2: node2_result or RpcResult([True, _healthy(cfg, NODE2, **(node2 or {}))])}


def _verify_group(cfg, answers, **params):
  op = opcodes.OpClusterVerifyGroup(group_name=GROUP, **params)
  rpc = FakeRpc(answers)
  result, lines, lu = _run(cv.LUClusterVerifyGroup, op, cfg, rpc)
  return result, lines, rpc, lu


def _problems(lines):
  return [line for line in lines if line.startswith("  - ")]


# ---- OpClusterVerify / OpClusterVerifyDisks ---------------------------------

def test_cluster_verify_submits_config_then_groups(tmp_path):
  cfg = _config(tmp_path)
  submitted: list = []
  op = opcodes.OpClusterVerify(verbose=True, error_codes=True, ignore_errors=["ENODESETUP"],
                               skip_checks=[constants.VERIFY_NPLUSONE_MEM])
  result, _, _ = _run(cv.LUClusterVerify, op, cfg, submitted=submitted)
  assert result == {"jobs": [[True, 100], [True, 101]]}
  (config_op,), (group_op,) = submitted
  assert config_op.OP_ID == "OP_CLUSTER_VERIFY_CONFIG"
  assert (config_op.verbose, config_op.error_codes, config_op.ignore_errors) == \
    (True, True, ["ENODESETUP"])
  assert group_op.OP_ID == "OP_CLUSTER_VERIFY_GROUP"
  assert group_op.group_name == GROUP
  assert group_op.depends == [[-1, []]]
  assert group_op.skip_checks == [constants.VERIFY_NPLUSONE_MEM]
  group_op.Validate(True)


def test_cluster_verify_one_group_only(tmp_path):
  cfg = _config(tmp_path)
  submitted: list = []
  _run(cv.LUClusterVerify, opcodes.OpClusterVerify(group_name="default"), cfg,
       submitted=submitted)
  assert [[op.OP_ID for op in job] for job in submitted] == [["OP_CLUSTER_VERIFY_GROUP"]]
  assert submitted[0][0].group_name == "default"
  assert submitted[0][0].depends is None


def test_cluster_verify_unknown_group(tmp_path):
  cfg = _config(tmp_path)
  with pytest.raises(Exception, match="not found"):
    _run(cv.LUClusterVerify, opcodes.OpClusterVerify(group_name="nosuch"), cfg, submitted=[])


def test_verify_disks_only_groups_with_instances(tmp_path):
  cfg = _config(tmp_path)
  submitted: list = []
  result, lines, _ = _run(cvd.LUClusterVerifyDisks, opcodes.OpClusterVerifyDisks(), cfg,
                          submitted=submitted)
  assert result == {"jobs": []} and submitted == [] and lines == []
  cfg.AddInstance(objects.Instance(name="inst1", primary_node=MASTER, os="lab+default",
                                   hypervisor="fake", nics=[], disks=[]))
  result, _, _ = _run(cvd.LUClusterVerifyDisks, opcodes.OpClusterVerifyDisks(), cfg,
                      submitted=submitted)
  assert result == {"jobs": [[True, 100]]}
  assert [(op.OP_ID, op.group_name) for job in submitted for op in job] == \
    [("OP_GROUP_VERIFY_DISKS", GROUP)]


# ---- OpClusterVerifyConfig ---------------------------------------------------

def test_verify_config_steps(tmp_path):
  result, lines, _ = _run(cv.LUClusterVerifyConfig, opcodes.OpClusterVerifyConfig(),
                          _config(tmp_path))
  steps = [line for line in lines if line.startswith("* ")]
  assert steps == ["* Verifying cluster config", "* Verifying cluster certificate files",
                   "* Verifying hypervisor parameters",
                   "* Verifying all nodes belong to an existing group"]
  # the server.pem of this machine is probably unreadable/absent: judge only the rest
  assert not [line for line in _problems(lines) if "server.pem" not in line]
  assert result == (not _problems(lines))


def test_verify_config_dangling_node(tmp_path):
  def orphan(data):
    data["nodes"][NODE2]["group"] = "no-such-group"
  cfg = _config(tmp_path, orphan)
  result, lines, _ = _run(cv.LUClusterVerifyConfig, opcodes.OpClusterVerifyConfig(), cfg)
  assert result is False
  assert ("  - ERROR: node : the following nodes (and their instances) belong to a non"
          " existing group: node2.gnt.test ()") in lines


# ---- OpClusterVerifyGroup ----------------------------------------------------

def test_verify_group_healthy(tmp_path):
  cfg = _config(tmp_path)
  result, lines, rpc, _ = _verify_group(cfg, _answers(cfg))
  assert _problems(lines) == []
  assert result is True
  assert lines[:3] == ["* Verifying group 'default'", "* Gathering data (2 nodes)",
                       "* Gathering information about nodes (2 nodes)"]
  assert lines[-2:] == ["* Verifying N+1 Memory redundancy", "* Other Notes"]
  (nodes, what, cluster_name), = rpc.calls
  assert sorted(nodes) == sorted([MASTER, NODE2])
  assert cluster_name == "cluster.gnt.test"
  assert what[constants.NV_MASTERIP] == ["node1.gnt.test", "198.51.100.100"]
  assert sorted(what[constants.NV_FILELIST]) == sorted(_files(cfg))
  assert what[constants.NV_FILE_STORAGE_PATH] == cfg.GetFileStorageDir()


def test_verify_group_rpc_failure(tmp_path):
  cfg = _config(tmp_path)
  failed = RpcResult(failed=True, error="Error 7: Couldn't connect to server")
  result, lines, _, _ = _verify_group(cfg, _answers(cfg, node2_result=failed))
  assert result is False
  assert _problems(lines) == [
    "  - ERROR: node node2.gnt.test: Could not verify the SSH setup of this node.",
    "  - ERROR: node node2.gnt.test: Node did not return file checksum data",
    "  - ERROR: node node2.gnt.test: while contacting node: Error 7: Couldn't connect"
    " to server"]


def test_verify_group_versions(tmp_path):
  cfg = _config(tmp_path)
  result, lines, _, _ = _verify_group(
    cfg, _answers(cfg, node2={constants.NV_VERSION: [constants.PROTOCOL_VERSION, "2.16.0"]}))
  assert result is True
  assert _problems(lines) == ["  - WARNING: node node2.gnt.test: software version mismatch:"
                              " master %s, node 2.16.0" % constants.RELEASE_VERSION]
  result, lines, _, _ = _verify_group(cfg, _answers(cfg, node2={constants.NV_VERSION: [1, "x"]}))
  assert result is False
  assert _problems(lines) == ["  - ERROR: node node2.gnt.test: incompatible protocol"
                              " versions: master %s, node 1" % constants.PROTOCOL_VERSION]


def test_verify_group_file_checksums(tmp_path):
  cfg = _config(tmp_path)
  files = {path: "a" * 40 for path in _files(cfg)}
  changed = dict(files)
  changed["/var/lib/ganeti/known_hosts"] = "b" * 40
  del changed["/var/lib/ganeti/hmac.key"]
  answers = _answers(cfg, node2={constants.NV_FILELIST: changed})
  result, lines, _, _ = _verify_group(cfg, answers)
  assert result is False
  assert _problems(lines) == [
    "  - ERROR: cluster : File /var/lib/ganeti/hmac.key is missing from node(s)"
    " node2.gnt.test",
    "  - ERROR: cluster : File /var/lib/ganeti/known_hosts found with 2 different checksums"
    " (variant 1 on node1.gnt.test; variant 2 on node2.gnt.test)"]
  _, lines, _, _ = _verify_group(cfg, answers, error_codes=True)
  assert "  - ERROR:ECLUSTERFILECHECK:cluster:None:File /var/lib/ganeti/hmac.key is missing" \
         " from node(s) node2.gnt.test" in lines


def test_verify_group_optional_file_all_or_nothing(tmp_path):
  cfg = _config(tmp_path)
  files = {path: "a" * 40 for path in _files(cfg)}
  del files["/var/lib/ganeti/rapi/users"]
  _, lines, _, _ = _verify_group(cfg, _answers(cfg, node2={constants.NV_FILELIST: files}))
  assert _problems(lines) == [
    "  - ERROR: cluster : File /var/lib/ganeti/rapi/users is optional, but it must exist on"
    " all or no nodes (not found on node2.gnt.test)"]
  result, lines, _, _ = _verify_group(cfg, _answers(cfg, node2={constants.NV_FILELIST: files},
                                                    master={constants.NV_FILELIST: files}))
  assert result is True and _problems(lines) == []


def test_verify_group_time_skew_and_setup(tmp_path):
  cfg = _config(tmp_path)
  skewed = [int(time.time()) - 1000, 0]
  problem = "The procfs filesystem doesn't seem to be mounted"
  result, lines, _, _ = _verify_group(cfg, _answers(cfg, node2={constants.NV_TIME: skewed,
                                                                constants.NV_NODESETUP: [problem]}))
  assert result is False
  problems = _problems(lines)
  assert problems[0] == "  - ERROR: node node2.gnt.test: node setup error: " + problem
  assert re.fullmatch(r"  - ERROR: node node2\.gnt\.test: Node time diverges by at least"
                      r" 100\d\.\ds from master node time", problems[1])
  assert len(problems) == 2


def test_verify_group_ignore_errors_and_error_codes(tmp_path):
  cfg = _config(tmp_path)
  answers = _answers(cfg, node2={constants.NV_NODESETUP: ["broken"]})
  result, lines, _, _ = _verify_group(cfg, answers, ignore_errors=["ENODESETUP"],
                                      error_codes=True)
  assert result is True
  assert _problems(lines) == ["  - WARNING:ENODESETUP:node:node2.gnt.test:node setup error:"
                              " broken"]


def test_verify_group_network_and_scripts(tmp_path):
  cfg = _config(tmp_path)
  answers = _answers(cfg, master={constants.NV_MASTERIP: False, constants.NV_ACCEPTED_STORAGE_PATHS: ["/"]},
                     node2={constants.NV_NODELIST: {"node1.gnt.test": "refused"},
                            constants.NV_NODENETTEST: {"node1.gnt.test": "failure using the primary"
                                                " interface(s)"},
                            constants.NV_USERSCRIPTS: ["/x"],
                            constants.NV_FILE_STORAGE_PATH: "not writable"})
  _, lines, _, _ = _verify_group(cfg, answers)
  assert _problems(lines) == [
    "  - ERROR: node node1.gnt.test: the master node cannot reach the master IP"
    " (not configured?)",
    "  - ERROR: node node1.gnt.test: Found forbidden file storage paths: /",
    "  - ERROR: node node2.gnt.test: ssh communication with node 'node1.gnt.test': refused",
    "  - ERROR: node node2.gnt.test: tcp communication with node 'node1.gnt.test': failure"
    " using the primary interface(s)",
    "  - ERROR: node node2.gnt.test: user scripts not present or not executable: /x",
    "  - ERROR: node node2.gnt.test: The configured file storage path is unusable:"
    " not writable"]


def test_verify_group_os_differences(tmp_path):
  cfg = _config(tmp_path)
  other = [["lab", "/srv/ganeti/os/lab", True, "", ["alt", "default"], [], [20], True],
           ["extra", "/srv/ganeti/os/extra", False, "bad", [], [], [20], True]]
  _, lines, _, _ = _verify_group(cfg, _answers(cfg, node2={constants.NV_OSLIST: other}))
  assert _problems(lines) == [
    "  - ERROR: node node2.gnt.test: Invalid OS extra (located at /srv/ganeti/os/extra): bad",
    "  - ERROR: node node2.gnt.test: OS variants list for lab differs from reference node"
    " node1.gnt.test: [alt, default] vs. [default]"]


def test_verify_group_client_certificates(tmp_path):
  cfg = _config(tmp_path)
  answers = _answers(cfg, node2={constants.NV_CLIENT_CERT: [None, "AA:BB"]})
  _, lines, _, _ = _verify_group(cfg, answers)
  assert _problems(lines) == [
    "  - ERROR: cluster : Client certificate digest of master candidate '%s' does not match"
    " its entry in the cluster's map of master candidate certificates. Expected: AA:BB"
    " Got: %s" % (NODE2, CERTS[NODE2]),
    "  - ERROR: cluster : To rebuild node certificates, please run 'gnt-cluster renew-crypto"
    " --new-node-certificates'."]


def test_verify_group_verbose_and_simulate(tmp_path):
  cfg = _config(tmp_path)
  result, lines, _, _ = _verify_group(cfg, _answers(cfg), verbose=True)
  assert "* Verifying node node1.gnt.test (master)" in lines
  assert "* Verifying node node2.gnt.test (master candidate)" in lines
  result, lines, _, _ = _verify_group(cfg, _answers(cfg), debug_simulate_errors=True)
  assert result is False
  assert "  - ERROR: node node2.gnt.test: while contacting node: None" in lines
  assert "  - WARNING: node node2.gnt.test: software version mismatch: master %s, node %s" % (
    constants.RELEASE_VERSION, constants.RELEASE_VERSION) in lines


def test_verify_group_skip_nplusone_and_notes(tmp_path):
  cfg = _config(tmp_path)
  cfg.AddInstance(objects.Instance(name="inst1", primary_node=MASTER, os="lab+default",
                                   hypervisor="fake", nics=[], disks=[]))
  _, lines, _, _ = _verify_group(cfg, _answers(cfg), skip_checks=[constants.VERIFY_NPLUSONE_MEM])
  assert "* Verifying N+1 Memory redundancy" not in lines
  assert lines[-1] == "  - NOTICE: 1 non-redundant instance(s) found."


def test_nplusone_memory(tmp_path):
  cfg = _config(tmp_path)
  cfg.AddInstance(objects.Instance(name="inst1", primary_node=MASTER, os="lab+default",
                                   hypervisor="fake", nics=[], disks=[],
                                   beparams={"minmem": 2048, "maxmem": 2048}))
  _, _, _, lu = _verify_group(cfg, _answers(cfg))
  lines: list[str] = []
  lu._feedback_fn = lines.append
  image = cv._NodeImage(cfg.GetNodeInfo(NODE2))
  image.mfree = 1024
  image.sbp = {MASTER: [cfg.GetInstanceList()[0]]}
  lu._VerifyNPlusOneMemory({NODE2: image})
  assert lines == ["  - ERROR: node node2.gnt.test: not enough memory to accomodate instance"
                   " failovers should node node1.gnt.test fail (2048MiB needed, 1024MiB"
                   " available)"]


def test_hooks_callback(tmp_path):
  cfg = _config(tmp_path)
  _, _, _, lu = _verify_group(cfg, _answers(cfg))
  lines: list[str] = []
  result = lu.HooksCallBack(constants.HOOKS_PHASE_POST,
                            {"node1.gnt.test": [("x/10-ok", constants.HKR_SUCCESS, ""),
                                                ("x/20-bad", constants.HKR_FAIL, "a\nb")],
                             "node2.gnt.test": "unreachable"}, lines.append, True)
  assert result is False
  assert lines == ["* Hooks Results",
                   "  - ERROR: node node1.gnt.test: Script x/20-bad failed, output:",
                   "      a\n      b",
                   "  - ERROR: node node2.gnt.test: Communication failure in hooks execution:"
                   " unreachable"]


# ---- node side ---------------------------------------------------------------

def test_handlers_registered():
  assert HANDLERS["node_verify"].__wrapped__ is nv.NodeVerify
  assert HANDLERS["node_verify_light"].__wrapped__ is nv.NodeVerifyLight


def test_node_verify_basic_answers():
  before = time.time()
  result = nv.NodeVerify({constants.NV_VERSION: None, constants.NV_TIME: None,
                          constants.NV_HYPERVISOR: ["fake", "xen-pvm"], "no-such-check": None},
                         "cluster", {})
  assert result[constants.NV_VERSION] == [constants.PROTOCOL_VERSION, constants.RELEASE_VERSION]
  seconds, micros = result[constants.NV_TIME]
  assert before - 1 <= seconds + micros / 1e6 <= time.time() + 1
  assert result[constants.NV_HYPERVISOR]["fake"] is None
  assert "xen-pvm" in result[constants.NV_HYPERVISOR]["xen-pvm"]
  assert "no-such-check" not in result


def test_node_verify_light_is_a_subset():
  result = nv.NodeVerifyLight({constants.NV_VERSION: None, constants.NV_LVLIST: "xenvg",
                               constants.NV_INSTANCELIST: ["fake"]}, "cluster", {})
  assert list(result) == [constants.NV_VERSION]


def test_filelist_with_virtual_paths(tmp_path, monkeypatch):
  monkeypatch.setattr(vcluster, "ROOTDIR", str(tmp_path))
  local = tmp_path / "var" / "lib" / "ganeti" / "known_hosts"
  local.parent.mkdir(parents=True)
  local.write_text("hello\n")
  virtual = vcluster.MakeVirtualPath(str(local))
  missing = vcluster.MakeVirtualPath(str(tmp_path / "var" / "lib" / "ganeti" / "nothing"))
  assert virtual.startswith(vcluster.VIRTUAL_PATH_PREFIX)
  result = nv.NodeVerify({constants.NV_FILELIST: [virtual, missing]}, "cluster", {})
  assert result[constants.NV_FILELIST] == {virtual: "f572d396fae9206628714fb2ce00f72e94f2258f"}


def test_user_scripts_and_oob_paths(tmp_path):
  script = tmp_path / "script"
  script.write_text("#!/bin/sh\n")
  plain = tmp_path / "plain"
  plain.write_text("")
  script.chmod(0o755)
  plain.chmod(0o644)
  result = nv.NodeVerify({constants.NV_USERSCRIPTS: [str(script), str(plain)],
                          constants.NV_OOB_PATHS: [str(script), str(plain), str(tmp_path)]},
                         "cluster", {})
  assert result[constants.NV_USERSCRIPTS] == [str(plain)]
  assert result[constants.NV_OOB_PATHS] == [
    None, "out of band helper %s is not executable" % plain,
    "out of band helper %s is not a file" % tmp_path]


def test_tcp_probes(monkeypatch):
  server = socket.socket()
  server.bind(("127.0.0.1", 0))
  server.listen(5)
  port = server.getsockname()[1]
  try:
    assert nv.TcpPing("127.0.0.1", port, live_port_needed=True)
    monkeypatch.setattr(nv, "_NodedPort", lambda: port)
    monkeypatch.setattr(nv.netutils, "ResolveHostname", lambda name: (name, "127.0.0.1"))
    assert nv.NodeVerify({constants.NV_NODELIST: [["peer"], {}]}, "c", {})[constants.NV_NODELIST] == {}
    result = nv.NodeVerify({constants.NV_NODENETTEST: [["elsewhere", "127.0.0.1", "127.0.0.1"]],
                            constants.NV_MASTERIP: ["master", "127.0.0.1"]}, "c", {})
    me = nv.netutils.GetHostname()
    assert result[constants.NV_NODENETTEST] == {
      me: "Can't find my own primary/secondary IP in the node list"}
    assert result[constants.NV_MASTERIP] is True
    result = nv.NodeVerify({constants.NV_NODENETTEST: [[me, "127.0.0.1", "127.0.0.1"],
                                                ["other", "127.0.0.2", "127.0.0.2"]]}, "c", {})
    assert result[constants.NV_NODENETTEST] == {}
  finally:
    server.close()
  # a closed port: the host answers (refused) but the daemon is not there
  assert nv.TcpPing("127.0.0.1", port)
  assert not nv.TcpPing("127.0.0.1", port, live_port_needed=True)
  failures = nv.NodeVerify({constants.NV_NODELIST: [["peer"], {}]}, "c", {})[constants.NV_NODELIST]
  assert failures == {"peer": "Cannot connect to 127.0.0.1:%d (node daemon not reachable)" % port}


def test_client_certificate(tmp_path):
  from ganeti.utils import x509
  path = str(tmp_path / "client.pem")
  errcode, message = nv.VerifyClientCertificate(path)
  assert errcode == "ERROR" and message.startswith("The client certificate does not exist.")
  x509.WriteSelfSignedPem(path, "node1")
  assert nv.VerifyClientCertificate(path) == (None, x509.GetCertificateDigest(path))


def test_certificate_validity_rules():
  day = 24 * 3600.0
  now = 1000 * day
  assert x509._CertificateValidity(now - day, now + 100 * day, now, 30, 7) == (None, None)
  assert x509._CertificateValidity(now - day, now + 20 * day, now, 30, 7) == (
    "WARNING", "Certificate expires in about 20 days")
  assert x509._CertificateValidity(now - day, now + 3 * day, now, 30, 7)[0] == "ERROR"
  errcode, message = x509._CertificateValidity(now - 2 * day, now - day, now, 30, 7)
  assert errcode == "ERROR" and message.startswith("Certificate is expired (valid from ")


def test_certificate_bounds_with_and_without_cryptography_42_attributes():
  import datetime
  naive = datetime.datetime(2026, 1, 2, 3, 4, 5)
  aware = naive.replace(tzinfo=datetime.timezone.utc)
  old_api = types.SimpleNamespace(not_valid_before=naive)  # cryptography 38 (Debian 12)
  new_api = types.SimpleNamespace(not_valid_before=naive, not_valid_before_utc=aware)
  assert x509._ValidityBound(old_api, "not_valid_before") == aware.timestamp()
  assert x509._ValidityBound(new_api, "not_valid_before") == aware.timestamp()


def test_storage_paths(tmp_path, monkeypatch):
  allowed = tmp_path / "storage"
  allowed.mkdir()
  paths_file = tmp_path / "file-storage-paths"
  paths_file.write_text("%s\n/etc\n/usr/local\n/usr/local/bin\n" % allowed)
  monkeypatch.setattr(nv.pathutils, "FILE_STORAGE_PATHS_FILE", str(paths_file))
  result = nv.NodeVerify({constants.NV_FILE_STORAGE_PATH: str(allowed),
                          constants.NV_SHARED_FILE_STORAGE_PATH: str(tmp_path / "other"),
                          constants.NV_ACCEPTED_STORAGE_PATHS: nv.netutils.GetHostname()},
                         "cluster", {})
  assert constants.NV_FILE_STORAGE_PATH not in result
  assert "is not acceptable for file storage" in result[constants.NV_SHARED_FILE_STORAGE_PATH]
  assert result[constants.NV_ACCEPTED_STORAGE_PATHS] == ["/etc", "/usr/local/bin"]
  other = nv.NodeVerify({constants.NV_ACCEPTED_STORAGE_PATHS: "some-other-node"}, "cluster", {})
  assert other == {}
  assert nv.CheckFileStoragePath(str(allowed / "nothing")) == \
    "Path '%s' is not existing or not a directory." % (allowed / "nothing")


def test_storage_paths_in_virtual_cluster(tmp_path, monkeypatch):
  root = tmp_path / "node1"
  storage = root / "srv" / "ganeti" / "file-storage"
  storage.mkdir(parents=True)
  paths_file = tmp_path / "file-storage-paths"
  paths_file.write_text("/srv/ganeti/file-storage\n")
  monkeypatch.setattr(nv.pathutils, "FILE_STORAGE_PATHS_FILE", str(paths_file))
  monkeypatch.setattr(vcluster, "ROOTDIR", str(root))
  assert nv.CheckFileStoragePath(vcluster.MakeVirtualPath(str(storage))) is None
  assert nv.CheckFileStoragePath(str(tmp_path)) == \
    "Path '%s' is not acceptable for file storage" % tmp_path


def test_oslist(tmp_path, monkeypatch):
  good = tmp_path / "good"
  good.mkdir()
  (good / "ganeti_api_version").write_text("20\n")
  (good / "variants.list").write_text("default\nalt\n")
  (good / "parameters.list").write_text("greeting An example\n")
  for script in ("create", "export", "import", "rename"):
    (good / script).write_text("#!/bin/sh\n")
    (good / script).chmod(0o755)
  (tmp_path / "bad").mkdir()
  monkeypatch.setattr(nv.pathutils, "OS_SEARCH_PATH", [str(tmp_path)])
  result = nv.NodeVerify({constants.NV_OSLIST: None}, "c", {})[constants.NV_OSLIST]
  assert result == [
    ["bad", str(tmp_path / "bad"), False, "API version file not found", [], [], [], True],
    ["good", str(good), True, "", ["default", "alt"], [["greeting", "An example"]], [20], True]]


def test_missing_client_certificate_end_to_end(tmp_path):
  """The node's answer for a missing client.pem, as the master reports it
  (Ganeti 3.0's lines for a node without client.pem)."""
  cfg = _config(tmp_path)
  answer = list(nv.VerifyClientCertificate(str(tmp_path / "client.pem")))
  _, lines, _, _ = _verify_group(cfg, _answers(cfg, node2={constants.NV_CLIENT_CERT: answer}))
  assert _problems(lines) == [
    "  - ERROR: cluster : Client certificate of node '%s' failed validation: The client"
    " certificate does not exist. Run 'gnt-cluster renew-crypto --new-node-certificates' to"
    " create client certificates for all nodes. (code 'ERROR')" % NODE2,
    "  - ERROR: cluster : To rebuild node certificates, please run 'gnt-cluster renew-crypto"
    " --new-node-certificates'."]


def test_group_verify_disks_of_diskless_groups(tmp_path):
  cfg = _config(tmp_path)
  group = cfg.GetNodeGroupList()[0]
  op = opcodes.OpGroupVerifyDisks(group_name=cfg.GetNodeGroup(group).name)
  result, _, _ = _run(cvd.LUGroupVerifyDisks, op, cfg)
  assert tuple(result) == ({}, [], {})


# ---- DRBD minors -------------------------------------------------------------

def _drbd_instance(cfg, disks_active):
  """An instance with one DRBD disk on minor 0 of both nodes."""
  def plain(name):
    return objects.Disk(dev_type="plain", size=128, logical_id=["xenvg", name],
                        nodes=[MASTER, NODE2], params={})
  disk = objects.Disk(uuid="d1sk-0000", dev_type="drbd", size=128, mode="rw",
                      iv_name="disk/0", logical_id=[MASTER, NODE2, 11000, 0, 0, "ab" * 20],
                      children=[plain("x.disk0_data"), plain("x.disk0_meta")],
                      nodes=[MASTER, NODE2], params={})
  cfg.AddInstance(objects.Instance(name="inst1", primary_node=MASTER, os="lab+default",
                                   hypervisor="fake", nics=[], disks=[disk],
                                   disks_active=disks_active))


def _enable_drbd(data):
  data["cluster"]["enabled_disk_templates"].append("drbd")


def test_verify_group_drbd_minors(tmp_path):
  cfg = _config(tmp_path, _enable_drbd)
  _drbd_instance(cfg, disks_active=True)
  # the master lost its minor, node2 has one that nobody owns
  _, lines, rpc, _ = _verify_group(cfg, _answers(cfg, master={constants.NV_DRBDLIST: []},
                                                 node2={constants.NV_DRBDLIST: [0, 5]}))
  (_, what, _), = rpc.calls
  assert constants.NV_DRBDLIST in what
  assert [line for line in _problems(lines) if "drbd" in line] == [
    "  - ERROR: node node1.gnt.test: drbd minor 0 of disk d1sk-0000 (attached in instance"
    " 'inst1') is not active",
    "  - ERROR: node node2.gnt.test: unallocated drbd minor 5 is in use"]
  _, lines, _, _ = _verify_group(cfg, _answers(
    cfg, master={constants.NV_DRBDLIST: [0]},
    node2={constants.NV_DRBDLIST: "Can't read /proc/drbd (is the drbd module loaded?)"}))
  assert [line for line in _problems(lines) if "drbd" in line] == [
    "  - ERROR: node node2.gnt.test: cannot parse drbd status file: Can't read /proc/drbd"
    " (is the drbd module loaded?)"]


def test_verify_group_inactive_drbd_disks_need_no_minor(tmp_path):
  cfg = _config(tmp_path, _enable_drbd)
  _drbd_instance(cfg, disks_active=False)
  _, lines, _, _ = _verify_group(cfg, _answers(cfg, master={constants.NV_DRBDLIST: []},
                                               node2={constants.NV_DRBDLIST: []}))
  assert [line for line in _problems(lines) if "drbd" in line] == []


def test_verify_group_orphan_volumes_per_node(tmp_path):
  # a DRBD disk's LVs belong on both of its nodes; a copy elsewhere (say on a
  # node that was its secondary before it crashed) is unknown there
  def three_nodes(data):
    _enable_drbd(data)
    data["cluster"]["volume_group_name"] = "xenvg"
    third = dict(data["nodes"][NODE2], name="node3.gnt.test", uuid="n0de-3", primary_ip=
                 "198.51.100.3", secondary_ip="198.51.100.3")
    data["nodes"]["n0de-3"] = third
  cfg = _config(tmp_path, three_nodes)
  _drbd_instance(cfg, disks_active=False)
  lvs = {"xenvg/x.disk0_data": [128, False, True], "xenvg/x.disk0_meta": [128, False, True]}
  stray = dict(lvs, **{"xenvg/stray": [128, False, True]})
  answers = _answers(cfg, master={constants.NV_LVLIST: lvs}, node2={constants.NV_LVLIST: stray})
  answers["n0de-3"] = RpcResult([True, dict(_healthy(cfg, NODE2), **{
    constants.NV_LVLIST: lvs, constants.NV_CLIENT_CERT: [None, None]})])
  _, lines, _, _ = _verify_group(cfg, answers)
  assert [line for line in _problems(lines) if "is unknown" in line] == [
    "  - ERROR: node node2.gnt.test: volume xenvg/stray is unknown",
    "  - ERROR: node node3.gnt.test: volume xenvg/x.disk0_data is unknown",
    "  - ERROR: node node3.gnt.test: volume xenvg/x.disk0_meta is unknown"]


def test_node_verify_reads_drbd_minors(tmp_path, monkeypatch):
  from ganeti.storage import drbd_info
  proc = tmp_path / "drbd"
  proc.write_text("version: 8.4.11 (api:1/proto:86-101)\n"
                  " 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----\n"
                  " 1: cs:Unconfigured\n"
                  " 3: cs:StandAlone ro:Secondary/Unknown ds:UpToDate/DUnknown   r-----\n")
  monkeypatch.setattr(drbd_info, "PROC_DRBD", str(proc))
  assert nv.NodeVerify({constants.NV_DRBDLIST: None}, "c", {})[constants.NV_DRBDLIST] == [0, 3]
  monkeypatch.setattr(drbd_info, "PROC_DRBD", str(tmp_path / "absent"))
  answer = nv.NodeVerify({constants.NV_DRBDLIST: None}, "c", {})[constants.NV_DRBDLIST]
  assert answer.startswith("Can't read %s" % (tmp_path / "absent"))


class _DiskRpc:
  """lv_list and drbd_needs_activation answers per node."""

  def __init__(self, volumes, needs_activation, failing=()):
    self.volumes = volumes
    self.needs_activation = needs_activation
    self.failing = failing
    self.calls = []

  def call_lv_list(self, node_uuids, vg_name):
    self.calls.append(("lv_list", sorted(node_uuids), vg_name))
    return {uuid: RpcResult([False, "lvs failed"]) if uuid in self.failing else
            RpcResult([True, self.volumes.get(uuid, {})]) for uuid in node_uuids}

  def call_drbd_needs_activation(self, node_uuid, pairs):
    self.calls.append(("drbd_needs_activation", node_uuid, [d.uuid for d, _ in pairs]))
    return RpcResult([True, self.needs_activation.get(node_uuid, [])])


def test_group_verify_disks_of_drbd_instances(tmp_path):
  cfg = _config(tmp_path, _enable_drbd)
  _drbd_instance(cfg, disks_active=True)
  group = cfg.GetNodeGroup(cfg.GetNodeGroupList()[0]).name
  op = opcodes.OpGroupVerifyDisks(group_name=group)
  open_lv = (128.0, False, True)
  # node2's metadata LV is gone, the master's data LV is closed
  rpc = _DiskRpc({MASTER: {"xenvg/x.disk0_data": (128.0, False, False),
                           "xenvg/x.disk0_meta": open_lv},
                  NODE2: {"xenvg/x.disk0_data": open_lv}}, {})
  result, _, _ = _run(cvd.LUGroupVerifyDisks, op, cfg, rpc)
  assert tuple(result) == ({}, ["inst1"], {"inst1": [["node2.gnt.test", "xenvg/x.disk0_meta"]]})
  assert ("drbd_needs_activation", NODE2, ["d1sk-0000"]) in rpc.calls
  # a standalone DRBD device needs activating too; a failing node is reported
  rpc = _DiskRpc({MASTER: {"xenvg/x.disk0_data": open_lv, "xenvg/x.disk0_meta": open_lv}},
                 {MASTER: ["d1sk-0000"]}, failing=[NODE2])
  result, _, _ = _run(cvd.LUGroupVerifyDisks, op, cfg, rpc)
  # the volumes of a node that could not answer stay unaccounted for (the client
  # reports them as on a broken node)
  assert tuple(result) == ({"node2.gnt.test": "lvs failed"}, ["inst1"],
                           {"inst1": [["node2.gnt.test", "xenvg/x.disk0_data"],
                                      ["node2.gnt.test", "xenvg/x.disk0_meta"]]})


def test_group_verify_disks_ignores_inactive_instances(tmp_path):
  cfg = _config(tmp_path, _enable_drbd)
  _drbd_instance(cfg, disks_active=False)
  op = opcodes.OpGroupVerifyDisks(group_name=cfg.GetNodeGroup(cfg.GetNodeGroupList()[0]).name)
  rpc = _DiskRpc({}, {})
  result, _, _ = _run(cvd.LUGroupVerifyDisks, op, cfg, rpc)
  assert tuple(result) == ({}, [], {}) and rpc.calls == []
