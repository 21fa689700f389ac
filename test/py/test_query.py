"""Tests of ganeti.query: field definitions, filters, replies.

Expected texts, field definitions and replies were recorded from a real
Ganeti 3.0 cluster (test/data/ganeti-3.0/query-*.json and the job queue
traffic quoted below).
"""

import gc
import json
import os
import threading
import time

import pytest

from ganeti import config
from ganeti import constants
from ganeti import errors
from ganeti import jqueue
from ganeti import objects
from ganeti import opcodes
from ganeti import query

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "ganeti-3.0")


def _Load(name):
  with open(os.path.join(DATA, name)) as handle:
    return json.load(handle)


def _Wire(value):
  """What a reply looks like once sent as JSON."""
  return json.loads(json.dumps(value))


# ---- fixtures ----------------------------------------------------------------

class FakeQueue:
  """The job queue interface RunQuery and JobRows use."""

  def __init__(self, live, archived=()):
    self.live = {job.id: job for job in live}
    self.archived = {job.id: job for job in archived}

  def GetJobs(self, job_ids=None, include_archived=False):
    if job_ids is None:
      return [self.live[job_id] for job_id in sorted(self.live)]
    found = []
    for job_id in job_ids:
      job = self.live.get(job_id)
      if job is None and include_archived:
        job = self.archived.get(job_id)
      found.append(job)
    return found


class FakeLocks:
  def __init__(self, rows):
    self.rows = rows

  def GetLockInfo(self, fields):
    assert fields == ["name", "mode", "owner", "pending"]
    return self.rows


class FakeMaster:
  """The master daemon context RunQuery reads."""

  def __init__(self, cfg_name="config-with-instance.data", jobs=(), archived=(), locks=()):
    self.cfg = config.ConfigWriter(cfg_file=os.path.join(DATA, cfg_name), offline=True)
    self.queue = FakeQueue(jobs, archived)
    self.glm = FakeLocks(list(locks))

  @staticmethod
  def GetWatcherPause():
    return None


def _Job(job_id, *ops, status=constants.OP_STATUS_SUCCESS, received=(1000, 5),
         started=None, archived=False):
  job = jqueue.QueuedJob(job_id, [opcodes.OpCode.LoadOpCode(op) for op in ops],
                         threading.Lock())
  for op in job.ops:
    op.status = status
  job.received_timestamp = list(received) if received else None
  job.start_timestamp = list(started) if started else None
  job.archived = archived
  return job


def _Delay(duration=0.001, **extra):
  return dict({"OP_ID": "OP_TEST_DELAY", "duration": duration}, **extra)


@pytest.fixture(name="jobs")
def fixture_jobs():
  return [
    _Job(2, _Delay(), received=(1795578064, 995337), started=(1795578065, 1)),
    _Job(3, {"OP_ID": "OP_CLUSTER_VERIFY_GROUP", "group_name": "g1"}, _Delay(2.0)),
    _Job(5, _Delay(), status=constants.OP_STATUS_QUEUED, received=(2000, 0)),
  ]


@pytest.fixture(name="master")
def fixture_master(jobs):
  return FakeMaster(jobs=jobs, archived=[_Job(1, _Delay(), archived=True)])


def _Ids(reply):
  return [row[0][1] for row in reply["data"]]


# ---- field definitions ------------------------------------------------------------

@pytest.mark.parametrize("resource", sorted(_Load("query-fields.json")))
def test_all_fields_as_real(resource):
  assert query.QueryFields(resource, None) == {"fields": _Load("query-fields.json")[resource]}
  assert query.QueryFields(resource, []) == query.QueryFields(resource, None)


def test_query_fields_named_and_unknown():
  # ["QueryFields", ["job", ["id", "bogus", "status"]]]
  assert query.QueryFields("job", ["id", "bogus", "status"]) == {"fields": [
    {"name": "id", "title": "ID", "kind": "number", "doc": "Job ID"},
    {"name": "bogus", "title": "bogus", "kind": "unknown", "doc": "Unknown field 'bogus'"},
    {"name": "status", "title": "Status", "kind": "text", "doc": "Job status"}]}


def test_unknown_resource():
  with pytest.raises(errors.ParameterError):
    query.GetFieldSet("bogus")


# ---- replies compared with the real ones ---------------------------------------------

@pytest.mark.parametrize("case", _Load("query-replies.json"),
                         ids=lambda case: case["request"][1][0])
def test_config_replies_as_real(case):
  what, fields, qfilter_ = case["request"][1]
  master = FakeMaster(case["config"])
  reply = _Wire(query.RunQuery(master, what, fields, qfilter_))
  real = case["reply"]["result"]
  assert reply["fields"] == real["fields"]
  live = {field.name for field in query.GetFieldSet(what).fields.values()
          if field.data != query.DATA_CONFIG}
  assert len(reply["data"]) == len(real["data"])
  for row, real_row in zip(reply["data"], real["data"]):
    for field, cell, real_cell in zip(fields, row, real_row):
      # Live data is not collected here
      expected = [constants.RS_NODATA, None] if field in live else real_cell
      assert cell == expected, field


def test_live_data_from_context():
  case = _Load("query-replies.json")[0]
  cfg = config.ConfigWriter(cfg_file=os.path.join(DATA, case["config"]), offline=True)
  inst = next(iter(cfg.GetAllInstancesInfo().values()))
  fields = ["name", "status", "oper_state", "oper_ram", "oper_vcpus", "console"]
  console = {"instance": inst.name, "kind": "msg",
             "message": "Console not available for fake hypervisor"}
  running = query.ConfigContext.FromConfig(cfg, live_instances={
    inst.uuid: {"node": inst.primary_node, "memory": 128, "vcpus": 2}},
    consoles={inst.uuid: console})
  real_row = dict(zip(case["request"][1][1], case["reply"]["result"]["data"][0]))
  result = query.Query(query.GetFieldSet("instance"), fields).Query(running, [inst])
  assert result == [[real_row[name] for name in fields]]
  # Stopped, as the real one reports it
  stopped = query.ConfigContext.FromConfig(cfg, live_instances={}, consoles={})
  inst.admin_state = constants.ADMINST_DOWN
  result = query.Query(query.GetFieldSet("instance"), fields).Query(stopped, [inst])
  assert result == [[[0, inst.name], [0, "ADMIN_down"], [0, False], [3, None], [3, None],
                     [2, None]]]
  inst.admin_state = constants.ADMINST_OFFLINE
  assert query.Query(query.GetFieldSet("instance"), ["status"]).Query(stopped, [inst]) == \
    [[[0, "ADMIN_offline"]]]


def test_node_live_fields():
  cfg = config.ConfigWriter(cfg_file=os.path.join(DATA, "config.data"), offline=True)
  nodes = sorted(cfg.GetAllNodesInfo().values(), key=lambda node: node.name)
  ctx = query.ConfigContext.FromConfig(cfg, live_nodes={nodes[0].uuid: {"mfree": 23468}})
  nodes[1].offline = True
  result = query.Query(query.GetFieldSet("node"), ["mfree", "spfree", "role"]).Query(ctx, nodes)
  assert result == [[[0, 23468], [2, None], [0, "M"]], [[4, None], [4, None], [0, "C"]]]


def test_job_reply_as_real():
  job = jqueue.QueuedJob.Restore(_Load("job-8.json"), threading.Lock())
  master = FakeMaster(jobs=[job])
  # gnt-job list -o id,status,summary,received_ts (job 8 of that reply)
  reply = query.RunQuery(master, "job", ["id", "status", "summary", "received_ts"], None)
  assert _Wire(reply["data"]) == [[[0, 8], [0, "success"], [0, ["TEST_DELAY(1.0e-3)"]],
                                   [0, [1795578199, 320727]]]]
  assert reply["fields"][3] == {
    "name": "received_ts", "title": "Received", "kind": "other",
    "doc": "Timestamp of when job was received (tuple containing seconds and microseconds)"}
  assert query.JobValues(job, ["opstart", "opexec", "opend", "oppriority", "opresult",
                               "oplog", "start_ts", "end_ts", "priority", "archived"]) == [
    [[1795578199, 524550]], [[1795578199, 562744]], [[1795578199, 625671]], [0], [None],
    [[]], [1795578199, 524550], [1795578199, 625682], 0, False]


def test_lock_and_filter_replies():
  # gnt-debug locks / gnt-filter list on an idle cluster
  master = FakeMaster("config.data")
  for what, fields in [("lock", ["name", "mode", "owner", "pending"]),
                       ("filter", ["uuid", "watermark", "priority", "predicates", "action",
                                   "reason_trail"])]:
    definitions = {field["name"]: field for field in _Load("query-fields.json")[what]}
    assert query.RunQuery(master, what, fields, None) == {
      "fields": [definitions[name] for name in fields], "data": []}
  master.glm.rows = [["cluster/BGL", "shared", ["job/3"], []],
                     ["instance/i1", None, None, [["exclusive", ["job/4"]]]]]
  reply = query.RunQuery(master, "lock", ["name", "owner", "pending"], ["=~", "name", "^cl"])
  assert reply["data"] == [[[0, "cluster/BGL"], [0, ["job/3"]], [0, []]]]


def test_filter_rules():
  master = FakeMaster()
  rules = {uuid: objects.Filter(uuid=uuid, watermark=200, priority=priority,
                                predicates=[["jobid", [">", "id", 9]]], action="CONTINUE",
                                reason_trail=[["gnt:user", "r", 1]])
           for uuid, priority in (("e3e3", 5), ("a7d7", 3), ("bdf6", 1))}
  master.cfg.GetAllFiltersInfo = lambda: rules
  reply = query.RunQuery(master, "filter", ["uuid", "priority", "action"], None)
  assert reply["data"] == [[[0, "a7d7"], [0, 3], [0, "CONTINUE"]],
                           [[0, "bdf6"], [0, 1], [0, "CONTINUE"]],
                           [[0, "e3e3"], [0, 5], [0, "CONTINUE"]]]
  assert query.LegacyRows(master, "filter", ["e3e3", "nope"], ["uuid", "priority"]) == \
    [["e3e3", 5]]


def test_cluster_query():
  master = FakeMaster()
  reply = query.RunQuery(master, "cluster", ["name", "master_node", "drain_flag",
                                             "watcher_pause", "tags", "bogus"], None)
  assert reply["data"] == [[[0, "cluster.gnt.test"], [0, "node1.gnt.test"],
                            [0, reply["data"][0][2][1]], [3, None], [0, ["foo"]], [1, None]]]
  assert isinstance(reply["data"][0][2][1], bool)


def _DrbdInstanceConfig():
  """The network fixture plus a DRBD instance with a NIC in the network."""
  raw = _Load("config-with-network.data")
  net_uuid = next(iter(raw["networks"]))
  node1, node2 = sorted(raw["nodes"], key=lambda uuid: raw["nodes"][uuid]["name"])
  raw["disks"] = {
    "d%d" % index: {"dev_type": "drbd", "size": size, "nodes": [node1, node2],
                    "uuid": "d%d" % index, "logical_id": [], "iv_name": "disk/%d" % index,
                    "mode": "rw", "params": {}, "children": []}
    for index, size in enumerate([1024, 2048])}
  raw["instances"] = {"i1": {
    "name": "web1.gnt.test", "uuid": "i1", "primary_node": node1, "os": "lab+default",
    "hypervisor": "fake", "admin_state": "up", "disks": ["d0", "d1"],
    "beparams": {"maxmem": 512}, "hvparams": {}, "osparams": {},
    "nics": [{"mac": "aa:00:00:00:00:01", "ip": "192.0.2.2", "network": net_uuid,
              "nicparams": {"mode": "routed", "link": "rt1"}, "uuid": "n1"}],
    "ctime": 1, "mtime": 2, "serial_no": 3, "tags": ["t"]}}
  data = objects.ConfigData.FromDict(raw)
  data.UpgradeConfig()
  return data


def test_drbd_instance_relations():
  data = _DrbdInstanceConfig()
  ctx = query.ConfigContext(data.cluster, data.nodes, data.nodegroups, data.instances,
                            data.disks, data.networks)
  fields = ["snodes", "snodes.group", "disk_template", "disk_usage", "disk.sizes",
            "disk.size/1", "disk.size/2", "sdb_size", "nic.network.name/0", "nic.networks",
            "nic.bridge/0", "nic.bridges", "nic.link/0", "nic.modes", "be/memory",
            "be/minmem", "vcpus", "hv/acpi", "pnode.group"]
  rows = query.Query(query.GetFieldSet("instance"), fields).OldStyleQuery(
    ctx, data.instances.values())
  net_uuid = next(iter(data.networks))
  assert rows == [[["node2.gnt.test"], ["default"], "drbd", 1024 + 2048 + 2 * 128,
                   [1024, 2048], 2048, None, 2048, "qtestnet", [net_uuid], None, [None],
                   "rt1", ["routed"], 512, 128, 1, None, "default"]]
  node_rows = query.Query(query.GetFieldSet("node"),
                          ["name", "pinst_cnt", "sinst_list"]).OldStyleQuery(
    ctx, sorted(data.nodes.values(), key=lambda node: node.name))
  assert node_rows == [["node1.gnt.test", 1, []], ["node2.gnt.test", 0, ["web1.gnt.test"]]]
  net_rows = query.Query(query.GetFieldSet("network"),
                         ["inst_cnt", "inst_list", "group_list"]).OldStyleQuery(
    ctx, data.networks.values())
  assert net_rows == [[1, ["web1.gnt.test"], [["default", "bridged", "br9", ""]]]]
  assert query.Query(query.GetFieldSet("group"), ["pinst_list"]).OldStyleQuery(
    ctx, data.nodegroups.values()) == [[["web1.gnt.test"]]]


# ---- unknown fields -----------------------------------------------------------------

def test_unknown_fields(master):
  # ["Query", ["job", ["id", "bogus"], ["==", "id", 3]]]
  assert query.RunQuery(master, "job", ["id", "bogus"], ["==", "id", 3]) == {
    "fields": [{"name": "id", "title": "ID", "kind": "number", "doc": "Job ID"},
               {"name": "bogus", "title": "bogus", "kind": "unknown",
                "doc": "Unknown field 'bogus'"}],
    "data": [[[0, 3], [1, None]]]}
  assert query.RunQuery(master, "job", ["id", "id"], ["==", "id", 3])["data"] == \
    [[[0, 3], [0, 3]]]
  assert query.RunQuery(master, "job", [], None)["data"] == [[], [], []]


def test_legacy_unknown_fields(master):
  with pytest.raises(errors.OpPrereqError) as info:
    query.JobRows(master.queue, [3], ["status", "id", "bogus"])
  assert info.value.args == ("Unknown output fields selected: bogus", "wrong_input")
  with pytest.raises(errors.OpPrereqError):
    query.LegacyRows(master, "node", [], ["name", "bogus", "other"])


# ---- jobs by ID ----------------------------------------------------------------------

def test_all_jobs_are_the_live_ones(master):
  assert _Ids(query.RunQuery(master, "job", ["id"], None)) == [2, 3, 5]
  assert _Ids(query.RunQuery(master, "job", ["id"], ["!=", "id", 1])) == [2, 3, 5]


def test_named_jobs(master):
  # gnt-job list 3 99999: unknown jobs have a row, "unavailable" but for the ID
  reply = query.RunQuery(master, "job", ["id", "status", "summary"],
                         ["|", ["==", "id", 3], ["==", "id", 99999]])
  assert reply["data"] == [[[0, 3], [0, "success"],
                            [0, ["CLUSTER_VERIFY_GROUP(g1)", "TEST_DELAY(2.0)"]]],
                           [[0, 99999], [3, None], [3, None]]]
  # archived jobs are found by ID; order as asked, each once; "=" and nesting
  reply = query.RunQuery(master, "job", ["id", "archived"],
                         ["|", ["==", "id", 5], ["|", ["=", "id", 1], ["==", "id", 5]]])
  assert reply["data"] == [[[0, 5], [0, False]], [[0, 1], [0, True]]]
  assert query.RunQuery(master, "job", ["id"], ["==", "id", 99999])["data"] == \
    [[[0, 99999]]]
  assert query.RunQuery(master, "job", ["id"], ["|"])["data"] == []
  # only pure "|" of name conditions select by name
  assert query.RunQuery(master, "job", ["id"], ["&", ["==", "id", 99999]])["data"] == []
  assert query.RunQuery(master, "job", ["id"],
                        ["|", ["==", "id", 99999], ["==", "status", "x"]])["data"] == []


@pytest.mark.parametrize("qfilter_, error, message", [
  (["==", "id", "x"], errors.GenericError, "parsing job id: cannot parse string 'x'"),
  (["|", ["==", "id", 3], ["==", "id", "x"]], errors.GenericError,
   "parsing job id: cannot parse string 'x'"),
  (["==", "id", -1], errors.GenericError, "Invalid value for job ID ' -1'"),
  (["|", ["==", "id", "5"]], errors.ParameterError,
   "Invalid types in comparison, trying to compare 5 with 'QuotedString \"5\"'"),
])
def test_bad_job_ids(master, qfilter_, error, message):
  with pytest.raises(error) as info:
    query.RunQuery(master, "job", ["id"], qfilter_)
  assert info.value.args == (message,)


def test_job_rows(master):
  # QueryJobs [[99999, 3], ["status", "id"]]
  assert query.JobRows(master.queue, [99999, 3], ["status", "id"]) == \
    [[None, 99999], ["success", 3]]
  assert query.JobRows(master.queue, [3, 3, "3"], ["id"]) == [[3]]
  assert query.JobRows(master.queue, [], ["id"]) == [[2], [3], [5]]
  assert query.JobRows(master.queue, None, ["id", "status"]) == \
    [[2, "success"], [3, "success"], [5, "queued"]]


def test_unset_job_timestamps(master):
  reply = query.RunQuery(master, "job", ["id", "start_ts", "end_ts", "opstart"],
                         ["==", "id", 5])
  assert reply["data"] == [[[0, 5], [3, None], [3, None], [0, [None]]]]
  assert query.JobRows(master.queue, [5], ["start_ts"]) == [[None]]


def test_job_timestamps_compare_by_seconds(master):
  assert _Ids(query.RunQuery(master, "job", ["id"], ["==", "received_ts", 1795578064])) == [2]
  assert _Ids(query.RunQuery(master, "job", ["id"], ["<", "received_ts", 1500])) == [3]
  # a job not started passes any condition on its start
  assert _Ids(query.RunQuery(master, "job", ["id"], ["==", "start_ts", 5])) == [3, 5]
  with pytest.raises(errors.ParameterError) as info:
    query.RunQuery(master, "job", ["id"], ["==", "received_ts", "x"])
  assert info.value.args == ("Invalid types in comparison, trying to compare 1795578064"
                             " with 'QuotedString \"x\"'",)
  with pytest.raises(errors.GenericError) as info:
    query.RunQuery(master, "job", ["id"], ["=[]", "opstart", "x"])
  assert info.value.args == ("Cannot convert value '[null]', error: Unable to read String",)


# ---- config objects by name ---------------------------------------------------------------

def test_names_expand_and_must_exist():
  master = FakeMaster()
  assert _Ids(query.RunQuery(master, "node", ["name"], ["==", "name", "node1"])) == \
    ["node1.gnt.test"]
  assert _Ids(query.RunQuery(master, "node", ["name"], ["==", "name", "node1.gnt"])) == \
    ["node1.gnt.test"]
  # in the order asked, repeated when asked twice under different names
  reply = query.RunQuery(master, "node", ["name"],
                         ["|", ["==", "name", "node2"], ["==", "name", "node1"],
                          ["==", "name", "node1.gnt.test"], ["==", "name", "node2"]])
  assert _Ids(reply) == ["node2.gnt.test", "node1.gnt.test", "node1.gnt.test"]
  # a uuid finds the node, but is not its name
  uuid = "07c9feed-129f-454f-b4e8-91a9084aeed4"
  assert query.RunQuery(master, "node", ["name"], ["==", "name", uuid])["data"] == []
  for what, name, title in [("node", "nodex", "Node"), ("node", "NODE1.gnt.test", "Node"),
                            ("node", "nod", "Node"), ("instance", "inst1", "Instance"),
                            ("group", "def", "NodeGroup"), ("network", "nonet", "Network")]:
    with pytest.raises(errors.OpPrereqError) as info:
      query.RunQuery(master, what, ["name"], ["|", ["==", "name", name]])
    assert info.value.args == ("%s name %s not found" % (title, name), "unknown_entity")


def test_name_filters_mixed_with_others_select_from_all():
  master = FakeMaster()
  reply = query.RunQuery(master, "node", ["name"],
                         ["|", ["==", "name", "node2.gnt.test"], ["==", "pip", "x"]])
  assert _Ids(reply) == ["node2.gnt.test"]
  assert query.RunQuery(master, "node", ["name"], ["&", ["==", "name", "nodex"]])["data"] == []


def test_legacy_rows():
  master = FakeMaster()
  # QueryNodes: sorted by name, unknown names skipped, each once
  assert query.LegacyRows(master, "node", ["node2", "node1", "nodex", "node1"],
                          ["name", "role"]) == [["node1.gnt.test", "M"],
                                                ["node2.gnt.test", "C"]]
  assert query.LegacyRows(master, "node", [], ["name", "mfree"]) == \
    [["node1.gnt.test", None], ["node2.gnt.test", None]]
  assert query.LegacyRows(master, "group", None, ["name", "node_cnt", "pinst_list"]) == \
    [["default", 2, ["qtest-inst1.gnt.test"]]]
  assert query.LegacyRows(master, "instance", ["qtest-inst1"], ["name", "disk.sizes"]) == \
    [["qtest-inst1.gnt.test", [1024, 1024]]]


# ---- filter decoding -----------------------------------------------------------------------

@pytest.mark.parametrize("qfilter_, detail", [
  ("foo", 'Cannot deserialise filter: expected array [string, args], got "foo"'),
  ([], "Cannot deserialise filter: expected array [string, args], got []"),
  ({"a": 1}, 'Cannot deserialise filter: expected array [string, args], got {"a": 1}'),
  ([5, "id", 1], 'Cannot deserialise filter: expected array [string, args], got [5, "id", 1]'),
  (["&", ["==", "id", 1], "x"],
   'Cannot deserialise filter: expected array [string, args], got "x"'),
  (["~~", "id", 1], "Unknown filter operand '~~'"),
  (["==", "id"], 'Cannot deserialise field/value pair, expected [fieldname, value] but got'
   ' ["id"]'),
  (["==", "id", 1, 2], "Cannot deserialise field/value pair, expected [fieldname, value]"
   ' but got ["id", 1, 2]'),
  (["!", ["==", "id", 2], ["==", "id", 3]], "Cannot deserialise field, expected [filter] but"
   ' got [["==", "id", 2], ["==", "id", 3]]'),
  (["?"], "Cannot deserialise field, expected [fieldname] but got []"),
  (["==", 5, 1], "Unable to read String"),
  (["?", 5], "Unable to read String"),
  (["==", ["id"], 1], "Unable to read Char"),
  (["==", "id", True], "Cannot deserialise filter value, expecting string or integer, got true"),
  (["==", "id", None], "Cannot deserialise filter value, expecting string or integer, got null"),
  (["==", "id", [1]], "Cannot deserialise filter value, expecting string or integer, got [1]"),
  (["<", "id", 3.5], "Cannot deserialise numeric filter value, expecting integral but got a"
   " fractional value: 7 % 2"),
  (["=~", "status", 3], "Unable to read String"),
  (["=~", "status", "("], '(1,"missing ), unterminated subpattern")'),
])
def test_malformed_filters(qfilter_, detail):
  with pytest.raises(query.FilterDecodeError) as info:
    query.CheckRequest("job", qfilter_)
  assert info.value.detail == detail
  with pytest.raises(query.FilterDecodeError):
    query.Query(query.GetFieldSet("job"), ["id"], qfilter_)


def test_check_request_resources():
  query.CheckRequest("job", ["==", "id", 3.0])
  for what in ("bogus", "extstorage"):
    with pytest.raises(query.FilterDecodeError) as info:
      query.CheckRequest(what)
    assert info.value.detail == ("Can't parse value '%s' as neitherQueryTypeLuxi nor"
                                 " QueryTypeOp" % what)
  query.CheckLuxiResource("Query", "node")
  with pytest.raises(errors.GenericError) as info:
    query.CheckLuxiResource("Query", "cluster")
  assert info.value.args == ("Query 'ItemTypeOpCode QRCluster' not supported",)
  with pytest.raises(errors.GenericError) as info:
    query.CheckLuxiResource("QueryFields", "os")
  assert info.value.args == ("QueryFields 'ItemTypeOpCode QROs' not supported",)


# ---- filter evaluation -------------------------------------------------------------------

@pytest.mark.parametrize("qfilter_, ids", [
  (["<", "id", 3], [2]),
  (["==", "id", 3.0], [3]),
  (["=", "id", 3], [3]),
  (["!=", "id", 3], [2, 5]),
  ([">=", "priority", 0], [2, 3, 5]),
  (["<", "status", "s"], [5]),
  (["=~", "status", "^succ"], [2, 3]),
  (["=~", "status", "SUCC"], []),
  (["=~", "status", "(?i)SUCC"], [2, 3]),
  (["=[]", "summary", "TEST_DELAY(2.0)"], [3]),
  (["=[]", "opstatus", "queued"], [5]),
  (["=[]", "oppriority", 0], [2, 3, 5]),
  (["?", "archived"], []),
  (["!", ["?", "archived"]], [2, 3, 5]),
  (["&"], [2, 3, 5]),
  (["|"], []),
  (["&", [">", "id", 2], ["!", ["==", "status", "queued"]]], [3]),
  # "&" and "|" stop at the first deciding operand, before any type error
  (["&", ["==", "id", 99998], ["==", "status", 5]], []),
  (["|", ["!=", "id", 99998], ["==", "status", 5]], [2, 3, 5]),
])
def test_filter_evaluation(master, qfilter_, ids):
  assert _Ids(query.RunQuery(master, "job", ["id"], qfilter_)) == ids


@pytest.mark.parametrize("qfilter_, error, message", [
  (["==", "bogus", 1], errors.ParameterError, "Can't find field named 'bogus'"),
  (["&", ["==", "id", 99998], ["==", "bogus", 5]], errors.ParameterError,
   "Can't find field named 'bogus'"),
  (["==", "status", 5], errors.ParameterError,
   "Invalid types in comparison, trying to compare \"success\" with 'NumericValue 5'"),
  (["!=", "status", -5], errors.ParameterError,
   "Invalid types in comparison, trying to compare \"success\" with 'NumericValue (-5)'"),
  (["<", "summary", 3], errors.ParameterError,
   "Invalid types in comparison, trying to compare [\"TEST_DELAY(1.0e-3)\"] with"
   " 'NumericValue 3'"),
  (["==", "archived", 1], errors.ParameterError,
   "Invalid types in comparison, trying to compare false with 'NumericValue 1'"),
  (["==", "priority", "0"], errors.ParameterError,
   "Invalid types in comparison, trying to compare 0 with 'QuotedString \"0\"'"),
  (["=~", "id", "3"], errors.ParameterError,
   "Invalid field value used in regexp matching, expecting string but got '2'"),
  (["?", "id"], errors.ParameterError, "Unexpected value '2' in boolean context"),
  (["?", "status"], errors.ParameterError, "Unexpected value '\"success\"' in boolean context"),
  (["=[]", "id", 1], errors.GenericError, "Cannot convert value '2', error: Unable to read list"),
  (["=[]", "status", "x"], errors.GenericError,
   "Cannot convert value '\"success\"', error: Unable to read list"),
  (["=[]", "summary", 1], errors.GenericError,
   "Cannot convert value '[\"TEST_DELAY(1.0e-3)\"]', error: Unable to read Integer"),
  (["=[]", "oppriority", "x"], errors.GenericError,
   "Cannot convert value '[0]', error: Unable to read String"),
  (["=[]", "opstart", "x"], errors.GenericError,
   "Cannot convert value '[[1, 2]]', error: Unable to read Char"),
])
def test_filter_errors(master, jobs, qfilter_, error, message):
  jobs[0].ops[0].start_timestamp = [1, 2]
  with pytest.raises(error) as info:
    query.RunQuery(master, "job", ["id"], qfilter_)
  assert info.value.args == (message,)


def test_no_items_no_type_errors():
  master = FakeMaster(jobs=[])
  assert query.RunQuery(master, "job", ["id"], ["==", "status", 5])["data"] == []
  with pytest.raises(errors.ParameterError):
    query.RunQuery(master, "job", ["id"], ["==", "bogus", 5])


def test_conditions_without_values_hold():
  master = FakeMaster()
  # "powered" is unavailable and "spfree" has no data here, as in the real one
  for qfilter_ in (["?", "powered"], ["==", "powered", "x"], ["==", "spfree", "x"],
                   ["=[]", "spfree", 1], ["=~", "mfree", "x"]):
    assert len(query.RunQuery(master, "node", ["name"], qfilter_)["data"]) == 2
  assert query.RunQuery(master, "node", ["name"], ["!", ["?", "powered"]])["data"] == []


def test_node_filters():
  master = FakeMaster()
  for qfilter_, names in [
      (["!", ["?", "offline"]], ["node1.gnt.test", "node2.gnt.test"]),
      (["=", "sip", "198.51.100.2"], ["node2.gnt.test"]),
      (["<=", "name", "node1.gnt.test"], ["node1.gnt.test"]),
      (["=~", "name", "(?i)NODE1"], ["node1.gnt.test"]),
      (["!=", "ctime", 5], ["node1.gnt.test", "node2.gnt.test"]),
      (["<=", "ndp/cpu_speed", 1], ["node1.gnt.test", "node2.gnt.test"]),
      (["<", "ndp/cpu_speed", 1], []),
      (["==", "ndp/oob_program", ""], ["node1.gnt.test", "node2.gnt.test"]),
      (["=[]", "pinst_list", "qtest-inst1.gnt.test"], ["node1.gnt.test"]),
      (["==", "role", "C"], ["node2.gnt.test"])]:
    assert _Ids(query.RunQuery(master, "node", ["name"], qfilter_)) == names, qfilter_
  with pytest.raises(errors.ParameterError) as info:
    query.RunQuery(master, "node", ["name"], ["=", "ctime", "x"])
  assert info.value.args == ("Invalid types in comparison, trying to compare"
                             " 1.795578060997007e9 with 'QuotedString \"x\"'",)
  with pytest.raises(errors.ParameterError) as info:
    query.RunQuery(master, "node", ["name"], ["==", "offline", 0])
  assert info.value.args == ("Invalid types in comparison, trying to compare false with"
                             " 'NumericValue 0'",)


def test_requested_data_and_names():
  fieldset = query.GetFieldSet("instance")
  assert query.Query(fieldset, ["name", "os"]).RequestedData() == {query.DATA_CONFIG}
  assert query.Query(fieldset, ["name"], ["?", "oper_state"]).RequestedData() == \
    {query.DATA_CONFIG, query.DATA_LIVE}
  assert query.Query(fieldset, ["console", "bogus"]).RequestedData() == {query.DATA_CONSOLE}
  assert query.Query(fieldset, ["name"], ["|", ["==", "name", "b"], ["=", "name", "a"],
                                          ["==", "name", "b"]]).RequestedNames() == ["b", "a"]
  assert query.Query(fieldset, ["name"], ["==", "os", "b"]).RequestedNames() is None
  assert query.Query(fieldset, ["name"], None).RequestedNames() is None


def test_missing_items_in_filters():
  fieldset = query.GetFieldSet("job")
  items = [query.MissingItem(7), query.MissingItem(8)]
  q = query.Query(fieldset, ["id", "status"], ["|", ["==", "id", 8], ["==", "status", "x"]])
  # the ID is known, everything else passes for lack of a value
  assert q.Query(None, items) == [[[0, 7], [3, None]], [[0, 8], [3, None]]]
  q = query.Query(fieldset, ["id"], ["&", ["==", "id", 8], ["==", "status", "x"]])
  assert q.OldStyleQuery(None, items) == [[8]]


# ---- speed -----------------------------------------------------------------------------------

def test_many_instances():
  """A query over 10,000 instances (the report quotes its timings)."""
  raw = _Load("config-with-instance.data")
  template = next(iter(raw["instances"].values()))
  for index in range(10000):
    inst = dict(template, name="inst%05d.example.com" % index, uuid="uuid-%d" % index,
                admin_state="up" if index % 3 else "down")
    raw["instances"][inst["uuid"]] = inst
  data = objects.ConfigData.FromDict(raw)
  data.UpgradeConfig()
  gc.collect()  # the configuration of a running daemon is old, not fresh garbage
  start = time.perf_counter()
  ctx = query.ConfigContext(data.cluster, data.nodes, data.nodegroups, data.instances,
                            data.disks, data.networks)
  q = query.Query(query.GetFieldSet("instance"),
                  ["name", "os", "pnode", "admin_state", "be/memory"],
                  ["==", "admin_state", "up"])
  rows = q.Query(ctx, sorted(data.instances.values(), key=lambda i: query.NiceSortKey(i.name)))
  elapsed = time.perf_counter() - start
  assert len(rows) == 6666 + 1  # and the template instance
  assert rows[0] == [[0, "inst00001.example.com"], [0, "lab+default"], [0, "node1.gnt.test"],
                     [0, "up"], [0, 128]]
  print("10,000 instances, 5 fields, 1 condition: %.1f ms" % (elapsed * 1000))
