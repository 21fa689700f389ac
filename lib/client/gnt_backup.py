"""gnt-backup: exporting instances to a node's export directory and importing them."""

from __future__ import annotations

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Any

from ganeti import constants
from ganeti import errors
from ganeti.cli import *  # pylint: disable=wildcard-import,unused-wildcard-import
from ganeti.cli import EXIT_FAILURE, EXIT_SUCCESS
from ganeti.client.gnt_instance import GenericInstanceCreate
from ganeti.client.gnt_instance_opts import *  # pylint: disable=wildcard-import,unused-wildcard-import

_LIST_DEF_FIELDS = ["node", "export"]

SINGLE_NODE_OPT = CliOption("-n", "--node", dest="node", metavar="<node>",
                            help="Node that receives the export")
NODE_LIST_OPT = CliOption("-n", "--node", dest="nodes", default=[], action="append",
                          metavar="<node>",
                          help="List this node's exports (repeatable; all nodes by default)")
TRANSPORT_COMPRESSION_OPT = CliOption("--transport-compression", dest="transport_compression",
                                      default="none",
                                      help="Compress disk data on its way between nodes"
                                           " (none, gzip, gzip-fast or gzip-slow)")
NOSHUTDOWN_OPT = Flag("--noshutdown", dest="shutdown", action="store_false", default=True,
                      help="Export while the instance keeps running (its data may be"
                           " inconsistent)")
REMOVE_INSTANCE_OPT = Flag("--remove-instance", dest="remove_instance",
                           help="Delete the instance once it is exported")
IGNORE_REMOVE_FAILURES_OPT = Flag("--ignore-remove-failures", dest="ignore_remove_failures",
                                  help="With --remove-instance: drop the instance from the"
                                       " configuration even where deleting its disks fails")
ZERO_FREE_SPACE_OPT = Flag("--zero-free-space", dest="zero_free_space",
                           help="Overwrite unused disk space with zeros before exporting"
                                " (compresses better)")
ZEROING_TIMEOUT_FIXED_OPT = CliOption("--zeroing-timeout-fixed", dest="zeroing_timeout_fixed",
                                      type="int", default=None,
                                      help="Seconds zeroing may take, whatever the disk size")
ZEROING_TIMEOUT_PER_MIB_OPT = CliOption("--zeroing-timeout-per-mib",
                                        dest="zeroing_timeout_per_mib", type="float",
                                        default=None,
                                        help="Further seconds zeroing may take per MiB of disk")
LONG_SLEEP_OPT = Flag("--long-sleep", dest="long_sleep",
                      help="Allow the instance to stay shut down for the whole export")
IDENTIFY_DEFAULTS_OPT = Flag("--identify-defaults", dest="identify_defaults",
                             help="Where a saved parameter equals the cluster's current"
                                  " default, let the instance follow the default")
SRC_DIR_OPT = CliOption("--src-dir", dest="src_dir", metavar="<dir>",
                        help="Directory holding the export")
SRC_NODE_OPT = CliOption("--src-node", dest="src_node", metavar="<node>",
                         help="Node holding the export")


def _Opcodes() -> Any:
  from ganeti import opcodes  # pylint: disable=import-outside-toplevel
  return opcodes


def PrintExportList(opts: Any, args: list[str]) -> int:
  del args
  fields = ParseFields(opts.output, _LIST_DEF_FIELDS)
  qfilter = None
  if opts.nodes:
    qfilter = ["|"] + [["=", "node", name] for name in opts.nodes]
  return GenericList(constants.QR_EXPORT, fields, [], opts.units, opts.separator,
                     not opts.no_headers, verbose=opts.verbose, qfilter=qfilter)


def ListExportFields(opts: Any, args: list[str]) -> int:
  return GenericListFields(constants.QR_EXPORT, args, opts.separator, not opts.no_headers)


def ExportInstance(opts: Any, args: list[str]) -> int:
  """Exports an instance to a node; reports the parts that failed."""
  if not opts.node:
    raise errors.OpPrereqError("Target node must be specified", errors.ECODE_INVAL)
  op = MakeOpCode(_Opcodes().OpBackupExport, instance_name=args[0], target_node=opts.node,
                  compress=opts.transport_compression, shutdown=opts.shutdown,
                  shutdown_timeout=opts.shutdown_timeout,
                  remove_instance=opts.remove_instance,
                  ignore_remove_failures=opts.ignore_remove_failures,
                  zero_free_space=opts.zero_free_space,
                  zeroing_timeout_fixed=opts.zeroing_timeout_fixed,
                  zeroing_timeout_per_mib=opts.zeroing_timeout_per_mib,
                  long_sleep=opts.long_sleep)
  result = SubmitOrSend(op, opts)
  if not isinstance(result, (list, tuple)) or len(result) != 2:
    return EXIT_SUCCESS  # submitted only
  finalized, disk_results = result
  code = EXIT_SUCCESS
  if not finalized:
    ToStderr("The export could not be finalized on the target node")
    code = EXIT_FAILURE
  for idx, ok in enumerate(disk_results):
    if not ok:
      ToStderr("Export of disk %d failed", idx)
      code = EXIT_FAILURE
  return code


def ImportInstance(opts: Any, args: list[str]) -> int:
  """Creates an instance from an export (its settings unless given here)."""
  # what "gnt-instance add" asks for but an import takes from the export
  for name, value in (("os", None), ("start", False), ("force_variant", True),
                      ("instance_communication", None), ("no_install", None)):
    if not hasattr(opts, name):
      setattr(opts, name, value)
  return GenericInstanceCreate(constants.INSTANCE_IMPORT, opts, args)


def RemoveExport(opts: Any, args: list[str]) -> int:
  SubmitOrSend(MakeOpCode(_Opcodes().OpBackupRemove, instance_name=args[0]), opts)
  return EXIT_SUCCESS


_JOB_OPTS = [DRY_RUN_OPT, PRIORITY_OPT] + SUBMIT_OPTS
_IMPORT_OPTS = [
  BACKEND_OPT, DISK_OPT, DISK_TEMPLATE_OPT, FILESTORE_DIR_OPT, FILESTORE_DRIVER_OPT,
  HYPERVISOR_OPT, IALLOCATOR_OPT, NET_OPT, NODE_PLACEMENT_OPT, NODEGROUP_OPT, NOIPCHECK_OPT,
  NOCONFLICTSCHECK_OPT, NONAMECHECK_OPT, NONICS_OPT, NWSYNC_OPT, OSPARAMS_OPT,
  OSPARAMS_PRIVATE_OPT, OSPARAMS_SECRET_OPT, OS_SIZE_OPT, OPPORTUNISTIC_LOCKING_OPT,
  SUBMIT_OPT, PRINT_JOBID_OPT, TAG_ADD_OPT, DRY_RUN_OPT, PRIORITY_OPT, IDENTIFY_DEFAULTS_OPT,
  SRC_DIR_OPT, SRC_NODE_OPT, COMPRESS_OPT, IGNORE_IPOLICY_OPT, HELPER_STARTUP_TIMEOUT_OPT,
  HELPER_SHUTDOWN_TIMEOUT_OPT]

commands = {
  "list": (
    PrintExportList, ARGS_NONE,
    [NODE_LIST_OPT, NOHDR_OPT, SEP_OPT, UNITS_OPT, FIELDS_OPT, VERBOSE_OPT],
    "", "Lists instance exports available in the ganeti cluster"),
  "list-fields": (
    ListExportFields, [ArgUnknown()], [NOHDR_OPT, SEP_OPT], "[fields...]",
    "Lists all available fields for exports"),
  "export": (
    ExportInstance, ARGS_ONE_INSTANCE,
    [FORCE_OPT, SINGLE_NODE_OPT, TRANSPORT_COMPRESSION_OPT, NOSHUTDOWN_OPT,
     SHUTDOWN_TIMEOUT_OPT, REMOVE_INSTANCE_OPT, IGNORE_REMOVE_FAILURES_OPT, DRY_RUN_OPT,
     PRIORITY_OPT, ZERO_FREE_SPACE_OPT, ZEROING_TIMEOUT_FIXED_OPT,
     ZEROING_TIMEOUT_PER_MIB_OPT, LONG_SLEEP_OPT] + SUBMIT_OPTS,
    "-n <node-name> [opts...] <instance-name>", "Exports an instance to an image"),
  "import": (
    ImportInstance, ARGS_ONE_INSTANCE, _IMPORT_OPTS,
    "[...] -t disk-type -n node[:secondary-node] <instance-name>",
    "Imports an instance from an exported image"),
  "remove": (
    RemoveExport, ARGS_ONE_INSTANCE, _JOB_OPTS,
    "<instance-name>", "Remove exports of named instance from the filesystem."),
}


def Main() -> int:
  return GenericMain(commands)
