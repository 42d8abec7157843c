"""API key material and the authentication cache.

A key reads ``dok_<keyid>_<secret>``: the key id (16 hex digits) finds the row by primary
key, the secret (32 random bytes, url-safe base64) proves possession. Only the SHA-256
digest of the whole key is stored. The secret carries 256 bits of entropy, so a plain
digest needs neither salt nor stretching: nobody can guess keys from it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

PREFIX = "dok_"
KEY_ID_BYTES = 8
SECRET_BYTES = 32
KEY_PATTERN = re.compile(r"^dok_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")

T = TypeVar("T")


@dataclass(frozen=True)
class KeyMaterial:
    """A freshly generated key: ``key`` goes to the caller once, ``digest`` to the store."""

    key_id: str
    key: str
    digest: str


def generate() -> KeyMaterial:
    key_id = secrets.token_hex(KEY_ID_BYTES)
    key = f"{PREFIX}{key_id}_{secrets.token_urlsafe(SECRET_BYTES)}"
    return KeyMaterial(key_id, key, digest(key))


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_id_of(key: str) -> str | None:
    """The key id of a well-formed key, ``None`` for anything else (checked before any I/O)."""
    found = KEY_PATTERN.match(key)
    return found.group(1) if found else None


def same_digest(stored: str, given: str) -> bool:
    return hmac.compare_digest(stored.encode(), given.encode())


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Entry(Generic[T]):
    value: T | None
    expires_at: datetime | None
    cached_at: float


class TtlCache(Generic[T]):
    """Authentication results by key digest, each trusted for ``ttl`` seconds.

    Unknown keys are cached too (as ``None``), so a flood of bad keys does not reach the
    database more than once per key and TTL; this is safe because a key that does not
    exist yet cannot be guessed before it is created. The entry also remembers when the
    key expires, so an expiring key stops working on time even while cached. Bounded:
    the least recently used entry goes first. Writes to identities in this process call
    :meth:`clear`; other processes see them within ``ttl``.
    """

    def __init__(
        self,
        ttl: float = 5.0,
        size: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        """``clock`` measures the TTL; ``now`` is the wall time keys expire by."""
        self.ttl = ttl
        self.size = size
        self._clock = clock
        self._now = now
        self._entries: OrderedDict[str, _Entry[T]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bool, T | None]:
        """``(found, value)``; an expired key is found with value ``None``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return False, None
            if self._clock() - entry.cached_at > self.ttl:
                del self._entries[key]
                return False, None
            self._entries.move_to_end(key)
        if entry.expires_at is not None and self._now() >= entry.expires_at:
            return True, None
        return True, entry.value

    def put(self, key: str, value: T | None, expires_at: datetime | None = None) -> None:
        with self._lock:
            self._entries[key] = _Entry(value, expires_at, self._clock())
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
