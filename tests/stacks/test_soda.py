"""The soda executor on real data: parquet files, an Iceberg lakehouse and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest
import yaml
from flare_support import PASSWORD, ROOT, Resolver, Shop, local_resolver

from dataos_defs.adapters import iceberg
from dataos_defs.manifest.stacks.soda import SodaSpec
from dataos_defs.manifest.workflow import Workflow
from dataos_defs.stacks.soda import FORMATS, CheckResult, SodaError, SodaResult, run_soda_job

NOW = dt.datetime(2024, 5, 4, tzinfo=dt.UTC)
PEOPLE = pa.table(
    {
        "id": [1, 2, 3, 4, 4],
        "email": ["ada@example.com", "alan@example", None, "grace@example.com", "G@example.com"],
        "age": [36, 41, None, 17, 17],
        "country": ["UK", "UK", "US", "us", "N/A"],
        "code": ["A-1", "B-22", "", "C-333", "D-4444"],
        "amount": [10.5, 20.0, None, 30.0, 39.5],
        "signed_up": [
            dt.datetime(2024, 5, 1, 10),
            dt.datetime(2024, 5, 2, 10),
            None,
            dt.datetime(2024, 5, 3, 12),
            dt.datetime(2024, 5, 3, 12),
        ],
    }
)
PEOPLE_UDL = "dataos://files:none/people"


@pytest.fixture
def files(tmp_path: Path) -> Resolver:
    """``people`` and ``countries`` as parquet files of the ``files`` depot."""
    folder = tmp_path / "home" / "data" / "files"
    folder.mkdir(parents=True)
    pq.write_table(PEOPLE, folder / "people.parquet")
    pq.write_table(pa.table({"code": ["UK", "US"]}), folder / "countries.parquet")
    return local_resolver(tmp_path)


def run(tmp_path: Path, resolver: Resolver, checks: list[Any], **item: Any) -> SodaResult:
    spec = SodaSpec.model_validate({"inputs": [{"dataset": PEOPLE_UDL, "checks": checks, **item}]})
    return run_soda_job(spec, resolver, home=tmp_path / "home", now=NOW)


def one(tmp_path: Path, resolver: Resolver, check: Any, **item: Any) -> CheckResult:
    (result,) = run(tmp_path, resolver, [check], **item).checks
    return result


METRICS = [
    ("row_count = 5", "pass", 5),
    ("row_count between 10 and 1000", "fail", 5),
    ("row_count not between 10 and 20", "pass", 5),
    ("row_count != 5", "fail", 5),
    ("missing_count(id) = 0", "pass", 0),
    ("missing_count(email) = 0", "fail", 1),
    ("missing_percent(email) < 25%", "pass", 20),
    ("missing_percent(email) <= 10%", "fail", 20),
    ({"missing_count(country) = 0": {"missing values": ["N/A"]}}, "fail", 1),
    ({"missing_count(code) = 1": {"missing regex": "^$"}}, "pass", 1),
    ({"missing_count(age) = 1": {"missing values": [99, "x"]}}, "pass", 1),
    ("duplicate_count(email) = 0", "pass", 0),
    ("duplicate_count(id) = 0", "fail", 1),
    ("duplicate_count(age, signed_up) = 1", "pass", 1),
    ("duplicate_percent(id) = 40%", "pass", 40),
    ("duplicate_percent(age) < 50%", "fail", 50),
    ({"invalid_count(email) = 0": {"valid format": "email"}}, "fail", 1),
    ({"invalid_percent(email) < 30%": {"valid format": "email"}}, "pass", 20),
    ({"invalid_count(age) = 0": {"valid min": 18}}, "fail", 2),
    ({"invalid_count(age) = 0": {"valid max": 40}}, "fail", 1),
    ({"invalid_count(age) = 0": {"valid min": 0, "valid max": 120}}, "pass", 0),
    ({"invalid_count(country) = 0": {"valid values": ["UK", "US"]}}, "fail", 2),
    ({"invalid_count(id) = 0": {"valid values": [1, 2, 3, 4]}}, "pass", 0),
    ({"invalid_count(country) = 1": {"invalid values": ["N/A"]}}, "pass", 1),
    ({"invalid_count(code) = 0": {"valid regex": "^[A-Z]-[0-9]+$"}}, "fail", 1),
    ({"invalid_count(code) = 4": {"valid length": 3}}, "pass", 4),
    ({"invalid_count(code) = 0": {"valid min length": 3, "valid max length": 5}}, "fail", 2),
    ({"invalid_count(code) = 0": {"valid format": "integer"}}, "fail", 5),
    ("min(age) >= 18", "fail", 17),
    ("max(age) <= 41", "pass", 41),
    ("avg(amount) = 25", "pass", 25),
    ("sum(amount) > 100", "fail", 100),
    ("percentile(amount, 0.5) = 25", "pass", 25),
    ("stddev(age) > 0", "pass", pytest.approx(12.5797, abs=1e-4)),
    ("min_length(code) > 0", "fail", 0),
    ("max_length(code) <= 6", "pass", 6),
    ("avg_length(country) = 2.2", "pass", 2.2),
    ("freshness(signed_up) < 1d", "pass", 12 * 3600),
    ("freshness(signed_up) < 6h", "fail", 12 * 3600),
    ({"row_count = 2": {"filter": "country = 'UK'"}}, "pass", 2),
    ({"missing_count(email) = 0": {"filter": "id <> 3"}}, "pass", 0),
]


@pytest.mark.parametrize(("check", "outcome", "value"), METRICS, ids=str)
def test_metric(tmp_path: Path, files: Resolver, check: Any, outcome: str, value: Any) -> None:
    result = one(tmp_path, files, check)
    assert (result.outcome, result.value) == (outcome, value), result.explanation
    assert result.evaluated
    assert result.passed is (outcome == "pass")


def test_result_carries_name_attributes_and_explanation(tmp_path: Path, files: Resolver) -> None:
    config = {
        "name": "e-mails exist",
        "attributes": {"title": "no missing e-mails", "category": "Completeness"},
    }
    result = one(tmp_path, files, {"missing_count(email) = 0": config})
    assert result.name == "e-mails exist"
    assert result.check == "missing_count(email) = 0"
    assert (result.title, result.category) == ("no missing e-mails", "Completeness")
    assert result.dataset == PEOPLE_UDL
    assert (result.severity, result.threshold) == ("fail", "expected = 0")
    assert result.explanation == "missing_count(email) = 1, expected = 0"
    assert one(tmp_path, files, "row_count > 0").name == "row_count > 0"
    share = one(tmp_path, files, "missing_percent(email) < 10%")
    assert share.explanation == "missing_percent(email) = 20%, expected < 10%"
    fresh = one(tmp_path, files, "freshness(signed_up) < 6h")
    assert fresh.explanation == "freshness(signed_up) = 12h, expected < 6h"


@pytest.mark.parametrize(
    ("when", "outcome", "severity"),
    [
        ({"warn": "when > 0", "fail": "when > 5"}, "warn", "warn"),
        ({"warn": "when > 0", "fail": "when >= 1"}, "fail", "fail"),
        ({"warn": "when > 1"}, "pass", "warn"),
        ({"fail": "when between 1 and 3"}, "fail", "fail"),
        ({"warn": "when > 5", "fail": "when > 10"}, "pass", "fail"),
    ],
)
def test_warn_and_fail_levels(
    tmp_path: Path, files: Resolver, when: dict[str, str], outcome: str, severity: str
) -> None:
    result = one(tmp_path, files, {"missing_count(email)": when})
    assert (result.outcome, result.severity) == (outcome, severity), result.explanation


def test_freshness_levels_and_no_rows(tmp_path: Path, files: Resolver) -> None:
    check = {"freshness(signed_up)": {"warn": "when > 6h", "fail": "when > 2d"}}
    result = one(tmp_path, files, check)
    assert (result.outcome, result.threshold) == ("warn", "warn when > 6h; fail when > 2d")
    empty = one(tmp_path, files, "freshness(signed_up) < 1d", filter={"where": "id > 100"})
    assert (empty.outcome, empty.value) == ("fail", None)
    assert "no value" in empty.explanation


def test_nulls_are_neither_invalid_nor_duplicates_nor_in_aggregates(
    tmp_path: Path, files: Resolver
) -> None:
    result = run(
        tmp_path,
        files,
        [
            {"invalid_count(age) = 0": {"valid min": 17}},
            "duplicate_count(amount) = 0",
            "avg(age) = 27.75",
            {"values in (email) must exist in people (email)": {}},
        ],
    )
    assert [c.outcome for c in result.checks] == ["pass"] * 4


def test_dataset_filter_applies_to_every_check(tmp_path: Path, files: Resolver) -> None:
    result = run(
        tmp_path,
        files,
        ["row_count = 2", "missing_count(email) = 0", "min(age) >= 18"],
        filter={"name": "adults", "where": "age >= 18"},
        options={"engine": "minerva", "clusterName": "minervashop"},
    )
    assert [c.outcome for c in result.checks] == ["pass"] * 3
    (dataset,) = result.datasets
    assert (dataset.rows, dataset.filter) == (2, "age >= 18")
    assert ("signed_up", "TIMESTAMP") in dataset.columns


def test_reference_checks(tmp_path: Path, files: Resolver) -> None:
    checks = [
        "values in (country) must exist in countries (code)",
        "values in (country) must not exist in countries (code)",
        "values in (country) must exist in files.none.countries (code)",
    ]
    missing, present, dotted = run(tmp_path, files, checks).checks
    assert (missing.outcome, missing.value) == ("fail", 2)
    assert missing.explanation == ("values in (country) missing from countries = 2, expected = 0")
    assert (present.outcome, present.value) == ("fail", 3)
    assert dotted.value == 2
    only_known = run(tmp_path, files, checks[:1], filter={"where": "country IN ('UK', 'US')"})
    assert only_known.checks[0].passed


def test_schema_checks(tmp_path: Path, files: Resolver) -> None:
    required = {"schema": {"fail": {"when required column missing": ["id", "phone"]}}}
    types = {
        "schema": {
            "warn": {"when forbidden column present": ["ssn*", "e%l"]},
            "fail": {"when wrong column type": {"id": "int8", "email": "text"}},
        }
    }
    wrong = {"schema": {"warn": {"when wrong column type": {"age": "integer"}}}}
    index = {"schema": {"fail": {"when wrong column index": {"id": 0, "email": 3}}}}
    fine = {"schema": {"fail": {"when required column missing": ["id"]}}}
    results = run(tmp_path, files, [required, types, wrong, index, fine]).checks
    assert [(r.outcome, r.severity) for r in results] == [
        ("fail", "fail"),
        ("warn", "warn"),
        ("warn", "warn"),
        ("fail", "fail"),
        ("pass", "fail"),
    ]
    assert results[0].explanation == "required column missing: phone"
    assert results[1].explanation == "forbidden column present: email"
    assert results[2].explanation == "wrong column type: age is BIGINT, expected integer"
    assert results[3].explanation == "wrong column index: email is at index 1, expected 3"


def test_user_metrics_failed_rows_and_same_as(tmp_path: Path, files: Resolver) -> None:
    checks = [
        {"adults = 2": {"adults expression": "count_if(age >= 18)"}},
        {
            "uk_share > 0.5": {
                "uk_share query": "SELECT avg(IF(country = 'UK', 1.0, 0)) FROM people"
            }
        },
        {"failed rows": {"fail condition": "age < 18"}},
        {"failed rows": {"fail query": "SELECT * FROM people WHERE amount > 100"}},
        "row_count same as countries",
    ]
    adults, share, minors, big, same = run(tmp_path, files, checks).checks
    assert (adults.outcome, adults.value) == ("pass", 2)
    assert (share.outcome, share.value) == ("fail", 0.4)
    assert (minors.outcome, minors.value, minors.explanation) == (
        "fail",
        2,
        "failed rows = 2, expected = 0",
    )
    assert big.passed
    assert (same.outcome, same.metrics) == ("fail", {"row_count": 5, "row_count(countries)": 2})


@pytest.mark.parametrize(
    ("check", "says"),
    [
        ("invalid_count(email) = 0", "not evaluated: an invalid_count/invalid_percent check needs"),
        ("missing_count(phone) = 0", "not evaluated: no column 'phone' in the dataset"),
        ({"invalid_count(email) = 0": {"valid format": "klingon"}}, "unknown format 'klingon'"),
        (
            {"schema": {"fail": {"when schema changes": "any"}}},
            "unsupported: 'when schema changes'",
        ),
        ("avg(email) > 1", "Great Expectations could not evaluate it: Cannot perform reduction"),
        ({"row_count > 1": {"filter": "age >"}}, "the check's filter: cannot parse the SQL"),
    ],
    ids=str,
)
def test_checks_that_cannot_be_evaluated_fail(
    tmp_path: Path, files: Resolver, check: Any, says: str
) -> None:
    result = one(tmp_path, files, check)
    assert (result.outcome, result.evaluated, result.passed) == ("fail", False, False)
    assert says in result.explanation


FORMAT_CASES = [
    ("integer", ["42", " -7 ", "+3"], ["4.2", "x", ""]),
    ("positive integer", ["42", "+1"], ["-1"]),
    ("negative integer", ["-42", "0"], ["42"]),
    ("decimal", ["1.5", "-0,25", ".5", "3"], ["1.2.3", "1e5"]),
    ("decimal point", ["1.5"], ["1,5"]),
    ("decimal comma", ["1,5"], ["1.5"]),
    ("positive decimal", ["1.5"], ["-1.5"]),
    ("negative decimal point", ["-1.5", "0.0"], ["1.5"]),
    ("percentage", ["12.5%", "-3 %"], ["12.5"]),
    ("money point", ["1,234.50 USD"], ["1.234,50 EUR"]),
    ("money comma", ["1.234,50 EUR"], ["1,234.50 USD"]),
    ("date us", ["12/31/2024", "1-2-24"], ["31/12/2024"]),
    ("date eu", ["31/12/2024", "01.02.2024"], ["12/31/2024"]),
    ("date inverse", ["2024/12/31", "2024-01-02"], ["31/12/2024"]),
    (
        "date iso 8601",
        ["2024-04-28", "2021-04-28T09:00:00+02:00", "20240428", "2024-W17"],
        ["28-04-2024"],
    ),
    ("time 24h", ["23:59", "07:05:09.5"], ["24:00", "7:5"]),
    ("time 12h", ["11:30 pm", "1:05:00"], ["13:00"]),
    ("time 24h nosec", ["23:59"], ["23:59:00"]),
    ("timestamp 24h", ["23:59:01"], ["23:59"]),
    ("uuid", ["123e4567-e89b-12d3-a456-426614174000"], ["123e4567e89b12d3a456426614174000"]),
    ("ip address", ["192.168.0.1"], ["256.1.1.1", "1.2.3"]),
    ("ipv6 address", ["2001:db8:0:0:0:0:2:1", "2001:db8::2:1", "::1"], ["2001:db8:::1", "12345::"]),
    (
        "email",
        ["ada@example.com", "a.b+c@mail.example.co.uk", "élodie@exemple.fr"],
        ["a@b", "@x.com", "a b@c.de"],
    ),
    (
        "phone number",
        ["+12 123 123 1234", "123 123 1234", "+1 123-123-1234", "555-2368"],
        ["12345", "phone"],
    ),
    (
        "credit card number",
        ["4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111"],
        ["4111 11"],
    ),
]


@pytest.mark.parametrize(("name", "good", "bad"), FORMAT_CASES, ids=[c[0] for c in FORMAT_CASES])
def test_valid_formats(name: str, good: list[str], bad: list[str]) -> None:
    con = duckdb.connect()
    pattern = FORMATS[name]
    for value, expected in [*((g, True) for g in good), *((b, False) for b in bad)]:
        (matched,) = con.execute("SELECT regexp_matches(?, ?)", [value, pattern]).fetchone() or ()
        assert matched is expected, f"{name}: {value!r}"


def example_quality_spec() -> SodaSpec:
    data = yaml.safe_load((ROOT / "resources" / "workflow.yaml").read_text())
    (job,) = [
        j for j in Workflow.model_validate(data).workflow.dag if j.name == "quality-customer-360"
    ]
    assert job.spec is not None and isinstance(job.spec.stack_spec, SodaSpec)
    return job.spec.stack_spec


def write_customers_360(home: Path, ids: list[int], emails: list[str | None]) -> None:
    catalog = iceberg.open_catalog("lakehouse", home / "warehouse")
    data = pa.table(
        {
            "customer_id": pa.array(ids, pa.int32()),
            "email": emails,
            "orders": pa.array([1] * len(ids), pa.int64()),
            "lifetime_value": [10.0] * len(ids),
        }
    )
    iceberg.write_table(catalog, "shop", "customers_360", data, "overwrite")


def test_example_quality_job_on_the_lakehouse(tmp_path: Path) -> None:
    home = tmp_path / "home"
    resolver = local_resolver(tmp_path)
    write_customers_360(home, [1, 2, 3], ["ada@example.com", "alan@example.com", None])
    good = run_soda_job(example_quality_spec(), resolver, home=home)
    assert good.passed
    assert [c.outcome for c in good.checks] == ["pass"] * 4
    assert good.datasets[0].address == "dataos://lakehouse:shop/customers_360"

    write_customers_360(home, [1, 2, 2], ["ada@example.com", "not-an-email", None])
    bad = run_soda_job(example_quality_spec(), resolver, home=home)
    assert [(c.name, c.outcome) for c in bad.checks] == [
        ("row_count > 0", "pass"),
        ("missing_count(customer_id) = 0", "pass"),
        ("duplicate_count(customer_id) = 0", "fail"),
        ("invalid_count(email) = 0", "fail"),
    ]
    emails = bad.checks[3]
    assert (emails.title, emails.category) == ("e-mails are well formed", "Validity")
    assert emails.explanation == "invalid_count(email) = 1, expected = 0"
    assert not bad.passed and len(bad.failed) == 2


@pytest.mark.parametrize(
    ("dataset", "says"),
    [
        ("dataos://nowhere:none/people", "depot 'nowhere' is not defined"),
        ("dataos://files:none/ghost", "no file"),
        ("dataos://lakehouse:shop/ghost", "no Iceberg table shop.ghost in 'lakehouse'"),
    ],
)
def test_unreadable_datasets_raise(
    tmp_path: Path, files: Resolver, dataset: str, says: str
) -> None:
    spec = SodaSpec.model_validate({"inputs": [{"dataset": dataset, "checks": ["row_count > 0"]}]})
    with pytest.raises(SodaError, match=says) as info:
        run_soda_job(spec, files, home=tmp_path / "home")
    assert info.value.dataset == dataset


def test_unreadable_reference_dataset_raises(tmp_path: Path, files: Resolver) -> None:
    with pytest.raises(SodaError, match="dataos://files:none/nations"):
        run(tmp_path, files, ["values in (country) must exist in nations (code)"])


@pytest.mark.postgres
def test_postgres_dataset_checks(shop: Shop) -> None:
    checks = [
        "missing_count(age) = 0",
        {"invalid_count(email) = 0": {"valid format": "email"}},
        "freshness(signed_up) < 1d",
        {
            "schema": {
                "fail": {
                    "when wrong column type": {"customer_id": "int4", "signed_up": "timestamptz"}
                }
            }
        },
    ]
    spec = SodaSpec.model_validate(
        {
            "inputs": [
                {"dataset": "dataos://shoppg:public/customers?acl=r", "checks": checks},
                {
                    "dataset": "dataos://shoppg:public/orders?acl=r",
                    "checks": ["values in (customer_id) must exist in customers (customer_id)"],
                },
            ]
        }
    )
    now = dt.datetime(2024, 3, 4, 17, 6, 7, 500000, tzinfo=dt.UTC)
    result = run_soda_job(spec, shop.resolver, home=shop.home, now=now)
    age, email, fresh, schema, reference = result.checks
    assert (age.outcome, age.value) == ("fail", 1)
    assert (email.outcome, email.value) == ("fail", 1), "' Ada@Example.com ' has spaces"
    assert (fresh.outcome, fresh.value) == ("pass", 12 * 3600)
    assert schema.passed, schema.explanation
    assert reference.passed
    assert [d.rows for d in result.datasets] == [3, 3]


@pytest.mark.postgres
def test_postgres_errors_name_the_dataset_not_the_password(shop: Shop) -> None:
    def spec(table: str) -> SodaSpec:
        dataset = f"dataos://shoppg:public/{table}?acl=r"
        return SodaSpec.model_validate(
            {"inputs": [{"dataset": dataset, "checks": ["row_count > 0"]}]}
        )

    with pytest.raises(SodaError, match=r"no table public\.nope in depot 'shoppg'"):
        run_soda_job(spec("nope"), shop.resolver, home=shop.home)
    conn = shop.resolver.depots["shoppg"].depot.postgresql
    assert conn is not None
    conn.database = "no_such_db"
    shop.resolver.secrets[("shoppg", "r")]["username"] = PASSWORD
    with pytest.raises(SodaError) as info:
        run_soda_job(spec("customers"), shop.resolver, home=shop.home)
    assert info.value.dataset == "dataos://shoppg:public/customers?acl=r"
    assert 'role "***" does not exist' in str(info.value), "the user was also the password"
    assert PASSWORD not in str(info.value)
