"""The ``dagster-k8s/config`` op tag of a job: resources, env, secret references, node pool.

The parts themselves come from :mod:`dataos_defs.kernel.k8s_pods` (shared with the
Deployments of Services and Workers).

Secrets are references only. ``dataosSecrets`` and ``secrets`` become ``env_from``
secret refs, ``value_from.secret_key_ref`` entries or secret volumes by *name*; a plain
``envs`` entry whose name says it holds a secret (``DB_PASSWORD``, ``API_TOKEN``) is left
out rather than copied into the tag, since tags are shown in the UI and stored with runs.

Secret volumes (``consumptionType: file|propfile``) are mounted at
``/etc/dataos/secrets/<name>``. A Kubernetes secret ref cannot cross namespaces, so a
secret of another workspace is referenced by name in the job's own namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dataos_defs.kernel.k8s_pods import SECRET_MOUNT_ROOT, container_parts, pod_parts
from dataos_defs.manifest.common import RuntimeSpec
from dataos_defs.manifest.compute import NodePool

K8S_CONFIG_TAG = "dagster-k8s/config"
__all__ = ["K8S_CONFIG_TAG", "SECRET_MOUNT_ROOT", "dataos_labels", "k8s_config"]


def dataos_labels(workspace: str, workflow: str, job: str) -> dict[str, str]:
    """Kubernetes labels naming the DataOS job (values trimmed to the 63-character limit)."""
    values = {"workspace": workspace, "workflow": workflow, "job": job}
    return {f"dataos.io/{key}": value[:63].strip("-_.") for key, value in values.items()}


def k8s_config(
    spec: RuntimeSpec | None, pools: Mapping[str, NodePool], labels: Mapping[str, str]
) -> dict[str, Any] | None:
    """The job's Kubernetes overrides: its resources, env, secrets, node pool and labels."""
    config: dict[str, Any] = {
        "job_metadata": {"labels": dict(labels)},
        "pod_template_spec_metadata": {"labels": dict(labels)},
    }
    if spec is not None:
        for key, value in (
            ("container_config", container_parts(spec)),
            ("pod_spec_config", pod_parts(spec, pools)),
        ):
            if value:
                config[key] = value
    return config
