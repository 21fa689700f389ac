"""What the instance logical units share: finding and locking an instance
and its nodes, node and state checks, disk activation, free memory and the
hooks environment."""

from typing import Any, Iterable, Optional

from ganeti import constants
from ganeti import errors
from ganeti import locking
from ganeti import objects
from ganeti import paramdefs

# needed_locks values for the node levels, filled in by DeclareInstanceNodeLocks
LOCKS_OF_INSTANCE = "instance-nodes"


# --- finding and locking -----------------------------------------------------

def ExpandInstanceName(cfg: Any, name: str) -> str:
  """The full name of an instance (a unique prefix of a name component will do)."""
  full = cfg.ExpandInstanceName(name)
  if full is None:
    raise errors.OpPrereqError("Instance '%s' not known" % name, errors.ECODE_NOENT)
  return full


def LockInstance(lu: Any, node_levels: Iterable[int] = (locking.LEVEL_NODE,)) -> None:
  """ExpandNames for an LU acting on op.instance_name: the instance lock now,
  its nodes' locks (at the given levels) once the instance lock is held."""
  lu.op.instance_name = ExpandInstanceName(lu.cfg, lu.op.instance_name)
  lu.needed_locks = {locking.LEVEL_INSTANCE: [lu.op.instance_name]}
  for level in node_levels:
    lu.needed_locks[level] = LOCKS_OF_INSTANCE


def DeclareInstanceNodeLocks(lu: Any, level: int, primary_only: bool = False) -> None:
  """Turns LOCKS_OF_INSTANCE at a node level into the locked instances' nodes."""
  if lu.needed_locks.get(level) != LOCKS_OF_INSTANCE:
    return
  nodes: set[str] = set()
  for name in lu.glm.list_owned(locking.LEVEL_INSTANCE):
    inst = lu.cfg.GetInstanceInfoByName(name)
    if inst is None:
      continue
    nodes.update([inst.primary_node] if primary_only
                 else lu.cfg.GetInstanceNodes(inst.uuid))
  lu.needed_locks[level] = sorted(nodes)


def LockedInstance(lu: Any) -> objects.Instance:
  """The op's instance, read with its lock held (it may have gone meanwhile)."""
  inst = lu.cfg.GetInstanceInfoByName(lu.op.instance_name)
  if inst is None:
    raise errors.OpPrereqError("Instance '%s' not known" % lu.op.instance_name,
                               errors.ECODE_NOENT)
  return inst


# --- node and state checks -----------------------------------------------------

def CheckNodeOnline(lu: Any, node_uuid: str, msg: Optional[str] = None) -> None:
  if lu.cfg.GetNodeInfo(node_uuid).offline:
    raise errors.OpPrereqError("%s: %s" % (msg or "Can't use offline node",
                                           lu.cfg.GetNodeName(node_uuid)),
                               errors.ECODE_STATE)


def CheckNodeNotDrained(lu: Any, node_uuid: str) -> None:
  if lu.cfg.GetNodeInfo(node_uuid).drained:
    raise errors.OpPrereqError("Can't use drained node %s" % lu.cfg.GetNodeName(node_uuid),
                               errors.ECODE_STATE)


def CheckNodeVmCapable(lu: Any, node_uuid: str) -> None:
  if not lu.cfg.GetNodeInfo(node_uuid).vm_capable:
    raise errors.OpPrereqError("Can't use non-vm_capable node %s" %
                               lu.cfg.GetNodeName(node_uuid), errors.ECODE_STATE)


def CheckInstanceNotOffline(inst: objects.Instance, action: str) -> None:
  if inst.admin_state == constants.ADMINST_OFFLINE:
    raise errors.OpPrereqError("Instance '%s' is marked to be offline, cannot %s it" %
                               (inst.name, action), errors.ECODE_STATE)


def RunningInfoCall(lu: Any, inst: objects.Instance, node_uuid: str) -> tuple:
  """The call behind RunningInfo, for CallTogether."""
  hvparams = lu.cfg.GetClusterInfo().hvparams.get(inst.hypervisor, {})
  return ("instance_info", node_uuid, (inst.name, inst.hypervisor, hvparams))


def RunningInfo(lu: Any, inst: objects.Instance, node_uuid: Optional[str] = None,
                result: Any = None) -> Optional[dict]:
  """The hypervisor's view of the instance on a node (primary by default);
  None when it is not running there.  result: the answer to RunningInfoCall,
  when it was made already."""
  node_uuid = node_uuid or inst.primary_node
  if result is None:
    (result,) = lu.rpc.CallTogether([RunningInfoCall(lu, inst, node_uuid)])
  result.Raise("Error checking node %s" % lu.cfg.GetNodeName(node_uuid),
               prereq=True, ecode=errors.ECODE_ENVIRON)
  return result.payload or None


def NodeMemoryCall(lu: Any, node_uuid: str, hvname: str) -> tuple:
  """The call behind CheckNodeFreeMemory, for CallTogether."""
  hvparams = lu.cfg.GetClusterInfo().hvparams.get(hvname, {})
  return ("node_info", [node_uuid], ([], [(hvname, hvparams)]))


def CheckNodeFreeMemory(lu: Any, node_uuid: str, reason: str, requested: int,
                        hvname: str, results: Optional[dict] = None) -> int:
  """Refuses when the node's hypervisor reports less free memory than requested
  (MiB); returns the free memory.  results: the answers to NodeMemoryCall,
  when it was made already."""
  node_name = lu.cfg.GetNodeName(node_uuid)
  if results is None:
    (results,) = lu.rpc.CallTogether([NodeMemoryCall(lu, node_uuid, hvname)])
  result = results[node_uuid]
  result.Raise("Can't get data from node %s" % node_name, prereq=True,
               ecode=errors.ECODE_ENVIRON)
  _, _, (hv_info,) = result.payload
  free = hv_info.get("memory_free")
  if not isinstance(free, int):
    raise errors.OpPrereqError("Can't compute free memory on node %s, result was '%s'" %
                               (node_name, free), errors.ECODE_ENVIRON)
  if requested > free:
    raise errors.OpPrereqError("Not enough memory on node %s for %s: needed %s MiB,"
                               " available %s MiB" % (node_name, reason, requested, free),
                               errors.ECODE_NORES)
  return free


# --- NICs --------------------------------------------------------------------

def ReserveNicIp(lu: Any, ip: Optional[str], net_uuid: Optional[str], node_uuid: str,
                 conflicts_check: bool) -> Optional[str]:
  """A NIC's address (ip=pool: a free one), reserved in its network's pool
  for the running job; an address outside any network must not lie in a
  network of the node's group."""
  if net_uuid is None:
    if ip and conflicts_check:
      name, _ = lu.cfg.CheckIPInNodeGroup(ip, node_uuid)
      if name:
        raise errors.OpPrereqError("The requested IP address (%s) belongs to network %s,"
                                   " but the target NIC does not." % (ip, name),
                                   errors.ECODE_INVAL)
    return ip
  ec_id = lu.proc.GetECId()
  try:
    if ip is not None and ip.lower() == paramdefs.NIC_IP_POOL:
      return lu.cfg.GenerateIp(net_uuid, ec_id)
    if ip:
      lu.cfg.ReserveIp(net_uuid, ip, ec_id, check=conflicts_check)
  except errors.ReservationError as err:
    raise errors.OpPrereqError("IP address %s cannot be used: %s" % (ip, err),
                               errors.ECODE_NOTUNIQUE) from None
  return ip


# --- disks -------------------------------------------------------------------

def AssembleInstanceDisks(lu: Any, inst: objects.Instance,
                          ignore_secondaries: bool = False,
                          ignore_size: bool = False) -> tuple[bool, list]:
  """Activates the instance's disks on its nodes: secondaries first (as
  secondary), then the primary.  Returns (all ok, [(node name, iv_name,
  device path)] of the primary).

  While the secondaries set up their mirrors, the primary sets up the local
  halves of its own beside them; it connects them when it takes them up as
  primary.  Had it connected at once too, both ends of a mirror could start
  connecting at the same moment, miss each other's listener, and wait
  DRBD's whole connect interval (ten seconds).
  """
  del ignore_size  # sizes are recorded, never corrected here
  ok = True
  disks = lu.cfg.GetInstanceDisks(inst.uuid)
  pnode = inst.primary_node
  first_pass = []
  for idx, disk in enumerate(disks):
    for node_uuid in disk.nodes or [pnode]:
      if node_uuid != pnode:
        first_pass.append((node_uuid, disk, idx))
      elif disk.dev_type in constants.DTS_INT_MIRROR:
        first_pass.append((node_uuid, disk.LocalHalf(), idx))
  # marked active while they are being set up, so that the watcher does not
  # shut them down meanwhile
  results, _ = lu.rpc.CallWhile([
    ("blockdev_assemble", node_uuid, ((device, inst), inst, False, idx))
    for node_uuid, device, idx in first_pass], lambda: lu.cfg.MarkInstanceDisksActive(inst.uuid))
  for (node_uuid, disk, _), result in zip(first_pass, results):
    # the primary's half is taken up again below, which reports a failure
    if node_uuid != pnode and result.fail_msg:
      _WarnAssembly(lu, disk, node_uuid, False, result.fail_msg)
      # a secondary marked offline is known to be gone: the primary serves alone
      if not (ignore_secondaries or result.offline):
        ok = False
  device_info = []
  for idx, disk in enumerate(disks):
    result = lu.rpc.call_blockdev_assemble(pnode, (disk, inst), inst, True, idx)
    if result.fail_msg:
      _WarnAssembly(lu, disk, pnode, True, result.fail_msg)
      ok = False
    else:
      dev_path = result.payload[0] if isinstance(result.payload, (list, tuple)) else None
      device_info.append((lu.cfg.GetNodeName(pnode), disk.iv_name, dev_path))
  if not ok:
    lu.cfg.MarkInstanceDisksInactive(inst.uuid)
  return ok, device_info


def _WarnAssembly(lu: Any, disk: objects.Disk, node_uuid: str, on_primary: bool,
                  message: str) -> None:
  lu.LogWarning("Could not prepare block device %s on node %s (is_primary=%s, pass=%d): %s",
                disk.iv_name, lu.cfg.GetNodeName(node_uuid), on_primary,
                2 if on_primary else 1, message)


def ShutdownInstanceDisks(lu: Any, inst: objects.Instance,
                          ignore_primary: bool = False,
                          disks: Optional[list[objects.Disk]] = None) -> bool:
  """Deactivates the instance's disks everywhere; errors on the primary count
  unless ignore_primary.

  A DRBD primary cut from its peer starts a new data generation, which its
  peer would meet as a split brain.  So the primary node's mirrors stop
  being primary first, and then every node shuts its devices down at the
  same time; where they can't be made secondary (a device missing, or still
  in use), the primary node shuts its devices down before the others.
  """
  ok = True
  marked = disks is None
  if marked:
    disks = lu.cfg.GetInstanceDisks(inst.uuid)
  pnode = inst.primary_node
  steps = [(disk, node_uuid) for disk in disks
           for node_uuid in sorted(disk.nodes or [pnode], key=lambda uuid: uuid != pnode)]
  mirrors = [disk for disk in disks if disk.dev_type in constants.DTS_INT_MIRROR]
  closed, _ = lu.rpc.CallWhile(
    [("blockdev_close", pnode, (inst.name, (mirrors, inst)))] if mirrors else [],
    lambda: marked and lu.cfg.MarkInstanceDisksInactive(inst.uuid))
  if not mirrors or not closed[0].fail_msg:
    results = lu.rpc.CallTogether([("blockdev_shutdown", node_uuid, ((disk, inst),))
                                   for disk, node_uuid in steps])
  else:
    results = [lu.rpc.call_blockdev_shutdown(node_uuid, (disk, inst))
               for disk, node_uuid in steps]
  for (disk, node_uuid), result in zip(steps, results):
    if result.fail_msg and not result.offline:
      lu.LogWarning("Could not shutdown block device %s on node %s: %s", disk.iv_name,
                    lu.cfg.GetNodeName(node_uuid), result.fail_msg)
      if node_uuid != pnode or not ignore_primary:
        ok = False
  return ok


def StartInstanceDisks(lu: Any, inst: objects.Instance, force: bool = False) -> None:
  """Activates the disks for a start; a failure leaves them deactivated."""
  ok, _ = AssembleInstanceDisks(lu, inst, ignore_secondaries=force)
  if not ok:
    ShutdownInstanceDisks(lu, inst)
    if force:
      lu.LogWarning("Some disks could not be activated, trying to continue anyway")
      return
    raise errors.OpExecError("Disk consistency error")


def RemoveDisks(lu: Any, inst: objects.Instance,
                disks: Optional[list[objects.Disk]] = None,
                ignore_failures: bool = False) -> bool:
  """Removes the instance's block devices (and file storage directories)."""
  from ganeti.storage import filestorage  # pylint: disable=import-outside-toplevel
  ok = True
  disks = lu.cfg.GetInstanceDisks(inst.uuid) if disks is None else disks
  file_dirs = set()
  for disk in disks:
    for node_uuid in disk.nodes or [inst.primary_node]:
      result = lu.rpc.call_blockdev_remove(node_uuid, (disk, inst))
      if result.fail_msg:
        lu.LogWarning("Could not remove disk %s on node %s, continuing anyway: %s",
                      disk.iv_name, lu.cfg.GetNodeName(node_uuid), result.fail_msg)
        if not result.offline:
          ok = False
    if disk.dev_type in (constants.DT_FILE, constants.DT_SHARED_FILE):
      file_dirs.add((inst.primary_node, filestorage.DiskFileDir(disk.logical_id)))
  for node_uuid, directory in sorted(file_dirs):
    result = lu.rpc.call_file_storage_dir_remove(node_uuid, directory)
    if result.fail_msg:
      lu.LogWarning("Could not remove directory '%s' on node %s: %s", directory,
                    lu.cfg.GetNodeName(node_uuid), result.fail_msg)
      ok = False
  return ok or ignore_failures


# --- hooks -------------------------------------------------------------------

def InstanceHookEnv(lu: Any, inst: objects.Instance, override: Optional[dict] = None,
                    disks: Optional[list[objects.Disk]] = None,
                    disk_template: Optional[str] = None) -> dict[str, Any]:
  """The INSTANCE_* hook variables of an instance (the hooks runner adds
  GANETI_); disks and disk_template for an instance not yet configured."""
  cfg = lu.cfg
  cluster = cfg.GetClusterInfo()
  bep = cluster.FillBE(inst)
  hvp = cluster.FillHV(inst)
  if disks is None:
    disks = cfg.GetInstanceDisks(inst.uuid)
    disk_template = cfg.GetInstanceDiskTemplate(inst.uuid)
  secondary_uuids = {uuid for disk in disks for uuid in disk.nodes or ()} - {inst.primary_node}
  secondaries = sorted(cfg.GetNodeName(uuid) for uuid in secondary_uuids)
  env = {
    "INSTANCE_NAME": inst.name,
    "INSTANCE_UUID": inst.uuid,
    "INSTANCE_PRIMARY": cfg.GetNodeName(inst.primary_node),
    "INSTANCE_SECONDARIES": " ".join(secondaries),
    "INSTANCE_OS_TYPE": inst.os,
    "INSTANCE_STATUS": inst.admin_state,
    "INSTANCE_MAXMEM": bep[paramdefs.BE_MAXMEM],
    "INSTANCE_MINMEM": bep[paramdefs.BE_MINMEM],
    "INSTANCE_MEMORY": bep[paramdefs.BE_MAXMEM],
    "INSTANCE_VCPUS": bep[paramdefs.BE_VCPUS],
    "INSTANCE_DISK_TEMPLATE": disk_template,
    "INSTANCE_HYPERVISOR": inst.hypervisor,
    "INSTANCE_TAGS": " ".join(sorted(inst.tags or ())),
  }
  env["INSTANCE_NIC_COUNT"] = len(inst.nics)
  for idx, nic in enumerate(inst.nics):
    nicparams = cluster.SimpleFillNIC(nic.nicparams)
    prefix = "INSTANCE_NIC%d_" % idx
    env[prefix + "NAME"] = nic.name or ""
    env[prefix + "UUID"] = nic.uuid or ""
    env[prefix + "MAC"] = nic.mac
    env[prefix + "IP"] = nic.ip or ""
    env[prefix + "MODE"] = nicparams[paramdefs.NIC_MODE]
    env[prefix + "LINK"] = nicparams[paramdefs.NIC_LINK]
    env[prefix + "VLAN"] = nicparams.get(paramdefs.NIC_VLAN, "")
    if nic.network:
      net = cfg.GetNetwork(nic.network)
      env[prefix + "NETWORK_NAME"] = net.name if net else nic.network
    if nicparams[paramdefs.NIC_MODE] == paramdefs.NIC_MODE_BRIDGED:
      env[prefix + "BRIDGE"] = nicparams[paramdefs.NIC_LINK]
  env["INSTANCE_DISK_COUNT"] = len(disks)
  for idx, disk in enumerate(disks):
    prefix = "INSTANCE_DISK%d_" % idx
    env[prefix + "NAME"] = disk.name or ""
    env[prefix + "UUID"] = disk.uuid or ""
    env[prefix + "SIZE"] = disk.size
    env[prefix + "MODE"] = disk.mode
    env[prefix + "DEV_TYPE"] = disk.dev_type
  for source, kind in ((bep, "BE"), (hvp, "HV")):
    for key, value in source.items():
      env["INSTANCE_%s_%s" % (kind, key)] = value
  env.update(override or {})
  return env


def InstanceHookNodes(lu: Any, inst: objects.Instance) -> tuple[list[str], list[str]]:
  nodes = [lu.cfg.GetMasterNode()] + list(lu.cfg.GetInstanceNodes(inst.uuid))
  return nodes, nodes
