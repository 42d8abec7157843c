"""Rotation of the JSON-lines logs: by size and by day (time driven by an injected clock),
gzip, retention, no line lost with two processes appending, reads across rotated files."""

from __future__ import annotations

import dataclasses
import gzip
import json
import multiprocessing
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dataos_defs.gateway.audit import QueryAudit
from dataos_defs.heimdall.decision_log import DecisionLog, new_record
from dataos_defs.heimdall.log_reading import reverse_lines
from dataos_defs.heimdall.rotating_log import Retention, RotatingFile, archives

START = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def line(moment: datetime, n: int, subject: str = "alice") -> bytes:
    record = {"time": moment.isoformat(timespec="milliseconds"), "n": n, "subject": subject}
    return (json.dumps(record, separators=(",", ":")) + "\n").encode()


def numbers(path: Path) -> list[int]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as lines:
        return [json.loads(text)["n"] for text in lines if text.strip()]


def every_number(live: Path, folder: Path, stem: str) -> list[int]:
    found = [n for a in reversed(archives(folder, stem)) for n in numbers(a.path)]
    return found + (numbers(live) if live.exists() else [])


@pytest.fixture
def clock() -> Clock:
    return Clock()


def rotating(tmp_path: Path, clock: Clock, **retention: int) -> RotatingFile:
    return RotatingFile(
        tmp_path / "decisions.jsonl", tmp_path / "archive", Retention(**retention), clock
    )


def test_rotates_at_the_size_limit_and_compresses(tmp_path: Path, clock: Clock) -> None:
    log = rotating(tmp_path, clock, max_bytes=1000)
    for n in range(60):
        log.append(line(clock(), n))
        clock.advance(seconds=1)
    log.settle()
    rotated = log.archives()
    assert len(rotated) >= 3
    assert all(a.path.name.endswith(".jsonl.gz") for a in rotated)
    assert not list((tmp_path / "archive").glob("*.jsonl"))
    assert all(a.path.stat().st_size < 1000 for a in rotated)
    assert every_number(log.path, log.archive_dir, "decisions") == list(range(60))
    log.close()


def test_rotates_when_the_day_changes(tmp_path: Path, clock: Clock) -> None:
    log = rotating(tmp_path, clock)
    clock.now = datetime(2026, 12, 7, 23, 59, 58, tzinfo=UTC)
    log.append(line(clock(), 0))
    clock.advance(seconds=1)
    log.append(line(clock(), 1))
    assert log.archives() == []
    clock.advance(seconds=2)
    log.append(line(clock(), 2))
    log.settle()
    (archive,) = log.archives()
    assert numbers(archive.path) == [0, 1]
    assert archive.rotated == datetime(2026, 12, 8, 0, 0, 1, tzinfo=UTC)
    assert numbers(log.path) == [2]
    log.close()


def test_keeps_the_newest_files_and_days(tmp_path: Path, clock: Clock) -> None:
    log = rotating(tmp_path, clock, max_bytes=70, keep_files=3, keep_days=2)
    for n in range(6):
        log.append(line(clock(), n))
        clock.advance(hours=6)
    log.settle()
    assert len(log.archives()) == 3
    clock.advance(days=3)
    log.append(line(clock(), 6))
    log.settle()
    (kept,) = log.archives()
    assert numbers(kept.path) == [5]
    log.close()


def test_a_staged_file_left_by_a_crash_is_still_read_then_compressed(
    tmp_path: Path, clock: Clock
) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    staged = folder / "decisions-20261207T090000000000Z.jsonl"
    staged.write_bytes(line(START - timedelta(hours=1), 0))
    an_hour_ago = staged.stat().st_mtime - 3600
    os.utime(staged, (an_hour_ago, an_hour_ago))
    log = rotating(tmp_path, clock, max_bytes=60)
    log.append(line(clock(), 1))
    assert every_number(log.path, folder, "decisions") == [0, 1]
    log.append(line(clock(), 2))
    log.settle()
    assert (folder / (staged.name + ".gz")).exists() and not staged.exists()
    assert every_number(log.path, folder, "decisions") == [0, 1, 2]
    log.close()


def _appender(live: str, folder: str, first: int, count: int) -> None:
    log = RotatingFile(Path(live), Path(folder), Retention(max_bytes=4096, keep_files=1000))
    for n in range(first, first + count):
        log.append(line(datetime.now(UTC), n))
    log.close()


def test_two_processes_appending_lose_no_line(tmp_path: Path) -> None:
    live, folder = tmp_path / "decisions.jsonl", tmp_path / "archive"
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_appender, args=(str(live), str(folder), first, 3000))
        for first in (0, 100_000)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    found = every_number(live, folder, "decisions")
    assert sorted(found) == [*range(3000), *range(100_000, 103_000)]
    assert len(archives(folder, "decisions")) > 10


def test_reverse_lines_leaves_out_a_line_being_written(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(b"".join(line(START, n) for n in range(500)) + b'{"time":"2026')
    read = [json.loads(text)["n"] for text in reverse_lines(path, block=97)]
    assert read == list(range(499, -1, -1))


def decision_log(tmp_path: Path, clock: Clock) -> DecisionLog:
    return DecisionLog(tmp_path / "decisions.jsonl", None, Retention(max_bytes=2000), clock)


def decide(log: DecisionLog, clock: Clock, subject: str, tags: tuple[str, ...] = ()) -> None:
    record = new_record(subject, tags, "read", "poros://x", True, "p", "ok", 0.1)
    log.append(dataclasses.replace(record, time=clock().isoformat()))


def test_decisions_are_read_across_rotated_files(tmp_path: Path, clock: Clock) -> None:
    log = decision_log(tmp_path, clock)
    for n in range(90):
        decide(log, clock, "alice" if n % 3 else "bob", ("roles:id:user",))
        log.flush()
        clock.advance(minutes=1)
    assert len(log.file.archives()) >= 3
    bobs = log.read(subject="bob", limit=1000)
    assert len(bobs) == 30 and {d["subject"] for d in bobs} == {"bob"}
    assert len(log.read(subject="roles:id:user", limit=1000)) == 90
    newest_five = log.read(limit=5)
    times = [str(d["time"]) for d in newest_five]
    assert times == sorted(times) and times[-1] == (clock.now - timedelta(minutes=1)).isoformat()
    since = START + timedelta(minutes=60)
    recent = log.read(since=since.replace(tzinfo=None), subject="alice")
    assert len(recent) == 20
    assert all(datetime.fromisoformat(str(d["time"])) >= since for d in recent)
    log.close()


def test_since_stops_before_older_archives(tmp_path: Path, clock: Clock) -> None:
    """An archive rotated before ``since`` is never opened: a line planted in the oldest
    one with a recent time would otherwise be found."""
    log = decision_log(tmp_path, clock)
    for _ in range(90):
        decide(log, clock, "alice")
        log.flush()
        clock.advance(minutes=1)
    oldest = log.file.archives()[-1].path
    with gzip.open(oldest, "ab") as planted:
        planted.write(line(clock.now, -1))
    since = clock.now - timedelta(minutes=5)
    recent = log.read(since=since, limit=100)
    assert len(recent) == 5 and all("n" not in d for d in recent)
    everything = log.read(since=START, limit=1000)
    assert len(everything) == 91 and any(d.get("n") == -1 for d in everything)
    log.close()


def test_the_audit_rotates_and_reads_the_newest_per_user(tmp_path: Path, clock: Clock) -> None:
    audit = QueryAudit(tmp_path, Retention(max_bytes=1500), clock)
    for n in range(40):
        text = json.dumps({"time": clock().isoformat(), "user": f"u{n % 2}", "n": n})
        audit.append(_Raw(text))
        audit.flush()
        clock.advance(seconds=10)
    assert (tmp_path / "gateway" / "archive").is_dir() and audit.file.archives()
    assert [e["n"] for e in audit.read(user="u1", limit=3)] == [35, 37, 39]
    assert len(audit.read(limit=1000)) == 40
    audit.close()


class _Raw:
    def __init__(self, text: str) -> None:
        self.text = text

    def to_json(self) -> str:
        return self.text
