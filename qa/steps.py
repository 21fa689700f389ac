"""The QA steps: real commands over SSH on the nodes, each with its output checked.

A step is a list of commands (data: where it runs, the command line, what
its output must and must not show) or a function for steps that move data
between nodes.  Command lines are templates over the QA config: {cluster},
{vg}, {master}, {node2}, {node3}, {nodes}, {templates}, {hypervisors}, and
per instance {instance}, {template}, {disk_size}, {os}, {pnode}, {snode}.
"""

import os
import re
import select
import shlex
import subprocess
import time
from typing import Optional

from qa import nodes as nodes_mod
from qa import util

STORAGE_SCRIPT = os.path.join(os.path.dirname(__file__), "node", "storage_exercise.py")
STORAGE_SCRIPT_ON_NODE = "/root/qa-storage-exercise.py"
DRBD_TEST_MIB = 32
DRBD_SYNC_TIMEOUT = 120
CRASH_BLOCKS = 64
CRASH_AFTER_ACKS = 8


class Command:
  """One command: on "master", "others", "all" or a node index (1-based)."""

  def __init__(self, command: str, on: object = "master", expect: tuple = (),
               reject: tuple = (r"^ERROR:", r"Traceback"), timeout: float = 600) -> None:
    self.command = command
    self.on = on
    self.expect = expect
    self.reject = reject
    self.timeout = timeout


class Context:
  """What a step sees: the VMs, the QA config and the names commands use."""

  def __init__(self, cluster: nodes_mod.Cluster, config: dict,
               log_path: Optional[str] = None) -> None:
    self.cluster = cluster
    self.config = config
    self.log_path = log_path
    setup = config["cluster"]
    names = [node.name for node in cluster.nodes]
    self.values = {
      "cluster": setup["name"], "vg": setup["vg"], "master": names[0],
      "node2": names[1] if len(names) > 1 else "", "node3": names[2] if len(names) > 2 else "",
      "nodes": ",".join(names), "templates": ",".join(setup["enabled-disk-templates"]),
      "hypervisors": ",".join(setup["enabled-hypervisors"]),
      "master_netdev": setup.get("master-netdev", "xen-br0"),
      "drbd_helper": setup.get("drbd-usermode-helper", "/bin/true"),
      "cluster_ip": setup["address"],
    }
    file_instance = config.get("file-instance", {})
    self.values.update(file_instance=file_instance.get("name", "file1.qa.test"),
                       file_disk_size=file_instance.get("disk-size", "1G"),
                       file_memory=file_instance.get("memory", "128M"))

  def Targets(self, on: object) -> list[nodes_mod.Node]:
    nodes = self.cluster.nodes
    if on == "master":
      return nodes[:1]
    if on == "others":
      return nodes[1:]
    if on == "all":
      return nodes
    return [nodes[int(on) - 1]]

  def Run(self, command: Command, extra: Optional[dict] = None) -> list[str]:
    """Runs a command on its nodes, checks its output; the outputs."""
    text = command.command.format(**dict(self.values, **(extra or {})))
    outputs = []
    for node in self.Targets(command.on):
      util.Log("%s: %s" % (node.short_name, text))
      result = self.cluster.Ssh(node, text, timeout=command.timeout, check=False)
      output = (result.stdout + result.stderr).decode(errors="replace")
      self._Log(node, text, result.returncode, output)
      problem = None
      if result.returncode != 0:
        problem = "exit code %d" % result.returncode
      for pattern in command.expect:
        if not re.search(pattern, output, re.M):
          problem = problem or "output lacks /%s/" % pattern
      for pattern in command.reject:
        if re.search(pattern, output, re.M):
          problem = problem or "output shows /%s/" % pattern
      if problem:
        raise util.QAError("%s on %s: %s\n%s" % (text, node.name, problem, output[-4000:]))
      outputs.append(output)
    return outputs


  def _Log(self, node: nodes_mod.Node, command: str, code: int, output: str) -> None:
    """Keeps every command's full output (the console shows only failures)."""
    if self.log_path:
      with open(self.log_path, "a") as handle:
        handle.write("### %s on %s: exit %d\n%s\n" % (command, node.name, code, output))


# --- steps that are functions -------------------------------------------------------

def _Exercise(ctx: Context, node_index: int, *args: object) -> str:
  """Runs an action of the node's storage script; its "OK ..." line."""
  command = " ".join(["python3", STORAGE_SCRIPT_ON_NODE] + [shlex.quote(str(a)) for a in args])
  output = ctx.Run(Command(command, on=node_index, expect=(r"^OK ",)))[0]
  return re.findall(r"^OK .*$", output, re.M)[-1]


def StorageLv(ctx: Context) -> None:
  """ganeti.storage.lvm on a real VG: create, grow (dry run and real), tag, remove."""
  _PushScript(ctx)
  _Exercise(ctx, 1, "lv-cycle", ctx.values["vg"])


def StorageDrbd(ctx: Context) -> None:
  """ganeti.storage.drbd on two nodes, protocol C: initial sync, writes while the
  peer is away then resync, primary switch with the same data, online grow."""
  _PushScript(ctx)
  vg = ctx.values["vg"]
  first, second = ctx.cluster.nodes[0], ctx.cluster.nodes[1]
  port, secret = 11000, "qa-secret-%d" % os.getpid()
  try:
    _Exercise(ctx, 1, "drbd-up", vg, 0, 1, port, first.address, second.address, secret, 64)
    _Exercise(ctx, 2, "drbd-up", vg, 1, 0, port, second.address, first.address, secret, 64)
    _Exercise(ctx, 1, "primary", 0, "--force")
    util.Log(_Exercise(ctx, 1, "wait-sync", 0, DRBD_SYNC_TIMEOUT))
    _Exercise(ctx, 1, "write", 0, DRBD_TEST_MIB)
    # the secondary goes away; the primary writes on; the resync brings it back
    _Exercise(ctx, 2, "disconnect", 1)
    written = _Digest(_Exercise(ctx, 1, "write", 0, DRBD_TEST_MIB))
    _Exercise(ctx, 2, "connect", 1)
    util.Log(_Exercise(ctx, 1, "wait-sync", 0, DRBD_SYNC_TIMEOUT))
    _Exercise(ctx, 1, "secondary", 0)
    _Exercise(ctx, 2, "primary", 1)
    read = _Digest(_Exercise(ctx, 2, "checksum", 1, DRBD_TEST_MIB))
    if read != written:
      raise util.QAError("DRBD data differs after switching primary: wrote %s, read %s" %
                         (written, read))
    util.Log("DRBD: %d MiB identical on the new primary (sha256 %s)" % (DRBD_TEST_MIB, read))
    _Exercise(ctx, 1, "grow-backing", 0, 32)
    _Exercise(ctx, 2, "grow-backing", 1, 32)
    _Exercise(ctx, 2, "grow", 1, 32)
    util.Log(_Exercise(ctx, 2, "wait-sync", 1, DRBD_SYNC_TIMEOUT))
    if _Digest(_Exercise(ctx, 2, "checksum", 1, DRBD_TEST_MIB)) != written:
      raise util.QAError("DRBD data changed by growing the device")
    _Exercise(ctx, 2, "secondary", 1)
  finally:
    for index, minor in ((1, 0), (2, 1)):
      ctx.cluster.Ssh(ctx.cluster.nodes[index - 1],
                      "python3 %s drbd-down %d" % (STORAGE_SCRIPT_ON_NODE, minor), check=False)


def StorageDrbdCrash(ctx: Context) -> None:
  """The DRBD primary's VM is killed while it writes; the secondary, made primary,
  holds every write the primary acknowledged.  Leaves that node dead: run last."""
  _PushScript(ctx, ctx.cluster.nodes[1:3])
  vg = ctx.values["vg"]
  primary, secondary = ctx.cluster.nodes[1], ctx.cluster.nodes[2]
  port, secret = 11010, "qa-crash-%d" % os.getpid()
  _Exercise(ctx, 2, "drbd-up", vg, 10, 11, port, primary.address, secondary.address, secret, 64)
  _Exercise(ctx, 3, "drbd-up", vg, 11, 10, port, secondary.address, primary.address, secret, 64)
  _Exercise(ctx, 2, "primary", 10, "--force")
  _Exercise(ctx, 2, "wait-sync", 10, DRBD_SYNC_TIMEOUT)
  acked = _WriteUntilKilled(ctx, primary, "python3 %s write-blocks 10 %d" %
                            (STORAGE_SCRIPT_ON_NODE, CRASH_BLOCKS))
  if not acked:
    raise util.QAError("The primary acknowledged no write before it was killed")
  _Exercise(ctx, 3, "primary", 11, "--force")
  output = ctx.Run(Command("python3 %s block-sums 11 %d" % (STORAGE_SCRIPT_ON_NODE, len(acked)),
                           on=3, expect=(r"^OK block-sums",)))[0]
  sums = dict(re.findall(r"^SUM (\d+) ([0-9a-f]{64})$", output, re.M))
  lost = [index for index, digest in acked.items() if sums.get(index) != digest]
  if lost:
    raise util.QAError("Acknowledged blocks missing on the secondary: %s" % lost)
  util.Log("DRBD crash: all %d acknowledged blocks on the secondary" % len(acked))
  _Exercise(ctx, 3, "secondary", 11)
  ctx.cluster.Ssh(secondary, "python3 %s drbd-down 11" % STORAGE_SCRIPT_ON_NODE, check=False)


def _WriteUntilKilled(ctx: Context, node: nodes_mod.Node, command: str) -> dict[str, str]:
  """Runs the writer, kills the node's VM after CRASH_AFTER_ACKS acknowledgements;
  the acknowledged blocks (index -> sha256) the host received."""
  util.Log("%s: %s (killed after %d acknowledged writes)" % (node.short_name, command,
                                                             CRASH_AFTER_ACKS))
  process = subprocess.Popen(ctx.cluster.SshArgv(node, command), stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
  acked: dict[str, str] = {}
  deadline = time.monotonic() + 300
  try:
    while len(acked) < CRASH_AFTER_ACKS and time.monotonic() < deadline:
      ready, _, _ = select.select([process.stdout], [], [], 5)
      if not ready:
        continue
      line = process.stdout.readline().decode(errors="replace")
      if not line:
        break  # the writer ended before the crash
      match = re.match(r"^ACK (\d+) ([0-9a-f]{64})$", line.strip())
      if match:
        acked[match.group(1)] = match.group(2)
    ctx.cluster.Kill(node)
    # what the host got before the VM died still counts as acknowledged
    while select.select([process.stdout], [], [], 2)[0]:
      line = process.stdout.readline().decode(errors="replace")
      if not line:
        break
      match = re.match(r"^ACK (\d+) ([0-9a-f]{64})$", line.strip())
      if match:
        acked[match.group(1)] = match.group(2)
  finally:
    process.kill()
    process.wait()
  return acked


def _Digest(ok_line: str) -> str:
  match = re.match(r"^OK sha256 ([0-9a-f]{64})$", ok_line)
  if not match:
    raise util.QAError("No checksum in %r" % ok_line)
  return match.group(1)


def _PushScript(ctx: Context, nodes: Optional[list[nodes_mod.Node]] = None) -> None:
  with open(STORAGE_SCRIPT, "rb") as handle:
    data = handle.read()
  for node in nodes or ctx.cluster.nodes[:2]:
    ctx.cluster.Push(node, data, STORAGE_SCRIPT_ON_NODE, "0755")


# --- the steps, in the order a run takes them ---------------------------------------

STEPS: list[tuple[str, object]] = [
  ("node-setup", [
    Command("pvcreate -q -y /dev/vdb && vgcreate -q {vg} /dev/vdb && vgs --noheadings -o name",
            on="all", expect=(r"^\s*{vg}\s*$",)),
    Command("grep -E '^(dm_mod|drbd|kvm_amd|kvm_intel) ' /proc/modules; cat /proc/drbd",
            on="all", expect=(r"^drbd ", r"^dm_mod ", r"version: 8\.4\.")),
  ]),
  ("storage-lv", StorageLv),
  ("storage-drbd", StorageDrbd),
  ("cluster-init", [
    Command("gnt-cluster init --enabled-hypervisors={hypervisors}"
            " --enabled-disk-templates={templates} --vg-name={vg}"
            " --drbd-usermode-helper={drbd_helper} --master-netdev={master_netdev}"
            " --no-etc-hosts {cluster}"),
    Command("gnt-cluster getmaster", expect=(r"^{master}$",)),
    # the master daemon brings the master IP up as it starts (bounded wait)
    Command("for i in $(seq 30); do ip -o address show dev {master_netdev} |"
            " grep -q ' {cluster_ip}/' && break; sleep 1; done;"
            " ip -o address show dev {master_netdev}", expect=(r" {cluster_ip}/",)),
    # test disks stay below the default minimum disk size: DRBD syncs at
    # ~10 MB/s between emulated nodes
    Command("gnt-cluster modify --ipolicy-bounds-specs"
            " min:disk-size=64,memory-size=128,cpu-count=1,disk-count=1,nic-count=1,"
            "spindle-use=1/max:disk-size=1048576,memory-size=32768,cpu-count=8,"
            "disk-count=16,nic-count=8,spindle-use=12"),
  ]),
  ("node-add", [
    # the nodes' host keys are not in the cluster's known_hosts yet (as in Ganeti's QA)
    Command("gnt-node add --no-ssh-key-check {node2}"),
    Command("gnt-node add --no-ssh-key-check {node3}"),
    Command("gnt-node list --no-headers -o name", expect=(r"^{node2}$", r"^{node3}$")),
  ]),
  ("cluster-verify", [
    Command("gnt-cluster verify", reject=(r"ERROR", r"Traceback")),
  ]),
  ("instance-file-kvm", [
    # a KVM instance inside a node (nested KVM: the node's /dev/kvm over TCG);
    # its guest never handles ACPI, hence no shutdown timeout on removal
    Command("gnt-instance add -t file -s {file_disk_size} -o minimal+default"
            " -B memory={file_memory} -n {master} --no-name-check --no-ip-check"
            " {file_instance}"),
    Command("gnt-instance list --no-headers -o name,status,oper_state {file_instance}",
            expect=(r"^{file_instance}\s+running\s+Y\s*$",)),
    Command("ps -o args= -p \"$(cat /var/run/ganeti/kvm-hypervisor/pid/{file_instance})\"",
            expect=(r"^\S*(kvm|qemu-system-x86_64) -name {file_instance} .*accel=kvm",)),
    Command("gnt-instance remove -f --shutdown-timeout=0 {file_instance}"),
    Command("gnt-instance list --no-headers -o name", reject=(r"{file_instance}",)),
  ]),
  ("node-storage", [
    Command("gnt-node list-storage --no-headers -t lvm-vg", expect=(r"{vg}",)),
    Command("gnt-node volumes"),
  ]),
]

# Instance steps: their commands are data of the config's instances
_ADD = ("gnt-instance add -t {template} -s {disk_size} -o {os} -B memory=128M"
        " --no-name-check --no-ip-check")
INSTANCE_STEPS: dict[str, list[Command]] = {
  "instance-add": [Command(_ADD + " -n {nodes_arg} {instance}"),
                   Command("gnt-instance list --no-headers -o name,status {instance}",
                           expect=(r"running",))],
  "instance-add-iallocator": [Command(_ADD + " -I hail {instance}")],
  "instance-migrate": [Command("gnt-instance migrate -f {instance}")],
  "instance-failover": [Command("gnt-instance failover -f --shutdown-timeout=10 {instance}")],
  # a failover just before leaves the mirror resyncing (seconds on emulated
  # nodes), and replace-disks refuses degraded storage
  "instance-replace-disks": [Command("gnt-instance activate-disks --wait-for-sync {instance}"),
                             Command("gnt-instance replace-disks -s {instance}"),
                             Command("gnt-instance replace-disks -p {instance}")],
  "instance-grow-disk": [Command("gnt-instance grow-disk {instance} 0 64M")],
  "instance-remove": [Command("gnt-instance remove -f --shutdown-timeout=10 {instance}")],
}


# Steps that leave a node dead: after everything else
LAST_STEPS: list[tuple[str, object]] = [("storage-drbd-crash", StorageDrbdCrash)]


def StepNames() -> list[str]:
  return ([name for name, _ in STEPS] + list(INSTANCE_STEPS) +
          [name for name, _ in LAST_STEPS])


def RunStep(ctx: Context, name: str) -> None:
  body: object = dict(STEPS + LAST_STEPS).get(name)
  if callable(body):
    body(ctx)
    return
  if body is not None:
    for command in body:
      ctx.Run(_Expanded(command, ctx.values))
    return
  for instance in ctx.config.get("instances", []):
    if name in instance.get("tests", []):
      nodes = [ctx.cluster.Node(node).name for node in instance.get("nodes", [])]
      extra = {"instance": instance["name"], "template": instance["template"],
               "disk_size": instance.get("disk-size", "256M"),
               "os": instance.get("os", "minimal+default"), "nodes_arg": ":".join(nodes)}
      for command in INSTANCE_STEPS[name]:
        ctx.Run(command, extra)


def _Expanded(command: Command, values: dict) -> Command:
  """The command with its expected/rejected patterns filled in (escaped names)."""
  escaped = {key: re.escape(value) for key, value in values.items()}
  return Command(command.command, command.on,
                 tuple(pattern.format(**escaped) for pattern in command.expect),
                 tuple(pattern.format(**escaped) for pattern in command.reject),
                 command.timeout)

