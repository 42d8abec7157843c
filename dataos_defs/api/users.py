"""Heimdall user endpoints: users, their tags and their API keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import Field

from dataos_defs.api import user_changes
from dataos_defs.api.authz import authorize, heimdall_of, visible
from dataos_defs.api.identity import Identity, current_identity, get_identities
from dataos_defs.api.user_changes import listed_tags, record
from dataos_defs.api.wire import (
    ApiKeyIn,
    ApiKeyList,
    ApiKeyOut,
    NewApiKeyOut,
    TagsIn,
    UserIn,
    UserList,
    UserOut,
)
from dataos_defs.heimdall import identity as heimdall
from dataos_defs.heimdall.objects import SELF_TAG, user_object
from dataos_defs.poros.identities import ApiKey, Identities, NewUser, User, UserNotFound

router = APIRouter(prefix="/heimdall/api/v1", tags=["users"])
router.include_router(user_changes.router)
IdentitiesDep = Annotated[Identities, Depends(get_identities)]
IdentityDep = Annotated[Identity, Depends(current_identity)]


class UserWithKeyIn(UserIn):
    apikey: ApiKeyIn | None = Field(
        None, description="also create the user's first API key, in the same transaction"
    )


class CreatedUserOut(UserOut):
    apikey: NewApiKeyOut | None = Field(
        None, description="the new key (when asked for); it cannot be shown again"
    )


def _user(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        type=user.type,
        name=user.name,
        email=user.email,
        tags=list(user.tags),
        created_at=user.created_at,
        created_by=user.created_by,
    )


def _key(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        key_id=key.key_id,
        user_id=key.user_id,
        name=key.name,
        state=key.state(),
        created_at=key.created_at,
        created_by=key.created_by,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
        last_used_at=key.last_used_at,
    )


def _object(identity: Identity, user_id: str, part: str | None) -> tuple[str, tuple[str, ...]]:
    """A user is ``heimdall://user/<id>`` (its keys: ``.../apikeys``), tagged ``heimdall:self``
    when it is the caller, so that self-service is a policy like any other."""
    path = user_object(user_id) + (f"/{part}" if part else "")
    return path, ((SELF_TAG,) if user_id == identity.user_id else ())


def _guard(
    request: Request, identity: Identity, predicate: str, user_id: str, part: str | None = None
) -> None:
    path, tags = _object(identity, user_id, part)
    authorize(request, identity, predicate, path, tags)


def _require(identities: Identities, user_id: str) -> User:
    found = identities.get_user(user_id)
    if found is None:
        raise UserNotFound(user_id)
    return found


@router.get("/whoami", response_model=UserOut, summary="The calling user")
def whoami(request: Request, identities: IdentitiesDep, identity: IdentityDep) -> UserOut:
    _guard(request, identity, "read", identity.user_id)
    return _user(_require(identities, identity.user_id))


@router.get("/users", response_model=UserList, summary="List users")
def list_users(request: Request, identities: IdentitiesDep, identity: IdentityDep) -> UserList:
    """The users the caller may read."""
    users = identities.list_users()
    readable = visible(request, identity, "read", users, lambda u: _object(identity, u.id, None))
    return UserList(items=[_user(u) for u in readable])


@router.post(
    "/users",
    response_model=CreatedUserOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a user (and, optionally, its first API key)",
)
def create_user(
    request: Request, body: UserWithKeyIn, identities: IdentitiesDep, identity: IdentityDep
) -> CreatedUserOut:
    """Persons also get ``roles:id:user``; every user gets ``users:id:<id>``. With
    ``apikey``, the user's first key is created in the same transaction (it needs ``create``
    on the user's ``/apikeys`` too): a refused key leaves no user behind."""
    _guard(request, identity, "create", body.id)
    if body.apikey is None:
        created = identities.create_user(
            body.id, body.type, body.name, body.email, body.tags, actor=identity.user_id
        )
        new_key = None
    else:
        _guard(request, identity, "create", body.id, "apikeys")
        wanted = NewUser(body.id, body.type, body.name, body.email, tuple(body.tags))
        created, new_key = identities.create_user_with_key(
            wanted, body.apikey.name, _expiry(body.apikey), actor=identity.user_id
        )
    heimdall_of(request).reload()
    details = {"type": created.type, **listed_tags(created.tags)}
    record(request, identity, created.id, "created", details)
    if new_key is None:
        return CreatedUserOut(**_user(created).model_dump())
    record(request, identity, created.id, "apikey-created", _key_details(new_key.info))
    key = NewApiKeyOut(**_key(new_key.info).model_dump(), key=new_key.key)
    return CreatedUserOut(**_user(created).model_dump(), apikey=key)


def _expiry(body: ApiKeyIn) -> datetime | None:
    seconds = body.expires_in_seconds
    return datetime.now(UTC) + timedelta(seconds=seconds) if seconds else None


def _key_details(key: ApiKey) -> dict[str, object]:
    """What a change record says of a key: never the key."""
    return {"key_id": key.key_id, "name": key.name, "expires_at": key.expires_at}


@router.get("/users/{user_id}", response_model=UserOut, summary="Get one user")
def get_user(
    request: Request, user_id: str, identities: IdentitiesDep, identity: IdentityDep
) -> UserOut:
    _guard(request, identity, "read", user_id)
    return _user(_require(identities, user_id))


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a user")
def delete_user(
    request: Request, user_id: str, identities: IdentitiesDep, identity: IdentityDep
) -> None:
    """Its API keys stop working at once and its tags are dropped."""
    _guard(request, identity, "delete", user_id)
    heimdall.delete_user(identities, user_id)
    heimdall_of(request).reload()
    record(request, identity, user_id, "deleted", {})


@router.post("/users/{user_id}/tags", response_model=UserOut, summary="Add tags to a user")
def add_tags(
    request: Request, user_id: str, body: TagsIn, identities: IdentitiesDep, identity: IdentityDep
) -> UserOut:
    _guard(request, identity, "update", user_id)
    change = identities.change_tags(user_id, add=body.tags)
    heimdall_of(request).reload()
    if change.added:
        record(request, identity, user_id, "tags-added", listed_tags(change.added))
    return _user(change.user)


@router.delete("/users/{user_id}/tags", response_model=UserOut, summary="Remove tags")
def remove_tags(
    request: Request,
    user_id: str,
    identities: IdentitiesDep,
    identity: IdentityDep,
    tag: Annotated[list[str], Query(min_length=1, description="repeat for several")],
) -> UserOut:
    _guard(request, identity, "update", user_id)
    change = identities.change_tags(user_id, remove=tag)
    heimdall_of(request).reload()
    if change.removed:
        record(request, identity, user_id, "tags-removed", listed_tags(change.removed))
    return _user(change.user)


@router.get("/users/{user_id}/apikeys", response_model=ApiKeyList, summary="List API keys")
def list_api_keys(
    request: Request, user_id: str, identities: IdentitiesDep, identity: IdentityDep
) -> ApiKeyList:
    """Never the keys themselves: only their ids, names and states."""
    _guard(request, identity, "read", user_id, "apikeys")
    return ApiKeyList(items=[_key(k) for k in identities.list_api_keys(user_id)])


@router.post(
    "/users/{user_id}/apikeys",
    response_model=NewApiKeyOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key (shown once)",
)
def create_api_key(
    request: Request, user_id: str, body: ApiKeyIn, identities: IdentitiesDep, identity: IdentityDep
) -> NewApiKeyOut:
    _guard(request, identity, "create", user_id, "apikeys")
    created = identities.create_api_key(user_id, body.name, _expiry(body), actor=identity.user_id)
    record(request, identity, user_id, "apikey-created", _key_details(created.info))
    return NewApiKeyOut(**_key(created.info).model_dump(), key=created.key)


@router.delete(
    "/users/{user_id}/apikeys/{key_id}", response_model=ApiKeyOut, summary="Revoke an API key"
)
def revoke_api_key(
    request: Request, user_id: str, key_id: str, identities: IdentitiesDep, identity: IdentityDep
) -> ApiKeyOut:
    _guard(request, identity, "delete", user_id, "apikeys")
    revoked = identities.revoke_api_key(user_id, key_id)
    record(request, identity, user_id, "apikey-revoked", _key_details(revoked))
    return _key(revoked)
