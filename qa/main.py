"""tools/qa-cluster: build the node image, run the node VMs, install, run the QA suite."""

import argparse
import json
import os
import shutil
import sys
import time
from typing import Optional

from qa import image as image_mod
from qa import install
from qa import nodes as nodes_mod
from qa import steps as steps_mod
from qa import util

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CONFIG = os.path.join(CHECKOUT, "qa", "qa-cluster.json")
DEFAULT_RUN_DIR = os.path.join(CHECKOUT, "build", "qa-cluster")
# host programs the tool runs, with the Debian package that has each
HOST_PROGRAMS = {"debootstrap": "debootstrap", "qemu-system-x86_64": "qemu-system-x86",
                 "qemu-img": "qemu-utils", "mke2fs": "e2fsprogs", "cpio": "cpio",
                 "ssh": "openssh-client", "ip": "iproute2", "make": "make",
                 "autoconf": "autoconf", "automake": "automake"}


def LoadConfig(path: str) -> dict:
  with open(path) as handle:
    config = json.load(handle)
  unknown = set(config.get("pending", {})) | set(
    name for names in config.get("subsets", {}).values() for name in names)
  unknown -= set(steps_mod.StepNames())
  if unknown:
    raise util.QAError("%s names unknown steps: %s" % (path, ", ".join(sorted(unknown))))
  return config


def CheckHost() -> None:
  missing = sorted({package for program, package in HOST_PROGRAMS.items()
                    if not shutil.which(program)})
  # the staged install runs configure and the man pages with the nodes' interpreter
  if not os.path.exists("/usr/bin/python3"):
    missing.append("python3")
  elif util.Run(["/usr/bin/python3", "-c", "import docutils"], check=False).returncode:
    missing.append("python3-docutils")
  if missing:
    raise util.QAError("The QA cluster needs: apt-get install %s (tools/install-deps"
                       " --test installs all of it)" % " ".join(missing))


def RunSuite(cluster: nodes_mod.Cluster, config: dict, subset: str,
             timer: util.Timer, only: Optional[list[str]] = None) -> bool:
  """Runs the subset's steps in order; stops at the first failure.  Whether all passed."""
  if subset not in config["subsets"]:
    raise util.QAError("No subset %s (known: %s)" % (subset, ", ".join(config["subsets"])))
  wanted = [name for name in config["subsets"][subset] if only is None or name in only]
  pending = config.get("pending", {})
  log_path = os.path.join(cluster.run_dir, "steps.log")
  with open(log_path, "a") as handle:
    handle.write("=== %s: subset %s\n" % (time.strftime("%Y-%m-%d %H:%M:%S"), subset))
  ctx = steps_mod.Context(cluster, config, log_path)
  results = []
  failed = False
  for name in steps_mod.StepNames():
    if name not in wanted:
      continue
    if name in pending:
      results.append((name, "PENDING", pending[name]))
      continue
    if failed:
      results.append((name, "SKIPPED", "an earlier step failed"))
      continue
    start = time.monotonic()
    try:
      timer.Measure("step " + name, steps_mod.RunStep, ctx, name)
      results.append((name, "PASS", "%.1f s" % (time.monotonic() - start)))
    except util.QAError as err:
      failed = True
      results.append((name, "FAIL", "%.1f s" % (time.monotonic() - start)))
      print("FAIL %s: %s" % (name, err), file=sys.stderr)
  print("\nQA results (%s):" % subset)
  for name, verdict, detail in results:
    print("  %-24s %-8s %s" % (name, verdict, detail))
  return not failed


def Main(argv: list[str]) -> int:
  parser = argparse.ArgumentParser(prog="qa-cluster")
  parser.add_argument("command", choices=["image", "up", "install", "run", "ssh", "down"])
  parser.add_argument("args", nargs="*", help="ssh: NODE [COMMAND...]")
  parser.add_argument("--config", default=DEFAULT_CONFIG)
  parser.add_argument("--run-dir", default=DEFAULT_RUN_DIR)
  parser.add_argument("--subset", default="full")
  parser.add_argument("--keep", action="store_true", help="run: leave the nodes up")
  parser.add_argument("--no-install", action="store_true",
                      help="run: nodes already up and installed; go straight to the steps")
  parser.add_argument("--only", help="run: just these steps (comma-separated) of the subset")
  options = parser.parse_args(argv)
  try:
    config = LoadConfig(options.config)
    cluster = nodes_mod.Cluster(config, options.run_dir)
    if options.command == "down":
      cluster.Down()
      return 0
    if options.command == "ssh":
      if not options.args:
        parser.error("ssh needs a node name")
      node = cluster.Node(options.args[0])
      argv = cluster.SshArgv(node, " ".join(options.args[1:]))
      if not options.args[1:]:
        argv.insert(argv.index("ssh") + 1, "-t")
      os.execvp(argv[0], argv)
    CheckHost()
    return _Run(options, config, cluster)
  except util.QAError as err:
    print("qa-cluster: %s" % err, file=sys.stderr)
    return 1


def _Run(options: argparse.Namespace, config: dict, cluster: nodes_mod.Cluster) -> int:
  timer = util.Timer()
  image = timer.Measure("image (build or cache)", image_mod.Build)
  if options.command == "image":
    print(image.directory)
    return 0
  # absolute: make runs the staged install from inside the source copy
  stage_dir = os.path.join(cluster.run_dir, "stage")
  passed = False
  # run on nodes that are already up: they stay up (whoever started them stops them)
  reuse = options.command == "run" and cluster.Running()
  if options.command in ("up", "run") and cluster.state and not cluster.Running():
    util.Log("cleaning up a run whose VMs are gone")
    cluster.Down()
  try:
    if options.command == "up" or (options.command == "run" and not reuse):
      timer.Measure("boot %d nodes to ssh" % len(cluster.nodes), cluster.Up, image)
    if options.command == "install" or (options.command == "run" and not options.no_install):
      tarball = timer.Measure("make install (staged on the host)", install.Stage, CHECKOUT,
                              stage_dir, os.path.join(cluster.run_dir, "src"))
      timer.Measure("install into the nodes", install.Push, cluster, tarball, stage_dir)
    if options.command == "run":
      only = options.only.split(",") if options.only else None
      passed = RunSuite(cluster, config, options.subset, timer, only)
  finally:
    if options.command == "run" and not (options.keep or reuse):
      timer.Measure("teardown", cluster.Down)
    print("\nTimings:\n" + timer.Table())
  return 0 if passed or options.command != "run" else 1
