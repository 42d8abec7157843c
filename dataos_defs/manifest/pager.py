"""Pager: routes incidents whose JSON matches all ``conditions`` to email, Teams or a webhook."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from dataos_defs.manifest.base import Level, Problem, ResourceBase, Scalar, StrictModel
from dataos_defs.manifest.lenient import either_case, lower

Comparison = Literal[
    "equals", "not_equals", "greater_than", "greater_than_equals",
    "less_than", "less_than_equals", "contains",
]  # fmt: skip
"""Operators of monitor and pager conditions."""


def _jq(value: str) -> str:
    if not value.strip():
        raise ValueError("a jq filter cannot be empty; e.g. '.properties.severity'")
    return value


def _email(value: str) -> str:
    local, at, domain = value.partition("@")
    if not (local and at and "." in domain) or " " in value:
        raise ValueError("not an email address")
    return value


def _url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("not an http(s) URL")
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
        return []
