"""The local file system as depots may use it: inside the storage roots, never the platform's
own state.

A depot's folder (FILE ``path``, LAKEHOUSE ``warehouse``, a SQLite catalog file) is written
relative to ``DATAOS_HOME`` (``file://`` allowed) or absolute. :meth:`Storage.confine` turns
that text into the real path every reader and writer then uses (``os.path.realpath``:
symbolic links and ``..`` resolved) and refuses it, with a :class:`ConfinementError`, when:

* it is not inside one of the storage roots the operator configures (``DATAOS_STORAGE_ROOTS``,
  absolute folders separated by ``os.pathsep``; default ``$DATAOS_HOME/data`` and
  ``$DATAOS_HOME/warehouse``);
* it is, contains or is inside the platform's state (the Poros store ``poros.db*``, the
  secret key, ``credentials``, ``logs/``, ``decisions.jsonl``, the Dagster instance, the
  gateway audit, the embedded PostgreSQL folder, flare's state, pid and log files);
* it is reached through a symbolic link below its storage root (the real path differs from
  the written one): a link made after the depot was admitted must not move it;
* it names globs (DuckDB expands ``*``, ``?``, ``[``) or is not a local path at all.

Checks run at apply (admission) and again on every read and write, since links can be made
at any time; :meth:`Storage.within` then keeps each dataset path inside its depot's real
folder. A check and the read that follows are not atomic: a link swapped in between is
caught by the next read only.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dataos_defs.manifest.depot_locations import local_text, path_kind

STORAGE_ROOTS_ENV = "DATAOS_STORAGE_ROOTS"
DEFAULT_ROOTS = ("data", "warehouse")
STATE_ENTRIES = (
    "poros.db", "secret.key", "credentials", "logs", "decisions.jsonl", "dagster", "gateway",
    "postgres", "flare-state", "api.pid", "dagster.pid", "api.log", "monitor", "caretaker",
)  # fmt: skip
"""The platform's state directly under ``DATAOS_HOME`` (kept in step with the modules that
own each name: tests/minerva/test_localfs.py checks it)."""
STATE_PREFIX = "poros.db"
"""Every ``poros.db*`` file (SQLite's ``-wal``, ``-shm`` and ``-journal`` too)."""
GLOB_CHARACTERS = frozenset("*?[")


class StorageError(Exception):
    """A refused path or a refused configuration: ``message`` says what, ``hint`` how to fix."""

    def __init__(self, message: str, hint: str) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})"


class StorageConfigError(StorageError):
    """The storage roots themselves are wrong (relative, or inside the platform's state)."""


class ConfinementError(StorageError):
    """A depot path refused by ``rule`` (``scheme``, ``invalid``, ``glob``, ``state``,
    ``outside``, ``link``)."""

    def __init__(self, text: str, rule: str, message: str, hint: str) -> None:
        self.text = text
        self.rule = rule
        super().__init__(message, hint)


@dataclass(frozen=True)
class Root:
    """A storage root as configured and as resolved."""

    written: Path
    real: Path


@dataclass(frozen=True)
class Storage:
    """The storage roots and the platform state of one ``DATAOS_HOME``."""

    home: Path
    roots: tuple[Root, ...]
    state: tuple[Path, ...]

    @classmethod
    def from_env(cls, home: Path, environ: Mapping[str, str] | None = None) -> Storage:
        """Roots from ``DATAOS_STORAGE_ROOTS`` (unset or empty: the defaults); raises
        StorageConfigError for a relative root or one inside the platform's state."""
        env = os.environ if environ is None else environ
        home = Path(os.path.abspath(home))
        state = _state_paths(home, env)
        configured = [r for r in (env.get(STORAGE_ROOTS_ENV) or "").split(os.pathsep) if r]
        written = [Path(r) for r in configured] or [home / name for name in DEFAULT_ROOTS]
        storage = cls(home, (), state)
        roots = tuple(storage._root(path) for path in written)
        return cls(home, roots, state)

    def describe_roots(self) -> str:
        return ", ".join(str(root.written) for root in self.roots)

    def absolute(self, text: str) -> Path:
        """The written path made absolute (relative to home), ``..`` folded as written."""
        lexical = os.path.normpath(self.home / local_text(text))
        return Path("/" + lexical.lstrip("/")) if lexical.startswith("//") else Path(lexical)

    def resolve(self, text: str) -> Path:
        """The real path of a local path text, without any rule (to compare locations)."""
        return Path(os.path.realpath(self.home / local_text(text)))

    def confine(self, text: str) -> Path:
        """The real path of a depot's local path text, or ConfinementError."""
        self._check_text(text)
        real = self.resolve(text)
        self._check_state(text, real)
        root = next((r for r in self.roots if real.is_relative_to(r.real)), None)
        if root is None:
            raise ConfinementError(
                text,
                "outside",
                f"'{text}' resolves to {real}, outside the storage roots",
                f"use a folder under one of {self.describe_roots()} (operators set "
                f"{STORAGE_ROOTS_ENV})",
            )
        if real != self._as_written(text) or _has_link(root.real, real):
            raise ConfinementError(
                text,
                "link",
                f"'{text}' is reached through a symbolic link: it resolves to {real}",
                "write the real folder, with no symbolic link below its storage root",
            )
        return real

    @staticmethod
    def within(folder: Path, path: Path | str, text: str) -> Path:
        """The real path of ``path``, which must stay inside the real ``folder`` (a depot's
        confined folder); ``text`` names the depot path in the refusal."""
        real = Path(os.path.realpath(path))
        if not real.is_relative_to(folder):
            raise ConfinementError(
                text,
                "link",
                f"{path} resolves to {real}, outside the depot's folder {folder}",
                "remove the symbolic link; a dataset stays inside its depot's folder",
            )
        if GLOB_CHARACTERS & set(str(real.relative_to(folder))):
            raise ConfinementError(
                text,
                "glob",
                f"{real} holds glob characters ({''.join(sorted(GLOB_CHARACTERS))})",
                "readers would expand them into other files; rename it",
            )
        return real

    @classmethod
    def tree_within(cls, folder: Path, top: Path, text: str) -> None:
        """Every symbolic link under ``top`` (files and folders) stays inside ``folder``."""
        for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
            for name in (*dirnames, *filenames):
                entry = Path(dirpath) / name
                if entry.is_symlink():
                    cls.within(folder, entry, text)

    def _root(self, written: Path) -> Root:
        if not written.is_absolute():
            raise StorageConfigError(
                f"storage root '{written}' is not an absolute path",
                f"set {STORAGE_ROOTS_ENV} to absolute folders separated by '{os.pathsep}'",
            )
        real = Path(os.path.realpath(written))
        entry = self._state_entry(real, contains=False)
        if entry is not None:
            raise StorageConfigError(
                f"storage root '{written}' resolves to {real}, inside the platform's state "
                f"({entry})",
                f"choose folders outside {entry} for {STORAGE_ROOTS_ENV}",
            )
        return Root(Path(os.path.normpath(written)), real)

    def _check_text(self, text: str) -> None:
        kind = path_kind(text)
        if kind != "local":
            raise ConfinementError(
                text, "scheme", f"'{text}' is not a local path", "write a folder or file:///path"
            )
        local = local_text(text)
        if not local or "\x00" in local:
            raise ConfinementError(
                text, "invalid", f"'{text}' is not a usable path", "write a folder name"
            )
        if GLOB_CHARACTERS & set(local):
            raise ConfinementError(
                text,
                "glob",
                f"'{text}' holds glob characters ({''.join(sorted(GLOB_CHARACTERS))})",
                "readers would expand them into other folders; rename the folder",
            )

    def _check_state(self, text: str, real: Path) -> None:
        entry = self._state_entry(real, contains=True)
        if entry is not None:
            raise ConfinementError(
                text,
                "state",
                f"'{text}' resolves to {real}, which is, holds or is inside the platform's "
                f"state ({entry})",
                f"depots live in folders of their own under {self.describe_roots()}",
            )

    def _state_entry(self, real: Path, *, contains: bool) -> Path | None:
        """The state path ``real`` is or is inside (or, with ``contains``, holds)."""
        home = Path(os.path.realpath(self.home))
        for entry in self.state:
            if real.is_relative_to(entry) or (contains and entry.is_relative_to(real)):
                return entry
        if contains and home.is_relative_to(real):
            return home / STATE_PREFIX
        for part in (real, *real.parents):
            if part.parent == home and _folded(part.name).startswith(STATE_PREFIX):
                return part
            if part.parent == home and _folded(part.name) in _FOLDED_ENTRIES:
                return part
        return None

    def _as_written(self, text: str) -> Path | None:
        """Where the path would be with no symbolic link below its storage root."""
        lexical = self.absolute(text)
        for root in self.roots:
            for base in (root.written, root.real):
                if lexical.is_relative_to(base):
                    return root.real / lexical.relative_to(base)
        return None


_FOLDED_ENTRIES = frozenset(unicodedata.normalize("NFC", name).casefold() for name in STATE_ENTRIES)


def _has_link(root: Path, real: Path) -> bool:
    """Whether a component below ``root`` is still a link (a loop realpath left as is)."""
    current = root
    for part in real.relative_to(root).parts:
        current = current / part
        if current.is_symlink():
            return True
    return False


def _folded(name: str) -> str:
    """A name as a case-insensitive, normalizing file system may treat it."""
    return unicodedata.normalize("NFC", name).casefold()


def _state_paths(home: Path, env: Mapping[str, str]) -> tuple[Path, ...]:
    """The real paths of the platform's state: the entries under home, ``DAGSTER_HOME``
    and a SQLite store named by ``DATAOS_DATABASE_URL``."""
    names = [*STATE_ENTRIES, *(f"{STATE_PREFIX}{s}" for s in ("-wal", "-shm", "-journal"))]
    found = [str(home / name) for name in names]
    if env.get("DAGSTER_HOME"):
        found.append(env["DAGSTER_HOME"])
    url = env.get("DATAOS_DATABASE_URL") or ""
    if url.startswith("sqlite:///"):
        found.append(url.removeprefix("sqlite:///").split("?")[0])
    return tuple(Path(os.path.realpath(os.path.abspath(p))) for p in found)
