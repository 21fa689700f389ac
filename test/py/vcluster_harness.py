"""A virtual cluster for tests: real daemons, real LUXI, one root per node.

Each test cluster gets its own directory and its own 127.x.y prefix so that
clusters of concurrent test runs never meet.
"""

import os
import shutil
import subprocess
import tempfile
import time
from typing import Optional

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SBIN = os.path.join(TOP, "build", "sbin")
SETUP = os.path.join(TOP, "tools", "vcluster-setup")


class VirtualCluster:
  """Nodes node1..nodeN below a temporary directory."""

  def __init__(self, nodes: int = 1, prefix: Optional[str] = None) -> None:
    self.dir = tempfile.mkdtemp(prefix="gnt-vc-")
    self.nodes = nodes
    # a prefix per cluster: 127.<pid-derived>.<random-ish> keeps runs apart
    self.prefix = prefix or "127.%d.%d" % (20 + os.getpid() % 200, int(time.time() * 1000) % 250)
    subprocess.run([SETUP, "-E", "-c", str(nodes), "-p", self.prefix, "--sbin", SBIN, self.dir],
                   check=True, stdout=subprocess.DEVNULL)

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

  def init(self, *extra: str) -> None:
    self.run("gnt-cluster", "init", "--no-etc-hosts", "--no-ssh-init", "--master-netdev=lo",
             "--enabled-hypervisors=fake", "--enabled-disk-templates=diskless,file",
             *extra, "cluster")

  def path(self, relative: str, node: int = 1) -> str:
    return os.path.join(self.root(node), relative.lstrip("/"))

  def masterd_pid(self, node: int = 1) -> Optional[int]:
    try:
      with open(self.path("/var/run/ganeti/ganeti-masterd.pid", node)) as handle:
        return int(handle.read().strip())
    except (OSError, ValueError):
      return None

  def stop(self) -> None:
    for node in range(1, self.nodes + 1):
      subprocess.run([os.path.join(SBIN, "daemon-util"), "stop-all"], env=self.env(node),
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
                     timeout=60)

  def destroy(self) -> None:
    self.stop()
    shutil.rmtree(self.dir, ignore_errors=True)
