#!/usr/bin/env python3
"""The RAPI daemon, this tree against Ganeti 3.0.

  test/bench/bench_rapi.py [--seconds 5] [--runs 5] [--sizes 500,5000]
                           [--real-bulk-size 500] [--no-real]

On a 1-node virtual cluster of this tree it measures, from a load generator
in other processes on loopback (HTTPS, certificate not verified):
  - requests per second of GET /2/info for --seconds with 1 and 4
    concurrent clients, each with and without HTTP keep-alive;
  - the latency of GET /2/instances?bulk=1 (median of --runs) with each of
    --sizes instances in the configuration (written to config.data while
    the master is stopped, as bench_instances.py does).
With ../shared/tools/real-ganeti up, the same load generator runs inside
its node 1 against Ganeti 3.0's ganeti-rapi (which closes every connection:
"with keep-alive" is then what a keep-alive client gets), and the bulk
latency is measured after adding --real-bulk-size diskless instances through
its RAPI (removed afterwards).  Ratios are printed.  Every loop is bounded.
"""

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "build"))
sys.path.insert(0, os.path.join(TOP, "test", "py"))
sys.path.insert(0, HERE)
REAL_GX = os.path.normpath(os.path.join(TOP, "..", "shared", "tools", "real-ganeti", "gx"))
REAL_USER = ("rapiadmin", "rapipass123")
REAL_HOST = "127.0.0.1"

# Runs where the server is (python3 - ARGS): standard library only.  Prints
# one JSON line: {"requests": n, "seconds": s} or {"latencies": [...]}.
LOAD_SCRIPT = r"""
import base64, json, multiprocessing, socket, ssl, sys, time
mode, host, port, path, user, password = sys.argv[1:7]
REQUEST = ("GET %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Basic %s\r\n\r\n" % (
  path, host, base64.b64encode(("%s:%s" % (user, password)).encode()).decode())).encode()
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
MAX_REQUESTS = 200000

# A lean client (raw TLS socket, minimal parsing) so that the servers, not
# the load generator, set the pace

def Connect():
  return context.wrap_socket(socket.create_connection((host, int(port)), timeout=120))

def Fetch(sock):
  # sends the request and reads the whole answer; returns whether the server closes
  sock.sendall(REQUEST)
  data = b""
  while b"\r\n\r\n" not in data:
    chunk = sock.recv(65536)
    if not chunk:
      raise SystemExit("connection closed early")
    data += chunk
  head, _, body = data.partition(b"\r\n\r\n")
  lines = head.decode("latin-1").split("\r\n")
  if lines[0].split()[1] != "200":
    raise SystemExit("%s for %s" % (lines[0], path))
  headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
  length = int(headers.get("content-length", -1))
  while len(body) < length or length < 0:
    chunk = sock.recv(1 << 20)
    if not chunk:
      break
    body += chunk
  return headers.get("connection") == "close"

def Load(args):
  seconds, keepalive = args
  deadline = time.monotonic() + seconds
  sock, count = None, 0
  while time.monotonic() < deadline and count < MAX_REQUESTS:
    if sock is None:
      sock = Connect()
    closes = Fetch(sock)
    count += 1
    if closes or not keepalive:
      sock.close()
      sock = None
  if sock is not None:
    sock.close()
  return count

if mode == "rate":
  clients, keepalive, seconds = int(sys.argv[7]), sys.argv[8] == "1", float(sys.argv[9])
  Load((0.5, keepalive))  # warm up
  start = time.monotonic()
  with multiprocessing.Pool(clients) as pool:
    counts = pool.map(Load, [(seconds, keepalive)] * clients)
  print(json.dumps({"requests": sum(counts), "seconds": time.monotonic() - start}))
else:
  runs = int(sys.argv[7])
  latencies = []
  for index in range(runs + 1):  # the first one warms up
    sock = Connect()
    start = time.perf_counter()
    Fetch(sock)
    if index:
      latencies.append(time.perf_counter() - start)
    sock.close()
  print(json.dumps({"latencies": latencies}))
"""

CASES = [(1, True), (1, False), (4, True), (4, False)]


def _RunLoad(prefix: list[str], *args: str) -> dict:
  proc = subprocess.run(prefix + ["python3", "-", *args], input=LOAD_SCRIPT, text=True,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=900, check=False)
  if proc.returncode != 0:
    raise RuntimeError("load generator failed: %s" % proc.stderr[-2000:])
  return json.loads(proc.stdout.strip().splitlines()[-1])


def _Measure(prefix: list[str], host: str, user: tuple[str, str], seconds: float) -> dict:
  figures = {}
  for clients, keepalive in CASES:
    answer = _RunLoad(prefix, "rate", host, "5080", "/2/info", user[0], user[1], str(clients),
                      "1" if keepalive else "0", str(seconds))
    figures[(clients, keepalive)] = answer["requests"] / answer["seconds"]
  return figures


def _Latency(prefix: list[str], host: str, user: tuple[str, str], runs: int) -> float:
  answer = _RunLoad(prefix, "latency", host, "5080", "/2/instances?bulk=1", user[0], user[1],
                    str(runs))
  latencies = sorted(answer["latencies"])
  return latencies[len(latencies) // 2]


def OurFigures(seconds: float, runs: int, sizes: list[int]) -> tuple[dict, dict]:
  import bench_instances  # pylint: disable=import-outside-toplevel
  from rapi_harness import USERS, RapiCluster  # pylint: disable=import-outside-toplevel
  cluster = RapiCluster()
  user = ("admin", USERS["admin"][1])
  try:
    rates = _Measure([], cluster.host, user, seconds)
    latencies = {}
    for size in sizes:
      bench_instances._restart_master(cluster.vc, bench_instances.ADD_INSTANCES_SCRIPT,
                                      str(size))
      latencies[size] = _Latency([], cluster.host, user, runs)
      bench_instances._restart_master(cluster.vc, bench_instances.REMOVE_BULK_SCRIPT)
  finally:
    cluster.destroy()
  return rates, latencies


def _Gx(*args: str, check: bool = True) -> subprocess.CompletedProcess:
  return subprocess.run([REAL_GX, "1", *args], stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, text=True, timeout=900, check=check)


def _RealRapi(method: str, path: str, body: object = None) -> object:
  args = ["curl", "-sk", "-u", "%s:%s" % REAL_USER, "-X", method]
  if body is not None:
    args += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
  answer = _Gx(*args, "https://%s:5080%s" % (REAL_HOST, path)).stdout
  return json.loads(answer) if answer.strip() else None


def _RealWaitJobs(job_ids: list[int], timeout: float = 3600) -> None:
  """Waits for the jobs, asking about one job at a time (a bulk job list of
  hundreds of jobs every few seconds would slow Ganeti down itself)."""
  deadline = time.monotonic() + timeout
  pending = sorted(job_ids, reverse=True)  # the last submitted tends to end last
  while pending and time.monotonic() < deadline:
    status = _RealRapi("GET", "/2/jobs/%d" % pending[0])["status"]
    if status in ("success", "error", "canceled"):
      pending.pop(0)
    else:
      time.sleep(5)


def RealFigures(seconds: float, runs: int, bulk_size: int) -> tuple[dict, dict] | None:
  if not os.path.exists(REAL_GX) or _Gx("gnt-cluster", "getmaster",
                                        check=False).returncode != 0:
    return None
  prefix = [REAL_GX, "1"]
  rates = _Measure(prefix, REAL_HOST, REAL_USER, seconds)
  node = _Gx("gnt-cluster", "getmaster").stdout.strip()
  names = ["rapibench%04d" % index for index in range(bulk_size)]
  latencies = {}
  try:
    existing = {entry["id"] for entry in _RealRapi("GET", "/2/instances") or []}
    jobs = [_RealRapi("POST", "/2/instances", {
      "__version__": 1, "mode": "create", "name": name, "disk_template": "diskless",
      "disks": [], "nics": [{}], "os": "lab+default", "pnode": node, "start": False,
      "no_install": True, "ip_check": False, "name_check": False, "ignore_ipolicy": True,
      "beparams": {"memory": 128}}) for name in names if name not in existing]
    _RealWaitJobs(jobs)
    count = len(_RealRapi("GET", "/2/instances"))
    latencies[count] = _Latency(prefix, REAL_HOST, REAL_USER, runs)
  finally:
    existing = {entry["id"] for entry in _RealRapi("GET", "/2/instances") or []}
    removals = [_RealRapi("DELETE", "/2/instances/%s" % name) for name in names
                if name in existing]
    _RealWaitJobs([job for job in removals if isinstance(job, int)])
  return rates, latencies


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--seconds", type=float, default=5)
  parser.add_argument("--runs", type=int, default=5)
  parser.add_argument("--sizes", default="500,5000")
  parser.add_argument("--real-bulk-size", type=int, default=500)
  parser.add_argument("--no-real", action="store_true")
  options = parser.parse_args()
  sizes = [int(size) for size in options.sizes.split(",") if size]
  our_rates, our_latencies = OurFigures(options.seconds, options.runs, sizes)
  real = None if options.no_real else RealFigures(options.seconds, options.runs,
                                                  options.real_bulk_size)
  real_rates, real_latencies = real if real else ({}, {})
  print("%-44s %10s %10s %8s" % ("GET /2/info, requests/s", "ours", "Ganeti", "ratio"))
  for clients, keepalive in CASES:
    ours, theirs = our_rates[(clients, keepalive)], real_rates.get((clients, keepalive))
    print("%-44s %10.1f %10s %8s" % (
      "%d client%s, %s keep-alive" % (clients, "s" if clients > 1 else "",
                                      "with" if keepalive else "without"),
      ours, "%.1f" % theirs if theirs else "-", "%.1fx" % (ours / theirs) if theirs else "-"))
  print("%-44s %10s %10s %8s" % ("GET /2/instances?bulk=1, seconds", "ours", "Ganeti", "ratio"))
  for size in sizes:
    real_size = min(real_latencies, key=lambda count: abs(count - size)) if real_latencies \
      else None
    theirs = real_latencies.get(real_size) if real_size is not None and \
      abs(real_size - size) <= size // 10 else None
    print("%-44s %10.3f %10s %8s" % ("%d instances" % size, our_latencies[size],
                                     "%.3f" % theirs if theirs else "-",
                                     "%.3f" % (our_latencies[size] / theirs) if theirs
                                     else "-"))
  return 0


if __name__ == "__main__":
  sys.exit(main())
