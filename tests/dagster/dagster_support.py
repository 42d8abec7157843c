"""Helpers of the Dagster tests: a store holding ``resources/``, a real ``dagster dev``.

Imported as ``from dagster_support import ...`` (pytest puts this folder on ``sys.path``).
The API server helpers are those of the interface tests, loaded from their file.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from dataos_defs.adapters.dagster_graphql import DagsterGraphQL, DagsterGraphQLError
from dataos_defs.manifest.loader import load_documents
from dataos_defs.manifest.validate import ParsedResource, parse_documents
from dataos_defs.manifest.workflow import Workflow
from dataos_defs.poros.apply import apply_resources
from dataos_defs.poros.identities import Identities
from dataos_defs.poros.records import ResourceKey
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DAGSTER = Path(sys.executable).parent / "dagster"
INSTANCE_YAML = """\
storage:
  sqlite:
    base_dir: {home}/storage
run_launcher:
  module: dagster._core.launcher
  class: DefaultRunLauncher
telemetry:
  enabled: false
"""
SCHEDULE_STATE = """
query State($selector: InstigationSelector!, $id: String) {
  instigationStateOrError(instigationSelector: $selector, id: $id) {
    __typename
    ... on InstigationState { status }
    ... on Error { message }
  }
}"""
DROPS_AND_LAKE = """\
name: drops
version: v2alpha
type: depot
depot:
  type: FILE
  external: true
  file:
    path: data/drops
    format: csv
---
name: lake
version: v2alpha
type: depot
depot:
  type: LAKEHOUSE
  external: false
  lakehouse:
    warehouse: warehouse
    format: iceberg
"""
"""Two depots the Dagster worlds share: a FILE depot of CSV drops and an Iceberg lakehouse."""

T = TypeVar("T")


def interfaces() -> ModuleType:
    """``tests/interfaces/conftest.py`` (``start_server``, ``run_cli``...) as a module."""
    name = "interfaces_conftest"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tests/interfaces/conftest.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def apply_example(home: Path) -> list[str]:
    """Apply ``resources/`` to the store of ``home`` through the apply service, as
    ``shop-team``; each workflow runs as its jobs' ``runAsUser`` (as admission records it),
    an application user created here as ``make up`` creates it."""
    parsed = parse_documents(load_documents([ROOT / "resources"]))
    settings = Settings.from_env({"DATAOS_HOME": str(home)})
    run_as = _run_as(parsed)
    with Store.open(settings=settings) as store:
        results = apply_resources(store, parsed, None, "shop-team", run_as=run_as)
        people = Identities(store)
        for user in sorted(set(run_as.values())):
            if people.get_user(user) is None:
                people.create_user(user, "application")
    return [f"{r.kind}/{r.name}" for r in results]


def _run_as(parsed: list[ParsedResource]) -> dict[ResourceKey, str]:
    """Workflow -> the ``runAsUser`` its jobs name (admission requires them to agree)."""
    found = {}
    for resource in parsed:
        if isinstance(resource.model, Workflow):
            named = [j.spec.runAsUser for j in resource.model.workflow.dag if j.spec]
            users = [user for user in named if user]
            if users:
                key = ResourceKey(resource.kind, resource.name, resource.workspace(None))
                found[key] = users[0]
    return found


def dagster_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a Dagster process on ``home``, with an instance under it."""
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text(INSTANCE_YAML.format(home=dagster_home))
    env = {**os.environ, "DATAOS_HOME": str(home), "DAGSTER_HOME": str(dagster_home)}
    for name in ("DATAOS_DATABASE_URL", "DATAOS_EXECUTORS", "DAGSTER_WEBSERVER_URL"):
        env.pop(name, None)
    env.update(extra)
    return env


@dataclass
class Dagster:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def client(self) -> DagsterGraphQL:
        return DagsterGraphQL(self.url, timeout=30)


def start_dagster(home: Path, port: int, env: dict[str, str], timeout: float = 60) -> Dagster:
    """``dagster dev`` in its own process group, once its code location has loaded."""
    log = home / "dagster.log"
    process = subprocess.Popen(
        [str(DAGSTER), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    running = Dagster(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + timeout
    with running.client() as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(log.read_text())
            try:
                if client.location_state().load_status == "LOADED":
                    return running
            except DagsterGraphQLError:
                pass
            time.sleep(0.5)
    stop_dagster(running)
    raise RuntimeError(f"dagster dev did not load its code location in {timeout} s")


def stop_dagster(dagster: Dagster, timeout: float = 15) -> None:
    """SIGINT to the group (``dagster dev`` shuts down cleanly on it), then SIGKILL."""
    try:
        os.killpg(dagster.process.pid, signal.SIGINT)
        dagster.process.wait(timeout=timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(dagster.process.pid, signal.SIGKILL)
    dagster.process.wait(timeout=5)


@contextlib.contextmanager
def running_platform(
    home: Path,
    prepare: Callable[[dict[str, str]], None] | None = None,
    server_env: dict[str, str] | None = None,
    start_timeout: float = 60,
    **dagster_extra: str,
) -> Iterator[tuple[Any, Dagster]]:
    """The API server and ``dagster dev`` on free ports, wired together (the server reconciles
    with that webserver), each stopped with its process group. ``prepare`` may adjust
    Dagster's home (its environment is given) before Dagster starts; ``server_env`` is added
    to the API server's environment; Dagster has ``start_timeout`` seconds to load."""
    helpers = interfaces()
    port = helpers.free_port()
    server = helpers.start_server(
        home,
        extra_env={**(server_env or {}), "DAGSTER_WEBSERVER_URL": f"http://127.0.0.1:{port}"},
    )
    try:
        env = dagster_env(home, **dagster_extra)
        if prepare is not None:
            prepare(env)
        dagster = start_dagster(home, port, env, start_timeout)
        try:
            yield server, dagster
        finally:
            stop_dagster(dagster)
    finally:
        helpers.stop_server(server)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, signal.SIGKILL)


def poll(read: Callable[[], T], accept: Callable[[T], bool], what: str, timeout: float = 60) -> T:
    """What ``read`` returns once ``accept`` takes it, read every 0.25 s; an assertion naming
    ``what`` and the last value read when ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s (last seen: {value!r})")
        time.sleep(0.25)


def schedule_status(client: DagsterGraphQL, name: str, state_id: str) -> str | None:
    """The stored status (``RUNNING``/``STOPPED``) of a schedule, by its ``scheduleState.id``:
    still readable once a reload removed the schedule from the location (Dagster keeps the
    state of a schedule that was started); ``None`` when Dagster holds none."""
    selector = {
        "repositoryLocationName": client.location,
        "repositoryName": client.repository,
        "name": name,
    }
    data = client.execute(SCHEDULE_STATE, {"selector": selector, "id": state_id})
    state = data["instigationStateOrError"]
    return str(state["status"]) if state["__typename"] == "InstigationState" else None


@contextlib.contextmanager
def stand_in_platform(
    home: Path, stand_in: Any, on_stop: Callable[[], None] = lambda: None
) -> Iterator[Any]:
    """A real API server on ``home`` reconciling with ``stand_in`` (a GraphQL stand-in that
    compiles its jobs from the server's own store); ``on_stop`` runs before the server
    stops (e.g. to release a held request)."""
    from graphql_stand_in import compiled_from, serve

    from dataos_defs.poros.settings import Settings
    from dataos_defs.poros.store import Store

    opened: list[Store] = []

    def workflows() -> Any:
        if not opened:
            opened.append(Store.open(settings=Settings.from_env({"DATAOS_HOME": str(home)})))
        return compiled_from(opened[0])()

    stand_in.workflows = workflows
    helpers = interfaces()
    with serve(stand_in) as url:
        server = helpers.start_server(home, extra_env={"DAGSTER_WEBSERVER_URL": url})
        try:
            yield server
        finally:
            on_stop()
            helpers.stop_server(server)
            for store in opened:
                store.close()
