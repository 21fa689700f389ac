"""ganeti-noded as a real process: TLS peers, refusal of strangers, bad input.

Node daemons of a virtual cluster run with the real noded code; unless a
test needs the real backend, they dispatch to a small table of test
handlers (installed as ganeti.backend before the daemon starts), so these
tests do not depend on the backend's state.
"""

import json
import os
import random
import socket
import ssl
import subprocess
import sys
import time

import pytest

from ganeti import ssconf
from ganeti.rpc import client
from ganeti.utils import x509

from vcluster_harness import VirtualCluster

PORT = client.GetNodedPort()

# Test handlers under real call names: which node answered, failures, echo.
_LAUNCHER = r"""
import sys, time, types
from ganeti import vcluster
from ganeti.rpc import encoding

class RPCFail(Exception):
  pass

def _crash(*_):
  raise ValueError("boom")

def _refuse(*_):
  raise RPCFail("refused by test handler")

def _content(file_name, content):
  return [file_name, encoding.Decompress(content).decode("utf-8")]

def _upload(*args):
  return [args[0], encoding.Decompress(args[1]).decode("utf-8")] + list(args[2:])

common = types.ModuleType("ganeti.backend.common")
common.RPCFail = RPCFail
backend = types.ModuleType("ganeti.backend")
backend.common = common
backend.HANDLERS = {
  "version": lambda: vcluster.HOSTNAME,
  "test_delay": lambda duration: time.sleep(duration) or vcluster.HOSTNAME,
  "jobqueue_update": _content,
  "upload_file": _upload,
  "node_leave_cluster": _refuse,
  "bdev_sizes": _crash,
  "bridges_exist": lambda bridges: {"bridges": bridges},
  # echoes of encoded arguments
  "blockdev_create": lambda *args: list(args),
  "instance_start": lambda *args: list(args),
  "blockdev_getmirrorstatus_multi": lambda *args: list(args),
}
sys.modules["ganeti.backend"] = backend
sys.modules["ganeti.backend.common"] = common
from ganeti.server import noded
sys.exit(noded.Main())
"""
_REAL_LAUNCHER = "import sys\nfrom ganeti.server import noded\nsys.exit(noded.Main())\n"


class NodedCluster:
  """A virtual cluster with the cluster certificates and a noded per node.

  Node 1 and node 2 are master candidates (their client certificates are in
  ssconf master_candidates_certs); node 3's certificate is signed by the
  cluster but not a candidate's.
  """

  def __init__(self, nodes: int = 3, candidates: int = 2, init: bool = False) -> None:
    """init: "gnt-cluster init" on node 1 makes the certificates (and nothing else)."""
    self.vc = VirtualCluster(nodes=nodes)
    self.nodes = nodes
    self.procs: dict[int, subprocess.Popen] = {}
    if init:
      self.vc.init()
      return
    server_pem = x509.GenerateSelfSignedPem("cluster")
    digests = {}
    for node in range(1, nodes + 1):
      data_dir = self.vc.path("/var/lib/ganeti", node)
      os.makedirs(data_dir, exist_ok=True)
      with open(os.path.join(data_dir, "server.pem"), "w") as handle:
        handle.write(server_pem)
      client = x509.GenerateSignedPem(server_pem, "cluster")
      with open(os.path.join(data_dir, "client.pem"), "w") as handle:
        handle.write(client)
      digests["uuid-%d" % node] = x509.GetCertificateDigest(client)
    self.digests = digests
    lines = "\n".join("%s=%s" % ("uuid-%d" % node, digests["uuid-%d" % node])
                      for node in range(1, candidates + 1))
    for node in range(1, nodes + 1):
      self.WriteCandidates(lines, node)

  def WriteCandidates(self, text: str, node: int) -> None:
    store = ssconf.SimpleStore(cfg_location=self.vc.path("/var/lib/ganeti", node))
    store.WriteFiles({ssconf.SS_MASTER_CANDIDATES_CERTS: text})

  def address(self, node: int) -> str:
    return "%s.%d" % (self.vc.prefix, 10 + node)

  def cert(self, name: str, node: int = 1) -> str:
    return self.vc.path("/var/lib/ganeti/%s" % name, node)

  def Start(self, node: int, real_backend: bool = False) -> None:
    script = _REAL_LAUNCHER if real_backend else _LAUNCHER
    self.procs[node] = subprocess.Popen(
      [sys.executable, "-c", script, "-f", "-b", self.address(node), "-p", str(PORT)],
      env=self.vc.env(node), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while True:
      if self.procs[node].poll() is not None:
        raise AssertionError("noded on node%d exited: %s" %
                             (node, self.procs[node].stderr.read().decode()))
      try:
        socket.create_connection((self.address(node), PORT), timeout=1).close()
        return
      except OSError:
        if time.monotonic() > deadline:
          raise AssertionError("noded on node%d does not listen" % node) from None
        time.sleep(0.05)

  def Stop(self, node: int) -> None:
    proc = self.procs.pop(node, None)
    if proc is not None:
      proc.terminate()
      try:
        proc.wait(timeout=10)
      except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()

  def Alive(self, node: int) -> bool:
    return self.procs[node].poll() is None

  def Destroy(self) -> None:
    for node in list(self.procs):
      self.Stop(node)
    self.vc.destroy()


@pytest.fixture(scope="module")
def cluster():
  nc = NodedCluster()
  try:
    for node in range(1, nc.nodes + 1):
      nc.Start(node)
    yield nc
  finally:
    nc.Destroy()


def _client_context(nc: NodedCluster, cert: str) -> ssl.SSLContext:
  context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
  context.check_hostname = False
  context.load_verify_locations(nc.cert("server.pem"))
  context.load_cert_chain(cert)
  return context


def _raw_request(nc: NodedCluster, node: int, cert: str, data: bytes,
                 timeout: float = 5) -> bytes:
  """Sends raw bytes over TLS; returns what came back before the server closed."""
  with socket.create_connection((nc.address(node), PORT), timeout=timeout) as sock:
    with _client_context(nc, cert).wrap_socket(sock) as tls:
      tls.sendall(data)
      chunks = []
      try:
        while True:
          chunk = tls.recv(65536)
          if not chunk:
            break
          chunks.append(chunk)
          if _complete(b"".join(chunks)):
            break
      except (socket.timeout, ssl.SSLError, ConnectionError):
        pass
      return b"".join(chunks)


def _complete(data: bytes) -> bool:
  head, sep, body = data.partition(b"\r\n\r\n")
  if not sep:
    return False
  for line in head.split(b"\r\n"):
    if line.lower().startswith(b"content-length:"):
      return len(body) >= int(line.split(b":", 1)[1])
  return False


def _post(nc: NodedCluster, node: int, path: str, body: bytes,
          cert: str = None) -> tuple[int, object]:
  request = (b"POST /%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" %
             (path.encode(), len(body))) + body
  answer = _raw_request(nc, node, cert or nc.cert("client.pem"), request)
  head, _, payload = answer.partition(b"\r\n\r\n")
  status = int(head.split(b" ", 2)[1])
  return status, json.loads(payload) if payload else None


def test_call_answers_success_and_payload(cluster):
  assert _post(cluster, 2, "version", b"[]") == (200, [True, "node2"])
  assert _post(cluster, 1, "bridges_exist", b'[["br0"]]') == (200, [True, {"bridges": ["br0"]}])


def test_handler_failures(cluster):
  assert _post(cluster, 1, "node_leave_cluster", b"[true]") == \
    (200, [False, "refused by test handler"])
  status, answer = _post(cluster, 1, "bdev_sizes", b"[[]]")
  assert status == 200
  assert answer == [False, "Error while executing backend function: boom"]


def test_bad_requests(cluster):
  status, answer = _post(cluster, 1, "no_such_call", b"[]")
  assert status == 404 and answer[0] is False and "no_such_call" in answer[1]
  status, answer = _post(cluster, 1, "version", b"[1, 2]")
  assert status == 400 and answer[0] is False and "Invalid arguments" in answer[1]
  status, answer = _post(cluster, 1, "version", b"{not json")
  assert status == 400 and answer[0] is False
  status, answer = _post(cluster, 1, "version", b'{"a": 1}')
  assert status == 400 and "JSON list" in answer[1]
  answer = _raw_request(cluster, 1, cluster.cert("client.pem"),
                        b"POST /version HTTP/1.1\r\nContent-Length: 999999999999\r\n\r\n")
  assert answer.startswith(b"HTTP/1.1 413")
  answer = _raw_request(cluster, 1, cluster.cert("client.pem"),
                        b"GET / HTTP/1.1\r\n\r\n")
  assert answer.startswith(b"HTTP/1.1 405")
  answer = _raw_request(cluster, 1, cluster.cert("client.pem"),
                        b"POST /version HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
  assert answer.startswith(b"HTTP/1.1 411")


def test_batch_answers_each_call_as_alone(cluster):
  """A batch runs its calls in order; each answer is what the call would
  get alone, failures included."""
  calls = [["version", "[]"], ["no_such_call", "[]"], ["version", "[1]"],
           ["bdev_sizes", "[[]]"], ["bridges_exist", '[["br0"]]']]
  status, answers = _post(cluster, 2, "batch", json.dumps(calls).encode())
  assert status == 200
  decoded = [(code, json.loads(text)) for code, text in answers]
  assert decoded[0] == (200, [True, "node2"])
  assert decoded[1][0] == 404 and "no_such_call" in decoded[1][1][1]
  assert decoded[2][0] == 400 and "Invalid arguments" in decoded[2][1][1]
  assert decoded[3] == (200, [False, "Error while executing backend function: boom"])
  assert decoded[4] == (200, [True, {"bridges": ["br0"]}])


def test_bad_batches_are_refused(cluster):
  for body in (b"{not json", b'{"a": 1}', b'[["version"]]', b'[["version", []]]',
               b'[["batch", "[]"]]'):
    status, answer = _post(cluster, 1, "batch", body)
    assert status == 400 and answer[0] is False, body
  assert _post(cluster, 1, "batch", b"[]") == (200, [])


def test_keep_alive_serves_several_requests(cluster):
  request = b"POST /version HTTP/1.1\r\nContent-Length: 2\r\n\r\n[]"
  with socket.create_connection((cluster.address(1), PORT), timeout=5) as sock:
    with _client_context(cluster, cluster.cert("client.pem")).wrap_socket(sock) as tls:
      for _ in range(3):
        tls.sendall(request)
        data = b""
        while not _complete(data):
          data += tls.recv(65536)
        assert data.startswith(b"HTTP/1.1 200") and data.endswith(b'[true,"node1"]')


def test_http_framing(cluster):
  """Connection handling as HTTP/1.1 says: close on request, 100-continue,
  version and header limits."""
  cert = cluster.cert("client.pem")
  answer = _raw_request(cluster, 1, cert, b"POST /version HTTP/1.1\r\nConnection: close\r\n"
                        b"Content-Length: 2\r\n\r\n[]")
  head = answer.partition(b"\r\n\r\n")[0].lower()
  assert answer.startswith(b"HTTP/1.1 200") and b"connection: close" in head
  assert b"content-type: application/json" in head and b"date: " in head
  # HTTP/1.0 without keep-alive: the answer ends the connection
  answer = _raw_request(cluster, 1, cert, b"POST /version HTTP/1.0\r\nContent-Length: 2\r\n\r\n[]")
  assert answer.startswith(b"HTTP/1.1 200") and b"connection: close" in answer.lower()
  # the client waits for "100 Continue" before sending its body
  with socket.create_connection((cluster.address(1), PORT), timeout=5) as sock:
    with _client_context(cluster, cert).wrap_socket(sock) as tls:
      tls.sendall(b"POST /version HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
      assert tls.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
      tls.sendall(b"[]")
      data = b""
      while not _complete(data):
        data += tls.recv(65536)
      assert data.startswith(b"HTTP/1.1 200") and data.endswith(b'[true,"node1"]')
  assert _raw_request(cluster, 1, cert, b"POST /version HTTP/2.0\r\n\r\n").startswith(
    b"HTTP/1.1 505")
  answer = _raw_request(cluster, 1, cert, b"POST /version HTTP/1.1\r\n" +
                        b"X: y\r\n" * 101 + b"\r\n")
  assert answer.startswith(b"HTTP/1.1 431")
  answer = _raw_request(cluster, 1, cert, b"POST /version HTTP/1.1\r\nno colon\r\n\r\n")
  assert answer.startswith(b"HTTP/1.1 400")


def test_signed_but_not_candidate_is_refused(cluster):
  # node3's certificate is signed by the cluster, but no candidate's
  status, answer = _post(cluster, 1, "version", b"[]", cert=cluster.cert("client.pem", 3))
  assert status == 403 and answer[0] is False


def test_candidate_list_is_reread(cluster):
  node3_cert = cluster.cert("client.pem", 3)
  old = "\n".join("uuid-%d=%s" % (node, cluster.digests["uuid-%d" % node]) for node in (1, 2))
  cluster.WriteCandidates(old + "\nuuid-3=%s" % cluster.digests["uuid-3"], 2)
  try:
    assert _post(cluster, 2, "version", b"[]", cert=node3_cert) == (200, [True, "node2"])
  finally:
    cluster.WriteCandidates(old, 2)
  assert _post(cluster, 2, "version", b"[]", cert=node3_cert)[0] == 403


def test_stranger_certificate_is_refused(cluster, tmp_path):
  stranger = tmp_path / "stranger.pem"
  stranger.write_text(x509.GenerateSelfSignedPem("cluster"))
  with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
    answer = _raw_request(cluster, 1, str(stranger),
                          b"POST /version HTTP/1.1\r\nContent-Length: 2\r\n\r\n[]")
    if not answer:  # TLS 1.3: the refusal may show as a closed connection
      raise ConnectionError("closed")
  assert cluster.Alive(1)


def test_no_client_certificate_is_refused(cluster):
  context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
  context.check_hostname = False
  context.load_verify_locations(cluster.cert("server.pem"))
  with pytest.raises((ssl.SSLError, ConnectionError, OSError)):
    with socket.create_connection((cluster.address(1), PORT), timeout=5) as sock:
      with context.wrap_socket(sock) as tls:
        tls.sendall(b"POST /version HTTP/1.1\r\nContent-Length: 2\r\n\r\n[]")
        if not tls.recv(100):
          raise ConnectionError("closed")


def test_fuzz_keeps_daemon_alive(cluster):
  rng = random.Random(1234)
  cert = cluster.cert("client.pem")
  samples = [
    b"\x00" * 50, b"POST\r\n\r\n", b"POST /version HTTP/9.9\r\n\r\n",
    b"POST /version HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
    b"POST /version HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
    b"POST /version HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST /version HTTP/1.1\r\nContent-Length: 10\r\n\r\n[",
    b"POST /%s HTTP/1.1\r\nContent-Length: 2\r\n\r\n[]" % (b"a" * 70000),
    b"POST /version HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n",
  ]
  for _ in range(15):
    size = rng.randint(1, 400)
    samples.append(bytes(rng.getrandbits(8) for _ in range(size)))
    body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 100)))
    samples.append(b"POST /version HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
  for data in samples:
    try:
      # incomplete requests get no answer: do not wait long for one
      _raw_request(cluster, 1, cert, data, timeout=0.3)
    except OSError:
      pass
  # garbage before TLS too
  for _ in range(5):
    with socket.create_connection((cluster.address(1), PORT), timeout=2) as sock:
      sock.sendall(bytes(rng.getrandbits(8) for _ in range(200)))
  assert cluster.Alive(1)
  assert _post(cluster, 1, "version", b"[]") == (200, [True, "node1"])


def test_initialized_cluster_round_trip():
  """After "gnt-cluster init", the real daemon and backend accept the master."""
  nc = NodedCluster(nodes=1, init=True)
  try:
    nc.Start(1, real_backend=True)
    status, answer = _post(nc, 1, "master_node_name", b"[]")
    assert status == 200 and answer == [True, "node1"]
    proc = nc.vc.run(sys.executable, "-c", "from ganeti.rpc import client\n"
                     "print(client.BootstrapRunner().call_master_node_name(['node1'])"
                     "['node1'].payload)")
    assert proc.stdout.strip() == "node1"
  finally:
    nc.Destroy()


def test_the_cluster_hypervisors_code_is_loaded_at_start(tmp_path, monkeypatch):
  """The daemon loads the enabled hypervisors' code before it serves, so that
  no call waits for that import; a node outside a cluster loads nothing."""
  from ganeti import errors, hypervisor, pathutils  # pylint: disable=import-outside-toplevel
  from ganeti.server import noded  # pylint: disable=import-outside-toplevel
  loaded = []

  def load(name):
    loaded.append(name)
    if name == "bogus":
      raise errors.HypervisorError("Unknown hypervisor type 'bogus'")
    return object

  monkeypatch.setattr(hypervisor, "GetHypervisorClass", load)
  monkeypatch.setattr(pathutils, "SSCONF_PREFIX", str(tmp_path / "ssconf_"))
  noded._LoadHypervisors()  # pylint: disable=protected-access
  assert loaded == []
  ssconf.SimpleStore(cfg_location=str(tmp_path)).WriteFiles(
    {ssconf.SS_HYPERVISOR_LIST: "kvm\nbogus"})
  noded._LoadHypervisors()  # pylint: disable=protected-access
  assert loaded == ["kvm", "bogus"]
