"""The master role on a node: its daemons and the cluster (master) IP address.

The master IP is brought up and down by a setup script (Ganeti's default one,
or the administrator's when use_external_mip_script is set).  The script gets
MASTER_NETDEV, MASTER_IP, MASTER_NETMASK and CLUSTER_IP_VERSION in its
environment and "start" or "stop" as its only argument.  In a virtual cluster
the default script does not touch the machine's interfaces but records the
active address in MASTER_IP_STATE_FILE.
"""

import os
from typing import Any, Optional

from ganeti import constants
from ganeti import errors
from ganeti import pathutils
from ganeti import ssconf
from ganeti import vcluster
from ganeti.backend.common import DaemonUtil, Fail, RunCommand
from ganeti.utils import io

MASTER_IP_STATE_FILE = pathutils.RUN_DIR + "/master-ip"
"""Virtual cluster only: "<ip> <netmask> <netdev>" while the master IP is up."""

MASTER_SCRIPT_START = "start"
MASTER_SCRIPT_STOP = "stop"
MASTER_SCRIPT_TIMEOUT = 120

# masterd's options for starting without asking the other nodes
NO_VOTING_ARGS = ("--no-voting", "--yes-do-it")

_IP_VERSIONS = {constants.IP4_FAMILY: 4, constants.IP6_FAMILY: 6}


def GetMasterNodeName() -> str:
  """The master's name as this node's ssconf knows it."""
  try:
    return ssconf.SimpleStore().GetMasterNode()
  except errors.ConfigurationError as err:
    Fail("Cluster configuration incomplete: %s", err)


def _DaemonProgramExists(name: str) -> bool:
  from ganeti.tools import daemon_util  # the launcher lookup of daemon-util itself
  return daemon_util.FindProgram(name) is not None


def StartMasterDaemons(no_voting: bool) -> None:
  """Starts the master daemon (and the RAPI daemon where it is installed)."""
  extra = list(NO_VOTING_ARGS) if no_voting else []
  result = DaemonUtil("start", constants.MASTERD, *extra)
  if result.failed:
    Fail("Can't start Ganeti master: %s", result.Describe())
  if _DaemonProgramExists(constants.RAPI):
    result = DaemonUtil("start", constants.RAPI)
    if result.failed:
      Fail("Can't start Ganeti RAPI daemon: %s", result.Describe())


def StopMasterDaemons() -> None:
  """Stops the RAPI and master daemons of this node."""
  errors_seen = []
  for name in (constants.RAPI, constants.MASTERD):
    result = DaemonUtil("stop", name)
    if result.failed:
      errors_seen.append("%s: %s" % (name, result.Describe()))
  if errors_seen:
    Fail("Could not stop Ganeti master: %s", "; ".join(errors_seen))


def _SetupScriptEnv(params: dict[str, Any]) -> dict[str, str]:
  env = dict(os.environ)
  env.update(MASTER_NETDEV=str(params["netdev"]), MASTER_IP=str(params["ip"]),
             MASTER_NETMASK=str(params["netmask"]),
             CLUSTER_IP_VERSION=str(_IP_VERSIONS.get(params.get("ip_family"), 4)))
  return env


def _RunMasterSetupScript(params: Any, action: str, use_external: bool) -> None:
  if not isinstance(params, dict) or not all(key in params for key in ("ip", "netmask",
                                                                       "netdev")):
    Fail("Invalid master network parameters: %r", params)
  script = (pathutils.EXTERNAL_MASTER_SETUP_SCRIPT if use_external
            else pathutils.ToolPath(pathutils.MASTER_SETUP_TOOL))
  result = RunCommand([script, action], env=_SetupScriptEnv(params),
                      timeout=MASTER_SCRIPT_TIMEOUT)
  if result.failed:
    Fail("Failed to %s the master IP. Script return value: %s, output: '%s'",
         "activate" if action == MASTER_SCRIPT_START else "deactivate",
         result.fail_reason or result.exit_code, result.output.strip())


def ActivateMasterIp(master_params: dict, use_external_mip_script: bool) -> None:
  _RunMasterSetupScript(master_params, MASTER_SCRIPT_START, use_external_mip_script)


def DeactivateMasterIp(master_params: dict, use_external_mip_script: bool) -> None:
  _RunMasterSetupScript(master_params, MASTER_SCRIPT_STOP, use_external_mip_script)


def ReadVirtualMasterIp() -> Optional[tuple[str, str, str]]:
  """(ip, netmask, netdev) recorded by the setup script in a virtual cluster."""
  fields = (io.TryReadFile(MASTER_IP_STATE_FILE) or "").split()
  return (fields[0], fields[1], fields[2]) if len(fields) >= 3 else None


def ChangeMasterNetmask(old_netmask: int, netmask: int, master_ip: str,
                        master_netdev: str) -> None:
  """Gives the (active) master IP a new netmask."""
  if old_netmask == netmask:
    return
  if vcluster.IsVirtualCluster():
    active = ReadVirtualMasterIp()
    if active is None or active[0] != master_ip:
      Fail("The master IP %s is not active on this node", master_ip)
    io.WriteFile(MASTER_IP_STATE_FILE, "%s %s %s\n" % (master_ip, netmask, master_netdev))
    return
  label = "%s:0" % master_netdev
  result = RunCommand(["ip", "address", "add", "%s/%s" % (master_ip, netmask),
                       "dev", master_netdev, "label", label])
  if result.failed:
    Fail("Could not set the new netmask on the master IP address: %s", result.Describe())
  result = RunCommand(["ip", "address", "del", "%s/%s" % (master_ip, old_netmask),
                       "dev", master_netdev, "label", label])
  if result.failed:
    Fail("Could not bring down the master IP address with the old netmask: %s",
         result.Describe())


CALLS = {
  "master_node_name": GetMasterNodeName,
  "node_start_master_daemons": StartMasterDaemons,
  "node_stop_master": StopMasterDaemons,
  "node_activate_master_ip": ActivateMasterIp,
  "node_deactivate_master_ip": DeactivateMasterIp,
  "node_change_master_netmask": ChangeMasterNetmask,
}
