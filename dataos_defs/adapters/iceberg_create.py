"""A new Iceberg table from a DataOS dataset manifest (``dataos-ctl dataset create -f``).

DataOS' manifest gives the schema as Avro (``schema.type: avro`` and ``schema.avro``, a JSON
text whose fields carry ``field-id``), and optionally ``iceberg.specs`` (partition fields
with ``index``, ``type``, ``column``, ``name``) and ``iceberg.properties``. The table is
created at the catalog's own location for ``collection.dataset``: a manifest never chooses
where files go, and its properties pass the same checks as ``add-properties``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pyiceberg.catalog import Catalog
from pyiceberg.partitioning import PartitionField as IcebergPartitionField
from pyiceberg.partitioning import PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.utils.schema_conversion import AvroSchemaConversion

from dataos_defs.adapters.iceberg import PartitionField
from dataos_defs.adapters.iceberg_ops import DatasetOpError, load, with_namespace
from dataos_defs.adapters.iceberg_schema_ops import (
    MAX_PARTITION_FIELDS,
    MAX_PROPERTIES,
    TRANSFORMS,
    parse_properties,
)

MAX_FIELDS = 1000
MAX_AVRO = 256 * 1024
FORM_HINT = (
    "a dataset manifest has 'schema: {type: avro, avro: <Avro record JSON with field-id "
    "on every field>}' and optionally 'iceberg: {specs: [{index, type, column, name}], "
    "properties: {name: value}}'"
)
_TOP = {"schema", "iceberg"}


@dataclass(frozen=True)
class DatasetManifest:
    schema: Schema
    partitions: list[PartitionField]
    properties: dict[str, str]


def parse_manifest(document: Any) -> DatasetManifest:
    """Check and read a DataOS dataset manifest; DatasetOpError (what, where, hint)."""
    if not isinstance(document, dict):
        raise DatasetOpError("the manifest is not a mapping", FORM_HINT)
    unknown = sorted(set(document) - _TOP)
    if unknown:
        raise DatasetOpError(f"unknown manifest key(s): {', '.join(unknown)}", FORM_HINT)
    iceberg = document.get("iceberg") or {}
    if not isinstance(iceberg, dict) or set(iceberg) - {"specs", "properties"}:
        raise DatasetOpError("'iceberg' holds only 'specs' and 'properties'", FORM_HINT)
    return DatasetManifest(
        _schema(document.get("schema")),
        _specs(iceberg.get("specs") or []),
        _properties(iceberg.get("properties") or {}),
    )


def _schema(section: Any) -> Schema:
    if not isinstance(section, dict) or str(section.get("type", "")).lower() != "avro":
        raise DatasetOpError("'schema.type' must be avro", FORM_HINT)
    text = section.get("avro")
    if isinstance(text, str):
        if len(text) > MAX_AVRO:
            raise DatasetOpError(
                f"'schema.avro' is longer than {MAX_AVRO} characters", "split the dataset"
            )
        try:
            text = json.loads(text)
        except ValueError as exc:
            raise DatasetOpError(f"'schema.avro' is not JSON: {exc}", FORM_HINT) from None
    if not isinstance(text, dict) or text.get("type") != "record":
        raise DatasetOpError("'schema.avro' must be an Avro record", FORM_HINT)
    fields = text.get("fields")
    if not isinstance(fields, list) or not fields or len(fields) > MAX_FIELDS:
        raise DatasetOpError(f"'schema.avro' needs 1 to {MAX_FIELDS} fields", FORM_HINT)
    try:
        return AvroSchemaConversion().avro_to_iceberg(text)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DatasetOpError(f"'schema.avro' cannot be read: {exc}", FORM_HINT) from None


def _specs(specs: Any) -> list[PartitionField]:
    if not isinstance(specs, list) or len(specs) > MAX_PARTITION_FIELDS:
        raise DatasetOpError(
            f"'iceberg.specs' is a list of at most {MAX_PARTITION_FIELDS} fields", FORM_HINT
        )
    found = []
    for number, spec in enumerate(sorted(specs, key=_index)):
        where = f"iceberg.specs[{number}]"
        if not isinstance(spec, dict) or not spec.get("type") or not spec.get("column"):
            raise DatasetOpError(f"'{where}' needs 'type' and 'column'", FORM_HINT)
        transform = str(spec["type"]).lower()
        if transform not in TRANSFORMS:
            raise DatasetOpError(
                f"'{where}': unknown partition type '{spec['type']}'",
                "types: " + ", ".join(TRANSFORMS),
            )
        parameter = spec.get("num_buckets", spec.get("width"))
        if transform in ("bucket", "truncate") and not isinstance(parameter, int):
            raise DatasetOpError(
                f"'{where}': {transform} needs 'num_buckets' (or 'width')",
                f"e.g. {{type: {transform}, column: id, name: id_{transform}, num_buckets: 16}}",
            )
        name = spec.get("name")
        found.append(
            PartitionField(
                transform,
                str(spec["column"]),
                str(name) if name else None,
                parameter if transform in ("bucket", "truncate") else None,
            )
        )
    return found


def _index(spec: Any) -> int:
    index = spec.get("index", 0) if isinstance(spec, dict) else 0
    return index if isinstance(index, int) else 0


def _properties(values: Any) -> dict[str, str]:
    if not isinstance(values, dict) or len(values) > MAX_PROPERTIES:
        raise DatasetOpError(
            f"'iceberg.properties' is a mapping of at most {MAX_PROPERTIES} entries", FORM_HINT
        )
    if not values:
        return {}
    return parse_properties([f"{k}:{v}" for k, v in values.items()])


def create(catalog: Catalog, collection: str, dataset: str, manifest: DatasetManifest) -> int:
    """Create the table (409 when it exists); returns its number of fields."""
    if load(catalog, collection, dataset) is not None:
        raise DatasetOpError(
            f"dataset {collection}/{dataset} exists", "change it with add-field and friends", 409
        )
    spec = _spec(manifest)
    with_namespace(catalog, collection)
    catalog.create_table(
        (collection, dataset),
        schema=manifest.schema,
        partition_spec=spec,
        properties=manifest.properties,
    )
    return len(manifest.schema.fields)


def _spec(manifest: DatasetManifest) -> PartitionSpec:
    fields = []
    for number, partition in enumerate(manifest.partitions):
        try:
            source = manifest.schema.find_field(partition.column)
        except ValueError:
            raise DatasetOpError(
                f"iceberg.specs: no field '{partition.column}' in the schema", FORM_HINT
            ) from None
        try:
            transform = partition.iceberg()
        except ValueError as exc:
            raise DatasetOpError(f"iceberg.specs: {exc}", FORM_HINT) from None
        if not transform.can_transform(source.field_type):
            raise DatasetOpError(
                f"iceberg.specs: {partition.transform} cannot partition "
                f"'{partition.column}' ({source.field_type})",
                "year, month, day and hour take dates and timestamps; bucket and truncate "
                "numbers and strings",
            )
        fields.append(
            IcebergPartitionField(
                source_id=source.field_id,
                field_id=1000 + number,
                transform=transform,
                name=partition.field_name,
            )
        )
    return PartitionSpec(*fields)
