"""Shared parts of the scanner tests: a PostgreSQL depot (inline read credentials with a
password that must show nowhere), its source schema, a scanner workflow over it and the
platform they run on (:func:`postgres_platform`).

Imported as ``from scanner_support import ...`` (pytest puts this folder on ``sys.path``).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dataos_defs.poros.identities import Identities
from dataos_defs.poros.settings import Settings
from tests.conftest import socket_conninfo
from tests.dagster.governance_support import World, access
from tests.metis.metis_helpers import interfaces
from tests.metis.sdk_support import require_metis_python

PASSWORD = "scan-pw-7c4e-never-shown"
SHOP = """
CREATE SCHEMA shop;
CREATE TABLE shop.customers (id integer PRIMARY KEY, email text NOT NULL);
CREATE TABLE shop.orders (id bigint PRIMARY KEY, customer_id integer, amount numeric(10, 2));
CREATE TABLE public.ignored (id integer);
"""
DEPOT = """
name: shopdb
version: v1
type: depot
depot:
  type: POSTGRESQL
  external: true
  connectionSecret:
    - acl: r
      type: key-value-properties
      data: {{username: {user}, password: {password}}}
  spec: {{host: "{host}", port: 5432, database: {database}}}
"""
SCAN = """
name: scan-shopdb
version: v1
type: workflow
workflow:
  dag:
    - name: scan
      spec:
        stack: scanner:2.0
        compute: runnable-default
        stackSpec:
          depot: dataos://shopdb
          sourceConfig:
            config:
              schemaFilterPattern: {includes: ["^shop$"]}
              markDeletedTables: true
              includeViews: true
"""


@contextmanager
def postgres_platform(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch, source_sql: str = SHOP
) -> Iterator[tuple[World, Any, str]]:
    """A real API server (Metis) on a fresh home, the source schema in a real PostgreSQL,
    the depot ``shopdb`` over it and an application user ``scan-bot`` allowed to read it:
    the world, the server and the database's name."""
    require_metis_python()
    helpers = interfaces()
    home = tmp_path / "home"
    home.mkdir()
    server = helpers.start_server(home)
    try:
        for name in ("DATAOS_DATABASE_URL", "DATAOS_EXECUTORS", "DATAOS_POLICIES_ROOT"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("DATAOS_HOME", str(home))
        monkeypatch.setenv("DATAOS_API_URL", server.url)
        socket_dir, conninfo = socket_conninfo(postgres_url)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(source_sql)
        settings = dict(part.split("=", 1) for part in conninfo.split())
        world = World(home, Settings.from_env({"DATAOS_HOME": str(home)}))
        with world.store() as store:
            Identities(store).create_user("scan-bot", "application")
        depot = DEPOT.format(
            user=settings["user"], password=PASSWORD, host=socket_dir, database=settings["dbname"]
        )
        world.apply(textwrap.dedent(depot))
        world.apply(access("scan-bot-reads", "[users:id:scan-bot]", "read", "dataos://shopdb:**"))
        yield world, server, settings["dbname"]
    finally:
        helpers.stop_server(server)
