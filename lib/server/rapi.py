"""ganeti-rapi: the remote API daemon, on the master node.

HTTPS with the RAPI certificate (rapi.pem) unless --no-ssl; the users and
their rights come from the RAPI users file, read again when it changes.
Every request is answered through LUXI by the master daemon of this node.
"""

import argparse
import fcntl
import logging
import socket
import ssl
import struct
from typing import Any

from ganeti import constants
from ganeti import daemon
from ganeti import pathutils
from ganeti.rapi import auth
from ganeti.rapi import dispatch
from ganeti.rapi import httpserver

_SIOCGIFADDR = 0x8915


def _add_options(parser: argparse.ArgumentParser) -> None:
  parser.add_argument("-i", "--interface", dest="interface", default=None,
                      help="bind to the IPv4 address of this network interface")
  parser.add_argument("--max-clients", dest="max_clients", type=int,
                      default=20, help="connections served at the same time (default: 20)")
  parser.add_argument("--no-ssl", dest="ssl", action="store_false", default=True,
                      help="serve plain HTTP instead of HTTPS")
  parser.add_argument("-K", "--ssl-key", dest="ssl_key", default=pathutils.RAPI_CERT_FILE,
                      help="SSL key file (default: %(default)s)")
  parser.add_argument("-C", "--ssl-cert", dest="ssl_cert", default=pathutils.RAPI_CERT_FILE,
                      help="SSL certificate file (default: %(default)s)")
  parser.add_argument("--require-authentication", dest="require_authentication",
                      action="store_true", help="require authentication for every request")


def _InterfaceAddress(name: str) -> str:
  with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
    packed = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR,
                         struct.pack("256s", name.encode("utf-8")[:15]))
  return socket.inet_ntoa(packed[20:24])


def _check(options: Any) -> None:
  if not daemon.IsMasterNode():
    raise daemon.DaemonError("Not master, exiting (master is %s, this node is %s)" %
                             (daemon.GetMasterNode(), daemon.GetHostname()),
                             daemon.EXIT_NOTMASTER)
  if options.max_clients < 1:
    raise daemon.DaemonError("--max-clients must be at least 1")
  if options.interface:
    try:
      options.bind = _InterfaceAddress(options.interface)
    except OSError as err:
      raise daemon.DaemonError("Cannot find the address of interface %s: %s" %
                               (options.interface, err)) from None


def _prepare(ctx: daemon.DaemonContext) -> httpserver.RapiHttpServer:
  options = ctx.options
  tls = None
  if options.ssl:
    try:
      tls = httpserver.CertificateFiles(options.ssl_cert, options.ssl_key)
    except (ssl.SSLError, OSError) as err:
      raise daemon.DaemonError("Cannot load the RAPI certificate %s: %s" %
                               (options.ssl_cert, err)) from None
  users = auth.UsersFile(pathutils.RAPI_USERS_FILE)
  users.Users()  # log what is loaded at start-up
  app = dispatch.Dispatcher(users, require_authentication=options.require_authentication)
  try:
    return httpserver.RapiHttpServer((options.bind, options.port), tls, app,
                                     workers=options.max_clients)
  except OSError as err:
    raise daemon.DaemonError("Cannot listen on %s:%s: %s" %
                             (options.bind, options.port, err)) from None


def _serve(ctx: daemon.DaemonContext) -> int:
  server = ctx.prepared
  ctx.AddStopCallback(server.shutdown)
  logging.info("RAPI daemon serving %s on %s:%s", "HTTPS" if ctx.options.ssl else "HTTP",
               ctx.options.bind, ctx.options.port)
  try:
    server.serve_forever(poll_interval=0.5)
  finally:
    server.server_close()
  return daemon.EXIT_SUCCESS


def Main() -> int:
  return daemon.RunDaemon(constants.RAPI, _serve, check_fn=_check, prepare_fn=_prepare,
                          parser_setup=_add_options)
