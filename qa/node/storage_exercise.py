#!/usr/bin/python3
"""Runs on a QA node: drives the installed ganeti.storage classes against real LVM and DRBD.

One action per call, so the host can interleave the two nodes of a DRBD pair:
  lv-cycle VG                      create an LV, grow it, tag, rename, snapshot, remove
  drbd-up VG MINOR PEER_MINOR PORT LOCAL_IP PEER_IP SECRET SIZE
                                   data+meta LVs, DRBD metadata, attach, connect
                                   (the pair's parameters are kept for the actions below)
  primary MINOR [--force]          this node becomes primary
  wait-sync MINOR SECONDS          until the pair is connected and UpToDate; prints
                                   the lowest sync percentage seen on the way
  write MINOR MIB                  random data on the device; prints its sha256
  checksum MINOR MIB               prints the sha256 of the device's first MIB
  secondary MINOR
  disconnect MINOR / connect MINOR drop and re-establish the link to the peer
  grow-backing MINOR MIB           grows the local data LV
  grow MINOR MIB                   resizes the DRBD device (both data LVs grown first)
  write-blocks DEV COUNT           writes COUNT 1 MiB blocks one by one, each flushed, and
                                   prints "ACK n sha256" after each (acknowledged writes);
                                   DEV is a minor set up here or a device path
  block-sums DEV COUNT             prints "SUM n sha256" of the first COUNT blocks
  drbd-down MINOR                  shut the minor down, remove its LVs
Prints "OK ..." on success; any failure ends with a traceback and exit code 1.
"""

import hashlib
import json
import os
import sys
import time

from ganeti import constants
from ganeti import paramdefs
from ganeti.storage import drbd
from ganeti.storage import lvm
from ganeti.storage import lvm_report

MIB = 1024 * 1024


def _Lv(vg: str, name: str, size: int = 0) -> lvm.LogicalVolume:
  return lvm.LogicalVolume((vg, name), [], size, {}, {})


def LvCycle(vg: str) -> None:
  name = "qa-lv-%d" % os.getpid()
  device = lvm.LogicalVolume.Create((vg, name), [], 64, None, {}, False, {})
  assert device.attached and os.path.exists(device.dev_path), device
  # an active LV is found through device-mapper (no lvs), with lvs's size
  assert device.mapped is not None, device
  assert device.GetActualSize() == 64 * MIB, device.GetActualSize()
  device.Grow(32, True, True, False)  # a dry run changes nothing
  assert device.GetActualSize() == 64 * MIB, device.GetActualSize()
  device.Grow(32, False, True, False)
  assert device.GetActualSize() == 96 * MIB, device.GetActualSize()
  assert lvm_report.FindLogicalVolume(vg, name).size * MIB == 96 * MIB
  device.SetInfo("originstname+qa.example")
  listed = lvm_report.FindLogicalVolume(vg, name)
  assert listed.tags == ["originstname+qa.example"], listed
  device.Rename((vg, name + ".renamed"))
  assert not _Lv(vg, name).attached and _Lv(vg, name + ".renamed").mapped is not None
  snapshot = device.Snapshot(None, 16)
  # a snapshot's device-mapper device reads as big as its origin: its own size
  # comes from lvs
  assert _Lv(*snapshot).attached, snapshot
  assert _Lv(*snapshot).GetActualSize() == 16 * MIB, _Lv(*snapshot).GetActualSize()
  _Lv(*snapshot).Remove()
  device.Remove()
  assert not _Lv(vg, name + ".renamed").attached
  print("OK lv-cycle %s/%s 64 MiB -> 96 MiB, tagged, renamed, snapshot, removed" % (vg, name))


def _StatePath(minor: int) -> str:
  return "/root/qa-drbd%d.json" % minor


def _Drbd(minor: int) -> drbd.DRBD8:
  """The minor as drbd-up set it up (its pair parameters were saved then)."""
  with open(_StatePath(minor)) as handle:
    saved = json.load(handle)
  vg, size = saved["vg"], saved["size"]
  children = [_Lv(vg, "qa-drbd%d.data" % minor, size),
              _Lv(vg, "qa-drbd%d.meta" % minor, drbd.META_SIZE)]
  dyn = {constants.DDP_LOCAL_IP: saved["local_ip"], constants.DDP_REMOTE_IP: saved["peer_ip"],
         constants.DDP_LOCAL_MINOR: minor, constants.DDP_REMOTE_MINOR: saved["peer_minor"]}
  params = dict(paramdefs.DISK_DT_DEFAULTS[constants.DT_DRBD8])
  return drbd.DRBD8(("a", "b", saved["port"], minor, saved["peer_minor"], saved["secret"]),
                    children, size, params, dyn)


def _Save(minor: int, **values: object) -> None:
  with open(_StatePath(minor), "w") as handle:
    json.dump(values, handle)


def DrbdUp(vg: str, minor: str, peer_minor: str, port: str, local_ip: str, peer_ip: str,
           secret: str, size: str) -> None:
  _Save(int(minor), vg=vg, size=int(size), peer_minor=int(peer_minor), port=int(port),
        local_ip=local_ip, peer_ip=peer_ip, secret=secret)
  for name, lv_size in (("data", int(size)), ("meta", drbd.META_SIZE)):
    lvm.LogicalVolume.Create((vg, "qa-drbd%s.%s" % (minor, name)), [], lv_size, None, {},
                             False, {})
  device = _Drbd(int(minor))
  created = drbd.DRBD8.Create(device.unique_id, device.children, device.size, None,
                              device.params, False, device.dyn_params)
  created.Assemble()
  assert created.attached, created
  print("OK drbd-up %s" % created.dev_path)


def Primary(minor: str, *flags: str) -> None:
  _Drbd(int(minor)).Open(force="--force" in flags)
  print("OK primary")


def Secondary(minor: str) -> None:
  _Drbd(int(minor)).Close()
  print("OK secondary")


def WaitSync(minor: str, seconds: str) -> None:
  device = _Drbd(int(minor))
  deadline = time.monotonic() + float(seconds)
  lowest = None
  while True:
    status = device.GetSyncStatus()
    if status.sync_percent is not None:
      lowest = status.sync_percent if lowest is None else min(lowest, status.sync_percent)
    if not status.is_degraded and status.sync_percent is None:
      break
    if time.monotonic() > deadline:
      raise SystemExit("still degraded after %ss: %s" % (seconds, status.ToDict()))
    time.sleep(0.2)
  seen = "%.1f%%" % lowest if lowest is not None else "none"
  print("OK wait-sync in sync, ldisk %s, lowest progress seen %s" % (status.ldisk_status, seen))


def Disconnect(minor: str) -> None:
  device = _Drbd(int(minor))
  device.DisconnectNet()
  status = device.GetSyncStatus()
  assert status.is_degraded, status.ToDict()
  print("OK disconnect (degraded)")


def Connect(minor: str) -> None:
  _Drbd(int(minor)).AttachNet(False)
  print("OK connect")


def GrowBacking(minor: str, mib: str) -> None:
  device = _Drbd(int(minor))
  before = device.children[0].GetActualSize()
  device.Grow(int(mib), False, True, False)
  after = _Drbd(int(minor)).children[0].GetActualSize()
  assert after == before + int(mib) * MIB, (before, after)
  print("OK grow-backing data LV %d -> %d MiB" % (before // MIB, after // MIB))


def Grow(minor: str, mib: str) -> None:
  device = _Drbd(int(minor))
  before = device.GetActualSize()
  device.Grow(int(mib), False, False, False)
  # drbdsetup resize can return before the device shows the new size
  deadline = time.monotonic() + 30
  while device.GetActualSize() == before and time.monotonic() < deadline:
    time.sleep(0.2)
  after = device.GetActualSize()
  assert after == before + int(mib) * MIB, (before, after)
  with open(_StatePath(int(minor))) as handle:
    saved = json.load(handle)
  saved["size"] += int(mib)
  _Save(int(minor), **saved)
  print("OK grow %d -> %d MiB" % (before // MIB, after // MIB))


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
  print("OK sha256 %s" % _Digest(_Drbd(int(minor)).dev_path, int(mib), data))


def Checksum(minor: str, mib: str) -> None:
  print("OK sha256 %s" % _Digest(_Drbd(int(minor)).dev_path, int(mib)))


def _BlockDevice(target: str) -> str:
  """A device path as given, or the path of a DRBD minor this script set up."""
  return target if target.startswith("/") else _Drbd(int(target)).dev_path


def WriteBlocks(target: str, count: str) -> None:
  descriptor = os.open(_BlockDevice(target), os.O_WRONLY)
  try:
    for index in range(int(count)):
      block = os.urandom(MIB)
      os.pwrite(descriptor, block, index * MIB)
      os.fsync(descriptor)  # protocol C: done once the peer has it on disk
      print("ACK %d %s" % (index, hashlib.sha256(block).hexdigest()), flush=True)
  finally:
    os.close(descriptor)
  print("OK write-blocks")


def BlockSums(target: str, count: str) -> None:
  with open(_BlockDevice(target), "rb") as handle:
    for index in range(int(count)):
      print("SUM %d %s" % (index, hashlib.sha256(handle.read(MIB)).hexdigest()))
  print("OK block-sums")


def DrbdDown(minor: str) -> None:
  if not os.path.exists(_StatePath(int(minor))):
    print("OK drbd-down (nothing set up)")
    return
  device = _Drbd(int(minor))
  device.Shutdown()
  assert not _Drbd(int(minor)).attached
  for child in device.children:
    child.Remove()
  os.unlink(_StatePath(int(minor)))
  print("OK drbd-down")


ACTIONS = {"lv-cycle": LvCycle, "drbd-up": DrbdUp, "primary": Primary, "secondary": Secondary,
           "wait-sync": WaitSync, "write": Write, "checksum": Checksum,
           "disconnect": Disconnect, "connect": Connect, "grow-backing": GrowBacking,
           "grow": Grow, "write-blocks": WriteBlocks, "block-sums": BlockSums,
           "drbd-down": DrbdDown}


if __name__ == "__main__":
  ACTIONS[sys.argv[1]](*sys.argv[2:])
