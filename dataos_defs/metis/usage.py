"""Usage: how often an entity was used per day, and its percentile ranks among entities of
its type (OpenMetadata's ``UsageDetails``: daily, weekly and monthly counts and ranks).

Departure from OpenMetadata, by choice: a report of a day's count *replaces* that day's
count instead of adding to it. PostgreSQL's ``pg_stat_statements`` has no timestamps, so
every usage run reads the whole log again; adding would count the same queries once per
run. Weekly and monthly counts are the sums of the 7 and 30 days ending on the day.

A database's usage is the sum of its tables' (computed with its percentiles, as
``POST /usage/compute.percentile/database/{date}`` asks). Bounded: the newest
:data:`MAX_DAYS` days of an entity are kept.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import Connection, Engine, delete, insert, select, update

from dataos_defs.metis.entities import Strict
from dataos_defs.metis.rows import replace_keeping_newest
from dataos_defs.metis.schema import query_costs, table_joins, usage
from dataos_defs.poros.db import write_transaction

MAX_DAYS = 400
WEEK = 7
MONTH = 30
RANKED_TYPES = ("table", "database")


class UsageRequest(Strict):
    """OpenMetadata's ``UsageRequest``: ``{date: "YYYY-MM-DD", count}``."""

    date: dt.date
    count: int


@dataclass(frozen=True)
class DayCount:
    entity_id: str
    day: str
    count: int


def report(engine: Engine, entity_id: str, entity_type: str, day: dt.date, count: int) -> None:
    """Set the entity's count of ``day``; keep its newest :data:`MAX_DAYS` days."""
    if count < 0:
        raise ValueError("a usage count is never negative")
    with write_transaction(engine) as conn:
        _set_count(conn, entity_id, entity_type, day.isoformat(), count)


def _set_count(conn: Connection, entity_id: str, entity_type: str, day: str, count: int) -> None:
    conn.execute(delete(usage).where(usage.c.entity_id == entity_id, usage.c.day == day))
    conn.execute(
        insert(usage).values(entity_id=entity_id, entity_type=entity_type, day=day, count=count)
    )
    kept = (
        select(usage.c.day)
        .where(usage.c.entity_id == entity_id)
        .order_by(usage.c.day.desc())
        .limit(MAX_DAYS)
    )
    newest = [row.day for row in conn.execute(kept)]
    conn.execute(delete(usage).where(usage.c.entity_id == entity_id, usage.c.day.not_in(newest)))


def _window(conn: Connection, entity_type: str, day: dt.date, days: int) -> dict[str, int]:
    """Entity id → its summed count over the ``days`` days ending on ``day``."""
    first = (day - dt.timedelta(days=days - 1)).isoformat()
    rows = conn.execute(
        select(usage.c.entity_id, usage.c.count).where(
            usage.c.entity_type == entity_type,
            usage.c.day >= first,
            usage.c.day <= day.isoformat(),
        )
    )
    sums: dict[str, int] = {}
    for row in rows.mappings():
        sums[row["entity_id"]] = sums.get(row["entity_id"], 0) + row["count"]
    return sums


def percent_ranks(counts: dict[str, int]) -> dict[str, float]:
    """SQL's ``PERCENT_RANK() OVER (ORDER BY count)`` times 100 of each entity.

    >>> percent_ranks({"a": 1, "b": 5, "c": 5})
    {'a': 0.0, 'b': 50.0, 'c': 50.0}
    """
    ordered = sorted(counts.values())
    last = len(ordered) - 1
    if last <= 0:
        return dict.fromkeys(counts, 0.0)
    first_index: dict[int, int] = {}
    for index, value in enumerate(ordered):
        first_index.setdefault(value, index)
    return {key: round(first_index[value] / last * 100, 2) for key, value in counts.items()}


def compute_percentiles(
    engine: Engine, entity_type: str, day: dt.date, databases: dict[str, list[str]] | None = None
) -> int:
    """Rank every entity of ``entity_type`` used on ``day``; returns how many. For
    ``database``, ``databases`` (database id → its tables' ids) first sets each database's
    count of the day to its tables' sum."""
    if entity_type not in RANKED_TYPES:
        raise ValueError(f"usage is ranked for {', '.join(RANKED_TYPES)} only")
    with write_transaction(engine) as conn:
        if databases is not None:
            _aggregate(conn, day, databases)
        daily = _window(conn, entity_type, day, 1)
        weekly = _window(conn, entity_type, day, WEEK)
        monthly = _window(conn, entity_type, day, MONTH)
        ranks = (percent_ranks(daily), percent_ranks(weekly), percent_ranks(monthly))
        for entity_id in daily:
            conn.execute(
                update(usage)
                .where(usage.c.entity_id == entity_id, usage.c.day == day.isoformat())
                .values(
                    daily_rank=ranks[0][entity_id],
                    weekly_rank=ranks[1][entity_id],
                    monthly_rank=ranks[2][entity_id],
                )
            )
    return len(daily)


def _aggregate(conn: Connection, day: dt.date, databases: dict[str, list[str]]) -> None:
    tables = _window(conn, "table", day, 1)
    for database_id, table_ids in databases.items():
        used = [tables[t] for t in table_ids if t in tables]
        if used:
            _set_count(conn, database_id, "database", day.isoformat(), sum(used))


def summary(engine: Engine, entity_id: str) -> dict[str, Any] | None:
    """The entity's ``UsageDetails`` of its latest reported day, or None if never used."""
    with engine.connect() as conn:
        row = (
            conn.execute(
                select(usage)
                .where(usage.c.entity_id == entity_id)
                .order_by(usage.c.day.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        day = dt.date.fromisoformat(row["day"])
        first = (day - dt.timedelta(days=MONTH - 1)).isoformat()
        days = (
            conn.execute(
                select(usage.c.day, usage.c.count).where(
                    usage.c.entity_id == entity_id, usage.c.day >= first, usage.c.day <= row["day"]
                )
            )
            .mappings()
            .all()
        )
    week_start = (day - dt.timedelta(days=WEEK - 1)).isoformat()
    weekly = sum(d["count"] for d in days if d["day"] >= week_start)
    return {
        "date": row["day"],
        "dailyStats": _stats(row["count"], row["daily_rank"]),
        "weeklyStats": _stats(weekly, row["weekly_rank"]),
        "monthlyStats": _stats(sum(d["count"] for d in days), row["monthly_rank"]),
    }


def _stats(count: int, rank: float | None) -> dict[str, Any]:
    return {"count": count} if rank is None else {"count": count, "percentileRank": rank}


MAX_JOINS = 1_000


class JoinedWith(Strict):
    fullyQualifiedName: str = Field(max_length=4096)
    joinCount: int


class ColumnJoins(Strict):
    columnName: str | None = Field(default=None, max_length=4096)
    joinedWith: list[JoinedWith] | None = Field(default=None, max_length=MAX_JOINS)


class TableJoins(Strict):
    """OpenMetadata's ``TableJoins`` (``PUT /tables/{id}/joins``)."""

    startDate: dt.date | None = None
    dayCount: int | None = None
    columnJoins: list[ColumnJoins] | None = Field(default=None, max_length=MAX_JOINS)
    directTableJoins: list[JoinedWith] | None = Field(default=None, max_length=MAX_JOINS)


def store_joins(engine: Engine, entity_id: str, joins: TableJoins, at: int) -> None:
    """Keep ``joins`` as the table's latest report (the previous one is replaced)."""
    body = joins.model_dump(mode="json", exclude_none=True)
    with write_transaction(engine) as conn:
        conn.execute(delete(table_joins).where(table_joins.c.entity_id == entity_id))
        conn.execute(insert(table_joins).values(entity_id=entity_id, body=body, updated_at=at))


def joins_of(engine: Engine, entity_id: str) -> TableJoins | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(table_joins.c.body).where(table_joins.c.entity_id == entity_id)
        ).first()
    return None if row is None else TableJoins.model_validate(row.body)


class QueryReference(Strict):
    id: str
    type: Literal["query"]
    name: str | None = None
    fullyQualifiedName: str | None = None
    description: str | None = None
    displayName: str | None = None
    deleted: bool | None = None
    href: str | None = None


class QueryCostRecord(Strict):
    """OpenMetadata's ``CreateQueryCostRecordRequest`` (``POST /queryCostRecord``)."""

    timestamp: int
    jsonSchema: str | None = Field(default=None, max_length=256)
    queryReference: QueryReference
    cost: float
    count: float
    totalDuration: float | None = 0


def store_cost(engine: Engine, record: QueryCostRecord) -> None:
    """Keep the query's cost at the record's timestamp (replacing one there); keep the
    query's newest :data:`MAX_DAYS` records."""
    query_id = record.queryReference.id
    values = {"cost": record.cost, "count": record.count, "total_duration": record.totalDuration}
    with write_transaction(engine) as conn:
        key = (query_costs.c.query_id, query_id)
        replace_keeping_newest(conn, query_costs, key, record.timestamp, values, MAX_DAYS)
