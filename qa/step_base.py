"""What every QA step builds on: a command with its checks, the context steps run in,
and the node storage script's actions (block writes and checksums) they share.

Command lines and their expected/rejected patterns are templates over the
QA config: {cluster}, {vg}, {master}, {node2}, {node3}, {nodes}, {templates},
{hypervisors}, {hv_params} (-H options), and whatever a step adds (per instance {instance},
{template}, {disk_size}, {os}, {nodes_arg}).  In patterns the values are
regex-escaped.
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
CRASH_AFTER_ACKS = 8
_ACK = re.compile(r"^ACK (\d+) ([0-9a-f]{64})$")


class Command:
  """One command: on "master", "others", "all" or a node index (1-based).

  With fails set the command must exit non-zero (bad input refused); its
  output is checked all the same.
  """

  def __init__(self, command: str, on: object = "master", expect: tuple = (),
               reject: tuple = (r"^ERROR:", r"Traceback"), timeout: float = 600,
               fails: bool = False) -> None:
    self.command = command
    self.on = on
    self.expect = expect
    self.reject = reject
    self.timeout = timeout
    self.fails = fails


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
      "hv_params": "".join(" -H %s" % shlex.quote(params)
                           for params in setup.get("hypervisor-parameters", [])),
      "init_options": "",
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
    values = dict(self.values, **(extra or {}))
    command = _Expanded(command, values)
    text = command.command.format(**values)
    outputs = []
    for node in self.Targets(command.on):
      util.Log("%s: %s" % (node.short_name, text))
      result = self.cluster.Ssh(node, text, timeout=command.timeout, check=False)
      output = (result.stdout + result.stderr).decode(errors="replace")
      self._Log(node, text, result.returncode, output)
      problem = None
      if command.fails and result.returncode == 0:
        problem = "succeeded, but must fail"
      elif result.returncode != 0 and not command.fails:
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

  def RunOn(self, on: object, command: str, **checks: object) -> str:
    """Shorthand for one command on one node; its output."""
    return self.Run(Command(command, on=on, **checks))[0]

  def _Log(self, node: nodes_mod.Node, command: str, code: int, output: str) -> None:
    """Keeps every command's full output (the console shows only failures)."""
    if self.log_path:
      with open(self.log_path, "a") as handle:
        handle.write("### %s on %s: exit %d\n%s\n" % (command, node.name, code, output))


def _Expanded(command: Command, values: dict) -> Command:
  """The command with its expected/rejected patterns filled in (escaped names)."""
  escaped = {key: re.escape(str(value)) for key, value in values.items()}
  return Command(command.command, command.on,
                 tuple(pattern.format(**escaped) for pattern in command.expect),
                 tuple(pattern.format(**escaped) for pattern in command.reject),
                 command.timeout, command.fails)


def Answering(command: str, answer: str = "y") -> str:
  """The command with its confirmation question answered: gnt-* commands ask on
  the terminal (some even with -f, like Ganeti's), so they get one."""
  return "printf '%s\\n' | script -qec %s /dev/null" % (answer, shlex.quote(command))


# --- the node storage script ----------------------------------------------------------

def PushScript(ctx: Context, nodes: Optional[list[nodes_mod.Node]] = None) -> None:
  with open(STORAGE_SCRIPT, "rb") as handle:
    data = handle.read()
  for node in nodes or ctx.cluster.nodes[:2]:
    ctx.cluster.Push(node, data, STORAGE_SCRIPT_ON_NODE, "0755")


def Exercise(ctx: Context, node_index: int, *args: object) -> str:
  """Runs an action of the node's storage script; its "OK ..." line."""
  command = " ".join(["python3", STORAGE_SCRIPT_ON_NODE] + [shlex.quote(str(a)) for a in args])
  output = ctx.Run(Command(command, on=node_index, expect=(r"^OK ",)))[0]
  return re.findall(r"^OK .*$", output, re.M)[-1]


def Digest(ok_line: str) -> str:
  match = re.match(r"^OK sha256 ([0-9a-f]{64})$", ok_line)
  if not match:
    raise util.QAError("No checksum in %r" % ok_line)
  return match.group(1)


def BlockSums(ctx: Context, node_index: int, device: str, count: int) -> dict[str, str]:
  """sha256 of the first count 1 MiB blocks of a device on a node (index -> digest)."""
  output = ctx.Run(Command("python3 %s block-sums %s %d" % (STORAGE_SCRIPT_ON_NODE,
                                                            shlex.quote(device), count),
                           on=node_index, expect=(r"^OK block-sums",)))[0]
  return dict(re.findall(r"^SUM (\d+) ([0-9a-f]{64})$", output, re.M))


def CheckBlocks(ctx: Context, node_index: int, device: str, acked: dict[str, str],
                what: str) -> None:
  """Every acknowledged block is on the device, unchanged."""
  sums = BlockSums(ctx, node_index, device, len(acked))
  lost = sorted((index for index, digest in acked.items() if sums.get(index) != digest),
                key=int)
  if lost:
    raise util.QAError("%s: acknowledged blocks missing or changed: %s" % (what, lost))
  util.Log("%s: all %d acknowledged blocks identical" % (what, len(acked)))


def WriteBlocks(ctx: Context, node_index: int, device: str, count: int) -> dict[str, str]:
  """Writes count 1 MiB blocks to a device on a node; their sha256 by index."""
  output = ctx.Run(Command("python3 %s write-blocks %s %d" % (STORAGE_SCRIPT_ON_NODE,
                                                              shlex.quote(device), count),
                           on=node_index, expect=(r"^OK write-blocks",)))[0]
  return {match.group(1): match.group(2)
          for match in map(_ACK.match, output.splitlines()) if match}


def WriteUntilKilled(ctx: Context, node: nodes_mod.Node, command: str) -> dict[str, str]:
  """Runs the writer, kills the node's VM after CRASH_AFTER_ACKS acknowledgements;
  the acknowledged blocks (index -> sha256) the host received."""
  util.Log("%s: %s (killed after %d acknowledged writes)" % (node.short_name, command,
                                                             CRASH_AFTER_ACKS))
  process = subprocess.Popen(ctx.cluster.SshArgv(node, command), stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
  acked: dict[str, str] = {}

  def Collect(wait: float) -> bool:
    """Reads one line if it comes within wait seconds; whether the writer goes on."""
    if not select.select([process.stdout], [], [], wait)[0]:
      return True
    line = process.stdout.readline().decode(errors="replace")
    match = _ACK.match(line.strip())
    if match:
      acked[match.group(1)] = match.group(2)
    return bool(line)

  deadline = time.monotonic() + 300
  try:
    while len(acked) < CRASH_AFTER_ACKS and time.monotonic() < deadline:
      if not Collect(5):
        break  # the writer ended before the crash
    ctx.cluster.Kill(node)
    # what the host got before the VM died still counts as acknowledged
    while select.select([process.stdout], [], [], 2)[0] and Collect(0):
      pass
  finally:
    process.kill()
    process.wait()
  return acked
