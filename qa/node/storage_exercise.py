#!/usr/bin/python3
"""Runs on a QA node: drives the installed ganeti.storage classes against real LVM and DRBD.

One action per call, so the host can interleave the two nodes of a DRBD pair:
  lv-cycle VG                      create an LV, grow it, check sizes, remove it
  drbd-up VG MINOR PEER_MINOR PORT LOCAL_IP PEER_IP SECRET SIZE
                                   data+meta LVs, DRBD metadata, attach, connect
  primary MINOR [--force]          this node becomes primary
  wait-sync MINOR SECONDS          until the pair is connected and UpToDate
  write MINOR MIB                  random data on the device; prints its sha256
  checksum MINOR MIB               prints the sha256 of the device's first MIB
  secondary MINOR
  drbd-down VG MINOR               shut the minor down, remove its LVs
Prints "OK ..." on success; any failure ends with a traceback and exit code 1.
"""

import hashlib
import os
import sys
import time

from ganeti import constants
from ganeti import paramdefs
from ganeti.storage import drbd
from ganeti.storage import lvm

MIB = 1024 * 1024


def _Lv(vg: str, name: str, size: int = 0) -> lvm.LogicalVolume:
  return lvm.LogicalVolume((vg, name), [], size, {}, {})


def LvCycle(vg: str) -> None:
  name = "qa-lv-%d" % os.getpid()
  device = lvm.LogicalVolume.Create((vg, name), [], 64, None, {}, False, {})
  assert device.attached and os.path.exists(device.dev_path), device
  assert device.GetActualSize() == 64 * MIB, device.GetActualSize()
  device.Grow(32, True, True, False)  # a dry run changes nothing
  assert device.GetActualSize() == 64 * MIB, device.GetActualSize()
  device.Grow(32, False, True, False)
  assert device.GetActualSize() == 96 * MIB, device.GetActualSize()
  device.SetInfo("originstname+qa.example")
  device.Remove()
  assert not _Lv(vg, name).attached
  print("OK lv-cycle %s/%s 64 MiB -> 96 MiB -> removed" % (vg, name))


def _Drbd(vg: str, minor: int, peer_minor: int, port: int, local_ip: str, peer_ip: str,
          secret: str, size: int) -> drbd.DRBD8:
  children = [_Lv(vg, "qa-drbd%d.data" % minor, size), _Lv(vg, "qa-drbd%d.meta" % minor,
                                                           drbd.META_SIZE)]
  dyn = {constants.DDP_LOCAL_IP: local_ip, constants.DDP_REMOTE_IP: peer_ip,
         constants.DDP_LOCAL_MINOR: minor, constants.DDP_REMOTE_MINOR: peer_minor}
  params = dict(paramdefs.DISK_DT_DEFAULTS[constants.DT_DRBD8])
  return drbd.DRBD8(("a", "b", port, minor, peer_minor, secret), children, size, params, dyn)


def _Known(minor: int) -> drbd.DRBD8:
  """A handle on a configured minor for the actions that need no peer details."""
  return drbd.DRBD8(("a", "b", 0, minor, minor, ""), [], 0, {},
                    {constants.DDP_LOCAL_MINOR: minor, constants.DDP_REMOTE_MINOR: minor})


def DrbdUp(vg: str, minor: str, peer_minor: str, port: str, local_ip: str, peer_ip: str,
           secret: str, size: str) -> None:
  size_mib = int(size)
  for name, lv_size in (("data", size_mib), ("meta", drbd.META_SIZE)):
    lvm.LogicalVolume.Create((vg, "qa-drbd%s.%s" % (minor, name)), [], lv_size, None, {},
                             False, {})
  device = _Drbd(vg, int(minor), int(peer_minor), int(port), local_ip, peer_ip, secret,
                 size_mib)
  created = drbd.DRBD8.Create(device.unique_id, device.children, size_mib, None,
                              device.params, False, device.dyn_params)
  created.Assemble()
  assert created.attached, created
  print("OK drbd-up %s" % created.dev_path)


def Primary(minor: str, *flags: str) -> None:
  _Known(int(minor)).Open(force="--force" in flags)
  print("OK primary")


def Secondary(minor: str) -> None:
  _Known(int(minor)).Close()
  print("OK secondary")


def WaitSync(minor: str, seconds: str) -> None:
  device = _Known(int(minor))
  deadline = time.monotonic() + float(seconds)
  while True:
    status = device.GetSyncStatus()
    if not status.is_degraded and status.sync_percent is None:
      break
    if time.monotonic() > deadline:
      raise SystemExit("still degraded after %ss: %s" % (seconds, status.ToDict()))
    time.sleep(0.5)
  print("OK wait-sync in sync, ldisk %s" % status.ldisk_status)


def _Digest(path: str, mib: int, data: bytes = b"") -> str:
  digest = hashlib.sha256()
  if data:
    with open(path, "r+b") as handle:
      handle.write(data)
      handle.flush()
      os.fsync(handle.fileno())
    digest.update(data)
  else:
    with open(path, "rb") as handle:
      digest.update(handle.read(mib * MIB))
  return digest.hexdigest()


def Write(minor: str, mib: str) -> None:
  data = os.urandom(int(mib) * MIB)
  print("OK sha256 %s" % _Digest(_Known(int(minor)).dev_path, int(mib), data))


def Checksum(minor: str, mib: str) -> None:
  print("OK sha256 %s" % _Digest(_Known(int(minor)).dev_path, int(mib)))


def DrbdDown(vg: str, minor: str) -> None:
  _Known(int(minor)).Shutdown()
  for name in ("data", "meta"):
    _Lv(vg, "qa-drbd%s.%s" % (minor, name)).Remove()
  assert not _Known(int(minor)).attached
  print("OK drbd-down")


ACTIONS = {"lv-cycle": LvCycle, "drbd-up": DrbdUp, "primary": Primary, "secondary": Secondary,
           "wait-sync": WaitSync, "write": Write, "checksum": Checksum, "drbd-down": DrbdDown}


if __name__ == "__main__":
  ACTIONS[sys.argv[1]](*sys.argv[2:])
