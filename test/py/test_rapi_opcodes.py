"""Every RAPI resource through ganeti.rapi.client against a real ganeti-rapi:
reads answer Ganeti's shapes, and each mutating call becomes the opcode
(with the parameters) that Ganeti 3.0's RAPI submits for it.

Mutations name objects that do not exist, or ask for a dry run, so the
cluster stays as it is; the job records the opcode either way.
"""

import pytest

from ganeti.rapi import client as rapi_client
from ganeti.rapi import resources

from rapi_harness import RapiCluster

NIC = {"ip": "192.0.2.10"}


@pytest.fixture(scope="module")
def cluster():
  rc = RapiCluster()
  cl = rc.Client()
  job = cl.CreateInstance("create", "inst1", "diskless", [], [NIC], os="minimal+default",
                          pnode="node1", ip_check=False, name_check=False, start=True)
  assert cl.WaitForJobCompletion(job, period=0.1, retries=600), cl.GetJobStatus(job)
  yield rc
  rc.destroy()


@pytest.fixture(scope="module")
def cl(cluster):
  return cluster.Client()


def _Create(c):
  return c.CreateInstance("create", "newinst", "diskless", [], [NIC], dry_run=True,
                          os="minimal+default", pnode="node1", ip_check=False,
                          name_check=False, beparams={"vcpus": 2})


def _MultiAlloc(c):
  return c.InstancesMultiAlloc([{"name": "m1", "mode": "create", "disk_template": "diskless",
                                 "disks": [], "nics": [NIC], "os": "minimal+default"}],
                               iallocator="hail")


# (call, [(OP_ID, parameters the opcode must carry)], rlib2 resource name)
MUTATIONS = {
  "RedistributeConfig": (lambda c: c.RedistributeConfig(),
                         [("OP_CLUSTER_REDIST_CONF", {})], "redist_config"),
  "ModifyCluster": (lambda c: c.ModifyCluster(candidate_pool_size=7, reason="why"),
                    [("OP_CLUSTER_SET_PARAMS", {"candidate_pool_size": 7})], "cluster_modify"),
  "AddClusterTags": (lambda c: c.AddClusterTags(["t1", "t2"], dry_run=True),
                     [("OP_TAGS_SET", {"kind": "cluster", "tags": ["t1", "t2"],
                                       "dry_run": True})], "tags"),
  "DeleteClusterTags": (lambda c: c.DeleteClusterTags(["t1"], dry_run=True),
                        [("OP_TAGS_DEL", {"kind": "cluster", "tags": ["t1"]})], "tags"),
  "CreateInstance": (_Create, [("OP_INSTANCE_CREATE", {
    "instance_name": "newinst", "mode": "create", "disk_template": "diskless", "disks": [],
    "nics": [NIC], "os_type": "minimal+default", "pnode": "node1", "dry_run": True,
    "ip_check": False, "name_check": False, "beparams": {"vcpus": 2}})], "instances"),
  "InstancesMultiAlloc": (_MultiAlloc, [("OP_INSTANCE_MULTI_ALLOC", {"iallocator": "hail"})],
                          "instances_multi_alloc"),
  "DeleteInstance": (lambda c: c.DeleteInstance("noinst", dry_run=True, shutdown_timeout=5),
                     [("OP_INSTANCE_REMOVE", {"instance_name": "noinst", "dry_run": True,
                                              "shutdown_timeout": 5})], "instances_name"),
  "GetInstanceInfo": (lambda c: c.GetInstanceInfo("inst1", static=True),
                      [("OP_INSTANCE_QUERY_DATA", {"instances": ["inst1"], "static": True,
                                                   "use_locking": False})],
                      "instances_name_info"),
  "RebootInstance": (lambda c: c.RebootInstance("noinst", reboot_type="soft",
                                                ignore_secondaries=True, dry_run=True),
                     [("OP_INSTANCE_REBOOT", {"instance_name": "noinst", "reboot_type": "soft",
                                              "ignore_secondaries": True})],
                     "instances_name_reboot"),
  "ShutdownInstance": (lambda c: c.ShutdownInstance("noinst", dry_run=True, no_remember=True,
                                                    timeout=30),
                       [("OP_INSTANCE_SHUTDOWN", {"instance_name": "noinst",
                                                  "no_remember": True, "timeout": 30})],
                       "instances_name_shutdown"),
  "StartupInstance": (lambda c: c.StartupInstance("noinst", dry_run=True, no_remember=True),
                      [("OP_INSTANCE_STARTUP", {"instance_name": "noinst", "force": False,
                                                "no_remember": True, "dry_run": True})],
                      "instances_name_startup"),
  "ReinstallInstance": (lambda c: c.ReinstallInstance("noinst", os="minimal+blank",
                                                      osparams={"a": "b"}),
                        [("OP_INSTANCE_SHUTDOWN", {"instance_name": "noinst"}),
                         ("OP_INSTANCE_REINSTALL", {"instance_name": "noinst",
                                                    "os_type": "minimal+blank",
                                                    "osparams": {"a": "b"}}),
                         ("OP_INSTANCE_STARTUP", {"instance_name": "noinst"})],
                        "instances_name_reinstall"),
  "ReinstallInstanceNoStart": (lambda c: c.ReinstallInstance("noinst", no_startup=True),
                               [("OP_INSTANCE_SHUTDOWN", {}), ("OP_INSTANCE_REINSTALL", {})],
                               "instances_name_reinstall"),
  # as in Ganeti, early_release counts only in the body, not in the query the client sends
  "ReplaceInstanceDisks": (lambda c: c.ReplaceInstanceDisks(
    "noinst", disks=[0, 1], mode=rapi_client.REPLACE_DISK_SECONDARY, early_release=True),
    [("OP_INSTANCE_REPLACE_DISKS", {"disks": [0, 1], "mode": "replace_on_secondary",
                                    "early_release": False})], "instances_name_replace_disks"),
  # Ganeti sets dry_run (false unless asked) where the resource takes it, and
  # leaves it out where it does not (it ignores dry-run there)
  "AddNodeTagsNoDryRun": (lambda c: c.AddNodeTags("nonode", ["b"]),
                          [("OP_TAGS_SET", {"dry_run": False})], "nodes_name_tags"),
  "MigrateNodeIgnoresDryRun": (lambda c: c.MigrateNode("nonode", dry_run=True),
                               [("OP_NODE_MIGRATE", {"dry_run": None})], "nodes_name_migrate"),
  "ActivateInstanceDisks": (lambda c: c.ActivateInstanceDisks("noinst", ignore_size=True),
                            [("OP_INSTANCE_ACTIVATE_DISKS", {"ignore_size": True})],
                            "instances_name_activate_disks"),
  "DeactivateInstanceDisks": (lambda c: c.DeactivateInstanceDisks("noinst", force=True),
                              [("OP_INSTANCE_DEACTIVATE_DISKS", {"force": True})],
                              "instances_name_deactivate_disks"),
  "RecreateInstanceDisks": (lambda c: c.RecreateInstanceDisks("noinst", disks=[0],
                                                              nodes=["node1"]),
                            [("OP_INSTANCE_RECREATE_DISKS", {"disks": [0],
                                                             "nodes": ["node1"]})],
                            "instances_name_recreate_disks"),
  "GrowInstanceDisk": (lambda c: c.GrowInstanceDisk("noinst", 1, 1024, wait_for_sync=False),
                       [("OP_INSTANCE_GROW_DISK", {"instance_name": "noinst", "disk": 1,
                                                   "amount": 1024, "wait_for_sync": False})],
                       "instances_name_disk_grow"),
  "AddInstanceTags": (lambda c: c.AddInstanceTags("noinst", ["a"], dry_run=True),
                      [("OP_TAGS_SET", {"kind": "instance", "name": "noinst", "tags": ["a"]})],
                      "instances_name_tags"),
  "DeleteInstanceTags": (lambda c: c.DeleteInstanceTags("noinst", ["a"]),
                         [("OP_TAGS_DEL", {"kind": "instance", "name": "noinst"})],
                         "instances_name_tags"),
  "PrepareExport": (lambda c: c.PrepareExport("noinst", "remote"),
                    [("OP_BACKUP_PREPARE", {"instance_name": "noinst", "mode": "remote"})],
                    "instances_name_prepare_export"),
  "ExportInstance": (lambda c: c.ExportInstance("noinst", "local", "node1", shutdown=False),
                     [("OP_BACKUP_EXPORT", {"target_node": "node1", "mode": "local",
                                            "shutdown": False})], "instances_name_export"),
  "MigrateInstance": (lambda c: c.MigrateInstance("noinst", mode="live", cleanup=True),
                      [("OP_INSTANCE_MIGRATE", {"mode": "live", "cleanup": True})],
                      "instances_name_migrate"),
  "FailoverInstance": (lambda c: c.FailoverInstance("noinst", target_node="node1",
                                                    ignore_consistency=True),
                       [("OP_INSTANCE_FAILOVER", {"target_node": "node1",
                                                  "ignore_consistency": True})],
                       "instances_name_failover"),
  "RenameInstance": (lambda c: c.RenameInstance("noinst", "noinst2", ip_check=False,
                                                name_check=False),
                     [("OP_INSTANCE_RENAME", {"instance_name": "noinst", "new_name": "noinst2",
                                              "ip_check": False, "name_check": False})],
                     "instances_name_rename"),
  "ModifyInstance": (lambda c: c.ModifyInstance("noinst", beparams={"vcpus": 2}),
                     [("OP_INSTANCE_SET_PARAMS", {"beparams": {"vcpus": 2}})],
                     "instances_name_modify"),
  "EvacuateNode": (lambda c: c.EvacuateNode("nonode", iallocator="hail", mode="all",
                                            dry_run=True),
                   [("OP_NODE_EVACUATE", {"node_name": "nonode", "iallocator": "hail",
                                          "mode": "all"})], "nodes_name_evacuate"),
  "MigrateNode": (lambda c: c.MigrateNode("nonode", mode="non-live", target_node="node1"),
                  [("OP_NODE_MIGRATE", {"node_name": "nonode", "mode": "non-live",
                                        "target_node": "node1"})], "nodes_name_migrate"),
  "SetNodeRoleDrained": (lambda c: c.SetNodeRole("nonode", "drained"),
                         [("OP_NODE_SET_PARAMS", {"node_name": "nonode", "drained": True,
                                                  "auto_promote": False, "force": False})],
                         "nodes_name_role"),
  "SetNodeRoleRegular": (lambda c: c.SetNodeRole("nonode", "regular", force=True),
                         [("OP_NODE_SET_PARAMS", {"master_candidate": False, "offline": False,
                                                  "drained": False, "force": True})],
                         "nodes_name_role"),
  "SetNodeRoleCandidate": (lambda c: c.SetNodeRole("nonode", "master-candidate",
                                                   auto_promote=True),
                           [("OP_NODE_SET_PARAMS", {"master_candidate": True,
                                                    "auto_promote": True})],
                           "nodes_name_role"),
  "PowercycleNode": (lambda c: c.PowercycleNode("nonode", force=True),
                     [("OP_NODE_POWERCYCLE", {"node_name": "nonode", "force": True})],
                     "nodes_name_powercycle"),
  "ModifyNode": (lambda c: c.ModifyNode("nonode", offline=True),
                 [("OP_NODE_SET_PARAMS", {"node_name": "nonode", "offline": True})],
                 "nodes_name_modify"),
  "GetNodeStorageUnits": (lambda c: c.GetNodeStorageUnits("node1", "file", ["name", "size"]),
                          [("OP_NODE_QUERY_STORAGE", {"nodes": ["node1"],
                                                      "storage_type": "file",
                                                      "output_fields": ["name", "size"]})],
                          "nodes_name_storage"),
  "ModifyNodeStorageUnits": (lambda c: c.ModifyNodeStorageUnits("nonode", "lvm-pv", "/dev/x",
                                                                allocatable=False),
                             [("OP_NODE_MODIFY_STORAGE", {"storage_type": "lvm-pv",
                                                          "name": "/dev/x",
                                                          "changes": {"allocatable": False}})],
                             "nodes_name_storage_modify"),
  "RepairNodeStorageUnits": (lambda c: c.RepairNodeStorageUnits("nonode", "lvm-vg", "xenvg"),
                             [("OP_REPAIR_NODE_STORAGE", {"storage_type": "lvm-vg",
                                                          "name": "xenvg"})],
                             "nodes_name_storage_repair"),
  "AddNodeTags": (lambda c: c.AddNodeTags("nonode", ["a"]),
                  [("OP_TAGS_SET", {"kind": "node", "name": "nonode"})], "nodes_name_tags"),
  "DeleteNodeTags": (lambda c: c.DeleteNodeTags("nonode", ["a"]),
                     [("OP_TAGS_DEL", {"kind": "node", "name": "nonode"})], "nodes_name_tags"),
  "CreateGroup": (lambda c: c.CreateGroup("newgroup", alloc_policy="last_resort",
                                          dry_run=True),
                  [("OP_GROUP_ADD", {"group_name": "newgroup", "alloc_policy": "last_resort",
                                     "dry_run": True})], "groups"),
  "ModifyGroup": (lambda c: c.ModifyGroup("nogroup", alloc_policy="unallocable"),
                  [("OP_GROUP_SET_PARAMS", {"group_name": "nogroup",
                                            "alloc_policy": "unallocable"})],
                  "groups_name_modify"),
  "DeleteGroup": (lambda c: c.DeleteGroup("nogroup", dry_run=True),
                  [("OP_GROUP_REMOVE", {"group_name": "nogroup"})], "groups_name"),
  "RenameGroup": (lambda c: c.RenameGroup("nogroup", "g2"),
                  [("OP_GROUP_RENAME", {"group_name": "nogroup", "new_name": "g2"})],
                  "groups_name_rename"),
  "AssignGroupNodes": (lambda c: c.AssignGroupNodes("nogroup", ["node1"], force=True,
                                                    dry_run=True),
                       [("OP_GROUP_ASSIGN_NODES", {"group_name": "nogroup",
                                                   "nodes": ["node1"], "force": True})],
                       "groups_name_assign_nodes"),
  "AddGroupTags": (lambda c: c.AddGroupTags("nogroup", ["a"]),
                   [("OP_TAGS_SET", {"kind": "nodegroup", "name": "nogroup"})],
                   "groups_name_tags"),
  "DeleteGroupTags": (lambda c: c.DeleteGroupTags("nogroup", ["a"]),
                      [("OP_TAGS_DEL", {"kind": "nodegroup", "name": "nogroup"})],
                      "groups_name_tags"),
  "CreateNetwork": (lambda c: c.CreateNetwork("newnet", "10.1.0.0/24", gateway="10.1.0.1",
                                              dry_run=True),
                    [("OP_NETWORK_ADD", {"network_name": "newnet", "network": "10.1.0.0/24",
                                         "gateway": "10.1.0.1"})], "networks"),
  "ConnectNetwork": (lambda c: c.ConnectNetwork("nonet", "default", "bridged", "br0"),
                     [("OP_NETWORK_CONNECT", {"network_name": "nonet", "group_name": "default",
                                              "network_mode": "bridged",
                                              "network_link": "br0"})],
                     "networks_name_connect"),
  "DisconnectNetwork": (lambda c: c.DisconnectNetwork("nonet", "default"),
                        [("OP_NETWORK_DISCONNECT", {"network_name": "nonet",
                                                    "group_name": "default"})],
                        "networks_name_disconnect"),
  "ModifyNetwork": (lambda c: c.ModifyNetwork("nonet", gateway="10.1.0.2"),
                    [("OP_NETWORK_SET_PARAMS", {"network_name": "nonet",
                                                "gateway": "10.1.0.2"})],
                    "networks_name_modify"),
  "DeleteNetwork": (lambda c: c.DeleteNetwork("nonet", dry_run=True),
                    [("OP_NETWORK_REMOVE", {"network_name": "nonet"})], "networks_name"),
  "AddNetworkTags": (lambda c: c.AddNetworkTags("nonet", ["a"]),
                     [("OP_TAGS_SET", {"kind": "network", "name": "nonet"})],
                     "networks_name_tags"),
  "DeleteNetworkTags": (lambda c: c.DeleteNetworkTags("nonet", ["a"]),
                        [("OP_TAGS_DEL", {"kind": "network", "name": "nonet"})],
                        "networks_name_tags"),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_mutation_becomes_ganetis_opcode(cl, name):
  call, expected, resource_name = MUTATIONS[name]
  job_id = call(cl)
  assert isinstance(job_id, int)
  ops = cl.GetJobStatus(job_id)["ops"]
  assert [op["OP_ID"] for op in ops] == [op_id for op_id, _ in expected]
  for op, (_, params) in zip(ops, expected):
    assert {key: op.get(key) for key in params} == params
    sources = [entry[0] for entry in op["reason"]]
    assert "gnt:library:rlib2:%s" % resource_name in sources


def test_multi_alloc_carries_instance_creation_opcodes(cl):
  ops = cl.GetJobStatus(_MultiAlloc(cl))["ops"]
  (inst,) = ops[0]["instances"]
  assert inst["OP_ID"] == "OP_INSTANCE_CREATE"
  assert (inst["instance_name"], inst["os_type"]) == ("m1", "minimal+default")


def test_user_reason_comes_first_in_the_trail(cl):
  op = cl.GetJobStatus(cl.ModifyCluster(candidate_pool_size=7, reason="why"))["ops"][0]
  assert op["reason"][0][:2] == ["gnt:user", "why"]
  assert op["reason"][1][:2] == ["gnt:library:rlib2:cluster_modify", ""]


def test_every_mutating_resource_is_covered():
  """Each method that submits an opcode of the table is exercised above."""
  covered = {op_id for _, ops, _ in MUTATIONS.values() for op_id, _ in ops}
  table = {method.opcode for res in resources.RESOURCES for method in res.methods.values()
           if method.opcode and method.handler not in ("console",)}
  assert table - covered == set()


def test_cluster_reads(cl, cluster):
  assert cl.GetVersion() == 2
  assert set(cl.GetFeatures()) == set(resources.FEATURES)
  assert cl.GetOperatingSystems() == ["minimal+blank", "minimal+default"]
  info = cl.GetInfo()
  assert info["name"] == "cluster" and info["master"] == "node1"
  # keys in Ganeti 3.0's order, its aliases last
  assert list(info)[:3] == ["software_version", "protocol_version", "config_version"]
  assert list(info)[-2:] == ["vg_name", "drbd_helper"] and len(info) == 57
  assert cl.GetClusterTags() == []
  assert cluster.Request("GET", "/")[2] is None
  assert cluster.Request("GET", "/2")[2] is None


def test_instance_reads(cl):
  assert cl.GetInstances() == ["inst1"]
  (bulk,) = cl.GetInstances(bulk=True)
  assert tuple(bulk) == resources.INSTANCE_FIELDS
  assert bulk["name"] == "inst1" and bulk["pnode"] == "node1" and bulk["status"] == "running"
  assert cl.GetInstance("inst1") == bulk
  assert cl.GetInstanceTags("inst1") == []
  console = cl.GetInstanceConsole("inst1")
  assert console["instance"] == "inst1" and console["kind"] == "msg"
  with pytest.raises(rapi_client.GanetiApiError) as err:
    cl.GetInstance("noinst")
  assert err.value.code == 404


def test_node_group_network_reads(cl):
  assert cl.GetNodes() == ["node1"]
  (node,) = cl.GetNodes(bulk=True)
  assert tuple(node) == resources.NODE_FIELDS and node["role"] == "M"
  # the node's free memory and disk are read live on each request
  live = {"mfree", "mnode", "dfree", "spfree"}
  single = cl.GetNode("node1")
  assert set(single) == set(node)
  assert {key: value for key, value in single.items() if key not in live} == \
    {key: value for key, value in node.items() if key not in live}
  assert cl.GetNodeRole("node1") == "master"
  assert cl.GetNodeTags("node1") == []
  assert cl.GetGroups() == ["default"]
  (group,) = cl.GetGroups(bulk=True)
  assert tuple(group) == resources.GROUP_FIELDS and group["node_list"] == ["node1"]
  assert cl.GetGroup("default") == group
  assert cl.GetGroupTags("default") == []
  assert cl.GetNetworks() == [] and cl.GetNetworks(bulk=True) == []


def test_network_reads(cl):
  job = cl.CreateNetwork("net1", "10.2.0.0/28")
  assert cl.WaitForJobCompletion(job, period=0.1, retries=600)
  assert cl.GetNetworks() == ["net1"]
  (net,) = cl.GetNetworks(bulk=True)
  assert tuple(net) == resources.NETWORK_FIELDS and net["network"] == "10.2.0.0/28"
  assert cl.GetNetwork("net1") == net
  assert cl.GetNetworkTags("net1") == []


def test_jobs(cl):
  job = cl.RedistributeConfig()
  assert cl.WaitForJobCompletion(job, period=0.1, retries=600)
  assert job in cl.GetJobs()
  bulk = {entry["id"]: entry for entry in cl.GetJobs(bulk=True)}
  assert tuple(bulk[job]) == resources.JOB_FIELDS_BULK
  status = cl.GetJobStatus(job)
  assert tuple(status) == resources.JOB_FIELDS and status["status"] == "success"
  change = cl.WaitForJobChange(job, ["status"], None, None)
  assert change["job_info"] == ["success"]
  # a finished job answers at once, as in Ganeti
  assert cl.WaitForJobChange(job, ["status"], ["success"], 10**6)["log_entries"] == []
  assert cl.CancelJob(job)[0] is False
  unknown = cl.GetJobStatus(10**6)
  assert unknown["id"] == 10**6 and unknown["status"] is None


def test_queries(cl):
  answer = cl.Query("node", ["name", "role"])
  assert answer["data"] == [[[0, "node1"], [0, "M"]]]
  filtered = cl.Query("instance", ["name"], ["|", ["=", "name", "inst1"], ["=", "os", "x"]])
  assert filtered["data"] == [[[0, "inst1"]]]
  with pytest.raises(rapi_client.GanetiApiError) as err:  # Ganeti answers 500 here
    cl.Query("instance", ["name"], ["=", "name", "nosuch"])
  assert err.value.code == 404
  fields = cl.QueryFields("instance", ["name", "status"])["fields"]
  assert [field["name"] for field in fields] == ["name", "status"]
  assert len(cl.QueryFields("node")["fields"]) > 20


def test_filters(cl):
  uuid = cl.AddFilter(5, [["jobid", ["=", "id", -1]]], "CONTINUE")
  assert cl.GetFilters() == [uuid]
  rule = cl.GetFilter(uuid)
  assert tuple(rule) == resources.FILTER_FIELDS and rule["priority"] == 5
  assert cl.ReplaceFilter(uuid, 6, [], "CONTINUE") == uuid
  assert cl.GetFilters(bulk=True)[0]["priority"] == 6
  assert cl.DeleteFilter(uuid) is None
  assert cl.GetFilters() == []
