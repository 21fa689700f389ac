"""Tests for ganeti.opcodes: the generated classes, wire form, validation, summaries.

Expected texts come from a real Ganeti 3.0 cluster (job listings, LUXI answers,
captured SubmitJob requests).
"""

import copy
import json
import os
import pickle
import subprocess
import sys

import pytest

from ganeti import errors
from ganeti import opcodes
from ganeti import serializer

FACTS = os.path.join(os.path.dirname(__file__), "..", "data", "ganeti-3.0", "opcodes.json")

ALL_OP_IDS = """
OP_BACKUP_EXPORT OP_BACKUP_PREPARE OP_BACKUP_REMOVE OP_CLUSTER_ACTIVATE_MASTER_IP
OP_CLUSTER_CONFIG_QUERY OP_CLUSTER_DEACTIVATE_MASTER_IP OP_CLUSTER_DESTROY OP_CLUSTER_POST_INIT
OP_CLUSTER_QUERY OP_CLUSTER_REDIST_CONF OP_CLUSTER_RENAME OP_CLUSTER_RENEW_CRYPTO
OP_CLUSTER_REPAIR_DISK_SIZES OP_CLUSTER_SET_PARAMS OP_CLUSTER_VERIFY OP_CLUSTER_VERIFY_CONFIG
OP_CLUSTER_VERIFY_DISKS OP_CLUSTER_VERIFY_GROUP OP_EXT_STORAGE_DIAGNOSE OP_GROUP_ADD
OP_GROUP_ASSIGN_NODES OP_GROUP_EVACUATE OP_GROUP_REMOVE OP_GROUP_RENAME OP_GROUP_SET_PARAMS
OP_GROUP_VERIFY_DISKS OP_INSTANCE_ACTIVATE_DISKS OP_INSTANCE_CHANGE_GROUP OP_INSTANCE_CONSOLE
OP_INSTANCE_CREATE OP_INSTANCE_DEACTIVATE_DISKS OP_INSTANCE_FAILOVER OP_INSTANCE_GROW_DISK
OP_INSTANCE_MIGRATE OP_INSTANCE_MOVE OP_INSTANCE_MULTI_ALLOC OP_INSTANCE_QUERY_DATA
OP_INSTANCE_REBOOT OP_INSTANCE_RECREATE_DISKS OP_INSTANCE_REINSTALL OP_INSTANCE_REMOVE
OP_INSTANCE_RENAME OP_INSTANCE_REPLACE_DISKS OP_INSTANCE_SET_PARAMS OP_INSTANCE_SHUTDOWN
OP_INSTANCE_STARTUP OP_NETWORK_ADD OP_NETWORK_CONNECT OP_NETWORK_DISCONNECT OP_NETWORK_REMOVE
OP_NETWORK_SET_PARAMS OP_NODE_ADD OP_NODE_EVACUATE OP_NODE_MIGRATE OP_NODE_MODIFY_STORAGE
OP_NODE_POWERCYCLE OP_NODE_QUERYVOLS OP_NODE_QUERY_STORAGE OP_NODE_REMOVE OP_NODE_SET_PARAMS
OP_OOB_COMMAND OP_OS_DIAGNOSE OP_QUERY OP_QUERY_FIELDS OP_REPAIR_NODE_STORAGE
OP_RESTRICTED_COMMAND OP_TAGS_DEL OP_TAGS_GET OP_TAGS_SEARCH OP_TAGS_SET OP_TEST_ALLOCATOR
OP_TEST_DELAY OP_TEST_DUMMY OP_TEST_JQUEUE OP_TEST_OS_PARAMS
""".split()

COMMON = ["dry_run", "debug_level", "priority", "depends", "comment", "reason"]

# Values tried in turn for a required parameter until one passes its check
CANDIDATES = ["inst1.example.com", ["name"], [], 1.5, 0, {}, "10.0.0.0/24", "local", "create",
              "replace_auto", "all", "allocate", "health", "hard", "bridged", "node", "lvm-vg",
              "in"]

# SubmitJob bodies captured from real gnt-* commands, and a real job file's stored input
SNIFFED_BODIES = [
  {"duration": 0.001, "on_master": True, "on_nodes": [], "on_node_uuids": None, "repeat": 0,
   "interruptible": False, "no_locks": False, "dry_run": False, "debug_level": 0, "priority": 0,
   "depends": None, "comment": None,
   "reason": [["gnt:client:gnt-debug", "delay", 1795578199236414720]], "OP_ID": "OP_TEST_DELAY"},
  {"kind": "cluster", "tags": ["foo"], "name": "", "dry_run": None, "debug_level": 0,
   "priority": 0, "depends": None, "comment": None,
   "reason": [["gnt:client:gnt-cluster", "add-tags", 1795578205174412544]],
   "OP_ID": "OP_TAGS_SET"},
  {"duration": 0.001, "on_master": True, "on_nodes": [],
   "on_node_uuids": ["07c9feed-129f-454f-b4e8-91a9084aeed4"], "repeat": 0, "interruptible": False,
   "no_locks": False, "dry_run": False, "debug_level": 0, "priority": 0, "depends": None,
   "comment": None, "reason": [["gnt:client:gnt-debug", "delay", 1795578199236414720],
                               ["gnt:opcode:test_delay", "job=8;index=0", 1795578199320727000]],
   "OP_ID": "OP_TEST_DELAY"},
]


def _required_values(cls):
  values = {}
  for name in sorted(cls._REQUIRED):
    check = next(p[2] for p in cls.OP_PARAMS if p[0] == name)
    values[name] = next(copy.deepcopy(c) for c in CANDIDATES if check(c))
  return values


def test_every_opcode_is_generated_with_ganeti_class_names():
  assert sorted(opcodes.OP_MAPPING) == ALL_OP_IDS
  for op_id, cls in opcodes.OP_MAPPING.items():
    assert cls.OP_ID == op_id and issubclass(cls, opcodes.OpCode)
    assert getattr(opcodes, cls.__name__) is cls
  names = {op_id: cls.__name__ for op_id, cls in opcodes.OP_MAPPING.items()}
  assert names["OP_TEST_DELAY"] == "OpTestDelay"
  assert names["OP_NODE_QUERYVOLS"] == "OpNodeQueryvols"
  assert names["OP_EXT_STORAGE_DIAGNOSE"] == "OpExtStorageDiagnose"
  assert names["OP_CLUSTER_ACTIVATE_MASTER_IP"] == "OpClusterActivateMasterIp"
  assert names["OP_OOB_COMMAND"] == "OpOobCommand"
  assert names["OP_TEST_JQUEUE"] == "OpTestJqueue"


def test_class_attributes():
  cls = opcodes.OpTestDelay
  assert [p[0] for p in cls.GetAllParams()] == [
    "duration", "on_master", "on_nodes", "on_node_uuids", "repeat", "interruptible",
    "no_locks"] + COMMON
  assert cls.OP_DSC_FIELD == "duration" and cls.WITH_LU and cls.OP_RESULT(None)
  assert not opcodes.OpTestDummy.WITH_LU
  assert opcodes.OpNodeAdd.OP_DSC_FIELD == "node_name"
  assert opcodes.OpInstanceStartup.OP_DSC_FIELD == "instance_name"
  assert opcodes.OpClusterVerify.OP_DSC_FIELD is None
  assert all(isinstance(p[3], str) and p[3] for c in opcodes.OP_MAPPING.values()
             for p in c.GetAllParams())
  for cls in opcodes.OP_MAPPING.values():
    assert [p[0] for p in cls.GetAllParams()][-6:] == COMMON


@pytest.mark.skipif(not os.path.exists(FACTS), reason="facts of the real Ganeti not available")
def test_table_matches_real_ganeti():
  with open(FACTS) as handle:
    facts = json.load(handle)
  assert sorted(facts) == ALL_OP_IDS
  for op_id, fact in facts.items():
    cls = opcodes.OP_MAPPING[op_id]
    mine = [(name, default() if callable(default) else default, str(check))
            for name, default, check, _ in cls.GetAllParams()]
    assert [m[0] for m in mine] == [p[0] for p in fact["params"]], op_id
    for (name, default, desc), (_, real_default, real_desc) in zip(mine, fact["params"]):
      assert (default, type(default)) == (real_default, type(real_default)), (op_id, name)
      if "TStorageType" not in real_desc:  # real Ganeti prints a function object there
        assert desc == real_desc, (op_id, name)
    assert str(cls.OP_RESULT) == fact["result"], op_id
    assert cls.WITH_LU == fact["WITH_LU"], op_id
    if op_id != "OP_TAGS_GET":  # summarised by kind, as luxid does
      assert cls.OP_DSC_FIELD == fact["dsc_field"], op_id


@pytest.mark.parametrize("op_id", ALL_OP_IDS)
def test_round_trip(op_id):
  cls = opcodes.OP_MAPPING[op_id]
  op = cls(**_required_values(cls))
  op.Validate(True)
  data = op.ToDict()
  assert data["OP_ID"] == op_id and set(data) == {p[0] for p in cls.OP_PARAMS} | {"OP_ID"}
  wire = serializer.LoadJson(serializer.DumpJson(data))
  loaded = opcodes.OpCode.LoadOpCode(wire)
  assert type(loaded) is cls
  assert loaded.__getstate__() == wire
  loaded.Validate(False)
  assert opcodes.ParseSubmittedOpCode(wire).ToDict() == wire


@pytest.mark.parametrize("op_id", ALL_OP_IDS)
def test_missing_required_parameter(op_id):
  cls = opcodes.OP_MAPPING[op_id]
  required = [p[0] for p in cls.OP_PARAMS if p[0] in cls._REQUIRED]
  for set_defaults in (False, True):
    if not required:
      cls().Validate(set_defaults)
      continue
    with pytest.raises(errors.OpPrereqError) as err:
      cls().Validate(set_defaults)
    assert err.value.args == ("Parameter '%s.%s' fails validation" % (op_id, required[0]),
                              errors.ECODE_INVAL)


@pytest.mark.parametrize("kwargs, name", [
  ({"duration": "x"}, "duration"),
  ({"duration": None}, "duration"),
  ({"duration": 1.0, "priority": 5}, "priority"),
  ({"duration": 1.0, "on_nodes": "node1"}, "on_nodes"),
  ({"duration": 1.0, "repeat": -1}, "repeat"),
  ({"duration": 1.0, "depends": [[1]]}, "depends"),
  ({"duration": 1.0, "dry_run": "yes"}, "dry_run"),
])
def test_ill_typed_parameter(kwargs, name):
  for set_defaults in (False, True):
    with pytest.raises(errors.OpPrereqError) as err:
      opcodes.OpTestDelay(**kwargs).Validate(set_defaults)
    assert err.value.args == ("Parameter 'OP_TEST_DELAY.%s' fails validation" % name,
                              errors.ECODE_INVAL)


def test_defaults_filled_only_when_asked():
  op = opcodes.OpTestDelay(duration=2.5)
  assert not hasattr(op, "on_master")
  op.Validate(False)
  assert op.ToDict() == {"duration": 2.5, "OP_ID": "OP_TEST_DELAY"}
  op.Validate(True)
  assert op.ToDict() == {
    "duration": 2.5, "on_master": True, "on_nodes": [], "on_node_uuids": None, "repeat": 0,
    "interruptible": False, "no_locks": True, "dry_run": None, "debug_level": None,
    "priority": 0, "depends": None, "comment": None, "reason": [], "OP_ID": "OP_TEST_DELAY"}


def test_callable_defaults_give_fresh_values():
  first, second = opcodes.OpTestDelay(duration=1.0), opcodes.OpTestDelay(duration=1.0)
  first.Validate(True)
  second.Validate(True)
  first.on_nodes.append("node1")
  first.reason.append(["src", "why", 0])
  assert second.on_nodes == [] and second.reason == []
  assert opcodes.OpTestDelay.OP_PARAMS[2][1] is list


def test_given_values_are_kept():
  op = opcodes.OpInstanceStartup(instance_name="inst1", force=True, priority=-10)
  op.Validate(True)
  assert (op.instance_name, op.force, op.priority, op.hvparams) == ("inst1", True, -10, {})


def test_constructor_rejects_unknown_parameters():
  with pytest.raises(TypeError) as err:
    opcodes.OpTestDelay(bogus=1)
  assert str(err.value) == "Object OpTestDelay doesn't support the parameter 'bogus'"
  with pytest.raises(TypeError):
    opcodes.OpTestDelay(1.0)
  with pytest.raises(AttributeError):
    opcodes.OpTestDelay().bogus = 1


@pytest.mark.parametrize("data, message", [
  (["OP_TEST_DELAY"], "Invalid data to LoadOpCode (<class 'list'>)"),
  ({"duration": 1.0}, "Invalid data to LoadOpcode, missing OP_ID"),
  ({"OP_ID": "OP_NOPE"}, "Invalid data to LoadOpCode: OP_ID OP_NOPE unsupported"),
  ({"OP_ID": 5}, "Invalid data to LoadOpCode: OP_ID 5 unsupported"),
  ({"OP_ID": "OP_TEST_DELAY", "bogus": 1},
   "Object OpTestDelay doesn't support the parameter 'bogus'"),
])
def test_load_opcode_errors(data, message):
  with pytest.raises(ValueError) as err:
    opcodes.OpCode.LoadOpCode(data)
  assert str(err.value) == message


def test_copy_and_pickle_keep_the_parameters():
  op = opcodes.OpNodeAdd(node_name="node2.gnt.test", readd=False, reason=[["a", "b", 1]])
  for clone in (copy.deepcopy(op), copy.copy(op), pickle.loads(pickle.dumps(op))):
    assert type(clone) is opcodes.OpNodeAdd and clone.ToDict() == op.ToDict()
  assert copy.deepcopy(op).reason is not op.reason


@pytest.mark.parametrize("op, summary", [
  (opcodes.OpTestDelay(duration=0.001), "TEST_DELAY(1.0e-3)"),
  (opcodes.OpTestDelay(duration=15), "TEST_DELAY(15.0)"),
  (opcodes.OpTestDelay(duration=0.25), "TEST_DELAY(0.25)"),
  (opcodes.OpTestDelay(duration=12345678.5), "TEST_DELAY(1.23456785e7)"),
  (opcodes.OpNodeAdd(node_name="node2.gnt.test"), "NODE_ADD(node2.gnt.test)"),
  (opcodes.OpClusterVerify(), "CLUSTER_VERIFY"),
  (opcodes.OpClusterVerifyGroup(group_name="00623d44-88f2-4d1d-858e-dbf384963790"),
   "CLUSTER_VERIFY_GROUP(00623d44-88f2-4d1d-858e-dbf384963790)"),
  (opcodes.OpTagsSearch(pattern="fo"), "TAGS_SEARCH(fo)"),
  (opcodes.OpTagsSet(kind="cluster", tags=["foo"]), "TAGS_SET"),
  (opcodes.OpTagsGet(kind="cluster"), "TAGS_GET(TagKindCluster)"),
  (opcodes.OpTagsGet(kind="nodegroup", name="g"), "TAGS_GET(TagKindGroup)"),
  (opcodes.OpQuery(what="node", fields=["name"]), "QUERY(node)"),
  (opcodes.OpTestAllocator(direction="in", mode="allocate", name="x"), "TEST_ALLOCATOR(None)"),
  (opcodes.OpInstanceStartup(instance_name=""), "INSTANCE_STARTUP()"),
  (opcodes.OpGroupRename(group_name="a", new_name="b"), "GROUP_RENAME"),
  (opcodes.OpNetworkConnect(network_name="net1"), "NETWORK_CONNECT(net1)"),
])
def test_summary(op, summary):
  assert op.Summary() == summary


@pytest.mark.parametrize("value, text", [
  (0.001, "1.0e-3"), (0.05, "5.0e-2"), (1e-9, "1.0e-9"), (0.1, "0.1"), (2, "2.0"), (-1, "-1.0"),
  (0, "0.0"), (123.456, "123.456"), (9999999.0, "9999999.0"), (1e7, "1.0e7"), (1.5e16, "1.5e16"),
])
def test_format_double(value, text):
  assert opcodes.FormatDouble(value) == text


@pytest.mark.parametrize("op_id, tiny", [
  ("OP_INSTANCE_STARTUP", "I_STARTUP"), ("OP_CLUSTER_VERIFY", "C_VERIFY"),
  ("OP_NODE_ADD", "N_ADD"), ("OP_GROUP_ADD", "G_ADD"), ("OP_TEST_DELAY", "TEST_DELAY"),
  ("OP_NETWORK_ADD", "NETWORK_ADD"), ("OP_TAGS_SET", "TAGS_SET"),
])
def test_tiny_summary(op_id, tiny):
  assert opcodes.OP_MAPPING[op_id]().TinySummary() == tiny


@pytest.mark.parametrize("body", SNIFFED_BODIES)
def test_sniffed_bodies_load_and_validate(body):
  op = opcodes.OpCode.LoadOpCode(body)
  op.Validate(False)
  op.Validate(True)
  assert op.ToDict() == body
  assert opcodes.ParseSubmittedOpCode(body).ToDict() == body


# luxid's refusals of submitted opcodes (after "Failed to parse request: SubmitJob: ")
@pytest.mark.parametrize("data, message", [
  ({"OP_ID": "OP_TEST_DELAY"}, 'key \'reason\' not found, object contains only ["OP_ID"]'),
  ({"OP_ID": "OP_NO_SUCH", "duration": 1},
   'key \'reason\' not found, object contains only ["OP_ID","duration"]'),
  ("foo", "Unable to read JSObject"),
  ({"OP_ID": "OP_TEST_DELAY", "duration": 0.001, "priority": 5},
   "Can't parse value for 'priority': Invalid string value for type OpSubmitPriority: 5"),
  ({"OP_ID": "OP_TEST_DELAY", "duration": 0.001, "dry_run": "x"},
   "Can't parse value for 'dry_run': Unable to read Bool"),
  ({"reason": [], "OP_ID": "OP_TEST_DELAY"},
   'key \'duration\' not found, object contains only ["reason","OP_ID"]'),
  ({"reason": [], "OP_ID": "OP_TEST_DELAY", "duration": "abc"},
   "Can't parse value for 'duration': Unable to read Double"),
  ({"reason": [], "duration": 1},
   'key \'OP_ID\' not found, object contains only ["reason","duration"]'),
  ({"reason": [], "OP_ID": 5}, "key 'OP_ID': Unable to read String"),
  ({"reason": [], "OP_ID": "OP_NO_SUCH", "duration": 1}, "Unknown opcode OP_NO_SUCH"),
  ({"reason": [], "OP_ID": "OP_TEST_DELAY", "duration": 0.001, "bogus_param": 3},
   'Superfluous dictionary keys: ["bogus_param"], but only ["OP_ID","comment","debug_level",'
   '"depends","dry_run","duration","interruptible","no_locks","on_master","on_node_uuids",'
   '"on_nodes","priority","reason","repeat"] allowed.'),
  ({"reason": "x", "OP_ID": "OP_TEST_DELAY", "duration": 0.001},
   "Can't parse value for 'reason': Unable to read list"),
  ({"OP_ID": "OP_TEST_DELAY", "duration": 1, "reason": [1]},
   "Can't parse value for 'reason': Unable to read Triple"),
  ({"reason": [], "OP_ID": "OP_TEST_DELAY", "duration": 0.001, "on_nodes": "x"},
   "Can't parse value for 'on_nodes': Unable to read list"),
  ({"OP_ID": "OP_TEST_DELAY", "duration": 1, "on_nodes": [""], "reason": []},
   "Can't parse value for 'on_nodes': Received empty value for non-empty list"),
  ({"reason": [], "OP_ID": "OP_TEST_DELAY", "duration": 0.001, "depends": [[1]]},
   "Can't parse value for 'depends': Unable to read Pair"),
  ({"OP_ID": "OP_TEST_DELAY", "duration": 1, "depends": [["a", []]], "reason": []},
   "Can't parse value for 'depends': parsing job id: cannot parse string 'a'"),
  ({"OP_ID": "OP_TEST_DELAY", "duration": 1, "depends": [[1, ["x"]]], "reason": []},
   'Can\'t parse value for \'depends\': Invalid string value for type FinalizedJobStatus: "x"'),
  ({"reason": [], "OP_ID": "OP_TEST_DELAY", "duration": 0.001, "debug_level": -1},
   "Can't parse value for 'debug_level': Invalid value for non-negative type '-1'"),
  ({"reason": [], "OP_ID": "OP_TAGS_GET", "kind": "clusterx"},
   'Can\'t parse value for \'kind\': Invalid string value for type TagKind: "clusterx"'),
  ({"OP_ID": "OP_OOB_COMMAND", "node_names": ["n1"], "command": "health", "timeout": "x",
    "reason": []}, "Can't parse value for 'timeout': Unable to read Int"),
  ({"OP_ID": "OP_INSTANCE_STARTUP", "instance_name": "i1", "hvparams": [], "reason": []},
   "Can't parse value for 'hvparams': Unable to read JSObject"),
  ({"OP_ID": "OP_INSTANCE_STARTUP", "instance_name": "i1", "instance_uuid": "", "reason": []},
   "Can't parse value for 'instance_uuid': Received empty value for non-empty list"),
  ({"OP_ID": "OP_CLUSTER_VERIFY_GROUP", "group_name": "g", "skip_checks": "x", "reason": []},
   "Can't parse value for 'skip_checks': readJSON{Set}: unable to parse array value"),
  ({"OP_ID": "OP_INSTANCE_GROW_DISK", "instance_name": "i1", "disk": 16, "amount": 1,
    "reason": []},
   "Can't parse value for 'disk': Invalid value for disk index '16', required between 0 and 16"),
  ({"OP_ID": "OP_CLUSTER_RENEW_CRYPTO", "reason": [], "ssh_key_bits": 0},
   "Can't parse value for 'ssh_key_bits': Invalid value for positive type '0'"),
  ({"OP_ID": "OP_CLUSTER_SET_PARAMS", "reason": [], "diskparams": "x"},
   'Can\'t parse value for \'diskparams\': Failed to load container, expected object but got "x"'),
  ({"OP_ID": "OP_CLUSTER_VERIFY", "reason": [], "ignore_errors": ["x"]},
   'Can\'t parse value for \'ignore_errors\': Invalid string value for type CVErrorCode: "x"'),
  ({"OP_ID": "OP_INSTANCE_RECREATE_DISKS", "reason": [], "instance_name": "i1", "disks": ["x"]},
   "Can't parse value for 'disks': Can't parse disk information as either list of disk indices"
   ' or list of disk parameters; value received:["x"]'),
  ({"OP_ID": "OP_INSTANCE_SET_PARAMS", "reason": [], "instance_name": "i1", "nics": ["x"]},
   "Can't parse value for 'nics': Unable to read Triple"),
  ({"OP_ID": "OP_TEST_DUMMY", "reason": []},
   'key \'result\' not found, object contains only ["OP_ID","reason"]'),
])
def test_submitted_opcode_refusals(data, message):
  with pytest.raises(ValueError) as err:
    opcodes.ParseSubmittedOpCode(data)
  assert str(err.value) == message


@pytest.mark.parametrize("data", [
  {"reason": [], "OP_ID": "OP_TEST_DELAY", "duration": -1},
  {"reason": [], "OP_ID": "OP_TEST_DELAY", "duration": 2},
  {"reason": [], "OP_ID": "OP_TAGS_GET", "kind": "cluster"},
  {"reason": [], "OP_ID": "OP_INSTANCE_STARTUP", "instance_name": ""},
  {"OP_ID": "OP_TEST_DELAY", "duration": 1, "comment": None, "dry_run": None,
   "debug_level": None, "reason": []},
])
def test_submitted_opcodes_accepted_by_luxid(data):
  op = opcodes.ParseSubmittedOpCode(data)
  assert op.ToDict() == data and not hasattr(op, "priority")


def test_import_stays_light():
  code = ("import sys; before = set(sys.modules); import ganeti.opcodes; "
          "print(sorted(m for m in ('ipaddress', 'json', 're', 'logging', 'socket') "
          "if m in set(sys.modules) - before))")
  out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
  assert out.stdout.strip() == "[]"


def test_classes_are_made_when_first_used():
  """Importing opcodes makes no class (a command needs one or two of them);
  each is made once, whichever way it is first asked for."""
  code = """
import sys, threading
from ganeti import opcodes
assert not [name for name in vars(opcodes) if name.startswith("Op") and name != "OpCode"]
made = []
threads = [threading.Thread(target=lambda: made.append(opcodes.OP_MAPPING["OP_TEST_DELAY"]))
           for _ in range(8)]
for thread in threads: thread.start()
for thread in threads: thread.join()
assert len(set(made)) == 1 and made[0] is opcodes.OpTestDelay
from ganeti.opcodes import OpTestDelay
assert OpTestDelay is made[0] and "OpTestDelay" in vars(opcodes) and "OpTestDelay" in dir(opcodes)
assert "OpInstanceCreate" not in vars(opcodes) and "OpInstanceCreate" in dir(opcodes)
assert opcodes.OpCode.LoadOpCode({"OP_ID": "OP_INSTANCE_CREATE"}).__class__.__name__ == \\
  "OpInstanceCreate"
try:
  opcodes.OpNoSuchThing
except AttributeError:
  pass
else:
  raise AssertionError("no error")
print("ok")
"""
  proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
  assert proc.stdout.strip() == "ok", proc.stderr
