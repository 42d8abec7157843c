"""OPA's own Rego conformance cases, run on regorus and on OPA 1.20.2 in-process.

The cases are not part of this repository (the project commits no fetched content): fetch
the YAML files of ``v1/test/cases/testdata/v1/<folder>/`` from
https://github.com/open-policy-agent/opa into a folder (default ``/tmp/opa-cases``, one
sub-folder per OPA folder) and run::

    .venv/bin/python benchmarks/opa_conformance.py [--cases DIR] [--folders a,b]

Each case is evaluated the way OPA's own runner (``v1/topdown/exported_test.go``) does it:
module ``i`` is named ``test-<i>.rego``, ``data``/``input`` (or ``input_term``) are loaded,
the query is run ad hoc, and the result set (a set of binding maps; ``[]`` is undefined)
is compared as a set, each binding's list sorted first when ``sort_bindings`` is set. A case
that wants an error passes when the engine raises one; by default the wording and code are
not compared (regorus has no error codes and words its messages its own way), with
``--exact-errors`` the wanted text and code must appear in the message. Folders whose name
starts with ``_`` are skipped (``_v0`` holds Rego v0 syntax).

Both engines raise built-in errors (regorus always; the OPA bindings evaluate with OPA's
``StrictBuiltinErrors``), so a case written for OPA's default non-strict mode, which wants
undefined there, fails with an error on both; such failures are marked.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CASES = Path("/tmp/opa-cases")
OPA_SOURCE = "https://github.com/open-policy-agent/opa/tree/main/v1/test/cases/testdata/v1"
ENGINES = ("regorus", "opa")


@dataclass(frozen=True)
class Case:
    folder: str
    file: str
    spec: dict[str, Any]

    @property
    def note(self) -> str:
        return str(self.spec.get("note", "?"))

    @property
    def wants_error(self) -> bool:
        return "want_error" in self.spec or "want_error_code" in self.spec


@dataclass(frozen=True)
class Answer:
    """What an engine did: a result set (list of binding maps) or an error."""

    bindings: list[dict[str, Any]] | None = None
    error: str | None = None


@dataclass(frozen=True)
class Outcome:
    passed: bool
    reason: str = ""


def load_cases(root: Path, folders: set[str] | None) -> list[Case]:
    cases: list[Case] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name.startswith("_") or (folders and folder.name not in folders):
            continue
        for file in sorted(folder.rglob("*.yaml")):
            document = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
            for spec in document.get("cases") or []:
                cases.append(Case(folder.name, str(file.relative_to(root)), spec))
    return cases


def case_input(case: Case) -> tuple[bool, Any]:
    """(has input, input); ``input_term`` is a Rego term, read here as JSON."""
    if "input_term" in case.spec:
        return True, json.loads(case.spec["input_term"])
    if "input" in case.spec:
        return True, case.spec["input"]
    return False, None


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence what a Rust panic prints on file descriptor 2 (the panic itself comes back
    as an exception and is reported as the case's error)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def run_regorus(case: Case) -> Answer:
    import regorus

    try:
        engine = regorus.Engine()
        for index, module in enumerate(case.spec.get("modules") or []):
            engine.add_policy(f"test-{index}.rego", module)
        if case.spec.get("data") is not None:
            engine.add_data_json(json.dumps(case.spec["data"]))
        has_input, value = case_input(case)
        if has_input:
            engine.set_input_json(json.dumps(value))
        answer = json.loads(engine.eval_query_as_json(case.spec["query"]))
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return Answer(error=_first_line(exc))
    rows = []
    for row in answer.get("result") or []:
        # regorus keeps rows whose expressions are false; OPA's result set has none.
        if any(e.get("value") is False for e in row.get("expressions") or []):
            continue
        rows.append(row.get("bindings") or {})
    return Answer(bindings=rows)


def run_opa(case: Case) -> Answer:
    """OPA 1.20.2 through ``opa_bindings``: ``eval_query`` runs any query (the project's
    adapter only evaluates ``data.<path>`` documents) and returns the binding maps."""
    from opa_bindings import OpaEngine, OpaError

    engine = OpaEngine()
    try:
        for index, module in enumerate(case.spec.get("modules") or []):
            engine.add_policy(f"test-{index}.rego", module)
        if case.spec.get("data") is not None:
            engine.add_data(case.spec["data"])
        has_input, value = case_input(case)
        return Answer(bindings=engine.eval_query(case.spec["query"], value if has_input else None))
    except OpaError as exc:
        return Answer(error=f"{exc.code}: {_first_line(exc.message)}")
    except ValueError as exc:
        return Answer(error=f"bad case: {exc}")
    finally:
        engine.close()


def run_regorus_quietly(case: Case) -> Answer:
    with _quiet_stderr():
        return run_regorus(case)


RUNNERS: dict[str, Callable[[Case], Answer]] = {"regorus": run_regorus_quietly, "opa": run_opa}


def _first_line(exc: BaseException | str) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    text = " ".join(line for line in lines[:6] if not line.startswith(("|", "Stack backtrace")))
    return (text or type(exc).__name__)[:200]


def judge(case: Case, answer: Answer, exact_errors: bool) -> Outcome:
    spec = case.spec
    if answer.error is not None:
        if not case.wants_error:
            hint = ""
            if spec.get("want_result") == [] and not spec.get("strict_error"):
                hint = " (non-strict case: OPA's default answers undefined)"
            return Outcome(False, f"unexpected error{hint}: {answer.error}")
        if exact_errors:
            for key in ("want_error", "want_error_code"):
                if key in spec and str(spec[key]) not in answer.error:
                    wanted_error = f"wanted {spec[key]!r}, got {answer.error}"
                    return Outcome(False, f"error differs: {wanted_error}")
        return Outcome(True)
    if case.wants_error:
        return Outcome(False, f"no error, got {_show(answer.bindings)}")
    wanted = spec.get("want_result")
    if wanted is None:
        return Outcome(False, "the case wants neither a result nor an error")
    sort = bool(spec.get("sort_bindings"))
    if _result_set(wanted, sort) == _result_set(answer.bindings or [], sort):
        return Outcome(True)
    return Outcome(False, f"got {_show(answer.bindings)}, wanted {_show(wanted)}")


def _show(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


_RANK = {type(None): 0, bool: 1, int: 2, float: 2, str: 3, list: 4, dict: 5}


def _canonical(value: Any) -> Any:
    """A hashable form that keeps Rego's distinctions (``true`` is not ``1``; ``1`` is
    ``1.0``)."""
    if value is None:
        return ("null",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", int(value) if float(value).is_integer() else value)
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, list):
        return ("array", tuple(_canonical(item) for item in value))
    if isinstance(value, dict):
        return ("object", tuple(sorted((k, _canonical(v)) for k, v in value.items())))
    return ("other", repr(value))


def _order(value: Any) -> Any:
    """Rego's ordering of values: null < booleans < numbers < strings < arrays < objects."""
    rank = _RANK.get(type(value), 6)
    if isinstance(value, list):
        return (rank, tuple(_order(item) for item in value))
    if isinstance(value, dict):
        return (rank, tuple(sorted((_order(k), _order(v)) for k, v in value.items())))
    return (rank, value if value is not None else 0)


def _result_set(rows: Iterable[dict[str, Any]], sort: bool) -> frozenset[Any]:
    result = set()
    for row in rows:
        values = {
            name: sorted(value, key=_order) if sort and isinstance(value, list) else value
            for name, value in row.items()
        }
        result.add(_canonical(values))
    return frozenset(result)


def available_engines(wanted: Sequence[str]) -> tuple[list[str], list[str]]:
    modules = {"regorus": "regorus", "opa": "opa_bindings"}
    present = [e for e in wanted if importlib.util.find_spec(modules[e]) is not None]
    return present, [e for e in wanted if e not in present]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES, help="folder of cases")
    parser.add_argument("--folders", help="comma-separated folders to run (default: all)")
    parser.add_argument("--engines", default=",".join(ENGINES), help="regorus,opa")
    parser.add_argument("--exact-errors", action="store_true", help="compare error texts")
    args = parser.parse_args(argv)
    if not args.cases.is_dir():
        print(
            f"no conformance cases at {args.cases}: fetch the YAML files of "
            f"{OPA_SOURCE}/<folder>/ into {args.cases}/<folder>/ (or pass --cases DIR)",
            file=sys.stderr,
        )
        return 2
    folders = {f.strip() for f in args.folders.split(",") if f.strip()} if args.folders else None
    cases = load_cases(args.cases, folders)
    if not cases:
        print(f"no cases found under {args.cases} for folders {sorted(folders or [])}")
        return 2
    wanted = [e.strip() for e in args.engines.split(",") if e.strip() in ENGINES]
    engines, missing = available_engines(wanted)
    for engine in missing:
        print(f"engine {engine} is not installed; skipped")
    report(cases, engines, args.exact_errors)
    return 0


def report(cases: list[Case], engines: list[str], exact_errors: bool) -> None:
    outcomes = {
        engine: [judge(case, RUNNERS[engine](case), exact_errors) for case in cases]
        for engine in engines
    }
    folders = sorted({case.folder for case in cases})
    width = max(len(f) for f in [*folders, "total"]) + 2
    print(f"OPA conformance: {len(cases)} cases in {len(folders)} folders")
    print("folder".ljust(width) + "cases".rjust(7) + "".join(e.rjust(16) for e in engines))
    for folder in [*folders, "total"]:
        picked = [i for i, case in enumerate(cases) if folder in {"total", case.folder}]
        cells = []
        for engine in engines:
            passed = sum(outcomes[engine][i].passed for i in picked)
            cells.append(f"{passed} ok {len(picked) - passed} fail".rjust(16))
        print(folder.ljust(width) + str(len(picked)).rjust(7) + "".join(cells))
    for engine in engines:
        failures = [(c, o) for c, o in zip(cases, outcomes[engine], strict=True) if not o.passed]
        print(f"\n{engine}: {len(cases) - len(failures)}/{len(cases)} pass")
        for case, outcome in failures:
            print(f"  {case.file} :: {case.note}: {outcome.reason}")


if __name__ == "__main__":
    sys.exit(main())
