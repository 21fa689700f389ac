"""The node VMs: a network namespace with a bridge, one TCG guest per node, SSH to them.

Everything of a run lives in its run directory (qcow2 overlays on the shared
base image, a data disk per node for its volume group, console logs, the
state file) and in one network namespace with a unique name.  The nodes have
no route out; the host reaches them by running ssh inside the namespace,
where the bridge carries the host's address (.1 of the nodes' network).
"""

import ipaddress
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import time
import uuid
from typing import Optional

from qa import image as image_mod
from qa import util

STATE_FILE = "state.json"
BRIDGE = "qabr0"
BOOT_TIMEOUT = 300
_SSH_OPTIONS = ("-F", "/dev/null", "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
                "-o", "ServerAliveInterval=10", "-o", "ServerAliveCountMax=3",
                "-o", "KexAlgorithms=curve25519-sha256",
                "-o", "ControlMaster=auto", "-o", "ControlPersist=900")
# what ssh says when its shared connection closed under a new session
_SHARED_CONNECTION_LOST = b"mux_client_request_session: read from master failed"


class Node:
  def __init__(self, index: int, name: str, address: str, prefix: int) -> None:
    self.index = index
    self.name = name
    self.address = address
    self.prefix = prefix

  @property
  def short_name(self) -> str:
    return self.name.split(".")[0]

  @property
  def tap(self) -> str:
    return "qatap%d" % self.index


class Cluster:
  """The node VMs of one run (described by the QA config's "nodes" and "vm")."""

  def __init__(self, config: dict, run_dir: str) -> None:
    self.config = config
    self.run_dir = os.path.abspath(run_dir)
    networks = {ipaddress.ip_interface(node["address"]).network for node in config["nodes"]}
    if len(networks) != 1:
      raise util.QAError("All nodes must share one network, got %s" %
                         ", ".join(map(str, networks)))
    self.network = networks.pop()
    self.nodes = [Node(index, node["name"], str(ipaddress.ip_interface(node["address"]).ip),
                       self.network.prefixlen)
                  for index, node in enumerate(config["nodes"], 1)]
    self.state = self._LoadState()

  # --- state --------------------------------------------------------------------

  def _StatePath(self) -> str:
    return os.path.join(self.run_dir, STATE_FILE)

  def _LoadState(self) -> dict:
    try:
      with open(self._StatePath()) as handle:
        return json.load(handle)
    except FileNotFoundError:
      return {}

  def _SaveState(self) -> None:
    os.makedirs(self.run_dir, exist_ok=True)
    with open(self._StatePath() + ".new", "w") as handle:
      json.dump(self.state, handle, indent=1)
    os.rename(self._StatePath() + ".new", self._StatePath())

  @property
  def netns(self) -> str:
    if "netns" not in self.state:
      raise util.QAError("No QA cluster is up in %s" % self.run_dir)
    return self.state["netns"]

  def Node(self, name: str) -> Node:
    for node in self.nodes:
      if name in (node.name, node.short_name):
        return node
    raise util.QAError("Unknown node %s" % name)

  # --- SSH ----------------------------------------------------------------------

  def SshArgv(self, node: Node, command: str) -> list[str]:
    control = os.path.join(self.run_dir, "ssh-%s" % node.short_name)
    return (["ip", "netns", "exec", self.netns, "ssh"] + list(_SSH_OPTIONS) +
            ["-o", "ControlPath=" + control, "-i", self.state["ssh_key"],
             "root@" + node.address, command])

  def Ssh(self, node: Node, command: str, stdin: Optional[bytes] = None,
          timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
    argv = self.SshArgv(node, command)
    result = util.Run(argv, stdin=stdin, timeout=timeout, check=False)
    if result.returncode == 255 and _SHARED_CONNECTION_LOST in result.stderr:
      # the shared connection ended (ControlPersist ran out) just as this
      # session asked it for a channel: the command never started
      result = util.Run(argv, stdin=stdin, timeout=timeout, check=False)
    if check:
      util.CheckResult(argv, result)
    return result

  def Push(self, node: Node, data: bytes, path: str, mode: str = "0644") -> None:
    """Writes data to a file on a node."""
    quoted = shlex.quote(path)
    self.Ssh(node, "mkdir -p $(dirname %s) && cat > %s && chmod %s %s" %
             (quoted, quoted, mode, quoted), stdin=data)

  # --- qemu's monitor --------------------------------------------------------------

  def MonitorPath(self, node: Node) -> str:
    return os.path.join(self.run_dir, "%s.monitor" % node.short_name)

  def Monitor(self, node: Node, command: str, timeout: float = 10) -> str:
    """The answer of the node VM's human monitor to one command."""
    prompt = b"(qemu) "
    with socket.socket(socket.AF_UNIX) as conn:
      conn.settimeout(timeout)

      def upto_prompt() -> bytes:
        data = b""
        while not data.endswith(prompt):
          chunk = conn.recv(65536)
          if not chunk:
            raise util.QAError("The monitor of %s closed" % node.name)
          data += chunk
        return data[:-len(prompt)]

      try:
        conn.connect(self.MonitorPath(node))
        upto_prompt()  # (its greeting)
        conn.sendall(command.encode() + b"\n")
        answer = upto_prompt()
      except OSError as err:
        raise util.QAError("The monitor of %s: %s" % (node.name, err)) from None
    # (the monitor echoes the command, with terminal escapes, on a line of its own)
    return answer.partition(b"\r\n")[2].decode("utf-8", "replace")

  def TranslationFlushes(self, node: Node) -> Optional[int]:
    """How often qemu flushed the node's translation cache so far (None: a
    node started without a monitor)."""
    if not os.path.exists(self.MonitorPath(node)):
      return None
    match = re.search(r"TB flush count\s+(\d+)", self.Monitor(node, "info jit"))
    return int(match.group(1)) if match else None

  # --- up -------------------------------------------------------------------------

  def Up(self, image: image_mod.Image) -> None:
    if self.state.get("netns"):
      raise util.QAError("A QA cluster is already up in %s (run 'down' first)" % self.run_dir)
    os.makedirs(self.run_dir, exist_ok=True)
    self.state = {"netns": "qa-%s" % uuid.uuid4().hex[:8], "ssh_key": image.ssh_key,
                  "pids": {}}
    self._SaveState()
    self._MakeNetwork()
    for node in self.nodes:
      self._StartVm(node, image)
    for node in self.nodes:
      console = os.path.join(self.run_dir, "%s-console.log" % node.short_name)
      waited = util.WaitFor("ssh to %s (its console: %s)" % (node.name, console),
                            lambda: self._Reachable(node), BOOT_TIMEOUT, interval=2)
      util.Log("%s up (ssh after %.0f s more)" % (node.name, waited))

  def _MakeNetwork(self) -> None:
    netns = self.netns
    util.Run(["ip", "netns", "add", netns])
    host_address = "%s/%d" % (next(self.network.hosts()), self.network.prefixlen)
    for argv in (["link", "set", "lo", "up"],
                 ["link", "add", BRIDGE, "type", "bridge"],
                 ["addr", "add", host_address, "dev", BRIDGE],
                 ["link", "set", BRIDGE, "up"]):
      util.Run(["ip", "-n", netns] + argv)
    for node in self.nodes:
      util.Run(["ip", "-n", netns, "tuntap", "add", "dev", node.tap, "mode", "tap"])
      util.Run(["ip", "-n", netns, "link", "set", node.tap, "master", BRIDGE, "up"])

  def HostsParam(self) -> str:
    """name=ip pairs of every name the nodes must resolve (nodes, cluster)."""
    pairs = [(node.name, node.address) for node in self.nodes]
    cluster = self.config.get("cluster", {})
    if cluster.get("name") and cluster.get("address"):
      pairs.append((cluster["name"], cluster["address"]))
    return ",".join("%s=%s" % pair for pair in pairs)

  def _StartVm(self, node: Node, image: image_mod.Image) -> None:
    vm = self.config.get("vm", {})
    overlay = os.path.join(self.run_dir, "%s-root.qcow2" % node.short_name)
    data = os.path.join(self.run_dir, "%s-data.qcow2" % node.short_name)
    util.Run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", image.base, "-F", "raw",
              overlay])
    util.Run(["qemu-img", "create", "-q", "-f", "qcow2", data, vm.get("data-disk", "24G")])
    pidfile = os.path.join(self.run_dir, "%s.pid" % node.short_name)
    append = ("console=ttyS0 panic=-1 qa_name=%s qa_addr=%s/%d qa_hosts=%s" %
              (node.name, node.address, node.prefix, self.HostsParam()))
    argv = ["ip", "netns", "exec", self.netns, "qemu-system-x86_64",
            "-name", "qa-" + node.short_name,
            "-accel", "tcg,thread=multi,tb-size=%d" % vm.get("tb-size", 1024),
            "-cpu", "max", "-m", str(vm.get("memory", 1024)), "-smp", str(vm.get("cpus", 1)),
            "-nodefaults", "-display", "none", "-no-reboot",
            "-kernel", image.kernel, "-initrd", image.initrd, "-append", append,
            "-drive", "file=%s,format=qcow2,if=none,id=root,cache=unsafe" % overlay,
            "-device", "virtio-blk-pci,drive=root",
            "-drive", "file=%s,format=qcow2,if=none,id=data,cache=unsafe" % data,
            "-device", "virtio-blk-pci,drive=data",
            "-netdev", "tap,id=net0,ifname=%s,script=no,downscript=no" % node.tap,
            "-device", "virtio-net-pci,netdev=net0,mac=52:54:00:51:00:%02x" % node.index,
            "-serial", "file:" + os.path.join(self.run_dir, "%s-console.log" %
                                              node.short_name),
            "-monitor", "unix:%s,server=on,wait=off" % self.MonitorPath(node),
            "-pidfile", pidfile, "-daemonize"]
    # kept so that a killed node can boot again on the same disks (Restart)
    self.state.setdefault("argv", {})[node.name] = argv
    self._Launch(node)

  def _Launch(self, node: Node) -> None:
    pidfile = os.path.join(self.run_dir, "%s.pid" % node.short_name)
    util.Run(self.state["argv"][node.name], timeout=60)
    with open(pidfile) as handle:
      self.state["pids"][node.name] = int(handle.read().strip())
    self._SaveState()

  def _Reachable(self, node: Node) -> bool:
    result = self.Ssh(node, "true", timeout=30, check=False)
    return result.returncode == 0

  # --- down -----------------------------------------------------------------------

  def Running(self) -> bool:
    """Whether this run's VMs are all up (not merely recorded in the state)."""
    pids = self.state.get("pids", {})
    return (bool(self.state.get("netns")) and len(pids) == len(self.nodes) and
            all(self._OurQemu(pid) for pid in pids.values()))

  def _OurQemu(self, pid: int) -> bool:
    """Whether pid is still a qemu this run started (pids get reused)."""
    try:
      with open("/proc/%d/cmdline" % pid, "rb") as handle:
        return self.run_dir.encode() in handle.read()
    except OSError:
      return False

  def Kill(self, node: Node) -> None:
    """Stops a node VM at once (a crash, as far as the cluster can tell)."""
    pid = self.state.get("pids", {}).get(node.name)
    if pid and self._OurQemu(pid):
      os.kill(pid, signal.SIGKILL)
      util.WaitFor("qemu of %s to exit" % node.name, lambda: not self._OurQemu(pid), 30, 0.2)
    self._CloseSsh(node)

  def Restart(self, node: Node) -> float:
    """Boots a killed node again on its disks (root overlay and VG disk as the
    crash left them); the seconds until SSH answered."""
    if self._OurQemu(self.state.get("pids", {}).get(node.name, 0)):
      raise util.QAError("%s is still running" % node.name)
    self._CloseSsh(node)
    self._Launch(node)
    console = os.path.join(self.run_dir, "%s-console.log" % node.short_name)
    return util.WaitFor("ssh to %s (its console: %s)" % (node.name, console),
                        lambda: self._Reachable(node), BOOT_TIMEOUT, interval=2)

  def _CloseSsh(self, node: Node) -> None:
    """Ends the node's SSH connection master (a dead node's would hang new commands)."""
    netns = self.state.get("netns")
    control = os.path.join(self.run_dir, "ssh-%s" % node.short_name)
    if netns and os.path.exists(control):
      util.Run(["ip", "netns", "exec", netns, "ssh", "-o", "ControlPath=" + control,
                "-O", "exit", "root@" + node.address], check=False, timeout=30)

  def Down(self) -> None:
    """Kills the VMs, removes the namespace and the run's disks; safe to repeat."""
    netns = self.state.get("netns")
    for node in self.nodes:
      self._CloseSsh(node)
      self.Kill(node)
    if netns:
      util.Run(["ip", "netns", "del", netns], check=False)
    if os.path.isdir(self.run_dir):
      for name in os.listdir(self.run_dir):
        if name.endswith((".qcow2", ".pid", ".monitor")) or name.startswith("ssh-"):
          os.unlink(os.path.join(self.run_dir, name))
    self.state = {}
    if os.path.exists(self._StatePath()):
      os.unlink(self._StatePath())
