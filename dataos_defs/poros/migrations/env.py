"""Alembic environment: migrations run only through ``dataos_defs.poros.db.upgrade``.

The caller hands over a connection inside a write transaction (so two processes opening the
same store never migrate at once); there is no offline (``--sql``) mode.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from dataos_defs.poros.tables import Base

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run Poros migrations through dataos_defs.poros.db.upgrade()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
