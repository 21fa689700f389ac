"""Creating an instance: checks of the request, disks, OS install, first start."""

import re
from typing import Any, Optional

from ganeti import constants
from ganeti import errors
from ganeti import hypervisor
from ganeti import locking
from ganeti import netutils
from ganeti import objects
from ganeti import paramdefs as pd
from ganeti.cmdlib import instance_adopt
from ganeti.cmdlib import ipolicy
from ganeti.cmdlib import instance_disks
from ganeti.cmdlib import instance_import
from ganeti.cmdlib import instance_utils as iu
from ganeti.cmdlib.base import LogicalUnit
from ganeti.storage import filestorage
from ganeti.utils.text import FormatUnit

_MAC_RE = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
_DISK_ACCESS = ("rw", "ro")
# disk templates that keep their data in files below a cluster directory
_FILE_TEMPLATES = {constants.DT_FILE: "file_storage_dir",
                   constants.DT_SHARED_FILE: "shared_file_storage_dir"}
# disk templates this master can create so far
_CREATABLE_TEMPLATES = (frozenset([constants.DT_DISKLESS, constants.DT_BLOCK]) |
                        frozenset(_FILE_TEMPLATES) | instance_disks.CREATED_TEMPLATES)


def NormalizeMac(mac: str) -> str:
  """A MAC address in lower case; refuses anything else."""
  normalized = mac.lower()
  if not _MAC_RE.match(normalized):
    raise errors.OpPrereqError("Invalid MAC address '%s'" % mac, errors.ECODE_INVAL)
  return normalized


def ParseNics(op: Any, cluster: Any) -> list[dict]:
  """The requested NICs, checked: mac, ip, network and nic parameters."""
  nics = []
  for idx, spec in enumerate(op.nics or []):
    spec = dict(spec)
    mode = spec.get(pd.NIC_MODE)
    if mode is not None and mode not in pd.NIC_VALID_MODES:
      raise errors.OpPrereqError("Invalid NIC mode '%s'" % mode, errors.ECODE_INVAL)
    ip = spec.get(pd.INIC_IP)
    if ip is not None and ip.lower() == pd.VALUE_NONE:
      ip = None
    elif ip is not None and ip.lower() not in (pd.VALUE_AUTO, pd.NIC_IP_POOL):
      if not (netutils.IsValidIP4(ip) or netutils.IsValidIP6(ip)):
        raise errors.OpPrereqError("Invalid IP address '%s' (nic %d)" % (ip, idx),
                                   errors.ECODE_INVAL)
    elif ip is not None and ip.lower() == pd.VALUE_AUTO and not op.name_check:
      raise errors.OpPrereqError("IP address set to auto but name checks have been"
                                 " skipped", errors.ECODE_INVAL)
    elif ip is not None and ip.lower() == pd.NIC_IP_POOL and not spec.get(pd.INIC_NETWORK):
      raise errors.OpPrereqError("if ip=pool, parameter network must be passed too",
                                 errors.ECODE_INVAL)
    mac = spec.get(pd.INIC_MAC) or pd.VALUE_AUTO
    if mac not in (pd.VALUE_AUTO, constants.VALUE_GENERATE):
      mac = NormalizeMac(mac)
    nicparams = {key: spec[key] for key in (pd.NIC_MODE, pd.NIC_LINK, pd.NIC_VLAN)
                 if spec.get(key) is not None}
    filled = cluster.SimpleFillNIC(nicparams)
    try:
      objects.NIC.CheckParameterSyntax(filled)
    except errors.ConfigurationError as err:
      raise errors.OpPrereqError("Invalid NIC parameters: %s" % err,
                                 errors.ECODE_INVAL) from None
    nics.append({"mac": mac, "ip": ip, "network": spec.get(pd.INIC_NETWORK),
                 "name": spec.get(pd.INIC_NAME), "nicparams": nicparams})
  return nics


def ParseDisks(op: Any) -> list[dict]:
  """The requested disks; names outside Ganeti's disk parameters are kept as
  the ExtStorage provider's parameters (ext_params)."""
  disks = []
  for idx, spec in enumerate(op.disks or []):
    adopt = spec.get(pd.IDISK_ADOPT)
    size = spec.get(pd.IDISK_SIZE)
    try:
      size = int(size) if size is not None or not adopt else 0
    except (TypeError, ValueError):
      raise errors.OpPrereqError("Invalid disk size '%s'" % (size,),
                                 errors.ECODE_INVAL) from None
    # an adopted disk's size is its volume's (the CLI sends 0)
    if size <= 0 and not adopt:
      raise errors.OpPrereqError("Invalid disk size '%s' (disk %d)" % (size, idx),
                                 errors.ECODE_INVAL)
    mode = spec.get(pd.IDISK_MODE, "rw")
    if mode not in _DISK_ACCESS:
      raise errors.OpPrereqError("Invalid disk access mode '%s'" % mode, errors.ECODE_INVAL)
    disks.append({"size": size, "mode": mode, "name": spec.get(pd.IDISK_NAME),
                  "spindles": spec.get(pd.IDISK_SPINDLES), "vg": spec.get(pd.IDISK_VG),
                  "metavg": spec.get(pd.IDISK_METAVG), "adopt": adopt,
                  "provider": spec.get(pd.IDISK_PROVIDER),
                  "access": spec.get(pd.IDISK_ACCESS),
                  "ext_params": {key: value for key, value in spec.items()
                                 if key not in pd.IDISK_PARAMS_TYPES}})
  return disks


class LUInstanceCreate(LogicalUnit):
  """Creates an instance: disks, configuration entry, OS install, start."""

  HPATH = "instance-add"
  HTYPE = constants.HTYPE_INSTANCE
  REQ_BGL = False

  def CheckArguments(self) -> None:
    op = self.op
    if op.mode != constants.INSTANCE_CREATE:
      instance_import.CheckArguments(self)
    if op.no_install and op.start:
      self.LogInfo("No-installation mode selected, disabling startup")
      op.start = False
    if op.ip_check and not op.name_check:
      raise errors.OpPrereqError("Cannot do IP address check without a name check",
                                 errors.ECODE_INVAL)
    if op.name_check:
      self.hostname, self.check_ip = netutils.ResolveHostname(op.instance_name)
      op.instance_name = self.hostname
    else:
      self.check_ip = None
    if not op.os_type and not op.no_install and op.mode == constants.INSTANCE_CREATE:
      raise errors.OpPrereqError("No guest OS or OS image specified", errors.ECODE_INVAL)
    if op.pnode is None and op.iallocator is None:
      op.iallocator = self.cfg.GetClusterInfo().default_iallocator or None
      if op.iallocator is None:
        raise errors.OpPrereqError(
          "No iallocator or node given and no cluster-wide default iallocator found;"
          " please specify either an iallocator or a node, or set a cluster-wide"
          " default iallocator", errors.ECODE_INVAL)
    if op.pnode is not None and op.iallocator is not None:
      raise errors.OpPrereqError("Give either the iallocator or the primary node,"
                                 " not both", errors.ECODE_INVAL)
    self.nic_specs = ParseNics(op, self.cfg.GetClusterInfo())
    self.disk_specs = ParseDisks(op)

  def ExpandNames(self) -> None:
    op = self.op
    if self.cfg.GetInstanceInfoByName(op.instance_name) is not None:
      raise errors.OpPrereqError("Instance '%s' is already in the cluster" %
                                 op.instance_name, errors.ECODE_EXISTS)
    self.add_locks[locking.LEVEL_INSTANCE] = [op.instance_name]
    if op.iallocator:
      self.needed_locks = {locking.LEVEL_NODE: locking.ALL_SET,
                           locking.LEVEL_NODE_RES: locking.ALL_SET}
    else:
      op.pnode_uuid = iu_node_uuid(self.cfg, op.pnode)
      nodes = [op.pnode_uuid]
      if op.snode:
        op.snode_uuid = iu_node_uuid(self.cfg, op.snode)
        nodes.append(op.snode_uuid)
      self.needed_locks = {locking.LEVEL_NODE: nodes, locking.LEVEL_NODE_RES: list(nodes)}
    if op.mode == constants.INSTANCE_IMPORT:
      instance_import.LockSourceNode(self)

  # --- checks ----------------------------------------------------------------

  def _DiskTemplate(self, cluster: Any) -> str:
    template = self.op.disk_template or cluster.enabled_disk_templates[0]
    if template not in cluster.enabled_disk_templates:
      raise errors.OpPrereqError(
        "Cannot create an instance with disk template '%s', because it is not enabled"
        " in the cluster. Enabled disk templates are: %s." %
        (template, ",".join(cluster.enabled_disk_templates)), errors.ECODE_STATE)
    if template not in _CREATABLE_TEMPLATES:
      raise errors.OpPrereqError("Disk template '%s' is not supported by this master yet" %
                                 template, errors.ECODE_INVAL)
    if template == constants.DT_DISKLESS and self.disk_specs:
      raise errors.OpPrereqError("Diskless instances cannot have disks", errors.ECODE_INVAL)
    if template != constants.DT_DISKLESS and not self.disk_specs:
      raise errors.OpPrereqError("No disks given for disk template '%s'" % template,
                                 errors.ECODE_INVAL)
    return template

  def _Hypervisor(self, cluster: Any) -> str:
    hvname = self.op.hypervisor or cluster.enabled_hypervisors[0]
    if hvname not in cluster.enabled_hypervisors:
      raise errors.OpPrereqError("Selected hypervisor (%s) not enabled in the cluster (%s)" %
                                 (hvname, ",".join(cluster.enabled_hypervisors)),
                                 errors.ECODE_STATE)
    return hvname

  def _PickNodes(self) -> None:
    """The primary (and for drbd the secondary) node the iallocator chooses."""
    from ganeti.cmdlib import allocation  # pylint: disable=import-outside-toplevel
    uuids = allocation.PickNodes(self, self.op.iallocator, self.be_full, self.hvname)
    self.op.pnode_uuid = uuids[0]
    self.op.pnode = self.cfg.GetNodeName(self.op.pnode_uuid)
    if len(uuids) > 1:
      self.op.snode_uuid = uuids[1]
      self.op.snode = self.cfg.GetNodeName(self.op.snode_uuid)

  def CheckPrereq(self) -> None:
    op = self.op
    cfg = self.cfg
    cluster = cfg.GetClusterInfo()
    self.export_info = None
    if op.mode == constants.INSTANCE_IMPORT:
      self.export_info = instance_import.ReadExport(self)
      self.nic_specs = ParseNics(op, cluster)
      self.disk_specs = ParseDisks(op)
    self.disk_template = self._DiskTemplate(cluster)
    instance_disks.CheckProviders(self.disk_template, self.disk_specs)
    self.adopting = instance_adopt.CheckSpecs(self.disk_template, self.disk_specs, op)
    self.hvname = self._Hypervisor(cluster)
    hv_class = hypervisor.GetHypervisorClass(self.hvname)
    pd.ForceDictType(op.hvparams, pd.HVS_PARAMETER_TYPES)
    self.hv_full = cluster.SimpleFillHV(self.hvname, op.os_type, op.hvparams)
    hv_class.CheckParameterSyntax(self.hv_full)
    # "memory" (older Ganeti's single value) becomes maxmem and minmem
    objects.UpgradeBeParams(op.beparams)
    pd.ForceDictType(op.beparams, pd.BES_PARAMETER_TYPES, allowed_values=[pd.VALUE_AUTO])
    self.be_full = cluster.SimpleFillBE(op.beparams)
    if self.be_full[pd.BE_MINMEM] > self.be_full[pd.BE_MAXMEM]:
      raise errors.OpPrereqError("Minimum memory (%s) cannot be bigger than the maximum"
                                 " memory (%s)" % (self.be_full[pd.BE_MINMEM],
                                                   self.be_full[pd.BE_MAXMEM]),
                                 errors.ECODE_INVAL)
    if op.iallocator:
      self._PickNodes()
    pnode = cfg.GetNodeInfo(op.pnode_uuid)
    iu.CheckNodeOnline(self, pnode.uuid)
    iu.CheckNodeNotDrained(self, pnode.uuid)
    iu.CheckNodeVmCapable(self, pnode.uuid)
    if op.snode_uuid and self.disk_template not in constants.DTS_INT_MIRROR:
      self.LogWarning("Secondary node will be ignored on non-mirrored disk template")
      op.snode_uuid = None
    self._CheckSecondaryNode()
    if self.disk_template in instance_disks.LVM_TEMPLATES:
      instance_disks.FillVolumeGroups(cfg, self.disk_specs)
    if self.adopting:
      instance_adopt.CheckVolumes(self, self.disk_template, pnode.uuid, self.disk_specs)
    elif self.disk_template in instance_disks.LVM_TEMPLATES:
      nodes = [pnode.uuid] + ([op.snode_uuid] if op.snode_uuid else [])
      instance_disks.CheckSpindles(self, nodes, self.disk_specs)
      instance_disks.CheckFreeSpace(self, nodes, instance_disks.SpacePerVolumeGroup(
        self.disk_template, self.disk_specs))
    group = cfg.GetNodeGroup(pnode.group)
    spec = ipolicy.InstanceSpec(self.be_full[pd.BE_MAXMEM], self.be_full[pd.BE_VCPUS],
                                [disk["size"] for disk in self.disk_specs],
                                len(self.nic_specs), self.be_full[pd.BE_SPINDLE_USE])
    ipolicy.CheckSpec(group, cluster.FillIPolicy(group), spec, self.disk_template,
                      op.ignore_ipolicy, self.LogWarning)
    if self.check_ip and op.ip_check and netutils.TcpPing(self.check_ip,
                                                          constants.DEFAULT_NODED_PORT):
      raise errors.OpPrereqError("IP %s of instance %s already in use" %
                                 (self.check_ip, op.instance_name), errors.ECODE_NOTUNIQUE)
    self._CheckOnPrimary(cluster, pnode)
    if op.start:
      iu.CheckNodeFreeMemory(self, pnode.uuid, "creating instance %s" % op.instance_name,
                             self.be_full[pd.BE_MAXMEM], self.hvname)
    self.instance = self._BuildInstance(cluster)

  def _CheckSecondaryNode(self) -> None:
    """A mirrored template needs a usable secondary node apart from the primary."""
    op = self.op
    if self.disk_template not in constants.DTS_INT_MIRROR:
      return
    if not op.snode_uuid:
      raise errors.OpPrereqError("The networked disk templates need a mirror node",
                                 errors.ECODE_INVAL)
    if op.snode_uuid == op.pnode_uuid:
      raise errors.OpPrereqError("The secondary node cannot be the primary node",
                                 errors.ECODE_INVAL)
    iu.CheckNodeOnline(self, op.snode_uuid)
    iu.CheckNodeNotDrained(self, op.snode_uuid)
    iu.CheckNodeVmCapable(self, op.snode_uuid)

  def _CheckOnPrimary(self, cluster: Any, pnode: objects.Node) -> None:
    """The OS and its parameters, the hypervisor parameters and the bridges,
    asked of the primary together; failures are reported in that order."""
    op = self.op
    checks = []
    if op.os_type:
      self.os_full = cluster.SimpleFillOS(op.os_type, op.osparams)
      checks.append((("os_validate", [pnode.uuid], (
        True, op.os_type, [constants.OS_VALIDATE_PARAMETERS], self.os_full,
        op.force_variant)), "OS Parameters validation failed on node %s" % pnode.name, {}))
    checks.append((("hypervisor_validate_params", [pnode.uuid], (self.hvname, self.hv_full)),
                   "Hypervisor parameter validation failed on node %s" % pnode.name, {}))
    bridges = [cluster.SimpleFillNIC(nic["nicparams"])[pd.NIC_LINK]
               for nic in self.nic_specs
               if cluster.SimpleFillNIC(nic["nicparams"])[pd.NIC_MODE] ==
               pd.NIC_MODE_BRIDGED]
    if bridges:
      checks.append((("bridges_exist", pnode.uuid, (bridges,)),
                     "Error checking bridges on destination node '%s'" % pnode.name,
                     {"prereq": True, "ecode": errors.ECODE_ENVIRON}))
    results = self.rpc.CallTogether([call for call, _, _ in checks])
    for (_, message, options), result in zip(checks, results):
      if isinstance(result, dict):
        result = result[pnode.uuid]
      result.Raise(message, **options)

  # --- the new objects ---------------------------------------------------------

  def _NicNetwork(self, spec: dict, group: objects.NodeGroup) -> Optional[str]:
    """The uuid of the NIC's network (connected to the node's group), taking
    the connection's mode and link; None without a network."""
    if not spec["network"]:
      return None
    net_uuid = self.cfg.LookupNetwork(spec["network"])
    if spec["nicparams"].get(pd.NIC_MODE) or spec["nicparams"].get(pd.NIC_LINK):
      raise errors.OpPrereqError("If network is given, no mode or link is allowed to be"
                                 " passed", errors.ECODE_INVAL)
    netparams = group.networks.get(net_uuid)
    if netparams is None:
      raise errors.OpPrereqError("No netparams found for network %s. Probably not"
                                 " connected to node's %s nodegroup" %
                                 (spec["network"], self.op.pnode), errors.ECODE_INVAL)
    spec["nicparams"] = dict(netparams)
    return net_uuid

  def _NicIp(self, spec: dict, net_uuid: Optional[str]) -> Optional[str]:
    ip = spec["ip"]
    if ip is not None and ip.lower() == pd.VALUE_AUTO:
      ip = self.check_ip
    return iu.ReserveNicIp(self, ip, net_uuid, self.op.pnode_uuid, self.op.conflicts_check)

  def _BuildNics(self) -> list[objects.NIC]:
    ec_id = self.proc.GetECId()
    group = self.cfg.GetNodeGroup(self.cfg.GetNodeInfo(self.op.pnode_uuid).group)
    nics = []
    for spec in self.nic_specs:
      net_uuid = self._NicNetwork(spec, group)
      mac = spec["mac"]
      if mac in (pd.VALUE_AUTO, constants.VALUE_GENERATE):
        mac = self.cfg.GenerateMAC(net_uuid, ec_id)
      else:
        try:
          self.cfg.ReserveMAC(mac, ec_id)
        except errors.ReservationError:
          raise errors.OpPrereqError("MAC address %s already in use in cluster" % mac,
                                     errors.ECODE_NOTUNIQUE) from None
      ip = self._NicIp(spec, net_uuid)
      mode = self.cfg.GetClusterInfo().SimpleFillNIC(spec["nicparams"])[pd.NIC_MODE]
      if mode == pd.NIC_MODE_ROUTED and ip is None and net_uuid is None:
        raise errors.OpPrereqError("Routed nic mode requires an ip address if not attached"
                                   " to a network", errors.ECODE_INVAL)
      nics.append(objects.NIC(mac=mac, ip=ip, network=net_uuid, name=spec["name"],
                              nicparams=spec["nicparams"],
                              uuid=self.cfg.GenerateUniqueID(ec_id)))
    return nics

  def _BuildDisks(self, cluster: Any) -> list[objects.Disk]:
    if self.disk_template == constants.DT_DISKLESS:
      return []
    if self.adopting:
      return instance_adopt.BuildDisks(self, self.disk_template, self.disk_specs,
                                       self.op.pnode_uuid)
    if self.disk_template in instance_disks.CREATED_TEMPLATES:
      return instance_disks.GenerateDisks(self, self.disk_template, self.disk_specs,
                                          self.op.pnode_uuid, self.op.snode_uuid)
    ec_id = self.proc.GetECId()
    storage_dir = getattr(cluster, _FILE_TEMPLATES[self.disk_template])
    instance_dir = filestorage.InstanceFileStorageDir(storage_dir, self.op.instance_name,
                                                      self.op.file_storage_dir)
    disks = []
    for idx, spec in enumerate(self.disk_specs):
      path = filestorage.FileDiskPath(instance_dir, self.cfg.GenerateUniqueID(ec_id), idx,
                                      self.disk_template)
      disks.append(objects.Disk(
        dev_type=self.disk_template, size=spec["size"], mode=spec["mode"],
        name=spec["name"], spindles=spec["spindles"], iv_name="disk/%d" % idx,
        logical_id=filestorage.FileLogicalId(self.op.file_driver, path),
        nodes=[self.op.pnode_uuid], params={}, uuid=self.cfg.GenerateUniqueID(ec_id)))
    return disks

  def _BuildInstance(self, cluster: Any) -> objects.Instance:
    op = self.op
    hv_class = hypervisor.GetHypervisorClass(self.hvname)
    port = self.cfg.AllocatePort() if getattr(hv_class, "REQUIRES_NETWORK_PORT",
                                              False) else None
    inst = objects.Instance(
      name=op.instance_name, uuid=self.cfg.GenerateUniqueID(self.proc.GetECId()),
      primary_node=op.pnode_uuid, os=op.os_type or "", hypervisor=self.hvname,
      hvparams=dict(op.hvparams), beparams=dict(op.beparams),
      osparams=dict(op.osparams), osparams_private=dict(op.osparams_private or {}),
      admin_state=constants.ADMINST_DOWN, admin_state_source=objects.ADMIN_SOURCE,
      nics=self._BuildNics(), disks=[], disks_active=False, network_port=port,
      tags=list(op.tags or []))
    self.new_disks = self._BuildDisks(cluster)
    return inst

  # --- hooks -------------------------------------------------------------------

  def BuildHooksEnv(self) -> dict[str, Any]:
    env = iu.InstanceHookEnv(self, self.instance, disks=self.new_disks,
                             disk_template=self.disk_template)
    env["INSTANCE_ADD_MODE"] = self.op.mode
    if self.export_info is not None:
      env.update(SRC_NODE=self.op.src_node, SRC_PATH=self.op.src_path,
                 SRC_IMAGES=" ".join(dump["dump"] for dump in self.export_info.Disks()))
    return env

  def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
    nodes = [self.cfg.GetMasterNode(), self.op.pnode_uuid]
    if self.op.snode_uuid:
      nodes.append(self.op.snode_uuid)
    return nodes, nodes

  # --- execution ---------------------------------------------------------------

  def _CreateDisks(self, inst: objects.Instance, feedback_fn: Any) -> None:
    for idx, disk in enumerate(self.new_disks):
      feedback_fn("* disk %d, size %s" % (idx, FormatUnit(disk.size, "h")))
    feedback_fn("* creating instance disks...")
    if not self.new_disks:
      return
    if self.adopting:
      instance_adopt.TakeOver(self, inst, self.new_disks, self.disk_specs)
      return
    if self.disk_template in instance_disks.CREATED_TEMPLATES:
      instance_disks.CreateDisks(self, inst, self.new_disks)
      return
    pnode = inst.primary_node
    directory = filestorage.DiskFileDir(self.new_disks[0].logical_id)
    result = self.rpc.call_file_storage_dir_create(pnode, directory)
    result.Raise("Failed to create directory '%s' on node %s" %
                 (directory, self.cfg.GetNodeName(pnode)))
    created = []
    try:
      for disk in self.new_disks:
        result = self.rpc.call_blockdev_create(pnode, (disk, inst), disk.size, inst.name,
                                               True, "originstname+%s" % inst.name, False)
        result.Raise("Can't create block device %s on node %s for instance %s" %
                     (disk.iv_name, self.cfg.GetNodeName(pnode), inst.name))
        created.append(disk)
    except errors.OpExecError:
      iu.RemoveDisks(self, inst, disks=self.new_disks)
      raise

  def _Abandon(self, inst: objects.Instance, configured: bool) -> None:
    """Undoes a creation after its disks were made: devices, configuration
    entry, ports and DRBD minors.  Adopted volumes are given back, not removed."""
    if self.adopting:
      instance_adopt.GiveBack(self, inst, self.new_disks, self.disk_specs)
    else:
      iu.RemoveDisks(self, inst, disks=self.new_disks)
    if configured:
      self.cfg.RemoveInstance(inst.uuid)
      return
    instance_disks.ReleaseDisks(self, self.new_disks)
    if inst.network_port is not None:
      self.cfg.AddTcpUdpPort(inst.network_port)

  def _WaitForMirrors(self, inst: objects.Instance, feedback_fn: Any) -> None:
    """Waits for the disks' sync (or, without --wait-for-sync, checks that
    mirrors are not degraded); a degraded disk undoes the creation."""
    try:
      self._AwaitPeers(inst)
      if self.op.wait_for_sync:
        in_sync = instance_disks.WaitForSync(self, inst)
      elif self.disk_template in constants.DTS_INT_MIRROR:
        feedback_fn("* checking mirrors status")
        in_sync = instance_disks.WaitForSync(self, inst, oneshot=True)
      else:
        return
    except (errors.OpExecError, errors.RemoteError):
      self._Abandon(inst, configured=True)
      raise
    if not in_sync:
      self._Abandon(inst, configured=True)
      raise errors.OpExecError("There are some degraded disks for this instance")

  def _AwaitPeers(self, inst: objects.Instance) -> None:
    """Waits on the primary for its new DRBD devices to reach their peers, as
    the node sees it in /proc/drbd.  Asked sooner, a fresh mirror reads
    degraded and is asked again after a pause, each time with an LV listing
    (a just connected one may still read degraded for a moment, before its
    resync starts: the pauses stay for that)."""
    if self.disk_template not in constants.DTS_INT_MIRROR:
      return
    disks = self.cfg.GetInstanceDisks(inst.uuid)
    result = self.rpc.call_drbd_wait_sync([inst.primary_node], (disks, inst))[inst.primary_node]
    if result.fail_msg:
      self.LogWarning("The disks' mirrors did not connect: %s", result.fail_msg)

  def _PauseSync(self, inst: objects.Instance, pause: bool) -> None:
    """Pauses (or resumes) a mirror's resync around the OS installation."""
    result = self.rpc.call_blockdev_pause_resume_sync(
      inst.primary_node, (self.cfg.GetInstanceDisks(inst.uuid), inst), pause)
    if result.fail_msg:
      self.LogWarning("Failed to %s disk sync: %s", "pause" if pause else "resume",
                      result.fail_msg)

  def _InstallOs(self, inst: objects.Instance, feedback_fn: Any) -> None:
    op = self.op
    pause_sync = not op.wait_for_sync and self.disk_template in constants.DTS_INT_MIRROR
    if pause_sync:
      feedback_fn("* pausing disk sync to install instance OS")
      self._PauseSync(inst, True)
    feedback_fn("* running the instance OS create scripts...")
    result = self.rpc.call_instance_os_add(inst.primary_node, (inst, None), False,
                                           op.debug_level or 0)
    if pause_sync:
      feedback_fn("* resuming disk sync")
      self._PauseSync(inst, False)
    result.Raise("Could not add os for instance %s on node %s" %
                 (inst.name, self.cfg.GetNodeName(inst.primary_node)))

  def Exec(self, feedback_fn: Any) -> list[str]:
    inst = self.instance
    op = self.op
    instance_disks.AllocatePorts(self, self.new_disks)
    try:
      self._CreateDisks(inst, feedback_fn)
    except errors.OpExecError:
      instance_disks.ReleaseDisks(self, self.new_disks)
      raise
    feedback_fn("adding instance %s to cluster config" % inst.name)
    inst.disks = list(self.new_disks)
    # devices made here are left active on their nodes (mirrors connected, the
    # primary's promoted): installing and starting need no second assembly
    inst.disks_active = (bool(self.new_disks) and not self.adopting and
                         self.disk_template in instance_disks.CREATED_TEMPLATES)
    try:
      self.cfg.AddInstance(inst, self.proc.GetECId())
    except errors.GenericError:
      self._Abandon(inst, configured=False)
      raise
    if self.new_disks:
      feedback_fn("adding disks to cluster config")
    inst = self.cfg.GetInstanceInfo(inst.uuid)
    self._WaitForMirrors(inst, feedback_fn)
    if self.new_disks and self.export_info is not None:
      if not inst.disks_active:
        iu.StartInstanceDisks(self, inst)
      try:
        instance_import.ImportDisks(self, inst, self.export_info, feedback_fn)
      finally:
        if not op.start:
          iu.ShutdownInstanceDisks(self, inst)
    elif self.new_disks and not op.no_install and op.os_type and not self.adopting:
      if not inst.disks_active:
        iu.StartInstanceDisks(self, inst)
      try:
        self._InstallOs(inst, feedback_fn)
      finally:
        if not op.start:
          iu.ShutdownInstanceDisks(self, inst)
    elif self.disk_template in instance_disks.CREATED_TEMPLATES and not op.start:
      # creation left the devices active; a stopped instance keeps none
      iu.ShutdownInstanceDisks(self, inst)
    if op.start:
      feedback_fn("* starting instance...")
      self.cfg.MarkInstanceUp(inst.uuid)
      inst = self.cfg.GetInstanceInfo(inst.uuid)
      if not inst.disks_active:
        iu.StartInstanceDisks(self, inst)
      result = self.rpc.call_instance_start(inst.primary_node, (inst, None, None), False,
                                            op.reason)
      result.Raise("Could not start instance")
    return [self.cfg.GetNodeName(uuid) for uuid in self.cfg.GetInstanceNodes(inst.uuid)]


def iu_node_uuid(cfg: Any, name: str) -> str:
  """A node's uuid from its name (or uuid); unknown nodes are refused."""
  node = cfg.GetNodeInfoByName(name) or cfg.GetNodeInfo(name)
  if node is None:
    raise errors.OpPrereqError("Node '%s' not known" % name, errors.ECODE_NOENT)
  return node.uuid
