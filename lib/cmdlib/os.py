"""Logical units of OS definitions (gnt-os list/info/diagnose) and of
ExtStorage providers (gnt-storage diagnose/info)."""

from typing import Any, Optional

from ganeti import constants
from ganeti import errors
from ganeti import paramdefs
from ganeti import qlang
from ganeti import query
from ganeti.cmdlib.base import NoHooksLU
from ganeti.query import extstorage, oses
from ganeti.constants import (
  DDM_ADD, DDM_REMOVE, OS_VALIDATE_PARAMETERS)

# Actions on the hidden/blacklisted OS lists (Ganeti's DDM_ADD, DDM_REMOVE)

# What os_validate checks of parameters (Ganeti's OS_VALIDATE_PARAMETERS)

# Status fields whose OSes a diagnose leaves out unless the field is asked
# for: (field, value an OS must have to be listed)
_LEGACY_STATUS_FILTERS = (("hidden", False), ("blacklisted", False), ("valid", True))


def DiagnoseFilter(fields: list[str], names: Optional[list[str]]) -> Optional[list]:
  """The query filter of an OS diagnose: the names, and (as Ganeti always did)
  no hidden, blacklisted or invalid OS unless that field is requested."""
  conditions = []
  name_filter = qlang.MakeSimpleFilter("name", names)
  if name_filter:
    conditions.append(name_filter)
  for field, wanted in _LEGACY_STATUS_FILTERS:
    if field not in fields:
      condition = [qlang.OP_TRUE, field]
      conditions.append(condition if wanted else [qlang.OP_NOT, condition])
  if not conditions:
    return None
  return [qlang.OP_AND] + conditions


class LUOsDiagnose(NoHooksLU):
  """The OSes the nodes know, one row of the requested fields per OS."""

  REQ_BGL = False

  def ExpandNames(self) -> None:
    self.needed_locks = {}

  def Exec(self, feedback_fn: Any) -> list[list]:
    fields = self.op.output_fields
    names = self.op.names or None
    osquery = query.Query(query.GetFieldSet(constants.QR_OS), fields,
                          DiagnoseFilter(fields, names))
    return osquery.OldStyleQuery(None, oses.OsItems(self.cfg, self.rpc, names))


# ---- per-OS settings of the cluster (gnt-os modify) -------------------------------

def UpdatedOsParams(current: dict[str, dict], changes: dict[str, dict]) -> dict[str, dict]:
  """Per-OS parameters after changes: a value "default" or None removes the
  parameter, and an OS left without parameters is dropped."""
  result = {name: dict(params) for name, params in current.items()}
  for os_name, params in changes.items():
    merged = result.get(os_name, {})
    for key, value in params.items():
      if value is None or value == paramdefs.VALUE_DEFAULT:
        merged.pop(key, None)
      else:
        merged[key] = value
    if merged:
      result[os_name] = merged
    else:
      result.pop(os_name, None)
  return result


def UpdatedOsHvp(current: dict[str, dict], changes: dict[str, dict]) -> dict[str, dict]:
  """Per-OS hypervisor parameters after changes: a hypervisor given None loses
  its parameters, and an OS left without any is dropped."""
  result = {name: {hv: dict(params) for hv, params in hvs.items()}
            for name, hvs in current.items()}
  for os_name, hvs in changes.items():
    merged = result.setdefault(os_name, {})
    for hv_name, params in hvs.items():
      if params is None:
        merged.pop(hv_name, None)
      else:
        merged.setdefault(hv_name, {}).update(params)
    if not merged:
      del result[os_name]
  return result


def ValidateOsParams(lu: Any, required: bool, node_uuids: list[str], os_name: str,
                     params: dict) -> None:
  """Has the nodes check an OS's parameters (RPC os_validate).

  A node without the OS fails the check only if required; otherwise the
  check there is skipped with a message.
  """
  results = lu.rpc.call_os_validate(node_uuids, required, os_name,
                                    [OS_VALIDATE_PARAMETERS], params, False)
  for uuid, result in results.items():
    node_name = lu.cfg.GetNodeName(uuid)
    result.Raise("OS Parameters validation failed on node %s" % node_name)
    if not result.payload:
      lu.LogInfo("OS %s not found on node %s, validation skipped", os_name, node_name)


def ChangeOsList(current: list[str], changes: list, description: str,
                 feedback_fn: Any) -> list[str]:
  """A hidden/blacklisted OS list after (action, OS name) changes."""
  result = list(current)
  for action, os_name in changes:
    if action == DDM_ADD:
      if os_name in result:
        feedback_fn("OS %s already in %s, ignoring" % (os_name, description))
      else:
        result.append(os_name)
    elif action == DDM_REMOVE:
      if os_name in result:
        result.remove(os_name)
      else:
        feedback_fn("OS %s not found in %s, ignoring" % (os_name, description))
    else:
      raise errors.OpPrereqError("Invalid OS modification '%s'" % action,
                                 errors.ECODE_INVAL)
  return result


class LUExtStorageDiagnose(NoHooksLU):
  """The ExtStorage providers the nodes know, one row of the requested fields
  per provider."""

  REQ_BGL = False

  def ExpandNames(self) -> None:
    self.needed_locks = {}

  def Exec(self, feedback_fn: Any) -> list[list]:
    names = self.op.names or None
    # as in Ganeti 3.0, only this opcode queries providers (not Query/OpQuery)
    providers = query.Query(extstorage.FIELDS, self.op.output_fields,
                            qlang.MakeSimpleFilter("name", names))
    return providers.OldStyleQuery(None, extstorage.ProviderItems(self.cfg, self.rpc, names))
