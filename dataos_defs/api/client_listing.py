"""Resources with their tags (``get --tags``, ``get -o json``): calls
:class:`~dataos_defs.api.client.DataosClient` lacks."""

from __future__ import annotations

from typing import Any

from dataos_defs.api.client import DataosClient


def list_tagged_resources(
    client: DataosClient, kind: str | None, workspace: str | None, name: str | None
) -> list[dict[str, Any]]:
    """Like ``client.list_resources``, each item with its manifest's ``tags``."""
    params: dict[str, Any] = {
        k: v for k, v in {"type": kind, "workspace": workspace, "name": name}.items() if v
    }
    params["tags"] = True
    return list(client.request("GET", "/poros/api/v1/resources", params=params)["items"])


def get_tagged_resource(
    client: DataosClient, kind: str, name: str, workspace: str | None, unsanitize: bool
) -> dict[str, Any]:
    """Like ``client.get_resource``, with the manifest's ``tags`` as a field."""
    params: dict[str, Any] = {"unsanitize": unsanitize, "tags": True}
    if workspace:
        params["workspace"] = workspace
    result: dict[str, Any] = client.request(
        "GET", f"/poros/api/v1/resources/{kind}/{name}", params=params
    )
    return result
