"""``dataos-ctl log`` explains a real run: the API server and ``dagster dev`` as ``make up``
runs them, a FILE depot of products and a lakehouse, and two flare workflows without a
schedule (each runs once when applied): ``books`` writes an output, ``broken`` names a
column its table does not have.

The log of ``broken`` leads with DuckDB's Binder Error, names the SQL step that failed and
shows its SQL and the innermost frames of the error, all without an empty line; the log
of ``books`` shows the rows written to its output. Times print as ``2026-12-07 15:04:05``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from dagster_support import DROPS_AND_LAKE, Dagster, interfaces, running_platform

from dataos_defs.adapters.dagster_graphql import DagsterGraphQL

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PRODUCT = DROPS_AND_LAKE
WORKFLOW = """\
name: {name}
version: v1
type: workflow
workflow:
  dag:
    - name: {job}
      spec:
        stack: flare:7.0
        compute: runnable-default
        stackSpec:
          job:
            inputs:
              - name: products
                dataset: dataos://drops:none/products?acl=r
                format: csv
            steps:
              - sequence:
                  - name: {step}
                    sql: |
{sql}
            outputs:
              - name: {step}
                dataset: dataos://lake:shop/{name}?acl=rw
                format: iceberg
"""
BOOKS = WORKFLOW.format(
    name="books",
    job="load",
    step="books",
    sql="                      SELECT product_id, unit_price\n"
    "                      FROM products WHERE category = 'books'",
)
BROKEN = WORKFLOW.format(
    name="broken",
    job="clean",
    step="cleaned",
    sql="                      SELECT p.product_id,\n"
    "                             p.nonexistent_col\n"
    "                      FROM products p",
)
BINDER = re.compile(r'Binder Error: .*"p" does not have a column named "nonexistent_col"$')
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")
DONE = {"SUCCESS", "FAILURE", "CANCELED"}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Dagster]]:
    home = tmp_path_factory.mktemp("dataos-home")
    drops = home / "data" / "drops"
    drops.mkdir(parents=True)
    (drops / "products.csv").write_text(
        "product_id,category,unit_price\np1,books,12.5\np2,games,40\np3,books,7.25\n"
    )
    with running_platform(home) as running:
        server, dagster = running
        manifests = home / "manifests"
        manifests.mkdir()
        for name, text in (("product", PRODUCT), ("books", BOOKS), ("broken", BROKEN)):
            (manifests / f"{name}.yaml").write_text(text)
            cli(server, "apply", "-f", str(manifests / f"{name}.yaml"))
        with dagster.client() as client:
            for workflow in ("books", "broken"):
                finished(server, client, workflow)
        yield running


def cli(server: Any, *args: str) -> str:
    done = interfaces().run_cli(server, *args)
    assert done.returncode == 0, done.stderr
    return str(done.stdout)


def finished(server: Any, client: DagsterGraphQL, workflow: str, timeout: float = 120) -> str:
    """The status of the workflow's run once it has ended (launched by the apply, or here
    if the apply did not launch one within 20 s)."""
    job = f"public__{workflow}"
    deadline = time.monotonic() + 20
    while not client.runs(job) and time.monotonic() < deadline:
        time.sleep(0.5)
    if not client.runs(job):
        cli(server, "runtime", "run", "-t", "workflow", "-n", workflow)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        (latest, *_) = client.runs(job) or [None]
        if latest is not None and latest.status in DONE:
            return latest.status
        time.sleep(0.5)
    raise AssertionError(f"the run of {workflow} did not end in {timeout} s")


def test_a_failed_run_leads_with_the_engine_error_and_names_the_sql_step(platform) -> None:
    server, dagster = platform
    with dagster.client() as client:
        assert client.runs("public__broken")[0].status == "FAILURE"
    printed = cli(server, "log", "-t", "workflow", "-n", "broken", "-l", "-1", "--utc")
    lines = printed.splitlines()

    header = "job clean failed: step 'cleaned': DuckDB rejected the SQL: "
    assert lines[0].startswith(header), printed
    assert BINDER.match(lines[0].removeprefix(header)), printed
    assert all(line.strip() for line in lines), printed
    assert all(STAMP.match(line) or line.startswith("    ") for line in lines[1:]), printed
    failed_sql = lines.index(next(line for line in lines if "SQL step 'cleaned' failed" in line))
    assert lines[failed_sql + 1 : failed_sql + 4] == [
        "    SELECT p.product_id,",
        "           p.nonexistent_col",
        "    FROM products p",
    ]
    assert f"    FlareError: {lines[0].removeprefix('job clean failed: ')}" in lines, printed
    stack = lines.index("    stack (innermost last):")
    assert any("in _describe" in line for line in lines[stack + 1 :])
    assert not any("dagster/_core" in line for line in lines[stack + 1 :])
    assert not any(set(line.strip()) <= set("^~") for line in lines[stack + 1 :])
    assert sum(1 for line in lines if line.startswith("    FlareError: ")) == 1


def test_the_line_limit_counts_events_and_minus_one_shows_them_all(platform) -> None:
    server, _ = platform
    every = cli(server, "log", "-t", "workflow", "-n", "broken", "-l", "-1")
    last = cli(server, "log", "-t", "workflow", "-n", "broken", "-l", "3")
    events = [line for line in every.splitlines() if STAMP.match(line)]
    assert len(events) > 3
    assert [line for line in last.splitlines() if STAMP.match(line)] == events[-3:]
    assert last.splitlines()[0] == every.splitlines()[0]
    refused = interfaces().run_cli(server, "log", "-t", "workflow", "-n", "broken", "-l", "0")
    assert refused.returncode != 0
    assert "-1 (all)" in refused.stderr


def test_a_successful_run_shows_the_rows_written_per_output(platform) -> None:
    server, dagster = platform
    with dagster.client() as client:
        assert client.runs("public__books")[0].status == "SUCCESS"
    printed = cli(server, "log", "-t", "workflow", "-n", "books", "-l", "-1", "--utc")
    lines = printed.splitlines()
    assert "    output 'books' (dataos://lake:shop/books): 2 rows written" in lines
    assert not any(" failed: " in line for line in lines[:1])
    assert all(line.strip() for line in lines), printed
