"""Caretaker's Role in the job namespace: valid, bound to the code location, least privilege.

No Kubernetes API server runs here: Caretaker's real Kubernetes source (the official
``kubernetes`` client) talks to the documented-contract stand-in of
``tests/caretaker/test_k8s_source.py`` on 127.0.0.1, which records every request; each
request is then named the way Kubernetes' RBAC authorizes it (a GET of a collection is
``list``, of a named object ``get``) and compared with what the Role grants.
"""

from __future__ import annotations

from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
from sqlalchemy import Engine

from dataos_defs.caretaker import k8s_source
from dataos_defs.caretaker.k8s_source import record_k8s_pods
from dataos_defs.kernel.k8s_objects import LAUNCHER_SERVICE_ACCOUNT
from dataos_defs.kernel.k8s_rbac import (
    CARETAKER_ROLE_NAME,
    CARETAKER_RULES,
    ROLE_NAME,
    caretaker_rbac,
)
from dataos_defs.kernel.model import PLATFORM_NAMESPACE
from tests.caretaker.test_k8s_source import (  # noqa: F401  (fixtures)
    PODS,
    StandIn,
    engine,
    stand_in,
    usage,
)

K8S_VERSIONS = ("1.33.0", kubernetes_validate.latest_version())


def _rbac_request(path: str) -> tuple[str, str]:
    """(verb, resource) of a GET as RBAC names it: ``pods``, ``pods.metrics.k8s.io``."""
    parts = path.strip("/").split("/")
    group = "" if parts[0] == "api" else parts[1]
    at = parts.index("namespaces")
    plural, name = parts[at + 2], parts[at + 3] if len(parts) > at + 3 else None
    return ("list" if name is None else "get"), (f"{plural}.{group}" if group else plural)


def _granted(rules: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {
        (verb, f"{resource}.{group}" if group else resource)
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_the_objects_pass_strict_validation() -> None:
    for obj in caretaker_rbac():
        for version in K8S_VERSIONS:
            kubernetes_validate.validate(obj, version, strict=True)


def test_the_role_grants_exactly_what_the_kubernetes_source_calls(
    stand_in: StandIn,  # noqa: F811  (the fixture imported above)
    engine: Engine,  # noqa: F811
) -> None:
    stand_in.pods = PODS
    stand_in.metrics = [usage("dagster-step-ingest", "500m", "64Mi")]
    assert record_k8s_pods(engine, pytest.fail) > 0
    used = {_rbac_request(path) for path, _ in stand_in.requests}
    role = caretaker_rbac()[0]
    assert used == _granted(role["rules"]) == {("list", "pods"), ("list", "pods.metrics.k8s.io")}


def test_it_binds_the_code_locations_account_in_the_job_namespace_only() -> None:
    role, binding = caretaker_rbac()
    assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == PLATFORM_NAMESPACE
    assert k8s_source.DEFAULT_NAMESPACE == PLATFORM_NAMESPACE
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": CARETAKER_ROLE_NAME,
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": LAUNCHER_SERVICE_ACCOUNT, "namespace": "dataos"}
    ]
    assert CARETAKER_ROLE_NAME != ROLE_NAME
    assert {o["kind"] for o in caretaker_rbac()} == {"Role", "RoleBinding"}  # no ClusterRole


def test_nothing_beyond_listing_pods_and_their_metrics() -> None:
    granted = _granted(CARETAKER_RULES)
    for forbidden in ("get", "watch", "create", "patch", "update", "delete", "deletecollection"):
        assert not any(verb == forbidden for verb, _ in granted)
    assert {resource for _, resource in granted} == {"pods", "pods.metrics.k8s.io"}
