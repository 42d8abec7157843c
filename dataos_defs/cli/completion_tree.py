"""Write ``completion_tree.json``, the snapshot of the command tree that Tab completion
and ``-h`` read (:mod:`dataos_defs.cli.fast_completion`):
``python -m dataos_defs.cli.completion_tree``.

For each group and command: its subcommands in Click's order with their short help, its
options (names, help, whether it is a flag or repeatable, where its values come from) and
its arguments. Values come from the server (``-n``), the Resource types (``-t``), a fixed
list of choices (an Enum), or the file system. Each node keeps its ``--help`` text as
Click formats it for a terminal of at least ``HELP_WIDTH`` columns (Click's widest); Click
orders ``-h, --help`` by a set, so the text is given one fixed order.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from typer.main import get_command

from dataos_defs.cli.completion import complete_name, complete_type
from dataos_defs.cli.fast_completion import HELP_WIDTH, TREE_FILE

SOURCES = {complete_type: "types", complete_name: "names"}


def build_tree() -> dict[str, Any]:
    from dataos_defs.cli.main import app

    command = get_command(app)
    context = command.make_context("dataos-ctl", [], resilient_parsing=True)
    wide = str(HELP_WIDTH)  # Click then formats for its widest, HELP_WIDTH - 2 columns
    saved, os.environ["COLUMNS"] = os.environ.get("COLUMNS"), wide
    try:
        return _node(command, context)
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved


def _node(command: Any, context: Any) -> dict[str, Any]:
    node: dict[str, Any] = {
        "help": command.get_short_help_str(),
        "usage": command.get_help(context).replace("--help, -h", "-h, --help"),
    }
    options, arguments = [], []
    for param in command.get_params(context):
        if param.hidden:
            continue
        described = {"id": param.name, **_source(param, context)}
        if type(param).__name__ == "TyperArgument":
            arguments.append(described)
            continue
        names = list(param.opts)
        if param.name == "help":  # Click builds it from a set: its order varies per process
            names.sort(key=lambda n: (len(n), n))
        described.update(
            names=names,
            all=[*names, *param.secondary_opts],
            help=param.help,
            flag=bool(param.is_flag or param.count),
            multiple=bool(param.multiple),
        )
        options.append(described)
    node["options"] = options
    if arguments:
        node["arguments"] = arguments
    if hasattr(command, "list_commands"):
        children = {}
        for name in command.list_commands(context):
            child = command.get_command(context, name)
            if child is None or child.hidden:
                continue
            inner = child.make_context(name, [], parent=context, resilient_parsing=True)
            children[name] = _node(child, inner)
        node["commands"] = children
    return node


def _source(param: Any, context: Any) -> dict[str, Any]:
    """Where the parameter's values come from, as far as completion needs to know."""
    custom = param.type_descriptor.parameter_info.autocompletion
    if custom is not None:
        if custom not in SOURCES:
            raise ValueError(f"no fast completion for {custom.__name__} ({param.name})")
        return {"complete": SOURCES[custom]}
    if any(item.type in ("file", "dir") for item in param.shell_complete(context, "x")):
        return {"complete": "file"}
    return {"choices": [item.value for item in param.shell_complete(context, "")]}


def render() -> str:
    return json.dumps(build_tree(), indent=1, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the tree (``--check``: only say whether the committed one is current)."""
    text = render()
    if "--check" in (sys.argv[1:] if argv is None else argv):
        current = TREE_FILE.read_text(encoding="utf-8") if TREE_FILE.exists() else ""
        if current != text:
            print(f"{TREE_FILE} is stale: run python -m dataos_defs.cli.completion_tree")
            return 1
        return 0
    Path(TREE_FILE).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
