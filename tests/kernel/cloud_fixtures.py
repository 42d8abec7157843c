"""GCP and Azure kernel models built by hand, and synthesis helpers, for their stack tests.

The models mirror ``terraform/kernel.yaml`` and the mapping's snapshots (``model-gcp.json``,
``model-azure.json``): the platform's ``system`` pool, two runnable pools (one tainted), a
query pool and a GPU pool. The stack tests depend on the model's contract only, not on the
Resources → model mapping.
"""

from __future__ import annotations

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

MACHINES = {
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
GPU_TAINT = Taint(key="nvidia.com/gpu", effect="NoSchedule")
SPARK_TAINT = Taint(key="dataos.io/workload", value="spark", effect="NoSchedule")
DRAIN_TAINT = Taint(key="dataos.io/drain", value="soon", effect="PreferNoSchedule")


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
    """The example model for ``cloud`` (gcp or azure); keyword arguments replace fields."""
    gcp = cloud == "gcp"
    model = KernelModel(
        cloud=cloud,
        region="europe-west1" if gcp else "westeurope",
        project="dataos-example" if gcp else "dataos",
        cluster_name="dataos",
        kubernetes_version="1.33",
        network=Network(
            cidr="10.40.0.0/16",
            private_subnets=("10.40.0.0/19", "10.40.32.0/19", "10.40.64.0/19"),
            public_subnets=("10.40.96.0/19", "10.40.128.0/19", "10.40.160.0/19"),
            zones=("europe-west1-b", "europe-west1-c", "europe-west1-d")
            if gcp
            else ("1", "2", "3"),
        ),
        node_groups=node_groups(cloud),
        namespaces=(
            Namespace(name="dataos", workspace=None, labels={"app": "dataos"}),
            Namespace(name="public", workspace="public", labels={WORKSPACE_LABEL: "public"}),
        ),
        database=Database(
            engine_version="16",
            instance_class="db-custom-2-7680" if gcp else "GP_Standard_D2ds_v5",
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


def synth(cluster_stack: Callable[..., Any], model: KernelModel) -> dict[str, Any]:
    """A cluster stack's Terraform JSON, synthesized in memory."""
    from cdktn import Testing

    stack, _ = cluster_stack(Testing.app(), model)
    return json.loads(Testing.synth(stack))


def measured_synth(
    load: Callable[[], Callable[..., Any]], model: KernelModel
) -> tuple[dict[str, Any], float]:
    """``synth`` with the stack builder ``load()`` returns, and the wall time in seconds of both
    (loading the provider bindings is most of it)."""
    started = time.perf_counter()
    config = synth(load(), model)
    return config, time.perf_counter() - started


def resources(config: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """The resources of one type in a synthesized stack, by name."""
    return config.get("resource", {}).get(kind, {})


# Keys whose literal value would be a secret; names, ids and versions of secrets are not.
SENSITIVE_KEY = re.compile(
    r"password|passwd|token|credential|private_key|access_key|client_secret|secret_data|sas_|"
    r"^value_wo$|^secret$|^key_data$",
    re.IGNORECASE,
)
NOT_A_SECRET = re.compile(r"(_version|_id|_name|_type|_enabled)$")
INTERPOLATION = re.compile(r"\$\{[^}]*\}")
# A long run of base64 characters mixing digits and both cases, outside interpolations, looks
# like key material (a path such as "Microsoft.Network/virtualNetworks/..." does not).
KEY_MATERIAL = re.compile(r"[A-Za-z0-9+/]{32,}={0,2}")


def _key_material(text: str) -> bool:
    return any(
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
