"""Heimdall identities in the store: users, their tags, API keys, and authentication.

Policies match subjects by tags, so tags are what a user *is* to the platform. Every live
user carries ``users:id:<id>``; no user may carry another user's ``users:id:`` tag, or
policies written for that user would match an impostor. Deleting a user revokes its keys
and drops its tags; the row stays for audit, and the id can be created again as a new user.

:meth:`Identities.authenticate` runs on every request, so its answers are cached in the
process for a few seconds (see :class:`~dataos_defs.poros.apikeys.TtlCache`).
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Select, delete, exists, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from dataos_defs.poros import apikeys
from dataos_defs.poros.errors import Conflict, InvalidRequest
from dataos_defs.poros.identity_records import (
    KEY_NAME,
    USER_TAG_PREFIX,
    ApiKey,
    ApiKeyNotFound,
    NewApiKey,
    NewUser,
    Principal,
    ProtectedUser,
    TagChange,
    User,
    UserExists,
    UserNotFound,
    UserType,
    check_user,
    checked_tags,
)
from dataos_defs.poros.queries import now
from dataos_defs.poros.store import Store
from dataos_defs.poros.tables import ApiKeyRow, UserRow, UserTagRow

DEFAULT_PERSON_TAGS = ("roles:id:user",)
# last_used_at is written at most this often per key: a write per request would not scale.
LAST_USED_RESOLUTION = timedelta(minutes=1)

log = logging.getLogger(__name__)

__all__ = [
    "ApiKey",
    "ApiKeyNotFound",
    "Identities",
    "NewApiKey",
    "NewUser",
    "Principal",
    "ProtectedUser",
    "TagChange",
    "User",
    "UserExists",
    "UserNotFound",
]


class Identities:
    """Users, tags and API keys in a :class:`Store`; every public method is one transaction."""

    def __init__(
        self,
        store: Store,
        cache: apikeys.TtlCache[Principal] | None = None,
        clock: Callable[[], datetime] = now,
    ) -> None:
        """``clock`` is the time users and keys are created, used and revoked at and keys
        expire by (tests pass one they move, rather than sleep past an expiry); the default
        cache reads it too."""
        self.store = store
        self.clock = clock
        self.cache: apikeys.TtlCache[Principal] = (
            cache if cache is not None else apikeys.TtlCache(now=clock)
        )

    # -- users -----------------------------------------------------------------------------

    def create_user(
        self,
        user_id: str,
        type: UserType = "person",
        name: str | None = None,
        email: str | None = None,
        tags: Iterable[str] = (),
        actor: str = "system",
    ) -> User:
        """Create a user with ``users:id:<id>``, ``tags`` and, for persons, ``roles:id:user``."""
        check_user(user_id, type, email)
        wanted = checked_tags(user_id, [*(DEFAULT_PERSON_TAGS if type == "person" else ()), *tags])
        with self.store.writing() as session:
            return _create(session, user_id, type, name, email, wanted, actor, self.clock())

    def get_user(self, user_id: str) -> User | None:
        with self.store.reading() as session:
            row = session.get(UserRow, user_id)
            if row is None or row.deleted_at is not None:
                return None
            return _user(row, _tags_of(session, [user_id])[user_id])

    def list_users(self) -> builtins.list[User]:
        query = select(UserRow).where(UserRow.deleted_at.is_(None)).order_by(UserRow.id)
        with self.store.reading() as session:
            rows = list(session.scalars(query))
            tags = _tags_of(session, [r.id for r in rows])
        return [_user(row, tags[row.id]) for row in rows]

    def delete_user(self, user_id: str, protected: Iterable[str] = ()) -> None:
        """Delete ``user_id``: its keys are revoked and its tags dropped at once."""
        if user_id in set(protected):
            raise ProtectedUser(user_id)
        at = self.clock()
        with self.store.writing() as session:
            row = _live(session, user_id)
            row.deleted_at = at
            session.execute(delete(UserTagRow).where(UserTagRow.user_id == user_id))
            for key in session.scalars(_unrevoked(user_id)):
                key.revoked_at = at
        self.cache.clear()

    def create_user_with_key(
        self, user: NewUser, key_name: str | None, expires_at: datetime | None, actor: str
    ) -> tuple[User, NewApiKey]:
        """``dataos-ctl user create --apikeyName``: the user and its first key in one
        transaction, so that a refused key leaves no user behind (every input is checked
        before the transaction starts)."""
        check_user(user.id, user.type, user.email)
        wanted = checked_tags(
            user.id, [*(DEFAULT_PERSON_TAGS if user.type == "person" else ()), *user.tags]
        )
        at = self.clock()
        _check_key(key_name, expires_at, at)
        with self.store.writing() as session:
            created = _create(session, user.id, user.type, user.name, user.email, wanted, actor, at)
            return created, _new_key(session, user.id, key_name, expires_at, actor, at)

    def bootstrap(
        self, user_id: str, name: str, tags: Sequence[str], key_name: str
    ) -> NewApiKey | None:
        """Create the first user (an application) and a key that never expires, if no live
        user exists; ``None`` otherwise. Check and creation share one write transaction, so
        of several servers starting at once exactly one bootstraps."""
        check_user(user_id, "application", None)
        wanted = checked_tags(user_id, tags)
        at = self.clock()
        with self.store.writing() as session:
            if session.scalar(select(exists().where(UserRow.deleted_at.is_(None)))):
                return None
            _create(session, user_id, "application", name, None, wanted, "system", at)
            return _new_key(session, user_id, key_name, None, "system", at)

    # -- tags ------------------------------------------------------------------------------

    def add_tags(self, user_id: str, tags: Iterable[str]) -> User:
        return self.change_tags(user_id, add=tags).user

    def remove_tags(self, user_id: str, tags: Iterable[str]) -> User:
        """Remove ``tags`` (absent ones are ignored); ``users:id:<id>`` cannot go."""
        return self.change_tags(user_id, remove=tags).user

    def change_tags(
        self, user_id: str, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> TagChange:
        """Add ``add`` and remove ``remove`` in one transaction; the change says which tags
        were really added and removed (those already there, or absent, are not)."""
        wanted = checked_tags(user_id, add) if add else set()
        unwanted = set(remove)
        if USER_TAG_PREFIX + user_id in unwanted:
            raise InvalidRequest(
                f"tag '{USER_TAG_PREFIX}{user_id}' is the user's identity and cannot be removed"
            )
        with self.store.writing() as session:
            row = _live(session, user_id)
            have = set(_tags_of(session, [user_id])[user_id])
            added, removed = sorted(wanted - have), sorted(unwanted & have)
            session.add_all(UserTagRow(user_id=user_id, tag=t) for t in added)
            if removed:
                session.execute(
                    delete(UserTagRow).where(
                        UserTagRow.user_id == user_id, UserTagRow.tag.in_(removed)
                    )
                )
            session.flush()
            user = _user(row, _tags_of(session, [user_id])[user_id])
        self.cache.clear()
        return TagChange(user, tuple(added), tuple(removed))

    # -- API keys --------------------------------------------------------------------------

    def create_api_key(
        self,
        user_id: str,
        name: str | None = None,
        expires_at: datetime | None = None,
        actor: str = "system",
    ) -> NewApiKey:
        """A new key for ``user_id``; the returned ``key`` is the only copy there will be.

        ``name`` (default ``key-<key id>``) is unique among the user's usable keys.
        """
        at = self.clock()
        _check_key(name, expires_at, at)
        with self.store.writing() as session:
            _live(session, user_id)
            if name is not None:
                clash = session.scalars(_unrevoked(user_id).where(ApiKeyRow.name == name)).all()
                if any(_info(k).state(at) == "active" for k in clash):
                    raise Conflict(
                        f"user '{user_id}' already has an active API key named '{name}'",
                        "pick another name, or revoke that key first",
                    )
            return _new_key(session, user_id, name, expires_at, actor, at)

    def list_api_keys(self, user_id: str) -> builtins.list[ApiKey]:
        """Every key of a live user, revoked and expired ones included, oldest first."""
        query = (
            select(ApiKeyRow)
            .where(ApiKeyRow.user_id == user_id)
            .order_by(ApiKeyRow.created_at, ApiKeyRow.id)
        )
        with self.store.reading() as session:
            _live(session, user_id)
            return [_info(row) for row in session.scalars(query)]

    def revoke_api_key(self, user_id: str, key_id: str) -> ApiKey:
        """Revoke for good (revoking twice is harmless); effective at once in this process."""
        with self.store.writing() as session:
            _live(session, user_id)
            row = session.get(ApiKeyRow, key_id)
            if row is None or row.user_id != user_id:
                raise ApiKeyNotFound(user_id, key_id)
            if row.revoked_at is None:
                row.revoked_at = self.clock()
            info = _info(row)
        self.cache.clear()
        return info

    # -- authentication --------------------------------------------------------------------

    def authenticate(self, key: str) -> Principal | None:
        """The principal of a usable key; ``None`` for a malformed, unknown, revoked or expired
        key, or one whose user was deleted."""
        key_id = apikeys.key_id_of(key)
        if key_id is None:
            return None
        given = apikeys.digest(key)
        found, principal = self.cache.get(given)
        if found:
            return principal
        principal, expires_at = self._lookup(key_id, given)
        self.cache.put(given, principal, expires_at)
        return principal

    def _lookup(self, key_id: str, given: str) -> tuple[Principal | None, datetime | None]:
        at = self.clock()
        with self.store.reading() as session:
            found = session.execute(
                select(ApiKeyRow, UserRow)
                .join(UserRow, UserRow.id == ApiKeyRow.user_id)
                .where(ApiKeyRow.id == key_id)
            ).first()
            if found is None or not apikeys.same_digest(found[0].digest, given):
                return None, None
            key, user = found
            if user.deleted_at is not None or _info(key).state(at) != "active":
                return None, None
            tags = _tags_of(session, [user.id])[user.id]
        if key.last_used_at is None or at - key.last_used_at >= LAST_USED_RESOLUTION:
            self._touch(key_id, at)
        return Principal(user.id, cast(UserType, user.type), tags), key.expires_at

    def _touch(self, key_id: str, at: datetime) -> None:
        """Record use; best effort, since failing to note it must not fail the request."""
        try:
            with self.store.writing() as session:
                row = session.get(ApiKeyRow, key_id)
                if row is not None:
                    row.last_used_at = at
        except SQLAlchemyError as exc:
            log.warning("could not record the use of API key %s: %s", key_id, type(exc).__name__)


def _create(
    session: Session,
    user_id: str,
    type: str,
    name: str | None,
    email: str | None,
    tags: set[str],
    actor: str,
    at: datetime,
) -> User:
    row = session.get(UserRow, user_id)
    if row is not None and row.deleted_at is None:
        raise UserExists(user_id)
    if row is None:
        row = UserRow(id=user_id)
        session.add(row)
    row.type, row.name, row.email, row.created_at, row.created_by = type, name, email, at, actor
    row.deleted_at = None
    session.flush()
    session.add_all(UserTagRow(user_id=user_id, tag=tag) for tag in sorted(tags))
    session.flush()
    return _user(row, tuple(sorted(tags)))


def _new_key(
    session: Session,
    user_id: str,
    name: str | None,
    expires_at: datetime | None,
    actor: str,
    at: datetime,
) -> NewApiKey:
    material = apikeys.generate()
    row = ApiKeyRow(
        id=material.key_id,
        user_id=user_id,
        name=name or f"key-{material.key_id}",
        digest=material.digest,
        created_at=at,
        created_by=actor,
        expires_at=expires_at,
        revoked_at=None,
        last_used_at=None,
    )
    session.add(row)
    session.flush()
    return NewApiKey(material.key, _info(row))


def _check_key(name: str | None, expires_at: datetime | None, at: datetime) -> None:
    if expires_at is not None and expires_at <= at:
        raise InvalidRequest("an API key must expire in the future")
    if name is not None and not KEY_NAME.match(name):
        raise InvalidRequest(
            f"'{name}' is not a valid API key name",
            "letters, digits, '_', '.' and '-', at most 64 characters",
        )


def _live(session: Session, user_id: str) -> UserRow:
    row = session.get(UserRow, user_id)
    if row is None or row.deleted_at is not None:
        raise UserNotFound(user_id)
    return row


def _unrevoked(user_id: str) -> Select[ApiKeyRow]:
    return select(ApiKeyRow).where(ApiKeyRow.user_id == user_id, ApiKeyRow.revoked_at.is_(None))


def _tags_of(session: Session, user_ids: Sequence[str]) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {user_id: [] for user_id in user_ids}
    if user_ids:
        query = select(UserTagRow).where(UserTagRow.user_id.in_(sorted(set(user_ids))))
        for row in session.scalars(query.order_by(UserTagRow.tag)):
            found[row.user_id].append(row.tag)
    return {user_id: tuple(tags) for user_id, tags in found.items()}


def _user(row: UserRow, tags: tuple[str, ...]) -> User:
    return User(
        row.id, cast(UserType, row.type), row.name, row.email, tags, row.created_at, row.created_by
    )


def _info(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        key_id=row.id,
        user_id=row.user_id,
        name=row.name,
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )
