"""Scaffold: typed in full by the models work."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from dataos_defs.manifest.base import Level, ResourceBase, StrictName


class Lens(ResourceBase):
    KIND: ClassVar[str] = "lens"
    LEVEL: ClassVar[Level] = "workspace"
    type: Literal["lens"]
    version: Literal["v1alpha"]
    lens: dict[str, Any]


class Operator(ResourceBase):
    KIND: ClassVar[str] = "operator"
    LEVEL: ClassVar[Level] = "instance"
    type: Literal["operator"]
    version: Literal["v1alpha"]
    operator: dict[str, Any]


class Grant(ResourceBase):
    KIND: ClassVar[str] = "grant"
    LEVEL: ClassVar[Level] = "instance"
    type: Literal["grant"]
    version: Literal["v1alpha"]
    grant: dict[str, Any]


class Database(ResourceBase):
    KIND: ClassVar[str] = "database"
    LEVEL: ClassVar[Level] = "workspace"
    type: Literal["database"]
    version: Literal["v1"]
    database: dict[str, Any]


class Volume(ResourceBase):
    KIND: ClassVar[str] = "volume"
    LEVEL: ClassVar[Level] = "workspace"
    type: Literal["volume"]
    version: Literal["v1beta"]
    volume: dict[str, Any]


class ResourceType(ResourceBase):
    KIND: ClassVar[str] = "resource"
    LEVEL: ClassVar[Level] = "workspace"
    type: Literal["resource"]
    version: Literal["v1beta"]
    resource: dict[str, Any]
