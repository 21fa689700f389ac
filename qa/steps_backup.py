"""Data in and out of Ganeti: an instance exported to a node and imported back as a
new one, and an administrator's volume adopted as an instance's disk."""

import re

from qa import util
from qa.step_base import CheckBlocks, Context, PushScript, WriteBlocks
from qa.steps_recovery import ActivateDisks, AddInstance, CheckNodes, ScratchInstance

EXPORT_BLOCKS = 16


def InstanceExportImport(ctx: Context) -> None:
  """A plain instance with known blocks is exported to node3 (from a snapshot),
  imported as a drbd instance on node2/node1 with the same blocks; instances
  and export removed."""
  values = ctx.values
  master, node2, node3 = values["master"], values["node2"], values["node3"]
  source, copy = ScratchInstance(ctx, "export"), ScratchInstance(ctx, "import")
  PushScript(ctx, ctx.cluster.nodes)
  AddInstance(ctx, source, "plain", master)
  index, device = ActivateDisks(ctx, source)
  written = WriteBlocks(ctx, index, device, EXPORT_BLOCKS)
  ctx.RunOn("master", "gnt-instance deactivate-disks %s" % source)
  # copied from an LVM snapshot of the volume, removed afterwards
  ctx.RunOn("master", "gnt-backup export -n %s %s" % (node3, source),
            expect=(r"Creating a snapshot of disk/0 on node %s" % re.escape(master),
                    r"Removing snapshot of disk/0 on node %s" % re.escape(master)))
  ctx.RunOn("master", "lvs --noheadings -o lv_name", reject=(r"\.snap\s*$",))
  ctx.RunOn("master", "gnt-backup list --no-headers -o node,export",
            expect=(r"^%s\s+%s\s*$" % (re.escape(node3), re.escape(source)),))
  # the export's MAC is still the source's: the copy gets a new one
  ctx.RunOn("master", "gnt-backup import -t drbd -n %s:%s --src-node=%s --src-dir=%s"
            " --net 0:mac=generate --no-name-check --no-ip-check %s" %
            (node2, master, node3, source, copy))
  CheckNodes(ctx, copy, node2, master)
  # the configuration's minors, as confd tells them
  ctx.RunOn("master", "gnt-node list-drbd --no-headers %s" % node2,
            expect=(r"^%s\s+\d+\s+%s\s+disk/0\s+primary\s+%s\s*$" %
                    tuple(re.escape(n) for n in (node2, copy, master)),))
  ctx.RunOn("master", "gnt-instance list --no-headers -o name,disk_template,disk.sizes %s"
            % copy, expect=(r"^%s\s+drbd\s+64M?\s*$" % re.escape(copy),))
  index, device = ActivateDisks(ctx, copy)
  CheckBlocks(ctx, index, device, written, "imported %s" % copy)
  ctx.RunOn("master", "gnt-instance remove -f %s" % copy)
  ctx.RunOn("master", "gnt-instance remove -f %s" % source)
  ctx.RunOn("master", "gnt-backup remove %s" % source)
  output = ctx.RunOn("master", "gnt-backup list --no-headers -o node,export")
  if source in output:
    raise util.QAError("gnt-backup remove left the export of %s:\n%s" % (source, output))


def InstanceAdopt(ctx: Context) -> None:
  """An administrator's LV with known blocks becomes a plain instance's disk:
  renamed to Ganeti's name, data and size kept, no OS installed."""
  master, vg = ctx.values["master"], ctx.values["vg"]
  name = ScratchInstance(ctx, "adopt")
  volume = "qa-adopted"
  PushScript(ctx, ctx.cluster.nodes[:1])
  ctx.RunOn("master", "lvcreate --yes -Wn -L 64m -n %s %s" % (volume, vg))
  written = WriteBlocks(ctx, 1, "/dev/%s/%s" % (vg, volume), EXPORT_BLOCKS)
  ctx.RunOn("master", "gnt-instance add -t plain --disk 0:adopt=%s -o minimal+default"
            " -B memory=128M --no-name-check --no-ip-check --no-start -n %s %s" %
            (volume, master, name))
  ctx.RunOn("master", "gnt-instance list --no-headers -o name,disk_template,disk.sizes %s"
            % name, expect=(r"^%s\s+plain\s+64M?\s*$" % re.escape(name),))
  ctx.RunOn("master", "lvs --noheadings -o lv_name %s" % vg,
            expect=(r"\.disk0\s*$",), reject=(r"^\s*%s\s*$" % volume,))
  index, device = ActivateDisks(ctx, name)
  CheckBlocks(ctx, index, device, written, "adopted volume of %s" % name)
  ctx.RunOn("master", "gnt-instance remove -f %s" % name)
