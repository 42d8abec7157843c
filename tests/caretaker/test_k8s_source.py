"""Caretaker's Kubernetes source against a local HTTP stand-in of the Kubernetes API.

Tested against the documented contract of the Pods list and metrics.k8s.io PodMetricsList,
no real API server runs here: the stand-in on 127.0.0.1 answers ``GET
/api/v1/namespaces/{ns}/pods`` with a ``v1`` PodList (``labelSelector``, ``limit`` and
``continue`` as the API reference describes them) and ``GET
/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods`` with a ``PodMetricsList`` (or the 404/503
of a cluster without metrics-server). The official ``kubernetes`` client reaches it through
a kubeconfig, as it would a cluster; every request is recorded and asserted.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from dagster_k8s.utils import get_common_labels
from sqlalchemy import Engine, select

from dataos_defs.adapters import k8s_launcher
from dataos_defs.caretaker import k8s_source, schema
from dataos_defs.caretaker.db import writer_engine
from dataos_defs.caretaker.k8s_source import SELECTOR, record_k8s_pods
from dataos_defs.caretaker.recorder import RunBatch, now_ms, record
from dataos_defs.caretaker.records import RunRecord
from dataos_defs.caretaker.retention import Retention

NS = "dataos-jobs"
RUN_ID = "5e1d2c3b-aaaa-bbbb-cccc-0123456789ab"
PODS_PATH = f"/api/v1/namespaces/{NS}/pods"
METRICS_PATH = f"/apis/metrics.k8s.io/v1beta1/namespaces/{NS}/pods"
COMMON = {"app.kubernetes.io/part-of": "dagster", "dataos.io/platform": "dataos"}
STEP_LABELS = {
    **COMMON,
    "dataos.io/workspace": "public",
    "dataos.io/workflow": "shop-daily",
    "dataos.io/job": "ingest-orders",
    "dagster/run-id": RUN_ID,
    "dagster/op": "ingest_orders",
}


def pod(name: str, labels: dict[str, str], phase: str, statuses: list[Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "status": {
            "phase": phase,
            "startTime": "2026-12-07T10:00:00Z",
            "containerStatuses": statuses,
        },
    }


def status(state: dict[str, Any], restarts: int = 0, last: dict[str, Any] | None = None) -> Any:
    return {"name": "dagster", "restartCount": restarts, "state": state, "lastState": last or {}}


def terminated(code: int, reason: str) -> dict[str, Any]:
    return {
        "terminated": {
            "exitCode": code,
            "reason": reason,
            "startedAt": "2026-12-07T10:00:01Z",
            "finishedAt": "2026-12-07T10:01:00Z",
        }
    }


STEP = pod("dagster-step-ingest", STEP_LABELS, "Running", [status({"running": {}})])
CRASHING = pod(
    "dagster-step-crash",
    {**STEP_LABELS, "dataos.io/job": "crash"},
    "Running",
    [status({"waiting": {"reason": "CrashLoopBackOff"}}, 3, terminated(1, "Error"))],
)
OOM = pod(
    "dagster-step-oom",
    {**STEP_LABELS, "dataos.io/job": "oom"},
    "Failed",
    [status(terminated(137, "OOMKilled"))],
)
RUN_WORKER = pod(
    "dagster-run-5e1d2c3b",
    {**COMMON, "dagster/run-id": RUN_ID, "dagster/job": "shop_daily"},
    "Running",
    [status({"running": {}})],
)
PIPES = pod(  # Pipes pods carry no run-id label: the run is named in the pod's name
    f"dagster-{RUN_ID[:18]}-load-a1b2c",
    {**COMMON, "dataos.io/job": "load"},
    "Succeeded",
    [status(terminated(0, "Completed"))],
)
STRANGER = pod("dagster-other-run", {**COMMON, "dagster/run-id": "unknown"}, "Running", [])
PODS = [STEP, CRASHING, OOM, RUN_WORKER, PIPES, STRANGER]


def usage(name: str, cpu: str, memory: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": NS},
        "timestamp": "2026-12-07T10:00:30Z",
        "window": "30s",
        "containers": [{"name": "dagster", "usage": {"cpu": cpu, "memory": memory}}],
    }


@dataclass
class StandIn:
    """Serves ``pods`` ``limit`` at a time and ``metrics`` (or the error statuses set);
    records every request."""

    url: str = ""
    pods: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    metrics_status: int = 200
    pods_status: int = 200
    requests: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        if path == PODS_PATH and self.pods_status == 200:
            start = int(query.get("continue", ["0"])[0])
            end = start + int(query.get("limit", ["500"])[0])
            more = {"continue": str(end)} if end < len(self.pods) else {}
            items = self.pods[start:end]
            return 200, {"kind": "PodList", "apiVersion": "v1", "metadata": more, "items": items}
        if path == METRICS_PATH and self.metrics_status == 200:
            kind = {"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1"}
            return 200, {**kind, "metadata": {}, "items": self.metrics}
        code = self.pods_status if path == PODS_PATH else self.metrics_status
        return (code if code != 200 else 404), {"kind": "Status", "code": code}


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    served = StandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            served.requests.append((parts.path, query))
            code, body = served.answer(parts.path, query)
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    served.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served
    server.shutdown()
    server.server_close()


@pytest.fixture
def engine(tmp_path: Path, stand_in: StandIn, monkeypatch: pytest.MonkeyPatch) -> Engine:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "stand-in", "cluster": {"server": stand_in.url}}],
        "users": [{"name": "tests", "user": {}}],
        "contexts": [{"name": "stand-in", "context": {"cluster": "stand-in", "user": "tests"}}],
        "current-context": "stand-in",
    }
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("DATAOS_RUN_MODE", "k8s")
    monkeypatch.setenv("DATAOS_K8S_JOB_NAMESPACE", NS)
    made = writer_engine(f"sqlite:///{tmp_path / 'store.db'}")
    run = RunRecord(
        RUN_ID,
        "public",
        "workflow",
        "shop-daily",
        "running",
        now_ms(),
        None,
        None,
        "o",
        "shop_daily",
    )
    record(made, [RunBatch(run)], Retention())
    return made


def processes(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(select(schema.processes))
        return {r.node.split("/")[1]: dict(r._mapping) for r in rows}


def test_pods_are_listed_by_selector_in_the_job_namespace(
    stand_in: StandIn, engine: Engine
) -> None:
    stand_in.pods = PODS
    stand_in.metrics = [usage("dagster-step-ingest", "500m", "64Mi")]
    assert record_k8s_pods(engine, pytest.fail) == 5
    pod_calls = [q for path, q in stand_in.requests if path == PODS_PATH]
    assert [q["labelSelector"] for q in pod_calls] == [[SELECTOR]] * 3  # six pods, pages of 2
    assert all(int(q["limit"][0]) <= k8s_source.PAGE_SIZE for q in pod_calls)
    assert [q.get("continue") for q in pod_calls] == [None, ["2"], ["4"]]
    metric_calls = [q for path, q in stand_in.requests if path == METRICS_PATH]
    assert metric_calls == [{"labelSelector": [SELECTOR]}]
    assert {path for path, _ in stand_in.requests} == {PODS_PATH, METRICS_PATH}


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(k8s_source, "PAGE_SIZE", 2)


def test_runs_metrics_restarts_and_exit_reasons_are_recorded(
    stand_in: StandIn, engine: Engine
) -> None:
    stand_in.pods = PODS
    stand_in.metrics = [usage("dagster-step-ingest", "500m", "64Mi")]
    record_k8s_pods(engine, pytest.fail)
    found = processes(engine)
    assert set(found) == {p["metadata"]["name"] for p in PODS if p is not STRANGER}
    step = found["dagster-step-ingest"]
    assert (step["state"], step["run_id"], step["resource_name"]) == (
        "running",
        RUN_ID,
        "shop-daily",
    )
    assert (step["cpu_seconds"], step["peak_memory_bytes"]) == (15.0, 64 * 2**20)
    crash = found["dagster-step-crash"]
    assert (crash["state"], crash["restarts"], crash["exit_code"]) == ("restarting", 3, 1)
    assert found["dagster-step-crash"]["reason"] == "Error"
    oom = found["dagster-step-oom"]
    assert (oom["state"], oom["exit_code"], oom["reason"]) == ("failed", 137, "OOMKilled")
    worker = found["dagster-run-5e1d2c3b"]
    assert (worker["workspace"], worker["resource_name"], worker["run_id"]) == (
        "public",
        "shop-daily",
        RUN_ID,
    )
    pipes = found[PIPES["metadata"]["name"]]
    assert (pipes["run_id"], pipes["state"], pipes["exit_code"]) == (RUN_ID, "succeeded", 0)


def test_crash_loop_without_a_last_termination_keeps_its_reason(
    stand_in: StandIn, engine: Engine
) -> None:
    looping = pod(
        "dagster-step-loop",
        STEP_LABELS,
        "Running",
        [status({"waiting": {"reason": "CrashLoopBackOff"}}, 2)],
    )
    stand_in.pods = [looping]
    record_k8s_pods(engine, pytest.fail)
    row = processes(engine)["dagster-step-loop"]
    assert (row["state"], row["restarts"], row["reason"]) == ("restarting", 2, "CrashLoopBackOff")


@pytest.mark.parametrize("code", [404, 503])
def test_without_the_metrics_api_records_carry_no_figures(
    stand_in: StandIn, engine: Engine, code: int
) -> None:
    stand_in.pods, stand_in.metrics_status = [STEP], code
    warnings: list[str] = []
    assert record_k8s_pods(engine, warnings.append) == 1
    row = processes(engine)["dagster-step-ingest"]
    assert (row["cpu_seconds"], row["peak_memory_bytes"], warnings) == (None, None, [])


def test_metrics_not_allowed_is_a_warning_and_pods_are_recorded(
    stand_in: StandIn, engine: Engine
) -> None:
    stand_in.pods, stand_in.metrics_status = [STEP], 403
    warnings: list[str] = []
    assert record_k8s_pods(engine, warnings.append) == 1
    assert processes(engine)["dagster-step-ingest"]["peak_memory_bytes"] is None
    assert len(warnings) == 1 and "403" in warnings[0]


def test_an_api_error_is_a_warning_and_records_nothing(stand_in: StandIn, engine: Engine) -> None:
    stand_in.pods, stand_in.pods_status = PODS, 403
    warnings: list[str] = []
    assert record_k8s_pods(engine, warnings.append) == 0
    assert processes(engine) == {}
    assert len(warnings) == 1 and NS in warnings[0] and "403" in warnings[0]


def test_an_unreachable_api_is_a_warning(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    warnings: list[str] = []
    assert record_k8s_pods(engine, warnings.append) == 0
    assert len(warnings) == 1


def test_embedded_mode_makes_no_kubernetes_call(
    stand_in: StandIn, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATAOS_RUN_MODE")
    stand_in.pods = PODS
    assert record_k8s_pods(engine, pytest.fail, api_client=pytest.fail) == 0
    assert stand_in.requests == []
    assert processes(engine) == {}


def test_recording_again_is_idempotent_and_keeps_the_peak(
    stand_in: StandIn, engine: Engine
) -> None:
    stand_in.pods = PODS
    stand_in.metrics = [usage("dagster-step-ingest", "500m", "64Mi")]
    record_k8s_pods(engine, pytest.fail)
    first = processes(engine)
    record_k8s_pods(engine, pytest.fail)
    again = processes(engine)
    strip = {"recorded_ms"}
    for name, row in first.items():
        assert {k: v for k, v in row.items() if k not in strip} == {
            k: v for k, v in again[name].items() if k not in strip
        }
    stand_in.metrics = [usage("dagster-step-ingest", "100m", "32Mi")]
    record_k8s_pods(engine, pytest.fail)
    step = processes(engine)["dagster-step-ingest"]
    assert (step["peak_memory_bytes"], step["cpu_seconds"]) == (64 * 2**20, 3.0)


def test_pods_gone_from_a_complete_listing_are_stopped(stand_in: StandIn, engine: Engine) -> None:
    stand_in.pods = [STEP, OOM]
    record_k8s_pods(engine, pytest.fail)
    stand_in.pods = [OOM]
    record_k8s_pods(engine, pytest.fail)
    found = processes(engine)
    assert (found["dagster-step-ingest"]["state"], found["dagster-step-oom"]["state"]) == (
        "stopped",
        "failed",
    )


def test_the_source_reads_the_launchers_namespace_and_label() -> None:
    """Caretaker may not import the adapters (they import Dagster): the names are repeated."""
    assert k8s_source.NAMESPACE_ENV == k8s_launcher.NAMESPACE_ENV
    assert k8s_launcher.K8sSettings().job_namespace == k8s_source.DEFAULT_NAMESPACE
    platform = ",".join(f"{k}={v}" for k, v in k8s_launcher.K8sSettings().labels.items())
    assert platform in SELECTOR
    assert (
        "app.kubernetes.io/part-of=" + get_common_labels()["app.kubernetes.io/part-of"] in SELECTOR
    )
    assert f"{k8s_source.RUN_MODE_ENV}=k8s" == k8s_launcher.RUN_MODE
