"""Hypervisors this implementation knows by their parameters only.

Xen, LXC and chroot parameters can be set and are syntax-checked on the
master like Ganeti does, so clusters can carry them; no node runs instances
under them yet: every node-side operation fails with a clear message and
Verify reports the hypervisor unusable.
"""

from typing import Any, Optional

from ganeti import constants
from ganeti import errors
from ganeti import objects
from ganeti.hypervisor import hv_base
from ganeti.hypervisor.hv_base import (
  ABS_PATH_CHECK, MIGRATION_MODE_CHECK, NET_PORT_CHECK, NON_NEGATIVE_INT_CHECK,
  OneOf, ParamCheck)

# Value sets (constants HT_*)
REBOOT_BEHAVIORS = ("reboot", "exit")
HT_HVM_VALID_DISK_TYPES = ("ioemu", "paravirtual")
HT_HVM_VALID_NIC_TYPES = ("e1000", "ne2k_isa", "ne2k_pci", "paravirtual", "rtl8139")
HT_HVM_VALID_VIF_TYPES = ("ioemu", "vif")
XEN_COMMANDS = ("xm", "xl")

_MIGRATION = {
  "migration_mode": ParamCheck(True, MIGRATION_MODE_CHECK),
  "migration_port": ParamCheck(True, NET_PORT_CHECK),
  "reboot_behavior": ParamCheck(True, OneOf(REBOOT_BEHAVIORS)),
}
_CPU_WEIGHTS = {
  "cpu_cap": ParamCheck(False, NON_NEGATIVE_INT_CHECK),
  "cpu_weight": ParamCheck(False, NON_NEGATIVE_INT_CHECK),
}


class _ParametersOnly(hv_base.BaseHypervisor):
  """Parameter checks of a hypervisor no node of this implementation runs."""

  def _Unsupported(self, *_args: Any, **_kwargs: Any) -> Any:
    raise errors.HypervisorError("Hypervisor %s is not supported by this node" % self.NAME)

  StartInstance = StopInstance = RebootInstance = BalloonInstanceMemory = _Unsupported
  GetNodeInfo = _Unsupported
  MigrationInfo = AcceptInstance = FinalizeMigrationDst = _Unsupported
  MigrateInstance = FinalizeMigrationSource = GetMigrationStatus = _Unsupported

  # nothing can run under it here
  def ListInstances(self, hvparams: Optional[dict] = None) -> list[str]:
    return []

  def GetInstanceInfo(self, instance_name: str,
                      hvparams: Optional[dict] = None) -> Optional[hv_base.InstanceInfo]:
    return None

  def GetAllInstancesInfo(self, hvparams: Optional[dict] = None
                          ) -> list[hv_base.InstanceInfo]:
    return []

  def Verify(self, hvparams: Optional[dict] = None) -> Optional[str]:
    return "Hypervisor %s is not supported by this node" % self.NAME

  @classmethod
  def GetInstanceConsole(cls, instance: objects.Instance, primary_node: Any,
                         node_group: Any, hvparams: dict,
                         beparams: dict) -> hv_base.InstanceConsole:
    return hv_base.ConsoleMessage(instance, "Console not available for %s hypervisor"
                                  " on this cluster" % cls.NAME)


class XenPvmHypervisor(_ParametersOnly):
  NAME = constants.HT_XEN_PVM
  CAN_MIGRATE = True
  PARAMETERS = hv_base.ParametersFromDefaults(NAME, {
    **_MIGRATION, **_CPU_WEIGHTS,
    "kernel_path": ParamCheck(False, ABS_PATH_CHECK),
    "initrd_path": ParamCheck(False, ABS_PATH_CHECK),
    "bootloader_path": ParamCheck(False, ABS_PATH_CHECK),
    "xen_cmd": ParamCheck(True, OneOf(XEN_COMMANDS)),
  })


class XenHvmHypervisor(_ParametersOnly):
  NAME = constants.HT_XEN_HVM
  CAN_MIGRATE = True
  PARAMETERS = hv_base.ParametersFromDefaults(NAME, {
    **_MIGRATION, **_CPU_WEIGHTS,
    "disk_type": ParamCheck(True, OneOf(HT_HVM_VALID_DISK_TYPES)),
    "nic_type": ParamCheck(True, OneOf(HT_HVM_VALID_NIC_TYPES)),
    "vif_type": ParamCheck(False, OneOf(HT_HVM_VALID_VIF_TYPES)),
    "device_model": ParamCheck(True, ABS_PATH_CHECK),
    "kernel_path": ParamCheck(False, ABS_PATH_CHECK),
    "cdrom_image_path": ParamCheck(False, ABS_PATH_CHECK),
    "vnc_password_file": ParamCheck(True, ABS_PATH_CHECK),
    "xen_cmd": ParamCheck(True, OneOf(XEN_COMMANDS)),
  })


class LxcHypervisor(_ParametersOnly):
  NAME = constants.HT_LXC
  PARAMETERS = hv_base.ParametersFromDefaults(NAME, {
    "num_ttys": ParamCheck(False, NON_NEGATIVE_INT_CHECK),
    "startup_timeout": ParamCheck(False, NON_NEGATIVE_INT_CHECK),
  })


class ChrootHypervisor(_ParametersOnly):
  NAME = constants.HT_CHROOT
  PARAMETERS = hv_base.ParametersFromDefaults(NAME, {
    "init_script": ParamCheck(True, ABS_PATH_CHECK),
  })
