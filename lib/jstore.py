"""On-disk job queue: job files, serial, version and drain flag.

Layout (as Ganeti's): queue/job-N for live jobs, queue/archive/<N // 10000>/
job-N for archived ones, queue/serial (last job id), queue/version and
queue/drain.  Every file is replaced atomically; group commits make many
concurrent job updates durable with few disk flushes.
"""

import errno
import functools
import logging
import os
import threading
from typing import Callable, Iterator, Optional

from ganeti import constants
from ganeti import errors
from ganeti import pathutils
from ganeti import serializer
from ganeti.utils import io


def JobFileName(job_id: int) -> str:
  return os.path.join(pathutils.QUEUE_DIR, constants.JOB_FILE_PREFIX + str(job_id))


def ArchivedJobFileName(job_id: int) -> str:
  return os.path.join(pathutils.JOB_QUEUE_ARCHIVE_DIR,
                      str(job_id // constants.JOB_ARCHIVE_DIRECTORY_SIZE),
                      constants.JOB_FILE_PREFIX + str(job_id))


def EnsureQueueDirs() -> None:
  io.EnsureDirs([(pathutils.QUEUE_DIR, 0o700), (pathutils.JOB_QUEUE_ARCHIVE_DIR, 0o700)])


def InitQueueFiles() -> None:
  """Creates an empty queue (cluster init)."""
  EnsureQueueDirs()
  if not os.path.exists(pathutils.JOB_QUEUE_VERSION_FILE):
    io.WriteFile(pathutils.JOB_QUEUE_VERSION_FILE, "%d\n" % constants.JOB_QUEUE_VERSION)
  if not os.path.exists(pathutils.JOB_QUEUE_SERIAL_FILE):
    io.WriteFile(pathutils.JOB_QUEUE_SERIAL_FILE, "0\n")


def CheckQueueVersion() -> None:
  text = io.TryReadFile(pathutils.JOB_QUEUE_VERSION_FILE)
  if text is None:
    io.WriteFile(pathutils.JOB_QUEUE_VERSION_FILE, "%d\n" % constants.JOB_QUEUE_VERSION)
    return
  try:
    version = int(text.strip())
  except ValueError as err:
    raise errors.JobQueueError("Unreadable job queue version file") from err
  if version != constants.JOB_QUEUE_VERSION:
    raise errors.JobQueueError("Found job queue version %s, expected %s" %
                               (version, constants.JOB_QUEUE_VERSION))


def ReadSerial() -> int:
  text = io.TryReadFile(pathutils.JOB_QUEUE_SERIAL_FILE)
  try:
    return int(text.strip()) if text else 0
  except ValueError:
    logging.error("Unreadable job queue serial file, starting from the job files")
    return 0


def IsDrained() -> bool:
  return os.path.exists(pathutils.JOB_QUEUE_DRAIN_FILE)


def SetDrained(flag: bool) -> None:
  if flag:
    io.WriteFile(pathutils.JOB_QUEUE_DRAIN_FILE, "")
  else:
    io.RemoveFile(pathutils.JOB_QUEUE_DRAIN_FILE)
    io.FsyncDir(pathutils.QUEUE_DIR)


def IterJobFiles() -> Iterator[tuple[int, str]]:
  """(job id, path) of every live job file, in job id order."""
  found = []
  for name in os.listdir(pathutils.QUEUE_DIR):
    if name.startswith(constants.JOB_FILE_PREFIX):
      suffix = name[len(constants.JOB_FILE_PREFIX):]
      if suffix.isdigit():
        found.append((int(suffix), os.path.join(pathutils.QUEUE_DIR, name)))
  return iter(sorted(found))


def LoadJobData(job_id: int, archived: bool = False) -> Optional[dict]:
  """The parsed job file of a job, or None if there is none."""
  path = ArchivedJobFileName(job_id) if archived else JobFileName(job_id)
  text = io.TryReadFile(path)
  if text is None:
    return None
  try:
    return serializer.LoadJson(text)
  except ValueError as err:
    raise errors.JobFileCorrupted("Job file %s is not valid JSON: %s" % (path, err)) from err


def ArchiveJobFile(job_id: int) -> None:
  """Moves a live job file into the archive."""
  target = ArchivedJobFileName(job_id)
  directory = os.path.dirname(target)
  os.makedirs(directory, mode=0o700, exist_ok=True)
  os.rename(JobFileName(job_id), target)


# Longest time a lazily marked job update waits for company before it is written.
LAZY_DELAY = 0.5


class GroupCommitter:
  """Makes job updates durable, many at a time.

  Callers mark a job dirty and (optionally) wait; a single writer thread
  serialises every dirty job at its latest state, writes all of them, flushes
  them in one pass and renames them into place, then wakes the waiters.  While
  one batch is on its way to disk, the next one collects, so concurrent jobs
  share flushes instead of queuing behind each other's.  The candidates' copies
  of a batch go out after its flush, together with those of the next batch
  when that one was marked for them meanwhile.
  """

  def __init__(self, serialize_fn: Callable[[list[int]], list[tuple[int, dict]]],
               read_serial_fn: Callable[[], int],
               replicate_fn: Optional[Callable[[list[tuple[str, str]]], None]] = None,
               written_fn: Optional[Callable[[list[int]], None]] = None) -> None:
    """replicate_fn(writes) gets the (path, text) of each durable batch
    (master candidates keep copies of the queue): the serial file and the
    jobs marked other than lazily.  A job's log messages reach the
    candidates with its next state change.  written_fn(job_ids) is told
    when a batch's write is over (done or failed), before its waiters wake."""
    self._serialize_fn = serialize_fn
    self._read_serial_fn = read_serial_fn
    self._replicate_fn = replicate_fn
    self._written_fn = written_fn
    self._cv = threading.Condition()
    self._dirty: set[int] = set()
    # dirty jobs whose new state the candidates must get
    self._to_replicate: set[int] = set()
    self._flush_wanted = False
    self._next_batch = 1      # the batch that newly marked jobs go into
    self._local_batch = 0     # the last batch on the local disk
    self._done_batch = 0      # the last batch that is durable and replicated
    self._written_serial = ReadSerial()
    self._failure: Optional[BaseException] = None
    self._stopping = False
    self._thread = threading.Thread(target=self._run, name="JobCommitter", daemon=True)
    self._thread.start()

  def Mark(self, job_ids: list[int], wait: bool = True, lazy: bool = False,
           replicated: bool = True) -> int:
    """Schedules the jobs to be written; with wait, returns once they are durable
    (with replicated=False: on this node's disk, their copies still on the way).
    Returns the batch they go out in (for WaitFor).

    Lazy marks (progress that need not be durable at once, such as log
    messages) ride along with the next write, or go out after LAZY_DELAY;
    they are not replicated by themselves.
    """
    with self._cv:
      starts_lazy_timer = not self._dirty
      self._dirty.update(job_ids)
      if not lazy:
        self._to_replicate.update(job_ids)
      batch = self._next_batch
      self._flush_wanted = self._flush_wanted or wait or not lazy
      if self._flush_wanted or starts_lazy_timer:
        self._cv.notify_all()
      if wait:
        self._WaitLocked(batch, replicated)
    return batch

  def WaitFor(self, batch: int, replicated: bool = True) -> None:
    """Returns once a batch that Mark returned is durable (and replicated)."""
    with self._cv:
      self._WaitLocked(batch, replicated)

  def _WaitLocked(self, batch: int, replicated: bool) -> None:
    while ((self._done_batch if replicated else self._local_batch) < batch and
           not self._stopping):
      self._cv.wait()
    if self._failure is not None:
      raise errors.JobQueueError("Cannot write job files: %s" % self._failure)

  def Flush(self) -> None:
    """Waits until everything marked so far is on disk."""
    self.Mark([], wait=True)

  def Stop(self) -> None:
    self.Flush()
    with self._cv:
      self._stopping = True
      self._cv.notify_all()
    self._thread.join(10)

  def _run(self) -> None:
    while True:
      with self._cv:
        while not (self._flush_wanted or self._stopping):
          if not self._cv.wait(LAZY_DELAY if self._dirty else None) and self._dirty:
            break
        if self._stopping and not self._dirty:
          return
        batch, job_ids, replicated = self._TakeBatchLocked()
      shared = self._WriteBatch(batch, job_ids, replicated)
      # new states for the candidates marked during that write (typically a
      # job started right after its submission) are written too and go out
      # with it: one round trip to the candidates instead of two
      with self._cv:
        # (after a failed write its waiters must see that failure)
        follow = self._TakeBatchLocked() if self._to_replicate and not self._failure else None
      if follow is not None:
        batch = follow[0]
        # a file written twice goes out once, as last written
        shared = list(dict(shared + self._WriteBatch(*follow)).items())
      self._replicate(shared)
      with self._cv:
        self._done_batch = batch
        self._cv.notify_all()

  def _TakeBatchLocked(self) -> tuple[int, list[int], set[int]]:
    """The next batch: its number, the dirty jobs and those to replicate."""
    job_ids = sorted(self._dirty)
    replicated = self._to_replicate
    self._dirty.clear()
    self._to_replicate = set()
    self._flush_wanted = False
    batch = self._next_batch
    self._next_batch += 1
    return batch, job_ids, replicated

  def _WriteBatch(self, batch: int, job_ids: list[int],
                  replicated: set[int]) -> list[tuple[str, str]]:
    """Writes a batch to the local disk and wakes its waiters that need no
    more; the (path, text) for the candidates."""
    shared: list[tuple[str, str]] = []
    try:
      shared = self._write(job_ids, replicated)
      failure = None
    except (OSError, ValueError, errors.GenericError) as err:
      logging.exception("Writing job files failed")
      failure = err
    if self._written_fn is not None:
      self._written_fn(job_ids)
    with self._cv:
      self._failure = failure
      self._local_batch = batch
      self._cv.notify_all()
    return shared

  def _write(self, job_ids: list[int], replicated: set[int]) -> list[tuple[str, str]]:
    """Writes the jobs' files durably; returns the (path, text) of those the
    candidates must get."""
    payloads = self._serialize_fn(job_ids)
    serial = self._read_serial_fn()
    writes = [(JobFileName(job_id), serializer.DumpJson(data)) for job_id, data in payloads]
    shared = [write for write, (job_id, _) in zip(writes, payloads) if job_id in replicated]
    if serial != self._written_serial:
      writes.append((pathutils.JOB_QUEUE_SERIAL_FILE, "%d\n" % serial))
      shared.append(writes[-1])
    if not writes:
      return []
    temps = []
    try:
      # one flush for the whole batch when the kernel offers syncfs, else one per file
      batch_sync = len(writes) > 1 and _syncfs() is not None
      for path, text in writes:
        temps.append((_write_temp(path, text, sync=not batch_sync), path))
      if batch_sync:
        _sync_filesystem(pathutils.QUEUE_DIR)
      for tmp, path in temps:
        os.rename(tmp, path)
      temps = []
    finally:
      for tmp, _ in temps:
        io.RemoveFile(tmp)
    io.FsyncDir(pathutils.QUEUE_DIR)
    self._written_serial = serial
    return shared

  def _replicate(self, shared: list[tuple[str, str]]) -> None:
    if self._replicate_fn is None or not shared:
      return
    try:
      self._replicate_fn(shared)
    except Exception:  # pylint: disable=broad-except
      # the master's copy is durable; candidates catch up with the next batch
      logging.exception("Replicating job files failed")


@functools.lru_cache(maxsize=1)
def _syncfs() -> Optional[Callable[[int], int]]:
  """libc's syncfs, if there is one (loaded on first use: ctypes is slow to import)."""
  import ctypes  # pylint: disable=import-outside-toplevel
  import ctypes.util  # pylint: disable=import-outside-toplevel
  try:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return libc.syncfs
  except (OSError, AttributeError):
    return None


def _sync_filesystem(directory: str) -> None:
  """Flushes everything written to the file system holding directory."""
  import ctypes  # pylint: disable=import-outside-toplevel
  fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
  try:
    if _syncfs()(fd) != 0:
      err = ctypes.get_errno()
      raise OSError(err, os.strerror(err))
  finally:
    os.close(fd)


def _write_temp(path: str, text: str, sync: bool = True) -> str:
  """Writes (and with sync, flushes) the next content of path beside it;
  returns the temporary file's name."""
  tmp = path + ".new"
  fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, constants.JOB_QUEUE_FILES_PERMS)
  try:
    data = memoryview(text.encode("utf-8"))
    while data:
      data = data[os.write(fd, data):]
    if sync:
      os.fdatasync(fd)
  except OSError as err:
    if err.errno == errno.ENOSPC:
      raise errors.JobQueueError("No space left on the device holding the job queue") from err
    raise
  finally:
    os.close(fd)
  return tmp
