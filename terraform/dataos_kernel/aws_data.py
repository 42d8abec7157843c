"""The data side of the AWS cluster stack: buckets, the database, and who may reach them.

- S3 buckets for the lakehouse warehouse and Caretaker's history: versioned, encrypted,
  never public.
- RDS PostgreSQL for the Poros store and Dagster's storage, in the private subnets, reachable
  only from the cluster's nodes. Its master password is generated and kept by AWS in Secrets
  Manager (``manage_master_user_password``): no password exists in this code, in the
  synthesized JSON or in the Terraform state.
- The store's Fernet key in its own Secrets Manager entry, written write-only
  (:mod:`dataos_kernel.aws_secrets`).
- IRSA roles: the run launcher's service account may use the two buckets; the External
  Secrets Operator's may read the database's secret and the key's entry, which it syncs into
  the cluster, and no other secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktn import TerraformStack
from cdktn_provider_aws.data_aws_iam_policy_document import DataAwsIamPolicyDocumentStatement
from cdktn_provider_aws.db_instance import DbInstance
from cdktn_provider_aws.db_subnet_group import DbSubnetGroup
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.s3_bucket import S3Bucket
from cdktn_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktn_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktn_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from cdktn_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from cdktn_provider_aws.security_group import SecurityGroup
from cdktn_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule

from dataos_defs.kernel.model import KernelModel
from dataos_kernel.aws_cluster import AwsCluster, irsa_role
from dataos_kernel.aws_network import AwsNetwork
from dataos_kernel.aws_secrets import secret_key_entry
from dataos_kernel.naming import (
    LAUNCHER_SERVICE_ACCOUNT,
    SECRETS_OPERATOR_SERVICE_ACCOUNT,
    cloud_name,
    construct_id,
    name_tags,
)

POSTGRES_PORT = 5432
# The database's administrator: a name, not a secret (its password is AWS-managed).
DATABASE_USER = "dataos"
BACKUP_DAYS = 7
_SECRET_READ = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]


@dataclass(frozen=True)
class AwsData:
    warehouse: S3Bucket
    history: S3Bucket
    database: DbInstance
    secret_key: SecretsmanagerSecret
    launcher_role: IamRole
    secrets_operator_role: IamRole

    @property
    def database_secret_arn(self) -> str:
        return database_secret_arn(self.database)


def database_secret_arn(database: DbInstance) -> str:
    """The Secrets Manager entry RDS created for the master password (a reference)."""
    return database.master_user_secret.get(0).secret_arn


def data(stack: TerraformStack, model: KernelModel, net: AwsNetwork, eks: AwsCluster) -> AwsData:
    """The two buckets, the database, and the IRSA roles that reach them."""
    warehouse = bucket(stack, model, "warehouse", model.buckets.warehouse)
    history = bucket(stack, model, "history", model.buckets.history)
    database = postgres(stack, model, net, eks)
    key = secret_key_entry(stack, model)
    launcher = irsa_role(
        stack,
        model,
        eks,
        "run-launcher",
        LAUNCHER_SERVICE_ACCOUNT,
        _bucket_access([warehouse, history]),
    )
    operator = irsa_role(
        stack,
        model,
        eks,
        "secrets-operator",
        SECRETS_OPERATOR_SERVICE_ACCOUNT,
        [_allow(_SECRET_READ, [database_secret_arn(database), key.arn])],
    )
    return AwsData(warehouse, history, database, key, launcher, operator)


def _bucket_access(buckets: list[S3Bucket]) -> list[DataAwsIamPolicyDocumentStatement]:
    """Read, write and list objects in these buckets; nothing about the buckets themselves."""
    objects = [f"{b.arn}/*" for b in buckets]
    return [
        _allow(["s3:ListBucket", "s3:GetBucketLocation"], [b.arn for b in buckets]),
        _allow(["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], objects),
    ]


def bucket(stack: TerraformStack, model: KernelModel, role: str, name: str) -> S3Bucket:
    """A private, versioned, encrypted bucket (``role`` names it in construct ids)."""
    created = S3Bucket(
        stack, construct_id("bucket", role), bucket=name, tags=name_tags(model, role)
    )
    S3BucketVersioningA(
        stack,
        construct_id("bucket", role, "versioning"),
        bucket=created.id,
        versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
    )
    S3BucketServerSideEncryptionConfigurationA(
        stack,
        construct_id("bucket", role, "encryption"),
        bucket=created.id,
        rule=[
            S3BucketServerSideEncryptionConfigurationRuleA(
                apply_server_side_encryption_by_default=S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                    sse_algorithm="AES256"
                )
            )
        ],
    )
    S3BucketPublicAccessBlock(
        stack,
        construct_id("bucket", role, "public-access-block"),
        bucket=created.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
    )
    return created


def postgres(
    stack: TerraformStack, model: KernelModel, net: AwsNetwork, eks: AwsCluster
) -> DbInstance:
    """RDS PostgreSQL: private, encrypted, AWS-managed password, admitting the nodes only."""
    spec = model.database
    subnets = DbSubnetGroup(
        stack,
        "database-subnets",
        name=cloud_name(model, "database"),
        subnet_ids=net.private_subnet_ids,
        tags=name_tags(model, "database"),
    )
    group = SecurityGroup(
        stack,
        "database-security-group",
        name=cloud_name(model, "database"),
        description="PostgreSQL from the cluster's nodes only",
        vpc_id=net.vpc_id,
        tags=name_tags(model, "database"),
    )
    VpcSecurityGroupIngressRule(
        stack,
        "database-from-nodes",
        security_group_id=group.id,
        referenced_security_group_id=eks.cluster.vpc_config.cluster_security_group_id,
        ip_protocol="tcp",
        from_port=POSTGRES_PORT,
        to_port=POSTGRES_PORT,
        description="the cluster security group (EKS managed nodes)",
        tags=name_tags(model, "database", "from-nodes"),
    )
    identifier = cloud_name(model, "database")
    return DbInstance(
        stack,
        "database",
        identifier=identifier,
        engine="postgres",
        engine_version=spec.engine_version,
        instance_class=spec.instance_class,
        allocated_storage=spec.storage_gb,
        max_allocated_storage=spec.storage_gb * 4,
        storage_type="gp3",
        storage_encrypted=True,
        multi_az=spec.high_availability,
        db_name=spec.databases[0],
        username=DATABASE_USER,
        manage_master_user_password=True,
        db_subnet_group_name=subnets.name,
        vpc_security_group_ids=[group.id],
        publicly_accessible=False,
        port=POSTGRES_PORT,
        backup_retention_period=BACKUP_DAYS,
        copy_tags_to_snapshot=True,
        final_snapshot_identifier=f"{identifier}-final",
        auto_minor_version_upgrade=True,
        tags=name_tags(model, "database"),
    )


def _allow(actions: list[str], resources: list[str]) -> DataAwsIamPolicyDocumentStatement:
    return DataAwsIamPolicyDocumentStatement(effect="Allow", actions=actions, resources=resources)
