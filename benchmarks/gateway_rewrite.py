"""Gateway: rewrite latency per query (goal: median <= 2 ms without a cache hit).

Ten representative Trino queries over four governed datasets (hash, regex, bucket, date and
redact masks; row filters). Each query is rewritten REPEAT times, interleaved with a
baseline measured in the same run: plain ``sqlglot.transpile(sql, read="trino",
write="duckdb")`` of the same text. The last line shows what a cache keyed by (SQL text,
policy set) costs on a hit, as the service's LRU would serve a repeated query.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlglot  # noqa: E402

from dataos_defs.gateway.model import (  # noqa: E402
    AppliedFilter,
    AppliedMask,
    Column,
    Governance,
    Rewritten,
    Table,
    TableName,
)
from dataos_defs.gateway.rewrite import rewrite  # noqa: E402
from dataos_defs.manifest.policy_parts import (  # noqa: E402
    BucketDateMask,
    BucketNumberMask,
    HashMask,
    Mask,
    RegexReplaceMask,
    RowFilter,
)
from tests.gateway.support import DictCatalog  # noqa: E402

REPEAT = 400
GOAL_US = 2000.0
QUERIES = {
    "select *": "SELECT * FROM customers",
    "filter + order": (
        "SELECT id, email, region FROM lakehouse.shop.customers "
        "WHERE region = 'EU' AND email LIKE '%@example.com' ORDER BY id LIMIT 100"
    ),
    "join 2 + cte + window + group (the goal's query)": (
        "WITH spend AS (SELECT customer_id, sum(amount) AS total FROM orders "
        "GROUP BY customer_id) "
        "SELECT c.id, c.email, s.total, rank() OVER (PARTITION BY c.region "
        "ORDER BY s.total DESC) AS r FROM customers c JOIN spend s ON s.customer_id = c.id "
        "GROUP BY c.id, c.email, s.total, c.region"
    ),
    "join 3": (
        "SELECT c.name, p.title, o.amount FROM customers c JOIN orders o "
        "ON o.customer_id = c.id JOIN products p ON p.sku = o.sku WHERE o.placed >= DATE "
        "'2024-01-01'"
    ),
    "aggregate by masked column": (
        "SELECT born, count(*) AS n, avg(balance) FROM customers GROUP BY born HAVING count(*) > 1"
    ),
    "subqueries": (
        "SELECT id FROM customers WHERE id IN (SELECT customer_id FROM orders WHERE amount > "
        "100) AND EXISTS (SELECT 1 FROM payments p WHERE p.customer_id = customers.id)"
    ),
    "union all": (
        "SELECT email AS contact FROM customers UNION ALL SELECT phone FROM customers "
        "UNION ALL SELECT card FROM payments"
    ),
    "qualified + quoted": (
        'SELECT lakehouse.shop.customers."EMAIL", shop.customers.Name FROM '
        '"lakehouse"."shop"."customers" WHERE lakehouse.shop.customers.ID > 10'
    ),
    "nested ctes": (
        "WITH a AS (SELECT * FROM orders), b AS (SELECT customer_id, count(*) AS n FROM a "
        "GROUP BY 1), customers AS (SELECT * FROM customers WHERE region = 'EU') "
        "SELECT c.email, b.n FROM customers c LEFT JOIN b ON b.customer_id = c.id"
    ),
    "many functions": (
        "SELECT date_trunc('month', placed) AS m, count(DISTINCT customer_id), "
        "approx_percentile(amount, 0.5), max_by(sku, amount), coalesce(sum(amount), 0) "
        "FROM orders WHERE date_diff('day', placed, current_date) < 90 GROUP BY 1 ORDER BY 1"
    ),
}


def _table(name: str, columns: dict[str, str]) -> Table:
    return Table(
        TableName("lakehouse", "shop", name),
        tuple(Column(column, type_) for column, type_ in columns.items()),
        f'"warehouse"."shop"."{name}"',
    )


TABLES = {
    table.name.dataset: table
    for table in [
        _table(
            "customers",
            {
                "id": "BIGINT",
                "name": "VARCHAR",
                "email": "VARCHAR",
                "phone": "VARCHAR",
                "region": "VARCHAR",
                "born": "DATE",
                "balance": "DECIMAL(12,2)",
            },
        ),
        _table(
            "orders",
            {
                "id": "BIGINT",
                "customer_id": "BIGINT",
                "sku": "VARCHAR",
                "amount": "DECIMAL(10,2)",
                "placed": "DATE",
                "status": "VARCHAR",
            },
        ),
        _table("products", {"sku": "VARCHAR", "title": "VARCHAR", "price": "DECIMAL(10,2)"}),
        _table("payments", {"id": "BIGINT", "customer_id": "BIGINT", "card": "VARCHAR"}),
    ]
}


def _masked(policy: str, column: str, mask: Mask) -> tuple[str, AppliedMask]:
    return column, AppliedMask(policy, column, mask, 99)


GOVERNANCE = {
    "customers": Governance(
        masks=dict(
            [
                _masked("pii-email", "email", Mask(operator="hash", hash=HashMask())),
                _masked("pii-name", "name", Mask(operator="hash", hash=HashMask(algo="md5"))),
                _masked(
                    "pii-phone",
                    "phone",
                    Mask(
                        operator="regex_replace",
                        regex_replace=RegexReplaceMask(pattern="[0-9]", replacement="#"),
                    ),
                ),
                _masked(
                    "pii-dob",
                    "born",
                    Mask(operator="bucket_date", bucket_date=BucketDateMask(precision="year")),
                ),
                _masked(
                    "balance-bands",
                    "balance",
                    Mask(
                        operator="bucket_number",
                        bucket_number=BucketNumberMask(buckets=[0, 1000, 10000]),
                    ),
                ),
            ]
        ),
        filters=(
            AppliedFilter("eu", (RowFilter(column="region", operator="equals", value="EU"),)),
        ),
    ),
    "orders": Governance(
        filters=(
            AppliedFilter(
                "no-test", (RowFilter(column="status", operator="not_in", value=["test", "void"]),)
            ),
        )
    ),
    "payments": Governance(
        masks=dict([_masked("pci", "card", Mask(operator="redact"))]),
    ),
}


CATALOG = DictCatalog(*TABLES.values())


def governance(table: Table) -> Governance:
    return GOVERNANCE.get(table.name.dataset, Governance())


def governed(sql: str) -> Rewritten:
    return rewrite(sql, CATALOG, governance, default_catalog="lakehouse", default_schema="shop")


@lru_cache(maxsize=1024)
def cached(sql: str, policy_set: str) -> Rewritten:
    return governed(sql)


def _timed(function: Callable[[], object]) -> float:
    started = time.perf_counter()
    function()
    return (time.perf_counter() - started) * 1e6


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def measure(sql: str) -> tuple[list[float], list[float]]:
    """Rewrite and baseline samples (µs), interleaved so both see the same machine load."""
    for _ in range(20):
        governed(sql)
        sqlglot.transpile(sql, read="trino", write="duckdb")
    ours, baseline = [], []
    for _ in range(REPEAT):
        ours.append(_timed(lambda: governed(sql)))
        baseline.append(_timed(lambda: sqlglot.transpile(sql, read="trino", write="duckdb")))
    return ours, baseline


def cache_hits(sql: str) -> list[float]:
    cached(sql, "analyst")
    return [_timed(lambda: cached(sql, "analyst")) for _ in range(REPEAT)]


def main() -> None:
    print(f"Gateway rewrite latency ({REPEAT} runs per query, no cache; µs)")
    print(f"  {'query':<50} {'median':>7} {'p95':>7} {'p99':>7} {'transpile':>10} {'ratio':>6}")
    everything: list[float] = []
    for label, sql in QUERIES.items():
        ours, baseline = measure(sql)
        everything += ours
        median, plain = statistics.median(ours), statistics.median(baseline)
        print(
            f"  {label:<50} {median:7.0f} {_percentile(ours, 0.95):7.0f} "
            f"{_percentile(ours, 0.99):7.0f} {plain:10.0f} {median / plain:5.1f}x"
        )
    median = statistics.median(everything)
    verdict = "meets" if median <= GOAL_US else "MISSES"
    print(
        f"  all queries: median {median:.0f} µs, p95 {_percentile(everything, 0.95):.0f}, "
        f"p99 {_percentile(everything, 0.99):.0f} ({verdict} the {GOAL_US:.0f} µs goal)"
    )
    hit = statistics.median(sample for sql in QUERIES.values() for sample in cache_hits(sql))
    print(f"  with a cache keyed by (SQL, policy set), on a hit: median {hit:.1f} µs")


if __name__ == "__main__":
    main()
