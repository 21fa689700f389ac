"""Tests for ganeti.backend.common, and the harness the backend tests share:
handlers called in a subprocess that is a node of a virtual cluster."""

import contextlib
import json
import os
import subprocess
import sys
from typing import Iterator

import pytest

import vcluster_harness
from ganeti.backend import common

_RUNNER = r"""
import json, sys
from ganeti import backend, errors
from ganeti.backend.common import RPCFail
exec(sys.argv[1])
results = []
for name, args in json.loads(sys.stdin.read()):
  try:
    results.append([True, backend.HANDLERS[name](*args)])
  except RPCFail as err:
    results.append([False, str(err)])
  except errors.QuitGanetiException as err:
    results.append(["quit", list(err.args)])
print(json.dumps(results))
"""


class BackendNode:
  """Calls backend handlers as node K of a virtual cluster."""

  def __init__(self, cluster: vcluster_harness.VirtualCluster, node: int = 1) -> None:
    self.cluster = cluster
    self.node = node

  def path(self, relative: str) -> str:
    return self.cluster.path(relative, self.node)

  def calls(self, *calls: tuple, prelude: str = "", env: dict | None = None) -> list:
    """[ok, payload] per (name, *args); ok is False for RPCFail."""
    full_env = self.cluster.env(self.node)
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-c", _RUNNER, prelude],
                          input=json.dumps([[call[0], list(call[1:])] for call in calls]),
                          env=full_env, capture_output=True, text=True, timeout=60,
                          check=False)
    if proc.returncode != 0:
      raise AssertionError("handler process failed:\n" + proc.stderr)
    return json.loads(proc.stdout)

  def call(self, name: str, *args, **kwargs):
    return self.calls((name,) + args, **kwargs)[0]

  def ok(self, name: str, *args, **kwargs):
    """The payload of a call that must succeed."""
    success, payload = self.call(name, *args, **kwargs)
    assert success is True, payload
    return payload


@contextlib.contextmanager
def FreshNode() -> Iterator[BackendNode]:
  """Node 1 of a fresh two-node virtual cluster (no daemons running)."""
  cluster = vcluster_harness.VirtualCluster(nodes=2)
  try:
    yield BackendNode(cluster, 1)
  finally:
    cluster.destroy()


@pytest.fixture
def node():
  with FreshNode() as fresh:
    yield fresh


def test_is_below_dir():
  assert common.IsBelowDir("/a/b", "/a/b/c")
  assert common.IsBelowDir("/a/b/", "/a/b/c/d")
  assert not common.IsBelowDir("/a/b", "/a/b")
  assert not common.IsBelowDir("/a/b", "/a/bc")
  assert not common.IsBelowDir("/a/b", "/a/b/../c")
  assert not common.IsBelowDir("/a/b", "relative/a/b/c")


def test_fail_raises_formatted():
  with pytest.raises(common.RPCFail, match="^bad thing 3$"):
    common.Fail("bad %s %d", "thing", 3, log=False)


def test_run_command_reports_failures():
  result = common.RunCommand(["sh", "-c", "echo out; echo err >&2; exit 3"])
  assert result.failed and result.exit_code == 3
  assert result.stdout == "out\n" and result.stderr == "err\n"
  assert "exited with status 3" in result.Describe() and "err" in result.Describe()
  missing = common.RunCommand(["/nonexistent/program"])
  assert missing.failed and "could not be run" in missing.Describe()
  slow = common.RunCommand(["sleep", "5"], timeout=0.2)
  assert slow.failed and "timed out" in slow.Describe()


def test_local_path_maps_into_the_node_root(node):
  root = node.path("/")
  prelude = "from ganeti.backend import common; from ganeti import vcluster"
  code = ("print(json.dumps([common.LocalPath(p) for p in "
          "['/var/lib/ganeti/x', vcluster.VIRTUAL_PATH_PREFIX + '/etc/hosts', "
          "vcluster.ROOTDIR + '/srv/y', '/var/../etc/passwd']])); sys.exit(0)")
  proc = subprocess.run([sys.executable, "-c", _RUNNER, prelude + "\n" + code],
                        env=node.cluster.env(1), capture_output=True, text=True, check=True)
  assert json.loads(proc.stdout) == [os.path.join(root, "var/lib/ganeti/x"),
                                     os.path.join(root, "etc/hosts"),
                                     os.path.join(root, "srv/y"),
                                     os.path.join(root, "etc/passwd")]
