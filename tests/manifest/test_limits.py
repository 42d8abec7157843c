"""The loader refuses alias bombs and deep nesting with positioned issues, quickly and in
bounded memory, and composes everything else exactly as PyYAML does."""

from __future__ import annotations

import time
import tracemalloc

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from dataos_defs.manifest.compose import MAX_DEPTH, MAX_NODES, Limits
from dataos_defs.manifest.loader import parse_yaml

LIBYAML = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def alias_bomb(levels: int, fanout: int) -> str:
    """``a0`` holds ``fanout`` scalars, each ``a<i>`` ``fanout`` aliases of ``a<i-1>``."""
    lines = [f"a0: &a0 [{', '.join(['x'] * fanout)}]"]
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * fanout)}]")
    return "\n".join(lines) + "\n"


def flow_nesting(depth: int) -> str:
    return "a: " + "[" * depth + "]" * depth + "\n"


def block_nesting(depth: int) -> str:
    return "".join(f"{'  ' * level}k{level}:\n" for level in range(depth)) + "  " * depth + "v\n"


def test_alias_bomb_is_refused_at_the_alias_without_expanding_it() -> None:
    tracemalloc.start()
    started = time.monotonic()
    documents, issues = parse_yaml(alias_bomb(9, 9), "bomb.yaml")
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert documents == []
    assert elapsed < 10.0  # refused in about 1 ms; the bound only catches an expansion
    assert peak < 20 * 1024 * 1024
    [issue] = issues
    assert (issue.file, issue.line, issue.column, issue.path) == ("bomb.yaml", 6, 40, "a5[6]")
    assert f"more than {MAX_NODES} values once aliases are expanded" in issue.message
    assert "aliases (*name) copy their anchor" in str(issue.hint)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5_000, 200_000])
def test_deep_flow_nesting_is_refused_without_recursion(depth: int) -> None:
    started = time.monotonic()
    documents, issues = parse_yaml(flow_nesting(depth), "deep.yaml")
    assert time.monotonic() - started < 10.0  # refused in ~6 ms; catches a walk of all levels
    assert documents == []
    [issue] = issues
    assert (issue.line, issue.column) == (1, 3 + MAX_DEPTH)
    assert issue.path.startswith("a[0][0]") and issue.path.endswith("...")
    assert f"nested deeper than {MAX_DEPTH} levels" in issue.message


def test_deep_block_nesting_is_refused_at_its_line() -> None:
    _, issues = parse_yaml(block_nesting(300), "deep.yaml")
    [issue] = issues
    assert issue.line == MAX_DEPTH
    assert issue.path.startswith("k0.k1.k2")


def test_nesting_at_the_limit_loads() -> None:
    documents, issues = parse_yaml(flow_nesting(MAX_DEPTH - 1), "ok.yaml")
    assert issues == []
    assert documents[0].data == yaml.safe_load(flow_nesting(MAX_DEPTH - 1))


def test_an_alias_counts_with_the_depth_it_expands_to() -> None:
    text = "inner: &deep " + "[" * 60 + "]" * 60 + "\nouter: " + "[" * 60 + "*deep" + "]" * 60
    _, issues = parse_yaml(text, "a.yaml")
    [issue] = issues
    assert (issue.line, issue.path) == (2, "outer" + "[0]" * 11 + "...")
    assert "nested deeper" in issue.message


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("a: &a [1, *a]\n", 1, "alias *a refers to the node that contains it"),
        ("a: &a {b: *a}\n", 1, "alias *a refers to the node that contains it"),
        ("a: *missing\n", 1, "found undefined alias 'missing'"),
        ("a: &x 1\nb: &x 2\n", 2, "found duplicate anchor 'x' (first on line 1)"),
    ],
)
def test_bad_aliases_are_positioned_issues(text: str, line: int, fragment: str) -> None:
    documents, issues = parse_yaml(text, "a.yaml")
    assert documents == []
    [issue] = issues
    assert issue.line == line and fragment in issue.message


def test_anchors_aliases_and_merges_within_limits_load_as_pyyaml_does() -> None:
    text = (
        "base: &base {image: x, env: [&e {a: 1}, *e]}\n"
        "job:\n  <<: *base\n  image: y\n  when: 2024-01-01\n"
        "---\n- &s hello\n- *s\n- !!str 3\n- ~\n"
    )
    documents, issues = parse_yaml(text, "a.yaml")
    assert issues == []
    expected = list(yaml.load_all(text.replace("2024-01-01", "'2024-01-01'"), yaml.SafeLoader))
    expected[0]["job"] = {"image": "y", "env": [{"a": 1}, {"a": 1}], "when": "2024-01-01"}
    assert [d.data for d in documents] == expected
    positions = documents[0].source.positions
    assert positions[("job", "image")] == (4, 3)
    assert positions[("job", "env", 1, "a")] == (1, 34)
    assert [d.index for d in documents] == [0, 1]


@pytest.mark.parametrize("order", ["merge first", "key first"])
def test_an_explicit_key_overrides_a_merged_one_wherever_the_merge_stands(order: str) -> None:
    lines = ["  <<: *base", "  image: y"]
    body = lines if order == "merge first" else lines[::-1]
    documents, issues = parse_yaml("base: &base {image: x, tag: t}\njob:\n" + "\n".join(body), "m")
    assert issues == []
    assert documents[0].data["job"] == {"image": "y", "tag": "t"}
    assert documents[0].source.positions[("job", "image")] == (3 + body.index("  image: y"), 3)
    assert documents[0].source.positions[("job", "tag")] == (1, 24)


def test_a_limit_counts_every_document_of_a_file() -> None:
    text = "---\n".join(["[1, 2, 3]\n"] * 4)
    _, issues = parse_yaml(text, "a.yaml", Limits(max_nodes=12))
    assert [issue.line for issue in issues] == [7]


@settings(max_examples=60, deadline=None)
@given(
    levels=st.integers(0, 8),
    fanout=st.integers(1, 9),
    max_nodes=st.integers(1, 5_000),
    max_depth=st.integers(1, 12),
)
def test_alias_chains_load_exactly_when_their_expansion_fits(
    levels: int, fanout: int, max_nodes: int, max_depth: int
) -> None:
    text = alias_bomb(levels, fanout)
    nodes = 1 + sum(1 + sum(fanout**k for k in range(1, level + 2)) for level in range(levels + 1))
    nodes += levels + 1  # the keys a0..a<levels>
    depth = levels + 3  # the document, each level of lists, the scalars
    documents, issues = parse_yaml(text, "a.yaml", Limits(max_depth, max_nodes))
    fits = nodes <= max_nodes and depth <= max_depth
    assert (documents != [], issues == []) == (fits, fits), issues
    for issue in issues:
        assert issue.file == "a.yaml" and issue.line >= 1 and issue.column >= 1
        assert issue.hint


YAMLISH = st.text(alphabet="ab:-[]{}&*!,\"' \n#|>?%@0.", max_size=80)


@settings(max_examples=300, deadline=None)
@given(text=YAMLISH, max_depth=st.integers(1, 6), max_nodes=st.integers(1, 40))
def test_any_text_loads_or_yields_positioned_issues(
    text: str, max_depth: int, max_nodes: int
) -> None:
    documents, issues = parse_yaml(text, "f.yaml", Limits(max_depth, max_nodes))
    for issue in issues:
        assert issue.file == "f.yaml" and issue.line >= 1 and issue.column >= 1
    if not issues:
        nodes = [node for node in yaml.compose_all(text, LIBYAML) if node is not None]
        assert len(documents) == len(nodes)
