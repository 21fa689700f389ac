#!/usr/bin/env python3
"""hbal, hspace and hail: this tree against Debian's Haskell htools.

  test/bench/bench_htools.py [--sizes 20:400,200:1000,1000:10000]
                             [--timeout 600] [--programs hbal,hspace,hail]
                             [--max-length N]

For each size NODES:INSTANCES a cluster is generated (ganeti.htools.generator,
skewed placement, fixed seed) into a text file; both implementations run on
the same file (hspace and hail on a lightly loaded cluster of the same size,
hail on the same allocator request for one DRBD instance)
as separate processes, measured for wall time and peak memory (RUSAGE of
the child).  Each Haskell run is bounded by --timeout (shorter for the big
sizes, see _HaskellTimeout) and reported as "did not finish" past it; ours
gets --timeout for hbal and the same bound otherwise.  --max-length N caps both hbal runs at N moves (-l N),
which compares the cost per step on sizes where neither finishes.  Printed per program and size: times, peak RSS, the
time ratio ours/Haskell, and the scores (hbal: final score and moves;
hspace: instances placed; hail: score of the chosen spot).
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "build"))

from ganeti.cmdlib import iallocator as master_side  # noqa: E402
from ganeti.htools import generator  # noqa: E402
from ganeti.htools import iallocator  # noqa: E402
from ganeti.htools import loader  # noqa: E402
from ganeti.htools import model  # noqa: E402
from ganeti.htools import score  # noqa: E402
from ganeti.htools import textfmt  # noqa: E402

OURS = {"hbal": os.path.join(TOP, "build", "sbin", "hbal"),
        "hspace": os.path.join(TOP, "build", "sbin", "hspace"),
        "hail": os.path.join(TOP, "build", "iallocators", "hail")}
TIME = "/usr/bin/time"
HASKELL = {"hbal": "/usr/bin/hbal", "hspace": "/usr/bin/hspace",
           "hail": "/usr/lib/ganeti/iallocators/hail"}


def _Measure(argv, timeout):
  """(seconds, peak RSS in MiB, stdout) of a program (seconds None past timeout).

  GNU time reports the peak RSS of the program alone (a child forked from
  this process would count this interpreter's pages too)."""
  start = time.monotonic()
  with tempfile.TemporaryFile("w+") as output, tempfile.TemporaryFile("w+") as errors:
    # a session of its own, so that a timeout ends the program and not only time(1)
    proc = subprocess.Popen([TIME, "-f", "MAXRSS %M"] + argv, stdout=output, stderr=errors,
                            start_new_session=True)
    try:
      proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
      os.killpg(proc.pid, signal.SIGKILL)
      proc.wait()
      return None, None, ""
    elapsed = time.monotonic() - start
    output.seek(0)
    errors.seek(0)
    rss = re.findall(r"MAXRSS (\d+)", errors.read())
    return elapsed, int(rss[-1]) / 1024.0 if rss else None, output.read()


def _HbalResult(out):
  match = re.search(r"Cluster score improved from [\d.]+ to ([\d.]+)", out)
  length = re.search(r"Solution length=(\d+)", out)
  if not match:
    initial = re.search(r"Initial score: ([\d.]+)", out)
    return "score %s, 0 moves" % (initial.group(1) if initial else "?")
  return "score %s in %s moves" % (match.group(1), length.group(1) if length else "?")


def _HspaceResult(out):
  tiered = sum(int(n) for n in re.findall(r"-\s+(\d+) instances of spec", out))
  normal = re.search(r"-\s+(\d+) instances allocated", out)
  return "tiered %d, standard %s instances" % (tiered, normal.group(1) if normal else "?")


def _HailResult(out, data):
  try:
    answer = json.loads(out)
  except ValueError:
    return "no answer"
  if not answer.get("success"):
    return "failed: %s" % answer.get("info", "")[:60]
  cluster = loader.FromIAllocator(data)
  inst = iallocator._NewInstance(data["request"])  # pylint: disable=protected-access
  nodes = [cluster.FindNode(name) for name in answer["result"]] + [model.NO_NODE]
  cluster.AddInstance(inst, nodes[0], nodes[1])
  return "score %.8f on %s" % (score.Score(cluster, cluster.GroupNodes(0)),
                                "/".join(answer["result"]))


def _HaskellTimeout(limit, nodes, instances):
  """Haskell's hbal is quadratic in the nodes per candidate: cap the big runs."""
  return limit if nodes * instances <= 20 * 400 * 4 else min(limit, 300)


def _Report(program, size, ours, theirs, our_result, their_result, limit, our_limit=None):
  our_limit = limit if our_limit is None else our_limit
  def _Time(value, bound):
    return "%.2f s" % value if value is not None else "did not finish within %d s" % bound
  ratio = ("%.3f" % (ours[0] / theirs[0])) if ours[0] and theirs[0] else "n/a"
  print("%-6s %-11s ours %-28s %-8s theirs %-28s %-8s ratio %s" % (
    program, size, _Time(ours[0], our_limit), "%.0fMiB" % ours[1] if ours[1] else "-",
    _Time(theirs[0], limit),
    "%.0fMiB" % theirs[1] if theirs[1] else "-", ratio))
  print("       %-11s ours: %s | theirs: %s" % ("", our_result, their_result))
  sys.stdout.flush()


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--sizes", default="20:400,200:1000,1000:10000")
  parser.add_argument("--timeout", type=int, default=600)
  parser.add_argument("--programs", default="hbal,hspace,hail")
  parser.add_argument("--max-length", type=int, default=None)
  args = parser.parse_args()
  programs = args.programs.split(",")
  workdir = tempfile.mkdtemp(prefix="bench-htools-")
  for size in args.sizes.split(","):
    nodes, instances = (int(part) for part in size.split(":"))
    cluster = generator.Generate(nodes=nodes, instances=instances, seed=1)
    path = os.path.join(workdir, "cluster-%s.txt" % size.replace(":", "-"))
    textfmt.Save(cluster, path)
    limit = _HaskellTimeout(args.timeout, nodes, instances)
    haskell_ok = lambda name: os.access(HASKELL[name], os.X_OK)  # noqa: E731
    if "hbal" in programs:
      cap = ["-l", str(args.max_length)] if args.max_length is not None else []
      ours = _Measure([OURS["hbal"], "-t", path] + cap, args.timeout)
      theirs = (_Measure([HASKELL["hbal"], "-t", path] + cap, limit) if haskell_ok("hbal")
                else (None, None, ""))
      _Report("hbal", size, ours, theirs, _HbalResult(ours[2]), _HbalResult(theirs[2]), limit,
              args.timeout)
    # hspace and hail need room: a lightly loaded, N+1 happy cluster of the same size
    light = generator.Generate(nodes=nodes, instances=instances, seed=1, fill=0.05, skew=0.3)
    light_path = os.path.join(workdir, "light-%s.txt" % size.replace(":", "-"))
    textfmt.Save(light, light_path)
    if "hspace" in programs:
      ours = _Measure([OURS["hspace"], "-t", light_path], limit)
      theirs = (_Measure([HASKELL["hspace"], "-t", light_path], limit) if haskell_ok("hspace")
                else (None, None, ""))
      _Report("hspace", size, ours, theirs, _HspaceResult(ours[2]), _HspaceResult(theirs[2]),
              limit)
    if "hail" in programs:
      request = {"type": "allocate", "name": "bench-new", "disk_template": "drbd",
                 "memory": 1024, "vcpus": 1, "disks": [{"size": 10240, "mode": "rw"}],
                 "disk_space_total": master_side.DiskSpaceTotal("drbd", [10240]),
                 "nics": [{"mac": "aa:00:00:00:00:01", "ip": None}], "tags": [],
                 "required_nodes": 2, "spindle_use": 1, "os": "debian", "hypervisor": "kvm"}
      data = iallocator.BuildInput(light, request)
      request_path = os.path.join(workdir, "hail-%s.json" % size.replace(":", "-"))
      with open(request_path, "w") as handle:
        json.dump(data, handle)
      ours = _Measure([OURS["hail"], request_path], limit)
      theirs = (_Measure([HASKELL["hail"], request_path], limit) if haskell_ok("hail")
                else (None, None, ""))
      _Report("hail", size, ours, theirs, _HailResult(ours[2], data),
              _HailResult(theirs[2], data), limit)
  print("files kept in %s" % workdir)


if __name__ == "__main__":
  main()
