"""The KVM hypervisor: instances are qemu processes on this node.

Each instance has a pid file, a QMP control socket, a serial console socket
and a runtime file below /var/run/ganeti/kvm-hypervisor/ (see runtime).  A
start opens the taps, launches qemu paused, brings the taps into the network
(ifup) and continues the guest over QMP.  Without usable hardware KVM the
guest runs under TCG emulation.
"""

import logging
import os
import signal
import subprocess
import time
from typing import Any, Optional

from ganeti import constants
from ganeti import errors
from ganeti import objects
from ganeti import paramdefs
from ganeti import uidpool
from ganeti.hypervisor import hv_base
from ganeti.hypervisor.hv_kvm import cmdline
from ganeti.hypervisor.hv_kvm import hotplug
from ganeti.hypervisor.hv_kvm import migration
from ganeti.hypervisor.hv_kvm import netdev
from ganeti.hypervisor.hv_kvm import params
from ganeti.hypervisor.hv_kvm import qmp
from ganeti.hypervisor.hv_kvm import runtime as rt
from ganeti.hypervisor.hv_kvm.runtime import InstanceFiles
from ganeti.utils import cmdtrace
from ganeti.utils import io

SOCAT_PATH = "/usr/bin/socat"
SOCAT_ESCAPE = "STDIO,raw,echo=0,escape=0x1d"  # Ctrl-] leaves the console
CONSOLE_USER = "root"
START_TIMEOUT = 60
# how long a killed qemu may take to disappear
KILL_WAIT = 10.0
_POLL = 0.05
# a qemu told to quit ends within a tenth of a second or two: looked at
# often at first, and then every _EXIT_POLL (one small /proc read)
_FIRST_POLL = 0.005
_EXIT_POLL = 0.02
# A status question about an active migration is answered when it ends, or
# after this long at most: the master learns of the end at once (qemu tells
# it; one that does not is asked every _POLL), instead of after a pause of
# its own.  As long as the master's interval between progress reports: each
# question more costs a round trip.
_MIGRATION_STATUS_WAIT = 1.0
MIB = 1024 * 1024


def _WaitGone(name: str, pid: int, files: InstanceFiles, timeout: float,
              quit_on_shutdown: bool = False) -> bool:
  """Waits until the instance's qemu (pid) has ended, its memory and files
  (the instance's disks) released; True when it has.  With
  quit_on_shutdown, a qemu kept alive by -no-shutdown is told to quit once
  its guest powered off.  Traced as a wait: the hypervisor's own time."""
  deadline = time.monotonic() + timeout
  pause = _FIRST_POLL
  with cmdtrace.Span("wait", ["qemu exit", name]) as traced:
    while not rt.HasEnded(pid, name):
      if quit_on_shutdown and _QmpStatus(files) == "shutdown":
        _QmpQuietly(files, "quit")
      if time.monotonic() >= deadline:
        traced.ok = False
        return False
      time.sleep(pause)
      pause = min(_EXIT_POLL, pause * 2)
  return True


def _QmpStatus(files: InstanceFiles) -> Optional[str]:
  try:
    return qmp.Execute(files.qmp, "query-status", timeout=2).get("status")
  except errors.HypervisorError:
    return None


def _Resume(conn: Any) -> None:
  """Lets a paused guest run again (after a migration's end or its rollback)."""
  if conn.Execute("query-status").get("status") != "running":
    conn.Execute("cont")


def _QmpQuietly(files: InstanceFiles, command: str, arguments: Optional[dict] = None) -> None:
  try:
    qmp.Execute(files.qmp, command, arguments, timeout=5)
  except errors.HypervisorError as err:
    logging.debug("QMP %s on %s failed: %s", command, files.qmp, err)


def _PinCpus(pid: int, files: InstanceFiles, cpu_mask: str) -> None:
  """Applies cpu_mask: one list for the whole process, or one per vCPU."""
  masks = cpu_mask.split(":")
  if len(masks) == 1:
    cpus = params.ParseCpuMask(masks[0])
    if cpus is not None:
      for task in os.listdir("/proc/%d/task" % pid):
        os.sched_setaffinity(int(task), cpus)
    return
  threads = [cpu["thread-id"] for cpu in qmp.Execute(files.qmp, "query-cpus-fast")]
  for thread, mask in zip(threads, masks):
    cpus = params.ParseCpuMask(mask)
    if cpus is not None:
      os.sched_setaffinity(thread, cpus)


def _OpenTap(runtime: dict, nic: dict) -> tuple[str, list[int]]:
  hvp = runtime["hvparams"]
  return netdev.OpenTap(bool(hvp.get("vnet_hdr", True)), hvp.get("virtio_net_queues") or 1,
                        netdev.TapName(runtime["uuid"], cmdline.DeviceNumber(nic)))


def _WriteNicFiles(files: InstanceFiles, runtime: dict) -> None:
  """One file per NIC index naming its tap (and none past the last)."""
  os.makedirs(files.nic_dir, exist_ok=True)
  for name in os.listdir(files.nic_dir):
    if not name.isdigit() or int(name) >= len(runtime["taps"]):
      os.unlink(os.path.join(files.nic_dir, name))
  for index, tap in enumerate(runtime["taps"]):
    io.WriteFile(os.path.join(files.nic_dir, str(index)), tap + "\n")


def _FindDevice(items: list[dict], device: Any, what: str) -> int:
  """The runtime index of a NIC or disk, by its UUID."""
  for index, item in enumerate(items):
    if item.get("uuid") and item["uuid"] == device.uuid:
      return index
  raise errors.HotplugError("%s %s is not plugged into the instance" % (what, device.uuid))


class KvmHypervisor(hv_base.BaseHypervisor):
  """qemu/KVM instances on this node."""

  NAME = constants.HT_KVM
  PARAMETERS = params.PARAMETERS
  CAN_MIGRATE = True

  # --- parameters ---

  @classmethod
  def CheckParameterSyntax(cls, hvparams: dict) -> None:
    params.CheckSyntax(hvparams)

  def ValidateParameters(self, hvparams: dict) -> None:
    params.CheckNode(hvparams)

  # --- building and launching ---

  @staticmethod
  def _NewRuntime(instance: objects.Instance, block_devices: list, memory: int) -> dict:
    return {
      "name": instance.name,
      "uuid": instance.uuid,
      "hvparams": dict(instance.hvparams),
      "memory": memory,
      "balloon": memory,
      "vcpus": instance.beparams[paramdefs.BE_VCPUS],
      "network_port": instance.network_port,
      "nics": [nic.ToDict() for nic in instance.nics or ()],
      "disks": [[disk.ToDict(), link, uri] for disk, link, uri in block_devices],
    }

  def _Launch(self, instance: objects.Instance, runtime: dict, paused: bool,
              incoming: Optional[str] = None) -> None:
    """Starts qemu for a runtime: taps, process, ifup, pinning, then
    continues the guest unless paused or receiving a migration."""
    name = runtime["name"]
    hvp = runtime["hvparams"]
    rt.EnsureDirs()
    files = InstanceFiles.For(name)
    if rt.LivePid(name, files):
      raise errors.HypervisorError("Failed to start instance %s: already running" % name)
    params.CheckNode(hvp)
    params.CheckCpuMaskAgainstVcpus(hvp.get("cpu_mask") or "all", runtime["vcpus"])
    accel = cmdline.ChooseAccelerator(hvp.get("kvm_flag") or "")
    cmdline.AssignDevices(runtime)
    taps: list[tuple[str, list[int]]] = []
    pool_uid = None
    try:
      if hvp["security_model"] == params.SM_POOL:
        pool_uid = uidpool.RequestUnusedUid(uidpool.NodePool())
        io.WriteFile(files.uid, "%d\n" % pool_uid.uid)
      for nic in runtime["nics"]:
        taps.append(_OpenTap(runtime, nic))
      argv = cmdline.BuildCommand(runtime, files, accel, [fds for _, fds in taps],
                                  incoming, pool_uid=pool_uid.uid if pool_uid else None)
      runtime = dict(runtime, argv=argv, accel=accel, taps=[tap for tap, _ in taps])
      rt.SaveRuntime(files, runtime)
      if hvp.get("use_chroot"):
        os.makedirs(files.chroot, exist_ok=True)
      self._RunQemu(name, argv, [fd for _, fds in taps for fd in fds])
    finally:
      for _, fds in taps:
        for fd in fds:
          os.close(fd)
      if pool_uid:
        # from now on the running qemu is what marks the uid as used
        pool_uid.Unlock()
        if rt.LivePid(name, files) is None:
          files.Remove()
    try:
      self._AfterLaunch(instance, runtime, files, paused or incoming is not None)
    except (errors.HypervisorError, OSError) as err:
      pid = rt.LivePid(name, files)
      if pid:
        rt.Kill(pid)
        _WaitGone(name, pid, files, KILL_WAIT)
      files.Remove()
      raise errors.HypervisorError("Failed to start instance %s: %s" % (name, err)) from None

  @staticmethod
  def _RunQemu(name: str, argv: list[str], fds: list[int]) -> None:
    try:
      proc = cmdtrace.RunProcess(argv, pass_fds=fds, stdin=subprocess.DEVNULL,
                                 capture_output=True, text=True, timeout=START_TIMEOUT, cwd="/")
    except (OSError, subprocess.TimeoutExpired) as err:
      InstanceFiles.For(name).Remove()
      raise errors.HypervisorError("Failed to start instance %s: %s" % (name, err)) from None
    if proc.returncode != 0:
      InstanceFiles.For(name).Remove()
      raise errors.HypervisorError("Failed to start instance %s: exited with exit code %d"
                                   " (%s)" % (name, proc.returncode,
                                              (proc.stderr or proc.stdout).strip()))

  def _AfterLaunch(self, instance: objects.Instance, runtime: dict, files: InstanceFiles,
                   keep_paused: bool) -> None:
    hvp = runtime["hvparams"]
    pid = rt.LivePid(runtime["name"], files)
    if pid is None:
      raise errors.HypervisorError("qemu exited right after its start")
    _WriteNicFiles(files, runtime)
    for index, (nic_dict, tap) in enumerate(zip(runtime["nics"], runtime["taps"])):
      netdev.Ifup(netdev.IfupEnvironment(instance, index, objects.NIC.FromDict(nic_dict),
                                         tap))
    if hvp.get("cpu_mask") and hvp["cpu_mask"] != "all":
      _PinCpus(pid, files, hvp["cpu_mask"])
    if keep_paused and not hvp.get("vnc_password_file"):
      return
    with qmp.QmpConnection(files.qmp) as conn:
      if hvp.get("vnc_password_file"):
        password = io.ReadFile(hvp["vnc_password_file"]).splitlines()[0].strip()
        conn.Execute("change-vnc-password", {"password": password})
      if not keep_paused:
        conn.Execute("cont")

  # --- lifecycle ---

  def StartInstance(self, instance: objects.Instance, block_devices: list,
                    startup_paused: bool) -> None:
    memory = self.StartupMemory(instance, self.GetNodeInfo()["memory_free"])
    self._Launch(instance, self._NewRuntime(instance, block_devices, memory),
                 startup_paused)

  def StopInstance(self, instance: objects.Instance, force: bool = False,
                   retry: bool = False, name: Optional[str] = None,
                   timeout: Optional[int] = None) -> None:
    name = rt.CheckName(name or instance.name)
    files = InstanceFiles.For(name)
    pid = rt.LivePid(name, files)
    if pid is None:
      return
    if force:
      rt.Kill(pid)
      if not _WaitGone(name, pid, files, KILL_WAIT):
        raise errors.HypervisorError("Failed to stop instance %s: qemu (pid %d) does not"
                                     " die" % (name, pid))
      return
    hvp = (instance.hvparams if instance and instance.hvparams else
           (rt.LoadRuntime(files) or {}).get("hvparams", {}))
    if hvp.get("acpi", True):
      _QmpQuietly(files, "system_powerdown")
    else:
      rt.Kill(pid, signal.SIGTERM)
    if timeout is None:
      timeout = constants.DEFAULT_SHUTDOWN_TIMEOUT
    if _WaitGone(name, pid, files, timeout, quit_on_shutdown=bool(hvp.get("user_shutdown"))):
      return
    logging.warning("Instance %s did not stop within %s seconds, destroying it",
                    name, timeout)
    rt.Kill(pid)
    if not _WaitGone(name, pid, files, KILL_WAIT):
      raise errors.HypervisorError("Failed to stop instance %s" % name)

  def CleanupInstance(self, instance_name: str) -> None:
    files = InstanceFiles.For(instance_name)
    if rt.LivePid(instance_name, files) is None:
      files.Remove()

  def RebootInstance(self, instance: objects.Instance) -> None:
    """A soft reboot: the guest shuts down and the same machine starts again."""
    files = InstanceFiles.For(instance.name)
    runtime = rt.LoadRuntime(files)
    if runtime is None or rt.LivePid(instance.name, files) is None:
      raise errors.HypervisorError("Failed to reboot instance %s: not running" %
                                   instance.name)
    self.StopInstance(instance)
    files.Remove()
    self._Launch(instance, runtime, paused=False)

  def BalloonInstanceMemory(self, instance: objects.Instance, mem: int) -> None:
    files = InstanceFiles.For(instance.name)
    runtime = rt.LoadRuntime(files)
    if runtime is None or rt.LivePid(instance.name, files) is None:
      raise errors.HypervisorError("Failed to balloon memory of instance %s: not"
                                   " running" % instance.name)
    qmp.Execute(files.qmp, "balloon", {"value": mem * MIB})
    runtime["balloon"] = mem
    rt.SaveRuntime(files, runtime)

  # --- inventory ---

  def ListInstances(self, hvparams: Optional[dict] = None) -> list[str]:
    return [name for name in rt.ListNames() if rt.LivePid(name)]

  def GetInstanceInfo(self, instance_name: str,
                      hvparams: Optional[dict] = None) -> Optional[hv_base.InstanceInfo]:
    files = InstanceFiles.For(instance_name)
    pid = rt.LivePid(instance_name, files)
    if pid is None:
      return None
    runtime = rt.LoadRuntime(files) or {}
    state = hv_base.HvInstanceState.RUNNING
    if runtime.get("hvparams", {}).get("user_shutdown") and \
        _QmpStatus(files) == "shutdown":
      state = hv_base.HvInstanceState.SHUTDOWN
    return hv_base.InstanceInfo(instance_name, str(pid),
                                runtime.get("balloon") or runtime.get("memory", 0),
                                runtime.get("vcpus", 1), state, rt.CpuSeconds(pid))

  def GetAllInstancesInfo(self, hvparams: Optional[dict] = None
                          ) -> list[hv_base.InstanceInfo]:
    infos = (self.GetInstanceInfo(name) for name in rt.ListNames())
    return [info for info in infos if info is not None]

  def GetNodeInfo(self, hvparams: Optional[dict] = None) -> dict:
    return hv_base.HostNodeInfo()

  def Verify(self, hvparams: Optional[dict] = None) -> Optional[str]:
    kvm_path = (hvparams or {}).get("kvm_path") or \
      paramdefs.HVC_DEFAULTS[constants.HT_KVM]["kvm_path"]
    if not (os.path.isfile(kvm_path) and os.access(kvm_path, os.X_OK)):
      return "The KVM binary ('%s') does not exist" % kvm_path
    return None

  def VerifyInstance(self, instance: objects.Instance) -> bool:
    return rt.LivePid(instance.name) is not None

  # --- migration ---

  def MigrationInfo(self, instance: objects.Instance) -> str:
    files = InstanceFiles.For(instance.name)
    runtime = rt.LoadRuntime(files)
    if runtime is None or rt.LivePid(instance.name, files) is None:
      raise errors.HypervisorError("Instance %s is not running" % instance.name)
    return rt.Serialize(runtime)

  def AcceptInstance(self, instance: objects.Instance, info: str, target: str) -> None:
    """Starts the same machine waiting for the incoming state on target's
    migration port."""
    runtime = rt.Deserialize(info)
    if runtime.get("name") != instance.name:
      raise errors.HypervisorError("Migration data is for instance %s, not %s" %
                                   (runtime.get("name"), instance.name))
    port = instance.hvparams.get(paramdefs.HV_MIGRATION_PORT) or \
      runtime["hvparams"][paramdefs.HV_MIGRATION_PORT]
    self._Launch(instance, runtime, paused=True,
                 incoming=migration.IncomingUri(target, port))

  def MigrateInstance(self, cluster_name: str, instance: objects.Instance,
                      target: str, live: bool) -> None:
    files = InstanceFiles.For(instance.name)
    if rt.LivePid(instance.name, files) is None:
      raise errors.HypervisorError("Instance %s is not running" % instance.name)
    hvp = instance.hvparams
    port = hvp.get(paramdefs.HV_MIGRATION_PORT)
    with qmp.QmpConnection(files.qmp) as conn:
      migration.Start(conn, hvp, migration.IncomingUri(target, port), live)

  def GetMigrationStatus(self, instance: objects.Instance) -> objects.MigrationStatus:
    files = InstanceFiles.For(instance.name)
    deadline = time.monotonic() + _MIGRATION_STATUS_WAIT
    with qmp.QmpConnection(files.qmp) as conn:
      info = conn.Execute("query-migrate")
      status = migration.Status(info)
      told = status.status == constants.HV_MIGRATION_ACTIVE and migration.TellsStateChanges(conn)
      while status.status == constants.HV_MIGRATION_ACTIVE:
        remaining = deadline - time.monotonic()
        if told:
          if conn.WaitEvent("MIGRATION", remaining) is None:
            break
        elif remaining > _POLL:
          time.sleep(_POLL)
        else:
          break
        info = conn.Execute("query-migrate")
        status = migration.Status(info)
    if status.status == constants.HV_MIGRATION_COMPLETED:
      logging.info("Migration of instance %s completed: %s ms in total, downtime %s ms",
                   instance.name, info.get("total-time"), migration.Downtime(info))
    elif status.status in constants.HV_MIGRATION_FAILED_STATUSES:
      logging.warning("Migration of instance %s ended as %s: %s", instance.name,
                      info.get("status"), info.get("error-desc", ""))
    return status

  def FinalizeMigrationSource(self, instance: objects.Instance, success: bool,
                              live: bool) -> None:
    name = instance.name
    files = InstanceFiles.For(name)
    pid = rt.LivePid(name, files)
    if success:
      if pid:
        _QmpQuietly(files, "quit")
        if not _WaitGone(name, pid, files, KILL_WAIT):
          rt.Kill(pid)
          _WaitGone(name, pid, files, KILL_WAIT)
      files.Remove()
      return
    if pid is None:
      raise errors.HypervisorError("Instance %s is no longer running on the source" % name)
    with qmp.QmpConnection(files.qmp) as conn:
      if conn.Execute("query-migrate").get("status") in ("active", "setup",
                                                         "postcopy-active"):
        conn.Execute("migrate_cancel")
      _Resume(conn)

  def FinalizeMigrationDst(self, instance: objects.Instance, info: str,
                           success: bool) -> None:
    name = instance.name
    files = InstanceFiles.For(name)
    pid = rt.LivePid(name, files)
    if not success:
      if pid:
        rt.Kill(pid)
        _WaitGone(name, pid, files, KILL_WAIT)
      files.Remove()
      return
    if pid is None:
      raise errors.HypervisorError("Instance %s is not running on the target" % name)
    with qmp.QmpConnection(files.qmp) as conn:
      _Resume(conn)

  # --- hotplug ---

  @staticmethod
  def _RunningRuntime(instance: objects.Instance) -> tuple[InstanceFiles, dict]:
    files = InstanceFiles.For(instance.name)
    runtime = rt.LoadRuntime(files)
    if runtime is None or rt.LivePid(instance.name, files) is None:
      raise errors.HotplugError("Instance %s is not running" % instance.name)
    return files, runtime

  def HotplugSupported(self, instance: objects.Instance) -> None:
    files, _ = self._RunningRuntime(instance)
    try:
      qmp.Execute(files.qmp, "query-status", timeout=5)
    except errors.HypervisorError as err:
      raise errors.HotplugError("Cannot talk to qemu: %s" % err) from None

  def VerifyHotplugSupport(self, instance: objects.Instance, action: str,
                           dev_type: str) -> None:
    _, runtime = self._RunningRuntime(instance)
    if not cmdline.HasDeviceSlots(runtime):
      raise errors.HotplugError("Instance %s was started without recorded device slots;"
                                " restart it to use hotplug" % instance.name)
    hotplug.CheckSupport(runtime["hvparams"], action, dev_type)

  def HotAddDevice(self, instance: objects.Instance, dev_type: str, device: Any,
                   extra: Any, seq: int) -> None:
    files, runtime = self._RunningRuntime(instance)
    if dev_type == constants.HOTPLUG_TARGET_NIC:
      self._HotAddNic(instance, files, runtime, device, seq)
    else:
      link, uri = extra
      disk = device.ToDict()
      disk["hvinfo"] = cmdline.NewDeviceInfo(runtime, cmdline.KIND_DISK)
      with qmp.QmpConnection(files.qmp) as conn:
        hotplug.AddDisk(conn, runtime["hvparams"], disk, uri or link)
      runtime["disks"].insert(seq, [disk, link, uri])
      rt.SaveRuntime(files, runtime)

  @staticmethod
  def _HotAddNic(instance: objects.Instance, files: InstanceFiles, runtime: dict,
                 nic: objects.NIC, seq: int) -> None:
    nic_dict = nic.ToDict()
    nic_dict["hvinfo"] = cmdline.NewDeviceInfo(runtime, cmdline.KIND_NIC)
    tap, fds = _OpenTap(runtime, nic_dict)
    try:
      with qmp.QmpConnection(files.qmp) as conn:
        hotplug.AddNic(conn, runtime["hvparams"], nic_dict, fds)
    finally:
      for fd in fds:
        os.close(fd)
    runtime["nics"].insert(seq, nic_dict)
    runtime["taps"].insert(seq, tap)
    rt.SaveRuntime(files, runtime)
    _WriteNicFiles(files, runtime)
    netdev.Ifup(netdev.IfupEnvironment(instance, seq, nic, tap))

  def HotDelDevice(self, instance: objects.Instance, dev_type: str, device: Any,
                   extra: Any, seq: int) -> None:
    files, runtime = self._RunningRuntime(instance)
    with qmp.QmpConnection(files.qmp) as conn:
      if dev_type == constants.HOTPLUG_TARGET_NIC:
        index = _FindDevice(runtime["nics"], device, "NIC")
        hotplug.RemoveNic(conn, runtime["nics"][index])
        del runtime["nics"][index]
        del runtime["taps"][index]
      else:
        index = _FindDevice([disk for disk, _, _ in runtime["disks"]], device, "Disk")
        hotplug.RemoveDisk(conn, runtime["disks"][index][0])
        del runtime["disks"][index]
    rt.SaveRuntime(files, runtime)
    _WriteNicFiles(files, runtime)

  def HotModDevice(self, instance: objects.Instance, dev_type: str, device: Any,
                   extra: Any, seq: int) -> None:
    """A NIC changes by being unplugged and plugged again with its new
    parameters (the guest sees a new interface)."""
    self.HotDelDevice(instance, dev_type, device, extra, seq)
    self.HotAddDevice(instance, dev_type, device, extra, seq)

  # --- master side ---

  @classmethod
  def GetInstanceConsole(cls, instance: objects.Instance, primary_node: Any,
                         node_group: Any, hvparams: dict,
                         beparams: dict) -> hv_base.InstanceConsole:
    if hvparams.get("serial_console"):
      port = ((getattr(primary_node, "ndparams", None) or {}).get("ssh_port") or
              (getattr(node_group, "ndparams", None) or {}).get("ssh_port"))
      serial = rt.SerialPathOnNode(instance.name, primary_node.name)
      return hv_base.InstanceConsole(instance=instance.name, kind=constants.CONS_SSH,
                                     host=primary_node.name, port=port, user=CONSOLE_USER,
                                     command=[SOCAT_PATH, SOCAT_ESCAPE,
                                              "UNIX-CONNECT:%s" % serial])
    if hvparams.get("vnc_bind_address"):
      port = instance.network_port
      return hv_base.InstanceConsole(instance=instance.name, kind=constants.CONS_VNC,
                                     host=hvparams["vnc_bind_address"], port=port,
                                     display=(port or 0) - cmdline.VNC_BASE_PORT)
    if hvparams.get("spice_bind"):
      return hv_base.InstanceConsole(instance=instance.name, kind=constants.CONS_SPICE,
                                     host=hvparams["spice_bind"], port=instance.network_port)
    return hv_base.ConsoleMessage(instance, "No serial shell for instance %s" % instance.name)
