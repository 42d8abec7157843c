"""The Dagster code location: Definitions compiled from the Resources in the Poros store.

``workspace.yaml`` loads :func:`defs` (lazily: importing this module reads nothing). Each
load, and so each reload Poros asks for after an apply or delete, opens the store named by
``DATAOS_HOME`` / ``DATAOS_DATABASE_URL`` for reading, validates the live manifests the
compiler uses (workflows, depots, computes) into their models and hands them to the pure
compiler with the executors registry, the depot resources and the jobs' executor.

A process compiles once per state of the store. Dagster calls a lazy definitions function
twice per load of a location (once to collect reconstruction data, once to build the
repository), and every run worker and step process loads the location again; the store's
change marker (one small query) tells whether the Definitions compiled last still hold.

Steps run in processes forked from a forkserver that has imported this location and
compiled it (:mod:`dataos_defs.location.preload`), so a step starts without importing
Dagster and the platform or compiling again: one process per DataOS job as before, each
isolated, parallel branches still parallel.

Secrets are never resolved here. The store is opened with a throwaway vault key, so this
process cannot decrypt a secret even by mistake; depot resources read credentials when a
job runs.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from dagster import Definitions, ExecutorDefinition, multiprocess_executor
from dagster import definitions as lazy_definitions
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from dataos_defs.compile import CompileInput, compile_definitions
from dataos_defs.compile.monitors import compile_monitors
from dataos_defs.location.caretaker_sensor import with_caretaker
from dataos_defs.location.depot_resources import DepotResource
from dataos_defs.location.executors import EXECUTORS_ENV, executors
from dataos_defs.location.monitor_trigger import evaluate_remotely
from dataos_defs.location.step_usage import measured
from dataos_defs.manifest.base import ResourceBase
from dataos_defs.manifest.compute import Compute
from dataos_defs.manifest.depot import Depot
from dataos_defs.manifest.monitor import Monitor
from dataos_defs.manifest.workflow import Workflow
from dataos_defs.poros.db import make_engine, normalize_url
from dataos_defs.poros.records import StoredResource
from dataos_defs.poros.settings import DATABASE_URL_ENV, HOME_ENV, Settings
from dataos_defs.poros.store import Store
from dataos_defs.poros.vault import Vault
from dataos_defs.stacks.container.pipes import run_mode

COMPILED_KINDS: dict[str, type[ResourceBase]] = {
    "workflow": Workflow,
    "depot": Depot,
    "compute": Compute,
    "monitor": Monitor,
}
"""The Resource types the compiler reads; the others are no concern of the code location."""
PRELOAD_MODULE = "dataos_defs.location.preload"


class StoreUnreadable(RuntimeError):
    """The code location cannot read the Poros store: says which store and what to do."""


@dataclass(frozen=True)
class _Compiled:
    state: tuple[Any, ...]
    definitions: Definitions


_last: list[_Compiled] = []
"""The Definitions this process compiled last, with the state of the store they reflect."""


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database or "")


@contextmanager
def _reading(settings: Settings) -> Iterator[Store]:
    """The store for reading, with a key that decrypts nothing; errors say what to do."""
    url = settings.database_url
    where = f"the Poros store at {make_url(normalize_url(url)).render_as_string()}"
    hint = (
        f"start the platform with `make up` (or `dataos-ctl serve`) on the same {HOME_ENV}, "
        f"or set {HOME_ENV}/{DATABASE_URL_ENV} for this code location to the API server's"
    )
    sqlite = _sqlite_file(url)
    if sqlite is not None and not sqlite.is_file():
        raise StoreUnreadable(f"{where} does not exist; {hint}")
    store = Store(make_engine(url), Vault(Fernet.generate_key()))
    try:
        yield store
    except SQLAlchemyError as exc:
        problem = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise StoreUnreadable(f"{where} cannot be read ({problem}); {hint}") from exc
    finally:
        store.close()


def read_resources(settings: Settings) -> list[StoredResource]:
    """Every live Resource of the store, manifests redacted (never a secret value)."""
    with _reading(settings) as store:
        return store.list()


def compile_inputs(stored: Sequence[StoredResource]) -> list[CompileInput]:
    """Validate the stored manifests the compiler reads; all problems are reported together.

    Runs act as the stored ``run_as``; rows stored before runs had one act as their owner.
    """
    inputs: list[CompileInput] = []
    problems: list[str] = []
    for resource in stored:
        model_type = COMPILED_KINDS.get(resource.kind)
        if model_type is None:
            continue
        try:
            model = model_type.model_validate(resource.manifest)
        except ValidationError as exc:
            first = exc.errors()[0]
            path = ".".join(str(part) for part in first["loc"]) or "(root)"
            problems.append(
                f"{resource.key} (revision {resource.revision}): {path}: {first['msg']}"
            )
            continue
        run_as = resource.run_as or resource.owner
        inputs.append(CompileInput(model, resource.workspace, resource.owner, run_as))
    if problems:
        raise StoreUnreadable(
            "stored manifests no longer validate, re-apply or delete them: " + "; ".join(problems)
        )
    return inputs


def jobs_executor() -> ExecutorDefinition | None:
    """The executor of every compiled job: Dagster's multiprocess executor, one process per
    DataOS job as before, each forked from a server that preloaded the compiled location
    instead of spawned afresh (Dagster's ``forkserver`` start method).

    None (Dagster's default, processes spawned afresh) where ``forkserver`` is unavailable.
    On Kubernetes (``DATAOS_RUN_MODE=k8s``, as the production values set it) each job runs
    in its own pod instead: ``k8s_job_executor`` (``adapters.k8s_launcher.step_executor``).
    """
    if run_mode() == "k8s":
        from dataos_defs.adapters.k8s_launcher import K8sSettings, step_executor

        return step_executor(K8sSettings.from_env())
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return None
    preload = {"preload_modules": ["dagster", PRELOAD_MODULE]}
    return multiprocess_executor.configured(
        {"start_method": {"forkserver": preload}}, name="dataos_multiprocess"
    )


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a location is validated and compiled.

    Both build many objects that live as long as the Definitions and free almost none, so
    the collector's passes over them find nothing: at 500 workflows they are a third of
    the compile time (0.85 s with them, 0.58 s without). Memory is still freed by
    reference counting, and the collector runs again as soon as the location is built.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def compile_location(inputs: Sequence[CompileInput]) -> Definitions:
    """What this code location makes of validated Resources (the benchmarks load it too)."""
    with collector_paused():
        return with_caretaker(
            compile_definitions(
                inputs,
                measured(executors()),
                depot_resource=DepotResource.of,
                executor=jobs_executor(),
            )
        )


def build_definitions(settings: Settings | None = None) -> Definitions:
    """The Definitions of everything live in the store named by ``settings`` (or the env)."""
    settings = settings or Settings.from_env()
    with _reading(settings) as store:
        state = (settings.database_url, os.environ.get(EXECUTORS_ENV), store.change_marker())
        if _last and _last[0].state == state:
            return _last[0].definitions
        stored = store.list()
    inputs = compile_inputs(stored)
    with collector_paused():
        definitions = compile_location(inputs)
    definitions = Definitions.merge(definitions, compile_monitors(inputs, evaluate_remotely))
    _last[:] = [_Compiled(state, definitions)]
    return definitions


@lazy_definitions
def defs() -> Definitions:
    return build_definitions()
