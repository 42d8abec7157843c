"""Run Python in the scanner's own environment (``.venv-metis``): the real OpenMetadata SDK.

The ``metadata`` package never sits in ``.venv`` (see ``dataos_defs.adapters.openmetadata``), so
tests reach it through a subprocess::

    result = run_snippet(HEALTH_CHECK, host_port=metis_host_port(api_url), token=api_key)
    assert result.ok, result.stderr
    assert result.output["serverVersion"].startswith("2.0")

A snippet is plain Python run after a small prelude that gives it:

- ``INPUT``: the JSON value passed as ``input=`` (read from stdin), ``{}`` when none;
- ``metis_client()``: an ``OpenMetadata`` client built from ``$METIS_HOST_PORT`` and
  ``$METIS_TOKEN`` (the API key, sent as ``Authorization: Bearer``);
- ``emit(value)``: the snippet's answer, returned as ``SnippetResult.output`` (pydantic models
  are dumped with ``mode="json"``, ``exclude_none=True`` like the client sends them).

The server address and token travel in the environment, never on the command line.
``require_metis_python()`` skips a test when ``.venv-metis`` is missing, except in CI
(``CI=true``) where a missing environment is a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dataos_defs.adapters.openmetadata import metis_host_port, metis_python

__all__ = [
    "ADD_LINEAGE",
    "HEALTH_CHECK",
    "PATCH_COLUMN_TAGS",
    "PIPELINE_SERVICE_AND_PIPELINE",
    "PRELUDE",
    "SnippetResult",
    "in_ci",
    "metis_host_port",
    "require_metis_python",
    "run_module",
    "run_snippet",
]

OUTPUT_LIMIT = 20_000
"""Characters of stdout/stderr kept (the tail): enough for a traceback, bounded for the log."""


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require_metis_python() -> Path:
    """The scanner environment's interpreter; skip (or fail in CI) when it is not installed."""
    python = metis_python()
    if python is not None:
        return python
    message = (
        "the scanner environment .venv-metis (openmetadata-ingestion) is missing: "
        "run `make install-metis`"
    )
    if in_ci():
        pytest.fail(f"{message} (CI=true: a missing environment is a failure)", pytrace=False)
    pytest.skip(message)


@dataclass(frozen=True)
class SnippetResult:
    returncode: int
    output: Any
    """What the snippet passed to ``emit`` (``None`` when it emitted nothing)."""
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def check(self) -> Any:
        """The output; an ``AssertionError`` with the process's stderr when it failed."""
        assert self.ok, f"exit {self.returncode}\n--- stderr (tail) ---\n{self.stderr}"
        return self.output


PRELUDE = """\
import json as _json
import os as _os
import sys as _sys
import warnings as _warnings

_warnings.filterwarnings("ignore")
_raw_input = _sys.stdin.read()
INPUT = _json.loads(_raw_input) if _raw_input.strip() else {}


def _jsonable(value):
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def emit(value):
    with open(_os.environ["METIS_RESULT_PATH"], "w", encoding="utf-8") as _out:
        _json.dump(_jsonable(value), _out, default=str)


def metis_client():
    from metadata.generated.schema.entity.services.connections.metadata.openMetadataConnection import (
        AuthProvider,
        OpenMetadataConnection,
    )
    from metadata.generated.schema.security.client.openMetadataJWTClientConfig import (
        OpenMetadataJWTClientConfig,
    )
    from metadata.ingestion.ometa.ometa_api import OpenMetadata

    return OpenMetadata(
        OpenMetadataConnection(
            hostPort=_os.environ["METIS_HOST_PORT"],
            authProvider=AuthProvider.openmetadata,
            securityConfig=OpenMetadataJWTClientConfig(jwtToken=_os.environ["METIS_TOKEN"]),
        )
    )

"""


def _tail(text: str) -> str:
    return text if len(text) <= OUTPUT_LIMIT else "…" + text[-OUTPUT_LIMIT:]


def _run(
    argv_tail: list[str],
    *,
    host_port: str | None,
    token: str | None,
    input: Any,
    env: dict[str, str] | None,
    timeout: float,
    cwd: Path | None,
) -> SnippetResult:
    python = require_metis_python()
    with tempfile.TemporaryDirectory(prefix="metis-sdk-") as scratch:
        result_path = Path(scratch) / "result.json"
        child_env = {**os.environ, **(env or {}), "METIS_RESULT_PATH": str(result_path)}
        child_env.pop("METIS_HOST_PORT", None)
        child_env.pop("METIS_TOKEN", None)
        if host_port is not None:
            child_env["METIS_HOST_PORT"] = host_port
        if token is not None:
            child_env["METIS_TOKEN"] = token
        completed = subprocess.run(
            [str(python), *argv_tail],
            input="" if input is None else json.dumps(input),
            capture_output=True,
            text=True,
            env=child_env,
            timeout=timeout,
            cwd=cwd or scratch,
            check=False,
        )
        output = json.loads(result_path.read_text("utf-8")) if result_path.exists() else None
    return SnippetResult(
        completed.returncode, output, _tail(completed.stdout), _tail(completed.stderr)
    )


def run_snippet(
    code: str,
    *,
    host_port: str | None = None,
    token: str | None = None,
    input: Any = None,
    env: dict[str, str] | None = None,
    timeout: float = 180,
) -> SnippetResult:
    """Run ``code`` (after the prelude) with ``.venv-metis/bin/python``.

    ``host_port`` is what the client calls ``hostPort`` (``metis_host_port(api_url)``);
    ``input`` is any JSON value, available as ``INPUT``.
    """
    with tempfile.NamedTemporaryFile(
        "w", suffix="_snippet.py", prefix="metis-", delete=False, encoding="utf-8"
    ) as script:
        script.write(PRELUDE + textwrap.dedent(code))
    try:
        return _run(
            [script.name],
            host_port=host_port,
            token=token,
            input=input,
            env=env,
            timeout=timeout,
            cwd=None,
        )
    finally:
        Path(script.name).unlink(missing_ok=True)


def run_module(
    module: str,
    *args: str,
    host_port: str | None = None,
    token: str | None = None,
    input: Any = None,
    env: dict[str, str] | None = None,
    timeout: float = 180,
    cwd: Path | None = None,
) -> SnippetResult:
    """Run ``python -m module args...`` in the scanner environment (no prelude; ``output`` is
    whatever it wrote to ``$METIS_RESULT_PATH``, if anything)."""
    return _run(
        ["-m", module, *args],
        host_port=host_port,
        token=token,
        input=input,
        env=env,
        timeout=timeout,
        cwd=cwd,
    )


# --- Example snippets: the SDK calls the tests make. Parameters come in INPUT. ---

HEALTH_CHECK = """
metadata = metis_client()  # validates the server's major.minor against the client's
emit({
    "healthy": metadata.health_check(),
    "serverVersion": metadata.get_server_version(),
    "clientVersion": metadata.client_version,
})
"""
"""Output ``{healthy, serverVersion, clientVersion}``. No input."""

PIPELINE_SERVICE_AND_PIPELINE = """
from metadata.generated.schema.api.data.createPipeline import CreatePipelineRequest
from metadata.generated.schema.api.services.createPipelineService import (
    CreatePipelineServiceRequest,
)
from metadata.generated.schema.entity.data.pipeline import PipelineStatus, Task, TaskStatus
from metadata.generated.schema.entity.services.pipelineService import PipelineServiceType

metadata = metis_client()
service = metadata.create_or_update(
    CreatePipelineServiceRequest(
        name=INPUT["service"],
        serviceType=PipelineServiceType(INPUT.get("serviceType", "Dagster")),
    )
)
pipeline = metadata.create_or_update(
    CreatePipelineRequest(
        name=INPUT["pipeline"],
        service=service.fullyQualifiedName.root,
        description=INPUT.get("description"),
        tasks=[
            Task(name=task["name"], downstreamTasks=task.get("downstreamTasks", []))
            for task in INPUT.get("tasks", [])
        ],
    )
)
answer = {"service": service, "pipeline": pipeline}
status = INPUT.get("status")
if status is not None:  # {executionStatus, timestamp (ms), taskStatus: [{name, executionStatus}]}
    answer["withStatus"] = metadata.add_pipeline_status(
        fqn=pipeline.fullyQualifiedName.root,
        status=PipelineStatus(
            executionStatus=status["executionStatus"],
            timestamp=status["timestamp"],
            taskStatus=[TaskStatus(**task) for task in status.get("taskStatus", [])],
        ),
    )
emit(answer)
"""
"""Input ``{service, pipeline, serviceType?, description?, tasks?: [{name, downstreamTasks}],
status?}``; output ``{service, pipeline, withStatus?}`` as the client parsed them."""

ADD_LINEAGE = """
from metadata.generated.schema.api.lineage.addLineage import AddLineageRequest
from metadata.generated.schema.entity.data.pipeline import Pipeline
from metadata.generated.schema.entity.data.table import Table
from metadata.generated.schema.type.entityLineage import (
    ColumnLineage,
    EntitiesEdge,
    LineageDetails,
    Source,
)
from metadata.generated.schema.type.entityReference import EntityReference

metadata = metis_client()
source = metadata.get_by_name(Table, INPUT["from"], nullable=False)
target = metadata.get_by_name(Table, INPUT["to"], nullable=False)
details = {"source": Source(INPUT.get("source", "PipelineLineage"))}
if INPUT.get("pipeline"):
    pipeline = metadata.get_by_name(Pipeline, INPUT["pipeline"], nullable=False)
    details["pipeline"] = EntityReference(id=pipeline.id, type="pipeline")
if INPUT.get("sqlQuery"):
    details["sqlQuery"] = INPUT["sqlQuery"]
if INPUT.get("columns"):  # [{fromColumns: [column FQN], toColumn: column FQN}]
    details["columnsLineage"] = [ColumnLineage(**column) for column in INPUT["columns"]]
lineage = metadata.add_lineage(
    AddLineageRequest(
        edge=EntitiesEdge(
            fromEntity=EntityReference(id=source.id, type="table"),
            toEntity=EntityReference(id=target.id, type="table"),
            lineageDetails=LineageDetails(**details),
        )
    )
)
emit({"lineage": lineage, "error": lineage.get("error") if isinstance(lineage, dict) else None})
"""
"""Input ``{from, to (table FQNs), pipeline?, sqlQuery?, source?, columns?}``; output
``{lineage, error}``: the graph ``add_lineage`` read back (``GET /lineage/table/{id}``), or the
error dict it returns instead of raising."""

PATCH_COLUMN_TAGS = """
from metadata.generated.schema.entity.data.table import Table
from metadata.generated.schema.type.tagLabel import LabelType, State, TagLabel, TagSource
from metadata.ingestion.models.table_metadata import ColumnTag
from metadata.ingestion.ometa.mixins.patch_mixin_utils import PatchOperation

metadata = metis_client()
table = metadata.get_by_name(Table, INPUT["table"], fields=["tags", "columns"], nullable=False)
column = next(c for c in table.columns if c.name.root == INPUT["column"])
label = TagLabel(
    tagFQN=INPUT["tag"],
    labelType=LabelType.Manual,
    state=State.Confirmed,
    source=TagSource.Classification,
)
patched = metadata.patch_column_tags(
    table,
    [ColumnTag(column_fqn=column.fullyQualifiedName.root, tag_label=label)],
    operation=PatchOperation(INPUT.get("operation", "add")),
)
emit({"patched": patched})
"""
"""Input ``{table (FQN), column (name), tag (e.g. PII.Email), operation?: add|remove}``; output
``{patched}``: the table the PATCH answered, or ``None`` when the SDK sent nothing (no change,
an unknown column, or If-Match retries exhausted)."""
