"""Property-based fuzzing: mutated manifests only ever fail with positioned ManifestErrors."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataos_defs.manifest.errors import ManifestError
from dataos_defs.manifest.loader import load_documents, parse_yaml
from dataos_defs.manifest.validate import parse_documents

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = [document.data for document in load_documents([ROOT / "resources"], env={})]
"""The example product as ``apply`` sees it: ``${VAR:-default}`` interpolated."""
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10**6),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["", "dataos://", "* * *", "v1", "workflow", "$X"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out.extend(_paths(value, (*prefix, index)))
    return out


def _mutate(doc: Any, path: tuple[Any, ...], action: str, value: Any) -> Any:
    doc = copy.deepcopy(doc)
    if not path:
        return value if action == "replace" else doc
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "replace":
        parent[last] = value
    elif action == "add" and isinstance(parent[last], dict):
        parent[last]["unexpectedKey"] = value
    elif action == "add" and isinstance(parent[last], list):
        parent[last].append(value)
    return doc


def _check(text: str) -> None:
    documents, issues = parse_yaml(text, "fuzz.yaml")
    if issues:
        raise ManifestError(issues)
    parse_documents(documents)


@st.composite
def mutated_text(draw: st.DrawFn) -> str:
    doc = draw(st.sampled_from(EXAMPLES))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc)))
        action = draw(st.sampled_from(["delete", "replace", "add"]))
        doc = _mutate(doc, path, action, draw(VALUES))
    return yaml.safe_dump(doc, sort_keys=False)


def _assert_only_positioned_errors(text: str) -> None:
    try:
        _check(text)
    except ManifestError as exc:
        assert exc.issues
        for issue in exc.issues:
            assert issue.file == "fuzz.yaml"
            assert issue.line >= 1
            assert issue.column >= 1
            assert issue.message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_text())
def test_structural_mutations_fail_cleanly(text: str) -> None:
    _assert_only_positioned_errors(text)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(EXAMPLES), st.integers(0, 10_000), st.text(max_size=5))
def test_textual_corruption_fails_cleanly(doc: Any, cut: int, noise: str) -> None:
    text = yaml.safe_dump(doc, sort_keys=False)
    cut = cut % (len(text) + 1)
    _assert_only_positioned_errors(text[:cut] + noise + text[cut:])


def test_the_examples_themselves_are_valid() -> None:
    for doc in EXAMPLES:
        _check(yaml.safe_dump(doc, sort_keys=False))
