"""Looking at instances and changing their identity: the detailed
configuration and runtime state (gnt-instance info), the console, renaming
and reinstalling the OS."""

from typing import Any, Optional

from ganeti import constants
from ganeti import errors
from ganeti import hypervisor
from ganeti import locking
from ganeti import netutils
from ganeti import objects
from ganeti import paramdefs
from ganeti.cmdlib import instance_utils as iu
from ganeti.cmdlib.base import NoHooksLU
from ganeti.cmdlib.group import UpdateParams
from ganeti.cmdlib.instance_ops import _InstanceLU
from ganeti.hypervisor import hv_base
from ganeti.query import instances as query_instances
from ganeti.storage import filestorage

_FILE_BASED_TEMPLATES = frozenset([constants.DT_FILE, constants.DT_SHARED_FILE])
_KVM_USER_SHUTDOWN = "user_shutdown"  # KVM parameter

# run_state values of OP_INSTANCE_QUERY_DATA besides the admin states
_RUN_STATE_UP = "up"
_RUN_STATE_DOWN = "down"
_RUN_STATE_USER_DOWN = "user down"

# status an instance that is not running has, by admin state (console refusal)
_STOPPED_STATUS = {
  constants.ADMINST_UP: query_instances.STATUS_ERROR_DOWN,
  constants.ADMINST_DOWN: query_instances.STATUS_ADMIN_DOWN,
  constants.ADMINST_OFFLINE: query_instances.STATUS_ADMIN_OFFLINE,
}


def UserShutdownAllowed(cluster: objects.Cluster, inst: objects.Instance) -> bool:
  """Whether an instance may stay shut down when it stops itself."""
  if not cluster.enabled_user_shutdown:
    return False
  return (inst.hypervisor != constants.HT_KVM
          or bool(cluster.FillHV(inst).get(_KVM_USER_SHUTDOWN)))


def CheckInstanceState(lu: Any, inst: objects.Instance, allowed: frozenset[str],
                       action: str) -> None:
  """Refuses an instance whose admin state is not allowed; when "up" is not
  allowed, also one that is found running on its (online) primary node."""
  if inst.admin_state not in allowed:
    raise errors.OpPrereqError("Instance '%s' is marked to be %s, %s" %
                               (inst.name, inst.admin_state, action), errors.ECODE_STATE)
  if constants.ADMINST_UP in allowed:
    return
  pnode = lu.cfg.GetNodeInfo(inst.primary_node)
  if pnode.offline:
    return
  cluster = lu.cfg.GetClusterInfo()
  result = lu.rpc.call_instance_list([pnode.uuid], [inst.hypervisor],
                                     {inst.hypervisor:
                                      cluster.hvparams.get(inst.hypervisor, {})})[pnode.uuid]
  result.Raise("Can't contact node %s for instance information" % pnode.name,
               prereq=True, ecode=errors.ECODE_ENVIRON)
  if inst.name in (result.payload or ()):
    raise errors.OpPrereqError("Instance '%s' is running, %s" % (inst.name, action),
                               errors.ECODE_STATE)


# --- OP_INSTANCE_QUERY_DATA ----------------------------------------------------

def _StatusList(status: Optional[objects.BlockDevStatus]) -> Optional[list]:
  """A device status as the opcode result carries it: its fields in order."""
  if status is None:
    return None
  return [getattr(status, name) for name in objects.BlockDevStatus.FIELDS]


def _DrbdInfo(cfg: Any, disk: objects.Disk, pnode_uuid: str) -> Optional[dict]:
  """A DRBD disk's two sides, the instance's primary node first."""
  if disk.dev_type != constants.DT_DRBD8:
    return None
  node_a, node_b, port, minor_a, minor_b, secret = disk.logical_id
  sides = [(node_a, minor_a), (node_b, minor_b)]
  if node_b == pnode_uuid:
    sides.reverse()
  (primary, primary_minor), (secondary, secondary_minor) = sides
  return {"primary_node": cfg.GetNodeName(primary), "primary_minor": primary_minor,
          "secondary_node": cfg.GetNodeName(secondary), "secondary_minor": secondary_minor,
          "port": port, "secret": secret}


class LUInstanceQueryData(NoHooksLU):
  """Everything about instances: configuration, defaults and runtime state."""

  REQ_BGL = False

  def ExpandNames(self) -> None:
    if not self.op.static and not self.op.use_locking:
      self.LogWarning("Non-static data requested, locks need to be acquired")
    self.wanted_names = ([iu.ExpandInstanceName(self.cfg, name) for name in self.op.instances]
                         if self.op.instances else None)
    self.needed_locks = {}
    if self.op.use_locking:
      self.ShareAll()
      self.needed_locks = {
        locking.LEVEL_INSTANCE: self.wanted_names or locking.ALL_SET,
        locking.LEVEL_NODE: iu.LOCKS_OF_INSTANCE,
      }

  def DeclareLocks(self, level: int) -> None:
    if level == locking.LEVEL_NODE:
      iu.DeclareInstanceNodeLocks(self, level)

  def CheckPrereq(self) -> None:
    if self.wanted_names is not None:
      names = self.wanted_names
    elif self.op.use_locking:
      names = sorted(self.glm.list_owned(locking.LEVEL_INSTANCE))
    else:
      names = [inst.name for inst in self.cfg.GetAllInstancesInfo().values()]
    self.wanted = []
    for name in names:
      inst = self.cfg.GetInstanceInfoByName(name)
      if inst is None:
        raise errors.OpPrereqError("Instance '%s' not known" % name, errors.ECODE_NOENT)
      self.wanted.append(inst)

  def Exec(self, feedback_fn: Any) -> dict[str, dict]:
    return {inst.name: self._Describe(inst) for inst in self.wanted}

  def _RunState(self, inst: objects.Instance, pnode: objects.Node) -> Optional[str]:
    """The runtime state on the primary node (None in static mode or when
    the node is offline)."""
    if self.op.static:
      return None
    if pnode.offline:
      self.LogWarning("Primary node %s is marked offline, returning static information"
                      " only for instance %s" % (pnode.name, inst.name))
      return None
    cluster = self.cfg.GetClusterInfo()
    result = self.rpc.call_instance_info(pnode.uuid, inst.name, inst.hypervisor,
                                         cluster.hvparams.get(inst.hypervisor, {}))
    result.Raise("Error checking node %s" % pnode.name)
    info = result.payload
    if info and "state" in info:
      if hv_base.HvInstanceState.IsShutdown(info["state"]):
        return (_RUN_STATE_USER_DOWN if UserShutdownAllowed(cluster, inst)
                else _RUN_STATE_DOWN)
      return _RUN_STATE_UP
    if inst.admin_state == constants.ADMINST_UP:
      return _RUN_STATE_DOWN
    return inst.admin_state

  def _DeviceStatus(self, inst: objects.Instance, node_uuid: Optional[str],
                    disk: objects.Disk) -> Optional[list]:
    if self.op.static or node_uuid is None:
      return None
    result = self.rpc.call_blockdev_find(node_uuid, (disk, inst))
    if result.offline:
      return None
    result.Raise("Can't compute disk status for %s" % inst.name)
    return _StatusList(result.payload)

  def _DiskInfo(self, inst: objects.Instance, disk: objects.Disk) -> dict:
    """A disk with its status on the primary and (DRBD) secondary node."""
    pnode = inst.primary_node
    snode = None
    if disk.dev_type == constants.DT_DRBD8:
      snode = next((uuid for uuid in disk.logical_id[:2] if uuid != pnode), None)
    return {
      "iv_name": disk.iv_name,
      "dev_type": disk.dev_type,
      "logical_id": disk.logical_id,
      "drbd_info": _DrbdInfo(self.cfg, disk, pnode),
      "pstatus": self._DeviceStatus(inst, pnode, disk),
      "sstatus": self._DeviceStatus(inst, snode, disk),
      "children": [self._DiskInfo(inst, child) for child in disk.children or ()],
      "mode": disk.mode,
      "size": disk.size,
      "spindles": disk.spindles,
      "name": disk.name,
      "uuid": disk.uuid,
    }

  def _NicInfo(self, cluster: objects.Cluster, nic: objects.NIC) -> list:
    """[name, uuid, ip, mac, mode, link, vlan, network, network object]"""
    filled = cluster.SimpleFillNIC(nic.nicparams)
    network = self.cfg.GetNetwork(nic.network) if nic.network else None
    return [nic.name, nic.uuid, nic.ip, nic.mac, filled[paramdefs.NIC_MODE],
            filled[paramdefs.NIC_LINK], filled.get(paramdefs.NIC_VLAN, ""), nic.network,
            network.ToDict() if network is not None else None]

  def _Describe(self, inst: objects.Instance) -> dict[str, Any]:
    cfg = self.cfg
    cluster = cfg.GetClusterInfo()
    pnode = cfg.GetNodeInfo(inst.primary_node)
    pgroup = cfg.GetNodeGroup(pnode.group)
    snode_uuids = cfg.GetInstanceSecondaryNodes(inst.uuid)
    sgroups = [cfg.GetNodeGroup(cfg.GetNodeInfo(uuid).group) for uuid in snode_uuids]
    return {
      "name": inst.name,
      "config_state": inst.admin_state,
      "run_state": self._RunState(inst, pnode),
      "pnode": pnode.name,
      "pnode_group_uuid": pgroup.uuid,
      "pnode_group_name": pgroup.name,
      "snodes": [cfg.GetNodeName(uuid) for uuid in snode_uuids],
      "snodes_group_uuids": [group.uuid for group in sgroups],
      "snodes_group_names": [group.name for group in sgroups],
      "os": inst.os,
      "nics": [self._NicInfo(cluster, nic) for nic in inst.nics],
      "disk_template": cfg.GetInstanceDiskTemplate(inst.uuid),
      "disks": [self._DiskInfo(inst, disk) for disk in cfg.GetInstanceDisks(inst.uuid)],
      "hypervisor": inst.hypervisor,
      "network_port": inst.network_port,
      "hv_instance": inst.hvparams or {},
      "hv_actual": cluster.FillHV(inst, skip_globals=True),
      "be_instance": inst.beparams or {},
      "be_actual": cluster.FillBE(inst),
      "os_instance": inst.osparams or {},
      "os_actual": cluster.SimpleFillOS(inst.os, inst.osparams),
      "serial_no": inst.serial_no,
      "mtime": inst.mtime,
      "ctime": inst.ctime,
      "uuid": inst.uuid,
    }


# --- OP_INSTANCE_CONSOLE -------------------------------------------------------

class LUInstanceConsole(_InstanceLU):
  """How to connect to a running instance's console."""

  HPATH = None
  HTYPE = None
  PRIMARY_ONLY = True

  def ExpandNames(self) -> None:
    super().ExpandNames()
    self.ShareAll()

  def CheckPrereq(self) -> None:
    super().CheckPrereq()
    iu.CheckNodeOnline(self, self.instance.primary_node)

  def Exec(self, feedback_fn: Any) -> dict:
    inst = self.instance
    cfg = self.cfg
    cluster = cfg.GetClusterInfo()
    pnode = cfg.GetNodeInfo(inst.primary_node)
    result = self.rpc.call_instance_list([pnode.uuid], [inst.hypervisor],
                                         {inst.hypervisor:
                                          cluster.hvparams.get(inst.hypervisor, {})})
    result = result[pnode.uuid]
    result.Raise("Error checking node %s" % pnode.name)
    if inst.name not in (result.payload or ()):
      raise errors.OpExecError("Instance %s is not running (state %s)" %
                               (inst.name, _STOPPED_STATUS[inst.admin_state]))
    hv_class = hypervisor.GetHypervisorClass(inst.hypervisor)
    console = hv_class.GetInstanceConsole(inst, pnode, cfg.GetNodeGroup(pnode.group),
                                          cluster.FillHV(inst), cluster.FillBE(inst))
    console.Validate()
    return console.ToDict()


# --- OP_INSTANCE_RENAME --------------------------------------------------------

class LUInstanceRename(_InstanceLU):
  """Gives a stopped instance a new name (config, file storage, OS script, lock)."""

  HPATH = "instance-rename"
  # no node locks: the instance lock changes its name in Exec, which the lock
  # order allows only while no higher level is held
  NODE_LEVELS = ()

  def CheckArguments(self) -> None:
    if self.op.ip_check and not self.op.name_check:
      raise errors.OpPrereqError("IP address check requires a name check",
                                 errors.ECODE_INVAL)

  def ExpandNames(self) -> None:
    super().ExpandNames()
    self.new_ip = None
    if self.op.name_check:
      self.op.new_name, self.new_ip = netutils.ResolveNodeName(self.op.new_name)
    if self.cfg.GetInstanceInfoByName(self.op.new_name) is not None:
      raise errors.OpPrereqError("Instance '%s' is already in the cluster" %
                                 self.op.new_name, errors.ECODE_EXISTS)

  def CheckPrereq(self) -> None:
    super().CheckPrereq()
    inst = self.instance
    iu.CheckNodeOnline(self, inst.primary_node)
    CheckInstanceState(self, inst, frozenset([constants.ADMINST_DOWN,
                                              constants.ADMINST_OFFLINE]), "cannot rename")
    if (self.new_ip and self.op.ip_check and
        netutils.TcpPing(self.new_ip, constants.DEFAULT_NODED_PORT)):
      raise errors.OpPrereqError("IP %s of instance %s already in use" %
                                 (self.new_ip, self.op.new_name), errors.ECODE_NOTUNIQUE)

  def HookOverrides(self) -> dict[str, Any]:
    return {"INSTANCE_NEW_NAME": self.op.new_name}

  def Exec(self, feedback_fn: Any) -> str:
    cfg = self.cfg
    inst = self.instance
    old_name = inst.name
    pnode_name = cfg.GetNodeName(inst.primary_node)
    old_dir = self._FileStorageDir(inst)
    self._RenameInConfig(inst)
    inst = cfg.GetInstanceInfo(inst.uuid)
    if old_dir is not None:
      new_dir = self._FileStorageDir(inst)
      result = self.rpc.call_file_storage_dir_rename(inst.primary_node, old_dir, new_dir)
      result.Raise("Could not rename on node %s directory '%s' to '%s' (but the instance"
                   " has been renamed in Ganeti)" % (pnode_name, old_dir, new_dir))
    iu.StartInstanceDisks(self, inst)
    try:
      result = self.rpc.call_instance_run_rename(inst.primary_node, inst, old_name,
                                                 self.op.debug_level or 0)
      if result.fail_msg:
        self.LogWarning("Could not run OS rename script for instance %s on node %s (but"
                        " the instance has been renamed in Ganeti): %s",
                        inst.name, pnode_name, result.fail_msg)
    finally:
      iu.ShutdownInstanceDisks(self, inst)
    return inst.name

  def _RenameInConfig(self, inst: objects.Instance) -> None:
    """Renames the instance and its lock together: from now on the instance
    is known (and locked) by its new name only."""
    level = locking.LEVEL_INSTANCE
    try:
      self.glm.add(level, [self.op.new_name], acquired=True)
    except errors.LockError:
      raise errors.OpPrereqError("Instance '%s' is already in the cluster" %
                                 self.op.new_name, errors.ECODE_EXISTS) from None
    try:
      self.cfg.RenameInstance(inst.uuid, self.op.new_name)
    except Exception:
      self.glm.remove(level, [self.op.new_name])
      raise
    self.glm.remove(level, [inst.name])

  def _FileStorageDir(self, inst: objects.Instance) -> Optional[str]:
    """The directory of a file-based instance's disks (None for other templates)."""
    disks = self.cfg.GetInstanceDisks(inst.uuid)
    if not disks or disks[0].dev_type not in _FILE_BASED_TEMPLATES:
      return None
    return filestorage.DiskFileDir(disks[0].logical_id)


# --- OP_INSTANCE_REINSTALL -----------------------------------------------------

class LUInstanceReinstall(_InstanceLU):
  """Runs the OS create script again on a stopped instance, maybe another OS."""

  HPATH = "instance-reinstall"
  PRIMARY_ONLY = True

  def CheckPrereq(self) -> None:
    super().CheckPrereq()
    op = self.op
    inst = self.instance
    iu.CheckNodeOnline(self, inst.primary_node, "Instance primary node offline, cannot"
                       " reinstall")
    if not self.cfg.GetInstanceDisks(inst.uuid):
      raise errors.OpPrereqError("Instance '%s' has no disks" % inst.name,
                                 errors.ECODE_INVAL)
    CheckInstanceState(self, inst, frozenset([constants.ADMINST_DOWN]), "cannot reinstall")
    self.os_name = op.os_type or inst.os
    self.osparams = UpdateParams(inst.osparams, op.osparams or {})
    self.osparams_private = UpdateParams(inst.osparams_private, op.osparams_private or {})
    if op.os_type or op.osparams or op.osparams_private or op.osparams_secret:
      cluster = self.cfg.GetClusterInfo()
      full = cluster.SimpleFillOS(self.os_name, self.osparams, self.osparams_private,
                                  op.osparams_secret)
      nodes = list(self.cfg.GetInstanceNodes(inst.uuid))
      results = self.rpc.call_os_validate(nodes, True, self.os_name,
                                          [constants.OS_VALIDATE_PARAMETERS], full,
                                          op.force_variant)
      for node_uuid in nodes:
        results[node_uuid].Raise("OS Parameters validation failed on node %s" %
                                 self.cfg.GetNodeName(node_uuid))

  def Exec(self, feedback_fn: Any) -> None:
    op = self.op
    inst = self.instance
    if op.os_type is not None:
      feedback_fn("Changing OS scripts to '%s'..." % op.os_type)
      inst.os = op.os_type
    if op.osparams is not None:
      inst.osparams = self.osparams
    if op.osparams_private is not None:
      inst.osparams_private = self.osparams_private
    self.cfg.Update(inst, feedback_fn)
    inst = self.cfg.GetInstanceInfo(inst.uuid)
    iu.StartInstanceDisks(self, inst)
    try:
      self.LogInfo("Running instance OS create scripts...")
      extra = objects.FillDict(inst.osparams_private or {}, op.osparams_secret or {})
      result = self.rpc.call_instance_os_add(inst.primary_node, (inst, extra), True,
                                             op.debug_level or 0)
      result.Raise("Could not install OS for instance %s on node %s" %
                   (inst.name, self.cfg.GetNodeName(inst.primary_node)))
    finally:
      iu.ShutdownInstanceDisks(self, inst)
