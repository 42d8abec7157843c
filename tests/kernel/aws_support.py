"""Kernel models and synthesis helpers for the AWS cluster stack tests.

``aws_model`` is built by hand and mirrors ``terraform/kernel.yaml`` with Computes chosen for
the rules under test (a GPU pool, two taints on one pool, one without a value): those tests
depend only on the model's contract. ``example_model`` is the repository's own desired state
(``resources/`` + ``terraform/kernel.yaml``) through the real mapping: the snapshot and the
Terraform validation use it.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

# jsii prints a banner for Node 20 unless its major version is listed here.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from dataos_defs.kernel.model import (
    COMPUTE_LABEL,
    PURPOSE_LABEL,
    WORKSPACE_LABEL,
    Buckets,
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

# Keys that would hold a credential if they held a literal value; lengths and versions of
# generated secrets do not.
SECRET_KEY = re.compile(r"password|secret|token|private_key|access_key|client_key", re.I)
NOT_A_SECRET = re.compile(r"(_version|_length)$")
ROOT = Path(__file__).resolve().parents[2]
ZONES = ("eu-west-1a", "eu-west-1b", "eu-west-1c")


def _group(
    compute: str, purpose: str, machine: str, low: int, high: int, **extra: Any
) -> NodeGroup:
    return NodeGroup(
        name=compute,
        compute=compute,
        purpose=purpose,
        machine_type=machine,
        min_size=low,
        max_size=high,
        disk_gb=extra.pop("disk_gb", 100),
        labels={COMPUTE_LABEL: compute, PURPOSE_LABEL: purpose},
        **extra,
    )


NODE_GROUPS = (
    _group(
        "gpu",
        "gpu",
        "g5.xlarge",
        0,
        2,
        disk_gb=200,
        gpu=True,
        taints=(Taint(key="nvidia.com/gpu", value="present", effect="NoSchedule"),),
    ),
    _group(
        "query-default",
        "query",
        "r6i.2xlarge",
        2,
        4,
        taints=(
            Taint(key="dataos.io/purpose", value="query", effect="NoSchedule"),
            Taint(key="dataos.io/drain", effect="PreferNoSchedule"),
        ),
    ),
    _group("runnable-default", "runnable", "m6i.xlarge", 1, 10),
    _group("system", "system", "m6i.large", 2, 3),
)


def aws_model(**changes: Any) -> KernelModel:
    """The example AWS model; keyword arguments replace top-level fields."""
    model = KernelModel(
        cloud="aws",
        region="eu-west-1",
        cluster_name="dataos",
        kubernetes_version="1.33",
        network=Network(
            cidr="10.40.0.0/16",
            private_subnets=("10.40.0.0/19", "10.40.32.0/19", "10.40.64.0/19"),
            public_subnets=("10.40.96.0/22", "10.40.100.0/22", "10.40.104.0/22"),
            zones=ZONES,
        ),
        node_groups=NODE_GROUPS,
        namespaces=(
            Namespace(name="dataos", workspace=None, labels={"app": "dataos"}),
            Namespace(name="public", workspace="public", labels={WORKSPACE_LABEL: "public"}),
        ),
        database=Database(
            engine_version="16",
            instance_class="db.t4g.medium",
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


@cache
def example_model() -> KernelModel:
    """The example Resources and settings through the mapping, for AWS."""
    from dataos_defs.kernel.desired import desired_from_files
    from dataos_defs.kernel.load import load_settings
    from dataos_defs.kernel.mapping import build_model

    settings = load_settings(ROOT / "terraform" / "kernel.yaml")
    desired = desired_from_files([ROOT / "resources"], recursive=True)
    return build_model(settings, "aws", desired)


def with_node_group(model: KernelModel, group: NodeGroup) -> KernelModel:
    """``model`` with the node group of the same Compute replaced by ``group``."""
    groups = tuple(group if g.compute == group.compute else g for g in model.node_groups)
    return model.model_copy(update={"node_groups": groups})


def synth_cluster(model: KernelModel) -> dict[str, Any]:
    """The cluster stack's Terraform JSON, synthesized in memory."""
    from cdktn import Testing
    from dataos_kernel.aws import cluster_stack

    stack, _ = cluster_stack(Testing.app(), model)
    return json.loads(Testing.synth(stack))


def synth_cluster_to(model: KernelModel, outdir: Path) -> Path:
    """Synthesize the cluster stack into ``outdir``; the stack's working directory."""
    from cdktn import App
    from dataos_kernel.app import TARGET_VERSIONS
    from dataos_kernel.aws import cluster_stack

    app = App(outdir=str(outdir), context={"targetVersions": TARGET_VERSIONS})
    stack, _ = cluster_stack(app, model)
    app.synth()
    return outdir / "stacks" / stack.node.id


def resources(config: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    """The resources of one type in a synthesized stack, by name."""
    return config.get("resource", {}).get(kind, {})


def literal_secrets(node: Any, path: str = "") -> list[str]:
    """Paths of secret-looking keys holding a literal (not a ``${...}`` reference, not a flag)."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}"
            is_reference = isinstance(value, str) and value.startswith("${")
            secret_key = SECRET_KEY.search(key) and not NOT_A_SECRET.search(key)
            if secret_key and not isinstance(value, bool | dict) and not is_reference:
                found.append(where)
            found.extend(literal_secrets(value, where))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found.extend(literal_secrets(item, f"{path}[{index}]"))
    return found


def _flatten(config: dict[str, Any]) -> dict[tuple[str, ...], str]:
    """Every top-level block of a stack by (block, type, name), as canonical JSON."""
    flat: dict[tuple[str, ...], str] = {}
    for block, content in config.items():
        for kind, named in content.items():
            if block in {"resource", "data"}:
                for name, body in named.items():
                    flat[(block, kind, name)] = json.dumps(body, sort_keys=True)
            else:
                flat[(block, kind)] = json.dumps(named, sort_keys=True)
    return flat


def changed_blocks(before: dict[str, Any], after: dict[str, Any]) -> set[tuple[str, ...]]:
    old, new = _flatten(before), _flatten(after)
    return {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)}
