"""The ingestion of a scan as its own pod on Kubernetes (``DATAOS_RUN_MODE=k8s``).

The step (in its own pod) prepares everything as it does locally: authorization, the
depot's credentials, the run's scanner key, the workflow configuration. The ingestion then
runs in a pod of the scanner image (``DATAOS_SCANNER_IMAGE``: openmetadata-ingestion from
``metis-ingestion/uv.lock``) started by :class:`dagster_k8s.PipesK8sClient`, sized, placed
and labelled by the job's ``dagster-k8s/config`` op tag as a container job is
(``stacks.container.pipes.pod_request``'s shape).

Secrets never sit in the pod's spec: the configuration travels in an environment variable
with ``${DATAOS_SCANNER_SECRET_n}`` placeholders only (``adapters.openmetadata``), and the
values are in a Kubernetes Secret made for this run, referenced by ``secretKeyRef`` and
deleted with the pod. The pod writes the configuration to a private file and runs
``python -m metadata <command>``; its log, read before the pod is deleted, gives the summary
(records, warnings, errors) and, redacted, the tail a failure reports.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Mapping
from typing import Any

from dagster import AssetExecutionContext

from dataos_defs.adapters.k8s_launcher import RUN_K8S_CONFIG, K8sSettings
from dataos_defs.adapters.openmetadata import PreparedWorkflow
from dataos_defs.adapters.openmetadata_summary import IngestionResult, parse_summary, plain
from dataos_defs.compile import JobContext
from dataos_defs.compile.k8s import K8S_CONFIG_TAG
from dataos_defs.stacks.container.pipes import job_env, pod_keeping_client

IMAGE_ENV = "DATAOS_SCANNER_IMAGE"
DEFAULT_IMAGE = "registry.example.com/dataos/metis-ingestion:2.0.7"
CONFIG_ENV = "DATAOS_SCANNER_CONFIG"
BOOT = (
    'umask 077 && printf "%s" "$DATAOS_SCANNER_CONFIG" > /tmp/workflow.json'
    ' && exec python -m metadata "$0" -c /tmp/workflow.json'
)
"""The pod's command: the configuration into a private file, then the ingestion."""
LOG_TAIL_LINES = 400


def secret_body(name: str, prepared: PreparedWorkflow, labels: Mapping[str, str]) -> dict[str, Any]:
    """The run's Kubernetes Secret: each placeholder's value as the configuration needs it."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "labels": dict(labels)},
        "type": "Opaque",
        "stringData": prepared.environment(),
    }


def pod_request(
    job: JobContext,
    k8s_config: Mapping[str, Any],
    settings: K8sSettings,
    prepared: PreparedWorkflow,
    secret_name: str,
) -> dict[str, Any]:
    """The arguments of ``PipesK8sClient.run`` for the ingestion of ``job`` (but ``context``)."""
    container: dict[str, Any] = dict(k8s_config.get("container_config") or {})
    container["args"] = [prepared.command]
    container["env"] = [
        *(container.get("env") or []),
        *(_secret_env(variable, secret_name) for variable in sorted(prepared.secrets)),
    ]
    pod_spec: dict[str, Any] = {**(k8s_config.get("pod_spec_config") or {})}
    pod_spec["containers"] = [container]
    tagged = (k8s_config.get("pod_template_spec_metadata") or {}).get("labels") or {}
    annotations = RUN_K8S_CONFIG["pod_template_spec_metadata"]["annotations"]
    return {
        "image": os.environ.get(IMAGE_ENV) or DEFAULT_IMAGE,
        "command": ["sh", "-c", BOOT],
        "namespace": settings.job_namespace,
        "env": {**job_env(job), CONFIG_ENV: prepared.config_text()},
        "base_pod_meta": {
            "labels": {**settings.labels, **tagged},
            "annotations": dict(annotations),
        },
        "base_pod_spec": pod_spec,
    }


def _secret_env(variable: str, secret_name: str) -> dict[str, Any]:
    """An environment variable of the pod read from the run's Secret (as the op tag writes
    secret references: snake_case keys, which dagster-k8s turns into the API's)."""
    return {
        "name": variable,
        "value_from": {"secret_key_ref": {"name": secret_name, "key": variable}},
    }


def _op_k8s_config(context: AssetExecutionContext) -> dict[str, Any]:
    value: Any = context.op_execution_context.op_def.tags.get(K8S_CONFIG_TAG) or {}
    return dict(json.loads(value) if isinstance(value, str) else value)


def ingest_in_pod(
    context: AssetExecutionContext, job: JobContext, prepared: PreparedWorkflow
) -> IngestionResult:
    """Run the prepared ingestion in its own pod and read its result from the pod's log."""
    from dagster_k8s.client import DagsterK8sError, DagsterKubernetesClient

    settings = K8sSettings.from_env()
    secret_name = f"dataos-scan-{uuid.uuid4().hex[:16]}"
    request = pod_request(job, _op_k8s_config(context), settings, prepared, secret_name)
    namespace = request["namespace"]
    pipes = pod_keeping_client()()
    pipes._load_k8s_config()  # the configuration the client loads itself in run()
    client = DagsterKubernetesClient.production_client()
    labels = request["base_pod_meta"]["labels"]
    client.core_api.create_namespaced_secret(namespace, secret_body(secret_name, prepared, labels))
    started = time.monotonic()
    exit_code, log = 0, ""
    try:
        try:
            pipes.run(context=context, delete_pod_on_completion=False, **request)
        except DagsterK8sError:
            exit_code = 1
        if pipes.started is not None:
            pod_client, pod_namespace, pod = pipes.started
            log = _pod_log(context, pod_client, pod, pod_namespace)
    finally:
        _delete(context, client.core_api.delete_namespaced_secret, "secret", secret_name, namespace)
        if pipes.started is not None:
            pod_client, pod_namespace, pod = pipes.started
            _delete(context, pod_client.core_api.delete_namespaced_pod, "pod", pod, pod_namespace)
    lines = [plain(line) for line in log.splitlines()]
    steps, success = parse_summary("\n".join(lines))
    return IngestionResult(
        command=prepared.command,
        exit_code=exit_code,
        timed_out=False,
        seconds=round(time.monotonic() - started, 3),
        steps=steps,
        success_pct=success,
        output=prepared.redact("\n".join(lines[-LOG_TAIL_LINES:])),
    )


def _pod_log(context: AssetExecutionContext, client: Any, pod: str, namespace: str) -> str:
    try:
        return str(client.retrieve_pod_logs(pod, namespace))
    except Exception as exc:  # a lost log must not hide the outcome
        context.log.warning(f"could not read the log of pod {pod}: {type(exc).__name__}")
        return ""


def _delete(
    context: AssetExecutionContext, delete: Any, kind: str, name: str, namespace: str
) -> None:
    try:
        delete(name, namespace)
    except Exception as exc:  # cleanup must not hide the step's outcome
        context.log.warning(f"could not delete {kind} {name} in {namespace}: {exc}")
