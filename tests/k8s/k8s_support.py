"""Shared parts of the Kubernetes golden tests: a stand-in API server, inputs, goldens.

No Kubernetes API server can run here, so the real dagster-k8s code talks to a stand-in on
127.0.0.1 that implements the one documented call it makes to start work: ``POST
/apis/batch/v1/namespaces/{namespace}/jobs`` with a ``batch/v1`` Job, answered ``201
Created`` with the Job (Kubernetes API reference, "Create Job"). The real ``kubernetes``
client serializes the Job, so what the stand-in records is the exact wire form a cluster
would receive; that is what is validated with ``kubernetes-validate --strict`` and, made
deterministic, compared with ``golden/*.yaml`` (``UPDATE_GOLDEN=1`` rewrites them).

Imported as ``from k8s_support import ...`` (pytest puts this folder on ``sys.path``).
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import kubernetes_validate  # type: ignore[import-untyped]
import yaml
from dagster._core.code_pointer import ModuleCodePointer
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster._core.remote_origin import (
    GrpcServerCodeLocationOrigin,
    RemoteJobOrigin,
    RemoteRepositoryOrigin,
)

from dataos_defs.compile import CompileInput, compile_definitions
from dataos_defs.manifest.loader import load_documents
from dataos_defs.manifest.sensitive import is_sensitive_key
from dataos_defs.manifest.validate import parse_documents

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
RESOURCES = ROOT / "resources"
FIXTURES = HERE / "fixtures"
GOLDEN = HERE / "golden"
DEPLOY = ROOT / "deploy" / "dagster"

LOCATION = "dataos"
"""Code location name: ``workspace.yaml`` and the Helm user deployment agree on it."""

K8S_VERSIONS = ("1.33.0", kubernetes_validate.latest_version())
"""A release clusters run today, and the newest the installed schemas know."""

_JOBS_PATH = re.compile(r"^/apis/batch/v1/namespaces/([a-z0-9-]+)/jobs$")


@dataclass
class ApiStandIn:
    """Records every Job created through it; any other request is answered 404 and noted."""

    created: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    url: str = ""

    def take(self) -> list[tuple[str, dict[str, Any]]]:
        taken, self.created = self.created, []
        return taken


def serve_stand_in() -> Iterator[ApiStandIn]:
    """Start the stand-in on a free port; stop it when the generator is closed."""
    stand_in = ApiStandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            match = _JOBS_PATH.match(self.path.split("?")[0])
            if match is None:
                self._answer(404, {"kind": "Status", "code": 404})
                stand_in.unexpected.append(f"POST {self.path}")
                return
            job = json.loads(body)
            stand_in.created.append((match.group(1), job))
            self._answer(201, job)

        def do_GET(self) -> None:
            stand_in.unexpected.append(f"GET {self.path}")
            self._answer(404, {"kind": "Status", "code": 404})

        def _answer(self, status: int, payload: Mapping[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()


def write_kubeconfig(path: Path, server: str) -> Path:
    """A kubeconfig naming only the stand-in (no credentials: the stand-in asks for none)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "stand-in", "cluster": {"server": server}}],
        "users": [{"name": "tests", "user": {}}],
        "contexts": [{"name": "stand-in", "context": {"cluster": "stand-in", "user": "tests"}}],
        "current-context": "stand-in",
    }
    path.write_text(yaml.safe_dump(config))
    return path


def compile_inputs() -> list[CompileInput]:
    """The example data product plus the node pool and the sized workflow of ``fixtures/``."""
    parsed = parse_documents(load_documents([RESOURCES, FIXTURES]))
    return [CompileInput(p.model, p.workspace(None), "shop-team") for p in parsed]


def compiled_defs() -> dg.Definitions:
    """Executors are never called: nothing runs, runs are only launched."""
    return compile_definitions(compile_inputs(), {})


def workflow_jobs(defs: dg.Definitions) -> list[dg.JobDefinition]:
    repo = defs.get_repository_def()
    return sorted(
        (job for job in repo.get_all_jobs() if not job.name.startswith("__")),
        key=lambda job: job.name,
    )


def secret_values() -> list[str]:
    """Values of the example's instance-secrets under secret keys (their local defaults)."""
    values = []
    for document in yaml.safe_load_all((RESOURCES / "secrets.yaml").read_text()):
        for key, raw in document["instance-secret"]["data"].items():
            if is_sensitive_key(key):
                default = re.fullmatch(r"\$\{\w+:-(.+)\}", str(raw))
                values.append(default.group(1) if default else str(raw))
    assert values, "the example declares no secret value to look for"
    return values


def deploy_instance() -> dict[str, Any]:
    text = (DEPLOY / "dagster.yaml").read_text()
    instance: dict[str, Any] = yaml.safe_load(text)
    return instance


def helm_values() -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load((DEPLOY / "values.yaml").read_text())
    return values


def code_image() -> str:
    """The image of the user code deployment, as the chart passes it to the code server."""
    deployment = helm_values()["dagster-user-deployments"]["deployments"][0]
    return f"{deployment['image']['repository']}:{deployment['image']['tag']}"


def origins(job_name: str) -> tuple[JobPythonOrigin, RemoteJobOrigin]:
    """What a run launched from the Helm user deployment carries: its image and location."""
    code = JobPythonOrigin(
        job_name,
        RepositoryPythonOrigin(
            executable_path="/usr/local/bin/python",
            code_pointer=ModuleCodePointer("dataos_defs.location.definitions", "defs", "/app"),
            container_image=code_image(),
        ),
    )
    remote = RemoteJobOrigin(
        RemoteRepositoryOrigin(
            GrpcServerCodeLocationOrigin(host=LOCATION, port=3030, location_name=LOCATION),
            "__repository__",
        ),
        job_name,
    )
    return code, remote


def deployed_run(instance: dg.DagsterInstance, job: dg.JobDefinition) -> dg.DagsterRun:
    """A run of ``job`` as the Helm user deployment creates it (its origins and tags)."""
    code, remote = origins(job.name)
    return instance.create_run_for_job(
        job, tags=job.tags, job_code_origin=code, remote_job_origin=remote
    )


def validate_strict(job: Mapping[str, Any]) -> list[str]:
    """``kubernetes-validate --strict`` against every version of :data:`K8S_VERSIONS`."""
    return [
        kubernetes_validate.validate(dict(job), version, strict=True) for version in K8S_VERSIONS
    ]


_DAGSTER_VERSION = re.compile(r"^\d+\.\d+\.\d+\S*$")


def sanitize(job: Any, run_id: str) -> Any:
    """The Job with run ids, name hashes and the Dagster version replaced by placeholders."""
    if isinstance(job, dict):
        out = {}
        for key, value in job.items():
            if key == "app.kubernetes.io/version" and _DAGSTER_VERSION.match(str(value)):
                out[key] = "<dagster-version>"
            else:
                out[key] = sanitize(value, run_id)
        return out
    if isinstance(job, list):
        return [sanitize(item, run_id) for item in job]
    if isinstance(job, str):
        text = job.replace(run_id, "<run-id>")
        return re.sub(r"dagster-step-[0-9a-f]{32}", "dagster-step-<hash>", text)
    return job


def check_golden(name: str, job: Mapping[str, Any]) -> None:
    """Compare with ``golden/<name>.yaml``, or write it when ``UPDATE_GOLDEN=1``."""
    path = GOLDEN / f"{name}.yaml"
    text = yaml.safe_dump(dict(job), sort_keys=True, width=100)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert path.exists(), f"{path.name} is missing; UPDATE_GOLDEN=1 writes it"
    assert path.read_text() == text, f"{path.name} differs; UPDATE_GOLDEN=1 rewrites it"


def container(job: Mapping[str, Any]) -> dict[str, Any]:
    containers = job["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    first: dict[str, Any] = containers[0]
    return first


def env_sources(job: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``(env by name, names of Secrets loaded whole)``; a ConfigMap source fails the test."""
    main = container(job)
    env = {item["name"]: item for item in main.get("env", [])}
    secrets = []
    for source in main.get("envFrom", []):
        assert set(source) == {"secretRef"}, source
        secrets.append(source["secretRef"]["name"])
    return env, secrets
