"""The configuration of a new cluster, as "gnt-cluster init" creates it."""

import time
from typing import Any, Iterable, Optional

from ganeti import _autoconf
from ganeti import constants
from ganeti import errors
from ganeti import objects
from ganeti import paramdefs

# Cluster settings MakeInitialConfig accepts besides its named arguments
_SETTINGS = frozenset(objects.Cluster.FIELDS).difference([
  "master_node", "master_ip", "master_netdev", "cluster_name", "hvparams",
  "beparams", "nicparams", "ndparams", "diskparams", "ipolicy",
  "hv_state_static", "disk_state_static", "data_collectors", "candidate_certs",
  "ctime", "mtime", "uuid", "serial_no",
])


def _DataCollectors(enabled: Optional[dict], intervals: Optional[dict]) -> dict:
  enabled = enabled or {}
  intervals = intervals or {}
  return {
    name: {
      paramdefs.DATA_COLLECTOR_STATE_ACTIVE: enabled.get(name, True),
      paramdefs.DATA_COLLECTOR_PARAMETER_INTERVAL:
        intervals.get(name, paramdefs.DATA_COLLECTOR_DEFAULT_INTERVAL),
    }
    for name in sorted(paramdefs.DATA_COLLECTOR_NAMES)
  }


def MakeInitialConfig(cluster_name: str, master_name: str, primary_ip: str,
                      master_ip: str, master_netdev: str,
                      secondary_ip: Optional[str] = None,
                      master_netmask: Optional[int] = None,
                      enabled_hypervisors: Iterable[str] = (constants.HT_XEN_PVM,),
                      enabled_disk_templates: Optional[Iterable[str]] = None,
                      hvparams: Optional[dict] = None,
                      beparams: Optional[dict] = None,
                      nicparams: Optional[dict] = None,
                      ndparams: Optional[dict] = None,
                      diskparams: Optional[dict] = None,
                      ipolicy: Optional[dict] = None,
                      hv_state: Optional[dict] = None,
                      disk_state: Optional[dict] = None,
                      enabled_data_collectors: Optional[dict] = None,
                      data_collector_interval: Optional[dict] = None,
                      master_cert_digest: Optional[str] = None,
                      now: Optional[float] = None,
                      **settings: Any) -> objects.ConfigData:
  """Builds the configuration of a one-node cluster.

  Parameter families are given as partial dicts and filled with Ganeti's
  defaults; beparams and nicparams are flat (as "-B"/"-N" give them),
  hvparams and diskparams are keyed by hypervisor and disk template.  Other
  cluster settings (candidate_pool_size, mac_prefix, file_storage_dir,
  modify_etc_hosts, default_iallocator, ...) are passed by their Cluster
  attribute name; what is not given gets its default.
  """
  unknown = set(settings).difference(_SETTINGS)
  if unknown:
    raise errors.ProgrammerError("Unknown cluster setting(s): %s" %
                                 ", ".join(sorted(unknown)))
  now = time.time() if now is None else now
  enabled_hypervisors = list(enabled_hypervisors)
  if not enabled_hypervisors:
    raise errors.ConfigurationError("No hypervisor enabled")
  if enabled_disk_templates is None:
    enabled_disk_templates = constants.DEFAULT_ENABLED_DISK_TEMPLATES
  enabled_disk_templates = list(enabled_disk_templates)
  hvparams = hvparams or {}
  hv_state = hv_state or {}

  group = objects.NodeGroup(
    name=objects.DEFAULT_NODEGROUP_NAME, members=[], ndparams={},
    alloc_policy=objects.ALLOC_POLICY_PREFERRED, ipolicy={}, diskparams={},
    networks={}, ctime=now, mtime=now, uuid=objects.NewUuid(), serial_no=1,
    tags=[])
  master = objects.Node(
    name=master_name, primary_ip=primary_ip,
    secondary_ip=secondary_ip or primary_ip, master_candidate=True,
    offline=False, drained=False, group=group.uuid, master_capable=True,
    vm_capable=True, ndparams={}, powered=True, ctime=now, mtime=now,
    uuid=objects.NewUuid(), serial_no=1, tags=[])
  group.members.append(master.uuid)

  filled_ipolicy = objects.FillIPolicy(paramdefs.IPOLICY_DEFAULTS, ipolicy)
  if not (ipolicy and paramdefs.IPOLICY_DTS in ipolicy):
    filled_ipolicy[paramdefs.IPOLICY_DTS] = list(enabled_disk_templates)
  primary_ip_family = settings.get("primary_ip_family", constants.IP4_FAMILY)
  if master_netmask is None:
    master_netmask = 128 if primary_ip_family == constants.IP6_FAMILY else 32

  cluster_settings = {
    # node-neutral paths: each node (virtual ones under their root) localizes them
    "file_storage_dir": _autoconf.FILE_STORAGE_DIR,
    "shared_file_storage_dir": _autoconf.SHARED_FILE_STORAGE_DIR,
    "gluster_storage_dir": paramdefs.DEFAULT_GLUSTER_STORAGE_DIR,
    **settings,
  }
  cluster = objects.Cluster(
    cluster_name=cluster_name, master_node=master.uuid, master_ip=master_ip,
    master_netdev=master_netdev, master_netmask=master_netmask,
    enabled_hypervisors=enabled_hypervisors,
    enabled_disk_templates=enabled_disk_templates,
    hvparams={hv: objects.FillDict(defaults, hvparams.get(hv))
              for hv, defaults in paramdefs.HVC_DEFAULTS.items()},
    beparams={paramdefs.PP_DEFAULT: objects.FillDict(paramdefs.BEC_DEFAULTS, beparams)},
    nicparams={paramdefs.PP_DEFAULT: objects.FillDict(paramdefs.NICC_DEFAULTS, nicparams)},
    ndparams=objects.FillDict(paramdefs.NDC_DEFAULTS, ndparams),
    diskparams=objects.FillDiskParams(paramdefs.DISK_DT_DEFAULTS, diskparams),
    ipolicy=filled_ipolicy,
    hv_state_static={hv: objects.FillDict(paramdefs.HVST_DEFAULTS, hv_state.get(hv))
                     for hv in enabled_hypervisors},
    disk_state_static=disk_state or {},
    data_collectors=_DataCollectors(enabled_data_collectors, data_collector_interval),
    candidate_certs={master.uuid: master_cert_digest} if master_cert_digest else {},
    ctime=now, mtime=now, uuid=objects.NewUuid(), serial_no=1,
    **cluster_settings)
  cluster.UpgradeConfig()

  config = objects.ConfigData(
    version=constants.CONFIG_VERSION, cluster=cluster,
    nodes={master.uuid: master}, nodegroups={group.uuid: group}, instances={},
    networks={}, disks={}, filters={}, ctime=now, mtime=now, serial_no=1)
  config.UpgradeConfig()
  return config
