"""Scaffold: typed in full by the models work."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from dataos_defs.manifest.base import Level, ResourceBase, StrictName


class Monitor(ResourceBase):
    KIND: ClassVar[str] = "monitor"
    LEVEL: ClassVar[Level] = "workspace"
    type: Literal["monitor"]
    version: Literal["v1alpha"]
    monitor: dict[str, Any]
