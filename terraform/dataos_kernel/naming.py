"""Names shared by the kernel's stacks: construct ids, cloud names, state paths, identities.

Construct ids become Terraform resource names (``aws_eks_node_group.node-group-gpu``), so they
are derived from the model's names only: the same model gives the same ids, and changing one
Compute changes one resource. Constructs sit directly in their stack, which keeps those ids
readable (CDKTF adds a hash suffix to nested construct paths).
"""

from __future__ import annotations

import re

from dataos_defs.kernel import k8s_objects
from dataos_defs.kernel.model import PLATFORM_NAMESPACE, KernelModel

# The run launcher's (and run pods') Kubernetes service account, in the platform namespace
# (rendered by k8s_objects with its cloud identity, used by the Dagster chart). Its cloud
# identity reaches the warehouse and history buckets.
LAUNCHER_SERVICE_ACCOUNT = (PLATFORM_NAMESPACE, k8s_objects.LAUNCHER_SERVICE_ACCOUNT)
# The External Secrets Operator's service account (the chart's defaults): its cloud identity
# reads the database password entry from the secret manager.
SECRETS_OPERATOR_SERVICE_ACCOUNT = ("external-secrets", "external-secrets")

# Local state lives beside the synthesis output directory, never inside it: the path is
# relative to a stack's working directory (<outdir>/stacks/<stack>/), the same for every
# stack, so that a sibling stack's terraform_remote_state finds it, and re-synthesizing (or
# wiping the output) leaves the state alone. Each cloud has its own folder under it.
LOCAL_STATE_DIR = "../../../terraform-state"

_UNSAFE = re.compile(r"[^a-z0-9-]+")


def construct_id(*parts: str) -> str:
    """A Terraform-safe resource name from model names (``subnet-private-eu-west-1a``)."""
    joined = "-".join(part.lower() for part in parts if part)
    return _UNSAFE.sub("-", joined).strip("-")


def cloud_name(model: KernelModel, *parts: str) -> str:
    """The name a cloud resource carries, prefixed with the cluster's (``dataos-nodes``)."""
    return construct_id(model.cluster_name, *parts)


def name_tags(model: KernelModel, *parts: str, **extra: str) -> dict[str, str]:
    """A resource's own tags: its ``Name`` plus ``extra``; the model's tags come on top through
    the provider's default tags, so every taggable resource carries them."""
    return {"Name": cloud_name(model, *parts), **extra}


def local_state_path(model: KernelModel, stack_id: str) -> str:
    """Where a stack keeps its state with the ``local`` backend (see ``LOCAL_STATE_DIR``)."""
    return f"{LOCAL_STATE_DIR}/{model.state.prefix}/{model.cloud}/{stack_id}.tfstate"


def state_key(model: KernelModel, stack_id: str) -> str:
    """The object key of a stack's state in a bucket backend (s3, gcs)."""
    return f"{model.state.prefix}/{stack_id}.tfstate"
