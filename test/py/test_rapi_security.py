"""RAPI access control against a real ganeti-rapi: Basic authentication with
the users file, rights per method as in Ganeti, no plain HTTP."""

import http.client
import json
import re
import socket
import ssl
import time

import pytest

from ganeti import rapi
from ganeti.rapi import auth
from ganeti.rapi import dispatch
from ganeti.rapi import resources

from rapi_harness import PORT, USERS, RapiCluster

_SAMPLE_VARIABLES = {"instance_name": "noinst", "node_name": "nonode", "group_name": "nogroup",
                     "network_name": "nonet", "job_id": "1", "disk_index": "0",
                     "resource": "instance", "filter_uuid": "nouuid"}


def _Path(resource: resources.Resource) -> str:
  path = resource.path
  for name, value in _SAMPLE_VARIABLES.items():
    path = path.replace("[%s]" % name, value)
  return path


def _Protected(right: str) -> list[tuple[str, str]]:
  """(method, path) of every table entry that needs the given right."""
  return [(name, _Path(res)) for res in resources.RESOURCES
          for name, method in res.methods.items() if right in method.access]


WRITE_ONLY = _Protected(rapi.ACCESS_WRITE)
READ = _Protected(rapi.ACCESS_READ)


@pytest.fixture(scope="module")
def cluster():
  rc = RapiCluster()
  yield rc
  rc.destroy()


def test_the_table_protects_every_mutation():
  for res in resources.RESOURCES:
    for name, method in res.methods.items():
      if name != "GET":
        assert method.access, (name, res.path)
  assert len(WRITE_ONLY) > 50


@pytest.mark.parametrize("method,path", WRITE_ONLY + READ)
def test_no_credentials_get_401(cluster, method, path):
  status, headers, answer = cluster.Request(method, path)
  assert status == 401
  assert headers["WWW-Authenticate"] == 'Basic realm="Ganeti Remote API"'
  assert answer == {"code": 401, "message": "Unauthorized",
                    "explain": "No permission -- see authorization schemes"}


@pytest.mark.parametrize("method,path", WRITE_ONLY)
def test_read_only_user_gets_403(cluster, method, path):
  for user in ("reader", "nobody"):
    status, _, answer = cluster.Request(method, path, user=user)
    assert status == 403, (user, answer)
    assert answer["message"] == "Forbidden"


@pytest.mark.parametrize("method,path", READ)
def test_read_right_is_needed_for_queries(cluster, method, path):
  assert cluster.Request(method, path, user="nobody")[0] == 403
  assert cluster.Request(method, path, user="reader")[0] != 403


def test_wrong_password_gets_401_even_where_anonymous_may_read(cluster):
  assert cluster.Request("GET", "/2/info")[0] == 200
  for user in ("admin", "reader", "hashed"):
    status, headers, _ = cluster.Request("GET", "/2/info", user=user, password="wrong")
    assert status == 401 and "WWW-Authenticate" in headers
  assert cluster.Request("GET", "/2/info", user="ghost", password="x")[0] == 401
  log = open(cluster.vc.path("/var/log/ganeti/rapi-daemon.log")).read()
  assert "Authentication failed for user 'ghost'" in log
  # every request has its line, as in Ganeti's log
  assert re.search(r"INFO 127\.[\d.]+:\d+ GET /2/info HTTP/1.1 401\n", log)


def test_password_schemes(cluster):
  status, _, _ = cluster.Request("GET", "/2/query/node?fields=name", user="hashed")
  assert status == 200
  assert cluster.Request("GET", "/2/query/node?fields=name", user="reader")[0] == 200
  assert cluster.Request("GET", "/2/query/node?fields=name", user="admin")[0] == 200
  job = cluster.Request("PUT", "/2/redistribute-config", user="hashed")
  assert job[0] == 200 and isinstance(job[2], int)


def test_users_file_is_reread(cluster):
  try:
    cluster.WriteUsers(dict(USERS, newcomer=("{cleartext}fresh", "fresh", "write"),
                            admin=("other", "other", "write")))
    status, _, _ = cluster.Request("PUT", "/2/redistribute-config", user="newcomer",
                                   password="fresh")
    assert status == 200
    assert cluster.Request("GET", "/2/info", user="admin")[0] == 401
  finally:
    cluster.WriteUsers(USERS)
  assert cluster.Request("GET", "/2/info", user="admin")[0] == 200


def test_no_plain_http(cluster):
  conn = http.client.HTTPConnection(cluster.host, PORT, timeout=10)
  try:
    with pytest.raises((http.client.HTTPException, ConnectionError, socket.timeout)):
      conn.request("GET", "/2/info")
      conn.getresponse().read()
  finally:
    conn.close()
  assert cluster.Request("GET", "/version")[0] == 200


def _ServedCertificate(cluster) -> bytes:
  context = ssl.create_default_context()
  context.check_hostname = False
  context.verify_mode = ssl.CERT_NONE
  with socket.create_connection((cluster.host, PORT), timeout=10) as sock:
    with context.wrap_socket(sock) as tls:
      return tls.getpeercert(binary_form=True)


def test_renewed_certificate_is_served_without_restart(cluster):
  before = _ServedCertificate(cluster)
  cluster.vc.run("gnt-cluster", "renew-crypto", "--new-rapi-certificate", "-f")
  deadline = time.monotonic() + 30
  while _ServedCertificate(cluster) == before and time.monotonic() < deadline:
    time.sleep(0.2)
  after = _ServedCertificate(cluster)
  assert after != before
  with open(cluster.vc.path("/var/lib/ganeti/rapi.pem")) as handle:
    pem = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----",
                    handle.read(), re.S).group(0)
  assert ssl.PEM_cert_to_DER_cert(pem) == after
  assert cluster.Request("GET", "/2/info")[0] == 200


class _StubLuxi:
  """Answers the one LUXI call /2/info needs, for dispatcher-only tests."""
  def QueryClusterInfo(self):
    return {"name": "stub"}

  def Close(self):
    pass

  def DropIfClosed(self):
    pass


def _Dispatch(app, method, path, authorization=None):
  headers = {"Authorization": authorization} if authorization else {}
  response = app(dispatch.Request(method, path, headers, b"", "127.0.0.1"))
  return response.status, json.loads(response.body)


def test_require_authentication(tmp_path):
  users_file = tmp_path / "users"
  users_file.write_text("jack abc123\n")
  users = auth.UsersFile(str(users_file))
  strict = dispatch.Dispatcher(users, require_authentication=True, luxi_factory=_StubLuxi)
  relaxed = dispatch.Dispatcher(users, luxi_factory=_StubLuxi)
  assert _Dispatch(strict, "GET", "/2/info")[0] == 401
  assert _Dispatch(relaxed, "GET", "/2/info") == (200, {"name": "stub"})
  assert _Dispatch(strict, "GET", "/2/info", "Basic amFjazphYmMxMjM=") == (200,
                                                                          {"name": "stub"})


def test_users_file_parsing():
  users = auth.ParseUsers("# comment\njoe abc123\nfred {cleartext}foo555 read\n"
                          "jack {HA1}54C12257EE9BE413F2F3182435514AAE write\n"
                          "bad line with too many fields\nsuper {ha1}x read,write,bogus\n")
  assert sorted(users) == ["fred", "jack", "joe", "super"]
  assert users["joe"].rights == frozenset()
  assert users["jack"].rights == {"read", "write"}
  assert users["super"].options == {"read", "write"}
  assert auth.CheckPassword(users["joe"], "abc123")
  assert auth.CheckPassword(users["fred"], "foo555")
  assert not auth.CheckPassword(users["fred"], "{cleartext}foo555")
  assert auth.CheckPassword(users["jack"], "abc123")  # MD5 of "jack:Ganeti Remote API:abc123"
  assert not auth.CheckPassword(users["jack"], "abc124")
