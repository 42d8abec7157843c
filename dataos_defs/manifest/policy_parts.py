"""Building blocks of policies: globs, tag expressions, predicates and mask operators.

Heimdall matches subjects, predicates and objects with globs: ``?`` one character, ``*``
within one level (levels are separated by ``:`` in tags and ``/`` in paths), ``**`` across
levels, ``[abc]``/``[!a-c]`` character classes, ``{x,y}`` alternatives and ``\\`` to escape.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, field_validator

from dataos_defs.manifest.base import Scalar, StrictModel
from dataos_defs.manifest.re2 import re2_problem, re2_replacement

Predicate = Literal[
    "create", "read", "update", "delete", "write",
    "get", "put", "post", "patch", "options",
    "select", "use", "run-as", "route", "tag", "expose", "**",
]  # fmt: skip
"""The documented predicates (CRUD, HTTP verbs, SQL select), the platform's own (``use`` a
secret or a code stack, ``run-as`` another user, ``route`` queries with a cluster selector,
``tag`` a dataset with the catalog tags that drive masks, ``expose`` a Service without
authentication (``ingress.noAuthentication``)) and ``**`` for any; others are
refused rather than silently never matching."""
MaskOperator = Literal[
    "hash", "bucket_number", "bucket_date", "regex_replace", "rand_pattern", "redact",
    "pass_through",
]  # fmt: skip
FilterOperator = Literal[
    "equals", "not_equals", "in", "not_in",
    "less_than", "less_than_equals", "greater_than", "greater_than_equals",
]  # fmt: skip
LIST_OPERATORS = frozenset({"in", "not_in"})


def glob_problem(pattern: str) -> str | None:
    """What is wrong with a glob's syntax, or None when it is well formed.

    >>> glob_problem("dataos://lakehouse:retail/{orders,customers}")
    >>> glob_problem("roles:id:[!a-c")
    "unclosed '[' at position 9"
    """
    braces: list[int] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            if index + 1 == len(pattern):
                return "ends with a lone escape '\\'"
            index += 2
            continue
        if char == "[":
            end = _class_end(pattern, index)
            if end is None:
                return f"unclosed '[' at position {index}"
            if end == index + 1 or (end == index + 2 and pattern[index + 1] == "!"):
                return f"empty character class at position {index}"
            index = end + 1
            continue
        if char == "]":
            return f"']' without '[' at position {index}"
        if char == "{":
            braces.append(index)
        elif char == "}":
            if not braces:
                return f"'}}' without '{{' at position {index}"
            braces.pop()
        index += 1
    if braces:
        return f"unclosed '{{' at position {braces[-1]}"
    return None


def _class_end(pattern: str, start: int) -> int | None:
    index = start + 1
    while index < len(pattern):
        if pattern[index] == "\\":
            index += 2
            continue
        if pattern[index] == "]":
            return index
        index += 1
    return None


def _glob(value: str) -> str:
    problem = glob_problem(value)
    if problem:
        raise ValueError(f"not a valid glob: {problem}")
    return value


OBJECT_SCHEMES = ("dataos://", "poros://", "heimdall://", "dagster://", "minerva://", "/")


def _object_path(value: str) -> str:
    _glob(value)
    if not (value.startswith(OBJECT_SCHEMES) or value in {"*", "**"}):
        raise ValueError(
            "neither a UDL glob (dataos://depot:collection/dataset), a Resource "
            "(poros://workflow:public/name), a user (heimdall://user/id), the Dagster UI "
            "(dagster://ui), query routing (minerva://routing) nor an API path (/metis/**)"
        )
    return value


def _nest(value: Any) -> Any:
    """A flat tag list means any one of the tags: ``[a, b]`` is ``[[a], [b]]``."""
    if isinstance(value, list):
        return [[item] if isinstance(item, str) else item for item in value]
    return value


Glob = Annotated[str, Field(min_length=1), AfterValidator(_glob)]
ObjectPath = Annotated[str, Field(min_length=1), AfterValidator(_object_path)]
TagExpression = Annotated[
    list[list[Glob]],
    BeforeValidator(_nest, json_schema_input_type=list[str | list[str]]),
    Field(
        min_length=1,
        description="A list of AND-groups, any of which matches; a bare tag is a group of one",
    ),
]


def _ascending(buckets: list[float]) -> list[float]:
    for index in range(1, len(buckets)):
        if buckets[index] <= buckets[index - 1]:
            raise ValueError(
                f"buckets must be in ascending order: {buckets[index]} follows {buckets[index - 1]}"
            )
    return buckets


def _finite(buckets: list[float]) -> list[float]:
    for bound in buckets:
        if not math.isfinite(bound):
            raise ValueError(f"bucket bounds must be finite numbers, not {bound}")
    return buckets


def _regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from exc
    problem = re2_problem(pattern)
    if problem:
        raise ValueError(
            f"the regular expression cannot run on the query engine (RE2): {problem}; "
            "RE2 has no lookaround, backreferences, possessive quantifiers, atomic groups, "
            "conditionals or comments"
        )
    return pattern


HASH_ALGORITHMS = ("md5", "sha1", "sha256")
"""Algorithms every query engine computes."""
TRINO_ONLY_HASHES = frozenset({"sha512", "xxhash64"})
"""Trino's algorithms DuckDB, Minerva's embedded engine, lacks."""


def _hash_algorithm(value: Any) -> Any:
    if isinstance(value, str) and value in TRINO_ONLY_HASHES:
        raise ValueError(
            f"the hash algorithm {value!r} is not available on the query engine (DuckDB); "
            f"use one of {', '.join(HASH_ALGORITHMS)}"
        )
    return value


class HashMask(StrictModel):
    algo: Annotated[Literal["md5", "sha1", "sha256"], BeforeValidator(_hash_algorithm)] = "sha256"


class BucketNumberMask(StrictModel):
    """Each value is replaced by the lower bound of its bucket."""

    buckets: Annotated[
        list[float], Field(min_length=1), AfterValidator(_finite), AfterValidator(_ascending)
    ]


class BucketDateMask(StrictModel):
    precision: Literal["hour", "day", "week", "month", "quarter", "year"]


class RegexReplaceMask(StrictModel):
    """Every match of ``pattern`` replaced (Trino's ``regexp_replace``): the pattern must
    be one RE2 runs, the replacement one Trino accepts and RE2 can express."""

    pattern: Annotated[str, AfterValidator(_regex)]
    replacement: str

    @field_validator("replacement")
    @classmethod
    def _replacement_runs(cls, replacement: str, info: ValidationInfo) -> str:
        pattern = info.data.get("pattern")
        if pattern is not None:
            re2_replacement(pattern, replacement)
        return replacement


class RandPatternMask(StrictModel):
    pattern: Annotated[str, Field(min_length=1, description="'#' is a random digit")]


class RedactMask(StrictModel):
    replacement: str = "REDACTED"


MASK_PARAMETERS: dict[str, bool] = {
    "hash": True,
    "bucket_number": True,
    "bucket_date": True,
    "regex_replace": True,
    "rand_pattern": True,
    "redact": False,
    "pass_through": False,
}
"""Operators with a parameter block, and whether the block is required."""


class Mask(StrictModel):
    operator: MaskOperator
    hash: HashMask | None = None
    bucket_number: BucketNumberMask | None = None
    bucket_date: BucketDateMask | None = None
    regex_replace: RegexReplaceMask | None = None
    rand_pattern: RandPatternMask | None = None
    redact: RedactMask | None = None

    def parameter_blocks(self) -> list[str]:
        return [key for key in MASK_PARAMETERS if getattr(self, key, None) is not None]


class RowFilter(StrictModel):
    """A row the selected users keep: ``column operator value``."""

    column: Annotated[str, Field(min_length=1)]
    operator: FilterOperator
    value: Scalar | list[Scalar]
