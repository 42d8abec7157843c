"""The production instance (``deploy/dagster/dagster.yaml``), the Helm values beside it and
the launcher helper stay valid and agree with each other.

Validated with Dagster's own config schemas (the classes the instance loads) and no
cluster: no Kubernetes API server can run here, so the launcher built by
``dataos_defs.adapters.k8s_launcher`` is driven with a stubbed batch API, the other
documented way (DESIGN.md) to capture the Job it creates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster._config import process_config, resolve_to_config_type
from dagster._core.instance import DagsterInstance
from dagster._core.instance.config import dagster_instance_config
from dagster._core.launcher import LaunchRunContext
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster_k8s import K8sRunLauncher
from dagster_postgres import DagsterPostgresStorage
from k8s_support import (
    DEPLOY,
    GOLDEN,
    LOCATION,
    ROOT,
    code_image,
    deploy_instance,
    deployed_run,
    helm_values,
    sanitize,
    validate_strict,
    workflow_jobs,
)
from kubernetes.client import ApiClient  # type: ignore[import-untyped]

from dataos_defs.adapters.k8s_launcher import (
    DEFAULT_IMAGE,
    K8sSettings,
    build_run_launcher,
    launcher_config,
    step_executor,
)

PG_ENV = {
    "DAGSTER_PG_HOST": "postgres.dataos.svc",
    "DAGSTER_PG_PORT": "5432",
    "DAGSTER_PG_DB": "dagster",
    "DAGSTER_PG_USER": "dagster",
    "DAGSTER_PG_PASSWORD": "not-a-real-password",
}


def _valid(config_type: Any, value: Any) -> Any:
    result = process_config(resolve_to_config_type(config_type), value)
    assert result.success, [e.message for e in result.errors or []]
    return result.value


def test_dagster_yaml_is_a_valid_instance(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each section against the config schema of the class the instance would load."""
    for name, value in PG_ENV.items():
        monkeypatch.setenv(name, value)
    config, custom_class = dagster_instance_config(str(DEPLOY))
    assert custom_class is None
    storage = _valid(DagsterPostgresStorage.config_type(), config["storage"]["postgres"])
    assert storage["postgres_db"]["password"] == PG_ENV["DAGSTER_PG_PASSWORD"]
    launcher = config["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_k8s", "K8sRunLauncher")
    _valid(K8sRunLauncher.config_type(), launcher["config"])
    coordinator = config["run_coordinator"]
    assert coordinator["class"] == "QueuedRunCoordinator"
    _valid(QueuedRunCoordinator.config_type(), coordinator["config"])


def test_secrets_in_dagster_yaml_are_env_references() -> None:
    text = (DEPLOY / "dagster.yaml").read_text()
    assert deploy_instance()["storage"]["postgres"]["postgres_db"]["password"] == {
        "env": "DAGSTER_PG_PASSWORD"
    }
    assert "password:" not in text.replace("password: {env: DAGSTER_PG_PASSWORD}", "")


def test_launcher_helper_matches_dagster_yaml() -> None:
    config = dict(deploy_instance()["run_launcher"]["config"])
    assert config.pop("load_incluster_config") is True
    assert launcher_config(K8sSettings()) == config


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def test_helm_values_match_dagster_yaml() -> None:
    """What the chart renders into its instance ConfigMap is this instance."""
    values = helm_values()
    instance = deploy_instance()
    launcher = instance["run_launcher"]["config"]
    helm = values["runLauncher"]["config"]["k8sRunLauncher"]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert helm["jobNamespace"] == launcher["job_namespace"]
    assert helm["loadInclusterConfig"] is launcher["load_incluster_config"]
    assert helm["imagePullPolicy"] == launcher["image_pull_policy"]
    assert [s["name"] for s in helm["envSecrets"]] == launcher["env_secrets"]
    assert helm["labels"] == launcher["labels"]
    assert {_snake(k): v for k, v in helm["runK8sConfig"].items()} == launcher["run_k8s_config"]
    assert values["serviceAccount"]["name"] == launcher["service_account_name"]
    assert values["global"]["postgresqlSecretName"] == launcher["postgres_password_secret"]
    assert values["global"]["dagsterHome"] == launcher["dagster_home"]
    assert code_image() == launcher["job_image"] == DEFAULT_IMAGE
    queued = values["dagsterDaemon"]["runCoordinator"]
    assert queued["type"] == instance["run_coordinator"]["class"]
    helm_queue = {_snake(k): v for k, v in queued["config"]["queuedRunCoordinator"].items()}
    assert helm_queue == instance["run_coordinator"]["config"]
    monitoring = {_snake(k): v for k, v in values["dagsterDaemon"]["runMonitoring"].items()}
    assert monitoring == instance["run_monitoring"]
    assert (
        values["postgresql"]["postgresqlParams"]
        == (instance["storage"]["postgres"]["postgres_db"]["params"])
    )


def test_helm_user_deployment_is_the_workspace_code_location() -> None:
    workspace = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    [entry] = workspace["load_from"]
    module = entry["python_module"]
    [deployment] = helm_values()["dagster-user-deployments"]["deployments"]
    assert deployment["name"] == module["location_name"] == LOCATION
    args = deployment["dagsterApiGrpcArgs"]
    assert args == ["-m", module["module_name"], "-a", module["attribute"]]
    assert deployment["includeConfigInLaunchedRuns"] == {"enabled": True}


def test_settings_from_env() -> None:
    settings = K8sSettings.from_env(
        {
            "DATAOS_K8S_JOB_NAMESPACE": "shop",
            "DATAOS_K8S_JOB_IMAGE": "registry.example.com/dataos/dataos-defs:0.2.0",
            "DATAOS_K8S_ENV_SECRETS": "dataos-runtime, shop-extra",
            "DATAOS_K8S_MAX_CONCURRENT_STEPS": "3",
        }
    )
    assert settings.job_namespace == "shop"
    assert settings.job_image.endswith(":0.2.0")
    assert settings.env_secrets == ("dataos-runtime", "shop-extra")
    assert settings.max_concurrent_steps == 3
    assert K8sSettings.from_env({}) == K8sSettings()
    config = step_executor(settings).apply_config_mapping({})
    assert config.success and config.value is not None
    assert config.value["config"]["max_concurrent"] == 3


class _BatchApi:
    """Stands in for ``kubernetes.client.BatchV1Api``: records ``create_namespaced_job``."""

    def __init__(self) -> None:
        self.created: list[tuple[str, Any]] = []

    def create_namespaced_job(self, body: Any, namespace: str, **_: Any) -> Any:
        self.created.append((namespace, body))
        return body


def test_helper_launcher_creates_the_same_job_as_the_instance(
    k8s_instance: DagsterInstance, kubeconfig: Path, defs: dg.Definitions
) -> None:
    """``build_run_launcher`` and ``dagster.yaml`` produce one and the same run Job."""
    batch = _BatchApi()
    launcher = build_run_launcher(K8sSettings(), kubeconfig_file=str(kubeconfig), batch_api=batch)
    launcher.register_instance(k8s_instance)
    job = workflow_jobs(defs)[0]
    run = deployed_run(k8s_instance, job)
    launcher.launch_run(LaunchRunContext(run, workspace=None))
    [(namespace, body)] = batch.created
    assert namespace == K8sSettings().job_namespace
    wire = ApiClient().sanitize_for_serialization(body)
    assert validate_strict(wire)
    wire["spec"]["template"]["spec"]["containers"][0]["args"][-1] = "<args>"
    golden = yaml.safe_load((GOLDEN / f"run__{job.name}.yaml").read_text())
    golden["spec"]["template"]["spec"]["containers"][0]["args"][-1] = "<args>"
    assert sanitize(wire, run.run_id) == golden


def test_kubernetes_mode_runs_each_job_in_its_own_pod(monkeypatch: pytest.MonkeyPatch) -> None:
    """``DATAOS_RUN_MODE=k8s`` (set by the Helm values and the run launcher) selects
    ``k8s_job_executor`` for the compiled jobs; embedded mode keeps local processes."""
    from dataos_defs.location.definitions import jobs_executor

    monkeypatch.setenv("DATAOS_RUN_MODE", "k8s")
    chosen = jobs_executor()
    assert chosen is not None and chosen.name == "dataos_k8s"
    monkeypatch.setenv("DATAOS_RUN_MODE", "embedded")
    local = jobs_executor()
    assert local is None or local.name == "dataos_multiprocess"
    values = helm_values()["dagster-user-deployments"]["deployments"][0]
    assert {"name": "DATAOS_RUN_MODE", "value": "k8s"} in values["env"]
    assert "DATAOS_RUN_MODE=k8s" in deploy_instance()["run_launcher"]["config"]["env_vars"]


RELEASE = "dagster"
"""The Helm release of ``values.yaml`` (its header's install command)."""
API_SERVER_PODS = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "dataos-api"}}}


def test_the_dagster_ui_is_read_only_and_stays_inside_the_cluster() -> None:
    """Users reach Dagster only through the API server's door: the chart adds a read-only
    webserver under /dagster, both webservers get ClusterIP Services and no Ingress."""
    values = helm_values()
    webserver = values["dagsterWebserver"]
    assert webserver["enableReadOnly"] is True
    assert webserver["pathPrefix"] == "/dagster"
    assert webserver["service"]["type"] == "ClusterIP"
    assert values["ingress"]["enabled"] is False
    probe = webserver["readinessProbe"]["httpGet"]
    assert probe["path"] == f"{webserver['pathPrefix']}/server_info"
    assert probe["port"] == webserver["service"]["port"]


def test_network_policies_admit_only_the_api_server_to_the_webservers() -> None:
    """One policy per webserver (the chart's labels for each), each admitting the API
    server's pods on the Service port and nothing else; valid for the Kubernetes versions."""
    policies = list(yaml.safe_load_all((DEPLOY / "networkpolicy.yaml").read_text()))
    port = helm_values()["dagsterWebserver"]["service"]["port"]
    selected = {}
    for policy in policies:
        assert validate_strict(policy)
        assert policy["kind"] == "NetworkPolicy"
        assert policy["metadata"]["namespace"] == K8sSettings().job_namespace
        spec = policy["spec"]
        labels = spec["podSelector"]["matchLabels"]
        assert labels["app.kubernetes.io/instance"] == RELEASE
        assert spec["policyTypes"] == ["Ingress"]
        assert spec["ingress"] == [
            {"from": [API_SERVER_PODS], "ports": [{"protocol": "TCP", "port": port}]}
        ]
        selected[labels["component"]] = policy["metadata"]["name"]
    assert set(selected) == {"dagster-webserver", "dagster-webserver-read-only"}
