"""A run's event log as Dagster's GraphQL API answers it (``logsForRun``), made plain.

Each event keeps what ``dataos-ctl log`` shows: its message, time, level and step; for a
failure (``ExecutionStepFailureEvent``, ``RunFailureEvent``) the Python error with its
chain of causes (``PythonError.errorChain``); for a materialization the asset key and the
numbers and texts of its metadata (``dagster/row_count``, ``dataos/output``).

A step failure's own error is Dagster's wrapper (``DagsterExecutionStepExecutionError:
Error occurred while executing op ...``); what the user needs is the cause it was raised
from, and the few frames where that cause was raised. :func:`user_cause` and
:func:`stack_excerpt` pick those, bounded so a deep stack never floods a terminal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_ERROR_FIELDS = "className message stack"
LOGS = f"""
query Logs($runId: ID!, $cursor: String) {{
  logsForRun(runId: $runId, afterCursor: $cursor) {{
    __typename
    ... on EventConnection {{
      cursor
      hasMore
      events {{
        __typename
        ... on MessageEvent {{ message timestamp level stepKey }}
        ... on ErrorEvent {{
          error {{ {_ERROR_FIELDS} errorChain {{ isExplicitLink error {{ {_ERROR_FIELDS} }} }} }}
        }}
        ... on MaterializationEvent {{
          assetKey {{ path }}
          metadataEntries {{
            label
            ... on IntMetadataEntry {{ intRepr }}
            ... on TextMetadataEntry {{ text }}
          }}
        }}
      }}
    }}
    ... on Error {{ message }}
  }}
}}"""

STACK_FRAMES = 4
"""Frames of the cause's stack shown: the innermost, where it was raised."""
STACK_LINE_WIDTH = 200
STACK_CHARS = 1600
MESSAGE_LINES = 20
MESSAGE_CHARS = 4000
"""Bounds of an error's message as the log shows it."""
_MARKERS = " \t^~"
"""What Python 3.11+ draws under the failing expression of a frame: noise in an excerpt."""


@dataclass(frozen=True)
class ErrorInfo:
    """One Python error of a chain: its class, message and stack (one entry per frame, as
    ``traceback.format_list`` writes them). ``explicit``: raised ``from`` the one before."""

    class_name: str | None
    message: str
    stack: tuple[str, ...] = ()
    explicit: bool = True

    @property
    def text(self) -> str:
        """The message without the ``package.module.Class: `` prefix Dagster keeps."""
        head, sep, rest = self.message.partition(": ")
        named = self.class_name and (
            head == self.class_name or head.endswith(f".{self.class_name}")
        )
        return (rest if sep and named else self.message).strip()


@dataclass(frozen=True)
class LogEvent:
    message: str
    timestamp: str
    level: str
    step: str | None
    kind: str = "MessageEvent"
    """The event's GraphQL type (``ExecutionStepFailureEvent``, ``MaterializationEvent``...)."""
    errors: tuple[ErrorInfo, ...] = ()
    """A failure's error then the errors of its chain, outermost first."""
    asset: tuple[str, ...] | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)


def parse_event(event: Mapping[str, Any]) -> LogEvent | None:
    """A ``logsForRun`` event, or None for one without a message."""
    if "message" not in event:
        return None
    asset = event.get("assetKey") or {}
    return LogEvent(
        message=event["message"],
        timestamp=event["timestamp"],
        level=event["level"],
        step=event.get("stepKey"),
        kind=event.get("__typename") or "MessageEvent",
        errors=_errors(event.get("error")),
        asset=tuple(asset["path"]) if asset.get("path") else None,
        metadata=_metadata(event.get("metadataEntries") or []),
    )


def _errors(error: Mapping[str, Any] | None) -> tuple[ErrorInfo, ...]:
    if not error:
        return ()
    chain = [
        (link.get("error") or {}, bool(link.get("isExplicitLink")))
        for link in error.get("errorChain") or []
    ]
    return tuple(
        ErrorInfo(
            found.get("className"),
            found.get("message") or "",
            tuple(found.get("stack") or ()),
            explicit,
        )
        for found, explicit in [(error, True), *chain]
    )


def _metadata(entries: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    found = {}
    for entry in entries:
        value = entry.get("intRepr", entry.get("text"))
        if value is not None:
            found[entry["label"]] = str(value)
    return found


def user_cause(errors: Sequence[ErrorInfo]) -> ErrorInfo | None:
    """The error a user acts on: the last of the chain of explicit causes (``raise ... from``)
    that starts at the outermost error. An implicit link (an error raised while handling
    another) ends the walk: the error raised last is the one that stopped the step."""
    if not errors:
        return None
    cause = errors[0]
    for link in errors[1:]:
        if not link.explicit:
            break
        cause = link
    return cause


def stack_excerpt(
    stack: Sequence[str],
    frames: int = STACK_FRAMES,
    width: int = STACK_LINE_WIDTH,
    limit: int = STACK_CHARS,
) -> list[str]:
    """The innermost ``frames`` frames of ``stack`` as lines without blank ones, each at most
    ``width`` characters, ``limit`` characters in all (outer frames are dropped first).

    >>> frames = ['  File "a.py", line 1, in f\\n    g()\\n', '  File "b.py", line 9\\n    x\\n']
    >>> stack_excerpt(frames, frames=1)
    ['File "b.py", line 9', '  x']
    """
    kept: list[list[str]] = []
    size = 0
    for frame in reversed(stack[-frames:] if frames > 0 else []):
        code = (line for line in frame.splitlines() if line.strip(_MARKERS))
        lines = [line for line in (_clip(_dedent(line), width) for line in code) if line.strip()]
        cost = sum(len(line) for line in lines)
        if kept and size + cost > limit:
            break
        kept.insert(0, lines if size + cost <= limit else _fit(lines, limit))
        size += cost
    return [line for lines in kept for line in lines]


def text_excerpt(text: str, lines: int = MESSAGE_LINES, limit: int = MESSAGE_CHARS) -> str:
    """The first ``lines`` non-blank lines of ``text``, cut at ``limit`` characters, and a
    note of the lines left out.

    >>> text_excerpt("a\\n\\nb\\nc\\nd", lines=2)
    'a\\nb\\n... (2 more lines)'
    """
    found = [line.rstrip() for line in text.splitlines() if line.strip()]
    excerpt = "\n".join(found[:lines])
    if len(excerpt) > limit:
        excerpt = excerpt[: max(limit - 3, 0)].rstrip() + "..."
    if len(found) > lines:
        excerpt += f"\n... ({len(found) - lines} more lines)"
    return excerpt


def _dedent(line: str) -> str:
    """Frame lines start with two spaces, code lines with four: keep the difference."""
    return line[2:].rstrip() if line.startswith("  ") else line.rstrip()


def _clip(line: str, width: int) -> str:
    if len(line) <= width:
        return line
    return line[: width - 3] + "..." if width > 3 else line[: max(width, 0)]


def _fit(lines: list[str], limit: int) -> list[str]:
    """The first lines of one frame that fit in ``limit`` characters (the last clipped)."""
    fitted: list[str] = []
    left = limit
    for line in lines:
        if left <= 0:
            break
        fitted.append(_clip(line, left))
        left -= len(fitted[-1])
    return [line for line in fitted if line.strip()]
