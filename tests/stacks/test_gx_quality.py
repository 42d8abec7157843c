"""SodaCL checks measured by Great Expectations on hand-made data with known violations:
which built-in expectation measures each form, the counts and samples GX reports, and the
SodaCL metrics derived from them (combined rules, duplicates, variances, references).

GX is imported once for the module (``gx_loaded``), so no test pays its import.
"""

from __future__ import annotations

import datetime as dt
import statistics
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest
from flare_support import Resolver, local_resolver
from test_soda import FORMAT_CASES

from dataos_defs.manifest.stacks.soda import SodaSpec
from dataos_defs.stacks.soda import CheckResult, checks, run_soda_job
from dataos_defs.stacks.soda.formats import FORMATS
from dataos_defs.stacks.soda.gx_engine import (
    SAMPLE_SIZE,
    SAMPLE_TEXT,
    expectations,
    plain,
    preload,
    validate,
)
from dataos_defs.stacks.soda.gx_sql import available

NOW = dt.datetime(2024, 5, 4, tzinfo=dt.UTC)
ORDERS = pa.table(
    {
        "id": [1, 2, 3, 4, 5, 6, 7, 8, 8, 9],
        "customer": ["c1", "c2", "c2", "c3", "c9", None, "c1", "c2", "c2", "c8"],
        "status": ["paid", "paid", "open", "void", "PAID", "paid", "n/a", "open", "open", None],
        "amount": [10.0, 20.0, 30.0, -5.0, 40.0, None, 50.0, 60.0, 60.0, 1000.0],
        "code": ["AB-1", "AB-22", "x", "AB-333", "AB-4444", "AB-5", "", "AB-6", "AB-6", None],
        "region": ["eu", "eu", "us", "us", "eu", "eu", "us", "eu", "eu", "apac"],
        "placed": [dt.datetime(2024, 5, 3, h) for h in range(10)],
    }
)
CUSTOMERS = pa.table({"id": ["c1", "c2", "c3"], "region": ["eu", "eu", "us"]})
UDL = "dataos://files:none/orders"
UNIQUE = "expect_column_values_to_be_unique, expect_column_unique_value_count_to_be_between"


@pytest.fixture(scope="module", autouse=True)
def gx_loaded() -> None:
    preload()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("gxq")
    folder = root / "home" / "data" / "files"
    folder.mkdir(parents=True)
    pq.write_table(ORDERS, folder / "orders.parquet")
    pq.write_table(CUSTOMERS, folder / "customers.parquet")
    return root


@pytest.fixture(scope="module")
def resolver(home: Path) -> Resolver:
    return local_resolver(home)


def check_all(home: Path, resolver: Resolver, checks: list[Any]) -> list[CheckResult]:
    spec = SodaSpec.model_validate({"inputs": [{"dataset": UDL, "checks": checks}]})
    return list(run_soda_job(spec, resolver, home=home / "home", now=NOW).checks)


def one(home: Path, resolver: Resolver, check: Any) -> CheckResult:
    (result,) = check_all(home, resolver, [check])
    return result


FORMS = [
    # (check, outcome, value, expectation, unexpected count, sample)
    ("row_count between 1 and 9", "fail", 10, "expect_table_row_count_to_be_between", None, None),
    ("missing_count(status) = 0", "fail", 1, "expect_column_values_to_not_be_null", None, None),
    (
        {"missing_count(status) < 3": {"missing values": ["n/a"]}},
        "pass",
        2,
        "expect_column_values_to_not_be_null, expect_column_values_to_not_be_in_set",
        1,
        ["n/a"],
    ),
    (
        "missing_percent(customer) <= 5%",
        "fail",
        10,
        "expect_column_values_to_not_be_null",
        None,
        None,
    ),
    ("duplicate_count(customer) = 0", "fail", 2, UNIQUE, 6, None),
    ("duplicate_count(id, amount) = 1", "pass", 1, UNIQUE, 2, None),
    ("duplicate_percent(id) < 10%", "fail", 20, UNIQUE, 2, [8, 8]),
    (
        {"invalid_count(status) = 0": {"valid values": ["paid", "open"]}},
        "fail",
        3,
        "expect_column_values_to_be_in_set",
        3,
        ["void", "PAID", "n/a"],
    ),
    (
        {"invalid_count(code) = 0": {"valid regex": "^AB-[0-9]+$"}},
        "fail",
        2,
        "expect_column_values_to_match_regex",
        2,
        ["x", ""],
    ),
    (
        {"invalid_count(amount) = 0": {"valid min": 0, "valid max": 100}},
        "fail",
        2,
        "expect_column_values_to_be_between",
        2,
        [-5.0, 1000.0],
    ),
    (
        {"invalid_count(code) = 0": {"valid min length": 2, "valid max length": 5}},
        "fail",
        4,
        "expect_column_value_lengths_to_be_between",
        4,
        ["x", "AB-333", "AB-4444", ""],
    ),
    (
        {"invalid_percent(code) < 20%": {"valid length": 4}},
        "fail",
        50,
        "expect_column_value_lengths_to_equal",
        5,
        None,
    ),
    ("min(amount) >= 0", "fail", -5, "expect_column_min_to_be_between", None, None),
    ("max(amount) <= 1000", "pass", 1000, "expect_column_max_to_be_between", None, None),
    (
        "avg(amount) between 100 and 200",
        "pass",
        1265 / 9,
        "expect_column_mean_to_be_between",
        None,
        None,
    ),
    ("sum(amount) = 1265", "pass", 1265, "expect_column_sum_to_be_between", None, None),
    ("max_length(code) <= 6", "fail", 7, "expect_column_max_to_be_between", None, None),
    ("avg_length(region) < 3", "pass", 2.2, "expect_column_mean_to_be_between", None, None),
    ("freshness(placed) < 1d", "pass", 15 * 3600, "expect_column_max_to_be_between", None, None),
    (
        "values in (customer) must exist in customers (id)",
        "fail",
        2,
        "expect_column_values_to_be_in_set",
        2,
        ["c9", "c8"],
    ),
    (
        {"schema": {"fail": {"when required column missing": ["id", "paid_at"]}}},
        "fail",
        1,
        "expect_table_columns_to_match_set, expect_column_to_exist",
        None,
        None,
    ),
]


@pytest.mark.parametrize(
    ("check", "outcome", "value", "expectation", "count", "sample"), FORMS, ids=str
)
def test_each_form_is_measured_by_a_built_in_expectation(
    home: Path,
    resolver: Resolver,
    check: Any,
    outcome: str,
    value: float,
    expectation: str,
    count: int | None,
    sample: list[Any] | None,
) -> None:
    result = one(home, resolver, check)
    assert (result.outcome, result.value) == (outcome, pytest.approx(value)), result.explanation
    assert result.details["gx/expectations"] == expectation
    assert result.details.get("gx/unexpected_count") == count
    if sample is not None:
        assert result.details["gx/unexpected_sample"] == sample


def test_every_form_in_one_run_is_validated_together(home: Path, resolver: Resolver) -> None:
    results = check_all(home, resolver, [form[0] for form in FORMS])
    assert [(r.outcome, r.value) for r in results] == [
        (form[1], pytest.approx(form[2])) for form in FORMS
    ]


def test_rows_failing_several_rules_count_once_and_declared_missing_values_are_not_invalid(
    home: Path, resolver: Resolver
) -> None:
    config = {
        "valid values": ["paid", "open", "void"],
        "valid regex": "^[a-z]+$",
        "missing values": ["n/a"],
    }
    result = one(home, resolver, {"invalid_count(status) = 0": config})
    assert (result.outcome, result.value) == ("fail", 1), "PAID fails both rules; n/a is missing"
    assert result.details["gx/unexpected_count"] == 1
    assert result.details["gx/unexpected_sample"] == ["PAID"]
    missing = one(
        home,
        resolver,
        {"missing_count(code) = 0": {"missing values": ["x"], "missing regex": "^$"}},
    )
    assert missing.value == 3, "NULL, '' and 'x'"


def test_variances_follow_from_gx_standard_deviation(home: Path, resolver: Resolver) -> None:
    amounts = [a for a in ORDERS.column("amount").to_pylist() if a is not None]
    checks = [
        "variance(amount) > 0",
        "var_pop(amount) > 0",
        "stddev_pop(amount) > 0",
        "stddev(amount) > 0",
    ]
    found = [r.value for r in check_all(home, resolver, checks)]
    assert found == [
        pytest.approx(statistics.variance(amounts)),
        pytest.approx(statistics.pvariance(amounts)),
        pytest.approx(statistics.pstdev(amounts)),
        pytest.approx(statistics.stdev(amounts)),
    ]


def test_percentile_interpolates_linearly(home: Path, resolver: Resolver) -> None:
    result = one(home, resolver, "percentile(amount, 0.25) = 20")
    assert (result.outcome, result.value) == ("pass", 20)
    assert result.details["gx/expectations"] == "expect_column_quantile_values_to_be_between"


def test_warn_and_fail_levels_judge_what_gx_measured(home: Path, resolver: Resolver) -> None:
    levels = {"warn": "when > 0", "fail": "when > 2"}
    warned = one(home, resolver, {"missing_count(status)": levels})
    failed = one(home, resolver, {"invalid_count(region)": {**levels, "valid values": ["eu"]}})
    assert (warned.outcome, warned.value, warned.threshold) == (
        "warn",
        1,
        "warn when > 0; fail when > 2",
    )
    assert (failed.outcome, failed.value) == ("fail", 4)


def test_check_filters_narrow_the_batch(home: Path, resolver: Resolver) -> None:
    checks = [
        {"row_count = 6": {"filter": "region = 'eu'"}},
        {
            "invalid_count(status) = 0": {
                "filter": "region = 'eu'",
                "valid values": ["paid", "open"],
            }
        },
        "row_count = 10",
    ]
    assert [(r.outcome, r.value) for r in check_all(home, resolver, checks)] == [
        ("pass", 6),
        ("fail", 1),
        ("pass", 10),
    ]


def test_a_bad_check_fails_alone_with_the_reason(home: Path, resolver: Resolver) -> None:
    results = check_all(
        home,
        resolver,
        [
            {"invalid_count(code) = 0": {"valid min": 1}},
            {"row_count > 0": {"filter": "region ="}},
            "row_count > 0",
        ],
    )
    assert [(r.outcome, r.evaluated) for r in results] == [
        ("fail", False),
        ("fail", False),
        ("pass", True),
    ]
    assert "'valid min' and 'valid max' compare numbers; code is VARCHAR" in results[0].explanation
    assert "the check's filter" in results[1].explanation


def test_samples_are_bounded() -> None:
    assert plain("x" * 500) == "x" * (SAMPLE_TEXT - 1) + "…"
    assert plain(float("nan")) is None and SAMPLE_SIZE == 5


def test_batches_and_reference_value_sets_are_bounded(
    home: Path, resolver: Resolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checks, "REFERENCE_VALUES_LIMIT", 2)
    reference = one(home, resolver, "values in (customer) must exist in customers (id)")
    assert not reference.evaluated
    assert "customers has more than 2 distinct values" in reference.explanation
    monkeypatch.setattr(checks, "BATCH_ROWS_LIMIT", 9)
    too_big = one(home, resolver, {"invalid_count(code) < 5": {"valid regex": "^AB"}})
    assert (too_big.outcome, too_big.evaluated) == ("fail", False)
    assert "10 rows exceed the 9 a batch may hold" in too_big.explanation
    if available():
        assert one(home, resolver, "row_count > 0").passed, "computed in DuckDB: no batch"
    assert one(home, resolver, {"row_count = 6": {"filter": "region = 'eu'"}}).passed


def test_observed_values_are_shown_as_plain_values(home: Path, resolver: Resolver) -> None:
    fresh, mean = check_all(home, resolver, ["freshness(placed) < 1d", "avg(amount) > 0"])
    assert fresh.details["gx/observed_value"] == "2024-05-03 09:00:00"
    assert mean.details["gx/observed_value"] == pytest.approx(1265 / 9)
    assert type(mean.details["gx/observed_value"]) is float


def test_valid_formats_match_the_same_values_in_gx_batches() -> None:
    """GX matches regexes on the batch's Arrow strings (RE2, as DuckDB): same verdicts."""
    gxe = expectations()
    for name, good, bad in FORMAT_CASES:
        frame = pd.DataFrame({"value": [*good, *bad]})
        (result,) = validate(
            frame,
            [gxe.ExpectColumnValuesToMatchRegex(column="value", regex=FORMATS[name])],
            complete=True,
        )
        assert result.unexpected is not None
        assert sorted(result.unexpected) == list(range(len(good), len(good) + len(bad))), name
