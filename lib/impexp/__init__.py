"""Moving disk data between nodes: one transfer process per import or export.

An import listens on its node for one TLS connection and writes what arrives
into its sink (a file, a block device, an OS import script); an export reads
its source and sends it to the import's address.  Both report through a
status file in their own directory below pathutils.IMPORT_EXPORT_DIR, which
the node daemon hands to the master (impexp_status).  daemon.py is the
process, transfer.py drives a pair of them from the master.

The directory of a transfer holds:
  request.json  what to do (written by the node daemon before the start)
  status.json   ImportExportStatus fields, rewritten while the transfer runs
  pid           the process id
  output        the OS script's messages (when a script is the source/sink)
"""

REQUEST_FILE = "request.json"
STATUS_FILE = "status.json"
PID_FILE = "pid"
OUTPUT_FILE = "output"
CA_FILE = "ca.pem"

MODE_IMPORT = "import"
MODE_EXPORT = "export"

# what the process reads or writes: a path (file or device) or a command
IO_PATH = "path"
IO_COMMAND = "command"

# compression name -> zlib level; "none" travels as is
COMPRESSION_LEVELS = {"gzip": 6, "gzip-fast": 1, "gzip-slow": 9}
COMPRESS_NONE = "none"

# the stream: magic line, then frames of (4-byte big-endian length, data);
# an empty frame ends it, so a cut connection is never taken for the end;
# the import then answers ACK
FRAME_HEADER_SIZE = 4
# the import's answer once the data is all written
ACK = b"done"
CHUNK_SIZE = 256 * 1024

# the first line an export sends when the options carry no magic
DEFAULT_MAGIC = "ganeti-impexp"
