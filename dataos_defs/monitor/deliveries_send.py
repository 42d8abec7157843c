"""Sending one delivery attempt: an HTTP request (webhook, Microsoft Teams) or an email.

Each sender returns a :class:`Sent`: the status, whether another attempt may succeed
(connection errors, timeouts, 5xx and 429 may; other 4xx and refusals may not), and an
error text that names the target's host only. A 429 or 503 may say when to come back
(``Retry-After``: seconds, or an HTTP date): :attr:`Sent.retry_after` carries it, in
seconds, for the retries to honour (capped there). Redirects are not followed (a redirect
could lead past the address checks), proxies and ``.netrc`` from the environment are not
used, and at most :data:`MAX_RESPONSE_BYTES` of an answer are read.
"""

from __future__ import annotations

import os
import smtplib
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

SMTP_HOST_ENV = "DATAOS_SMTP_HOST"
SMTP_PORT_ENV = "DATAOS_SMTP_PORT"
SMTP_FROM_ENV = "DATAOS_SMTP_FROM"
SMTP_STARTTLS_ENV = "DATAOS_SMTP_STARTTLS"
SMTP_USER_ENV = "DATAOS_SMTP_USER"
SMTP_PASSWORD_ENV = "DATAOS_SMTP_PASSWORD"
"""A literal password, or a ``${{secret.<instance-secret>.<key>}}`` reference."""
SMTP_CA_FILE_ENV = "DATAOS_SMTP_CA_FILE"
"""A CA bundle to verify the server's certificate with (the system's by default)."""
REQUEST_SECONDS = 10.0
MAX_RESPONSE_BYTES = 4096
MAX_RECIPIENTS = 100
_RETRYABLE_SMTP = (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError)


RETRY_AFTER_STATUSES = frozenset({429, 503})
MAX_RETRY_AFTER_CHARS = 64


@dataclass(frozen=True)
class Sent:
    ok: bool
    retryable: bool = False
    status: int | None = None
    error: str | None = None
    retry_after: float | None = None
    """Seconds the target asked to wait before the next attempt (``Retry-After``)."""


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """A ``Retry-After`` value in seconds from now (RFC 9110 §10.2.3): ``delay-seconds`` or
    an ``HTTP-date`` in any of its three forms (a date in the past is 0); ``None`` when
    absent or not one of those."""
    if value is None or len(value) > MAX_RETRY_AFTER_CHARS:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # asctime form: no zone, and HTTP dates are GMT
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    host: str
    address: str
    """The checked IP address to connect to."""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None


def pinned(url: str, address: str) -> tuple[str, str]:
    """``url`` with its host replaced by ``address``, and the Host header it needs."""
    parts = urlsplit(url)
    literal = f"[{address}]" if ":" in address else address
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    return urlunsplit(parts._replace(netloc=netloc)), parts.netloc


def send_http(request: HttpRequest, timeout: float = REQUEST_SECONDS) -> Sent:
    """Send once to ``request.address``, naming the host in Host and TLS (SNI and the
    certificate check)."""
    url, host_header = pinned(request.url, request.address)
    headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
    headers["Host"] = host_header
    try:
        with (
            httpx.Client(follow_redirects=False, trust_env=False, timeout=timeout) as client,
            client.stream(
                request.method.upper(),
                url,
                headers=headers,
                content=request.body,
                extensions={"sni_hostname": request.host},
            ) as response,
        ):
            _read_some(response)
            status = response.status_code
            wait = retry_after(response.headers.get("retry-after"))
    except httpx.TimeoutException:
        return Sent(False, True, None, f"{request.host} did not answer in {timeout:g} s")
    except httpx.TransportError as exc:
        return Sent(False, True, None, f"cannot reach {request.host}: {type(exc).__name__}")
    if 200 <= status < 300:
        return Sent(True, False, status)
    retryable = status >= 500 or status == 429
    kind = "redirected (not followed)" if 300 <= status < 400 else "answered"
    error = f"{request.host} {kind} HTTP {status}"
    if status in RETRY_AFTER_STATUSES and wait is not None:
        return Sent(False, retryable, status, f"{error} (Retry-After {wait:.0f} s)", wait)
    return Sent(False, retryable, status, error)


def _read_some(response: httpx.Response) -> None:
    taken = 0
    for chunk in response.iter_bytes():
        taken += len(chunk)
        if taken >= MAX_RESPONSE_BYTES:
            break


def teams_card(incident: Mapping[str, Any]) -> dict[str, Any]:
    """The incident as an Adaptive Card in the message an Incoming Webhook (or a Teams
    Workflows webhook) accepts: ``{"type": "message", "attachments": [...]}``."""
    title = str(incident.get("name") or incident.get("monitor") or "DataOS incident")
    facts = [
        {"title": label, "value": str(incident[key])}
        for label, key in (
            ("Severity", "severity"),
            ("Type", "incidentType"),
            ("Workspace", "workspace"),
            ("Monitor", "monitor"),
            ("State", "state"),
            ("First seen", "firstSeen"),
            ("Last seen", "lastSeen"),
            ("Incident", "id"),
        )
        if incident.get(key) not in (None, "")
    ]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.2",
        "body": [
            {
                "type": "TextBlock",
                "size": "Medium",
                "weight": "Bolder",
                "text": title,
                "wrap": True,
            },
            {"type": "FactSet", "facts": facts},
        ],
    }
    attachment = {
        "contentType": "application/vnd.microsoft.card.adaptive",
        "contentUrl": None,
        "content": card,
    }
    return {"type": "message", "summary": title[:200], "attachments": [attachment]}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    starttls: bool
    user: str | None
    password: str | None
    """As configured: a literal or a secret reference, resolved by the caller."""
    ca_file: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SmtpSettings | None:
        values = os.environ if env is None else env
        host = values.get(SMTP_HOST_ENV)
        if not host:
            return None
        return cls(
            host=host,
            port=int(values.get(SMTP_PORT_ENV) or 587),
            sender=values.get(SMTP_FROM_ENV) or f"dataos@{socket.gethostname()}",
            starttls=values.get(SMTP_STARTTLS_ENV, "true").lower() not in ("false", "0", "no"),
            user=values.get(SMTP_USER_ENV) or None,
            password=values.get(SMTP_PASSWORD_ENV) or None,
            ca_file=values.get(SMTP_CA_FILE_ENV) or None,
        )


def email_message(sender: str, recipients: list[str], subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients[:MAX_RECIPIENTS])
    message["Subject"] = " ".join(subject.split())[:200]
    message.set_content(body)
    return message


def send_email(
    settings: SmtpSettings,
    message: EmailMessage,
    password: str | None,
    timeout: float = REQUEST_SECONDS,
) -> Sent:
    """Send through the configured server; credentials only ever over STARTTLS."""
    if settings.user and not settings.starttls:
        return Sent(
            False,
            False,
            None,
            f"SMTP credentials are configured but {SMTP_STARTTLS_ENV} is off: they would "
            "cross the network in clear text, so nothing was sent",
        )
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=timeout) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=settings.ca_file))
            if settings.user and password is not None:
                smtp.login(settings.user, password)
            smtp.send_message(message)
    except smtplib.SMTPResponseException as exc:
        retryable = 400 <= exc.smtp_code < 500
        return Sent(
            False, retryable, exc.smtp_code, f"{settings.host} answered SMTP {exc.smtp_code}"
        )
    except smtplib.SMTPNotSupportedError:
        return Sent(False, False, None, f"{settings.host} does not offer STARTTLS")
    except smtplib.SMTPRecipientsRefused:
        return Sent(False, False, None, f"{settings.host} refused every recipient")
    except ssl.SSLError as exc:
        return Sent(False, False, None, f"TLS with {settings.host} failed: {exc.reason}")
    except _RETRYABLE_SMTP as exc:
        return Sent(False, True, None, f"cannot reach {settings.host}: {type(exc).__name__}")
    return Sent(True, False, 250)
