"""The Services ingress through a real API server: routing, identity, balancing, limits."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from ingress_support import (
    Platform,
    ReplicaServer,
    free_port,
    service_yaml,
    start_platform,
    start_replicas,
)

from dataos_defs.poros.workloads import Endpoint

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from start_platform(tmp_path_factory)


@pytest.fixture(scope="module")
def replicas() -> Iterator[list[ReplicaServer]]:
    yield from start_replicas()


@pytest.fixture(scope="module")
def echo(platform: Platform, replicas: list[ReplicaServer]) -> Iterator[str]:
    """Service public/echo, both replicas ready."""
    applied = platform.apply(service_yaml("echo"))
    assert applied.status_code == 200, applied.text
    platform.workloads.ready[("public", "echo")] = [r.endpoint() for r in replicas]
    assert platform.wait_routed("/public/echo/").status_code == 200
    yield "/public/echo"


def test_a_service_is_reachable_with_an_api_key_round_robin(platform: Platform, echo: str) -> None:
    with httpx.Client(base_url=platform.url, headers=platform.headers) as client:
        answers = [client.get(f"{echo}/hello/world?x=1&y=2") for _ in range(4)]
    assert [a.status_code for a in answers] == [200] * 4
    seen = [a.json() for a in answers]
    assert {s["replica"] for s in seen} == {"r0", "r1"}
    assert seen[0]["replica"] != seen[1]["replica"]
    assert seen[0]["path"] == "/hello/world?x=1&y=2"
    headers = seen[0]["headers"]
    assert headers["x-dataos-user"] == "operator" or headers["x-dataos-user"]
    assert "roles:id:operator" in headers["x-dataos-tags"].split(",")
    assert "authorization" not in headers and "apikey" not in headers
    assert headers["x-forwarded-prefix"] == echo
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert "set-cookie" not in answers[0].headers
    assert answers[0].headers["content-security-policy"].startswith("sandbox")


def test_without_a_key_401_and_unknown_paths_tell_nothing(platform: Platform, echo: str) -> None:
    for path in (f"{echo}/x", "/public/nothing-here/x", "/team-z/svc/"):
        answer = httpx.get(platform.url + path)
        assert answer.status_code == 401, (path, answer.text)
        assert answer.headers["www-authenticate"] == "Bearer"
    bad = httpx.get(platform.url + f"{echo}/x", headers={"apikey": "dok_nope"})
    assert bad.status_code == 401
    unknown = httpx.get(platform.url + "/public/nothing-here/x", headers=platform.headers)
    assert unknown.status_code == 404 and "no service is served" in unknown.text


def test_a_data_developer_is_denied_by_default(platform: Platform, echo: str) -> None:
    key = platform.user_key("carol", ["roles:id:data-dev"])
    answer = httpx.get(platform.url + f"{echo}/x", headers={"apikey": key})
    assert answer.status_code == 403
    assert "no policy allows get on poros://service:public/echo" in answer.text


def test_the_owner_may_call_their_service_and_a_policy_opens_it(
    platform: Platform, replicas: list[ReplicaServer]
) -> None:
    bob = platform.user_key("bob", ["roles:id:data-dev"])
    dave = platform.user_key("dave", ["roles:id:data-dev"])
    applied = platform.apply(service_yaml("bobs", owner="bob"))
    assert applied.status_code == 200, applied.text
    platform.workloads.ready[("public", "bobs")] = [replicas[0].endpoint()]
    answer = platform.wait_routed("/public/bobs/", {"apikey": bob})
    assert answer.status_code == 200, answer.text
    assert answer.json()["headers"]["x-dataos-user"] == "bob"
    assert httpx.get(platform.url + "/public/bobs/", headers={"apikey": dave}).status_code == 403
    policy = """\
name: bobs-readers
version: v1
type: policy
layer: user
policy:
  access:
    subjects: {tags: [[users:id:dave]]}
    predicates: [get]
    objects: {paths: [poros://service:public/bobs]}
    allow: true
"""
    assert platform.apply(policy).status_code == 200
    assert httpx.get(platform.url + "/public/bobs/", headers={"apikey": dave}).status_code == 200
    posted = httpx.post(platform.url + "/public/bobs/", headers={"apikey": dave}, content=b"x")
    assert posted.status_code == 403


def test_ingress_paths_inside_the_workspace_with_and_without_strip(
    platform: Platform, replicas: list[ReplicaServer]
) -> None:
    texts = [
        service_yaml("orders", ingress="{enabled: true, path: /orders/api, stripPath: true}"),
        service_yaml("keep", ingress="{enabled: true, path: /public/keep/v1}"),
    ]
    applied = platform.apply("---\n".join(texts))
    assert applied.status_code == 200, applied.text
    for name in ("orders", "keep"):
        platform.workloads.ready[("public", name)] = [replicas[1].endpoint()]
    stripped = platform.wait_routed("/public/orders/api/v1/items?id=3")
    assert stripped.status_code == 200 and stripped.json()["path"] == "/v1/items?id=3"
    kept = platform.wait_routed("/public/keep/v1/a/b")
    assert kept.status_code == 200 and kept.json()["path"] == "/public/keep/v1/a/b"
    assert "x-forwarded-prefix" not in kept.json()["headers"]
    # a Service with an ingress path is no longer served at /<workspace>/<name>
    assert httpx.get(platform.url + "/public/orders/x", headers=platform.headers).status_code == 404


def test_no_authentication_is_forwarded_without_identity_and_logged(
    platform: Platform, replicas: list[ReplicaServer], caplog: pytest.LogCaptureFixture
) -> None:
    text = service_yaml("open", ingress="{enabled: true, path: /open, noAuthentication: true}")
    assert platform.apply(text).status_code == 200
    platform.workloads.ready[("public", "open")] = [replicas[0].endpoint()]
    with caplog.at_level(logging.INFO, logger="dataos_defs.api.ingress"):
        anonymous = platform.wait_routed("/public/open/page?token=s3cret", headers={})
        keyed = httpx.get(platform.url + "/public/open/page", headers=platform.headers)
    assert anonymous.status_code == 200 and keyed.status_code == 200
    for answer in (anonymous, keyed):
        headers = answer.json()["headers"]
        assert "x-dataos-user" not in headers and "x-dataos-tags" not in headers
        assert "authorization" not in headers
    lines = [r.getMessage() for r in caplog.records if "without authentication" in r.getMessage()]
    assert any("GET /public/open/page from 127.0.0.1" in line for line in lines), lines
    assert not any("s3cret" in line or platform.api_key in line for line in lines)


def test_no_ready_replica_503_names_the_runtime(platform: Platform, echo: str) -> None:
    assert platform.apply(service_yaml("idle")).status_code == 200
    answer = platform.wait_routed("/public/idle/")
    assert answer.status_code == 503
    assert "has no ready replica: not running" in answer.json()["error"]["message"]


def test_a_refusing_replica_is_skipped_for_replayable_requests(
    platform: Platform, replicas: list[ReplicaServer]
) -> None:
    assert platform.apply(service_yaml("flaky")).status_code == 200
    dead = Endpoint("dead", "127.0.0.1", free_port())
    platform.workloads.ready[("public", "flaky")] = [dead, replicas[0].endpoint()]
    platform.wait_routed("/public/flaky/")
    with httpx.Client(base_url=platform.url, headers=platform.headers) as client:
        gets = [client.get("/public/flaky/x") for _ in range(6)]
        deletes = [client.delete("/public/flaky/x") for _ in range(4)]
        posts = [client.post("/public/flaky/x", content=b"payload") for _ in range(4)]
    assert {a.status_code for a in gets + deletes + posts} == {200}
    assert {a.json()["body_length"] for a in posts} == {7}
    platform.workloads.ready[("public", "flaky")] = [dead]
    posted = httpx.post(platform.url + "/public/flaky/x", headers=platform.headers, content=b"body")
    assert posted.status_code == 502
    assert "no replica of service public/flaky answered" in posted.json()["error"]["message"]


def test_bodies_stream_and_are_bounded(platform: Platform, echo: str) -> None:
    with httpx.Client(base_url=platform.url, headers=platform.headers, timeout=30) as client:
        fine = client.put(f"{echo}/upload", content=b"a" * (512 << 10))
        assert fine.status_code == 200 and fine.json()["body_length"] == 512 << 10

        def chunks() -> Iterator[bytes]:
            yield b"b" * 1000
            yield b"c" * 2000

        chunked = client.post(f"{echo}/upload", content=chunks())
        assert chunked.status_code == 200 and chunked.json()["body_length"] == 3000
        too_big = client.post(f"{echo}/upload", content=b"a" * ((1 << 20) + 1))
        assert too_big.status_code == 413 and "at most 1048576 bytes" in too_big.text

        def endless() -> Iterator[bytes]:
            for _ in range(40):
                yield b"d" * (64 << 10)

        try:
            streamed = client.post(f"{echo}/upload", content=endless())
        except httpx.TransportError:
            return  # the server may answer 413 and close before the whole body is sent
        assert streamed.status_code == 413


def test_a_slow_replica_is_a_504(platform: Platform) -> None:
    slow = ReplicaServer("slow", delay=5)
    try:
        assert platform.apply(service_yaml("slow")).status_code == 200
        platform.workloads.ready[("public", "slow")] = [slow.endpoint()]
        answer = platform.wait_routed("/public/slow/")
        assert answer.status_code == 504 and "did not answer in time" in answer.text
    finally:
        slow.stop()


def test_platform_routes_win_and_their_names_are_reserved(platform: Platform) -> None:
    from dataos_defs.poros.workspaces import RESERVED_PATH_SEGMENTS

    firsts = {
        getattr(route, "path", "/").split("/")[1]
        for route in platform.app.routes
        if not getattr(route, "path", "").startswith("/{")
    }
    assert firsts - {""} <= RESERVED_PATH_SEGMENTS, firsts - RESERVED_PATH_SEGMENTS
    assert httpx.put(platform.url + "/health", headers=platform.headers).status_code == 405
    for name in ("dagster", "poros", "api", "workbench"):
        created = httpx.post(
            platform.url + "/poros/api/v1/workspaces", json={"name": name}, headers=platform.headers
        )
        assert created.status_code == 400, created.text
        assert "is reserved" in created.json()["error"]["message"]


def test_websockets_are_admitted_and_relayed(platform: Platform) -> None:
    import asyncio
    import json

    from ingress_support import SocketReplica
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    replica = SocketReplica("ws-0")
    try:
        assert platform.apply(service_yaml("chat")).status_code == 200
        platform.workloads.ready[("public", "chat")] = [replica.endpoint()]
        platform.wait_routed("/public/chat/")
        url = platform.url.replace("http", "ws") + "/public/chat/room?id=7"
        dev = platform.user_key("wsdev", ["roles:id:data-dev"])

        async def talk() -> tuple[str, bytes, dict[str, str]]:
            async with connect(url, additional_headers=platform.headers) as socket:
                await socket.send("hi")
                text = str(await socket.recv())
                await socket.send(b"\x00\x01")
                binary = await socket.recv()
                await socket.send("headers")
                seen = json.loads(await socket.recv())
            return text, bytes(binary), seen

        async def refused(headers: dict[str, str]) -> int:
            try:
                async with connect(url, additional_headers=headers):
                    return 101
            except InvalidStatus as exc:
                return exc.response.status_code

        text, binary, seen = asyncio.run(talk())
        assert text == "ws-0:hi" and binary == b"ws-0:\x00\x01"
        assert seen["path"] == "/room?id=7"
        assert seen["x-dataos-user"] and "roles:id:operator" in seen["x-dataos-tags"]
        assert "authorization" not in seen and "apikey" not in seen
        assert asyncio.run(refused({})) == 401
        assert asyncio.run(refused({"apikey": dev})) == 403
    finally:
        replica.stop()
