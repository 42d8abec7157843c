"""The fast Tab completion path answers exactly what Typer would, from a current tree.

Each case runs the real console script (fast path) and the Typer app itself (slow path)
in fresh processes with the same completion request. Typer lists ``-h``/``--help`` in a
hash-seed dependent order, so answers are compared as sorted lines.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dataos_defs.cli import completion_tree, fast_completion
from tests.interfaces.conftest import ROOT

pytestmark = pytest.mark.slow
SCRIPT = Path(sys.executable).parent / "dataos-ctl"
SLOW = "from dataos_defs.cli.main import app; app(prog_name='dataos-ctl')"


def _request(shell: str, line: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAOS_")}
    env["DATAOS_API_URL"] = "http://127.0.0.1:9"  # names: no server answers, nothing offered
    env["_DATAOS_CTL_COMPLETE"] = f"complete_{shell}"
    if shell == "bash":
        words = line.split()
        env["COMP_WORDS"] = line
        env["COMP_CWORD"] = str(len(words) if line.endswith(" ") else len(words) - 1)
    else:
        env["_TYPER_COMPLETE_ARGS"] = line
        env["_TYPER_COMPLETE_FISH_ACTION"] = "get-args"
    return env


def _answers(shell: str, line: str) -> tuple[list[str], list[str]]:
    env = _request(shell, line)
    fast = subprocess.run(
        [str(SCRIPT)], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    slow = subprocess.run(
        [sys.executable, "-c", SLOW], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert fast.stderr == "" and slow.stderr == "", (fast.stderr, slow.stderr)
    return _items(fast.stdout), _items(slow.stdout)


def _items(text: str) -> list[str]:
    """The offered items, sorted; zsh's are wrapped in one ``_arguments`` call."""
    text = text.removeprefix("_arguments '*: :((").rstrip("\n").removesuffix("))'")
    return sorted(text.splitlines())


def test_the_committed_tree_matches_the_commands() -> None:
    assert completion_tree.main(["--check"]) == 0, "run: python -m dataos_defs.cli.completion_tree"


@pytest.mark.parametrize(
    "line",
    [
        "dataos-ctl ",
        "dataos-ctl res",
        "dataos-ctl resource up",
        "dataos-ctl get -t wo",
        "dataos-ctl get --type=wo",
        "dataos-ctl get -",
        "dataos-ctl get -a -",
        "dataos-ctl get -t workflow -n ",
        "dataos-ctl get runtime -",
        "dataos-ctl completion ",
        "dataos-ctl completion z",
        "dataos-ctl apply -f x -",
        "dataos-ctl delete -i ",
        "dataos-ctl user apikey ",
        "dataos-ctl context ",
        "dataos-ctl log -t workflow -",
    ],
)
def test_bash_answers_like_typer(line: str) -> None:
    fast, slow = _answers("bash", line)
    assert fast == slow


@pytest.mark.parametrize("shell", ["zsh", "fish"])
@pytest.mark.parametrize("line", ["dataos-ctl ge", "dataos-ctl get -", "dataos-ctl get -t d"])
def test_zsh_and_fish_answer_like_typer(shell: str, line: str) -> None:
    fast, slow = _answers(shell, line)
    assert fast == slow


@pytest.mark.parametrize(
    "args",
    [["--", "x"], ["get", "-ta"], ["nosuchverb"], ["get", "--no-such-option"]],
)
def test_what_the_fast_path_does_not_model_goes_to_typer(args: list[str]) -> None:
    tree = fast_completion.json.loads(fast_completion.TREE_FILE.read_text())
    assert fast_completion.complete(tree, args, "") is None


@pytest.mark.parametrize(
    "words",
    [["-h"], ["--help"], ["get", "-h"], ["get", "runtime", "--help"], ["resource", "apply", "-h"]],
)
def test_help_from_the_tree_is_typers_help(words: list[str]) -> None:
    env = {**os.environ, "COLUMNS": "120"}
    fast = subprocess.run(
        [str(SCRIPT), *words], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    slow = subprocess.run(
        [sys.executable, "-c", SLOW, *words],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    # Typer orders "-h, --help" by a set; the tree keeps one order.
    assert fast.stdout == slow.stdout.replace("--help, -h", "-h, --help")


def test_narrow_terminals_and_unknown_words_get_typers_own_help() -> None:
    assert fast_completion.usage(["nosuchverb", "-h"]) is None
    assert fast_completion.usage(["get", "-t", "x", "-h"]) is None
    env = {**os.environ, "COLUMNS": "60"}
    narrow = subprocess.run(
        [str(SCRIPT), "get", "-h"], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 60
