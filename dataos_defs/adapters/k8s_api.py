"""The calls the Kubernetes applier makes, each bounded and each refusal explained.

A thin layer over the official client's typed APIs, always with ``_preload_content=False``
(the answers are read as the API's JSON, the form the reference documents) and a
``_request_timeout``. Which typed API and method serve a kind is :data:`KINDS`; the
``resource`` there (``deployments.apps``) is how a 403 names what the ServiceAccount lacks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dataos_defs.adapters.k8s_workload_state import KubernetesError, api_error

TIMEOUT_SECONDS = 5.0
FIELD_MANAGER = "dataos"
APPLY_PATCH = "application/apply-patch+yaml"
LIST_LIMIT = 500


@dataclass(frozen=True)
class Kind:
    api: str
    """The typed API class of ``kubernetes.client``."""
    method: str
    """The suffix of its ``*_namespaced_<method>`` functions."""
    resource: str
    """``<plural>.<group>`` as RBAC names it."""


KINDS = {
    "Deployment": Kind("AppsV1Api", "deployment", "deployments.apps"),
    "Service": Kind("CoreV1Api", "service", "services"),
    "Ingress": Kind("NetworkingV1Api", "ingress", "ingresses.networking.k8s.io"),
    "NetworkPolicy": Kind("NetworkingV1Api", "network_policy", "networkpolicies.networking.k8s.io"),
    "HorizontalPodAutoscaler": Kind(
        "AutoscalingV2Api", "horizontal_pod_autoscaler", "horizontalpodautoscalers.autoscaling"
    ),
}


def api_client() -> Any:
    """The client as Caretaker builds it: in the cluster its ServiceAccount, elsewhere
    ``$KUBECONFIG`` (or ``~/.kube/config``)."""
    from kubernetes.config import ConfigException  # type: ignore[import-untyped]

    from dataos_defs.caretaker.k8s_source import _api_client

    try:
        return _api_client()
    except (ConfigException, OSError) as exc:
        raise KubernetesError(
            f"no Kubernetes configuration ({exc}): DATAOS_RUN_MODE=k8s needs the API server to "
            "run in the cluster (its ServiceAccount) or KUBECONFIG to name a kubeconfig file"
        ) from None


class KubeApi:
    """The applier's requests against one ``ApiClient``."""

    def __init__(self, api: Any, timeout: float = TIMEOUT_SECONDS) -> None:
        self.api = api
        self.timeout = timeout

    def _typed(self, name: str) -> Any:
        from kubernetes import client  # type: ignore[import-untyped]

        return getattr(client, name)(self.api)

    def _call(
        self, verb: str, resource: str, namespace: str, name: str | None, call: Any, **kw: Any
    ) -> Any:
        from kubernetes.client.exceptions import ApiException  # type: ignore[import-untyped]
        from urllib3.exceptions import HTTPError

        timeout = kw.pop("_timeout", self.timeout)
        try:
            return call(_request_timeout=timeout, **kw)
        except ApiException as exc:
            if exc.status == 404 and verb in ("get", "delete") and name is not None:
                return None
            raise KubernetesError(api_error(exc, verb, resource, namespace, name)) from None
        except (HTTPError, OSError) as exc:
            raise KubernetesError(
                f"the Kubernetes API did not answer ({verb} {resource} in {namespace}): {exc}"
            ) from None

    @staticmethod
    def _json(response: Any) -> dict[str, Any]:
        if response is None:
            return {}
        data = json.loads(response.data or b"{}")
        return data if isinstance(data, dict) else {}

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply of ``obj``; the object as the API server now holds it."""
        kind = KINDS[obj["kind"]]
        meta = obj["metadata"]
        patch = getattr(self._typed(kind.api), f"patch_namespaced_{kind.method}")
        response = self._call(
            "patch",
            kind.resource,
            meta["namespace"],
            meta["name"],
            lambda **kw: patch(meta["name"], meta["namespace"], obj, **kw),
            field_manager=FIELD_MANAGER,
            force=True,
            _content_type=APPLY_PATCH,
            _preload_content=False,
        )
        return self._json(response)

    def read(self, kind_name: str, namespace: str, name: str) -> dict[str, Any] | None:
        kind = KINDS[kind_name]
        read = getattr(self._typed(kind.api), f"read_namespaced_{kind.method}")
        response = self._call(
            "get",
            kind.resource,
            namespace,
            name,
            lambda **kw: read(name, namespace, **kw),
            _preload_content=False,
        )
        return None if response is None else self._json(response)

    def list_managed(self, kind_name: str, namespace: str, selector: str) -> list[dict[str, Any]]:
        kind = KINDS[kind_name]
        listed = getattr(self._typed(kind.api), f"list_namespaced_{kind.method}")
        response = self._call(
            "list",
            kind.resource,
            namespace,
            None,
            lambda **kw: listed(namespace, **kw),
            label_selector=selector,
            limit=LIST_LIMIT,
            _preload_content=False,
        )
        return list(self._json(response).get("items") or [])

    def delete(self, kind_name: str, namespace: str, name: str) -> None:
        kind = KINDS[kind_name]
        delete = getattr(self._typed(kind.api), f"delete_namespaced_{kind.method}")
        self._call(
            "delete",
            kind.resource,
            namespace,
            name,
            lambda **kw: delete(name, namespace, **kw),
            propagation_policy="Background",
            _preload_content=False,
        )

    def pods(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        core = self._typed("CoreV1Api")
        response = self._call(
            "list",
            "pods",
            namespace,
            None,
            lambda **kw: core.list_namespaced_pod(namespace, **kw),
            label_selector=selector,
            limit=LIST_LIMIT,
            _preload_content=False,
        )
        return list(self._json(response).get("items") or [])

    def log_tail(self, namespace: str, pod: str, container: str, lines: int | None) -> list[str]:
        core = self._typed("CoreV1Api")
        extra = {} if lines is None else {"tail_lines": lines}
        response = self._call(
            "get",
            "pods/log",
            namespace,
            None,
            lambda **kw: core.read_namespaced_pod_log(pod, namespace, **kw),
            container=container,
            _preload_content=False,
            **extra,
        )
        return bytes(response.data).decode("utf-8", errors="replace").splitlines()

    def log_follow(
        self, namespace: str, pod: str, container: str, idle_seconds: float
    ) -> Iterator[str]:
        """New lines as the pod writes them; ends when the pod stops or stays silent for
        ``idle_seconds`` (the read timeout)."""
        core = self._typed("CoreV1Api")
        response = self._call(
            "get",
            "pods/log",
            namespace,
            None,
            lambda **kw: core.read_namespaced_pod_log(pod, namespace, **kw),
            container=container,
            follow=True,
            tail_lines=0,
            _preload_content=False,
            _timeout=(self.timeout, idle_seconds),
        )
        return _lines(response)

    def close(self) -> None:
        self.api.close()


def _lines(response: Any) -> Iterator[str]:
    from urllib3.exceptions import HTTPError

    pending = b""
    try:
        for chunk in response.stream(4096, decode_content=True):
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                yield line.decode("utf-8", errors="replace")
    except (HTTPError, OSError):
        return
    finally:
        response.release_conn()
    if pending:
        yield pending.decode("utf-8", errors="replace")
