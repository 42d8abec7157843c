"""Whether a pager's conditions hold for an incident, and its bodies, computed in a child.

A jq filter can loop forever (``[range(1e18)]``) and a template can ask for any amount of
memory, and neither can be interrupted inside the process that runs it. So both run in a
short-lived child interpreter (isolated mode, this package's folder put on its path; 0.1
to 0.2 s: pagers fire on incidents, which are rare): the child limits its own address
space and CPU time first, and the parent kills it when it overruns. (A fork server would
start faster but re-imports the parent's ``__main__`` in every child, which the API
server and Dagster do not allow.) The child gets the incident and the pager's public
fields only; secrets stay in the parent.

Conditions are ANDed. ``valueJqFilter`` picks values of the incident; a condition holds
when any picked value compares true with ``value`` (jq filters may yield several).
"""

from __future__ import annotations

import functools
import json
import math
import operator as op
import resource
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import jq

from dataos_defs.monitor.templates import TemplateRefused, render

EVALUATION_SECONDS = 5.0
CHILD_MEMORY_BYTES = 512 * 1024 * 1024
"""How much address space a child may add to what it inherited."""
MAX_VALUES_PER_FILTER = 1000
MAX_INPUT_BYTES = 4 * 1024 * 1024
_START_SECONDS = 5.0
"""Allowed on top of the evaluation for the child interpreter to start."""
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
_CHILD = (
    f"import sys; sys.path.insert(0, {str(_PACKAGE_ROOT)!r}); "
    f"from {__name__} import child_main; child_main()"
)


@dataclass(frozen=True)
class Check:
    """One condition as the child gets it."""

    jq_filter: str
    operator: str
    value: Any


@dataclass(frozen=True)
class Evaluation:
    """What a child evaluates: conditions over ``incident``, then templates by output."""

    incident: Mapping[str, Any]
    checks: Sequence[Check]
    templates: Mapping[str, tuple[str, bool]] = field(default_factory=dict)
    """Output kind → (template text, is the body JSON)."""


@dataclass(frozen=True)
class Evaluated:
    matched: bool
    bodies: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    """Output kind (or ``conditions``) → why it could not be computed."""


class EvaluationFailed(RuntimeError):
    """The child did not answer: it overran its time or memory, or died."""


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "greater_than": op.gt,
    "greater_than_equals": op.ge,
    "less_than": op.lt,
    "less_than_equals": op.le,
}


@functools.lru_cache(maxsize=256)
def compiled(jq_filter: str) -> Any:
    """A compiled jq program (``ValueError`` with jq's message when the filter is invalid)."""
    return jq.compile(jq_filter)


def compare(left: Any, operator: str, right: Any) -> bool:
    """``left operator right`` for the operators of pager and monitor conditions; a number
    compared with its text counts as equal (``"3"`` equals ``3``); ordering compares
    numbers, else two strings, else is false."""
    if operator == "contains":
        if isinstance(left, list):
            return str(right) in [str(item) for item in left]
        return isinstance(left, str) and str(right) in left
    if operator in ("equals", "not_equals"):
        same = left == right or (_number(left) is not None and _number(left) == _number(right))
        return same if operator == "equals" else not same
    order = _ORDER.get(operator)
    if order is None:
        return False
    a, b = _number(left), _number(right)
    if a is not None and b is not None:
        return order(a, b)
    if isinstance(left, str) and isinstance(right, str):
        return order(left, right)
    return False


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def holds(check: Check, incident: Mapping[str, Any]) -> bool:
    values = compiled(check.jq_filter).input_value(incident)
    for count, picked in enumerate(values):
        if count >= MAX_VALUES_PER_FILTER:
            return False
        if compare(picked, check.operator, check.value):
            return True
    return False


def evaluate(evaluation: Evaluation) -> Evaluated:
    """In this process: conditions, then the bodies when they all hold."""
    try:
        matched = all(holds(check, evaluation.incident) for check in evaluation.checks)
    except ValueError as exc:
        return Evaluated(False, errors={"conditions": f"jq: {exc}"})
    if not matched:
        return Evaluated(False)
    bodies, errors = {}, {}
    for kind, (text, json_body) in evaluation.templates.items():
        try:
            bodies[kind] = render(text, evaluation.incident, json_body=json_body)
        except TemplateRefused as exc:
            errors[kind] = str(exc)
    return Evaluated(True, bodies, errors)


def evaluate_bounded(evaluation: Evaluation, seconds: float = EVALUATION_SECONDS) -> Evaluated:
    """:func:`evaluate` in a child interpreter, killed after ``seconds``."""
    payload = json.dumps(
        {
            "incident": evaluation.incident,
            "checks": [[c.jq_filter, c.operator, c.value] for c in evaluation.checks],
            "templates": {kind: list(spec) for kind, spec in evaluation.templates.items()},
            "seconds": seconds,
        },
        default=str,
    )
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-c", _CHILD],
            input=payload.encode(),
            capture_output=True,
            timeout=seconds + _START_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise EvaluationFailed(f"conditions and templates took more than {seconds:g} s") from exc
    if done.returncode != 0:
        raise EvaluationFailed(
            f"the evaluation ran out of time or memory or crashed (exit code {done.returncode}); "
            "simplify the pager's filters or templates"
        )
    try:
        answer = json.loads(done.stdout)
        return Evaluated(bool(answer["matched"]), answer["bodies"], answer["errors"])
    except (ValueError, KeyError, TypeError) as exc:
        raise EvaluationFailed("the evaluation answered something unreadable") from exc


def child_main() -> None:
    """The child's side: read the evaluation on stdin, limit itself, answer on stdout."""
    request = json.loads(sys.stdin.buffer.read(MAX_INPUT_BYTES))
    _limit_self(float(request["seconds"]))
    evaluation = Evaluation(
        request["incident"],
        [Check(*check) for check in request["checks"]],
        {kind: (text, bool(json_body)) for kind, (text, json_body) in request["templates"].items()},
    )
    try:
        answer = evaluate(evaluation)
    except MemoryError:
        answer = Evaluated(False, errors={"conditions": "the evaluation ran out of memory"})
    sys.stdout.write(json.dumps(asdict(answer)))


def _limit_self(seconds: float) -> None:
    cpu = max(1, math.ceil(seconds))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[0])
    limit = pages * resource.getpagesize() + CHILD_MEMORY_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
