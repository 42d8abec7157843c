"""Side doors around "no identity reaches data Heimdall would refuse it through the Gateway",
tried the way an attacker would through a real server, at the OPA-compatible API: reading
``data.heimdall`` (every policy and every user's tags), asking about other users, and
overriding platform decisions with a module or data. Trino protocol and routing:
``test_side_doors_trino.py``; logs, history, catalogs: ``test_side_doors_runtime.py``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.interfaces.conftest import Server
from tests.interfaces.side_doors import SALARIES, bearer, post, running_world

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    with running_world(tmp_path_factory.mktemp("side-doors")) as running:
        yield running


@pytest.mark.parametrize(
    "path",
    [
        "/v1/data",
        "/v1/data/",
        "/v1/data/heimdall",
        "/v1/data/heimdall/identities",
        "/v1/data/heimdall/policies",
        "/v1/data/heimdall/trino/masks",
        "/v1/data/heimdall/access/policies",
        "/v1/data/heimdall/access",
        "/v1/data/trino",
        "/v1/data/trino/subject_tags",
    ],
)
def test_platform_documents_are_not_readable_by_asking_for_decisions(world, path: str) -> None:
    server, keys = world
    document = {"input": {"context": {"identity": {"user": "ana"}}}}
    refused = post(server, keys["ana"], path, document)
    assert refused.status_code == 403, refused.text
    assert "result" not in refused.json()
    message = refused.json()["error"]["message"]
    assert message.startswith(("ana may not get /v1/data", "ana may not post /v1/data:"))
    assert httpx.get(f"{server.url}{path}", headers=bearer(keys["ana"])).status_code == 403
    assert post(server, keys["operator"], path, document).status_code == 200


def test_operators_still_read_every_document(world) -> None:
    server, keys = world
    identities = post(server, keys["operator"], "/v1/data/heimdall/identities", {})
    assert "roles:id:data-dev" in identities.json()["result"]["dana"]


def heimdall_input(user: str, tags: list[str], path: str) -> dict[str, Any]:
    subject = {"id": user, "tags": tags}
    return {"input": {"subject": subject, "predicate": "select", "object": {"path": path}}}


def trino_input(user: str, groups: list[str], table: str = "customers") -> dict[str, Any]:
    resource = {
        "table": {
            "catalogName": "lakehouse",
            "schemaName": "shop",
            "tableName": table,
            "columns": ["email"],
        }
    }
    context = {"identity": {"user": user, "groups": groups}}
    action = {"operation": "SelectFromColumns", "resource": resource}
    return {"input": {"context": context, "action": action}}


def test_decisions_about_oneself_are_answered(world) -> None:
    server, keys = world
    own = heimdall_input("ana", ["users:id:ana", "roles:id:user"], "dataos://lakehouse:shop/x")
    answer = post(server, keys["ana"], "/v1/data/heimdall/access/allow", own)
    assert answer.status_code == 200 and answer.json()["result"] is True
    answer = post(server, keys["ana"], "/v1/data/trino/allow", trino_input("ana", []))
    assert answer.status_code == 200 and answer.json()["result"] is True


@pytest.mark.parametrize(
    ("path", "document"),
    [
        ("heimdall/access/allow", heimdall_input("bob", ["users:id:bob"], "dataos://x:y/z")),
        (
            "heimdall/access/decision",
            heimdall_input("ana", ["users:id:ana", "roles:id:operator"], "dataos://x:y/z"),
        ),
        ("heimdall/access/batch", {"input": {"subject": {"tags": []}, "requests": []}}),
        ("trino/allow", trino_input("bob", [])),
        ("trino/allow", trino_input("ana", ["operator"], "salaries")),
        ("trino/columnMask", trino_input("bob", [])),
    ],
)
def test_decisions_about_others_need_read_on_them(world, path: str, document: Any) -> None:
    """As Heimdall's own authorize endpoint: asking about another user, or with tags or
    groups one does not hold, needs read on that user (Trino's coordinator has it)."""
    server, keys = world
    refused = post(server, keys["ana"], f"/v1/data/{path}", document)
    assert refused.status_code == 403, refused.text
    assert "may not read heimdall://user/" in refused.json()["error"]["message"]
    assert post(server, keys["operator"], f"/v1/data/{path}", document).status_code == 200


@pytest.mark.parametrize(
    "module",
    [
        'package heimdall.access\n\ngrants contains ["backdoor", 0] if true\n',
        'package heimdall\n\naccess.grants contains ["backdoor", 0] if true\n',
        "# innocent\n\npackage\ntrino\n\nallow if true\n",
        'package heimdall["access"]\n\ndenials := set()\n',
    ],
)
def test_no_module_can_override_platform_decisions(world, module: str) -> None:
    server, keys = world
    answer = httpx.put(
        f"{server.url}/v1/policies/backdoor.rego", content=module, headers=bearer(keys["operator"])
    )
    assert answer.status_code == 403, answer.text
    assert "belongs to the platform" in answer.json()["message"]
    listed = httpx.get(f"{server.url}/v1/policies", headers=bearer(keys["operator"])).json()
    assert "backdoor.rego" not in [p["id"] for p in listed["result"]]
    still = post(server, keys["ana"], "/gateway/api/v1/query", {"sql": SALARIES})
    assert still.status_code == 403


def test_a_module_without_a_readable_package_is_refused(world) -> None:
    server, keys = world
    for module in ("allow := true\n", "\ufeffpackage heimdall.access\n\nallow := true\n"):
        answer = httpx.put(
            f"{server.url}/v1/policies/nameless.rego",
            content=module.encode(),
            headers=bearer(keys["operator"]),
        )
        assert answer.status_code == 400, answer.text


def test_own_packages_and_data_remain_writable(world) -> None:
    server, keys = world
    headers = bearer(keys["operator"])
    module = "package demo\n\nallow if input.user == data.demo_data.admin\n"
    assert httpx.put(
        f"{server.url}/v1/policies/demo.rego", content=module, headers=headers
    ).is_success
    assert httpx.put(
        f"{server.url}/v1/data/demo_data", json={"admin": "root"}, headers=headers
    ).is_success
    answer = post(server, keys["ana"], "/v1/data/demo/allow", {"input": {"user": "root"}})
    assert answer.json()["result"] is True
    assert httpx.delete(f"{server.url}/v1/policies/demo.rego", headers=headers).is_success


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/v1/data/trino"),
        ("PUT", "/v1/data/heimdall/extra"),
        ("DELETE", "/v1/data/heimdall"),
    ],
)
def test_platform_data_cannot_be_written(world, method: str, path: str) -> None:
    server, keys = world
    answer = httpx.request(
        method, f"{server.url}{path}", json={"allow": True}, headers=bearer(keys["operator"])
    )
    assert answer.status_code == 403, answer.text


def test_an_ad_hoc_query_needs_the_right_to_read_documents(world) -> None:
    server, keys = world
    body = {"query": "x := data.heimdall.identities"}
    refused = post(server, keys["ana"], "/v1/query", body)
    assert refused.status_code == 403 and "may not get /v1/data" in refused.text
    assert "dana" not in refused.text
    allowed = post(server, keys["operator"], "/v1/query", body)
    assert allowed.status_code == 200 and "dana" in allowed.text
