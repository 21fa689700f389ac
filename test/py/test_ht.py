"""Tests for ganeti.ht: predicates, their descriptions and failure explanations."""

import pytest

from ganeti import ht


@pytest.mark.parametrize("check, good, bad", [
  (ht.TAny, [None, 0, "", [], {}], []),
  (ht.TNone, [None], [0, "", False]),
  (ht.TBool, [True, False], [0, 1, None, "true"]),
  (ht.TInt, [0, -5, 2 ** 70], [True, 1.0, "1", None]),
  (ht.TFloat, [1.5, 0.0, 2, -3], [True, "1.5", None]),
  (ht.TString, ["", "x"], [b"x", 1, None]),
  (ht.TNonEmptyString, ["x", " "], ["", b"x", None]),
  (ht.TList, [[], [1]], [(), {}, "ab"]),
  (ht.TDict, [{}, {"a": 1}], [[], None]),
  (ht.TNonNegativeInt, [0, 7], [-1, 1.5, True, "3", None]),
  (ht.TPositiveInt, [1, 7], [0, -1, 0.5, None]),
  (ht.TJobId, [0, 17, "17"], [-1, " 5", "-1", "a", True, 1.0]),
  (ht.TRelativeJobId, [-1, -20], [0, 3, -1.0, "-1", False]),
])
def test_basic_predicates(check, good, bad):
  for value in good:
    assert check(value) is True, value
  for value in bad:
    assert check(value) is False, value


def test_combinators():
  maybe_names = ht.TMaybe(ht.TListOf(ht.TNonEmptyString))
  assert maybe_names(None) and maybe_names([]) and maybe_names(["a"])
  assert not maybe_names([""]) and not maybe_names(("a",)) and not maybe_names("a")
  assert ht.TAnd(ht.TInt, ht.TLessThan(3))(2) and not ht.TAnd(ht.TInt, ht.TLessThan(3))(3)
  assert ht.TOr(ht.TInt, ht.TString)("x") and not ht.TOr(ht.TInt, ht.TString)(None)
  dict_of = ht.TDictOf(ht.TString, ht.TInt)
  assert dict_of({"a": 1}) and not dict_of({"a": "1"}) and not dict_of({1: 1})
  pair = ht.TTupleOf(ht.TInt, ht.TString)
  assert pair((1, "a")) and pair([1, "a"]) and not pair([1, "a", 2]) and not pair(["a", 1])
  assert ht.TSetOf(ht.TElemOf(["x", "y"]))(["x", "x"]) and ht.TSetOf(ht.TInt)(frozenset([1]))
  assert not ht.TSetOf(ht.TInt)(1)


def test_elem_of_uses_equality_and_survives_unhashable_values():
  prio = ht.TElemOf((0, 10, -10))
  assert prio(10) and prio(0.0) and not prio(5) and not prio("0")
  assert prio([0]) is False and prio({}) is False


def test_strict_dict():
  check = ht.TStrictDict([("a", ht.TInt), ("b", ht.TString)])
  assert check({"a": 1, "b": "x"})
  assert not check({"a": 1}) and not check({"a": 1, "b": "x", "c": 0})
  assert not check({"a": "1", "b": "x"}) and not check([])
  assert check.Why({"a": 1}) == "key 'b' not found"


def test_private_checks_the_wrapped_value():
  class Wrapper:
    def __init__(self, value):
      self._value = value

    def Get(self):
      return self._value

  check = ht.TPrivate(ht.TInt)
  assert check(Wrapper(3)) and check(3) and not check(Wrapper("3"))


def test_addresses():
  assert ht.TIPv4Address("1.2.3.4") and not ht.TIPv4Address("1.2.3")
  assert not ht.TIPv4Address("256.1.1.1") and not ht.TIPv4Address("::1")
  assert ht.TIPv6Address("::1") and ht.TIPv6Address("fe80::1%eth0")
  assert not ht.TIPv6Address("1.2.3.4")
  assert ht.TIPv4Network("10.0.0.0/8") and ht.TIPv4Network("10.0.0.0")
  assert not ht.TIPv4Network("10.0.0.1/8") and not ht.TIPv4Network("10.0.0.0/33")
  assert ht.TIPv6Network("2001:db8::/32") and not ht.TIPv6Network("2001:db8::1/32")
  assert not ht.TIPv4Address(None)


@pytest.mark.parametrize("check, text", [
  (ht.TMaybe(ht.TBool), "None or Boolean"),
  (ht.TMaybe(ht.TListOf(ht.TAny)), "None or (List of Anything)"),
  (ht.TAnd(ht.TNonNegativeInt, ht.TLessThan(16)), "EqualOrGreaterThanZero and (Less than 16)"),
  (ht.TMaybe(ht.TAnd(ht.TString, ht.TIPv4Address)), "None or (String and (IPv4 address))"),
  (ht.TOr(ht.TNonEmptyString, ht.TList), "NonEmptyString or List"),
  (ht.TTupleOf(ht.TBool, ht.TListOf(ht.TBool)), "Tuple of (Boolean, List of Boolean)"),
  (ht.TSetOf(ht.TElemOf(["nplusone_mem"])), "Set of (OneOf nplusone_mem)"),
  (ht.TMaybe(ht.TDictOf(ht.TAny, ht.TPrivate(ht.TAny))),
   "None or (Dictionary with keys of Anything and values of (Private Anything))"),
  (ht.TStrictDict([("jobs", ht.TListOf(ht.TInt))]),
   'Dictionary containing none but the required key "jobs" (value List of Integer)'),
  (ht.TStrictDict([("a", ht.TInt), ("b", ht.TMaybe(ht.TInt))]),
   'Dictionary containing none but the required keys "a" (value Integer),'
   ' "b" (value None or Integer)'),
  (ht.TComment(ht.TOr(ht.TInt, ht.TString), "index"), "Integer or String [index]"),
  (ht.TJobDependencies,
   "None or (List of (((List of Anything) or Tuple) and (Length 2) and (Item 0 is (JobId or"
   " RelativeJobId), item 1 is (List of (OneOf error, canceled, success)))))"),
])
def test_descriptions(check, text):
  assert str(check) == text


def test_set_params_mods_description():
  nic = ht.TComment(ht.TDictOf(ht.TElemOf(["vlan", "name", "mac", "bridge", "network", "ip",
                                           "link", "mode"]),
                               ht.TMaybe(ht.TString)), "NIC parameters")
  assert str(ht.TSetParamsMods(nic)) == (
    "(List of ((Length 3) and (Item 0 is (OneOf modify, attach, add, detach, remove), item 1 is"
    " (Integer or String [Device index, can be negative, e.g. -1 for last disk]), item 2 is"
    " (Dictionary with keys of (OneOf vlan, name, mac, bridge, network, ip, link, mode) and values"
    " of (None or String) [NIC parameters]))) [Recommended]) or (List of ((Length 2) and (Item 0 is"
    " ((OneOf attach, detach, add, remove) or EqualOrGreaterThanZero), item 1 is (Dictionary with"
    " keys of (OneOf vlan, name, mac, bridge, network, ip, link, mode) and values of (None or"
    " String) [NIC parameters]))) [Deprecated])")


def test_set_params_mods_values():
  check = ht.TSetParamsMods(ht.TDictOf(ht.TString, ht.TAny))
  assert check([]) and check([["add", -1, {"size": 1}]]) and check([("modify", "disk0", {})])
  assert check([["remove", {}]]) and check([[2, {"mode": "x"}]])
  assert not check([["grow", 0, {}]]) and not check([["add", 0]]) and not check([[-1, {}]])
  assert not check("add")


@pytest.mark.parametrize("check, value, why", [
  (ht.TBool, 1, "Unable to read Bool"),
  (ht.TFloat, None, "Unable to read Double"),
  (ht.TInt, "x", "Unable to read Int"),
  (ht.TString, 5, "Unable to read String"),
  (ht.TNonEmptyString, "", "Received empty value for non-empty list"),
  (ht.TListOf(ht.TString), "x", "Unable to read list"),
  (ht.TListOf(ht.TString), [1], "Unable to read String"),
  (ht.TDictOf(ht.TAny, ht.TAny), [], "Unable to read JSObject"),
  (ht.TNonNegativeInt, -3, "Invalid value for non-negative type '-3'"),
  (ht.TPositiveInt, 0, "Invalid value for positive type '0'"),
  (ht.TMaybe(ht.TBool), "x", "Unable to read Bool"),
  (ht.TElemOf(["cluster", "node"], "TagKind"), "clusterx",
   'Invalid string value for type TagKind: "clusterx"'),
  (ht.TElemOf([0, 10, -10], "OpSubmitPriority"), 5,
   "Invalid string value for type OpSubmitPriority: 5"),
  (ht.TElemOf([0, 10, -10], "OpSubmitPriority"), "x",
   "Can't parse value for 'OpSubmitPriority': Unable to read Int"),
  (ht.TSetOf(ht.TString), "x", "readJSON{Set}: unable to parse array value"),
  (ht.TTupleOf(ht.TInt, ht.TInt), [1], "Unable to read Pair"),
  (ht.TJobDependencies, [[1]], "Unable to read Pair"),
  (ht.TJobDependencies, ["x"], "Unable to read Pair"),
  (ht.TJobDependencies, [["a", []]], "parsing job id: cannot parse string 'a'"),
  (ht.TJobDependencies, [[1, ["x"]]], 'Invalid string value for type FinalizedJobStatus: "x"'),
])
def test_failure_explanations(check, value, why):
  assert not check(value)
  assert check.Why(value) == why


def test_job_dependencies():
  deps = ht.TJobDependencies
  assert deps(None) and deps([])
  assert deps([[1, ["success"]], ["2", []], (-1, ["error", "canceled"])])
  assert not deps([[1, "success"]]) and not deps([[1, ["success"], 3]]) and not deps([[True, []]])
