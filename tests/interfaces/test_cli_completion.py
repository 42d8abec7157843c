"""Tab completion as bash runs it: the script ``completion bash`` prints, sourced in a real
bash, asks the real ``dataos-ctl`` for the words that fit."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from manifests import product

from tests.interfaces.conftest import ROOT, Server, run_cli

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def tab(words: list[str], env: dict[str, str]) -> list[str]:
    """What bash offers after ``words`` (the last one being completed)."""
    script = run_cli(None, "completion", "bash").stdout
    shell = (
        f"{script}\n"
        f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)})\n"
        f"COMP_CWORD={len(words) - 1}\n"
        "_dataos_ctl_completion dataos-ctl\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    path = {"PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        ["bash", "-c", shell],
        cwd=ROOT,
        env={**env, **path},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stderr == ""
    return [line for line in done.stdout.splitlines() if line]


@pytest.fixture(scope="module")
def with_product(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Server:
    path = tmp_path_factory.mktemp("completion") / "p.yaml"
    path.write_text(product("tab"))
    assert run_cli(server, "apply", "-f", str(path)).returncode == 0
    return server


def test_commands_and_subcommands_complete() -> None:
    assert "resource" in tab(["dataos-ctl", "res"], dict(os.environ))
    assert tab(["dataos-ctl", "resource", "up"], dict(os.environ)) == ["update"]


def test_types_complete_without_a_server() -> None:
    assert tab(["dataos-ctl", "get", "-t", "wo"], dict(os.environ)) == ["workflow", "worker"]
    assert tab(["dataos-ctl", "delete", "--type", "instance"], dict(os.environ)) == [
        "instance-secret"
    ]


def test_names_come_from_the_server(with_product: Server) -> None:
    offered = tab(["dataos-ctl", "get", "-t", "workflow", "-n", "tab"], with_product.env())
    assert offered == ["tab-copy"]
    depots = tab(["dataos-ctl", "runtime", "run", "-t", "depot", "-n", ""], with_product.env())
    assert "tabpg" in depots


def test_names_are_silently_absent_when_no_server_answers(tmp_path: Path) -> None:
    env = {**os.environ, "DATAOS_API_URL": "http://127.0.0.1:9", "DATAOS_HOME": str(tmp_path)}
    started = time.monotonic()
    assert tab(["dataos-ctl", "get", "-t", "workflow", "-n", "x"], env) == []
    assert time.monotonic() - started < 10


def test_a_mistyped_type_offers_nothing_and_prints_no_error(tmp_path: Path) -> None:
    env = {**os.environ, "DATAOS_API_URL": "http://127.0.0.1:9", "DATAOS_HOME": str(tmp_path)}
    assert tab(["dataos-ctl", "get", "-t", "wrokflow", "-n", "x"], env) == []


def test_the_instruction_click_style_env_answers_directly(with_product: Server) -> None:
    """The protocol under the script: COMP_WORDS/COMP_CWORD and the complete variable."""
    env = with_product.env(
        COMP_WORDS="dataos-ctl resource get -t workflow -n tab",
        COMP_CWORD="6",
        _DATAOS_CTL_COMPLETE="complete_bash",
    )
    answer = subprocess.run(
        [str(BIN / "dataos-ctl")], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.split() == ["tab-copy"]
