"""Depot: a typed connection to a data source, addressed by UDL (DATAOS_CONTRACT §3).

Two generations are accepted. v1 writes the connection under ``depot.spec`` and the
credentials inline in ``connectionSecret``; v2alpha writes the connection under a key named
after the type (``depot.postgresql``) and references instance-secrets in ``secrets``.

Extension (not in DataOS): ``depot.datasets`` declares the description and tags of datasets
and their columns until a catalog (Metis) holds them; column tags drive data policies
(``PII.Email`` selects the email mask). ``datasets: [{collection: shop, dataset: customers,
columns: [{name: email, tags: [PII.Email]}]}]``. Names compare case-insensitively; declaring
a dataset or a column twice is an error.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from contextvars import ContextVar
from typing import Annotated, Any, ClassVar, Literal, cast

from pydantic import (
    Field,
    ModelWrapValidatorHandler,
    SerializeAsAny,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapValidator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from dataos_defs.manifest.base import (
    DEFAULT_WORKSPACE,
    Level,
    Problem,
    Reference,
    ResourceBase,
    StrictModel,
    StrictName,
)
from dataos_defs.manifest.common import DataosSecret
from dataos_defs.manifest.depot_datasets import DepotDataset, dataset_problems
from dataos_defs.manifest.depot_types import (
    BLOCK_KEYS,
    DEPOT_KINDS,
    AzureConnection,
    BigqueryConnection,
    Connection,
    DepotKind,
    DepotType,
    EventhubConnection,
    FileConnection,
    GcsConnection,
    JdbcConnection,
    KafkaConnection,
    LakehouseConnection,
    MongodbConnection,
    MssqlConnection,
    MysqlConnection,
    OracleConnection,
    PostgresConnection,
    PulsarConnection,
    RedshiftConnection,
    S3Connection,
    SearchConnection,
    SnowflakeConnection,
    TrinoConnection,
)
from dataos_defs.manifest.secret import SecretType, SecretValue
from dataos_defs.manifest.source import KeyPath

# ``depot.spec`` is validated with the model of ``depot.type``; the type is only known to the
# enclosing section, which publishes it here while its fields are being validated.
_DEPOT_TYPE: ContextVar[str | None] = ContextVar("depot_type", default=None)


def _validate_spec(value: Any, _: ValidatorFunctionWrapHandler) -> Any:
    kind_name = _DEPOT_TYPE.get() or ""
    kind = DEPOT_KINDS.get(kind_name)
    if value is None or kind is None:
        return None  # an unknown depot.type is reported on depot.type itself
    if isinstance(value, kind.model):
        return value
    try:
        return kind.model.model_validate(value)
    except ValidationError as exc:
        raise _with_allowed_keys(exc, kind, kind_name) from None


def _with_allowed_keys(exc: ValidationError, kind: DepotKind, kind_name: str) -> ValidationError:
    """Unknown keys of ``spec`` are explained against the fields of the depot's own type."""
    allowed = [field.alias or name for name, field in kind.model.model_fields.items()]
    details: list[InitErrorDetails] = []
    for err in exc.errors():
        if err["type"] != "extra_forbidden":
            details.append(cast(InitErrorDetails, err))
            continue
        key = str(err["loc"][-1])
        close = difflib.get_close_matches(key, allowed, n=1)
        hint = f"did you mean '{close[0]}'?" if close else "allowed: " + ", ".join(allowed)
        message = f"unknown field '{key}' for depot type {kind_name} ({hint})"
        details.append(
            InitErrorDetails(
                type=PydanticCustomError("value_error", "{error}", {"error": message}),
                loc=err["loc"],
                input={key: err["input"]},
            )
        )
    return ValidationError.from_exception_data(exc.title, details)


_SPEC_SCHEMA: dict[str, Any] = {
    "anyOf": [{"type": "object"}, {"type": "null"}],
    "description": "v1 connection details; the keys depend on depot.type (see the "
    "section named after the type, e.g. 'postgresql', for the same fields)",
}


class ConnectionSecret(StrictModel):
    """v1 inline credentials; ``acl`` picks the set a UDL's ``?acl=r|rw`` uses."""

    acl: Literal["r", "rw"]
    type: SecretType | None = None
    data: dict[str, SecretValue] | None = None
    files: dict[str, str] | None = None
    values: dict[str, SecretValue] | None = None


class DepotSection(StrictModel):
    type: DepotType
    name: str | None = Field(default=None, description="Repeats the Resource name (optional)")
    description: str | None = None
    external: bool = False
    source: str | None = Field(default=None, description="Metis source name; default the depot")
    compute: str | None = None
    hiveSync: bool | None = None
    spec: Annotated[
        SerializeAsAny[Connection] | None,
        WrapValidator(_validate_spec),
        WithJsonSchema(_SPEC_SCHEMA),
    ] = None
    connectionSecret: list[ConnectionSecret] | None = None
    secrets: list[DataosSecret] | None = Field(
        default=None, description="v2alpha references to instance-secrets"
    )
    dataosSecrets: list[DataosSecret] | None = Field(
        default=None, description="v1 references to workspace Secrets (older docs)"
    )
    jdbc: JdbcConnection | None = None
    postgresql: PostgresConnection | None = None
    postgres: PostgresConnection | None = None
    mysql: MysqlConnection | None = None
    mssql: MssqlConnection | None = None
    oracle: OracleConnection | None = None
    redshift: RedshiftConnection | None = None
    s3: S3Connection | None = None
    gcs: GcsConnection | None = None
    abfss: AzureConnection | None = None
    wasbs: AzureConnection | None = None
    snowflake: SnowflakeConnection | None = None
    bigquery: BigqueryConnection | None = None
    kafka: KafkaConnection | None = None
    pulsar: PulsarConnection | None = None
    eventhub: EventhubConnection | None = None
    mongodb: MongodbConnection | None = None
    elasticsearch: SearchConnection | None = None
    opensearch: SearchConnection | None = None
    file: FileConnection | None = None
    lakehouse: LakehouseConnection | None = None
    iceberg: LakehouseConnection | None = None
    trino: TrinoConnection | None = None
    datasets: list[DepotDataset] | None = Field(
        default=None,
        description="Extension: descriptions and tags of datasets and columns (until Metis)",
    )

    @model_validator(mode="wrap")
    @classmethod
    def _publish_type(
        cls, data: Any, handler: ModelWrapValidatorHandler[DepotSection]
    ) -> DepotSection:
        raw = data.get("type") if isinstance(data, dict) else None
        token = _DEPOT_TYPE.set(raw.upper() if isinstance(raw, str) else None)
        try:
            return handler(data)
        finally:
            _DEPOT_TYPE.reset(token)

    @property
    def kind(self) -> DepotKind:
        return DEPOT_KINDS[self.type]

    def blocks(self) -> dict[str, Connection]:
        """The connection sections written, by key (``spec`` included)."""
        found = {key: getattr(self, key) for key in ("spec", *BLOCK_KEYS)}
        return {key: value for key, value in found.items() if isinstance(value, Connection)}

    @property
    def connection(self) -> Connection | None:
        """The connection details, wherever they were written."""
        blocks = self.blocks()
        return next(iter(blocks.values()), None)


class Depot(ResourceBase):
    KIND: ClassVar[str] = "depot"
    LEVEL: ClassVar[Level] = "instance"
    name: StrictName
    type: Literal["depot"]
    version: Literal["v1", "v2alpha"]
    depot: DepotSection

    def references(self) -> list[Reference]:
        found = [
            Reference("instance-secret", secret.name, None, ("depot", "secrets", index, "name"))
            for index, secret in enumerate(self.depot.secrets or [])
        ]
        found.extend(
            Reference(
                "secret",
                secret.name,
                secret.workspace or DEFAULT_WORKSPACE,
                ("depot", "dataosSecrets", index, "name"),
            )
            for index, secret in enumerate(self.depot.dataosSecrets or [])
        )
        return found

    def secret_paths(self) -> list[KeyPath]:
        paths: list[KeyPath] = []
        for index, credentials in enumerate(self.depot.connectionSecret or []):
            for part in ("data", "files", "values"):
                values: dict[str, str] = getattr(credentials, part) or {}
                paths.extend(("depot", "connectionSecret", index, part, key) for key in values)
        return paths

    def problems(self) -> list[Problem]:
        return [problem for check in _CHECKS for problem in check(self)]

    def column_tags(self) -> dict[str, dict[str, list[str]]]:
        """Declared column tags: ``depot.collection.dataset`` -> column -> tags, all lower
        case, the shape ``heimdall.trino_data.compile_column_tags`` takes."""
        found = {self._dataset_id(d): d.column_tags() for d in self.depot.datasets or []}
        return {dataset: columns for dataset, columns in found.items() if columns}

    def dataset_tags(self) -> dict[str, list[str]]:
        """Declared dataset tags: ``depot.collection.dataset`` (lower case) -> tags."""
        datasets = self.depot.datasets or []
        return {self._dataset_id(d): list(d.tags) for d in datasets if d.tags}

    def _dataset_id(self, dataset: DepotDataset) -> str:
        return f"{self.name}.{dataset.collection}.{dataset.dataset}".lower()


def _connection_problems(depot: Depot) -> list[Problem]:
    section = depot.depot
    kind = section.kind
    blocks = section.blocks()
    problems: list[Problem] = []
    for key in blocks:
        if key != "spec" and key not in kind.keys:
            problems.append(
                Problem(
                    ("depot", key),
                    f"depot type {section.type} takes its connection details under "
                    f"'{kind.key}', not '{key}'",
                    f"rename '{key}' to '{kind.key}' or change depot.type",
                )
            )
    if "spec" in blocks and depot.version == "v2alpha":
        problems.append(
            Problem(
                ("depot", "spec"),
                f"v2alpha depots write their connection details under '{kind.key}', not 'spec'",
                f"rename 'spec' to '{kind.key}', or use version v1",
            )
        )
    if len(blocks) > 1:
        later = list(blocks)[1:]
        first = next(iter(blocks))
        problems.extend(
            Problem(
                ("depot", key),
                f"connection details given twice ('{first}' and '{key}')",
                "keep one of them",
            )
            for key in later
        )
    if not blocks and kind.needs_connection:
        where = kind.key if depot.version == "v2alpha" else f"spec (or depot.{kind.key})"
        problems.append(
            Problem(
                ("depot",),
                f"depot type {section.type} needs connection details",
                f"add them under depot.{where}",
            )
        )
    return problems


def _secret_problems(depot: Depot) -> list[Problem]:
    section = depot.depot
    problems: list[Problem] = []
    if depot.version == "v2alpha" and section.connectionSecret:
        problems.append(
            Problem(
                ("depot", "connectionSecret"),
                "v2alpha depots reference instance-secrets instead of inline credentials",
                "create instance-secrets <depot>-r and <depot>-rw and list them under "
                "depot.secrets, or use version v1",
            )
        )
    seen: dict[str, int] = {}
    for index, credentials in enumerate(section.connectionSecret or []):
        if credentials.acl in seen:
            problems.append(
                Problem(
                    ("depot", "connectionSecret", index, "acl"),
                    f"a second credential set for acl '{credentials.acl}'",
                    f"the first is connectionSecret[{seen[credentials.acl]}]; keep one per acl",
                )
            )
        seen.setdefault(credentials.acl, index)
        if not (credentials.data or credentials.files or credentials.values):
            problems.append(
                Problem(
                    ("depot", "connectionSecret", index),
                    "a credential set needs 'data', 'files' or 'values'",
                )
            )
    return problems


def _name_problems(depot: Depot) -> list[Problem]:
    if depot.depot.name is not None and depot.depot.name != depot.name:
        return [
            Problem(
                ("depot", "name"),
                f"depot.name '{depot.depot.name}' differs from the Resource name '{depot.name}'",
                "remove depot.name or make it equal",
            )
        ]
    return []


def _dataset_problems(depot: Depot) -> list[Problem]:
    return dataset_problems(depot.depot.datasets or [])


_CHECKS: tuple[Callable[[Depot], list[Problem]], ...] = (
    _connection_problems,
    _secret_problems,
    _name_problems,
    _dataset_problems,
)
