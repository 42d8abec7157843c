"""The YAML loader: positions of every key, duplicate keys, interpolation, syntax errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataos_defs.manifest.errors import ManifestError
from dataos_defs.manifest.loader import interpolate, load_documents, parse_yaml

TEXT = """\
name: one
version: v1
tags:
  - a
  - b
nested:
  key: value
---
name: two
"""


def test_positions_are_one_based_for_keys_and_items() -> None:
    documents, issues = parse_yaml(TEXT, "x.yaml")
    assert not issues
    first, second = documents
    assert first.source.positions[("name",)] == (1, 1)
    assert first.source.positions[("tags", 1)] == (5, 5)
    assert first.source.positions[("nested", "key")] == (7, 3)
    assert second.source.positions[("name",)] == (9, 1)
    assert second.line == 9


def test_locate_falls_back_to_the_deepest_existing_key() -> None:
    documents, _ = parse_yaml(TEXT, "x.yaml")
    assert documents[0].source.locate(("nested", "missing", "deeper")) == (6, 1)


def test_duplicate_keys_are_reported_with_both_lines() -> None:
    _, issues = parse_yaml("a: 1\nb: 2\na: 3\n", "d.yaml")
    assert len(issues) == 1
    issue = issues[0]
    assert (issue.file, issue.line, issue.column, issue.path) == ("d.yaml", 3, 1, "a")
    assert "duplicate key 'a' (first defined on line 1)" in issue.message


def test_syntax_error_has_a_position_and_a_hint() -> None:
    _, issues = parse_yaml("a: 1\n  b: 2\n", "s.yaml")
    assert len(issues) == 1
    assert issues[0].line == 2
    assert issues[0].message.startswith("YAML syntax error")
    assert issues[0].hint


def test_timestamps_stay_text_and_merge_keys_work() -> None:
    documents, issues = parse_yaml(
        "base: &b {x: 1}\nend: 2024-01-01T00:00:00Z\nitem:\n  <<: *b\n  y: 2\n", "m.yaml"
    )
    assert not issues
    data = documents[0].data
    assert data["end"] == "2024-01-01T00:00:00Z"
    assert data["item"] == {"y": 2, "x": 1}


def test_interpolation_of_values_only() -> None:
    documents, _ = parse_yaml("a: ${USER_X}\nb: $USER_X-$$1\nc: ${NOPE:-fallback}\n", "i.yaml")
    issues = interpolate(documents, {"USER_X": "u"})
    assert not issues
    assert documents[0].data == {"a": "u", "b": "u-$1", "c": "fallback"}


def test_unset_variable_is_an_error_at_its_value() -> None:
    documents, _ = parse_yaml("a:\n  b: ${MISSING_VAR}\n", "i.yaml")
    issues = interpolate(documents, {})
    assert [(i.line, i.path) for i in issues] == [(2, "a.b")]
    assert "MISSING_VAR" in issues[0].message
    assert "--disable-interpolation" in (issues[0].hint or "")


def test_interpolation_cannot_change_structure() -> None:
    documents, _ = parse_yaml("a: ${EVIL}\n", "i.yaml")
    interpolate(documents, {"EVIL": "x\nb: injected"})
    assert documents[0].data == {"a": "x\nb: injected"}


def test_load_directories_recursive_and_collects_all_errors(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.yaml").write_text("a: 1\na: 2\n")
    (tmp_path / "sub" / "b.yml").write_text("x: [\n")
    (tmp_path / "notes.txt").write_text("ignored")
    with pytest.raises(ManifestError) as caught:
        load_documents([tmp_path], recursive=True)
    files = sorted(Path(i.file).name for i in caught.value.issues)
    assert files == ["a.yaml", "b.yml"]


def test_directory_without_recursion_hints_at_dash_r(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yaml").write_text("a: 1\n")
    with pytest.raises(ManifestError) as caught:
        load_documents([tmp_path])
    assert "-R" in (caught.value.issues[0].hint or "")


def test_missing_path_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        load_documents([tmp_path / "nope.yaml"])
    assert caught.value.issues[0].message == "no such file or directory"


def test_a_whole_variable_takes_the_type_yaml_would_give_it() -> None:
    documents, _ = parse_yaml(
        "port: ${PORT:-5432}\nratio: ${R}\nflag: ${F}\nzip: ${Z}\nhost: h-${PORT:-1}\n", "t.yaml"
    )
    assert not interpolate(documents, {"R": "0.5", "F": "true", "Z": "01234"})
    assert documents[0].data == {
        "port": 5432,
        "ratio": 0.5,
        "flag": True,
        "zip": "01234",
        "host": "h-1",
    }
