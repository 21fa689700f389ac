#!/usr/bin/env python3
"""gnt-cluster verify and RPC fan-out on growing virtual clusters, and Ganeti 3.0.

  test/bench/bench_verify.py [--sizes 2,10,25,50] [--instances 1000] [--runs 3] [--no-real]

For each size N it builds an N-node virtual cluster of this tree whose nodes
join over real SSH (every node daemon a real process), then measures:
  - the wall time of `gnt-cluster verify` (median of --runs),
  - the peak memory (VmHWM) of the master daemon and the largest of the node
    daemons and conf daemons,
  - the latency of one RPC call (version) sent to all N nodes at once
    (median of 20), from a process on the master.
At the largest size it then adds --instances stopped fake-hypervisor
instances to the configuration and measures verify and memory again.
With ../shared/tools/real-ganeti present and up, `gnt-cluster verify` of its
real 2-node Ganeti 3.0 cluster is timed too and the ratio printed.
Every loop is bounded.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "build"))
sys.path.insert(0, os.path.join(TOP, "test", "py"))
REAL_GX = os.path.normpath(os.path.join(TOP, "..", "shared", "tools", "real-ganeti", "gx"))

FANOUT_SCRIPT = """
import statistics, time
from ganeti import config
from ganeti.rpc import client
cfg = config.ConfigWriter(offline=True)
runner = client.RpcRunner(cfg)
nodes = cfg.GetNodeList()
runner.call_version(nodes)  # connections up
times = []
for _ in range(20):
  start = time.perf_counter()
  results = runner.call_version(nodes)
  times.append(time.perf_counter() - start)
  assert not [r for r in results.values() if r.fail_msg], results
print(statistics.median(times))
"""

ADD_INSTANCES_SCRIPT = """
import sys
from ganeti import config, constants, objects
cfg = config.ConfigWriter()
nodes = cfg.GetNodeList()
for index in range(int(sys.argv[1])):
  inst = objects.Instance(name="inst%d.example.com" % index, primary_node=nodes[index % len(nodes)],
                          os="debootstrap+default", hypervisor=constants.HT_FAKE,
                          admin_state=constants.ADMINST_DOWN, admin_state_source="admin",
                          disks=[], nics=[], hvparams={}, beparams={}, osparams={},
                          osparams_private={}, disks_active=False, tags=[])
  cfg.AddInstance(inst, "bench")
"""


def _peak_kib(pid_file: str) -> int:
  try:
    with open(pid_file) as handle:
      pid = int(handle.read().strip())
    with open("/proc/%d/status" % pid) as handle:
      return int(re.search(r"VmHWM:\s+(\d+)", handle.read()).group(1))
  except (OSError, ValueError, AttributeError):
    return 0


def _timed(fn, runs: int) -> float:
  times = []
  for _ in range(runs):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def _measure(vc, nodes: int, runs: int) -> dict:
  def verify():
    proc = vc.run("gnt-cluster", "verify", check=False, timeout=600)
    if proc.returncode != 0:
      print("    (verify reported problems)\n" + proc.stdout[-2000:], file=sys.stderr)
  verify_s = _timed(verify, runs)
  run_dir = "/var/run/ganeti"
  return {
    "verify_s": verify_s,
    "masterd_mib": _peak_kib(vc.path(run_dir + "/ganeti-masterd.pid", 1)) / 1024,
    "noded_mib": max(_peak_kib(vc.path(run_dir + "/ganeti-noded.pid", n))
                     for n in range(1, nodes + 1)) / 1024,
    "confd_mib": max(_peak_kib(vc.path(run_dir + "/ganeti-confd.pid", n))
                     for n in range(1, nodes + 1)) / 1024,
  }


def _python(vc, script: str, *args: str) -> str:
  """Runs a Python script of this tree as the master node; its output."""
  env = dict(vc.env(1), PYTHONPATH=os.path.join(TOP, "build"))
  return subprocess.run([sys.executable, "-c", script, *args], env=env, check=True,
                        stdout=subprocess.PIPE, text=True, timeout=600).stdout


def _fanout(vc) -> float:
  return float(_python(vc, FANOUT_SCRIPT).strip().splitlines()[-1])


def BenchSize(nodes: int, runs: int, instances: int) -> list[dict]:
  from vcluster_harness import VirtualCluster  # pylint: disable=import-outside-toplevel
  vc = VirtualCluster(nodes=nodes, ssh=True, prefix="127.0.%d" % (200 + nodes % 50))
  rows = []
  try:
    start = time.perf_counter()
    vc.init()
    for node in range(2, nodes + 1):
      vc.add_node(node)
    build_s = time.perf_counter() - start
    row = dict(nodes=nodes, instances=0, build_s=build_s, **_measure(vc, nodes, runs))
    row["fanout_ms"] = _fanout(vc) * 1000
    rows.append(row)
    if instances:
      vc.run("daemon-util", "stop", "ganeti-masterd")
      _python(vc, ADD_INSTANCES_SCRIPT, str(instances))
      vc.run("daemon-util", "start", "ganeti-masterd")
      # the configuration changed behind the master's back: send it out again
      vc.run("gnt-cluster", "redist-conf", timeout=600)
      rows.append(dict(nodes=nodes, instances=instances, build_s=0.0,
                       fanout_ms=row["fanout_ms"], **_measure(vc, nodes, runs)))
  finally:
    vc.destroy()
  return rows


def RealVerify(runs: int) -> dict | None:
  if not os.path.exists(REAL_GX):
    return None
  probe = subprocess.run([REAL_GX, "1", "/usr/sbin/gnt-cluster", "getmaster"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         timeout=120, check=False)
  if probe.returncode != 0:
    return None

  def verify():
    subprocess.run([REAL_GX, "1", "/usr/sbin/gnt-cluster", "verify"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=600, check=False)
  seconds = _timed(verify, runs)
  ps = subprocess.run([REAL_GX, "1", "sh", "-c", "ps -C ganeti-luxid -o rss="],
                      stdout=subprocess.PIPE, text=True, timeout=60, check=False).stdout
  luxid_mib = max([int(x) for x in ps.split()] or [0]) / 1024
  return {"verify_s": seconds, "luxid_mib": luxid_mib}


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--sizes", default="2,10,25,50")
  parser.add_argument("--instances", type=int, default=1000,
                      help="instances added at the largest size (0: none)")
  parser.add_argument("--runs", type=int, default=3)
  parser.add_argument("--no-real", action="store_true")
  options = parser.parse_args()
  sizes = [int(size) for size in options.sizes.split(",")]
  rows = []
  print("%5s %6s %8s %9s %9s %10s %9s %9s" % ("nodes", "inst", "build_s", "verify_s",
                                               "fanout_ms", "masterd_MB", "noded_MB",
                                               "confd_MB"), flush=True)
  for nodes in sizes:
    print("building and measuring a %d-node cluster ..." % nodes, file=sys.stderr)
    for row in BenchSize(nodes, options.runs, options.instances if nodes == max(sizes) else 0):
      print("%5d %6d %8.1f %9.3f %9.2f %10.1f %9.1f %9.1f" % (
        row["nodes"], row["instances"], row["build_s"], row["verify_s"], row["fanout_ms"],
        row["masterd_mib"], row["noded_mib"], row["confd_mib"]), flush=True)
      rows.append(row)
  real = None if options.no_real else RealVerify(options.runs)
  base = rows[0]
  for row in rows[1:]:
    if row["instances"] == 0:
      print("verify time x%.2f for x%.1f nodes (%d -> %d)" % (
        row["verify_s"] / base["verify_s"], row["nodes"] / base["nodes"], base["nodes"],
        row["nodes"]))
  if real:
    ours = next((row for row in rows if row["nodes"] == 2 and row["instances"] == 0), None)
    print("Ganeti 3.0 (real, 2 nodes): verify %.3f s, luxid %.1f MB" % (real["verify_s"],
                                                                        real["luxid_mib"]))
    if ours:
      print("ratio ours/Ganeti at 2 nodes: verify %.3f" % (ours["verify_s"] / real["verify_s"]))
  return 0


if __name__ == "__main__":
  sys.exit(main())
