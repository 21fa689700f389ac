"""A 5-node virtual cluster joined over real SSH: roles, verify, failover.

Every node runs a real sshd, node daemon and confd; the master drives them
over HTTPS RPC.  The tests run in file order against one cluster, the
master failover last.
"""

import json
import os
import re
import signal
import subprocess
import time

import pytest

from vcluster_harness import VirtualCluster

DEBIAN_SBIN = "/usr/sbin"
FAKETIME_LIB = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


@pytest.fixture(scope="module")
def cluster():
  vc = VirtualCluster(nodes=5, ssh=True)
  try:
    vc.init()
    for node in range(2, 6):
      vc.add_node(node)
    yield vc
  finally:
    vc.destroy()


def _verify(vc, node=1):
  """gnt-cluster verify's exit code and its ERROR/WARNING lines."""
  proc = vc.run("gnt-cluster", "verify", node=node, check=False)
  problems = [line for line in proc.stdout.splitlines() if "ERROR" in line or "WARNING" in line]
  return proc.returncode, problems


def _serial(vc, node):
  with open(vc.path("/var/lib/ganeti/config.data", node)) as handle:
    return json.load(handle)["serial_no"]


def _daemon_util(vc, node, *args, env=None):
  subprocess.run(["daemon-util", *args], env=env or vc.env(node), check=True, timeout=60,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_nodes_joined_and_roles_listed(cluster):
  out = cluster.run("gnt-node", "list", "--no-headers", "-o", "name,role,master_candidate").stdout
  rows = [line.split() for line in out.splitlines()]
  assert rows == [["node1", "M", "Y"]] + [["node%d" % n, "C", "Y"] for n in range(2, 6)]
  # joined over SSH: every node runs its own node daemon and accepted the master's key
  for node in range(2, 6):
    assert os.path.exists(cluster.path("/var/run/ganeti/ganeti-noded.pid", node))
    with open(cluster.path("/root/.ssh/authorized_keys", node)) as handle:
      assert "ssh-rsa" in handle.read()


def test_config_and_ssconf_reach_every_node(cluster):
  cluster.run("gnt-cluster", "add-tags", "replicated")
  master_serial = _serial(cluster, 1)
  for node in range(2, 6):
    # ssconf is written before the job goes on; config.data follows from the
    # master's distributor thread, moments later
    with open(cluster.path("/var/lib/ganeti/ssconf_cluster_tags", node)) as handle:
      assert "replicated" in handle.read()
    deadline = time.monotonic() + 10
    while _serial(cluster, node) != master_serial and time.monotonic() < deadline:
      time.sleep(0.05)
    assert _serial(cluster, node) == master_serial


def test_role_changes_follow_ganeti_rules(cluster):
  out = cluster.run("gnt-node", "modify", "-C", "no", "node5").stdout
  assert "Modified node node5\n - master_candidate -> False" in out
  # a demoted node no longer keeps a configuration copy
  assert not os.path.exists(cluster.path("/var/lib/ganeti/config.data", 5))
  out = cluster.run("gnt-node", "modify", "-D", "yes", "node5").stdout
  assert " - drained -> True" in out
  proc = cluster.run("gnt-node", "modify", "-C", "yes", "-D", "yes", "node5", check=False)
  assert proc.returncode != 0
  proc = cluster.run("gnt-node", "modify", "-C", "no", "node1", check=False)
  assert "The master role can be changed only via master-failover" in proc.stderr
  cluster.run("gnt-node", "modify", "-D", "no", "node5")
  cluster.run("gnt-node", "modify", "-C", "yes", "node5")
  assert os.path.exists(cluster.path("/var/lib/ganeti/config.data", 5))
  roles = cluster.run("gnt-node", "list", "--no-headers", "-o", "role").stdout.split()
  assert roles == ["M", "C", "C", "C", "C"]


def test_verify_is_clean(cluster):
  code, problems = _verify(cluster)
  assert (code, problems) == (0, []), "\n".join(problems)


def test_verify_reports_a_tampered_file(cluster):
  known_hosts = cluster.path("/var/lib/ganeti/known_hosts", 3)
  with open(known_hosts, "a") as handle:
    handle.write("# tampered\n")
  code, problems = _verify(cluster)
  assert code != 0
  # the path as the master sees it (in a virtual cluster: below its root)
  assert any(re.search(r"ERROR: cluster : File \S*/var/lib/ganeti/known_hosts found with 2"
                       r" different checksums \(.*variant \d on node3[;)]", line)
             and "node1, node2, node4, node5" in line for line in problems), problems
  cluster.run("gnt-cluster", "redist-conf")
  assert _verify(cluster) == (0, [])


def test_verify_reports_a_stopped_node_daemon(cluster):
  _daemon_util(cluster, 4, "stop", "ganeti-noded")
  try:
    code, problems = _verify(cluster)
    assert code != 0
    assert any("ERROR: node node4: while contacting node: " in line for line in problems), problems
  finally:
    _daemon_util(cluster, 4, "start", "ganeti-noded")
  assert _verify(cluster) == (0, [])


@pytest.mark.skipif(not os.path.exists(FAKETIME_LIB),
                    reason="libfaketime is not installed (apt-get install libfaketime)")
def test_verify_reports_clock_skew(cluster):
  # node5's node daemon really lives 400 s in the future (libfaketime)
  skewed = cluster.env(5)
  skewed.update(LD_PRELOAD=FAKETIME_LIB, FAKETIME="+400s")
  _daemon_util(cluster, 5, "stop", "ganeti-noded")
  _daemon_util(cluster, 5, "start", "ganeti-noded", env=skewed)
  try:
    code, problems = _verify(cluster)
    assert code != 0
    assert any("ERROR: node node5: Node time diverges by at least" in line
               for line in problems), problems
  finally:
    _daemon_util(cluster, 5, "stop", "ganeti-noded")
    _daemon_util(cluster, 5, "start", "ganeti-noded")
  assert _verify(cluster) == (0, [])


def test_cluster_command_runs_on_every_node_over_ssh(cluster):
  out = cluster.run("gnt-cluster", "command", "echo $GANETI_HOSTNAME").stdout
  for node in range(1, 6):
    assert "node: node%d\nnode%d\n\nreturn code = 0" % (node, node) in out


def _job_statuses(vc, node):
  out = vc.run("gnt-job", "list", "--no-headers", "-o", "id,status", node=node).stdout
  return dict(line.split() for line in out.splitlines())


def test_master_failover_after_kill_loses_nothing(cluster):
  # a job queue with two workers: two delays run, two wait in the queue
  cluster.run("gnt-cluster", "modify", "--max-running-jobs=2")
  _daemon_util(cluster, 1, "stop", "ganeti-masterd")
  _daemon_util(cluster, 1, "start", "ganeti-masterd")
  cluster.run("gnt-cluster", "add-tags", "before-failover")
  submitted = []
  for _ in range(4):
    out = cluster.run("gnt-debug", "delay", "--submit", "3")
    submitted.extend(line.split()[-1] for line in (out.stdout + out.stderr).splitlines()
                     if line.startswith("JobID"))
  before = _job_statuses(cluster, 1)
  assert "running" in before.values() and "queued" in before.values(), before
  # the old master dies hard: master, node and conf daemons
  for daemon_name in ("ganeti-masterd", "ganeti-noded", "ganeti-confd"):
    with open(cluster.path("/var/run/ganeti/%s.pid" % daemon_name, 1)) as handle:
      os.kill(int(handle.read()), signal.SIGKILL)
  cluster.run("gnt-cluster", "master-failover", node=2)
  assert cluster.run("gnt-cluster", "getmaster", node=2).stdout.strip() == "node2"
  after = _job_statuses(cluster, 2)
  assert set(before) <= set(after)
  for job_id in submitted:
    assert job_id in after
  assert "before-failover" in cluster.run("gnt-cluster", "list-tags", node=2).stdout
  # jobs that were running failed as in Ganeti; the queued ones run to the end
  deadline = time.monotonic() + 60
  while time.monotonic() < deadline:
    after = _job_statuses(cluster, 2)
    if all(after[job] in ("success", "error") for job in submitted):
      break
    time.sleep(0.2)
  for job_id, status in before.items():
    if status == "running":
      assert after[job_id] == "error"
    elif status == "queued":
      assert after[job_id] == "success", (job_id, after)
  # Debian's Ganeti 3.0 clients talk to the new master too
  if os.path.exists(DEBIAN_SBIN + "/gnt-job"):
    env = cluster.env(2)
    env["PATH"] = DEBIAN_SBIN + os.pathsep + "/usr/bin:/bin"
    proc = subprocess.run([DEBIAN_SBIN + "/gnt-job", "list", "--no-headers", "-o", "id"],
                          env=env, stdout=subprocess.PIPE, text=True, timeout=60, check=True)
    assert set(submitted) <= set(proc.stdout.split())
