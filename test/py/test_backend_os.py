"""Tests for ganeti.backend.os and the shipped "minimal" OS, called as a
virtual node (vcluster-setup installed the minimal OS in its search path)."""

import glob
import json
import os
import stat
import subprocess
import sys
import tarfile

import pytest

from ganeti import vcluster
from test_backend_common import _RUNNER, FreshNode

INSTANCE = "inst1.example.com"
DISK_DIR = "/srv/ganeti/file-storage/" + INSTANCE
DISK_SIZE_MIB = 8


@pytest.fixture(scope="module")
def node():
  with FreshNode() as fresh:
    yield fresh


def _Write(path, text, mode=0o644):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w") as handle:
    handle.write(text)
  os.chmod(path, mode)


def _MakeOs(root, name, api="20\n", scripts=("create", "export", "import", "rename", "verify"),
            variants="default\nalt\n", parameters="size the size\n", script_text="#!/bin/sh\n"):
  os_dir = os.path.join(root, name)
  os.makedirs(os_dir)
  if api is not None:
    _Write(os.path.join(os_dir, "ganeti_api_version"), api)
  for script in scripts:
    _Write(os.path.join(os_dir, script), script_text, 0o755)
  if variants is not None:
    _Write(os.path.join(os_dir, "variants.list"), variants)
  if parameters is not None:
    _Write(os.path.join(os_dir, "parameters.list"), parameters)
  return os_dir


def _Disk(node, index, name=None, size=DISK_SIZE_MIB, mode="rw"):
  """A file disk of the instance: a sparse file in the node's file storage."""
  path = "%s/disk%d" % (DISK_DIR, index)
  local = node.path(path)
  os.makedirs(os.path.dirname(local), exist_ok=True)
  with open(local, "wb") as handle:
    handle.truncate(size * 1024 * 1024)
  return {"dev_type": "file", "logical_id": ["loop", path], "size": size, "mode": mode,
          "uuid": "disk-uuid-%d" % index, "name": name, "iv_name": "disk/%d" % index,
          "params": {}, "children": [], "nodes": ["node-uuid-1"]}


def _Instance(node, os_name="minimal+default", name=INSTANCE, disks=None, osparams=None,
              private=None):
  return {
    "name": name, "uuid": "inst-uuid", "os": os_name, "hypervisor": "fake",
    "primary_node": "node-uuid-1", "ctime": 1700000000.5, "mtime": 1700000001.25,
    "hvparams": {"migration_mode": "live"},
    "beparams": {"maxmem": 128, "minmem": 128, "vcpus": 1, "auto_balance": True},
    "osparams": osparams or {}, "osparams_private": private or {},
    "nics": [{"mac": "aa:00:00:11:22:33", "ip": "192.0.2.10", "uuid": "nic-uuid-0",
              "nicparams": {"mode": "bridged", "link": "br0", "vlan": ""}}],
    "disks": [disk["uuid"] for disk in disks or []],
    "disks_info": disks if disks is not None else [_Disk(node, 0, name="root")],
    "admin_state": "down", "disks_active": True,
  }


def _DebugFs(path, request):
  proc = subprocess.run(["debugfs", "-R", request, path], capture_output=True, text=True,
                        check=False)
  return proc.stdout


def test_os_diagnose(node):
  root = node.path("/usr/share/ganeti/os")
  good = _MakeOs(root, "debootstrap")
  untrusted = _MakeOs(root, "untrusted", scripts=("create_untrusted", "export", "import",
                                                  "rename", "verify"))
  _MakeOs(root, "noapi", api=None)
  _MakeOs(root, "oldapi", api="5\n")
  _MakeOs(root, "noexport", scripts=("create", "import", "rename", "verify"))
  _MakeOs(root, "noverify", scripts=("create", "export", "import", "rename"))
  _MakeOs(root, "noparams", parameters=None)
  novariants = _MakeOs(root, "novariants", variants="# none\n\n")
  api10 = _MakeOs(root, "api10", api="10\n", scripts=("create", "export", "import", "rename"),
                  variants=None, parameters=None)
  result = {entry[0]: entry for entry in node.ok("os_diagnose")}
  assert result["debootstrap"] == ["debootstrap", good, True, "", ["default", "alt"],
                                   [["size", "the size"]], [20], True]
  assert result["untrusted"][2] is True and result["untrusted"][7] is False
  assert result["untrusted"][1] == untrusted
  assert result["novariants"][1:5] == [novariants, True, "", []]
  assert result["api10"] == ["api10", api10, True, "", [], [], [10], True]
  for broken in ("noapi", "oldapi", "noexport", "noverify", "noparams"):
    name, _, status, diagnose, variants, params, versions, trusted = result[broken]
    assert status is False and diagnose, name
    assert variants == params == versions == [] and trusted is True
  assert result["noapi"][3] == ("Required file 'ganeti_api_version' not found under path"
                                " %s/noapi: ENOENT" % root)
  assert "API version mismatch" in result["oldapi"][3]
  assert result["noexport"][3] == ("File 'export' under path '%s/noexport' is missing"
                                   " (ENOENT)" % root)
  assert "'verify'" in result["noverify"][3]
  minimal = result["minimal"]
  assert minimal[1] == node.path("/srv/ganeti/os/minimal")
  assert minimal[2:] == [True, "", ["default", "blank"],
                         [["label", minimal[5][0][1]], ["motd", minimal[5][1][1]]], [20], True]


def test_create_writes_a_filesystem_and_rename_renames(node):
  instance = _Instance(node, osparams={"motd": "welcome aboard"}, private={"label": "sys"})
  disk = node.path(instance["disks_info"][0]["logical_id"][1])
  assert node.ok("instance_os_add", instance, False, 0) is None
  assert _DebugFs(disk, "cat /etc/hostname") == INSTANCE + "\n"
  assert _DebugFs(disk, "cat /etc/motd") == "welcome aboard\n"
  assert "192.0.2.10 %s" % INSTANCE in _DebugFs(disk, "cat /etc/hosts")
  label = subprocess.run(["dumpe2fs", "-h", disk], capture_output=True, text=True).stdout
  assert "Filesystem volume name:   sys" in label
  (log,) = glob.glob(node.path("/var/log/ganeti/os/add-minimal+default-%s-*.log" % INSTANCE))
  assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
  assert "installing %s" % INSTANCE in open(log).read()

  instance["name"] = "renamed.example.com"
  assert node.ok("instance_run_rename", instance, INSTANCE, 0) is None
  assert _DebugFs(disk, "cat /etc/hostname") == "renamed.example.com\n"
  assert glob.glob(node.path("/var/log/ganeti/os/rename-minimal+default-%s-%s-*.log" %
                             (INSTANCE, "renamed.example.com")))


def test_blank_variant_and_diskless(node):
  instance = _Instance(node, os_name="minimal+blank", name="blank.example.com")
  disk = node.path(instance["disks_info"][0]["logical_id"][1])
  assert node.ok("instance_os_add", instance, False, 0) is None
  with open(disk, "rb") as handle:
    assert handle.read(1024 * 1024).count(0) == 1024 * 1024
  assert node.ok("instance_os_add", _Instance(node, name="diskless.example.com", disks=[]),
                 False, 0) is None
  success, message = node.call("instance_os_add",
                               _Instance(node, os_name="minimal+nosuch", name="x.example.com"),
                               False, 0)
  assert success is False
  assert message.startswith("OS create script failed (exited with exit code 1), last lines"
                            " in the log file:\n")
  assert "unknown variant 'nosuch'" in message
  missing = _Instance(node, name="missing.example.com")
  os.unlink(node.path(missing["disks_info"][0]["logical_id"][1]))
  success, message = node.call("instance_os_add", missing, False, 0)
  assert success is False and message.startswith("Block device '<Disk(type=file, ")
  assert message.endswith("' is not set up")


def test_environment(node):
  root = node.path("/usr/local/lib/ganeti/os")
  out = node.path("/srv/ganeti/env.out")
  script = "#!/bin/sh\nenv > %s\necho \"cwd=$(pwd)\" >> %s\n" % (out, out)
  os_dir = _MakeOs(root, "envdump", parameters="size the size\nflavour a flavour\n",
                   script_text=script)
  instance = _Instance(node, os_name="envdump", osparams={"size": "5"},
                       private={"flavour": "sour"})
  instance["disks_info"] = [_Disk(node, 0, name="root"), _Disk(node, 1, mode="ro")]
  assert node.ok("instance_os_add", instance, True, 1) is None
  env = dict(line.split("=", 1) for line in open(out).read().splitlines())
  disk0 = node.path(DISK_DIR + "/disk0")
  expected = {
    "OS_API_VERSION": "20", "OS_NAME": "envdump", "OS_VARIANT": "default",
    "INSTANCE_NAME": INSTANCE, "INSTANCE_OS": "envdump", "INSTANCE_UUID": "inst-uuid",
    "INSTANCE_PRIMARY_NODE": "node-uuid-1", "INSTANCE_SECONDARY_NODES": "",
    "INSTANCE_CTIME": "1700000000.5", "INSTANCE_MTIME": "1700000001.25",
    "INSTANCE_REINSTALL": "1", "HYPERVISOR": "fake", "DEBUG_LEVEL": "1",
    "DISK_COUNT": "2", "DISK_0_PATH": disk0, "DISK_0_ACCESS": "rw", "DISK_0_NAME": "root",
    "DISK_0_UUID": "disk-uuid-0", "DISK_0_SIZE": str(DISK_SIZE_MIB),
    "DISK_0_BACKEND_TYPE": "file:loop", "DISK_1_ACCESS": "ro",
    "DISK_1_PATH": node.path(DISK_DIR + "/disk1"),
    "NIC_COUNT": "1", "NIC_0_MAC": "aa:00:00:11:22:33", "NIC_0_IP": "192.0.2.10",
    "NIC_0_MODE": "bridged", "NIC_0_LINK": "br0", "NIC_0_BRIDGE": "br0",
    "NIC_0_UUID": "nic-uuid-0", "OSP_SIZE": "5", "OSP_FLAVOUR": "sour",
    "INSTANCE_HV_migration_mode": "live", "INSTANCE_BE_maxmem": "128",
    "INSTANCE_BE_auto_balance": "True", "PATH": "/sbin:/bin:/usr/sbin:/usr/bin",
    "cwd": os_dir,
  }
  for key, value in expected.items():
    assert env.get(key) == value, key
  assert "DISK_1_NAME" not in env and "NIC_0_VLAN" not in env
  assert not [key for key in env if key.startswith("GANETI_")]


def test_validate(node):
  def validate(name, params, required=True, force_variant=False):
    return node.call("os_validate", required, name, ["parameters"], params, force_variant)

  assert validate("minimal+default", {"label": "data", "motd": "hi"}) == [True, True]
  assert validate("nosuch", {}) == [False, "Directory for OS nosuch not found in search path"]
  assert validate("nosuch+v", {}, required=False) == [True, False]
  assert validate("minimal", {}) == [False, "OS name 'minimal' must include a variant"]
  assert validate("minimal", {}, force_variant=True) == [True, True]
  assert validate("minimal+zzz", {}) == [False,
                                         "OS 'minimal' does not support variant 'zzz'"]
  assert validate("minimal+default", {"x": "1", "label": "a"}) == [
    False, "The following parameters are not supported by the OS minimal: x"]
  success, message = validate("minimal+blank", {"label": "a-label-far-too-long"})
  assert success is False
  assert message.startswith("OS validation script failed (exited with exit code 1), output: ")
  assert "a-label-far-too-long" in message


def test_export_package_and_disk_scripts(node):
  instance = _Instance(node, name="exp.example.com")
  instance["disks_info"] = [_Disk(node, 0), _Disk(node, 1)]
  assert node.ok("instance_os_add", instance, False, 0) is None
  package = node.ok("os_export", instance, {"EXTRA": "yes"})
  assert package.startswith(vcluster.VIRTUAL_PATH_PREFIX + "/var/run/ganeti/")
  with tarfile.open(node.path(package[len(vcluster.VIRTUAL_PATH_PREFIX):])) as tar:
    names = tar.getnames()
    environment = tar.extractfile("environment").read().decode()
  assert "os/create" in names and "os/parameters.list" in names
  assert "INSTANCE_NAME=exp.example.com\n" in environment and "EXTRA=yes\n" in environment

  # the export script's image of disk 0, imported into disk 1, makes them equal
  code = r"""
import os, subprocess
from ganeti.backend import os as osb
instance = json.loads(sys.stdin.read())
export = osb.DiskScriptCommand("export", instance, 0)
image = subprocess.run(export.argv, env=export.env, cwd=export.cwd, capture_output=True,
                       check=True).stdout
target = osb.DiskScriptCommand("import", instance, 1)
subprocess.run(target.argv, env=target.env, cwd=target.cwd, input=image, check=True)
print(json.dumps([export.env["EXPORT_INDEX"], target.env["IMPORT_DEVICE"],
                  os.path.basename(export.logfile)]))
"""
  proc = subprocess.run([sys.executable, "-c", _RUNNER, code + "\nsys.exit(0)"],
                        input=json.dumps(instance), env=node.cluster.env(1),
                        capture_output=True, text=True, check=False)
  assert proc.returncode == 0, proc.stderr
  index, device, logname = json.loads(proc.stdout)
  assert index == "0" and device == node.path(DISK_DIR + "/disk1")
  assert logname.startswith("export-minimal+default-exp.example.com-0-")
  with open(node.path(DISK_DIR + "/disk0"), "rb") as first, \
      open(node.path(DISK_DIR + "/disk1"), "rb") as second:
    assert first.read() == second.read()
  assert _DebugFs(node.path(DISK_DIR + "/disk1"), "cat /etc/hostname") == "exp.example.com\n"
