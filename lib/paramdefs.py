"""Parameter families: names, value types and defaults, as data.

Every family that Ganeti lets users tune (hypervisor, backend, NIC, node,
disk, instance policy, node resource state) is described here by a type map
(parameter name -> value type) and its defaults, together with the
cluster-level defaults used when a cluster is created.  The values are those
of Ganeti 3.0; ForceDictType converts user input such as "maxmem=1G".
"""

from __future__ import annotations

import math

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Any, Iterable, Optional

from ganeti import _autoconf
from ganeti import constants
from ganeti import errors

# Value types of parameters
VTYPE_STRING = "string"
VTYPE_MAYBE_STRING = "maybe-string"
VTYPE_BOOL = "bool"
VTYPE_SIZE = "size"  # in MiB; user input may carry a unit suffix
VTYPE_INT = "int"
VTYPE_FLOAT = "float"
ENFORCEABLE_TYPES = frozenset([VTYPE_STRING, VTYPE_MAYBE_STRING, VTYPE_BOOL,
                               VTYPE_SIZE, VTYPE_INT, VTYPE_FLOAT])

# Special values accepted in place of a parameter value
VALUE_DEFAULT = "default"
VALUE_AUTO = "auto"
VALUE_NONE = "none"
VALUE_TRUE = "true"
VALUE_FALSE = "false"

# Hypervisor parameters.  One type map covers all hypervisors; each
# hypervisor accepts the parameters it has a default for.
HV_MIGRATION_MODE = "migration_mode"
HV_MIGRATION_PORT = "migration_port"
HV_MIGRATION_BANDWIDTH = "migration_bandwidth"
HV_XEN_CMD = "xen_cmd"
HT_MIGRATION_LIVE = "live"
HT_MIGRATION_NONLIVE = "non-live"
HT_MIGRATION_MODES = frozenset([HT_MIGRATION_LIVE, HT_MIGRATION_NONLIVE])

# Cluster-wide only: refused in instance and OS-specific hypervisor parameters
HVC_GLOBALS = frozenset([HV_MIGRATION_BANDWIDTH, HV_MIGRATION_MODE,
                         HV_MIGRATION_PORT, HV_XEN_CMD])

# Not below the virtual cluster root: the value is stored in the config and
# means the same path on every node.
_VNC_PASSWORD_FILE = _autoconf.SYSCONFDIR + "/ganeti/vnc-cluster-password"

HVC_DEFAULTS = {
  constants.HT_KVM: {
    "acpi": True,
    "boot_order": "disk",
    "cdrom2_image_path": "",
    "cdrom_disk_type": "",
    "cdrom_image_path": "",
    "cpu_cores": 0,
    "cpu_mask": "all",
    "cpu_sockets": 0,
    "cpu_threads": 0,
    "cpu_type": "",
    "disk_aio": "threads",
    "disk_cache": "default",
    "disk_discard": "default",
    "disk_type": "paravirtual",
    "floppy_image_path": "",
    "initrd_path": "",
    "kernel_args": "ro",
    "kernel_path": "/boot/vmlinuz-3-kvmU",
    "keymap": "",
    "kvm_extra": "",
    "kvm_flag": "",
    "kvm_path": "/usr/bin/kvm",
    "kvm_pci_reservations": 12,
    "machine_version": "",
    "mem_path": "",
    "migration_bandwidth": 32,
    "migration_caps": "",
    "migration_downtime": 30,
    "migration_mode": "live",
    "migration_port": 8102,
    "nic_type": "paravirtual",
    "reboot_behavior": "reboot",
    "root_path": "/dev/vda1",
    "scsi_controller_type": "lsi",
    "security_domain": "",
    "security_model": "none",
    "serial_console": True,
    "serial_speed": 38400,
    "soundhw": "",
    "spice_bind": "",
    "spice_image_compression": "",
    "spice_ip_version": 0,
    "spice_jpeg_wan_compression": "",
    "spice_password_file": "",
    "spice_playback_compression": True,
    "spice_streaming_video": "",
    "spice_tls_ciphers": "HIGH:-DES:-3DES:-EXPORT:-DH",
    "spice_use_tls": False,
    "spice_use_vdagent": True,
    "spice_zlib_glz_wan_compression": "",
    "usb_devices": "",
    "usb_mouse": "",
    "use_chroot": False,
    "use_guest_agent": False,
    "use_localtime": False,
    "user_shutdown": False,
    "vga": "",
    "vhost_net": False,
    "virtio_net_queues": 1,
    "vnc_bind_address": "",
    "vnc_password_file": "",
    "vnc_tls": False,
    "vnc_x509_path": "",
    "vnc_x509_verify": False,
    "vnet_hdr": True,
  },
  constants.HT_XEN_PVM: {
    "blockdev_prefix": "sd",
    "bootloader_args": "",
    "bootloader_path": "",
    "cpu_cap": 0,
    "cpu_mask": "all",
    "cpu_weight": 256,
    "cpuid": "",
    "initrd_path": "",
    "kernel_args": "ro",
    "kernel_path": "/boot/vmlinuz-3-xenU",
    "migration_mode": "live",
    "migration_port": 8002,
    "reboot_behavior": "reboot",
    "root_path": "/dev/xvda1",
    "soundhw": "",
    "use_bootloader": False,
    "vif_script": "",
    "xen_cmd": "xm",
  },
  constants.HT_CHROOT: {
    "init_script": "/ganeti-chroot",
  },
  constants.HT_XEN_HVM: {
    "acpi": True,
    "blockdev_prefix": "hd",
    "boot_order": "cd",
    "cdrom_image_path": "",
    "cpu_cap": 0,
    "cpu_mask": "all",
    "cpu_weight": 256,
    "cpuid": "",
    "device_model": "/usr/lib/xen/bin/qemu-dm",
    "disk_type": "paravirtual",
    "kernel_path": "/usr/lib/xen/boot/hvmloader",
    "migration_mode": "non-live",
    "migration_port": 8002,
    "nic_type": "rtl8139",
    "pae": True,
    "pci_pass": "",
    "reboot_behavior": "reboot",
    "soundhw": "",
    "use_localtime": False,
    "vif_script": "",
    "vif_type": "ioemu",
    "viridian": False,
    "vnc_bind_address": "0.0.0.0",
    "vnc_password_file": _VNC_PASSWORD_FILE,
    "xen_cmd": "xm",
  },
  constants.HT_LXC: {
    "cpu_mask": "",
    "devices": "c 1:3 rw,c 1:5 rw,c 1:7 rw,c 1:8 rw,c 1:9 rw,c 1:10 rw,c 5:0 rw,c 5:1 rw,c 5:2 rw,c 136:* rw",
    "drop_capabilities": "mac_override,sys_boot,sys_module,sys_time,sys_admin",
    "extra_cgroups": "",
    "extra_config": "",
    "num_ttys": 6,
    "startup_timeout": 30,
  },
  constants.HT_FAKE: {
    "migration_mode": "live",
  },
}

HVS_PARAMETER_TYPES = {
  "acpi": VTYPE_BOOL,
  "blockdev_prefix": VTYPE_STRING,
  "boot_order": VTYPE_STRING,
  "bootloader_args": VTYPE_STRING,
  "bootloader_path": VTYPE_STRING,
  "cdrom2_image_path": VTYPE_STRING,
  "cdrom_disk_type": VTYPE_STRING,
  "cdrom_image_path": VTYPE_STRING,
  "cpu_cap": VTYPE_INT,
  "cpu_cores": VTYPE_INT,
  "cpu_mask": VTYPE_STRING,
  "cpu_sockets": VTYPE_INT,
  "cpu_threads": VTYPE_INT,
  "cpu_type": VTYPE_STRING,
  "cpu_weight": VTYPE_INT,
  "cpuid": VTYPE_STRING,
  "device_model": VTYPE_STRING,
  "devices": VTYPE_STRING,
  "disk_aio": VTYPE_STRING,
  "disk_cache": VTYPE_STRING,
  "disk_discard": VTYPE_STRING,
  "disk_type": VTYPE_STRING,
  "drop_capabilities": VTYPE_STRING,
  "extra_cgroups": VTYPE_STRING,
  "extra_config": VTYPE_STRING,
  "floppy_image_path": VTYPE_STRING,
  "init_script": VTYPE_STRING,
  "initrd_path": VTYPE_STRING,
  "kernel_args": VTYPE_STRING,
  "kernel_path": VTYPE_STRING,
  "keymap": VTYPE_STRING,
  "kvm_extra": VTYPE_STRING,
  "kvm_flag": VTYPE_STRING,
  "kvm_path": VTYPE_STRING,
  "kvm_pci_reservations": VTYPE_INT,
  "machine_version": VTYPE_STRING,
  "mem_path": VTYPE_STRING,
  "migration_bandwidth": VTYPE_INT,
  "migration_caps": VTYPE_STRING,
  "migration_downtime": VTYPE_INT,
  "migration_mode": VTYPE_STRING,
  "migration_port": VTYPE_INT,
  "nic_type": VTYPE_STRING,
  "num_ttys": VTYPE_INT,
  "pae": VTYPE_BOOL,
  "pci_pass": VTYPE_STRING,
  "reboot_behavior": VTYPE_STRING,
  "root_path": VTYPE_MAYBE_STRING,
  "scsi_controller_type": VTYPE_STRING,
  "security_domain": VTYPE_STRING,
  "security_model": VTYPE_STRING,
  "serial_console": VTYPE_BOOL,
  "serial_speed": VTYPE_INT,
  "soundhw": VTYPE_STRING,
  "spice_bind": VTYPE_STRING,
  "spice_image_compression": VTYPE_STRING,
  "spice_ip_version": VTYPE_INT,
  "spice_jpeg_wan_compression": VTYPE_STRING,
  "spice_password_file": VTYPE_STRING,
  "spice_playback_compression": VTYPE_BOOL,
  "spice_streaming_video": VTYPE_STRING,
  "spice_tls_ciphers": VTYPE_STRING,
  "spice_use_tls": VTYPE_BOOL,
  "spice_use_vdagent": VTYPE_BOOL,
  "spice_zlib_glz_wan_compression": VTYPE_STRING,
  "startup_timeout": VTYPE_INT,
  "usb_devices": VTYPE_STRING,
  "usb_mouse": VTYPE_STRING,
  "use_bootloader": VTYPE_BOOL,
  "use_chroot": VTYPE_BOOL,
  "use_guest_agent": VTYPE_BOOL,
  "use_localtime": VTYPE_BOOL,
  "user_shutdown": VTYPE_BOOL,
  "vga": VTYPE_STRING,
  "vhost_net": VTYPE_BOOL,
  "vif_script": VTYPE_STRING,
  "vif_type": VTYPE_STRING,
  "viridian": VTYPE_BOOL,
  "virtio_net_queues": VTYPE_INT,
  "vnc_bind_address": VTYPE_STRING,
  "vnc_password_file": VTYPE_STRING,
  "vnc_tls": VTYPE_BOOL,
  "vnc_x509_path": VTYPE_STRING,
  "vnc_x509_verify": VTYPE_BOOL,
  "vnet_hdr": VTYPE_BOOL,
  "xen_cmd": VTYPE_STRING,
}

HVS_PARAMETERS = frozenset(HVS_PARAMETER_TYPES)

# Backend (instance resource) parameters
BE_MINMEM = "minmem"
BE_MAXMEM = "maxmem"
BE_MEMORY = "memory"  # the pre-2.6 name of maxmem, still accepted on input
BE_VCPUS = "vcpus"
BE_AUTO_BALANCE = "auto_balance"
BE_ALWAYS_FAILOVER = "always_failover"
BE_SPINDLE_USE = "spindle_use"

BES_PARAMETER_TYPES = {
  BE_ALWAYS_FAILOVER: VTYPE_BOOL,
  BE_AUTO_BALANCE: VTYPE_BOOL,
  BE_MAXMEM: VTYPE_SIZE,
  BE_MINMEM: VTYPE_SIZE,
  BE_SPINDLE_USE: VTYPE_INT,
  BE_VCPUS: VTYPE_INT,
}
BES_PARAMETER_COMPAT = dict(BES_PARAMETER_TYPES, **{BE_MEMORY: VTYPE_SIZE})
BES_PARAMETERS = frozenset(BES_PARAMETER_TYPES)
BEC_DEFAULTS = {
  BE_MINMEM: 128,
  BE_MAXMEM: 128,
  BE_VCPUS: 1,
  BE_AUTO_BALANCE: True,
  BE_ALWAYS_FAILOVER: False,
  BE_SPINDLE_USE: 1,
}

# NIC parameters
NIC_MODE = "mode"
NIC_LINK = "link"
NIC_VLAN = "vlan"
NIC_MODE_BRIDGED = "bridged"
NIC_MODE_ROUTED = "routed"
NIC_MODE_OVS = "openvswitch"
NIC_IP_POOL = "pool"
NIC_VALID_MODES = frozenset([NIC_MODE_BRIDGED, NIC_MODE_ROUTED, NIC_MODE_OVS,
                             NIC_IP_POOL])
NICS_PARAMETER_TYPES = {
  NIC_LINK: VTYPE_STRING,
  NIC_MODE: VTYPE_STRING,
  NIC_VLAN: VTYPE_STRING,
}
NICS_PARAMETERS = frozenset(NICS_PARAMETER_TYPES)
NICC_DEFAULTS = {
  NIC_MODE: NIC_MODE_BRIDGED,
  NIC_LINK: constants.DEFAULT_BRIDGE,
  NIC_VLAN: "",
}

# Node parameters
ND_OOB_PROGRAM = "oob_program"
ND_SPINDLE_COUNT = "spindle_count"
ND_EXCLUSIVE_STORAGE = "exclusive_storage"
ND_OVS = "ovs"
ND_OVS_NAME = "ovs_name"
ND_OVS_LINK = "ovs_link"
ND_SSH_PORT = "ssh_port"
ND_CPU_SPEED = "cpu_speed"

NDS_PARAMETER_TYPES = {
  ND_CPU_SPEED: VTYPE_FLOAT,
  ND_EXCLUSIVE_STORAGE: VTYPE_BOOL,
  ND_OOB_PROGRAM: VTYPE_STRING,
  ND_OVS: VTYPE_BOOL,
  ND_OVS_LINK: VTYPE_MAYBE_STRING,
  ND_OVS_NAME: VTYPE_MAYBE_STRING,
  ND_SPINDLE_COUNT: VTYPE_INT,
  ND_SSH_PORT: VTYPE_INT,
}
NDS_PARAMETERS = frozenset(NDS_PARAMETER_TYPES)
NDC_DEFAULTS = {
  ND_OOB_PROGRAM: "",
  ND_SPINDLE_COUNT: 1,
  ND_EXCLUSIVE_STORAGE: False,
  ND_OVS: False,
  ND_OVS_NAME: "switch1",
  ND_OVS_LINK: "",
  ND_SSH_PORT: 22,
  ND_CPU_SPEED: 1.0,
}
# Settable on groups and the cluster, not on single nodes
NDC_GLOBALS = frozenset([ND_EXCLUSIVE_STORAGE])

# Disk parameters, per disk template
LDP_DEFAULT_METAVG = "metavg"
# DRBD disk parameters: DRBD_<NAME> is the parameter's key
_DRBD_PARAMS = {
  "RESYNC_RATE": "resync-rate", "DYNAMIC_RESYNC": "dynamic-resync",
  "DATA_STRIPES": "data-stripes", "META_STRIPES": "meta-stripes",
  "DISK_BARRIERS": "disk-barriers", "META_BARRIERS": "meta-barriers",
  "DEFAULT_METAVG": "metavg", "DISK_CUSTOM": "disk-custom", "NET_CUSTOM": "net-custom",
  "PROTOCOL": "protocol", "PLAN_AHEAD": "c-plan-ahead", "FILL_TARGET": "c-fill-target",
  "DELAY_TARGET": "c-delay-target", "MAX_RATE": "c-max-rate", "MIN_RATE": "c-min-rate",
}
globals().update({"DRBD_" + _name: _key for _name, _key in _DRBD_PARAMS.items()})
LV_STRIPES = "stripes"
RBD_POOL = "pool"
RBD_ACCESS = "access"
GLUSTER_HOST = "host"
GLUSTER_VOLUME = "volume"
GLUSTER_PORT = "port"
GLUSTER_ACCESS = "access"
EXT_ACCESS = "access"
DISK_KERNELSPACE = "kernelspace"
DISK_USERSPACE = "userspace"
DISK_VALID_ACCESS_MODES = frozenset([DISK_KERNELSPACE, DISK_USERSPACE])

DISK_DT_TYPES = {
  RBD_ACCESS: VTYPE_STRING,
  DRBD_DELAY_TARGET: VTYPE_INT,
  DRBD_FILL_TARGET: VTYPE_INT,
  DRBD_MAX_RATE: VTYPE_INT,
  DRBD_MIN_RATE: VTYPE_INT,
  DRBD_PLAN_AHEAD: VTYPE_INT,
  DRBD_DATA_STRIPES: VTYPE_INT,
  DRBD_DISK_BARRIERS: VTYPE_STRING,
  DRBD_DISK_CUSTOM: VTYPE_STRING,
  DRBD_DYNAMIC_RESYNC: VTYPE_BOOL,
  GLUSTER_HOST: VTYPE_STRING,
  DRBD_META_BARRIERS: VTYPE_BOOL,
  DRBD_META_STRIPES: VTYPE_INT,
  DRBD_DEFAULT_METAVG: VTYPE_STRING,
  DRBD_NET_CUSTOM: VTYPE_STRING,
  RBD_POOL: VTYPE_STRING,
  GLUSTER_PORT: VTYPE_INT,
  DRBD_PROTOCOL: VTYPE_STRING,
  DRBD_RESYNC_RATE: VTYPE_INT,
  LV_STRIPES: VTYPE_INT,
  GLUSTER_VOLUME: VTYPE_STRING,
}
DISK_DT_PARAMETERS = frozenset(DISK_DT_TYPES)
DISK_DT_DEFAULTS = {
  constants.DT_BLOCK: {},
  constants.DT_DISKLESS: {},
  constants.DT_DRBD8: {
    DRBD_DELAY_TARGET: 1,
    DRBD_FILL_TARGET: 0,
    DRBD_MAX_RATE: 61440,
    DRBD_MIN_RATE: 4096,
    DRBD_PLAN_AHEAD: 20,
    DRBD_DATA_STRIPES: 1,
    DRBD_DISK_BARRIERS: "n",
    DRBD_DISK_CUSTOM: "",
    DRBD_DYNAMIC_RESYNC: False,
    DRBD_META_BARRIERS: False,
    DRBD_META_STRIPES: 1,
    DRBD_DEFAULT_METAVG: constants.DEFAULT_VG,
    DRBD_NET_CUSTOM: "",
    DRBD_PROTOCOL: "C",
    DRBD_RESYNC_RATE: 61440,
  },
  constants.DT_EXT: {EXT_ACCESS: DISK_KERNELSPACE},
  constants.DT_FILE: {},
  constants.DT_GLUSTER: {
    GLUSTER_ACCESS: DISK_KERNELSPACE,
    GLUSTER_HOST: "127.0.0.1",
    GLUSTER_PORT: 24007,
    GLUSTER_VOLUME: "gv0",
  },
  constants.DT_PLAIN: {LV_STRIPES: 1},
  constants.DT_RBD: {RBD_ACCESS: DISK_KERNELSPACE, RBD_POOL: "rbd"},
  constants.DT_SHARED_FILE: {},
}

# Instance policy
MAX_DISKS = 16  # per instance
MAX_NICS = 8  # per instance
ISPECS_MIN = "min"
ISPECS_MAX = "max"
ISPECS_STD = "std"
ISPECS_MINMAX = "minmax"
ISPECS_MINMAX_KEYS = frozenset([ISPECS_MIN, ISPECS_MAX])
IPOLICY_DTS = "disk-templates"
IPOLICY_VCPU_RATIO = "vcpu-ratio"
IPOLICY_SPINDLE_RATIO = "spindle-ratio"
IPOLICY_PARAMETERS = frozenset([IPOLICY_VCPU_RATIO, IPOLICY_SPINDLE_RATIO])
IPOLICY_ALL_KEYS = IPOLICY_PARAMETERS | frozenset([ISPECS_MINMAX, ISPECS_STD,
                                                   IPOLICY_DTS])

ISPEC_MEM_SIZE = "memory-size"
ISPEC_DISK_SIZE = "disk-size"
ISPEC_DISK_COUNT = "disk-count"
ISPEC_CPU_COUNT = "cpu-count"
ISPEC_NIC_COUNT = "nic-count"
ISPEC_SPINDLE_USE = "spindle-use"
ISPECS_PARAMETER_TYPES = {
  ISPEC_MEM_SIZE: VTYPE_INT,
  ISPEC_DISK_SIZE: VTYPE_INT,
  ISPEC_DISK_COUNT: VTYPE_INT,
  ISPEC_CPU_COUNT: VTYPE_INT,
  ISPEC_NIC_COUNT: VTYPE_INT,
  ISPEC_SPINDLE_USE: VTYPE_INT,
}
ISPECS_PARAMETERS = frozenset(ISPECS_PARAMETER_TYPES)
IPOLICY_PARAMETER_TYPES = {
  IPOLICY_VCPU_RATIO: VTYPE_FLOAT,
  IPOLICY_SPINDLE_RATIO: VTYPE_FLOAT,
}

ISPECS_MINMAX_DEFAULTS = {
  ISPECS_MIN: {
    ISPEC_MEM_SIZE: 128,
    ISPEC_DISK_SIZE: 1024,
    ISPEC_DISK_COUNT: 1,
    ISPEC_CPU_COUNT: 1,
    ISPEC_NIC_COUNT: 1,
    ISPEC_SPINDLE_USE: 1,
  },
  ISPECS_MAX: {
    ISPEC_MEM_SIZE: 32768,
    ISPEC_DISK_SIZE: 1024 * 1024,
    ISPEC_DISK_COUNT: MAX_DISKS,
    ISPEC_CPU_COUNT: 8,
    ISPEC_NIC_COUNT: MAX_NICS,
    ISPEC_SPINDLE_USE: 12,
  },
}
IPOLICY_DEFAULTS = {
  ISPECS_MINMAX: [ISPECS_MINMAX_DEFAULTS],
  ISPECS_STD: {
    ISPEC_MEM_SIZE: 128,
    ISPEC_DISK_SIZE: 1024,
    ISPEC_DISK_COUNT: 1,
    ISPEC_CPU_COUNT: 1,
    ISPEC_NIC_COUNT: 1,
    ISPEC_SPINDLE_USE: 1,
  },
  IPOLICY_SPINDLE_RATIO: 32,  # integral: Ganeti 3.0 writes them as JSON integers
  IPOLICY_VCPU_RATIO: 4,
  IPOLICY_DTS: sorted(constants.DISK_TEMPLATES),
}

# Static node resource state ("hv_state" and "disk_state")
HVST_CPU_NODE = "cpu_node"
HVST_CPU_TOTAL = "cpu_total"
HVST_MEMORY_HV = "mem_hv"
HVST_MEMORY_NODE = "mem_node"
HVST_MEMORY_TOTAL = "mem_total"
HVSTS_PARAMETER_TYPES = {
  HVST_CPU_NODE: VTYPE_INT,
  HVST_CPU_TOTAL: VTYPE_INT,
  HVST_MEMORY_HV: VTYPE_INT,
  HVST_MEMORY_NODE: VTYPE_INT,
  HVST_MEMORY_TOTAL: VTYPE_INT,
}
HVST_DEFAULTS = {
  HVST_CPU_NODE: 1,
  HVST_CPU_TOTAL: 1,
  HVST_MEMORY_HV: 0,
  HVST_MEMORY_NODE: 0,
  HVST_MEMORY_TOTAL: 0,
}
DS_DISK_OVERHEAD = "disk_overhead"
DS_DISK_RESERVED = "disk_reserved"
DS_DISK_TOTAL = "disk_total"
DSS_PARAMETER_TYPES = {
  DS_DISK_OVERHEAD: VTYPE_INT,
  DS_DISK_RESERVED: VTYPE_INT,
  DS_DISK_TOTAL: VTYPE_INT,
}
DS_DEFAULTS = {DS_DISK_OVERHEAD: 0, DS_DISK_RESERVED: 0, DS_DISK_TOTAL: 0}
DS_VALID_TYPES = frozenset([constants.DT_PLAIN])

# Per-instance disk and NIC specifications (opcode "disks"/"nics" items)
IDISK_PARAMS_TYPES = {
  "access": VTYPE_STRING,
  "adopt": VTYPE_STRING,
  "dev_type": VTYPE_STRING,
  "metavg": VTYPE_STRING,
  "mode": VTYPE_STRING,
  "name": VTYPE_MAYBE_STRING,
  "provider": VTYPE_STRING,
  "size": VTYPE_SIZE,
  "spindles": VTYPE_INT,
  "vg": VTYPE_STRING,
}
INIC_PARAMS_TYPES = {
  "bridge": VTYPE_MAYBE_STRING,
  "ip": VTYPE_MAYBE_STRING,
  "link": VTYPE_STRING,
  "mac": VTYPE_STRING,
  "mode": VTYPE_STRING,
  "name": VTYPE_MAYBE_STRING,
  "network": VTYPE_MAYBE_STRING,
  "vlan": VTYPE_MAYBE_STRING,
}

# The type map of each family, by the attribute name the config uses
PARAMETER_TYPES = {
  "hvparams": HVS_PARAMETER_TYPES,
  "beparams": BES_PARAMETER_TYPES,
  "nicparams": NICS_PARAMETER_TYPES,
  "ndparams": NDS_PARAMETER_TYPES,
  "diskparams": DISK_DT_TYPES,
  "ispecs": ISPECS_PARAMETER_TYPES,
  "ipolicy": IPOLICY_PARAMETER_TYPES,
  "hv_state": HVSTS_PARAMETER_TYPES,
  "disk_state": DSS_PARAMETER_TYPES,
}

# Cluster-level defaults, used when a cluster is created or an older
# configuration lacks a setting
PP_DEFAULT = "default"  # the single group key of beparams and nicparams
DEFAULT_CANDIDATE_POOL_SIZE = constants.MASTER_POOL_SIZE_DEFAULT
DEFAULT_MAX_RUNNING_JOBS = 20
DEFAULT_MAX_TRACKED_JOBS = 25
DEFAULT_MAC_PREFIX = constants.DEFAULT_MAC_PREFIX
DEFAULT_IALLOCATOR = "hail"  # used by "gnt-cluster init" when installed
DEFAULT_GLUSTER_STORAGE_DIR = "/var/run/ganeti/gluster"
FIRST_DRBD_PORT = 11000
LAST_DRBD_PORT = 14999

SSHK_RSA = "rsa"
SSHK_DSA = "dsa"
SSHK_ECDSA = "ecdsa"
SSHK_ALL = frozenset([SSHK_RSA, SSHK_DSA, SSHK_ECDSA])
SSH_DEFAULT_KEY_TYPE = SSHK_RSA
SSH_DEFAULT_KEY_BITS = 2048

# Compression tools for instance import/export
IEC_NONE = "none"
IEC_GZIP = "gzip"
IEC_GZIP_FAST = "gzip-fast"
IEC_GZIP_SLOW = "gzip-slow"
IEC_LZOP = "lzop"
IEC_ALL = frozenset([IEC_NONE, IEC_GZIP, IEC_GZIP_FAST, IEC_GZIP_SLOW, IEC_LZOP])
IEC_DEFAULT_TOOLS = [IEC_GZIP, IEC_GZIP_FAST, IEC_GZIP_SLOW]
IEC_COMPRESSION_UTILITIES = {IEC_GZIP_FAST: IEC_GZIP, IEC_GZIP_SLOW: IEC_GZIP}

# Data collectors of the monitoring daemon; intervals are in microseconds
DATA_COLLECTOR_CPU_LOAD = "cpu-avg-load"
DATA_COLLECTOR_DISK_STATS = "diskstats"
DATA_COLLECTOR_DRBD = "drbd"
DATA_COLLECTOR_INST_STATUS = "inst-status-xen"
DATA_COLLECTOR_LV = "lv"
DATA_COLLECTOR_XEN_CPU_LOAD = "xen-cpu-avg-load"
DATA_COLLECTOR_NAMES = (DATA_COLLECTOR_CPU_LOAD, DATA_COLLECTOR_DISK_STATS,
                        DATA_COLLECTOR_DRBD, DATA_COLLECTOR_INST_STATUS,
                        DATA_COLLECTOR_LV, DATA_COLLECTOR_XEN_CPU_LOAD)
DATA_COLLECTOR_STATE_ACTIVE = "active"
DATA_COLLECTOR_PARAMETER_INTERVAL = "interval"
MOND_TIME_INTERVAL = 5  # seconds
DATA_COLLECTOR_DEFAULT_INTERVAL = MOND_TIME_INTERVAL * 1000000
DATA_COLLECTORS_DEFAULTS = {
  name: {DATA_COLLECTOR_STATE_ACTIVE: True,
         DATA_COLLECTOR_PARAMETER_INTERVAL: DATA_COLLECTOR_DEFAULT_INTERVAL}
  for name in DATA_COLLECTOR_NAMES
}


def GetHvParameterTypes(hv_name: str) -> dict[str, str]:
  """The type map of the parameters one hypervisor accepts."""
  return {name: HVS_PARAMETER_TYPES[name] for name in HVC_DEFAULTS[hv_name]}


# Conversion of user-given values ("-B maxmem=1G,auto_balance=false")

_ASCII_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_UNIT_FACTORS = {
  "m": 1, "mb": 1, "mib": 1,
  "g": 1024, "gb": 1024, "gib": 1024,
  "t": 1024 * 1024, "tb": 1024 * 1024, "tib": 1024 * 1024,
}


def ParseUnit(value: Any) -> int:
  """Parses a size such as "512", "1.5g" or "2TiB" into MiB.

  A bare number means MiB.  The result is rounded up to a multiple of 4 MiB,
  the granularity of LVM extents.
  """
  # a number of digits and dots, then maybe spaces and a unit of letters (a
  # final newline allowed); read without re, which gnt-* commands do not load
  text = str(value)
  if text.endswith("\n"):
    text = text[:-1]
  number = text.rstrip(_ASCII_LETTERS)
  unit = text[len(number):]
  number = number.rstrip()
  if not number or not all(char == "." or char.isdecimal() for char in number):
    raise errors.UnitParseError("Invalid format")
  try:
    amount = float(number)
  except ValueError:
    raise errors.UnitParseError("Invalid format") from None
  factor = _UNIT_FACTORS.get(unit.lower()) if unit else 1
  if factor is None:
    raise errors.UnitParseError("Unknown unit: %s" % unit)
  result = int(math.ceil(amount * factor))
  if result % 4:
    result += 4 - result % 4
  return result


def _ToBool(value: Any) -> bool:
  if isinstance(value, str):
    lowered = value.lower()
    if lowered == VALUE_TRUE:
      return True
    if lowered == VALUE_FALSE or not value:
      return False
    raise ValueError(value)
  return bool(value)


def _ToSize(value: Any) -> int:
  if isinstance(value, int) and not isinstance(value, bool):
    return value
  if isinstance(value, bool):
    raise errors.UnitParseError("Invalid format")
  return ParseUnit(value)


def _ToString(value: Any) -> str:
  if not isinstance(value, str):
    raise ValueError(value)
  return value


def _ToMaybeString(value: Any) -> Optional[str]:
  return None if value is None else _ToString(value)


# type -> (converter, noun used in the error message)
_CONVERTERS = {
  VTYPE_STRING: (_ToString, "string"),
  VTYPE_MAYBE_STRING: (_ToMaybeString, "string"),
  VTYPE_BOOL: (_ToBool, "boolean"),
  VTYPE_INT: (int, "integer"),
  VTYPE_FLOAT: (float, "float"),
  VTYPE_SIZE: (_ToSize, "size"),
}


def ConvertValue(name: str, value: Any, vtype: str) -> Any:
  """Converts one value to its parameter type, or raises TypeEnforcementError."""
  converter, noun = _CONVERTERS[vtype]
  try:
    return converter(value)
  except errors.UnitParseError as err:
    raise errors.TypeEnforcementError("'%s' (value %s) is not a valid %s. error: %s"
                                      % (name, value, noun, err)) from None
  except (TypeError, ValueError):
    raise errors.TypeEnforcementError("'%s' (value %s) is not a valid %s"
                                      % (name, value, noun)) from None


def ForceDictType(target: dict, key_types: dict[str, str],
                  allowed_values: Optional[Iterable[Any]] = None) -> None:
  """Converts, in place, every value of target to the type key_types gives it.

  Values listed in allowed_values (e.g. VALUE_DEFAULT) are left as they are.
  """
  if not isinstance(target, dict):
    raise errors.TypeEnforcementError("Expected dictionary, got '%s'" % (target,))
  allowed = list(allowed_values or ())
  for key, value in target.items():
    vtype = key_types.get(key)
    if vtype is None:
      raise errors.TypeEnforcementError("Unknown parameter '%s'" % key)
    if allowed and value in allowed:
      continue
    target[key] = ConvertValue(key, value, vtype)


def GetFamilyTypes(family: str) -> dict[str, str]:
  """The type map of a parameter family.

  family is a key of PARAMETER_TYPES, or "hvparams/<hypervisor>" and
  "diskparams/<disk template>" for the parameters one hypervisor or disk
  template accepts.
  """
  name, _, member = family.partition("/")
  if member and name == "hvparams":
    if member not in HVC_DEFAULTS:
      raise errors.TypeEnforcementError("Unknown hypervisor '%s'" % member)
    return GetHvParameterTypes(member)
  if member and name == "diskparams":
    if member not in DISK_DT_DEFAULTS:
      raise errors.TypeEnforcementError("Unknown disk template '%s'" % member)
    return {key: DISK_DT_TYPES[key] for key in DISK_DT_DEFAULTS[member]}
  return PARAMETER_TYPES[name]


def CheckParams(family: str, params: dict,
                allowed_values: Optional[Iterable[Any]] = None) -> None:
  """Checks and converts, in place, user-given parameters of one family.

  Raises TypeEnforcementError for an unknown name or an invalid value.
  """
  ForceDictType(params, GetFamilyTypes(family), allowed_values)

# Keys of the NIC and disk dicts in instance opcodes (--net, --disk)
INIC_MAC = "mac"
INIC_IP = "ip"
INIC_MODE = "mode"
INIC_LINK = "link"
INIC_NETWORK = "network"
INIC_NAME = "name"
INIC_VLAN = "vlan"
IDISK_SIZE = "size"
IDISK_SPINDLES = "spindles"
IDISK_MODE = "mode"
IDISK_ADOPT = "adopt"
IDISK_VG = "vg"
IDISK_METAVG = "metavg"
IDISK_PROVIDER = "provider"
IDISK_NAME = "name"
IDISK_ACCESS = "access"
