"""KVM hypervisor pieces without a guest: parameter checks (Ganeti's
messages), the qemu command line, NIC ifup steps, runtime files, QMP and
migration status.  test_hv_kvm_e2e.py runs real guests."""

import errno
import json
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time

import pytest

from ganeti import constants
from ganeti import errors
from ganeti import objects
from ganeti import paramdefs
from ganeti.hypervisor import GetHypervisorClass
from ganeti.hypervisor.hv_kvm import cmdline, hotplug, migration, netdev, params, qmp, runtime
from ganeti.utils import io

KVM = GetHypervisorClass(constants.HT_KVM)


def _Hvp(**changes):
  return dict(paramdefs.HVC_DEFAULTS[constants.HT_KVM], **changes)


@pytest.mark.parametrize("changes, message", [
  ({"boot_order": "cdrom"}, "Cannot boot from cdrom without an ISO path"),
  ({"security_model": "user"}, "A security domain (user to run kvm as) must be specified"),
  ({"security_domain": "nobody"},
   "Cannot have a security domain when the security model is 'none' or 'pool'"),
  ({"vnc_x509_verify": True}, "vnc_x509_path must be defined, if vnc_x509_verify is"),
  ({"spice_use_tls": True}, "SPICE: spice_use_tls requires spice_bind to be set"),
  ({"spice_ip_version": 4}, "SPICE: spice_ip_version requires spice_bind to be set"),
  ({"spice_bind": "127.0.0.1", "spice_ip_version": 6},
   "SPICE: Got an IPv4 address (127.0.0.1), but the specified IP version is 6"),
  ({"serial_speed": 12345}, "Invalid serial console speed, must be one of: 75, 110"),
  ({"cpu_mask": "a:b"}, "Parameter 'cpu_mask' fails syntax check: Multiple CPU mask"
   " definition is not well-formed (current value: 'a:b')"),
  ({"nic_type": "foo"}, "Parameter 'nic_type' fails syntax check: The value must be one of"),
  ({"kvm_path": "relative"}, "Parameter 'kvm_path' fails syntax check: must be an absolute"
   " normalized path (current value: 'relative')"),
  ({"virtio_net_queues": 10}, "Parameter 'virtio_net_queues' fails syntax check: invalid"
   " number of queues (current value: '10')"),
  ({"kvm_pci_reservations": 40}, "The number of PCI slots managed by QEMU (max: 32)"),
  ({"migration_port": 0}, "Parameter 'migration_port' fails syntax check: invalid port"),
  ({"migration_caps": "postcopy-ram:bogus"}, "Unknown migration capabilities: bogus"),
  ({"foo": 1}, "Parameter 'foo' is not supported"),
])
def test_syntax_refusals(changes, message):
  with pytest.raises(errors.HypervisorError) as info:
    KVM.CheckParameterSyntax(_Hvp(**changes))
  assert message in str(info.value)


def test_syntax_accepts_defaults_and_valid_combinations():
  KVM.CheckParameterSyntax(_Hvp())
  KVM.CheckParameterSyntax(_Hvp(boot_order="cdrom", cdrom_image_path="/x.iso",
                                spice_bind="127.0.0.1", spice_ip_version=4,
                                spice_image_compression="auto_glz", cpu_mask="0-1:2",
                                security_model="user", security_domain="nobody",
                                migration_caps="postcopy-ram"))
  hvp = _Hvp()
  del hvp["acpi"]
  with pytest.raises(errors.HypervisorError, match="Parameter 'acpi' is missing"):
    KVM.CheckParameterSyntax(hvp)


def test_node_checks(tmp_path):
  with pytest.raises(errors.HypervisorError, match="Parameter 'kernel_path' fails"
                     " validation check: not found or not a file"):
    params.CheckNode(_Hvp(kernel_path=str(tmp_path / "missing")))
  with pytest.raises(errors.HypervisorError, match="Unknown security domain user"):
    params.CheckNode(_Hvp(kernel_path="", security_model="user",
                          security_domain="no-such-user-here"))
  params.CheckNode(_Hvp(kernel_path="", kvm_path="/bin/sh"))
  with pytest.raises(errors.HypervisorError, match="doesn't match the number of CPU masks"):
    params.CheckCpuMaskAgainstVcpus("0:1:2", 2)
  assert params.ParseCpuMask("0-2,5") == [0, 1, 2, 5]
  assert params.ParseCpuMask("all") is None


def test_accelerator_choice():
  assert cmdline.ChooseAccelerator("disabled", kvm_usable=True) == "tcg"
  assert cmdline.ChooseAccelerator("", kvm_usable=False) == "tcg"
  assert cmdline.ChooseAccelerator("enabled", kvm_usable=False) == "tcg"
  assert cmdline.ChooseAccelerator("", kvm_usable=True) == "kvm"
  files = runtime.InstanceFiles.For("inst1", "/r")
  argv = cmdline.BuildCommand(_Runtime(), files, "kvm", [[7], [8]])
  assert _After(argv, "-accel") == ["kvm"] and _After(argv, "-m") == ["256"]


def _Runtime(**hv_changes):
  return {"name": "inst1", "uuid": "u-1", "memory": 256, "vcpus": 2, "network_port": 5905,
          "hvparams": _Hvp(**hv_changes),
          "nics": [{"mac": "aa:00:00:00:00:01"}, {"mac": "aa:00:00:00:00:02"}],
          "disks": [[{"mode": "rw"}, "/run/disks/inst1:0", None],
                    [{"mode": "ro"}, "/run/disks/inst1:1", "gluster://h/v/f"]]}


def _Argv(rt_data, fds=([7], [8]), incoming=None):
  files = runtime.InstanceFiles.For("inst1", "/r")
  return cmdline.BuildCommand(rt_data, files, "tcg", list(fds), incoming)


def _After(argv, option):
  return [argv[i + 1] for i, word in enumerate(argv[:-1]) if word == option]


def test_command_line_defaults():
  argv = _Argv(_Runtime(kernel_path="/k", initrd_path="/i", serial_speed=115200))
  assert argv[:5] == ["/usr/bin/kvm", "-name", "inst1", "-uuid", "u-1"]
  # an emulated guest's RAM is not a whole number of 256 KiB (see cmdline)
  assert _After(argv, "-m") == ["262152K"] and _After(argv, "-smp") == ["2"]
  assert "-machine" not in argv and _After(argv, "-accel") == ["tcg"]
  assert _After(argv, "-pidfile") == ["/r/pid/inst1"]
  assert "socket,id=qmp,path=/r/ctrl/inst1.qmp,server=on,wait=off" in argv
  assert "socket,id=serial0,path=/r/ctrl/inst1.serial,server=on,wait=off" in argv
  assert _After(argv, "-append") == ["root=/dev/vda1 ro console=ttyS0,115200"]
  assert _After(argv, "-kernel") == ["/k"] and _After(argv, "-initrd") == ["/i"]
  assert _After(argv, "-netdev") == ["tap,id=netnic-0,fd=7", "tap,id=netnic-1,fd=8"]
  assert "virtio-net-pci,netdev=netnic-1,id=nic-1,mac=aa:00:00:00:00:02" in argv
  drives = _After(argv, "-drive")
  assert drives[0] == "file=/run/disks/inst1:0,format=raw,if=none,id=disk-0,aio=threads"
  assert drives[1].startswith("file=gluster://h/v/f,") and drives[1].endswith("readonly=on")
  assert "virtio-blk-pci,drive=disk-0,id=disk-0-dev" in argv
  assert argv[-1] == "-S" and "-incoming" not in argv
  assert _After(argv, "-display") == ["none"] and "-vnc" not in argv


def test_command_line_options():
  argv = _Argv(_Runtime(kernel_path="", boot_order="disk", acpi=False, machine_version="pc",
                        cpu_type="qemu64", cpu_sockets=1, cpu_cores=2, disk_type="scsi-hd",
                        scsi_controller_type="virtio-scsi-pci", disk_cache="none",
                        disk_aio="native", disk_discard="unmap", nic_type="e1000",
                        vnc_bind_address="127.0.0.1", vnc_tls=True, vnc_x509_path="/x",
                        usb_mouse="tablet", keymap="de", mem_path="/hugepages",
                        use_localtime=True, user_shutdown=True, reboot_behavior="exit",
                        serial_console=False, kvm_extra="-global foo.bar=1",
                        virtio_net_queues=1),
               incoming="tcp:127.0.0.2:8102")
  assert _After(argv, "-machine") == ["pc,acpi=off"]
  assert _After(argv, "-accel") == ["tcg"]
  assert _After(argv, "-smp") == ["2,sockets=1,cores=2"]
  assert _After(argv, "-cpu") == ["qemu64"] and _After(argv, "-boot") == ["c"]
  assert "virtio-scsi-pci,id=scsi" in argv
  assert "scsi-hd,drive=disk-0,id=disk-0-dev,bus=scsi.0,bootindex=1" in argv
  assert _After(argv, "-drive")[0] == ("file=/run/disks/inst1:0,format=raw,if=none,"
                                       "id=disk-0,cache=none,aio=native,cache.direct=on,"
                                       "discard=unmap")
  assert "e1000,netdev=netnic-0,id=nic-0,mac=aa:00:00:00:00:01" in argv
  assert _After(argv, "-vnc") == ["127.0.0.1:5,tls-creds=vnctls0"]
  assert _After(argv, "-object") == ["tls-creds-x509,id=vnctls0,endpoint=server,dir=/x,"
                                     "verify-peer=off"]
  assert "usb-tablet" in argv and _After(argv, "-k") == ["de"]
  assert _After(argv, "-mem-path") == ["/hugepages"]
  assert "-no-shutdown" in argv and "-no-reboot" in argv
  assert "-serial" not in argv and "-display" not in argv
  assert _After(argv, "-incoming") == ["tcp:127.0.0.2:8102"] and "-S" not in argv
  assert argv[-2:] == ["-global", "foo.bar=1"]


def test_command_line_spice_and_boot_orders():
  argv = _Argv(_Runtime(kernel_path="", spice_bind="127.0.0.1", spice_ip_version=4,
                        spice_streaming_video="filter", boot_order="cdrom",
                        cdrom_image_path="/x.iso"))
  spice = _After(argv, "-spice")[0]
  assert spice.startswith("addr=127.0.0.1,ipv4=on,port=5905,disable-ticketing=on")
  assert "streaming-video=filter" in spice and "com.redhat.spice.0" in " ".join(argv)
  assert _After(argv, "-boot") == ["d"]
  assert "ide-cd,drive=cdrom-0,id=cdrom-0-dev,bootindex=1" in argv
  queues = _Argv(_Runtime(virtio_net_queues=2), fds=([7, 9], [8, 10]))
  assert _After(queues, "-netdev")[0] == "tap,id=netnic-0,fds=7:9"


def test_builtin_ifup_commands():
  env = {"INTERFACE": "tap3", "LINK": "br0", "MODE": "bridged", "INTERFACE_INDEX": "0"}
  assert netdev.BuiltinIfupCommands(env) == [
    ["ip", "link", "set", "dev", "tap3", "up"],
    ["ip", "link", "set", "dev", "tap3", "master", "br0"]]
  assert netdev.BuiltinIfupCommands(env, "ns1") == [
    ["ip", "link", "set", "dev", "tap3", "netns", "ns1"],
    ["ip", "-n", "ns1", "link", "set", "dev", "tap3", "up"],
    ["ip", "-n", "ns1", "link", "set", "dev", "tap3", "master", "br0"]]
  routed = dict(env, MODE="routed", LINK="100", IP="192.0.2.7")
  assert ["ip", "route", "replace", "192.0.2.7/32", "dev", "tap3", "table", "100"] in \
    netdev.BuiltinIfupCommands(routed)
  ovs = dict(env, MODE="openvswitch", LINK="ovsbr", VLAN=".42")
  assert netdev.BuiltinIfupCommands(ovs)[-1] == [
    "ovs-vsctl", "--may-exist", "add-port", "ovsbr", "tap3", "tag=42"]
  trunk = dict(ovs, VLAN=":10:20")
  assert netdev.BuiltinIfupCommands(trunk)[-1][-1] == "trunks=10,20"
  with pytest.raises(errors.HypervisorError, match="has no bridge"):
    netdev.BuiltinIfupCommands(dict(env, LINK=""))


def test_ifup_environment_and_custom_script(tmp_path, monkeypatch):
  inst = objects.Instance(name="inst1", tags=["b", "a"])
  nic = objects.NIC(mac="aa:00:00:00:00:01", ip="192.0.2.7", uuid="n-1", name="eth",
                    nicparams={"mode": "bridged", "link": "br0", "vlan": ""},
                    netinfo={"name": "net1", "network": "192.0.2.0/24"})
  env = netdev.IfupEnvironment(inst, 0, nic, "tap5")
  assert {key: env[key] for key in ("INSTANCE", "MAC", "MODE", "LINK", "INTERFACE", "IP",
                                    "INTERFACE_INDEX", "INTERFACE_UUID", "TAGS",
                                    "NETWORK_NAME", "NETWORK_NETWORK")} == {
    "INSTANCE": "inst1", "MAC": "aa:00:00:00:00:01", "MODE": "bridged", "LINK": "br0",
    "INTERFACE": "tap5", "IP": "192.0.2.7", "INTERFACE_INDEX": "0",
    "INTERFACE_UUID": "n-1", "TAGS": "a b", "NETWORK_NAME": "net1",
    "NETWORK_NETWORK": "192.0.2.0/24"}
  script = tmp_path / netdev.IFUP_CUSTOM
  script.write_text("#!/bin/sh\necho \"$INTERFACE $MODE $LINK\" > %s/out\n" % tmp_path)
  script.chmod(0o755)
  monkeypatch.setattr(netdev.pathutils, "CONF_DIR", str(tmp_path))
  netdev.Ifup(env)
  assert (tmp_path / "out").read_text() == "tap5 bridged br0\n"
  script.write_text("#!/bin/sh\necho broken >&2; exit 3\n")
  with pytest.raises(errors.HypervisorError, match="Failed to configure interface tap5"):
    netdev.Ifup(env)


def test_runtime_round_trip(monkeypatch):
  monkeypatch.setattr(runtime.vcluster, "ROOTDIR", "/vc/node1")
  data = {"name": "inst1", "disks": [[{"size": 1}, "/vc/node1/run/d:0", None]]}
  text = runtime.Serialize(data)
  assert "/vc/node1" not in text
  monkeypatch.setattr(runtime.vcluster, "ROOTDIR", "/vc/node2")
  again = runtime.Deserialize(text)
  assert again["disks"] == [[{"size": 1}, "/vc/node2/run/d:0", None]]
  with pytest.raises(errors.HypervisorError, match="Unsupported KVM runtime data"):
    runtime.Deserialize(json.dumps({"version": 99}))
  with pytest.raises(errors.HypervisorError, match="Invalid KVM runtime data"):
    runtime.Deserialize("{")
  assert runtime.SerialPathOnNode("inst1", "node7").startswith("/vc/node7/")


def test_instance_files_and_liveness(tmp_path):
  files = runtime.InstanceFiles.For("inst1", str(tmp_path))
  assert files.qmp == str(tmp_path / "ctrl" / "inst1.qmp")
  with pytest.raises(errors.HypervisorError):
    runtime.InstanceFiles.For("../x", str(tmp_path))
  os.makedirs(os.path.dirname(files.pid))
  with open(files.pid, "w") as handle:
    handle.write("%d\n" % os.getpid())
  # our own process is alive but is not the instance's qemu
  assert runtime.ReadPid(files) == os.getpid()
  assert runtime.LivePid("inst1", files) is None


def test_a_qemu_has_ended_once_gone_or_a_zombie():
  """HasEnded follows the pid of an instance's process to its real end: an
  exiting process (no command line) has not ended yet, a zombie has."""
  proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()",
                           "-name", "inst1,debug-threads=on"], stdin=subprocess.PIPE)
  try:
    deadline = time.monotonic() + 10
    while not runtime.IsOurProcess(proc.pid, "inst1") and time.monotonic() < deadline:
      time.sleep(0.01)
    assert not runtime.HasEnded(proc.pid, "inst1")
    # the pid now names another instance's process: that one ended
    assert runtime.HasEnded(proc.pid, "inst2")
    proc.stdin.close()
    stat = pathlib.Path("/proc/%d/stat" % proc.pid)
    while (stat.read_text().rpartition(")")[2].split()[0] != "Z" and
           time.monotonic() < deadline):
      time.sleep(0.01)
    assert runtime.HasEnded(proc.pid, "inst1")
  finally:
    proc.kill()
    proc.wait()
  assert runtime.HasEnded(proc.pid, "inst1")


def test_a_process_going_while_its_stat_is_read_has_ended(monkeypatch):
  """Reading /proc/PID/stat of a process on its way out can fail with ESRCH
  (seen on a QA node during a failover): the process has ended."""
  def Vanishing(path):
    raise ProcessLookupError(errno.ESRCH, "No such process: %s" % path)
  monkeypatch.setattr(io, "ReadFile", Vanishing)
  assert runtime.HasEnded(os.getpid(), "inst1")
  assert runtime.CpuSeconds(os.getpid()) == 0.0


def test_migration_status_and_parameters():
  status = migration.Status({"status": "active", "ram": {"transferred": 5, "total": 10}})
  assert (status.status, status.transferred_ram, status.total_ram) == \
    (constants.HV_MIGRATION_ACTIVE, 5, 10)
  assert migration.Status({"status": "completed"}).status == constants.HV_MIGRATION_COMPLETED
  assert migration.Status({"status": "failed"}).status == constants.HV_MIGRATION_FAILED
  assert migration.Status({"status": "cancelled"}).status == constants.HV_MIGRATION_CANCELLED
  assert migration.IncomingUri("::1", 8102) == "tcp:[::1]:8102"
  # each state change is told (events), whatever else was asked for
  assert migration.Capabilities({"migration_caps": "xbzrle:postcopy-ram"}) == [
    {"capability": "xbzrle", "state": True}, {"capability": "postcopy-ram", "state": True},
    {"capability": "events", "state": True}]
  assert migration.Capabilities({"migration_caps": "events"}) == [
    {"capability": "events", "state": True}]


def _FakeQmp(path, answers, received, before=""):
  """A QMP server answering each request with the next answer; an answer
  (text, seconds, later) also sends later on its own after that pause (an
  event qemu sends unasked).  before: lines sent ahead of the greeting."""
  server = socket.socket(socket.AF_UNIX)
  server.bind(path)
  server.listen(1)

  def Serve():
    conn, _ = server.accept()
    handle = conn.makefile("rw")
    handle.write(before)
    handle.write(json.dumps({"QMP": {"version": {}, "capabilities": []}}) + "\n")
    handle.flush()
    for answer in answers:
      line = handle.readline()
      if not line:  # the client is done
        break
      received.append(json.loads(line))
      text, pause, later = answer if isinstance(answer, tuple) else (answer, 0, None)
      handle.write(text + "\n")
      handle.flush()
      if later is not None:
        time.sleep(pause)
        handle.write(later + "\n")
        handle.flush()
    conn.close()
    server.close()
  thread = threading.Thread(target=Serve)
  thread.start()
  return thread


def test_qmp_client(tmp_path):
  path = str(tmp_path / "qmp")
  received = []
  thread = _FakeQmp(path, ['{"return": {}}',
                           '{"event": "STOP"}\n{"return": {"status": "paused"}}',
                           '{"error": {"class": "GenericError", "desc": "no way"}}'],
                    received)
  with qmp.QmpConnection(path) as conn:
    assert conn.Execute("query-status") == {"status": "paused"}
    assert [event["event"] for event in conn.events] == ["STOP"]
    with pytest.raises(qmp.QmpError, match="QMP command migrate failed: no way"):
      conn.Execute("migrate", {"uri": "tcp:x:1"})
  thread.join()
  assert [msg["execute"] for msg in received] == ["qmp_capabilities", "query-status",
                                                  "migrate"]
  assert received[2]["arguments"] == {"uri": "tcp:x:1"}
  with pytest.raises(errors.HypervisorError, match="Cannot talk to qemu's QMP socket"):
    qmp.Execute(str(tmp_path / "none"), "query-status")


def test_qmp_events_left_for_a_previous_client_come_before_the_greeting(tmp_path):
  path = str(tmp_path / "qmp")
  received = []
  thread = _FakeQmp(path, ['{"return": {}}', '{"return": {"status": "running"}}'], received,
                    before='{"timestamp": {"seconds": 1}, "event": "RESUME"}\n')
  with qmp.QmpConnection(path) as conn:
    assert conn.Execute("query-status") == {"status": "running"}
    assert not conn.events
  thread.join()
  assert [msg["execute"] for msg in received] == ["qmp_capabilities", "query-status"]


def test_console_descriptions():
  inst = objects.Instance(name="inst1", network_port=5907)
  node = objects.Node(name="node1", ndparams={"ssh_port": 2222})
  console = KVM.GetInstanceConsole(inst, node, None, _Hvp(), {})
  assert (console.kind, console.host, console.port, console.user) == \
    (constants.CONS_SSH, "node1", 2222, "root")
  assert console.command[:2] == ["/usr/bin/socat", "STDIO,raw,echo=0,escape=0x1d"]
  assert console.command[2].endswith("/kvm-hypervisor/ctrl/inst1.serial")
  vnc = KVM.GetInstanceConsole(inst, node, None, _Hvp(serial_console=False,
                                                      vnc_bind_address="127.0.0.1"), {})
  assert (vnc.kind, vnc.host, vnc.port, vnc.display) == (constants.CONS_VNC, "127.0.0.1",
                                                         5907, 7)
  none = KVM.GetInstanceConsole(inst, node, None, _Hvp(serial_console=False), {})
  assert none.message == "No serial shell for instance inst1"


def test_tap_names_are_unique_per_nic_only_in_a_node_namespace(monkeypatch):
  uuid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
  monkeypatch.setattr(netdev.vcluster, "NetworkNamespace", lambda: None)
  assert netdev.TapName(uuid, 0) == ""
  monkeypatch.setattr(netdev.vcluster, "NetworkNamespace", lambda: "ns1")
  names = {netdev.TapName(uuid, index) for index in range(10)}
  assert len(names) == 10 and all(len(name) <= 15 for name in names)
  assert netdev.TapName(uuid, 0) != netdev.TapName(uuid.replace("0f", "1f", 1), 0)


def test_builtin_ifup_batches_ip_commands(tmp_path, monkeypatch):
  fake_ip = tmp_path / "ip"
  fake_ip.write_text("#!/bin/sh\necho \"ip $*\" >> %s/calls\n"
                     "[ \"$*\" = \"${*%%-batch -}\" ] ||\n"
                     "  while read -r line; do echo \"  $line\"; done >> %s/calls\n"
                     % (tmp_path, tmp_path))
  fake_ip.chmod(0o755)
  monkeypatch.setattr(netdev.pathutils, "CONF_DIR", str(tmp_path / "no-conf"))
  monkeypatch.setattr(netdev.vcluster, "NetworkNamespace", lambda: "ns1")
  netdev.Ifup({"PATH": str(tmp_path), "INTERFACE": "tap3", "LINK": "br0",
               "MODE": "bridged", "INTERFACE_INDEX": "0"})
  assert (tmp_path / "calls").read_text() == (
    "ip link set dev tap3 netns ns1\n"
    "ip -n ns1 -batch -\n"
    "  link set dev tap3 up\n"
    "  link set dev tap3 master br0\n")


def test_device_ids_and_pci_slots():
  rt_data = _Runtime()
  cmdline.AssignDevices(rt_data)
  assert [nic["hvinfo"] for nic in rt_data["nics"]] == [{"id": "nic-0", "addr": 12},
                                                        {"id": "nic-1", "addr": 13}]
  assert [disk["hvinfo"] for disk, _, _ in rt_data["disks"]] == [
    {"id": "disk-0", "addr": 14}, {"id": "disk-1", "addr": 15}]
  argv = _Argv(rt_data)
  assert "virtio-net-pci,netdev=netnic-1,id=nic-1,mac=aa:00:00:00:00:02,bus=pci.0,addr=0xd" \
    in argv
  assert "virtio-blk-pci,drive=disk-0,id=disk-0-dev,bus=pci.0,addr=0xe" in argv
  # a removed device frees its id and slot; the others keep theirs
  del rt_data["nics"][0]
  assert cmdline.NewDeviceInfo(rt_data, cmdline.KIND_NIC) == {"id": "nic-0", "addr": 12}
  assert "virtio-net-pci,netdev=netnic-1,id=nic-1,mac=aa:00:00:00:00:02,bus=pci.0,addr=0xd" \
    in _Argv(rt_data, fds=([8],))
  rt_data["hvparams"]["kvm_pci_reservations"] = 32
  with pytest.raises(errors.HypervisorError, match="No free PCI slot for a new nic"):
    cmdline.NewDeviceInfo(rt_data, cmdline.KIND_NIC)
  assert cmdline.HasDeviceSlots(rt_data)
  # a machine that ran before ids and slots were recorded stays as it was
  legacy = dict(_Runtime(), argv=["kvm"])
  cmdline.AssignDevices(legacy)
  assert not cmdline.HasDeviceSlots(legacy)
  assert "virtio-net-pci,netdev=netnic-1,id=nic-1,mac=aa:00:00:00:00:02" in _Argv(legacy)
  # ISA NICs and IDE disks are not on the PCI bus: ids only
  isa = _Runtime(nic_type="ne2k_isa", disk_type="ide")
  cmdline.AssignDevices(isa)
  assert isa["nics"][1]["hvinfo"] == {"id": "nic-1"}
  assert isa["disks"][0][0]["hvinfo"] == {"id": "disk-0"}


@pytest.mark.parametrize("changes, action, dev_type, message", [
  ({}, "hotmod", "disk", "Disk modification is not supported"),
  ({"nic_type": "ne2k_isa"}, "hotadd", "nic", "nic devices of type ne2k_isa"),
  ({"disk_type": "ide"}, "hotadd", "disk", "disk devices of type ide"),
  ({"use_chroot": True}, "hotadd", "disk", "chroot"),
  ({"security_model": "user", "security_domain": "nobody"}, "hotadd", "disk", "chroot"),
])
def test_hotplug_refusals(changes, action, dev_type, message):
  with pytest.raises(errors.HotplugError, match=message):
    hotplug.CheckSupport(_Hvp(**changes), action, dev_type)


def test_hotplug_allowed():
  for action in ("hotadd", "hotremove", "hotmod"):
    hotplug.CheckSupport(_Hvp(use_chroot=True), action, "nic")
  hotplug.CheckSupport(_Hvp(), "hotremove", "disk")


def test_hot_add_and_remove_nic_over_qmp(tmp_path):
  path = str(tmp_path / "qmp")
  received = []
  thread = _FakeQmp(path, ['{"return": {}}'] * 4 + [
    '{"return": {}}\n{"event": "DEVICE_DELETED", "data": {"path": "/x"}}\n'
    '{"event": "DEVICE_DELETED", "data": {"device": "nic-2", "path": "/y"}}',
    '{"return": {}}'], received)
  nic = {"mac": "aa:00:00:00:00:09", "hvinfo": {"id": "nic-2", "addr": 14}}
  with open(os.devnull) as handle, qmp.QmpConnection(path) as conn:
    hotplug.AddNic(conn, _Hvp(), nic, [handle.fileno()])
    hotplug.RemoveNic(conn, nic)
  thread.join()
  assert [msg["execute"] for msg in received] == [
    "qmp_capabilities", "getfd", "netdev_add", "device_add", "device_del", "netdev_del"]
  assert received[2]["arguments"] == {"type": "tap", "id": "netnic-2", "fd": "fdnic-2-0"}
  assert received[3]["arguments"] == {"driver": "virtio-net-pci", "netdev": "netnic-2",
                                      "id": "nic-2", "mac": "aa:00:00:00:00:09",
                                      "bus": "pci.0", "addr": "0xe"}
  assert received[5]["arguments"] == {"id": "netnic-2"}


_ACTIVE = '{"return": {"status": "active", "ram": {"transferred": 5, "total": 10}}}'
_NO_EVENTS = '{"return": [{"capability": "events", "state": false}]}'


def test_migration_status_waits_on_one_connection_for_the_end(tmp_path, monkeypatch):
  """An active migration's status is asked for again (every poll, on one QMP
  connection, when qemu sends no events) until it ends, so the master learns
  of its end at once."""
  monkeypatch.setattr(runtime, "RootDir", lambda: str(tmp_path))
  os.mkdir(tmp_path / "ctrl")
  received = []
  thread = _FakeQmp(str(tmp_path / "ctrl" / "inst1.qmp"),
                    ['{"return": {}}', _ACTIVE, _NO_EVENTS, _ACTIVE,
                     '{"return": {"status": "completed"}}'], received)
  inst = objects.Instance(name="inst1", hypervisor=constants.HT_KVM, hvparams={})
  status = KVM().GetMigrationStatus(inst)
  thread.join()
  assert status.status == constants.HV_MIGRATION_COMPLETED
  assert [msg["execute"] for msg in received] == [
    "qmp_capabilities", "query-migrate", "query-migrate-capabilities"] + ["query-migrate"] * 2


def test_migration_status_waits_for_qemu_to_tell_the_end(tmp_path, monkeypatch):
  """A migration started with the "events" capability tells each change of
  its state: the status call waits for that event instead of asking again
  and again, and answers once the migration ended."""
  monkeypatch.setattr(runtime, "RootDir", lambda: str(tmp_path))
  os.mkdir(tmp_path / "ctrl")
  received = []
  events_on = '{"return": [{"capability": "xbzrle", "state": false},' \
              ' {"capability": "events", "state": true}]}'
  ended = '{"event": "MIGRATION", "data": {"status": "completed"}, "timestamp": {}}'
  thread = _FakeQmp(str(tmp_path / "ctrl" / "inst1.qmp"),
                    ['{"return": {}}', _ACTIVE, (events_on, 0.2, ended),
                     '{"return": {"status": "completed"}}'], received)
  inst = objects.Instance(name="inst1", hypervisor=constants.HT_KVM, hvparams={})
  began = time.monotonic()
  status = KVM().GetMigrationStatus(inst)
  thread.join()
  assert status.status == constants.HV_MIGRATION_COMPLETED
  assert time.monotonic() - began >= 0.2
  # no question while the transfer went on (polls would have come every 50 ms)
  assert [msg["execute"] for msg in received] == [
    "qmp_capabilities", "query-migrate", "query-migrate-capabilities", "query-migrate"]


def test_waiting_for_an_event_keeps_the_connection_timeout(tmp_path):
  path = str(tmp_path / "qmp")
  thread = _FakeQmp(path, ['{"return": {}}', '{"return": {}}'], [])  # (the second: never asked)
  with qmp.QmpConnection(path, timeout=7.0) as conn:
    assert conn.WaitEvent("MIGRATION", 0.05) is None
    assert conn._sock.gettimeout() == 7.0  # pylint: disable=protected-access
  thread.join()


def test_migration_status_of_a_long_transfer_is_answered_in_a_moment(tmp_path, monkeypatch):
  monkeypatch.setattr(runtime, "RootDir", lambda: str(tmp_path))
  os.mkdir(tmp_path / "ctrl")
  received = []
  active = '{"return": {"status": "active", "ram": {"transferred": 5, "total": 10}}}'
  thread = _FakeQmp(str(tmp_path / "ctrl" / "inst1.qmp"),
                    ['{"return": {}}', active, _NO_EVENTS] + [active] * 50, received)
  inst = objects.Instance(name="inst1", hypervisor=constants.HT_KVM, hvparams={})
  status = KVM().GetMigrationStatus(inst)
  assert (status.status, status.transferred_ram, status.total_ram) == (
    constants.HV_MIGRATION_ACTIVE, 5, 10)
  # it answered before the server ran out of answers (bounded by the wait)
  assert 2 <= len(received) < 50
  thread.join()
