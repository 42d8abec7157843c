"""Spark SQL transpiled to DuckDB, and the errors users see for SQL that cannot run."""

from __future__ import annotations

from pathlib import Path

import pytest
from flare_support import read_folder, run_job

from dataos_defs.stacks.flare import FlareError
from dataos_defs.stacks.flare.sql import substitute, transpile

EVENTS = (
    "SELECT * FROM (VALUES (1, TIMESTAMP '2024-05-01 09:30:00', ARRAY['a', 'b']), "
    "(2, TIMESTAMP '2024-05-02 10:00:00', ARRAY['c'])) AS t(id, at, tags)"
)


def one_step(sql: str) -> dict:  # type: ignore[type-arg]
    return {
        "inputs": [{"name": "events", "query": EVENTS}],
        "steps": [{"sequence": [{"name": "out", "sql": sql}]}],
        "outputs": [{"name": "out", "dataset": "dataos://files:none/out?acl=rw"}],
    }


def test_spark_only_constructs_run_on_duckdb(tmp_path: Path) -> None:
    sql = (
        "SELECT `id`, date_format(at, 'yyyy-MM-dd') AS day, nvl(NULL, id) AS n, tag "
        "FROM events LATERAL VIEW explode(tags) x AS tag"
    )
    assert "STRFTIME" in transpile(sql, "step").sql
    run_job(tmp_path, one_step(sql))
    out = read_folder(tmp_path / "home" / "data" / "files" / "out").sort_by("tag").to_pylist()
    assert out == [
        {"id": 1, "day": "2024-05-01", "n": 1, "tag": "a"},
        {"id": 1, "day": "2024-05-01", "n": 1, "tag": "b"},
        {"id": 2, "day": "2024-05-02", "n": 2, "tag": "c"},
    ]


def test_unparsable_sql_names_the_step_and_position(tmp_path: Path) -> None:
    with pytest.raises(FlareError) as err:
        run_job(tmp_path, one_step("SELECT id FROM events WHERE (id > 1"))
    assert err.value.where == "step 'out'"
    assert "cannot parse the SQL (spark, trino) at line 1, column 35" in err.value.problem
    assert "Expecting )" in err.value.problem


def test_unknown_column_reports_duckdb_binder_error(tmp_path: Path) -> None:
    with pytest.raises(FlareError) as err:
        run_job(tmp_path, one_step("SELECT idd FROM events"))
    assert err.value.where == "step 'out'"
    assert 'Referenced column "idd" not found' in err.value.problem
    assert "run as: SELECT idd FROM events" in err.value.problem


def test_unknown_view_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FlareError, match=r"step 'out'.*Table with name nope does not exist"):
        run_job(tmp_path, one_step("SELECT * FROM nope"))


def test_not_a_query(tmp_path: Path) -> None:
    with pytest.raises(FlareError, match="expected a query"):
        run_job(tmp_path, one_step("DROP TABLE events"))


def test_duplicate_view_names_fail_before_reading(tmp_path: Path) -> None:
    job = one_step("SELECT 1 AS x")
    job["steps"][0]["sequence"][0]["name"] = "Events"
    with pytest.raises(FlareError, match="step 'Events': the name is already used by input"):
        run_job(tmp_path, job)


def test_unsupported_sections_fail_before_reading(tmp_path: Path) -> None:
    job = one_step("SELECT id FROM events")
    job["actions"] = [{"name": "expire_snapshots", "input": "events"}]
    with pytest.raises(FlareError, match="job actions: not supported"):
        run_job(tmp_path, job)


def test_placeholders() -> None:
    assert substitute("x > $|a| AND y < '$|b|'", {"a": "1", "b": "z"}, "w") == "x > 1 AND y < 'z'"
    with pytest.raises(FlareError, match=r"no value for placeholder\(s\) \['c'\]"):
        substitute("$|c|", {"a": "1"}, "w")
