"""gnt-filter against a fake master daemon: requests sent and output printed."""

from ganeti import errors
from ganeti import luxi
from ganeti.client import gnt_filter

from cli_fakeluxi import RunCommand, fake_luxi  # noqa: F401  (fixture)

_UUID = "19802d6d-d7f8-48c1-bc34-f3a8dfcd3fe5"
_FIELDS = ["uuid", "watermark", "priority", "predicates", "action", "reason_trail"]
_ROW = [_UUID, 147, 5, [["jobid", ["==", "id", "99999"]]], "REJECT",
        [["gnt:user", "probe", 1795579525591706880], ["luxid", "", 1795579525592754000]]]


def _Filter(*args):
  return RunCommand(gnt_filter.Main, "gnt-filter", list(args))


def test_add(fake_luxi, capsys):
  fake_luxi.handlers[luxi.REQ_REPLACE_FILTER] = lambda args: _UUID
  assert _Filter("add", "--predicates=[[\"jobid\",[\"=\",\"id\",\"99\"]]]", "--action=REJECT",
                 "--priority=5") == 0
  assert _Filter("add", "--action=RATE_LIMIT 3") == 0
  assert _Filter("add", "--reason=probe") == 0
  first, second, third = fake_luxi.Requests(luxi.REQ_REPLACE_FILTER)
  assert first == [None, 5, [["jobid", ["=", "id", "99"]]], "REJECT", []]
  assert second == [None, 0, [], ["RATE_LIMIT", 3], []]
  assert third[:4] == [None, 0, [], "CONTINUE"]
  assert [entry[:2] for entry in third[4]] == [["gnt:user", "probe"]]
  assert capsys.readouterr().out == (_UUID + "\n") * 3


def test_replace_and_delete(fake_luxi, capsys):
  fake_luxi.handlers[luxi.REQ_REPLACE_FILTER] = lambda args: args[0]
  fake_luxi.handlers[luxi.REQ_DELETE_FILTER] = lambda args: None
  assert _Filter("replace", "--action=ACCEPT", _UUID) == 0
  assert _Filter("delete", _UUID) == 0
  assert fake_luxi.requests == [(luxi.REQ_REPLACE_FILTER, [_UUID, 0, [], "ACCEPT", []]),
                                (luxi.REQ_DELETE_FILTER, [_UUID])]
  assert capsys.readouterr().out == _UUID + "\n"


def test_delete_failure(fake_luxi, capsys):
  def refuse(args):
    raise errors.GenericError("Filter rule with UUID %s does not exist" % args[0])
  fake_luxi.handlers[luxi.REQ_DELETE_FILTER] = refuse
  assert _Filter("delete", _UUID) == 1
  assert capsys.readouterr().err == ("Unhandled Ganeti error: Filter rule with UUID %s does not"
                                     " exist\n" % _UUID)


def test_info(fake_luxi, capsys):
  fake_luxi.handlers[luxi.REQ_QUERY_FILTERS] = lambda args: [_ROW]
  assert _Filter("info") == 0
  assert fake_luxi.requests == [(luxi.REQ_QUERY_FILTERS, [[], _FIELDS])]
  assert capsys.readouterr().out == (
    "UUID: 19802d6d-d7f8-48c1-bc34-f3a8dfcd3fe5\n"
    "  Watermark: 147\n"
    "  Priority: 5\n"
    "  Predicates: [['jobid', ['==', 'id', '99999']]]\n"
    "  Action: REJECT\n"
    "  Reason trail: [['gnt:user', 'probe', 1795579525591706880], ['luxid', '',"
    " 1795579525592754000]]\n")


def test_list(fake_luxi, capsys):
  fields = [{"name": name, "title": title, "kind": "other", "doc": ""}
            for name, title in zip(_FIELDS, ["UUID", "Watermark", "Priority", "Predicates",
                                             "Action", "ReasonTrail"])]
  fake_luxi.handlers[luxi.REQ_QUERY] = lambda args: {"fields": fields,
                                                     "data": [[[0, v] for v in _ROW]]}
  assert _Filter("list", _UUID) == 0
  assert fake_luxi.requests == [(luxi.REQ_QUERY, ["filter", _FIELDS,
                                                  ["|", ["==", "uuid", _UUID]]])]
  assert capsys.readouterr().out == (
    "UUID                                 Watermark Priority Predicates"
    "                         Action ReasonTrail\n"
    "19802d6d-d7f8-48c1-bc34-f3a8dfcd3fe5 147       5        [['jobid', ['==', 'id', '99999']]]"
    " REJECT [['gnt:user', 'probe', 1795579525591706880], ['luxid', '', 1795579525592754000]]\n")


def test_usage(capsys):
  assert _Filter("add", "extra") == 1
  assert capsys.readouterr().err == "Error: Command add expects no arguments\n"
  assert _Filter("add", "--priority=x") == 2
  assert "gnt-filter: error: option --priority: invalid integer value: 'x'" in (
    capsys.readouterr().err)
