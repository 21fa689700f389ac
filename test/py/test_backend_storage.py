"""Tests for ganeti.backend.storage, called as a virtual node.

LVM is asked through its tools; tests that need a volume group only check
the failure path, and a stub lvm tool checks the parsing.
"""

import os

import pytest

from ganeti.storage import lvm_report
from test_backend_common import FreshNode


@pytest.fixture
def node():
  with FreshNode() as fresh:
    yield fresh


FILE_DIR = "/srv/ganeti/file-storage"

# fake LVM tools: fixed reports for the columns storage.lvm_report asks for
_FAKE_TOOLS = {
  "vgs": {",".join(lvm_report.VG_COLUMNS): "  xenvg|20476.00|10236.00|4.00|2\n"},
  "pvs": {",".join(lvm_report.PV_COLUMNS):
          "  /dev/sda3|xenvg|20476.00|10236.00|a--|\n"
          "  /dev/sdb1|xenvg|100.00|100.00|---|\n"},
  "lvs": {",".join(lvm_report.LV_COLUMNS):
          "  xenvg|disk0|1024.00|-wi-ao----|1|/dev/sda3(0)|253|0|\n"
          "  xenvg|snap|512.00|vwi-a-----|0||253|2|\n"
          "  xenvg|disk1|2048.00|-wi-------|1|/dev/sda3(256)|-1|-1|\n"
          "  xenvg|disk1|2048.00|-wi-------|1|/dev/sdb1(0)|-1|-1|\n"},
}


def _FakeLvm(node):
  """A directory with stub vgs/pvs/lvs; a prelude that puts it on the PATH."""
  bindir = node.path("/fakebin")
  os.makedirs(bindir)
  for tool, reports in _FAKE_TOOLS.items():
    cases = "".join("  *'-o %s'|*'-o %s '*) printf '%s' ;;\n"
                    % (columns, columns, output.replace("\n", "\\n"))
                    for columns, output in reports.items())
    path = os.path.join(bindir, tool)
    with open(path, "w") as handle:
      handle.write("#!/bin/sh\ncase \"$*\" in\n%s  *) echo \"bad options: $*\" >&2; "
                   "exit 5 ;;\nesac\n" % cases)
    os.chmod(path, 0o755)
  return ("from ganeti.storage import runner\n"
          "runner.SetRunner(runner.ToolRunner(env={'PATH': %r}))" % bindir)


def test_file_storage_listing(node):
  directory = node.path(FILE_DIR + "/inst1")
  os.makedirs(directory)
  with open(os.path.join(directory, "disk0"), "wb") as handle:
    handle.write(b"\0" * (3 * 1024 * 1024))
  fields = ["name", "size", "used", "free", "allocatable"]
  ((name, size, used, free, allocatable),) = node.ok("storage_list", "file", [FILE_DIR],
                                                     None, fields)
  assert name == FILE_DIR and allocatable is True
  assert used == 3 and 0 <= free <= size
  assert node.ok("storage_list", "file", [FILE_DIR], "/other", fields) == []
  results = node.calls(("storage_list", "file", [FILE_DIR], None, ["bogus"]),
                       ("storage_list", "file", ["/etc"], None, ["name"]),
                       ("storage_list", "diskless", [], None, ["name"]))
  assert all(success is False for success, _ in results)
  assert "bogus" in results[0][1]


def test_lvm_without_volume_groups_fails_with_the_tool_error(node):
  results = node.calls(("lv_list", "no-such-vg"),
                       ("storage_list", "lvm-vg", [], "no-such-vg", ["name"]))
  for success, message in results:
    assert success is False
    assert "no-such-vg" in message


def test_lvm_reports_are_parsed(node):
  prelude = _FakeLvm(node)
  results = node.calls(("vg_list",), ("lv_list", "xenvg"), ("node_volumes",),
                       ("storage_list", "lvm-vg", [], None, ["name", "size", "used", "free"]),
                       ("storage_list", "lvm-pv", [], None, ["name", "free", "allocatable"]),
                       ("node_info", [["lvm-vg", "xenvg", [False]],
                                      ["lvm-pv", "xenvg", [True]],
                                      ["lvm-vg", "xenvg", [True]]], []),
                       prelude=prelude)
  assert [success for success, _ in results] == [True] * 6
  vgs, lvs, volumes, vg_rows, pv_rows, info = [payload for _, payload in results]
  assert vgs == {"xenvg": 20476}
  assert lvs == {"xenvg/disk0": [1024.0, False, True], "xenvg/disk1": [2048.0, True, False]}
  assert volumes == [
    {"name": "disk0", "size": 1024.0, "vg": "xenvg", "dev": "/dev/sda3"},
    {"name": "disk1", "size": 2048.0, "vg": "xenvg", "dev": "/dev/sda3"},
    {"name": "disk1", "size": 2048.0, "vg": "xenvg", "dev": "/dev/sdb1"}]
  assert vg_rows == [["xenvg", 20476.0, 10240.0, 10236.0]]
  assert pv_rows == [["/dev/sda3", 10236.0, True], ["/dev/sdb1", 100.0, False]]
  assert info[1] == [{"type": "lvm-vg", "name": "xenvg", "storage_free": 10236,
                      "storage_size": 20476},
                     {"type": "lvm-pv", "name": "xenvg", "storage_free": 10236,
                      "storage_size": 20576},
                     # exclusive storage: the best single PV's free space
                     {"type": "lvm-vg", "name": "xenvg", "storage_free": 10236,
                      "storage_size": 20576}]


def test_modify_and_execute_are_limited(node):
  results = node.calls(("storage_modify", "file", [FILE_DIR], FILE_DIR, {"allocatable": False}),
                       ("storage_modify", "lvm-pv", [], "/dev/x", {"size": 1}),
                       ("storage_execute", "file", [FILE_DIR], FILE_DIR, "fix-consistency"),
                       ("storage_execute", "lvm-vg", [], "no-such-vg", "frobnicate"))
  assert all(success is False for success, _ in results)
  assert "not supported" in results[0][1] and "not supported" in results[3][1]


def test_block_devices_and_drbd(node):
  results = node.calls(("bdev_sizes", ["/dev/null", "/nonexistent", "/etc/passwd"]),
                       ("drbd_helper",))
  assert results[0] == [True, {}]  # none of them is a block device
  if not os.path.exists("/sys/module/drbd"):
    assert results[1][0] is False and "DRBD" in results[1][1]
