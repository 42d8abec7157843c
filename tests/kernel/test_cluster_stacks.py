"""What every cloud's cluster stack does alike, on its synthesized Terraform JSON.

One Compute is one node pool: changing, adding or removing a Compute changes exactly that
pool's resource. No secret reaches the JSON or the outputs, the kubeconfig authenticates by
exec only, local state sits beside the synthesis output, and a model or a state backend of
another cloud is refused. What only one cloud does is tested in its own module
(``test_aws_stack.py``, ``test_gcp_stack.py``, ``test_azure_stack.py``).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from dataos_defs.kernel.model import CLOUDS, Cloud, KernelModel, StateBackend

from .stack_support import (
    changed_blocks,
    cluster_stack,
    exec_only_kubeconfig,
    resized_query,
    secret_literals,
    synth,
)

# Each cloud's node pool resource type and the prefix of its resources' names.
POOLS = {
    "aws": ("aws_eks_node_group", "node-group-"),
    "gcp": ("google_container_node_pool", "node-pool-"),
    "azure": ("azurerm_kubernetes_cluster_node_pool", "node-pool-"),
}
# A state backend no stack of the cloud accepts.
FOREIGN_BACKENDS = {"aws": "gcs", "gcp": "s3", "azure": "s3"}
OUTPUTS = {
    "cluster_name",
    "cluster_endpoint",
    "cluster_ca_certificate",
    "warehouse_bucket",
    "history_bucket",
    "kubeconfig",
}


@pytest.fixture(scope="module", params=CLOUDS)
def cloud(request: pytest.FixtureRequest) -> Cloud:
    return request.param  # type: ignore[no-any-return]


def test_changing_one_compute_changes_exactly_its_node_pool(
    model: KernelModel, config: dict[str, Any]
) -> None:
    kind, prefix = POOLS[model.cloud]
    after = synth(resized_query(model))
    assert changed_blocks(config, after) == {("resource", kind, f"{prefix}query-default")}


def test_adding_or_removing_a_compute_adds_or_removes_exactly_its_node_pool(
    model: KernelModel, config: dict[str, Any]
) -> None:
    kind, prefix = POOLS[model.cloud]
    batch = model.node_group("runnable-default").model_copy(
        update={"name": "runnable-batch", "compute": "runnable-batch"}
    )
    added = synth(model.model_copy(update={"node_groups": (*model.node_groups, batch)}))
    assert changed_blocks(config, added) == {("resource", kind, f"{prefix}runnable-batch")}
    (gpu,) = (g for g in model.node_groups if g.gpu)
    fewer = tuple(g for g in model.node_groups if g is not gpu)
    removed = synth(model.model_copy(update={"node_groups": fewer}))
    assert changed_blocks(config, removed) == {("resource", kind, f"{prefix}{gpu.compute}")}


def test_no_secret_in_the_synthesized_json(config: dict[str, Any]) -> None:
    assert list(secret_literals(config)) == []


def test_the_secret_scan_finds_planted_secrets() -> None:
    planted = {
        "resource": {
            "db": {"d": {"password": "hunter2"}},
            "google_sql_user": {"u": {"password": "hunter2", "password_wo_version": 1}},
            "google_secret_manager_secret_version": {"v": {"secret_data": "${var.x}-suffix"}},
            "x": {"y": {"labels": {"note": "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"}}},
        }
    }
    assert sorted(secret_literals(planted)) == [
        ".resource.db.d.password",
        ".resource.google_secret_manager_secret_version.v.secret_data",
        ".resource.google_sql_user.u.password",
        ".resource.x.y.labels.note",
    ]


def test_outputs_hold_no_secret_and_the_kubeconfig_uses_exec_only(config: dict[str, Any]) -> None:
    outputs = config["output"]
    assert set(outputs) == OUTPUTS
    for output in outputs.values():
        assert "sensitive" not in output
        assert not re.search(r"ephemeral\.|password|secret|kube_config_raw", json.dumps(output))
    kubeconfig = exec_only_kubeconfig(config)
    assert list(secret_literals(kubeconfig)) == []


def test_local_state_is_kept_beside_the_synthesis_output(
    cloud: Cloud, config: dict[str, Any]
) -> None:
    assert config["terraform"]["backend"] == {
        "local": {"path": f"../../../terraform-state/dataos-kernel/{cloud}/dataos-cluster.tfstate"}
    }


def test_a_model_or_a_state_backend_of_another_cloud_is_refused(model: KernelModel) -> None:
    from cdktn import Testing

    build = cluster_stack(model.cloud)
    other = next(cloud for cloud in CLOUDS if cloud != model.cloud)
    with pytest.raises(ValueError, match=f"{model.cloud} model"):
        build(Testing.app(), model.model_copy(update={"cloud": other}))
    foreign = StateBackend(kind=FOREIGN_BACKENDS[model.cloud], bucket="b")
    with pytest.raises(ValueError, match=f"keeps its state in one of .*, not in {foreign.kind}"):
        build(Testing.app(), model.model_copy(update={"state": foreign}))
