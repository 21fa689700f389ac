"""Tests for ganeti.objects and ganeti.paramdefs."""

import json
import os

import pytest

from ganeti import constants
from ganeti import errors
from ganeti import objects
from ganeti import paramdefs
from ganeti import serializer

REAL_CONFIG = os.path.join(os.path.dirname(__file__), "..", "data", "ganeti-3.0", "config.data")

# Objects as a real Ganeti 3.0 wrote them to config.data (an instance with a
# file disk and a NIC in a network, the network, and a job filter).
REAL_OBJECTS = json.loads("""{
 "instance": {"name": "cfgprobe1", "primary_node": "07c9feed-129f-454f-b4e8-91a9084aeed4",
  "os": "lab+default", "hypervisor": "fake", "hvparams": {},
  "beparams": {"maxmem": 256, "vcpus": 2}, "osparams": {}, "osparams_private": {},
  "admin_state": "down", "admin_state_source": "admin",
  "nics": [{"mac": "aa:00:00:e6:e1:f7", "nicparams": {}, "name": "probenic",
            "uuid": "d3adb811-5d69-4602-ae27-59a39f6c28fa"},
           {"mac": "aa:bb:cc:12:6e:f0", "ip": "10.99.0.2",
            "nicparams": {"mode": "routed", "link": "100", "vlan": ""},
            "network": "f75ef021-5af7-4fa7-bd6f-af07ad6caa20",
            "uuid": "263e7f25-c6cb-4269-a211-e9e39219a1bb"}],
  "disks": ["70f3589d-83a7-42ba-80bb-6a4a40ecde84"], "disks_active": false,
  "ctime": 1795578414.562066, "mtime": 1795578443.822529,
  "uuid": "93055cb9-bfc6-4749-99b8-86f93b873d63", "serial_no": 4, "tags": ["probetag"]},
 "disk": {"logical_id": ["loop", "/srv/ganeti/file-storage/cfgprobe1/7b97.file.disk0"],
  "dev_type": "file", "children": [], "nodes": ["07c9feed-129f-454f-b4e8-91a9084aeed4"],
  "iv_name": "disk/0", "size": 1024, "mode": "rw", "name": "probedisk", "params": {},
  "uuid": "70f3589d-83a7-42ba-80bb-6a4a40ecde84", "serial_no": 1,
  "ctime": 1795578414.5779493, "mtime": 1795578414.5779476},
 "network": {"name": "cfgprobenet", "mac_prefix": "aa:bb:cc", "network": "10.99.0.0/24",
  "network6": "2001:db8::/64", "gateway": "10.99.0.1", "reservations": "0010",
  "ext_reservations": "1100", "uuid": "f75ef021-5af7-4fa7-bd6f-af07ad6caa20",
  "ctime": 1795578429.7059507, "mtime": 1795578429.7059507, "serial_no": 1, "tags": []},
 "filter": {"watermark": 35, "priority": 5,
  "predicates": [["reason", ["==", "reason", "cfgprobe-never-matches"]]],
  "action": "CONTINUE", "reason_trail": [["luxid", "", 1795578434306069000]],
  "uuid": "4449b6b5-53fa-4e48-934d-64a5866c536d"}
}""")


def _Compact(data) -> str:
  """Text that differs whenever content or key order differs."""
  return serializer.DumpJson(data)


@pytest.fixture(name="real")
def fixture_real() -> dict:
  if not os.path.exists(REAL_CONFIG):
    pytest.skip("facts not available")
  return serializer.LoadJson(open(REAL_CONFIG).read())


def _Full(real: dict) -> dict:
  """The real configuration with the captured objects added."""
  doc = json.loads(json.dumps(real))
  for kind, container in (("instance", "instances"), ("disk", "disks"),
                          ("network", "networks"), ("filter", "filters")):
    obj = REAL_OBJECTS[kind]
    doc[container][obj["uuid"]] = json.loads(json.dumps(obj))
  return doc


def test_real_config_round_trip(real):
  for doc in (real, _Full(real)):
    data = objects.ConfigData.FromDict(json.loads(json.dumps(doc)))
    assert data.ToDict() == doc
    assert _Compact(data.ToDict()) == _Compact(doc)  # same key order too


def test_upgrade_leaves_complete_config_unchanged(real):
  doc = _Full(real)
  data = objects.ConfigData.FromDict(json.loads(json.dumps(doc)))
  data.UpgradeConfig()
  assert _Compact(data.ToDict()) == _Compact(doc)


def test_objects_have_real_types(real):
  data = objects.ConfigData.FromDict(_Full(real))
  inst = data.instances[REAL_OBJECTS["instance"]["uuid"]]
  assert isinstance(inst, objects.Instance)
  assert isinstance(inst.nics[1], objects.NIC)
  assert inst.nics[1].network == REAL_OBJECTS["network"]["uuid"]
  assert isinstance(data.disks[inst.disks[0]], objects.Disk)
  assert isinstance(data.filters[REAL_OBJECTS["filter"]["uuid"]], objects.Filter)
  assert data.cluster.cluster_name == "cluster.gnt.test"
  assert data.cluster.volume_group_name is None
  assert "volume_group_name" not in data.cluster.ToDict()


def test_unknown_field_refused():
  with pytest.raises(errors.ConfigurationError, match="bogus"):
    objects.Node.FromDict({"name": "n", "bogus": 1})
  with pytest.raises(errors.ProgrammerError):
    objects.Node(name="n", bogus=1)


def test_copy_is_deep(real):
  data = objects.ConfigData.FromDict(_Full(real))
  inst = data.instances[REAL_OBJECTS["instance"]["uuid"]]
  copy = inst.Copy()
  copy.beparams["vcpus"] = 8
  copy.nics[0].nicparams["link"] = "x"
  copy.tags.append("new")
  assert inst.beparams["vcpus"] == 2
  assert inst.nics[0].nicparams == {}
  assert inst.tags == ["probetag"]
  assert copy.ToDict() != inst.ToDict()
  # the whole configuration: objects in dicts and lists, parameters two
  # levels deep
  whole = data.Copy()
  assert whole.ToDict() == data.ToDict()
  hypervisor = next(iter(whole.cluster.hvparams))
  whole.cluster.hvparams[hypervisor]["copied"] = True
  assert "copied" not in data.cluster.hvparams[hypervisor]
  for uuid, disk in whole.disks.items():
    assert disk is not data.disks[uuid] and disk.ToDict() == data.disks[uuid].ToDict()


def test_upgrade_fills_partial_config():
  data = objects.ConfigData.FromDict({
    "version": constants.CONFIG_VERSION,
    "cluster": {"cluster_name": "c.example.com", "master_node": "n1",
                "beparams": {"default": {"memory": 512}},
                "hvparams": {"kvm": {"kernel_path": "/vmlinuz"}},
                "ndparams": {"ssh_port": 2222}},
    "nodes": {"n1": {"name": "node1", "primary_ip": "192.0.2.1"}},
    "instances": {"i1": {"name": "inst1", "primary_node": "n1", "hypervisor": "kvm",
                         "os": "debian", "beparams": {"memory": 256},
                         "hvparams": {"migration_port": 1, "acpi": False},
                         "nics": [{"mac": "aa:00:00:00:00:01"}]}},
  })
  data.UpgradeConfig()
  cluster = data.cluster
  assert set(cluster.hvparams) == set(constants.HYPER_TYPES)
  assert cluster.hvparams["kvm"]["kernel_path"] == "/vmlinuz"
  assert cluster.hvparams["kvm"]["acpi"] is True
  assert cluster.beparams["default"]["maxmem"] == 512
  assert cluster.beparams["default"]["minmem"] == 512
  assert "memory" not in cluster.beparams["default"]
  assert cluster.beparams["default"]["vcpus"] == 1
  assert cluster.nicparams["default"] == paramdefs.NICC_DEFAULTS
  assert cluster.ndparams["ssh_port"] == 2222
  assert cluster.ndparams["ovs_name"] == "switch1"
  assert set(cluster.diskparams) == set(constants.DISK_TEMPLATES)
  assert cluster.ipolicy == paramdefs.IPOLICY_DEFAULTS
  assert cluster.ipolicy is not paramdefs.IPOLICY_DEFAULTS
  assert set(cluster.data_collectors) == set(paramdefs.DATA_COLLECTOR_NAMES)
  assert cluster.candidate_pool_size == 10
  assert cluster.max_running_jobs == 20
  assert cluster.max_tracked_jobs == 25
  assert cluster.compression_tools == ["gzip", "gzip-fast", "gzip-slow"]
  assert cluster.master_netmask == 32
  assert cluster.tags == []
  node = data.nodes["n1"]
  assert node.uuid == "n1" and node.master_capable and node.vm_capable
  group = data.nodegroups[node.group]
  assert group.name == "default" and group.alloc_policy == "preferred"
  inst = data.instances["i1"]
  assert inst.beparams == {"maxmem": 256, "minmem": 256}
  assert inst.hvparams == {"acpi": False}  # globals only live at cluster level
  assert inst.admin_state == "down" and inst.disks == [] and inst.disks_active is False
  assert inst.nics[0].nicparams == {}
  # Defaults are fresh objects, never shared between objects or with paramdefs
  cluster.ipolicy["std"]["cpu-count"] = 99
  assert paramdefs.IPOLICY_DEFAULTS["std"]["cpu-count"] == 1


def test_defaults_match_real_cluster(real):
  cluster = real["cluster"]
  assert paramdefs.HVC_DEFAULTS == cluster["hvparams"]
  assert list(paramdefs.HVC_DEFAULTS) == list(cluster["hvparams"])
  assert paramdefs.BEC_DEFAULTS == cluster["beparams"]["default"]
  assert list(paramdefs.BEC_DEFAULTS) == list(cluster["beparams"]["default"])
  assert paramdefs.NDC_DEFAULTS == cluster["ndparams"]
  assert list(paramdefs.NDC_DEFAULTS) == list(cluster["ndparams"])
  assert paramdefs.DISK_DT_DEFAULTS == cluster["diskparams"]
  assert paramdefs.DATA_COLLECTORS_DEFAULTS == cluster["data_collectors"]
  expected_ipolicy = dict(cluster["ipolicy"],
                          **{"disk-templates": sorted(constants.DISK_TEMPLATES)})
  assert paramdefs.IPOLICY_DEFAULTS == expected_ipolicy
  for hv_name, params in paramdefs.HVC_DEFAULTS.items():
    types = paramdefs.GetHvParameterTypes(hv_name)
    assert set(types) == set(params)


def _Cluster() -> objects.Cluster:
  cluster = objects.Cluster(
    cluster_name="c", enabled_hypervisors=["kvm"],
    os_hvp={"debian": {"kvm": {"kernel_args": "quiet"}}},
    osparams={"debian": {"dhcp": "yes", "mirror": "a"}, "debian+big": {"mirror": "b"}},
    osparams_private_cluster={"debian": {"password": "p"}},
    hvparams={"kvm": {"kernel_args": "ro", "migration_port": 8102}},
    beparams={"default": {"vcpus": 2}}, nicparams={"default": {"link": "br9"}},
    ndparams={"ssh_port": 2200}, diskparams={"drbd": {"resync-rate": 100}},
    ipolicy={"std": {"cpu-count": 2}})
  cluster.UpgradeConfig()
  return cluster


def test_fill_hv_inheritance():
  cluster = _Cluster()
  inst = objects.Instance(name="i", os="debian+big", hypervisor="kvm",
                          hvparams={"acpi": False})
  filled = cluster.FillHV(inst)
  assert filled["acpi"] is False  # instance
  assert filled["kernel_args"] == "ro"  # variant has no os_hvp of its own
  assert filled["kvm_path"] == "/usr/bin/kvm"  # defaults
  assert filled["migration_port"] == 8102
  assert "migration_port" not in cluster.FillHV(inst, skip_globals=True)
  assert cluster.SimpleFillHV("kvm", "debian", {})["kernel_args"] == "quiet"
  assert cluster.GetHVDefaults("kvm", "debian")["kernel_args"] == "quiet"
  assert inst.hvparams == {"acpi": False}  # filling never changes the source


def test_fill_be_nic_os():
  cluster = _Cluster()
  inst = objects.Instance(beparams={"maxmem": 1024})
  assert cluster.FillBE(inst) == dict(paramdefs.BEC_DEFAULTS, vcpus=2, maxmem=1024)
  nic = objects.NIC(nicparams={"mode": "routed"})
  assert cluster.FillNIC(nic) == {"mode": "routed", "link": "br9", "vlan": ""}
  assert cluster.SimpleFillOS("debian+big", {"extra": "1"}) == {
    "dhcp": "yes", "mirror": "b", "password": "p", "extra": "1"}
  assert cluster.SimpleFillOS("debian", None)["mirror"] == "a"


def test_fill_nd_cluster_group_node():
  cluster = _Cluster()
  group = objects.NodeGroup(ndparams={"spindle_count": 4, "ssh_port": 2300})
  node = objects.Node(ndparams={"ssh_port": 2400})
  filled = cluster.FillND(node, group)
  assert filled["ssh_port"] == 2400
  assert filled["spindle_count"] == 4
  assert filled["ovs_name"] == "switch1"
  assert set(filled) == set(paramdefs.NDC_DEFAULTS)
  assert cluster.FillND(objects.Node(ndparams={}), group)["ssh_port"] == 2300


def test_fill_ipolicy_and_diskparams():
  cluster = _Cluster()
  group = objects.NodeGroup(ipolicy={"std": {"nic-count": 3}, "vcpu-ratio": 2.0},
                            diskparams={"drbd": {"c-min-rate": 1}})
  policy = cluster.FillIPolicy(group)
  # std specs merge key by key; other keys are replaced as a whole
  assert policy["std"]["nic-count"] == 3 and policy["std"]["cpu-count"] == 2
  assert policy["vcpu-ratio"] == 2.0
  assert policy["minmax"] == paramdefs.IPOLICY_DEFAULTS["minmax"]
  group.ipolicy["minmax"] = [{"min": {"cpu-count": 2}, "max": {"cpu-count": 4}}]
  assert cluster.FillIPolicy(group)["minmax"] == group.ipolicy["minmax"]
  params = cluster.FillDP(group)
  assert params["drbd"]["c-min-rate"] == 1
  assert params["drbd"]["resync-rate"] == 100
  assert params["plain"] == {"stripes": 1}
  assert set(params) == set(constants.DISK_TEMPLATES)


def test_tags_rules():
  node = objects.Node(name="n", tags=[])
  for tag in ("a", "a.b:c-d_e+f*/@", "ünïcode", "x" * 128):
    node.AddTag(tag)
  node.AddTag("a")  # adding twice keeps one
  assert node.tags.count("a") == 1
  assert node.GetTags() == {"a", "a.b:c-d_e+f*/@", "ünïcode", "x" * 128}
  cases = [(123, "Invalid tag type (not a string)"),
           ("x" * 129, "Tag too long (>128 characters)"),
           ("", "Tags cannot be empty"),
           ("bad tag", "Tag contains invalid characters"),
           ("semi;colon", "Tag contains invalid characters"),
           ("trailing\n", "Tag contains invalid characters")]
  for tag, message in cases:
    with pytest.raises(errors.TagError) as info:
      node.AddTag(tag)
    assert info.value.args == (message,)
  with pytest.raises(errors.TagError) as info:
    node.RemoveTag("missing")
  assert info.value.args == ("Tag not found",)
  node.RemoveTag("a")
  assert "a" not in node.GetTags()


def test_too_many_tags():
  group = objects.NodeGroup(tags=["t%d" % i for i in range(constants.MAX_TAGS_PER_OBJ)])
  with pytest.raises(errors.TagError) as info:
    group.AddTag("one-more")
  assert info.value.args == ("Too many tags",)


def test_disk_helpers():
  lv_data = objects.Disk(dev_type="plain", size=1024, children=[])
  lv_meta = objects.Disk(dev_type="plain", size=128, children=[])
  drbd = objects.Disk(dev_type="drbd", size=1024, children=[lv_data, lv_meta])
  drbd.RecordGrow(512)
  assert (drbd.size, lv_data.size, lv_meta.size) == (1536, 1536, 128)
  assert drbd.IsBasedOnDiskType("plain") and not lv_data.IsBasedOnDiskType("drbd")
  with pytest.raises(errors.ProgrammerError):
    objects.Disk(dev_type="diskless", size=0).RecordGrow(1)


def test_nic_parameter_syntax():
  objects.NIC.CheckParameterSyntax({"mode": "routed", "link": ""})
  with pytest.raises(errors.ConfigurationError, match="Invalid NIC mode 'bad'"):
    objects.NIC.CheckParameterSyntax({"mode": "bad", "link": "x"})
  with pytest.raises(errors.ConfigurationError):
    objects.NIC.CheckParameterSyntax({"mode": "bridged", "link": ""})


@pytest.mark.parametrize("text,expected", [
  ("512", 512), ("1.5", 4), ("10M", 12), ("1gb", 1024), ("1.5g", 1536),
  ("4GiB", 4096), ("7t", 7340032), ("0", 0), ("4 ", 4), ("4096.7", 4100),
])
def test_parse_unit(text, expected):
  assert paramdefs.ParseUnit(text) == expected


@pytest.mark.parametrize("text,message", [
  ("100k", "Unknown unit: k"), ("2048K", "Unknown unit: K"), ("-1", "Invalid format"),
  ("", "Invalid format"), (" 4 GB", "Invalid format"), ("1e3", "Invalid format"),
])
def test_parse_unit_errors(text, message):
  with pytest.raises(errors.UnitParseError) as info:
    paramdefs.ParseUnit(text)
  assert info.value.args == (message,)


def test_force_dict_type_converts():
  params = {"maxmem": "1G", "minmem": 512, "vcpus": "2", "auto_balance": "false",
            "always_failover": "True", "spindle_use": 3.0}
  paramdefs.ForceDictType(params, paramdefs.BES_PARAMETER_TYPES)
  assert params == {"maxmem": 1024, "minmem": 512, "vcpus": 2, "auto_balance": False,
                    "always_failover": True, "spindle_use": 3}
  nd = {"cpu_speed": "1.5", "ovs_link": None, "oob_program": ""}
  paramdefs.ForceDictType(nd, paramdefs.NDS_PARAMETER_TYPES)
  assert nd == {"cpu_speed": 1.5, "ovs_link": None, "oob_program": ""}
  kept = {"vcpus": "default"}
  paramdefs.ForceDictType(kept, paramdefs.BES_PARAMETER_TYPES, allowed_values=["default"])
  assert kept == {"vcpus": "default"}


@pytest.mark.parametrize("params,message", [
  ({"auto_balance": "no"}, "'auto_balance' (value no) is not a valid boolean"),
  ({"vcpus": "x"}, "'vcpus' (value x) is not a valid integer"),
  ({"vcpus": "3.7"}, "'vcpus' (value 3.7) is not a valid integer"),
  ({"maxmem": "abc"}, "'maxmem' (value abc) is not a valid size. error: Invalid format"),
  ({"maxmem": "100k"}, "'maxmem' (value 100k) is not a valid size. error: Unknown unit: k"),
  ({"maxmem": True}, "'maxmem' (value True) is not a valid size. error: Invalid format"),
  ({"bogus": 1}, "Unknown parameter 'bogus'"),
])
def test_force_dict_type_errors(params, message):
  with pytest.raises(errors.TypeEnforcementError) as info:
    paramdefs.ForceDictType(params, paramdefs.BES_PARAMETER_TYPES)
  assert info.value.args == (message,)


def test_force_dict_type_strings():
  with pytest.raises(errors.TypeEnforcementError) as info:
    paramdefs.ForceDictType({"oob_program": None}, paramdefs.NDS_PARAMETER_TYPES)
  assert info.value.args == ("'oob_program' (value None) is not a valid string",)
  with pytest.raises(errors.TypeEnforcementError) as info:
    paramdefs.ForceDictType({"cpu_speed": "x"}, paramdefs.NDS_PARAMETER_TYPES)
  assert info.value.args == ("'cpu_speed' (value x) is not a valid float",)
  with pytest.raises(errors.TypeEnforcementError) as info:
    paramdefs.ForceDictType("notadict", paramdefs.NDS_PARAMETER_TYPES)
  assert info.value.args == ("Expected dictionary, got 'notadict'",)


def test_check_params_by_family():
  hv = {"migration_mode": "non-live"}
  paramdefs.CheckParams("hvparams/fake", hv)
  with pytest.raises(errors.TypeEnforcementError, match="Unknown parameter 'kernel_path'"):
    paramdefs.CheckParams("hvparams/fake", {"kernel_path": "/x"})
  drbd = {"resync-rate": "100", "dynamic-resync": "true"}
  paramdefs.CheckParams("diskparams/drbd", drbd)
  assert drbd == {"resync-rate": 100, "dynamic-resync": True}
  with pytest.raises(errors.TypeEnforcementError):
    paramdefs.CheckParams("diskparams/plain", {"resync-rate": 1})
  with pytest.raises(errors.TypeEnforcementError):
    paramdefs.CheckParams("hvparams/nosuchhv", {})
