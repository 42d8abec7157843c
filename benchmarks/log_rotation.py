"""Issue 10: logs that do not eat the disk. Rotation's cost on appends, and what reading
only what is needed saves ``policy decisions --subject X --since T``.

Appends: the writer thread's work on 200,000 decisions in batches of 1,000 (serialise,
append), as the log wrote them before (open in append mode, write, close) and through the
rotating file (shared lock, inode check; never due, then rotating at 16 MiB with gzip and
retention, the compression awaited). Reads: a 150 MB
history of three days (five subjects, one of them rare) read the old way (one file,
every line parsed) and the new way (the live file backwards then the archives newest
first, stopping at ``--since``; a needle test before any JSON parsing).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dataos_defs.heimdall.decision_log import DecisionLog, DecisionRecord, new_record  # noqa: E402
from dataos_defs.heimdall.rotating_log import Retention, RotatingFile  # noqa: E402

BATCH = 1000
APPENDED = 200_000
HISTORY_BYTES = 150 * 1024 * 1024
SUBJECTS = ("alice", "bob", "carol", "dave", "rare-erin")
START = datetime(2026, 12, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def _line(n: int, moment: datetime) -> str:
    subject = SUBJECTS[4] if n % 97 == 0 else SUBJECTS[n % 4]
    record = new_record(
        subject,
        ("roles:id:user", f"dataos:workspace:team-{n % 7}"),
        "read",
        f"poros://workflow:team-{n % 7}/flow-{n % 1000}",
        n % 3 != 0,
        "workspace-team-a" if n % 3 else None,
        "allowed by workspace-team-a" if n % 3 else "no policy allows it",
        0.042,
    )
    return dataclasses.replace(record, time=moment.isoformat(timespec="milliseconds")).to_json()


def _batches(count: int, step: timedelta, clock: Clock) -> Iterator[bytes]:
    for first in range(0, count, BATCH):
        lines = []
        for n in range(first, min(first + BATCH, count)):
            lines.append(_line(n, clock.now) + "\n")
            clock.now += step
        yield "".join(lines).encode()


def _records(count: int) -> list[list[DecisionRecord]]:
    moment = START
    records = []
    for n in range(count):
        record = new_record(SUBJECTS[n % 4], ("roles:id:user",), "read", f"p/{n}", True, "p", "", 1)
        records.append(dataclasses.replace(record, time=moment.isoformat()))
        moment += timedelta(milliseconds=5)
    return [records[i : i + BATCH] for i in range(0, count, BATCH)]


def append_rates(folder: Path) -> dict[str, float]:
    """Lines per second of the writer thread (best of 3): serialising and appending batches,
    the old way (open, write, close) and through the rotating file (gzip included)."""
    batches = _records(APPENDED)
    rates: dict[str, float] = {}
    for run in range(3):
        for label, limit in (("before", 0), ("no rotation due", 1 << 40), ("rotating", 16 << 20)):
            rate = _append_rate(folder / f"{run}-{label}", batches, limit)
            rates[label] = max(rates.get(label, 0.0), rate)
    return rates


def _append_rate(folder: Path, batches: list[list[DecisionRecord]], limit: int) -> float:
    folder.mkdir()
    live = folder / "decisions.jsonl"
    clock = Clock()
    rotating = RotatingFile(live, folder / "archive", Retention(limit), clock) if limit else None
    started = time.perf_counter()
    for batch in batches:
        data = "".join(r.to_json() + "\n" for r in batch).encode()
        if rotating is None:
            with live.open("ab") as out:
                out.write(data)
            continue
        clock.now += timedelta(seconds=5)
        rotating.append(data)
    if rotating is not None:
        rotating.close()
    rate = APPENDED / (time.perf_counter() - started)
    shutil.rmtree(folder)
    return rate


def write_history(folder: Path) -> tuple[Path, DecisionLog, datetime]:
    """The same 150 MB history as one file and as a rotated log; returns ``since``."""
    whole = folder / "whole.jsonl"
    per_line = len(_line(1, START)) + 1
    count = HISTORY_BYTES // per_line
    step = timedelta(days=3) / count
    clock = Clock()
    rotating = RotatingFile(folder / "decisions.jsonl", folder / "logs", Retention(), clock)
    with whole.open("wb") as out:
        for data in _batches(count, step, clock):
            out.write(data)
            rotating.append(data)
    rotating.close()
    log = DecisionLog(folder / "decisions.jsonl", folder / "logs", Retention(), clock)
    return whole, log, clock.now - timedelta(hours=1)


def whole_scan(path: Path, since: datetime, subject: str, limit: int) -> list[dict[str, object]]:
    """The decision log's read before rotation: every line parsed, then filtered."""
    matching: list[dict[str, object]] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            entry = json.loads(line)
            names = {entry.get("subject"), *entry.get("subject_tags", [])}
            if subject not in names or datetime.fromisoformat(entry["time"]) < since:
                continue
            matching.append(entry)
    return matching[-limit:]


def _timed(call: object) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()  # type: ignore[operator]
    return time.perf_counter() - started, result


def main() -> None:
    print("Issue 10: log rotation (decision log and query audit)")
    with tempfile.TemporaryDirectory(prefix="bench-log-rotation-") as name:
        folder = Path(name)
        rates = append_rates(folder)
        before = rates["before"]
        print(f"  append before (open/write/close)  {before:>10,.0f} lines/s")
        for label in ("no rotation due", "rotating"):
            print(f"  append, {label:<25} {rates[label]:>10,.0f} lines/s "
                  f"(overhead ratio {before / rates[label]:.2f}x)")  # fmt: skip
        whole, log, since = write_history(folder)
        rotated = log.file.archives()
        print(f"  history                  {whole.stat().st_size / 2**20:>12,.0f} MiB, "
              f"{len(rotated)} archives + live file")  # fmt: skip
        for subject in ("alice", "rare-erin"):
            old_s, old = _timed(lambda s=subject: whole_scan(whole, since, s, 50))
            new_s, new = _timed(lambda s=subject: log.read(since=since, subject=s, limit=50))
            assert old == new, f"the two reads disagree for {subject}"
            print(f"  decisions --subject {subject:<9} --since T-1h: whole scan {old_s:.2f} s, "
                  f"rotated {new_s * 1000:.1f} ms ({old_s / new_s:,.0f}x)")  # fmt: skip
        wide_s, wide = _timed(lambda: log.read(since=START, subject="rare-erin", limit=10_000))
        print(f"  --subject rare-erin --since start, limit 10,000: {wide_s:.2f} s "
              f"({len(wide)} found across every file)")  # fmt: skip
        log.close()


if __name__ == "__main__":
    main()
