"""Commands run for nodes on a 2-node virtual cluster: out-of-band management
(gnt-node power and health), where a real out-of-band program (a shell script
that records its calls) runs on the master through the node daemon and its
answers change the nodes' recorded power state; and restricted commands
(gnt-node restricted-command), run by each node's daemon from its own
directory of allowed programs."""

import os
import re
import stat

import pytest

from test_ssh import SSHD
from vcluster_harness import JoinedCluster

pytestmark = pytest.mark.skipif(not os.path.exists(SSHD) or os.geteuid() != 0,
                                reason="needs OpenSSH's sshd and root")

# answers as a power-management card would; health and status can be made to fail
OOB_PROGRAM = """#!/bin/sh
echo "$1 $2" >> "$(dirname "$0")/calls"
mode=$(cat "$(dirname "$0")/mode" 2>/dev/null)
case "$1" in
  power-status)
    [ "$mode" = garbage ] && { echo 'no json here'; exit 0; }
    echo '{"powered": true}';;
  health)
    [ "$mode" = broken ] && exit 3
    echo '[["disk0", "OK"], ["fan1", "WARNING"], ["psu", "CRITICAL"]]';;
  power-on|power-off|power-cycle) ;;
  *) exit 1;;
esac
"""


def _table(text):
  """Table lines without the timestamps of job feedback, spaces collapsed."""
  return [" ".join(re.sub(r"^\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4} ", "", line).split())
          for line in text.splitlines()]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
  program_dir = tmp_path_factory.mktemp("oob")
  program = program_dir / "oob-program"
  program.write_text(OOB_PROGRAM)
  program.chmod(stat.S_IRWXU)
  with JoinedCluster(2) as vc:
    vc.program_dir = program_dir
    yield vc


def _calls(vc):
  path = vc.program_dir / "calls"
  calls = path.read_text().splitlines() if path.exists() else []
  path.unlink(missing_ok=True)
  return calls


def _node_flags(vc):
  proc = vc.run("gnt-node", "list", "--no-headers", "-o", "name,offline,powered")
  return {line.split()[0]: tuple(line.split()[1:]) for line in proc.stdout.splitlines()}


def test_nodes_without_a_program_are_unavailable(cluster):
  proc = cluster.run("gnt-node", "health", check=False)
  assert proc.returncode == 1
  assert _table(proc.stdout) == ["Node Status", "node1 (unavail)", "node2 (unavail)"]
  proc = cluster.run("gnt-node", "power", "-f", "cycle", "node1", check=False)
  assert proc.returncode == 1
  assert ("Operating on the master node node1 is not allowed for power-cycle; it does not"
          " support out-of-band operations") in proc.stderr


def test_power_and_health_through_the_program(cluster):
  cluster.run("gnt-node", "modify", "--node-parameters",
              "oob_program=%s" % (cluster.program_dir / "oob-program"), "node2")
  proc = cluster.run("gnt-node", "power", "status", "node2")
  assert _table(proc.stdout) == ["Node Status", "node2 powered"]
  assert _calls(cluster) == ["power-status node2"]
  proc = cluster.run("gnt-node", "health", "node2")
  lines = _table(proc.stdout)
  assert lines[-4:] == ["Node Status", "node2 disk0=OK", "fan1=WARNING", "psu=CRITICAL"]
  assert "- WARNING: Item 'fan1' on node 'node2' has status 'WARNING'" in proc.stdout
  assert "- WARNING: Item 'psu' on node 'node2' has status 'CRITICAL'" in proc.stdout
  assert _calls(cluster) == ["health node2"]
  # off: the node is marked offline first, then powered off, in one job
  proc = cluster.run("gnt-node", "power", "-f", "off", "node2")
  assert _table(proc.stdout)[-2:] == ["Node Status", "node2 invoked"]
  assert _calls(cluster) == ["power-off node2"]
  assert _node_flags(cluster)["node2"] == ("Y", "N")
  # on: the program is called, the node stays offline until it is re-added
  proc = cluster.run("gnt-node", "power", "on", check=False)
  assert proc.returncode == 1  # node1 has no program
  assert _table(proc.stdout) == ["Node Status", "node1 (unavail)", "node2 invoked"]
  assert _calls(cluster) == ["power-on node2"]
  assert _node_flags(cluster)["node2"] == ("Y", "Y")
  cluster.run("gnt-node", "modify", "-O", "no", "node2")


def test_refusals_and_bad_answers(cluster):
  for args, message in [
      (["cycle"], "Please provide at least one node for this command"),
      (["bogus", "node2"], "power subcommand bogus not supported."),
      (["-f", "off", "nonode"], "Node 'nonode' not known")]:
    proc = cluster.run("gnt-node", "power", *args, check=False)
    assert proc.returncode == 1 and message in proc.stderr, (args, proc.stderr)
  # the opcode itself refuses to power off a node that is not offline
  (answer,) = cluster.submit(("OpOobCommand", {"node_names": ["node2"],
                                               "command": "power-off"}))
  assert answer[:2] == ["error", "OpPrereqError"]
  assert "Cannot power off node node2 because it is not marked offline" in answer[2]
  assert _calls(cluster) == []
  (cluster.program_dir / "mode").write_text("garbage")
  proc = cluster.run("gnt-node", "power", "status", "node2", check=False)
  assert proc.returncode == 1
  assert _table(proc.stdout)[-2:] == ["Node Status", "node2 (nodata)"]
  assert "Payload returned by node 'node2' is not valid" in proc.stdout
  (cluster.program_dir / "mode").write_text("broken")
  proc = cluster.run("gnt-node", "health", "node2", check=False)
  assert proc.returncode == 1
  assert _table(proc.stdout)[-2:] == ["Node Status", "node2 (nodata)"]
  assert re.search(r"Out-of-band RPC failed on node 'node2': '\S+oob-program health node2'"
                   r" failed", proc.stdout), proc.stdout


def _restricted_dir(vc, node):
  path = vc.path("/etc/ganeti/restricted-commands", node)
  os.makedirs(path, mode=0o755, exist_ok=True)
  os.chmod(path, 0o755)
  return path


def _add_restricted(vc, node, name, body, mode=0o755):
  path = os.path.join(_restricted_dir(vc, node), name)
  with open(path, "w") as handle:
    handle.write("#!/bin/sh\n" + body + "\n")
  os.chmod(path, mode)


def test_restricted_commands(cluster):
  _add_restricted(cluster, 1, "hello", "echo hello one; echo second line")
  _add_restricted(cluster, 2, "hello", "echo hello two")
  proc = cluster.run("gnt-node", "restricted-command", "hello", "node1", "node2")
  assert proc.stdout.splitlines() == ["-" * 48, "Node: node1", "hello one", "second line", "",
                                      "-" * 48, "Node: node2", "hello two", ""]
  proc = cluster.run("gnt-node", "restricted-command", "-M", "--sync", "-g", "default",
                     "hello")
  assert proc.stdout.splitlines() == ["-" * 48, "node1: hello one", "node1: second line",
                                      "-" * 48, "node2: hello two"]
  # missing on node2, and on node1 writable by others: neither runs
  _add_restricted(cluster, 1, "unsafe", "echo should not run", mode=0o777)
  proc = cluster.run("gnt-node", "restricted-command", "unsafe", "node1", "node2",
                     check=False)
  assert proc.returncode == 1
  assert proc.stdout.splitlines() == [
    "-" * 48, "Command 'unsafe' on node 'node1' failed: Executing command 'unsafe' failed",
    "-" * 48, "Command 'unsafe' on node 'node2' failed: Executing command 'unsafe' failed"]
  proc = cluster.run("gnt-node", "restricted-command", "hello", check=False)
  assert proc.returncode == 1
  assert "Node group or node names must be given" in proc.stderr


def _instance_state(vc, name):
  proc = vc.run("gnt-instance", "list", "--no-headers", "-o", "pnode,admin_state,status", name)
  return tuple(proc.stdout.split())


def test_emergency_power_off_and_back(cluster):
  cluster.run("gnt-node", "modify", "--node-parameters",
              "oob_program=%s" % (cluster.program_dir / "oob-program"), "node2")
  (cluster.program_dir / "mode").write_text("")
  cluster.run("gnt-instance", "add", "-t", "diskless", "-o", "minimal+default", "-n", "node2",
              "--no-name-check", "--no-ip-check", "--net", "0:ip=192.0.2.50", "epo1")
  _calls(cluster)
  for args, message in [([], "Give the nodes"), (["node1"], "The master node node1 is among"),
                        (["--all", "node2"], "Arguments in combination with --all")]:
    proc = cluster.run("gnt-cluster", "epo", "-f", *args, check=False)
    assert proc.returncode == 1 and message in proc.stderr, (args, proc.stderr)
  cluster.run("gnt-cluster", "epo", "-f", "node2")
  # shut down but still meant to run; the node offline and powered off
  assert _instance_state(cluster, "epo1") == ("node2", "up", "ERROR_nodeoffline")
  assert _node_flags(cluster)["node2"] == ("Y", "N")
  assert _calls(cluster) == ["power-off node2"]
  cluster.run("gnt-cluster", "epo", "--on", "-f", "node2")
  assert _calls(cluster) == ["power-on node2"]
  assert _node_flags(cluster)["node2"] == ("N", "Y")
  assert _instance_state(cluster, "epo1") == ("node2", "up", "running")
  # --all leaves the master to the administrator
  proc = cluster.run("gnt-cluster", "epo", "-f", "--all")
  assert "The master node node1 was left running; shut it down by hand" in proc.stdout
  assert _node_flags(cluster)["node2"][0] == "Y"
  cluster.run("gnt-cluster", "epo", "--on", "-f", "--all")
  assert _node_flags(cluster)["node2"][0] == "N"
  assert _instance_state(cluster, "epo1") == ("node2", "up", "running")
  cluster.run("gnt-instance", "remove", "-f", "epo1")
