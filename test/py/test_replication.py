"""The master's replication to the other nodes (lib/server/replication.py)."""

import os
import threading

from ganeti import pathutils
from ganeti.server import replication
from test_cluster_ops import NODE2, fixture_cfg  # noqa: F401  (fixture)


class _Result:
  fail_msg, offline = None, False


class _BlockingRpc:
  """upload_file waits for release; every call is recorded with the saved
  serial number the master's file had when it was sent."""

  def __init__(self, cfg):
    self.cfg = cfg
    self.release = threading.Event()
    self.sending = threading.Event()
    self.uploads = []
    self.upload_threads = []
    self.ssconf = []

  def call_upload_file(self, nodes, path):
    self.upload_threads.append(threading.current_thread().name)
    self.sending.set()
    self.release.wait(10)
    self.uploads.append((list(nodes), path, self.cfg.GetConfigSerialNo()))
    return {node: _Result() for node in nodes}

  def call_write_ssconf_files(self, nodes, values):
    self.ssconf.append(list(nodes))
    return {node: _Result() for node in nodes}


def test_saves_do_not_wait_for_the_upload_and_a_burst_costs_one(cfg):
  rpc = _BlockingRpc(cfg)
  replicator = replication.Replicator(cfg, rpc)
  cluster = cfg.GetClusterInfo()
  values = cfg.GetSsconfValues()
  # the first save: its upload starts and blocks
  replicator.ConfigSaved("", values)
  assert rpc.sending.wait(10)
  # three more saves while it is on its way: none of them waits
  for _ in range(3):
    cfg.Update(cluster)
    replicator.ConfigSaved("", values)
  assert not replicator.FlushConfig(timeout=0.2)
  rpc.release.set()
  assert replicator.FlushConfig(timeout=10)
  # the first upload, then one for everything saved meanwhile, sent at the last serial
  assert [nodes for nodes, _, _ in rpc.uploads] == [[NODE2], [NODE2]]
  assert rpc.uploads[-1][1:] == (pathutils.CLUSTER_CONF_FILE, cfg.GetConfigSerialNo())
  # ssconf went out at once, before the save returned (nodes act on it)
  assert rpc.ssconf == [[NODE2]]
  # nothing pending: a flush returns at once
  assert replicator.FlushConfig(timeout=0)


def test_a_new_candidate_gets_the_configuration_before_the_save_returns(cfg, monkeypatch):
  node = cfg.GetNodeInfo(NODE2)
  node.master_candidate = False
  cfg.Update(node)
  rpc = _BlockingRpc(cfg)
  replicator = replication.Replicator(cfg, rpc)
  copied = []
  monkeypatch.setattr(replicator, "CopyQueue", copied.append)
  node.master_candidate = True
  cfg.Update(node)
  rpc.release.set()  # only now may uploads finish: the one below ran inside the save
  replicator.ConfigSaved("", cfg.GetSsconfValues())
  # promoted: its copy of the configuration and of the queue came synchronously
  assert threading.current_thread().name in rpc.upload_threads
  assert all(upload[:2] == ([NODE2], pathutils.CLUSTER_CONF_FILE) for upload in rpc.uploads)
  assert copied == [[NODE2]]
  assert replicator.FlushConfig(timeout=10)


def test_no_candidate_no_upload(cfg):
  node = cfg.GetNodeInfo(NODE2)
  node.master_candidate = False
  cfg.Update(node)
  rpc = _BlockingRpc(cfg)
  rpc.release.set()
  replicator = replication.Replicator(cfg, rpc)
  replicator.ConfigSaved("", cfg.GetSsconfValues())
  assert replicator.FlushConfig(timeout=1)
  assert rpc.uploads == []


class _QueueRpc:
  def __init__(self):
    self.together = []

  def CallTogether(self, calls):
    self.together.append(calls)
    return [{node: _Result() for node in nodes} for _, nodes, _ in calls]


def test_a_batch_of_job_files_goes_out_in_one_round(cfg):
  rpc = _QueueRpc()
  replicator = replication.Replicator(cfg, rpc)
  replicator.QueueWritten([(pathutils.JOB_QUEUE_SERIAL_FILE, "8\n"),
                           (os.path.join(pathutils.QUEUE_DIR, "job-8"), "{}")])
  assert rpc.together == [[
    ("jobqueue_update", [NODE2], (pathutils.JOB_QUEUE_SERIAL_FILE, "8\n")),
    ("jobqueue_update", [NODE2], (os.path.join(pathutils.QUEUE_DIR, "job-8"), "{}"))]]
  replicator.QueueWritten([])
  assert len(rpc.together) == 1
