"""The Gateway's query audit: one JSON line per query, whatever its outcome.

Recorded: who (user id), where (cluster), what (the SHA-256 of the SQL as sent, never the
text itself, which may carry personal data in literals; the rewritten SQL the engine ran,
which is what governance reviews need), which data policies applied per dataset, how many
rows were returned, how long it took and the outcome (``ok``, ``refused``, ``denied``,
``failed``) with the message the caller saw. Written asynchronously to
``<DATAOS_HOME>/gateway/queries.jsonl``, rotated by size and by day into
``<DATAOS_HOME>/gateway/archive/`` (gzip, kept N files and D days: rotating_log.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from dataos_defs.heimdall.decision_log import JsonLinesLog
from dataos_defs.heimdall.log_reading import Entry, Query
from dataos_defs.heimdall.rotating_log import Clock, Retention, utc_now

AUDIT_FILE = Path("gateway") / "queries.jsonl"
AUDIT_ARCHIVE = Path("gateway") / "archive"
Outcome = Literal["ok", "refused", "denied", "failed"]


def sql_digest(sql: str) -> str:
    return hashlib.sha256(sql.encode()).hexdigest()


@dataclass(frozen=True)
class QueryRecord:
    query_id: str
    time: str
    user: str
    cluster: str | None
    sql_sha256: str
    rewritten: str | None
    policies: dict[str, tuple[str, ...]]
    datasets: tuple[str, ...]
    rows: int | None
    duration_ms: float
    outcome: Outcome
    message: str | None = None
    source: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), default=str)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class QueryAudit(JsonLinesLog):
    """Append-only, asynchronous; ``read`` filters by user and keeps the newest."""

    def __init__(
        self, home: Path, retention: Retention | None = None, clock: Clock = utc_now
    ) -> None:
        super().__init__(home / AUDIT_FILE, home / AUDIT_ARCHIVE, "gateway-audit", retention, clock)

    def read(self, user: str | None = None, limit: int = 100) -> list[Entry]:
        if user is None:
            return self.newest(Query(limit))
        needle = json.dumps(user).encode()
        return self.newest(Query(limit, None, (needle,), lambda e: e.get("user") == user))
