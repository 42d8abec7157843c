"""Alembic environment of Metis: migrations run only through ``dataos_defs.metis.db.upgrade``.

Metis keeps its own history (version table ``alembic_version_metis``) in the same store as
Poros, so either can migrate without the other. The caller hands over a connection inside
the store's write transaction; there is no offline (``--sql``) mode.
"""

from __future__ import annotations

from alembic import context

from dataos_defs.metis.schema import VERSION_TABLE, metadata
from dataos_defs.poros.own_histories import run_migrations

run_migrations(context, metadata, VERSION_TABLE, "metis_")
