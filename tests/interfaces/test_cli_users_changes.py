"""``user create --apikeyName``, ``user apikey get`` and ``user changes`` through the real
``dataos-ctl`` against a real server, in DataOS' spellings and ours; a plain user's
attempts on other users' changes and keys are refused."""

from __future__ import annotations

import json
import sqlite3
import subprocess

import httpx
import pytest

from tests.interfaces.conftest import Server, run_cli

pytestmark = pytest.mark.slow
PLAIN_TAGS = "roles:id:data-dev"


@pytest.fixture(scope="module")
def dana(server: Server) -> str:
    """A plain user (``roles:id:data-dev``) and their key, made in DataOS' one step."""
    made = run_cli(
        server,
        "user",
        "create",
        "-u",
        "dana",
        "-t",
        "person",
        "--tags",
        PLAIN_TAGS,
        "--apikeyName",
        "laptop",
        "-d",
        "2h",
    )
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def test_user_create_with_a_key_prints_the_key_once_on_stdout(server: Server, dana: str) -> None:
    assert dana.startswith("dok_")
    me = run_cli(server, "user", "get", "-o", "json", DATAOS_API_KEY=dana)
    assert me.returncode == 0, me.stderr
    assert json.loads(me.stdout)["tags"] == ["roles:id:data-dev", "roles:id:user", "users:id:dana"]
    keys = json.loads(run_cli(server, "user", "apikey", "list", "-i", "dana", "-o", "json").stdout)
    assert [(k["name"], k["state"]) for k in keys] == [("laptop", "active")]
    assert keys[0]["expires_at"] is not None
    with sqlite3.connect(server.home / "poros.db") as db:
        stored = db.execute("SELECT * FROM api_keys").fetchall()
    assert not any(dana in str(value) for row in stored for value in row)


# (args, exit code, text in stderr) — bad inputs change nothing
BAD_CREATES = [
    (("-u", "erin", "-d", "24h"), 1, "give --apikeyName NAME too"),
    (("-u", "erin", "--apikeyName", "k", "-d", "soon"), 1, "not a duration"),
    (("-u", "erin", "--apikeyName", "bad name!"), 1, "not a valid API key name"),
    (("-u", "Erin!", "--apikeyName", "k"), 1, "not a valid user id"),
]


@pytest.mark.parametrize(("args", "code", "expected"), BAD_CREATES)
def test_bad_user_create_with_key_changes_nothing(
    server: Server, args: tuple[str, ...], code: int, expected: str
) -> None:
    result = run_cli(server, "user", "create", *args)
    assert result.returncode == code, result.stdout
    assert expected in result.stderr
    assert result.stdout == ""
    assert run_cli(server, "user", "get", "-i", "erin").returncode == 1


def test_a_plain_user_cannot_create_a_user_with_a_key(server: Server, dana: str) -> None:
    result = run_cli(
        server, "user", "create", "-u", "mallory", "--apikeyName", "x", DATAOS_API_KEY=dana
    )
    assert result.returncode == 1
    assert "dok_" not in result.stdout + result.stderr
    assert run_cli(server, "user", "get", "-i", "mallory").returncode == 1


def test_apikey_get_says_keys_cannot_be_shown_again(server: Server, dana: str) -> None:
    result = run_cli(server, "user", "apikey", "get", "-i", "dana", "-n", "laptop")
    assert result.returncode == 0, result.stderr
    assert "stored as digests only" in result.stderr
    assert "cannot be shown again" in result.stderr
    assert "dataos-ctl user apikey create -i dana" in result.stderr
    assert "laptop" in result.stdout
    assert "dok_" not in result.stdout + result.stderr
    mine = run_cli(server, "user", "apikey", "get", "-o", "json", DATAOS_API_KEY=dana)
    assert [k["name"] for k in json.loads(mine.stdout)] == ["laptop"]
    assert "key" not in json.loads(mine.stdout)[0]
    none = run_cli(server, "user", "apikey", "get", "-i", "dana", "-n", "nope")
    assert none.returncode == 0
    assert "no API key named 'nope'" in none.stderr
    theirs = run_cli(server, "user", "apikey", "get", "-i", "dataos-operator", DATAOS_API_KEY=dana)
    assert theirs.returncode == 1


def _changes(result: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def test_changes_record_who_changed_what(server: Server, dana: str) -> None:
    assert (
        run_cli(server, "user", "tag", "add", "-i", "dana", "-t", "team:a,team:b").returncode == 0
    )
    assert run_cli(server, "user", "tag", "add", "-i", "dana", "-t", "team:a").returncode == 0
    assert run_cli(server, "user", "tag", "delete", "-i", "dana", "-t", "team:b").returncode == 0
    # DataOS' spelling, and ours
    for form in (("changes", "get", "-i", "dana"), ("changes", "-i", "dana")):
        result = run_cli(server, "user", *form, "-o", "json")
        assert result.returncode == 0, result.stderr
        changes = _changes(result)
        assert [(c["action"], c["by"]) for c in changes] == [
            ("created", "dataos-operator"),
            ("apikey-created", "dataos-operator"),
            ("tags-added", "dataos-operator"),
            ("tags-removed", "dataos-operator"),
        ]
        assert changes[2]["details"] == {"tags": ["team:a", "team:b"]}
        assert changes[3]["details"] == {"tags": ["team:b"]}
        assert "dok_" not in result.stdout
    table = run_cli(server, "user", "changes", "get", "-i", "dana")
    assert table.stdout.split("\n")[0].split() == ["TIME", "USER", "CHANGE", "BY", "DETAILS"]
    assert "key laptop" in table.stdout


def test_a_plain_user_reads_their_own_changes_only(server: Server, dana: str) -> None:
    own = run_cli(server, "user", "changes", "get", "-o", "json", DATAOS_API_KEY=dana)
    assert own.returncode == 0, own.stderr
    assert {c["user"] for c in _changes(own)} == {"dana"}
    theirs = run_cli(server, "user", "changes", "get", "-i", "dataos-operator", DATAOS_API_KEY=dana)
    assert theirs.returncode == 1
    assert "may not" in theirs.stderr
    everyone = run_cli(server, "user", "changes", "-a", "-o", "json", DATAOS_API_KEY=dana)
    assert everyone.returncode == 0, everyone.stderr
    assert {c["user"] for c in _changes(everyone)} == {"dana"}
    headers = {"Authorization": f"Bearer {dana}"}
    for path in ("users/dataos-operator/changes", "users/%2A/changes", "users/..%2Fdana/changes"):
        answer = httpx.get(f"{server.url}/heimdall/api/v1/{path}", headers=headers)
        assert answer.status_code in (403, 404), (path, answer.text)


def test_operators_read_anyones_changes(server: Server, dana: str) -> None:
    run_cli(server, "user", "create", "-u", "frank")
    assert run_cli(server, "user", "delete", "-i", "frank").returncode == 0
    everyone = _changes(run_cli(server, "user", "changes", "-a", "-o", "json", "-l", "1000"))
    assert {"dana", "frank"} <= {str(c["user"]) for c in everyone}
    gone = _changes(run_cli(server, "user", "changes", "get", "-i", "frank", "-o", "json"))
    assert [c["action"] for c in gone] == ["created", "deleted"]
    last = _changes(run_cli(server, "user", "changes", "-a", "-l", "1", "-o", "json"))
    assert len(last) == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("-l", "0"), "between 1 and 1000"),
        (("-l", "1001"), "between 1 and 1000"),
        (("-a", "-i", "dana"), "not both"),
        (("-o", "xml"), "one of: table, json, yaml"),
    ],
)
def test_bad_changes_options(server: Server, args: tuple[str, ...], expected: str) -> None:
    result = run_cli(server, "user", "changes", "get", *args)
    assert result.returncode == 1
    assert expected in result.stderr


def test_help_names_the_new_options_and_the_differences(server: Server) -> None:
    # -h not last: Typer answers, not the generated help tree (regenerated by the lead)
    create = _words(run_cli(None, "user", "create", "-h", "-u", "x").stdout)
    assert "--apikeyName" in create
    assert "Examples" in create
    get = _words(run_cli(None, "user", "apikey", "get", "-h", "-i", "x").stdout)
    assert "digests only" in get
    changes = _words(run_cli(None, "user", "changes", "-h").stdout)
    assert "Unlike DataOS" in changes


def _words(text: str) -> str:
    """Help text with its line wrapping undone."""
    return " ".join(text.split())
