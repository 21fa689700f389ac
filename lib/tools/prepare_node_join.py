"""prepare-node-join: the node's side of joining a cluster (run by the master over SSH).

Reads the join data (JSON, see ganeti.nodejoin) on standard input, installs
the cluster certificate, this node's client certificate and the ssconf values
the node daemon needs to trust the master, authorizes the master's root SSH
keys (creating this node's own root key pair when missing), then (re)starts
the node daemon.  Prints {"ssh_public_key": ...} on success; errors go to
standard error with exit code 1.
"""

import argparse
import logging
import subprocess
import sys
from typing import Any, Optional

from ganeti import constants
from ganeti import errors
from ganeti import netutils
from ganeti import nodejoin
from ganeti import pathutils
from ganeti import serializer
from ganeti import ssconf
from ganeti import ssh
from ganeti.utils import io
from ganeti.utils import x509

_MAX_INPUT = 1024 * 1024
_DAEMON_UTIL_TIMEOUT = 60.0


class JoinError(Exception):
  """The join data is unusable or a step failed."""


def _Require(data: dict, key: str, kind: type) -> Any:
  value = data.get(key)
  if not isinstance(value, kind):
    raise JoinError("Join data: '%s' must be a %s, not %r" % (key, kind.__name__,
                                                             type(value).__name__))
  return value


def _CheckCertificate(pem: str, what: str) -> None:
  if "PRIVATE KEY-----" not in pem:
    raise JoinError("The %s carries no private key" % what)
  try:
    x509.GetCertificateDigest(pem)
  except ValueError as err:
    raise JoinError("The %s is not a valid certificate: %s" % (what, err)) from err


def VerifyData(data: Any) -> dict:
  """Checks the join data's shape; returns it."""
  if not isinstance(data, dict):
    raise JoinError("Join data must be a JSON object")
  cluster_name = _Require(data, nodejoin.JD_CLUSTER_NAME, str)
  for key, what in ((nodejoin.JD_NODE_DAEMON_CERTIFICATE, "cluster certificate"),
                    (nodejoin.JD_NODE_CLIENT_CERTIFICATE, "client certificate")):
    _CheckCertificate(_Require(data, key, str), what)
  values = _Require(data, nodejoin.JD_SSCONF, dict)
  unknown = set(values) - set(nodejoin.JOIN_SSCONF_KEYS)
  if unknown or not all(isinstance(value, str) for value in values.values()):
    raise JoinError("Join data: invalid ssconf values %s" % ", ".join(sorted(unknown)))
  if values.get(ssconf.SS_CLUSTER_NAME, cluster_name) != cluster_name:
    raise JoinError("Join data: two different cluster names")
  if nodejoin.JD_AUTHORIZED_KEYS in data:
    keys = _Require(data, nodejoin.JD_AUTHORIZED_KEYS, list)
    if not keys or not all(isinstance(key, str) for key in keys):
      raise JoinError("Join data: authorized keys must be a list of public keys")
    if _Require(data, nodejoin.JD_SSH_KEY_TYPE, str) not in ssh.SSH_HOST_KEY_TYPES:
      raise JoinError("Join data: unknown SSH key type %r" % data[nodejoin.JD_SSH_KEY_TYPE])
    bits = data.get(nodejoin.JD_SSH_KEY_BITS)
    if bits is not None and not isinstance(bits, int):
      raise JoinError("Join data: SSH key bits must be a number")
  return data


def _CheckClusterMembership(cluster_name: str) -> None:
  """Refuses to move a node that belongs to another cluster."""
  current = io.TryReadFile(ssconf.SimpleStore().KeyToFilename(ssconf.SS_CLUSTER_NAME))
  if current and current.strip() != cluster_name:
    raise JoinError("This node already belongs to cluster '%s'; remove it from there "
                    "first (gnt-node remove, or gnt-cluster destroy)" % current.strip())


def InstallFiles(data: dict) -> None:
  """Writes the certificates and ssconf values, each file atomically."""
  _CheckClusterMembership(data[nodejoin.JD_CLUSTER_NAME])
  io.EnsureDirs([(pathutils.DATA_DIR, 0o755)])
  for key, path in ((nodejoin.JD_NODE_DAEMON_CERTIFICATE, pathutils.NODED_CERT_FILE),
                    (nodejoin.JD_NODE_CLIENT_CERTIFICATE, pathutils.NODED_CLIENT_CERT_FILE)):
    io.WriteFile(path, data[key], mode=x509.PEM_FILE_MODE)
  values = dict(data[nodejoin.JD_SSCONF])
  values.setdefault(ssconf.SS_CLUSTER_NAME, data[nodejoin.JD_CLUSTER_NAME])
  ssconf.WriteSsconfFiles(values)


def SetUpSsh(data: dict) -> str:
  """Authorizes the master's keys for root; returns this node's root public key."""
  key_type = data[nodejoin.JD_SSH_KEY_TYPE]
  public_key = ssh.EnsureRootKeyPair(key_type, data.get(nodejoin.JD_SSH_KEY_BITS))
  _, _, authorized = ssh.GetUserFiles("root", mkdir=True, kind=key_type)
  ssh.AddAuthorizedKeys(authorized, data[nodejoin.JD_AUTHORIZED_KEYS])
  return public_key


def RestartNodeDaemon() -> None:
  """Stops a running node daemon (it may hold old certificates) and starts it."""
  for action in ("stop", "start"):
    argv = [pathutils.DaemonUtilPath(), action, constants.NODED]
    logging.debug("Running %s", " ".join(argv))
    try:
      proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace",
                            timeout=_DAEMON_UTIL_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
      raise JoinError("Could not run '%s': %s" % (" ".join(argv), err)) from err
    if proc.returncode != 0:
      raise JoinError("'%s' failed (exit code %d): %s" %
                      (" ".join(argv), proc.returncode, proc.stdout.strip()))


def Join(data: dict) -> Optional[str]:
  """All steps of the join; returns the root public key (None without SSH data)."""
  VerifyData(data)
  logging.info("Joining cluster %s as %s", data[nodejoin.JD_CLUSTER_NAME],
               netutils.GetHostname())
  InstallFiles(data)
  public_key = SetUpSsh(data) if nodejoin.JD_AUTHORIZED_KEYS in data else None
  RestartNodeDaemon()
  return public_key


def Main(argv: Optional[list[str]] = None) -> int:
  parser = argparse.ArgumentParser(prog=nodejoin.JOIN_TOOL_NAME,
                                   description="Prepare this node to join a cluster "
                                               "(join data as JSON on standard input).")
  parser.add_argument("-d", "--debug", action="store_true")
  parser.add_argument("-v", "--verbose", action="store_true")
  options = parser.parse_args(argv)
  level = logging.DEBUG if options.debug else logging.INFO if options.verbose \
    else logging.WARNING
  logging.basicConfig(stream=sys.stderr, level=level, format="%(levelname)s %(message)s")
  try:
    text = sys.stdin.read(_MAX_INPUT + 1)
    if len(text) > _MAX_INPUT:
      raise JoinError("Join data larger than %d bytes" % _MAX_INPUT)
    try:
      data = serializer.LoadJson(text)
    except ValueError as err:
      raise JoinError("Join data is not valid JSON: %s" % err) from err
    public_key = Join(data)
  except (JoinError, errors.GenericError, OSError) as err:
    sys.stderr.write("%s: %s\n" % (nodejoin.JOIN_TOOL_NAME, err))
    return 1
  sys.stdout.write(serializer.DumpJson({nodejoin.JA_SSH_PUBLIC_KEY: public_key}) + "\n")
  return 0
