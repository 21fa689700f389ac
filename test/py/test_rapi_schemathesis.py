"""schemathesis against a real ganeti-rapi, driven by its own /2/openapi.json:
for a bounded number of generated requests per operation, no answer is a
server error, every answer is JSON of Ganeti's error shape or the documented
result, and the daemon stays up.

Requests run as a user with write access, so mutations reach the opcode
checks; job filter rules are sent without credentials (a random REJECT or
PAUSE rule would stop every later job of the test cluster).
"""

import pytest

schemathesis = pytest.importorskip("schemathesis")
import requests  # noqa: E402  (schemathesis brings it)
import urllib3  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from ganeti.rapi import openapi  # noqa: E402

from rapi_harness import PORT, USERS, RapiCluster  # noqa: E402

MAX_EXAMPLES = 10
SCHEMA = schemathesis.openapi.from_dict(openapi.Document())
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
# operations whose success would change what the rest of the run can do
_UNAUTHENTICATED = {("POST", "/2/filters"), ("PUT", "/2/filters/{filter_uuid}"),
                    ("DELETE", "/2/filters/{filter_uuid}")}


@pytest.fixture(scope="module")
def cluster():
  rc = RapiCluster()
  yield rc
  rc.destroy()


@pytest.fixture(scope="module")
def sessions():
  urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
  admin = requests.Session()
  admin.verify = False
  admin.auth = ("admin", USERS["admin"][1])
  anonymous = requests.Session()
  anonymous.verify = False
  yield admin, anonymous
  admin.close()
  anonymous.close()


@SCHEMA.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_generated_requests(case, cluster, sessions):
  admin, anonymous = sessions
  key = (case.method.upper(), case.path)
  session = anonymous if key in _UNAUTHENTICATED else admin
  response = case.call(base_url="https://%s:%d" % (cluster.host, PORT), session=session,
                       timeout=120, verify=False)
  documented = case.method.lower() in SCHEMA.raw_schema["paths"][case.path]
  # Ganeti answers methods a resource lacks with 501; anything else must not be 5xx
  assert response.status_code < 500 or (response.status_code == 501 and not documented), (
    case.method, case.formatted_path, case.query, case.body, response.text)
  answer = response.json()
  if response.status_code != 200:
    assert set(answer) == {"code", "message", "explain"}
    assert answer["code"] == response.status_code


def test_daemon_survived(cluster):
  assert cluster.Request("GET", "/version")[2] == 2
  assert cluster.Request("GET", "/2/info")[0] == 200
