"""Moving the master role to another node ("gnt-cluster master-failover").

It runs on the master candidate that is to become the master, without any
master daemon: everything it knows comes from this node's ssconf files and
its copy of config.data, and it talks to the other nodes' node daemons
through the bootstrap RPC runner.

Unless told otherwise, the nodes first vote: every node says whom its
ssconf names as the master, and a strict majority must name the master this
node believes in.  The old master then loses its master IP and daemons (best
effort: it may be dead), this node's configuration names itself as the
master and goes to the other nodes, and the master daemon and IP start here.
"""

import collections
import logging
import socket
import time
from typing import Any, Callable, Iterable, Optional

from ganeti import config
from ganeti import constants
from ganeti.constants import (MASTER_VOTING_RETRIES, MASTER_VOTING_RETRY_INTERVALL)
from ganeti import errors
from ganeti import pathutils
from ganeti import ssconf
from ganeti import vcluster

# Seconds to wait for the master IP to go down on the old master and to come
# up here
MASTER_IP_TIMEOUT = 30.0

_NOT_HERE = "This commands must be run on the node where you want the new master to be."

# (master name or None for "did not answer", number of votes)
Votes = list[tuple[Optional[str], int]]


def MasterNetworkParameters(cfg: Any, node_uuid: Optional[str] = None) -> dict[str, Any]:
  """The master IP settings in the form of Ganeti's MasterNetworkParameters.

  node_uuid is the node the address belongs to (default: the configured
  master).
  """
  cluster = cfg.GetClusterInfo()
  return {
    "uuid": node_uuid or cluster.master_node,
    "ip": cluster.master_ip,
    "netmask": cluster.master_netmask,
    "netdev": cluster.master_netdev,
    "ip_family": cluster.primary_ip_family,
  }


def IpAnswers(address: str, port: int = constants.DEFAULT_NODED_PORT,
              timeout: float = 1.0) -> bool:
  """Whether a TCP connection to address:port is accepted."""
  try:
    with socket.create_connection((address, port), timeout=timeout):
      return True
  except OSError:
    return False


def _BootstrapRunner() -> Any:
  from ganeti.rpc import client as rpc_client  # pylint: disable=import-outside-toplevel
  return rpc_client.BootstrapRunner()


def VotingNodes(store: ssconf.SimpleStore, ignore_offline_nodes: bool = False) -> list[str]:
  """The nodes asked in a vote: all, or only the online ones."""
  nodes = store.GetNodeList()
  if ignore_offline_nodes:
    offline = set(store.GetOfflineNodeList())
    nodes = [name for name in nodes if name not in offline]
  return nodes


def GatherMasterVotes(node_names: Iterable[str], runner: Any) -> Votes:
  """Asks each node whom it believes to be the master.

  Returns (master name, votes) pairs, most votes first; None counts the
  nodes that did not answer.
  """
  node_names = list(node_names)
  if not node_names:
    return []
  results = runner.call_master_node_name(node_names)
  votes: collections.Counter = collections.Counter()
  for name in node_names:
    result = results.get(name)
    if result is None or result.fail_msg or not result.payload:
      votes[None] += 1
    else:
      votes[result.payload] += 1
  # equal counts: real answers before silence, then by name (stable output)
  return sorted(votes.items(), key=lambda item: (-item[1], item[0] is None, item[0] or ""))


def CheckMasterVotes(old_master: str, node_names: list[str], runner: Any,
                     retries: int = MASTER_VOTING_RETRIES,
                     interval: float = MASTER_VOTING_RETRY_INTERVALL,
                     sleep_fn: Callable[[float], None] = time.sleep) -> Votes:
  """Requires a strict majority of node_names to name old_master.

  Nodes that do not answer are asked again (retries rounds in all); a
  majority for another node fails at once.  Returns the last votes.
  """
  total = len(node_names)
  votes: Votes = []
  for attempt in range(max(retries, 1)):
    if attempt:
      sleep_fn(interval)
    votes = GatherMasterVotes(node_names, runner)
    counts = dict(votes)
    for_old = counts.get(old_master, 0)
    if for_old * 2 > total:
      return votes
    rivals = [(name, count) for name, count in votes if name not in (None, old_master)]
    if rivals and rivals[0][1] >= for_old:
      raise errors.OpPrereqError(
        "I have a wrong configuration, I believe the master is %s but the other nodes"
        " voted %s. Please resync the configuration of this node." %
        (old_master, rivals[0][0]), errors.ECODE_STATE)
    logging.warning("Not enough votes for master %s (%s), %s", old_master, votes,
                    "retrying" if attempt + 1 < retries else "giving up")
  raise errors.OpPrereqError("Cluster is inconsistent, most nodes did not respond.",
                             errors.ECODE_ENVIRON)


def MajorityHealthy(ignore_offline_nodes: bool = False, runner: Any = None,
                    store: Optional[ssconf.SimpleStore] = None) -> tuple[bool, list[str]]:
  """Whether a strict majority of the nodes answers; also the silent ones."""
  store = store or ssconf.SimpleStore()
  runner = runner or _BootstrapRunner()
  nodes = VotingNodes(store, ignore_offline_nodes)
  results = runner.call_version(nodes) if nodes else {}
  unhealthy = [name for name in nodes
               if results.get(name) is None or results[name].fail_msg]
  return (len(nodes) - len(unhealthy)) * 2 > len(nodes), unhealthy


def _WaitForIp(address: str, up: bool, timeout: float) -> bool:
  """Waits until the master IP answers (up) or stops answering; success."""
  deadline = time.monotonic() + timeout
  while IpAnswers(address) != up:
    if time.monotonic() >= deadline:
      return False
    time.sleep(1.0)
  return True


def _CheckNewMaster(store: ssconf.SimpleStore) -> tuple[str, str]:
  """(old master, this node) once this node may become the master."""
  old_master, myself = ssconf.GetMasterAndMyself(store)
  if old_master == myself:
    raise errors.OpPrereqError("%s %s is already the master" % (_NOT_HERE, old_master),
                               errors.ECODE_INVAL)
  candidates = store.GetMasterCandidates()
  if myself not in candidates:
    others = [name for name in candidates if name != old_master]
    raise errors.OpPrereqError("This node is not among the nodes marked as master"
                               " candidates. Only these nodes can become masters."
                               " Current list of master candidates is:\n%s" %
                               "\n".join(others), errors.ECODE_STATE)
  return old_master, myself


def _Warn(warnings: list[str], text: str) -> None:
  logging.debug("Master failover warning: %s", text)
  warnings.append(text)


def _TakeOverConfig(cfg: config.ConfigWriter, myself: str) -> str:
  """Names this node as the master in the local configuration; its uuid."""
  node = cfg.GetNodeInfoByName(myself)
  if node is None:
    raise errors.OpPrereqError("This node (%s) is not in the configuration" % myself,
                               errors.ECODE_STATE)
  cluster = cfg.GetClusterInfo()
  cluster.master_node = node.uuid
  cfg.Update(cluster, logging.error)
  return node.uuid


def _Distribute(cfg: config.ConfigWriter, store: ssconf.SimpleStore, myself: str,
                runner: Any, warnings: list[str]) -> None:
  """Sends the new configuration (to candidates) and ssconf (to all) out."""
  offline = set(store.GetOfflineNodeList())
  others = [name for name in store.GetNodeList() if name != myself and name not in offline]
  candidates = [name for name in store.GetMasterCandidates() if name in others]
  uploads = (
    (candidates, lambda nodes: runner.call_upload_file(nodes, pathutils.CLUSTER_CONF_FILE)),
    (others, lambda nodes: runner.call_write_ssconf_files(nodes, cfg.GetSsconfValues())),
  )
  for nodes, call in uploads:
    if not nodes:
      continue
    for name, result in call(nodes).items():
      if result.fail_msg:
        _Warn(warnings, "Could not distribute the configuration to node %s: %s" %
              (name, result.fail_msg))


def _StartMasterDaemon() -> None:
  from ganeti import bootstrap  # pylint: disable=import-outside-toplevel
  bootstrap.RunDaemonUtil("start", constants.MASTERD)
  bootstrap.StartRapiDaemon()


def MasterFailover(no_voting: bool = False, ignore_offline_nodes: bool = False,
                   runner: Any = None, retries: int = MASTER_VOTING_RETRIES,
                   interval: float = MASTER_VOTING_RETRY_INTERVALL,
                   ip_timeout: float = MASTER_IP_TIMEOUT,
                   start_master_fn: Callable[[], None] = _StartMasterDaemon
                   ) -> tuple[int, list[str]]:
  """Makes this node the master; returns (exit code, warnings)."""
  store = ssconf.SimpleStore()
  old_master, myself = _CheckNewMaster(store)
  runner = runner or _BootstrapRunner()
  if not no_voting:
    CheckMasterVotes(old_master, VotingNodes(store, ignore_offline_nodes), runner,
                     retries=retries, interval=interval)
  warnings: list[str] = []
  cfg = config.ConfigWriter(offline=True)
  ems = cfg.GetUseExternalMipScript()
  old_params = MasterNetworkParameters(cfg)
  # the old master may be dead: these are attempts, not requirements
  logging.info("Stopping the master daemon on node %s", old_master)
  result = runner.call_node_deactivate_master_ip(old_master, old_params, ems)
  if result.fail_msg:
    _Warn(warnings, "Could not disable the master IP: %s" % result.fail_msg)
  result = runner.call_node_stop_master(old_master)
  if result.fail_msg:
    _Warn(warnings, "Could not disable the master role on the old master %s, please disable"
          " manually: %s" % (old_master, result.fail_msg))
  # a virtual cluster's master IP is simulated: nothing ever answers on it
  check_ip = not vcluster.IsVirtualCluster()
  if check_ip and not _WaitForIp(old_params["ip"], False, ip_timeout):
    _Warn(warnings, "The master IP is still reachable after %s seconds, continuing but"
          " activating the master IP on the current node will probably fail" % ip_timeout)
  new_uuid = _TakeOverConfig(cfg, myself)
  _Distribute(cfg, store, myself, runner, warnings)
  rcode = 0
  logging.info("Starting the master daemons on the new master")
  try:
    start_master_fn()
  except errors.GenericError as err:
    logging.error("Could not start the master role on the new master %s, please check: %s",
                  myself, err)
    warnings.append("Could not start the master role on the new master %s, please check:"
                    " %s" % (myself, err))
    rcode = 1
  result = runner.call_node_activate_master_ip(myself, MasterNetworkParameters(cfg, new_uuid),
                                               ems)
  if result.fail_msg:
    _Warn(warnings, "Could not activate the master IP on the new master %s: %s" %
          (myself, result.fail_msg))
  elif check_ip and not _WaitForIp(old_params["ip"], True, ip_timeout):
    _Warn(warnings, "The master IP did not come up within %s seconds; the cluster should"
          " still be working and reachable via %s, but not via the master IP address" %
          (ip_timeout, myself))
  logging.info("Master failed over from %s to %s", old_master, myself)
  return rcode, warnings
