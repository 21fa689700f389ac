"""The node side of the RPC calls: one module per domain, each exporting CALLS.

HANDLERS maps every RPC call name to the function that answers it on this
node; the node daemon dispatches through it.
"""

import functools
import importlib
from typing import Any, Callable

from ganeti.storage import lvm_report

_DOMAINS = ("node", "files", "master", "storage", "hooks", "verify", "sshkeys", "instance", "os",
            "blockdev", "iallocator", "impexp", "extstorage")


def _collect() -> dict[str, Callable[..., Any]]:
  handlers: dict[str, Callable[..., Any]] = {}
  for domain in _DOMAINS:
    module = importlib.import_module("ganeti.backend." + domain)
    for name, function in module.CALLS.items():
      if name in handlers:
        raise AssertionError("RPC call %s answered twice (%s)" % (name, domain))
      handlers[name] = _WithCachedLookups(function)
  return handlers


def _WithCachedLookups(function: Callable[..., Any]) -> Callable[..., Any]:
  """The call with LV lookups shared within it (lvm_report.CachedLookups)."""
  @functools.wraps(function)
  def Call(*args: Any) -> Any:
    with lvm_report.CachedLookups():
      return function(*args)
  return Call


HANDLERS = _collect()
