"""Filesystem locations used by Ganeti, already mapped into this node's root.

Every path here honours the virtual cluster root (see vcluster), so code can
use them directly.  The relative layout is the one Ganeti uses.
"""

import os
import sys

from ganeti import _autoconf
from ganeti import vcluster

_p = vcluster.AddNodePrefix

# Installed program locations are not node-specific.
PKGLIBDIR = _autoconf.PKGLIBDIR
SHAREDIR = _autoconf.SHAREDIR
TOOLSDIR = PKGLIBDIR + "/tools"
DAEMON_UTIL = PKGLIBDIR + "/daemon-util"
MASTER_SETUP_TOOL = "master-ip-setup"

SYSCONFDIR = _p(_autoconf.SYSCONFDIR)
LOCALSTATEDIR = _p(_autoconf.LOCALSTATEDIR)

DATA_DIR = LOCALSTATEDIR + "/lib/ganeti"
RUN_DIR = LOCALSTATEDIR + "/run/ganeti"
LOG_DIR = LOCALSTATEDIR + "/log/ganeti"
LOCK_DIR = LOCALSTATEDIR + "/lock"
CONF_DIR = SYSCONFDIR + "/ganeti"
SOCKET_DIR = RUN_DIR + "/socket"

CLUSTER_CONF_FILE = DATA_DIR + "/config.data"
SSCONF_PREFIX = DATA_DIR + "/ssconf_"
NODED_CERT_FILE = DATA_DIR + "/server.pem"
NODED_CLIENT_CERT_FILE = DATA_DIR + "/client.pem"
RAPI_CERT_FILE = DATA_DIR + "/rapi.pem"
SPICE_CERT_FILE = DATA_DIR + "/spice.pem"
SPICE_CACERT_FILE = DATA_DIR + "/spice-ca.pem"
CONFD_HMAC_KEY = DATA_DIR + "/hmac.key"
CLUSTER_DOMAIN_SECRET_FILE = DATA_DIR + "/cluster-domain-secret"
SSH_KNOWN_HOSTS_FILE = DATA_DIR + "/known_hosts"
SSH_PUB_KEYS = DATA_DIR + "/ganeti_pub_keys"
RAPI_DATA_DIR = DATA_DIR + "/rapi"
RAPI_USERS_FILE = RAPI_DATA_DIR + "/users"
WATCHER_PAUSEFILE = DATA_DIR + "/watcher.pause"
WATCHER_GROUP_STATE_FILE = DATA_DIR + "/watcher.%s.data"
WATCHER_GROUP_INSTANCE_STATUS_FILE = DATA_DIR + "/watcher.%s.instance-status"
INSTANCE_STATUS_FILE = RUN_DIR + "/instance-status"
INTENT_TO_UPGRADE = DATA_DIR + "/intent-to-upgrade"
EXPORT_DIR = _p(_autoconf.EXPORT_DIR)

QUEUE_DIR = DATA_DIR + "/queue"
JOB_QUEUE_LOCK_FILE = QUEUE_DIR + "/lock"
JOB_QUEUE_VERSION_FILE = QUEUE_DIR + "/version"
JOB_QUEUE_SERIAL_FILE = QUEUE_DIR + "/serial"
JOB_QUEUE_ARCHIVE_DIR = QUEUE_DIR + "/archive"
JOB_QUEUE_DRAIN_FILE = QUEUE_DIR + "/drain"

MASTER_SOCKET = SOCKET_DIR + "/ganeti-master"
QUERY_SOCKET = SOCKET_DIR + "/ganeti-query"

HOOKS_BASE_DIR = CONF_DIR + "/hooks"
USER_SCRIPTS_DIR = CONF_DIR + "/scripts"
EXTERNAL_MASTER_SETUP_SCRIPT = USER_SCRIPTS_DIR + "/master-ip-setup"
FILE_STORAGE_PATHS_FILE = CONF_DIR + "/file-storage-paths"
RESTRICTED_COMMANDS_DIR = CONF_DIR + "/restricted-commands"
VNC_PASSWORD_FILE = CONF_DIR + "/vnc-cluster-password"

DEFAULT_FILE_STORAGE_DIR = _p(_autoconf.FILE_STORAGE_DIR)
DEFAULT_SHARED_FILE_STORAGE_DIR = _p(_autoconf.SHARED_FILE_STORAGE_DIR)
OS_SEARCH_PATH = [_p(d) for d in _autoconf.OS_SEARCH_PATH]
ES_SEARCH_PATH = [_p(d) for d in _autoconf.ES_SEARCH_PATH]
# Allocator scripts (gnt-instance add -I NAME): the installation's own directory
# first, then the distribution's; per node, like the OS search path.
IALLOCATOR_SEARCH_PATH = [_p(d) for d in (PKGLIBDIR + "/iallocators",
                                          "/usr/lib/ganeti/iallocators")]

LOG_OS_DIR = LOG_DIR + "/os"
LOG_ES_DIR = LOG_DIR + "/extstorage"
LOG_KVM_DIR = LOG_DIR + "/kvm"
LOG_WATCHER = LOG_DIR + "/watcher.log"
LOG_COMMANDS = LOG_DIR + "/commands.log"

BDEV_CACHE_DIR = RUN_DIR + "/bdev-cache"
DISK_LINKS_DIR = RUN_DIR + "/instance-disks"
CRYPTO_KEYS_DIR = RUN_DIR + "/crypto"
IMPORT_EXPORT_DIR = RUN_DIR + "/import-export"
INSTANCE_REASON_DIR = RUN_DIR + "/instance-reason"
LIVELOCK_DIR = RUN_DIR + "/livelocks"
UIDPOOL_LOCKDIR = RUN_DIR + "/uid-pool"

WATCHER_LOCK_FILE = LOCK_DIR + "/ganeti-watcher.lock"
SSCONF_LOCK_FILE = LOCK_DIR + "/ganeti-ssconf.lock"

ETC_HOSTS = _p("/etc/hosts")


def _LauncherDir() -> str:
  return os.path.dirname(os.path.abspath(sys.argv[0])) if sys.argv and sys.argv[0] else ""


def DaemonUtilPath() -> str:
  """daemon-util of the installation this process runs from: beside a build
  tree's launchers (build/sbin, or build/sbin next to build/tools), else the
  installed one."""
  launcher_dir = _LauncherDir()
  if launcher_dir:
    for candidate in (os.path.join(launcher_dir, "daemon-util"),
                      os.path.join(launcher_dir, os.pardir, "sbin", "daemon-util")):
      if os.access(candidate, os.X_OK):
        return os.path.normpath(candidate)
  return DAEMON_UTIL


def ToolPath(name: str) -> str:
  """A helper program of the installation this process runs from.

  A launcher in a build tree (build/sbin) finds its tools in build/tools,
  so uninstalled trees test themselves; otherwise the installed TOOLSDIR.
  """
  launcher_dir = _LauncherDir()
  if launcher_dir:
    candidate = os.path.normpath(os.path.join(launcher_dir, os.pardir, "tools", name))
    if os.access(candidate, os.X_OK):
      return candidate
  return os.path.join(TOOLSDIR, name)



def IAllocatorScript(name: str) -> str | None:
  """The allocator script called name: the first match in the search path.

  Only plain file names count, so a name cannot reach outside the path.
  """
  if not name or os.path.basename(name) != name or name in (os.curdir, os.pardir):
    return None
  for directory in IALLOCATOR_SEARCH_PATH:
    candidate = os.path.join(directory, name)
    if os.path.isfile(candidate):
      return candidate
  return None

# Log file base names of the daemons, as Ganeti names them
_DAEMON_LOGBASE = {
  "ganeti-masterd": "master-daemon",
  "ganeti-noded": "node-daemon",
  "ganeti-confd": "conf-daemon",
  "ganeti-rapi": "rapi-daemon",
}


def GetLogFilename(daemon_name: str) -> str:
  """The log file of a daemon, e.g. /var/log/ganeti/master-daemon.log."""
  short = daemon_name[len("ganeti-"):] if daemon_name.startswith("ganeti-") else daemon_name
  return "%s/%s.log" % (LOG_DIR, _DAEMON_LOGBASE.get(daemon_name, short))


def GetPidFile(daemon_name: str) -> str:
  """The pid file of a daemon."""
  return "%s/%s.pid" % (RUN_DIR, daemon_name)
