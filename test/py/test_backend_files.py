"""Tests for ganeti.backend.files: uploads, ssconf, the job queue copy and
file storage directories, called as a node of a virtual cluster."""

import hashlib
import os
import stat

import pytest

from ganeti import vcluster
from ganeti.rpc import encoding
from test_backend_common import FreshNode


@pytest.fixture
def node():
  with FreshNode() as fresh:
    yield fresh


V = vcluster.VIRTUAL_PATH_PREFIX


def _Upload(node, path, data, mode=0o640, times=(1000000000, 1200000000)):
  return node.call("upload_file", path, encoding.Compress(data), mode, "root", "root",
                   *times)


def test_upload_allowed_file(node):
  big = "x" * 5000  # travels compressed
  assert _Upload(node, V + "/var/lib/ganeti/known_hosts", big) == [True, None]
  target = node.path("/var/lib/ganeti/known_hosts")
  info = os.stat(target)  # before reading it changes the access time
  assert stat.S_IMODE(info.st_mode) == 0o640
  assert (info.st_atime, info.st_mtime) == (1000000000, 1200000000)
  assert open(target).read() == big
  # a plain path names the same file of this node
  assert _Upload(node, "/var/lib/ganeti/rapi/users", "admin pw write\n")[0] is True
  assert open(node.path("/var/lib/ganeti/rapi/users")).read() == "admin pw write\n"


def test_upload_same_args_for_single_and_unknown_owner(node):
  result = node.call("upload_file_single", V + "/var/lib/ganeti/hmac.key",
                     encoding.Compress("secret\n"), 0o400, "no-such-user", "no-such-group",
                     None, None)
  assert result == [True, None]
  assert open(node.path("/var/lib/ganeti/hmac.key")).read() == "secret\n"


def test_upload_refuses_other_files(node):
  for path in (V + "/etc/passwd", V + "/var/lib/ganeti/queue/job-1",
               V + "/var/lib/ganeti/../../../etc/shadow",
               V + "/var/lib/ganeti/rapi/../../../../etc/ganeti/hooks/x",
               "relative/config.data"):
    success, message = _Upload(node, path, "evil")
    assert success is False, path
    assert "UploadFile" in message
  assert not os.path.exists(node.path("/etc/passwd"))


def test_write_ssconf_files(node):
  values = {"cluster_name": "cluster", "master_node": "node1", "node_list": "node1\nnode2"}
  assert node.call("write_ssconf_files", values) == [True, None]
  assert open(node.path("/var/lib/ganeti/ssconf_node_list")).read() == "node1\nnode2\n"
  assert node.ok("master_node_name") == "node1"
  success, message = node.call("write_ssconf_files", {"../../etc/passwd": "x"})
  assert success is False and "Invalid ssconf keys" in message


def test_jobqueue_update_rename_purge(node):
  queue = node.path("/var/lib/ganeti/queue")
  job = '{"id": 7, "ops": []}'
  results = node.calls(
    ("jobqueue_update", V + "/var/lib/ganeti/queue/job-7", encoding.Compress(job)),
    ("jobqueue_update", V + "/var/lib/ganeti/queue/serial", encoding.Compress("7\n")),
    ("jobqueue_rename", [[V + "/var/lib/ganeti/queue/job-7",
                          V + "/var/lib/ganeti/queue/archive/0/job-7"]]))
  assert results == [[True, None]] * 3
  assert open(os.path.join(queue, "archive/0/job-7")).read() == job
  assert not os.path.exists(os.path.join(queue, "job-7"))
  assert stat.S_IMODE(os.stat(os.path.join(queue, "serial")).st_mode) == 0o640
  open(os.path.join(queue, "lock"), "w").close()
  assert node.call("jobqueue_purge") == [True, None]
  assert sorted(os.listdir(queue)) == ["archive", "lock"]
  assert os.listdir(os.path.join(queue, "archive", "0")) == ["job-7"]


def test_jobqueue_refuses_paths_outside_the_queue(node):
  for path in (V + "/var/lib/ganeti/config.data", V + "/var/lib/ganeti/queue/../x",
               V + "/var/lib/ganeti/queue", "/etc/passwd"):
    success, message = node.call("jobqueue_update", path, encoding.Compress("x"))
    assert success is False and "does not belong to" in message, path
  success, _ = node.call("jobqueue_rename", [[V + "/var/lib/ganeti/queue/job-1",
                                              V + "/var/lib/ganeti/job-1"]])
  assert success is False
  assert not os.path.exists(node.path("/var/lib/ganeti/config.data"))


def test_drain_flag(node):
  drain = node.path("/var/lib/ganeti/queue/drain")
  assert node.call("jobqueue_set_drain_flag", True) == [True, None]
  assert os.path.exists(drain)
  assert node.call("jobqueue_set_drain_flag", False) == [True, None]
  assert not os.path.exists(drain)


def test_get_file_info(node):
  path = node.path("/var/lib/ganeti/known_hosts")
  open(path, "w").write("hello")
  info = node.ok("get_file_info", V + "/var/lib/ganeti/known_hosts")
  assert info["size"] == 5 and info["checksum"] == hashlib.sha1(b"hello").hexdigest()
  assert info["mtime"] == os.stat(path).st_mtime
  assert node.ok("get_file_info", V + "/var/lib/ganeti/absent") is None


def test_file_storage_dirs(node):
  base = "/srv/ganeti/file-storage"
  results = node.calls(("file_storage_dir_create", base + "/inst1"),
                       ("file_storage_dir_rename", base + "/inst1", base + "/inst2"))
  assert results == [[True, None], [True, None]]
  assert os.path.isdir(node.path(base + "/inst2"))
  assert not os.path.exists(node.path(base + "/inst1"))
  assert node.call("file_storage_dir_remove", base + "/inst2") == [True, None]
  assert not os.path.exists(node.path(base + "/inst2"))
  for path in ("/tmp/elsewhere", base + "/../../../etc/ganeti", "relative"):
    success, message = node.call("file_storage_dir_create", path)
    assert success is False and "file storage" in message.lower(), path
  # an administrator's additional path is accepted once listed
  open(node.path("/etc/ganeti/file-storage-paths"), "w").write("/data/vms\n")
  assert node.call("file_storage_dir_create", "/data/vms/inst3") == [True, None]
  assert os.path.isdir(node.path("/data/vms/inst3"))
