"""The built-in choice: answers iallocator requests when no script of the
requested name is installed (for example "hail" on a cluster without htools).

It reads the same input document a script gets and answers in the protocol's
shape.  The choice is simple: among the usable nodes (online, undrained,
vm-capable, in a group that accepts allocations, preferred groups before
last-resort ones) with enough free memory and disk, the one with the most
free memory.  It answers allocate, multi-allocate, relocate and
allocate-secondary requests; node-evacuate and change-group need a real
allocator.
"""

from typing import Any, Callable, Iterable, Optional

_POLICY_RANK = {"preferred": 0, "last_resort": 1}  # "unallocable" groups never take instances


def _Usable(data: dict, exclude: Iterable[str]) -> dict[str, dict]:
  groups = data["nodegroups"]
  return {name: node for name, node in data["nodes"].items()
          if "free_memory" in node and node["vm_capable"] and not node["offline"]
          and not node["drained"] and name not in exclude
          and groups.get(node["group"], {}).get("alloc_policy") in _POLICY_RANK}


def _Best(nodes: dict[str, dict], data: dict, fits: Callable[[dict], bool]) -> Optional[str]:
  """The fitting node of the most preferred group with the most free memory
  (among equals the last by name, as the choice always was)."""
  groups = data["nodegroups"]
  fitting = sorted((name for name, node in nodes.items() if fits(node)), reverse=True)
  if not fitting:
    return None
  return min(fitting, key=lambda name: (_POLICY_RANK[groups[nodes[name]["group"]]["alloc_policy"]],
                                        -nodes[name]["free_memory"]))


def _DiskFits(node: dict, disk_space: int) -> bool:
  return disk_space <= 0 or node.get("free_disk", 0) >= disk_space


def _Allocate(request: dict, data: dict, nodes: dict[str, dict]) -> tuple[Optional[list], str]:
  """(node names, "") for one new instance, or (None, why not)."""
  memory, disk_space = request["memory"], request["disk_space_total"]
  if request.get("group_name"):
    nodes = {name: node for name, node in nodes.items()
             if data["nodegroups"][node["group"]]["name"] == request["group_name"]}
  primary = _Best(nodes, data, lambda node: node["free_memory"] >= memory
                  and _DiskFits(node, disk_space))
  if primary is None:
    return None, "no node has %s MiB of free memory%s" % (
      memory, " and %s MiB of free disk" % disk_space if disk_space > 0 else "")
  chosen = [primary]
  if request["required_nodes"] > 1:
    group = nodes[primary]["group"]
    peers = {name: node for name, node in nodes.items() if name != primary
             and node["group"] == group}
    secondary = _Best(peers, data, lambda node: _DiskFits(node, disk_space))
    if secondary is None:
      return None, "no second node in the group of %s has %s MiB of free disk" % (
        primary, disk_space)
    chosen.append(secondary)
  return chosen, ""


def _Claim(nodes: dict[str, dict], chosen: list[str], request: dict) -> None:
  """Books the resources of an allocation, for the next one of a batch."""
  nodes[chosen[0]] = dict(nodes[chosen[0]],
                          free_memory=nodes[chosen[0]]["free_memory"] - request["memory"])
  for name in chosen:
    nodes[name] = dict(nodes[name], free_disk=nodes[name].get("free_disk", 0)
                       - request["disk_space_total"])


def _Success(info: str, result: Any) -> dict:
  return {"success": True, "info": info, "result": result}


def _Failure(info: str) -> dict:
  return {"success": False, "info": info, "result": []}


def _AnswerAllocate(data: dict, nodes: dict[str, dict]) -> dict:
  chosen, why = _Allocate(data["request"], data, nodes)
  if chosen is None:
    return _Failure(why)
  return _Success("Allocation successful (built-in choice)", chosen)


def _AnswerMultiAllocate(data: dict, nodes: dict[str, dict]) -> dict:
  placed, failed = [], []
  for request in data["request"]["instances"]:
    chosen, _ = _Allocate(request, data, nodes)
    if chosen is None:
      failed.append(request["name"])
      continue
    _Claim(nodes, chosen, request)
    placed.append([request["name"], chosen])
  return _Success("%d instances placed, %d failed (built-in choice)" %
                  (len(placed), len(failed)), [placed, failed])


def _OtherNodeInGroup(data: dict, nodes: dict[str, dict], instance: dict,
                      avoid: Iterable[str], disk_space: int) -> Optional[str]:
  group = data["nodes"][instance["nodes"][0]]["group"]
  peers = {name: node for name, node in nodes.items() if node["group"] == group
           and name not in instance["nodes"] and name not in avoid}
  return _Best(peers, data, lambda node: _DiskFits(node, disk_space))


def _AnswerRelocate(data: dict, nodes: dict[str, dict]) -> dict:
  request = data["request"]
  instance = data["instances"][request["name"]]
  target = _OtherNodeInGroup(data, nodes, instance, request["relocate_from"],
                             request["disk_space_total"])
  if target is None:
    return _Failure("no other node in the group can hold instance %s" % request["name"])
  return _Success("Relocation successful (built-in choice)", [target])


def _AnswerAllocateSecondary(data: dict, nodes: dict[str, dict]) -> dict:
  instance = data["instances"][data["request"]["name"]]
  target = _OtherNodeInGroup(data, nodes, instance, (), instance["disk_space_total"])
  if target is None:
    return _Failure("no other node in the group can hold instance %s" %
                    data["request"]["name"])
  return _Success("Secondary chosen (built-in choice)", target)


_ANSWER_FOR_MODE = {
  "allocate": _AnswerAllocate,
  "multi-allocate": _AnswerMultiAllocate,
  "relocate": _AnswerRelocate,
  "allocate-secondary": _AnswerAllocateSecondary,
}


def Answer(data: dict, exclude: Iterable[str] = ()) -> dict:
  """The answer to the request in data (an allocator input document); the
  nodes named in exclude are never chosen."""
  mode = data["request"]["type"]
  answer = _ANSWER_FOR_MODE.get(mode)
  if answer is None:
    return _Failure("The built-in choice does not answer %s requests; install an"
                    " allocator script for them" % mode)
  return answer(data, _Usable(data, set(exclude)))
