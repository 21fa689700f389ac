"""The watcher's files: per-group state (restart counters, boot ids) and instance status.

A group's state file (watcher.GROUP-UUID.data) is JSON:
  {"instance": {NAME: {"restart_count": N, "restart_when": TIMESTAMP}},
   "node": {NAME: {"bootid": BOOT-ID}}}
Losing it is harmless: restart counters start again at zero and every node
counts as freshly rebooted.  Instance status files hold one "NAME STATUS"
line per instance.
"""

import logging
import os
import time
from typing import Iterable, Optional

from ganeti import pathutils
from ganeti import serializer
from ganeti.utils import io

KEY_INSTANCES = "instance"
KEY_NODES = "node"
KEY_RESTART_COUNT = "restart_count"
KEY_RESTART_WHEN = "restart_when"
KEY_BOOT_ID = "bootid"


class GroupState:
  """The persistent memory of one node group between watcher runs."""

  def __init__(self, group_uuid: str, path: Optional[str] = None) -> None:
    self.path = path or pathutils.WATCHER_GROUP_STATE_FILE % group_uuid
    self._data = self._Load(self.path)

  @staticmethod
  def _Load(path: str) -> dict:
    text = io.TryReadFile(path)
    data = {}
    if text:
      try:
        data = serializer.LoadJson(text)
      except ValueError as err:
        # a damaged file only costs the counters; start afresh
        logging.warning("Ignoring unreadable watcher state file %s: %s", path, err)
    if not isinstance(data, dict):
      data = {}
    for key in (KEY_INSTANCES, KEY_NODES):
      if not isinstance(data.get(key), dict):
        data[key] = {}
    return data

  def Save(self) -> None:
    io.WriteFile(self.path, serializer.DumpJson(self._data), mode=0o600)

  # Instances
  def RestartAttempts(self, name: str) -> int:
    return int(self._data[KEY_INSTANCES].get(name, {}).get(KEY_RESTART_COUNT, 0))

  def RecordRestartAttempt(self, name: str) -> None:
    self._data[KEY_INSTANCES][name] = {KEY_RESTART_COUNT: self.RestartAttempts(name) + 1,
                                       KEY_RESTART_WHEN: time.time()}

  def ForgetInstance(self, name: str) -> None:
    self._data[KEY_INSTANCES].pop(name, None)

  def KeepOnlyInstances(self, names: Iterable[str]) -> None:
    """Drops the counters of instances that left the group or the cluster."""
    keep = set(names)
    for name in list(self._data[KEY_INSTANCES]):
      if name not in keep:
        del self._data[KEY_INSTANCES][name]

  # Nodes
  def BootId(self, node: str) -> Optional[str]:
    return self._data[KEY_NODES].get(node, {}).get(KEY_BOOT_ID)

  def SetBootId(self, node: str, boot_id: str) -> None:
    self._data[KEY_NODES][node] = {KEY_BOOT_ID: boot_id}


def FormatInstanceStatus(statuses: Iterable[tuple[str, str]]) -> str:
  return "".join("%s %s\n" % (name, status) for name, status in sorted(statuses))


def ParseInstanceStatus(text: str) -> dict[str, str]:
  result = {}
  for line in text.splitlines():
    parts = line.split()
    if len(parts) == 2:
      result[parts[0]] = parts[1]
  return result


def WriteGroupInstanceStatus(group_uuid: str, statuses: Iterable[tuple[str, str]]) -> None:
  io.WriteFile(pathutils.WATCHER_GROUP_INSTANCE_STATUS_FILE % group_uuid,
               FormatInstanceStatus(statuses))


def MergeInstanceStatus(group_uuids: Iterable[str]) -> None:
  """Writes the node-wide instance-status file from the groups' files.

  An instance listed by several groups (it moved between runs) keeps the
  status from the most recently written file.
  """
  sources = []
  for uuid in group_uuids:
    path = pathutils.WATCHER_GROUP_INSTANCE_STATUS_FILE % uuid
    try:
      mtime = os.stat(path).st_mtime
    except FileNotFoundError:
      continue
    sources.append((mtime, io.TryReadFile(path) or ""))
  merged: dict[str, str] = {}
  for _, text in sorted(sources, key=lambda source: source[0]):
    merged.update(ParseInstanceStatus(text))
  io.EnsureDirs([(os.path.dirname(pathutils.INSTANCE_STATUS_FILE), 0o775)])
  io.WriteFile(pathutils.INSTANCE_STATUS_FILE, FormatInstanceStatus(merged.items()))
