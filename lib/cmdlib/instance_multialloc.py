"""Creating several instances at once (gnt-instance batch-create, RAPI's
instances-multi-alloc).

The logical unit only decides where each instance goes: with an iallocator,
one multi-allocate request places them all together (so the allocator sees
the earlier ones' claims); without one, each definition names its nodes.  It
then submits one creation job per placed instance; instances the allocator
could not place are reported, not created.
"""

from typing import Any

from ganeti import errors
from ganeti import locking
from ganeti import objects
from ganeti import opcodes
from ganeti import paramdefs as pd
from ganeti.cmdlib import iallocator as ia
from ganeti.cmdlib import instance_create
from ganeti.cmdlib.base import CheckNodeUuidsExist, NoHooksLU, ResultWithJobs

ALLOCATABLE_KEY = "allocatable"
FAILED_KEY = "failed"


def _CreationOpcodes(definitions: list[Any]) -> list[opcodes.OpCode]:
  """The instance creation opcodes of the request, checked."""
  ops = []
  for index, definition in enumerate(definitions):
    if isinstance(definition, opcodes.OpCode):
      op = definition
    else:
      if isinstance(definition, dict) and "OP_ID" not in definition:
        definition = dict(definition, OP_ID=opcodes.OpInstanceCreate.OP_ID)
      try:
        op = opcodes.OpCode.LoadOpCode(definition)
      except ValueError as err:
        raise errors.OpPrereqError("Invalid instance definition %d: %s" % (index, err),
                                   errors.ECODE_INVAL) from None
    if not isinstance(op, opcodes.OpInstanceCreate):
      raise errors.OpPrereqError("Instance definition %d is not an instance creation"
                                 " (%s)" % (index, op.OP_ID), errors.ECODE_INVAL)
    try:
      op.Validate(True)
    except errors.OpPrereqError as err:
      raise errors.OpPrereqError("Invalid instance definition %d: %s" % (index, err.args[0]),
                                 errors.ECODE_INVAL) from None
    ops.append(op)
  return ops


class LUInstanceMultiAlloc(NoHooksLU):
  """Places several new instances and submits a creation job for each."""

  REQ_BGL = False

  def CheckArguments(self) -> None:
    self.creations = _CreationOpcodes(self.op.instances)
    if not self.creations:
      raise errors.OpPrereqError("No instances to allocate", errors.ECODE_INVAL)
    if [op for op in self.creations if op.iallocator is not None]:
      raise errors.OpPrereqError("iallocator are not allowed to be set on instance"
                                 " objects", errors.ECODE_INVAL)
    with_nodes = [op for op in self.creations if op.pnode]
    if with_nodes and len(with_nodes) != len(self.creations):
      raise errors.OpPrereqError("There are instance objects providing pnode/snode while"
                                 " others do not", errors.ECODE_INVAL)
    names = [op.instance_name for op in self.creations]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
      raise errors.OpPrereqError("There are duplicate instance names: %s" %
                                 ", ".join(duplicates), errors.ECODE_INVAL)
    if not with_nodes and self.op.iallocator is None:
      self.op.iallocator = self.cfg.GetDefaultIAllocator() or None
      if self.op.iallocator is None:
        raise errors.OpPrereqError("No iallocator or nodes on the instances given and no"
                                   " cluster-wide default iallocator found; please"
                                   " specify either an iallocator or nodes on the"
                                   " instances or set a cluster-wide default iallocator",
                                   errors.ECODE_INVAL)
    if with_nodes and self.op.iallocator is not None:
      raise errors.OpPrereqError("Give either the iallocator or the nodes of the"
                                 " instances, not both", errors.ECODE_INVAL)

  def ExpandNames(self) -> None:
    for op in self.creations:
      if self.cfg.GetInstanceInfoByName(op.instance_name) is not None:
        raise errors.OpPrereqError("Instance '%s' is already in the cluster" %
                                   op.instance_name, errors.ECODE_EXISTS)
    # only reads: the creation jobs take their own locks
    self.ShareAll()
    if self.op.iallocator:
      nodes: Any = locking.ALL_SET
    else:
      nodes = CheckNodeUuidsExist(self.cfg, [name for op in self.creations
                                             for name in (op.pnode, op.snode) if name])
    self.needed_locks = {locking.LEVEL_NODE: nodes,
                         locking.LEVEL_NODE_RES: nodes if nodes == locking.ALL_SET
                         else list(nodes)}

  def _Request(self, op: opcodes.OpCode) -> dict:
    """The allocate request describing one new instance."""
    cluster = self.cfg.GetClusterInfo()
    beparams = dict(op.beparams or {})
    objects.UpgradeBeParams(beparams)
    be_full = cluster.SimpleFillBE(beparams)
    template = op.disk_template or cluster.enabled_disk_templates[0]
    disks = [{"size": spec["size"], "mode": spec["mode"], "spindles": spec["spindles"]}
             for spec in instance_create.ParseDisks(op)]
    nics = [ia.NicData(cluster, objects.NIC(mac=spec["mac"], ip=spec["ip"],
                                            nicparams=spec["nicparams"]))
            for spec in instance_create.ParseNics(op, cluster)]
    return ia.AllocateRequest(op.instance_name, template, be_full[pd.BE_MAXMEM],
                              be_full[pd.BE_VCPUS], be_full[pd.BE_SPINDLE_USE], disks,
                              nics, op.os_type, op.tags or [],
                              op.hypervisor or cluster.enabled_hypervisors[0])

  def CheckPrereq(self) -> None:
    self.placements: dict[str, list[str]] = {}
    self.failed: list[str] = []
    if not self.op.iallocator:
      return
    request = ia.MultiAllocateRequest([self._Request(op) for op in self.creations])
    answer = ia.Run(self.cfg, self.rpc, self.op.iallocator, request)
    if not answer.success:
      raise errors.OpPrereqError("Can't compute nodes using iallocator '%s': %s" %
                                 (self.op.iallocator, answer.info), errors.ECODE_NORES)
    placed, self.failed = answer.result
    wanted = {op.instance_name: ia.RequiredNodes(request_entry["disk_template"])
              for op, request_entry in zip(self.creations, request["instances"])}
    for name, node_names in placed:
      if name not in wanted:
        raise errors.OpPrereqError("Iallocator '%s' placed unknown instance '%s'" %
                                   (self.op.iallocator, name), errors.ECODE_FAULT)
      if len(node_names) != wanted[name]:
        raise errors.OpPrereqError("iallocator '%s' returned invalid number of nodes (%s),"
                                   " required %s" % (self.op.iallocator, len(node_names),
                                                     wanted[name]), errors.ECODE_FAULT)
      ia.NodeUuidsOf(self.cfg, self.op.iallocator, node_names)  # refuses unknown nodes
      self.placements[name] = node_names
    unanswered = sorted(set(wanted) - set(self.placements) - set(self.failed))
    if unanswered:
      raise errors.OpPrereqError("Iallocator '%s' gave no answer for instances %s" %
                                 (self.op.iallocator, ", ".join(unanswered)),
                                 errors.ECODE_FAULT)

  def Exec(self, feedback_fn: Any) -> ResultWithJobs:
    # silent, as Ganeti's: the client reports the jobs and what was not placed
    jobs = []
    allocatable = []
    for op in self.creations:
      name = op.instance_name
      if self.op.iallocator:
        if name not in self.placements:
          continue
        node_names = self.placements[name]
        op.pnode = node_names[0]
        op.snode = node_names[1] if len(node_names) > 1 else None
      op.iallocator = None
      allocatable.append(name)
      jobs.append([op])
    return ResultWithJobs(jobs, **{ALLOCATABLE_KEY: allocatable, FAILED_KEY: self.failed})
