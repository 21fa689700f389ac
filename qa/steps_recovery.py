"""Recovery steps: a node lost mid-write and brought back, the master role moved.

instance-crash-failover is the seed's "recovering from a node failure"
sequence at instance level: a DRBD instance's primary node dies while
writing; it is marked offline, the instance fails over to its secondary with
every acknowledged write, gets a new secondary, and the dead node boots again
on its old disks (stale LVs, no DRBD) and is re-added until the cluster
verifies clean.
"""

import re

from qa import util
from qa.step_base import (Answering, CheckBlocks, Command, Context, PushScript,
                          STORAGE_SCRIPT_ON_NODE, WriteUntilKilled)

CRASH_BLOCKS = 48


def ScratchInstance(ctx: Context, role: str) -> str:
  """The name of a step's own instance (the config's "scratch-instances")."""
  return ctx.config.get("scratch-instances", {}).get(role, "%s1.qa.test" % role)


def AddInstance(ctx: Context, name: str, template: str, nodes: str,
                extra_options: str = "") -> None:
  """gnt-instance add of a small stopped instance (its disk is what steps check)."""
  ctx.RunOn("master", "gnt-instance add -t %s -s 64M -o minimal+default -B memory=128M"
            " --no-name-check --no-ip-check --no-start %s -n %s %s" %
            (template, extra_options, nodes, name))


def ActivateDisks(ctx: Context, name: str) -> tuple[int, str]:
  """gnt-instance activate-disks; the primary's node index and disk 0's device."""
  output = ctx.RunOn("master", "gnt-instance activate-disks %s" % name)
  match = re.search(r"^(\S+):disk/0:(/\S+)$", output, re.M)
  if not match:
    raise util.QAError("activate-disks of %s names no device:\n%s" % (name, output))
  return ctx.cluster.nodes.index(ctx.cluster.Node(match.group(1))) + 1, match.group(2)


def CheckNodes(ctx: Context, name: str, primary: str, secondary: str) -> None:
  ctx.RunOn("master", "gnt-instance list --no-headers -o name,pnode,snodes %s" % name,
            expect=(r"^%s\s+%s\s+%s\s*$" % tuple(re.escape(n) for n in (name, primary,
                                                                     secondary)),))


def InstanceCrashFailover(ctx: Context) -> None:
  values = ctx.values
  master, node2, node3 = values["master"], values["node2"], values["node3"]
  name = ScratchInstance(ctx, "crash")
  PushScript(ctx, ctx.cluster.nodes)
  AddInstance(ctx, name, "drbd", "%s:%s" % (node2, node3))
  index, device = ActivateDisks(ctx, name)
  if index != 2:
    raise util.QAError("%s's disks came up on node%d, not on its primary %s" %
                       (name, index, node2))
  acked = WriteUntilKilled(ctx, ctx.cluster.nodes[1], "python3 %s write-blocks %s %d" %
                           (STORAGE_SCRIPT_ON_NODE, device, CRASH_BLOCKS))
  if not acked:
    raise util.QAError("The primary acknowledged no write before it was killed")
  util.Log("%s killed after %d acknowledged writes" % (node2, len(acked)))
  # the admin's recovery: the dead node offline, the instance to its secondary
  ctx.RunOn("master", "gnt-node modify -O yes %s" % node2)
  ctx.RunOn("master", "gnt-node list --no-headers -o name,offline %s" % node2,
            expect=(r"^%s\s+Y\s*$" % re.escape(node2),))
  ctx.RunOn("master", Answering("gnt-instance failover -f --ignore-consistency %s" % name))
  CheckNodes(ctx, name, node3, node2)
  index, device = ActivateDisks(ctx, name)
  CheckBlocks(ctx, index, device, acked, "after failover, on %s" % node3)
  # redundancy back: a new secondary, synced, holding the same blocks
  ctx.RunOn("master", "gnt-node evacuate -f -s -n %s %s" % (master, node2))
  CheckNodes(ctx, name, node3, master)
  ctx.RunOn("master", "gnt-instance activate-disks --wait-for-sync %s" % name)
  ctx.RunOn("master", "gnt-instance deactivate-disks %s" % name)
  ctx.RunOn("master", "gnt-instance failover -f %s" % name)
  CheckNodes(ctx, name, master, node3)
  index, device = ActivateDisks(ctx, name)
  CheckBlocks(ctx, index, device, acked, "on the new secondary %s, made primary" % master)
  ctx.RunOn("master", "gnt-instance deactivate-disks %s" % name)
  # the dead node boots on its old disks and comes back
  util.Log("%s booted again, ssh after %.0f s" % (node2, ctx.cluster.Restart(
    ctx.cluster.nodes[1])))
  ctx.RunOn("master", "gnt-node add --readd --no-ssh-key-check %s" % node2)
  ctx.RunOn("master", "gnt-node list --no-headers -o name,offline %s" % node2,
            expect=(r"^%s\s+N\s*$" % re.escape(node2),))
  # its LVs of the instance's old disks are still there: verify must say so
  stale = ctx.RunOn(2, "lvs --noheadings -o lv_name {vg}").split()
  if not stale:
    raise util.QAError("%s lost its volume group's LVs in the crash" % node2)
  ctx.Run(Command("gnt-cluster verify", fails=True,
                  reject=(r"Traceback", r"ERROR: node (?!%s:)\S+: volume" % re.escape(node2)),
                  expect=[r"ERROR: node %s: volume {vg}/%s is unknown" %
                          (re.escape(node2), re.escape(lv)) for lv in stale]))
  ctx.RunOn(2, "lvremove -f %s" % " ".join("{vg}/%s" % lv for lv in stale))
  ctx.RunOn("master", "gnt-cluster verify", reject=(r"ERROR", r"Traceback"))
  ctx.RunOn("master", "gnt-cluster verify-disks", reject=(r"ERROR", r"Traceback",
                                                          r"degraded|need activate-disks"))
  ctx.RunOn("master", "gnt-instance remove -f %s" % name)


def MasterFailover(ctx: Context) -> None:
  """The master role moves to the second node and back; config and jobs follow."""
  values = ctx.values
  jobs_before = ctx.RunOn("master", "gnt-job list --no-headers -o id").split()
  for new, old in ((2, 1), (1, 2)):
    new_name = ctx.cluster.nodes[new - 1].name
    ctx.RunOn(new, "gnt-cluster master-failover")
    for index in (new, old):
      ctx.RunOn(index, "gnt-cluster getmaster", expect=(r"^%s$" % re.escape(new_name),))
    ctx.RunOn(new, "for i in $(seq 30); do ip -o address show dev {master_netdev} |"
              " grep -q ' {cluster_ip}/' && break; sleep 1; done;"
              " ip -o address show dev {master_netdev}", expect=(r" {cluster_ip}/",))
    ctx.RunOn(old, "ip -o address show dev {master_netdev}", reject=(r" {cluster_ip}/",))
    jobs = ctx.RunOn(new, "gnt-job list --no-headers -o id").split()
    missing = set(jobs_before) - set(jobs)
    if missing:
      raise util.QAError("Jobs lost by the master failover to %s: %s" %
                         (new_name, sorted(missing, key=int)))
    ctx.RunOn(new, "gnt-node list --no-headers -o name",
              expect=tuple(r"^%s$" % re.escape(values[key])
                           for key in ("master", "node2", "node3")))
    ctx.RunOn(new, "gnt-cluster verify", reject=(r"ERROR", r"Traceback"))
