"""The credentials file and the bootstrap operator, without a server."""

from __future__ import annotations

import io
import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from dataos_defs.heimdall.credentials import (
    Credentials,
    CredentialsError,
    credentials_path,
    home_dir,
    read_credentials,
    write_credentials,
)
from dataos_defs.heimdall.identity import OPERATOR_ID, bootstrap_operator, delete_user
from dataos_defs.poros.identities import Identities, ProtectedUser
from dataos_defs.poros.settings import Settings
from dataos_defs.poros.store import Store


@pytest.fixture
def identities(tmp_path: Path) -> Iterator[Identities]:
    store = Store.open(
        settings=Settings(home=tmp_path / "state", database_url=f"sqlite:///{tmp_path / 'p.db'}")
    )
    yield Identities(store)
    store.close()


def test_credentials_round_trip_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "home" / "credentials"
    path.parent.mkdir()
    path.write_text("old")
    path.chmod(0o644)
    write_credentials(path, Credentials("http://127.0.0.1:7400", "dok_x", "alice"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_credentials(path) == Credentials("http://127.0.0.1:7400", "dok_x", "alice")
    assert [p.name for p in path.parent.iterdir()] == ["credentials"]


def test_missing_credentials_are_none(tmp_path: Path) -> None:
    assert read_credentials(tmp_path / "credentials") is None


def test_credentials_readable_by_others_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    write_credentials(path, Credentials(None, "dok_x"))
    path.chmod(0o640)
    with pytest.raises(CredentialsError) as caught:
        read_credentials(path)
    assert "readable by other users (mode 0640)" in caught.value.message
    assert caught.value.hint is not None
    assert f"chmod 600 {path}" in caught.value.hint


@pytest.mark.parametrize(
    "content", ["not json", "[]", "{}", '{"api_key": ""}', '{"api_key": "k", "api_url": 7}']
)
def test_malformed_credentials_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "credentials"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(CredentialsError, match="not valid"):
        read_credentials(path)


def test_home_defaults_to_dataos_in_the_working_directory(tmp_path: Path) -> None:
    assert home_dir({}, tmp_path) == tmp_path / ".dataos"
    assert home_dir({"DATAOS_HOME": "state"}, tmp_path) == tmp_path / "state"
    assert credentials_path(tmp_path) == tmp_path / "credentials"


def test_bootstrap_prints_and_saves_the_key_once(identities: Identities, tmp_path: Path) -> None:
    out = io.StringIO()
    created = bootstrap_operator(identities, tmp_path / "home", "http://h:1", out)
    assert created is not None
    assert f"bootstrap operator API key (shown once): {created.key}\n" in out.getvalue()
    saved = json.loads((tmp_path / "home" / "credentials").read_text())
    assert saved == {"api_url": "http://h:1", "api_key": created.key, "user_id": OPERATOR_ID}
    again = io.StringIO()
    assert bootstrap_operator(identities, tmp_path / "home", "http://h:1", again) is None
    assert again.getvalue() == ""
    with pytest.raises(ProtectedUser):
        delete_user(identities, OPERATOR_ID)


def test_bootstrap_survives_an_unwritable_home(identities: Identities, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    out = io.StringIO()
    created = bootstrap_operator(identities, blocker / "home", "http://h:1", out)
    assert created is not None
    assert created.key in out.getvalue()
    assert "could not write the credentials file" in out.getvalue()
