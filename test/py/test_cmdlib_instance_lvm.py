"""Instances with plain and drbd disks, run by the real opcode processor on a
real configuration; the RPC runner records the calls and answers from canned
functions (no device-mapper or DRBD on the test machine)."""

import pytest

from ganeti import config
from ganeti import constants
from ganeti import errors
from ganeti import objects
from ganeti.cmdlib import instance_disks
from test_cmdlib_node import Context, FakeRpc, _Run

GIB = 1024


@pytest.fixture(name="env")
def fixture_env(tmp_path, monkeypatch):
  config.InitConfig(str(tmp_path / "config.data"), cluster_name="cluster",
                    master_name="node1", primary_ip="192.0.2.1", master_ip="192.0.2.100",
                    master_netdev="eth0", enabled_hypervisors=["fake"],
                    enabled_disk_templates=["plain", "drbd", "file"],
                    volume_group_name="xenvg", modify_etc_hosts=False)
  cfg = config.ConfigWriter(str(tmp_path / "config.data"))
  for idx in (2, 3):
    cfg.AddNode(objects.Node(name="node%d" % idx, primary_ip="192.0.2.%d" % idx,
                             secondary_ip="198.51.100.%d" % idx, group=None))
  rpc = FakeRpc()
  rpc.free_space = {}
  rpc.answers["node_info"] = lambda node, units, hv: [
    "boot", [{"type": "lvm-vg", "name": unit[1],
              "storage_free": rpc.free_space.get(node, 100 * GIB)} for unit in units],
    [{"memory_free": 4096} for _ in hv or ()]]
  # one mirror status per disk: in sync, unless a test scripts the progress
  rpc.sync_script = []
  rpc.answers["blockdev_getmirrorstatus"] = lambda node, disks_inst: (
    rpc.sync_script.pop(0) if rpc.sync_script else
    [objects.BlockDevStatus(sync_percent=None, estimated_time=None, is_degraded=False)
     for _ in disks_inst[0]])
  # the status that waits for a resync's end: the node's waits are recorded
  waits = []
  rpc.answers["blockdev_wait_mirror_sync"] = lambda node, disks_inst, timeout: (
    waits.append(timeout), rpc.answers["blockdev_getmirrorstatus"](node, disks_inst))[1]
  pauses = []
  monkeypatch.setattr(instance_disks, "Sleep", pauses.append)
  ctx = Context(cfg, rpc)
  ctx.pauses = pauses
  ctx.waits = waits
  return ctx


def _Uuid(ctx, name):
  return ctx.cfg.GetNodeInfoByName(name).uuid


def _Create(ctx, template, disks=({"size": GIB},), **params):
  params.setdefault("pnode", "node1")
  params.setdefault("no_install", True)
  if template == "drbd":
    params.setdefault("snode", "node2")
  return _Run(ctx, "OpInstanceCreate", instance_name=params.pop("name", "inst1"),
              disk_template=template, disks=[dict(disk) for disk in disks], nics=[],
              mode="create", name_check=False, ip_check=False,
              hypervisor="fake", ignore_ipolicy=True, **params)


def _Calls(ctx, name):
  return [(nodes, args) for call, nodes, args in ctx.rpc.calls if call == name]


def _Failure(ctx, exc_class, *args, **params):
  with pytest.raises(exc_class) as err:
    _Create(ctx, *args, **params)
  return err.value.args[0]


def _InstanceDisks(ctx, name="inst1"):
  return ctx.cfg.GetInstanceDisks(ctx.cfg.GetInstanceInfoByName(name).uuid)


# --- plain --------------------------------------------------------------------------

def test_create_plain_names_lvs_after_fresh_uuids(env):
  result, messages = _Create(env, "plain", disks=[{"size": GIB}, {"size": 512, "vg": "fastvg"}])
  assert result == ["node1"]
  disk0, disk1 = _InstanceDisks(env)
  node1 = _Uuid(env, "node1")
  assert disk0.dev_type == "plain" and disk0.nodes == [node1] and disk0.iv_name == "disk/0"
  vg, lv_name = disk0.logical_id
  prefix, suffix = lv_name.split(".")
  assert vg == "xenvg" and suffix == "disk0" and len(prefix) == 36
  assert disk1.logical_id[0] == "fastvg" and disk1.logical_id[1].endswith(".disk1")
  assert disk0.logical_id[1].split(".")[0] != disk1.logical_id[1].split(".")[0]
  creates = _Calls(env, "blockdev_create")
  assert [(nodes, args[0][0].uuid, args[1], args[3]) for nodes, args in creates] == [
    (node1, disk0.uuid, GIB, True), (node1, disk1.uuid, 512, True)]
  # each volume group is asked for the space its disks need
  assert sorted(args[0][0][1] for _, args in _Calls(env, "node_info")) == ["fastvg", "xenvg"]
  assert "* creating instance disks..." in messages
  # a stopped instance keeps no active devices
  assert len(_Calls(env, "blockdev_shutdown")) == 2


def test_create_plain_refuses_a_full_volume_group(env):
  env.rpc.free_space[_Uuid(env, "node1")] = 1000
  assert _Failure(env, errors.OpPrereqError, "plain") == (
    "Not enough disk space on target node node1 vg xenvg: required 1024 MiB,"
    " available 1000 MiB")
  env.rpc.answers["node_info"] = lambda node, units, hv: ["boot", [{"storage_free": None}], []]
  assert _Failure(env, errors.OpPrereqError, "plain") == (
    "Can't compute free disk space on node node1 for vg xenvg, result was 'None'")
  assert env.cfg.GetInstanceList() == [] and _Calls(env, "blockdev_create") == []


# --- drbd ---------------------------------------------------------------------------

def test_create_drbd_layout_and_creation_order(env):
  result, messages = _Create(env, "drbd", wait_for_sync=True)
  assert result == ["node1", "node2"]
  node1, node2 = _Uuid(env, "node1"), _Uuid(env, "node2")
  disk, = _InstanceDisks(env)
  pnode, snode, port, pminor, sminor, secret = disk.logical_id
  assert (pnode, snode, port, pminor, sminor) == (node1, node2, 11000, 0, 0)
  assert len(secret) == 40 and int(secret, 16) >= 0
  assert disk.nodes == [node1, node2] and disk.size == GIB
  data, meta = disk.children
  assert data.logical_id[1].endswith(".disk0_data") and data.size == GIB
  assert meta.logical_id[1].endswith(".disk0_meta") and meta.size == 128
  assert data.logical_id[1][:-5] == meta.logical_id[1][:-5]
  # both nodes side by side (the primary first), on each the LVs before the
  # DRBD device over them
  creates = [(nodes, args[0][0].dev_type, args[0][0].logical_id[1] if args[0][0].dev_type ==
              "plain" else None, args[3]) for nodes, args in _Calls(env, "blockdev_create")]
  assert creates == [(node1, "plain", data.logical_id[1], True),
                     (node2, "plain", data.logical_id[1], False),
                     (node1, "plain", meta.logical_id[1], True),
                     (node2, "plain", meta.logical_id[1], False),
                     (node1, "drbd", None, True),
                     (node2, "drbd", None, False)]
  # all in one send (each node makes its devices in order, the nodes side by
  # side); the primary makes its DRBD device off the network and connects it
  # after the secondary's listens (connecting both at once can cost DRBD's
  # ten-second connect interval)
  assert [calls for calls in env.rpc.together_calls if ("blockdev_create", node1) in calls] == [
    [("blockdev_create", node1), ("blockdev_create", node2)] * 3]
  drbd_sent = {nodes: args[0][0] for nodes, args in _Calls(env, "blockdev_create")
               if args[0][0].dev_type == "drbd"}
  assert drbd_sent[node1].dynamic_params == {constants.DDP_REMOTE_IP: None}
  assert drbd_sent[node2].dynamic_params is None
  assert [(nodes, args[0][0][0].uuid, args[1]) for nodes, args in _Calls(env, "drbd_attach_net")
          ] == [([node1], disk.uuid, False)]
  assert env.rpc.Names().index("drbd_attach_net") > max(
    index for index, name in enumerate(env.rpc.Names()) if name == "blockdev_create")
  # both nodes are checked for data + metadata space, in one call
  assert [sorted(nodes) for nodes, _ in _Calls(env, "node_info")] == [sorted([node1, node2])]
  assert " - INFO: Waiting for instance inst1 to sync disks" in messages
  assert " - INFO: Instance inst1's disks are in sync" in messages
  assert env.cfg.ComputeDRBDMap() == {node1: {0: disk.uuid}, node2: {0: disk.uuid},
                                      _Uuid(env, "node3"): {}}
  hook_nodes = [nodes for path, phase, nodes, _ in env.hooks if path == "instance-add"]
  # the master (node1) is also the primary: its hooks run once per phase
  assert hook_nodes == [[node1, node2], [node1, node2]]


def test_create_drbd_reports_sync_progress(env):
  def status(percent, seconds, degraded=True):
    return [objects.BlockDevStatus(sync_percent=percent, estimated_time=seconds,
                                   is_degraded=degraded)]
  env.rpc.sync_script = [status(45.2, 62), status(97.123, None),
                         status(None, None, degraded=False)]
  _, messages = _Create(env, "drbd", wait_for_sync=True)
  progress = [line for line in messages if "- device" in line]
  assert progress == [" - INFO: - device disk/0: 45.20% done, 1m 2s remaining (estimated)",
                      " - INFO: - device disk/0: 97.12% done, no time estimate"]
  # the node waits (answering at the resync's end) for the estimate, 5 s
  # without one, up to a minute; the master does not pause on its own
  assert env.waits == [0.0, 60, 5] and env.pauses == []


def test_sync_about_to_end_is_not_asked_in_a_tight_loop(env):
  """DRBD estimates 0 s for the last moments of a resync: the node is then
  still asked to wait up to a second."""
  env.rpc.sync_script = [[objects.BlockDevStatus(sync_percent=percent, estimated_time=0,
                                                 is_degraded=True)]
                         for percent in (99.1, 99.5, 99.9)]
  _Create(env, "drbd", wait_for_sync=True)
  assert env.waits == [0.0] + [1.0] * 3


def test_create_drbd_without_wait_checks_mirrors_once(env):
  _, messages = _Create(env, "drbd", wait_for_sync=False)
  assert "* checking mirrors status" in messages
  assert len(_Calls(env, "blockdev_wait_mirror_sync")) == 1 and env.waits == [0.0]
  assert " - INFO: Waiting for instance inst1 to sync disks" not in messages


def test_minors_and_ports_of_concurrent_and_removed_instances(env):
  _Create(env, "drbd", name="inst1")
  _Create(env, "drbd", name="inst2", pnode="node2", snode="node3")
  _Create(env, "drbd", name="inst3", pnode="node3", snode="node1")
  node1, node2, node3 = (_Uuid(env, name) for name in ("node1", "node2", "node3"))
  ids = {name: _InstanceDisks(env, name)[0].logical_id[:5]
         for name in ("inst1", "inst2", "inst3")}
  assert ids == {"inst1": [node1, node2, 11000, 0, 0],
                 "inst2": [node2, node3, 11001, 1, 0],
                 "inst3": [node3, node1, 11002, 1, 1]}
  _Run(env, "OpInstanceRemove", instance_name="inst1", ignore_failures=False,
       shutdown_timeout=120)
  removes = {nodes for nodes, _ in _Calls(env, "blockdev_remove")}
  assert removes == {node1, node2}
  assert env.cfg.GetClusterInfo().tcpudp_port_pool == [11000]
  # the freed minor and port are handed out again
  _Create(env, "drbd", name="inst4", pnode="node2", snode="node1")
  assert _InstanceDisks(env, "inst4")[0].logical_id[:5] == [node2, node1, 11000, 0, 0]


@pytest.mark.parametrize("start", [True, False])
def test_created_disks_are_not_assembled_again(env, start):
  """Creation leaves the devices active: the OS installation and a start use
  them as they are, and a stopped instance gets them shut down (the primary
  first)."""
  _Create(env, "drbd", start=start, no_install=False, os_type="debian+default")
  inst = env.cfg.GetInstanceInfoByName("inst1")
  node1, node2 = _Uuid(env, "node1"), _Uuid(env, "node2")
  assert _Calls(env, "blockdev_assemble") == []
  assert [nodes for nodes, _ in _Calls(env, "instance_os_add")] == [node1]
  assert [nodes for nodes, _ in _Calls(env, "instance_start")] == ([node1] if start else [])
  assert [nodes for nodes, _ in _Calls(env, "blockdev_shutdown")] == (
    [] if start else [node1, node2])
  assert inst.disks_active is start


def test_failed_drbd_create_leaves_nothing_behind(env):
  node1, node2 = _Uuid(env, "node1"), _Uuid(env, "node2")
  env.rpc.failing[("blockdev_create", node2)] = "Can't create block device: volume group full"
  message = _Failure(env, errors.OpExecError, "drbd", disks=[{"size": GIB}, {"size": GIB}])
  assert message == ("Can't create block device disk/0 on node node2 for instance inst1:"
                     " Can't create block device: volume group full")
  created = [(nodes, args[0][0].uuid) for nodes, args in _Calls(env, "blockdev_create")]
  removed = [(nodes, args[0][0].uuid) for nodes, args in _Calls(env, "blockdev_remove")]
  # the nodes create side by side, in one send: node2's devices fail while
  # node1 makes all of its own, which are removed, parents before children
  on_node1 = [(nodes, uuid) for nodes, uuid in created if nodes == node1]
  assert len(on_node1) == 6 and len(created) == 12
  assert removed == on_node1[::-1]
  assert env.cfg.GetInstanceList() == []
  assert env.cfg.GetAllDisksInfo() == {}
  assert env.cfg.ComputeDRBDMap()[node1] == {}
  assert env.cfg.GetClusterInfo().tcpudp_port_pool == [11000, 11001]
  # the next instance gets the same minors and the pooled ports
  env.rpc.failing.clear()
  _Create(env, "drbd")
  assert _InstanceDisks(env)[0].logical_id[2:5] == [11000, 0, 0]


def test_degraded_mirror_undoes_the_creation(env):
  env.rpc.sync_script = [[objects.BlockDevStatus(sync_percent=None, estimated_time=None,
                                                 is_degraded=True)]] * 20
  assert _Failure(env, errors.OpExecError, "drbd", wait_for_sync=True) == \
    "There are some degraded disks for this instance"
  # a finished mirror still degraded is asked again a bounded number of times
  assert env.pauses == list(instance_disks._DEGRADED_PAUSES)  # pylint: disable=protected-access
  assert 9 < sum(env.pauses) < 12
  assert env.cfg.GetInstanceList() == [] and env.cfg.GetAllDisksInfo() == {}
  assert {nodes for nodes, _ in _Calls(env, "blockdev_remove")} == {
    _Uuid(env, "node1"), _Uuid(env, "node2")}
  assert env.cfg.GetClusterInfo().tcpudp_port_pool == [11000]


def test_create_without_sync_wait_lets_the_mirrors_connect_first(env):
  _, messages = _Create(env, "drbd", wait_for_sync=False)
  node1 = _Uuid(env, "node1")
  names = [call for call, _, _ in env.rpc.calls]
  # the primary watches its devices reach their peers, then one status read
  assert [nodes for nodes, _ in _Calls(env, "drbd_wait_sync")] == [[node1]]
  assert names.index("drbd_wait_sync") < names.index("blockdev_wait_mirror_sync")
  assert len(_Calls(env, "blockdev_wait_mirror_sync")) == 1
  assert env.pauses == [] and not any("did not connect" in line for line in messages)


def test_create_without_sync_wait_asks_again_when_the_peers_did_not_connect(env):
  env.rpc.failing[("drbd_wait_sync", _Uuid(env, "node1"))] = \
    "DRBD device /dev/drbd0 is not in sync: state WFConnection"
  env.rpc.sync_script = [[objects.BlockDevStatus(sync_percent=None, estimated_time=None,
                                                 is_degraded=True)]] * 2
  _, messages = _Create(env, "drbd", wait_for_sync=False)
  assert any("The disks' mirrors did not connect: DRBD device /dev/drbd0 is not in sync"
             in line for line in messages)
  # degraded twice, then in sync (as the mirror status reads)
  assert env.pauses == list(instance_disks._DEGRADED_PAUSES[:2])  # pylint: disable=protected-access
  assert env.cfg.GetInstanceList() != []


def test_primary_checks_are_asked_together_and_reported_in_order(env):
  node1 = _Uuid(env, "node1")
  env.rpc.failing[("os_validate", node1)] = "no such OS"
  env.rpc.failing[("hypervisor_validate_params", node1)] = "bad kernel_path"
  message = _Failure(env, errors.OpExecError, "plain", os_type="minimal+default")
  assert message == "OS Parameters validation failed on node node1: no such OS"
  assert [call for call, _, _ in env.rpc.calls][-2:] == ["os_validate",
                                                       "hypervisor_validate_params"]
  del env.rpc.failing[("os_validate", node1)]
  assert _Failure(env, errors.OpExecError, "plain", os_type="minimal+default") == \
    "Hypervisor parameter validation failed on node node1: bad kernel_path"
  assert env.cfg.GetInstanceList() == []


def test_drbd_prerequisites(env):
  assert _Failure(env, errors.OpPrereqError, "drbd", snode=None) == \
    "The networked disk templates need a mirror node"
  assert _Failure(env, errors.OpPrereqError, "drbd", snode="node1") == \
    "The secondary node cannot be the primary node"
  env.rpc.free_space[_Uuid(env, "node2")] = GIB
  assert _Failure(env, errors.OpPrereqError, "drbd") == (
    "Not enough disk space on target node node2 vg xenvg: required 1152 MiB,"
    " available 1024 MiB")
  _Run(env, "OpNodeSetParams", node_name="node2", offline=True)
  assert _Failure(env, errors.OpPrereqError, "drbd").startswith(
    "Can't use offline node: node2")
  assert env.cfg.GetClusterInfo().tcpudp_port_pool == []
  assert env.cfg.GetClusterInfo().highest_used_port == 10999


def test_activate_and_deactivate_drbd_disks(env):
  _Create(env, "drbd")
  node1, node2 = _Uuid(env, "node1"), _Uuid(env, "node2")
  env.rpc.calls.clear()
  env.rpc.answers["blockdev_assemble"] = lambda node, disk_inst, inst, primary, idx: (
    ["/dev/drbd0", "/var/run/ganeti/instance-disks/inst1:0", None] if primary else
    [True, True])
  result, _ = _Run(env, "OpInstanceActivateDisks", instance_name="inst1")
  assert result == [("node1", "disk/0", "/dev/drbd0")]
  # the secondary is set up beside the primary's local half (off the
  # network); then the primary connects and alone is opened
  assembled = [(nodes, args[2], args[0][0].dynamic_params)
               for nodes, args in _Calls(env, "blockdev_assemble")]
  assert sorted(assembled[:2], key=str) == sorted([
    (node2, False, None), (node1, False, {constants.DDP_REMOTE_IP: None})], key=str)
  assert assembled[2:] == [(node1, True, None)]
  assert env.cfg.GetInstanceInfoByName("inst1").disks_active
  _Run(env, "OpInstanceDeactivateDisks", instance_name="inst1")
  assert sorted(nodes for nodes, _ in _Calls(env, "blockdev_shutdown")) == sorted([node1,
                                                                                    node2])
  assert not env.cfg.GetInstanceInfoByName("inst1").disks_active


def test_disks_count_as_active_while_they_are_set_up(env):
  """As soon as their activation starts, so that the watcher leaves them be;
  a failed activation marks them inactive again."""
  _Create(env, "drbd")
  seen = []

  def assemble(node, disk_inst, inst, primary, idx):
    seen.append(env.cfg.GetInstanceInfoByName("inst1").disks_active)
    return ["/dev/drbd0", "/var/run/ganeti/instance-disks/inst1:0", None] if primary else \
      [True, True]
  env.rpc.answers["blockdev_assemble"] = assemble
  _Run(env, "OpInstanceDeactivateDisks", instance_name="inst1")
  _Run(env, "OpInstanceActivateDisks", instance_name="inst1")
  assert seen[-1] is True  # the primary, once the secondaries are set up
  env.rpc.failing[("blockdev_assemble", _Uuid(env, "node1"))] = "device busy"
  with pytest.raises(errors.OpExecError, match="Cannot activate block devices"):
    _Run(env, "OpInstanceActivateDisks", instance_name="inst1")
  assert not env.cfg.GetInstanceInfoByName("inst1").disks_active


def test_activate_disks_with_an_offline_secondary(env):
  # the seed's recovery: the secondary is gone and marked offline; the
  # primary's disks still come up, with a warning about the secondary
  _Create(env, "drbd")
  _Run(env, "OpNodeSetParams", node_name="node2", offline=True, auto_promote=True)
  env.rpc.offline.add(_Uuid(env, "node2"))
  env.rpc.answers["blockdev_assemble"] = lambda node, disk_inst, inst, primary, idx: (
    ["/dev/drbd0", "/var/run/ganeti/instance-disks/inst1:0", None])
  result, messages = _Run(env, "OpInstanceActivateDisks", instance_name="inst1")
  assert result == [("node1", "disk/0", "/dev/drbd0")]
  assert " - WARNING: Could not prepare block device disk/0 on node node2 (is_primary=False," \
    " pass=1): Node is marked offline" in messages
  assert env.cfg.GetInstanceInfoByName("inst1").disks_active
  # an unreachable secondary that is not marked offline still fails the activation
  env.rpc.offline.clear()
  _Run(env, "OpNodeSetParams", node_name="node2", offline=False)
  env.rpc.failing[("blockdev_assemble", _Uuid(env, "node2"))] = "Error while contacting node"
  with pytest.raises(errors.OpExecError, match="Cannot activate block devices"):
    _Run(env, "OpInstanceActivateDisks", instance_name="inst1")


def test_activate_disks_waiting_for_sync_fails_on_a_degraded_mirror(env):
  _Create(env, "drbd")
  env.rpc.answers["blockdev_assemble"] = lambda node, disk_inst, inst, primary, idx: (
    ["/dev/drbd0", "/var/run/ganeti/instance-disks/inst1:0", None] if primary else
    [True, True])
  # a standalone mirror: no resync running, yet degraded
  standalone = [objects.BlockDevStatus(sync_percent=None, estimated_time=None,
                                       is_degraded=True)]
  env.rpc.sync_script = [standalone] * 20
  with pytest.raises(errors.OpExecError, match="Some disks of the instance are degraded!"):
    _Run(env, "OpInstanceActivateDisks", instance_name="inst1", wait_for_sync=True)
  assert not env.cfg.GetInstanceInfoByName("inst1").disks_active
  env.rpc.sync_script = []
  _Run(env, "OpInstanceActivateDisks", instance_name="inst1", wait_for_sync=True)
  assert env.cfg.GetInstanceInfoByName("inst1").disks_active


# --- grow-disk -------------------------------------------------------------------------

def test_grow_drbd_grows_both_backing_stores_then_the_device(env):
  _Create(env, "drbd")
  node1, node2 = _Uuid(env, "node1"), _Uuid(env, "node2")
  env.rpc.calls.clear()
  env.rpc.sync_script = [[objects.BlockDevStatus(sync_percent=99.5, estimated_time=1,
                                                 is_degraded=True)]]
  _, messages = _Run(env, "OpInstanceGrowDisk", instance_name="inst1", disk=0, amount=512,
                     wait_for_sync=True, ignore_ipolicy=True)
  grows = [(nodes, args[2], args[3]) for nodes, args in _Calls(env, "blockdev_grow")]
  # (node, dryrun, backingstore): a dry run of everything, then the real thing
  assert grows == [(node1, True, True), (node2, True, True), (node1, True, False),
                   (node1, False, True), (node2, False, True), (node1, False, False)]
  disk, = _InstanceDisks(env)
  assert disk.size == GIB + 512 and disk.children[0].size == GIB + 512
  assert disk.children[1].size == 128
  assert " - INFO: - device disk/0: 99.50% done, 1s remaining (estimated)" in messages
  # the disks were inactive: activated for the grow and shut down after the resync
  names = env.rpc.Names()
  assert names.index("blockdev_wait_mirror_sync") < len(names) - 1 - \
    names[::-1].index("blockdev_shutdown")
  # the space is checked on both nodes' volume group
  env.rpc.free_space[node2] = 100
  with pytest.raises(errors.OpPrereqError) as err:
    _Run(env, "OpInstanceGrowDisk", instance_name="inst1", disk=0, amount=512,
         wait_for_sync=True, ignore_ipolicy=True)
  assert err.value.args[0] == ("Not enough disk space on target node node2 vg xenvg:"
                               " required 512 MiB, available 100 MiB")


# --- template conversion -----------------------------------------------------------------

def _Convert(env, template, **params):
  env.rpc.answers["instance_list"] = lambda node, *args: []
  return _Run(env, "OpInstanceSetParams", instance_name="inst1", disk_template=template,
              ignore_ipolicy=True, **params)


def test_convert_plain_to_drbd_reuses_the_data_lv(env):
  _Create(env, "plain", disks=[{"size": GIB}, {"size": 512}])
  old = _InstanceDisks(env)
  node1, node2 = _Uuid(env, "node1"), _Uuid(env, "node2")
  env.rpc.calls.clear()
  result, messages = _Convert(env, "drbd", remote_node="node2", wait_for_sync=True)
  assert ("disk_template", "drbd") in result
  new = _InstanceDisks(env)
  assert [disk.dev_type for disk in new] == ["drbd", "drbd"]
  assert [disk.size for disk in new] == [GIB, 512] and [d.iv_name for d in new] == \
    ["disk/0", "disk/1"]
  assert [disk.logical_id[:5] for disk in new] == [[node1, node2, 11000, 0, 0],
                                                   [node1, node2, 11001, 1, 1]]
  creates = [(nodes, args[0][0].logical_id[1] if args[0][0].dev_type == "plain" else "drbd")
             for nodes, args in _Calls(env, "blockdev_create")]
  data0, meta0 = _Names(new[0].children)
  data1, meta1 = _Names(new[1].children)
  # the primary only gets metadata LVs: its data LVs are the old ones, renamed
  assert creates == [(node1, meta0), (node2, data0), (node2, meta0),
                     (node1, meta1), (node2, data1), (node2, meta1),
                     (node1, "drbd"), (node2, "drbd"), (node1, "drbd"), (node2, "drbd")]
  (nodes, (renames,)), = _Calls(env, "blockdev_rename")
  assert nodes == node1
  assert [(disk.logical_id[1], new_id[1]) for disk, new_id in renames] == \
    [(old[0].logical_id[1], data0), (old[1].logical_id[1], data1)]
  assert "Renaming original volumes..." in messages
  assert " - INFO: Instance inst1's disks are in sync" in messages
  assert not env.cfg.GetInstanceInfoByName("inst1").disks_active


def _Names(disks):
  return [disk.logical_id[1] for disk in disks]


def test_failed_conversion_to_drbd_restores_the_plain_disks(env):
  _Create(env, "plain")
  old = _InstanceDisks(env)
  node1, node2 = _Uuid(env, "node1"), _Uuid(env, "node2")
  env.rpc.calls.clear()
  env.rpc.failing[("blockdev_create", node2)] = "drbdmeta create-md failed"
  # the secondary's LVs fail at once: nothing renamed, the meta LV removed
  with pytest.raises(errors.OpExecError):
    _Convert(env, "drbd", remote_node="node2")
  assert [args[0][0].logical_id[1] for _, args in _Calls(env, "blockdev_remove")] == \
    [_Names(args[0][0] for _, args in _Calls(env, "blockdev_create"))[0]]
  assert _Calls(env, "blockdev_rename") == []
  assert [disk.ToDict() for disk in _InstanceDisks(env)] == [d.ToDict() for d in old]
  assert env.cfg.GetClusterInfo().tcpudp_port_pool == [11000]
  assert env.cfg.ComputeDRBDMap()[node1] == {}


def test_failed_drbd_start_in_conversion_renames_the_data_lv_back(env):
  _Create(env, "plain")
  old = _InstanceDisks(env)
  env.rpc.calls.clear()
  env.rpc.failing[("blockdev_create", _Uuid(env, "node2"))] = lambda dev_inst, *args: (
    "no such minor" if dev_inst[0].dev_type == "drbd" else None)
  with pytest.raises(errors.OpExecError) as err:
    _Convert(env, "drbd", remote_node="node2")
  assert err.value.args[0].endswith("no such minor")
  renames = [args[0] for _, args in _Calls(env, "blockdev_rename")]
  assert len(renames) == 2
  (renamed, new_name), = renames[0]
  (back_from, back_to), = renames[1]
  assert renamed.logical_id == old[0].logical_id
  assert back_from.logical_id == new_name and back_to == old[0].logical_id
  assert [disk.ToDict() for disk in _InstanceDisks(env)] == [d.ToDict() for d in old]
  # every device made was removed again, the DRBD device before its LVs
  made = [args[0][0].uuid for _, args in _Calls(env, "blockdev_create")][:-1]
  assert [args[0][0].uuid for _, args in _Calls(env, "blockdev_remove")] == \
    list(reversed(made))
  assert env.cfg.GetClusterInfo().tcpudp_port_pool == [11000]


def test_convert_drbd_to_plain_keeps_the_primary_data(env):
  _Create(env, "drbd")
  drbd_disk, = _InstanceDisks(env)
  node1, node2 = _Uuid(env, "node1"), _Uuid(env, "node2")
  env.rpc.calls.clear()
  _, messages = _Convert(env, "plain")
  disk, = _InstanceDisks(env)
  assert disk.dev_type == "plain" and disk.nodes == [node1] and disk.iv_name == "disk/0"
  assert disk.logical_id == drbd_disk.children[0].logical_id and disk.size == GIB
  removes = [(nodes, args[0][0].dev_type, args[0][0].logical_id[-1])
             for nodes, args in _Calls(env, "blockdev_remove")]
  assert removes == [(node2, "drbd", drbd_disk.logical_id[-1]),
                     (node1, "plain", drbd_disk.children[1].logical_id[1])]
  assert env.cfg.GetClusterInfo().tcpudp_port_pool == [11000]
  assert env.cfg.ComputeDRBDMap() == {node1: {}, node2: {}, _Uuid(env, "node3"): {}}
  assert "Removing volumes on the secondary node..." in messages


def test_conversion_refusals(env):
  _Create(env, "plain")
  with pytest.raises(errors.OpPrereqError) as err:
    _Convert(env, "drbd")
  assert err.value.args[0] == ("Changing the disk template to a mirrored one requires"
                               " specifying a secondary node")
  with pytest.raises(errors.OpPrereqError) as err:
    _Convert(env, "drbd", remote_node="node1")
  assert err.value.args[0] == ("Given new secondary node node1 is the same as the primary"
                               " node of the instance")
  env.rpc.free_space[_Uuid(env, "node2")] = 500
  with pytest.raises(errors.OpPrereqError) as err:
    _Convert(env, "drbd", remote_node="node2")
  assert err.value.args[0].startswith("Not enough disk space on target node node2")
  env.cfg.MarkInstanceUp(env.cfg.GetInstanceInfoByName("inst1").uuid)
  with pytest.raises(errors.OpPrereqError) as err:
    _Convert(env, "drbd", remote_node="node2")
  assert err.value.args[0] == "Instance 'inst1' is marked to be up, cannot change disk template"


# --- recreate-disks ----------------------------------------------------------------------

def test_recreate_drbd_disks_on_new_nodes(env):
  _Create(env, "drbd", disks=[{"size": GIB}, {"size": 512}])
  old = _InstanceDisks(env)
  node1, node2, node3 = (_Uuid(env, name) for name in ("node1", "node2", "node3"))
  env.rpc.calls.clear()
  _, messages = _Run(env, "OpInstanceRecreateDisks", instance_name="inst1",
                     nodes=["node2", "node3"])
  assert " - WARNING: Changing the instance's nodes, you will have to remove any disks left" \
    " on the older nodes manually" in messages
  new = _InstanceDisks(env)
  # the lowest minors free at each step: disk 0 finds node2's 0 and 1 taken (by
  # the disks' old places), disk 1 finds 0 freed by disk 0's move
  assert [disk.logical_id[:5] for disk in new] == [
    [node2, node3, old[0].logical_id[2], 2, 0], [node2, node3, old[1].logical_id[2], 0, 1]]
  assert all(lv.nodes == [node2, node3] for disk in new for lv in disk.children)
  assert env.cfg.GetInstanceInfoByName("inst1").primary_node == node2
  creates = [(nodes, args[0][0].dev_type, args[3]) for nodes, args in
             _Calls(env, "blockdev_create")]
  assert creates == [(node2, "plain", True), (node3, "plain", False),
                     (node2, "plain", True), (node3, "plain", False),
                     (node2, "drbd", True), (node3, "drbd", False)] * 2


def test_recreate_one_plain_disk_with_a_new_size_and_vg(env):
  _Create(env, "plain", disks=[{"size": GIB}, {"size": 512}])
  name = _InstanceDisks(env)[1].logical_id[1]
  env.rpc.calls.clear()
  _Run(env, "OpInstanceRecreateDisks", instance_name="inst1",
       disks=[[1, {"size": 2048, "vg": "fastvg"}]])
  disk = _InstanceDisks(env)[1]
  assert disk.size == 2048 and disk.logical_id == ["fastvg", name]
  (nodes, args), = _Calls(env, "blockdev_create")
  assert nodes == _Uuid(env, "node1") and args[0][0].logical_id == ["fastvg", name]
  assert args[1] == 2048


def test_repair_disk_sizes_fixes_the_drbd_data_lv(env):
  _Create(env, "drbd")
  disk, = _InstanceDisks(env)
  disk.children[0].size = 512
  env.cfg.Update(disk)
  env.rpc.answers["blockdev_getdimensions"] = lambda node, pairs: [[GIB << 20, None]]
  result, messages = _Run(env, "OpClusterRepairDiskSizes", instances=["inst1"])
  assert result == [("inst1", 0, "size", GIB)]
  assert " - INFO: Child disk has size 512, parent 1024, fixing" in messages
  assert _InstanceDisks(env)[0].children[0].size == GIB
  # nothing left to fix
  result, _ = _Run(env, "OpClusterRepairDiskSizes", instances=["inst1"])
  assert result == []


def test_sync_wait_gives_up_when_the_resync_stops_moving(env):
  stuck = [objects.BlockDevStatus(sync_percent=12.0, estimated_time=600, is_degraded=True)]
  env.rpc.sync_script = [stuck] * 100
  with pytest.raises(errors.OpExecError) as err:
    _Create(env, "drbd", wait_for_sync=True)
  assert err.value.args[0] == ("The disks of instance inst1 made no sync progress for 3600"
                               " seconds, aborting")
  # a minute between looks (the estimate is longer), for an hour
  assert env.waits == [0.0] + [60] * 60
  assert env.cfg.GetInstanceList() == []


def test_create_drbd_with_an_allocator_picks_two_nodes(env):
  env.rpc.answers["all_instances_info"] = lambda node, *args: {}
  env.rpc.free_space[_Uuid(env, "node1")] = 100  # too small for the disk
  result, messages = _Create(env, "drbd", pnode=None, snode=None,
                             iallocator="no-such-allocator")
  assert sorted(result) == ["node2", "node3"]
  disk, = _InstanceDisks(env)
  assert set(disk.logical_id[:2]) == {_Uuid(env, "node2"), _Uuid(env, "node3")}
  assert any(line.startswith(" - INFO: Selected nodes for instance inst1 via iallocator"
                             " no-such-allocator: ") for line in messages)


def test_dry_run_creation_takes_no_port(env):
  _Create(env, "drbd", dry_run=True)
  cluster = env.cfg.GetClusterInfo()
  assert cluster.highest_used_port == 10999 and cluster.tcpudp_port_pool == []
  assert env.cfg.ComputeDRBDMap()[_Uuid(env, "node1")] == {}
  _Create(env, "drbd")
  assert _InstanceDisks(env)[0].logical_id[2:5] == [11000, 0, 0]


def test_exclusive_storage_reaches_the_lvs_only(env):
  with pytest.raises(errors.OpPrereqError) as err:
    _Create(env, "plain", disks=[{"size": GIB, "spindles": 1}])
  assert err.value.args[0] == ("Spindles in instance disks cannot be specified when"
                               " exclusive storage is not active")
  group = env.cfg.GetNodeGroup(env.cfg.GetNodeGroupList()[0])
  group.ndparams["exclusive_storage"] = True
  env.cfg.Update(group)
  with pytest.raises(errors.OpPrereqError) as err:
    _Create(env, "drbd")
  assert err.value.args[0] == ("You must specify spindles in instance disks when exclusive"
                               " storage is active")
  env.rpc.calls.clear()
  _Create(env, "drbd", disks=[{"size": GIB, "spindles": 2}])
  assert _InstanceDisks(env)[0].children[0].spindles == 2
  flags = {(args[0][0].dev_type, args[5]) for _, args in _Calls(env, "blockdev_create")}
  assert flags == {("plain", True), ("drbd", False)}
  # the free space asked for is that of whole PVs
  assert {tuple(args[0][0][2]) for _, args in _Calls(env, "node_info")} == {(True,)}


# --- gnt-instance modify --disk add/remove ---------------------------------------------------

def test_add_and_remove_a_drbd_disk(env):
  _Create(env, "drbd")
  node1, node2 = _Uuid(env, "node1"), _Uuid(env, "node2")
  env.rpc.calls.clear()
  env.rpc.answers["instance_list"] = lambda node, *args: []
  result, _ = _Run(env, "OpInstanceSetParams", instance_name="inst1", ignore_ipolicy=True,
                   disks=[["add", -1, {"size": 512}]])
  assert ("disk/1", "add:size=512,mode=rw") in result
  disk0, disk1 = _InstanceDisks(env)
  assert disk1.dev_type == "drbd" and disk1.iv_name == "disk/1" and disk1.size == 512
  assert disk1.logical_id[:5] == [node1, node2, 11001, 1, 1]
  assert _Names(disk1.children)[0].endswith(".disk1_data")
  assert [(nodes, args[0][0].dev_type) for nodes, args in _Calls(env, "blockdev_create")] == [
    (node1, "plain"), (node2, "plain"), (node1, "plain"), (node2, "plain"),
    (node1, "drbd"), (node2, "drbd")]
  # the instance's disks are not active: nor is the new one
  assert {nodes for nodes, _ in _Calls(env, "blockdev_shutdown")} == {node1, node2}
  env.rpc.calls.clear()
  _Run(env, "OpInstanceSetParams", instance_name="inst1", ignore_ipolicy=True,
       disks=[["remove", 1, {}]])
  assert [args[0][0].uuid for _, args in _Calls(env, "blockdev_remove")] == [disk1.uuid] * 2
  assert [disk.uuid for disk in _InstanceDisks(env)] == [disk0.uuid]
  assert env.cfg.GetClusterInfo().tcpudp_port_pool == [11001]
  assert env.cfg.ComputeDRBDMap()[node1] == {0: disk0.uuid}


def test_add_plain_disk_needs_room(env):
  _Create(env, "plain")
  env.rpc.answers["instance_list"] = lambda node, *args: []
  env.rpc.free_space[_Uuid(env, "node1")] = 100
  with pytest.raises(errors.OpPrereqError) as err:
    _Run(env, "OpInstanceSetParams", instance_name="inst1", ignore_ipolicy=True,
         disks=[["add", -1, {"size": 512}]])
  assert err.value.args[0] == ("Not enough disk space on target node node1 vg xenvg:"
                               " required 512 MiB, available 100 MiB")


# --- adoption of existing logical volumes ---------------------------------------------

def _OfferLvs(ctx, **volumes):
  """node1's volume group holds these LVs: name -> (size, online)."""
  ctx.rpc.answers["lv_list"] = lambda node, vg: {
    "%s/%s" % (vg, name): (float(size), not online, online)
    for name, (size, online) in volumes.items()}


def test_adopting_lvs_renames_them_and_takes_their_sizes(env):
  _OfferLvs(env, web_root=(2048, False), web_swap=(512, False))
  result, _ = _Create(env, "plain", disks=[{"adopt": "web_root", "size": 0},
                                           {"adopt": "web_swap", "size": 0}])
  assert result == ["node1"]
  disks = _InstanceDisks(env)
  assert [disk.size for disk in disks] == [2048, 512]
  assert not _Calls(env, "blockdev_create")
  (_, (renames,)), = _Calls(env, "blockdev_rename")
  assert [(list(source.logical_id), target) for source, target in renames] == [
    (["xenvg", "web_root"], list(disks[0].logical_id)),
    (["xenvg", "web_swap"], list(disks[1].logical_id))]
  assert all(disk.logical_id[1].endswith(".disk%d" % idx) for idx, disk in enumerate(disks))


@pytest.mark.parametrize("volumes, disks, message", [
  ({}, [{"adopt": "nosuch", "size": 0}], "Missing logical volume(s): xenvg/nosuch"),
  ({"busy": (1024, True)}, [{"adopt": "busy", "size": 0}],
   "Online logical volumes found, cannot adopt: xenvg/busy"),
  ({"a": (1024, False)}, [{"adopt": "a", "size": 0}, {"adopt": "a", "size": 0}],
   "Duplicate disk names given for adoption"),
  ({"a": (1024, False)}, [{"adopt": "a", "size": 0}, {"size": 1024}],
   "Either all disks are adopted or none is"),
])
def test_adoption_refusals(env, volumes, disks, message):
  _OfferLvs(env, **volumes)
  assert message in _Failure(env, errors.OpPrereqError, "plain", disks=disks)
  assert env.cfg.GetInstanceList() == []


def test_adopted_lv_of_another_instance_is_refused(env):
  _Create(env, "plain", name="owner")
  taken = _InstanceDisks(env, "owner")[0].logical_id[1]
  _OfferLvs(env, **{taken: (1024, False)})
  message = _Failure(env, errors.OpPrereqError, "plain", name="thief",
                     disks=[{"adopt": taken, "size": 0}])
  assert message == "LV named xenvg/%s used by another instance" % taken


def test_adoption_not_for_drbd_nor_with_an_iallocator(env):
  _OfferLvs(env, a=(1024, False))
  assert ("Disk adoption is not supported for the 'drbd' disk template" in
          _Failure(env, errors.OpPrereqError, "drbd", disks=[{"adopt": "a", "size": 0}]))
  assert ("Disk adoption not allowed with an iallocator script" in
          _Failure(env, errors.OpPrereqError, "plain", disks=[{"adopt": "a", "size": 0}],
                   pnode=None, iallocator="hail"))


def test_failed_rename_leaves_nothing_behind(env):
  _OfferLvs(env, a=(1024, False))
  env.rpc.failing[("blockdev_rename", _Uuid(env, "node1"))] = "rename refused"
  message = _Failure(env, errors.OpExecError, "plain", disks=[{"adopt": "a", "size": 0}])
  assert "rename refused" in message
  assert env.cfg.GetInstanceList() == []
  assert not _Calls(env, "blockdev_remove")  # the administrator's LV is never removed
