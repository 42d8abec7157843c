"""Calls of ``dataos-ctl user`` that :class:`~dataos_defs.api.client.DataosClient` lacks:
creating a user with its first API key, and the record of changes to users."""

from __future__ import annotations

from typing import Any

from dataos_defs.api.client import DataosClient

USERS = "/heimdall/api/v1"


def create_user_with_key(
    client: DataosClient,
    user: dict[str, Any],
    key_name: str | None,
    expires_in_seconds: int | None,
) -> dict[str, Any]:
    """The new user, its first key in ``result["apikey"]["key"]`` (never shown again);
    both are created in one transaction or neither is."""
    body = {**user, "apikey": {"name": key_name, "expires_in_seconds": expires_in_seconds}}
    result: dict[str, Any] = client.request("POST", f"{USERS}/users", json=body)
    return result


def user_changes(client: DataosClient, user_id: str | None, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` changes of one user, or (``None``) of every user the caller may
    read the changes of; oldest first."""
    path = f"{USERS}/users/{user_id}/changes" if user_id else f"{USERS}/changes"
    return list(client.request("GET", path, params={"limit": limit})["items"])
