"""The QA steps, in the order a run takes them: real commands over SSH on the nodes,
each with its output checked.

A step is a list of commands (data: where it runs, the command line, what
its output must and must not show; see qa.step_base) or a function for
steps that move data between nodes or need the VMs themselves
(qa.steps_storage, qa.steps_recovery, qa.steps_backup, qa.steps_bad_input).
"""

from qa.step_base import Command, Context, _Expanded  # noqa: F401 (this module's interface)
from qa.steps_backup import InstanceAdopt, InstanceExportImport
from qa.steps_bad_input import BadInput
from qa.steps_recovery import InstanceCrashFailover, MasterFailover
from qa.steps_storage import StorageDrbd, StorageDrbdCrash, StorageLv

# The cluster as the steps set it up (and the benchmarks set up Debian's
# Ganeti beside it); {init_options} is for options of one of them alone.
CLUSTER_INIT = ("gnt-cluster init{init_options} --enabled-hypervisors={hypervisors}{hv_params}"
                " --enabled-disk-templates={templates} --vg-name={vg}"
                " --drbd-usermode-helper={drbd_helper} --master-netdev={master_netdev}"
                " --no-etc-hosts {cluster}")
# test disks stay below the default minimum disk size: DRBD syncs at ~10 MB/s
# between emulated nodes
TEST_DISKS_IPOLICY = (
  "gnt-cluster modify --ipolicy-bounds-specs"
  " min:disk-size=64,memory-size=128,cpu-count=1,disk-count=1,nic-count=1,"
  "spindle-use=1/max:disk-size=1048576,memory-size=32768,cpu-count=8,"
  "disk-count=16,nic-count=8,spindle-use=12")

# --- the steps, in the order a run takes them ---------------------------------------

STEPS: list[tuple[str, object]] = [
  ("node-setup", [
    Command("pvcreate -q -y /dev/vdb && vgcreate -q {vg} /dev/vdb && vgs --noheadings -o name",
            on="all", expect=(r"^\s*{vg}\s*$",)),
    Command("grep -E '^(dm_mod|drbd|kvm_amd|kvm_intel) ' /proc/modules; cat /proc/drbd",
            on="all", expect=(r"^drbd ", r"^dm_mod ", r"version: 8\.4\.")),
  ]),
  ("storage-lv", StorageLv),
  ("storage-drbd", StorageDrbd),
  ("storage-drbd-crash", StorageDrbdCrash),
  ("cluster-init", [
    Command(CLUSTER_INIT),
    Command("gnt-cluster getmaster", expect=(r"^{master}$",)),
    # the master daemon brings the master IP up as it starts (bounded wait)
    Command("for i in $(seq 30); do ip -o address show dev {master_netdev} |"
            " grep -q ' {cluster_ip}/' && break; sleep 1; done;"
            " ip -o address show dev {master_netdev}", expect=(r" {cluster_ip}/",)),
    Command(TEST_DISKS_IPOLICY),
  ]),
  ("node-add", [
    # the nodes' host keys are not in the cluster's known_hosts yet (as in Ganeti's QA)
    Command("gnt-node add --no-ssh-key-check {node2}"),
    Command("gnt-node add --no-ssh-key-check {node3}"),
    Command("gnt-node list --no-headers -o name", expect=(r"^{node2}$", r"^{node3}$")),
  ]),
  ("cluster-verify", [
    Command("gnt-cluster verify", reject=(r"ERROR", r"Traceback")),
  ]),
  ("instance-file-kvm", [
    # a KVM instance inside a node (nested KVM: the node's /dev/kvm over TCG);
    # its guest never handles ACPI, hence no shutdown timeout on removal
    Command("gnt-instance add -t file -s {file_disk_size} -o minimal+default"
            " -B memory={file_memory} -n {master} --no-name-check --no-ip-check"
            " {file_instance}"),
    Command("gnt-instance list --no-headers -o name,status,oper_state {file_instance}",
            expect=(r"^{file_instance}\s+running\s+Y\s*$",)),
    Command("ps -o args= -p \"$(cat /var/run/ganeti/kvm-hypervisor/pid/{file_instance})\"",
            expect=(r"^\S*(kvm|qemu-system-x86_64) -name {file_instance}"
                    r" .*(accel=kvm|-accel kvm\b)",)),
    Command("gnt-instance remove -f --shutdown-timeout=0 {file_instance}"),
    Command("gnt-instance list --no-headers -o name", reject=(r"{file_instance}",)),
  ]),
  ("node-storage", [
    Command("gnt-node list-storage --no-headers -t lvm-vg", expect=(r"{vg}",)),
    Command("gnt-node volumes"),
  ]),
]

# Instance steps: their commands are data of the config's instances
_ADD = ("gnt-instance add -t {template} -s {disk_size} -o {os} -B memory=128M"
        " --no-name-check --no-ip-check")
INSTANCE_STEPS: dict[str, list[Command]] = {
  "instance-add": [Command(_ADD + " -n {nodes_arg} {instance}"),
                   Command("gnt-instance list --no-headers -o name,status {instance}",
                           expect=(r"running",))],
  "instance-add-iallocator": [Command(_ADD + " -I hail {instance}")],
  # back to one primary: the source's node told DRBD, which passed it on
  "instance-migrate": [Command("gnt-instance migrate -f {instance}"),
                       Command("drbdsetup show", on="all",
                               reject=(r"allow-two-primaries", r"^ERROR:"))],
  "instance-failover": [Command("gnt-instance failover -f --shutdown-timeout=10 {instance}")],
  # a failover just before leaves the mirror resyncing (seconds on emulated
  # nodes), and replace-disks refuses degraded storage
  "instance-replace-disks": [Command("gnt-instance activate-disks --wait-for-sync {instance}"),
                             Command("gnt-instance replace-disks -s {instance}"),
                             Command("gnt-instance replace-disks -p {instance}")],
  "instance-grow-disk": [Command("gnt-instance grow-disk {instance} 0 64M")],
  "instance-remove": [Command("gnt-instance remove -f --shutdown-timeout=10 {instance}")],
}


# Steps on the cluster as a whole, after the instance steps
LATER_STEPS: list[tuple[str, object]] = [
  ("instance-export-import", InstanceExportImport),
  ("instance-adopt", InstanceAdopt),
  ("master-failover", MasterFailover),
  ("bad-input", BadInput),
  ("instance-crash-failover", InstanceCrashFailover),
  ("final-verify", [
    Command("gnt-cluster verify", reject=(r"ERROR", r"Traceback")),
    Command("gnt-cluster verify-disks", reject=(r"ERROR", r"Traceback")),
  ]),
]


def StepNames() -> list[str]:
  return ([name for name, _ in STEPS] + list(INSTANCE_STEPS) +
          [name for name, _ in LATER_STEPS])


def RunStep(ctx: Context, name: str) -> None:
  body: object = dict(STEPS + LATER_STEPS).get(name)
  if callable(body):
    body(ctx)
    return
  if body is not None:
    for command in body:
      ctx.Run(command)
    return
  for instance in ctx.config.get("instances", []):
    if name in instance.get("tests", []):
      nodes = [ctx.cluster.Node(node).name for node in instance.get("nodes", [])]
      extra = {"instance": instance["name"], "template": instance["template"],
               "disk_size": instance.get("disk-size", "256M"),
               "os": instance.get("os", "minimal+default"), "nodes_arg": ":".join(nodes)}
      for command in INSTANCE_STEPS[name]:
        ctx.Run(command, extra)
