"""ExtStorage providers (gnt-storage diagnose and info) on a 2-node virtual
cluster whose nodes hold real provider directories on their search paths."""

import os
import re

import pytest

from test_ssh import SSHD
from vcluster_harness import JoinedCluster

pytestmark = pytest.mark.skipif(not os.path.exists(SSHD) or os.geteuid() != 0,
                                reason="needs OpenSSH's sshd and root")

SCRIPTS = ("create", "attach", "detach", "remove", "grow", "setinfo", "verify")


def _provider(vc, node, name, scripts=SCRIPTS, parameters="size the size\npool the pool\n"):
  path = vc.path("/srv/ganeti/extstorage/" + name, node)
  os.makedirs(path, exist_ok=True)
  for script in scripts:
    with open(os.path.join(path, script), "w") as handle:
      handle.write("#!/bin/sh\nexit 0\n")
    os.chmod(os.path.join(path, script), 0o755)
  if parameters is not None:
    with open(os.path.join(path, "parameters.list"), "w") as handle:
      handle.write(parameters)
  return path


@pytest.fixture(scope="module")
def cluster():
  with JoinedCluster(2) as vc:
    yield vc


def _uuids(vc):
  proc = vc.run("gnt-node", "list", "--no-headers", "-o", "name,uuid")
  return dict(line.split() for line in proc.stdout.splitlines())


def test_no_providers(cluster):
  proc = cluster.run("gnt-storage", "diagnose", check=False)
  assert proc.returncode == 1
  assert "Can't get the list of ExtStorage providers" in proc.stderr


def test_diagnose_and_info(cluster):
  uuids = _uuids(cluster)
  for node in (1, 2):
    _provider(cluster, node, "good")
  _provider(cluster, 1, "partial")
  path2 = _provider(cluster, 2, "partial", scripts=SCRIPTS[:-1])
  _provider(cluster, 1, "noparams", parameters=None)
  proc = cluster.run("gnt-storage", "diagnose")
  text = proc.stdout
  assert ("Provider: good\n---\n"
          "  Node: %s, status: valid (path: %s) [parameters: size, pool]\n"
          % (uuids["node1"], cluster.path("/srv/ganeti/extstorage/good", 1))) in text
  assert ("  Node: %s, status: invalid - File 'verify' under path '%s' is missing (ENOENT)"
          " (path: %s) [no parameters]" % (uuids["node2"], path2, path2)) in text
  assert re.search(r"Provider: good\n(.*\n)*?  --\n  For nodegroup: default --> valid\n", text)
  assert re.search(r"Provider: partial\n(.*\n)*?  For nodegroup: default --> invalid\n", text)
  assert ("  Node: %s, status: invalid - ExtStorage provider not found" % uuids["node2"]
          in text)
  assert "File 'parameters.list' under path" in text
  proc = cluster.run("gnt-storage", "info", "good", "partial", "nosuch")
  assert proc.stdout == ("good:\n  - Valid for nodegroups:\n      default\n"
                         "  - Supported parameters:\n      pool: the pool\n      size: the size\n\n"
                         "partial:\n  - Invalid for all nodegroups\n\n"
                         "nosuch: Not Found\n\n")
  # a node group of its own for node2: "partial" becomes usable in node1's
  cluster.run("gnt-group", "add", "other")
  cluster.run("gnt-group", "assign-nodes", "other", "node2")
  proc = cluster.run("gnt-storage", "info", "partial")
  assert proc.stdout == ("partial:\n  - Valid for nodegroups:\n      default\n"
                         "  - Supported parameters:\n      pool: the pool\n      size: the size\n\n")
  # the opcode answers as Ganeti's (node status keyed by node uuid)
  (answer,) = cluster.submit(("OpExtStorageDiagnose", {
    "output_fields": ["name", "nodegroup_status", "parameters"], "names": ["partial"]}))
  assert answer[:2] == ["ok", [["partial", {"default": True, "other": False},
                               [["pool", "the pool"], ["size", "the size"]]]]]
  (answer,) = cluster.submit(("OpExtStorageDiagnose", {"output_fields": ["name", "bogus"],
                                                       "names": []}))
  assert answer[:2] == ["error", "OpPrereqError"]
  assert "Unknown output fields selected: bogus" in answer[2]
