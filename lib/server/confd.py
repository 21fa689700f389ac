"""ganeti-confd: answers configuration queries over signed UDP datagrams.

Runs on every node like the real daemon; a node without config.data (not a
master candidate) answers every request with an error reply.  The hmac key
is read once at start-up: without it the daemon refuses to start.
"""

import logging
from typing import Any

from ganeti import constants
from ganeti import daemon
from ganeti import pathutils
from ganeti.confd import server


def _prepare(ctx: daemon.DaemonContext) -> Any:
  try:
    with open(pathutils.CONFD_HMAC_KEY, "rb") as handle:
      hmac_key = handle.read()
  except OSError as err:
    raise daemon.DaemonError("Cannot read %s: %s" % (pathutils.CONFD_HMAC_KEY,
                                                    err.strerror)) from None
  cache = server.ConfigCache()
  cache.Get()  # load now, so the log shows the configuration served
  try:
    sock = server.MakeSocket(ctx.options.bind, ctx.options.port)
  except OSError as err:
    raise daemon.DaemonError("Cannot bind UDP %s:%s: %s" % (ctx.options.bind, ctx.options.port,
                                                           err.strerror)) from None
  return sock, server.ConfdProcessor(hmac_key, cache)


def _serve(ctx: daemon.DaemonContext) -> int:
  sock, processor = ctx.prepared
  logging.info("Serving confd on UDP %s:%s", ctx.options.bind, ctx.options.port)
  try:
    server.Serve(sock, processor, ctx.stop_event)
  finally:
    sock.close()
  return daemon.EXIT_SUCCESS


def Main() -> int:
  return daemon.RunDaemon(constants.CONFD, _serve, prepare_fn=_prepare)
