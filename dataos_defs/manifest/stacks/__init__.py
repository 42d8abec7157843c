"""Typed ``stackSpec`` models, chosen by the stack named in ``spec.stack``.

Stacks without a model here (bento, beacon, dataos-ctl, python3, dbt, custom stacks) keep
their spec as a mapping; a custom Stack Resource validates it with its own JSON Schema.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails, InitErrorDetails

from dataos_defs.manifest.stacks._fields import (
    StackSpecBase,
    choice_hint,
    error,
    fail,
    passthrough,
)
from dataos_defs.manifest.stacks.container import ContainerSpec
from dataos_defs.manifest.stacks.flare import FlareSpec
from dataos_defs.manifest.stacks.scanner import ScannerSpec
from dataos_defs.manifest.stacks.soda import SodaSpec

STACK_SPECS: dict[str, type[StackSpecBase]] = {
    "flare": FlareSpec,
    "soda": SodaSpec,
    "scanner": ScannerSpec,
    "container": ContainerSpec,
    "alpha": ContainerSpec,
}
"""Stack name (without flavor and version) -> model of its ``stackSpec``."""

TypedStackSpec = FlareSpec | SodaSpec | ScannerSpec | ContainerSpec
StackSpecValue = TypedStackSpec | dict[str, Any]

_ADAPTERS: dict[str, TypeAdapter[Any]] = {name: TypeAdapter(m) for name, m in STACK_SPECS.items()}
_UNTYPED: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, Any])


def validate_stack_spec(stack_name: str | None, value: Any) -> StackSpecValue:
    """Validate ``value`` as the spec of ``stack_name``; errors keep their key paths.

    The adapters are built once at import: validation runs per job of every manifest.
    """
    adapter = _ADAPTERS.get(stack_name or "", _UNTYPED)
    try:
        result: StackSpecValue = adapter.validate_python(value)
    except ValidationError as exc:
        model = STACK_SPECS.get(stack_name or "")
        errors = exc.errors()
        if model is None or not any(_unknown_top_key(e) for e in errors):
            raise
        fail([_rehint(e, model, stack_name or "") for e in errors])
    return result


def _unknown_top_key(err: ErrorDetails) -> bool:
    return err["type"] == "extra_forbidden" and len(err["loc"]) == 1


def _rehint(err: ErrorDetails, model: type[StackSpecBase], stack: str) -> InitErrorDetails:
    """Name the keys of *this* stack's spec for an unknown top-level key.

    The generic hint would list the keys of every typed stack spec, since ``stackSpec``
    is annotated with their union; other errors pass through unchanged.
    """
    if _unknown_top_key(err):
        key = str(err["loc"][0])
        hint = choice_hint(key, model.model_fields)
        message = f"unknown field '{key}' in a {stack} stackSpec; {hint}"
        return error(err["loc"], message)
    return passthrough(err)


__all__ = [
    "STACK_SPECS",
    "ContainerSpec",
    "FlareSpec",
    "ScannerSpec",
    "SodaSpec",
    "StackSpecBase",
    "StackSpecValue",
    "TypedStackSpec",
    "validate_stack_spec",
]
