"""Tests of ganeti.qlang: the filter text parser and the command-line helpers.

Expected results were recorded from Ganeti 3.0's parser.
"""

import pytest

from ganeti import errors
from ganeti import qlang


def test_operator_constants():
  assert (qlang.OP_OR, qlang.OP_AND, qlang.OP_NOT, qlang.OP_TRUE) == ("|", "&", "!", "?")
  assert (qlang.OP_EQUAL, qlang.OP_EQUAL_LEGACY, qlang.OP_NOT_EQUAL) == ("==", "=", "!=")
  assert (qlang.OP_LT, qlang.OP_LE, qlang.OP_GT, qlang.OP_GE) == ("<", "<=", ">", ">=")
  assert (qlang.OP_REGEXP, qlang.OP_CONTAINS) == ("=~", "=[]")


@pytest.mark.parametrize("text, expected", [
  # conditions
  ("id > 5", [">", "id", 5]),
  ("x <= -3", ["<=", "x", -3]),
  ("x == +5", ["==", "x", 5]),
  ("x == 007", ["==", "x", 7]),
  ("x = 3", ["==", "x", 3]),
  ("a !=5", ["!=", "a", 5]),
  ("x >= '3'", [">=", "x", "3"]),
  ("x == 99999999999999999999", ["==", "x", 99999999999999999999]),
  ("name", ["?", "name"]),
  ("not offline", ["!", ["?", "offline"]]),
  ('"tag" in tags', ["=[]", "tags", "tag"]),
  ('"tag" not in tags', ["!", ["=[]", "tags", "tag"]]),
  ("'x' notin tags", ["!", ["=[]", "tags", "x"]]),
  ("'a' intags", ["=[]", "tags", "a"]),
  ("5 in tags", ["=[]", "tags", 5]),
  ("be/vcpus == 3", ["==", "be/vcpus", 3]),
  ("disk.size/0 > 1000", [">", "disk.size/0", 1000]),
  ("a//b", ["?", "a//b"]),
  ("a ==\n5", ["==", "a", 5]),
  # keywords can be field names where no operator fits
  ("and", ["?", "and"]),
  ("not", ["?", "not"]),
  ("not not", ["!", ["?", "not"]]),
  ("nota", ["?", "nota"]),
  # precedence: not > and > or, chains are flat
  ("a or b and c", ["|", ["?", "a"], ["&", ["?", "b"], ["?", "c"]]]),
  ("a and b or c", ["|", ["&", ["?", "a"], ["?", "b"]], ["?", "c"]]),
  ("not a and b", ["&", ["!", ["?", "a"]], ["?", "b"]]),
  ("not (a and b)", ["!", ["&", ["?", "a"], ["?", "b"]]]),
  ("(a or b) and c", ["&", ["|", ["?", "a"], ["?", "b"]], ["?", "c"]]),
  ("a and b and c", ["&", ["?", "a"], ["?", "b"], ["?", "c"]]),
  ("not not a", ["!", ["!", ["?", "a"]]]),
  ("((a))", ["?", "a"]),
  ("a and(b)", ["&", ["?", "a"], ["?", "b"]]),
  ("x==5 and(y==6)", ["&", ["==", "x", 5], ["==", "y", 6]]),
  ("name=='x'and y", ["&", ["==", "name", "x"], ["?", "y"]]),
  ("x == 1 and y == 2 and z == 3 or w == 4",
   ["|", ["&", ["==", "x", 1], ["==", "y", 2], ["==", "z", 3]], ["==", "w", 4]]),
  ('status == "success" and id > 5', ["&", ["==", "status", "success"], [">", "id", 5]]),
  # quoting: escapes are kept as written, doubled quotes stay in the string
  ("name == 'single'", ["==", "name", "single"]),
  ('name == "dq \\" esc"', ["==", "name", 'dq \\" esc']),
  ("name == 'sq \\' esc'", ["==", "name", "sq \\' esc"]),
  ('name == "a\\nb"', ["==", "name", "a\\nb"]),
  ("""x=="'\"""", ["==", "x", "'"]),
  ('x == ""', ["==", "x", ""]),
  ('"dq""dq" in tags', ["=[]", "tags", 'dq""dq']),
  # regular expressions: delimiters, flags, escapes resolved
  ("name =~ m/^node/", ["=~", "name", "^node"]),
  ("name =~ /x/", ["=~", "name", "x"]),
  ("name =~ m/^node/i", ["=~", "name", "(?i)^node"]),
  ("name =~ m/^node/si", ["=~", "name", "(?is)^node"]),
  ("name =~ m/x/ii", ["=~", "name", "(?ii)x"]),
  ("name =~ m/x/ i", ["=~", "name", "(?i)x"]),
  ("name =~ m#^no/de#", ["=~", "name", "^no/de"]),
  ("name =~ m^x^", ["=~", "name", "x"]),
  ("name =~ m|a\\|b|", ["=~", "name", "a|b"]),
  ("name =~ m/a\\/b/", ["=~", "name", "a/b"]),
  ("name =~ m/\\d+/", ["=~", "name", "d+"]),
  ("name =~ m/a\\nb/", ["=~", "name", "a\nb"]),
  ("name !~ m/x/", ["!", ["=~", "name", "x"]]),
  ("name =~ m/x/i and y", ["&", ["=~", "name", "(?i)x"], ["?", "y"]]),
  # globs
  ('name =* "web*.example.com"', ["=~", "name", "^web[^.]*\\.example\\.com(\\..*)?$"]),
  ('name !* "web?.ex.com"', ["!", ["=~", "name", "^web[^.]\\.ex\\.com(\\..*)?$"]]),
  ("name =* 'a\\*b'", ["=~", "name", "^a\\\\[^.]*b(\\..*)?$"]),
  ('name =* ""', ["=~", "name", "^(\\..*)?$"]),
])
def test_parse(text, expected):
  assert qlang.ParseFilter(text) == expected


@pytest.mark.parametrize("text, detail", [
  ("x == 5.5", "Expected end of text, found '.'  (at char 6), (line:1, col:7)"),
  ("x == 0x10", "Expected end of text, found 'x10'  (at char 6), (line:1, col:7)"),
  ("a-b == 1", "Expected end of text, found '-'  (at char 1), (line:1, col:2)"),
  ("name == ", "Expected end of text, found '='  (at char 5), (line:1, col:6)"),
  ('name == "unterminated', "Expected end of text, found '='  (at char 5), (line:1, col:6)"),
  ("a and", "Expected end of text, found 'and'  (at char 2), (line:1, col:3)"),
  ("a andb", "Expected end of text, found 'andb'  (at char 2), (line:1, col:3)"),
  ("a==5or b", "Expected end of text, found 'or'  (at char 4), (line:1, col:5)"),
  ("NOT a", "Expected end of text, found 'a'  (at char 4), (line:1, col:5)"),
  ("x in tags", "Expected end of text, found 'in'  (at char 2), (line:1, col:3)"),
  ("a\\b", "Expected end of text, found '\\'  (at char 1), (line:1, col:2)"),
  ("a'b", "Expected end of text, found \"'\"  (at char 1), (line:1, col:2)"),
  ("(a)(b)", "Expected end of text, found '('  (at char 3), (line:1, col:4)"),
  ("not (name !~ /y/ and x != 's') or x<=-3",
   "Expected end of text, found '('  (at char 4), (line:1, col:5)"),
  ("== 5", "Expected Suppress:('or') term, found '='  (at char 0), (line:1, col:1)"),
  ("(a and b", "Expected Suppress:('or') term, found end of text  (at char 8), (line:1, col:9)"),
  ('"x"', "Expected Suppress:('or') term, found end of text  (at char 3), (line:1, col:4)"),
  ('"a" in "b"', "Expected Suppress:('or') term, found '\"'  (at char 7), (line:1, col:8)"),
  ("1abc == 1", "Expected Suppress:('or') term, found 'abc'  (at char 1), (line:1, col:2)"),
  ("_x == 1", "Expected Suppress:('or') term, found '_'  (at char 0), (line:1, col:1)"),
  ("\u00e9not in!", "Expected Suppress:('or') term, found '\u00e9not'  (at char 0), (line:1, col:1)"),
  ("()", "Expected Suppress:('or') term, found ')'  (at char 1), (line:1, col:2)"),
  ("", "Expected Suppress:('or') term  (at char 0), (line:1, col:1)"),
  (" ", "Expected Suppress:('or') term, found end of text  (at char 1), (line:1, col:2)"),
  ('"a\nb"', "Expected Suppress:('or') term, found '\\n'  (at char 2), (line:1, col:3)"),
  ("'\\\n", "Expected Suppress:('or') term, found end of text  (at char 3), (line:2, col:1)"),
  ("name =~ m/x/g", "Unknown regular expression flags: 'g'  (at char 8), (line:1, col:9)"),
  ("name =~ m/x/ig", "Unknown regular expression flags: 'g'  (at char 8), (line:1, col:9)"),
  ("name =~ m/x/ or y", "Unknown regular expression flags: 'or'  (at char 8), (line:1, col:9)"),
  ("name =~ m/(/",
   "Invalid regular expression (missing ), unterminated subpattern at position 0)"
   "  (at char 8), (line:1, col:9)"),
])
def test_parse_errors(text, detail):
  with pytest.raises(errors.QueryFilterParseError) as info:
    qlang.ParseFilter(text)
  assert info.value.args == ("Failed to parse query filter '%s': %s" % (text, detail), detail)


def test_parse_error_details():
  with pytest.raises(errors.QueryFilterParseError) as info:
    qlang.ParseFilter("x == 5.5")
  assert info.value.GetDetails() == [
    "x == 5.5", "      ^", "Expected end of text, found '.'  (at char 6), (line:1, col:7)"]
  with pytest.raises(errors.QueryFilterParseError) as info:
    qlang.ParseFilter("a and\nb ==")
  assert info.value.GetDetails() == [
    "b ==", "  ^", "Expected end of text, found '='  (at char 8), (line:2, col:3)"]
  # Ganeti leaves the line out for invalid regular expressions
  with pytest.raises(errors.QueryFilterParseError) as info:
    qlang.ParseFilter("name =~ m/x/g")
  assert info.value.GetDetails()[:2] == ["", "        ^"]


def test_long_filters_parse_quickly():
  text = " and ".join("(x%d == %d or not y%d)" % (i, i, i) for i in range(300))
  result = qlang.ParseFilter(text)
  assert result[0] == "&" and len(result) == 301
  assert qlang.ParseFilter("(" * 20 + "a" + ")" * 20) == ["?", "a"]


@pytest.mark.parametrize("pattern, regexp", [
  ("web*.example.com", "^web[^.]*\\.example\\.com(\\..*)?$"),
  ("inst-1*", "^inst\\-1[^.]*(\\..*)?$"),
  ("a_b?", "^a_b[^.](\\..*)?$"),
  ("a$b*", "^a\\$b[^.]*(\\..*)?$"),
])
def test_glob(pattern, regexp):
  assert qlang.GlobToRegexp(pattern) == regexp


def test_make_simple_filter():
  assert qlang.MakeSimpleFilter("name", ["a", "b"]) == \
    ["|", ["==", "name", "a"], ["==", "name", "b"]]
  assert qlang.MakeSimpleFilter("id", [1, 2]) == ["|", ["==", "id", 1], ["==", "id", 2]]
  assert qlang.MakeSimpleFilter("name", ["a*"]) == ["|", ["==", "name", "a*"]]
  assert qlang.MakeSimpleFilter("name", []) is None
  assert qlang.MakeSimpleFilter("name", None) is None


@pytest.mark.parametrize("args, expected", [
  ((["foo"], False, "name"), ["|", ["==", "name", "foo"]]),
  ((["foo", "bar"], False, "name"), ["|", ["==", "name", "foo"], ["==", "name", "bar"]]),
  ((["foo*", "bar"], False, "name"),
   ["|", ["=~", "name", "^foo[^.]*(\\..*)?$"], ["==", "name", "bar"]]),
  ((["*"], False, "name"), ["|", ["=~", "name", "^[^.]*(\\..*)?$"]]),
  ((["a[b]", "node1.example.com", "inst-1", "a#b"], False, "name"),
   ["|", ["==", "name", "a[b]"], ["==", "name", "node1.example.com"],
    ["==", "name", "inst-1"], ["==", "name", "a#b"]]),
  # one argument that looks like a filter is one
  ((["name == 5"], False, "name"), ["==", "name", 5]),
  ((["not offline"], False, "name"), ["!", ["?", "offline"]]),
  ((["x=5"], False, "name"), ["==", "x", 5]),
  ((["(x)"], False, "name"), ["?", "x"]),
  ((["a/b"], False, "name"), ["?", "a/b"]),
  ((["x == 5"], False, "id", True), ["==", "x", 5]),
  # a name that could be a field needs --filter
  ((["offline"], False, "name"), ["|", ["==", "name", "offline"]]),
  ((["offline"], True, "name"), ["?", "offline"]),
  # several arguments are always names
  ((["a=b", "c"], False, "name"), ["|", ["==", "name", "a=b"], ["==", "name", "c"]]),
  ((["x"], False, None), ["|", ["==", "name", "x"]]),
  # job IDs
  ((["5", "6"], False, "id", True), ["|", ["==", "id", 5], ["==", "id", 6]]),
  ((["5"], False, "id"), ["|", ["==", "id", "5"]]),
  (([], False, "name"), None),
])
def test_make_filter(args, expected):
  assert qlang.MakeFilter(*args) == expected


@pytest.mark.parametrize("args, error, message", [
  (([], True, "name"), errors.OpPrereqError,
   ("Exactly one argument must be given as a filter", errors.ECODE_INVAL)),
  ((["a", "b"], True, "name"), errors.OpPrereqError,
   ("Exactly one argument must be given as a filter", errors.ECODE_INVAL)),
  ((["5", "x"], False, "id", True), errors.OpPrereqError,
   ("Invalid job ID passed: invalid literal for int() with base 10: 'x'",
    errors.ECODE_INVAL)),
  ((["5*"], False, "id", True), errors.OpPrereqError,
   ("Invalid job ID passed: invalid literal for int() with base 10: '5*'",
    errors.ECODE_INVAL)),
])
def test_make_filter_errors(args, error, message):
  with pytest.raises(error) as info:
    qlang.MakeFilter(*args)
  assert info.value.args == message


@pytest.mark.parametrize("arg", ["a b", "!x", "a\\b", "a'b", "x y"])
def test_make_filter_reports_parse_errors(arg):
  with pytest.raises(errors.QueryFilterParseError):
    qlang.MakeFilter([arg], False, "name")
