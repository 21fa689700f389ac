"""Joining a new node to the cluster over SSH (the master's side of gnt-node add).

Before the node daemon of a new node can answer RPC, it needs the cluster's
certificate and the ssconf values that tell it whom to trust.  The master
sends these (plus root SSH keys, unless the cluster does not manage SSH) as
JSON to the join tool on the node (tools/prepare-node-join, see
ganeti.tools.prepare_node_join), which installs them and starts the node
daemon.
"""

import os
import shlex
from typing import Any, Optional

from ganeti import errors
from ganeti import pathutils
from ganeti import serializer
from ganeti import ssconf
from ganeti import ssh
from ganeti.utils import io
from ganeti.utils import x509

JOIN_TOOL_NAME = "prepare-node-join"
# Overrides where the join tool is (tests, uninstalled trees).
JOIN_TOOL_ENV = "GANETI_PREPARE_NODE_JOIN"
JOIN_TIMEOUT = 120.0

# Keys of the join data (the tool's standard input)
JD_CLUSTER_NAME = "cluster_name"
JD_NODE_DAEMON_CERTIFICATE = "node_daemon_certificate"
JD_NODE_CLIENT_CERTIFICATE = "node_client_certificate"
JD_SSCONF = "ssconf"
JD_AUTHORIZED_KEYS = "authorized_keys"
JD_SSH_KEY_TYPE = "ssh_key_type"
JD_SSH_KEY_BITS = "ssh_key_bits"
# Key of the tool's answer (its standard output)
JA_SSH_PUBLIC_KEY = "ssh_public_key"

# The ssconf values a node needs before the master uploads the rest: its
# node daemon accepts only the certificates in master_candidates_certs.
JOIN_SSCONF_KEYS = (
  ssconf.SS_CLUSTER_NAME, ssconf.SS_MASTER_NODE, ssconf.SS_MASTER_IP,
  ssconf.SS_MASTER_CANDIDATES, ssconf.SS_MASTER_CANDIDATES_IPS,
  ssconf.SS_MASTER_CANDIDATES_CERTS,
)


def JoinToolPath() -> str:
  """Where the join tool is: the override, the launcher's tree, or the installed one.

  The path is the same on every node of a cluster installed alike, and on
  every node of a virtual cluster.
  """
  return os.environ.get(JOIN_TOOL_ENV) or pathutils.ToolPath(JOIN_TOOL_NAME)


def BuildJoinData(node_name: str, modify_ssh_setup: bool = True,
                  ssh_key_type: str = ssh.SSHK_RSA,
                  ssh_key_bits: Optional[int] = None) -> dict[str, Any]:
  """What the new node gets: certificates, trust ssconf values, root SSH keys."""
  store = ssconf.SimpleStore()
  try:
    cluster_name = store.GetClusterName()
    server_pem = io.ReadFile(pathutils.NODED_CERT_FILE)
  except (errors.ConfigurationError, OSError) as err:
    raise errors.OpExecError("This node is not part of a cluster (%s)" % err) from err
  values = store.ReadAll()
  data: dict[str, Any] = {
    JD_CLUSTER_NAME: cluster_name,
    JD_NODE_DAEMON_CERTIFICATE: server_pem,
    JD_NODE_CLIENT_CERTIFICATE: x509.GenerateSignedPem(server_pem, node_name),
    JD_SSCONF: {key: values[key] for key in JOIN_SSCONF_KEYS if key in values},
  }
  if modify_ssh_setup:
    _, pairs = ssh.GetAllUserFiles("root")
    keys = [io.ReadFile(public).strip() for _, public in pairs.values()
            if os.path.exists(public)]
    if not keys:
      raise errors.OpExecError("The master has no root SSH key to authorize on %s; "
                               "was the cluster initialized with --no-ssh-init?" % node_name)
    data.update({JD_AUTHORIZED_KEYS: keys, JD_SSH_KEY_TYPE: ssh_key_type,
                 JD_SSH_KEY_BITS: ssh_key_bits})
  return data


def JoinNode(node_name: str, ssh_port: int, ssh_key_check: bool, debug: bool = False,
             verbose: bool = False, modify_ssh_setup: bool = True,
             ssh_key_type: str = ssh.SSHK_RSA,
             ssh_key_bits: Optional[int] = None) -> Optional[str]:
  """Prepares a node for the cluster over SSH and starts its node daemon.

  ssh_key_check False accepts (and records) an unknown host key.  Returns the
  node's root public key when SSH is managed (modify_ssh_setup), else None.
  Raises errors.OpExecError.
  """
  data = BuildJoinData(node_name, modify_ssh_setup, ssh_key_type, ssh_key_bits)
  command = shlex.quote(JoinToolPath())
  if debug:
    command += " --debug"
  if verbose:
    command += " --verbose"
  runner = ssh.SshRunner(data[JD_CLUSTER_NAME])
  result = runner.Run(node_name, ssh_port, command, strict_host_check=ssh_key_check,
                      timeout=JOIN_TIMEOUT, stdin=serializer.DumpJson(data))
  if result.exit_code == ssh.SSH_FAILURE_EXIT_CODE and result.fail_reason:
    raise errors.OpExecError("Cannot connect to node %s over SSH (port %d): %s" %
                             (node_name, ssh_port, result.fail_reason))
  if result.failed:
    raise errors.OpExecError("Command '%s' failed on node %s (%s): %s" %
                             (command, node_name, result.fail_reason,
                              result.output.strip()))
  if not modify_ssh_setup:
    return None
  try:
    answer = serializer.LoadJson(result.stdout)
    return answer[JA_SSH_PUBLIC_KEY]
  except (ValueError, TypeError, KeyError) as err:
    raise errors.OpExecError("Unexpected answer of %s on %s: %r" %
                             (JOIN_TOOL_NAME, node_name, result.stdout[:200])) from err
