"""The core kernel: a runtime ``spec``'s pod parts — resources, env, secret references, node pool.

Shared by workflow jobs (``dataos_defs.compile.k8s``, the ``dagster-k8s/config`` op tag) and
Services/Workers (:mod:`dataos_defs.kernel.k8s_workloads`, Deployments). It lives in the kernel,
not in ``dataos_defs.compile``, because the API server renders Deployments and may not import
the compile package (that loads Dagster).

The parts use the attribute names of the ``kubernetes`` Python client (``env_from``,
``secret_key_ref``), the form dagster-k8s takes; :func:`api_form` turns them into the API's
JSON names (``envFrom``, ``secretKeyRef``) for plain manifests.

Secrets are references only. ``dataosSecrets`` and ``secrets`` become ``env_from`` secret
refs, ``value_from.secret_key_ref`` entries or secret volumes by *name*; a plain ``envs``
entry whose name says it holds a secret (``DB_PASSWORD``, ``API_TOKEN``) is left out rather
than copied, since what is compiled is shown in UIs and stored.

Secret volumes (``consumptionType: file|propfile``) are mounted at
``/etc/dataos/secrets/<name>``. A Kubernetes secret ref cannot cross namespaces, so a secret of
another workspace is referenced by name in the pod's own namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dataos_defs.manifest.common import DataosSecret, ResourceAmounts, RuntimeSpec, env_text
from dataos_defs.manifest.compute import NodePool
from dataos_defs.manifest.sensitive import is_sensitive_key

SECRET_MOUNT_ROOT = "/etc/dataos/secrets"

_API_NAMES = {
    "env_from": "envFrom",
    "mount_path": "mountPath",
    "node_selector": "nodeSelector",
    "read_only": "readOnly",
    "secret_key_ref": "secretKeyRef",
    "secret_name": "secretName",
    "secret_ref": "secretRef",
    "toleration_seconds": "tolerationSeconds",
    "value_from": "valueFrom",
    "volume_mounts": "volumeMounts",
}
_USER_KEYED = frozenset({"node_selector", "requests", "limits"})
"""Fields whose keys are the user's (labels, resource names): never renamed."""


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


def container_parts(spec: RuntimeSpec) -> dict[str, Any]:
    """The container's resources, env (secret-named ``envs`` left out), env sources and
    secret mounts."""
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
            mounts.append({"name": volume_name(secret.name), "mount_path": path, "read_only": True})
    for key, value in (("env", env), ("env_from", env_from), ("volume_mounts", mounts)):
        if value:
            container[key] = value
    return container


def volume_name(secret: str) -> str:
    return f"secret-{secret}"[:63]


def pod_parts(spec: RuntimeSpec, pools: Mapping[str, NodePool]) -> dict[str, Any]:
    """The pod's node selector and tolerations (the Compute's node pool) and secret volumes."""
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
        {"name": volume_name(s.name), "secret": {"secret_name": s.name}}
        for s in spec.dataosSecrets or []
        if s.consumptionType not in (None, "envVars")
    ]
    if volumes:
        pod["volumes"] = volumes
    return pod


def api_form(value: Any) -> Any:
    """Parts of :func:`container_parts`/:func:`pod_parts` with the API's JSON field names."""
    if isinstance(value, list):
        return [api_form(item) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        _API_NAMES.get(key, key): dict(item) if key in _USER_KEYED else api_form(item)
        for key, item in value.items()
    }
