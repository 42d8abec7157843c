"""Resource identifiers as ``-i``/``--id`` read them: every printed form parses back."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataos_defs.cli.identifiers import (
    Identifier,
    IdentifierError,
    parse_identifier,
    parse_type_first,
)
from dataos_defs.cli.resource_types import INSTANCE_TYPES, RESOURCE_TYPES, WORKSPACE_TYPES
from dataos_defs.manifest import registry

NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,30}", fullmatch=True)
VERSIONS = st.from_regex(r"v[0-9][a-z0-9]{0,8}", fullmatch=True)


@st.composite
def identifiers(draw: st.DrawFn) -> Identifier:
    kind = draw(st.sampled_from(RESOURCE_TYPES))
    workspace = None if kind in INSTANCE_TYPES else draw(st.none() | NAMES)
    return Identifier(draw(NAMES), draw(VERSIONS), kind, workspace)


@given(identifiers())
def test_every_printed_form_parses_back(ident: Identifier) -> None:
    assert parse_identifier(ident.pipe()) == ident
    assert parse_identifier(ident.pipe().replace(" ", "")) == ident
    assert parse_identifier(ident.colon()) == ident
    assert parse_type_first(ident.type_first()) == ident


@given(identifiers(), st.lists(NAMES, max_size=3))
def test_a_pasted_get_row_parses_to_its_resource(ident: Identifier, tail: list[str]) -> None:
    """A row of ``get``: empty workspace cell for instance types, then status, owner...
    (a workspace-level Resource always shows its workspace)."""
    if ident.kind in WORKSPACE_TYPES:
        ident = replace(ident, workspace=ident.workspace or "public")
    row = [ident.name, ident.version, ident.kind, ident.workspace or "", *tail]
    assert parse_identifier(" | ".join(row)) == ident


def test_the_docs_spelling_with_empty_cells() -> None:
    found = parse_identifier("quality-checks | | v1beta1 | | workflow | public")
    assert found == Identifier("quality-checks", "v1beta1", "workflow", "public")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("workflow:v1:copy", "--id workflow:v1:copy"),
        ("copy:v1", "is not a Resource identifier"),
        ("copy::workflow", "is not a Resource identifier"),
        ("a | b", "3 or 4 cells"),
        ("copy:v1:wrkflow", "did you mean 'workflow'?"),
    ],
)
def test_malformed_identifiers_name_the_expected_forms(text: str, expected: str) -> None:
    with pytest.raises(IdentifierError) as caught:
        parse_identifier(text)
    assert expected in f"{caught.value.message} {caught.value.hint}"
    assert "name | version | type | workspace" in caught.value.hint


def test_type_first_id_refuses_a_name_first_value() -> None:
    with pytest.raises(IdentifierError, match="starts with the name 'copy'") as caught:
        parse_type_first("copy:v1:workflow")
    assert "-i copy:v1:workflow" in caught.value.hint


def test_the_cli_type_lists_match_the_manifest_registry() -> None:
    assert set(WORKSPACE_TYPES) == registry.WORKSPACE_TYPES
    assert set(INSTANCE_TYPES) == registry.INSTANCE_TYPES
