"""Pager: routes incidents whose JSON matches all ``conditions`` to email, Teams or a webhook."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from dataos_defs.manifest.base import (
    Level,
    Problem,
    Reference,
    ResourceBase,
    Scalar,
    StrictModel,
)
from dataos_defs.manifest.lenient import either_case, lower
from dataos_defs.manifest.source import KeyPath

Comparison = Literal[
    "equals", "not_equals", "greater_than", "greater_than_equals",
    "less_than", "less_than_equals", "contains",
]  # fmt: skip
"""Operators of monitor and pager conditions."""
SECRET_REFERENCE = re.compile(r"\$\{\{\s*secret\.([a-z0-9][a-z0-9-]*)\.([A-Za-z0-9_.-]+)\s*\}\}")
"""``${{secret.<name>.<key>}}``: a value of a Secret of the pager's workspace (else of an
Instance-secret), resolved when a delivery is sent (``monitor.deliveries_secrets``)."""


def _jq(value: str) -> str:
    if not value.strip():
        raise ValueError("a jq filter cannot be empty; e.g. '.properties.severity'")
    import jq  # deferred: the manifest model loads without it until a filter is checked

    try:
        jq.compile(value)
    except ValueError as exc:
        raise ValueError(f"not a valid jq filter: {str(exc).splitlines()[0]}") from None
    return value


def _email(value: str) -> str:
    local, at, domain = value.partition("@")
    if not (local and at and "." in domain) or " " in value:
        raise ValueError("not an email address")
    return value


def _url(value: str) -> str:
    if not value.startswith(("http://", "https://")) and not SECRET_REFERENCE.fullmatch(value):
        raise ValueError("not an http(s) URL (nor a ${{secret.<name>.<key>}} reference)")
    return value


JqFilter = Annotated[str, AfterValidator(_jq)]
Url = Annotated[str, AfterValidator(_url)]
TemplateType = Literal["go", "liquid"]
_Verbs = Literal["get", "post", "put", "delete", "patch"]


class Condition(StrictModel):
    """``valueJqFilter`` picks a value of the incident JSON, compared to ``value``."""

    valueJqFilter: JqFilter
    operator: Comparison
    value: Scalar


class EmailOutput(StrictModel):
    emailTargets: list[Annotated[str, AfterValidator(_email)]] = Field(min_length=1)
    bodyTemplate: str | None = None
    template: str | None = None
    templateType: TemplateType | None = None


class MsTeamsOutput(StrictModel):
    webHookUrl: Url


class WebhookAuthorization(StrictModel):
    token: str | None = None
    customHeader: str | None = None


class WebhookOutput(StrictModel):
    url: Url
    verb: Annotated[_Verbs, BeforeValidator(lower, json_schema_input_type=either_case(_Verbs))]
    headers: dict[str, str] | None = None
    authorization: WebhookAuthorization | None = None
    bodyTemplate: str | None = None
    contentType: str | None = None
    templateType: TemplateType | None = None


class PagerOutput(StrictModel):
    email: EmailOutput | None = None
    msTeams: MsTeamsOutput | None = None
    webHook: WebhookOutput | None = None


class PagerSection(StrictModel):
    conditions: list[Condition] = Field(min_length=1)
    output: PagerOutput


class Pager(ResourceBase):
    KIND: ClassVar[str] = "pager"
    LEVEL: ClassVar[Level] = "workspace"
    type: Literal["pager"]
    version: Literal["v1alpha"]
    pager: PagerSection

    def problems(self) -> list[Problem]:
        output = self.pager.output
        if output.email is None and output.msTeams is None and output.webHook is None:
            return [
                Problem(
                    ("pager", "output"),
                    "a pager needs at least one output",
                    "add email, msTeams or webHook",
                )
            ]
        return self._template_problems()

    def references(self) -> list[Reference]:
        """The Secrets its outputs reference: they must exist, and the applier must be
        allowed to ``use`` them (admission), as for a job's ``dataosSecrets``."""
        return [
            Reference("secret", match.group(1), None, path)
            for path, text in self._secret_fields()
            for match in SECRET_REFERENCE.finditer(text)
        ]

    def _secret_fields(self) -> Iterator[tuple[KeyPath, str]]:
        output = self.pager.output
        base = ("pager", "output")
        if output.msTeams is not None:
            yield (*base, "msTeams", "webHookUrl"), output.msTeams.webHookUrl
        hook = output.webHook
        if hook is None:
            return
        yield (*base, "webHook", "url"), hook.url
        for name, value in (hook.headers or {}).items():
            yield (*base, "webHook", "headers", name), value
        if hook.authorization is not None and hook.authorization.token:
            yield (*base, "webHook", "authorization", "token"), hook.authorization.token

    def _template_problems(self) -> list[Problem]:
        """Templates are checked now (syntax, reaching for internals) rather than when an
        incident fires; the sandbox refuses again when they render."""
        from dataos_defs.monitor.templates import template_problems  # Jinja2 only when used

        output = self.pager.output
        found = []
        if output.webHook is not None and output.webHook.bodyTemplate:
            found.append(
                (("pager", "output", "webHook", "bodyTemplate"), output.webHook.bodyTemplate)
            )
        if output.email is not None:
            for key in ("bodyTemplate", "template"):
                text = getattr(output.email, key)
                if text:
                    found.append((("pager", "output", "email", key), text))
        return [
            Problem(path, problem, "templates may use the incident's fields only")
            for path, text in found
            for problem in template_problems(text)
        ]
