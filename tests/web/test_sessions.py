"""Signing in to the web app: the session cookie, CSRF, fixation, sign-out and expiry, over
HTTP against a real API server (``web_support``)."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import httpx

from dataos_defs.api.sessions import SESSION_SECONDS, Session, decode, encode, issue
from tests.web.web_support import PLAIN_USER, WebPlatform, csrf_of, sign_in, signed_in


def _cookie_header(response: httpx.Response, name: str) -> str:
    [header] = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    return header


def test_pages_need_a_session_and_send_browsers_to_sign_in(platform: WebPlatform) -> None:
    with httpx.Client(base_url=platform.url) as anonymous:
        for path in ("/", "/workbench", "/operations", "/workbench/history"):
            answer = anonymous.get(path, follow_redirects=False)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login?next=")
        fragment = anonymous.get("/workbench/runs/x", headers={"X-Fragment": "1"})
        assert fragment.status_code == 401
        assert fragment.headers["x-sign-in"].startswith("/login?next=")
        # An API key is not a session: pages are for signed-in browsers.
        keyed = anonymous.get(
            "/workbench", headers={"Authorization": f"Bearer {platform.keys[PLAIN_USER]}"}
        )
        assert keyed.status_code == 303


def test_signing_in_sets_a_strict_http_only_cookie_and_opens_the_door_too(
    platform: WebPlatform,
) -> None:
    with httpx.Client(base_url=platform.url) as client:
        answer = sign_in(client, platform.keys[PLAIN_USER], "/operations")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/operations"
        web = _cookie_header(answer, "dataos_session").lower()
        door = _cookie_header(answer, "dataos_dagster_session").lower()
        for header in (web, door):
            assert "httponly" in header and "samesite=strict" in header
            assert "secure" not in header  # plain HTTP here; Secure behind TLS
            assert platform.keys[PLAIN_USER].lower() not in header
        assert "path=/;" in web or web.endswith("path=/")
        assert "path=/dagster" in door
        home = client.get("/")
        assert home.status_code == 200
        assert PLAIN_USER in home.text


def test_the_cookie_is_secure_behind_tls(platform: WebPlatform) -> None:
    """uvicorn takes the scheme from X-Forwarded-Proto of a trusted proxy (127.0.0.1)."""
    with httpx.Client(base_url=platform.url) as client:
        form = client.get("/login", headers={"X-Forwarded-Proto": "https"})
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token is not None
        # The form's cookie is Secure too, so httpx keeps it from plain HTTP: send it.
        cookie = _cookie_header(form, "dataos_login_csrf").split(";")[0]
        answer = client.post(
            "/login",
            data={"api_key": platform.keys[PLAIN_USER], "csrf": token.group(1), "next": "/"},
            headers={"X-Forwarded-Proto": "https", "Cookie": cookie},
        )
        assert answer.status_code == 303
        assert "secure" in _cookie_header(answer, "dataos_session").lower()


def test_a_wrong_key_or_a_forged_form_does_not_sign_in(platform: WebPlatform) -> None:
    with httpx.Client(base_url=platform.url) as client:
        wrong = sign_in(client, "dok_not-a-key")
        assert wrong.status_code == 401
        assert "dataos_session=" not in wrong.headers.get("set-cookie", "")
        no_token = client.post("/login", data={"api_key": platform.keys[PLAIN_USER]})
        assert no_token.status_code == 403
        form = client.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token is not None
        cross = client.post(
            "/login",
            data={"api_key": platform.keys[PLAIN_USER], "csrf": token.group(1)},
            headers={"Origin": "https://evil.example"},
        )
        assert cross.status_code == 403
        assert "dataos_session=" not in cross.headers.get("set-cookie", "")


def test_next_never_leaves_the_site(platform: WebPlatform) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil", "/login"):
        with httpx.Client(base_url=platform.url) as client:
            answer = sign_in(client, platform.keys[PLAIN_USER], target)
            assert answer.headers["location"] == "/", target


def test_every_sign_in_is_a_new_session_so_a_planted_cookie_is_replaced(
    platform: WebPlatform,
) -> None:
    """Session fixation: whatever session the browser held, signing in issues a new one,
    and a form token of the old session is refused in the new one."""
    with signed_in(platform, PLAIN_USER) as first:
        planted = first.cookies["dataos_session"]
        old_token = csrf_of(first.get("/workbench").text)
    with httpx.Client(base_url=platform.url) as victim:
        victim.cookies.set("dataos_session", planted, domain="127.0.0.1", path="/")
        answer = sign_in(victim, platform.keys[PLAIN_USER])
        assert answer.status_code == 303
        assert victim.cookies["dataos_session"] != planted
        refused = victim.post("/logout", data={"csrf_token": old_token})
        assert refused.status_code == 403
        assert csrf_of(victim.get("/workbench").text) != old_token


def test_state_changing_requests_need_the_sessions_csrf_token(platform: WebPlatform) -> None:
    with signed_in(platform, PLAIN_USER) as client:
        token = csrf_of(client.get("/workbench").text)
        body = {"sql": "SELECT 1", "cluster": ""}
        assert client.post("/workbench/run", data=body).status_code == 403
        assert client.post("/workbench/run", data={**body, "csrf_token": "x"}).status_code == 403
        cross = client.post(
            "/workbench/run",
            data={**body, "csrf_token": token},
            headers={"Origin": "https://evil.example"},
        )
        assert cross.status_code == 403
        for post in ("/workbench/explain", "/workbench/csv", "/logout"):
            assert client.post(post, data=body).status_code == 403, post
        by_header = client.post(
            "/workbench/explain", data=body, headers={"X-CSRF-Token": token, "X-Fragment": "1"}
        )
        assert by_header.status_code == 200, by_header.text


def test_signing_out_clears_both_cookies_and_ends_the_session(platform: WebPlatform) -> None:
    with signed_in(platform, PLAIN_USER) as client:
        session = client.cookies["dataos_session"]
        token = csrf_of(client.get("/").text)
        out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
        assert out.status_code == 303
        cleared = out.headers.get_list("set-cookie")
        assert any(h.startswith('dataos_session=""') for h in cleared)
        assert any(h.startswith('dataos_dagster_session=""') for h in cleared)
    with httpx.Client(base_url=platform.url) as replay:
        replay.cookies.set("dataos_session", session)
        assert replay.get("/", follow_redirects=False).status_code == 303


def test_forged_and_malformed_sessions_are_refused(platform: WebPlatform) -> None:
    forged = encode(b"0" * 32, Session(PLAIN_USER, "k", int(time.time()) + 600, "abc"))
    for value in (forged, "garbage", forged.replace(".", "x."), ""):
        with httpx.Client(base_url=platform.url) as client:
            client.cookies.set("dataos_session", value)
            assert client.get("/", follow_redirects=False).status_code == 303


def test_a_session_expires_with_its_key_and_after_eight_hours() -> None:
    key = b"k" * 32
    soon = datetime.now(UTC) + timedelta(minutes=5)
    bounded = issue(PLAIN_USER, "key1", soon)
    assert bounded.expires_at == int(soon.timestamp())
    assert issue(PLAIN_USER, "key1", None).expires_at <= time.time() + SESSION_SECONDS
    assert issue(PLAIN_USER, "key1", None).session_id != issue(PLAIN_USER, "key1", None).session_id
    expired = Session(PLAIN_USER, "key1", int(time.time()) - 1, "abc")
    assert decode(key, encode(key, expired)) is None
    valid = Session(PLAIN_USER, "key1", int(time.time()) + 60, "abc")
    assert decode(key, encode(key, valid)) == valid


def test_revoking_the_key_ends_its_web_sessions(platform: WebPlatform) -> None:
    with httpx.Client(base_url=platform.url, headers=platform.server.headers) as operator:
        created = operator.post(f"/heimdall/api/v1/users/{PLAIN_USER}/apikeys", json={"name": "w"})
        assert created.status_code == 201, created.text
        key, key_id = created.json()["key"], created.json()["key_id"]
        with httpx.Client(base_url=platform.url) as browser:
            assert sign_in(browser, key).status_code == 303
            assert browser.get("/", follow_redirects=False).status_code == 200
            revoked = operator.delete(f"/heimdall/api/v1/users/{PLAIN_USER}/apikeys/{key_id}")
            assert revoked.status_code in (200, 204), revoked.text
            deadline = time.monotonic() + 15  # the identity cache's few seconds
            while browser.get("/", follow_redirects=False).status_code == 200:
                assert time.monotonic() < deadline, "the session outlived its key"
                time.sleep(0.5)
