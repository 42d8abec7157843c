"""Scaffold: typed in full by the models work."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from dataos_defs.manifest.base import Level, ResourceBase, StrictName


class Service(ResourceBase):
    KIND: ClassVar[str] = "service"
    LEVEL: ClassVar[Level] = "workspace"
    type: Literal["service"]
    version: Literal["v1"]
    service: dict[str, Any]
