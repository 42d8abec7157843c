"""A small Python client of the DataOS API, used by ``dataos-ctl``."""

from __future__ import annotations

import os
from typing import Any

import httpx

DEFAULT_API_URL = "http://127.0.0.1:7400"


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


def api_url() -> str:
    return os.environ.get("DATAOS_API_URL", DEFAULT_API_URL).rstrip("/")


class DataosClient:
    def __init__(self, base_url: str | None = None, timeout: float = 60.0) -> None:
        self.base_url = base_url or api_url()
        headers = {"User-Agent": "dataos-ctl"}
        api_key = os.environ.get("DATAOS_API_KEY")
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, headers=headers)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> DataosClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ApiUnavailable(
                f"cannot reach the DataOS API at {self.base_url} ({exc.__class__.__name__}); "
                "start it with 'dataos-ctl serve' or 'make up', or set DATAOS_API_URL"
            ) from exc
        if response.status_code == 204:
            return None
        try:
            body = response.json()
        except ValueError:
            body = {"error": {"code": "bad_response", "message": response.text[:200]}}
        if response.is_error:
            error = body.get("error") if isinstance(body, dict) else None
            raise ApiFailure(response.status_code, error or {"message": str(body)})
        return body

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/health")
        return result

    def apply(
        self, documents: list[dict[str, Any]], workspace: str | None, dry_run: bool = False
    ) -> dict[str, Any]:
        payload = {"documents": documents, "workspace": workspace, "dry_run": dry_run}
        result: dict[str, Any] = self._call("POST", "/poros/api/v1/apply", json=payload)
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
            "DELETE", f"/poros/api/v1/resources/{kind}/{name}", params=params
        )
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
