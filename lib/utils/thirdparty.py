"""Access to third-party modules from commands started without site.

Command-line launchers run Python with -S: skipping site-packages start-up
(and whatever .pth files the machine has) saves a large part of a short
command's run time.  The few code paths that need a third-party module
(pyOpenSSL, pycurl, paramiko, ...) call Import(), which adds the site
directories on first use.
"""

import importlib
import sys
from types import ModuleType


def Import(name: str) -> ModuleType:
  """Imports a module that may live in site-packages."""
  if sys.flags.no_site and "site" not in sys.modules:
    import site  # pylint: disable=import-outside-toplevel
    site.main()
  return importlib.import_module(name)
