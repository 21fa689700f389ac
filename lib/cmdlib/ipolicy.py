"""Instance policies: whether an instance's specs fit a node group's policy.

A policy has one or more min/max ranges; an instance fits when all its
values lie inside one of them, and its disk template is allowed.
"""

from typing import Any, Optional

from ganeti import constants
from ganeti import errors
from ganeti import paramdefs as pd

# (spec key, its name in messages) in the order violations are reported
_CHECKED_SPECS = (pd.ISPEC_MEM_SIZE, pd.ISPEC_CPU_COUNT, pd.ISPEC_DISK_COUNT,
                  pd.ISPEC_NIC_COUNT, pd.ISPEC_SPINDLE_USE)


def InstanceSpec(mem_size: int, cpu_count: int, disk_sizes: list[int], nic_count: int,
                 spindle_use: int) -> dict[str, Any]:
  return {pd.ISPEC_MEM_SIZE: mem_size, pd.ISPEC_CPU_COUNT: cpu_count,
          pd.ISPEC_DISK_COUNT: len(disk_sizes), pd.ISPEC_DISK_SIZE: list(disk_sizes),
          pd.ISPEC_NIC_COUNT: nic_count, pd.ISPEC_SPINDLE_USE: spindle_use}


def _RangeViolations(minmax: dict, spec: dict) -> list[str]:
  low, high = minmax[pd.ISPECS_MIN], minmax[pd.ISPECS_MAX]
  checks = [(name, name, spec.get(name)) for name in _CHECKED_SPECS]
  checks += [("%s/%d" % (pd.ISPEC_DISK_SIZE, idx), pd.ISPEC_DISK_SIZE, size)
             for idx, size in enumerate(spec.get(pd.ISPEC_DISK_SIZE) or ())]
  violations = []
  for label, key, value in checks:
    if value is None or key not in low or key not in high:
      continue
    if not low[key] <= value <= high[key]:
      violations.append("%s value %s is not in range [%s, %s]" %
                        (label, value, low[key], high[key]))
  return violations


def SpecViolations(ipolicy: dict, spec: dict, disk_template: Optional[str]) -> list[str]:
  """What keeps the spec out of the policy (nothing when it fits)."""
  violations = []
  allowed = ipolicy.get(pd.IPOLICY_DTS)
  if disk_template is not None and allowed is not None and disk_template not in allowed:
    violations.append("Disk template %s is not allowed (allowed templates: %s)" %
                      (disk_template, ", ".join(allowed)))
  if disk_template == constants.DT_DISKLESS:
    # no disks to count or measure
    spec = {key: value for key, value in spec.items()
            if key not in (pd.ISPEC_DISK_COUNT, pd.ISPEC_DISK_SIZE)}
  ranges = ipolicy.get(pd.ISPECS_MINMAX) or []
  per_range = [_RangeViolations(minmax, spec) for minmax in ranges]
  if per_range and all(per_range):
    # no range fits: report the one that comes closest
    violations.extend(min(per_range, key=len))
  return violations


def CheckSpec(group: Any, ipolicy: dict, spec: dict, disk_template: Optional[str],
              ignore: bool, warn_fn: Any, what: str = "Instance allocation") -> None:
  """Refuses (or, with ignore, warns about) a spec outside the group's policy."""
  violations = SpecViolations(ipolicy, spec, disk_template)
  if not violations:
    return
  message = ("%s to group %s (%s) violates policy: %s" %
             (what, group.uuid, group.name, "; ".join(violations)))
  if ignore:
    warn_fn(message)
  else:
    raise errors.OpPrereqError(message, errors.ECODE_INVAL)
