"""Tests of ganeti.serializer: the json package's output and errors, read and
written through its C module."""

import json
import math

import pytest

from ganeti import objects
from ganeti import serializer

_VALUES = [
  0, -1, 2 ** 70, 1.5, -0.0, 1e300, 1e-7, True, False, None, "", "é \" \\ \n \x01 \u2028 \U0001f600",
  [], {}, [1, [2, [3, {}]]], {"a": {"b": [None, {"c": "d"}]}, "": 1},
  {1: "int key", 2.5: "float key", True: "bool key", None: "null key"},
  (1, 2), float("inf"), float("-inf"),
]


@pytest.mark.parametrize("value", _VALUES, ids=range(len(_VALUES)))
def test_dump_as_json_dumps_compactly(value):
  expected = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
  assert serializer.DumpJson(value) == expected
  assert serializer.LoadJson(expected) == json.loads(expected)
  assert serializer.LoadJson(expected.encode("utf-8")) == json.loads(expected)


def test_sets_and_config_objects():
  assert serializer.DumpJson({"s": {"b", "a"}, "f": frozenset([3, 1])}) == '{"s":["a","b"],"f":[1,3]}'
  cluster = objects.Cluster(cluster_name="c").ToDict()
  assert serializer.LoadJson(serializer.DumpJson(objects.Cluster(cluster_name="c"))) == cluster
  assert serializer.DumpJson(object) == json.dumps(str(object))


def test_nan_and_whitespace():
  assert math.isnan(serializer.LoadJson(" \t\n[NaN]\r\n")[0])
  assert serializer.DumpJson([float("nan")]) == "[NaN]"


def test_pretty():
  assert serializer.DumpJson({"b": 1, "a": [{"c"}]}, pretty=True) == (
    '{\n  "a": [\n    [\n      "c"\n    ]\n  ],\n  "b": 1\n}\n')


def test_circular_data_is_refused_every_time():
  data = []
  data.append(data)
  for _ in range(2):
    with pytest.raises(ValueError, match="Circular reference detected"):
      serializer.DumpJson(data)
  assert serializer.DumpJson([[], []]) == "[[],[]]"


@pytest.mark.parametrize("text", ["", "  ", "[1", "[1] x", '{"a" 1}', '"abc', "\ufeff[1]",
                                  "nul", "[1,]", "01"])
def test_malformed_text_gets_json_errors(text):
  with pytest.raises(json.JSONDecodeError) as expected:
    json.loads(text)
  with pytest.raises(json.JSONDecodeError) as got:
    serializer.LoadJson(text)
  assert str(got.value) == str(expected.value)
