"""Logical units, one family per module; LU_FOR_OPCODE maps opcodes to them."""

from ganeti.cmdlib import backup
from ganeti.cmdlib import cluster
from ganeti.cmdlib import cluster_ops
from ganeti.cmdlib import cluster_verify
from ganeti.cmdlib import cluster_verify_disks
from ganeti.cmdlib import group
from ganeti.cmdlib import instance_create
from ganeti.cmdlib import instance_multialloc
from ganeti.cmdlib import instance_ops
from ganeti.cmdlib import instance_set_params
from ganeti.cmdlib import instance_replace_disks
from ganeti.cmdlib import instance_storage
from ganeti.cmdlib import instance_migration
from ganeti.cmdlib import instance_query
from ganeti.cmdlib import network
from ganeti.cmdlib import node
from ganeti.cmdlib import node_oob
from ganeti.cmdlib import node_storage
from ganeti.cmdlib import os as os_lu
from ganeti.cmdlib import query
from ganeti.cmdlib import tags
from ganeti.cmdlib import test
from ganeti.cmdlib import iallocator

LU_FOR_OPCODE = {
  "OP_EXT_STORAGE_DIAGNOSE": os_lu.LUExtStorageDiagnose,
  "OP_CLUSTER_QUERY": cluster.LUClusterQuery,
  "OP_CLUSTER_CONFIG_QUERY": cluster.LUClusterConfigQuery,
  "OP_CLUSTER_POST_INIT": cluster.LUClusterPostInit,
  "OP_CLUSTER_DESTROY": cluster.LUClusterDestroy,
  "OP_CLUSTER_SET_PARAMS": cluster.LUClusterSetParams,
  "OP_CLUSTER_REDIST_CONF": cluster_ops.LUClusterRedistConf,
  "OP_CLUSTER_RENAME": cluster_ops.LUClusterRename,
  "OP_CLUSTER_ACTIVATE_MASTER_IP": cluster_ops.LUClusterActivateMasterIp,
  "OP_CLUSTER_DEACTIVATE_MASTER_IP": cluster_ops.LUClusterDeactivateMasterIp,
  "OP_CLUSTER_RENEW_CRYPTO": cluster_ops.LUClusterRenewCrypto,
  "OP_CLUSTER_REPAIR_DISK_SIZES": cluster_ops.LUClusterRepairDiskSizes,
  "OP_CLUSTER_VERIFY": cluster_verify.LUClusterVerify,
  "OP_CLUSTER_VERIFY_CONFIG": cluster_verify.LUClusterVerifyConfig,
  "OP_CLUSTER_VERIFY_GROUP": cluster_verify.LUClusterVerifyGroup,
  "OP_CLUSTER_VERIFY_DISKS": cluster_verify_disks.LUClusterVerifyDisks,
  "OP_GROUP_VERIFY_DISKS": cluster_verify_disks.LUGroupVerifyDisks,
  "OP_NODE_ADD": node.LUNodeAdd,
  "OP_NODE_REMOVE": node.LUNodeRemove,
  "OP_NODE_SET_PARAMS": node.LUNodeSetParams,
  "OP_NODE_POWERCYCLE": node.LUNodePowercycle,
  "OP_RESTRICTED_COMMAND": node.LURestrictedCommand,
  "OP_OOB_COMMAND": node_oob.LUOobCommand,
  "OP_NODE_QUERYVOLS": node_storage.LUNodeQueryvols,
  "OP_NODE_QUERY_STORAGE": node_storage.LUNodeQueryStorage,
  "OP_NODE_MODIFY_STORAGE": node_storage.LUNodeModifyStorage,
  "OP_REPAIR_NODE_STORAGE": node_storage.LURepairNodeStorage,
  "OP_QUERY": query.LUQuery,
  "OP_QUERY_FIELDS": query.LUQueryFields,
  "OP_TAGS_GET": tags.LUTagsGet,
  "OP_TAGS_SET": tags.LUTagsSet,
  "OP_TAGS_DEL": tags.LUTagsDel,
  "OP_TAGS_SEARCH": tags.LUTagsSearch,
  "OP_TEST_DELAY": test.LUTestDelay,
  "OP_TEST_JQUEUE": test.LUTestJqueue,
  "OP_TEST_DUMMY": test.LUTestDummy,
  "OP_GROUP_ADD": group.LUGroupAdd,
  "OP_GROUP_ASSIGN_NODES": group.LUGroupAssignNodes,
  "OP_GROUP_SET_PARAMS": group.LUGroupSetParams,
  "OP_GROUP_REMOVE": group.LUGroupRemove,
  "OP_GROUP_RENAME": group.LUGroupRename,
  "OP_GROUP_EVACUATE": group.LUGroupEvacuate,
  "OP_NETWORK_ADD": network.LUNetworkAdd,
  "OP_NETWORK_REMOVE": network.LUNetworkRemove,
  "OP_NETWORK_SET_PARAMS": network.LUNetworkSetParams,
  "OP_NETWORK_CONNECT": network.LUNetworkConnect,
  "OP_NETWORK_DISCONNECT": network.LUNetworkDisconnect,
  "OP_OS_DIAGNOSE": os_lu.LUOsDiagnose,
  "OP_INSTANCE_CREATE": instance_create.LUInstanceCreate,
  "OP_INSTANCE_MULTI_ALLOC": instance_multialloc.LUInstanceMultiAlloc,
  "OP_INSTANCE_STARTUP": instance_ops.LUInstanceStartup,
  "OP_INSTANCE_SHUTDOWN": instance_ops.LUInstanceShutdown,
  "OP_INSTANCE_REBOOT": instance_ops.LUInstanceReboot,
  "OP_INSTANCE_REMOVE": instance_ops.LUInstanceRemove,
  "OP_INSTANCE_ACTIVATE_DISKS": instance_ops.LUInstanceActivateDisks,
  "OP_INSTANCE_DEACTIVATE_DISKS": instance_ops.LUInstanceDeactivateDisks,
  "OP_INSTANCE_QUERY_DATA": instance_query.LUInstanceQueryData,
  "OP_INSTANCE_CONSOLE": instance_query.LUInstanceConsole,
  "OP_INSTANCE_RENAME": instance_query.LUInstanceRename,
  "OP_INSTANCE_REINSTALL": instance_query.LUInstanceReinstall,
  "OP_INSTANCE_FAILOVER": instance_migration.LUInstanceFailover,
  "OP_INSTANCE_MIGRATE": instance_migration.LUInstanceMigrate,
  "OP_INSTANCE_MOVE": instance_migration.LUInstanceMove,
  "OP_NODE_MIGRATE": instance_migration.LUNodeMigrate,
  "OP_NODE_EVACUATE": instance_migration.LUNodeEvacuate,
  "OP_INSTANCE_SET_PARAMS": instance_set_params.LUInstanceSetParams,
  "OP_INSTANCE_GROW_DISK": instance_storage.LUInstanceGrowDisk,
  "OP_INSTANCE_RECREATE_DISKS": instance_storage.LUInstanceRecreateDisks,
  "OP_INSTANCE_REPLACE_DISKS": instance_replace_disks.LUInstanceReplaceDisks,
  "OP_INSTANCE_CHANGE_GROUP": instance_storage.LUInstanceChangeGroup,
  "OP_TEST_ALLOCATOR": iallocator.LUTestAllocator,
  "OP_BACKUP_PREPARE": backup.LUBackupPrepare,
  "OP_BACKUP_EXPORT": backup.LUBackupExport,
  "OP_BACKUP_REMOVE": backup.LUBackupRemove,
}
