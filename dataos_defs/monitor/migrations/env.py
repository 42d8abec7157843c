"""Alembic environment of the monitors: run only through ``dataos_defs.monitor.db.upgrade``.

The monitors keep their own history (version table ``alembic_version_monitor``) in the same
store as Poros and Metis, so each migrates without the others. The caller hands over a
connection inside the store's write transaction; there is no offline (``--sql``) mode.
"""

from __future__ import annotations

from alembic import context

from dataos_defs.monitor.schema import TABLE_PREFIX, VERSION_TABLE, metadata
from dataos_defs.poros.own_histories import run_migrations

run_migrations(context, metadata, VERSION_TABLE, TABLE_PREFIX)
