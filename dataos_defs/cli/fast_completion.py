"""Tab completion and ``-h`` without Typer: what a shell asks on every Tab, in milliseconds.

Typer builds every command and, while parsing a completion request, imports pydantic to
coerce parameter values: about 300 ms on this machine, far over the 150 ms a Tab may take.
So the console script (:mod:`dataos_defs.cli.entry`) answers completion requests here,
from ``completion_tree.json``, a snapshot of the command tree that
``python -m dataos_defs.cli.completion_tree`` writes from the real Typer app (a test fails
when it is stale). The walk mirrors Click's resolution — subcommands, options not yet
given, an option's values, then arguments — and the output is what Typer's bash, zsh and
fish classes print. Whatever it does not model (``--``, bundled short flags, an unknown
word) returns ``None``, and the request goes to Typer as before, so an answer is never
wrong, at worst slow. ``dataos-ctl [COMMAND...] -h`` prints the help text kept in the
same tree (:func:`usage`). Only the standard library is imported here, except the resource
types and, for names, the HTTP client.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TREE_FILE = Path(__file__).with_name("completion_tree.json")
COMPLETE_VAR = "_DATAOS_CTL_COMPLETE"
NAME_TIMEOUT_S = 1.0
HELP_WIDTH = 80
HELP_FLAGS = ("-h", "--help")
WHITESPACE = re.compile(r"\s")
Node = dict[str, Any]


@dataclass
class _Walk:
    node: Node
    given: set[str] = field(default_factory=set)
    values: dict[str, str] = field(default_factory=dict)
    arguments: int = 0
    pending: dict[str, Any] | None = None


def answer(environ: Mapping[str, str]) -> str | None:
    """What to print for a completion request, or ``None`` to let Typer answer it."""
    mode = environ.get(COMPLETE_VAR, "")
    shell = mode.removeprefix("complete_")
    if shell not in ("bash", "zsh", "fish") or not TREE_FILE.exists():
        return None
    words = _words(shell, environ)
    if words is None:
        return None
    args, incomplete = words
    tree: Node = json.loads(TREE_FILE.read_text(encoding="utf-8"))
    items = complete(tree, args, incomplete)
    if items is None:
        return None
    return _format(shell, items, environ)


def _words(shell: str, environ: Mapping[str, str]) -> tuple[list[str], str] | None:
    """The words before the one being completed, and that word (as Typer splits them)."""
    try:
        if shell == "bash":
            words = _split(environ["COMP_WORDS"])
            index = int(environ["COMP_CWORD"])
            return words[1:index], words[index] if index < len(words) else ""
        line = environ.get("_TYPER_COMPLETE_ARGS", "")
        words = _split(line)[1:]
    except (KeyError, ValueError):
        return None
    if words and not line.endswith(" "):
        return words[:-1], words[-1]
    return words, ""


def _split(text: str) -> list[str]:
    """Click's ``split_arg_string``: shell words, an unclosed quote kept as typed."""
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    out: list[str] = []
    try:
        for token in lexer:
            out.append(token)
    except ValueError:
        out.append(lexer.token)
    return out


def complete(tree: Node, args: list[str], incomplete: str) -> list[tuple[str, str | None]] | None:
    """``(value, help)`` items for ``incomplete`` after ``args``; ``None``: not modelled."""
    walk = _walk(tree, args)
    if walk is None:
        return None
    if incomplete == "=":
        incomplete = ""
    elif "=" in incomplete and incomplete.startswith("-"):
        name, _, incomplete = incomplete.partition("=")
        option = _option(walk.node, name)
        if option is None or option["flag"]:
            return None
        walk.pending = option
    if walk.pending is None and incomplete.startswith("-"):
        return _command_items(walk, incomplete)
    if walk.pending is not None:
        return _values(walk.pending, walk, incomplete)
    arguments = walk.node.get("arguments", [])
    if walk.arguments < len(arguments):
        return _values(arguments[walk.arguments], walk, incomplete)
    return _command_items(walk, incomplete)


def _walk(tree: Node, args: list[str]) -> _Walk | None:
    walk = _Walk(tree)
    index = 0
    while index < len(args):
        word = args[index]
        index += 1
        if word == "--":
            return None
        if word.startswith("-") and len(word) > 1:
            name, equals, value = word.partition("=")
            option = _option(walk.node, name)
            if option is None:
                return None
            walk.given.add(option["id"])
            if option["flag"]:
                continue
            if equals:
                walk.values[option["id"]] = value
            elif index < len(args):
                walk.values[option["id"]] = args[index]
                index += 1
            else:
                walk.pending = option
        elif "commands" in walk.node:
            child = walk.node["commands"].get(word)
            if child is None:
                return None
            walk = _Walk(child)
        else:
            walk.arguments += 1
    return walk


def _option(node: Node, name: str) -> dict[str, Any] | None:
    for option in node.get("options", []):
        if name in option["names"]:
            return dict(option)
    return None


def _command_items(walk: _Walk, incomplete: str) -> list[tuple[str, str | None]]:
    """Subcommands (a group), then options not yet given, as Click lists them."""
    items: list[tuple[str, str | None]] = [
        (name, child.get("help"))
        for name, child in walk.node.get("commands", {}).items()
        if name.startswith(incomplete)
    ]
    if incomplete and not incomplete[0].isalnum():
        for option in walk.node.get("options", []):
            if option["id"] in walk.given and not option["multiple"]:
                continue
            items += [(n, option.get("help")) for n in option["all"] if n.startswith(incomplete)]
    return items


def _values(param: dict[str, Any], walk: _Walk, incomplete: str) -> list[tuple[str, str | None]]:
    source = param.get("complete")
    if source == "types":
        from dataos_defs.cli.resource_types import RESOURCE_TYPES

        return [(k, None) for k in RESOURCE_TYPES if k.startswith(incomplete)]
    if source == "names":
        kind, workspace = walk.values.get("kind"), walk.values.get("workspace")
        return [(n, None) for n in server_names(kind, workspace, incomplete)]
    if source == "file":
        return [(incomplete, None)]
    return [(c, None) for c in param.get("choices", []) if c.startswith(incomplete)]


def server_names(kind: str | None, workspace: str | None, incomplete: str) -> list[str]:
    """Names of Resources of ``kind`` in ``workspace`` starting with ``incomplete``, asked
    of the server within ``NAME_TIMEOUT_S``; nothing when it cannot answer (a Tab must
    never print an error)."""
    try:
        from dataos_defs.api.client import DataosClient

        with DataosClient(timeout=NAME_TIMEOUT_S) as client:
            items = client.list_resources(kind, workspace or "public", None)
    except Exception:
        return []
    return sorted(n for n in {str(item["name"]) for item in items} if n.startswith(incomplete))


def _format(shell: str, items: list[tuple[str, str | None]], environ: Mapping[str, str]) -> str:
    if shell == "bash":
        return "\n".join(value for value, _ in items)
    if shell == "zsh":
        lines = [_zsh(value, help_text) for value, help_text in items]
        return f"_arguments '*: :(({chr(10).join(lines)}))'" if lines else "_files"
    action = environ.get("_TYPER_COMPLETE_FISH_ACTION", "")
    lines = [f"{value}\t{_plain(WHITESPACE.sub(' ', h))}" if h else value for value, h in items]
    if action == "get-args":
        return "\n".join(lines)
    if action == "is-args":
        raise SystemExit(0 if lines else 1)
    return ""


def _zsh(value: str, help_text: str | None) -> str:
    def escape(text: str) -> str:
        return (
            text.replace('"', '""')
            .replace("'", "''")
            .replace("$", "\\$")
            .replace("`", "\\`")
            .replace(":", r"\\:")
        )

    if help_text:
        return f'"{escape(value)}":"{_plain(escape(help_text))}"'
    return f'"{escape(value)}"'


def _plain(text: str) -> str:
    """Help as Typer prints it in zsh and fish completions: rendered by Rich (markup
    removed, long lines wrapped), so those two shells pay for importing Rich."""
    from typer.rich_utils import rich_render_text

    return str(rich_render_text(text))


def usage(argv: list[str]) -> str | None:
    """The ``--help`` text of ``dataos-ctl WORDS... -h`` from the tree, or ``None`` when the
    terminal is narrower than Click's widest format, or the words name no command."""
    if not argv or argv[-1] not in HELP_FLAGS or not TREE_FILE.exists():
        return None
    if any(word.startswith("-") for word in argv[:-1]):
        return None
    if shutil.get_terminal_size().columns < HELP_WIDTH:
        return None
    node: Node = json.loads(TREE_FILE.read_text(encoding="utf-8"))
    for word in argv[:-1]:
        node = node.get("commands", {}).get(word)
        if node is None:
            return None
    text = node.get("usage")
    return text if isinstance(text, str) else None


def main(environ: Mapping[str, str] | None = None) -> bool:
    """Print the answer and return ``True``, or return ``False`` for Typer to answer."""
    text = answer(os.environ if environ is None else environ)
    if text is None:
        return False
    print(text)
    return True
