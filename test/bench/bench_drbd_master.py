#!/usr/bin/env python3
"""The master's own time in DRBD operations, with instant node answers.

  test/bench/bench_drbd_master.py [--rounds N]

Each operation (gnt-instance add -t drbd without the initial sync, failover,
migrate, replace-disks -s and -n) runs through the real opcode processor,
locking and configuration writer (saving to a temporary file), with an RPC
runner that answers every node call at once and records it.  The figure is
the master's overhead above the node calls an operation makes: what the
issue's target ("under 1 s per operation above the raw command sequence")
leaves to the master.  The node side (drbdsetup/lvcreate and their waits)
and the RPC transport are not part of it; they need the QA cluster of node
VMs.  Real Ganeti is not run here (its lab cluster is needed for its master),
so no ratio is printed.  Printed per operation: median and worst time over
the rounds, and the number of node calls made.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "build"))
sys.path.insert(0, os.path.join(TOP, "test", "py"))

from ganeti import config  # noqa: E402
from ganeti import constants  # noqa: E402
from ganeti import objects  # noqa: E402
from ganeti.cmdlib import instance_disks  # noqa: E402
from test_cmdlib_node import Context, FakeRpc, _Run  # noqa: E402

_GIB = 1024


def _Cluster(directory: str) -> Context:
  path = os.path.join(directory, "config.data")
  config.InitConfig(path, cluster_name="cluster", master_name="node1",
                    primary_ip="192.0.2.1", master_ip="192.0.2.100", master_netdev="eth0",
                    enabled_hypervisors=["fake"], enabled_disk_templates=["drbd", "plain"],
                    volume_group_name="xenvg", modify_etc_hosts=False)
  cfg = config.ConfigWriter(path)
  for idx in (2, 3, 4):
    cfg.AddNode(objects.Node(name="node%d" % idx, primary_ip="192.0.2.%d" % idx,
                             secondary_ip="198.51.100.%d" % idx, group=None))
  rpc = FakeRpc()
  healthy = objects.BlockDevStatus(is_degraded=False, ldisk_status=constants.LDS_OKAY,
                                   sync_percent=None, estimated_time=None)
  rpc.answers.update({
    "node_info": lambda node, units, hv: ["boot", [{"storage_free": 100 * _GIB}
                                                   for _ in units],
                                          [{"memory_free": 8192} for _ in hv or ()]],
    "blockdev_getmirrorstatus": lambda node, disks_inst: [healthy for _ in disks_inst[0]],
    "blockdev_wait_mirror_sync": lambda node, disks_inst, timeout: [healthy
                                                                    for _ in disks_inst[0]],
    "blockdev_find": lambda node, disk_inst: healthy,
    "vg_list": lambda node: {"xenvg": 100 * _GIB},
    "instance_info": lambda node, *args: {"memory": 128, "state": "running"},
    "migration_info": lambda node, inst: "info",
    "instance_get_migration_status": lambda node, inst: objects.MigrationStatus(
      status=constants.HV_MIGRATION_COMPLETED),
    "drbd_wait_sync": lambda node, disks: [True, 100.0],
  })
  return Context(cfg, rpc)


def _Operations(round_no: int) -> list[tuple[str, str, dict]]:
  name = "inst%d" % round_no
  return [
    ("add -t drbd", "OpInstanceCreate",
     dict(instance_name=name, disk_template="drbd", disks=[{"size": _GIB}], nics=[],
          mode="create", no_install=True, name_check=False, ip_check=False,
          hypervisor="fake", pnode="node1", snode="node2", wait_for_sync=False,
          ignore_ipolicy=True)),
    ("failover", "OpInstanceFailover", dict(instance_name=name, ignore_ipolicy=True)),
    ("migrate", "OpInstanceMigrate", dict(instance_name=name, ignore_ipolicy=True)),
    ("replace-disks -s", "OpInstanceReplaceDisks",
     dict(instance_name=name, mode="replace_on_secondary")),
    ("replace-disks -n", "OpInstanceReplaceDisks",
     dict(instance_name=name, mode="replace_new_secondary",
          remote_node="node3" if round_no % 2 else "node4")),
  ]


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--rounds", type=int, default=20)
  args = parser.parse_args()
  instance_disks.Sleep = lambda seconds: None
  times: dict[str, list[float]] = {}
  calls: dict[str, int] = {}
  with tempfile.TemporaryDirectory() as directory:
    ctx = _Cluster(directory)
    for round_no in range(args.rounds):
      for label, op_class, params in _Operations(round_no):
        before = len(ctx.rpc.calls)
        start = time.perf_counter()
        _Run(ctx, op_class, **params)
        times.setdefault(label, []).append(time.perf_counter() - start)
        calls[label] = len(ctx.rpc.calls) - before
        if label == "add -t drbd":
          ctx.cfg.MarkInstanceUp(ctx.cfg.GetInstanceInfoByName(params["instance_name"]).uuid)
  print("%-18s %10s %10s %8s" % ("operation", "median ms", "worst ms", "calls"))
  for label, samples in times.items():
    print("%-18s %10.1f %10.1f %8d" % (label, 1000 * statistics.median(samples),
                                       1000 * max(samples), calls[label]))
  print("(master only, node calls answered at once; no real-Ganeti ratio: its master"
        " needs the lab cluster)")


if __name__ == "__main__":
  main()
