"""hbal: the cluster balancer (see man hbal)."""

import signal
import sys
from typing import Any, Optional

from ganeti import cli as gnt_cli
from ganeti import luxi
from ganeti import opcodes
from ganeti import pathutils
from ganeti.htools import balance
from ganeti.htools import cli
from ganeti.htools import model
from ganeti.htools import score
from ganeti.htools import textfmt

PROGRAM = "hbal"
OPTION_KEYS = cli.BACKEND_OPTIONS + cli.COMMON_OPTIONS + [
  "print_nodes", "print_instances", "offline", "save", "group", "exclusion_tags", "ignore_dynu",
  "util_file", "mond", "print_commands", "execute", "max_length", "min_score", "min_gain",
  "min_gain_limit", "no_disk_moves", "no_instance_moves", "evac_mode", "restricted_migration",
  "select_instances", "exclude_instances", "max_cpu", "min_disk", "ignore_soft_errors"]


def _Names(text: Optional[str]) -> list[str]:
  return [name for name in (text or "").split(",") if name]


def SelectGroup(cluster: model.Cluster, wanted: Optional[str]) -> int:
  """The node group to work on: -G's, or the only one (else abort as hbal does)."""
  if wanted is not None:
    try:
      return cluster.FindGroup(wanted)
    except KeyError:
      sys.stdout.flush()
      sys.stderr.write("Node group %s not found. Node group list is:\n%s\n" %
                       (wanted, "\n".join("  " + g.name for g in cluster.groups)))
      cli.Die("Aborting.")
  used = sorted({node.group for node in cluster.nodes})
  if len(used) > 1:
    sys.stdout.flush()
    sys.stderr.write("Found multiple node groups:\n%s\n" %
                     "\n".join("  " + cluster.groups[idx].name for idx in used))
    cli.Die("Aborting.")
  return used[0] if used else 0


def BadCounts(cluster: model.Cluster, nodes: list[model.Node]) -> tuple[int, int]:
  """Nodes failing N+1 or offline, and the instances they hold."""
  bad = [node for node in nodes if node.offline or node.FailsN1()]
  instances = set()
  for node in bad:
    instances.update(node.pri)
    instances.update(node.sec)
  return len(bad), len(instances)


def ActionText(cluster: model.Cluster, move: balance.Move) -> str:
  parts = []
  for kind, node in move.Actions(lambda idx: cluster.nodes[idx].name):
    parts.append({"f": "f", "r": "r:%s" % node, "m": "f -n %s" % node}[kind])
  return " ".join(parts)


def StepLine(cluster: model.Cluster, number: int, move: balance.Move, inst_width: int,
             pair_width: int) -> str:
  def _Pair(p: int, s: int) -> str:
    return "%s:%s" % (cluster.nodes[p].name, cluster.nodes[s].name if s != model.NO_NODE else "")
  inst = cluster.instances[move.inst]
  return "%5d. %-*s %-*s => %-*s %12.8f a=%s" % (
    number, inst_width, inst.name, pair_width, _Pair(move.old_p, move.old_s), pair_width,
    _Pair(move.new_p, move.new_s), move.score, ActionText(cluster, move))


def Commands(cluster: model.Cluster, move: balance.Move) -> list[str]:
  """gnt-instance commands of one move, in order."""
  inst = cluster.instances[move.inst]
  failover = "migrate -f" if inst.uses_memory else "failover -f"
  result = []
  for kind, node in move.Actions(lambda idx: cluster.nodes[idx].name):
    if kind == "f":
      result.append("gnt-instance %s %s" % (failover, inst.name))
    elif kind == "r":
      result.append("gnt-instance replace-disks -n %s %s" % (node, inst.name))
    else:
      result.append("gnt-instance %s -n %s %s" % (failover, node, inst.name))
  return result


def OpCodes(cluster: model.Cluster, move: balance.Move) -> list:
  """The opcodes of one move (one job), with every parameter filled in."""
  inst = cluster.instances[move.inst]
  result = []
  for kind, node in move.Actions(lambda idx: cluster.nodes[idx].name):
    if kind == "r":
      result.append(gnt_cli.MakeOpCode(opcodes.OpInstanceReplaceDisks, instance_name=inst.name,
                                       mode="replace_new_secondary", remote_node=node,
                                       disks=[]))
      continue
    target = {"target_node": node} if kind == "m" else {}
    if inst.uses_memory:
      result.append(gnt_cli.MakeOpCode(opcodes.OpInstanceMigrate, instance_name=inst.name,
                                       cleanup=False, allow_failover=True, **target))
    else:
      result.append(gnt_cli.MakeOpCode(opcodes.OpInstanceFailover, instance_name=inst.name,
                                       **target))
  return result


def JobSets(moves: list[balance.Move]) -> list[list[balance.Move]]:
  """Consecutive moves grouped while they touch disjoint nodes."""
  sets: list[list[balance.Move]] = []
  touched: set[int] = set()
  for move in moves:
    nodes = move.Nodes()
    if not sets or nodes & touched:
      sets.append([])
      touched = set()
    sets[-1].append(move)
    touched |= nodes
  return sets


def FormatCommands(cluster: model.Cluster, moves: list[balance.Move]) -> list[str]:
  lines = []
  for number, jobset in enumerate(JobSets(moves), start=1):
    lines.append("  ")
    lines.append("  echo jobset %d, %d jobs" % (number, len(jobset)))
    for pos, move in enumerate(jobset, start=1):
      lines.append("    echo job %d/%d" % (number, pos))
      lines.extend("    " + command for command in Commands(cluster, move))
  return lines


def Execute(cluster: model.Cluster, moves: list[balance.Move], socket_path: Optional[str]) -> bool:
  """Runs the jobsets one after the other; False as soon as a job fails."""
  stop = {"requested": False}

  def _Interrupt(_signum: int, _frame: Any) -> None:
    stop["requested"] = True
    print("Cancel request registered, will exit at the end of the current job set...")

  previous = signal.signal(signal.SIGINT, _Interrupt)
  client = luxi.Client(address=socket_path or pathutils.MASTER_SOCKET)
  try:
    for jobset in JobSets(moves):
      if stop["requested"]:
        print("Stopping as requested")
        return True
      jobs = [OpCodes(cluster, move) for move in jobset]
      answers = client.SubmitManyJobs(jobs)
      job_ids = []
      for (ok, value), move in zip(answers, jobset):
        if not ok:
          print("Submission of job for %s failed: %s" % (cluster.instances[move.inst].name, value))
          return False
        job_ids.append(value)
      print("Got job IDs %s" % ", ".join(str(job_id) for job_id in job_ids))
      failed = False
      for job_id in job_ids:
        status = luxi.WaitForJobCompletion(client, int(job_id))
        if status[0] != "success":
          print("Job %s failed: %s" % (job_id, status[2]))
          failed = True
      if failed:
        return False
    return True
  finally:
    client.Close()
    signal.signal(signal.SIGINT, previous)


def Main(argv: Optional[list[str]] = None) -> int:
  options, args = cli.ParseOptions(PROGRAM, OPTION_KEYS, sys.argv[1:] if argv is None else argv)
  if args:
    cli.Die("This program doesn't take any arguments.")
  if options.execute and options.luxi is None:
    cli.Die("Execution of commands possible only on LUXI")
  cluster = cli.LoadCluster(options)
  verbose = options.verbose
  print("Loaded %d nodes, %d instances" % (len(cluster.nodes), len(cluster.instances)))
  group = SelectGroup(cluster, options.group)
  nodes = cluster.GroupNodes(group)
  print("Group size %d nodes, %d instances" % (len(nodes), len(cluster.GroupInstances(group))))
  print("Selected node group: %s" % cluster.groups[group].name)
  if options.save:
    textfmt.Save(cluster, options.save + ".original")
  bad_nodes, bad_instances = BadCounts(cluster, nodes)
  if verbose > 0:
    print("Initial check done: %d bad nodes, %d bad instances." % (bad_nodes, bad_instances))
  if any(node.FailsN1() for node in nodes if not node.offline):
    print("Cluster is not N+1 happy, continuing but no guarantee that the cluster will end"
          " N+1 happy.")
  if options.print_nodes is not None:
    sys.stdout.flush()
    sys.stderr.write("\nInitial cluster status:\n%s\n\n" %
                     "\n".join(cli.FormatNodes(cluster, nodes, options.print_nodes)))
  coefficients = score.Coefficients(cluster, nodes)
  initial = sum(w * v for w, v in zip(score.WEIGHTS, coefficients))
  if verbose > 2:
    print("Initial coefficients: overall %s" % cli.FormatScore(initial))
    print("\n".join(score.FormatCoefficients(coefficients)))
  else:
    print("Initial score: %s" % cli.FormatScore(initial))
  if initial <= options.min_score:
    optimum = score.WEIGHTS[-1] * coefficients[-1]
    print("Cluster is already well balanced (initial score %.6f,\n"
          "optimum score due to N+1 reservations %.6f,\nminimum score %s)." %
          (initial, optimum, cli.FormatExp(options.min_score)))
    print("Nothing to do, exiting")
    return 0
  algorithm = balance.Options(
    max_length=options.max_length, min_score=options.min_score, min_gain=options.min_gain,
    min_gain_limit=options.min_gain_limit, disk_moves=not options.no_disk_moves,
    instance_moves=not options.no_instance_moves,
    excluded=_Names(options.exclude_instances),
    selected=_Names(options.select_instances) if options.select_instances else None,
    evac_mode=options.evac_mode, restricted_migration=options.restricted_migration,
    max_cpu=options.max_cpu, min_disk=options.min_disk,
    ignore_soft_errors=options.ignore_soft_errors)
  for name in algorithm.excluded | (algorithm.selected or set()):
    try:
      cluster.FindInstance(name)
    except KeyError:
      cli.Die("Unknown instance name(s): %s" % name)
  print("Trying to minimize the CV...")
  inst_width = max((len(inst.name) for inst in cluster.instances), default=0)
  pair_width = 2 * max((len(node.name) for node in cluster.nodes), default=0) + 1
  steps: list[balance.Move] = []

  def _Report(move: balance.Move) -> None:
    steps.append(move)
    print(StepLine(cluster, len(steps), move, inst_width, pair_width))
    sys.stdout.flush()

  balancer = balance.Balancer(cluster, group, algorithm)
  _, final, moves = balancer.Run(_Report)
  print("Cluster score improved from %s to %s" % (cli.FormatScore(initial),
                                                   cli.FormatScore(final)))
  print("Solution length=%d" % len(moves))
  if options.print_commands is not None:
    lines = FormatCommands(cluster, moves)
    if options.print_commands:
      with open(options.print_commands, "w", encoding="utf-8") as handle:
        handle.write("#!/bin/sh\n\nset -e\n\n" + "\n".join(lines) + "\n")
      print("The commands have been written to file '%s'" % options.print_commands)
    else:
      print()
      print("Commands to run to reach the above solution:")
      print("\n".join(lines))
  if options.save:
    textfmt.Save(cluster, options.save + ".balanced")
  if options.print_instances:
    print("Final instance map:")
    print("\n".join(cli.FormatInstances(cluster, cluster.GroupInstances(group))))
  if options.print_nodes is not None:
    sys.stdout.flush()
    sys.stderr.write("\nFinal cluster status:\n%s\n\n" %
                     "\n".join(cli.FormatNodes(cluster, nodes, options.print_nodes)))
  if options.execute and moves:
    if not Execute(cluster, moves, options.luxi or None):
      return 1
  return 0
