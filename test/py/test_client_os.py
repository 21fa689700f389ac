"""gnt-os against a fake master daemon: the opcodes sent and the output
printed (expected texts as Ganeti 3.0 prints them for the same answers)."""

from ganeti import luxi
from ganeti import serializer
from ganeti.client import gnt_os

from cli_fakeluxi import RunCommand, fake_luxi  # noqa: F401  (fixture)

N1 = "2c9a8b9a-bf46-427d-a90b-abd63154ca17"
N2 = "2928b7fe-b4f2-4c9d-a44c-a9fe8a1fba5a"
DOC = "The filesystem type to use for the root partition."
DEB = ["/usr/share/ganeti/os/debootstrap", True, "", ["default"], [["filesystem", DOC]],
       [20, 15, 10, 5], True]
LAB = ["/srv/ganeti/os/lab", True, "", ["default", "alt"],
       [["greeting", "An example OS parameter"]], [20], True]
BROKEN = ["/srv/ganeti/os/zzbroken", False,
          "File 'export' under path '/srv/ganeti/os/zzbroken' is missing (ENOENT)", [], [], [],
          True]
V10 = ["/srv/ganeti/os/zzv10", True, "", [], [], [10], True]


def _Os(*args):
  return RunCommand(gnt_os.Main, "gnt-os", list(args))


def _Answer(fake_luxi, result):
  fake_luxi.job_outcomes.append({"op_results": [result]})


def _SubmittedOps(fake_luxi):
  return [ops[0] for (ops,) in fake_luxi.Requests(luxi.REQ_SUBMIT_JOB)]


def test_list(fake_luxi, capsys):
  _Answer(fake_luxi, [["debootstrap", ["default"]], ["lab", ["alt", "default"]],
                      ["plain", []]])
  assert _Os("list") == 0
  (op,) = _SubmittedOps(fake_luxi)
  assert op["OP_ID"] == "OP_OS_DIAGNOSE"
  assert op["output_fields"] == ["name", "variants"] and op["names"] == []
  assert op["reason"][0][:2] == ["gnt:client:gnt-os", "list"]
  assert capsys.readouterr().out == ("Name               \n"
                                     "debootstrap+default\nlab+alt\nlab+default\nplain\n")
  _Answer(fake_luxi, [["lab", ["alt"]]])
  assert _Os("list", "--no-headers") == 0
  assert capsys.readouterr().out == "lab+alt\n"


_INFO_ROWS = [
  ["debootstrap", True, ["default"], [["filesystem", DOC]], [5, 10, 15, 20], True, True, {},
   {}, True],
  ["lab", True, ["alt", "default"], [["greeting", "An example OS parameter"]], [20], False,
   False, {"lab+default": {"fake": {"migration_mode": "non-live"}}},
   {"lab+default": {"greeting": "x"}}, True],
  ["zzbroken", False, [], [], [], False, False, {}, {}, True],
]


def test_info(fake_luxi, capsys):
  _Answer(fake_luxi, _INFO_ROWS)
  assert _Os("info") == 0
  (op,) = _SubmittedOps(fake_luxi)
  assert op["output_fields"] == ["name", "valid", "variants", "parameters", "api_versions",
                                 "blacklisted", "hidden", "os_hvp", "osparams", "trusted"]
  assert capsys.readouterr().out == (
    "debootstrap:\n"
    "  - valid: True\n"
    "  - hidden: True\n"
    "  - blacklisted: True\n"
    "  - API versions:\n"
    "    - 5\n"
    "    - 10\n"
    "    - 15\n"
    "    - 20\n"
    "  - variants:\n"
    "    - default\n"
    "  - parameters:\n"
    "    - filesystem: %s\n"
    "  - trusted: True\n"
    "\n"
    "lab:\n"
    "  - valid: True\n"
    "  - hidden: False\n"
    "  - blacklisted: False\n"
    "  - API versions:\n"
    "    - 20\n"
    "  - variants:\n"
    "    - alt\n"
    "    - default\n"
    "  - parameters:\n"
    "    - greeting: An example OS parameter\n"
    "  - trusted: True\n"
    "\n"
    "zzbroken:\n"
    "  - valid: False\n"
    "  - hidden: False\n"
    "  - blacklisted: False\n"
    "  - trusted: True\n"
    "\n" % DOC)


def test_info_of_names_and_variants(fake_luxi, capsys):
  _Answer(fake_luxi, _INFO_ROWS)
  assert _Os("info", "lab+default", "zzbroken", "nosuch", "lab+alt") == 0
  assert _SubmittedOps(fake_luxi)[0]["names"] == []
  assert capsys.readouterr().out == (
    "zzbroken:\n"
    "  - valid: False\n"
    "  - hidden: False\n"
    "  - blacklisted: False\n"
    "  - trusted: True\n"
    "\n"
    "lab+default: \n"
    "  OS-specific hypervisor parameters: \n"
    "    fake: \n"
    "      migration_mode: non-live\n"
    "  OS parameters: \n"
    "    greeting: x\n"
    "\n"
    "nosuch: \n"
    "\n"
    "lab+alt: \n"
    "\n")


def test_diagnose(fake_luxi, capsys):
  _Answer(fake_luxi, [
    ["debootstrap", True, ["default"], {N1: [DEB], N2: [DEB]}, True, True],
    ["lab", True, ["alt", "default"], {N1: [LAB, BROKEN], N2: [LAB]}, False, False],
  ])
  assert _Os("diagnose") == 0
  (op,) = _SubmittedOps(fake_luxi)
  assert op["output_fields"] == ["name", "valid", "variants", "node_status", "hidden",
                                 "blacklisted"]
  deb = ("valid (path: /usr/share/ganeti/os/debootstrap) [API versions: 20, 15, 10, 5]"
         " [variants: default] [parameters: filesystem] [trusted]")
  lab = ("valid (path: /srv/ganeti/os/lab) [API versions: 20] [variants: default, alt]"
         " [parameters: greeting] [trusted]")
  assert capsys.readouterr().out == (
    "OS: debootstrap [global status: valid] [hidden] [blacklisted]\n"
    "  Variants: [default]\n"
    "  Node: %s, status: %s\n"
    "  Node: %s, status: %s\n"
    "\n"
    "OS: lab [global status: valid]\n"
    "  Variants: [alt, default]\n"
    "  Node: %s, status: %s\n"
    "    [hidden] path: /srv/ganeti/os/zzbroken, status: invalid - File 'export' under path"
    " '/srv/ganeti/os/zzbroken' is missing (ENOENT)\n"
    "  Node: %s, status: %s\n"
    "\n" % (N1, deb, N2, deb, N1, lab, N2, lab))


def test_diagnose_invalid_and_partial(fake_luxi, capsys):
  untrusted = ["/srv/ganeti/os/zze", True, "", [], [], [20], False]
  _Answer(fake_luxi, [
    ["zzbroken", False, [], {N1: [BROKEN], N2: []}, False, False],
    ["zze", False, [], {N1: [untrusted], N2: [untrusted]}, False, False],
    ["zzv10", False, [], {N1: [V10], N2: []}, False, False],
  ])
  assert _Os("diagnose") == 1
  assert capsys.readouterr().out == (
    "OS: zzbroken [global status: invalid]\n"
    "  Node: %s, status: invalid - File 'export' under path '/srv/ganeti/os/zzbroken' is"
    " missing (ENOENT) (path: /srv/ganeti/os/zzbroken) [no API versions declared]"
    " [trusted]\n"
    "  Node: %s, status: OS not found\n"
    "\n"
    "OS: zze [global status: valid]\n"
    "  Node: %s, status: valid (path: /srv/ganeti/os/zze) [API versions: 20] [no variants]"
    " [no parameters] [untrusted]\n"
    "  Node: %s, status: valid (path: /srv/ganeti/os/zze) [API versions: 20] [no variants]"
    " [no parameters] [untrusted]\n"
    "\n"
    "OS: zzv10 [global status: partial valid]\n"
    "  Node: %s, status: valid (path: /srv/ganeti/os/zzv10) [API versions: 10] [trusted]\n"
    "  Node: %s, status: OS not found\n"
    "\n" % (N1, N2, N1, N2, N1, N2))


def test_modify(fake_luxi, capsys):
  assert _Os("modify", "-O", "greeting=x", "--os-parameters-private", "secret=s",
             "-H", "fake:migration_mode=non-live", "lab+default") == 0
  assert _Os("modify", "--hidden=yes", "--blacklisted=no", "lab") == 0
  first, second = _SubmittedOps(fake_luxi)
  assert first["OP_ID"] == second["OP_ID"] == "OP_CLUSTER_SET_PARAMS"
  assert first["os_hvp"] == {"lab+default": {"fake": {"migration_mode": "non-live"}}}
  assert first["osparams"] == {"lab+default": {"greeting": "x"}}
  assert serializer.LoadJson(serializer.DumpJson(first["osparams_private_cluster"])) == \
    {"lab+default": {"secret": "s"}}
  assert first["hidden_os"] is None and first["blacklisted_os"] is None
  assert second["hidden_os"] == [["add", "lab"]]
  assert second["blacklisted_os"] == [["remove", "lab"]]
  assert second["os_hvp"] is second["osparams"] is None
  assert capsys.readouterr().out == ""


def test_modify_needs_a_change(fake_luxi, capsys):
  assert _Os("modify", "lab") == 1
  assert fake_luxi.requests == []
  assert capsys.readouterr().err == ("At least one of OS parameters or hypervisor parameters"
                                     " must be passed\n")
  assert _Os("modify", "--hidden=maybe", "lab") == 1
  assert "Invalid boolean value 'maybe'" in capsys.readouterr().err


def test_modify_submit(fake_luxi, capsys):
  assert _Os("modify", "--submit", "--hidden=no", "lab") == 0
  assert capsys.readouterr().err == "JobID: 100\n"
  assert fake_luxi.Methods() == [luxi.REQ_SUBMIT_JOB]
