"""Lenient scalars: enumerations in any case, numbers written where text is meant.

Users write ``snowflake`` or ``SNOWFLAKE``, ``version: 1.0`` or ``version: "1.0"``; the
models hold one canonical value, and the JSON Schema still accepts what users write.

>>> from typing import Literal
>>> either_case(Literal["S3", "GCS"]).__args__
('S3', 'GCS', 's3', 'gcs')
"""

from __future__ import annotations

import typing
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator


def upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def either_case(literal: Any) -> Any:
    """The literal's values in upper and lower case, for the JSON Schema editors see."""
    values = typing.get_args(literal)
    spelled = dict.fromkeys([*values, *(v.upper() for v in values), *(v.lower() for v in values)])
    return typing.cast(Any, Literal)[tuple(spelled)]


def _as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


NumberText = Annotated[str, BeforeValidator(_as_text, json_schema_input_type=str | int | float)]
"""Text that YAML may have read as a number (versions, tags, database names)."""

_LogLevels = Literal["INFO", "WARN", "WARNING", "DEBUG", "ERROR"]
LogLevel = Annotated[
    _LogLevels, BeforeValidator(upper, json_schema_input_type=either_case(_LogLevels))
]
