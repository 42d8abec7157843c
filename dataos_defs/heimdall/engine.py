"""The port to a Rego engine: what Heimdall needs from one, whichever implements it.

Two adapters implement it (``dataos_defs.adapters``): regorus (Rust, the embedded default)
and OPA 1.20 itself in-process (Go, through ``opa-golib-python-bindings``). They are
looked up by name in :data:`ENGINE_ADAPTERS` and imported only when chosen, so the core
never depends on an engine package that is not installed.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from typing import Any, Final, Protocol, runtime_checkable

ENGINE_VARIABLE = "DATAOS_REGO_ENGINE"
DEFAULT_ENGINE = "regorus"
ENGINE_ADAPTERS: Final[dict[str, str]] = {
    "regorus": "dataos_defs.adapters.regorus_engine:RegorusEngine",
    "opa": "dataos_defs.adapters.opa_golib_engine:OpaGolibEngine",
}


class Undefined:
    """The result of a query with no value, which Rego keeps apart from ``false``/``null``."""

    _instance: Undefined | None = None

    def __new__(cls) -> Undefined:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Final = Undefined()


class EngineError(Exception):
    """The engine failed: bad policy, conflicting rules at evaluation, a crash inside it."""


class EngineUnavailable(EngineError):
    """The chosen engine's package is not installed (or the name is unknown)."""


@runtime_checkable
class RegoEngine(Protocol):
    """A Rego (v1) engine holding a set of modules and one data document.

    Thread safety: ``evaluate`` may be called from any number of threads at once.
    ``load_policies`` and ``set_data`` replace the whole state; an evaluation running
    while they do sees either the old or the new state, never a mix. Adapters whose
    native engine is bound to a thread keep one engine per thread.
    """

    name: str

    def load_policies(self, modules: Mapping[str, str]) -> None:
        """Replace every module (file name → Rego source); raises EngineError if any fails
        to parse or compile, leaving the previous modules in force."""

    def set_data(self, data: Mapping[str, Any]) -> None:
        """Replace the base data document (the value of ``data``, minus the rules)."""

    def evaluate(self, query_path: str, input: Any = None) -> Any:
        """The value of ``query_path`` (``data.pkg.rule``), or :data:`UNDEFINED`.

        Sets come back as sorted lists, as in OPA's JSON answers. ``input=None`` means no
        input document. Raises EngineError on any failure of the engine.
        """

    def query(self, query: str, input: Any = None) -> list[dict[str, Any]]:
        """An ad-hoc query (OPA's ``POST /v1/query``): one variable binding map per result,
        ``[]`` when the query is false or undefined. Raises EngineError on failure."""


def rule_path(query_path: str) -> str:
    """Check ``data.a.b`` is a plain dotted reference and return it."""
    parts = query_path.split(".")
    if parts[0] != "data" or not all(part.replace("_", "a").isalnum() for part in parts):
        raise EngineError(f"not a data reference: {query_path!r} (expected data.package.rule)")
    return query_path


def create_engine(name: str | None = None) -> RegoEngine:
    """An engine adapter by name, or by ``$DATAOS_REGO_ENGINE`` (default regorus)."""
    chosen = (name or os.environ.get(ENGINE_VARIABLE) or DEFAULT_ENGINE).strip().lower()
    target = ENGINE_ADAPTERS.get(chosen)
    if target is None:
        raise EngineUnavailable(
            f"unknown Rego engine {chosen!r}; {ENGINE_VARIABLE} takes one of "
            + ", ".join(sorted(ENGINE_ADAPTERS))
        )
    module_name, class_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise EngineUnavailable(f"Rego engine {chosen!r} is not installed: {exc}") from exc
    engine: RegoEngine = getattr(module, class_name)()
    return engine
