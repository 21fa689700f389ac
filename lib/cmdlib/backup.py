"""Backups: exporting an instance to a node's export directory, removing exports.

An export is a directory <export dir>/<instance name> on one node: a dump of
each disk (written by the OS export script, carried by ganeti.impexp) and
config.ini.  Imports are instance creations (instance_create, mode import).
"""

import os
from typing import Any

from ganeti import constants
from ganeti import errors
from ganeti import locking
from ganeti import objects
from ganeti import pathutils
from ganeti import vcluster
from ganeti.cmdlib import instance_utils as iu
from ganeti.cmdlib.base import LogicalUnit, NoHooksLU
from ganeti.impexp import transfer
from ganeti.storage import base as storage_base
from ganeti.constants import EXPORT_MODE_REMOTE



def ExportDir() -> str:
  """The export directory as the configuration and the RPC name it (without
  this node's virtual-cluster root)."""
  return vcluster.RemoveNodePrefix(pathutils.EXPORT_DIR)


def ExportPath(name: str, *parts: str) -> str:
  return os.path.join(ExportDir(), name, *parts)


def _RefuseRemote(mode: str) -> None:
  if mode == EXPORT_MODE_REMOTE:
    raise errors.OpPrereqError("Remote export mode is not supported by this master yet",
                               errors.ECODE_INVAL)


def CheckCompression(cfg: Any, compress: str) -> None:
  """Refuses transport compressions the cluster does not allow."""
  tools = cfg.GetClusterInfo().compression_tools or []
  if compress != "none" and compress not in tools:
    raise errors.OpPrereqError("Compression tool not allowed, tools allowed are [%s]" %
                               ", ".join(tools), errors.ECODE_INVAL)


def NodeExports(lu: Any, node_uuids: list[str]) -> dict[str, list[str]]:
  """Node uuid -> its exports, for the nodes that answered; the others are
  reported as warnings."""
  exports = {}
  for node_uuid, result in lu.rpc.call_export_list(node_uuids).items():
    if result.fail_msg:
      lu.LogWarning("Failed to query node %s (continuing): %s",
                    lu.cfg.GetNodeName(node_uuid), result.fail_msg)
      continue
    exports[node_uuid] = result.payload
  return exports


class LUBackupPrepare(NoHooksLU):
  """Prepares an export: nothing to do for local exports."""

  REQ_BGL = False

  def ExpandNames(self) -> None:
    iu.LockInstance(self, ())

  def CheckPrereq(self) -> None:
    _RefuseRemote(self.op.mode)
    self.instance = iu.LockedInstance(self)

  def Exec(self, feedback_fn: Any) -> None:
    return None


class LUBackupExport(LogicalUnit):
  """Exports an instance's disks and configuration to a node (local mode)."""

  HPATH = "instance-export"
  HTYPE = constants.HTYPE_INSTANCE
  REQ_BGL = False

  def CheckArguments(self) -> None:
    op = self.op
    if op.remove_instance and not op.shutdown:
      raise errors.OpPrereqError("Can not remove instance without shutting it down before",
                                 errors.ECODE_STATE)
    if op.long_sleep and not op.shutdown:
      raise errors.OpPrereqError("The long sleep option only makes sense when the instance"
                                 " can be shut down.", errors.ECODE_INVAL)
    _RefuseRemote(op.mode)

  def ExpandNames(self) -> None:
    iu.LockInstance(self, ())
    # older exports of the instance may be on any node
    self.needed_locks[locking.LEVEL_NODE] = locking.ALL_SET

  def CheckPrereq(self) -> None:
    op = self.op
    self.instance = iu.LockedInstance(self)
    target = self.cfg.GetNodeInfoByName(op.target_node) or self.cfg.GetNodeInfo(op.target_node)
    if target is None:
      raise errors.OpPrereqError("Node '%s' not known" % op.target_node, errors.ECODE_NOENT)
    op.target_node, op.target_node_uuid = target.name, target.uuid
    iu.CheckNodeOnline(self, self.instance.primary_node)
    iu.CheckNodeOnline(self, target.uuid)
    iu.CheckNodeNotDrained(self, target.uuid)
    CheckCompression(self.cfg, op.compress)
    self.disks = self.cfg.GetInstanceDisks(self.instance.uuid)

  def BuildHooksEnv(self) -> dict[str, Any]:
    op = self.op
    return iu.InstanceHookEnv(self, self.instance, {
      "EXPORT_MODE": op.mode, "EXPORT_NODE": op.target_node,
      "EXPORT_DO_SHUTDOWN": op.shutdown, "SHUTDOWN_TIMEOUT": op.shutdown_timeout,
      "REMOVE_INSTANCE": int(bool(op.remove_instance))})

  def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
    nodes = [self.cfg.GetMasterNode(), self.instance.primary_node, self.op.target_node_uuid]
    return nodes, nodes

  def _UseSnapshots(self) -> bool:
    """Whether the disks are copied from snapshots, so that the instance runs
    during the copy; without them it must be allowed to stay down (--long-sleep)."""
    if not self.disks or self.op.long_sleep:
      return False
    if all(disk.dev_type in storage_base.DTS_SNAPSHOT_CAPABLE for disk in self.disks):
      return True
    if self.op.shutdown:
      raise errors.OpExecError("Not all disks could be snapshotted, and you did not allow"
                               " the instance to remain offline for a longer time through"
                               " the --long-sleep option; aborting")
    raise errors.OpExecError("Not all disks could be snapshotted, and you requested a live"
                             " export; aborting")

  def Exec(self, feedback_fn: Any) -> tuple[bool, list[bool]]:
    op = self.op
    inst = self.instance
    pnode_name = self.cfg.GetNodeName(inst.primary_node)
    snapshots = self._UseSnapshots()
    if op.shutdown:
      feedback_fn("Shutting down instance %s" % inst.name)
      result = self.rpc.call_instance_shutdown(inst.primary_node, inst, op.shutdown_timeout,
                                               op.reason)
      result.Raise("Could not shutdown instance %s on node %s" % (inst.name, pnode_name))
    activate = bool(self.disks) and not inst.disks_active
    try:
      if activate:
        feedback_fn("Activating disks for %s" % inst.name)
        iu.StartInstanceDisks(self, inst)
      sources: list = self._Snapshot(feedback_fn) if snapshots else list(self.disks)
      try:
        if snapshots:
          # the snapshots hold the data: the instance need not wait for the copy
          self._Restart(feedback_fn)
        disk_results = self._TransferDisks(feedback_fn, sources)
        finalized = self._Finalize(feedback_fn, disk_results)
      finally:
        if snapshots:
          self._RemoveSnapshots(feedback_fn, sources)
    finally:
      if activate:
        feedback_fn("Deactivating disks for %s" % inst.name)
        iu.ShutdownInstanceDisks(self, inst)
      if not snapshots:
        self._Restart(feedback_fn)
    if op.remove_instance:
      self._RemoveInstance(feedback_fn)
    self._RemoveOlderExports(feedback_fn)
    if not finalized:
      raise errors.OpExecError("Export failed, errors in export finalization")
    if not all(disk_results):
      failed = ", ".join(str(idx) for idx, ok in enumerate(disk_results) if not ok)
      raise errors.OpExecError("Export failed, errors in disk export: disk(s) %s" % failed)
    return finalized, disk_results

  def _Snapshot(self, feedback_fn: Any) -> list:
    """A snapshot device per disk on the primary node (False where one failed)."""
    inst = self.instance
    pnode_name = self.cfg.GetNodeName(inst.primary_node)
    snapshots: list = []
    for idx, disk in enumerate(self.disks):
      feedback_fn("Creating a snapshot of disk/%s on node %s" % (idx, pnode_name))
      result = self.rpc.call_blockdev_snapshot(inst.primary_node, (disk, inst), None, None)
      if result.fail_msg:
        self.LogWarning("Could not snapshot disk/%s on node %s: %s", idx, pnode_name,
                        result.fail_msg)
        snapshots.append(False)
        continue
      # an ExtStorage snapshot is a volume of the same provider; others are LVs
      kind = disk.dev_type if disk.dev_type == constants.DT_EXT else constants.DT_PLAIN
      # it stands for the disk in the export script's environment (DISK_0_UUID...)
      snapshots.append(objects.Disk(
        dev_type=kind, size=disk.size, logical_id=list(result.payload), mode=disk.mode,
        iv_name=disk.iv_name, name=disk.name, uuid=disk.uuid, nodes=[inst.primary_node],
        params=dict(disk.params or {}) if kind == constants.DT_EXT else {}))
    return snapshots

  def _RemoveSnapshots(self, feedback_fn: Any, snapshots: list) -> None:
    inst = self.instance
    pnode_name = self.cfg.GetNodeName(inst.primary_node)
    for idx, snapshot in enumerate(snapshots):
      if not snapshot:
        continue
      feedback_fn("Removing snapshot of disk/%s on node %s" % (idx, pnode_name))
      result = self.rpc.call_blockdev_remove(inst.primary_node, (snapshot, inst))
      if result.fail_msg:
        self.LogWarning("Could not remove snapshot for disk/%d from node %s: %s", idx,
                        pnode_name, result.fail_msg)

  def _TransferDisks(self, feedback_fn: Any, sources: list) -> list[bool]:
    """Copies each source (a disk or its snapshot; False: nothing to copy)."""
    inst = self.instance
    wanted = [(idx, disk, source) for idx, (disk, source) in enumerate(zip(self.disks, sources))
              if source]
    transfers = [
      transfer.DiskTransfer(
        disk.iv_name, inst.primary_node, (constants.IEIO_SCRIPT, [source, idx]),
        self.op.target_node_uuid,
        (constants.IEIO_FILE, [ExportPath(inst.name + ".new", disk.uuid)]))
      for idx, disk, source in wanted]
    done = transfer.TransferDisks(self, inst, transfers, self.op.compress, feedback_fn)
    results = [False] * len(self.disks)
    for (idx, _, _), ok in zip(wanted, done):
      results[idx] = ok
    return results

  def _Finalize(self, feedback_fn: Any, disk_results: list[bool]) -> bool:
    feedback_fn("Finalizing export on %s" % self.op.target_node)
    exported = [disk if ok else False for disk, ok in zip(self.disks, disk_results)]
    result = self.rpc.call_finalize_export(self.op.target_node_uuid, self.instance, exported)
    if result.fail_msg:
      self.LogWarning("Could not finalize export for instance %s on node %s: %s",
                      self.instance.name, self.op.target_node, result.fail_msg)
      return False
    return True

  def _Restart(self, feedback_fn: Any) -> None:
    inst = self.cfg.GetInstanceInfo(self.instance.uuid)
    if not (self.op.shutdown and inst.admin_state == constants.ADMINST_UP and
            not self.op.remove_instance):
      return
    feedback_fn("Starting instance %s" % inst.name)
    iu.StartInstanceDisks(self, inst)
    result = self.rpc.call_instance_start(inst.primary_node, (inst, None, None), False,
                                          self.op.reason)
    if result.fail_msg:
      iu.ShutdownInstanceDisks(self, inst)
      raise errors.OpExecError("Could not start instance: %s" % result.fail_msg)

  def _RemoveInstance(self, feedback_fn: Any) -> None:
    inst = self.instance
    feedback_fn("Removing instance %s" % inst.name)
    if not iu.RemoveDisks(self, inst, ignore_failures=self.op.ignore_remove_failures):
      raise errors.OpExecError("Can't remove instance's disks")
    self.cfg.RemoveInstance(inst.uuid)
    self.remove_locks[locking.LEVEL_INSTANCE] = [inst.name]

  def _RemoveOlderExports(self, feedback_fn: Any) -> None:
    """The new export replaces those of the instance on the other nodes."""
    feedback_fn("Removing old exports for instance %s" % self.instance.name)
    others = [uuid for uuid in self.cfg.GetNodeList()
              if uuid != self.op.target_node_uuid and
              not self.cfg.GetNodeInfo(uuid).offline]
    exports = self.rpc.call_export_list(others)
    for node_uuid, result in exports.items():
      if result.fail_msg or self.instance.name not in result.payload:
        continue
      removal = self.rpc.call_export_remove(node_uuid, self.instance.name)
      if removal.fail_msg:
        self.LogWarning("Could not remove older export for instance %s on node %s: %s",
                        self.instance.name, self.cfg.GetNodeName(node_uuid),
                        removal.fail_msg)


class LUBackupRemove(NoHooksLU):
  """Removes the exports of an instance (by name) from every node."""

  REQ_BGL = False

  def ExpandNames(self) -> None:
    self.share_locks = {locking.LEVEL_NODE: 1}
    self.needed_locks = {locking.LEVEL_NODE: locking.ALL_SET}

  def Exec(self, feedback_fn: Any) -> None:
    instance = self.cfg.GetInstanceInfoByName(self.op.instance_name)
    name = instance.name if instance is not None else self.op.instance_name
    locked = self.glm.list_owned(locking.LEVEL_NODE)
    found = False
    for node_uuid, exports in NodeExports(self, sorted(locked)).items():
      if name not in exports:
        continue
      found = True
      result = self.rpc.call_export_remove(node_uuid, name)
      if result.fail_msg:
        self.LogWarning("Could not remove export for instance %s on node %s: %s", name,
                        self.cfg.GetNodeName(node_uuid), result.fail_msg)
    if not found and instance is None:
      feedback_fn("Export not found. If trying to remove an export belonging to a deleted"
                  " instance please use its Fully Qualified Domain Name.")
