"""gnt-network: IP networks, their address pools and their connections to
node groups."""

from __future__ import annotations

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Any

from ganeti import constants
from ganeti import errors
from ganeti.cli import *  # pylint: disable=wildcard-import,unused-wildcard-import
from ganeti.cli import EXIT_FAILURE, EXIT_SUCCESS

_LIST_DEF_FIELDS = ["name", "network", "gateway", "mac_prefix", "group_list", "tags"]


def _FormatGroupList(groups: list) -> str:
  return ", ".join("%s (%s, %s, %s)" % tuple(group) for group in groups)


_LIST_FORMAT = {
  "group_list": (_FormatGroupList, False),
  "inst_list": (",".join, False),
  "tags": (",".join, False),
}

# The usage map of "gnt-network info": addresses per line
_MAP_LINE = 64

# options named after their destination ("--add-reserved-ips" -> add_reserved_ips)
NETWORK_OPT, GATEWAY_OPT, NETWORK6_OPT, GATEWAY6_OPT = [
  CliOption(flag, dest=flag[2:], default=None, help=text) for flag, text in (
    ("--network", "The IPv4 subnet, in CIDR notation"),
    ("--gateway", "The IPv4 address of the subnet's router"),
    ("--network6", "The IPv6 subnet, in CIDR notation"),
    ("--gateway6", "The IPv6 address of the subnet's router"))]
ADD_RESERVED_IPS_OPT, REMOVE_RESERVED_IPS_OPT = [
  CliOption(flag, dest=flag[2:].replace("-", "_"), type="list", default=None, help=text)
  for flag, text in (
    ("--add-reserved-ips", "Addresses to keep away from instances, comma-separated"),
    ("--remove-reserved-ips", "Reserved addresses to give back to instances,"
     " comma-separated"))]
NET_MAC_PREFIX_OPT = CliOption("-m", "--mac-prefix", dest="mac_prefix", metavar="PREFIX",
                               default=None,
                               help="The first three bytes (XX:XX:XX) of the MAC addresses"
                                    " of instances on the network")
NOCONFLICTSCHECK_OPT = Flag("--no-conflicts-check", dest="conflicts_check",
                            action="store_false", default=True,
                            help="Do not look for instance addresses in the network")
NET_TAGS_OPT = CliOption("--tags", dest="tags", type="list", default=None,
                         help="Tags of the network, comma-separated")


def _Opcodes() -> Any:
  from ganeti import opcodes  # pylint: disable=import-outside-toplevel
  return opcodes


def AddNetwork(opts: Any, args: list[str]) -> int:
  if opts.network is None:
    raise errors.OpPrereqError("The --network option must be given", errors.ECODE_INVAL)
  op = MakeOpCode(_Opcodes().OpNetworkAdd, network_name=args[0], network=opts.network,
                  gateway=opts.gateway, network6=opts.network6, gateway6=opts.gateway6,
                  mac_prefix=opts.mac_prefix, add_reserved_ips=opts.add_reserved_ips,
                  conflicts_check=opts.conflicts_check, tags=opts.tags or [])
  SubmitOrSend(op, opts)
  return EXIT_SUCCESS


def RemoveNetwork(opts: Any, args: list[str]) -> int:
  SubmitOrSend(MakeOpCode(_Opcodes().OpNetworkRemove, network_name=args[0],
                          force=opts.force), opts)
  return EXIT_SUCCESS


def SetNetworkParams(opts: Any, args: list[str]) -> int:
  changes = {name: getattr(opts, name) for name in
             ("gateway", "network6", "gateway6", "mac_prefix", "add_reserved_ips",
              "remove_reserved_ips")}
  if all(value is None for value in changes.values()):
    ToStderr("Please give at least one of the parameters.")
    return EXIT_FAILURE
  SubmitOrSend(MakeOpCode(_Opcodes().OpNetworkSetParams, network_name=args[0], **changes),
               opts)
  return EXIT_SUCCESS


def _Groups(cl: Any, names: list[str]) -> list[str]:
  """The groups named, or all groups."""
  return names or [name for (name,) in cl.QueryGroups([], ["name"], False)]


def ConnectNetwork(opts: Any, args: list[str]) -> int:
  """Connects the network to each group (all groups when none is named)."""
  from ganeti import paramdefs  # pylint: disable=import-outside-toplevel
  network, *groups = args
  nicparams = dict(paramdefs.NICC_DEFAULTS, **(opts.nicparams or {}))
  cl = GetClient()
  for group in _Groups(cl, groups):
    op = MakeOpCode(_Opcodes().OpNetworkConnect, group_name=group, network_name=network,
                    network_mode=nicparams[paramdefs.NIC_MODE],
                    network_link=nicparams[paramdefs.NIC_LINK],
                    network_vlan=nicparams[paramdefs.NIC_VLAN],
                    conflicts_check=opts.conflicts_check)
    SubmitOpCode(op, cl=cl, opts=opts)
  return EXIT_SUCCESS


def DisconnectNetwork(opts: Any, args: list[str]) -> int:
  network, *groups = args
  cl = GetClient()
  for group in _Groups(cl, groups):
    SubmitOpCode(MakeOpCode(_Opcodes().OpNetworkDisconnect, group_name=group,
                            network_name=network), cl=cl, opts=opts)
  return EXIT_SUCCESS


def ListNetworks(opts: Any, args: list[str]) -> int:
  fields = ParseFields(opts.output, _LIST_DEF_FIELDS)
  return GenericList(constants.QR_NETWORK, fields, args, None, opts.separator,
                     not opts.no_headers, format_override=_LIST_FORMAT, verbose=opts.verbose,
                     force_filter=opts.force_filter)


def ListNetworkFields(opts: Any, args: list[str]) -> int:
  return GenericListFields(constants.QR_NETWORK, args, opts.separator, not opts.no_headers)


def FormatUsageMap(usage_map: str) -> list[str]:
  """The address map in lines of 64 addresses, with first and last index."""
  lines = ["%9d %-*s %d" % (start, _MAP_LINE, usage_map[start:start + _MAP_LINE],
                            start + _MAP_LINE - 1)
           for start in range(0, len(usage_map), _MAP_LINE)]
  return lines + ["         (X) used    (.) free"]


_INFO_FIELDS = ["name", "network", "gateway", "network6", "gateway6", "mac_prefix",
                "free_count", "reserved_count", "map", "group_list", "inst_list",
                "external_reservations", "serial_no", "uuid"]


def _InstanceAddresses(cl: Any, instance: str, net_uuid: str) -> str:
  """"index:address" of the instance's NICs on the network."""
  ((ips, networks),) = cl.QueryInstances([instance], ["nic.ips", "nic.networks"], False)
  return ", ".join("%d:%s" % (index, ip) for index, (ip, net) in
                   enumerate(zip(ips, networks)) if net == net_uuid)


def ShowNetworkInfo(opts: Any, args: list[str]) -> int:
  cl = GetClient()
  for (name, network, gateway, network6, gateway6, mac_prefix, free_count, _, usage_map,
       groups, instances, ext_reservations, serial_no, uuid) in \
      cl.QueryNetworks(args, _INFO_FIELDS, False):
    size = len(usage_map)
    ToStdout("Network name: %s", name)
    ToStdout("UUID: %s", uuid)
    ToStdout("Serial number: %d", serial_no)
    for label, value in (("Subnet", network), ("Gateway", gateway),
                         ("IPv6 Subnet", network6), ("IPv6 Gateway", gateway6),
                         ("Mac Prefix", mac_prefix), ("Size", size)):
      ToStdout("  %s: %s", label, value)
    ToStdout("  Free: %d (%.2f%%)", free_count, 100.0 * free_count / size if size else 0)
    ToStdout("  Usage map:")
    for line in FormatUsageMap(usage_map):
      ToStdout(line)
    if ext_reservations:
      ToStdout("  externally reserved IPs:")
      ToStdout("    %s", ext_reservations)
    if groups:
      ToStdout("  connected to node groups:")
      for group, mode, link, vlan in groups:
        ToStdout("    %s (mode:%s link:%s vlan:%s)", group, mode, link, vlan)
    else:
      ToStdout("  not connected to any node group")
    if instances:
      ToStdout("  used by %d instances:", len(instances))
      for instance in instances:
        ToStdout("    %s: %s", instance, _InstanceAddresses(cl, instance, uuid))
    else:
      ToStdout("  not used by any instances")
  return EXIT_SUCCESS


_LIST_OPTS = [NOHDR_OPT, SEP_OPT, FIELDS_OPT, VERBOSE_OPT, FILTER_OPT]
_TAG_OPTS = [TAG_SRC_OPT, PRIORITY_OPT] + SUBMIT_OPTS
_NETWORK_GROUPS_ARGS = [ArgNetwork(min=1, max=1), ArgGroup()]

commands = {
  "add": (
    AddNetwork, ARGS_ONE_NETWORK,
    [DRY_RUN_OPT, NETWORK_OPT, GATEWAY_OPT, ADD_RESERVED_IPS_OPT, NET_MAC_PREFIX_OPT,
     NETWORK6_OPT, GATEWAY6_OPT, NOCONFLICTSCHECK_OPT, NET_TAGS_OPT, PRIORITY_OPT]
    + SUBMIT_OPTS, "<network-name>", "Creates an IP network"),
  "list": (
    ListNetworks, ARGS_MANY_NETWORKS, _LIST_OPTS, "[<network-name>...]",
    "Lists the IP networks (\"list-fields\" shows the fields that can be selected; the"
    " default ones are %s)" % ", ".join(_LIST_DEF_FIELDS)),
  "list-fields": (
    ListNetworkFields, [ArgUnknown()], [NOHDR_OPT, SEP_OPT], "[fields...]",
    "Lists the fields available for networks"),
  "info": (
    ShowNetworkInfo, ARGS_MANY_NETWORKS, [], "[<network>...]",
    "Shows networks with their address pools (all without arguments)"),
  "modify": (
    SetNetworkParams, ARGS_ONE_NETWORK,
    [DRY_RUN_OPT] + SUBMIT_OPTS + [ADD_RESERVED_IPS_OPT, REMOVE_RESERVED_IPS_OPT,
                                   GATEWAY_OPT, NET_MAC_PREFIX_OPT, NETWORK6_OPT,
                                   GATEWAY6_OPT, PRIORITY_OPT],
    "<network>", "Changes the parameters of a network"),
  "connect": (
    ConnectNetwork, _NETWORK_GROUPS_ARGS,
    [NOCONFLICTSCHECK_OPT, PRIORITY_OPT, NIC_PARAMS_OPT], "<network> [<group>...]",
    "Connects a network to node groups (all without names) with the NIC mode and link"
    " given by -N"),
  "disconnect": (
    DisconnectNetwork, _NETWORK_GROUPS_ARGS, [PRIORITY_OPT], "<network> [<group>...]",
    "Disconnects a network from node groups (all without names)"),
  "remove": (
    RemoveNetwork, ARGS_ONE_NETWORK, [FORCE_OPT, DRY_RUN_OPT, PRIORITY_OPT] + SUBMIT_OPTS,
    "[--dry-run] <network>", "Removes a network no group is connected to"),
  "list-tags": (
    ListTags, ARGS_ONE_NETWORK, [], "<network>", "Lists the tags of a network"),
  "add-tags": (
    AddTags, [ArgNetwork(min=1, max=1), ArgUnknown()], _TAG_OPTS, "<network> <tag>...",
    "Adds tags to a network"),
  "remove-tags": (
    RemoveTags, [ArgNetwork(min=1, max=1), ArgUnknown()], _TAG_OPTS, "<network> <tag>...",
    "Removes tags from a network"),
}


def Main() -> int:
  return GenericMain(commands, override={"tag_type": constants.TAG_NETWORK})
