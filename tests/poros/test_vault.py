"""Secret values at rest: the key file, encryption, redaction, digests."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st
from poros_helpers import PASSWORD, secret_item
from sqlalchemy import text

from dataos_defs.poros.errors import InsecureKeyFile, VaultError
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store
from dataos_defs.poros.vault import (
    REDACTED,
    Vault,
    canonical_json,
    load_or_create_key,
    redact,
    restore,
)


def test_key_file_is_created_private(tmp_path: Path) -> None:
    path = tmp_path / "home" / "secret.key"
    key = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key(path) == key
    Fernet(key)


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    load_or_create_key(path)
    path.chmod(0o644)
    with pytest.raises(InsecureKeyFile) as refused:
        load_or_create_key(path)
    assert "chmod 600" in str(refused.value)


def test_key_from_the_environment_wins(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    settings = Settings.from_env({"DATAOS_HOME": str(tmp_path), "DATAOS_SECRET_KEY": key})
    assert settings.secret_key == key
    Vault.from_settings(settings)
    assert not (tmp_path / "secret.key").exists()
    with pytest.raises(VaultError):
        Vault(b"not a key")


def test_settings_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env({}, cwd=tmp_path)
    assert settings.home == tmp_path / ".dataos"
    assert settings.database_url == f"sqlite:///{tmp_path}/.dataos/poros.db"
    assert settings.key_file == tmp_path / ".dataos" / "secret.key"


def test_secrets_are_encrypted_at_rest(store: Store, settings: Settings) -> None:
    store.apply([secret_item("pg-r")], "alice")
    with store.engine.connect() as conn:
        for table in ("resources", "revisions", "resource_references"):
            rows = conn.execute(text(f"SELECT * FROM {table}")).all()
            assert PASSWORD not in repr(rows)
        ciphertext = conn.execute(text("SELECT secret_ciphertext FROM revisions")).scalar_one()
    assert ciphertext and PASSWORD not in ciphertext
    if settings.database_url.startswith("sqlite"):
        raw = b"".join(p.read_bytes() for p in settings.home.parent.rglob("poros.db*"))
        assert PASSWORD.encode() not in raw


def test_digest_is_keyed_not_a_plain_hash(store: Store) -> None:
    secret = secret_item("pg-r")
    store.apply([secret], "alice")
    digest = store.history("instance-secret", "pg-r")[0].digest
    assert digest != hashlib.sha256(canonical_json(secret.manifest)).hexdigest()
    other = Vault(Fernet.generate_key())
    assert other.digest(secret.manifest) != digest
    assert store.vault.digest(secret.manifest) == digest


def test_a_store_opened_with_another_key_cannot_read_secrets(settings: Settings) -> None:
    with Store.open(settings=settings) as store:
        store.apply([secret_item("pg-r")], "alice")
    other = Settings(settings.home, settings.database_url, Fernet.generate_key().decode())
    with Store.open(settings=other) as store:
        assert store.get("instance-secret", "pg-r") is not None
        with pytest.raises(VaultError):
            store.get("instance-secret", "pg-r", unsanitize=True)


def test_redact_skips_absent_paths_and_nested_ones() -> None:
    manifest = {"a": {"b": [{"c": "x"}, {"c": "y"}]}, "d": "z"}
    redacted, secrets = redact(manifest, [("a", "b", 1, "c"), ("a", "b"), ("nope", "x"), ("d",)])
    assert redacted == {"a": {"b": REDACTED}, "d": REDACTED}
    assert manifest["d"] == "z"
    assert restore(redacted, secrets) == manifest


KEY = Fernet.generate_key()
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


@given(st.dictionaries(st.text(max_size=3), json_values, max_size=4), st.data())
def test_redact_then_seal_then_restore_round_trips(
    manifest: dict[str, Any], data: st.DataObject
) -> None:
    paths = _paths(manifest)
    chosen = data.draw(st.lists(st.sampled_from(paths), max_size=4)) if paths else []
    vault = Vault(KEY)
    redacted, secrets = redact(manifest, chosen)
    token = vault.seal(secrets)
    opened = vault.open(token) if token else []
    assert json.dumps(opened) == json.dumps(secrets)
    assert restore(redacted, opened) == manifest


def test_key_file_is_not_world_readable_even_with_a_loose_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        load_or_create_key(tmp_path / "k" / "secret.key")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k" / "secret.key").stat().st_mode) == 0o600
