"""Metis' tables in the platform's store, beside Poros' and independent of them.

The migrations in ``migrations/versions`` create exactly these (a test compares them), with
their own alembic version table, so Metis never changes Poros' tables nor its history.

* ``metis_entities``: one row per entity of any type, its current version. ``fqn_digest``
  (SHA-256 of the FQN) carries the uniqueness of ``(entity_type, fqn)``: FQNs can be longer
  than an index entry may be on PostgreSQL. ``body`` is the entity as answered, with source
  credentials replaced by a marker; their values are sealed in ``secret_ciphertext``.
* ``metis_entity_versions``: every previous version of an entity, as it was.
* ``metis_lineage_edges``: one edge per (from, to) pair, with its pipeline and details.
* ``metis_pipeline_status``: a pipeline's runs, one row per run timestamp.
* ``metis_search_docs`` and ``metis_search_facets``: what search knows of each entity
  (``dataos_defs.metis.search_docs``); the full-text index beside them depends on the
  database (``metis_search_fts``: an FTS5 table on SQLite, a ``tsvector`` table with a GIN
  index on PostgreSQL), so it is created by the migration and not declared here.
* ``metis_column_tags`` and ``metis_markers``: the tags set on the columns of tables, by
  dataset id, and a generation moved by every change of them (``dataos_defs.metis.tag_index``:
  what the Gateway and Heimdall read to mask).
* ``metis_table_profiles``: the profiles the profiler reports for a table (its own metrics,
  its columns' and its system metrics), one row per profile timestamp, the newest
  ``profiles.MAX_PROFILES`` kept (``dataos_defs.metis.profiles``). Kept out of the entity's
  body, so versions, search and patches never carry a profile's values.
* ``metis_usage``: how often an entity was used per day and its percentile ranks among
  entities of its type (``dataos_defs.metis.usage``), the newest ``usage.MAX_DAYS`` days kept.
* ``metis_table_joins``: the columns a table was last reported joined with.
* ``metis_query_costs``: a query's cost records (count, cost, duration) by timestamp.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from dataos_defs.poros.own_histories import NAMING_CONVENTION

VERSION_TABLE = "alembic_version_metis"

metadata = MetaData(naming_convention=NAMING_CONVENTION)

entities = Table(
    "metis_entities",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("entity_type", String(64), nullable=False),
    Column("fqn", Text, nullable=False),
    Column("fqn_digest", String(64), nullable=False),
    Column("name", Text, nullable=False),
    Column("service", Text, nullable=True),
    Column("parent_fqn", Text, nullable=True),
    Column("body", JSON, nullable=False),
    Column("secret_ciphertext", Text, nullable=True),
    Column("version_tenths", Integer, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("updated_by", String(255), nullable=False),
    Column("deleted", Boolean, nullable=False),
    UniqueConstraint("entity_type", "fqn_digest"),
    Index(None, "entity_type", "service"),
    Index(None, "entity_type", "parent_fqn"),
)

entity_versions = Table(
    "metis_entity_versions",
    metadata,
    Column("entity_id", String(36), nullable=False),
    Column("version_tenths", Integer, nullable=False),
    Column("body", JSON, nullable=False),
    Column("secret_ciphertext", Text, nullable=True),
    Column("updated_at", BigInteger, nullable=False),
    Column("updated_by", String(255), nullable=False),
    Column("deleted", Boolean, nullable=False),
    PrimaryKeyConstraint("entity_id", "version_tenths"),
)

lineage_edges = Table(
    "metis_lineage_edges",
    metadata,
    Column("from_id", String(36), nullable=False),
    Column("to_id", String(36), nullable=False),
    Column("from_type", String(64), nullable=False),
    Column("to_type", String(64), nullable=False),
    Column("pipeline_id", String(36), nullable=True),
    Column("pipeline_type", String(64), nullable=True),
    Column("details", JSON, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("updated_by", String(255), nullable=False),
    PrimaryKeyConstraint("from_id", "to_id"),
    Index(None, "to_id"),
)

pipeline_status = Table(
    "metis_pipeline_status",
    metadata,
    Column("pipeline_id", String(36), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("body", JSON, nullable=False),
    PrimaryKeyConstraint("pipeline_id", "timestamp"),
)

search_docs = Table(
    "metis_search_docs",
    metadata,
    Column("entity_id", String(36), primary_key=True),
    Column("entity_type", String(64), nullable=False),
    Column("fqn", Text, nullable=False),
    Column("deleted", Boolean, nullable=False),
    Index(None, "entity_type", "deleted"),
)

search_facets = Table(
    "metis_search_facets",
    metadata,
    Column("entity_id", String(36), nullable=False),
    Column("facet", String(16), nullable=False),
    Column("value", String(512), nullable=False),
    PrimaryKeyConstraint("entity_id", "facet", "value"),
    Index(None, "facet", "value"),
)

column_tags = Table(
    "metis_column_tags",
    metadata,
    Column("entity_id", String(36), nullable=False),
    Column("column_name", Text, nullable=False),
    Column("dataset", Text, nullable=False),
    Column("tags", JSON, nullable=False),
    PrimaryKeyConstraint("entity_id", "column_name"),
    Index(None, "dataset"),
)

markers = Table(
    "metis_markers",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("generation", BigInteger, nullable=False),
)

table_profiles = Table(
    "metis_table_profiles",
    metadata,
    Column("entity_id", String(36), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("table_profile", JSON, nullable=False),
    Column("column_profiles", JSON, nullable=False),
    Column("system_profiles", JSON, nullable=False),
    PrimaryKeyConstraint("entity_id", "timestamp"),
)

usage = Table(
    "metis_usage",
    metadata,
    Column("entity_id", String(36), nullable=False),
    Column("entity_type", String(64), nullable=False),
    Column("day", String(10), nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("daily_rank", Float, nullable=True),
    Column("weekly_rank", Float, nullable=True),
    Column("monthly_rank", Float, nullable=True),
    PrimaryKeyConstraint("entity_id", "day"),
    Index(None, "entity_type", "day"),
)

table_joins = Table(
    "metis_table_joins",
    metadata,
    Column("entity_id", String(36), primary_key=True),
    Column("body", JSON, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

query_costs = Table(
    "metis_query_costs",
    metadata,
    Column("query_id", String(36), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("cost", Float, nullable=False),
    Column("count", Float, nullable=False),
    Column("total_duration", Float, nullable=True),
    PrimaryKeyConstraint("query_id", "timestamp"),
)
