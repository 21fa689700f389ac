"""gnt-debug against a fake master daemon: requests sent and output printed."""

import json

from ganeti import constants
from ganeti import errors
from ganeti import luxi
from ganeti.client import gnt_debug

from cli_fakeluxi import RunCommand, fake_luxi  # noqa: F401  (fixture)


def _Debug(*args):
  return RunCommand(gnt_debug.Main, "gnt-debug", list(args))


def _SubmittedOps(fake):
  return [args[0] for args in fake.Requests(luxi.REQ_SUBMIT_JOB)]


def test_delay_sends_what_ganeti_sends(fake_luxi, capsys):
  assert _Debug("delay", "0.001") == 0
  (op,), = _SubmittedOps(fake_luxi)
  reason = op.pop("reason")
  # as captured from Ganeti 3.0's "gnt-debug delay 0.001"
  assert op == {"duration": 0.001, "on_master": True, "on_nodes": [], "on_node_uuids": None,
                "repeat": 0, "interruptible": False, "no_locks": False, "dry_run": False,
                "debug_level": 0, "priority": 0, "depends": None, "comment": None,
                "OP_ID": "OP_TEST_DELAY"}
  assert [entry[:2] for entry in reason] == [["gnt:client:gnt-debug", "delay"]]
  # the answer that shows the job's end carries its results
  assert fake_luxi.Methods() == [luxi.REQ_SUBMIT_JOB] + [luxi.REQ_WAIT_FOR_JOB_CHANGE] * 2
  assert capsys.readouterr().out == ""


def test_delay_options(fake_luxi):
  assert _Debug("delay", "--no-master", "-n", "node1", "-n", "node2", "-r", "2", "-i", "-l",
                "--priority=low", "--dry-run", "30") == 0
  (op,), = _SubmittedOps(fake_luxi)
  assert (op["duration"], op["on_master"], op["on_nodes"], op["repeat"], op["interruptible"],
          op["no_locks"], op["priority"], op["dry_run"]) == (30.0, False, ["node1", "node2"],
                                                             2, True, True, 10, True)


def test_delay_submit(fake_luxi, capsys):
  assert _Debug("delay", "--submit", "0.001") == 0
  assert capsys.readouterr().err == "JobID: 100\n"
  assert _Debug("delay", "--submit", "--print-jobid", "0.001") == 0
  captured = capsys.readouterr()
  assert (captured.out, captured.err) == ("101\n", "JobID: 101\n")
  assert fake_luxi.Methods() == [luxi.REQ_SUBMIT_JOB] * 2


def test_delay_failure(fake_luxi, capsys):
  fake_luxi.job_outcomes.append({"status": constants.JOB_STATUS_ERROR, "op_results": [
    ["OpPrereqError", ["Node 'nosuch' not known", "unknown_entity"]]]})
  assert _Debug("delay", "-n", "nosuch", "0.01") == 1
  assert capsys.readouterr().err == ("Failure: prerequisites not met for this operation:\n"
                                     "error type: unknown_entity, error details:\n"
                                     "Node 'nosuch' not known\n")


def test_options_after_the_duration_are_arguments(fake_luxi, capsys):
  assert _Debug("delay", "0.001", "--no-master") == 1
  assert capsys.readouterr().err == "Error: Command delay expects 1 argument(s)\n"


def test_submit_job(fake_luxi, capsys, tmp_path):
  ops_file = tmp_path / "ops.json"
  ops_file.write_text(json.dumps([{"OP_ID": "OP_TEST_DELAY", "duration": 0.01},
                                  {"OP_ID": "OP_TAGS_GET", "kind": "cluster", "name": ""}]))
  fake_luxi.job_outcomes.extend([{}, {"status": constants.JOB_STATUS_ERROR,
                                      "op_results": [None, ["OpExecError", ["broken"]]]}])
  assert _Debug("submit-job", "--job-repeat=2", str(ops_file)) == 0
  (jobs,), = fake_luxi.Requests(luxi.REQ_SUBMIT_MANY_JOBS)
  assert len(jobs) == 2
  first = dict(jobs[0][0])
  reason = first.pop("reason")
  # opcodes from files carry only what they were given, plus the generic options
  assert first == {"duration": 0.01, "dry_run": False, "debug_level": 0,
                   "OP_ID": "OP_TEST_DELAY"}
  assert [entry[:2] for entry in reason] == [["gnt:client:gnt-debug", "submit-job"]]
  captured = capsys.readouterr()
  assert captured.out == ("Waiting for job 100 for file %s/0 ...\n"
                          "Waiting for job 101 for file %s/1 ...\n" % (ops_file, ops_file))
  assert captured.err == ("Job 101 for file %s/1 has failed: Failure: command execution"
                          " error:\nbroken\n" % ops_file)


def test_submit_job_timing_stats(fake_luxi, capsys, tmp_path):
  ops_file = tmp_path / "ops.json"
  ops_file.write_text(json.dumps([{"OP_ID": "OP_TEST_DELAY", "duration": 0.01}]))
  assert _Debug("submit-job", "--timing-stats", "--op-repeat=3", "--each", str(ops_file)) == 0
  lines = capsys.readouterr().out.splitlines()
  assert lines[:3] == ["Loading...", "Submitting...", "Executing..."]
  assert lines[4:6] == ["C:op        3", "C:job       1"]
  assert [line[:9] for line in lines[6:]] == ["T:submit ", "T:exec   ", "T:total  "]
  (ops,), = fake_luxi.Requests(luxi.REQ_SUBMIT_JOB)
  assert len(ops) == 3


def test_locks(fake_luxi, capsys):
  data = [[[0, "cluster/BGL"], [0, "shared"], [0, ["210", "211", "212"]], [0, []]],
          [[0, "cluster/[lockset]"], [0, None], [0, []], [0, []]],
          [[0, "node/07c9feed"], [0, "exclusive"], [0, ["210"]], [0, [["exclusive", ["211"]]]]]]
  fields = [{"name": name, "title": name.capitalize(), "kind": "other", "doc": ""}
            for name in ("name", "mode", "owner", "pending")]
  fake_luxi.handlers[luxi.REQ_QUERY] = lambda args: {"fields": fields, "data": data}
  assert _Debug("locks") == 0
  assert fake_luxi.requests == [(luxi.REQ_QUERY, ["lock", ["name", "mode", "owner", "pending"],
                                                  None])]
  assert capsys.readouterr().out == (
    "Name              Mode      Owner       Pending\n"
    "cluster/BGL       shared    210,211,212 -\n"
    "cluster/[lockset] -         -           -\n"
    "node/07c9feed     exclusive 210         exclusive:211\n")


def test_iallocator(fake_luxi, capsys):
  fake_luxi.job_outcomes.append({"op_results": ["allocator input"]})
  assert _Debug("iallocator", "--nics", "aa:bb/1.2.3.4/br0,//", "--disks", "1024,2g",
                "-m", "allocate", "-t", "file", "--tags", "a,b", "inst1") == 0
  (op,), = _SubmittedOps(fake_luxi)
  op.pop("reason")
  assert op == {"direction": "in", "mode": "allocate", "name": "inst1",
                "nics": [{"mac": "aa:bb", "ip": "1.2.3.4", "bridge": "br0"},
                         {"mac": None, "ip": None, "bridge": None}],
                "disks": [{"size": 1024, "mode": "rw"}, {"size": 2048, "mode": "rw"}],
                "hypervisor": None, "iallocator": None, "tags": ["a", "b"], "memory": 128,
                "vcpus": 1, "os": None, "disk_template": "file", "instances": ["inst1"],
                "evac_mode": "all", "target_groups": [], "spindle_use": 1, "count": 2,
                "group_name": None, "dry_run": False, "debug_level": 0, "priority": 0,
                "depends": None, "comment": None, "OP_ID": "OP_TEST_ALLOCATOR"}
  assert capsys.readouterr().out == "allocator input\n"


def test_test_osparams(fake_luxi):
  assert _Debug("test-osparams", "--os-parameters-secret", "a=b") == 0
  assert _Debug("test-osparams") == 0
  first, second = [ops[0] for ops in _SubmittedOps(fake_luxi)]
  assert first["osparams_secret"] == {"a": "b"}
  assert second["osparams_secret"] == {}
  assert first["dry_run"] is None


def test_jobqueue_submission_checks(fake_luxi, capsys):
  def submit(ops):
    for op in ops:
      if op["priority"] not in constants.OP_PRIO_SUBMIT_VALID:
        raise errors.GenericError("refused")
    return 1
  fake_luxi.handlers[luxi.REQ_SUBMIT_JOB] = lambda args: submit(args[0])
  fake_luxi.handlers[luxi.REQ_SUBMIT_MANY_JOBS] = lambda args: [submit(ops) for ops in args[0]]
  gnt_debug._TestJobSubmission()  # pylint: disable=protected-access
  assert capsys.readouterr().out == "Testing job submission\nJob submission tests were successful\n"
  submitted = fake_luxi.Requests(luxi.REQ_SUBMIT_JOB)
  # the extremes alone, then the ten neighbours of valid priorities in four layouts each
  assert len(submitted) == 2 + 10 * 4
  assert [op["priority"] for op in submitted[0][0]] == [19]
  assert [op["priority"] for op in submitted[4][0]] == [-1, 0, 0, 0]
  assert [op["dry_run"] for op in fake_luxi.Requests(luxi.REQ_SUBMIT_MANY_JOBS)[0][0][0]] == [
    None, False, True]


def test_jobqueue_submission_check_fails_when_accepted(fake_luxi, capsys):
  try:
    gnt_debug._TestJobSubmission()  # pylint: disable=protected-access
  except errors.OpExecError as err:
    assert "priority 19" in str(err)
  else:
    raise AssertionError("accepted submissions went unnoticed")
