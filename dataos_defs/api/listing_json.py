"""Items of Resource listings as JSON, with or without the manifest's tags (``get --tags``).

A listing that does not ask for tags is serialised exactly as before they existed, so its
bytes and its cost do not change; one that asks carries ``tags`` on every item.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, TypeAdapter

from dataos_defs.api.wire import ResourceOut
from dataos_defs.poros.records import StoredResource
from dataos_defs.poros.summaries import ListedResource, manifest_tags


class TaggedResourceOut(ResourceOut):
    tags: list[str] = Field(default_factory=list, description="the manifest's tags")


class TaggedResourceList(BaseModel):
    items: list[TaggedResourceOut]


def tagged(resource: StoredResource, out: ResourceOut) -> TaggedResourceOut:
    tags = (
        resource.tags if isinstance(resource, ListedResource) else manifest_tags(resource.manifest)
    )
    return TaggedResourceOut(**out.__dict__, tags=list(tags))


_RESOURCE_JSON = TypeAdapter(ResourceOut)
_TAGGED_JSON = TypeAdapter(TaggedResourceOut)


def listed_json(resource: StoredResource, out: ResourceOut, tags: bool) -> bytes:
    """An item of a listing; with its tags when asked for (else the same bytes as ever)."""
    if tags:
        return _TAGGED_JSON.dump_json(tagged(resource, out))
    return _RESOURCE_JSON.dump_json(out)
