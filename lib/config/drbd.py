"""DRBD minors, ports and shared secrets in the configuration writer.

A DRBD disk's logical id is (primary node, secondary node, port, primary
minor, secondary minor, secret).  Minors are per node: a new disk gets the
lowest minor that no configured disk and no running job uses on that node.
Jobs reserve minors and secrets (under their execution context) until they
end, so two jobs creating disks at once never pick the same minor.
"""

import secrets
from typing import Any, Iterable, Optional

from ganeti import constants
from ganeti import errors
from ganeti import objects
from ganeti.config.common import Locked

# Kinds of reserved values (see config.temporary)
DRBD_MINOR = "drbd-minor"  # values: (node uuid, minor, disk uuid)
DRBD_SECRET = "drbd-secret"

# A shared secret is this many random bytes, written in hex
_SECRET_BYTES = 20


def DrbdDiskMinors(disk: objects.Disk) -> list[tuple[str, int]]:
  """(node uuid, minor) of a DRBD disk and of DRBD disks below it."""
  result = []
  if disk.dev_type == constants.DT_DRBD8 and disk.logical_id:
    pnode, snode, _, pminor, sminor = disk.logical_id[:5]
    result.extend([(pnode, pminor), (snode, sminor)])
  for child in disk.children or ():
    result.extend(DrbdDiskMinors(child))
  return result


def DrbdMinorClaims(disks: Iterable[objects.Disk],
                    reserved: Iterable[tuple[str, int, str]] = ()
                    ) -> list[tuple[str, int, str]]:
  """Every (node uuid, minor, disk uuid) claim, configured disks first; a
  reservation for the disk already holding the minor is not a second claim."""
  claims = [(node_uuid, minor, disk.uuid) for disk in disks
            for node_uuid, minor in DrbdDiskMinors(disk)]
  known = set(claims)
  claims.extend(claim for claim in sorted(reserved) if claim not in known)
  return claims


def DrbdMap(node_uuids: Iterable[str], claims: Iterable[tuple[str, int, str]]
            ) -> tuple[dict[str, dict[int, str]], list[tuple[str, int, str, str]]]:
  """({node uuid: {minor: disk uuid}}, [(node, minor, disk, other disk)]):
  the minors in use per node, and minors claimed by two disks."""
  drbd_map: dict[str, dict[int, str]] = {uuid: {} for uuid in node_uuids}
  duplicates = []
  for node_uuid, minor, disk_uuid in claims:
    minors = drbd_map.setdefault(node_uuid, {})
    holder = minors.setdefault(minor, disk_uuid)
    if holder != disk_uuid:
      duplicates.append((node_uuid, minor, holder, disk_uuid))
  return drbd_map, duplicates


def _LowestFree(used: Iterable[int]) -> int:
  used = set(used)
  minor = 0
  while minor in used:
    minor += 1
  return minor


class DrbdMixin:
  """ConfigWriter methods about DRBD minors, secrets and their ports."""

  def _DrbdClaims(self) -> list[tuple[str, int, str]]:
    return DrbdMinorClaims(self._config_data.disks.values(),
                           self._reservations.Held(DRBD_MINOR))

  @Locked
  def ComputeDRBDMap(self) -> dict[str, dict[int, str]]:
    """{node uuid: {minor: disk uuid}} over all nodes, reservations included;
    ConfigurationError if a minor is claimed twice."""
    drbd_map, duplicates = DrbdMap(self._config_data.nodes, self._DrbdClaims())
    if duplicates:
      raise errors.ConfigurationError("Duplicate DRBD ports detected: %s" %
                                      ", ".join("%s/%d: %s and %s" % dup
                                                for dup in duplicates))
    return drbd_map

  @Locked
  def AllocateDRBDMinor(self, node_uuids: list[str], disk_uuid: str,
                        ec_id: Any) -> list[int]:
    """The lowest free minor on each node (in order), reserved for disk_uuid
    until the job ec_id ends or releases it.  A node given twice gets two
    different minors."""
    drbd_map, _ = DrbdMap(self._config_data.nodes, self._DrbdClaims())
    minors = []
    for node_uuid in node_uuids:
      if node_uuid not in self._config_data.nodes:
        raise errors.ConfigurationError("Unknown node %s" % node_uuid)
      minor = _LowestFree(drbd_map[node_uuid])
      drbd_map[node_uuid][minor] = disk_uuid
      self._reservations.Reserve(DRBD_MINOR, ec_id, (node_uuid, minor, disk_uuid))
      minors.append(minor)
    return minors

  @Locked
  def ReleaseDRBDMinors(self, disk_uuid: str, ec_id: Optional[Any] = None) -> None:
    """Ends the reservations of a disk's minors (of one job or of any)."""
    for held_ec_id, values in self._reservations.HeldByContext(DRBD_MINOR).items():
      if ec_id is not None and held_ec_id != ec_id:
        continue
      for value in values:
        if value[2] == disk_uuid:
          self._reservations.Release(DRBD_MINOR, held_ec_id, value)

  @Locked
  def GenerateDRBDSecret(self, ec_id: Any) -> str:
    """A new shared secret that no DRBD disk uses, reserved for ec_id."""
    in_use = {disk.logical_id[5] for disk in self._AllDrbdDisks()}
    return self._reservations.Generate(DRBD_SECRET, ec_id, in_use.__contains__,
                                       lambda: secrets.token_hex(_SECRET_BYTES))

  def _AllDrbdDisks(self) -> list[objects.Disk]:
    return [disk for disk in self._config_data.disks.values()
            if disk.dev_type == constants.DT_DRBD8 and disk.logical_id]

  def _ReturnPorts(self, ports: Iterable[Optional[int]]) -> None:
    """Puts ports of removed objects back into the cluster's pool."""
    ports = [port for port in ports if port is not None]
    if not ports:
      return
    cluster = self._WritableCluster()
    cluster.tcpudp_port_pool = sorted(set(cluster.tcpudp_port_pool or ()) | set(ports))

  @staticmethod
  def _DrbdPorts(disks: Iterable[objects.Disk]) -> list[int]:
    return [disk.logical_id[2] for disk in disks
            if disk.dev_type == constants.DT_DRBD8 and disk.logical_id]

