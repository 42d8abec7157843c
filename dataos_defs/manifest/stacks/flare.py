"""``stackSpec`` of the ``flare`` stack: declarative Spark jobs (inputs -> SQL steps -> outputs)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator
from pydantic_core import InitErrorDetails

from dataos_defs.manifest.base import Problem, Reference, StrictModel
from dataos_defs.manifest.source import KeyPath
from dataos_defs.manifest.stacks._fields import (
    LogLevel,
    OpenMap,
    StackSpecBase,
    choice_hint,
    error,
    fail,
    lower,
)
from dataos_defs.manifest.stacks.flare_connectors import ConnectorName, Connectors
from dataos_defs.manifest.stacks.flare_parts import (
    Action,
    Assertion,
    ColumnTag,
    Command,
    Function,
    Incremental,
    OutputOptions,
    Profile,
    Sizing,
    Streaming,
)
from dataos_defs.manifest.udl import Udl, UdlStr

Format = Annotated[
    Literal[
        "iceberg",
        "jdbc",
        "parquet",
        "csv",
        "json",
        "orc",
        "avro",
        "delta",
        "text",
        "xml",
        "xlsx",
        "bigquery",
        "kafka",
        "kafkajson",
        "kafkaavro",
        "pulsar",
        "eventhub",
        "elasticsearch",
        "opensearch",
        "mongodb",
        "snowflake",
        "redshift",
    ],
    BeforeValidator(lower),
]
"""Data formats Flare reads and writes; written in any case (``Iceberg``, ``CSV``)."""

ConnectorType = Annotated[ConnectorName, BeforeValidator(lower)]


def _connector_errors(item: Connectors, declared: str | None, key: str) -> list[InitErrorDetails]:
    names = item.connector_names
    noun = key.removesuffix("Type")
    errors = [
        error((n,), f"only one connector block per {noun}; also given: {names[0]}")
        for n in names[1:]
    ]
    if declared is not None and declared not in names:
        errors.append(error((key,), f"{key} '{declared}' needs a '{declared}:' block", declared))
    return errors


class Input(Connectors):
    """A dataset (UDL) or a query, read into a view named ``name``."""

    name: str = Field(min_length=1)
    dataset: UdlStr | None = None
    query: str | None = None
    format: Format = "iceberg"
    options: OpenMap | None = None
    incremental: Incremental | None = None
    schemaPath: str | None = None
    schema_: str | None = Field(default=None, alias="schema", description="Spark struct JSON")
    schemaType: str | None = None
    schemaString: str | None = None
    schemaSubject: str | None = None
    schemaId: int | str | None = None
    isStream: bool | None = None
    inputType: ConnectorType | None = None
    cluster: str | None = None
    connectionProps: OpenMap | None = None

    @model_validator(mode="after")
    def _source(self) -> Input:
        errors = _connector_errors(self, self.inputType, "inputType")
        if self.dataset is not None and self.query is not None:
            errors.append(error((), "give either 'dataset' or 'query', not both"))
        elif self.dataset is None and self.query is None and not self.connector_names:
            errors.append(error((), "an input needs 'dataset' (a UDL) or 'query' (SQL)"))
        if errors:
            fail(errors)
        return self

    @property
    def cluster_name(self) -> tuple[str, tuple[str, ...]] | None:
        """The cluster running ``query`` (``cluster`` or ``options.cluster``) and its key path."""
        if self.cluster:
            return self.cluster, ("cluster",)
        value = (self.options or {}).get("cluster")
        return (str(value), ("options", "cluster")) if value else None


class Output(Connectors):
    """Writes the view ``name`` to ``dataset``; a collection-level address gets ``/name``."""

    name: str = Field(min_length=1)
    dataset: UdlStr | None = None
    format: Format | None = None
    title: str | None = None
    description: str | None = None
    tags: list[str] | None = None
    driver: str | None = None
    isStream: bool | None = None
    checkpointLocation: str | None = None
    outputType: ConnectorType | None = None
    options: OutputOptions | None = None
    assertions: list[Assertion] | None = None
    columnTags: list[ColumnTag] | None = None

    @model_validator(mode="after")
    def _sink(self) -> Output:
        errors = _connector_errors(self, self.outputType, "outputType")
        if self.dataset is None and not self.connector_names:
            errors.append(
                error(
                    (),
                    "an output needs 'dataset' (a UDL such as "
                    "dataos://lakehouse:sales/orders?acl=rw)",
                )
            )
        elif self.dataset is not None and Udl.parse(self.dataset).collection is None:
            errors.append(
                error(
                    ("dataset",),
                    "an output address names at least depot and "
                    "collection, e.g. dataos://lakehouse:sales",
                    self.dataset,
                )
            )
        if errors:
            fail(errors)
        return self

    @property
    def address(self) -> str | None:
        """The written dataset without ``?acl``; collection-level addresses append ``name``."""
        if self.dataset is None:
            return None
        udl = Udl.parse(self.dataset)
        return udl.address if udl.dataset else f"{udl.address}/{self.name}"


class SequenceStep(StrictModel):
    """One view: ``sql`` or ``sqlFile``, optionally followed by ``functions``."""

    name: str = Field(min_length=1)
    doc: str | None = None
    sql: str | None = None
    sqlFile: str | None = None
    classpath: str | None = None
    functions: list[Function] | None = None
    commands: list[Command] | None = None

    @model_validator(mode="after")
    def _body(self) -> SequenceStep:
        if self.sql is not None and self.sqlFile is not None:
            fail(error(("sqlFile",), "give either 'sql' or 'sqlFile', not both"))
        if (
            self.sql is None
            and self.sqlFile is None
            and not (self.functions or self.classpath or self.commands)
        ):
            fail(error((), "a step needs 'sql' or 'sqlFile' (or only 'functions')"))
        return self


class Step(StrictModel):
    sequence: list[SequenceStep] = Field(min_length=1)


class FlareJob(StrictModel):
    explain: bool | None = None
    logLevel: LogLevel | None = None
    showPreviewLines: int | None = Field(default=None, ge=0)
    inputs: list[Input] = Field(min_length=1)
    steps: list[Step] | None = None
    outputs: list[Output] | None = None
    assertions: list[Assertion] | None = None
    actions: list[Action] | None = None
    streaming: Streaming | None = None
    profile: Profile | None = None
    variables: OpenMap | None = None
    udfs: OpenMap | None = None


class FlareSpec(StackSpecBase):
    driver: Sizing | None = None
    executor: Sizing | None = None
    sparkConf: list[OpenMap] | OpenMap | None = None
    job: FlareJob

    @property
    def spark_conf(self) -> dict[str, Any]:
        """``sparkConf`` merged into one mapping (a list of one-key maps is also accepted)."""
        if isinstance(self.sparkConf, list):
            return {k: v for item in self.sparkConf for k, v in item.items()}
        return dict(self.sparkConf or {})

    def views(self) -> dict[str, tuple[str | int, ...]]:
        """Names a step or output may read -> key path (relative to the spec) defining it."""
        found: dict[str, tuple[str | int, ...]] = {}
        for i, item in enumerate(self.job.inputs):
            found.setdefault(item.name, ("job", "inputs", i, "name"))
        for i, step in enumerate(self.job.steps or []):
            for j, seq in enumerate(step.sequence):
                found.setdefault(seq.name, ("job", "steps", i, "sequence", j, "name"))
        return found

    def problems(self, path: KeyPath) -> list[Problem]:
        out: list[Problem] = []
        views = self.views()
        for i, output in enumerate(self.job.outputs or []):
            if output.name not in views:
                out.append(
                    Problem(
                        (*path, "job", "outputs", i, "name"),
                        f"output '{output.name}' names no input or step",
                        choice_hint(output.name, views),
                    )
                )
        inputs = [item.name for item in self.job.inputs]
        for i, action in enumerate(self.job.actions or []):
            if action.input not in inputs:
                out.append(
                    Problem(
                        (*path, "job", "actions", i, "input"),
                        f"action input '{action.input}' is not an input of this job",
                        choice_hint(action.input, inputs),
                    )
                )
        return out

    def references(self, path: KeyPath) -> list[Reference]:
        refs: list[Reference] = []
        for i, item in enumerate(self.job.inputs):
            at = (*path, "job", "inputs", i)
            if item.dataset is not None:
                refs.append(_depot(item.dataset, (*at, "dataset")))
            if item.cluster_name is not None:
                name, key = item.cluster_name
                refs.append(Reference("cluster", name, None, (*at, *key)))
        for i, output in enumerate(self.job.outputs or []):
            if output.dataset is not None:
                refs.append(_depot(output.dataset, (*path, "job", "outputs", i, "dataset")))
        return refs

    def consumed_datasets(self, path: KeyPath) -> list[tuple[str, KeyPath]]:
        return [
            (Udl.parse(item.dataset).address, (*path, "job", "inputs", i, "dataset"))
            for i, item in enumerate(self.job.inputs)
            if item.dataset is not None
        ]

    def produced_datasets(self, path: KeyPath) -> list[tuple[str, KeyPath]]:
        return [
            (output.address, (*path, "job", "outputs", i, "dataset"))
            for i, output in enumerate(self.job.outputs or [])
            if output.address is not None
        ]


def _depot(dataset: str, path: KeyPath) -> Reference:
    return Reference("depot", Udl.parse(dataset).depot, None, path)
