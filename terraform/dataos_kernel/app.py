"""The CDKTF app: the chosen cloud's cluster stack, then the shared platform stack.

Only the chosen cloud's module is imported: loading a provider's bindings is most of the cost
of a synthesis, and a GCP synthesis has no use for the AWS ones.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from cdktn import App

from dataos_defs.kernel.model import KernelModel
from dataos_kernel.platform import platform_stack

CLOUD_MODULES = {
    "aws": "dataos_kernel.aws",
    "gcp": "dataos_kernel.gcp",
    "azure": "dataos_kernel.azure",
}
# The Terraform the stacks need (ephemeral resources and write-only arguments keep the database
# password out of state): CDKTF checks each feature against it at synthesis. The same value
# is in cdktf.json for the CDKTF CLI.
TARGET_VERSIONS = {"terraform": ">=1.11.0"}


def synth(model: KernelModel, outdir: Path) -> list[str]:
    """Write ``outdir/manifest.json`` and ``outdir/stacks/<stack>/cdk.tf.json``; return the
    stack names in the order to apply them (cluster, platform)."""
    outdir.mkdir(parents=True, exist_ok=True)
    app = App(outdir=str(outdir), context={"targetVersions": TARGET_VERSIONS})
    cloud = importlib.import_module(CLOUD_MODULES[model.cloud])
    cluster_stack, handle = cloud.cluster_stack(app, model)
    platform = platform_stack(app, model, handle, cluster_stack)
    app.synth()
    return [cluster_stack.node.id, platform.node.id]
