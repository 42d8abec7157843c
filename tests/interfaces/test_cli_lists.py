"""Lists on the command line: ``--tags a,b`` is two tags, as in DataOS."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataos_defs.cli.lists import split_commas
from tests.interfaces.conftest import Server, run_cli

TAG = st.from_regex(r"[a-z][a-z0-9:_-]{0,20}", fullmatch=True)


@given(st.lists(st.lists(TAG, min_size=1, max_size=4), max_size=4))
def test_comma_joined_values_split_back_into_their_parts(groups: list[list[str]]) -> None:
    given_values = [", ".join(group) for group in groups]
    assert split_commas(given_values) == [tag for group in groups for tag in group]


@given(st.lists(st.text(max_size=30), max_size=5))
def test_no_part_ever_holds_a_comma_or_is_blank(values: list[str]) -> None:
    for part in split_commas(values) or []:
        assert "," not in part and part.strip() == part and part


@pytest.mark.slow
def test_user_and_workspace_tags_given_with_commas(server: Server) -> None:
    created = run_cli(server, "user", "create", "-i", "lister", "--tags", "roles:id:a,roles:id:b")
    assert created.returncode == 0, created.stderr
    added = run_cli(server, "user", "tag", "add", "-i", "lister", "--tags", "x:c, x:d", "-t", "x:e")
    assert added.returncode == 0, added.stderr
    tags = json.loads(run_cli(server, "user", "get", "-i", "lister", "-o", "json").stdout)["tags"]
    assert {"roles:id:a", "roles:id:b", "x:c", "x:d", "x:e"} <= set(tags)
    assert not [tag for tag in tags if "," in tag]
    removed = run_cli(server, "user", "tag", "remove", "-i", "lister", "-t", "x:c,x:d")
    assert removed.returncode == 0, removed.stderr
    assert "x:c" not in removed.stdout and "x:e" in removed.stdout
    empty = run_cli(server, "user", "tag", "add", "-i", "lister", "-t", ",")
    assert empty.returncode == 1 and "no tag given" in empty.stderr
    ws = run_cli(server, "workspace", "create", "-n", "listed", "--tags", "team:a,team:b")
    assert ws.returncode == 0, ws.stderr
    shown = json.loads(run_cli(server, "workspace", "get", "-n", "listed", "-o", "json").stdout)
    assert shown[0]["tags"] == ["team:a", "team:b"]
