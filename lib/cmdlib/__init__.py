"""Logical units, one family per module; LU_FOR_OPCODE maps opcodes to them."""

from ganeti.cmdlib import cluster
from ganeti.cmdlib import query
from ganeti.cmdlib import tags
from ganeti.cmdlib import test

LU_FOR_OPCODE = {
  "OP_CLUSTER_QUERY": cluster.LUClusterQuery,
  "OP_CLUSTER_CONFIG_QUERY": cluster.LUClusterConfigQuery,
  "OP_CLUSTER_POST_INIT": cluster.LUClusterPostInit,
  "OP_CLUSTER_DESTROY": cluster.LUClusterDestroy,
  "OP_CLUSTER_SET_PARAMS": cluster.LUClusterSetParams,
  "OP_QUERY": query.LUQuery,
  "OP_QUERY_FIELDS": query.LUQueryFields,
  "OP_TAGS_GET": tags.LUTagsGet,
  "OP_TAGS_SET": tags.LUTagsSet,
  "OP_TAGS_DEL": tags.LUTagsDel,
  "OP_TAGS_SEARCH": tags.LUTagsSearch,
  "OP_TEST_DELAY": test.LUTestDelay,
  "OP_TEST_JQUEUE": test.LUTestJqueue,
  "OP_TEST_DUMMY": test.LUTestDummy,
}
