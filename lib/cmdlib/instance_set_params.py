"""Changing an instance: parameters, disks, NICs, admin state, disk template.

Disk and NIC changes come as Ganeti's modification lists, [(action, index or
name, params)]; they are checked in order against a simulated device list in
CheckPrereq, and Exec replays the recorded actions.  The result is the list of
(parameter, new value) pairs "gnt-instance modify" prints.
"""

from typing import Any, Optional

from ganeti import constants
from ganeti import errors
from ganeti import hypervisor
from ganeti import ht
from ganeti import locking
from ganeti import netutils
from ganeti import objects
from ganeti import paramdefs as pd
from ganeti.utils.text import FormatUnit
from ganeti.cmdlib import instance_conversion
from ganeti.cmdlib import instance_disks
from ganeti.cmdlib import instance_utils as iu
from ganeti.cmdlib import ipolicy
from ganeti.cmdlib.base import LogicalUnit
from ganeti.cmdlib.instance_create import NormalizeMac
from ganeti.cmdlib.instance_query import CheckInstanceState
from ganeti.cmdlib.node import ExpandNode
from ganeti.storage import filestorage
from ganeti.constants import (
  DDM_ADD, DDM_REMOVE, DDM_MODIFY, DDM_ATTACH, DDM_DETACH)


# disk templates whose disks this master can create (one file per disk)
_FILE_TEMPLATES = {constants.DT_FILE: "file_storage_dir",
                   constants.DT_SHARED_FILE: "shared_file_storage_dir"}
# disk parameters a "modify" may change (size goes through grow-disk)
_DISK_MODIFIABLE = frozenset([pd.IDISK_MODE, pd.IDISK_NAME])
# template conversions Ganeti performs (only between LVM-based templates)
_CONVERSIONS = frozenset([(constants.DT_PLAIN, constants.DT_DRBD8),
                          (constants.DT_DRBD8, constants.DT_PLAIN)])
# NIC attributes reported one by one after a NIC modification
_NIC_ATTRS = (pd.INIC_MAC, pd.INIC_IP, pd.INIC_NAME, pd.INIC_NETWORK)
# the group fields (in their order) Ganeti prints in modify's policy message
_GROUP_MESSAGE_FIELDS = ("name", "ndparams", "diskparams", "ipolicy", "serial_no",
                         "alloc_policy", "networks", "ctime", "mtime", "uuid", "tags")


def UpgradeMods(mods: Optional[list]) -> list[tuple[str, Any, dict]]:
  """Modification lists in the 3-tuple form: the old [(action|index,
  params)] form means "at the end" for actions and "modify" for indices."""
  upgraded = []
  for mod in mods or ():
    if len(mod) == 3:
      action, identifier, params = mod
    elif mod[0] in ht.DDM_SIMPLE_ORDERED:
      action, identifier, params = mod[0], -1, mod[1]
    else:
      action, identifier, params = DDM_MODIFY, mod[0], mod[1]
    upgraded.append((action, identifier, dict(params or {})))
  return upgraded


def _NoneIfNone(value: Any) -> Any:
  """User values "none" (any case) mean no value."""
  if isinstance(value, str) and value.lower() == pd.VALUE_NONE:
    return None
  return value


def _FindIndex(identifier: Any, items: list, kind: str, adding: bool) -> int:
  """The position an identifier (index, -1 for the end, name or uuid) denotes."""
  try:
    idx = int(identifier)
  except (TypeError, ValueError):
    for position, item in enumerate(items):
      if identifier in (item.name, item.uuid):
        return position
    raise errors.OpPrereqError("Lookup of %s '%s' failed" % (kind, identifier)) from None
  if idx == -1:
    return len(items) if adding else len(items) - 1
  limit = len(items) if adding else len(items) - 1
  if idx < 0 or idx > limit:
    raise errors.OpExecError("Got %s index %s, but there are only %s" %
                             (kind, idx, len(items)))
  return idx


def _CheckNameUnique(name: Optional[str], items: list, kind: str,
                     itself: Any = None) -> None:
  if name and any(item.name == name for item in items if item is not itself):
    raise errors.OpPrereqError("%s name '%s' already used" % (kind, name),
                               errors.ECODE_NOTUNIQUE)


def TypedParams(params: dict, types: dict, allowed: Optional[list] = None) -> dict:
  """params converted to their types; unknown names refused as wrong input."""
  params = dict(params)
  try:
    pd.ForceDictType(params, types, allowed_values=allowed)
  except errors.TypeEnforcementError as err:
    raise errors.OpPrereqError(str(err), errors.ECODE_INVAL) from None
  return params


def _UpdateParams(current: Optional[dict], changes: dict) -> dict:
  """current with changes applied; "default" (or None) drops a key."""
  result = dict(current or {})
  for key, value in changes.items():
    if value is None or value == pd.VALUE_DEFAULT:
      result.pop(key, None)
    else:
      result[key] = value
  return result


# a device modification -> its hotplug action
_HOTPLUG_ACTIONS = {DDM_ADD: constants.HOTPLUG_ACTION_ADD,
                    DDM_REMOVE: constants.HOTPLUG_ACTION_REMOVE,
                    DDM_MODIFY: constants.HOTPLUG_ACTION_MODIFY}


class LUInstanceSetParams(LogicalUnit):
  """Modifies an instance's parameters, devices and admin state."""

  HPATH = "instance-modify"
  HTYPE = constants.HTYPE_INSTANCE
  REQ_BGL = False

  def CheckArguments(self) -> None:
    op = self.op
    op.disks = UpgradeMods(op.disks)
    op.nics = UpgradeMods(op.nics)
    if not (op.nics or op.disks or op.disk_template or op.hvparams or op.beparams or
            op.os_name or op.osparams or op.osparams_private or op.offline is not None or
            op.runtime_mem or op.pnode or op.instance_communication is not None):
      raise errors.OpPrereqError("No changes submitted", errors.ECODE_INVAL)
    if op.pnode or op.instance_communication is not None:
      raise errors.OpPrereqError("Changing the primary node or the instance communication"
                                 " NIC is not supported by this master yet",
                                 errors.ECODE_INVAL)
    for action, _, _ in op.disks + op.nics:
      if action in (DDM_ATTACH, DDM_DETACH):
        raise errors.OpPrereqError("Attaching and detaching devices is not supported by"
                                   " this master yet", errors.ECODE_INVAL)
    if op.disk_template and (op.disks or op.nics):
      raise errors.OpPrereqError("Disk template conversion and other disk or NIC"
                                 " changes not supported at the same time",
                                 errors.ECODE_INVAL)
    if op.disk_template in constants.DTS_INT_MIRROR and not op.remote_node:
      raise errors.OpPrereqError("Changing the disk template to a mirrored one requires"
                                 " specifying a secondary node", errors.ECODE_INVAL)
    if op.hvparams:
      globals_given = sorted(set(op.hvparams) & pd.HVC_GLOBALS)
      if globals_given:
        raise errors.OpPrereqError(
          "The following hypervisor parameters are global and cannot be customized at"
          " instance level, please modify them at cluster level: %s" %
          ", ".join(globals_given), errors.ECODE_INVAL)

  def ExpandNames(self) -> None:
    iu.LockInstance(self, (locking.LEVEL_NODE, locking.LEVEL_NODE_RES))
    self.new_secondary: Optional[str] = None
    if self.op.disk_template in constants.DTS_INT_MIRROR:
      self.new_secondary, self.op.remote_node = ExpandNode(self.cfg, self.op.remote_node,
                                                           self.op.remote_node_uuid)
      self.op.remote_node_uuid = self.new_secondary

  def DeclareLocks(self, level: int) -> None:
    if level in (locking.LEVEL_NODE, locking.LEVEL_NODE_RES):
      iu.DeclareInstanceNodeLocks(self, level)
      if self.new_secondary:
        self.needed_locks[level] = sorted(set(self.needed_locks[level]) |
                                          {self.new_secondary})

  # --- checks ------------------------------------------------------------------

  def CheckPrereq(self) -> None:
    op = self.op
    self.instance = inst = iu.LockedInstance(self)
    self.cluster = self.cfg.GetClusterInfo()
    self.pnode = self.cfg.GetNodeInfo(inst.primary_node)
    self.group = self.cfg.GetNodeGroup(self.pnode.group)
    self.template = self.cfg.GetInstanceDiskTemplate(inst.uuid)
    self.result: list[tuple[str, Any]] = []
    self.running = None if self.pnode.offline else iu.RunningInfo(self, inst)
    if op.disk_template:
      self._CheckDiskTemplate()
    if (op.hotplug or op.hotplug_if_possible) and op.disks + op.nics:
      self._CheckHotplug()
    self._CheckDisks()
    self._CheckNics()
    self._CheckHvParams()
    self._CheckBeParams()
    self._CheckPolicy()
    self._CheckRuntimeMemory()
    self._CheckOs()
    self._CheckOffline()
    self.hook_env = iu.InstanceHookEnv(self, inst)
    self.hook_nodes = iu.InstanceHookNodes(self, inst)

  def _CheckDiskTemplate(self) -> None:
    new = self.op.disk_template
    if new == self.template:
      raise errors.OpPrereqError("Instance already has disk template %s" % new,
                                 errors.ECODE_INVAL)
    enabled = self.cluster.enabled_disk_templates
    if new not in enabled:
      raise errors.OpPrereqError("Disk template '%s' is not enabled for this cluster"
                                 " (enabled templates: %s)" % (new, ", ".join(enabled)),
                                 errors.ECODE_STATE)
    for template, direction in ((self.template, "from"), (new, "to")):
      if template == constants.DT_DISKLESS:
        raise errors.OpPrereqError("Conversion %s the 'diskless' disk template is not"
                                   " supported" % direction, errors.ECODE_INVAL)
    if (self.template, new) not in _CONVERSIONS:
      raise errors.OpPrereqError("Unsupported disk template conversion from %s to %s" %
                                 (self.template, new), errors.ECODE_INVAL)
    CheckInstanceState(self, self.instance, frozenset([constants.ADMINST_DOWN]),
                       "cannot change disk template")
    if new in constants.DTS_INT_MIRROR:
      instance_conversion.CheckConversionToDrbd(self, self.instance, self.new_secondary)
    self.result.append(("disk_template", new))

  def _CheckHotplug(self) -> None:
    """--hotplug needs a running instance whose hypervisor can hotplug;
    --hotplug-if-possible hotplugs only then, else changes at the next start."""
    result = self.rpc.call_hotplug_supported(self.instance.primary_node, self.instance)
    if not result.fail_msg:
      self.op.hotplug = True
    elif self.op.hotplug:
      raise errors.OpPrereqError("Hotplug is not possible: %s" % result.fail_msg,
                                 errors.ECODE_STATE)
    else:
      self.LogWarning(result.fail_msg)
      self.LogInfo("Modification will take place without hotplugging.")

  def _HotplugDevice(self, action: str, dev_type: str, device: Any, extra: Any,
                     idx: int) -> str:
    """Applies one device change to the running instance; a failure is a
    warning (the configuration changes anyway).  The result entry's value."""
    self.LogInfo("Trying to hotplug device...")
    inst = self.cfg.GetInstanceInfo(self.instance.uuid)
    result = self.rpc.call_hotplug_device(inst.primary_node, inst, action, dev_type,
                                          device, extra, idx)
    if result.fail_msg:
      self.LogWarning("Could not hotplug device: %s" % result.fail_msg)
      self.LogInfo("Continuing execution..")
      return "hotplug:failed"
    self.LogInfo("Hotplug done.")
    return "hotplug:done"

  # --- disks -------------------------------------------------------------------

  def _CheckDisks(self) -> None:
    """Simulates the disk modifications, recording (action, disk, index, changes)."""
    inst = self.instance
    self.disks = [disk.Copy() for disk in self.cfg.GetInstanceDisks(inst.uuid)]
    self.disk_actions: list[tuple[str, objects.Disk, int, dict]] = []
    for action, identifier, params in self.op.disks:
      adding = action == DDM_ADD
      idx = _FindIndex(identifier, self.disks, "disk", adding)
      if adding:
        disk = self._NewDisk(idx, params)
        self.disks.insert(idx, disk)
        self.result.append(("disk/%d" % idx, "add:size=%s,mode=%s" % (disk.size, disk.mode)))
      elif action == DDM_REMOVE:
        if inst.admin_state == constants.ADMINST_UP and not self.op.hotplug:
          raise errors.OpPrereqError("Instance '%s' is marked to be up, can't remove volume"
                                     " from a running instance without using hotplug" %
                                     inst.name, errors.ECODE_STATE)
        disk = self.disks.pop(idx)
        self.result.append(("disk/%d" % idx, DDM_REMOVE))
      else:
        disk = self.disks[idx]
        params = self._DiskChanges(disk, params)
        for key, value in params.items():
          setattr(disk, key, value)
          self.result.append(("disk.%s/%d" % (key, idx), value))
      self.disk_actions.append((action, disk, idx, params))
    if len(self.disks) > pd.MAX_DISKS:
      raise errors.OpPrereqError("Instance has too many disks (%d), cannot add more" %
                                 len(self.disks), errors.ECODE_STATE)

  def _DiskChanges(self, disk: objects.Disk, params: dict) -> dict:
    params = TypedParams(params, pd.IDISK_PARAMS_TYPES)
    if pd.IDISK_SIZE in params:
      raise errors.OpPrereqError("Disk size change not possible, use grow-disk",
                                 errors.ECODE_INVAL)
    unsupported = sorted(set(params) - _DISK_MODIFIABLE)
    if unsupported:
      raise errors.OpPrereqError("Disk modification doesn't support additional"
                                 " arbitrary parameters: %s" % ", ".join(unsupported),
                                 errors.ECODE_INVAL)
    if params.get(pd.IDISK_MODE, objects.DISK_RDWR) not in objects.DISK_ACCESS_SET:
      raise errors.OpPrereqError("Invalid disk access mode '%s'" % params[pd.IDISK_MODE],
                                 errors.ECODE_INVAL)
    if pd.IDISK_NAME in params:
      params[pd.IDISK_NAME] = _NoneIfNone(params[pd.IDISK_NAME])
      _CheckNameUnique(params[pd.IDISK_NAME], self.disks, "disk", itself=disk)
    return params

  def _NewDisk(self, idx: int, params: dict) -> objects.Disk:
    """The Disk object of a disk to add at idx (not yet created anywhere)."""
    ext_params = {key: value for key, value in params.items()
                  if key not in pd.IDISK_PARAMS_TYPES}
    params = TypedParams({key: value for key, value in params.items()
                          if key not in ext_params}, pd.IDISK_PARAMS_TYPES)
    if pd.IDISK_SIZE not in params:
      raise errors.OpPrereqError("Missing required parameter 'size'", errors.ECODE_INVAL)
    size = params[pd.IDISK_SIZE]
    if size <= 0:
      raise errors.OpPrereqError("Invalid disk size '%s'" % size, errors.ECODE_INVAL)
    mode = params.get(pd.IDISK_MODE, objects.DISK_RDWR)
    if mode not in objects.DISK_ACCESS_SET:
      raise errors.OpPrereqError("Invalid disk access mode '%s'" % mode, errors.ECODE_INVAL)
    name = _NoneIfNone(params.get(pd.IDISK_NAME))
    _CheckNameUnique(name, self.disks, "disk")
    template = self.template
    if template == constants.DT_DISKLESS:
      template = params.get("dev_type")
      if not template:
        raise errors.OpPrereqError("Must specify disk type on diskless instance",
                                   errors.ECODE_INVAL)
    instance_disks.CheckProviders(template, [dict(params, ext_params=ext_params)])
    if template in instance_disks.LVM_TEMPLATES:
      return self._NewLvmDisk(idx, template, dict(params, size=size, mode=mode, name=name))
    if template in instance_disks.CREATED_TEMPLATES:
      spec = dict(params, size=size, mode=mode, name=name, ext_params=ext_params)
      disk, = instance_disks.GenerateDisks(self, template, [spec], self.instance.primary_node,
                                           None, base_index=idx)
      return disk
    if template not in _FILE_TEMPLATES:
      raise errors.OpPrereqError("Disk template '%s' is not supported by this master yet" %
                                 template, errors.ECODE_INVAL)
    ec_id = self.proc.GetECId()
    sibling = next((disk for disk in self.disks if disk.dev_type == template), None)
    if sibling is not None:
      directory = filestorage.DiskFileDir(sibling.logical_id)
      driver = sibling.logical_id[0]
    else:
      directory = filestorage.InstanceFileStorageDir(
        getattr(self.cluster, _FILE_TEMPLATES[template]), self.instance.name)
      driver = self.op.file_driver
    path = filestorage.FileDiskPath(directory, self.cfg.GenerateUniqueID(ec_id), idx,
                                    template)
    return objects.Disk(dev_type=template, size=size, mode=mode, name=name,
                        spindles=params.get(pd.IDISK_SPINDLES), iv_name="disk/%d" % idx,
                        logical_id=filestorage.FileLogicalId(driver, path),
                        nodes=[self.instance.primary_node], params={},
                        uuid=self.cfg.GenerateUniqueID(ec_id))

  def _NewLvmDisk(self, idx: int, template: str, params: dict) -> objects.Disk:
    """A plain or drbd disk to add at idx, on the instance's nodes, which must
    have the room for it."""
    inst = self.instance
    spec = {"size": params[pd.IDISK_SIZE], "mode": params[pd.IDISK_MODE],
            "name": params[pd.IDISK_NAME], "spindles": params.get(pd.IDISK_SPINDLES),
            "vg": params.get(pd.IDISK_VG), "metavg": params.get(pd.IDISK_METAVG)}
    instance_disks.FillVolumeGroups(self.cfg, [spec])
    nodes = list(self.cfg.GetInstanceNodes(inst.uuid))
    snode = nodes[1] if template == constants.DT_DRBD8 and len(nodes) > 1 else None
    if template == constants.DT_DRBD8 and snode is None:
      raise errors.OpPrereqError("The instance has a strange layout, expected one secondary"
                                 " but found 0", errors.ECODE_FAULT)
    instance_disks.CheckFreeSpace(self, nodes[:2 if snode else 1],
                                  instance_disks.SpacePerVolumeGroup(template, [spec]))
    disk, = instance_disks.GenerateDisks(self, template, [spec], inst.primary_node, snode,
                                         base_index=idx)
    return disk

  # --- NICs ----------------------------------------------------------------------

  def _CheckNics(self) -> None:
    """Simulates the NIC modifications on copies of the instance's NICs."""
    self.nics = [nic.Copy() for nic in self.instance.nics]
    self.nic_actions: list[tuple[str, objects.NIC, int]] = []
    self.released_ips: list[tuple[str, str]] = []
    self.bridges: set[str] = set()
    for action, identifier, params in self.op.nics:
      adding = action == DDM_ADD
      idx = _FindIndex(identifier, self.nics, "NIC", adding)
      if action == DDM_REMOVE:
        nic = self.nics.pop(idx)
        if nic.network and nic.ip:
          self.released_ips.append((nic.network, nic.ip))
        self.result.append(("NIC/%d" % idx, DDM_REMOVE))
        self.nic_actions.append((action, nic, idx))
        continue
      params = TypedParams(params, pd.INIC_PARAMS_TYPES)
      if pd.INIC_LINK not in params and params.get("bridge") is not None:
        params[pd.INIC_LINK] = params["bridge"]
      params.pop("bridge", None)
      nic = objects.NIC(nicparams={}) if adding else self.nics[idx]
      self._ApplyNicChanges(nic, params, adding)
      filled = self.cluster.SimpleFillNIC(nic.nicparams)
      if adding:
        self.nics.insert(idx, nic)
        net = self.cfg.GetNetwork(nic.network) if nic.network else None
        self.result.append(("nic.%d" % idx, "add:mac=%s,ip=%s,mode=%s,link=%s,network=%s" %
                            (nic.mac, nic.ip, filled[pd.NIC_MODE], filled[pd.NIC_LINK],
                             net.name if net else None)))
      else:
        for key in _NIC_ATTRS:
          if key in params:
            self.result.append(("nic.%s/%d" % (key, idx), getattr(nic, key)))
        for key, value in sorted(filled.items()):
          self.result.append(("nic.%s/%d" % (key, idx), value))
      self.nic_actions.append((action, nic, idx))
    if len(self.nics) > pd.MAX_NICS:
      raise errors.OpPrereqError("Instance has too many network interfaces (%d), cannot"
                                 " add more" % len(self.nics), errors.ECODE_STATE)
    if self.bridges:
      result = self.rpc.call_bridges_exist(self.pnode.uuid, sorted(self.bridges))
      result.Raise("Error checking bridges on node '%s'" % self.pnode.name, prereq=True,
                   ecode=errors.ECODE_ENVIRON)

  def _ApplyNicChanges(self, nic: objects.NIC, params: dict, adding: bool) -> None:
    """Checks one NIC's new parameters and applies them to nic (a copy)."""
    ec_id = self.proc.GetECId()
    old_network, old_ip = nic.network, nic.ip
    mac = params.get(pd.INIC_MAC)
    if mac not in (None, pd.VALUE_AUTO, constants.VALUE_GENERATE):
      params[pd.INIC_MAC] = NormalizeMac(mac)
    if pd.INIC_NETWORK in params:
      network = _NoneIfNone(params[pd.INIC_NETWORK])
      nic.network = self.cfg.LookupNetwork(network) if network else None
    ip = _NoneIfNone(params.get(pd.INIC_IP, nic.ip))
    if ip is not None and ip.lower() == pd.NIC_IP_POOL:
      if not nic.network:
        raise errors.OpPrereqError("If ip=pool, parameter network cannot be none",
                                   errors.ECODE_INVAL)
    elif ip is not None and not (netutils.IsValidIP4(ip) or netutils.IsValidIP6(ip)):
      raise errors.OpPrereqError("Invalid IP address '%s'" % ip, errors.ECODE_INVAL)
    nicparams = _UpdateParams(nic.nicparams, {key: params[key] for key in
                                              (pd.NIC_MODE, pd.NIC_LINK, pd.NIC_VLAN)
                                              if key in params})
    if nic.network:
      if pd.NIC_MODE in params or pd.NIC_LINK in params:
        raise errors.OpPrereqError("If network is given, no mode or link is allowed to be"
                                   " passed", errors.ECODE_INVAL)
      netparams = self.group.networks.get(nic.network)
      if netparams is None:
        raise errors.OpPrereqError("No netparams found for network %s. Probably not"
                                   " connected to node's %s nodegroup" %
                                   (params.get(pd.INIC_NETWORK, nic.network),
                                    self.pnode.name), errors.ECODE_INVAL)
      nicparams = dict(netparams)
    filled = self.cluster.SimpleFillNIC(nicparams)
    try:
      objects.NIC.CheckParameterSyntax(filled)
    except errors.ConfigurationError as err:
      raise errors.OpPrereqError(str(err), errors.ECODE_INVAL) from None
    if filled[pd.NIC_MODE] == pd.NIC_MODE_ROUTED and ip is None and not nic.network:
      raise errors.OpPrereqError("Cannot set the NIC IP address to None on a routed NIC"
                                 " if not attached to a network", errors.ECODE_INVAL)
    if (filled[pd.NIC_MODE] == pd.NIC_MODE_BRIDGED and
        (adding or pd.NIC_LINK in params or pd.NIC_MODE in params)):
      self.bridges.add(filled[pd.NIC_LINK])
    nic.nicparams = nicparams
    nic.mac = self._NicMac(params.get(pd.INIC_MAC), nic, adding, ec_id)
    nic.ip = self._NicIp(ip, nic.network, (old_network, old_ip))
    if pd.INIC_NAME in params:
      nic.name = _NoneIfNone(params[pd.INIC_NAME])
      _CheckNameUnique(nic.name, self.nics, "NIC", itself=nic)
    if adding:
      nic.uuid = self.cfg.GenerateUniqueID(ec_id)

  def _NicMac(self, mac: Optional[str], nic: objects.NIC, adding: bool, ec_id: Any) -> str:
    if mac is None and not adding:
      return nic.mac
    if mac is None or mac in (pd.VALUE_AUTO, constants.VALUE_GENERATE):
      if mac == pd.VALUE_AUTO and not adding:
        raise errors.OpPrereqError("'auto' is not a valid MAC address when modifying an"
                                   " existing NIC", errors.ECODE_INVAL)
      return self.cfg.GenerateMAC(nic.network, ec_id)
    try:
      self.cfg.ReserveMAC(mac, ec_id)
    except errors.ReservationError:
      raise errors.OpPrereqError("MAC address '%s' already in use in cluster" % mac,
                                 errors.ECODE_NOTUNIQUE) from None
    return mac

  def _NicIp(self, ip: Optional[str], net_uuid: Optional[str], old: tuple) -> Optional[str]:
    """The NIC's address, reserved in its network's pool (if it has one)."""
    if (net_uuid, ip) == old:
      return ip
    if old[0] and old[1]:
      self.released_ips.append(old)
    return iu.ReserveNicIp(self, ip, net_uuid, self.pnode.uuid, self.op.conflicts_check)

  # --- parameters ----------------------------------------------------------------

  def _CheckHvParams(self) -> None:
    inst = self.instance
    self.hv_inst = inst.hvparams
    if not self.op.hvparams:
      return
    types = pd.GetHvParameterTypes(inst.hypervisor)
    changes = TypedParams(self.op.hvparams, types, [pd.VALUE_DEFAULT])
    self.hv_inst = _UpdateParams(inst.hvparams, changes)
    filled = self.cluster.SimpleFillHV(inst.hypervisor, self.op.os_name or inst.os,
                                       self.hv_inst)
    hypervisor.GetHypervisorClass(inst.hypervisor).CheckParameterSyntax(filled)
    node_uuids = list(self.cfg.GetInstanceNodes(inst.uuid))
    results = self.rpc.call_hypervisor_validate_params(node_uuids, inst.hypervisor, filled)
    for node_uuid, result in results.items():
      if not result.offline:
        result.Raise("Hypervisor parameter validation failed on node %s" %
                     self.cfg.GetNodeName(node_uuid))
    self.result.extend(("hv/%s" % key, value) for key, value in changes.items())

  def _CheckBeParams(self) -> None:
    inst = self.instance
    self.be_inst = inst.beparams
    self.be_old = self.cluster.FillBE(inst)
    self.be_new = self.be_old
    if not self.op.beparams:
      return
    changes = dict(self.op.beparams)
    objects.UpgradeBeParams(changes)
    changes = TypedParams(changes, pd.BES_PARAMETER_TYPES, [pd.VALUE_DEFAULT])
    self.be_inst = _UpdateParams(inst.beparams, changes)
    self.be_new = self.cluster.SimpleFillBE(self.be_inst)
    if (self.be_new[pd.BE_MAXMEM] > self.be_old[pd.BE_MAXMEM] and not self.op.force and
        not self.pnode.offline):
      self._CheckStartMemory()
    self.result.extend(("be/%s" % key, value) for key, value in changes.items())

  def _CheckStartMemory(self) -> None:
    """Refuses a maximum memory the primary node could not start the instance with."""
    inst = self.instance
    current = (self.running or {}).get("memory", 0)
    result = self.rpc.call_node_info([inst.primary_node], [],
                                     [(inst.hypervisor,
                                       self.cluster.hvparams.get(inst.hypervisor, {}))]
                                     )[inst.primary_node]
    if result.fail_msg:
      self.LogWarning("Can't get info from primary node %s: %s", self.pnode.name,
                      result.fail_msg)
      return
    _, _, (hv_info,) = result.payload
    free = hv_info.get("memory_free")
    if not isinstance(free, int):
      self.LogWarning("Node data from primary node %s doesn't contain free memory"
                      " information", self.pnode.name)
      return
    missing = self.be_new[pd.BE_MAXMEM] - current - free
    if missing > 0:
      raise errors.OpPrereqError("This change will prevent the instance from starting,"
                                 " due to %d MB of memory missing on its primary node" %
                                 missing, errors.ECODE_NORES)

  def _CheckPolicy(self) -> None:
    """The changed instance must still fit its group's policy."""
    if not (self.op.beparams or self.op.disks or self.op.nics):
      return
    policy = self.cluster.FillIPolicy(self.group)
    template = self.template
    if self.template == constants.DT_DISKLESS and self.disks:
      template = self.disks[0].dev_type
    elif not self.disks:
      template = constants.DT_DISKLESS
    violations: list[str] = []
    for memory in (self.be_new[pd.BE_MAXMEM], self.be_new[pd.BE_MINMEM]):
      spec = ipolicy.InstanceSpec(memory, self.be_new[pd.BE_VCPUS],
                                  [disk.size for disk in self.disks], len(self.nics),
                                  self.be_new[pd.BE_SPINDLE_USE])
      violations.extend(v for v in ipolicy.SpecViolations(policy, spec, template)
                        if v not in violations)
    if not violations:
      return
    group_text = repr({key: getattr(self.group, key) for key in _GROUP_MESSAGE_FIELDS})
    message = ("Instance allocation to group %s (%s) violates policy: %s" %
               (group_text, self.group.name, "; ".join(violations)))
    if self.op.ignore_ipolicy:
      self.LogWarning(message)
    else:
      raise errors.OpPrereqError(message, errors.ECODE_INVAL)

  def _CheckRuntimeMemory(self) -> None:
    mem = self.op.runtime_mem
    if not mem:
      return
    inst = self.instance
    if self.running is None:
      raise errors.OpPrereqError("Instance %s is not running" % inst.name,
                                 errors.ECODE_STATE)
    low, high = self.be_new[pd.BE_MINMEM], self.be_new[pd.BE_MAXMEM]
    if not self.op.force and not low <= mem <= high:
      raise errors.OpPrereqError("Instance %s must have memory between %d and %d of memory"
                                 " unless --force is given" % (inst.name, low, high),
                                 errors.ECODE_INVAL)
    delta = mem - self.running.get("memory", 0)
    if delta > 0:
      iu.CheckNodeFreeMemory(self, inst.primary_node, "ballooning memory for instance %s" %
                             inst.name, delta, inst.hypervisor)
    self.result.append(("runtime_memory", mem))

  def _CheckOs(self) -> None:
    op = self.op
    inst = self.instance
    self.os_name = op.os_name or inst.os
    self.os_inst = _UpdateParams(inst.osparams, op.osparams or {})
    self.os_private = _UpdateParams(inst.osparams_private, op.osparams_private or {})
    if not (op.osparams or op.osparams_private):
      return
    filled = self.cluster.SimpleFillOS(self.os_name, self.os_inst, self.os_private)
    node_uuids = list(self.cfg.GetInstanceNodes(inst.uuid))
    results = self.rpc.call_os_validate(node_uuids, True, self.os_name,
                                        [constants.OS_VALIDATE_PARAMETERS], filled,
                                        op.force_variant)
    for node_uuid, result in results.items():
      if not result.offline:
        result.Raise("OS Parameters validation failed on node %s" %
                     self.cfg.GetNodeName(node_uuid))
    self.result.extend(("os/%s" % key, value) for key, value in (op.osparams or {}).items())
    self.result.extend(("os/%s" % key, value)
                       for key, value in (op.osparams_private or {}).items())

  def _CheckOffline(self) -> None:
    inst = self.instance
    self.admin_state = inst.admin_state
    if self.op.offline is None:
      return
    if inst.admin_state == constants.ADMINST_UP:
      change = ("offline without being down first" if self.op.offline
                else "online (down) without being offline first")
      raise errors.OpPrereqError("Instance '%s' is marked to be up, can't change to %s" %
                                 (inst.name, change), errors.ECODE_STATE)
    self.admin_state = (constants.ADMINST_OFFLINE if self.op.offline
                        else constants.ADMINST_DOWN)
    self.result.append(("admin_state", self.admin_state))

  # --- hooks -----------------------------------------------------------------------

  def BuildHooksEnv(self) -> dict[str, Any]:
    env = dict(self.hook_env)
    if self.op.runtime_mem:
      env["RUNTIME_MEMORY"] = self.op.runtime_mem
    return env

  def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
    return self.hook_nodes

  # --- execution ---------------------------------------------------------------------

  def _AddCreatedDisk(self, inst: objects.Instance, disk: objects.Disk, idx: int) -> None:
    """Makes a new plain, drbd, ext or rbd disk on its nodes and configures
    it; it is left active only when the instance's disks are."""
    instance_disks.AllocatePorts(self, [disk])
    try:
      instance_disks.CreateDisks(self, inst, [disk])
    except errors.OpExecError:
      instance_disks.ReleaseDisks(self, [disk])
      raise
    try:
      self.cfg.AddInstanceDisk(inst.uuid, disk, idx, self.proc.GetECId())
    except errors.GenericError:
      iu.RemoveDisks(self, inst, disks=[disk])
      instance_disks.ReleaseDisks(self, [disk])
      raise
    if not inst.disks_active:
      iu.ShutdownInstanceDisks(self, inst, disks=[disk])
      return
    for node_uuid in sorted(disk.nodes, key=lambda uuid: uuid == inst.primary_node):
      on_primary = node_uuid == inst.primary_node
      result = self.rpc.call_blockdev_assemble(node_uuid, (disk, inst), inst, on_primary, idx)
      if result.fail_msg:
        self.LogWarning("Can't activate new disk %d on node %s: %s", idx,
                        self.cfg.GetNodeName(node_uuid), result.fail_msg)

  def _AddDisk(self, inst: objects.Instance, disk: objects.Disk, idx: int,
               feedback_fn: Any) -> None:
    pnode = inst.primary_node
    feedback_fn("* disk %d, size %s" % (idx, FormatUnit(disk.size, "h")))
    if disk.dev_type in instance_disks.CREATED_TEMPLATES:
      self._AddCreatedDisk(inst, disk, idx)
      return
    directory = filestorage.DiskFileDir(disk.logical_id)
    result = self.rpc.call_file_storage_dir_create(pnode, directory)
    result.Raise("Failed to create directory '%s' on node %s" %
                 (directory, self.cfg.GetNodeName(pnode)))
    result = self.rpc.call_blockdev_create(pnode, (disk, inst), disk.size, inst.name, True,
                                           "originstname+%s" % inst.name, False)
    result.Raise("Can't create block device %s on node %s for instance %s" %
                 (disk.iv_name, self.cfg.GetNodeName(pnode), inst.name))
    try:
      self.cfg.AddInstanceDisk(inst.uuid, disk, idx, self.proc.GetECId())
    except errors.GenericError:
      self.rpc.call_blockdev_remove(pnode, (disk, inst))
      raise
    if inst.disks_active:
      result = self.rpc.call_blockdev_assemble(pnode, (disk, inst), inst, True, idx)
      if result.fail_msg:
        self.LogWarning("Can't activate new disk %d on node %s: %s", idx,
                        self.cfg.GetNodeName(pnode), result.fail_msg)
      elif self.op.hotplug:
        _, link, uri = result.payload
        self.result.append(("disk/%d" % idx, self._HotplugDevice(
          constants.HOTPLUG_ACTION_ADD, constants.HOTPLUG_TARGET_DISK, (disk, inst),
          (link, uri), idx)))

  def _RemoveDisk(self, inst: objects.Instance, disk: objects.Disk, idx: int) -> None:
    if self.op.hotplug:
      self.result.append(("disk/%d" % idx, self._HotplugDevice(
        constants.HOTPLUG_ACTION_REMOVE, constants.HOTPLUG_TARGET_DISK, (disk, inst), None,
        idx)))
    iu.ShutdownInstanceDisks(self, inst, ignore_primary=True, disks=[disk])
    for node_uuid in disk.nodes or [inst.primary_node]:
      result = self.rpc.call_blockdev_remove(node_uuid, (disk, inst))
      if result.fail_msg:
        self.LogWarning("Could not remove disk/%d on node %s: %s, continuing anyway", idx,
                        self.cfg.GetNodeName(node_uuid), result.fail_msg)
    self.cfg.RemoveInstanceDisk(inst.uuid, disk.uuid)
    remaining = self.cfg.GetInstanceDisks(inst.uuid)
    if disk.dev_type in _FILE_TEMPLATES and not remaining:
      directory = filestorage.DiskFileDir(disk.logical_id)
      result = self.rpc.call_file_storage_dir_remove(inst.primary_node, directory)
      if result.fail_msg:
        self.LogWarning("Could not remove directory '%s' on node %s: %s", directory,
                        self.pnode.name, result.fail_msg)

  def _ApplyDisks(self, feedback_fn: Any) -> None:
    uuid = self.instance.uuid
    added = False
    for action, disk, idx, _ in self.disk_actions:
      inst = self.cfg.GetInstanceInfo(uuid)
      if action == DDM_ADD:
        self._AddDisk(inst, disk, idx, feedback_fn)
        added = True
      elif action == DDM_REMOVE:
        self._RemoveDisk(inst, self.cfg.GetDiskInfo(disk.uuid), idx)
    # modified disks: the simulated copies carry the final values
    modified = {disk.uuid for action, disk, _, _ in self.disk_actions
                if action == DDM_MODIFY}
    for position, stored in enumerate(self.cfg.GetInstanceDisks(uuid)):
      final = next((disk for disk in self.disks if disk.uuid == stored.uuid), None)
      iv_name = "disk/%d" % position
      if stored.uuid not in modified and stored.iv_name == iv_name:
        continue
      changed = stored.Copy()
      if final is not None and stored.uuid in modified:
        changed.mode, changed.name = final.mode, final.name
      changed.iv_name = iv_name
      self.cfg.Update(changed, feedback_fn)
    if added and self.op.wait_for_sync:
      inst = self.cfg.GetInstanceInfo(uuid)
      self.LogInfo("Waiting for instance %s to sync disks", inst.name)
      self.LogInfo("Instance %s's disks are in sync", inst.name)

  def _HotplugNics(self) -> None:
    """The NIC changes on the running instance, in the order given."""
    for action, nic, idx in self.nic_actions:
      key = "nic.%d" % idx if action == DDM_ADD else "NIC/%d" % idx
      self.result.append((key, self._HotplugDevice(
        _HOTPLUG_ACTIONS[action], constants.HOTPLUG_TARGET_NIC, (nic, self.instance), None, idx)))

  def Exec(self, feedback_fn: Any) -> list[tuple[str, Any]]:
    op = self.op
    uuid = self.instance.uuid
    if op.disk_template == constants.DT_DRBD8:
      instance_conversion.ConvertPlainToDrbd(self, self.instance, self.new_secondary,
                                             feedback_fn)
    elif op.disk_template == constants.DT_PLAIN:
      instance_conversion.ConvertDrbdToPlain(self, self.instance, feedback_fn)
    self._ApplyDisks(feedback_fn)
    if op.hotplug:
      self._HotplugNics()
    if op.runtime_mem:
      result = self.rpc.call_instance_balloon_memory(self.instance.primary_node,
                                                     self.instance, op.runtime_mem)
      result.Raise("Cannot modify instance runtime memory")
    inst = self.cfg.GetInstanceInfo(uuid).Copy()
    inst.nics = self.nics
    inst.hvparams = self.hv_inst
    inst.beparams = self.be_inst
    inst.os = self.os_name
    inst.osparams = self.os_inst
    inst.osparams_private = self.os_private
    if self.admin_state != inst.admin_state:
      inst.admin_state = self.admin_state
      inst.admin_state_source = objects.ADMIN_SOURCE
      if self.admin_state == constants.ADMINST_OFFLINE:
        inst.disks_active = False
    self.cfg.Update(inst, feedback_fn)
    ec_id = self.proc.GetECId()
    for net_uuid, address in self.released_ips:
      self.cfg.ReleaseIp(net_uuid, address, ec_id)
    return self.result
