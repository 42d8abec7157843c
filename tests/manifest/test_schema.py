"""JSON Schema export: every type, versions, and the combined schema accepts real manifests."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from dataos_defs.manifest.loader import load_documents
from dataos_defs.manifest.registry import RESOURCE_TYPES, versions_of
from dataos_defs.manifest.schema import UnknownResourceType, combined_schema, type_schema

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kind", sorted(RESOURCE_TYPES))
def test_every_type_exports_a_valid_schema(kind: str) -> None:
    schema = type_schema(kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["type"]["const"] == kind
    assert set(schema["required"]) >= {"name", "version", "type"}


def test_schema_pinned_to_a_version() -> None:
    for version in versions_of("depot"):
        assert type_schema("depot", version)["properties"]["version"] == {
            "const": version,
            "title": "Version",
        }
    with pytest.raises(UnknownResourceType, match="versions: v1"):
        type_schema("workflow", "v9")
    with pytest.raises(UnknownResourceType, match="one of"):
        type_schema("nope")


def test_combined_schema_validates_the_example_product() -> None:
    schema = combined_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    documents = [document.data for document in load_documents([ROOT / "resources"], env={})]
    assert len(documents) >= 8
    for document in documents:
        errors = [e.message for e in validator.iter_errors(document)]
        assert not errors, (document["name"], errors[:3])


def test_combined_schema_rejects_an_unknown_field() -> None:
    validator = jsonschema.Draft202012Validator(combined_schema())
    bad = {
        "name": "s",
        "version": "v1",
        "type": "instance-secret",
        "instance-secret": {"type": "key-value", "acl": "r", "data": {}},
        "colour": "blue",
    }
    assert list(validator.iter_errors(bad))
