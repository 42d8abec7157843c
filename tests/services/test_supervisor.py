"""The embedded supervisor with real processes: a Python HTTP server as the Service."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from workload_support import FAST, cleanup, running, wait_for, workload

from dataos_defs.poros.supervisor import Supervisor


@pytest.fixture
def sup(tmp_path: Path) -> Iterator[Supervisor]:
    supervisor = Supervisor(None, tmp_path, tick_s=0.05, **FAST)
    yield supervisor
    supervisor.stop_everything(timeout=20)
    supervisor.close()


def hello(port: int) -> dict[str, str]:
    answer = httpx.get(f"http://127.0.0.1:{port}/hello", timeout=5)
    answer.raise_for_status()
    return dict(answer.json())


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_two_replicas_listen_on_their_own_ports(sup: Supervisor) -> None:
    sup.reconcile([workload("hello", envs={"GREETING": "hi"})])
    runtime = running(sup, "hello", 2)
    endpoints = sup.endpoints("public", "hello")
    assert [e.replica for e in endpoints] == ["hello-0", "hello-1"]
    assert len({e.port for e in endpoints}) == 2
    assert {hello(e.port)["replica"] for e in endpoints} == {"hello-0", "hello-1"}
    assert hello(endpoints[0].port)["greeting"] == "hi"
    assert all(r.ports["http"] and r.started_at and r.pid for r in runtime.replicas)
    assert sup.endpoints("public", "hello", "http") == endpoints
    assert sup.endpoints("public", "nothing") == []


def test_a_killed_replica_comes_back(sup: Supervisor) -> None:
    sup.reconcile([workload("hello")])
    first = running(sup, "hello", 2).replicas[0]
    assert first.pid is not None
    os.kill(first.pid, signal.SIGKILL)
    again = wait_for(
        "the killed replica restarted and ready",
        lambda: (
            (rt := sup.runtime("service", "public", "hello"))
            and rt.summary == "running:2"
            and rt.replicas[0].restarts == 1
            and rt
        ),
    )
    replica = again.replicas[0]
    assert replica.pid != first.pid
    assert replica.ports == first.ports  # a restarted replica keeps its address
    assert hello(replica.ports["http"])["replica"] == "hello-0"


def test_a_crash_loop_is_visible_with_its_exit_code(sup: Supervisor) -> None:
    crash = [sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"]
    sup.reconcile([workload("crash", replicas=1, command=crash)])
    runtime = wait_for(
        "two restarts",
        lambda: (
            (rt := sup.runtime("service", "public", "crash"))
            and rt.replicas[0].restarts >= 2
            and rt
        ),
    )
    replica = runtime.replicas[0]
    assert replica.exit_code == 3
    assert replica.state in ("crashloop", "starting")
    assert "exited (3)" in (replica.reason or "") or replica.state == "starting"
    assert runtime.summary in ("failed", "pending")
    wait_for(
        "failed summary", lambda: sup.runtime("service", "public", "crash").summary == "failed"
    )  # type: ignore[union-attr]
    assert "boom" in sup.logs("service", "public", "crash", None, 50)


def test_a_workload_that_cannot_run_fails_with_the_reason(sup: Supervisor) -> None:
    sup.reconcile(
        [
            workload("flared", stack="beacon", replicas=1),
            workload("many", replicas=99),
            workload("absent", replicas=1, command=["/no/such/program"]),
        ]
    )
    for name, words in (
        ("flared", "no embedded runner"),
        ("many", "exceed the embedded limit"),
        ("absent", "cannot start"),
    ):
        runtime = wait_for(name, lambda n=name: sup.runtime("service", "public", n))
        wait_for(
            f"{name} failed", lambda n=name: sup.runtime("service", "public", n).summary == "failed"
        )  # type: ignore[union-attr]
        runtime = sup.runtime("service", "public", name)
        assert runtime is not None
        assert words in (runtime.replicas[0].reason or ""), runtime


def test_a_changed_manifest_rolls_without_dropping_requests(sup: Supervisor) -> None:
    sup.reconcile([workload("hello", envs={"GREETING": "v1"})])
    old = running(sup, "hello", 2)
    failures: list[str] = []
    greetings: list[str] = []
    stop = threading.Event()

    def traffic() -> None:
        turn = 0
        while not stop.is_set():
            endpoints = sup.endpoints("public", "hello")
            if not endpoints:
                failures.append("no endpoint")
                time.sleep(0.01)
                continue
            turn += 1
            target = endpoints[turn % len(endpoints)]
            try:
                greetings.append(hello(target.port)["greeting"])
            except httpx.HTTPError as exc:
                failures.append(f"{target}: {exc!r}")

    client = threading.Thread(target=traffic)
    client.start()
    try:
        time.sleep(0.3)
        sup.reconcile([workload("hello", revision=2, envs={"GREETING": "v2"})])
        new = wait_for(
            "every replica on revision 2",
            lambda: (
                (rt := sup.runtime("service", "public", "hello"))
                and rt.summary == "running:2"
                and len(rt.replicas) == 2
                and all(r.revision == 2 for r in rt.replicas)
                and rt
            ),
            timeout=30,
        )
        time.sleep(0.3)
    finally:
        stop.set()
        client.join()
    assert not failures, failures[:5]
    assert "v1" in greetings and greetings[-1] == "v2"
    assert all(gone(r.pid) for r in old.replicas if r.pid)
    assert {r.pid for r in new.replicas}.isdisjoint({r.pid for r in old.replicas})


def test_a_new_revision_that_crashes_never_replaces_the_old_one(sup: Supervisor) -> None:
    sup.reconcile([workload("hello", replicas=1)])
    old = running(sup, "hello", 1).replicas[0]
    crash = [sys.executable, "-c", "raise SystemExit(1)"]
    sup.reconcile([workload("hello", replicas=1, revision=2, command=crash)])
    wait_for(
        "the new replica crash-looping",
        lambda: any(
            r.revision == 2 and r.restarts >= 1
            for r in sup.runtime("service", "public", "hello").replicas  # type: ignore[union-attr]
        ),
    )
    runtime = sup.runtime("service", "public", "hello")
    assert runtime is not None and runtime.summary == "failed"  # the new revision fails
    assert [e.replica for e in sup.endpoints("public", "hello")] == [old.name]
    assert old.pid is not None and not gone(old.pid)


def test_scaling_down_and_delete_stop_every_process(sup: Supervisor, tmp_path: Path) -> None:
    sup.reconcile([workload("hello", replicas=3), workload("other", replicas=1)])
    pids = [r.pid for r in running(sup, "hello", 3).replicas]
    running(sup, "other", 1)
    sup.reconcile([workload("hello", replicas=1, revision=1), workload("other", replicas=1)])
    kept = wait_for(
        "one replica left",
        lambda: (rt := sup.runtime("service", "public", "hello")) and len(rt.replicas) == 1 and rt,
    )
    assert [r.name for r in kept.replicas] == ["hello-0"]
    wait_for("scaled-down replicas gone", lambda: all(gone(p) for p in pids[1:] if p))
    sup.reconcile([workload("other", replicas=1)])
    wait_for("deleted", lambda: sup.runtime("service", "public", "hello") is None)
    assert all(gone(p) for p in pids if p)
    assert not (tmp_path / "workloads/service/public/hello").exists()
    assert sup.runtime("service", "public", "other") is not None


def test_replicas_survive_the_supervisor_and_are_adopted(tmp_path: Path) -> None:
    try:
        first = Supervisor(None, tmp_path, tick_s=0.05, keep_on_close=True, **FAST)
        first.reconcile([workload("hello", envs={"GREETING": "s3cret-value"})])
        before = running(first, "hello", 2)
        first.close()
        assert all(not gone(r.pid) for r in before.replicas if r.pid)
        state = (tmp_path / "workloads/state.json").read_text()
        assert "s3cret-value" not in state and "dataos_defs.demo" not in state
        assert oct((tmp_path / "workloads/state.json").stat().st_mode & 0o777) == "0o600"
        second = Supervisor(None, tmp_path, tick_s=0.05, **FAST)
        try:
            wait_for("the lock", lambda: second.leader)
            second.reconcile([workload("hello", envs={"GREETING": "s3cret-value"})])
            time.sleep(0.5)
            after = running(second, "hello", 2)
            assert [(r.pid, r.restarts) for r in after.replicas] == [
                (r.pid, 0) for r in before.replicas
            ]
            os.kill(after.replicas[1].pid or 0, signal.SIGKILL)  # adopted: not our child
            wait_for(
                "the adopted replica restarted",
                lambda: (
                    (rt := second.runtime("service", "public", "hello"))
                    and rt.summary == "running:2"
                    and rt.replicas[1].restarts == 1
                ),
            )
        finally:
            assert second.stop_everything(timeout=20)
            second.close()
        assert all(gone(r.pid) for r in before.replicas if r.pid)
    finally:
        cleanup(tmp_path)


def test_a_tampered_state_file_never_gets_a_foreign_process_signalled(tmp_path: Path) -> None:
    first = Supervisor(None, tmp_path, tick_s=0.05, **FAST)
    first.reconcile([workload("hello", replicas=1)])
    replica = running(first, "hello", 1).replicas[0]
    first.stop_everything(timeout=20)
    first.close()
    bystander = psutil.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True
    )
    try:
        path = tmp_path / "workloads/state.json"
        state = json.loads(path.read_text())
        state["workloads"] = [
            {
                "kind": "service",
                "workspace": "public",
                "name": "hello",
                "revision": 1,
                "desired": 1,
                "replicas": [
                    {
                        "name": "hello-0",
                        "index": 0,
                        "revision": 1,
                        "state": "ready",
                        "pid": bystander.pid,
                        "create_time": bystander.create_time(),
                        "command_digest": "0" * 64,
                        "ports": {"http": replica.ports["http"]},
                    }
                ],
            }
        ]
        path.write_text(json.dumps(state))
        second = Supervisor(None, tmp_path, tick_s=0.05, **FAST)
        try:
            second.reconcile([])
            wait_for("forgotten", lambda: second.runtime("service", "public", "hello") is None)
            time.sleep(0.3)
            assert bystander.is_running() and bystander.status() != psutil.STATUS_ZOMBIE
        finally:
            second.close()
    finally:
        bystander.kill()
        bystander.wait()


def test_only_one_process_supervises_the_others_read_the_state(tmp_path: Path) -> None:
    leader = Supervisor(None, tmp_path, tick_s=0.05, keep_on_close=True, **FAST)
    wait_for("the lock", lambda: leader.leader)
    follower = Supervisor(None, tmp_path, tick_s=0.05, **FAST)
    try:
        follower.reconcile([workload("hello", replicas=1)])  # the follower does not act
        leader.reconcile([workload("hello", replicas=1)])
        mine = running(leader, "hello", 1)
        seen = running(follower, "hello", 1)
        assert not follower.leader
        assert seen.replicas[0].pid == mine.replicas[0].pid
        assert follower.endpoints("public", "hello") == leader.endpoints("public", "hello")
        assert follower.logs("service", "public", "hello", None, 10)
        leader.close()
        wait_for("the follower takes over", lambda: follower.leader)
        assert running(follower, "hello", 1).replicas[0].pid == mine.replicas[0].pid
    finally:
        follower.stop_everything(timeout=20)
        follower.close()
        leader.close()


def test_logs_are_bounded_and_name_known_replicas_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATAOS_WORKLOAD_LOG_MAX_BYTES", "4096")
    chatty = [
        sys.executable,
        "-c",
        "import sys, time\nfor i in range(100000):\n print('line', i, 'x' * 60, flush=True)\n"
        " time.sleep(0.002)\ntime.sleep(60)",
    ]
    sup = Supervisor(None, tmp_path, tick_s=0.05, **FAST)
    try:
        sup.reconcile([workload("chatty", kind="worker", replicas=1, command=chatty)])
        running(sup, "chatty", 1, kind="worker")
        time.sleep(5)
        folder = tmp_path / "workloads/worker/public/chatty/logs"
        sizes = [p.stat().st_size for p in folder.iterdir()]
        assert len(sizes) == 2 and max(sizes) < 4096 * 10, sizes
        lines = sup.logs("worker", "public", "chatty", "chatty-0", 5)
        assert len(lines) == 5 and lines[-1].startswith("line")
        with pytest.raises(LookupError, match=r"no replica '\.\./\.\./etc'"):
            sup.logs("worker", "public", "chatty", "../../etc", 5)
    finally:
        sup.stop_everything(timeout=20)
        sup.close()


def test_the_stop_command_stops_what_no_server_supervises(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "dataos_defs.poros.supervisor", "stop"]
    env = {**os.environ, "DATAOS_HOME": str(tmp_path)}
    holder = Supervisor(None, tmp_path, tick_s=0.05, keep_on_close=True, **FAST)
    holder.reconcile([workload("hello", replicas=1)])
    pid = running(holder, "hello", 1).replicas[0].pid
    refused = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert refused.returncode == 1 and "still supervises" in refused.stderr
    holder.close()
    stopped = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert stopped.returncode == 0, stopped.stderr
    assert pid is not None and gone(pid)


def test_closing_stops_the_replicas_unless_kept(tmp_path: Path) -> None:
    supervisor = Supervisor(None, tmp_path, tick_s=0.05, **FAST)
    supervisor.reconcile([workload("hello", replicas=2)])
    pids = [r.pid for r in running(supervisor, "hello", 2).replicas]
    began = time.monotonic()
    supervisor.close()
    assert time.monotonic() - began < FAST["stop_grace_s"] + 2
    assert all(p is not None and gone(p) for p in pids)
    again = Supervisor(None, tmp_path, tick_s=0.05, **FAST)
    try:
        again.reconcile([workload("hello", replicas=2)])  # the next server runs them again
        assert {r.pid for r in running(again, "hello", 2).replicas}.isdisjoint(pids)
    finally:
        again.close()
