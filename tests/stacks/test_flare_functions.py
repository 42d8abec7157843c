"""Flare's built-in functions, each applied after a step's SQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from flare_support import run_job, transform

from dataos_defs.stacks.flare import ColumnSource, FlareError

PEOPLE = (
    "SELECT * FROM (VALUES (1, 'Ada', 'UK', 36), (1, 'Ada', 'UK', 36), (2, '', NULL, NULL)) "
    "AS t(id, FirstName, Country, age)"
)


def rows(table) -> list[dict]:  # type: ignore[no-untyped-def]
    return sorted(table.to_pylist(), key=lambda r: str(sorted(r.items())))


def test_drop(tmp_path: Path) -> None:
    out = transform(tmp_path, PEOPLE, [{"name": "drop", "columns": ["Country", "age"]}])
    assert out.column_names == ["id", "FirstName"]


def test_rename_all(tmp_path: Path) -> None:
    out = transform(
        tmp_path,
        PEOPLE,
        [{"name": "rename_all", "columns": {"FirstName": "first", "age": "years"}}],
    )
    assert out.column_names == ["id", "first", "Country", "years"]


def test_set_type_takes_spark_type_names(tmp_path: Path) -> None:
    out = transform(
        tmp_path, PEOPLE, [{"name": "set_type", "columns": {"id": "string", "age": "long"}}]
    )
    assert [str(t) for t in out.schema.types] == ["string", "string", "string", "int64"]


def test_snake_case(tmp_path: Path) -> None:
    out = transform(tmp_path, PEOPLE, [{"name": "snake_case"}])
    assert out.column_names == ["id", "first_name", "country", "age"]


def test_drop_duplicates_on_a_subset_and_on_all_columns(tmp_path: Path) -> None:
    subset = transform(tmp_path, PEOPLE, [{"name": "drop_duplicates", "columns": ["Country"]}])
    assert subset.num_rows == 2
    whole = transform(tmp_path / "all", PEOPLE, [{"name": "drop_duplicates"}])
    assert whole.num_rows == 2


def test_fill_null_or_empty_keeps_column_types(tmp_path: Path) -> None:
    out = transform(
        tmp_path,
        PEOPLE,
        [{"name": "fill_null_or_empty", "columns": {"FirstName": "unknown", "age": 0}}],
    )
    assert rows(out)[-1] == {"id": 2, "FirstName": "unknown", "Country": None, "age": 0}
    assert str(out.schema.field("age").type) == "int32"


def test_functions_chain_in_order_and_lineage_follows_them(tmp_path: Path) -> None:
    job = {
        "inputs": [{"name": "src", "query": PEOPLE}],
        "steps": [
            {
                "sequence": [
                    {
                        "name": "out",
                        "sql": "SELECT id, FirstName, age FROM src",
                        "functions": [
                            {"name": "snake_case"},
                            {"name": "rename", "column": "first_name", "asColumn": "name"},
                            {"name": "add_column", "column": "source", "value": "crm"},
                        ],
                    }
                ]
            }
        ],
        "outputs": [{"name": "out", "dataset": "dataos://files:none?acl=rw"}],
    }
    result = run_job(tmp_path, job)
    (out,) = result.outputs
    assert out.dataset == "dataos://files:none/out", "a collection-level address appends the name"
    assert [c for c, _ in out.columns] == ["id", "name", "age", "source"]
    assert set(out.lineage) == {"id", "name", "age", "source"}
    assert out.lineage["source"] == (), "a constant comes from no input"


def test_unknown_function_is_named(tmp_path: Path) -> None:
    with pytest.raises(FlareError) as err:
        transform(tmp_path, PEOPLE, [{"name": "pivot", "columns": ["Country"]}])
    assert err.value.where == "step 'out', function 'pivot'"
    assert "function 'pivot' is not supported" in str(err.value)
    assert "drop_duplicates" in str(err.value), "lists what is supported"


def test_function_on_a_missing_column(tmp_path: Path) -> None:
    with pytest.raises(FlareError, match=r"function 'drop'.*no column 'nope' \(columns: id, "):
        transform(tmp_path, PEOPLE, [{"name": "drop", "columns": ["nope"]}])


def test_lineage_of_query_input_over_a_dotted_dataset(tmp_path: Path) -> None:
    landing = tmp_path / "home" / "data" / "landing"
    landing.mkdir(parents=True)
    (landing / "products.csv").write_text("product_id,unit_price\np1,2.5\np2,4.0\n")
    job = {
        "inputs": [
            {
                "name": "cheap",
                "query": "SELECT product_id AS id, unit_price * 2 AS price2 "
                "FROM landing.none.products WHERE unit_price < 3",
            }
        ],
        "outputs": [{"name": "cheap", "dataset": "dataos://files:none/cheap?acl=rw"}],
    }
    (out,) = run_job(tmp_path, job).outputs
    assert out.rows == 1
    assert out.lineage == {
        "id": (ColumnSource("dataos://landing:none/products", "product_id"),),
        "price2": (ColumnSource("dataos://landing:none/products", "unit_price"),),
    }
