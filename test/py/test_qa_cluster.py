"""The host side of tools/qa-cluster that runs without VMs: sources, modules, config, steps.

The VMs themselves are exercised by `tools/qa-cluster run --subset ci`.
"""

import json
import os
import socket
import subprocess
import sys
import threading

import pytest

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from qa import image  # noqa: E402
from qa import main  # noqa: E402
from qa import nodes  # noqa: E402
from qa import real_ganeti  # noqa: E402
from qa import steps  # noqa: E402
from qa import steps_bad_input  # noqa: E402
from qa import util  # noqa: E402


def _Write(path, text):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w") as handle:
    handle.write(text)


def test_mirror_from_deb822_skips_security_and_other_repos(tmp_path):
  _Write(str(tmp_path / "d/a.sources"),
         "Types: deb\nURIs: https://example.org/other\nSuites: nodistro\nComponents: main\n")
  _Write(str(tmp_path / "d/debian.sources"),
         "Types: deb\nURIs: http://security.example/debian-security\n"
         "Suites: bookworm-security\nComponents: main\n\n"
         "Types: deb deb-src\n# comment\nURIs: http://mirror.example/debian\n"
         "Suites: bookworm bookworm-updates\nComponents: main contrib\n")
  assert image.DebianMirror((str(tmp_path / "none.list"), str(tmp_path / "d"))) == \
    "http://mirror.example/debian"


def test_mirror_from_one_line_sources(tmp_path):
  _Write(str(tmp_path / "sources.list"),
         "# deb http://commented.example/debian bookworm main\n"
         "deb [arch=amd64 signed-by=/k.gpg] http://one.example/debian bookworm main\n")
  assert image.DebianMirror((str(tmp_path / "sources.list"),)) == "http://one.example/debian"


def test_mirror_missing_is_an_error(tmp_path):
  _Write(str(tmp_path / "sources.list"), "deb http://x.example/debian trixie main\n")
  with pytest.raises(util.QAError, match="No apt source for Debian bookworm"):
    image.DebianMirror((str(tmp_path / "sources.list"),))


def test_module_order_loads_dependencies_first(tmp_path):
  _Write(str(tmp_path / "modules.dep"),
         "kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko\n"
         "kernel/fs/jbd2/jbd2.ko:\nkernel/fs/mbcache.ko:\nkernel/lib/crc16.ko:\n"
         "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko"
         " kernel/drivers/virtio/virtio_ring.ko\n"
         "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
         "kernel/drivers/virtio/virtio_ring.ko:\n")
  order = image._ModuleOrder(str(tmp_path), ("virtio_blk", "not_a_module", "ext4"))
  names = [os.path.basename(path) for path in order]
  assert names.index("virtio_ring.ko") < names.index("virtio.ko") < names.index("virtio_blk.ko")
  assert set(names[names.index("virtio_blk.ko") + 1:-1]) == {"crc16.ko", "mbcache.ko",
                                                             "jbd2.ko"}
  assert names[-1] == "ext4.ko" and len(names) == len(set(names)) == 7


def test_shipped_config_is_valid_and_ci_is_a_subset():
  config = main.LoadConfig(main.DEFAULT_CONFIG)
  assert set(config["subsets"]["ci"]) <= set(config["subsets"]["full"])
  assert not set(config["subsets"]["ci"]) & set(config.get("pending", {}))
  cluster = nodes.Cluster(config, "/nonexistent/run")
  assert len(cluster.nodes) == 3 and str(cluster.network) == "192.168.77.0/24"


def test_config_naming_unknown_steps_is_refused(tmp_path):
  with open(main.DEFAULT_CONFIG) as handle:
    config = json.load(handle)
  config["subsets"]["ci"].append("no-such-step")
  _Write(str(tmp_path / "c.json"), json.dumps(config))
  with pytest.raises(util.QAError, match="unknown steps: no-such-step"):
    main.LoadConfig(str(tmp_path / "c.json"))


def test_nodes_on_two_networks_are_refused():
  config = {"nodes": [{"name": "a.t", "address": "10.0.0.1/24"},
                      {"name": "b.t", "address": "10.0.1.1/24"}]}
  with pytest.raises(util.QAError, match="share one network"):
    nodes.Cluster(config, "/nonexistent/run")


def test_hosts_and_step_values_come_from_the_config():
  config = main.LoadConfig(main.DEFAULT_CONFIG)
  cluster = nodes.Cluster(config, "/nonexistent/run")
  assert cluster.HostsParam() == ("node1.qa.test=192.168.77.11,node2.qa.test=192.168.77.12,"
                                  "node3.qa.test=192.168.77.13,cluster.qa.test=192.168.77.100")
  ctx = steps.Context(cluster, config)
  assert [node.short_name for node in ctx.Targets("others")] == ["node2", "node3"]
  assert [node.short_name for node in ctx.Targets(2)] == ["node2"]
  expanded = steps._Expanded(steps.Command("x", expect=(r"^{node2}$",)), ctx.values)
  assert expanded.expect == (r"^node2\.qa\.test$",)


def test_cluster_init_gives_the_configured_hypervisor_parameters():
  config = main.LoadConfig(main.DEFAULT_CONFIG)
  ctx = steps.Context(nodes.Cluster(config, "/nonexistent/run"), config)
  init = dict(steps.STEPS)["cluster-init"][0]
  line = init.command.format(**ctx.values)
  assert " -H 'kvm:initrd_path=/boot/initrd-3-kvmU,kernel_args=ro quiet' " in line
  assert line.startswith("gnt-cluster init --enabled-hypervisors=kvm -H ")


def test_debian_ganeti_gets_our_cluster_s_parameters_by_its_own_commands(monkeypatch):
  """The same init (leaving SSH alone), ipolicy and node adds, with /usr/sbin first
  in PATH: /usr/local/sbin has this project's commands."""
  config = main.LoadConfig(main.DEFAULT_CONFIG)
  ctx = steps.Context(nodes.Cluster(config, "/nonexistent/run"), config)
  ran = []
  monkeypatch.setattr(ctx, "Run", lambda command, extra=None: ran.append(
    command.command.format(**dict(ctx.values, **(extra or {})))))
  real_ganeti.InitCluster(ctx, "plain,drbd")
  assert all(line.startswith("PATH=/usr/sbin:/usr/bin:/sbin:/bin gnt-") for line in ran)
  ours = dict(steps.STEPS)["cluster-init"][0].command.format(**ctx.values)
  assert ran[0].split(" ", 1)[1] == ours.replace(
    " --enabled-hypervisors", " --no-ssh-init --enabled-hypervisors").replace(
    "=plain,drbd,file,diskless", "=plain,drbd")
  assert ran[1].endswith(steps.TEST_DISKS_IPOLICY)
  assert [line.split()[-1] for line in ran[2:4]] == ["node2.qa.test", "node3.qa.test"]
  assert "gnt-node list" in ran[4]


def test_debian_ganeti_packages_are_what_apt_would_install(monkeypatch):
  cluster = nodes.Cluster(main.LoadConfig(main.DEFAULT_CONFIG), "/nonexistent/run")
  monkeypatch.setattr(cluster, "Ssh", lambda node, command, **_: subprocess.CompletedProcess(
    command, 0, b"Package: python3\nStatus: install ok installed\n", b""))
  asked = []

  def FakeApt(argv, **_):
    asked.append(argv)
    return subprocess.CompletedProcess(argv, 0, (
      b"NOTE: This is only a simulation!\n"
      b"Inst libssl3 [3.0.16-1~deb12u1] (3.0.22-1~deb12u2 Debian:12.11/stable [amd64])\n"
      b"Inst ganeti-3.0 (3.0.2-3 Debian:12.11/stable [all])\n"
      b"Conf libssl3 (3.0.22-1~deb12u2 Debian:12.11/stable [amd64])\n"), b"")
  monkeypatch.setattr(util, "Run", FakeApt)
  assert real_ganeti._MissingPackages(cluster) == ["libssl3", "ganeti-3.0"]
  assert asked[0][:3] == ["apt-get", "-s", "--no-install-recommends"]
  assert asked[0][-2:] == ["install", "ganeti"]


@pytest.mark.skipif(not os.path.exists("/usr/bin/cpio"), reason="needs cpio")
def test_guest_initramfs_holds_busybox_and_an_init_that_idles(tmp_path):
  root = tmp_path / "root"
  _Write(str(root / "bin/busybox"), "not really busybox")
  image._BuildGuestInitramfs(str(root))
  listing = subprocess.run("gzip -dc %s | cpio -it --quiet" % (root / "boot/initrd-3-kvmU"),
                           shell=True, capture_output=True, text=True, check=True).stdout.split()
  assert sorted(listing) == [".", "bin", "bin/busybox", "dev", "init", "proc"]
  extracted = tmp_path / "x"
  extracted.mkdir()
  subprocess.run("gzip -dc %s | cpio -id --quiet" % (root / "boot/initrd-3-kvmU"), shell=True,
                 cwd=str(extracted), check=True)
  assert os.access(str(extracted / "init"), os.X_OK)
  with open(str(extracted / "init")) as handle:
    init = handle.read()
  assert init.startswith("#!/bin/busybox sh\n") and "sleep 3600" in init


def test_commands_without_a_cluster_fail_clearly(tmp_path):
  config = main.LoadConfig(main.DEFAULT_CONFIG)
  cluster = nodes.Cluster(config, str(tmp_path))
  with pytest.raises(util.QAError, match="No QA cluster is up"):
    cluster.SshArgv(cluster.nodes[0], "true")
  cluster.Down()  # nothing up: a no-op that leaves nothing behind
  assert os.listdir(str(tmp_path)) == []


def test_lvm_settings_are_set_once_however_often_the_setup_runs(tmp_path):
  _Write(str(tmp_path / "etc/lvm/lvm.conf"),
         "devices {\n\t# obtain_device_list_from_udev = 1\n\tobtain_device_list_from_udev = 1\n"
         "}\nactivation {\n\t# udev_sync = 1\n}\n")
  for _ in range(2):
    image._ConfigureLvm(str(tmp_path))
  with open(str(tmp_path / "etc/lvm/lvm.conf")) as handle:
    lines = [line.strip() for line in handle if "=" in line and not line.strip().startswith("#")]
  assert sorted(lines) == ["obtain_device_list_from_udev = 0", "udev_rules = 0",
                           "udev_sync = 0"]


def test_recorded_but_dead_vms_are_not_running(tmp_path):
  config = main.LoadConfig(main.DEFAULT_CONFIG)
  cluster = nodes.Cluster(config, str(tmp_path))
  assert not cluster.Running()
  # a state left behind (say, by a reboot): pids that are not this run's qemu
  cluster.state = {"netns": "qa-gone", "ssh_key": "/k",
                   "pids": {node.name: os.getpid() for node in cluster.nodes}}
  assert not cluster.Running()


class _AnsweringCluster(nodes.Cluster):
  """A cluster whose nodes answer every command with a given exit code and output."""

  def __init__(self, config, run_dir, code, output):
    super().__init__(config, run_dir)
    self.answer = (code, output)
    self.commands = []

  def Ssh(self, node, command, stdin=None, timeout=600, check=True):
    self.commands.append((node.short_name, command))
    code, output = self.answer
    return subprocess.CompletedProcess([], code, output.encode(), b"")


_REFUSAL = ("Failure: prerequisites not met for this operation:\n"
            "error type: insufficient_resources, error details:\n"
            "Not enough disk space on target node node1.qa.test vg xenvg:"
            " required 64 MiB, available 0 MiB\n")


def test_commands_that_must_fail_are_checked_like_the_others(tmp_path):
  config = main.LoadConfig(main.DEFAULT_CONFIG)
  case = next(case for case in steps_bad_input.CASES if case[0] == "a full volume group")
  refused = steps.Command(steps_bad_input._ADD, fails=True, expect=case[3])
  extra = {"instance": "bad1.qa.test", "template": "plain", "size": "64M",
           "nodes_arg": "node1.qa.test"}
  ctx = steps.Context(_AnsweringCluster(config, str(tmp_path), 1, _REFUSAL), config)
  ctx.Run(refused, extra)
  assert ctx.cluster.commands == [("node1", "gnt-instance add -t plain -s 64M -o minimal+default"
                                   " -B memory=128M --no-name-check --no-ip-check --no-start"
                                   " -n node1.qa.test bad1.qa.test")]
  # accepted instead of refused, or refused for another reason: both fail the step
  ctx.cluster.answer = (0, "")
  with pytest.raises(util.QAError, match="succeeded, but must fail"):
    ctx.Run(refused, extra)
  ctx.cluster.answer = (1, _REFUSAL.replace("node1.qa.test", "node2.qa.test"))
  with pytest.raises(util.QAError, match="output lacks"):
    ctx.Run(refused, extra)
  # a command that must succeed still fails on a non-zero exit
  with pytest.raises(util.QAError, match="exit code 1"):
    ctx.RunOn(2, "true")


def test_subsets_order_and_ci_coverage():
  config = main.LoadConfig(main.DEFAULT_CONFIG)
  order = steps.StepNames()
  for subset in ("ci", "full"):
    names = config["subsets"][subset]
    assert names == sorted(names, key=order.index), subset
    assert names[-1] == "final-verify", subset
  ci = set(config["subsets"]["ci"])
  assert {"instance-crash-failover", "instance-add", "instance-migrate",
          "instance-replace-disks"} <= ci
  drbd_tests = {test for instance in config["instances"] if instance["template"] == "drbd"
                for test in instance.get("tests", [])}
  assert {"instance-add", "instance-migrate", "instance-replace-disks"} <= drbd_tests


def _FakeMonitor(path, answers):
  """A unix socket speaking like qemu's human monitor: a greeting, then for
  each command line its echo (with terminal escapes) and answers[command]."""
  server = socket.socket(socket.AF_UNIX)
  server.bind(path)
  server.listen(1)

  def serve():
    conn, _ = server.accept()
    with conn:
      conn.sendall(b"QEMU 7.2.0 monitor - type 'help' for more information\r\n(qemu) ")
      command = conn.recv(1024).decode().strip()
      conn.sendall(command.encode() + b"\x1b[K\x1b[D\r\n" + answers[command].encode() +
                   b"(qemu) ")
    server.close()

  thread = threading.Thread(target=serve, daemon=True)
  thread.start()
  return thread


def test_the_translation_cache_flushes_of_a_node_are_read_from_its_monitor(tmp_path):
  cluster = nodes.Cluster(main.LoadConfig(main.DEFAULT_CONFIG), str(tmp_path))
  node = cluster.nodes[0]
  assert cluster.TranslationFlushes(node) is None  # (started without a monitor)
  served = _FakeMonitor(cluster.MonitorPath(node), {"info jit": (
    "Translation buffer state:\r\ngen code size       250327875/1073545216\r\n"
    "TB count            469390\r\nTB flush count      7\r\n")})
  assert cluster.TranslationFlushes(node) == 7
  served.join(5)
  os.unlink(cluster.MonitorPath(node))
  served = _FakeMonitor(cluster.MonitorPath(node), {"info status": "VM status: running\r\n"})
  assert cluster.Monitor(node, "info status") == "VM status: running\r\n"
  served.join(5)
