"""FQN rules: parent FQN, '.', name; names holding '.' are quoted; quotes are refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataos_defs.metis import fqn

AWKWARD = st.text(
    alphabet=st.sampled_from(list("aZ.9_- /:éß漢🙂$'`\\%"))
    | st.characters(blacklist_characters='"'),
    min_size=1,
    max_size=20,
).filter(lambda name: '"' not in name)


@given(st.lists(AWKWARD, min_size=1, max_size=5))
def test_split_inverts_join_for_awkward_names(names: list[str]) -> None:
    assert fqn.split(fqn.join(names)) == names


@given(st.lists(AWKWARD, min_size=2, max_size=5))
def test_child_and_parent_agree(names: list[str]) -> None:
    parent = fqn.join(names[:-1])
    assert fqn.child(parent, names[-1]) == fqn.join(names)
    assert fqn.parent(fqn.join(names)) == parent


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["shop", "public", "orders"], "shop.public.orders"),
        (["pg", "Shop", "order.items"], 'pg.Shop."order.items"'),
        (["pg", "x", "ünï côdé"], "pg.x.ünï côdé"),
        (["a.b", "c"], '"a.b".c'),
    ],
)
def test_join_quotes_names_holding_the_separator(names: list[str], expected: str) -> None:
    assert fqn.join(names) == expected


@pytest.mark.parametrize("name", ['say "hi"', '"', ""])
def test_names_with_quotes_or_empty_are_refused(name: str) -> None:
    with pytest.raises(fqn.InvalidName):
        fqn.join(["svc", name])


@pytest.mark.parametrize("text", ["a..b", ".a", "a.", '"a.b', 'a"b', '"a"b', ""])
def test_malformed_fqns_are_refused(text: str) -> None:
    with pytest.raises(fqn.InvalidName):
        fqn.split(text)


def test_a_quoted_name_without_dot_splits_to_the_bare_name() -> None:
    assert fqn.split('"abc".x') == ["abc", "x"]
