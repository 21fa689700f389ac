"""Debian's Ganeti 3.0 on the QA cluster's nodes, for benchmarks side by side.

The nodes have no route out, so the packages Ganeti needs beyond the node
image are found and downloaded here (apt's view of what a node lacks: its
own dpkg status against this machine's package lists, which name the same
mirror the image came from) and installed over SSH, with no service started
by the packages.  Before that, this project's cluster is taken apart: both
keep their state in /var/lib/ganeti and /etc/ganeti, and both daemons want
the same ports.  Debian's commands are then run by their full path
(/usr/local/sbin, first in PATH, holds ours).
"""

import concurrent.futures
import os
import re
import shlex
import shutil
import subprocess
import tempfile

from qa import nodes as nodes_mod
from qa import step_base
from qa import steps
from qa import util

REAL_PATH = "PATH=/usr/sbin:/usr/bin:/sbin:/bin"
OUR_DAEMON_UTIL = "/usr/local/lib/ganeti/daemon-util"
# where the packages are copied on a node
NODE_DEBS = "/root/real-ganeti-debs"
# what the packages may not do while they install: start a service
_POLICY_RC_D = "/usr/sbin/policy-rc.d"
# Debian's daemons would read our daemons' options (the bench's --command-trace)
_DEFAULTS_FILE = "/etc/default/ganeti"


def Real(command: str) -> str:
  """A command line that runs Debian's Ganeti tools rather than ours."""
  return "%s %s" % (REAL_PATH, command)


def _MissingPackages(cluster: nodes_mod.Cluster) -> list[str]:
  """The packages apt would install on a node for Debian's ganeti."""
  status = cluster.Ssh(cluster.nodes[0], "cat /var/lib/dpkg/status").stdout
  with tempfile.NamedTemporaryFile(prefix="qa-dpkg-status-") as handle:
    handle.write(status)
    handle.flush()
    result = util.Run(["apt-get", "-s", "--no-install-recommends",
                       "-o", "Dir::State::status=" + handle.name, "install", "ganeti"],
                      timeout=300, check=False)
  if result.returncode != 0:
    raise util.QAError("apt cannot tell what Debian's ganeti needs on the nodes: %s" %
                       result.stderr.decode(errors="replace")[-2000:])
  return [line.split()[1] for line in result.stdout.decode().splitlines()
          if line.startswith("Inst ")]


def Download(cluster: nodes_mod.Cluster, directory: str) -> list[str]:
  """The .deb files for the nodes, fetched into directory (afresh: about 20 MB,
  and no older version may stay beside the current one)."""
  packages = _MissingPackages(cluster)
  shutil.rmtree(directory, ignore_errors=True)
  os.makedirs(directory)
  util.Log("downloading %d packages for Debian's Ganeti: %s" % (len(packages),
                                                                " ".join(packages)))
  util.Run(["apt-get", "download"] + packages, cwd=directory, timeout=900)
  return sorted(os.path.join(directory, name) for name in os.listdir(directory)
                if name.endswith(".deb"))


def TakeDownOurs(ctx: step_base.Context) -> None:
  """Removes this project's cluster (its instances must be gone) and its
  daemons' state on every node."""
  cluster, values = ctx.cluster, ctx.values
  master = cluster.nodes[0]
  for node in cluster.nodes[1:]:
    cluster.Ssh(master, "gnt-node remove %s" % shlex.quote(node.name), timeout=300)
  cluster.Ssh(master, "gnt-cluster destroy --yes-do-it", timeout=300)
  for node in cluster.nodes:
    cluster.Ssh(node, "%s stop-all; rm -rf /var/lib/ganeti /etc/ganeti /var/run/ganeti"
                " /var/log/ganeti %s; ip address del %s/32 dev %s 2>/dev/null; true" % (
                  OUR_DAEMON_UTIL, _DEFAULTS_FILE, values["cluster_ip"],
                  values["master_netdev"]), timeout=300)
    # a node leaving a cluster loses the cluster's SSH key (as with Ganeti),
    # and on these nodes that key is the node image's root key: it comes back
    # (Debian's Ganeti, told to leave SSH alone, joins nodes with it)
    key = cluster.state["ssh_key"]
    for name, source in (("id_rsa", key), ("id_rsa.pub", key + ".pub"),
                         ("authorized_keys", key + ".pub")):
      with open(source, "rb") as handle:
        cluster.Push(node, handle.read(), "/root/.ssh/" + name, mode="0600")


def Install(cluster: nodes_mod.Cluster, debs: list[str]) -> None:
  """Installs the packages on every node (at once: minutes of emulated CPU
  each) without starting anything."""
  def OnNode(node: nodes_mod.Node) -> None:
    cluster.Ssh(node, "rm -rf %s && mkdir -p %s" % (NODE_DEBS, NODE_DEBS))
    for path in debs:
      with open(path, "rb") as handle:
        cluster.Push(node, handle.read(), os.path.join(NODE_DEBS, os.path.basename(path)))
    cluster.Ssh(node, "printf '#!/bin/sh\\nexit 101\\n' > {policy} && chmod 755 {policy} &&"
                " DEBIAN_FRONTEND=noninteractive dpkg -i {debs}/*.deb; rc=$?;"
                " rm -f {policy}; exit $rc".format(policy=_POLICY_RC_D, debs=NODE_DEBS),
                timeout=900)
  with concurrent.futures.ThreadPoolExecutor(len(cluster.nodes)) as pool:
    for done in [pool.submit(OnNode, node) for node in cluster.nodes]:
      done.result()


def InitCluster(ctx: step_base.Context, templates: str) -> None:
  """Debian's Ganeti cluster over the same nodes, with our cluster's parameters
  (SSH between the nodes is already set up: Ganeti leaves it alone)."""
  commands = [Real(steps.CLUSTER_INIT), Real(steps.TEST_DISKS_IPOLICY)] + [
    Real("gnt-node add --no-ssh-key-check %s" % node.name) for node in ctx.cluster.nodes[1:]]
  for command in commands:
    ctx.Run(step_base.Command(command), {"templates": templates,
                                         "init_options": " --no-ssh-init"})
  ctx.Run(step_base.Command(Real("gnt-node list --no-headers -o name"), expect=tuple(
    "^%s$" % re.escape(node.name) for node in ctx.cluster.nodes)))


def Version(cluster: nodes_mod.Cluster) -> str:
  """Which Ganeti the nodes got, e.g. "Debian's Ganeti 3.0.2-3"."""
  result = cluster.Ssh(cluster.nodes[0], Real("gnt-cluster --version"), check=False)
  match = re.search(r"\(ganeti ([^)]+)\)", result.stdout.decode(errors="replace"))
  return "Debian's Ganeti %s" % (match.group(1) if match else "(version unknown)")


def CheckHost() -> None:
  """This machine must be able to fetch the packages."""
  if subprocess.run(["apt-get", "--version"], capture_output=True, check=False).returncode:
    raise util.QAError("apt-get is needed to fetch Debian's Ganeti for the nodes")
