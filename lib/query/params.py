"""Fields for single parameters: hv/*, be/* (instances) and ndp/* (nodes, groups)."""

from typing import Any, Callable

from ganeti import constants
from ganeti import paramdefs
from ganeti.query.common import UNAVAIL, FieldDef

# Query field kind of each parameter value type
_KIND_OF_TYPE = {
  paramdefs.VTYPE_STRING: constants.QFT_OTHER,
  paramdefs.VTYPE_MAYBE_STRING: constants.QFT_OTHER,
  paramdefs.VTYPE_BOOL: constants.QFT_BOOL,
  paramdefs.VTYPE_SIZE: constants.QFT_UNIT,
  paramdefs.VTYPE_INT: constants.QFT_NUMBER,
  paramdefs.VTYPE_FLOAT: constants.QFT_NUMBER_FLOAT,
}

# Titles of parameters that have one; the others are titled like the field
_HV_TITLES = {
  "acpi": "ACPI",
  "boot_order": "Boot_order",
  "cdrom_image_path": "CDROM_image_path",
  "cpu_type": "cpu_type",
  "disk_type": "Disk_type",
  "initrd_path": "Initrd_path",
  "kernel_path": "Kernel_path",
  "nic_type": "NIC_type",
  "pae": "PAE",
  "pci_pass": "pci_pass",
  "vnc_bind_address": "VNC_bind_address",
}
BE_TITLES = {
  paramdefs.BE_AUTO_BALANCE: "Auto_balance",
  paramdefs.BE_MAXMEM: "ConfigMaxMem",
  paramdefs.BE_MINMEM: "ConfigMinMem",
  paramdefs.BE_VCPUS: "ConfigVCPUs",
}
_ND_TITLES = {
  paramdefs.ND_EXCLUSIVE_STORAGE: "ExclusiveStorage",
  paramdefs.ND_OOB_PROGRAM: "OutOfBandProgram",
  paramdefs.ND_OVS: "OpenvSwitch",
  paramdefs.ND_OVS_LINK: "OpenvSwitchLink",
  paramdefs.ND_OVS_NAME: "OpenvSwitchName",
  paramdefs.ND_SPINDLE_COUNT: "SpindleCount",
}


Layers = Callable[[Any, Any], tuple]  # (ctx, item) -> dicts, most specific first


def ParamGetter(name: str, layers: Layers) -> Callable:
  """The effective value of parameter name; unavailable if no layer has it
  (a parameter of another hypervisor)."""
  def get(ctx: Any, item: Any) -> Any:
    for source in layers(ctx, item):
      if name in source:
        return source[name]
    return UNAVAIL
  return get


def _ParamFields(prefix: str, family: str, types: dict, titles: dict,
                 layers: Layers) -> list[FieldDef]:
  """One field per parameter: prefix/name, the item's effective value."""
  fields = []
  for name, vtype in types.items():
    field_name = "%s/%s" % (prefix, name)
    fields.append(FieldDef(field_name, titles.get(name, field_name), _KIND_OF_TYPE[vtype],
                           'The "%s" %s parameter' % (name, family),
                           ParamGetter(name, layers)))
  return fields


def HypervisorFields(layers: Layers) -> list[FieldDef]:
  """hv/* fields; a parameter the instance's hypervisor lacks is unavailable."""
  types = {name: vtype for name, vtype in paramdefs.HVS_PARAMETER_TYPES.items()
           if name not in paramdefs.HVC_GLOBALS}
  return _ParamFields("hv", "hypervisor", types, _HV_TITLES, layers)


def BackendFields(layers: Layers) -> list[FieldDef]:
  """be/* fields, plus be/memory, the old name of be/maxmem."""
  fields = _ParamFields("be", "backend", paramdefs.BES_PARAMETER_TYPES, BE_TITLES, layers)
  maxmem = next(field for field in fields if field.name == "be/" + paramdefs.BE_MAXMEM)
  return fields + [FieldDef("be/" + paramdefs.BE_MEMORY, maxmem.title, maxmem.kind,
                            maxmem.doc, maxmem.getter)]


def NodeParamFields(layers: Layers) -> list[FieldDef]:
  return _ParamFields("ndp", "node", paramdefs.NDS_PARAMETER_TYPES, _ND_TITLES, layers)
