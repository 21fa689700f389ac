"""Storage-level steps: the installed ganeti.storage classes on real LVM and DRBD,
driven by the node storage script without a cluster."""

import os

from qa import util
from qa.step_base import (Context, Digest, Exercise, PushScript, STORAGE_SCRIPT_ON_NODE,
                          CheckBlocks, WriteUntilKilled)

DRBD_TEST_MIB = 32
DRBD_SYNC_TIMEOUT = 120
CRASH_BLOCKS = 64


def StorageLv(ctx: Context) -> None:
  """ganeti.storage.lvm on a real VG: create, grow (dry run and real), tag, remove."""
  PushScript(ctx)
  Exercise(ctx, 1, "lv-cycle", ctx.values["vg"])


def StorageDrbd(ctx: Context) -> None:
  """ganeti.storage.drbd on two nodes, protocol C: initial sync, writes while the
  peer is away then resync, primary switch with the same data, online grow."""
  PushScript(ctx)
  vg = ctx.values["vg"]
  first, second = ctx.cluster.nodes[0], ctx.cluster.nodes[1]
  port, secret = 11000, "qa-secret-%d" % os.getpid()
  try:
    Exercise(ctx, 1, "drbd-up", vg, 0, 1, port, first.address, second.address, secret, 64)
    Exercise(ctx, 2, "drbd-up", vg, 1, 0, port, second.address, first.address, secret, 64)
    Exercise(ctx, 1, "primary", 0, "--force")
    util.Log(Exercise(ctx, 1, "wait-sync", 0, DRBD_SYNC_TIMEOUT))
    Exercise(ctx, 1, "write", 0, DRBD_TEST_MIB)
    # the secondary goes away; the primary writes on; the resync brings it back
    Exercise(ctx, 2, "disconnect", 1)
    written = Digest(Exercise(ctx, 1, "write", 0, DRBD_TEST_MIB))
    Exercise(ctx, 2, "connect", 1)
    util.Log(Exercise(ctx, 1, "wait-sync", 0, DRBD_SYNC_TIMEOUT))
    Exercise(ctx, 1, "secondary", 0)
    Exercise(ctx, 2, "primary", 1)
    read = Digest(Exercise(ctx, 2, "checksum", 1, DRBD_TEST_MIB))
    if read != written:
      raise util.QAError("DRBD data differs after switching primary: wrote %s, read %s" %
                         (written, read))
    util.Log("DRBD: %d MiB identical on the new primary (sha256 %s)" % (DRBD_TEST_MIB, read))
    Exercise(ctx, 1, "grow-backing", 0, 32)
    Exercise(ctx, 2, "grow-backing", 1, 32)
    Exercise(ctx, 2, "grow", 1, 32)
    util.Log(Exercise(ctx, 2, "wait-sync", 1, DRBD_SYNC_TIMEOUT))
    if Digest(Exercise(ctx, 2, "checksum", 1, DRBD_TEST_MIB)) != written:
      raise util.QAError("DRBD data changed by growing the device")
    Exercise(ctx, 2, "secondary", 1)
  finally:
    for index, minor in ((1, 0), (2, 1)):
      ctx.cluster.Ssh(ctx.cluster.nodes[index - 1],
                      "python3 %s drbd-down %d" % (STORAGE_SCRIPT_ON_NODE, minor), check=False)


def StorageDrbdCrash(ctx: Context) -> None:
  """The DRBD primary's VM is killed while it writes; the secondary, made primary,
  holds every write the primary acknowledged.  The killed node boots again; its
  half of the pair (LVs on its VG disk) is removed by hand."""
  PushScript(ctx, ctx.cluster.nodes[1:3])
  vg = ctx.values["vg"]
  primary, secondary = ctx.cluster.nodes[1], ctx.cluster.nodes[2]
  port, secret = 11010, "qa-crash-%d" % os.getpid()
  Exercise(ctx, 2, "drbd-up", vg, 10, 11, port, primary.address, secondary.address, secret, 64)
  Exercise(ctx, 3, "drbd-up", vg, 11, 10, port, secondary.address, primary.address, secret, 64)
  Exercise(ctx, 2, "primary", 10, "--force")
  Exercise(ctx, 2, "wait-sync", 10, DRBD_SYNC_TIMEOUT)
  acked = WriteUntilKilled(ctx, primary, "python3 %s write-blocks 10 %d" %
                           (STORAGE_SCRIPT_ON_NODE, CRASH_BLOCKS))
  if not acked:
    raise util.QAError("The primary acknowledged no write before it was killed")
  Exercise(ctx, 3, "primary", 11, "--force")
  CheckBlocks(ctx, 3, "11", acked, "DRBD crash, on the secondary")
  Exercise(ctx, 3, "secondary", 11)
  Exercise(ctx, 3, "drbd-down", 11)
  util.Log("%s booted again, ssh after %.0f s" % (primary.name, ctx.cluster.Restart(primary)))
  ctx.RunOn(2, "lvremove -q -f {vg}/qa-drbd10.data {vg}/qa-drbd10.meta &&"
            " rm -f /root/qa-drbd10.json && cat /proc/drbd",
            reject=(r"^ *\d+: cs:",))
