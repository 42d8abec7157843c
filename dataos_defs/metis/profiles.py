"""Table profiles: what the profiler measured of a table and its columns, kept beside the
entity (never in its body, so versions, search and patches carry no profile values).

A profile is data: a column's ``min``, ``max``, quartiles, histogram and top values are
values of the column. Only the counts and proportions in :data:`COUNT_FIELDS` describe a
column without quoting it; :func:`without_values` keeps those alone, for a reader to whom
the column is masked (``dataos_defs.api.metis.profile_routes`` decides who).

History is bounded: the newest :data:`MAX_PROFILES` profiles of a table are kept, older ones
are dropped when a new one arrives (a re-run at the same timestamp replaces it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import Engine, select

from dataos_defs.metis.entities import Strict
from dataos_defs.metis.rows import replace_keeping_newest
from dataos_defs.metis.schema import table_profiles
from dataos_defs.poros.db import write_transaction

MAX_PROFILES = 30
"""Profiles kept per table (the newest)."""
MAX_COLUMN_PROFILES = 5_000
MAX_SYSTEM_PROFILES = 1_000
MAX_LIST = 1_000
"""Values a histogram, a cardinality distribution or a custom metric list may hold."""
MAX_TEXT = 4_096
"""A ``min`` or ``max`` string longer than this is cut (a profile is no place for blobs)."""

COUNT_FIELDS = frozenset(
    {
        "name",
        "timestamp",
        "valuesCount",
        "valuesPercentage",
        "validCount",
        "duplicateCount",
        "nullCount",
        "nullProportion",
        "missingPercentage",
        "missingCount",
        "uniqueCount",
        "uniqueProportion",
        "distinctCount",
        "distinctProportion",
    }
)
"""Column profile fields that hold no value of the column: kept for a masked column."""

Number = float | int


class CustomMetricProfile(Strict):
    name: str | None = Field(default=None, max_length=256)
    value: Number | None = None


class Histogram(Strict):
    boundaries: list[Any] | None = Field(default=None, max_length=MAX_LIST)
    frequencies: list[Any] | None = Field(default=None, max_length=MAX_LIST)


class CardinalityDistribution(Strict):
    categories: list[str] | None = Field(default=None, max_length=MAX_LIST)
    counts: list[int] | None = Field(default=None, max_length=MAX_LIST)
    percentages: list[Number] | None = Field(default=None, max_length=MAX_LIST)
    allValuesUnique: bool | None = None


class TableProfile(Strict):
    timestamp: int
    profileSample: Number | None = None
    profileSampleType: Literal["PERCENTAGE", "ROWS"] | None = None
    columnCount: Number | None = None
    rowCount: Number | None = None
    sizeInByte: Number | None = None
    createDateTime: str | None = Field(default=None, max_length=64)
    customMetrics: list[CustomMetricProfile] | None = Field(default=None, max_length=MAX_LIST)


class ColumnProfile(Strict):
    name: str = Field(max_length=MAX_TEXT)
    timestamp: int
    valuesCount: Number | None = None
    valuesPercentage: Number | None = None
    validCount: Number | None = None
    duplicateCount: Number | None = None
    nullCount: Number | None = None
    nullProportion: Number | None = None
    missingPercentage: Number | None = None
    missingCount: Number | None = None
    uniqueCount: Number | None = None
    uniqueProportion: Number | None = None
    distinctCount: Number | None = None
    distinctProportion: Number | None = None
    min: Number | str | None = None
    max: Number | str | None = None
    minLength: Number | None = None
    maxLength: Number | None = None
    mean: Number | None = None
    sum: Number | None = None
    stddev: Number | None = None
    variance: Number | None = None
    median: Number | None = None
    firstQuartile: Number | None = None
    thirdQuartile: Number | None = None
    interQuartileRange: Number | None = None
    nonParametricSkew: Number | None = None
    histogram: Histogram | None = None
    cardinalityDistribution: CardinalityDistribution | None = None
    customMetrics: list[CustomMetricProfile] | None = Field(default=None, max_length=MAX_LIST)


class SystemProfile(Strict):
    timestamp: int | None = None
    operation: Literal["INSERT", "UPDATE", "DELETE", "WRITE"] | None = None
    rowsAffected: int | None = None


class CreateTableProfile(Strict):
    """OpenMetadata's ``CreateTableProfileRequest`` (``PUT /tables/{id}/tableProfile``)."""

    tableProfile: TableProfile
    columnProfile: list[ColumnProfile] | None = Field(default=None, max_length=MAX_COLUMN_PROFILES)
    systemProfile: list[SystemProfile] | None = Field(default=None, max_length=MAX_SYSTEM_PROFILES)


@dataclass(frozen=True)
class Profile:
    """One stored profile, as answered (``exclude_none`` dumps of the models above)."""

    timestamp: int
    table: dict[str, Any]
    columns: list[dict[str, Any]]
    system: list[dict[str, Any]]

    def column(self, name: str) -> dict[str, Any] | None:
        wanted = name.lower()
        return next((c for c in self.columns if str(c.get("name", "")).lower() == wanted), None)


def _dumped(model: Strict) -> dict[str, Any]:
    found: dict[str, Any] = model.model_dump(mode="json", exclude_none=True)
    for key in ("min", "max"):
        if isinstance(found.get(key), str):
            found[key] = found[key][:MAX_TEXT]
    return found


def store(engine: Engine, entity_id: str, request: CreateTableProfile) -> Profile:
    """Keep ``request`` as the table's profile at its timestamp; drop the oldest beyond
    :data:`MAX_PROFILES`."""
    profile = Profile(
        timestamp=request.tableProfile.timestamp,
        table=_dumped(request.tableProfile),
        columns=[_dumped(column) for column in request.columnProfile or []],
        system=[_dumped(item) for item in request.systemProfile or []],
    )
    values = {
        "table_profile": profile.table,
        "column_profiles": profile.columns,
        "system_profiles": profile.system,
    }
    with write_transaction(engine) as conn:
        key = (table_profiles.c.entity_id, entity_id)
        replace_keeping_newest(conn, table_profiles, key, profile.timestamp, values, MAX_PROFILES)
    return profile


def latest(engine: Engine, entity_id: str) -> Profile | None:
    with engine.connect() as conn:
        row = conn.execute(
            select(table_profiles)
            .where(table_profiles.c.entity_id == entity_id)
            .order_by(table_profiles.c.timestamp.desc())
            .limit(1)
        ).first()
    if row is None:
        return None
    return Profile(row.timestamp, row.table_profile, row.column_profiles, row.system_profiles)


def history(engine: Engine, entity_id: str, start: int, end: int) -> list[Profile]:
    """The table's profiles taken in ``[start, end]`` (milliseconds), newest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(table_profiles)
            .where(
                table_profiles.c.entity_id == entity_id,
                table_profiles.c.timestamp >= start,
                table_profiles.c.timestamp <= end,
            )
            .order_by(table_profiles.c.timestamp.desc())
        ).all()
    return [
        Profile(r.timestamp, r.table_profile, r.column_profiles, r.system_profiles) for r in rows
    ]


def without_values(column_profile: dict[str, Any]) -> dict[str, Any]:
    """The column profile with its counts and proportions only (:data:`COUNT_FIELDS`)."""
    return {key: value for key, value in column_profile.items() if key in COUNT_FIELDS}
