"""Installing the checkout into the nodes.

`make install` runs once on the host into a staging DESTDIR, and the staged
tree is unpacked on every node: the nodes run the same Debian release and
Python as the host, and building there under TCG would cost minutes per node
for the same files.  The staged tree is exactly what `make install` puts
under /usr/local (plus /etc and /var entries it creates).
"""

import io
import os
import shutil
import tarfile

from qa import nodes as nodes_mod
from qa import util


def Stage(checkout: str, stage_dir: str, src_dir: str) -> bytes:
  """`make install` of the checkout into stage_dir; a gzipped tar of the result.

  The build runs in a copy (src_dir) of the checkout's files, tracked and
  new, configured for the nodes' interpreter (/usr/bin/python3): the
  checkout's own configuration may name a Python the nodes do not have.
  """
  files = util.Run(["git", "-C", checkout, "ls-files", "-z", "-c", "-o", "--exclude-standard"])
  shutil.rmtree(src_dir, ignore_errors=True)
  os.makedirs(src_dir)
  for name in files.stdout.decode().split("\0"):
    source = os.path.join(checkout, name)
    if name and os.path.isfile(source):
      os.makedirs(os.path.dirname(os.path.join(src_dir, name)), exist_ok=True)
      shutil.copy2(source, os.path.join(src_dir, name))
  util.Run(["sh", "-c", "./autogen.sh && ./configure -q PYTHON=/usr/bin/python3"],
           cwd=src_dir, timeout=600)
  shutil.rmtree(stage_dir, ignore_errors=True)
  util.Run(["make", "-s", "-C", src_dir, "install", "DESTDIR=" + stage_dir], timeout=900)
  buffer = io.BytesIO()
  with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=3) as archive:
    for name in sorted(os.listdir(stage_dir)):
      archive.add(os.path.join(stage_dir, name), arcname=name)
  return buffer.getvalue()


def _PythonDir(stage_dir: str) -> str:
  """Where the staged ganeti package lives, as a node path."""
  for root, dirs, _ in os.walk(stage_dir):
    if "ganeti" in dirs and os.path.exists(os.path.join(root, "ganeti", "__init__.py")):
      return "/" + os.path.relpath(root, stage_dir)
  raise util.QAError("No ganeti package under %s" % stage_dir)


def Push(cluster: nodes_mod.Cluster, tarball: bytes, stage_dir: str) -> None:
  """Unpacks the staged install on every node and makes the package importable."""
  python_dir = _PythonDir(stage_dir)
  # what `make install` without DESTDIR adds: a .pth naming the package directory
  command = ("tar -C / -xzf - && echo %s > $(python3 -c 'import sysconfig;"
             " print(sysconfig.get_path(\"purelib\"))')/ganeti-py.pth && "
             "mkdir -p /var/lib/ganeti /var/log/ganeti /var/run/ganeti" % python_dir)
  # a node of a running cluster restarts its daemons on the new code
  restart = ("if {du} check ganeti-noded; then {du} stop-all && {du} start-all; fi"
             .format(du="/usr/local/lib/ganeti/daemon-util"))
  for node in cluster.nodes:
    cluster.Ssh(node, command, stdin=tarball, timeout=300)
  for node in cluster.nodes:
    cluster.Ssh(node, restart, timeout=300)
