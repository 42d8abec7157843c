"""Connection details of each Depot type, and which section key each type expects.

A Depot says *where* data lives. v1 manifests write the connection under ``depot.spec``;
v2alpha manifests write it under a key named after the type (``depot.postgresql``,
``depot.s3``, ...). Both are validated with the same model, chosen by ``depot.type``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from dataos_defs.manifest.base import Scalar, StrictModel
from dataos_defs.manifest.lenient import NumberText, either_case, lower, upper

_DepotTypes = Literal[
    "JDBC", "POSTGRESQL", "POSTGRES", "MYSQL", "MSSQL", "ORACLE", "REDSHIFT",
    "S3", "GCS", "ABFSS", "WASBS", "SNOWFLAKE", "BIGQUERY",
    "KAFKA", "PULSAR", "EVENTHUB", "MONGODB", "ELASTICSEARCH", "OPENSEARCH",
    "FILE", "LAKEHOUSE", "ICEBERG", "TRINO",
]  # fmt: skip
_TableFormats = Literal["ICEBERG", "DELTA", "PARQUET", "CSV", "JSON"]
_FileFormats = Literal["csv", "parquet", "json"]

DepotType = Annotated[
    _DepotTypes, BeforeValidator(upper, json_schema_input_type=either_case(_DepotTypes))
]
TableFormat = Annotated[
    _TableFormats, BeforeValidator(upper, json_schema_input_type=either_case(_TableFormats))
]
FileFormat = Annotated[
    _FileFormats, BeforeValidator(lower, json_schema_input_type=either_case(_FileFormats))
]
Port = Annotated[int, Field(ge=1, le=65535)]
Params = dict[str, Scalar]
NonEmpty = Annotated[str, Field(min_length=1)]


class Connection(StrictModel):
    """Where a depot's data lives; one subclass per depot type."""


class JdbcConnection(Connection):
    """A database reached through JDBC; ``subprotocol`` names the driver (postgresql, ...)."""

    subprotocol: NonEmpty
    host: NonEmpty
    port: Port | None = None
    database: NumberText | None = None
    params: Params | None = None


class PostgresConnection(Connection):
    subprotocol: Literal["postgresql", "postgres"] = "postgresql"
    host: NonEmpty
    port: Port | None = None
    database: NumberText | None = None
    params: Params | None = None


class MysqlConnection(Connection):
    subprotocol: Literal["mysql"] = "mysql"
    host: NonEmpty
    port: Port | None = None
    database: NumberText | None = None
    params: Params | None = None


class MssqlConnection(Connection):
    subprotocol: Literal["sqlserver"] = "sqlserver"
    host: NonEmpty
    port: Port | None = None
    database: NumberText | None = None
    params: Params | None = None


class OracleConnection(Connection):
    subprotocol: str = "oracle:thin"
    host: NonEmpty
    port: Port | None = None
    service: str | None = None
    database: NumberText | None = None
    params: Params | None = None


class RedshiftConnection(Connection):
    """Redshift is queried over JDBC and unloads through an S3 bucket."""

    subprotocol: str | None = None
    host: NonEmpty
    port: Port | None = None
    database: NumberText
    bucket: str | None = None
    relativePath: str | None = None


class _LakeStorage(Connection):
    """Fields object stores share when they hold Iceberg or Delta tables."""

    relativePath: str | None = None
    format: TableFormat | None = None
    icebergCatalogType: str | None = None
    metastoreType: str | None = None
    metastoreUrl: str | None = None


class S3Connection(_LakeStorage):
    scheme: Literal["s3", "s3a", "s3n"] = "s3a"
    bucket: NonEmpty
    region: str | None = None
    endpoint: str | None = None


class GcsConnection(_LakeStorage):
    bucket: NonEmpty


class AzureConnection(_LakeStorage):
    """ABFSS and WASBS: an Azure storage account and container."""

    account: NonEmpty
    container: NonEmpty
    endpointSuffix: str | None = None


class SnowflakeConnection(Connection):
    url: NonEmpty
    database: NonEmpty
    warehouse: NonEmpty
    account: str | None = None
    role: str | None = None
    schema_: str | None = Field(default=None, alias="schema")


class BigqueryConnection(Connection):
    project: str | None = None
    params: Params | None = None


class KafkaConnection(Connection):
    brokers: list[NonEmpty] = Field(min_length=1)
    schemaRegistryUrl: str | None = None


class PulsarConnection(Connection):
    adminUrl: NonEmpty
    serviceUrl: NonEmpty
    tenant: str | None = None


class EventhubConnection(Connection):
    endpoint: NonEmpty


class MongodbConnection(Connection):
    subprotocol: Literal["mongodb", "mongodb+srv"] = "mongodb"
    nodes: list[NonEmpty] = Field(min_length=1)
    params: Params | None = None


class SearchConnection(Connection):
    """Elasticsearch and OpenSearch: a list of ``host:port`` nodes."""

    nodes: list[NonEmpty] = Field(min_length=1)


class FileConnection(Connection):
    """Files under a local folder or an object-store prefix (``s3://``, ``gs://``, ...)."""

    path: NonEmpty
    format: FileFormat = "parquet"
    options: Params | None = Field(default=None, description="Reader options, e.g. header")


class LakehouseConnection(Connection):
    """An Iceberg lakehouse: a warehouse location and the catalog that tracks its tables."""

    warehouse: NonEmpty = Field(description="Folder or object-store URI of the table data")
    format: Annotated[
        Literal["ICEBERG"],
        BeforeValidator(upper, json_schema_input_type=Literal["ICEBERG", "iceberg"]),
    ] = "ICEBERG"
    catalog: str | None = Field(default=None, description="Catalog name; default the depot name")
    uri: str | None = Field(default=None, description="Catalog URI (REST endpoint or SQL URL)")
    properties: Params | None = None


class TrinoConnection(Connection):
    host: NonEmpty
    port: Port = 8080
    catalog: NonEmpty
    schema_: str | None = Field(default=None, alias="schema")
    scheme: Literal["http", "https"] = "http"
    user: str | None = None
    params: Params | None = None


@dataclass(frozen=True)
class DepotKind:
    """How one ``depot.type`` is written: its section key, model and accepted aliases."""

    key: str
    model: type[Connection]
    also: tuple[str, ...] = ()
    needs_connection: bool = True

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.key, *self.also)


_JDBC_FAMILY = ("postgresql", "postgres", "mysql", "mssql", "oracle")

DEPOT_KINDS: dict[str, DepotKind] = {
    "JDBC": DepotKind("jdbc", JdbcConnection, _JDBC_FAMILY),
    "POSTGRESQL": DepotKind("postgresql", PostgresConnection, ("postgres", "jdbc")),
    "POSTGRES": DepotKind("postgresql", PostgresConnection, ("postgres", "jdbc")),
    "MYSQL": DepotKind("mysql", MysqlConnection, ("jdbc",)),
    "MSSQL": DepotKind("mssql", MssqlConnection, ("jdbc",)),
    "ORACLE": DepotKind("oracle", OracleConnection, ("jdbc",)),
    "REDSHIFT": DepotKind("redshift", RedshiftConnection),
    "S3": DepotKind("s3", S3Connection),
    "GCS": DepotKind("gcs", GcsConnection),
    "ABFSS": DepotKind("abfss", AzureConnection),
    "WASBS": DepotKind("wasbs", AzureConnection),
    "SNOWFLAKE": DepotKind("snowflake", SnowflakeConnection),
    "BIGQUERY": DepotKind("bigquery", BigqueryConnection, needs_connection=False),
    "KAFKA": DepotKind("kafka", KafkaConnection),
    "PULSAR": DepotKind("pulsar", PulsarConnection),
    "EVENTHUB": DepotKind("eventhub", EventhubConnection),
    "MONGODB": DepotKind("mongodb", MongodbConnection),
    "ELASTICSEARCH": DepotKind("elasticsearch", SearchConnection),
    "OPENSEARCH": DepotKind("opensearch", SearchConnection),
    "FILE": DepotKind("file", FileConnection),
    "LAKEHOUSE": DepotKind("lakehouse", LakehouseConnection, ("iceberg",)),
    "ICEBERG": DepotKind("iceberg", LakehouseConnection, ("lakehouse",)),
    "TRINO": DepotKind("trino", TrinoConnection),
}

BLOCK_KEYS: tuple[str, ...] = tuple(
    sorted({key for kind in DEPOT_KINDS.values() for key in kind.keys})
)
