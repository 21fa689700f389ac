"""How bulky RPC arguments travel: zlib-compressed and base64-armoured."""

import base64
import zlib
from typing import Any

from ganeti import errors

ENCODING_NONE = 0
ENCODING_ZLIB_BASE64 = 1

# below this size compression costs more than it saves
_COMPRESS_THRESHOLD = 512


def Compress(data: bytes | str) -> list:
  """[encoding, text] for data of any size."""
  raw = data.encode("utf-8") if isinstance(data, str) else data
  if len(raw) < _COMPRESS_THRESHOLD:
    try:
      return [ENCODING_NONE, raw.decode("utf-8")]
    except UnicodeDecodeError:
      pass
  return [ENCODING_ZLIB_BASE64, base64.b64encode(zlib.compress(raw)).decode("ascii")]


def Decompress(value: Any) -> bytes:
  """The bytes of a [encoding, text] pair made by Compress."""
  if not isinstance(value, (list, tuple)) or len(value) != 2:
    raise errors.ProgrammerError("Invalid encoded data: %r" % (value,)[:100])
  encoding, content = value
  if encoding == ENCODING_NONE:
    return content.encode("utf-8")
  if encoding == ENCODING_ZLIB_BASE64:
    try:
      return zlib.decompress(base64.b64decode(content))
    except (ValueError, zlib.error) as err:
      raise errors.ProgrammerError("Corrupt compressed data: %s" % err) from err
  raise errors.ProgrammerError("Unknown data encoding %r" % (encoding,))
