"""The ``dagster-k8s/config`` op tag of a job: resources, env, secret references, node pool.

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

from dataos_defs.manifest.common import DataosSecret, ResourceAmounts, RuntimeSpec, env_text
from dataos_defs.manifest.compute import NodePool
from dataos_defs.manifest.sensitive import is_sensitive_key

K8S_CONFIG_TAG = "dagster-k8s/config"
SECRET_MOUNT_ROOT = "/etc/dataos/secrets"


def _amounts(amounts: ResourceAmounts | None) -> dict[str, str]:
    if amounts is None:
        return {}
    values = amounts.model_dump(by_alias=True, exclude_none=True)
    return {key: str(value) for key, value in values.items()}


def _secret_env(secret: DataosSecret) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(env, env_from)`` entries consuming one DataOS secret as environment variables."""
    keys = [*(secret.keys or []), *([secret.key] if secret.key else [])]
    if keys and not (secret.allKeys or secret.allkeys):
        env = [
            {"name": key, "value_from": {"secret_key_ref": {"name": secret.name, "key": key}}}
            for key in keys
        ]
        return env, []
    return [], [{"secret_ref": {"name": secret.name}}]


def _container(spec: RuntimeSpec) -> dict[str, Any]:
    container: dict[str, Any] = {}
    if spec.resources is not None:
        limits = _amounts(spec.resources.limits)
        # As Kubernetes does for a bare limit: the request defaults to it. Otherwise the
        # launcher's default request could exceed a small limit and the pod be refused.
        requests = {**limits, **_amounts(spec.resources.requests)}
        resources = {
            part: amounts
            for part, amounts in (("requests", requests), ("limits", limits))
            if amounts
        }
        if resources:
            container["resources"] = resources
    env = [
        {"name": key, "value": env_text(value)}
        for key, value in (spec.envs or {}).items()
        if not is_sensitive_key(key)
    ]
    env_from = [{"secret_ref": {"name": name}} for name in spec.secrets or []]
    mounts = []
    for secret in spec.dataosSecrets or []:
        if secret.consumptionType in (None, "envVars"):
            more_env, more_from = _secret_env(secret)
            env.extend(more_env)
            env_from.extend(more_from)
        else:
            path = f"{SECRET_MOUNT_ROOT}/{secret.name}"
            mounts.append({"name": _volume(secret.name), "mount_path": path, "read_only": True})
    for key, value in (("env", env), ("env_from", env_from), ("volume_mounts", mounts)):
        if value:
            container[key] = value
    return container


def _volume(secret: str) -> str:
    return f"secret-{secret}"[:63]


def _pod(spec: RuntimeSpec, pools: Mapping[str, NodePool]) -> dict[str, Any]:
    pod: dict[str, Any] = {}
    pool = pools.get(spec.compute)
    if pool is not None and pool.nodeSelector:
        pod["node_selector"] = dict(pool.nodeSelector)
    if pool is not None and pool.tolerations:
        pod["tolerations"] = [
            {
                ("toleration_seconds" if key == "tolerationSeconds" else key): value
                for key, value in t.model_dump(exclude_none=True).items()
            }
            for t in pool.tolerations
        ]
    volumes = [
        {"name": _volume(s.name), "secret": {"secret_name": s.name}}
        for s in spec.dataosSecrets or []
        if s.consumptionType not in (None, "envVars")
    ]
    if volumes:
        pod["volumes"] = volumes
    return pod


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
            ("container_config", _container(spec)),
            ("pod_spec_config", _pod(spec, pools)),
        ):
            if value:
                config[key] = value
    return config
