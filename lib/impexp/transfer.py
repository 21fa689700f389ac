"""Master side: copying disk data from one node to another through a pair of
transfer processes (an import on the destination, an export on the source).

Usable by any logical unit (exports, imports, instance moves):

  transfers = [DiskTransfer("disk/0", src_node_uuid, (IEIO_RAW_DISK, [disk]),
                            dest_node_uuid, (IEIO_FILE, [path]))]
  results = TransferDisks(lu, instance, transfers, compress="gzip")

Each side gets the instance (as the RPC encodes it) and its own (kind, args)
end: IEIO_FILE [path below the export dir], IEIO_RAW_DISK [disk],
IEIO_SCRIPT [disk, index] (the OS's export script on the source, import
script on the destination).  Disks must be assembled on their node.
"""

import dataclasses
import secrets
import time
from typing import Any, Callable, Optional

from ganeti import objects


LISTEN_TIMEOUT = 60      # seconds for an import to report its port
POLL_INTERVAL = 0.2
DISK_TRANSFER_CONNECT_TIMEOUT = 60


@dataclasses.dataclass
class DiskTransfer:
  """One disk's data moving from src_node's src_io to dest_node's dest_io."""
  name: str
  src_node: str
  src_io: tuple
  dest_node: str
  dest_io: tuple
  component: Optional[str] = None   # names the node-side processes; default from name


class _Side:
  """One transfer process: its node, its name there, its last status."""

  def __init__(self, lu: Any, node: str, name: str) -> None:
    self.lu, self.node, self.name = lu, node, name
    self.status: Optional[objects.ImportExportStatus] = None

  def Poll(self) -> Optional[objects.ImportExportStatus]:
    result = self.lu.rpc.call_impexp_status(self.node, [self.name])
    if result.fail_msg:
      raise _Failed("Can't query status of %s on node %s: %s" %
                    (self.name, self.lu.cfg.GetNodeName(self.node), result.fail_msg))
    self.status = result.payload[0]
    return self.status

  @property
  def done(self) -> bool:
    return self.status is not None and self.status.exit_status is not None

  @property
  def ok(self) -> bool:
    return self.done and self.status.exit_status == 0

  def Error(self) -> str:
    status = self.status
    if status is None:
      return "status unavailable"
    text = status.error_message or "exit status %s" % status.exit_status
    if status.recent_output:
      text += "; recent output: %s" % " ".join(status.recent_output[-3:])
    return text

  def Abort(self) -> None:
    self.lu.rpc.call_impexp_abort(self.node, self.name)

  def Cleanup(self) -> None:
    result = self.lu.rpc.call_impexp_cleanup(self.node, self.name)
    if result.fail_msg:
      self.lu.LogWarning("Cannot clean up %s on node %s: %s", self.name,
                         self.lu.cfg.GetNodeName(self.node), result.fail_msg)


class _Failed(Exception):
  pass


def _Options(compress: str, timeout: int) -> objects.ImportExportOptions:
  return objects.ImportExportOptions(key_name=None, ca_pem=None, compress=compress,
                                     magic=secrets.token_hex(16), ipv6=False,
                                     connect_timeout=timeout)


def _Address(lu: Any, node_uuid: str) -> str:
  node = lu.cfg.GetNodeInfo(node_uuid)
  return node.secondary_ip or node.primary_ip


def TransferDisks(lu: Any, instance: objects.Instance, transfers: list[DiskTransfer],
                  compress: str = "none",
                  feedback_fn: Optional[Callable[[str], None]] = None,
                  connect_timeout: int = DISK_TRANSFER_CONNECT_TIMEOUT) -> list[bool]:
  """Runs the transfers one after the other; per transfer whether it succeeded
  (failures are reported as warnings, the other transfers still run)."""
  feedback = feedback_fn or (lambda text: lu.LogInfo("%s", text))
  return [_Transfer(lu, instance, transfer, compress, feedback, connect_timeout)
          for transfer in transfers]


def _Transfer(lu: Any, instance: objects.Instance, transfer: DiskTransfer, compress: str,
              feedback: Callable[[str], None], connect_timeout: int) -> bool:
  cfg = lu.cfg
  src_name, dest_name = cfg.GetNodeName(transfer.src_node), cfg.GetNodeName(transfer.dest_node)
  component = transfer.component or transfer.name.replace("/", "")
  opts = _Options(compress, connect_timeout)
  feedback("Exporting %s from %s to %s" % (transfer.name, src_name, dest_name))
  result = lu.rpc.call_import_start(transfer.dest_node, opts, instance, component,
                                    transfer.dest_io)
  if result.fail_msg:
    lu.LogWarning("Can't start import of %s on node %s: %s", transfer.name, dest_name,
                  result.fail_msg)
    return False
  sides = [_Side(lu, transfer.dest_node, result.payload)]
  try:
    importer = sides[0]
    port = _WaitForPort(importer)
    feedback("%s is now listening, starting export" % transfer.name)
    result = lu.rpc.call_export_start(transfer.src_node, opts,
                                      _Address(lu, transfer.dest_node), port, instance,
                                      component, transfer.src_io)
    if result.fail_msg:
      raise _Failed("Can't start export on node %s: %s" % (src_name, result.fail_msg))
    exporter = _Side(lu, transfer.src_node, result.payload)
    sides.append(exporter)
    _WaitForBoth(transfer, importer, exporter, src_name, feedback)
    return True
  except _Failed as err:
    lu.LogWarning("%s", err)
    for side in sides:
      if not side.done:
        side.Abort()
    return False
  finally:
    for side in sides:
      side.Cleanup()


def _WaitForPort(importer: _Side) -> int:
  deadline = time.time() + LISTEN_TIMEOUT
  while time.time() < deadline:
    status = importer.Poll()
    if status is None:
      raise _Failed("Import %s disappeared" % importer.name)
    if importer.done:
      raise _Failed("Import failed before listening: %s" % importer.Error())
    if status.listen_port:
      return status.listen_port
    time.sleep(POLL_INTERVAL)
  raise _Failed("Import did not start listening within %s seconds" % LISTEN_TIMEOUT)


def _WaitForBoth(transfer: DiskTransfer, importer: _Side, exporter: _Side, src_name: str,
                 feedback: Callable[[str], None]) -> None:
  reported_sending = False
  pending = [(importer, "receiving", "receive"), (exporter, "sending", "send")]
  while pending:
    for side, doing, verb in list(pending):
      if side.Poll() is None:
        raise _Failed("%s: transfer %s disappeared" % (transfer.name, side.name))
      if not side.done:
        continue
      if not side.ok:
        raise _Failed("%s failed to %s data: %s" % (transfer.name, verb, side.Error()))
      feedback("%s finished %s data" % (transfer.name, doing))
      pending.remove((side, doing, verb))
    if pending and not reported_sending and exporter.status and exporter.status.connected:
      reported_sending = True
      feedback("%s is sending data on %s" % (transfer.name, src_name))
    if pending:
      time.sleep(POLL_INTERVAL)
