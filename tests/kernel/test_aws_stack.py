"""The AWS cluster stack (terraform/dataos_kernel/aws.py), on its synthesized Terraform JSON.

The hand-built model (``stack_support.cloud_model``) is synthesized once per module
(``conftest.py``); the example Resources' snapshot synthesizes once more. What every cloud's
stack does alike is in ``test_cluster_stacks.py``.
"""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

import pytest

from dataos_defs.kernel.model import KernelModel, StateBackend

from .stack_support import (
    cdktn_synth,
    check_snapshot,
    cloud_model,
    example_model,
    exec_only_kubeconfig,
    handle_outputs,
    resized_query,
    resources,
    synth,
    with_node_group,
)

CLOUD = "aws"

SNAPSHOT = Path(__file__).parent / "snapshots" / "aws-cluster.json"
# Resources AWS cannot tag; every other resource carries a Name tag (and the model's tags
# through the provider's default_tags, checked on the plan in test_aws_terraform.py).
UNTAGGABLE = {
    "aws_route",
    "aws_route_table_association",
    "aws_iam_role_policy",
    "aws_iam_role_policy_attachment",
    "aws_s3_bucket_versioning",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_public_access_block",
    "aws_secretsmanager_secret_version",
}


def test_one_node_group_per_compute_with_its_size_labels_and_taints(
    model: KernelModel, config: dict[str, Any]
) -> None:
    groups = resources(config, "aws_eks_node_group")
    assert set(groups) == {f"node-group-{g.name}" for g in model.node_groups}
    effects = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}
    for group in model.node_groups:
        synthesized = groups[f"node-group-{group.name}"]
        assert synthesized["node_group_name"] == group.name
        assert synthesized["instance_types"] == [group.machine_type]
        assert synthesized["scaling_config"] == {
            "min_size": group.min_size,
            "max_size": group.max_size,
            "desired_size": group.min_size,
        }
        assert synthesized["labels"] == group.labels
        assert synthesized["disk_size"] == group.disk_gb
        expected_taints = [
            {"key": t.key, "effect": effects[t.effect], **({"value": t.value} if t.value else {})}
            for t in group.taints
        ]
        assert synthesized.get("taint", []) == expected_taints
        assert synthesized["subnet_ids"] == [
            f"${{aws_subnet.subnet-private-{zone}.id}}" for zone in model.network.zones
        ]
        # the autoscaler owns the desired size once the group exists
        assert synthesized["lifecycle"] == {"ignore_changes": ["scaling_config[0].desired_size"]}
    assert groups["node-group-gpu"]["ami_type"] == "AL2023_x86_64_NVIDIA"
    assert groups["node-group-system"]["ami_type"] == "AL2023_x86_64_STANDARD"


def test_cdktn_assertions_on_the_key_resources(model: KernelModel) -> None:
    from cdktn import Testing
    from cdktn_provider_aws.db_instance import DbInstance
    from cdktn_provider_aws.eks_cluster import EksCluster
    from cdktn_provider_aws.eks_node_group import EksNodeGroup

    synthesized = cdktn_synth(model)
    assert Testing.to_have_resource_with_properties(
        synthesized,
        EksCluster.TF_RESOURCE_TYPE,
        {"name": "dataos", "version": "1.33", "access_config": {"authentication_mode": "API"}},
    )
    assert Testing.to_have_resource_with_properties(
        synthesized,
        EksNodeGroup.TF_RESOURCE_TYPE,
        {"node_group_name": "gpu", "taint": [{"key": "nvidia.com/gpu", "effect": "NO_SCHEDULE"}]},
    )
    assert Testing.to_have_resource_with_properties(
        synthesized, DbInstance.TF_RESOURCE_TYPE, {"manage_master_user_password": True}
    )


def test_the_cluster_is_private_and_uses_access_entries(
    model: KernelModel, config: dict[str, Any]
) -> None:
    cluster = resources(config, "aws_eks_cluster")["cluster"]
    assert cluster["version"] == model.kubernetes_version
    assert cluster["access_config"] == {
        "authentication_mode": "API",
        "bootstrap_cluster_creator_admin_permissions": True,
    }
    assert cluster["vpc_config"]["subnet_ids"] == [
        f"${{aws_subnet.subnet-private-{zone}.id}}" for zone in model.network.zones
    ]


def test_network_has_a_public_and_a_private_subnet_and_a_nat_per_zone(
    model: KernelModel, config: dict[str, Any]
) -> None:
    subnets = resources(config, "aws_subnet")
    net = model.network
    for zone, private, public in zip(
        net.zones, net.private_subnets, net.public_subnets, strict=True
    ):
        assert subnets[f"subnet-private-{zone}"]["cidr_block"] == private
        assert subnets[f"subnet-public-{zone}"]["cidr_block"] == public
        assert subnets[f"subnet-private-{zone}"]["tags"]["kubernetes.io/role/internal-elb"] == "1"
    assert len(resources(config, "aws_nat_gateway")) == len(net.zones)
    assert resources(config, "aws_vpc")["vpc"]["cidr_block"] == net.cidr


def test_database_has_an_aws_managed_password_and_admits_only_the_nodes(
    model: KernelModel, config: dict[str, Any]
) -> None:
    database = resources(config, "aws_db_instance")["database"]
    assert database["manage_master_user_password"] is True
    assert not {"password", "password_wo"} & set(database)
    assert database["engine"] == "postgres"
    assert database["engine_version"] == model.database.engine_version
    assert database["instance_class"] == model.database.instance_class
    assert database["allocated_storage"] == model.database.storage_gb
    assert database["multi_az"] is False
    assert database["publicly_accessible"] is False
    assert database["storage_encrypted"] is True
    (rule,) = resources(config, "aws_vpc_security_group_ingress_rule").values()
    assert rule["referenced_security_group_id"] == (
        "${aws_eks_cluster.cluster.vpc_config[0].cluster_security_group_id}"
    )
    assert (rule["from_port"], rule["to_port"]) == (5432, 5432)
    assert "cidr_ipv4" not in rule


def test_buckets_are_versioned_encrypted_and_private(
    model: KernelModel, config: dict[str, Any]
) -> None:
    buckets = resources(config, "aws_s3_bucket")
    assert {b["bucket"] for b in buckets.values()} == {
        model.buckets.warehouse,
        model.buckets.history,
    }
    for name in buckets:
        versioning = resources(config, "aws_s3_bucket_versioning")[f"{name}-versioning"]
        assert versioning["versioning_configuration"] == {"status": "Enabled"}
        encryption = resources(config, "aws_s3_bucket_server_side_encryption_configuration")
        assert encryption[f"{name}-encryption"]["rule"][0][
            "apply_server_side_encryption_by_default"
        ]
        block = resources(config, "aws_s3_bucket_public_access_block")[
            f"{name}-public-access-block"
        ]
        assert all(block[key] is True for key in ("block_public_acls", "block_public_policy"))
        assert all(block[key] is True for key in ("ignore_public_acls", "restrict_public_buckets"))


def test_irsa_roles_trust_one_service_account_each(config: dict[str, Any]) -> None:
    documents = config["data"]["aws_iam_policy_document"]
    subjects = {
        name: [
            c["values"] for c in doc["statement"][0]["condition"] if c["variable"].endswith(":sub")
        ]
        for name, doc in documents.items()
        if name.startswith("trust-")
    }
    assert subjects == {
        "trust-run-launcher": [["system:serviceaccount:dataos:dagster"]],
        "trust-secrets-operator": [["system:serviceaccount:external-secrets:external-secrets"]],
    }
    launcher = json.dumps(documents["policy-run-launcher"])
    assert "aws_s3_bucket.bucket-warehouse.arn" in launcher
    assert "aws_s3_bucket.bucket-history.arn" in launcher
    operator = documents["policy-secrets-operator"]["statement"][0]["resources"]
    assert operator == [
        "${aws_db_instance.database.master_user_secret[0].secret_arn}",
        "${aws_secretsmanager_secret.secret-key.arn}",
    ]


def test_no_key_and_no_generated_value_in_the_synthesized_json(config: dict[str, Any]) -> None:
    text = json.dumps(config)
    assert "BEGIN" not in text
    # a data source would keep a generated value in the state; only the ephemeral one is used
    assert "aws_secretsmanager_random_password" not in config.get("data", {})
    assert "random_password" not in text.replace(
        "ephemeral.aws_secretsmanager_random_password.fernet-key.random_password", ""
    ).replace('"aws_secretsmanager_random_password"', "")


def test_the_store_key_is_generated_into_a_write_only_argument(
    model: KernelModel, config: dict[str, Any]
) -> None:
    """DATAOS_SECRET_KEY: a Fernet key generated at apply time and written only to the
    entry's write-only value, once (its version is never bumped)."""
    entry = resources(config, "aws_secretsmanager_secret")["secret-key"]
    assert entry["name"] == model.secret_key_secret == "dataos-secret-key"
    version = resources(config, "aws_secretsmanager_secret_version")["secret-key-version"]
    assert version == {
        "secret_id": "${aws_secretsmanager_secret.secret-key.id}",
        "secret_string_wo": (
            "${ephemeral.aws_secretsmanager_random_password.fernet-key.random_password}="
        ),
        "secret_string_wo_version": 1,
    }
    generator = config["ephemeral"]["aws_secretsmanager_random_password"]["fernet-key"]
    assert generator["password_length"] == 43
    assert generator["require_each_included_type"] is False
    allowed = set(string.printable.strip()) - set(generator["exclude_characters"])
    assert allowed == set(string.ascii_letters + string.digits + "-_")
    assert config["terraform"]["required_version"] == ">= 1.11"


def test_the_kubeconfig_gets_a_token_from_the_aws_cli(
    model: KernelModel, config: dict[str, Any]
) -> None:
    (user,) = exec_only_kubeconfig(config)["users"]
    assert user["user"]["exec"]["command"] == "aws"
    command = " ".join(user["user"]["exec"]["args"])
    assert command == f"eks get-token --cluster-name {model.cluster_name} --region {model.region}"


def test_provider_constraint_region_and_default_tags(
    model: KernelModel, config: dict[str, Any]
) -> None:
    assert config["terraform"]["required_providers"]["aws"] == {
        "source": "hashicorp/aws",
        "version": ">= 5.100, < 7",
    }
    (provider,) = config["provider"]["aws"]
    assert provider["region"] == model.region
    assert provider["default_tags"] == [{"tags": model.tags}]
    for kind, named in config["resource"].items():
        if kind in UNTAGGABLE:
            continue
        for name, resource in named.items():
            assert resource["tags"]["Name"].startswith(model.cluster_name), (kind, name)


def test_s3_state_backend() -> None:
    state = StateBackend(kind="s3", bucket="acme-tf-state", prefix="kernel")
    config = synth(cloud_model(CLOUD, state=state))
    assert config["terraform"]["backend"] == {
        "s3": {
            "bucket": "acme-tf-state",
            "key": "kernel/dataos-cluster.tfstate",
            "region": "eu-west-1",
            "encrypt": True,
            "use_lockfile": True,
        }
    }


def test_the_handle_refers_to_the_stacks_own_values(model: KernelModel) -> None:
    stack, handle, values = handle_outputs(model)
    assert stack.node.id == "dataos-cluster"
    assert values == {
        "host": "${aws_eks_cluster.cluster.endpoint}",
        "database": "${aws_db_instance.database.master_user_secret[0].secret_arn}",
        "secret_key": "${aws_secretsmanager_secret.secret-key.arn}",
        "database_host": "${aws_db_instance.database.address}",
        "warehouse": "s3://${aws_s3_bucket.bucket-warehouse.bucket}",
        "launcher": {"eks.amazonaws.com/role-arn": "${aws_iam_role.role-run-launcher.arn}"},
        "operator": {"eks.amazonaws.com/role-arn": "${aws_iam_role.role-secrets-operator.arn}"},
        "store": {"aws": {"service": "SecretsManager", "region": model.region}},
    }
    assert handle.secret_store.provider == {
        "aws": {"service": "SecretsManager", "region": model.region}
    }
    assert handle.exec_auth.api_version == "client.authentication.k8s.io/v1beta1"
    assert handle.exec_auth.args[-2:] == ("--region", model.region)
    assert (handle.database_user, handle.database_password_property) == ("dataos", "password")


def test_a_resized_compute_reaches_its_node_group(model: KernelModel) -> None:
    after = synth(resized_query(model))
    synthesized = resources(after, "aws_eks_node_group")["node-group-query-default"]
    assert synthesized["instance_types"] == ["r6i.4xlarge"]
    assert synthesized["taint"] == [
        {"key": "dataos.io/purpose", "value": "query", "effect": "NO_EXECUTE"}
    ]


def test_high_availability_makes_the_database_multi_az(model: KernelModel) -> None:
    database = model.database.model_copy(update={"high_availability": True})
    config = synth(model.model_copy(update={"database": database}))
    assert resources(config, "aws_db_instance")["database"]["multi_az"] is True


@pytest.mark.parametrize(
    ("machine", "image"),
    [
        ("m7g.large", "ARM_64"),
        ("c7gn.xlarge", "ARM_64"),
        ("g5g.xlarge", "ARM_64"),
        ("m6i.large", "x86_64"),
    ],
)
def test_graviton_groups_get_the_arm_image(model: KernelModel, machine: str, image: str) -> None:
    from dataos_kernel.aws_cluster import ami_type

    group = model.node_group("system").model_copy(update={"machine_type": machine})
    assert ami_type(group) == f"AL2023_{image}_STANDARD"


def test_models_the_stack_cannot_build_are_refused(model: KernelModel) -> None:
    from cdktn import Testing
    from dataos_kernel.aws import cluster_stack

    one_zone = model.network.model_copy(
        update={
            "zones": ("eu-west-1a",),
            "private_subnets": ("10.40.0.0/19",),
            "public_subnets": ("10.40.96.0/22",),
        }
    )
    with pytest.raises(ValueError, match="two zones"):
        cluster_stack(Testing.app(), model.model_copy(update={"network": one_zone}))
    inverted = model.node_group("system").model_copy(update={"min_size": 4, "max_size": 3})
    with pytest.raises(ValueError, match="min 4 > max 3"):
        cluster_stack(Testing.app(), with_node_group(model, inverted))


def test_snapshot_of_the_example() -> None:
    """The example Resources' stack, reviewed like code. Regenerate with UPDATE_SNAPSHOTS=1."""
    model = example_model(CLOUD)
    config = synth(model)
    groups = resources(config, "aws_eks_node_group")
    assert {g["node_group_name"] for g in groups.values()} == {g.name for g in model.node_groups}
    check_snapshot(config, SNAPSHOT)
