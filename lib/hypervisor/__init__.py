"""Hypervisors by name.

GetHypervisorClass gives the class (parameter syntax, console: master side);
GetHypervisor an object acting on this node.
"""

import importlib
from typing import Any

from ganeti import constants
from ganeti import errors
from ganeti.hypervisor import hv_base

# hypervisor name -> (module in this package, class name)
_CLASSES = {
  constants.HT_FAKE: ("hv_fake", "FakeHypervisor"),
  constants.HT_KVM: ("hv_kvm", "KvmHypervisor"),
  constants.HT_XEN_PVM: ("hv_unsupported", "XenPvmHypervisor"),
  constants.HT_XEN_HVM: ("hv_unsupported", "XenHvmHypervisor"),
  constants.HT_LXC: ("hv_unsupported", "LxcHypervisor"),
  constants.HT_CHROOT: ("hv_unsupported", "ChrootHypervisor"),
}


def GetHypervisorClass(name: str) -> type[hv_base.BaseHypervisor]:
  """The class of a hypervisor; HypervisorError for an unknown name."""
  where = _CLASSES.get(name)
  if where is None:
    raise errors.HypervisorError("Unknown hypervisor type '%s'" % name)
  module = importlib.import_module("ganeti.hypervisor." + where[0])
  return getattr(module, where[1])


def GetHypervisor(name: str, **kwargs: Any) -> hv_base.BaseHypervisor:
  """A hypervisor object acting on this node (kwargs go to its constructor)."""
  return GetHypervisorClass(name)(**kwargs)
