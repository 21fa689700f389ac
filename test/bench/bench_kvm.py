#!/usr/bin/env python3
"""KVM instances: start and live migration through Ganeti against qemu driven
directly by a minimal script (the floor).

  test/bench/bench_kvm.py [--runs 3]

Both sides run the tiny test guest (tools/build-test-guest) under the same
accelerator (TCG here), 128 MiB, one vCPU, one NIC on a bridge inside a
network namespace, and the same migration limits (32 MiB/s, 30 ms).
  - start: from `gnt-instance startup` (floor: launching qemu) to the guest's
    marker on the serial console;
  - migrate: the whole `gnt-instance migrate` command (floor: starting the
    target with -incoming, QMP migrate, waiting for completion, continuing
    the target and quitting the source), with qemu's downtime from QMP
    (Ganeti: the source node's log line; floor: query-migrate).
Medians of --runs; the overhead above the floor and the ratio are printed.
Real Ganeti 3.0 is not compared: its KVM would need qemu inside the shared
real-ganeti cluster's namespaces, which this benchmark does not touch.
"""

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "test", "py"))

from vcluster_harness import VirtualCluster  # noqa: E402  pylint: disable=wrong-import-position

GUEST = os.path.join(TOP, "build", "test-guest")
BRIDGE = "gntbr0"
READY = b"GNT-TEST-GUEST READY"
QEMU = "/usr/bin/qemu-system-x86_64"
BANDWIDTH_MIB, DOWNTIME_MS = 32, 30
DOWNTIME_LOG = re.compile(r"Migration of instance \S+ completed: \S+ ms in total,"
                          r" downtime (\d+) ms")


def _Ip(*args):
  subprocess.run(["ip"] + list(args), check=True, capture_output=True)


def _Namespace(name):
  _Ip("netns", "add", name)
  _Ip("-n", name, "link", "add", BRIDGE, "type", "bridge")
  _Ip("-n", name, "link", "set", BRIDGE, "up")


def _WaitMarker(path, timeout=120):
  """Seconds until the marker shows on the serial socket at path."""
  deadline = time.monotonic() + timeout
  while not os.path.exists(path):
    if time.monotonic() > deadline:
      raise RuntimeError("no serial socket %s" % path)
    time.sleep(0.01)
  with socket.socket(socket.AF_UNIX) as sock:
    sock.connect(path)
    sock.settimeout(timeout)
    data = b""
    while READY not in data:
      chunk = sock.recv(4096)
      if not chunk:
        raise RuntimeError("console closed before the marker")
      data += chunk


class Qmp:
  def __init__(self, path):
    deadline = time.monotonic() + 30
    while not os.path.exists(path) and time.monotonic() < deadline:
      time.sleep(0.01)
    self.sock = socket.socket(socket.AF_UNIX)
    self.sock.connect(path)
    self.file = self.sock.makefile("rw")
    self.file.readline()
    self.run("qmp_capabilities")

  def run(self, command, **arguments):
    self.file.write(json.dumps({"execute": command, "arguments": arguments}) + "\n")
    self.file.flush()
    while True:
      reply = json.loads(self.file.readline())
      if "return" in reply or "error" in reply:
        return reply.get("return", reply.get("error"))


# --- the floor: qemu by hand -----------------------------------------------------------

def _FloorArgv(work, name, tap, incoming=None):
  return [QEMU, "-name", name, "-accel", "tcg", "-m", "128", "-smp", "1", "-nodefaults",
          "-display", "none", "-daemonize", "-pidfile", "%s/%s.pid" % (work, name),
          "-kernel", GUEST + "/vmlinuz", "-initrd", GUEST + "/initrd.gz",
          "-append", "quiet console=ttyS0,115200",
          "-chardev", "socket,id=s0,path=%s/%s.serial,server=on,wait=off" % (work, name),
          "-serial", "chardev:s0",
          "-qmp", "unix:%s/%s.qmp,server=on,wait=off" % (work, name),
          "-netdev", "tap,id=n0,ifname=%s,script=no,downscript=no" % tap,
          "-device", "virtio-net-pci,netdev=n0,mac=aa:00:00:00:00:42"] + \
    (["-incoming", incoming] if incoming else [])


def _FloorTap(namespace, tap):
  _Ip("link", "set", tap, "netns", namespace)
  _Ip("-n", namespace, "link", "set", tap, "master", BRIDGE, "up")


def _Kill(work, name):
  try:
    with open("%s/%s.pid" % (work, name)) as handle:
      os.kill(int(handle.read()), 9)
  except (OSError, ValueError):
    pass


def FloorRun(work, namespaces, port):
  """(start to marker, migration, downtime ms) of qemu driven directly."""
  tag = uuid.uuid4().hex[:5]
  src, dst = "fsrc" + tag, "fdst" + tag
  try:
    start = time.monotonic()
    subprocess.run(_FloorArgv(work, src, "tfs" + tag), check=True)
    _FloorTap(namespaces[0], "tfs" + tag)
    _WaitMarker("%s/%s.serial" % (work, src))
    boot = time.monotonic() - start
    start = time.monotonic()
    uri = "tcp:127.0.0.1:%d" % port
    subprocess.run(_FloorArgv(work, dst, "tfd" + tag, uri), check=True)
    _FloorTap(namespaces[1], "tfd" + tag)
    source = Qmp("%s/%s.qmp" % (work, src))
    source.run("migrate-set-parameters", **{"max-bandwidth": BANDWIDTH_MIB << 20,
                                            "downtime-limit": DOWNTIME_MS})
    source.run("migrate", uri=uri)
    for _ in range(6000):
      info = source.run("query-migrate")
      if info.get("status") in ("completed", "failed", "cancelled"):
        break
      time.sleep(0.01)
    if info.get("status") != "completed":
      raise RuntimeError("floor migration ended as %s" % info.get("status"))
    target = Qmp("%s/%s.qmp" % (work, dst))
    if target.run("query-status").get("status") != "running":
      target.run("cont")
    source.run("quit")
    return boot, time.monotonic() - start, info.get("downtime")
  finally:
    _Kill(work, src)
    _Kill(work, dst)


# --- Ganeti ----------------------------------------------------------------------------

def _Downtimes(vc, node):
  path = vc.path("/var/log/ganeti/node-daemon.log", node)
  try:
    with open(path) as handle:
      return [int(value) for value in DOWNTIME_LOG.findall(handle.read())]
  except OSError:
    return []


def GanetiRun(vc, name, where):
  """(startup to marker, migrate command, downtime ms, startup command);
  where: (source, target)."""
  source, target = where
  vc.run("gnt-instance", "shutdown", "--timeout=30", name)
  if vc.run("gnt-instance", "list", "--no-headers", "-o", "pnode", name).stdout.strip() != \
      "node%d" % source:
    vc.run("gnt-instance", "failover", "-f", "-n", "node%d" % source, name)
  serial = vc.path("/var/run/ganeti/kvm-hypervisor/ctrl/%s.serial" % name, source)
  start = time.monotonic()
  vc.run("gnt-instance", "startup", name)
  command = time.monotonic() - start
  _WaitMarker(serial)
  boot = time.monotonic() - start
  before = len(_Downtimes(vc, source))
  start = time.monotonic()
  vc.run("gnt-instance", "migrate", "-f", "-n", "node%d" % target, name)
  migrate = time.monotonic() - start
  downtimes = _Downtimes(vc, source)[before:]
  return boot, migrate, downtimes[-1] if downtimes else None, command


def _Report(what, ours, floor):
  mine, base = statistics.median(ours), statistics.median(floor)
  print("%-28s ganeti %6.3f s  floor %6.3f s  overhead %+6.3f s  ratio %.2f" %
        (what, mine, base, mine - base, mine / base))


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--runs", type=int, default=3)
  opts = parser.parse_args()
  subprocess.run([os.path.join(TOP, "tools", "build-test-guest")], check=True,
                 stdin=subprocess.DEVNULL)
  run = uuid.uuid4().hex[:6]
  namespaces = ["gkvb%sn1" % run, "gkvb%sn2" % run]
  work = tempfile.mkdtemp(prefix="bench-kvm-")
  vc = None
  try:
    for name in namespaces:
      _Namespace(name)
    vc = VirtualCluster(nodes=2, ssh=True)
    for node, name in enumerate(namespaces, 1):
      with open(os.path.join(vc.root(node), "netns"), "w") as handle:
        handle.write(name + "\n")
    vc.init("--enabled-hypervisors=kvm", "-H",
            "kvm:kernel_path=%s/vmlinuz,initrd_path=%s/initrd.gz,root_path=,"
            "kernel_args=quiet,serial_speed=115200,migration_bandwidth=%d,"
            "migration_downtime=%d" % (GUEST, GUEST, BANDWIDTH_MIB, DOWNTIME_MS),
            "--nic-parameters", "mode=bridged,link=%s" % BRIDGE)
    vc.add_node(2)
    vc.run("gnt-instance", "add", "-t", "diskless", "-o", "minimal+default", "--no-install",
           "--no-name-check", "--no-ip-check", "-B", "memory=128,vcpus=1",
           "--no-start", "-n", "node1", "kvmb")
    # alternated, so that both see the same load of the machine
    ours, floor = [], []
    for index in range(opts.runs):
      floor.append(FloorRun(work, namespaces, 20000 + os.getpid() % 20000))
      ours.append(GanetiRun(vc, "kvmb", (1, 2) if index % 2 == 0 else (2, 1)))
    vc.run("gnt-instance", "remove", "-f", "kvmb")
    print("KVM (TCG) guest, 128 MiB, %d runs, medians" % opts.runs)
    _Report("startup to guest marker", [item[0] for item in ours],
            [item[0] for item in floor])
    _Report("live migration", [item[1] for item in ours], [item[1] for item in floor])
    print("%-28s ganeti %6.3f s" % ("startup command (job end)",
                                    statistics.median(item[3] for item in ours)))
    print("%-28s ganeti %s ms  floor %s ms" % (
      "migration downtime (QMP)", [item[2] for item in ours], [item[2] for item in floor]))
  finally:
    if vc:
      proc = subprocess.run(["pgrep", "-f", "--", "-pidfile %s/" % vc.dir],
                            capture_output=True, text=True, check=False)
      for pid in proc.stdout.split():
        os.kill(int(pid), 9)
      vc.destroy()
    for name in namespaces:
      subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
    subprocess.run(["rm", "-rf", work], check=False)


if __name__ == "__main__":
  main()
