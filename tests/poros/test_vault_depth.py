"""Redaction and digests refuse a manifest nested past the interpreter's recursion limit
with a Poros error (a JSON 400 at the API), not a bare RecursionError."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from cryptography.fernet import Fernet

from dataos_defs.poros.errors import InvalidRequest
from dataos_defs.poros.vault import Vault, redact, restore


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"password": "pw"}
    for _ in range(depth):
        value = {"k": value}
    return value


DEEP = nested(sys.getrecursionlimit() * 2)


def test_redacting_a_too_deep_manifest_is_an_invalid_request() -> None:
    with pytest.raises(InvalidRequest, match="nests too deeply"):
        redact(DEEP, [("k",)])


def test_restoring_a_too_deep_manifest_is_an_invalid_request() -> None:
    with pytest.raises(InvalidRequest, match="nests too deeply"):
        restore(DEEP, [])


def test_digesting_a_too_deep_manifest_is_an_invalid_request() -> None:
    with pytest.raises(InvalidRequest, match="nests too deeply"):
        Vault(Fernet.generate_key()).digest(DEEP)


def test_manifests_within_the_limits_are_redacted_as_before() -> None:
    manifest = nested(100)
    path: tuple[str, ...] = ("k",) * 100 + ("password",)
    redacted, secrets = redact(manifest, [path])
    assert secrets == [(path, "pw")]
    assert restore(redacted, secrets) == manifest
