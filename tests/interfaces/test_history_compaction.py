"""History compaction through the real API server and the real ``dataos-ctl``: only an
operator may compact, a data developer cannot erase or even enumerate deleted history,
and ``get history`` shows what was compacted."""

from __future__ import annotations

import json

import httpx
import pytest

from dataos_defs.api.client import DataosClient
from tests.interfaces.conftest import run_cli, user_key, wire

pytestmark = pytest.mark.slow

SECRET = """
name: {name}
version: v1
type: instance-secret
instance-secret:
  type: key-value
  acl: r
  data:
    password: {password}
"""
COMPACT = "/poros/api/v1/history/compact"


def test_a_data_developer_can_neither_compact_nor_list_deleted_history(server) -> None:
    """The attacker deletes their own secret and tries to erase the audit trail of it (and
    to learn, with a dry run, what others deleted): both are refused and nothing changes."""
    dev = user_key(server, "compact-dev", ["roles:id:data-dev"])
    headers = {"Authorization": f"Bearer {dev}"}
    with DataosClient(server.url, api_key=dev) as client:
        client.apply(wire(SECRET.format(name="devsec", password="dev-pass-1")), None)
        client.delete_resource("instance-secret", "devsec", None)
    for dry_run in (True, False):
        answer = httpx.post(
            f"{server.url}{COMPACT}",
            headers=headers,
            json={"deleted_before": "2999-01-01T00:00:00Z", "dry_run": dry_run},
        )
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "forbidden"
        assert "devsec" not in answer.text
    with DataosClient(server.url, api_key=server.api_key) as operator:
        history = operator.history("instance-secret", "devsec", None)
    assert [r["compacted_at"] for r in history["revisions"]] == [None, None]


def test_the_operator_compacts_with_the_cli_and_history_says_so(server) -> None:
    with DataosClient(server.url, api_key=server.api_key) as client:
        client.apply(wire(SECRET.format(name="opsec", password="op-pass-2")), None)
        client.delete_resource("instance-secret", "opsec", None)

    dry = run_cli(server, "history", "compact", "--older-than", "0m", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "opsec" in dry.stdout and "would compact" in dry.stdout
    done = run_cli(
        server, "history", "compact", "--deleted-before", "2999-01-01", "--output", "json"
    )
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert not body["dry_run"] and body["revisions"] >= 2
    assert {"type": "instance-secret", "name": "opsec", "workspace": None} in body["resources"]

    shown = run_cli(server, "get", "history", "-t", "instance-secret", "-n", "opsec")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count("(compacted)") == 2
    again = run_cli(server, "history", "compact", "--older-than", "0m", "--output", "json")
    assert "opsec" not in again.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--older-than", "30 days"], "is not an age"),
        (["--deleted-before", "yesterday"], "is not a date"),
        ([], "exactly one of"),
        (["--older-than", "1d", "--deleted-before", "2026-01-01"], "exactly one of"),
    ],
)
def test_bad_cut_offs_are_clear_errors(server, args: list[str], message: str) -> None:
    result = run_cli(server, "history", "compact", *args)
    assert result.returncode != 0
    assert message in result.stderr + result.stdout


def test_a_cut_off_without_a_time_zone_is_refused_by_the_api(server) -> None:
    answer = httpx.post(
        f"{server.url}{COMPACT}",
        headers=server.headers,
        json={"deleted_before": "2026-01-01T00:00:00"},
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "bad_request"
    assert "time zone" in answer.json()["error"]["message"]
