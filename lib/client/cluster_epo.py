"""gnt-cluster epo: emergency power-off of nodes, and the way back (--on).

Off: every instance with a node among them is shut down (remembering that it
should run, so that --on starts it again), the nodes are marked offline and
those with an out-of-band program are powered off; the others must be
switched off by hand.  On: the nodes with an out-of-band program are powered
on, every node is waited for until its node daemon answers, then marked
online, and the instances that should run are started.  The master is never
switched off: with --all it is left for the administrator, otherwise it may
not be among the nodes at all.
"""

from __future__ import annotations

import time

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Any

from ganeti import constants
from ganeti.cli import (
  AskUser, CliOption, FORCE_OPT, GetClient, JobExecutor, MakeOpCode, OOB_TIMEOUT_OPT,
  POWER_DELAY_OPT, SHUTDOWN_TIMEOUT_OPT, SubmitOpCode, ToStderr, ToStdout)
from ganeti.cli import EXIT_FAILURE, EXIT_SUCCESS

_NODE_FIELDS = ["name", "master", "pinst_list", "sinst_list", "powered", "pip"]
# how long --on waits for the node daemons of powered-on nodes to answer
_NODE_WAIT_TIMEOUT = 600.0
_NODE_WAIT_INTERVAL = 1.0


def _Opcodes() -> Any:
  from ganeti import opcodes  # pylint: disable=import-outside-toplevel
  return opcodes


def _AffectedNodes(cl: Any, opts: Any, args: list[str]) -> list[dict]:
  if opts.groups:
    names = sorted({node for (node_list,) in cl.QueryGroups(args, ["node_list"], False)
                    for node in node_list})
  else:
    names = [] if opts.all_nodes else args
  return [dict(zip(_NODE_FIELDS, row)) for row in cl.QueryNodes(names, _NODE_FIELDS, False)]


def _RunJobs(opts: Any, cl: Any, jobs: list[tuple[str, Any]]) -> int:
  """Runs one job per (name, opcode); the number that failed."""
  if not jobs:
    return 0
  executor = JobExecutor(cl=cl, opts=opts)
  for name, op in jobs:
    executor.QueueJob(name, op)
  return len([row for row in executor.GetResults() if not row[0]])


def _SwitchPower(opts: Any, command: str, nodes: list[dict], failed_text: str,
                 manual_text: str) -> int:
  """Runs an out-of-band power command for the nodes that have a program and
  names those it failed for (failed_text) and those without one
  (manual_text); EXIT_FAILURE if it failed for any."""
  with_oob = [node["name"] for node in nodes if node["powered"] is not None]
  manual = [node["name"] for node in nodes if node["powered"] is None]
  failed = []
  if with_oob:
    result = SubmitOpCode(MakeOpCode(_Opcodes().OpOobCommand, node_names=with_oob,
                                     command=command, timeout=opts.oob_timeout,
                                     power_delay=opts.power_delay), opts=opts)
    failed = [name for (_, name), (status, _) in result if status != constants.RS_NORMAL]
  if failed:
    ToStderr(failed_text, ", ".join(failed))
  if manual:
    ToStdout(manual_text, ", ".join(manual))
  return EXIT_FAILURE if failed else EXIT_SUCCESS


def _PowerOff(opts: Any, cl: Any, nodes: list[dict], master: list[dict]) -> int:
  opcodes = _Opcodes()
  names = [node["name"] for node in nodes]
  with_oob = [node["name"] for node in nodes if node["powered"] is not None]
  if not opts.force and not AskUser(
      "This will shut down every instance on %s, mark the nodes offline and power off"
      " the ones with out-of-band support (%s). Are you sure?" %
      (", ".join(names), ", ".join(with_oob) or "none")):
    return EXIT_FAILURE
  instances = sorted({name for node in nodes for name in node["pinst_list"] + node["sinst_list"]})
  failures = _RunJobs(opts, cl, [
    (name, MakeOpCode(opcodes.OpInstanceShutdown, instance_name=name, no_remember=True,
                      timeout=opts.shutdown_timeout, ignore_offline_nodes=True))
    for name in instances])
  if failures:
    ToStderr("%d instances could not be shut down; no node was changed", failures)
    return EXIT_FAILURE
  for name in names:
    SubmitOpCode(MakeOpCode(opcodes.OpNodeSetParams, node_name=name, offline=True,
                            auto_promote=True), opts=opts)
  exit_code = _SwitchPower(opts, constants.OOB_POWER_OFF, nodes,
                           "Powering off failed for %s; switch them off by hand",
                           "Nodes without out-of-band support, switch them off by hand: %s")
  if master:
    ToStdout("The master node %s was left running; shut it down by hand", master[0]["name"])
  return exit_code


def _WaitForNodeDaemons(nodes: list[dict]) -> list[dict]:
  """The nodes whose node daemons answered before the timeout."""
  from ganeti import netutils  # pylint: disable=import-outside-toplevel  (CLI start-up)
  waiting = list(nodes)
  answered: list[dict] = []
  deadline = time.monotonic() + _NODE_WAIT_TIMEOUT
  while waiting and time.monotonic() < deadline:
    for node in list(waiting):
      if netutils.TcpPing(node["pip"], constants.DEFAULT_NODED_PORT, timeout=1.0,
                          listening=True):
        waiting.remove(node)
        answered.append(node)
    if waiting:
      time.sleep(_NODE_WAIT_INTERVAL)
  if waiting:
    ToStderr("No answer from the node daemons of %s; they stay offline",
             ", ".join(node["name"] for node in waiting))
  return answered


def _PowerOn(opts: Any, cl: Any, nodes: list[dict]) -> int:
  opcodes = _Opcodes()
  exit_code = _SwitchPower(opts, constants.OOB_POWER_ON, nodes, "Powering on failed for %s",
                           "Waiting for nodes without out-of-band support to be switched on"
                           " by hand: %s")
  back = _WaitForNodeDaemons(nodes)
  if len(back) != len(nodes):
    exit_code = EXIT_FAILURE
  for node in back:
    SubmitOpCode(MakeOpCode(opcodes.OpNodeSetParams, node_name=node["name"], offline=False),
                 opts=opts)
  # the instances of the nodes back that were shut down without forgetting
  instances = sorted({name for node in back for name in node["pinst_list"]})
  rows = cl.QueryInstances(instances, ["name", "admin_state"], False) if instances else []
  to_start = [name for name, admin_state in rows if admin_state == constants.ADMINST_UP]
  if _RunJobs(opts, cl, [(name, MakeOpCode(opcodes.OpInstanceStartup, instance_name=name))
                         for name in to_start]):
    exit_code = EXIT_FAILURE
  return exit_code


def Epo(opts: Any, args: list[str]) -> int:
  if opts.groups and opts.all_nodes:
    ToStderr("Only one of --groups or --all are allowed")
    return EXIT_FAILURE
  if args and opts.all_nodes:
    ToStderr("Arguments in combination with --all are not allowed")
    return EXIT_FAILURE
  if not args and not opts.all_nodes:
    ToStderr("Give the nodes (or with --groups the node groups), or --all")
    return EXIT_FAILURE
  cl = GetClient()
  rows = _AffectedNodes(cl, opts, args)
  master = [row for row in rows if row["master"]]
  if master and not opts.all_nodes:
    ToStderr("The master node %s is among the nodes; fail the master over to a node that"
             " stays up first", master[0]["name"])
    return EXIT_FAILURE
  nodes = [row for row in rows if not row["master"]]
  if opts.on:
    return _PowerOn(opts, cl, nodes)
  return _PowerOff(opts, cl, nodes, master)


EPO_OPTS = [
  FORCE_OPT,
  CliOption("--on", dest="on", action="store_true", default=False,
            help="Recover from an emergency power-off"),
  CliOption("--groups", dest="groups", action="store_true", default=False,
            help="The arguments are node groups, not nodes"),
  CliOption("--all", dest="all_nodes", action="store_true", default=False,
            help="Every node of the cluster (the master is left to the administrator)"),
  OOB_TIMEOUT_OPT, SHUTDOWN_TIMEOUT_OPT, POWER_DELAY_OPT,
]
