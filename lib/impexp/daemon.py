"""The transfer process of one import or export (run as a module by the node daemon).

Usage: python3 -m ganeti.impexp.daemon DIRECTORY

DIRECTORY holds request.json (see ganeti.impexp) with:
  mode             "import" (listen, receive, write) or "export" (read, connect, send)
  bind             import: the address to listen on
  host, port       export: where the import listens
  cert, key, ca    TLS: own certificate and key, and the CA the peer must be signed by
  compress         a name of ganeti.impexp.COMPRESSION_LEVELS or "none"
  magic            the first line of the stream; the import refuses any other
  connect_timeout  seconds to wait for the peer
  io               {"kind": "path", "path": ..., "create": bool} or
                   {"kind": "command", "argv": [...], "env": {...}, "cwd": ...,
                    "size_fd": bool (export: the command reports its size there)}
  size             export: the size of the data in bytes, when known beforehand
"""

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import zlib
from typing import Any, BinaryIO, Optional

from ganeti import impexp

_STATUS_INTERVAL = 1.0   # seconds between status rewrites during the copy
_CONNECT_RETRY = 0.5
_MIB = 1024 * 1024
_OUTPUT_LINES = 20


class TransferError(Exception):
  """The transfer cannot go on; the message goes into the status file."""


class _Aborted(TransferError):
  pass


def _OnTerm(signum: int, _frame: Any) -> None:
  raise _Aborted("Aborted by signal %d" % signum)


class Status:
  """status.json: ImportExportStatus fields, replaced atomically on every write."""

  def __init__(self, directory: str) -> None:
    self.path = os.path.join(directory, impexp.STATUS_FILE)
    self.output_path = os.path.join(directory, impexp.OUTPUT_FILE)
    self.data: dict[str, Any] = {"connected": False, "exit_status": None,
                                 "error_message": None, "recent_output": [],
                                 "ctime": time.time()}
    self.start = time.time()
    self.last_write = 0.0
    self.size: Optional[int] = None

  def Update(self, **fields: Any) -> None:
    self.data.update(fields)
    self.Write()

  def Progress(self, done: int, force: bool = False) -> None:
    now = time.time()
    if not force and now - self.last_write < _STATUS_INTERVAL:
      return
    elapsed = max(now - self.start, 1e-6)
    throughput = done / _MIB / elapsed
    self.data.update(progress_mbytes=done // _MIB, progress_throughput=round(throughput, 2))
    if self.size:
      self.data["progress_percent"] = min(100, int(done * 100 / self.size))
      rate = done / elapsed
      if rate > 0:
        self.data["progress_eta"] = int(max(self.size - done, 0) / rate)
    self.Write()

  def Write(self) -> None:
    self.data["mtime"] = self.last_write = time.time()
    self.data["recent_output"] = _Tail(self.output_path)
    tmp = self.path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
      json.dump(self.data, handle)
    os.replace(tmp, self.path)


def _Tail(path: str) -> list[str]:
  try:
    with open(path, encoding="utf-8", errors="replace") as handle:
      return [line.rstrip("\n") for line in handle.readlines()[-_OUTPUT_LINES:]]
  except FileNotFoundError:
    return []


def _TlsContext(request: dict, server_side: bool) -> ssl.SSLContext:
  """Both ends show a certificate and accept only a peer signed by the CA."""
  context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server_side else ssl.PROTOCOL_TLS_CLIENT)
  context.minimum_version = ssl.TLSVersion.TLSv1_2
  context.load_cert_chain(request["cert"], request["key"])
  context.load_verify_locations(cafile=request["ca"])
  context.verify_mode = ssl.CERT_REQUIRED
  context.check_hostname = False
  return context


# --- compression and framing --------------------------------------------------

class _Encoder:
  def __init__(self, compress: str) -> None:
    level = impexp.COMPRESSION_LEVELS.get(compress)
    self._zlib = None if level is None else zlib.compressobj(level, zlib.DEFLATED, 31)

  def Feed(self, data: bytes) -> bytes:
    return self._zlib.compress(data) if self._zlib else data

  def Finish(self) -> bytes:
    return self._zlib.flush() if self._zlib else b""


class _Decoder:
  def __init__(self, compress: str) -> None:
    compressed = compress in impexp.COMPRESSION_LEVELS
    self._zlib = zlib.decompressobj(31) if compressed else None

  def Feed(self, data: bytes) -> bytes:
    try:
      return self._zlib.decompress(data) if self._zlib else data
    except zlib.error as err:
      raise TransferError("Corrupt compressed stream: %s" % err) from None

  def Finish(self) -> bytes:
    if self._zlib is None:
      return b""
    if not self._zlib.eof:
      raise TransferError("Compressed stream ended early")
    return self._zlib.flush()


def _SendFrame(conn: Any, data: bytes) -> None:
  conn.sendall(len(data).to_bytes(impexp.FRAME_HEADER_SIZE, "big") + data)


def _RecvExactly(conn: Any, size: int) -> bytes:
  parts = []
  while size:
    data = conn.recv(min(size, impexp.CHUNK_SIZE))
    if not data:
      raise TransferError("Connection closed before the end of the data")
    parts.append(data)
    size -= len(data)
  return b"".join(parts)


def _RecvFrames(conn: Any):
  while True:
    size = int.from_bytes(_RecvExactly(conn, impexp.FRAME_HEADER_SIZE), "big")
    if size == 0:
      return
    yield _RecvExactly(conn, size)


def _RecvAck(conn: Any) -> bytes:
  try:
    return conn.recv(len(impexp.ACK))
  except OSError:
    return b""


# --- sources and sinks ----------------------------------------------------------

class _Endpoint:
  """The local side of a transfer: a file/device or a command's stdin/stdout."""

  def __init__(self, io: dict, status: Status, reading: bool) -> None:
    self.proc: Optional[subprocess.Popen] = None
    self.stream: BinaryIO
    self._size_thread: Optional[threading.Thread] = None
    if io["kind"] == impexp.IO_PATH:
      self.stream = self._OpenPath(io, reading)
      return
    output = open(status.output_path, "ab")  # pylint: disable=consider-using-with
    env = dict(io.get("env") or {})
    pass_fds: tuple[int, ...] = ()
    size_read = None
    if reading and io.get("size_fd"):
      size_read, size_write = os.pipe()
      env["EXP_SIZE_FD"] = str(size_write)
      pass_fds = (size_write,)
    try:
      self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
        io["argv"], env=env, cwd=io.get("cwd") or "/", pass_fds=pass_fds,
        stdin=subprocess.DEVNULL if reading else subprocess.PIPE,
        stdout=subprocess.PIPE if reading else output, stderr=output)
    except OSError as err:
      raise TransferError("Cannot run %s: %s" % (io["argv"][0], err)) from None
    finally:
      output.close()
      for fd in pass_fds:
        os.close(fd)
    self.stream = self.proc.stdout if reading else self.proc.stdin
    if size_read is not None:
      self._size_thread = threading.Thread(target=self._ReadSize, args=(size_read, status),
                                           daemon=True)
      self._size_thread.start()

  @staticmethod
  def _OpenPath(io: dict, reading: bool) -> BinaryIO:
    path = io["path"]
    try:
      if reading:
        return open(path, "rb")  # pylint: disable=consider-using-with
      if io.get("create"):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return open(path, "wb")  # pylint: disable=consider-using-with
      return open(path, "r+b")  # pylint: disable=consider-using-with
    except OSError as err:
      raise TransferError("Cannot open %s: %s" % (path, err)) from None

  @staticmethod
  def _ReadSize(fd: int, status: Status) -> None:
    with os.fdopen(fd, "rb") as handle:
      text = handle.read().decode("ascii", "replace").strip()
    if text.isdigit():
      status.size = int(text)

  def Finish(self) -> None:
    """Closes the stream; a command must then end successfully."""
    try:
      self.stream.close()
    except BrokenPipeError:
      pass
    if self.proc is not None:
      code = self.proc.wait()
      if code != 0:
        raise TransferError("Command %s exited with status %d" % (self.proc.args[0], code))

  def Kill(self) -> None:
    if self.proc is not None and self.proc.poll() is None:
      self.proc.kill()
      self.proc.wait()


# --- the two directions ------------------------------------------------------------

def _Listen(request: dict, status: Status) -> Any:
  """Import: waits for the export's TLS connection; returns it."""
  family = socket.AF_INET6 if ":" in request["bind"] else socket.AF_INET
  listener = socket.socket(family, socket.SOCK_STREAM)
  listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
  listener.bind((request["bind"], 0))
  listener.listen(1)
  context = _TlsContext(request, server_side=True)
  status.Update(listen_port=listener.getsockname()[1])
  deadline = time.time() + request["connect_timeout"]
  try:
    while True:
      remaining = deadline - time.time()
      if remaining <= 0:
        raise TransferError("No connection within %s seconds" % request["connect_timeout"])
      listener.settimeout(remaining)
      try:
        conn, peer = listener.accept()
      except socket.timeout:
        continue
      conn.settimeout(request["connect_timeout"])
      try:
        return context.wrap_socket(conn, server_side=True)
      except (ssl.SSLError, OSError) as err:
        conn.close()
        raise TransferError("TLS handshake with %s failed: %s" % (peer[0], err)) from None
  finally:
    listener.close()


def _Connect(request: dict) -> Any:
  """Export: connects to the import, retrying until it listens or time runs out."""
  context = _TlsContext(request, server_side=False)
  deadline = time.time() + request["connect_timeout"]
  while True:
    try:
      conn = socket.create_connection((request["host"], request["port"]),
                                      timeout=request["connect_timeout"])
      return context.wrap_socket(conn)
    except ssl.SSLError as err:
      raise TransferError("TLS handshake with %s failed: %s" % (request["host"], err)) from None
    except OSError as err:
      if time.time() >= deadline:
        raise TransferError("Cannot connect to %s:%s: %s" %
                            (request["host"], request["port"], err)) from None
      time.sleep(_CONNECT_RETRY)


def RunImport(request: dict, status: Status) -> None:
  conn = _Listen(request, status)
  status.Update(connected=True)
  magic = request["magic"].encode("ascii") + b"\n"
  if _RecvExactly(conn, len(magic)) != magic:
    raise TransferError("Magic value mismatch; the peer is not this import's export")
  sink = _Endpoint(request["io"], status, reading=False)
  decoder = _Decoder(request["compress"])
  done = 0
  try:
    for frame in _RecvFrames(conn):
      data = decoder.Feed(frame)
      sink.stream.write(data)
      done += len(data)
      status.Progress(done)
    sink.stream.write(decoder.Finish())
    sink.Finish()
    conn.sendall(impexp.ACK)
  except BaseException:
    sink.Kill()
    raise
  finally:
    conn.close()
  status.Progress(done, force=True)


def RunExport(request: dict, status: Status) -> None:
  status.size = request.get("size")
  source = _Endpoint(request["io"], status, reading=True)
  try:
    conn = _Connect(request)
    status.Update(connected=True)
    encoder = _Encoder(request["compress"])
    conn.sendall(request["magic"].encode("ascii") + b"\n")
    done = 0
    while True:
      data = source.stream.read(impexp.CHUNK_SIZE)
      if not data:
        break
      done += len(data)
      packed = encoder.Feed(data)
      if packed:
        _SendFrame(conn, packed)
      status.Progress(done)
    tail = encoder.Finish()
    if tail:
      _SendFrame(conn, tail)
    source.Finish()
    _SendFrame(conn, b"")
    # the import acknowledges once everything is written; reading also takes
    # in what TLS sent meanwhile, so closing cannot reset the connection early
    if _RecvAck(conn) != impexp.ACK:
      raise TransferError("The import did not confirm the end of the data")
    conn.close()
  except BaseException:
    source.Kill()
    raise
  status.Progress(done, force=True)


def Main(argv: list[str]) -> int:
  directory = argv[1]
  with open(os.path.join(directory, impexp.REQUEST_FILE), encoding="utf-8") as handle:
    request = json.load(handle)
  status = Status(directory)
  signal.signal(signal.SIGTERM, _OnTerm)
  signal.signal(signal.SIGINT, _OnTerm)
  status.Write()
  run = RunImport if request["mode"] == impexp.MODE_IMPORT else RunExport
  try:
    run(request, status)
  except (TransferError, OSError, ssl.SSLError) as err:
    status.Update(exit_status=1, error_message=str(err))
    return 1
  except Exception as err:  # pylint: disable=broad-except
    # a bug, but the master must learn why the transfer stopped
    status.Update(exit_status=1, error_message="Unexpected %s: %s" % (type(err).__name__, err))
    raise
  status.Update(exit_status=0)
  return 0


if __name__ == "__main__":
  sys.exit(Main(sys.argv))
