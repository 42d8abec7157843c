"""Pager templates: Go-style fields, JSON escaping, the sandbox, bounds, apply-time checks."""

from __future__ import annotations

import json

import pytest

from dataos_defs.manifest.errors import ManifestError
from dataos_defs.manifest.loader import parse_yaml
from dataos_defs.manifest.validate import parse_documents
from dataos_defs.monitor.pagers_eval import Evaluation, EvaluationFailed, evaluate_bounded
from dataos_defs.monitor.templates import (
    MAX_TEMPLATE_CHARS,
    TemplateRefused,
    render,
    template_problems,
)
from tests.monitor.deliveries_support import INCIDENT, pager

ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ incident['__class__'] }}",
    "{{ self._TemplateReference__context }}",
    "{{ (name|attr('__class__')) }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
]


def test_go_style_fields_render_like_dataos_templates() -> None:
    text = '{"title": "{{ .Name }}", "sev": "{{ .Severity }}", "wf": "{{ .Context.workflow }}"}'
    body = render(text, INCIDENT, json_body=True)
    assert json.loads(body) == {"title": "orders workflow failed", "sev": "high", "wf": "orders"}


def test_json_bodies_escape_every_printed_value() -> None:
    hostile = {**INCIDENT, "name": 'x", "admin": true, "y": "\\'}
    body = render(
        '{"text": "{{ name }}", "ctx": {{ context }}, "n": {{ occurrences }}}',
        hostile,
        json_body=True,
    )
    parsed = json.loads(body)
    assert parsed["text"] == hostile["name"] and "admin" not in parsed
    assert parsed["ctx"] == INCIDENT["context"] and parsed["n"] == 2
    assert (
        json.loads(render('{"all": {{ incident|tojson }}}', INCIDENT, json_body=True))["all"]
        == INCIDENT
    )


@pytest.mark.parametrize("text", ESCAPES)
def test_sandbox_escapes_are_refused(text: str) -> None:
    assert template_problems(text), text
    with pytest.raises(TemplateRefused, match="reaches for"):
        render(text, INCIDENT, json_body=False)


def test_the_sandbox_refuses_what_the_static_check_cannot_see() -> None:
    with pytest.raises(TemplateRefused, match=r"sandbox|unsafe"):
        render("{{ name|attr(key) }}", {**INCIDENT, "key": "__class__"}, json_body=False)
    with pytest.raises(TemplateRefused, match=r"undefined|lipsum"):
        render("{{ lipsum(100000) }}", INCIDENT, json_body=False)


def test_template_size_is_bounded() -> None:
    assert "at most" in template_problems("x" * (MAX_TEMPLATE_CHARS + 1))[0]
    with pytest.raises(TemplateRefused, match="rendered body"):
        render("{% for i in range(99999) %}{{ name }}{% endfor %}", INCIDENT, json_body=False)


def test_runaway_templates_are_stopped_by_the_child_bounds() -> None:
    doubling = (
        "{% macro f(s, n) %}{{ f(s ~ s, n - 1) if n else s|length }}{% endmacro %}{{ f('ab', 40) }}"
    )
    evaluated = evaluate_bounded(Evaluation(INCIDENT, [], {"email": (doubling, False)}), 3.0)
    assert evaluated.matched and "MemoryError" in evaluated.errors["email"]
    spinning = "{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}"
    with pytest.raises(EvaluationFailed, match="time or memory"):
        evaluate_bounded(Evaluation(INCIDENT, [], {"email": (spinning, False)}), 1.0)


def test_apply_refuses_an_escaping_template_with_its_path() -> None:
    text = (
        "name: bad\nversion: v1alpha\ntype: pager\npager:\n  conditions:\n"
        "    - {valueJqFilter: .severity, operator: equals, value: high}\n"
        "  output:\n    webHook:\n      url: https://example.com/h\n      verb: post\n"
        '      bodyTemplate: "{{ cycler.__init__.__globals__ }}"\n'
    )
    documents, issues = parse_yaml(text, "bad.yaml")
    assert not issues
    with pytest.raises(ManifestError) as caught:
        parse_documents(documents, "public")
    message = str(caught.value)
    assert "pager.output.webHook.bodyTemplate" in message and "__globals__" in message


def test_apply_accepts_the_dataos_style_template() -> None:
    made = pager(
        "name: ok\nversion: v1alpha\ntype: pager\npager:\n  conditions:\n"
        "    - {valueJqFilter: .severity, operator: equals, value: high}\n"
        "  output:\n    webHook:\n      url: https://example.com/h\n      verb: post\n"
        '      bodyTemplate: \'{"text": "{{ .CreateTime }} {{ .Properties.severity }}"}\'\n'
    )
    assert made.name == "ok"
