"""Live migration of a KVM instance over QMP.

The target runs the same machine with -incoming tcp:ADDRESS:PORT; the source
gets the capabilities, bandwidth and downtime of the hvparams and is told to
migrate; its progress (query-migrate) becomes Ganeti's migration status.
"""

from typing import Optional

from ganeti import constants
from ganeti import objects
from ganeti.hypervisor.hv_kvm import qmp

MIB = 1024 * 1024

# qemu's migration states -> Ganeti's
_STATUS = {
  "none": constants.HV_MIGRATION_ACTIVE,
  "setup": constants.HV_MIGRATION_ACTIVE,
  "active": constants.HV_MIGRATION_ACTIVE,
  "pre-switchover": constants.HV_MIGRATION_ACTIVE,
  "device": constants.HV_MIGRATION_ACTIVE,
  "wait-unplug": constants.HV_MIGRATION_ACTIVE,
  "postcopy-active": constants.HV_MIGRATION_ACTIVE,
  "postcopy-paused": constants.HV_MIGRATION_ACTIVE,
  "postcopy-recover": constants.HV_MIGRATION_ACTIVE,
  "completed": constants.HV_MIGRATION_COMPLETED,
  "failed": constants.HV_MIGRATION_FAILED,
  "cancelling": constants.HV_MIGRATION_CANCELLED,
  "cancelled": constants.HV_MIGRATION_CANCELLED,
}


def IncomingUri(address: str, port: int) -> str:
  host = "[%s]" % address if ":" in address else address
  return "tcp:%s:%d" % (host, port)


# qemu sends a MIGRATION event at each change of a migration's state: its
# end is waited for, not polled (see TellsStateChanges)
_EVENTS = "events"


def Capabilities(hvparams: dict) -> list[dict]:
  """The capabilities a migration is started with: the instance's
  migration_caps, and the events of its state changes."""
  names = [cap for cap in (hvparams.get("migration_caps") or "").split(":") if cap]
  return [{"capability": name, "state": True}
          for name in names + ([] if _EVENTS in names else [_EVENTS])]


def TellsStateChanges(conn: qmp.QmpConnection) -> bool:
  """Whether qemu sends an event at each change of the migration's state (a
  migration started by an older version of this code may not)."""
  return any(cap.get("capability") == _EVENTS and cap.get("state")
             for cap in conn.Execute("query-migrate-capabilities") or ())


def Start(conn: qmp.QmpConnection, hvparams: dict, uri: str, live: bool) -> None:
  """Sets capabilities and limits, then starts the migration (non-live:
  the guest is stopped first)."""
  caps = Capabilities(hvparams)
  conn.Execute("migrate-set-capabilities", {"capabilities": caps})
  conn.Execute("migrate-set-parameters", {
    "max-bandwidth": int(hvparams.get("migration_bandwidth") or 0) * MIB,
    "downtime-limit": int(hvparams.get("migration_downtime") or 0),
  })
  if not live:
    conn.Execute("stop")
  conn.Execute("migrate", {"uri": uri})
  if any(cap["capability"] == "postcopy-ram" for cap in caps):
    conn.Execute("migrate-start-postcopy")


def Status(info: dict) -> objects.MigrationStatus:
  """Ganeti's status from a query-migrate answer."""
  ram = info.get("ram") or {}
  return objects.MigrationStatus(
    status=_STATUS.get(info.get("status", "none"), constants.HV_MIGRATION_FAILED),
    transferred_ram=ram.get("transferred"), total_ram=ram.get("total"))


def Downtime(info: dict) -> Optional[int]:
  """The downtime (ms) qemu measured for a completed migration."""
  return info.get("downtime")
