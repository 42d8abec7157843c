"""Scaffold: typed in full by the models work."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from dataos_defs.manifest.base import Level, ResourceBase, StrictName


class Depot(ResourceBase):
    KIND: ClassVar[str] = "depot"
    LEVEL: ClassVar[Level] = "instance"
    name: StrictName
    type: Literal["depot"]
    version: Literal["v1", "v2alpha"]
    depot: dict[str, Any]
