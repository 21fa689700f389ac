"""Consistency checks of a configuration (used by "gnt-cluster verify")."""

import re
from collections import Counter
from typing import Iterable

from ganeti import constants
from ganeti import errors
from ganeti import objects
from ganeti import paramdefs
from ganeti.config.drbd import DrbdMap, DrbdMinorClaims

_MAC_PREFIX_RE = re.compile(r"[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}")


def _Duplicates(values: Iterable) -> list:
  return sorted(value for value, count in Counter(values).items() if count > 1)


def _CheckParams(result: list[str], owner: str, family: str, params: dict,
                 key_types: dict[str, str]) -> None:
  """Reports parameters of a wrong name or a value of a wrong type."""
  for key, value in params.items():
    vtype = key_types.get(key)
    if vtype is None:
      result.append("%s has unknown %s parameter '%s'" % (owner, family, key))
      continue
    try:
      converted = paramdefs.ConvertValue(key, value, vtype)
    except errors.TypeEnforcementError as err:
      result.append("%s %s: %s" % (owner, family, err))
      continue
    if converted != value:
      result.append("%s %s: '%s' has value %r of the wrong type" %
                    (owner, family, key, value))


def VerifyConfigData(data: objects.ConfigData) -> list[str]:
  """A list of problems found; empty when the configuration is consistent."""
  result: list[str] = []
  cluster = data.cluster
  if cluster.master_node not in data.nodes:
    result.append("master node %s is not in the node list" % cluster.master_node)
  if not cluster.enabled_hypervisors:
    result.append("no hypervisor is enabled")
  for hv_name in cluster.enabled_hypervisors:
    if hv_name not in constants.HYPER_TYPES:
      result.append("enabled hypervisor %s is unknown" % hv_name)
  for template in cluster.enabled_disk_templates:
    if template not in constants.DISK_TEMPLATES:
      result.append("enabled disk template %s is unknown" % template)
  if not _MAC_PREFIX_RE.fullmatch(cluster.mac_prefix or ""):
    result.append("invalid MAC prefix '%s'" % cluster.mac_prefix)
  for hv_name, params in cluster.hvparams.items():
    if hv_name in paramdefs.HVC_DEFAULTS:
      _CheckParams(result, "cluster", "hypervisor %s" % hv_name, params,
                   paramdefs.GetHvParameterTypes(hv_name))
  _CheckParams(result, "cluster", "backend", cluster.beparams.get(paramdefs.PP_DEFAULT, {}),
               paramdefs.BES_PARAMETER_TYPES)
  _CheckParams(result, "cluster", "nic", cluster.nicparams.get(paramdefs.PP_DEFAULT, {}),
               paramdefs.NICS_PARAMETER_TYPES)
  _CheckParams(result, "cluster", "node", cluster.ndparams, paramdefs.NDS_PARAMETER_TYPES)

  containers = (("node", data.nodes), ("node group", data.nodegroups),
                ("instance", data.instances), ("network", data.networks),
                ("disk", data.disks), ("filter", data.filters))
  for kind, container in containers:
    for key, item in container.items():
      if item.uuid != key:
        result.append("%s %s is stored under key %s" % (kind, item.uuid, key))
    if kind in ("disk", "filter"):
      continue
    for name in _Duplicates(item.name for item in container.values()):
      result.append("duplicate %s name '%s'" % (kind, name))

  for node in data.nodes.values():
    if node.group not in data.nodegroups:
      result.append("node '%s' has invalid group '%s'" % (node.name, node.group))
    _CheckParams(result, "node '%s'" % node.name, "node", node.ndparams or {},
                 paramdefs.NDS_PARAMETER_TYPES)
  for group in data.nodegroups.values():
    for net_uuid in group.networks or {}:
      if net_uuid not in data.networks:
        result.append("node group '%s' is connected to unknown network %s" %
                      (group.name, net_uuid))

  disk_owners: Counter = Counter()
  macs = []
  ports = []
  for inst in data.instances.values():
    owner = "instance '%s'" % inst.name
    if inst.primary_node not in data.nodes:
      result.append("%s has invalid primary node %s" % (owner, inst.primary_node))
    if inst.hypervisor not in constants.HYPER_TYPES:
      result.append("%s has unknown hypervisor %s" % (owner, inst.hypervisor))
    if inst.admin_state not in constants.ADMINST_ALL:
      result.append("%s has invalid admin state '%s'" % (owner, inst.admin_state))
    _CheckParams(result, owner, "backend", inst.beparams, paramdefs.BES_PARAMETER_TYPES)
    for disk_uuid in inst.disks:
      disk_owners[disk_uuid] += 1
      if disk_uuid not in data.disks:
        result.append("%s has unknown disk %s" % (owner, disk_uuid))
    for idx, nic in enumerate(inst.nics):
      macs.append(nic.mac)
      if nic.network and nic.network not in data.networks:
        result.append("%s nic %d has unknown network %s" % (owner, idx, nic.network))
      _CheckParams(result, "%s nic %d" % (owner, idx), "nic", nic.nicparams or {},
                   paramdefs.NICS_PARAMETER_TYPES)
    if inst.network_port is not None:
      ports.append(inst.network_port)
  for disk_uuid, count in disk_owners.items():
    if count > 1:
      result.append("disk %s is used by %d instances" % (disk_uuid, count))
  for disk in data.disks.values():
    for node_uuid in disk.nodes or ():
      if node_uuid not in data.nodes:
        result.append("disk %s is on unknown node %s" % (disk.uuid, node_uuid))
  for mac in _Duplicates(macs):
    result.append("duplicate MAC address %s" % mac)
  drbd_disks = [disk for disk in data.disks.values()
                if disk.dev_type == constants.DT_DRBD8 and disk.logical_id]
  ports.extend(disk.logical_id[2] for disk in drbd_disks)
  for port in _Duplicates(ports):
    result.append("duplicate network port %s" % port)
  if ports and max(ports) > cluster.highest_used_port:
    result.append("Highest used port mismatch, saved %s, computed %s" %
                  (cluster.highest_used_port, max(ports)))
  _, duplicates = DrbdMap(data.nodes, DrbdMinorClaims(drbd_disks))
  for node_uuid, minor, disk_a, disk_b in duplicates:
    node = data.nodes.get(node_uuid)
    result.append("DRBD minor %d on node %s is assigned twice to disks %s and %s" %
                  (minor, node.name if node else node_uuid, disk_a, disk_b))
  return result
