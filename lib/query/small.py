"""Fields of the small resources: lock, filter (job filter rules), cluster, export, os."""

import dataclasses
import platform
from typing import Any, Optional

from ganeti import constants
from ganeti.query.common import (DATA_LIVE, NODATA, UNAVAIL, Attr, FieldSet, Fields,
                                 TagsField, TimestampFields)

# ---- lock -----------------------------------------------------------------
# Items are (name, mode, owner, pending) tuples from the lock manager.

LOCK_FIELDS = FieldSet(constants.QR_LOCK, Fields([
  ("name", "Name", constants.QFT_OTHER, "Lock name", lambda ctx, row: row[0]),
  ("mode", "Mode", constants.QFT_OTHER,
   "Mode in which the lock is currently acquired (exclusive or shared)",
   lambda ctx, row: row[1]),
  ("owner", "Owner", constants.QFT_OTHER, "Current lock owner(s)", lambda ctx, row: row[2]),
  ("pending", "Pending", constants.QFT_OTHER, "Jobs waiting for the lock",
   lambda ctx, row: row[3]),
]))

# ---- filter ---------------------------------------------------------------
# Items are job filter rules (objects.Filter).

FILTER_FIELDS = FieldSet(constants.QR_FILTER, Fields([
  ("uuid", "UUID", constants.QFT_OTHER, "Filter ID", Attr("uuid")),
  ("watermark", "Watermark", constants.QFT_OTHER,
   "Highest job ID used at the time when the filter was added", Attr("watermark")),
  ("priority", "Priority", constants.QFT_OTHER, "Filter priority", Attr("priority")),
  ("predicates", "Predicates", constants.QFT_OTHER, "List of filter predicates",
   Attr("predicates")),
  ("action", "Action", constants.QFT_OTHER, "Filter action", Attr("action")),
  ("reason_trail", "ReasonTrail", constants.QFT_OTHER, "Reason why this filter was added",
   Attr("reason_trail")),
]))

# ---- cluster --------------------------------------------------------------


@dataclasses.dataclass
class ClusterItem:
  """The one item of a cluster query."""
  cluster: Any                    # objects.Cluster
  master_name: str
  drain_flag: bool
  watcher_pause: Optional[float]  # until when the watcher is paused, or None

  # Attributes shared with the config object, for the common field builders
  @property
  def ctime(self) -> float:
    return self.cluster.ctime

  @property
  def mtime(self) -> float:
    return self.cluster.mtime

  @property
  def tags(self) -> list:
    return self.cluster.tags


def _ClusterAttr(name: str) -> Any:
  return lambda ctx, item: getattr(item.cluster, name)


CLUSTER_FIELDS = FieldSet(constants.QR_CLUSTER, Fields([
  ("name", "Name", constants.QFT_TEXT, "Cluster name", _ClusterAttr("cluster_name")),
  ("cluster_name", "Name", constants.QFT_TEXT, "Cluster name",
   _ClusterAttr("cluster_name")),
  ("master_node", "Master", constants.QFT_TEXT, "Master node name",
   lambda ctx, item: item.master_name),
  ("architecture", "ArchInfo", constants.QFT_OTHER, "Architecture information",
   lambda ctx, item: [platform.architecture()[0], platform.machine()]),
  ("drain_flag", "QueueDrained", constants.QFT_BOOL, "Flag whether job queue is drained",
   lambda ctx, item: item.drain_flag),
  ("watcher_pause", "WatcherPause", constants.QFT_TIMESTAMP, "Until when watcher is paused",
   lambda ctx, item: UNAVAIL if item.watcher_pause is None else item.watcher_pause),
  ("volume_group_name", "VgName", constants.QFT_TEXT, "LVM volume group name",
   _ClusterAttr("volume_group_name")),
  ("config_version", "ConfigVersion", constants.QFT_NUMBER, "Configuration format version",
   lambda ctx, item: constants.CONFIG_VERSION),
  ("export_version", "ExportVersion", constants.QFT_NUMBER,
   "Import/export file format version", lambda ctx, item: constants.EXPORT_VERSION),
  ("os_api_version", "OsApiVersion", constants.QFT_NUMBER,
   "API version for OS template scripts", lambda ctx, item: max(constants.OS_API_VERSIONS)),
  ("protocol_version", "ProtocolVersion", constants.QFT_NUMBER, "RPC protocol version",
   lambda ctx, item: constants.PROTOCOL_VERSION),
  ("software_version", "SoftwareVersion", constants.QFT_TEXT, "Software version",
   lambda ctx, item: constants.RELEASE_VERSION),
  ("vcs_version", "VCSVersion", constants.QFT_TEXT, "VCS version",
   lambda ctx, item: constants.VCS_VERSION),
]) + TimestampFields() + [TagsField()])

# ---- export ---------------------------------------------------------------
# Items are (node name, export name or None) pairs.

EXPORT_FIELDS = FieldSet(constants.QR_EXPORT, Fields([
  ("node", "Node", constants.QFT_TEXT, "Node name", lambda ctx, row: row[0]),
  ("export", "Export", constants.QFT_TEXT, "Export name",
   lambda ctx, row: NODATA if row[1] is None else row[1], DATA_LIVE),
]))

# ---- os -------------------------------------------------------------------
# Items are dicts of OS properties keyed by field name, built from the
# nodes' OS diagnoses; a missing key has no data.


def _OsKey(key: str) -> Any:
  return lambda ctx, item: item.get(key, NODATA)


OS_FIELDS = FieldSet(constants.QR_OS, Fields(
  (name, title, kind, doc, _OsKey(name), DATA_LIVE) for name, title, kind, doc in [
    ("name", "Name", constants.QFT_TEXT, "Operating system name"),
    ("valid", "Valid", constants.QFT_BOOL, "Whether operating system definition is valid"),
    ("hidden", "Hidden", constants.QFT_BOOL, "Whether operating system is hidden"),
    ("blacklisted", "Blacklisted", constants.QFT_BOOL,
     "Whether operating system is blacklisted"),
    ("trusted", "Trusted", constants.QFT_BOOL, "Whether this OS is trusted"),
    ("variants", "Variants", constants.QFT_OTHER, "Operating system variants"),
    ("api_versions", "ApiVersions", constants.QFT_OTHER, "Operating system API versions"),
    ("parameters", "Parameters", constants.QFT_OTHER, "Operating system parameters"),
    ("node_status", "NodeStatus", constants.QFT_OTHER, "Status from node"),
    ("os_hvp", "OsHypervisorParams", constants.QFT_OTHER,
     "Operating system specific hypervisor parameters"),
    ("osparams", "OsParameters", constants.QFT_OTHER, "Operating system specific parameters"),
  ]), namefield="name")
