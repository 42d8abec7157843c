"""Caretaker's Kubernetes source: the platform's pods and their PodMetrics, recorded each tick.

Only in Kubernetes mode (``DATAOS_RUN_MODE=k8s``, the switch that sends runs to pods): in
the embedded mode nothing here touches Kubernetes. Each call lists the pods of the job
namespace that carry the labels every run, step and Pipes pod of the platform gets —
``app.kubernetes.io/part-of=dagster`` (dagster-k8s' common labels, on run, step and Pipes
pods alike) and ``dataos.io/platform=dataos`` (``K8sSettings.labels``, given by the run
launcher to run and step pods and by our Pipes client to container pods) — a page at a
time and at most :data:`MAX_PODS` a tick, each request with a short timeout, so a slow API
server delays a tick by seconds, never blocks it.

Figures come from ``metrics.k8s.io`` (metrics-server) when it is installed; a 404 or 503
from it means "no figures", not an error (a 401/403 too, with a warning: the service
account may list pods without being allowed PodMetrics).

A pod is attributed to its run by the ``dagster/run-id`` label (run and step pods) or, for
Pipes pods that only carry the ``dataos.io/*`` labels, by the run id prefix dagster-k8s
puts in their name
(``dagster-<run_id[:18]>-<op>-<suffix>``); its Resource comes from the ``dataos.io/*``
labels or else from the run Caretaker already recorded. Pods of no known run or workflow
are ignored.

Recording is idempotent: a pod seen twice with the same sample is written with the same
values. Peak memory is the highest working set recorded so far (kept from the stored row);
CPU seconds are the latest sample's rate times its window (the metrics API serves no
totals, and adding samples up would count a sample read twice). A pod that disappears from a
complete listing (deleted with its Job) while recorded as live is recorded ``stopped``.

The ``kubernetes`` client is the official one (a dependency of dagster-k8s); it is imported
on first use, so the embedded mode never loads it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Engine, select

from dataos_defs.caretaker import schema
from dataos_defs.caretaker.k8s_pods import QuantityError, pod_record, with_metrics
from dataos_defs.caretaker.recorder import record_processes
from dataos_defs.caretaker.records import ProcessRecord, column_names

RUN_MODE_ENV = "DATAOS_RUN_MODE"
NAMESPACE_ENV = "DATAOS_K8S_JOB_NAMESPACE"
"""The same variable as ``adapters.k8s_launcher.NAMESPACE_ENV`` (a test holds them equal;
Caretaker may not import the adapters, which import Dagster)."""
DEFAULT_NAMESPACE = "dataos"
SELECTOR = "app.kubernetes.io/part-of=dagster,dataos.io/platform=dataos"
PAGE_SIZE = 100
MAX_PODS = 500
TIMEOUT_SECONDS = 5.0
METRICS_ABSENT = frozenset({404, 503})
"""Statuses of a cluster without metrics-server (no APIService, or it is unavailable)."""
METRICS_FORBIDDEN = frozenset({401, 403})
"""A service account allowed to list pods but not PodMetrics (the Dagster chart's Role
grants no ``metrics.k8s.io``; the kernel's Role ``dataos-caretaker``, from
:func:`dataos_defs.kernel.k8s_rbac.caretaker_rbac`, does): pods are still recorded, without
figures, and a warning says why."""
RUN_ID_LABEL = "dagster/run-id"
WORKFLOW_LABEL = "dataos.io/workflow"
PIPES_PREFIX_CHARS = 18
LIVE_STATES = ("pending", "running", "restarting")

Warn = Callable[[str], None]


@dataclass(frozen=True)
class Listing:
    """What one tick read: the pods (their JSON), whether that is all of them, the metrics."""

    pods: list[dict[str, Any]]
    complete: bool
    metrics: dict[str, dict[str, Any]]


def k8s_mode(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get(RUN_MODE_ENV) == "k8s"


def _api_client() -> Any:
    """In the cluster, its service account; elsewhere ``$KUBECONFIG`` (or ``~/.kube/config``)."""
    from kubernetes import client, config  # type: ignore[import-untyped]

    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config()
        return client.ApiClient()
    return config.new_client_from_config(config_file=os.environ.get("KUBECONFIG"))


def _json(response: Any) -> dict[str, Any]:
    data = json.loads(response.data)
    return data if isinstance(data, dict) else {}


def list_pods(api: Any, namespace: str, warn: Warn) -> Listing:
    """The platform's pods in ``namespace``, page by page up to :data:`MAX_PODS`, then their
    PodMetrics (``{}`` when the metrics API is absent)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException  # type: ignore[import-untyped]

    core = client.CoreV1Api(api)
    pods: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = _json(
            core.list_namespaced_pod(
                namespace,
                label_selector=SELECTOR,
                limit=min(PAGE_SIZE, MAX_PODS - len(pods)),
                _continue=token,
                _request_timeout=TIMEOUT_SECONDS,
                _preload_content=False,
            )
        )
        pods.extend(page.get("items") or [])
        token = (page.get("metadata") or {}).get("continue") or None
        if token is None or len(pods) >= MAX_PODS:
            break
    try:
        found = _json(
            client.CustomObjectsApi(api).list_namespaced_custom_object(
                "metrics.k8s.io",
                "v1beta1",
                namespace,
                "pods",
                label_selector=SELECTOR,
                _request_timeout=TIMEOUT_SECONDS,
                _preload_content=False,
            )
        )
    except ApiException as exc:
        if exc.status in METRICS_FORBIDDEN:
            warn(f"Caretaker: PodMetrics of {namespace} not allowed ({exc.status}): no figures")
        elif exc.status not in METRICS_ABSENT:
            raise
        found = {}
    metrics = {str((m.get("metadata") or {}).get("name")): m for m in found.get("items") or []}
    return Listing(pods[:MAX_PODS], token is None, metrics)


def _known_runs(conn: Connection, pods: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The recorded runs the pods may belong to (by full id, or the Pipes pods' prefix)."""
    runs = schema.runs.c
    columns = (runs.run_id, runs.workspace, runs.resource_type, runs.resource_name, runs.run_as)
    labels = [(p.get("metadata") or {}).get("labels") or {} for p in pods]
    ids = sorted({str(x[RUN_ID_LABEL]) for x in labels if x.get(RUN_ID_LABEL)})
    prefixes = sorted({x for x in map(_pipes_prefix, pods) if x is not None})
    found = [dict(r._mapping) for r in conn.execute(select(*columns).where(runs.run_id.in_(ids)))]
    for prefix in prefixes:
        query = select(*columns).where(runs.run_id.startswith(prefix, autoescape=True))
        found.extend(dict(r._mapping) for r in conn.execute(query.limit(2)))
    return found


def _pipes_prefix(pod: Mapping[str, Any]) -> str | None:
    name = str((pod.get("metadata") or {}).get("name") or "")
    parts = name.split("-")
    if len(parts) < 3 or parts[0] != "dagster" or len(parts[1]) < 8:
        return None
    return name[len("dagster-") :][:PIPES_PREFIX_CHARS]


def _attributed(
    pod: Mapping[str, Any], record: ProcessRecord, runs: Sequence[Mapping[str, Any]]
) -> ProcessRecord | None:
    labels = (pod.get("metadata") or {}).get("labels") or {}
    run_id = labels.get(RUN_ID_LABEL)
    if run_id is None:
        prefix = _pipes_prefix(pod)
        matches = [r for r in runs if prefix and str(r["run_id"]).startswith(prefix)]
        run = matches[0] if len({r["run_id"] for r in matches}) == 1 else None
    else:
        run = next((r for r in runs if r["run_id"] == run_id), None)
    if run is None and not labels.get(WORKFLOW_LABEL):
        return None
    if run is None:
        return record
    if labels.get(WORKFLOW_LABEL):
        return replace(record, run_id=run["run_id"], run_as=run["run_as"])
    return replace(
        record,
        run_id=run["run_id"],
        run_as=run["run_as"],
        workspace=run["workspace"],
        resource_type=run["resource_type"],
        resource_name=run["resource_name"],
    )


def _stored(conn: Connection, namespace: str) -> dict[str, ProcessRecord]:
    """The processes recorded for ``namespace``'s pods (nodes are ``<namespace>/<pod>``)."""
    procs = schema.processes.c
    query = select(schema.processes).where(procs.node.startswith(f"{namespace}/", autoescape=True))
    names = column_names(ProcessRecord)
    rows = conn.execute(query.limit(MAX_PODS * 4))
    return {row.node: ProcessRecord(**{n: row._mapping[n] for n in names}) for row in rows}


def records_of(engine: Engine, namespace: str, listing: Listing, warn: Warn) -> list[ProcessRecord]:
    """The records to write for ``listing``: attributed pods with their figures, and the
    live processes of ``namespace`` no longer listed (when the listing is complete)."""
    with engine.connect() as conn:
        runs = _known_runs(conn, listing.pods)
        stored = _stored(conn, namespace)
    records: dict[str, ProcessRecord] = {}
    for pod in listing.pods:
        record = _attributed(pod, pod_record(pod), runs)
        if record is None:
            continue
        sample = listing.metrics.get(record.node.split("/", 1)[1])
        if sample is not None:
            try:
                record = with_metrics(record, sample)
            except QuantityError as exc:
                warn(f"Caretaker: PodMetrics of {record.node} not read: {exc}")
        before = stored.get(record.node)
        if before is not None and (before.peak_memory_bytes or 0) > (record.peak_memory_bytes or 0):
            record = replace(record, peak_memory_bytes=before.peak_memory_bytes)
        records[record.node] = record
    if listing.complete:
        for node, before in stored.items():
            if node not in records and before.state in LIVE_STATES:
                records[node] = replace(before, state="stopped")
    return list(records.values())


def record_k8s_pods(
    engine: Engine,
    warn: Warn,
    environ: Mapping[str, str] | None = None,
    api_client: Callable[[], Any] = _api_client,
) -> int:
    """Record the platform's pods once (Kubernetes mode only); the number recorded.

    A Kubernetes API error (or no reachable configuration) is a warning and records nothing:
    runs and steps are recorded by the caller regardless.
    """
    if not k8s_mode(environ):
        return 0
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config import ConfigException  # type: ignore[import-untyped]
    from urllib3.exceptions import HTTPError

    env = os.environ if environ is None else environ
    namespace = env.get(NAMESPACE_ENV) or DEFAULT_NAMESPACE
    try:
        api = api_client()
        try:
            listing = list_pods(api, namespace, warn)
        finally:
            api.close()
    except (ApiException, ConfigException, HTTPError, OSError, ValueError) as exc:
        warn(f"Caretaker: pods of namespace {namespace} not read, retried next tick: {exc}")
        return 0
    records = records_of(engine, namespace, listing, warn)
    record_processes(engine, records)
    return len(records)
