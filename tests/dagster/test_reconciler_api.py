"""Through the real API server and ``dataos-ctl``: an apply is answered before Dagster is
reconciled, the reconciliation's progress is visible meanwhile, requests made during one
reconciliation cost one more reload, and ``apply --wait`` follows it to the end (active,
error, or the timeout).

Dagster is the GraphQL stand-in, whose reloads the test can hold (``HeldReload``).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dagster_support import interfaces, stand_in_platform
from lifecycle_manifests import ONCE
from test_reconciler import HeldReload

from dataos_defs.api import reconcile_progress

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

NIGHTLY = """\
name: {name}
version: v1
type: workflow
workflow:
  schedule:
    cron: "0 3 * * *"
  dag:
    - name: hello
      spec:
        stack: python3
        compute: runnable-default
        stackSpec: {{}}
"""


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, HeldReload]]:
    stand_in = HeldReload(list)
    home = tmp_path_factory.mktemp("dataos-home")
    with stand_in_platform(home, stand_in, on_stop=stand_in.release.set) as server:
        yield server, stand_in


@pytest.fixture
def held(platform: tuple[Any, HeldReload]) -> Iterator[HeldReload]:
    """The stand-in with its next reload held, until the test releases it."""
    _, stand_in = platform
    stand_in.reached.clear()
    stand_in.release.clear()
    stand_in.hold.set()
    try:
        yield stand_in
    finally:
        stand_in.hold.clear()
        stand_in.release.set()
        stand_in.launch_error = None


def run_cli(server: Any, *args: str) -> Any:
    return interfaces().run_cli(server, *args)


def write(tmp_path: Path, text: str, name: str = "wf.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def nightly(name: str) -> str:
    return NIGHTLY.format(name=name)


def shown(server: Any, name: str) -> dict[str, Any]:
    done = run_cli(server, "get", "-t", "workflow", "-n", name, "-o", "json")
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def eventually(check: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def test_the_apply_answers_before_the_reconciliation_and_get_shows_its_progress(
    platform: tuple[Any, HeldReload], held: HeldReload, tmp_path: Path
) -> None:
    server, _ = platform
    applied = run_cli(server, "apply", "-f", write(tmp_path, nightly("early")))
    assert applied.returncode == 0, applied.stderr
    assert "applying(public) early:v1:workflow...created" in applied.stdout
    assert held.reached.wait(30), "the reconciliation never reached Dagster"
    assert not held.release.is_set(), "the answer came after the reload"

    # The jobs of every workflow: what the location loads.
    progress = re.compile(rf"^{reconcile_progress.LOADING} \(\d+ jobs?, \d+ s\)$")
    assert eventually(lambda: bool(progress.match(shown(server, "early")["status_reason"] or "")))
    assert shown(server, "early")["status"] == "pending"

    held.release.set()
    assert eventually(lambda: shown(server, "early")["status"] == "active")
    assert shown(server, "early")["status_reason"] is None


def test_applies_during_a_reconciliation_cost_exactly_one_more_reload(
    platform: tuple[Any, HeldReload], held: HeldReload, tmp_path: Path
) -> None:
    server, _ = platform
    reloads = held.calls.count("Reload")
    first = run_cli(server, "apply", "-f", write(tmp_path, nightly("batch0")))
    assert first.returncode == 0, first.stderr
    assert held.reached.wait(30)
    for n in range(1, 5):
        done = run_cli(server, "apply", "-f", write(tmp_path, nightly(f"batch{n}"), f"{n}.yaml"))
        assert done.returncode == 0, done.stderr
    held.hold.clear()
    held.release.set()
    waited = run_cli(server, "apply", "-f", write(tmp_path, nightly("batch4"), "4.yaml"), "--wait")
    assert waited.returncode == 0, waited.stderr
    assert "batch4:v1:workflow...unchanged" in waited.stdout
    assert eventually(
        lambda: all(shown(server, f"batch{n}")["status"] == "active" for n in range(5))
    )
    assert held.calls.count("Reload") == reloads + 2  # the one held, then one for the rest


def test_wait_follows_the_reconciliation_and_prints_the_final_status(
    platform: tuple[Any, HeldReload], held: HeldReload, tmp_path: Path
) -> None:
    server, _ = platform
    command = [*interfaces().CLI, "apply", "-f", write(tmp_path, nightly("waited")), "--wait"]
    cli = subprocess.Popen(
        command, env=server.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines: list[str] = []
    try:
        assert cli.stderr is not None
        # Not a terminal: a line per phase on stderr. The reload is released once --wait
        # has shown it.
        for line in cli.stderr:
            lines.append(line)
            if f"waited (public): {reconcile_progress.LOADING} (" in line:
                break
    finally:
        held.release.set()
        out, err = cli.communicate(timeout=60)
    assert cli.returncode == 0, "".join(lines) + err
    assert "applying(public) waited:v1:workflow...created" in out
    assert "reconciled(public) waited:v1:workflow...active" in out
    assert "ReadTimeout" not in "".join(lines) + err


def test_wait_on_an_error_exits_non_zero_with_the_reason(
    platform: tuple[Any, HeldReload], tmp_path: Path
) -> None:
    server, stand_in = platform
    stand_in.launch_error = "the run queue is full"
    try:
        text = ONCE.format(description="fails").replace("name: once", "name: refused")
        waited = run_cli(server, "apply", "-f", write(tmp_path, text), "--wait")
    finally:
        stand_in.launch_error = None
    assert waited.returncode == 1, waited.stdout
    assert "reconciled(public) refused:v1:workflow...error: " in waited.stdout
    assert "the run queue is full" in waited.stdout
    assert "error: 1 workflow not active: refused (public): error: " in waited.stderr


def test_wait_gives_up_at_the_timeout_with_a_clear_message(
    platform: tuple[Any, HeldReload], held: HeldReload, tmp_path: Path
) -> None:
    server, _ = platform
    path = write(tmp_path, nightly("slow"))
    waited = run_cli(server, "apply", "-f", path, "--wait", "--timeout", "2")
    assert waited.returncode == 1
    assert "applying(public) slow:v1:workflow...created" in waited.stdout
    assert "reconciled(public) slow:v1:workflow...pending" in waited.stdout
    assert "error: timed out after 2 s waiting for the reconciliation of slow (public)" in (
        waited.stderr
    )
    assert "keeps reconciling in the background" in waited.stderr
    held.release.set()
    assert eventually(lambda: shown(server, "slow")["status"] == "active")


def test_wait_without_a_webserver_says_nothing_will_deploy(tmp_path: Path) -> None:
    helpers = interfaces()
    server = helpers.start_server(tmp_path)
    try:
        waited = run_cli(server, "apply", "-f", write(tmp_path, nightly("alone")), "--wait")
        plain = run_cli(server, "apply", "-f", write(tmp_path, nightly("alone")))
    finally:
        helpers.stop_server(server)
    assert waited.returncode == 1
    assert "no DAGSTER_WEBSERVER_URL" in waited.stderr
    assert plain.returncode == 0 and "unchanged" in plain.stdout
