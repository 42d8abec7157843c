"""Issue 10 target: the apply of a 10,000-job workflow answers once it is committed, and the
workflow becomes ``active`` when Dagster has loaded it, where the apply used to answer only
after reconciling (and the CLI gave up at its 60 s HTTP timeout).

A real API server (``dataos-ctl serve``, reconciling in the background) and a real
``dagster dev`` on a home of their own. The workflow is scheduled (once a year) so that
nothing runs; each of its jobs is a container job (one Dagster op). Figures:

- time to answer: ``POST /apply`` through the Python client (the CLI's), manifests with
  their source positions as the CLI sends them;
- time to ``active``: from the request until ``GET`` shows the workflow ``active`` (polled
  every 0.5 s; the reasons seen on the way are the progress ``get`` shows, and the slowest
  ``GET`` says whether the server stays responsive meanwhile);
- before: the old synchronous path, measured in the same run on a change of the workflow:
  the commit (the store's apply service) then ``reconcile()`` called synchronously, which is
  what the route did before answering.

``BENCH_APPLY_JOBS`` sets the number of jobs (default 10,000). The manifest is over the
default 1 MiB per-manifest limit (``DATAOS_MAX_MANIFEST_BYTES``, newer than the report), so
the server gets a larger one.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from platform_support import dagster_dev, free_port

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "interfaces"))

JOBS = int(os.environ.get("BENCH_APPLY_JOBS", "10000"))
OLD_CLI_TIMEOUT_S = 60.0
"""The HTTP read timeout the CLI used to give an apply."""
TIMEOUT_S = 1800.0


def manifest(jobs: int, description: str) -> str:
    lines = [
        "name: big",
        "version: v1",
        "type: workflow",
        f"description: {description}",
        "workflow:",
        "  schedule:",
        '    cron: "0 3 1 1 *"',
        "  dag:",
    ]
    for n in range(jobs):
        lines += [
            f"    - name: j{n:05d}",
            "      spec:",
            "        stack: container",
            "        compute: runnable-default",
            "        stackSpec:",
            "          image: busybox:1.36",
            '          command: ["true"]',
        ]
    return "\n".join(lines) + "\n"


def _wire(text: str) -> list[dict[str, Any]]:
    from dataos_defs.manifest.loader import parse_yaml

    documents, problems = parse_yaml(text, "big.yaml")
    assert not problems, problems
    return [
        {"manifest": d.data, "file": d.file, "index": d.index, "positions": d.source.to_json()}
        for d in documents
    ]


def _until_active(client: Any, started: float) -> tuple[float, list[str], float]:
    """Seconds from ``started`` until ``big`` is active; the reasons seen; the slowest GET."""
    reasons: list[str] = []
    slowest = 0.0
    while True:
        asked = time.perf_counter()
        item = client.get_resource("workflow", "big", "public")
        slowest = max(slowest, time.perf_counter() - asked)
        reason = item.get("status_reason")
        if reason and (not reasons or reasons[-1] != reason):
            reasons.append(reason)
        if item["status"] != "pending":
            assert item["status"] == "active", item
            return time.perf_counter() - started, reasons, slowest
        if time.perf_counter() - started > TIMEOUT_S:
            raise RuntimeError(f"not active after {TIMEOUT_S:.0f} s: {item}")
        time.sleep(0.5)


def _synchronous(home: Path, url: str) -> tuple[float, float]:
    """The old path on a change of the workflow: (commit, reconcile()) in seconds."""
    from dataos_defs.api.reconcile import reconcile
    from dataos_defs.manifest.loader import parse_yaml
    from dataos_defs.manifest.validate import parse_documents
    from dataos_defs.poros.apply import apply_resources
    from dataos_defs.poros.settings import Settings
    from dataos_defs.poros.store import Store

    settings = Settings.from_env({"DATAOS_HOME": str(home)})
    with Store.open(settings=settings) as store:
        started = time.perf_counter()
        documents, problems = parse_yaml(manifest(JOBS, "changed"), "big.yaml")
        assert not problems, problems
        apply_resources(store, parse_documents(documents), None, "bench")
        committed = time.perf_counter()
        outcome = reconcile(store, url)
        reconciled = time.perf_counter()
    assert outcome is not None and outcome.reloaded, outcome
    status = outcome.statuses[next(iter(outcome.statuses))]
    assert status == ("active", None), status
    return committed - started, reconciled - committed


def main() -> None:
    from conftest import start_server, stop_server

    from dataos_defs.api.client import DataosClient

    text = manifest(JOBS, "first")
    with tempfile.TemporaryDirectory(prefix="dataos-bench-apply-") as tmp:
        home = Path(tmp)
        port = free_port()
        env = {
            "DAGSTER_WEBSERVER_URL": f"http://127.0.0.1:{port}",
            "DATAOS_MAX_MANIFEST_BYTES": str(64 * 1024 * 1024),
            "DATAOS_MAX_APPLY_BYTES": str(256 * 1024 * 1024),
        }
        server = start_server(home, extra_env=env)
        try:
            with (
                dagster_dev(home, port) as url,
                DataosClient(server.url, api_key=server.api_key) as c,
            ):
                documents = _wire(text)
                started = time.perf_counter()
                answer = c.apply(documents, None)
                answered = time.perf_counter() - started
                assert answer["reconciling"] and answer["pending"], answer
                active, reasons, slowest = _until_active(c, started)
                commit, reconciled = _synchronous(home, url)
        finally:
            stop_server(server)
    before = commit + reconciled
    print(f"apply of a {JOBS:,}-job workflow (issue 10): real API server + dagster dev")
    print(f"  after:  the apply answers in {answered:8.1f} s (committed; reconciled after)")
    print(
        f"          active after         {active:8.1f} s (get polled every 0.5 s, slowest GET "
        f"{slowest:.2f} s)"
    )
    print(
        f"  before: the apply answered in {before:7.1f} s (commit {commit:.1f} s + reconcile() "
        f"{reconciled:.1f} s, synchronously)"
    )
    timed_out = "yes" if before > OLD_CLI_TIMEOUT_S else "no"
    print(f"          over the CLI's old {OLD_CLI_TIMEOUT_S:.0f} s HTTP timeout: {timed_out}")
    print(f"  time to answer: {before / answered:.1f}x shorter")
    shown = [reasons[0], reasons[-1]] if len(reasons) > 2 else reasons
    for reason in shown:
        print(f"  progress shown by get: {reason}")


if __name__ == "__main__":
    main()
