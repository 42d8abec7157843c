"""Quality checks on Great Expectations vs the previous hand-written DuckDB engine.

Target: the GX path within 1.5x of the previous engine for 10 checks of the contract's
forms over 1M rows, in the same run. Both read the same DuckDB view (the dataset as the
run loads it): the previous engine (``quality_baseline``) runs one SQL query per check;
the GX path (``dataos_defs.stacks.soda``) has GX compute what it can inside DuckDB on that
view (with ``duckdb-engine`` installed) and the rest on a pandas batch of the columns those
checks read, then judges every check with SodaCL's levels. Also timed: the GX path with
every check on pandas batches (as without ``duckdb-engine``). Also measured: what
``import great_expectations`` costs in a fresh process (the code location's step server
pays it once, in ``dataos_defs.location.preload``), and a whole ``run_soda_job`` (reading
the parquet file through the depot as well).

Run: ``.venv/bin/python benchmarks/quality_gx.py`` (about a minute).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "stacks"))

import quality_baseline  # noqa: E402
from flare_support import local_resolver  # noqa: E402

from dataos_defs.adapters import duckdb_engine as engine  # noqa: E402
from dataos_defs.manifest.stacks.soda import SodaSpec  # noqa: E402
from dataos_defs.stacks.soda import checks as soda_checks  # noqa: E402
from dataos_defs.stacks.soda import run_soda_job  # noqa: E402
from dataos_defs.stacks.soda.checks import Scope, evaluate_all  # noqa: E402
from dataos_defs.stacks.soda.gx_engine import preload  # noqa: E402
from dataos_defs.stacks.soda.gx_sql import available  # noqa: E402
from dataos_defs.stacks.soda.relation import Relation  # noqa: E402
from dataos_defs.stacks.soda.thresholds import judge, levels  # noqa: E402

ROWS = 1_000_000
GOAL = 1.5
REPEAT = 3
NOW = dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
CHECKS: list[object] = [
    "row_count between 1 and 2000000",
    "missing_count(email) < 20000",
    "duplicate_count(id) = 0",
    {"invalid_count(email) = 0": {"valid format": "email"}},
    {"invalid_count(country) = 0": {"valid values": ["UK", "US", "FR", "DE"]}},
    {"invalid_count(age) = 0": {"valid min": 0, "valid max": 120}},
    "min(age) >= 0",
    "avg(amount) between 0 and 1000000",
    "max_length(email) <= 40",
    "freshness(placed) < 30d",
]
DATA_SQL = f"""
COPY (
  SELECT i AS id,
         CASE WHEN i % 100 = 0 THEN NULL ELSE 'user' || i || '@example.com' END AS email,
         ['UK', 'US', 'FR', 'DE', 'NL'][1 + i % 5] AS country,
         i % 130 AS age,
         i * 0.5 AS amount,
         TIMESTAMP '2024-01-01' + to_seconds(i) AS placed
  FROM range({ROWS}) r(i)
) TO '{{path}}' (FORMAT parquet)
"""
IMPORT = "import time; t = time.perf_counter(); import great_expectations.expectations; "
IMPORT += "print(time.perf_counter() - t)"


def import_cost() -> float:
    """Seconds ``import great_expectations`` takes in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", IMPORT], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def spec() -> SodaSpec:
    return SodaSpec.model_validate(
        {"inputs": [{"dataset": "dataos://files:none/big", "checks": CHECKS}]}
    )


def best(action: Callable[[], object]) -> tuple[float, object]:
    times, result = [], None
    for _ in range(REPEAT):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return min(times), result


def pandas_only(action: Callable[[], object]) -> Callable[[], object]:
    """The action with every check on pandas batches (GX's SQL path switched off)."""

    def run() -> object:
        sql = soda_checks.available
        soda_checks.available = lambda: False
        try:
            return action()
        finally:
            soda_checks.available = sql

    return run


def main() -> None:
    cold = import_cost()
    preload()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / "home" / "data" / "files"
        folder.mkdir(parents=True)
        con = engine.connect()
        con.execute(DATA_SQL.format(path=folder / "big.parquet"))
        con.execute(f"CREATE TABLE big AS SELECT * FROM read_parquet('{folder / 'big.parquet'}')")
        columns = engine.columns(con, "big")
        checks = spec().inputs[0].parsed_checks
        rel = Relation('"big"', {n.lower(): (n, t) for n, t in columns})

        def baseline() -> list[str]:
            outcomes = []
            for check in checks:
                value = quality_baseline.measure(con, rel, check.parsed, check.config, NOW)
                assert value is not None
                outcomes.append(judge(levels(check.parsed, check.config), value)[0])
            return outcomes

        def gx() -> list[str]:
            scope = Scope(con, "big", "big", columns, NOW, lambda name: ("big", columns))
            return [r.outcome for r in evaluate_all(scope, checks)]

        base_time, base_outcomes = best(baseline)
        to_pandas, _ = best(lambda: con.sql('SELECT * FROM "big"').df())
        gx_time, gx_outcomes = best(gx)
        pandas_time, pandas_outcomes = best(pandas_only(gx))
        assert base_outcomes == gx_outcomes == pandas_outcomes, (base_outcomes, gx_outcomes)
        resolver = local_resolver(root)
        whole, _ = best(lambda: run_soda_job(spec(), resolver, home=root / "home", now=NOW))
        con.close()
    ratio = gx_time / base_time
    print(f"quality checks: {len(CHECKS)} checks over {ROWS:,} rows (best of {REPEAT})")
    print(f"  import great_expectations, fresh process: {cold:8.2f} s (paid once, at preload)")
    print(f"  previous engine (DuckDB SQL per check):   {base_time * 1000:8.1f} ms")
    where = (
        "GX path (in DuckDB, regexes on pandas):" if available() else "GX path (no duckdb-engine):"
    )
    print(f"  {where:<41}{gx_time * 1000:8.1f} ms")
    print(f"  GX path, every check on pandas:           {pandas_time * 1000:8.1f} ms")
    print(f"    the whole view as a pandas batch:       {to_pandas * 1000:8.1f} ms")
    print(f"  ratio GX / previous:                      {ratio:8.2f}x (goal <= {GOAL}x)")
    print(f"  ratio GX on pandas only / previous:       {pandas_time / base_time:8.2f}x")
    print(f"  whole run_soda_job on GX (read + checks): {whole * 1000:8.1f} ms")
    print(f"  outcomes (the same on both): {', '.join(gx_outcomes)}")


if __name__ == "__main__":
    main()
