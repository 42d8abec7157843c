"""``dataos-ctl delete -f``: every Resource of the files, in one request and one transaction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from manifests import product, workflow

from tests.interfaces.conftest import Server, run_cli, user_key

pytestmark = pytest.mark.slow


def names(server: Server) -> set[str]:
    listed = run_cli(server, "get", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    return {r["name"] for r in json.loads(listed.stdout)}


def test_delete_f_removes_the_files_resources_dependents_first(
    server: Server, tmp_path: Path
) -> None:
    folder = tmp_path / "product"
    (folder / "more").mkdir(parents=True)
    (folder / "d.yaml").write_text(product("fd"))
    (folder / "more" / "e.yaml").write_text(product("fe"))
    user = tmp_path / "user.yaml"
    user.write_text(workflow("fo-copy", "fdpg", "others"))
    applied = run_cli(server, "apply", "-f", str(folder), "-R")
    assert applied.returncode == 0, applied.stderr
    assert run_cli(server, "apply", "-f", str(user)).returncode == 0
    before = names(server)

    refused = run_cli(server, "delete", "-f", str(folder), "-R")
    assert refused.returncode == 1
    assert "fo-copy" in refused.stderr and "--force" in refused.stderr
    assert names(server) == before, "a refused delete -f deleted something"

    assert run_cli(server, "delete", "-f", str(user)).returncode == 0
    top = run_cli(server, "delete", "-f", str(folder))
    assert top.returncode == 0, top.stderr
    assert top.stdout.splitlines() == [
        "deleting(public) fd-copy:workflow...deleted",
        "deleting fdpg:depot...deleted",
        "deleting fdsec:instance-secret...deleted",
    ]
    assert {"fe-copy", "fepg", "fesec"} <= names(server)

    nested = run_cli(server, "delete", "-f", str(folder), "-R")
    assert nested.returncode == 1, "the deleted Resources of d.yaml were found again"
    assert "does not exist" in nested.stderr
    assert run_cli(server, "delete", "-f", str(folder / "more")).returncode == 0
    assert not {"fe-copy", "fepg", "fesec"} & names(server)


def test_delete_f_force_deletes_despite_a_dependent_outside_the_files(
    server: Server, tmp_path: Path
) -> None:
    (tmp_path / "p.yaml").write_text(product("ff"))
    (tmp_path / "user.yaml").write_text(workflow("ffo-copy", "ffpg", "others"))
    assert run_cli(server, "apply", "-f", str(tmp_path)).returncode == 0
    only = tmp_path / "only"
    only.mkdir()
    (tmp_path / "p.yaml").rename(only / "p.yaml")
    forced = run_cli(server, "delete", "-f", str(only), "--force")
    assert forced.returncode == 0, forced.stderr
    assert "ffo-copy" in names(server)
    assert not {"ff-copy", "ffpg", "ffsec"} & names(server)


def test_delete_takes_files_or_a_name_not_both(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(product("fb"))
    both = run_cli(server, "delete", "-f", str(path), "-t", "depot", "-n", "fbpg")
    assert both.returncode == 1
    assert "either -f" in both.stderr


def test_a_data_developer_cannot_delete_others_resources_with_delete_f(
    server: Server, tmp_path: Path
) -> None:
    """As an attacker would try it: a file naming the operator's secret and depot, deleted
    by a data developer. Each Resource is authorized; one refusal refuses the whole set."""
    files = tmp_path / "theirs.yaml"
    files.write_text(product("fx"))
    assert run_cli(server, "apply", "-f", str(files)).returncode == 0
    before = names(server)
    key = user_key(server, "fx-dev", ["roles:id:data-dev"])
    refused = run_cli(server, "delete", "-f", str(files), DATAOS_API_KEY=key)
    assert refused.returncode == 1
    assert "fx-dev may not delete" in refused.stderr
    assert names(server) == before, "a refused delete -f deleted something"
