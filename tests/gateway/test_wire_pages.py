"""Result encoding (Trino's wire conventions), paging and bound parameters."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from trino.mapper import RowMapperFactory

from dataos_defs.gateway.model import Refused
from dataos_defs.gateway.pages import PageError, ResultPages
from dataos_defs.gateway.prepared import bind_execute_immediate
from dataos_defs.gateway.wire import column_descriptor, row_encoder, type_signature


def test_values_round_trip_through_the_trino_clients_mapper() -> None:
    """The official client's own row mapper reads back what we encode."""
    types = [
        "varchar",
        "bigint",
        "double",
        "decimal(10,2)",
        "date",
        "timestamp(6)",
        "timestamp(6) with time zone",
        "boolean",
        "varbinary",
    ]
    moment = datetime(2026, 11, 24, 7, 30, 1, 123456)
    row = (
        "O'Brien",
        42,
        2.5,
        Decimal("12.30"),
        date(2026, 11, 24),
        moment,
        moment.replace(tzinfo=UTC),
        True,
        b"\x00\x01",
    )
    encoded = row_encoder(types)(row)
    columns = [column_descriptor(f"c{i}", t) for i, t in enumerate(types)]
    mapped = RowMapperFactory().create(columns=columns, legacy_primitive_types=False).map([encoded])
    assert mapped[0][:5] == ["O'Brien", 42, 2.5, Decimal("12.30"), date(2026, 11, 24)]
    assert mapped[0][5] == moment
    assert mapped[0][6] == moment.replace(tzinfo=UTC)
    assert mapped[0][7:] == [True, b"\x00\x01"]


def test_offsets_nulls_and_non_finite_doubles() -> None:
    tz = timezone(timedelta(hours=5, minutes=30))
    encode = row_encoder(["timestamp(3) with time zone", "double", "double", "integer"])
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=tz)
    assert encode([moment, float("nan"), float("-inf"), None]) == [
        "2026-01-02 03:04:05.000000 +05:30",
        "NaN",
        "-Infinity",
        None,
    ]


def test_type_signatures() -> None:
    assert type_signature("varchar")["arguments"] == [{"kind": "LONG", "value": 2147483647}]
    assert type_signature("array(decimal(5,1))")["arguments"][0]["value"]["rawType"] == "decimal"
    row = type_signature("row(a bigint, b varchar)")
    assert [a["value"]["fieldName"]["name"] for a in row["arguments"]] == ["a", "b"]


class FakeRows:
    """Stands in for an engine cursor: records whether it was closed."""

    def __init__(self, count: int) -> None:
        self.columns = [("n", "bigint")]
        self.count = count
        self.closed = False

    def batches(self, size: int) -> Iterator[list[tuple[Any, ...]]]:
        for start in range(0, self.count, size):
            yield [(n,) for n in range(start, min(start + size, self.count))]

    def close(self) -> None:
        self.closed = True


def test_pages_in_sequence_then_closed_and_audited_once() -> None:
    pages = ResultPages()
    ended: list[tuple[int, str]] = []
    rows = FakeRows(25)
    first = pages.open("alice", rows, lambda n, o: ended.append((n, o)), page_rows=10)
    assert [r[0] for r in first.rows] == list(range(10)) and first.next_token == 1
    with pytest.raises(PageError):
        pages.page(first.query_id, "mallory", 1)
    with pytest.raises(PageError, match="out of sequence"):
        pages.page(first.query_id, "alice", 2)
    second = pages.page(first.query_id, "alice", 1)
    assert pages.page(first.query_id, "alice", 1) == second, "a retried page is repeated"
    last = pages.page(first.query_id, "alice", 2)
    assert [r[0] for r in last.rows] == list(range(20, 25)) and last.next_token is None
    assert rows.closed and ended == [(25, "ok")]
    with pytest.raises(PageError):
        pages.page(first.query_id, "alice", 3)


def test_idle_and_overflowing_results_are_closed() -> None:
    pages = ResultPages(idle_seconds=0.0, capacity=2)
    ended: list[str] = []
    opened = [FakeRows(50) for _ in range(3)]
    for rows in opened:
        pages.open("bob", rows, lambda n, o: ended.append(o), page_rows=10)
    assert opened[0].closed and opened[1].closed and ended == ["expired", "expired"]
    assert pages.cancel("nobody", "bob") is False


def test_concurrent_owners_do_not_interfere() -> None:
    pages = ResultPages()
    totals: dict[int, int] = {}

    def drain(index: int) -> None:
        page = pages.open(f"u{index}", FakeRows(100 + index), lambda n, o: None, page_rows=7)
        seen = len(page.rows)
        while page.next_token is not None:
            page = pages.page(page.query_id, f"u{index}", page.next_token)
            seen += len(page.rows)
        totals[index] = seen

    threads = [threading.Thread(target=drain, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert totals == {i: 100 + i for i in range(16)}


def test_execute_immediate_binds_literals_only() -> None:
    bound = bind_execute_immediate(
        "EXECUTE IMMEDIATE 'SELECT * FROM t WHERE a = ? AND b > ? AND c = ?' "
        "USING 'it''s', -3, DATE '2024-01-01'"
    )
    assert (
        bound == "SELECT * FROM t WHERE a = 'it''s' AND b > -3 AND c = CAST('2024-01-01' AS DATE)"
    )
    assert bind_execute_immediate("SELECT 1") == "SELECT 1"
    with pytest.raises(Refused, match="not a literal"):
        bind_execute_immediate("EXECUTE IMMEDIATE 'SELECT ?' USING (SELECT secret FROM x)")
    with pytest.raises(Refused, match="1 parameter"):
        bind_execute_immediate("EXECUTE IMMEDIATE 'SELECT ?' USING 1, 2")
