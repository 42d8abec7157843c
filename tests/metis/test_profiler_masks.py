"""Profiles are data: a reader for whom a column is masked never sees its value statistics.

A real API server with the example's data policies (``resources/policies.yaml``: columns
tagged ``PII.Email`` hashed for every user, clear for operators), a table whose ``email``
column is tagged ``PII.Email`` in Metis, and a profile with values of every column.
``dev`` is a plain ``roles:id:data-dev`` user who may read the catalog: every way to a
profile (latest, ``fields=profile`` by name, id and list, versions, search) answers the
masked column's counts only; the operator gets every statistic. The regex filters of lists
refuse what RE2 cannot run and bound their patterns.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.metis.metis_helpers import ROOT, apply_policy, client, interfaces, ok, shop_catalog
from tests.metis.om_schemas import assert_om

SERVICE = "profsvc"
TABLE = f"{SERVICE}.shop.public.customers"
NOW = int(time.time() * 1000)
PROFILE = {
    "tableProfile": {"timestamp": NOW, "rowCount": 3, "columnCount": 2},
    "columnProfile": [
        {"name": "id", "timestamp": NOW, "valuesCount": 3, "nullCount": 0, "min": 1, "max": 3},
        {
            "name": "email",
            "timestamp": NOW,
            "valuesCount": 3,
            "nullCount": 1,
            "nullProportion": 0.33,
            "distinctCount": 2,
            "min": "ann@example.com",
            "max": "zed@example.com",
            "minLength": 14,
            "cardinalityDistribution": {
                "categories": ["ann@example.com", "zed@example.com"],
                "counts": [1, 1],
            },
            "histogram": {"boundaries": ["ann@example.com"], "frequencies": [2]},
        },
    ],
}
SECRET_VALUES = ("ann@example.com", "zed@example.com")


@pytest.fixture(scope="module")
def world(metis_server: Any) -> Iterator[dict[str, Any]]:
    helpers = interfaces()
    policies = (ROOT / "resources" / "policies.yaml").read_text()
    applied = httpx.post(
        f"{metis_server.url}/poros/api/v1/apply",
        json={"documents": helpers.wire(policies)},
        headers=metis_server.headers,
        timeout=60,
    )
    assert applied.status_code == 200, applied.text
    apply_policy(metis_server, "profile-readers", "[users:id:*]", "read", '"/metis/**"')
    with client(metis_server.url, metis_server.api_key) as operator:
        shop_catalog(operator, SERVICE)
        ok(operator.put("/classifications", json={"name": "PII", "description": "p"}), 200, 201)
        ok(operator.put("/tags", json={"name": "Email", "classification": "PII"}), 200, 201)
        table = ok(operator.get(f"/tables/name/{TABLE}"))
        tag = [{"op": "add", "path": "/columns/1/tags/0", "value": {"tagFQN": "PII.Email"}}]
        ok(
            operator.patch(
                f"/tables/{table['id']}",
                json=tag,
                headers={"Content-Type": "application/json-patch+json"},
            )
        )
        stored = ok(operator.put(f"/tables/{table['id']}/tableProfile", json=PROFILE))
        assert_om("Table", stored)
    dev = helpers.user_key(metis_server, "dev", ["roles:id:data-dev"])
    yield {"table": table, "dev": dev}


def profiles_of(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c["profile"] for c in answer["columns"] if "profile" in c}


def test_a_masked_column_keeps_its_counts_only(metis_server: Any, world: dict[str, Any]) -> None:
    table_id = world["table"]["id"]
    with client(metis_server.url, world["dev"]) as dev:
        answers = [
            ok(dev.get(f"/tables/{TABLE}/tableProfile/latest")),
            ok(dev.get(f"/tables/name/{TABLE}", params={"fields": "profile,columns"})),
            ok(dev.get(f"/tables/{table_id}", params={"fields": "*"})),
            *ok(dev.get("/tables", params={"service": SERVICE, "fields": "profile"}))["data"],
        ]
        versions = dev.get(f"/tables/{table_id}/versions").text
        found = dev.get("/search/query", params={"q": "zed", "index": "table_search_index"}).text
    for answer in answers:
        if answer["fullyQualifiedName"] != TABLE:
            continue
        assert_om("Table", answer)
        columns = profiles_of(answer)
        assert columns["email"] == {
            "name": "email",
            "timestamp": NOW,
            "valuesCount": 3,
            "nullCount": 1,
            "nullProportion": 0.33,
            "distinctCount": 2,
        }
        assert (columns["id"]["min"], columns["id"]["max"]) == (1, 3)
        assert answer["profile"]["rowCount"] == 3
    for text in (versions, found, *map(str, answers)):
        for value in SECRET_VALUES:
            assert value not in text


def test_the_operator_sees_every_statistic(metis_server: Any, world: dict[str, Any]) -> None:
    with client(metis_server.url, metis_server.api_key) as operator:
        latest = ok(operator.get(f"/tables/{TABLE}/tableProfile/latest"))
    email = profiles_of(latest)["email"]
    assert (email["min"], email["max"]) == SECRET_VALUES
    assert email["cardinalityDistribution"]["categories"] == list(SECRET_VALUES)


def test_a_plain_user_cannot_write_or_forge_a_profile(
    metis_server: Any, world: dict[str, Any]
) -> None:
    table_id = world["table"]["id"]
    forged = {**PROFILE, "tableProfile": {"timestamp": NOW + 1, "rowCount": 999}}
    with client(metis_server.url, world["dev"]) as dev:
        refused = dev.put(f"/tables/{table_id}/tableProfile", json=forged)
        assert refused.status_code == 403, refused.text
    with client(metis_server.url, metis_server.api_key) as operator:
        patch = [{"op": "add", "path": "/profile", "value": {"timestamp": 1, "rowCount": 999}}]
        patched = operator.patch(
            f"/tables/{table_id}",
            json=patch,
            headers={"Content-Type": "application/json-patch+json"},
        )
        assert patched.status_code == 400, patched.text
        extra = {**PROFILE, "tableProfile": {"timestamp": NOW, "rowCount": 3, "secret": "x"}}
        assert operator.put(f"/tables/{table_id}/tableProfile", json=extra).status_code == 400
        latest = ok(operator.get(f"/tables/{TABLE}/tableProfile/latest"))
    assert latest["profile"]["rowCount"] == 3


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"tableRegex": "(?=cust)"}, "RE2"),
        ({"tableRegex": r"(c)\1"}, "RE2"),
        ({"tableRegex": "c" * 1001}, "at most 1000"),
        ({"tableRegex": "cust", "regexMode": "sometimes"}, "include or exclude"),
    ],
)
def test_regex_filters_refuse_what_re2_cannot_run(
    metis_server: Any, world: dict[str, Any], params: dict[str, str], reason: str
) -> None:
    with client(metis_server.url, world["dev"]) as dev:
        refused = dev.get("/tables", params={"service": SERVICE, **params})
    assert refused.status_code == 400, refused.text
    assert reason in refused.text


def test_regex_filters_select_on_the_server(metis_server: Any, world: dict[str, Any]) -> None:
    """Start-anchored, case-insensitive, like the client's own filters; a pattern that would
    backtrack for ages in Python's ``re`` answers at once (RE2)."""
    cases = [
        ({"tableRegex": "CUST"}, ["customers"]),
        ({"tableRegex": "ers$"}, []),
        ({"tableRegex": ".*ers$"}, ["customers", "orders"]),
        ({"tableRegex": "cust", "regexMode": "exclude"}, ["orders"]),
        ({"databaseSchemaRegex": "^public$", "tableRegex": "ord"}, ["orders"]),
        ({"tableRegex": f"{SERVICE}\\.shop\\.public\\.o", "regexFilterByFqn": "true"}, ["orders"]),
        ({"tableRegex": "(a+)+$" + "|(x+x+)+y"}, []),
    ]
    with client(metis_server.url, world["dev"]) as dev:
        for params, names in cases:
            started = time.monotonic()
            listed = ok(dev.get("/tables", params={"service": SERVICE, "limit": 10, **params}))
            assert time.monotonic() - started < 5
            assert [t["name"] for t in listed["data"]] == names, params
            assert listed["paging"]["total"] == len(names)
