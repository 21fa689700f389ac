"""A virtual cluster with its RAPI daemon and three users, for the RAPI tests."""

import base64
import hashlib
import http.client
import json
import os
import ssl
import time
from typing import Any, Optional

from ganeti.rapi import client as rapi_client

from vcluster_harness import VirtualCluster

PORT = 5080
USERS = {
  # name: (password as written in the users file, password to send, options)
  "admin": ("{cleartext}adminpw", "adminpw", "write"),
  "reader": ("readerpw", "readerpw", "read"),
  "hashed": ("{HA1}" + hashlib.md5(b"hashed:Ganeti Remote API:hashpw").hexdigest(), "hashpw",
             "read,write"),
  "nobody": ("nobodypw", "nobodypw", ""),
}


class RapiCluster:
  """A one-node virtual cluster whose master runs ganeti-rapi."""

  def __init__(self) -> None:
    self.vc = VirtualCluster(nodes=1)
    self.vc.init()
    self.host = self.vc.prefix + ".11"  # the master node's address, which ganeti-rapi binds
    self.WriteUsers(USERS)
    self.WaitReady()

  def WriteUsers(self, users: dict) -> None:
    path = self.vc.path("/var/lib/ganeti/rapi/users")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    lines = ["# test users"] + ["%s %s %s" % (name, stored, options)
                                 for name, (stored, _, options) in users.items()]
    with open(path + ".new", "w") as handle:
      handle.write("\n".join(lines) + "\n")
    os.rename(path + ".new", path)

  def WaitReady(self, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
      try:
        if self.Request("GET", "/version")[0] == 200:
          return
      except OSError:
        pass
      if time.monotonic() > deadline:
        raise AssertionError("ganeti-rapi does not answer on %s:%d" % (self.host, PORT))
      time.sleep(0.2)

  def Client(self, user: Optional[str] = "admin") -> rapi_client.GanetiRapiClient:
    if user is None:
      return rapi_client.GanetiRapiClient(self.host, PORT)
    return rapi_client.GanetiRapiClient(self.host, PORT, username=user,
                                        password=USERS[user][1])

  def Connection(self, timeout: float = 30) -> http.client.HTTPSConnection:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return http.client.HTTPSConnection(self.host, PORT, timeout=timeout, context=context)

  def Request(self, method: str, path: str, body: Any = None, user: Optional[str] = None,
              password: Optional[str] = None, headers: Optional[dict] = None,
              raw_body: Optional[bytes] = None) -> tuple[int, dict, Any]:
    """(status, headers, decoded answer) of one request on a new connection."""
    send_headers = dict(headers or {})
    if user is not None:
      secret = password if password is not None else USERS[user][1]
      send_headers["Authorization"] = "Basic " + base64.b64encode(
        ("%s:%s" % (user, secret)).encode()).decode()
    data = raw_body
    if data is None and body is not None:
      data = json.dumps(body).encode()
      send_headers.setdefault("Content-Type", "application/json")
    conn = self.Connection()
    try:
      conn.request(method, path, body=data, headers=send_headers)
      response = conn.getresponse()
      payload = response.read()
      return response.status, dict(response.getheaders()), (json.loads(payload) if payload
                                                             else None)
    finally:
      conn.close()

  def destroy(self) -> None:
    self.vc.destroy()
