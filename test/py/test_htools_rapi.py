"""The htools RAPI backend (-m) against a virtual cluster running
ganeti-rapi: it loads the same model as the LUXI backend (-L) of the same
cluster, compared through the text files hbal saves (-S)."""

import pytest

from rapi_harness import RapiCluster

NIC = {"ip": "192.0.2.20"}


@pytest.fixture(scope="module")
def cluster():
  rc = RapiCluster()
  cl = rc.Client()
  for pos, start in ((1, True), (2, False)):
    job = cl.CreateInstance("create", "hr%d" % pos, "diskless", [],
                            [{"ip": "192.0.2.%d" % (20 + pos)}], os="minimal+default",
                            pnode="node1", ip_check=False, name_check=False, start=start,
                            beparams={"maxmem": 128 * pos, "vcpus": pos})
    assert cl.WaitForJobCompletion(job, period=0.1, retries=600), cl.GetJobStatus(job)
  assert cl.AddClusterTags(["htools:iextags:service"]) is not None
  # a network connected to the group: the group section lists its UUID
  for submit in (lambda: cl.CreateNetwork("htnet", "198.51.100.0/24"),
                 lambda: cl.ConnectNetwork("htnet", "default", "routed", "rt100")):
    job = submit()
    assert cl.WaitForJobCompletion(job, period=0.1, retries=600), cl.GetJobStatus(job)
  yield rc
  rc.destroy()


def _Saved(rc, tmp_path, name, *backend):
  prefix = str(tmp_path / name)
  proc = rc.vc.run("hbal", *backend, "-S", prefix, check=False)
  assert proc.returncode == 0, proc.stdout + proc.stderr
  with open(prefix + ".original", encoding="utf-8") as handle:
    return proc.stdout, handle.read()


# node columns the node reports live (node memory, free memory, free disk):
# they may move between the two reads
_LIVE_NODE_COLUMNS = (2, 3, 5)


def _Sections(text):
  return [section.splitlines() for section in text.split("\n\n")]


def test_rapi_backend_loads_what_luxi_loads(cluster, tmp_path):
  rapi_out, rapi_text = _Saved(cluster, tmp_path, "rapi", "-m", cluster.host)
  luxi_out, luxi_text = _Saved(cluster, tmp_path, "luxi", "-L")
  rapi_sections, luxi_sections = _Sections(rapi_text), _Sections(luxi_text)
  assert len(rapi_sections) == len(luxi_sections) >= 4
  for pos, (ours, theirs) in enumerate(zip(rapi_sections, luxi_sections)):
    if pos != 1:
      assert ours == theirs, pos
      continue
    assert len(ours) == len(theirs) == 1
    for column, (left, right) in enumerate(zip(ours[0].split("|"), theirs[0].split("|"))):
      if column in _LIVE_NODE_COLUMNS:
        assert int(left) == pytest.approx(int(right), rel=0.05), column
      else:
        assert left == right, column
  assert "hr1|128|" in rapi_text and "hr2|256|" in rapi_text
  assert "htools:iextags:service" in rapi_text
  network_uuid = cluster.Client().GetNetwork("htnet")["uuid"]
  assert rapi_sections[0][0].split("|")[4] == network_uuid
  assert "Loaded 1 nodes, 2 instances" in rapi_out
  assert rapi_out.splitlines()[:4] == luxi_out.splitlines()[:4]


def test_rapi_backend_with_port_and_scheme(cluster, tmp_path):
  _, text = _Saved(cluster, tmp_path, "url", "-m", "https://%s:5080" % cluster.host)
  assert "hr1|128|" in text


def test_unreachable_rapi_is_an_error(cluster):
  proc = cluster.vc.run("hbal", "-m", "127.0.0.1:1", check=False)
  assert proc.returncode == 1
  assert "failed to load data, aborting: RAPI at 127.0.0.1:1:" in proc.stderr
