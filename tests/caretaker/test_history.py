"""Caretaker's Parquet history: written, read back, partitioned, compacted, expired, bounded.

Real files (a temporary DATAOS_HOME) and fsspec's ``memory://`` file system as the stand-in
for the object stores production uses (``s3://``, ``gs://``, ``abfs://`` take the same path).
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest

from dataos_defs.caretaker.history import (
    MAX_RECORDS_PER_APPEND,
    RETENTION_ENV,
    HistoryStore,
    retention_from_env,
)
from dataos_defs.caretaker.history_maintenance import COMPACT_TODAY_AT_PARTS
from dataos_defs.caretaker.history_schema import MAX_TEXT_CHARS, HistoryError
from dataos_defs.caretaker.records import ProcessRecord, RunRecord, StepRecord

DAY = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
DAY_MS = int(DAY.timestamp() * 1000)


def run(
    run_id: str, owner: str | None = "alice", *, at_ms: int = DAY_MS, ws: str = "public"
) -> RunRecord:
    return RunRecord(
        run_id, ws, "workflow", "wf", "succeeded", at_ms, at_ms + 5000, 5000, owner, "wf_job"
    )


def step(run_id: str, job: str = "load", *, at_ms: int = DAY_MS, ws: str = "public") -> StepRecord:
    return StepRecord(
        run_id,
        ws,
        "workflow",
        "wf",
        job,
        "failed",
        at_ms,
        at_ms + 1500,
        1500,
        2,
        3,
        1.25,
        2**31 + 7,
        "boom",
    )


def memory_url() -> str:
    return f"memory://history-{uuid.uuid4().hex}"


@pytest.fixture
def local(tmp_path: Path) -> HistoryStore:
    return HistoryStore(None, home=tmp_path)


def test_the_default_root_is_under_dataos_home(tmp_path: Path) -> None:
    store = HistoryStore(None, home=tmp_path)
    assert store.url == str((tmp_path / "caretaker" / "history").resolve())
    assert store.is_local and not store.exists()


def test_steps_read_back_with_their_types_and_partition(local: HistoryStore) -> None:
    local.append("runs", [run("r1")])
    (path,) = local.append("steps", [step("r1")])
    assert path.startswith(f"{local.root}/steps/day=2026-03-14/workspace=public/part-")
    assert path.endswith(".parquet")
    table = pq.read_table(path)
    schema = table.schema
    assert schema.field("attempts").type == pa.int64() and not schema.field("attempts").nullable
    assert schema.field("cpu_seconds").type == pa.float64()
    assert schema.field("peak_memory_bytes").type == pa.int64()
    assert schema.field("started_ms").nullable and schema.field("state").type == pa.string()
    row = table.to_pylist()[0]
    assert row["peak_memory_bytes"] == 2**31 + 7 and row["exit_code"] == 3
    assert row["run_as"] == "alice", "a step carries the owner of the run appended before it"
    back = local.read("steps")
    assert back.column("day").to_pylist() == [date(2026, 3, 14)]
    assert back.column("error").to_pylist() == ["boom"]


def test_records_split_by_day_and_workspace(local: HistoryStore) -> None:
    next_day = DAY_MS + 86_400_000
    written = local.append(
        "runs", [run("a"), run("b", at_ms=next_day), run("c", ws="sales"), run("d")]
    )
    folders = sorted(p.rsplit("/", 1)[0].split("/runs/", 1)[1] for p in written)
    assert folders == [
        "day=2026-03-14/workspace=public",
        "day=2026-03-14/workspace=sales",
        "day=2026-03-15/workspace=public",
    ]
    assert sorted(local.read("runs").column("run_id").to_pylist()) == ["a", "b", "c", "d"]
    assert local.days("runs") == [date(2026, 3, 14), date(2026, 3, 15)]


def test_a_run_not_started_yet_lands_on_the_day_it_was_recorded(local: HistoryStore) -> None:
    queued = RunRecord("q", "public", "workflow", "wf", "queued", None, None, None, "bob", "wf_job")
    (path,) = local.append("runs", [queued])
    assert f"day={datetime.now(UTC).date().isoformat()}" in path


def test_owners_given_explicitly_fill_steps_and_processes(local: HistoryStore) -> None:
    process = ProcessRecord(
        "pod-1", "public", "workflow", "wf", "r9", "succeeded", DAY_MS, DAY_MS + 9, 0, 0, 0.1, 10
    )
    local.append("processes", [process], owners={"r9": "carol"})
    local.append("steps", [step("unknown-run")])
    assert local.read("processes").column("run_as").to_pylist() == ["carol"]
    assert local.read("steps").column("run_as").to_pylist() == [None]


def test_the_memory_url_takes_the_object_store_path() -> None:
    store = HistoryStore(memory_url(), 30)
    assert not store.is_local
    (url,) = store.append("steps", [step("r1"), step("r1", "transform")])
    assert url.startswith("memory://") and url.endswith(".parquet")
    assert f"{store.root}/steps/day=2026-03-14/workspace=public/part-" in url
    assert store.fs.exists(url) and store.exists()
    back = store.read("steps")
    assert sorted(back.column("job").to_pylist()) == ["load", "transform"]
    assert not [p for p in store.fs.find(store.root) if p.endswith(".tmp")], "no temp file left"


def test_readers_ignore_temp_files_of_an_unfinished_write(local: HistoryStore) -> None:
    local.append("runs", [run("done")])
    folder = local.partition_folder("runs", DAY.date(), "public")
    pq.write_table(pa.table({"run_id": ["half"]}), f"{folder}/part-9-x.parquet.tmp")
    assert [p.path.endswith(".parquet") for p in local.parts("runs")] == [True]
    assert local.read("runs").column("run_id").to_pylist() == ["done"]


def test_a_failed_write_leaves_no_file(
    local: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", broken)
    with pytest.raises(OSError, match="disk full"):
        local.append("runs", [run("r1")])
    assert local.fs.find(local.root) == []


def test_an_append_fails_whole_when_one_partition_cannot_be_written(
    local: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = pq.write_table
    calls: list[int] = []

    def second_fails(table: pa.Table, where: object, **options: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise OSError("quota exceeded")
        real_write(table, where, **options)

    monkeypatch.setattr(pq, "write_table", second_fails)
    with pytest.raises(OSError, match="quota exceeded"):
        local.append("runs", [run("a"), run("b", ws="sales")])
    assert [p for p in local.fs.find(local.root) if not local.fs.isdir(p)] == []


def test_a_record_with_a_wrong_type_is_refused(local: HistoryStore) -> None:
    bad = replace(step("r1"), attempts="two")  # type: ignore[arg-type]
    with pytest.raises(HistoryError, match="steps records do not match their types"):
        local.append("steps", [bad])
    assert not local.exists()


def test_concurrent_appends_lose_no_rows(local: HistoryStore) -> None:
    other = HistoryStore(local.url)  # a second writer (another process) on the same root

    def write(store: HistoryStore, writer: int) -> None:
        for batch in range(10):
            store.append("steps", [step(f"w{writer}-{batch}", f"j{i}") for i in range(20)])

    threads = [
        threading.Thread(target=write, args=(s, n)) for n, s in enumerate([local, other] * 3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert local.read("steps").num_rows == 6 * 10 * 20
    assert len(local.parts("steps")) == 60


def test_compaction_merges_a_days_parts_and_keeps_every_row(local: HistoryStore) -> None:
    for n in range(5):
        local.append("steps", [step(f"r{n}", f"j{i}") for i in range(3)])
    local.append("steps", [step("other", ws="sales")])
    local.append("steps", [step("next", at_ms=DAY_MS + 86_400_000)])
    before = local.read("steps").sort_by([("run_id", "ascending"), ("job", "ascending")])
    written = local.compact("steps", DAY.date())
    assert len(written) == 1 and "workspace=public" in written[0]
    parts = local.parts("steps")
    assert [(p.day.day, p.workspace) for p in parts] == [
        (14, "public"),
        (14, "sales"),
        (15, "public"),
    ]
    after = local.read("steps").sort_by([("run_id", "ascending"), ("job", "ascending")])
    assert after.equals(before)
    assert local.compact("steps", DAY.date()) == [], "a compacted day has nothing more to merge"


def test_compaction_works_on_the_object_store_path() -> None:
    store = HistoryStore(memory_url())
    for n in range(3):
        store.append("runs", [run(f"r{n}")])
    assert len(store.compact("runs", DAY.date())) == 1
    assert sorted(store.read("runs").column("run_id").to_pylist()) == ["r0", "r1", "r2"]


def test_retention_deletes_old_partitions_only(tmp_path: Path) -> None:
    store = HistoryStore(None, 7, home=tmp_path)
    now = datetime(2026, 3, 20, 12, tzinfo=UTC)
    for age in (0, 7, 8, 30):
        at_ms = int((now - timedelta(days=age)).timestamp() * 1000)
        store.append("runs", [run(f"age{age}", at_ms=at_ms)])
        store.append("steps", [step(f"age{age}", at_ms=at_ms)])
    deleted = store.apply_retention(now)
    assert sorted(d.rsplit("/", 2)[-2:][0] + "/" + d.rsplit("/", 1)[-1] for d in deleted) == [
        "runs/day=2026-02-18",
        "runs/day=2026-03-12",
        "steps/day=2026-02-18",
        "steps/day=2026-03-12",
    ]
    assert sorted(store.read("runs").column("run_id").to_pylist()) == ["age0", "age7"]
    assert store.days("steps") == [date(2026, 3, 13), date(2026, 3, 20)]
    assert store.apply_retention(now) == []


def test_retention_on_the_object_store_path() -> None:
    store = HistoryStore(memory_url(), 1)
    old = int(datetime(2020, 1, 1, tzinfo=UTC).timestamp() * 1000)
    store.append("runs", [run("old", at_ms=old), run("new", at_ms=DAY_MS)])
    (deleted,) = store.apply_retention(DAY)
    assert deleted.startswith("memory://") and deleted.endswith("/runs/day=2020-01-01")
    assert store.read("runs").column("run_id").to_pylist() == ["new"]


def test_a_batch_over_the_bound_is_refused_and_nothing_written(local: HistoryStore) -> None:
    small = HistoryStore(local.url, max_records=3)
    with pytest.raises(HistoryError, match="4 runs records in one append exceed the bound of 3"):
        small.append("runs", [run(str(n)) for n in range(4)])
    assert MAX_RECORDS_PER_APPEND >= 10_000
    assert not local.exists()


@pytest.mark.parametrize(
    ("kind", "records", "message"),
    [
        ("jobs", [], "unknown history kind 'jobs'.*use one of: checks, processes, runs, steps"),
        ("steps", [run("r1")], "history 'steps' holds StepRecord rows, not RunRecord"),
        ("runs", [run("r1", ws="../../etc")], "workspace '../../etc' cannot name a partition"),
        ("runs", [run("r1"), run("r2", ws="")], "record 1: workspace '' cannot name"),
    ],
)
def test_bad_input_is_refused_with_what_and_where(
    local: HistoryStore, kind: str, records: list[RunRecord], message: str
) -> None:
    with pytest.raises(HistoryError, match=message):
        local.append(kind, records)
    assert not local.exists()


def test_long_texts_are_clipped(local: HistoryStore) -> None:
    local.append("steps", [replace(step("r1"), error="x" * (MAX_TEXT_CHARS + 50))])
    (error,) = local.read("steps").column("error").to_pylist()
    assert len(error) == MAX_TEXT_CHARS


@pytest.mark.parametrize("raw", ["0", "-1", "ninety", "99999"])
def test_a_bad_retention_setting_is_refused(raw: str) -> None:
    with pytest.raises(HistoryError, match=RETENTION_ENV):
        retention_from_env({RETENTION_ENV: raw})
    assert retention_from_env({}) == 90 and retention_from_env({RETENTION_ENV: "14"}) == 14


def test_maintenance_expires_then_compacts_closed_days_and_busy_today(tmp_path: Path) -> None:
    store = HistoryStore(None, 30, home=tmp_path)
    now = datetime.now(UTC)
    today_ms = int(now.timestamp() * 1000)
    yesterday_ms = today_ms - 86_400_000
    ancient_ms = today_ms - 40 * 86_400_000
    for n in range(3):
        store.append("runs", [run(f"y{n}", at_ms=yesterday_ms), run(f"t{n}", at_ms=today_ms)])
    store.append("runs", [run("ancient", at_ms=ancient_ms)])
    deleted, written = store.maintain(now)
    assert len(deleted) == 1 and len(written) == 1
    per_day = Counter(part.day for part in store.parts("runs"))
    assert per_day == {now.date() - timedelta(days=1): 1, now.date(): 3}
    assert store.read("runs").num_rows == 6
    assert store.maintain(now) == ([], [])


def test_maintenance_compacts_today_once_it_holds_many_parts(tmp_path: Path) -> None:
    store = HistoryStore(None, home=tmp_path)
    now = datetime.now(UTC)
    for n in range(COMPACT_TODAY_AT_PARTS):
        store.append("steps", [step(f"r{n}", at_ms=int(now.timestamp() * 1000))])
    _, written = store.maintain(now)
    assert len(written) == 1 and len(store.parts("steps")) == 1
    assert store.read("steps").num_rows == COMPACT_TODAY_AT_PARTS


def test_a_url_with_credentials_is_refused_without_echoing_them() -> None:
    with pytest.raises(HistoryError, match="must not hold credentials") as caught:
        HistoryStore("s3://AKIAEXAMPLE:s3cr3t@bucket/history")
    assert "s3cr3t" not in str(caught.value)
