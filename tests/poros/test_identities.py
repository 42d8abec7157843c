"""Heimdall identities in the store, on SQLite and a real PostgreSQL: users, tags, API keys,
authentication and its cache."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import event, select, text, update

from dataos_defs.poros import apikeys
from dataos_defs.poros.db import MIGRATIONS, make_engine, write_transaction
from dataos_defs.poros.errors import Conflict, InvalidRequest
from dataos_defs.poros.identities import (
    ApiKeyNotFound,
    Identities,
    NewApiKey,
    Principal,
    ProtectedUser,
    UserExists,
    UserNotFound,
)
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store
from dataos_defs.poros.tables import ApiKeyRow, UserRow


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def identities(store: Store) -> Identities:
    return Identities(store)


def test_create_user_gets_identity_and_default_tags(identities: Identities) -> None:
    alice = identities.create_user(
        "alice", name="Alice", email="alice@example.com", tags=["dataos:workspace:retail"]
    )
    assert alice.tags == ("dataos:workspace:retail", "roles:id:user", "users:id:alice")
    app = identities.create_user("etl-bot", "application", actor="alice")
    assert app.tags == ("users:id:etl-bot",)
    assert app.created_by == "alice"
    assert [u.id for u in identities.list_users()] == ["alice", "etl-bot"]
    assert identities.get_user("alice") == alice
    assert identities.get_user("nobody") is None


@pytest.mark.parametrize(
    ("user_id", "kind", "email", "tags"),
    [
        ("Alice", "person", None, []),
        ("-alice", "person", None, []),
        ("a" * 49, "person", None, []),
        ("alice", "robot", None, []),
        ("alice", "person", "not-an-email", []),
        ("alice", "person", None, ["has space"]),
        ("alice", "person", None, ["x" * 256]),
        ("alice", "person", None, ["users:id:bob"]),
    ],
)
def test_invalid_users_are_refused(
    identities: Identities, user_id: str, kind: str, email: str | None, tags: list[str]
) -> None:
    with pytest.raises(InvalidRequest):
        identities.create_user(user_id, kind, email=email, tags=tags)  # type: ignore[arg-type]
    assert identities.list_users() == []


def test_duplicate_user_is_a_conflict(identities: Identities) -> None:
    identities.create_user("alice")
    with pytest.raises(UserExists):
        identities.create_user("alice")


def test_tags_add_and_remove(identities: Identities) -> None:
    identities.create_user("bob", "application")
    user = identities.add_tags("bob", ["roles:id:data-dev", "Tier.Gold", "roles:id:data-dev"])
    assert user.tags == ("Tier.Gold", "roles:id:data-dev", "users:id:bob")
    again = identities.add_tags("bob", ["roles:id:data-dev"])
    assert again.tags == user.tags
    fewer = identities.remove_tags("bob", ["Tier.Gold", "never-there"])
    assert fewer.tags == ("roles:id:data-dev", "users:id:bob")
    with pytest.raises(InvalidRequest, match="identity"):
        identities.remove_tags("bob", ["users:id:bob"])
    with pytest.raises(InvalidRequest, match="another user"):
        identities.add_tags("bob", ["users:id:alice"])
    with pytest.raises(UserNotFound):
        identities.add_tags("nobody", ["x"])


def test_api_key_is_returned_once_and_only_its_digest_is_stored(
    identities: Identities, store: Store
) -> None:
    identities.create_user("carol")
    created = identities.create_api_key("carol", "laptop", actor="admin")
    assert apikeys.KEY_PATTERN.match(created.key)
    assert created.key.split("_")[1] == created.info.key_id
    assert created.info.name == "laptop"
    assert created.info.state() == "active"
    assert created.info.created_by == "admin"
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM api_keys")).mappings().all()
    assert len(rows) == 1
    assert rows[0]["digest"] == hashlib.sha256(created.key.encode()).hexdigest()
    secret = created.key.rsplit("_", 1)[-1][-43:]
    assert all(secret not in str(value) for value in rows[0].values())
    listed = identities.list_api_keys("carol")
    assert listed == [created.info]
    assert "key" not in vars(listed[0])


def test_authenticate_returns_the_principal_with_tags(identities: Identities) -> None:
    identities.create_user("dave", tags=["roles:id:pii-reader"])
    key = identities.create_api_key("dave").key
    principal = identities.authenticate(key)
    assert principal is not None
    assert principal.user_id == "dave"
    assert principal.type == "person"
    assert principal.tags == ("roles:id:pii-reader", "roles:id:user", "users:id:dave")


def test_authenticate_rejects_malformed_unknown_and_forged_keys(identities: Identities) -> None:
    identities.create_user("erin")
    key = identities.create_api_key("erin").key
    forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    unknown = "dok_0123456789abcdef_" + "A" * 43
    for bad in ("", "nonsense", key + "x", key.upper(), forged, unknown):
        assert identities.authenticate(bad) is None
    assert identities.authenticate(key) is not None


def test_revoke_delete_and_tag_changes_take_effect_at_once(identities: Identities) -> None:
    identities.create_user("frank")
    first = identities.create_api_key("frank", "one")
    second = identities.create_api_key("frank", "two")
    assert identities.authenticate(first.key) is not None
    identities.add_tags("frank", ["roles:id:operator"])
    principal = identities.authenticate(first.key)
    assert principal is not None
    assert "roles:id:operator" in principal.tags
    identities.remove_tags("frank", ["roles:id:operator"])
    principal = identities.authenticate(first.key)
    assert principal is not None
    assert "roles:id:operator" not in principal.tags

    revoked = identities.revoke_api_key("frank", first.info.key_id)
    assert revoked.state() == "revoked"
    assert identities.authenticate(first.key) is None
    assert identities.authenticate(second.key) is not None
    identities.delete_user("frank")
    assert identities.authenticate(second.key) is None
    assert identities.get_user("frank") is None
    with pytest.raises(UserNotFound):
        identities.list_api_keys("frank")


class FakeWallClock:
    def __init__(self) -> None:
        self.at = datetime(2031, 5, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


def test_expired_keys_are_rejected_even_while_cached(store: Store) -> None:
    """The cache's TTL clock stands still: the second authentication is answered from the
    cache, which must see the expiry by itself."""
    wall = FakeWallClock()
    cache: apikeys.TtlCache[Principal] = apikeys.TtlCache(ttl=5.0, clock=FakeClock(), now=wall)
    identities = Identities(store, cache, clock=wall)
    identities.create_user("gina")
    soon = identities.create_api_key("gina", expires_at=wall.at + timedelta(seconds=1))
    assert identities.authenticate(soon.key) is not None
    wall.at += timedelta(seconds=1)
    assert identities.authenticate(soon.key) is None
    assert identities.list_api_keys("gina")[0].state(wall.at) == "expired"
    cache.clear()
    assert identities.authenticate(soon.key) is None, "the store's answer, by the same clock"
    with pytest.raises(InvalidRequest, match="future"):
        identities.create_api_key("gina", expires_at=wall.at)


def test_expired_key_in_the_database_is_rejected(identities: Identities, store: Store) -> None:
    identities.create_user("hank")
    created = identities.create_api_key("hank")
    with store.writing() as session:
        session.execute(
            update(ApiKeyRow).values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    assert identities.authenticate(created.key) is None


def test_other_processes_see_revocation_within_the_ttl(store: Store) -> None:
    clock = FakeClock()
    server_a = Identities(store, apikeys.TtlCache(ttl=5.0, clock=clock))
    server_b = Identities(store)
    server_a.create_user("ivan")
    created = server_a.create_api_key("ivan")
    assert server_a.authenticate(created.key) is not None
    server_b.revoke_api_key("ivan", created.info.key_id)
    assert server_b.authenticate(created.key) is None
    clock.now += 4.0
    assert server_a.authenticate(created.key) is not None
    clock.now += 1.5
    assert server_a.authenticate(created.key) is None


def test_a_cached_authentication_does_not_read_the_store(identities: Identities) -> None:
    """How fast 5,000 cached authentications are is measured by ``make bench``
    (``benchmarks/unit_hot_paths.py``): a wall-clock limit flakes on a loaded runner."""
    identities.create_user("judy")
    key = identities.create_api_key("judy").key
    first = identities.authenticate(key)
    statements: list[str] = []

    def record(*arguments: Any) -> None:
        statements.append(arguments[2])

    event.listen(identities.store.engine, "before_cursor_execute", record)
    try:
        again = [identities.authenticate(key) for _ in range(100)]
    finally:
        event.remove(identities.store.engine, "before_cursor_execute", record)
    assert first is not None and again == [first] * 100
    assert statements == []


def test_cache_is_bounded() -> None:
    cache: apikeys.TtlCache[str] = apikeys.TtlCache(size=3)
    for n in range(5):
        cache.put(str(n), "x")
    assert len(cache) == 3
    assert cache.get("0") == (False, None)
    assert cache.get("4") == (True, "x")


def test_last_used_is_recorded(identities: Identities) -> None:
    identities.create_user("kate")
    created = identities.create_api_key("kate")
    assert created.info.last_used_at is None
    identities.authenticate(created.key)
    used = identities.list_api_keys("kate")[0].last_used_at
    assert used is not None
    assert used >= created.info.created_at


def test_key_names_are_unique_among_active_keys(identities: Identities) -> None:
    identities.create_user("liam")
    first = identities.create_api_key("liam", "ci")
    with pytest.raises(Conflict, match="already has an active API key"):
        identities.create_api_key("liam", "ci")
    identities.revoke_api_key("liam", first.info.key_id)
    second = identities.create_api_key("liam", "ci")
    assert second.info.key_id != first.info.key_id
    assert identities.create_api_key("liam").info.name.startswith("key-")
    with pytest.raises(InvalidRequest):
        identities.create_api_key("liam", "bad name")
    with pytest.raises(ApiKeyNotFound):
        identities.revoke_api_key("liam", "0123456789abcdef")


def test_a_user_cannot_revoke_another_users_key(identities: Identities) -> None:
    identities.create_user("mona")
    identities.create_user("ned")
    key = identities.create_api_key("mona")
    with pytest.raises(ApiKeyNotFound):
        identities.revoke_api_key("ned", key.info.key_id)
    assert identities.authenticate(key.key) is not None


def test_recreated_user_starts_afresh(identities: Identities, store: Store) -> None:
    identities.create_user("olga", tags=["roles:id:operator"])
    old = identities.create_api_key("olga")
    identities.delete_user("olga")
    again = identities.create_user("olga", "application")
    assert again.tags == ("users:id:olga",)
    assert identities.authenticate(old.key) is None
    assert [k.state() for k in identities.list_api_keys("olga")] == ["revoked"]
    with store.reading() as session:
        assert session.scalar(select(UserRow.deleted_at).where(UserRow.id == "olga")) is None


def test_protected_users_cannot_be_deleted(identities: Identities) -> None:
    identities.create_user("root-app", "application")
    with pytest.raises(ProtectedUser):
        identities.delete_user("root-app", protected={"root-app"})
    with pytest.raises(UserNotFound):
        identities.delete_user("nobody")


def test_bootstrap_happens_once(identities: Identities) -> None:
    created = identities.bootstrap("op", "Operator", ["roles:id:operator"], "bootstrap")
    assert created is not None
    assert created.info.expires_at is None
    principal = identities.authenticate(created.key)
    assert principal is not None
    assert principal.type == "application"
    assert principal.tags == ("roles:id:operator", "users:id:op")
    assert identities.bootstrap("op", "Operator", ["roles:id:operator"], "bootstrap") is None


def test_concurrent_bootstraps_create_one_operator(settings: Settings) -> None:
    stores = [Store.open(settings=settings) for _ in range(4)]
    results: list[NewApiKey | None] = []
    errors: list[BaseException] = []

    def bootstrap(store: Store) -> None:
        try:
            results.append(Identities(store).bootstrap("op", "Operator", [], "bootstrap"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=bootstrap, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    assert errors == []
    assert len([r for r in results if r is not None]) == 1


def test_upgrade_from_the_first_schema_keeps_data(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with write_transaction(engine) as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    engine.dispose()
    with Store.open(settings=settings) as store:
        assert [w.name for w in store.list_workspaces()] == ["public"]
        identities = Identities(store)
        identities.create_user("pia")
        assert identities.get_user("pia") is not None
