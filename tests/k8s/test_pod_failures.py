"""A container job's pod that fails reports its exit code and the tail of its log.

No Kubernetes API server can run here. The real ``PipesK8sClient`` and the real
``DagsterKubernetesClient`` (its ``wait_for_pod`` reads container states) run against
:class:`Kubelet`, a stand-in for ``kubernetes.client.CoreV1Api`` that answers with the
``kubernetes`` client's own models as the API documents them (Pod, PodStatus,
ContainerStatus with ``state.running`` or ``state.terminated{exitCode, reason}``) and plays
the kubelet: the pod's command runs locally when the pod is created, with the pod's plain
env; the container shows running and ready until its log has been followed, then
terminated with the process's exit code. Log reads honour ``tail_lines``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, ClassVar

import dagster as dg
import kubernetes  # type: ignore[import-untyped]
import pytest
from dagster_k8s import PipesK8sClient
from kubernetes.client import (  # type: ignore[import-untyped]
    V1ContainerState,
    V1ContainerStateRunning,
    V1ContainerStateTerminated,
    V1ContainerStatus,
    V1ObjectMeta,
    V1Pod,
    V1PodList,
    V1PodStatus,
)
from kubernetes.client.exceptions import ApiException  # type: ignore[import-untyped]

from dataos_defs.compile import CompileInput, compile_definitions
from dataos_defs.manifest.loader import parse_yaml
from dataos_defs.manifest.validate import parse_document
from dataos_defs.stacks.container.pipes import run_container

WORKFLOW = """\
name: ship
version: v1
type: workflow
workflow:
  dag:
    - name: report
      spec:
        stack: container
        stackSpec:
          image: registry.example.com/shop/report:1.2
          command: [{python}, -c, {script}]
"""
FAILING = """\
import sys
from dagster_pipes import open_dagster_pipes
with open_dagster_pipes() as pipes:
    pipes.log.info("connecting to the warehouse")
for n in range(30):
    print(f"progress line {n}", flush=True)
print("disk full", file=sys.stderr, flush=True)
sys.exit(3)
"""
SUCCEEDING = """\
from dagster_pipes import open_dagster_pipes
with open_dagster_pipes() as pipes:
    pipes.report_asset_materialization(metadata={"rows": 7})
"""


class Kubelet:
    """``kubernetes.client.CoreV1Api`` as the Pipes client uses it, over pods run locally."""

    latest: ClassVar[Kubelet | None] = None
    unreadable: ClassVar[bool] = False
    """When set, reading a pod's status fails as an API server refusing it would."""

    def __init__(self, api_client: Any = None) -> None:
        self.pods: dict[str, dict[str, Any]] = {}
        self.deleted: list[str] = []
        Kubelet.latest = self

    def create_namespaced_pod(self, namespace: str, body: Any) -> None:
        pod = kubernetes.client.ApiClient().sanitize_for_serialization(body)
        (container,) = pod["spec"]["containers"]
        env = {e["name"]: e["value"] for e in container.get("env") or [] if "value" in e}
        done = subprocess.run(
            [*container["command"], *container.get("args", [])],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=False,
        )
        self.pods[pod["metadata"]["name"]] = {
            "container": container["name"],
            "image": container["image"],
            "lines": done.stdout.decode().splitlines(),
            "exit_code": done.returncode,
            "followed": False,
        }

    def _pod(self, name: str) -> V1Pod:
        pod = self.pods[name]
        if pod["followed"]:
            terminated = V1ContainerStateTerminated(
                exit_code=pod["exit_code"], reason="Completed" if pod["exit_code"] == 0 else "Error"
            )
            state, ready, phase = V1ContainerState(terminated=terminated), False, "Failed"
        else:
            state, ready, phase = (
                V1ContainerState(running=V1ContainerStateRunning()),
                True,
                "Running",
            )
        status = V1ContainerStatus(
            name=pod["container"],
            image=pod["image"],
            image_id="",
            ready=ready,
            restart_count=0,
            state=state,
        )
        return V1Pod(
            metadata=V1ObjectMeta(name=name),
            status=V1PodStatus(phase=phase, container_statuses=[status]),
        )

    def list_namespaced_pod(self, namespace: str, field_selector: str) -> V1PodList:
        name = field_selector.removeprefix("metadata.name=")
        live = name in self.pods and name not in self.deleted
        return V1PodList(items=[self._pod(name)] if live else [])

    def read_namespaced_pod(self, name: str, namespace: str) -> V1Pod:
        if Kubelet.unreadable:
            raise ApiException(status=403, reason="Forbidden")
        return self._pod(name)

    def read_namespaced_pod_log(self, name: str, namespace: str, **kwargs: Any) -> Any:
        pod = self.pods[name]
        if kwargs.get("follow"):
            pod["followed"] = True
            stamped = [
                f"2025-01-01T00:00:00.{n:06d}Z {line}\n" for n, line in enumerate(pod["lines"])
            ]
            return iter([line.encode() for line in stamped])
        lines = pod["lines"][-kwargs["tail_lines"] :] if kwargs.get("tail_lines") else pod["lines"]
        return SimpleNamespace(data="".join(f"{line}\n" for line in lines).encode())

    def delete_namespaced_pod(self, name: str, namespace: str) -> None:
        self.deleted.append(name)


@pytest.fixture(autouse=True)
def kubelet(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATAOS_RUN_MODE", "k8s")
    monkeypatch.setenv("DATAOS_K8S_JOB_NAMESPACE", "shop")
    monkeypatch.setattr(PipesK8sClient, "_load_k8s_config", lambda self: None)
    monkeypatch.setattr(kubernetes.client, "CoreV1Api", Kubelet)
    monkeypatch.setattr(Kubelet, "unreadable", False)
    yield
    Kubelet.latest = None


def _run(script: str) -> dg.ExecuteInProcessResult:
    text = WORKFLOW.format(python=json.dumps(sys.executable), script=json.dumps(script))
    documents, problems = parse_yaml(textwrap.dedent(text), "ship.yaml")
    assert not problems
    parsed, issues = parse_document(documents[0])
    assert parsed is not None and not issues
    defs = compile_definitions([CompileInput(parsed.model)], {"container": run_container})
    return defs.resolve_job_def("public__ship").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )


def _failure(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    """Class name -> message of each error along the step failure's chain of causes."""
    failure = next(e for e in result.all_events if e.is_step_failure)
    error = failure.step_failure_data.error
    chain = {}
    while error is not None:
        chain[error.cls_name] = error.message
        error = error.cause
    return chain


def test_a_failed_pod_reports_its_exit_code_and_the_tail_of_its_log() -> None:
    result = _run(FAILING)
    assert not result.success
    message = _failure(result)["ContainerExitError"]
    head, tail = message.split("; last lines of its log:\n")
    assert head.endswith("of image 'registry.example.com/shop/report:1.2' exited with code 3")
    assert tail.splitlines() == [*(f"progress line {n}" for n in range(11, 30)), "disk full"]
    kubelet = Kubelet.latest
    assert kubelet is not None and kubelet.deleted == list(kubelet.pods)


def test_a_succeeding_pod_reports_its_results_and_is_deleted() -> None:
    result = _run(SUCCEEDING)
    assert result.success
    (event,) = result.get_asset_materialization_events()
    assert event.materialization.metadata["rows"].value == 7
    kubelet = Kubelet.latest
    assert kubelet is not None and kubelet.deleted == list(kubelet.pods)


def test_a_pod_whose_status_cannot_be_read_still_fails_with_dagster_k8s_account() -> None:
    Kubelet.unreadable = True
    result = _run(FAILING)
    assert not result.success
    message = _failure(result)["ContainerExitError"]
    assert (
        "ContainerExitError: pod of image 'registry.example.com/shop/report:1.2' failed: "
        in message
    )
    assert "disk full" in message and "exited with code" not in message
    kubelet = Kubelet.latest
    assert kubelet is not None and kubelet.deleted == list(kubelet.pods)
