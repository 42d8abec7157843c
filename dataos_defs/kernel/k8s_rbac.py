"""What the DataOS API server may do in a workspace namespace: a Role and its RoleBinding.

The API server's ServiceAccount (``dataos-api`` in ``dataos``) applies the objects of the
workspace's Services and Workers (:mod:`dataos_defs.kernel.k8s_workloads`) with server-side
apply, deletes those no longer wanted, reads their pods, logs and PodMetrics (``get runtime``,
``log``, Caretaker) — and nothing else: no Secrets (pods reference them by name; the kubelet
reads them), no ConfigMaps, no other namespace, no ``update`` or ``deletecollection``
(server-side apply is ``patch``; the applier deletes objects one by one, by name), no
``pods/exec`` or ``pods/portforward``. ``create`` stays because a server-side apply of an
object that does not exist yet is authorized as ``create``.

Caretaker's sensor runs in the Dagster code location, as the ServiceAccount of the Dagster
release (``dagster``, :data:`CODE_LOCATION_SERVICE_ACCOUNT`), and reads the platform's pods of
the job namespace and their PodMetrics (:mod:`dataos_defs.caretaker.k8s_source`): the Role
``dataos-caretaker`` (:func:`caretaker_rbac`) grants exactly that — ``list`` on pods and on
``pods.metrics.k8s.io`` in that one namespace — and nothing else (no ``get``, ``watch``,
logs or Secrets; the chart's own Role for the run launcher grants no ``metrics.k8s.io``).
"""

from __future__ import annotations

from typing import Any

from dataos_defs.kernel.k8s_network import API_NAME, PART_OF
from dataos_defs.kernel.model import PLATFORM_NAMESPACE, WORKSPACE_LABEL

ROLE_NAME = f"{API_NAME}-workloads"
APPLY_VERBS = ["get", "list", "watch", "create", "patch", "delete"]
READ_VERBS = ["get", "list", "watch"]
WORKLOAD_RULES: list[dict[str, Any]] = [
    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": APPLY_VERBS},
    {"apiGroups": [""], "resources": ["services"], "verbs": APPLY_VERBS},
    {
        "apiGroups": ["networking.k8s.io"],
        "resources": ["ingresses", "networkpolicies"],
        "verbs": APPLY_VERBS,
    },
    {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": APPLY_VERBS},
    {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": READ_VERBS},
    {"apiGroups": ["metrics.k8s.io"], "resources": ["pods"], "verbs": ["get", "list"]},
]
"""Also the table :class:`dataos_defs.adapters.k8s_workloads.KubernetesWorkloads` names the
missing permission from when the API server answers 403."""


def workspace_rbac(namespace: str, workspace: str) -> list[dict[str, Any]]:
    """The Role of the API server in ``namespace`` and the RoleBinding granting it."""
    metadata = {
        "name": ROLE_NAME,
        "namespace": namespace,
        "labels": {**PART_OF, WORKSPACE_LABEL: workspace},
    }
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": dict(metadata),
        "rules": [dict(rule, verbs=list(rule["verbs"])) for rule in WORKLOAD_RULES],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": dict(metadata),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": ROLE_NAME},
        "subjects": [{"kind": "ServiceAccount", "name": API_NAME, "namespace": PLATFORM_NAMESPACE}],
    }
    return [role, binding]


CARETAKER_ROLE_NAME = "dataos-caretaker"
CODE_LOCATION_SERVICE_ACCOUNT = "dagster"
"""The Dagster release's ServiceAccount (``serviceAccount.name`` of
``deploy/dagster/values.yaml``; the kernel's ``LAUNCHER_SERVICE_ACCOUNT``): its pods, the code
location's included, run as it."""
CARETAKER_RULES: list[dict[str, Any]] = [
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
    {"apiGroups": ["metrics.k8s.io"], "resources": ["pods"], "verbs": ["list"]},
]
"""What Caretaker's Kubernetes source calls: one paged pod listing by label selector and one
PodMetrics listing, per tick, in the job namespace."""


def caretaker_rbac(namespace: str = PLATFORM_NAMESPACE) -> list[dict[str, Any]]:
    """The Role of Caretaker's sensor in the job ``namespace`` and the RoleBinding granting
    it to the code location's ServiceAccount."""
    metadata = {"name": CARETAKER_ROLE_NAME, "namespace": namespace, "labels": dict(PART_OF)}
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": dict(metadata),
        "rules": [dict(rule, verbs=list(rule["verbs"])) for rule in CARETAKER_RULES],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": dict(metadata),
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": CARETAKER_ROLE_NAME,
        },
        "subjects": [
            {
                "kind": "ServiceAccount",
                "name": CODE_LOCATION_SERVICE_ACCOUNT,
                "namespace": PLATFORM_NAMESPACE,
            }
        ],
    }
    return [role, binding]
