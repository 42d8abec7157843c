"""Caretaker's tables in the store: its own alembic history and its own writer engine.

The API server migrates Caretaker's history at start-up (:func:`upgrade`, under the store's
write lock, like Poros and Metis). The recorder runs in the Dagster code location, which
opens the store for reading only, with a key that decrypts nothing. Caretaker's rows hold
no secret, so it writes through an engine of its own on the same URL
(:func:`writer_engine`): no vault, no access to anything but its ``caretaker_*`` tables in
its code, and it migrates (once per process) before its first write, so a code location
started before the API server records nothing into missing tables.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Engine

from dataos_defs.caretaker.schema import VERSION_TABLE
from dataos_defs.poros import own_histories
from dataos_defs.poros.db import make_engine

MIGRATIONS = Path(__file__).parent / "migrations"
_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def upgrade(engine: Engine) -> None:
    """``alembic upgrade head`` of Caretaker's history; nothing when it is current."""
    own_histories.upgrade(engine, MIGRATIONS, VERSION_TABLE)


def writer_engine(url: str) -> Engine:
    """This process's engine for Caretaker's writes on the store at ``url``, migrated on
    first use (one per URL and process: a sensor tick reuses it)."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = make_engine(url)
            upgrade(engine)
            _engines[url] = engine
        return engine
