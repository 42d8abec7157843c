"""Pods and PodMetrics, in the shapes the Kubernetes API documents, as process records."""

from __future__ import annotations

import pytest

from dataos_defs.caretaker.k8s_pods import QuantityError, pod_record, quantity, with_metrics

LABELS = {
    "dataos.io/workspace": "public",
    "dataos.io/workflow": "shop-daily",
    "dataos.io/job": "ingest-orders",
    "dagster/run-id": "0f3c6f0e-run",
}


def pod(phase: str, statuses: list[dict[str, object]], **status: object) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "dagster-step-abc", "namespace": "dataos-public", "labels": LABELS},
        "status": {
            "phase": phase,
            "startTime": "2026-12-07T10:00:00Z",
            "containerStatuses": statuses,
            **status,
        },
    }


def container(state: dict[str, object], restarts: int = 0, last: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
    return {
        "name": "dagster",
        "ready": False,
        "restartCount": restarts,
        "state": state,
        "lastState": last or {},
        "image": "dataos/step:1",
    }


def test_an_oom_killed_pod_fails_with_its_exit_code_and_reason() -> None:
    ended = {
        "terminated": {
            "exitCode": 137,
            "reason": "OOMKilled",
            "startedAt": "2026-12-07T10:00:05Z",
            "finishedAt": "2026-12-07T10:01:05Z",
        }
    }
    record = pod_record(pod("Failed", [container(ended)]))
    assert record.node == "dataos-public/dagster-step-abc"
    assert (record.workspace, record.resource_name, record.run_id) == (
        "public",
        "shop-daily",
        "0f3c6f0e-run",
    )
    assert (record.state, record.exit_code, record.reason) == ("failed", 137, "OOMKilled")
    assert record.started_ms == 1796637600000 and record.ended_ms == 1796637665000


def test_a_crash_looping_pod_is_restarting_with_its_restarts_and_last_exit() -> None:
    waiting = {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}}
    last = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2026-12-07T10:02:00Z"}}
    record = pod_record(pod("Running", [container(waiting, restarts=3, last=last)]))
    assert (record.state, record.restarts, record.exit_code) == ("restarting", 3, 1)
    assert record.ended_ms is None and record.reason == "Error"


def test_running_succeeded_and_evicted_pods() -> None:
    running = pod_record(
        pod("Running", [container({"running": {"startedAt": "2026-12-07T10:00:01Z"}})])
    )
    assert (running.state, running.exit_code, running.restarts) == ("running", None, 0)
    done = {
        "terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": "2026-12-07T10:00:30Z"}
    }
    assert pod_record(pod("Succeeded", [container(done)])).exit_code == 0
    evicted = pod_record(pod("Failed", [], reason="Evicted", message="low on memory"))
    assert (evicted.state, evicted.reason) == ("failed", "Evicted")


def test_pod_metrics_samples_give_peak_memory_and_cpu_seconds() -> None:
    record = pod_record(pod("Running", [container({"running": {}})]))
    sample = {
        "kind": "PodMetrics",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {"name": "dagster-step-abc", "namespace": "dataos-public"},
        "timestamp": "2026-12-07T10:00:30Z",
        "window": "30s",
        "containers": [
            {"name": "dagster", "usage": {"cpu": "250m", "memory": "64Mi"}},
            {"name": "sidecar", "usage": {"cpu": "50000000n", "memory": "1024Ki"}},
        ],
    }
    once = with_metrics(record, sample)
    assert once.peak_memory_bytes == 64 * 2**20 + 2**20 and once.cpu_seconds == pytest.approx(9.0)
    lower = {
        **sample,
        "containers": [{"name": "dagster", "usage": {"cpu": "1", "memory": "1Mi"}}],
        "window": "1m0s",
    }
    twice = with_metrics(once, lower)
    assert twice.peak_memory_bytes == once.peak_memory_bytes
    assert twice.cpu_seconds == pytest.approx(69.0)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("250m", 0.25),
        ("2", 2.0),
        ("1Gi", 2.0**30),
        ("1e3", 1000.0),
        ("500M", 5e8),
        ("1500u", 0.0015),
    ],
)
def test_quantities(text: str, value: float) -> None:
    assert quantity(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "12Qi", "-1", "ten"])
def test_a_bad_quantity_says_what_a_quantity_looks_like(text: str) -> None:
    with pytest.raises(QuantityError, match="not a Kubernetes quantity"):
        quantity(text)
