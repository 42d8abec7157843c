"""A receiver on 127.0.0.1 that answers 429 (or 503) with ``Retry-After``: the deliverer
waits what it asks (seconds or an HTTP date), never longer than its cap, and a value that
is neither is ignored (the usual backoff)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dataos_defs.monitor.deliveries_log import DELIVERY_LOG_FILE
from dataos_defs.monitor.deliveries_send import retry_after
from dataos_defs.monitor.deliveries_targets import ALLOW_NETWORKS_ENV
from tests.monitor.deliveries_support import INCIDENT, deliverer, webhook_pager


@pytest.fixture(autouse=True)
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_NETWORKS_ENV, "127.0.0.1/32")


@contextmanager
def throttling(answers: list[tuple[int, str | None]]) -> Iterator[tuple[str, list[float]]]:
    """Answers ``(status, Retry-After)`` in turn, then 200; the times requests arrived."""
    arrived: list[float] = []
    scripted = list(answers)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            arrived.append(datetime.now(UTC).timestamp())
            status, wait = scripted.pop(0) if scripted else (200, None)
            self.send_response(status)
            if wait is not None:
                self.send_header("Retry-After", wait)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", arrived
    finally:
        server.shutdown()
        server.server_close()


def deliver(tmp_path: Path, answers: list[tuple[int, str | None]]) -> tuple[list[float], list[Any]]:
    with throttling(answers) as (url, arrived):
        made, slept = deliverer(tmp_path)
        made.submit("public", webhook_pager(url), INCIDENT)
        assert made.drain()
        made.close()
    assert len(arrived) == len(answers) + 1
    lines = (tmp_path / DELIVERY_LOG_FILE).read_text().splitlines()
    return slept, [json.loads(line) for line in lines]


def test_seconds_are_waited_before_the_next_attempt(tmp_path: Path) -> None:
    slept, records = deliver(tmp_path, [(429, "7"), (503, "2")])
    assert slept[0] == 7.0  # more than the first backoff (0.5-1 s)
    assert slept[1] == 2.0  # the larger of the second backoff (1-2 s) and what it asked
    assert [(r["outcome"], r["status"]) for r in records] == [
        ("retrying", 429),
        ("retrying", 503),
        ("delivered", 200),
    ]
    assert "Retry-After 7 s" in records[0]["error"]


def test_an_http_date_is_waited_until(tmp_path: Path) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    slept, _ = deliver(tmp_path, [(429, when)])
    assert 27.0 <= slept[0] <= 30.0


@pytest.mark.parametrize("asked", ["86400", "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_a_long_wait_is_capped(tmp_path: Path, asked: str) -> None:
    slept, records = deliver(tmp_path, [(429, asked)])
    assert slept == [60.0] and records[-1]["outcome"] == "delivered"


@pytest.mark.parametrize("asked", ["soon", "-5", "1.5", "x" * 500, ""])
def test_a_value_that_is_neither_is_ignored(tmp_path: Path, asked: str) -> None:
    slept, _ = deliver(tmp_path, [(429, asked)])
    assert 0.5 <= slept[0] <= 1.0  # the first backoff


def test_parsing_follows_rfc_9110() -> None:
    now = datetime(2026, 12, 8, 1, 0, tzinfo=UTC).timestamp()
    assert retry_after("120", now) == 120.0
    assert retry_after("Tue, 08 Dec 2026 01:00:30 GMT", now) == 30.0
    assert retry_after("Tue, 08 Dec 2026 00:59:00 GMT", now) == 0.0  # in the past
    assert retry_after("Tuesday, 08-Dec-26 01:01:00 GMT", now) == 60.0  # obsolete RFC 850
    assert retry_after("Tue Dec  8 01:00:10 2026", now) == 10.0  # obsolete asctime, GMT
    assert retry_after(None, now) is None
