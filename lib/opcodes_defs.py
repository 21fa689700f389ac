"""The Ganeti 3.0 opcodes as data: parameters, result types, summary fields.

ganeti.opcodes turns this table into classes. Parameter and opcode names,
defaults, value domains and their order are facts of the Ganeti 3.0 interface;
enumerations are listed in the order Ganeti prints them, and each carries the
name luxid uses for it in error messages.

A parameter whose default is None but whose check refuses None is required.
A callable default (list, dict) is called to make a fresh value per opcode.
"""

from ganeti import ht
from ganeti.ht import (TAny, TAnd, TBool, TComment, TDictOf, TElemOf, TExplained, TFloat,
                       TInt, TItems, TIsLength, TListOf, TMaybe, TNone, TNonEmptyString,
                       TNonNegativeInt, TOr, TPositiveInt, TPrivate, TSetOf, TStrictDict,
                       TString, TTupleOf)

# Enumerations (values in Ganeti's order, luxid's name for the type)

PRIORITIES = (0, 10, -10)
EXPORT_MODES = ("local", "remote")
SSH_KEY_TYPES = ("ecdsa", "rsa", "dsa")
HYPERVISORS = ("chroot", "xen-pvm", "lxc", "xen-hvm", "kvm", "fake")
DISK_TEMPLATES = ("drbd", "file", "gluster", "rbd", "ext", "sharedfile", "diskless", "plain",
                  "blockdev")
NIC_PARAMS = ("vlan", "name", "mac", "bridge", "network", "ip", "link", "mode")
ALLOC_POLICIES = ("preferred", "last_resort", "unallocable")
FILE_DRIVERS = ("blktap2", "blktap", "loop")
CREATE_MODES = ("create", "import", "remote-import")
MIGRATION_MODES = ("non-live", "live")
REBOOT_TYPES = ("hard", "soft", "full")
REPLACE_MODES = ("replace_auto", "replace_on_secondary", "replace_on_primary",
                 "replace_new_secondary")
ADMIN_STATE_SOURCES = ("user", "admin")
NETWORK_MODES = ("pool", "routed", "openvswitch", "bridged")
EVAC_MODES = ("primary-only", "secondary-only", "all")
STORAGE_TYPES = ("blockdev", "diskless", "ext", "file", "gluster", "lvm-pv", "lvm-vg", "rados",
                 "sharedfile")
OOB_COMMANDS = ("power-on", "power-off", "health", "power-cycle", "power-status")
QUERY_TYPES = ("filter", "group", "cluster", "network", "job", "extstorage", "os", "node",
               "export", "lock", "instance")
TAG_KINDS = ("cluster", "network", "instance", "node", "nodegroup")
IALLOCATOR_DIRECTIONS = ("in", "out")
IALLOCATOR_MODES = ("change-group", "multi-allocate", "allocate", "allocate-secondary",
                    "relocate", "node-evacuate")
VERIFY_OPTIONAL_CHECKS = ("nplusone_mem",)
VERIFY_ERROR_CODES = (
  "ENODEHOOKS", "ECLUSTERCFG", "ENODERPC", "ECLUSTERDANGLINGNODES", "EINSTANCESPLITGROUPS",
  "ENODEN1", "ENODESETUP", "ECLUSTERCERT", "ENODEFILESTORAGEPATHS", "ENODETIME", "EINSTANCEDOWN",
  "EINSTANCEFAULTYDISK", "ENODEOOBPATH", "ENODEFILESTORAGEPATHUNUSABLE", "ENODEFILECHECK",
  "ENODESHAREDFILESTORAGEPATHUNUSABLE", "EINSTANCEBADNODE", "ECLUSTERDANGLINGINST",
  "ECLUSTERCLIENTCERT", "ENODEDRBDVERSION", "ENODEDRBDHELPER", "ENODEHV", "ENODEORPHANLV",
  "ENODEVERSION", "EEXTAGS", "ENODESSH", "ENODELVM", "EINSTANCEPOLICY", "EGROUPDIFFERENTPVSIZE",
  "EINSTANCEMISSINGDISK", "ENODEGLUSTERSTORAGEPATHUNUSABLE", "ENODEORPHANINSTANCE", "ENODENET",
  "ENODEUSERSCRIPTS", "ECLUSTERFILECHECK", "EINSTANCEWRONGNODE", "ENODEDRBD",
  "EINSTANCEMISSINGCFGPARAMETER", "EINSTANCEUNSUITABLENODE", "EINSTANCELAYOUT", "ENODEOS")
RESULT_STATUSES = (0, 1, 2, 3, 4)
QUERY_FIELD_KINDS = ("number", "timestamp", "unknown", "float", "unit", "other", "bool", "text")
MAX_DISKS = 16

# Recurring value types

_TMaybeBool = TMaybe(TBool)
_TMaybeString = TMaybe(TString)
_TMaybeNES = TMaybe(TNonEmptyString)
_TListNES = TListOf(TNonEmptyString)
_TMaybeListNES = TMaybe(_TListNES)
_TMaybeNonNegative = TMaybe(TNonNegativeInt)
_TMaybePositive = TMaybe(TPositiveInt)
_TDictAny = TDictOf(TAny, TAny)
_TMaybeDictAny = TMaybe(_TDictAny)
_TMaybeListAny = TMaybe(TListOf(TAny))
_TDictOfDicts = TMaybe(TDictOf(TString, _TDictAny))
_TMaybePrivateDict = TMaybe(TDictOf(TAny, TPrivate(TAny)))
_TDiskTemplate = TElemOf(DISK_TEMPLATES, "DiskTemplate")
_THypervisor = TElemOf(HYPERVISORS, "Hypervisor")
_TStorageType = TElemOf(STORAGE_TYPES, "StorageType")
_TTagKind = TElemOf(TAG_KINDS, "TagKind")
_TQueryType = TElemOf(QUERY_TYPES, "QueryTypeOp")
_TDiskParamsByTemplate = TMaybe(TExplained(
  TDictOf(_TDiskTemplate, _TDictAny),
  lambda v: ('Failed to load container, expected object but got %s' % ht.QuoteValue(v)
             if not isinstance(v, dict) else "Invalid disk parameters")))
_TNicParams = TComment(TDictOf(TElemOf(NIC_PARAMS, "INicParams"), _TMaybeString), "NIC parameters")
_TDiskParams = TComment(TDictOf(TNonEmptyString, TOr(TNonEmptyString, TInt)), "Disk parameters")
_TUidRanges = TMaybe(TListOf(TTupleOf(TInt, TInt)))
_TOsChanges = TMaybe(TListOf(TTupleOf(TElemOf(ht.DDM_SIMPLE_ORDERED, "DdmSimple"),
                                      TNonEmptyString)))
_TIPv4 = TAnd(TString, ht.TIPv4Address)
_TVerifyErrors = TSetOf(TElemOf(VERIFY_ERROR_CODES, "CVErrorCode"))
_TSkipChecks = TSetOf(TElemOf(VERIFY_OPTIONAL_CHECKS, "VerifyOptionalChecks"))
_TDiskIndex = TExplained(
  TAnd(TNonNegativeInt, ht.TLessThan(MAX_DISKS)),
  lambda v: ("Invalid value for disk index '%s', required between 0 and %d" % (v, MAX_DISKS)
             if ht.IsInt(v) else "Unable to read Int"))


def _RecreateDisksWhy(value: object) -> str:
  if not isinstance(value, list):
    return "Unable to read list"
  import json
  return ("Can't parse disk information as either list of disk indices or list of disk"
          " parameters; value received:" + json.dumps(value, separators=(",", ":")))


_TRecreateDisks = TExplained(
  TOr(TListOf(TNonNegativeInt),
      TListOf(TAnd(TIsLength(2), TItems([TComment(TNonNegativeInt, "Disk index"),
                                         TComment(_TDiskParams, "Parameters")])))),
  _RecreateDisksWhy)

# Result types

_RJobList = TComment(
  TListOf(TAnd(TIsLength(2), TItems([
    TComment(TBool, "success"),
    TComment(TOr(TString, ht.TJobId), "Job ID if successful, error message otherwise")]))),
  "List of submitted jobs")
_RJobs = TStrictDict([("jobs", _RJobList)])
_RQueryFields = TListOf(TStrictDict([
  ("name", TNonEmptyString), ("title", TNonEmptyString),
  ("kind", TElemOf(QUERY_FIELD_KINDS, "FieldType")), ("doc", TNonEmptyString)]))
_RChanges = TListOf(TTupleOf(TNonEmptyString, TAny))
_RListOfLists = TListOf(TListOf(TAny))

# Parameters every opcode has, in the order they follow the opcode's own ones
COMMON_PARAMS = [
  ("dry_run", None, _TMaybeBool, "Only check whether the operation would succeed"),
  ("debug_level", None, _TMaybeNonNegative, "How much debugging output to produce"),
  ("priority", 0, TElemOf(PRIORITIES, "OpSubmitPriority"),
   "Scheduling priority of the opcode (-10 high, 0 normal, 10 low)"),
  ("depends", None, ht.TJobDependencies,
   "Jobs that must reach one of the given statuses before this one runs"),
  ("comment", None, _TMaybeString, "Free-form note carried along with the opcode"),
  ("reason", list, _TMaybeListAny, "Trail of (source, reason, timestamp) entries"),
]

# Parameters shared by several opcodes: name -> (default, check, doc)
PARAMS = {
  "absolute": (False, TBool, "Whether the amount is the new size rather than an increase"),
  "add_reserved_ips": (None, TMaybe(TListOf(_TIPv4)), "Addresses to mark as reserved"),
  "add_uids": (None, _TUidRanges, "User-id ranges to add to the pool"),
  "admin_state_source": (None, TMaybe(TElemOf(ADMIN_STATE_SOURCES, "AdminStateSource")),
                         "Who asked for the instance's state change"),
  "alloc_policy": (None, TMaybe(TElemOf(ALLOC_POLICIES, "AllocPolicy")),
                   "How eagerly the allocator may place instances in the group"),
  "allow_failover": (False, TBool, "Fall back to failover if migration is impossible"),
  "allow_runtime_changes": (True, TBool, "Allow adjusting runtime resources to migrate"),
  "amount": (None, TNonNegativeInt, "Disk growth in mebibytes"),
  "auto_promote": (False, TBool, "Promote other nodes to master candidates if needed"),
  "beparams": (None, _TMaybeDictAny, "Backend parameters to change"),
  "blacklisted_os": (None, _TOsChanges, "Changes to the list of blacklisted OSes"),
  "candidate_pool_size": (None, _TMaybePositive, "Desired number of master candidates"),
  "changes": (None, _TDictAny, "Storage unit attributes to change"),
  "cleanup": (False, TBool, "Recover from a failed earlier migration instead of migrating"),
  "command": (None, TNonEmptyString, "Restricted command to run"),
  "commit": (False, TBool, "Turn a forthcoming instance into a real one"),
  "compress": ("none", TString, "Compression tool for the data transfer"),
  "compression_tools": (None, _TMaybeListNES, "Compression tools the cluster may use"),
  "conflicts_check": (True, TBool, "Check for IP address conflicts"),
  "count": (1, TNonNegativeInt, "Number of instances to allocate"),
  "data_collector_interval": (None, TMaybe(TDictOf(TString, TInt)),
                              "Collection interval per data collector, in microseconds"),
  "debug": (False, TBool, "Produce debugging output"),
  "debug_simulate_errors": (False, TBool, "Pretend every check failed, to test reporting"),
  "default_iallocator": (None, _TMaybeString, "Allocator used when none is given"),
  "default_iallocator_params": (None, _TMaybeDictAny, "Parameters for the default allocator"),
  "destination_x509_ca": (None, _TMaybeNES, "CA certificate of the export destination"),
  "direction": (None, TElemOf(IALLOCATOR_DIRECTIONS, "IAllocatorTestDir"),
                "Produce the allocator input only, or run the allocator"),
  "disk": (None, _TDiskIndex, "Index of the disk"),
  "disk_state": (None, _TMaybeDictAny, "Disk state as seen by the administrator"),
  "disk_template": (None, TMaybe(_TDiskTemplate), "Disk layout of the instance"),
  "diskparams": (None, _TDiskParamsByTemplate, "Disk parameters per disk template"),
  "drained": (None, _TMaybeBool, "Whether the node accepts no new instances"),
  "drbd_helper": (None, _TMaybeString, "Usermode helper DRBD should call"),
  "duration": (None, TFloat, "Seconds to sleep"),
  "early_release": (False, TBool, "Release locks as soon as possible"),
  "enabled_data_collectors": (None, TMaybe(TDictOf(TString, TBool)),
                              "Which data collectors are active"),
  "enabled_disk_templates": (None, TMaybe(TListOf(_TDiskTemplate)),
                             "Disk templates instances may use"),
  "enabled_hypervisors": (None, TMaybe(TListOf(_THypervisor)), "Hypervisors instances may use"),
  "enabled_user_shutdown": (None, _TMaybeBool, "Whether users may shut instances down"),
  "error_codes": (False, TBool, "Report errors in machine-parseable form"),
  "evac_mode": (None, TMaybe(TElemOf(EVAC_MODES, "EvacMode")), "Which instances to evacuate"),
  "ext_params": (dict, _TDictAny, "Parameters for the external storage provider"),
  "file_driver": (None, TMaybe(TElemOf(FILE_DRIVERS, "FileDriver")),
                  "Driver for file-based disks"),
  "file_storage_dir": (None, _TMaybeNES, "Directory holding file-based disks"),
  "force": (False, TBool, "Go ahead despite warnings"),
  "force_failover": (False, TBool, "Fail instances over even where migration is possible"),
  "force_variant": (False, TBool, "Accept an OS variant not listed as supported"),
  "forthcoming": (False, TBool, "Only reserve resources for the instance"),
  "gateway": (None, TMaybe(_TIPv4), "IPv4 gateway of the network"),
  "gateway6": (None, TMaybe(TAnd(TString, ht.TIPv6Address)), "IPv6 gateway of the network"),
  "gluster_storage_dir": (None, _TMaybeString, "Directory for Gluster-based disks"),
  "group": (None, _TMaybeNES, "Node group to put the node in"),
  "group_name": (None, TNonEmptyString, "Node group to act on"),
  "helper_shutdown_timeout": (None, TMaybe(TInt), "Seconds to wait for the helper VM to stop"),
  "helper_startup_timeout": (None, TMaybe(TInt), "Seconds to wait for the helper VM to start"),
  "hidden_os": (None, _TOsChanges, "Changes to the list of hidden OSes"),
  "hotplug": (False, TBool, "Apply device changes to the running instance"),
  "hotplug_if_possible": (False, TBool, "Hotplug devices if the hypervisor supports it"),
  "hv_state": (None, _TMaybeDictAny, "Hypervisor state as seen by the administrator"),
  "hvparams": (dict, _TDictAny, "Hypervisor parameters to use"),
  "hypervisor": (None, TMaybe(_THypervisor), "Hypervisor running the instance"),
  "iallocator": (None, _TMaybeNES, "Allocator choosing the nodes"),
  "identify_defaults": (False, TBool, "Store values equal to cluster defaults as defaults"),
  "ignore_consistency": (False, TBool, "Proceed even if disks are degraded"),
  "ignore_errors": (list, _TVerifyErrors, "Error codes to report as warnings only"),
  "ignore_failures": (False, TBool, "Carry on despite failures while removing"),
  "ignore_hvversions": (False, TBool, "Migrate despite differing hypervisor versions"),
  "ignore_ipolicy": (False, TBool, "Ignore violations of the instance policy"),
  "ignore_offline_nodes": (False, TBool, "Skip offline nodes instead of failing"),
  "ignore_remove_failures": (False, TBool, "Carry on if removing the instance fails"),
  "ignore_secondaries": (False, TBool, "Ignore errors on the secondary nodes"),
  "ignore_size": (False, TBool, "Do not check disk sizes"),
  "ignore_soft_errors": (None, _TMaybeBool, "Ignore allocator soft errors"),
  "ignore_status": (False, TBool, "Run the command even if the node is marked offline"),
  "install_image": (None, _TMaybeString, "Image for installing OSes in helper VMs"),
  "instance_communication_network": (None, _TMaybeString,
                                     "Network used to talk to instances"),
  "instance_name": (None, TString, "Instance to act on"),
  "instance_uuid": (None, _TMaybeNES, "UUID of the instance, filled in by the master"),
  "instances": (list, _TListNES, "Instances to act on (empty: all)"),
  "interruptible": (False, TBool, "Let the delay be cancelled"),
  "ip_check": (True, TBool, "Check that the instance's IP address is not in use"),
  "ipolicy": (None, _TMaybeDictAny, "Instance policy"),
  "kind": (None, _TTagKind, "Kind of object carrying the tags"),
  "live": (None, _TMaybeBool, "Migrate live (superseded by mode)"),
  "log_messages": (list, TListOf(TString), "Messages to log while running"),
  "long_sleep": (False, TBool, "Allow the instance to be stopped for a long time"),
  "mac_prefix": (None, _TMaybeNES, "Prefix of generated MAC addresses"),
  "maintain_node_health": (None, _TMaybeBool, "Shut down unknown instances on nodes"),
  "master_candidate": (None, _TMaybeBool, "Whether the node is a master candidate"),
  "master_capable": (None, _TMaybeBool, "Whether the node may become master"),
  "master_netdev": (None, _TMaybeString, "Network device carrying the master IP"),
  "master_netmask": (None, _TMaybeNonNegative, "Netmask length of the master IP"),
  "max_running_jobs": (None, _TMaybePositive, "Jobs that may run at the same time"),
  "max_tracked_jobs": (None, _TMaybePositive, "Jobs the scheduler keeps track of"),
  "memory": (None, _TMaybeNonNegative, "Memory in mebibytes"),
  "messages": (None, TAny, "Messages the opcode should log"),
  "modify_etc_hosts": (None, _TMaybeBool, "Whether Ganeti maintains /etc/hosts"),
  "name": (None, TMaybe(TString), "Name of the tagged object (none for the cluster)"),
  "name_check": (True, TBool, "Check that the name resolves"),
  "ndparams": (None, _TMaybeDictAny, "Node parameters"),
  "network": (None, TAnd(TString, ht.TIPv4Network), "IPv4 subnet of the network"),
  "network6": (None, TMaybe(TAnd(TString, ht.TIPv6Network)), "IPv6 subnet of the network"),
  "network_link": (None, TNonEmptyString, "Link (bridge or routing table) for the network"),
  "network_mode": (None, TElemOf(NETWORK_MODES, "NICMode"), "How instances attach to the network"),
  "network_name": (None, TNonEmptyString, "Network to act on"),
  "network_vlan": ("", TString, "VLAN of the network in this group"),
  "new_name": (None, TNonEmptyString, "New name"),
  "nicparams": (None, TMaybe(_TNicParams), "Default NIC parameters"),
  "no_locks": (True, TBool, "Do not take any locks while sleeping"),
  "no_remember": (False, TBool, "Do not record the new state in the configuration"),
  "node_certificates": (False, TBool, "Renew the node certificates"),
  "node_name": (None, TNonEmptyString, "Node to act on"),
  "node_setup": (False, TBool, "Set up SSH keys and daemons on the new node"),
  "node_uuid": (None, _TMaybeNES, "UUID of the node, filled in by the master"),
  "node_uuids": (None, _TMaybeListNES, "UUIDs of the nodes, filled in by the master"),
  "nodes": (list, _TListNES, "Nodes to act on (empty: all)"),
  "notify_exec": (False, TBool, "Report when the opcode starts running"),
  "notify_waitlock": (False, TBool, "Report when the opcode waits for locks"),
  "offline": (None, _TMaybeBool, "Whether the node or instance is offline"),
  "on_master": (True, TBool, "Sleep on the master node"),
  "on_node_uuids": (None, _TMaybeListNES, "UUIDs of the nodes to sleep on"),
  "on_nodes": (list, _TListNES, "Nodes to sleep on"),
  "opportunistic_locking": (False, TBool, "Only use nodes whose locks are free"),
  "os_name": (None, _TMaybeNES, "Operating system to switch to"),
  "os_type": (None, _TMaybeNES, "Operating system to install"),
  "osparams": (dict, _TDictAny, "OS parameters"),
  "osparams_private": (None, _TMaybePrivateDict, "OS parameters kept out of logs"),
  "osparams_secret": (None, _TMaybePrivateDict, "OS parameters that are never stored"),
  "output_fields": (None, _TListNES, "Fields to return"),
  "pattern": (None, TNonEmptyString, "Regular expression to look for in tags"),
  "pnode": (None, _TMaybeNES, "Primary node"),
  "pnode_uuid": (None, _TMaybeNES, "UUID of the primary node"),
  "power_delay": (2.0, TFloat, "Seconds to wait between powering on nodes"),
  "powered": (None, _TMaybeBool, "Whether the node is powered on"),
  "prealloc_wipe_disks": (None, _TMaybeBool, "Wipe disks before first use"),
  "primary_ip": (None, _TMaybeNES, "Primary IP address of the node"),
  "qfilter": (None, _TMaybeListAny, "Query filter"),
  "readd": (False, TBool, "Re-add a node that was part of the cluster"),
  "remote_node": (None, _TMaybeNES, "New secondary node"),
  "remote_node_uuid": (None, _TMaybeNES, "UUID of the new secondary node"),
  "remove_instance": (False, TBool, "Remove the instance after exporting it"),
  "remove_reserved_ips": (None, TMaybe(TListOf(_TIPv4)), "Addresses to release"),
  "remove_uids": (None, _TUidRanges, "User-id ranges to remove from the pool"),
  "renew_ssh_keys": (False, TBool, "Renew the SSH keys of the cluster"),
  "repeat": (0, TNonNegativeInt, "How many times to repeat the delay"),
  "reserved_lvs": (None, _TMaybeListNES, "Logical volumes cluster verify ignores"),
  "result": (None, TAny, "Result the opcode should return"),
  "runtime_mem": (None, _TMaybePositive, "Memory to give the running instance, in mebibytes"),
  "secondary_ip": (None, _TMaybeNES, "Secondary (replication) IP address"),
  "sequential": (False, TBool, "Evacuate one instance after another"),
  "shared_file_storage_dir": (None, _TMaybeString, "Directory for shared-file disks"),
  "shutdown": (True, TBool, "Shut the instance down first"),
  "shutdown_timeout": (120, TNonNegativeInt, "Seconds to wait for a clean shutdown"),
  "skip_checks": (list, _TSkipChecks, "Optional checks to skip"),
  "snode": (None, _TMaybeNES, "Secondary node"),
  "snode_uuid": (None, _TMaybeNES, "UUID of the secondary node"),
  "source_handshake": (None, _TMaybeListAny, "Handshake from the source cluster"),
  "source_instance_name": (None, _TMaybeNES, "Name of the instance on the source cluster"),
  "source_shutdown_timeout": (120, TNonNegativeInt,
                              "Seconds to wait for the source instance to stop"),
  "source_x509_ca": (None, _TMaybeNES, "CA certificate of the source cluster"),
  "spindle_use": (1, TNonNegativeInt, "Spindles the instance uses"),
  "src_node": (None, _TMaybeNES, "Node holding the export to import"),
  "src_node_uuid": (None, _TMaybeNES, "UUID of the node holding the export"),
  "src_path": (None, _TMaybeNES, "Path of the export to import"),
  "ssh_key_bits": (None, _TMaybePositive, "Length of new SSH keys"),
  "ssh_key_type": (None, TMaybe(TElemOf(SSH_KEY_TYPES, "SshKeyType")), "Type of new SSH keys"),
  "start": (True, TBool, "Start the instance after creating it"),
  "startup_paused": (False, TBool, "Start the instance paused"),
  "static": (False, TBool, "Use only configuration data, not live state"),
  "storage_type": (None, _TStorageType, "Kind of storage"),
  "submit_jobs": (None, TAny, "Jobs the opcode should submit"),
  "tags": (list, _TListNES, "Tags to set on the new object"),
  "target_groups": (None, _TMaybeListNES, "Groups allowed as destinations"),
  "target_node": (None, _TMaybeNES, "Destination node"),
  "target_node_uuid": (None, _TMaybeNES, "UUID of the destination node"),
  "uid_pool": (None, _TUidRanges, "User-id ranges available to instances"),
  "use_external_mip_script": (None, _TMaybeBool, "Use a custom master IP script"),
  "use_locking": (False, TBool, "Acquire locks for consistent data"),
  "verbose": (False, TBool, "Report more details"),
  "verify_clutter": (False, TBool, "Look for files Ganeti does not know about"),
  "vg_name": (None, _TMaybeString, "Volume group for new logical volumes"),
  "vm_capable": (None, _TMaybeBool, "Whether the node may run instances"),
  "wait_for_sync": (True, TBool, "Wait until the disks are synchronised"),
  "what": (None, _TQueryType, "Kind of object to query"),
  "x509_key_name": (None, _TMaybeListAny, "Key name and signature for a remote export"),
  "zero_free_space": (False, TBool, "Zero free disk space before exporting"),
  "zeroing_image": (None, _TMaybeString, "Image for zeroing free space"),
  "zeroing_timeout_fixed": (None, TMaybe(TInt), "Fixed part of the zeroing timeout"),
  "zeroing_timeout_per_mib": (None, TMaybe(TFloat), "Zeroing timeout per mebibyte"),
}


def _P(name: str, default: object, check: ht.Check, doc: str) -> tuple:
  """A parameter that differs from the shared definition of its name."""
  return (name, default, check, doc)


_MIGRATION_MODE = _P("mode", None, TMaybe(TElemOf(MIGRATION_MODES, "MigrationMode")),
                     "Live or non-live migration")
_STORAGE_UNIT = _P("name", None, _TMaybeNES, "Storage unit to act on")
_TAG_LIST = _P("tags", None, TListOf(TString), "Tags to add or remove")

# OP_ID -> (summary field, result check, parameters). A parameter is a name from PARAMS
# or a full (name, default, check, doc) tuple. Order is Ganeti's.
OPCODES = {
  "OP_BACKUP_EXPORT": ("instance_name", TTupleOf(TBool, TListOf(TBool)), [
    "instance_name", "instance_uuid", "compress", "shutdown_timeout",
    _P("target_node", None, TOr(TNonEmptyString, ht.TList),
       "Destination node, or the remote import information"),
    "target_node_uuid", "shutdown", "remove_instance", "ignore_remove_failures",
    _P("mode", "local", TElemOf(EXPORT_MODES, "ExportMode"),
       "Export locally or to another cluster"),
    "x509_key_name", "destination_x509_ca", "zero_free_space", "zeroing_timeout_fixed",
    "zeroing_timeout_per_mib", "long_sleep"]),
  "OP_BACKUP_PREPARE": ("instance_name", _TMaybeDictAny, [
    "instance_name", "instance_uuid",
    _P("mode", None, TElemOf(EXPORT_MODES, "ExportMode"), "Export locally or to another cluster")]),
  "OP_BACKUP_REMOVE": ("instance_name", TNone, ["instance_name", "instance_uuid"]),
  "OP_CLUSTER_ACTIVATE_MASTER_IP": (None, TNone, []),
  "OP_CLUSTER_CONFIG_QUERY": (None, TListOf(TAny), ["output_fields"]),
  "OP_CLUSTER_DEACTIVATE_MASTER_IP": (None, TNone, []),
  "OP_CLUSTER_DESTROY": (None, TNonEmptyString, []),
  "OP_CLUSTER_POST_INIT": (None, TBool, []),
  "OP_CLUSTER_QUERY": (None, _TDictAny, []),
  "OP_CLUSTER_REDIST_CONF": (None, TNone, []),
  "OP_CLUSTER_RENAME": ("name", TNonEmptyString, [
    _P("name", None, TNonEmptyString, "New cluster name")]),
  "OP_CLUSTER_RENEW_CRYPTO": (None, TNone, [
    "node_certificates", "renew_ssh_keys", "ssh_key_type", "ssh_key_bits", "verbose", "debug"]),
  "OP_CLUSTER_REPAIR_DISK_SIZES": (None, TListOf(TTupleOf(
      TNonEmptyString, TNonNegativeInt, TNonEmptyString, TNonNegativeInt)), ["instances"]),
  "OP_CLUSTER_SET_PARAMS": (None, TMaybe(_RJobs), [
    "force", "hv_state", "disk_state", "vg_name", "enabled_hypervisors",
    _P("hvparams", None, _TDictOfDicts, "Hypervisor parameters per hypervisor"),
    "beparams",
    _P("os_hvp", None, _TDictOfDicts, "Hypervisor parameters per OS"),
    _P("osparams", None, _TDictOfDicts, "OS parameters per OS"),
    _P("osparams_private_cluster", None,
       TMaybe(TDictOf(TString, TDictOf(TAny, TPrivate(TAny)))),
       "Private OS parameters per OS"),
    "diskparams", "candidate_pool_size", "max_running_jobs", "max_tracked_jobs", "uid_pool",
    "add_uids", "remove_uids", "maintain_node_health", "prealloc_wipe_disks", "nicparams",
    "ndparams", "ipolicy", "drbd_helper", "default_iallocator", "default_iallocator_params",
    "mac_prefix", "master_netdev", "master_netmask", "reserved_lvs", "hidden_os",
    "blacklisted_os", "use_external_mip_script", "enabled_disk_templates", "modify_etc_hosts",
    _P("file_storage_dir", None, _TMaybeString, "Directory for file-based disks"),
    "shared_file_storage_dir", "gluster_storage_dir", "install_image",
    "instance_communication_network", "zeroing_image", "compression_tools",
    "enabled_user_shutdown", "enabled_data_collectors", "data_collector_interval"]),
  "OP_CLUSTER_VERIFY": (None, _RJobs, [
    "debug_simulate_errors", "error_codes", "skip_checks", "ignore_errors", "verbose",
    _P("group_name", None, _TMaybeNES, "Only verify this node group"), "verify_clutter"]),
  "OP_CLUSTER_VERIFY_CONFIG": (None, TBool, [
    "debug_simulate_errors", "error_codes", "ignore_errors", "verbose"]),
  "OP_CLUSTER_VERIFY_DISKS": (None, _RJobs, [
    _P("group_name", None, _TMaybeNES, "Only verify this node group")]),
  "OP_CLUSTER_VERIFY_GROUP": ("group_name", TBool, [
    "group_name", "debug_simulate_errors", "error_codes", "skip_checks", "ignore_errors",
    "verbose", "verify_clutter"]),
  "OP_EXT_STORAGE_DIAGNOSE": (None, _RListOfLists, [
    "output_fields", _P("names", list, _TListNES, "Providers to report on (empty: all)")]),
  "OP_GROUP_ADD": ("group_name", TMaybe(_RJobs), [
    "group_name", "alloc_policy", "ndparams", "diskparams", "hv_state", "disk_state",
    "ipolicy"]),
  "OP_GROUP_ASSIGN_NODES": ("group_name", TNone, [
    "group_name", "force", _P("nodes", None, _TListNES, "Nodes to move into the group"),
    "node_uuids"]),
  "OP_GROUP_EVACUATE": ("group_name", _RJobs, [
    "group_name", "early_release", "iallocator", "target_groups", "sequential",
    "force_failover"]),
  "OP_GROUP_REMOVE": ("group_name", TNone, ["group_name"]),
  "OP_GROUP_RENAME": (None, TNonEmptyString, ["group_name", "new_name"]),
  "OP_GROUP_SET_PARAMS": ("group_name", _RChanges, [
    "group_name", "alloc_policy", "ndparams", "diskparams", "hv_state", "disk_state",
    "ipolicy"]),
  "OP_GROUP_VERIFY_DISKS": ("group_name", TTupleOf(
      TDictOf(TString, TString), TListOf(TString),
      TDictOf(TString, TListOf(TListOf(TString)))), ["group_name"]),
  "OP_INSTANCE_ACTIVATE_DISKS": ("instance_name", TListOf(TTupleOf(
      TNonEmptyString, TNonEmptyString, _TMaybeNES)), [
    "instance_name", "instance_uuid", "ignore_size",
    _P("wait_for_sync", False, TBool, "Wait until the disks are synchronised")]),
  "OP_INSTANCE_CHANGE_GROUP": ("instance_name", _RJobs, [
    "instance_name", "instance_uuid", "early_release", "iallocator", "target_groups"]),
  "OP_INSTANCE_CONSOLE": ("instance_name", _TDictAny, ["instance_name", "instance_uuid"]),
  "OP_INSTANCE_CREATE": ("instance_name", _TListNES, [
    "instance_name", "force_variant", "wait_for_sync", "name_check", "ignore_ipolicy",
    "opportunistic_locking",
    _P("beparams", dict, _TDictAny, "Backend parameters"),
    _P("disks", None, TListOf(_TDiskParams), "Disks, one parameter dictionary each"),
    "disk_template",
    _P("group_name", None, _TMaybeNES, "Node group to place the instance in"),
    "file_driver", "file_storage_dir", "hvparams", "hypervisor", "iallocator",
    "identify_defaults", "ip_check", "conflicts_check",
    _P("mode", None, TElemOf(CREATE_MODES, "InstCreateMode"),
       "Create from scratch, from an export, or from another cluster"),
    _P("nics", None, TListOf(_TNicParams), "Network interfaces, one parameter dictionary each"),
    _P("no_install", None, _TMaybeBool, "Do not install the OS"),
    "osparams", "osparams_private", "osparams_secret", "os_type", "pnode", "pnode_uuid",
    "snode", "snode_uuid", "source_handshake", "source_instance_name",
    "source_shutdown_timeout", "source_x509_ca", "src_node", "src_node_uuid", "src_path",
    "compress", "start", "forthcoming", "commit", "tags",
    _P("instance_communication", False, TBool, "Give the instance a communication NIC"),
    "helper_startup_timeout", "helper_shutdown_timeout"]),
  "OP_INSTANCE_DEACTIVATE_DISKS": ("instance_name", TNone, [
    "instance_name", "instance_uuid", "force"]),
  "OP_INSTANCE_FAILOVER": ("instance_name", TNone, [
    "instance_name", "instance_uuid", "shutdown_timeout", "ignore_consistency", "target_node",
    "target_node_uuid", "ignore_ipolicy", "cleanup", "iallocator"]),
  "OP_INSTANCE_GROW_DISK": ("instance_name", TNone, [
    "instance_name", "instance_uuid", "wait_for_sync", "disk", "amount", "absolute",
    "ignore_ipolicy"]),
  "OP_INSTANCE_MIGRATE": ("instance_name", TNone, [
    "instance_name", "instance_uuid", _MIGRATION_MODE, "live",
    "target_node", "target_node_uuid", "allow_runtime_changes", "ignore_ipolicy", "cleanup",
    "iallocator", "allow_failover", "ignore_hvversions"]),
  "OP_INSTANCE_MOVE": ("instance_name", TNone, [
    "instance_name", "instance_uuid", "shutdown_timeout", "ignore_ipolicy",
    _P("target_node", None, TNonEmptyString, "Destination node"),
    "target_node_uuid", "compress", "ignore_consistency"]),
  "OP_INSTANCE_MULTI_ALLOC": (None, TStrictDict([
      ("jobs", _RJobList), ("allocatable", _TListNES), ("failed", _TListNES)]), [
    "opportunistic_locking", "iallocator",
    _P("instances", list, TListOf(TAny), "Instance creation opcodes to allocate together")]),
  "OP_INSTANCE_QUERY_DATA": (None, TDictOf(TAny, _TDictAny), [
    "use_locking", "instances", "static"]),
  "OP_INSTANCE_REBOOT": ("instance_name", TNone, [
    "instance_name", "instance_uuid", "shutdown_timeout", "ignore_secondaries",
    _P("reboot_type", None, TElemOf(REBOOT_TYPES, "RebootType"), "How to reboot")]),
  "OP_INSTANCE_RECREATE_DISKS": ("instance_name", TNone, [
    "instance_name", "instance_uuid",
    _P("disks", list, _TRecreateDisks, "Disks to recreate (empty: all), optionally with changes"),
    _P("nodes", list, _TListNES, "Nodes to place the disks on"),
    "node_uuids", "iallocator"]),
  "OP_INSTANCE_REINSTALL": ("instance_name", TNone, [
    "instance_name", "instance_uuid", "force_variant", "os_type",
    _P("osparams", None, _TMaybeDictAny, "OS parameters"),
    "osparams_private", "osparams_secret"]),
  "OP_INSTANCE_REMOVE": ("instance_name", TNone, [
    "instance_name", "instance_uuid", "shutdown_timeout", "ignore_failures"]),
  "OP_INSTANCE_RENAME": (None, TNonEmptyString, [
    "instance_name", "instance_uuid", "new_name", "name_check", "ip_check"]),
  "OP_INSTANCE_REPLACE_DISKS": ("instance_name", TNone, [
    "instance_name", "instance_uuid", "early_release", "ignore_ipolicy",
    _P("mode", None, TElemOf(REPLACE_MODES, "ReplaceDisksMode"), "Which disks to replace"),
    _P("disks", list, TListOf(_TDiskIndex), "Disk indices to replace (empty: all)"),
    "remote_node", "remote_node_uuid", "iallocator"]),
  "OP_INSTANCE_SET_PARAMS": ("instance_name", _RChanges, [
    "instance_name", "instance_uuid", "force", "force_variant", "ignore_ipolicy",
    _P("nics", list, ht.TSetParamsMods(_TNicParams), "Network interface changes"),
    _P("disks", list, ht.TSetParamsMods(_TDiskParams), "Disk changes"),
    _P("beparams", dict, _TDictAny, "Backend parameters to change"),
    "runtime_mem",
    _P("hvparams", dict, _TDictAny, "Hypervisor parameters to change"),
    _P("disk_template", None, TMaybe(_TDiskTemplate), "Disk template to convert to"),
    "ext_params", "file_driver", "file_storage_dir", "pnode", "pnode_uuid", "remote_node",
    "remote_node_uuid", "iallocator", "os_name", "osparams", "osparams_private",
    "wait_for_sync", "offline", "conflicts_check", "hotplug", "hotplug_if_possible",
    _P("instance_communication", None, _TMaybeBool, "Add or remove the communication NIC")]),
  "OP_INSTANCE_SHUTDOWN": ("instance_name", TNone, [
    "instance_name", "instance_uuid", "force", "ignore_offline_nodes",
    _P("timeout", 120, TNonNegativeInt, "Seconds to wait for a clean shutdown"),
    "no_remember", "admin_state_source"]),
  "OP_INSTANCE_STARTUP": ("instance_name", TNone, [
    "instance_name", "instance_uuid", "force", "ignore_offline_nodes", "hvparams",
    _P("beparams", dict, _TDictAny, "Backend parameters for this start only"),
    "no_remember", "startup_paused", "shutdown_timeout"]),
  "OP_NETWORK_ADD": ("network_name", TNone, [
    "network_name", "network", "gateway", "network6", "gateway6", "mac_prefix",
    "add_reserved_ips", "conflicts_check",
    _P("tags", list, _TListNES, "Tags of the new network")]),
  "OP_NETWORK_CONNECT": ("network_name", TNone, [
    "group_name", "network_name", "network_mode", "network_link", "network_vlan",
    "conflicts_check"]),
  "OP_NETWORK_DISCONNECT": ("network_name", TNone, ["group_name", "network_name"]),
  "OP_NETWORK_REMOVE": ("network_name", TNone, ["network_name", "force"]),
  "OP_NETWORK_SET_PARAMS": ("network_name", TNone, [
    "network_name", "gateway", "network6", "gateway6", "mac_prefix", "add_reserved_ips",
    "remove_reserved_ips"]),
  "OP_NODE_ADD": ("node_name", TNone, [
    "node_name", "hv_state", "disk_state", "primary_ip", "secondary_ip", "readd", "group",
    "master_capable", "vm_capable", "ndparams", "node_setup"]),
  "OP_NODE_EVACUATE": ("node_name", _RJobs, [
    "early_release", "node_name", "node_uuid", "remote_node", "remote_node_uuid", "iallocator",
    _P("mode", None, TElemOf(EVAC_MODES, "EvacMode"), "Which instances to move away"),
    "ignore_soft_errors"]),
  "OP_NODE_MIGRATE": ("node_name", _RJobs, [
    "node_name", "node_uuid", _MIGRATION_MODE, "live", "target_node",
    "target_node_uuid", "allow_runtime_changes", "ignore_ipolicy", "iallocator"]),
  "OP_NODE_MODIFY_STORAGE": ("node_name", TNone, [
    "node_name", "node_uuid", "storage_type", _STORAGE_UNIT, "changes"]),
  "OP_NODE_POWERCYCLE": ("node_name", _TMaybeNES, ["node_name", "node_uuid", "force"]),
  "OP_NODE_QUERYVOLS": (None, TListOf(TAny), ["output_fields", "nodes"]),
  "OP_NODE_QUERY_STORAGE": (None, _RListOfLists, [
    "output_fields", _P("storage_type", None, TMaybe(_TStorageType), "Kind of storage to list"),
    "nodes", _STORAGE_UNIT]),
  "OP_NODE_REMOVE": ("node_name", TNone, ["node_name", "node_uuid"]),
  "OP_NODE_SET_PARAMS": ("node_name", _RChanges, [
    "node_name", "node_uuid", "force", "hv_state", "disk_state", "master_candidate", "offline",
    "drained", "auto_promote", "master_capable", "vm_capable", "secondary_ip", "ndparams",
    "powered"]),
  "OP_OOB_COMMAND": (None, TListOf(TListOf(TTupleOf(TElemOf(RESULT_STATUSES, "ResultStatus"),
                                                     TAny))), [
    _P("node_names", list, _TListNES, "Nodes to run the command on"), "node_uuids",
    _P("command", None, TElemOf(OOB_COMMANDS, "OobCommand"), "Out-of-band command to run"),
    _P("timeout", 60, TInt, "Seconds to wait for the command"),
    "ignore_status", "power_delay"]),
  "OP_OS_DIAGNOSE": (None, _RListOfLists, [
    "output_fields", _P("names", list, _TListNES, "OSes to report on (empty: all)")]),
  "OP_QUERY": ("what", TStrictDict([
      ("fields", _RQueryFields),
      ("data", TListOf(TListOf(TAnd(TIsLength(2), TItems([
        TElemOf(RESULT_STATUSES, "ResultStatus"), TAny])))))]), [
    "what", "use_locking", _P("fields", None, _TListNES, "Fields to return"), "qfilter"]),
  "OP_QUERY_FIELDS": ("what", TStrictDict([("fields", _RQueryFields)]), [
    "what", _P("fields", None, _TMaybeListNES, "Fields to describe (none: all)")]),
  "OP_REPAIR_NODE_STORAGE": ("node_name", TNone, [
    "node_name", "node_uuid", "storage_type", _STORAGE_UNIT, "ignore_consistency"]),
  "OP_RESTRICTED_COMMAND": (None, TListOf(TTupleOf(TBool, TString)), [
    "use_locking", _P("nodes", None, _TListNES, "Nodes to run the command on"), "node_uuids",
    "command"]),
  "OP_TAGS_DEL": (None, TNone, ["kind", _TAG_LIST, "name"]),
  # luxid summarises OP_TAGS_GET by the kind of object, e.g. TAGS_GET(TagKindNode)
  "OP_TAGS_GET": ("kind", _TListNES, ["kind", "use_locking", "name"]),
  "OP_TAGS_SEARCH": ("pattern", TListOf(TTupleOf(TNonEmptyString, TNonEmptyString)), [
    "pattern"]),
  "OP_TAGS_SET": (None, TNone, ["kind", _TAG_LIST, "name"]),
  "OP_TEST_ALLOCATOR": ("iallocator", TString, [
    "direction",
    _P("mode", None, TElemOf(IALLOCATOR_MODES, "IAllocatorMode"), "Kind of allocator request"),
    _P("name", None, TNonEmptyString, "Instance the request is about"),
    _P("nics", None, TMaybe(TListOf(_TNicParams)), "Network interfaces of the instance"),
    _P("disks", None, _TMaybeListAny, "Disks of the instance"),
    "hypervisor", "iallocator", _P("tags", list, _TListNES, "Tags of the instance"),
    "memory", _P("vcpus", None, _TMaybeNonNegative, "Number of virtual CPUs"),
    _P("os", None, _TMaybeNES, "Operating system of the instance"),
    "disk_template",
    _P("instances", None, _TMaybeListNES, "Instances involved in the request"),
    "evac_mode", "target_groups", "spindle_use", "count",
    _P("group_name", None, _TMaybeNES, "Target node group")]),
  "OP_TEST_DELAY": ("duration", TNone, [
    "duration", "on_master", "on_nodes", "on_node_uuids", "repeat", "interruptible",
    "no_locks"]),
  "OP_TEST_DUMMY": (None, TNone, [
    "result", "messages", _P("fail", None, TAny, "Whether (and how) to fail"), "submit_jobs"]),
  "OP_TEST_JQUEUE": (None, TBool, [
    "notify_waitlock", "notify_exec", "log_messages",
    _P("fail", False, TBool, "Whether the opcode should fail")]),
  "OP_TEST_OS_PARAMS": (None, TNone, ["osparams_secret"]),
}

# Opcodes that are not executed by a logical unit
WITHOUT_LU = frozenset(["OP_TEST_DUMMY"])
