"""Root SSH access between the nodes of a cluster (paramiko).

The master reaches other nodes as root with its root key pair (id_rsa etc.
in root's ~/.ssh, below the node root in a virtual cluster).  Host keys are
checked against the cluster's known_hosts file (pathutils.SSH_KNOWN_HOSTS_FILE)
and root's own known_hosts; a key found there under the host's name must
match.  A host not listed anywhere is refused unless the caller disabled the
strict check (--no-ssh-key-check); its key is then recorded in the cluster's
known_hosts under the host's name.  In a virtual cluster every node has its
own host key, so keys are always recorded per node name.
"""

import base64
import contextlib
import fcntl
import hashlib
import logging
import os
import pwd
import shlex
import socket
import subprocess
import tempfile
import time
from typing import Iterator, Optional, Sequence

from ganeti import errors
from ganeti import netutils
from ganeti import pathutils
from ganeti import vcluster
from ganeti.utils import io
from ganeti.utils.process import CommandResult
from ganeti.utils import thirdparty

SSHK_RSA = "rsa"
SSHK_DSA = "dsa"
SSHK_ECDSA = "ecdsa"
SSHK_ED25519 = "ed25519"
# The file name part of every key type: ~/.ssh/id_<part>, id_<part>.pub
_KEY_FILE_PART = {SSHK_RSA: "rsa", SSHK_DSA: "dsa", SSHK_ECDSA: "ecdsa", SSHK_ED25519: "ed25519"}
# Host key files of sshd (below the node root in a virtual cluster)
SSH_CONFIG_DIR = "/etc/ssh"
SSH_HOST_KEY_TYPES = (SSHK_ED25519, SSHK_ECDSA, SSHK_RSA, SSHK_DSA)

DEFAULT_CONNECT_TIMEOUT = 10.0
SSH_KEYGEN = "ssh-keygen"
AUTHORIZED_KEYS_MODE = 0o600
KNOWN_HOSTS_MODE = 0o644
PUB_KEYS_MODE = 0o600
# Exit code of ssh(1) when the connection itself failed
SSH_FAILURE_EXIT_CODE = 255
_READ_CHUNK = 32768


class HostKeyError(errors.OpExecError):
  """The host key of a peer is unknown or does not match the recorded one."""


# -- key files ---------------------------------------------------------------

def GetUserFiles(user: str, mkdir: bool = False,
                 kind: str = SSHK_RSA) -> tuple[str, str, str]:
  """(private key, public key, authorized_keys) paths of user, under the node root.

  mkdir creates the user's .ssh directory (mode 0700) when missing.
  """
  if kind not in _KEY_FILE_PART:
    raise errors.ProgrammerError("Unknown SSH key type '%s'" % kind)
  try:
    home = pwd.getpwnam(user).pw_dir
  except KeyError as err:
    raise errors.OpExecError("User '%s' not found" % user) from err
  ssh_dir = vcluster.AddNodePrefix(os.path.join(home, ".ssh"))
  if mkdir:
    io.EnsureDirs([(ssh_dir, 0o700)])
  private = os.path.join(ssh_dir, "id_" + _KEY_FILE_PART[kind])
  return private, private + ".pub", os.path.join(ssh_dir, "authorized_keys")


def GetAllUserFiles(user: str, mkdir: bool = False
                    ) -> tuple[str, dict[str, tuple[str, str]]]:
  """(authorized_keys, {key type: (private, public)}) for every key type."""
  files = {kind: GetUserFiles(user, mkdir=mkdir, kind=kind) for kind in _KEY_FILE_PART}
  authorized = files[SSHK_RSA][2]
  return authorized, {kind: (priv, pub) for kind, (priv, pub, _) in files.items()}


def GenerateKeyPair(private_path: str, key_type: str = SSHK_RSA,
                    key_bits: Optional[int] = None, comment: str = "") -> str:
  """Creates (replacing) a key pair with ssh-keygen; returns the public key line.

  Both files appear together: they are generated in a temporary directory
  beside the target and renamed into place.
  """
  if key_type not in _KEY_FILE_PART:
    raise errors.OpExecError("Unknown SSH key type '%s'" % key_type)
  directory = os.path.dirname(private_path)
  io.EnsureDirs([(directory, 0o700)])
  with tempfile.TemporaryDirectory(dir=directory, prefix=".keygen-") as tmpdir:
    tmp_private = os.path.join(tmpdir, "key")
    argv = [SSH_KEYGEN, "-q", "-t", key_type, "-N", "", "-C", comment, "-f", tmp_private]
    if key_bits:
      argv += ["-b", str(key_bits)]
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
      raise errors.OpExecError("Could not generate an SSH key (%s): %s" %
                               (" ".join(argv), (proc.stdout + proc.stderr).strip()))
    os.rename(tmp_private + ".pub", private_path + ".pub")
    os.rename(tmp_private, private_path)
  io.FsyncDir(directory)
  return io.ReadFile(private_path + ".pub").strip()


def KeyIdentity(line: str) -> Optional[tuple[str, str]]:
  """(type, base64) of a public key line, ignoring options and comment; None if none."""
  fields = line.split()
  for index, field in enumerate(fields[:-1]):
    if field.startswith(("ssh-", "ecdsa-", "sk-")) and _IsBase64(fields[index + 1]):
      return field, fields[index + 1]
  return None


def _IsBase64(text: str) -> bool:
  try:
    base64.b64decode(text, validate=True)
    return True
  except ValueError:
    return False


@contextlib.contextmanager
def _LockedDir(directory: str) -> Iterator[None]:
  """Serializes read-modify-write cycles of the files in a directory.

  The directory itself is locked: no lock file is left in ~/.ssh.
  """
  io.EnsureDirs([(directory, 0o700)])
  fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
  try:
    fcntl.flock(fd, fcntl.LOCK_EX)
    yield
  finally:
    os.close(fd)


def _EditLines(path: str, edit, mode: int) -> bool:
  """Replaces the file's lines by edit(lines) atomically; returns whether changed."""
  with _LockedDir(os.path.dirname(path)):
    old = io.TryReadFile(path)
    lines = old.splitlines() if old else []
    new = edit(list(lines))
    if new == lines and old is not None:
      return False
    io.WriteFile(path, "".join(line + "\n" for line in new), mode=mode)
    return True


def AddAuthorizedKeys(path: str, keys: Sequence[str]) -> bool:
  """Adds public keys missing from an authorized_keys file (by type and data)."""
  def _Add(lines):
    present = {KeyIdentity(line) for line in lines}
    for key in keys:
      identity = KeyIdentity(key)
      if identity is None:
        raise errors.OpExecError("Not an SSH public key: %r" % key[:60])
      if identity not in present:
        lines.append(key.strip())
        present.add(identity)
    return lines
  return _EditLines(path, _Add, AUTHORIZED_KEYS_MODE)


def RemoveAuthorizedKeys(path: str, keys: Sequence[str]) -> bool:
  """Removes public keys from an authorized_keys file; absent keys are fine."""
  gone = {KeyIdentity(key) for key in keys} - {None}
  if not os.path.exists(path):
    return False
  return _EditLines(path, lambda lines: [line for line in lines
                                         if KeyIdentity(line) not in gone],
                    AUTHORIZED_KEYS_MODE)


def HasAuthorizedKey(path: str, key: str) -> bool:
  identity = KeyIdentity(key)
  return any(KeyIdentity(line) == identity
             for line in (io.TryReadFile(path) or "").splitlines())


# -- the cluster's public key list (ganeti_pub_keys: "<node uuid> <key>") ----

def ReadPublicKeys(path: Optional[str] = None) -> dict[str, list[str]]:
  """{node uuid: [public key, ...]} of the cluster's public key file."""
  keys: dict[str, list[str]] = {}
  for line in (io.TryReadFile(path or pathutils.SSH_PUB_KEYS) or "").splitlines():
    uuid, _, key = line.strip().partition(" ")
    if uuid and key:
      keys.setdefault(uuid, []).append(key.strip())
  return keys


def AddPublicKey(node_uuid: str, key: str, path: Optional[str] = None,
                 replace: bool = False) -> bool:
  """Records a node's public key (replace: drop its other keys first)."""
  identity = KeyIdentity(key)
  if identity is None:
    raise errors.OpExecError("Not an SSH public key: %r" % key[:60])
  def _Edit(lines):
    kept = [line for line in lines
            if not (line.startswith(node_uuid + " ") and
                    (replace or KeyIdentity(line) == identity))]
    return kept + ["%s %s" % (node_uuid, key.strip())]
  return _EditLines(path or pathutils.SSH_PUB_KEYS, _Edit, PUB_KEYS_MODE)


def RemovePublicKeys(node_uuid: str, path: Optional[str] = None) -> bool:
  """Forgets every public key of a node."""
  target = path or pathutils.SSH_PUB_KEYS
  if not os.path.exists(target):
    return False
  return _EditLines(target, lambda lines: [line for line in lines
                                           if not line.startswith(node_uuid + " ")],
                    PUB_KEYS_MODE)


def ClearPublicKeys(path: Optional[str] = None) -> None:
  target = path or pathutils.SSH_PUB_KEYS
  _EditLines(target, lambda lines: [], PUB_KEYS_MODE)


# -- host keys -----------------------------------------------------------------

def GetHostKeyFiles() -> list[str]:
  """This node's sshd public host key files that exist."""
  candidates = [vcluster.AddNodePrefix("%s/ssh_host_%s_key.pub" % (SSH_CONFIG_DIR, kind))
                for kind in SSH_HOST_KEY_TYPES]
  return [path for path in candidates if os.path.exists(path)]


def _KnownHostsNames(hostname: str, port: int) -> list[str]:
  return [hostname] if port == 22 else [hostname, "[%s]:%d" % (hostname, port)]


def _ReadKnownHosts(path: str) -> dict[str, list[tuple[str, str]]]:
  """{host name: [(key type, base64)]} of a known_hosts file (hashed names skipped)."""
  known: dict[str, list[tuple[str, str]]] = {}
  for line in (io.TryReadFile(path) or "").splitlines():
    fields = line.split()
    if len(fields) < 3 or line.startswith(("#", "|", "@")):
      continue
    for name in fields[0].split(","):
      known.setdefault(name, []).append((fields[1], fields[2]))
  return known


def AddKnownHost(hostname: str, keys: Sequence[str], path: Optional[str] = None) -> bool:
  """Records host keys ("type base64 [comment]") under a name in known_hosts.

  Earlier keys of the same name and type are replaced.
  """
  entries = []
  for key in keys:
    fields = key.split()
    if len(fields) < 2:
      raise errors.OpExecError("Not an SSH public key: %r" % key[:60])
    entries.append((fields[0], fields[1]))
  types = {kind for kind, _ in entries}

  def _Edit(lines):
    kept = []
    for line in lines:
      fields = line.split()
      if len(fields) >= 3 and fields[0] == hostname and fields[1] in types:
        continue
      kept.append(line)
    return kept + ["%s %s %s" % (hostname, kind, data) for kind, data in entries]
  return _EditLines(path or pathutils.SSH_KNOWN_HOSTS_FILE, _Edit, KNOWN_HOSTS_MODE)


def _KnownHostsFiles(user: str) -> list[str]:
  """The cluster's known_hosts first, then the user's own."""
  try:
    home = pwd.getpwnam(user).pw_dir
  except KeyError:
    return [pathutils.SSH_KNOWN_HOSTS_FILE]
  return [pathutils.SSH_KNOWN_HOSTS_FILE,
          vcluster.AddNodePrefix(os.path.join(home, ".ssh", "known_hosts"))]


def _KnownKeys(hostname: str, port: int, user: str) -> list[tuple[str, str]]:
  keys: list[tuple[str, str]] = []
  names = _KnownHostsNames(hostname, port)
  for path in _KnownHostsFiles(user):
    known = _ReadKnownHosts(path)
    for name in names:
      keys += known.get(name, [])
  return keys


# -- running commands ---------------------------------------------------------

def _LoadPrivateKeys(user: str) -> list:
  """The user's private keys (every type present), as paramiko keys."""
  paramiko = thirdparty.Import("paramiko")
  _, pairs = GetAllUserFiles(user)
  loaders = {SSHK_RSA: paramiko.RSAKey, SSHK_ECDSA: paramiko.ECDSAKey,
             SSHK_ED25519: paramiko.Ed25519Key, SSHK_DSA: getattr(paramiko, "DSSKey", None)}
  keys = []
  for kind, (private, _) in pairs.items():
    if os.path.exists(private) and loaders[kind] is not None:
      try:
        keys.append(loaders[kind].from_private_key_file(private))
      except (paramiko.SSHException, OSError, ValueError) as err:
        raise errors.OpExecError("Cannot load SSH key %s: %s" % (private, err)) from err
  return keys


class _Connection:
  """One authenticated SSH transport to a node; closed with the context."""

  def __init__(self, runner: "SshRunner", hostname: str, port: int, user: str,
               strict_host_check: bool, timeout: float) -> None:
    self.hostname = hostname
    self.port = port
    self._runner = runner
    self._user = user
    self._strict = strict_host_check
    self._timeout = timeout
    self.transport = None

  def __enter__(self) -> "_Connection":
    paramiko = thirdparty.Import("paramiko")
    try:
      _, address = netutils.ResolveHostname(self.hostname)
    except errors.ResolverError as err:
      raise errors.OpExecError("ssh: Could not resolve hostname %s: %s" %
                               (self.hostname, err)) from err
    try:
      sock = socket.create_connection((address, self.port), timeout=self._timeout)
    except OSError as err:
      raise errors.OpExecError("ssh: connect to host %s (%s) port %d: %s" %
                               (self.hostname, address, self.port,
                                err.strerror or err)) from err
    transport = paramiko.Transport(sock)
    self.transport = transport
    try:
      known = _KnownKeys(self.hostname, self.port, self._user)
      options = transport.get_security_options()
      known_types = [kind for kind, _ in known if kind in options.key_types]
      # ask for a host key type we can verify
      options.key_types = list(dict.fromkeys(known_types + list(options.key_types)))
      transport.start_client(timeout=self._timeout)
      self._CheckHostKey(transport.get_remote_server_key(), known)
      self._Authenticate(transport)
    except BaseException:
      transport.close()
      raise
    return self

  def __exit__(self, *_) -> None:
    self.transport.close()

  def _CheckHostKey(self, key, known: list[tuple[str, str]]) -> None:
    offered = (key.get_name(), key.get_base64())
    if offered in known:
      return
    if known:
      raise HostKeyError(
        "Host key verification failed for %s: the %s key offered does not match the "
        "recorded one (possible man-in-the-middle attack; remove the old key from %s "
        "if the host key really changed)" % (self.hostname, offered[0],
                                             pathutils.SSH_KNOWN_HOSTS_FILE))
    if self._strict:
      raise HostKeyError(
        "Host key verification failed for %s: its host key is unknown (%s %s); add it "
        "to %s or use --no-ssh-key-check" % (self.hostname, offered[0],
                                            _Fingerprint(key),
                                            pathutils.SSH_KNOWN_HOSTS_FILE))
    AddKnownHost(self.hostname, ["%s %s" % offered])

  def _Authenticate(self, transport) -> None:
    paramiko = thirdparty.Import("paramiko")
    keys = self._runner.PrivateKeys(self._user)
    if not keys:
      raise errors.OpExecError("No SSH key of user %s to log into %s with" %
                               (self._user, self.hostname))
    for key in keys:
      try:
        transport.auth_publickey(self._user, key)
        return
      except paramiko.AuthenticationException:
        continue
    raise errors.OpExecError("Permission denied (publickey) for %s@%s: none of the keys of "
                             "%s is authorized there" % (self._user, self.hostname,
                                                         self._user))

  def Exec(self, command: str, stdin: Optional[bytes],
           deadline: Optional[float]) -> CommandResult:
    channel = self.transport.open_session(timeout=self._timeout)
    with contextlib.closing(channel):
      channel.exec_command(command)
      if stdin:
        channel.sendall(stdin)
      channel.shutdown_write()
      stdout, stderr = bytearray(), bytearray()
      channel.settimeout(0.1)
      while not (channel.exit_status_ready() and not channel.recv_ready() and
                 not channel.recv_stderr_ready()):
        if deadline is not None and time.monotonic() > deadline:
          return CommandResult([command], None, _Text(stdout), _Text(stderr),
                           "command timed out on %s" % self.hostname)
        got = False
        while channel.recv_ready():
          stdout += channel.recv(_READ_CHUNK)
          got = True
        while channel.recv_stderr_ready():
          stderr += channel.recv_stderr(_READ_CHUNK)
          got = True
        if not got and not channel.exit_status_ready():
          channel.status_event.wait(0.05)
      code = channel.recv_exit_status()
    reason = None if code == 0 else "exited with status %d" % code
    return CommandResult([command], code, _Text(stdout), _Text(stderr), reason)


def _Text(data: bytes) -> str:
  return bytes(data).decode("utf-8", "replace")


def _Fingerprint(key) -> str:
  """The key's fingerprint as OpenSSH shows it."""
  digest = hashlib.sha256(key.asbytes()).digest()
  return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def _FailedResult(command: str, message: str) -> CommandResult:
  return CommandResult([command], SSH_FAILURE_EXIT_CODE, "", message + "\n", message)


class SshRunner:
  """Runs commands on, and copies files to, other nodes as root over SSH."""

  def __init__(self, cluster_name: Optional[str] = None) -> None:
    self.cluster_name = cluster_name
    self._keys: dict[str, list] = {}

  def PrivateKeys(self, user: str) -> list:
    if user not in self._keys:
      self._keys[user] = _LoadPrivateKeys(user)
    return self._keys[user]

  def _Connect(self, hostname: str, port: int, user: str, strict_host_check: bool,
               timeout: Optional[float]) -> _Connection:
    """A connection; connecting takes at most the command's timeout, if shorter."""
    connect_timeout = min(timeout or DEFAULT_CONNECT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT)
    return _Connection(self, hostname, port, user, strict_host_check, connect_timeout)

  def Run(self, hostname: str, port: int, command: str, user: str = "root",
          ask_key: bool = False, strict_host_check: bool = True,
          timeout: Optional[float] = None, env: Optional[dict[str, str]] = None,
          stdin: Optional[str | bytes] = None) -> CommandResult:
    """Runs a shell command on a node; connection problems give exit code 255.

    ask_key is accepted for compatibility: nothing here can ask a user, so an
    unknown key is refused exactly as with strict_host_check.
    """
    del ask_key
    paramiko = thirdparty.Import("paramiko")
    if env:
      command = "%s; %s" % ("export " + " ".join(
        "%s=%s" % (name, shlex.quote(value)) for name, value in env.items()), command)
    if isinstance(stdin, str):
      stdin = stdin.encode("utf-8")
    deadline = time.monotonic() + timeout if timeout else None
    try:
      with self._Connect(hostname, port, user, strict_host_check, timeout) as connection:
        return connection.Exec(command, stdin, deadline)
    except errors.OpExecError as err:
      return _FailedResult(command, str(err))
    except (paramiko.SSHException, OSError, EOFError) as err:
      return _FailedResult(command, "ssh: connection to %s port %d failed: %s" %
                           (hostname, port, err or err.__class__.__name__))

  def CopyFileToNode(self, hostname: str, port: int, path: str,
                     strict_host_check: bool = True) -> bool:
    """Copies a local file to the same path on a node (atomically, same mode)."""
    paramiko = thirdparty.Import("paramiko")
    virtual = vcluster.MakeVirtualPath(path)
    relative = virtual[len(vcluster.VIRTUAL_PATH_PREFIX):] \
      if virtual.startswith(vcluster.VIRTUAL_PATH_PREFIX) else path
    try:
      mode = os.stat(path).st_mode & 0o7777
      with self._Connect(hostname, port, "root", strict_host_check, None) as connection:
        # the node's own root: commands over SSH learn it from the node's sshd
        root = connection.Exec('printf %s "$GANETI_ROOTDIR"', None, None).stdout.strip()
        target = root + relative if vcluster.IsVirtualCluster() else path
        sftp = paramiko.SFTPClient.from_transport(connection.transport)
        with contextlib.closing(sftp):
          tmp = "%s.tmp-%d" % (target, os.getpid())
          sftp.put(path, tmp)
          sftp.chmod(tmp, mode)
          sftp.posix_rename(tmp, target)
      return True
    except (errors.OpExecError, paramiko.SSHException, OSError, EOFError) as err:
      logging.error("Copying %s to %s failed: %s", path, hostname, err)
      return False


# -- cluster set-up ------------------------------------------------------------

def EnsureRootKeyPair(key_type: str = SSHK_RSA, key_bits: Optional[int] = None) -> str:
  """root's key pair of the given type, created when missing; returns the public key."""
  private, public, _ = GetUserFiles("root", mkdir=True, kind=key_type)
  if not (os.path.exists(private) and os.path.exists(public)):
    return GenerateKeyPair(private, key_type, key_bits, "root@" + netutils.GetHostname())
  return io.ReadFile(public).strip()


def InitSSHSetup(key_type: str = SSHK_RSA, key_bits: Optional[int] = None) -> None:
  """SSH set-up of a new cluster's master (gnt-cluster init without --no-ssh-init).

  Creates root's key pair when missing, authorizes it for root, and records
  this node's host keys in the cluster's known_hosts under its name.
  """
  public_key = EnsureRootKeyPair(key_type, key_bits)
  _, _, authorized = GetUserFiles("root", kind=key_type)
  AddAuthorizedKeys(authorized, [public_key])
  host_keys = [io.ReadFile(path).strip() for path in GetHostKeyFiles()]
  if host_keys:
    AddKnownHost(netutils.GetHostname(), host_keys)
