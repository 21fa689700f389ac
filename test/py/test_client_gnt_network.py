"""gnt-network and gnt-group against a fake master daemon that answers
queries from a real configuration (expected texts as Debian's Ganeti 3.0
prints them for the same objects)."""

import pytest

from ganeti import config
from ganeti import luxi
from ganeti import network
from ganeti import objects
from ganeti import query
from ganeti.client import gnt_group
from ganeti.client import gnt_network

from cli_fakeluxi import RunCommand, fake_luxi  # noqa: F401  (fixture)


class _QueryContext:
  def __init__(self, cfg) -> None:
    self.cfg = cfg


@pytest.fixture
def lab(tmp_path, fake_luxi):
  """A cluster like the real lab: group gx1 with custom parameters, network
  nx1 connected to it; the fake master answers queries from it."""
  config.InitConfig(str(tmp_path / "config.data"), cluster_name="cluster",
                    master_name="node1", primary_ip="192.0.2.1", master_ip="192.0.2.100",
                    master_netdev="eth0", enabled_hypervisors=["fake"],
                    enabled_disk_templates=["diskless", "file"], modify_etc_hosts=False)
  cfg = config.ConfigWriter(str(tmp_path / "config.data"))
  # as a real cluster stores it (a new cluster of this tree says 1.0)
  cluster = cfg.GetClusterInfo()
  cluster.ndparams["cpu_speed"] = 1
  cfg.Update(cluster)
  net = objects.Network(name="nx1", network="10.9.0.0/28", gateway="10.9.0.1",
                        mac_prefix="aa:bb:cc", tags=["t1", "t2"])
  pool = network.AddressPool.InitializeNetwork(net)
  for address in ("10.9.0.5", "10.9.0.6"):
    pool.Reserve(address, external=True)
  cfg.AddNetwork(net)
  cfg.AddNodeGroup(objects.NodeGroup(
    name="gx1", alloc_policy="last_resort",
    ndparams={"spindle_count": 3, "oob_program": "/bin/true", "exclusive_storage": True},
    diskparams={"plain": {"stripes": 2}},
    ipolicy={"vcpu-ratio": 3.5, "disk-templates": ["file"], "spindle-ratio": 8},
    networks={net.uuid: {"mode": "bridged", "link": "br9", "vlan": ""}}))
  context = _QueryContext(cfg)
  handlers = fake_luxi.handlers
  handlers[luxi.REQ_QUERY] = lambda args: query.RunQuery(context, *args)
  handlers[luxi.REQ_QUERY_FIELDS] = lambda args: query.QueryFields(*args)
  for method, what in ((luxi.REQ_QUERY_GROUPS, "group"), (luxi.REQ_QUERY_NETWORKS, "network")):
    handlers[method] = (lambda what: lambda args: query.LegacyRows(context, what, args[0],
                                                                   args[1]))(what)
  return cfg


def _Network(*args):
  return RunCommand(gnt_network.Main, "gnt-network", list(args))


def _Group(*args):
  return RunCommand(gnt_group.Main, "gnt-group", list(args))


def _Ops(fake):
  ops = []
  for (job,) in fake.Requests(luxi.REQ_SUBMIT_JOB):
    for op in job:
      op = dict(op)
      op.pop("reason")
      ops.append(op)
  return ops


def test_network_list_as_real(lab, capsys):
  assert _Network("list") == 0
  assert capsys.readouterr().out == (
    "Network Subnet      Gateway  MacPrefix GroupList            Tags\n"
    "nx1     10.9.0.0/28 10.9.0.1 aa:bb:cc  gx1 (bridged, br9, ) t1,t2\n")
  assert _Network("list", "--separator=|", "-o", "name,free_count,reserved_count,map,"
                  "external_reservations,group_cnt,inst_cnt,inst_list,gateway6") == 0
  assert capsys.readouterr().out == (
    "Network|FreeCount|ReservedCount|Map|ExternalReservations|NodeGroups|Instances"
    "|InstanceList|IPv6Gateway\n"
    "nx1|11|5|XX...XX........X|10.9.0.0, 10.9.0.1, 10.9.0.5, 10.9.0.6, 10.9.0.15|1|0||-\n")


def test_network_info_as_real(lab, capsys):
  uuid = lab.LookupNetwork("nx1")
  assert _Network("info", "nx1") == 0
  assert capsys.readouterr().out == (
    "Network name: nx1\n"
    "UUID: %s\n"
    "Serial number: 1\n"
    "  Subnet: 10.9.0.0/28\n"
    "  Gateway: 10.9.0.1\n"
    "  IPv6 Subnet: None\n"
    "  IPv6 Gateway: None\n"
    "  Mac Prefix: aa:bb:cc\n"
    "  Size: 16\n"
    "  Free: 11 (68.75%%)\n"
    "  Usage map:\n"
    "        0 XX...XX........X%s 63\n"
    "         (X) used    (.) free\n"
    "  externally reserved IPs:\n"
    "    10.9.0.0, 10.9.0.1, 10.9.0.5, 10.9.0.6, 10.9.0.15\n"
    "  connected to node groups:\n"
    "    gx1 (mode:bridged link:br9 vlan:)\n"
    "  not used by any instances\n" % (uuid, " " * 48))


def test_usage_map_lines():
  assert gnt_network.FormatUsageMap("X" + "." * 126 + "X") == [
    "        0 X%s 63" % ("." * 63),
    "       64 %sX 127" % ("." * 63),
    "         (X) used    (.) free"]


def test_network_commands_build_opcodes(lab, fake_luxi, capsys):
  assert _Network("add", "--network=10.9.1.0/28", "--gateway=10.9.1.1",
                  "--add-reserved-ips=10.9.1.5,10.9.1.6", "-m", "aa:bb:cc", "--tags=a,b",
                  "nx2") == 0
  assert _Network("connect", "-N", "mode=routed", "nx2", "gx1") == 0
  # without groups: every group; without -N: the built-in NIC defaults
  assert _Network("connect", "nx2") == 0
  assert _Network("disconnect", "nx2", "gx1") == 0
  assert _Network("modify", "--remove-reserved-ips=10.9.1.5", "nx2") == 0
  assert _Network("remove", "nx2") == 0
  ops = _Ops(fake_luxi)
  assert [op["OP_ID"] for op in ops] == [
    "OP_NETWORK_ADD", "OP_NETWORK_CONNECT", "OP_NETWORK_CONNECT", "OP_NETWORK_CONNECT",
    "OP_NETWORK_DISCONNECT", "OP_NETWORK_SET_PARAMS", "OP_NETWORK_REMOVE"]
  add = ops[0]
  assert (add["network"], add["gateway"], add["add_reserved_ips"], add["mac_prefix"],
          add["tags"], add["conflicts_check"]) == (
    "10.9.1.0/28", "10.9.1.1", ["10.9.1.5", "10.9.1.6"], "aa:bb:cc", ["a", "b"], True)
  assert [(op["group_name"], op["network_mode"], op["network_link"], op["network_vlan"])
          for op in ops[1:4]] == [("gx1", "routed", "xen-br0", ""),
                                  ("default", "bridged", "xen-br0", ""),
                                  ("gx1", "bridged", "xen-br0", "")]
  assert ops[5]["remove_reserved_ips"] == ["10.9.1.5"] and ops[5]["gateway"] is None
  capsys.readouterr()
  assert _Network("modify", "nx2") == 1
  assert capsys.readouterr().err == "Please give at least one of the parameters.\n"
  assert _Network("add", "nx3") == 1
  assert "The --network option must be given" in capsys.readouterr().err


def test_group_list_as_real(lab, capsys):
  assert _Group("list") == 0
  assert capsys.readouterr().out == (
    "Group   Nodes Instances AllocPolicy NDParams\n"
    "default     1         0 preferred   oob_program=, spindle_count=1,"
    " exclusive_storage=False, ovs=False, ovs_name=switch1, ovs_link=, ssh_port=22,"
    " cpu_speed=1\n"
    "gx1         0         0 last_resort oob_program=/bin/true, spindle_count=3,"
    " exclusive_storage=True, ovs=False, ovs_name=switch1, ovs_link=, ssh_port=22,"
    " cpu_speed=1\n")


def test_group_info_as_real(lab, capsys):
  assert _Group("info", "gx1") == 0
  out = capsys.readouterr().out
  assert out.startswith(
    "- Node group: gx1\n"
    "  Node parameters: \n"
    "    cpu_speed: default (1)\n"
    "    exclusive_storage: True\n"
    "    oob_program: /bin/true\n"
    "    ovs: default (False)\n"
    "    ovs_link: default ()\n"
    "    ovs_name: default (switch1)\n"
    "    spindle_count: 3\n"
    "    ssh_port: default (22)\n"
    "  Disk parameters: \n"
    "    blockdev: default ({})\n"
    "    diskless: default ({})\n"
    "    drbd: \n"
    "      c-delay-target: default (1)\n")
  assert ("    plain: \n"
          "      stripes: 2\n"
          "    rbd: \n") in out
  assert out.endswith(
    "  Instance policy: \n"
    "    bounds specs: \n"
    "      - max/0: \n"
    "          cpu-count: default (8)\n"
    "          disk-count: default (16)\n"
    "          disk-size: default (1048576)\n"
    "          memory-size: default (32768)\n"
    "          nic-count: default (8)\n"
    "          spindle-use: default (12)\n"
    "        min/0: \n"
    "          cpu-count: default (1)\n"
    "          disk-count: default (1)\n"
    "          disk-size: default (1024)\n"
    "          memory-size: default (128)\n"
    "          nic-count: default (1)\n"
    "          spindle-use: default (1)\n"
    "    allowed disk templates: file\n"
    "    vcpu-ratio: 3.5\n"
    "    spindle-ratio: 8\n")


def test_group_show_ispecs_cmd(lab, capsys):
  assert _Group("show-ispecs-cmd") == 0
  assert capsys.readouterr().out == "gnt-group add default\ngnt-group add gx1\n"
  assert _Group("show-ispecs-cmd", "--include-defaults", "gx1") == 0
  assert capsys.readouterr().out == (
    "gnt-group add --ipolicy-bounds-specs min:cpu-count=1,disk-count=1,disk-size=1024,"
    "memory-size=128,nic-count=1,spindle-use=1/max:cpu-count=8,disk-count=16,"
    "disk-size=1048576,memory-size=32768,nic-count=8,spindle-use=12 gx1\n")


def test_group_modify_prints_changes(lab, fake_luxi, capsys):
  fake_luxi.job_outcomes.append({"op_results": [[
    ["ndparams", "{'spindle_count': 3, 'oob_program': '/bin/true'}"]]]})
  assert _Group("modify", "--node-parameters=spindle_count=3,oob_program=/bin/true",
                "--disk-state=plain/xenvg:disk_total=10", "--hypervisor-state=fake:mem_total=1",
                "--ipolicy-vcpu-ratio=2.5", "-D", "plain:stripes=2", "gx1") == 0
  assert capsys.readouterr().out == (
    "Modified node group gx1\n"
    " - ndparams -> {'spindle_count': 3, 'oob_program': '/bin/true'}\n")
  (op,) = _Ops(fake_luxi)
  assert op["OP_ID"] == "OP_GROUP_SET_PARAMS"
  assert op["disk_state"] == {"plain": {"xenvg": {"disk_total": "10"}}}
  assert op["hv_state"] == {"fake": {"mem_total": "1"}}
  assert op["diskparams"] == {"plain": {"stripes": "2"}}
  assert op["ipolicy"] == {"vcpu-ratio": 2.5} and op["alloc_policy"] is None


def test_group_commands_build_opcodes(lab, fake_luxi, capsys):
  assert _Group("add", "--alloc-policy=unallocable", "gx2") == 0
  assert _Group("assign-nodes", "--force", "gx2", "node1", "node2") == 0
  assert _Group("rename", "gx2", "gx3") == 0
  assert _Group("remove", "gx3") == 0
  fake_luxi.job_outcomes.extend([{}, {"op_results": [{"jobs": []}]}])
  assert _Group("add-tags", "gx1", "tag1") == 0
  assert _Group("evacuate", "--to", "default", "gx1") == 0
  ops = _Ops(fake_luxi)
  assert [(op["OP_ID"], op.get("group_name")) for op in ops] == [
    ("OP_GROUP_ADD", "gx2"), ("OP_GROUP_ASSIGN_NODES", "gx2"), ("OP_GROUP_RENAME", "gx2"),
    ("OP_GROUP_REMOVE", "gx3"), ("OP_TAGS_SET", None), ("OP_GROUP_EVACUATE", "gx1")]
  assert ops[1]["nodes"] == ["node1", "node2"] and ops[1]["force"] is True
  assert ops[2]["new_name"] == "gx3"
  assert (ops[4]["kind"], ops[4]["name"]) == ("nodegroup", "gx1")
  assert ops[5]["target_groups"] == ["default"]
  assert capsys.readouterr().out.endswith("All instances evacuated successfully.\n")
