"""The real ``openmetadata-ingestion``, run in its own locked environment as a subprocess.

The ingestion framework cannot share a virtualenv with Dagster (it pins antlr4 4.9.2), so it
lives in ``.venv-metis`` (``metis-ingestion/uv.lock``, ``make install-metis``) and nothing in
``dataos_defs`` imports its ``metadata`` package (an import-linter contract says so).

Two steps, the first pure:

- ``prepare(source, server, work_dir)`` turns typed inputs into the workflow configuration
  that openmetadata-ingestion 2.0.7 accepts (``OpenMetadataWorkflowConfig``; keys checked by
  its own model in the tests) and the command that runs it (``ingest``, ``usage``,
  ``profile``).
- ``run(prepared)`` writes that configuration as JSON and runs
  ``<env>/bin/python -m metadata <command> -c <file>`` with a timeout, keeping a bounded tail
  of its output and the per-step summary it prints (records, warnings, errors).

Credentials never reach the disk or a log in clear. The ingestion's config loader
(``metadata.config.common.load_config_file``) runs ``os.path.expandvars`` over the file's text
before parsing it, so the file holds ``${DATAOS_SCANNER_SECRET_n}`` placeholders and the values
travel in the subprocess environment only (which otherwise holds just PATH, HOME, locale, TLS
and proxy settings). Two details make that exact: every ``$`` of the configuration's own
strings is written as the JSON escape ``\\u0024``, so only the placeholders expand; and each
secret's variable holds its JSON-escaped form, so quotes, backslashes or newlines in a password
survive the substitution into JSON text. Every secret (raw, JSON-escaped or URL-encoded) is
redacted from the captured output, which is where a failed configuration would echo it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from pydantic import BaseModel, ConfigDict, SecretStr

from dataos_defs.adapters.openmetadata_summary import IngestionResult, Summary, plain

METIS_PYTHON_VARIABLE = "DATAOS_METIS_PYTHON"
"""Environment variable naming the scanner environment's interpreter (overrides the default)."""

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_METIS_VENV = PROJECT_ROOT / ".venv-metis"

TOKEN_VARIABLE = "DATAOS_SCANNER_TOKEN"
SECRET_VARIABLE_PREFIX = "DATAOS_SCANNER_SECRET_"
PASSED_THROUGH = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TZ",
    "TMPDIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
)
"""The only variables of the caller's environment the ingestion process inherits."""

REDACTED = "******"


def metis_python() -> Path | None:
    """The interpreter of the scanner environment, or ``None`` when it is not installed.

    ``$DATAOS_METIS_PYTHON`` when set (an image or a custom location), else
    ``.venv-metis/bin/python`` next to the project.
    """
    explicit = os.environ.get(METIS_PYTHON_VARIABLE)
    candidate = Path(explicit) if explicit else DEFAULT_METIS_VENV / "bin" / "python"
    return candidate if candidate.is_file() else None


def metis_host_port(api_url: str) -> str:
    """The ``hostPort`` the OpenMetadata client wants for a platform API URL.

    The client appends ``/v1``: ``http://127.0.0.1:7400`` → ``http://127.0.0.1:7400/metis/api``.
    """
    return api_url.rstrip("/") + "/metis/api"


class ScannerConfigError(ValueError):
    """The typed inputs cannot make a workflow configuration (an option the kind lacks)."""


class WorkflowKind(StrEnum):
    """The four database workflows of the scanner, as OpenMetadata names their configs."""

    METADATA = "DatabaseMetadata"
    LINEAGE = "DatabaseLineage"
    USAGE = "DatabaseUsage"
    PROFILER = "Profiler"


_COMMAND = {
    WorkflowKind.METADATA: "ingest",
    WorkflowKind.LINEAGE: "ingest",
    WorkflowKind.USAGE: "usage",
    WorkflowKind.PROFILER: "profile",
}
_SOURCE_SUFFIX = {
    WorkflowKind.METADATA: "",
    WorkflowKind.LINEAGE: "-lineage",
    WorkflowKind.USAGE: "-usage",
    WorkflowKind.PROFILER: "",
}
_FILTERS = ("databaseFilterPattern", "schemaFilterPattern", "tableFilterPattern")
_ACCEPTED: dict[WorkflowKind, frozenset[str]] = {
    WorkflowKind.METADATA: frozenset(
        {*_FILTERS, "markDeletedTables", "includeViews", "includeTags", "includeStoredProcedures"}
    ),
    WorkflowKind.LINEAGE: frozenset(_FILTERS),
    WorkflowKind.USAGE: frozenset(),
    WorkflowKind.PROFILER: frozenset({*_FILTERS, "includeViews"}),
}
"""The typed options each kind's sourceConfig accepts (2.0.7's models are extra='forbid')."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FilterPattern(_Frozen):
    """OpenMetadata's ``{includes, excludes}`` regex lists."""

    includes: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()

    def as_config(self) -> dict[str, list[str]]:
        config: dict[str, list[str]] = {}
        if self.includes:
            config["includes"] = list(self.includes)
        if self.excludes:
            config["excludes"] = list(self.excludes)
        return config


class ScannerSource(_Frozen):
    """What to scan, as the scanner stackSpec says it (DATAOS_CONTRACT §2), typed.

    ``connector`` is OpenMetadata's source name (``postgres``, ``trino``, ``query-log`` …); the
    kind adds its suffix (``postgres-lineage``, ``postgres-usage``). ``service_connection`` is
    ``serviceConnection.config`` (``{"type": "Postgres", "username": …, "authType":
    {"password": SecretStr(…)}, …}``): every ``SecretStr`` in it is a credential and reaches
    the process through its environment only. ``None`` reads the connection the service
    already holds in Metis (lineage, usage and profiler can). Options left ``None`` keep
    OpenMetadata's defaults; ``options`` adds other ``sourceConfig.config`` keys as they are
    (``queryLogDuration``, ``resultLimit``, ``queryLogFilePath``, ``profileSampleConfig`` …).
    """

    kind: WorkflowKind = WorkflowKind.METADATA
    connector: str
    service_name: str
    service_connection: Mapping[str, Any] | None = None
    database_filter: FilterPattern | None = None
    schema_filter: FilterPattern | None = None
    table_filter: FilterPattern | None = None
    mark_deleted_tables: bool | None = None
    include_views: bool | None = None
    include_tags: bool | None = None
    include_stored_procedures: bool | None = None
    options: Mapping[str, Any] = {}

    def source_config(self) -> dict[str, Any]:
        typed: dict[str, Any] = {
            "databaseFilterPattern": self.database_filter,
            "schemaFilterPattern": self.schema_filter,
            "tableFilterPattern": self.table_filter,
            "markDeletedTables": self.mark_deleted_tables,
            "includeViews": self.include_views,
            "includeTags": self.include_tags,
            "includeStoredProcedures": self.include_stored_procedures,
        }
        given = {key: value for key, value in typed.items() if value is not None}
        refused = sorted(set(given) - _ACCEPTED[self.kind])
        if refused:
            raise ScannerConfigError(
                f"a {self.kind.value} workflow has no {', '.join(refused)}"
                f" (it accepts: {', '.join(sorted(_ACCEPTED[self.kind])) or 'none of them'})"
            )
        config: dict[str, Any] = {"type": self.kind.value}
        for key, value in given.items():
            config[key] = value.as_config() if isinstance(value, FilterPattern) else value
        clashing = sorted(set(self.options) & (set(typed) | {"type"}))
        if clashing:
            raise ScannerConfigError(f"options repeat typed fields: {', '.join(clashing)}")
        config.update(self.options)
        return config


class MetisServer(_Frozen):
    """Where the ingestion sends metadata: the platform API and the scanner's API key."""

    api_url: str
    token: SecretStr
    verify_version: bool = True
    """``False`` sets ``enableVersionValidation: false`` (a server of another major.minor)."""


@dataclass(frozen=True)
class PreparedWorkflow:
    """A configuration without any secret in it, and the secrets it refers to."""

    command: str
    config: dict[str, Any]
    secrets: dict[str, str] = field(repr=False)
    """Placeholder variable → the secret's value."""

    def config_text(self) -> str:
        """The JSON the process reads: ``$`` of the config's own strings escaped as ``\\u0024``
        so that the loader's ``os.path.expandvars`` expands the placeholders only."""
        text = json.dumps(self.config, indent=1, ensure_ascii=True).replace("$", "\\u0024")
        for variable in self.secrets:
            text = text.replace(json.dumps(_placeholder(variable)), f'"${{{variable}}}"')
        return text

    def environment(self) -> dict[str, str]:
        """The placeholders' values as the JSON text needs them (escaped, without quotes)."""
        return {
            variable: json.dumps(value, ensure_ascii=True)[1:-1]
            for variable, value in self.secrets.items()
        }

    def redact(self, text: str) -> str:
        """``text`` with every secret (raw and JSON-escaped) replaced by ``******``."""
        forms = {form for value in self.secrets.values() for form in _forms(value)}
        for form in sorted(forms, key=len, reverse=True):
            text = text.replace(form, REDACTED)
        return text


def _placeholder(variable: str) -> str:
    """A marker no real value contains (NUL is not allowed in connection settings)."""
    return f"\x00{variable}\x00"


def _forms(secret: str) -> Iterable[str]:
    """The ways a secret shows in output: as is, JSON-escaped, URL-encoded (a database URL)."""
    if secret:
        yield secret
        yield json.dumps(secret, ensure_ascii=True)[1:-1]
        yield json.dumps(secret, ensure_ascii=False)[1:-1]
        yield quote(secret, safe="")
        yield quote_plus(secret, safe="")


def _hide_secrets(value: Any, secrets: dict[str, str]) -> Any:
    """A copy of ``value`` whose ``SecretStr`` leaves are replaced by placeholder markers."""
    if isinstance(value, SecretStr):
        number = sum(name.startswith(SECRET_VARIABLE_PREFIX) for name in secrets) + 1
        variable = f"{SECRET_VARIABLE_PREFIX}{number}"
        secrets[variable] = value.get_secret_value()
        return _placeholder(variable)
    if isinstance(value, Mapping):
        return {str(key): _hide_secrets(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_hide_secrets(item, secrets) for item in value]
    return value


def prepare(
    source: ScannerSource,
    server: MetisServer,
    work_dir: Path,
    *,
    logger_level: str = "INFO",
) -> PreparedWorkflow:
    """The workflow configuration of ``source`` against ``server`` (pure; no I/O).

    ``work_dir`` is where the usage workflow stages its files.
    """
    secrets: dict[str, str] = {TOKEN_VARIABLE: server.token.get_secret_value()}
    source_type = f"{source.connector}{_SOURCE_SUFFIX[source.kind]}"
    source_block: dict[str, Any] = {"type": source_type, "serviceName": source.service_name}
    if source.service_connection is not None:
        source_block["serviceConnection"] = {
            "config": _hide_secrets(source.service_connection, secrets)
        }
    source_block["sourceConfig"] = {"config": source.source_config()}
    server_config: dict[str, Any] = {
        "hostPort": metis_host_port(server.api_url),
        "authProvider": "openmetadata",
        "securityConfig": {"jwtToken": _placeholder(TOKEN_VARIABLE)},
    }
    if not server.verify_version:
        server_config["enableVersionValidation"] = False
    config: dict[str, Any] = {"source": source_block}
    if source.kind is WorkflowKind.USAGE:
        stage = str(work_dir / "usage-stage")
        config["processor"] = {"type": "query-parser", "config": {}}
        config["stage"] = {"type": "table-usage", "config": {"filename": stage}}
        config["bulkSink"] = {"type": "metadata-usage", "config": {"filename": stage}}
    else:
        if source.kind is WorkflowKind.PROFILER:
            config["processor"] = {"type": "orm-profiler", "config": {}}
        config["sink"] = {"type": "metadata-rest", "config": {}}
    config["workflowConfig"] = {
        "loggerLevel": logger_level,
        "openMetadataServerConfig": server_config,
    }
    return PreparedWorkflow(_COMMAND[source.kind], config, secrets)


# --- running it -----------------------------------------------------------------------------


def _child_environment(prepared: PreparedWorkflow) -> dict[str, str]:
    env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    env.setdefault("PATH", os.defpath)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONWARNINGS"] = "ignore"
    env.update(prepared.environment())
    return env


def run(
    prepared: PreparedWorkflow,
    *,
    work_dir: Path | None = None,
    python: Path | None = None,
    timeout: float = 3600,
    tail_lines: int = 400,
    line_limit: int = 4000,
) -> IngestionResult:
    """Run the prepared workflow in the scanner environment and wait for it.

    The configuration is written to ``work_dir`` (a temporary folder by default, removed
    afterwards) with mode 0600. A run past ``timeout`` seconds has its whole process group
    killed. ``tail_lines`` lines of output (each cut at ``line_limit`` characters) are kept.
    """
    interpreter = python or metis_python()
    if interpreter is None:
        raise FileNotFoundError(
            f"the scanner environment is missing: no {DEFAULT_METIS_VENV}/bin/python and no"
            f" ${METIS_PYTHON_VARIABLE}; run `make install-metis`"
        )
    with tempfile.TemporaryDirectory(prefix="dataos-scanner-") as scratch:
        folder = work_dir or Path(scratch)
        config_file = folder / "workflow.json"
        descriptor = os.open(config_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(prepared.config_text())
        return _execute(
            prepared,
            [str(interpreter), "-m", "metadata", prepared.command, "-c", str(config_file)],
            cwd=folder,
            timeout=timeout,
            tail_lines=tail_lines,
            line_limit=line_limit,
        )


def _execute(
    prepared: PreparedWorkflow,
    argv: list[str],
    *,
    cwd: Path,
    timeout: float,
    tail_lines: int,
    line_limit: int,
) -> IngestionResult:
    started = time.monotonic()
    tail: deque[str] = deque(maxlen=tail_lines)
    summary = Summary()
    process = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=_child_environment(prepared),
        cwd=cwd,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,
    )

    def drain() -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            line = plain(raw.rstrip("\n"))
            summary.feed(line)
            tail.append(line if len(line) <= line_limit else line[:line_limit] + " …")

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    timed_out = False
    try:
        exit_code: int | None = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        exit_code = None
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    reader.join(timeout=10)
    return IngestionResult(
        command=prepared.command,
        exit_code=exit_code,
        timed_out=timed_out,
        seconds=round(time.monotonic() - started, 3),
        steps=tuple(summary.steps),
        success_pct=summary.success_pct,
        output=prepared.redact("\n".join(tail)),
    )
