"""The Monitor service's schema in the store: its own alembic history, migrated under the
store's write lock (the lock Poros and Metis migrate under, so first starts never race)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from dataos_defs.monitor.schema import VERSION_TABLE
from dataos_defs.poros.db import write_transaction

MIGRATIONS = Path(__file__).parent / "migrations"


def upgrade(engine: Engine) -> None:
    """``alembic upgrade head`` of the monitors' history; nothing when it is current."""
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    with write_transaction(engine) as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        if context.get_current_revision() == head:
            return
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
