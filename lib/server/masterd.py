"""ganeti-masterd: owns the configuration, the locks and the job queue, and
answers LUXI on socket/ganeti-query and socket/ganeti-master.

One process does what Ganeti 3.0 splits over luxid and wconfd: queries are
answered from memory, changes run as jobs in worker threads of this process.
"""

import gc
import logging
import os
import time
from typing import Any, Optional

from ganeti import config
from ganeti import constants
from ganeti import daemon
from ganeti import firstchange
from ganeti import jqueue
from ganeti import jstore
from ganeti import locking
from ganeti import luxi
from ganeti import masterfailover
from ganeti import mcpu
from ganeti import pathutils
from ganeti import query
from ganeti.cmdlib import base
from ganeti.cmdlib import cluster as cmdlib_cluster
from ganeti import jobfilters
from ganeti.rpc import client as rpc_client
from ganeti.server import luxisrv
from ganeti.server import replication
from ganeti.utils import io


class MasterContext:
  """Everything jobs and LUXI requests share in the master daemon."""

  def __init__(self) -> None:
    self.cfg = config.ConfigWriter()
    self.glm = locking.GanetiLockManager(
      nodes=self.cfg.GetNodeList(),
      nodegroups=list(self.cfg.GetAllNodeGroupsInfo()),
      instances=[inst.name for inst in self.cfg.GetAllInstancesInfo().values()],
      networks=list(self.cfg.GetAllNetworksInfo()))
    self.rpc = rpc_client.RpcRunner(self.cfg)
    self.replicator = replication.Replicator(self.cfg, self.rpc)
    self.cfg.AddSaveCallback(self.replicator.ConfigSaved)
    self.filters = jobfilters.JobFilters(self.cfg)
    workers = self.cfg.GetClusterInfo().max_running_jobs
    self.queue = jqueue.JobQueue(mcpu.MakeOpcodeRunner(self), self.filters,
                                 workers=workers, replicator=self.replicator)
    self.filters.on_change = self.queue.RescheduleQueued

  # ---- services for logical units ---------------------------------------

  def run_hooks(self, node_uuids: list[str], hpath: str, phase: str,
                env: dict[str, str]) -> dict[str, Any]:
    """Runs hooks on nodes through their node daemons.

    Returns node name -> list of (script, status, output), or the error text
    for a node that could not run them."""
    results: dict[str, Any] = {}
    for uuid, result in self.rpc.call_hooks_runner(node_uuids, hpath, phase, env).items():
      name = self.cfg.GetNodeName(uuid) or uuid
      if result.offline:
        continue
      results[name] = result.fail_msg or result.payload
    return results

  @staticmethod
  def GetWatcherPause() -> Optional[float]:
    text = io.TryReadFile(pathutils.WATCHER_PAUSEFILE)
    try:
      until = float(text.strip()) if text else None
    except ValueError:
      return None
    return until if until is not None and until > time.time() else None

  @staticmethod
  def SetWatcherPause(until: Optional[float]) -> Optional[float]:
    if until is None:
      io.RemoveFile(pathutils.WATCHER_PAUSEFILE)
    else:
      io.WriteFile(pathutils.WATCHER_PAUSEFILE, "%d\n" % int(until))
    return until

  def Query(self, what: str, fields: list[str], qfilter: Any) -> dict:
    return query.RunQuery(self, what, fields, qfilter)

  def QueryFromLuxi(self, method: str, what: str, fields: Any, qfilter: Any) -> dict:
    """Query and QueryFields over LUXI: cluster and os are opcode-only there."""
    query.CheckLuxiResource(method, what)
    if method == luxi.REQ_QUERY_FIELDS:
      return self.QueryFields(what, fields)
    return self.Query(what, fields, qfilter)

  def QueryFields(self, what: str, fields: Optional[list[str]]) -> dict:
    return query.QueryFields(what, fields)

  def SubmitManyJobsFromLU(self, jobs: list) -> list:
    # jobs an opcode submits are one of its changes
    firstchange.BeforeChange()
    return self.queue.SubmitManyJobs(jobs)


class LuxiHandler:
  """Maps LUXI methods onto the master's services."""

  def __init__(self, context: MasterContext) -> None:
    self.ctx = context

  def __call__(self, method: str, args: list) -> Any:
    return getattr(self, "_" + method)(*args)

  # jobs
  def _SubmitJob(self, ops: list) -> int:
    return self.ctx.queue.SubmitJob(ops)

  def _SubmitJobToDrainedQueue(self, ops: list) -> int:
    return self.ctx.queue.SubmitJob(ops, drained_ok=True)

  def _SubmitManyJobs(self, jobs: list) -> list:
    return self.ctx.queue.SubmitManyJobs(jobs)

  def _PickupJob(self, job_id: Any) -> None:
    # jobs are always in this process's queue; nothing to pick up
    return None

  def _WaitForJobChange(self, job_id: Any, fields: list, prev_info: Any,
                        prev_serial: Optional[int], timeout: float) -> Any:
    return self.ctx.queue.WaitForJobChange(
      int(job_id), lambda job: query.JobValues(job, fields), prev_info, prev_serial, timeout)

  def _CancelJob(self, job_id: Any, kill: bool) -> list:
    return self.ctx.queue.CancelJob(int(job_id), kill)

  def _ChangeJobPriority(self, job_id: Any, priority: int) -> list:
    return self.ctx.queue.ChangeJobPriority(int(job_id), priority)

  def _ArchiveJob(self, job_id: Any) -> bool:
    return self.ctx.queue.ArchiveJob(int(job_id))

  def _AutoArchiveJobs(self, age: float, timeout: float) -> list:
    return self.ctx.queue.AutoArchiveJobs(age, timeout)

  # queries
  def _Query(self, what: str, fields: list, qfilter: Any) -> dict:
    return self.ctx.QueryFromLuxi(luxi.REQ_QUERY, what, fields, qfilter)

  def _QueryFields(self, what: str, fields: Optional[list]) -> dict:
    return self.ctx.QueryFromLuxi(luxi.REQ_QUERY_FIELDS, what, fields, None)

  def _QueryJobs(self, job_ids: Optional[list], fields: list) -> list:
    return query.JobRows(self.ctx.queue, job_ids, fields)

  def _legacy_query(self, what: str, names: Optional[list], fields: list) -> list:
    return query.LegacyRows(self.ctx, what, names, fields)

  def _QueryInstances(self, names: list, fields: list, _use_locking: bool) -> list:
    return self._legacy_query(constants.QR_INSTANCE, names, fields)

  def _QueryNodes(self, names: list, fields: list, _use_locking: bool) -> list:
    return self._legacy_query(constants.QR_NODE, names, fields)

  def _QueryGroups(self, names: list, fields: list, _use_locking: bool) -> list:
    return self._legacy_query(constants.QR_GROUP, names, fields)

  def _QueryNetworks(self, names: list, fields: list, _use_locking: bool) -> list:
    return self._legacy_query(constants.QR_NETWORK, names, fields)

  def _QueryExports(self, nodes: list, _use_locking: bool) -> dict:
    """Node name -> its exports, or False when the node could not be asked."""
    cfg = self.ctx.cfg
    uuids = base.CheckNodeUuidsExist(cfg, nodes) if nodes else cfg.GetNodeList()
    answers = self.ctx.rpc.call_export_list(uuids)
    return {cfg.GetNodeName(uuid): (False if result.fail_msg else result.payload)
            for uuid, result in answers.items()}

  def _QueryClusterInfo(self) -> dict:
    return cmdlib_cluster.ClusterInfo(self.ctx.cfg)

  def _QueryConfigValues(self, fields: list) -> list:
    return cmdlib_cluster.QueryConfigValues(self.ctx, fields)

  def _QueryTags(self, kind: str, name: str) -> list:
    from ganeti.cmdlib import tags  # pylint: disable=import-outside-toplevel
    obj, _, _ = tags.TagTarget(self.ctx.cfg, kind, name)
    return sorted(obj.GetTags())

  # switches
  def _SetDrainFlag(self, flag: bool) -> bool:
    jstore.SetDrained(flag)
    self.ctx.replicator.DrainFlagSet(flag)
    return True

  def _SetWatcherPause(self, until: Optional[float]) -> Optional[float]:
    return self.ctx.SetWatcherPause(until)

  # job filters
  def _QueryFilters(self, uuids: Optional[list], fields: list) -> list:
    return query.LegacyRows(self.ctx, constants.QR_FILTER, uuids, fields)

  def _ReplaceFilter(self, uuid: Optional[str], priority: int, predicates: list,
                     action: Any, reason: list) -> str:
    return self.ctx.filters.Replace(uuid, priority, predicates, action, reason,
                                    self.ctx.queue.LastJobId())

  def _DeleteFilter(self, uuid: str) -> None:
    self.ctx.filters.Delete(uuid)


def _add_options(parser: Any) -> None:
  parser.add_argument("--no-voting", dest="no_voting", action="store_true",
                      help="start even if the other nodes do not confirm that this node"
                      " is the master (dangerous)")
  parser.add_argument("--yes-do-it", dest="yes_do_it", action="store_true",
                      help="confirm --no-voting")


def _check_master(options: Any) -> None:
  if options.no_voting and not options.yes_do_it:
    raise daemon.DaemonError("The 'no voting' option has been selected. This is dangerous,"
                             " please confirm by adding the --yes-do-it option",
                             daemon.EXIT_FAILURE)
  if not daemon.IsMasterNode():
    raise daemon.DaemonError("Not master, exiting (master is %s, this node is %s)" %
                             (daemon.GetMasterNode(), daemon.GetHostname()),
                             daemon.EXIT_NOTMASTER)
  if not os.path.exists(pathutils.CLUSTER_CONF_FILE):
    raise daemon.DaemonError("Cluster configuration %s not found" % pathutils.CLUSTER_CONF_FILE)


def _prepare(ctx: daemon.DaemonContext) -> Any:
  context = MasterContext()
  # the loaded configuration lives as long as the daemon: keep the garbage
  # collector from walking it on every collection (queries stay fast)
  gc.freeze()
  server = luxisrv.LuxiServer([pathutils.QUERY_SOCKET, pathutils.MASTER_SOCKET],
                              LuxiHandler(context))
  return context, server


def _ActivateMasterIp(context: MasterContext) -> None:
  """Brings up the master IP on this node, as every start of the master role
  does (cluster init, a reboot of the master, a restart of the daemons); the
  setup script leaves an address that is already up alone."""
  cfg = context.cfg
  result = context.rpc.call_node_activate_master_ip(
    cfg.GetMasterNode(), masterfailover.MasterNetworkParameters(cfg),
    cfg.GetUseExternalMipScript())
  if result.fail_msg:
    logging.error("Could not activate the master IP: %s", result.fail_msg)


def _serve(ctx: daemon.DaemonContext) -> int:
  context, server = ctx.prepared
  server.Start()
  logging.info("Master daemon serving LUXI on %s and %s", pathutils.QUERY_SOCKET,
               pathutils.MASTER_SOCKET)
  _ActivateMasterIp(context)
  ctx.stop_event.wait()
  server.Stop()
  context.queue.Stop()
  # a candidate taking over next must find the last configuration
  context.replicator.FlushConfig()
  logging.info("Master daemon stopped")
  return 0


def Main() -> int:
  return daemon.RunDaemon(constants.MASTERD, _serve, check_fn=_check_master,
                          prepare_fn=_prepare, parser_setup=_add_options)
