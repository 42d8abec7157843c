"""The compiled Definitions of the example data product, pinned as a readable JSON file.

Compiled as the code location compiles it, with a resource per applied depot.
Regenerate after an intended change with ``UPDATE_SNAPSHOTS=1 pytest tests/compile``
and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
from compile_helpers import RESOURCES, example_inputs, summary_json

from dataos_defs.compile import compile_definitions
from dataos_defs.location.depot_resources import DepotResource
from dataos_defs.manifest.loader import load_documents
from dataos_defs.manifest.sensitive import is_sensitive_key

SNAPSHOT = Path(__file__).parent / "snapshots" / "resources.json"


def test_example_matches_snapshot() -> None:
    defs = compile_definitions(example_inputs(), {}, depot_resource=DepotResource.of)
    dg.Definitions.validate_loadable(defs)
    text = summary_json(defs)
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(text)
    assert text == SNAPSHOT.read_text()


def test_no_secret_value_of_the_example_is_compiled() -> None:
    """The example's passwords stay out of the compiled definitions."""
    secrets = [
        value
        for document in load_documents([RESOURCES / "secrets.yaml"])
        for key, value in (document.data.get("instance-secret") or {}).get("data", {}).items()
        if is_sensitive_key(key)
    ]
    assert secrets, "the example should hold at least one secret value"
    compiled = summary_json(
        compile_definitions(example_inputs(), {}, depot_resource=DepotResource.of)
    )
    assert not [s for s in secrets if s in compiled]
