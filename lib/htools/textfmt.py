"""The htools text format (-t FILE, -S FILE): read and write.

Five sections of pipe-separated lines, each section ended by one empty line
(so an empty section is a lone empty line): groups, nodes, instances,
cluster tags, instance policies.  Columns are listed in COLUMNS below in
file order.
"""

from typing import Optional

from ganeti.htools import model

COLUMNS = {
  "group": ("name", "uuid", "alloc_policy", "tags", "networks"),
  "node": ("name", "t_mem", "n_mem", "f_mem", "t_dsk", "f_dsk", "t_cpu", "role", "group",
           "spindles", "tags", "excl_stor", "free_spindles", "n_cpu", "cpu_speed"),
  "instance": ("name", "mem", "dsk", "vcpus", "status", "auto_balance", "pnode", "snode",
               "template", "tags", "spindle_use", "spindles", "forthcoming"),
  "ipolicy": ("owner", "std", "minmax", "disk_templates", "vcpu_ratio", "spindle_ratio"),
}
_NODE_NUMERIC = ("t_mem", "n_mem", "f_mem", "t_dsk", "f_dsk", "t_cpu")


class FormatError(Exception):
  pass


def _Sections(text: str) -> list[list[str]]:
  sections: list[list[str]] = [[]]
  for line in text.split("\n"):
    if line:
      sections[-1].append(line)
    else:
      sections.append([])
  while len(sections) > 1 and not sections[-1]:
    sections.pop()
  return sections


def _Row(kind: str, line: str, minimum: int) -> dict[str, str]:
  fields = line.split("|")
  if len(fields) < minimum:
    raise FormatError("Invalid/incomplete %s data: '%s'" % (kind, line))
  names = COLUMNS[kind]
  return {name: (fields[pos] if pos < len(fields) else "") for pos, name in enumerate(names)}


def _Bool(value: str, default: bool = False) -> bool:
  if value in ("Y", "y"):
    return True
  if value in ("N", "n"):
    return False
  if value == "":
    return default
  raise FormatError("Invalid boolean value '%s'" % value)


def _List(value: str) -> list[str]:
  return [item for item in value.split(",") if item]


def ParseSpec(text: str) -> model.ISpec:
  values = [int(value) for value in text.split(",")]
  if len(values) != len(model.ISpec.FIELDS):
    raise FormatError("Invalid instance spec '%s'" % text)
  return model.ISpec(*values)


def FormatSpec(spec: model.ISpec) -> str:
  return ",".join(str(value) for value in spec.Values())


def ParseIPolicy(row: dict[str, str]) -> model.IPolicy:
  specs = [ParseSpec(part) for part in row["minmax"].split(";") if part]
  if len(specs) % 2:
    raise FormatError("Invalid min/max specs '%s'" % row["minmax"])
  minmax = [(specs[pos], specs[pos + 1]) for pos in range(0, len(specs), 2)]
  return model.IPolicy(minmax, ParseSpec(row["std"]), _List(row["disk_templates"]),
                       float(row["vcpu_ratio"]), float(row["spindle_ratio"]))


def FormatIPolicy(owner: str, policy: model.IPolicy) -> str:
  minmax = ";".join("%s;%s" % (FormatSpec(low), FormatSpec(high)) for low, high in policy.minmax)
  return "|".join([owner, FormatSpec(policy.std), minmax, ",".join(policy.disk_templates),
                   repr(float(policy.vcpu_ratio)), repr(float(policy.spindle_ratio))])


def Parse(text: str) -> model.Cluster:
  """Builds a cluster from the text format."""
  sections = _Sections(text) + [[]] * 5
  group_lines, node_lines, inst_lines, tag_lines, policy_lines = sections[:5]
  groups = []
  group_by_uuid: dict[str, int] = {}
  for line in group_lines:
    row = _Row("group", line, 3)
    group_by_uuid[row["uuid"]] = len(groups)
    groups.append(model.Group(row["name"], row["uuid"], row["alloc_policy"],
                              _List(row["tags"]), _List(row["networks"])))
  nodes = []
  node_by_name: dict[str, int] = {}
  for line in node_lines:
    row = _Row("node", line, 8)
    if row["group"] not in group_by_uuid:
      if row["group"] or groups:
        raise FormatError("Unknown group '%s' for node %s" % (row["group"], row["name"]))
      group_by_uuid[""] = len(groups)
      groups.append(model.Group("default", "", "preferred"))
    unknown = any(row[name] == "?" for name in _NODE_NUMERIC)
    numbers = {name: (0 if unknown else int(float(row[name]))) for name in _NODE_NUMERIC}
    node = model.Node(
      row["name"], numbers["t_mem"], numbers["n_mem"], numbers["f_mem"], numbers["t_dsk"],
      numbers["f_dsk"], numbers["t_cpu"], offline=unknown or row["role"] == "Y",
      group=group_by_uuid[row["group"]], spindles=int(row["spindles"] or 1),
      tags=_List(row["tags"]), master=row["role"] == "M", excl_stor=_Bool(row["excl_stor"]),
      free_spindles=int(row["free_spindles"] or 0), n_cpu=int(row["n_cpu"] or 1),
      cpu_speed=float(row["cpu_speed"] or 1.0))
    node_by_name[node.name] = len(nodes)
    nodes.append(node)
  instances = []
  for line in inst_lines:
    row = _Row("instance", line, 9)

    def _NodeIndex(name: str) -> int:
      if not name:
        return model.NO_NODE
      if name not in node_by_name:
        raise FormatError("Unknown node '%s' for instance %s" % (name, row["name"]))
      return node_by_name[name]

    spindles = row["spindles"]
    instances.append(model.Instance(
      row["name"], int(row["mem"]), int(row["dsk"]), int(row["vcpus"]), row["status"],
      _Bool(row["auto_balance"], True), _NodeIndex(row["pnode"]), _NodeIndex(row["snode"]),
      row["template"], _List(row["tags"]), int(row["spindle_use"] or 1),
      int(spindles) if spindles not in ("", "-") else None, _Bool(row["forthcoming"])))
  ipolicy: Optional[model.IPolicy] = None
  for line in policy_lines:
    row = _Row("ipolicy", line, 6)
    policy = ParseIPolicy(row)
    if not row["owner"]:
      ipolicy = policy
    else:
      for group in groups:
        if group.name == row["owner"]:
          group.ipolicy = policy
  return model.Cluster(groups, nodes, instances, tag_lines, ipolicy)


def Load(path: str) -> model.Cluster:
  with open(path, encoding="utf-8") as handle:
    return Parse(handle.read())


def _YN(value: bool) -> str:
  return "Y" if value else "N"


def Serialize(cluster: model.Cluster) -> str:
  """The text format of a cluster (the inverse of Parse)."""
  groups = ["|".join([g.name, g.uuid, g.alloc_policy, ",".join(g.tags), ",".join(g.networks)])
            for g in cluster.groups]
  nodes = []
  for node in cluster.nodes:
    role = "Y" if node.offline else ("M" if node.master else "N")
    nodes.append("|".join(str(value) for value in (
      node.name, node.t_mem, node.n_mem, node.f_mem, node.t_dsk, node.f_dsk, node.t_cpu, role,
      cluster.groups[node.group].uuid, node.spindles, ",".join(node.tags), _YN(node.excl_stor),
      node.free_spindles, node.n_cpu, repr(float(node.cpu_speed)))))
  instances = []
  for inst in cluster.instances:
    names = [cluster.nodes[idx].name if idx != model.NO_NODE else "" for idx in (inst.pnode, inst.snode)]
    instances.append("|".join(str(value) for value in (
      inst.name, inst.mem, inst.dsk, inst.vcpus, inst.status, _YN(inst.auto_balance), names[0],
      names[1], inst.template, ",".join(inst.tags), inst.spindle_use,
      "-" if inst.spindles is None else inst.spindles, _YN(inst.forthcoming))))
  policies = [FormatIPolicy("", cluster.ipolicy)]
  policies += [FormatIPolicy(g.name, g.ipolicy) for g in cluster.groups if g.ipolicy is not None]
  sections = [groups, nodes, instances, list(cluster.tags), policies]
  return "\n".join("".join(line + "\n" for line in section) for section in sections)


def Save(cluster: model.Cluster, path: str) -> None:
  with open(path, "w", encoding="utf-8") as handle:
    handle.write(Serialize(cluster))
