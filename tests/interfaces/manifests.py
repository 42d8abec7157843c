"""The example product interface tests apply (manifests from tests/manifest_texts.py)."""

from __future__ import annotations

from tests.manifest_texts import depot as depot_text
from tests.manifest_texts import secret as secret_text
from tests.manifest_texts import workflow


def product(prefix: str, password: str = "s3cr3t-value") -> str:
    """A secret, a depot using it and a workflow reading it, as one multi-document text."""
    secret = f"{prefix}sec"
    depot = f"{prefix}pg"
    return "---\n".join(
        [
            secret_text(secret, password),
            depot_text(depot, secret),
            workflow(f"{prefix}-copy", depot),
        ]
    )
