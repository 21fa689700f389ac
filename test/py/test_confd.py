"""ganeti-confd: the real daemon on a 127.x address, the protocol and the client.

Expected answers are those the real Ganeti 3.0.2 confd gave for the same
configuration (the recorded config with one instance, plus a DRBD instance
and nodes in every role).
"""

import copy
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from ganeti import confd
from ganeti import errors
from ganeti.confd import client as confd_client
from ganeti.confd import server

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BASE_CONFIG = os.path.join(TOP, "test", "data", "ganeti-3.0", "config-with-instance.data")
KEY = b"407f2960a5b1340dad4902e4edfa45626134779e\n"
N1 = "07c9feed-129f-454f-b4e8-91a9084aeed4"
N2 = "e003c93b-a99c-4938-8887-9371adf9ea5d"
DRBD_INST = "11111111-0000-0000-0000-000000000000"
FILE_INST = "291661ae-d9ff-45d6-baf9-90700bb1f216"
PREFIX = "127.%d.%d." % (30 + os.getpid() % 200, random.randint(1, 250))


def MakeConfig() -> dict:
  """The recorded config plus nodes in every role and a DRBD instance."""
  data = json.load(open(BASE_CONFIG))
  template = data["nodes"][N2]
  for idx, (name, flags) in enumerate([("node3.gnt.test", {"drained": True}),
                                       ("node4.gnt.test", {"offline": True}),
                                       ("node5.gnt.test", {})], start=3):
    node = dict(copy.deepcopy(template), name=name, primary_ip="198.51.100.%d" % idx,
                uuid="0000000%d-0000-0000-0000-000000000000" % idx, master_candidate=False,
                **flags)
    data["nodes"][node["uuid"]] = node
  data["nodes"][N1]["serial_no"] = 9
  disk_template = next(iter(data["disks"].values()))

  def Disk(uuid, dev_type, logical_id, size, iv_name="", children=()):
    return dict(copy.deepcopy(disk_template), uuid=uuid, dev_type=dev_type, logical_id=logical_id,
                size=size, iv_name=iv_name, nodes=[N2, N1], children=list(children))
  drbd = Disk("44444444-0000-0000-0000-000000000000", "drbd",
              [N2, N1, 11001, 3, 5, "secret"], 2048, "disk/0",
              [Disk("33333333-0000-0000-0000-00000000000%d" % idx, "plain", ["xenvg", lv], size)
               for idx, (lv, size) in enumerate([("data", 2048), ("meta", 128)])])
  data["disks"][drbd["uuid"]] = drbd
  inst = dict(copy.deepcopy(data["instances"][FILE_INST]), name="drbd-inst.gnt.test",
              uuid=DRBD_INST, primary_node=N2, disks=[drbd["uuid"]], serial_no=6)
  inst["nics"] = [{"mac": "aa:00:00:00:00:01", "ip": "192.0.2.7", "uuid": "n-1",
                   "nicparams": {"mode": "routed", "link": "rtlink"}},
                  {"mac": "aa:00:00:00:00:02", "ip": "192.0.2.8", "nicparams": {}, "uuid": "n-2"}]
  data["instances"][DRBD_INST] = inst
  return data


def WriteConfig(path: str, data: dict) -> None:
  with open(path + ".tmp", "w") as handle:
    json.dump(data, handle)
  os.rename(path + ".tmp", path)


def FreeUdpPort(address: str) -> int:
  with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
    sock.bind((address, 0))
    return sock.getsockname()[1]


def Request(req_type, query=None, rsalt="rs", salt=None, key=KEY, **extra) -> bytes:
  msg = json.dumps(dict({"protocol": 1, "type": req_type, "query": query, "rsalt": rsalt},
                        **extra))
  return confd.Pack(key, msg, str(int(time.time())) if salt is None else salt)


def Exchange(address, datagram: bytes, wait: float = 2.0):
  """The parsed reply to datagram, or None when none came within wait seconds."""
  with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
    sock.settimeout(wait)
    sock.sendto(datagram, address)
    try:
      data = sock.recv(65536)
    except socket.timeout:
      return None
  msg, salt = confd.Unpack(KEY, data)
  return dict(confd.ParseReply(msg), salt=salt)


class Node:
  """A node root with config.data and hmac.key, and its ganeti-confd."""

  def __init__(self, address: str, key: bytes = KEY) -> None:
    self.root = tempfile.mkdtemp(prefix="gnt-confd-")
    self.data_dir = os.path.join(self.root, "var", "lib", "ganeti")
    os.makedirs(self.data_dir)
    self.config_path = os.path.join(self.data_dir, "config.data")
    self.config = MakeConfig()
    WriteConfig(self.config_path, self.config)
    if key is not None:
      with open(os.path.join(self.data_dir, "hmac.key"), "wb") as handle:
        handle.write(key)
    self.address = (address, FreeUdpPort(address))
    self.proc = None

  def start(self) -> subprocess.CompletedProcess:
    """Starts the daemon (detached) and returns the starter's result."""
    env = dict(os.environ, GANETI_ROOTDIR=self.root, GANETI_HOSTNAME="node1.gnt.test")
    return subprocess.run(
      [sys.executable, "-c", "import sys; from ganeti.server import confd; sys.exit(confd.Main())",
       "-d", "-b", self.address[0], "-p", str(self.address[1])],
      env=env, capture_output=True, text=True, timeout=30)

  def pid(self):
    with open(os.path.join(self.root, "var", "run", "ganeti", "ganeti-confd.pid")) as handle:
      return int(handle.read())

  def destroy(self) -> None:
    """Stops the daemon (waiting for it to exit) and removes the node root."""
    try:
      pid = self.pid()
      os.kill(pid, 15)
      deadline = time.time() + 10
      while time.time() < deadline:
        os.kill(pid, 0)
        time.sleep(0.05)
    except (OSError, ValueError):
      pass  # gone (or never started)
    shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def node():
  node = Node(PREFIX + "1")
  result = node.start()
  assert result.returncode == 0, result.stderr
  deadline = time.time() + 10
  while Exchange(node.address, Request(confd.REQ_PING), wait=0.2) is None:
    assert time.time() < deadline, "confd does not answer"
  yield node
  node.destroy()


# (request type, query, status, answer, serial) as the real confd answered
CASES = [
  (confd.REQ_PING, None, 0, 3000000, 0),
  (confd.REQ_PING, "anything", 0, 3000000, 0),
  (confd.REQ_NODE_ROLE_BYNAME, "node1.gnt.test", 0, confd.NODE_ROLE_MASTER, 14),
  (confd.REQ_NODE_ROLE_BYNAME, "node2.gnt.test", 0, confd.NODE_ROLE_CANDIDATE, 14),
  (confd.REQ_NODE_ROLE_BYNAME, "node2", 0, confd.NODE_ROLE_CANDIDATE, 14),
  (confd.REQ_NODE_ROLE_BYNAME, "node1", 0, confd.NODE_ROLE_CANDIDATE, 14),
  (confd.REQ_NODE_ROLE_BYNAME, "node3.gnt.test", 0, confd.NODE_ROLE_DRAINED, 14),
  (confd.REQ_NODE_ROLE_BYNAME, "node4.gnt.test", 0, confd.NODE_ROLE_OFFLINE, 14),
  (confd.REQ_NODE_ROLE_BYNAME, "node5.gnt.test", 0, confd.NODE_ROLE_REGULAR, 14),
  (confd.REQ_NODE_ROLE_BYNAME, "nope", 1,
   "Failure: prerequisites not met for this operation:\nerror type: ECodeNoEnt,"
   " error details:\nNode name nope not found", 0),
  (confd.REQ_NODE_ROLE_BYNAME, "NODE1.gnt.test", 1,
   "Failure: prerequisites not met for this operation:\nerror type: ECodeNoEnt,"
   " error details:\nNode name NODE1.gnt.test not found", 0),
  (confd.REQ_NODE_ROLE_BYNAME, None, 1, "Invalid query type EmptyQuery", 0),
  (confd.REQ_NODE_ROLE_BYNAME, {"0": "x"}, 1,
   'Invalid query type DictQuery (ConfdReqQ {confdReqQIp = Nothing, confdReqQIpList = [],'
   ' confdReqQLink = Just "x", confdReqQFields = []})', 0),
  (confd.REQ_NODE_PIP_BY_INSTANCE_IP, {"0": "gnt-br0", "1": "198.51.100.50"}, 0,
   "198.51.100.1", 14),
  (confd.REQ_NODE_PIP_BY_INSTANCE_IP, {"1": "198.51.100.50"}, 0, "198.51.100.1", 14),
  (confd.REQ_NODE_PIP_BY_INSTANCE_IP, {"0": "rtlink", "1": "192.0.2.7"}, 0, "198.51.100.2", 14),
  (confd.REQ_NODE_PIP_BY_INSTANCE_IP, {"1": "192.0.2.7"}, 1, confd.ERROR_UNKNOWN_ENTRY, 0),
  (confd.REQ_NODE_PIP_BY_INSTANCE_IP, {"2": ["198.51.100.50", "192.0.2.7", "1.2.3.4"]}, 0,
   [[0, "198.51.100.1", 14], [1, 0, 0], [1, 0, 0]], 14),
  (confd.REQ_NODE_PIP_BY_INSTANCE_IP, {}, 0, [], 14),
  (confd.REQ_NODE_PIP_BY_INSTANCE_IP, "198.51.100.50", 1, confd.ERROR_ARGUMENT, 0),
  (confd.REQ_NODE_PIP_BY_INSTANCE_IP, None, 1, confd.ERROR_ARGUMENT, 0),
  (confd.REQ_CLUSTER_MASTER, None, 0, "node1.gnt.test", 14),
  (confd.REQ_CLUSTER_MASTER, {"3": [0, 1, 2]}, 0,
   ["node1.gnt.test", "198.51.100.100", "198.51.100.1"], 14),
  (confd.REQ_CLUSTER_MASTER, {"3": [2, 2, 0]}, 0,
   ["198.51.100.1", "198.51.100.1", "node1.gnt.test"], 14),
  (confd.REQ_CLUSTER_MASTER, "x", 1, confd.ERROR_ARGUMENT, 0),
  (confd.REQ_NODE_PIP_LIST, None, 0,
   ["198.51.100.2", "198.51.100.1", "198.51.100.5", "198.51.100.4", "198.51.100.3"], 14),
  (confd.REQ_MC_PIP_LIST, None, 0, ["198.51.100.2", "198.51.100.1"], 14),
  (confd.REQ_INSTANCES_IPS_LIST, None, 0, ["192.0.2.8", "198.51.100.50"], 14),
  (confd.REQ_INSTANCES_IPS_LIST, "rtlink", 0, ["192.0.2.7"], 14),
  (confd.REQ_INSTANCES_IPS_LIST, "zz", 0, [], 14),
  (confd.REQ_INSTANCES_IPS_LIST, {"0": "gnt-br0"}, 1, "Invalid query type", 0),
  (confd.REQ_NODE_DRBD, "node1.gnt.test", 0,
   [["node1.gnt.test", 5, "drbd-inst.gnt.test", "disk/0", "secondary", "node2.gnt.test"]], 9),
  (confd.REQ_NODE_DRBD, "node2", 0,
   [["node2.gnt.test", 3, "drbd-inst.gnt.test", "disk/0", "primary", "node1.gnt.test"]], 1),
  (confd.REQ_NODE_DRBD, "node5.gnt.test", 0, [], 1),
  (confd.REQ_NODE_DRBD, "nope", 1, 'OpPrereqError "Node name nope not found" ECodeNoEnt', 0),
  (confd.REQ_NODE_INSTANCES, "nope", 1, "Node not found in the configuration: OpPrereqError"
   ' "Node name nope not found" ECodeNoEnt', 0),
  (confd.REQ_INSTANCE_DISKS, "nope", 1, "Instance not found in the configuration:"
   ' OpPrereqError "Instance name nope not found" ECodeNoEnt', 0),
  (confd.REQ_INSTANCE_DISKS, None, 1, "Invalid query type EmptyQuery", 0),
  (confd.REQ_CONFIG_QUERY, "/cluster/cluster_name", 0, "cluster.gnt.test", 14),
  (confd.REQ_CONFIG_QUERY, "/nodes/%s/name" % N2, 0, "node2.gnt.test", 14),
  (confd.REQ_CONFIG_QUERY, "/cluster/enabled_hypervisors/0", 0, "fake", 14),
  (confd.REQ_CONFIG_QUERY, "/version", 0, 3000000, 14),
  (confd.REQ_CONFIG_QUERY, "/", 1, confd.ERROR_ARGUMENT, 0),
  (confd.REQ_CONFIG_QUERY, "/cluster/", 1, confd.ERROR_ARGUMENT, 0),
  (confd.REQ_CONFIG_QUERY, "cluster/cluster_name", 1, confd.ERROR_ARGUMENT, 0),
  (confd.REQ_CONFIG_QUERY, "/cluster/nonexistent", 1, confd.ERROR_ARGUMENT, 0),
]


@pytest.mark.parametrize("req_type,query,status,answer,serial", CASES)
def test_answers_like_real_confd(node, req_type, query, status, answer, serial):
  reply = Exchange(node.address, Request(req_type, query, rsalt="salt-%d" % req_type))
  assert reply == {"protocol": 1, "status": status, "answer": answer, "serial": serial,
                   "salt": "salt-%d" % req_type}


def test_object_answers_are_the_stored_objects(node):
  cfg = node.config
  reply = Exchange(node.address, Request(confd.REQ_NODE_INSTANCES, "node1.gnt.test"))
  assert (reply["answer"], reply["serial"]) == (
    [[cfg["instances"][FILE_INST]], [cfg["instances"][DRBD_INST]]], 9)
  reply = Exchange(node.address, Request(confd.REQ_INSTANCE_DISKS, "drbd-inst"))
  assert (reply["answer"], reply["serial"]) == (
    [cfg["disks"][uuid] for uuid in cfg["instances"][DRBD_INST]["disks"]], 6)
  reply = Exchange(node.address, Request(confd.REQ_CONFIG_QUERY, "/nodes"))
  assert reply["answer"] == cfg["nodes"]
  reply = Exchange(node.address, Request(confd.REQ_DATA_COLLECTORS))
  expected = copy.deepcopy(cfg["cluster"]["data_collectors"])
  expected["inst-status-xen"]["active"] = False  # no Xen hypervisor enabled
  assert (reply["answer"], reply["serial"]) == (expected, 14)


def test_reply_is_the_real_datagram():
  # a reply of the real confd to rsalt "abc", signed with KEY
  real = (b'plj0{"hmac":"06ce5aecc003161435a11b16edb132d3bfad2ca6","msg":"{\\"protocol\\":1,'
          b'\\"status\\":0,\\"answer\\":3000000,\\"serial\\":0}","salt":"abc"}')
  assert confd.Pack(KEY, confd.MakeReply(0, 3000000, 0), "abc") == real
  assert confd.Unpack(KEY, real)[1] == "abc"
  with pytest.raises(confd.ConfdMessageError):
    confd.Unpack(KEY.strip(), real)  # the key's newline is part of it


def _Tamper(datagram: bytes) -> bytes:
  envelope = json.loads(datagram[4:])
  envelope["msg"] = envelope["msg"].replace('"type": 0', '"type": 3')
  return b"plj0" + json.dumps(envelope).encode()


def _Dropped() -> dict:
  """Datagrams confd must drop; the salts are made now (the window moves)."""
  now = time.time()
  return {
    "unsigned": b"plj0" + json.dumps({"msg": json.dumps({"protocol": 1, "type": 0,
                                                         "query": None, "rsalt": "x"}),
                                      "salt": "1"}).encode(),
    "other key": Request(0, key=b"another key\n"),
    "key without newline": Request(0, key=KEY.strip()),
    "tampered": _Tamper(Request(0)),
    "too old": Request(0, salt=str(int(now - 400))),
    "too new": Request(0, salt=str(int(now + 400))),
    "float salt": Request(0, salt="%f" % now),
    "word salt": Request(0, salt="abc"),
    "bad magic": b"plj1" + Request(0)[4:],
    "no magic": Request(0)[4:],
    "bad json": b"plj0{not json",
    "msg not json": confd.Pack(KEY, "hello", str(int(now))),
    "extra key": Request(0, extra=1),
    "unknown type": Request(12),
    "type as text": Request("0"),
    "bad master field": Request(confd.REQ_CLUSTER_MASTER, {"3": [7]}),
    "too large": Request(0, "y" * 5000),
  }


def test_bad_datagrams_are_dropped(node):
  for name, datagram in _Dropped().items():
    assert Exchange(node.address, datagram, wait=0.3) is None, name
  # salts within the window are accepted, also the same one twice
  for salt in [str(int(time.time() - 200))] * 2 + [str(int(time.time() + 200))]:
    assert Exchange(node.address, Request(0, salt=salt))["status"] == 0


def test_fuzzing_does_not_stop_the_daemon(node):
  rng = random.Random(4)
  good = Request(confd.REQ_CLUSTER_MASTER)
  with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
    for _ in range(400):
      data = bytearray(good)
      for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] = rng.randrange(256)
      choice = rng.random()
      if choice < 0.2:
        data = bytearray(rng.randbytes(rng.randint(0, 5000)))
      elif choice < 0.3:
        data = data[:rng.randrange(len(data))]
      sock.sendto(bytes(data), node.address)
  # the flood may have filled the socket buffer: UDP may drop a first try
  replies = (Exchange(node.address, good, wait=1) for _ in range(5))
  assert next(reply for reply in replies if reply)["answer"] == "node1.gnt.test"
  os.kill(node.pid(), 0)


def test_config_changes_are_picked_up(node):
  data = copy.deepcopy(node.config)
  data["cluster"]["serial_no"] = 15
  data["cluster"]["master_ip"] = "198.51.100.200"
  WriteConfig(node.config_path, data)
  deadline = time.time() + 5
  while True:
    reply = Exchange(node.address, Request(confd.REQ_CLUSTER_MASTER, {"3": [1]}))
    if reply["serial"] == 15 or time.time() > deadline:
      break
    time.sleep(0.1)
  assert (reply["answer"], reply["serial"]) == (["198.51.100.200"], 15)
  # a broken file: every request gets an error, until the file is good again
  with open(node.config_path, "w") as handle:
    handle.write("{garbage")
  time.sleep(0.5)
  reply = Exchange(node.address, Request(confd.REQ_PING))
  assert (reply["status"], reply["serial"]) == (1, 0)
  assert reply["answer"].startswith("Cannot load configuration from %s" % node.config_path)
  WriteConfig(node.config_path, node.config)
  time.sleep(0.5)
  assert Exchange(node.address, Request(confd.REQ_CLUSTER_MASTER))["serial"] == 14


def test_missing_key_refuses_start():
  node = Node(PREFIX + "2", key=None)
  try:
    result = node.start()
  finally:
    node.destroy()
  assert result.returncode != 0
  assert "hmac.key" in result.stderr


def test_missing_config_answers_errors():
  processor = server.ConfdProcessor(KEY, server.ConfigCache("/nonexistent/config.data"))
  reply = json.loads(confd.Unpack(KEY, processor.Process(Request(0)))[0])
  assert reply["status"] == 1 and reply["serial"] == 0
  assert reply["answer"].startswith("Failure during configuration update: /nonexistent/config.data")


def test_client_takes_the_freshest_reply(tmp_path):
  stop = threading.Event()
  port = FreeUdpPort(PREFIX + "5")
  threads = []
  for idx, serial in enumerate([20, 14]):
    data = MakeConfig()
    data["cluster"]["serial_no"] = serial
    data["cluster"]["master_ip"] = "198.51.100.%d" % serial
    path = str(tmp_path / ("config%d.data" % idx))
    WriteConfig(path, data)
    sock = server.MakeSocket(PREFIX + str(5 + idx), port)
    thread = threading.Thread(target=server.Serve,
                              args=(sock, server.ConfdProcessor(KEY, server.ConfigCache(path)),
                                    stop))
    thread.start()
    threads.append(thread)
  try:
    peers = [PREFIX + "5", PREFIX + "6"]
    client = confd_client.ConfdClient(KEY, peers, port=port)
    start = time.monotonic()
    replies = client.QueryAll(confd.REQ_CLUSTER_MASTER, {"3": [1]}, timeout=5)
    assert time.monotonic() - start < 2  # all peers answered: no waiting for the timeout
    assert sorted(reply.serial for reply in replies) == [14, 20]
    for _ in range(5):  # peers are asked in random order
      reply = client.Query(confd.REQ_CLUSTER_MASTER, {"3": [1]})
      assert (reply.answer, reply.serial, reply.peer) == (["198.51.100.20"], 20, PREFIX + "5")
    # a dead peer costs the timeout, not the answer
    client = confd_client.ConfdClient(KEY, peers + [PREFIX + "9"], port=port)
    assert client.Query(confd.REQ_CLUSTER_MASTER, timeout=0.5).serial == 20
    # replies signed with another key are not believed
    with pytest.raises(errors.ConfdClientError):
      confd_client.ConfdClient(b"other\n", peers, port=port).Query(confd.REQ_PING, timeout=0.5)
  finally:
    stop.set()
    for thread in threads:
      thread.join()
