"""Fields of the "group" resource (items: objects.NodeGroup, context: ConfigContext)."""

from ganeti import constants
from ganeti.query import params
from ganeti.query.common import (Attr, FieldSet, Fields, SerialField, TagsField,
                                 TimestampFields, UuidField)

FIELDS = FieldSet(constants.QR_GROUP, Fields([
  ("name", "Group", constants.QFT_TEXT, "Group name", Attr("name")),
  ("alloc_policy", "AllocPolicy", constants.QFT_TEXT, "Allocation policy for group",
   Attr("alloc_policy")),
  ("custom_diskparams", "CustomDiskParameters", constants.QFT_OTHER,
   "Custom disk parameters", lambda ctx, group: group.diskparams or {}),
  ("custom_ipolicy", "CustomInstancePolicy", constants.QFT_OTHER,
   "Custom instance policy limitations", lambda ctx, group: group.ipolicy or {}),
  ("custom_ndparams", "CustomNDParams", constants.QFT_OTHER, "Custom node parameters",
   lambda ctx, group: group.ndparams or {}),
  ("diskparams", "DiskParameters", constants.QFT_OTHER, "Disk parameters (merged)",
   lambda ctx, group: ctx.cluster.FillDP(group)),
  ("ipolicy", "InstancePolicy", constants.QFT_OTHER, "Instance policy limitations (merged)",
   lambda ctx, group: ctx.cluster.FillIPolicy(group)),
  ("ndparams", "NDParams", constants.QFT_OTHER, "Node parameters",
   lambda ctx, group: ctx.FilledGroupND(group)),
  ("node_cnt", "Nodes", constants.QFT_NUMBER, "Number of nodes",
   lambda ctx, group: len(ctx.GroupNodes(group.uuid))),
  ("node_list", "NodeList", constants.QFT_OTHER, "List of nodes",
   lambda ctx, group: ctx.GroupNodes(group.uuid)),
  ("pinst_cnt", "Instances", constants.QFT_NUMBER, "Number of primary instances",
   lambda ctx, group: len(ctx.GroupInstances(group.uuid))),
  ("pinst_list", "InstanceList", constants.QFT_OTHER, "List of primary instances",
   lambda ctx, group: ctx.GroupInstances(group.uuid)),
]) + params.NodeParamFields(lambda ctx, group: ctx.GroupNodeLayers(group))
  + TimestampFields() + [SerialField("Group"), TagsField(), UuidField("Group")],
  namefield="name")
