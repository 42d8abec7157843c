"""User-facing manifest errors: every problem carries file, line, column, field path and a hint."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True, order=True)
class Issue:
    """One problem found in a manifest, positioned at the key or value it concerns."""

    file: str
    line: int
    column: int
    path: str
    message: str
    hint: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        text = f"{where}: {self.path or '<document>'}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class ManifestError(Exception):
    """Raised with every issue of a run, never with the first one only."""

    def __init__(self, issues: Iterable[Issue]) -> None:
        self.issues: list[Issue] = sorted(issues)
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(str(issue) for issue in self.issues)


def format_path(parts: Sequence[str | int]) -> str:
    """Render a key path the way users read it: ``workflow.dag[0].spec.stack``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
