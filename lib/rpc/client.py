"""Calling node daemons: RpcResult and the runners.

Every call of rpc.defs.CALLS is a method `call_<name>` of each runner.  A
multi-node call takes a list of nodes and returns {node: RpcResult} keyed by
what the caller gave; a single-node call takes one node and returns one
RpcResult.  Nodes are found differently per runner:

- RpcRunner(cfg): node uuids or names of the configuration; offline nodes
  are never contacted;
- DnsOnlyRunner(): names, resolved through the node's hosts file and DNS
  (nodes not yet in the configuration);
- BootstrapRunner(): names, resolved through this node's ssconf (nodes may
  be called without a master daemon), else DNS.

Any runner also accepts a node as an explicit (name, address) pair; its
result is then keyed by the name.  port and pool (transport.Pool: which
client certificate and CA to use) default to noded's port and this node's
client.pem and server.pem.
"""

import logging
import os
import socket
import threading
from typing import Any, Callable, Optional

from ganeti import constants
from ganeti import errors
from ganeti import firstchange
from ganeti import netutils
from ganeti import objects
from ganeti import paramdefs
from ganeti import serializer
from ganeti import ssconf
from ganeti import vcluster
from ganeti.rpc import defs
from ganeti.rpc import encoding
from ganeti.rpc import transport

OFFLINE_MSG = "Node is marked offline"

from ganeti.constants import (  # the node's storage layer reads these keys too
  DDP_LOCAL_IP, DDP_LOCAL_MINOR, DDP_PORT, DDP_REMOTE_IP, DDP_REMOTE_MINOR)


def GetNodedPort() -> int:
  """noded's port: the services database's, else Ganeti's default."""
  try:
    return socket.getservbyname(constants.NODED, "tcp")
  except OSError:
    return constants.DEFAULT_NODED_PORT


class RpcResult:
  """The outcome of one call on one node.

  data is the node's raw answer [success, payload] (None when the node was
  offline or could not be reached); fail_msg is None on success, otherwise
  why the call failed; payload is the answer's payload on success.
  """

  def __init__(self, data: Any = None, failed: bool = False, offline: bool = False,
               call: Optional[str] = None, node: Any = None,
               error: Optional[str] = None) -> None:
    self.call = call
    self.node = node
    self.offline = offline
    self.data = None if (offline or failed) else data
    self.payload: Any = None
    self.fail_msg: Optional[str] = None
    if offline:
      self.fail_msg = OFFLINE_MSG
    elif failed:
      self.fail_msg = error or "Unknown error"
    elif not isinstance(data, (list, tuple)) or len(data) != 2:
      self.fail_msg = "Invalid result type or format from node %s: %r" % (node, data)[:300]
    elif not data[0]:
      self.fail_msg = data[1] if isinstance(data[1], str) and data[1] else \
        "No error information"
    else:
      self.payload = data[1]

  def __repr__(self) -> str:
    return "<RpcResult %s on %s: %s>" % (self.call, self.node, self.fail_msg or "ok")

  def Raise(self, msg: Optional[str], prereq: bool = False,
            ecode: Optional[str] = None) -> None:
    """Raises OpExecError (OpPrereqError when prereq) "msg: fail_msg" if failed."""
    if not self.fail_msg:
      return
    text = "%s: %s" % (msg, self.fail_msg) if msg else self.fail_msg
    if prereq:
      raise errors.OpPrereqError(text, ecode or errors.ECODE_INVAL)
    raise errors.OpExecError(text)

  def Warn(self, msg: str, feedback_fn: Callable[[str], Any]) -> None:
    """Reports a failure as a warning (logged and given to feedback_fn)."""
    if not self.fail_msg:
      return
    text = "%s: %s" % (msg, self.fail_msg)
    logging.warning("%s", text)
    feedback_fn(text)


# --- argument encoders -------------------------------------------------------

class _EncodeContext:
  """What encoders may use: the configuration (or None) and the target node."""

  def __init__(self, cfg: Any, node_uuid: Optional[str]) -> None:
    self.cfg = cfg
    self.node_uuid = node_uuid


def _ToDict(value: Any) -> Any:
  return value.ToDict() if hasattr(value, "ToDict") else value


def _DiskDict(ctx: _EncodeContext, disk: Any, instance: Any = None) -> Any:
  """A disk with its template's parameters filled and its per-node DRBD peers."""
  if not hasattr(disk, "ToDict"):
    return disk
  disk = disk.Copy()
  if ctx.cfg is not None and instance is not None:
    diskparams = ctx.cfg.GetInstanceDiskParams(instance)
    _FillDiskParams(disk, diskparams)
  if ctx.cfg is not None and ctx.node_uuid is not None:
    _SetDynamicParams(ctx, disk)
  return disk.ToDict()


def _FillDiskParams(disk: Any, diskparams: dict) -> None:
  disk.params = objects.FillDict(diskparams.get(disk.dev_type, {}), disk.params)
  for child in disk.children or ():
    _FillDiskParams(child, diskparams)


def _SetDynamicParams(ctx: _EncodeContext, disk: Any) -> None:
  """DRBD disks tell each node its own and its peer's address and minor;
  what the disk given already says wins (objects.Disk.LocalHalf leaves the
  peer out)."""
  if disk.dev_type == constants.DT_DRBD8 and disk.logical_id:
    pnode, snode, port, pminor, sminor = disk.logical_id[:5]
    if ctx.node_uuid in (pnode, snode):
      local_is_primary = ctx.node_uuid == pnode
      nodes = {uuid: ctx.cfg.GetNodeInfo(uuid) for uuid in (pnode, snode)}
      local, remote = (pnode, snode) if local_is_primary else (snode, pnode)
      disk.dynamic_params = {
        DDP_LOCAL_IP: nodes[local].secondary_ip if nodes[local] else None,
        DDP_REMOTE_IP: nodes[remote].secondary_ip if nodes[remote] else None,
        DDP_LOCAL_MINOR: pminor if local_is_primary else sminor,
        DDP_REMOTE_MINOR: sminor if local_is_primary else pminor,
        DDP_PORT: port,
        **(disk.dynamic_params or {}),
      }
  for child in disk.children or ():
    _SetDynamicParams(ctx, child)


def _FillNic(ctx: _EncodeContext, nic: dict) -> dict:
  """A NIC's dict with the cluster's NIC parameters and its network's details."""
  cluster = ctx.cfg.GetClusterInfo()
  nic["nicparams"] = objects.FillDict(cluster.nicparams[paramdefs.PP_DEFAULT],
                                      nic.get("nicparams"))
  if nic.get("network"):
    network = ctx.cfg.GetNetwork(nic["network"])
    if network is not None:
      nic["netinfo"] = network.ToDict()
  return nic


def _InstDict(ctx: _EncodeContext, instance: Any, hvp: Optional[dict] = None,
              bep: Optional[dict] = None, osp: Optional[dict] = None) -> Any:
  """An instance as nodes need it: parameters filled by the cluster, disks included."""
  if not hasattr(instance, "ToDict"):
    return instance
  idict = instance.ToDict()
  if ctx.cfg is None:
    return idict
  cluster = ctx.cfg.GetClusterInfo()
  idict["hvparams"] = objects.FillDict(cluster.FillHV(instance), hvp)
  idict["beparams"] = objects.FillDict(cluster.FillBE(instance), bep)
  idict["osparams"] = objects.FillDict(
    cluster.SimpleFillOS(instance.os, instance.osparams), osp)
  for nic in idict.get("nics", ()):
    _FillNic(ctx, nic)
  idict["disks_info"] = [_DiskDict(ctx, disk, instance)
                         for disk in ctx.cfg.GetInstanceDisks(instance.uuid)]
  return idict


def _FileDetails(_: _EncodeContext, path: str) -> list:
  """upload_file's arguments: where, content, mode, owner, group, atime, mtime."""
  import grp  # pylint: disable=import-outside-toplevel
  import pwd  # pylint: disable=import-outside-toplevel
  st = os.stat(path)  # before reading, which may change the access time
  with open(path, "rb") as handle:
    content = handle.read()
  try:
    owner = pwd.getpwuid(st.st_uid).pw_name
  except KeyError:
    owner = str(st.st_uid)
  try:
    group = grp.getgrgid(st.st_gid).gr_name
  except KeyError:
    group = str(st.st_gid)
  return [vcluster.MakeVirtualPath(path), encoding.Compress(content), st.st_mode & 0o7777,
          owner, group, st.st_atime, st.st_mtime]


def _ImpExpIo(ctx: _EncodeContext, value: Any) -> Any:
  """(kind, args): disks inside the arguments travel as dicts."""
  kind, args = value
  if kind in ("raw", "script"):
    return [kind, [_DiskDict(ctx, args[0])] + list(args[1:])]
  return [kind, args]


def _DeviceDict(ctx: _EncodeContext, value: Any) -> Any:
  """(device, instance): a disk gets its parameters, a NIC its filled
  NIC parameters (as an instance's NICs do)."""
  device, instance = value
  if isinstance(device, objects.Disk):
    return _DiskDict(ctx, device, instance)
  ndict = _ToDict(device)
  return _FillNic(ctx, ndict) if ctx.cfg is not None and isinstance(ndict, dict) else ndict


# kind -> encoder(ctx, value)
_ENCODERS: dict[str, Callable[[_EncodeContext, Any], Any]] = {
  defs.OBJECT_DICT: lambda ctx, value: _ToDict(value),
  defs.OBJECT_DICT_LIST: lambda ctx, value: [_ToDict(item) for item in value],
  defs.INST_DICT: _InstDict,
  defs.INST_DICT_HVP_BEP_DP: lambda ctx, value: _InstDict(ctx, value[0], hvp=value[1],
                                                          bep=value[2]),
  defs.INST_DICT_OSP_DP: lambda ctx, value: _InstDict(ctx, value[0], osp=value[1]),
  defs.NODE_TO_DISK_DICT_DP: lambda ctx, value: [
    _DiskDict(ctx, disk, instance) for disk, instance in value.get(ctx.node_uuid, ())],
  defs.IMPEXP_IO: _ImpExpIo,
  defs.FILE_DETAILS: _FileDetails,
  defs.FINALIZE_EXPORT_DISKS: lambda ctx, value: [
    item if isinstance(item, bool) or item is None else _ToDict(item) for item in value],
  defs.COMPRESS: lambda ctx, value: encoding.Compress(value),
  defs.BLOCKDEV_RENAME: lambda ctx, value: [[_ToDict(disk), unique_id]
                                            for disk, unique_id in value],
  defs.DISKS_DICT_DP: lambda ctx, value: [_DiskDict(ctx, disk, value[1])
                                          for disk in value[0]],
  defs.MULTI_DISKS_DICT_DP: lambda ctx, value: [_DiskDict(ctx, disk, instance)
                                                for disk, instance in value],
  defs.SINGLE_DISK_DICT_DP: lambda ctx, value: _DiskDict(ctx, value[0], value[1]),
  defs.NIC_DICT: lambda ctx, value: _ToDict(value),
  defs.DEVICE_DICT: _DeviceDict,
}
# encodings that differ per target node; the others are encoded once per call
_PER_NODE = frozenset([defs.INST_DICT, defs.INST_DICT_HVP_BEP_DP, defs.INST_DICT_OSP_DP,
                       defs.NODE_TO_DISK_DICT_DP, defs.DISKS_DICT_DP,
                       defs.MULTI_DISKS_DICT_DP, defs.SINGLE_DISK_DICT_DP,
                       defs.DEVICE_DICT, defs.IMPEXP_IO])
# encodings whose result is spread over several positional arguments
_SPREAD = frozenset([defs.FILE_DETAILS])


def _PostProcess(post: tuple[str, str], payload: Any) -> Any:
  """Turns dicts of a payload into objects, once objects defines their class."""
  cls = getattr(objects, post[0], None)
  if cls is None or payload is None:
    return payload
  where = post[1]
  if where == "single":
    return cls.FromDict(payload)
  if where == "list":
    return [cls.FromDict(item) if item is not None else None for item in payload]
  return [(ok, cls.FromDict(item) if ok else item) for ok, item in payload]


# --- runners -----------------------------------------------------------------

class _Target:
  """A node to call: the caller's key, its address (None: unresolvable), uuid."""
  __slots__ = ("key", "name", "address", "uuid", "offline", "error")

  def __init__(self, key: Any, name: str, address: Optional[str], uuid: Optional[str] = None,
               offline: bool = False, error: Optional[str] = None) -> None:
    self.key, self.name, self.address = key, name, address
    self.uuid, self.offline, self.error = uuid, offline, error


class _RunnerBase:
  """Encodes arguments, sends a call to its nodes and builds the results."""

  def __init__(self, cfg: Any = None, port: Optional[int] = None,
               pool: Optional[transport.Pool] = None) -> None:
    self._cfg = cfg
    self._port = port
    self._pool = pool or transport.Pool()

  def _Resolve(self, key: Any) -> _Target:
    raise NotImplementedError

  def _ResolveAny(self, key: Any) -> _Target:
    if isinstance(key, (tuple, list)) and len(key) == 2:
      name, address = key
      return _Target(name, name, address)
    return self._Resolve(key)

  def _ResolveByName(self, name: str) -> _Target:
    try:
      return _Target(name, name, netutils.ResolveHostname(name)[1])
    except errors.ResolverError as err:
      return _Target(name, name, None, error="Cannot resolve node %s: %s" % (name, err))

  def _EncodeArgs(self, cdef: defs.CallDef, args: tuple, node_uuid: Optional[str],
                  shared: Optional[list]) -> list:
    """The call's JSON argument list for one node (shared: node-independent parts)."""
    ctx = _EncodeContext(self._cfg, node_uuid)
    encoded: list = []
    for index, (kind, value) in enumerate(zip(cdef.encodings, args)):
      if kind is None:
        item = value
      elif kind not in _PER_NODE and shared is not None:
        item = shared[index]
      else:
        item = _ENCODERS[kind](ctx, value)
      if kind in _SPREAD:
        encoded.extend(item)
      else:
        encoded.append(item)
    return encoded

  @staticmethod
  def _Unique(keys: list) -> list:
    """The nodes, each once (a node listed twice is called once: its result
    is keyed once anyway)."""
    return list(dict.fromkeys(tuple(key) if isinstance(key, list) else key for key in keys))

  def _Call(self, cdef: defs.CallDef, keys: list, args: tuple) -> dict:
    return self._Send(cdef, [(key, args) for key in self._Unique(keys)])

  def _Send(self, cdef: defs.CallDef, calls: list[tuple[Any, tuple]]) -> dict:
    """Sends every (node, arguments) together; {node: RpcResult}."""
    targets, requests = self._Prepare(cdef, calls)
    self._pool.Send(list(requests.values()))
    return self._Collect(cdef, targets, requests)

  def _Prepare(self, cdef: defs.CallDef, calls: list[tuple[Any, tuple]]) -> tuple[list, dict]:
    """The targets and their requests (keyed by target id) of (node,
    arguments) pairs.  Calls with the same arguments object share their
    node-independent encoding.  A call that changes things waits, as an
    opcode's first change, for the opcode's start to be durable."""
    if not cdef.query:
      firstchange.BeforeChange()
    if not self._port:
      self._port = GetNodedPort()  # once: a lookup in the services database per call adds up
    port = self._port
    per_node = any(kind in _PER_NODE for kind in cdef.encodings)
    shared_parts: dict[int, list] = {}
    shared_bodies: dict[int, Any] = {}
    targets, requests = [], {}
    for key, args in calls:
      target = self._ResolveAny(key)
      targets.append(target)
      if target.offline or target.address is None:
        continue
      if id(args) not in shared_parts:
        ctx = _EncodeContext(self._cfg, None)
        shared_parts[id(args)] = [
          _ENCODERS[kind](ctx, value) if kind and kind not in _PER_NODE else None
          for kind, value in zip(cdef.encodings, args)]
      shared = shared_parts[id(args)]
      if per_node:
        body = serializer.DumpJson(self._EncodeArgs(cdef, args, target.uuid, shared))
      else:
        if id(args) not in shared_bodies:
          shared_bodies[id(args)] = serializer.DumpJson(self._EncodeArgs(cdef, args, None,
                                                                         shared))
        body = shared_bodies[id(args)]
      requests[id(target)] = transport.Request(
        address=target.address, port=port, path=cdef.name,
        body=body.encode("utf-8") if isinstance(body, str) else body,
        timeout=cdef.GetTimeout(args), connect_timeout=defs.CONNECT_TIMEOUT)
    return targets, requests

  def _Collect(self, cdef: defs.CallDef, targets: list, requests: dict) -> dict:
    return {target.key: self._Result(cdef, target, requests.get(id(target)))
            for target in targets}

  @staticmethod
  def _Result(cdef: defs.CallDef, target: _Target,
              request: Optional[transport.Request]) -> RpcResult:
    name = cdef.name
    if target.offline:
      return RpcResult(offline=True, call=name, node=target.key)
    if request is None:
      return RpcResult(failed=True, call=name, node=target.key, error=target.error)
    if request.error is not None:
      return RpcResult(failed=True, call=name, node=target.key,
                       error="Error while contacting node %s (%s): %s" %
                       (target.name, request.address, request.error))
    try:
      data = serializer.LoadJson(request.response.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
      return RpcResult(failed=True, call=name, node=target.key,
                       error="Node %s answered HTTP %d with an invalid body: %s" %
                       (target.name, request.http_code, err))
    if request.http_code != 200:
      reason = data[1] if isinstance(data, list) and len(data) == 2 else data
      return RpcResult(failed=True, call=name, node=target.key,
                       error="Node %s refused the call (HTTP %d): %s" %
                       (target.name, request.http_code, reason))
    result = RpcResult(data=data, call=name, node=target.key)
    if cdef.post is not None and result.fail_msg is None:
      try:
        result.payload = _PostProcess(cdef.post, result.payload)
      except (TypeError, ValueError, AttributeError, KeyError) as err:
        return RpcResult(failed=True, call=name, node=target.key,
                         error="Node %s answered %s with an unexpected payload: %s" %
                         (target.name, name, err))
    return result

  def CallByName(self, name: str, nodes: Any, *args: Any, **kwargs: Any) -> Any:
    """Calls `name` (see defs.CALLS) like its call_<name> method."""
    cdef = defs.CALLS[name]
    values = _BindArgs(cdef, args, kwargs)
    if cdef.multi:
      return self._Call(cdef, list(nodes), values)
    (result,) = self._Call(cdef, [nodes], values).values()
    return result

  def CallTogether(self, calls: list[tuple[str, Any, tuple]]) -> list[Any]:
    """Different calls made at once: (name, nodes as call_<name> takes them,
    positional arguments) each.  All their requests go out in one send (a
    node asked two things gets them one after the other, over one
    connection); each result is what call_<name> returns, in the order of
    calls."""
    prepared = self._PrepareTogether(calls)
    self._pool.Send(_Requests(prepared))
    return self._CollectTogether(prepared)

  def CallWhile(self, calls: list[tuple[str, Any, tuple]],
                work: Callable[[], Any]) -> tuple[list[Any], Any]:
    """CallTogether while work() runs here: the calls are encoded first (from
    the objects as they are now) and sent from a helper thread.  Returns
    (CallTogether's results, work's result) once both are done; when work
    fails, its error is raised after the calls' end."""
    if not calls:
      return [], work()
    prepared = self._PrepareTogether(calls)
    failure: list[BaseException] = []

    def _Send() -> None:
      try:
        self._pool.Send(_Requests(prepared))
      except BaseException as err:  # pylint: disable=broad-except
        failure.append(err)
    sender = threading.Thread(target=_Send, daemon=True,
                              name="%s-rpc" % threading.current_thread().name)
    sender.start()
    try:
      done = work()
    finally:
      sender.join()
    if failure:
      raise failure[0]
    return self._CollectTogether(prepared), done

  def _PrepareTogether(self, calls: list[tuple[str, Any, tuple]]) -> list[tuple]:
    prepared = []
    for name, nodes, args in calls:
      cdef = defs.CALLS[name]
      values = _BindArgs(cdef, tuple(args), {})
      keys = self._Unique(list(nodes)) if cdef.multi else [nodes]
      prepared.append((cdef, *self._Prepare(cdef, [(key, values) for key in keys])))
    return prepared

  def _CollectTogether(self, prepared: list[tuple]) -> list[Any]:
    results = []
    for cdef, targets, requests in prepared:
      by_node = self._Collect(cdef, targets, requests)
      results.append(by_node if cdef.multi else next(iter(by_node.values())))
    return results


def _Requests(prepared: list[tuple]) -> list[transport.Request]:
  return [request for _, _, requests in prepared for request in requests.values()]


def _BindArgs(cdef: defs.CallDef, args: tuple, kwargs: dict) -> tuple:
  """The call's arguments in definition order; raises ProgrammerError on mismatch."""
  if len(args) > len(cdef.args):
    raise errors.ProgrammerError("call_%s takes %d arguments, %d given" %
                                 (cdef.name, len(cdef.args), len(args)))
  values = list(args)
  for name in cdef.args[len(args):]:
    if name not in kwargs:
      raise errors.ProgrammerError("call_%s: missing argument %s" % (cdef.name, name))
    values.append(kwargs.pop(name))
  if kwargs:
    raise errors.ProgrammerError("call_%s: unknown argument(s) %s" %
                                 (cdef.name, ", ".join(sorted(kwargs))))
  return tuple(values)


def _MakeMethod(name: str) -> Callable[..., Any]:
  def Method(self: _RunnerBase, nodes: Any, *args: Any, **kwargs: Any) -> Any:
    return self.CallByName(name, nodes, *args, **kwargs)
  cdef = defs.CALLS[name]
  Method.__name__ = "call_" + name
  Method.__doc__ = "RPC %s (%s, timeout %s): arguments %s." % (
    name, cdef.target, cdef.timeout if not callable(cdef.timeout) else "by duration",
    ", ".join(cdef.args) or "none")
  return Method


for _name in defs.CALLS:
  setattr(_RunnerBase, "call_" + _name, _MakeMethod(_name))
del _name


class RpcRunner(_RunnerBase):
  """The master's runner: nodes by uuid or name from the configuration."""

  def __init__(self, cfg: Any, port: Optional[int] = None,
               pool: Optional[transport.Pool] = None) -> None:
    super().__init__(cfg, port, pool)

  def _Resolve(self, key: Any) -> _Target:
    node = self._cfg.GetNodeInfo(key) or self._cfg.GetNodeInfoByName(key)
    if node is None:
      # not (yet) in the configuration, e.g. a node being added
      target = self._ResolveByName(key)
      target.uuid = key
      return target
    return _Target(key, node.name, node.primary_ip, uuid=node.uuid, offline=node.offline)


class DnsOnlyRunner(_RunnerBase):
  """Nodes by name, resolved by the hosts file and DNS (no configuration)."""

  def __init__(self, port: Optional[int] = None,
               pool: Optional[transport.Pool] = None) -> None:
    super().__init__(None, port, pool)

  def _Resolve(self, key: Any) -> _Target:
    return self._ResolveByName(key)


class BootstrapRunner(_RunnerBase):
  """Nodes by name, resolved through this node's ssconf (no master needed)."""

  def __init__(self, port: Optional[int] = None, store: Optional[ssconf.SimpleStore] = None,
               pool: Optional[transport.Pool] = None) -> None:
    super().__init__(None, port, pool)
    self._store = store or ssconf.SimpleStore()

  def _Resolve(self, key: Any) -> _Target:
    try:
      lines = self._store.GetNodePrimaryIPList()
    except errors.ConfigurationError:
      lines = []
    addresses = dict(line.split(" ", 1) for line in lines if " " in line)
    if key in addresses:
      return _Target(key, key, addresses[key])
    return self._ResolveByName(key)
