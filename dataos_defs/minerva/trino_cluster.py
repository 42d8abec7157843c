"""A ``minerva`` cluster served by a real Trino (dialect ``trino``).

The coordinator's address is deployment, not intent: ``DATAOS_MINERVA_<CLUSTER>_URL`` (see
``settings.py``). Its catalogs are the cluster's depots and ``catalogs[]``, deployed with the
properties ``catalogs.py`` generates, so ``depot.collection.dataset`` is Trino's own
``catalog.schema.table`` and the physical name of a dataset is its quoted SQL name. Tables
and columns come from each catalog's ``information_schema``; column types are given in
DuckDB spelling like every catalog's, with Trino's own kept beside them
(``Column.engine_type``: the Gateway's Trino masks cast back to it); results keep Trino's.
Column tags come from the same :class:`ColumnTags` source as the embedded engine.

The statements this class runs are already governed: the Gateway rewrites every dataset a
statement reads into a masked, filtered subquery in Trino's dialect, as it does for the
embedded engine, so governance does not depend on Trino's OPA plugin being configured.
When it is (``policies/trino``), the plugin still decides the caller's access, and it
leaves out the masks and filters of statements the Gateway's own principal sends (they
are applied already); a client that reaches Trino directly is masked by the plugin.

No Trino server can run where this is developed: ``tests/minerva/test_trino_cluster.py``
drives this class through the real ``trino`` client against a small HTTP stand-in on
127.0.0.1 that speaks Trino's documented client protocol (``POST /v1/statement``, then
``GET`` of each ``nextUri`` until ``stats.state`` is ``FINISHED``).
"""

from __future__ import annotations

from collections.abc import Iterable

from dataos_defs.adapters import trino_client
from dataos_defs.adapters.duckdb_engine import quote
from dataos_defs.adapters.trino_client import Endpoint, TrinoClientError
from dataos_defs.manifest.cluster import Cluster
from dataos_defs.minerva.model import Column, Table, TableName
from dataos_defs.minerva.result import MinervaError, QueryResult, RegisterInterrupt
from dataos_defs.minerva.tags import ColumnTags, ManifestColumnTags
from dataos_defs.minerva.types import duckdb_type

_MISSING = frozenset({"CATALOG_NOT_FOUND", "SCHEMA_NOT_FOUND", "TABLE_NOT_FOUND"})


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class TrinoCluster:
    dialect = "trino"

    def __init__(
        self,
        cluster: Cluster,
        url: str,
        *,
        password: str | None = None,
        tags: ColumnTags | None = None,
        timeout: float = 30.0,
        attempts: int = 3,
    ) -> None:
        self.cluster = cluster
        self.name = cluster.name
        self.endpoint = Endpoint.parse(url, password=password, timeout=timeout, attempts=attempts)
        self.catalogs = _catalog_names(cluster)
        self._tags = tags or ManifestColumnTags(())

    def tables(self) -> list[TableName]:
        found: list[TableName] = []
        for catalog in self.catalogs:
            query = (
                f"SELECT table_schema, table_name FROM {quote(catalog)}.information_schema.tables"
                " WHERE table_schema <> 'information_schema' ORDER BY 1, 2"
            )
            rows = self._rows(query, missing_ok=True)
            found.extend(TableName(catalog, str(s).lower(), str(t).lower()) for s, t in rows)
        return found

    def table(self, name: TableName) -> Table | None:
        wanted = TableName(name.depot.lower(), name.collection.lower(), name.dataset.lower())
        if wanted.depot not in self.catalogs:
            return None
        query = (
            f"SELECT column_name, data_type FROM {quote(wanted.depot)}.information_schema.columns"
            f" WHERE table_schema = {literal(wanted.collection)}"
            f" AND table_name = {literal(wanted.dataset)} ORDER BY ordinal_position"
        )
        rows = self._rows(query, missing_ok=True)
        if not rows:
            return None
        dataset_tags, column_tags = self._tags.for_table(wanted)
        columns = tuple(
            Column(str(c), duckdb_type(str(t)), column_tags.get(str(c).lower(), ()), str(t))
            for c, t in rows
        )
        physical = ".".join(
            quote(part) for part in (wanted.depot, wanted.collection, wanted.dataset)
        )
        return Table(wanted, columns, physical, dataset_tags)

    def execute(
        self,
        sql: str,
        reads: Iterable[TableName] = (),
        user: str | None = None,
        *,
        register_interrupt: RegisterInterrupt | None = None,
    ) -> QueryResult:
        """Run a governed statement (Trino dialect, masks and filters already in it) on the
        coordinator as ``user``, the Gateway's caller, impersonated by the endpoint's
        principal: Trino's access control decides that user's access; raises MinervaError.
        Trino reads its catalogs itself, so ``reads`` needs no preparation here.
        ``register_interrupt`` gets the client's cancel (``DELETE`` of the ``nextUri``)."""
        try:
            statement = trino_client.run(
                self.endpoint, sql, session_user=user, register_interrupt=register_interrupt
            )
        except TrinoClientError as exc:
            raise MinervaError(f"Trino ({self.name}): {exc.message}") from None

        def fetch(size: int) -> list[tuple[object, ...]]:
            try:
                return statement.fetch(size)
            except TrinoClientError as exc:
                raise MinervaError(f"Trino ({self.name}): {exc.message}") from None

        return QueryResult(statement.columns, fetch, statement.close)

    def close(self) -> None:
        """Nothing to release: every statement has its own connection."""

    def _rows(self, sql: str, *, missing_ok: bool) -> list[tuple[object, ...]]:
        try:
            return trino_client.rows(self.endpoint, sql)
        except TrinoClientError as exc:
            if missing_ok and exc.error_name in _MISSING:
                return []
            raise MinervaError(f"Trino ({self.name}): {exc.message}") from None


def _catalog_names(cluster: Cluster) -> tuple[str, ...]:
    section = cluster.cluster.minerva
    depots = [udl.depot for udl, path in cluster.depot_addresses() if path[1] == "minerva"]
    extra: Iterable[str] = (c.name for c in (section.catalogs or [])) if section else ()
    return tuple(dict.fromkeys([*depots, *extra]))
