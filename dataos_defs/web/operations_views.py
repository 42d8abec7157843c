"""What the Operations pages show of the API's answers: manifests as YAML, diffs between
revisions, durations and times. Pure functions over already-authorized, redacted data."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import yaml

MAX_DIFF_LINES = 2000


def manifest_yaml(manifest: dict[str, Any] | None) -> str:
    """The manifest (the store's redacted view) as YAML, keys in the manifest's order."""
    if not manifest:
        return ""
    text: str = yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=100)
    return text


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "del", "hunk" or "same"
    text: str


def diff(old: dict[str, Any], new: dict[str, Any], old_name: str, new_name: str) -> list[DiffLine]:
    """A unified diff of two manifests' YAML (bounded), each line classified for styling;
    the template escapes the text.

    >>> [(d.kind, d.text) for d in diff({"a": 1}, {"a": 2}, "r1", "r2")][2:]
    [('hunk', '@@ -1 +1 @@'), ('del', '-a: 1'), ('add', '+a: 2')]
    """
    lines = difflib.unified_diff(
        manifest_yaml(old).splitlines(),
        manifest_yaml(new).splitlines(),
        old_name,
        new_name,
        lineterm="",
    )
    found = []
    for index, line in enumerate(lines):
        if index >= MAX_DIFF_LINES:
            found.append(DiffLine("hunk", f"… cut at {MAX_DIFF_LINES} lines"))
            break
        if line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+") and not line.startswith("+++"):
            kind = "add"
        elif line.startswith("-") and not line.startswith("---"):
            kind = "del"
        else:
            kind = "same"
        found.append(DiffLine(kind, line))
    return found


def duration(ms: int | float | None) -> str:
    """A duration for people.

    >>> duration(None), duration(950), duration(61_000), duration(3_723_000)
    ('—', '0.95 s', '1 min 1 s', '1 h 2 min')
    """
    if ms is None:
        return "—"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def moment(ms: int | None) -> str:
    """Epoch milliseconds as UTC time.

    >>> moment(1700000000123), moment(None)
    ('2023-11-14 22:13:20 UTC', '—')
    """
    if ms is None:
        return "—"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def status_class(word: str | None) -> str:
    """The CSS class of a status or runtime word (``next:<time>`` is ``pending``)."""
    if not word:
        return ""
    head = word.split(":", 1)[0].lower()
    return "pending" if head == "next" else head


@dataclass(frozen=True)
class ResourceRow:
    """One line of a Resource listing, ready to print (the template only interpolates)."""

    url: str
    name: str
    kind: str
    version: str
    status: str
    status_class: str
    runtime: str
    runtime_class: str
    owner: str
    updated: str


def resource_url(kind: str, name: str, workspace: str | None) -> str:
    """The Resource's page.

    >>> resource_url("workflow", "a b", "public")
    '/operations/resources/workflow/a%20b?workspace=public'
    """
    where = f"?workspace={quote(workspace, safe='')}" if workspace else ""
    return f"/operations/resources/{quote(kind, safe='')}/{quote(name, safe='')}{where}"


def resource_rows(items: Sequence[dict[str, Any]]) -> list[ResourceRow]:
    """Listing items (``ResourceOut`` as JSON) as rows."""
    return [
        ResourceRow(
            resource_url(r["type"], r["name"], r["workspace"]),
            r["name"],
            r["type"],
            r["version"],
            r["status"],
            status_class(r["status"]),
            r["runtime"] or "—",
            status_class(r["runtime"]),
            r["owner"] or "—",
            str(r["updated_at"])[:19].replace("T", " "),
        )
        for r in items
    ]


def query_string(**params: str | None) -> str:
    """The listing's filters as a query string (empty ones left out).

    >>> query_string(workspace="public", type=None, q="")
    'workspace=public'
    """
    return urlencode({k: v for k, v in params.items() if v})
