"""Reading a command line against its options (ganeti.cli_opts).

Command lines are read the way optparse reads them, with interspersed
arguments disabled as in Ganeti's tools.  Most are read here directly: the
option names given in full, each value good for its type.  Anything else
(--help, an abbreviated or unknown option, a missing or bad value) goes to
optparse itself, which prints the same help and the same errors as Ganeti's
tools do.  optparse brings textwrap, gettext, locale and re (with enum)
along: on the slow CPUs of small nodes that is about 0.1 s more for every
gnt-* command, which a well-formed command line does not need to pay.
"""

from __future__ import annotations

TYPE_CHECKING = False  # no typing at run time: see ganeti/__init__.py
if TYPE_CHECKING:
  from typing import Any, Optional, Sequence

from ganeti import cli_opts


class Values:
  """Parsed options as attributes, one per destination (as optparse's)."""

  def __init__(self, values: dict[str, Any]) -> None:
    self.__dict__.update(values)

  def __eq__(self, other: Any) -> bool:
    return isinstance(other, Values) and vars(self) == vars(other)

  def __repr__(self) -> str:
    return "<Values %r>" % vars(self)


class _Unsure(Exception):
  """The command line needs optparse: help, a mistake or an abbreviation."""


def _Fresh(value: Any) -> Any:
  """A copy of a default that an "append" or a command may fill, so that the
  option's own default object stays as declared."""
  if isinstance(value, list):
    return [_Fresh(item) for item in value]
  if isinstance(value, dict):
    return {key: _Fresh(item) for key, item in value.items()}
  if isinstance(value, set):
    return set(value)
  return value


def _Convert(option: cli_opts.CliOption, opt: str, value: str) -> Any:
  """value as option's type makes it; _Unsure where optparse might differ."""
  kind = option.type
  if kind == "string":
    return value
  if kind == "int":
    digits = value[1:] if value[:1] == "-" else value
    # optparse reads "0x10", "010" and "0b1" in their bases: left to it
    if not (digits.isascii() and digits.isdigit()) or (digits[0] == "0" and digits != "0"):
      raise _Unsure()
    return int(value)
  if kind == "float":
    try:
      return float(value)
    except ValueError:
      raise _Unsure() from None
  if kind == "choice":
    if value not in option.attrs["choices"]:
      raise _Unsure()
    return value
  checker = cli_opts.TYPE_CHECKERS.get(kind)
  if checker is None:
    raise _Unsure()
  try:
    return checker(opt, value)
  except Exception:  # pylint: disable=broad-except
    raise _Unsure() from None


def _Defaults(options: Sequence[cli_opts.CliOption]) -> dict[str, Any]:
  """Every destination's value before the command line: its option's default
  (the last one given, for shared destinations) or None; string defaults of
  typed options read as their type, as optparse reads them."""
  defaults: dict[str, Any] = {}
  for option in options:
    if option.dest is None:
      continue
    if "default" in option.attrs:
      defaults[option.dest] = option.attrs["default"]
    elif option.dest not in defaults:
      defaults[option.dest] = None
  for option in options:
    value = defaults.get(option.dest)
    if isinstance(value, str) and option.type is not None:
      defaults[option.dest] = _Convert(option, option.opt_string, value)
  return {dest: _Fresh(value) for dest, value in defaults.items()}


def _Store(option: cli_opts.CliOption, opt: str, value: Optional[str],
           values: dict[str, Any]) -> None:
  if option.type is not None:
    value = _Convert(option, opt, value)
  action, dest = option.action, option.dest
  if action == "store":
    values[dest] = value
  elif action == "store_const":
    values[dest] = option.attrs.get("const")
  elif action in ("store_true", "store_false"):
    values[dest] = action == "store_true"
  elif action in ("append", "append_const"):
    if values.get(dest) is None:
      values[dest] = []
    values[dest].append(value if action == "append" else option.attrs.get("const"))
  elif action == "count":
    values[dest] = (values.get(dest) or 0) + 1
  else:
    raise _Unsure()


# the keywords read here; options with others (nargs, callback, ...) go to optparse
_KEYWORDS = frozenset(["dest", "action", "type", "default", "const", "choices", "metavar",
                       "help"])


def _Named(by_name: dict[str, cli_opts.CliOption], name: str) -> cli_opts.CliOption:
  option = by_name.get(name)
  if option is None or not _KEYWORDS.issuperset(option.attrs):
    raise _Unsure()  # unknown, abbreviated, -h/--help, or beyond this reader
  return option


def _TakeValue(inline: Optional[str], remaining: list[str]) -> str:
  """An option's value: given with its name, or else the next argument."""
  if inline is not None:
    return inline
  if not remaining:
    raise _Unsure()
  return remaining.pop(0)


def _ParseDirectly(options: Sequence[cli_opts.CliOption],
                   argv: Sequence[str]) -> tuple[Values, list[str]]:
  by_name = {name: option for option in options for name in option.names}
  values = _Defaults(options)
  remaining = list(argv)
  while remaining and remaining[0].startswith("-") and remaining[0] != "-":
    arg = remaining.pop(0)
    if arg == "--":
      break
    if arg.startswith("--"):
      name, explicit, inline = arg.partition("=")
      option = _Named(by_name, name)
      if option.type is None and explicit:
        raise _Unsure()
      _Store(option, name, None if option.type is None else
             _TakeValue(inline if explicit else None, remaining), values)
      continue
    # one or more short options: "-fv", "-ovalue", "-o value"
    for position in range(1, len(arg)):
      name = "-" + arg[position]
      option = _Named(by_name, name)
      if option.type is None:
        _Store(option, name, None, values)
        continue
      _Store(option, name, _TakeValue(arg[position + 1:] or None, remaining), values)
      break
  return Values(values), remaining


def _ParseWithOptparse(options: Sequence[cli_opts.CliOption], argv: Sequence[str],
                       usage: Optional[str], description: Optional[str],
                       prog: Optional[str]) -> tuple[Values, list[str]]:
  parser = BuildOptparseParser(options, usage, description, prog)
  values, args = parser.parse_args(list(argv))
  return Values(vars(values)), args


def BuildOptparseParser(options: Sequence[cli_opts.CliOption], usage: Optional[str] = None,
                        description: Optional[str] = None, prog: Optional[str] = None) -> Any:
  """The optparse parser of options (for help, mistakes, and tests)."""
  import copy  # pylint: disable=import-outside-toplevel
  import optparse  # pylint: disable=import-outside-toplevel

  def Checker(check: Any) -> Any:
    def Checked(_option: Any, opt: str, value: str) -> Any:
      try:
        return check(opt, value)
      except cli_opts.OptionValueError as err:
        raise optparse.OptionValueError(str(err)) from None
    return Checked

  class Option(optparse.Option):
    TYPES = optparse.Option.TYPES + tuple(cli_opts.TYPE_CHECKERS)
    TYPE_CHECKER = dict(optparse.Option.TYPE_CHECKER,
                        **{name: Checker(check) for name, check in cli_opts.TYPE_CHECKERS.items()})

  parser = optparse.OptionParser(
    option_list=[Option(*option.names, **option.attrs) for option in options],
    usage=usage, description=description, prog=prog,
    formatter=optparse.TitledHelpFormatter())
  parser.disable_interspersed_args()
  # optparse hands out the options' default objects themselves; lists and dicts
  # filled by "append" or changed by commands must not carry over to the next parse
  parser.defaults = copy.deepcopy(parser.defaults)
  return parser


def Parse(options: Sequence[cli_opts.CliOption], argv: Sequence[str],
          usage: Optional[str] = None, description: Optional[str] = None,
          prog: Optional[str] = None) -> tuple[Values, list[str]]:
  """(options, arguments) of argv, as optparse would read them; optparse's
  help and usage errors (SystemExit) and the option types' errors otherwise."""
  try:
    return _ParseDirectly(options, argv)
  except _Unsure:
    return _ParseWithOptparse(options, argv, usage, description, prog)
