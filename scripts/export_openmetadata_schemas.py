"""Export the JSON Schemas of the OpenMetadata models Metis must answer with, as test fixtures.

Run it with the scanner's own environment (the `metadata` package never sits in .venv)::

    .venv-metis/bin/python scripts/export_openmetadata_schemas.py [--check] [OUT_DIR]

Each model becomes ``OUT_DIR/<Name>.json``: pydantic's *validation* JSON Schema of the class the
ingestion framework and the SDK parse answers with (``extra='forbid'`` becomes
``additionalProperties: false``), so a server answer that validates is one the client accepts.
``index.json`` records the package versions and which class each file comes from. ``--check``
writes nothing and exits 1 when a fixture differs from what the installed package produces.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import os
import sys
from pathlib import Path

# Defer no schema build warnings, keep imports quiet: the exporter only needs the classes.
os.environ.setdefault("OM_PYDANTIC_DEFER_BUILD", "true")

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "tests/metis/fixtures/openmetadata_schemas"
GENERATED = "metadata.generated.schema"

# File name -> (module under metadata.generated.schema, class). Entities the client reads back,
# the requests it sends, and the small answers (version, settings, bulk results) it parses.
MODELS: dict[str, tuple[str, str]] = {
    # entities (answers of GET/PUT/PATCH)
    "Table": ("entity.data.table", "Table"),
    "Database": ("entity.data.database", "Database"),
    "DatabaseSchema": ("entity.data.databaseSchema", "DatabaseSchema"),
    "StoredProcedure": ("entity.data.storedProcedure", "StoredProcedure"),
    "Query": ("entity.data.query", "Query"),
    "Pipeline": ("entity.data.pipeline", "Pipeline"),
    "PipelineStatus": ("entity.data.pipeline", "PipelineStatus"),
    "DatabaseService": ("entity.services.databaseService", "DatabaseService"),
    "PipelineService": ("entity.services.pipelineService", "PipelineService"),
    "Classification": ("entity.classification.classification", "Classification"),
    "Tag": ("entity.classification.tag", "Tag"),
    "User": ("entity.teams.user", "User"),
    "Team": ("entity.teams.team", "Team"),
    "TestConnectionDefinition": (
        "entity.services.connections.testConnectionDefinition",
        "TestConnectionDefinition",
    ),
    # types shared by answers
    "EntityReference": ("type.entityReference", "EntityReference"),
    "EntityReferenceList": ("type.entityReferenceList", "EntityReferenceList"),
    "EntityLineage": ("type.entityLineage", "EntityLineage"),
    "EntitiesEdge": ("type.entityLineage", "EntitiesEdge"),
    "LineageDetails": ("type.entityLineage", "LineageDetails"),
    "EntityVersionHistory": ("type.entityHistory", "EntityVersionHistory"),
    "TagLabel": ("type.tagLabel", "TagLabel"),
    "Paging": ("type.paging", "Paging"),
    "BulkOperationResult": ("type.bulkOperationResult", "BulkOperationResult"),
    "BulkDeleteStaleRequest": ("type.bulkDeleteStaleRequest", "BulkDeleteStaleRequest"),
    "TableProfile": ("entity.data.table", "TableProfile"),
    "TableJoins": ("entity.data.table", "TableJoins"),
    "UsageRequest": ("type.usageRequest", "UsageRequest"),
    "OpenMetadataServerVersion": ("api.openMetadataServerVersion", "OpenMetadataServerVersion"),
    "Settings": ("settings.settings", "Settings"),
    # requests (bodies the client sends)
    "CreateTableRequest": ("api.data.createTable", "CreateTableRequest"),
    "CreateDatabaseRequest": ("api.data.createDatabase", "CreateDatabaseRequest"),
    "CreateDatabaseSchemaRequest": ("api.data.createDatabaseSchema", "CreateDatabaseSchemaRequest"),
    "CreateStoredProcedureRequest": (
        "api.data.createStoredProcedure",
        "CreateStoredProcedureRequest",
    ),
    "CreateQueryRequest": ("api.data.createQuery", "CreateQueryRequest"),
    "CreatePipelineRequest": ("api.data.createPipeline", "CreatePipelineRequest"),
    "CreateTableProfileRequest": ("api.data.createTableProfile", "CreateTableProfileRequest"),
    "CreateDatabaseServiceRequest": (
        "api.services.createDatabaseService",
        "CreateDatabaseServiceRequest",
    ),
    "CreatePipelineServiceRequest": (
        "api.services.createPipelineService",
        "CreatePipelineServiceRequest",
    ),
    "CreateClassificationRequest": (
        "api.classification.createClassification",
        "CreateClassificationRequest",
    ),
    "CreateTagRequest": ("api.classification.createTag", "CreateTagRequest"),
    "AddLineageRequest": ("api.lineage.addLineage", "AddLineageRequest"),
    # the ingestion workflow's own configuration (what the adapter generates)
    "OpenMetadataWorkflowConfig": ("metadataIngestion.workflow", "OpenMetadataWorkflowConfig"),
}


def render(name: str) -> str:
    """The JSON Schema text of one model, stable across runs (sorted keys, LF at the end)."""
    module_name, class_name = MODELS[name]
    model = getattr(importlib.import_module(f"{GENERATED}.{module_name}"), class_name)
    schema = model.model_json_schema(mode="validation")
    return json.dumps(schema, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def index_text() -> str:
    versions = {
        package: importlib.metadata.version(package)
        for package in ("openmetadata-ingestion", "pydantic")
    }
    index = {
        "producedBy": "scripts/export_openmetadata_schemas.py (run with .venv-metis/bin/python)",
        "versions": versions,
        "mode": "pydantic model_json_schema(mode='validation')",
        "models": {name: f"{GENERATED}.{mod}.{cls}" for name, (mod, cls) in MODELS.items()},
    }
    return json.dumps(index, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args(argv)
    wanted = {f"{name}.json": render(name) for name in MODELS}
    wanted["index.json"] = index_text()
    out: Path = args.out
    stale = sorted(
        file
        for file, text in wanted.items()
        if not (out / file).is_file() or (out / file).read_text(encoding="utf-8") != text
    )
    extra = (
        sorted(p.name for p in out.glob("*.json") if p.name not in wanted) if out.is_dir() else []
    )
    if args.check:
        for file in stale:
            print(f"stale: {out / file}", file=sys.stderr)
        for file in extra:
            print(f"not produced by this script: {out / file}", file=sys.stderr)
        return 1 if stale or extra else 0
    out.mkdir(parents=True, exist_ok=True)
    for file in stale:
        (out / file).write_text(wanted[file], encoding="utf-8")
    for file in extra:
        (out / file).unlink()
    print(f"{len(wanted)} schemas in {out} ({len(stale)} written, {len(extra)} removed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
