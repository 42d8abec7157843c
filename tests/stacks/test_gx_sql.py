"""Great Expectations computing metrics inside DuckDB (``gx_sql``), on the run's governed
connection only: it sees masked values, reaches no file and opens no database of its own,
and its results equal the pandas path's for every check routed to it.

Needs ``duckdb-engine`` (GX's SQLAlchemy dialect for DuckDB); without it every check runs
on pandas batches and these tests are skipped.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
import pytest
from flare_support import Resolver
from test_gx_quality import FORMS, check_all, gx_loaded, home, resolver

from dataos_defs.adapters import duckdb_engine as engine
from dataos_defs.stacks.flare.inputs import confine
from dataos_defs.stacks.soda import checks, gx_route
from dataos_defs.stacks.soda.gx_engine import expectations
from dataos_defs.stacks.soda.gx_sql import available, validate_sql

pytestmark = pytest.mark.skipif(not available(), reason="duckdb-engine is not installed")
__all__ = ["gx_loaded", "home", "resolver"]

EMAILS = ["ann@example.com", "bob@example.com", None]


def _masked(value: str | None) -> str | None:
    return None if value is None else hashlib.sha256(value.encode()).hexdigest()


@pytest.fixture
def governed() -> duckdb.DuckDBPyConnection:
    """A connection as a governed soda run leaves it: the data registered as Arrow, a
    view masking the e-mails, the connection confined."""
    con = engine.connect()
    engine.register_arrow(con, "__soda_dataset", pa.table({"email": EMAILS}))
    con.execute(
        "CREATE VIEW people AS SELECT CASE WHEN email IS NULL THEN NULL "
        "ELSE sha256(email) END AS email FROM __soda_dataset"
    )
    confine(con)
    return con


def test_gx_sees_the_masked_values_of_the_governed_view(
    governed: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("GX opened a database of its own")

    monkeypatch.setattr(duckdb, "connect", refuse)
    gxe = expectations()
    in_set, not_null = validate_sql(
        governed,
        '"people"',
        [
            gxe.ExpectColumnValuesToBeInSet(column="email", value_set=["ann@example.com"]),
            gxe.ExpectColumnValuesToNotBeNull(column="email"),
        ],
    )
    assert in_set.error is None and in_set.unexpected_count == 2
    assert set(in_set.sample) == {_masked(e) for e in EMAILS if e}
    assert (not_null.unexpected_count, not_null.element_count) == (1, 3)


@pytest.mark.parametrize(
    ("relation", "refused"),
    [
        ("read_csv('/etc/hostname')", "Permission Error"),
        ("secret_frame", "Catalog Error"),
    ],
)
def test_gx_reaches_nothing_but_the_governed_connection(
    governed: duckdb.DuckDBPyConnection, relation: str, refused: str
) -> None:
    secret_frame = pa.table({"email": ["raw@example.com"]})
    assert secret_frame.num_rows == 1, "a Python object GX must not read by its name"
    (result,) = validate_sql(governed, relation, [expectations().ExpectTableRowCountToBeBetween()])
    assert result.error is not None and refused in result.error, result.error


def test_the_connection_outlives_gx_and_keeps_its_settings(
    governed: duckdb.DuckDBPyConnection,
) -> None:
    validate_sql(governed, '"people"', [expectations().ExpectTableRowCountToBeBetween()])
    assert governed.sql("SELECT count(*) FROM people").fetchall() == [(3,)]
    with pytest.raises(duckdb.Error):
        governed.execute("SET enable_external_access = true")


@pytest.mark.parametrize("form", FORMS, ids=str)
def test_sql_and_pandas_paths_give_identical_results(
    home: Path, resolver: Resolver, monkeypatch: pytest.MonkeyPatch, form: tuple[Any, ...]
) -> None:
    (in_duckdb,) = check_all(home, resolver, [form[0]])
    monkeypatch.setattr(checks, "available", lambda: False)
    (in_pandas,) = check_all(home, resolver, [form[0]])
    assert in_duckdb == in_pandas


def test_plain_measures_run_in_duckdb_and_regexes_on_pandas(
    home: Path, resolver: Resolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    routed: list[bool] = []
    real = gx_route.in_sql

    def spy(*args: Any) -> bool:
        routed.append(real(*args))
        return routed[-1]

    monkeypatch.setattr("dataos_defs.stacks.soda.gx_batch.in_sql", spy)
    check_all(
        home,
        resolver,
        [
            "row_count > 0",
            "max_length(code) <= 6",
            "freshness(placed) < 1d",
            {"invalid_count(code) = 0": {"valid regex": "^AB"}},
            {"invalid_count(status) = 0": {"valid values": ["paid"], "valid regex": "^p"}},
        ],
    )
    assert routed == [True, True, True, False, False]
