"""Connector blocks of Flare inputs and outputs that address data without a depot.

Older (standalone) manifests describe the source or sink inline, e.g. ``inputType: bigquery``
with a ``bigquery:`` block, instead of a ``dataset`` address.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field

from dataos_defs.manifest.base import StrictModel
from dataos_defs.manifest.stacks._fields import OpenMap, Text

ConnectorName = Literal[
    "file",
    "bigquery",
    "jdbc",
    "kafka",
    "pulsar",
    "eventhub",
    "elasticsearch",
    "opensearch",
    "redshift",
    "snowflake",
]
CONNECTORS: tuple[str, ...] = get_args(ConnectorName)


class FileConnector(StrictModel):
    path: str | None = None
    format: str | None = None
    isStream: bool | None = None
    schemaName: str | None = None
    tableName: str | None = None
    warehousePath: str | None = None
    options: OpenMap | None = None


class BigQueryConnector(StrictModel):
    table: str
    dataset: str
    projected: str | None = Field(default=None, description="The project id (docs' spelling)")
    projectId: str | None = None
    options: OpenMap | None = None


class JdbcConnector(StrictModel):
    url: str
    table: str
    username: str | None = None
    password: str | None = None
    driver: str | None = None
    options: OpenMap | None = None


class KafkaConnector(StrictModel):
    brokers: list[str] | str
    topic: str
    schemaRegistryUrl: str | None = None
    isBatch: bool | None = None
    options: OpenMap | None = None


class PulsarConnector(StrictModel):
    serviceUrl: str
    adminUrl: str | None = None
    tenant: str | None = None
    namespace: str | None = None
    topic: str
    isBatch: bool | None = None
    options: OpenMap | None = None


class EventHubConnector(StrictModel):
    endpoint: str
    eventhubName: str
    sasKeyName: str | None = None
    sasKey: str | None = None
    options: OpenMap | None = None


class SearchConnector(StrictModel):
    """Elasticsearch and OpenSearch."""

    nodes: Text
    index: str
    username: str | None = None
    password: str | None = None
    options: OpenMap | None = None


class RedshiftConnector(StrictModel):
    jdbcUrl: str
    dbTable: str
    tempDir: str | None = None
    username: str | None = None
    password: str | None = None
    options: OpenMap | None = None


class SnowflakeConnector(StrictModel):
    url: str
    database: str
    schema_: str = Field(alias="schema")
    table: str
    user: str | None = None
    password: str | None = None
    warehouse: str | None = None
    snowflakeWarehouse: str | None = None
    options: OpenMap | None = None


class Connectors(StrictModel):
    """Mixed into inputs and outputs: at most one connector block, matching the type given."""

    file: FileConnector | None = None
    bigquery: BigQueryConnector | None = None
    jdbc: JdbcConnector | None = None
    kafka: KafkaConnector | None = None
    pulsar: PulsarConnector | None = None
    eventhub: EventHubConnector | None = None
    elasticsearch: SearchConnector | None = None
    opensearch: SearchConnector | None = None
    redshift: RedshiftConnector | None = None
    snowflake: SnowflakeConnector | None = None

    @property
    def connector_names(self) -> list[str]:
        return [name for name in CONNECTORS if getattr(self, name) is not None]
