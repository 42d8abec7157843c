"""Kubernetes pods as Caretaker's :class:`ProcessRecord`: status and the metrics API's figures.

Written against the documented shapes, and tested with them (``tests/caretaker/test_k8s_pods.py``):

* a ``core/v1`` Pod (``GET /api/v1/namespaces/{ns}/pods/{name}``): ``metadata.labels``
  (``dataos.io/workspace|workflow|job`` set by the compiler, ``dagster/run-id`` set by
  dagster-k8s), ``status.phase`` (Pending, Running, Succeeded, Failed, Unknown),
  ``status.startTime``, ``status.reason`` (e.g. ``Evicted``) and ``status.containerStatuses[]``
  with ``restartCount``, ``state``/``lastState`` of ``waiting{reason}``,
  ``running{startedAt}`` or ``terminated{exitCode, reason, startedAt, finishedAt}``;
* a ``metrics.k8s.io/v1beta1`` PodMetrics (``GET /apis/metrics.k8s.io/v1beta1/namespaces/
  {ns}/pods/{name}``): ``window`` (e.g. ``"30s"``) and ``containers[].usage`` with ``cpu``
  and ``memory`` as resource quantities (``"250m"``, ``"12345n"``, ``"64Mi"``).

The metrics API gives a sample, not totals: memory is the working set now and CPU a rate
over the window. A pod's peak memory is the highest sample seen and its CPU seconds the sum
of rate times window over the samples (:func:`with_metrics`), an estimate as good as the
sampling (the kubelet's own counters are not served by that API).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from dataos_defs.caretaker.records import ProcessRecord, ProcessState

_QUANTITY = re.compile(r"^([0-9.]+(?:[eE][-+]?[0-9]+)?)([a-zA-Z]*)$")
_SUFFIX = {
    "": 1.0, "n": 1e-9, "u": 1e-6, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
    "P": 1e15, "E": 1e18, "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40,
    "Pi": 2.0**50, "Ei": 2.0**60,
}  # fmt: skip
_PHASES: dict[str, ProcessState] = {
    "Pending": "pending",
    "Running": "running",
    "Succeeded": "succeeded",
    "Failed": "failed",
}
_RESTARTING_REASONS = {"CrashLoopBackOff", "ContainerCreating"}


class QuantityError(ValueError):
    """Not a Kubernetes resource quantity."""


def quantity(text: str) -> float:
    """A resource quantity as a number: ``"250m"`` → 0.25, ``"64Mi"`` → 67108864."""
    found = _QUANTITY.match(str(text).strip())
    if not found or found.group(2) not in _SUFFIX:
        raise QuantityError(f"'{text}' is not a Kubernetes quantity (e.g. 250m, 64Mi)")
    return float(found.group(1)) * _SUFFIX[found.group(2)]


def _ms(stamp: str | None) -> int | None:
    if not stamp:
        return None
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)


def _terminations(statuses: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Each container's termination: its current one, else its last (a restarted one)."""
    found = []
    for status in statuses:
        state, last = status.get("state") or {}, status.get("lastState") or {}
        ended = state.get("terminated") or last.get("terminated")
        if ended:
            found.append(ended)
    return found


def _state(phase: str, statuses: list[Mapping[str, Any]]) -> ProcessState:
    waiting = [((s.get("state") or {}).get("waiting") or {}).get("reason") for s in statuses]
    if phase == "Running" and any(
        r in _RESTARTING_REASONS and s.get("restartCount", 0)
        for r, s in zip(waiting, statuses, strict=True)
    ):
        return "restarting"
    return _PHASES.get(phase, "pending")


def pod_record(pod: Mapping[str, Any]) -> ProcessRecord:
    """A pod's record from its ``core/v1`` JSON."""
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    labels = meta.get("labels") or {}
    statuses = list(status.get("containerStatuses") or [])
    ended = _terminations(statuses)
    failing = [t for t in ended if t.get("exitCode")]
    chosen = failing[0] if failing else (ended[0] if ended else None)
    state = _state(str(status.get("phase") or ""), statuses)
    waiting = [((s.get("state") or {}).get("waiting") or {}).get("reason") for s in statuses]
    reason = (
        (chosen or {}).get("reason")
        or status.get("reason")
        or next((r for r in waiting if r), None)
    )
    finished = [t for t in (_ms(e.get("finishedAt")) for e in ended) if t is not None]
    return ProcessRecord(
        node=f"{meta.get('namespace', 'default')}/{meta.get('name', '')}",
        workspace=labels.get("dataos.io/workspace", meta.get("namespace", "")),
        resource_type="workflow",
        resource_name=labels.get("dataos.io/workflow", ""),
        run_id=labels.get("dagster/run-id"),
        state=state,
        started_ms=_ms(status.get("startTime")),
        ended_ms=max(finished) if finished and state in ("succeeded", "failed") else None,
        restarts=sum(int(s.get("restartCount") or 0) for s in statuses),
        exit_code=int(chosen["exitCode"]) if chosen and "exitCode" in chosen else None,
        cpu_seconds=None,
        peak_memory_bytes=None,
        reason=reason,
        job=labels.get("dataos.io/job"),
        replica=meta.get("name"),
    )


def with_metrics(record: ProcessRecord, metrics: Mapping[str, Any]) -> ProcessRecord:
    """``record`` with one PodMetrics sample added: peak memory is the highest working set
    seen, CPU seconds grow by the sampled rate times the sample's window."""
    containers = metrics.get("containers") or []
    memory = sum(quantity((c.get("usage") or {}).get("memory", "0")) for c in containers)
    cores = sum(quantity((c.get("usage") or {}).get("cpu", "0")) for c in containers)
    window = _window_seconds(str(metrics.get("window") or "0s"))
    peak = max(int(memory), record.peak_memory_bytes or 0)
    cpu = round((record.cpu_seconds or 0.0) + cores * window, 6)
    return replace(record, peak_memory_bytes=peak, cpu_seconds=cpu)


def _window_seconds(text: str) -> float:
    """A Go duration of the metrics API (``"30s"``, ``"1m0s"``, ``"15.5s"``) in seconds."""
    parts = re.findall(r"([0-9.]+)(h|ms|m|s)", text)
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return sum(float(value) * units[unit] for value, unit in parts)
