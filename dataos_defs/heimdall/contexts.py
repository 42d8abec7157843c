"""CLI contexts: one ``dataos-ctl`` switching between platform instances.

A context is a name for one instance's URL and credentials, as in DataOS (``dataos-ctl
init``, ``context list|select|delete``). Each lives in its own credentials file (the format
and the 0600 rule of :mod:`dataos_defs.heimdall.credentials`):

- ``local`` is ``<DATAOS_HOME>/credentials``, the file the embedded server writes for its
  bootstrap operator, so a fresh installation works with no context set up;
- any other name is ``<DATAOS_HOME>/contexts/<name>.json``.

The selected context is named in ``<DATAOS_HOME>/contexts/current`` (none: ``local``);
``DATAOS_CONTEXT`` overrides it for one command, and ``DATAOS_API_URL`` /
``DATAOS_API_KEY`` still override what a context says. Contexts belong to a
``DATAOS_HOME``: set it to e.g. ``~/.dataos`` to share them between working directories.
Only the standard library is imported here: the CLI reads this on every call.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dataos_defs.heimdall.credentials import (
    Credentials,
    CredentialsError,
    credentials_path,
    home_dir,
    read_credentials,
)

LOCAL = "local"
CONTEXT_ENV = "DATAOS_CONTEXT"
FOLDER = "contexts"
CURRENT_FILE = "current"
NAME_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$")
MAX_CONTEXTS = 256


@dataclass(frozen=True)
class Context:
    name: str
    path: Path
    credentials: Credentials | None
    selected: bool


def check_name(name: str) -> str:
    """``name`` if it can name a context (it becomes a file name), else a clear error."""
    if not NAME_PATTERN.match(name):
        raise CredentialsError(
            f"'{name}' cannot name a context",
            "use 1 to 48 lower-case letters, digits and '-', e.g. 'staging'",
        )
    return name


def context_path(name: str, home: Path | None = None) -> Path:
    base = home or home_dir()
    if name == LOCAL:
        return credentials_path(base)
    return base / FOLDER / f"{check_name(name)}.json"


def selected_name(home: Path | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The context a command uses: ``DATAOS_CONTEXT``, else the selected one, else local."""
    env = os.environ if environ is None else environ
    named = env.get(CONTEXT_ENV)
    if named:
        return check_name(named.strip())
    marker = (home or home_dir()) / FOLDER / CURRENT_FILE
    try:
        text = marker.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return LOCAL
    except OSError as exc:
        raise CredentialsError(f"cannot read {marker}: {exc.strerror}") from exc
    return check_name(text) if text else LOCAL


def active_credentials_path(home: Path | None = None) -> Path:
    """The credentials file of the context in use; a selected context whose file is gone
    is an error (silently falling back to another instance would send commands there)."""
    name = selected_name(home)
    path = context_path(name, home)
    if name != LOCAL and not path.exists():
        raise CredentialsError(
            f"context '{name}' has no credentials (missing {path})",
            f"run 'dataos-ctl init -n {name} --url URL', or 'dataos-ctl context select -n local'",
        )
    return path


def list_contexts(home: Path | None = None) -> list[Context]:
    """Every context: ``local`` first, then the others by name (never their keys)."""
    base = home or home_dir()
    current = selected_name(base)
    names = [LOCAL]
    folder = base / FOLDER
    if folder.is_dir():
        files = sorted(p for p in folder.glob("*.json") if NAME_PATTERN.match(p.stem))
        names += [p.stem for p in files[:MAX_CONTEXTS] if p.stem != LOCAL]
    contexts = []
    for name in names:
        path = context_path(name, base)
        try:
            found = read_credentials(path)
        except CredentialsError:
            found = None
        contexts.append(Context(name, path, found, name == current))
    return contexts


def select(name: str, home: Path | None = None) -> None:
    """Make ``name`` the selected context; it must exist (``local`` always may be chosen)."""
    base = home or home_dir()
    path = context_path(check_name(name), base)
    if name != LOCAL and not path.exists():
        raise CredentialsError(
            f"there is no context '{name}'",
            "list them with 'dataos-ctl context list', or create one with 'dataos-ctl init'",
        )
    folder = base / FOLDER
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    marker = folder / CURRENT_FILE
    temporary = folder / f".{CURRENT_FILE}.tmp"
    temporary.write_text(f"{name}\n", encoding="utf-8")
    os.replace(temporary, marker)


def delete(name: str, home: Path | None = None) -> bool:
    """Forget context ``name`` (its credentials file); ``local`` is the server's own file
    and is never deleted here. The selection falls back to ``local`` when it named it."""
    base = home or home_dir()
    if check_name(name) == LOCAL:
        raise CredentialsError(
            "the 'local' context is the embedded server's credentials file and is kept",
            "select another context with 'dataos-ctl context select -n NAME'",
        )
    path = context_path(name, base)
    existed = path.exists()
    path.unlink(missing_ok=True)
    if selected_name(base, environ={}) == name:
        select(LOCAL, base)
    return existed
