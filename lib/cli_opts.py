"""Command line options shared by the gnt-* tools.

An option is described with optparse's keywords (dest, action, type, default,
const, choices, metavar, help), plus a few value types of Ganeti's (key=value
lists, "ident:key=value" groups, sizes with units, yes/no, comma lists, job
priorities).  The names and destinations are those of Ganeti's tools.
ganeti.cli_parse reads command lines against them; optparse itself is only
loaded for --help and for mistakes (see there why).
"""

from __future__ import annotations

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Any, Optional

from ganeti import constants
from ganeti import errors

# Job priorities as the user names them, in the order --help lists them
PRIORITY_NAMES = [
  ("low", constants.OP_PRIO_LOW),
  ("normal", constants.OP_PRIO_NORMAL),
  ("high", constants.OP_PRIO_HIGH),
]
_PRIONAME_TO_VALUE = dict(PRIORITY_NAMES)

UNITS_CHOICES = ["h", "m", "g", "t"]


class OptionValueError(Exception):
  """A value its option's type does not accept: a usage error, reported as
  optparse reports its own."""


def _SplitEscaped(text: str, separator: str = ",") -> list[str]:
  """Splits text at separator; a backslash before separator keeps it."""
  parts = [""]
  chars = iter(text)
  for char in chars:
    if char == "\\":
      following = next(chars, "")
      parts[-1] += following if following == separator else char + following
    elif char == separator:
      parts.append("")
    else:
      parts[-1] += char
  return parts


def SplitKeyVal(opt: str, data: str, parse_prefixes: bool = True) -> dict[str, Any]:
  """Parses "a=1,no_b,-c" into {"a": "1", "b": False, "c": None}.

  Without parse_prefixes every element must hold a value.
  """
  result: dict[str, Any] = {}
  if not data:
    return result
  for element in _SplitEscaped(data):
    if "=" in element:
      key, value = element.split("=", 1)
    elif not parse_prefixes:
      raise errors.ParameterError("Missing value for key '%s' in option %s" % (element, opt))
    elif element.startswith("no_"):
      key, value = element[3:], False
    elif element.startswith("-"):
      key, value = element[1:], None
    else:
      key, value = element, True
    if key in result:
      raise errors.ParameterError("Duplicate key '%s' in option %s" % (key, opt))
    result[key] = value
  return result


def _ParseIdentKeyVal(opt: str, value: str, parse_prefixes: bool) -> tuple[str, Any]:
  """Parses "ident:a=1,b=2"; "no_ident" and "-ident" remove a whole group."""
  ident, _, rest = value.partition(":")
  for prefix, removed in (("no_", False), ("-", None)):
    if parse_prefixes and ident.startswith(prefix):
      if rest:
        raise errors.ParameterError("Cannot pass options when removing parameter groups: %s"
                                    % value)
      return ident[len(prefix):], removed
  return ident, SplitKeyVal(opt, rest, parse_prefixes)


def _CheckIdentKeyVal(opt: str, value: str) -> tuple[str, Any]:
  return _ParseIdentKeyVal(opt, value, True)


def _CheckMultiListIdentKeyVal(opt: str, value: str) -> list[dict]:
  """Parses "min:a=1/max:a=2//min:a=3/max:a=4" into a list of dicts of dicts."""
  result = []
  for group in value.split("//"):
    entry: dict[str, Any] = {}
    for part in group.split("/"):
      ident, params = _ParseIdentKeyVal(opt, part, False)
      if ident in entry:
        raise errors.ParameterError("Duplicate key '%s' in option %s" % (ident, opt))
      entry[ident] = params
    result.append(entry)
  return result


def _CheckKeyVal(opt: str, value: str) -> dict[str, Any]:
  return SplitKeyVal(opt, value)


def _CheckKeyPrivateVal(opt: str, value: str) -> dict[str, Any]:
  return SplitKeyVal(opt, value, False)


def _CheckUnit(opt: str, value: str) -> int:
  from ganeti import paramdefs  # pylint: disable=import-outside-toplevel
  try:
    return paramdefs.ParseUnit(value)
  except errors.UnitParseError as err:
    raise OptionValueError("option %s: %s" % (opt, err)) from None


def ParseBool(value: str) -> bool:
  """yes/true or no/false, as a boolean option value."""
  lowered = value.lower()
  if lowered in ("yes", "true"):
    return True
  if lowered in ("no", "false"):
    return False
  raise errors.ParameterError("Invalid boolean value '%s'" % value)


def _CheckBool(_opt: str, value: str) -> bool:
  return ParseBool(value)


def _CheckList(_opt: str, value: str) -> list[str]:
  return _SplitEscaped(value) if value else []


def _CheckMaybeFloat(opt: str, value: str) -> Optional[float]:
  if value.lower() == "none":
    return None
  try:
    return float(value)
  except ValueError:
    raise OptionValueError("option %s: invalid floating-point value: %r"
                                    % (opt, value)) from None


def _CheckPriority(opt: str, value: str) -> int:
  try:
    return _PRIONAME_TO_VALUE[value]
  except KeyError:
    raise OptionValueError(
      "option %s: invalid choice: %r (choose from %s)"
      % (opt, value, ", ".join(repr(name) for name, _ in PRIORITY_NAMES))) from None


def _CheckJson(opt: str, value: str) -> Any:
  from ganeti import serializer  # pylint: disable=import-outside-toplevel
  try:
    return serializer.LoadJson(value)
  except ValueError as err:
    raise OptionValueError("option %s: invalid JSON: %s" % (opt, err)) from None


def _CheckFilterAction(_opt: str, value: str) -> Any:
  """"RATE_LIMIT n" becomes [RATE_LIMIT, n]; other actions stay as given."""
  parts = value.split()
  if (len(parts) == 2 and parts[0] == constants.JOBQUEUE_FILTER_ACTION_RATE_LIMIT
      and parts[1].isdigit()):
    return [parts[0], int(parts[1])]
  return value


# Ganeti's value types: name -> checker(option string, value) -> parsed value
TYPE_CHECKERS = {
  "identkeyval": _CheckIdentKeyVal,
  "keyval": _CheckKeyVal,
  "keyprivateval": _CheckKeyPrivateVal,
  "multilistidentkeyval": _CheckMultiListIdentKeyVal,
  "unit": _CheckUnit,
  "bool": _CheckBool,
  "list": _CheckList,
  "maybefloat": _CheckMaybeFloat,
  "priority": _CheckPriority,
  "json": _CheckJson,
  "filteraction": _CheckFilterAction,
}

# optparse's actions that store into dest, and those taking a value by default
_STORE_ACTIONS = ("store", "store_const", "store_true", "store_false", "append",
                  "append_const", "count")
_ALWAYS_TYPED_ACTIONS = ("store", "append")


class CliOption:
  """A command-line option: its names and optparse's keywords for it.

  type and dest are completed as optparse completes them (a "store" or
  "append" option takes a string unless it has choices; dest follows the
  first long name), so that both parsers see the same option.  opt_string
  is the name optparse gives it in messages: the first long one, if any.
  """

  def __init__(self, *names: str, **attrs: Any) -> None:
    self.names = names
    self.attrs = attrs
    long_names = [name for name in names if name.startswith("--")]
    self.opt_string = (long_names or list(names))[0]
    self.action: str = attrs.get("action") or "store"
    self.type: Optional[str] = attrs.get("type")
    if self.type is None and self.action in _ALWAYS_TYPED_ACTIONS:
      self.type = "choice" if attrs.get("choices") is not None else "string"
    self.dest: Optional[str] = attrs.get("dest")
    if self.dest is None and (self.action in _STORE_ACTIONS or self.type is not None):
      self.dest = self.opt_string[2:].replace("-", "_") if long_names else names[0][1]

  def __repr__(self) -> str:
    return "<CliOption %s>" % "/".join(self.names)


cli_option = CliOption


def Flag(*names: str, dest: str, help: str, default: Any = False,  # pylint: disable=redefined-builtin
         action: str = "store_true") -> CliOption:
  """A switch without value (by default: dest becomes True when given)."""
  return CliOption(*names, dest=dest, action=action, default=default, help=help)


def _Value(*names: str, dest: str, help: str, default: Any = None,  # pylint: disable=redefined-builtin
           **kwargs: Any) -> CliOption:
  return CliOption(*names, dest=dest, default=default, help=help, **kwargs)


# Present in every command
DEBUG_OPT = Flag("-d", "--debug", dest="debug", default=0, action="count",
                 help="Print more debugging information (repeat for more)")
REASON_OPT = _Value("--reason", dest="reason",
                    help="Why the command is run, recorded in the jobs' reason trail")

# Listings
NOHDR_OPT = Flag("--no-headers", dest="no_headers", help="Omit the header line")
SEP_OPT = _Value("--separator", dest="separator",
                 help="Put this between columns instead of padding them with spaces")
SHOW_MACHINE_OPT = Flag("-M", "--show-machine-names", dest="show_machine_names",
                        help="Prefix every output line with the node's name")
SYNC_OPT = Flag("--sync", dest="do_locking",
                help="Take the nodes' locks, so that the answers are consistent")
FIELDS_OPT = _Value("-o", "--output", dest="output", metavar="FIELDS",
                    help="Fields to show, comma-separated (\"+a,b\" adds to the defaults)")
UNITS_OPT = _Value("--units", dest="units", type="choice", choices=UNITS_CHOICES,
                   help="Unit for sizes: h (human readable), m, g or t")
VERBOSE_OPT = Flag("-v", "--verbose", dest="verbose", default=0, action="count",
                   help="Be more verbose")
FILTER_OPT = Flag("-F", "--filter", dest="force_filter",
                  help="Treat the argument as a query filter expression")
INTERVAL_OPT = _Value("--interval", dest="interval", type="int",
                      help="Repeat the command every this many seconds")
ROMAN_OPT = Flag("--roman", dest="roman_integers",
                 help="Accepted for compatibility (numbers stay decimal)")

# Jobs
DRY_RUN_OPT = Flag("--dry-run", dest="dry_run",
                   help="Only check whether the operation could run, without running it")
PRIORITY_OPT = _Value("--priority", dest="priority", type="priority",
                      metavar="|".join(name for name, _ in PRIORITY_NAMES),
                      help="Job priority")
SUBMIT_OPT = Flag("--submit", dest="submit_only",
                  help="Print the job's ID and return without waiting for the job")
PRINT_JOBID_OPT = Flag("--print-jobid", dest="print_jobid",
                       help="Print the job's ID as the first line of output")
FORCE_OPT = Flag("-f", "--force", dest="force", help="Do not ask for confirmation")
CONFIRM_OPT = Flag("--yes", dest="confirm", help="Answer yes to the confirmation question")
PENDING_OPT = CliOption("--pending", dest="status_filter", action="store_const",
                        const=constants.JOBS_PENDING,
                        help="Only jobs that are queued, waiting or being cancelled")
QUEUED_OPT = CliOption("--queued", dest="status_filter", action="store_const",
                       const=frozenset([constants.JOB_STATUS_QUEUED]),
                       help="Only queued jobs")
WAITING_OPT = CliOption("--waiting", dest="status_filter", action="store_const",
                        const=frozenset([constants.JOB_STATUS_WAITING]),
                        help="Only jobs waiting for locks")

# Tags
TAG_SRC_OPT = _Value("--from", dest="tags_source", help="Read the tags from this file")

# Nodes and groups
NODEGROUP_OPT = _Value("-g", "--node-group", dest="nodegroup", metavar="<nodegroup>",
                       help="Node group (name or UUID)")

# Cluster parameters (gnt-cluster init/modify)
BACKEND_OPT = _Value("-B", "--backend-parameters", dest="beparams", type="keyval",
                     default={}, help="Default instance (backend) parameters")
CP_SIZE_OPT = _Value("-C", "--candidate-pool-size", dest="candidate_pool_size", type="int",
                     help="Number of master candidates to maintain")
MAX_RUNNING_JOBS_OPT = _Value("--max-running-jobs", dest="max_running_jobs", type="int",
                              help="How many jobs may run at the same time")
MAX_TRACKED_JOBS_OPT = _Value("--max-tracked-jobs", dest="max_tracked_jobs", type="int",
                              help="How many jobs the scheduler keeps track of")
INSTALL_IMAGE_OPT = _Value("--install-image", dest="install_image",
                           help="OS image in which OS scripts run")
INSTANCE_COMMUNICATION_NETWORK_OPT = _Value(
  "--instance-communication-network", dest="instance_communication_network",
  help="Network used to talk to instances")
ENABLED_HV_OPT = _Value("--enabled-hypervisors", dest="enabled_hypervisors",
                        help="Hypervisors to enable, comma-separated")
HVLIST_OPT = _Value("-H", "--hypervisor-parameters", dest="hvparams", type="identkeyval",
                    action="append", default=[],
                    help="Hypervisor parameters, as hypervisor:name=value,...")
MAC_PREFIX_OPT = _Value("-m", "--mac-prefix", dest="mac_prefix", metavar="PREFIX",
                        help="Prefix of generated MAC addresses, as XX:XX:XX")
MASTER_NETDEV_OPT = _Value("--master-netdev", dest="master_netdev", metavar="NETDEV",
                           help="Network interface that carries the master IP (default"
                                " at init: %s)" % constants.DEFAULT_BRIDGE)
MASTER_NETMASK_OPT = _Value("--master-netmask", dest="master_netmask", type="int",
                            metavar="NETMASK", help="Netmask (prefix length) of the master IP")
NIC_PARAMS_OPT = _Value("-N", "--nic-parameters", dest="nicparams", type="keyval",
                        default={}, help="Default NIC parameters")
VG_NAME_OPT = _Value("--vg-name", dest="vg_name", metavar="VG",
                     help="LVM volume group for disks (enables LVM) [%s]" % constants.DEFAULT_VG)
MAINTAIN_NODE_HEALTH_OPT = _Value("--maintain-node-health", dest="maintain_node_health",
                                  type="bool", metavar="yes|no",
                                  help="Let the watcher stop unknown instances and DRBD"
                                       " devices on nodes")
UIDPOOL_OPT = _Value("--uid-pool", dest="uid_pool",
                     help="User IDs or ranges (a-b) for instances, comma-separated")
ADD_UIDS_OPT = _Value("--add-uids", dest="add_uids",
                      help="User IDs or ranges to add to the pool")
REMOVE_UIDS_OPT = _Value("--remove-uids", dest="remove_uids",
                         help="User IDs or ranges to remove from the pool")
DRBD_HELPER_OPT = _Value("--drbd-usermode-helper", dest="drbd_helper",
                         help="DRBD usermode helper program")
DEFAULT_IALLOCATOR_OPT = _Value("-I", "--default-iallocator", dest="default_iallocator",
                                metavar="<NAME>", help="Default instance allocator")
DEFAULT_IALLOCATOR_PARAMS_OPT = _Value("--default-iallocator-params",
                                       dest="default_iallocator_params", type="keyval",
                                       help="Parameters of the default allocator")
RESERVED_LVS_OPT = _Value("--reserved-lvs", dest="reserved_lvs",
                          help="Logical volumes cluster verify ignores, comma-separated")
PRIMARY_IP_VERSION_OPT = _Value("--primary-ip-version", dest="primary_ip_version", type="int",
                                default=4, metavar="4|6",
                                help="IP version of the nodes' primary addresses")
PREALLOC_WIPE_DISKS_OPT = _Value("--prealloc-wipe-disks", dest="prealloc_wipe_disks",
                                 type="bool", metavar="yes|no",
                                 help="Wipe new disks before instances get them")
NODE_PARAMS_OPT = _Value("--node-parameters", dest="ndparams", type="keyval",
                         help="Default node parameters")
USE_EXTERNAL_MIP_SCRIPT = _Value("--use-external-mip-script", dest="use_external_mip_script",
                                 type="bool", metavar="yes|no",
                                 help="Use a user-supplied script to set up the master IP")
DISK_PARAMS_OPT = _Value("-D", "--disk-parameters", dest="diskparams", type="identkeyval",
                         action="append", default=[],
                         help="Disk template parameters, as template:name=value,...")
HV_STATE_OPT = _Value("--hypervisor-state", dest="hv_state", type="identkeyval",
                      action="append", default=[],
                      help="Hypervisor state, as hypervisor:name=value,... (not used yet)")
DISK_STATE_OPT = _Value("--disk-state", dest="disk_state", type="identkeyval",
                        action="append", default=[],
                        help="Disk state, as storage/id:name=value,... (not used yet)")
ENABLED_DISK_TEMPLATES_OPT = _Value("--enabled-disk-templates", dest="enabled_disk_templates",
                                    help="Disk templates to enable, comma-separated")
IPOLICY_STD_SPECS_OPT = _Value("--ipolicy-std-specs", dest="ipolicy_std_specs", type="keyval",
                               help="Standard instance specs of the policy")
IPOLICY_BOUNDS_SPECS_OPT = _Value("--ipolicy-bounds-specs", dest="ipolicy_bounds_specs",
                                  type="multilistidentkeyval",
                                  help="Minimum and maximum instance specs of the policy")
IPOLICY_DISK_TEMPLATES = _Value("--ipolicy-disk-templates", dest="ipolicy_disk_templates",
                                type="list", help="Disk templates the policy allows")
IPOLICY_VCPU_RATIO = _Value("--ipolicy-vcpu-ratio", dest="ipolicy_vcpu_ratio",
                            type="maybefloat", help="Highest virtual to physical CPU ratio")
IPOLICY_SPINDLE_RATIO = _Value("--ipolicy-spindle-ratio", dest="ipolicy_spindle_ratio",
                               type="maybefloat", help="Highest instances per spindle ratio")
MODIFY_ETCHOSTS_OPT = _Value("--modify-etc-hosts", dest="modify_etc_hosts", type="bool",
                             metavar="yes|no", help="Whether Ganeti keeps /etc/hosts updated")
ENABLED_USER_SHUTDOWN_OPT = _Value("--user-shutdown", dest="enabled_user_shutdown",
                                   type="bool",
                                   help="Whether instances may be shut down from inside")
GLOBAL_FILEDIR_OPT = _Value("--file-storage-dir", dest="file_storage_dir", metavar="DIR",
                            help="Directory for file-based disks [%s]"
                                 % "/srv/ganeti/file-storage")
GLOBAL_SHARED_FILEDIR_OPT = _Value("--shared-file-storage-dir", dest="shared_file_storage_dir",
                                   metavar="SHAREDDIR",
                                   help="Directory for shared file-based disks [%s]"
                                        % "/srv/ganeti/shared-file-storage")
GLOBAL_GLUSTER_FILEDIR_OPT = _Value("--gluster-storage-dir", dest="gluster_storage_dir",
                                    metavar="GLUSTERDIR",
                                    help="Mount point of Gluster volumes [%s]"
                                         % "/var/run/ganeti/gluster")
ZEROING_IMAGE_OPT = _Value("--zeroing-image", dest="zeroing_image",
                           help="OS image used to zero instance disks")
COMPRESSION_TOOLS_OPT = _Value("--compression-tools", dest="compression_tools", type="list",
                               help="Compression tools Ganeti may use, comma-separated")
ENABLED_DATA_COLLECTORS_OPT = _Value("--enabled-data-collectors",
                                     dest="enabled_data_collectors", type="keyval", default={},
                                     help="Turn data collectors on or off, as name=bool,...")
DATA_COLLECTOR_INTERVAL_OPT = _Value("--data-collector-interval",
                                     dest="data_collector_interval", type="keyval", default={},
                                     help="Collection interval in seconds, as name=seconds,...")
NOETCHOSTS_OPT = Flag("--no-etc-hosts", dest="modify_etc_hosts", default=True,
                      action="store_false", help="Leave /etc/hosts alone")
NOSSH_KEYCHECK_INIT_OPT = Flag("--no-ssh-init", dest="modify_ssh_setup", default=True,
                               action="store_false", help="Do not set up SSH keys")
SECONDARY_IP_OPT = _Value("-s", "--secondary-ip", dest="secondary_ip", metavar="ADDRESS",
                          help="Secondary (replication) IP of this node")
SSH_KEY_BITS_OPT = _Value("--ssh-key-bits", dest="ssh_key_bits", type="int",
                          help="Size of the SSH keys Ganeti generates, in bits")
SSH_KEY_TYPE_OPT = _Value("--ssh-key-type", dest="ssh_key_type", type="choice",
                          choices=["dsa", "ecdsa", "rsa"],
                          help="Type of the SSH keys Ganeti uses")
SPECS_CPU_COUNT_OPT = _Value("--specs-cpu-count", dest="ispecs_cpu_count", type="keyval",
                             default={}, help="CPU count specs, as min=,max=,std=")
SPECS_DISK_COUNT_OPT = _Value("--specs-disk-count", dest="ispecs_disk_count", type="keyval",
                              default={}, help="Disk count specs, as min=,max=,std=")
SPECS_DISK_SIZE_OPT = _Value("--specs-disk-size", dest="ispecs_disk_size", type="keyval",
                             default={}, help="Disk size specs, as min=,max=,std= (MiB or"
                                              " with a unit)")
SPECS_MEM_SIZE_OPT = _Value("--specs-mem-size", dest="ispecs_mem_size", type="keyval",
                            default={}, help="Memory size specs, as min=,max=,std= (MiB or"
                                             " with a unit)")
SPECS_NIC_COUNT_OPT = _Value("--specs-nic-count", dest="ispecs_nic_count", type="keyval",
                             default={}, help="NIC count specs, as min=,max=,std=")


def YesDoItOption(help_text: str, also_ya_rly: bool = True) -> CliOption:
  """The --yes-do-it confirmation of a dangerous command."""
  names = ("--yes-do-it", "--ya-rly") if also_ya_rly else ("--yes-do-it",)
  return Flag(*names, dest="yes_do_it", help=help_text)


COMMON_OPTS = [DEBUG_OPT, REASON_OPT]
SUBMIT_OPTS = [SUBMIT_OPT, PRINT_JOBID_OPT]


# Instances: placement, creation and moves (gnt-instance, and the
# instance-moving commands of gnt-node, gnt-group and gnt-backup)
IALLOCATOR_OPT = _Value("-I", "--iallocator", dest="iallocator", metavar="<NAME>",
                        help="Choose nodes with this allocator (\".\" is the cluster's default)")
NODE_PLACEMENT_OPT = _Value("-n", "--node", dest="node", metavar="<pnode>[:<snode>]",
                            help="Primary node, and secondary node for mirrored templates")
DST_NODE_OPT = _Value("-n", "--target-node", dest="dst_node", metavar="NODE",
                      help="Node to move the instance to (externally mirrored templates)")
OS_OPT = _Value("-o", "--os-type", dest="os", metavar="<os>",
                help="Operating system (definition+variant) of the instance")
FORCE_VARIANT_OPT = Flag("--force-variant", dest="force_variant",
                         help="Accept an OS variant the OS does not declare")
NO_INSTALL_OPT = Flag("--no-install", dest="no_install",
                      help="Leave the OS uninstalled (implies --no-start)")
OSPARAMS_OPT = _Value("-O", "--os-parameters", dest="osparams", type="keyval", default={},
                      help="OS parameters, as name=value,...")
OSPARAMS_PRIVATE_OPT = _Value("--os-parameters-private", dest="osparams_private",
                              type="keyprivateval", default={},
                              help="OS parameters kept out of logs, as name=value,...")
OSPARAMS_SECRET_OPT = _Value("--os-parameters-secret", dest="osparams_secret",
                             type="keyprivateval", default={},
                             help="OS parameters neither logged nor stored (give them to"
                                  " every operation that needs them)")
NET_OPT = _Value("--net", dest="nics", type="identkeyval", action="append", default=[],
                 help="Network interface N, as N:name=value,...")
NONICS_OPT = Flag("--no-nics", dest="no_nics", help="Create the instance without NICs")
DISK_OPT = _Value("--disk", dest="disks", type="identkeyval", action="append", default=[],
                  help="Disk N, as N:size=SIZE,name=value,...")
OS_SIZE_OPT = _Value("-s", "--os-size", dest="sd_size", type="unit", metavar="<size>",
                     help="One disk of this size (MiB unless a unit is given)")
DISK_TEMPLATE_OPT = _Value("-t", "--disk-template", dest="disk_template", metavar="TEMPL",
                           help="Disk template (%s)" % ", ".join(sorted(constants.DISK_TEMPLATES)))
HYPERVISOR_OPT = _Value("-H", "--hypervisor-parameters", dest="hypervisor",
                        type="identkeyval", metavar="HYPERVISOR",
                        help="Hypervisor and its parameters, as hypervisor:name=value,...")
HVOPTS_OPT = _Value("-H", "--hypervisor-parameters", dest="hvparams", type="keyval",
                    default={}, metavar="HVPARAMS", help="Hypervisor parameters, as name=value,...")
NOIPCHECK_OPT = Flag("--no-ip-check", dest="ip_check", default=True, action="store_false",
                     help="Do not check whether the instance's IP address is in use")
NONAMECHECK_OPT = Flag("--no-name-check", dest="name_check", default=True,
                       action="store_false", help="Do not resolve the instance's name")
NOCONFLICTSCHECK_OPT = Flag("--no-conflicts-check", dest="conflicts_check", default=True,
                            action="store_false",
                            help="Do not check IP addresses against the networks")
NOSTART_OPT = Flag("--no-start", dest="start", default=True, action="store_false",
                   help="Leave the new instance stopped")
NWSYNC_OPT = Flag("--no-wait-for-sync", dest="wait_for_sync", default=True,
                  action="store_false", help="Do not wait for the disks to synchronise")
FILESTORE_DIR_OPT = _Value("--file-storage-dir", dest="file_storage_dir", metavar="<DIR>",
                           help="Directory for file disks, relative to the cluster's")
FILESTORE_DRIVER_OPT = _Value("--file-driver", dest="file_driver", type="choice",
                              choices=["loop", "blktap", "blktap2"], metavar="<DRIVER>",
                              help="How the hypervisor accesses file disks")
TAG_ADD_OPT = _Value("--tags", dest="tags", help="Tags of the new object, comma-separated")
IGNORE_IPOLICY_OPT = Flag("--ignore-ipolicy", dest="ignore_ipolicy",
                          help="Go on despite instance policy violations")
OOB_TIMEOUT_OPT = _Value("--oob-timeout", dest="oob_timeout", type="int", default=60,
                         help="Seconds to wait for the out-of-band program")
POWER_DELAY_OPT = _Value("--power-delay", dest="power_delay", type="float", default=2.0,
                         help="Seconds to wait between powering on two nodes")
SHUTDOWN_TIMEOUT_OPT = _Value("--shutdown-timeout", dest="shutdown_timeout", type="int",
                              default=constants.DEFAULT_SHUTDOWN_TIMEOUT,
                              help="Seconds to wait for a clean shutdown before forcing it")
EARLY_RELEASE_OPT = Flag("--early-release", dest="early_release",
                         help="Release old storage and locks before the resync ends")
NONLIVE_OPT = Flag("--non-live", dest="live", default=True, action="store_false",
                   help="Freeze, copy and resume instead of migrating live")
MIGRATION_MODE_OPT = _Value("--migration-mode", dest="migration_mode", type="choice",
                            choices=["live", "non-live"],
                            help="Migration mode (default: the hypervisor's setting)")
NORUNTIME_CHGS_OPT = Flag("--no-runtime-changes", dest="allow_runtime_chgs", default=True,
                          action="store_false",
                          help="Do not change the instance (e.g. its memory) to migrate it")
ALLOW_FAILOVER_OPT = Flag("--allow-failover", dest="allow_failover",
                          help="Fail over when a migration is seen to be impossible")
IGNORE_HVVERSIONS_OPT = Flag("--ignore-hvversions", dest="ignore_hvversions",
                             help="Only warn when the hypervisor versions differ")
OPPORTUNISTIC_LOCKING_OPT = Flag("--opportunistic-locking", dest="opportunistic_locking",
                                 help="Take only the node locks that are free")
INSTANCE_COMMUNICATION_OPT = _Value("-c", "--communication", dest="instance_communication",
                                    type="bool", metavar="yes|no",
                                    help="Give the instance a communication NIC (or remove it)")
COMPRESS_OPT = _Value("--compress", dest="compress", default="none",
                      help="Compression tool for data copied between nodes")
