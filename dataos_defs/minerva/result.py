"""A statement's result as every cluster hands it back, and the errors clusters raise."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

Row = tuple[Any, ...]
RegisterInterrupt = Callable[[Callable[[], None]], None]
"""Handed the function that stops a statement in flight (from another thread), as soon as
the engine has one: DuckDB's ``interrupt()`` of the statement's cursor, the Trino client's
``cancel()`` (``DELETE`` of the statement's ``nextUri``)."""


class MinervaError(Exception):
    """The cluster could not run a statement or reach a dataset; the message is safe to show
    (credentials are redacted)."""


class QueryResult:
    """Columns as ``(name, Trino type)`` and rows fetched in batches from an open cursor.

    Values are Python values (``Decimal``, ``date``, ``datetime``, ``UUID``, lists, dicts):
    the wire encodes them. ``close`` releases the cursor; it is safe to call more than once
    and from another thread (a cancelled query)."""

    def __init__(
        self,
        columns: list[tuple[str, str]],
        fetch: Callable[[int], list[Row]],
        close: Callable[[], None],
    ) -> None:
        self.columns = columns
        self._fetch = fetch
        self._close = close
        self._closed = False
        self._lock = threading.Lock()

    def batches(self, size: int) -> Iterator[list[Row]]:
        """Rows ``size`` at a time until the result is exhausted (or closed)."""
        if size < 1:
            raise ValueError("a batch holds at least one row")
        while not self._closed:
            rows = [tuple(row) for row in self._fetch(size)]
            if not rows:
                return
            yield rows

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._close()

    def __enter__(self) -> QueryResult:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
