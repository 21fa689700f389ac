"""Tests for ganeti.storage.drbd_cmd, drbd_info and drbd: DRBD 8.4 command
lines from disk parameters, /proc/drbd and `drbdsetup show` parsing, and the
DRBD8 device's command sequences.

This host has no DRBD kernel module and no drbd-utils: the samples below
are written for these tests in DRBD 8.4's documented formats, and the
device tests run against a recording runner that plays the kernel's part
(it answers drbdsetup/drbdmeta and rewrites a /proc/drbd file).  Real DRBD
runs only inside the QA cluster's node VMs.
"""

import os
import socket
import sys

import pytest

import test_storage_lvm
from ganeti import errors
from ganeti import objects
from ganeti import paramdefs
from ganeti import storage
from ganeti.constants import (
  DDP_LOCAL_IP, DDP_LOCAL_MINOR, DDP_PORT, DDP_REMOTE_IP, DDP_REMOTE_MINOR, DT_DRBD8,
  LDS_FAULTY, LDS_OKAY, LDS_SYNC, LDS_UNKNOWN)
from ganeti.storage import base
from ganeti.storage import drbd
from ganeti.storage import drbd_cmd
from ganeti.storage import drbd_info
from ganeti.storage import runner

DEFAULTS = paramdefs.DISK_DT_DEFAULTS[DT_DRBD8]

# --- command lines -------------------------------------------------------------------

def test_attach_with_defaults_uses_fixed_rate_and_no_controller():
  assert drbd_cmd.AttachArgv(3, "/dev/xenvg/d_data", "/dev/xenvg/d_meta", 1024, DEFAULTS) == [
    "drbdsetup", "attach", "3", "/dev/xenvg/d_data", "/dev/xenvg/d_meta", "0",
    "--on-io-error=detach", "--size=1024m", "--resync-rate=61440k", "--c-plan-ahead=0"]


def test_attach_with_dynamic_resync_barriers_and_custom_options():
  params = dict(DEFAULTS, **{paramdefs.DRBD_DYNAMIC_RESYNC: True,
                             paramdefs.DRBD_DISK_BARRIERS: "bfd",
                             paramdefs.DRBD_META_BARRIERS: True,
                             paramdefs.DRBD_RESYNC_RATE: 1000,
                             paramdefs.DRBD_DISK_CUSTOM: "--al-extents 3389"})
  assert drbd_cmd.AttachArgv(0, "/dev/a", "/dev/b", None, params)[6:] == [
    "--on-io-error=detach", "--disk-barrier=no", "--disk-flushes=no", "--disk-drain=no",
    "--md-flushes=no", "--resync-rate=1000k", "--c-plan-ahead=20", "--c-fill-target=0",
    "--c-delay-target=1", "--c-max-rate=61440", "--c-min-rate=4096", "--al-extents", "3389"]


@pytest.mark.parametrize("letters, expected", [
  ("n", []), ("f", ["--disk-flushes=no"]), ("db", ["--disk-barrier=no", "--disk-drain=no"])])
def test_barrier_letters(letters, expected):
  assert drbd_cmd.BarrierOptions({paramdefs.DRBD_DISK_BARRIERS: letters}) == expected


@pytest.mark.parametrize("letters", ["x", "nb"])
def test_invalid_barriers_are_refused(letters):
  with pytest.raises(errors.BlockDeviceError, match="Invalid disk-barriers value '%s'" %
                     letters):
    drbd_cmd.BarrierOptions({paramdefs.DRBD_DISK_BARRIERS: letters})


def test_custom_options_may_not_override_generated_ones():
  params = dict(DEFAULTS, **{paramdefs.DRBD_DISK_CUSTOM: "--resync-rate=1M"})
  with pytest.raises(errors.BlockDeviceError, match="disk custom parameters set"
                                                    " --resync-rate"):
    drbd_cmd.AttachArgv(0, "/dev/a", "/dev/b", None, params)
  params = dict(DEFAULTS, **{paramdefs.DRBD_NET_CUSTOM: "--protocol=A"})
  with pytest.raises(errors.BlockDeviceError, match="net custom parameters set --protocol"):
    drbd_cmd.ConnectArgv(0, ("192.0.2.1", 11000), ("192.0.2.2", 11000), params, None, False)
  with pytest.raises(errors.BlockDeviceError, match="Can't parse the net custom"):
    drbd_cmd.ConnectArgv(0, ("192.0.2.1", 11000), ("192.0.2.2", 11000),
                         {paramdefs.DRBD_NET_CUSTOM: "--x 'unclosed"}, None, False)


def test_connect_with_secret_and_two_primaries():
  params = dict(DEFAULTS, **{paramdefs.DRBD_NET_CUSTOM: "--max-buffers=8000"})
  assert drbd_cmd.ConnectArgv(5, ("192.0.2.1", 11005), ("192.0.2.2", 11005), params,
                              "s3cret", True) == [
    "drbdsetup", "connect", "resource5", "ipv4:192.0.2.1:11005", "ipv4:192.0.2.2:11005",
    "--protocol=C", "--after-sb-0pri=discard-zero-changes", "--after-sb-1pri=consensus",
    "--allow-two-primaries", "--cram-hmac-alg=md5", "--shared-secret=s3cret",
    "--max-buffers=8000"]


def test_connect_without_secret_over_ipv6():
  argv = drbd_cmd.ConnectArgv(1, ("2001:db8::1", 11001), ("2001:db8::2", 11001), DEFAULTS,
                              "", False)
  assert argv[3:6] == ["ipv6:[2001:db8::1]:11001", "ipv6:[2001:db8::2]:11001", "--protocol=C"]
  assert not any(arg.startswith(("--shared-secret", "--cram", "--allow-two")) for arg in argv)
  with pytest.raises(errors.BlockDeviceError, match="Invalid DRBD protocol 'D'"):
    drbd_cmd.ConnectArgv(1, ("192.0.2.1", 1), ("192.0.2.2", 1), {"protocol": "D"}, "", False)
  with pytest.raises(errors.BlockDeviceError, match="Invalid DRBD endpoint address 'node1'"):
    drbd_cmd.Address("node1", 11000)


def test_other_command_lines():
  local, remote = ("192.0.2.1", 11000), ("192.0.2.2", 11000)
  assert drbd_cmd.CreateMetadataArgv(7, "/dev/xenvg/m") == [
    "drbdmeta", "--force", "/dev/drbd7", "v08", "/dev/xenvg/m", "0", "create-md"]
  assert drbd_cmd.NewMinorArgv(7) == ["drbdsetup", "new-minor", "resource7", "7", "0"]
  assert drbd_cmd.DisconnectArgv(local, remote) == [
    "drbdsetup", "disconnect", "ipv4:192.0.2.1:11000", "ipv4:192.0.2.2:11000"]
  assert drbd_cmd.DualPrimaryArgv(local, remote, False) == [
    "drbdsetup", "net-options", "ipv4:192.0.2.1:11000", "ipv4:192.0.2.2:11000",
    "--allow-two-primaries=no"]
  assert drbd_cmd.PrimaryArgv(2, True) == ["drbdsetup", "primary", "2", "--force"]
  assert drbd_cmd.DiskOptionsArgv(2, DEFAULTS, resync_rate=500) == [
    "drbdsetup", "disk-options", "2", "--resync-rate=500k", "--c-plan-ahead=0"]
  assert drbd_cmd.ResizeArgv(2, 2048) == ["drbdsetup", "resize", "2", "--size=2048m"]
  assert drbd_cmd.PauseSyncArgv(2, False) == ["drbdsetup", "resume-sync", "2"]


# --- /proc/drbd ------------------------------------------------------------------------

PROC_SAMPLE = """\
version: 8.4.11 (api:1/proto:86-101)
srcversion: 0123456789ABCDEF0123456
 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----
    ns:262144 nr:0 dw:0 dr:263012 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0
 1: cs:SyncSource ro:Primary/Secondary ds:UpToDate/Inconsistent C r-----
    ns:40960 nr:0 dw:0 dr:41800 al:0 bm:0 lo:0 pe:2 ua:0 ap:0 ep:1 wo:f oos:221184
\t[==>.................] sync'ed: 15.7% (216/256)M
\tfinish: 0:00:21 speed: 10,240 (9,876) want: 61,440 K/sec
 2: cs:SyncTarget ro:Secondary/Primary ds:Inconsistent/UpToDate C r-----
    ns:0 nr:1024 dw:1024 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:1047552
\t[>....................] sync'ed:  0.2% (1023/1024)M
\tfinish: 1:02:05 speed: 280 (280) K/sec
 3: cs:StandAlone ro:Secondary/Unknown ds:UpToDate/DUnknown   r-----
    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:131072
 4: cs:WFConnection ro:Primary/Unknown ds:Diskless/DUnknown C r-----
    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0
 5: cs:Unconfigured
 6: cs:Connected ro:Secondary/Secondary ds:Outdated/UpToDate C r-----
    ns:0 nr:0 dw:0 dr:0 al:0 bm:0 lo:0 pe:0 ua:0 ap:0 ep:1 wo:f oos:0
"""


def test_proc_drbd_states():
  status = drbd_info.ParseProcDrbd(PROC_SAMPLE)
  assert (status.version.major, status.version.minor, status.version.point,
          status.version.api, status.version.proto) == (8, 4, 11, 1, "86-101")
  assert status.UsedMinors() == [0, 1, 2, 3, 4, 6]
  connected = status.minors[0]
  assert connected.connected and connected.primary and connected.disk_uptodate
  assert connected.peer_disk == "UpToDate" and connected.sync_percent is None
  standalone, diskless = status.minors[3], status.minors[4]
  assert standalone.standalone and standalone.waiting_for_peer and not standalone.primary
  assert diskless.diskless and diskless.waiting_for_peer and diskless.primary
  assert not status.minors[5].configured and status.minors[5].role is None


def test_proc_drbd_resync_progress():
  minors = drbd_info.ParseProcDrbd(PROC_SAMPLE).minors
  source, target = minors[1], minors[2]
  assert source.resyncing and (source.sync_percent, source.est_seconds) == (15.7, 21)
  assert (source.speed_kib, source.want_speed_kib) == (10240, 61440)
  assert target.resyncing and target.role == "Secondary" and target.disk == "Inconsistent"
  assert (target.sync_percent, target.est_seconds, target.speed_kib) == (0.2, 3725, 280)
  assert target.want_speed_kib is None


def test_proc_drbd_without_minors_and_garbage():
  status = drbd_info.ParseProcDrbd("version: 8.4.11 (api:1/proto:86-101)\n"
                                   "srcversion: 0123456789ABCDEF0123456\n")
  assert status.minors == {} and status.UsedMinors() == []
  with pytest.raises(errors.BlockDeviceError, match="no DRBD version line"):
    drbd_info.ParseProcDrbd("Linux version 6.1\n")


def test_missing_proc_drbd_is_a_clear_error(tmp_path):
  with pytest.raises(errors.BlockDeviceError, match="is the drbd module loaded"):
    drbd_info.ReadProcDrbd(str(tmp_path / "nothing"))


# --- drbdsetup show ----------------------------------------------------------------------

SHOW_CONNECTED = """\
resource resource3 {
    options {
    }
    net {
        cram-hmac-alg       "md5";
        shared-secret       "a1b2c3";
        after-sb-0pri       discard-zero-changes;
        after-sb-1pri       consensus;
    }
    _remote_host {
        address         ipv4 192.0.2.2:11003;
    }
    _this_host {
        address         ipv4 192.0.2.1:11003;
        volume 0 {
            device          minor 3;
            disk            "/dev/xenvg/3f1c.disk0_data";
            meta-disk       "/dev/xenvg/3f1c.disk0_meta" [ 0 ];
            disk {
                size            0s; # bytes
                resync-rate     61440k; # bytes/second
                c-plan-ahead    0; # 1/10 seconds
            }
        }
    }
}
"""

SHOW_DISKLESS_STANDALONE = """\
resource resource9 {
    options {
    }
    net {
    }
    _this_host {
        volume 0 {
            device          minor 9;
        }
    }
}
"""


def test_show_connected_minor():
  info = drbd_info.ParseShow(SHOW_CONNECTED)
  assert info.local_dev == "/dev/xenvg/3f1c.disk0_data"
  assert (info.meta_dev, info.meta_index) == ("/dev/xenvg/3f1c.disk0_meta", "0")
  assert info.local_addr == ("192.0.2.1", 11003)
  assert info.remote_addr == ("192.0.2.2", 11003)
  assert info.options["shared-secret"] == "a1b2c3"
  assert info.options["resync-rate"] == "61440k"


def test_show_diskless_standalone_and_unconfigured():
  info = drbd_info.ParseShow(SHOW_DISKLESS_STANDALONE)
  assert (info.local_dev, info.meta_dev, info.local_addr, info.remote_addr) == (
    None, None, None, None)
  assert drbd_info.ParseShow("") == drbd_info.ShowInfo()
  ipv6 = drbd_info.ParseShow('resource r { _remote_host { address ipv6 [2001:db8::2]:7788; }'
                             ' _this_host { address ipv6 [2001:db8::1]:7788; } }')
  assert (ipv6.local_addr, ipv6.remote_addr) == (("2001:db8::1", 7788), ("2001:db8::2", 7788))


@pytest.mark.parametrize("text, message", [
  ("resource r { net { }", "not closed"),
  ("resource r { } }", "unexpected '}'"),
  ("resource r { disk /dev/x }", "unexpected '}'"),
  ("_this_host { address ipv4 192.0.2.1:port; }", "Invalid DRBD address"),
])
def test_show_malformed(text, message):
  with pytest.raises(errors.BlockDeviceError, match=message):
    drbd_info.ParseShow(text)


# --- the device, with a runner playing the kernel -------------------------------------------

def _TcpTableEndpoint(endpoint):
  """ "192.0.2.1:11003" as the kernel's TCP table writes it on this machine."""
  address, port = endpoint.split(":")
  raw = socket.inet_aton(address)
  if sys.byteorder == "little":
    raw = raw[::-1]
  return "%s:%04X" % (raw.hex().upper(), int(port))


class _FakeKernel(runner.ToolRunner):
  """Answers drbdsetup/drbdmeta like DRBD 8.4 would and keeps /proc/drbd current."""

  def __init__(self, proc_path, fail=(), others=None):
    super().__init__()
    self.proc_path = proc_path
    self.others = others  # the runner for every other tool (real lvm2)
    self.calls = []
    self.fail = set(fail)
    self.version = "8.4.11"
    self.minors = {}  # minor -> [cs, ro, ds]
    self.config = {}  # minor -> {"disk": ..., "meta": ..., "local": ..., "remote": ...}
    # a /proc/net of its own: the TCP table has the connections of the minors
    # in touch with their peers
    self.proc_net = proc_path + "-net"
    os.makedirs(self.proc_net, exist_ok=True)
    self.Publish()

  def Publish(self):
    lines = ["version: %s (api:1/proto:86-101)" % self.version]
    for minor, (cs, ro, ds) in sorted(self.minors.items()):
      if cs == "StandAlone" and ro.startswith("Secondary/") and ds.startswith("Diskless/"):
        # what DRBD 8.4 prints for a minor with neither disk nor network (seen on
        # the QA cluster's nodes)
        lines.append(" %d: cs:Unconfigured" % minor)
      else:
        lines.append(" %d: cs:%s ro:%s ds:%s C r-----" % (minor, cs, ro, ds))
    with open(self.proc_path, "w") as handle:
      handle.write("\n".join(lines) + "\n")
    table = ["  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"]
    for minor, (cs, _, _) in sorted(self.minors.items()):
      config = self.config.get(minor, {})
      if cs in ("Connected", "SyncSource", "SyncTarget") and "remote" in config:
        # one socket per direction: to the peer's port, from the peer to ours
        local, remote = config["local"], config["remote"]
        for ours, theirs in ((local.split(":")[0] + ":40001", remote),
                             (local, remote.split(":")[0] + ":40002")):
          table.append("%4d: %s %s 01 00000000:00000000 00:00000000 00000000     0" % (
            len(table) - 1, _TcpTableEndpoint(ours), _TcpTableEndpoint(theirs)))
    with open(os.path.join(self.proc_net, "tcp"), "w") as handle:
      handle.write("\n".join(table) + "\n")

  def Run(self, argv, env=None, cwd="/"):
    if self.others is not None and argv[0] not in ("drbdsetup", "drbdmeta", "blockdev"):
      return self.others.Run(argv)
    self.calls.append(list(argv))
    verb = argv[1] if argv[0] == "drbdsetup" else argv[-1]
    if verb in self.fail:
      return runner.ToolResult(argv, 10, "", "%s: simulated failure" % verb)
    if argv[:2] == ["drbdsetup", "show"]:
      return runner.ToolResult(argv, 0, self._Show(int(argv[2])), "")
    if argv[0] == "drbdsetup":
      self._Apply(verb, argv)
    elif argv[0] == "blockdev":
      return runner.ToolResult(argv, 0, "%d\n" % (256 * base.MIB), "")
    self.Publish()
    return runner.ToolResult(argv, 0, "", "")

  def _Show(self, minor):
    config = self.config.get(minor)
    if config is None:
      return ""
    net = ""
    if "remote" in config:
      net = ("    _remote_host {\n        address ipv4 %s;\n    }\n" % config["remote"])
    this = ("        address ipv4 %s;\n" % config["local"]) if "local" in config else ""
    disk = ""
    if "disk" in config:
      disk = ('            disk "%s";\n            meta-disk "%s" [ 0 ];\n' %
              (config["disk"], config["meta"]))
    return ("resource resource%d {\n    options {\n    }\n    net {\n    }\n%s"
            "    _this_host {\n%s        volume 0 {\n            device minor %d;\n%s"
            "        }\n    }\n}\n" % (minor, net, this, minor, disk))

  def _Apply(self, verb, argv):
    if verb == "new-minor":
      self.minors[int(argv[3])] = ["StandAlone", "Secondary/Unknown", "Diskless/DUnknown"]
      self.config[int(argv[3])] = {}
    elif verb == "down":
      minor = int(argv[2][len("resource"):])
      self.minors.pop(minor, None)
      self.config.pop(minor, None)
    elif verb == "attach":
      self.minors[int(argv[2])][2] = "UpToDate/DUnknown"
      self.config[int(argv[2])].update(disk=argv[3], meta=argv[4])
    elif verb == "connect":
      minor = int(argv[2][len("resource"):])
      self.minors[minor][0] = "WFConnection"
      self.config[minor].update(local=argv[3][len("ipv4:"):], remote=argv[4][len("ipv4:"):])
    elif verb in ("primary", "secondary"):
      state = self.minors[int(argv[2])]
      state[1] = "%s/%s" % (verb.capitalize(), state[1].split("/")[1])
    elif verb == "detach":
      self.minors[int(argv[2])][2] = "Diskless/DUnknown"


class _FakeLv(base.BlockDev):
  def __init__(self, path, size_mib):
    super().__init__(("xenvg", path), [], size_mib, {}, {})
    self.dev_path = "/dev/xenvg/" + path
    self.attached = True
    self.grown = []

  def GetActualSize(self):
    return self.size * base.MIB

  def Grow(self, amount, dryrun, backingstore, excl_stor):
    self.grown.append((amount, dryrun))


@pytest.fixture
def kernel(tmp_path, monkeypatch):
  fake = _FakeKernel(str(tmp_path / "drbd"))
  monkeypatch.setattr(drbd.DRBD8, "proc_path", fake.proc_path)
  monkeypatch.setattr(drbd.DRBD8, "proc_net", fake.proc_net)
  previous = runner.SetRunner(fake)
  yield fake
  runner.SetRunner(previous)


def _DrbdDisk(minor=3, secret="a1b2c3"):
  disk = objects.Disk(dev_type=DT_DRBD8, size=1024, iv_name="disk/0", params=dict(DEFAULTS),
                      logical_id=["node-a", "node-b", 11003, minor, 8, secret])
  disk.dynamic_params = {DDP_LOCAL_IP: "192.0.2.1", DDP_REMOTE_IP: "192.0.2.2",
                         DDP_LOCAL_MINOR: minor, DDP_REMOTE_MINOR: 8, DDP_PORT: 11003}
  return disk


def _Children(meta_size=128):
  return [_FakeLv("d_data", 1024), _FakeLv("d_meta", meta_size)]


def test_create_assemble_open_close_shutdown(kernel):
  disk = _DrbdDisk()
  device = storage.CreateDevice(disk, _Children(), False)
  assert kernel.calls == [drbd_cmd.CreateMetadataArgv(3, "/dev/xenvg/d_meta")]
  assert isinstance(device, drbd.DRBD8) and not device.attached

  device.Assemble()
  # metadata just made has a clean activity log: attached as it is
  assert [call[1] if call[0] == "drbdsetup" else call[-1] for call in kernel.calls[1:]] == [
    "new-resource", "new-minor", "attach", "connect"]
  assert kernel.calls[3] == drbd_cmd.AttachArgv(3, "/dev/xenvg/d_data", "/dev/xenvg/d_meta",
                                                1024, DEFAULTS)
  assert "--shared-secret=a1b2c3" in kernel.calls[4]
  assert device.attached and (device.major, device.minor) == (147, 3)

  device.Assemble()  # already set up: only its configuration is checked
  assert kernel.calls[5:] == [["drbdsetup", "show", "3"]]

  device.Open(force=True)
  assert kernel.calls[-1] == ["drbdsetup", "primary", "3", "--force"]
  status = device.CombinedSyncStatus()
  assert (status.dev_path, status.minor, status.ldisk_status) == ("/dev/drbd3", 3, LDS_OKAY)
  assert status.is_degraded  # the peer is not connected

  device.Close()
  assert kernel.calls[-1] == ["drbdsetup", "secondary", "3"]
  calls = len(kernel.calls)
  device.Close()  # a secondary already: nothing to run
  assert len(kernel.calls) == calls
  device.Shutdown()
  assert kernel.calls[-2:] == [["drbdsetup", "secondary", "3"],
                               ["drbdsetup", "down", "resource3"]]
  assert not device.attached and storage.FindDevice(disk, _Children()) is None
  device.Remove()  # already down: nothing to run
  assert kernel.calls[-1] == ["drbdsetup", "down", "resource3"]
  # set up again, the metadata may be unclean: its activity log is applied first
  again = storage.FindDevice(disk, _Children()) or drbd.DRBD8(
    disk.logical_id, _Children(), disk.size, disk.params, disk.dynamic_params)
  kernel.calls.clear()
  again.Assemble()
  assert [call[1] if call[0] == "drbdsetup" else call[-1] for call in kernel.calls] == [
    "new-resource", "new-minor", "apply-al", "attach", "connect"]
  assert kernel.calls[2] == drbd_cmd.ApplyActivityLogArgv(3, "/dev/xenvg/d_meta")


def _Sysfs(tmp_path, monkeypatch, held):
  """A /sys/block where minor 3 holds the devices named in held."""
  root = tmp_path / "sys-block"
  for index in range(6):
    (root / ("dm-%d" % index)).mkdir(parents=True)
    (root / ("dm-%d" % index) / "dev").write_text("254:%d\n" % index)
  (root / "drbd3" / "slaves").mkdir(parents=True)
  for name in held:
    (root / "drbd3" / "slaves" / name).symlink_to(root / name)
  monkeypatch.setattr(drbd.DRBD8, "sysfs_block", str(root))


def _NumberedChildren():
  children = _Children()
  for index, child in enumerate(children):
    child.major, child.minor = 254, index
  return children


def test_local_half_then_the_network(kernel, tmp_path, monkeypatch):
  """Without its peer's address a device comes up standalone (resource and
  local disks); set up again with the address, it only connects: the kernel
  says the minor holds its disks, and off the network there is no peer to
  check."""
  _Sysfs(tmp_path, monkeypatch, ["dm-0", "dm-1"])
  half = _DrbdDisk()
  half.dynamic_params = dict(half.dynamic_params, **{DDP_REMOTE_IP: None})
  device = storage.CreateDevice(half, _NumberedChildren(), False)
  device.Assemble()
  assert [call[1] if call[0] == "drbdsetup" else call[-1] for call in kernel.calls] == [
    "create-md", "new-resource", "new-minor", "attach"]
  assert device.GetProcStatus().standalone
  kernel.calls.clear()
  whole = storage.AssembleDevice(_DrbdDisk(), _NumberedChildren())
  assert [call[1] for call in kernel.calls] == ["connect"]
  assert not whole.GetProcStatus().standalone
  # connected, its peer is checked by drbdsetup
  kernel.calls.clear()
  storage.AssembleDevice(_DrbdDisk(), _NumberedChildren())
  assert kernel.calls == [["drbdsetup", "show", "3"]]


def test_minor_with_its_peer_is_told_apart_without_drbdsetup(kernel, tmp_path, monkeypatch):
  """Connected, holding this device's disks, its socket joining this device's
  address and port to the peer's address: nothing runs.  Joined to another
  address, drbdsetup show finds where; holding other disks, it is refused."""
  _Sysfs(tmp_path, monkeypatch, ["dm-0", "dm-1"])
  storage.AssembleDevice(_DrbdDisk(), _NumberedChildren())
  kernel.minors[3] = ["Connected", "Primary/Secondary", "UpToDate/UpToDate"]
  kernel.Publish()
  kernel.calls.clear()
  storage.AssembleDevice(_DrbdDisk(), _NumberedChildren())
  assert kernel.calls == []
  kernel.minors[3][0] = "SyncSource"
  kernel.Publish()
  storage.AssembleDevice(_DrbdDisk(), _NumberedChildren())
  assert kernel.calls == []
  kernel.config[3]["remote"] = "192.0.2.9:11003"
  kernel.Publish()
  with pytest.raises(errors.BlockDeviceError, match=r"minor 3 is connected elsewhere"
                                                    r" \(192.0.2.1:11003 to 192.0.2.9:11003\)"):
    storage.AssembleDevice(_DrbdDisk(), _NumberedChildren())
  assert kernel.calls == [["drbdsetup", "show", "3"]]
  kernel.config[3]["remote"] = "192.0.2.2:11003"
  kernel.Publish()
  slaves = tmp_path / "sys-block" / "drbd3" / "slaves"
  for index in (0, 1):
    (slaves / ("dm-%d" % index)).unlink()
    (slaves / ("dm-%d" % (index + 4))).symlink_to(tmp_path / "sys-block" / ("dm-%d" % (index + 4)))
  kernel.calls.clear()
  with pytest.raises(errors.BlockDeviceError, match="minor 3 is in use by other devices$"):
    storage.AssembleDevice(_DrbdDisk(), _NumberedChildren())
  assert kernel.calls == []


def test_standalone_minor_holding_other_disks_is_refused(kernel, tmp_path, monkeypatch):
  _Sysfs(tmp_path, monkeypatch, ["dm-4", "dm-5"])
  kernel.minors[3] = ["StandAlone", "Secondary/Unknown", "UpToDate/DUnknown"]
  kernel.config[3] = {"disk": "/dev/xenvg/other_data", "meta": "/dev/xenvg/other_meta"}
  kernel.Publish()
  with pytest.raises(errors.BlockDeviceError, match="minor 3 is in use by other devices$"):
    storage.AssembleDevice(_DrbdDisk(), _NumberedChildren())
  assert kernel.calls == []
  # unknown device numbers: drbdsetup show decides
  kernel.calls.clear()
  with pytest.raises(errors.BlockDeviceError, match="other devices .*other_data"):
    storage.AssembleDevice(_DrbdDisk(), _Children())
  assert kernel.calls == [["drbdsetup", "show", "3"]]


def test_create_refuses_used_minor_small_metadata_and_missing_children(kernel):
  kernel.minors[3] = ["Connected", "Secondary/Primary", "UpToDate/UpToDate"]
  kernel.Publish()
  kernel.calls.clear()
  with pytest.raises(errors.BlockDeviceError, match="minor 3 already in use"):
    storage.CreateDevice(_DrbdDisk(), _Children(), False)
  # a bare minor (drbdsetup new-minor, no disk, no network) is taken as well
  kernel.minors[5] = ["StandAlone", "Secondary/Unknown", "Diskless/DUnknown"]
  kernel.Publish()
  with pytest.raises(errors.BlockDeviceError, match="minor 5 already in use"):
    storage.CreateDevice(_DrbdDisk(minor=5), _Children(), False)
  with pytest.raises(errors.BlockDeviceError, match="too small: 64 MiB, need 128 MiB"):
    storage.CreateDevice(_DrbdDisk(minor=4), _Children(meta_size=64), False)
  with pytest.raises(errors.BlockDeviceError, match="needs its data and metadata devices"):
    storage.CreateDevice(_DrbdDisk(minor=4), _Children()[:1], False)
  assert kernel.calls == []


def test_failed_attach_leaves_no_minor_behind(kernel):
  kernel.fail.add("attach")
  device = drbd.DRBD8(_DrbdDisk().logical_id, _Children(), 1024, DEFAULTS,
                      _DrbdDisk().dynamic_params)
  with pytest.raises(errors.BlockDeviceError,
                     match="Attaching the local disks of /dev/drbd3 failed.*simulated"):
    device.Assemble()
  assert kernel.calls[-1] == ["drbdsetup", "down", "resource3"]
  assert kernel.minors == {}


def test_shutdown_of_a_primary_demotes_it_first(kernel):
  # a primary cut from its peer starts a new generation: the peer made primary
  # next would meet it as a split brain
  device = storage.AssembleDevice(_DrbdDisk(), _Children())
  device.Open(force=True)
  device.Shutdown()
  assert kernel.calls[-2:] == [["drbdsetup", "secondary", "3"],
                               ["drbdsetup", "down", "resource3"]]


def test_network_and_children_operations(kernel):
  disk = _DrbdDisk(secret="")
  device = storage.AssembleDevice(disk, _Children())
  assert not any(arg.startswith("--shared-secret") for arg in kernel.calls[-1])
  device.DisconnectNet()
  device.AttachNet(True)
  assert kernel.calls[-2][1] == "disconnect" and "--allow-two-primaries" in kernel.calls[-1]
  device.SetDualPrimary(True)
  assert kernel.calls[-1] == ["drbdsetup", "net-options", "ipv4:192.0.2.1:11003",
                              "ipv4:192.0.2.2:11003", "--allow-two-primaries=yes"]
  device.RemoveChildren(device.children)
  assert kernel.calls[-1] == ["drbdsetup", "detach", "3"]
  assert device.CombinedSyncStatus().ldisk_status == LDS_FAULTY
  device.AddChildren(_Children())
  # new local disks get fresh metadata before they are attached
  assert [call[-1] if call[0] == "drbdmeta" else call[1] for call in kernel.calls[-2:]] == [
    "create-md", "attach"]
  with pytest.raises(errors.BlockDeviceError, match="already has local disks"):
    device.AddChildren(_Children())


def test_grow_and_sync_parameters(kernel):
  children = _Children()
  device = storage.AssembleDevice(_DrbdDisk(), children)
  device.Grow(512, False, True, False)
  assert children[0].grown == [(512, False)]
  device.Grow(512, False, False, False)
  assert kernel.calls[-1] == ["drbdsetup", "resize", "3", "--size=1536m"]
  device.SetSyncParams({paramdefs.DRBD_RESYNC_RATE: 2048})
  assert kernel.calls[-1] == ["drbdsetup", "disk-options", "3", "--resync-rate=2048k",
                              "--c-plan-ahead=0"]
  assert device.GetActualSize() == 256 * base.MIB


def test_operations_on_unconfigured_minor_fail_clearly(kernel):
  device = drbd.DRBD8(_DrbdDisk().logical_id, _Children(), 1024, DEFAULTS,
                      _DrbdDisk().dynamic_params)
  for call, action in ((lambda: device.Open(), "make primary"),
                       (device.GetSyncStatus, "get the sync status of"),
                       (lambda: device.Grow(1, False, False, False), "grow")):
    with pytest.raises(errors.BlockDeviceError,
                       match="Can't %s /dev/drbd3: DRBD minor not configured" % action):
      call()
  assert not device.PauseResumeSync(True)


def test_status_fields_follow_proc_drbd(kernel, monkeypatch, tmp_path):
  sample = tmp_path / "sample"
  sample.write_text(PROC_SAMPLE)
  monkeypatch.setattr(drbd.DRBD8, "proc_path", str(sample))
  expected = {  # minor -> (sync_percent, estimated_time, is_degraded, ldisk_status)
    0: (None, None, False, LDS_OKAY),
    1: (15.7, 21, True, LDS_OKAY),
    2: (0.2, 3725, True, LDS_SYNC),
    3: (None, None, True, LDS_OKAY),
    4: (None, None, True, LDS_FAULTY),
    6: (None, None, True, LDS_UNKNOWN),
  }
  for minor, fields in expected.items():
    disk = _DrbdDisk(minor=minor)
    device = drbd.DRBD8(disk.logical_id, [], 1024, DEFAULTS, disk.dynamic_params)
    status = device.GetSyncStatus()
    assert (status.sync_percent, status.estimated_time, status.is_degraded,
            status.ldisk_status) == fields, minor


def test_invalid_logical_ids():
  disk = _DrbdDisk()
  with pytest.raises(ValueError, match="Invalid configuration data"):
    drbd.DRBD8(disk.logical_id[:5], [], 1, {}, disk.dynamic_params)
  with pytest.raises(ValueError, match="Invalid local DRBD minor"):
    drbd.DRBD8(disk.logical_id, [], 1, {}, dict(disk.dynamic_params, **{DDP_LOCAL_MINOR: -1}))


def test_busy_minor_is_refused_and_kept(kernel):
  other = _DrbdDisk()
  other.logical_id[2] = other.dynamic_params[DDP_PORT] = 11077
  storage.AssembleDevice(other, [_FakeLv("other_data", 1024), _FakeLv("other_meta", 128)])
  with pytest.raises(errors.BlockDeviceError, match=r"minor 3 is in use by other devices"
                                                    r" \(/dev/xenvg/other_data"):
    storage.AssembleDevice(_DrbdDisk(), _Children())
  kernel.config[3].pop("disk")  # same minor, diskless, but another peer port
  with pytest.raises(errors.BlockDeviceError, match="minor 3 is connected elsewhere"
                                                    r" \(192.0.2.1:11077 to 192.0.2.2:11077\)"):
    storage.AssembleDevice(_DrbdDisk(), _Children())
  assert kernel.calls[-1] == ["drbdsetup", "show", "3"]  # and it was not taken down
  assert 3 in kernel.minors


def test_unsupported_drbd_version(kernel):
  kernel.version = "9.2.4"
  kernel.Publish()
  with pytest.raises(errors.BlockDeviceError, match=r"Unsupported DRBD version 9.2.4 \(need"
                                                    r" 8.4\)"):
    storage.CreateDevice(_DrbdDisk(), _Children(), False)


def test_backend_creates_drbd_over_real_lvs_and_cleans_up(tmp_path, monkeypatch):
  """The node's blockdev_* calls: real LVs (lvm2, metadata only) under a DRBD disk."""
  from ganeti.backend import blockdev as backend_blockdev
  from ganeti.backend.common import RPCFail
  if not test_storage_lvm.HaveLvmTools():
    pytest.skip("lvm2 or losetup missing")
  vg = test_storage_lvm.LoopVg(tmp_path, "dvg%d" % os.getpid(), [200])
  fake = _FakeKernel(str(tmp_path / "drbd"), others=vg.runner)
  monkeypatch.setattr(drbd.DRBD8, "proc_path", fake.proc_path)
  monkeypatch.setattr(drbd.DRBD8, "proc_net", fake.proc_net)
  previous = runner.SetRunner(fake)
  try:
    children = [test_storage_lvm.PlainDisk(vg.name, "x.disk0_data", 32),
                test_storage_lvm.PlainDisk(vg.name, "x.disk0_meta", 128)]
    for child in children:
      backend_blockdev.BlockdevCreate(child.ToDict(), child.size, "x", False, "", False)
    disk = _DrbdDisk()
    disk.size, disk.children = 32, children
    backend_blockdev.BlockdevCreate(disk.ToDict(), 32, "x", False, "originstname+x", False)
    # on the secondary too: metadata created, minor set up over the real LV paths
    data_path, meta_path = ("/dev/%s/x.disk0_%s" % (vg.name, kind) for kind in ("data", "meta"))
    assert [call[1] if call[0] == "drbdsetup" else call[-1] for call in fake.calls] == [
      "create-md", "new-resource", "new-minor", "attach", "connect"]
    assert fake.calls[3][3:5] == [data_path, meta_path]
    (dimensions,) = backend_blockdev.BlockdevGetDimensions([disk.ToDict()])
    assert dimensions == [256 * base.MIB, 1]  # the kernel's size, the data LV's spindles

    backend_blockdev.BlockdevRemove(disk.ToDict())
    assert fake.minors == {} and test_storage_lvm.lvm_report.ListLogicalVolumes(vg.name) == []

    fake.fail.add("connect")
    for child in children:
      backend_blockdev.BlockdevCreate(child.ToDict(), child.size, "x", False, "", False)
    with pytest.raises(RPCFail, match="Connecting to the peer of /dev/drbd3 failed"):
      backend_blockdev.BlockdevCreate(disk.ToDict(), 32, "x", True, "", False)
    assert fake.minors == {}  # the half-set-up minor was taken down
  finally:
    runner.SetRunner(previous)
    vg.Remove()
