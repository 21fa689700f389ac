"""The RPC client against real node daemons of a virtual cluster.

The daemons are those of test_noded (real noded code, test handlers); the
client runs in this process with node1's client certificate, or as node1
in a subprocess for the runners that read the node's own files.
"""

import grp
import json
import os
import re
import pwd
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time

import pytest

from ganeti import constants
from ganeti import errors
from ganeti import objects
from ganeti import vcluster
from ganeti.config.initial import MakeInitialConfig
from ganeti.rpc import client
from ganeti.rpc import defs
from ganeti.rpc import encoding
from ganeti.rpc import transport
from ganeti.utils import x509

from test_noded import NodedCluster, PORT


class FakeConfig:
  """What the runner asks of the configuration, for a handful of nodes."""

  def __init__(self, nodes: dict[str, objects.Node]) -> None:
    data = MakeInitialConfig(cluster_name="cluster", master_name="node1",
                             primary_ip="127.0.0.1", master_ip="127.0.0.2",
                             master_netdev="lo", enabled_hypervisors=["fake"])
    self.cluster = data.cluster
    self.group = next(iter(data.nodegroups.values()))
    self.nodes = nodes
    self.disks: dict[str, list] = {}

  def GetNodeInfo(self, uuid):
    return self.nodes.get(uuid)

  def GetNodeInfoByName(self, name):
    return next((node for node in self.nodes.values() if node.name == name), None)

  def GetClusterInfo(self):
    return self.cluster

  def GetInstanceDiskParams(self, _instance):
    return self.cluster.FillDP(self.group)

  def GetInstanceDisks(self, uuid):
    return self.disks.get(uuid, [])

  def GetNetwork(self, _uuid):
    return None


class _Listener:
  """A TCP port that records whether anybody connected."""

  def __init__(self, address: str) -> None:
    self.sock = socket.socket()
    self.sock.bind((address, PORT))
    self.sock.listen(5)
    self.sock.setblocking(False)

  def Contacted(self) -> bool:
    try:
      self.sock.accept()[0].close()
      return True
    except BlockingIOError:
      return False


@pytest.fixture(scope="module")
def nc():
  cluster = NodedCluster(nodes=3, candidates=2)
  try:
    for node in range(1, 4):
      cluster.Start(node)
    yield cluster
  finally:
    cluster.Destroy()


def _node(nc, index: int, offline: bool = False, address: str = None) -> objects.Node:
  return objects.Node(name="node%d" % index, uuid="uuid-%d" % index,
                      primary_ip=address or nc.address(index),
                      secondary_ip=address or nc.address(index), offline=offline)


@pytest.fixture(scope="module")
def runner(nc):
  nodes = {node.uuid: node for node in
           [_node(nc, 1), _node(nc, 2), _node(nc, 3),
            _node(nc, 4, offline=True, address="%s.%d" % (nc.vc.prefix, 14)),
            _node(nc, 5, address="%s.%d" % (nc.vc.prefix, 15))]}
  pool = transport.Pool(client_cert=nc.cert("client.pem"), ca_cert=nc.cert("server.pem"))
  return client.RpcRunner(FakeConfig(nodes), pool=pool)


def test_defs_cover_every_call():
  assert len(defs.CALLS) == 108
  upload = defs.CALLS["upload_file"]
  assert upload.multi and upload.encodings == (defs.FILE_DETAILS,) and upload.timeout == 900
  assert defs.CALLS["test_delay"].GetTimeout((10,)) > 10
  assert not defs.CALLS["instance_start"].multi
  for name in defs.CALLS:
    assert callable(getattr(client.RpcRunner, "call_" + name))


def test_multi_call_keys_and_payloads(runner):
  results = runner.call_version(["uuid-1", "node2", "uuid-3"])
  assert sorted(results) == ["node2", "uuid-1", "uuid-3"]
  assert results["uuid-1"].payload == "node1" and results["uuid-1"].fail_msg is None
  assert results["node2"].payload == "node2" and results["node2"].data == [True, "node2"]
  assert results["uuid-3"].node == "uuid-3" and results["uuid-3"].call == "version"


def test_offline_node_is_not_contacted(nc, runner):
  listener = _Listener("%s.%d" % (nc.vc.prefix, 14))
  try:
    result = runner.call_version(["uuid-4", "uuid-1"])
    assert result["uuid-4"].offline and result["uuid-4"].fail_msg == "Node is marked offline"
    assert result["uuid-4"].data is None and result["uuid-1"].payload == "node1"
    assert not listener.Contacted()
  finally:
    listener.sock.close()


def test_unreachable_node(runner):
  result = runner.call_version(["uuid-5", "uuid-2"])
  assert result["uuid-2"].payload == "node2"
  failed = result["uuid-5"]
  assert not failed.offline and failed.payload is None
  assert "node5" in failed.fail_msg and "onnect" in failed.fail_msg
  with pytest.raises(errors.OpExecError, match="^Checking: .*node5"):
    failed.Raise("Checking")


def test_single_call_failures(runner):
  result = runner.call_node_leave_cluster("uuid-1", True)
  assert result.fail_msg == "refused by test handler"
  with pytest.raises(errors.OpPrereqError) as info:
    result.Raise("Leaving", prereq=True, ecode=errors.ECODE_ENVIRON)
  assert info.value.args == ("Leaving: refused by test handler", errors.ECODE_ENVIRON)
  warnings = []
  result.Warn("Leaving", warnings.append)
  assert warnings == ["Leaving: refused by test handler"]
  crash = runner.call_bdev_sizes(["uuid-2"], [])["uuid-2"]
  assert crash.fail_msg == "Error while executing backend function: boom"
  unknown = runner.call_drbd_helper(["uuid-1"])["uuid-1"]
  assert "Unknown RPC call 'drbd_helper'" in unknown.fail_msg
  ok = runner.call_bridges_exist("node3", bridges_list=["br0"])
  ok.Raise("never")
  assert ok.payload == {"bridges": ["br0"]}


def test_argument_mismatch_is_a_programming_error(runner):
  with pytest.raises(errors.ProgrammerError):
    runner.call_bridges_exist("node1")
  with pytest.raises(errors.ProgrammerError):
    runner.call_bridges_exist("node1", [], [])


def test_compressed_and_file_arguments(nc, runner, tmp_path):
  content = "line of a job file\n" * 2000
  result = runner.call_jobqueue_update(["uuid-1"], "/q/job-1", content)["uuid-1"]
  assert result.payload == ["/q/job-1", content]
  path = tmp_path / "known_hosts"
  path.write_text("ssh-ed25519 AAAA\n")
  os.chmod(path, 0o640)
  os.utime(path, (1000, 2000))
  result = runner.call_upload_file(["uuid-2"], str(path))["uuid-2"]
  assert result.payload[:3] == [vcluster.MakeVirtualPath(str(path)), "ssh-ed25519 AAAA\n", 0o640]
  assert result.payload[5:] == [1000, 2000] and len(result.payload) == 7
  assert result.payload[3:5] == [pwd.getpwuid(os.getuid()).pw_name,
                                 grp.getgrgid(os.getgid()).gr_name]


def test_disk_and_instance_encoding(nc, runner):
  cfg = runner._cfg  # pylint: disable=protected-access
  drbd = objects.Disk(dev_type=constants.DT_DRBD8, size=1024, params={}, children=[],
                      logical_id=["uuid-1", "uuid-2", 11000, 0, 1, "secret"], uuid="d1")
  inst = objects.Instance(name="inst1", uuid="i1", primary_node="uuid-1", os="debian",
                          hypervisor="fake", hvparams={}, beparams={"maxmem": 256},
                          osparams={}, nics=[], disks=["d1"])
  cfg.disks["i1"] = [drbd]
  on_secondary = runner.call_blockdev_create("uuid-2", (drbd, inst), 1024, "inst1", False,
                                             "info", False).payload
  disk = on_secondary[0]
  assert disk["dynamic_params"]["local-ip"] == nc.address(2)
  assert disk["dynamic_params"]["remote-minor"] == 0
  assert disk["params"]["metavg"] == cfg.cluster.diskparams[constants.DT_DRBD8]["metavg"]
  assert disk["dynamic_params"]["remote-ip"] == nc.address(1)
  # a local half: the node learns all but its peer's address
  half = runner.call_blockdev_create("uuid-2", (drbd.LocalHalf(), inst), 1024, "inst1", False,
                                     "info", False).payload[0]
  assert half["dynamic_params"] == dict(disk["dynamic_params"], **{"remote-ip": None})
  assert drbd.dynamic_params is None
  started = runner.call_instance_start("uuid-1", (inst, {}, {"vcpus": 3}), False, None).payload
  idict = started[0]
  assert idict["beparams"]["maxmem"] == 256 and idict["beparams"]["vcpus"] == 3
  assert idict["disks_info"][0]["dynamic_params"]["local-minor"] == 0
  # the echo's answer (the arguments) is no list of (ok, status) pairs: a
  # malformed answer becomes a failed result, not an exception
  per_node = runner.call_blockdev_getmirrorstatus_multi(
    ["uuid-1", "uuid-3"], {"uuid-1": [(drbd, inst)]})
  assert "unexpected payload" in per_node["uuid-1"].fail_msg


def test_calls_together_encode_each_node_its_own_arguments(nc, runner):
  cfg = runner._cfg  # pylint: disable=protected-access
  drbd = objects.Disk(dev_type=constants.DT_DRBD8, size=1024, params={}, children=[],
                      logical_id=["uuid-1", "uuid-2", 11001, 3, 4, "secret"], uuid="d2")
  inst = objects.Instance(name="inst2", uuid="i2", primary_node="uuid-1", os="debian",
                          hypervisor="fake", hvparams={}, beparams={}, osparams={},
                          nics=[], disks=["d2"])
  cfg.disks["i2"] = [drbd]
  results = runner.CallTogether([
    ("blockdev_create", "uuid-1", ((drbd, inst), 1024, "inst2", True, "on-1", False)),
    ("blockdev_create", "uuid-2", ((drbd, inst), 1024, "inst2", False, "on-2", False)),
    ("blockdev_create", "uuid-4", ((drbd, inst), 1024, "inst2", False, "on-4", False))])
  assert results[2].offline
  for result, index, minor, on_primary in ((results[0], 1, 3, True), (results[1], 2, 4, False)):
    disk, _, _, sent_primary, info, _ = result.payload
    # encoded for the node it went to: its own address and minor
    assert disk["dynamic_params"]["local-ip"] == nc.address(index)
    assert disk["dynamic_params"]["local-minor"] == minor
    assert sent_primary is on_primary and info == "on-%d" % index
  with pytest.raises(errors.ProgrammerError):
    runner.CallTogether([("blockdev_remove", "uuid-1", ((drbd, inst), "extra"))])


def test_calls_made_together_go_out_in_one_send(runner, monkeypatch):
  sends = []
  pool = runner._pool  # pylint: disable=protected-access
  real_send = pool.Send
  monkeypatch.setattr(pool, "Send", lambda requests: (sends.append(len(requests)),
                                                      real_send(requests))[1])
  first, second, bridges, refused = runner.CallTogether([
    ("jobqueue_update", ["uuid-1", "uuid-2", "uuid-1"], ("/q/job-1", "one")),
    ("jobqueue_update", ["uuid-1", "uuid-2"], ("/q/serial", "2\n")),
    ("bridges_exist", "node3", (["br0"],)),
    ("node_leave_cluster", "uuid-1", (True,))])
  # one send for all requests, those of a node asked twice included
  assert sends == [6]
  assert sorted(first) == ["uuid-1", "uuid-2"]
  assert first["uuid-2"].payload == ["/q/job-1", "one"]
  assert second["uuid-1"].payload == ["/q/serial", "2\n"]
  # single-node calls give their result as call_<name> does
  assert bridges.payload == {"bridges": ["br0"]}
  assert refused.fail_msg == "refused by test handler"
  assert runner.CallTogether([]) == []
  with pytest.raises(errors.ProgrammerError):
    runner.CallTogether([("bridges_exist", "node1", ())])


def test_calls_made_while_work_runs_are_encoded_at_once(runner):
  """CallWhile encodes the requests before the work starts: what the work
  changes meanwhile is not sent; the results come with the work's."""
  listed = ["br0"]
  (bridges, updates), done = runner.CallWhile([
    ("bridges_exist", "node3", (listed,)),
    ("jobqueue_update", ["uuid-1", "uuid-2"], ("/q/job-2", "two"))],
    lambda: listed.append("changed meanwhile") or "done")
  assert done == "done"
  assert bridges.payload == {"bridges": ["br0"]}
  assert sorted(updates) == ["uuid-1", "uuid-2"]
  assert updates["uuid-2"].payload == ["/q/job-2", "two"]
  with pytest.raises(errors.ProgrammerError):
    runner.CallWhile([("bridges_exist", "node1", ())], lambda: None)
  assert runner.CallWhile([], lambda: "alone") == ([], "alone")


def test_explicit_addresses(nc):
  pool = transport.Pool(client_cert=nc.cert("client.pem"), ca_cert=nc.cert("server.pem"))
  dns = client.DnsOnlyRunner(pool=pool)
  result = dns.call_version([("node2", nc.address(2))])
  assert result["node2"].payload == "node2"
  # a node given twice (as a pair or a list) is one result
  twice = dns.call_version([["node2", nc.address(2)], ("node2", nc.address(2))])
  assert list(twice) == ["node2"] and twice["node2"].payload == "node2"
  single = dns.call_bridges_exist(("node3", nc.address(3)), ["x"])
  assert single.payload == {"bridges": ["x"]} and single.node == "node3"


def test_parallel_fan_out(runner):
  nodes = ["uuid-1", "uuid-2", "uuid-3"]
  start = time.monotonic()
  results = runner.call_test_delay(nodes, 1.0)
  elapsed = time.monotonic() - start
  assert [results[node].payload for node in nodes] == ["node1", "node2", "node3"]
  assert elapsed < 2.5, "calls were not sent in parallel (%.2fs)" % elapsed
  runner.call_version(nodes)  # warm connections
  rounds = 30
  start = time.monotonic()
  for _ in range(rounds):
    assert all(not r.fail_msg for r in runner.call_version(nodes).values())
  print("\nfan-out of version to %d nodes: %.1f ms per call (kept-alive connections)"
        % (len(nodes), (time.monotonic() - start) / rounds * 1000))


def test_concurrent_callers(runner):
  import threading  # pylint: disable=import-outside-toplevel
  failures = []

  def Caller():
    for _ in range(10):
      results = runner.call_version(["uuid-1", "uuid-2", "uuid-3"])
      failures.extend(r.fail_msg for r in results.values() if r.fail_msg)
  threads = [threading.Thread(target=Caller) for _ in range(4)]
  for thread in threads:
    thread.start()
  for thread in threads:
    thread.join()
  assert failures == []


_AS_NODE = r"""
import sys
from ganeti.rpc import client
from ganeti import ssconf
kind = sys.argv[1]
if kind == "bootstrap":
  ssconf.SimpleStore().WriteFiles({ssconf.SS_NODE_PRIMARY_IPS: sys.argv[2]})
  runner = client.BootstrapRunner()
else:
  runner = client.DnsOnlyRunner()
results = runner.call_version(["node2", "node3", "nowhere"])
for name in ("node2", "node3", "nowhere"):
  print(name, results[name].payload, results[name].fail_msg is not None)
"""


@pytest.mark.parametrize("kind", ["dns", "bootstrap"])
def test_runners_as_a_node(nc, kind):
  ips = "\n".join("node%d %s" % (node, nc.address(node)) for node in (1, 2, 3))
  proc = subprocess.run([sys.executable, "-c", _AS_NODE, kind, ips], env=nc.vc.env(1),
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                        timeout=60, check=False)
  assert proc.returncode == 0, proc.stderr
  assert proc.stdout.splitlines() == ["node2 node2 False", "node3 node3 False",
                                      "nowhere None True"]


def test_compress_round_trip():
  for data in (b"", b"small", os.urandom(5000), "x" * 10000):
    raw = data.encode() if isinstance(data, str) else data
    assert encoding.Decompress(encoding.Compress(data)) == raw


def test_refusals_reach_the_caller(nc, tmp_path):
  not_candidate = transport.Pool(client_cert=nc.cert("client.pem", 3),
                                 ca_cert=nc.cert("server.pem"))
  result = client.DnsOnlyRunner(pool=not_candidate).call_version([("node1", nc.address(1))])
  assert result["node1"].fail_msg == ("Node node1 refused the call (HTTP 403):"
                                      " Client certificate not accepted")
  # a daemon whose certificate is not the cluster's is not trusted either
  other_ca = tmp_path / "other.pem"
  other_ca.write_text(x509.GenerateSelfSignedPem("cluster"))
  wrong_ca = transport.Pool(client_cert=nc.cert("client.pem"), ca_cert=str(other_ca))
  result = client.DnsOnlyRunner(pool=wrong_ca).call_version([("node1", nc.address(1))])
  assert result["node1"].payload is None
  assert "node1" in result["node1"].fail_msg and "SSL" in result["node1"].fail_msg.upper()


def _ConnectionsTo(port: int) -> list[int]:
  """File descriptors of this process's TCP connections to a remote port."""
  inodes = set()
  for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    with open(table) as handle:
      for line in list(handle)[1:]:
        fields = line.split()
        if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[3] == "01":  # ESTABLISHED
          inodes.add(fields[9])
  fds = []
  for name in os.listdir("/proc/self/fd"):
    try:
      target = os.readlink("/proc/self/fd/" + name)
    except OSError:
      continue
    if target.startswith("socket:[") and target[8:-1] in inodes:
      fds.append(int(name))
  return fds


def test_kept_connections_give_up_on_a_dead_peer(nc):
  # a node that dies while its connection is kept must not make the next call
  # wait for its whole RPC timeout: unacknowledged data ends the connection
  pool = transport.Pool(client_cert=nc.cert("client.pem"), ca_cert=nc.cert("server.pem"))
  dns = client.DnsOnlyRunner(pool=pool)
  assert dns.call_version([("node2", nc.address(2))])["node2"].payload == "node2"
  fds = _ConnectionsTo(PORT)
  assert fds, "no kept-alive connection to the node daemon"
  for fd in fds:
    with socket.socket(fileno=os.dup(fd)) as sock:
      assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == \
        transport.DEAD_PEER_TIMEOUT * 1000
      assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1


def test_pool_hands_out_the_session_connected_to_the_nodes_called():
  class Idle:  # an idle session: only its peers matter here
    def __init__(self, *peers):
      self.peers = set(peers)

  pool = transport.Pool(client_cert="unused", ca_cert="unused")
  to_node1, to_node2, to_both = Idle(("n1", 1811)), Idle(("n2", 1811)), Idle()
  pool._sessions = [to_node1, to_both, to_node2]  # pylint: disable=protected-access
  assert pool._TakeSession({("n1", 1811)}) is to_node1  # pylint: disable=protected-access
  # none of them knows n3: the latest returned goes
  assert pool._TakeSession({("n3", 1811)}) is to_node2  # pylint: disable=protected-access
  assert pool._TakeSession({("n1", 1811)}) is to_both  # pylint: disable=protected-access
  assert pool._TakeSession(set()) is None  # pylint: disable=protected-access


def test_sessions_remember_the_daemons_they_reached(nc):
  pool = transport.Pool(client_cert=nc.cert("client.pem"), ca_cert=nc.cert("server.pem"))
  dns = client.DnsOnlyRunner(pool=pool)
  dns.call_version([("node1", nc.address(1)), ("node2", nc.address(2)),
                    ("gone", "%s.%d" % (nc.vc.prefix, 19))])
  session, = pool._sessions  # pylint: disable=protected-access
  assert session.peers == {(nc.address(1), PORT), (nc.address(2), PORT)}


def test_stopped_daemon_behind_a_kept_connection_is_refused(nc):
  """A node daemon stopped after a call: the next call fails to connect, and
  once the daemon is back calls go through again."""
  pool = transport.Pool(client_cert=nc.cert("client.pem"), ca_cert=nc.cert("server.pem"))
  dns = client.DnsOnlyRunner(pool=pool)
  assert dns.call_version([("node3", nc.address(3))])["node3"].payload == "node3"
  nc.Stop(3)
  try:
    failure = dns.call_version([("node3", nc.address(3))])["node3"].fail_msg
    assert failure.startswith("Error while contacting node node3 (%s): Failed to connect" %
                              nc.address(3)), failure
  finally:
    nc.Start(3)
  assert dns.call_version([("node3", nc.address(3))])["node3"].payload == "node3"


def _ReadRequest(conn, with_body: bool = False):
  """The request's head (and with_body, (head, body))."""
  data = b""
  while b"\r\n\r\n" not in data:
    chunk = conn.recv(65536)
    if not chunk:
      return (b"", b"") if with_body else b""
    data += chunk
  head, _, body = data.partition(b"\r\n\r\n")
  length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
  while len(body) < length:
    body += conn.recv(65536)
  return (head, body) if with_body else head


def _Answer(conn, text, raw: bool = False) -> None:
  """Answers [true, text], or with raw, text as it is."""
  body = json.dumps(text if raw else [True, text]).encode()
  conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


def test_request_on_a_connection_the_peer_dropped_goes_out_again(nc):
  """A kept connection that the peer breaks off when the next request arrives
  (half a TLS record, then a reset: what a stopped daemon's connection looks
  like to GnuTLS): the request never reached a handler, so it is sent once
  more on a new connection."""
  server = socket.socket()
  server.bind((nc.address(1), 0))
  server.listen(2)
  context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
  context.load_cert_chain(nc.cert("server.pem"))
  connections = []

  def Serve():
    first = context.wrap_socket(server.accept()[0], server_side=True)
    connections.append(first)
    _ReadRequest(first)
    _Answer(first, "first")
    _ReadRequest(first)
    # gone in the middle of a TLS record, and the TCP connection reset
    raw = socket.socket(fileno=os.dup(first.fileno()))
    raw.sendall(b"\x17\x03\x03\x40\x00broken")
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    raw.close()
    first.close()
    second = context.wrap_socket(server.accept()[0], server_side=True)
    connections.append(second)
    _ReadRequest(second)
    _Answer(second, "again")
    second.close()

  thread = threading.Thread(target=Serve, daemon=True)
  thread.start()
  pool = transport.Pool(client_cert=nc.cert("client.pem"), ca_cert=nc.cert("server.pem"))
  port = server.getsockname()[1]
  answers = []
  try:
    for _ in range(2):
      request = transport.Request(address=nc.address(1), port=port, path="version", body=b"[]",
                                  timeout=10, connect_timeout=5)
      pool.Send([request])
      answers.append((request.error, request.response))
  finally:
    thread.join(10)
    server.close()
  assert answers == [(None, b'[true, "first"]'), (None, b'[true, "again"]')]
  assert len(connections) == 2


def _Requests(address: str, port: int, count: int) -> list:
  return [transport.Request(address=address, port=port, path="version", body=b"[]",
                            timeout=10, connect_timeout=5) for _ in range(count)]


def _FakeDaemon(nc, serve):
  """A TLS listener on node 1's address whose one connection serve(conn)
  answers; returns (port, finish), finish() telling whether serve ended
  and nobody else connected."""
  server = socket.socket()
  server.bind((nc.address(1), 0))
  server.listen(4)
  context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
  context.load_cert_chain(nc.cert("server.pem"))
  thread = threading.Thread(target=lambda: serve(context.wrap_socket(
    server.accept()[0], server_side=True)), daemon=True)
  thread.start()

  def finish():
    thread.join(10)
    server.setblocking(False)
    try:
      server.accept()
      alone = False
    except BlockingIOError:
      alone = True
    server.close()
    return not thread.is_alive() and alone
  return server.getsockname()[1], finish


def _SendToFake(nc, serve, calls: list) -> list:
  """Requests for calls ((name, body) each) sent in one send to a fake
  daemon whose one connection serve(conn) answers; the requests."""
  port, finish = _FakeDaemon(nc, serve)
  pool = transport.Pool(client_cert=nc.cert("client.pem"), ca_cert=nc.cert("server.pem"))
  requests = [transport.Request(address=nc.address(1), port=port, path=name, body=body,
                                timeout=10, connect_timeout=5) for name, body in calls]
  try:
    pool.Send(requests)
  finally:
    assert finish()
  return requests


_VERSION = ("version", b"[]")


def test_requests_to_one_daemon_go_in_one_batch(nc):
  """Three requests to one daemon in one send: one request carries them, in
  their order, and each gets its own answer (no round trip between them)."""
  seen = []

  def serve(conn):
    head, body = _ReadRequest(conn, with_body=True)
    seen.append((head.split(b" ")[1], json.loads(body)))
    answers = [[200, json.dumps([True, "answer %d" % index])] for index in range(2)]
    answers.append([400, json.dumps([False, "bad arguments"])])
    _Answer(conn, answers, raw=True)
    conn.close()

  requests = _SendToFake(nc, serve, [_VERSION, _VERSION, ("node_info", b'[["vg"], null]')])
  assert seen == [(b"/batch", [["version", "[]"], ["version", "[]"],
                               ["node_info", '[["vg"], null]']])]
  assert [(r.error, r.http_code, r.response) for r in requests] == [
    (None, 200, b'[true, "answer 0"]'), (None, 200, b'[true, "answer 1"]'),
    (None, 400, b'[false, "bad arguments"]')]


def test_a_daemon_without_batches_gets_the_requests_one_after_the_other(nc):
  """A daemon that does not know batches (404) gets the requests again, one
  after the other over the same connection, in their order."""
  paths = []

  def serve(conn):
    paths.append(_ReadRequest(conn).split(b" ")[1])
    body = json.dumps([False, "Unknown RPC call 'batch'"]).encode()
    conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    for index in range(3):
      paths.append(_ReadRequest(conn).split(b" ")[1])
      _Answer(conn, "answer %d" % index)
    conn.close()

  requests = _SendToFake(nc, serve, [_VERSION] * 3)
  assert paths == [b"/batch", b"/version", b"/version", b"/version"]
  assert [(r.error, r.response) for r in requests] == [
    (None, b'[true, "answer %d"]' % index) for index in range(3)]


def test_requests_with_large_bodies_go_alone(nc, monkeypatch):
  monkeypatch.setattr(transport, "_MAX_BATCH_BODY", 3)
  paths = []

  def serve(conn):
    for index in range(2):
      paths.append(_ReadRequest(conn).split(b" ")[1])
      _Answer(conn, "answer %d" % index)
    conn.close()

  requests = _SendToFake(nc, serve, [_VERSION] * 2)
  assert paths == [b"/version", b"/version"]
  assert [r.response for r in requests] == [b'[true, "answer 0"]', b'[true, "answer 1"]']


def test_an_invalid_batch_answer_fails_each_request(nc):
  def serve(conn):
    _ReadRequest(conn)
    _Answer(conn, [[200, "[true, 1]"]], raw=True)  # one answer for two calls
    conn.close()

  requests = _SendToFake(nc, serve, [_VERSION] * 2)
  assert [r.error for r in requests] == ["invalid answer to a batch of 2 calls"] * 2


def test_requests_to_a_dead_daemon_fail_together(nc):
  """Nobody listens on one port: both its requests fail with the same
  error (the second never waits for a connection of its own), and the
  requests to a live daemon in the same send are answered."""
  probe = socket.socket()
  probe.bind((nc.address(2), 0))
  port = probe.getsockname()[1]
  probe.close()
  pool = transport.Pool(client_cert=nc.cert("client.pem"), ca_cert=nc.cert("server.pem"))
  dead = _Requests(nc.address(2), port, 2)
  alive = _Requests(nc.address(1), PORT, 2)
  pool.Send(dead + alive)
  assert dead[0].error and dead[1].error == dead[0].error
  assert [r.error for r in alive] == [None, None]
  assert all(json.loads(r.response)[0] for r in alive)


def test_the_first_call_that_changes_things_waits_for_the_opcode_start(runner, monkeypatch):
  """Queries go out at once; the first other call waits (firstchange) before
  anything is sent, the later ones do not."""
  from ganeti import firstchange  # pylint: disable=import-outside-toplevel
  events = []
  pool = runner._pool  # pylint: disable=protected-access
  real_send = pool.Send
  monkeypatch.setattr(pool, "Send", lambda requests: (
    events.append(sorted({request.path for request in requests})), real_send(requests))[1])
  firstchange.HoldUntil(lambda: events.append("start durable"))
  try:
    assert runner.call_version(["uuid-1"])["uuid-1"].payload == "node1"
    runner.CallTogether([("bridges_exist", "node3", (["br0"],)),
                         ("vg_list", ["uuid-2"], ())])
    runner.CallTogether([("vg_list", ["uuid-2"], ()),
                         ("jobqueue_update", ["uuid-1"], ("/q/job-1", "one"))])
    runner.call_jobqueue_update(["uuid-2"], "/q/job-2", "two")
  finally:
    firstchange.Drop()
  assert events == [["version"], ["bridges_exist", "vg_list"], "start durable",
                    ["jobqueue_update", "vg_list"], ["jobqueue_update"]]
  assert defs.CALLS["blockdev_find"].query and not defs.CALLS["blockdev_create"].query
