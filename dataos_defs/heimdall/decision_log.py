"""The decision log: every access decision, appended as one JSON line, never a secret.

Decisions are made thousands of times per second, so logging must not sit on the
request's path: entries go to a bounded in-memory queue and one writer thread appends
them to ``<DATAOS_HOME>/decisions.jsonl`` in batches. Only what identifies a decision is
written (subject, its tags, predicate, object, outcome, deciding policy, reason,
latency); the credential that authenticated the subject never reaches this module. When
the queue is full the oldest pending entries are dropped and counted, rather than
blocking requests; ``dropped`` says how many.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

DECISION_LOG_FILE = "decisions.jsonl"
_QUEUE_SIZE = 100_000
_BATCH = 1_000


@dataclass(frozen=True)
class DecisionRecord:
    decision_id: str
    time: str
    subject: str
    subject_tags: tuple[str, ...]
    predicate: str
    object: str
    allow: bool
    policy: str | None
    reason: str
    latency_ms: float
    source: str = "heimdall"

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


def new_record(
    subject: str,
    subject_tags: tuple[str, ...],
    predicate: str,
    obj: str,
    allow: bool,
    policy: str | None,
    reason: str,
    latency_ms: float,
    source: str = "heimdall",
) -> DecisionRecord:
    return DecisionRecord(
        decision_id=uuid.uuid4().hex,
        time=datetime.now(UTC).isoformat(timespec="milliseconds"),
        subject=subject,
        subject_tags=subject_tags,
        predicate=predicate,
        object=obj,
        allow=allow,
        policy=policy,
        reason=reason,
        latency_ms=round(latency_ms, 3),
        source=source,
    )


class Record(Protocol):
    def to_json(self) -> str: ...


class JsonLinesLog:
    """Asynchronous, append-only JSON-lines log (the decision log, the gateway's audit)."""

    def __init__(self, path: Path, thread_name: str = "decision-log") -> None:
        self.path = path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._queue: queue.Queue[Record | None] = queue.Queue(_QUEUE_SIZE)
        self._lock = threading.Lock()
        self.dropped = 0
        self._writer = threading.Thread(target=self._run, name=thread_name, daemon=True)
        self._writer.start()

    def append(self, record: Record) -> None:
        try:
            self._queue.put_nowait(record)
        except queue.Full:
            with self._lock:
                self.dropped += 1

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until every record appended so far is on disk."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)

    def close(self) -> None:
        self.flush()
        self._queue.put(None)
        self._writer.join(timeout=5)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            batch = [first]
            while len(batch) < _BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            records = [r for r in batch if r is not None]
            if records:
                with self.path.open("a", encoding="utf-8") as out:
                    out.write("".join(r.to_json() + "\n" for r in records))
            for _ in batch:
                self._queue.task_done()
            if len(records) < len(batch):
                return

    def entries(self) -> Iterator[dict[str, object]]:
        """Every entry written so far, oldest first."""
        self.flush()
        if not self.path.exists():
            return
        with self.path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    yield json.loads(line)


class DecisionLog(JsonLinesLog):
    """Every access decision Heimdall makes."""

    def read(
        self, since: datetime | None = None, subject: str | None = None, limit: int = 1000
    ) -> list[dict[str, object]]:
        """The newest ``limit`` decisions matching the filters, oldest first."""
        matching: list[dict[str, object]] = []
        for entry in self.entries():
            tags = entry.get("subject_tags")
            names = {entry.get("subject"), *(tags if isinstance(tags, list) else [])}
            if subject and subject not in names:
                continue
            if since and datetime.fromisoformat(str(entry["time"])) < since:
                continue
            matching.append(entry)
        return matching[-limit:]
