"""Tests of ganeti.cli_parse: command lines read directly as optparse reads
them, and optparse itself for help, mistakes and abbreviations."""

import importlib
import pkgutil

import pytest

from ganeti import cli
from ganeti import cli_parse
from ganeti import client
from ganeti import constants
from ganeti import errors

# a value each option type accepts
_SAMPLES = {
  "string": "x1", "int": "7", "float": "2.5", "bool": "yes", "list": "a,b",
  "keyval": "a=1,no_b", "identkeyval": "0:size=1G", "keyprivateval": "a=1",
  "multilistidentkeyval": "min:a=1/max:a=2", "unit": "1G", "maybefloat": "0.5",
  "priority": "high", "json": '{"a": [1]}', "filteraction": "RATE_LIMIT 3",
}


def _Sample(option):
  return option.attrs["choices"][-1] if option.type == "choice" else _SAMPLES[option.type]


def _Commands():
  """(tool, command, options) of every gnt-* tool's commands."""
  found = []
  for module_info in pkgutil.iter_modules(client.__path__):
    if not module_info.name.startswith("gnt_"):
      continue
    module = importlib.import_module("ganeti.client." + module_info.name)
    for name, entry in sorted(getattr(module, "commands", {}).items()):
      found.append((module_info.name, name, list(entry[2]) + cli.COMMON_OPTS))
  return found


_COMMANDS = _Commands()


def _BothWays(options, argv):
  """The command line read directly and by optparse; both must agree."""
  direct = cli_parse._ParseDirectly(options, argv)  # pylint: disable=protected-access
  values, args = cli_parse.BuildOptparseParser(options).parse_args(list(argv))
  assert direct == (cli_parse.Values(vars(values)), args)
  return direct


def _Forms(option):
  """Ways to give the option on a command line, one argv piece each."""
  if option.type is None:
    return [[name] for name in option.names]
  value = _Sample(option)
  forms = []
  for name in option.names:
    forms.append([name, value])
    forms.append([name + "=" + value] if name.startswith("--") else [name + value])
  return forms


def test_every_tool_has_commands():
  assert len({tool for tool, _, _ in _COMMANDS}) >= 11
  assert len(_COMMANDS) > 120


@pytest.mark.parametrize("tool, command, options", _COMMANDS,
                         ids=["%s-%s" % (tool, cmd) for tool, cmd, _ in _COMMANDS])
def test_commands_read_directly_as_optparse_reads_them(tool, command, options):
  # optparse accepts the definitions (no conflicting names, valid keywords)
  parser = cli_parse.BuildOptparseParser(options)
  assert parser.parse_args([])[1] == []
  _BothWays(options, [])
  for option in options:
    for form in _Forms(option):
      _BothWays(options, form + ["arg", "--debug"])
  # all options at once, each by its first form, then arguments
  argv = [piece for option in options for piece in _Forms(option)[0]]
  _BothWays(options, argv + ["--", "-x", "y"])


def test_short_options_grouped_and_counted():
  options = [cli.FORCE_OPT, cli.VERBOSE_OPT, cli.FIELDS_OPT] + cli.COMMON_OPTS
  values, args = _BothWays(options, ["-fvvd", "-oname,os", "inst", "-v"])
  assert (values.force, values.verbose, values.debug, values.output) == (True, 2, 1, "name,os")
  assert args == ["inst", "-v"]
  values, args = _BothWays(options, ["-vo", "name", "-", "x"])
  assert (values.verbose, values.output, args) == (1, "name", ["-", "x"])


def test_values_may_look_like_options():
  values, args = _BothWays(cli.COMMON_OPTS, ["--reason", "--debug", "-d", "--", "--reason"])
  assert (values.reason, values.debug, args) == ("--debug", 1, ["--reason"])


def test_appended_defaults_stay_as_declared():
  options = [cli.NET_OPT]
  first = cli_parse.Parse(options, ["--net", "0:link=br0"])[0]
  second = cli_parse.Parse(options, [])[0]
  assert first.nics == [("0", {"link": "br0"})] and second.nics == []
  assert cli.NET_OPT.attrs["default"] == []


def test_shared_destinations_and_string_defaults():
  options = [cli.PENDING_OPT, cli.QUEUED_OPT,
             cli.CliOption("--size", dest="size", type="unit", default="1G")]
  values, _ = _BothWays(options, ["--queued"])
  assert values.status_filter == frozenset([constants.JOB_STATUS_QUEUED])
  assert values.size == 1024
  assert _BothWays(options, [])[0].status_filter is None


def test_options_with_other_keywords_go_to_optparse():
  pair = cli.CliOption("--pair", dest="pair", nargs=2)
  with pytest.raises(cli_parse._Unsure):  # pylint: disable=protected-access
    cli_parse._ParseDirectly([pair], ["--pair", "a", "b"])  # pylint: disable=protected-access
  assert cli_parse.Parse([pair], ["--pair", "a", "b", "c"]) == (
    cli_parse.Values({"pair": ("a", "b")}), ["c"])


@pytest.mark.parametrize("argv, wait_for_sync, count", [
  (["--no-wait"], False, None),           # an abbreviation
  (["--count", "010"], True, 8),          # numbers in other bases, as optparse reads them
  (["--count", "0x10"], True, 16),
])
def test_what_optparse_reads_differently_goes_to_it(argv, wait_for_sync, count):
  options = [cli.NWSYNC_OPT, cli.CliOption("--count", dest="count", type="int")]
  with pytest.raises(cli_parse._Unsure):  # pylint: disable=protected-access
    cli_parse._ParseDirectly(options, argv)  # pylint: disable=protected-access
  values, args = cli_parse.Parse(options, argv)
  assert (values.wait_for_sync, values.count, args) == (wait_for_sync, count, [])


@pytest.mark.parametrize("argv, message", [
  (["--bogus"], "gnt-x: error: no such option: --bogus"),
  (["--force=yes"], "gnt-x: error: --force option does not take a value"),
  (["--priority"], "gnt-x: error: --priority option requires 1 argument"),
  (["--priority", "top"],
   "gnt-x: error: option --priority: invalid choice: 'top' (choose from 'low', 'normal', 'high')"),
  (["-s", "big"], "gnt-x: error: option -s: Invalid format"),
  (["--units", "k"],
   "gnt-x: error: option --units: invalid choice: 'k' (choose from 'h', 'm', 'g', 't')"),
  (["--interval", "soon"], "gnt-x: error: option --interval: invalid integer value: 'soon'"),
])
def test_mistakes_get_optparse_messages(argv, message, capsys):
  options = [cli.FORCE_OPT, cli.PRIORITY_OPT, cli.OS_SIZE_OPT, cli.UNITS_OPT, cli.INTERVAL_OPT]
  with pytest.raises(SystemExit) as info:
    cli_parse.Parse(options, argv, usage="gnt-x cmd <name>", prog="gnt-x")
  assert info.value.code == 2
  err = capsys.readouterr().err
  assert err == "Usage\n=====\n  gnt-x cmd <name>\n\n%s\n" % message


def test_type_errors_of_ganeti_values_are_raised_as_such():
  with pytest.raises(errors.ParameterError, match="Duplicate key 'a'"):
    cli_parse.Parse([cli.BACKEND_OPT], ["-B", "a=1,a=2"])


def test_help_is_optparse_help(capsys):
  with pytest.raises(SystemExit) as info:
    cli_parse.Parse([cli.FORCE_OPT] + cli.COMMON_OPTS, ["--help"], usage="gnt-x cmd",
                    description="Does things", prog="gnt-x")
  assert info.value.code == 0
  out = capsys.readouterr().out
  assert out.startswith("Usage\n=====\n  gnt-x cmd\n\nDoes things\n\nOptions\n=======\n")
  assert "--force, -f " in out and "--reason=REASON " in out
