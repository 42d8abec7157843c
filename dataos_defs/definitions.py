"""The Dagster code location: Definitions compiled from the Resources in the Poros store.

``workspace.yaml`` loads :func:`defs` (lazily: importing this module reads nothing). Each
load, and so each reload Poros asks for after an apply or delete, opens the store named by
``DATAOS_HOME`` / ``DATAOS_DATABASE_URL`` for reading, validates every live manifest into
its model and hands them to the pure compiler with the executors registry.

Secrets are never resolved here. The store is opened with a throwaway vault key, so this
process cannot decrypt a secret even by mistake; executors read credentials when a job runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet
from dagster import Definitions
from dagster import definitions as lazy_definitions
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from dataos_defs.compile import CompileInput, compile_definitions
from dataos_defs.executors import executors
from dataos_defs.manifest.registry import resource_adapter
from dataos_defs.poros.db import make_engine, normalize_url
from dataos_defs.poros.records import StoredResource
from dataos_defs.poros.settings import DATABASE_URL_ENV, HOME_ENV, Settings
from dataos_defs.poros.store import Store
from dataos_defs.poros.vault import Vault


class StoreUnreadable(RuntimeError):
    """The code location cannot read the Poros store: says which store and what to do."""


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database or "")


def read_resources(settings: Settings) -> list[StoredResource]:
    """Every live Resource of the store, manifests redacted (never a secret value)."""
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
        return store.list()
    except SQLAlchemyError as exc:
        problem = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise StoreUnreadable(f"{where} cannot be read ({problem}); {hint}") from exc
    finally:
        store.close()


def compile_inputs(stored: Sequence[StoredResource]) -> list[CompileInput]:
    """Validate every stored manifest; all problems are reported together."""
    adapter = resource_adapter()
    inputs: list[CompileInput] = []
    problems: list[str] = []
    for resource in stored:
        try:
            model = adapter.validate_python(resource.manifest)
        except ValidationError as exc:
            first = exc.errors()[0]
            path = ".".join(str(part) for part in first["loc"]) or "(root)"
            problems.append(
                f"{resource.key} (revision {resource.revision}): {path}: {first['msg']}"
            )
            continue
        inputs.append(CompileInput(model, resource.workspace, resource.owner))
    if problems:
        raise StoreUnreadable(
            "stored manifests no longer validate, re-apply or delete them: " + "; ".join(problems)
        )
    return inputs


def build_definitions(settings: Settings | None = None) -> Definitions:
    """The Definitions of everything live in the store named by ``settings`` (or the env)."""
    stored = read_resources(settings or Settings.from_env())
    return compile_definitions(compile_inputs(stored), executors())


@lazy_definitions
def defs() -> Definitions:
    return build_definitions()
