"""The Azure cluster stack (terraform/dataos_kernel/azure.py), on its synthesized Terraform JSON.

Only synthesized, never ``terraform validate``-d here: the provider mirror on this machine
holds hashicorp/aws alone and the registry is out of reach. So these tests read the JSON:
CDKTF ``Testing`` assertions, the default and user node pools, Azure's naming limits, the
reviewed snapshot. Checks every cloud shares live in ``test_cluster_stacks.py``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from dataos_defs.kernel.model import KernelModel, StateBackend, Taint

from .stack_support import (
    cdktn_synth,
    check_snapshot,
    cluster_stack,
    exec_only_kubeconfig,
    handle_outputs,
    resized_query,
    resources,
    synth,
    with_node_group,
)

CLOUD = "azure"

SNAPSHOT = Path(__file__).parent / "snapshots" / "azure-cluster.json"
POOL_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")
STORAGE_ACCOUNT = re.compile(r"^[a-z0-9]{3,24}$")
KEY_VAULT = re.compile(r"^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$")
EPHEMERAL_PASSWORD = "${ephemeral.random_password.database-password.result}"


def test_system_group_is_the_default_pool_and_every_other_compute_a_user_pool(
    model: KernelModel, config: dict[str, Any]
) -> None:
    from dataos_kernel.azure_cluster import pool_names

    names = pool_names(model)
    pools = resources(config, "azurerm_kubernetes_cluster_node_pool")
    others = [g for g in model.node_groups if g.compute != "system"]
    assert set(pools) == {f"node-pool-{g.compute}" for g in others}
    for group in others:
        pool = pools[f"node-pool-{group.compute}"]
        assert pool["name"] == names[group.compute]
        assert pool["mode"] == "User"
        assert pool["vm_size"] == group.machine_type
        assert (pool["auto_scaling_enabled"], pool["min_count"], pool["max_count"]) == (
            True,
            group.min_size,
            group.max_size,
        )
        assert pool["node_labels"] == group.labels
        assert pool["os_disk_size_gb"] == group.disk_gb
        assert pool.get("node_taints", []) == [
            f"{t.key}={t.value}:{t.effect}" if t.value else f"{t.key}:{t.effect}"
            for t in group.taints
        ]
        assert ("gpu_driver" in pool) is group.gpu
    system = model.node_group("system")
    default = resources(config, "azurerm_kubernetes_cluster")["cluster"]["default_node_pool"]
    assert (default["name"], default["vm_size"]) == ("system", system.machine_type)
    assert (default["min_count"], default["max_count"]) == (system.min_size, system.max_size)
    assert default["node_labels"] == system.labels
    assert pools["node-pool-gpu-training"]["node_taints"] == ["nvidia.com/gpu:NoSchedule"]
    assert pools["node-pool-query-default"]["node_taints"] == [
        "dataos.io/drain=soon:PreferNoSchedule"
    ]


def test_cdktn_assertions_on_the_key_resources(model: KernelModel) -> None:
    from cdktn import Testing
    from cdktn_provider_azurerm.key_vault_secret import KeyVaultSecret
    from cdktn_provider_azurerm.kubernetes_cluster import KubernetesCluster
    from cdktn_provider_azurerm.kubernetes_cluster_node_pool import KubernetesClusterNodePool

    synthesized = cdktn_synth(model)
    assert Testing.to_have_resource_with_properties(
        synthesized,
        KubernetesCluster.TF_RESOURCE_TYPE,
        {
            "name": "dataos",
            "kubernetes_version": "1.33",
            "oidc_issuer_enabled": True,
            "workload_identity_enabled": True,
        },
    )
    assert Testing.to_have_resource_with_properties(
        synthesized,
        KubernetesClusterNodePool.TF_RESOURCE_TYPE,
        {"vm_size": "Standard_D4s_v5", "node_taints": ["dataos.io/workload=spark:NoSchedule"]},
    )
    assert Testing.to_have_resource_with_properties(
        synthesized,
        KeyVaultSecret.TF_RESOURCE_TYPE,
        {"name": "dataos-database", "value_wo": EPHEMERAL_PASSWORD},
    )


def test_the_cluster_enforces_network_policies_and_uses_entra_id_only(
    config: dict[str, Any],
) -> None:
    cluster = resources(config, "azurerm_kubernetes_cluster")["cluster"]
    network = cluster["network_profile"]
    assert (network["network_plugin"], network["network_plugin_mode"]) == ("azure", "overlay")
    assert (network["network_policy"], network["network_data_plane"]) == ("cilium", "cilium")
    assert network["outbound_type"] == "userAssignedNATGateway"
    assert cluster["local_account_disabled"] is True
    assert cluster["azure_active_directory_role_based_access_control"]["azure_rbac_enabled"]
    assert cluster["default_node_pool"]["vnet_subnet_id"] == "${azurerm_subnet.subnet-nodes.id}"


def test_network_takes_the_models_ranges(model: KernelModel, config: dict[str, Any]) -> None:
    subnets = resources(config, "azurerm_subnet")
    assert subnets["subnet-nodes"]["address_prefixes"] == [model.network.private_subnets[0]]
    assert subnets["subnet-database"]["address_prefixes"] == [model.network.private_subnets[1]]
    assert resources(config, "azurerm_virtual_network")["vnet"]["address_space"] == [
        model.network.cidr
    ]
    assert resources(config, "azurerm_resource_group")["resource-group"]["name"] == model.project
    association = resources(config, "azurerm_subnet_nat_gateway_association")["subnet-nodes-nat"]
    assert association["subnet_id"] == "${azurerm_subnet.subnet-nodes.id}"


def test_storage_has_the_two_containers_and_no_shared_keys(
    model: KernelModel, config: dict[str, Any]
) -> None:
    account = resources(config, "azurerm_storage_account")["storage"]
    assert STORAGE_ACCOUNT.match(account["name"]), account["name"]
    assert account["shared_access_key_enabled"] is False
    assert account["is_hns_enabled"] is True
    containers = resources(config, "azurerm_storage_container")
    assert {c["name"] for c in containers.values()} == {"dataos-warehouse", "dataos-history"}
    grants = resources(config, "azurerm_role_assignment")
    assert (
        grants["role-launcher-storage"]["role_definition_name"] == "Storage Blob Data Contributor"
    )


def test_database_is_private_and_its_password_only_write_only(
    model: KernelModel, config: dict[str, Any]
) -> None:
    server = resources(config, "azurerm_postgresql_flexible_server")["database"]
    assert (server["version"], server["sku_name"]) == ("16", model.database.instance_class)
    assert server["public_network_access_enabled"] is False
    assert server["delegated_subnet_id"] == "${azurerm_subnet.subnet-database.id}"
    assert server["storage_mb"] == 65536  # 50 GB, rounded up to Azure's next size
    assert server["administrator_password_wo"] == EPHEMERAL_PASSWORD
    assert "administrator_password" not in server
    assert "high_availability" not in server
    assert server["authentication"]["active_directory_auth_enabled"] is True
    databases = resources(config, "azurerm_postgresql_flexible_server_database").values()
    assert {d["name"] for d in databases} == {"dataos", "dagster"}
    vault = resources(config, "azurerm_key_vault")["vault"]
    assert vault["rbac_authorization_enabled"] is True
    assert KEY_VAULT.match(vault["name"]), vault["name"]
    secret = resources(config, "azurerm_key_vault_secret")["secret-database"]
    assert "value" not in secret


def test_workload_identities_are_federated_with_one_service_account_each(
    config: dict[str, Any],
) -> None:
    credentials = resources(config, "azurerm_federated_identity_credential")
    assert {name: c["subject"] for name, c in credentials.items()} == {
        "federated-credential-launcher": "system:serviceaccount:dataos:dagster",
        "federated-credential-secrets": "system:serviceaccount:external-secrets:external-secrets",
    }
    for credential in credentials.values():
        assert credential["issuer"] == "${azurerm_kubernetes_cluster.cluster.oidc_issuer_url}"
    reader = resources(config, "azurerm_role_assignment")["role-secrets-vault"]
    assert reader["role_definition_name"] == "Key Vault Secrets User"


def test_the_kubeconfig_gets_a_token_from_kubelogin(config: dict[str, Any]) -> None:
    (user,) = exec_only_kubeconfig(config)["users"]
    assert user["user"]["exec"]["command"] == "kubelogin"
    assert user["user"]["exec"]["args"][:3] == ["get-token", "--login", "azurecli"]


def test_long_compute_names_get_short_deterministic_distinct_pool_names(
    model: KernelModel,
) -> None:
    from dataos_kernel.azure_cluster import pool_names

    groups = (
        model.node_group("system"),
        model.node_group("runnable-default"),
        model.node_group("query-default").model_copy(
            update={"name": "runnable-defaulted", "compute": "runnable-defaulted"}
        ),
    )
    names = pool_names(model.model_copy(update={"node_groups": groups}))
    assert names["system"] == "system"
    assert names["runnable-default"] != names["runnable-defaulted"]
    assert all(POOL_NAME.match(name) for name in names.values()), names
    assert names == pool_names(model.model_copy(update={"node_groups": groups}))


def _workload_identity(role: str) -> dict[str, str]:
    """The annotations of a service account acting as the user-assigned identity ``role``."""
    return {
        "azure.workload.identity/client-id": (
            f"${{azurerm_user_assigned_identity.identity-{role}.client_id}}"
        ),
        "azure.workload.identity/tenant-id": "${data.azurerm_client_config.client.tenant_id}",
    }


def test_the_handle_refers_to_the_stacks_own_values(model: KernelModel) -> None:
    _, handle, values = handle_outputs(model)
    assert values == {
        "host": "https://${azurerm_kubernetes_cluster.cluster.fqdn}:443",
        "database": "${azurerm_key_vault_secret.secret-database.name}",
        "secret_key": "${azurerm_key_vault_secret.secret-key.name}",
        "database_host": "${azurerm_postgresql_flexible_server.database.fqdn}",
        "warehouse": (
            "abfss://${azurerm_storage_container.container-warehouse.name}"
            "@${azurerm_storage_account.storage.name}.dfs.core.windows.net"
        ),
        "launcher": _workload_identity("launcher"),
        "operator": _workload_identity("secrets"),
        "store": {
            "azurekv": {
                "authType": "WorkloadIdentity",
                "vaultUrl": "${azurerm_key_vault.vault.vault_uri}",
            }
        },
    }
    assert (handle.database_user, handle.database_password_property) == ("dataos", None)


def test_a_resized_compute_reaches_its_node_pool(model: KernelModel) -> None:
    after = synth(resized_query(model))
    pool = resources(after, "azurerm_kubernetes_cluster_node_pool")["node-pool-query-default"]
    assert (pool["vm_size"], pool["max_count"]) == ("Standard_E16s_v5", 6)
    assert pool["node_taints"] == ["dataos.io/purpose=query:NoExecute"]


def test_high_availability_makes_the_database_zone_redundant(model: KernelModel) -> None:
    database = model.database.model_copy(update={"high_availability": True})
    config = synth(model.model_copy(update={"database": database}))
    server = resources(config, "azurerm_postgresql_flexible_server")["database"]
    assert server["high_availability"] == {
        "mode": "ZoneRedundant",
        "standby_availability_zone": "2",
    }


def test_azurerm_state_backend(model: KernelModel) -> None:
    state = StateBackend(
        kind="azurerm", bucket="tfstate", resource_group="ops", storage_account="opsstate"
    )
    backend = synth(model.model_copy(update={"state": state}))["terraform"]["backend"]
    assert backend == {
        "azurerm": {
            "resource_group_name": "ops",
            "storage_account_name": "opsstate",
            "container_name": "tfstate",
            "key": "dataos-kernel/dataos-cluster.tfstate",
            "use_azuread_auth": True,
        }
    }


def test_models_the_stack_cannot_build_are_refused(model: KernelModel) -> None:
    from cdktn import Testing

    build = cluster_stack(CLOUD)
    system = model.node_group("system")
    tainted = system.model_copy(update={"taints": (Taint(key="a", effect="NoSchedule"),)})
    with pytest.raises(ValueError, match="default \\(system\\) node pool"):
        build(Testing.app(), with_node_group(model, tainted))
    with pytest.raises(ValueError, match="storage account"):
        build(
            Testing.app(),
            model.model_copy(update={"state": StateBackend(kind="azurerm", bucket="tfstate")}),
        )


def test_snapshot(config: dict[str, Any]) -> None:
    """The synthesized stack, reviewed like code. Regenerate with UPDATE_SNAPSHOTS=1."""
    check_snapshot(config, SNAPSHOT)


GENERATED_KEY = "${ephemeral.random_password.fernet-key.result}="


def test_the_store_key_is_generated_into_a_write_only_argument(
    model: KernelModel, config: dict[str, Any]
) -> None:
    """DATAOS_SECRET_KEY: a Fernet key generated at apply time, written only to the Key Vault
    secret's write-only value, once (its version is never bumped)."""
    secret = resources(config, "azurerm_key_vault_secret")["secret-key"]
    assert secret["name"] == model.secret_key_secret == "dataos-secret-key"
    assert (secret["value_wo"], secret["value_wo_version"]) == (GENERATED_KEY, 1)
    assert "value" not in secret
    assert secret["key_vault_id"] == "${azurerm_key_vault.vault.id}"
    assert secret["depends_on"] == ["azurerm_role_assignment.role-deployer-vault"]
    assert config["ephemeral"]["random_password"]["fernet-key"] == {
        "length": 43,
        "special": True,
        "override_special": "-_",
    }
