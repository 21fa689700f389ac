"""DRBD 8.4 command lines: drbdsetup and drbdmeta argv from a disk's parameters.

Each DRBD disk has one resource named after its minor ("resource<minor>")
with a single volume 0; its data and metadata live on two local block
devices (external metadata at index 0).  Disk, sync and network options come
from the drbd disk parameters (paramdefs.DRBD_*), with the administrator's
custom options appended unless they clash with the ones set here.
"""

import shlex
from typing import Optional

from ganeti import errors
from ganeti import netutils
from ganeti import paramdefs

DRBDSETUP = "drbdsetup"
DRBDMETA = "drbdmeta"
META_INDEX = "0"

# disk-barriers letters -> the 8.4 option that turns that write-ordering method off
_BARRIER_OPTIONS = {"b": "--disk-barrier=no", "f": "--disk-flushes=no",
                    "d": "--disk-drain=no"}
_NO_BARRIERS_DISABLED = "n"
# The dynamic resync controller's parameters, in command-line order
_CONTROLLER_PARAMS = (paramdefs.DRBD_PLAN_AHEAD, paramdefs.DRBD_FILL_TARGET,
                      paramdefs.DRBD_DELAY_TARGET, paramdefs.DRBD_MAX_RATE,
                      paramdefs.DRBD_MIN_RATE)
# Split-brain recovery: keep the side that changed, ask both sides otherwise
_NET_FIXED_OPTIONS = ("--after-sb-0pri=discard-zero-changes", "--after-sb-1pri=consensus")
HMAC_ALGORITHM = "md5"


def ResourceName(minor: int) -> str:
  return "resource%d" % minor


def DevicePath(minor: int) -> str:
  return "/dev/drbd%d" % minor


def Address(host: str, port: int) -> str:
  """An endpoint as drbdsetup 8.4 takes it: family:address:port."""
  if netutils.IsValidIP6(host):
    return "ipv6:[%s]:%d" % (host, port)
  if netutils.IsValidIP4(host):
    return "ipv4:%s:%d" % (host, port)
  raise errors.BlockDeviceError("Invalid DRBD endpoint address '%s'" % host)


def _OptionName(option: str) -> str:
  return option.split("=", 1)[0]


def _WithCustom(generated: list[str], custom: str, what: str) -> list[str]:
  """Appends custom options; ones that repeat a generated option are refused."""
  try:
    extra = shlex.split(custom or "")
  except ValueError as err:
    raise errors.BlockDeviceError("Can't parse the %s custom parameters '%s': %s" %
                                  (what, custom, err)) from err
  taken = {_OptionName(option) for option in generated if option.startswith("--")}
  clashes = sorted(_OptionName(option) for option in extra if _OptionName(option) in taken)
  if clashes:
    raise errors.BlockDeviceError("The %s custom parameters set %s, which Ganeti sets itself"
                                  % (what, ", ".join(clashes)))
  return generated + extra


# --- resource and device ------------------------------------------------------------

def NewResourceArgv(minor: int) -> list[str]:
  return [DRBDSETUP, "new-resource", ResourceName(minor)]


def NewMinorArgv(minor: int) -> list[str]:
  return [DRBDSETUP, "new-minor", ResourceName(minor), str(minor), "0"]


def DownArgv(minor: int) -> list[str]:
  return [DRBDSETUP, "down", ResourceName(minor)]


def CreateMetadataArgv(minor: int, meta_dev: str) -> list[str]:
  return [DRBDMETA, "--force", DevicePath(minor), "v08", meta_dev, META_INDEX, "create-md"]


def ApplyActivityLogArgv(minor: int, meta_dev: str) -> list[str]:
  """Replays the activity log into the metadata, as drbdadm does before every
  attach: the metadata of a device that was primary when it stopped is
  "unclean", and drbdsetup attach refuses it until then."""
  return [DRBDMETA, DevicePath(minor), "v08", meta_dev, META_INDEX, "apply-al"]


def ShowArgv(minor: int) -> list[str]:
  return [DRBDSETUP, "show", str(minor)]


# --- local disks and sync -------------------------------------------------------------

def SyncOptions(params: dict, resync_rate: Optional[int] = None) -> list[str]:
  """Resync options: a fixed rate, or the dynamic controller's targets."""
  rate = params.get(paramdefs.DRBD_RESYNC_RATE) if resync_rate is None else resync_rate
  options = ["--resync-rate=%dk" % int(rate)] if rate is not None else []
  if params.get(paramdefs.DRBD_DYNAMIC_RESYNC):
    for name in _CONTROLLER_PARAMS:
      value = params.get(name)
      if value is not None:
        options.append("--%s=%d" % (name, int(value)))
  else:
    options.append("--%s=0" % paramdefs.DRBD_PLAN_AHEAD)  # 0 turns the controller off
  return options


def BarrierOptions(params: dict) -> list[str]:
  """Options that disable the write-ordering methods the parameters name."""
  letters = params.get(paramdefs.DRBD_DISK_BARRIERS) or _NO_BARRIERS_DISABLED
  unknown = set(letters) - set(_BARRIER_OPTIONS) - {_NO_BARRIERS_DISABLED}
  if unknown or (_NO_BARRIERS_DISABLED in letters and len(letters) > 1):
    raise errors.BlockDeviceError("Invalid disk-barriers value '%s': use 'n' or a"
                                  " combination of b, f and d" % letters)
  options = [_BARRIER_OPTIONS[letter] for letter in "bfd" if letter in letters]
  if params.get(paramdefs.DRBD_META_BARRIERS):
    options.append("--md-flushes=no")
  return options


def AttachArgv(minor: int, data_dev: str, meta_dev: str, size_mib: Optional[int],
               params: dict) -> list[str]:
  argv = [DRBDSETUP, "attach", str(minor), data_dev, meta_dev, META_INDEX,
          "--on-io-error=detach"]
  if size_mib:
    argv.append("--size=%dm" % size_mib)
  argv += BarrierOptions(params) + SyncOptions(params)
  return _WithCustom(argv, params.get(paramdefs.DRBD_DISK_CUSTOM, ""), "disk")


def DiskOptionsArgv(minor: int, params: dict, resync_rate: Optional[int] = None) -> list[str]:
  """Changes the sync options of an attached device."""
  return [DRBDSETUP, "disk-options", str(minor)] + SyncOptions(params, resync_rate)


def DetachArgv(minor: int) -> list[str]:
  return [DRBDSETUP, "detach", str(minor)]


def ResizeArgv(minor: int, size_mib: int) -> list[str]:
  return [DRBDSETUP, "resize", str(minor), "--size=%dm" % size_mib]


def PauseSyncArgv(minor: int, pause: bool) -> list[str]:
  return [DRBDSETUP, "pause-sync" if pause else "resume-sync", str(minor)]


# --- network and roles -------------------------------------------------------------------

def ConnectArgv(minor: int, local: tuple[str, int], remote: tuple[str, int], params: dict,
                secret: Optional[str], dual_primary: bool) -> list[str]:
  protocol = params.get(paramdefs.DRBD_PROTOCOL) or "C"
  if protocol not in ("A", "B", "C"):
    raise errors.BlockDeviceError("Invalid DRBD protocol '%s'" % protocol)
  argv = [DRBDSETUP, "connect", ResourceName(minor), Address(*local), Address(*remote),
          "--protocol=%s" % protocol] + list(_NET_FIXED_OPTIONS)
  if dual_primary:
    argv.append("--allow-two-primaries")
  if secret:
    argv += ["--cram-hmac-alg=%s" % HMAC_ALGORITHM, "--shared-secret=%s" % secret]
  return _WithCustom(argv, params.get(paramdefs.DRBD_NET_CUSTOM, ""), "net")


def DualPrimaryArgv(local: tuple[str, int], remote: tuple[str, int], allowed: bool) -> list[str]:
  """Allows or forbids two primaries on a connection as it stands: DRBD 8.4
  changes this one net option without dropping the connection (the others are
  kept)."""
  return [DRBDSETUP, "net-options", Address(*local), Address(*remote),
          "--allow-two-primaries=%s" % ("yes" if allowed else "no")]


def DisconnectArgv(local: tuple[str, int], remote: tuple[str, int]) -> list[str]:
  return [DRBDSETUP, "disconnect", Address(*local), Address(*remote)]


def PrimaryArgv(minor: int, force: bool) -> list[str]:
  return [DRBDSETUP, "primary", str(minor)] + (["--force"] if force else [])


def SecondaryArgv(minor: int) -> list[str]:
  return [DRBDSETUP, "secondary", str(minor)]

