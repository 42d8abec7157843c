"""Kernel models built by hand, and synthesis helpers, for the cluster stack tests.

The models mirror ``terraform/kernel.yaml`` with Computes chosen for the rules under test, so
the stack tests depend on the model's contract only, not on the Resources → model mapping. The
AWS model has a GPU pool, two taints on one pool and one taint without a value; the GCP and
Azure ones mirror the mapping's snapshots (``model-gcp.json``, ``model-azure.json``): the
platform's ``system`` pool, two runnable pools (one tainted), a query pool and a GPU pool.
``example_model`` is the repository's own desired state through the real mapping (the AWS
snapshot and the Terraform validation use it).

The test modules set ``CLOUD``; ``conftest.py`` gives them the model and its synthesis.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# jsii prints a banner for Node 20 unless its major version is listed here.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from dataos_defs.kernel.model import (
    COMPUTE_LABEL,
    PURPOSE_LABEL,
    WORKSPACE_LABEL,
    Buckets,
    Cloud,
    Database,
    Dns,
    HelmChart,
    Images,
    KernelModel,
    Namespace,
    Network,
    NodeGroup,
    StateBackend,
    Taint,
)

from .netpol_support import example_model

__all__ = ["example_model"]

MACHINES = {
    "aws": {
        "system": "m6i.large",
        "runnable": "m6i.xlarge",
        "query": "r6i.2xlarge",
        "gpu": "g5.xlarge",
    },
    "gcp": {
        "system": "e2-standard-2",
        "runnable": "e2-standard-4",
        "query": "n2-highmem-8",
        "gpu": "g2-standard-4",
    },
    "azure": {
        "system": "Standard_D2s_v5",
        "runnable": "Standard_D4s_v5",
        "query": "Standard_E8s_v5",
        "gpu": "Standard_NC4as_T4_v3",
    },
}
# The next query machine up, for the tests that resize a Compute.
LARGER_QUERY_MACHINE = {"aws": "r6i.4xlarge", "gcp": "n2-highmem-16", "azure": "Standard_E16s_v5"}
GPU_TAINT = Taint(key="nvidia.com/gpu", effect="NoSchedule")
SPARK_TAINT = Taint(key="dataos.io/workload", value="spark", effect="NoSchedule")
DRAIN_TAINT = Taint(key="dataos.io/drain", value="soon", effect="PreferNoSchedule")
QUERY_TAINT = Taint(key="dataos.io/purpose", value="query", effect="NoSchedule")
# Where each cloud's hand-built model lives; the GCP project and the Azure resource group.
REGIONS = {"aws": "eu-west-1", "gcp": "europe-west1", "azure": "westeurope"}
ZONES = {
    "aws": ("eu-west-1a", "eu-west-1b", "eu-west-1c"),
    "gcp": ("europe-west1-b", "europe-west1-c", "europe-west1-d"),
    "azure": ("1", "2", "3"),
}
PROJECTS = {"aws": None, "gcp": "dataos-example", "azure": "dataos"}
PUBLIC_SUBNETS = {
    "aws": ("10.40.96.0/22", "10.40.100.0/22", "10.40.104.0/22"),
    "gcp": ("10.40.96.0/19", "10.40.128.0/19", "10.40.160.0/19"),
    "azure": ("10.40.96.0/19", "10.40.128.0/19", "10.40.160.0/19"),
}
DATABASE_CLASSES = {
    "aws": "db.t4g.medium",
    "gcp": "db-custom-2-7680",
    "azure": "GP_Standard_D2ds_v5",
}


def group(cloud: Cloud, compute: str, purpose: str, low: int, high: int, **extra: Any) -> NodeGroup:
    """A node group as the mapping makes it; ``name`` defaults to the Compute's name."""
    return NodeGroup(
        name=extra.pop("name", compute),
        compute=compute,
        purpose=purpose,
        machine_type=extra.pop("machine_type", MACHINES[cloud][purpose]),
        min_size=low,
        max_size=high,
        disk_gb=extra.pop("disk_gb", 100),
        labels={COMPUTE_LABEL: compute, PURPOSE_LABEL: purpose, **extra.pop("labels", {})},
        **extra,
    )


def node_groups(cloud: Cloud) -> tuple[NodeGroup, ...]:
    """The hand-built model's node groups, sorted by Compute as the mapping sorts them."""
    if cloud == "aws":
        gpu = Taint(key="nvidia.com/gpu", value="present", effect="NoSchedule")
        drain = Taint(key="dataos.io/drain", effect="PreferNoSchedule")
        return (
            group(cloud, "gpu", "gpu", 0, 2, disk_gb=200, gpu=True, taints=(gpu,)),
            group(cloud, "query-default", "query", 2, 4, taints=(QUERY_TAINT, drain)),
            group(cloud, "runnable-default", "runnable", 1, 10),
            group(cloud, "system", "system", 2, 3),
        )
    return (
        group(cloud, "gpu-training", "gpu", 0, 2, disk_gb=200, gpu=True, taints=(GPU_TAINT,)),
        group(cloud, "query-default", "query", 2, 4, taints=(DRAIN_TAINT,)),
        group(cloud, "runnable-default", "runnable", 1, 10),
        group(
            cloud,
            "runnable-spark",
            "runnable",
            1,
            6,
            labels={"dataos.io/workload": "spark"},
            taints=(SPARK_TAINT,),
        ),
        group(cloud, "system", "system", 2, 3, disk_gb=50),
    )


def cloud_model(cloud: Cloud, **changes: Any) -> KernelModel:
    """The hand-built model for ``cloud``; keyword arguments replace top-level fields."""
    model = KernelModel(
        cloud=cloud,
        region=REGIONS[cloud],
        project=PROJECTS[cloud],
        cluster_name="dataos",
        kubernetes_version="1.33",
        network=Network(
            cidr="10.40.0.0/16",
            private_subnets=("10.40.0.0/19", "10.40.32.0/19", "10.40.64.0/19"),
            public_subnets=PUBLIC_SUBNETS[cloud],
            zones=ZONES[cloud],
        ),
        node_groups=node_groups(cloud),
        namespaces=(
            Namespace(name="dataos", workspace=None, labels={"app": "dataos"}),
            Namespace(name="public", workspace="public", labels={WORKSPACE_LABEL: "public"}),
        ),
        database=Database(
            engine_version="16",
            instance_class=DATABASE_CLASSES[cloud],
            storage_gb=50,
            password_secret="dataos-database",
        ),
        buckets=Buckets(warehouse="dataos-warehouse", history="dataos-history"),
        secret_key_secret="dataos-secret-key",
        dns=Dns(domain="dataos.example.com", tls_issuer="acme", acme_email="platform@example.com"),
        state=StateBackend(),
        images=Images(api="registry.example.com/dataos/dataos-defs:0.1.0"),
        dagster=HelmChart(
            release="dagster",
            chart="dagster",
            repository="https://dagster-io.github.io/helm",
            version="1.13.0",
        ),
        tags={"app": "dataos"},
    )
    return model.model_copy(update=changes)


def with_node_group(model: KernelModel, replacement: NodeGroup) -> KernelModel:
    """``model`` with the node group of the same Compute replaced."""
    groups = tuple(
        replacement if g.compute == replacement.compute else g for g in model.node_groups
    )
    return model.model_copy(update={"node_groups": groups})


def resized_query(model: KernelModel) -> KernelModel:
    """``model`` with its ``query-default`` Compute on the next machine up, up to 6 nodes, with
    one more label and a NoExecute taint instead of its own."""
    query = model.node_group("query-default")
    changed = query.model_copy(
        update={
            "machine_type": LARGER_QUERY_MACHINE[model.cloud],
            "max_size": 6,
            "labels": {**query.labels, "team": "analytics"},
            "taints": (Taint(key="dataos.io/purpose", value="query", effect="NoExecute"),),
        }
    )
    return with_node_group(model, changed)


def cluster_stack(cloud: Cloud) -> Callable[..., Any]:
    """The cloud's stack builder, imported late: loading its provider bindings costs seconds."""
    return importlib.import_module(f"dataos_kernel.{cloud}").cluster_stack  # type: ignore[no-any-return]


def synth(model: KernelModel) -> dict[str, Any]:
    """The model's cluster stack's Terraform JSON, synthesized in memory."""
    from cdktn import Testing

    stack, _ = cluster_stack(model.cloud)(Testing.app(), model)
    return json.loads(Testing.synth(stack))


def cdktn_synth(model: KernelModel) -> str:
    """The model's cluster stack synthesized as CDKTF ``Testing`` assertions read it."""
    from cdktn import Testing

    stack, _ = cluster_stack(model.cloud)(Testing.app(), model)
    return Testing.synth(stack)  # type: ignore[no-any-return]


def measured_synth(model: KernelModel) -> tuple[dict[str, Any], float]:
    """``synth``, and its wall time in seconds (loading the provider bindings is most of it)."""
    started = time.perf_counter()
    config = synth(model)
    return config, time.perf_counter() - started


def synth_cluster_to(model: KernelModel, outdir: Path) -> Path:
    """Synthesize the cluster stack into ``outdir``; the stack's working directory."""
    from cdktn import App
    from dataos_kernel.app import TARGET_VERSIONS

    app = App(outdir=str(outdir), context={"targetVersions": TARGET_VERSIONS})
    stack, _ = cluster_stack(model.cloud)(app, model)
    app.synth()
    return outdir / "stacks" / stack.node.id


def handle_outputs(model: KernelModel) -> tuple[Any, Any, dict[str, Any]]:
    """The stack, its handle, and what the handle's values synthesize to: each is written to
    an output and read back, to show which resource it refers to."""
    from cdktn import TerraformOutput, Testing

    stack, handle = cluster_stack(model.cloud)(Testing.app(), model)
    probes = {
        "host": handle.host,
        "database": handle.secret_names["database"],
        "secret_key": handle.secret_names["secret_key"],
        "database_host": handle.database_host,
        "warehouse": handle.warehouse_bucket_url,
        "launcher": handle.launcher_service_account_annotations,
        "operator": handle.secret_store.service_account_annotations,
        "store": handle.secret_store.provider,
    }
    for name, value in probes.items():
        TerraformOutput(stack, f"probe-{name}", value=value, static_id=True)
    outputs = json.loads(Testing.synth(stack))["output"]
    return stack, handle, {name: outputs[f"probe-{name}"]["value"] for name in probes}


def resources(config: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """The resources of one type in a synthesized stack, by name."""
    return config.get("resource", {}).get(kind, {})


# Keys whose literal value would be a secret; names, ids, lengths and versions of secrets are
# not.
SENSITIVE_KEY = re.compile(
    r"password|passwd|secret|token|credential|private_key|access_key|client_key|sas_|"
    r"^value_wo$|^key_data$",
    re.IGNORECASE,
)
NOT_A_SECRET = re.compile(r"(_version|_length|_id|_name|_type|_enabled)$")
INTERPOLATION = re.compile(r"\$\{[^}]*\}")
# A long run of base64 characters mixing digits and both cases, outside interpolations, looks
# like key material (a path such as "Microsoft.Network/virtualNetworks/..." does not, nor
# does an AWS ARN: "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly" names a policy).
KEY_MATERIAL = re.compile(r"[A-Za-z0-9+/]{32,}={0,2}")


def _key_material(text: str) -> bool:
    return not text.startswith("arn:") and any(
        re.search(r"\d", run) and re.search(r"[a-z]", run) and re.search(r"[A-Z]", run)
        for run in KEY_MATERIAL.findall(INTERPOLATION.sub("", text))
    )


def _secret_literal(key: str, value: Any) -> bool:
    """A literal (not an interpolation) under a key that would hold a credential. Base64
    padding after an interpolation (a generated Fernet key and its ``=``) is no literal."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return False
    if not SENSITIVE_KEY.search(key) or NOT_A_SECRET.search(key):
        return False
    if not isinstance(value, str) or not INTERPOLATION.search(value):
        return True
    return INTERPOLATION.sub("", value).strip("=") != ""


def secret_literals(node: Any, path: str = "") -> Iterator[str]:
    """Paths in a synthesized stack where a literal looks like a secret (empty when clean)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "//":
                continue
            where = f"{path}.{key}"
            if _secret_literal(key, value):
                yield where
            yield from secret_literals(value, where)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from secret_literals(item, f"{path}[{index}]")
    elif isinstance(node, str) and _key_material(node):
        yield path


def _flatten(config: dict[str, Any]) -> dict[tuple[str, ...], str]:
    """Every top-level block of a stack by (block, type[, name]), as canonical JSON."""
    flat: dict[tuple[str, ...], str] = {}
    for block, content in config.items():
        for kind, named in content.items():
            if block in {"resource", "data", "ephemeral"}:
                for name, body in named.items():
                    flat[(block, kind, name)] = json.dumps(body, sort_keys=True)
            else:
                flat[(block, kind)] = json.dumps(named, sort_keys=True)
    return flat


def changed_blocks(before: dict[str, Any], after: dict[str, Any]) -> set[tuple[str, ...]]:
    """The blocks (resources by name, outputs, providers…) that differ between two syntheses."""
    old, new = _flatten(before), _flatten(after)
    return {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)}


def check_snapshot(config: dict[str, Any], snapshot: Path) -> None:
    """``config`` equals the reviewed snapshot (sorted keys); UPDATE_SNAPSHOTS=1 rewrites it."""
    rendered = json.dumps(config, indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        snapshot.write_text(rendered)
    assert snapshot.exists(), f"{snapshot} is missing: run with UPDATE_SNAPSHOTS=1 and review it"
    assert rendered == snapshot.read_text(), (
        f"{snapshot} differs: rerun with UPDATE_SNAPSHOTS=1 and review the diff"
    )


def exec_only_kubeconfig(config: dict[str, Any]) -> dict[str, Any]:
    """The ``kubeconfig`` output parsed, after checking that it authenticates by exec only."""
    kubeconfig = json.loads(config["output"]["kubeconfig"]["value"])
    (user,) = kubeconfig["users"]
    assert set(user["user"]) == {"exec"}, "no token, client certificate or key"
    return kubeconfig
