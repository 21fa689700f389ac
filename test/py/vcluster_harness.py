"""A virtual cluster for tests: real daemons, real LUXI, one root per node.

Each test cluster gets its own directory and its own 127.x.y prefix so that
clusters of concurrent test runs never meet.
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Iterator, Optional

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SBIN = os.path.join(TOP, "build", "sbin")
SETUP = os.path.join(TOP, "tools", "vcluster-setup")
SSH_PORT = 2222  # each node's sshd listens on its own address

# Run as a node: submits opcodes (and LUXI queries, as "Query") in turn
_SUBMIT_SCRIPT = """
import json, sys
from ganeti import cli, errors, luxi, opcodes
results = []
for name, kw in json.loads(sys.argv[1]):
  try:
    if name == "Query":
      results.append(["ok", luxi.Client().Query(kw["what"], kw["fields"], kw.get("filter"))])
      continue
    messages = []
    op = cli.MakeOpCode(getattr(opcodes, name), **kw)
    value = cli.SubmitOpCode(op, feedback_fn=lambda msg: messages.append(msg[2]))
    results.append(["ok", value, messages])
  except errors.GenericError as err:
    results.append(["error", type(err).__name__, str(err)])
print(json.dumps(results))
"""


class VirtualCluster:
  """Nodes node1..nodeN below a temporary directory."""

  def __init__(self, nodes: int = 1, prefix: Optional[str] = None, ssh: bool = False) -> None:
    """ssh: give every node its own sshd (nodes then join with gnt-node add)."""
    self.dir = tempfile.mkdtemp(prefix="gnt-vc-")
    self.nodes = nodes
    self.ssh = ssh
    # a prefix per cluster: 127.<pid-derived>.<random-ish> keeps runs apart
    self.prefix = prefix or "127.%d.%d" % (20 + os.getpid() % 200, int(time.time() * 1000) % 250)
    subprocess.run([SETUP, "-E", "-c", str(nodes), "-p", self.prefix, "--sbin", SBIN]
                   + (["--ssh", "--ssh-port", str(SSH_PORT)] if ssh else []) + [self.dir],
                   check=True, stdout=subprocess.DEVNULL)
    if ssh:
      # starts the sshds; the Ganeti daemons of nodes outside a cluster refuse to start
      subprocess.run([os.path.join(self.dir, "start-all")], stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, check=False, timeout=60)

  def root(self, node: int = 1) -> str:
    return os.path.join(self.dir, "node%d" % node)

  def env(self, node: int = 1) -> dict[str, str]:
    env = dict(os.environ)
    env.update(GANETI_ROOTDIR=self.root(node), GANETI_HOSTNAME="node%d" % node,
               PATH=SBIN + os.pathsep + env.get("PATH", ""))
    return env

  def run(self, *args: str, node: int = 1, check: bool = True,
          timeout: float = 120) -> subprocess.CompletedProcess:
    """Runs a command as a node; returns the completed process (text output)."""
    proc = subprocess.run(list(args), env=self.env(node), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
      raise AssertionError("%s failed (%d):\n%s%s" % (" ".join(args), proc.returncode,
                                                       proc.stdout, proc.stderr))
    return proc

  def submit(self, *ops: tuple[str, dict], node: int = 1) -> list:
    """Submits opcodes ((class name, parameters); "Query" for a LUXI query) in
    turn as a node; per opcode ["ok", result, feedback messages] or ["error",
    error class name, message]; per query ["ok", reply]."""
    env = dict(self.env(node), PYTHONPATH=os.path.join(TOP, "build"))
    proc = subprocess.run([sys.executable, "-c", _SUBMIT_SCRIPT, json.dumps(ops)], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0:
      raise AssertionError("submitting %s failed:\n%s" % (ops, proc.stderr))
    return json.loads(proc.stdout.splitlines()[-1])

  def init(self, *extra: str) -> None:
    ssh_options = (["--node-parameters", "ssh_port=%d" % SSH_PORT] if self.ssh
                   else ["--no-ssh-init"])
    self.run("gnt-cluster", "init", "--no-etc-hosts", *ssh_options, "--master-netdev=lo",
             "--enabled-hypervisors=fake", "--enabled-disk-templates=diskless,file",
             "--nic-parameters", "mode=routed,link=", *extra, "cluster")

  def authorize_master_key(self, node: int, master: int = 1) -> None:
    """What an administrator does before gnt-node add: let the master's root in."""
    with open(self.path("/root/.ssh/id_rsa.pub", master)) as handle:
      key = handle.read()
    with open(self.path("/root/.ssh/authorized_keys", node), "a") as handle:
      handle.write(key)

  def add_node(self, node: int, *extra: str) -> subprocess.CompletedProcess:
    self.authorize_master_key(node)
    return self.run("gnt-node", "add", "--no-ssh-key-check", *extra, "node%d" % node)

  def path(self, relative: str, node: int = 1) -> str:
    return os.path.join(self.root(node), relative.lstrip("/"))

  def masterd_pid(self, node: int = 1) -> Optional[int]:
    try:
      with open(self.path("/var/run/ganeti/ganeti-masterd.pid", node)) as handle:
        return int(handle.read().strip())
    except (OSError, ValueError):
      return None

  def stop(self) -> None:
    stop_all = os.path.join(self.dir, "stop-all")
    if self.ssh and os.path.exists(stop_all):
      subprocess.run([stop_all], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     check=False, timeout=60 + 10 * self.nodes)
      return
    for node in range(1, self.nodes + 1):
      subprocess.run([os.path.join(SBIN, "daemon-util"), "stop-all"], env=self.env(node),
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                     timeout=60)

  def destroy(self) -> None:
    self.stop()
    shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def JoinedCluster(nodes: int, *init_args: str) -> Iterator[VirtualCluster]:
  """A cluster of nodes virtual nodes with their own sshds: initialised on
  node1 (with init_args), the others joined over SSH; destroyed on exit."""
  vc = VirtualCluster(nodes=nodes, ssh=True)
  try:
    vc.init(*init_args)
    for node in range(2, nodes + 1):
      vc.add_node(node)
    yield vc
  finally:
    vc.destroy()
