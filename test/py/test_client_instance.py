"""gnt-instance against a fake master daemon: opcodes submitted and output printed
(expected opcodes and texts as Debian's Ganeti 3.0 gnt-instance sends and prints them)."""

import json

import pytest

from ganeti import cli
from ganeti import constants
from ganeti import errors
from ganeti import luxi
from ganeti.client import gnt_instance

from cli_fakeluxi import FakeJob, RunCommand, fake_luxi  # noqa: F401  (fixture)

_GENERIC = ("reason", "dry_run", "debug_level", "priority", "depends", "comment")


def _Instance(*args):
  return RunCommand(gnt_instance.Main, "gnt-instance", list(args))


def _Ops(fake):
  """The opcodes of every submitted job in order, without the generic parameters."""
  jobs = []
  for method, args in fake.requests:
    if method == luxi.REQ_SUBMIT_JOB:
      jobs.append(args[0])
    elif method == luxi.REQ_SUBMIT_MANY_JOBS:
      jobs.extend(args[0])
  ops = []
  for job in jobs:
    for op in job:
      ops.append({key: value for key, value in op.items() if key not in _GENERIC})
  return ops


def _Known(fake, names, tags=None):
  """QueryInstances answers for a cluster holding names (with tags)."""
  tags = tags or {}

  def answer(args):
    wanted, fields, _ = args
    rows = []
    for name in names:
      if wanted and name not in wanted:
        continue
      values = {"name": name, "tags": tags.get(name, [])}
      rows.append([values[field] for field in fields])
    return rows
  fake.handlers[luxi.REQ_QUERY_INSTANCES] = answer


def test_add_builds_the_create_opcode(fake_luxi, capsys):
  assert _Instance("add", "-t", "file", "--disk", "0:size=2g", "--disk", "1:size=512,mode=ro",
                   "-o", "lab+default", "-n", "node1:node2", "--no-name-check", "--no-ip-check",
                   "-B", "maxmem=256M,vcpus=2", "-H", "fake:migration_mode=live",
                   "--net", "0:mac=generate,ip=pool", "--tags", "a,b", "-c", "yes",
                   "-O", "x=y", "--file-storage-dir", "d", "--file-driver", "loop",
                   "cli-x") == 0
  (op,) = _Ops(fake_luxi)
  assert op["OP_ID"] == "OP_INSTANCE_CREATE"
  expected = {
    "instance_name": "cli-x", "disk_template": "file", "mode": "create",
    "disks": [{"size": 2048}, {"size": 512, "mode": "ro"}],
    "nics": [{"mac": "generate", "ip": "pool"}], "pnode": "node1", "snode": "node2",
    "beparams": {"maxmem": 256, "vcpus": 2}, "hypervisor": "fake",
    "hvparams": {"migration_mode": "live"}, "os_type": "lab+default", "osparams": {"x": "y"},
    "osparams_private": {}, "osparams_secret": {}, "tags": ["a", "b"],
    "instance_communication": True, "name_check": False, "ip_check": False, "start": True,
    "no_install": False, "wait_for_sync": True, "file_storage_dir": "d", "file_driver": "loop",
    "iallocator": None, "group_name": None, "compress": "none", "forthcoming": False,
    "commit": False, "conflicts_check": True, "identify_defaults": False,
  }
  assert {key: op[key] for key in expected} == expected
  assert capsys.readouterr().out == ""


def test_add_defaults_and_no_install(fake_luxi, capsys):
  assert _Instance("add", "--submit", "-t", "diskless", "-o", "lab", "-I", "hail",
                   "--no-install", "inst1") == 0
  assert capsys.readouterr().err == "JobID: 100\n"
  (op,) = _Ops(fake_luxi)
  assert (op["disks"], op["nics"], op["start"], op["no_install"], op["iallocator"],
          op["pnode"], op["hvparams"], op["hypervisor"]) == ([], [{}], False, True, "hail",
                                                            None, {}, None)
  assert _Instance("add", "-t", "file", "-s", "1g", "--no-nics", "-o", "lab", "inst2") == 0
  assert (_Ops(fake_luxi)[1]["disks"], _Ops(fake_luxi)[1]["nics"]) == ([{"size": 1024}], [])


@pytest.mark.parametrize("args,message", [
  (["-t", "file"], "No disk information specified"),
  (["-t", "file", "-s", "1g", "--disk", "0:size=1g"], "Please use either the '--disk' or"
                                                      " '-s' option"),
  (["-t", "diskless", "-s", "1g"], "Diskless instance but disk information passed"),
  (["-t", "file", "--disk", "0:mode=rw"], "Missing size or adoption source for disk 0"),
  (["-t", "file", "--disk", "0:size=1g,adopt=lv"], "Only one of 'size' and 'adopt' allowed"
                                                   " (disk 0)"),
  (["-t", "file", "--disk", "a:size=1"], "Invalid disk index passed: invalid literal for"
                                         " int() with base 10: 'a'"),
  (["-t", "file", "--disk", "0:size=1", "--net", "a:ip=1"],
   "Invalid NIC index passed: invalid literal for int() with base 10: 'a'"),
  (["-t", "file", "--disk", "0:size=1", "--forthcoming", "--commit"],
   "Creating an instance only forthcoming and commiting it are mutally exclusive"),
])
def test_add_refusals(fake_luxi, capsys, args, message):
  assert _Instance("add", *args, "-o", "lab", "-n", "node1", "x") == 1
  assert capsys.readouterr().err == ("Failure: prerequisites not met for this operation:\n"
                                     "error type: wrong_input, error details:\n%s\n" % message)
  assert not fake_luxi.Requests(luxi.REQ_SUBMIT_JOB)


def test_add_bad_sizes(fake_luxi, capsys):
  assert _Instance("add", "-t", "file", "--disk", "0:size=1x", "-o", "lab", "x") == 1
  assert capsys.readouterr().err == "Unhandled Ganeti error: Unknown unit: x\n"
  assert _Instance("add", "-t", "file", "--disk", "0:size=1g,size=2", "-o", "lab", "x") == 1
  assert capsys.readouterr().err == ("Failure: unknown/wrong parameter name 'Duplicate key"
                                     " 'size' in option --disk'\n")


def test_startup_one_instance(fake_luxi, capsys):
  _Known(fake_luxi, ["inst1", "inst2"])
  assert _Instance("start", "-H", "kernel_args=x", "-B", "maxmem=512", "--paused",
                   "--no-remember", "nosuch", "inst1") == 0
  assert fake_luxi.Requests(luxi.REQ_QUERY_INSTANCES) == [[["nosuch", "inst1"], ["name"],
                                                           False]]
  (op,) = _Ops(fake_luxi)
  assert op == {"OP_ID": "OP_INSTANCE_STARTUP", "instance_name": "inst1",
                "instance_uuid": None, "force": False, "ignore_offline_nodes": False,
                "hvparams": {"kernel_args": "x"}, "beparams": {"maxmem": "512"},
                "no_remember": True, "startup_paused": True, "shutdown_timeout": 120}
  # one instance: no "Submitted jobs" line
  assert capsys.readouterr().out == "Waiting for job 100 for inst1 ...\n"


def test_shutdown_many_needs_confirmation(fake_luxi, capsys):
  _Known(fake_luxi, ["inst1", "inst2"])
  # without a terminal the question is answered "no"
  assert _Instance("shutdown", "inst1", "inst2") == 1
  assert not fake_luxi.Requests(luxi.REQ_SUBMIT_MANY_JOBS)
  assert _Instance("stop", "--force-multiple", "--timeout", "9", "inst1", "inst2") == 0
  ops = _Ops(fake_luxi)
  assert [(op["OP_ID"], op["instance_name"], op["timeout"]) for op in ops] == [
    ("OP_INSTANCE_SHUTDOWN", "inst1", 9), ("OP_INSTANCE_SHUTDOWN", "inst2", 9)]
  assert capsys.readouterr().out == ("Submitted jobs 100, 101\n"
                                     "Waiting for job 100 for inst1 ...\n"
                                     "Waiting for job 101 for inst2 ...\n")


def test_confirmation_question(monkeypatch):
  asked = []
  monkeypatch.setattr(cli, "AskUser", lambda text, choices: asked.append((text, choices)) or True)
  assert cli.ConfirmOperation(["a", "b"], "instances", "shutdown")
  assert asked[0][0] == ("The shutdown will operate on 2 instances.\nDo you want to continue?"
                         "\nAffected instances:\n  a\n  b")
  assert [c[0] for c in asked[0][1]] == ["y", "n"]
  names = ["i%d" % n for n in range(21)]
  asked.clear()
  cli.ConfirmOperation(names, "instances", "reboot")
  assert [c[0] for c in asked[0][1]] == ["y", "v", "n"]
  assert "Affected" not in asked[0][0]


def test_reboot_submit_by_node(fake_luxi, capsys):
  fake_luxi.handlers[luxi.REQ_QUERY_NODES] = lambda args: [
    ["node1", ["inst1", "inst2"], ["inst3"]], ["node2", ["inst3"], ["inst1"]]]
  assert _Instance("reboot", "--submit", "--force-multiple", "-t", "soft", "--primary",
                   "node1", "node2") == 0
  assert fake_luxi.Requests(luxi.REQ_QUERY_NODES) == [[["node1", "node2"],
                                                       ["name", "pinst_list", "sinst_list"],
                                                       False]]
  assert capsys.readouterr().out == "100: inst1\n101: inst2\n102: inst3\n"
  assert {op["reboot_type"] for op in _Ops(fake_luxi)} == {"soft"}


def test_selection_by_tags(fake_luxi, capsys):
  _Known(fake_luxi, ["inst1", "inst2"], tags={"inst2": ["web"]})
  assert _Instance("startup", "--submit", "--force-multiple", "--tags", "web", "db") == 0
  assert capsys.readouterr().out == "100: inst2\n"
  fake_luxi.handlers[luxi.REQ_QUERY_NODES] = lambda args: [
    ["node1", ["inst1"], ["inst3"], ["rack1"]], ["node2", ["inst2"], [], []]]
  assert _Instance("startup", "--submit", "--force-multiple", "--sec-node-tags", "rack1") == 0
  assert fake_luxi.Requests(luxi.REQ_QUERY_NODES)[-1] == [
    [], ["name", "pinst_list", "sinst_list", "tags"], False]
  assert capsys.readouterr().out == "101: inst3\n"


@pytest.mark.parametrize("args,message", [
  ([], "No instance names passed"),
  (["--all", "inst1"], "Cluster filter mode takes no arguments"),
  (["--primary"], "No node names passed"),
  (["--node-tags"], "No node tags passed"),
  (["--tags"], "No instance tags passed"),
  (["nosuch"], "Selection filter does not match any instances"),
])
def test_selection_refusals(fake_luxi, capsys, args, message):
  _Known(fake_luxi, ["inst1"])
  assert _Instance("shutdown", *args) == 1
  assert capsys.readouterr().err == ("Failure: prerequisites not met for this operation:\n"
                                     "error type: wrong_input, error details:\n%s\n" % message)


def test_remove(fake_luxi, capsys):
  _Known(fake_luxi, ["inst1"])
  assert _Instance("remove", "inst1") == 1  # not confirmed
  # an unknown name is left to the job: the question comes first (refused here)
  assert _Instance("remove", "nosuch") == 1
  assert capsys.readouterr().err == ""
  assert fake_luxi.Requests(luxi.REQ_QUERY_INSTANCES)[-1] == [["nosuch"], ["name"], False]
  assert _Instance("remove", "-f", "--ignore-failures", "--shutdown-timeout=5", "inst1") == 0
  (op,) = _Ops(fake_luxi)
  assert op == {"OP_ID": "OP_INSTANCE_REMOVE", "instance_name": "inst1",
                "instance_uuid": None, "ignore_failures": True, "shutdown_timeout": 5}


def test_list(fake_luxi, capsys):
  fields = [{"name": "name", "title": "Instance", "kind": constants.QFT_TEXT, "doc": ""},
            {"name": "hypervisor", "title": "Hypervisor", "kind": constants.QFT_TEXT,
             "doc": ""},
            {"name": "os", "title": "OS", "kind": constants.QFT_TEXT, "doc": ""},
            {"name": "pnode", "title": "Primary_node", "kind": constants.QFT_TEXT, "doc": ""},
            {"name": "status", "title": "Status", "kind": constants.QFT_TEXT, "doc": ""},
            {"name": "oper_ram", "title": "Memory", "kind": constants.QFT_UNIT, "doc": ""}]
  rows = [[[0, "cli-i1"], [0, "fake"], [0, "lab+default"], [0, "node1.gnt.test"],
           [0, "running"], [0, 128]],
          [[0, "cli-i2"], [0, "fake"], [0, "lab+alt"], [0, "node1.gnt.test"],
           [0, "ADMIN_down"], [constants.RS_UNAVAIL, None]]]
  fake_luxi.handlers[luxi.REQ_QUERY] = lambda args: {"fields": fields, "data": rows}
  assert _Instance("list") == 0
  assert fake_luxi.Requests(luxi.REQ_QUERY)[0] == [
    "instance", ["name", "hypervisor", "os", "pnode", "status", "oper_ram"], None]
  assert capsys.readouterr().out == (
    "Instance Hypervisor OS          Primary_node   Status     Memory\n"
    "cli-i1   fake       lab+default node1.gnt.test running      128M\n"
    "cli-i2   fake       lab+alt     node1.gnt.test ADMIN_down      -\n")
  fields = [{"name": "name", "title": "Instance", "kind": constants.QFT_TEXT, "doc": ""},
            {"name": "tags", "title": "Tags", "kind": constants.QFT_OTHER, "doc": ""},
            {"name": "nic.ips", "title": "NIC_IPs", "kind": constants.QFT_OTHER, "doc": ""},
            {"name": "disk.names", "title": "Disk_names", "kind": constants.QFT_OTHER,
             "doc": ""}]
  rows = [[[0, "cli-i2"], [0, ["t1", "t2"]], [0, [None]], [0, [None]]]]
  assert _Instance("list", "--separator=|", "-o", "name,tags,nic.ips,disk.names",
                   "cli-i2") == 0
  assert fake_luxi.Requests(luxi.REQ_QUERY)[1][2] == ["|", ["==", "name", "cli-i2"]]
  assert capsys.readouterr().out == "Instance|Tags|NIC_IPs|Disk_names\ncli-i2|t1,t2|None|[None]\n"


_INFO = {
  "name": "cli-i2", "config_state": "down", "run_state": "down", "pnode": "node1.gnt.test",
  "pnode_group_uuid": "01f1", "pnode_group_name": "default", "snodes": [],
  "snodes_group_uuids": [], "snodes_group_names": [], "os": "lab+alt",
  "nics": [[None, "7604", None, "aa:00:00:55:8e:a7", "bridged", "gnt-br0", "", None, None]],
  "disk_template": "file",
  "disks": [{"iv_name": "disk/0", "dev_type": "file",
             "logical_id": ["loop", "/srv/ganeti/file-storage/cli-i2/x.file.disk0"],
             "drbd_info": None,
             "pstatus": ["/srv/ganeti/file-storage/cli-i2/x.file.disk0", None, None, None,
                         None, False, 1],
             "sstatus": None, "children": [], "mode": "rw", "size": 64, "spindles": None,
             "name": None, "uuid": "b9a3"}],
  "hypervisor": "fake", "network_port": None, "hv_instance": {}, "hv_actual": {},
  "be_instance": {"maxmem": 256},
  "be_actual": {"always_failover": False, "auto_balance": True, "maxmem": 256, "minmem": 128,
                "spindle_use": 1, "vcpus": 1},
  "os_instance": {}, "os_actual": {}, "serial_no": 2, "mtime": 1795588357.818652,
  "ctime": 1795588357.69371, "uuid": "386d"}


def test_info(fake_luxi, capsys):
  fake_luxi.job_outcomes.append({"op_results": [{"cli-i2": _INFO}]})
  assert _Instance("info", "cli-i2") == 0
  (op,) = _Ops(fake_luxi)
  assert op == {"OP_ID": "OP_INSTANCE_QUERY_DATA", "instances": ["cli-i2"], "static": False,
                "use_locking": True}
  assert capsys.readouterr().out == (
    "- Instance name: cli-i2\n"
    "  UUID: 386d\n"
    "  Serial number: 2\n"
    "  Creation time: 2026-11-25 06:32:37\n"
    "  Modification time: 2026-11-25 06:32:37\n"
    "  State: configured to be down, actual state is down\n"
    "  Nodes: \n"
    "    - primary: node1.gnt.test\n"
    "      group: default (UUID 01f1)\n"
    "    - secondaries: \n"
    "  Operating system: lab+alt\n"
    "  Operating system parameters: \n"
    "  Allocated network port: None\n"
    "  Hypervisor: fake\n"
    "  Hypervisor parameters: \n"
    "  Back-end parameters: \n"
    "    always_failover: default (False)\n"
    "    auto_balance: default (True)\n"
    "    maxmem: 256\n"
    "    memory: default (256)\n"
    "    minmem: default (128)\n"
    "    spindle_use: default (1)\n"
    "    vcpus: default (1)\n"
    "  NICs: \n"
    "    - nic/0: \n"
    "      MAC: aa:00:00:55:8e:a7\n"
    "      IP: None\n"
    "      mode: bridged\n"
    "      link: gnt-br0\n"
    "      vlan: \n"
    "      network: None\n"
    "      UUID: 7604\n"
    "      name: None\n"
    "  Disk template: file\n"
    "  Disks: \n"
    "    - disk/0: file, size 64M\n"
    "      access mode: rw\n"
    "      logical_id: ['loop', '/srv/ganeti/file-storage/cli-i2/x.file.disk0']\n"
    "      on primary: /srv/ganeti/file-storage/cli-i2/x.file.disk0 (N/A:N/A)\n"
    "      name: None\n"
    "      UUID: b9a3\n")


def test_info_static_and_secondaries(fake_luxi, capsys):
  info = dict(_INFO, run_state=None, snodes=["node2"], snodes_group_names=["g2"],
              snodes_group_uuids=["u2"])
  fake_luxi.job_outcomes.append({"op_results": [{"cli-i2": info}]})
  assert _Instance("info", "-s", "cli-i2") == 0
  (op,) = _Ops(fake_luxi)
  assert (op["static"], op["use_locking"]) == (True, False)
  out = capsys.readouterr().out
  assert "  State: configured to be down\n" in out
  assert "    - secondaries: \n        - node2 (group g2, group UUID u2)\n" in out
  assert "on primary" not in out


def test_info_refusals(fake_luxi, capsys):
  assert _Instance("info") == 1
  assert capsys.readouterr().err == (
    "No instance selected. Please pass in --all if you want to query all instances.\n"
    "Note that this can take a long time on a big cluster.\n")
  assert _Instance("info", "--all", "x") == 1
  assert capsys.readouterr().err == "Cannot use --all if you specify instance names.\n"


def test_modify(fake_luxi, capsys):
  fake_luxi.job_outcomes.append({"op_results": [[
    ["disk/1", "add:size=1024,mode=rw"], ["NIC/1", "remove"]]]})
  assert _Instance("modify", "--disk", "add:size=1g", "--net", "1:remove",
                   "--net", "0:modify,mac=aa:00:00:11:22:33", "-B", "memory=256,vcpus=2",
                   "-m", "512", "--offline", "-O", "a=b", "inst1") == 0
  (op,) = _Ops(fake_luxi)
  assert (op["OP_ID"], op["disks"], op["nics"], op["beparams"], op["runtime_mem"],
          op["offline"], op["osparams"], op["hvparams"]) == (
    "OP_INSTANCE_SET_PARAMS", [["add", -1, {"size": 1024}]],
    [["remove", "1", {}], ["modify", "0", {"mac": "aa:00:00:11:22:33"}]],
    {"memory": 256, "vcpus": 2}, 512, True, {"a": "b"}, {})
  assert capsys.readouterr().out == (
    "Modified instance inst1\n - disk/1 -> add:size=1024,mode=rw\n - NIC/1 -> remove\n"
    "Please don't forget that most parameters take effect only at the next (re)start of the"
    " instance initiated by ganeti; restarting from within the instance will not be"
    " enough.\n")


def test_modify_refusals(fake_luxi, capsys):
  assert _Instance("modify", "inst1") == 1
  assert capsys.readouterr().err == "Please give at least one of the parameters.\n"
  assert _Instance("modify", "-t", "plain", "-e", "provider=x", "inst1") == 1
  assert capsys.readouterr().err == ("Specifying ExtStorage parameters requires converting to"
                                     " the 'ext' disk template\n")
  assert _Instance("modify", "--disk", "0:add,remove", "inst1") == 1
  assert "Cannot add and remove at the same time" in capsys.readouterr().err
  assert _Instance("modify", "--disk", "add:mode=ro", "inst1") == 1
  assert "Missing required parameter 'size'" in capsys.readouterr().err
  assert not fake_luxi.Requests(luxi.REQ_SUBMIT_JOB)


def test_migrate_and_failover(fake_luxi, capsys):
  _Known(fake_luxi, ["inst1"])
  assert _Instance("migrate", "inst1") == 1  # not confirmed
  assert _Instance("migrate", "-f", "--non-live", "-n", "node2", "--allow-failover",
                   "--no-runtime-changes", "inst1") == 0
  assert _Instance("migrate", "-f", "--cleanup", "--migration-mode=live", "inst1") == 0
  assert _Instance("migrate", "-f", "--non-live", "--migration-mode=live", "inst1") == 1
  assert capsys.readouterr().err.endswith(
    "Only one of the --non-live and --migration-mode options can be passed\n")
  assert _Instance("failover", "-f", "-n", "node2", "--shutdown-timeout=7", "--cleanup",
                   "inst1") == 0
  assert _Instance("failover", "-f", "-n", "node2", "-I", "hail", "inst1") == 1
  assert capsys.readouterr().err.endswith(
    "Specify either an iallocator (-I), or a target node (-n) but not both\n")
  # --ignore-consistency asks whether the source node is offline, even with -f
  assert _Instance("failover", "-f", "--ignore-consistency", "inst1") == 1
  live, cleanup, failover = _Ops(fake_luxi)
  assert (live["mode"], live["target_node"], live["allow_failover"],
          live["allow_runtime_changes"], live["cleanup"]) == ("non-live", "node2", True,
                                                              False, False)
  assert (cleanup["mode"], cleanup["cleanup"]) == ("live", True)
  assert failover == {"OP_ID": "OP_INSTANCE_FAILOVER", "instance_name": "inst1",
                      "instance_uuid": None, "shutdown_timeout": 7,
                      "ignore_consistency": False, "target_node": "node2",
                      "target_node_uuid": None, "ignore_ipolicy": False, "cleanup": False,
                      "iallocator": None}


def test_disk_commands(fake_luxi, capsys):
  fake_luxi.job_outcomes.append({"op_results": [[["node1", "disk/0", "/srv/f/disk0"]]]})
  assert _Instance("activate-disks", "--wait-for-sync", "inst1") == 0
  assert capsys.readouterr().out == "node1:disk/0:/srv/f/disk0\n"
  assert _Instance("grow-disk", "--absolute", "inst1", "0", "2g") == 0
  assert _Instance("grow-disk", "inst1", "x", "2g") == 1
  assert capsys.readouterr().err.endswith(
    "Invalid disk index: invalid literal for int() with base 10: 'x'\n")
  assert _Instance("grow-disk", "inst1", "0", "2x") == 1
  assert capsys.readouterr().err.endswith("Can't parse the given amount '2x'\n")
  assert _Instance("recreate-disks", "--disk", "0:size=2g,mode=ro", "--disk", "1",
                   "-n", "node1:node2", "inst1") == 0
  assert _Instance("recreate-disks", "-n", "node1", "-I", "hail", "inst1") == 1
  assert _Instance("replace-disks", "-p", "--disks", "0,2", "inst1") == 0
  assert _Instance("replace-disks", "-I", "hail", "inst1") == 0
  assert _Instance("replace-disks", "-p", "-s", "inst1") == 1
  assert capsys.readouterr().err.endswith(
    "One and only one of the -p, -s, -a, -n and -I options must be passed\n")
  assert _Instance("deactivate-disks", "-f", "inst1") == 0
  activate, grow, recreate, primary, change, deactivate = _Ops(fake_luxi)
  assert (activate["wait_for_sync"], activate["ignore_size"]) == (True, False)
  assert (grow["disk"], grow["amount"], grow["absolute"]) == (0, 2048, True)
  assert (recreate["disks"], recreate["nodes"]) == ([[0, {"size": 2048, "mode": "ro"}],
                                                    [1, {}]], ["node1", "node2"])
  assert (primary["mode"], primary["disks"]) == ("replace_on_primary", [0, 2])
  assert (change["mode"], change["iallocator"]) == ("replace_new_secondary", "hail")
  assert (deactivate["OP_ID"], deactivate["force"]) == ("OP_INSTANCE_DEACTIVATE_DISKS", True)


def test_change_group_follows_the_jobs(fake_luxi, capsys):
  fake_luxi.job_outcomes.append({"op_results": [{"jobs": [[True, 101]]}]})
  fake_luxi.jobs[101] = FakeJob([{"OP_ID": "OP_INSTANCE_FAILOVER"}])
  assert _Instance("change-group", "--to", "g1", "--to", "g2", "inst1") == 0
  (op,) = _Ops(fake_luxi)
  assert (op["OP_ID"], op["target_groups"]) == ("OP_INSTANCE_CHANGE_GROUP", ["g1", "g2"])
  assert capsys.readouterr().out == ("Submitted jobs 101\nWaiting for job 101 ...\n"
                                     "Instance 'inst1' changed group successfully.\n")


def test_batch_create(fake_luxi, tmp_path, capsys):
  spec = [{"mode": "create", "instance_name": "b1", "disk_template": "diskless",
           "os_type": "lab", "disks": [], "nics": [{}], "pnode": "node1"}]
  path = tmp_path / "batch.json"
  path.write_text(json.dumps(spec))
  fake_luxi.job_outcomes.append({"op_results": [{"jobs": [[True, 101]], "allocatable": [],
                                                 "failed": []}]})
  fake_luxi.jobs[101] = FakeJob([{"OP_ID": "OP_INSTANCE_CREATE"}])
  assert _Instance("batch-create", "-I", "hail", str(path)) == 0
  (op,) = _Ops(fake_luxi)
  assert (op["OP_ID"], op["iallocator"]) == ("OP_INSTANCE_MULTI_ALLOC", "hail")
  (inner,) = op["instances"]
  assert (inner["OP_ID"], inner["instance_name"], inner["reason"], inner["start"]) == (
    "OP_INSTANCE_CREATE", "b1", [], True)
  assert capsys.readouterr().out.endswith("All instances created successfully.\n")
  path.write_text(json.dumps([{"instance_name": "b2", "bogus": 1}]))
  assert _Instance("batch-create", str(path)) == 1
  assert capsys.readouterr().err.endswith("Unknown fields in definition 0: bogus\n")
  path.write_text(json.dumps({"a": 1}))
  assert _Instance("batch-create", str(path)) == 1
  assert capsys.readouterr().err == "The instance definition file is not List of Dictionary\n"


def test_reinstall_and_rename(fake_luxi, capsys):
  _Known(fake_luxi, ["inst1", "inst2"])
  assert _Instance("reinstall", "inst1") == 1  # not confirmed
  assert _Instance("reinstall", "-f", "-o", "lab+alt", "-O", "a=b", "inst1") == 0
  assert _Instance("rename", "--no-name-check", "--no-ip-check", "inst2", "inst3") == 1
  fake_luxi.job_outcomes.append({"op_results": ["inst3.example.com"]})
  assert _Instance("rename", "-f", "--no-name-check", "--no-ip-check", "inst2", "inst3") == 0
  assert capsys.readouterr().out.endswith(
    "Instance 'inst2' renamed to 'inst3.example.com'\n")
  reinstall, rename = _Ops(fake_luxi)
  assert (reinstall["OP_ID"], reinstall["os_type"], reinstall["osparams"]) == (
    "OP_INSTANCE_REINSTALL", "lab+alt", {"a": "b"})
  assert (rename["new_name"], rename["name_check"], rename["ip_check"]) == ("inst3", False,
                                                                            False)


def test_console(fake_luxi, capsys):
  fake_luxi.handlers[luxi.REQ_QUERY_CONFIG_VALUES] = lambda args: ["cluster.example.com"]
  consoles = {"inst1": [{"instance": "inst1", "kind": "msg",
                         "message": "Console not available for fake hypervisor"}, False],
              "inst2": [None, False],
              "inst3": [{"instance": "inst3", "kind": "ssh", "host": "node1", "user": "root",
                         "command": ["xl", "console", "inst3"]}, True]}
  fake_luxi.handlers[luxi.REQ_QUERY_INSTANCES] = lambda args: (
    [consoles[args[0][0]]] if args[0][0] in consoles else [])
  assert _Instance("console", "inst1") == 0
  assert capsys.readouterr().out == "Console not available for fake hypervisor\n"
  assert fake_luxi.Requests(luxi.REQ_QUERY_INSTANCES)[0] == [["inst1"],
                                                             ["console", "oper_state"], False]
  assert _Instance("console", "inst2") == 1
  assert capsys.readouterr().err == ("Failure: command execution error:\n"
                                     "Instance inst2 is not running, can't get console\n")
  assert _Instance("console", "nosuch") == 1
  assert capsys.readouterr().err.endswith("Instance 'nosuch' does not exist\n")
  assert _Instance("console", "--show-cmd", "inst3") == 0
  shown = capsys.readouterr().out
  assert shown.startswith("ssh ") and "-oHostKeyAlias=cluster.example.com" in shown
  assert shown.endswith(" -l root node1 'xl console inst3'\n")


def test_tags(fake_luxi, capsys):
  fake_luxi.handlers[luxi.REQ_QUERY_TAGS] = lambda args: ["b", "a"]
  assert _Instance("list-tags", "inst1") == 0
  assert fake_luxi.Requests(luxi.REQ_QUERY_TAGS) == [["instance", "inst1"]]
  assert capsys.readouterr().out == "a\nb\n"
  assert _Instance("add-tags", "inst1", "x") == 0
  (op,) = _Ops(fake_luxi)
  assert (op["OP_ID"], op["kind"], op["name"], op["tags"]) == ("OP_TAGS_SET", "instance",
                                                               "inst1", ["x"])


def test_every_command_has_help(capsys):
  for name in gnt_instance.commands:
    assert _Instance(name, "--help") == 0
  assert "migrate" in capsys.readouterr().out
  assert gnt_instance.SplitNodeOption("a:b:c") == ("a", "b:c")
  with pytest.raises(errors.OpPrereqError):
    gnt_instance._ExpandMultiNames("bogus", [], None)
