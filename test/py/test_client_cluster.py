"""gnt-cluster against a fake master daemon: requests sent and output printed."""

import json
import os
import time

import pytest

from ganeti import _autoconf
from ganeti import constants
from ganeti import luxi
from ganeti.client import gnt_cluster

from cli_fakeluxi import FakeJob, RunCommand, fake_luxi  # noqa: F401  (fixture)

DATA = os.path.join(os.path.dirname(__file__), "cli_data")


def _Cluster(*args):
  return RunCommand(gnt_cluster.Main, "gnt-cluster", list(args))


def _ClusterInfo():
  with open(os.path.join(DATA, "cluster_info.json")) as handle:
    return json.load(handle)


def _Submitted(fake):
  """The single opcode submitted, without its reason trail (which holds times)."""
  (ops,), = fake.Requests(luxi.REQ_SUBMIT_JOB)
  op = dict(ops[0])
  reason = op.pop("reason")
  return op, reason


def test_info_prints_what_ganeti_prints(fake_luxi, capsys):
  fake_luxi.handlers[luxi.REQ_QUERY_CLUSTER_INFO] = lambda args: _ClusterInfo()
  with open(os.path.join(DATA, "cluster_info.txt")) as handle:
    expected = handle.read()
  # the search paths are those this installation was configured with, as in Ganeti
  expected = expected.replace(
    "/srv/ganeti/os, /usr/local/lib/ganeti/os, /usr/lib/ganeti/os, /usr/share/ganeti/os",
    ", ".join(_autoconf.OS_SEARCH_PATH))
  expected = expected.replace(
    "/srv/ganeti/extstorage, /usr/local/lib/ganeti/extstorage, /usr/lib/ganeti/extstorage,"
    " /usr/share/ganeti/extstorage", ", ".join(_autoconf.ES_SEARCH_PATH))
  assert _Cluster("info") == 0
  assert capsys.readouterr().out == expected
  assert _Cluster("info", "--roman") == 0
  assert capsys.readouterr().out == expected
  assert fake_luxi.requests == [(luxi.REQ_QUERY_CLUSTER_INFO, [])] * 2


def test_version(fake_luxi, capsys):
  fake_luxi.handlers[luxi.REQ_QUERY_CLUSTER_INFO] = lambda args: _ClusterInfo()
  assert _Cluster("version") == 0
  assert capsys.readouterr().out == ("Software version: 3.0.2\n"
                                     "Internode protocol: 3000000\n"
                                     "Configuration format: 3000000\n"
                                     "OS api version: 20\n"
                                     "Export interface: 0\n"
                                     "VCS version: (ganeti) version 3.0.2-3\n")


def test_show_ispecs_cmd(fake_luxi, capsys):
  fake_luxi.handlers[luxi.REQ_QUERY_CLUSTER_INFO] = lambda args: _ClusterInfo()
  assert _Cluster("show-ispecs-cmd") == 0
  assert capsys.readouterr().out == (
    "gnt-cluster init --ipolicy-std-specs cpu-count=1,disk-count=1,disk-size=1024,"
    "memory-size=128,nic-count=1,spindle-use=1 --ipolicy-bounds-specs min:cpu-count=1,"
    "disk-count=1,disk-size=1024,memory-size=128,nic-count=1,spindle-use=1/max:cpu-count=8,"
    "disk-count=16,disk-size=1048576,memory-size=32768,nic-count=8,spindle-use=12"
    " cluster.gnt.test\n")


def test_getmaster_reads_ssconf(monkeypatch, capsys):
  from ganeti import ssconf  # pylint: disable=import-outside-toplevel
  monkeypatch.setattr(ssconf.SimpleStore, "GetMasterNode", lambda self: "node1.gnt.test")
  assert _Cluster("getmaster") == 0
  assert capsys.readouterr().out == "node1.gnt.test\n"


def test_master_ping(fake_luxi, monkeypatch):
  fake_luxi.handlers[luxi.REQ_QUERY_CLUSTER_INFO] = lambda args: {}
  assert _Cluster("master-ping") == 0
  del fake_luxi.handlers[luxi.REQ_QUERY_CLUSTER_INFO]
  assert _Cluster("master-ping") == 1


def test_queue(fake_luxi, capsys):
  fake_luxi.handlers[luxi.REQ_SET_DRAIN_FLAG] = lambda args: True
  fake_luxi.handlers[luxi.REQ_QUERY_CONFIG_VALUES] = lambda args: [False]
  assert _Cluster("queue", "drain") == 0
  assert _Cluster("queue", "undrain") == 0
  assert _Cluster("queue", "info") == 0
  assert fake_luxi.requests == [(luxi.REQ_SET_DRAIN_FLAG, [True]),
                                (luxi.REQ_SET_DRAIN_FLAG, [False]),
                                (luxi.REQ_QUERY_CONFIG_VALUES, [["drain_flag"]])]
  assert capsys.readouterr().out == "The drain flag is unset\n"
  assert _Cluster("queue", "bogus") == 1
  assert capsys.readouterr().err.endswith("error details:\nCommand 'bogus' is not valid.\n")


def test_watcher(fake_luxi, capsys, monkeypatch):
  monkeypatch.setattr(time, "time", lambda: 1795578000.0)
  pauses = []
  fake_luxi.handlers[luxi.REQ_SET_WATCHER_PAUSE] = lambda args: pauses.append(args[0]) or args[0]
  fake_luxi.handlers[luxi.REQ_QUERY_CONFIG_VALUES] = lambda args: [None]
  assert _Cluster("watcher", "pause", "1h") == 0
  assert pauses == [1795581600.0]
  assert capsys.readouterr().out == "The watcher is paused until Wed Nov 25 04:40:00 2026.\n"
  assert _Cluster("watcher", "continue") == 0
  assert capsys.readouterr().out == "The watcher is no longer paused.\n"
  assert _Cluster("watcher", "info") == 0
  assert capsys.readouterr().out == "The watcher is not paused.\n"
  assert fake_luxi.Requests(luxi.REQ_QUERY_CONFIG_VALUES) == [[["watcher_pause"]]]
  assert _Cluster("watcher", "pause") == 1
  assert capsys.readouterr().err.endswith("Missing pause duration\n")


def test_modify_sends_what_ganeti_sends(fake_luxi):
  assert _Cluster("modify", "--candidate-pool-size=10") == 0
  op, reason = _Submitted(fake_luxi)
  # as captured from Ganeti 3.0's gnt-cluster modify --candidate-pool-size=10
  assert op == {
    "force": False, "hv_state": {}, "disk_state": {}, "vg_name": None,
    "enabled_hypervisors": None, "hvparams": {}, "beparams": {}, "os_hvp": None,
    "osparams": None, "osparams_private_cluster": None, "diskparams": {},
    "candidate_pool_size": 10, "max_running_jobs": None, "max_tracked_jobs": None,
    "uid_pool": None, "add_uids": None, "remove_uids": None, "maintain_node_health": None,
    "prealloc_wipe_disks": None, "nicparams": {}, "ndparams": None, "ipolicy": {},
    "drbd_helper": None, "default_iallocator": None, "default_iallocator_params": None,
    "mac_prefix": None, "master_netdev": None, "master_netmask": None, "reserved_lvs": None,
    "hidden_os": None, "blacklisted_os": None, "use_external_mip_script": None,
    "enabled_disk_templates": None, "modify_etc_hosts": None, "file_storage_dir": None,
    "shared_file_storage_dir": None, "gluster_storage_dir": None, "install_image": None,
    "instance_communication_network": None, "zeroing_image": None, "compression_tools": None,
    "enabled_user_shutdown": None, "enabled_data_collectors": {},
    "data_collector_interval": {}, "dry_run": False, "debug_level": 0, "priority": 0,
    "depends": None, "comment": None, "OP_ID": "OP_CLUSTER_SET_PARAMS"}
  assert [entry[:2] for entry in reason] == [["gnt:client:gnt-cluster", "modify"]]


def test_modify_converts_parameters(fake_luxi):
  assert _Cluster("modify", "-H", "fake:migration_mode=live", "-B", "maxmem=256M,minmem=128",
                  "-D", "drbd:resync-rate=100", "--uid-pool=100-200,300", "--add-uids=5",
                  "--reserved-lvs=a,b", "--hypervisor-state=fake:mem_total=100",
                  "--disk-state=plain/xenvg:disk_total=10", "--vg-name=",
                  "--ipolicy-std-specs=cpu-count=2,memory-size=1G",
                  "--data-collector-interval=lv=10",
                  "--enabled-data-collectors=lv=no") == 0
  op, _ = _Submitted(fake_luxi)
  assert op["hvparams"] == {"fake": {"migration_mode": "live"}}
  assert op["beparams"] == {"maxmem": 256, "minmem": 128}
  assert op["diskparams"] == {"drbd": {"resync-rate": 100}}
  assert op["uid_pool"] == [[100, 200], [300, 300]]
  assert op["add_uids"] == [[5, 5]]
  assert op["reserved_lvs"] == ["a", "b"]
  assert op["hv_state"] == {"fake": {"mem_total": "100"}}
  assert op["disk_state"] == {"plain": {"xenvg": {"disk_total": "10"}}}
  assert op["vg_name"] == ""
  assert op["ipolicy"] == {"std": {"cpu-count": 2, "memory-size": 1024}}
  assert op["data_collector_interval"] == {"lv": 10000000}
  assert op["enabled_data_collectors"] == {"lv": False}


@pytest.mark.parametrize("args, message", [
  ([], "Please give at least one of the parameters.\n"),
  (["-B", "foo"], "Parameter Error: Unknown parameter 'foo'\n"),
  (["--ipolicy-std-specs=cpu-count=x"],
   "Parameter Error: 'cpu-count' (value x) is not a valid integer\n"),
  (["--uid-pool=x"], "Failure: prerequisites not met for this operation:\nerror type:"
                     " wrong_input, error details:\nInvalid user-id value for lower boundary"
                     " of user-id range: invalid literal for int() with base 10: 'x'\n"),
  (["--ipolicy-bounds-specs=bad"], "Failure: prerequisites not met for this operation:\n"
                                   "error type: wrong_input, error details:\nInvalid key in"
                                   " bounds instance specifications: bad\n"),
  (["--ipolicy-bounds-specs=min:cpu-count=1/max:cpu-count=2"],
   "Failure: prerequisites not met for this operation:\nerror type: wrong_input, error"
   " details:\nMissing parameters in ipolicy spec min: disk-count, disk-size, memory-size,"
   " nic-count, spindle-use\n"),
])
def test_modify_refuses_bad_parameters(fake_luxi, capsys, args, message):
  assert _Cluster("modify", *args) == 1
  assert capsys.readouterr().err == message
  assert fake_luxi.requests == []


def test_tags(fake_luxi, capsys, tmp_path):
  fake_luxi.handlers[luxi.REQ_QUERY_TAGS] = lambda args: ["zz", "foo"]
  assert _Cluster("list-tags") == 0
  assert fake_luxi.Requests(luxi.REQ_QUERY_TAGS) == [["cluster", ""]]
  assert capsys.readouterr().out == "foo\nzz\n"
  tags_file = tmp_path / "tags"
  tags_file.write_text("b\n a \n")
  assert _Cluster("add-tags", "--from", str(tags_file), "foo") == 0
  op, reason = _Submitted(fake_luxi)
  assert op == {"kind": "cluster", "tags": ["foo", "b", "a"], "name": "", "dry_run": None,
                "debug_level": 0, "priority": 0, "depends": None, "comment": None,
                "OP_ID": "OP_TAGS_SET"}
  assert [entry[:2] for entry in reason] == [["gnt:client:gnt-cluster", "add-tags"]]
  assert _Cluster("remove-tags") == 1
  assert capsys.readouterr().err.endswith("No tags to be removed\n")


def test_search_tags(fake_luxi, capsys):
  fake_luxi.job_outcomes.extend([{"op_results": [[["/instances/b", "x"], ["/cluster", "foo"]]]},
                                 {"op_results": [[]]}])
  assert _Cluster("search-tags", "fo") == 0
  assert capsys.readouterr().out == "/cluster foo\n/instances/b x\n"
  assert _Cluster("search-tags", "nomatch") == 1
  assert capsys.readouterr().out == ""


def test_destroy_needs_confirmation(fake_luxi, capsys, monkeypatch):
  assert _Cluster("destroy") == 1
  assert capsys.readouterr().err == ("Destroying a cluster is irreversible. If you really want"
                                     " destroy this cluster, supply the --yes-do-it option.\n")
  from ganeti import bootstrap  # pylint: disable=import-outside-toplevel
  finalized = []
  monkeypatch.setattr(bootstrap, "FinalizeClusterDestroy", finalized.append)
  fake_luxi.job_outcomes.append({"op_results": ["master-uuid"]})
  assert _Cluster("destroy", "--yes-do-it") == 0
  assert _Submitted(fake_luxi)[0]["OP_ID"] == "OP_CLUSTER_DESTROY"
  assert finalized == ["master-uuid"]


def test_init_passes_the_options_to_bootstrap(monkeypatch):
  from ganeti import bootstrap  # pylint: disable=import-outside-toplevel
  calls = []
  monkeypatch.setattr(bootstrap, "InitCluster", lambda **kwargs: calls.append(kwargs))
  assert _Cluster("init", "--no-etc-hosts", "--no-ssh-init", "--master-netdev=lo",
                  "--enabled-hypervisors=fake", "--enabled-disk-templates=diskless,file",
                  "-H", "fake:migration_mode=non-live", "-B", "vcpus=2", "-C", "3",
                  "--specs-mem-size=min=128,max=1G", "--primary-ip-version=6",
                  "cluster.example.com") == 0
  assert calls == [{
    "cluster_name": "cluster.example.com", "master_netdev": "lo",
    "enabled_hypervisors": ["fake"], "enabled_disk_templates": ["diskless", "file"],
    "hvparams": {"fake": {"migration_mode": "non-live"}}, "beparams": {"vcpus": 2},
    "nicparams": {}, "diskparams": {}, "hv_state": {}, "disk_state": {},
    "ipolicy": {"minmax": [{"min": {"memory-size": 128}, "max": {"memory-size": 1024}}]},
    "candidate_pool_size": 3, "modify_etc_hosts": False, "modify_ssh_setup": False,
    "primary_ip_family": constants.IP6_FAMILY}]


def test_verify_waits_for_the_jobs_it_started(fake_luxi, capsys):
  fake_luxi.jobs[201] = FakeJob([{}], op_results=[True])
  fake_luxi.jobs[202] = FakeJob([{}], op_results=[False], log=[
    [1, [1795579500, 147130], constants.ELOG_MESSAGE, "  - ERROR: node node2: bad"]])
  fake_luxi.job_outcomes.append({"op_results": [{"jobs": [[True, 201], [True, 202]]}]})
  assert _Cluster("verify") == 1
  op, _ = _Submitted(fake_luxi)
  assert {key: op[key] for key in ("debug_simulate_errors", "error_codes", "skip_checks",
                                   "ignore_errors", "verbose", "group_name",
                                   "verify_clutter")} == {
    "debug_simulate_errors": False, "error_codes": False, "skip_checks": [],
    "ignore_errors": [], "verbose": False, "group_name": None, "verify_clutter": False}
  assert capsys.readouterr().out == ("Submitted jobs 201, 202\n"
                                     "Waiting for job 201 ...\n"
                                     "Waiting for job 202 ...\n"
                                     "Wed Nov 25 04:05:00 2026   - ERROR: node node2: bad\n")


def test_simple_opcodes(fake_luxi, capsys):
  fake_luxi.handlers[luxi.REQ_QUERY_CONFIG_VALUES] = lambda args: ["old.example.com"]
  assert _Cluster("redist-conf") == 0
  assert _Cluster("repair-disk-sizes", "inst1") == 0
  assert _Cluster("activate-master-ip") == 0
  assert _Cluster("deactivate-master-ip", "--yes") == 0
  assert _Cluster("rename", "-f", "new.example.com") == 0
  ops = [args[0][0] for args in fake_luxi.Requests(luxi.REQ_SUBMIT_JOB)]
  assert [op["OP_ID"] for op in ops] == [
    "OP_CLUSTER_REDIST_CONF", "OP_CLUSTER_REPAIR_DISK_SIZES", "OP_CLUSTER_ACTIVATE_MASTER_IP",
    "OP_CLUSTER_DEACTIVATE_MASTER_IP", "OP_CLUSTER_RENAME"]
  assert ops[1]["instances"] == ["inst1"]
  assert ops[4]["name"] == "new.example.com"
  # the rename job's result (the new name, here None) decides whether it is reported
  assert capsys.readouterr().out == ""
  # without options, as Ganeti sends it: no debug level and an empty reason trail
  assert ops[2] == {"dry_run": None, "debug_level": None, "priority": 0, "depends": None,
                    "comment": None, "reason": [], "OP_ID": "OP_CLUSTER_ACTIVATE_MASTER_IP"}


def test_verify_disks_activates_disks_and_reports_problems(fake_luxi, capsys):
  group_result = [{"node2": "error reading"}, ["inst1", "inst3"],
                  {"inst4": [["node2", "d"]], "inst2": [["node2", "xenvg/b"], ["node1", "xenvg/a"]]}]
  fake_luxi.jobs[201] = FakeJob([{}], op_results=[group_result])
  fake_luxi.job_outcomes.extend([
    {"op_results": [{"jobs": [[True, 201]]}]}, {},
    {"status": constants.JOB_STATUS_ERROR,
     "op_results": [["OpExecError", ["Cannot activate block devices"]]]}])
  assert _Cluster("verify-disks") == 1
  captured = capsys.readouterr()
  # as Ganeti 3.0 prints it (checked against its gnt-cluster with the same answers)
  assert captured.out == (
    "Submitted jobs 201\n"
    "Waiting for job 201 ...\n"
    "Error gathering data on node node2: error reading\n"
    "You need to fix these nodes first before fixing instances\n"
    "Activating disks for instance 'inst1'\n"
    "Activating disks for instance 'inst3'\n"
    "Instance inst4 cannot be verified as it lives on broken nodes\n"
    "Instance inst2 has missing logical volumes:\n"
    "\tnode1 /dev/xenvg/a\n"
    "\tbroken node node2 /dev/xenvg/b\n"
    "You need to replace or recreate disks for all the above instances if this message"
    " persists after fixing broken nodes.\n")
  assert captured.err == ("Error activating disks for instance inst3: Failure: command"
                          " execution error:\nCannot activate block devices\n")
  activated = [args[0][0] for args in fake_luxi.Requests(luxi.REQ_SUBMIT_JOB)[1:]]
  assert [(op["OP_ID"], op["instance_name"]) for op in activated] == [
    ("OP_INSTANCE_ACTIVATE_DISKS", "inst1"), ("OP_INSTANCE_ACTIVATE_DISKS", "inst3")]
