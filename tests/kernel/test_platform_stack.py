"""The platform stack (terraform/dataos_kernel/platform.py) synthesized on a fake cluster handle.

The handle holds plain strings where a real cluster stack hands over Terraform tokens, so the
synthesized JSON can be read back: providers (exec auth only), one ``kubernetes_manifest`` per
rendered object, the Helm releases' YAML values, the ExternalSecrets (references only), and
nothing that looks like a secret. One snapshot per cloud (``UPDATE_SNAPSHOTS=1`` rewrites).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import cdktn
import pytest
import yaml
from dataos_kernel.contract import ClusterHandle, ExecAuth, SecretStore
from dataos_kernel.platform import manifest_id, platform_stack

from dataos_defs.kernel.k8s_objects import render_platform_objects
from dataos_defs.kernel.model import CLOUDS, COMPUTE_LABEL, Dns, KernelModel, StateBackend

SNAPSHOTS = Path(__file__).parent / "snapshots"
SECRET_KEY = re.compile(r"(password|passwd|secret|token|private_?key|api_?key)$", re.IGNORECASE)

HANDLES = {
    "aws": ClusterHandle(
        cluster_name="dataos",
        host="https://ABC.gr7.eu-west-1.eks.amazonaws.com",
        ca_certificate_b64="LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t",
        exec_auth=ExecAuth(
            "client.authentication.k8s.io/v1beta1",
            "aws",
            ("eks", "get-token", "--cluster-name", "dataos", "--region", "eu-west-1"),
        ),
        database_host="dataos.abc.eu-west-1.rds.amazonaws.com",
        database_port="5432",
        warehouse_bucket_url="s3://dataos-warehouse",
        history_bucket_url="s3://dataos-history",
        secret_store=SecretStore(
            {"aws": {"service": "SecretsManager", "region": "eu-west-1"}},
            {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/dataos-secrets-operator"},
        ),
        secret_names={
            "database": "arn:aws:secretsmanager:eu-west-1:1:secret:rds!db-1",
            "secret_key": "arn:aws:secretsmanager:eu-west-1:1:secret:dataos-secret-key-AbCdEf",
        },
        launcher_service_account_annotations={
            "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/dataos-launcher"
        },
        database_password_property="password",
    ),
    "gcp": ClusterHandle(
        cluster_name="dataos",
        host="https://34.0.0.1",
        ca_certificate_b64="LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t",
        exec_auth=ExecAuth("client.authentication.k8s.io/v1beta1", "gke-gcloud-auth-plugin", ()),
        database_host="10.40.200.3",
        database_port="5432",
        warehouse_bucket_url="gs://dataos-warehouse",
        history_bucket_url="gs://dataos-history",
        secret_store=SecretStore(
            {"gcpsm": {"projectID": "dataos-example"}},
            {"iam.gke.io/gcp-service-account": "dataos-eso@dataos-example.iam.gserviceaccount.com"},
        ),
        secret_names={"database": "dataos-database", "secret_key": "dataos-secret-key"},
        launcher_service_account_annotations={
            "iam.gke.io/gcp-service-account": "dataos-launcher@dataos-example.iam.gserviceaccount.com"
        },
    ),
    "azure": ClusterHandle(
        cluster_name="dataos",
        host="https://dataos-abc.hcp.westeurope.azmk8s.io:443",
        ca_certificate_b64="LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t",
        exec_auth=ExecAuth(
            "client.authentication.k8s.io/v1beta1",
            "kubelogin",
            ("get-token", "--login", "azurecli", "--server-id", "6dae42f8"),
            (("AAD_LOGIN_METHOD", "azurecli"),),
        ),
        database_host="dataos.postgres.database.azure.com",
        database_port="5432",
        warehouse_bucket_url="https://dataosdata.blob.core.windows.net/warehouse",
        history_bucket_url="https://dataosdata.blob.core.windows.net/history",
        secret_store=SecretStore(
            {
                "azurekv": {
                    "authType": "WorkloadIdentity",
                    "vaultUrl": "https://dataos-kv.vault.azure.net",
                    "serviceAccountRef": {
                        "name": "external-secrets",
                        "namespace": "external-secrets",
                    },
                }
            },
            {"azure.workload.identity/client-id": "00000000-0000-0000-0000-000000000001"},
        ),
        secret_names={"database": "dataos-database", "secret_key": "dataos-secret-key"},
        launcher_service_account_annotations={
            "azure.workload.identity/client-id": "00000000-0000-0000-0000-000000000002"
        },
    ),
}


def example_model(cloud: str, **changes: Any) -> KernelModel:
    """The example's kernel model on ``cloud`` (reviewed in snapshots/model-<cloud>.json)."""
    model = KernelModel.model_validate_json((SNAPSHOTS / f"model-{cloud}.json").read_text())
    return model.model_copy(update=changes) if changes else model


def synth(model: KernelModel, outdir: Path) -> dict[str, Any]:
    app = cdktn.App(outdir=str(outdir))
    cluster = cdktn.TerraformStack(app, f"{model.cluster_name}-cluster")
    stack = platform_stack(app, model, HANDLES[model.cloud], cluster)
    assert [dep.node.id for dep in stack.dependencies] == [cluster.node.id]
    return json.loads(cdktn.Testing.synth(stack))


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory) -> dict[str, dict[str, Any]]:
    outdir = tmp_path_factory.mktemp("platform")
    return {cloud: synth(example_model(cloud), outdir) for cloud in CLOUDS}


def releases(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in config["resource"]["helm_release"].values()}


def values(config: dict[str, Any], release: str) -> dict[str, Any]:
    texts = releases(config)[release]["values"]
    assert len(texts) == 1
    return yaml.safe_load(texts[0])


def walk(node: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """(path, key, value) of every mapping entry, the YAML values of Helm releases included."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key, value
            yield from walk(value, f"{path}.{key}")
        if "chart" in node and "values" in node:
            for index, text in enumerate(node["values"]):
                yield from walk(yaml.safe_load(text), f"{path}.values[{index}]")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from walk(item, f"{path}[{index}]")


@pytest.mark.parametrize("cloud", CLOUDS)
def test_providers_authenticate_by_exec_only(synthesized, cloud) -> None:
    handle = HANDLES[cloud]
    providers = synthesized[cloud]["provider"]
    (kubernetes,) = providers["kubernetes"]
    (helm,) = providers["helm"]
    exec_block = {
        "api_version": handle.exec_auth.api_version,
        "command": handle.exec_auth.command,
        "args": list(handle.exec_auth.args),
    }
    if handle.exec_auth.env:
        exec_block["env"] = dict(handle.exec_auth.env)
    ca = f'${{base64decode("{handle.ca_certificate_b64}")}}'
    assert kubernetes == {"host": handle.host, "cluster_ca_certificate": ca, "exec": [exec_block]}
    assert helm == {
        "kubernetes": {"host": handle.host, "cluster_ca_certificate": ca, "exec": exec_block}
    }


@pytest.mark.parametrize("cloud", CLOUDS)
def test_one_manifest_per_rendered_object(synthesized, cloud) -> None:
    model = example_model(cloud)
    annotations = HANDLES[cloud].launcher_service_account_annotations
    rendered = render_platform_objects(model, launcher_annotations=annotations)
    manifests = synthesized[cloud]["resource"]["kubernetes_manifest"]
    assert {manifest_id(obj): obj for obj in rendered} == {
        name: resource["manifest"] for name, resource in manifests.items()
    }
    for name, resource in manifests.items():
        if resource["manifest"]["kind"] != "Namespace":
            assert "kubernetes_manifest.namespace-dataos" in resource["depends_on"], name


@pytest.mark.parametrize("cloud", CLOUDS)
def test_dagster_release_values(synthesized, cloud) -> None:
    handle, model = HANDLES[cloud], example_model(cloud)
    release = releases(synthesized[cloud])["dagster"]
    assert (release["repository"], release["chart"], release["version"]) == (
        model.dagster.repository,
        model.dagster.chart,
        model.dagster.version,
    )
    chart = values(synthesized[cloud], "dagster")
    (location,) = chart["dagster-user-deployments"]["deployments"]
    image = f"{location['image']['repository']}:{location['image']['tag']}"
    assert image == model.images.api
    system = {COMPUTE_LABEL: "system"}
    for pods in (location, chart["dagsterWebserver"], chart["dagsterDaemon"]):
        assert pods["nodeSelector"] == system
    postgres = chart["postgresql"]
    assert postgres["postgresqlHost"] == handle.database_host
    assert postgres["postgresqlUsername"] == handle.database_user
    assert postgres["postgresqlPassword"] == ""
    assert postgres["service"]["port"] == int(handle.database_port)
    assert chart["global"]["postgresqlSecretName"] == "dagster-postgresql-secret"
    assert chart["runLauncher"]["type"] == "K8sRunLauncher"
    assert chart["runLauncher"]["config"]["k8sRunLauncher"]["jobNamespace"] == "dataos"
    assert chart["serviceAccount"] == {"create": False, "name": "dagster"}
    assert "kubernetes_manifest.serviceaccount-dataos-dagster" in release["depends_on"]
    assert "helm_release.release-dataos-resources" in release["depends_on"]


@pytest.mark.parametrize("cloud", CLOUDS)
def test_external_secrets_reference_the_secret_manager_only(synthesized, cloud) -> None:
    handle = HANDLES[cloud]
    operator = values(synthesized[cloud], "external-secrets")
    assert (
        operator["serviceAccount"]["annotations"] == handle.secret_store.service_account_annotations
    )
    objects = values(synthesized[cloud], "dataos-resources")["resources"]
    (store,) = [o for o in objects if o["kind"] == "ClusterSecretStore"]
    assert store["spec"]["provider"] == handle.secret_store.provider
    synced = {o["metadata"]["name"]: o["spec"] for o in objects if o["kind"] == "ExternalSecret"}
    assert set(synced) == {"dagster-postgresql-secret", "dataos-runtime"}
    keys = {ref["remoteRef"]["key"] for spec in synced.values() for ref in spec["data"]}
    assert keys == set(handle.secret_names.values())
    (password,) = synced["dagster-postgresql-secret"]["data"]
    assert password["secretKey"] == "postgresql-password"
    assert password["remoteRef"].get("property") == handle.database_password_property
    runtime = synced["dataos-runtime"]["target"]["template"]["data"]
    assert runtime["DAGSTER_PG_HOST"] == handle.database_host
    assert runtime["DAGSTER_PG_PORT"] == handle.database_port
    assert "{{ .password | urlquery }}@" + handle.database_host in runtime["DATAOS_DATABASE_URL"]
    assert ("DATAOS_SECRET_KEY" in runtime) == ("secret_key" in handle.secret_names)


def secret_literals(config: dict[str, Any]) -> list[str]:
    """Entries named like a secret with a literal value (an operator's template is none)."""
    return [
        f"{path}.{key}={value!r}"
        for path, key, value in walk(config)
        if SECRET_KEY.search(str(key)) and isinstance(value, str) and value and "{{" not in value
    ]


def test_the_secret_scan_sees_into_helm_values() -> None:
    planted = {"chart": "x", "values": ["a:\n  b:\n    adminPassword: hunter2\n"]}
    assert secret_literals({"resource": {"helm_release": {"x": planted}}}) == [
        ".resource.helm_release.x.values[0].a.b.adminPassword='hunter2'"
    ]
    assert secret_literals({"provider": {"kubernetes": [{"token": "abc"}]}}) != []


@pytest.mark.parametrize("cloud", CLOUDS)
def test_no_secret_literal_anywhere(synthesized, cloud) -> None:
    assert secret_literals(synthesized[cloud]) == []
    assert sorted(synthesized[cloud]["output"]) == [
        "api_url",
        "dagster_url",
        "history_bucket",
        "warehouse_bucket",
    ]


def test_trino_runs_on_the_query_pool_and_asks_heimdall(synthesized) -> None:
    model = example_model("aws")
    trino = values(synthesized["aws"], "trino")
    assert trino["server"]["workers"] == model.trino.workers
    for role in ("coordinator", "worker"):
        assert trino[role]["nodeSelector"] == {COMPUTE_LABEL: "query-default"}
    properties = dict(
        line.split("=", 1) for line in trino["accessControl"]["properties"].splitlines()
    )
    base = "http://dataos-api.dataos.svc.cluster.local:7400/v1/data/trino"
    assert properties == {
        "access-control.name": "opa",
        "opa.policy.uri": f"{base}/allow",
        "opa.policy.batched-uri": f"{base}/batch",
        "opa.policy.row-filters-uri": f"{base}/rowFilters",
        "opa.policy.column-masking-uri": f"{base}/columnMask",
        "opa.policy.batch-column-masking-uri": f"{base}/batchColumnMasks",
    }


def test_without_trino_acme_or_dns(tmp_path) -> None:
    """No Trino release without Trino; no cert-manager or issuer without ACME; the API's URL
    is then read from the ingress controller's load balancer."""
    model = example_model("gcp", trino=None, dns=Dns())
    config = synth(model, tmp_path)
    assert set(releases(config)) == {
        "external-secrets",
        "ingress-nginx",
        "dataos-resources",
        "dagster",
    }
    kinds = [o["kind"] for o in values(config, "dataos-resources")["resources"]]
    assert "ClusterIssuer" not in kinds
    service = config["data"]["kubernetes_service_v1"]["ingress-controller-service"]
    assert service["metadata"] == {"name": "ingress-nginx-controller", "namespace": "ingress-nginx"}
    assert (
        "kubernetes_service_v1.ingress-controller-service" in config["output"]["api_url"]["value"]
    )


def test_state_backend_follows_the_model(tmp_path) -> None:
    s3 = StateBackend(kind="s3", bucket="tf-state", prefix="kernel", region="eu-west-1")
    config = synth(example_model("aws", state=s3), tmp_path / "s3")
    assert config["terraform"]["backend"]["s3"] == {
        "bucket": "tf-state",
        "key": "kernel/dataos-platform.tfstate",
        "region": "eu-west-1",
        "encrypt": True,
        "use_lockfile": True,
    }
    local = synth(example_model("aws"), tmp_path / "local")["terraform"]["backend"]["local"]["path"]
    assert local.endswith("/dataos-platform.tfstate") and local.startswith("../../../")


@pytest.mark.parametrize("cloud", CLOUDS)
def test_snapshot(synthesized, cloud) -> None:
    """Rewrite with ``UPDATE_SNAPSHOTS=1`` after a deliberate change, then review the diff."""
    path = SNAPSHOTS / f"platform-{cloud}.json"
    text = json.dumps(synthesized[cloud], indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(text)
    assert path.exists(), f"{path} is missing: run with UPDATE_SNAPSHOTS=1 and review it"
    assert text == path.read_text()


@pytest.mark.parametrize("cloud", CLOUDS)
def test_the_runtime_secret_takes_the_store_key_from_its_entry(synthesized, cloud) -> None:
    """DATAOS_SECRET_KEY reaches the API server from the cluster stack's entry on every cloud
    (without it the server would make a key file of its own, lost with the pod)."""
    objects = values(synthesized[cloud], "dataos-resources")["resources"]
    (runtime,) = [
        o
        for o in objects
        if o["kind"] == "ExternalSecret" and o["metadata"]["name"] == "dataos-runtime"
    ]
    refs = {ref["secretKey"]: ref["remoteRef"] for ref in runtime["spec"]["data"]}
    assert refs["secret_key"] == {"key": HANDLES[cloud].secret_names["secret_key"]}
    template = runtime["spec"]["target"]["template"]["data"]
    assert template["DATAOS_SECRET_KEY"] == "{{ .secret_key }}"
