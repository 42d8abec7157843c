"""The Rego policies' own tests, the glob compiler, and the data document it builds."""

from __future__ import annotations

import doctest
import importlib.util
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dataos_defs.heimdall import policy_data
from dataos_defs.heimdall.engine import EngineError, RegoEngine, create_engine
from dataos_defs.heimdall.pdp import DEFAULT_POLICY_DIR, policy_modules, run_rego_tests
from dataos_defs.heimdall.policy_data import (
    PATH_SEPARATORS,
    PolicyDataError,
    compile_glob,
    compile_policies,
    parse_policies,
    system_policies,
)

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
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("engine_name", ENGINES)
def test_rego_tests_pass(engine_name: str) -> None:
    results = run_rego_tests([DEFAULT_POLICY_DIR], engine=create_engine(engine_name))
    assert len(results) >= 10
    failed = [f"{r.rule}: {r.error}" for r in results if not r.passed]
    assert not failed


def test_rego_test_runner_reports_each_outcome(tmp_path: Path) -> None:
    (tmp_path / "p.rego").write_text("package p\n\nanswer := 42\n")
    (tmp_path / "p_test.rego").write_text(
        "package p_test\n\n"
        "import data.p\n\n"
        "test_passes if p.answer == 42\n\n"
        "test_fails if p.answer == 41\n\n"
        "test_not_true := 7\n\n"
        'test_conflict := x if { some x in ["a", "b"] }\n\n'
        "todo_test_later if false\n"
    )
    results = {r.name: r for r in run_rego_tests([tmp_path])}
    assert results["test_passes"].passed
    assert results["test_fails"].error == "undefined"
    assert results["test_not_true"].error == "= 7"
    assert not results["test_conflict"].passed and results["test_conflict"].error
    assert results["todo_test_later"].skipped
    assert {r.file for r in results.values()} == {str(tmp_path / "p_test.rego")}


def test_rego_test_runner_refuses_a_broken_module(tmp_path: Path) -> None:
    (tmp_path / "broken.rego").write_text("package broken\n\nx := 1 +\n")
    with pytest.raises(EngineError, match=r"broken\.rego"):
        run_rego_tests([tmp_path])
    with pytest.raises(FileNotFoundError):
        run_rego_tests([tmp_path / "missing.rego"])


def test_policy_modules_leave_tests_out() -> None:
    modules = policy_modules()
    assert "access.rego" in modules
    assert not any(name.endswith("_test.rego") for name in modules)


def test_doctests_of_the_compiler() -> None:
    assert doctest.testmod(policy_data).failed == 0


@pytest.mark.parametrize(
    ("glob", "kind", "value"),
    [
        ("roles:id:user", "exact", "roles:id:user"),
        ("users:**", "prefix", "users:"),
        ("**", "prefix", ""),
        ("a\\*b", "exact", "a*b"),
        ("a\\*b**", "prefix", "a*b"),
        ("a.b+c(d)|e", "exact", "a.b+c(d)|e"),
        ("a*", "regex", "(?s)^a[^:/]*$"),
        ("a**b", "regex", "(?s)^a.*b$"),
        ("[!a-c]", "regex", "(?s)^[^a-c:/]$"),
        ("x{a,[}]}y", "regex", "(?s)^x(?:a|[\\}])y$"),
        ("{,x}", "regex", "(?s)^(?:|x)$"),
        ("[a-]", "regex", "(?s)^[a\\-]$"),
        ("[\\]a]", "regex", "(?s)^[\\]a]$"),
        ("a.b?", "regex", "(?s)^a\\.b[^:/]$"),
    ],
)
def test_compile_glob(glob: str, kind: str, value: str) -> None:
    pattern = compile_glob(glob, PATH_SEPARATORS)
    assert (pattern.kind, pattern.value) == (kind, value)


@pytest.mark.parametrize("bad", ["[abc", "a{b", "a}", "x\\", "[!]"])
def test_compile_glob_refuses_bad_syntax(bad: str) -> None:
    with pytest.raises(PolicyDataError, match="not a valid glob"):
        compile_glob(bad, ":")


ACCESS = """\
name: {name}
version: v1
type: policy
policy:
  access:
    subjects: {{tags: {subjects}}}
    predicates: [read, read]
    objects: {{paths: ['dataos://lakehouse:retail/**']}}
    allow: true
"""


def test_compiled_document_shape_and_index() -> None:
    text = "---\n".join(
        [
            ACCESS.format(
                name="b-policy", subjects="[[roles:id:user, 'users:id:*'], [users:id:al]]"
            ),
            ACCESS.format(name="a-policy", subjects="['roles:**']"),
        ]
    )
    document = compile_policies(parse_policies(text, "p.yaml"), system=False)
    names = [p["name"] for p in document["policies"]]
    assert names == ["a-policy", "b-policy"]
    b_policy = document["policies"][1]
    assert b_policy["predicates"] == ["read"]
    assert b_policy["subjects"][0] == {
        "globs": ["roles:id:user", "users:id:*"],
        "exact": ["roles:id:user"],
        "prefixes": [],
        "regexes": ["(?s)^users:id:[^:]*$"],
    }
    assert b_policy["objects"]["tags"] == []
    assert document["index"] == {
        "subjects": {"roles:id:user": [1], "users:id:al": [1]},
        "unindexed": [0],
    }


def test_compile_refuses_duplicates_and_empty_groups() -> None:
    twice = ACCESS.format(name="p", subjects="[roles:id:user]")
    policies = parse_policies(twice, "p.yaml") * 2
    with pytest.raises(PolicyDataError, match="two access policies"):
        compile_policies(policies)
    empty = parse_policies(ACCESS.format(name="e", subjects="[[]]"), "e.yaml")
    with pytest.raises(PolicyDataError, match="empty tag group"):
        compile_policies(empty)


def test_a_given_policy_replaces_the_built_in_of_its_name() -> None:
    own = ACCESS.format(name="system-operator", subjects="[roles:id:root]")
    document = compile_policies(parse_policies(own, "p.yaml"))
    names = [p["name"] for p in document["policies"]]
    assert names == sorted(p.name for p in system_policies())
    operator = names.index("system-operator")
    assert document["index"]["subjects"]["roles:id:root"] == [operator]
    assert "roles:id:operator" not in document["index"]["subjects"]


def test_data_policies_are_left_to_the_gateway() -> None:
    text = (REPO / "resources" / "policies.yaml").read_text()
    data = [p for p in parse_policies(text, "policies.yaml") if p.policy.data is not None]
    assert len(data) >= 3
    document = compile_policies(data, system=False)
    assert document == {"policies": [], "index": {"subjects": {}, "unindexed": []}}


REGEX_QUERY = "data.globcheck.result"
REGEX_MODULE = "package globcheck\n\nresult := regex.match(input.pattern, input.value)\n"

glob_atoms = st.sampled_from(
    ["a", "b", ":", "/", ".", "*", "**", "?", "[ab]", "[a-c]", "[!a]", "{a,b*}", "\\*", "\\?"]
)
text_atoms = st.sampled_from(["a", "b", "c", ":", "/", ".", "*", "?", "\n", "é"])


@pytest.fixture(scope="module")
def regex_engines() -> list[RegoEngine]:
    engines = []
    for param in ENGINES:
        name = param if isinstance(param, str) else param.values[0]
        if name == "opa" and importlib.util.find_spec("opa_bindings") is None:
            continue
        engine = create_engine(str(name))
        engine.load_policies({"globcheck.rego": REGEX_MODULE})
        engines.append(engine)
    return engines


@settings(max_examples=150, deadline=None)
@given(glob=st.lists(glob_atoms, min_size=1, max_size=6), text=st.lists(text_atoms, max_size=8))
def test_engines_agree_with_python_on_translated_globs(
    regex_engines: list[RegoEngine], glob: list[str], text: list[str]
) -> None:
    """The regexes the compiler emits mean the same in Rust, Go and Python's ``re``."""
    pattern = compile_glob("".join(glob), PATH_SEPARATORS)
    value = "".join(text)
    if pattern.kind == "exact":
        expected = value == pattern.value
    elif pattern.kind == "prefix":
        expected = value.startswith(pattern.value)
    else:
        body = pattern.value.removeprefix("(?s)^").removesuffix("$")
        expected = re.fullmatch(body, value, re.DOTALL) is not None
        for engine in regex_engines:
            answer = engine.evaluate(REGEX_QUERY, {"pattern": pattern.value, "value": value})
            assert answer is expected, (engine.name, pattern.value, value)
    assert isinstance(expected, bool)
