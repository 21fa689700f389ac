"""Every RPC call the master (or any node) can make to node daemons, as data.

A call is named after the node daemon's handler (backend.HANDLERS) and is
sent to one node (SINGLE: `call_x(node, ...)` returns one RpcResult) or to a
list of nodes (MULTI: returns {node: RpcResult}).  Its arguments travel in
order, each encoded by its kind (None: as given, already JSON-able); the
encoders live in rpc.client.  A post-processing kind says how a successful
payload is turned back into objects.
"""

import dataclasses
from typing import Callable, Optional, Union

SINGLE = "single-node"
MULTI = "multi-node"

# Timeout classes, seconds (Ganeti's RPC_TMO_*)
TMO_URGENT = 60
TMO_FAST = 5 * 60
TMO_NORMAL = 15 * 60
TMO_SLOW = 3600
TMO_4HRS = 4 * 3600
TMO_1DAY = 86400
CONNECT_TIMEOUT = 5

# Not a handler: the node daemon answers several calls for one node, in order,
# in one request (see rpc.transport); its body is the JSON list of [call name,
# call body text], its answer the list of [HTTP status, answer text].
BATCH_CALL = "batch"


def TMO_DELAY(args: tuple) -> int:  # pylint: disable=invalid-name
  """test_delay waits as long as it was asked to, plus a margin."""
  return int(args[0]) + 5


# Argument encodings (Ganeti's ED_* kinds)
OBJECT_DICT = "object-dict"                     # obj.ToDict()
OBJECT_DICT_LIST = "object-dict-list"           # [obj.ToDict(), ...]
INST_DICT = "inst-dict"                         # instance with filled parameters and disks
INST_DICT_HVP_BEP_DP = "inst-dict-hvp-bep-dp"   # (instance, hvparams, beparams) overrides
INST_DICT_OSP_DP = "inst-dict-osp-dp"           # (instance, osparams) overrides
NODE_TO_DISK_DICT_DP = "node-to-disk-dict-dp"   # {node: [(disk, instance)]}, each node its own
IMPEXP_IO = "impexp-io"                         # (io kind, io arguments)
FILE_DETAILS = "file-details"                   # a local path: content, mode, owner, times
FINALIZE_EXPORT_DISKS = "finalize-export-disks"  # [False | disk]
COMPRESS = "compress"                           # bytes/str -> encoding.Compress
BLOCKDEV_RENAME = "blockdev-rename"             # [(disk, new unique id)]
DISKS_DICT_DP = "disks-dict-dp"                 # (disks, instance)
MULTI_DISKS_DICT_DP = "multi-disks-dict-dp"     # [(disk, instance)]
SINGLE_DISK_DICT_DP = "single-disk-dict-dp"     # (disk, instance)
NIC_DICT = "nic-dict"                           # a NIC object
DEVICE_DICT = "device-dict"                     # (NIC or disk, instance)

# Result post-processing kinds: objects class, and where in the payload it is
BLOCKDEV_STATUS = ("BlockDevStatus", "single")
BLOCKDEV_STATUS_LIST = ("BlockDevStatus", "list")
BLOCKDEV_STATUS_PAIRS = ("BlockDevStatus", "pairs")   # [(success, status or message)]
IMPEXP_STATUS_LIST = ("ImportExportStatus", "list")
MIGRATION_STATUS = ("MigrationStatus", "single")

# Runner families, as Ganeti groups its calls (informational: every runner
# offers every call)
DEFAULT = "default"
BOOTSTRAP = "bootstrap"
DNS_ONLY = "dns-only"
CONFIG = "config"
JOB_QUEUE = "job-queue"

Timeout = Union[int, Callable[[tuple], int]]


@dataclasses.dataclass(frozen=True)
class CallDef:
  """One RPC call: its name, target kind, timeout and arguments."""
  name: str
  target: str
  timeout: Timeout
  args: tuple[str, ...]
  encodings: tuple[Optional[str], ...]
  post: Optional[tuple[str, str]] = None
  family: str = DEFAULT
  # only looks at the node's state: an opcode may make it before its start
  # is durable (see firstchange)
  query: bool = False

  @property
  def multi(self) -> bool:
    return self.target == MULTI

  def GetTimeout(self, args: tuple) -> int:
    return self.timeout(args) if callable(self.timeout) else self.timeout


def _Call(name: str, target: str, timeout: Timeout, args: list,
          post: Optional[tuple[str, str]] = None, family: str = DEFAULT,
          query: bool = False) -> CallDef:
  """args items are a name (sent as given) or (name, encoding)."""
  pairs = [(arg, None) if isinstance(arg, str) else arg for arg in args]
  return CallDef(name, target, timeout, tuple(name for name, _ in pairs),
                 tuple(kind for _, kind in pairs), post, family, query)


_CALL_LIST = [
  _Call("accept_instance", SINGLE, TMO_NORMAL, [("instance", INST_DICT), "info", "target"]),
  _Call("all_instances_info", MULTI, TMO_URGENT, ["hypervisor_list", "all_hvparams"], query=True),
  _Call("bdev_sizes", MULTI, TMO_URGENT, ["devices"], query=True),
  _Call("blockdev_addchildren", SINGLE, TMO_NORMAL, [("bdev", SINGLE_DISK_DICT_DP),
                                                     ("ndevs", DISKS_DICT_DP)]),
  _Call("blockdev_assemble", SINGLE, TMO_NORMAL, [("disk", SINGLE_DISK_DICT_DP),
                                                  ("instance", INST_DICT), "on_primary", "idx"]),
  _Call("blockdev_close", SINGLE, TMO_NORMAL, ["instance_name", ("disks", DISKS_DICT_DP)]),
  _Call("blockdev_convert", SINGLE, TMO_SLOW, [("bdev_src", SINGLE_DISK_DICT_DP),
                                               ("bdev_dest", SINGLE_DISK_DICT_DP)]),
  _Call("blockdev_create", SINGLE, TMO_NORMAL, [("bdev", SINGLE_DISK_DICT_DP), "size", "owner",
                                                "on_primary", "info", "exclusive_storage"]),
  _Call("blockdev_find", SINGLE, TMO_NORMAL, [("disk", SINGLE_DISK_DICT_DP)],
        post=BLOCKDEV_STATUS, query=True),
  _Call("blockdev_getdimensions", SINGLE, TMO_NORMAL, [("disks", MULTI_DISKS_DICT_DP)], query=True),
  _Call("blockdev_getmirrorstatus", SINGLE, TMO_NORMAL, [("disks", DISKS_DICT_DP)],
                                                         post=BLOCKDEV_STATUS_LIST, query=True),
  _Call("blockdev_getmirrorstatus_multi", MULTI, TMO_NORMAL, [("node_disks", NODE_TO_DISK_DICT_DP)],
        post=BLOCKDEV_STATUS_PAIRS, query=True),
  _Call("blockdev_grow", SINGLE, TMO_NORMAL, [("cf_bdev", SINGLE_DISK_DICT_DP), "amount", "dryrun",
                                              "backingstore", "es_flag"]),
  _Call("blockdev_image", SINGLE, TMO_SLOW, [("bdev", SINGLE_DISK_DICT_DP), "image", "size"]),
  _Call("blockdev_open", SINGLE, TMO_NORMAL, ["instance_name", ("disks", DISKS_DICT_DP),
                                              "exclusive"]),
  _Call("blockdev_pause_resume_sync", SINGLE, TMO_NORMAL, [("disks", DISKS_DICT_DP), "pause"]),
  _Call("blockdev_remove", SINGLE, TMO_NORMAL, [("bdev", SINGLE_DISK_DICT_DP)]),
  _Call("blockdev_removechildren", SINGLE, TMO_NORMAL, [("bdev", SINGLE_DISK_DICT_DP),
                                                        ("ndevs", DISKS_DICT_DP)]),
  _Call("blockdev_rename", SINGLE, TMO_NORMAL, [("devlist", BLOCKDEV_RENAME)]),
  _Call("blockdev_setinfo", SINGLE, TMO_NORMAL, [("disk", SINGLE_DISK_DICT_DP), "info"]),
  _Call("blockdev_shutdown", SINGLE, TMO_NORMAL, [("disk", SINGLE_DISK_DICT_DP)]),
  _Call("blockdev_snapshot", SINGLE, TMO_NORMAL, [("cf_bdev", SINGLE_DISK_DICT_DP), "snap_name",
                                                  "snap_size"]),
  _Call("blockdev_wait_mirror_sync", SINGLE, TMO_NORMAL, [("disks", DISKS_DICT_DP), "timeout"],
        post=BLOCKDEV_STATUS_LIST, query=True),
  _Call("blockdev_wipe", SINGLE, TMO_SLOW, [("bdev", SINGLE_DISK_DICT_DP), "offset", "size"]),
  _Call("bridges_exist", SINGLE, TMO_URGENT, ["bridges_list"], query=True),
  _Call("drbd_attach_net", MULTI, TMO_NORMAL, [("disks", DISKS_DICT_DP), "multimaster"]),
  _Call("drbd_disconnect_net", MULTI, TMO_NORMAL, [("disks", DISKS_DICT_DP)]),
  _Call("drbd_helper", MULTI, TMO_URGENT, [], query=True),
  _Call("drbd_needs_activation", SINGLE, TMO_NORMAL, [("disks", MULTI_DISKS_DICT_DP)], query=True),
  _Call("drbd_wait_sync", MULTI, TMO_SLOW, [("disks", DISKS_DICT_DP)], query=True),
  _Call("etc_hosts_modify", SINGLE, TMO_NORMAL, ["mode", "name", "ip"]),
  _Call("export_info", SINGLE, TMO_FAST, ["path"], query=True),
  _Call("export_list", MULTI, TMO_FAST, [], query=True),
  _Call("export_remove", SINGLE, TMO_FAST, ["export"]),
  _Call("export_start", SINGLE, TMO_NORMAL, [("opts", OBJECT_DICT), "host", "port",
                                             ("instance", INST_DICT), "component",
                                             ("source", IMPEXP_IO)]),
  _Call("extstorage_diagnose", MULTI, TMO_FAST, [], query=True),
  _Call("file_storage_dir_create", SINGLE, TMO_FAST, ["file_storage_dir"]),
  _Call("file_storage_dir_remove", SINGLE, TMO_FAST, ["file_storage_dir"]),
  _Call("file_storage_dir_rename", SINGLE, TMO_FAST, ["old_file_storage_dir",
                                                      "new_file_storage_dir"]),
  _Call("finalize_export", SINGLE, TMO_NORMAL, [("instance", INST_DICT),
                                                ("snap_disks", FINALIZE_EXPORT_DISKS)]),
  _Call("get_file_info", SINGLE, TMO_FAST, ["file_path"], query=True),
  _Call("get_watcher_pause", SINGLE, TMO_URGENT, [], query=True),
  _Call("hooks_runner", MULTI, TMO_NORMAL, ["hpath", "phase", "env"]),
  _Call("hotplug_device", SINGLE, TMO_NORMAL, [("instance", INST_DICT), "action", "dev_type",
                                               ("device", DEVICE_DICT), "extra", "seq"]),
  _Call("hotplug_supported", SINGLE, TMO_NORMAL, [("instance", INST_DICT)], query=True),
  _Call("hypervisor_validate_params", MULTI, TMO_NORMAL, ["hvname", "hvfull"], query=True),
  _Call("iallocator_runner", SINGLE, TMO_NORMAL, ["name", "idata", "default_iallocator_params"],
        query=True),
  _Call("impexp_abort", SINGLE, TMO_NORMAL, ["name"]),
  _Call("impexp_cleanup", SINGLE, TMO_NORMAL, ["name"]),
  _Call("impexp_status", SINGLE, TMO_FAST, ["names"], post=IMPEXP_STATUS_LIST, query=True),
  _Call("import_start", SINGLE, TMO_NORMAL, [("opts", OBJECT_DICT), ("instance", INST_DICT),
                                             "component", ("dest", IMPEXP_IO)]),
  _Call("instance_balloon_memory", SINGLE, TMO_NORMAL, [("instance", INST_DICT), "memory"]),
  _Call("instance_finalize_migration_dst", SINGLE, TMO_NORMAL, [("instance", INST_DICT), "info",
                                                                "success"]),
  _Call("instance_finalize_migration_src", SINGLE, TMO_SLOW, [("instance", INST_DICT), "success",
                                                              "live"]),
  _Call("instance_get_migration_status", SINGLE, TMO_SLOW, [("instance", INST_DICT)],
                                                            post=MIGRATION_STATUS, query=True),
  _Call("instance_info", SINGLE, TMO_URGENT, ["instance", "hname", "hvparams"], query=True),
  _Call("instance_list", MULTI, TMO_URGENT, ["hypervisor_list", "hvparams"], query=True),
  _Call("instance_metadata_modify", SINGLE, TMO_URGENT, ["instance"]),
  _Call("instance_migratable", SINGLE, TMO_NORMAL, [("instance", INST_DICT)], query=True),
  _Call("instance_migrate", SINGLE, TMO_SLOW, ["cluster_name", ("instance", INST_DICT), "target",
                                               "live"]),
  _Call("instance_os_add", SINGLE, TMO_1DAY, [("instance_osp", INST_DICT_OSP_DP), "reinstall",
                                              "debug"]),
  _Call("instance_reboot", SINGLE, TMO_NORMAL, [("inst", INST_DICT), "reboot_type",
                                                "shutdown_timeout", "reason"]),
  _Call("instance_run_rename", SINGLE, TMO_SLOW, [("instance", INST_DICT), "old_name", "debug"]),
  _Call("instance_shutdown", SINGLE, TMO_NORMAL, [("instance", INST_DICT), "timeout", "reason"]),
  _Call("instance_start", SINGLE, TMO_NORMAL, [("instance_hvp_bep", INST_DICT_HVP_BEP_DP),
                                               "startup_paused", "reason"]),
  _Call("jobqueue_purge", SINGLE, TMO_NORMAL, [], family=JOB_QUEUE),
  _Call("jobqueue_rename", MULTI, TMO_URGENT, ["rename"], family=JOB_QUEUE),
  _Call("jobqueue_set_drain_flag", MULTI, TMO_URGENT, ["flag"], family=JOB_QUEUE),
  _Call("jobqueue_update", MULTI, TMO_URGENT, ["file_name", ("content", COMPRESS)],
                                               family=JOB_QUEUE),
  _Call("lv_list", MULTI, TMO_URGENT, ["vg_name"], query=True),
  _Call("master_node_name", MULTI, TMO_URGENT, [], family=BOOTSTRAP, query=True),
  _Call("migration_info", SINGLE, TMO_NORMAL, [("instance", INST_DICT)], query=True),
  _Call("node_activate_master_ip", SINGLE, TMO_FAST, [("master_params", OBJECT_DICT),
                                                      "use_external_mip_script"], family=BOOTSTRAP),
  _Call("node_change_master_netmask", SINGLE, TMO_FAST, ["old_netmask", "netmask", "master_ip",
                                                         "master_netdev"], family=BOOTSTRAP),
  _Call("node_configure_ovs", SINGLE, TMO_NORMAL, ["ovs_name", "ovs_link"]),
  _Call("node_crypto_tokens", SINGLE, TMO_SLOW, ["token_request"]),
  _Call("node_deactivate_master_ip", SINGLE, TMO_FAST, [("master_params", OBJECT_DICT),
                                                        "use_external_mip_script"],
                                                        family=BOOTSTRAP),
  _Call("node_demote_from_mc", SINGLE, TMO_FAST, []),
  _Call("node_ensure_daemon", MULTI, TMO_URGENT, ["daemon", "run"]),
  _Call("node_has_ip_address", SINGLE, TMO_FAST, ["address"], query=True),
  _Call("node_info", MULTI, TMO_URGENT, ["storage_units", "hv_specs"], query=True),
  _Call("node_leave_cluster", SINGLE, TMO_NORMAL, ["modify_ssh_setup"], family=BOOTSTRAP),
  _Call("node_powercycle", SINGLE, TMO_NORMAL, ["hypervisor", "hvparams"]),
  _Call("node_ssh_key_add", MULTI, TMO_FAST, ["node_uuid", "node_name",
                                              "potential_master_candidates", "to_authorized_keys",
                                              "to_public_keys", "get_public_keys"]),
  _Call("node_ssh_key_remove", MULTI, TMO_FAST, ["node_uuid", "node_name", "master_candidate_uuids",
                                                 "potential_master_candidates",
                                                 "from_authorized_keys", "from_public_keys",
                                                 "clear_authorized_keys", "clear_public_keys",
                                                 "readd"]),
  _Call("node_ssh_keys_renew", MULTI, TMO_4HRS, ["node_uuids", "node_names",
                                                 "master_candidate_uuids",
                                                 "potential_master_candidates", "old_key_type",
                                                 "new_key_type", "new_key_bits"]),
  _Call("node_start_master_daemons", SINGLE, TMO_FAST, ["no_voting"], family=BOOTSTRAP),
  _Call("node_stop_master", SINGLE, TMO_FAST, [], family=BOOTSTRAP),
  _Call("node_verify", MULTI, TMO_NORMAL, ["checkdict", "cluster_name", "all_hvparams"],
        query=True),
  _Call("node_verify_light", MULTI, TMO_NORMAL, ["checkdict", "cluster_name", "hvparams"],
                                                 family=DNS_ONLY, query=True),
  _Call("node_volumes", MULTI, TMO_FAST, [], query=True),
  _Call("os_diagnose", MULTI, TMO_FAST, [], query=True),
  _Call("os_export", SINGLE, TMO_FAST, [("instance", INST_DICT), "override_env"]),
  _Call("os_validate", MULTI, TMO_FAST, ["required", "name", "checks", "params", "force_variant"],
        query=True),
  _Call("restricted_command", MULTI, TMO_SLOW, ["cmd"]),
  _Call("run_oob", SINGLE, TMO_NORMAL, ["oob_program", "command", "remote_node", "timeout"]),
  _Call("set_watcher_pause", MULTI, TMO_URGENT, ["until"]),
  _Call("storage_execute", SINGLE, TMO_NORMAL, ["su_name", "su_args", "name", "op"]),
  _Call("storage_list", MULTI, TMO_NORMAL, ["su_name", "su_args", "name", "fields"], query=True),
  _Call("storage_modify", SINGLE, TMO_NORMAL, ["su_name", "su_args", "name", "changes"]),
  _Call("test_delay", MULTI, TMO_DELAY, ["duration"]),
  _Call("upload_file", MULTI, TMO_NORMAL, [("file_name", FILE_DETAILS)], family=CONFIG),
  _Call("upload_file_single", MULTI, TMO_NORMAL, ["file_name", ("content", COMPRESS), "mode", "uid",
                                                  "gid", "atime", "mtime"], family=CONFIG),
  _Call("version", MULTI, TMO_URGENT, [], family=DNS_ONLY, query=True),
  _Call("vg_list", MULTI, TMO_URGENT, [], query=True),
  _Call("write_ssconf_files", MULTI, TMO_NORMAL, ["values"], family=CONFIG),
  _Call("x509_cert_create", SINGLE, TMO_NORMAL, ["validity"]),
  _Call("x509_cert_remove", SINGLE, TMO_NORMAL, ["name"]),
]

CALLS: dict[str, CallDef] = {call.name: call for call in _CALL_LIST}
