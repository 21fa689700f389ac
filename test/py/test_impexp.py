"""The transfer process (ganeti.impexp.daemon) and the export description, on this machine."""

import json
import os
import subprocess
import sys
import time

import pytest

import ganeti
from ganeti import errors
from ganeti import impexp
from ganeti.impexp import exportinfo
from ganeti.utils import x509

BUILD = os.path.dirname(os.path.dirname(os.path.abspath(ganeti.__file__)))


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
  """Two certificates: the 'cluster' one and a stranger's."""
  directory = tmp_path_factory.mktemp("certs")
  paths = {}
  for name in ("cluster", "stranger"):
    path = directory / (name + ".pem")
    path.write_text(x509.GenerateSelfSignedPem("ganeti.example.com", validity_days=1))
    paths[name] = str(path)
  return paths


def _Start(directory, request):
  os.makedirs(directory, exist_ok=True)
  with open(os.path.join(directory, impexp.REQUEST_FILE), "w") as handle:
    json.dump(request, handle)
  env = dict(os.environ, PYTHONPATH=BUILD)
  return subprocess.Popen([sys.executable, "-m", "ganeti.impexp.daemon", str(directory)],
                          env=env)


def _Status(directory):
  try:
    with open(os.path.join(directory, impexp.STATUS_FILE)) as handle:
      return json.load(handle)
  except (FileNotFoundError, json.JSONDecodeError):
    return {}


def _WaitPort(directory):
  deadline = time.time() + 10
  while time.time() < deadline:
    status = _Status(directory)
    if status.get("listen_port") or status.get("exit_status") is not None:
      return status.get("listen_port")
    time.sleep(0.05)
  raise AssertionError("import never listened")


def _Tls(cert, ca=None):
  return {"cert": cert, "key": cert, "ca": ca or cert}


def _Transfer(tmp_path, certs, src_io, dest_io, compress="none", export_cert=None,
              magic=("magic-one", "magic-one"), size=None):
  imp_dir, exp_dir = tmp_path / "imp", tmp_path / "exp"
  common = {"compress": compress, "connect_timeout": 10}
  imp = _Start(imp_dir, dict(common, mode="import", bind="127.0.0.1", magic=magic[0],
                             io=dest_io, **_Tls(certs["cluster"])))
  port = _WaitPort(imp_dir)
  exp = _Start(exp_dir, dict(common, mode="export", host="127.0.0.1", port=port,
                             magic=magic[1], io=src_io, size=size,
                             **_Tls(export_cert or certs["cluster"], certs["cluster"])))
  exp.wait(timeout=20)
  imp.wait(timeout=20)
  return _Status(imp_dir), _Status(exp_dir)


@pytest.mark.parametrize("compress", ["none", "gzip", "gzip-fast"])
def test_file_to_file(tmp_path, certs, compress):
  data = os.urandom(700 * 1024) + b"\0" * (2 * 1024 * 1024)
  source = tmp_path / "source"
  source.write_bytes(data)
  target = tmp_path / "out" / "dump"
  imp, exp = _Transfer(tmp_path, certs, {"kind": "path", "path": str(source)},
                       {"kind": "path", "path": str(target), "create": True}, compress,
                       size=len(data))
  assert (imp["exit_status"], exp["exit_status"]) == (0, 0), (imp, exp)
  assert imp["connected"] and exp["connected"]
  assert target.read_bytes() == data
  assert exp["progress_percent"] == 100 and exp["progress_mbytes"] == 2


def test_commands_at_both_ends(tmp_path, certs):
  """An export script's stdout arrives on an import script's stdin; the
  export reports its size through EXP_SIZE_FD."""
  target = tmp_path / "written"
  export_cmd = {"kind": "command", "size_fd": True, "cwd": str(tmp_path),
                "argv": ["/bin/sh", "-c", 'echo 12 >&"$EXP_SIZE_FD"; printf hello-world;'
                         ' echo progress note >&2']}
  import_cmd = {"kind": "command", "cwd": str(tmp_path),
                "argv": ["/bin/sh", "-c", "cat > %s; echo imported >&2" % target]}
  imp, exp = _Transfer(tmp_path, certs, export_cmd, import_cmd, "gzip")
  assert (imp["exit_status"], exp["exit_status"]) == (0, 0), (imp, exp)
  assert target.read_text() == "hello-world"
  assert imp["recent_output"] == ["imported"]
  assert exp["recent_output"] == ["progress note"]


def test_failing_import_script_fails_the_import(tmp_path, certs):
  source = tmp_path / "source"
  source.write_bytes(b"x" * 1000)
  imp, _ = _Transfer(tmp_path, certs, {"kind": "path", "path": str(source)},
                     {"kind": "command", "argv": ["/bin/sh", "-c", "cat >/dev/null; exit 3"]})
  assert imp["exit_status"] == 1
  assert "exited with status 3" in imp["error_message"]


def test_unexpected_failure_is_reported_not_lost(tmp_path, certs):
  """A request the daemon cannot run (here an environment value that is not
  text) ends the transfer with the reason in its status."""
  bad = {"kind": "command", "argv": ["/bin/true"], "env": {"DISK_0_UUID": None}}
  _, exp = _Transfer(tmp_path, certs, bad, {"kind": "path", "path": str(tmp_path / "t"),
                                            "create": True})
  assert exp["exit_status"] == 1
  assert exp["error_message"].startswith("Unexpected TypeError"), exp


def test_refusals(tmp_path, certs):
  source = tmp_path / "source"
  source.write_bytes(b"secret")
  target = tmp_path / "target"
  # a peer without the cluster's certificate never gets through
  imp, exp = _Transfer(tmp_path / "a", certs, {"kind": "path", "path": str(source)},
                       {"kind": "path", "path": str(target), "create": True},
                       export_cert=certs["stranger"])
  assert exp["exit_status"] == 1
  assert imp["exit_status"] == 1 and "TLS handshake" in imp["error_message"]
  assert not target.exists()
  # the import takes data only from the export with its magic
  imp, exp = _Transfer(tmp_path / "b", certs, {"kind": "path", "path": str(source)},
                       {"kind": "path", "path": str(target), "create": True},
                       magic=("magic-one", "magic-two"))
  assert imp["exit_status"] == 1 and "Magic" in imp["error_message"]
  assert not target.exists()


def test_abort_while_listening(tmp_path, certs):
  directory = tmp_path / "imp"
  proc = _Start(directory, {"mode": "import", "bind": "127.0.0.1", "magic": "magic-one",
                            "compress": "none", "connect_timeout": 30,
                            "io": {"kind": "path", "path": str(tmp_path / "t"), "create": True},
                            **_Tls(certs["cluster"])})
  _WaitPort(directory)
  proc.terminate()
  proc.wait(timeout=10)
  status = _Status(directory)
  assert status["exit_status"] == 1 and "Aborted" in status["error_message"]


# --- config.ini ---------------------------------------------------------------

REAL_CONFIG = os.path.join(os.path.dirname(__file__), "data", "backup", "obs1", "config.ini")


def test_real_export_config_parses():
  with open(REAL_CONFIG) as handle:
    info = exportinfo.ExportInfo(handle.read())
  assert info.os == "lab+default" and info.version == 0 and info.compression == "none"
  assert info.Disks() == [{"index": 0, "dump": "652c1a78-7b73-4b74-b043-76fcab3b8fa9",
                           "size": 1024, "name": None, "ivname": "disk/0"}]
  assert info.Nics() == [{"mac": "aa:00:00:71:36:fe", "link": "gnt-br0", "mode": "bridged"}]
  assert info.Section("backend")["maxmem"] == "128"


def test_written_config_matches_real_layout():
  """The same instance written by us reads line by line like real Ganeti's file
  (but for the timestamp)."""
  instance = {
    "name": "obs1", "primary_node": "2c9a8b9a-bf46-427d-a90b-abd63154ca17",
    "os": "lab+default", "disk_template": "file", "hypervisor": "fake", "tags": [],
    "beparams": {"always_failover": False, "auto_balance": True, "maxmem": 128,
                 "minmem": 128, "spindle_use": 1, "vcpus": 1},
    "hvparams": {}, "osparams": {}, "osparams_private": {},
    "nics": [{"mac": "aa:00:00:71:36:fe", "ip": None, "network": None, "name": None,
              "nicparams": {"link": "gnt-br0", "mode": "bridged", "vlan": ""}}],
  }
  disk = {"iv_name": "disk/0", "uuid": "652c1a78-7b73-4b74-b043-76fcab3b8fa9", "size": 1024}
  text = exportinfo.BuildConfig(instance, [disk], timestamp=1795589846)
  with open(REAL_CONFIG) as handle:
    assert text == handle.read()


def test_config_without_sections_is_refused():
  with pytest.raises(errors.OpPrereqError, match="required fields"):
    exportinfo.ExportInfo("")
