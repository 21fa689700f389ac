"""gnt-job against a fake master daemon: requests sent and output printed."""

import json
import os

from ganeti import cli
from ganeti import constants
from ganeti import luxi
from ganeti.client import gnt_job

from cli_fakeluxi import FakeJob, RunCommand, fake_luxi  # noqa: F401  (fixture)

DATA = os.path.join(os.path.dirname(__file__), "cli_data")

_LIST_FIELDS = [
  {"name": "id", "title": "ID", "kind": "number", "doc": "Job ID"},
  {"name": "status", "title": "Status", "kind": "text", "doc": "Job status"},
  {"name": "summary", "title": "Summary", "kind": "other", "doc": "List of per-opcode summaries"},
]
_JOBS = [(1, "success", ["CLUSTER_POST_INIT"]), (2, "success", ["NODE_ADD(node2.gnt.test)"]),
         (5, "success", ["CLUSTER_VERIFY_GROUP(00623d44-88f2-4d1d-858e-dbf384963790)"]),
         (10, "error", ["TEST_JQUEUE", "TEST_JQUEUE"])]


def _Job(*args):
  return RunCommand(gnt_job.Main, "gnt-job", list(args))


def _ListAnswer(args):
  what, fields, _ = args
  assert what == constants.QR_JOB
  known = {f["name"]: f for f in _LIST_FIELDS}
  defs = [known.get(name, {"name": name, "title": name, "kind": constants.QFT_UNKNOWN,
                           "doc": "Unknown field '%s'" % name}) for name in fields]
  data = []
  for job_id, status, summary in _JOBS:
    values = {"id": job_id, "status": status, "summary": summary}
    data.append([[0, values[name]] if name in values else [constants.RS_UNKNOWN, None]
                 for name in fields])
  return {"fields": defs, "data": data}


def test_list(fake_luxi, capsys):
  fake_luxi.handlers[luxi.REQ_QUERY] = _ListAnswer
  assert _Job("list") == 0
  assert fake_luxi.requests == [(luxi.REQ_QUERY, ["job", ["id", "status", "summary"], None])]
  assert capsys.readouterr().out == (
    "ID Status  Summary\n"
    " 1 success CLUSTER_POST_INIT\n"
    " 2 success NODE_ADD(node2.gnt.test)\n"
    " 5 success CLUSTER_VERIFY_GROUP(00623d44-88f2-4d1d-858e-dbf384963790)\n"
    "10 error   TEST_JQUEUE,TEST_JQUEUE\n")


def test_list_without_headers_and_with_separator(fake_luxi, capsys):
  fake_luxi.handlers[luxi.REQ_QUERY] = _ListAnswer
  assert _Job("list", "--no-headers", "--separator=|", "-o", "+status") == 0
  assert fake_luxi.Requests(luxi.REQ_QUERY)[0][1] == ["id", "status", "summary", "status"]
  assert capsys.readouterr().out.splitlines()[0] == "1|success|CLUSTER_POST_INIT|success"


def test_list_selections(fake_luxi):
  fake_luxi.handlers[luxi.REQ_QUERY] = _ListAnswer
  _Job("list", "1", "2")
  _Job("list", "--running")
  _Job("list", "--pending")
  _Job("list", "--archived")
  filters = [args[2] for args in fake_luxi.Requests(luxi.REQ_QUERY)]
  assert filters[0] == ["|", ["==", "id", 1], ["==", "id", 2]]
  assert filters[1] == ["|", ["==", "status", "running"]]
  assert filters[2] == ["|", ["==", "status", "canceling"], ["==", "status", "queued"],
                        ["==", "status", "waiting"]]
  assert fake_luxi.Requests(luxi.REQ_QUERY)[3] == [
    "job", ["id", "status", "summary", "archived"], None]


def test_list_rejects_bad_job_ids(fake_luxi, capsys):
  assert _Job("list", "abc") == 1
  assert capsys.readouterr().err == (
    "Failure: prerequisites not met for this operation:\n"
    "error type: wrong_input, error details:\n"
    "Invalid job ID passed: invalid literal for int() with base 10: 'abc'\n")
  assert fake_luxi.requests == []


def test_list_warns_about_unknown_fields(fake_luxi, capsys):
  fake_luxi.handlers[luxi.REQ_QUERY] = _ListAnswer
  assert _Job("list", "-o", "id,bogus") == cli.EXIT_UNKNOWN_FIELD
  captured = capsys.readouterr()
  assert captured.err == "Warning: Queried for unknown fields bogus\n"
  assert captured.out.splitlines()[:2] == ["ID bogus", " 1 ??"]


def test_list_fields(fake_luxi, capsys):
  with open(os.path.join(DATA, "job_fields.json")) as handle:
    fields = json.load(handle)
  fake_luxi.handlers[luxi.REQ_QUERY_FIELDS] = lambda args: fields
  assert _Job("list-fields") == 0
  assert fake_luxi.requests == [(luxi.REQ_QUERY_FIELDS, ["job", None])]
  lines = capsys.readouterr().out.splitlines()
  assert lines[0] == "Name        Type    Title         Description"
  assert lines[1] == "archived    Boolean Archived      Whether job is archived"
  assert lines[3] == "id          Number  ID            Job ID"


def test_info_prints_what_ganeti_prints(fake_luxi, capsys):
  with open(os.path.join(DATA, "job_info_query.json")) as handle:
    answer = json.load(handle)
  with open(os.path.join(DATA, "job_info.txt")) as handle:
    expected = handle.read()
  fake_luxi.handlers[luxi.REQ_QUERY] = lambda args: answer
  assert _Job("info", "191", "36", "99999", "52") == 0
  assert fake_luxi.Requests(luxi.REQ_QUERY)[0] == [
    "job", ["id", "status", "ops", "opresult", "opstatus", "oplog", "opstart", "opexec",
            "opend", "received_ts", "start_ts", "end_ts"],
    ["|", ["==", "id", 191], ["==", "id", 36], ["==", "id", 99999], ["==", "id", 52]]]
  assert capsys.readouterr().out == expected


def test_watch_prints_the_log(fake_luxi, capsys):
  fake_luxi.jobs[7] = FakeJob([{}], log=[
    [1, [1795580259, 21652], constants.ELOG_MESSAGE, " - INFO: Test delay iteration 0/1"]])
  assert _Job("watch", "7") == 0
  assert capsys.readouterr().out == ("Output from job 7 follows\n"
                                     "-------------------------\n"
                                     "Wed Nov 25 04:17:39 2026  - INFO: Test delay iteration 0/1\n")
  # the job ID is passed on as given
  assert fake_luxi.Requests(luxi.REQ_WAIT_FOR_JOB_CHANGE)[0] == [
    "7", ["status", "opstatus", "opresult"], None, None, 60]


def test_wait_is_silent_and_reports_failures(fake_luxi, capsys):
  fake_luxi.jobs[7] = FakeJob([{}], log=[[1, [1, 0], constants.ELOG_MESSAGE, "x"]])
  assert _Job("wait", "7") == 0
  assert capsys.readouterr().out == ""
  assert _Job("wait", "99999") == 1
  assert capsys.readouterr().err == ("Job 99999 failed: Error checking job status:"
                                     " Can't load job file\n")
  fake_luxi.jobs[8] = FakeJob([{}], status=constants.JOB_STATUS_CANCELED)
  assert _Job("watch", "8") == 1
  assert capsys.readouterr().err == "Job 8 failed: Unhandled Ganeti error: Job was canceled\n"


def test_cancel_by_id(fake_luxi, capsys):
  fake_luxi.handlers[luxi.REQ_CANCEL_JOB] = lambda args: [False, "Job %s not found in queue"
                                                          % args[0]]
  assert _Job("cancel", "13") == 1
  assert fake_luxi.requests == [(luxi.REQ_CANCEL_JOB, [13, False])]
  assert capsys.readouterr().out == "Job 13 not found in queue\n"


def test_cancel_checks(fake_luxi, capsys):
  assert _Job("cancel", "abc") == 1
  assert capsys.readouterr().err == (
    "Unhandled protocol error while talking to the master daemon:\n"
    "Invalid parameter passed to CancelJob as job id:  expected integer, got value abc\n")
  assert _Job("cancel") == 1
  assert capsys.readouterr().err.endswith(
    "Either a status filter or job ID(s) must be specified and never both\n")
  assert _Job("cancel", "--pending", "5") == 1
  assert _Job("cancel", "--kill", "5") == 1
  assert capsys.readouterr().err.endswith(
    "The --kill option must be confirmed with --yes-do-it\n")
  assert fake_luxi.requests == []


def test_cancel_selected_jobs(fake_luxi, capsys):
  answers = iter([{"fields": _LIST_FIELDS, "data": [[[0, 5], [0, "waiting"], [0, ["X"]]],
                                                    [[0, 6], [0, "queued"], [0, ["Y"]]]]},
                  {"fields": _LIST_FIELDS, "data": []}])
  fake_luxi.handlers[luxi.REQ_QUERY] = lambda args: next(answers)
  fake_luxi.handlers[luxi.REQ_CANCEL_JOB] = lambda args: [True, "Job successfully cancelled"]
  assert _Job("cancel", "--pending", "--force", "--kill", "--yes-do-it") == 0
  assert fake_luxi.Requests(luxi.REQ_CANCEL_JOB) == [[5, True], [6, True]]
  assert capsys.readouterr().out == "Job successfully cancelled\nJob successfully cancelled\n"
  assert _Job("cancel", "--queued", "--force") == 1
  assert capsys.readouterr().err.endswith("error type: wrong_state, error details:\n"
                                          "No jobs with the requested status have been found\n")
  assert fake_luxi.Requests(luxi.REQ_QUERY)[1][2] == ["|", ["==", "status", "queued"]]


def test_cancel_selected_jobs_asks_first(fake_luxi, capsys, monkeypatch):
  fake_luxi.handlers[luxi.REQ_QUERY] = lambda args: {
    "fields": _LIST_FIELDS, "data": [[[0, 5], [0, "waiting"], [0, ["TEST_DELAY(1.0)"]]]]}
  questions = []
  monkeypatch.setattr(gnt_job, "AskUser", lambda text: questions.append(text) or False)
  assert _Job("cancel", "--waiting") == 13
  assert questions == ["Cancel job(s) listed above?"]
  assert capsys.readouterr().out == "ID Status  Summary\n 5 waiting TEST_DELAY(1.0)\n"
  assert luxi.REQ_CANCEL_JOB not in fake_luxi.Methods()


def test_change_priority(fake_luxi, capsys):
  assert _Job("change-priority", "5") == 1
  assert capsys.readouterr().err == "--priority option must be given.\n"
  fake_luxi.handlers[luxi.REQ_CHANGE_JOB_PRIORITY] = lambda args: [
    True, "Job %s with pid 1 signaled" % args[0]]
  assert _Job("change-priority", "--priority=high", "13") == 0
  assert fake_luxi.Requests(luxi.REQ_CHANGE_JOB_PRIORITY) == [[13, -10]]
  assert capsys.readouterr().out == "Job 13 with pid 1 signaled\n"


def test_archive(fake_luxi, capsys):
  fake_luxi.handlers[luxi.REQ_ARCHIVE_JOB] = lambda args: args[0] == 2
  assert _Job("archive", "1", "2") == 1
  assert fake_luxi.Requests(luxi.REQ_ARCHIVE_JOB) == [[1], [2]]
  assert capsys.readouterr().err == "Failed to archive job with ID '1'\n"


def test_autoarchive(fake_luxi, capsys):
  fake_luxi.handlers[luxi.REQ_AUTO_ARCHIVE_JOBS] = lambda args: [3, 0]
  assert _Job("autoarchive", "1h") == 0
  assert _Job("autoarchive", "all") == 0
  assert fake_luxi.Requests(luxi.REQ_AUTO_ARCHIVE_JOBS) == [[3600, 89], [-1, 89]]
  assert capsys.readouterr().out == ("Archived 3 jobs, 0 unchecked left\n" * 2)
  assert _Job("autoarchive", "1x") == 1
  assert capsys.readouterr().err.endswith("Invalid time specification '1x'\n")


def test_usage_errors(capsys):
  assert _Job("info") == 1
  assert capsys.readouterr().err == "Error: Command info expects at least 1 argument(s)\n"
  assert _Job("wait", "1", "2") == 1
  assert capsys.readouterr().err == "Error: Command wait expects 1 argument(s)\n"
  assert _Job("list", "-o") == 2
  assert capsys.readouterr().err.endswith("gnt-job: error: -o option requires 1 argument\n")


def test_private_parameters_are_hidden(fake_luxi, capsys):
  op = {"OP_ID": "OP_TEST_OS_PARAMS", "osparams_secret": {"a": "<redacted>"}}
  info_fields = ["id", "status", "ops", "opresult", "opstatus", "oplog", "opstart", "opexec",
                 "opend", "received_ts", "start_ts", "end_ts"]
  values = [3, "success", [op], [None], ["success"], [[]], [None], [None], [None], None, None,
            None]

  def answer(args):
    fields = [{"name": name, "title": name, "kind": "other", "doc": ""} for name in args[1]]
    row = dict(zip(info_fields, values))
    return {"fields": fields, "data": [[[0, row[name]] for name in args[1]]]}
  fake_luxi.handlers[luxi.REQ_QUERY] = answer
  assert _Job("info", "3") == 0
  out = capsys.readouterr().out
  assert "        osparams_secret: \n          a: <a>\n" in out
  assert "redacted" not in out
  assert _Job("list", "--no-headers", "-o", "ops") == 0
  assert capsys.readouterr().out == (
    "[{'OP_ID': 'OP_TEST_OS_PARAMS', 'osparams_secret': {'a': Private(?, descr='a')}}]\n")
