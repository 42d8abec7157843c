"""Lakehouse: Iceberg tables on object storage with a REST metastore and a query engine.

Applying one also creates the storage depot (``storage.depotName``) through which the
tables are addressed as ``dataos://<depot>:<collection>/<table>``.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field

from dataos_defs.manifest.base import (
    Level,
    Problem,
    Reference,
    ResourceBase,
    Scalar,
    StrictModel,
    StrictName,
)
from dataos_defs.manifest.cluster import Minerva, Spark
from dataos_defs.manifest.common import AutoScaling, DataosSecret, Resources
from dataos_defs.manifest.depot_types import AzureConnection, GcsConnection, S3Connection
from dataos_defs.manifest.lenient import either_case, lower

_StorageTypes = Literal["s3", "gcs", "abfss", "wasbs"]


class Storage(StrictModel):
    depotName: StrictName | None = Field(
        default=None, description="Depot created for the storage; default derived from the name"
    )
    type: Annotated[
        _StorageTypes, BeforeValidator(lower, json_schema_input_type=either_case(_StorageTypes))
    ]
    s3: S3Connection | None = None
    gcs: GcsConnection | None = None
    abfss: AzureConnection | None = None
    wasbs: AzureConnection | None = None
    secrets: list[DataosSecret] | None = Field(default=None, description="Instance-secrets")


class Metastore(StrictModel):
    type: Literal["iceberg-rest-catalog"] = "iceberg-rest-catalog"
    replicas: int | None = Field(default=None, ge=1)
    autoScaling: AutoScaling | None = None
    resources: Resources | None = None


class ThemisEngine(StrictModel):
    envs: dict[str, Scalar] | None = None
    themisConf: dict[str, Any] | None = None
    spark: Spark | None = None


class QueryEngine(StrictModel):
    type: Literal["themis", "minerva"]
    resources: Resources | None = None
    themis: ThemisEngine | None = None
    minerva: Minerva | None = None
    storageAcl: Literal["r", "rw"] | None = None


class Iceberg(StrictModel):
    storage: Storage
    metastore: Metastore | None = None
    queryEngine: QueryEngine | None = None


class LakehouseSection(StrictModel):
    type: Literal["iceberg"] = "iceberg"
    compute: str
    runAsApiKey: str | None = None
    runAsUser: str | None = None
    iceberg: Iceberg


class Lakehouse(ResourceBase):
    KIND: ClassVar[str] = "lakehouse"
    LEVEL: ClassVar[Level] = "workspace"
    type: Literal["lakehouse"]
    version: Literal["v1alpha"]
    lakehouse: LakehouseSection

    def references(self) -> list[Reference]:
        refs = [Reference("compute", self.lakehouse.compute, None, ("lakehouse", "compute"))]
        storage = self.lakehouse.iceberg.storage
        refs.extend(
            Reference(
                "instance-secret",
                secret.name,
                None,
                ("lakehouse", "iceberg", "storage", "secrets", index, "name"),
            )
            for index, secret in enumerate(storage.secrets or [])
        )
        return refs

    def problems(self) -> list[Problem]:
        iceberg = self.lakehouse.iceberg
        storage = iceberg.storage
        at = ("lakehouse", "iceberg", "storage")
        problems = [
            Problem((*at, key), f"'{key}' does not apply to storage of type {storage.type}")
            for key in ("s3", "gcs", "abfss", "wasbs")
            if key != storage.type and getattr(storage, key) is not None
        ]
        if getattr(storage, storage.type) is None:
            problems.append(
                Problem(
                    (*at, "type"), f"storage type {storage.type} needs 'storage.{storage.type}'"
                )
            )
        engine = iceberg.queryEngine
        if engine is not None:
            other = "minerva" if engine.type == "themis" else "themis"
            if getattr(engine, other) is not None:
                problems.append(
                    Problem(
                        ("lakehouse", "iceberg", "queryEngine", other),
                        f"'{other}' does not apply to a {engine.type} query engine",
                    )
                )
        return problems
