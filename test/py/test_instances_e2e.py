"""Instances on a 3-node virtual cluster joined over SSH, through the commands
an administrator types: creation, a node's failure and its recovery
(offline, failover with --ignore-consistency, evacuation, re-adding), bad
input, and Debian's Ganeti 3.0 clients reading our master.
"""

import json
import os
import pty
import re
import select
import subprocess
import time

import pytest

from test_ssh import SSHD
from vcluster_harness import JoinedCluster

pytestmark = pytest.mark.skipif(not os.path.exists(SSHD) or os.geteuid() != 0,
                                reason="needs OpenSSH's sshd and root")

DEBIAN_SBIN = "/usr/sbin"
FAKE_HV_DIR = "/var/run/ganeti/fake-hypervisor"
ADD = ["gnt-instance", "add", "-o", "minimal+default", "--no-name-check", "--no-ip-check"]


def _lines(text):
  """Output lines without the timestamps of job feedback."""
  return [re.sub(r"^\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4} ", "", line)
          for line in text.splitlines()]


def _on_terminal(vc, *args, answer="y", timeout=120.0):
  """Runs a command on a terminal (as an administrator does), answers each of
  its questions; returns (exit code, everything it printed)."""
  pid, fd = pty.fork()
  if pid == 0:  # the child: becomes the command
    os.execvpe(args[0], list(args), vc.env(1))
  output, answered = b"", 0
  deadline = time.monotonic() + timeout
  try:
    while time.monotonic() < deadline:
      if not select.select([fd], [], [], 1.0)[0]:
        continue
      try:
        data = os.read(fd, 4096)
      except OSError:  # the command ended and closed the terminal
        break
      if not data:
        break
      output += data
      if output.count(b"y/[n]/?: ") > answered:
        os.write(fd, answer.encode() + b"\n")
        answered += 1
  finally:
    os.close(fd)
  _, status = os.waitpid(pid, 0)
  return os.waitstatus_to_exitcode(status), output.decode("utf-8", "replace").replace("\r", "")


def _config(vc):
  with open(vc.path("/var/lib/ganeti/config.data", 1)) as handle:
    return json.load(handle)


def _placement(vc):
  """instance name -> (primary node name, status) from gnt-instance list."""
  proc = vc.run("gnt-instance", "list", "--no-headers", "-o", "name,pnode,status")
  return {name: (pnode, status) for name, pnode, status in
          (line.split() for line in proc.stdout.splitlines())}


def _running_on(vc, node):
  try:
    return sorted(os.listdir(vc.path(FAKE_HV_DIR, node)))
  except FileNotFoundError:
    return []


@pytest.fixture(scope="module")
def cluster():
  with JoinedCluster(3, "--default-iallocator=hail") as vc:
    yield vc


def test_create_instances(cluster):
  proc = cluster.run(*ADD, "-t", "diskless", "-n", "node2", "--net", "0:ip=192.0.2.21", "web1")
  assert _lines(proc.stdout) == ["* creating instance disks...",
                                 "adding instance web1 to cluster config",
                                 "* starting instance..."]
  proc = cluster.run(*ADD, "-t", "file", "--disk", "0:size=1G", "-n", "node1",
                     "--net", "0:ip=192.0.2.22", "data1")
  lines = _lines(proc.stdout)
  assert lines[:2] == ["* disk 0, size 1.0G", "* creating instance disks..."]
  assert "* running the instance OS create scripts..." in lines
  (disk,) = [disk for disk in _config(cluster)["disks"].values()]
  path = cluster.path(disk["logical_id"][1], 1)
  assert os.stat(path).st_size == 1024 ** 3
  with open(path, "rb") as handle:  # the minimal OS wrote an ext4 filesystem
    handle.seek(1024 + 56)
    assert handle.read(2) == b"\x53\xef"
  proc = cluster.run(*ADD, "-t", "diskless", "-I", "hail", "--net", "0:ip=192.0.2.23", "web2")
  assert re.search(r"Selected nodes for instance web2 via iallocator hail: node\d",
                   proc.stdout)
  cluster.run(*ADD, "-t", "diskless", "-n", "node2", "--net", "0:ip=192.0.2.24", "web3")
  placement = _placement(cluster)
  assert placement["web1"] == ("node2", "running") and placement["data1"] == ("node1", "running")
  assert _running_on(cluster, 2) == ["web1", "web3"]


def test_bad_input_is_refused_and_changes_nothing(cluster):
  before = _config(cluster)
  cases = [
    (["-t", "diskless", "-n", "node1", "--net", "0:mac=zz", "bad1"],
     "Invalid MAC address 'zz'"),
    (["-t", "diskless", "-n", "node1", "--net", "0:ip=300.1.2.3", "bad1"],
     "Invalid IP address '300.1.2.3'"),
    (["-t", "diskless", "-n", "node1", "--net", "0:ip=192.0.2.30", "web1"],
     "Instance 'web1' is already in the cluster"),
    (["-t", "diskless", "-n", "nonode", "--net", "0:ip=192.0.2.30", "bad1"],
     "Node 'nonode' not known"),
    (["-t", "file", "--disk", "0:size=100M", "-n", "node1", "--net", "0:ip=192.0.2.30", "bad1"],
     "violates policy: disk-size/0 value 100 is not in range [1024, 1048576]"),
    (["-t", "diskless", "-B", "memory=900000", "-n", "node1", "--net", "0:ip=192.0.2.30",
      "bad1"], "violates policy: memory-size value 900000 is not in range [128, 32768]"),
    (["-t", "diskless", "-n", "node1", "bad1"],
     "Routed nic mode requires an ip address if not attached to a network"),
    (["-t", "plain", "--disk", "0:size=1G", "-n", "node1", "--net", "0:ip=192.0.2.30", "bad1"],
     "Cannot create an instance with disk template 'plain', because it is not enabled"),
  ]
  web1_mac = [nic["mac"] for inst in before["instances"].values() if inst["name"] == "web1"
              for nic in inst["nics"]][0]
  cases.append((["-t", "diskless", "-n", "node1", "--net", "0:ip=192.0.2.30,mac=" + web1_mac,
                 "bad1"], "MAC address %s already in use in cluster" % web1_mac))
  for args, message in cases:
    proc = cluster.run(*ADD, *args, check=False)
    assert proc.returncode == 1 and message in proc.stderr, (args, proc.stderr)
  proc = cluster.run("gnt-instance", "add", "-t", "diskless", "-o", "nosuchos", "-n", "node1",
                     "--no-name-check", "--no-ip-check", "--net", "0:ip=192.0.2.30", "bad1",
                     check=False)
  assert proc.returncode == 1 and "nosuchos" in proc.stderr
  after = _config(cluster)
  assert after["serial_no"] == before["serial_no"] and after["instances"] == before["instances"]


def test_debian_clients_read_our_master(cluster):
  if not os.path.exists(DEBIAN_SBIN + "/gnt-instance"):
    pytest.skip("Debian's Ganeti is not installed")
  env = cluster.env(1)
  env["PATH"] = DEBIAN_SBIN + os.pathsep + "/usr/bin:/bin"

  def debian(*args):
    return subprocess.run([DEBIAN_SBIN + "/" + args[0], *args[1:]], env=env, check=True,
                          stdout=subprocess.PIPE, text=True, timeout=60).stdout
  listing = debian("gnt-instance", "list")
  assert listing.splitlines()[0].split() == ["Instance", "Hypervisor", "OS", "Primary_node",
                                             "Status", "Memory"]
  assert re.search(r"^data1 +fake +minimal\+default +node1 +running +128M$", listing, re.M)
  info = debian("gnt-instance", "info", "data1")
  assert "State: configured to be up, actual state is up" in info
  assert "Disk template: file" in info and "- disk/0: file, size 1.0G" in info
  nodes = debian("gnt-node", "list", "--no-headers", "-o", "name,pinst_cnt")
  assert sorted(line.split()[0] for line in nodes.splitlines()) == ["node1", "node2", "node3"]
  groups = debian("gnt-group", "list", "--no-headers", "-o", "name,node_cnt,pinst_cnt")
  assert groups.split() == ["default", "3", "4"]


def test_node_failure_and_recovery(cluster):
  # node2 dies: its daemons stop and (as after a reboot) nothing runs there
  cluster.run("daemon-util", "stop-all", node=2)
  for name in _running_on(cluster, 2):
    os.unlink(cluster.path(os.path.join(FAKE_HV_DIR, name), 2))
  proc = cluster.run("gnt-node", "modify", "-O", "yes", "node2")
  assert "offline -> True" in proc.stdout
  placement = _placement(cluster)
  assert placement["web1"] == ("node2", "ERROR_nodeoffline")
  # failover asks whether the node is really offline, even with -f (as Ganeti does)
  code, output = _on_terminal(cluster, "gnt-instance", "failover", "-f", "--ignore-consistency",
                              "-n", "node3", "web1")
  assert code == 0, output
  lines = _lines(output)
  assert lines[:2] == ["To failover instance web1, the source node must be marked offline",
                       "first. Is this already the case?"]
  lines = lines[lines.index("Failover instance web1"):]
  assert ("- WARNING: Could not shutdown instance web1 on node node2, proceeding anyway;"
          " please make sure node node2 is down; error details: Node is marked offline"
          in [line.strip() for line in lines])
  assert lines[-1] == "* starting the instance on the target node node3"
  proc = cluster.run("gnt-node", "evacuate", "-f", "--primary-only", "node2")
  assert "All instances evacuated successfully." in proc.stdout
  placement = _placement(cluster)
  assert all(pnode != "node2" and status == "running" for pnode, status in placement.values())
  assert "web1" in _running_on(cluster, 3)
  # repaired, the node comes back
  proc = cluster.run("gnt-node", "add", "--readd", "--no-ssh-key-check", "node2")
  proc = cluster.run("gnt-node", "list", "--no-headers", "-o", "name,offline,pinst_cnt")
  assert "node2 N 0" in [" ".join(line.split()) for line in proc.stdout.splitlines()]
  proc = cluster.run("gnt-cluster", "verify", check=False)
  assert proc.returncode == 0, proc.stdout
  # and takes instances again
  proc = cluster.run("gnt-instance", "migrate", "-f", "-n", "node2", "web1")
  assert _placement(cluster)["web1"] == ("node2", "running")
  assert _running_on(cluster, 2) == ["web1"]


def test_batch_create(cluster, tmp_path):
  def definition(name, **extra):
    return dict({"mode": "create", "instance_name": name, "disk_template": "diskless",
                 "os_type": "minimal+default", "name_check": False, "ip_check": False,
                 "start": False, "disks": [],
                 "nics": [{"ip": "192.0.2.%d" % (60 + len(name))}]}, **extra)

  def batch(definitions, *options):
    path = tmp_path / "batch.json"
    path.write_text(json.dumps(definitions))
    return cluster.run("gnt-instance", "batch-create", *options, str(path), check=False)

  proc = batch([definition("b1"), definition("batch2")], "-I", "hail")
  assert proc.returncode == 0, proc.stdout + proc.stderr
  lines = _lines(proc.stdout)
  assert re.match(r"Submitted jobs \d+, \d+$", lines[0]), lines
  assert lines[-1] == "All instances created successfully."
  placement = _placement(cluster)
  assert placement["b1"][1] == placement["batch2"][1] == "ADMIN_down"
  # nodes named per instance: no allocator runs
  proc = batch([definition("b3", pnode="node3"), definition("b4", pnode="node1")])
  assert proc.returncode == 0, proc.stdout + proc.stderr
  placement = _placement(cluster)
  assert placement["b3"][0] == "node3" and placement["b4"][0] == "node1"
  # a disk no node can hold is reported and not created; the other one is
  proc = batch([definition("b5", disk_template="file", disks=[{"size": 1048576}]),
                definition("b6")], "-I", "hail")
  assert proc.returncode == 1
  assert "The iallocator could not place: b5" in proc.stdout
  assert "There were 1 errors during the creation." in proc.stdout
  placement = _placement(cluster)
  assert "b5" not in placement and "b6" in placement
  before = _config(cluster)
  for definitions, message in [
      ([definition("b7"), definition("b7")], "There are duplicate instance names: b7"),
      ([definition("b7", pnode="node1"), definition("b8")],
       "There are instance objects providing pnode/snode while others do not"),
      ([definition("b1")], "Instance 'b1' is already in the cluster")]:
    proc = batch(definitions, "-I", "hail")
    assert proc.returncode == 1 and message in proc.stderr, (definitions, proc.stderr)
  assert _config(cluster)["instances"] == before["instances"]
  for name in ("b1", "batch2", "b3", "b4", "b6"):
    cluster.run("gnt-instance", "remove", "-f", name)


def test_repair_disk_sizes(cluster):
  def file_disk():
    (disk,) = [disk for disk in _config(cluster)["disks"].values()
               if disk["dev_type"] == "file"]
    return disk
  path = cluster.path(file_disk()["logical_id"][1], 1)
  os.truncate(path, 2048 * 1024 ** 2)  # grown behind Ganeti's back
  proc = cluster.run("gnt-cluster", "repair-disk-sizes")
  assert ("Disk 0 of instance data1 has mismatched size, correcting: recorded 1024,"
          " actual 2048") in proc.stdout
  assert file_disk()["size"] == 2048
  serial = _config(cluster)["serial_no"]
  proc = cluster.run("gnt-cluster", "repair-disk-sizes", "data1")
  assert "mismatched" not in proc.stdout and _config(cluster)["serial_no"] == serial
  os.truncate(path, 1024 ** 3)
  cluster.run("gnt-cluster", "repair-disk-sizes", "data1")
  assert file_disk()["size"] == 1024
  proc = cluster.run("gnt-cluster", "repair-disk-sizes", "nosuch", check=False)
  assert proc.returncode == 1 and "Instance 'nosuch' not known" in proc.stderr
