"""The GCP cluster stack (terraform/dataos_kernel/gcp.py), on its synthesized Terraform JSON.

NOT validated by Terraform here: this machine has a ``terraform`` binary but no
hashicorp/google provider (its mirror holds hashicorp/aws only, the registry is unreachable),
so ``terraform validate`` cannot run on this stack. The tests check the synthesized JSON: CDKTF
``Testing`` assertions, exact node pools, names within GCP's limits, a reviewed snapshot;
``test_cluster_stacks.py`` has the checks all three clouds share.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from dataos_defs.kernel.model import KernelModel, StateBackend

from .stack_support import (
    cdktn_synth,
    check_snapshot,
    cluster_stack,
    exec_only_kubeconfig,
    handle_outputs,
    resized_query,
    resources,
    synth,
)

CLOUD = "gcp"

SNAPSHOT = Path(__file__).parent / "snapshots" / "gcp-cluster.json"
EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}
POOL_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$")
SERVICE_ACCOUNT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
EPHEMERAL_PASSWORD = "${ephemeral.random_password.database-password.result}"


def test_one_node_pool_per_compute_with_its_size_labels_and_taints(
    model: KernelModel, config: dict[str, Any]
) -> None:
    pools = resources(config, "google_container_node_pool")
    assert set(pools) == {f"node-pool-{g.compute}" for g in model.node_groups}
    for group in model.node_groups:
        pool = pools[f"node-pool-{group.compute}"]
        node = pool["node_config"]
        assert pool["name"] == group.name
        assert pool["cluster"] == "${google_container_cluster.cluster.id}"
        assert pool["autoscaling"] == {
            "total_min_node_count": group.min_size,
            "total_max_node_count": group.max_size,
            "location_policy": "BALANCED",
        }
        assert node["machine_type"] == group.machine_type
        assert node["disk_size_gb"] == group.disk_gb
        assert node["labels"] == group.labels
        assert node.get("taint", []) == [
            {"key": t.key, "value": t.value, "effect": EFFECTS[t.effect]} for t in group.taints
        ]
        assert node["workload_metadata_config"] == {"mode": "GKE_METADATA"}
        assert ("guest_accelerator" in node) is group.gpu
        assert pool["lifecycle"] == {"ignore_changes": ["initial_node_count"]}
    gpu = pools["node-pool-gpu-training"]["node_config"]["guest_accelerator"]
    assert [(a["type"], a["count"]) for a in gpu] == [("nvidia-l4", 1)]


def test_cdktn_assertions_on_the_key_resources(model: KernelModel) -> None:
    from cdktn import Testing
    from cdktn_provider_google.container_cluster import ContainerCluster
    from cdktn_provider_google.container_node_pool import ContainerNodePool
    from cdktn_provider_google.sql_user import SqlUser

    synthesized = cdktn_synth(model)
    assert Testing.to_have_resource_with_properties(
        synthesized,
        ContainerCluster.TF_RESOURCE_TYPE,
        {
            "name": "dataos",
            "remove_default_node_pool": True,
            "workload_identity_config": {"workload_pool": "dataos-example.svc.id.goog"},
        },
    )
    assert Testing.to_have_resource_with_properties(
        synthesized,
        ContainerNodePool.TF_RESOURCE_TYPE,
        {
            "name": "runnable-spark",
            "node_config": {
                "taint": [{"key": "dataos.io/workload", "value": "spark", "effect": "NO_SCHEDULE"}]
            },
        },
    )
    assert Testing.to_have_resource_with_properties(
        synthesized, SqlUser.TF_RESOURCE_TYPE, {"password_wo": EPHEMERAL_PASSWORD}
    )


def test_the_cluster_is_private_regional_and_enforces_network_policies(
    model: KernelModel, config: dict[str, Any]
) -> None:
    cluster = resources(config, "google_container_cluster")["cluster"]
    assert cluster["location"] == model.region
    assert cluster["node_locations"] == list(model.network.zones)
    assert cluster["private_cluster_config"]["enable_private_nodes"] is True
    assert cluster["remove_default_node_pool"] is True
    assert cluster["datapath_provider"] == "ADVANCED_DATAPATH"
    assert (cluster["release_channel"], cluster["min_master_version"]) == (
        {"channel": "REGULAR"},
        "1.33",
    )
    assert cluster["ip_allocation_policy"] == {
        "cluster_secondary_range_name": "pods",
        "services_secondary_range_name": "services",
    }


def test_network_takes_the_models_ranges_and_leaves_through_nat(
    model: KernelModel, config: dict[str, Any]
) -> None:
    subnetwork = resources(config, "google_compute_subnetwork")["subnetwork"]
    assert subnetwork["ip_cidr_range"] == model.network.private_subnets[0]
    assert subnetwork["secondary_ip_range"] == [
        {"range_name": "pods", "ip_cidr_range": model.network.pods_cidr},
        {"range_name": "services", "ip_cidr_range": model.network.services_cidr},
    ]
    assert (model.network.pods_cidr, model.network.services_cidr) == (
        "10.244.0.0/14",
        "10.96.0.0/20",
    )
    assert (
        resources(config, "google_compute_network")["network"]["auto_create_subnetworks"] is False
    )
    nat = resources(config, "google_compute_router_nat")["nat"]
    assert nat["source_subnetwork_ip_ranges_to_nat"] == "ALL_SUBNETWORKS_ALL_IP_RANGES"
    # Cloud SQL's range inside the VPC range, where the "database" network policy points
    allocated = resources(config, "google_compute_global_address")["private-services-range"]
    reserved = f"{allocated['address']}/{allocated['prefix_length']}"
    assert reserved == model.network.public_subnets[0] == "10.40.96.0/19"


def test_buckets_are_uniform_versioned_and_written_by_the_launcher_only(
    model: KernelModel, config: dict[str, Any]
) -> None:
    buckets = resources(config, "google_storage_bucket")
    assert {b["name"] for b in buckets.values()} == {"dataos-warehouse", "dataos-history"}
    for bucket in buckets.values():
        assert bucket["uniform_bucket_level_access"] is True
        assert bucket["versioning"] == {"enabled": True}
        assert bucket["public_access_prevention"] == "enforced"
    members = resources(config, "google_storage_bucket_iam_member").values()
    assert {m["member"] for m in members} == {
        "${google_service_account.service-account-launcher.member}"
    }


def test_database_is_private_and_its_password_only_write_only(
    model: KernelModel, config: dict[str, Any]
) -> None:
    instance = resources(config, "google_sql_database_instance")["database"]
    settings = instance["settings"]
    assert instance["database_version"] == "POSTGRES_16"
    assert settings["tier"] == model.database.instance_class
    assert settings["availability_type"] == "ZONAL"
    assert settings["ip_configuration"]["ipv4_enabled"] is False
    assert instance["depends_on"] == ["google_service_networking_connection.private-services"]
    assert {d["name"] for d in resources(config, "google_sql_database").values()} == {
        "dataos",
        "dagster",
    }
    user = resources(config, "google_sql_user")["database-user"]
    assert (user["name"], user["password_wo"]) == ("dataos", EPHEMERAL_PASSWORD)
    assert "password" not in user
    secret = resources(config, "google_secret_manager_secret")["secret-database"]
    assert secret["secret_id"] == model.database.password_secret
    version = resources(config, "google_secret_manager_secret_version")["secret-database-version"]
    assert version["secret_data_wo"] == EPHEMERAL_PASSWORD
    assert "secret_data" not in version
    assert config["ephemeral"]["random_password"]["database-password"]["special"] is False


def test_workload_identity_binds_one_kubernetes_account_each(config: dict[str, Any]) -> None:
    bindings = resources(config, "google_service_account_iam_member")
    assert {name: b["member"] for name, b in bindings.items()} == {
        "workload-identity-launcher": "serviceAccount:dataos-example.svc.id.goog[dataos/dagster]",
        "workload-identity-secrets": (
            "serviceAccount:dataos-example.svc.id.goog[external-secrets/external-secrets]"
        ),
    }
    readers = resources(config, "google_secret_manager_secret_iam_member")
    assert {name: reader["secret_id"] for name, reader in readers.items()} == {
        "secret-database-reader": "${google_secret_manager_secret.secret-database.id}",
        "secret-key-reader": "${google_secret_manager_secret.secret-key.id}",
    }
    for reader in readers.values():
        assert reader["member"] == "${google_service_account.service-account-secrets.member}"
        assert reader["role"] == "roles/secretmanager.secretAccessor"


def test_the_kubeconfig_gets_a_token_from_the_gcloud_plugin(config: dict[str, Any]) -> None:
    (user,) = exec_only_kubeconfig(config)["users"]
    assert user["user"]["exec"]["command"] == "gke-gcloud-auth-plugin"
    assert user["user"]["exec"]["apiVersion"] == "client.authentication.k8s.io/v1beta1"


def test_names_are_within_gcp_limits(config: dict[str, Any]) -> None:
    for pool in resources(config, "google_container_node_pool").values():
        assert POOL_NAME.match(pool["name"]), pool["name"]
    for account in resources(config, "google_service_account").values():
        assert SERVICE_ACCOUNT_ID.match(account["account_id"]), account["account_id"]


def test_long_compute_names_get_short_deterministic_distinct_pool_names(
    model: KernelModel,
) -> None:
    from dataos_kernel.gcp_cluster import pool_names

    long = "runnable-" + "x" * 40
    groups = (
        model.node_group("system"),
        model.node_group("runnable-default").model_copy(update={"name": long, "compute": long}),
        model.node_group("query-default").model_copy(
            update={"name": long + "y", "compute": long + "y"}
        ),
    )
    names = pool_names(model.model_copy(update={"node_groups": groups}))
    assert names["system"] == "system"
    assert len({names[long], names[long + "y"]}) == 2
    assert all(POOL_NAME.match(name) for name in names.values())
    assert names == pool_names(model.model_copy(update={"node_groups": groups}))


def test_the_handle_refers_to_the_stacks_own_values(model: KernelModel) -> None:
    _, handle, values = handle_outputs(model)
    annotation = "iam.gke.io/gcp-service-account"
    assert values == {
        "host": "https://${google_container_cluster.cluster.endpoint}",
        "database": "${google_secret_manager_secret.secret-database.secret_id}",
        "secret_key": "${google_secret_manager_secret.secret-key.secret_id}",
        "database_host": "${google_sql_database_instance.database.private_ip_address}",
        "warehouse": "gs://${google_storage_bucket.bucket-warehouse.name}",
        "launcher": {annotation: "${google_service_account.service-account-launcher.email}"},
        "operator": {annotation: "${google_service_account.service-account-secrets.email}"},
        "store": {"gcpsm": {"projectID": "dataos-example"}},
    }
    assert handle.secret_store.provider == {"gcpsm": {"projectID": "dataos-example"}}
    assert (handle.database_user, handle.database_password_property) == ("dataos", None)
    assert handle.exec_auth.command == "gke-gcloud-auth-plugin"


def test_a_resized_compute_reaches_its_node_pool(model: KernelModel) -> None:
    after = synth(resized_query(model))
    node = resources(after, "google_container_node_pool")["node-pool-query-default"]["node_config"]
    assert node["machine_type"] == "n2-highmem-16"
    assert node["taint"] == [{"key": "dataos.io/purpose", "value": "query", "effect": "NO_EXECUTE"}]


def test_high_availability_and_release_channel_variants(model: KernelModel) -> None:
    database = model.database.model_copy(update={"high_availability": True})
    variant = model.model_copy(update={"database": database, "kubernetes_version": "stable"})
    config = synth(variant)
    settings = resources(config, "google_sql_database_instance")["database"]["settings"]
    assert settings["availability_type"] == "REGIONAL"
    cluster = resources(config, "google_container_cluster")["cluster"]
    assert cluster["release_channel"] == {"channel": "STABLE"}
    assert "min_master_version" not in cluster


def test_gcs_state_backend(model: KernelModel) -> None:
    state = StateBackend(kind="gcs", bucket="dataos-state", prefix="kernel")
    backend = synth(model.model_copy(update={"state": state}))["terraform"]["backend"]
    assert backend == {"gcs": {"bucket": "dataos-state", "prefix": "kernel/dataos-cluster"}}


def test_models_the_stack_cannot_build_are_refused(model: KernelModel) -> None:
    from cdktn import Testing

    build = cluster_stack(CLOUD)
    no_subnet = model.network.model_copy(update={"private_subnets": ()})
    with pytest.raises(ValueError, match="private subnet"):
        build(Testing.app(), model.model_copy(update={"network": no_subnet}))
    with pytest.raises(ValueError, match="project"):
        build(Testing.app(), model.model_copy(update={"project": None}))
    with pytest.raises(ValueError, match="needs a bucket"):
        build(Testing.app(), model.model_copy(update={"state": StateBackend(kind="gcs")}))


def test_snapshot(config: dict[str, Any]) -> None:
    """The synthesized stack, reviewed like code. Regenerate with UPDATE_SNAPSHOTS=1."""
    check_snapshot(config, SNAPSHOT)


GENERATED_KEY = "${ephemeral.random_password.fernet-key.result}="


def test_the_store_key_is_generated_into_a_write_only_argument(
    model: KernelModel, config: dict[str, Any]
) -> None:
    """DATAOS_SECRET_KEY: a Fernet key generated at apply time, written only to the entry's
    write-only value, once (its version is never bumped)."""
    secret = resources(config, "google_secret_manager_secret")["secret-key"]
    assert secret["secret_id"] == model.secret_key_secret == "dataos-secret-key"
    version = resources(config, "google_secret_manager_secret_version")["secret-key-version"]
    assert version == {
        "secret": "${google_secret_manager_secret.secret-key.id}",
        "secret_data_wo": GENERATED_KEY,
        "secret_data_wo_version": "1",
    }
    assert config["ephemeral"]["random_password"]["fernet-key"] == {
        "length": 43,
        "special": True,
        "override_special": "-_",
    }
