"""Open query results, fetched page by page by the caller who ran the query.

A result stays open (its engine cursor too) until its last page is fetched, it is
cancelled, or nobody fetched a page for ``idle_seconds``; at most ``capacity`` results are
open at once, the least recently used is closed first. Pages are numbered: asking again
for the page just served repeats it (clients retry), any other number is refused, so a
page can never be skipped or read twice by accident. Only the query's owner can read it.
When a result ends, ``on_end(rows, outcome)`` is called once (the audit record).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

DEFAULT_PAGE_ROWS = 1000
MAX_PAGE_ROWS = 10_000

Row = Sequence[Any]
OnEnd = Callable[[int, str], None]


class Rows(Protocol):
    """What an engine returns: column (name, type) pairs and rows in batches."""

    columns: list[tuple[str, str]]

    def batches(self, size: int) -> Iterator[list[tuple[Any, ...]]]: ...

    def close(self) -> None: ...


class PageError(LookupError):
    """No such open result for this caller, or a page out of sequence."""


@dataclass(frozen=True)
class Page:
    query_id: str
    token: int
    columns: list[tuple[str, str]]
    rows: list[tuple[Any, ...]]
    next_token: int | None
    cluster: str | None = None


@dataclass
class OpenResult:
    query_id: str
    owner: str
    result: Rows
    on_end: OnEnd
    page_rows: int
    cluster: str | None = None
    token: int = 0
    sent: int = 0
    last: Page | None = None
    used: float = field(default_factory=time.monotonic)
    _buffer: list[tuple[Any, ...]] = field(default_factory=list)
    _batches: Iterator[list[tuple[Any, ...]]] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_page(self) -> Page:
        if self._batches is None:
            self._batches = self.result.batches(self.page_rows)
        while len(self._buffer) <= self.page_rows:
            batch = next(self._batches, None)
            if batch is None:
                break
            self._buffer.extend(batch)
        rows, self._buffer = self._buffer[: self.page_rows], self._buffer[self.page_rows :]
        more = bool(self._buffer)
        next_token = self.token + 1 if more else None
        page = Page(self.query_id, self.token, self.result.columns, rows, next_token, self.cluster)
        self.sent += len(rows)
        self.last = page
        self.token += 1
        return page


class ResultPages:
    def __init__(self, idle_seconds: float = 300.0, capacity: int = 256) -> None:
        self.idle_seconds = idle_seconds
        self.capacity = capacity
        self._open: OrderedDict[str, OpenResult] = OrderedDict()
        self._lock = threading.Lock()

    def open(
        self,
        owner: str,
        result: Rows,
        on_end: OnEnd,
        page_rows: int,
        *,
        query_id: str | None = None,
        cluster: str | None = None,
    ) -> Page:
        """Register a result and serve its first page (ending it at once when it fits)."""
        entry = OpenResult(
            query_id or uuid.uuid4().hex, owner, result, on_end, _bounded(page_rows), cluster
        )
        with self._lock:
            self._expire_locked()
            self._open[entry.query_id] = entry
        return self._serve(entry)

    def open_on(self, cluster: str) -> list[OpenResult]:
        """The open results of ``cluster``, least recently used first."""
        with self._lock:
            return [entry for entry in self._open.values() if entry.cluster == cluster]

    def page(self, query_id: str, owner: str, token: int) -> Page:
        with self._lock:
            entry = self._open.get(query_id)
            if entry is None or entry.owner != owner:
                raise PageError(f"no open result {query_id} (finished, cancelled or expired)")
            self._open.move_to_end(query_id)
        with entry.lock:
            if entry.last is not None and token == entry.last.token:
                return entry.last
            if token != entry.token:
                raise PageError(f"page {token} of {query_id} is out of sequence")
        return self._serve(entry)

    def cancel(self, query_id: str, owner: str) -> bool:
        with self._lock:
            entry = self._open.get(query_id)
            if entry is None or entry.owner != owner:
                return False
            del self._open[query_id]
        self._end(entry, "cancelled")
        return True

    def close(self) -> None:
        with self._lock:
            entries = list(self._open.values())
            self._open.clear()
        for entry in entries:
            self._end(entry, "cancelled")

    def _serve(self, entry: OpenResult) -> Page:
        with entry.lock:
            entry.used = time.monotonic()
            try:
                page = entry.next_page()
            except Exception:
                self._drop(entry)
                self._end(entry, "failed")
                raise
        if page.next_token is None:
            self._drop(entry)
            self._end(entry, "ok")
        return page

    def _drop(self, entry: OpenResult) -> None:
        with self._lock:
            self._open.pop(entry.query_id, None)

    def _end(self, entry: OpenResult, outcome: str) -> None:
        try:
            entry.result.close()
        finally:
            entry.on_end(entry.sent, outcome)

    def _expire_locked(self) -> None:
        deadline = time.monotonic() - self.idle_seconds
        stale = [e for e in self._open.values() if e.used < deadline]
        while len(self._open) - len(stale) >= self.capacity:
            oldest = next(e for e in self._open.values() if e not in stale)
            stale.append(oldest)
        for entry in stale:
            del self._open[entry.query_id]
            self._end(entry, "expired")


def _bounded(page_rows: int) -> int:
    return max(1, min(int(page_rows or DEFAULT_PAGE_ROWS), MAX_PAGE_ROWS))
