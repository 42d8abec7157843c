"""Datasets and columns declared on a depot (``depot.datasets``), with their tags.

An extension, not in DataOS: until a catalog (Metis) holds them, a depot may describe its
datasets and tag their columns; column tags drive data policies (``PII.Email`` selects the
email mask). Names compare case-insensitively; declaring a dataset or a column twice is an
error.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from dataos_defs.manifest.base import Problem, StrictModel


def _name_part(value: str) -> str:
    if not value or any(char in value for char in ".:/") or any(c.isspace() for c in value):
        raise ValueError("must be a non-empty name without '.', ':', '/' or spaces")
    return value


NamePart = Annotated[str, AfterValidator(_name_part)]
"""A collection, dataset or column name (SQL names a dataset ``depot.collection.dataset``)."""
Tags = list[Annotated[str, Field(min_length=1)]]


class DatasetColumn(StrictModel):
    name: NamePart
    description: str | None = None
    tags: Tags | None = None


class DepotDataset(StrictModel):
    """A dataset as a catalog would describe it (extension, see the module docstring)."""

    collection: NamePart
    dataset: NamePart
    description: str | None = None
    tags: Tags | None = None
    columns: list[DatasetColumn] | None = None

    def column_tags(self) -> dict[str, list[str]]:
        """Lower-case column name -> its tags, for the columns that have tags."""
        return {c.name.lower(): list(c.tags) for c in self.columns or [] if c.tags}


def _repeats(names: list[str]) -> list[tuple[int, int, str]]:
    """``(index, index of the first, name)`` of each name seen before, case-insensitively."""
    first: dict[str, int] = {}
    found = []
    for index, name in enumerate(name.lower() for name in names):
        if name in first:
            found.append((index, first[name], name))
        first.setdefault(name, index)
    return found


def dataset_problems(datasets: list[DepotDataset]) -> list[Problem]:
    """Datasets or columns declared twice (names compare case-insensitively)."""
    problems = [
        Problem(
            ("depot", "datasets", index, "dataset"),
            f"dataset '{name}' is declared twice",
            f"merge it into datasets[{first}]",
        )
        for index, first, name in _repeats([f"{d.collection}.{d.dataset}" for d in datasets])
    ]
    for index, dataset in enumerate(datasets):
        columns = [column.name for column in dataset.columns or []]
        problems.extend(
            Problem(
                ("depot", "datasets", index, "columns", position, "name"),
                f"column '{name}' of dataset '{dataset.collection}.{dataset.dataset}' is "
                "declared twice",
                f"merge it into columns[{first}]",
            )
            for position, first, name in _repeats(columns)
        )
    return problems
