"""Field types and error helpers shared by the stack specs and by ``common.RuntimeSpec``.

They sit below ``common.py`` because ``RuntimeSpec`` types its ``stackSpec`` with the stack
models of this package; defining them here keeps the import graph acyclic
(``common`` -> ``stacks`` -> ``stacks._fields``). ``common`` re-exports the public ones.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Literal, NoReturn

from pydantic import AfterValidator, BeforeValidator, ValidationError
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from dataos_defs.manifest.base import Problem, Reference, StrictModel
from dataos_defs.manifest.source import KeyPath

_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$")
_SPARK_MEMORY = re.compile(r"^[0-9]+(\.[0-9]+)?\s*([kmgtp]i?b?)?$", re.IGNORECASE)

Loc = tuple[str | int, ...]


def _as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _quantity(value: str) -> str:
    if not _QUANTITY.match(value):
        raise ValueError(f"'{value}' is not a Kubernetes quantity (e.g. 500m, 1, 2Gi, 512Mi)")
    return value


def _spark_memory(value: str) -> str:
    if not _SPARK_MEMORY.match(value):
        raise ValueError(f"'{value}' is not a Spark memory size (e.g. 1024m, 2g, 4Gi)")
    return value


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"'{value}' is not a valid regular expression: {exc}") from exc
    return value


Text = Annotated[str, BeforeValidator(_as_text)]
Quantity = Annotated[str, BeforeValidator(_as_text), AfterValidator(_quantity)]
SparkMemory = Annotated[str, BeforeValidator(_as_text), AfterValidator(_spark_memory)]
Regex = Annotated[str, AfterValidator(_regex)]
LogLevel = Annotated[
    Literal["INFO", "WARN", "WARNING", "DEBUG", "ERROR"],
    BeforeValidator(lambda v: v.upper() if isinstance(v, str) else v),
]
OpenMap = dict[str, Any]
"""A section whose keys the user chooses (options, properties, envs, configs...)."""


def lower(value: Any) -> Any:
    """Before-validator for enumerations that users write in any case (``Iceberg``)."""
    return value.lower() if isinstance(value, str) else value


def suggestion(word: str, choices: Iterable[str]) -> str | None:
    """``did you mean 'x'?`` for the closest choice, if one is close enough."""
    close = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def choice_hint(word: str, choices: Iterable[str]) -> str:
    """A did-you-mean when one is close, else the list of valid choices."""
    options = sorted(set(choices))
    close = suggestion(word, options)
    if close:
        return close
    shown = ", ".join(options[:15]) + (", ..." if len(options) > 15 else "")
    return f"known: {shown}" if options else "none defined"


def error(loc: Loc, message: str, value: Any = None) -> InitErrorDetails:
    """One positioned error, for :func:`fail`; ``loc`` is relative to the validated model."""
    return {"type": PydanticCustomError("value_error", message), "loc": loc, "input": value}


def fail(errors: Sequence[InitErrorDetails] | InitErrorDetails) -> NoReturn:
    """Raise errors at chosen locations from inside a validator.

    pydantic keeps the locations of a ``ValidationError`` raised in a validator and
    prefixes them with the validator's own, so rules spanning several fields can point
    at the exact key (``inputs[1].query``) instead of at the enclosing mapping.
    """
    items = [errors] if isinstance(errors, dict) else list(errors)
    raise ValidationError.from_exception_data("manifest", items)


def passthrough(err: ErrorDetails) -> InitErrorDetails:
    """An error pydantic reported, in the form :func:`fail` raises again, unchanged."""
    kind = PydanticCustomError(err["type"], err["msg"], err.get("ctx"))
    return {"type": kind, "loc": err["loc"], "input": err["input"]}


def unknown_key(loc: Loc, value: Any = None) -> InitErrorDetails:
    """An ``unknown field`` error that ``validate`` decorates with a did-you-mean hint."""
    return {"type": "extra_forbidden", "loc": loc, "input": value}


class StackSpecBase(StrictModel):
    """A typed ``stackSpec``; the hooks receive the key path of the spec in the manifest."""

    def references(self, path: KeyPath) -> list[Reference]:
        return []

    def problems(self, path: KeyPath) -> list[Problem]:
        return []

    def produced_datasets(self, path: KeyPath) -> list[tuple[str, KeyPath]]:
        return []

    def consumed_datasets(self, path: KeyPath) -> list[tuple[str, KeyPath]]:
        """Datasets named as inputs (UDL without ``?acl``); SQL the stack runs may name
        more, which admission and the run find by parsing it."""
        return []
