"""The credentials file ``<DATAOS_HOME>/credentials``: where ``dataos-ctl`` finds its API key.

JSON with ``api_url``, ``api_key`` and ``user_id``. The server writes it once, for the
bootstrap operator, on its first start; ``dataos-ctl login`` rewrites it. It is created
with mode 0600 and refused when group or others may read it, as ssh refuses a private key.
Only the standard library is imported here: the CLI reads this file on every call.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

HOME_ENV = "DATAOS_HOME"
DEFAULT_HOME = ".dataos"
API_KEY_ENV = "DATAOS_API_KEY"
API_URL_ENV = "DATAOS_API_URL"
FILE_NAME = "credentials"


class CredentialsError(Exception):
    def __init__(self, message: str, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} ({hint})" if hint else message)


@dataclass(frozen=True)
class Credentials:
    api_url: str | None
    api_key: str
    user_id: str | None = None


def home_dir(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> Path:
    """``DATAOS_HOME``, or ``.dataos`` in the working directory (as the server resolves it)."""
    env = os.environ if environ is None else environ
    home = Path(env.get(HOME_ENV) or DEFAULT_HOME).expanduser()
    return home if home.is_absolute() else (cwd or Path.cwd()) / home


def credentials_path(home: Path | None = None) -> Path:
    return (home or home_dir()) / FILE_NAME


def read_credentials(path: Path) -> Credentials | None:
    """The credentials in ``path``; ``None`` when there is no such file."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CredentialsError(f"cannot read credentials file {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "rb") as handle:
        mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise CredentialsError(
                f"credentials file {path} is readable by other users (mode {mode:04o}); "
                "refusing to use it",
                f"run `chmod 600 {path}`, or log in again with `dataos-ctl login`",
            )
        raw = handle.read()
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if (
        not isinstance(data, dict)
        or not data.get("api_key")
        or not all(
            isinstance(data.get(field), str) or (field != "api_key" and data.get(field) is None)
            for field in ("api_key", "api_url", "user_id")
        )
    ):
        raise CredentialsError(
            f"credentials file {path} is not valid: expected JSON with 'api_key' and 'api_url'",
            "log in again with `dataos-ctl login`",
        )
    return Credentials(data.get("api_url"), data["api_key"], data.get("user_id"))


def write_credentials(path: Path, credentials: Credentials) -> None:
    """Replace ``path`` atomically by a file only its owner can read."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".credentials-", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(asdict(credentials), handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
