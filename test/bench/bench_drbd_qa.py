#!/usr/bin/env python3
"""DRBD operations in the QA cluster of node VMs, against the commands they run.

  test/bench/bench_drbd_qa.py [--rounds N] [--run-dir DIR] [--reuse] [--keep]
                              [--disk-size SIZE] [--no-new-secondary] [--show-commands]
                              [--real-ganeti]

Runs as root from the checkout.  Boots the QA cluster (tools/qa-cluster's
three TCG node VMs with real LVM and DRBD 8.4; see doc/qa-cluster.rst),
installs the checkout with every node daemon started with --command-trace
(man ganeti-noded), initializes the cluster and adds the nodes, then times
per round, on a fresh instance: gnt-instance add -t drbd --no-wait-for-sync
(the initial sync is timed on its own afterwards), replace-disks -s,
replace-disks -n (unless --no-new-secondary), migrate (live, a KVM guest
inside the nodes) and failover.  Between operations it waits until DRBD is
in sync and the instance's guest has booted (it then idles; see
doc/qa-cluster.rst).

"ours" is the command's wall time on the master node (no SSH in it).  The
"floor" is what the node daemons' traces show the operation needs: the sum
of the durations of every command (lvcreate, drbdmeta, drbdsetup, qemu, OS
scripts) and QMP request the daemons ran, plus the waits inherent in the
operation as the machinery itself measured them: qemu's memory transfer
(from the QMP migrate request to the last status query), DRBD's resyncs
(in the kernel log of the nodes: from the moment both ends looked for each
other, or the resync's start, to "Resync done"), and what the daemons
waited for (traced waits): DRBD handshakes, and qemu processes ending
(releasing the guest's memory and disks after quit or kill); time that
several nodes spent in the same handshake or resync counts once.  These are
measured, not replayed: undoing each operation to replay its commands
through SSH would cost minutes of emulated CPU per round.  overhead = ours -
floor; the issue's target is an overhead under 1 s per operation.  The
floor counts our own commands as run, redundant lookups included; "needed"
is the floor without the commands that only query state (lvs, vgs, pvs,
drbdsetup show, QMP query-*), nearer to what an admin's script that knows
what it set up would run, and the overhead against it.  "idle" is the time
no node was answering a call (the CLI, the master's own work, RPC
transport; node clocks are aligned to the host's), "node py" the time in
calls outside commands (Python on the nodes), "calls" how many calls were
made, "cmds/qry" how many commands ran and how many of them were queries.
The CLI's share is printed apart: from the command's start until the
master had its job (the job's received timestamp), and from the job's end
until the command returned.
After the rounds, what every operation pays on the master node is timed
apart: Python's start, gnt-cluster version, gnt-debug delay 0 and one RPC
round trip to another node.  The report ends with how often qemu flushed
each node's translation cache during the rounds (its monitor's "info jit"):
a flush slows the node at random while its code is translated again.

With --real-ganeti, the same rounds then run with Debian's Ganeti 3.0 on
the same nodes (qa/real_ganeti.py: the packages are fetched here and
installed over SSH, our cluster is taken down first, and a Ganeti cluster
with the same parameters is set up), and its wall times are printed beside
ours as ratios, with the CLI's share of each.  Its daemons trace nothing, so
it has no floor.  With --reuse, an existing cluster in --run-dir is used (and
left up, unless it was given to Debian's Ganeti); otherwise the VMs are
always torn down at the end (--keep leaves them up).
"""

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import threading
import time
from typing import Optional

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, TOP)

from qa import image as image_mod  # noqa: E402
from qa import install  # noqa: E402
from qa import main as qa_main  # noqa: E402
from qa import nodes as nodes_mod  # noqa: E402
from qa import real_ganeti  # noqa: E402
from qa import steps  # noqa: E402
from qa import util  # noqa: E402

TRACE = "/var/log/ganeti/command-trace.jsonl"
DEFAULTS_FILE = "/etc/default/ganeti"
DAEMON_UTIL = "/usr/local/lib/ganeti/daemon-util"
SYNC_TIMEOUT = 300
BASICS_RUNS = 10
# Debian's Ganeti gets the templates the operations use (file storage would
# need its paths allowed in /etc/ganeti/file-storage-paths first)
REAL_GANETI_TEMPLATES = "plain,drbd"
GUEST_BOOT_TIMEOUT = 180
# ClockOffsets: the node's side, its exchanges, and how long they may take
_CLOCK_ECHO = "import sys, time\nfor _ in sys.stdin: print(repr(time.time()))"
_CLOCK_EXCHANGES = 8
_CLOCK_TIMEOUT = 60
# (label, command template); {instance}, {node2}, {node3} come from the round
OPERATIONS = [
  ("add -t drbd", "gnt-instance add -t drbd -s {disk_size} -o minimal+default -B memory=128M"
                  " --no-name-check --no-ip-check --no-wait-for-sync -n {master}:{node2}"
                  " {instance}"),
  ("replace-disks -s", "gnt-instance replace-disks -s {instance}"),
  ("replace-disks -n", "gnt-instance replace-disks -n {node3} {instance}"),
  ("migrate", "gnt-instance migrate -f {instance}"),
  ("failover", "gnt-instance failover -f --shutdown-timeout=0 {instance}"),
]
# kernel log lines: "[seconds since boot] text"; DRBD's connection to its peer
# (per resource) and a minor's resync (DRBD's own "total N sec" is rounded
# up to whole seconds: 1 for a resync of a few milliseconds)
_KERNEL_LINE = re.compile(r"^\[\s*(\d+\.\d+)\] (.*)$", re.M)
_DRBD_CONNECTING = re.compile(r"^drbd resource(\d+): conn\( Unconnected -> WFConnection \)")
_DRBD_CONNECTED = re.compile(r"^drbd resource(\d+): conn\( WFConnection -> WFReportParams \)")
_DRBD_RESYNC_BEGAN = re.compile(r"^block drbd(\d+): Began resync")
_DRBD_RESYNC_DONE = re.compile(r"^block drbd(\d+): Resync done")
# commands that only look: an admin's script that knows what it set up needs none
_QUERIES = (("lvs",), ("vgs",), ("pvs",), ("drbdsetup", "show"), ("drbdsetup", "status"),
            ("blockdev", "--getsize64"))


def _LoadAverage() -> str:
  with open("/proc/loadavg") as handle:
    return " ".join(handle.read().split()[:3])


class Bench:
  def __init__(self, cluster: nodes_mod.Cluster, ctx: steps.Context, disk_size: str) -> None:
    self.cluster = cluster
    self.ctx = ctx
    self.master = cluster.nodes[0]
    self.disk_size = disk_size
    self._marks = 0  # kernel log marks written so far
    self._mark_times: dict[str, float] = {}  # node name: its clock at the last mark

  def Shell(self, node: nodes_mod.Node, command: str, timeout: float = 900) -> str:
    result = self.cluster.Ssh(node, command, timeout=timeout)
    return result.stdout.decode(errors="replace")

  # --- set-up ---------------------------------------------------------------------

  def EnableTraces(self) -> None:
    """NODED_ARGS with --command-trace on every node; running daemons restart."""
    line = "NODED_ARGS=\"--command-trace %s\"" % TRACE
    for node in self.cluster.nodes:
      self.Shell(node, "mkdir -p /etc/default && grep -v '^NODED_ARGS=' %s 2>/dev/null"
                 " > /tmp/ganeti.env; echo %s >> /tmp/ganeti.env && mv /tmp/ganeti.env %s &&"
                 " if %s check ganeti-noded && ! pgrep -f -- --command-trace >/dev/null;"
                 " then %s stop-all && %s start-all; fi" %
                 (DEFAULTS_FILE, shlex.quote(line), DEFAULTS_FILE, DAEMON_UTIL,
                  DAEMON_UTIL, DAEMON_UTIL))

  def EnsureCluster(self) -> None:
    initialized = self.cluster.Ssh(self.master, "gnt-cluster getmaster", check=False,
                                   timeout=120).returncode == 0
    if initialized:
      return
    if self.cluster.Ssh(self.master, "vgs %s" % self.ctx.values["vg"], check=False,
                        timeout=120).returncode != 0:
      steps.RunStep(self.ctx, "node-setup")
    steps.RunStep(self.ctx, "cluster-init")
    steps.RunStep(self.ctx, "node-add")

  # --- measuring ------------------------------------------------------------------

  def ClockOffsets(self) -> dict[str, float]:
    """Per node, what to add to its clock to get the host's.  A program on
    the node answers each line with its clock: of a few exchanges, the
    quickest places the node's reading within half its round trip (a few
    ms; a new command per reading would put its start-up, tens of ms on a
    node, on one side of the exchange only)."""
    offsets = {}
    for node in self.cluster.nodes:
      argv = self.cluster.SshArgv(node, "python3 -u -c %s" % shlex.quote(_CLOCK_ECHO))
      with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True) as proc:
        watchdog = threading.Timer(_CLOCK_TIMEOUT, proc.kill)
        watchdog.start()
        try:
          exchanges = []
          for _ in range(_CLOCK_EXCHANGES):
            before = time.time()
            proc.stdin.write("\n")
            proc.stdin.flush()
            remote = float(proc.stdout.readline())
            after = time.time()
            exchanges.append((after - before, (before + after) / 2 - remote))
          proc.stdin.close()
        finally:
          watchdog.cancel()
      offsets[node.short_name] = min(exchanges)[1]
    return offsets

  def Timed(self, command: str) -> tuple[float, float, list[float]]:
    """Runs a command on the master; when it started and ended by the master's
    clock, and when its job (the first received after its start: the watcher
    may submit others) was received and ended."""
    util.Log("master: %s" % command)
    output = self.Shell(self.master, "s=$(date +%%s.%%N); %s >/tmp/bench-op.log 2>&1;"
                        " rc=$?; e=$(date +%%s.%%N); echo BENCH $s $e $rc;"
                        " [ $rc = 0 ] || cat /tmp/bench-op.log; python3 -c %s $s" % (
                          command, shlex.quote(_JOB_TIMES_SCRIPT)))
    match = re.search(r"^BENCH (\S+) (\S+) (\d+)$", output, re.M)
    if not match or match.group(3) != "0":
      raise util.QAError("%s failed: %s" % (command, output[-3000:]))
    job = json.loads(output.strip().splitlines()[-1])
    return float(match.group(1)), float(match.group(2)), job

  def ResetTraces(self) -> str:
    """Empties the traces and marks the kernel logs; the mark.  (A count of
    log lines would do until the kernel's ring buffer is full; from then on
    it stays the same while old lines make room for new ones.)"""
    self._marks += 1
    mark = "bench_drbd_qa mark %d.%d" % (os.getpid(), self._marks)
    for node in self.cluster.nodes:
      # the node's clock right after the mark: kernel times become wall times
      self._mark_times[node.name] = float(self.Shell(
        node, ": > %s; echo %s > /dev/kmsg; date +%%s.%%N" % (TRACE, shlex.quote(mark))))
    return mark

  def Collect(self, mark: str) -> tuple[list[dict], list[dict]]:
    """The traced items of every node and the DRBD resyncs its kernel logged
    since the mark (as items of kind "sync", in the node's wall time), all
    tagged with the node."""
    items, syncs = [], []
    for node in self.cluster.nodes:
      output = self.Shell(node, "cat %s; echo '=== dmesg'; dmesg" % TRACE)
      trace, _, kernel = output.partition("=== dmesg\n")
      if mark not in kernel:
        raise util.QAError("the kernel log of %s lost the mark %r" % (node.name, mark))
      lines = [(float(stamp), text) for stamp, text in _KERNEL_LINE.findall(kernel)]
      marked = max(index for index, (_, text) in enumerate(lines) if text == mark)
      offset = self._mark_times[node.name] - lines[marked][0]
      for line in trace.splitlines():
        try:
          item = json.loads(line)
        except ValueError:
          continue
        item["node"] = node.short_name
        items.append(item)
      for start, end, connecting in _ResyncSpans(lines[marked + 1:]):
        syncs.append({"kind": "sync", "node": node.short_name, "start": start + offset,
                      "seconds": end - start, "ok": True, "what": "DRBD resync (kernel log)",
                      "connecting": None if connecting is None else connecting + offset})
    return items, syncs

  def WaitInSync(self, node_names: list[str]) -> float:
    """Waits on the nodes until no DRBD device is syncing or inconsistent."""
    start = time.monotonic()
    for name in node_names:
      self.Shell(self.cluster.Node(name),
                 "for i in $(seq %d); do grep -Eqi 'sync|inconsistent|wfconnection|"
                 "connecting' /proc/drbd || exit 0; sleep 0.1; done; cat /proc/drbd; exit 1" %
                 (SYNC_TIMEOUT * 10))
    return time.monotonic() - start

  def WaitGuestIdle(self, instance: str) -> None:
    """Waits until the instance's guest has booted (its qemu under 5% of a CPU):
    a booting guest takes most of its node's one emulated CPU for about 20 s,
    and a real cluster's instances are not all booting when it is worked on."""
    for node in self.cluster.nodes:
      self.Shell(node, "pid=$(pgrep -f -- '-name %s ' | head -1); [ -n \"$pid\" ] || exit 0;"
                 " prev=-1; for i in $(seq %d); do"
                 " t=$(awk '{print $14 + $15}' /proc/$pid/stat 2>/dev/null) || exit 0;"
                 " [ $prev -ge 0 ] && [ $((t - prev)) -lt 10 ] && exit 0; prev=$t; sleep 2;"
                 " done; echo 'guest still busy' >&2; exit 1"
                 % (re.escape(instance), GUEST_BOOT_TIMEOUT // 2))

  def Round(self, round_no: int, labels: list[str], show: bool) -> dict[str, dict]:
    values = dict(self.ctx.values, instance="bench%d.qa.test" % round_no,
                  disk_size=self.disk_size)
    figures: dict[str, dict] = {}
    offsets = self.ClockOffsets()
    add_items: list[dict] = []
    try:
      for label, template in OPERATIONS:
        if label not in labels:
          continue
        if figures:  # the instance exists: its guest has booted
          self.WaitGuestIdle(values["instance"])
        mark = self.ResetTraces()
        began, ended, (received, job_ended) = self.Timed(template.format(**values))
        items, syncs = self.Collect(mark)
        if label.startswith("replace"):
          items += syncs
        for item in items:
          shift = offsets[item["node"]] - offsets[self.master.short_name]
          item["start"] += shift
          if item.get("connecting") is not None:
            item["connecting"] += shift
        _WithHandshakes([item for item in items if item["kind"] == "sync"])
        figures[label] = Floor(items)
        figures[label]["ours"] = ours = ended - began
        figures[label]["cli"] = received - began
        figures[label]["tail"] = ended - job_ended
        figures[label]["idle"] = ours - _Covered(items, began, ended)
        if show:
          _ShowCommands(label, items, began)
        if label == "add -t drbd":
          add_items = items
        waited = self.WaitInSync([node.name for node in self.cluster.nodes])
        if label == "add -t drbd":
          # the initial sync as DRBD measured it (it ran while add went on)
          _, syncs = self.Collect(mark)
          figures["initial sync"] = {"ours": max([sync["seconds"] for sync in syncs] or [0]),
                                     "waited": waited}
    finally:
      self.cluster.Ssh(self.master, "gnt-instance remove -f --shutdown-timeout=0 %s" %
                       values["instance"], check=False, timeout=600)
    if add_items:
      # the removal undid the add: its commands can run again as they were
      figures["add replayed"] = self.ReplayAdd(add_items)
    self.CheckClean()
    return figures

  def RealRound(self, round_no: int, labels: list[str]) -> dict[str, dict]:
    """The same operations with Debian's Ganeti on the same nodes: wall time
    and the CLI's share (its daemons trace nothing: no floor)."""
    values = dict(self.ctx.values, instance="real%d.qa.test" % round_no,
                  disk_size=self.disk_size)
    figures: dict[str, dict] = {}
    try:
      for label, template in OPERATIONS:
        if label not in labels:
          continue
        if figures:
          self.WaitGuestIdle(values["instance"])
        began, ended, (received, job_ended) = self.Timed(
          real_ganeti.Real(template.format(**values)))
        figures[label] = {"wall": ended - began, "cli": received - began,
                          "tail": ended - job_ended}
        self.WaitInSync([node.name for node in self.cluster.nodes])
    finally:
      self.cluster.Ssh(self.master, real_ganeti.Real(
        "gnt-instance remove -f --shutdown-timeout=0 %s" % values["instance"]),
        check=False, timeout=600)
    self.CheckClean()
    return figures

  def Basics(self, runs: int = BASICS_RUNS) -> dict[str, float]:
    """Medians (seconds) of what every operation pays on the master node:
    Python's start, a command without a job, one with a no-op job, and one
    RPC round trip to another node (the call "version", over a kept
    connection)."""
    peer = self.cluster.nodes[1].name
    output = self.Shell(self.master, "python3 -c %s %d %s" % (
      shlex.quote(_BASICS_SCRIPT), runs, shlex.quote(peer)))
    return json.loads(output.strip().splitlines()[-1])

  def CheckClean(self) -> None:
    """Fails when a round left LVs or DRBD devices behind (they would make
    the next round's figures meaningless)."""
    for node in self.cluster.nodes:
      left = self.Shell(node, "lvs --noheadings -o lv_name %s; grep -E '^ *[0-9]+:' /proc/drbd"
                        " || true" % self.ctx.values["vg"]).strip()
      if left:
        raise util.QAError("the round left storage behind on %s: %s" % (node.name, left))

  def ReplayAdd(self, items: list[dict]) -> dict:
    """Runs the state-changing commands of an add again, in their order, one SSH
    session per run of commands on one node (as an admin's script would), then
    undoes them; OS scripts and qemu need the instance's environment and count
    with their traced durations."""
    changing = [item for item in sorted(items, key=lambda item: item["start"])
                if item["kind"] == "cmd" and not _Query(item)]
    replayed = [item for item in changing if not _NotReplayable(item)]
    sessions: list[tuple[str, list[list[str]]]] = []
    for item in replayed:
      if sessions and sessions[-1][0] == item["node"]:
        sessions[-1][1].append(item["what"])
      else:
        sessions.append((item["node"], [item["what"]]))
    start = time.monotonic()
    try:
      for node, argvs in sessions:
        self.Shell(self.cluster.Node(node),
                   "set -e; " + "; ".join(shlex.join(argv) for argv in argvs))
      elapsed = time.monotonic() - start
    finally:
      self._UndoReplay(replayed)
    kept = sum(item["seconds"] for item in changing if _NotReplayable(item))
    return {"seconds": elapsed + kept, "kept": kept, "sessions": len(sessions),
            "commands": len(replayed)}

  def _UndoReplay(self, replayed: list[dict]) -> None:
    for node in self.cluster.nodes:
      undo = []
      for item in replayed:
        argv = item["what"]
        if item["node"] != node.short_name:
          continue
        if argv[:2] == ["drbdsetup", "new-resource"]:
          # refused while the device still reacts to its peer going down first
          undo.insert(0, "for try in 1 2 3 4 5; do drbdsetup down %s && break; sleep 1; done"
                      % shlex.quote(argv[2]))
        elif argv[0] == "lvcreate" and "-n" in argv:
          undo.append("lvremove -f %s" % shlex.quote(_CreatedVolume(argv)))
      if undo:
        self.cluster.Ssh(node, "; ".join(undo), check=False, timeout=300)


# run on the master node by Bench.Timed (argv: the command's start): the
# [received, ended] of the first job received since (seconds since the epoch)
_JOB_TIMES_SCRIPT = r"""
import glob, json, sys
seconds = lambda stamp: stamp[0] + stamp[1] / 1e6
jobs = sorted((int(path.rsplit("-", 1)[1]), path)
              for path in glob.glob("/var/lib/ganeti/queue/job-*")
              if path.rsplit("-", 1)[1].isdigit())  # not the writes' temporary files
for _, path in reversed(jobs):
  job = json.load(open(path))
  if seconds(job["received_timestamp"]) < float(sys.argv[1]):
    break
  found = job
print(json.dumps([seconds(found["received_timestamp"]), seconds(found["end_timestamp"])]))
"""
# run on the master node by Bench.Basics: argv = runs, peer node
_BASICS_SCRIPT = r"""
import json, statistics, subprocess, sys, time
sys.path.insert(0, "/usr/local/lib/ganeti/python")
from ganeti.rpc import client
runs, peer = int(sys.argv[1]), sys.argv[2]
def Timed(argv):
  values = []
  for _ in range(runs):
    start = time.monotonic()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    values.append(time.monotonic() - start)
  return statistics.median(values)
runner = client.DnsOnlyRunner()
runner.CallByName("version", [peer])
calls = []
for _ in range(runs * 5):
  start = time.monotonic()
  runner.CallByName("version", [peer])[peer].Raise("version")
  calls.append(time.monotonic() - start)
print(json.dumps({"python -S": Timed(["python3", "-S", "-c", "pass"]),
                  "gnt-cluster version": Timed(["gnt-cluster", "version"]),
                  "gnt-debug delay 0": Timed(["gnt-debug", "delay", "0"]),
                  "rpc round trip": statistics.median(calls)}))
"""


def _ResyncSpans(lines: list[tuple[float, str]]) -> list[tuple[float, float, Optional[float]]]:
  """(start, end, connecting) kernel times of the resyncs in a node's log
  lines: from the connection to the peer that led to it (if logged), else
  from its start; connecting is when this node began to look for its peer
  before that connection (None if not logged)."""
  connecting: dict[str, float] = {}
  connected: dict[str, float] = {}
  began: dict[str, float] = {}
  spans = []
  for stamp, text in lines:
    for pattern, seen in ((_DRBD_CONNECTING, connecting), (_DRBD_CONNECTED, connected),
                          (_DRBD_RESYNC_BEGAN, began)):
      match = pattern.match(text)
      if match:
        seen[match.group(1)] = stamp
    done = _DRBD_RESYNC_DONE.match(text)
    if done and done.group(1) in began:
      # one resource per minor here: resource N holds minor N
      minor = done.group(1)
      start = began.pop(minor)
      start = min(start, connected.pop(minor, start))
      spans.append((start, stamp, connecting.pop(minor, None)))
  return spans


def _WithHandshakes(syncs: list[dict]) -> None:
  """Starts each resync at its DRBD handshake: from the moment both ends of
  the mirror looked for each other (the later one's; the ends of one resync
  finish within a second of each other) to their connection."""
  for sync in syncs:
    if sync["connecting"] is None:
      continue
    end = sync["start"] + sync["seconds"]
    both_looking = max(other["connecting"] for other in syncs
                       if other["connecting"] is not None and
                       abs(other["start"] + other["seconds"] - end) < 1.0)
    if both_looking < sync["start"]:
      sync["start"], sync["seconds"] = both_looking, end - both_looking


def Floor(items: list[dict]) -> dict:
  """The floor of an operation from its traces (see the module's description)."""
  work = [item for item in items if item["kind"] in ("cmd", "qmp")]
  floor = sum(item["seconds"] for item in work)
  rpcs = [item for item in items if item["kind"] == "rpc"]
  transfer_in_calls = 0.0
  migrations = [item for item in work if item["kind"] == "qmp" and item["what"][1] == "migrate"]
  if migrations:
    begin = migrations[0]["start"]
    queries = [item for item in work if item["kind"] == "qmp" and item["start"] >= begin and
               item["node"] == migrations[0]["node"] and item["what"][1] == "query-migrate"]
    if queries:
      end = queries[-1]["start"] + queries[-1]["seconds"]
      # the transfer replaces the requests made during it
      asked = sum(item["seconds"] for item in [migrations[0]] + queries)
      floor += (end - begin) - asked
      # the source's node waits in its status calls for the transfer's end:
      # that is not the node's Python
      transfer_in_calls = max(0.0, _Union([
        (max(begin, item["start"]), min(end, item["start"] + item["seconds"]))
        for item in rpcs if item["node"] == migrations[0]["node"]]) - asked)
  # DRBD's handshakes and resyncs: both ends of a device wait for (or log)
  # the same one, so the time any node spent in one counts once; a status
  # call waiting for a resync's end is not the resync (the kernel log has
  # that): its lag after the end is ours
  waits = [item for item in items if item["kind"] == "wait"]
  syncs = [item for item in items if item["kind"] == "sync"]
  drbd_waits = [item for item in waits if item["what"][0] != "mirror-sync"]
  floor += _Union([(item["start"], item["start"] + item["seconds"])
                   for item in drbd_waits + syncs])
  queries = sum(item["seconds"] for item in work if _Query(item))
  rpc_time = sum(item["seconds"] for item in rpcs)
  return {"floor": floor, "needed": floor - queries, "rpc": rpc_time, "node_py": rpc_time - sum(
    item["seconds"] for item in work + waits) - transfer_in_calls, "calls": len(rpcs),
          "commands": len(work),
          "queries": sum(1 for item in work if _Query(item)),
          "resync": max([item["seconds"] for item in syncs] or [0])}


def _CreatedVolume(argv: list[str]) -> str:
  """"VG/LV" of an lvcreate command line: -n names the LV, the VG is the first
  argument that is neither an option nor an option's value."""
  takes_value = {"-n", "-L", "-i", "--addtag", "-W", "-l", "-I"}
  name, rest = None, iter(argv[1:])
  for arg in rest:
    if arg == "-n":
      name = next(rest)
    elif arg in takes_value:
      next(rest)
    elif not arg.startswith("-"):
      return "%s/%s" % (arg, name)
  raise ValueError("no volume group in %s" % argv)


def _NotReplayable(item: dict) -> bool:
  """OS scripts, qemu and its tap set-up (ip reads its batch on standard input):
  they need the instance's environment and files."""
  program = item["what"][0]
  return "/os/" in program or os.path.basename(program) in ("kvm", "qemu-system-x86_64", "ip")


def _Query(item: dict) -> bool:
  """Whether a traced item only looked at the state (see _QUERIES)."""
  if item["kind"] == "qmp":
    return item["what"][1].startswith("query-") and item["what"][1] != "query-migrate"
  argv = [os.path.basename(item["what"][0])] + item["what"][1:]
  return any(tuple(argv[:len(query)]) == query for query in _QUERIES)


def _Covered(items: list[dict], began: float, ended: float) -> float:
  """Seconds of [began, ended] during which some node answered a call."""
  return _Union([(max(began, item["start"]), min(ended, item["start"] + item["seconds"]))
                 for item in items if item["kind"] == "rpc"])


def _Union(spans: list[tuple[float, float]]) -> float:
  """Seconds covered by at least one of the (start, end) spans."""
  covered, reach = 0.0, float("-inf")
  for start, end in sorted(spans):
    start = max(start, reach)
    if end > start:
      covered += end - start
      reach = end
  return covered


def _ShowCommands(label: str, items: list[dict], began: float) -> None:
  print("--- %s: what the node daemons ran (start after the command's, duration)" % label)
  for item in sorted(items, key=lambda item: item["start"]):
    what = item["what"] if item["kind"] != "cmd" else " ".join(item["what"])
    print("  +%6.2f %s %-4s %7.3f s %s %s" % (item["start"] - began, item["node"], item["kind"],
                                               item["seconds"], "" if item["ok"] else "FAILED",
                                               str(what)[:160]))


def ReportReal(rounds: list[dict[str, dict]], real_rounds: list[dict[str, dict]],
               version: str) -> None:
  """Ours against Debian's Ganeti on the same nodes, operation by operation."""
  print("\n%s on the same nodes (its rounds after ours, the same operations):" % version)
  print("%-17s %7s %7s %6s | %s" % ("", "ours", "Ganeti", "ratio",
                                    "CLI until received, after the end: ours | Ganeti"))
  def Median(samples: list[dict], key: str) -> float:
    return statistics.median(sample[key] for sample in samples)

  for label, _ in OPERATIONS:
    ours = [figures[label] for figures in rounds if label in figures]
    real = [figures[label] for figures in real_rounds if label in figures]
    if not (ours and real):
      continue
    print("%-17s %7.2f %7.2f %6.2f | %.2f, %.2f | %.2f, %.2f" % (
      label, Median(ours, "ours"), Median(real, "wall"),
      Median(real, "wall") / Median(ours, "ours"), Median(ours, "cli"), Median(ours, "tail"),
      Median(real, "cli"), Median(real, "tail")))
  print("Ganeti per round: %s" % "; ".join(
    "%s %s" % (label, [round(figures[label]["wall"], 2) for figures in real_rounds
                       if label in figures]) for label, _ in OPERATIONS
    if any(label in figures for figures in real_rounds)))
  print("(medians, seconds; ratio: Ganeti's wall time over ours; Debian's daemons trace"
        " nothing, so Ganeti has no floor)")


def Report(rounds: list[dict[str, dict]], basics: Optional[dict[str, float]]) -> None:
  labels = [label for label, _ in OPERATIONS if any(label in figures for figures in rounds)]
  print("\n%-17s %7s | %7s %8s %6s | %7s %8s %6s | %7s %7s %5s %9s" % (
    "", "ours", "floor", "overhead", "ratio", "needed", "overhead", "ratio", "idle",
    "node py", "calls", "cmds/qry"))
  for label in labels:
    samples = [figures[label] for figures in rounds if label in figures]

    def Median(key: str) -> float:
      return statistics.median(sample[key] for sample in samples)  # noqa: B023
    ours, floor, needed = Median("ours"), Median("floor"), Median("needed")
    print("%-17s %7.2f | %7.2f %8.2f %6.2f | %7.2f %8.2f %6.2f | %7.2f %7.2f %5d %4d/%-4d" % (
      label, ours, floor, ours - floor, ours / floor, needed, ours - needed, ours / needed,
      Median("idle"), Median("node_py"), Median("calls"), Median("commands"),
      Median("queries")))
  # the spread shows what a difference between two runs' medians can mean
  print("overhead per round: %s" % "; ".join(
    "%s %s" % (label, [round(figures[label]["ours"] - figures[label]["floor"], 2)
                       for figures in rounds if label in figures]) for label in labels))
  # the CLI's share: its start until the master has the job, and from the
  # job's end until the command returned
  print("CLI until the job was received | after the job ended: %s" % "; ".join(
    "%s %.2f | %.2f" % (label, statistics.median(figures[label]["cli"] for figures in rounds
                                                 if label in figures),
                        statistics.median(figures[label]["tail"] for figures in rounds
                                          if label in figures)) for label in labels))
  replays = [figures for figures in rounds if "add replayed" in figures]
  if replays:
    replayed = statistics.median(figures["add replayed"]["seconds"] for figures in replays)
    ours = statistics.median(figures["add -t drbd"]["ours"] for figures in replays)
    sample = replays[0]["add replayed"]
    print("add -t drbd, floor replayed: %.2f s (ours %.2f s, overhead %.2f s, ratio %.2f):"
          " %d state-changing commands in %d SSH sessions, plus %.2f s of OS scripts and qemu"
          " start at their traced durations; per round %s" % (
            replayed, ours, ours - replayed, ours / replayed, sample["commands"],
            sample["sessions"], sample["kept"],
            [round(figures["add replayed"]["seconds"], 2) for figures in replays]))
  syncs = [figures["initial sync"] for figures in rounds if "initial sync" in figures]
  if syncs:
    print("initial sync: %.2f s as DRBD logged it (median of %s); waited %.1f s after add" % (
      statistics.median(sync["ours"] for sync in syncs),
      [round(sync["ours"], 2) for sync in syncs],
      statistics.median(sync["waited"] for sync in syncs)))
  resyncs = {label: [figures[label]["resync"] for figures in rounds if label in figures]
             for label in labels if label.startswith("replace")}
  for label, seconds in resyncs.items():
    print("%s: DRBD resync inside it %s s (part of the floor)" % (
      label, [round(value, 2) for value in seconds]))
  if basics:
    print("on the master node, per command and per call (medians): %s" % ", ".join(
      "%s %.0f ms" % (name, seconds * 1000) for name, seconds in basics.items()))
  print("(medians over %d rounds, seconds; ours: wall time of the gnt-* command on the master"
        " node; floor: the traced commands as run + qemu's transfer + DRBD's resync and"
        " handshakes; needed:"
        " the floor without the commands that only query state; idle: no node answering a"
        " call (CLI, master, RPC transport); --real-ganeti adds Debian's Ganeti)" %
        len(rounds))


def _TranslationFlushes(cluster: nodes_mod.Cluster) -> dict[str, Optional[int]]:
  return {node.short_name: cluster.TranslationFlushes(node) for node in cluster.nodes}


def main() -> int:
  parser = argparse.ArgumentParser(
    description="DRBD operations in the QA cluster against the commands they run",
    epilog="See the module's description (head of this file) for what is measured.")
  parser.add_argument("--rounds", type=int, default=3)
  parser.add_argument("--run-dir", default=os.path.join(TOP, "build", "qa-bench"))
  parser.add_argument("--reuse", action="store_true",
                      help="use the cluster already up in --run-dir (left up afterwards)")
  parser.add_argument("--keep", action="store_true", help="leave the VMs up")
  parser.add_argument("--no-install", action="store_true",
                      help="with --reuse: the nodes already run this checkout")
  parser.add_argument("--disk-size", default="64M")
  parser.add_argument("--no-new-secondary", action="store_true",
                      help="skip replace-disks -n (a full sync to the third node)")
  parser.add_argument("--only", help="just these operations (comma-separated labels)")
  parser.add_argument("--show-commands", action="store_true",
                      help="print what the node daemons ran in the first round")
  parser.add_argument("--real-ganeti", action="store_true",
                      help="then the same rounds with Debian's Ganeti 3.0 on the same nodes"
                      " (takes our cluster down; the VMs go at the end unless --keep)")
  options = parser.parse_args()
  labels = [label for label, _ in OPERATIONS]
  if options.no_new_secondary:
    labels.remove("replace-disks -n")
  if options.only:
    labels = [label for label in labels if label in options.only.split(",")]
  run_dir = os.path.abspath(options.run_dir)
  print("load average at start: %s" % _LoadAverage())
  config = qa_main.LoadConfig(qa_main.DEFAULT_CONFIG)
  cluster = nodes_mod.Cluster(config, run_dir)
  up_here = False
  rounds: list[dict[str, dict]] = []
  real_rounds: list[dict[str, dict]] = []
  real_version = ""
  basics = None
  flushes_during: dict[str, int] = {}
  try:
    if options.real_ganeti:
      real_ganeti.CheckHost()
    if not (options.reuse and cluster.Running()):
      qa_main.CheckHost()
      if cluster.state:
        cluster.Down()
      up_here = True
      cluster.Up(image_mod.Build())
    if up_here or not options.no_install:
      stage_dir = os.path.join(run_dir, "stage")
      install.Push(cluster, install.Stage(TOP, stage_dir, os.path.join(run_dir, "src")),
                   stage_dir)
    ctx = steps.Context(cluster, config, os.path.join(run_dir, "steps.log"))
    bench = Bench(cluster, ctx, options.disk_size)
    bench.EnableTraces()
    bench.EnsureCluster()
    flushes_before = _TranslationFlushes(cluster)
    for round_no in range(options.rounds):
      rounds.append(bench.Round(round_no, labels, options.show_commands and round_no == 0))
      util.Log("round %d: %s" % (round_no, {label: round(figures.get("ours", figures.get(
        "seconds", 0)), 2) for label, figures in rounds[-1].items()}))
    basics = bench.Basics()
    flushes_during = {name: later - flushes_before[name]
                      for name, later in _TranslationFlushes(cluster).items()
                      if flushes_before[name] is not None and later is not None}
    if options.real_ganeti:
      debs = real_ganeti.Download(cluster, os.path.join(run_dir, "real-ganeti-debs"))
      real_ganeti.TakeDownOurs(ctx)
      real_ganeti.Install(cluster, debs)
      real_ganeti.InitCluster(ctx, REAL_GANETI_TEMPLATES)
      real_version = real_ganeti.Version(cluster)
      for round_no in range(options.rounds):
        real_rounds.append(bench.RealRound(round_no, labels))
        util.Log("Ganeti round %d: %s" % (round_no, {
          label: round(figures["wall"], 2) for label, figures in real_rounds[-1].items()}))
  except util.QAError as err:
    print("bench_drbd_qa: %s" % err, file=sys.stderr)
    return 1
  finally:
    if rounds:
      Report(rounds, basics)
      if flushes_during:
        print("qemu flushed its translation cache during the rounds: %s (each flush"
              " slows the node while its code is translated again)" %
              ", ".join("%s %d times" % item for item in sorted(flushes_during.items())))
    if real_rounds:
      ReportReal(rounds, real_rounds, real_version)
    print("load average at end: %s" % _LoadAverage())
    # a cluster given to Debian's Ganeti is no longer one of ours to reuse
    if (up_here or options.real_ganeti) and not options.keep:
      cluster.Down()
  return 0


if __name__ == "__main__":
  sys.exit(main())
