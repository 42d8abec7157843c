"""Scaffold: typed in full by the models work."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from dataos_defs.manifest.base import Level, ResourceBase, StrictName


class Worker(ResourceBase):
    KIND: ClassVar[str] = "worker"
    LEVEL: ClassVar[Level] = "workspace"
    type: Literal["worker"]
    version: Literal["v1beta"]
    worker: dict[str, Any]
