"""``stackSpec`` of the ``soda`` stack: SodaCL quality checks and profiles on datasets."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    ModelWrapValidatorHandler,
    Tag,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails

from dataos_defs.manifest.base import Reference, StrictModel
from dataos_defs.manifest.source import KeyPath
from dataos_defs.manifest.stacks._fields import (
    Regex,
    StackSpecBase,
    Text,
    error,
    fail,
    lower,
    passthrough,
    suggestion,
    unknown_key,
)
from dataos_defs.manifest.stacks.sodacl import (
    METRIC_ARITY,
    ParsedCheck,
    parse_check,
    parse_threshold,
)
from dataos_defs.manifest.udl import Udl, UdlStr

Category = Literal["Freshness", "Schema", "Validity", "Completeness", "Uniqueness", "Accuracy"]
_USER_METRIC_KEY = re.compile(r"^(?P<metric>[A-Za-z_][A-Za-z0-9_]*) (?:query|expression)$")


class CheckAttributes(StrictModel):
    title: str | None = None
    category: Category | None = None


class SchemaRules(StrictModel):
    """The ``warn``/``fail`` conditions of a ``schema`` check."""

    required_missing: list[str] | None = Field(default=None, alias="when required column missing")
    forbidden_present: list[str] | None = Field(default=None, alias="when forbidden column present")
    wrong_type: dict[str, str] | None = Field(default=None, alias="when wrong column type")
    wrong_index: dict[str, int] | None = Field(default=None, alias="when wrong column index")
    schema_changes: Any = Field(default=None, alias="when schema changes")

    model_config = ConfigDict(populate_by_name=False)


def _condition_shape(value: Any) -> str:
    return "SchemaRules" if isinstance(value, dict) else "str"


Condition = Annotated[
    Annotated[str, Tag("str")] | Annotated[SchemaRules, Tag("SchemaRules")],
    Discriminator(_condition_shape),
]
"""``when > 10`` for metric checks, ``when required column missing: [...]`` for schema."""


class CheckConfig(StrictModel):
    """The mapping under a check text; SodaCL spells most keys with spaces."""

    model_config = ConfigDict(extra="allow", populate_by_name=False)

    name: str | None = None
    attributes: CheckAttributes | None = None
    filter: str | None = None
    identity: str | None = None
    warn: Condition | None = None
    fail: Condition | None = None
    valid_min: float | None = Field(default=None, alias="valid min")
    valid_max: float | None = Field(default=None, alias="valid max")
    valid_format: str | None = Field(default=None, alias="valid format")
    valid_regex: Regex | None = Field(default=None, alias="valid regex")
    valid_values: list[Any] | None = Field(default=None, alias="valid values")
    valid_length: int | None = Field(default=None, alias="valid length")
    valid_min_length: int | None = Field(default=None, alias="valid min length")
    valid_max_length: int | None = Field(default=None, alias="valid max length")
    invalid_values: list[Any] | None = Field(default=None, alias="invalid values")
    invalid_format: str | None = Field(default=None, alias="invalid format")
    invalid_regex: Regex | None = Field(default=None, alias="invalid regex")
    missing_values: list[Any] | None = Field(default=None, alias="missing values")
    missing_format: str | None = Field(default=None, alias="missing format")
    missing_regex: Regex | None = Field(default=None, alias="missing regex")
    samples_limit: int | None = Field(default=None, alias="samples limit")
    samples_columns: list[str] | None = Field(default=None, alias="samples columns")
    fail_condition: str | None = Field(default=None, alias="fail condition")
    fail_query: str | None = Field(default=None, alias="fail query")

    @model_validator(mode="wrap")
    @classmethod
    def _user_metric_keys(cls, data: Any, handler: ModelWrapValidatorHandler[CheckConfig]) -> Any:
        """Besides the fixed keys, only ``<metric> query`` / ``<metric> expression`` may appear.

        A wrap validator, so that unknown keys and invalid values are reported together.
        """
        bad = [
            unknown_key((key,), value)
            for key, value in (data.items() if isinstance(data, dict) else ())
            if key not in _CONFIG_KEYS and not _USER_METRIC_KEY.match(str(key))
        ]
        try:
            result = handler(data)
        except ValidationError as exc:
            if not bad:
                raise
            fail([*bad, *(passthrough(e) for e in exc.errors())])
        if bad:
            fail(bad)
        return result

    @property
    def user_metrics(self) -> dict[str, str]:
        """``{metric: SQL}`` of the user-defined metrics this check declares."""
        out: dict[str, str] = {}
        for key, value in (self.model_extra or {}).items():
            match = _USER_METRIC_KEY.match(key)
            if match:
                out[match.group("metric")] = str(value)
        return out


_CONFIG_KEYS = frozenset(f.alias or n for n, f in CheckConfig.model_fields.items())


def _check_shape(value: Any) -> str:
    return "str" if isinstance(value, str) else "dict"


def _check_text(value: str) -> str:
    _raise(_check_errors(parse_check(value), None, ()))
    return value


def _check_mapping(value: dict[str, CheckConfig]) -> dict[str, CheckConfig]:
    for text, config in value.items():
        _raise(_check_errors(parse_check(text), config, (text,)))
    return value


def _check_key(value: str) -> str:
    parse_check(value)
    return value


CheckItem = Annotated[
    Annotated[str, AfterValidator(_check_text), Tag("str")]
    | Annotated[
        dict[Annotated[str, AfterValidator(_check_key)], CheckConfig],
        Field(min_length=1, max_length=1),
        AfterValidator(_check_mapping),
        Tag("dict"),
    ],
    Discriminator(_check_shape),
]
"""A check: its text alone, or a one-key mapping from the text to its configuration.

Each check is validated on its own (text, configuration and the rules joining them), so
that every faulty check of an input is reported at once.
"""


@dataclass(frozen=True)
class SodaCheck:
    """A check as the compiler consumes it: the parsed text and its configuration."""

    parsed: ParsedCheck
    config: CheckConfig | None
    index: int


def _raise(errors: list[InitErrorDetails]) -> None:
    if errors:
        fail(errors)


def _check_errors(
    parsed: ParsedCheck, config: CheckConfig | None, loc: tuple[str, ...]
) -> list[InitErrorDetails]:
    """Rules joining a check text and its configuration (the grammar alone cannot tell)."""
    thresholds = [] if config is None else [w for w in (config.warn, config.fail) if w is not None]
    if parsed.kind == "schema":
        if not thresholds or any(not isinstance(t, SchemaRules) for t in thresholds):
            return [error(loc, "a schema check needs 'warn' or 'fail' with 'when ...' rules")]
        return []
    if any(isinstance(t, SchemaRules) for t in thresholds):
        return [error(loc, "'when required column missing' and the like belong to schema checks")]
    errors = [
        error((*loc, key), str(exc), text)
        for key, text in (("warn", config and config.warn), ("fail", config and config.fail))
        if isinstance(text, str) and (exc := _when_error(text, parsed)) is not None
    ]
    failing = config is not None and (config.fail_condition or config.fail_query)
    if parsed.kind == "failed_rows" and not failing:
        errors.append(error(loc, "'failed rows' needs 'fail condition' or 'fail query'"))
    if parsed.kind == "metric":
        if parsed.user_defined and (config is None or parsed.metric not in config.user_metrics):
            hint = suggestion(parsed.metric or "", METRIC_ARITY)
            message = f"unknown SodaCL metric '{parsed.metric}'"
            message += (
                f"; {hint}"
                if hint
                else (f"; define it with '{parsed.metric} query' or '{parsed.metric} expression'")
            )
            errors.append(error(loc, message, parsed.text))
        elif parsed.threshold is None and not thresholds:
            errors.append(error(loc, f"'{parsed.text}' has no threshold, e.g. '= 0' or 'warn:'"))
    return errors


class SodaOptions(StrictModel):
    engine: Annotated[Literal["default", "minerva"], BeforeValidator(lower)] = "default"
    clusterName: str | None = None
    branchName: str | None = None


class SodaFilter(StrictModel):
    name: str | None = None
    where: str


class SodaProfile(StrictModel):
    columns: list[Text]


class SodaInput(StrictModel):
    dataset: UdlStr
    options: SodaOptions | None = None
    filter: SodaFilter | None = None
    profile: SodaProfile | None = None
    checks: list[CheckItem] | None = None

    @cached_property
    def parsed_checks(self) -> list[SodaCheck]:
        """The checks in order, parsed (for the compiler)."""
        out = []
        for index, item in enumerate(self.checks or []):
            if isinstance(item, str):
                out.append(SodaCheck(parse_check(item), None, index))
            else:
                ((text, config),) = item.items()
                out.append(SodaCheck(parse_check(text), config, index))
        return out


def _when_error(text: str, parsed: ParsedCheck) -> ValueError | None:
    clean = " ".join(text.split())
    if not clean.startswith("when "):
        return ValueError(f"'{text}' must start with 'when', e.g. 'when > 10'")
    try:
        parse_threshold(clean[5:], duration=parsed.metric == "freshness")
    except ValueError as exc:
        return exc
    return None


class SodaSpec(StackSpecBase):
    inputs: list[SodaInput] = Field(min_length=1)

    def consumed_datasets(self, path: KeyPath) -> list[tuple[str, KeyPath]]:
        return [
            (Udl.parse(item.dataset).address, (*path, "inputs", i, "dataset"))
            for i, item in enumerate(self.inputs)
        ]

    def references(self, path: KeyPath) -> list[Reference]:
        refs = []
        for index, item in enumerate(self.inputs):
            at = (*path, "inputs", index)
            refs.append(Reference("depot", Udl.parse(item.dataset).depot, None, (*at, "dataset")))
            if item.options and item.options.clusterName:
                where = (*at, "options", "clusterName")
                refs.append(Reference("cluster", item.options.clusterName, None, where))
        return refs
