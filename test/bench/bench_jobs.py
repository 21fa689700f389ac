#!/usr/bin/env python3
"""Job throughput, job latency and CLI wall time: ours against Ganeti 3.0.

  test/bench/bench_jobs.py [--jobs N] [--real-jobs N] [--no-real]

Brings up a 1-node virtual cluster of this tree, runs no-op jobs
(OP_TEST_DELAY, duration 0.001) through LUXI with 1 and with 8 concurrent
clients (separate processes), measures submit-to-success latency and one
fsync of the queue's disk, and times `gnt-job list` / `gnt-cluster info` as
whole commands.  With ../shared/tools/real-ganeti present (and its cluster
up), the same workload runs against real Ganeti inside its node 1, and the
ratios are printed.  Every loop is bounded.
"""

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "build"))
sys.path.insert(0, os.path.join(TOP, "test", "py"))
REAL_GX = os.path.normpath(os.path.join(TOP, "..", "shared", "tools", "real-ganeti", "gx"))

DELAY_OP = {"OP_ID": "OP_TEST_DELAY", "duration": 0.001, "on_master": True, "on_nodes": [],
            "repeat": 0, "interruptible": False, "no_locks": True, "dry_run": False,
            "debug_level": 0, "priority": 0, "depends": None, "comment": None}


def _run_jobs(socket_path: str, count: int, deadline: float, out: "multiprocessing.Queue") -> None:
  from ganeti import luxi  # pylint: disable=import-outside-toplevel
  client = luxi.Client(socket_path)
  latencies = []
  for _ in range(count):
    if time.monotonic() > deadline:
      break
    op = dict(DELAY_OP, reason=[["bench", "delay", time.time_ns()]])
    start = time.perf_counter()
    job_id = client.SubmitJob([op])
    status = luxi.WaitForJobCompletion(client, job_id, poll_timeout=120)
    if status[0] != "success":
      raise RuntimeError("job %s ended %s" % (job_id, status))
    latencies.append(time.perf_counter() - start)
  client.Close()
  out.put(latencies)


def _workload(socket_path: str, jobs: int, clients: int, limit: float) -> dict:
  """Runs jobs spread over client processes; throughput and latencies."""
  out: multiprocessing.Queue = multiprocessing.Queue()
  deadline = time.monotonic() + limit
  per_client = max(1, jobs // clients)
  procs = [multiprocessing.Process(target=_run_jobs, args=(socket_path, per_client, deadline, out))
           for _ in range(clients)]
  start = time.perf_counter()
  for proc in procs:
    proc.start()
  latencies = []
  for _ in procs:
    latencies += out.get(timeout=limit + 120)
  for proc in procs:
    proc.join(30)
  wall = time.perf_counter() - start
  return {"jobs": len(latencies), "clients": clients, "wall": wall,
          "jobs_per_s": len(latencies) / wall,
          "median_latency": statistics.median(latencies) if latencies else None}


def _fsync_time(directory: str) -> float:
  """Median time of one small write + fsync in directory."""
  fd, path = tempfile.mkstemp(dir=directory)
  try:
    samples = []
    for _ in range(50):
      os.write(fd, b"x" * 512)
      start = time.perf_counter()
      os.fsync(fd)
      samples.append(time.perf_counter() - start)
    return statistics.median(samples)
  finally:
    os.close(fd)
    os.unlink(path)


def _time_command(argv: list[str], env: dict, runs: int = 10) -> float:
  samples = []
  for _ in range(runs):
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True, timeout=60)
    samples.append(time.perf_counter() - start)
  return statistics.median(samples)


def Measure(socket_path: str, queue_dir: str, jobs: int, env: dict, commands: dict) -> dict:
  result = {"fsync": _fsync_time(queue_dir)}
  # commands first, while both queues hold few jobs (gnt-job list shows them all)
  result["cli"] = {name: _time_command(argv, env) for name, argv in commands.items()}
  result["one_client"] = _workload(socket_path, jobs, 1, limit=300)
  result["eight_clients"] = _workload(socket_path, jobs, 8, limit=300)
  return result


def _ours(jobs: int) -> dict:
  from vcluster_harness import VirtualCluster  # pylint: disable=import-outside-toplevel
  cluster = VirtualCluster(nodes=1)
  try:
    cluster.init()
    root = cluster.root(1)
    return Measure(root + "/var/run/ganeti/socket/ganeti-query",
                   root + "/var/lib/ganeti/queue", jobs, cluster.env(1),
                   {"gnt-job list": ["gnt-job", "list"],
                    "gnt-cluster info": ["gnt-cluster", "info"]})
  finally:
    cluster.destroy()


def _real(jobs: int) -> dict | None:
  if not os.path.exists(REAL_GX):
    return None
  proc = subprocess.run([REAL_GX, "1", "python3", os.path.abspath(__file__),
                         "--inside-real", "--jobs", str(jobs)],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=1800,
                        check=False)
  if proc.returncode != 0:
    print("real Ganeti run failed (is its cluster up? %s/up.sh):\n%s" %
          (os.path.dirname(REAL_GX), proc.stderr[-2000:]))
    return None
  return json.loads(proc.stdout.strip().splitlines()[-1])


def _print(ours: dict, real: dict | None) -> None:
  def row(title: str, ours_value: float, real_value: float | None, unit: str,
          higher_is_better: bool) -> None:
    ratio = ""
    if real_value:
      factor = ours_value / real_value if higher_is_better else real_value / ours_value
      ratio = "%8.1fx better" % factor if factor >= 1 else "%8.2fx (worse)" % factor
    real_text = "%12.4f" % real_value if real_value else "%12s" % "-"
    print("%-36s %12.4f %s %-6s %s" % (title, ours_value, real_text, unit, ratio))

  print("%-36s %12s %12s" % ("", "ours", "Ganeti 3.0"))
  r = real or {}
  for key, title in (("one_client", "1 client"), ("eight_clients", "8 clients")):
    row("no-op jobs/s, " + title, ours[key]["jobs_per_s"],
        r.get(key, {}).get("jobs_per_s"), "job/s", True)
    row("median latency, " + title, ours[key]["median_latency"],
        r.get(key, {}).get("median_latency"), "s", False)
  row("fsync of the queue disk", ours["fsync"], r.get("fsync"), "s", False)
  for key in ("one_client", "eight_clients"):
    print("median latency / fsync, %-12s ours %.1f fsyncs%s" % (
      key, ours[key]["median_latency"] / ours["fsync"],
      ", Ganeti %.1f" % (r[key]["median_latency"] / r["fsync"]) if r else ""))
  print("  (each job sleeps 1 ms itself: ours %.1f fsyncs above the sleep)" %
        ((ours["one_client"]["median_latency"] - 0.001) / ours["fsync"]))
  for name, value in ours["cli"].items():
    row(name + " (whole command)", value, r.get("cli", {}).get(name), "s", False)


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--jobs", type=int, default=400, help="jobs per workload (ours)")
  parser.add_argument("--real-jobs", type=int, default=24, help="jobs per workload (Ganeti)")
  parser.add_argument("--no-real", action="store_true", help="skip real Ganeti")
  parser.add_argument("--inside-real", action="store_true", help=argparse.SUPPRESS)
  options = parser.parse_args()
  if options.inside_real:
    result = Measure("/var/run/ganeti/socket/ganeti-query", "/var/lib/ganeti/queue",
                     options.jobs, dict(os.environ),
                     {"gnt-job list": ["/usr/sbin/gnt-job", "list"],
                      "gnt-cluster info": ["/usr/sbin/gnt-cluster", "info"]})
    print(json.dumps(result))
    return 0
  ours = _ours(options.jobs)
  real = None if options.no_real else _real(options.real_jobs)
  _print(ours, real)
  return 0


if __name__ == "__main__":
  sys.exit(main())
