"""Trino catalog files for a ``minerva`` cluster, generated from its depots.

Each ``cluster.minerva.depots[].address`` becomes a catalog named after the depot (so SQL
names stay ``depot.collection.dataset``), ``cluster.minerva.catalogs[]`` are added as
written, and ``depots[].properties`` override what is generated. Credentials never appear:
catalogs read them from environment variables (``connection-password=${ENV:...}``, Trino's
own substitution), and :func:`secret_envs` lists which Kubernetes secret key fills each
variable, for the deployment to mount as ``secretKeyRef``. A depot's secret is the
instance-secret it references for ``r`` (``<depot>-r`` by convention); v1 depots with
inline credentials need that secret created from the store; keys ``username``/``password``.

* JDBC databases: ``postgresql``, ``mysql``, ``sqlserver``, ``oracle``, ``redshift``
  connectors with ``connection-url`` from host, port, database and ``params``.
* Lakehouse: the ``iceberg`` connector; a ``uri`` over HTTP is a REST catalog, a SQL URL a
  JDBC catalog (pyiceberg's SQL catalog uses the Iceberg JDBC catalog's tables), and no
  ``uri`` the embedded SQLite catalog file ``<warehouse>/catalog.db`` (Trino then needs the
  SQLite JDBC driver in its Iceberg plugin folder).
* Files: the ``hive`` connector with a file metastore under the depot's folder; its tables
  must be registered there (``CREATE TABLE ... WITH (external_location = ...)``), since a
  Hive metastore does not discover files.

Relative depot paths are resolved against ``home``, where ``DATAOS_HOME`` is mounted on
every Trino node (the Iceberg metadata written by the embedded engine holds absolute paths:
mount it at the same path).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlencode, urlparse

from dataos_defs.manifest.base import Scalar
from dataos_defs.manifest.cluster import Cluster, ClusterDepot
from dataos_defs.manifest.depot import Depot
from dataos_defs.manifest.depot_types import (
    Connection,
    FileConnection,
    JdbcConnection,
    LakehouseConnection,
    MssqlConnection,
    MysqlConnection,
    OracleConnection,
    PostgresConnection,
    RedshiftConnection,
)
from dataos_defs.manifest.udl import Udl

DEFAULT_TRINO_HOME = "/var/lib/dataos"
METASTORE_FOLDER = ".trino-metastore"
_JDBC_CONNECTORS = {
    "postgresql": ("postgresql", 5432),
    "postgres": ("postgresql", 5432),
    "mysql": ("mysql", 3306),
    "sqlserver": ("sqlserver", 1433),
    "oracle:thin": ("oracle", 1521),
    "oracle": ("oracle", 1521),
    "redshift": ("redshift", 5439),
}
_FILE_SYSTEMS = {
    "s3": "fs.native-s3.enabled",
    "s3a": "fs.native-s3.enabled",
    "gs": "fs.native-gcs.enabled",
    "abfs": "fs.native-azure.enabled",
    "abfss": "fs.native-azure.enabled",
}


class CatalogError(ValueError):
    """A catalog that cannot be generated; names the depot and what to write instead."""


@dataclass(frozen=True)
class SecretEnv:
    """An environment variable a catalog reads, and the secret key that fills it."""

    env: str
    secret: str
    key: str


@dataclass(frozen=True)
class _Generated:
    properties: dict[str, str]
    secrets: list[SecretEnv]


def trino_catalogs(
    cluster: Cluster, depots: Mapping[str, Depot], *, home: str = DEFAULT_TRINO_HOME
) -> dict[str, dict[str, str]]:
    """Catalog name -> its ``.properties`` entries (``connector.name`` first)."""
    return deployment(cluster, depots, home=home)[0]


def secret_envs(
    cluster: Cluster, depots: Mapping[str, Depot], *, home: str = DEFAULT_TRINO_HOME
) -> list[SecretEnv]:
    """Every environment variable the catalogs read, with its secret and key."""
    return deployment(cluster, depots, home=home)[1]


def deployment(
    cluster: Cluster, depots: Mapping[str, Depot], *, home: str = DEFAULT_TRINO_HOME
) -> tuple[dict[str, dict[str, str]], list[SecretEnv]]:
    """Both at once: :func:`trino_catalogs` and :func:`secret_envs`, generated once."""
    generated = _generate(cluster, depots, home)
    catalogs = {name: found.properties for name, found in generated.items()}
    return catalogs, [secret for found in generated.values() for secret in found.secrets]


def render_properties(properties: Mapping[str, str]) -> str:
    """A Java ``.properties`` file, one ``key=value`` per line, escaped as Java reads it."""
    lines = [f"{_escape(key, key=True)}={_escape(value)}" for key, value in properties.items()]
    return "\n".join(lines) + "\n"


def _generate(cluster: Cluster, depots: Mapping[str, Depot], home: str) -> dict[str, _Generated]:
    section = cluster.cluster.minerva
    if cluster.cluster.type != "minerva" or section is None:
        raise CatalogError(f"cluster '{cluster.name}' is not a minerva cluster")
    found: dict[str, _Generated] = {}
    for entry in section.depots or []:
        name = Udl.parse(entry.address).depot
        if name in found:
            continue
        depot = depots.get(name)
        if depot is None:
            raise CatalogError(f"depot '{name}' of cluster '{cluster.name}' is not applied")
        found[name] = _depot_catalog(name, depot, entry, home)
    for catalog in section.catalogs or []:
        if catalog.name in found:
            raise CatalogError(f"catalog '{catalog.name}' is also a depot of '{cluster.name}'")
        props = {"connector.name": catalog.type, **_strings(catalog.properties or {})}
        found[catalog.name] = _Generated(props, [])
    return found


def _depot_catalog(name: str, depot: Depot, entry: ClusterDepot, home: str) -> _Generated:
    overrides = _strings(entry.properties or {})
    conn = depot.depot.connection
    maker = _maker(conn)
    if maker is None:
        if "connector.name" in overrides:
            return _Generated(overrides, [])
        raise CatalogError(
            f"depot '{name}' (type {depot.depot.type}) has no generated Trino catalog; set "
            "connector.name and its properties under the cluster's depots[].properties"
        )
    assert conn is not None
    secret = _secret_name(name, depot, entry)
    generated = maker(name, conn, secret, home)
    return _Generated({**generated.properties, **overrides}, generated.secrets)


Maker = Callable[[str, Connection, str, str], _Generated]


def _maker(conn: Connection | None) -> Maker | None:
    if isinstance(conn, LakehouseConnection):
        return _iceberg
    if isinstance(conn, FileConnection):
        return _hive
    jdbc = (
        JdbcConnection,
        PostgresConnection,
        MysqlConnection,
        MssqlConnection,
        OracleConnection,
        RedshiftConnection,
    )
    if isinstance(conn, jdbc) and _jdbc_connector(conn) is not None:
        return _jdbc
    return None


def _jdbc_connector(conn: Connection) -> tuple[str, int] | None:
    if isinstance(conn, RedshiftConnection):
        return _JDBC_CONNECTORS["redshift"]
    return _JDBC_CONNECTORS.get(str(getattr(conn, "subprotocol", "")).lower())


def _jdbc(name: str, conn: Connection, secret: str, _: str) -> _Generated:
    connector = _jdbc_connector(conn)
    assert connector is not None
    connector_name, default_port = connector
    host = str(getattr(conn, "host", ""))
    port = getattr(conn, "port", None) or default_port
    database = getattr(conn, "database", None)
    params = {k: str(v) for k, v in (getattr(conn, "params", None) or {}).items()}
    if connector_name == "sqlserver":
        url = f"jdbc:sqlserver://{host}:{port}" + (f";databaseName={database}" if database else "")
    elif connector_name == "oracle":
        service = getattr(conn, "service", None) or database or ""
        url = f"jdbc:oracle:thin:@//{host}:{port}/{service}"
    else:
        url = f"jdbc:{connector_name}://{host}:{port}" + (f"/{database}" if database else "")
    if params and connector_name != "sqlserver":
        url += "?" + urlencode(params)
    user, password = _credential_envs(name, secret)
    props = {
        "connector.name": connector_name,
        "connection-url": url,
        "connection-user": f"${{ENV:{user.env}}}",
        "connection-password": f"${{ENV:{password.env}}}",
    }
    return _Generated(props, [user, password])


def _iceberg(name: str, conn: Connection, secret: str, home: str) -> _Generated:
    assert isinstance(conn, LakehouseConnection)
    warehouse = _location(conn.warehouse, home)
    props = {"connector.name": "iceberg"}
    secrets: list[SecretEnv] = []
    uri = conn.uri or ""
    scheme = urlparse(uri).scheme.split("+")[0]
    if scheme in ("http", "https"):
        props |= {
            "iceberg.catalog.type": "rest",
            "iceberg.rest-catalog.uri": uri,
            "iceberg.rest-catalog.warehouse": warehouse,
        }
    else:
        props |= {
            "iceberg.catalog.type": "jdbc",
            "iceberg.jdbc-catalog.catalog-name": conn.catalog or name,
            "iceberg.jdbc-catalog.default-warehouse-dir": warehouse,
        }
        if scheme in ("", "sqlite"):
            path = urlparse(uri).path if uri else f"{_path(conn.warehouse, home)}/catalog.db"
            props["iceberg.jdbc-catalog.driver-class"] = "org.sqlite.JDBC"
            props["iceberg.jdbc-catalog.connection-url"] = f"jdbc:sqlite:{path}"
        else:
            props |= _jdbc_catalog_database(uri)
            user, password = _credential_envs(name, secret)
            props["iceberg.jdbc-catalog.connection-user"] = f"${{ENV:{user.env}}}"
            props["iceberg.jdbc-catalog.connection-password"] = f"${{ENV:{password.env}}}"
            secrets = [user, password]
    return _Generated(props | _file_system(warehouse), secrets)


def _jdbc_catalog_database(uri: str) -> dict[str, str]:
    """The JDBC URL and driver of a SQL catalog URL; credentials in it are dropped."""
    parsed = urlparse(uri)
    kind = parsed.scheme.split("+")[0]
    port = f":{parsed.port}" if parsed.port else ""
    drivers = {"postgresql": "org.postgresql.Driver", "mysql": "com.mysql.cj.jdbc.Driver"}
    if kind not in drivers:
        raise CatalogError(f"lakehouse catalog uri scheme '{kind}' has no JDBC driver here")
    return {
        "iceberg.jdbc-catalog.driver-class": drivers[kind],
        "iceberg.jdbc-catalog.connection-url": f"jdbc:{kind}://{parsed.hostname}{port}"
        + parsed.path,
    }


def _hive(name: str, conn: Connection, secret: str, home: str) -> _Generated:
    assert isinstance(conn, FileConnection)
    base = _location(conn.path, home)
    props = {
        "connector.name": "hive",
        "hive.metastore": "file",
        "hive.metastore.catalog.dir": f"{base.rstrip('/')}/{METASTORE_FOLDER}",
    }
    return _Generated(props | _file_system(base), [])


def _file_system(location: str) -> dict[str, str]:
    """The file system support a location needs (local files through Trino's Hadoop one,
    since Iceberg metadata names them ``file://``)."""
    scheme = urlparse(location).scheme
    return {_FILE_SYSTEMS.get(scheme, "fs.hadoop.enabled"): "true"}


def _path(path: str, home: str) -> str:
    """An absolute path for a depot path, relative ones under ``home``."""
    plain = path.removeprefix("file://")
    return str(PurePosixPath(home) / plain) if not plain.startswith("/") else plain


def _location(path: str, home: str) -> str:
    """A URI for a depot path: object-store URIs as written, local paths as ``file://``."""
    if "://" in path and not path.startswith("file://"):
        return path
    return "file://" + _path(path, home)


def _secret_name(name: str, depot: Depot, entry: ClusterDepot) -> str:
    """The secret holding the read credentials: the cluster's own, the depot's ``-r``
    instance-secret, its first, or ``<depot>-r``."""
    if entry.secrets:
        return entry.secrets[0].name
    names = [secret.name for secret in depot.depot.secrets or []]
    readers = [n for n in names if n.endswith("-r")]
    return (readers or names or [f"{name}-r"])[0]


def _credential_envs(catalog: str, secret: str) -> tuple[SecretEnv, SecretEnv]:
    prefix = f"MINERVA_{catalog.upper().replace('-', '_')}"
    return (
        SecretEnv(f"{prefix}_USER", secret, "username"),
        SecretEnv(f"{prefix}_PASSWORD", secret, "password"),
    )


def _strings(values: Mapping[str, Scalar]) -> dict[str, str]:
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in values.items()}


def _escape(text: str, *, key: bool = False) -> str:
    escaped = (
        text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    )
    if key:
        for char in "=: #!":
            escaped = escaped.replace(char, "\\" + char)
    elif escaped.startswith((" ", "#", "!")):
        escaped = "\\" + escaped
    return escaped
