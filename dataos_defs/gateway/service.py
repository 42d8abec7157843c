"""The Gateway's query path: identify, route, rewrite, authorize, execute, audit.

1. The caller is identified before this module runs (API key → Heimdall identity).
2. The cluster is chosen: the one asked for, else the one whose ``selector`` matches.
3. The statement is analysed and rewritten against the cluster's catalog: every dataset it
   reads becomes a masked, filtered subquery with the data policies in force for the user,
   in the cluster's dialect (DuckDB for the embedded engine, Trino for a Trino endpoint).
4. Heimdall is asked for ``select`` (or ``read``) on every dataset read; one denial ends the
   query with 403 naming the dataset. Nothing has run on the engine yet.
5. The rewritten SQL runs on the cluster; rows are served page by page.
Every query, whatever its outcome, leaves one audit record.

While its statement executes, a query is listed in :attr:`Gateway.running` (``running.py``)
with the engine's interrupt: :meth:`Gateway.cancel` stops the statement on the engine (DuckDB's
``interrupt()``, Trino's ``DELETE`` of the ``nextUri``), not only the result's delivery.
Only the query's owner may cancel it, or whoever the caller's route lets cancel anyone's
(``operator=True``: Heimdall decides that in the API). :meth:`Gateway.running_queries` is the
stable view of what runs.

The state (clusters, data policies, column tags) follows the Poros store and the column
tags attached to Heimdall (Metis' catalog): it is rebuilt when their change marker moves
(checked at most once a second).
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataos_defs.caretaker.history_governance import history_governance
from dataos_defs.gateway.audit import Outcome, QueryAudit, QueryRecord, now, sql_digest
from dataos_defs.gateway.clusters import ClusterSet, Engine, RoutingError
from dataos_defs.gateway.model import (
    Governance,
    GovernanceFor,
    Refused,
    Rewritten,
    Table,
    TableName,
)
from dataos_defs.gateway.pages import Page, ResultPages, Rows
from dataos_defs.gateway.rewrite import rewrite
from dataos_defs.gateway.running import RunningQueries, RunningQuery, TooManyRunning
from dataos_defs.heimdall.pdp import PolicyEngineError
from dataos_defs.heimdall.service import Heimdall
from dataos_defs.minerva.result import MinervaError
from dataos_defs.poros.store import Store

READ_PREDICATES = ("select", "read")
REWRITE_CACHE_SIZE = 4096
FRESHNESS_SECONDS = 1.0
QUERY_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Caller:
    user_id: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class QueryRequest:
    sql: str
    cluster: str | None = None
    catalog: str | None = None
    schema: str | None = None
    source: str | None = None
    page_rows: int = 1000


class Denied(Exception):
    """Heimdall did not allow reading a dataset (403)."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class Unavailable(Exception):
    """No decision could be made (503): the query is refused."""


class QueryFailed(Exception):
    """The engine rejected the governed statement (400)."""


class Cancelled(Exception):
    """The query was cancelled while its statement executed; the engine stopped it (or
    its result was discarded unread when the engine finished first)."""


@dataclass(frozen=True)
class Explanation:
    cluster: str
    rewritten: Rewritten
    governance: dict[str, Governance]


class Gateway:
    def __init__(self, store: Store, heimdall: Heimdall, home: Path) -> None:
        self.store = store
        self.heimdall = heimdall
        self.clusters = ClusterSet(store, home)
        self.pages = ResultPages()
        self.audit = QueryAudit(home)
        self.running = RunningQueries()
        self._rewrites: OrderedDict[tuple[Any, ...], Rewritten] = OrderedDict()
        self._lock = threading.Lock()
        self._marker: tuple[Any, ...] | None = None
        self._checked_at = 0.0

    def close(self) -> None:
        self.pages.close()
        self.clusters.close()
        self.audit.close()

    def run(self, caller: Caller, request: QueryRequest, *, query_id: str | None = None) -> Page:
        """Run a statement and serve its first page; raises Refused, Denied, Unavailable,
        RoutingError, QueryFailed, TooManyRunning or Cancelled (each audited).

        ``query_id`` (32 hex digits, fresh) lets a caller that runs the query in the
        background cancel it before this returns; by default one is drawn."""
        if query_id is not None and not QUERY_ID.fullmatch(query_id):
            raise ValueError("a query id is 32 lowercase hex digits")
        started = time.perf_counter()
        audit = _Audit(self.audit, caller, request, started, query_id)
        try:
            self.running.begin(audit.query_id, caller.user_id, request.source)
        except TooManyRunning as exc:
            audit.fail(exc)
            raise
        try:
            result = self._governed_result(caller, request, audit)
        except Exception as exc:
            if not self.running.end(audit.query_id):
                audit.fail(exc)
                raise
            cancelled = Cancelled(f"query {audit.query_id} was cancelled")
            audit.fail(cancelled)
            raise cancelled from exc
        if self.running.end(audit.query_id):
            result.close()
            cancelled = Cancelled(f"query {audit.query_id} was cancelled")
            audit.fail(cancelled)
            raise cancelled
        return self.pages.open(
            caller.user_id,
            result,
            audit.end,
            request.page_rows,
            query_id=audit.query_id,
            cluster=audit.cluster,
        )

    def _governed_result(self, caller: Caller, request: QueryRequest, audit: _Audit) -> Rows:
        engine = self._engine(caller, request)
        audit.cluster = engine.name
        self.running.on_cluster(audit.query_id, engine.name)
        rewritten = self._governed(caller, request, engine)
        audit.rewritten = rewritten
        return self._execute(engine, rewritten, caller, audit.query_id)

    def explain(self, caller: Caller, request: QueryRequest) -> Explanation:
        """The rewritten statement and the policies that shaped it, without running it."""
        engine = self._engine(caller, request)
        rewritten = self._governed(caller, request, engine)
        governance: dict[str, Governance] = {}
        for name in rewritten.tables:
            table = engine.catalog.table(name)
            if table is not None:
                governance[name.dataset_id] = self._governance(caller, table)
        return Explanation(engine.name, rewritten, governance)

    def page(self, caller: Caller, query_id: str, token: int) -> Page:
        return self.pages.page(query_id, caller.user_id, token)

    def cancel(self, caller: Caller, query_id: str, *, operator: bool = False) -> bool:
        """Cancel the caller's query: stop its statement on the engine if it still executes
        (anyone's when ``operator``), else close its open result (the owner's only). False
        when there is no such query the caller may cancel (the same answer whether it
        exists or not, so ids of others' queries cannot be probed)."""
        owner = self.running.owner(query_id)
        if owner is not None and (owner == caller.user_id or operator):
            return self.running.interrupt(query_id)
        return self.pages.cancel(query_id, caller.user_id)

    def running_queries(self, user: str | None = None) -> list[RunningQuery]:
        """The statements executing now (only ``user``'s when given), oldest first."""
        return self.running.snapshot(user)

    def refresh(self) -> None:
        """Follow the store (at most one check a second)."""
        self._refresh()

    def forget_rewrites(self) -> None:
        """Drop every cached rewrite and every engine's cached view of a dataset: a dataset's
        schema or snapshot changed (the store's change marker does not see changes made to
        an Iceberg table)."""
        with self._lock:
            self._rewrites.clear()
        self.clusters.forget_checks()

    def _refresh(self) -> None:
        moment = time.monotonic()
        if moment - self._checked_at < FRESHNESS_SECONDS:
            return
        with self._lock:
            self._checked_at = moment
            marker = self.heimdall.change_marker()
            if marker != self._marker:
                self.clusters.reload(self.heimdall.attached_column_tags())
                self._rewrites.clear()
                self._marker = marker

    def _engine(self, caller: Caller, request: QueryRequest) -> Engine:
        self._refresh()
        return self.clusters.route(
            user_id=caller.user_id,
            user_tags=caller.tags,
            source=request.source,
            requested=request.cluster,
        )

    def _governance(self, caller: Caller, table: Table) -> Governance:
        """The data policies for the caller, and on Caretaker's history the own-runs filter
        (it depends on the caller's id: the rewrite cache is keyed by it)."""
        governance = self.clusters.policies.governance(table, caller.tags)
        return history_governance(governance, table.name, caller.user_id, caller.tags)

    def _governance_for(self, caller: Caller, authorized: set[TableName]) -> GovernanceFor:
        """The policies the rewrite applies, asked only once the caller may read the table
        (so a refusal never describes the policies of a dataset the caller may not read;
        the tables authorized are added to ``authorized``). Every engine gets them, a
        Trino endpoint too: its statement is masked and filtered in Trino's dialect, so
        governance never depends on Trino's OPA plugin being configured (see clusters.py
        for how the plugin avoids masking it twice)."""

        def governed(table: Table) -> Governance:
            self._authorize(caller, (table.name,))
            authorized.add(table.name)
            return self._governance(caller, table)

        return governed

    def _governed(self, caller: Caller, request: QueryRequest, engine: Engine) -> Rewritten:
        """The statement governed for the caller, every dataset it reads authorized: by the
        rewrite as it meets them, or, for a cached rewrite, here."""
        key = (
            request.sql,
            engine.name,
            engine.generation,
            request.catalog,
            request.schema,
            self.clusters.policies.fingerprint(caller.tags),
            caller.user_id,
        )
        with self._lock:
            cached = self._rewrites.get(key)
            if cached is not None:
                self._rewrites.move_to_end(key)
        if cached is not None:
            self._authorize(caller, cached.tables)
            return cached
        authorized: set[TableName] = set()
        try:
            rewritten = rewrite(
                request.sql,
                engine.catalog,
                self._governance_for(caller, authorized),
                write=engine.dialect,
                default_catalog=request.catalog,
                default_schema=request.schema,
                may_see=lambda name: self._may_read(caller, name),
            )
        except MinervaError as exc:
            raise QueryFailed(engine.describe_error(exc)) from exc
        self._authorize(caller, [t for t in rewritten.tables if t not in authorized])
        if rewritten.kind in ("select", "explain"):
            with self._lock:
                self._rewrites[key] = rewritten
                while len(self._rewrites) > REWRITE_CACHE_SIZE:
                    self._rewrites.popitem(last=False)
        return rewritten

    def _decide(self, caller: Caller, name: TableName) -> tuple[bool, str]:
        reason = ""
        for predicate in READ_PREDICATES:
            decision = self.heimdall.authorize(
                caller.user_id, caller.tags, predicate, name.address, source="gateway"
            )
            if decision.allow:
                return True, ""
            reason = reason or decision.reason
        return False, reason

    def _may_read(self, caller: Caller, name: TableName) -> bool:
        try:
            return self._decide(caller, name)[0]
        except PolicyEngineError:
            return False

    def _authorize(self, caller: Caller, tables: Sequence[TableName]) -> None:
        for name in tables:
            try:
                allowed, reason = self._decide(caller, name)
            except PolicyEngineError as exc:
                raise Unavailable(
                    "no access decision could be made, so the query is refused"
                ) from exc
            if not allowed:
                raise Denied(
                    f"{caller.user_id} may not select {name.dataset_id} ({name.address}): {reason}",
                    "ask an operator for an access policy allowing select or read on it",
                )

    def _execute(self, engine: Engine, rewritten: Rewritten, caller: Caller, query_id: str) -> Rows:
        if self.running.is_cancelled(query_id):
            raise Cancelled(f"query {query_id} was cancelled")
        register = self.running.registrar(query_id)
        try:
            return engine.execute(rewritten.sql, rewritten.tables, caller.user_id, register)
        except Exception as exc:
            raise QueryFailed(engine.describe_error(exc)) from exc


class _Audit:
    """Collects what one query did and writes its record once, when it ends."""

    def __init__(
        self,
        log: QueryAudit,
        caller: Caller,
        request: QueryRequest,
        started: float,
        query_id: str | None = None,
    ) -> None:
        self.log = log
        self.caller = caller
        self.request = request
        self.started = started
        self.query_id = query_id or uuid.uuid4().hex
        self.cluster: str | None = None
        self.rewritten: Rewritten | None = None
        self._written = False

    def fail(self, exc: Exception) -> None:
        outcome: Outcome = "failed"
        if isinstance(exc, Refused | RoutingError | TooManyRunning):
            outcome = "refused"
        elif isinstance(exc, Denied | Unavailable):
            outcome = "denied"
        message = getattr(exc, "message", None) or str(exc)
        self._write(None, outcome, message)

    def end(self, rows: int, outcome: str) -> None:
        ended: Outcome = "failed" if outcome == "failed" else "ok"
        self._write(rows, ended, None if outcome == "ok" else f"result {outcome}")

    def _write(self, rows: int | None, outcome: Outcome, message: str | None) -> None:
        if self._written:
            return
        self._written = True
        rewritten = self.rewritten
        self.log.append(
            QueryRecord(
                query_id=self.query_id,
                time=now(),
                user=self.caller.user_id,
                cluster=self.cluster,
                sql_sha256=sql_digest(self.request.sql),
                rewritten=rewritten.sql if rewritten else None,
                policies=dict(rewritten.policies) if rewritten else {},
                datasets=tuple(t.dataset_id for t in rewritten.tables) if rewritten else (),
                rows=rows,
                duration_ms=round((time.perf_counter() - self.started) * 1000, 3),
                outcome=outcome,
                message=message,
                source=self.request.source,
            )
        )
