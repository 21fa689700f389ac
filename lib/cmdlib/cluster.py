"""Logical units of the cluster itself: info, configuration values,
parameters, post-init and destroy."""

import platform
import struct
from typing import Any

from ganeti import constants
from ganeti import errors
from ganeti import jstore
from ganeti import locking
from ganeti import paramdefs
from ganeti.cmdlib import os as os_lu
from ganeti.cmdlib.base import LogicalUnit, NoHooksLU


# QueryClusterInfo keys answered straight from the cluster attribute of the same name
_CLUSTER_INFO_ATTRS = (
  "enabled_hypervisors", "hvparams", "os_hvp", "beparams", "osparams", "ipolicy",
  "nicparams", "ndparams", "diskparams", "candidate_pool_size", "max_running_jobs",
  "max_tracked_jobs", "mac_prefix", "master_netdev", "master_netmask",
  "use_external_mip_script", "volume_group_name", "drbd_usermode_helper",
  "file_storage_dir", "shared_file_storage_dir", "gluster_storage_dir",
  "maintain_node_health", "ctime", "mtime", "uuid", "uid_pool", "default_iallocator",
  "default_iallocator_params", "reserved_lvs", "prealloc_wipe_disks", "hidden_os",
  "blacklisted_os", "enabled_disk_templates", "install_image",
  "instance_communication_network", "zeroing_image", "compression_tools",
  "enabled_user_shutdown", "modify_ssh_setup", "ssh_key_type", "ssh_key_bits",
)


# The order of QueryClusterInfo's keys in Ganeti 3.0's answer (RAPI /2/info shows it)
_CLUSTER_INFO_ORDER = (
  "software_version", "protocol_version", "config_version", "os_api_version",
  "export_version", "vcs_version", "architecture", "name", "master", "default_hypervisor",
  "enabled_hypervisors", "hvparams", "os_hvp", "beparams", "osparams", "ipolicy", "nicparams",
  "ndparams", "diskparams", "candidate_pool_size", "max_running_jobs", "max_tracked_jobs",
  "mac_prefix", "master_netdev", "master_netmask", "use_external_mip_script",
  "volume_group_name", "drbd_usermode_helper", "file_storage_dir", "shared_file_storage_dir",
  "gluster_storage_dir", "maintain_node_health", "ctime", "mtime", "uuid", "tags", "uid_pool",
  "default_iallocator", "default_iallocator_params", "reserved_lvs", "primary_ip_version",
  "prealloc_wipe_disks", "hidden_os", "blacklisted_os", "enabled_disk_templates",
  "install_image", "instance_communication_network", "zeroing_image", "compression_tools",
  "enabled_user_shutdown", "enabled_data_collectors", "data_collector_interval",
  "modify_ssh_setup", "ssh_key_type", "ssh_key_bits", "vg_name", "drbd_helper")


# What this software speaks, as QueryClusterInfo reports it
_VERSIONS = dict(software_version=constants.RELEASE_VERSION,
                 protocol_version=constants.PROTOCOL_VERSION,
                 config_version=constants.CONFIG_VERSION,
                 os_api_version=max(constants.OS_API_VERSIONS),
                 export_version=constants.EXPORT_VERSION, vcs_version=constants.VCS_VERSION)


def ClusterInfo(cfg: Any) -> dict[str, Any]:
  """The cluster description answered by QueryClusterInfo / OpClusterQuery,
  with Ganeti 3.0's keys."""
  cluster = cfg.GetClusterInfo()
  collectors = cluster.data_collectors
  info = dict(_VERSIONS)
  info.update({
    "architecture": ["%dbits" % (struct.calcsize("P") * 8), platform.machine()],
    "name": cluster.cluster_name,
    "master": cfg.GetMasterNodeName(),
    "default_hypervisor": cluster.enabled_hypervisors[0],
    "tags": list(cluster.GetTags()),
    "primary_ip_version": 6 if cluster.primary_ip_family == constants.IP6_FAMILY else 4,
    "enabled_data_collectors": {name: params.get("active", True)
                                for name, params in collectors.items()},
    "data_collector_interval": {name: params.get("interval")
                                for name, params in collectors.items()},
  })
  info.update((attr, getattr(cluster, attr)) for attr in _CLUSTER_INFO_ATTRS)
  info["vg_name"] = cluster.volume_group_name
  info["drbd_helper"] = cluster.drbd_usermode_helper
  return {key: info[key] for key in _CLUSTER_INFO_ORDER}


def _config_value(context: Any, name: str) -> Any:
  cfg = context.cfg
  cluster = cfg.GetClusterInfo()
  getters = {
    "cluster_name": lambda: cluster.cluster_name,
    "modify_ssh_setup": lambda: cluster.modify_ssh_setup,
    "master_node": cfg.GetMasterNodeName,
    "drain_flag": jstore.IsDrained,
    "watcher_pause": context.GetWatcherPause,
    "volume_group_name": lambda: cluster.volume_group_name,
  }
  if name not in getters:
    raise errors.ParameterError(name)
  return getters[name]()


def QueryConfigValues(context: Any, fields: list[str]) -> list[Any]:
  return [_config_value(context, name) for name in fields]


class LUClusterQuery(NoHooksLU):
  REQ_BGL = False

  def ExpandNames(self) -> None:
    self.needed_locks = {}

  def Exec(self, feedback_fn: Any) -> dict:
    return ClusterInfo(self.cfg)


class LUClusterConfigQuery(NoHooksLU):
  REQ_BGL = False

  def ExpandNames(self) -> None:
    self.needed_locks = {}

  def Exec(self, feedback_fn: Any) -> list:
    return QueryConfigValues(self.context, self.op.output_fields)


class LUClusterPostInit(LogicalUnit):
  """Runs the cluster-init post hooks once the master daemon is up."""

  HPATH = "cluster-init"
  HTYPE = constants.HTYPE_CLUSTER

  def BuildHooksEnv(self) -> dict:
    return {"OP_TARGET": self.cfg.GetClusterName()}

  def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
    return [], [self.cfg.GetMasterNode()]

  def Exec(self, feedback_fn: Any) -> bool:
    return True


class LUClusterDestroy(LogicalUnit):
  """Checks that only the master is left; the client then tears it down."""

  HPATH = "cluster-destroy"
  HTYPE = constants.HTYPE_CLUSTER

  def BuildHooksEnv(self) -> dict:
    return {"OP_TARGET": self.cfg.GetClusterName()}

  def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
    return [], []

  def CheckPrereq(self) -> None:
    nodes = self.cfg.GetNodeList()
    if len(nodes) != 1 or nodes[0] != self.cfg.GetMasterNode():
      raise errors.OpPrereqError("There are still %d node(s) in this cluster." %
                                 (len(nodes) - 1), errors.ECODE_INVAL)
    instances = self.cfg.GetInstanceList()
    if instances:
      raise errors.OpPrereqError("There are still %d instance(s) in this cluster." %
                                 len(instances), errors.ECODE_INVAL)

  def Exec(self, feedback_fn: Any) -> str:
    return self.cfg.GetMasterNode()


# opcode field -> cluster attribute, for parameters that are plain values
_PLAIN_CLUSTER_PARAMS = {
  "vg_name": "volume_group_name",
  "drbd_helper": "drbd_usermode_helper",
  "candidate_pool_size": "candidate_pool_size",
  "max_running_jobs": "max_running_jobs",
  "max_tracked_jobs": "max_tracked_jobs",
  "mac_prefix": "mac_prefix",
  "maintain_node_health": "maintain_node_health",
  "prealloc_wipe_disks": "prealloc_wipe_disks",
  "default_iallocator": "default_iallocator",
  "default_iallocator_params": "default_iallocator_params",
  "master_netdev": "master_netdev",
  "master_netmask": "master_netmask",
  "use_external_mip_script": "use_external_mip_script",
  "reserved_lvs": "reserved_lvs",
  "uid_pool": "uid_pool",
  "file_storage_dir": "file_storage_dir",
  "shared_file_storage_dir": "shared_file_storage_dir",
  "gluster_storage_dir": "gluster_storage_dir",
  "install_image": "install_image",
  "instance_communication_network": "instance_communication_network",
  "zeroing_image": "zeroing_image",
  "compression_tools": "compression_tools",
  "enabled_user_shutdown": "enabled_user_shutdown",
  "modify_etc_hosts": "modify_etc_hosts",
  "modify_ssh_setup": "modify_ssh_setup",
}

# opcode field -> cluster attribute, for dicts of one parameter family that
# are merged into the current values ("default" groups for be/nic params)
_FAMILY_PARAMS = {
  "beparams": ("beparams", constants.PP_DEFAULT),
  "nicparams": ("nicparams", constants.PP_DEFAULT),
  "ndparams": ("ndparams", None),
}


def _check_enabled_list(values: Any, valid: frozenset, what: str) -> None:
  """Checks a new list of enabled hypervisors or disk templates."""
  if values is None:
    return
  if not values:
    raise errors.OpPrereqError("Enabled %s list must contain at least one member" % what,
                               errors.ECODE_INVAL)
  bad = [value for value in values if value not in valid]
  if bad:
    raise errors.OpPrereqError("Enabled %s contains invalid entries: %s" % (what, ", ".join(bad)),
                               errors.ECODE_INVAL)


class LUClusterSetParams(LogicalUnit):
  """Changes cluster-wide parameters (gnt-cluster modify)."""

  HPATH = "cluster-modify"
  HTYPE = constants.HTYPE_CLUSTER
  REQ_BGL = False

  def ExpandNames(self) -> None:
    self.needed_locks = {locking.LEVEL_NODE: locking.ALL_SET,
                         locking.LEVEL_NODEGROUP: locking.ALL_SET}
    self.share_locks = dict.fromkeys(locking.LEVELS, 1)

  def BuildHooksEnv(self) -> dict:
    return {"OP_TARGET": self.cfg.GetClusterName(),
            "NEW_VG_NAME": getattr(self.op, "vg_name", None) or ""}

  def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
    return self.MasterNodeHooks()

  def CheckPrereq(self) -> None:
    op = self.op
    cluster = self.cfg.GetClusterInfo()
    if getattr(op, "candidate_pool_size", None) is not None and op.candidate_pool_size < 1:
      raise errors.OpPrereqError("At least one master candidate needed", errors.ECODE_INVAL)
    for name in ("max_running_jobs", "max_tracked_jobs"):
      value = getattr(op, name, None)
      if value is not None and value < 1:
        raise errors.OpPrereqError("Invalid value for %s: %s (must be positive)" % (name, value),
                                   errors.ECODE_INVAL)
    _check_enabled_list(getattr(op, "enabled_hypervisors", None), constants.HYPER_TYPES,
                        "hypervisors")
    templates = getattr(op, "enabled_disk_templates", None)
    _check_enabled_list(templates, constants.DISK_TEMPLATES, "disk templates")
    if templates is not None:
      used = {self.cfg.GetInstanceDiskTemplate(uuid) for uuid in self.cfg.GetInstanceList()}
      missing = sorted(used - set(templates))
      if missing:
        raise errors.OpPrereqError("Cannot disable disk template(s) %s: instances use them" %
                                   ", ".join(missing), errors.ECODE_STATE)
    if getattr(op, "mac_prefix", None):
      parts = op.mac_prefix.split(":")
      if len(parts) != 3 or not all(len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p)
                                    for p in parts):
        raise errors.OpPrereqError("Invalid MAC address prefix '%s'" % op.mac_prefix,
                                   errors.ECODE_INVAL)
    for name, value in (getattr(op, "hvparams", None) or {}).items():
      if name not in constants.HYPER_TYPES:
        raise errors.OpPrereqError("Unknown hypervisor '%s'" % name, errors.ECODE_INVAL)
      paramdefs.CheckParams("hvparams/%s" % name, value)
    for family in ("beparams", "nicparams", "ndparams"):
      value = getattr(op, family, None)
      if value:
        paramdefs.CheckParams(family, value)
    self._CheckOsSettings(cluster)
    self._cluster = cluster

  def _CheckOsSettings(self, cluster: Any) -> None:
    """Computes the new per-OS parameters; the master node validates the OS ones."""
    op = self.op
    for hvs in (getattr(op, "os_hvp", None) or {}).values():
      for hv_name, params in hvs.items():
        if params is not None:
          paramdefs.CheckParams("hvparams/%s" % hv_name, params)
    self._new_os_hvp = os_lu.UpdatedOsHvp(cluster.os_hvp, getattr(op, "os_hvp", None) or {})
    public = getattr(op, "osparams", None) or {}
    private = getattr(op, "osparams_private_cluster", None) or {}
    self._new_osparams = os_lu.UpdatedOsParams(cluster.osparams, public)
    self._new_osparams_private = os_lu.UpdatedOsParams(
      cluster.osparams_private_cluster or {}, private)
    for os_name in dict.fromkeys(list(public) + list(private)):
      params = dict(self._new_osparams.get(os_name, {}))
      params.update(self._new_osparams_private.get(os_name, {}))
      if params:
        os_lu.ValidateOsParams(self, False, [self.cfg.GetMasterNode()], os_name, params)

  def Exec(self, feedback_fn: Any) -> None:
    op = self.op
    cluster = self._cluster
    for op_name, attr in _PLAIN_CLUSTER_PARAMS.items():
      value = getattr(op, op_name, None)
      if value is not None:
        setattr(cluster, attr, value)
    for family, (attr, group) in _FAMILY_PARAMS.items():
      value = getattr(op, family, None)
      if not value:
        continue
      target = getattr(cluster, attr)
      if group is not None:
        target = target.setdefault(group, {})
      target.update(value)
    for hv_name, value in (getattr(op, "hvparams", None) or {}).items():
      cluster.hvparams.setdefault(hv_name, {}).update(value)
    for template, value in (getattr(op, "diskparams", None) or {}).items():
      cluster.diskparams.setdefault(template, {}).update(value)
    cluster.os_hvp = self._new_os_hvp
    cluster.osparams = self._new_osparams
    cluster.osparams_private_cluster = self._new_osparams_private
    if getattr(op, "ipolicy", None):
      cluster.ipolicy.update(op.ipolicy)
    if getattr(op, "enabled_hypervisors", None) is not None:
      cluster.enabled_hypervisors = list(op.enabled_hypervisors)
    if getattr(op, "enabled_disk_templates", None) is not None:
      cluster.enabled_disk_templates = list(op.enabled_disk_templates)
    for attr, description in (("hidden_os", "hidden OS list"),
                              ("blacklisted_os", "blacklisted OS list")):
      changes = getattr(op, attr, None)
      if changes:
        setattr(cluster, attr, os_lu.ChangeOsList(getattr(cluster, attr), changes,
                                                  description, feedback_fn))
    self.cfg.Update(cluster, feedback_fn)
