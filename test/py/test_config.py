"""Tests for ganeti.config (the configuration writer)."""

import json
import os
import shutil
import stat
import threading

import pytest

from ganeti import config
from ganeti import errors
from ganeti import objects
from ganeti import paramdefs
from ganeti import serializer
from ganeti import ssconf
from ganeti.utils import io

REAL_CONFIG = os.path.join(os.path.dirname(__file__), "..", "data", "ganeti-3.0", "config.data")
MASTER = "07c9feed-129f-454f-b4e8-91a9084aeed4"
NODE2 = "e003c93b-a99c-4938-8887-9371adf9ea5d"
GROUP = "00623d44-88f2-4d1d-858e-dbf384963790"


@pytest.fixture(name="cfg_file")
def fixture_cfg_file(tmp_path) -> str:
  if not os.path.exists(REAL_CONFIG):
    pytest.skip("facts not available")
  path = str(tmp_path / "config.data")
  shutil.copy(REAL_CONFIG, path)
  return path


@pytest.fixture(name="cfg")
def fixture_cfg(cfg_file) -> config.ConfigWriter:
  return config.ConfigWriter(cfg_file)


def _Disk(size: int = 1024, node: str = MASTER) -> objects.Disk:
  return objects.Disk(dev_type="file", size=size, mode="rw", iv_name="disk/0",
                      logical_id=["loop", "/srv/ganeti/file-storage/x/disk0"],
                      nodes=[node])


def _Instance(name: str, mac: str, disks=None) -> objects.Instance:
  return objects.Instance(name=name, primary_node=MASTER, os="lab+default",
                          hypervisor="fake", nics=[objects.NIC(mac=mac, nicparams={})],
                          disks=disks if disks is not None else [_Disk()])


def _Saved(cfg_file: str) -> dict:
  return serializer.LoadJson(io.ReadFile(cfg_file))


def test_accessors(cfg):
  assert cfg.GetClusterName() == "cluster.gnt.test"
  assert cfg.GetMasterNode() == MASTER
  assert cfg.GetMasterNodeName() == "node1.gnt.test"
  assert cfg.GetMasterNodeInfo().name == "node1.gnt.test"
  assert cfg.GetMasterIP() == "198.51.100.100"
  assert cfg.GetMasterNetdev() == "gl1"
  assert cfg.GetMasterNetmask() == 24
  assert cfg.GetHypervisorType() == "fake"
  assert cfg.GetNodeList() == [MASTER, NODE2]
  assert cfg.GetNodeNames([NODE2, MASTER]) == ["node2.gnt.test", "node1.gnt.test"]
  assert cfg.GetNodeInfoByName("node2.gnt.test").uuid == NODE2
  assert cfg.GetNodeInfo("nonexistent") is None
  assert cfg.GetOnlineNodeList() == [MASTER, NODE2]
  assert cfg.GetMasterCandidateStats() == (2, 2, 2)
  assert cfg.GetMasterCandidateStats([NODE2]) == (1, 1, 1)
  assert cfg.GetNodeGroup(GROUP).members == [MASTER, NODE2]
  assert cfg.LookupNodeGroup("default") == GROUP
  assert cfg.LookupNodeGroup(None) == GROUP
  assert cfg.LookupNodeGroupInfo("default").uuid == GROUP
  assert cfg.GetInstanceList() == []
  assert cfg.GetAllNetworksInfo() == {}
  assert cfg.GetFilters() == []
  assert cfg.GetNdParams(cfg.GetNodeInfo(NODE2))["ssh_port"] == 22
  assert cfg.VerifyConfig() == []
  with pytest.raises(errors.OpPrereqError) as info:
    cfg.LookupNodeGroup("nosuchgroup")
  assert info.value.args == ("Node group 'nosuchgroup' not found", errors.ECODE_NOENT)
  with pytest.raises(errors.OpPrereqError) as info:
    cfg.LookupNetwork("nosuchnet")
  assert info.value.args == ("Network 'nosuchnet' not found", errors.ECODE_NOENT)


def test_expand_names(cfg):
  assert cfg.ExpandNodeName("node1") == "node1.gnt.test"
  assert cfg.ExpandNodeName("NODE1.gnt") == "node1.gnt.test"
  assert cfg.ExpandNodeName("node") is None
  assert cfg.ExpandNodeName("node1.gnt.te") is None
  assert config.MatchNameComponent("a", ["a", "a.example.com"]) == "a"
  assert config.MatchNameComponent("a", ["a.example.com", "a.example.org"]) is None
  assert config.MatchNameComponent("A", ["a.example.com", "A.example.com"]) == "A.example.com"


def test_getters_return_copies(cfg):
  node = cfg.GetNodeInfo(NODE2)
  node.offline = True
  assert cfg.GetNodeInfo(NODE2).offline is False
  cluster = cfg.GetClusterInfo()
  cluster.hvparams["fake"]["migration_mode"] = "non-live"
  assert cfg.GetClusterInfo().hvparams["fake"]["migration_mode"] == "live"


def test_shared_objects_are_snapshots(cfg):
  cfg.AddInstance(_Instance("snap", "aa:00:00:00:00:0b"))
  uuid = cfg.GetInstanceInfoByName("snap").uuid
  snapshot = cfg.GetAllInstancesInfo()[uuid]
  groups = cfg.GetAllNodeGroupsInfo()
  cfg.MarkInstanceUp(uuid)
  cfg.RenameInstance(uuid, "snap2")
  assert (snapshot.admin_state, snapshot.name) == ("down", "snap")
  assert cfg.GetAllInstancesInfo()[uuid].admin_state == "up"
  cfg.AddNode(objects.Node(name="node3", primary_ip="198.51.100.3",
                           secondary_ip="198.51.100.3"))
  assert groups[GROUP].members == [MASTER, NODE2]
  assert len(cfg.GetAllNodeGroupsInfo()[GROUP].members) == 3


def test_save_and_reload_identical(cfg, cfg_file):
  cluster = cfg.GetClusterInfo()
  cluster.AddTag("bar")
  cfg.Update(cluster)
  text = io.ReadFile(cfg_file)
  assert text == cfg.GetSerializedConfig()
  reloaded = config.ConfigWriter(cfg_file)
  assert reloaded.GetSerializedConfig() == text
  reloaded_data = reloaded._config_data  # pylint: disable=protected-access
  assert serializer.DumpJson(reloaded_data.ToDict()) == text
  assert reloaded.GetClusterInfo().GetTags() == {"foo", "bar"}
  assert stat.S_IMODE(os.stat(cfg_file).st_mode) == config.CONFIG_FILE_MODE
  # Apart from the changed values, the document is the one real Ganeti wrote
  saved, real = _Saved(cfg_file), serializer.LoadJson(open(REAL_CONFIG).read())
  for doc in (saved, real):
    for key in ("serial_no", "mtime"):
      doc.pop(key)
      doc["cluster"].pop(key)
    doc["cluster"].pop("tags")
    for group in doc["nodegroups"].values():
      group.pop("members")  # kept up to date by us, written empty by Ganeti
  assert saved == real


def test_update_bumps_serials(cfg, cfg_file):
  before = _Saved(cfg_file)
  node = cfg.GetNodeInfo(NODE2)
  node.drained = True
  cfg.Update(node)
  after = _Saved(cfg_file)
  assert after["serial_no"] == before["serial_no"] + 1
  saved_node = after["nodes"][NODE2]
  assert saved_node["drained"] is True
  assert saved_node["serial_no"] == before["nodes"][NODE2]["serial_no"] + 1
  assert saved_node["mtime"] > before["nodes"][NODE2]["mtime"]
  assert cfg.GetMasterCandidateStats() == (1, 1, 1)


def test_cluster_copy_survives_other_changes(cfg):
  cluster = cfg.GetClusterInfo()
  node = cfg.GetNodeInfo(NODE2)
  node.AddTag("n")
  cfg.Update(node)
  cfg.AddInstance(_Instance("inst-x", "aa:00:00:00:00:0a"))
  cluster.AddTag("c")
  cfg.Update(cluster)  # nodes and instances are not part of the cluster object
  stale = cfg.GetClusterInfo()
  cfg.AllocatePort()  # changes the cluster object itself
  stale.AddTag("d")
  with pytest.raises(errors.ConfigurationError, match="updated since it has been read"):
    cfg.Update(stale)


def test_update_refuses_stale_and_unknown(cfg):
  first = cfg.GetNodeInfo(NODE2)
  second = cfg.GetNodeInfo(NODE2)
  first.offline = True
  cfg.Update(first)
  second.drained = True
  with pytest.raises(errors.ConfigurationError, match="updated since it has been read"):
    cfg.Update(second)
  assert cfg.GetNodeInfo(NODE2).drained is False
  stranger = objects.Node(name="x", uuid="not-in-config", serial_no=1)
  with pytest.raises(errors.ConfigurationError):
    cfg.Update(stranger)


def test_failed_serialisation_keeps_old_file(cfg, cfg_file):
  before = io.ReadFile(cfg_file)
  cluster = cfg.GetClusterInfo()
  loop: dict = {}
  loop["self"] = loop  # JSON cannot represent it
  cluster.osparams = loop
  with pytest.raises(ValueError):
    cfg.Update(cluster)
  assert io.ReadFile(cfg_file) == before
  assert not [name for name in os.listdir(os.path.dirname(cfg_file)) if name.endswith(".new")]
  # The writer's memory went back to the saved state and still works
  assert cfg.GetClusterInfo().osparams == {}
  cluster = cfg.GetClusterInfo()
  cluster.AddTag("after-failure")
  cfg.Update(cluster)
  assert "after-failure" in _Saved(cfg_file)["cluster"]["tags"]


def test_failed_write_keeps_old_file(cfg, cfg_file, monkeypatch):
  before = io.ReadFile(cfg_file)

  def _Fail(*_):
    raise OSError("disk full")
  monkeypatch.setattr(os, "rename", _Fail)
  node = cfg.GetNodeInfo(NODE2)
  node.offline = True
  with pytest.raises(OSError):
    cfg.Update(node)
  monkeypatch.undo()
  assert io.ReadFile(cfg_file) == before
  assert not [name for name in os.listdir(os.path.dirname(cfg_file)) if name.endswith(".new")]
  assert cfg.GetNodeInfo(NODE2).offline is False


def test_ssconf_regenerated_on_save(cfg, cfg_file):
  directory = os.path.dirname(cfg_file)
  store = ssconf.SimpleStore(cfg_location=directory)
  cluster = cfg.GetClusterInfo()
  cluster.AddTag("bar")
  cfg.Update(cluster)
  assert store.GetClusterTags() == ["bar", "foo"]
  assert store.ReadAll() == cfg.GetSsconfValues()
  node = cfg.GetNodeInfo(NODE2)
  node.offline = True
  cfg.Update(node)
  assert store.GetOnlineNodeList() == ["node1.gnt.test"]
  assert store.GetOfflineNodeList() == ["node2.gnt.test"]


def test_save_callbacks(cfg, cfg_file):
  calls = []
  cfg.AddSaveCallback(lambda text, values: calls.append((text, values)))

  def _Broken(text, values):
    raise RuntimeError("node unreachable")
  cfg.AddSaveCallback(_Broken)
  messages = []
  cluster = cfg.GetClusterInfo()
  cluster.candidate_pool_size = 3
  cfg.Update(cluster, messages.append)
  assert len(calls) == 1
  assert json.loads(calls[0][0])["cluster"]["candidate_pool_size"] == 3
  assert calls[0][1]["cluster_name"] == "cluster.gnt.test"
  assert messages and "node unreachable" in messages[0]
  offline = config.ConfigWriter(cfg_file, offline=True)
  offline.AddSaveCallback(lambda *_: calls.append(None))
  offline.Update(offline.GetClusterInfo())
  assert len(calls) == 1


def test_instances_and_disks(cfg, cfg_file):
  inst = _Instance("inst1.example.com", "aa:00:00:00:00:01")
  cfg.AddInstance(inst, "job-1")
  uuid = cfg.GetInstanceList()[0]
  stored = cfg.GetInstanceInfo(uuid)
  assert stored.name == "inst1.example.com" and stored.serial_no == 1
  assert stored.admin_state == "down" and stored.nics[0].uuid
  assert cfg.GetInstanceInfoByName("inst1.example.com").uuid == uuid
  assert cfg.ExpandInstanceName("inst1") == "inst1.example.com"
  disks = cfg.GetInstanceDisks(uuid)
  assert [disk.size for disk in disks] == [1024]
  assert cfg.GetInstanceDiskTemplate(uuid) == "file"
  assert cfg.GetInstanceNodes(uuid) == (MASTER,)
  assert cfg.GetNodeInstances(MASTER) == ([uuid], [])
  saved = _Saved(cfg_file)
  assert saved["instances"][uuid]["disks"] == [disks[0].uuid]
  assert disks[0].uuid in saved["disks"]
  assert ssconf.SimpleStore(os.path.dirname(cfg_file)).GetInstanceList() == \
    ["inst1.example.com"]

  with pytest.raises(errors.ConfigurationError, match="already in use"):
    cfg.AddInstance(_Instance("inst2", "aa:00:00:00:00:01"))
  with pytest.raises(errors.ConfigurationError, match="name already in use"):
    cfg.AddInstance(_Instance("inst1.example.com", "aa:00:00:00:00:02"))

  cfg.MarkInstanceUp(uuid)
  assert cfg.GetInstanceInfo(uuid).admin_state == "up"
  assert cfg.GetInstanceInfo(uuid).disks_active is True
  cfg.MarkInstanceDown(uuid)
  assert cfg.GetInstanceInfo(uuid).admin_state == "down"

  drbd_like = _Disk(node=NODE2)
  cfg.AddInstanceDisk(uuid, drbd_like, idx=0)
  assert [disk.uuid for disk in cfg.GetInstanceDisks(uuid)][0] == drbd_like.uuid
  assert cfg.GetInstanceSecondaryNodes(uuid) == (NODE2,)
  assert cfg.GetNodeInstances(NODE2) == ([], [uuid])
  cfg.DetachInstanceDisk(uuid, drbd_like.uuid)
  assert cfg.GetDiskInfo(drbd_like.uuid) is not None
  cfg.AttachInstanceDisk(uuid, drbd_like.uuid)
  cfg.RemoveInstanceDisk(uuid, drbd_like.uuid)
  assert cfg.GetDiskInfo(drbd_like.uuid) is None

  cfg.RenameInstance(uuid, "renamed")
  assert cfg.GetInstanceName(uuid) == "renamed"
  assert cfg.GetInstanceDisks(uuid)[0].logical_id[1] == \
    "/srv/ganeti/file-storage/renamed/disk0"
  cfg.RemoveInstance(uuid)
  assert cfg.GetInstanceList() == [] and _Saved(cfg_file)["disks"] == {}
  assert cfg.VerifyConfig() == []


def test_diskless_and_mixed_templates(cfg):
  cfg.AddInstance(_Instance("dl", "aa:00:00:00:00:03", disks=[]))
  uuid = cfg.GetInstanceInfoByName("dl").uuid
  assert cfg.GetInstanceDiskTemplate(uuid) == "diskless"
  plain = _Disk()
  plain.dev_type = "plain"
  cfg.AddInstanceDisk(uuid, plain)
  cfg.AddInstanceDisk(uuid, _Disk())
  assert cfg.GetInstanceDiskTemplate(uuid) == config.DT_MIXED


def test_nodes_groups_candidates(cfg):
  cfg.AddNodeGroup(objects.NodeGroup(name="rack2"))
  rack2 = cfg.LookupNodeGroup("rack2")
  assert cfg.GetNodeGroup(rack2).alloc_policy == "preferred"
  with pytest.raises(errors.OpPrereqError, match="More than one node group"):
    cfg.LookupNodeGroup(None)
  node = objects.Node(name="node3.gnt.test", primary_ip="198.51.100.3",
                      secondary_ip="198.51.100.3", group="rack2")
  cfg.AddNode(node, "job-2")
  assert cfg.GetNodeGroup(rack2).members == [node.uuid]
  assert cfg.GetMasterCandidateStats() == (2, 3, 3)
  promoted = cfg.MaintainCandidatePool()
  assert [n.uuid for n in promoted] == [node.uuid]
  assert cfg.GetNodeInfo(node.uuid).master_candidate is True
  with pytest.raises(errors.ConfigurationError, match="still has nodes"):
    cfg.RemoveNodeGroup(rack2)
  cfg.AssignGroupNodes([(node.uuid, GROUP)])
  assert cfg.GetNodeGroup(GROUP).members == [MASTER, NODE2, node.uuid]
  assert cfg.GetNodeGroupsFromNodes([node.uuid]) == frozenset([GROUP])
  cfg.RemoveNode(node.uuid)
  assert node.uuid not in cfg.GetNodeGroup(GROUP).members
  cfg.RemoveNodeGroup(rack2)
  assert cfg.GetNodeGroupList() == [GROUP]
  with pytest.raises(errors.ConfigurationError, match="name already in use"):
    cfg.AddNode(objects.Node(name="node1.gnt.test", primary_ip="1.2.3.4"))


def test_networks_and_filters(cfg, cfg_file):
  net = objects.Network(name="net1", network="10.0.0.0/24", mac_prefix="aa:bb:cc")
  cfg.AddNetwork(net)
  assert cfg.LookupNetwork("net1") == net.uuid
  assert cfg.LookupNetworkInfo("net1").network == "10.0.0.0/24"
  group = cfg.GetNodeGroup(GROUP)
  group.networks[net.uuid] = {"mode": "routed", "link": "100", "vlan": ""}
  cfg.Update(group)
  mac = cfg.GenerateMAC(net.uuid, "job-3")
  assert mac.startswith("aa:bb:cc:")
  assert cfg.GenerateMAC(None, "job-3").startswith("aa:00:00:")
  with pytest.raises(errors.ReservationError):
    cfg.ReserveMAC(mac, "job-4")
  cfg.DropECReservations("job-3")
  cfg.ReserveMAC(mac, "job-4")
  cfg.RemoveNetwork(net.uuid)
  assert cfg.GetNodeGroup(GROUP).networks == {}

  rule = objects.Filter(priority=5, predicates=[["jobid", [">", "id", "watermark"]]],
                        action="REJECT", reason_trail=[["luxid", "", 1]], watermark=10)
  uuid = cfg.AddFilter(rule)
  assert _Saved(cfg_file)["filters"][uuid]["action"] == "REJECT"
  assert cfg.GetFilter(uuid).priority == 5
  replacement = cfg.GetFilter(uuid)
  replacement.action = ["RATE_LIMIT", 2]
  with pytest.raises(errors.ConfigurationError):
    cfg.AddFilter(replacement)
  cfg.AddFilter(replacement, replace=True)
  assert [f.action for f in cfg.GetFilters()] == [["RATE_LIMIT", 2]]
  cfg.RemoveFilter(uuid)
  assert cfg.GetAllFiltersInfo() == {}


def test_unique_ids_and_ports(cfg):
  ids = {cfg.GenerateUniqueID("job") for _ in range(50)}
  assert len(ids) == 50 and MASTER not in ids
  assert cfg.AllocatePort() == 11000
  assert cfg.AllocatePort() == 11001
  assert cfg.GetClusterInfo().highest_used_port == 11001


def test_concurrent_changes(cfg, cfg_file):
  errors_seen = []

  def _Worker(idx: int) -> None:
    try:
      for j in range(5):
        cfg.AddInstance(_Instance("i%d-%d" % (idx, j), "aa:00:01:00:%02x:%02x" % (idx, j)))
        assert len(cfg.GetAllInstancesInfo()) >= j + 1
        cfg.GetSsconfValues()
    except Exception as err:  # pylint: disable=broad-except
      errors_seen.append(err)
  threads = [threading.Thread(target=_Worker, args=(idx,)) for idx in range(8)]
  for thread in threads:
    thread.start()
  for thread in threads:
    thread.join()
  assert errors_seen == []
  assert len(cfg.GetInstanceList()) == 40
  reloaded = config.ConfigWriter(cfg_file)
  assert sorted(reloaded.GetInstanceNames(reloaded.GetInstanceList())) == \
    sorted("i%d-%d" % (i, j) for i in range(8) for j in range(5))
  assert reloaded.VerifyConfig() == []


def test_verify_finds_problems(cfg):
  inst = _Instance("a", "aa:00:00:00:00:09")
  cfg.AddInstance(inst)
  data = cfg._config_data  # pylint: disable=protected-access
  data.instances[inst.uuid].primary_node = "gone"
  data.nodes[NODE2].group = "nogroup"
  data.cluster.beparams["default"]["vcpus"] = "many"
  problems = cfg.VerifyConfig()
  assert any("invalid primary node gone" in p for p in problems)
  assert any("invalid group 'nogroup'" in p for p in problems)
  assert any("'vcpus'" in p for p in problems)


def test_init_config(tmp_path):
  cfg_file = str(tmp_path / "data" / "config.data")
  cfg = config.InitConfig(
    cfg_file=cfg_file, cluster_name="new.example.com", master_name="m.example.com",
    primary_ip="192.0.2.10", master_ip="192.0.2.1", master_netdev="eth0",
    master_netmask=24, enabled_hypervisors=["kvm", "fake"],
    enabled_disk_templates=["plain", "drbd"], beparams={"maxmem": 512},
    nicparams={"link": "br0"}, hvparams={"kvm": {"kernel_path": ""}},
    ndparams={"ssh_port": 2222}, candidate_pool_size=5, mac_prefix="aa:11:22",
    default_iallocator="hail", volume_group_name="xenvg",
    modify_etc_hosts=False, enabled_data_collectors={"lv": False},
    master_cert_digest="AB:CD")
  assert cfg.GetClusterName() == "new.example.com"
  assert cfg.GetMasterNodeName() == "m.example.com"
  master = cfg.GetMasterNodeInfo()
  assert master.secondary_ip == "192.0.2.10" and master.master_candidate
  group = cfg.GetNodeGroup(master.group)
  assert group.name == "default" and group.members == [master.uuid]
  cluster = cfg.GetClusterInfo()
  assert cluster.enabled_hypervisors == ["kvm", "fake"]
  assert cluster.GetDefaultHypervisor() == "kvm"
  assert cluster.beparams == {"default": dict(paramdefs.BEC_DEFAULTS, maxmem=512)}
  assert cluster.nicparams["default"]["link"] == "br0"
  assert cluster.hvparams["kvm"]["kernel_path"] == ""
  assert cluster.hvparams["xen-pvm"] == paramdefs.HVC_DEFAULTS["xen-pvm"]
  assert cluster.ndparams["ssh_port"] == 2222
  assert cluster.ipolicy["disk-templates"] == ["plain", "drbd"]
  assert cluster.ipolicy["std"] == paramdefs.IPOLICY_DEFAULTS["std"]
  assert set(cluster.hv_state_static) == {"kvm", "fake"}
  assert cluster.data_collectors["lv"]["active"] is False
  assert cluster.data_collectors["drbd"] == {"active": True, "interval": 5000000}
  assert cluster.candidate_certs == {master.uuid: "AB:CD"}
  assert cluster.candidate_pool_size == 5 and cluster.mac_prefix == "aa:11:22"
  assert cluster.highest_used_port == 10999
  assert cluster.volume_group_name == "xenvg" and cluster.modify_etc_hosts is False
  assert cluster.file_storage_dir and cluster.gluster_storage_dir
  assert cfg.VerifyConfig() == []
  store = ssconf.SimpleStore(cfg_location=os.path.dirname(cfg_file))
  assert store.GetMasterNode() == "m.example.com"
  assert store.GetNodeList() == ["m.example.com"]
  assert store.GetHypervisorList() == ["kvm", "fake"]
  assert store.GetMasterNetmask() == 24
  # The same layout as a real config.data
  saved = _Saved(cfg_file)
  real = serializer.LoadJson(open(REAL_CONFIG).read()) if os.path.exists(REAL_CONFIG) else None
  if real is not None:
    assert list(saved) == list(real)
    expected = [key for key in real["cluster"]]
    expected.insert(expected.index("reserved_lvs"), "volume_group_name")
    assert list(saved["cluster"]) == expected
    assert list(saved["nodes"][master.uuid]) == list(real["nodes"][MASTER])
  with pytest.raises(errors.ProgrammerError, match="no_such_setting"):
    config.MakeInitialConfig("c", "m", "1.2.3.4", "1.2.3.5", "eth0", no_such_setting=1)


def test_load_errors(tmp_path, cfg_file):
  with pytest.raises(errors.ConfigurationError, match="Cannot read"):
    config.ConfigWriter(str(tmp_path / "missing.data"))
  doc = _Saved(cfg_file)
  doc["version"] = 2160000
  old = tmp_path / "old.data"
  old.write_text(json.dumps(doc))
  with pytest.raises(errors.ConfigVersionMismatch):
    config.ConfigWriter(str(old))
  broken = tmp_path / "broken.data"
  broken.write_text("{not json")
  with pytest.raises(errors.ConfigurationError):
    config.ConfigWriter(str(broken))


def _SaveCalls() -> dict[str, set[str]]:
  """ConfigWriter's methods (by name) and the self.<method> calls in each."""
  import ast  # pylint: disable=import-outside-toplevel
  import inspect  # pylint: disable=import-outside-toplevel
  calls = {}
  for cls in config.ConfigWriter.__mro__:
    if not cls.__module__.startswith("ganeti.config"):
      continue
    for node in ast.parse(inspect.getsource(cls)).body[0].body:
      if isinstance(node, ast.FunctionDef):
        calls[node.name] = {call.func.attr for call in ast.walk(node)
                            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                            and isinstance(call.func.value, ast.Name) and call.func.value.id == "self"}
  return calls


def test_every_save_is_an_opcode_change():
  """A method that saves the configuration, directly or through another one,
  waits (as an opcode's first change) before it takes the writer's lock."""
  calls = _SaveCalls()
  saving = {"_WriteConfig"}
  grown = True
  while grown:
    before = len(saving)
    saving.update(name for name, called in calls.items() if called & saving)
    grown = len(saving) > before
  public = sorted(name for name in saving if not name.startswith("_"))
  assert "Update" in public and "AddInstance" in public and "MarkInstanceUp" in public
  assert [name for name in public
          if not getattr(getattr(config.ConfigWriter, name), "writes", False)] == []


def test_the_first_save_waits_outside_the_lock(cfg):
  """The job queue's writer reads the configuration while the opcode waits
  for it: the wait must not hold the writer's lock."""
  from ganeti import firstchange  # pylint: disable=import-outside-toplevel
  seen = []

  def wait():
    reader = threading.Thread(target=lambda: seen.append(cfg.GetClusterName()))
    reader.start()
    reader.join(5)
    seen.append("waited")

  firstchange.HoldUntil(wait)
  try:
    for _ in range(2):
      cfg.Update(cfg.GetClusterInfo(), None)
  finally:
    firstchange.Drop()
  assert seen == ["cluster.gnt.test", "waited"]
