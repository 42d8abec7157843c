"""The background reconciler in-process: requests coalesce, progress shows in the store, a
status is not recorded over a change made meanwhile; and how ``apply --wait`` shows progress.

Dagster is the GraphQL stand-in, whose reload a test can hold (:class:`HeldReload`) to keep
a reconciliation in progress for as long as it needs.
"""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

import pytest
from graphql_stand_in import DagsterStandIn, compiled_from, serve
from lifecycle_manifests import ONCE

from dataos_defs.api import reconcile_progress
from dataos_defs.api.reconcile import DAGSTER_URL_ENV, WATCH_INTERVAL_S, reconcile
from dataos_defs.api.reconciler import (
    WAITING,
    WATCH_INTERVAL_ENV,
    Reconciler,
    after_change,
    watch_interval,
)
from dataos_defs.cli import waiting
from dataos_defs.manifest.loader import parse_yaml
from dataos_defs.manifest.validate import parse_documents
from dataos_defs.poros.apply import apply_resources
from dataos_defs.poros.records import ResourceKey
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store

pytestmark = pytest.mark.timeout(120)
ONCE_KEY = ResourceKey("workflow", "once", "public")


class HeldReload(DagsterStandIn):
    """Holds each ``Reload`` request while ``hold`` is set (outside the stand-in's lock, so
    every other request is answered meanwhile), saying so through ``reached``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hold = threading.Event()
        self.reached = threading.Event()
        self.release = threading.Event()

    def answer(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        if "reloadRepositoryLocation" in query and self.hold.is_set():
            self.reached.set()
            assert self.release.wait(60), "the test never released the reload"
        return super().answer(query, variables)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(settings=Settings.from_env({"DATAOS_HOME": str(tmp_path)})) as opened:
        yield opened


@pytest.fixture
def dagster(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldReload]:
    stand_in = HeldReload(compiled_from(store))
    with serve(stand_in) as url:
        monkeypatch.setenv(DAGSTER_URL_ENV, url)
        try:
            yield stand_in
        finally:
            stand_in.release.set()


@pytest.fixture
def reconciler(store: Store, dagster: HeldReload) -> Iterator[Reconciler]:
    running = Reconciler(store).start(catch_up=False)
    try:
        yield running
    finally:
        dagster.release.set()
        running.stop()


def apply(store: Store, text: str) -> list[ResourceKey]:
    documents, problems = parse_yaml(text, "m.yaml")
    assert not problems
    results = apply_resources(store, parse_documents(documents), None, "tester")
    return [ResourceKey(r.kind, r.name, r.workspace) for r in results if r.action != "unchanged"]


def once(n: int, description: str = "first") -> str:
    return ONCE.format(description=description).replace("name: once", f"name: once{n}")


def eventually(check: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_requests_made_during_a_reconciliation_are_covered_by_exactly_one_more(
    store: Store, dagster: HeldReload, reconciler: Reconciler
) -> None:
    dagster.hold.set()
    reconciler.request(apply(store, once(0)))
    assert dagster.reached.wait(30), "the first reconciliation never reloaded"
    for n in range(1, 6):
        ticket = reconciler.request(apply(store, once(n)))
    dagster.hold.clear()
    dagster.release.set()
    assert reconciler.wait(ticket, timeout=30)
    assert dagster.calls.count("Reload") == 2
    assert reconciler.reconciliations == 2
    assert sorted(r.job for r in dagster.launched()) == [f"public__once{n}" for n in range(6)]
    assert {w.status for w in store.list(kind="workflow")} == {"active"}


def test_the_union_of_the_changes_is_reconciled_and_a_request_of_everything_wins() -> None:
    started, go = threading.Event(), threading.Event()
    seen: list[tuple[ResourceKey, ...]] = []

    def run(store: Any, changed: Collection[ResourceKey]) -> None:
        seen.append(tuple(sorted(changed)))
        started.set()
        go.wait(10)

    secret = ResourceKey("instance-secret", "s", None)
    policy = ResourceKey("policy", "p", None)
    worker = Reconciler(object(), run).start(catch_up=False)  # type: ignore[arg-type]
    try:
        worker.request([secret])
        assert started.wait(10)
        worker.request([policy])
        worker.request([secret])
        go.set()
        assert worker.wait(timeout=10)
        assert seen == [(secret,), (secret, policy)]
        go.clear()
        started.clear()
        worker.request([secret])
        assert started.wait(10)
        worker.request([policy])
        worker.request()  # e.g. a workspace deleted with --force: everything
        go.set()
        assert worker.wait(timeout=10)
        assert seen[2:] == [(secret,), ()]
        assert worker.reconciliations == 4
    finally:
        go.set()
        worker.stop()


def test_a_failing_reconciliation_is_logged_and_the_next_request_still_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []

    def run(store: Any, changed: Collection[ResourceKey]) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Dagster exploded")

    worker = Reconciler(object(), run).start(catch_up=False)  # type: ignore[arg-type]
    try:
        assert worker.wait(worker.request(), timeout=10)
        assert worker.wait(worker.request(), timeout=10)
    finally:
        worker.stop()
    assert len(calls) == 2
    assert "Dagster exploded" in caplog.text


def test_progress_shows_the_phase_and_how_long_while_the_location_loads(
    store: Store,
    dagster: HeldReload,
    reconciler: Reconciler,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    writes: list[str | None] = []
    set_status = store.set_status

    def counted(*args: Any, **kwargs: Any) -> None:
        writes.append(args[4] if len(args) > 4 else kwargs.get("reason"))
        set_status(*args, **kwargs)

    monkeypatch.setattr(store, "set_status", counted)
    dagster.hold.set()
    reconciler.request(apply(store, ONCE.format(description="first")))
    assert dagster.reached.wait(30)
    held = time.monotonic()

    def reason() -> str:
        found = store.get("workflow", "once", "public")
        assert found is not None and found.status == "pending"
        return found.status_reason or ""

    shown = re.compile(rf"^{reconcile_progress.LOADING} \(1 job, ([2-9]|\d\d+) s\)$")
    assert eventually(lambda: bool(shown.match(reason()))), reason()
    time.sleep(1.5)
    dagster.release.set()
    held = time.monotonic() - held
    assert reconciler.wait(timeout=30)
    found = store.get("workflow", "once", "public")
    assert found is not None and (found.status, found.status_reason) == ("active", None)
    # At most about one write a second while the reload was held, then the result.
    assert writes[-1] is None
    assert 2 <= len(writes) - 1 <= held / reconcile_progress.INTERVAL_S + 1, (held, writes)


def test_a_short_reconciliation_writes_no_progress(
    store: Store, dagster: HeldReload, reconciler: Reconciler, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[Any] = []
    set_status = store.set_status
    monkeypatch.setattr(
        store, "set_status", lambda *a, **k: (writes.append(a), set_status(*a, **k))
    )
    assert reconciler.wait(reconciler.request(apply(store, ONCE.format(description="first"))))
    assert [a[3] for a in writes] == ["active"]


def test_a_workflow_changed_during_the_reconciliation_keeps_pending_for_the_next(
    store: Store, dagster: HeldReload
) -> None:
    """The reconciliation read the first revision: it does not record ``active`` over the
    second, which the next reconciliation decides."""
    apply(store, ONCE.format(description="first"))
    dagster.hold.set()
    done: list[Any] = []
    thread = threading.Thread(target=lambda: done.append(reconcile(store)))
    thread.start()
    assert dagster.reached.wait(30)
    apply(store, ONCE.format(description="second"))
    dagster.hold.clear()
    dagster.release.set()
    thread.join(30)
    assert done and done[0].statuses[ONCE_KEY] == ("active", None)
    found = store.get("workflow", "once", "public")
    assert found is not None and found.status == "pending"
    assert reconcile(store) is not None
    found = store.get("workflow", "once", "public")
    assert found is not None and (found.status, found.status_reason) == ("active", None)


def test_the_answer_lists_the_workflows_reconciliation_decides(
    store: Store, dagster: HeldReload, reconciler: Reconciler
) -> None:
    """Created or changed ones, and re-applied ones in error (marked waiting); not an
    unchanged active one."""
    first = apply(store, once(1)) + apply(store, once(2))
    assert reconciler.wait(reconciler.request(first))
    store.set_status("workflow", "once2", "public", "error", "the run could not be launched")
    changed = apply(store, once(3))
    applied = [*first, *changed]
    requested = after_change(store, changed, applied)
    assert requested.reconciling
    assert [k.name for k in requested.pending] == ["once3", "once2"]
    found = store.get("workflow", "once2", "public")
    assert found is not None and (found.status, found.status_reason) == ("pending", WAITING)
    assert reconciler.wait(timeout=30)
    assert {w.name: w.status for w in store.list(kind="workflow")} == {
        "once1": "active",
        "once2": "active",
        "once3": "active",
    }


def test_without_a_webserver_nothing_is_requested(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DAGSTER_URL_ENV, raising=False)
    changed = apply(store, ONCE.format(description="first"))
    requested = after_change(store, changed, changed)
    assert not requested.reconciling and requested.pending == [ONCE_KEY]
    found = store.get("workflow", "once", "public")
    assert found is not None and (found.status, found.status_reason) == ("pending", None)


def test_at_start_up_a_pending_workflow_is_reconciled(store: Store, dagster: HeldReload) -> None:
    """E.g. left with the progress of a server killed mid-reconciliation."""
    apply(store, ONCE.format(description="first"))
    store.set_status("workflow", "once", "public", "pending", "waiting for Dagster (3 s)")
    worker = Reconciler(store).start()
    try:
        assert eventually(lambda: worker.reconciliations == 1)
    finally:
        worker.stop()
    found = store.get("workflow", "once", "public")
    assert found is not None and (found.status, found.status_reason) == ("active", None)


# -- apply --wait's display ---------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_progress_is_one_line_redrawn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")  # the line fits; a narrower terminal cuts it
    stream = Terminal()
    display = waiting.Display(stream)
    display.show("once (public): waiting for Dagster to load the code location (1 job, 3 s)", 3)
    display.show("once (public): waiting for Dagster to load the code location (1 job, 4 s)", 4)
    display.close()
    text = stream.getvalue()
    assert "\n" not in text
    assert text.count("\r\x1b[2K") == 3
    assert "(1 job, 4 s) [4 s]" in text


def test_without_a_terminal_a_line_per_phase() -> None:
    stream = io.StringIO()
    display = waiting.Display(stream)
    for second in range(3):
        display.show(f"once (public): {reconcile_progress.LOADING} (1 job, {second} s)", second)
    display.show(f"once (public): {reconcile_progress.STARTING} (0 s)", 3)
    display.close()
    assert stream.getvalue().splitlines() == [
        f"[0 s] once (public): {reconcile_progress.LOADING} (1 job, 0 s)",
        f"[3 s] once (public): {reconcile_progress.STARTING} (0 s)",
    ]


def test_a_workflow_left_pending_by_a_finished_reconciliation_is_not_waited_for() -> None:
    assert waiting.finished("active", None)
    assert waiting.finished("error", "the run could not be launched")
    assert waiting.finished("pending", "not deployed yet: Dagster webserver unreachable")
    assert not waiting.finished("pending", None)
    assert not waiting.finished("pending", WAITING)
    assert not waiting.finished("pending", f"{reconcile_progress.LOADING} (1 job, 3 s)")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, WATCH_INTERVAL_S), ("2", 2.0), (" 0.5 ", 0.5), ("3600", 3600.0)],
)
def test_the_watch_interval_comes_from_the_environment(value: str | None, expected: float) -> None:
    environ = {} if value is None else {WATCH_INTERVAL_ENV: value}
    assert watch_interval(environ) == expected


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan", "inf", "3601"])
def test_a_bad_watch_interval_is_logged_and_the_default_kept(
    value: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert watch_interval({WATCH_INTERVAL_ENV: value}) == WATCH_INTERVAL_S
    assert WATCH_INTERVAL_ENV in caplog.text and repr(value) in caplog.text
