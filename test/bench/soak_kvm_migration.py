#!/usr/bin/env python3
"""Live-migrates the KVM test guest back and forth between two local qemu
processes and checks after every move that its counter goes on.

  test/bench/soak_kvm_migration.py [--moves 20] [--unpadded]

The machine is the one the KVM hypervisor builds (hv_kvm.cmdline, no NICs,
TCG here), migrated with Ganeti's default limits (32 MiB/s, 30 ms).  After a
move the target must print a later counter of the same boot within a few
seconds; a guest that does not is reported with its vCPU's registers and
the script stops (exit status 1).  --unpadded gives the guest exactly its
memory (128 MiB) instead of the few KiB more that emulated guests get, as
before the fix for lost guest writes: how often a move then stalls or
crashes the guest depends on timing (in this harness 0 of 60 moves once,
in a plainer qemu command line a stall within the first 3 to 26 moves).
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "build"))

# pylint: disable=wrong-import-position
from ganeti import constants  # noqa: E402
from ganeti import paramdefs  # noqa: E402
from ganeti.hypervisor.hv_kvm import cmdline, qmp, runtime  # noqa: E402

GUEST = os.path.join(TOP, "build", "test-guest")
COUNTER = re.compile(rb"GNT-TEST-GUEST counter (\d+) boot=(\w+)\r?\n")
MEMORY_MIB = 128
BASE_PORT = 24500


def _Start(work, name, unpadded, incoming=None):
  """Launches the machine (paused unless receiving); its files."""
  files = runtime.InstanceFiles.For(name, work)
  hvp = dict(paramdefs.HVC_DEFAULTS[constants.HT_KVM], kvm_path=shutil.which(
    "qemu-system-x86_64"), kernel_path=GUEST + "/vmlinuz", initrd_path=GUEST + "/initrd.gz",
    root_path="", kernel_args="quiet", serial_speed=115200)
  machine = {"name": name, "uuid": str(uuid.uuid4()), "hvparams": hvp, "memory": MEMORY_MIB,
             "vcpus": 1, "nics": [], "disks": []}
  argv = cmdline.BuildCommand(machine, files, cmdline.ACCEL_TCG, [], incoming)
  if unpadded:
    argv[argv.index("-m") + 1] = str(MEMORY_MIB)
  subprocess.run(argv, check=True)
  return files


def _LastCounter(path, timeout):
  """(counter, boot id) of the latest complete counter line, or None."""
  deadline = time.monotonic() + timeout
  data = b""
  while time.monotonic() < deadline:
    with socket.socket(socket.AF_UNIX) as sock:
      sock.connect(path)
      while time.monotonic() < deadline:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
          chunk = sock.recv(4096)
        except socket.timeout:
          break
        if not chunk:
          time.sleep(0.1)
          break
        data += chunk
        matches = list(COUNTER.finditer(data))
        if matches:
          return int(matches[-1].group(1)), matches[-1].group(2)
  return None


def _Kill(files):
  try:
    with open(files.pid) as handle:
      os.kill(int(handle.read()), 9)
  except (OSError, ValueError):
    pass


def _Move(work, source, index, unpadded):
  """Migrates the guest of source to a new target; the target's files."""
  uri = "tcp:127.0.0.1:%d" % (BASE_PORT + index % 2)
  target = _Start(work, "g%d" % index, unpadded, uri)
  with qmp.QmpConnection(source.qmp) as conn:
    conn.Execute("migrate-set-parameters", {"max-bandwidth": 32 << 20, "downtime-limit": 30})
    conn.Execute("migrate", {"uri": uri})
    info = {}
    for _ in range(6000):
      info = conn.Execute("query-migrate")
      if info.get("status") in ("completed", "failed", "cancelled"):
        break
      time.sleep(0.01)
    if info.get("status") != "completed":
      raise RuntimeError("migration %d ended as %s" % (index, info.get("status")))
    conn.Execute("quit")
  _Kill(source)
  with qmp.QmpConnection(target.qmp) as conn:
    if conn.Execute("query-status").get("status") != "running":
      conn.Execute("cont")
  return target


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--moves", type=int, default=20)
  parser.add_argument("--unpadded", action="store_true",
                      help="give the guest exactly %d MiB" % MEMORY_MIB)
  opts = parser.parse_args()
  subprocess.run([os.path.join(TOP, "tools", "build-test-guest")], check=True,
                 stdin=subprocess.DEVNULL)
  work = tempfile.mkdtemp(prefix="soak-kvm-")
  for sub in ("pid", "ctrl", "conf"):
    os.mkdir(os.path.join(work, sub))
  files = [_Start(work, "g0", opts.unpadded)]
  good = 0
  try:
    qmp.Execute(files[0].qmp, "cont")
    last, boot = _LastCounter(files[0].serial, 120)
    for index in range(1, opts.moves + 1):
      files.append(_Move(work, files[-1], index, opts.unpadded))
      now = _LastCounter(files[-1].serial, 10)
      if now is None or now[1] != boot or now[0] <= last:
        registers = qmp.Execute(files[-1].qmp, "human-monitor-command",
                                {"command-line": "info registers"})
        print("move %d: the guest gave no later counter (%s)\n%s" %
              (index, now, "\n".join(registers.splitlines()[:6])))
        break
      print("move %d: counter %d -> %d" % (index, last, now[0]))
      sys.stdout.flush()
      last, good = now[0], good + 1
  finally:
    for item in files:
      _Kill(item)
    shutil.rmtree(work, ignore_errors=True)
  print("%d of %d moves kept the guest running (%s RAM)" %
        (good, opts.moves, "exact" if opts.unpadded else "padded"))
  return 0 if good == opts.moves else 1


if __name__ == "__main__":
  sys.exit(main())
