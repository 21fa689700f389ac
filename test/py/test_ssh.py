"""Tests for ganeti.ssh and the SSH key RPC handlers, against a real sshd per virtual node.

tools/vcluster-setup --ssh gives every node its own OpenSSH daemon on its
own 127.x address; code under test runs as a node through the node's cmd
wrapper (the virtual cluster root is fixed when ganeti is imported).
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

from conftest import BUILD, TOP

SETUP = os.path.join(TOP, "tools", "vcluster-setup")
SSHD = "/usr/sbin/sshd"
PORT = 2222  # vcluster-setup's default

pytestmark = pytest.mark.skipif(not os.path.exists(SSHD) or os.geteuid() != 0,
                                reason="needs OpenSSH's sshd and root")


class SshCluster:
  """A virtual cluster whose nodes run their own sshd; daemon-util is a recorder."""

  def __init__(self, nodes: int = 2) -> None:
    self.dir = tempfile.mkdtemp(prefix="gnt-ssh-")
    self.nodes = nodes
    self.prefix = "127.%d.%d" % (230 + os.getpid() % 24, random.randint(1, 250))
    self.sbin = os.path.join(self.dir, "sbin")
    os.mkdir(self.sbin)
    self.calls = os.path.join(self.dir, "daemon-util.calls")
    self._Executable(os.path.join(self.sbin, "daemon-util"),
                     '#!/bin/sh\necho "$GANETI_HOSTNAME $*" >> %s\n' % self.calls)
    # laid out as a build tree: the tool finds daemon-util in ../sbin
    os.mkdir(os.path.join(self.dir, "tools"))
    self.join_tool = os.path.join(self.dir, "tools", "prepare-node-join")
    self._Executable(self.join_tool, "#!%s -S\nimport sys\nsys.path.insert(0, %r)\n"
                     "from ganeti.tools.prepare_node_join import Main\nsys.exit(Main())\n"
                     % (sys.executable, BUILD))
    subprocess.run([sys.executable, SETUP, "-E", "--ssh", "-c", str(nodes), "-p", self.prefix,
                    "--sbin", self.sbin, self.dir], check=True, stdout=subprocess.DEVNULL,
                   timeout=60)

  @staticmethod
  def _Executable(path: str, text: str) -> None:
    with open(path, "w") as handle:
      handle.write(text)
    os.chmod(path, 0o755)

  def root(self, node: int) -> str:
    return os.path.join(self.dir, "node%d" % node)

  def path(self, relative: str, node: int) -> str:
    return os.path.join(self.root(node), relative.lstrip("/"))

  def address(self, node: int) -> str:
    return "%s.%d" % (self.prefix, 10 + node)

  def start(self) -> None:
    subprocess.run([os.path.join(self.dir, "start-all")], check=True, timeout=30,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

  def sshd_pid(self, node: int, wait: float = 10.0):
    """The node's sshd pid; sshd writes its pid file only after detaching."""
    deadline = time.monotonic() + wait
    while True:
      try:
        with open(self.path("/var/run/sshd.pid", node)) as handle:
          return int(handle.read())
      except (OSError, ValueError):
        if time.monotonic() > deadline:
          return None
        time.sleep(0.05)

  def stop(self) -> None:
    subprocess.run([os.path.join(self.dir, "stop-all")], timeout=30, check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for node in range(1, self.nodes + 1):  # in case stop-all could not
      pid = self.sshd_pid(node, wait=0)
      if pid:
        try:
          os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
          pass

  def destroy(self) -> None:
    self.stop()
    shutil.rmtree(self.dir, ignore_errors=True)

  def python(self, node: int, code: str, check: bool = True, env=None):
    """Runs Python code as a node; returns the completed process."""
    proc = subprocess.run([os.path.join(self.root(node), "cmd"), sys.executable, "-c",
                           textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=60, env=env)
    if check and proc.returncode != 0:
      raise AssertionError("node%d: %s%s" % (node, proc.stdout, proc.stderr))
    return proc

  def result(self, node: int, code: str, **kwargs):
    """The JSON that code printed as its last line, run as a node."""
    return json.loads(self.python(node, code, **kwargs).stdout.splitlines()[-1])

  def authorize(self, source: int, target: int) -> None:
    """Lets root of source log into target (as gnt-node add would)."""
    with open(self.path("/root/.ssh/id_rsa.pub", source)) as handle:
      key = handle.read()
    with open(self.path("/root/.ssh/authorized_keys", target), "a") as handle:
      handle.write(key)

  def host_key(self, node: int, kind: str = "ed25519") -> str:
    with open(self.path("/etc/ssh/ssh_host_%s_key.pub" % kind, node)) as handle:
      return " ".join(handle.read().split()[:2])


@pytest.fixture(scope="module")
def cluster():
  vc = SshCluster(2)
  try:
    vc.start()
    yield vc
  finally:
    vc.destroy()


@pytest.fixture
def fresh(cluster):
  """The cluster with node1's SSH set up and no known hosts nor authorizations elsewhere."""
  for node in (1, 2):
    for relative in ("/var/lib/ganeti/known_hosts", "/root/.ssh/authorized_keys",
                     "/var/lib/ganeti/ganeti_pub_keys"):
      try:
        os.unlink(cluster.path(relative, node))
      except FileNotFoundError:
        pass
  cluster.python(1, "from ganeti import ssh; ssh.InitSSHSetup('rsa', 2048)")
  return cluster


RUN = """
  import json
  from ganeti import ssh
  r = ssh.SshRunner("cluster").Run(%r, %d, %r, **%r)
  print(json.dumps([r.exit_code, r.stdout, r.stderr, r.failed, r.fail_reason, r.output]))
"""


def _Run(cluster, node, target, command, port=PORT, **kwargs):
  return cluster.result(node, RUN % ("node%d" % target, port, command, kwargs))


# -- vcluster-setup --ssh ----------------------------------------------------

def test_sshd_per_node_config(cluster):
  config = open(cluster.path("/etc/ssh/sshd_config", 2)).read().splitlines()
  assert "ListenAddress %s" % cluster.address(2) in config
  assert "Port %d" % PORT in config
  assert "AuthorizedKeysFile %s/root/.ssh/authorized_keys" % cluster.root(2) in config
  assert "PermitRootLogin prohibit-password" in config and "UsePAM no" in config
  for kind in ("ed25519", "rsa"):
    key = cluster.path("/etc/ssh/ssh_host_%s_key" % kind, 2)
    assert os.stat(key).st_mode & 0o077 == 0
    assert "HostKey %s" % key in config
  # every node has its own host key
  assert cluster.host_key(1) != cluster.host_key(2)
  # both daemons run, each on its own address
  for node in (1, 2):
    pid = cluster.sshd_pid(node)
    assert pid and os.path.exists("/proc/%d" % pid)


def test_setup_rerun_keeps_host_keys_and_stop_all_stops_sshd(tmp_path):
  vc = SshCluster(1)
  try:
    before = vc.host_key(1, "rsa")
    subprocess.run([sys.executable, SETUP, "-E", "--ssh", "--ssh-port", "2299", "-c", "1",
                    "-p", vc.prefix, "--sbin", vc.sbin, vc.dir], check=True,
                   stdout=subprocess.DEVNULL, timeout=60)
    assert vc.host_key(1, "rsa") == before
    assert "Port 2299" in open(vc.path("/etc/ssh/sshd_config", 1)).read().splitlines()
    vc.start()
    vc.start()  # a running sshd is left alone
    pid = vc.sshd_pid(1)
    assert pid and os.path.exists("/proc/%d" % pid)
    assert subprocess.run([os.path.join(vc.dir, "stop-all")], timeout=30).returncode == 0
    assert not os.path.exists("/proc/%d" % pid) or \
      open("/proc/%d/stat" % pid).read().split()[2] == "Z"
    assert vc.sshd_pid(1, wait=0) is None
    # start-all and stop-all still drive daemon-util on the node
    assert open(vc.calls).read().split("\n")[:3] == ["node1 start-all"] * 2 + ["node1 stop-all"]
  finally:
    vc.destroy()


# -- running commands --------------------------------------------------------

def test_init_ssh_setup(fresh):
  fresh.python(1, "from ganeti import ssh; ssh.InitSSHSetup('rsa', 2048)")  # idempotent
  public = open(fresh.path("/root/.ssh/id_rsa.pub", 1)).read().strip()
  assert public.startswith("ssh-rsa ")
  assert os.stat(fresh.path("/root/.ssh/id_rsa", 1)).st_mode & 0o777 == 0o600
  assert open(fresh.path("/root/.ssh/authorized_keys", 1)).read() == public + "\n"
  known = open(fresh.path("/var/lib/ganeti/known_hosts", 1)).read().splitlines()
  assert sorted(known) == sorted("node1 " + fresh.host_key(1, kind) for kind in ("ed25519", "rsa"))


def test_run_as_the_target_node(fresh):
  exit_code, stdout, stderr, failed, _, output = _Run(
    fresh, 1, 1, 'echo "$GANETI_HOSTNAME $GANETI_ROOTDIR $HOME $X"; echo oops >&2; exit 3',
    env={"X": "a b"})
  assert (exit_code, failed) == (3, True)
  assert stdout == "node1 %s %s/root a b\n" % (fresh.root(1), fresh.root(1))
  assert stderr == "oops\n" and output == stdout + stderr
  fresh.authorize(1, 2)
  fresh.python(1, "from ganeti import ssh; ssh.AddKnownHost('node2', [%r])" % fresh.host_key(2))
  exit_code, stdout, _, failed, reason, _ = _Run(fresh, 1, 2, "cat; echo $GANETI_HOSTNAME",
                                                 stdin="in\n")
  assert (exit_code, failed, reason, stdout) == (0, False, None, "in\nnode2\n")


def test_unknown_host_key_refused_unless_unchecked(fresh):
  fresh.authorize(1, 2)
  exit_code, stdout, _, failed, reason, _ = _Run(fresh, 1, 2, "echo $GANETI_HOSTNAME")
  assert (exit_code, failed, stdout) == (255, True, "")
  assert "Host key verification failed for node2" in reason and "unknown" in reason
  assert "node2" not in open(fresh.path("/var/lib/ganeti/known_hosts", 1)).read()
  # --no-ssh-key-check: accepted and recorded, then known for strict checks
  assert _Run(fresh, 1, 2, "echo $GANETI_HOSTNAME", strict_host_check=False)[1] == "node2\n"
  known = open(fresh.path("/var/lib/ganeti/known_hosts", 1)).read().splitlines()
  assert "node2 " + fresh.host_key(2) in known
  assert _Run(fresh, 1, 2, "echo $GANETI_HOSTNAME")[1] == "node2\n"


def test_mismatching_host_key_always_refused(fresh):
  fresh.authorize(1, 2)
  # node1's host key recorded under node2's name: a different machine answers
  fresh.python(1, "from ganeti import ssh; ssh.AddKnownHost('node2', [%r])" % fresh.host_key(1))
  for strict in (True, False):
    exit_code, stdout, _, _, reason, _ = _Run(fresh, 1, 2, "echo reached",
                                              strict_host_check=strict)
    assert (exit_code, stdout) == (255, "")
    assert "Host key verification failed for node2" in reason and "does not match" in reason


def test_auth_failure_and_refused_connection(fresh):
  reason = _Run(fresh, 1, 2, "true", strict_host_check=False)[4]
  assert "Permission denied (publickey)" in reason
  exit_code, _, _, _, reason, _ = _Run(fresh, 1, 2, "true", port=1)
  assert exit_code == 255 and "connect to host node2" in reason and "port 1" in reason


def test_timeout(fresh):
  start = time.monotonic()
  exit_code, _, _, failed, reason, _ = _Run(fresh, 1, 1, "sleep 10", timeout=1)
  assert failed and exit_code is None and "timed out" in reason
  assert time.monotonic() - start < 8


def test_copy_file_to_node(fresh):
  fresh.authorize(1, 2)
  source = fresh.path("/var/lib/ganeti/rapi/users", 1)
  os.makedirs(os.path.dirname(source), exist_ok=True)
  os.makedirs(os.path.dirname(fresh.path("/var/lib/ganeti/rapi/users", 2)), exist_ok=True)
  with open(source, "w") as handle:
    handle.write("admin secret write\n")
  os.chmod(source, 0o640)
  copied = fresh.result(1, """
    import json, os
    from ganeti import pathutils, ssh
    print(json.dumps(ssh.SshRunner("cluster").CopyFileToNode(
      "node2", %d, pathutils.RAPI_USERS_FILE, strict_host_check=False)))
  """ % PORT)
  assert copied is True
  target = fresh.path("/var/lib/ganeti/rapi/users", 2)
  assert open(target).read() == "admin secret write\n"
  assert os.stat(target).st_mode & 0o777 == 0o640
  assert not [name for name in os.listdir(os.path.dirname(target)) if ".tmp-" in name]
  failed = fresh.result(1, """
    import json
    from ganeti import pathutils, ssh
    print(json.dumps(ssh.SshRunner().CopyFileToNode("node2", 1, pathutils.RAPI_USERS_FILE)))
  """)
  assert failed is False


# -- key files (no sshd needed) -------------------------------------------

KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHp6CYxSF1QDNR0v9zA+GOJNGDZ3HeQlQmnATtHzeKxX a@x"
KEY_B = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC0 b@y"


def test_authorized_keys_edits(cluster):
  out = cluster.result(1, """
    import json, os
    from ganeti import ssh
    path = os.environ["GANETI_ROOTDIR"] + "/tmp-ak/authorized_keys"
    steps = [ssh.AddAuthorizedKeys(path, [%r, %r]),
             ssh.AddAuthorizedKeys(path, [%r.replace("a@x", "other comment")]),
             ssh.HasAuthorizedKey(path, %r)]
    first = open(path).read()
    steps += [ssh.RemoveAuthorizedKeys(path, [%r]), ssh.RemoveAuthorizedKeys(path, [%r])]
    print(json.dumps([steps, first, open(path).read(), oct(os.stat(path).st_mode & 0o777),
                      sorted(os.listdir(os.path.dirname(path)))]))
  """ % (KEY_A, KEY_B, KEY_A, KEY_B, KEY_A, KEY_A))
  steps, first, after, mode, names = out
  assert steps == [True, False, True, True, False]
  assert first == KEY_A + "\n" + KEY_B + "\n"
  assert after == KEY_B + "\n" and mode == "0o600" and names == ["authorized_keys"]


def test_public_key_list_and_known_hosts(cluster):
  out = cluster.result(1, """
    import json
    from ganeti import pathutils, ssh
    ssh.ClearPublicKeys()
    ssh.AddPublicKey("uuid-1", %r)
    ssh.AddPublicKey("uuid-2", %r)
    ssh.AddPublicKey("uuid-1", %r)
    ssh.AddPublicKey("uuid-2", %r, replace=True)
    listed = ssh.ReadPublicKeys()
    ssh.RemovePublicKeys("uuid-1")
    path = pathutils.DATA_DIR + "/known_hosts.test"
    ssh.AddKnownHost("nodeX", [%r, %r], path)
    ssh.AddKnownHost("nodeX", [%r.replace("AAAAC3", "AAAAC4")], path)
    print(json.dumps([listed, ssh.ReadPublicKeys(), open(path).read().splitlines()]))
  """ % (KEY_A, KEY_B, KEY_A, KEY_A, KEY_A, KEY_B, KEY_A))
  listed, after, known = out
  assert listed == {"uuid-1": [KEY_A], "uuid-2": [KEY_A]}
  assert after == {"uuid-2": [KEY_A]}
  assert known == ["nodeX ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC0",
                   "nodeX ssh-ed25519 " + KEY_A.split()[1].replace("AAAAC3", "AAAAC4")]


# -- RPC handlers -----------------------------------------------------------

HANDLER = """
  import json
  from ganeti.backend import sshkeys
  print(json.dumps(sshkeys.CALLS[%r](*%r)))
"""


def test_ssh_key_handlers(fresh):
  fresh.python(2, "from ganeti import ssh; ssh.InitSSHSetup('rsa', 2048)")
  key1 = open(fresh.path("/root/.ssh/id_rsa.pub", 1)).read().strip()
  key2 = open(fresh.path("/root/.ssh/id_rsa.pub", 2)).read().strip()
  fresh.authorize(1, 2)
  fresh.python(1, "from ganeti import ssh; ssh.AddKnownHost('node2', [%r])" % fresh.host_key(2))
  with open(fresh.path("/var/lib/ganeti/ssconf_ssh_ports", 1), "w") as handle:
    handle.write("node1=%d\nnode2=%d\n" % (PORT, PORT))
  authorized1 = fresh.path("/root/.ssh/authorized_keys", 1)
  pub_keys1 = fresh.path("/var/lib/ganeti/ganeti_pub_keys", 1)
  # on the master: node2's key fetched over SSH, authorized and listed
  added = fresh.result(1, HANDLER % ("node_ssh_key_add",
                                     ["uuid-2", "node2", ["node1", "node2"], True, True, True]))
  assert added == [key2]
  assert key2 in open(authorized1).read().splitlines()
  assert open(pub_keys1).read() == "uuid-2 %s\n" % key2
  # on node2 itself: its own key goes into its list
  fresh.result(2, HANDLER % ("node_ssh_key_add",
                             ["uuid-2", "node2", ["node1", "node2"], False, True, False]))
  assert open(fresh.path("/var/lib/ganeti/ganeti_pub_keys", 2)).read() == "uuid-2 %s\n" % key2
  # an unknown node without fetching: a clear failure
  proc = fresh.python(1, HANDLER % ("node_ssh_key_add",
                                    ["uuid-9", "node9", None, True, False, False]), check=False)
  assert proc.returncode != 0 and "No SSH public key of node node9" in proc.stderr
  # removal on the master
  fresh.result(1, HANDLER % ("node_ssh_key_remove",
                             ["uuid-2", "node2", [], None, True, True, False, False, False]))
  assert key2 not in open(authorized1).read() and key1 in open(authorized1).read()
  assert open(pub_keys1).read() == ""
  # renewal on node2: a new ecdsa pair replaces the rsa one and is listed
  renewed = fresh.result(2, HANDLER % ("node_ssh_keys_renew",
                                       [["uuid-1", "uuid-2"], ["node1", "node2"], [],
                                        ["node2"], "rsa", "ecdsa", 256]))
  assert list(renewed) == ["uuid-2"] and renewed["uuid-2"].startswith("ecdsa-sha2-nistp256 ")
  assert not os.path.exists(fresh.path("/root/.ssh/id_rsa", 2))
  assert open(fresh.path("/var/lib/ganeti/ganeti_pub_keys", 2)).read() == \
    "uuid-2 %s\n" % renewed["uuid-2"]
  # node2 leaving: other nodes' keys cleared from its authorized_keys, list emptied
  with open(fresh.path("/var/lib/ganeti/ganeti_pub_keys", 2), "a") as handle:
    handle.write("uuid-1 %s\n" % key1)
  fresh.result(2, HANDLER % ("node_ssh_key_remove",
                             ["uuid-2", "node2", ["uuid-1"], None, False, False, True, True,
                              False]))
  assert key1 not in open(fresh.path("/root/.ssh/authorized_keys", 2)).read()
  assert renewed["uuid-2"] in open(fresh.path("/root/.ssh/authorized_keys", 2)).read()
  assert open(fresh.path("/var/lib/ganeti/ganeti_pub_keys", 2)).read() == ""
