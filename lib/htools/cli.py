"""Options and output helpers shared by the htools programs.

Options are data: OPTIONS maps a key to its optparse definition, and each
program lists the keys it accepts.  Haskell-style optional arguments
(-L[path], -C[file], -p[fields]) must be attached to the option, as in
Ganeti's htools; ExpandOptional rewrites them for optparse.
"""

import optparse
import sys
from typing import Any, Callable, Iterable, Optional

from ganeti import constants
from ganeti.htools import loader
from ganeti.htools import model


_OPTIONAL_ARGS = {"-L": "--luxi", "-C": "--print-commands", "-p": "--print-nodes"}


def _Append(option: Any, _opt: str, value: str, parser: Any) -> None:
  current = getattr(parser.values, option.dest) or []
  setattr(parser.values, option.dest, current + [v for v in value.split(",") if v])


# key -> (flags, optparse keyword arguments)
OPTIONS: dict[str, tuple[tuple[str, ...], dict]] = {
  "data_file": (("-t", "--text-data"), dict(dest="data_file", metavar="FILE",
                help="the cluster data FILE")),
  "luxi": (("--luxi",), dict(dest="luxi", metavar="PATH",
           help="collect data from the master daemon (-L[PATH])")),
  "rapi": (("-m",), dict(dest="rapi", metavar="CLUSTER", help="collect data via RAPI at CLUSTER")),
  "ialloc_src": (("-I", "--ialloc-src"), dict(dest="ialloc_src", metavar="FILE",
                 help="load data from an iallocator request FILE")),
  "simulate": (("--simulate",), dict(dest="simulate", action="append", metavar="SPEC",
               help="simulate an empty cluster: policy,nodes,disk,memory,cpus[,spindles]")),
  "verbose": (("-v", "--verbose"), dict(dest="verbose", action="count", default=1,
              help="increase the verbosity level")),
  "quiet": (("-q", "--quiet"), dict(dest="quiet", action="count", default=0,
            help="decrease the verbosity level")),
  "version": (("-V", "--version"), dict(dest="show_version", action="store_true",
              help="show the version of the program")),
  "print_nodes": (("--print-nodes",), dict(dest="print_nodes", metavar="FIELDS",
                  help="print the node list (-p[FIELDS])")),
  "print_instances": (("--print-instances",), dict(dest="print_instances", action="store_true",
                      help="print the final instance map")),
  "offline": (("-O", "--offline"), dict(dest="offline", action="callback", type="string",
              callback=_Append, default=[], metavar="NODE", help="set node as offline")),
  "save": (("-S", "--save-cluster"), dict(dest="save", metavar="FILE",
           help="save the cluster state to FILE.original/.balanced (or the like)")),
  "group": (("-G", "--group"), dict(dest="group", metavar="GROUP",
            help="the target node group (name or UUID)")),
  "exclusion_tags": (("--exclusion-tags",), dict(dest="exclusion_tags", metavar="TAGS",
                     help="comma-separated instance tag prefixes for exclusion")),
  "ignore_dynu": (("--ignore-dynu",), dict(dest="ignore_dynu", action="store_true",
                  help="ignore dynamic utilisation information")),
  "util_file": (("-U", "--util-file"), dict(dest="util_file", metavar="FILE",
                help="instance utilisation data (not used by this version)")),
  "mond": (("--mond",), dict(dest="mond", metavar="yes|no",
           help="query the monitoring daemons (not used by this version)")),
  "print_commands": (("--print-commands",), dict(dest="print_commands", metavar="FILE",
                     help="print the commands to reach the solution (-C[FILE])")),
  "execute": (("-X", "--exec"), dict(dest="execute", action="store_true",
              help="execute the moves as jobs through LUXI")),
  "max_length": (("-l", "--max-length"), dict(dest="max_length", type="int", default=-1,
                 metavar="N", help="cap the solution at N moves")),
  "min_score": (("-e", "--min-score"), dict(dest="min_score", type="float", default=1e-9,
                metavar="SCORE", help="stop once the score is below SCORE")),
  "min_gain": (("-g", "--min-gain"), dict(dest="min_gain", type="float", default=0.01,
               metavar="DELTA", help="minimum gain per step")),
  "min_gain_limit": (("--min-gain-limit",), dict(dest="min_gain_limit", type="float",
                     default=0.1, metavar="SCORE", help="score below which --min-gain applies")),
  "no_disk_moves": (("--no-disk-moves",), dict(dest="no_disk_moves", action="store_true",
                    help="do not replace disks")),
  "no_instance_moves": (("--no-instance-moves",), dict(dest="no_instance_moves",
                        action="store_true", help="do not migrate or fail over instances")),
  "evac_mode": (("--evac-mode",), dict(dest="evac_mode", action="store_true",
                help="only move instances off offline and drained nodes")),
  "restricted_migration": (("--restricted-migration",), dict(dest="restricted_migration",
                           action="store_true", help="restrict migrations to drained nodes")),
  "select_instances": (("--select-instances",), dict(dest="select_instances", metavar="INSTS",
                       help="only move these (comma-separated) instances")),
  "exclude_instances": (("--exclude-instances",), dict(dest="exclude_instances",
                        metavar="INSTS", help="never move these (comma-separated) instances")),
  "max_cpu": (("--max-cpu",), dict(dest="max_cpu", type="float", metavar="RATIO",
              help="maximum virtual to physical CPU ratio")),
  "min_disk": (("--min-disk",), dict(dest="min_disk", type="float", default=0.0,
               metavar="RATIO", help="minimum free disk ratio")),
  "ignore_soft_errors": (("--ignore-soft-errors",), dict(dest="ignore_soft_errors",
                         action="store_true", help="ignore soft policy errors")),
  "machine_readable": (("--machine-readable",), dict(dest="machine_readable", default=None,
                       metavar="yes|no", help="machine-readable output")),
  "standard_alloc": (("--standard-alloc",), dict(dest="standard_alloc", metavar="SPEC",
                     help="standard allocation spec: disk,ram,cpu,spindles")),
  "tiered_alloc": (("--tiered-alloc",), dict(dest="tiered_alloc", metavar="SPEC",
                   help="tiered allocation initial spec: disk,ram,cpu,spindles")),
  "disk_template": (("--disk-template",), dict(dest="disk_template", metavar="TEMPLATE",
                    help="disk template of the simulated instances")),
  "spindle_use": (("--spindle-use",), dict(dest="spindle_use", type="int", metavar="N",
                  help="spindle use of the simulated instances")),
  "independent_groups": (("--independent-groups",), dict(dest="independent_groups",
                         action="store_true", help="consider groups independently")),
  "accept_existing": (("--accept-existing-errors",), dict(dest="accept_existing",
                      action="store_true", help="ignore existing N+1 failures")),
  "force": (("--force",), dict(dest="force", action="store_true", help="force")),
  "one_step_only": (("--one-step-only",), dict(dest="one_step_only", action="store_true",
                    help="only print the first reboot group")),
  "offline_maintenance": (("--offline-maintenance",), dict(
    dest="offline_maintenance", action="store_true",
    help="plan as if all instances were shut down for the reboots")),
  "skip_non_redundant": (("--skip-non-redundant",), dict(dest="skip_non_redundant",
                         action="store_true", help="skip nodes with non-redundant instances")),
  "ignore_non_redundant": (("--ignore-non-redundant",), dict(dest="ignore_non_redundant",
                           action="store_true", help="treat non-redundant instances as movable")),
  "full_evacuation": (("--full-evacuation",), dict(dest="full_evacuation", action="store_true",
                      help="also evacuate secondaries")),
  "node_tags": (("--node-tags",), dict(dest="node_tags", metavar="TAGS",
                help="only nodes with one of these tags")),
  "print_moves": (("--print-moves",), dict(dest="print_moves", action="store_true",
                  help="print the instance moves of each step")),
  "no_headers": (("--no-headers",), dict(dest="no_headers", action="store_true",
                 help="no column headers")),
  "no_simulation": (("--no-simulation",), dict(dest="no_simulation", action="store_true",
                    help="do not simulate rebalancing")),
  "no_capacity_checks": (("--no-capacity-checks",), dict(
    dest="no_capacity_checks", action="store_true",
    help="do not check that each node's instances could restart elsewhere")),
  "dry_run": (("--dry-run",), dict(dest="dry_run", action="store_true",
              help="only compute the answer, do not output it")),
}

BACKEND_OPTIONS = ["data_file", "luxi", "rapi", "ialloc_src", "simulate"]
COMMON_OPTIONS = ["verbose", "quiet", "version"]


def ExpandOptional(argv: Iterable[str]) -> list[str]:
  """-L, -C and -p take an optional argument attached to them."""
  result = []
  for arg in argv:
    if arg == "--machine-readable":
      arg = "--machine-readable=yes"
    for short, long_name in _OPTIONAL_ARGS.items():
      if arg == short or arg == long_name:
        arg = long_name + "="
        break
      if arg.startswith(short) and not arg.startswith("--"):
        arg = long_name + "=" + arg[len(short):]
        break
    result.append(arg)
  return result


def ParseOptions(program: str, keys: list[str], argv: list[str],
                 usage: str = "%prog [options...]") -> tuple[Any, list[str]]:
  parser = optparse.OptionParser(usage=usage, prog=program, add_help_option=True)
  for key in keys:
    flags, kwargs = OPTIONS[key]
    parser.add_option(*flags, **kwargs)
  options, args = parser.parse_args(ExpandOptional(argv))
  options.verbose = max(0, (options.verbose or 1) - (options.quiet or 0))
  if getattr(options, "show_version", False):
    print("%s (ganeti) version %s" % (program, constants.RELEASE_VERSION))
    print("running on Python %s" % sys.version.split()[0])
    sys.exit(0)
  return options, args


def Die(message: str, code: int = 1) -> None:
  sys.stdout.flush()
  sys.stderr.write("Error: %s\n" % message)
  sys.exit(code)


def LoadCluster(options: Any) -> model.Cluster:
  """The cluster from the backend options, with -O and --exclusion-tags applied."""
  try:
    cluster = loader.Load(options)
  except (loader.LoadError, OSError) as err:
    Die(str(err))
  for name in getattr(options, "offline", None) or []:
    try:
      cluster.nodes[cluster.FindNode(name)].offline = True
    except KeyError:
      Die("Unknown node name(s): %s" % name)
  if getattr(options, "ignore_dynu", False):
    cluster.instance_loads = False
  extra = getattr(options, "exclusion_tags", None)
  if extra:
    cluster.SetExclusionTags(cluster.exclusion_prefixes + [tag for tag in extra.split(",") if tag])
  return cluster


def FormatTable(header: list[str], rows: list[list[str]], left: Iterable[int] = ()) -> list[str]:
  """Columns padded to their widest cell; columns in left are left-aligned."""
  left = set(left)
  widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
  lines = []
  for row in [header] + rows:
    cells = [str(cell).ljust(width) if pos in left else str(cell).rjust(width)
             for pos, (cell, width) in enumerate(zip(row, widths))]
    lines.append(" " + " ".join(cells))
  return lines


# -p fields: name -> (header, value of a node)
NODE_FIELDS: dict[str, tuple[str, Callable[[model.Cluster, model.Node], str]]] = {
  "status": ("F", lambda c, n: "-" if n.offline else ("*" if n.FailsN1() else " ")),
  "name": ("Name", lambda c, n: n.name),
  "tmem": ("t_mem", lambda c, n: "%d" % n.t_mem),
  "nmem": ("n_mem", lambda c, n: "%d" % n.n_mem),
  "imem": ("i_mem", lambda c, n: "%d" % n.i_mem),
  "xmem": ("x_mem", lambda c, n: "%d" % (n.t_mem - n.n_mem - n.i_mem - n.f_mem)),
  "fmem": ("f_mem", lambda c, n: "%d" % n.f_mem_loaded),
  "umem": ("u_mem", lambda c, n: "%d" % n.f_mem),
  "rmem": ("r_mem", lambda c, n: "%d" % n.r_mem),
  "tdsk": ("t_dsk", lambda c, n: "%d" % round(n.t_dsk / 1024)),
  "fdsk": ("f_dsk", lambda c, n: "%d" % round(n.f_dsk / 1024)),
  "tcpu": ("pcpu", lambda c, n: "%d" % n.t_cpu),
  "ucpu": ("vcpu", lambda c, n: "%d" % (n.u_cpu + n.n_cpu)),
  "pcnt": ("pcnt", lambda c, n: "%d" % len(n.pri)),
  "scnt": ("scnt", lambda c, n: "%d" % len(n.sec)),
  "pfmem": ("p_fmem", lambda c, n: "%.4f" % (n.f_mem / n.t_mem if n.t_mem else 0)),
  "pfdsk": ("p_fdsk", lambda c, n: "%.4f" % (n.f_dsk / n.t_dsk if n.t_dsk else 0)),
  "rcpu": ("r_cpu", lambda c, n: "%.2f" % ((n.u_cpu + n.n_cpu) / n.t_cpu if n.t_cpu else 0)),
  "cload": ("lCpu", lambda c, n: "%.3f" % (len(n.pri) * c.instance_loads)),
  "mload": ("lMem", lambda c, n: "%.3f" % (len(n.pri) * c.instance_loads)),
  "dload": ("lDsk", lambda c, n: "%.3f" % ((len(n.pri) + len(n.sec)) * c.instance_loads)),
  "nload": ("lNet", lambda c, n: "%.3f" % (len(n.pri) * c.instance_loads)),
}
DEFAULT_NODE_FIELDS = ["status", "name", "tmem", "nmem", "imem", "xmem", "fmem", "umem", "rmem",
                       "tdsk", "fdsk", "tcpu", "ucpu", "pcnt", "scnt", "pfmem", "pfdsk", "rcpu",
                       "cload", "mload", "dload", "nload"]


def NodeFieldList(spec: Optional[str]) -> list[str]:
  if not spec:
    return DEFAULT_NODE_FIELDS
  if spec.startswith("+"):
    return DEFAULT_NODE_FIELDS + [f for f in spec[1:].split(",") if f]
  return [f for f in spec.split(",") if f]


def FormatNodes(cluster: model.Cluster, nodes: list[model.Node], spec: Optional[str]) -> list[str]:
  fields = [name for name in NodeFieldList(spec) if name in NODE_FIELDS]
  header = [NODE_FIELDS[name][0] for name in fields]
  rows = [[NODE_FIELDS[name][1](cluster, node) for name in fields] for node in nodes]
  left = [pos for pos, name in enumerate(fields) if name == "name"]
  return FormatTable(header, rows, left)


def FormatInstances(cluster: model.Cluster, instances: list[model.Instance]) -> list[str]:
  def _Name(idx: int) -> str:
    return cluster.nodes[idx].name if idx != model.NO_NODE else ""
  rows = [[" " if inst.uses_memory else "-", inst.name, _Name(inst.pnode), _Name(inst.snode),
           "Y" if inst.auto_balance else "N", "%d" % inst.mem, "%d" % inst.dsk,
           "%d" % inst.vcpus] for inst in instances]
  return FormatTable(["F", "Name", "Pri_node", "Sec_node", "Auto_bal", "mem", "dsk", "vcpu"],
                     rows, left=[1, 2, 3])


def FormatScore(value: float) -> str:
  return "%.8f" % value


def FormatExp(value: float) -> str:
  """A float as %e without exponent padding (1.000000e-9)."""
  mantissa, exponent = ("%e" % value).split("e")
  return "%se%d" % (mantissa, int(exponent))
