"""Text helpers shared by the daemons and the commands."""

from __future__ import annotations

import itertools

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Iterable

from ganeti import errors

# NiceSortKey's cache: queries and ssconf sort the same names over and over
_SORT_KEYS: dict[str, tuple] = {}
_SORT_KEYS_MAX = 65536


def NiceSortKey(name: str) -> tuple:
  """Sort key putting "node2" before "node10" (numbers before text)."""
  key = _SORT_KEYS.get(name)
  if key is None:
    if len(_SORT_KEYS) >= _SORT_KEYS_MAX:
      _SORT_KEYS.clear()
    key = _SORT_KEYS[name] = tuple(
      (0, int("".join(part)), "") if digits else (1, 0, "".join(part))
      for digits, part in itertools.groupby(name, str.isdecimal))
  return key


def NiceSort(names: Iterable[str]) -> list[str]:
  return sorted(names, key=NiceSortKey)


def FormatDouble(value: float) -> str:
  """A number as luxid prints a Double: 0.25, 2.0, 5.0e-2, 1.23456785e7."""
  value = float(value)
  if value != value:
    return "NaN"
  if value in (float("inf"), float("-inf")):
    return "Infinity" if value > 0 else "-Infinity"
  sign = "-" if value < 0 else ""
  value = abs(value)
  if value == 0:
    return sign + "0.0"
  # repr gives the shortest digits that read back as value, as Haskell's show does
  mantissa, _, exponent = repr(value).partition("e")
  whole, _, fraction = mantissa.partition(".")
  all_digits = whole + fraction
  significant = all_digits.lstrip("0")
  # value == 0.<digits> * 10 ** point
  point = len(whole) + int(exponent or 0) - (len(all_digits) - len(significant))
  digits = significant.rstrip("0")
  if 0.1 <= value < 10 ** 7:
    if point <= 0:
      return "%s0.%s%s" % (sign, "0" * -point, digits)
    whole_part = digits[:point].ljust(point, "0")
    return "%s%s.%s" % (sign, whole_part, digits[point:] or "0")
  return "%s%s.%se%d" % (sign, digits[0], digits[1:] or "0", point - 1)


MIB_PER_GIB = 1024
MIB_PER_TIB = 1024 * 1024


def FormatUnit(value: float, units: str) -> str:
  """A size in MiB in the given units: h (human, with suffix), m, g or t."""
  if units == "h":
    if value >= MIB_PER_TIB:
      return "%0.1fT" % (value / MIB_PER_TIB)
    if value >= MIB_PER_GIB:
      return "%0.1fG" % (value / MIB_PER_GIB)
    return "%dM" % round(value)
  if units == "m":
    return "%d" % round(value)
  if units == "g":
    return "%0.1f" % (value / MIB_PER_GIB)
  if units == "t":
    return "%0.1f" % (value / MIB_PER_TIB)
  raise errors.ProgrammerError("Invalid unit specified '%s'" % units)


_DURATION_UNITS = (("d", 24 * 60 * 60), ("h", 60 * 60), ("m", 60))


def FormatSeconds(seconds: float) -> str:
  """A duration as "1d 0h 3m 2s": units from the largest non-zero one down."""
  remaining = int(round(seconds))
  parts = []
  for suffix, length in _DURATION_UNITS if remaining > 0 else ():
    count, remaining = divmod(remaining, length)
    if count or parts:
      parts.append("%d%s" % (count, suffix))
  parts.append("%ds" % remaining)
  return " ".join(parts)
