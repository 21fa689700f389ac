"""From an HTTP request to a RAPI answer: routing, rights, arguments, errors.

Errors are answered as Ganeti does: JSON {"code", "message", "explain"},
where explain is the standard description of the status code and message
is HTML-escaped.  401 answers carry the Basic realm "Ganeti Remote API".
"""

import dataclasses
import html
import http
import json
import logging
import threading
import urllib.parse
from typing import Any, Callable

from ganeti import errors
from ganeti import luxi
from ganeti import rapi
from ganeti.rapi import auth
from ganeti.rapi import handlers
from ganeti.rapi import resources
from ganeti.rapi.handlers import HttpError

JSON_TYPE = "application/json"


@dataclasses.dataclass
class Request:
  method: str
  target: str  # path and query string as sent
  headers: Any  # email.message.Message-like: .get(name)
  body: bytes
  client: str  # the peer's address, for the log


@dataclasses.dataclass
class Response:
  status: int
  body: bytes
  headers: dict[str, str] = dataclasses.field(default_factory=dict)


def _Encode(value: Any) -> bytes:
  # Ganeti ends every answer with a newline
  return (json.dumps(value) + "\n").encode("utf-8")


def ErrorResponse(err: HttpError) -> Response:
  status = http.HTTPStatus(err.code)
  data = {"code": err.code, "message": html.escape(err.message),
          "explain": status.description}
  return Response(err.code, _Encode(data), dict(err.headers))


def _ParseArg(arg: resources.Arg, values: list[str]) -> Any:
  if arg.kind == "list":
    return values
  value = values[0]
  if arg.kind == "str":
    return value
  if arg.kind == "csv":
    return [item for item in value.split(",") if item]
  try:
    number = int(value)
  except ValueError:
    raise handlers.BadRequest("Invalid value for the '%s' parameter" % arg.name) from None
  return bool(number) if arg.kind == "bool" else number


def _LuxiErrorResponse(err: Exception) -> HttpError:
  """The HTTP error for a failure reported by (or on the way to) the master."""
  if isinstance(err, (errors.JobQueueFull, errors.JobQueueDrainError)):
    return HttpError(503, str(err))
  if isinstance(err, luxi.RequestError):
    return HttpError(400, str(err.args[0] if err.args else err))
  if isinstance(err, (luxi.ProtocolError, OSError)):
    return HttpError(502, "Master daemon unreachable: %s" % (err,))
  if isinstance(err, errors.JobLost):
    return HttpError(404, "Job not found")
  if isinstance(err, errors.OpPrereqError):
    code = 404 if len(err.args) > 1 and err.args[1] == errors.ECODE_NOENT else 400
    return HttpError(code, handlers.ErrorText(err))
  if isinstance(err, (errors.ParameterError, errors.ParseError, errors.TagError,
                      errors.OpCodeUnknown)):
    return HttpError(400, handlers.ErrorText(err))
  return HttpError(502, "%s: %s" % (type(err).__name__, handlers.ErrorText(err)))


class Dispatcher:
  """Answers requests; one LUXI connection per serving thread."""

  def __init__(self, users: auth.UsersFile, require_authentication: bool = False,
               luxi_factory: Callable[[], luxi.Client] = luxi.Client) -> None:
    self._users = users
    self._require_auth = require_authentication
    self._luxi_factory = luxi_factory
    self._local = threading.local()

  def _Client(self) -> luxi.Client:
    client = getattr(self._local, "client", None)
    if client is None:
      client = self._local.client = self._luxi_factory()
    else:
      client.DropIfClosed()
    return client

  def _DropClient(self) -> None:
    client = getattr(self._local, "client", None)
    if client is not None:
      client.Close()
      self._local.client = None

  def _Authorize(self, request: Request, method: resources.Method, path: str) -> None:
    header = request.headers.get("Authorization")
    challenge = {"WWW-Authenticate": 'Basic realm="%s"' % rapi.AUTH_REALM}
    user = None
    if header:
      user = self._users.Authenticate(header)
      if user is None:
        credentials = auth.ParseBasicAuth(header)
        logging.warning("Authentication failed for user %r from %s (%s %s)",
                        credentials[0] if credentials else None, request.client,
                        request.method, path)
        raise HttpError(401, headers=challenge)
    if (method.access or self._require_auth) and user is None:
      raise HttpError(401, headers=challenge)
    if method.access and not set(method.access) & user.rights:
      logging.warning("User %s from %s lacks the rights for %s %s", user.name,
                      request.client, request.method, path)
      raise HttpError(403)

  def _Body(self, request: Request) -> Any:
    if not request.body:
      return None
    ctype = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ctype != JSON_TYPE:
      raise HttpError(415)
    try:
      return json.loads(request.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
      raise handlers.BadRequest("Unable to parse JSON data") from None

  def _Handle(self, request: Request) -> Any:
    split = urllib.parse.urlsplit(request.target)
    path = urllib.parse.unquote(split.path)
    matched = resources.Match(path)
    if matched is None:
      raise HttpError(404, "Not Found")
    resource, variables = matched
    method = resource.methods.get(request.method)
    if method is None:
      raise HttpError(501, "Method %s is unsupported for path %s" % (request.method, path))
    self._Authorize(request, method, path)
    body = self._Body(request)
    try:
      raw_args = urllib.parse.parse_qs(split.query, keep_blank_values=True)
    except ValueError:
      raise handlers.BadRequest("Invalid query string") from None
    args = {arg.name: _ParseArg(arg, raw_args[arg.name])
            for arg in method.args if arg.name in raw_args}
    call = handlers.Call(resource, method, variables, args, raw_args, body, self._Client())
    try:
      return handlers.HANDLERS[method.handler](call)
    except HttpError:
      raise
    except (luxi.ProtocolError, OSError) as err:
      self._DropClient()  # a broken connection is not reused
      raise _LuxiErrorResponse(err) from err
    except errors.GenericError as err:
      raise _LuxiErrorResponse(err) from err

  def __call__(self, request: Request) -> Response:
    try:
      value = self._Handle(request)
    except HttpError as err:
      return ErrorResponse(err)
    except Exception:  # a bug must not end the connection's thread
      logging.exception("Error while serving %s %s", request.method, request.target[:200])
      return ErrorResponse(HttpError(500, "Internal error"))
    return Response(200, _Encode(value))
