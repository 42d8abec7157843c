"""The regorus Rego engine (Rust, ``gordon-to-regorus`` on PyPI) behind the RegoEngine port.

A ``regorus.Engine`` is bound to the thread that created it (using it from another thread
panics), and ``Engine.clone()`` is bound the same way, so every thread builds its own
engine from the current modules and data, once per change. Parsing the policies takes
milliseconds; an evaluation takes tens of microseconds, so per-thread engines cost little
and need no lock on the evaluation path.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Mapping
from typing import Any

import regorus

from dataos_defs.heimdall.engine import UNDEFINED, EngineError, rule_path

_UNREACHABLE = (KeyboardInterrupt, SystemExit, GeneratorExit)
_AMBIGUOUS = ('"<undefined>"', "null")


def _engine_error(exc: BaseException, doing: str) -> EngineError:
    """Regorus raises RuntimeError (with a Rust backtrace) or pyo3's PanicException, which
    derives from BaseException; both become EngineError, the backtrace dropped."""
    lines = []
    for line in str(exc).strip().splitlines():
        if line.strip().lower().startswith("stack backtrace"):
            break
        lines.append(line.rstrip())
    message = "\n".join(lines).strip() or type(exc).__name__
    return EngineError(f"regorus: {doing}: {message}")


class RegorusEngine:
    name = "regorus"

    def __init__(self) -> None:
        self._modules: dict[str, str] = {}
        self._data: dict[str, Any] = {}
        self._generation = 0
        self._generations = itertools.count(1)
        self._state_lock = threading.Lock()
        self._local = threading.local()

    def _build(self, modules: Mapping[str, str], data: Mapping[str, Any]) -> Any:
        engine = regorus.Engine()
        for file_name, source in modules.items():
            try:
                engine.add_policy(file_name, source)
            except BaseException as exc:
                if isinstance(exc, _UNREACHABLE):
                    raise
                raise _engine_error(exc, f"cannot load {file_name}") from None
        try:
            engine.add_data(dict(data))
        except BaseException as exc:
            if isinstance(exc, _UNREACHABLE):
                raise
            raise _engine_error(exc, "cannot load the data document") from None
        return engine

    def load_policies(self, modules: Mapping[str, str]) -> None:
        modules = dict(modules)
        with self._state_lock:
            self._build(modules, self._data)
            self._modules = modules
            self._generation = next(self._generations)

    def set_data(self, data: Mapping[str, Any]) -> None:
        data = dict(data)
        with self._state_lock:
            self._build(self._modules, data)
            self._data = data
            self._generation = next(self._generations)

    def _thread_engine(self, with_input: bool) -> Any:
        """This thread's engine for the current state; a fresh clone when the query has no
        input (regorus cannot unset an input once set; a clone costs under a microsecond)."""
        local = self._local
        if getattr(local, "generation", None) != self._generation:
            with self._state_lock:
                generation, modules, data = self._generation, self._modules, self._data
            local.template = self._build(modules, data)
            local.engine = local.template.clone()
            local.generation = generation
        return local.engine if with_input else local.template.clone()

    def evaluate(self, query_path: str, input: Any = None) -> Any:
        """Answers come as JSON: regorus' Python conversion cannot build a set of lists.

        ``eval_rule`` is three times faster than ``eval_query``, but it answers
        ``"<undefined>"`` for undefined (and ``null`` for null) and refuses paths of base
        documents; those answers are settled by ``eval_query``.
        """
        rule_path(query_path)
        try:
            engine = self._thread_engine(with_input=input is not None)
            if input is not None:
                engine.set_input(input)
            try:
                answer = engine.eval_rule_as_json(query_path)
            except RuntimeError as exc:
                if "not a valid rule path" not in str(exc):
                    raise
                answer = _AMBIGUOUS[0]
            if answer not in _AMBIGUOUS:
                return json.loads(answer)
            results = json.loads(engine.eval_query_as_json(query_path)).get("result") or []
        except BaseException as exc:
            if isinstance(exc, (*_UNREACHABLE, EngineError)):
                raise
            raise _engine_error(exc, f"cannot evaluate {query_path}") from None
        if not results:
            return UNDEFINED
        return results[0]["expressions"][0]["value"]

    def query(self, query: str, input: Any = None) -> list[dict[str, Any]]:
        """Results whose expressions all hold, as OPA's binding maps."""
        try:
            engine = self._thread_engine(with_input=input is not None)
            if input is not None:
                engine.set_input(input)
            results = json.loads(engine.eval_query_as_json(query)).get("result") or []
        except BaseException as exc:
            if isinstance(exc, (*_UNREACHABLE, EngineError)):
                raise
            raise _engine_error(exc, f"cannot evaluate the query {query!r}") from None
        return [
            dict(result.get("bindings") or {})
            for result in results
            if all(e.get("value") is not False for e in result.get("expressions", []))
        ]
