"""The configuration object model: cluster, nodes, groups, instances, ...

Each class declares its persistent fields in the order config.data writes
them; an attribute set to None is left out of the written form.  ToDict and
FromDict convert to and from the JSON-ready layout of Ganeti 3.0's
config.data, UpgradeConfig fills in what an older or partial document lacks,
and the Fill* functions compute effective parameters by inheritance
(cluster -> node group -> node or instance).
"""

import operator
import re
import uuid as uuid_module
from typing import Any, Callable, Iterable, Optional

from ganeti import constants
from ganeti import errors
from ganeti import paramdefs

# Child field kinds: how a field holding config objects is laid out
_ONE = "one"
_LIST = "list"
_DICT = "dict"

_TIMESTAMPS = ("ctime", "mtime")


def _Factory(value: Any) -> Callable[[], Any]:
  """A callable producing a fresh deep copy of value (for mutable defaults)."""
  return lambda: CopyValue(value)


# immutable: shared by copies (parameter dicts are mostly of these; not
# calling CopyValue for each of them halves the time of a copy)
_SCALARS = frozenset([str, int, float, bool, type(None)])


def CopyValue(value: Any) -> Any:
  """Deep copy of JSON-like data (dicts, lists, tuples and scalars)."""
  kind = type(value)
  if kind is dict:
    return {key: item if type(item) in _SCALARS else CopyValue(item)
            for key, item in value.items()}
  if kind is list or kind is tuple:
    return [item if type(item) in _SCALARS else CopyValue(item) for item in value]
  if kind is set or kind is frozenset:
    return set(value)
  return value


def FillDict(defaults: dict, custom: Optional[dict],
             skip_keys: Optional[Iterable[str]] = None) -> dict:
  """A new dict: defaults overridden by custom, without skip_keys."""
  result = dict(defaults)
  if custom:
    result.update(custom)
  for key in skip_keys or ():
    result.pop(key, None)
  return result


def FillMissing(target: dict, defaults: dict) -> None:
  """Adds, in place, the keys of defaults that target lacks (copied)."""
  for key, value in defaults.items():
    if key not in target:
      target[key] = CopyValue(value)


def FillIPolicy(default_ipolicy: dict, custom_ipolicy: Optional[dict]) -> dict:
  """The effective instance policy: custom keys win; std specs merge."""
  result = CopyValue(custom_ipolicy or {})
  for key, value in default_ipolicy.items():
    if key not in result:
      result[key] = CopyValue(value)
    elif key == paramdefs.ISPECS_STD:
      result[key] = FillDict(value, result[key])
  return result


def FillDiskParams(default_dparams: dict, custom_dparams: Optional[dict],
                   skip_keys: Optional[Iterable[str]] = None) -> dict:
  """Per disk template: defaults overridden by custom."""
  custom_dparams = custom_dparams or {}
  return {template: FillDict(default_dparams.get(template, {}),
                             custom_dparams.get(template, {}), skip_keys)
          for template in sorted(constants.DISK_TEMPLATES)}


def UpgradeBeParams(beparams: dict) -> None:
  """Replaces the pre-2.6 "memory" backend parameter by maxmem and minmem."""
  if paramdefs.BE_MEMORY in beparams:
    memory = beparams.pop(paramdefs.BE_MEMORY)
    beparams.setdefault(paramdefs.BE_MAXMEM, memory)
    beparams.setdefault(paramdefs.BE_MINMEM, memory)


def _EachChild(kind: str, value: Any, convert: Callable[[Any], Any]) -> Any:
  """A field holding config objects (one, a list or a dict of them), each
  converted."""
  if kind == _LIST:
    return [convert(item) for item in value]
  if kind == _DICT:
    return {key: convert(item) for key, item in value.items()}
  return convert(value)


# (called on each child: a class of its own may override them)
_TO_DICT = operator.methodcaller("ToDict")
_COPY = operator.methodcaller("Copy")


def NewUuid() -> str:
  return str(uuid_module.uuid4())


class ConfigObject:
  """Base of all configuration objects.

  Subclasses set FIELDS (persistent fields, in written order), CHILDREN
  (fields holding config objects: field -> (kind, class)) and DEFAULTS
  (field -> value or zero-argument factory, applied by UpgradeConfig to
  fields that are None).
  """
  __slots__ = ()
  FIELDS: tuple[str, ...] = ()
  CHILDREN: dict[str, tuple[str, type]] = {}
  DEFAULTS: dict[str, Any] = {}
  _FIELD_SET: frozenset = frozenset()

  def __init_subclass__(cls, **kwargs: Any) -> None:
    super().__init_subclass__(**kwargs)
    cls._FIELD_SET = frozenset(cls.FIELDS)

  def __init__(self, **kwargs: Any) -> None:
    unknown = set(kwargs).difference(self._FIELD_SET)
    if unknown:
      raise errors.ProgrammerError("Unknown field(s) %s for %s" %
                                   (", ".join(sorted(unknown)), type(self).__name__))
    for name in self.FIELDS:
      setattr(self, name, kwargs.get(name))

  def __repr__(self) -> str:
    ident = [("%s=%r" % (name, getattr(self, name)))
             for name in ("name", "uuid") if name in self._FIELD_SET]
    return "<%s %s>" % (type(self).__name__, " ".join(ident))

  def ToDict(self) -> dict:
    """The JSON-ready form; parameter dicts are shared, not copied."""
    result = {}
    children = self.CHILDREN
    for name in self.FIELDS:
      value = getattr(self, name)
      if value is None:
        continue
      if name in children:
        value = _EachChild(children[name][0], value, _TO_DICT)
      result[name] = value
    return result

  @classmethod
  def FromDict(cls, data: dict) -> "ConfigObject":
    """Builds an object from its dict form (the dict's containers are kept)."""
    if not isinstance(data, dict):
      raise errors.ConfigurationError("Invalid %s: expected a dict, got %r" %
                                      (cls.__name__, type(data).__name__))
    unknown = set(data).difference(cls._FIELD_SET)
    if unknown:
      raise errors.ConfigurationError("Unknown field(s) %s in %s" %
                                      (", ".join(sorted(unknown)), cls.__name__))
    obj = cls.__new__(cls)
    children = cls.CHILDREN
    for name in cls.FIELDS:
      value = data.get(name)
      if value is not None and name in children:
        kind, child_cls = children[name]
        value = _EachChild(kind, value, child_cls.FromDict)
      setattr(obj, name, value)
    return obj

  def Copy(self) -> "ConfigObject":
    """A deep copy, sharing nothing mutable with self (in one pass: the
    configuration's readers copy what they get, dozens of times per job)."""
    cls = type(self)
    copy = cls.__new__(cls)
    children = cls.CHILDREN
    for name in cls.FIELDS:
      value = getattr(self, name)
      if value is not None and type(value) not in _SCALARS:
        if name in children:
          value = _EachChild(children[name][0], value, _COPY)
        else:
          value = CopyValue(value)
      setattr(copy, name, value)
    return copy

  def UpgradeConfig(self) -> None:
    """Fills fields that are missing (None) and upgrades child objects."""
    for name, default in self.DEFAULTS.items():
      if getattr(self, name) is None:
        setattr(self, name, default() if callable(default) else default)
    for name, (kind, _) in self.CHILDREN.items():
      value = getattr(self, name)
      if value is None:
        continue
      items = (value if kind == _LIST else
               value.values() if kind == _DICT else [value])
      for item in items:
        item.UpgradeConfig()


class TaggableObject(ConfigObject):
  """An object carrying tags (kept as a list, in insertion order)."""
  __slots__ = ()
  _TAG_RE = re.compile(r"[\w.+*/:@-]+")

  @classmethod
  def ValidateTag(cls, tag: Any) -> None:
    """Raises TagError unless tag is a valid tag."""
    if not isinstance(tag, str):
      raise errors.TagError("Invalid tag type (not a string)")
    if len(tag) > constants.MAX_TAG_LEN:
      raise errors.TagError("Tag too long (>%d characters)" % constants.MAX_TAG_LEN)
    if not tag:
      raise errors.TagError("Tags cannot be empty")
    if not cls._TAG_RE.fullmatch(tag):
      raise errors.TagError("Tag contains invalid characters")

  def GetTags(self) -> set[str]:
    return set(self.tags or ())

  def AddTag(self, tag: str) -> None:
    self.ValidateTag(tag)
    if self.tags is None:
      self.tags = []
    if tag in self.tags:
      return
    if len(self.tags) >= constants.MAX_TAGS_PER_OBJ:
      raise errors.TagError("Too many tags")
    self.tags.append(tag)

  def RemoveTag(self, tag: str) -> None:
    self.ValidateTag(tag)
    if not self.tags or tag not in self.tags:
      raise errors.TagError("Tag not found")
    self.tags.remove(tag)


_TAGGED = {"tags": list, "serial_no": 1}


class NIC(ConfigObject):
  """A network interface of an instance."""
  FIELDS = ("mac", "ip", "nicparams", "network", "name", "uuid",
            # Set only on copies sent to nodes
            "netinfo", "pci", "hvinfo")
  __slots__ = FIELDS
  DEFAULTS = {"nicparams": dict}

  @staticmethod
  def CheckParameterSyntax(nicparams: dict) -> None:
    """Checks filled NIC parameters for consistency."""
    mode = nicparams[paramdefs.NIC_MODE]
    if (mode not in paramdefs.NIC_VALID_MODES and
        mode != paramdefs.VALUE_AUTO):
      raise errors.ConfigurationError("Invalid NIC mode '%s'" % mode)
    if mode == paramdefs.NIC_MODE_BRIDGED and not nicparams[paramdefs.NIC_LINK]:
      raise errors.ConfigurationError("Missing bridged NIC link")


_GROWABLE_DISK_TYPES = frozenset([
  constants.DT_PLAIN, constants.DT_DRBD8, constants.DT_FILE,
  constants.DT_SHARED_FILE, constants.DT_GLUSTER, constants.DT_RBD,
  constants.DT_EXT])
DISK_RDONLY = "ro"
DISK_RDWR = "rw"
DISK_ACCESS_SET = frozenset([DISK_RDONLY, DISK_RDWR])


class Disk(ConfigObject):
  """A disk: top-level disks are kept in ConfigData.disks, keyed by uuid."""
  FIELDS = ("logical_id", "dev_type", "children", "nodes", "iv_name", "size",
            "mode", "name", "spindles", "params", "forthcoming", "uuid",
            "serial_no", "ctime", "mtime",
            # Set only on copies sent to nodes
            "dynamic_params", "pci", "hvinfo")
  __slots__ = FIELDS
  DEFAULTS = {"children": list, "params": dict}

  def IsBasedOnDiskType(self, dev_type: str) -> bool:
    """Whether this disk or one of its descendants has type dev_type."""
    return self.dev_type == dev_type or any(
      child.IsBasedOnDiskType(dev_type) for child in self.children or ())

  def LocalHalf(self) -> "Disk":
    """A copy of this DRBD disk that its node sets up off the network: the
    resource and the local disks, without the peer's address (the device
    connects later, by drbd_attach_net or another assembly)."""
    half = self.Copy()
    half.dynamic_params = {constants.DDP_REMOTE_IP: None}
    return half

  def RecordGrow(self, amount: int) -> None:
    """Records a size increase of amount MiB in this disk and its data children."""
    if self.dev_type not in _GROWABLE_DISK_TYPES:
      raise errors.ProgrammerError("Disk.RecordGrow called for unsupported"
                                   " disk type %s" % self.dev_type)
    self.size += amount
    # A DRBD disk's first child holds the data, the second the metadata
    if self.dev_type == constants.DT_DRBD8 and self.children:
      self.children[0].RecordGrow(amount)


Disk.CHILDREN = {"children": (_LIST, Disk)}


ADMIN_SOURCE = "admin"
USER_SOURCE = "user"
ADMIN_STATE_SOURCES = frozenset([ADMIN_SOURCE, USER_SOURCE])


class Instance(TaggableObject):
  """An instance; disks are referenced by uuid (see ConfigData.disks)."""
  FIELDS = ("name", "primary_node", "os", "hypervisor", "hvparams", "beparams",
            "osparams", "osparams_private", "admin_state", "admin_state_source",
            "nics", "disks", "disks_active", "network_port", "forthcoming",
            "ctime", "mtime", "uuid", "serial_no", "tags",
            # Set only on copies sent to nodes: the disk objects
            "disks_info")
  __slots__ = FIELDS
  CHILDREN = {"nics": (_LIST, NIC), "disks_info": (_LIST, Disk)}
  DEFAULTS = {
    "hvparams": dict, "beparams": dict, "osparams": dict,
    "osparams_private": dict, "admin_state": constants.ADMINST_DOWN,
    "admin_state_source": ADMIN_SOURCE, "nics": list, "disks": list,
    "disks_active": False, **_TAGGED,
  }

  def UpgradeConfig(self) -> None:
    super().UpgradeConfig()
    UpgradeBeParams(self.beparams)
    for key in paramdefs.HVC_GLOBALS.intersection(self.hvparams):
      del self.hvparams[key]


class Node(TaggableObject):
  FIELDS = ("name", "primary_ip", "secondary_ip", "master_candidate", "offline",
            "drained", "group", "master_capable", "vm_capable", "ndparams",
            "powered", "hv_state_static", "disk_state_static",
            "ctime", "mtime", "uuid", "serial_no", "tags",
            # Runtime resource state, never stored
            "hv_state", "disk_state")
  __slots__ = FIELDS
  DEFAULTS = {
    "master_candidate": False, "offline": False, "drained": False,
    "master_capable": True, "vm_capable": True, "ndparams": dict,
    "powered": True, **_TAGGED,
  }


ALLOC_POLICY_PREFERRED = "preferred"
ALLOC_POLICY_LAST_RESORT = "last_resort"
ALLOC_POLICY_UNALLOCABLE = "unallocable"
# In order of preference
VALID_ALLOC_POLICIES = (ALLOC_POLICY_PREFERRED, ALLOC_POLICY_LAST_RESORT,
                        ALLOC_POLICY_UNALLOCABLE)


class NodeGroup(TaggableObject):
  FIELDS = ("name", "members", "ndparams", "alloc_policy", "ipolicy",
            "diskparams", "networks", "hv_state_static", "disk_state_static",
            "ctime", "mtime", "uuid", "serial_no", "tags")
  __slots__ = FIELDS
  DEFAULTS = {
    "members": list, "ndparams": dict,
    "alloc_policy": ALLOC_POLICY_PREFERRED,
    "ipolicy": dict, "diskparams": dict, "networks": dict, **_TAGGED,
  }

  def FillND(self, node: Node) -> dict:
    """The group's node parameters overridden by the node's."""
    return self.SimpleFillND(node.ndparams)

  def SimpleFillND(self, ndparams: Optional[dict]) -> dict:
    return FillDict(self.ndparams, ndparams)


class Network(TaggableObject):
  FIELDS = ("name", "mac_prefix", "network", "network6", "gateway", "gateway6",
            "reservations", "ext_reservations", "uuid", "ctime", "mtime",
            "serial_no", "tags")
  __slots__ = FIELDS
  DEFAULTS = dict(_TAGGED)


class Filter(ConfigObject):
  """A job filter rule (see gnt-filter)."""
  FIELDS = ("watermark", "priority", "predicates", "action", "reason_trail",
            "uuid")
  __slots__ = FIELDS
  DEFAULTS = {"priority": 0, "predicates": list, "action": "CONTINUE",
              "reason_trail": list}


def _DefaultIPolicy() -> dict:
  return CopyValue(paramdefs.IPOLICY_DEFAULTS)


class Cluster(TaggableObject):
  FIELDS = (
    "rsahostkeypub", "dsahostkeypub", "highest_used_port", "tcpudp_port_pool",
    "mac_prefix", "volume_group_name", "reserved_lvs", "drbd_usermode_helper",
    "master_node", "master_ip", "master_netdev", "master_netmask",
    "use_external_mip_script", "cluster_name", "file_storage_dir",
    "shared_file_storage_dir", "gluster_storage_dir", "enabled_hypervisors",
    "hvparams", "os_hvp", "beparams", "osparams", "osparams_private_cluster",
    "nicparams", "ndparams", "diskparams", "candidate_pool_size",
    "modify_etc_hosts", "modify_ssh_setup", "maintain_node_health", "uid_pool",
    "default_iallocator", "default_iallocator_params", "hidden_os",
    "blacklisted_os", "primary_ip_family", "prealloc_wipe_disks", "ipolicy",
    "hv_state_static", "disk_state_static", "enabled_disk_templates",
    "candidate_certs", "max_running_jobs", "max_tracked_jobs", "install_image",
    "instance_communication_network", "zeroing_image", "compression_tools",
    "enabled_user_shutdown", "data_collectors", "ssh_key_type", "ssh_key_bits",
    "ctime", "mtime", "uuid", "serial_no", "tags")
  __slots__ = FIELDS
  DEFAULTS = {
    "rsahostkeypub": "", "dsahostkeypub": "",
    "highest_used_port": paramdefs.FIRST_DRBD_PORT - 1,
    "tcpudp_port_pool": list, "mac_prefix": paramdefs.DEFAULT_MAC_PREFIX,
    "reserved_lvs": list, "use_external_mip_script": False,
    "file_storage_dir": "", "shared_file_storage_dir": "",
    "gluster_storage_dir": "",
    "enabled_hypervisors": _Factory([constants.HT_XEN_PVM]),
    "hvparams": dict, "os_hvp": dict, "beparams": dict, "osparams": dict,
    "osparams_private_cluster": dict, "nicparams": dict, "ndparams": dict,
    "diskparams": dict,
    "candidate_pool_size": paramdefs.DEFAULT_CANDIDATE_POOL_SIZE,
    "modify_etc_hosts": True, "modify_ssh_setup": True,
    "maintain_node_health": False, "uid_pool": list, "default_iallocator": "",
    "default_iallocator_params": dict, "hidden_os": list,
    "blacklisted_os": list, "primary_ip_family": constants.IP4_FAMILY,
    "prealloc_wipe_disks": False, "ipolicy": dict, "hv_state_static": dict,
    "disk_state_static": dict,
    "enabled_disk_templates": _Factory(constants.DEFAULT_ENABLED_DISK_TEMPLATES),
    "candidate_certs": dict,
    "max_running_jobs": paramdefs.DEFAULT_MAX_RUNNING_JOBS,
    "max_tracked_jobs": paramdefs.DEFAULT_MAX_TRACKED_JOBS,
    "install_image": "", "instance_communication_network": "",
    "zeroing_image": "",
    "compression_tools": _Factory(paramdefs.IEC_DEFAULT_TOOLS),
    "enabled_user_shutdown": False, "data_collectors": dict,
    "ssh_key_type": paramdefs.SSH_DEFAULT_KEY_TYPE,
    "ssh_key_bits": paramdefs.SSH_DEFAULT_KEY_BITS,
    **_TAGGED,
  }

  def UpgradeConfig(self) -> None:
    """Fills missing settings and parameters with Ganeti's defaults.

    Present values keep their order; missing keys are appended, so a
    complete configuration is left exactly as it was.
    """
    super().UpgradeConfig()
    if self.master_netmask is None:
      self.master_netmask = 128 if self.primary_ip_family == constants.IP6_FAMILY else 32
    for hv_name, defaults in paramdefs.HVC_DEFAULTS.items():
      FillMissing(self.hvparams.setdefault(hv_name, {}), defaults)
    for params in self.os_hvp.values():
      for hv_params in params.values():
        for key in paramdefs.HVC_GLOBALS.intersection(hv_params):
          del hv_params[key]
    beparams = self.beparams.setdefault(paramdefs.PP_DEFAULT, {})
    UpgradeBeParams(beparams)
    FillMissing(beparams, paramdefs.BEC_DEFAULTS)
    FillMissing(self.nicparams.setdefault(paramdefs.PP_DEFAULT, {}),
                paramdefs.NICC_DEFAULTS)
    FillMissing(self.ndparams, paramdefs.NDC_DEFAULTS)
    for template, defaults in paramdefs.DISK_DT_DEFAULTS.items():
      FillMissing(self.diskparams.setdefault(template, {}), defaults)
    FillMissing(self.ipolicy, paramdefs.IPOLICY_DEFAULTS)
    for name, defaults in paramdefs.DATA_COLLECTORS_DEFAULTS.items():
      FillMissing(self.data_collectors.setdefault(name, {}), defaults)

  # Inheritance of parameters

  def GetDefaultHypervisor(self) -> str:
    return self.enabled_hypervisors[0]

  def GetHVDefaults(self, hypervisor: str, os_name: Optional[str] = None,
                    skip_keys: Optional[Iterable[str]] = None) -> dict:
    """The cluster's hypervisor parameters, with the OS's overrides."""
    os_params = self.os_hvp.get(os_name, {}).get(hypervisor) if os_name else None
    return FillDict(self.hvparams.get(hypervisor, {}), os_params, skip_keys)

  def SimpleFillHV(self, hv_name: str, os_name: Optional[str], hvparams: Optional[dict],
                   skip_globals: bool = False) -> dict:
    """Cluster -> OS-specific -> given hypervisor parameters."""
    skip = paramdefs.HVC_GLOBALS if skip_globals else None
    return FillDict(self.GetHVDefaults(hv_name, os_name, skip), hvparams, skip)

  def FillHV(self, instance: Instance, skip_globals: bool = False) -> dict:
    return self.SimpleFillHV(instance.hypervisor, instance.os, instance.hvparams,
                             skip_globals)

  def SimpleFillBE(self, beparams: Optional[dict]) -> dict:
    return FillDict(self.beparams.get(paramdefs.PP_DEFAULT, {}), beparams)

  def FillBE(self, instance: Instance) -> dict:
    return self.SimpleFillBE(instance.beparams)

  def SimpleFillNIC(self, nicparams: Optional[dict]) -> dict:
    return FillDict(self.nicparams.get(paramdefs.PP_DEFAULT, {}), nicparams)

  def FillNIC(self, nic: NIC) -> dict:
    return self.SimpleFillNIC(nic.nicparams)

  def SimpleFillOS(self, os_name: str, os_params: Optional[dict],
                   os_params_private: Optional[dict] = None,
                   os_params_secret: Optional[dict] = None) -> dict:
    """Cluster parameters of the OS, then of its variant, then the given ones.

    Public, private and secret parameters end up in one dict.
    """
    base_name = os_name.split("+", 1)[0]
    result = {}
    for source in (self.osparams, self.osparams_private_cluster or {}):
      result.update(source.get(base_name, {}))
      if base_name != os_name:
        result.update(source.get(os_name, {}))
    for given in (os_params, os_params_private, os_params_secret):
      if given:
        result.update(given)
    return result

  def SimpleFillND(self, ndparams: Optional[dict]) -> dict:
    return FillDict(self.ndparams, ndparams)

  def FillND(self, node: Node, nodegroup: NodeGroup) -> dict:
    """Cluster -> node group -> node parameters."""
    return self.SimpleFillND(nodegroup.FillND(node))

  def SimpleFillIPolicy(self, ipolicy: Optional[dict]) -> dict:
    return FillIPolicy(self.ipolicy, ipolicy)

  def FillIPolicy(self, nodegroup: NodeGroup) -> dict:
    return self.SimpleFillIPolicy(nodegroup.ipolicy)

  def SimpleFillDP(self, diskparams: Optional[dict]) -> dict:
    return FillDiskParams(self.diskparams, diskparams)

  def FillDP(self, nodegroup: NodeGroup) -> dict:
    return self.SimpleFillDP(nodegroup.diskparams)

  def IsDiskTemplateEnabled(self, disk_template: str) -> bool:
    return disk_template in self.enabled_disk_templates


class ConfigData(ConfigObject):
  """The whole configuration, as stored in config.data."""
  FIELDS = ("version", "cluster", "nodes", "nodegroups", "instances",
            "networks", "disks", "filters", "ctime", "mtime", "serial_no")
  __slots__ = FIELDS
  CHILDREN = {
    "cluster": (_ONE, Cluster),
    "nodes": (_DICT, Node),
    "nodegroups": (_DICT, NodeGroup),
    "instances": (_DICT, Instance),
    "networks": (_DICT, Network),
    "disks": (_DICT, Disk),
    "filters": (_DICT, Filter),
  }
  DEFAULTS = {
    "version": constants.CONFIG_VERSION, "nodes": dict, "nodegroups": dict,
    "instances": dict, "networks": dict, "disks": dict, "filters": dict,
    "serial_no": 1,
  }

  def UpgradeConfig(self) -> None:
    """Completes the document; puts group-less nodes into a default group."""
    if self.cluster is None:
      raise errors.ConfigurationError("Configuration has no cluster section")
    super().UpgradeConfig()
    for container in (self.nodes, self.nodegroups, self.instances, self.networks,
                      self.disks, self.filters):
      for key, item in container.items():
        if item.uuid is None:
          item.uuid = key
    orphans = [node for node in self.nodes.values() if not node.group]
    if orphans:
      group = self._DefaultGroup()
      for node in orphans:
        node.group = group.uuid

  def _DefaultGroup(self) -> NodeGroup:
    for group in self.nodegroups.values():
      if group.name == DEFAULT_NODEGROUP_NAME:
        return group
    group = NodeGroup(name=DEFAULT_NODEGROUP_NAME, uuid=NewUuid(), ctime=0, mtime=0)
    group.UpgradeConfig()
    self.nodegroups[group.uuid] = group
    return group


DEFAULT_NODEGROUP_NAME = "default"


class MigrationStatus(ConfigObject):
  """Progress of an instance's migration as the source node's hypervisor reports it."""
  FIELDS = ("status", "transferred_ram", "total_ram")
  __slots__ = FIELDS


class BlockDevStatus(ConfigObject):
  """A block device's state on a node: its path, device numbers, resync
  progress (percent, seconds left) and health (constants.LDS_* for the local
  storage)."""
  FIELDS = ("dev_path", "major", "minor", "sync_percent", "estimated_time",
            "is_degraded", "ldisk_status")
  __slots__ = FIELDS


class ImportExportOptions(ConfigObject):
  """How a disk transfer between nodes runs: its X509 key (None: the cluster
  certificate) and peer CA, compression, the magic both ends must agree on,
  IPv6 and how long to wait for the peer (seconds)."""
  FIELDS = ("key_name", "ca_pem", "compress", "magic", "ipv6", "connect_timeout")
  __slots__ = FIELDS


class ImportExportStatus(ConfigObject):
  """What a node's import or export process reports: its last output lines,
  listening port, whether the peer connected, progress (MiB, MiB/s, seconds
  left, percent), and once done its exit status and error."""
  FIELDS = ("recent_output", "listen_port", "connected", "progress_mbytes",
            "progress_throughput", "progress_eta", "progress_percent", "exit_status",
            "error_message") + _TIMESTAMPS
  __slots__ = FIELDS
