"""Signing out ends the session in every API process: two real API servers on one home
(one store) stand for two workers or replicas. A cookie signed out on one is refused by
the other, by its pages and by its Dagster door, and the store keeps no record past the
session's own expiry."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from dataos_defs.api.sessions import Session, is_revoked, revoke
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store
from dataos_defs.poros.tables import SessionRevocationRow
from tests.interfaces.conftest import Server, stop_server
from tests.web.web_support import (
    PLAIN_USER,
    WebPlatform,
    csrf_of,
    signed_in,
    start_server,
    web_platform,
)

DOOR_COOKIE = "dataos_dagster_session"


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WebPlatform, Server]]:
    home = tmp_path_factory.mktemp("two-servers")
    with web_platform(home) as first:
        second = start_server(home, extra_env={})
        try:
            yield first, second
        finally:
            stop_server(second, keep_workloads=True)


def door_admits(url: str, cookie: str) -> bool:
    """Whether the Dagster door takes the cookie (anything but its sign-in answer)."""
    with httpx.Client(base_url=url, timeout=30) as door:
        door.cookies.set(DOOR_COOKIE, cookie, path="/dagster")
        answer = door.get("/dagster/server_info", follow_redirects=False)
    signed_out = answer.status_code == 401 or (
        answer.status_code in (302, 303) and "/login" in answer.headers.get("location", "")
    )
    return not signed_out


def page_status(url: str, cookie: str) -> int:
    with httpx.Client(base_url=url, timeout=30) as browser:
        browser.cookies.set("dataos_session", cookie)
        return browser.get("/workbench", follow_redirects=False).status_code


def test_a_cookie_signed_out_on_one_server_is_refused_by_the_other(
    two_servers: tuple[WebPlatform, Server],
) -> None:
    first, second = two_servers
    with signed_in(first, PLAIN_USER) as client:
        cookie = client.cookies["dataos_session"]
        assert page_status(second.url, cookie) == 200
        assert door_admits(second.url, cookie)
        token = csrf_of(client.get("/").text)
        out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
        assert out.status_code == 303
    assert page_status(second.url, cookie) == 303
    assert page_status(first.url, cookie) == 303
    assert not door_admits(second.url, cookie)


def test_another_session_of_the_same_user_stays_signed_in(
    two_servers: tuple[WebPlatform, Server],
) -> None:
    first, second = two_servers
    with signed_in(first, PLAIN_USER) as kept, signed_in(first, PLAIN_USER) as leaving:
        token = csrf_of(leaving.get("/").text)
        leaving.post("/logout", data={"csrf_token": token}, follow_redirects=False)
        assert page_status(second.url, kept.cookies["dataos_session"]) == 200


def test_revocations_are_pruned_once_the_session_would_have_expired(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store.open(url, settings=Settings(home=tmp_path, database_url=url))
    try:
        past = int(time.time()) - 10
        future = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
        revoke(store, Session("ana", "k1", past, "expired-session"))
        revoke(store, Session("ana", "k1", future, "live-session"))
        revoke(store, Session("ana", "k1", future, "live-session"))
        with store.reading() as db:
            kept = sorted(r.session_id for r in db.query(SessionRevocationRow))
        assert kept == ["live-session"]
        assert is_revoked(store, Session("ana", "k1", future, "live-session"))
        assert not is_revoked(store, Session("ana", "k1", future, "other-session"))
    finally:
        store.close()
