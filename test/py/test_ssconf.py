"""Tests for ganeti.ssconf."""

import os
import re
import stat

import pytest

from ganeti import constants
from ganeti import errors
from ganeti import objects
from ganeti import serializer
from ganeti import ssconf

REAL_CONFIG = os.path.join(os.path.dirname(__file__), "..", "data", "ganeti-3.0", "config.data")
REAL_SSCONF = os.path.join(os.path.dirname(__file__), "..", "data", "ganeti-3.0", "ssconf.txt")


def _RealSsconf() -> dict[str, str]:
  """The real cluster's ssconf files: key -> content without final newline."""
  files: dict[str, list[str]] = {}
  current = None
  for line in open(REAL_SSCONF).read().split("\n"):
    match = re.match(r"== /var/lib/ganeti/ssconf_(.*)", line)
    if match:
      current = match.group(1)
      files[current] = []
    elif current is not None:
      files[current].append(line)
  return {key: "\n".join(lines).rstrip("\n") for key, lines in files.items()}


@pytest.fixture(name="config_data")
def fixture_config_data() -> objects.ConfigData:
  if not os.path.exists(REAL_CONFIG):
    pytest.skip("facts not available")
  data = objects.ConfigData.FromDict(serializer.LoadJson(open(REAL_CONFIG).read()))
  data.UpgradeConfig()
  return data


def test_values_match_real_cluster(config_data):
  values = ssconf.ComputeSsconfValues(config_data)
  real = _RealSsconf()
  assert set(values) == set(real) == ssconf.VALID_SS_KEYS
  for key in real:
    assert values[key] == real[key], key


def test_values_follow_config(config_data):
  nodes = list(config_data.nodes.values())
  nodes[1].offline = True
  nodes[1].master_candidate = False
  nodes[1].vm_capable = False
  group = config_data.nodegroups[nodes[0].group]
  group.ndparams = {"ssh_port": 2222}
  nodes[1].ndparams = {"ssh_port": 2200}
  config_data.cluster.uid_pool = [[1000, 1000], [2000, 2010]]
  config_data.cluster.tags = ["zeta", "alpha"]
  for idx, name in enumerate(["inst10", "inst9", "inst1"]):
    uuid = "i%d" % idx
    config_data.instances[uuid] = objects.Instance(name=name, uuid=uuid)
  config_data.networks["n1"] = objects.Network(name="net1", uuid="n1")
  values = ssconf.ComputeSsconfValues(config_data)
  assert values["online_nodes"] == "node1.gnt.test"
  assert values["offline_nodes"] == "node2.gnt.test"
  assert values["master_candidates"] == "node1.gnt.test"
  assert values["master_candidates_ips"] == "198.51.100.1"
  assert values["node_vm_capable"] == "node1.gnt.test=True\nnode2.gnt.test=False"
  assert values["ssh_ports"] == "node1.gnt.test=2222\nnode2.gnt.test=2200"
  assert values["uid_pool"] == "1000\n2000-2010"
  assert values["cluster_tags"] == "alpha\nzeta"
  assert values["instance_list"] == "inst1\ninst9\ninst10"
  assert values["networks"] == "n1 net1"


def test_write_and_read_back(tmp_path, config_data):
  values = ssconf.ComputeSsconfValues(config_data)
  store = ssconf.SimpleStore(cfg_location=str(tmp_path))
  store.WriteFiles(values)
  node_list = tmp_path / "ssconf_node_list"
  assert node_list.read_bytes() == b"node1.gnt.test\nnode2.gnt.test\n"
  assert (tmp_path / "ssconf_instance_list").read_bytes() == b""
  assert (tmp_path / "ssconf_master_node").read_bytes() == b"node1.gnt.test\n"
  assert stat.S_IMODE(os.stat(node_list).st_mode) == 0o444
  assert not [name for name in os.listdir(tmp_path) if name.endswith(".new")]

  assert store.GetClusterName() == "cluster.gnt.test"
  assert store.GetMasterNode() == "node1.gnt.test"
  assert store.GetMasterIP() == "198.51.100.100"
  assert store.GetMasterNetdev() == "gl1"
  assert store.GetMasterNetmask() == 24
  assert store.GetNodeList() == ["node1.gnt.test", "node2.gnt.test"]
  assert store.GetOnlineNodeList() == ["node1.gnt.test", "node2.gnt.test"]
  assert store.GetOfflineNodeList() == []
  assert store.GetInstanceList() == []
  assert store.GetMasterCandidates() == ["node1.gnt.test", "node2.gnt.test"]
  assert store.GetMasterCandidatesIPList() == ["198.51.100.1", "198.51.100.2"]
  assert store.GetMasterCandidatesCertMap()["07c9feed-129f-454f-b4e8-91a9084aeed4"] == \
    "B6:F9:5B:65:CF:49:0B:06:42:7C:B5:D3:36:98:0E:1F:B1:BA:93:59"
  assert store.GetNodePrimaryIPList() == ["node1.gnt.test 198.51.100.1",
                                          "node2.gnt.test 198.51.100.2"]
  assert store.GetNodesVmCapable() == {"node1.gnt.test": True, "node2.gnt.test": True}
  assert store.GetSshPortMap() == {"node1.gnt.test": 22, "node2.gnt.test": 22}
  assert store.GetNodegroupList() == ["00623d44-88f2-4d1d-858e-dbf384963790 default"]
  assert store.GetHypervisorList() == ["fake"]
  assert store.GetClusterTags() == ["foo"]
  assert store.GetPrimaryIPFamily() == 2
  assert store.GetMaintainNodeHealth() is False
  assert store.GetEnabledUserShutdown() is False
  assert store.GetUidPool() == ""
  assert store.GetReleaseVersion() == constants.RELEASE_VERSION
  assert store.GetFileStorageDir() == "/srv/ganeti/file-storage"
  assert store.GetHvparamsForHypervisor("fake") == {"migration_mode": "live"}
  kvm = store.GetHvparamsForHypervisor("kvm")
  assert kvm["spice_tls_ciphers"] == "HIGH:-DES:-3DES:-EXPORT:-DH"
  assert kvm["acpi"] == "True"
  assert set(store.GetHvparams()) == set(constants.HYPER_TYPES)
  assert store.ReadAll() == values


def test_write_replaces_atomically(tmp_path):
  store = ssconf.SimpleStore(cfg_location=str(tmp_path))
  store.WriteFiles({"cluster_name": "one.example.com"})
  store.WriteFiles({"cluster_name": "two.example.com", "uid_pool": "5\n7-9"})
  assert store.GetClusterName() == "two.example.com"
  assert store.GetUidPool() == "5\n7-9"
  store.WriteFiles({"cluster_name": "three"}, dry_run=True)
  assert store.GetClusterName() == "two.example.com"


def test_files_already_right_are_not_rewritten(tmp_path):
  store = ssconf.SimpleStore(cfg_location=str(tmp_path))
  store.WriteFiles({"cluster_name": "one.example.com", "instance_list": "a"})
  name_file, list_file = tmp_path / "ssconf_cluster_name", tmp_path / "ssconf_instance_list"
  kept = os.stat(name_file).st_ino
  replaced = os.stat(list_file).st_ino
  store.WriteFiles({"cluster_name": "one.example.com", "instance_list": "a\nb"})
  # an unchanged file keeps its inode (no new file renamed over it)
  assert os.stat(name_file).st_ino == kept and os.stat(list_file).st_ino != replaced
  assert store.GetInstanceList() == ["a", "b"]
  # a file with the right text but the wrong mode is written again
  os.chmod(name_file, 0o644)
  store.WriteFiles({"cluster_name": "one.example.com"})
  assert stat.S_IMODE(os.stat(name_file).st_mode) == 0o444


def test_errors(tmp_path):
  store = ssconf.SimpleStore(cfg_location=str(tmp_path))
  with pytest.raises(errors.ConfigurationError) as info:
    store.GetMasterNode()
  filename = str(tmp_path / "ssconf_master_node")
  assert info.value.args[0].startswith("Can't read ssconf file %s: [Errno 2]" % filename)
  with pytest.raises(errors.ProgrammerError):
    store.KeyToFilename("no_such_key")
  with pytest.raises(errors.ProgrammerError):
    store.WriteFiles({"no_such_key": "x"})
  assert not os.path.exists(tmp_path / "ssconf_no_such_key")
  store.WriteFiles({"master_netmask": "abc"})
  with pytest.raises(errors.ConfigurationError):
    store.GetMasterNetmask()


def test_nice_sort():
  assert ssconf.NiceSort(["node10", "node9", "node1", "a2b10", "a2b9"]) == \
    ["a2b9", "a2b10", "node1", "node9", "node10"]
