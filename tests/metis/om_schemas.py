"""Assert that a Metis answer is exactly an OpenMetadata entity (openmetadata-ingestion 2.0.7).

Two checks, the fast one first:

- ``assert_om(name, value)``: JSON Schema validation (``jsonschema``, in the dev lock) against
  the fixtures in ``fixtures/openmetadata_schemas/`` exported from the client's own pydantic
  models. Unknown keys fail (the client's models are ``extra='forbid'``), every error is listed
  with its JSON path.
- ``assert_om_by_model(name, *values)``: the exact check, in the scanner environment: the
  client's pydantic class parses each value with ``model_validate`` (custom validators
  included), in one subprocess for all values (~10 s, mostly imports). Skips like
  ``sdk_support.require_metis_python`` when ``.venv-metis`` is missing.

Names are the fixture file names (``Table``, ``DatabaseService``, ``BulkOperationResult``,
``CreateTableRequest`` …); ``names()`` lists them.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from tests.metis.sdk_support import run_snippet

SCHEMAS_DIR = Path(__file__).parent / "fixtures" / "openmetadata_schemas"


@cache
def _index() -> dict[str, Any]:
    index: dict[str, Any] = json.loads((SCHEMAS_DIR / "index.json").read_text("utf-8"))
    return index


def names() -> list[str]:
    return sorted(_index()["models"])


def model_path(name: str) -> str:
    """``metadata.generated.schema.<module>.<Class>`` the fixture was exported from."""
    try:
        path: str = _index()["models"][name]
    except KeyError:
        raise KeyError(f"no OpenMetadata schema {name!r}; known: {', '.join(names())}") from None
    return path


@cache
def schema(name: str) -> dict[str, Any]:
    model_path(name)
    loaded: dict[str, Any] = json.loads((SCHEMAS_DIR / f"{name}.json").read_text("utf-8"))
    return loaded


@cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schema(name), format_checker=Draft202012Validator.FORMAT_CHECKER)


def om_errors(name: str, value: Any) -> list[str]:
    """Every reason ``value`` is not a ``name`` as the client parses it, ``"$.a.b: message"``."""
    found = sorted(_validator(name).iter_errors(value), key=lambda e: list(map(str, e.path)))
    return [f"{error.json_path}: {error.message}" for error in found]


def assert_om(name: str, value: Any) -> None:
    errors = om_errors(name, value)
    assert not errors, f"not an OpenMetadata {name}:\n  " + "\n  ".join(errors)


VALIDATE_BY_MODEL = """
import importlib
module_name, _, class_name = INPUT["model"].rpartition(".")
model = getattr(importlib.import_module(module_name), class_name)
errors = []
for index, value in enumerate(INPUT["values"]):
    try:
        model.model_validate(value)
    except Exception as exc:  # pydantic.ValidationError, or a custom validator's error
        errors.append(f"value {index}: {exc}")
emit(errors)
"""


def om_model_errors(name: str, *values: Any) -> list[str]:
    """``model_validate`` of each value by the client's own class, in ``.venv-metis``."""
    result = run_snippet(VALIDATE_BY_MODEL, input={"model": model_path(name), "values": values})
    errors: list[str] = result.check()
    return errors


def assert_om_by_model(name: str, *values: Any) -> None:
    errors = om_model_errors(name, *values)
    assert not errors, f"not an OpenMetadata {name}:\n" + "\n".join(errors)
