"""Helpers the manifest tests share: validate one manifest text and check what it reports.

Test modules import these as ``from support import ...`` (pytest puts this folder, which has
no ``__init__.py``, on ``sys.path``). Manifest texts may be written indented inside a test;
every helper dedents them first, so line numbers are those of the dedented text.

Issues come in two forms: :class:`Issue` objects (``validate``) and ``(line, path, message,
hint)`` tuples (:data:`Reported`, from ``reported``), which compare with ``==`` in one go.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TypeVar

import jsonschema

from dataos_defs.manifest.base import ResourceBase
from dataos_defs.manifest.errors import Issue
from dataos_defs.manifest.loader import parse_yaml
from dataos_defs.manifest.registry import resource_adapter
from dataos_defs.manifest.schema import type_schema
from dataos_defs.manifest.validate import parse_document

M = TypeVar("M", bound=ResourceBase)

Reported = tuple[int, str, str, str | None]
"""One issue as ``(line, field path, message, hint)``."""

Expected = tuple[int, str, str]
"""One expected issue as ``(line, field path, fragment of the message or hint)``."""


def validate(text: str, file: str = "m.yaml") -> tuple[ResourceBase | None, list[Issue]]:
    """Validate the single manifest in ``text``: the model (``None`` if invalid) and its issues.

    The text must be well-formed YAML holding exactly one document.
    """
    documents, problems = parse_yaml(textwrap.dedent(text), file)
    assert not problems and len(documents) == 1, [str(p) for p in problems]
    parsed, issues = parse_document(documents[0])
    return (parsed.model if parsed else None), issues


def reported(text: str, kind: type[M]) -> tuple[M | None, list[Reported]]:
    """Like :func:`validate`, with the issues as tuples; a model must be a ``kind``."""
    model, issues = validate(text)
    assert model is None or isinstance(model, kind), model
    return model, [(i.line, i.path, i.message, i.hint) for i in issues]


def valid_as(text: str, kind: type[M], file: str = "m.yaml") -> M:
    """The model of ``text``, which must validate without issues as a ``kind``."""
    model, issues = validate(text, file)
    assert issues == [], [str(i) for i in issues]
    assert isinstance(model, kind)
    return model


def valid(text: str) -> ResourceBase:
    """The model of ``text``, which must validate without issues."""
    return valid_as(text, ResourceBase)


def invalid(text: str) -> list[Reported]:
    """The issues of ``text``, which must fail to validate."""
    model, issues = reported(text, ResourceBase)
    assert model is None and issues, issues
    return issues


def one_issue(text: str) -> Reported:
    """The one issue of ``text``, which must fail to validate with exactly one."""
    issues = invalid(text)
    assert len(issues) == 1, issues
    return issues[0]


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the ``nth`` line containing ``needle`` (as the loader counts)."""
    lines = textwrap.dedent(text).splitlines()
    hits = [n for n, line in enumerate(lines, 1) if needle in line]
    return hits[nth - 1]


def replace_once(text: str, old: str, new: str) -> str:
    """``text`` with its first ``old`` replaced by ``new``; ``old`` must occur in it."""
    assert old in text
    return text.replace(old, new, 1)


def one_issue_at(text: str, needle: str, path: str, nth: int = 1) -> tuple[str, str | None]:
    """Message and hint of the one issue of ``text``, which must be at ``path`` on the line
    of the ``nth`` occurrence of ``needle``."""
    line, where, message, hint = one_issue(text)
    assert (line, where) == (line_of(text, needle, nth), path)
    return message, hint


def assert_one_issue_at(text: str, needle: str, path: str, fragment: str) -> None:
    """``text`` fails with one issue, at ``path`` on the line of ``needle``, whose message
    or hint contains ``fragment``."""
    message, hint = one_issue_at(text, needle, path)
    assert fragment in f"{message} ({hint})"


def assert_valid_example(
    text: str, kind: type[ResourceBase], *, pin_version: bool = False, file: str = "m.yaml"
) -> None:
    """``text`` validates as a ``kind``, its data matches the JSON Schema of its type (pinned to
    its version if ``pin_version``), and the model survives a dump and reload unchanged."""
    model = valid_as(text, kind, file)
    documents, _ = parse_yaml(textwrap.dedent(text), file)
    version = model.version if pin_version else None
    jsonschema.Draft202012Validator(type_schema(model.KIND, version)).validate(documents[0].data)
    dumped = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert resource_adapter().validate_python(dumped) == model


def assert_issues_match(issues: Sequence[Issue], expect: Sequence[Expected]) -> None:
    """``issues`` are, in order, at the expected lines and field paths, and each message (with
    its hint) contains the expected fragment."""
    found = [(i.line, i.path, i.message + " " + (i.hint or "")) for i in issues]
    assert len(found) == len(expect), found
    for (line, path, message), (want_line, want_path, fragment) in zip(found, expect, strict=True):
        assert (line, path) == (want_line, want_path), found
        assert fragment in message, found


def assert_invalid(text: str, expect: Sequence[Expected], file: str = "m.yaml") -> None:
    """``text`` fails to validate with exactly the ``expect``-ed issues (see
    :func:`assert_issues_match`)."""
    model, issues = validate(text, file)
    assert model is None
    assert_issues_match(issues, expect)
