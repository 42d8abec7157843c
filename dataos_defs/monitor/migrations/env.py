"""Alembic environment of the monitors: run only through ``dataos_defs.monitor.db.upgrade``.

The monitors keep their own history (version table ``alembic_version_monitor``) in the same
store as Poros and Metis, so each migrates without the others. The caller hands over a
connection inside the store's write transaction; there is no offline (``--sql``) mode.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from dataos_defs.monitor.schema import TABLE_PREFIX, VERSION_TABLE, metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run the monitors' migrations through dataos_defs.monitor.db.upgrade()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    include_name=lambda name, kind, _parent: kind != "table" or str(name).startswith(TABLE_PREFIX),
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
