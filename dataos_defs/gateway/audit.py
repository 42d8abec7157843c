"""The Gateway's query audit: one JSON line per query, whatever its outcome.

Recorded: who (user id), where (cluster), what (the SHA-256 of the SQL as sent, never the
text itself, which may carry personal data in literals; the rewritten SQL the engine ran,
which is what governance reviews need), which data policies applied per dataset, how many
rows were returned, how long it took and the outcome (``ok``, ``refused``, ``denied``,
``failed``) with the message the caller saw. Written asynchronously to
``<DATAOS_HOME>/gateway/queries.jsonl``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from dataos_defs.heimdall.decision_log import JsonLinesLog

AUDIT_FILE = Path("gateway") / "queries.jsonl"
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

    def __init__(self, home: Path) -> None:
        super().__init__(home / AUDIT_FILE, thread_name="gateway-audit")

    def read(self, user: str | None = None, limit: int = 100) -> list[dict[str, object]]:
        found = [e for e in self.entries() if user is None or e.get("user") == user]
        return found[-limit:]
