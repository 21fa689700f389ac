"""Running an allocator script on the master node (RPC iallocator_runner).

The script gets one argument, the name of a file holding the request (JSON),
followed by one "--KEY=VALUE" argument per cluster default allocator
parameter; its standard output is the answer, returned as it is.
"""

import os
import tempfile
from typing import Optional

from ganeti import pathutils
from ganeti.backend.common import Fail, RunCommand

# The allocator gets as long as the RPC call waits for it (Ganeti's timeout)
_RUN_TIMEOUT = 900 - 30


def RunIAllocator(name: str, idata: str, default_iallocator_params: Optional[dict]) -> str:
  """Runs the allocator script called name on idata; returns its output."""
  script = pathutils.IAllocatorScript(name)
  if script is None:
    Fail("iallocator module '%s' not found in the search path", name)
  extra = ["--%s=%s" % item for item in sorted((default_iallocator_params or {}).items())]
  fd, input_file = tempfile.mkstemp(prefix="ganeti-iallocator-")
  try:
    with os.fdopen(fd, "w") as stream:
      stream.write(idata)
    result = RunCommand([script, input_file] + extra, env=dict(os.environ),
                        timeout=_RUN_TIMEOUT)
  finally:
    os.unlink(input_file)
  if result.failed:
    Fail("iallocator module '%s' failed: %s", name, result.Describe())
  return result.stdout


CALLS = {
  "iallocator_runner": RunIAllocator,
}
