"""The decision log: every access decision, appended as one JSON line, never a secret.

Decisions are made thousands of times per second, so logging must not sit on the
request's path: entries go to a bounded in-memory queue and one writer thread appends
them to ``<DATAOS_HOME>/decisions.jsonl`` in batches. Only what identifies a decision is
written (subject, its tags, predicate, object, outcome, deciding policy, reason,
latency); the credential that authenticated the subject never reaches this module. When
the queue is full the oldest pending entries are dropped and counted, rather than
blocking requests; ``dropped`` says how many.

The file rotates by size and by day into ``<DATAOS_HOME>/logs/decisions/`` (gzip, kept N
files and D days: rotating_log.py), and ``read`` goes back only as far as it is asked.
A filtered list is one record (``shown`` and ``hidden`` items) rather than one per item.

Every record has its own ``decision_id`` (32 hex digits, as a UUID's): a random 64-bit
prefix drawn once per process (again in a forked child) and a 64-bit sequence number. It
is unique without asking the kernel for randomness per decision, which under load cost more
than the decision itself (issue 13's ingress profile).
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from dataos_defs.heimdall.log_reading import Entry, Query, newest
from dataos_defs.heimdall.rotating_log import Clock, Retention, RotatingFile, utc_now

DECISION_LOG_FILE = "decisions.jsonl"
DECISION_ARCHIVE = Path("logs") / "decisions"
"""Where rotated decision files go, relative to the live file's folder (DATAOS_HOME)."""
_QUEUE_SIZE = 100_000
_BATCH = 1_000


class _DecisionIds:
    """Unique decision ids: this process's random prefix and a sequence number."""

    def __init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._sequence = itertools.count()

    def next(self) -> str:
        return f"{self._prefix}{next(self._sequence) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


_ids = _DecisionIds()
os.register_at_fork(after_in_child=_ids.reseed)


def new_decision_id() -> str:
    """A decision id no other record of any process has (see the module docstring)."""
    return _ids.next()


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
    shown: int | None = None
    hidden: int | None = None

    def to_json(self) -> str:
        fields = asdict(self)
        for counted in ("shown", "hidden"):
            if fields[counted] is None:
                del fields[counted]
        return json.dumps(fields, separators=(",", ":"))


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
    *,
    shown: int | None = None,
    hidden: int | None = None,
) -> DecisionRecord:
    return DecisionRecord(
        decision_id=new_decision_id(),
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
        shown=shown,
        hidden=hidden,
    )


class Record(Protocol):
    def to_json(self) -> str: ...


class JsonLinesLog:
    """Asynchronous, append-only, rotated JSON-lines log (the decision log, the audit)."""

    def __init__(
        self,
        path: Path,
        archive_dir: Path,
        thread_name: str = "decision-log",
        retention: Retention | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.path = path
        self.file = RotatingFile(path, archive_dir, retention, clock)
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
        self.file.close()

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
                self.file.append("".join(r.to_json() + "\n" for r in records).encode())
            for _ in batch:
                self._queue.task_done()
            if len(records) < len(batch):
                return

    def newest(self, query: Query) -> list[Entry]:
        """The newest ``query.limit`` matching entries, across rotated files, oldest first."""
        self.flush()
        return newest(self.path, self.file.archives, query)


class DecisionLog(JsonLinesLog):
    """Every access decision Heimdall makes."""

    def __init__(
        self,
        path: Path,
        archive_dir: Path | None = None,
        retention: Retention | None = None,
        clock: Clock = utc_now,
    ) -> None:
        folder = archive_dir or path.parent / DECISION_ARCHIVE
        super().__init__(path, folder, "decision-log", retention, clock)

    def read(
        self, since: datetime | None = None, subject: str | None = None, limit: int = 1000
    ) -> list[Entry]:
        """The newest ``limit`` decisions matching the filters, oldest first."""
        if not subject:
            return self.newest(Query(limit, since))
        needle = json.dumps(subject).encode()
        return self.newest(Query(limit, since, (needle,), lambda e: _about(e, subject)))


def _about(entry: Entry, subject: str) -> bool:
    tags = entry.get("subject_tags")
    return entry.get("subject") == subject or (isinstance(tags, list) and subject in tags)
