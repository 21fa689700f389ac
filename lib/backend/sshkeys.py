"""Root SSH keys of the cluster, node side (node_ssh_key_add/remove, node_ssh_keys_renew).

Every handler changes only this node's files: root's authorized_keys and the
cluster's public key list (pathutils.SSH_PUB_KEYS, lines "<node uuid> <key>").
The master calls them on every node that must change.  A node's key is
found, in order: on the node itself (its own root key), in this node's public
key list, or (get_public_keys) fetched from the node over SSH.
"""

import os
import shlex
from typing import Optional, Sequence

from ganeti import errors
from ganeti import netutils
from ganeti import ssconf
from ganeti import ssh
from ganeti.backend.common import Fail
from ganeti.utils import io

_ROOT = "root"
_DEFAULT_SSH_PORT = 22


def _IsMe(node_name: str) -> bool:
  return node_name == netutils.GetHostname()


def _OwnPublicKeys() -> list[str]:
  _, pairs = ssh.GetAllUserFiles(_ROOT)
  return [io.ReadFile(public).strip() for _, public in pairs.values()
          if os.path.exists(public)]


def _AuthorizedKeysFile() -> str:
  return ssh.GetUserFiles(_ROOT, mkdir=True)[2]


def _SshPort(node_name: str) -> int:
  try:
    return ssconf.SimpleStore().GetSshPortMap().get(node_name, _DEFAULT_SSH_PORT)
  except (errors.ConfigurationError, ValueError):
    return _DEFAULT_SSH_PORT


def _FetchPublicKeys(node_name: str) -> list[str]:
  """The root public keys of another node, read over SSH."""
  import pwd  # pylint: disable=import-outside-toplevel
  ssh_dir = os.path.join(pwd.getpwnam(_ROOT).pw_dir, ".ssh")
  # $GANETI_ROOTDIR is empty on a real node; in a virtual cluster the node's
  # sshd sets it to that node's root
  result = ssh.SshRunner().Run(node_name, _SshPort(node_name),
                               'cat "$GANETI_ROOTDIR"%s/id_*.pub' % shlex.quote(ssh_dir))
  keys = [line.strip() for line in result.stdout.splitlines()
          if ssh.KeyIdentity(line)]
  if not keys:
    Fail("Cannot read the SSH public key of node %s: %s", node_name,
         result.output.strip() or "no key")
  return keys


def _NodeKeys(node_uuid: str, node_name: str, fetch: bool) -> list[str]:
  if _IsMe(node_name):
    keys = _OwnPublicKeys()
    if not keys:
      Fail("This node (%s) has no root SSH key", node_name)
    return keys
  known = ssh.ReadPublicKeys().get(node_uuid)
  if known:
    return known
  if fetch:
    return _FetchPublicKeys(node_name)
  Fail("No SSH public key of node %s (%s) is known here", node_name, node_uuid)
  return []


def _InList(names: Optional[Sequence[str]]) -> bool:
  """Whether this node is one of the named ones (a missing list means all)."""
  return names is None or netutils.GetHostname() in names


def AddNodeSshKey(node_uuid: str, node_name: str,
                  potential_master_candidates: Optional[Sequence[str]],
                  to_authorized_keys: bool, to_public_keys: bool,
                  get_public_keys: bool) -> list[str]:
  """Makes a node's root key known here; returns that node's keys.

  to_authorized_keys: let the node log in here as root; to_public_keys:
  record the key in the public key list, on potential master candidates only.
  """
  keys = _NodeKeys(node_uuid, node_name, get_public_keys)
  if to_public_keys and _InList(potential_master_candidates):
    for key in keys:
      ssh.AddPublicKey(node_uuid, key)
  if to_authorized_keys:
    ssh.AddAuthorizedKeys(_AuthorizedKeysFile(), keys)
  return keys


def RemoveNodeSshKey(node_uuid: str, node_name: str,
                     master_candidate_uuids: Sequence[str],
                     potential_master_candidates: Optional[Sequence[str]],
                     from_authorized_keys: bool, from_public_keys: bool,
                     clear_authorized_keys: bool, clear_public_keys: bool,
                     readd: bool) -> None:
  """Forgets a node's root key here.

  clear_authorized_keys (on the node leaving): drop every other node's key
  from authorized_keys, keeping the node's own; clear_public_keys: empty the
  public key list.  readd keeps the node's entry in the public key list, as
  the node is added again right after.
  """
  del master_candidate_uuids, potential_master_candidates  # every node drops what it has
  known = ssh.ReadPublicKeys()
  keys = known.get(node_uuid) or (_OwnPublicKeys() if _IsMe(node_name) else [])
  if from_authorized_keys and keys:
    if _IsMe(node_name):
      Fail("Refusing to remove this node's own key from its authorized_keys")
    ssh.RemoveAuthorizedKeys(_AuthorizedKeysFile(), keys)
  if from_public_keys and not readd:
    ssh.RemovePublicKeys(node_uuid)
  if clear_authorized_keys:
    own = {ssh.KeyIdentity(key) for key in _OwnPublicKeys()}
    others = [key for node_keys in known.values() for key in node_keys
              if ssh.KeyIdentity(key) not in own]
    ssh.RemoveAuthorizedKeys(_AuthorizedKeysFile(), others)
  if clear_public_keys:
    ssh.ClearPublicKeys()


def RenewSshKeys(node_uuids: Sequence[str], node_names: Sequence[str],
                 master_candidate_uuids: Sequence[str],
                 potential_master_candidates: Optional[Sequence[str]],
                 old_key_type: str, new_key_type: str,
                 new_key_bits: Optional[int]) -> dict[str, str]:
  """Gives this node (if listed) a new root key pair; returns {uuid: new public key}.

  The old key stays authorized on the other nodes until the master removes
  it, so the master never loses access in between; here it goes at once.
  The old pair of another type is removed.
  """
  del master_candidate_uuids  # the master distributes the answers
  if netutils.GetHostname() not in node_names:
    return {}
  uuid = node_uuids[list(node_names).index(netutils.GetHostname())]
  old_keys = _OwnPublicKeys()
  private, _, authorized = ssh.GetUserFiles(_ROOT, mkdir=True, kind=new_key_type)
  public_key = ssh.GenerateKeyPair(private, new_key_type, new_key_bits,
                                   "root@" + netutils.GetHostname())
  if old_key_type != new_key_type:
    old_private, old_public, _ = ssh.GetUserFiles(_ROOT, kind=old_key_type)
    io.RemoveFile(old_private)
    io.RemoveFile(old_public)
  # this node keeps reaching itself (gnt-cluster command includes the master),
  # with the new key only
  ssh.AddAuthorizedKeys(authorized, [public_key])
  new_identity = ssh.KeyIdentity(public_key)
  ssh.RemoveAuthorizedKeys(authorized, [key for key in old_keys
                                        if ssh.KeyIdentity(key) != new_identity])
  if _InList(potential_master_candidates):
    ssh.AddPublicKey(uuid, public_key, replace=True)
  return {uuid: public_key}


CALLS = {
  "node_ssh_key_add": AddNodeSshKey,
  "node_ssh_key_remove": RemoveNodeSshKey,
  "node_ssh_keys_renew": RenewSshKeys,
}
