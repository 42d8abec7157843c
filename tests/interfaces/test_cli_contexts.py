"""``dataos-ctl init`` and ``context list|select|delete`` against two real API servers.

Two embedded instances stand for e.g. staging and production; the CLI's own
``DATAOS_HOME`` is a third folder, so every call reaches an instance only through the
selected context.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interfaces.conftest import CLI, ROOT, Server, start_server, stop_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def instances(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    staging = start_server(tmp_path_factory.mktemp("staging"))
    production = start_server(tmp_path_factory.mktemp("production"))
    yield staging, production
    stop_server(staging)
    stop_server(production)


def ctl(home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAOS_")}
    env.update({"DATAOS_HOME": str(home), **extra})
    return subprocess.run(
        [*CLI, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def ok(shown: subprocess.CompletedProcess[str]) -> bool:
    assert shown.returncode == 0, shown.stderr
    return True


def server_of(home: Path, **extra: str) -> str:
    shown = ctl(home, "version", **extra)
    assert shown.returncode == 0, shown.stderr
    return shown.stdout.splitlines()[1].split()[1].rstrip(":")


def test_contexts_switch_between_instances(instances: tuple[Server, Server], tmp_path) -> None:
    staging, production = instances
    home = tmp_path / "cli"
    created = ctl(home, "init", "-n", "staging", "--url", staging.url, "-k", staging.api_key)
    assert created.returncode == 0, created.stderr
    assert "context staging" in created.stdout and "created and selected" in created.stdout
    assert ok(ctl(home, "init", "-n", "prod", "--url", production.url, "-k", production.api_key))
    assert server_of(home) == production.url

    listed = ctl(home, "context", "list")
    assert listed.returncode == 0, listed.stderr
    rows = {line.lstrip("* ").split()[0]: line for line in listed.stdout.splitlines()[1:]}
    assert set(rows) == {"local", "staging", "prod"}
    assert rows["prod"].lstrip().startswith("*") and staging.url in rows["staging"]
    for key in (staging.api_key, production.api_key):
        assert key not in listed.stdout and key not in listed.stderr

    assert ctl(home, "context", "select", "-n", "staging").returncode == 0
    assert server_of(home) == staging.url
    assert server_of(home, DATAOS_CONTEXT="prod") == production.url  # one command only
    assert server_of(home) == staging.url

    for file in (home / "contexts").glob("*.json"):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600


def test_deleting_the_selected_context_falls_back_to_local(
    instances: tuple[Server, Server], tmp_path
) -> None:
    staging, _ = instances
    home = tmp_path / "cli"
    assert ok(ctl(home, "init", "-n", "staging", "--url", staging.url, "-k", staging.api_key))
    deleted = ctl(home, "context", "delete", "-n", "staging")
    assert deleted.returncode == 0 and "deleted" in deleted.stdout
    listed = json.loads(ctl(home, "context", "list", "--output", "json").stdout)
    assert [c["name"] for c in listed if c["selected"]] == ["local"]
    again = ctl(home, "context", "delete", "-n", "staging")
    assert again.returncode == 0 and "nothing" in again.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("context", "select", "-n", "nowhere"), "there is no context 'nowhere'"),
        (("context", "select", "-n", "../etc"), "cannot name a context"),
        (("context", "delete", "-n", "local"), "'local' context is the embedded server"),
        (("init", "-n", "Bad_Name", "--url", "http://127.0.0.1:9", "-k", "x"), "cannot name"),
    ],
)
def test_bad_context_commands_fail_clearly_and_change_nothing(
    tmp_path, args: tuple[str, ...], message: str
) -> None:
    shown = ctl(tmp_path, *args)
    assert shown.returncode == 1
    assert message in shown.stderr
    assert not (tmp_path / "contexts").exists() or not any((tmp_path / "contexts").glob("*.json"))


def test_init_with_a_wrong_key_saves_nothing(instances: tuple[Server, Server], tmp_path) -> None:
    staging, _ = instances
    shown = ctl(tmp_path, "init", "-n", "staging", "--url", staging.url, "-k", "not-a-key")
    assert shown.returncode == 1
    assert not (tmp_path / "contexts").exists()


def test_a_selected_context_whose_file_is_gone_is_an_error_not_another_instance(
    instances: tuple[Server, Server], tmp_path
) -> None:
    staging, _ = instances
    assert ok(ctl(tmp_path, "init", "-n", "staging", "--url", staging.url, "-k", staging.api_key))
    (tmp_path / "contexts" / "staging.json").unlink()
    shown = ctl(tmp_path, "workspace", "get")
    assert shown.returncode == 1
    assert "context 'staging' has no credentials" in shown.stderr
