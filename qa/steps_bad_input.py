"""Bad input to instance creation: each case must be refused with Ganeti's error,
and leave no LV, no DRBD minor and no configuration entry behind.

A case is data: what to set up on the nodes, the add command, the error
lines it must print, and how to undo the setup.  Every node's LVs and DRBD
minors and the instance list are compared before the setup and after the undo.
"""

import re

from qa import util
from qa.step_base import Command, Context

NODED = "/usr/local/lib/ganeti/daemon-util %s ganeti-noded"
_PREREQ = r"^Failure: prerequisites not met for this operation:$"
_EXEC = r"^Failure: command execution error:$"
_ADD = ("gnt-instance add -t {template} -s {size} -o minimal+default -B memory=128M"
        " --no-name-check --no-ip-check --no-start -n {nodes_arg} {instance}")
# the lowest DRBD minor the configuration leaves free on a node (what the
# allocator hands out next), read from the master's configuration
_FREE_MINOR = ("python3 -c 'import json, sys\n"
               "config = json.load(open(\"/var/lib/ganeti/config.data\"))\n"
               "uuid = [u for u, n in config[\"nodes\"].items() if n[\"name\"] == sys.argv[1]][0]\n"
               "used = set()\n"
               "for disk in config[\"disks\"].values():\n"
               "  lid = disk[\"logical_id\"]\n"
               "  if disk[\"dev_type\"] == \"drbd\" and uuid in lid[:2]:\n"
               "    used.add(lid[3] if lid[0] == uuid else lid[4])\n"
               "print(\"FREE\", min(set(range(len(used) + 1)) - used))' %s")

# name, setup [(node, command)], add command values, expected error lines, undo
CASES = [
  ("disk larger than the volume group", [],
   {"template": "plain", "size": "100G", "nodes_arg": "{master}"},
   (_PREREQ, r"^error type: insufficient_resources, error details:$",
    r"^Not enough disk space on target node {master} vg {vg}: required 102400 MiB,"
    r" available \d+ MiB$"), []),
  ("a full volume group", [("master", "lvcreate -q -y -l 100%FREE -n qa-filler {vg}")],
   {"template": "plain", "size": "64M", "nodes_arg": "{master}"},
   (_PREREQ, r"^error type: insufficient_resources, error details:$",
    r"^Not enough disk space on target node {master} vg {vg}: required 64 MiB,"
    r" available 0 MiB$"), [("master", "lvremove -q -f {vg}/qa-filler")]),
  ("a busy DRBD minor on the primary", [(2, "drbdsetup new-resource qa-busy &&"
                                            " drbdsetup new-minor qa-busy {minor} 0")],
   {"template": "drbd", "size": "64M", "nodes_arg": "{node2}:{node3}"},
   (_EXEC, r"^Can't create block device disk/0 on node {node2} for instance {instance}:"
    r" Can't create block device: DRBD minor {minor} already in use at Create\(\) time$"),
   [(2, "drbdsetup down qa-busy")]),
  ("a secondary whose node daemon is down", [(3, NODED % "stop")],
   {"template": "drbd", "size": "64M", "nodes_arg": "{node2}:{node3}"},
   # refused as a node that does not answer (not as a broken kept connection)
   (_PREREQ, r"^Cannot get current information from node {node3}: Error while contacting"
    r" node {node3} \(.*\): Failed to connect to "), [(3, NODED % "start")]),
  ("an offline secondary", [("master", "gnt-node modify -O yes {node3}")],
   {"template": "drbd", "size": "64M", "nodes_arg": "{node2}:{node3}"},
   (_PREREQ, r"^Can't use offline node.*{node3}"),
   [("master", "gnt-node modify -O no {node3}")]),
]


def _Snapshot(ctx: Context) -> dict:
  """Every node's LVs and configured DRBD minors, and the configured instances."""
  state = {}
  for index in range(1, len(ctx.cluster.nodes) + 1):
    state["lvs%d" % index] = sorted(ctx.RunOn(index, "lvs --noheadings -o lv_name {vg}")
                                    .split())
    state["drbd%d" % index] = sorted(re.findall(r"^ *(\d+): cs:(?!Unconfigured)",
                                                ctx.RunOn(index, "cat /proc/drbd"), re.M))
    state["resources%d" % index] = ctx.RunOn(index, "drbdsetup show").strip()
  state["instances"] = sorted(ctx.RunOn("master", "gnt-instance list --no-headers -o name")
                              .split())
  return state


def BadInput(ctx: Context) -> None:
  instance = ctx.config.get("scratch-instances", {}).get("bad", "bad1.qa.test")
  minor = re.search(r"^FREE (\d+)$", ctx.RunOn("master", _FREE_MINOR % ctx.values["node2"]),
                    re.M).group(1)
  values = {"instance": instance, "minor": minor}
  for name, setup, add, errors, undo in CASES:
    util.Log("bad input: %s" % name)
    before = _Snapshot(ctx)
    for on, command in setup:
      ctx.Run(Command(command, on=on), values)
    try:
      add_values = dict(values, **{key: value.format(**ctx.values)
                                   for key, value in add.items()})
      ctx.Run(Command(_ADD, fails=True, expect=errors, reject=(r"Traceback",)), add_values)
    finally:
      for on, command in undo:
        ctx.Run(Command(command, on=on), values)
    after = _Snapshot(ctx)
    left = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
    if left:
      raise util.QAError("A refused add (%s) left things behind (before, after): %s" %
                         (name, left))
  ctx.RunOn("master", "gnt-cluster verify", reject=(r"ERROR", r"Traceback"))
