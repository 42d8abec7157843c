"""Cancel stops the statement on the engine: from the Workbench, the Gateway API and the
Trino protocol (the real ``trino`` client), against a real API server and its embedded
DuckDB. Each test starts a cross join that runs for seconds, waits until the Gateway lists
it as executing (``GET /gateway/api/v1/queries/running``), cancels it and asserts that the
engine let go of it within :data:`STOPPED_WITHIN` seconds. Only the owner (or an operator)
may cancel: another plain user's cancel changes nothing.

What is interrupted is the statement: loading a dataset into the engine before it (the
first read of an Iceberg table) runs to its end, so the module reads the table once first.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import trino

from dataos_defs.api.client import DataosClient
from tests.web.web_support import LONG_SQL, PLAIN_TAGS, PLAIN_USER, WebPlatform, csrf_of, signed_in

FRAGMENT = {"X-Fragment": "1"}
STOPPED_WITHIN = 1.5
OTHER_USER = "bob"
RUNNING = "/gateway/api/v1/queries/running"


@pytest.fixture(scope="module")
def bob_key(platform: WebPlatform) -> str:
    with DataosClient(platform.url, api_key=platform.keys["operator"]) as admin:
        admin.create_user(OTHER_USER, tags=PLAIN_TAGS)
        return str(admin.create_api_key(OTHER_USER)["key"])


@pytest.fixture(scope="module")
def ana(platform: WebPlatform) -> Iterator[httpx.Client]:
    with api(platform, platform.keys[PLAIN_USER]) as warm_up:
        body = {"sql": "SELECT count(*) FROM lakehouse.shop.events"}
        assert warm_up.post("/gateway/api/v1/query", json=body).status_code == 200
    with signed_in(platform, PLAIN_USER) as client:
        yield client


def api(platform: WebPlatform, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=platform.url, headers={"Authorization": f"Bearer {key}"}, timeout=60
    )


def running(platform: WebPlatform, key: str) -> list[dict[str, object]]:
    with api(platform, key) as client:
        answer = client.get(RUNNING)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, object]] = answer.json()
    return found


def wait_running(platform: WebPlatform, user: str, timeout: float = 60) -> str:
    """The id of ``user``'s statement once the Gateway lists it as executing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mine = [q for q in running(platform, platform.keys["operator"]) if q["user"] == user]
        if mine:
            return str(mine[0]["queryId"])
        time.sleep(0.05)
    raise AssertionError(f"no statement of {user} ever executed")


def seconds_until_stopped(platform: WebPlatform, query_id: str, timeout: float = 60) -> float:
    started = time.monotonic()
    while any(q["queryId"] == query_id for q in running(platform, platform.keys["operator"])):
        assert time.monotonic() - started < timeout, "the statement never stopped"
        time.sleep(0.02)
    return time.monotonic() - started


def start_in_workbench(client: httpx.Client) -> httpx.Response:
    token = csrf_of(client.get("/workbench").text)
    form = {"sql": LONG_SQL, "cluster": "", "page_size": "50", "csrf_token": token}
    answer = client.post("/workbench/run", data=form, headers=FRAGMENT)
    assert "Running" in answer.text, answer.text
    return answer


def test_workbench_cancel_stops_the_engine(platform: WebPlatform, ana: httpx.Client) -> None:
    started = start_in_workbench(ana)
    query_id = wait_running(platform, PLAIN_USER)
    assert [q["queryId"] for q in running(platform, platform.keys[PLAIN_USER])] == [query_id]
    cancel = re.search(r'action="(/workbench/runs/[^"]+/cancel)"', started.text)
    assert cancel is not None
    answer = ana.post(cancel.group(1), data={"csrf_token": csrf_of(started.text)}, headers=FRAGMENT)
    assert "Cancelled" in answer.text
    assert seconds_until_stopped(platform, query_id) < STOPPED_WITHIN


def test_another_user_cannot_cancel_it(
    platform: WebPlatform, ana: httpx.Client, bob_key: str
) -> None:
    """Bob learns ana's query id (say, from a shared screen) and tries every door."""
    start_in_workbench(ana)
    query_id = wait_running(platform, PLAIN_USER)
    assert running(platform, bob_key) == []
    with api(platform, bob_key) as bob:
        assert bob.delete(f"/gateway/api/v1/query/{query_id}").status_code == 404
        bob.delete(f"/v1/statement/queued/{query_id}/0")
        bob.delete(f"/v1/statement/executing/{query_id}/1")
        assert bob.get(f"/v1/statement/queued/{query_id}/0").json()["stats"]["state"] == "FAILED"
    time.sleep(0.5)
    assert query_id in [q["queryId"] for q in running(platform, platform.keys[PLAIN_USER])]
    with api(platform, platform.keys["operator"]) as operator:
        assert operator.delete(f"/gateway/api/v1/query/{query_id}").status_code == 204
    assert seconds_until_stopped(platform, query_id) < STOPPED_WITHIN


def test_the_owner_cancels_through_the_gateway_api(
    platform: WebPlatform, ana: httpx.Client
) -> None:
    start_in_workbench(ana)
    query_id = wait_running(platform, PLAIN_USER)
    with api(platform, platform.keys[PLAIN_USER]) as owner:
        assert owner.delete(f"/gateway/api/v1/query/{query_id}").status_code == 204
    assert seconds_until_stopped(platform, query_id) < STOPPED_WITHIN
    with api(platform, platform.keys[PLAIN_USER]) as owner:
        assert owner.delete(f"/gateway/api/v1/query/{query_id}").status_code == 404


def test_the_trino_client_cancels_a_running_statement(platform: WebPlatform) -> None:
    """The official client's ``cancel`` is a ``DELETE`` of the ``nextUri`` it polls."""
    host, port = platform.url.removeprefix("http://").split(":")
    conn = trino.dbapi.connect(
        host=host,
        port=int(port),
        user=PLAIN_USER,
        auth=trino.auth.BasicAuthentication(PLAIN_USER, platform.keys[PLAIN_USER]),
        http_scheme="http",
        allow_insecure_auth=True,
    )
    cursor = conn.cursor()
    failure: list[BaseException] = []

    def execute() -> None:
        try:
            cursor.execute(LONG_SQL)
            cursor.fetchall()
        except Exception as exc:
            failure.append(exc)

    thread = threading.Thread(target=execute, daemon=True)
    thread.start()
    query_id = wait_running(platform, PLAIN_USER)
    while cursor._query is None or cursor._query.query_id is None:
        time.sleep(0.02)
    assert cursor.query_id == query_id
    cursor.cancel()
    assert seconds_until_stopped(platform, query_id) < STOPPED_WITHIN
    thread.join(10)
    assert not thread.is_alive()
    assert failure, "the cancelled statement returned rows"
    conn.close()
