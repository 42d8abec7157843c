"""Heimdall identities through a real server and the real CLI: the bootstrap operator, users,
tags, API keys, 401s, the credentials file and ``dataos-ctl login``."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import stat
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from dataos_defs.api.client import ApiFailure, DataosClient
from tests.interfaces.conftest import Server, run_cli, start_server, stop_server

pytestmark = pytest.mark.slow
SHOWN_ONCE = "bootstrap operator API key (shown once): "


def client(server: Server, key: str | None = None) -> DataosClient:
    return DataosClient(server.url, api_key=key or server.api_key)


def whoami(server: Server, key: str) -> httpx.Response:
    return httpx.get(f"{server.url}/heimdall/api/v1/whoami", headers={"apikey": key})


def test_bootstrap_key_is_printed_once_and_saved_privately(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    first = start_server(home)
    try:
        lines = [line for line in first.log().splitlines() if SHOWN_ONCE in line]
        assert lines == [SHOWN_ONCE + first.api_key]
        credentials = home / "credentials"
        assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
        saved = json.loads(credentials.read_text())
        assert saved == {
            "api_url": first.url,
            "api_key": first.api_key,
            "user_id": "dataos-operator",
        }
        me = whoami(first, first.api_key).json()
        assert me["id"] == "dataos-operator"
        assert me["type"] == "application"
        assert me["tags"] == [
            "roles:id:operator",
            "roles:id:system-dev",
            "users:id:dataos-operator",
        ]
    finally:
        stop_server(first)
    again = start_server(home)
    try:
        assert SHOWN_ONCE not in again.log()
        assert again.api_key == first.api_key
        assert whoami(again, first.api_key).status_code == 200
        with client(again) as api:
            users = {u["id"]: u for u in api.list_users()}
            assert sorted(users) == ["dataos-operator", "metis", "monitor-scheduler"], (
                "a second start adds no user"
            )
            assert users["metis"]["type"] == "application"
            assert api.list_api_keys("metis") == [], "the catalog's scanner starts without a key"
            keys = api.list_api_keys("monitor-scheduler")
            assert [k["state"] for k in keys] == ["active"], "a second start keeps the key"
    finally:
        stop_server(again)
    secret = first.api_key.encode()
    for path in home.rglob("*"):
        if path.is_file() and path.name not in ("credentials", "api.log"):
            assert secret not in path.read_bytes(), path


def test_users_and_tags(server: Server) -> None:
    with client(server) as api:
        alice = api.create_user("alice", name="Alice", email="alice@example.com")
        assert alice["tags"] == ["roles:id:user", "users:id:alice"]
        assert alice["created_by"] == "dataos-operator"
        tagged = api.add_user_tags("alice", ["roles:id:data-dev", "dataos:workspace:sandbox"])
        assert "roles:id:data-dev" in tagged["tags"]
        untagged = api.remove_user_tags("alice", ["dataos:workspace:sandbox", "roles:id:user"])
        assert untagged["tags"] == ["roles:id:data-dev", "users:id:alice"]
        assert api.get_user("alice") == untagged
        assert "alice" in [u["id"] for u in api.list_users()]
        failures = [
            (lambda: api.create_user("alice"), 409, "user_exists"),
            (lambda: api.create_user("Not_Valid"), 400, "invalid_request"),
            (lambda: api.create_user("x", type="robot"), 400, "bad_request"),
            (lambda: api.get_user("nobody"), 404, "user_not_found"),
            (lambda: api.add_user_tags("alice", ["users:id:bob"]), 400, "invalid_request"),
            (lambda: api.remove_user_tags("alice", ["users:id:alice"]), 400, "invalid_request"),
            (lambda: api.delete_user("dataos-operator"), 409, "protected_user"),
        ]
        for call, status, code in failures:
            with pytest.raises(ApiFailure) as caught:
                call()
            assert (caught.value.status, caught.value.error["code"]) == (status, code)
        api.delete_user("alice")
        with pytest.raises(ApiFailure) as gone:
            api.get_user("alice")
        assert gone.value.status == 404


def test_api_keys_are_shown_once_and_stop_working_when_revoked(server: Server) -> None:
    with client(server) as api:
        api.create_user("bob", type="application", tags=["roles:id:data-dev"])
        created = api.create_api_key("bob", "ci", expires_in_seconds=3600)
        key = created["key"]
        assert key.startswith(f"dok_{created['key_id']}_")
        assert created["state"] == "active"
        listed = api.list_api_keys("bob")
        assert [k["key_id"] for k in listed] == [created["key_id"]]
        assert "key" not in listed[0]
        assert key not in json.dumps(listed)
        response = whoami(server, key)
        assert response.status_code == 200
        assert response.json()["tags"] == ["roles:id:data-dev", "users:id:bob"]
        with client(server, key) as as_bob:
            assert as_bob.whoami()["id"] == "bob"
        revoked = api.revoke_api_key("bob", created["key_id"])
        assert revoked["state"] == "revoked"
        assert "key" not in revoked
        assert whoami(server, key).status_code == 401
        assert [k["state"] for k in api.list_api_keys("bob")] == ["revoked"]


def test_expired_and_deleted_users_keys_get_401(server: Server) -> None:
    """The short key is first used after it expired, however slow the runner: that it works
    until then, cached or not, is proven with an injected clock (``tests/poros``)."""
    with client(server) as api:
        api.create_user("carol")
        short = api.create_api_key("carol", "short", expires_in_seconds=1)
        lasting = api.create_api_key("carol", "lasting")
        assert lasting["expires_at"] is None
        lifetime = datetime.fromisoformat(short["expires_at"]) - datetime.fromisoformat(
            short["created_at"]
        )
        assert timedelta(0) < lifetime <= timedelta(seconds=1)
        time.sleep(1.1)
        expired = whoami(server, short["key"])
        assert expired.status_code == 401
        assert expired.json()["error"]["code"] == "unauthenticated"
        assert whoami(server, lasting["key"]).status_code == 200
        api.delete_user("carol")
        assert whoami(server, lasting["key"]).status_code == 401
        with pytest.raises(ApiFailure) as caught:
            api.create_api_key("carol")
        assert caught.value.status == 404


def test_only_key_digests_are_at_rest(server: Server) -> None:
    with client(server) as api:
        api.create_user("dave")
        created = api.create_api_key("dave", "laptop")
    with sqlite3.connect(server.home / "poros.db") as db:
        rows = db.execute("SELECT * FROM api_keys WHERE id = ?", (created["key_id"],)).fetchall()
    assert len(rows) == 1
    assert hashlib.sha256(created["key"].encode()).hexdigest() in rows[0]
    assert not any(created["key"] in str(value) for value in rows[0])


def test_cli_user_verbs(server: Server) -> None:
    made = run_cli(server, "user", "create", "-i", "erin", "-n", "Erin", "--tags", "Tier.Gold")
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "user erin...created"
    tagged = run_cli(server, "user", "tag", "add", "-i", "erin", "-t", "roles:id:data-dev")
    assert tagged.returncode == 0, tagged.stderr
    assert "roles:id:data-dev" in tagged.stdout
    removed = run_cli(server, "user", "tag", "remove", "-i", "erin", "-t", "Tier.Gold")
    assert "Tier.Gold" not in removed.stdout
    table = run_cli(server, "user", "get", "-i", "erin")
    assert table.stdout.split("\n")[0].split() == ["NAME", "ID", "TYPE", "EMAIL", "TAGS"]
    assert "roles:id:data-dev" in table.stdout
    everyone = json.loads(run_cli(server, "user", "get", "-a", "-o", "json").stdout)
    assert {"dataos-operator", "erin"} <= {u["id"] for u in everyone}
    me = json.loads(run_cli(server, "user", "get", "-o", "json").stdout)
    assert me["id"] == "dataos-operator"

    created = run_cli(server, "user", "apikey", "create", "-i", "erin", "-n", "cli", "-d", "30d")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("dok_")
    assert "cannot be shown again" in created.stderr
    as_erin = run_cli(server, "user", "get", "-o", "json", DATAOS_API_KEY=key)
    assert json.loads(as_erin.stdout)["id"] == "erin"
    listed = run_cli(server, "user", "apikey", "list", "-i", "erin")
    assert "cli" in listed.stdout
    assert "active" in listed.stdout
    assert key not in listed.stdout
    revoked = run_cli(server, "user", "apikey", "revoke", "-i", "erin", "-n", "cli")
    assert revoked.returncode == 0, revoked.stderr
    refused = run_cli(server, "user", "get", DATAOS_API_KEY=key)
    assert refused.returncode == 1
    assert "dataos-ctl login" in refused.stderr
    assert run_cli(server, "user", "delete", "-i", "erin").returncode == 0
    bad = run_cli(server, "user", "apikey", "create", "-i", "x", "-d", "soon")
    assert bad.returncode == 1
    assert "not a duration" in bad.stderr


def test_cli_accepts_the_dataos_spelling(server: Server) -> None:
    made = run_cli(
        server, "user", "create", "-n", "lakesearch_app_token", "-t", "application", "-u", "lsapi"
    )
    assert made.returncode == 0, made.stderr
    key = run_cli(server, "user", "apikey", "create", "-d", "9999h", "-n", "ls_api", "-i", "lsapi")
    assert key.returncode == 0, key.stderr
    shown = json.loads(run_cli(server, "user", "get", "-i", "lsapi", "-o", "json").stdout)
    assert (shown["name"], shown["type"], shown["tags"]) == (
        "lakesearch_app_token",
        "application",
        ["users:id:lsapi"],
    )
    keys = json.loads(run_cli(server, "user", "apikey", "list", "-i", "lsapi", "-o", "json").stdout)
    assert [k["name"] for k in keys] == ["ls_api"]


def test_cli_reads_the_key_from_the_credentials_file(server: Server) -> None:
    result = run_cli(server, "user", "get", "-o", "json", DATAOS_API_KEY="", DATAOS_API_URL="")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["id"] == "dataos-operator"


def test_login_verifies_the_key_then_saves_it(server: Server, tmp_path: Path) -> None:
    with client(server) as api:
        api.create_user("frank")
        key = api.create_api_key("frank", "login")["key"]
    home = tmp_path / "frank-home"
    env = {"DATAOS_HOME": str(home), "DATAOS_API_KEY": "", "DATAOS_API_URL": ""}
    refused = run_cli(server, "login", "--api-key", key + "x", "--url", server.url, **env)
    assert refused.returncode == 1
    assert "not valid" in refused.stderr
    assert not (home / "credentials").exists()
    logged = run_cli(server, "login", "--api-key", key, "--url", server.url, **env)
    assert logged.returncode == 0, logged.stderr
    assert "as frank" in logged.stdout
    assert key not in logged.stdout + logged.stderr
    saved = home / "credentials"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert json.loads(saved.read_text())["api_key"] == key
    me = run_cli(server, "user", "get", "-o", "json", **env)
    assert json.loads(me.stdout)["id"] == "frank"
    saved.chmod(0o644)
    insecure = run_cli(server, "user", "get", **env)
    assert insecure.returncode == 1
    assert "readable by other users" in insecure.stderr
    assert f"chmod 600 {saved}" in insecure.stderr


def test_cli_without_any_key_says_how_to_log_in(server: Server, tmp_path: Path) -> None:
    result = run_cli(server, "get", DATAOS_API_KEY="", DATAOS_HOME=str(tmp_path))
    assert result.returncode == 1
    assert "carries no API key" in result.stderr
    assert "dataos-ctl login" in result.stderr
