"""Cluster-wide constants: versions, states, names that are part of interfaces.

Values are facts of the Ganeti 3.0 interfaces (wire protocol, config format,
job queue); parameter families and their defaults live in ganeti.paramdefs.
"""

from ganeti import _autoconf

RELEASE_VERSION = "3.0.2"  # the Ganeti release whose interfaces we speak
VERSION_MAJOR, VERSION_MINOR, VERSION_REVISION = 3, 0, 2
PACKAGE_VERSION = _autoconf.PACKAGE_VERSION


def BuildVersion(major: int, minor: int, revision: int) -> int:
  """Encodes a version the way config.data and the protocols carry it."""
  return 1000000 * major + 10000 * minor + revision


def SplitVersion(version: int) -> tuple[int, int, int]:
  return version // 1000000, (version // 10000) % 100, version % 10000


CONFIG_VERSION = BuildVersion(VERSION_MAJOR, VERSION_MINOR, 0)
PROTOCOL_VERSION = CONFIG_VERSION
LUXI_VERSION = CONFIG_VERSION
OS_API_V10, OS_API_V15, OS_API_V20 = 10, 15, 20
OS_API_VERSIONS = frozenset([OS_API_V10, OS_API_V15, OS_API_V20])
EXPORT_VERSION = 0
RAPI_VERSION = 2
VCS_VERSION = "ganeti-py " + _autoconf.PACKAGE_VERSION

# Daemons
MASTERD = "ganeti-masterd"
LUXID = "ganeti-luxid"
NODED = "ganeti-noded"
CONFD = "ganeti-confd"
RAPI = "ganeti-rapi"
WCONFD = "ganeti-wconfd"
DAEMONS = (MASTERD, NODED, CONFD, RAPI)
DEFAULT_NODED_PORT = 1811
DEFAULT_CONFD_PORT = 1814
DEFAULT_RAPI_PORT = 5080

# LUXI
LUXI_EOM = b"\x03"
LUXI_KEY_METHOD = "method"
LUXI_KEY_ARGS = "args"
LUXI_KEY_VERSION = "version"
LUXI_KEY_SUCCESS = "success"
LUXI_KEY_RESULT = "result"
LUXI_DEF_CTMO = 30  # seconds to connect
LUXI_DEF_RWTO = 180  # seconds for a request/answer
LUXI_WFJC_TIMEOUT = (LUXI_DEF_RWTO - 1) // 2  # longest WaitForJobChange wait
LUXI_MAX_MESSAGE = 64 * 1024 * 1024  # larger requests are refused

# Jobs and opcodes
JOB_STATUS_QUEUED = "queued"
JOB_STATUS_WAITING = "waiting"
JOB_STATUS_CANCELING = "canceling"
JOB_STATUS_RUNNING = "running"
JOB_STATUS_CANCELED = "canceled"
JOB_STATUS_SUCCESS = "success"
JOB_STATUS_ERROR = "error"
JOBS_PENDING = frozenset([JOB_STATUS_QUEUED, JOB_STATUS_WAITING, JOB_STATUS_CANCELING])
JOBS_FINALIZED = frozenset([JOB_STATUS_CANCELED, JOB_STATUS_SUCCESS, JOB_STATUS_ERROR])
JOB_STATUS_ALL = JOBS_PENDING | JOBS_FINALIZED | frozenset([JOB_STATUS_RUNNING])

OP_STATUS_QUEUED = "queued"
OP_STATUS_WAITING = "waiting"
OP_STATUS_CANCELING = "canceling"
OP_STATUS_RUNNING = "running"
OP_STATUS_CANCELED = "canceled"
OP_STATUS_SUCCESS = "success"
OP_STATUS_ERROR = "error"
OPS_FINALIZED = frozenset([OP_STATUS_CANCELED, OP_STATUS_SUCCESS, OP_STATUS_ERROR])

OP_PRIO_LOWEST = 19
OP_PRIO_HIGHEST = -20
OP_PRIO_LOW = 10
OP_PRIO_NORMAL = 0
OP_PRIO_HIGH = -10
OP_PRIO_DEFAULT = OP_PRIO_NORMAL
OP_PRIO_SUBMIT_VALID = frozenset([OP_PRIO_LOW, OP_PRIO_NORMAL, OP_PRIO_HIGH])

JOB_QUEUE_VERSION = 1
JOB_QUEUE_SIZE_HARD_LIMIT = 5000
JOB_QUEUE_FILES_PERMS = 0o640
JOB_ARCHIVE_DIRECTORY_SIZE = 10000  # jobs per archive sub-directory
JOB_ID_TEMPLATE = r"\d+"
JOB_FILE_PREFIX = "job-"

# Dependencies between jobs: conditions a depended-on job must reach
JOB_DEP_STATUSES = frozenset([JOB_STATUS_SUCCESS, JOB_STATUS_ERROR, JOB_STATUS_CANCELED])

# Job log entry types
ELOG_MESSAGE = "message"
ELOG_MESSAGE_LIST = "message-list"
ELOG_REMOTE_IMPORT = "remote-import"
ELOG_JQUEUE_TEST = "jqueue-test"
ELOG_DELAY_TEST = "delay-test"

# OpTestJqueue notification points
JQT_MSGPREFIX = "TESTMSG="
JQT_EXPANDNAMES = "expandnames"
JQT_EXEC = "exec"
JQT_LOGMSG = "logmsg"
JQT_STARTMSG = "startmsg"
JQT_ALL = frozenset([JQT_EXPANDNAMES, JQT_EXEC, JQT_LOGMSG, JQT_STARTMSG])

# Locking
LOCK_ATTEMPTS_TIMEOUT = 1800
LOCKS_APPEND = "append"
LOCKS_REPLACE = "replace"

# Tags
TAG_CLUSTER = "cluster"
TAG_NODEGROUP = "nodegroup"
TAG_NODE = "node"
TAG_INSTANCE = "instance"
TAG_NETWORK = "network"
VALID_TAG_TYPES = frozenset([TAG_CLUSTER, TAG_NODEGROUP, TAG_NODE, TAG_INSTANCE, TAG_NETWORK])
MAX_TAG_LEN = 128
MAX_TAGS_PER_OBJ = 4096

# Query2
QR_CLUSTER = "cluster"
QR_INSTANCE = "instance"
QR_NODE = "node"
QR_LOCK = "lock"
QR_GROUP = "group"
QR_OS = "os"
QR_EXTSTORAGE = "extstorage"
QR_JOB = "job"
QR_EXPORT = "export"
QR_NETWORK = "network"
QR_FILTER = "filter"
QR_VIA_OP = frozenset([QR_CLUSTER, QR_OS, QR_EXTSTORAGE])
QR_VIA_LUXI = frozenset([QR_INSTANCE, QR_NODE, QR_LOCK, QR_GROUP, QR_JOB,
                         QR_EXPORT, QR_NETWORK, QR_FILTER])
QR_VIA_RAPI = QR_VIA_LUXI

QFT_UNKNOWN = "unknown"
QFT_TEXT = "text"
QFT_BOOL = "bool"
QFT_NUMBER = "number"
QFT_NUMBER_FLOAT = "float"
QFT_UNIT = "unit"
QFT_TIMESTAMP = "timestamp"
QFT_OTHER = "other"
QFT_ALL = frozenset([QFT_UNKNOWN, QFT_TEXT, QFT_BOOL, QFT_NUMBER, QFT_NUMBER_FLOAT,
                     QFT_UNIT, QFT_TIMESTAMP, QFT_OTHER])

RS_NORMAL = 0
RS_UNKNOWN = 1
RS_NODATA = 2
RS_UNAVAIL = 3
RS_OFFLINE = 4
RS_ALL = frozenset([RS_NORMAL, RS_UNKNOWN, RS_NODATA, RS_UNAVAIL, RS_OFFLINE])

# Hypervisors
HT_XEN_PVM = "xen-pvm"
HT_FAKE = "fake"
HT_XEN_HVM = "xen-hvm"
HT_KVM = "kvm"
HT_CHROOT = "chroot"
HT_LXC = "lxc"
HYPER_TYPES = frozenset([HT_XEN_PVM, HT_FAKE, HT_XEN_HVM, HT_KVM, HT_CHROOT, HT_LXC])

# Disk templates
DT_DISKLESS = "diskless"
DT_FILE = "file"
DT_SHARED_FILE = "sharedfile"
DT_PLAIN = "plain"
DT_DRBD8 = "drbd"
DT_RBD = "rbd"
DT_EXT = "ext"
DT_BLOCK = "blockdev"
DT_GLUSTER = "gluster"
DISK_TEMPLATES = frozenset([DT_DISKLESS, DT_FILE, DT_SHARED_FILE, DT_PLAIN, DT_DRBD8,
                            DT_RBD, DT_EXT, DT_BLOCK, DT_GLUSTER])
# Order in which "enabled disk templates" default when none are given
DEFAULT_ENABLED_DISK_TEMPLATES = [DT_DRBD8, DT_PLAIN]

# Instance states
ADMINST_UP = "up"
ADMINST_DOWN = "down"
ADMINST_OFFLINE = "offline"
ADMINST_ALL = frozenset([ADMINST_UP, ADMINST_DOWN, ADMINST_OFFLINE])

# Node roles, as gnt-node list shows them
NR_REGULAR = "R"
NR_MASTER = "M"
NR_MCANDIDATE = "C"
NR_DRAINED = "D"
NR_OFFLINE = "O"

# Hooks
HOOKS_PHASE_PRE = "pre"
HOOKS_PHASE_POST = "post"
HOOKS_NAME_CFGUPDATE = "config-update"
HOOKS_NAME_WATCHER = "watcher"
HOOKS_VERSION = 2
HOOKS_PATH = "/sbin:/bin:/usr/sbin:/usr/bin"
HKR_SKIP = 0
HKR_FAIL = 1
HKR_SUCCESS = 2
HTYPE_CLUSTER = "CLUSTER"
HTYPE_NODE = "NODE"
HTYPE_GROUP = "GROUP"
HTYPE_INSTANCE = "INSTANCE"
HTYPE_NETWORK = "NETWORK"

# Filters (job filter rules)
JOBQUEUE_FILTER_ACTION_ACCEPT = "ACCEPT"
JOBQUEUE_FILTER_ACTION_PAUSE = "PAUSE"
JOBQUEUE_FILTER_ACTION_REJECT = "REJECT"
JOBQUEUE_FILTER_ACTION_CONTINUE = "CONTINUE"
JOBQUEUE_FILTER_ACTION_RATE_LIMIT = "RATE_LIMIT"
JOBQUEUE_FILTER_PREDICATE_JOBID = "jobid"
JOBQUEUE_FILTER_PREDICATE_OPCODE = "opcode"
JOBQUEUE_FILTER_PREDICATE_REASON = "reason"

# Reason trail
OPCODE_REASON_SRC_CLIENT = "gnt:client"
OPCODE_REASON_SRC_NODED = "gnt:daemon:noded"
OPCODE_REASON_SRC_OPCODE = "gnt:opcode"
OPCODE_REASON_SRC_RLIB2 = "gnt:library:rlib2"
OPCODE_REASON_SRC_USER = "gnt:user"

# Watcher
WATCHER_PAUSE_NONE = None

# Misc
PP_DEFAULT = "default"  # the group of cluster-wide be/nic params
SSCONF_FILEPREFIX = "ssconf_"
ENABLE_FILE_STORAGE = True
ENABLE_SHARED_FILE_STORAGE = True
DEFAULT_VG = "xenvg"
# cluster verify reports a volume group smaller than this (MiB)
MIN_VG_SIZE = 20480
DEFAULT_BRIDGE = "xen-br0"
DEFAULT_MAC_PREFIX = "aa:00:00"
MAX_NET_SIZE = 2 ** 16
DEFAULT_SHUTDOWN_TIMEOUT = 120
IP4_ADDRESS_LOCALHOST = "127.0.0.1"
IP4_ADDRESS_ANY = "0.0.0.0"
IP4_FAMILY = 2
IP6_FAMILY = 10
MASTER_POOL_SIZE_DEFAULT = 10

# Storage unit types and their fields (gnt-node list-storage)
ST_FILE = "file"
ST_SHARED_FILE = "sharedfile"
ST_GLUSTER = "gluster"
ST_LVM_PV = "lvm-pv"
ST_LVM_VG = "lvm-vg"
SF_NODE, SF_TYPE, SF_NAME = "node", "type", "name"
SF_SIZE, SF_USED, SF_FREE, SF_ALLOCATABLE = "size", "used", "free", "allocatable"
SO_FIX_CONSISTENCY = "fix-consistency"

# Crypto tokens of nodes (RPC node_crypto_tokens)
CRYPTO_TYPE_SSL_DIGEST = "ssl"
CRYPTO_ACTION_GET = "get"
CRYPTO_ACTION_CREATE = "create"
CRYPTO_OPTION_CERT_FILE = "cert_file"
CRYPTO_OPTION_SERIAL_NO = "serial_no"

# /etc/hosts edits (RPC etc_hosts_modify)
ETC_HOSTS_ADD = "add"
ETC_HOSTS_REMOVE = "remove"

# Master failover voting: rounds and seconds between them
MASTER_VOTING_RETRIES = 6
MASTER_VOTING_RETRY_INTERVALL = 10

# Cluster verification
NODE_MAX_CLOCK_SKEW = 150  # seconds
VERIFY_NPLUSONE_MEM = "nplusone_mem"

# What node_verify is asked to check: one key per check, grouped by subject
# - identity and time
NV_VERSION = "version"
NV_TIME = "time"
NV_CLIENT_CERT = "client-cert"
NV_NODESETUP = "nodesetup"
NV_USERSCRIPTS = "user-scripts"
NV_OOB_PATHS = "oob-paths"
# - files and SSH
NV_FILELIST = "filelist"
NV_SSH_SETUP = "ssh-setup"
NV_SSH_CLUTTER = "ssh-clutter"
# - network
NV_NODELIST = "nodelist"
NV_NODENETTEST = "node-net-test"
NV_MASTERIP = "master-ip"
NV_BRIDGES = "bridges"
NV_NONVMNODES = "nonvmnodes"
# - hypervisors and instances
NV_HYPERVISOR = "hypervisor"
NV_HVPARAMS = "hvparms"
NV_HVINFO = "hvinfo"
NV_INSTANCELIST = "instancelist"
NV_OSLIST = "oslist"
# - storage
NV_VGLIST = "vglist"
NV_LVLIST = "lvlist"
NV_PVLIST = "pvlist"
NV_EXCLUSIVEPVS = "exclusive-pvs"
NV_DRBDLIST = "drbd-list"
NV_DRBDVERSION = "drbd-version"
NV_DRBDHELPER = "drbd-helper"
NV_FILE_STORAGE_PATH = "file-storage-path"
NV_SHARED_FILE_STORAGE_PATH = "shared-file-storage-path"
NV_GLUSTER_STORAGE_PATH = "gluster-storage-path"
NV_ACCEPTED_STORAGE_PATHS = "allowed-file-storage-paths"

# Instances
INSTANCE_CREATE = "create"
INSTANCE_IMPORT = "import"
INSTANCE_REMOTE_IMPORT = "remote-import"
VALUE_GENERATE = "generate"
# templates mirrored between two nodes (internally) or by outside storage
DTS_INT_MIRROR = frozenset([DT_DRBD8])
DTS_EXT_MIRROR = frozenset([DT_DISKLESS, DT_SHARED_FILE, DT_BLOCK, DT_RBD, DT_EXT,
                            DT_GLUSTER])
DTS_MIRRORED = DTS_INT_MIRROR | DTS_EXT_MIRROR
OS_VALIDATE_PARAMETERS = "parameters"
INSTANCE_REBOOT_SOFT = "soft"
INSTANCE_REBOOT_HARD = "hard"
INSTANCE_REBOOT_FULL = "full"

# Health of a disk's local storage (BlockDevStatus.ldisk_status)
LDS_OKAY = 1
LDS_SYNC = 2
LDS_UNKNOWN = 3
LDS_FAULTY = 4
LDS_NAMES = {LDS_OKAY: "ok", LDS_SYNC: "syncing", LDS_UNKNOWN: "unknown",
             LDS_FAULTY: "faulty"}

# Keys of a disk's per-node dynamic parameters (Ganeti's DDP_*)
DDP_LOCAL_IP = "local-ip"
DDP_REMOTE_IP = "remote-ip"
DDP_LOCAL_MINOR = "local-minor"
DDP_REMOTE_MINOR = "remote-minor"
DDP_PORT = "port"

# Changes to an instance's disks and NICs, and to lists of parameters
DDM_ADD = "add"
DDM_ATTACH = "attach"
DDM_MODIFY = "modify"
DDM_DETACH = "detach"
DDM_REMOVE = "remove"

# Instance consoles
CONS_MESSAGE = "msg"
CONS_SPICE = "spice"
CONS_SSH = "ssh"
CONS_VNC = "vnc"
CONS_ALL = frozenset([CONS_MESSAGE, CONS_SPICE, CONS_SSH, CONS_VNC])

# Migration progress as hypervisors report it
HV_MIGRATION_ACTIVE = "active"
HV_MIGRATION_CANCELLED = "cancelled"
HV_MIGRATION_COMPLETED = "completed"
HV_MIGRATION_FAILED = "failed"
HV_MIGRATION_VALID_STATUSES = frozenset([HV_MIGRATION_ACTIVE, HV_MIGRATION_CANCELLED,
                                         HV_MIGRATION_COMPLETED, HV_MIGRATION_FAILED])
HV_MIGRATION_FAILED_STATUSES = frozenset([HV_MIGRATION_CANCELLED, HV_MIGRATION_FAILED])

# Hotplug
HOTPLUG_ACTION_ADD = "hotadd"
HOTPLUG_ACTION_MODIFY = "hotmod"
HOTPLUG_ACTION_REMOVE = "hotremove"
HOTPLUG_ALL_ACTIONS = frozenset([HOTPLUG_ACTION_ADD, HOTPLUG_ACTION_MODIFY,
                                 HOTPLUG_ACTION_REMOVE])
HOTPLUG_TARGET_DISK = "disk"
HOTPLUG_TARGET_NIC = "nic"
HOTPLUG_ALL_TARGETS = frozenset([HOTPLUG_TARGET_DISK, HOTPLUG_TARGET_NIC])

# Moving disk data between nodes (import/export): the kinds of ends, and exports
IEIO_FILE = "file"
IEIO_RAW_DISK = "raw"
IEIO_SCRIPT = "script"
EXPORT_MODE_LOCAL = "local"
EXPORT_MODE_REMOTE = "remote"

# Node evacuation
NODE_EVAC_PRI = "primary-only"
NODE_EVAC_SEC = "secondary-only"
NODE_EVAC_ALL = "all"

# The OS definition interface
OS_SCRIPT_CREATE = "create"
OS_SCRIPT_CREATE_UNTRUSTED = "create_untrusted"
OS_SCRIPT_EXPORT = "export"
OS_SCRIPT_IMPORT = "import"
OS_SCRIPT_RENAME = "rename"
OS_SCRIPT_VERIFY = "verify"
OS_SCRIPTS = frozenset([OS_SCRIPT_CREATE, OS_SCRIPT_CREATE_UNTRUSTED, OS_SCRIPT_EXPORT,
                        OS_SCRIPT_IMPORT, OS_SCRIPT_RENAME, OS_SCRIPT_VERIFY])
OS_API_FILE = "ganeti_api_version"
OS_VARIANTS_FILE = "variants.list"
OS_PARAMETERS_FILE = "parameters.list"
OS_VALIDATE_CALLS = frozenset([OS_VALIDATE_PARAMETERS])

# Out-of-band management: the commands an oob_program understands, the
# statuses of its health items, and the key of its power-status answer
OOB_POWER_ON = "power-on"
OOB_POWER_OFF = "power-off"
OOB_POWER_CYCLE = "power-cycle"
OOB_POWER_STATUS = "power-status"
OOB_HEALTH = "health"
OOB_COMMANDS = frozenset([OOB_POWER_ON, OOB_POWER_OFF, OOB_POWER_CYCLE, OOB_POWER_STATUS,
                          OOB_HEALTH])
OOB_STATUS_OK = "OK"
OOB_STATUS_WARNING = "WARNING"
OOB_STATUS_CRITICAL = "CRITICAL"
OOB_STATUS_UNKNOWN = "UNKNOWN"
OOB_STATUSES = frozenset([OOB_STATUS_OK, OOB_STATUS_WARNING, OOB_STATUS_CRITICAL,
                          OOB_STATUS_UNKNOWN])
OOB_POWER_STATUS_POWERED = "powered"
