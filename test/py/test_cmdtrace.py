"""The node daemon's command trace (ganeti-noded --command-trace)."""

import os

import pytest

from ganeti import daemon
from ganeti.hypervisor.hv_kvm import qmp
from ganeti.server import noded
from ganeti.utils import cmdtrace
from ganeti.utils import process


@pytest.fixture
def trace(tmp_path):
  path = str(tmp_path / "trace.jsonl")
  cmdtrace.Enable(path)
  yield path
  cmdtrace.Enable(None)


def _Items(path):
  with open(path) as handle:
    return cmdtrace.Load(handle.read())


def test_off_by_default_writes_nothing(tmp_path):
  assert not cmdtrace.Enabled()
  result = process.RunCommand(["true"], cwd=str(tmp_path))
  assert result.exit_code == 0
  assert os.listdir(tmp_path) == []


def test_commands_are_traced_in_order_with_outcome(trace):
  process.RunCommand(["true"])
  process.RunCommand(["sh", "-c", "exit 3"])
  process.RunCommand(["/nonexistent/program"])
  items = _Items(trace)
  assert [item["what"] for item in items] == [
    ["true"], ["sh", "-c", "exit 3"], ["/nonexistent/program"]]
  assert [item["ok"] for item in items] == [True, False, False]
  assert all(item["kind"] == "cmd" and item["seconds"] >= 0 for item in items)
  assert items[0]["start"] <= items[1]["start"] <= items[2]["start"]


def test_span_marks_exceptions_failed_and_reraises(trace):
  with pytest.raises(KeyError):
    with cmdtrace.Span("rpc", "blockdev_create"):
      raise KeyError("x")
  with cmdtrace.Span("rpc", "version") as traced:
    traced.ok = False
  assert [(item["what"], item["ok"]) for item in _Items(trace)] == [
    ("blockdev_create", False), ("version", False)]


def test_torn_last_line_is_skipped():
  text = '{"kind": "cmd", "what": ["a"], "start": 1, "seconds": 0, "ok": true}\n{"kind": "c'
  assert [item["what"] for item in cmdtrace.Load(text)] == [["a"]]


def test_qmp_arguments_keep_no_password():
  assert qmp._Traceable({"uri": "tcp:1.2.3.4:8102", "password": "s3cret"}) == {
    "uri": "tcp:1.2.3.4:8102", "password": "<hidden>"}
  assert qmp._Traceable(None) is None


def test_node_daemon_calls_are_traced(trace):
  def _fail(_):
    raise ValueError("broken")
  dispatcher = noded.Dispatcher({"echo": lambda value: value, "broken": _fail})
  assert dispatcher("echo", b'["hi"]') == (200, [True, "hi"])
  status, answer = dispatcher("broken", b'[1]')
  assert status == 200 and answer[0] is False
  assert [(item["kind"], item["what"], item["ok"]) for item in _Items(trace)] == [
    ("rpc", "echo", True), ("rpc", "broken", False)]


def test_option_takes_an_absolute_path(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  parser = daemon.BuildParser("ganeti-noded")
  noded._AddOptions(parser)
  assert parser.parse_args([]).command_trace is None
  assert parser.parse_args(["--command-trace", "t.jsonl"]).command_trace == str(
    tmp_path / "t.jsonl")


def test_os_verify_and_hook_scripts_are_traced(trace, tmp_path, monkeypatch):
  from ganeti.backend import hooks
  from ganeti.backend import os as os_backend
  os_dir = tmp_path / "os" / "traced"
  os_dir.mkdir(parents=True)
  (os_dir / "ganeti_api_version").write_text("20\n")
  (os_dir / "variants.list").write_text("default\n")
  (os_dir / "parameters.list").write_text("")
  for script in ("create", "export", "import", "rename", "verify"):
    (os_dir / script).write_text("#!/bin/sh\nexit 0\n")
    (os_dir / script).chmod(0o755)
  monkeypatch.setattr(os_backend.pathutils, "OS_SEARCH_PATH", [str(tmp_path / "os")])
  assert os_backend.ValidateOS(True, "traced+default", ["parameters"], {}, False) is True
  hook_dir = tmp_path / "hooks" / "instance-add-pre.d"
  hook_dir.mkdir(parents=True)
  (hook_dir / "10-check").write_text("#!/bin/sh\nexit 1\n")
  (hook_dir / "10-check").chmod(0o755)
  hooks.RunHooks("instance-add", "pre", {}, base_dir=str(tmp_path / "hooks"))
  assert [(item["kind"], item["what"], item["ok"]) for item in _Items(trace)] == [
    ("cmd", [str(os_dir / "verify"), "parameters"], True),
    ("cmd", [str(hook_dir / "10-check")], False)]
