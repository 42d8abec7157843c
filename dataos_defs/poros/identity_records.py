"""What the identity store takes and returns: user and key records, errors, and the rules
for user ids, tags and key names (checked before any transaction starts)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from dataos_defs.manifest.base import MAX_NAME_LENGTH, RESOURCE_NAME
from dataos_defs.poros.errors import Conflict, InvalidRequest, NotFound
from dataos_defs.poros.queries import now

UserType = Literal["person", "application"]
KeyState = Literal["active", "expired", "revoked"]
USER_TYPES: tuple[UserType, ...] = ("person", "application")
USER_TAG_PREFIX = "users:id:"
MAX_TAG_LENGTH = 255
TAG = re.compile(r"^[^\s\x00-\x1f\x7f]+$")
KEY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


class UserNotFound(NotFound):
    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        super().__init__(
            f"user '{user_id}' does not exist", "list users with `dataos-ctl user get -a`"
        )


class UserExists(Conflict):
    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        super().__init__(f"user '{user_id}' already exists")


class ApiKeyNotFound(NotFound):
    def __init__(self, user_id: str, key_id: str) -> None:
        self.key_id = key_id
        super().__init__(
            f"user '{user_id}' has no API key '{key_id}'",
            f"list them with `dataos-ctl user apikey list -i {user_id}`",
        )


class ProtectedUser(Conflict):
    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        super().__init__(f"user '{user_id}' is built in and cannot be deleted")


@dataclass(frozen=True)
class User:
    id: str
    type: UserType
    name: str | None
    email: str | None
    tags: tuple[str, ...]
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class ApiKey:
    """What is known about a key once created: everything but the key."""

    key_id: str
    user_id: str
    name: str
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def state(self, at: datetime | None = None) -> KeyState:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and (at or now()) >= self.expires_at:
            return "expired"
        return "active"


@dataclass(frozen=True)
class NewApiKey:
    """A key just created: ``key`` is shown to the caller this once and stored nowhere."""

    key: str
    info: ApiKey


@dataclass(frozen=True)
class NewUser:
    """What creating a user takes (besides who creates it)."""

    id: str
    type: UserType = "person"
    name: str | None = None
    email: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class TagChange:
    """A user after a change of its tags, and which tags the change really added and
    removed (what was there already, or absent, is in neither)."""

    user: User
    added: tuple[str, ...]
    removed: tuple[str, ...]


@dataclass(frozen=True)
class Principal:
    """Who an API key authenticates: the subject of every policy decision."""

    user_id: str
    type: UserType
    tags: tuple[str, ...]


def check_user(user_id: str, type: str, email: str | None) -> None:
    if len(user_id) > MAX_NAME_LENGTH or not RESOURCE_NAME.match(user_id):
        raise InvalidRequest(
            f"'{user_id}' is not a valid user id",
            f"lower-case letters, digits and '-', at most {MAX_NAME_LENGTH} characters",
        )
    if type not in USER_TYPES:
        raise InvalidRequest(f"user type must be person or application, not '{type}'")
    if email is not None and not EMAIL.match(email):
        raise InvalidRequest(f"'{email}' is not an email address")


def checked_tags(user_id: str, tags: Iterable[str]) -> set[str]:
    """``tags`` plus the user's own identity tag, after refusing malformed or borrowed ones."""
    wanted = {USER_TAG_PREFIX + user_id}
    for tag in tags:
        if len(tag) > MAX_TAG_LENGTH or not TAG.match(tag):
            raise InvalidRequest(
                f"'{tag}' is not a valid tag",
                f"no spaces or control characters, at most {MAX_TAG_LENGTH} characters",
            )
        if tag.startswith(USER_TAG_PREFIX) and tag != USER_TAG_PREFIX + user_id:
            raise InvalidRequest(
                f"tag '{tag}' names another user",
                f"'{USER_TAG_PREFIX}<id>' tags are given to that user only",
            )
        wanted.add(tag)
    return wanted
