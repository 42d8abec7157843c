"""JSON Schema of every Resource type, exported from the same models that validate manifests."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from dataos_defs.manifest.registry import RESOURCE_TYPES, resource_adapter, versions_of

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class UnknownResourceType(ValueError):
    pass


def type_schema(kind: str, version: str | None = None) -> dict[str, Any]:
    """The schema of one Resource type, optionally pinned to one of its versions."""
    model = RESOURCE_TYPES.get(kind)
    if model is None:
        raise UnknownResourceType(
            f"unknown Resource type '{kind}'; one of: {', '.join(sorted(RESOURCE_TYPES))}"
        )
    versions = versions_of(kind)
    if version is not None and version not in versions:
        raise UnknownResourceType(
            f"{kind} has no version '{version}'; versions: {', '.join(versions)}"
        )
    schema = TypeAdapter(model).json_schema(mode="validation")
    if version is not None:
        schema["properties"]["version"] = {"const": version, "title": "Version"}
    schema["$schema"] = SCHEMA_DIALECT
    schema["title"] = f"DataOS {kind} {version or ' | '.join(versions)}"
    return schema


def combined_schema() -> dict[str, Any]:
    """One schema for any manifest, discriminated on ``type`` (for yaml-language-server)."""
    schema = resource_adapter().json_schema(mode="validation")
    schema["$schema"] = SCHEMA_DIALECT
    schema["title"] = "DataOS Resource manifest"
    return schema
