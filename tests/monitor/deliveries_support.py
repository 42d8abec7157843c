"""Real receivers on 127.0.0.1 for pager tests: an HTTP server with scripted answers and
an SMTP server (aiosmtpd), plus builders for pagers, incidents and deliverers."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from dataos_defs.manifest.loader import parse_yaml
from dataos_defs.manifest.pager import Pager
from dataos_defs.manifest.validate import parse_documents
from dataos_defs.monitor.deliveries import Backoff, Deliverer
from dataos_defs.monitor.deliveries_log import DeliveryLog
from dataos_defs.monitor.deliveries_secrets import SecretSource, SecretUnavailable

INCIDENT: dict[str, Any] = {
    "id": "inc-42",
    "workspace": "public",
    "monitor": "orders-failing",
    "name": "orders workflow failed",
    "severity": "high",
    "incidentType": "workflowruntimefailure",
    "context": {"workflow": "orders", "message": 'step "load" said: bad\nrow'},
    "state": "open",
    "firstSeen": 1765000000000,
    "lastSeen": 1765000060000,
    "occurrences": 2,
}


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpReceiver:
    url: str
    answers: list[int] = field(default_factory=list)
    """Statuses to answer, first first; 200 once they run out."""
    received: list[Received] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)


@contextmanager
def http_receiver(answers: list[int] | None = None) -> Iterator[HttpReceiver]:
    receiver = HttpReceiver("", list(answers or []))

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            receiver.received.append(
                Received(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
            )
            status = receiver.answers.pop(0) if receiver.answers else 200
            self.send_response(status)
            if status in (301, 302, 307):
                self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "1")
            self.end_headers()
            self.wfile.write(b"1")
            receiver.arrived.set()

        do_POST = do_PUT = do_GET = do_PATCH = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []
        self.logins: list[str] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        self.arrived.set()
        return "250 OK"


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (its own CA) and its key, as PEM files in ``folder``."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp.pem", folder / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@contextmanager
def smtp_receiver(
    tls: tuple[Path, Path] | None = None, logins: dict[str, str] | None = None
) -> Iterator[tuple[int, _Mailbox]]:
    """An SMTP server on 127.0.0.1; with ``tls`` (cert, key) it requires STARTTLS, and
    with ``logins`` it requires AUTH with one of them (and records who logged in)."""
    mailbox = _Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    options: dict[str, Any] = {}
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*tls)
        options.update(tls_context=context, require_starttls=True)
    if logins is not None:

        def authenticate(
            server: Any, session: Any, envelope: Any, mechanism: str, data: Any
        ) -> AuthResult:
            user, password = data.login.decode(), data.password.decode()
            ok = logins.get(user) == password
            if ok:
                mailbox.logins.append(user)
            return AuthResult(success=ok)

        options.update(auth_required=True, authenticator=authenticate)
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()


class DictSecrets(SecretSource):
    """Secrets held in memory, for tests that do not need the store."""

    def __init__(self, values: dict[tuple[str, str, str], str]) -> None:
        self.values = values

    def value(self, workspace: str, name: str, key: str) -> str:
        try:
            return self.values[(workspace, name, key)]
        except KeyError:
            raise SecretUnavailable(f"secret '{name}' has no key '{key}'") from None


def pager(text: str) -> Pager:
    """A pager manifest, validated as ``dataos-ctl apply`` validates it."""
    documents, issues = parse_yaml(text, "pager.yaml")
    assert not issues, issues
    parsed = parse_documents(documents, "public")
    assert len(parsed) == 1
    model = parsed[0].model
    assert isinstance(model, Pager)
    return model


def webhook_pager(url: str, body: str = '{"text": "{{ .Name }}"}', extra: str = "") -> Pager:
    return pager(
        f"""\
name: orders-hook
version: v1alpha
type: pager
pager:
  conditions:
    - valueJqFilter: .severity
      operator: equals
      value: high
  output:
    webHook:
      url: {url}
      verb: post
{extra}      bodyTemplate: '{body}'
"""
    )


def deliverer(
    tmp_path: Path,
    secrets: SecretSource | None = None,
    *,
    attempts: int = 5,
    queue_size: int = 100,
    workers: int = 1,
) -> tuple[Deliverer, list[float]]:
    """A deliverer logging under ``tmp_path``; its sleeps are recorded, not slept."""
    slept: list[float] = []
    made = Deliverer(
        DeliveryLog.in_home(tmp_path),
        secrets or DictSecrets({}),
        backoff=Backoff(attempts=attempts, base=1.0, cap=60.0),
        sleep=slept.append,
        queue_size=queue_size,
        workers=workers,
    )
    return made, slept
