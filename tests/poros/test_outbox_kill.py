"""A process killed while an apply writes its run outbox leaves neither the Resources nor
their runs; once the apply commits, both are there (one transaction)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dataos_defs.poros.settings import Settings, sqlite_url
from dataos_defs.poros.store import Store

ROOT = Path(__file__).resolve().parents[2]
COUNT = 1500

# The child applies COUNT workflows without a schedule in one transaction and says when it
# starts writing their outbox entries, the last statement before the commit.
CHILD = textwrap.dedent(
    f"""
    from sqlalchemy import event
    from poros_helpers import item
    from dataos_defs.poros.store import Store

    store = Store.open()
    said = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def started(conn, cursor, statement, *args):
        if statement.startswith("INSERT INTO run_outbox") and not said:
            said.append(True)
            print("outbox", flush=True)
            if {{kill}}:
                import time
                time.sleep(60)

    items = [item("workflow", f"w{{i}}", "public", body={{"dag": [i]}}) for i in range({COUNT})]
    store.apply(items, "killer")
    print("committed", flush=True)
    """
)


def run_child(settings: Settings, kill: bool) -> str:
    env = {
        **os.environ,
        "DATAOS_HOME": str(settings.home),
        "DATAOS_DATABASE_URL": settings.database_url,
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), str(ROOT)]),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.replace("{kill}", str(kill))],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "outbox"
    if kill:
        child.send_signal(signal.SIGKILL)
    rest = child.stdout.read()
    child.wait(timeout=60)
    return rest


@pytest.mark.slow
def test_sigkill_while_the_outbox_is_written_keeps_resources_and_runs_together(
    tmp_path: Path,
) -> None:
    settings = Settings(home=tmp_path, database_url=sqlite_url(tmp_path / "poros.db"))
    with Store.open(settings=settings):
        pass
    assert "committed" not in run_child(settings, kill=True)
    with Store.open(settings=settings) as store:
        assert store.list(kind="workflow") == []
        assert store.outbox() == []

    assert "committed" in run_child(settings, kill=False)
    with Store.open(settings=settings) as store:
        assert len(store.list(kind="workflow")) == COUNT
        assert len(store.outbox()) == COUNT
