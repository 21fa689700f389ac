"""Node group logical units run by the real opcode processor on a real
configuration (messages as Debian's Ganeti 3.0 gives them)."""

import pytest

from ganeti import config
from ganeti import errors
from ganeti import locking
from ganeti import mcpu
from ganeti import objects
from ganeti import opcodes

from test_cmdlib_node import Callbacks, Context, FakeRpc


class JobsContext(Context):
  """Records the jobs logical units submit."""

  def __init__(self, cfg, rpc) -> None:
    super().__init__(cfg, rpc)
    self.submitted = []

  def SubmitManyJobsFromLU(self, jobs):
    self.submitted.extend(jobs)
    return [[True, 1000 + index] for index, _ in enumerate(jobs)]


@pytest.fixture
def env(tmp_path):
  config.InitConfig(str(tmp_path / "config.data"), cluster_name="cluster",
                    master_name="node1", primary_ip="192.0.2.1", master_ip="192.0.2.100",
                    master_netdev="eth0", enabled_hypervisors=["fake"],
                    enabled_disk_templates=["file", "plain", "drbd"], modify_etc_hosts=False)
  cfg = config.ConfigWriter(str(tmp_path / "config.data"))
  for index in (2, 3):
    cfg.AddNode(objects.Node(name="node%d" % index, primary_ip="192.0.2.%d" % index,
                             secondary_ip="192.0.2.%d" % index, master_candidate=False,
                             offline=False, drained=False, ndparams={}))
  return JobsContext(cfg, FakeRpc())


def _Run(ctx, op_class, **params):
  cbs = Callbacks()
  op = getattr(opcodes, op_class)(**params)
  for name, default, _, _ in op.GetAllParams():
    if not hasattr(op, name):
      setattr(op, name, default() if callable(default) else default)
  result = mcpu.Processor(ctx, cbs).ExecOpCode(op)
  return result, cbs.messages


def _Fails(ctx, error_class, op_class, **params):
  with pytest.raises(error_class) as err:
    _Run(ctx, op_class, **params)
  return err.value.args


def _Group(ctx, name):
  return ctx.cfg.LookupNodeGroupInfo(name)


def _Uuid(ctx, node_name):
  return ctx.cfg.GetNodeInfoByName(node_name).uuid


def _AddInstance(ctx, name, *node_names):
  """An instance with one disk on the given nodes (two nodes: DRBD-like)."""
  nodes = [_Uuid(ctx, node) for node in node_names]
  disk = objects.Disk(dev_type="drbd" if len(nodes) > 1 else "plain", size=128, mode="rw",
                      iv_name="disk/0", logical_id=["x", name], nodes=nodes)
  ctx.cfg.AddInstance(objects.Instance(name=name, primary_node=nodes[0], os="lab",
                                       hypervisor="fake", nics=[], disks=[disk]))


def test_add_with_parameters(env):
  _, _ = _Run(env, "OpGroupAdd", group_name="gx1", alloc_policy="unallocable",
              ndparams={"spindle_count": "2"}, diskparams={"plain": {"stripes": "3"}},
              ipolicy={"vcpu-ratio": "2"}, hv_state={"fake": {"mem_total": "1024"}})
  group = _Group(env, "gx1")
  assert group.alloc_policy == "unallocable" and group.members == []
  assert group.ndparams == {"spindle_count": 2}
  assert group.diskparams == {"plain": {"stripes": 3}}
  assert group.ipolicy == {"vcpu-ratio": 2.0}
  assert group.hv_state_static == {"fake": {"mem_total": 1024}}
  assert group.uuid in env.glm._Set(locking.LEVEL_NODEGROUP).names()  # pylint: disable=protected-access
  assert ("group-add", "post") in [(path, phase) for path, phase, _, _ in env.hooks]
  # without parameters: the defaults
  _Run(env, "OpGroupAdd", group_name="gx2")
  assert _Group(env, "gx2").alloc_policy == "preferred"


def test_add_refusals(env):
  _Run(env, "OpGroupAdd", group_name="gx1")
  uuid = _Group(env, "gx1").uuid
  assert _Fails(env, errors.OpPrereqError, "OpGroupAdd", group_name="gx1") == (
    "Desired group name 'gx1' already exists as a node group (UUID: %s)" % uuid,
    errors.ECODE_EXISTS)
  assert _Fails(env, errors.OpPrereqError, "OpGroupAdd", group_name="gx2",
                ipolicy={"disk-templates": ["rbd"]}) == (
    "The following disk templates are allowed by the ipolicy, but not enabled on the"
    " cluster: rbd", errors.ECODE_INVAL)
  assert _Fails(env, errors.TypeEnforcementError, "OpGroupAdd", group_name="gx2",
                ndparams={"bogus": "1"}) == ("Unknown parameter 'bogus'",)
  assert _Fails(env, errors.OpPrereqError, "OpGroupAdd", group_name="gx2",
                disk_state={"file": {"x": {"disk_total": "10"}}}) == (
    "Invalid storage type(s) in disk state: file", errors.ECODE_INVAL)
  assert _Group(env, "gx2") is None


def test_set_params_reports_node_and_disk_parameters(env):
  _Run(env, "OpGroupAdd", group_name="gx1")
  result, _ = _Run(env, "OpGroupSetParams", group_name="gx1", alloc_policy="last_resort")
  assert result == [] and _Group(env, "gx1").alloc_policy == "last_resort"
  result, _ = _Run(env, "OpGroupSetParams", group_name="gx1",
                   ndparams={"spindle_count": "3", "oob_program": "/bin/true"})
  assert result == [("ndparams", "{'spindle_count': 3, 'oob_program': '/bin/true'}")]
  result, _ = _Run(env, "OpGroupSetParams", group_name="gx1",
                   ndparams={"oob_program": "default"}, diskparams={"plain": {"stripes": "2"}})
  assert result == [("ndparams", "{'spindle_count': 3}"),
                    ("diskparams", "{'plain': {'stripes': 2}}")]
  _Run(env, "OpGroupSetParams", group_name="gx1",
       ipolicy={"spindle-ratio": 8, "minmax": [{
         "min": {"cpu-count": 1, "disk-count": 1, "disk-size": 1024, "memory-size": 128,
                 "nic-count": 1, "spindle-use": 1},
         "max": {"cpu-count": 2, "disk-count": 1, "disk-size": 1024, "memory-size": 128,
                 "nic-count": 1, "spindle-use": 1}}]},
       hv_state={"fake": {"mem_total": 512}}, disk_state={"plain": {"xenvg": {"disk_total": 9}}})
  group = _Group(env, "gx1")
  assert group.ipolicy["spindle-ratio"] == 8.0 and len(group.ipolicy["minmax"]) == 1
  assert group.disk_state_static == {"plain": {"xenvg": {"disk_total": 9}}}
  _Run(env, "OpGroupSetParams", group_name="gx1", ipolicy={"spindle-ratio": "default"})
  assert "spindle-ratio" not in _Group(env, "gx1").ipolicy
  assert _Fails(env, errors.OpPrereqError, "OpGroupSetParams", group_name="gx1",
                ipolicy={"minmax": [{"min": {"cpu-count": 4}, "max": {"cpu-count": 2}}]})[1] \
    == errors.ECODE_INVAL
  assert _Fails(env, errors.OpPrereqError, "OpGroupSetParams", group_name="gx1") == (
    "Please pass at least one modification", errors.ECODE_INVAL)
  assert _Fails(env, errors.OpPrereqError, "OpGroupSetParams", group_name="gx9",
                alloc_policy="preferred") == ("Node group 'gx9' not found",
                                              errors.ECODE_NOENT)


def test_assign_nodes_and_split_instances(env):
  _Run(env, "OpGroupAdd", group_name="gx1")
  _AddInstance(env, "mirrored", "node2", "node3")
  _AddInstance(env, "single", "node3")
  args = _Fails(env, errors.OpExecError, "OpGroupAssignNodes", group_name="gx1",
                nodes=["node2"])
  assert args == ("The following instances get split by this change and --force was not"
                  " given: mirrored",)
  _, messages = _Run(env, "OpGroupAssignNodes", group_name="gx1", nodes=["node2"], force=True)
  assert " - WARNING: This operation will split the following instances: mirrored" in messages
  gx1 = _Group(env, "gx1")
  assert gx1.members == [_Uuid(env, "node2")]
  assert env.cfg.GetNodeInfoByName("node2").group == gx1.uuid
  # moving node3 along joins the mirrored instance again; node names may be short
  _Run(env, "OpGroupAssignNodes", group_name="gx1", nodes=["node3"])
  assert sorted(_Group(env, "gx1").members) == sorted([_Uuid(env, "node2"),
                                                       _Uuid(env, "node3")])
  assert _Fails(env, errors.OpPrereqError, "OpGroupAssignNodes", group_name="gx1",
                nodes=["nodeX"]) == ("Node 'nodeX' not known", errors.ECODE_NOENT)


def test_remove_and_rename(env):
  _Run(env, "OpGroupAdd", group_name="gx1")
  default = _Group(env, "default")
  members = ", ".join(default.members)
  assert _Fails(env, errors.OpPrereqError, "OpGroupRemove", group_name="default") == (
    "Group 'default' not empty, has the following nodes: %s" % members, errors.ECODE_STATE)
  assert _Fails(env, errors.OpPrereqError, "OpGroupRename", group_name="gx1",
                new_name="default") == (
    "Desired new name 'default' clashes with existing node group (UUID: %s)" % default.uuid,
    errors.ECODE_EXISTS)
  result, _ = _Run(env, "OpGroupRename", group_name="gx1", new_name="gx3")
  assert result == "gx3" and _Group(env, "gx1") is None
  uuid = _Group(env, "gx3").uuid
  _Run(env, "OpGroupRemove", group_name="gx3")
  assert env.cfg.GetNodeGroup(uuid) is None
  assert uuid not in env.glm._Set(locking.LEVEL_NODEGROUP).names()  # pylint: disable=protected-access
  assert _Fails(env, errors.OpPrereqError, "OpGroupRemove", group_name="gx3") == (
    "Node group 'gx3' not found", errors.ECODE_NOENT)


def test_remove_refuses_the_last_group(env):
  _Run(env, "OpGroupAdd", group_name="gx1")
  _Run(env, "OpGroupAssignNodes", group_name="gx1", nodes=["node1", "node2", "node3"])
  _Run(env, "OpGroupRemove", group_name="default")
  assert _Fails(env, errors.OpPrereqError, "OpGroupRemove", group_name="gx1")[1] == \
    errors.ECODE_STATE


def test_evacuate(env):
  _Run(env, "OpGroupAdd", group_name="gx1")
  result, _ = _Run(env, "OpGroupEvacuate", group_name="gx1")
  assert result == {"jobs": []} and env.submitted == []
  assert _Fails(env, errors.OpPrereqError, "OpGroupEvacuate", group_name="gx1",
                target_groups=["gx1"])[1] == errors.ECODE_INVAL
  _AddInstance(env, "single", "node3")
  message, code = _Fails(env, errors.OpPrereqError, "OpGroupEvacuate", group_name="default")
  assert "single" in message and code == errors.ECODE_ENVIRON
  _Run(env, "OpGroupAssignNodes", group_name="gx1", nodes=["node1", "node2", "node3"])
  _Run(env, "OpGroupRemove", group_name="default")
  assert _Fails(env, errors.OpPrereqError, "OpGroupEvacuate", group_name="gx1") == (
    "There are no possible target groups", errors.ECODE_INVAL)
