"""A small Python client of the DataOS API, used by ``dataos-ctl``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx

from dataos_defs.heimdall.contexts import active_credentials_path
from dataos_defs.heimdall.credentials import (
    API_KEY_ENV,
    API_URL_ENV,
    Credentials,
    CredentialsError,
    read_credentials,
)

DEFAULT_API_URL = "http://127.0.0.1:7400"
CONNECT_TIMEOUT_S = 60.0

__all__ = [
    "ApiFailure",
    "ApiUnavailable",
    "CredentialsError",
    "DataosClient",
    "api_url",
    "configured_api_key",
]


class ApiUnavailable(Exception):
    """The server could not be reached at all."""


class ApiFailure(Exception):
    """The server answered with an error body."""

    def __init__(self, status: int, error: dict[str, Any]) -> None:
        self.status = status
        self.error = error
        super().__init__(error.get("message", f"HTTP {status}"))

    @property
    def issues(self) -> list[dict[str, Any]]:
        return list(self.error.get("issues") or [])


def _saved() -> Credentials | None:
    """The credentials of the context in use (``local``: ``$DATAOS_HOME/credentials``)."""
    return read_credentials(active_credentials_path())


def api_url() -> str:
    """``DATAOS_API_URL``, else the URL in the credentials file, else the local default."""
    url = os.environ.get(API_URL_ENV)
    if not url:
        saved = _saved()
        url = (saved.api_url if saved else None) or DEFAULT_API_URL
    return url.rstrip("/")


def configured_api_key() -> str | None:
    """``DATAOS_API_KEY``, else the key in the credentials file (``None`` if neither)."""
    key = os.environ.get(API_KEY_ENV)
    if key:
        return key
    saved = _saved()
    return saved.api_key if saved else None


def _error_of(response: httpx.Response) -> dict[str, Any]:
    """The ``error`` object of an answer, or one made from its text."""
    try:
        body = response.json()
    except ValueError:
        return {"code": "bad_response", "message": response.text[:200]}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {"message": str(body)}


def _present(**params: Any) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


def _answer_within(seconds: float | None) -> httpx.Timeout:
    """Connect as usual, but wait ``seconds`` (``None``: as long as it takes) for the answer."""
    return httpx.Timeout(CONNECT_TIMEOUT_S, read=seconds)


class DataosClient:
    """Talks to ``base_url`` with ``api_key``; both default to the environment, then to the
    credentials file under ``DATAOS_HOME`` (which raises :class:`CredentialsError` when
    others can read it)."""

    def __init__(
        self, base_url: str | None = None, timeout: float = 60.0, *, api_key: str | None = None
    ) -> None:
        self.base_url = (base_url or api_url()).rstrip("/")
        headers = {"User-Agent": "dataos-ctl"}
        key = api_key or configured_api_key()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, headers=headers)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DataosClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call any route (``path`` from the API's root); the answer's JSON, or
        :class:`ApiFailure` / :class:`ApiUnavailable` as for every other method."""
        return self._call(method, path, **kwargs)

    def workload_runtime(self, kind: str, name: str, workspace: str | None) -> dict[str, Any]:
        """A Service's or Worker's replicas, as ``get runtime`` shows them."""
        params = {"workspace": workspace} if workspace else {}
        body: dict[str, Any] = self._call(
            "GET", f"/poros/api/v1/runtime/{kind}/{name}", params=params
        )
        return body

    def workload_logs(
        self, kind: str, name: str, workspace: str | None, node: str | None, lines: int
    ) -> dict[str, Any]:
        """The last ``lines`` (-1: all kept) of one replica's output (``node``: the first)."""
        params = _present(workspace=workspace, node=node, lines=lines)
        body: dict[str, Any] = self._call("GET", f"/poros/api/v1/logs/{kind}/{name}", params=params)
        return body

    def follow_workload_logs(
        self, kind: str, name: str, workspace: str | None, node: str | None
    ) -> Iterator[str]:
        """New lines of a replica's output as they come, until it stops; a refusal raises
        :class:`ApiFailure` before the first line."""
        params = _present(workspace=workspace, node=node, follow="true")
        path = f"/poros/api/v1/logs/{kind}/{name}"
        with self._http.stream("GET", path, params=params, timeout=None) as answer:
            if answer.is_error:
                answer.read()
                raise ApiFailure(answer.status_code, _error_of(answer))
            yield from answer.iter_lines()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise ApiUnavailable(
                f"the DataOS API at {self.base_url} did not answer {method} {path} in time "
                f"({exc.__class__.__name__}); the server may still complete the request: "
                "check with 'dataos-ctl get' before retrying"
            ) from exc
        except httpx.TransportError as exc:
            raise ApiUnavailable(
                f"cannot reach the DataOS API at {self.base_url} ({exc.__class__.__name__}); "
                "start it with 'dataos-ctl serve' or 'make up', or set DATAOS_API_URL"
            ) from exc
        if response.status_code == 204:
            return None
        if response.is_error:
            raise ApiFailure(response.status_code, _error_of(response))
        try:
            return response.json()
        except ValueError:
            raise ApiFailure(response.status_code, _error_of(response)) from None

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/health")
        return result

    def health_components(self) -> dict[str, Any]:
        """The store, Heimdall's engine and Dagster as the server sees them (needs a key)."""
        result: dict[str, Any] = self._call("GET", "/health/components")
        return result

    def apply(
        self,
        documents: list[dict[str, Any]],
        workspace: str | None,
        dry_run: bool = False,
        *,
        timeout: float | None = None,
        force: bool = False,
    ) -> dict[str, Any]:
        """Answered once the set is committed (``reconciling`` and ``pending`` say what Dagster
        has still to deploy); ``timeout`` bounds the wait for the answer, none by default:
        a large set takes a while to validate and commit."""
        payload = {
            "documents": documents,
            "workspace": workspace,
            "dry_run": dry_run,
            "force": force,
        }
        result: dict[str, Any] = self._call(
            "POST", "/poros/api/v1/apply", json=payload, timeout=_answer_within(timeout)
        )
        return result

    def list_resources(
        self, kind: str | None, workspace: str | None, name: str | None
    ) -> list[dict[str, Any]]:
        params = {
            k: v for k, v in {"type": kind, "workspace": workspace, "name": name}.items() if v
        }
        return list(self._call("GET", "/poros/api/v1/resources", params=params)["items"])

    def get_resource(
        self, kind: str, name: str, workspace: str | None, unsanitize: bool = False
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"unsanitize": unsanitize}
        if workspace:
            params["workspace"] = workspace
        result: dict[str, Any] = self._call(
            "GET", f"/poros/api/v1/resources/{kind}/{name}", params=params
        )
        return result

    def history(self, kind: str, name: str, workspace: str | None) -> dict[str, Any]:
        params = {"workspace": workspace} if workspace else {}
        result: dict[str, Any] = self._call(
            "GET", f"/poros/api/v1/resources/{kind}/{name}/history", params=params
        )
        return result

    def delete_resource(
        self, kind: str, name: str, workspace: str | None, force: bool = False
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"force": force}
        if workspace:
            params["workspace"] = workspace
        result: dict[str, Any] = self._call(
            "DELETE",
            f"/poros/api/v1/resources/{kind}/{name}",
            params=params,
            timeout=_answer_within(None),
        )
        return result

    def delete_resources(
        self, keys: list[dict[str, str | None]], force: bool = False
    ) -> list[dict[str, Any]]:
        """Delete ``keys`` (type, name, workspace) in one transaction; the deleted, in order."""
        payload = {"resources": keys, "force": force}
        answer = self._call(
            "POST", "/poros/api/v1/delete", json=payload, timeout=_answer_within(None)
        )
        return list(answer["deleted"])

    def compact_history(self, deleted_before: str, dry_run: bool) -> dict[str, Any]:
        payload = {"deleted_before": deleted_before, "dry_run": dry_run}
        result: dict[str, Any] = self._call("POST", "/poros/api/v1/history/compact", json=payload)
        return result

    def list_workspaces(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/poros/api/v1/workspaces")["items"])

    def get_workspace(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/poros/api/v1/workspaces/{name}")
        return result

    def create_workspace(
        self, name: str, description: str | None, tags: list[str]
    ) -> dict[str, Any]:
        body = {"name": name, "description": description, "tags": tags}
        result: dict[str, Any] = self._call("POST", "/poros/api/v1/workspaces", json=body)
        return result

    def delete_workspace(self, name: str, force: bool = False) -> None:
        self._call("DELETE", f"/poros/api/v1/workspaces/{name}", params={"force": force})

    # -- Heimdall: users, tags, API keys ----------------------------------------------------

    def whoami(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/heimdall/api/v1/whoami")
        return result

    def list_users(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/heimdall/api/v1/users")["items"])

    def get_user(self, user_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/heimdall/api/v1/users/{user_id}")
        return result

    def create_user(
        self,
        user_id: str,
        type: str = "person",
        name: str | None = None,
        email: str | None = None,
        tags: list[str] | None = None,
    ) -> dict[str, Any]:
        body = {"id": user_id, "type": type, "name": name, "email": email, "tags": tags or []}
        result: dict[str, Any] = self._call("POST", "/heimdall/api/v1/users", json=body)
        return result

    def delete_user(self, user_id: str) -> None:
        self._call("DELETE", f"/heimdall/api/v1/users/{user_id}")

    def add_user_tags(self, user_id: str, tags: list[str]) -> dict[str, Any]:
        path = f"/heimdall/api/v1/users/{user_id}/tags"
        result: dict[str, Any] = self._call("POST", path, json={"tags": tags})
        return result

    def remove_user_tags(self, user_id: str, tags: list[str]) -> dict[str, Any]:
        path = f"/heimdall/api/v1/users/{user_id}/tags"
        result: dict[str, Any] = self._call("DELETE", path, params={"tag": tags})
        return result

    def create_api_key(
        self, user_id: str, name: str | None = None, expires_in_seconds: int | None = None
    ) -> dict[str, Any]:
        """The new key is in ``result["key"]``; the server never shows it again."""
        body = {"name": name, "expires_in_seconds": expires_in_seconds}
        path = f"/heimdall/api/v1/users/{user_id}/apikeys"
        result: dict[str, Any] = self._call("POST", path, json=body)
        return result

    def list_api_keys(self, user_id: str) -> list[dict[str, Any]]:
        return list(self._call("GET", f"/heimdall/api/v1/users/{user_id}/apikeys")["items"])

    def revoke_api_key(self, user_id: str, key_id: str) -> dict[str, Any]:
        path = f"/heimdall/api/v1/users/{user_id}/apikeys/{key_id}"
        result: dict[str, Any] = self._call("DELETE", path)
        return result

    def authorize(
        self,
        predicate: str,
        path: str | None,
        object_tags: list[str] | None = None,
        subject: dict[str, Any] | None = None,
        explain: bool = False,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "predicate": predicate,
            "object": {"path": path, "tags": object_tags or []},
            "explain": explain,
        }
        if subject is not None:
            body["subject"] = subject
        result: dict[str, Any] = self._call("POST", "/heimdall/api/v1/authorize", json=body)
        return result

    def decisions(
        self, since: str | None = None, subject: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": limit}
        if since:
            params["since"] = since
        if subject:
            params["subject"] = subject
        return list(self._call("GET", "/heimdall/api/v1/decisions", params=params)["items"])

    def runtime(self, name: str, workspace: str | None) -> dict[str, Any]:
        params = {"workspace": workspace} if workspace else {}
        result: dict[str, Any] = self._call(
            "GET", f"/poros/api/v1/runtime/workflow/{name}", params=params
        )
        return result

    def runtime_action(self, name: str, action: str, workspace: str | None) -> dict[str, Any]:
        params = {"workspace": workspace} if workspace else {}
        result: dict[str, Any] = self._call(
            "POST", f"/poros/api/v1/runtime/workflow/{name}/{action}", params=params
        )
        return result

    def caretaker(self, route: str, **params: Any) -> dict[str, Any]:
        """A Caretaker read (``runs``, ``steps``, ``nodes``, ``failures``, ``aggregates``)."""
        given = {k: v for k, v in params.items() if v is not None}
        result: dict[str, Any] = self._call("GET", f"/caretaker/api/v1/{route}", params=given)
        return result

    def incidents(self, **params: Any) -> list[dict[str, Any]]:
        """Incidents of the monitors the caller may read (``state``, ``workspace``, ``monitor``)."""
        given = {k: v for k, v in params.items() if v is not None}
        return list(self._call("GET", "/monitor/api/v1/incidents", params=given))

    def logs(
        self, name: str, workspace: str | None, node: str | None, lines: int
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"lines": lines}
        if workspace:
            params["workspace"] = workspace
        if node:
            params["node"] = node
        result: dict[str, Any] = self._call(
            "GET", f"/poros/api/v1/logs/workflow/{name}", params=params
        )
        return result

    def query(
        self,
        sql: str,
        cluster: str | None = None,
        catalog: str | None = None,
        schema: str | None = None,
        page_size: int = 1000,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"sql": sql, "pageSize": page_size}
        for key, value in (("cluster", cluster), ("catalog", catalog), ("schema", schema)):
            if value:
                body[key] = value
        result: dict[str, Any] = self._call("POST", "/gateway/api/v1/query", json=body)
        return result

    def query_page(self, query_id: str, page: int) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            "GET", f"/gateway/api/v1/query/{query_id}", params={"page": page}
        )
        return result

    def explain(
        self,
        sql: str,
        cluster: str | None = None,
        catalog: str | None = None,
        schema: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"sql": sql}
        for key, value in (("cluster", cluster), ("catalog", catalog), ("schema", schema)):
            if value:
                body[key] = value
        result: dict[str, Any] = self._call("POST", "/gateway/api/v1/explain", json=body)
        return result

    def clusters(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/gateway/api/v1/clusters"))

    def cluster_catalogs(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/gateway/api/v1/clusters/{name}/catalogs")
        return result
