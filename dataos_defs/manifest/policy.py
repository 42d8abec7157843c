"""Policy: access policies decided by Heimdall, data policies applied by the Gateway.

An access policy allows (or denies) subjects with matching tags a predicate on objects
matched by path or tag. A data policy masks columns or filters rows for the selected users.
Default is deny; see DATAOS_CONTRACT §4.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field

from dataos_defs.manifest.base import Level, Problem, ResourceBase, StrictModel
from dataos_defs.manifest.policy_parts import (
    LIST_OPERATORS,
    MASK_PARAMETERS,
    Glob,
    Mask,
    ObjectPath,
    Predicate,
    RowFilter,
    TagExpression,
)


def _dataset_id(value: str) -> str:
    parts = value.split(".")
    if len(parts) != 3 or not all(parts):
        raise ValueError("not a dataset id: expected depot.collection.dataset ('**' allowed)")
    return value


DatasetId = Annotated[str, AfterValidator(_dataset_id)]


class Subjects(StrictModel):
    tags: TagExpression


class Objects(StrictModel):
    paths: list[ObjectPath] | None = Field(default=None, min_length=1)
    tags: TagExpression | None = None


class AccessPolicy(StrictModel):
    """Subjects may (``allow: true``) or may not perform the predicates on the objects."""

    name: str | None = None
    description: str | None = None
    collection: str | None = None
    subjects: Subjects
    predicates: list[Predicate] = Field(min_length=1)
    objects: Objects
    allow: bool = False


class UserSelector(StrictModel):
    match: Literal["any", "all"] = "any"
    tags: list[Glob] = Field(min_length=1)


class ColumnSelector(StrictModel):
    tags: list[str] | None = Field(default=None, min_length=1)
    names: list[str] | None = Field(default=None, min_length=1)


class Selector(StrictModel):
    user: UserSelector
    column: ColumnSelector | None = None


class DataPolicy(StrictModel):
    """Mask columns or filter rows for the users the selector picks; lower priority wins."""

    name: str | None = None
    description: str | None = None
    type: Literal["mask", "filter"]
    priority: int | None = Field(default=None, ge=1, le=100)
    depot: str | None = None
    collection: str | None = None
    dataset: str | None = None
    dataset_id: DatasetId | None = None
    selector: Selector
    mask: Mask | None = None
    filters: list[RowFilter] | None = Field(default=None, min_length=1)
    isArchived: bool | None = None


class PolicySection(StrictModel):
    access: AccessPolicy | None = None
    data: DataPolicy | None = None


class Policy(ResourceBase):
    KIND: ClassVar[str] = "policy"
    LEVEL: ClassVar[Level] = "instance"
    type: Literal["policy"]
    version: Literal["v1"]
    policy: PolicySection

    def problems(self) -> list[Problem]:
        access, data = self.policy.access, self.policy.data
        if access is not None and data is not None:
            return [
                Problem(
                    ("policy", "data"),
                    "a policy has either 'access' or 'data', not both",
                    "write two policies to govern both access and data",
                )
            ]
        if access is not None:
            return _access_problems(access)
        if data is not None:
            return _data_problems(data)
        return [Problem(("policy",), "a policy needs 'access' or 'data'")]


def _access_problems(access: AccessPolicy) -> list[Problem]:
    if access.objects.paths is None and access.objects.tags is None:
        return [
            Problem(
                ("policy", "access", "objects"),
                "objects need 'paths' or 'tags'",
                "e.g. paths: [dataos://lakehouse:retail/**]",
            )
        ]
    return []


def _data_problems(data: DataPolicy) -> list[Problem]:
    at = ("policy", "data")
    problems: list[Problem] = []
    if data.dataset_id and (data.depot or data.collection or data.dataset):
        problems.append(
            Problem(
                (*at, "dataset_id"),
                "give the scope either as dataset_id or as depot/collection/dataset, not both",
            )
        )
    if data.type == "mask":
        problems.extend(_mask_problems(data))
    else:
        problems.extend(_filter_problems(data))
    return problems


def _mask_problems(data: DataPolicy) -> list[Problem]:
    at = ("policy", "data")
    problems: list[Problem] = []
    if data.filters is not None:
        problems.append(Problem((*at, "filters"), "a mask policy takes no 'filters'"))
    column = data.selector.column
    if column is None or (column.tags is None and column.names is None):
        problems.append(
            Problem(
                (*at, "selector"),
                "a mask policy must select the columns it masks",
                "add selector.column.tags (e.g. PII.Email) or selector.column.names",
            )
        )
    mask = data.mask
    if mask is None:
        problems.append(Problem(at, "a mask policy needs 'mask'", "e.g. mask: {operator: redact}"))
        return problems
    for key in mask.parameter_blocks():
        if key != mask.operator:
            problems.append(
                Problem(
                    (*at, "mask", key),
                    f"'{key}' parameters do not apply to operator '{mask.operator}'",
                    f"set operator: {key}, or remove '{key}'",
                )
            )
    if MASK_PARAMETERS[mask.operator] and getattr(mask, mask.operator) is None:
        problems.append(
            Problem(
                (*at, "mask"),
                f"operator '{mask.operator}' needs its parameters under mask.{mask.operator}",
            )
        )
    return problems


def _filter_problems(data: DataPolicy) -> list[Problem]:
    at = ("policy", "data")
    problems: list[Problem] = []
    if data.mask is not None:
        problems.append(Problem((*at, "mask"), "a filter policy takes no 'mask'"))
    if not data.filters:
        problems.append(
            Problem(
                at,
                "a filter policy needs 'filters'",
                "e.g. filters: [{column: region, operator: equals, value: EU}]",
            )
        )
        return problems
    for index, row in enumerate(data.filters):
        wants_list = row.operator in LIST_OPERATORS
        if wants_list != isinstance(row.value, list):
            expected = "a list of values" if wants_list else "a single value"
            problems.append(
                Problem(
                    (*at, "filters", index, "value"),
                    f"operator '{row.operator}' compares with {expected}",
                )
            )
    return problems
