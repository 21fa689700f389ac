"""Tests for ganeti.backend.master and tools/master-ip-setup in a virtual cluster."""

import os
import stat
import subprocess

import pytest

from test_backend_common import FreshNode


@pytest.fixture
def node():
  with FreshNode() as fresh:
    yield fresh


TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(TOP, "tools", "master-ip-setup")
PARAMS = {"uuid": "u-1", "ip": "127.0.2.1", "netmask": 32, "netdev": "lo", "ip_family": 2}
# the default script is the one of this tree, not an installed one
USE_TREE_SCRIPT = "from ganeti import pathutils; pathutils.ToolPath = lambda name: %r" % SCRIPT


def _StateFile(node):
  return node.path("/var/run/ganeti/master-ip")


def test_master_ip_turnup_and_turndown(node):
  state = _StateFile(node)
  results = node.calls(("node_has_ip_address", PARAMS["ip"]),
                       ("node_activate_master_ip", PARAMS, False),
                       ("node_has_ip_address", PARAMS["ip"]),
                       prelude=USE_TREE_SCRIPT)
  assert results == [[True, False], [True, None], [True, True]]
  assert open(state).read().split() == ["127.0.2.1", "32", "lo"]
  results = node.calls(("node_change_master_netmask", 32, 24, PARAMS["ip"], "lo"),
                       prelude=USE_TREE_SCRIPT)
  assert results == [[True, None]]
  assert open(state).read().split() == ["127.0.2.1", "24", "lo"]
  results = node.calls(("node_deactivate_master_ip", PARAMS, False),
                       ("node_has_ip_address", PARAMS["ip"]), prelude=USE_TREE_SCRIPT)
  assert results == [[True, None], [True, False]]
  assert not os.path.exists(state)
  # the other node never saw the address
  assert not os.path.exists(node.cluster.path("/var/run/ganeti/master-ip", 2))


def test_external_script_gets_the_documented_interface(node):
  script = node.path("/etc/ganeti/scripts/master-ip-setup")
  log = node.path("/tmp-mip.log")
  os.makedirs(os.path.dirname(script), exist_ok=True)
  with open(script, "w") as handle:
    handle.write("#!/bin/sh\necho \"$1 $MASTER_IP $MASTER_NETMASK $MASTER_NETDEV "
                 "$CLUSTER_IP_VERSION\" >> %s\n[ \"$1\" = start ] || "
                 "{ echo refusing stop; exit 3; }\n" % log)
  os.chmod(script, 0o755)
  params6 = dict(PARAMS, ip="fd00::1", netmask=64, ip_family=10)
  results = node.calls(("node_activate_master_ip", params6, True),
                       ("node_deactivate_master_ip", params6, True))
  assert results[0] == [True, None]
  assert results[1][0] is False
  assert "deactivate" in results[1][1] and "refusing stop" in results[1][1]
  assert open(log).read().splitlines() == ["start fd00::1 64 lo 6", "stop fd00::1 64 lo 6"]


def test_setup_script_checks_its_input(node):
  env = node.cluster.env(1)
  env.update(MASTER_IP="127.0.2.1", MASTER_NETMASK="32", MASTER_NETDEV="lo",
             CLUSTER_IP_VERSION="4")
  bad = subprocess.run([SCRIPT, "restart"], env=env, capture_output=True, text=True)
  assert bad.returncode != 0 and "usage" in bad.stderr
  del env["MASTER_IP"]
  missing = subprocess.run([SCRIPT, "start"], env=env, capture_output=True, text=True)
  assert missing.returncode != 0 and "MASTER_IP" in missing.stderr
  assert not os.path.exists(_StateFile(node))
  assert stat.S_IMODE(os.stat(SCRIPT).st_mode) & 0o111


def test_netmask_change_needs_the_active_address(node):
  success, message = node.call("node_change_master_netmask", 32, 24, "127.0.2.1", "lo")
  assert success is False and "not active" in message


def test_master_daemons_through_daemon_util(node):
  fake = node.path("/fake-daemon-util")
  log = node.path("/daemon-util.log")
  with open(fake, "w") as handle:
    handle.write("#!/bin/sh\necho \"$*\" >> %s\n" % log)
  os.chmod(fake, 0o755)
  prelude = "from ganeti import pathutils; pathutils.DAEMON_UTIL = %r" % fake
  results = node.calls(("node_start_master_daemons", True),
                       ("node_start_master_daemons", False),
                       ("node_stop_master",), prelude=prelude)
  assert results == [[True, None]] * 3
  lines = open(log).read().splitlines()
  assert lines[0] == "start ganeti-masterd --no-voting --yes-do-it"
  assert "start ganeti-masterd" in lines
  assert lines[-2:] == ["stop ganeti-rapi", "stop ganeti-masterd"]
  with open(fake, "w") as handle:
    handle.write("#!/bin/sh\necho cannot start >&2\nexit 1\n")
  success, message = node.call("node_start_master_daemons", False, prelude=prelude)
  assert success is False and "Can't start Ganeti master" in message
  assert "cannot start" in message


def test_master_node_name_needs_ssconf(node):
  success, message = node.call("master_node_name")
  assert success is False and "ssconf" in message.lower()
