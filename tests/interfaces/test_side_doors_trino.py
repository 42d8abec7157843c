"""Side doors through the Trino protocol (identity and session headers, session statements,
others' result pages, a spoofed source) and through query routing (a tenant's cluster
cannot capture or break anyone's queries; without a default cluster the CLI says what to
do), tried against a real server with the real ``trino`` client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import trino
from trino.auth import BasicAuthentication

from dataos_defs.api.admission import BY_KIND
from dataos_defs.api.admission.clusters import check_cluster
from dataos_defs.api.client import ApiFailure, DataosClient
from dataos_defs.minerva.settings import DEFAULT_CLUSTER_ENV
from tests.interfaces.conftest import Server, run_cli, start_server, stop_server
from tests.interfaces.side_doors import (
    CUSTOMERS,
    MANIFESTS,
    SALARIES,
    bearer,
    cluster,
    post,
    running_world,
    until,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    with running_world(tmp_path_factory.mktemp("side-doors")) as running:
        yield running


def connect(server: Server, user: str, key: str, **options: Any) -> Any:
    return trino.dbapi.connect(
        host="127.0.0.1",
        port=int(server.url.rsplit(":", 1)[1]),
        user=user,
        auth=BasicAuthentication(user, key),
        http_scheme="http",
        allow_insecure_auth=True,
        **options,
    )


def fetch(connection: Any, sql: str) -> list[list[Any]]:
    cursor = connection.cursor()
    cursor.execute(sql)
    return [list(row) for row in cursor.fetchall()]


def test_trino_headers_cannot_change_the_identity(world) -> None:
    server, keys = world
    for header in ("bob", "operator", "dataos-operator", "ANA"):
        answer = httpx.post(
            f"{server.url}/v1/statement",
            content=CUSTOMERS,
            headers={**bearer(keys["ana"]), "X-Trino-User": header},
        )
        assert answer.status_code == 403, header
        assert "the API key belongs to ana" in answer.text


def test_session_roles_and_credentials_change_no_rule(world) -> None:
    server, keys = world
    sneaky = connect(
        server,
        "ana",
        keys["ana"],
        session_properties={"query_max_run_time": "1h"},
        roles={"system": "operator"},
        client_tags=["operator", "pii-reader"],
        extra_credential=[("user", "dataos-operator")],
        catalog="lakehouse",
        schema="hr",
    )
    assert fetch(sneaky, CUSTOMERS) == [["REDACTED", "Ada"]]
    with pytest.raises(trino.exceptions.TrinoUserError) as caught:
        fetch(sneaky, "SELECT * FROM salaries")
    assert caught.value.error_name == "PERMISSION_DENIED"


@pytest.mark.parametrize(
    "sql",
    [
        "SET SESSION query_max_run_time = '1h'",
        "SET ROLE operator",
        "RESET SESSION query_max_run_time",
        "USE lakehouse.hr",
        "SET SESSION AUTHORIZATION 'dataos-operator'",
        "SELECT * FROM system.runtime.queries",
    ],
)
def test_session_statements_are_refused(world, sql: str) -> None:
    server, keys = world
    with pytest.raises(trino.exceptions.TrinoUserError):
        fetch(connect(server, "ana", keys["ana"]), sql)


def test_another_users_result_pages_are_not_served(world) -> None:
    server, keys = world
    first = post(server, keys["ana"], "/gateway/api/v1/query", {"sql": CUSTOMERS, "pageSize": 1})
    query_id = first.json()["queryId"]
    stolen = httpx.get(
        f"{server.url}/v1/statement/executing/{query_id}/1", headers=bearer(keys["bob"])
    )
    assert "ada@example.com" not in stolen.text and stolen.json()["stats"]["state"] == "FAILED"


# -- routing: a tenant's cluster cannot capture or break anyone's queries --------------------


def audit_cluster(server: Server, key: str) -> str:
    records = httpx.get(f"{server.url}/gateway/api/v1/queries", headers=bearer(key)).json()
    cluster: str = records[-1]["cluster"]
    return cluster


def test_a_tenants_cluster_without_selector_breaks_nothing(world) -> None:
    """The reproduced outage: a data developer's second cluster without selector."""
    server, keys = world
    with DataosClient(server.url, api_key=keys["dana"]) as dana:
        dana.apply([{"manifest": cluster("danasandbox")}], None)
    named = {"sql": CUSTOMERS, "cluster": "danasandbox"}
    assert until(lambda: post(server, keys["ana"], "/gateway/api/v1/query", named).is_success)
    for user in ("ana", "bob"):
        answer = post(server, keys[user], "/gateway/api/v1/query", {"sql": CUSTOMERS})
        assert answer.status_code == 200, answer.text
        assert answer.json()["cluster"] == "minervashop"
    answer = post(server, keys["ana"], "/gateway/api/v1/query", named)
    assert answer.json()["cluster"] == "danasandbox"
    assert answer.json()["rows"] == [["REDACTED", "Ada"]], "routing is not an access boundary"


def test_a_spoofed_source_changes_the_cluster_not_the_rules(world) -> None:
    server, keys = world
    with DataosClient(server.url, api_key=keys["operator"]) as admin:
        admin.apply([{"manifest": cluster("flarejobs", {"sources": ["flare/**"]})}], None)
    spoofed = connect(server, "ana", keys["ana"], source="flare/anything")

    def routed() -> bool:
        assert fetch(spoofed, CUSTOMERS) == [["REDACTED", "Ada"]]
        return audit_cluster(server, keys["ana"]) == "flarejobs"

    assert until(routed)
    with pytest.raises(trino.exceptions.TrinoUserError):
        fetch(spoofed, SALARIES)


def test_without_a_default_cluster_the_cli_says_what_to_do(tmp_path) -> None:
    """An operator who sets no default: unrouted queries are refused with the remedy,
    queries that name a cluster run."""
    home = tmp_path / "home"
    home.mkdir()
    bare = start_server(home)
    try:
        with DataosClient(bare.url, api_key=bare.api_key) as admin:
            admin.apply([{"manifest": MANIFESTS[0]}, {"manifest": cluster("minervashop")}], None)
        refused = run_cli(bare, "query", "SELECT 1 AS one")
        assert refused.returncode == 1
        assert "no cluster's selector matches user 'dataos-operator'" in refused.stderr
        assert "no default cluster is set" in refused.stderr
        assert "-c NAME (available: minervashop)" in refused.stderr
        assert DEFAULT_CLUSTER_ENV in refused.stderr
        named = run_cli(bare, "query", "-c", "minervashop", "-o", "json", "SELECT 1 AS one")
        assert named.returncode == 0, named.stderr
        assert '"one": 1' in named.stdout
    finally:
        stop_server(bare)


@pytest.mark.skipif(
    BY_KIND.get("cluster") is not check_cluster,
    reason="admission/clusters.check_cluster is not wired into the apply path yet",
)
def test_a_selector_needs_the_routing_privilege_at_apply(world) -> None:
    server, keys = world
    capture = cluster("capture", {"users": ["ana", "bob"], "priority": 1})
    with (
        DataosClient(server.url, api_key=keys["dana"]) as dana,
        pytest.raises(ApiFailure) as caught,
    ):
        dana.apply([{"manifest": capture}], None)
    assert caught.value.status == 422
    assert "may not route queries" in str(caught.value.error)
    answer = post(server, keys["ana"], "/gateway/api/v1/query", {"sql": CUSTOMERS})
    assert answer.json()["cluster"] == "minervashop"
