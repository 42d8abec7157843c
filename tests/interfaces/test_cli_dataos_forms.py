"""The command forms DataOS users type, run through the real ``dataos-ctl`` against a real
server: each row is a spelling (from the DataOS docs or ours) and what it must do.

The module applies one product (``fsec`` instance-secret, ``fpg`` depot, ``f-copy``
workflow in ``public``) once; read-only forms run against it in any order.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from manifests import product

from tests.interfaces.conftest import CLI, ROOT, Server, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def applied(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Server:
    path = tmp_path_factory.mktemp("forms") / "product.yaml"
    path.write_text(product("f"))
    result = run_cli(server, "apply", "-f", str(path))
    assert result.returncode == 0, result.stderr
    return server


NO_DAGSTER = "runtimes are unknown"
# (args, exit code, text expected in stdout, or in stderr when the exit code is not 0)
READ_FORMS = [
    # the resource group: the top-level verbs under their DataOS group name
    (("resource", "get", "-t", "workflow", "-n", "f-copy"), 0, "f-copy"),
    (("resource", "get", "-t", "depot"), 0, "fpg"),
    (("resource", "get", "runtime", "-t", "workflow", "-n", "f-copy"), 1, NO_DAGSTER),
    (("resource", "runtime", "-h"), 0, "pause"),
    (("resource", "update", "-h"), 0, "Same as apply"),
    # identifiers: DataOS' pipe form (docs' spellings, with and without spaces)
    (("get", "-i", "f-copy | v1 | workflow | public"), 0, "f-copy"),
    (("get", "-i", "f-copy|v1|workflow|public"), 0, "f-copy"),
    (("get", "-i", "f-copy | | v1 | | workflow | public"), 0, "f-copy"),
    (("get", "-i", "f-copy | v1 | workflow | public | active | usertest"), 0, "f-copy"),
    (("get", "-i", "fpg | v2alpha | depot"), 0, "fpg"),
    (("resource", "get", "-i", "fsec | v1 | instance-secret | public"), 0, "fsec"),
    # the colon form apply prints, and DataOS' type-first --id
    (("get", "-i", "f-copy:v1:workflow:public"), 0, "f-copy"),
    (("get", "--id", "workflow:v1:f-copy:public"), 0, "f-copy"),
    (("get", "--id", "depot:v2alpha:fpg"), 0, "fpg"),
    # -i on get runtime, runtime and log: this server runs no Dagster, so reaching its
    # answer about runtimes shows the identifier was understood and the request sent
    (("get", "runtime", "-i", "f-copy | v1 | workflow | public"), 1, NO_DAGSTER),
    (("get", "runtime", "--id", "workflow:v1:f-copy"), 1, NO_DAGSTER),
    (("resource", "runtime", "pause", "-i", "f-copy:v1:workflow"), 1, NO_DAGSTER),
    (("runtime", "resume", "-i", "f-copy | v1 | workflow | public"), 1, NO_DAGSTER),
    (("log", "-i", "f-copy | v1 | workflow | public"), 1, NO_DAGSTER),
    # mistakes: a clear error naming the forms
    (("get", "-i", "workflow:v1:f-copy"), 1, "--id workflow:v1:f-copy"),
    (("get", "-i", "f-copy:v1"), 1, "name | version | type | workspace"),
    (("get", "-i", "f-copy | v1 | wrokflow"), 1, "did you mean 'workflow'?"),
    (("get", "-i", "f-copy:v1:workflow", "-t", "workflow"), 1, "not both"),
    (("runtime", "run", "-i", "fpg | v2alpha | depot"), 1, "not available yet"),
    (("log", "-i", "f-copy:v1:workflow", "--id", "workflow:v1:f-copy"), 1, "not both"),
    # help and basics
    (("-h",), 0, "resource"),
    (("get", "-h"), 0, "instance-secret"),
    (("get", "-h"), 0, "pasted into -i"),
    (("get", "-o", "owner-id"), 1, "one of: table, json, yaml"),
    (("resource", "delete", "-h"), 0, "--identifier"),
    (("help",), 0, "completion"),
    (("help", "get", "runtime"), 0, "get runtime [OPTIONS]"),
    (("version",), 0, "dataos-ctl "),
    (("health",), 0, "dagster...not configured"),
    (("get", "-t", "wrokflow"), 1, "did you mean 'workflow'?"),
    (("delete", "-t", "depott", "-n", "x"), 1, "did you mean 'depot'?"),
    (("completion", "bash"), 0, "complete -o default -F _dataos_ctl_completion dataos-ctl"),
    (("completion", "zsh"), 0, "#compdef dataos-ctl"),
    (("completion", "fish"), 0, "complete --command dataos-ctl"),
    # get flags: DataOS' spellings, and the owner filter (-o stays the output format)
    (("get", "-t", "workflow", "-n", "f-copy", "--unSanitize", "-o", "json"), 0, "f-copy"),
    (("get", "-t", "depot", "--owner", "dataos-operator", "-o", "json"), 0, "fpg"),
    (("get", "-r", "0.5"), 1, "at least 1 second"),
    # outputs: deleting what does not exist is nothing to do
    (("delete", "-t", "workflow", "-n", "nosuch"), 0, "deleting(public) nosuch:workflow...nothing"),
    (("resource", "delete", "-i", "nosuch | v1 | depot"), 0, "deleting nosuch:depot...nothing"),
    (("delete", "--id", "secret:v1:nosuch:public"), 0, "deleting(public) nosuch:secret...nothing"),
]


def _form_id(value: object) -> str | None:
    return " ".join(value) if isinstance(value, tuple) else None


@pytest.mark.parametrize(("args", "code", "expected"), READ_FORMS, ids=_form_id)
def test_read_forms(applied: Server, args: tuple[str, ...], code: int, expected: str) -> None:
    result = run_cli(applied, *args)
    assert result.returncode == code, result.stdout + result.stderr
    assert expected in (result.stdout if code == 0 else result.stderr)


def test_resource_apply_update_and_delete_are_the_top_level_verbs(
    server: Server, tmp_path: Path
) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(product("r"))
    created = run_cli(server, "resource", "apply", "-f", str(path))
    assert created.returncode == 0, created.stderr
    assert "applying(public) r-copy:v1:workflow...created" in created.stdout
    updated = run_cli(server, "resource", "update", "-f", str(path))
    assert updated.stdout.count("...unchanged") == 3, updated.stdout
    deleted = run_cli(server, "resource", "delete", "-i", "r-copy | v1 | workflow | public")
    assert deleted.returncode == 0, deleted.stderr
    assert "r-copy:workflow...deleted" in deleted.stdout
    by_id = run_cli(server, "resource", "delete", "--id", "depot:v2alpha:rpg")
    assert by_id.returncode == 0, by_id.stderr
    left = run_cli(server, "get", "-a", "-o", "json")
    assert not {"r-copy", "rpg"} & {item["name"] for item in json.loads(left.stdout)}


@pytest.mark.parametrize("name", ["f-copy", "fpg", "fsec"])
def test_a_row_of_get_pasted_into_i_names_its_resource(applied: Server, name: str) -> None:
    listed = run_cli(applied, "get", "-a")
    assert listed.returncode == 0, listed.stderr
    header, _rule, *rows = listed.stdout.splitlines()
    assert [cell.strip() for cell in header.split("|")][:4] == [
        "NAME",
        "VERSION",
        "TYPE",
        "WORKSPACE",
    ]
    row = next(r for r in rows if r.split("|")[0].strip() == name)
    again = run_cli(applied, "get", "-i", row, "-o", "json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["name"] == name


@pytest.mark.parametrize(
    "args",
    [
        ("get", "-t", "workflow", "-n", "nosuch"),
        ("get", "-i", "nosuch | v1 | workflow | public", "-d"),
        ("resource", "get", "--id", "depot:v1:nosuch", "-o", "json"),
        ("get", "-t", "pager"),
    ],
    ids=_form_id,
)
def test_get_without_a_match_exits_0_with_a_message(applied: Server, args: tuple[str, ...]) -> None:
    result = run_cli(applied, *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "no Resources found" in result.stderr


def test_apply_and_lint_end_with_the_dataos_trailer(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(product("t"))
    linted = run_cli(server, "apply", "-l", "-f", str(path))
    assert linted.returncode == 0, linted.stderr
    assert linted.stderr.splitlines()[-1] == "lint...complete"
    applied = run_cli(server, "resource", "apply", "-f", str(path))
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.splitlines()[-1] == "applying(public) t-copy:v1:workflow...created"
    assert applied.stderr.splitlines()[-1] == "apply...complete"
    broken = path.with_name("broken.yaml")
    broken.write_text(product("u").replace("type: workflow", "type: wrokflow"))
    refused = run_cli(server, "apply", "-f", str(broken))
    assert refused.returncode == 1
    assert "apply...complete" not in refused.stderr


def test_the_owner_filter_hides_other_owners(applied: Server) -> None:
    listed = run_cli(applied, "get", "-a", "--owner", "someone-else", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []


def test_refresh_rate_lists_again_until_interrupted(applied: Server) -> None:
    watching = subprocess.Popen(
        [*CLI, "get", "-t", "depot", "-r", "1"],
        cwd=ROOT,
        env=applied.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(4)
    watching.send_signal(signal.SIGINT)
    out, err = watching.communicate(timeout=30)
    assert watching.returncode == 0, err
    assert out.count("fpg") >= 2, out
