"""ExtStorage provider queries (gnt-storage): the providers the nodes report,
merged per provider and judged per node group.

A provider is usable in a node group when every node of the group that
answered has it and its first directory there (earliest on the search path)
is a complete provider.  Its parameters are those all such nodes declare.
"""

from typing import Any, Optional

from ganeti import constants
from ganeti.query.common import DATA_LIVE, NODATA, FieldSet, Fields
from ganeti.query.oses import CollectDiagnoses, Common

# Fields of one node's entry in node_status: path, status, diagnose, parameters
_STATUS, _PARAMETERS = 1, 3


def MergeProvider(name: str, node_status: dict[str, list], cfg: Any) -> dict[str, Any]:
  """The query item (field name -> value) of one provider."""
  groups: dict[str, list[Optional[list]]] = {}
  for uuid, entries in node_status.items():
    group = cfg.GetNodeGroup(cfg.GetNodeInfo(uuid).group)
    groups.setdefault(group.name, []).append(entries[0] if entries else None)
  group_status = {group: all(first is not None and first[_STATUS] for first in firsts)
                  for group, firsts in groups.items()}
  usable = [first for group, firsts in groups.items() if group_status[group]
            for first in firsts]
  return {
    "name": name,
    "node_status": node_status,
    "nodegroup_status": group_status,
    "parameters": Common([first[_PARAMETERS] for first in usable]) if usable else [],
  }


def ProviderItems(cfg: Any, rpc: Any, names: Optional[list] = None) -> list[dict[str, Any]]:
  """Query items of the providers the nodes know (only the named ones if
  given), by name."""
  diagnoses = CollectDiagnoses(cfg, rpc.call_extstorage_diagnose, "ExtStorage list")
  wanted = diagnoses if names is None else [name for name in names if name in diagnoses]
  return [MergeProvider(name, diagnoses[name], cfg) for name in sorted(set(wanted))]


def _Key(key: str) -> Any:
  return lambda ctx, item: item.get(key, NODATA)


FIELDS = FieldSet(constants.QR_EXTSTORAGE, Fields(
  (name, title, kind, doc, _Key(name), DATA_LIVE) for name, title, kind, doc in [
    ("name", "Name", constants.QFT_TEXT, "ExtStorage provider name"),
    ("node_status", "NodeStatus", constants.QFT_OTHER,
     "Per node: the provider's directories, each with usability, diagnosis and"
     " parameters"),
    ("nodegroup_status", "NodegroupStatus", constants.QFT_OTHER,
     "Whether the provider is usable in each node group"),
    ("parameters", "Parameters", constants.QFT_OTHER,
     "Parameters the provider accepts, with their descriptions"),
  ]), namefield="name")
