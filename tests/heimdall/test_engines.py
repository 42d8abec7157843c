"""The engine port and the decision point around it: failing closed, undefined, caching."""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Mapping
from typing import Any

import pytest

from dataos_defs.heimdall.engine import (
    ENGINE_VARIABLE,
    UNDEFINED,
    EngineError,
    EngineUnavailable,
    RegoEngine,
    create_engine,
)
from dataos_defs.heimdall.pdp import (
    ENGINE_ERROR_REASON,
    AccessRequest,
    PolicyDecisionPoint,
    PolicyEngineError,
    PolicyEngineTimeout,
    policy_modules,
)
from dataos_defs.heimdall.policy_data import parse_policies

ENGINES = [
    "regorus",
    pytest.param(
        "opa",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("opa_bindings") is None,
            reason="opa-golib-python-bindings is not installed (see requirements/opa-golib.txt)",
        ),
    ),
]

READERS = """\
name: readers
version: v1
type: policy
policy:
  access:
    subjects: {tags: [roles:id:user]}
    predicates: [read]
    objects: {paths: ['dataos://lakehouse:retail/**']}
    allow: true
"""
DENY_READERS = READERS.replace("name: readers", "name: no-readers").replace(
    "allow: true", "allow: false"
)
READ_ORDERS = AccessRequest.of(
    ["users:id:bob", "roles:id:user"], "read", "dataos://lakehouse:retail/orders"
)

SHAPES = """\
package shapes

is_false := false

is_null := null

a_set := {"b", "a"}

when_input := input.x

conflict := x if {
	some x in [1, 2]
}
"""


class FaultyEngine:
    """A real engine with a switch that makes every evaluation raise."""

    def __init__(self, inner: RegoEngine, failure: BaseException) -> None:
        self.inner = inner
        self.name = f"faulty-{inner.name}"
        self.failure = failure
        self.armed = False

    def load_policies(self, modules: Mapping[str, str]) -> None:
        self.inner.load_policies(modules)

    def set_data(self, data: Mapping[str, Any]) -> None:
        self.inner.set_data(data)

    def evaluate(self, query_path: str, input: Any = None) -> Any:
        if self.armed:
            raise self.failure
        return self.inner.evaluate(query_path, input)


@pytest.fixture(params=ENGINES)
def engine_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_adapters_implement_the_port(engine_name: str) -> None:
    assert isinstance(create_engine(engine_name), RegoEngine)


def test_engine_chosen_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENGINE_VARIABLE, "regorus")
    assert create_engine().name == "regorus"
    monkeypatch.setenv(ENGINE_VARIABLE, "wasm")
    with pytest.raises(EngineUnavailable, match="regorus"):
        create_engine()


def test_undefined_is_neither_false_nor_null(engine_name: str) -> None:
    engine = create_engine(engine_name)
    engine.load_policies({"shapes.rego": SHAPES})
    engine.set_data({"base": {"n": None}})
    assert engine.evaluate("data.shapes.is_false") is False
    assert engine.evaluate("data.shapes.is_null") is None
    assert engine.evaluate("data.base.n") is None
    assert engine.evaluate("data.shapes.when_input") is UNDEFINED
    assert engine.evaluate("data.shapes.when_input", {"x": False}) is False
    assert engine.evaluate("data.shapes.when_input") is UNDEFINED
    assert engine.evaluate("data.shapes.missing") is UNDEFINED
    assert engine.evaluate("data.nowhere") is UNDEFINED
    assert engine.evaluate("data.shapes.a_set") == ["a", "b"]
    assert not UNDEFINED


def test_engine_errors_are_engine_errors(engine_name: str) -> None:
    engine = create_engine(engine_name)
    engine.load_policies({"shapes.rego": SHAPES})
    with pytest.raises(EngineError):
        engine.evaluate("data.shapes.conflict")
    with pytest.raises(EngineError, match="not a data reference"):
        engine.evaluate("input.x")
    with pytest.raises(EngineError):
        engine.load_policies({"broken.rego": "package broken\n\nx := 1 +\n"})
    assert engine.evaluate("data.shapes.is_false") is False, "a failed load changes nothing"


def test_regorus_engine_per_thread() -> None:
    engine = create_engine("regorus")
    engine.load_policies({"shapes.rego": SHAPES})
    answers: list[Any] = []

    def work(value: int) -> None:
        answers.extend(engine.evaluate("data.shapes.when_input", {"x": value}) for _ in range(50))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(set(answers)) == [0, 1, 2, 3] and len(answers) == 200


@pytest.mark.parametrize(
    "failure",
    [RuntimeError("engine crashed"), EngineError("regorus: boom"), MemoryError()],
    ids=["runtime-error", "engine-error", "memory-error"],
)
def test_engine_failure_denies(engine_name: str, failure: BaseException) -> None:
    engine = FaultyEngine(create_engine(engine_name), failure)
    pdp = PolicyDecisionPoint(engine)
    pdp.set_policies(parse_policies(READERS, "p.yaml"))
    assert pdp.decide(READ_ORDERS).allow
    pdp.set_policies(parse_policies(READERS, "p.yaml"))
    engine.armed = True
    with pytest.raises(PolicyEngineError) as raised:
        pdp.decide(READ_ORDERS)
    assert raised.value.decision.allow is False
    assert raised.value.decision.reason == ENGINE_ERROR_REASON
    assert not pdp.allows(READ_ORDERS)
    engine.armed = False
    assert pdp.allows(READ_ORDERS), "errors are not cached"


def test_undefined_or_malformed_decision_denies(engine_name: str) -> None:
    pdp = PolicyDecisionPoint(create_engine(engine_name))
    pdp.load_policies({"other.rego": "package heimdall.other\n\nx := 1\n"})
    with pytest.raises(PolicyEngineError, match="undefined"):
        pdp.decide(READ_ORDERS)
    pdp.load_policies({"access.rego": 'package heimdall.access\n\ndecision := "yes"\n'})
    with pytest.raises(PolicyEngineError, match="malformed"):
        pdp.decide(READ_ORDERS)
    conflicting = "package heimdall.access\n\ndecision := x if {\n\tsome x in [1, 2]\n}\n"
    pdp.load_policies({"access.rego": conflicting})
    assert not pdp.allows(READ_ORDERS)


def test_slow_evaluation_times_out(engine_name: str) -> None:
    slow = (
        "package heimdall.access\n\n"
        'decision := {"allow": true, "reason": sprintf("%d", [n])} if {\n'
        "\tn := count([x | some x in numbers.range(1, 300000); x % 7 == 0])\n"
        "}\n"
    )
    pdp = PolicyDecisionPoint(create_engine(engine_name), modules={"slow.rego": slow})
    pdp.timeout = 0.001
    with pytest.raises(PolicyEngineTimeout, match="deadline"):
        pdp.decide(READ_ORDERS)
    pdp.timeout = 60
    assert pdp.decide(READ_ORDERS).allow


def test_cache_hits_and_invalidation(engine_name: str) -> None:
    pdp = PolicyDecisionPoint(create_engine(engine_name), cache_size=2)
    pdp.set_policies(parse_policies(READERS, "p.yaml"))
    generation = pdp.generation
    assert pdp.decide(READ_ORDERS).allow
    same = AccessRequest.of(
        ["roles:id:user", "users:id:bob"], "read", "dataos://lakehouse:retail/orders"
    )
    assert pdp.decide(same).allow and (pdp.hits, pdp.misses) == (1, 1)
    pdp.set_policies(parse_policies(READERS + "---\n" + DENY_READERS, "p.yaml"))
    assert pdp.generation > generation
    decision = pdp.decide(READ_ORDERS)
    assert (decision.allow, decision.policy) == (False, "no-readers")
    pdp.load_policies(policy_modules())
    assert not pdp.decide(READ_ORDERS).allow
    assert (pdp.hits, pdp.misses) == (1, 3)


def test_cache_is_bounded(engine_name: str) -> None:
    pdp = PolicyDecisionPoint(create_engine(engine_name), cache_size=2)
    paths = [f"dataos://lakehouse:retail/t{n}" for n in range(3)]
    for path in paths:
        pdp.decide(AccessRequest.of(["roles:id:user"], "read", path))
    pdp.decide(AccessRequest.of(["roles:id:user"], "read", paths[0]))
    assert (pdp.hits, pdp.misses) == (0, 4), "the least recently used entry went first"
    pdp.decide(AccessRequest.of(["roles:id:user"], "read", paths[2]))
    assert pdp.hits == 1


def test_decision_cached_across_a_change_is_dropped() -> None:
    """A decision computed while the policies change must not outlive the change."""
    engine = create_engine("regorus")
    pdp = PolicyDecisionPoint(engine)
    pdp.set_policies(parse_policies(READERS, "p.yaml"))

    class ChangingEngine(FaultyEngine):
        def evaluate(self, query_path: str, input: Any = None) -> Any:
            value = self.inner.evaluate(query_path, input)
            if self.armed:
                self.armed = False
                pdp.set_policies(parse_policies(DENY_READERS, "p.yaml"))
            return value

    changing = ChangingEngine(engine, RuntimeError())
    pdp.engine = changing
    changing.armed = True
    assert pdp.decide(READ_ORDERS).allow, "answered from the policies it started with"
    assert not pdp.decide(READ_ORDERS).allow, "but not cached past the change"
