"""The query filter language: list form, text parser and command-line helpers.

A filter in list form is ``[operator, operands...]``::

  ["&", ["==", "status", "success"], [">", "id", 5]]

The text form (``gnt-* list --filter``) reads like Python with a little Perl:
``status == "success" and id > 5``, ``name =~ m/^node/i``, ``not offline``,
``"tag" in tags``, ``name =* "web*"``.  ParseFilter turns text into list form,
reporting errors the way Ganeti 3.0's parser words them.  The parser is a
recursive descent with the backtracking rules of the grammar Ganeti uses, so
that the reported error position and wording match.
"""

import re
import string
from typing import Any, Callable, Optional

from ganeti import errors

OP_OR = "|"
OP_AND = "&"
OP_NOT = "!"
OP_TRUE = "?"
OP_EQUAL = "=="
OP_EQUAL_LEGACY = "="
OP_NOT_EQUAL = "!="
OP_LT = "<"
OP_LE = "<="
OP_GT = ">"
OP_GE = ">="
OP_REGEXP = "=~"
OP_CONTAINS = "=[]"

# A single command-line argument containing one of these is read as a filter
FILTER_DETECTION_CHARS = frozenset("()=/!~'\"\\<>" + string.whitespace)
# A name containing one of these is a glob pattern
GLOB_DETECTION_CHARS = frozenset("*?")

_WHITESPACE = " \t\n\r"
_KEYWORD_CHARS = frozenset(string.ascii_letters + string.digits + "_$")
_FIELD_RE = re.compile(r"[A-Za-z][A-Za-z0-9_./]*")
_NUMBER_RE = re.compile(r"[+-]?\d+")
_FLAGS_RE = re.compile(r"[A-Za-z]+")
_ESCAPE_RE = re.compile(r"\\(?:x[0-9a-fA-F]+|[^x])")
_FOUND_WORD_RE = re.compile(r"[^\W_]{1,16}")
_REGEXP_DELIMITERS = "/#^|"
_REGEXP_FLAGS = frozenset("is")
# Escapes in regular expressions that stand for whitespace characters
_REGEXP_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f"}
# Comparison operators, longest first so that "<=" is not read as "<"
_COMPARISONS = ("==", "!=", "<=", ">=", "<", ">", "=")
_TOP_EXPECTATION = "Expected Suppress:('or') term"


class FilterParseError(errors.QueryFilterParseError):
  """A filter text could not be parsed.

  args are (message, detail); GetDetails gives the offending line, a caret
  under the error position and the detail, as Ganeti prints them.
  """

  def __init__(self, text: str, detail: str, loc: int, show_line: bool = True) -> None:
    super().__init__("Failed to parse query filter '%s': %s" % (text, detail), detail)
    line_start = text.rfind("\n", 0, loc) + 1
    line_end = text.find("\n", loc)
    # Ganeti leaves the line out for invalid regular expressions
    self.line = text[line_start:line_end if line_end >= 0 else len(text)] if show_line else ""
    self.column = loc - line_start + 1

  def GetDetails(self) -> list[str]:
    return [self.line, " " * (self.column - 1) + "^", self.args[1]]


class _Mismatch(Exception):
  """An element of the grammar does not match at loc; alternatives may follow."""

  def __init__(self, loc: int) -> None:
    super().__init__(loc)
    self.loc = loc


class _Fatal(Exception):
  """A matched element is invalid (bad regular expression); no backtracking."""

  def __init__(self, message: str, loc: int) -> None:
    super().__init__(message, loc)
    self.message = message
    self.loc = loc


def _Position(text: str, loc: int) -> str:
  line = text.count("\n", 0, loc) + 1
  column = loc - (text.rfind("\n", 0, loc) + 1) + 1
  return "(at char %d), (line:%d, col:%d)" % (loc, line, column)


def _Found(text: str, loc: int) -> str:
  """What the parser found at loc, in the wording of error messages."""
  if not text:
    return ""
  if loc >= len(text):
    return ", found end of text"
  word = _FOUND_WORD_RE.match(text, loc)
  found = word.group(0) if word else text[loc]
  # Ganeti shows a backslash single, within repr's quotes
  return (", found %r" % found).replace("\\\\", "\\")


def GlobToRegexp(pattern: str) -> str:
  """A regular expression matching names like the glob pattern.

  "*" and "?" do not cross a dot; a match may be followed by a domain.
  """
  parts = ["[^.]*" if char == "*" else "[^.]" if char == "?" else re.escape(char)
           for char in pattern]
  return "^%s(\\..*)?$" % "".join(parts)


class _Parser:
  """One parse of one filter text."""

  def __init__(self, text: str) -> None:
    self.text = text
    # (level, position, actions) -> (result, end) or the _Mismatch it raised
    self._memo: dict[tuple, Any] = {}

  # ---- tokens ------------------------------------------------------------

  def _Skip(self, pos: int) -> int:
    text = self.text
    while pos < len(text) and text[pos] in _WHITESPACE:
      pos += 1
    return pos

  def _Literal(self, pos: int, literal: str) -> int:
    pos = self._Skip(pos)
    if not self.text.startswith(literal, pos):
      raise _Mismatch(pos)
    return pos + len(literal)

  def _Keyword(self, pos: int, keyword: str) -> int:
    text = self.text
    pos = self._Skip(pos)
    end = pos + len(keyword)
    if (not text.startswith(keyword, pos) or
        (end < len(text) and text[end] in _KEYWORD_CHARS) or
        (pos > 0 and text[pos - 1] in _KEYWORD_CHARS)):
      raise _Mismatch(pos)
    return end

  def _Regex(self, pos: int, regex: re.Pattern) -> tuple[str, int]:
    pos = self._Skip(pos)
    match = regex.match(self.text, pos)
    if not match:
      raise _Mismatch(pos)
    return match.group(0), match.end()

  def _Field(self, pos: int) -> tuple[str, int]:
    return self._Regex(pos, _FIELD_RE)

  def _Quoted(self, pos: int) -> tuple[str, int]:
    """A string in single or double quotes, returned as written inside them.

    A backslash escapes the next character (or starts \\xHH), a doubled quote
    stands for itself; strings do not span lines.  An unterminated string
    fails where scanning got stuck.
    """
    text = self.text
    pos = self._Skip(pos)
    if pos >= len(text) or text[pos] not in "'\"":
      raise _Mismatch(pos)
    quote = text[pos]
    index = pos + 1
    while index < len(text):
      char = text[index]
      if char == quote:
        if not text.startswith(quote, index + 1):
          return text[pos + 1:index], index + 1
        index += 2
      elif char == "\\":
        escape = _ESCAPE_RE.match(text, index)
        if not escape:
          break
        index = escape.end()
      elif char in "\n\r":
        break
      else:
        index += 1
    raise _Mismatch(index)

  def _Value(self, pos: int) -> tuple[Any, int]:
    try:
      return self._Quoted(pos)
    except _Mismatch as quoted_err:
      try:
        number, end = self._Regex(pos, _NUMBER_RE)
      except _Mismatch as number_err:
        raise _Mismatch(max(quoted_err.loc, number_err.loc)) from None
      return int(number), end

  def _RegexpBody(self, pos: int) -> tuple[str, int]:
    """/re/ with the delimiters of _REGEXP_DELIMITERS; escapes are resolved."""
    text = self.text
    if pos >= len(text) or text[pos] not in _REGEXP_DELIMITERS:
      raise _Mismatch(pos)
    delimiter = text[pos]
    chars = []
    index = pos + 1
    while index < len(text):
      char = text[index]
      if char == "\\" and index + 1 < len(text):
        escaped = text[index + 1]
        chars.append(_REGEXP_ESCAPES.get(escaped, escaped))
        index += 2
      elif char == delimiter:
        return "".join(chars), index + 1
      else:
        chars.append(char)
        index += 1
    raise _Mismatch(pos)

  def _Regexp(self, pos: int, actions: bool) -> tuple[str, int]:
    """m/re/flags as a Python regular expression with inline flags.

    Flags and expression are only checked when parse actions run.
    """
    start = self._Skip(pos)
    body, end = self._RegexpBody(start + 1 if self.text.startswith("m", start) else start)
    try:
      flags, end = self._Regex(end, _FLAGS_RE)
    except _Mismatch:
      flags = ""
    if not actions:
      return body, end
    unknown = set(flags) - _REGEXP_FLAGS
    if unknown:
      raise _Fatal("Unknown regular expression flags: '%s'" % "".join(sorted(unknown)),
                   start)
    if flags:
      body = "(?%s)%s" % ("".join(sorted(flags)), body)
    try:
      re.compile(body)
    except re.error as err:
      raise _Fatal("Invalid regular expression (%s)" % err, start) from None
    return body, end

  # ---- conditions ----------------------------------------------------------
  #
  # Each element takes the position to parse at and whether parse actions
  # run; lookaheads do not run them, so they accept invalid regular
  # expressions that the real parse then reports.

  def _Comparison(self, pos: int, _actions: bool) -> tuple[list, int]:
    field, pos = self._Field(pos)
    start = self._Skip(pos)
    for operator in _COMPARISONS:
      if self.text.startswith(operator, start):
        break
    else:
      raise _Mismatch(start)
    value, pos = self._Value(start + len(operator))
    if operator == OP_EQUAL_LEGACY:
      operator = OP_EQUAL
    return [operator, field, value], pos

  def _Membership(self, pos: int, _actions: bool) -> tuple[list, int]:
    value, pos = self._Value(pos)
    try:
      pos = self._Literal(pos, "not")
      negate = True
    except _Mismatch:
      negate = False
    pos = self._Literal(pos, "in")
    field, pos = self._Field(pos)
    condition = [OP_CONTAINS, field, value]
    return ([OP_NOT, condition] if negate else condition), pos

  def _RegexpMatch(self, pos: int, actions: bool) -> tuple[list, int]:
    field, pos = self._Field(pos)
    try:
      pos = self._Literal(pos, "=~")
      negate = False
    except _Mismatch:
      pos = self._Literal(pos, "!~")
      negate = True
    regexp, pos = self._Regexp(pos, actions)
    condition = [OP_REGEXP, field, regexp]
    return ([OP_NOT, condition] if negate else condition), pos

  def _Glob(self, pos: int, _actions: bool) -> tuple[list, int]:
    field, pos = self._Field(pos)
    try:
      pos = self._Literal(pos, "=*")
      negate = False
    except _Mismatch:
      pos = self._Literal(pos, "!*")
      negate = True
    pattern, pos = self._Quoted(pos)
    condition = [OP_REGEXP, field, GlobToRegexp(pattern)]
    return ([OP_NOT, condition] if negate else condition), pos

  def _BooleanCheck(self, pos: int, _actions: bool) -> tuple[list, int]:
    field, pos = self._Field(pos)
    return [OP_TRUE, field], pos

  # ---- expressions ---------------------------------------------------------

  @staticmethod
  def _FirstOf(pos: int, actions: bool, alternatives: tuple) -> tuple[Any, int]:
    """The first alternative matching at pos; else fail where one got furthest."""
    furthest = -1
    for alternative in alternatives:
      try:
        return alternative(pos, actions)
      except _Mismatch as err:
        furthest = max(furthest, err.loc)
    raise _Mismatch(furthest)

  def _Memoized(self, level: Callable, pos: int, actions: bool) -> tuple[Any, int]:
    key = (level, pos, actions)
    if key not in self._memo:
      try:
        self._memo[key] = level(pos, actions)
      except _Mismatch as err:
        self._memo[key] = err
    result = self._memo[key]
    if isinstance(result, _Mismatch):
      raise _Mismatch(result.loc)
    return result

  def _Condition(self, pos: int, actions: bool) -> tuple[list, int]:
    return self._FirstOf(pos, actions, (self._Comparison, self._Membership,
                                        self._RegexpMatch, self._Glob, self._BooleanCheck))

  def _Parenthesized(self, pos: int, actions: bool) -> tuple[Any, int]:
    pos = self._Literal(pos, "(")
    inner, pos = self._Memoized(self._OrLevel, pos, actions)
    return inner, self._Literal(pos, ")")

  def _Operand(self, pos: int, actions: bool) -> tuple[Any, int]:
    return self._FirstOf(pos, actions, (self._Condition, self._Parenthesized))

  def _Negation(self, pos: int, actions: bool) -> tuple[list, int]:
    """not operand, checked by a lookahead before it is parsed for real."""
    self._Memoized(self._NotLevel, self._Keyword(pos, "not"), False)
    inner, pos = self._Memoized(self._NotLevel, self._Keyword(pos, "not"), actions)
    return [OP_NOT, inner], pos

  def _NotLevel(self, pos: int, actions: bool) -> tuple[Any, int]:
    return self._FirstOf(pos, actions, (self._Negation, self._Operand))

  def _Chain(self, pos: int, actions: bool, keyword: str, operator: str,
             operand: Callable) -> tuple[list, int]:
    """operand (keyword operand)+ as one [operator, operands...] list.

    A lookahead without actions first checks that a keyword and a second
    operand follow.
    """
    _, lookahead = self._Memoized(operand, pos, False)
    self._Memoized(operand, self._Keyword(lookahead, keyword), False)
    first, pos = self._Memoized(operand, pos, actions)
    result = [operator, first]
    while True:
      try:
        following, end = self._Memoized(operand, self._Keyword(pos, keyword), actions)
      except _Mismatch:
        if len(result) == 2:
          raise
        return result, pos
      result.append(following)
      pos = end

  def _AndLevel(self, pos: int, actions: bool) -> tuple[Any, int]:
    return self._FirstOf(pos, actions, (
      lambda p, a: self._Chain(p, a, "and", OP_AND, self._NotLevel),
      lambda p, a: self._Memoized(self._NotLevel, p, a)))

  def _OrLevel(self, pos: int, actions: bool) -> tuple[Any, int]:
    return self._FirstOf(pos, actions, (
      lambda p, a: self._Chain(p, a, "or", OP_OR, self._AndLevel),
      lambda p, a: self._Memoized(self._AndLevel, p, a)))

  def Parse(self) -> list:
    text = self.text
    try:
      try:
        result, end = self._Memoized(self._OrLevel, 0, True)
      except _Mismatch as err:
        raise FilterParseError(text, "%s%s  %s" % (_TOP_EXPECTATION, _Found(text, err.loc),
                                                   _Position(text, err.loc)),
                               err.loc) from None
    except _Fatal as err:
      raise FilterParseError(text, "%s  %s" % (err.message, _Position(text, err.loc)),
                             err.loc, show_line=False) from None
    end = self._Skip(end)
    if end != len(text):
      raise FilterParseError(text, "Expected end of text%s  %s" %
                             (_Found(text, end), _Position(text, end)), end)
    return result


def ParseFilter(text: str) -> list:
  """The list form of a filter written in the query language.

  @raise FilterParseError: (an errors.QueryFilterParseError) on a syntax error

  """
  return _Parser(text).Parse()


def MakeSimpleFilter(namefield: str, values: Optional[list]) -> Optional[list]:
  """A filter selecting items whose namefield equals one of values.

  None when no values are given (no filtering).
  """
  if not values:
    return None
  return [OP_OR] + [[OP_EQUAL, namefield, value] for value in values]


def _NameCondition(namefield: str, name: str) -> list:
  if GLOB_DETECTION_CHARS.intersection(name):
    return [OP_REGEXP, namefield, GlobToRegexp(name)]
  return [OP_EQUAL, namefield, name]


def MakeFilter(args: list[str], force_filter: bool, namefield: Optional[str] = None,
               isnumeric: bool = False) -> Optional[list]:
  """The filter for the arguments of a list command.

  A single argument is parsed as a filter if force_filter is set or if it
  contains one of FILTER_DETECTION_CHARS; otherwise the arguments are names
  (globs allowed) of namefield ("name" if not given), or numbers with
  isnumeric (job IDs).
  """
  namefield = namefield or "name"
  if force_filter and len(args) != 1:
    raise errors.OpPrereqError("Exactly one argument must be given as a filter",
                               errors.ECODE_INVAL)
  if len(args) == 1 and (force_filter or FILTER_DETECTION_CHARS.intersection(args[0])):
    return ParseFilter(args[0])
  if not args:
    return None
  if isnumeric:
    try:
      numbers = [int(arg) for arg in args]
    except ValueError as err:
      raise errors.OpPrereqError("Invalid job ID passed: %s" % err,
                                 errors.ECODE_INVAL) from None
    return MakeSimpleFilter(namefield, numbers)
  return [OP_OR] + [_NameCondition(namefield, name) for name in args]
