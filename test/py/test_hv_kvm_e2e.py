"""KVM instances for real on a 2-node virtual cluster (SSH-joined).

Each node has its own network namespace (named in its root's "netns" file)
holding its bridge gntbr0 and its instances' taps.  The guest is the tiny
test guest of tools/build-test-guest under TCG; its serial console shows a
marker and a counter (with a per-boot id), its eth0 is configured from the
kernel command line.  The tests run in file order against one instance.
"""

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import time
import uuid

import pytest

from vcluster_harness import TOP, VirtualCluster

GUEST_DIR = os.path.join(TOP, "build", "test-guest")
BRIDGE = "gntbr0"
BRIDGE_MAC = "02:00:0a:4d:00:01"  # the same gateway on both nodes
HOST_ADDRESS = "10.77.0.1/24"
GUEST_IP = "10.77.0.10"
INSTANCE = "kvm1"
COUNTER = re.compile(rb"GNT-TEST-GUEST counter (\d+) boot=(\w+)")
READY = re.compile(rb"GNT-TEST-GUEST READY boot=(\w+)")


def _Ip(*args):
  subprocess.run(["ip"] + list(args), check=True, capture_output=True)


def _MakeNamespace(name):
  _Ip("netns", "add", name)
  _Ip("-n", name, "link", "set", "lo", "up")
  _Ip("-n", name, "link", "add", BRIDGE, "address", BRIDGE_MAC, "type", "bridge")
  _Ip("-n", name, "addr", "add", HOST_ADDRESS, "dev", BRIDGE)
  _Ip("-n", name, "link", "set", BRIDGE, "up")


def _RunDir(vc, node):
  return vc.path("/var/run/ganeti/kvm-hypervisor", node)


def _Pid(vc, node):
  try:
    with open(os.path.join(_RunDir(vc, node), "pid", INSTANCE)) as handle:
      pid = int(handle.read())
  except (OSError, ValueError):
    return None
  return pid if os.path.exists("/proc/%d" % pid) else None


def _QemuPids(vc):
  """qemu processes of this test's cluster (their pid files are below it)."""
  proc = subprocess.run(["pgrep", "-f", "--", "-pidfile %s/" % vc.dir],
                        capture_output=True, text=True, check=False)
  return [int(pid) for pid in proc.stdout.split()]


def _ReadSerial(vc, node, pattern, timeout=60, instance=INSTANCE):
  """Connects to the instance's serial console on node, reads until pattern
  matches (returns the match), then disconnects."""
  path = os.path.join(_RunDir(vc, node), "ctrl", instance + ".serial")
  deadline = time.monotonic() + timeout
  data = b""
  # a just-migrated qemu may drop the first client of its console: connect again
  while time.monotonic() < deadline:
    if not os.path.exists(path):
      time.sleep(0.2)
      continue
    with socket.socket(socket.AF_UNIX) as sock:
      sock.connect(path)
      while time.monotonic() < deadline:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
          chunk = sock.recv(4096)
        except socket.timeout:
          break
        if not chunk:
          time.sleep(0.2)
          break
        data += chunk
        match = pattern.search(data)
        if match:
          return match
  raise AssertionError("no %r on the serial console of %s on node%d; got %r" %
                       (pattern.pattern, instance, node, data[-300:]))


def _LastCounter(vc, node):
  """(counter, boot id) of a complete counter line read from the console."""
  match = _ReadSerial(vc, node, re.compile(COUNTER.pattern + rb"\r?\n"))
  return int(match.group(1)), match.group(2)


def _SeesDevices(vc, node, devices, instance=INSTANCE):
  """Waits until the guest lists exactly these interfaces and disks."""
  line = rb"GNT-TEST-GUEST devices: %s\r?\n" % " ".join(devices).encode()
  _ReadSerial(vc, node, re.compile(line), instance=instance)


def _Ping(namespace, tries=20):
  for _ in range(tries):
    proc = subprocess.run(["ip", "netns", "exec", namespace, "ping", "-c", "1", "-W", "1",
                           GUEST_IP], capture_output=True, check=False)
    if proc.returncode == 0:
      return True
  return False


def _Taps(namespace):
  out = subprocess.run(["ip", "-n", namespace, "-o", "link", "show"], capture_output=True,
                       text=True, check=True).stdout
  return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()
          if line.split(":")[1].strip() not in ("lo", BRIDGE)]


@pytest.fixture(scope="module")
def env():
  subprocess.run([os.path.join(TOP, "tools", "build-test-guest")], check=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
  run = uuid.uuid4().hex[:6]
  namespaces = ["gkvm%sn1" % run, "gkvm%sn2" % run]
  vc = None
  try:
    for name in namespaces:
      _MakeNamespace(name)
    vc = VirtualCluster(nodes=2, ssh=True)
    for node, name in enumerate(namespaces, 1):
      with open(os.path.join(vc.root(node), "netns"), "w") as handle:
        handle.write(name + "\n")
    hvparams = ",".join([
      "kernel_path=%s/vmlinuz" % GUEST_DIR, "initrd_path=%s/initrd.gz" % GUEST_DIR,
      "root_path=", "kernel_args=quiet", "serial_speed=115200",
    ])
    vc.init("--enabled-hypervisors=kvm", "--default-iallocator=hail", "-H", "kvm:" + hvparams,
            "--enabled-disk-templates=diskless,file,sharedfile",
            "--nic-parameters", "mode=bridged,link=%s" % BRIDGE)
    vc.add_node(2)
    yield vc, namespaces
  finally:
    if vc:
      for pid in _QemuPids(vc):
        os.kill(pid, signal.SIGKILL)
      vc.destroy()
    for name in namespaces:
      subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


def _Ok(vc, name, **kw):
  result = vc.submit((name, kw))[0]
  assert result[0] == "ok", result
  return result[2]


def test_bad_hvparams_refused_before_start(env):
  vc, _ = env
  common = dict(instance_name="bad1", os_type="minimal+default", pnode="node1",
                disk_template="diskless", disks=[], nics=[{}], name_check=False,
                ip_check=False, mode="create", beparams={"memory": 128})
  for hvparams, message in [
      ({"boot_order": "cdrom", "kernel_path": ""}, "Cannot boot from cdrom without an ISO path"),
      ({"nic_type": "foo"}, "Parameter 'nic_type' fails syntax check"),
      ({"security_model": "user"}, "A security domain (user to run kvm as) must be specified"),
      ({"initrd_path": "/nonexistent/initrd"}, "Parameter 'initrd_path' fails validation"),
      ({"spice_use_tls": True}, "SPICE: spice_use_tls requires spice_bind to be set"),
      ]:
    result = vc.submit(("OpInstanceCreate", dict(common, hvparams=hvparams)))[0]
    assert result[0] == "error" and message in result[2], (hvparams, result)
  assert not _QemuPids(vc)
  assert vc.run("gnt-instance", "list", "--no-headers", "-o", "name").stdout.strip() == ""


def test_create_marker_ping(env):
  vc, namespaces = env
  _Ok(vc, "OpInstanceCreate", instance_name=INSTANCE, os_type="minimal+default",
      pnode="node1", disk_template="diskless", disks=[], nics=[{}], name_check=False,
      ip_check=False, mode="create", beparams={"memory": 128, "vcpus": 1},
      hvparams={"kernel_args": "quiet gnt_ip=%s/24" % GUEST_IP})
  _ReadSerial(vc, 1, READY)
  assert _Ping(namespaces[0])
  assert len(_Taps(namespaces[0])) == 1 and _Taps(namespaces[1]) == []
  out = vc.run("gnt-instance", "list", "--no-headers", "-o", "name,pnode,status",
               INSTANCE).stdout.split()
  assert out == [INSTANCE, "node1", "running"]


def test_console_command(env):
  vc, _ = env
  out = vc.run("gnt-instance", "console", "--show-cmd", INSTANCE).stdout
  serial = os.path.join(_RunDir(vc, 1), "ctrl", INSTANCE + ".serial")
  assert "socat" in out and "UNIX-CONNECT:%s" % serial in out and "node1" in out
  # what ssh runs on the node, given a terminal as ssh -t does
  remote = shlex.split(out)[-1]
  # --foreground: socat sets the terminal up, which a background process group
  # may not do (SIGTTOU)
  command = "timeout --foreground -k 2 3 %s" % remote
  proc = subprocess.run(["script", "-q", "-c", command, "/dev/null"], stdin=subprocess.DEVNULL,
                        capture_output=True, timeout=30, check=False)
  assert COUNTER.search(proc.stdout), proc.stdout[-300:] + proc.stderr[-300:]


def test_live_migration_keeps_guest_running(env):
  vc, namespaces = env
  before, boot = _LastCounter(vc, 1)
  feedback = _Ok(vc, "OpInstanceMigrate", instance_name=INSTANCE, target_node="node2")
  assert "* memory transfer complete" in feedback and feedback[-1] == "* done"
  after, boot_after = _LastCounter(vc, 2)
  assert boot_after == boot and after > before
  assert _Ping(namespaces[1])
  assert _Pid(vc, 1) is None and len(_QemuPids(vc)) == 1
  assert _Taps(namespaces[0]) == [] and len(_Taps(namespaces[1])) == 1
  out = vc.run("gnt-instance", "list", "--no-headers", "-o", "pnode,status",
               INSTANCE).stdout.split()
  assert out == ["node2", "running"]


REPEATED_MIGRATIONS = 20


def test_repeated_live_migrations_keep_guest_running(env):
  """Every one of many back-and-forth live migrations leaves the same guest
  counting on its new node (with multi-threaded TCG about one in ten left it
  stalled on stale memory)."""
  vc, namespaces = env
  counter, boot = _LastCounter(vc, 2)
  node = 2
  for move in range(1, REPEATED_MIGRATIONS + 1):
    target = 3 - node
    vc.run("gnt-instance", "migrate", "-f", "-n", "node%d" % target, INSTANCE)
    after, boot_after = _LastCounter(vc, target)
    assert boot_after == boot and after > counter, "migration %d" % move
    counter, node = after, target
  assert node == 2 and _Ping(namespaces[1])


def test_failed_migration_rolls_back(env):
  vc, _ = env
  # slow enough that the target can be killed half-way
  _Ok(vc, "OpClusterSetParams", hvparams={"kvm": {"migration_bandwidth": 1}})
  try:
    _, boot = _LastCounter(vc, 2)
    proc = vc.run("gnt-instance", "migrate", "-f", "--submit", "-n", "node1", INSTANCE)
    job = re.search(r"JobID: (\d+)", proc.stdout + proc.stderr).group(1)
    deadline = time.monotonic() + 60
    while _Pid(vc, 1) is None and time.monotonic() < deadline:
      time.sleep(0.05)
    target = _Pid(vc, 1)
    assert target is not None
    time.sleep(1.5)
    os.kill(target, signal.SIGKILL)
    watch = vc.run("gnt-job", "watch", job, check=False, timeout=120)
    info = vc.run("gnt-job", "info", job).stdout
    assert "error" in info.lower() and "Could not migrate instance %s" % INSTANCE in info, \
      watch.stdout + info
    counter, boot_after = _LastCounter(vc, 2)
    assert boot_after == boot
    out = vc.run("gnt-instance", "migrate", "-f", "--cleanup", INSTANCE).stdout
    assert "instance confirmed to be running on its primary node (node2)" in out
    assert _Pid(vc, 1) is None and len(_QemuPids(vc)) == 1
    assert vc.run("gnt-instance", "list", "--no-headers", "-o", "pnode,status",
                  INSTANCE).stdout.split() == ["node2", "running"]
  finally:
    _Ok(vc, "OpClusterSetParams", hvparams={"kvm": {"migration_bandwidth": 32}})


def test_node_migrate_non_live(env):
  vc, namespaces = env
  before, boot = _LastCounter(vc, 2)
  vc.run("gnt-node", "migrate", "-f", "--non-live", "node2")
  after, boot_after = _LastCounter(vc, 1)
  assert boot_after == boot and after > before
  assert _Ping(namespaces[0]) and _Pid(vc, 2) is None


def test_runtime_memory_balloon(env):
  vc, _ = env
  vc.run("gnt-instance", "modify", "--force", "-m", "96", INSTANCE)
  assert vc.run("gnt-instance", "list", "--no-headers", "-o", "oper_ram",
                INSTANCE).stdout.strip() == "96M"
  qmp_path = os.path.join(_RunDir(vc, 1), "ctrl", INSTANCE + ".qmp")
  with socket.socket(socket.AF_UNIX) as sock:
    sock.connect(qmp_path)
    handle = sock.makefile("rw")
    handle.readline()
    actual = None
    for command in ["qmp_capabilities"] + ["query-balloon"] * 300:
      handle.write('{"execute": "%s"}\n' % command)
      handle.flush()
      reply = json.loads(handle.readline())
      actual = reply.get("return", {}).get("actual")
      if actual == 96 << 20:
        break
      time.sleep(0.1)
  assert actual == 96 << 20


def test_nic_hotplug_survives_migration(env):
  vc, namespaces = env
  _SeesDevices(vc, 1, ["eth0", "lo"])
  proc = vc.run("gnt-instance", "modify", "--hotplug", "--net", "add:link=%s" % BRIDGE,
                INSTANCE)
  assert "Hotplug done." in proc.stdout and "hotplug:done" in proc.stdout, proc.stdout
  _SeesDevices(vc, 1, ["eth0", "eth1", "lo"])
  assert len(_Taps(namespaces[0])) == 2
  # the target builds the machine with the hot-added NIC where it was
  before, boot = _LastCounter(vc, 1)
  vc.run("gnt-instance", "migrate", "-f", "-n", "node2", INSTANCE)
  _SeesDevices(vc, 2, ["eth0", "eth1", "lo"])
  after, boot_after = _LastCounter(vc, 2)
  assert boot_after == boot and after > before
  assert len(_Taps(namespaces[1])) == 2 and _Taps(namespaces[0]) == []
  vc.run("gnt-instance", "modify", "--hotplug", "--net", "1:remove", INSTANCE)
  _SeesDevices(vc, 2, ["eth0", "lo"])
  assert len(_Taps(namespaces[1])) == 1
  assert vc.run("gnt-instance", "list", "--no-headers", "-o", "nic.count",
                INSTANCE).stdout.strip() == "1"
  vc.run("gnt-instance", "migrate", "-f", "-n", "node1", INSTANCE)
  assert _Ping(namespaces[0])


def test_disk_hotplug(env):
  vc, _ = env
  other = "kvm2"
  _Ok(vc, "OpInstanceCreate", instance_name=other, os_type="minimal+default",
      pnode="node1", disk_template="file", disks=[{"size": 1024}], nics=[{}],
      name_check=False, ip_check=False, mode="create", no_install=True,
      beparams={"memory": 128, "vcpus": 1})
  try:
    vc.run("gnt-instance", "startup", other)  # --no-install does not start it
    _SeesDevices(vc, 1, ["eth0", "lo", "vda"], instance=other)
    proc = vc.run("gnt-instance", "modify", "--hotplug-if-possible", "--disk", "add:size=1G",
                  other)
    assert "hotplug:done" in proc.stdout, proc.stdout + proc.stderr
    _SeesDevices(vc, 1, ["eth0", "lo", "vda", "vdb"], instance=other)
    vc.run("gnt-instance", "modify", "--hotplug", "--disk", "1:remove", other)
    _SeesDevices(vc, 1, ["eth0", "lo", "vda"], instance=other)
    vc.run("gnt-instance", "shutdown", "--timeout=30", other)
    # a stopped instance: --hotplug is refused, --hotplug-if-possible goes on
    proc = vc.run("gnt-instance", "modify", "--hotplug", "--disk", "add:size=1G", other,
                  check=False)
    assert proc.returncode != 0 and "Hotplug is not possible" in proc.stderr + proc.stdout
    proc = vc.run("gnt-instance", "modify", "--hotplug-if-possible", "--disk", "add:size=1G",
                  other)
    assert "Modification will take place without hotplugging." in proc.stdout + proc.stderr
    assert vc.run("gnt-instance", "list", "--no-headers", "-o", "disk.count",
                  other).stdout.strip() == "2"
  finally:
    vc.run("gnt-instance", "remove", "-f", other)


def _ProcessUids(pid):
  with open("/proc/%d/status" % pid) as handle:
    line = next(line for line in handle if line.startswith("Uid:"))
  return {int(uid) for uid in line.split()[1:]}


def test_security_model_pool(env):
  vc, _ = env
  other, pool = "kvm3", range(3900100, 3900103)
  vc.run("gnt-cluster", "modify", "--uid-pool", "%d-%d" % (pool[0], pool[-1]))
  _Ok(vc, "OpInstanceCreate", instance_name=other, os_type="minimal+default",
      pnode="node1", disk_template="diskless", disks=[], nics=[{}], name_check=False,
      ip_check=False, mode="create", beparams={"memory": 128, "vcpus": 1},
      hvparams={"security_model": "pool"})
  try:
    _ReadSerial(vc, 1, READY, instance=other)
    with open(os.path.join(_RunDir(vc, 1), "pid", other)) as handle:
      uids = _ProcessUids(int(handle.read()))
    assert len(uids) == 1 and uids <= set(pool), uids
    lock = vc.path("/var/run/ganeti/uid-pool/%d" % uids.pop(), 1)
    assert os.path.exists(lock)
  finally:
    vc.run("gnt-instance", "remove", "-f", other)
  assert not os.path.exists(lock)


def test_shutdown_start_elsewhere_reboot_remove(env):
  vc, namespaces = env
  vc.run("gnt-instance", "shutdown", "--timeout=30", INSTANCE)
  assert _QemuPids(vc) == [] and _Taps(namespaces[0]) == []
  _Ok(vc, "OpInstanceFailover", instance_name=INSTANCE, target_node="node2")
  vc.run("gnt-instance", "startup", INSTANCE)
  boot = _ReadSerial(vc, 2, READY).group(1)
  assert _Ping(namespaces[1])
  vc.run("gnt-instance", "reboot", INSTANCE)
  assert _ReadSerial(vc, 2, READY).group(1) != boot
  vc.run("gnt-instance", "remove", "-f", INSTANCE)
  assert _QemuPids(vc) == []
  for node, namespace in enumerate(namespaces, 1):
    assert _Taps(namespace) == []
    for sub in ("pid", "ctrl", "conf", "nic"):
      path = os.path.join(_RunDir(vc, node), sub)
      assert not os.path.isdir(path) or os.listdir(path) == [], path


def test_file_disk_instance(env):
  vc, namespaces = env
  _Ok(vc, "OpInstanceCreate", instance_name="kvmdisk", os_type="minimal+default",
      pnode="node2", disk_template="file", disks=[{"size": 1024}, {"size": 1024}], nics=[{}],
      name_check=False, ip_check=False, mode="create", no_install=True, start=False,
      beparams={"memory": 128, "vcpus": 1})
  vc.run("gnt-instance", "startup", "kvmdisk")
  path = os.path.join(_RunDir(vc, 2), "ctrl", "kvmdisk.serial")
  try:
    with socket.socket(socket.AF_UNIX) as sock:
      sock.connect(path)
      sock.settimeout(60)
      data = b""
      while b"READY" not in data:
        chunk = sock.recv(4096)
        assert chunk, data
        data += chunk
    assert re.search(rb"GNT-TEST-GUEST disks: vda vdb\r?\n", data), data
    links = os.listdir(vc.path("/var/run/ganeti/instance-disks", 2))
    assert sorted(links) == ["kvmdisk:0", "kvmdisk:1"]
  finally:
    vc.run("gnt-instance", "remove", "-f", "kvmdisk")
  assert _QemuPids(vc) == [] and _Taps(namespaces[1]) == []
  assert os.listdir(vc.path("/var/run/ganeti/instance-disks", 2)) == []


def test_sharedfile_instance_migrates_and_fails_over(env):
  """The nodes share the shared file storage (vcluster-setup), so the disk
  goes with the guest: live to node2, then failed over back to node1."""
  vc, namespaces = env
  name = "kvmshared"
  devices = ["eth0", "lo", "vda"]
  _Ok(vc, "OpInstanceCreate", instance_name=name, os_type="minimal+default", pnode="node1",
      disk_template="sharedfile", disks=[{"size": 1024}], nics=[{}], name_check=False,
      ip_check=False, mode="create", no_install=True, start=False,
      beparams={"memory": 128, "vcpus": 1})
  try:
    vc.run("gnt-instance", "startup", name)
    _SeesDevices(vc, 1, devices, instance=name)
    _Ok(vc, "OpInstanceMigrate", instance_name=name, target_node="node2")
    _SeesDevices(vc, 2, devices, instance=name)
    _Ok(vc, "OpInstanceFailover", instance_name=name, target_node="node1", shutdown_timeout=5)
    _SeesDevices(vc, 1, devices, instance=name)
    assert vc.run("gnt-instance", "list", "--no-headers", "-o", "pnode,status",
                  name).stdout.split() == ["node1", "running"]
  finally:
    vc.run("gnt-instance", "remove", "-f", "--shutdown-timeout=5", name)
  assert _QemuPids(vc) == [] and _Taps(namespaces[0]) == [] and _Taps(namespaces[1]) == []
