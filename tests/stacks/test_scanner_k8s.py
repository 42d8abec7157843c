"""On Kubernetes (``DATAOS_RUN_MODE=k8s``) a scanner job runs its ingestion as its own pod
through the real ``PipesK8sClient``. No Kubernetes API server runs here, so the client's
Kubernetes calls go to a stand-in (the documented ``CoreV1Api`` calls: create and delete a
Secret and a Pod, read a Pod's log); the Pod and the Secret it records are validated with
``kubernetes-validate --strict`` (Kubernetes 1.33), and the ingestion's printed summary is
served as the pod's log. The step itself is real: Dagster in process, the store, Heimdall
and an embedded PostgreSQL listed as the depot's source."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import psycopg
import pytest
from dagster._serdes import serialize_value
from dagster_k8s import PipesK8sClient
from dagster_k8s.client import DagsterKubernetesClient
from scanner_support import DEPOT, PASSWORD, SCAN, SHOP

from dataos_defs.metis.access import SCANNER_USER_ID
from dataos_defs.metis.scanner import ensure_scanner_user
from dataos_defs.poros.identities import Identities
from dataos_defs.poros.settings import Settings
from dataos_defs.stacks.scanner.k8s import BOOT, CONFIG_ENV
from tests.conftest import socket_conninfo
from tests.dagster.governance_support import World, access, failure_messages

pytestmark = [pytest.mark.postgres]

IMAGE = "registry.example.com/dataos/metis-ingestion:2.0.7"
SUMMARY = """\
[2026-12-08 00:00:00] INFO     Statuses detailed info:
Workflow Postgres Summary:
Processed records: 7
Updated records: 0
Warnings: 1
Errors: 0
Workflow OpenMetadata Summary:
Processed records: 7
Errors: 0
Workflow Success %: 100.0
"""


class _Cluster:
    """The Kubernetes client ``PipesK8sClient`` and the scanner use, standing in for an API
    server and a kubelet whose pod printed :data:`SUMMARY`."""

    def __init__(self) -> None:
        self.pods: list[tuple[str, dict[str, Any]]] = []
        self.secrets: list[tuple[str, dict[str, Any]]] = []
        self.deleted: list[tuple[str, str]] = []
        self.core_api = self

    def create_namespaced_secret(self, namespace: str, body: Any) -> None:
        self.secrets.append((namespace, body))

    def create_namespaced_pod(self, namespace: str, body: Any) -> None:
        self.pods.append(
            (namespace, kubernetes.client.ApiClient().sanitize_for_serialization(body))
        )

    def wait_for_pod(self, *args: Any, **kwargs: Any) -> None:
        return None

    def read_namespaced_pod_log(self, name: str, namespace: str, **kwargs: Any) -> Iterator[bytes]:
        for n, line in enumerate(SUMMARY.splitlines()):
            yield f"2026-12-08T00:00:00.{n:06d}Z {line}\n".encode()

    def retrieve_pod_logs(self, name: str, namespace: str, **kwargs: Any) -> str:
        assert (namespace, name) in [(n, p["metadata"]["name"]) for n, p in self.pods]
        return SUMMARY

    def delete_namespaced_pod(self, name: str, namespace: str) -> None:
        self.deleted.append(("pod", name))

    def delete_namespaced_secret(self, name: str, namespace: str) -> None:
        self.deleted.append(("secret", name))


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> _Cluster:
    stand_in = _Cluster()
    monkeypatch.setenv("DATAOS_RUN_MODE", "k8s")
    monkeypatch.setenv("DATAOS_K8S_JOB_NAMESPACE", "shop")
    monkeypatch.setenv("DATAOS_SCANNER_IMAGE", IMAGE)
    monkeypatch.setattr(PipesK8sClient, "_load_k8s_config", lambda self: None)
    monkeypatch.setattr(DagsterKubernetesClient, "production_client", lambda *a, **k: stand_in)
    return stand_in


@pytest.fixture
def world(tmp_path: Path, fresh_postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> World:
    home = tmp_path / "home"
    home.mkdir()
    for name in ("DATAOS_DATABASE_URL", "DATAOS_EXECUTORS", "DATAOS_POLICIES_ROOT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATAOS_HOME", str(home))
    monkeypatch.setenv("DATAOS_API_URL", "http://metis.dataos.svc:7400")
    socket_dir, conninfo = socket_conninfo(fresh_postgres_url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SHOP)
    settings = dict(part.split("=", 1) for part in conninfo.split())
    world = World(home, Settings.from_env({"DATAOS_HOME": str(home)}))
    with world.store() as store:
        identities = Identities(store)
        ensure_scanner_user(identities)
        identities.create_user("scan-bot", "application")
    depot = DEPOT.format(
        user=settings["user"], password=PASSWORD, host=socket_dir, database=settings["dbname"]
    )
    world.apply(textwrap.dedent(depot))
    world.apply(access("scan-bot-reads", "[users:id:scan-bot]", "read", "dataos://shopdb:**"))
    world.apply(SCAN, actor="scan-bot", run_as="scan-bot")
    return world


def test_the_ingestion_runs_as_a_valid_pod_whose_secrets_live_in_a_secret_of_the_run(
    world: World, cluster: _Cluster
) -> None:
    result = world.run("scan-shopdb")
    assert result.success, failure_messages(result)

    [(namespace, pod)] = cluster.pods
    [(secret_namespace, secret)] = cluster.secrets
    assert namespace == secret_namespace == "shop"
    kubernetes_validate.validate({"apiVersion": "v1", "kind": "Pod", **pod}, "1.33.0", strict=True)
    kubernetes_validate.validate(secret, "1.33.0", strict=True)
    assert PASSWORD not in json.dumps(pod), "a password in the pod's spec"
    assert PASSWORD in secret["stringData"].values()
    name = secret["metadata"]["name"]
    assert set(cluster.deleted) == {("secret", name), ("pod", pod["metadata"]["name"])}

    (container,) = pod["spec"]["containers"]
    assert container["image"] == IMAGE
    assert container["command"] == ["sh", "-c", BOOT] and container["args"] == ["ingest"]
    env = {e["name"]: e for e in container["env"]}
    refs = {k: v["valueFrom"]["secretKeyRef"] for k, v in env.items() if "valueFrom" in v}
    assert refs == {k: {"name": name, "key": k} for k in secret["stringData"]}
    config = json.loads(env[CONFIG_ENV]["value"])
    server = config["workflowConfig"]["openMetadataServerConfig"]
    assert server["hostPort"] == "http://metis.dataos.svc:7400/metis/api"
    assert server["securityConfig"]["jwtToken"] == "${DATAOS_SCANNER_TOKEN}"
    connection = config["source"]["serviceConnection"]["config"]
    assert connection["authType"]["password"].startswith("${DATAOS_SCANNER_SECRET_")
    assert pod["metadata"]["labels"]["dataos.io/job"] == "scan"

    [event] = result.get_asset_materialization_events()
    metadata = {k: v.value for k, v in event.materialization.metadata.items()}
    assert (metadata["dataos/scanner/records"], metadata["dataos/scanner/warnings"]) == (14, 1)
    assert metadata["dataos/scanner/success_pct"] == 100.0
    assert PASSWORD not in serialize_value(result.all_events)
    with world.store() as store:
        keys = Identities(store).list_api_keys(SCANNER_USER_ID)
    assert [k.revoked_at is not None for k in keys] == [True]
