"""Export and import: an instance's disk goes to a third node and back as a new instance."""

import re

from qa import util
from qa.step_base import CheckBlocks, Context, PushScript, WriteBlocks
from qa.steps_recovery import ActivateDisks, AddInstance, CheckNodes, ScratchInstance

EXPORT_BLOCKS = 16


def InstanceExportImport(ctx: Context) -> None:
  """A plain instance with known blocks is exported to node3, imported as a drbd
  instance on node2/node1 with the same blocks; instances and export removed."""
  values = ctx.values
  master, node2, node3 = values["master"], values["node2"], values["node3"]
  source, copy = ScratchInstance(ctx, "export"), ScratchInstance(ctx, "import")
  PushScript(ctx, ctx.cluster.nodes)
  AddInstance(ctx, source, "plain", master)
  index, device = ActivateDisks(ctx, source)
  written = WriteBlocks(ctx, index, device, EXPORT_BLOCKS)
  ctx.RunOn("master", "gnt-instance deactivate-disks %s" % source)
  # --long-sleep: disks are copied from the stopped instance, not from LVM
  # snapshots (which this project's export does not take yet)
  ctx.RunOn("master", "gnt-backup export --long-sleep -n %s %s" % (node3, source))
  ctx.RunOn("master", "gnt-backup list --no-headers -o node,export",
            expect=(r"^%s\s+%s\s*$" % (re.escape(node3), re.escape(source)),))
  # the export's MAC is still the source's: the copy gets a new one
  ctx.RunOn("master", "gnt-backup import -t drbd -n %s:%s --src-node=%s --src-dir=%s"
            " --net 0:mac=generate --no-name-check --no-ip-check %s" %
            (node2, master, node3, source, copy))
  CheckNodes(ctx, copy, node2, master)
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
