"""Scaffold: typed in full by the models work."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from dataos_defs.manifest.base import Level, ResourceBase, StrictName


class Secret(ResourceBase):
    KIND: ClassVar[str] = "secret"
    LEVEL: ClassVar[Level] = "workspace"
    type: Literal["secret"]
    version: Literal["v1"]
    secret: dict[str, Any]


class InstanceSecret(ResourceBase):
    KIND: ClassVar[str] = "instance-secret"
    LEVEL: ClassVar[Level] = "instance"
    type: Literal["instance-secret"]
    version: Literal["v1"]
    instance_secret: dict[str, Any] = Field(alias="instance-secret")
