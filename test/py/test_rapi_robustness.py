"""Bad requests against ganeti-rapi get 4xx answers (or a timeout) and never
stop the daemon: malformed JSON, wrong types, huge bodies, slow clients."""

import html
import http.client
import json
import socket
import threading

import pytest

from ganeti.rapi import dispatch
from ganeti.rapi import httpserver

from rapi_harness import RapiCluster


@pytest.fixture(scope="module")
def cluster():
  rc = RapiCluster()
  yield rc
  rc.destroy()


def _AssertUp(cluster):
  assert cluster.Request("GET", "/version")[:3:2] == (200, 2)


@pytest.mark.parametrize("method,path,body,headers,status,message", [
  ("PUT", "/2/instances/x/modify", b"{bad", {"Content-Type": "application/json"}, 400,
   "Unable to parse JSON data"),
  ("PUT", "/2/instances/x/modify", b"{}", {"Content-Type": "text/plain"}, 415,
   "Unsupported Media Type"),
  ("PUT", "/2/instances/x/modify", b"[1]", {"Content-Type": "application/json"}, 400,
   "Invalid body parameters: a JSON object is expected"),
  ("PUT", "/2/instances/x/modify", b'{"beparams": "x"}', {"Content-Type": "application/json"},
   400, "Invalid body parameters: (\"Parameter 'OP_INSTANCE_SET_PARAMS.beparams' fails"
   " validation\", 'wrong_input')"),
  ("PUT", "/2/instances/x/modify", b'{"foo": 1}', {"Content-Type": "application/json"}, 400,
   "Invalid body parameters: Object OpInstanceSetParams doesn't support the parameter 'foo'"),
  ("PUT", "/2/instances/x/startup?force=yes", b"", {}, 400,
   "Invalid value for the 'force' parameter"),
  ("POST", "/2/instances", b"{}", {"Content-Type": "application/json"}, 400,
   "Instance creation request version 0 is no longer supported"),
  ("PUT", "/2/nodes/x/role", b'"bogus"', {"Content-Type": "application/json"}, 400,
   "Can't set 'bogus' role"),
  ("GET", "/2/jobs/1/wait", b"", {}, 400, "The body must be a JSON object with a list of"
   " 'fields'"),
  ("GET", "/2/query/instance", b"", {}, 400, "Missing 'fields' query argument"),
  ("GET", "/2/nodes/x/storage", b"", {}, 400, "Missing the required 'output_fields'"
   " parameter"),
  ("GET", "/2/nosuch", b"", {}, 404, "Not Found"),
  ("GET", "/2/jobs/abc", b"", {}, 404, "Not Found"),
  ("POST", "/2/info", b"", {}, 501, "Method POST is unsupported for path /2/info"),
  ("OPTIONS", "/2/info", b"", {}, 501, "Method OPTIONS is unsupported for path /2/info"),
  ("POST", "/2/instances/x/disk/99999999999999999999/grow", b"{}",
   {"Content-Type": "application/json"}, 400, None),
])
def test_bad_requests_get_4xx(cluster, method, path, body, headers, status, message):
  got, answer_headers, answer = cluster.Request(method, path, user="admin", raw_body=body,
                                                headers=headers)
  assert got == status, answer
  assert answer_headers["Content-Type"] == "application/json"
  assert answer["code"] == status
  if message is not None:
    assert answer["message"] == html.escape(message)
  _AssertUp(cluster)


def test_huge_bodies_are_refused_unread(cluster):
  conn = cluster.Connection()
  try:
    conn.putrequest("PUT", "/2/modify")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(100 * 1024 * 1024))
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413
    assert response.getheader("Connection") == "close"
  finally:
    conn.close()
  status, _, _ = cluster.Request("PUT", "/2/modify", user="admin",
                                 raw_body=b" " * (2 * 1024 * 1024),
                                 headers={"Content-Type": "application/json"})
  assert status == 413
  _AssertUp(cluster)


def test_garbage_request_line(cluster):
  conn = cluster.Connection()
  try:
    conn.connect()
    conn.sock.sendall(b"THIS IS NOT HTTP\r\n\r\n")
    data = conn.sock.recv(4096)
  finally:
    conn.close()
  assert data.startswith(b"HTTP/1.1 400")
  assert b'"code": 400' in data
  _AssertUp(cluster)


def test_keep_alive(cluster):
  conn = cluster.Connection()
  try:
    sockets = set()
    for _ in range(5):
      conn.request("GET", "/2/info")
      response = conn.getresponse()
      assert response.status == 200 and json.loads(response.read())["name"] == "cluster"
      sockets.add(id(conn.sock))
    assert len(sockets) == 1
  finally:
    conn.close()


# --- the HTTP server alone, with short limits -------------------------------

def _Echo(request):
  return dispatch.Response(200, json.dumps([request.method, len(request.body)]).encode())


@pytest.fixture
def server():
  limits = httpserver.Limits(body_size=1000, handshake=1, read=0.5, body=1, idle=0.5, head=1)
  srv = httpserver.RapiHttpServer(("127.0.0.1", 0), None, _Echo, workers=2, max_queue=4,
                                  limits=limits)
  thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
  thread.start()
  yield srv
  srv.shutdown()
  srv.server_close()
  thread.join()


def _Get(srv, body=b""):
  conn = http.client.HTTPConnection("127.0.0.1", srv.server_address[1], timeout=10)
  try:
    conn.request("PUT", "/", body=body)
    response = conn.getresponse()
    return response.status, response.read()
  finally:
    conn.close()


def test_slow_clients_time_out_and_free_their_workers(server):
  port = server.server_address[1]
  stalled = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
  for sock in stalled:
    sock.sendall(b"PUT / HTTP/1.1\r\nContent-Len")  # and nothing more
  try:
    # both workers are held until the read timeout cuts the stalled peers off
    assert _Get(server, b"abc") == (200, b'["PUT", 3]')
    for sock in stalled:
      sock.settimeout(10)
      assert sock.recv(100) == b""
  finally:
    for sock in stalled:
      sock.close()


def test_slow_body_gets_408(server):
  sock = socket.create_connection(("127.0.0.1", server.server_address[1]))
  try:
    sock.sendall(b"PUT / HTTP/1.1\r\nContent-Length: 500\r\n\r\n")
    sock.settimeout(0.2)
    answer = b""
    for _ in range(100):  # a byte now and then, never the whole body
      sock.sendall(b"x")
      try:
        answer = sock.recv(4096)
      except socket.timeout:
        continue
      break
    assert answer.startswith(b"HTTP/1.1 408")
  finally:
    sock.close()
  assert _Get(server, b"ok")[0] == 200


def test_overload_ends_every_connection(server):
  """More stalled peers than workers and queue: each one is closed (at once
  or after its timeout), none hangs, and the server serves again."""
  port = server.server_address[1]
  stalled = [socket.create_connection(("127.0.0.1", port)) for _ in range(10)]
  try:
    for sock in stalled:
      sock.settimeout(10)
      assert sock.recv(100) == b""
    assert _Get(server)[0] == 200
  finally:
    for sock in stalled:
      sock.close()


def test_trickled_headers_are_cut_off(server):
  """A byte of header now and then never lets a peer keep its worker."""
  sock = socket.create_connection(("127.0.0.1", server.server_address[1]))
  try:
    sock.sendall(b"PUT / HTTP/1.1\r\n")
    sock.settimeout(0.2)
    closed = False
    for _ in range(100):  # each byte well within the read timeout
      try:
        sock.sendall(b"X")
        closed = sock.recv(100) == b""
      except socket.timeout:
        continue
      except OSError:
        closed = True
      if closed:
        break
    assert closed
  finally:
    sock.close()
  assert _Get(server, b"ok")[0] == 200


def test_expect_continue(server):
  """A body over the limit is refused before the peer sends it; others go on."""
  for length, status in ((5000, b"413"), (10, b"100")):
    sock = socket.create_connection(("127.0.0.1", server.server_address[1]))
    try:
      sock.sendall(b"PUT / HTTP/1.1\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n"
                   % length)
      sock.settimeout(10)
      assert sock.recv(4096).startswith(b"HTTP/1.1 " + status)
    finally:
      sock.close()
