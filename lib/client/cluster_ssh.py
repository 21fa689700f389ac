"""gnt-cluster's commands that reach the nodes over SSH rather than through
the master daemon: command, copyfile and renew-crypto (whose new cluster
certificate must reach nodes that no longer trust the master's RPC)."""

from __future__ import annotations

import fcntl
import os

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Any, Optional

from ganeti import errors
from ganeti import pathutils
from ganeti import vcluster
from ganeti.cli import (
  AskUser, CliOption, FORCE_OPT, GetClient, GetOnlineNodes, MakeOpCode, NODEGROUP_OPT,
  SHOW_MACHINE_OPT, SSH_KEY_BITS_OPT, SSH_KEY_TYPE_OPT, SubmitOpCode, ToStderr, ToStdout,
  VERBOSE_OPT)
from ganeti.cli import EXIT_FAILURE, EXIT_SUCCESS

# Fields of the node query the SSH commands need
_SSH_NODE_FIELDS = ["name", "offline", "sip", "group", "group.uuid", "ndparams", "uuid",
                    "master_candidate"]


def _SshTargets(cl: Any, names: list[str], nodegroup: Optional[str]) -> list[dict]:
  return GetOnlineNodes(cl, names, nodegroup, _SSH_NODE_FIELDS)


def _SshPort(row: dict) -> int:
  from ganeti import paramdefs  # pylint: disable=import-outside-toplevel
  return int((row["ndparams"] or {}).get(paramdefs.ND_SSH_PORT) or 22)


def _Runner(cluster_name: str) -> Any:
  from ganeti import ssh  # pylint: disable=import-outside-toplevel
  return ssh.SshRunner(cluster_name)


def RunClusterCommand(opts: Any, args: list[str]) -> int:
  """Runs a shell command on the nodes over SSH, the master last."""
  from ganeti.utils.text import NiceSortKey  # pylint: disable=import-outside-toplevel
  command = " ".join(args)
  cl = GetClient()
  cluster_name, master = cl.QueryConfigValues(["cluster_name", "master_node"])
  targets = sorted(_SshTargets(cl, opts.nodes, opts.nodegroup),
                   key=lambda row: (row["name"] == master, NiceSortKey(row["name"])))
  runner = _Runner(cluster_name)
  for row in targets:
    result = runner.Run(row["name"], _SshPort(row), command)
    if not (opts.failure_only and result.exit_code == 0):
      ToStdout("%s", _CommandReport(row["name"], result, opts.show_machine_names))
  return EXIT_SUCCESS


def _CommandReport(node: str, result: Any, prefix_lines: bool) -> str:
  """One node's section of gnt-cluster command's output."""
  if prefix_lines:
    body = ["%s: %s" % (node, line) for line in result.output.splitlines()]
  else:
    body = ["node: %s" % node, result.output]
  return "\n".join(["-" * 48, *body, "return code = %s" % result.exit_code])


def ClusterCopyFile(opts: Any, args: list[str]) -> int:
  """Copies a local file to the same path on the other nodes over SSH."""
  filename = os.path.abspath(args[0])
  if not os.path.exists(filename):
    raise errors.OpPrereqError("No such filename '%s'" % filename, errors.ECODE_INVAL)
  cl = GetClient()
  cluster_name, master = cl.QueryConfigValues(["cluster_name", "master_node"])
  runner = _Runner(cluster_name)
  for row in _SshTargets(cl, opts.nodes, opts.nodegroup):
    if row["name"] == master:
      continue
    host = row["sip"] if opts.use_replication_network else row["name"]
    if not runner.CopyFileToNode(host, _SshPort(row), filename):
      ToStderr("Copy of file %s to node %s failed", filename, host)
  return EXIT_SUCCESS


# --- renew-crypto --------------------------------------------------------------

def _ReadSource(path: str) -> str:
  with open(path, encoding="utf-8") as handle:
    return handle.read()


def _RenewLocalFiles(opts: Any, cluster_name: str) -> list[str]:
  """Writes the requested new certificates and secrets on the master; returns
  the files the other nodes need."""
  from ganeti.utils import io  # pylint: disable=import-outside-toplevel
  from ganeti.utils import x509  # pylint: disable=import-outside-toplevel
  renewed = []
  for generate, source, path in (
      (opts.new_rapi_cert, opts.rapi_cert, pathutils.RAPI_CERT_FILE),
      (opts.new_spice_cert, opts.spice_cert, pathutils.SPICE_CERT_FILE)):
    if generate:
      x509.WriteSelfSignedPem(path, cluster_name)
    elif source:
      io.WriteFile(path, _ReadSource(source), mode=0o400)
    if generate or source:
      renewed.append(path)
  if opts.spice_cacert:
    io.WriteFile(pathutils.SPICE_CACERT_FILE, _ReadSource(opts.spice_cacert), mode=0o400)
    renewed.append(pathutils.SPICE_CACERT_FILE)
  if opts.new_confd_hmac_key:
    x509.WriteSecret(pathutils.CONFD_HMAC_KEY)
    renewed.append(pathutils.CONFD_HMAC_KEY)
  if opts.new_cluster_domain_secret:
    x509.WriteSecret(pathutils.CLUSTER_DOMAIN_SECRET_FILE)
  elif opts.cluster_domain_secret:
    io.WriteFile(pathutils.CLUSTER_DOMAIN_SECRET_FILE, _ReadSource(opts.cluster_domain_secret),
                 mode=0o400)
  if opts.new_cluster_domain_secret or opts.cluster_domain_secret:
    renewed.append(pathutils.CLUSTER_DOMAIN_SECRET_FILE)
  return renewed


def _CopyFiles(runner: Any, row: dict, paths: list[str]) -> None:
  for path in paths:
    ToStdout("Copying %s to %s:%d", vcluster.RemoveNodePrefix(path), row["name"], _SshPort(row))
    if not runner.CopyFileToNode(row["name"], _SshPort(row), path):
      ToStderr("Copy of file %s to node %s failed", path, row["name"])


def _RunDaemonUtil(runner: Any, row: Optional[dict], action: str) -> None:
  """daemon-util start-all/stop-all on a node over SSH, or here without a row."""
  import subprocess  # pylint: disable=import-outside-toplevel
  argv = [pathutils.DaemonUtilPath(), action]
  if row is None:
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          check=False)
    failed, output = proc.returncode != 0, proc.stdout + proc.stderr
  else:
    result = runner.Run(row["name"], _SshPort(row), " ".join(argv))
    failed, output = result.failed, result.output
  if failed:
    ToStderr("Could not run '%s' on %s: %s", " ".join(argv[1:]),
             row["name"] if row else "this node", output.strip())


def _PushRenewedFiles(cl: Any, cluster_name: str, master: str, paths: list[str]) -> None:
  """Copies renewed files to the other nodes and restarts their daemons so
  that they load them; the master's daemons read them anew when asked."""
  runner = _Runner(cluster_name)
  for row in _SshTargets(cl, [], None):
    if row["name"] != master:
      _CopyFiles(runner, row, paths)
      _RunDaemonUtil(runner, row, "stop-all")
      _RunDaemonUtil(runner, row, "start-all")


def _BlockWatcher() -> int:
  """Holds the watcher's lock so that it does not restart the stopped daemons."""
  fd = os.open(pathutils.WATCHER_LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
  fcntl.flock(fd, fcntl.LOCK_EX)
  return fd


def _WriteCandidateCerts(master_uuid: str, digest: str) -> None:
  """With the master daemon stopped: only the master's new client certificate
  is trusted until the node certificates are renewed."""
  from ganeti import config  # pylint: disable=import-outside-toplevel
  cfg = config.ConfigWriter(offline=True)
  cluster = cfg.GetClusterInfo()
  cluster.candidate_certs = {master_uuid: digest}
  cfg.Update(cluster, None)


def _RenewClusterCertificate(cl: Any, cluster_name: str, master: str,
                             other_files: list[str]) -> None:
  """Replaces server.pem on every node with the daemons stopped everywhere.

  Every client certificate chains to server.pem, so no node would accept the
  master's RPC in between; the files travel over SSH instead.  The master's
  new client certificate is the only trusted one afterwards; the caller then
  renews the other nodes' certificates through the master.
  """
  from ganeti import ssconf  # pylint: disable=import-outside-toplevel
  from ganeti.utils import x509  # pylint: disable=import-outside-toplevel
  ToStdout("Gathering cluster information")
  rows = _SshTargets(cl, [], None)
  master_row = next(row for row in rows if row["name"] == master)
  others = [row for row in rows if row["name"] != master]
  cl.Close()
  runner = _Runner(cluster_name)
  ToStdout("Blocking watcher")
  watcher_lock = _BlockWatcher()
  try:
    ToStdout("Stopping master daemons")
    _RunDaemonUtil(runner, None, "stop-all")
    for row in others:
      ToStdout("Stopping daemons on %s", row["name"])
      _RunDaemonUtil(runner, row, "stop-all")
    try:
      ToStdout("Updating the cluster SSL certificate.")
      x509.WriteSelfSignedPem(pathutils.NODED_CERT_FILE, cluster_name)
      digest = x509.WriteSignedPem(pathutils.NODED_CLIENT_CERT_FILE,
                                   pathutils.NODED_CERT_FILE, cluster_name)
      ToStdout("Updating client SSL certificates.")
      _WriteCandidateCerts(master_row["uuid"], digest)
      certs_file = ssconf.SimpleStore().KeyToFilename(ssconf.SS_MASTER_CANDIDATES_CERTS)
      for row in others:
        extra = [pathutils.CLUSTER_CONF_FILE] if row["master_candidate"] else []
        _CopyFiles(runner, row, [pathutils.NODED_CERT_FILE, certs_file] + extra + other_files)
    finally:
      for row in others:
        ToStdout("Starting daemons on %s", row["name"])
        _RunDaemonUtil(runner, row, "start-all")
      ToStdout("Starting daemons on %s", master)
      _RunDaemonUtil(runner, None, "start-all")
  finally:
    os.close(watcher_lock)


def _CheckExclusiveOptions(opts: Any) -> bool:
  for new_opt, file_opt, new_flag, file_value in (
      ("--new-rapi-certificate", "--rapi-certificate", opts.new_rapi_cert, opts.rapi_cert),
      ("--new-spice-certificate", "--spice-certificate", opts.new_spice_cert, opts.spice_cert),
      ("--new-cluster-domain-secret", "--cluster-domain-secret", opts.new_cluster_domain_secret,
       opts.cluster_domain_secret)):
    if new_flag and file_value:
      ToStderr("Only one of the %s and %s options can be specified at the same time.",
               new_opt, file_opt)
      return False
  return True


def RenewCrypto(opts: Any, args: list[str]) -> int:
  """Renews certificates, secrets and SSH keys; node-side ones through the master."""
  ToStdout("Updating certificates now. Running \"gnt-cluster verify\"  is recommended after"
           " this operation.")
  if not _CheckExclusiveOptions(opts):
    return EXIT_FAILURE
  if not opts.force and not AskUser("This requires all daemons on all nodes to be restarted"
                                    " and may take some time. Continue?"):
    return EXIT_FAILURE
  cl = GetClient()
  cluster_name, master = cl.QueryConfigValues(["cluster_name", "master_node"])
  renewed = _RenewLocalFiles(opts, cluster_name)
  if opts.new_cluster_cert:
    _RenewClusterCertificate(cl, cluster_name, master, renewed)
  elif renewed:
    _PushRenewedFiles(cl, cluster_name, master, renewed)
  if opts.new_node_cert or opts.new_cluster_cert or opts.new_ssh_keys:
    from ganeti import opcodes  # pylint: disable=import-outside-toplevel
    op = MakeOpCode(opcodes.OpClusterRenewCrypto,
                    node_certificates=opts.new_node_cert or opts.new_cluster_cert,
                    renew_ssh_keys=opts.new_ssh_keys, ssh_key_type=opts.ssh_key_type,
                    ssh_key_bits=opts.ssh_key_bits, verbose=bool(opts.verbose),
                    debug=bool(opts.debug))
    # a new connection: the master daemon may have been restarted
    SubmitOpCode(op, opts=opts, cl=GetClient())
  ToStdout("All requested certificates and keys have been replaced. Running \"gnt-cluster"
           " verify\" now is recommended.")
  return EXIT_SUCCESS


_NODES_OPT = CliOption("-n", "--node", dest="nodes", action="append", default=[],
                       metavar="<node>",
                       help="Act on this node only (repeat for more nodes; all nodes"
                       " without this option)")
COMMAND_OPTS = [
  _NODES_OPT, NODEGROUP_OPT,
  SHOW_MACHINE_OPT,
  CliOption("--failure-only", dest="failure_only", action="store_true", default=False,
            help="Show only the nodes where the command failed (non-zero exit code)"),
]
COPYFILE_OPTS = [
  _NODES_OPT,
  CliOption("--use-replication-network", dest="use_replication_network",
            action="store_true", default=False,
            help="Copy over the replication (secondary) network"),
  NODEGROUP_OPT,
]
RENEW_CRYPTO_OPTS = [
  CliOption("--new-cluster-certificate", dest="new_cluster_cert", action="store_true",
            default=False, help="Generate a new cluster certificate"),
  CliOption("--new-rapi-certificate", dest="new_rapi_cert", action="store_true",
            default=False, help="Generate a new self-signed RAPI certificate"),
  CliOption("--rapi-certificate", dest="rapi_cert", help="Install this RAPI certificate"),
  CliOption("--new-confd-hmac-key", dest="new_confd_hmac_key", action="store_true",
            default=False, help="Generate a new HMAC key for confd"),
  FORCE_OPT,
  CliOption("--new-cluster-domain-secret", dest="new_cluster_domain_secret",
            action="store_true", default=False, help="Generate a new cluster domain secret"),
  CliOption("--cluster-domain-secret", dest="cluster_domain_secret",
            help="Install the cluster domain secret of this file"),
  CliOption("--new-spice-certificate", dest="new_spice_cert", action="store_true",
            default=False, help="Generate a new self-signed SPICE certificate"),
  CliOption("--spice-certificate", dest="spice_cert", help="Install this SPICE certificate"),
  CliOption("--spice-ca-certificate", dest="spice_cacert",
            help="Install this certificate of the CA that signed the SPICE one"),
  CliOption("--new-node-certificates", dest="new_node_cert", action="store_true",
            default=False, help="Generate new certificates for all nodes"),
  CliOption("--new-ssh-keys", dest="new_ssh_keys", action="store_true", default=False,
            help="Generate new SSH keys for all nodes"),
  CliOption("--no-ssh-key-check", dest="ssh_key_check", action="store_false", default=True,
            help="Do not check SSH key fingerprints"),
  VERBOSE_OPT, SSH_KEY_BITS_OPT, SSH_KEY_TYPE_OPT,
]
