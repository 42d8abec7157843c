"""Where a depot's data lives, as comparable places (pure: no I/O).

Two depots reaching the same storage (the same folder or object-store prefix, the same
database, the same Trino catalog) govern the same data, and so do two whose places nest (a
sub-folder, a longer prefix, one database of a server another depot reaches whole). Every
connection model maps to places: a namespace and a tuple of parts, where a place contains
every place whose parts it prefixes.

Normalization is conservative: in doubt, places compare as overlapping. Host names fold
case and every loopback spelling (``localhost``, ``127.0.0.1``, ``::1``, a unix socket
folder) folds to ``localhost``; a missing database or an unknown port widens the place to
the whole server; connection parameters that choose another server or database (libpq's
``host``, ``hostaddr``, ``dbname``, ...) add places, and the ones that hide it (``service``)
widen the place to every database. An overlap only asks for the other depot's rights; a
missed one would give its data away.

Local folders are not resolved here (that needs the file system, ``adapters.localfs``):
they come back as :class:`LocalPath` with the text the manifest wrote. Path texts using a
scheme no platform reader confines (``local://``, fsspec chains ``a::b``, ...) come back as
problems.

>>> from dataos_defs.manifest.depot_types import FileConnection, PostgresConnection
>>> [str(p) for p in connection_places(FileConnection(path="s3a://Shop//land/./csv/"), ())[0]]
['s3://shop/land/csv']
>>> conn = PostgresConnection(host="127.0.0.1", database="shop", params={"dbname": "hr"})
>>> [str(p) for p in connection_places(conn, ())[0]]
['db://localhost:5432/shop', 'db://localhost:5432/hr']
>>> a = connection_places(FileConnection(path="gs://b/x/y"), ())[0][0]
>>> b = connection_places(FileConnection(path="gs://B/x"), ())[0][0]
>>> a.relation(b), b.relation(a), a.relation(a)
('is inside', 'contains', 'is the same as')
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from dataos_defs.manifest import depot_types as t
from dataos_defs.manifest.base import Problem, Scalar
from dataos_defs.manifest.depot import DepotSection
from dataos_defs.manifest.source import KeyPath

REMOTE_SCHEMES: dict[str, str] = {
    "s3": "s3", "s3a": "s3", "s3n": "s3", "gs": "gs", "gcs": "gs",
    "abfs": "azure", "abfss": "azure", "az": "azure", "wasb": "azure", "wasbs": "azure",
    "memory": "memory",
}  # fmt: skip
"""Object-store schemes a depot path may use, and the namespace each belongs to (``memory``
is fsspec's in-process store: nothing on disk)."""

PathKind = Literal["local", "remote", "unsupported"]
Role = Literal["path", "warehouse", "catalog"]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_SQLITE = re.compile(r"^sqlite(?:\+\w+)?://(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)
_DEFAULT_PORTS = {
    "postgresql": 5432, "postgres": 5432, "mysql": 3306, "mariadb": 3306,
    "sqlserver": 1433, "mssql": 1433, "oracle": 1521, "redshift": 5439,
}  # fmt: skip
_HOST_KEYS = frozenset({"host", "hostaddr", "pghost", "server", "servername"})
_PORT_KEYS = frozenset({"port", "pgport", "portnumber"})
_DATABASE_KEYS = frozenset({"dbname", "database", "pgdbname", "databasename"})
_HIDING_KEYS = frozenset({"service", "servicefile", "url", "connectionurl", "dsn"})
"""Connection parameters that name the server some other way: the place is then every
database."""


@dataclass(frozen=True)
class Place:
    """A namespace (``local``, ``s3``, ``db``, ...) and parts, outermost first."""

    namespace: str
    parts: tuple[str, ...]
    shown: str = field(default="", compare=False)
    where: KeyPath = field(default=(), compare=False)

    def __str__(self) -> str:
        return self.shown or f"{self.namespace}://{'/'.join(self.parts)}"

    def relation(self, other: Place) -> str | None:
        """How this place sits against ``other``; None when they do not overlap."""
        if self.namespace != other.namespace:
            return None
        common = min(len(self.parts), len(other.parts))
        if self.parts[:common] != other.parts[:common]:
            return None
        if len(self.parts) == len(other.parts):
            return "is the same as"
        return "is inside" if len(self.parts) > len(other.parts) else "contains"


@dataclass(frozen=True)
class LocalPath:
    """A local folder (or SQLite catalog file) as written; relative texts are under
    ``DATAOS_HOME``."""

    text: str
    where: KeyPath
    role: Role


@dataclass(frozen=True)
class Locations:
    places: tuple[Place, ...] = ()
    local: tuple[LocalPath, ...] = ()
    problems: tuple[Problem, ...] = ()


def path_kind(text: str) -> PathKind:
    """How a depot path or warehouse is reached: a local path (``file://`` allowed), an
    object store, or a scheme no reader confines (refused).

    >>> texts = ["data/x", "file:///srv/x", "s3a://b/p", "local:///etc", "a::file:///x"]
    >>> [path_kind(t) for t in texts]
    ['local', 'local', 'remote', 'unsupported', 'unsupported']
    """
    match = _SCHEME.match(text)
    if match is None:
        return "unsupported" if "://" in text else "local"
    scheme = match.group(1).lower()
    rest = text[match.end() :]
    if "://" in rest or "::" in text:
        return "unsupported"
    if scheme == "file":
        return "local"
    return "remote" if scheme in REMOTE_SCHEMES else "unsupported"


def local_text(text: str) -> str:
    """A local path text without its ``file://`` prefix.

    >>> local_text("file:///srv/data"), local_text("FILE://data"), local_text("data")
    ('/srv/data', 'data', 'data')
    """
    return text[7:] if text[:7].lower() == "file://" else text


def sqlite_file(uri: str) -> str | None:
    """The file of a SQLite catalog URI (relative: under ``DATAOS_HOME``), ``""`` for an
    in-memory database, None for other URIs; ValueError for forms that could open another
    file (query parameters, a host part).

    >>> sqlite_file("sqlite:///cat.db"), sqlite_file("sqlite:////srv/cat.db"), sqlite_file("sqlite://")
    ('cat.db', '/srv/cat.db', '')
    >>> sqlite_file("postgresql://h/db") is None
    True
    """
    match = _SQLITE.match(uri)
    if match is None:
        return None
    rest = match.group("rest")
    if not rest:
        return ""
    if not rest.startswith("/") or "?" in rest:
        raise ValueError("write a SQLite catalog as sqlite:///relative.db or sqlite:////abs.db")
    return rest[1:]


def depot_locations(section: DepotSection) -> Locations:
    """Every place a depot reaches, its local paths, and its refused path texts."""
    blocks = section.blocks()
    if not blocks:
        return Locations(places=(Place(section.type.lower(), ()),))
    key, conn = next(iter(blocks.items()))
    places, local, problems = connection_places(conn, ("depot", key))
    return Locations(tuple(places), tuple(local), tuple(problems))


def connection_places(
    conn: t.Connection, at: KeyPath
) -> tuple[list[Place], list[LocalPath], list[Problem]]:
    """The places of one connection model; ``at`` is where its section was written."""
    if isinstance(conn, t.FileConnection):
        return _path(conn.path, (*at, "path"), "path")
    if isinstance(conn, t.LakehouseConnection):
        return _lakehouse(conn, at)
    if isinstance(conn, t.S3Connection):
        return [_bucket("s3", conn.bucket, conn.relativePath, at)], [], []
    if isinstance(conn, t.GcsConnection):
        return [_bucket("gs", conn.bucket, conn.relativePath, at)], [], []
    if isinstance(conn, t.AzureConnection):
        parts = (conn.account.lower(), conn.container.lower(), *_segments(conn.relativePath))
        return [Place("azure", parts, where=at)], [], []
    return _service_places(conn, at), [], []


def _service_places(conn: t.Connection, at: KeyPath) -> list[Place]:
    """Places of databases, query engines, brokers and search clusters."""
    if isinstance(conn, t.RedshiftConnection):
        found = _server("db", [conn.host], conn.port or 5439, [conn.database], at)
        if conn.bucket:
            found.append(_bucket("s3", conn.bucket, conn.relativePath, at))
        return found
    if isinstance(conn, t.OracleConnection):
        names = [conn.service or conn.database]
        return _database(conn.host, conn.port, names, conn.params, "oracle", at)
    if isinstance(
        conn, t.JdbcConnection | t.PostgresConnection | t.MysqlConnection | t.MssqlConnection
    ):
        family = conn.subprotocol.split(":")[0].lower()
        return _database(conn.host, conn.port, [conn.database], conn.params, family, at)
    if isinstance(conn, t.TrinoConnection):
        return _server("trino", [conn.host], conn.port, [conn.catalog.lower()], at)
    if isinstance(conn, t.SnowflakeConnection):
        return _nodes("snowflake", [conn.url], None, at, [conn.database.lower()])
    if isinstance(conn, t.BigqueryConnection):
        parts = (conn.project.lower(),) if conn.project else ()
        return [Place("bigquery", parts, where=at)]
    if isinstance(conn, t.KafkaConnection):
        return _nodes("kafka", conn.brokers, 9092, at)
    if isinstance(conn, t.PulsarConnection):
        tenant = [conn.tenant] if conn.tenant else []
        return _nodes("pulsar", [conn.serviceUrl, conn.adminUrl], None, at, tenant)
    if isinstance(conn, t.EventhubConnection):
        return _nodes("eventhub", [conn.endpoint], None, at)
    if isinstance(conn, t.MongodbConnection):
        return _nodes("mongodb", conn.nodes, 27017, at)
    if isinstance(conn, t.SearchConnection):
        return _nodes("search", conn.nodes, 9200, at)
    return [Place(type(conn).__name__.lower(), (), where=at)]


def _path(
    text: str, where: KeyPath, role: Role
) -> tuple[list[Place], list[LocalPath], list[Problem]]:
    kind = path_kind(text)
    if kind == "local":
        return [], [LocalPath(text, where, role)], []
    if kind == "remote":
        return [_object_store(text, where)], [], []
    schemes = ", ".join(f"{s}://" for s in sorted(REMOTE_SCHEMES))
    problem = Problem(
        where,
        f"'{text}' uses a scheme no platform reader confines",
        f"write a folder (relative to DATAOS_HOME, or file:///absolute) or one of {schemes}",
    )
    return [], [], [problem]


def _lakehouse(
    conn: t.LakehouseConnection, at: KeyPath
) -> tuple[list[Place], list[LocalPath], list[Problem]]:
    places, local, problems = _path(conn.warehouse, (*at, "warehouse"), "warehouse")
    if conn.uri is None:
        return places, local, problems
    where = (*at, "uri")
    try:
        file = sqlite_file(conn.uri)
    except ValueError as exc:
        problems.append(Problem(where, "unsupported SQLite catalog URI", str(exc)))
        return places, local, problems
    if file is None:
        places.extend(_uri_places(conn.uri, where))
    elif file:
        local.append(LocalPath(file, where, "catalog"))
    return places, local, problems


def _uri_places(uri: str, where: KeyPath) -> list[Place]:
    """A catalog URI's server (never its user or password)."""
    parts = urlsplit(uri)
    family = parts.scheme.split("+")[0].lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if family in _DEFAULT_PORTS:
        query = {k.lower(): v for k, v in parse_qs(parts.query).items()}
        hosts = [parts.hostname or "localhost", *query.get("host", [])]
        database = parts.path.strip("/") or None
        return _server("db", hosts, port or _DEFAULT_PORTS[family], [database], where)
    if family in ("http", "https"):
        default = 443 if family == "https" else 80
        rest = list(_segments(parts.path))
        return _server("rest", [parts.hostname or ""], port or default, rest, where)
    return _server(f"uri-{family or 'unknown'}", [parts.hostname or ""], port, [], where)


def _object_store(text: str, where: KeyPath) -> Place:
    scheme, _, rest = text.partition("://")
    namespace = REMOTE_SCHEMES[scheme.lower()]
    authority, _, path = rest.partition("/")
    if namespace == "azure":
        container, at, host = authority.partition("@")
        if not at or not container or not host:
            return Place("azure", (), "every Azure account (the account is configured)", where)
        parts: tuple[str, ...] = (host.split(".")[0].lower(), container.lower())
        return Place("azure", (*parts, *_segments(path)), where=where)
    return _bucket(namespace, authority, path, where)


def _bucket(namespace: str, bucket: str, prefix: str | None, where: KeyPath) -> Place:
    if not bucket:
        return Place(namespace, (), f"every {namespace} bucket", where)
    return Place(namespace, (bucket.lower(), *_segments(prefix)), where=where)


def _segments(path: str | None) -> tuple[str, ...]:
    """Path segments with ``//``, ``.`` and ``..`` folded (never above the bucket)."""
    if not path:
        return ()
    return tuple(s for s in posixpath.normpath("/" + path).split("/") if s)


def _database(
    host: str,
    port: int | None,
    databases: list[str | None],
    params: Mapping[str, Scalar] | None,
    family: str,
    at: KeyPath,
) -> list[Place]:
    given = {k.lower(): str(v) for k, v in (params or {}).items() if v is not None}
    if _HIDING_KEYS & given.keys():
        key = sorted(_HIDING_KEYS & given.keys())[0]
        return [Place("db", (), f"every database (params.{key} names the server)", at)]
    hosts = [host, *(given[k] for k in sorted(_HOST_KEYS & given.keys()))]
    ports: list[int | None] = [port]
    for key in sorted(_PORT_KEYS & given.keys()):
        ports.extend(int(p) if p.isdigit() else None for p in given[key].split(","))
    names = [*databases, *(given[k] for k in sorted(_DATABASE_KEYS & given.keys()))]
    if any(n is not None and ("=" in n or "://" in n) for n in names):
        return [Place("db", (), "every database (a connection string as database name)", at)]
    default = _DEFAULT_PORTS.get(family)
    found: list[Place] = []
    for number in ports:
        found.extend(_server("db", hosts, number or default, names, at))
    return list(dict.fromkeys(found))


def _server(
    namespace: str,
    hosts: Iterable[str],
    port: int | None,
    rest: Sequence[str | None],
    at: KeyPath,
) -> list[Place]:
    """One place per host (``a,b`` lists two) and per name in ``rest``; a None name (or
    none at all) widens the place to the whole server."""
    found: list[Place] = []
    for spelled in hosts:
        for host in (h for h in spelled.split(",") if h.strip()):
            base = (_host(host), str(port)) if port else (_host(host),)
            shown = ":".join(base)
            names = [n for n in rest if n is not None] if None not in rest else []
            if not names:
                found.append(Place(namespace, base, f"{namespace}://{shown}", at))
            for name in names:
                found.append(Place(namespace, (*base, name), f"{namespace}://{shown}/{name}", at))
    return list(dict.fromkeys(found))


def _nodes(
    namespace: str,
    nodes: Iterable[str],
    default: int | None,
    at: KeyPath,
    rest: Sequence[str] = (),
) -> list[Place]:
    """Places of ``host[:port]`` nodes or URLs (a node without a port gets ``default``)."""
    found: list[Place] = []
    for node in nodes:
        host, port = _host_port(_url_host(node))
        found.extend(_server(namespace, [host], port or default, rest, at))
    return list(dict.fromkeys(found))


def _url_host(text: str) -> str:
    """``host[:port]`` of a URL or of a bare ``host[:port]/path``."""
    stripped = text.split("://", 1)[-1]
    return stripped.split("/", 1)[0].rsplit("@", 1)[-1]


def _host_port(text: str) -> tuple[str, int | None]:
    host, colon, port = text.rpartition(":")
    if colon and port.isdigit() and (not host.count(":") or host.endswith("]")):
        return host, int(port)
    return text, None


def _host(text: str) -> str:
    """A comparable host name: case-folded, loopback spellings and socket folders as
    ``localhost``."""
    host = text.strip().lower().strip("[]").rstrip(".")
    if host.startswith(("/", "@")) or host in ("localhost", "::1", "::", "0.0.0.0"):
        return "localhost"
    if host.startswith("127.") or host.endswith(".localhost"):
        return "localhost"
    return host
