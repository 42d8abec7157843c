"""The API server's feeding of the supervisor (``api/workloads.py``) over a real store:
apply, status, a change made behind its back, delete."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from workload_support import FAST, HELLO, running, wait_for

from dataos_defs.api.workloads import (
    WorkloadSync,
    keep_on_shutdown,
    lifecycle,
    run_mode,
    workloads_from_env,
)
from dataos_defs.poros.records import ApplyItem, ResourceKey
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store
from dataos_defs.poros.supervisor import Supervisor


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Store, Supervisor, WorkloadSync]]:
    url = f"sqlite:///{tmp_path / 'poros.db'}"
    store = Store.open(url, settings=Settings(home=tmp_path, database_url=url))
    supervisor = Supervisor(store, tmp_path, tick_s=0.05, **FAST)
    sync = WorkloadSync(store, supervisor, interval=0.1).start()
    yield store, supervisor, sync
    sync.stop()
    supervisor.stop_everything(timeout=20)
    supervisor.close()
    store.close()


def item(name: str, stack: str = "container", **section: Any) -> ApplyItem:
    body = {
        "stack": stack,
        "replicas": 1,
        "servicePort": 8080,
        "stackSpec": {"image": "python:3.11", "command": HELLO},
        **section,
    }
    manifest = {"name": name, "version": "v1", "type": "service", "service": body}
    return ApplyItem(
        key=ResourceKey("service", name, "public"),
        version="v1",
        manifest=manifest,
        initial_status="pending",
    )


def status(store: Store, name: str) -> tuple[str, str | None]:
    found = store.get("service", name, "public")
    assert found is not None
    return found.status, found.status_reason


def test_applied_services_run_and_become_active(
    world: tuple[Store, Supervisor, WorkloadSync],
) -> None:
    store, supervisor, sync = world
    store.apply([item("web"), item("odd", stack="beacon")], "op")
    sync.request()
    running(supervisor, "web", 1)
    wait_for("web active", lambda: status(store, "web") == ("active", None))
    wait_for("odd in error", lambda: status(store, "odd")[0] == "error")
    assert "no embedded runner" in (status(store, "odd")[1] or "")
    store.apply([item("web", replicas=2)], "op")  # no request: the marker moved
    running(supervisor, "web", 2)
    store.delete("service", "web", "public", "op")
    wait_for("web stopped", lambda: supervisor.runtime("service", "public", "web") is None)


def test_the_secrets_a_service_consumes_reach_its_process_only(
    world: tuple[Store, Supervisor, WorkloadSync], tmp_path: Path
) -> None:
    store, supervisor, sync = world
    secret = ApplyItem(
        key=ResourceKey("secret", "tokens", "public"),
        version="v1",
        manifest={
            "name": "tokens",
            "version": "v1",
            "type": "secret",
            "secret": {"type": "key-value", "data": {"API_TOKEN": "tkn-7731"}},
        },
        secret_paths=[("secret", "data", "API_TOKEN")],
    )
    printer = [
        sys.executable,
        "-c",
        "import os, time; print(len(os.environ['API_TOKEN']), flush=True); time.sleep(60)",
    ]
    store.apply([secret], "op")
    store.apply(
        [
            item(
                "printer",
                dataosSecrets=[{"name": "tokens", "allKeys": True}],
                stackSpec={"image": "x", "command": printer},
                servicePort=None,
            ),
            item("lacking", dataosSecrets=[{"name": "absent"}]),
        ],
        "op",
    )
    sync.request()

    def printed() -> bool:
        try:
            return "8" in supervisor.logs("service", "public", "printer", None, 5)
        except LookupError:  # not started yet
            return False

    wait_for("printed", printed, timeout=20)
    lacking = wait_for(
        "lacking failed",
        lambda: (
            (rt := supervisor.runtime("service", "public", "lacking"))
            and rt.replicas
            and rt.replicas[0].state == "failed"
            and rt
        ),
    )
    assert "secret 'absent'" in (lacking.replicas[0].reason or "")
    everything = "".join(
        p.read_text()
        for p in (tmp_path / "workloads").rglob("*.*")
        if p.is_file() and p.suffix in (".json", ".log")
    )
    assert "tkn-7731" not in everything


def test_the_run_mode_picks_the_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_mode({}) == "embedded"
    assert run_mode({"DATAOS_RUN_MODE": " K8S "}) == "k8s"
    with pytest.raises(ValueError, match="must be 'embedded' or 'k8s'"):
        run_mode({"DATAOS_RUN_MODE": "docker"})
    monkeypatch.delenv("DATAOS_RUN_MODE", raising=False)
    monkeypatch.setenv("DATAOS_WORKLOADS_ON_SHUTDOWN", "keep")
    embedded = workloads_from_env(None, tmp_path)  # type: ignore[arg-type]
    try:
        assert isinstance(embedded, Supervisor) and embedded.keep_on_close
    finally:
        embedded.close()
    assert keep_on_shutdown({}) is False
    with pytest.raises(ValueError, match="must be 'stop' or 'keep'"):
        keep_on_shutdown({"DATAOS_WORKLOADS_ON_SHUTDOWN": "pause"})
    assert lifecycle(None) is None
