"""Field types shared by several Resource types: cron, stacks, runtime ``spec`` parts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import AfterValidator, BeforeValidator, Field

from dataos_defs.manifest.base import Scalar, StrictModel

_STACK = re.compile(r"^(?P<name>[a-z][a-z0-9-]*)(?:\+(?P<flavor>[a-z0-9-]+))?(?::(?P<version>[A-Za-z0-9.\-]+))?$")
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|P|Pi|E|Ei)?$")


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


def _quantity(value: str | int | float) -> str:
    text = str(value)
    if not _QUANTITY.match(text):
        raise ValueError(f"'{text}' is not a Kubernetes quantity (e.g. 500m, 1, 2Gi, 512Mi)")
    return text


def _stack(value: str) -> str:
    StackRef.parse(value)
    return value


def _as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


Cron = Annotated[str, AfterValidator(_cron)]
TimeZone = Annotated[str, AfterValidator(_timezone)]
Quantity = Annotated[str, BeforeValidator(_as_text), AfterValidator(_quantity)]
StackString = Annotated[str, AfterValidator(_stack)]
Text = Annotated[str, BeforeValidator(_as_text)]
LogLevel = Literal["INFO", "WARN", "WARNING", "DEBUG", "ERROR", "info", "warn", "debug", "error"]


@dataclass(frozen=True)
class StackRef:
    """``name[+flavor][:version]`` as written in ``spec.stack``."""

    name: str
    flavor: str | None
    version: str | None

    @classmethod
    def parse(cls, text: str) -> StackRef:
        match = _STACK.match(text)
        if not match:
            raise ValueError(
                f"'{text}' is not a stack: expected name[+flavor][:version], e.g. flare:7.0"
            )
        return cls(match.group("name"), match.group("flavor"), match.group("version"))


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
    consumptionType: Literal["envVars", "propfile", "file"] | None = None


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


class RuntimeSpec(StrictModel):
    """Runtime fields shared by workflow jobs, services and workers (DATAOS_CONTRACT §2)."""

    stack: StackString
    compute: str = "runnable-default"
    stackSpec: dict[str, Any] | None = None
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

