"""Where a stack keeps its Terraform state: one rule for every stack of every cloud.

``model.state`` names the backend; each cloud keeps state either in local files (beside the
synthesis output, see ``naming.LOCAL_STATE_DIR``) or in its own bucket service. The cluster
and platform stacks of one cloud use the same backend, keyed by the stack's id, so that the
platform stack's remote-state reads find the cluster stack's outputs.
"""

from __future__ import annotations

from cdktn import AzurermBackend, GcsBackend, LocalBackend, S3Backend, TerraformStack

from dataos_defs.kernel.model import KernelModel
from dataos_kernel.naming import local_state_path, state_key

# The backends each cloud's stacks can use: files, or the cloud's own bucket service.
BACKENDS = {"aws": ("local", "s3"), "gcp": ("local", "gcs"), "azure": ("local", "azurerm")}


def state_backend(stack: TerraformStack, model: KernelModel) -> None:
    """Declare the backend named by ``model.state`` on ``stack``."""
    state, stack_id = model.state, stack.node.id
    allowed = BACKENDS[model.cloud]
    if state.kind not in allowed:
        raise ValueError(
            f"a {model.cloud} stack keeps its state in one of {allowed}, not in {state.kind}"
        )
    if state.kind == "local":
        LocalBackend(stack, path=local_state_path(model, stack_id))
        return
    if not state.bucket:
        raise ValueError(f"the {state.kind} state backend needs a bucket (state.bucket)")
    if state.kind == "s3":
        S3Backend(
            stack,
            bucket=state.bucket,
            key=state_key(model, stack_id),
            region=state.region or model.region,
            encrypt=True,
            use_lockfile=True,
        )
    elif state.kind == "gcs":
        GcsBackend(stack, bucket=state.bucket, prefix=f"{state.prefix}/{stack_id}")
    else:
        if not (state.resource_group and state.storage_account):
            raise ValueError(
                "the azurerm state backend needs a resource group and a storage account"
                " (state.resourceGroup, state.storageAccount)"
            )
        AzurermBackend(
            stack,
            resource_group_name=state.resource_group,
            storage_account_name=state.storage_account,
            container_name=state.bucket,
            key=state_key(model, stack_id),
            use_azuread_auth=True,
        )
