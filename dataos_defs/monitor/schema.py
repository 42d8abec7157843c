"""The Monitor service's tables in the platform's store, beside Poros' and Metis'.

The migrations in ``migrations/versions`` create exactly these (a test compares them), with
their own alembic version table, so monitors never change another service's tables.

* ``monitor_incidents``: one row per incident. A firing monitor opens one; while its
  condition keeps holding the same row is updated (``last_seen``, ``occurrences``); when
  the condition clears it is ``resolved`` (``resolved_at``). Times are epoch milliseconds.
* ``monitor_states``: one row per monitor: since when its condition holds (what "failed for
  more than 10m" is measured from), its last evaluation and the reason of its last error.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from dataos_defs.poros.own_histories import NAMING_CONVENTION

VERSION_TABLE = "alembic_version_monitor"
TABLE_PREFIX = "monitor_"

metadata = MetaData(naming_convention=NAMING_CONVENTION)

incidents = Table(
    "monitor_incidents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("workspace", String(255), nullable=False),
    Column("monitor", String(255), nullable=False),
    Column("name", Text, nullable=False),
    Column("severity", String(64), nullable=True),
    Column("incident_type", String(255), nullable=True),
    Column("context", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("first_seen", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
    Column("resolved_at", BigInteger, nullable=True),
    Column("occurrences", Integer, nullable=False),
    Index(None, "workspace", "monitor", "state"),
    Index(None, "state", "resolved_at"),
)

states = Table(
    "monitor_states",
    metadata,
    Column("workspace", String(255), nullable=False),
    Column("monitor", String(255), nullable=False),
    Column("holding_since", BigInteger, nullable=True),
    Column("evaluated_at", BigInteger, nullable=True),
    Column("outcome", String(16), nullable=True),
    Column("error", Text, nullable=True),
    PrimaryKeyConstraint("workspace", "monitor"),
)
