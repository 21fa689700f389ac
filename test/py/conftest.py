"""Test set-up: import the uninstalled tree as the "ganeti" package.

`make` creates build/ganeti -> lib; when the tree was configured but not
built yet, the link is made here.
"""

import os
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(TOP, "build")

if not os.path.exists(os.path.join(TOP, "lib", "_autoconf.py")):
  raise RuntimeError("Run ./autogen.sh && ./configure && make first")
os.makedirs(BUILD, exist_ok=True)
if not os.path.islink(os.path.join(BUILD, "ganeti")):
  os.symlink(os.path.join(TOP, "lib"), os.path.join(BUILD, "ganeti"))
sys.path.insert(0, BUILD)
os.environ["PYTHONPATH"] = BUILD + os.pathsep + os.environ.get("PYTHONPATH", "")
