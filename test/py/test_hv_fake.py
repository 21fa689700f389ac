"""Tests for ganeti.hypervisor: the registry, the base class's parameter checks,
the fake hypervisor on state files in temporary directories, and the
parameters-only hypervisors."""

import os
import stat

import pytest

from ganeti import constants
from ganeti import errors
from ganeti import hypervisor
from ganeti import objects
from ganeti import paramdefs
from ganeti.hypervisor import hv_base
from ganeti.hypervisor import hv_fake

HOST = {"memory_total": 4096, "memory_free": 3000, "memory_dom0": 1096,
        "cpu_total": 4, "cpu_nodes": 1, "cpu_sockets": 1, "cpu_dom0": 4}


def _Instance(name="inst1", maxmem=256, minmem=128, vcpus=2):
  return objects.Instance(name=name, uuid="uuid-" + name, hypervisor="fake",
                          hvparams={"migration_mode": "live"},
                          beparams={"maxmem": maxmem, "minmem": minmem, "vcpus": vcpus},
                          nics=[], disks=[], primary_node="node1", os="minimal+default")


def _Fake(tmp_path, node="node1", host=None):
  return hv_fake.FakeHypervisor(state_dir=str(tmp_path / node / "fake-hypervisor"),
                                host_info=lambda: dict(host or HOST))


def _State(tmp_path, name, node="node1"):
  with open(tmp_path / node / "fake-hypervisor" / name) as handle:
    return handle.read()


def test_registry_knows_every_hypervisor():
  for name in constants.HYPER_TYPES:
    cls = hypervisor.GetHypervisorClass(name)
    assert issubclass(cls, hv_base.BaseHypervisor) and cls.NAME == name
    # every parameter paramdefs knows is checked, and its defaults pass
    assert set(cls.PARAMETERS) == set(paramdefs.HVC_DEFAULTS[name])
    cls.CheckParameterSyntax(dict(paramdefs.HVC_DEFAULTS[name]))
  assert isinstance(hypervisor.GetHypervisor("fake"), hv_fake.FakeHypervisor)
  with pytest.raises(errors.HypervisorError, match="^Unknown hypervisor type 'xen'$"):
    hypervisor.GetHypervisorClass("xen")


@pytest.mark.parametrize("params, message", [
  ({"migration_mode": "teleport"},
   r"^Parameter 'migration_mode' fails syntax check: invalid migration mode"
   r" \(current value: 'teleport'\)$"),
  ({"migration_mode": "live", "acpi": True}, "^Parameter 'acpi' is not supported$"),
  ({}, "^Parameter 'migration_mode' is missing$"),
  ({"migration_mode": ""},
   "^Parameter 'migration_mode' is required but is currently not defined$"),
])
def test_fake_parameter_syntax(params, message):
  with pytest.raises(errors.HypervisorError, match=message):
    hv_fake.FakeHypervisor.CheckParameterSyntax(params)


def test_other_hypervisors_check_values():
  kvm = hypervisor.GetHypervisorClass("kvm")
  params = dict(paramdefs.HVC_DEFAULTS["kvm"], boot_order="tape")
  with pytest.raises(errors.HypervisorError, match="'boot_order' fails syntax check") as excinfo:
    kvm.CheckParameterSyntax(params)
  assert "The value must be one of: cdrom, disk, floppy, network" in str(excinfo.value)
  params = dict(paramdefs.HVC_DEFAULTS["chroot"], init_script="relative/init")
  with pytest.raises(errors.HypervisorError,
                     match=r"^Parameter 'init_script' fails syntax check: must be an absolute"
                           r" normalized path \(current value: 'relative/init'\)$"):
    hypervisor.GetHypervisorClass("chroot").CheckParameterSyntax(params)
  params = dict(paramdefs.HVC_DEFAULTS["xen-pvm"], migration_port=70000)
  with pytest.raises(errors.HypervisorError, match="invalid port number"):
    hypervisor.GetHypervisorClass("xen-pvm").CheckParameterSyntax(params)
  params = dict(paramdefs.HVC_DEFAULTS["lxc"], num_ttys=-1)
  with pytest.raises(errors.HypervisorError, match="'num_ttys' fails syntax check: cannot be"
                                                   " negative"):
    hypervisor.GetHypervisorClass("lxc").CheckParameterSyntax(params)


def test_parameters_only_hypervisors_refuse_to_run(tmp_path):
  lxc = hypervisor.GetHypervisor("lxc")
  assert lxc.Verify() == "Hypervisor lxc is not supported by this node"
  assert lxc.ListInstances() == [] and lxc.GetAllInstancesInfo() == []
  assert lxc.GetInstanceInfo("inst1") is None
  with pytest.raises(errors.HypervisorError, match="lxc is not supported by this node"):
    lxc.StartInstance(_Instance(), [], False)
  with pytest.raises(errors.HypervisorError, match="not supported"):
    lxc.GetNodeInfo()


def test_start_writes_state_and_accounts_memory(tmp_path):
  fake = _Fake(tmp_path)
  assert fake.ListInstances() == [] and fake.Verify() is None
  fake.StartInstance(_Instance("inst1"), [], False)
  fake.StartInstance(_Instance("inst2", maxmem=512, vcpus=1), [], False)
  assert _State(tmp_path, "inst1") == "0\n256\n2\n"
  path = tmp_path / "node1" / "fake-hypervisor" / "inst1"
  assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
  assert fake.ListInstances() == ["inst1", "inst2"]
  assert fake.GetInstanceInfo("inst1") == ("inst1", "0", 256, 2,
                                           hv_base.HvInstanceState.RUNNING, 0)
  assert fake.GetInstanceInfo("other") is None
  assert [info.memory for info in fake.GetAllInstancesInfo()] == [256, 512]
  info = fake.GetNodeInfo()
  assert info["memory_free"] == 3000 - 256 - 512
  assert info["memory_total"] == 4096 and info["memory_dom0"] == 1096
  with pytest.raises(errors.HypervisorError,
                     match="^Failed to start instance inst1: already running$"):
    fake.StartInstance(_Instance("inst1"), [], False)


@pytest.mark.parametrize("free, expected", [(3000, 256), (200, 200), (100, 128)])
def test_startup_memory_follows_free_memory(tmp_path, free, expected):
  fake = _Fake(tmp_path, host=dict(HOST, memory_free=free))
  fake.StartInstance(_Instance(), [], False)
  assert fake.GetInstanceInfo("inst1").memory == expected


def test_stop_reboot_balloon(tmp_path):
  fake = _Fake(tmp_path)
  inst = _Instance()
  with pytest.raises(errors.HypervisorError, match="^Failed to stop instance inst1: not running$"):
    fake.StopInstance(inst)
  with pytest.raises(errors.HypervisorError, match="not running"):
    fake.RebootInstance(inst)
  with pytest.raises(errors.HypervisorError, match="not running"):
    fake.BalloonInstanceMemory(inst, 100)
  fake.StartInstance(inst, [], False)
  fake.RebootInstance(inst)
  fake.BalloonInstanceMemory(inst, 160)
  assert _State(tmp_path, "inst1") == "0\n160\n2\n"
  assert fake.GetNodeInfo()["memory_free"] == 3000 - 160
  fake.StopInstance(inst)
  assert fake.ListInstances() == [] and fake.GetNodeInfo()["memory_free"] == 3000


def test_state_files_only_below_the_state_dir(tmp_path):
  fake = _Fake(tmp_path)
  for name in ("../evil", ".hidden", ""):
    with pytest.raises(errors.HypervisorError, match="Invalid instance name"):
      fake.StartInstance(_Instance(name), [], False)
  assert not (tmp_path / "node1" / "evil").exists()


def test_live_migration_hands_the_state_over(tmp_path):
  source, target = _Fake(tmp_path, "node1"), _Fake(tmp_path, "node2")
  inst = _Instance()
  source.StartInstance(inst, [], False)
  source.BalloonInstanceMemory(inst, 200)
  info = source.MigrationInfo(inst)
  target.AcceptInstance(inst, info, "192.0.2.2")
  assert target.ListInstances() == []
  source.MigrateInstance("cluster", inst, "192.0.2.2", True)
  assert source.GetMigrationStatus(inst).ToDict() == {"status": "completed"}
  target.FinalizeMigrationDst(inst, info, True)
  source.FinalizeMigrationSource(inst, True, True)
  assert source.ListInstances() == []
  # the ballooned memory travelled with the instance
  assert target.GetInstanceInfo("inst1").memory == 200
  assert target.GetNodeInfo()["memory_free"] == 3000 - 200
  # a second arrival of the same instance is refused
  with pytest.raises(errors.HypervisorError, match="already running"):
    target.AcceptInstance(inst, info, "192.0.2.2")


def test_failed_migration_leaves_the_instance_on_the_source(tmp_path):
  source, target = _Fake(tmp_path, "node1"), _Fake(tmp_path, "node2")
  inst = _Instance()
  with pytest.raises(errors.HypervisorError, match="not running"):
    source.MigrationInfo(inst)
  with pytest.raises(errors.HypervisorError, match="not running"):
    source.MigrateInstance("cluster", inst, "192.0.2.2", True)
  source.StartInstance(inst, [], False)
  info = source.MigrationInfo(inst)
  target.AcceptInstance(inst, info, "192.0.2.2")
  target.FinalizeMigrationDst(inst, info, True)
  target.FinalizeMigrationDst(inst, info, False)
  source.FinalizeMigrationSource(inst, False, True)
  assert target.ListInstances() == [] and source.ListInstances() == ["inst1"]
  with pytest.raises(errors.HypervisorError, match="Invalid state"):
    target.AcceptInstance(inst, "garbage", "192.0.2.2")


def test_console_and_hotplug():
  inst = _Instance()
  console = hv_fake.FakeHypervisor.GetInstanceConsole(inst, None, None, {}, {})
  console.Validate()
  assert console.ToDict() == {"instance": "inst1", "kind": "msg",
                              "message": "Console not available for fake hypervisor"}
  fake = hypervisor.GetHypervisor("fake")
  with pytest.raises(errors.HotplugError,
                     match="^Hotplug is not supported by this hypervisor$"):
    fake.HotplugSupported(inst)
  with pytest.raises(errors.HotplugError, match="^Hotplug is not supported.$"):
    fake.VerifyHotplugSupport(inst, constants.HOTPLUG_ACTION_ADD, constants.HOTPLUG_TARGET_DISK)
  with pytest.raises(errors.ProgrammerError, match="lacks host"):
    hv_base.InstanceConsole(instance="inst1", kind=constants.CONS_SSH).Validate()


def test_host_node_info_is_consistent():
  info = hv_base.HostNodeInfo()
  assert 0 <= info["memory_free"] <= info["memory_total"]
  assert info["memory_dom0"] == info["memory_total"] - info["memory_free"]
  assert info["cpu_total"] == os.cpu_count()
