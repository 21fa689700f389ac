"""JSON (de)serialisation as used for config.data, job files and LUXI."""

from __future__ import annotations

import json

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Any

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"),
                            default=lambda o: sorted(o) if isinstance(o, (set, frozenset))
                            else o.ToDict() if hasattr(o, "ToDict") else str(o))
_pretty = json.JSONEncoder(ensure_ascii=False, indent=2, sort_keys=True,
                           default=_encoder.default)
_decoder = json.JSONDecoder()


def DumpJson(data: Any, pretty: bool = False) -> str:
  """Serialises data; sets become sorted lists, config objects their dicts."""
  if pretty:
    return _pretty.encode(data) + "\n"
  return _encoder.encode(data)


def LoadJson(text: str | bytes) -> Any:
  if isinstance(text, bytes):
    text = text.decode("utf-8")
  return _decoder.decode(text)


Dump = DumpJson
Load = LoadJson
