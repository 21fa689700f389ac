"""Keeps master candidates able to take over: config, ssconf and job queue copies.

After every configuration save the master sends, when they changed, the
ssconf values to every other online node (before the job goes on: nodes act
on them), and config.data to the other online master candidates, in the
background: a distributor thread sends the latest saved file, so a burst of
saves costs one upload and no job waits for it, as with Ganeti's
asynchronous configuration distribution.  FlushConfig waits for it (the
master daemon's shutdown and cluster verify do).  Every batch of job-file
writes goes to the candidates before the jobs' submitters are answered, so
a job a client saw accepted survives the master's death.  Failures are
logged per node, never fatal: a node that missed an update is caught up by
the next one (or `gnt-cluster redist-conf`), and `gnt-cluster verify`
reports stale copies.
"""

import logging
import threading
from typing import Any, Iterable

from ganeti import jstore
from ganeti import pathutils
from ganeti import vcluster
from ganeti.utils import io


class Replicator:
  """Sends the master's durable state to the nodes that must hold a copy."""

  def __init__(self, cfg: Any, rpc: Any) -> None:
    self._cfg = cfg
    self._rpc = rpc
    self._sent_ssconf: dict[str, str] = {}
    # candidates known to hold the job queue (at start-up: all of them)
    self._queue_holders = set(self._other_online(candidates_only=True))
    # configuration saves asked to be distributed, and how many of them were
    self._config_cv = threading.Condition()
    self._config_saved = 0
    self._config_sent = 0
    self._distributor: threading.Thread | None = None

  def _other_online(self, candidates_only: bool) -> list[str]:
    cfg = self._cfg
    master = cfg.GetMasterNode()
    uuids = cfg.GetMasterCandidateUuids() if candidates_only else cfg.GetNodeList()
    return [uuid for uuid in uuids
            if uuid != master and not cfg.GetNodeInfo(uuid).offline]

  @staticmethod
  def _log_failures(what: str, results: dict) -> None:
    for node, result in results.items():
      if result.fail_msg and not result.offline:
        logging.warning("Could not %s on node %s: %s", what, node, result.fail_msg)

  # ---- configuration ----------------------------------------------------

  def ConfigSaved(self, _text: str, ssconf_values: dict[str, str]) -> None:
    """Save callback of the ConfigWriter (runs with the config lock held)."""
    candidates = self._other_online(candidates_only=True)
    if candidates:
      with self._config_cv:
        self._config_saved += 1
        if self._distributor is None:
          self._distributor = threading.Thread(target=self._DistributeConfig,
                                               name="ConfigDistributor", daemon=True)
          self._distributor.start()
        self._config_cv.notify_all()
    if ssconf_values != self._sent_ssconf:
      self.PushSsconf(self._other_online(candidates_only=False), ssconf_values)
    # a node that just became a candidate (added, promoted, back online) gets
    # the configuration and the whole job queue at once, so that it could
    # take over as the master when the command that promoted it returns
    new_holders = [uuid for uuid in candidates if uuid not in self._queue_holders]
    if new_holders:
      self._log_failures("update the configuration",
                         self._rpc.call_upload_file(new_holders, pathutils.CLUSTER_CONF_FILE))
      self.CopyQueue(new_holders)
    self._queue_holders = set(candidates)

  def _DistributeConfig(self) -> None:
    """The distributor thread: uploads config.data (as saved last) whenever
    saves are pending; the uploads read the file, never an older text."""
    while True:
      with self._config_cv:
        while self._config_sent == self._config_saved:
          self._config_cv.wait()
        target = self._config_saved
      try:
        candidates = self._other_online(candidates_only=True)
        if candidates:
          self._log_failures("update the configuration",
                             self._rpc.call_upload_file(candidates, pathutils.CLUSTER_CONF_FILE))
      except Exception:  # pylint: disable=broad-except
        # the next save tries again; verify reports a stale copy meanwhile
        logging.exception("Distributing the configuration failed")
      with self._config_cv:
        self._config_sent = target
        self._config_cv.notify_all()

  def FlushConfig(self, timeout: float = 60) -> bool:
    """Waits until the candidates were sent every save made so far (not to
    be called with the configuration locked); False on timeout."""
    with self._config_cv:
      target = self._config_saved
      return self._config_cv.wait_for(lambda: self._config_sent >= target, timeout)

  def PushSsconf(self, node_uuids: list[str], values: dict[str, str]) -> None:
    if node_uuids:
      self._log_failures("write the ssconf files",
                         self._rpc.call_write_ssconf_files(node_uuids, values))
    self._sent_ssconf = dict(values)

  # ---- job queue ----------------------------------------------------------

  def QueueWritten(self, writes: Iterable[tuple[str, str]]) -> None:
    """Job (and serial) files just made durable on the master."""
    candidates = self._other_online(candidates_only=True)
    writes = list(writes)
    if not candidates or not writes:
      return
    # the files of a batch (a new job's and the serial file) go out together
    results = self._rpc.CallTogether([
      ("jobqueue_update", candidates, (vcluster.MakeVirtualPath(path), text))
      for path, text in writes])
    for (path, _), by_node in zip(writes, results):
      self._log_failures("replicate %s" % path, by_node)

  def CopyQueue(self, node_uuids: list[str]) -> None:
    """Sends every live job file and the serial file to the given nodes."""
    paths = [path for _, path in jstore.IterJobFiles()] + [pathutils.JOB_QUEUE_SERIAL_FILE]
    for path in paths:
      text = io.TryReadFile(path)
      if text is not None:
        self._log_failures("copy %s" % path, self._rpc.call_jobqueue_update(
          node_uuids, vcluster.MakeVirtualPath(path), text))

  def QueueRenamed(self, pairs: list[tuple[str, str]]) -> None:
    candidates = self._other_online(candidates_only=True)
    if candidates and pairs:
      virtual = [[vcluster.MakeVirtualPath(old), vcluster.MakeVirtualPath(new)]
                 for old, new in pairs]
      self._log_failures("archive jobs", self._rpc.call_jobqueue_rename(candidates, virtual))

  def DrainFlagSet(self, flag: bool) -> None:
    candidates = self._other_online(candidates_only=True)
    if candidates:
      self._log_failures("set the queue drain flag",
                         self._rpc.call_jobqueue_set_drain_flag(candidates, flag))
