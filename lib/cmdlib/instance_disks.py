"""Disks on logical volumes (templates plain and drbd): their layout in the
configuration, free space checks, creation on the nodes (undone completely
when a step fails) and waiting for mirrors to synchronize.

A plain disk is one LV "<uuid>.disk<N>" on the primary node.  A drbd disk
is a DRBD device on the primary and the secondary node over two LVs on
each, "<uuid>.disk<N>_data" (the disk's size) and "<uuid>.disk<N>_meta"
(DRBD's metadata); its logical id is (primary, secondary, port, primary
minor, secondary minor, shared secret).
"""

import functools
import time
from typing import Any, Callable, Iterable, Optional

from ganeti import constants
from ganeti import errors
from ganeti import objects
from ganeti import paramdefs as pd
from ganeti.storage.drbd import META_SIZE as DRBD_META_SIZE
from ganeti.utils.text import FormatSeconds

# Templates whose disks live on logical volumes
LVM_TEMPLATES = frozenset([constants.DT_PLAIN, constants.DT_DRBD8])

# Waiting for synchronization: failed status queries tolerated in a row, the
# pause after one, the longest pause between progress reports (seconds), and
# the pauses before asking a finished but degraded mirror again: short at
# first (a mirror just made is usually connected within a fraction of a
# second), about ten seconds in all
_STATUS_RETRIES = 10
_STATUS_RETRY_PAUSE = 6
_MAX_POLL_PAUSE = 60
_DEGRADED_PAUSES = (0.1, 0.2, 0.4, 0.8) + (1.0,) * 9
# seconds to wait when a node gives no time estimate
_NO_ESTIMATE_PAUSE = 5
# the pause between two progress reports is DRBD's estimate of the time
# left, at least this (a resync about to end is estimated to need 0 s for a
# few looks in a row); the node answers at the resync's end, however long
# the pause ("2m 43s remaining" was seen for a resync over in 2 s)
_MIN_POLL_PAUSE = 1.0
# seconds of waiting without any resync progress after which the wait fails
_MAX_STALL = 3600

# pauses go through here so that tests can count them instead of waiting
Sleep: Callable[[float], None] = time.sleep


# --- layout ----------------------------------------------------------------------

def UniqueLvPrefixes(lu: Any, indices: Iterable[int], template: str = "") -> list[str]:
  """"<new uuid>.disk<N>" for each disk index ("<new uuid>.<template>.disk<N>"
  for volumes outside LVM: ext and rbd)."""
  ec_id = lu.proc.GetECId()
  infix = "" if template in LVM_TEMPLATES or not template else "." + template
  return ["%s%s.disk%d" % (lu.cfg.GenerateUniqueID(ec_id), infix, idx) for idx in indices]


def NewLv(lu: Any, vg: str, name: str, size: int, nodes: list[str],
          spindles: Optional[int] = None) -> objects.Disk:
  """A logical volume's configuration object, with a new uuid."""
  return objects.Disk(dev_type=constants.DT_PLAIN, size=size, logical_id=[vg, name],
                      nodes=list(nodes), spindles=spindles, params={},
                      uuid=lu.cfg.GenerateUniqueID(lu.proc.GetECId()))


def _PlainDisk(lu: Any, idx: int, spec: dict, lv_prefix: str, pnode: str,
               snode: Optional[str]) -> objects.Disk:
  del snode  # not mirrored
  disk = NewLv(lu, spec["vg"], lv_prefix, spec["size"], [pnode], spec.get("spindles"))
  disk.mode = spec["mode"]
  disk.name = spec.get("name")
  disk.iv_name = "disk/%d" % idx
  return disk


def _DrbdDisk(lu: Any, idx: int, spec: dict, lv_prefix: str, pnode: str,
              snode: Optional[str]) -> objects.Disk:
  cfg = lu.cfg
  ec_id = lu.proc.GetECId()
  nodes = [pnode, snode]
  disk_uuid = cfg.GenerateUniqueID(ec_id)
  pminor, sminor = cfg.AllocateDRBDMinor(nodes, disk_uuid, ec_id)
  secret = cfg.GenerateDRBDSecret(ec_id)
  children = [NewLv(lu, spec["vg"], lv_prefix + "_data", spec["size"], nodes,
                  spec.get("spindles")),
              NewLv(lu, spec["metavg"], lv_prefix + "_meta", DRBD_META_SIZE, nodes)]
  return objects.Disk(dev_type=constants.DT_DRBD8, size=spec["size"], mode=spec["mode"],
                      name=spec.get("name"), spindles=spec.get("spindles"),
                      iv_name="disk/%d" % idx, children=children, nodes=nodes, params={},
                      logical_id=[pnode, snode, None, pminor, sminor, secret],
                      uuid=disk_uuid)


def _ExternalDisk(lu: Any, idx: int, spec: dict, name: str, pnode: str,
                  snode: Optional[str], template: str) -> objects.Disk:
  """An ext or rbd disk: (provider or "rbd", volume name); an ext disk's
  parameters carry its provider and the provider's own parameters."""
  del snode  # reachable from every node: no secondary
  if template == constants.DT_EXT:
    logical_id = [spec["provider"], name]
    params = dict(spec.get("ext_params") or {}, provider=spec["provider"])
  else:
    logical_id = ["rbd", name]
    params = {}
  if spec.get("access"):
    params["access"] = spec["access"]
  return objects.Disk(dev_type=template, size=spec["size"], mode=spec["mode"],
                      name=spec.get("name"), spindles=spec.get("spindles"),
                      iv_name="disk/%d" % idx, logical_id=logical_id, nodes=[pnode],
                      params=params, uuid=lu.cfg.GenerateUniqueID(lu.proc.GetECId()))


_BUILDERS = {
  constants.DT_PLAIN: _PlainDisk,
  constants.DT_DRBD8: _DrbdDisk,
  constants.DT_EXT: functools.partial(_ExternalDisk, template=constants.DT_EXT),
  constants.DT_RBD: functools.partial(_ExternalDisk, template=constants.DT_RBD),
}
# templates whose devices are made by blockdev_create on their nodes
CREATED_TEMPLATES = frozenset(_BUILDERS)


def CheckProviders(template: str, specs: list[dict]) -> None:
  """Only ext disks name a provider (each must) and have provider parameters."""
  for spec in specs:
    if template == constants.DT_EXT:
      if not spec.get("provider"):
        raise errors.OpPrereqError("Missing provider for template '%s'" % constants.DT_EXT,
                                   errors.ECODE_INVAL)
      continue
    if spec.get("provider"):
      raise errors.OpPrereqError("The 'provider' option is only valid for the %s disk"
                                 " template, not %s" % (constants.DT_EXT, template),
                                 errors.ECODE_INVAL)
    unknown = sorted(spec.get("ext_params") or ())
    if unknown:
      raise errors.OpPrereqError("Unknown parameter '%s'" % unknown[0], errors.ECODE_INVAL)


def FillVolumeGroups(cfg: Any, specs: list[dict]) -> None:
  """Gives every disk spec its volume groups: its own or the cluster's (data),
  the drbd "metavg" parameter (metadata)."""
  cluster = cfg.GetClusterInfo()
  drbd_params = cluster.diskparams.get(constants.DT_DRBD8, {})
  default_metavg = drbd_params.get(pd.DRBD_DEFAULT_METAVG) or cluster.volume_group_name
  for spec in specs:
    spec["vg"] = spec.get("vg") or cluster.volume_group_name
    spec["metavg"] = spec.get("metavg") or default_metavg or spec["vg"]


def GenerateDisks(lu: Any, template: str, specs: list[dict], pnode: str,
                  snode: Optional[str], base_index: int = 0) -> list[objects.Disk]:
  """New configuration objects for disks of template (one of CREATED_TEMPLATES);
  their uuids, DRBD minors and secrets stay reserved for the job.  DRBD disks
  get their ports from AllocatePorts, once they are about to be made."""
  builder = _BUILDERS[template]
  indices = range(base_index, base_index + len(specs))
  return [builder(lu, idx, spec, prefix, pnode, snode)
          for idx, spec, prefix in zip(indices, specs,
                                       UniqueLvPrefixes(lu, indices, template))]


def AllocatePorts(lu: Any, disks: Iterable[objects.Disk]) -> None:
  """Takes a port from the cluster's pool for each new DRBD disk (in the
  configuration at once: ReleaseDisks gives them back if the disks are not
  used)."""
  for disk in disks:
    if disk.dev_type == constants.DT_DRBD8 and disk.logical_id[2] is None:
      disk.logical_id[2] = lu.cfg.AllocatePort()


def ReleaseDisks(lu: Any, disks: Iterable[objects.Disk]) -> None:
  """Gives back the minors and ports of disks that never reached the
  configuration."""
  for disk in disks:
    if disk.dev_type == constants.DT_DRBD8:
      lu.cfg.ReleaseDRBDMinors(disk.uuid)
      if disk.logical_id[2] is not None:
        lu.cfg.AddTcpUdpPort(disk.logical_id[2])


def SpacePerVolumeGroup(template: str, specs: Iterable[dict]) -> dict[str, int]:
  """MiB each volume group of a node must offer for the disks."""
  needed: dict[str, int] = {}
  for spec in specs:
    needed[spec["vg"]] = needed.get(spec["vg"], 0) + spec["size"]
    if template == constants.DT_DRBD8:
      needed[spec["metavg"]] = needed.get(spec["metavg"], 0) + DRBD_META_SIZE
  return needed


def _NodeExclusiveStorage(lu: Any, node_uuid: str) -> bool:
  return bool(lu.cfg.GetNdParams(lu.cfg.GetNodeInfo(node_uuid)).get(pd.ND_EXCLUSIVE_STORAGE))


def CheckSpindles(lu: Any, node_uuids: list[str], specs: Iterable[dict]) -> None:
  """Spindles must be given for disks on nodes with exclusive storage, and
  only there."""
  exclusive = any(_NodeExclusiveStorage(lu, node_uuid) for node_uuid in node_uuids)
  for spec in specs:
    given = spec.get("spindles") is not None
    if exclusive and not given:
      raise errors.OpPrereqError("You must specify spindles in instance disks when"
                                 " exclusive storage is active", errors.ECODE_INVAL)
    if given and not exclusive:
      raise errors.OpPrereqError("Spindles in instance disks cannot be specified when"
                                 " exclusive storage is not active", errors.ECODE_INVAL)


def CheckFreeSpace(lu: Any, node_uuids: list[str], needed: dict[str, int]) -> None:
  """Refuses nodes whose volume groups lack the space needed (under exclusive
  storage the node counts the free space of whole PVs)."""
  cfg = lu.cfg
  exclusive = {node_uuid: _NodeExclusiveStorage(lu, node_uuid) for node_uuid in node_uuids}
  for vg, size in sorted(needed.items()):
    # the nodes answer together, one call per kind of storage unit
    results = {}
    for flag in sorted(set(exclusive.values())):
      results.update(lu.rpc.call_node_info(
        [uuid for uuid in node_uuids if exclusive[uuid] == flag],
        [(constants.ST_LVM_VG, vg, [flag])], None))
    for node_uuid in node_uuids:
      name = cfg.GetNodeName(node_uuid)
      result = results[node_uuid]
      result.Raise("Cannot get current information from node %s" % name, prereq=True,
                   ecode=errors.ECODE_ENVIRON)
      storage = result.payload[1]
      free = storage[0].get("storage_free") if storage else None
      if not isinstance(free, int):
        raise errors.OpPrereqError("Can't compute free disk space on node %s for vg %s,"
                                   " result was '%s'" % (name, vg, free),
                                   errors.ECODE_ENVIRON)
      if size > free:
        raise errors.OpPrereqError("Not enough disk space on target node %s vg %s:"
                                   " required %d MiB, available %d MiB" %
                                   (name, vg, size, free), errors.ECODE_NORES)


# --- creation --------------------------------------------------------------------

def ExclusiveStorage(lu: Any, node_uuid: str, device: objects.Disk) -> bool:
  """Whether the device is an LV on a node with exclusive storage (whole PVs
  per LV); DRBD devices themselves never are."""
  return device.dev_type == constants.DT_PLAIN and _NodeExclusiveStorage(lu, node_uuid)


def _CreateArgs(lu: Any, inst: objects.Instance, node_uuid: str, device: objects.Disk,
                on_primary: bool) -> tuple:
  """blockdev_create's arguments after the node, for one device."""
  return ((device, inst), device.size, inst.name, on_primary, "originstname+%s" % inst.name,
          ExclusiveStorage(lu, node_uuid, device))


def CreateDevice(lu: Any, inst: objects.Instance, node_uuid: str, device: objects.Disk,
                 on_primary: bool) -> Any:
  """Asks a node to create one device (its children must exist there)."""
  return lu.rpc.call_blockdev_create(node_uuid,
                                     *_CreateArgs(lu, inst, node_uuid, device, on_primary))


def _CreationRounds(disk: objects.Disk, pnode: str) -> list[dict[str, objects.Disk]]:
  """{node: device} per round: every node of the disk makes its devices
  children first, parent last, and the nodes make them side by side (the
  primary listed first).  A mirror's primary makes its own device as the
  local half only (see CreateDisks)."""
  nodes = [pnode] + [uuid for uuid in disk.nodes or [pnode] if uuid != pnode]
  rounds = [{node_uuid: child for node_uuid in nodes} for child in disk.children or ()]
  if disk.dev_type in constants.DTS_INT_MIRROR:
    return rounds + [{node_uuid: disk.LocalHalf() if node_uuid == pnode else disk
                      for node_uuid in nodes}]
  return rounds + [{node_uuid: disk for node_uuid in nodes}]


def CreateDisks(lu: Any, inst: objects.Instance, disks: list[objects.Disk]) -> None:
  """Creates the devices of disks on their nodes, in one send: each node
  makes its devices one after the other, children before their parent, and
  the nodes side by side.  After a failure removes every device created and
  raises OpExecError (naming the first failure, the primary's first).

  A mirror's primary sets up its device off the network, beside its peers
  that set up theirs and start listening; it connects once they did.  Two
  DRBD devices that start connecting at the same moment can both miss the
  other's listener, and then wait DRBD's whole connect interval (ten
  seconds) before trying again.
  """
  pnode = inst.primary_node
  steps = [(disk, node_uuid, device) for disk in disks
           for devices in _CreationRounds(disk, pnode) for node_uuid, device in devices.items()]
  results = lu.rpc.CallTogether([
    ("blockdev_create", node_uuid, _CreateArgs(lu, inst, node_uuid, device, node_uuid == pnode))
    for _, node_uuid, device in steps])
  created = [(node_uuid, device) for (_, node_uuid, device), result in zip(steps, results)
             if not result.fail_msg]
  try:
    for (disk, node_uuid, _), result in zip(steps, results):
      result.Raise("Can't create block device %s on node %s for instance %s" %
                   (disk.iv_name, lu.cfg.GetNodeName(node_uuid), inst.name))
    mirrors = [disk for disk in disks if disk.dev_type in constants.DTS_INT_MIRROR]
    connected = lu.rpc.CallTogether([("drbd_attach_net", [pnode], (([disk], inst), False))
                                     for disk in mirrors])
    for disk, result in zip(mirrors, connected):
      result[pnode].Raise("Can't connect block device %s on node %s for instance %s" %
                          (disk.iv_name, lu.cfg.GetNodeName(pnode), inst.name))
  except errors.OpExecError:
    UndoCreation(lu, inst, created)
    raise


def CreateDevicesOn(lu: Any, inst: objects.Instance, node_uuid: str,
                    devices: list[objects.Disk]) -> None:
  """Creates devices (children before parents, asked in one send) on one
  node where the instance is not primary; after a failure removes those
  created and raises OpExecError."""
  results = lu.rpc.CallTogether([
    ("blockdev_create", node_uuid, _CreateArgs(lu, inst, node_uuid, device, False))
    for device in devices])
  failed = [result.fail_msg for result in results if result.fail_msg]
  if failed:
    UndoCreation(lu, inst, [(node_uuid, device) for device, result in zip(devices, results)
                            if not result.fail_msg])
    raise errors.OpExecError("Can't create block device: %s" % failed[0])


def UndoCreation(lu: Any, inst: objects.Instance,
                 created: list[tuple[str, objects.Disk]]) -> None:
  """Removes created devices, parents before their children."""
  for node_uuid, device in reversed(created):
    result = lu.rpc.call_blockdev_remove(node_uuid, (device, inst))
    if result.fail_msg:
      lu.LogWarning("Failed to remove newly-created disk %s on node %s: %s",
                    device.iv_name or device.logical_id, lu.cfg.GetNodeName(node_uuid),
                    result.fail_msg)


# --- synchronization ---------------------------------------------------------------

def _ReportProgress(lu: Any, node_name: str, disks: list[objects.Disk],
                    statuses: list) -> tuple[bool, bool, float, float]:
  """Logs each resyncing disk's progress; (all in sync, some degraded without
  resync, seconds until the next look, total percentage done)."""
  done, degraded, pause, total = True, False, 0.0, 0.0
  for disk, status in zip(disks, statuses):
    if status is None:
      lu.LogWarning("Can't compute data for node %s/%s", node_name, disk.iv_name)
      continue
    degraded = degraded or (status.is_degraded and status.sync_percent is None)
    if status.sync_percent is None:
      continue
    done = False
    total += status.sync_percent
    if status.estimated_time is not None:
      remaining = "%s remaining (estimated)" % FormatSeconds(status.estimated_time)
      pause = max(pause, status.estimated_time)
    else:
      remaining = "no time estimate"
      pause = max(pause, _NO_ESTIMATE_PAUSE)
    lu.LogInfo("- device %s: %5.2f%% done, %s", disk.iv_name, status.sync_percent,
               remaining)
  return done, degraded, pause, total


def WaitForSync(lu: Any, inst: objects.Instance,
                disks: Optional[list[objects.Disk]] = None, oneshot: bool = False) -> bool:
  """Waits until the primary reports the disks' mirrors in sync (logging the
  progress); False if a disk is degraded in the end."""
  disks = lu.cfg.GetInstanceDisks(inst.uuid) if disks is None else disks
  if not disks:
    return True
  node_uuid = inst.primary_node
  node_name = lu.cfg.GetNodeName(node_uuid)
  if not oneshot:
    lu.LogInfo("Waiting for instance %s to sync disks", inst.name)
  failures = 0
  degraded_pauses = list(_DEGRADED_PAUSES)
  best, stalled_for = -1.0, 0.0
  # the pause before the next look is spent on the node, which answers as
  # soon as the resync ends
  pause = 0.0
  while True:
    result = lu.rpc.call_blockdev_wait_mirror_sync(node_uuid, (disks, inst), pause)
    pause = 0.0
    if result.fail_msg:
      lu.LogWarning("Can't get any data from node %s: %s", node_name, result.fail_msg)
      failures += 1
      if failures >= _STATUS_RETRIES:
        raise errors.RemoteError("Can't contact node %s for mirror data, aborting." %
                                 node_name)
      Sleep(_STATUS_RETRY_PAUSE)
      continue
    failures = 0
    done, degraded, estimate, total = _ReportProgress(lu, node_name, disks, result.payload)
    if (done or oneshot) and degraded and degraded_pauses:
      # a mirror that just finished (or was just made) may report degraded
      # for a moment
      Sleep(degraded_pauses.pop(0))
      continue
    if done or oneshot:
      break
    # the wait ends when the resync stops moving for too long (the node
    # waited each pause out: the resync went on)
    best, stalled_for = (total, 0.0) if total > best else (best, stalled_for)
    if stalled_for >= _MAX_STALL:
      raise errors.OpExecError("The disks of instance %s made no sync progress for %d"
                               " seconds, aborting" % (inst.name, stalled_for))
    pause = max(_MIN_POLL_PAUSE, min(_MAX_POLL_PAUSE, estimate))
    stalled_for += pause
  if done:
    lu.LogInfo("Instance %s's disks are in sync", inst.name)
  return not degraded


# --- consistency ---------------------------------------------------------------------

def DiskConsistent(lu: Any, inst: objects.Instance, disk: objects.Disk, node_uuid: str,
                   on_primary: bool, ldisk: bool = False) -> bool:
  """Whether the disk's devices on node_uuid are healthy: not degraded (or,
  with ldisk, with local storage in order).  On a secondary node only the
  devices active there (mirrors) are asked."""
  if on_primary and disk.children:
    return _TreeConsistent(lu, inst, disk, node_uuid, ldisk)
  consistent = True
  if on_primary or disk.dev_type in constants.DTS_INT_MIRROR:
    consistent = FoundConsistent(lu, lu.rpc.call_blockdev_find(node_uuid, (disk, inst)),
                                 node_uuid, ldisk)
  for child in disk.children or ():
    consistent = consistent and DiskConsistent(lu, inst, child, node_uuid, on_primary)
  return consistent


def FoundConsistent(lu: Any, result: Any, node_uuid: str, ldisk: bool = False) -> bool:
  """Whether a device is healthy by the answer to blockdev_find on node_uuid
  (see DiskConsistent); a device not found is not."""
  node_name = lu.cfg.GetNodeName(node_uuid)
  if result.fail_msg:
    lu.LogWarning("Can't find disk on node %s: %s", node_name, result.fail_msg)
    return False
  if not result.payload:
    lu.LogWarning("Can't find disk on node %s", node_name)
    return False
  if ldisk:
    return result.payload.ldisk_status == constants.LDS_OKAY
  return not result.payload.is_degraded


def _TreeStatuses(lu: Any, inst: objects.Instance, node_uuid: str,
                  devices: list[objects.Disk],
                  before: tuple = ()) -> tuple[Optional[list], Optional[str], list]:
  """(ok, combined status or message) of each device tree on one node, asked
  in one call; (None, why) when the node did not answer.  The calls before
  go out first, in the same send; their results come third."""
  results = lu.rpc.CallTogether(list(before) + [(
    "blockdev_getmirrorstatus_multi", [node_uuid],
    ({node_uuid: [(device, inst) for device in devices]},))])
  result = results[-1][node_uuid]
  if result.fail_msg or not result.payload:
    return None, result.fail_msg or "no answer", results[:-1]
  return result.payload, None, results[:-1]


def _TreeConsistent(lu: Any, inst: objects.Instance, disk: objects.Disk, node_uuid: str,
                    ldisk: bool) -> bool:
  """DiskConsistent of a whole device tree in one call: its combined status
  is degraded (and its local storage faulty) when any device's in it is, and
  a child's local storage is faulty exactly when the child is degraded."""
  answers, failure, _ = _TreeStatuses(lu, inst, node_uuid, [disk])
  if answers is None or not answers[0][0]:
    lu.LogWarning("Can't find disk on node %s: %s", lu.cfg.GetNodeName(node_uuid),
                  failure or answers[0][1])
    return False
  status = answers[0][1]
  if ldisk:
    return status.ldisk_status == constants.LDS_OKAY
  return not status.is_degraded


def PresentDevices(lu: Any, inst: objects.Instance, node_uuid: str,
                   devices: list[objects.Disk],
                   before: tuple = ()) -> tuple[list[objects.Disk], list]:
  """Those of the devices that exist on the node, asked in one call, and the
  results of the calls before, which the node answers first (same send)."""
  answers, _, earlier = _TreeStatuses(lu, inst, node_uuid, devices, before)
  return [device for device, (found, _) in zip(devices, answers or ()) if found], earlier


def FaultyDisks(lu: Any, inst: objects.Instance, node_uuid: str) -> list[int]:
  """Indices of the instance's disks whose local storage on the node is
  faulty; OpPrereqError when the node can't tell."""
  disks = lu.cfg.GetInstanceDisks(inst.uuid)
  result = lu.rpc.call_blockdev_getmirrorstatus(node_uuid, (disks, inst))
  result.Raise("Failed to get disk status from node %s" % lu.cfg.GetNodeName(node_uuid),
               prereq=True, ecode=errors.ECODE_ENVIRON)
  return [idx for idx, status in enumerate(result.payload or ())
          if status is not None and status.ldisk_status == constants.LDS_FAULTY]
