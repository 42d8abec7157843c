"""Alembic environment of Metis: migrations run only through ``dataos_defs.metis.db.upgrade``.

Metis keeps its own history (version table ``alembic_version_metis``) in the same store as
Poros, so either can migrate without the other. The caller hands over a connection inside
the store's write transaction; there is no offline (``--sql``) mode.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from dataos_defs.metis.schema import VERSION_TABLE, metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run Metis migrations through dataos_defs.metis.db.upgrade()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    include_name=lambda name, kind, _parent: kind != "table" or str(name).startswith("metis_"),
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
