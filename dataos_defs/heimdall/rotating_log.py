"""Append-only JSON-lines files rotated by size and by day, gzip-compressed, kept for N
files and D days; safe with several processes appending (the decision log, the audit).

Writers append whole lines with one ``O_APPEND`` write while holding a shared ``flock``
on a lock file; a writer that finds the live file due (too big, or begun on an earlier UTC
day) takes the lock exclusively, checks again and renames the live file into the archive
folder. Every writer checks the live file's inode before each write and reopens it when
it was renamed, so no line goes to a file that is being compressed and none is lost.
Compression and pruning run on a thread after the lock is released; a staged file left
uncompressed (the process ended first) is read as it is and compressed by a later
rotation.

Archives are named ``<stem>-<rotation time>.jsonl.gz``: every line in one was written
before that time. Each line is a JSON object with an ISO-8601 UTC ``time``; the day of the
live file is the day of its first line.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

Clock = Callable[[], datetime]
MAX_BYTES_ENV = "DATAOS_LOG_MAX_BYTES"
KEEP_FILES_ENV = "DATAOS_LOG_KEEP_FILES"
KEEP_DAYS_ENV = "DATAOS_LOG_KEEP_DAYS"
STAMP_FORMAT = "%Y%m%dT%H%M%S%fZ"
_FIRST_DAY = re.compile(rb'"time":"(\d{4}-\d{2}-\d{2})')
_HEAD_BYTES = 4096
_STALE_STAGED = timedelta(minutes=10)
_ATTEMPTS = 5
_GZIP_LEVEL = 3
"""About twice as fast as gzip's default 6 on decision lines, for 10x rather than 11x."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Retention:
    """When the live file rotates and how many archives stay."""

    max_bytes: int = 64 * 1024 * 1024
    keep_files: int = 30
    keep_days: int = 30

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Retention:
        values = os.environ if env is None else env
        default = cls()
        return cls(
            max_bytes=_positive(values, MAX_BYTES_ENV, default.max_bytes),
            keep_files=_positive(values, KEEP_FILES_ENV, default.keep_files),
            keep_days=_positive(values, KEEP_DAYS_ENV, default.keep_days),
        )


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name)
    if not text:
        return default
    value = int(text)
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, not {text!r}")
    return value


@dataclass(frozen=True)
class Archive:
    """A rotated file: every line in it was written before ``rotated``."""

    path: Path
    rotated: datetime


def archive_pattern(stem: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(stem)}-(\d{{8}}T\d{{12}}Z)\.jsonl(\.gz)?$")


def archives(folder: Path, stem: str) -> list[Archive]:
    """The archives of ``stem``, newest first; a compressed one wins over its staged copy."""
    pattern = archive_pattern(stem)
    found: dict[str, Archive] = {}
    names = sorted(os.listdir(folder)) if folder.is_dir() else []
    for name in names:
        match = pattern.match(name)
        if match is None or (match.group(1) in found and not match.group(2)):
            continue
        rotated = datetime.strptime(match.group(1), STAMP_FORMAT).replace(tzinfo=UTC)
        found[match.group(1)] = Archive(folder / name, rotated)
    return sorted(found.values(), key=lambda a: a.rotated, reverse=True)


class RotatingFile:
    """One live file and its archive folder, appended to by this and other processes."""

    def __init__(
        self,
        path: Path,
        archive_dir: Path,
        retention: Retention | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.path = path
        self.archive_dir = archive_dir
        self.retention = retention or Retention.from_env()
        self.clock = clock
        self.stem = path.name.removesuffix(".jsonl")
        path.parent.mkdir(parents=True, exist_ok=True)
        archive_dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(archive_dir / f".{self.stem}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        self._fd: int | None = None
        self._day: date | None = None
        self._mutex = threading.Lock()
        self._finishing: list[threading.Thread] = []

    def append(self, data: bytes) -> None:
        """Append whole lines (``data`` ends with a newline), rotating first when due."""
        with self._mutex:
            for _ in range(_ATTEMPTS):
                with self._locked(fcntl.LOCK_SH):
                    fd = self._live()
                    if not self._due(fd, len(data)):
                        _write_all(fd, data)
                        return
                staged = self._rotate(len(data))
                if staged is not None:
                    self._finish_later(staged)
            with self._locked(fcntl.LOCK_SH):
                _write_all(self._live(), data)

    def settle(self, timeout: float = 60.0) -> None:
        """Wait for the compression and pruning started by this object's rotations."""
        for worker in list(self._finishing):
            worker.join(timeout)

    def close(self) -> None:
        self.settle()
        with self._mutex:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if self._lock_fd >= 0:
                os.close(self._lock_fd)
                self._lock_fd = -1

    def archives(self) -> list[Archive]:
        return archives(self.archive_dir, self.stem)

    @contextlib.contextmanager
    def _locked(self, mode: int) -> Iterator[None]:
        fcntl.flock(self._lock_fd, mode)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _live(self) -> int:
        """The descriptor of the live file, reopened when another process renamed it."""
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            current = None
        if self._fd is not None and current is not None:
            mine = os.fstat(self._fd)
            if (mine.st_ino, mine.st_dev) == (current.st_ino, current.st_dev):
                return self._fd
        if self._fd is not None:
            os.close(self._fd)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._day = None
        return self._fd

    def _due(self, fd: int, incoming: int) -> bool:
        size = os.fstat(fd).st_size
        if size == 0:
            return False
        if size + incoming > self.retention.max_bytes:
            return True
        return self._first_day(fd, size) < self.clock().astimezone(UTC).date()

    def _first_day(self, fd: int, size: int) -> date:
        if self._day is None:
            with open(self.path, "rb") as live:
                head = live.read(min(size, _HEAD_BYTES))
            match = _FIRST_DAY.search(head)
            if match is not None:
                self._day = date.fromisoformat(match.group(1).decode())
            else:
                self._day = datetime.fromtimestamp(os.fstat(fd).st_mtime, UTC).date()
        return self._day

    def _rotate(self, incoming: int) -> Path | None:
        """Rename the live file into the archive folder if it is still due."""
        with self._locked(fcntl.LOCK_EX):
            fd = self._live()
            if not self._due(fd, incoming):
                return None
            staged = self._staged_name()
            os.rename(self.path, staged)
            os.close(fd)
            self._fd = None
            return staged

    def _staged_name(self) -> Path:
        moment = self.clock().astimezone(UTC)
        while True:
            stamp = moment.strftime(STAMP_FORMAT)
            staged = self.archive_dir / f"{self.stem}-{stamp}.jsonl"
            if not staged.exists() and not staged.with_name(staged.name + ".gz").exists():
                return staged
            moment += timedelta(microseconds=1)

    def _finish_later(self, staged: Path) -> None:
        """Compress and prune on a thread of their own, so appends need not wait."""
        self._finishing = [worker for worker in self._finishing if worker.is_alive()]
        worker = threading.Thread(
            target=self._finish, args=(staged,), name=f"{self.stem}-rotation", daemon=True
        )
        worker.start()
        self._finishing.append(worker)

    def _finish(self, staged: Path) -> None:
        compress(staged)
        self._prune()

    def _prune(self) -> None:
        """Drop archives beyond the newest N or older than D days; compress staged files a
        crashed rotation left behind."""
        now = self.clock().astimezone(UTC)
        oldest = now - timedelta(days=self.retention.keep_days)
        for index, archive in enumerate(self.archives()):
            if index >= self.retention.keep_files or archive.rotated < oldest:
                with contextlib.suppress(FileNotFoundError):
                    archive.path.unlink()
            elif archive.path.suffix == ".jsonl" and _stale(archive.path):
                compress(archive.path)


def _stale(staged: Path) -> bool:
    """Left by a rotation that did not finish (its process ended): untouched for a while."""
    try:
        return time.time() - staged.stat().st_mtime > _STALE_STAGED.total_seconds()
    except FileNotFoundError:
        return False


def compress(staged: Path) -> Path:
    """Gzip ``staged`` next to itself, then remove it; idempotent across processes."""
    target = staged.with_name(staged.name + ".gz")
    part = staged.with_name(f"{staged.name}.gz.{os.getpid()}-{threading.get_ident()}.part")
    try:
        with open(staged, "rb") as source, gzip.open(part, "wb", compresslevel=_GZIP_LEVEL) as sink:
            shutil.copyfileobj(source, sink, 1024 * 1024)
        os.replace(part, target)
    except FileNotFoundError:
        part.unlink(missing_ok=True)
        return target
    with contextlib.suppress(FileNotFoundError):
        staged.unlink()
    return target


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
