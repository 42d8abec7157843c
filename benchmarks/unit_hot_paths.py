"""Issue 10: the speed targets unit tests used to assert with a wall clock, where they flaked
on a loaded 2-core runner (the tests now check only the result). In process, best of 3:

- validating 1,000 scheduled flare workflows <= 0.5 s (``tests/manifest/test_workflow.py``);
- applying 100 manifests (a secret, a depot, 98 workflows) to a new SQLite store <= 1 s
  (``tests/poros/test_apply_service.py``, which allowed 2 s on PostgreSQL);
- 5,000 cached API-key authentications <= 1 s (``tests/poros/test_identities.py``).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.manifest_texts import depot, secret, workflow  # noqa: E402

ROUNDS = 3


def _best(measure: Callable[[], float]) -> float:
    return min(measure() for _ in range(ROUNDS))


def validate_1000_workflows() -> float:
    from dataos_defs.manifest.loader import parse_yaml
    from dataos_defs.manifest.validate import parse_document

    documents, _ = parse_yaml(workflow("copy", "shop"), "copy.yaml")
    parse_document(documents[0])
    started = time.perf_counter()
    for _ in range(1000):
        parsed, issues = parse_document(documents[0])
    elapsed = time.perf_counter() - started
    assert parsed is not None and not issues, issues
    return elapsed


def apply_100_manifests() -> float:
    from dataos_defs.manifest.loader import parse_yaml
    from dataos_defs.manifest.validate import parse_documents
    from dataos_defs.poros.apply import apply_resources
    from dataos_defs.poros.store import Store

    texts = [secret("pgr"), depot("shop", "pgr")]
    texts += [workflow(f"copy{i}", "shop", f"t{i}") for i in range(98)]
    documents, issues = parse_yaml("---\n".join(texts), "manifests.yaml")
    assert not issues, issues
    parsed = parse_documents(documents)
    with tempfile.TemporaryDirectory(prefix="bench-apply-") as home:
        store = Store.open(f"sqlite:///{home}/poros.db")
        try:
            started = time.perf_counter()
            results = apply_resources(store, parsed, None, "alice")
            elapsed = time.perf_counter() - started
        finally:
            store.close()
    assert len(results) == 100
    return elapsed


def cached_authentications_5000() -> float:
    from dataos_defs.poros.identities import Identities
    from dataos_defs.poros.store import Store

    with tempfile.TemporaryDirectory(prefix="bench-auth-") as home:
        store = Store.open(f"sqlite:///{home}/poros.db")
        try:
            identities = Identities(store)
            identities.create_user("judy")
            key = identities.create_api_key("judy").key
            assert identities.authenticate(key) is not None
            started = time.perf_counter()
            for _ in range(5000):
                identities.authenticate(key)
            return time.perf_counter() - started
        finally:
            store.close()


def main() -> dict[str, float]:
    os.environ.setdefault("DATAOS_HOME", tempfile.mkdtemp(prefix="bench-hot-paths-"))
    figures = {
        "validate_1000_workflows_s": _best(validate_1000_workflows),
        "apply_100_manifests_sqlite_s": _best(apply_100_manifests),
        "cached_authentications_5000_s": _best(cached_authentications_5000),
    }
    print(f"Hot paths once asserted by unit tests (in process, best of {ROUNDS})")
    print(
        f"  validate 1,000 workflows:       {figures['validate_1000_workflows_s']:.3f} s"
        "  (target <= 0.5 s)"
    )
    print(
        f"  apply 100 manifests (SQLite):   {figures['apply_100_manifests_sqlite_s']:.3f} s"
        "  (target <= 1 s)"
    )
    print(
        f"  5,000 cached authentications:   {figures['cached_authentications_5000_s']:.3f} s"
        "  (target <= 1 s)"
    )
    return figures


if __name__ == "__main__":
    main()
