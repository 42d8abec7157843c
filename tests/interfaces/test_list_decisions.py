"""A filtered list is one decision record (with the counts shown and hidden), through the
real server; single decisions are still logged one by one."""

from __future__ import annotations

import json

import pytest
from manifests import product

from dataos_defs.api.client import DataosClient
from tests.interfaces.conftest import Server, run_cli, user_key, wire
from tests.manifest_texts import workflow

pytestmark = pytest.mark.slow
LIST_PATH = "/poros/api/v1/resources"


@pytest.fixture(scope="module")
def plain(server: Server) -> DataosClient:
    """50 workflows: 20 in the plain user's workspace, 29 in another, one in ``public``."""
    with DataosClient(server.url, api_key=server.api_key) as operator:
        operator.apply(wire(product("base")), None)
        for team, count in (("team-a", 20), ("team-b", 29)):
            operator.create_workspace(team, team, [])
            texts = [workflow(f"{team}-flow-{n}", "basepg", f"{team[-1]}{n}") for n in range(count)]
            operator.apply(wire("---\n".join(texts)), team)
    return DataosClient(server.url, api_key=user_key(server, "pat", ["dataos:workspace:team-a"]))


def pats(server: Server) -> list[dict[str, object]]:
    with DataosClient(server.url, api_key=server.api_key) as operator:
        return operator.decisions(subject="pat", limit=10_000)


def test_a_list_of_50_is_one_record_with_counts(server: Server, plain: DataosClient) -> None:
    with DataosClient(server.url, api_key=server.api_key) as operator:
        assert len(operator.list_resources("workflow", None, None)) == 50
    before = len(pats(server))
    listed = plain.list_resources("workflow", None, None)
    assert {item["workspace"] for item in listed} == {"team-a"} and len(listed) == 20
    logged = pats(server)[before:]
    folded = [d for d in logged if d["object"] == LIST_PATH]
    assert len(folded) == 1, logged
    (record,) = folded
    assert record["shown"] == 20 and record["hidden"] == 30
    assert record["predicate"] == "read" and record["allow"] is False
    assert record["reason"] == "list of 50: 20 shown, 30 hidden"
    assert not [d for d in logged if str(d["object"]).startswith("poros://workflow")]


def test_single_decisions_are_still_one_record_each(server: Server, plain: DataosClient) -> None:
    before = len(pats(server))
    plain.get_resource("workflow", "team-a-flow-3", "team-a")
    logged = pats(server)[before:]
    assert [d["object"] for d in logged if d["predicate"] == "read"] == [
        "poros://workflow:team-a/team-a-flow-3"
    ]
    assert all("shown" not in d for d in logged)


def test_lists_of_workspaces_and_users_are_folded(server: Server, plain: DataosClient) -> None:
    before = len(pats(server))
    names = [w["name"] for w in plain.list_workspaces()]
    assert "team-a" in names and "team-b" not in names
    assert [u["id"] for u in plain.list_users()] == ["pat"]
    folded = {d["object"]: d for d in pats(server)[before:] if "shown" in d}
    assert set(folded) == {"/poros/api/v1/workspaces", "/heimdall/api/v1/users"}
    assert folded["/poros/api/v1/workspaces"]["shown"] == len(names)
    assert folded["/poros/api/v1/workspaces"]["hidden"] >= 1


def test_cli_decisions_since_and_subject(server: Server, plain: DataosClient) -> None:
    plain.list_resources("workflow", "team-a", None)
    newest = pats(server)[-1]
    since = str(newest["time"])
    answer = run_cli(server, "policy", "decisions", "--subject", "pat", "--since", since)
    assert answer.returncode == 0, answer.stderr
    as_json = run_cli(
        server, "policy", "decisions", "--subject", "pat", "--since", since, "-o", "json"
    )
    items = json.loads(as_json.stdout)
    assert items and all(str(d["time"]) >= since and d["subject"] == "pat" for d in items)
