"""Run-time governance of workflow runs: what a step pays to act as its identity.

Target: <= 1 ms per dataset with the decision cache. A step asks Heimdall, in one batch,
for every dataset it reads and writes (decided, logged as ``workflow-run`` and flushed to
the decision log), then governs each dataset it loads (the Gateway's masks and filters for
its identity). Measured per dataset, for jobs of 1, 10 and 50 datasets, with the decision
cache (a step of a job run before) and without it (policies just changed), against the
Gateway's own per-dataset cost for a query (one cached ``authorize`` per table, the same
``DataPolicies.governance`` and ``governed_select``). Also: what building the per-process
runtime (store and Heimdall) costs once in a step process, which is why it is built once
and reused. Store: SQLite; 200 access policies and 20 data policies in force.

Run: ``.venv/bin/python benchmarks/run_governance.py`` (about 20 s).
"""

from __future__ import annotations

import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataos_defs.compile import JobContext  # noqa: E402
from dataos_defs.gateway.model import Column, Table, TableName  # noqa: E402
from dataos_defs.gateway.rewrite import governed_select  # noqa: E402
from dataos_defs.location.governance import RunGovernor, run_governor, runtime  # noqa: E402
from dataos_defs.manifest.loader import parse_yaml  # noqa: E402
from dataos_defs.manifest.validate import parse_documents  # noqa: E402
from dataos_defs.poros.apply import apply_resources  # noqa: E402
from dataos_defs.poros.identities import Identities  # noqa: E402
from dataos_defs.poros.settings import Settings  # noqa: E402
from dataos_defs.poros.store import Store  # noqa: E402

GOAL_MS = 1.0
SIZES = (1, 10, 50)
REPEAT = 30
COLUMNS = (("id", "BIGINT"), ("email", "VARCHAR"), ("country", "VARCHAR"), ("age", "INTEGER"))
_SALTS = itertools.count(1)
"""Makes every uncached sample name datasets never decided before."""
JOB = JobContext("public", "bench", "copy", "flare", None, None, (), run_as="bench")


def _policies() -> list[dict[str, Any]]:
    access = [
        {
            "name": f"access-{i}",
            "version": "v1",
            "type": "policy",
            "policy": {
                "access": {
                    "subjects": {"tags": [[f"roles:id:team-{i}"]]},
                    "predicates": ["read", "write"],
                    "objects": {"paths": [f"dataos://lake:c{i}/**"]},
                    "allow": True,
                }
            },
        }
        for i in range(200)
    ]
    access[0]["policy"]["access"]["subjects"]["tags"].append(["users:id:bench"])
    access[0]["policy"]["access"]["objects"]["paths"] = ["dataos://lake:**"]
    data = [
        {
            "name": f"mask-{i}",
            "version": "v1",
            "type": "policy",
            "policy": {
                "data": {
                    "type": "mask",
                    "priority": 10 + i,
                    "depot": "lake",
                    "collection": f"c{i}",
                    "selector": {
                        "column": {"names": ["email"]},
                        "user": {"match": "any", "tags": ["users:id:*"]},
                    },
                    "mask": {"operator": "hash", "hash": {"algo": "sha256"}},
                }
            },
        }
        for i in range(20)
    ]
    return access + data


def _store(home: Path) -> Settings:
    settings = Settings.from_env({"DATAOS_HOME": str(home)})
    documents, problems = parse_yaml(yaml.safe_dump_all(_policies()), "policies.yaml")
    assert not problems, problems
    with Store.open(settings=settings) as store:
        Identities(store).create_user("bench", "application", tags=["roles:id:team-1"])
        apply_resources(store, parse_documents(documents), None, "operator")
    return settings


def _datasets(size: int, salt: int) -> list[str]:
    return [f"dataos://lake:c{i % 20}/d{salt}_{i}" for i in range(size)]


def _step(governor: RunGovernor, reads: list[str]) -> None:
    """What a step does per dataset: decide (one batch), then govern each load."""
    governor.authorize(reads, [])
    for address in reads:
        governor.govern(address, COLUMNS, '"raw"')


def _gateway(settings: Settings, reads: list[str]) -> Callable[[], None]:
    """The Gateway's per-table cost for a query over the same datasets, cached."""
    state = runtime(settings)
    tags = ("users:id:bench", "roles:id:team-1")
    tables = [
        Table(TableName("lake", a.split(":")[2].split("/")[0], a.rsplit("/", 1)[1]),
              tuple(Column(c, t) for c, t in COLUMNS), '"raw"')
        for a in reads
    ]  # fmt: skip

    def query() -> None:
        for table in tables:
            state.heimdall.authorize("bench", tags, "select", table.name.address, source="gateway")
            governed_select(table, state.policies.governance(table, tags), "duckdb")

    return query


def _median_ms(function: Callable[[], None], repeat: int = REPEAT) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def construction(settings: Settings) -> tuple[float, float, float]:
    """Building the runtime in a fresh process state, a step's start once it is built (load
    its user, check the store did not change) and its end (the decision log flushed right
    after a decision: the worst case, a step that did nothing else), in ms."""
    started = time.perf_counter()
    runtime(settings)
    built = (time.perf_counter() - started) * 1000

    def start() -> None:
        run_governor(JOB, settings)

    governor = run_governor(JOB, settings)
    flushes = []
    for salt in range(REPEAT):
        governor.authorize(_datasets(1, 10**7 + salt), [])
        began = time.perf_counter()
        governor.state.heimdall.log.flush()
        flushes.append((time.perf_counter() - began) * 1000)
    return built, _median_ms(start), statistics.median(flushes)


def per_dataset(settings: Settings, size: int) -> tuple[float, float, float]:
    """A step's cost per dataset with the decision cache and without it (every sample asks
    for datasets never asked before), and the Gateway's for the same datasets (ms)."""
    governor = run_governor(JOB, settings)
    reads = _datasets(size, 0)
    _step(governor, reads)
    cached = _median_ms(lambda: _step(governor, reads)) / size
    uncached = _median_ms(lambda: _step(governor, _datasets(size, next(_SALTS)))) / size
    query = _gateway(settings, reads)
    query()
    return cached, uncached, _median_ms(query) / size


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="dataos-bench-gov-") as folder:
        settings = _store(Path(folder))
        built, start, flush = construction(settings)
        print("Run-time governance of a workflow step (SQLite store; ms)")
        print(f"  building store + Heimdall once per step process: {built:.1f} ms")
        print(f"  each step's start (its user, has the store changed?): {start:.2f} ms")
        print(f"  each step's end (decision log on disk), at worst: {flush:.2f} ms")
        header = f"{'cached/ds':>10} {'uncached/ds':>12} {'gateway/ds':>11} {'ratio':>6}"
        print(f"  {'datasets':>8} {header}")
        worst = 0.0
        for size in SIZES:
            cached, uncached, baseline = per_dataset(settings, size)
            worst = max(worst, cached)
            print(
                f"  {size:>8} {cached:>10.3f} {uncached:>12.3f} {baseline:>11.3f} "
                f"{cached / baseline:>5.1f}x"
            )
        verdict = "meets" if worst <= GOAL_MS else "MISSES"
        print(
            f"  worst cached cost {worst:.3f} ms per dataset ({verdict} the {GOAL_MS:.0f} ms goal)"
        )
        runtime(settings).close()


if __name__ == "__main__":
    main()
