"""Scaffold: typed in full by the models work."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from dataos_defs.manifest.base import Level, ResourceBase, StrictName


class Compute(ResourceBase):
    KIND: ClassVar[str] = "compute"
    LEVEL: ClassVar[Level] = "instance"
    type: Literal["compute"]
    version: Literal["v1beta"]
    compute: dict[str, Any]
