"""Services that keep their own tables in the store: Metis, Caretaker and the monitors.

Each has its own alembic history with its own version table and table-name prefix, so it
migrates without touching Poros' tables or the others' histories. Every history migrates
under the store's write lock (the one Poros migrates under), so first starts never race.
There is no offline (``--sql``) mode: the caller hands alembic a connection inside the write
transaction.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, MetaData

from dataos_defs.poros.db import write_transaction

# Constraint and index names every such service gives its tables' MetaData: deterministic
# names, so migrations written by hand and the schema compare equal on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}


def upgrade(engine: Engine, migrations: Path, version_table: str) -> None:
    """``alembic upgrade head`` of the history in ``migrations``; nothing when current."""
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(migrations))
    head = ScriptDirectory.from_config(config).get_current_head()
    with write_transaction(engine) as conn:
        context = MigrationContext.configure(conn, opts={"version_table": version_table})
        if context.get_current_revision() == head:
            return
        config.attributes["connection"] = conn
        command.upgrade(config, "head")


def run_migrations(context: Any, metadata: MetaData, version_table: str, prefix: str) -> None:
    """The body of a service's ``migrations/env.py``: its tables only (``prefix``), its
    version table, batch mode on SQLite; refused unless called through :func:`upgrade`."""
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError(
            f"run the migrations of {version_table} through dataos_defs.poros.own_histories"
        )
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=version_table,
        include_name=lambda name, kind, _parent: kind != "table" or str(name).startswith(prefix),
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
