"""Listings are cached, through the real server: the cached answer is exactly what Heimdall
allows and what each Resource's own ``get`` says, and every change it depends on (apply,
delete, a status change by another process, a policy, a user's tags) shows in the very next
request. Every list, cached or not, is still one decision record."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from manifests import product

from dataos_defs.api.client import DataosClient
from dataos_defs.heimdall.objects import resource_object
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store
from tests.interfaces.conftest import Server, user_key, wire
from tests.manifest_texts import workflow

pytestmark = pytest.mark.slow
LIST_PATH = "/poros/api/v1/resources"
TEAM_B_READER = """\
name: team-b-readers
version: v1
type: policy
policy:
  access:
    subjects: {tags: [["projects:id:audit"]]}
    predicates: [read]
    objects: {paths: ["poros://*:team-b/*"]}
    allow: true
"""


@pytest.fixture(scope="module")
def operator(server: Server) -> Iterator[DataosClient]:
    """The store: a product in ``public``, 6 workflows in team-a and 5 in team-b."""
    with DataosClient(server.url, api_key=server.api_key) as client:
        client.apply(wire(product("base")), None)
        for team, count in (("team-a", 6), ("team-b", 5)):
            client.create_workspace(team, team, [])
            texts = [workflow(f"{team}-flow-{n}", "basepg", f"{team[-1]}{n}") for n in range(count)]
            client.apply(wire("---\n".join(texts)), team)
        yield client


@pytest.fixture(scope="module")
def pat(server: Server, operator: DataosClient) -> Iterator[DataosClient]:
    """A member of team-a only."""
    key = user_key(server, "pat", ["dataos:workspace:team-a"])
    with DataosClient(server.url, api_key=key) as client:
        yield client


def workspaces(client: DataosClient, workspace: str | None = None) -> set[str | None]:
    return {item["workspace"] for item in client.list_resources(None, workspace, None)}


def names(client: DataosClient) -> set[str]:
    return {item["name"] for item in client.list_resources("workflow", None, None)}


def test_the_cached_answer_is_what_heimdall_allows(
    server: Server, operator: DataosClient, pat: DataosClient
) -> None:
    first = pat.list_resources(None, None, None)
    again = pat.list_resources(None, None, None)
    assert first == again
    everything = operator.list_resources(None, None, None)
    allowed = [item for item in everything if _allows(pat, item)]
    assert 0 < len(allowed) < len(everything)
    assert again == allowed
    assert {item["workspace"] for item in again} == {None, "team-a"}


def test_items_are_what_each_resource_get_says(pat: DataosClient) -> None:
    pat.list_resources("workflow", "team-a", None)
    for item in pat.list_resources("workflow", "team-a", None):
        one = pat.get_resource("workflow", item["name"], "team-a")
        assert item == {**one, "manifest": None}


def test_apply_and_delete_show_on_the_next_request(
    operator: DataosClient, pat: DataosClient
) -> None:
    assert "team-a-late" not in names(pat)
    operator.apply(wire(workflow("team-a-late", "basepg", "late")), "team-a")
    assert "team-a-late" in names(pat)
    operator.delete_resource("workflow", "team-a-late", "team-a")
    assert "team-a-late" not in names(pat)


def test_a_status_change_by_another_process_shows(server: Server, pat: DataosClient) -> None:
    def status() -> tuple[str, str | None]:
        (item,) = pat.list_resources("workflow", "team-a", "team-a-flow-1")
        return item["status"], item["status_reason"]

    before = status()
    settings = Settings.from_env({"DATAOS_HOME": str(server.home)})
    with Store.open(settings=settings) as store:
        store.set_status("workflow", "team-a-flow-1", "team-a", "error", "changed elsewhere")
    assert before != ("error", "changed elsewhere")
    assert status() == ("error", "changed elsewhere")


def test_a_policy_change_takes_effect_on_the_next_request(
    server: Server, operator: DataosClient
) -> None:
    key = user_key(server, "audrey", ["projects:id:audit"])
    with DataosClient(server.url, api_key=key) as audrey:
        assert "team-b" not in workspaces(audrey)
        operator.apply(wire(TEAM_B_READER), None)
        assert "team-b" in workspaces(audrey)
        operator.delete_resource("policy", "team-b-readers", None)
        assert "team-b" not in workspaces(audrey)


def test_a_tag_change_takes_effect_on_the_next_request(
    operator: DataosClient, pat: DataosClient
) -> None:
    operator.apply(wire(TEAM_B_READER), None)
    try:
        assert "team-b" not in workspaces(pat)
        operator.add_user_tags("pat", ["projects:id:audit"])
        assert "team-b" in workspaces(pat)
        operator.remove_user_tags("pat", ["projects:id:audit"])
        assert "team-b" not in workspaces(pat)
    finally:
        operator.delete_resource("policy", "team-b-readers", None)


def test_every_list_is_one_record_cached_or_not(server: Server, pat: DataosClient) -> None:
    def lists() -> list[dict[str, Any]]:
        logged = server_decisions(server)
        return [d for d in logged if d["object"] == LIST_PATH and d["subject"] == "pat"]

    before = len(lists())
    shown = len(pat.list_resources(None, None, None))
    pat.list_resources(None, None, None)
    records = lists()[before:]
    assert len(records) == 2
    assert all(r["shown"] == shown and r["hidden"] > 0 for r in records)
    assert records[0]["reason"] == records[1]["reason"]


def server_decisions(server: Server) -> list[dict[str, Any]]:
    with DataosClient(server.url, api_key=server.api_key) as operator:
        return operator.decisions(subject="pat", limit=10_000)


def _allows(caller: DataosClient, item: dict[str, Any]) -> bool:
    """Heimdall's own answer (its authorize endpoint) on the caller reading ``item``."""
    path = resource_object(item["type"], item["name"], item["workspace"])
    return bool(caller.authorize("read", path)["allow"])
