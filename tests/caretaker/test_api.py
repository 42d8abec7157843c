"""Caretaker's routes on a real API server, read by an attacker: a plain ``roles:id:data-dev``
user (who may read the ``public`` workspace's workflows and their logs, nothing of
``finance``) tries to read the runs, steps, errors and aggregates of ``finance``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dataos_defs.caretaker.db import writer_engine
from dataos_defs.caretaker.history import HistoryStore
from dataos_defs.caretaker.recorder import RunBatch, now_ms, record
from dataos_defs.caretaker.records import RunRecord, StepRecord
from dataos_defs.caretaker.retention import Retention
from dataos_defs.poros.settings import Settings
from tests.dagster.dagster_support import interfaces

SECRET_ERROR = "could not convert 'ada@example.com' to INT"


def run(run_id: str, ws: str, name: str, state: str, run_as: str, error: str | None) -> RunRecord:
    at = now_ms() - 60_000
    ended = None if state == "running" else at + 500
    return RunRecord(
        run_id,
        ws,
        "workflow",
        name,
        state,
        at,
        ended,
        500 if ended else None,
        run_as,  # type: ignore[arg-type]
        f"{ws}__{name}",
        error,
    )


def step(r: RunRecord, job: str, state: str) -> StepRecord:
    return StepRecord(
        r.run_id,
        r.workspace,
        "workflow",
        r.resource_name,
        job,
        state,
        r.started_ms,  # type: ignore[arg-type]
        r.ended_ms,
        r.duration_ms,
        1,
        None if state == "running" else 1,
        0.25,
        2048,
        r.error,
        "runnable-default",
    )


def long_finance_run() -> RunBatch:
    """A finance run created before a 1d window whose step started and ended inside it."""
    day = 86_400_000
    created = now_ms() - 3 * day
    r = RunRecord(
        "fin-long",
        "finance",
        "workflow",
        "payroll",
        "succeeded",
        created,
        now_ms() - 3_600_000,
        3 * day - 3_600_000,
        "finance-bot",
        "finance__payroll",
    )
    s = StepRecord(
        "fin-long",
        "finance",
        "workflow",
        "payroll",
        "late",
        "succeeded",
        now_ms() - 7_200_000,
        now_ms() - 3_600_000,
        3_600_000,
        1,
        0,
        999.0,
        10**12,
        None,
        "runnable-default",
    )
    return RunBatch(r, [s])


RUNS = [
    run("pub-ok", "public", "daily", "succeeded", "shop-bot", None),
    run("pub-bad", "public", "daily", "failed", "shop-bot", SECRET_ERROR),
    run("own-bad", "public", "mine", "failed", "dev", SECRET_ERROR),
    run("pub-run", "public", "daily", "running", "shop-bot", None),
    run("fin-bad", "finance", "payroll", "failed", "finance-bot", SECRET_ERROR),
    run("fin-run", "finance", "payroll", "running", "finance-bot", None),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    helpers = interfaces()
    home = tmp_path_factory.mktemp("caretaker-api")
    started = helpers.start_server(home)
    try:
        engine = writer_engine(Settings.from_env({"DATAOS_HOME": str(home)}).database_url)
        batches = []
        for r in RUNS:
            state = "running" if r.state == "running" else r.state
            batches.append(RunBatch(r, [step(r, "load", state)]))
        record(engine, batches, Retention())
        record(engine, [long_finance_run()], Retention())
        yield started
    finally:
        helpers.stop_server(started)


@pytest.fixture(scope="module")
def dev(server: Any) -> Iterator[httpx.Client]:
    key = interfaces().user_key(server, "dev", ["roles:id:data-dev"])
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as c:
        yield c


API = "/caretaker/api/v1"


def ids(items: list[dict[str, Any]]) -> set[str]:
    return {i["run_id"] for i in items}


def test_without_a_key_nothing_is_answered(server: Any) -> None:
    for path in ("runs", "steps?run_id=fin-bad", "nodes", "failures", "aggregates"):
        assert httpx.get(f"{server.url}{API}/{path}").status_code == 401


def test_another_workspaces_runs_are_forbidden_or_absent(dev: httpx.Client) -> None:
    named = dev.get(f"{API}/runs", params={"workspace": "finance", "name": "payroll"})
    assert named.status_code == 403 and "poros://workflow:finance/payroll" in named.text
    assert ids(dev.get(f"{API}/runs", params={"workspace": "finance"}).json()["runs"]) == set()
    everything = ids(dev.get(f"{API}/runs", params={"last": 500}).json()["runs"])
    assert everything == {"pub-ok", "pub-bad", "own-bad", "pub-run"}
    for run_id in ("fin-bad", "fin-run", "no-such-run"):
        answer = dev.get(f"{API}/steps", params={"run_id": run_id})
        assert answer.status_code == 404 and SECRET_ERROR not in answer.text


def test_failures_nodes_and_aggregates_leave_out_finance(dev: httpx.Client) -> None:
    failures = dev.get(f"{API}/failures", params={"since": "1d"}).json()["failures"]
    assert ids(failures) == {"pub-bad", "own-bad"}
    nodes = dev.get(f"{API}/nodes").json()
    assert {s["run_id"] for s in nodes["steps"]} == {"pub-run"}
    for by in ("workflow", "job", "compute"):
        found = dev.get(f"{API}/aggregates", params={"window": "1d", "by": by}).json()
        text = str(found)
        assert "payroll" not in text and "finance" not in text
    computes = dev.get(f"{API}/aggregates", params={"window": "1d", "by": "compute"}).json()
    [compute] = computes["aggregates"]
    assert compute["runs"] == 3  # pub-ok, pub-bad, own-bad steps: not finance's
    assert compute["cpu_seconds"] == 0.75 and compute["peak_memory_bytes"] == 2048


def test_errors_show_only_to_who_may_see_what_the_run_saw(dev: httpx.Client, server: Any) -> None:
    failures = {f["run_id"]: f for f in dev.get(f"{API}/failures").json()["failures"]}
    assert failures["pub-bad"]["error"] is None and failures["pub-bad"]["error_hidden"]
    assert SECRET_ERROR not in str(failures["pub-bad"])
    assert failures["own-bad"]["error"] == SECRET_ERROR
    steps = dev.get(f"{API}/steps", params={"run_id": "pub-bad"}).json()
    assert steps["steps"][0]["error"] is None and steps["steps"][0]["error_hidden"]
    operator = httpx.get(f"{server.url}{API}/failures", headers=server.headers).json()
    shown = {f["run_id"]: f["error"] for f in operator["failures"]}
    assert shown["fin-bad"] == SECRET_ERROR and shown["pub-bad"] == SECRET_ERROR


def test_lists_and_windows_are_bounded(dev: httpx.Client) -> None:
    assert dev.get(f"{API}/runs", params={"last": 501}).status_code == 400
    assert len(dev.get(f"{API}/runs", params={"last": 1}).json()["runs"]) == 1
    bad = dev.get(f"{API}/aggregates", params={"window": "365d"})
    assert bad.status_code == 400 and "90d" in bad.text
    assert dev.get(f"{API}/aggregates", params={"by": "owner"}).status_code == 400
    assert dev.get(f"{API}/failures", params={"since": "yesterday"}).status_code == 400


def test_the_cli_shows_failures_nodes_aggregates_and_run_history(server: Any) -> None:
    helpers = interfaces()
    dev_key = helpers.user_key(server, "dev-cli", ["roles:id:data-dev"])
    failures = helpers.run_cli(
        server, "operations", "failures", "--since", "1d", DATAOS_API_KEY=dev_key
    )
    assert failures.returncode == 0, failures.stderr
    lines = [line for line in failures.stdout.splitlines() if "pub-bad" in line]
    assert len(lines) == 1 and "|" in lines[0] and "(hidden)" in lines[0]
    assert "fin-bad" not in failures.stdout and SECRET_ERROR not in failures.stdout
    nodes = helpers.run_cli(server, "operations", "nodes", DATAOS_API_KEY=dev_key)
    assert "pub-run" in nodes.stdout and "fin-run" not in nodes.stdout
    aggregates = helpers.run_cli(server, "operations", "aggregates", "--window", "1d")
    assert aggregates.returncode == 0, aggregates.stderr
    assert "| RUNS" in aggregates.stdout and "payroll" in aggregates.stdout
    history = helpers.run_cli(
        server, "get", "runtime", "-t", "workflow", "-n", "daily", "--last", "2"
    )
    assert history.returncode == 0, history.stderr
    assert sum(run in history.stdout for run in ("pub-ok", "pub-bad", "pub-run")) == 2
    refused = helpers.run_cli(
        server,
        "get",
        "runtime",
        "-t",
        "workflow",
        "-n",
        "payroll",
        "-w",
        "finance",
        "--last",
        "5",
        DATAOS_API_KEY=dev_key,
    )
    assert refused.returncode != 0 and "fin-bad" not in refused.stdout
    bad = helpers.run_cli(server, "operations", "aggregates", "--window", "forever")
    assert bad.returncode != 0 and "window" in (bad.stdout + bad.stderr)


def test_aggregates_served_from_the_history_keep_finance_out(
    dev: httpx.Client, server: Any
) -> None:
    """Runs only in the Parquet history (older than the live tables keep): the public one
    counts, the finance one never does, nor does its workflow show. Last in the module:
    it adds to the history the other tests read."""
    history = HistoryStore(None, home=server.home)
    archived = [
        run("pub-hist", "public", "archived", "succeeded", "shop-bot", None),
        run("fin-hist", "finance", "vault", "failed", "finance-bot", SECRET_ERROR),
    ]
    history.append("runs", archived)
    history.append("steps", [step(r, "load", r.state) for r in archived])
    for by in ("workflow", "job", "compute"):
        found = dev.get(f"{API}/aggregates", params={"window": "1d", "by": by}).json()
        assert "vault" not in str(found) and "finance" not in str(found)
    workflows = dev.get(f"{API}/aggregates", params={"window": "1d"}).json()["aggregates"]
    archive = next(a for a in workflows if a["resource_name"] == "archived")
    assert (archive["runs"], archive["succeeded"], archive["cpu_seconds"]) == (1, 1, 0.25)
    operator = httpx.get(f"{server.url}{API}/aggregates", headers=server.headers).json()
    assert "vault" in {a["resource_name"] for a in operator["aggregates"]}
