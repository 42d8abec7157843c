"""The delivery log is bounded: rotated by size into gzip archives, read back across them,
errors cut short, reads capped."""

from __future__ import annotations

from pathlib import Path

from dataos_defs.heimdall.rotating_log import Retention
from dataos_defs.monitor.deliveries_log import (
    DELIVERY_LOG_FILE,
    MAX_ERROR_CHARS,
    MAX_READ,
    DeliveryLog,
    read_deliveries,
    record,
)


def test_rotates_by_size_and_reads_across_archives(tmp_path: Path) -> None:
    log = DeliveryLog(tmp_path / DELIVERY_LOG_FILE, retention=Retention(2_000, 50, 30))
    for n in range(60):
        pager = "public/a" if n % 2 else "public/b"
        log.append(
            record(f"d{n}", pager, f"inc-{n}", "webHook", "hooks.example", 1, "delivered", 200)
        )
        log.flush()
    log.file.settle()
    archives = log.file.archives()
    assert archives and all(a.path.name.endswith(".jsonl.gz") for a in archives)
    assert (tmp_path / DELIVERY_LOG_FILE).stat().st_size <= 2_000
    found = read_deliveries(tmp_path / DELIVERY_LOG_FILE, pager="public/a", limit=1000)
    assert [entry["incident"] for entry in found] == [f"inc-{n}" for n in range(1, 60, 2)]
    [one] = log.read(incident="inc-7")
    assert one["pager"] == "public/a" and one["status"] == 200
    log.close()


def test_errors_and_reads_are_capped(tmp_path: Path) -> None:
    log = DeliveryLog.in_home(tmp_path)
    for n in range(MAX_READ + 5):
        log.append(
            record(
                f"d{n}", "public/a", "inc", "email", "smtp.example", 1, "failed", None, "e" * 5000
            )
        )
    assert len(log.read(limit=10**6)) == MAX_READ
    assert len(str(log.read(limit=1)[0]["error"])) == MAX_ERROR_CHARS
    assert read_deliveries(tmp_path / "nothing.jsonl") == []
    log.close()
