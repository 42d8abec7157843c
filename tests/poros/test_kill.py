"""A process killed in the middle of a large apply leaves the store exactly as it was."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from poros_helpers import item, secret_item
from sqlalchemy import text

from dataos_defs.poros.settings import Settings, sqlite_url
from dataos_defs.poros.store import Store

ROOT = Path(__file__).resolve().parents[2]

# The child applies 2,000 manifests in one transaction and says when their resource rows
# are written, before their revisions are. A tiny page cache makes SQLite spill uncommitted pages into the WAL
# during the transaction, so the kill lands while the database files are being written.
CHILD = textwrap.dedent(
    """
    import sys
    from sqlalchemy import event
    from poros_helpers import item, secret_item
    from dataos_defs.poros.store import Store

    store = Store.open()

    @event.listens_for(store.engine, "connect")
    def small_cache(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA cache_size = 8")

    store.engine.dispose()
    said = []

    @event.listens_for(store.engine, "after_cursor_execute")
    def started(conn, cursor, statement, *args):
        if statement.startswith("INSERT INTO resources") and not said:
            said.append(True)
            print("writing", flush=True)

    batch = [secret_item(f"s{i}", password="p" * 200) for i in range(1000)]
    batch += [item("depot", f"d{i}", body={"changed": "x" * 200}) for i in range(1000)]
    store.apply(batch, "killer")
    print("committed", flush=True)
    """
)


def snapshot(store: Store) -> tuple[object, ...]:
    resources = [
        (r.key, r.revision, r.status, r.manifest) for r in store.list(include_deleted=True)
    ]
    histories = [len(store.history(r.kind, r.name, r.workspace)) for r in store.list()]
    with store.engine.connect() as conn:
        revisions = conn.execute(text("SELECT count(*) FROM revisions")).scalar_one()
    return resources, histories, revisions


@pytest.mark.slow
def test_sigkill_during_a_large_apply(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url=sqlite_url(tmp_path / "poros.db"))
    with Store.open(settings=settings) as store:
        store.apply([item("depot", f"d{i}") for i in range(300)], "setup")
        store.apply([secret_item("s0")], "setup")
        store.delete("depot", "d7", None, "setup")
        before = snapshot(store)

    env = {
        **os.environ,
        "DATAOS_HOME": str(settings.home),
        "DATAOS_DATABASE_URL": settings.database_url,
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), str(ROOT)]),
    }
    env.pop("DATAOS_SECRET_KEY", None)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], env=env, stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "writing"
    child.send_signal(signal.SIGKILL)
    rest = child.stdout.read()
    assert child.wait(timeout=30) == -signal.SIGKILL
    assert "committed" not in rest, "the apply finished before the kill; make it bigger"
    wal = settings.home / "poros.db-wal"
    assert wal.exists() and wal.stat().st_size > 0, "nothing was being written at the kill"

    with Store.open(settings=settings) as store:
        with store.engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
        assert snapshot(store) == before
        again = store.apply([item("depot", "d1", body={"after": True})], "later")
        assert again[0].action == "updated"
