"""The policy decision point: loads the Rego and the compiled policies, decides, caches.

It fails closed. Whatever goes wrong in the engine (an exception, an undefined or
malformed answer, an evaluation slower than the deadline) the answer is a deny with the
reason ``policy engine error``; :meth:`PolicyDecisionPoint.decide` raises it as
:class:`PolicyEngineError` (the API answers 503), :meth:`PolicyDecisionPoint.allows` returns
``False``.

Neither engine can interrupt an evaluation, so the deadline is checked when the engine
returns: a late answer is discarded, it does not free the thread sooner.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataos_defs.heimdall.engine import UNDEFINED, EngineError, RegoEngine, create_engine
from dataos_defs.heimdall.policy_data import data_document
from dataos_defs.manifest.policy import Policy

POLICY_DIR_VARIABLE = "DATAOS_POLICY_DIR"
DEFAULT_POLICY_DIR = Path(__file__).resolve().parents[2] / "policies" / "heimdall"
DECISION_QUERY = "data.heimdall.access.decision"
BATCH_QUERY = "data.heimdall.access.batch"
ENGINE_ERROR_REASON = "policy engine error"

__all__ = [
    "AccessRequest",
    "Decision",
    "PolicyDecisionPoint",
    "PolicyEngineError",
    "PolicyEngineTimeout",
    "RegoTestResult",
    "policy_modules",
    "run_rego_tests",
]


@dataclass(frozen=True)
class AccessRequest:
    """Who (by tags) wants to do what to which object (by path and/or tags)."""

    subject_tags: frozenset[str]
    predicate: str
    path: str | None = None
    object_tags: frozenset[str] = frozenset()
    subject_id: str | None = field(default=None, compare=False)

    @classmethod
    def of(
        cls,
        subject_tags: Iterable[str],
        predicate: str,
        path: str | None = None,
        object_tags: Iterable[str] = (),
        subject_id: str | None = None,
    ) -> AccessRequest:
        if isinstance(subject_tags, str) or isinstance(object_tags, str):
            raise TypeError("tags are a collection of strings, not one string")
        return cls(frozenset(subject_tags), predicate, path, frozenset(object_tags), subject_id)

    def as_input(self) -> dict[str, Any]:
        """The Rego ``input`` document (see policies/heimdall/access.rego)."""
        subject: dict[str, Any] = {"tags": sorted(self.subject_tags)}
        if self.subject_id is not None:
            subject["id"] = self.subject_id
        target: dict[str, Any] = {"tags": sorted(self.object_tags)}
        if self.path is not None:
            target["path"] = self.path
        return {"subject": subject, "predicate": self.predicate, "object": target}


@dataclass(frozen=True)
class Decision:
    allow: bool
    reason: str
    policy: str | None = None
    collection: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "allow": self.allow,
            "reason": self.reason,
            "policy": self.policy,
            "collection": self.collection,
        }


ENGINE_ERROR_DECISION = Decision(False, ENGINE_ERROR_REASON)


class PolicyEngineError(Exception):
    """No decision could be made; access is denied. The API maps this to 503."""

    decision = ENGINE_ERROR_DECISION

    def __init__(self, detail: str) -> None:
        super().__init__(f"{ENGINE_ERROR_REASON}: {detail}")
        self.detail = detail


class PolicyEngineTimeout(PolicyEngineError):
    """The engine answered after the deadline; the late answer was discarded."""


def policy_modules(directory: str | Path | None = None) -> dict[str, str]:
    """The Rego modules of Heimdall (``*.rego`` without ``*_test.rego``), by file name."""
    base = Path(directory or os.environ.get(POLICY_DIR_VARIABLE) or DEFAULT_POLICY_DIR)
    files = sorted(p for p in base.glob("*.rego") if not p.name.endswith("_test.rego"))
    if not files:
        raise FileNotFoundError(f"no Rego policies in {base}")
    return {str(path.name): path.read_text(encoding="utf-8") for path in files}


class PolicyDecisionPoint:
    """Thread-safe: decisions may run concurrently with each other and with reloads.

    The decision cache is keyed by the request (subject tags, predicate, path, object
    tags), bounded (least recently used goes first) and emptied by every change of
    policies or data; a decision computed before a change is not cached after it.
    """

    def __init__(
        self,
        engine: RegoEngine | None = None,
        *,
        modules: Mapping[str, str] | None = None,
        cache_size: int = 100_000,
        timeout: float = 1.0,
    ) -> None:
        self.engine = engine if engine is not None else create_engine()
        self.cache_size = cache_size
        self.timeout = timeout
        self._cache: OrderedDict[AccessRequest, Decision] = OrderedDict()
        self._lock = threading.Lock()
        self._generation = 0
        self.hits = 0
        self.misses = 0
        self.load_policies(policy_modules() if modules is None else modules)
        self.set_policies([])

    @property
    def generation(self) -> int:
        """Bumped by every change of policies or data."""
        return self._generation

    def _changed(self) -> None:
        with self._lock:
            self._generation += 1
            self._cache.clear()

    def load_policies(self, modules: Mapping[str, str]) -> None:
        """Replace the Rego modules; a module that fails to load changes nothing."""
        try:
            self.engine.load_policies(modules)
        finally:
            self._changed()

    def set_data(self, data: Mapping[str, Any]) -> None:
        """Replace the data document as is (``{"heimdall": {"policies": ..., "index": ...}}``)."""
        try:
            self.engine.set_data(data)
        finally:
            self._changed()

    def set_policies(self, policies: Iterable[Policy], *, system: bool = True) -> None:
        """Compile Policy Resources (access ones; the system policies added) and load them."""
        self.set_data(data_document(policies, system=system))

    def decide(self, request: AccessRequest) -> Decision:
        """The decision for ``request``; raises PolicyEngineError when there is none."""
        with self._lock:
            generation = self._generation
            cached = self._cache.get(request)
            if cached is not None:
                self._cache.move_to_end(request)
                self.hits += 1
                return cached
            self.misses += 1
        decision = self._evaluate(request)
        with self._lock:
            if generation == self._generation and self.cache_size > 0:
                self._cache[request] = decision
                if len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return decision

    def decide_many(self, requests: Sequence[AccessRequest]) -> list[Decision]:
        """Decisions for many requests; the cached ones are answered from the cache, the
        others evaluated in one engine call. Raises PolicyEngineError if any has none."""
        answers: list[Decision | None] = []
        with self._lock:
            generation = self._generation
            for request in requests:
                cached = self._cache.get(request)
                if cached is not None:
                    self._cache.move_to_end(request)
                    self.hits += 1
                answers.append(cached)
            missing = [i for i, found in enumerate(answers) if found is None]
            self.misses += len(missing)
        if missing:
            fresh = self._evaluate_many([requests[i] for i in missing])
            with self._lock:
                keep = generation == self._generation and self.cache_size > 0
                for index, decision in zip(missing, fresh, strict=True):
                    answers[index] = decision
                    if keep:
                        self._cache[requests[index]] = decision
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return [answer for answer in answers if answer is not None]

    def decide_uncached(self, request: AccessRequest) -> Decision:
        return self._evaluate(request)

    def allows(self, request: AccessRequest) -> bool:
        """Fail-closed yes/no: any engine failure is a no."""
        try:
            return self.decide(request).allow
        except PolicyEngineError:
            return False

    def query(self, query_path: str, input: Any = None) -> Any:
        """Any document of the loaded policies (for the OPA-compatible API); UNDEFINED
        when it has no value. Not cached."""
        started = time.perf_counter()
        try:
            value = self.engine.evaluate(query_path, input)
        except EngineError as exc:
            raise PolicyEngineError(str(exc)) from exc
        except Exception as exc:
            raise PolicyEngineError(f"{type(exc).__name__}: {exc}") from exc
        elapsed = time.perf_counter() - started
        if elapsed > self.timeout:
            raise PolicyEngineTimeout(
                f"{query_path} took {elapsed:.3f} s, over the {self.timeout:.3f} s deadline"
            )
        return value

    def ad_hoc(self, query: str, input: Any = None) -> list[dict[str, Any]]:
        """An ad-hoc query against the loaded policies and data (OPA's ``/v1/query``)."""
        try:
            return self.engine.query(query, input)
        except EngineError as exc:
            raise PolicyEngineError(str(exc)) from exc
        except Exception as exc:
            raise PolicyEngineError(f"{type(exc).__name__}: {exc}") from exc

    def _evaluate_many(self, requests: Sequence[AccessRequest]) -> list[Decision]:
        """One engine call per subject among ``requests`` (the Rego ``batch`` rule)."""
        if len(requests) == 1:
            return [self._evaluate(requests[0])]
        groups: dict[tuple[frozenset[str], str | None], list[int]] = {}
        for index, request in enumerate(requests):
            groups.setdefault((request.subject_tags, request.subject_id), []).append(index)
        answers: list[Decision | None] = [None] * len(requests)
        for indexes in groups.values():
            first = requests[indexes[0]].as_input()
            batch = {
                "subject": first["subject"],
                "requests": [
                    {"predicate": requests[i].predicate, "object": requests[i].as_input()["object"]}
                    for i in indexes
                ],
            }
            value = self.query(BATCH_QUERY, batch)
            if not isinstance(value, list) or len(value) != len(indexes):
                raise PolicyEngineError(f"{BATCH_QUERY} gave no decision per request")
            for index, item in zip(indexes, value, strict=True):
                answers[index] = _decision(item)
        return [answer for answer in answers if answer is not None]

    def _evaluate(self, request: AccessRequest) -> Decision:
        value = self.query(DECISION_QUERY, request.as_input())
        if value is UNDEFINED:
            raise PolicyEngineError(f"{DECISION_QUERY} is undefined")
        return _decision(value)


def _decision(value: Any) -> Decision:
    if not (
        isinstance(value, dict)
        and isinstance(value.get("allow"), bool)
        and isinstance(value.get("reason"), str)
    ):
        raise PolicyEngineError(f"malformed decision {value!r}")
    policy, collection = value.get("policy"), value.get("collection")
    return Decision(
        value["allow"],
        value["reason"],
        policy if isinstance(policy, str) else None,
        collection if isinstance(collection, str) else None,
    )


_PACKAGE = re.compile(r"^package\s+([A-Za-z_][A-Za-z0-9_.]*)\s*$", re.MULTILINE)
_TEST_RULE = re.compile(r"^((?:todo_)?test_[A-Za-z0-9_]*)\b(?!\s*\()", re.MULTILINE)


@dataclass(frozen=True)
class RegoTestResult:
    """One ``test_*`` rule: passed when it is defined and true, as with ``opa test``."""

    file: str
    package: str
    name: str
    passed: bool
    skipped: bool = False
    error: str | None = None
    duration: float = 0.0

    @property
    def rule(self) -> str:
        return f"data.{self.package}.{self.name}"


def _rego_files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(path.rglob("*.rego")))
        elif path.suffix == ".rego" and path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"not a .rego file or a folder: {path}")
    return list(dict.fromkeys(files))


def run_rego_tests(
    paths: Iterable[str | Path],
    *,
    engine: RegoEngine | None = None,
    data: Mapping[str, Any] | None = None,
) -> list[RegoTestResult]:
    """Load every ``.rego`` under ``paths`` (policies and their ``_test.rego`` files) into
    one engine (regorus unless given) and evaluate each ``test_*`` rule, the way
    ``opa test`` does; ``todo_test_*`` rules are reported as skipped.

    A module that does not load raises EngineError: no test result would be meaningful.
    """
    files = _rego_files(paths)
    sources = {str(path): path.read_text(encoding="utf-8") for path in files}
    runner = engine if engine is not None else create_engine("regorus")
    runner.load_policies(sources)
    runner.set_data(data or {})
    results: list[RegoTestResult] = []
    for file_name, source in sources.items():
        package = _PACKAGE.search(source)
        if package is None:
            continue
        for name in dict.fromkeys(_TEST_RULE.findall(source)):
            results.append(_run_test(runner, file_name, package.group(1), name))
    return results


def _run_test(engine: RegoEngine, file_name: str, package: str, name: str) -> RegoTestResult:
    if name.startswith("todo_"):
        return RegoTestResult(file_name, package, name, passed=False, skipped=True)
    started = time.perf_counter()
    try:
        value = engine.evaluate(f"data.{package}.{name}")
    except EngineError as exc:
        elapsed = time.perf_counter() - started
        return RegoTestResult(file_name, package, name, False, error=str(exc), duration=elapsed)
    elapsed = time.perf_counter() - started
    error = None if value is True else ("undefined" if value is UNDEFINED else f"= {value!r}")
    return RegoTestResult(file_name, package, name, value is True, error=error, duration=elapsed)
