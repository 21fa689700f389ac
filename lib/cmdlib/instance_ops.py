"""An instance's life on its node: start, stop, reboot, disk activation, removal."""

from typing import Any

from ganeti import constants
from ganeti import errors
from ganeti import locking
from ganeti import objects
from ganeti import paramdefs as pd
from ganeti.cmdlib import instance_disks
from ganeti.cmdlib import instance_utils as iu
from ganeti.cmdlib.base import LogicalUnit


class _InstanceLU(LogicalUnit):
  """An LU acting on op.instance_name and its nodes (locked at NODE_LEVELS)."""

  HTYPE = constants.HTYPE_INSTANCE
  REQ_BGL = False
  NODE_LEVELS: tuple[int, ...] = (locking.LEVEL_NODE,)
  PRIMARY_ONLY = False

  def ExpandNames(self) -> None:
    iu.LockInstance(self, self.NODE_LEVELS)

  def DeclareLocks(self, level: int) -> None:
    if level in self.NODE_LEVELS:
      iu.DeclareInstanceNodeLocks(self, level, primary_only=self.PRIMARY_ONLY)

  def CheckPrereq(self) -> None:
    self.instance = iu.LockedInstance(self)
    # the hooks see the instance as it was before the operation (it may be
    # gone or moved by the post phase)
    self.hook_nodes = iu.InstanceHookNodes(self, self.instance)
    self.hook_env: dict[str, Any] = {}

  def HookOverrides(self) -> dict[str, Any]:
    """The operation's own hook variables."""
    return {}

  def BuildHooksEnv(self) -> dict[str, Any]:
    if not self.hook_env:
      self.hook_env = iu.InstanceHookEnv(self, self.instance, self.HookOverrides())
    return self.hook_env

  def BuildHooksNodes(self) -> tuple[list[str], list[str]]:
    return self.hook_nodes


class LUInstanceStartup(_InstanceLU):
  HPATH = "instance-start"
  NODE_LEVELS = (locking.LEVEL_NODE_RES,)
  PRIMARY_ONLY = True

  def CheckPrereq(self) -> None:
    super().CheckPrereq()
    inst = self.instance
    cluster = self.cfg.GetClusterInfo()
    if self.op.beparams:
      pd.ForceDictType(self.op.beparams, pd.BES_PARAMETER_TYPES)
    if self.op.hvparams:
      pd.ForceDictType(self.op.hvparams, pd.HVS_PARAMETER_TYPES)
      from ganeti import hypervisor  # pylint: disable=import-outside-toplevel
      filled = objects.FillDict(cluster.FillHV(inst), self.op.hvparams)
      hypervisor.GetHypervisorClass(inst.hypervisor).CheckParameterSyntax(filled)
    iu.CheckInstanceNotOffline(inst, "start")
    self.primary_offline = self.cfg.GetNodeInfo(inst.primary_node).offline
    if self.primary_offline and self.op.ignore_offline_nodes:
      self.LogWarning("Ignoring offline primary node")
      if self.op.hvparams or self.op.beparams:
        self.LogWarning("Overridden parameters are ignored")
      return
    iu.CheckNodeOnline(self, inst.primary_node)
    running = iu.RunningInfo(self, inst)
    if running is None:
      bep = objects.FillDict(cluster.FillBE(inst), self.op.beparams)
      iu.CheckNodeFreeMemory(self, inst.primary_node, "starting instance %s" % inst.name,
                             bep[pd.BE_MINMEM], inst.hypervisor)
    self.running = running

  def Exec(self, feedback_fn: Any) -> None:
    inst = self.instance
    if not self.op.no_remember:
      self.cfg.MarkInstanceUp(inst.uuid)
    if self.primary_offline:
      assert self.op.ignore_offline_nodes
      self.LogInfo("Primary node offline, marked instance as started")
      return
    if self.running is not None:
      self.LogInfo("Instance %s is already running", inst.name)
      return
    iu.StartInstanceDisks(self, inst, force=self.op.force)
    result = self.rpc.call_instance_start(inst.primary_node,
                                          (inst, self.op.hvparams, self.op.beparams),
                                          self.op.startup_paused, self.op.reason)
    if result.fail_msg:
      iu.ShutdownInstanceDisks(self, inst)
      result.Raise("Could not start instance")


class LUInstanceShutdown(_InstanceLU):
  HPATH = "instance-stop"
  PRIMARY_ONLY = True

  def CheckPrereq(self) -> None:
    super().CheckPrereq()
    inst = self.instance
    if not self.op.force:
      iu.CheckInstanceNotOffline(inst, "shutdown")
    else:
      self.LogWarning("Ignoring offline instance check")
    self.primary_offline = self.cfg.GetNodeInfo(inst.primary_node).offline
    if self.primary_offline and self.op.ignore_offline_nodes:
      self.LogWarning("Ignoring offline primary node")
    else:
      iu.CheckNodeOnline(self, inst.primary_node)

  def HookOverrides(self) -> dict[str, Any]:
    return {"TIMEOUT": self.op.timeout}

  def Exec(self, feedback_fn: Any) -> None:
    inst = self.instance
    if not self.op.no_remember:
      if self.op.admin_state_source == objects.USER_SOURCE:
        self.cfg.MarkInstanceUserDown(inst.uuid)
      else:
        self.cfg.MarkInstanceDown(inst.uuid)
    if self.primary_offline:
      assert self.op.ignore_offline_nodes
      self.LogInfo("Primary node offline, marked instance as stopped")
      return
    result = self.rpc.call_instance_shutdown(inst.primary_node, inst, self.op.timeout,
                                             self.op.reason)
    if result.fail_msg:
      self.LogWarning("Could not shutdown instance: %s", result.fail_msg)
    iu.ShutdownInstanceDisks(self, inst)


class LUInstanceReboot(_InstanceLU):
  HPATH = "instance-reboot"

  def CheckPrereq(self) -> None:
    super().CheckPrereq()
    inst = self.instance
    iu.CheckInstanceNotOffline(inst, "reboot")
    iu.CheckNodeOnline(self, inst.primary_node)
    self.reboot_type = self.op.reboot_type or constants.INSTANCE_REBOOT_HARD

  def HookOverrides(self) -> dict[str, Any]:
    return {"IGNORE_SECONDARIES": self.op.ignore_secondaries,
            "REBOOT_TYPE": self.reboot_type, "SHUTDOWN_TIMEOUT": self.op.shutdown_timeout}

  def Exec(self, feedback_fn: Any) -> None:
    inst = self.instance
    running = iu.RunningInfo(self, inst)
    if running and self.reboot_type in (constants.INSTANCE_REBOOT_SOFT,
                                        constants.INSTANCE_REBOOT_HARD):
      result = self.rpc.call_instance_reboot(inst.primary_node, inst, self.reboot_type,
                                             self.op.shutdown_timeout, self.op.reason)
      result.Raise("Could not reboot instance")
    else:
      if running:
        result = self.rpc.call_instance_shutdown(inst.primary_node, inst,
                                                 self.op.shutdown_timeout, self.op.reason)
        result.Raise("Could not shutdown instance for full reboot")
        iu.ShutdownInstanceDisks(self, inst)
      else:
        self.LogInfo("Instance %s was already stopped, starting now", inst.name)
      iu.StartInstanceDisks(self, inst, force=self.op.ignore_secondaries)
      result = self.rpc.call_instance_start(inst.primary_node, (inst, None, None), False,
                                            self.op.reason)
      if result.fail_msg:
        iu.ShutdownInstanceDisks(self, inst)
        result.Raise("Could not start instance for full reboot")
    self.cfg.MarkInstanceUp(inst.uuid)


class LUInstanceRemove(_InstanceLU):
  HPATH = "instance-remove"
  NODE_LEVELS = (locking.LEVEL_NODE, locking.LEVEL_NODE_RES)

  def CheckPrereq(self) -> None:
    super().CheckPrereq()
    master = [self.cfg.GetMasterNode()]
    self.hook_nodes = (master, master + list(self.cfg.GetInstanceNodes(self.instance.uuid)))

  def HookOverrides(self) -> dict[str, Any]:
    return {"SHUTDOWN_TIMEOUT": self.op.shutdown_timeout}

  def Exec(self, feedback_fn: Any) -> None:
    inst = self.instance
    self.LogInfo("Shutting down instance %s on node %s", inst.name,
                 self.cfg.GetNodeName(inst.primary_node))
    result = self.rpc.call_instance_shutdown(inst.primary_node, inst,
                                             self.op.shutdown_timeout, self.op.reason)
    if result.fail_msg:
      if not self.op.ignore_failures:
        raise errors.OpExecError("Could not shutdown instance %s on node %s: %s" %
                                 (inst.name, self.cfg.GetNodeName(inst.primary_node),
                                  result.fail_msg))
      feedback_fn("Warning: can't shutdown instance: %s" % result.fail_msg)
    self.LogInfo("Removing block devices for instance %s", inst.name)
    if not iu.RemoveDisks(self, inst, ignore_failures=self.op.ignore_failures):
      raise errors.OpExecError("Can't remove instance's disks")
    self.LogInfo("Removing instance %s out of cluster config", inst.name)
    self.cfg.RemoveInstance(inst.uuid)
    self.remove_locks[locking.LEVEL_INSTANCE] = [inst.name]


class LUInstanceActivateDisks(_InstanceLU):
  HPATH = None
  HTYPE = None

  def CheckPrereq(self) -> None:
    super().CheckPrereq()
    iu.CheckNodeOnline(self, self.instance.primary_node)

  def Exec(self, feedback_fn: Any) -> list:
    ok, device_info = iu.AssembleInstanceDisks(self, self.instance,
                                               ignore_size=self.op.ignore_size)
    if not ok:
      raise errors.OpExecError("Cannot activate block devices")
    if self.op.wait_for_sync and not instance_disks.WaitForSync(self, self.instance):
      self.cfg.MarkInstanceDisksInactive(self.instance.uuid)
      raise errors.OpExecError("Some disks of the instance are degraded!")
    return device_info


class LUInstanceDeactivateDisks(_InstanceLU):
  HPATH = None
  HTYPE = None

  def Exec(self, feedback_fn: Any) -> None:
    inst = self.instance
    if not self.op.force:
      running = iu.RunningInfo(self, inst)
      if running is not None:
        raise errors.OpExecError("Instance is running, can't shutdown block devices.")
    iu.ShutdownInstanceDisks(self, inst, ignore_primary=self.op.force)
