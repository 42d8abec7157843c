"""Source positions of every key and item in a YAML document."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dataos_defs.manifest.errors import Issue, format_path

KeyPath = tuple[str | int, ...]


@dataclass
class SourceMap:
    """Maps a key path to the 1-based (line, column) of that key in its file.

    For a mapping key the position is the key's; for a list item it is the item's.
    The empty path is the document itself.
    """

    file: str
    positions: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: Sequence[str | int]) -> tuple[int, int]:
        """The position of the deepest part of ``path`` that exists in the source."""
        parts = tuple(path)
        while parts:
            found = self.positions.get(parts)
            if found is not None:
                return found
            parts = parts[:-1]
        return self.positions.get((), (1, 1))

    def issue(self, path: Sequence[str | int], message: str, hint: str | None = None) -> Issue:
        line, column = self.locate(path)
        return Issue(self.file, line, column, format_path(path), message, hint)

    def to_json(self) -> list[list[object]]:
        """A JSON-friendly form, ``[[key path...], line, column]`` per entry, for the API."""
        return [[list(path), line, col] for path, (line, col) in self.positions.items()]

    @classmethod
    def from_json(cls, file: str, data: list[list[object]]) -> SourceMap:
        positions: dict[KeyPath, tuple[int, int]] = {}
        for entry in data:
            path, line, col = entry
            if isinstance(path, list) and isinstance(line, int) and isinstance(col, int):
                positions[tuple(p for p in path if isinstance(p, str | int))] = (line, col)
        return cls(file, positions)
