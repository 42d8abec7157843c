"""How the CLI prints: tables for people, JSON/YAML for programs, problems on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

_PIPE_WIDTH = 250
# emoji=False: rich would turn tags such as roles:id:user into "roles🆔user".
console = Console(
    highlight=False,
    soft_wrap=True,
    emoji=False,
    width=None if sys.stdout.isatty() else _PIPE_WIDTH,
)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
OUTPUT_FORMATS = ("table", "json", "yaml")


def print_table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in columns:
        table.add_column(column, no_wrap=True, overflow="ignore")
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    console.print(table)


def print_data(data: Any, fmt: str) -> None:
    """JSON or YAML on stdout, unstyled so it can be piped."""
    if fmt == "json":
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    else:
        import yaml

        sys.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def format_issue(issue: dict[str, Any]) -> str:
    where = f"{issue['file']}:{issue['line']}:{issue['column']}"
    text = f"{where}: {issue.get('path') or '<document>'}: {issue['message']}"
    return f"{text} ({issue['hint']})" if issue.get("hint") else text


def print_issues(issues: Iterable[dict[str, Any]]) -> int:
    count = 0
    for issue in issues:
        err_console.print(format_issue(issue), markup=False)
        count += 1
    return count


def fail(message: str, hint: str | None = None, code: int = 1) -> NoReturn:
    err_console.print(f"error: {message}", markup=False)
    if hint:
        err_console.print(f"hint: {hint}", markup=False)
    raise typer.Exit(code)


def check_format(fmt: str) -> None:
    if fmt not in OUTPUT_FORMATS:
        fail(f"unknown output format '{fmt}'", f"one of: {', '.join(OUTPUT_FORMATS)}")
