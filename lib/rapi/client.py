"""A Python client of the remote API, with Ganeti's class and method names.

GanetiRapiClient speaks HTTPS through pycurl and keeps its connection open
between requests.  A client object must not be shared between threads; make
one per thread.  Methods that change the cluster answer the job id; wait for
it with WaitForJobCompletion or WaitForJobChange.
"""

import json
import logging
import socket
import time
import urllib.parse
from io import BytesIO
from typing import Any, Callable, Iterable, Optional

import pycurl

from ganeti import constants
from ganeti import errors
from ganeti import opcodes_defs
from ganeti.rapi.resources import NODE_ROLES as _ROLE_NAMES
# the error classifications of failed opcodes (an opresult error's second item)
from ganeti.errors import (  # noqa: F401  (re-exported, as in Ganeti's client)
  ECODE_ALL, ECODE_ENVIRON, ECODE_EXISTS, ECODE_FAULT, ECODE_INVAL, ECODE_NOENT, ECODE_NORES,
  ECODE_NOTUNIQUE, ECODE_RESOLVER, ECODE_STATE, ECODE_TEMP_NORES)

# The module constants of Ganeti's client, which scripts use by name; the
# values come from this project's own definitions.
GANETI_RAPI_PORT = constants.DEFAULT_RAPI_PORT
GANETI_RAPI_VERSION = constants.RAPI_VERSION

HTTP_GET, HTTP_PUT, HTTP_POST, HTTP_DELETE = "GET", "PUT", "POST", "DELETE"
HTTP_OK, HTTP_NOT_FOUND = 200, 404
HTTP_APP_JSON = "application/json"

(REPLACE_DISK_AUTO, REPLACE_DISK_SECONDARY, REPLACE_DISK_PRI,
 REPLACE_DISK_CHG) = opcodes_defs.REPLACE_MODES
NODE_EVAC_PRI, NODE_EVAC_SEC, NODE_EVAC_ALL = opcodes_defs.EVAC_MODES

# the role names of /2/nodes/[name]/role
(NODE_ROLE_MASTER, NODE_ROLE_MASTER_CANDIDATE, NODE_ROLE_REGULAR, NODE_ROLE_DRAINED,
 NODE_ROLE_OFFLINE) = (_ROLE_NAMES[flag] for flag in "MCRDO")

(JOB_STATUS_QUEUED, JOB_STATUS_WAITING, JOB_STATUS_CANCELING, JOB_STATUS_RUNNING,
 JOB_STATUS_CANCELED, JOB_STATUS_SUCCESS, JOB_STATUS_ERROR) = (
  constants.JOB_STATUS_QUEUED, constants.JOB_STATUS_WAITING, constants.JOB_STATUS_CANCELING,
  constants.JOB_STATUS_RUNNING, constants.JOB_STATUS_CANCELED, constants.JOB_STATUS_SUCCESS,
  constants.JOB_STATUS_ERROR)
JOB_STATUS_PENDING = constants.JOBS_PENDING
JOB_STATUS_FINALIZED = constants.JOBS_FINALIZED
JOB_STATUS_ALL = constants.JOB_STATUS_ALL
JOB_STATUS_WAITLOCK = JOB_STATUS_WAITING  # the older name of "waiting"

# Features a server may announce in /2/features
_REQ_DATA_VERSION_FIELD = "__version__"
_QPARAM_DRY_RUN = "dry-run"
_QPARAM_FORCE = "force"
_INST_CREATE_REQV1 = "instance-create-reqv1"
_INST_REINSTALL_REQV1 = "instance-reinstall-reqv1"
_NODE_MIGRATE_REQV1 = "node-migrate-reqv1"
_NODE_EVAC_RES1 = "node-evac-res1"
INST_CREATE_REQV1 = _INST_CREATE_REQV1
INST_REINSTALL_REQV1 = _INST_REINSTALL_REQV1
NODE_MIGRATE_REQV1 = _NODE_MIGRATE_REQV1
NODE_EVAC_RES1 = _NODE_EVAC_RES1

USER_AGENT = "Ganeti RAPI Client"


class Error(Exception):
  """Base class for this module's errors."""


class GanetiApiError(Error):
  """The server answered an error; code is the HTTP status (None: no answer)."""

  def __init__(self, msg: str, code: Optional[int] = None) -> None:
    super().__init__(msg)
    self.code = code


class CertificateError(GanetiApiError):
  """The server's certificate could not be verified."""


def EpochNano() -> int:
  return time.time_ns()


def UsesRapiClient(fn: Callable) -> Callable:
  """Wraps fn in pycurl's global initialisation, as threaded programs need."""
  def wrapper(*args: Any, **kwargs: Any) -> Any:
    pycurl.global_init(pycurl.GLOBAL_ALL)
    try:
      return fn(*args, **kwargs)
    finally:
      pycurl.global_cleanup()
  return wrapper


def GenericCurlConfig(verbose: bool = False, use_signal: bool = False,
                      use_curl_cabundle: bool = False, cafile: Optional[str] = None,
                      capath: Optional[str] = None, proxy: Optional[str] = None,
                      verify_hostname: bool = False, connect_timeout: Optional[float] = None,
                      timeout: Optional[float] = None) -> Callable[[Any], None]:
  """A function setting up a curl object: certificate checks, proxy, timeouts.

  Without cafile, capath or use_curl_cabundle the server certificate is not
  verified (RAPI certificates are usually self-signed).
  """
  verify_peer = bool(cafile or capath or use_curl_cabundle)
  options: dict[int, Any] = {
    pycurl.VERBOSE: verbose,
    pycurl.NOSIGNAL: not use_signal,
    pycurl.SSL_VERIFYHOST: 2 if verify_hostname else 0,
    pycurl.SSL_VERIFYPEER: verify_peer,
  }
  # options set only when given, with the type curl wants
  for option, value, kind in ((pycurl.CAINFO, cafile, str), (pycurl.CAPATH, capath, str),
                              (pycurl.PROXY, proxy, str),
                              (pycurl.CONNECTTIMEOUT, connect_timeout, int),
                              (pycurl.TIMEOUT, timeout, int)):
    if value is not None:  # "" is a value: an empty proxy disables the environment's
      options[option] = kind(value)

  def Configure(curl: Any) -> None:
    for option, value in options.items():
      curl.setopt(option, value)
  return Configure


def _AppendIf(container: list, condition: Any, value: Any) -> None:
  if condition:
    container.append(value)


def _AppendDryRun(query: list, dry_run: bool) -> None:
  _AppendIf(query, dry_run, (_QPARAM_DRY_RUN, 1))


def _AppendForce(query: list, force: bool) -> None:
  _AppendIf(query, force, (_QPARAM_FORCE, 1))


def _AppendReason(query: list, reason: Optional[str]) -> None:
  _AppendIf(query, reason, ("reason", reason))


def _SetItemIf(container: dict, condition: Any, key: str, value: Any) -> None:
  if condition:
    container[key] = value


def _Quote(name: Any) -> str:
  return urllib.parse.quote(str(name), safe="")


class GanetiRapiClient:  # pylint: disable=too-many-public-methods
  """A client of one cluster's RAPI daemon."""

  _json_encoder = json.JSONEncoder(sort_keys=True)

  def __init__(self, host: str, port: int = GANETI_RAPI_PORT,
               username: Optional[str] = None, password: Optional[str] = None,
               logger: Any = logging, curl_config_fn: Optional[Callable[[Any], None]] = None,
               curl_factory: Optional[Callable[[], Any]] = None) -> None:
    self._logger = logger
    self._username = username
    self._password = password
    self._curl_config_fn = curl_config_fn or GenericCurlConfig()
    self._curl_factory = curl_factory or pycurl.Curl
    try:
      socket.inet_pton(socket.AF_INET6, host)
      address = "[%s]:%s" % (host, port)
    except OSError:
      address = "%s:%s" % (host, port)
    self._base_url = "https://%s" % address
    if username is not None and password is None:
      raise Error("Password not specified")
    if password is not None and username is None:
      raise Error("Specified password without username")
    self._curl = None

  def _CreateCurl(self) -> Any:
    curl = self._curl_factory()
    curl.setopt(pycurl.HTTP_VERSION, pycurl.CURL_HTTP_VERSION_1_1)
    curl.setopt(pycurl.USERAGENT, USER_AGENT)
    curl.setopt(pycurl.HTTPHEADER, ["Accept: %s" % HTTP_APP_JSON,
                                    "Content-type: %s" % HTTP_APP_JSON])
    if self._username is not None:
      curl.setopt(pycurl.HTTPAUTH, pycurl.HTTPAUTH_BASIC)
      curl.setopt(pycurl.USERPWD, "%s:%s" % (self._username, self._password))
    self._curl_config_fn(curl)
    return curl

  @staticmethod
  def _EncodeQuery(query: Iterable) -> list[tuple[str, str]]:
    """Query arguments as strings: booleans as 0/1, None as empty."""
    encoded = []
    for name, value in query:
      if value is None:
        value = ""
      elif isinstance(value, bool):
        value = int(value)
      elif isinstance(value, (list, tuple)):
        value = ",".join(str(item) for item in value)
      encoded.append((name, str(value)))
    return encoded

  def _SendRequest(self, method: str, path: str, query: Optional[list],
                   content: Any) -> Any:
    """Sends a request and returns the decoded answer; raises GanetiApiError."""
    if self._curl is None:
      self._curl = self._CreateCurl()
    curl = self._curl
    url = self._base_url + path
    if query:
      url += "?" + urllib.parse.urlencode(self._EncodeQuery(query))
    body = self._json_encoder.encode(content).encode("utf-8") if content is not None else b""
    answer = BytesIO()
    curl.setopt(pycurl.CUSTOMREQUEST, method)
    curl.setopt(pycurl.URL, url)
    curl.setopt(pycurl.POSTFIELDS, body)
    curl.setopt(pycurl.WRITEFUNCTION, answer.write)
    self._logger.debug("Sending request %s %s (content=%r)", method, url, content)
    try:
      curl.perform()
    except pycurl.error as err:
      self._curl = None
      if err.args and err.args[0] in (pycurl.E_SSL_CACERT, pycurl.E_SSL_PEER_CERTIFICATE):
        raise CertificateError("SSL certificate error %s" % (err,)) from err
      raise GanetiApiError(str(err)) from err
    code = curl.getinfo(pycurl.RESPONSE_CODE)
    data = answer.getvalue().decode("utf-8", "replace")
    try:
      decoded = json.loads(data) if data else None
    except ValueError:
      decoded = data
    if code != HTTP_OK:
      if isinstance(decoded, dict) and "message" in decoded:
        message = "%s %s: %s" % (decoded.get("code", code), decoded["message"],
                                 decoded.get("explain", ""))
      else:
        message = str(decoded)
      raise GanetiApiError(message, code=code)
    return decoded

  # --- cluster ---
  def GetVersion(self) -> int:
    return self._SendRequest(HTTP_GET, "/version", None, None)

  def GetFeatures(self) -> list:
    try:
      return self._SendRequest(HTTP_GET, "/%s/features" % GANETI_RAPI_VERSION, None, None)
    except GanetiApiError as err:
      if err.code == HTTP_NOT_FOUND:  # servers before the resource existed
        return []
      raise

  def GetOperatingSystems(self, reason: Optional[str] = None) -> list:
    query: list = []
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_GET, "/2/os", query, None)

  def GetInfo(self, reason: Optional[str] = None) -> dict:
    query: list = []
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_GET, "/2/info", query, None)

  def RedistributeConfig(self, reason: Optional[str] = None) -> int:
    query: list = []
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_PUT, "/2/redistribute-config", query, None)

  def ModifyCluster(self, reason: Optional[str] = None, **kwargs: Any) -> int:
    query: list = []
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_PUT, "/2/modify", query, kwargs)

  def GetClusterTags(self, reason: Optional[str] = None) -> list:
    query: list = []
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_GET, "/2/tags", query, None)

  def AddClusterTags(self, tags: list, dry_run: bool = False,
                     reason: Optional[str] = None) -> int:
    query = [("tag", tag) for tag in tags]
    _AppendDryRun(query, dry_run)
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_PUT, "/2/tags", query, None)

  def DeleteClusterTags(self, tags: list, dry_run: bool = False,
                        reason: Optional[str] = None) -> int:
    query = [("tag", tag) for tag in tags]
    _AppendDryRun(query, dry_run)
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_DELETE, "/2/tags", query, None)

  # --- tags of objects ---
  def _GetTags(self, kind: str, name: str, reason: Optional[str]) -> list:
    query: list = []
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_GET, "/2/%s/%s/tags" % (kind, _Quote(name)), query, None)

  def _ChangeTags(self, method: str, kind: str, name: str, tags: list, dry_run: bool,
                  reason: Optional[str]) -> int:
    query = [("tag", tag) for tag in tags]
    _AppendDryRun(query, dry_run)
    _AppendReason(query, reason)
    return self._SendRequest(method, "/2/%s/%s/tags" % (kind, _Quote(name)), query, None)

  # --- instances ---
  def GetInstances(self, bulk: bool = False, reason: Optional[str] = None) -> list:
    query: list = []
    _AppendIf(query, bulk, ("bulk", 1))
    _AppendReason(query, reason)
    instances = self._SendRequest(HTTP_GET, "/2/instances", query, None)
    return instances if bulk else [inst["id"] for inst in instances]

  def GetInstance(self, instance: str, reason: Optional[str] = None) -> dict:
    query: list = []
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_GET, "/2/instances/%s" % _Quote(instance), query, None)

  def GetInstanceInfo(self, instance: str, static: Optional[bool] = None,
                      reason: Optional[str] = None) -> int:
    query: list = []
    if static is not None:
      query.append(("static", static))
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_GET, "/2/instances/%s/info" % _Quote(instance), query, None)

  def InstancesMultiAlloc(self, instances: list, reason: Optional[str] = None,
                          **kwargs: Any) -> int:
    query: list = []
    body = {"instances": instances}
    body.update(kwargs)
    _AppendDryRun(query, kwargs.get("dry_run"))
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_POST, "/2/instances-multi-alloc", query, body)

  def InstanceAllocation(self, mode: str, name: str, disk_template: str, disks: list,
                         nics: list, **kwargs: Any) -> dict:
    """One instance's parameters for InstancesMultiAlloc."""
    body = {"mode": mode, "name": name, "disk_template": disk_template, "disks": disks,
            "nics": nics}
    body.update(kwargs)
    return body

  def CreateInstance(self, mode: str, name: str, disk_template: str, disks: list,
                     nics: list, reason: Optional[str] = None, **kwargs: Any) -> int:
    """Creates an instance; dry_run=True (a keyword) only checks."""
    query: list = []
    _AppendDryRun(query, kwargs.pop("dry_run", False))
    _AppendReason(query, reason)
    if _INST_CREATE_REQV1 not in self.GetFeatures():
      raise GanetiApiError("Server does not support new-style (version 1) instance"
                           " creation requests")
    body = {_REQ_DATA_VERSION_FIELD: 1, "mode": mode, "name": name,
            "disk_template": disk_template, "disks": disks, "nics": nics}
    conflicts = set(kwargs) & set(body)
    if conflicts:
      raise GanetiApiError("Required parameter%s given again in keyword arguments: %s"
                           % ("s" if len(conflicts) > 1 else "", ", ".join(sorted(conflicts))))
    body.update(kwargs)
    return self._SendRequest(HTTP_POST, "/2/instances", query, body)

  def DeleteInstance(self, instance: str, dry_run: bool = False,
                     reason: Optional[str] = None, **kwargs: Any) -> int:
    query: list = []
    _AppendDryRun(query, dry_run)
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_DELETE, "/2/instances/%s" % _Quote(instance), query,
                             kwargs or None)

  def ModifyInstance(self, instance: str, reason: Optional[str] = None, **kwargs: Any) -> int:
    query: list = []
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_PUT, "/2/instances/%s/modify" % _Quote(instance), query,
                             kwargs)

  def ActivateInstanceDisks(self, instance: str, ignore_size: Optional[bool] = None,
                            reason: Optional[str] = None) -> int:
    query: list = []
    _AppendIf(query, ignore_size, ("ignore_size", 1))
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_PUT, "/2/instances/%s/activate-disks" % _Quote(instance),
                             query, None)

  def DeactivateInstanceDisks(self, instance: str, reason: Optional[str] = None,
                              force: bool = False) -> int:
    query: list = []
    _AppendForce(query, force)
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_PUT, "/2/instances/%s/deactivate-disks" % _Quote(instance),
                             query, None)

  def RecreateInstanceDisks(self, instance: str, disks: Optional[list] = None,
                            nodes: Optional[list] = None, reason: Optional[str] = None,
                            iallocator: Optional[str] = None) -> int:
    body: dict = {}
    _SetItemIf(body, disks is not None, "disks", disks)
    _SetItemIf(body, nodes is not None, "nodes", nodes)
    _SetItemIf(body, iallocator is not None, "iallocator", iallocator)
    query: list = []
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_POST, "/2/instances/%s/recreate-disks" % _Quote(instance),
                             query, body)

  def GrowInstanceDisk(self, instance: str, disk: int, amount: int,
                       wait_for_sync: Optional[bool] = None,
                       reason: Optional[str] = None) -> int:
    body: dict = {"amount": amount}
    _SetItemIf(body, wait_for_sync is not None, "wait_for_sync", wait_for_sync)
    query: list = []
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_POST, "/2/instances/%s/disk/%s/grow"
                             % (_Quote(instance), disk), query, body)

  def GetInstanceTags(self, instance: str, reason: Optional[str] = None) -> list:
    return self._GetTags("instances", instance, reason)

  def AddInstanceTags(self, instance: str, tags: list, dry_run: bool = False,
                      reason: Optional[str] = None) -> int:
    return self._ChangeTags(HTTP_PUT, "instances", instance, tags, dry_run, reason)

  def DeleteInstanceTags(self, instance: str, tags: list, dry_run: bool = False,
                         reason: Optional[str] = None) -> int:
    return self._ChangeTags(HTTP_DELETE, "instances", instance, tags, dry_run, reason)

  def RebootInstance(self, instance: str, reboot_type: Optional[str] = None,
                     ignore_secondaries: Optional[bool] = None, dry_run: bool = False,
                     reason: Optional[str] = None, **kwargs: Any) -> int:
    query: list = []
    _AppendDryRun(query, dry_run)
    _AppendIf(query, reboot_type, ("type", reboot_type))
    _AppendIf(query, ignore_secondaries is not None,
              ("ignore_secondaries", ignore_secondaries))
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_POST, "/2/instances/%s/reboot" % _Quote(instance), query,
                             kwargs or None)

  def ShutdownInstance(self, instance: str, dry_run: bool = False, no_remember: bool = False,
                       reason: Optional[str] = None, **kwargs: Any) -> int:
    query: list = []
    _AppendDryRun(query, dry_run)
    _AppendIf(query, no_remember, ("no_remember", 1))
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_PUT, "/2/instances/%s/shutdown" % _Quote(instance), query,
                             kwargs or None)

  def StartupInstance(self, instance: str, dry_run: bool = False, no_remember: bool = False,
                      reason: Optional[str] = None) -> int:
    query: list = []
    _AppendDryRun(query, dry_run)
    _AppendIf(query, no_remember, ("no_remember", 1))
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_PUT, "/2/instances/%s/startup" % _Quote(instance), query,
                             None)

  def ReinstallInstance(self, instance: str, os: Optional[str] = None,  # pylint: disable=redefined-outer-name
                        no_startup: bool = False, osparams: Optional[dict] = None,
                        reason: Optional[str] = None) -> int:
    query: list = []
    _AppendReason(query, reason)
    path = "/2/instances/%s/reinstall" % _Quote(instance)
    if _INST_REINSTALL_REQV1 in self.GetFeatures():
      body: dict = {"start": not no_startup}
      _SetItemIf(body, os is not None, "os", os)
      _SetItemIf(body, osparams is not None, "osparams", osparams)
      return self._SendRequest(HTTP_POST, path, query, body)
    if osparams:
      raise GanetiApiError("Server does not support specifying OS parameters for instance"
                           " reinstallation")
    _AppendIf(query, os, ("os", os))
    _AppendIf(query, no_startup, ("nostartup", 1))
    return self._SendRequest(HTTP_POST, path, query, None)

  def ReplaceInstanceDisks(self, instance: str, disks: Optional[list] = None,
                           mode: str = REPLACE_DISK_AUTO, remote_node: Optional[str] = None,
                           iallocator: Optional[str] = None, reason: Optional[str] = None,
                           early_release: Optional[bool] = None) -> int:
    query = [("mode", mode)]
    if disks:
      query.append(("disks", ",".join(str(index) for index in disks)))
    _AppendIf(query, remote_node, ("remote_node", remote_node))
    _AppendIf(query, iallocator, ("iallocator", iallocator))
    _AppendIf(query, early_release is not None, ("early_release", early_release))
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_POST, "/2/instances/%s/replace-disks" % _Quote(instance),
                             query, None)

  def PrepareExport(self, instance: str, mode: str, reason: Optional[str] = None) -> int:
    query = [("mode", mode)]
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_PUT, "/2/instances/%s/prepare-export" % _Quote(instance),
                             query, None)

  def ExportInstance(self, instance: str, mode: str, destination: Any,
                     shutdown: Optional[bool] = None, remove_instance: Optional[bool] = None,
                     x509_key_name: Any = None, destination_x509_ca: Optional[str] = None,
                     compress: Optional[str] = None, reason: Optional[str] = None) -> int:
    body = {"destination": destination, "mode": mode}
    _SetItemIf(body, shutdown is not None, "shutdown", shutdown)
    _SetItemIf(body, remove_instance is not None, "remove_instance", remove_instance)
    _SetItemIf(body, x509_key_name is not None, "x509_key_name", x509_key_name)
    _SetItemIf(body, destination_x509_ca is not None, "destination_x509_ca",
               destination_x509_ca)
    _SetItemIf(body, compress is not None, "compress", compress)
    query: list = []
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_PUT, "/2/instances/%s/export" % _Quote(instance), query,
                             body)

  def MigrateInstance(self, instance: str, mode: Optional[str] = None,
                      cleanup: Optional[bool] = None, target_node: Optional[str] = None,
                      reason: Optional[str] = None) -> int:
    body: dict = {}
    _SetItemIf(body, mode is not None, "mode", mode)
    _SetItemIf(body, cleanup is not None, "cleanup", cleanup)
    _SetItemIf(body, target_node is not None, "target_node", target_node)
    query: list = []
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_PUT, "/2/instances/%s/migrate" % _Quote(instance), query,
                             body)

  def FailoverInstance(self, instance: str, iallocator: Optional[str] = None,
                       ignore_consistency: Optional[bool] = None,
                       target_node: Optional[str] = None, reason: Optional[str] = None) -> int:
    body: dict = {}
    _SetItemIf(body, iallocator is not None, "iallocator", iallocator)
    _SetItemIf(body, ignore_consistency is not None, "ignore_consistency", ignore_consistency)
    _SetItemIf(body, target_node is not None, "target_node", target_node)
    query: list = []
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_PUT, "/2/instances/%s/failover" % _Quote(instance), query,
                             body)

  def RenameInstance(self, instance: str, new_name: str, ip_check: Optional[bool] = None,
                     name_check: Optional[bool] = None, reason: Optional[str] = None) -> int:
    body: dict = {"new_name": new_name}
    _SetItemIf(body, ip_check is not None, "ip_check", ip_check)
    _SetItemIf(body, name_check is not None, "name_check", name_check)
    query: list = []
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_PUT, "/2/instances/%s/rename" % _Quote(instance), query,
                             body)

  def GetInstanceConsole(self, instance: str, reason: Optional[str] = None) -> dict:
    query: list = []
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_GET, "/2/instances/%s/console" % _Quote(instance), query,
                             None)

  # --- jobs ---
  def GetJobs(self, bulk: bool = False) -> list:
    if bulk:
      return self._SendRequest(HTTP_GET, "/2/jobs", [("bulk", 1)], None)
    return [int(job["id"]) for job in self._SendRequest(HTTP_GET, "/2/jobs", None, None)]

  def GetJobStatus(self, job_id: Any) -> dict:
    return self._SendRequest(HTTP_GET, "/2/jobs/%s" % job_id, None, None)

  def WaitForJobCompletion(self, job_id: Any, period: float = 5, retries: int = -1) -> bool:
    """Polls the job until it ends; True when it succeeded, False otherwise (or
    when the retries ran out)."""
    while True:
      status = self.GetJobStatus(job_id)["status"]
      if status == JOB_STATUS_SUCCESS:
        return True
      if status in (JOB_STATUS_CANCELING, JOB_STATUS_CANCELED, JOB_STATUS_ERROR, None):
        return False
      if retries == 0:
        return False
      if retries > 0:
        retries -= 1
      time.sleep(period)

  def WaitForJobChange(self, job_id: Any, fields: list, prev_job_info: Optional[list],
                       prev_log_serial: Optional[int]) -> Optional[dict]:
    body = {"fields": fields, "previous_job_info": prev_job_info,
            "previous_log_serial": prev_log_serial}
    return self._SendRequest(HTTP_GET, "/2/jobs/%s/wait" % job_id, None, body)

  def CancelJob(self, job_id: Any, dry_run: bool = False) -> list:
    query: list = []
    _AppendDryRun(query, dry_run)
    return self._SendRequest(HTTP_DELETE, "/2/jobs/%s" % job_id, query, None)

  # --- nodes ---
  def GetNodes(self, bulk: bool = False, reason: Optional[str] = None) -> list:
    query: list = []
    _AppendIf(query, bulk, ("bulk", 1))
    _AppendReason(query, reason)
    nodes = self._SendRequest(HTTP_GET, "/2/nodes", query, None)
    return nodes if bulk else [node["id"] for node in nodes]

  def GetNode(self, node: str, reason: Optional[str] = None) -> dict:
    query: list = []
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_GET, "/2/nodes/%s" % _Quote(node), query, None)

  def EvacuateNode(self, node: str, iallocator: Optional[str] = None,
                   remote_node: Optional[str] = None, dry_run: bool = False,
                   early_release: Optional[bool] = None, mode: Optional[str] = None,
                   accept_old: bool = False, reason: Optional[str] = None) -> int:
    if iallocator and remote_node:
      raise GanetiApiError("Only one of iallocator or remote_node can be used")
    query: list = []
    _AppendDryRun(query, dry_run)
    _AppendReason(query, reason)
    if _NODE_EVAC_RES1 not in self.GetFeatures() and not accept_old:
      raise GanetiApiError("Server is version 2.4 or earlier and caller does not accept"
                           " old-style results (parameter accept_old)")
    body: dict = {}
    _SetItemIf(body, iallocator is not None, "iallocator", iallocator)
    _SetItemIf(body, remote_node is not None, "remote_node", remote_node)
    _SetItemIf(body, early_release is not None, "early_release", early_release)
    _SetItemIf(body, mode is not None, "mode", mode)
    return self._SendRequest(HTTP_POST, "/2/nodes/%s/evacuate" % _Quote(node), query, body)

  def MigrateNode(self, node: str, mode: Optional[str] = None, dry_run: bool = False,
                  iallocator: Optional[str] = None, target_node: Optional[str] = None,
                  reason: Optional[str] = None) -> int:
    query: list = []
    _AppendDryRun(query, dry_run)
    _AppendReason(query, reason)
    body: dict = {}
    _SetItemIf(body, mode is not None, "mode", mode)
    _SetItemIf(body, iallocator is not None, "iallocator", iallocator)
    _SetItemIf(body, target_node is not None, "target_node", target_node)
    return self._SendRequest(HTTP_POST, "/2/nodes/%s/migrate" % _Quote(node), query, body)

  def GetNodeRole(self, node: str, reason: Optional[str] = None) -> str:
    query: list = []
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_GET, "/2/nodes/%s/role" % _Quote(node), query, None)

  def SetNodeRole(self, node: str, role: str, force: bool = False,
                  auto_promote: Optional[bool] = None, reason: Optional[str] = None) -> int:
    query = [("force", force)]
    _AppendIf(query, auto_promote is not None, ("auto-promote", auto_promote))
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_PUT, "/2/nodes/%s/role" % _Quote(node), query, role)

  def PowercycleNode(self, node: str, force: bool = False,
                     reason: Optional[str] = None) -> int:
    query: list = []
    _AppendForce(query, force)
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_POST, "/2/nodes/%s/powercycle" % _Quote(node), query, None)

  def ModifyNode(self, node: str, reason: Optional[str] = None, **kwargs: Any) -> int:
    query: list = []
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_POST, "/2/nodes/%s/modify" % _Quote(node), query, kwargs)

  def GetNodeStorageUnits(self, node: str, storage_type: str, output_fields: list,
                          reason: Optional[str] = None) -> int:
    query = [("storage_type", storage_type), ("output_fields", output_fields)]
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_GET, "/2/nodes/%s/storage" % _Quote(node), query, None)

  def ModifyNodeStorageUnits(self, node: str, storage_type: str, name: str,
                             allocatable: Optional[bool] = None,
                             reason: Optional[str] = None) -> int:
    query: list = [("storage_type", storage_type), ("name", name)]
    _AppendIf(query, allocatable is not None, ("allocatable", allocatable))
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_PUT, "/2/nodes/%s/storage/modify" % _Quote(node), query,
                             None)

  def RepairNodeStorageUnits(self, node: str, storage_type: str, name: str,
                             reason: Optional[str] = None) -> int:
    query = [("storage_type", storage_type), ("name", name)]
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_PUT, "/2/nodes/%s/storage/repair" % _Quote(node), query,
                             None)

  def GetNodeTags(self, node: str, reason: Optional[str] = None) -> list:
    return self._GetTags("nodes", node, reason)

  def AddNodeTags(self, node: str, tags: list, dry_run: bool = False,
                  reason: Optional[str] = None) -> int:
    return self._ChangeTags(HTTP_PUT, "nodes", node, tags, dry_run, reason)

  def DeleteNodeTags(self, node: str, tags: list, dry_run: bool = False,
                     reason: Optional[str] = None) -> int:
    return self._ChangeTags(HTTP_DELETE, "nodes", node, tags, dry_run, reason)

  # --- networks ---
  def GetNetworks(self, bulk: bool = False, reason: Optional[str] = None) -> list:
    query: list = []
    _AppendIf(query, bulk, ("bulk", 1))
    _AppendReason(query, reason)
    networks = self._SendRequest(HTTP_GET, "/2/networks", query, None)
    return networks if bulk else [net["name"] for net in networks]

  def GetNetwork(self, network: str, reason: Optional[str] = None) -> dict:
    query: list = []
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_GET, "/2/networks/%s" % _Quote(network), query, None)

  def CreateNetwork(self, network_name: str, network: str, gateway: Optional[str] = None,
                    network6: Optional[str] = None, gateway6: Optional[str] = None,
                    mac_prefix: Optional[str] = None, add_reserved_ips: Optional[list] = None,
                    tags: Optional[list] = None, dry_run: bool = False,
                    reason: Optional[str] = None) -> int:
    query: list = []
    _AppendDryRun(query, dry_run)
    _AppendReason(query, reason)
    body = {"network_name": network_name, "network": network, "gateway": gateway,
            "network6": network6, "gateway6": gateway6, "mac_prefix": mac_prefix,
            "add_reserved_ips": add_reserved_ips}
    if tags is not None:
      body["tags"] = tags
    return self._SendRequest(HTTP_POST, "/2/networks", query, body)

  def ConnectNetwork(self, network_name: str, group_name: str, mode: str, link: str,
                     vlan: str = "", dry_run: bool = False, reason: Optional[str] = None) -> int:
    body = {"group_name": group_name, "network_mode": mode, "network_link": link,
            "network_vlan": vlan}
    query: list = []
    _AppendDryRun(query, dry_run)
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_PUT, "/2/networks/%s/connect" % _Quote(network_name),
                             query, body)

  def DisconnectNetwork(self, network_name: str, group_name: str, dry_run: bool = False,
                        reason: Optional[str] = None) -> int:
    body = {"group_name": group_name}
    query: list = []
    _AppendDryRun(query, dry_run)
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_PUT, "/2/networks/%s/disconnect" % _Quote(network_name),
                             query, body)

  def ModifyNetwork(self, network: str, reason: Optional[str] = None, **kwargs: Any) -> int:
    query: list = []
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_PUT, "/2/networks/%s/modify" % _Quote(network), query,
                             kwargs)

  def DeleteNetwork(self, network: str, dry_run: bool = False,
                    reason: Optional[str] = None) -> int:
    query: list = []
    _AppendDryRun(query, dry_run)
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_DELETE, "/2/networks/%s" % _Quote(network), query, None)

  def GetNetworkTags(self, network: str, reason: Optional[str] = None) -> list:
    return self._GetTags("networks", network, reason)

  def AddNetworkTags(self, network: str, tags: list, dry_run: bool = False,
                     reason: Optional[str] = None) -> int:
    return self._ChangeTags(HTTP_PUT, "networks", network, tags, dry_run, reason)

  def DeleteNetworkTags(self, network: str, tags: list, dry_run: bool = False,
                        reason: Optional[str] = None) -> int:
    return self._ChangeTags(HTTP_DELETE, "networks", network, tags, dry_run, reason)

  # --- node groups ---
  def GetGroups(self, bulk: bool = False, reason: Optional[str] = None) -> list:
    query: list = []
    _AppendIf(query, bulk, ("bulk", 1))
    _AppendReason(query, reason)
    groups = self._SendRequest(HTTP_GET, "/2/groups", query, None)
    return groups if bulk else [group["name"] for group in groups]

  def GetGroup(self, group: str, reason: Optional[str] = None) -> dict:
    query: list = []
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_GET, "/2/groups/%s" % _Quote(group), query, None)

  def CreateGroup(self, name: str, alloc_policy: Optional[str] = None, dry_run: bool = False,
                  reason: Optional[str] = None) -> int:
    query: list = []
    _AppendDryRun(query, dry_run)
    _AppendReason(query, reason)
    body = {"name": name, "alloc_policy": alloc_policy}
    return self._SendRequest(HTTP_POST, "/2/groups", query, body)

  def ModifyGroup(self, group: str, reason: Optional[str] = None, **kwargs: Any) -> int:
    query: list = []
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_PUT, "/2/groups/%s/modify" % _Quote(group), query, kwargs)

  def DeleteGroup(self, group: str, dry_run: bool = False,
                  reason: Optional[str] = None) -> int:
    query: list = []
    _AppendDryRun(query, dry_run)
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_DELETE, "/2/groups/%s" % _Quote(group), query, None)

  def RenameGroup(self, group: str, new_name: str, reason: Optional[str] = None) -> int:
    query: list = []
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_PUT, "/2/groups/%s/rename" % _Quote(group), query,
                             {"new_name": new_name})

  def AssignGroupNodes(self, group: str, nodes: list, force: bool = False,
                       dry_run: bool = False, reason: Optional[str] = None) -> int:
    query: list = []
    _AppendForce(query, force)
    _AppendDryRun(query, dry_run)
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_PUT, "/2/groups/%s/assign-nodes" % _Quote(group), query,
                             {"nodes": nodes})

  def GetGroupTags(self, group: str, reason: Optional[str] = None) -> list:
    return self._GetTags("groups", group, reason)

  def AddGroupTags(self, group: str, tags: list, dry_run: bool = False,
                   reason: Optional[str] = None) -> int:
    return self._ChangeTags(HTTP_PUT, "groups", group, tags, dry_run, reason)

  def DeleteGroupTags(self, group: str, tags: list, dry_run: bool = False,
                      reason: Optional[str] = None) -> int:
    return self._ChangeTags(HTTP_DELETE, "groups", group, tags, dry_run, reason)

  # --- queries ---
  def Query(self, what: str, fields: list, qfilter: Optional[list] = None,
            reason: Optional[str] = None) -> dict:
    query: list = []
    _AppendReason(query, reason)
    body: dict = {"fields": fields}
    if qfilter is not None:
      body["qfilter"] = body["filter"] = qfilter
    return self._SendRequest(HTTP_PUT, "/2/query/%s" % _Quote(what), query, body)

  def QueryFields(self, what: str, fields: Optional[list] = None,
                  reason: Optional[str] = None) -> dict:
    query: list = []
    if fields is not None:
      query.append(("fields", ",".join(fields)))
    _AppendReason(query, reason)
    return self._SendRequest(HTTP_GET, "/2/query/%s/fields" % _Quote(what), query, None)

  # --- job filters ---
  def GetFilters(self, bulk: bool = False) -> list:
    if bulk:
      return self._SendRequest(HTTP_GET, "/2/filters", [("bulk", 1)], None)
    return [rule["uuid"] for rule in self._SendRequest(HTTP_GET, "/2/filters", None, None)]

  def GetFilter(self, filter_uuid: str) -> dict:
    return self._SendRequest(HTTP_GET, "/2/filters/%s" % _Quote(filter_uuid), None, None)

  def AddFilter(self, priority: int, predicates: list, action: Any,
                reason_trail: Optional[list] = None) -> str:
    body = {"priority": priority, "predicates": predicates, "action": action,
            "reason": reason_trail or []}
    return self._SendRequest(HTTP_POST, "/2/filters", None, body)

  def ReplaceFilter(self, uuid: str, priority: int, predicates: list, action: Any,
                    reason_trail: Optional[list] = None) -> str:
    body = {"priority": priority, "predicates": predicates, "action": action,
            "reason": reason_trail or []}
    return self._SendRequest(HTTP_PUT, "/2/filters/%s" % _Quote(uuid), None, body)

  def DeleteFilter(self, uuid: str) -> None:
    return self._SendRequest(HTTP_DELETE, "/2/filters/%s" % _Quote(uuid), None, None)
