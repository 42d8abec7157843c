"""Confinement of depot folders (adapters/localfs.py) on a real file system under tmp: the
storage roots, the platform's state, symbolic links, and generated path texts that must
never escape."""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataos_defs.adapters import embedded_pg
from dataos_defs.adapters.localfs import (
    STATE_ENTRIES,
    STORAGE_ROOTS_ENV,
    ConfinementError,
    Storage,
    StorageConfigError,
)
from dataos_defs.gateway.audit import AUDIT_FILE
from dataos_defs.heimdall import credentials
from dataos_defs.heimdall.decision_log import DECISION_LOG_FILE
from dataos_defs.location.executors import FLARE_STATE_DIR
from dataos_defs.poros import settings as poros_settings


def make_home(base: Path) -> Path:
    """A DATAOS_HOME as ``make up`` leaves it, plus links an attacker could have made."""
    home = base / "home"
    for folder in ("data/landing", "data/ünï", "warehouse/shop", "logs", "dagster", "postgres"):
        (home / folder).mkdir(parents=True)
    for name in ("poros.db", "poros.db-wal", "secret.key", "credentials", "decisions.jsonl"):
        (home / name).write_text("state")
    (base / "elsewhere").mkdir()
    (home / "data" / "to-warehouse").symlink_to("../warehouse")
    (home / "data" / "to-logs").symlink_to("../logs")
    (home / "data" / "to-home").symlink_to("..")
    (home / "data" / "to-elsewhere").symlink_to(base / "elsewhere")
    (home / "data" / "landing" / "inner").symlink_to("../../warehouse/shop")
    (home / "data" / "loop").symlink_to("loop")
    return home


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return make_home(tmp_path)


def storage_of(home: Path, **env: str) -> Storage:
    return Storage.from_env(home, env)


def refusal(storage: Storage, text: str) -> ConfinementError:
    with pytest.raises(ConfinementError) as caught:
        storage.confine(text)
    return caught.value


def test_the_state_names_follow_the_modules_that_own_them() -> None:
    owned = {
        poros_settings.SQLITE_FILE_NAME,
        poros_settings.KEY_FILE_NAME,
        credentials.FILE_NAME,
        DECISION_LOG_FILE,
        AUDIT_FILE.parts[0],
        embedded_pg.DATA_FOLDER,
        FLARE_STATE_DIR,
        "logs",
        "dagster",
    }
    assert owned <= set(STATE_ENTRIES)


@pytest.mark.parametrize("text", ["data/landing", "data/landing/", "file://data/landing"])
def test_folders_under_the_roots_are_their_real_path(home: Path, text: str) -> None:
    assert storage_of(home).confine(text) == Path(os.path.realpath(home / "data" / "landing"))


def test_absolute_and_file_uri_paths_inside_a_root_are_accepted(home: Path) -> None:
    storage = storage_of(home)
    real = Path(os.path.realpath(home / "warehouse"))
    assert storage.confine(str(home / "warehouse")) == real
    assert storage.confine(f"file://{home}/warehouse") == real
    assert storage.confine("data/new-folder") == real.parent / "data" / "new-folder"


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("../warehouse", "outside"),
        ("data/../../", "state"),
        ("../..", "state"),
        ("/etc", "outside"),
        (".", "state"),
        ("data/..", "state"),
        ("poros.db", "state"),
        ("poros.db-shm", "state"),
        ("Poros.DB-wal", "state"),
        ("logs", "state"),
        ("logs/api.log", "state"),
        ("secret.key", "state"),
        ("data/to-logs", "state"),
        ("data/to-home", "state"),
        ("data/to-warehouse", "link"),
        ("data/to-warehouse/shop", "link"),
        ("data/to-elsewhere", "outside"),
        ("data/landing/inner", "link"),
        ("data/landing/inner/..", "link"),
        ("data/loop", "link"),
        ("data/loop/x", "link"),
        ("data/*", "glob"),
        ("data/[ab]", "glob"),
        ("local:///etc", "scheme"),
        ("simplecache::file:///etc", "scheme"),
        ("s3://bucket/x", "scheme"),
        ("", "invalid"),
        ("file://", "invalid"),
        ("data/\x00x", "invalid"),
    ],
)
def test_refused_paths_say_why(home: Path, text: str, rule: str) -> None:
    storage = storage_of(home)
    error = refusal(storage, text)
    assert error.rule == rule
    assert error.message and error.hint
    if rule == "outside":
        assert storage.describe_roots() in error.hint
        assert str(Path(os.path.realpath(home / text.replace("\x00", "")))) in error.message


def test_the_absolute_warehouse_of_the_platform_is_refused_when_written_through_a_link(
    home: Path,
) -> None:
    error = refusal(storage_of(home), f"file://{home}/data/to-warehouse")
    assert error.rule == "link"
    assert str(Path(os.path.realpath(home / "warehouse"))) in error.message


def test_roots_come_from_the_environment(home: Path, tmp_path: Path) -> None:
    extra = tmp_path / "elsewhere"
    storage = storage_of(home, **{STORAGE_ROOTS_ENV: f"{extra}{os.pathsep}{home / 'data'}"})
    assert storage.confine(str(extra / "drops")) == Path(os.path.realpath(extra / "drops"))
    assert refusal(storage, "warehouse").rule == "outside"
    assert storage_of(home, **{STORAGE_ROOTS_ENV: ""}).confine("warehouse").name == "warehouse"


@pytest.mark.parametrize("root", ["{home}/logs", "{home}/dagster/storage", "{home}/poros.db"])
def test_a_root_inside_the_platform_state_is_refused_at_start(home: Path, root: str) -> None:
    with pytest.raises(StorageConfigError, match="inside the platform's state"):
        storage_of(home, **{STORAGE_ROOTS_ENV: root.format(home=home)})


def test_a_relative_root_is_refused_at_start(home: Path) -> None:
    with pytest.raises(StorageConfigError, match="not an absolute path"):
        storage_of(home, **{STORAGE_ROOTS_ENV: "data"})


def test_state_outside_home_counts_too(home: Path, tmp_path: Path) -> None:
    dagster = tmp_path / "elsewhere" / "dagster"
    store = tmp_path / "elsewhere" / "store.db"
    storage = storage_of(
        home,
        **{
            STORAGE_ROOTS_ENV: str(tmp_path / "elsewhere"),
            "DAGSTER_HOME": str(dagster),
            "DATAOS_DATABASE_URL": f"sqlite:///{store}",
        },
    )
    assert refusal(storage, str(dagster / "storage")).rule == "state"
    assert refusal(storage, str(store)).rule == "state"
    assert refusal(storage, str(tmp_path / "elsewhere")).rule == "state"
    assert storage.confine(str(tmp_path / "elsewhere" / "drops")).name == "drops"


def test_a_root_that_holds_home_still_refuses_the_state(home: Path) -> None:
    storage = storage_of(home, **{STORAGE_ROOTS_ENV: str(home)})
    assert storage.confine("data/landing").name == "landing"
    assert refusal(storage, ".").rule == "state"
    assert refusal(storage, "credentials").rule == "state"
    assert refusal(storage, "gateway/queries.jsonl").rule == "state"


def test_within_keeps_dataset_paths_inside_the_depot_folder(home: Path) -> None:
    storage = storage_of(home)
    root = storage.confine("data/landing")
    (root / "ref").mkdir()
    assert storage.within(root, root / "ref", "data/landing") == root / "ref"
    with pytest.raises(ConfinementError) as caught:
        storage.within(root, root / "inner" / "customers_360", "data/landing")
    assert caught.value.rule == "link"
    with pytest.raises(ConfinementError):
        storage.within(root, root / "shop" / ".." / ".." / "ünï", "data/landing")
    (root / "ref" / "leak.csv").symlink_to(home / "secret.key")
    with pytest.raises(ConfinementError, match="outside the depot's folder"):
        storage.tree_within(root, root / "ref", "data/landing")
    (root / "ref" / "leak.csv").unlink()
    storage.tree_within(root, root / "ref", "data/landing")


# Generated path texts: whatever the segments, links, prefixes and spellings, an accepted
# path is inside a root, outside the state and reached without a symbolic link below its root
# (checked here component by component, not by comparing real paths as the module does).

_FIRST = [
    "data", "warehouse", ".", "..", "", "poros.db", "Poros.DB-wal", "logs", "secret.key",
    "dagster", "elsewhere", "home",
]  # fmt: skip
_SEGMENTS = [
    "..", ".", "", "landing", "shop", "to-warehouse", "to-logs", "to-home", "to-elsewhere",
    "inner", "loop", "ünï", unicodedata.normalize("NFD", "ünï"), "poros.db", "logs", "x y",
    "*", "[a]",
]  # fmt: skip
_PREFIXES = ["", "/", "{home}/", "file://{home}/", "file://", "{base}/", "//", "file:///"]
texts = st.builds(
    lambda prefix, first, rest: prefix + "/".join([first, *rest]),
    st.sampled_from(_PREFIXES),
    st.sampled_from(_FIRST),
    st.lists(st.sampled_from(_SEGMENTS), max_size=5),
)
ROOT_SETTINGS = ["default", "home"]
"""The default roots, and one root holding the whole home (the state inside a root)."""


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_home(tmp_path_factory.mktemp("generated"))


def _no_link_below(root: Path, real: Path) -> bool:
    current = root
    for part in real.relative_to(root).parts:
        current = current / part
        if current.is_symlink():
            return False
    return True


def _is_state(home: Path, path: Path) -> bool:
    real_home = Path(os.path.realpath(home))
    if real_home.is_relative_to(path):
        return True
    names = {n.casefold() for n in STATE_ENTRIES}
    return any(
        part.parent == real_home
        and (part.name.casefold().startswith("poros.db") or part.name.casefold() in names)
        for part in (path, *path.parents)
    )


def _check_never_escapes(home: Path, roots: str, template: str) -> bool:
    """Confine one text; if accepted, check it by other means. True when accepted."""
    text = template.format(home=home, base=home.parent)
    env = {STORAGE_ROOTS_ENV: str(home)} if roots == "home" else {}
    try:
        real = Storage.from_env(home, env).confine(text)
    except ConfinementError as exc:
        assert exc.message and exc.hint and exc.rule
        return False
    names = ("data", "warehouse") if roots == "default" else (".",)
    real_roots = [Path(os.path.realpath(home / name)) for name in names]
    inside = [root for root in real_roots if real.is_relative_to(root)]
    assert inside, (text, real)
    assert not _is_state(home, real), (text, real)
    assert real == Path(os.path.realpath(real))
    assert _no_link_below(inside[0], real), (text, real)
    assert not any(c in text for c in "*?[")
    return True


@pytest.mark.parametrize("roots", ROOT_SETTINGS)
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(template=texts)
def test_no_generated_path_escapes(shared_home: Path, roots: str, template: str) -> None:
    _check_never_escapes(shared_home, roots, template)


@pytest.mark.parametrize("roots", ROOT_SETTINGS)
def test_no_short_path_escapes(shared_home: Path, roots: str) -> None:
    """Every prefix, first segment and second segment: all combinations, none escapes, and
    some are accepted."""
    accepted = [
        _check_never_escapes(shared_home, roots, prefix + "/".join([first, *rest]))
        for prefix in _PREFIXES
        for first in _FIRST
        for rest in [[], *([s] for s in _SEGMENTS)]
    ]
    assert 20 < sum(accepted) < len(accepted) / 2


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=st.lists(st.sampled_from(_SEGMENTS), min_size=1, max_size=5))
def test_no_generated_dataset_path_leaves_its_depot(shared_home: Path, parts: list[str]) -> None:
    storage = Storage.from_env(shared_home, {})
    root = storage.confine("data/landing")
    try:
        real = storage.within(root, root.joinpath(*parts), "data/landing")
    except ConfinementError:
        return
    assert real.is_relative_to(root)
    assert real == Path(os.path.realpath(root.joinpath(*parts)))


@pytest.mark.parametrize(
    "template",
    [
        "{home}/data/landing",
        "file://{home}/warehouse/shop",
        "data/ünï",
        "data/x y",
        "data//./landing",
    ],
)
def test_the_generated_language_also_spells_accepted_paths(
    shared_home: Path, template: str
) -> None:
    text = template.format(home=shared_home)
    real = Storage.from_env(shared_home, {}).confine(text)
    assert real.is_relative_to(Path(os.path.realpath(shared_home)))
