"""Resource identifiers as DataOS users write them, parsed without the server.

Three spellings name one Resource:

* the pipe form of DataOS' docs and of ``get``'s table rows,
  ``name | version | type | workspace`` (spaces optional, workspace optional); a whole
  pasted row works too: empty cells are skipped and the cells after the workspace
  (status, runtime, owner) are ignored;
* the colon form ``apply`` prints, ``name:version:type[:workspace]`` (``-i``);
* DataOS' type-first ``--id type:version:name[:workspace]``.

A type-first value given to ``-i`` is refused with a hint rather than guessed: a Resource
may be named like a type.
"""

from __future__ import annotations

from dataclasses import dataclass

from dataos_defs.cli.resource_types import INSTANCE_TYPES, RESOURCE_TYPES, type_problem

FORMS_HINT = (
    "write -i 'name | version | type | workspace' (as get prints it), "
    "-i name:version:type[:workspace], or --id type:version:name[:workspace]"
)


class IdentifierError(ValueError):
    """An identifier that names no Resource; ``hint`` says how to write one."""

    def __init__(self, message: str, hint: str = FORMS_HINT) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Identifier:
    name: str
    version: str
    kind: str
    workspace: str | None = None

    def pipe(self) -> str:
        cells = [self.name, self.version, self.kind]
        return " | ".join([*cells, self.workspace] if self.workspace else cells)

    def colon(self) -> str:
        cells = [self.name, self.version, self.kind]
        return ":".join([*cells, self.workspace] if self.workspace else cells)

    def type_first(self) -> str:
        cells = [self.kind, self.version, self.name]
        return ":".join([*cells, self.workspace] if self.workspace else cells)


def parse_identifier(text: str) -> Identifier:
    """``-i``: the pipe form when the text holds a ``|``, else ``name:version:type[:ws]``."""
    if "|" in text:
        return _from_pipes(text)
    parts = _colon_cells(text, "identifier")
    name, version, kind = parts[:3]
    if kind not in RESOURCE_TYPES and name in RESOURCE_TYPES:
        raise IdentifierError(
            f"'{text}' starts with the type '{name}'; -i takes the name first",
            f"write --id {text} for the type-first form, or {FORMS_HINT}",
        )
    return _checked(name, version, kind, parts[3] if len(parts) == 4 else None, text)


def parse_type_first(text: str) -> Identifier:
    """``--id``: DataOS' ``type:version:name[:workspace]``."""
    parts = _colon_cells(text, "id (type:version:name[:workspace])")
    kind, version, name = parts[:3]
    if kind not in RESOURCE_TYPES and name in RESOURCE_TYPES:
        raise IdentifierError(
            f"'{text}' starts with the name '{kind}'; --id takes the type first",
            f"write -i {text} for the name-first form, or --id type:version:name[:workspace]",
        )
    return _checked(name, version, kind, parts[3] if len(parts) == 4 else None, text)


def _colon_cells(text: str, what: str) -> list[str]:
    """The 3 or 4 non-empty cells of a ``:``-separated identifier, or a clear error."""
    parts = [part.strip() for part in text.split(":")]
    if len(parts) not in (3, 4) or not all(parts):
        raise IdentifierError(f"'{text}' is not a Resource {what}")
    return parts


def _from_pipes(text: str) -> Identifier:
    cells = [cell.strip() for cell in text.split("|")]
    filled = [cell for cell in cells if cell]
    if len(filled) < 3:
        raise IdentifierError(f"'{text}' is not a Resource identifier: it needs 3 or 4 cells")
    name, version, kind = filled[:3]
    # An instance-level Resource has no workspace: in a pasted row the next cell is its status.
    workspace = filled[3] if len(filled) > 3 and kind not in INSTANCE_TYPES else None
    return _checked(name, version, kind, workspace, text)


def _checked(name: str, version: str, kind: str, workspace: str | None, text: str) -> Identifier:
    problem = type_problem(kind)
    if problem is not None:
        message, hint = problem
        raise IdentifierError(f"{message} in identifier '{text}'", f"{hint}; {FORMS_HINT}")
    return Identifier(name, version, kind, None if kind in INSTANCE_TYPES else workspace)
