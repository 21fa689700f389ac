"""The node image: a Debian bookworm root file system, its kernel and a tiny initramfs.

Built in two cached layers under the cache directory:
  rootfs-KEY/   debootstrap of PACKAGES (minutes), keyed by the package list
                and the mirror;
  image-KEY/    base.raw (ext4 made from the rootfs with mke2fs -d, no loop
                device), vmlinuz, initrd.gz and the root SSH key, keyed by the
                rootfs key and this module's node setup (seconds).
Nodes boot the kernel directly; the initramfs only loads the modules the root
disk needs (Debian builds virtio_blk and ext4 as modules) and switches to it.
PID 1 on the node is busybox init, with /sbin/qa-setup as its sysinit step.
The rootfs also holds the instances' kernel and initramfs, where Ganeti's
KVM parameters look for them (/boot/vmlinuz-3-kvmU, /boot/initrd-3-kvmU).
"""

import glob
import gzip
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from typing import Optional

from qa import util

SUITE = "bookworm"
# What a node needs: kernel and storage, SSH, this project's Python modules,
# qemu for instances inside nodes.  busybox-static (not busybox) because the
# initramfs needs a binary without shared libraries.
PACKAGES = (
  "linux-image-amd64", "kmod", "lvm2", "drbd-utils", "openssh-server", "openssh-client",
  "python3", "python3-openssl", "python3-pycurl", "python3-pyinotify", "python3-simplejson",
  "python3-paramiko", "python3-bitarray", "python3-psutil", "python3-numpy",
  # debootstrap does not resolve virtual packages: cryptography needs this one
  "python3-cffi-backend",
  "socat", "qemu-system-x86", "qemu-utils", "make", "iproute2", "busybox-static",
  "procps", "iputils-ping", "iputils-arping",
)
IMAGE_SIZE = "3G"
# Modules the initramfs loads to reach the root disk (with their dependencies);
# crc32c is only requested by ext4 at mount time, so it is named here
ROOT_MODULES = ("virtio_pci", "virtio_blk", "crc32c_generic", "ext4")

_APT_SOURCES = ("/etc/apt/sources.list", "/etc/apt/sources.list.d")
_DEFAULT_CACHE = os.path.join(os.environ.get("XDG_CACHE_HOME") or
                              os.path.expanduser("~/.cache"), "ganeti-qa")

INITRAMFS_INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
while read -r module; do insmod "/modules/$module"; done < /modules/order
tries=0
while [ ! -b /dev/vda ] && [ $tries -lt 100 ]; do sleep 0.1; tries=$((tries + 1)); done
mkdir -p /newroot
mount -t ext4 -o rw /dev/vda /newroot || { echo "QA-NODE-FAILED no root disk"; exec sh; }
mount --move /dev /newroot/dev
umount /proc /sys
exec switch_root /newroot /bin/busybox init
"""

# PID 1 of the KVM instances inside the nodes.  An instance kernel without
# a root file system panics and then busy-waits, taking most of the node's one
# CPU from the Ganeti daemons; this guest idles, as a real one mostly does.
GUEST_INIT = r"""#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
echo "QA-GUEST-UP" > /dev/console
while :; do /bin/busybox sleep 3600; done
"""
GUEST_INITRD = "/boot/initrd-3-kvmU"

# Runs once at boot (busybox init's sysinit): the node's identity comes from
# the kernel command line (qa_name, qa_addr, qa_hosts=name=ip,...).
NODE_SETUP = r"""#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -o remount,rw /
for word in $(cat /proc/cmdline); do
  case "$word" in
    qa_name=*) name=${word#qa_name=} ;;
    qa_addr=*) addr=${word#qa_addr=} ;;
    qa_hosts=*) hosts=${word#qa_hosts=} ;;
  esac
done
hostname "$name"
echo "$name" > /etc/hostname
{
  echo "127.0.0.1 localhost"
  echo "$hosts" | tr ',' '\n' | while IFS== read -r host ip; do
    [ -n "$host" ] && echo "$ip $host ${host%%.*}"
  done
} > /etc/hosts
for module in virtio_net tun bridge dm-mod dm-snapshot dm-thin-pool; do
  modprobe "$module"
done
# Ganeti's default DRBD helper; the cluster checks the module's setting
modprobe drbd usermode_helper=/bin/true
modprobe kvm_amd 2>/dev/null || modprobe kvm_intel 2>/dev/null
ip link set lo up
# eth0 in Ganeti's default bridge, which holds the node's address (instances
# and the master IP use the bridge, as on a usual Ganeti node).  The bridge's
# MAC address is pinned to eth0's, as ifupdown and networkd do: else it takes
# the lowest of its ports' and changes whenever an instance's tap (random
# address) comes or goes, and peers that learned it lose the node for seconds
ip link add xen-br0 address "$(cat /sys/class/net/eth0/address)" type bridge
ip link set eth0 master xen-br0
ip link set eth0 up
ip addr add "$addr" dev xen-br0
ip link set xen-br0 up
mkdir -p /run/sshd /run/lock /var/lock
echo "QA-NODE-UP $name" > /dev/console
"""

INITTAB = """::sysinit:/sbin/qa-setup
::respawn:/usr/sbin/sshd -D -e
::shutdown:/bin/busybox umount -a -r
"""

SSHD_CONFIG = """PermitRootLogin prohibit-password
UsePAM no
UseDNS no
PasswordAuthentication no
KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org
"""

SSH_CLIENT_CONFIG = """Host *
  StrictHostKeyChecking accept-new
  KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org
"""

# LVM and DRBD without udev (nothing runs udevd on a node)
LVM_SETTINGS = {"devices": ["obtain_device_list_from_udev = 0"],
                "activation": ["udev_sync = 0", "udev_rules = 0"]}
FILE_STORAGE_DIRS = ("/srv/ganeti/file-storage", "/srv/ganeti/shared-file-storage")
DRBD_GLOBAL = "global { usage-count no; }\ncommon { }\n"


def CacheDir() -> str:
  return os.environ.get("QA_CACHE_DIR") or _DEFAULT_CACHE


def DebianMirror(sources: tuple[str, ...] = _APT_SOURCES) -> str:
  """The machine's configured Debian mirror for SUITE (from apt's sources)."""
  paths = []
  for source in sources:
    paths += sorted(glob.glob(os.path.join(source, "*"))) if os.path.isdir(source) else [source]
  for path in paths:
    try:
      with open(path) as handle:
        text = handle.read()
    except OSError:
      continue
    if path.endswith(".sources"):
      for stanza in re.split(r"\n\s*\n", text):
        fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, re.M))
        if (SUITE in fields.get("Suites", "").split() and "deb" in
            fields.get("Types", "").split() and "main" in fields.get("Components", "").split()):
          return fields["URIs"].split()[0]
    else:
      for line in text.splitlines():
        words = re.sub(r"\[[^]]*\]", "", line).split()
        if len(words) >= 4 and words[0] == "deb" and words[2] == SUITE and "main" in words[3:]:
          return words[1]
  raise util.QAError("No apt source for Debian %s main in %s" % (SUITE, ", ".join(sources)))


def _Key(*parts: str) -> str:
  return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def RootfsKey(mirror: str) -> str:
  return _Key(SUITE, mirror, *PACKAGES)


def _BuildRootfs(cache: str, mirror: str) -> str:
  """The debootstrapped root file system (cached by package list and mirror)."""
  target = os.path.join(cache, "rootfs-" + RootfsKey(mirror))
  if os.path.exists(os.path.join(target, ".qa-complete")):
    return target
  work = target + ".partial"
  shutil.rmtree(work, ignore_errors=True)
  util.Log("debootstrap %s from %s (%d packages)" % (SUITE, mirror, len(PACKAGES)))
  # INITRD=No: the kernel's postinst skips the initramfs (nodes use ours)
  env = dict(os.environ, INITRD="No", DEBIAN_FRONTEND="noninteractive")
  util.Run(["debootstrap", "--variant=minbase", "--components=main",
            "--include=" + ",".join(PACKAGES), SUITE, work, mirror], env=env, timeout=1800)
  shutil.rmtree(os.path.join(work, "var/cache/apt/archives"), ignore_errors=True)
  os.makedirs(os.path.join(work, "var/cache/apt/archives/partial"))
  open(os.path.join(work, ".qa-complete"), "w").close()
  os.rename(work, target)
  return target


def _Write(root: str, path: str, text: str, mode: int = 0o644) -> None:
  full = os.path.join(root, path.lstrip("/"))
  os.makedirs(os.path.dirname(full), exist_ok=True)
  with open(full, "w") as handle:
    handle.write(text)
  os.chmod(full, mode)


def _ConfigureLvm(root: str) -> None:
  """Sets LVM_SETTINGS in lvm.conf: a setting already there is replaced (one copy
  kept: LVM warns about duplicates), a missing one goes after its section's opening."""
  path = os.path.join(root, "etc/lvm/lvm.conf")
  with open(path) as handle:
    lines = handle.read().splitlines()
  wanted = {setting.split("=")[0].strip(): setting
            for settings in LVM_SETTINGS.values() for setting in settings}
  present: set[str] = set()
  kept = []
  for line in lines:
    match = re.match(r"^\s*(\w+)\s*=", line)
    if match and match.group(1) in wanted:
      if match.group(1) in present:
        continue
      line = "\t" + wanted[match.group(1)]
      present.add(match.group(1))
    kept.append(line)
  out = []
  for line in kept:
    out.append(line)
    match = re.match(r"^(\w+) \{", line)
    if match and match.group(1) in LVM_SETTINGS:
      out += ["\t" + setting for setting in LVM_SETTINGS[match.group(1)]
              if setting.split("=")[0].strip() not in present]
  _Write(root, "/etc/lvm/lvm.conf", "\n".join(out) + "\n")


def _SetUpNode(root: str, key_dir: str) -> None:
  """Everything that makes the rootfs a QA node (idempotent: files are rewritten)."""
  _Write(root, "/sbin/qa-setup", NODE_SETUP, 0o755)
  _Write(root, "/etc/inittab", INITTAB)
  _Write(root, "/etc/ssh/sshd_config.d/qa.conf", SSHD_CONFIG)
  _Write(root, "/etc/ssh/ssh_config.d/qa.conf", SSH_CLIENT_CONFIG)
  _Write(root, "/etc/drbd.d/global_common.conf", DRBD_GLOBAL)
  _Write(root, "/etc/resolv.conf", "")
  _Write(root, "/etc/fstab", "")
  _ConfigureLvm(root)
  # where Ganeti's defaults look: the KVM instance kernel, the file storage dirs
  kernels = sorted(os.path.basename(path) for path in glob.glob(os.path.join(root, "boot/vmlinuz-*"))
                   if not path.endswith("-kvmU"))
  link = os.path.join(root, "boot/vmlinuz-3-kvmU")
  if kernels and not os.path.lexists(link):
    os.symlink(kernels[-1], link)
  _BuildGuestInitramfs(root)
  _Write(root, "/etc/ganeti/file-storage-paths", "\n".join(FILE_STORAGE_DIRS) + "\n")
  for directory in FILE_STORAGE_DIRS:
    os.makedirs(os.path.join(root, directory.lstrip("/")), exist_ok=True)
  # one host key and one root key for all nodes: they are throwaway test machines
  for kind in ("ed25519", "rsa"):
    host_key = os.path.join(root, "etc/ssh/ssh_host_%s_key" % kind)
    if not os.path.exists(host_key):
      util.Run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", host_key])
  ssh_dir = os.path.join(root, "root/.ssh")
  os.makedirs(ssh_dir, mode=0o700, exist_ok=True)
  shutil.copy(os.path.join(key_dir, "id_rsa"), ssh_dir)
  shutil.copy(os.path.join(key_dir, "id_rsa.pub"), ssh_dir)
  shutil.copy(os.path.join(key_dir, "id_rsa.pub"), os.path.join(ssh_dir, "authorized_keys"))
  for name in os.listdir(ssh_dir):
    os.chmod(os.path.join(ssh_dir, name), 0o600)


def _ModuleOrder(moddir: str, wanted: tuple[str, ...]) -> list[str]:
  """Module files (relative to moddir) of wanted and their dependencies, in load order."""
  deps: dict[str, list[str]] = {}
  with open(os.path.join(moddir, "modules.dep")) as handle:
    for line in handle:
      path, _, rest = line.partition(":")
      deps[path] = rest.split()
  by_name = {os.path.basename(path).split(".ko")[0].replace("-", "_"): path for path in deps}
  order: list[str] = []

  def Visit(path: str) -> None:
    if path in order:
      return
    for dep in deps[path]:
      Visit(dep)
    order.append(path)

  for name in wanted:
    if name in by_name:
      Visit(by_name[name])
  return order


def _BuildInitramfs(root: str, target: str) -> None:
  kernels = sorted(os.listdir(os.path.join(root, "lib/modules")))
  if not kernels:
    raise util.QAError("No kernel modules in the rootfs")
  moddir = os.path.join(root, "lib/modules", kernels[-1])
  with tempfile.TemporaryDirectory(prefix="qa-initramfs.") as work:
    for directory in ("bin", "modules", "proc", "sys", "dev", "newroot"):
      os.makedirs(os.path.join(work, directory))
    shutil.copy(os.path.join(root, "bin/busybox"), os.path.join(work, "bin/busybox"))
    names = []
    for path in _ModuleOrder(moddir, ROOT_MODULES):
      name = os.path.basename(path)
      if name.endswith(".xz"):  # busybox insmod wants plain modules
        name = name[:-3]
        util.Run(["sh", "-c", "xz -dc '%s' > '%s'" % (os.path.join(moddir, path),
                                                      os.path.join(work, "modules", name))])
      else:
        shutil.copy(os.path.join(moddir, path), os.path.join(work, "modules", name))
      names.append(name)
    _Write(work, "/modules/order", "\n".join(names) + "\n")
    _Write(work, "/init", INITRAMFS_INIT, 0o755)
    _WriteCpio(work, target)


def _BuildGuestInitramfs(root: str) -> None:
  with tempfile.TemporaryDirectory(prefix="qa-guest.") as work:
    for directory in ("bin", "proc", "dev"):
      os.makedirs(os.path.join(work, directory))
    shutil.copy(os.path.join(root, "bin/busybox"), os.path.join(work, "bin/busybox"))
    _Write(work, "/init", GUEST_INIT, 0o755)
    target = os.path.join(root, GUEST_INITRD.lstrip("/"))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    _WriteCpio(work, target)


def _WriteCpio(work: str, target: str) -> None:
  """The directory work as a gzipped newc cpio archive (an initramfs)."""
  cpio = subprocess.run("find . | cpio -o -H newc --quiet", shell=True, cwd=work,
                        capture_output=True, check=True).stdout
  with gzip.open(target, "wb", compresslevel=6) as handle:
    handle.write(cpio)


def _SetupDigest() -> str:
  with open(__file__, "rb") as handle:
    return hashlib.sha256(handle.read()).hexdigest()


class Image:
  """Paths of a built node image."""

  def __init__(self, directory: str, key_dir: str) -> None:
    self.directory = directory
    self.base = os.path.join(directory, "base.raw")
    self.kernel = os.path.join(directory, "vmlinuz")
    self.initrd = os.path.join(directory, "initrd.gz")
    # shared by all images of the cache: running nodes outlive a rebuilt image
    self.ssh_key = os.path.join(key_dir, "id_rsa")


def Build(cache: Optional[str] = None) -> Image:
  """The node image, built or taken from the cache."""
  cache = cache or CacheDir()
  os.makedirs(cache, exist_ok=True)
  mirror = DebianMirror()
  key = _Key(RootfsKey(mirror), _SetupDigest())
  key_dir = os.path.join(cache, "keys")
  image = Image(os.path.join(cache, "image-" + key), key_dir)
  if os.path.exists(os.path.join(image.directory, ".qa-complete")):
    return image
  root = _BuildRootfs(cache, mirror)
  if not os.path.exists(os.path.join(key_dir, "id_rsa")):
    os.makedirs(key_dir, mode=0o700, exist_ok=True)
    util.Run(["ssh-keygen", "-q", "-t", "rsa", "-b", "3072", "-N", "", "-C", "qa-cluster",
              "-f", os.path.join(key_dir, "id_rsa")])
  _SetUpNode(root, key_dir)
  work = image.directory + ".partial"
  shutil.rmtree(work, ignore_errors=True)
  os.makedirs(work)
  util.Log("making the node image (ext4 %s)" % IMAGE_SIZE)
  kernels = sorted(path for path in glob.glob(os.path.join(root, "boot/vmlinuz-*"))
                   if not path.endswith("-kvmU"))
  if not kernels:
    raise util.QAError("No kernel in %s/boot" % root)
  shutil.copy(kernels[-1], os.path.join(work, "vmlinuz"))
  _BuildInitramfs(root, os.path.join(work, "initrd.gz"))
  util.Run(["mke2fs", "-q", "-F", "-t", "ext4", "-L", "qa-root", "-d", root,
            os.path.join(work, "base.raw"), IMAGE_SIZE], timeout=900)
  open(os.path.join(work, ".qa-complete"), "w").close()
  os.rename(work, image.directory)
  return image
