"""Creating and destroying a cluster on its first (master) node.

`gnt-cluster init` runs here, outside any daemon: it checks the host, writes
the secrets, the initial configuration, ssconf and an empty job queue, starts
the master daemon and submits the post-init job.  `gnt-cluster destroy` runs
the destroy opcode through the master, then FinalizeClusterDestroy removes
the cluster's files from this node.
"""

import os
import subprocess
import time
from typing import Any, Optional

from ganeti import config
from ganeti import constants
from ganeti import errors
from ganeti import jstore
from ganeti import luxi
from ganeti import netutils
from ganeti import pathutils
from ganeti import vcluster
from ganeti.utils import io
from ganeti.utils import x509

_MASTERD_START_TIMEOUT = 30.0


def StartRapiDaemon() -> None:
  """Starts the remote API daemon of the (new) master, where it is installed."""
  from ganeti.tools import daemon_util  # pylint: disable=import-outside-toplevel
  if daemon_util.FindProgram(constants.RAPI) is not None:
    RunDaemonUtil("start", constants.RAPI)


def RunDaemonUtil(*args: str) -> None:
  result = subprocess.run([pathutils.DaemonUtilPath(), *args], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, check=False)
  if result.returncode != 0:
    raise errors.OpExecError("Could not run 'daemon-util %s': %s" %
                             (" ".join(args), result.stdout.decode("utf-8", "replace").strip()))


def _check_not_initialized() -> None:
  if os.path.exists(pathutils.CLUSTER_CONF_FILE):
    raise errors.OpPrereqError("Cluster is already initialised", errors.ECODE_STATE)


def _generate_secrets(cluster_name: str) -> str:
  """Writes the cluster's certificates and secrets; returns the master's client cert digest.

  The client certificate is signed by the cluster certificate: node daemons
  trust what chains to server.pem and whose digest is a candidate's.
  """
  io.EnsureDirs([(pathutils.DATA_DIR, 0o755), (pathutils.RAPI_DATA_DIR, 0o750)])
  for path in (pathutils.NODED_CERT_FILE, pathutils.RAPI_CERT_FILE,
               pathutils.SPICE_CERT_FILE, pathutils.SPICE_CACERT_FILE):
    x509.WriteSelfSignedPem(path, cluster_name)
  digest = x509.WriteSignedPem(pathutils.NODED_CLIENT_CERT_FILE, pathutils.NODED_CERT_FILE,
                               cluster_name)
  x509.WriteSecret(pathutils.CONFD_HMAC_KEY)
  x509.WriteSecret(pathutils.CLUSTER_DOMAIN_SECRET_FILE)
  return digest


def _wait_for_master(timeout: float = _MASTERD_START_TIMEOUT) -> luxi.Client:
  deadline = time.monotonic() + timeout
  while True:
    client = luxi.Client()
    try:
      client.QueryConfigValues(["cluster_name"])
      return client
    except (luxi.NoMasterError, luxi.ConnectionClosedError):
      client.Close()
      if time.monotonic() > deadline:
        raise errors.OpExecError("Master daemon did not start within %s seconds" % timeout)
      time.sleep(0.05)


def InitCluster(cluster_name: str, master_netdev: str, **options: Any) -> None:
  """Initialises a cluster with this node as its master.

  options are the values of gnt-cluster init's options, named like the
  fields of the cluster object (see config.InitConfig).
  """
  _check_not_initialized()
  hostname = netutils.GetHostname()
  _, node_ip = netutils.ResolveHostname(hostname)
  if node_ip.startswith("127.") and not vcluster.IsVirtualCluster():
    raise errors.OpPrereqError("This host's IP (%s) resolves to a loopback address; "
                               "fix /etc/hosts" % node_ip, errors.ECODE_ENVIRON)
  cluster_name, master_ip = netutils.ResolveHostname(cluster_name)
  secondary_ip = options.pop("secondary_ip", None) or node_ip
  if not netutils.IsValidIP4(secondary_ip) and not netutils.IsValidIP6(secondary_ip):
    raise errors.OpPrereqError("Invalid secondary ip given", errors.ECODE_INVAL)
  if master_netdev and not netutils.InterfaceExists(master_netdev):
    raise errors.OpPrereqError("Master network device '%s' does not exist" % master_netdev,
                               errors.ECODE_ENVIRON)
  master_cert_digest = _generate_secrets(cluster_name)
  writer = config.InitConfig(cluster_name=cluster_name, master_name=hostname,
                             master_ip=master_ip, master_netdev=master_netdev,
                             primary_ip=node_ip, secondary_ip=secondary_ip,
                             master_cert_digest=master_cert_digest, **options)
  jstore.InitQueueFiles()
  if options.get("modify_ssh_setup", True):
    from ganeti import ssh  # pylint: disable=import-outside-toplevel
    key_type = options.get("ssh_key_type") or ssh.SSHK_RSA
    ssh.InitSSHSetup(key_type, options.get("ssh_key_bits"))
    # the master is the first potential master candidate: the cluster's public
    # key list starts with its key alone (a previous cluster's entries go)
    ssh.ClearPublicKeys()
    ssh.AddPublicKey(writer.GetMasterNode(),
                     ssh.EnsureRootKeyPair(key_type, options.get("ssh_key_bits")))
  # the master's own node daemon first: the master daemon talks to it at once
  for name in (constants.NODED, constants.CONFD, constants.MASTERD):
    RunDaemonUtil("start", name)
  StartRapiDaemon()
  client = _wait_for_master()
  from ganeti import opcodes  # pylint: disable=import-outside-toplevel
  reason = [["%s:gnt-cluster" % constants.OPCODE_REASON_SRC_CLIENT, "init", time.time_ns()]]
  job_id = client.SubmitJob([opcodes.OpClusterPostInit(reason=reason)])
  status = luxi.WaitForJobCompletion(client, job_id)
  if status[0] != constants.JOB_STATUS_SUCCESS:
    raise errors.OpExecError("Post-initialisation failed: %s" % (status[2],))


def FinalizeClusterDestroy(master_uuid: Optional[str] = None) -> None:
  """Stops this node's daemons and removes the cluster's files from it."""
  del master_uuid  # only the local node is cleaned until node RPC exists
  RunDaemonUtil("stop-all")
  for path in (pathutils.CLUSTER_CONF_FILE, pathutils.NODED_CERT_FILE,
               pathutils.NODED_CLIENT_CERT_FILE, pathutils.RAPI_CERT_FILE,
               pathutils.SPICE_CERT_FILE, pathutils.SPICE_CACERT_FILE,
               pathutils.CONFD_HMAC_KEY, pathutils.CLUSTER_DOMAIN_SECRET_FILE,
               pathutils.WATCHER_PAUSEFILE):
    io.RemoveFile(path)
  for name in os.listdir(pathutils.DATA_DIR):
    if name.startswith(constants.SSCONF_FILEPREFIX):
      io.RemoveFile(os.path.join(pathutils.DATA_DIR, name))
  _remove_tree(pathutils.QUEUE_DIR)


def _remove_tree(path: str) -> None:
  for root, dirs, files in os.walk(path, topdown=False):
    for name in files:
      io.RemoveFile(os.path.join(root, name))
    for name in dirs:
      os.rmdir(os.path.join(root, name))
  if os.path.isdir(path):
    os.rmdir(path)
