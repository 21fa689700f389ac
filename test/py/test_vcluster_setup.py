"""Tests for tools/vcluster-setup (never touching the host's /etc/hosts)."""

import os
import subprocess
import sys

import pytest

from conftest import BUILD, TOP

TOOL = os.path.join(TOP, "tools", "vcluster-setup")
TAG = "# ganeti-vcluster"


def _Setup(*args, env=None):
  return subprocess.run([sys.executable, TOOL] + list(args), capture_output=True, text=True,
                        timeout=30, env=env)


@pytest.fixture
def fake_sbin(tmp_path):
  """A sbin whose daemon-util only records how (as which node) it was run."""
  sbin = tmp_path / "sbin"
  sbin.mkdir()
  record = tmp_path / "calls"
  script = sbin / "daemon-util"
  script.write_text('#!/bin/sh\necho "$GANETI_HOSTNAME $GANETI_ROOTDIR $*" >> %s\n' % record)
  script.chmod(0o755)
  return sbin, record


@pytest.fixture
def cluster(tmp_path, fake_sbin):
  sbin, record = fake_sbin
  directory = tmp_path / "vc"
  with open("/etc/hosts", "rb") as handle:
    hosts_before = handle.read()
  result = _Setup("-E", "-c", "3", "--sbin", str(sbin), str(directory))
  assert result.returncode == 0, result.stderr
  with open("/etc/hosts", "rb") as handle:
    assert handle.read() == hosts_before
  return directory, sbin, record


def _Cmd(directory, node, *args, **kwargs):
  return subprocess.run([str(directory / node / "cmd")] + list(args), capture_output=True,
                        text=True, timeout=30, **kwargs)


def test_creates_node_roots_and_scripts(cluster):
  directory, _, _ = cluster
  assert sorted(os.listdir(directory)) == ["node1", "node2", "node3", "restart-all",
                                           "shared", "start-all", "stop-all"]
  for entry in ("node1/cmd", "start-all", "stop-all", "restart-all"):
    assert os.access(directory / entry, os.X_OK), entry


def test_cmd_wrapper_environment(cluster):
  directory, sbin, _ = cluster
  result = _Cmd(directory, "node2", "env")
  env = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
  assert env["GANETI_ROOTDIR"] == str(directory / "node2")
  assert env["GANETI_HOSTNAME"] == "node2"
  assert env["PATH"].split(":")[0] == str(sbin)
  assert env["PATH"].endswith(os.environ["PATH"])
  # the node's processes find the package and map their paths below the root
  paths = _Cmd(directory, "node2", sys.executable, "-c",
               "from ganeti import pathutils, vcluster;"
               "print(vcluster.HOSTNAME, pathutils.RUN_DIR, pathutils.ETC_HOSTS)")
  assert paths.stdout.split() == ["node2", str(directory / "node2/var/run/ganeti"),
                                  str(directory / "node2/etc/hosts")]
  # arguments are passed untouched, exit codes come back
  assert _Cmd(directory, "node1", "sh", "-c", 'exit "$1"', "x", "42 ").returncode == 42
  shell = _Cmd(directory, "node3", input='echo "$GANETI_HOSTNAME"\n',
               env=dict(os.environ, SHELL="/bin/sh"))
  assert shell.stdout == "node3\n"


def test_node_layout_directories(cluster):
  directory, _, _ = cluster
  checker = ("from ganeti import daemon, pathutils\n"
             "for path, mode in daemon.DAEMON_DIRS:\n"
             "  import os; assert os.stat(path).st_mode & 0o7777 == mode, path\n"
             "print(os.path.isdir(pathutils.DEFAULT_FILE_STORAGE_DIR))\n")
  for node in ("node1", "node2", "node3"):
    result = _Cmd(directory, node, sys.executable, "-c", checker)
    assert (result.returncode, result.stdout) == (0, "True\n"), result.stderr


def test_nodes_share_the_shared_file_storage(cluster):
  directory, _, _ = cluster
  writer = ("import os; from ganeti import pathutils\n"
            "path = os.path.join(pathutils.DEFAULT_SHARED_FILE_STORAGE_DIR, 'probe')\n"
            "open(path, 'w').write(os.environ['GANETI_HOSTNAME'])\n")
  reader = ("import os; from ganeti import pathutils\n"
            "print(open(os.path.join(pathutils.DEFAULT_SHARED_FILE_STORAGE_DIR, 'probe')).read())\n")
  assert _Cmd(directory, "node2", sys.executable, "-c", writer).returncode == 0
  for node in ("node1", "node3"):
    result = _Cmd(directory, node, sys.executable, "-c", reader)
    assert (result.returncode, result.stdout) == (0, "node2\n"), result.stderr
  # the plain file storage stays each node's own
  assert not os.path.samefile(directory / "node1/srv/ganeti/file-storage",
                              directory / "node2/srv/ganeti/file-storage")


def test_node_hosts_and_environment_files(cluster):
  directory, _, _ = cluster
  hosts = (directory / "node2/etc/hosts").read_text().splitlines()
  assert hosts == ["127.0.0.1 localhost",
                   "127.0.2.1 cluster " + TAG,
                   "127.0.2.11 node1 " + TAG,
                   "127.0.2.12 node2 " + TAG,
                   "127.0.2.13 node3 " + TAG]
  env_file = (directory / "node3/etc/default/ganeti").read_text()
  assert 'NODED_ARGS="-b 127.0.2.13"' in env_file.splitlines()
  assert 'RAPI_ARGS="-b 127.0.2.13"' in env_file.splitlines()
  # daemon-util of that node reads these options
  args = _Cmd(directory, "node3", sys.executable, "-c",
              "from ganeti.tools import daemon_util;"
              "print(daemon_util.DaemonArgs('ganeti-noded'), daemon_util.DaemonArgs('ganeti-masterd'))")
  assert args.stdout.strip() == "['-b', '127.0.2.13'] []"


def test_cluster_scripts_run_daemon_util_on_every_node(cluster):
  directory, _, record = cluster
  for script in ("start-all", "stop-all", "restart-all"):
    result = subprocess.run([str(directory / script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
  def OnEveryNode(action):
    return ["node%d %s %s" % (i, directory / ("node%d" % i), action) for i in (1, 2, 3)]
  assert record.read_text().splitlines() == (
    OnEveryNode("start-all") + OnEveryNode("stop-all") +  # start-all, stop-all
    OnEveryNode("stop-all") + OnEveryNode("start-all"))   # restart-all


def test_cluster_script_reports_failure(cluster):
  directory, sbin, _ = cluster
  (sbin / "daemon-util").write_text('#!/bin/sh\n[ "$GANETI_HOSTNAME" != node2 ]\n')
  assert subprocess.run([str(directory / "start-all")]).returncode == 1


def test_hosts_file_update_is_idempotent(tmp_path, fake_sbin):
  sbin, _ = fake_sbin
  hosts = tmp_path / "hosts"
  unrelated = ["127.0.0.1 localhost", "# a comment", "10.0.0.5 node1.example.com other"]
  hosts.write_text("\n".join(unrelated + ["127.0.9.9 node7 " + TAG]) + "\n")
  hosts.chmod(0o640)
  args = ["-c", "2", "--sbin", str(sbin), "--hosts-file", str(hosts), str(tmp_path / "vc")]
  assert _Setup(*args).returncode == 0
  first = hosts.read_text()
  assert first.splitlines() == unrelated + ["127.0.2.1 cluster " + TAG,
                                            "127.0.2.11 node1 " + TAG,
                                            "127.0.2.12 node2 " + TAG]
  assert _Setup(*args).returncode == 0
  assert hosts.read_text() == first
  assert hosts.stat().st_mode & 0o777 == 0o640
  # fewer nodes and another prefix replace the old entries
  assert _Setup("-p", "127.0.5", *args[:1], "1", *args[2:]).returncode == 0
  assert hosts.read_text().splitlines() == unrelated + ["127.0.5.1 cluster " + TAG,
                                                        "127.0.5.11 node1 " + TAG]


def test_rerun_keeps_node_data(cluster):
  directory, sbin, _ = cluster
  data = directory / "node1/var/lib/ganeti/config.data"
  data.write_text("{}")
  assert _Setup("-E", "-c", "3", "--sbin", str(sbin), str(directory)).returncode == 0
  assert data.read_text() == "{}"


def test_non_loopback_prefix_without_network_setup(tmp_path, fake_sbin):
  sbin, _ = fake_sbin
  result = _Setup("-E", "-N", "-c", "1", "-p", "192.0.2", "--sbin", str(sbin),
                  str(tmp_path / "vc"))
  assert result.returncode == 0, result.stderr
  assert "192.0.2.11 node1 " + TAG in (tmp_path / "vc/node1/etc/hosts").read_text()


def test_runs_inside_a_virtual_node_environment(tmp_path, fake_sbin):
  sbin, _ = fake_sbin
  env = dict(os.environ, GANETI_ROOTDIR="/elsewhere", GANETI_HOSTNAME="nodeX")
  assert _Setup("-E", "-c", "1", "--sbin", str(sbin), str(tmp_path / "vc"), env=env).returncode == 0
  assert (tmp_path / "vc/node1/var/run/ganeti").is_dir()


@pytest.mark.parametrize("args", [["-c", "0"], ["-c", "245"], ["-p", "127.0"],
                                  ["-p", "127.0.256"], []])
def test_rejects_bad_arguments(tmp_path, args):
  target = [] if args == [] else [str(tmp_path / "vc")]
  result = _Setup("-E", *args, *target)
  assert result.returncode == 2 and "usage:" in result.stderr
  assert not (tmp_path / "vc").exists()


def test_default_sbin_is_the_build_tree(tmp_path):
  if not os.path.exists(os.path.join(BUILD, "sbin", "daemon-util")):
    pytest.skip("tree not built")
  assert _Setup("-E", "-c", "1", str(tmp_path / "vc")).returncode == 0
  path = _Cmd(tmp_path / "vc", "node1", "sh", "-c", 'echo "$PATH"').stdout
  assert path.split(":")[0] == os.path.join(BUILD, "sbin")
