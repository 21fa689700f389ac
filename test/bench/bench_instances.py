#!/usr/bin/env python3
"""gnt-instance add and gnt-instance list, this tree against Ganeti 3.0.

  test/bench/bench_instances.py [--runs 5] [--sizes 100,1000,10000]
                                [--real-list-size 0] [--no-real]

On a 2-node virtual cluster of this tree (nodes joined over real SSH, every
daemon a real process) it times, as whole commands:
  - `gnt-instance add -t diskless --no-install` and `-t file` (1 GiB disk,
    the minimal OS installing an ext4 image), median of --runs;
  - `gnt-instance list` with each of --sizes instances in the configuration
    (added to config.data while the master is stopped), median of --runs.
With ../shared/tools/real-ganeti up, the same adds run on its real 2-node
Ganeti 3.0 cluster, and `gnt-instance list` is timed with the instances it
has (after adding --real-list-size diskless ones, removed afterwards); the
ratios are printed.  Every loop is bounded.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "build"))
sys.path.insert(0, os.path.join(TOP, "test", "py"))
REAL_GX = os.path.normpath(os.path.join(TOP, "..", "shared", "tools", "real-ganeti", "gx"))

# config.data edited as a file (the master is stopped): one write for any count
ADD_INSTANCES_SCRIPT = """
import sys, time, uuid
from ganeti import pathutils, serializer
from ganeti.utils import io
data = serializer.LoadJson(io.ReadFile(pathutils.CLUSTER_CONF_FILE))
nodes = sorted(data["nodes"])
now = time.time()
for index in range(int(sys.argv[1])):
  data["instances"][str(uuid.uuid4())] = {
    "name": "bulk%05d" % index, "primary_node": nodes[index % len(nodes)],
    "os": "minimal+default", "hypervisor": "fake", "admin_state": "down",
    "admin_state_source": "admin", "disks": [], "disks_active": False,
    "nics": [{"mac": "aa:01:%02x:%02x:%02x:%02x" % (index >> 24 & 255, index >> 16 & 255,
                                                   index >> 8 & 255, index & 255),
              "ip": None, "nicparams": {}, "uuid": str(uuid.uuid4())}],
    "hvparams": {}, "beparams": {}, "osparams": {}, "osparams_private": {},
    "tags": [], "ctime": now, "mtime": now, "serial_no": 1}
data["serial_no"] += 1
io.WriteFile(pathutils.CLUSTER_CONF_FILE, serializer.DumpJson(data), mode=0o640)
"""

REMOVE_BULK_SCRIPT = """
from ganeti import pathutils, serializer
from ganeti.utils import io
data = serializer.LoadJson(io.ReadFile(pathutils.CLUSTER_CONF_FILE))
data["instances"] = {key: inst for key, inst in data["instances"].items()
                     if not inst["name"].startswith("bulk")}
data["serial_no"] += 1
io.WriteFile(pathutils.CLUSTER_CONF_FILE, serializer.DumpJson(data), mode=0o640)
"""

ADD_ARGS = {
  "diskless": ["-t", "diskless", "--no-install"],
  "file": ["-t", "file", "--disk", "0:size=1G"],
}


def _timed(fn, runs: int) -> float:
  times = []
  for index in range(runs):
    start = time.perf_counter()
    fn(index)
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def _python(vc, script: str, *args: str) -> None:
  env = dict(vc.env(1), PYTHONPATH=os.path.join(TOP, "build"))
  subprocess.run([sys.executable, "-c", script, *args], env=env, check=True, timeout=1200)


def _restart_master(vc, script: str, *args: str) -> None:
  """Changes config.data with the master stopped, then lets it start again."""
  vc.run("daemon-util", "stop", "ganeti-masterd")
  _python(vc, script, *args)
  vc.run("daemon-util", "start", "ganeti-masterd")
  vc.run("gnt-cluster", "redist-conf", timeout=600)


def OurFigures(runs: int, sizes: list[int]) -> dict:
  from vcluster_harness import VirtualCluster  # pylint: disable=import-outside-toplevel
  vc = VirtualCluster(nodes=2, ssh=True, prefix="127.0.%d" % (180 + os.getpid() % 20))
  figures = {}
  try:
    vc.init()
    vc.add_node(2)
    for kind, args in ADD_ARGS.items():
      def add(index, kind=kind, args=args):
        # the virtual cluster's NICs are routed: they need an address
        vc.run("gnt-instance", "add", *args, "-o", "minimal+default", "-n", "node%d" % (
          1 + index % 2), "--net", "0:ip=192.0.2.%d" % (10 + index), "--no-name-check",
          "--no-ip-check", "%s%d" % (kind, index))
      figures["add_" + kind] = _timed(add, runs)
      for index in range(runs):
        vc.run("gnt-instance", "remove", "-f", "%s%d" % (kind, index))
    for size in sizes:
      _restart_master(vc, ADD_INSTANCES_SCRIPT, str(size))
      vc.run("gnt-instance", "list")  # connections up
      figures["list_%d" % size] = _timed(lambda _: vc.run("gnt-instance", "list"), runs)
      _restart_master(vc, REMOVE_BULK_SCRIPT)
  finally:
    vc.destroy()
  return figures


def _gx(*args: str, check: bool = True) -> subprocess.CompletedProcess:
  return subprocess.run([REAL_GX, "1", *args], stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, text=True, timeout=600, check=check)


def RealFigures(runs: int, list_size: int) -> dict | None:
  if not os.path.exists(REAL_GX) or _gx("/usr/sbin/gnt-cluster", "getmaster",
                                        check=False).returncode != 0:
    return None
  nodes = _gx("/usr/sbin/gnt-node", "list", "--no-headers", "-o", "name").stdout.split()
  figures = {}
  for kind, args in ADD_ARGS.items():
    def add(index, kind=kind, args=args):
      _gx("/usr/sbin/gnt-instance", "add", *args, "-o", "lab+default", "-n",
          nodes[index % len(nodes)], "--no-name-check", "--no-ip-check",
          "bench-%s%d" % (kind, index))
    figures["add_" + kind] = _timed(add, runs)
    for index in range(runs):
      _gx("/usr/sbin/gnt-instance", "remove", "-f", "bench-%s%d" % (kind, index))
  bulk = ["bench-list%d" % index for index in range(list_size)]
  try:
    for name in bulk:
      _gx("/usr/sbin/gnt-instance", "add", "-t", "diskless", "--no-install", "--no-start",
          "-o", "lab+default", "-n", nodes[0], "--no-name-check", "--no-ip-check", name)
    count = len(_gx("/usr/sbin/gnt-instance", "list", "--no-headers").stdout.splitlines())
    figures["list_count"] = count
    figures["list"] = _timed(lambda _: _gx("/usr/sbin/gnt-instance", "list"), runs)
  finally:
    for name in bulk:
      _gx("/usr/sbin/gnt-instance", "remove", "-f", name, check=False)
  return figures


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--runs", type=int, default=5)
  parser.add_argument("--sizes", default="100,1000,10000")
  parser.add_argument("--real-list-size", type=int, default=0)
  parser.add_argument("--no-real", action="store_true")
  options = parser.parse_args()
  sizes = [int(size) for size in options.sizes.split(",") if size]
  ours = OurFigures(options.runs, sizes)
  real = None if options.no_real else RealFigures(options.runs, options.real_list_size)
  print("%-34s %10s %12s %8s" % ("measure", "ours (s)", "Ganeti (s)", "ratio"))
  for kind in ADD_ARGS:
    key = "add_" + kind
    theirs = real.get(key) if real else None
    print("%-34s %10.3f %12s %8s" % ("gnt-instance add -t %s" % kind, ours[key],
                                     "%.3f" % theirs if theirs else "-",
                                     "%.3f" % (ours[key] / theirs) if theirs else "-"))
  for size in sizes:
    print("%-34s %10.3f %12s %8s" % ("gnt-instance list, %d instances" % size,
                                     ours["list_%d" % size], "-", "-"))
  if real:
    # compared with our list at the nearest size
    nearest = min(sizes, key=lambda size: abs(size - real["list_count"]))
    print("%-34s %10.3f %12.3f %8.3f" % (
      "list, %d (ours %d) instances" % (real["list_count"], nearest), ours["list_%d" % nearest],
      real["list"], ours["list_%d" % nearest] / real["list"]))
  return 0


if __name__ == "__main__":
  sys.exit(main())
