"""How the CLI prints: tables for people, JSON/YAML for programs, problems on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn, cast

import typer

if TYPE_CHECKING:
    from rich.console import Console

_PIPE_WIDTH = 250


class _LazyConsole:
    """A Rich console made on first use: importing Rich costs more than the rest of
    ``dataos-ctl --help``, which prints nothing through it."""

    def __init__(self, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def _made(self) -> Console:
        if self._console is None:
            from rich.console import Console

            # emoji=False: rich would turn tags such as roles:id:user into "roles🆔user".
            self._console = Console(
                stderr=self._stderr,
                highlight=False,
                soft_wrap=True,
                emoji=False,
                width=None if self._stderr or sys.stdout.isatty() else _PIPE_WIDTH,
            )
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self._made(), name)


console: Console = cast("Console", _LazyConsole(stderr=False))
err_console: Console = cast("Console", _LazyConsole(stderr=True))
OUTPUT_FORMATS = ("table", "json", "yaml")
_LOG_INDENT = "    "


def print_table(columns: Sequence[str], rows: Iterable[Sequence[Any]], pipes: bool = False) -> None:
    """Columns aligned with spaces, or with ``|`` between cells (``pipes``) so that a row of
    Resources can be pasted into ``-i`` as DataOS users do."""
    from rich import box
    from rich.table import Table

    table = Table(
        box=box.MARKDOWN if pipes else None,
        show_edge=False,
        header_style="bold",
        pad_edge=False,
    )
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


def log_time(stamp: str, utc: bool = False) -> str:
    """An event time (ISO 8601, or epoch milliseconds) as ``2026-12-07 15:04:05``, in local
    time or in UTC; text that is neither is shown as it is."""
    try:
        moment = (
            datetime.fromtimestamp(int(stamp) / 1000, UTC)
            if stamp.isdigit()
            else datetime.fromisoformat(stamp)
        )
    except (ValueError, OverflowError, OSError):
        return stamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    shown = moment.astimezone(UTC) if utc else moment.astimezone()
    return shown.strftime("%Y-%m-%d %H:%M:%S")


def format_log(body: dict[str, Any], utc: bool = False, header: bool = True) -> list[str]:
    """A run's log as printed lines: the first failure (when ``header``), then each event
    with its error (class, message, stack excerpt) or the rows it wrote, indented below it.
    No line is empty."""
    failure = body.get("failure")
    shown = [failure_header(failure)] if header and failure else []
    for line in body.get("lines") or []:
        shown.extend(format_log_line(line, utc))
    return shown


def failure_header(failure: dict[str, Any]) -> str:
    who = f"job {failure['node']}" if failure.get("node") else "run"
    return f"{who} failed: {failure.get('message') or failure.get('class') or 'unknown error'}"


def format_log_line(line: dict[str, Any], utc: bool = False) -> list[str]:
    """``time level [node] message``; further message lines, the error and the rows below it."""
    node = f"[{line['node']}] " if line.get("node") else ""
    first, *more = _text_lines(line.get("message") or "") or [""]
    shown = [f"{log_time(line['time'], utc)} {line['level']:<7} {node}{first}".rstrip()]
    shown.extend(_LOG_INDENT + text for text in more)
    error = line.get("error")
    if error:
        name = f"{error['class']}: " if error.get("class") else ""
        head, *rest = _text_lines(error.get("message") or "") or [""]
        shown.append(f"{_LOG_INDENT}{name}{head}".rstrip())
        shown.extend(_LOG_INDENT * 2 + text for text in rest)
        stack = [text for text in error.get("stack") or [] if text.strip()]
        if stack:
            shown.append(f"{_LOG_INDENT}stack (innermost last):")
            shown.extend(_LOG_INDENT * 2 + text.rstrip() for text in stack)
    rows = line.get("rows")
    if rows:
        output = f"output '{rows['output']}'" if rows.get("output") else "output"
        dataset = f" ({rows['dataset']})" if rows.get("dataset") else ""
        shown.append(f"{_LOG_INDENT}{output}{dataset}: {rows['rows']} rows written")
    return shown


def _text_lines(text: str) -> list[str]:
    return [part.rstrip() for part in text.splitlines() if part.strip()]
