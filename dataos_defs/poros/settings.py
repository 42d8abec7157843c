"""Where the Poros store lives, read from the environment once per process start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "DATAOS_HOME"
DATABASE_URL_ENV = "DATAOS_DATABASE_URL"
SECRET_KEY_ENV = "DATAOS_SECRET_KEY"
DEFAULT_HOME = ".dataos"
KEY_FILE_NAME = "secret.key"
SQLITE_FILE_NAME = "poros.db"


@dataclass(frozen=True)
class Settings:
    """The state folder, the store's database URL and, in production, the secret key.

    ``secret_key`` is ``None`` on a single machine: the key then lives in
    ``<home>/secret.key``. Several API replicas sharing one PostgreSQL must share one key,
    so production sets ``DATAOS_SECRET_KEY``.
    """

    home: Path
    database_url: str
    secret_key: str | None = None

    @property
    def key_file(self) -> Path:
        return self.home / KEY_FILE_NAME

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, cwd: Path | None = None
    ) -> Settings:
        env = os.environ if environ is None else environ
        base = cwd or Path.cwd()
        home = Path(env.get(HOME_ENV) or DEFAULT_HOME).expanduser()
        if not home.is_absolute():
            home = base / home
        url = env.get(DATABASE_URL_ENV) or sqlite_url(home / SQLITE_FILE_NAME)
        return cls(home=home, database_url=url, secret_key=env.get(SECRET_KEY_ENV) or None)


def sqlite_url(path: Path) -> str:
    """A SQLAlchemy URL for a SQLite file (absolute paths give four slashes)."""
    return f"sqlite:///{path}"
