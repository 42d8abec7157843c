"""The ``shop`` fixture: the example's PostgreSQL data in a fresh database of the session's
server, its CSV landing folder and a lakehouse under tmp, with a resolver over its depots."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from flare_support import (
    PASSWORD,
    PRODUCTS_CSV,
    SCHEMA_SQL,
    Resolver,
    Shop,
    example_depots,
)
from sqlalchemy.engine import make_url

from dataos_defs.manifest.depot import Depot
from tests.conftest import socket_conninfo


@pytest.fixture
def shop(fresh_postgres_url: str, tmp_path: Path) -> Iterator[Shop]:
    url = make_url(fresh_postgres_url)
    socket_dir, conninfo = socket_conninfo(fresh_postgres_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SCHEMA_SQL)
    home = tmp_path / "home"
    landing = home / "data" / "landing"
    landing.mkdir(parents=True)
    (landing / "products.csv").write_text(PRODUCTS_CSV)
    docs = example_depots()
    pg = docs["shoppg"]["depot"]["postgresql"]
    pg.update(host=socket_dir, port=5432, database=url.database)
    depots = {name: Depot.model_validate(doc) for name, doc in docs.items()}
    secrets = {
        ("shoppg", acl): {"username": str(url.username), "password": PASSWORD}
        for acl in ("r", "rw")
    }
    yield Shop(Resolver(depots, secrets), home, tmp_path / "state", conninfo)
