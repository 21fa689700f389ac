"""Instance creation in import mode: the instance comes from an export.

LUInstanceCreate calls these steps: CheckArguments (where the export is),
LockSourceNode (ExpandNames), ReadExport (CheckPrereq: what the export
provides fills what the opcode leaves out: OS, disk template, disks, NICs,
hypervisor, backend/hypervisor/OS parameters) and ImportDisks (Exec: the
dumps go through the OS import script into the new disks).
"""

import os
from typing import Any

from ganeti import constants
from ganeti import errors
from ganeti import locking
from ganeti import paramdefs as pd
from ganeti.cmdlib import backup
from ganeti.impexp import exportinfo
from ganeti.impexp import transfer

# export NIC keys that belong to its connection; a NIC on a network takes them
# from the network instead
_NIC_CONNECTION_KEYS = (pd.NIC_MODE, pd.NIC_LINK, pd.NIC_VLAN)


def CheckArguments(lu: Any) -> None:
  op = lu.op
  if op.mode == constants.INSTANCE_REMOTE_IMPORT:
    raise errors.OpPrereqError("Remote import is not supported by this master yet",
                               errors.ECODE_INVAL)
  if op.src_path is None:
    op.src_path = op.instance_name
  if op.src_node is None and os.path.isabs(op.src_path):
    raise errors.OpPrereqError("Importing an instance from a path requires a source node"
                               " option", errors.ECODE_INVAL)


def LockSourceNode(lu: Any) -> None:
  """Adds the source node to the node locks (all nodes when it is to be found)."""
  op = lu.op
  if op.src_node is None:
    lu.needed_locks[locking.LEVEL_NODE] = locking.ALL_SET
    return
  node = lu.cfg.GetNodeInfoByName(op.src_node) or lu.cfg.GetNodeInfo(op.src_node)
  if node is None:
    raise errors.OpPrereqError("Node '%s' not known" % op.src_node, errors.ECODE_NOENT)
  op.src_node, op.src_node_uuid = node.name, node.uuid
  if not os.path.isabs(op.src_path):
    op.src_path = backup.ExportPath(op.src_path)
  locks = lu.needed_locks.get(locking.LEVEL_NODE)
  if locks != locking.ALL_SET and node.uuid not in locks:
    locks.append(node.uuid)


def _FindExport(lu: Any) -> None:
  op = lu.op
  locked = sorted(lu.glm.list_owned(locking.LEVEL_NODE))
  for node_uuid, exports in backup.NodeExports(lu, locked).items():
    if op.src_path in exports:
      op.src_node_uuid = node_uuid
      op.src_node = lu.cfg.GetNodeName(node_uuid)
      op.src_path = backup.ExportPath(op.src_path)
      return
  raise errors.OpPrereqError("No export found for relative path %s" % op.src_path,
                             errors.ECODE_INVAL)


def ReadExport(lu: Any) -> exportinfo.ExportInfo:
  """Reads the export's config.ini and completes the opcode from it."""
  op = lu.op
  if op.src_node_uuid is None:
    _FindExport(lu)
  result = lu.rpc.call_export_info(op.src_node_uuid, op.src_path)
  result.Raise("No export or invalid export found in dir %s" % op.src_path)
  info = exportinfo.ExportInfo(result.payload)
  if info.version != constants.EXPORT_VERSION:
    raise errors.OpPrereqError("Wrong export version %s (wanted %d)" %
                               (info.version, constants.EXPORT_VERSION), errors.ECODE_ENVIRON)
  if info.compression != "none":
    raise errors.OpPrereqError("Exports with compressed disk dumps (%s) are not supported"
                               " by this master yet" % info.compression, errors.ECODE_INVAL)
  _FillFromExport(op, info)
  if op.identify_defaults:
    _IdentifyDefaults(lu.cfg.GetClusterInfo(), op)
  return info


def _FillFromExport(op: Any, info: exportinfo.ExportInfo) -> None:
  export_os = info.os
  op.os_type = op.os_type or export_os
  op.disk_template = op.disk_template or info.Instance("disk_template")
  if not op.disks:
    op.disks = [dict({pd.IDISK_SIZE: disk["size"]},
                     **({pd.IDISK_NAME: disk["name"]} if disk["name"] else {}))
                for disk in info.Disks()]
  op.nics = _MergeNics(op.nics, info.Nics())
  export_hv = info.Instance("hypervisor")
  op.hypervisor = op.hypervisor or export_hv
  op.beparams = _Merged(op.beparams, info.Section(exportinfo.SECT_BACKEND))
  if op.hypervisor == export_hv:
    op.hvparams = _Merged(op.hvparams, info.Section(exportinfo.SECT_HYPERVISOR))
  if op.os_type == export_os:
    op.osparams = _Merged(op.osparams, info.Section(exportinfo.SECT_OS))
    op.osparams_private = _Merged(op.osparams_private,
                                  info.Section(exportinfo.SECT_OS_PRIVATE))


def _Merged(given: Any, exported: dict) -> dict:
  """The given parameters, completed by the exported ones."""
  merged = dict(exported)
  merged.update(given or {})
  return merged


def _MergeNics(given: Any, exported: list[dict]) -> list[dict]:
  """The NICs asked for, each completed by the exported NIC of its index (a
  missing or "auto" MAC reuses the exported one); all exported NICs if none."""
  if not given:
    return [_ExportedNic(nic) for nic in exported]
  merged = []
  for idx, spec in enumerate(given):
    spec = dict(spec)
    if idx < len(exported):
      nic = _ExportedNic(exported[idx])
      if spec.get(pd.INIC_MAC) in (None, pd.VALUE_AUTO) and nic.get(pd.INIC_MAC):
        spec[pd.INIC_MAC] = nic[pd.INIC_MAC]
      connection_given = spec.get(pd.INIC_NETWORK) or any(
        spec.get(key) is not None for key in _NIC_CONNECTION_KEYS)
      for key, value in nic.items():
        if key in _NIC_CONNECTION_KEYS + (pd.INIC_NETWORK,) and connection_given:
          continue
        spec.setdefault(key, value)
    merged.append(spec)
  return merged


def _ExportedNic(nic: dict) -> dict:
  nic = dict(nic)
  if nic.get(pd.INIC_NETWORK):
    for key in _NIC_CONNECTION_KEYS:
      nic.pop(key, None)
  return nic


def _IdentifyDefaults(cluster: Any, op: Any) -> None:
  """Drops the values equal to the cluster's defaults, which then follow them."""
  be_defaults = cluster.SimpleFillBE({})
  pd.ForceDictType(op.beparams, pd.BES_PARAMETER_TYPES, allowed_values=[pd.VALUE_AUTO])
  op.beparams = {key: value for key, value in op.beparams.items()
                 if be_defaults.get(key) != value}
  hv_defaults = cluster.SimpleFillHV(op.hypervisor, op.os_type, {})
  pd.ForceDictType(op.hvparams, pd.HVS_PARAMETER_TYPES)
  op.hvparams = {key: value for key, value in op.hvparams.items()
                 if hv_defaults.get(key) != value}


def ImportDisks(lu: Any, inst: Any, info: exportinfo.ExportInfo, feedback_fn: Any) -> None:
  """Copies the dumps of the export into the instance's (assembled) disks
  through the OS import script, then lets the OS rename the instance if its
  name changed."""
  op = lu.op
  pnode_name = lu.cfg.GetNodeName(inst.primary_node)
  feedback_fn("* running the instance OS import scripts...")
  dumps = {dump["index"]: dump for dump in info.Disks()}
  transfers = [
    transfer.DiskTransfer(disk.iv_name, op.src_node_uuid,
                          (constants.IEIO_FILE, [os.path.join(op.src_path,
                                                             dumps[idx]["dump"])]),
                          inst.primary_node, (constants.IEIO_SCRIPT, [disk, idx]))
    for idx, disk in enumerate(lu.cfg.GetInstanceDisks(inst.uuid)) if idx in dumps]
  results = transfer.TransferDisks(lu, inst, transfers, op.compress, feedback_fn)
  if not all(results):
    lu.LogWarning("Some disks for instance %s on node %s were not imported successfully",
                  inst.name, pnode_name)
  old_name = info.Instance("name")
  if old_name and old_name != inst.name:
    feedback_fn("Running rename script for %s" % inst.name)
    result = lu.rpc.call_instance_run_rename(inst.primary_node, inst, old_name,
                                             op.debug_level or 0)
    result.Warn("Failed to run rename script for %s on node %s" % (inst.name, pnode_name),
                lu.LogWarning)
