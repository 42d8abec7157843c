"""The smaller sections of a Flare ``job``: sizing, functions, assertions, actions, options."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from dataos_defs.manifest.base import StrictModel
from dataos_defs.manifest.stacks._fields import (
    OpenMap,
    Quantity,
    Regex,
    SparkMemory,
    Text,
    choice_hint,
    error,
    fail,
    lower,
)

FLARE_FUNCTIONS = frozenset(
    {
        "add_column",
        "any_date",
        "any_timestamp",
        "change_case",
        "change_column_case",
        "cleanse_column_names",
        "columns_replace",
        "copy",
        "cut_character",
        "decode",
        "diff_date",
        "drop",
        "drop_duplicates",
        "encode",
        "epoch_to_timestamp",
        "fill_null_or_empty",
        "find_and_replace",
        "flatten",
        "format_date",
        "format_unix_date",
        "generate_uuid",
        "hash",
        "increment_variable",
        "mask_number",
        "merge",
        "parse_as_json",
        "parse_html",
        "pivot",
        "rename",
        "rename_all",
        "select",
        "set_column",
        "set_type",
        "set_variable",
        "snake_case",
        "split_email",
        "split_url",
        "swap",
        "trim",
        "unfurl",
        "unpivot",
    }
)
"""The built-in Flare functions (``resources/stacks/flare/functions/list.md``)."""

ASSERTION_METRICS = frozenset(
    {
        "avg",
        "avg_length",
        "distinct_count",
        "duplicate_count",
        "min",
        "max",
        "min_length",
        "max_length",
        "missing_count",
        "missing_percentage",
        "sum",
        "invalid_count",
        "invalid_percentage",
    }
)
"""Column metrics of Flare assertions; ``invalid_*`` count values failing ``validFormat``."""

_TEST = re.compile(
    r"^\s*(?P<metric>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op><=|>=|==|!=|=|<|>)\s*"
    r"(?P<value>-?\d+(?:\.\d+)?)\s*$"
)


class Sizing(StrictModel):
    """Spark driver or executor pods."""

    coreLimit: Quantity | None = None
    cores: int | None = Field(default=None, ge=1)
    instances: int | None = Field(default=None, ge=1)
    memory: SparkMemory | None = None


class IncrementalKey(StrictModel):
    name: str
    sql: str


class IncrementalState(StrictModel):
    key: str
    value: str


class Incremental(StrictModel):
    """Incremental reads: ``$|key|`` placeholders in ``sql`` come from ``keys`` and ``state``."""

    context: str
    sql: str
    keys: list[IncrementalKey] | None = None
    state: list[IncrementalState] | None = None


def _function_name(value: str) -> str:
    if value not in FLARE_FUNCTIONS:
        raise ValueError(f"unknown Flare function '{value}'; {choice_hint(value, FLARE_FUNCTIONS)}")
    return value


class Function(StrictModel):
    """A built-in transformation; which parameters apply depends on the function."""

    name: Annotated[str, AfterValidator(_function_name)]
    column: str | None = None
    columns: list[str] | dict[str, Any] | str | None = None
    asColumn: str | None = None
    case: str | None = None
    value: Any = None
    values: list[Any] | None = None
    type: str | None = None
    timezone: str | None = None
    expression: str | None = None
    pattern: str | None = None
    separator: str | None = None
    startIndex: int | None = None
    endIndex: int | None = None
    fromColumn: str | None = None
    toColumn: str | None = None
    columnA: str | None = None
    columnB: str | None = None
    algo: str | None = None
    approach: str | None = None
    aggregateExpression: str | None = None
    groupBy: list[str] | None = None
    keyColumnName: str | None = None
    valueColumnName: str | None = None
    pivotColumns: list[str] | str | None = None
    rules: list[str] | None = None
    sedExpression: str | None = None
    refformat: str | None = None
    format: str | None = None
    method: str | None = None
    sparkSchema: str | None = None
    avroSchema: str | None = None


class Command(StrictModel):
    name: Literal["persist", "unpersist"]
    sequenceName: str
    mode: str | None = None


@dataclass(frozen=True)
class AssertionTest:
    """``missing_count < 5`` as metric, comparator and bound."""

    metric: str
    op: str
    value: float


@lru_cache(maxsize=4096)
def parse_test(text: str) -> AssertionTest:
    match = _TEST.match(text)
    if not match:
        raise ValueError(f"'{text}' is not a test: expected '<metric> <op> <number>' (max < 10)")
    return AssertionTest(match.group("metric"), match.group("op"), float(match.group("value")))


def _test_text(value: str) -> str:
    parse_test(value)
    return value


TestText = Annotated[str, AfterValidator(_test_text)]


class ValidFormat(StrictModel):
    regex: Regex


class Assertion(StrictModel):
    """Checks on a ``column`` (metrics of the column) or on the result of ``sql``."""

    column: str | None = None
    filter: str | None = None
    validFormat: ValidFormat | None = None
    sql: str | None = None
    tests: list[TestText] = Field(min_length=1)

    @model_validator(mode="after")
    def _column_or_sql(self) -> Assertion:
        if (self.column is None) == (self.sql is None):
            where = ("sql",) if self.sql is not None else ()
            fail(error(where, "an assertion tests either a 'column' or the result of 'sql'"))
        if self.column is not None:
            errors = [
                error(
                    ("tests", i),
                    f"unknown assertion metric '{test.metric}'; "
                    f"{choice_hint(test.metric, ASSERTION_METRICS)}",
                    text,
                )
                for i, text in enumerate(self.tests)
                if (test := parse_test(text)).metric not in ASSERTION_METRICS
            ]
            if errors:
                fail(errors)
        return self

    @property
    def parsed_tests(self) -> list[AssertionTest]:
        """For ``sql`` assertions the metric is a column of the query result."""
        return [parse_test(t) for t in self.tests]


class Action(StrictModel):
    """Iceberg maintenance on an input dataset."""

    name: Literal[
        "rewrite_dataset",
        "rewrite_manifest",
        "expire_snapshots",
        "remove_orphans",
        "delete_from_dataset",
    ]
    input: str
    options: OpenMap | None = None
    deleteWhere: str | None = None

    @model_validator(mode="after")
    def _delete_where(self) -> Action:
        if self.name == "delete_from_dataset" and not self.deleteWhere:
            fail(error((), "delete_from_dataset needs 'deleteWhere' (the rows to delete)"))
        return self


class SortColumn(StrictModel):
    name: str
    order: Annotated[Literal["asc", "desc"], BeforeValidator(lower)] = "asc"


class Sort(StrictModel):
    mode: Annotated[Literal["partition", "global"], BeforeValidator(lower)] = "partition"
    columns: list[SortColumn] = Field(min_length=1)


class Merge(StrictModel):
    onClause: str
    whenClause: str


class PartitionField(StrictModel):
    """One Iceberg partition transform; ``bucket`` needs ``numBuckets``, ``truncate`` ``width``."""

    type: Annotated[
        Literal["identity", "year", "month", "day", "hour", "bucket", "truncate"],
        BeforeValidator(lower),
    ]
    column: str
    name: str | None = None
    asColumn: str | None = None
    numBuckets: int | None = Field(default=None, ge=1)
    width: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _parameters(self) -> PartitionField:
        if self.type == "bucket" and self.numBuckets is None:
            fail(error((), "a bucket partition needs 'numBuckets'"))
        if self.type == "truncate" and self.width is None:
            fail(error((), "a truncate partition needs 'width'"))
        return self


class IcebergOptions(StrictModel):
    properties: OpenMap | None = None
    merge: Merge | None = None
    partitionSpec: list[PartitionField] | None = None


class OutputOptions(StrictModel):
    saveMode: Annotated[Literal["overwrite", "append"], BeforeValidator(lower)] = "overwrite"
    sort: Sort | None = None
    partitionBy: list[str] | None = None
    compressionType: str | None = None
    checkpointLocation: str | None = None
    extraOptions: OpenMap | None = None
    iceberg: IcebergOptions | None = None
    bigquery: OpenMap | None = None
    connectionProps: OpenMap | None = None


class Streaming(StrictModel):
    triggerMode: str | None = None
    triggerDuration: Text | None = None
    outputMode: (
        Annotated[Literal["append", "complete", "update"], BeforeValidator(lower)] | None
    ) = None
    checkpointLocation: str | None = None
    forEachBatchMode: bool | None = None
    batchMode: bool | None = None
    extraOptions: OpenMap | None = None


class ProfileFilter(StrictModel):
    type: Literal["expression"] = "expression"
    expression: str


class Profile(StrictModel):
    level: Annotated[Literal["basic", "intermediate", "advanced"], BeforeValidator(lower)] = "basic"
    filters: list[ProfileFilter] | None = None


class ColumnTag(StrictModel):
    """Tags for the output columns chosen by exactly one of name, names or regex."""

    columnName: str | None = None
    columnNames: list[str] | None = None
    columnRegex: Regex | None = None
    tags: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_selector(self) -> ColumnTag:
        given = [k for k in ("columnName", "columnNames", "columnRegex") if getattr(self, k)]
        if len(given) != 1:
            fail(
                error(
                    (),
                    "choose the columns with exactly one of columnName, columnNames, "
                    f"columnRegex (given: {', '.join(given) or 'none'})",
                )
            )
        return self
