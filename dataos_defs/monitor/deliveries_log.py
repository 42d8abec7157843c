"""The delivery log: one JSON line per delivery attempt, rotated like the decision log.

``<DATAOS_HOME>/deliveries.jsonl``, rotated by size and day into
``<DATAOS_HOME>/logs/deliveries/`` (gzip, N files and D days: ``heimdall.rotating_log``,
``DATAOS_LOG_*`` settings). A record says which pager, which incident, which output and
the target's HOST only: a URL's path and query (Teams and chat webhooks carry their
token there), headers and bodies never reach it, and error texts are scrubbed of the
secret values the attempt used before they are written.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from dataos_defs.heimdall.decision_log import JsonLinesLog
from dataos_defs.heimdall.log_reading import Entry, Query, newest
from dataos_defs.heimdall.rotating_log import Clock, Retention, archives, utc_now

DELIVERY_LOG_FILE = "deliveries.jsonl"
DELIVERY_ARCHIVE = Path("logs") / "deliveries"
MAX_ERROR_CHARS = 300
MAX_READ = 1000
Outcome = str
"""``delivered``, ``retrying``, ``failed``, ``dropped`` (queue full) or ``refused``."""


@dataclass(frozen=True)
class DeliveryRecord:
    time: str
    delivery_id: str
    pager: str
    """``<workspace>/<name>``."""
    incident: str
    output: str
    target: str
    attempt: int
    outcome: Outcome
    status: int | None = None
    error: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


def record(
    delivery_id: str,
    pager: str,
    incident: str,
    output: str,
    target: str,
    attempt: int,
    outcome: Outcome,
    status: int | None = None,
    error: str | None = None,
) -> DeliveryRecord:
    return DeliveryRecord(
        time=datetime.now(UTC).isoformat(timespec="milliseconds"),
        delivery_id=delivery_id,
        pager=pager,
        incident=incident,
        output=output,
        target=target,
        attempt=attempt,
        outcome=outcome,
        status=status,
        error=None if error is None else error[:MAX_ERROR_CHARS],
    )


class DeliveryLog(JsonLinesLog):
    """Every delivery attempt of every pager of this installation."""

    def __init__(
        self,
        path: Path,
        archive_dir: Path | None = None,
        retention: Retention | None = None,
        clock: Clock = utc_now,
    ) -> None:
        folder = archive_dir or path.parent / DELIVERY_ARCHIVE
        super().__init__(path, folder, "delivery-log", retention, clock)

    @classmethod
    def in_home(cls, home: Path) -> DeliveryLog:
        return cls(home / DELIVERY_LOG_FILE)

    def read(
        self, pager: str | None = None, incident: str | None = None, limit: int = 100
    ) -> list[Entry]:
        self.flush()
        return read_deliveries(self.path, pager, incident, limit)


def read_deliveries(
    live: Path, pager: str | None = None, incident: str | None = None, limit: int = 100
) -> list[Entry]:
    """The newest ``limit`` attempts (at most :data:`MAX_READ`) of ``pager``
    (``<workspace>/<name>``) and ``incident``, oldest first, from the live file ``live``
    and its archives; reading needs no writer (the API server only reads)."""
    wanted = {key: value for key, value in (("pager", pager), ("incident", incident)) if value}
    needles = tuple(
        json.dumps({key: value}, separators=(",", ":"))[1:-1].encode()
        for key, value in wanted.items()
    )[:1]

    def keep(entry: Entry) -> bool:
        return all(entry.get(key) == value for key, value in wanted.items())

    folder = live.parent / DELIVERY_ARCHIVE
    stem = live.name.removesuffix(".jsonl")
    query = Query(max(1, min(limit, MAX_READ)), None, needles, keep)
    return newest(live, lambda: archives(folder, stem), query)
