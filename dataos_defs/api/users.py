"""Heimdall user endpoints: users, their tags and their API keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from dataos_defs.api.identity import Identity, current_identity, get_identities
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
from dataos_defs.poros.identities import ApiKey, Identities, User, UserNotFound

router = APIRouter(prefix="/heimdall/api/v1", tags=["users"])
IdentitiesDep = Annotated[Identities, Depends(get_identities)]
IdentityDep = Annotated[Identity, Depends(current_identity)]


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


def _require(identities: Identities, user_id: str) -> User:
    found = identities.get_user(user_id)
    if found is None:
        raise UserNotFound(user_id)
    return found


@router.get("/whoami", response_model=UserOut, summary="The calling user")
def whoami(identities: IdentitiesDep, identity: IdentityDep) -> UserOut:
    return _user(_require(identities, identity.user_id))


@router.get("/users", response_model=UserList, summary="List users")
def list_users(identities: IdentitiesDep, _: IdentityDep) -> UserList:
    return UserList(items=[_user(u) for u in identities.list_users()])


@router.post(
    "/users", response_model=UserOut, status_code=status.HTTP_201_CREATED, summary="Create a user"
)
def create_user(body: UserIn, identities: IdentitiesDep, identity: IdentityDep) -> UserOut:
    """Persons also get ``roles:id:user``; every user gets ``users:id:<id>``."""
    created = identities.create_user(
        body.id, body.type, body.name, body.email, body.tags, actor=identity.user_id
    )
    return _user(created)


@router.get("/users/{user_id}", response_model=UserOut, summary="Get one user")
def get_user(user_id: str, identities: IdentitiesDep, _: IdentityDep) -> UserOut:
    return _user(_require(identities, user_id))


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a user")
def delete_user(user_id: str, identities: IdentitiesDep, _: IdentityDep) -> None:
    """Its API keys stop working at once and its tags are dropped."""
    heimdall.delete_user(identities, user_id)


@router.post("/users/{user_id}/tags", response_model=UserOut, summary="Add tags to a user")
def add_tags(user_id: str, body: TagsIn, identities: IdentitiesDep, _: IdentityDep) -> UserOut:
    return _user(identities.add_tags(user_id, body.tags))


@router.delete("/users/{user_id}/tags", response_model=UserOut, summary="Remove tags")
def remove_tags(
    user_id: str,
    identities: IdentitiesDep,
    _: IdentityDep,
    tag: Annotated[list[str], Query(min_length=1, description="repeat for several")],
) -> UserOut:
    return _user(identities.remove_tags(user_id, tag))


@router.get("/users/{user_id}/apikeys", response_model=ApiKeyList, summary="List API keys")
def list_api_keys(user_id: str, identities: IdentitiesDep, _: IdentityDep) -> ApiKeyList:
    """Never the keys themselves: only their ids, names and states."""
    return ApiKeyList(items=[_key(k) for k in identities.list_api_keys(user_id)])


@router.post(
    "/users/{user_id}/apikeys",
    response_model=NewApiKeyOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key (shown once)",
)
def create_api_key(
    user_id: str, body: ApiKeyIn, identities: IdentitiesDep, identity: IdentityDep
) -> NewApiKeyOut:
    expires_at = (
        datetime.now(UTC) + timedelta(seconds=body.expires_in_seconds)
        if body.expires_in_seconds
        else None
    )
    created = identities.create_api_key(user_id, body.name, expires_at, actor=identity.user_id)
    return NewApiKeyOut(**_key(created.info).model_dump(), key=created.key)


@router.delete(
    "/users/{user_id}/apikeys/{key_id}", response_model=ApiKeyOut, summary="Revoke an API key"
)
def revoke_api_key(
    user_id: str, key_id: str, identities: IdentitiesDep, _: IdentityDep
) -> ApiKeyOut:
    return _key(identities.revoke_api_key(user_id, key_id))
