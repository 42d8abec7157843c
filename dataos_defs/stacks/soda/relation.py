"""What the checks that stay on DuckDB read, and the value conversions every check shares.

``failed rows``, user-defined metrics and ``same as`` are written in SQL by the user and run
on the input's DuckDB connection; the other checks run on Great Expectations (``gx_*``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from decimal import Decimal

import duckdb

from dataos_defs.adapters.duckdb_engine import quote
from dataos_defs.stacks.soda.sqltext import CheckProblem

_NUMERIC = re.compile(r"^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|FLOAT|DOUBLE|REAL|DECIMAL.*)$")


@dataclass(frozen=True)
class Relation:
    """What a check reads: the dataset view, narrowed by the check's own ``filter``."""

    sql: str
    columns: dict[str, tuple[str, str]]
    """Lower-cased column name -> (name, DuckDB type)."""

    def column(self, name: str) -> tuple[str, str]:
        """The quoted column and its type; an unknown column is a check problem."""
        found = self.name(name)
        return quote(found), self.columns[found.lower()][1]

    def name(self, name: str) -> str:
        """The column's name as the dataset spells it (checks name columns in any case)."""
        found = self.columns.get(name.lower())
        if found is None:
            known = ", ".join(n for n, _ in self.columns.values())
            raise CheckProblem(f"no column '{name}' in the dataset (columns: {known})")
        return found[0]


def is_numeric(column_type: str) -> bool:
    return bool(_NUMERIC.match(column_type.upper()))


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    try:
        rows = con.execute(sql).fetchall()
    except duckdb.Error as exc:
        raise CheckProblem(f"DuckDB rejected the check's SQL: {exc}") from None
    return rows[0][0] if rows and rows[0] else None


def number(value: object, what: str) -> float | None:
    """A measured value as a float; ``None`` (and NaN: no rows to measure) stays ``None``."""
    if value is None:
        return None
    if isinstance(value, bool | int | float | Decimal):
        result = float(value)
        return None if math.isnan(result) else result
    if hasattr(value, "item") and callable(value.item):
        return number(value.item(), what)
    raise CheckProblem(f"'{what}' measured {value!r}, which is not a number")


def age(latest: object, now: dt.datetime) -> float:
    """Seconds from the latest timestamp to ``now``; naive timestamps and dates are UTC.

    Hand-written on purpose: Great Expectations measures the latest value, but has no
    expectation on the age of data relative to a run's clock.
    """
    if isinstance(latest, str):
        try:
            latest = dt.datetime.fromisoformat(latest)
        except ValueError:
            raise CheckProblem(f"freshness needs a date or timestamp, not {latest!r}") from None
    if isinstance(latest, dt.datetime):
        stamp = latest if latest.tzinfo else latest.replace(tzinfo=dt.UTC)
    elif isinstance(latest, dt.date):
        stamp = dt.datetime(latest.year, latest.month, latest.day, tzinfo=dt.UTC)
    else:
        raise CheckProblem(f"freshness needs a date or timestamp column, not {latest!r}")
    return (now - stamp).total_seconds()
