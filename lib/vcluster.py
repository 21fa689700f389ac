"""Virtual cluster support.

When both GANETI_ROOTDIR and GANETI_HOSTNAME are set, the process acts as the
node GANETI_HOSTNAME: every path lives below GANETI_ROOTDIR, with the same
relative layout as on a real node.  Paths sent between nodes are carried in a
node-neutral "virtual" form so that each node maps them below its own root.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Optional

ROOTDIR_ENV = "GANETI_ROOTDIR"
HOSTNAME_ENV = "GANETI_HOSTNAME"

# Marks a node-neutral path inside RPC payloads.
VIRTUAL_PATH_PREFIX = "/###-VIRTUAL-PATH-###,"


def _read_environment() -> tuple[str, Optional[str]]:
  root = os.environ.get(ROOTDIR_ENV, "")
  host = os.environ.get(HOSTNAME_ENV, "") or None
  if root:
    if not os.path.isabs(root):
      raise RuntimeError("%s must be an absolute path, not %r" % (ROOTDIR_ENV, root))
    if os.path.normpath(root) != root:
      raise RuntimeError("%s must be a normalized path, not %r" % (ROOTDIR_ENV, root))
    if host is None:
      raise RuntimeError("%s is set but %s is not" % (ROOTDIR_ENV, HOSTNAME_ENV))
  elif host is not None:
    raise RuntimeError("%s is set but %s is not" % (HOSTNAME_ENV, ROOTDIR_ENV))
  return root, host


ROOTDIR, HOSTNAME = _read_environment()


def IsVirtualCluster() -> bool:
  """Whether this process runs as a node of a virtual cluster."""
  return bool(ROOTDIR)


def AddNodePrefix(path: str) -> str:
  """Maps an absolute node path below this node's root directory."""
  if not os.path.isabs(path):
    raise ValueError("Path %r is not absolute" % path)
  if not ROOTDIR:
    return path
  return ROOTDIR + os.path.normpath(path)


def RemoveNodePrefix(path: str) -> str:
  """A path below this node's root directory as the node itself sees it."""
  if ROOTDIR and path.startswith(ROOTDIR + "/"):
    return path[len(ROOTDIR):]
  return path


def MakeVirtualPath(path: str) -> str:
  """Turns a path of this node into its node-neutral form for other nodes."""
  if not ROOTDIR or not path.startswith(ROOTDIR + "/"):
    return path
  return VIRTUAL_PATH_PREFIX + path[len(ROOTDIR):]


def LocalizeVirtualPath(path: str) -> str:
  """Turns a node-neutral path received from another node into a local one."""
  if path.startswith(VIRTUAL_PATH_PREFIX):
    return AddNodePrefix(path[len(VIRTUAL_PATH_PREFIX):])
  return path


NETNS_FILE = "netns"


def NetworkNamespace() -> Optional[str]:
  """The network namespace holding this virtual node's bridges and instance
  NICs (named in the file "netns" of its root), or None: the host's."""
  if not ROOTDIR:
    return None
  try:
    with open(os.path.join(ROOTDIR, NETNS_FILE)) as handle:
      return handle.read().strip() or None
  except FileNotFoundError:
    return None
