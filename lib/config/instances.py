"""Instances and their disks in the configuration writer."""

import os
import time
from typing import Any, Iterable, Optional

from ganeti import constants
from ganeti import errors
from ganeti import objects
from ganeti.config.common import DT_MIXED, CopyOrNone, Locked, MatchNameComponent, Writes

# Disk types whose logical_id holds a path containing the instance name
_FILE_DISK_TYPES = frozenset([constants.DT_FILE, constants.DT_SHARED_FILE,
                              constants.DT_GLUSTER])


class InstanceMixin:
  """ConfigWriter methods about instances and disks."""

  # Instances

  def _InstanceNodes(self, inst: objects.Instance) -> list[str]:
    """Primary node first, then the other nodes of the instance's disks."""
    result = [inst.primary_node]
    disks = self._config_data.disks
    for disk_uuid in inst.disks:
      disk = disks.get(disk_uuid)
      for node_uuid in (disk.nodes or ()) if disk else ():
        if node_uuid not in result:
          result.append(node_uuid)
    return result

  def _Instance(self, inst_uuid: str) -> objects.Instance:
    inst = self._config_data.instances.get(inst_uuid)
    if inst is None:
      raise errors.ConfigurationError("Unknown instance %s" % inst_uuid)
    return inst

  @Locked
  def GetInstanceInfo(self, inst_uuid: str) -> Optional[objects.Instance]:
    return CopyOrNone(self._config_data.instances.get(inst_uuid))

  def _InstanceByName(self, name: str) -> Optional[objects.Instance]:
    for inst in self._config_data.instances.values():
      if inst.name == name:
        return inst
    return None

  @Locked
  def GetInstanceInfoByName(self, inst_name: str) -> Optional[objects.Instance]:
    return CopyOrNone(self._InstanceByName(inst_name))

  @Locked
  def GetInstanceName(self, inst_uuid: str) -> Optional[str]:
    inst = self._config_data.instances.get(inst_uuid)
    return inst.name if inst else None

  @Locked
  def GetInstanceNames(self, inst_uuids: Iterable[str]) -> list[str]:
    instances = self._config_data.instances
    return [instances[uuid].name if uuid in instances else uuid for uuid in inst_uuids]

  @Locked
  def GetInstanceList(self) -> list[str]:
    return list(self._config_data.instances)

  @Locked
  def GetAllInstancesInfo(self) -> dict[str, objects.Instance]:
    """All instances by uuid (shared objects: read-only)."""
    return dict(self._config_data.instances)

  @Locked
  def GetMultiInstanceInfo(self, inst_uuids: Iterable[str]
                           ) -> list[tuple[str, Optional[objects.Instance]]]:
    instances = self._config_data.instances
    return [(uuid, CopyOrNone(instances.get(uuid))) for uuid in inst_uuids]

  @Locked
  def ExpandInstanceName(self, short_name: str) -> Optional[str]:
    """The full name of the instance short_name abbreviates, or None."""
    return MatchNameComponent(short_name, [inst.name for inst in
                                           self._config_data.instances.values()])

  @Locked
  def GetInstanceNodes(self, inst_uuid: str) -> tuple[str, ...]:
    """All nodes of the instance, the primary first."""
    return tuple(self._InstanceNodes(self._Instance(inst_uuid)))

  @Locked
  def GetInstanceSecondaryNodes(self, inst_uuid: str) -> tuple[str, ...]:
    return tuple(self._InstanceNodes(self._Instance(inst_uuid))[1:])

  @Locked
  def GetInstanceNodeGroups(self, inst_uuid: str, primary_only: bool = False
                            ) -> frozenset[str]:
    inst = self._Instance(inst_uuid)
    node_uuids = [inst.primary_node] if primary_only else self._InstanceNodes(inst)
    nodes = self._config_data.nodes
    return frozenset(nodes[uuid].group for uuid in node_uuids if uuid in nodes)

  @Locked
  def GetInstanceDisks(self, inst_uuid: str) -> list[objects.Disk]:
    """The instance's disks (copies), in order."""
    disks = self._config_data.disks
    return [disks[uuid].Copy() for uuid in self._Instance(inst_uuid).disks]

  @Locked
  def GetInstanceDiskTemplate(self, inst_uuid: str) -> str:
    """The disk template: diskless, the type all disks share, or "mixed"."""
    disks = self._config_data.disks
    types = {disks[uuid].dev_type for uuid in self._Instance(inst_uuid).disks
             if uuid in disks}
    if not types:
      return constants.DT_DISKLESS
    return types.pop() if len(types) == 1 else DT_MIXED

  @Locked
  def GetDiskInfo(self, disk_uuid: str) -> Optional[objects.Disk]:
    return CopyOrNone(self._config_data.disks.get(disk_uuid))

  @Locked
  def GetAllDisksInfo(self) -> dict[str, objects.Disk]:
    """All disks by uuid (shared objects: read-only)."""
    return dict(self._config_data.disks)

  def _AddDisk(self, disk: objects.Disk, ec_id: Any, now: float) -> None:
    self._EnsureUuid(disk, ec_id, self._config_data.disks)
    self._Stamp(disk, now)
    disk.UpgradeConfig()
    self._config_data.disks[disk.uuid] = disk

  @Writes
  def AddInstance(self, instance: objects.Instance, ec_id: Any = None) -> None:
    """Adds an instance.

    Its disks may be given as Disk objects (added too) or as uuids of disks
    already in the configuration; its MACs must be unused.
    """
    data = self._config_data
    if instance.primary_node not in data.nodes:
      raise errors.ConfigurationError("Instance '%s' has unknown primary node %s" %
                                      (instance.name, instance.primary_node))
    macs = self._AllMacs()
    for nic in instance.nics or ():
      if nic.mac in macs:
        raise errors.ConfigurationError("Cannot add instance %s: MAC address '%s'"
                                        " already in use." % (instance.name, nic.mac))
    new_disks = [disk for disk in instance.disks or () if isinstance(disk, objects.Disk)]
    for disk_uuid in instance.disks or ():
      if not isinstance(disk_uuid, objects.Disk) and disk_uuid not in data.disks:
        raise errors.ConfigurationError("Instance '%s' has unknown disk %s" %
                                        (instance.name, disk_uuid))
    now = self._AddNamed(instance, data.instances, "instance", ec_id)
    try:
      for nic in instance.nics:
        if not nic.uuid:
          nic.uuid = self._GenerateUniqueID(ec_id)
      for disk in new_disks:
        self._AddDisk(disk, ec_id, now)
    except errors.GenericError:
      self._config_data = self._Parse(self._last_saved)
      raise
    instance.disks = [disk.uuid if isinstance(disk, objects.Disk) else disk
                      for disk in instance.disks]
    self._WriteConfig()

  @Writes
  def RemoveInstance(self, inst_uuid: str) -> None:
    """Removes an instance together with its disks; their ports (and the
    instance's network port) go back to the cluster's pool."""
    inst = self._Instance(inst_uuid)
    disks = [self._config_data.disks.pop(disk_uuid) for disk_uuid in inst.disks
             if disk_uuid in self._config_data.disks]
    self._ReturnPorts(self._DrbdPorts(disks) + [inst.network_port])
    del self._config_data.instances[inst_uuid]
    self._WriteConfig()

  def _WritableInstance(self, inst_uuid: str, now: float) -> objects.Instance:
    """A copy replacing the stored instance, to change; its serial is bumped."""
    self._Instance(inst_uuid)
    inst = self._Writable("instances", inst_uuid)
    inst.serial_no += 1
    inst.mtime = now
    return inst

  @Writes
  def RenameInstance(self, inst_uuid: str, new_name: str) -> None:
    """Renames an instance, moving file-based disk paths to the new name."""
    current = self._Instance(inst_uuid)
    if any(other.name == new_name for other in self._config_data.instances.values()
           if other is not current):
      raise errors.ConfigurationError("Instance name '%s' already in use" % new_name)
    now = time.time()
    inst = self._WritableInstance(inst_uuid, now)
    inst.name = new_name
    for disk_uuid in inst.disks:
      if self._config_data.disks[disk_uuid].dev_type not in _FILE_DISK_TYPES:
        continue
      disk = self._Writable("disks", disk_uuid)
      driver, path = disk.logical_id
      base = os.path.dirname(os.path.dirname(path))
      disk.logical_id = [driver, os.path.join(base, new_name, os.path.basename(path))]
      disk.serial_no += 1
      disk.mtime = now
    self._WriteConfig()

  def _ChangeInstance(self, inst_uuid: str, **changes: Any) -> None:
    """Sets attributes of an instance and saves, if anything changed."""
    current = self._Instance(inst_uuid)
    if all(getattr(current, name) == value for name, value in changes.items()):
      return
    inst = self._WritableInstance(inst_uuid, time.time())
    for name, value in changes.items():
      setattr(inst, name, value)
    self._WriteConfig()

  @Writes
  def MarkInstanceUp(self, inst_uuid: str) -> None:
    """Marks the instance as started by the administrator (disks active)."""
    self._ChangeInstance(inst_uuid, admin_state=constants.ADMINST_UP,
                         admin_state_source=objects.ADMIN_SOURCE, disks_active=True)

  @Writes
  def MarkInstanceDown(self, inst_uuid: str) -> None:
    """Marks the instance as stopped by the administrator."""
    self._ChangeInstance(inst_uuid, admin_state=constants.ADMINST_DOWN,
                         admin_state_source=objects.ADMIN_SOURCE)

  @Writes
  def MarkInstanceUserDown(self, inst_uuid: str) -> None:
    """Marks the instance as shut down from inside (by its user)."""
    self._ChangeInstance(inst_uuid, admin_state=constants.ADMINST_DOWN,
                         admin_state_source=objects.USER_SOURCE)

  @Writes
  def MarkInstanceOffline(self, inst_uuid: str) -> None:
    self._ChangeInstance(inst_uuid, admin_state=constants.ADMINST_OFFLINE,
                         admin_state_source=objects.ADMIN_SOURCE, disks_active=False)

  @Writes
  def MarkInstanceDisksActive(self, inst_uuid: str) -> None:
    self._ChangeInstance(inst_uuid, disks_active=True)

  @Writes
  def MarkInstanceDisksInactive(self, inst_uuid: str) -> None:
    self._ChangeInstance(inst_uuid, disks_active=False)

  @Writes
  def SetInstancePrimaryNode(self, inst_uuid: str, node_uuid: str) -> None:
    if node_uuid not in self._config_data.nodes:
      raise errors.ConfigurationError("Unknown node %s" % node_uuid)
    self._ChangeInstance(inst_uuid, primary_node=node_uuid)

  def _DiskIndex(self, inst_uuid: str, idx: Optional[int]) -> int:
    """Checks a position to insert a disk at (None: at the end)."""
    inst = self._Instance(inst_uuid)
    if idx is None:
      return len(inst.disks)
    if not 0 <= idx <= len(inst.disks):
      raise errors.ConfigurationError("Invalid disk index %s for instance '%s'" %
                                      (idx, inst.name))
    return idx

  @Writes
  def AddInstanceDisk(self, inst_uuid: str, disk: objects.Disk,
                      idx: Optional[int] = None, ec_id: Any = None) -> None:
    """Adds a new disk to the configuration and to the instance (at idx)."""
    idx = self._DiskIndex(inst_uuid, idx)
    now = time.time()
    self._AddDisk(disk, ec_id, now)
    self._WritableInstance(inst_uuid, now).disks.insert(idx, disk.uuid)
    self._WriteConfig()

  @Writes
  def AttachInstanceDisk(self, inst_uuid: str, disk_uuid: str,
                         idx: Optional[int] = None) -> None:
    """Attaches a disk already in the configuration to the instance."""
    idx = self._DiskIndex(inst_uuid, idx)
    if disk_uuid not in self._config_data.disks:
      raise errors.ConfigurationError("Unknown disk %s" % disk_uuid)
    for other in self._config_data.instances.values():
      if disk_uuid in other.disks:
        raise errors.ConfigurationError("Disk %s is already attached to instance"
                                        " '%s'" % (disk_uuid, other.name))
    self._WritableInstance(inst_uuid, time.time()).disks.insert(idx, disk_uuid)
    self._WriteConfig()

  @Writes
  def DetachInstanceDisk(self, inst_uuid: str, disk_uuid: str) -> None:
    """Takes a disk off the instance; the disk stays in the configuration."""
    inst = self._Instance(inst_uuid)
    if disk_uuid not in inst.disks:
      raise errors.ConfigurationError("Disk %s is not attached to instance '%s'" %
                                      (disk_uuid, inst.name))
    self._WritableInstance(inst_uuid, time.time()).disks.remove(disk_uuid)
    self._WriteConfig()

  @Writes
  def RemoveInstanceDisk(self, inst_uuid: str, disk_uuid: str) -> None:
    """Takes a disk off the instance and out of the configuration."""
    inst = self._Instance(inst_uuid)
    if disk_uuid not in self._config_data.disks:
      raise errors.ConfigurationError("Unknown disk %s" % disk_uuid)
    if disk_uuid in inst.disks:
      self._WritableInstance(inst_uuid, time.time()).disks.remove(disk_uuid)
    self._ReturnPorts(self._DrbdPorts([self._config_data.disks.pop(disk_uuid)]))
    self._WriteConfig()

  @Locked
  def GetNodeInstances(self, node_uuid: str) -> tuple[list[str], list[str]]:
    """Uuids of the instances having node_uuid as (primary, secondary) node."""
    primary, secondary = [], []
    for inst_uuid, inst in self._config_data.instances.items():
      if inst.primary_node == node_uuid:
        primary.append(inst_uuid)
      elif node_uuid in self._InstanceNodes(inst):
        secondary.append(inst_uuid)
    return primary, secondary


  @Locked
  def GetNodeGroupInstances(self, group_uuid: str, primary_only: bool = False
                            ) -> frozenset[str]:
    """Uuids of the instances with a node (or the primary node) in the group."""
    nodes = self._config_data.nodes
    result = set()
    for inst_uuid, inst in self._config_data.instances.items():
      node_uuids = [inst.primary_node] if primary_only else self._InstanceNodes(inst)
      if any(nodes[uuid].group == group_uuid for uuid in node_uuids if uuid in nodes):
        result.add(inst_uuid)
    return frozenset(result)
