"""OPA 1.20 itself, in-process, behind the RegoEngine port.

``opa-golib-python-bindings`` embeds OPA's Go ``rego`` package as a shared library called
through ctypes. It is not in the lock file (its metadata claims Python >= 3.14, yet it runs
on 3.11); install it with the hash-pinned ``requirements/opa-golib.txt``.

The bindings' engine serialises evaluations with its own lock and may be shared by threads.
Its data can only be deep-merged, never replaced, so every change builds a new engine and
swaps it in: an evaluation in flight finishes on the engine it started with, and the old
engine is closed when the last reference to it goes.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from opa_bindings import (
    OpaEngine,
    OpaError,
    OpaUndefinedError,
)

from dataos_defs.heimdall.engine import UNDEFINED, EngineError, rule_path


class OpaGolibEngine:
    name = "opa"

    def __init__(self) -> None:
        self._modules: dict[str, str] = {}
        self._data: dict[str, Any] = {}
        self._state_lock = threading.Lock()
        self._engine = self._build(self._modules, self._data)

    @staticmethod
    def _build(modules: Mapping[str, str], data: Mapping[str, Any]) -> OpaEngine:
        engine = OpaEngine()
        try:
            for file_name, source in modules.items():
                engine.add_policy(file_name, source)
            if data:
                engine.add_data(dict(data))
            if modules:
                # OPA compiles lazily; an empty query makes it compile every module now,
                # so that a broken policy is refused here rather than at the first decision.
                engine.eval_query("true")
        except OpaError as exc:
            engine.close()
            raise EngineError(f"opa: {exc}") from None
        return engine

    def load_policies(self, modules: Mapping[str, str]) -> None:
        modules = dict(modules)
        with self._state_lock:
            self._engine = self._build(modules, self._data)
            self._modules = modules

    def set_data(self, data: Mapping[str, Any]) -> None:
        data = dict(data)
        with self._state_lock:
            self._engine = self._build(self._modules, data)
            self._data = data

    def evaluate(self, query_path: str, input: Any = None) -> Any:
        path = rule_path(query_path).removeprefix("data").removeprefix(".")
        engine = self._engine
        try:
            return engine.eval_document(path, input)
        except OpaUndefinedError:
            return UNDEFINED
        except OpaError as exc:
            raise EngineError(f"opa: cannot evaluate {query_path}: {exc}") from None

    def query(self, query: str, input: Any = None) -> list[dict[str, Any]]:
        """Refused: opa-golib 0.4.4 answers ``[{}]`` (satisfied) for a false query such as
        ``1 == 2``, and an access system must not mistake "no" for "yes"."""
        raise EngineError(
            "ad-hoc queries are not supported on the opa engine (its bindings report false "
            "queries as satisfied); use DATAOS_REGO_ENGINE=regorus"
        )
