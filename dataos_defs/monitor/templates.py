"""Pager body templates: Jinja2 in an immutable sandbox, over the incident JSON only.

A template sees the incident and nothing else (no secret ever reaches it), cannot reach
Python internals (``''.__class__``, ``cycler.__init__.__globals__``: refused at apply time
by :func:`template_problems` and at render time by the sandbox), and has no global that
allocates on demand (``lipsum``, ``namespace``, ``cycler``, ``joiner`` are removed). CPU
and memory are bounded by the process that renders (``pagers_eval``: a child with rlimits
and a deadline); the text and the output are bounded here.

DataOS writes pager templates in Go's style (``{{ .Properties.severity }}``,
``{{ .CreateTime }}``): a leading dot inside ``{{ }}`` is dropped and every top-level key
is also reachable capitalized, so those templates render unchanged.

In a JSON body every printed value is JSON-escaped (a string prints its escaped content,
for use inside quotes; anything else prints as JSON), so an incident cannot break out of
the document: that is the autoescape that fits JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from jinja2 import ChainableUndefined, TemplateSyntaxError, Undefined, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from markupsafe import Markup

MAX_TEMPLATE_CHARS = 64 * 1024
MAX_BODY_CHARS = 256 * 1024
_GO_FIELD = re.compile(r"(\{\{-?\s*)\.(?=[A-Za-z_])")
_REMOVED_GLOBALS = ("lipsum", "namespace", "cycler", "joiner")
_REMOVED_FILTERS = ("center", "indent", "wordwrap", "format", "batch", "slice", "random")
"""Filters whose arguments ask for output (or lists) of any size."""
_FORBIDDEN_NAMES = frozenset({"self", "config", "request", "environment"})


class TemplateRefused(ValueError):
    """A template is unsafe, too large, invalid, or failed to render."""


class _Missing(ChainableUndefined):
    """A missing field prints as nothing (incidents vary); an unsafe access fails loudly."""

    def __str__(self) -> str:
        if self._undefined_exception is SecurityError:
            self._fail_with_undefined_error()
        return ""


def _json_value(value: Any) -> str:
    if isinstance(value, Undefined):
        return str(value)
    if isinstance(value, Markup):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)[1:-1]
    return json.dumps(value, default=str)


def _plain_value(value: Any) -> str:
    if isinstance(value, Undefined):
        return str(value)
    if value is None:
        return ""
    if isinstance(value, Mapping | list):
        return json.dumps(value, default=str)
    return str(value)


def _environment(json_body: bool) -> ImmutableSandboxedEnvironment:
    environment = ImmutableSandboxedEnvironment(
        autoescape=False,
        undefined=_Missing,
        finalize=_json_value if json_body else _plain_value,
        keep_trailing_newline=True,
    )
    for name in _REMOVED_GLOBALS:
        environment.globals.pop(name, None)
    for name in _REMOVED_FILTERS:
        environment.filters.pop(name, None)
    return environment


_JSON = _environment(json_body=True)
_TEXT = _environment(json_body=False)


def go_style(text: str) -> str:
    """``{{ .Properties.severity }}`` → ``{{ Properties.severity }}``."""
    return _GO_FIELD.sub(r"\1", text)


def template_problems(text: str) -> list[str]:
    """Why ``text`` cannot be a pager template (empty when it can): too long, invalid
    Jinja2, or reaching for internals (names and attributes starting with ``_``, strings
    starting with ``__`` as ``attr('__class__')`` or ``x['__class__']`` would use)."""
    if len(text) > MAX_TEMPLATE_CHARS:
        return [f"the template has {len(text)} characters; at most {MAX_TEMPLATE_CHARS}"]
    try:
        tree = _TEXT.parse(go_style(text))
    except TemplateSyntaxError as exc:
        return [f"invalid template (line {exc.lineno}): {exc.message}"]
    problems = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Name, nodes.Const)):
        name = _accessed_name(node)
        if name is not None and (name.startswith("_") or name in _FORBIDDEN_NAMES):
            problems.append(
                f"the template reaches for '{name}' (line {node.lineno}): templates may "
                "only read the incident's fields"
            )
    return problems


def _accessed_name(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Getattr):
        return str(node.attr)
    if isinstance(node, nodes.Name):
        return str(node.name)
    if isinstance(node, nodes.Const):
        value = node.value
        return value if isinstance(value, str) and value.startswith("__") else None
    return None


def template_context(incident: Mapping[str, Any]) -> dict[str, Any]:
    """The incident's keys, plus each top-level key capitalized (Go style) and
    ``incident`` for the whole document."""
    context: dict[str, Any] = {}
    for key, value in incident.items():
        context.setdefault(key[:1].upper() + key[1:], value)
    context.update(incident)
    context["incident"] = dict(incident)
    return context


def render(text: str, incident: Mapping[str, Any], *, json_body: bool) -> str:
    """The body ``text`` renders to for ``incident``; :class:`TemplateRefused` when the
    template is unsafe, invalid, or renders more than :data:`MAX_BODY_CHARS`."""
    problems = template_problems(text)
    if problems:
        raise TemplateRefused("; ".join(problems))
    environment = _JSON if json_body else _TEXT
    try:
        body = environment.from_string(go_style(text)).render(template_context(incident))
    except SecurityError as exc:
        raise TemplateRefused(f"the template tried to leave its sandbox: {exc}") from exc
    except Exception as exc:  # a template error of any kind is the author's, reported back
        raise TemplateRefused(f"the template failed: {type(exc).__name__}: {exc}") from exc
    if len(body) > MAX_BODY_CHARS:
        raise TemplateRefused(
            f"the rendered body has {len(body)} characters; at most {MAX_BODY_CHARS}"
        )
    return body
