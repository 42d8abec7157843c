"""A mask the policy model accepts runs on the query engine: what DuckDB (RE2) cannot run
is refused when the policy is read (lint, apply), with the construct and its position.

The pure-Python RE2 check (``dataos_defs/manifest/re2.py``) is held against DuckDB itself:
for generated patterns Python accepts, the check finds no problem exactly when DuckDB runs
the pattern.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlglot import exp

from dataos_defs.gateway.masks import mask_expression
from dataos_defs.gateway.model import Refused
from dataos_defs.heimdall.policy_data import parse_policies
from dataos_defs.manifest.errors import ManifestError
from dataos_defs.manifest.policy_parts import (
    BucketNumberMask,
    Mask,
    RegexReplaceMask,
)
from dataos_defs.manifest.re2 import re2_problem

POLICY = """\
name: mask-phone
version: v1
type: policy
policy:
  data:
    type: mask
    depot: lakehouse
    selector:
      user: {{tags: ["roles:id:user"]}}
      column: {{names: [phone]}}
    mask:
      operator: regex_replace
      regex_replace: {{pattern: '{pattern}', replacement: '{replacement}'}}
"""


@pytest.fixture(scope="module")
def engine() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def duckdb_runs(engine: duckdb.DuckDBPyConnection, pattern: str) -> bool:
    try:
        engine.execute("SELECT regexp_matches('', ?)", [pattern])
    except duckdb.Error:
        return False
    return True


def test_the_lookahead_of_the_issue_is_refused_when_the_policy_is_read() -> None:
    with pytest.raises(ManifestError) as raised:
        parse_policies(POLICY.format(pattern="[0-9](?=.{4})", replacement="#"), "p.yaml")
    message = str(raised.value)
    assert "p.yaml:" in message and "regex_replace.pattern" in message
    assert "a lookahead '(?=' at position 5" in message


def test_the_gateway_refuses_the_same_pattern_by_the_same_rule() -> None:
    unchecked = RegexReplaceMask.model_construct(pattern="[0-9](?=.{4})", replacement="#")
    mask = Mask.model_construct(operator="regex_replace", regex_replace=unchecked)
    with pytest.raises(Refused, match=r"a lookahead '\(\?=' at position 5"):
        mask_expression(exp.column("phone"), "VARCHAR", mask)


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("[0-9](?=.{4})", "a lookahead '(?=' at position 5"),
        ("a(?!b)", "a negative lookahead '(?!' at position 1"),
        ("(?<=@)[a-z]+", "a lookbehind '(?<=' at position 0"),
        ("(?<!x)y", "a negative lookbehind '(?<!' at position 0"),
        (r"(\d)\1", "a backreference '\\1' at position 4"),
        ("(?P<d>x)(?P=d)", "a named backreference '(?P=' at position 8"),
        ("a*+", "a possessive quantifier '*+' at position 1"),
        ("[0-9]{3}+", "a possessive quantifier '{3}+' at position 5"),
        ("(?>ab|a)c", "an atomic group '(?>' at position 0"),
        ("(?#note)x", "a comment '(?#' at position 0"),
        ("(a)?(?(1)b|c)", "a conditional '(?(' at position 4"),
        ("(?x) a b", "the flag 'x' at position 2"),
        ("end\\Z", "'\\Z' (use '$') at position 3"),
        ("\\u00e9", "a '\\u' escape"),
        ("[\\b]", "'\\b' inside a character class at position 1"),
        ("x{1001}", "the repetition '{1001}'"),
        ("(x{50}){50}", "the repetition '{50}' (RE2 repeats at most 1000 times"),
        ("x{,3}", "write '{0,3}'"),
    ],
)
def test_each_construct_re2_lacks_is_named_with_its_position(
    engine: duckdb.DuckDBPyConnection, pattern: str, problem: str
) -> None:
    if not problem.startswith(("the repetition '{,", "write")):
        assert not duckdb_runs(engine, pattern)
    found = re2_problem(pattern)
    assert found is not None and problem in found, found
    with pytest.raises(ValidationError, match="cannot run on the query engine"):
        RegexReplaceMask(pattern=pattern, replacement="#")


@pytest.mark.parametrize(
    "pattern",
    [
        "[0-9]",
        r"^\d{3}-(\d{2})$",
        "(?i)abc",
        "(?P<user>[^@]+)@",
        "a*?b+?c??",
        "x{2,1000}",
        r"\x41\012\0",
        "[]a]",
        "[^]x-z]",
        r"\(\)\[\]\{\}",
        "€|😀",
    ],
)
def test_what_re2_runs_is_accepted(engine: duckdb.DuckDBPyConnection, pattern: str) -> None:
    assert re2_problem(pattern) is None
    assert duckdb_runs(engine, pattern)
    RegexReplaceMask(pattern=pattern, replacement="#")


TOKENS = [
    "a", "b", ".", "\\d", "\\w", "\\s", "\\b", "\\1", "\\Z", "\\x41", "\\012", "\\$",
    "(", ")", "(?:", "(?=", "(?!", "(?<=a)", "(?<!a)", "(?>", "(?P<g>", "(?P=g)", "(?i)",
    "(?x)", "(?s:", "*", "+", "?", "*?", "*+", "++", "?+", "{2}", "{2,3}", "{3,}", "{40}",
    "{2}+", "[a-z]", "[^0-9]", "[\\b]", "[\\d.]", "|", "^", "$", "\\u0041", "{", "}", "-",
]  # fmt: skip
"""Pieces of patterns: plain ones and each construct Python accepts and RE2 may not."""


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=st.lists(st.sampled_from(TOKENS), min_size=1, max_size=7))
def test_the_check_agrees_with_duckdb(engine: duckdb.DuckDBPyConnection, pieces: list[str]) -> None:
    pattern = "".join(pieces)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            re.compile(pattern)
    except re.error:
        return
    assert (re2_problem(pattern) is None) == duckdb_runs(engine, pattern), pattern


@pytest.mark.parametrize(
    ("replacement", "problem"),
    [("$10", "cannot insert group 10"), ("$x", "group number"), ("x$", "lone '$'")],
)
def test_replacements_are_refused_by_the_model_as_by_the_gateway(
    replacement: str, problem: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(problem)):
        RegexReplaceMask(pattern="(a)" * 10, replacement=replacement)


@pytest.mark.parametrize("bound", [float("inf"), float("-inf"), float("nan")])
def test_buckets_must_be_finite(bound: float) -> None:
    with pytest.raises(ValidationError, match="bucket bounds must be finite"):
        BucketNumberMask(buckets=[0, bound])
