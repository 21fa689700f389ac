"""End to end on a virtual cluster: real master daemon, real LUXI, real CLI."""

import json
import os
import signal
import socket
import subprocess
import time

import pytest

from vcluster_harness import VirtualCluster

DEBIAN_SBIN = "/usr/sbin"


@pytest.fixture(scope="module")
def cluster():
  vc = VirtualCluster(nodes=3)
  try:
    vc.init()
    yield vc
  finally:
    vc.destroy()


def _luxi_raw(vc: VirtualCluster, payload: bytes, read: bool = True) -> bytes:
  sock = socket.socket(socket.AF_UNIX)
  sock.settimeout(10)
  sock.connect(vc.path("/var/run/ganeti/socket/ganeti-query"))
  sock.sendall(payload)
  data = b""
  while read and not data.endswith(b"\x03"):
    chunk = sock.recv(65536)
    if not chunk:
      break
    data += chunk
  sock.close()
  return data


def _luxi(vc: VirtualCluster, method: str, args) -> dict:
  message = json.dumps({"method": method, "args": args, "version": 3000000}).encode() + b"\x03"
  return json.loads(_luxi_raw(vc, message)[:-1])


def test_info_version_getmaster(cluster):
  info = cluster.run("gnt-cluster", "info").stdout
  assert "Cluster name: cluster" in info
  assert "Master node: node1" in info
  assert "fake" in info
  version = cluster.run("gnt-cluster", "version").stdout
  assert "Software version: 3.0.2" in version
  assert cluster.run("gnt-cluster", "getmaster").stdout.strip() == "node1"


def _WaitForFile(path: str, timeout: float = 30) -> bool:
  deadline = time.monotonic() + timeout
  while not os.path.exists(path) and time.monotonic() < deadline:
    time.sleep(0.1)
  return os.path.exists(path)


def test_master_daemon_start_brings_up_the_master_ip(cluster):
  state = cluster.path("/var/run/ganeti/master-ip")
  assert _WaitForFile(state)
  assert open(state).read().split()[::2] == [cluster.prefix + ".1", "lo"]
  cluster.run("gnt-cluster", "deactivate-master-ip", "--yes")
  assert not os.path.exists(state)
  cluster.run("daemon-util", "stop", "ganeti-masterd")
  cluster.run("daemon-util", "start", "ganeti-masterd")
  assert _WaitForFile(state)


def test_delay_job_and_job_list(cluster):
  out = cluster.run("gnt-debug", "delay", "0.01")
  assert out.returncode == 0
  listing = cluster.run("gnt-job", "list", "--no-headers", "-o", "id,status,summary").stdout
  rows = [line.split() for line in listing.splitlines()]
  delays = [row for row in rows if row[2].startswith("TEST_DELAY")]
  assert delays and delays[-1][1] == "success"
  info = cluster.run("gnt-job", "info", delays[-1][0]).stdout
  assert "Status: success" in info and "OP_TEST_DELAY" in info


def test_submit_and_wait(cluster):
  # like Ganeti, the job id goes to standard error
  job_id = cluster.run("gnt-debug", "delay", "--submit", "0.2").stderr.strip()
  assert job_id.startswith("JobID: ")
  job_id = job_id.split()[1]
  cluster.run("gnt-job", "wait", job_id)
  status = _luxi(cluster, "QueryJobs", [[int(job_id)], ["status"]])
  assert status == {"success": True, "result": [["success"]]}


def test_tags(cluster):
  cluster.run("gnt-cluster", "add-tags", "alpha", "beta")
  assert cluster.run("gnt-cluster", "list-tags").stdout.split() == ["alpha", "beta"]
  found = cluster.run("gnt-cluster", "search-tags", "alp").stdout
  assert "/cluster alpha" in found
  cluster.run("gnt-cluster", "remove-tags", "beta")
  assert cluster.run("gnt-cluster", "list-tags").stdout.split() == ["alpha"]
  bad = cluster.run("gnt-cluster", "add-tags", "bad tag", check=False)
  assert bad.returncode != 0


def test_modify_persists(cluster):
  cluster.run("gnt-cluster", "modify", "--candidate-pool-size=7")
  with open(cluster.path("/var/lib/ganeti/config.data")) as handle:
    assert json.load(handle)["cluster"]["candidate_pool_size"] == 7
  assert "candidate pool size: 7" in cluster.run("gnt-cluster", "info").stdout


def test_drain_flag(cluster):
  cluster.run("gnt-cluster", "queue", "drain")
  try:
    assert cluster.run("gnt-cluster", "queue", "info").stdout == "The drain flag is set\n"
    refused = cluster.run("gnt-debug", "delay", "0", check=False)
    assert refused.returncode != 0
  finally:
    cluster.run("gnt-cluster", "queue", "undrain")
  cluster.run("gnt-debug", "delay", "0.001")


def test_bad_luxi_input_keeps_daemon_up(cluster):
  answer = json.loads(_luxi_raw(cluster, b"garbage\x03")[:-1])
  assert answer["success"] is False and "Failed to parse request" in answer["result"]
  assert "Invalid string value" in _luxi(cluster, "Bogus", [])["result"]
  assert _luxi(cluster, "QueryJobs", "x")["success"] is False
  bad_op = _luxi(cluster, "SubmitJob", [[{"OP_ID": "OP_TEST_DELAY", "duration": "x",
                                          "reason": []}]])
  assert bad_op["success"] is False and "duration" in bad_op["result"]
  assert _luxi(cluster, "SubmitJob", [[{"OP_ID": "OP_NOPE", "reason": []}]])["success"] is False
  query = _luxi(cluster, "Query", ["job", ["id"], ["==", "nosuch", 1]])
  assert query["success"] is False and query["result"][0] == "ParameterError"
  # oversized message: refused, connection closed, daemon fine
  try:
    huge = _luxi_raw(cluster, b"[" + b"1," * (40 * 1024 * 1024), read=True)
    assert b"Failed to parse request" in huge or huge == b""
  except (BrokenPipeError, ConnectionResetError):
    pass  # the master stopped reading past its limit
  assert _luxi(cluster, "QueryConfigValues", [["cluster_name"]]) == \
    {"success": True, "result": ["cluster"]}
  before = os.listdir(cluster.path("/var/lib/ganeti/queue"))
  _luxi(cluster, "SubmitJob", [[{"OP_ID": "OP_TEST_DELAY", "reason": []}]])
  assert os.listdir(cluster.path("/var/lib/ganeti/queue")) == before


@pytest.mark.skipif(not os.path.exists(DEBIAN_SBIN + "/gnt-cluster"),
                    reason="Debian's ganeti package is not installed (apt-get install ganeti)")
def test_debian_clients_against_our_master(cluster):
  env = cluster.env(1)
  env["PATH"] = DEBIAN_SBIN + os.pathsep + "/usr/bin:/bin"

  def debian(*args):
    proc = subprocess.run(list(args), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout
    return proc.stdout

  assert "Cluster name: cluster" in debian(DEBIAN_SBIN + "/gnt-cluster", "info")
  debian(DEBIAN_SBIN + "/gnt-debug", "delay", "0.1")
  listing = debian(DEBIAN_SBIN + "/gnt-job", "list")
  last = listing.strip().splitlines()[-1].split()
  assert last[1] == "success" and last[2].startswith("TEST_DELAY")
  assert "Status: success" in debian(DEBIAN_SBIN + "/gnt-job", "info", last[0])
  assert debian(DEBIAN_SBIN + "/gnt-cluster", "queue", "info") == "The drain flag is unset\n"


def test_kill_master_mid_jobs_loses_nothing(cluster):
  from ganeti import luxi  # in-tree client; the socket is the node's
  client = luxi.Client(cluster.path("/var/run/ganeti/socket/ganeti-query"))
  op = {"OP_ID": "OP_TEST_DELAY", "duration": 0.05, "reason": [], "no_locks": False}
  ids = [job_id for ok, job_id in client.SubmitManyJobs([[op]] * 200) if ok]
  assert len(ids) == 200
  time.sleep(0.3)
  client.Close()
  config_before = open(cluster.path("/var/lib/ganeti/config.data")).read()
  os.kill(cluster.masterd_pid(), signal.SIGKILL)
  time.sleep(0.2)
  cluster.run("daemon-util", "start", "ganeti-masterd")
  client = luxi.Client(cluster.path("/var/run/ganeti/socket/ganeti-query"))
  deadline = time.monotonic() + 120
  while time.monotonic() < deadline:
    rows = client.QueryJobs(ids, ["status"])
    if all(row and row[0] in ("success", "error", "canceled") for row in rows):
      break
    time.sleep(0.2)
  rows = client.QueryJobs(ids, ["id", "status", "opresult"])
  assert all(row is not None for row in rows), "a job was lost"
  statuses = {row[1] for row in rows}
  assert statuses <= {"success", "error"}
  for _, status, result in rows:
    if status == "error":
      assert result == [["OpExecError", ["Unclean master daemon shutdown"]]]
  assert sum(1 for row in rows if row[1] == "success") >= 200 - 25
  for name in os.listdir(cluster.path("/var/lib/ganeti/queue")):
    if name.startswith("job-"):
      with open(cluster.path("/var/lib/ganeti/queue/" + name)) as handle:
        json.load(handle)  # every job file whole
  assert open(cluster.path("/var/lib/ganeti/config.data")).read() == config_before
  client.Close()


def test_init_refused_twice_and_destroy():
  vc = VirtualCluster(nodes=1)
  try:
    vc.init()
    again = vc.run("gnt-cluster", "init", "--no-etc-hosts", "--no-ssh-init",
                   "--master-netdev=lo", "--enabled-hypervisors=fake", "cluster", check=False)
    assert again.returncode != 0 and "already initialised" in again.stdout + again.stderr
    refused = vc.run("gnt-cluster", "destroy", check=False)
    assert refused.returncode != 0
    assert os.path.exists(vc.path("/var/lib/ganeti/config.data"))
    vc.run("gnt-cluster", "destroy", "--yes-do-it")
    assert not os.path.exists(vc.path("/var/lib/ganeti/config.data"))
    assert not [name for name in os.listdir(vc.path("/var/lib/ganeti")) if name.startswith("ssconf_")]
    assert vc.masterd_pid() is None or vc.run("daemon-util", "check", "ganeti-masterd",
                                              check=False).returncode != 0
    vc.init()  # a destroyed cluster can be created anew
    assert "Cluster name: cluster" in vc.run("gnt-cluster", "info").stdout
  finally:
    vc.destroy()


def test_hooks_run_with_ganeti_environment(cluster):
  hooks_dir = cluster.path("/etc/ganeti/hooks/cluster-modify-post.d")
  os.makedirs(hooks_dir, exist_ok=True)
  out = cluster.path("/tmp/hook-env")
  os.makedirs(os.path.dirname(out), exist_ok=True)
  script = os.path.join(hooks_dir, "10-record")
  with open(script, "w") as handle:
    handle.write("#!/bin/sh\nenv > %s\n" % out)
  os.chmod(script, 0o755)
  pre_dir = cluster.path("/etc/ganeti/hooks/cluster-modify-pre.d")
  try:
    cluster.run("gnt-cluster", "modify", "--candidate-pool-size=6")
    env = dict(line.split("=", 1) for line in open(out).read().splitlines() if "=" in line)
    assert env["GANETI_HOOKS_PHASE"] == "post"
    assert env["GANETI_OP_CODE"] == "OP_CLUSTER_SET_PARAMS"
    assert env["GANETI_CLUSTER"] == "cluster"
    assert env["GANETI_MASTER"] == "node1"
    assert env["GANETI_OBJECT_TYPE"] == "CLUSTER"
    assert env["GANETI_POST_OP_TARGET"] == "cluster"
    # a failing pre hook stops the operation before it changes anything
    os.makedirs(pre_dir, exist_ok=True)
    with open(os.path.join(pre_dir, "20-refuse"), "w") as handle:
      handle.write("#!/bin/sh\necho no way\nexit 1\n")
    os.chmod(os.path.join(pre_dir, "20-refuse"), 0o755)
    refused = cluster.run("gnt-cluster", "modify", "--candidate-pool-size=9", check=False)
    assert refused.returncode != 0
    assert "no way" in refused.stdout + refused.stderr
    with open(cluster.path("/var/lib/ganeti/config.data")) as handle:
      assert json.load(handle)["cluster"]["candidate_pool_size"] == 6
  finally:
    import shutil
    shutil.rmtree(hooks_dir, ignore_errors=True)
    shutil.rmtree(pre_dir, ignore_errors=True)


def test_cancel_job_waiting_for_locks(cluster):
  from ganeti import luxi
  client = luxi.Client(cluster.path("/var/run/ganeti/socket/ganeti-query"))
  holder = client.SubmitJob([{"OP_ID": "OP_TEST_DELAY", "duration": 3.0, "reason": [],
                              "no_locks": False}])
  time.sleep(0.3)
  # OpClusterPostInit needs the BGL exclusively: it waits behind the delay
  waiter = client.SubmitJob([{"OP_ID": "OP_CLUSTER_POST_INIT", "reason": []}])
  time.sleep(0.5)
  assert client.QueryJobs([waiter], ["status"]) == [["waiting"]]
  locks = client.Query("lock", ["name", "mode", "owner", "pending"], None)["data"]
  bgl = [row for row in locks if row[0][1] == "cluster/BGL"][0]
  assert bgl[1][1] == "shared" and str(holder) in bgl[2][1]
  assert bgl[3][1] == [["exclusive", [str(waiter)]]]
  assert client.CancelJob(waiter, False) == [True, "Job successfully cancelled"]
  status = luxi.WaitForJobCompletion(client, waiter, poll_timeout=30)
  assert status[0] == "canceled"
  assert luxi.WaitForJobCompletion(client, holder, poll_timeout=30)[0] == "success"
  client.Close()


def test_debug_test_jobqueue(cluster):
  """Ganeti's own job queue self-test: submission, dependencies, log
  messages, lock-wait and execution notifications, failures."""
  out = cluster.run("gnt-debug", "test-jobqueue", timeout=300).stdout
  assert out.rstrip().endswith("Job queue test successful")


def test_job_filters_reject_and_pause(cluster):
  reject = cluster.run("gnt-filter", "add", "--action=REJECT",
                       '--predicates=[["opcode", ["=", "OP_ID", "OP_TEST_DELAY"]]]').stdout.strip()
  try:
    assert cluster.run("gnt-debug", "delay", "0.01", check=False).returncode != 0
    last = cluster.run("gnt-job", "list", "--no-headers").stdout.splitlines()[-1].split()
    assert last[1] == "canceled" and last[2].startswith("TEST_DELAY")
  finally:
    cluster.run("gnt-filter", "delete", reject)
  pause = cluster.run("gnt-filter", "add", "--action=PAUSE",
                      '--predicates=[["jobid", [">", "id", "watermark"]]]').stdout.strip()
  job_id = int(cluster.run("gnt-debug", "delay", "--submit", "0.01").stderr.split()[1])
  time.sleep(0.5)
  assert _luxi(cluster, "QueryJobs", [[job_id], ["status"]])["result"] == [["queued"]]
  cluster.run("gnt-filter", "delete", pause)
  cluster.run("gnt-job", "wait", str(job_id))
  assert _luxi(cluster, "QueryJobs", [[job_id], ["status"]])["result"] == [["success"]]
