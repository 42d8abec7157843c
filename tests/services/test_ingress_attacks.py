"""The ingress, attacked the way an outsider (or a tenant) would try it.

Two Services in ``public``: ``vault`` (authenticated, owned by the operator) and ``open``
(``noAuthentication``). Each has replicas of its own that record every request reaching
them, so "nothing got through" is checked where it matters: at the backend. Raw requests
go through ``http.client`` or a bare socket, which send the request target exactly as
written (httpx would normalise ``..`` away).
"""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from ingress_support import Platform, ReplicaServer, service_yaml, start_platform

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    yield from start_platform(tmp_path_factory)


@pytest.fixture(scope="module")
def backends(platform: Platform) -> Iterator[dict[str, ReplicaServer]]:
    started = {"vault": ReplicaServer("vault-0"), "open": ReplicaServer("open-0")}
    texts = [
        service_yaml("vault"),
        service_yaml("open", ingress="{enabled: true, path: /open, noAuthentication: true}"),
    ]
    applied = platform.apply("---\n".join(texts))
    assert applied.status_code == 200, applied.text
    for name, replica in started.items():
        platform.workloads.ready[("public", name)] = [replica.endpoint()]
    assert platform.wait_routed("/public/vault/").status_code == 200
    assert platform.wait_routed("/public/open/", headers={}).status_code == 200
    for replica in started.values():
        replica.requests.clear()
    yield started
    for replica in started.values():
        replica.stop()


def raw(platform: Platform, method: str, target: str, headers: dict[str, str] | None = None) -> int:
    """Send ``target`` unmodified; the status code."""
    parts = urlsplit(platform.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


def test_identity_headers_cannot_be_forged(
    platform: Platform, backends: dict[str, ReplicaServer]
) -> None:
    dev = platform.user_key("mallory", ["roles:id:data-dev"])
    forged = {
        "X-DataOS-User": "operator",
        "X-DataOS-Tags": "roles:id:operator",
        "x-dataos-anything": "1",
        "X-Forwarded-For": "10.0.0.1",
        "Forwarded": "for=10.0.0.1",
        "X-Forwarded-Prefix": "/elsewhere",
        "X-Real-IP": "10.0.0.1",
    }
    denied = httpx.get(platform.url + "/public/vault/", headers={"apikey": dev, **forged})
    assert denied.status_code == 403  # forged tags do not make mallory an operator
    policy = """\
name: mallory-reads-vault
version: v1
type: policy
layer: user
policy:
  access:
    subjects: {tags: [[users:id:mallory]]}
    predicates: [get]
    objects: {paths: [poros://service:public/vault]}
    allow: true
"""
    assert platform.apply(policy).status_code == 200
    answer = httpx.get(platform.url + "/public/vault/x", headers={"apikey": dev, **forged})
    assert answer.status_code == 200, answer.text
    headers = answer.json()["headers"]
    assert headers["x-dataos-user"] == "mallory"
    assert (
        headers["x-dataos-tags"].split(",") == sorted(["roles:id:data-dev", "users:id:mallory"])
        or "roles:id:operator" not in headers["x-dataos-tags"]
    )
    assert "x-dataos-anything" not in headers and "forwarded" not in headers
    assert "x-real-ip" not in headers
    # one address: the client as the server sees it (uvicorn believes X-Forwarded-For only
    # from --forwarded-allow-ips, 127.0.0.1 by default, as from a TLS proxy in front)
    assert "," not in headers["x-forwarded-for"]
    assert headers["x-forwarded-prefix"] == "/public/vault"
    opened = httpx.get(platform.url + "/public/open/", headers=forged).json()["headers"]
    assert not {k for k in opened if k.startswith("x-dataos-")}
    assert "x-forwarded-prefix" not in opened  # /open is not stripped


def test_the_callers_credentials_never_reach_a_service(
    platform: Platform, backends: dict[str, ReplicaServer]
) -> None:
    secret_headers = {
        "Authorization": f"Bearer {platform.api_key}",
        "Cookie": "dataos_session=abc; other=1",
        "Proxy-Authorization": "Basic c2VjcmV0",
        "Connection": "keep-alive, X-Private",
        "X-Private": "named by Connection: hop-by-hop",
    }
    vault = httpx.get(platform.url + "/public/vault/c", headers=secret_headers)
    assert vault.status_code == 200, vault.text
    httpx.get(
        platform.url + "/public/open/c", headers={**secret_headers, "apikey": platform.api_key}
    )
    seen = [r for b in backends.values() for r in b.requests if r["path"].endswith("/c")]
    assert len(seen) == 2
    for request in seen:
        text = repr(request["headers"])
        assert platform.api_key not in text and "c2VjcmV0" not in text and "abc" not in text
        assert not {"authorization", "apikey", "cookie", "proxy-authorization", "x-private"} & set(
            request["headers"]
        )


@pytest.mark.parametrize(
    "target",
    [
        "/public/open/../vault/x",
        "/public/open/%2e%2e/vault/x",
        "/public/open/%2E%2E/vault/x",
        "/public/open/..%2Fvault/x",
        "/public/open%2F..%2Fvault/x",
        "/public/open/..\\vault/x",
        "/public/open/.%2e/vault/x",
        "/public/open//../vault/x",
        "/public/open/./../vault/x",
        "/public/open/%252e%252e/vault/x",
    ],
)
def test_no_path_trick_reaches_another_service(
    platform: Platform, backends: dict[str, ReplicaServer], target: str
) -> None:
    before = len(backends["vault"].requests)
    status = raw(platform, "GET", target)
    assert len(backends["vault"].requests) == before, target
    if "%25" in target:
        # a double-encoded dot is just a name to the open Service, which answers it
        assert status == 200
        assert backends["open"].requests[-1]["path"] == target
    else:
        assert status == 400, target


def test_an_absolute_form_target_or_a_host_header_changes_nothing(
    platform: Platform, backends: dict[str, ReplicaServer]
) -> None:
    before = len(backends["vault"].requests)
    raw(platform, "GET", "http://evil.example/public/vault/x")
    raw(platform, "GET", "/public/open/x", {"Host": "vault.internal"})
    assert len(backends["vault"].requests) == before


def test_conflicting_framing_is_never_smuggled_to_a_service(
    platform: Platform, backends: dict[str, ReplicaServer]
) -> None:
    parts = urlsplit(platform.url)
    smuggled = b"GET /public/vault/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    body = b"0\r\n\r\n" + smuggled
    request = (
        b"POST /public/open/front HTTP/1.1\r\nHost: x\r\n"
        + f"Content-Length: {len(body)}\r\n".encode()
        + b"Transfer-Encoding: chunked\r\n\r\n"
        + body
    )
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pass
    every = [r for b in backends.values() for r in b.requests]
    assert not any("smuggled" in r["path"] for r in every), received
    for r in every:
        if r["path"] == "/front":
            assert not ("content-length" in r["headers"] and "transfer-encoding" in r["headers"])


def test_a_lying_or_huge_content_length_is_refused_up_front(
    platform: Platform, backends: dict[str, ReplicaServer]
) -> None:
    parts = urlsplit(platform.url)
    request = b"POST /public/open/big HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\nabc"
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=5) as sock:
        sock.sendall(request)
        first = sock.recv(65536)
    assert first.startswith(b"HTTP/1.1 413"), first
    assert not any(r["path"] == "/big" for r in backends["open"].requests)


def test_a_denied_user_gets_403_for_every_method(
    platform: Platform, backends: dict[str, ReplicaServer]
) -> None:
    dev = platform.user_key("eve", ["roles:id:data-dev"])
    before = len(backends["vault"].requests)
    with httpx.Client(base_url=platform.url, headers={"apikey": dev}) as client:
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "OPTIONS"):
            assert client.request(method, "/public/vault/x").status_code == 403, method
    assert len(backends["vault"].requests) == before


def test_services_named_like_platform_routes_shadow_nothing(
    platform: Platform, backends: dict[str, ReplicaServer]
) -> None:
    texts = [
        service_yaml("health"),
        service_yaml("poros-clone", ingress="{enabled: true, path: /poros/api/v1}"),
    ]
    assert platform.apply("---\n".join(texts)).status_code == 200
    for name in ("health", "poros-clone"):
        platform.workloads.ready[("public", name)] = [backends["vault"].endpoint()]
    assert httpx.get(platform.url + "/health").json() != {}
    assert "replica" not in httpx.get(platform.url + "/health").text
    listed = httpx.get(platform.url + "/poros/api/v1/resources", headers=platform.headers)
    assert listed.status_code == 200 and "items" in listed.json()
    routed = platform.wait_routed("/public/health/")
    assert routed.status_code == 200 and routed.json()["replica"] == "vault-0"
    clone = platform.wait_routed("/public/poros/api/v1/resources")
    assert clone.status_code == 200 and clone.json()["replica"] == "vault-0"
