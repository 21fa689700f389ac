"""The options gnt-instance alone has, and how its commands select instances."""

from ganeti import constants
from ganeti.cli_opts import CliOption

# How the arguments of startup/shutdown/reboot/reinstall select instances
EXPAND_CLUSTER = "cluster"
EXPAND_NODES_BOTH = "nodes"
EXPAND_NODES_PRI = "nodes-pri"
EXPAND_NODES_SEC = "nodes-sec"
EXPAND_NODES_BOTH_BY_TAGS = "nodes-by-tags"
EXPAND_NODES_PRI_BY_TAGS = "nodes-pri-by-tags"
EXPAND_NODES_SEC_BY_TAGS = "nodes-sec-by-tags"
EXPAND_INSTANCES = "instances"
EXPAND_INSTANCES_BY_TAGS = "instances-by-tags"


def _Selection(*names: str, const: str, help: str) -> CliOption:  # pylint: disable=redefined-builtin
  return CliOption(*names, dest="multi_mode", action="store_const", const=const,
                   default=EXPAND_INSTANCES, help=help)


m_force_multi = CliOption("--force-multiple", dest="force_multi", action="store_true",
                          default=False, help="Do not ask before acting on several instances")
m_pri_node_opt = _Selection("--primary", const=EXPAND_NODES_PRI,
                            help="The arguments are nodes: their primary instances")
m_sec_node_opt = _Selection("--secondary", const=EXPAND_NODES_SEC,
                            help="The arguments are nodes: their secondary instances")
m_node_opt = _Selection("--node", const=EXPAND_NODES_BOTH,
                        help="The arguments are nodes: all their instances")
m_clust_opt = _Selection("--all", const=EXPAND_CLUSTER,
                         help="All instances of the cluster (no arguments)")
m_inst_opt = _Selection("--instance", const=EXPAND_INSTANCES,
                        help="The arguments are instances (the default)")
m_node_tags_opt = _Selection("--node-tags", const=EXPAND_NODES_BOTH_BY_TAGS,
                             help="The arguments are node tags: all instances of those nodes")
m_pri_node_tags_opt = _Selection("--pri-node-tags", const=EXPAND_NODES_PRI_BY_TAGS,
                                 help="The arguments are node tags: their primary instances")
m_sec_node_tags_opt = _Selection("--sec-node-tags", const=EXPAND_NODES_SEC_BY_TAGS,
                                 help="The arguments are node tags: their secondary instances")
m_inst_tags_opt = _Selection("--tags", const=EXPAND_INSTANCES_BY_TAGS,
                             help="The arguments are instance tags")
SELECTION_OPTS = [m_node_opt, m_pri_node_opt, m_sec_node_opt, m_clust_opt, m_inst_opt,
                   m_node_tags_opt, m_pri_node_tags_opt, m_sec_node_tags_opt, m_inst_tags_opt]


def _Flag(*names: str, dest: str, help: str) -> CliOption:  # pylint: disable=redefined-builtin
  return CliOption(*names, dest=dest, action="store_true", default=False, help=help)


IGNORE_OFFLINE_OPT = _Flag("--ignore-offline", dest="ignore_offline",
                           help="Act even if the primary node is offline (changing only the"
                                " configuration)")
NO_REMEMBER_OPT = _Flag("--no-remember", dest="no_remember",
                        help="Do not record the new state in the configuration")
STARTUP_PAUSED_OPT = _Flag("--paused", dest="startup_paused",
                           help="Start the instance paused (until its console is opened)")
TIMEOUT_OPT = CliOption("--timeout", dest="timeout", type="int",
                        default=constants.DEFAULT_SHUTDOWN_TIMEOUT,
                        help="Seconds to wait for a clean shutdown before forcing it")
REBOOT_TYPE_OPT = CliOption("-t", "--type", dest="reboot_type", type="choice",
                            choices=[constants.INSTANCE_REBOOT_SOFT,
                                     constants.INSTANCE_REBOOT_FULL,
                                     constants.INSTANCE_REBOOT_HARD],
                            default=constants.INSTANCE_REBOOT_HARD, metavar="<REBOOT>",
                            help="Reboot type: soft, hard (the default) or full")
IGNORE_SECONDARIES_OPT = _Flag("--ignore-secondaries", dest="ignore_secondaries",
                               help="Ignore errors of the secondary nodes' disks")
IGNORE_FAILURES_OPT = _Flag("--ignore-failures", dest="ignore_failures",
                            help="Remove the instance even if removing its parts fails")
IGNORE_CONSIST_OPT = _Flag("--ignore-consistency", dest="ignore_consistency",
                           help="Go on even if the disks are not consistent (or the source"
                                " cannot be shut down)")
CLEANUP_OPT = _Flag("--cleanup", dest="cleanup",
                    help="Recover from a failed migration or failover instead")
SINGLE_NODE_OPT = CliOption("-n", "--node", dest="node", metavar="<node>",
                            help="Target node (secondary node for a conversion to drbd)")
NEW_SECONDARY_OPT = CliOption("-n", "--new-secondary", dest="dst_node", metavar="NODE",
                              help="Replace the secondary node by this one")
ON_PRIMARY_OPT = _Flag("-p", "--on-primary", dest="on_primary",
                       help="Replace the disks on the primary node")
ON_SECONDARY_OPT = _Flag("-s", "--on-secondary", dest="on_secondary",
                         help="Replace the disks on the secondary node")
AUTO_REPLACE_OPT = _Flag("-a", "--auto", dest="auto",
                         help="Replace the faulty disks, on whichever node they are")
REPLACE_DISKS_OPT = CliOption("--disks", dest="disks", metavar="DISKS",
                              help="Indices of the disks to replace, comma-separated")
RECREATE_DISKS_OPT = CliOption("--disk", dest="disks", type="identkeyval", action="append",
                               default=[], help="Disk N to recreate, as N[:size=...,mode=...]")
IGNORE_SIZE_OPT = _Flag("--ignore-size", dest="ignore_size",
                        help="Activate the disks whatever size the configuration records")
WFSYNC_OPT = _Flag("--wait-for-sync", dest="wait_for_sync",
                   help="Return only when the disks are in sync")
ABSOLUTE_OPT = _Flag("--absolute", dest="absolute",
                     help="The amount is the new size, not the growth")
STATIC_OPT = _Flag("-s", "--static", dest="static",
                   help="Only the configuration, without asking the nodes")
ALL_OPT = _Flag("--all", dest="show_all", help="All instances")
SHOWCMD_OPT = _Flag("--show-cmd", dest="show_command",
                    help="Print the console command instead of running it")
SELECT_OS_OPT = _Flag("--select-os", dest="select_os", help="Choose the OS from a list")
TO_GROUP_OPT = CliOption("--to", dest="to", action="append", metavar="<group>",
                         help="Candidate target group (may be repeated)")
FORTHCOMING_OPT = _Flag("--forthcoming", dest="forthcoming",
                        help="Only reserve the resources, create nothing yet")
COMMIT_OPT = _Flag("--commit", dest="commit", help="Create a reserved (forthcoming) instance")
HELPER_STARTUP_TIMEOUT_OPT = CliOption("--helper-startup-timeout",
                                       dest="helper_startup_timeout", type="int",
                                       help="Seconds the helper VM may take to start")
HELPER_SHUTDOWN_TIMEOUT_OPT = CliOption("--helper-shutdown-timeout",
                                        dest="helper_shutdown_timeout", type="int",
                                        help="Seconds the helper VM may take to stop")
RUNTIME_MEM_OPT = CliOption("-m", "--runtime-memory", dest="runtime_mem", type="unit",
                            metavar="<size>", help="Balloon the running instance to this memory")
NEW_PRIMARY_OPT = CliOption("--new-primary", dest="new_primary_node", metavar="<node>",
                            help="Record this node as primary (the disks were moved by hand)")
OFFLINE_INST_OPT = _Flag("--offline", dest="offline_inst", help="Mark the instance offline")
ONLINE_INST_OPT = _Flag("--online", dest="online_inst", help="Bring the instance back online")
HOTPLUG_OPT = _Flag("--hotplug", dest="hotplug", help="Apply disk and NIC changes at once")
HOTPLUG_IF_POSSIBLE_OPT = _Flag("--hotplug-if-possible", dest="hotplug_if_possible",
                                help="Hotplug where the hypervisor can, else at next start")
EXT_PARAMS_OPT = CliOption("-e", "--ext-params", dest="ext_params", type="keyval", default={},
                           help="ExtStorage provider and parameters, as provider=...,name=...")
