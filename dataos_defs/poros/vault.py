"""Secret values at rest: redacted in stored manifests, encrypted beside them.

One Fernet key (``DATAOS_SECRET_KEY``, or ``<DATAOS_HOME>/secret.key`` created with mode
0600) encrypts the secret values of each revision as a single token, and a second key
derived from it (HKDF) signs manifest digests: a plain hash of a manifest would let anyone
reading the database confirm a guessed password.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from dataos_defs.manifest.source import KeyPath
from dataos_defs.poros.errors import InsecureKeyFile, InvalidRequest, VaultError
from dataos_defs.poros.settings import SECRET_KEY_ENV, Settings

REDACTED = "<redacted>"
GENERATE_HINT = (
    "generate one with: python -c 'from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())'"
)


class Vault:
    """Encrypts secret values and signs manifest digests with the store key."""

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise VaultError(
                "the secret key is not a valid Fernet key (32 url-safe base64 bytes)",
                GENERATE_HINT,
            ) from exc
        self._digest_key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"dataos-poros-digest"
        ).derive(key)

    @classmethod
    def from_settings(cls, settings: Settings) -> Vault:
        if settings.secret_key:
            return cls(settings.secret_key.encode())
        return cls(load_or_create_key(settings.key_file))

    def digest(self, manifest: Any) -> str:
        """HMAC-SHA256 of the canonical JSON of the full manifest (secrets included)."""
        return hmac.new(self._digest_key, canonical_json(manifest), hashlib.sha256).hexdigest()

    def seal(self, secrets: list[tuple[KeyPath, Any]]) -> str | None:
        if not secrets:
            return None
        payload = json.dumps([[list(path), value] for path, value in secrets]).encode()
        return self._fernet.encrypt(payload).decode()

    def open(self, token: str) -> list[tuple[KeyPath, Any]]:
        try:
            payload = self._fernet.decrypt(token.encode())
        except InvalidToken as exc:
            raise VaultError(
                "stored secrets cannot be decrypted with this key",
                f"the store was written with another key; set {SECRET_KEY_ENV} to that key",
            ) from exc
        return [(tuple(path), value) for path, value in json.loads(payload)]


def canonical_json(value: Any) -> bytes:
    try:
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode()
    except RecursionError:
        raise _too_deep() from None


def _copy(manifest: dict[str, Any]) -> dict[str, Any]:
    try:
        return copy.deepcopy(manifest)
    except RecursionError:
        raise _too_deep() from None


def _too_deep() -> InvalidRequest:
    """Input limits keep manifests far shallower; this guards callers that bypass them."""
    return InvalidRequest(
        "the manifest nests too deeply to be stored", "flatten it; manifests rarely need 20 levels"
    )


def load_or_create_key(path: Path) -> bytes:
    """Read the key file, refusing one that others can read; create it if missing."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return _create_key(path)
    except OSError as exc:
        raise VaultError(f"cannot read secret key file {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "rb") as handle:
        mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise InsecureKeyFile(str(path), mode)
        return handle.read().strip()


def _create_key(path: Path) -> bytes:
    """Write a new key to a private temporary file and link it into place: the key file
    appears complete or not at all, and of two processes starting at once one key wins."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Fernet.generate_key()
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".secret-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    except FileExistsError:
        return load_or_create_key(path)
    finally:
        os.unlink(temporary)
    return key


def redact(
    manifest: dict[str, Any], paths: Iterable[KeyPath]
) -> tuple[dict[str, Any], list[tuple[KeyPath, Any]]]:
    """A copy of ``manifest`` with the values at ``paths`` replaced by ``REDACTED``, and
    those values. Paths that are absent are skipped; a path inside an already redacted
    value is covered by it."""
    redacted = _copy(manifest)
    secrets: list[tuple[KeyPath, Any]] = []
    for path in sorted(set(paths), key=len):
        if not path:
            continue
        parent = _walk(redacted, path[:-1])
        last = path[-1]
        if not _has(parent, last):
            continue
        secrets.append((path, parent[last]))
        parent[last] = REDACTED
    return redacted, secrets


def restore(manifest: dict[str, Any], secrets: list[tuple[KeyPath, Any]]) -> dict[str, Any]:
    restored = _copy(manifest)
    for path, value in secrets:
        parent = _walk(restored, path[:-1])
        if _has(parent, path[-1]):
            parent[path[-1]] = value
    return restored


def _walk(node: Any, path: KeyPath) -> Any:
    for part in path:
        if not _has(node, part):
            return None
        node = node[part]
    return node


def _has(node: Any, part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    if isinstance(node, list):
        return isinstance(part, int) and 0 <= part < len(node)
    return False
