"""The ``container`` stack runs through Dagster Pipes, locally and (stood in) on Kubernetes.

Embedded mode really runs the commands: ``python -c`` scripts that report through
``dagster_pipes``, in process on an ephemeral instance.

No Kubernetes cluster can run here, so Kubernetes mode tests the documented contract: the
real ``PipesK8sClient.run`` is driven with a stand-in for its Kubernetes client. The stand-in
records the pod it is asked to create (``create_namespaced_pod``), serialized by the real
``kubernetes`` client and validated strictly against Kubernetes 1.33, and plays the kubelet
by running the pod's command locally with the pod's plain env, serving its output as the pod
log that ``PipesK8sClient`` reads Pipes messages from.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import dagster as dg
import kubernetes  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
from dagster_k8s import PipesK8sClient
from dagster_k8s.client import DagsterKubernetesClient

from dataos_defs.compile import CompileInput, compile_definitions
from dataos_defs.manifest.compute import NodePool
from dataos_defs.manifest.loader import parse_yaml
from dataos_defs.manifest.validate import parse_document
from dataos_defs.stacks.container.pipes import run_container

REPORT = """\
import json, os
from dagster_pipes import open_dagster_pipes
with open_dagster_pipes() as pipes:
    pipes.log.info("hello from the container")
    names = ["GREETING", "RETRIES", "DATAOS_WORKSPACE", "DATAOS_WORKFLOW", "DATAOS_JOB"]
    pipes.report_asset_materialization(metadata={
        "rows": 42,
        "env": json.dumps({name: os.environ.get(name) for name in names}),
        "leaked": "DATAOS_SECRET_KEY" in os.environ,
    })
"""

WORKFLOW = """\
name: ship
version: v1
type: workflow
workflow:
  dag:
    - name: report
      spec:
        stack: container
        compute: runnable-gpu
        envs: {{GREETING: hello, RETRIES: 3, DB_PASSWORD: hunter2}}
        dataosSecrets: [{{name: shop-db, allKeys: true}}]
        resources:
          requests: {{cpu: 100m, memory: 128Mi}}
          limits: {{cpu: "1", memory: 256Mi}}
        stackSpec:
          image: registry.example.com/shop/report:1.2
          command: [{python}, -c]
          arguments: [{report}]
    - name: plain
      dependencies: [report]
      spec:
        stack: container
        stackSpec:
          image: busybox:1.36
          command: [{python}, -c, {plain}]
"""

POOLS = {"runnable-gpu": NodePool(nodeSelector={"dataos.io/purpose": "gpu"})}


def _defs(plain: str = "print('plain job')") -> dg.Definitions:
    text = WORKFLOW.format(
        python=json.dumps(sys.executable), report=json.dumps(REPORT), plain=json.dumps(plain)
    )
    documents, problems = parse_yaml(textwrap.dedent(text), "ship.yaml")
    assert not problems
    parsed, issues = parse_document(documents[0])
    assert parsed is not None and not issues, [str(i) for i in issues]
    return compile_definitions(
        [CompileInput(parsed.model)], {"container": run_container}, compute=POOLS
    )


def _run(defs: dg.Definitions) -> tuple[dg.ExecuteInProcessResult, dg.DagsterInstance]:
    instance = dg.DagsterInstance.ephemeral()
    result = defs.resolve_job_def("public__ship").execute_in_process(
        instance=instance, raise_on_error=False
    )
    return result, instance


def _materializations(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, Any]]:
    found = {}
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        found[materialization.asset_key.to_user_string()] = {
            key: value.value for key, value in materialization.metadata.items()
        }
    return found


def _logged(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    return [entry.user_message for entry in instance.all_logs(run_id)]


@pytest.fixture
def embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATAOS_RUN_MODE", "embedded")
    monkeypatch.setenv("DATAOS_SECRET_KEY", "must-not-reach-the-job")


@pytest.mark.usefixtures("embedded")
def test_a_pipes_command_reports_its_metadata_env_and_log() -> None:
    result, instance = _run(_defs())
    assert result.success
    found = _materializations(result)
    report = found["dataos/public/ship/report"]
    assert report["rows"] == 42 and report["leaked"] is False
    assert json.loads(report["env"]) == {
        "GREETING": "hello",
        "RETRIES": "3",
        "DATAOS_WORKSPACE": "public",
        "DATAOS_WORKFLOW": "ship",
        "DATAOS_JOB": "report",
    }
    assert report["dataos/image"] == "registry.example.com/shop/report:1.2"
    assert report["dataos/run_mode"] == "embedded" and report["dataos/exit_code"] == 0
    plain = found["dataos/public/ship/plain"]
    assert plain["dataos/image"] == "busybox:1.36" and "rows" not in plain
    logs = _logged(instance, result.run_id)
    assert any("hello from the container" in line for line in logs)
    assert any("shop-db" in line and "not provided" in line for line in logs)
    assert not any("hunter2" in line or "must-not-reach" in line for line in logs)


@pytest.mark.usefixtures("embedded")
def test_a_failing_command_fails_the_run_with_its_exit_code_and_stderr() -> None:
    script = "import sys; print('disk full', file=sys.stderr); sys.exit(3)"
    result, _ = _run(_defs(plain=script))
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    error = failure.step_failure_data.error
    message = ""
    while error is not None:
        message, error = message + error.message, error.cause
    assert "exited with code 3" in message and "disk full" in message
    assert set(_materializations(result)) == {"dataos/public/ship/report"}


class _Kubelet:
    """The Kubernetes client ``PipesK8sClient`` uses, standing in for an API server + kubelet."""

    def __init__(self) -> None:
        self.pods: list[dict[str, Any]] = []
        self.namespaces: list[str] = []
        self.core_api = self

    def create_namespaced_pod(self, namespace: str, body: Any) -> None:
        self.namespaces.append(namespace)
        self.pods.append(kubernetes.client.ApiClient().sanitize_for_serialization(body))

    def wait_for_pod(self, *args: Any, **kwargs: Any) -> None:
        return None

    def delete_namespaced_pod(self, name: str, namespace: str) -> None:
        return None

    def read_namespaced_pod_log(self, name: str, namespace: str, **kwargs: Any) -> Iterator[bytes]:
        (container,) = self.pods[-1]["spec"]["containers"]
        env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
        done = subprocess.run(
            [*container["command"], *container.get("args", [])],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=True,
        )
        for n, line in enumerate(done.stdout.decode().splitlines()):
            yield f"2025-01-01T00:00:00.{n:06d}Z {line}\n".encode()


def test_k8s_mode_submits_a_valid_pod_with_image_env_resources_and_node_pool(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    kubelet = _Kubelet()
    monkeypatch.setenv("DATAOS_RUN_MODE", "k8s")
    monkeypatch.setenv("DATAOS_K8S_JOB_NAMESPACE", "shop")
    monkeypatch.setattr(PipesK8sClient, "_load_k8s_config", lambda self: None)
    monkeypatch.setattr(DagsterKubernetesClient, "production_client", lambda *a, **k: kubelet)
    result, instance = _run(_defs())
    assert result.success
    assert kubelet.namespaces == ["shop", "shop"]
    report, plain = kubelet.pods
    for pod in kubelet.pods:
        pod.setdefault("apiVersion", "v1")
        pod.setdefault("kind", "Pod")
        kubernetes_validate.validate(pod, "1.33.0", strict=True)
    (container,) = report["spec"]["containers"]
    assert container["image"] == "registry.example.com/shop/report:1.2"
    assert container["command"] == [sys.executable, "-c"] and container["args"] == [REPORT]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert {k: env[k] for k in ("GREETING", "RETRIES", "DB_PASSWORD", "DATAOS_JOB")} == {
        "GREETING": "hello",
        "RETRIES": "3",
        "DB_PASSWORD": "hunter2",
        "DATAOS_JOB": "report",
    }
    assert "DAGSTER_PIPES_CONTEXT" in env
    assert container["envFrom"] == [{"secretRef": {"name": "shop-db"}}]
    assert container["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "1", "memory": "256Mi"},
    }
    assert report["spec"]["nodeSelector"] == {"dataos.io/purpose": "gpu"}
    assert report["spec"]["restartPolicy"] == "Never"
    assert report["metadata"]["labels"]["dataos.io/job"] == "report"
    assert "nodeSelector" not in plain["spec"]
    found = _materializations(result)
    assert found["dataos/public/ship/report"]["rows"] == 42
    assert found["dataos/public/ship/report"]["dataos/run_mode"] == "k8s"
    assert any("hello from the container" in line for line in _logged(instance, result.run_id))
