"""``dataos-ctl`` as users run it: a real process talking HTTP to a real server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from manifests import product

from tests.interfaces.conftest import ROOT, run_cli

pytestmark = pytest.mark.slow


def write(tmp_path: Path, text: str, name: str = "product.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_apply_prints_dataos_lines_then_unchanged(server, tmp_path: Path) -> None:
    path = write(tmp_path, product("c"))
    first = run_cli(server, "apply", "-f", str(path))
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        "applying csec:v1:instance-secret...created",
        "applying cpg:v2alpha:depot...created",
        "applying(public) c-copy:v1:workflow...created",
    ]
    again = run_cli(server, "apply", "-f", str(path))
    assert again.stdout.count("...unchanged") == 3


def test_get_table_json_and_identifier(server, tmp_path: Path) -> None:
    run_cli(server, "apply", "-f", str(write(tmp_path, product("g"))))
    table = run_cli(server, "get", "-t", "workflow", "-n", "g-copy")
    assert table.returncode == 0, table.stderr
    header = [cell.strip() for cell in table.stdout.splitlines()[0].split("|")]
    assert header == ["NAME", "VERSION", "TYPE", "WORKSPACE", "STATUS", "RUNTIME", "OWNER"]
    assert "g-copy" in table.stdout
    as_json = run_cli(server, "get", "-i", "g-copy:v1:workflow:public", "-o", "json")
    body = json.loads(as_json.stdout)
    assert body["name"] == "g-copy"
    assert body["manifest"]["type"] == "workflow"
    history = run_cli(server, "get", "history", "-t", "workflow", "-n", "g-copy")
    assert "created" in history.stdout


def test_secret_values_never_printed_without_unsanitize(server, tmp_path: Path) -> None:
    run_cli(server, "apply", "-f", str(write(tmp_path, product("k", password="pw-xyz-789"))))
    shown = run_cli(server, "get", "-t", "instance-secret", "-n", "ksec", "-d")
    assert "pw-xyz-789" not in shown.stdout + shown.stderr
    assert "<redacted>" in shown.stdout
    clear = run_cli(
        server, "get", "-t", "instance-secret", "-n", "ksec", "--unsanitize", "-o", "yaml"
    )
    assert "pw-xyz-789" in clear.stdout


def test_apply_error_names_file_line_path_and_changes_nothing(server, tmp_path: Path) -> None:
    bad = product("e").replace('cron: "0 3 * * *"', 'cron: "0 3 * *"')
    path = write(tmp_path, bad, "bad.yaml")
    result = run_cli(server, "apply", "-f", str(path))
    assert result.returncode == 1
    assert f"{path}:" in result.stderr
    assert "workflow.schedule.cron" in result.stderr
    listed = run_cli(server, "get", "-n", "epg", "-o", "json")
    assert json.loads(listed.stdout) == []


def test_lint_only_and_de_ref_do_not_apply(server, tmp_path: Path) -> None:
    path = write(tmp_path, product("l"))
    linted = run_cli(server, "apply", "-l", "-f", str(path))
    assert linted.returncode == 0, linted.stderr
    assert "...valid" in linted.stdout
    shown = run_cli(server, "apply", "-d", "-f", str(path))
    assert "name: l-copy" in shown.stdout
    listed = run_cli(server, "get", "-n", "l-copy", "-o", "json")
    assert json.loads(listed.stdout) == []


def test_delete_and_workspace_verbs(server, tmp_path: Path) -> None:
    assert run_cli(server, "workspace", "create", "-n", "sandbox").returncode == 0
    path = write(tmp_path, product("x"))
    applied = run_cli(server, "apply", "-f", str(path), "-w", "sandbox")
    assert "applying(sandbox) x-copy:v1:workflow...created" in applied.stdout
    refused = run_cli(server, "delete", "-t", "depot", "-n", "xpg")
    assert refused.returncode == 1
    assert "x-copy" in refused.stderr
    deleted = run_cli(server, "delete", "-i", "x-copy:v1:workflow:sandbox")
    assert deleted.returncode == 0, deleted.stderr
    assert run_cli(server, "delete", "-t", "depot", "-n", "xpg").returncode == 0
    listed = run_cli(server, "workspace", "get", "-o", "json")
    assert "sandbox" in [w["name"] for w in json.loads(listed.stdout)]


def test_requests_without_a_key_are_refused_with_a_hint(server, tmp_path: Path) -> None:
    result = run_cli(server, "workspace", "get", DATAOS_API_KEY="", DATAOS_HOME=str(tmp_path))
    assert result.returncode == 1
    assert "no API key" in result.stderr
    assert "dataos-ctl login" in result.stderr
    bad = run_cli(server, "apply", "-f", str(write(tmp_path, product("n"))), DATAOS_API_KEY="bad")
    assert bad.returncode == 1
    assert "not valid" in bad.stderr
    assert "...created" not in bad.stdout


def test_server_down_gives_a_clear_message(tmp_path: Path) -> None:
    result = run_cli(None, "get", DATAOS_API_URL="http://127.0.0.1:9", DATAOS_HOME=str(tmp_path))
    assert result.returncode == 1
    assert "cannot reach the DataOS API" in result.stderr


def test_lint_offline_example_product_is_clean() -> None:
    result = run_cli(None, "lint", "-f", "resources", "-R", DATAOS_API_URL="http://127.0.0.1:9")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("ok")


def test_lint_json_reports_every_issue(tmp_path: Path) -> None:
    bad = write(tmp_path, "name: X\nversion: v1\ntype: workflow\nworkflow: {dag: []}\n")
    result = run_cli(None, "lint", "-f", str(bad), "-o", "json")
    assert result.returncode == 1
    body = json.loads(result.stdout)
    assert body["valid"] is False
    assert {i["path"] for i in body["issues"]} >= {"name", "workflow.dag"}


def test_develop_schema_for_a_type_and_combined() -> None:
    one = run_cli(None, "develop", "schema", "-t", "workflow")
    assert one.returncode == 0, one.stderr
    assert json.loads(one.stdout)["title"].startswith("DataOS workflow")
    combined = run_cli(None, "develop", "schema", "generate")
    assert "oneOf" in json.loads(combined.stdout) or "discriminator" in combined.stdout
    unknown = run_cli(None, "develop", "schema", "-t", "nope")
    assert unknown.returncode == 1
    assert "unknown Resource type" in unknown.stderr


def test_help_is_fast_and_lists_verbs() -> None:
    result = run_cli(None, "--help", cwd=ROOT)
    for verb in (
        "apply",
        "get",
        "delete",
        "lint",
        "workspace",
        "user",
        "login",
        "develop",
        "serve",
    ):
        assert verb in result.stdout
