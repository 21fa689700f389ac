"""Fields of the "network" resource (items: objects.Network, context: ConfigContext).

A network's address pool is kept in config.data as two strings with one
character per address of the subnet: "1" where the address is reserved for
instances (reservations) or externally (ext_reservations).
"""

import ipaddress
from typing import Any

from ganeti import constants
from ganeti.query.common import (Attr, FieldSet, Fields, OptionalAttr, SerialField,
                                 TagsField, TimestampFields, UuidField)


def _Reserved(network: Any) -> list[bool]:
  """Per address of the subnet: whether it is reserved in any way."""
  size = ipaddress.ip_network(network.network, strict=False).num_addresses
  own = (network.reservations or "").ljust(size, "0")
  external = (network.ext_reservations or "").ljust(size, "0")
  return [a == "1" or b == "1" for a, b in zip(own, external)]


def _ExternalReservations(ctx: Any, network: Any) -> str:
  subnet = ipaddress.ip_network(network.network, strict=False)
  flags = network.ext_reservations or ""
  return ", ".join(str(subnet[index]) for index, flag in enumerate(flags) if flag == "1")


FIELDS = FieldSet(constants.QR_NETWORK, Fields([
  ("name", "Network", constants.QFT_TEXT, "Name", Attr("name")),
  ("network", "Subnet", constants.QFT_TEXT, "IPv4 subnet", Attr("network")),
  ("gateway", "Gateway", constants.QFT_OTHER, "IPv4 gateway", OptionalAttr("gateway")),
  ("network6", "IPv6Subnet", constants.QFT_OTHER, "IPv6 subnet", OptionalAttr("network6")),
  ("gateway6", "IPv6Gateway", constants.QFT_OTHER, "IPv6 gateway", OptionalAttr("gateway6")),
  ("mac_prefix", "MacPrefix", constants.QFT_OTHER, "MAC address prefix",
   OptionalAttr("mac_prefix")),
  ("free_count", "FreeCount", constants.QFT_NUMBER, "Number of available addresses",
   lambda ctx, network: _Reserved(network).count(False)),
  ("reserved_count", "ReservedCount", constants.QFT_NUMBER, "Number of reserved addresses",
   lambda ctx, network: _Reserved(network).count(True)),
  ("map", "Map", constants.QFT_TEXT, "Actual mapping",
   lambda ctx, network: "".join("X" if flag else "." for flag in _Reserved(network))),
  ("external_reservations", "ExternalReservations", constants.QFT_TEXT,
   "External reservations", _ExternalReservations),
  ("group_cnt", "NodeGroups", constants.QFT_NUMBER, "Number of nodegroups",
   lambda ctx, network: len(ctx.NetworkGroups(network.uuid))),
  ("group_list", "GroupList", constants.QFT_OTHER,
   "List of nodegroups (group name, NIC mode, NIC link)",
   lambda ctx, network: ctx.NetworkGroups(network.uuid)),
  ("inst_cnt", "Instances", constants.QFT_NUMBER, "Number of instances",
   lambda ctx, network: len(ctx.NetworkInstances(network.uuid))),
  ("inst_list", "InstanceList", constants.QFT_OTHER, "List of instances",
   lambda ctx, network: ctx.NetworkInstances(network.uuid)),
]) + TimestampFields() + [SerialField("Network"), TagsField(), UuidField("Network")],
  namefield="name")
