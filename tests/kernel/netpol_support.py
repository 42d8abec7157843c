"""Kernel models for the Kubernetes object and network matrix tests.

``example_model`` is the repository's own desired state (``resources/`` and
``terraform/kernel.yaml``) through the real mapping. It has one workspace and no Service with
ingress, so ``routed_model`` adds two workspaces and routed Services to it: the matrix needs
more than one workspace to prove that workspaces cannot reach each other.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from dataos_defs.kernel.desired import desired_from_files
from dataos_defs.kernel.load import load_settings
from dataos_defs.kernel.mapping import build_model
from dataos_defs.kernel.model import WORKSPACE_LABEL, Cloud, IngressRoute, KernelModel, Namespace

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"

ROUTES = (
    IngressRoute(workspace="alpha", service="shop", path="/shop", port=8000),
    IngressRoute(workspace="alpha", service="shop", path="/shop-admin", port=8001),
    IngressRoute(workspace="beta", service="maps", path="/maps", port=9000),
)


@cache
def example_model(cloud: Cloud = "aws") -> KernelModel:
    settings = load_settings(ROOT / "terraform" / "kernel.yaml")
    desired = desired_from_files([ROOT / "resources"], recursive=True)
    return build_model(settings, cloud, desired)


def _workspace(name: str) -> Namespace:
    labels = {"app.kubernetes.io/part-of": "dataos", WORKSPACE_LABEL: name}
    return Namespace(name=name, workspace=name, labels=labels)


@cache
def routed_model(cloud: Cloud = "aws") -> KernelModel:
    model = example_model(cloud)
    spaces = [*model.namespaces, _workspace("alpha"), _workspace("beta")]
    return model.model_copy(
        update={
            "namespaces": tuple(sorted(spaces, key=lambda ns: ns.name)),
            "ingress_routes": ROUTES,
        }
    )
