"""From a pager's outputs to attempts: each output kind becomes a function that sends once.

Secret references are resolved inside the attempt (so a rotated secret is picked up by
the next retry) and the values used are collected so errors can be scrubbed of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dataos_defs.manifest.pager import EmailOutput, MsTeamsOutput, Pager, WebhookOutput
from dataos_defs.monitor.deliveries_secrets import INSTANCE_ONLY, SecretSource, resolve
from dataos_defs.monitor.deliveries_send import (
    HttpRequest,
    Sent,
    SmtpSettings,
    email_message,
    send_email,
    send_http,
    teams_card,
)
from dataos_defs.monitor.deliveries_targets import check_url

REDACTED = "<redacted>"
MAX_HEADERS = 50
BODY_VERBS = ("post", "put", "patch")
EMAIL_SUBJECT = "[{severity}] {name}"


class OutputRefused(ValueError):
    """An output cannot be sent as configured (no retry helps)."""


@dataclass
class Context:
    """What every attempt of one pager's delivery shares."""

    workspace: str
    incident: Mapping[str, Any]
    bodies: Mapping[str, str]
    secrets: SecretSource
    used: set[str] = field(default_factory=set)
    """Secret values resolved so far, to scrub from errors."""


Attempt = Callable[[Context], tuple[str, Sent]]
"""Sends once; answers the target's host (for the log) and the outcome."""


def is_json(content_type: str | None) -> bool:
    return "json" in (content_type or "application/json").lower()


def templates_of(pager: Pager) -> dict[str, tuple[str, bool]]:
    """Output kind → (body template, is JSON), for the outputs that have a template."""
    output = pager.pager.output
    found: dict[str, tuple[str, bool]] = {}
    if output.webHook is not None and output.webHook.bodyTemplate:
        found["webHook"] = (output.webHook.bodyTemplate, is_json(output.webHook.contentType))
    if output.email is not None and (output.email.bodyTemplate or output.email.template):
        found["email"] = (output.email.bodyTemplate or output.email.template or "", False)
    return found


def attempts_of(pager: Pager) -> dict[str, Attempt]:
    output = pager.pager.output
    found: dict[str, Attempt] = {}
    if output.webHook is not None:
        found["webHook"] = _webhook(output.webHook)
    if output.msTeams is not None:
        found["msTeams"] = _teams(output.msTeams)
    if output.email is not None:
        found["email"] = _email(output.email)
    return found


def _secret_text(text: str, context: Context, what: str) -> str:
    if text == REDACTED:
        raise OutputRefused(
            f"{what} was read redacted from the store; load pagers with their secrets "
            "(active_pagers) or write a ${{secret.<name>.<key>}} reference"
        )
    return resolve(text, context.workspace, context.secrets, context.used)


def _webhook(output: WebhookOutput) -> Attempt:
    def attempt(context: Context) -> tuple[str, Sent]:
        target = check_url(_secret_text(output.url, context, "the webhook URL"))
        headers = {"Content-Type": output.contentType or "application/json"}
        for name, value in list((output.headers or {}).items())[:MAX_HEADERS]:
            headers[name] = _secret_text(value, context, f"header '{name}'")
        if output.authorization is not None and output.authorization.token:
            token = _secret_text(output.authorization.token, context, "the token")
            header = output.authorization.customHeader or "Authorization"
            headers[header] = token if output.authorization.customHeader else f"Bearer {token}"
        body = None
        if output.verb in BODY_VERBS:
            text = context.bodies.get("webHook")
            body = (
                text if text is not None else json.dumps(context.incident, default=str)
            ).encode()
        request = HttpRequest(output.verb, target.url, target.host, target.address, headers, body)
        return target.host, send_http(request)

    return attempt


def _teams(output: MsTeamsOutput) -> Attempt:
    def attempt(context: Context) -> tuple[str, Sent]:
        target = check_url(_secret_text(output.webHookUrl, context, "the Teams webhook URL"))
        body = json.dumps(teams_card(context.incident)).encode()
        headers = {"Content-Type": "application/json"}
        request = HttpRequest("post", target.url, target.host, target.address, headers, body)
        return target.host, send_http(request)

    return attempt


def _email(output: EmailOutput) -> Attempt:
    def attempt(context: Context) -> tuple[str, Sent]:
        settings = SmtpSettings.from_env()
        if settings is None:
            raise OutputRefused("no SMTP server is configured: set DATAOS_SMTP_HOST")
        password = None
        if settings.password is not None:
            password = resolve(settings.password, INSTANCE_ONLY, context.secrets, context.used)
        incident = context.incident
        subject = EMAIL_SUBJECT.format(
            severity=incident.get("severity") or "incident",
            name=incident.get("name") or incident.get("monitor") or "DataOS incident",
        )
        body = context.bodies.get("email") or json.dumps(incident, indent=2, default=str)
        message = email_message(settings.sender, list(output.emailTargets), subject, body)
        return settings.host, send_email(settings, message, password)

    return attempt
