"""The OpenAPI document: made from the resource table, valid OpenAPI 3, kept
in doc/ unchanged, and served at /2/openapi.json."""

import json
import os

import pytest

from ganeti.rapi import openapi
from ganeti.rapi import resources

DOC_FILE = os.path.join(os.path.dirname(__file__), "..", "..", "doc", "rapi-openapi.json")


def test_doc_file_is_what_the_table_makes():
  with open(DOC_FILE, encoding="utf-8") as handle:
    assert handle.read() == openapi.DocumentText(), \
      "doc/rapi-openapi.json is stale: run 'make openapi-doc'"


def test_document_is_valid_openapi():
  validator = pytest.importorskip("openapi_spec_validator")
  validator.validate(openapi.Document())


def test_every_table_entry_is_described():
  paths = openapi.Document()["paths"]
  for res in resources.RESOURCES:
    described = paths[res.path.replace("[", "{").replace("]", "}")]
    assert set(described) == {verb.lower() for verb in res.methods}
    for verb, method in res.methods.items():
      operation = described[verb.lower()]
      assert operation.get("x-ganeti-opcode") == method.opcode
      names = {param["name"] for param in operation["parameters"]}
      assert names == set(res.variables) | {arg.name for arg in method.args}


def test_opcode_bodies_list_the_opcode_parameters():
  put = openapi.Document()["paths"]["/2/instances/{instance_name}/modify"]["put"]
  schema = put["requestBody"]["content"]["application/json"]["schema"]
  assert schema["properties"]["beparams"]["type"] == "object"
  assert schema["properties"]["force"]["type"] == "boolean"
  assert "instance_name" not in schema["properties"]  # the path gives it
  create = openapi.Document()["paths"]["/2/instances"]["post"]
  body = create["requestBody"]["content"]["application/json"]["schema"]
  assert body["required"] == ["__version__"] and "name" in body["properties"]
  assert "instance_name" not in body["properties"]


def test_served_document(tmp_path):
  from ganeti.rapi import auth
  from ganeti.rapi import dispatch
  app = dispatch.Dispatcher(auth.UsersFile(str(tmp_path / "users")),
                            luxi_factory=lambda: None)
  response = app(dispatch.Request("GET", "/2/openapi.json", {}, b"", "127.0.0.1"))
  assert response.status == 200
  assert json.loads(response.body) == openapi.Document()
