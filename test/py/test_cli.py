"""Tests of the command line framework (ganeti.cli, cli_opts, cli_output).

Expected texts are those Ganeti 3.0's tools print.
"""

import glob
import os
import re
import subprocess
import sys
import time

import pytest

from ganeti import cli
from ganeti import cli_parse
from ganeti import constants
from ganeti import errors
from ganeti import luxi
from ganeti import opcodes
from ganeti import pathutils

from cli_fakeluxi import RunCommand, fake_luxi  # noqa: F401  (fixture)


# Units, times, fields


@pytest.mark.parametrize("value, expected", [
  (0, ["0M", "0", "0.0", "0.0"]),
  (77, ["77M", "77", "0.1", "0.0"]),
  (1023, ["1023M", "1023", "1.0", "0.0"]),
  (1024, ["1.0G", "1024", "1.0", "0.0"]),
  (24105, ["23.5G", "24105", "23.5", "0.0"]),
  (258019, ["252.0G", "258019", "252.0", "0.2"]),
  (1048575, ["1024.0G", "1048575", "1024.0", "1.0"]),
  (1048576, ["1.0T", "1048576", "1024.0", "1.0"]),
  (5000000, ["4.8T", "5000000", "4882.8", "4.8"]),
  (1.5, ["2M", "2", "0.0", "0.0"]),
])
def test_format_unit(value, expected):
  assert [cli.FormatUnit(value, unit) for unit in "hmgt"] == expected


def test_format_unit_rejects_unknown_units():
  with pytest.raises(errors.ProgrammerError):
    cli.FormatUnit(1, "M")


@pytest.mark.parametrize("text, seconds", [
  ("1d", 86400), ("1h", 3600), ("30", 30), ("2w", 1209600), ("1m", 60), ("1s", 1), ("-5", -5),
])
def test_parse_timespec(text, seconds):
  assert cli.ParseTimespec(text) == seconds


@pytest.mark.parametrize("text, message", [
  ("x", "Invalid time specification 'x'"),
  ("1x", "Invalid time specification '1x'"),
  ("1.5h", "Invalid time specification '1.5'"),
  ("", "Empty time specification passed"),
])
def test_parse_timespec_errors(text, message):
  with pytest.raises(errors.OpPrereqError) as info:
    cli.ParseTimespec(text)
  assert info.value.args == (message, errors.ECODE_INVAL)


def test_parse_fields():
  assert cli.ParseFields(None, ["x", "y"]) == ["x", "y"]
  assert cli.ParseFields("a,b", ["x"]) == ["a", "b"]
  assert cli.ParseFields("+a,b", ["x", "y"]) == ["x", "y", "a", "b"]


def test_format_timestamps(monkeypatch):
  monkeypatch.setenv("TZ", "UTC")
  time.tzset()
  try:
    assert cli.FormatTimestamp([1795578199, 320727]) == "2026-11-25 03:43:19.320727"
    assert cli.FormatTimestamp(None) == "?"
    assert cli.FormatTime(1795578060.997007) == "2026-11-25 03:41:00"
    assert cli.FormatTime(None) == "N/A"
  finally:
    monkeypatch.undo()
    time.tzset()


# Tables


def test_table_aligns_numbers_right_and_leaves_the_last_text_column_unpadded():
  lines = cli.FormatTable([["1", "success", "A"], ["12", "error", "BB"]], [True, False, False],
                          ["ID", "Status", "Summary"], None)
  assert lines == ["ID Status  Summary", " 1 success A", "12 error   BB"]


def test_table_with_separator_does_not_pad():
  assert cli.FormatTable([["1", "a"]], [True, False], ["ID", "X"], "|") == ["ID|X", "1|a"]


def test_table_counts_list_cells_by_their_length():
  # a column of lists is as wide as its longest list or title, as in Ganeti
  lines = cli.FormatTable([[["2026-11-25 03:41:02.988567"], "x"]], [False, False],
                          ["OpCode_start", "T"], None)
  assert lines == ["OpCode_start T", "['2026-11-25 03:41:02.988567'] x"]


def test_generate_table_units():
  lines = cli.GenerateTable({"name": "Node", "mem": "Mem"}, ["name", "mem"], None,
                            [["node1", 24105], ["node22", 77]], unitfields=["mem"])
  assert lines == ["Node     Mem", "node1  23.5G", "node22   77M"]
  assert cli.GenerateTable(None, ["name", "mem"], ":", [["n", 24105]],
                           unitfields=["mem"]) == ["n:24105"]


_QUERY_RESULT = {
  "fields": [
    {"name": "name", "title": "Node", "kind": constants.QFT_TEXT, "doc": ""},
    {"name": "mtotal", "title": "MTotal", "kind": constants.QFT_UNIT, "doc": ""},
    {"name": "master", "title": "IsMaster", "kind": constants.QFT_BOOL, "doc": ""},
    {"name": "spfree", "title": "SpFree", "kind": constants.QFT_NUMBER, "doc": ""},
    {"name": "bogus", "title": "bogus", "kind": constants.QFT_UNKNOWN, "doc": ""},
  ],
  "data": [
    [[0, "node1.gnt.test"], [0, 24105], [0, True], [2, None], [1, None]],
    [[0, "node2.gnt.test"], [0, 24105], [0, False], [4, None], [1, None]],
  ],
}


def test_format_query_result():
  code, unknown, lines = cli.FormatQueryResult(_QUERY_RESULT, header=True)
  assert code == cli.EXIT_UNKNOWN_FIELD
  assert unknown == ["bogus"]
  assert lines == ["Node           MTotal IsMaster SpFree bogus",
                   "node1.gnt.test  23.5G Y             ? ??",
                   "node2.gnt.test  23.5G N             * ??"]


def test_format_query_result_verbose_with_separator():
  _, _, lines = cli.FormatQueryResult(_QUERY_RESULT, separator=":", verbose=True)
  assert lines == ["node1.gnt.test:24105:Y:(nodata):(unknown)",
                   "node2.gnt.test:24105:N:(offline):(unknown)"]


def test_field_definitions_table():
  fields = [{"name": "id", "title": "ID", "kind": "number", "doc": "Job ID"},
            {"name": "summary", "title": "Summary", "kind": "other", "doc": "Summaries"}]
  assert cli.FormatFieldDefinitions(fields, True, None) == [
    "Name    Type   Title   Description",
    "id      Number ID      Job ID",
    "summary Custom Summary Summaries"]


# Nested listings


def test_generic_info_formats_mappings_lists_and_nesting():
  data = [[("Job ID", 8), ("Opcodes", [[("Opcode", "OP_X"),
                                        ("Input fields", {"b": [], "a": None,
                                                          "reason": [["src", "r", 1]]}),
                                        ("Execution log", [])]])],
          "Job ID 9 not found"]
  assert cli.FormatGenericInfo(data) == [
    "- Job ID: 8",
    "  Opcodes: ",
    "    - Opcode: OP_X",
    "      Input fields: ",
    "        a: None",
    "        b: ",
    "        reason: ",
    "          - - src",
    "            - r",
    "            - 1",
    "      Execution log: ",
    "- Job ID 9 not found",
  ]


def test_generic_info_prints_empty_list_items_as_dashes():
  assert cli.FormatGenericInfo([("nics", [{"ip": "1.2.3.4"}, {}])]) == [
    "nics: ", "  - ip: 1.2.3.4", "  - "]


def test_generic_info_list_item_mappings_align_their_keys():
  data = [("bounds specs", [[("min/0", {"cpu-count": 1}), ("max/0", {"cpu-count": 8})]])]
  assert cli.FormatGenericInfo(data) == [
    "bounds specs: ", "  - min/0: ", "      cpu-count: 1", "    max/0: ", "      cpu-count: 8"]


# Options


def _Parse(options, argv):
  return cli_parse.Parse(options, argv)[0]


def test_keyval_options():
  opts = _Parse([cli.BACKEND_OPT], ["-B", "maxmem=1G,no_auto_balance,-vcpus,a\\,b=c"])
  assert opts.beparams == {"maxmem": "1G", "auto_balance": False, "vcpus": None, "a,b": "c"}
  with pytest.raises(errors.ParameterError) as info:
    _Parse([cli.BACKEND_OPT], ["-B", "a=1,a=2"])
  assert cli.FormatError(info.value) == (
    1, "Failure: unknown/wrong parameter name 'Duplicate key 'a' in option -B'")


def test_identkeyval_options():
  opts = _Parse([cli.HVLIST_OPT], ["-H", "fake:a=b", "-H", "kvm", "-H", "no_xen-pvm"])
  assert opts.hvparams == [("fake", {"a": "b"}), ("kvm", {}), ("xen-pvm", False)]
  with pytest.raises(errors.ParameterError):
    _Parse([cli.HVLIST_OPT], ["-H", "no_kvm:a=b"])


def test_bounds_specs_option():
  opts = _Parse([cli.IPOLICY_BOUNDS_SPECS_OPT],
                ["--ipolicy-bounds-specs", "min:cpu-count=1/max:cpu-count=8//min:cpu-count=2"])
  assert opts.ipolicy_bounds_specs == [{"min": {"cpu-count": "1"}, "max": {"cpu-count": "8"}},
                                       {"min": {"cpu-count": "2"}}]


def test_bool_and_list_options():
  opts = _Parse([cli.MAINTAIN_NODE_HEALTH_OPT, cli.COMPRESSION_TOOLS_OPT],
                ["--maintain-node-health=no", "--compression-tools=gzip,lzop"])
  assert opts.maintain_node_health is False
  assert opts.compression_tools == ["gzip", "lzop"]
  with pytest.raises(errors.ParameterError) as info:
    _Parse([cli.MAINTAIN_NODE_HEALTH_OPT], ["--maintain-node-health=maybe"])
  assert cli.FormatError(info.value)[1] == (
    "Failure: unknown/wrong parameter name 'Invalid boolean value 'maybe''")


def test_priority_option(capsys):
  assert _Parse([cli.PRIORITY_OPT], ["--priority=high"]).priority == constants.OP_PRIO_HIGH
  assert _Parse([cli.PRIORITY_OPT], []).priority is None
  with pytest.raises(SystemExit):
    _Parse([cli.PRIORITY_OPT], ["--priority=bogus"])
  assert ("option --priority: invalid choice: 'bogus' (choose from 'low', 'normal', 'high')"
          in capsys.readouterr().err)


def test_unit_option(capsys):
  assert _Parse([cli.CliOption("--memory", dest="memory", type="unit")],
                ["--memory=1.5g"]).memory == 1536
  with pytest.raises(SystemExit):
    _Parse([cli.CliOption("--memory", dest="memory", type="unit")], ["--memory=xyz"])
  assert "option --memory: Invalid format" in capsys.readouterr().err


# Argument counts


@pytest.mark.parametrize("argspec, args, message", [
  ([], ["x"], "Error: Command c expects no arguments"),
  ([cli.ArgJobId(min=1, max=1)], [], "Error: Command c expects 1 argument(s)"),
  ([cli.ArgJobId(min=1, max=1)], ["1", "2"], "Error: Command c expects 1 argument(s)"),
  ([cli.ArgJobId(min=1)], [], "Error: Command c expects at least 1 argument(s)"),
  ([cli.ArgChoice(min=1, max=1), cli.ArgSuggest(min=0, max=1)], ["a", "b", "c"],
   "Error: Command c expects only 2 argument(s)"),
  ([cli.ArgChoice(min=1, max=1), cli.ArgSuggest(min=0, max=1)], [],
   "Error: Command c expects at least 1 argument(s)"),
])
def test_argument_checks(capsys, argspec, args, message):
  assert not cli._CheckArguments("c", argspec, args)  # pylint: disable=protected-access
  assert capsys.readouterr().err == message + "\n"


def test_argument_checks_accept_valid_counts():
  assert cli._CheckArguments("c", [cli.ArgJobId()], [])  # pylint: disable=protected-access
  assert cli._CheckArguments("c", [cli.ArgJobId(min=1)], ["1", "2", "3"])  # pylint: disable=protected-access


# Errors


@pytest.mark.parametrize("err, expected", [
  (errors.OpPrereqError("msg only"),
   (1, "Failure: prerequisites not met for this operation:\nmsg only")),
  (errors.OpPrereqError("msg", errors.ECODE_INVAL),
   (1, "Failure: prerequisites not met for this operation:\nerror type: wrong_input,"
       " error details:\nmsg")),
  (errors.OpPrereqError(), (1, "Failure: prerequisites not met for this operation:")),
  (errors.OpPrereqError("a", "b", "c"),
   (1, "Failure: prerequisites not met for this operation:\n('a', 'b', 'c')")),
  (errors.OpExecError("exec failed"), (1, "Failure: command execution error:\nexec failed")),
  (errors.OpExecError("a", "b"), (1, "Failure: command execution error:\n('a', 'b')")),
  (errors.HooksAbort([("node1", "script", "output")]),
   (1, "Failure: hooks execution failed:\n  node: node1, script: script, output: output")),
  (errors.HooksFailure("hf"), (1, "Failure: hooks general failure: hf")),
  (errors.ResolverError("host", 2, "not found"), (1, "Failure: can't resolve hostname 'host'")),
  (errors.TagError("bad tag"), (1, "Failure: invalid tag(s) given:\nbad tag")),
  (errors.JobLost("lost it"), (1, "Error checking job status: lost it")),
  (errors.ConfigurationError("cfg"), (2, "Corrupt configuration file: cfg\nAborting.")),
  (errors.JobQueueDrainError("d"),
   (1, "Failure: the job queue is marked for drain and doesn't accept new requests")),
  (errors.JobQueueFull(), (1, "Failure: the job queue is full and doesn't accept new job"
                              " submissions until old jobs are archived")),
  (errors.TypeEnforcementError("type"), (1, "Parameter Error: type")),
  (errors.ParameterError("param"), (1, "Failure: unknown/wrong parameter name 'param'")),
  (errors.GenericError("generic"), (1, "Unhandled Ganeti error: generic")),
  (errors.JobSubmittedException(5), (0, "JobID: 5")),
  (luxi.NoMasterError(pathutils.MASTER_SOCKET),
   (1, "Cannot communicate with the master daemon.\nIs the process running and listening"
       " for connections?")),
  (luxi.NoMasterError(pathutils.QUERY_SOCKET),
   (1, "Cannot communicate with the config daemon.\nIs the process running and listening"
       " for connections?")),
  (luxi.NoMasterError("/sock"),
   (1, "Cannot communicate with socket '/sock'.\nIs the process running and listening for"
       " connections?")),
  (luxi.TimeoutError("to"),
   (1, "Timeout while talking to the master daemon. Jobs might have been submitted and will"
       " continue to run even if the call timed out. Useful commands in this situation are"
       " \"gnt-job list\", \"gnt-job cancel\" and \"gnt-job watch\". Error:\nto")),
  (luxi.PermissionError("/sock"),
   (1, "It seems you don't have permissions to connect to the master daemon.\nPlease retry"
       " as a different user.")),
  (luxi.RequestError("req"),
   (1, "Unhandled protocol error while talking to the master daemon:\nreq")),
  (ValueError("value"), (1, "Unhandled exception: value")),
])
def test_format_error(err, expected):
  assert cli.FormatError(err) == expected


# GenericMain


def _Noop(opts, args):
  return 7 if args else 0


_COMMANDS = {
  "alpha": (_Noop, [cli.ArgUnknown()], [cli.FORCE_OPT], "[<x>...]", "Does nothing"),
  "beta-long-name": (_Noop, [], [], "", "Does nothing either, but with a description long"
                                        " enough to be wrapped onto a second line here"),
}


def test_usage_listing(capsys):
  assert RunCommand(lambda: cli.GenericMain(_COMMANDS), "gnt-x", []) == 1
  out = capsys.readouterr().out
  assert out == (
    "Usage: gnt-x {command} [options...] [argument...]\n"
    "gnt-x <command> --help to see details, or man gnt-x\n\n"
    "Commands:\n"
    " alpha          - Does nothing\n"
    " beta-long-name - Does nothing either, but with a description long enough to be\n"
    "                  wrapped onto a second line here\n\n")
  assert RunCommand(lambda: cli.GenericMain(_COMMANDS), "gnt-x", ["--help"]) == 0
  assert RunCommand(lambda: cli.GenericMain(_COMMANDS), "gnt-x", ["bogus"]) == 1
  assert capsys.readouterr().out.startswith("Usage: gnt-x {command}")


def test_command_help_and_option_errors(capsys):
  assert RunCommand(lambda: cli.GenericMain(_COMMANDS), "gnt-x", ["alpha", "--help"]) == 0
  out = capsys.readouterr().out
  assert out.startswith("Usage\n=====\n  gnt-x alpha [<x>...]\n\nDoes nothing\n\nOptions\n"
                        "=======\n--force, -f ")
  assert "--debug, -d " in out and "--reason=REASON " in out
  assert RunCommand(lambda: cli.GenericMain(_COMMANDS), "gnt-x", ["alpha", "--bogus"]) == 2
  assert capsys.readouterr().err == ("Usage\n=====\n  gnt-x alpha [<x>...]\n\n"
                                     "gnt-x: error: no such option: --bogus\n")


def test_options_stop_at_the_first_argument(capsys):
  assert RunCommand(lambda: cli.GenericMain(_COMMANDS), "gnt-x", ["beta-long-name", "x"]) == 1
  assert capsys.readouterr().err == "Error: Command beta-long-name expects no arguments\n"
  # "-f" after an argument is an argument
  assert RunCommand(lambda: cli.GenericMain(_COMMANDS), "gnt-x", ["alpha", "a", "-f"]) == 7


def test_version(capsys):
  assert RunCommand(lambda: cli.GenericMain(_COMMANDS), "gnt-x", ["--version"]) == 0
  assert capsys.readouterr().out == "gnt-x (ganeti %s) %s\n" % (constants.PACKAGE_VERSION,
                                                               constants.RELEASE_VERSION)


def test_errors_become_messages_and_exit_codes(capsys):
  def failing(opts, args):
    raise errors.OpPrereqError("Node 'x' not known", errors.ECODE_NOENT)
  commands = {"fail": (failing, [], [], "", "Fails")}
  assert RunCommand(lambda: cli.GenericMain(commands), "gnt-x", ["fail"]) == 1
  assert capsys.readouterr().err == ("Failure: prerequisites not met for this operation:\n"
                                     "error type: unknown_entity, error details:\n"
                                     "Node 'x' not known\n")


# Jobs


def _Options(argv, options=()):
  """Parsed options as GenericMain prepares them for a command "cmd" of gnt-test."""
  opts = cli_parse.Parse(list(options) + cli.COMMON_OPTS, argv)[0]
  opts.reason = ([(constants.OPCODE_REASON_SRC_USER, opts.reason, 1)] if opts.reason else [])
  opts.reason_client = ("gnt:client:gnt-test", "cmd")
  return opts


def test_submit_opcode_sends_full_opcode_and_prints_the_log(fake_luxi, capsys):
  fake_luxi.job_outcomes.append({"log": [
    [1, [1795578199, 524550], constants.ELOG_MESSAGE, " - INFO: Test delay iteration 0/1"],
    [2, [1795578200, 1], "delay-test", ["/tmp/sock"]]]})
  opts = _Options(["--reason", "why", "-d"], [cli.DRY_RUN_OPT, cli.PRIORITY_OPT])
  op = cli.MakeOpCode(opcodes.OpTestDelay, duration=0.001)
  assert cli.SubmitOpCode(op, opts=opts) is None
  submitted = fake_luxi.Requests(luxi.REQ_SUBMIT_JOB)[0][0][0]
  reason = submitted.pop("reason")
  assert submitted == {"duration": 0.001, "on_master": True, "on_nodes": [],
                       "on_node_uuids": None, "repeat": 0, "interruptible": False,
                       "no_locks": True, "dry_run": False, "debug_level": 1, "priority": 0,
                       "depends": None, "comment": None, "OP_ID": "OP_TEST_DELAY"}
  assert [entry[:2] for entry in reason] == [["gnt:user", "why"], ["gnt:client:gnt-test", "cmd"]]
  waits = fake_luxi.Requests(luxi.REQ_WAIT_FOR_JOB_CHANGE)
  fields = ["status", "opstatus", "opresult"]
  assert waits[0] == [100, fields, None, None, 60]
  # the answer that shows the job's end brings its log and its results
  assert [wait[:2] + [wait[2][0], wait[3]] for wait in waits[1:]] == [[100, fields, "queued", None]]
  assert fake_luxi.Requests(luxi.REQ_QUERY_JOBS) == []
  assert capsys.readouterr().out == ("Wed Nov 25 03:43:19 2026  - INFO: Test delay iteration 0/1\n"
                                     "Wed Nov 25 03:43:20 2026 ['/tmp/sock']\n")


def test_poll_job_says_once_why_a_job_does_not_start(fake_luxi, capsys):
  answers = iter(["nochange", [["queued", ["queued"], [None]], []], "nochange", "nochange",
                  [["waiting", ["waiting"], [None]], []], "nochange",
                  [["queued", ["queued"], [None]], []], "nochange",
                  [["success", ["success"], [None]], []]])
  fake_luxi.handlers[luxi.REQ_WAIT_FOR_JOB_CHANGE] = lambda args: next(answers)
  assert cli.PollJob(5) == [None]
  assert capsys.readouterr().err == ("Job 5 is waiting in queue\n"
                                     "Job 5 is trying to acquire all necessary locks\n")


def test_submit_or_send_only_submits_with_submit(fake_luxi, capsys):
  opts = _Options(["--submit", "--print-jobid"], cli.SUBMIT_OPTS)
  with pytest.raises(errors.JobSubmittedException) as info:
    cli.SubmitOrSend(cli.MakeOpCode(opcodes.OpTestDelay, duration=1.0), opts)
  assert info.value.args == (100,)
  assert capsys.readouterr().out == "100\n"
  assert fake_luxi.Methods() == [luxi.REQ_SUBMIT_JOB]


def test_poll_job_raises_the_failure_of_the_job(fake_luxi):
  fake_luxi.job_outcomes.append({"status": constants.JOB_STATUS_ERROR, "op_results": [
    ["OpPrereqError", ["Duration must be greater than zero"]]]})
  with pytest.raises(errors.OpPrereqError) as info:
    cli.SubmitOpCode(cli.MakeOpCode(opcodes.OpTestDelay, duration=0.0))
  assert info.value.args == ("Duration must be greater than zero",)


def test_poll_job_reports_partial_failures_and_cancellation(fake_luxi):
  fake_luxi.job_outcomes.append({"status": constants.JOB_STATUS_ERROR,
                                 "op_results": [None, "bad"]})
  cl = cli.GetClient()
  job_id = cl.SubmitJob([{"OP_ID": "OP_TEST_DELAY"}] * 2)
  fake_luxi.jobs[job_id].op_statuses = [constants.OP_STATUS_SUCCESS, constants.OP_STATUS_ERROR]
  with pytest.raises(errors.OpExecError) as info:
    cli.PollJob(job_id, cl=cl)
  assert info.value.args == ("partial failure (opcode 1): bad",)
  fake_luxi.job_outcomes.append({"status": constants.JOB_STATUS_CANCELED})
  job_id = cl.SubmitJob([{"OP_ID": "OP_TEST_DELAY"}])
  with pytest.raises(cli.JobCanceled) as info:
    cli.PollJob(job_id, cl=cl)
  assert cli.FormatError(info.value) == (1, "Unhandled Ganeti error: Job was canceled")


def test_job_executor_waits_for_started_jobs_first(fake_luxi, capsys):
  cl = cli.GetClient()
  executor = cli.JobExecutor(cl=cl)
  fake_luxi.job_outcomes.extend([{}, {"status": constants.JOB_STATUS_ERROR,
                                      "op_results": [["OpExecError", ["broken"]]]}])
  executor.QueueJob("first", cli.MakeOpCode(opcodes.OpTestDelay, duration=1.0))
  executor.QueueJob(None, cli.MakeOpCode(opcodes.OpTestDelay, duration=1.0))
  results = executor.GetResults()
  assert results == [(True, [None]), (False, "Failure: command execution error:\nbroken")]
  captured = capsys.readouterr()
  assert captured.out == ("Submitted jobs 100, 101\nWaiting for job 100 for first ...\n"
                          "Waiting for job 101 ...\n")
  assert captured.err == "Job 101 has failed: Failure: command execution error:\nbroken\n"
  assert fake_luxi.Requests(luxi.REQ_QUERY_JOBS)[0] == [[100, 101], ["status"]]


# Reaching the master daemon


def test_get_client_explains_a_missing_master(monkeypatch, tmp_path):
  monkeypatch.setenv(cli.LUXI_OVERRIDE_ENV, str(tmp_path / "nosocket"))
  from ganeti import ssconf  # pylint: disable=import-outside-toplevel

  def no_cluster():
    raise errors.ConfigurationError("Can't read ssconf file")
  monkeypatch.setattr(ssconf, "GetMasterAndMyself", no_cluster)
  with pytest.raises(errors.OpPrereqError) as info:
    cli.GetClient()
  assert info.value.args == ("Cluster not initialized or this machine is not part of a cluster",
                             errors.ECODE_INVAL)
  monkeypatch.setattr(ssconf, "GetMasterAndMyself", lambda: ("node2", "node1"))
  with pytest.raises(errors.OpPrereqError) as info:
    cli.GetClient()
  assert info.value.args[0] == ("This is not the master node, please connect to node 'node2'"
                                " and rerun the command")
  monkeypatch.setattr(ssconf, "GetMasterAndMyself", lambda: ("node1", "node1"))
  monkeypatch.setattr(cli, "_CONNECT_RETRY_TIMEOUT", 0.2)
  monkeypatch.setattr(cli, "_CONNECT_RETRY_INTERVAL", 0.05)
  with pytest.raises(luxi.TimeoutError) as info:
    cli.GetClient()
  assert info.value.args == ("Connect timed out",)


def test_ask_user_without_terminal_gives_the_default(monkeypatch):
  def no_tty(*args, **kwargs):
    raise OSError("no terminal")
  monkeypatch.setattr("builtins.open", no_tty)
  assert cli.AskUser("Continue?") is False
  assert cli.AskUser("Which?", [("a", 1, "A"), ("b", 2, "B")]) == 2


# Start and end of a command


_TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_SBIN = os.path.join(_TOP, "build", "sbin")


def _ToolModules() -> list[str]:
  modules = []
  for launcher in sorted(glob.glob(os.path.join(_SBIN, "gnt-*"))):
    with open(launcher, encoding="utf-8") as handle:
      modules.append(re.search(r"^from (\S+) import Main$", handle.read(), re.M).group(1))
  return modules


# modules a gnt-* command leaves out until it needs them: typing (about 45 ms
# of every command's start on a slow node), and optparse, re, enum, json,
# socket, collections and what they bring (about 0.2 s there)
_LEFT_OUT = ("typing", "optparse", "re", "enum", "json", "socket", "collections",
             "copy", "textwrap", "shlex", "functools", "gettext", "locale", "selectors")


def test_tools_start_without_heavy_modules():
  """What a gnt-* command imports up to its job's submission."""
  modules = _ToolModules()
  assert len(modules) >= 10
  code = ("import sys; sys.path.insert(0, %r)\n"
          "import ganeti.opcodes, ganeti.luxi, %s\n"
          "print(sorted(m for m in sys.modules if m.split('.')[0] in %r))"
          % (os.path.join(_TOP, "build"), ", ".join(modules), _LEFT_OUT))
  proc = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                        check=True)
  assert proc.stdout.strip() == "[]"


def test_exit_flushes_output_and_keeps_the_code():
  """cli.Exit leaves without the interpreter's teardown, but what the
  command printed (buffered, to a pipe) still arrives, and the code is kept."""
  code = ("import sys; sys.path.insert(0, %r)\n"
          "from ganeti import cli\n"
          "print('x' * 100000); sys.stderr.write('last words')\n"
          "cli.Exit(3)" % os.path.join(_TOP, "build"))
  proc = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True)
  assert proc.returncode == 3
  assert proc.stdout == "x" * 100000 + "\n" and proc.stderr == "last words"
  # the generated launchers end that way, with the tool's own exit code
  proc = subprocess.run([os.path.join(_SBIN, "gnt-instance"), "no-such-command"],
                        capture_output=True, text=True)
  assert proc.returncode == cli.EXIT_FAILURE and "Usage: gnt-instance" in proc.stdout
