"""The Monitor service's schema in the store: its own alembic history, migrated under the
store's write lock (the lock Poros and Metis migrate under, so first starts never race)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from dataos_defs.monitor.schema import VERSION_TABLE
from dataos_defs.poros import own_histories

MIGRATIONS = Path(__file__).parent / "migrations"


def upgrade(engine: Engine) -> None:
    """``alembic upgrade head`` of the monitors' history; nothing when it is current."""
    own_histories.upgrade(engine, MIGRATIONS, VERSION_TABLE)
