"""Field types shared by several Resource types: cron, stacks, the runtime ``spec``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import (
    AfterValidator,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, InitErrorDetails

from dataos_defs.manifest.base import Problem, Reference, Scalar, StrictModel
from dataos_defs.manifest.source import KeyPath
from dataos_defs.manifest.stacks import (
    STACK_SPECS,
    StackSpecBase,
    StackSpecValue,
    validate_stack_spec,
)
from dataos_defs.manifest.stacks._fields import (
    LogLevel,
    Quantity,
    Text,
    error,
    fail,
    passthrough,
)

_STACK = re.compile(
    r"^(?P<name>[a-z][a-z0-9-]*)(?:\+(?P<flavor>[a-z0-9-]+))?(?::(?P<version>[A-Za-z0-9.\-]+))?$"
)


def _cron(value: str) -> str:
    fields = value.split()
    if len(fields) != 5:
        raise ValueError(
            f"cron '{value}' has {len(fields)} fields; DataOS schedules use 5 "
            "(minute hour day-of-month month day-of-week)"
        )
    if not croniter.is_valid(value):
        raise ValueError(f"'{value}' is not a valid cron expression")
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone '{value}' (e.g. 'UTC', 'Asia/Kolkata')") from exc
    return value


def _iso_datetime(value: str) -> str:
    try:
        datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(
            f"'{value}' is not an ISO-8601 date-time such as 2025-12-31T23:59:00Z"
        ) from exc
    return value


def _stack(value: str) -> str:
    StackRef.parse(value)
    return value


Cron = Annotated[str, AfterValidator(_cron)]
TimeZone = Annotated[str, AfterValidator(_timezone)]
IsoDateTime = Annotated[str, AfterValidator(_iso_datetime)]
StackString = Annotated[str, AfterValidator(_stack)]


@dataclass(frozen=True)
class StackRef:
    """``name[+flavor][:version]`` as written in ``spec.stack``."""

    name: str
    flavor: str | None
    version: str | None

    @classmethod
    def parse(cls, text: str) -> StackRef:
        match = _STACK.match(text.strip())
        if not match:
            raise ValueError(
                f"'{text}' is not a stack: expected name[+flavor][:version], e.g. flare:7.0"
            )
        return cls(match.group("name"), match.group("flavor"), match.group("version"))


def stack_name(value: object) -> str | None:
    """The stack name of a ``stack`` value, or None when it is not a valid stack."""
    if not isinstance(value, str):
        return None
    try:
        return StackRef.parse(value).name
    except ValueError:
        return None


class ResourceAmounts(StrictModel):
    cpu: Quantity | None = None
    memory: Quantity | None = None
    gpu: Quantity | None = Field(default=None, alias="nvidia.com/gpu")


class Resources(StrictModel):
    """Kubernetes requests and limits for a job's pod."""

    requests: ResourceAmounts | None = None
    limits: ResourceAmounts | None = None


class DataosSecret(StrictModel):
    """A Secret consumed by a job, service or worker (``spec.dataosSecrets``)."""

    name: str
    workspace: str | None = None
    key: str | None = None
    keys: list[str] | None = None
    allKeys: bool | None = None
    allkeys: bool | None = None
    consumptionType: Literal["envVars", "propfile", "propFile", "file"] | None = None


class DataosVolume(StrictModel):
    name: str
    directory: str
    readOnly: bool | None = None
    subPath: str | None = None


class TempVolume(StrictModel):
    name: str | None = None
    directory: str | None = None
    size: Quantity | None = None
    readOnly: bool | None = None
    subPath: str | None = None


class TopologyNode(StrictModel):
    name: str
    type: str
    doc: str | None = None
    dependencies: list[str] | None = None
    properties: dict[str, Any] | None = None


class Retry(StrictModel):
    """Retries of a failed job; ``strategy`` decides which failures are retried."""

    count: int = Field(default=0, ge=0, le=100)
    strategy: Literal["Always", "OnFailure", "OnError", "OnTransientError"] = "OnFailure"
    duration: Text | None = None
    maxDuration: Text | None = None


class AutoScaling(StrictModel):
    """Horizontal pod autoscaling of a service or worker."""

    enabled: bool = True
    minReplicas: int = Field(default=1, ge=0)
    maxReplicas: int | None = Field(default=None, ge=1)
    targetMemoryUtilizationPercentage: int | None = Field(default=None, ge=1)
    targetCPUUtilizationPercentage: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _bounds(self) -> AutoScaling:
        if self.maxReplicas is not None and self.maxReplicas < self.minReplicas:
            fail(
                error(
                    ("maxReplicas",),
                    f"maxReplicas ({self.maxReplicas}) is below minReplicas ({self.minReplicas})",
                    self.maxReplicas,
                )
            )
        return self


class HighAvailabilityConfig(StrictModel):
    """How replicas spread across hosts, zones or regions."""

    level: Literal["hostname", "zone", "region"] | None = None
    mode: Literal["preferred", "required"] | None = None
    tags: list[str] | None = None


def _relocate(err: ErrorDetails, key: str) -> InitErrorDetails:
    """An error under ``stackSpec`` re-addressed to the legacy key it was written under."""
    moved = passthrough(err)
    loc = tuple(err["loc"])
    if loc[:1] == ("stackSpec",):
        moved["loc"] = (key, *loc[1:])
    return moved


def _misplaced(key: str, data: dict[str, Any]) -> InitErrorDetails:
    message = (
        f"'{key}:' would hold the spec of the {key} stack, but this spec runs "
        f"'{data.get('stack')}'; write the stack's configuration under 'stackSpec'"
    )
    return error((key,), message, data[key])


def env_text(value: object) -> str:
    """An ``envs`` or secret value as a process sees it: YAML booleans as ``true``/``false``,
    numbers as written, null as empty.

    >>> [env_text(v) for v in (True, 8080, None, "x")]
    ['true', '8080', '', 'x']
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


class RuntimeSpec(StrictModel):
    """Runtime fields shared by workflow jobs, services and workers (DATAOS_CONTRACT §2).

    The stack's own configuration sits in ``stackSpec`` (or, in older manifests, under a
    key named after the stack, such as ``flare:``) and is typed by the stack's name.
    """

    stack: StackString
    compute: str = "runnable-default"
    stackSpec: StackSpecValue | None = None
    logLevel: LogLevel | None = None
    configs: dict[str, Any] | None = None
    envs: dict[str, Scalar | None] | None = None
    secrets: list[str] | None = None
    dataosSecrets: list[DataosSecret] | None = None
    dataosVolumes: list[DataosVolume] | None = None
    tempVolume: TempVolume | str | None = None
    persistentVolume: DataosVolume | None = None
    resources: Resources | None = None
    dryRun: bool = False
    runAsUser: str | None = None
    runAsApiKey: str | None = None
    topology: list[TopologyNode] | TopologyNode | None = None
    tags: list[str] | None = None
    title: str | None = None
    description: str | None = None
    tier: str | None = None

    _spec_key: str = PrivateAttr(default="stackSpec")

    @model_validator(mode="wrap")
    @classmethod
    def _legacy_spec_key(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        """Accept the stack spec under a key named after the stack (``flare:``, ``beacon:``).

        The value is validated as ``stackSpec``; error paths are moved back to the key the
        user wrote so that they point at real lines.
        """
        if not isinstance(data, dict):
            return handler(data)
        name = stack_name(data.get("stack"))
        fields = cls.model_fields
        misplaced = [k for k in data if k in STACK_SPECS and k != name and k not in fields]
        if misplaced:
            fail([_misplaced(key, data) for key in misplaced])
        if name is None or name in fields or name not in data:
            return handler(data)
        if "stackSpec" in data:
            fail(error((name,), f"the stack spec is given twice: under '{name}' and 'stackSpec'"))
        moved = {k: v for k, v in data.items() if k != name}
        moved["stackSpec"] = data[name]
        try:
            model = handler(moved)
        except ValidationError as exc:
            fail([_relocate(e, name) for e in exc.errors()])
        model._spec_key = name
        return model

    @field_validator("stackSpec", mode="plain", json_schema_input_type=StackSpecValue | None)
    @classmethod
    def _typed_stack_spec(cls, value: Any, info: ValidationInfo) -> StackSpecValue | None:
        if value is None:
            return None
        return validate_stack_spec(stack_name(info.data.get("stack")), value)

    @model_validator(mode="after")
    def _typed_stack_needs_spec(self) -> RuntimeSpec:
        name = self.stack_ref.name
        if name in STACK_SPECS and self.stackSpec is None:
            fail(error((), f"the {name} stack needs its configuration under 'stackSpec'"))
        return self

    @property
    def stack_ref(self) -> StackRef:
        return StackRef.parse(self.stack)

    @property
    def stack_spec_key(self) -> str:
        """The key the stack spec was written under (``stackSpec`` or e.g. ``flare``)."""
        return self._spec_key

    @property
    def stack_spec(self) -> StackSpecValue | None:
        """The typed spec (``FlareSpec``...) or, for other stacks, the mapping as written."""
        return self.stackSpec

    def runtime_references(self, path: KeyPath) -> list[Reference]:
        """Compute, stack, secrets and whatever the stack spec names, at their key paths."""
        compute_at = (*path, "compute") if "compute" in self.model_fields_set else path
        refs = [
            Reference("compute", self.compute, None, compute_at),
            Reference("stack", self.stack_ref.name, None, (*path, "stack")),
        ]
        for i, secret in enumerate(self.dataosSecrets or []):
            where = (*path, "dataosSecrets", i, "name")
            refs.append(Reference("secret", secret.name, secret.workspace, where))
        spec = self.stack_spec
        spec_path = (*path, self.stack_spec_key)
        if isinstance(spec, StackSpecBase):
            refs.extend(spec.references(spec_path))
        return refs

    def runtime_problems(self, path: KeyPath) -> list[Problem]:
        spec = self.stack_spec
        if isinstance(spec, StackSpecBase):
            return spec.problems((*path, self.stack_spec_key))
        return []

    def runtime_produced(self, path: KeyPath) -> list[tuple[str, KeyPath]]:
        spec = self.stack_spec
        if isinstance(spec, StackSpecBase):
            return spec.produced_datasets((*path, self.stack_spec_key))
        return []

    def runtime_consumed(self, path: KeyPath) -> list[tuple[str, KeyPath]]:
        """Datasets the stack spec reads (UDL without ``?acl``), at their key paths."""
        spec = self.stack_spec
        if isinstance(spec, StackSpecBase):
            return spec.consumed_datasets((*path, self.stack_spec_key))
        return []


class LongRunningSpec(RuntimeSpec):
    """A service's or worker's section: the runtime spec plus replicas and scaling."""

    replicas: int = Field(default=1, ge=0)
    autoScaling: AutoScaling | None = None
    autoscaling: AutoScaling | None = Field(
        default=None, description="Spelling of the worker docs; same as autoScaling"
    )
    highAvailabilityConfig: HighAvailabilityConfig | None = None

    @model_validator(mode="after")
    def _one_autoscaling(self) -> LongRunningSpec:
        if self.autoScaling is not None and self.autoscaling is not None:
            fail(
                error(
                    ("autoscaling",),
                    "autoscaling is given twice: as 'autoScaling' and 'autoscaling'",
                )
            )
        return self

    @property
    def auto_scaling(self) -> AutoScaling | None:
        return self.autoScaling or self.autoscaling


__all__ = [
    "AutoScaling",
    "Cron",
    "DataosSecret",
    "DataosVolume",
    "HighAvailabilityConfig",
    "IsoDateTime",
    "LogLevel",
    "LongRunningSpec",
    "Quantity",
    "ResourceAmounts",
    "Resources",
    "Retry",
    "RuntimeSpec",
    "StackRef",
    "StackString",
    "TempVolume",
    "Text",
    "TimeZone",
    "TopologyNode",
    "stack_name",
]
