"""JSON (de)serialisation as used for config.data, job files and LUXI.

Compact JSON is read and written by _json, the C module behind the json
package, called as the package calls it.  Importing the package itself
brings re and enum along: about 0.1 s on a small node's emulated CPU, which
every gnt-* command would pay.  The package is loaded only for pretty output
and to explain malformed input.
"""

from __future__ import annotations

import _json

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Any

_WHITESPACE = " \t\n\r"


def _Default(value: Any) -> Any:
  """What JSON cannot hold as is: sets become sorted lists, config objects
  their dicts, anything else its string."""
  if isinstance(value, (set, frozenset)):
    return sorted(value)
  if hasattr(value, "ToDict"):
    return value.ToDict()
  return str(value)


class _DecodeSettings:  # pylint: disable=too-few-public-methods
  """The settings _json's scanner reads, as json.JSONDecoder() has them."""
  strict = True
  object_hook = None
  object_pairs_hook = None
  parse_float = float
  parse_int = int
  parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"),
                    "NaN": float("nan")}.__getitem__


_scan = _json.make_scanner(_DecodeSettings())


def DumpJson(data: Any, pretty: bool = False) -> str:
  """Serialises data; sets become sorted lists, config objects their dicts."""
  if pretty:
    import json  # pylint: disable=import-outside-toplevel
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True,
                      default=_Default) + "\n"
  # a new encoder per call: its markers (for circular references) are per call
  encode = _json.make_encoder({}, _Default, _json.encode_basestring, None, ":", ",",
                              False, False, True)
  return "".join(encode(data, 0))


def LoadJson(text: str | bytes) -> Any:
  """The value of a JSON text; ValueError (json's JSONDecodeError) if malformed."""
  if isinstance(text, bytes):
    text = text.decode("utf-8")
  start = 0
  while start < len(text) and text[start] in _WHITESPACE:
    start += 1
  try:
    data, end = _scan(text, start)
  except StopIteration:
    end = -1
  if end < 0 or (end < len(text) and text[end:].strip(_WHITESPACE)):
    import json  # pylint: disable=import-outside-toplevel
    return json.loads(text)  # raises the error as json words it
  return data


Dump = DumpJson
Load = LoadJson
